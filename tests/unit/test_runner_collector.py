"""How ``voicewire run`` turns pytest reports into case results (no pytest run inside)."""

from __future__ import annotations

import pytest
from voicewire.harness.pytest_plugin import PROPERTY_KEY
from voicewire.harness.runner import _Collector
from voicewire.harness.verdicts import Outcome


def _report(nodeid, when, outcome, data=None, duration=0.25):
    properties = [] if data is None else [(PROPERTY_KEY, data)]
    return pytest.TestReport(
        nodeid=nodeid,
        location=("suites/llm/test_x.py", 1, nodeid),
        keywords={},
        outcome=outcome,
        longrepr=None if outcome == "passed" else "E   boom",
        when=when,
        user_properties=properties,
        duration=duration,
    )


def _data(outcome, **extra):
    return {
        "spec_ids": ["LLM-TC-1"],
        "capability": "llm.chat",
        "outcome": outcome,
        "broken_ids": [],
        "message": "",
        "journal": [],
        "replay": None,
        **extra,
    }


def test_verdicts_durations_and_suites_come_from_the_reports():
    collector = _Collector()
    node = "suites/llm/test_x.py::test_a"
    collector.pytest_runtest_logstart(node)
    collector.pytest_runtest_logreport(_report(node, "setup", "passed"))
    collector.pytest_runtest_logreport(_report(node, "call", "passed", _data("PASS")))
    collector.pytest_runtest_logreport(_report(node, "teardown", "passed"))
    case = collector.cases[node]
    assert (case.outcome, case.suite, case.direction, case.name) == (
        Outcome.PASS,
        "llm",
        "client",
        "test_a",
    )
    assert collector.durations[node] == pytest.approx(0.75)
    assert collector.missing_results() == []


def test_a_teardown_error_overrides_a_verdict_but_never_the_reverse():
    collector = _Collector()
    node = "suites/retry/test_y.py::test_b"
    collector.pytest_runtest_logreport(_report(node, "call", "passed", _data("PASS")))
    collector.pytest_runtest_logreport(
        _report(node, "teardown", "failed", _data("ERROR", message="RuntimeError: x"))
    )
    assert collector.cases[node].outcome is Outcome.ERROR
    collector.pytest_runtest_logreport(_report(node, "call", "passed", _data("PASS")))
    assert collector.cases[node].outcome is Outcome.ERROR


def test_failures_without_verdict_data_and_silent_cases_are_errors():
    collector = _Collector()
    unmarked = "suites/server/test_z.py::test_unmarked"
    collector.pytest_runtest_logreport(_report(unmarked, "call", "failed"))
    assert collector.cases[unmarked].outcome is Outcome.ERROR
    assert "boom" in collector.cases[unmarked].message
    silent = "suites/llm/test_x.py::test_worker_died"
    collector.pytest_runtest_logstart(silent)
    assert collector.missing_results() == [silent]


def test_a_property_failure_keeps_its_replay_input():
    collector = _Collector()
    node = "suites/llm/test_p.py::test_family"
    replay = {"family": "tool-call-reassembly", "input": {"scenario": {"rules": []}}}
    collector.pytest_runtest_logreport(
        _report(node, "call", "failed", _data("FAIL", broken_ids=["LLM-TC-1"], replay=replay))
    )
    assert collector.cases[node].broken_ids == ["LLM-TC-1"]
    assert collector.replays[node] == replay


def test_n_auto_runs_small_selections_serially_and_says_why():
    from voicewire.harness.runner import RunOptions, resolve_workers

    workers, said = resolve_workers(RunOptions(suites=["chat_context"], workers="auto"))
    assert workers is None
    assert said.startswith("serial (-n auto: 82 cases, 1 property family: too small a run")
    workers, said = resolve_workers(RunOptions(workers="auto"))
    assert workers == "auto" and said.startswith("-n auto: ")
    # -k narrows the estimate like the run itself.
    workers, said = resolve_workers(RunOptions(workers="auto", keyword="copy"))
    assert workers is None and "(-n auto: 7 cases, 0 property families" in said
    assert resolve_workers(RunOptions(workers="2")) == ("2", "2 workers")
    assert resolve_workers(RunOptions()) == (None, "serial")
