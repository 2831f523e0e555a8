"""The README's quickstart: exactly two commands, and CI runs the second one verbatim."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _quickstart_commands() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", section, re.S)


def test_the_quickstart_has_two_commands_install_and_run_then_install_and_test():
    main_job, tests = _quickstart_commands()
    assert main_job.startswith("python3 -m venv .venv && ")
    # The main job: every suite against the reference, its waits overlapped by workers.
    assert main_job.endswith("/voicewire run -n auto")
    assert tests.startswith("python3 -m venv .venv && ") and " -m pytest" in tests


def test_ci_runs_the_readme_test_command_verbatim():
    _, tests = _quickstart_commands()
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests in ci
