"""docs/ci.md and its workflow (docs/examples/github-actions.yml) say what voicewire does:
every voicewire command in them parses with voicewire's own parser, the workflow installs
voicewire from a checkout (nothing is on a package index) and keeps the reports it writes,
and the exit codes in the doc are the code's. tests/integration/test_ci_workflow.py runs the
workflow's command."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from voicewire.harness.cli import _build_parser
from voicewire.harness.conformance_cli import EXIT_BAD_ARGUMENTS, EXIT_HARNESS_ERROR
from voicewire.harness.iut_spec import parse_iut_spec
from voicewire.harness.verdicts import EXIT_INTERRUPTED

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / "docs" / "examples" / "github-actions.yml"
CI_DOC = REPO / "docs" / "ci.md"


def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


def steps() -> list[dict[str, Any]]:
    (job,) = workflow()["jobs"].values()
    return job["steps"]


def workflow_commands() -> list[str]:
    """Every line of the workflow's run: steps."""
    return [
        line.strip()
        for step in steps()
        if "run" in step
        for line in step["run"].splitlines()
        if line.strip()
    ]


def doc_blocks(language: str = "") -> list[str]:
    """The doc's fenced code blocks in ``language`` ('' : those without one)."""
    blocks: list[str] = []
    fence: str | None = None
    body: list[str] = []
    for line in CI_DOC.read_text().splitlines():
        if fence is None and line.startswith("```"):
            fence, body = line[3:].strip(), []
        elif fence is not None and line.strip() == "```":
            if fence == language:
                blocks.append("\n".join(body) + "\n")
            fence = None
        elif fence is not None:
            body.append(line)
    return blocks


def voicewire_argv(line: str) -> list[str]:
    """A shell line's voicewire arguments: redirections and a trailing & left out."""
    words = shlex.split(line)
    for i, word in enumerate(words):
        if word in (">", "2>&1", "&") or word.startswith(">"):
            return words[1:i]
    return words[1:]


def test_the_doc_shows_the_committed_workflow():
    (shown,) = doc_blocks("yaml")
    assert yaml.safe_load(shown) == workflow()
    assert "examples/github-actions.yml" in CI_DOC.read_text()


def test_every_voicewire_command_parses_with_voicewires_own_parser():
    lines = [line for line in workflow_commands() if line.startswith("voicewire ")]
    lines += [
        line.strip()
        for block in doc_blocks()
        for line in block.splitlines()
        if line.strip().startswith("voicewire ")
    ]
    assert len(lines) >= 5
    parser = _build_parser()
    for line in lines:
        try:
            args = parser.parse_args(voicewire_argv(line))
        except SystemExit:
            pytest.fail(f"voicewire does not accept: {line}")
        if args.command == "run":
            parse_iut_spec(args.iut)  # the IUT spec names something voicewire can drive


def test_the_workflow_installs_from_a_checkout_runs_a_cmd_iut_and_keeps_the_reports():
    by_name = {step.get("uses", "").split("@")[0]: step for step in steps() if "uses" in step}
    assert by_name["actions/checkout"]["with"]["submodules"] is True
    assert by_name["actions/setup-python"]["with"]["python-version"] == "3.11"
    commands = workflow_commands()
    assert "python -m pip install ./voicewire" in commands
    # Nothing is on a package index, and no URL stands in for a repository.
    assert not any(re.search(r"pip install (voicewire\b|git\+)", c) for c in commands)
    (run,) = [c for c in commands if c.startswith("voicewire run ")]
    args = _build_parser().parse_args(voicewire_argv(run))
    assert args.iut == "cmd:python3 docs/examples/llm_driver.py"
    assert (REPO / "docs" / "examples" / "llm_driver.py").is_file()
    upload = by_name["actions/upload-artifact"]
    assert upload["if"] == "always()"
    kept = upload["with"]["path"].split()
    for report in (args.junit, args.html, args.json):
        assert any(report.startswith(folder) for folder in kept), report


def test_the_doc_explains_the_exit_codes_the_code_uses_and_strict():
    text = CI_DOC.read_text()
    rows = dict(re.findall(r"^\| (\d+) \| (.+) \|$", text, re.M))
    assert set(rows) == {"0", "1", "2", "3", "5", str(EXIT_INTERRUPTED)}
    assert "bad arguments" in rows[str(EXIT_BAD_ARGUMENTS)]
    assert "could not run" in rows[str(EXIT_HARNESS_ERROR)]
    assert "--strict" in rows["1"] and "NON-STRICT" in text
    assert "not published on a package index" in text
