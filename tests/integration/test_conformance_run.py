"""``voicewire run`` / ``voicewire list`` end to end: real subprocesses, real suites, real
simulators, real reports."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest

REPO = Path(__file__).resolve().parents[2]


def voicewire(*args: object, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "voicewire.harness.cli", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def reference_run(full_reference_run):
    """The one full run against the reference that the test session shares (see
    ``tests/conftest.py``), with every report written."""
    done = SimpleNamespace(**{k: v for k, v in full_reference_run.items() if k != "out"})
    return done, full_reference_run["out"]


def test_reference_passes_every_case(reference_run):
    done, out = reference_run
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    report = json.loads((out / "report.json").read_text())
    outcomes = {case["nodeid"]: case["outcome"] for case in report["cases"]}
    assert outcomes and set(outcomes.values()) == {"PASS"}, {
        k: v for k, v in outcomes.items() if v != "PASS"
    }
    assert {r["outcome"] for r in report["requirements"]} == {"PASS"}
    assert set(report["suites"]) == {
        "llm",
        "retry",
        "chat_context",
        "server",
        "robustness",
        "stt",
        "tts",
        "inworld",
    }
    # Every suite contributed, in both directions.
    assert {case["suite"] for case in report["cases"]} == set(report["suites"])
    assert {case["direction"] for case in report["cases"]} == {"client", "server"}
    assert "CONFORMANT" in done.stdout
    # Property families count their examples: the ci profile's 40 each at least, but for the
    # slow families, capped (their boundaries come on top); plain cases are not
    # families. The robustness families also count their outcome classes.
    # The Inworld suite's STT families share their names with the STT suite's: they go by
    # "inworld/<name>".
    families = {
        f"inworld/{case['name']}" if case["suite"] == "inworld" else case["name"]: case
        for case in report["cases"]
        if case["examples"] is not None
    }
    assert families["test_slow_streams"]["examples"] >= 8
    assert families["test_slow_peers"]["examples"] >= 5
    assert families["test_stt_silences"]["examples"] >= 2
    assert families["test_stt_session_peers"]["examples"] >= 4
    # The TTS server families play five sessions per example: capped too.
    assert families["test_hostile_tts_sessions"]["examples"] >= 20
    assert families["test_tts_session_peers"]["examples"] >= 5
    # The TTS client robustness families: silences wait out a timeout, the others draw the
    # stream families' messages again.
    assert families["test_tts_silences"]["examples"] >= 3
    assert families["test_hostile_tts_synthesize"]["examples"] >= 20
    assert families["test_unknown_tts_messages"]["examples"] >= 25
    # The STT client families stream audio over a socket per example: capped too.
    assert families["test_transcript_scripts"]["examples"] >= 25
    assert families["test_push_patterns"]["examples"] >= 25
    assert families["test_reconnects"]["examples"] >= 10
    # So do the TTS client families (duplicates drawn are not run twice: the fault family's
    # few sentences repeat).
    assert families["test_tts_texts"]["examples"] >= 15
    assert families["test_tts_pool"]["examples"] >= 8
    assert families["test_tts_faults"]["examples"] >= 12
    # The Inworld families stream audio or play sessions per example, over sockets: capped.
    inworld_minimums = {
        "inworld/test_push_patterns": 8,
        "inworld/test_transcript_scripts": 10,
        "inworld/test_inworld_http_answers": 15,
        "inworld/test_inworld_context_faults": 5,
        "inworld/test_inworld_contexts": 8,
        "test_hostile_inworld_context_sessions": 20,
        "test_hostile_inworld_requests": 20,
        "test_hostile_inworld_transcribe_sessions": 20,
        "test_hostile_inworld_contexts": 20,
        "test_hostile_inworld_ndjson": 30,
        "test_hostile_inworld_transcripts": 20,
    }
    for name, minimum in inworld_minimums.items():
        assert families[name]["examples"] >= minimum, (name, families[name]["examples"])
    capped = (
        *inworld_minimums,
        "test_slow_streams",
        "test_slow_peers",
        "test_stt_silences",
        "test_stt_session_peers",
        "test_hostile_tts_sessions",
        "test_tts_session_peers",
        "test_tts_silences",
        "test_hostile_tts_synthesize",
        "test_unknown_tts_messages",
        "test_transcript_scripts",
        "test_push_patterns",
        "test_reconnects",
        "test_tts_texts",
        "test_tts_pool",
        "test_tts_faults",
    )
    others = [case for name, case in families.items() if name not in capped]
    assert others and all(case["examples"] >= 40 for case in others), others
    assert (
        sum(families["test_hostile_bodies"]["outcome_classes"].values())
        == (families["test_hostile_bodies"]["examples"])
    )
    assert all(case["examples"] is None for case in report["cases"] if "[" in case["name"])


def test_json_report_validates_against_the_documented_schema(reference_run):
    _, out = reference_run
    schema = json.loads((REPO / "docs" / "report.schema.json").read_text())
    jsonschema.validate(json.loads((out / "report.json").read_text()), schema)


def test_junit_report_parses_and_counts_every_case(reference_run):
    _, out = reference_run
    report = json.loads((out / "report.json").read_text())
    root = ET.parse(out / "report.xml").getroot()
    cases = root.findall(".//testcase")
    assert len(cases) == len(report["cases"])
    assert not root.findall(".//failure") and not root.findall(".//error")


def test_html_report_is_one_self_contained_file(reference_run):
    _, out = reference_run
    html = (out / "report.html").read_text()
    assert "<html" in html and "LLM-TC-1" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)


def test_a_zero_case_run_exits_non_zero(tmp_path):
    done = voicewire("run", "--suite", "chat_context", "-k", "no_case_has_this_name", cwd=tmp_path)
    assert done.returncode == 5, done.stdout + done.stderr


def test_a_server_iut_gets_client_cases_unsupported_and_passes_the_server_suite(tmp_path):
    serve = subprocess.Popen(
        # Short deadlines: the robustness suite's slow peers wait for the server to close them.
        [
            sys.executable,
            "-m",
            "voicewire.harness.cli",
            "serve",
            "--head-timeout",
            "1",
            "--body-timeout",
            "1.5",
            "--idle-timeout",
            "2.5",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert serve.stdout is not None
        first = serve.stdout.readline()
        base = re.search(r"listening on (http://\S+)", first)
        assert base, first
        done = voicewire(
            "run", "--iut", f"url:{base.group(1)}/v1", "--json", tmp_path / "r.json", cwd=tmp_path
        )
    finally:
        serve.terminate()
        serve.wait(10)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    report = json.loads((tmp_path / "r.json").read_text())
    # A url: IUT that names no protocols serves no /stt, no /tts and no Inworld endpoints:
    # their server cases (the protocol suite's and the robustness suite's) are UNSUPPORTED.
    speech_servers = ("stt.server", "tts.server", "inworld.server")
    for capability in speech_servers:
        cases = [c for c in report["cases"] if c["capability"] == capability]
        assert {c["suite"] for c in cases} == {capability.split(".")[0], "robustness"}
        assert {case["outcome"] for case in cases} == {"UNSUPPORTED"}
    cases = [case for case in report["cases"] if case["capability"] not in speech_servers]
    by_direction: dict[str, set[str]] = {}
    for case in cases:
        by_direction.setdefault(case["direction"], set()).add(case["outcome"])
    assert by_direction == {"server": {"PASS"}, "client": {"UNSUPPORTED"}}
    assert {case["suite"] for case in cases if case["direction"] == "server"} == {
        "server",
        "robustness",
    }
    assert report["capabilities"] == ["llm.server"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["run", "--iut", "referense"], 3, "unknown --iut 'referense'"),
        (["run", "--iut", "python:no_such_module_xyz:f"], 3, "cannot import 'no_such_module_xyz'"),
        (["run", "--iut", "cmd:no-such-driver-xyz --flag"], 3, "command not found"),
        (["run", "--examples", "0"], 2, "must be >= 1"),
        (["run", "--suite", "realtime"], 2, "invalid choice: 'realtime'"),
        (["run", "-n", "lots"], 2, "must be 'auto', 0 or a positive integer"),
        (["run", "--replay", "missing.json"], 3, "--replay missing.json: cannot read"),
        (["run", "--iut", "url:http://127.0.0.1:9/v1"], 3, "cannot connect to 127.0.0.1:9"),
    ],
)
def test_bad_arguments_are_named(tmp_path, args, code, message):
    done = voicewire(*args, cwd=tmp_path)
    assert done.returncode == code, done.stdout + done.stderr
    assert message in done.stderr


def test_list_shows_every_case_with_ids_and_direction(tmp_path):
    done = voicewire("list", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^\s+server\s+llm\.server\s+.*AUTH-4", done.stdout, re.M)
    assert re.search(r"^\s+client\s+llm\.chat\s+.*LLM-TC-1", done.stdout, re.M)
    assert "[property: tool-call-reassembly]" in done.stdout
    count = re.search(r"^(\d+) cases covering (\d+) SPEC requirements$", done.stdout, re.M)
    assert count and int(count.group(1)) > 50
    only = voicewire("list", "--suite", "server", cwd=tmp_path)
    assert "client " not in only.stdout and "server:" in only.stdout


@pytest.mark.parametrize("direction", ["client", "server"])
def test_direction_runs_only_the_cases_of_that_direction(tmp_path, direction):
    done = voicewire(
        "run",
        "--suite",
        "stt",
        "--direction",
        direction,
        "--json",
        tmp_path / "r.json",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    cases = json.loads((tmp_path / "r.json").read_text())["cases"]
    assert cases and {case["direction"] for case in cases} == {direction}


def test_a_broken_cmd_driver_fails_with_the_right_ids(tmp_path):
    driver = REPO / "tests" / "integration" / "reserializing_driver.py"
    done = voicewire(
        "run",
        "--iut",
        f"cmd:{sys.executable} {driver}",
        "--suite",
        "llm",
        "--json",
        tmp_path / "r.json",
        "--repro-dir",
        tmp_path / "repro",
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout[-4000:] + done.stderr[-2000:]
    report = json.loads((tmp_path / "r.json").read_text())
    failed = {r["id"] for r in report["requirements"] if r["outcome"] == "FAIL"}
    assert "LLM-TC-1" in failed
    assert not [case for case in report["cases"] if case["outcome"] == "ERROR"]
    assert "NOT CONFORMANT" in done.stdout
    # The property family's shrunk example is written as a replay file and a scenario, and
    # the printed command reproduces the failure on its own.
    replays = sorted((tmp_path / "repro").glob("*.json"))
    assert replays, done.stdout[-3000:]
    command = next(case["repro"]["command"] for case in report["cases"] if case["repro"])
    assert command.startswith("voicewire run --iut ") and " --replay " in command
    scenario_files = sorted((tmp_path / "repro").glob("*.scenario.yaml"))
    assert scenario_files
    from voicewire.simulators import load_scenario

    assert load_scenario(scenario_files[0]).rules
    replay = voicewire(
        "run",
        "--iut",
        f"cmd:{sys.executable} {driver}",
        "--replay",
        replays[0],
        "--json",
        tmp_path / "replay.json",
        cwd=tmp_path,
    )
    assert replay.returncode == 1, replay.stdout[-3000:] + replay.stderr[-2000:]
    replayed = json.loads((tmp_path / "replay.json").read_text())
    assert len(replayed["cases"]) == 1 and replayed["cases"][0]["outcome"] == "FAIL"


@pytest.mark.parametrize("workers", [None, "2"])
def test_exitfirst_stops_at_the_first_case_that_fails_the_run(tmp_path, workers):
    driver = REPO / "tests" / "integration" / "reserializing_driver.py"
    args = ["run", "--iut", f"cmd:{sys.executable} {driver}", "--suite", "llm", "-x"]
    args += ["--json", tmp_path / "r.json", "--repro-dir", tmp_path / "repro"]
    if workers:
        args += ["-n", workers]
    done = voicewire(*args, cwd=tmp_path)
    assert done.returncode == 1, done.stdout[-4000:] + done.stderr[-2000:]
    report = json.loads((tmp_path / "r.json").read_text())
    failing = [case for case in report["cases"] if case["outcome"] not in ("PASS", "UNSUPPORTED")]
    # Under xdist, the cases already handed to a worker still run to their end.
    assert len(failing) >= 1 if workers else len(failing) == 1
    assert report["not_run"] > 0
    from voicewire.harness.runner import catalog

    assert len(report["cases"]) + report["not_run"] == len(catalog(["llm"]))
    assert "not run (stopped at the first failure)" in done.stdout
