"""The GitHub Actions workflow's voicewire command (docs/examples/github-actions.yml), run as
the workflow runs it: verbatim, in a repository holding the example driver at the path the
workflow names; it passes and writes the three reports the workflow uploads."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / "docs" / "examples" / "github-actions.yml"


def test_the_workflows_voicewire_command_passes_and_writes_the_reports(tmp_path):
    (job,) = yaml.safe_load(WORKFLOW.read_text())["jobs"].values()
    (command,) = [
        step["run"].strip()
        for step in job["steps"]
        if step.get("run", "").startswith("voicewire run ")
    ]
    argv = shlex.split(command)
    # The user's repository: the example driver copied to the path the workflow names.
    driver = tmp_path / "docs" / "examples" / "llm_driver.py"
    driver.parent.mkdir(parents=True)
    shutil.copy2(REPO / "docs" / "examples" / "llm_driver.py", driver)
    # The workflow's command as written, on the suite of the capability the driver declares
    # (llm.chat): the other suites' cases would all be UNSUPPORTED, and the robustness
    # families' LLM half would double the test's time for what the llm suite shows already.
    done = subprocess.run(
        [sys.executable, "-m", "voicewire.harness.cli", *argv[1:], "--suite", "llm"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    reports = tmp_path / "reports"
    assert sorted(p.name for p in reports.iterdir()) == ["junit.xml", "report.html", "report.json"]
    report = json.loads((reports / "report.json").read_text())
    assert report["iut"].startswith("cmd:python3 docs/examples/llm_driver.py")
    assert report["totals"].get("PASS", 0) > 0
    # The example driver is conformant for what it declares (llm.chat): its cases pass.
    assert report["capabilities"] == ["llm.chat"]
    outcomes = {(case["suite"], case["outcome"]) for case in report["cases"]}
    assert outcomes == {("llm", "PASS")}, outcomes
    assert "<testsuite" in (reports / "junit.xml").read_text()
    assert "<html" in (reports / "report.html").read_text()
