"""What a case's failed expectations make of the requirements it cites: a case that stopped at a
failed precondition never counts as a pass for what it did not get to check."""

from __future__ import annotations

import pytest
from voicewire.harness.runtime import case_verdict
from voicewire.harness.verdicts import (
    CaseResult,
    ExpectationsBroken,
    Outcome,
    collect_expectations,
    expect,
    require,
    requirement_results,
)

IDS = ["LLM-SSE-1", "LLM-SSE-2", "LLM-SSE-4"]


def _verdict(failure: BaseException) -> dict:
    data = case_verdict(
        spec_ids=IDS,
        capability="llm.server",
        when="call",
        skipped_reason=None,
        failure=failure,
        passed=False,
        record=None,
        runtime=None,
    )
    assert data is not None
    return data


def _case(data: dict, nodeid: str = "suites/server/test_x.py::test_a") -> CaseResult:
    return CaseResult(
        nodeid=nodeid,
        name=nodeid.rsplit("::", 1)[-1],
        suite="server",
        direction="server",
        spec_ids=data["spec_ids"],
        capability=data["capability"],
        outcome=Outcome(data["outcome"]),
        broken_ids=data["broken_ids"],
        unjudged_ids=data["unjudged_ids"],
        message=data["message"],
    )


def _run_case(body) -> ExpectationsBroken:
    with pytest.raises(ExpectationsBroken) as caught, collect_expectations():
        body()
    return caught.value


def test_a_failed_precondition_leaves_the_other_ids_unjudged_not_passed():
    def body() -> None:
        require(False, "LLM-SSE-1", "expected a 200 event stream, got HTTP 401")
        expect(False, "LLM-SSE-2", "never reached")

    failure = _run_case(body)
    assert failure.stopped and failure.ids == ("LLM-SSE-1",)
    assert "precondition failed" in str(failure)
    data = _verdict(failure)
    assert data["broken_ids"] == ["LLM-SSE-1"]
    assert data["unjudged_ids"] == ["LLM-SSE-2", "LLM-SSE-4"]
    results = {r.id: r for r in requirement_results([_case(data)])}
    assert results["LLM-SSE-1"].outcome is Outcome.FAIL
    assert results["LLM-SSE-2"].outcome is Outcome.ERROR
    assert results["LLM-SSE-4"].outcome is Outcome.ERROR


def test_a_case_that_ran_to_its_end_passes_the_ids_it_did_not_break():
    def body() -> None:
        expect(False, "LLM-SSE-2", "two ids in one completion")
        expect(True, "LLM-SSE-4", "usage chunk present")

    failure = _run_case(body)
    assert not failure.stopped
    data = _verdict(failure)
    assert data["unjudged_ids"] == []
    results = {r.id: r for r in requirement_results([_case(data)])}
    assert results["LLM-SSE-2"].outcome is Outcome.FAIL
    assert results["LLM-SSE-1"].outcome is Outcome.PASS
    assert results["LLM-SSE-4"].outcome is Outcome.PASS


def test_an_exception_after_a_broken_expectation_also_stops_the_case():
    def body() -> None:
        expect(False, "LLM-SSE-1", "no stream")
        raise KeyError("choices")

    failure = _run_case(body)
    assert failure.stopped
    assert _verdict(failure)["unjudged_ids"] == ["LLM-SSE-2", "LLM-SSE-4"]


def test_an_unjudged_id_does_not_hide_another_case_that_passed_it():
    stopped = _verdict(_run_case(lambda: require(False, "LLM-SSE-1", "no stream")))
    passing = dict(stopped, outcome="PASS", broken_ids=[], unjudged_ids=[], message="")
    results = {
        r.id: r
        for r in requirement_results(
            [_case(stopped), _case(passing, "suites/server/test_x.py::test_b")]
        )
    }
    # Worst first: a requirement one case could not judge is not reported as passed.
    assert results["LLM-SSE-2"].outcome is Outcome.ERROR
    assert results["LLM-SSE-2"].counts == {"ERROR": 1, "PASS": 1}
