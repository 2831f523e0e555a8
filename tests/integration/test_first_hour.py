"""A new user's first hour with ``voicewire run``, through the installed console script exactly
as a user types it: no PYTHONPATH, the current directory wherever the user is."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

CONSOLE_SCRIPT = Path(sys.executable).parent / "voicewire"
REPO = Path(__file__).resolve().parents[2]


def run_console(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """``voicewire ARGS`` as typed in a shell at ``cwd``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["NO_COLOR"] = "1"
    return subprocess.run(
        [str(CONSOLE_SCRIPT), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_python_iut_beside_the_user_imports_like_python_dash_m(tmp_path):
    (tmp_path / "myport.py").write_text(
        textwrap.dedent(
            """
            from voicewire.harness.reference_iut import ReferenceIUT

            def factory():
                return ReferenceIUT(name="my-port")
            """
        )
    )
    done = run_console(
        "run", "--iut", "python:myport:factory", "--suite", "chat_context", "-k", "copy",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "PASS" in done.stdout and "CONFORMANT" in done.stdout


def test_the_readme_mutant_iut_imports_from_a_clone(tmp_path):
    # The README's own example: a module of the clone's tests package, from the clone's root.
    done = run_console(
        "run", "--iut", "python:tests.mutants.reserialised_arguments:factory",
        "--suite", "llm", "-k", "reassembly", "--repro-dir", str(tmp_path / "repro"),
        cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "NOT CONFORMANT" in done.stdout
    replay = next(line for line in done.stdout.splitlines() if "--replay" in line)
    command = replay.split("replay:", 1)[1].split()
    assert command[0] == "voicewire"
    again = run_console(*command[1:], cwd=REPO)
    assert again.returncode == 1, again.stdout[-3000:] + again.stderr[-3000:]
    assert "1 case — 1 FAIL" in again.stdout
