"""Every command the README prints works as printed.

Each ``console`` block of README.md carries a marker comment on the line before it:

- ``<!-- readme-test: run -->``: each ``$`` command runs in a scratch folder (with the clone's
  ``tests`` and ``docs`` beside it, as in the clone's root); its exit status must be the one
  shown (``$ echo $?``, else the verdict's ``exit N``, else 0), and the verdict word and the
  case counts it shows must be the ones it prints;
- ``<!-- readme-test: run, same lines -->``: also every output line shown (but ``...``) must
  be printed, numbers with a decimal point standing for any number and runs of spaces alike;
- ``<!-- readme-test: not run (why) -->``: a block that cannot run offline or in a test;
- ``<!-- readme-test: file NAME -->`` before a ``python`` or ``yaml`` block: it is written as
  NAME into the scratch folder first.

A console block without a marker fails the test, so a new command cannot go unchecked.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
BIN = Path(sys.executable).parent
MARKER = re.compile(r"<!-- readme-test: (.*?) -->\n```(\w+)\n(.*?)```", re.S)
DECIMAL = re.compile(r"\d+\.\d+")


@dataclass
class Command:
    line: str
    shown: list[str] = field(default_factory=list)
    exit_code: int | None = None


@dataclass
class Block:
    number: int
    marker: str
    commands: list[Command]


def _blocks() -> tuple[list[Block], dict[str, str], list[int]]:
    text = README.read_text(encoding="utf-8")
    blocks: list[Block] = []
    files: dict[str, str] = {}
    for match in MARKER.finditer(text):
        marker, language, body = match.groups()
        line = text.count("\n", 0, match.start()) + 1
        if marker.startswith("file "):
            files[marker.removeprefix("file ").strip()] = body
            continue
        if language != "console":
            continue
        commands: list[Command] = []
        for row in body.splitlines():
            if row.startswith("$ echo $?"):
                commands[-1].shown.append(row)
            elif row.startswith("$ "):
                commands.append(Command(row[2:]))
            elif commands:
                commands[-1].shown.append(row)
        for command in commands:
            if "$ echo $?" in command.shown:
                at = command.shown.index("$ echo $?")
                command.exit_code = int(command.shown[at + 1])
                command.shown = command.shown[:at]
        blocks.append(Block(line, marker, commands))
    unmarked = [
        text.count("\n", 0, m.start()) + 1
        for m in re.finditer(r"```console\n", text)
        if not text[: m.start()].rstrip("\n").endswith("-->")
    ]
    return blocks, files, unmarked


BLOCKS, FILES, UNMARKED = _blocks()
RUN = [block for block in BLOCKS if block.marker.startswith("run")]


def test_every_console_block_says_whether_it_runs():
    assert UNMARKED == [], f"README.md console blocks without a readme-test marker: {UNMARKED}"
    for block in BLOCKS:
        assert block.marker in ("run", "run, same lines") or re.fullmatch(
            r"not run \(.+\)", block.marker
        ), f"README.md line {block.number}: unknown marker {block.marker!r}"
    assert len(RUN) >= 6


def _argv(line: str) -> tuple[list[str], dict[str, str]]:
    words = shlex.split(line)
    env: dict[str, str] = {}
    while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    program = words[0]
    if program in ("voicewire", ".venv/bin/voicewire"):
        words[0] = str(BIN / "voicewire")
    elif program == "pytest":
        words[:1] = [sys.executable, "-m", "pytest"]
    else:
        raise AssertionError(f"README command {line!r}: no rule to run {program!r}")
    return words, env


def _expected_exit(command: Command) -> int:
    if command.exit_code is not None:
        return command.exit_code
    for row in command.shown:
        found = re.search(r"^verdict: .* · exit (\d+)$", row)
        if found:
            return int(found.group(1))
    return 0


def _same(line: str) -> str:
    """A line as compared: any decimal number alike, runs of spaces alike (a terminal's
    width pads some lines)."""
    return " ".join(DECIMAL.sub("<n>", line).split())


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """A folder that looks like the clone's root to the commands, where they may write."""
    folder = tmp_path_factory.mktemp("readme")
    for name in ("tests", "docs"):
        (folder / name).symlink_to(REPO / name, target_is_directory=True)
    for name, body in FILES.items():
        (folder / name).write_text(body, encoding="utf-8")
    return folder


MAIN_JOB = "voicewire run -n auto"
"""The quickstart's main job, which the test session runs once (tests/conftest.py)."""


@pytest.mark.parametrize("block", RUN, ids=[f"line-{block.number}" for block in RUN])
def test_the_readme_command_works_as_printed(
    block: Block, scratch: Path, request: pytest.FixtureRequest
) -> None:
    for command in block.commands:
        if command.line == MAIN_JOB:
            # The main job: the test session runs it once for every test that judges it
            # (tests/conftest.py), with reports written beside, which change nothing printed
            # here but the report paths.
            done = SimpleNamespace(**request.getfixturevalue("full_reference_run"))
        else:
            argv, extra = _argv(command.line)
            env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            env.update(extra, NO_COLOR="1", COLUMNS="100")
            done = subprocess.run(
                argv, cwd=scratch, env=env, capture_output=True, text=True, timeout=300
            )
        printed = done.stdout + done.stderr
        where = f"README.md line {block.number}: {command.line}"
        assert done.returncode == _expected_exit(command), f"{where}\n{printed[-3000:]}"
        assert "Traceback" not in printed, f"{where}\n{printed[-3000:]}"
        for row in command.shown:
            if row.startswith("verdict: "):
                word = row.split(" — ")[0]
                assert word in printed, f"{where}: expected {word!r}\n{printed[-2000:]}"
            counts = re.match(r"voicewire: \d+ cases? — [^·]*·", row)
            if counts:
                assert counts.group(0) in printed, f"{where}: expected {counts.group(0)!r}"
        if block.marker == "run, same lines":
            actual = {_same(line) for line in printed.splitlines()}
            for row in command.shown:
                if row.strip() in ("", "..."):
                    continue
                assert _same(row) in actual, f"{where}: missing {row!r}"
