"""A failed property family's report carries the journal of the failing example alone.

A family runs many examples (its boundaries, then the generated ones, then hypothesis's
shrinking), each against its own simulator session; the report must show the traffic of the
example it reports (the one its replay file holds), not a mix of the last sessions run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def _run_family(tmp_path: Path, mutant: str, family: str) -> dict[str, Any]:
    out = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable, "-m", "voicewire.harness.cli", "run",
            "--iut", f"python:tests.mutants.{mutant}:factory",
            "--suite", "llm", "-k", family,
            "--json", str(out), "--repro-dir", str(tmp_path / "repro"),
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    (case,) = json.loads(out.read_text(encoding="utf-8"))["cases"]
    return case


def _streamed_arguments(journal: list[dict[str, Any]]) -> dict[int, str]:
    """The tool-call argument text the simulator streamed, joined per call index."""
    arguments: dict[int, str] = {}
    for entry in journal:
        data = entry.get("data")
        if entry.get("kind") != "sse_event" or not isinstance(data, str):
            continue
        payload = data.removeprefix("data: ").strip()
        if payload == "[DONE]":
            continue
        for choice in json.loads(payload)["choices"]:
            for call in choice["delta"].get("tool_calls") or ():
                text = (call.get("function") or {}).get("arguments") or ""
                arguments[call["index"]] = arguments.get(call["index"], "") + text
    return arguments


def test_a_failed_family_reports_the_journal_of_its_failing_example_only(tmp_path):
    case = _run_family(tmp_path, "reserialised_arguments", "test_tool_call_reassembly")
    assert case["outcome"] == "FAIL"
    # Several examples ran (each against its own session), so their traffic could mix.
    assert case["examples"] > 1
    journal = case["journal"]
    assert {entry["scenario"] for entry in journal} == {journal[0]["scenario"]}
    # One example asks once (no retries): one request, shown first, its body whole.
    requests = [entry for entry in journal if entry["kind"] == "http_request"]
    assert len(requests) == 1 and journal[0] is requests[0]
    assert requests[0]["data"]["body"]["messages"][-1]["content"] == "Call the tools."
    # What was streamed is the reported example's script: the replay file's input.
    calls = case["repro"]["case_file"]["input"]["scenario"]["rules"][0]["reply"]["tool_calls"]
    assert not any(entry["kind"] == "entries_left_out" for entry in journal)
    assert _streamed_arguments(journal) == {
        call.get("index", position): call["arguments"] for position, call in enumerate(calls)
    }
