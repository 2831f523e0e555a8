"""Conformance cases for SPEC §2.5, the fallback adapter (FALLBACK-1..5).

Every LLM of the adapter is its own simulator session (own API key, own script, own journal,
labelled ``primary`` / ``secondary``), so a case sees which LLM got which request. The adapter
gets ``max_retry_per_llm=0`` unless a case says otherwise, so each LLM is asked once.

FALLBACK-5 (an empty list raises ``ValueError``) is asked with ``FallbackSpec(llms=[])``:
the IUT reports the refusal as the ``llm.end`` error.
"""

from __future__ import annotations

from typing import Any

import pytest
from voicewire.harness.llm import ChatOutcome, FallbackSpec, LLMTarget, ToolSpec
from voicewire.harness.verdicts import expect, require
from voicewire.simulators.scenario import Scenario
from voicewire.simulators.scenario import build_scenario as scenario
from voicewire.suites.builders import user_context

PRIMARY_REPLY = "Primary speaking, all good."
SECONDARY_REPLY = "Secondary here, all good."
# Replies are cut in pieces of 8 characters: event 0 is the role-only chunk, event 1 the first
# piece, so a reset after event 1 leaves exactly this text visible.
PRIMARY_FIRST_PIECE = PRIMARY_REPLY[:8]

_WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)


def _scenario(name: str, content: str, *faults: dict[str, Any]) -> Scenario:
    reply = {"content": content, "fragmentation": {"strategy": "fixed", "size": 8}}
    return scenario(name, {"reply": reply, "faults": list(faults)}, time_scale=1.0)


def _sessions(
    simulator: Any, primary: list[dict[str, Any]], secondary: list[dict[str, Any]]
) -> tuple[LLMTarget, LLMTarget]:
    """The two LLMs of a case, each on its own session with its own faults."""
    return (
        LLMTarget.at(
            simulator.session(_scenario("fallback-primary", PRIMARY_REPLY, *primary)),
            label="primary",
        ),
        LLMTarget.at(
            simulator.session(_scenario("fallback-secondary", SECONDARY_REPLY, *secondary)),
            label="secondary",
        ),
    )


def _chat(iut: Any, llms: list[LLMTarget], **options: Any) -> ChatOutcome:
    return iut.chat(
        fallback=FallbackSpec(llms=llms, **options),
        chat_ctx=user_context("What's the weather in Paris?", instructions="Be brief."),
        tools=[_WEATHER],
    )


def _bodies(simulator: Any, target: LLMTarget) -> list[dict[str, Any]]:
    return [request["body"] for request in simulator.requests(target)]


def _availability(outcome: ChatOutcome, label: str) -> list[bool]:
    return [e.available for e in outcome.availability if e.llm == label]


_BEFORE_OUTPUT = {
    "status-503": ({"kind": "status", "code": 503}, {}),
    "status-401": ({"kind": "status", "code": 401}, {}),
    "reset": ({"kind": "disconnect", "mode": "reset", "at_event": 0}, {}),
    "timeout": ({"kind": "stall", "at_event": 0, "seconds": 1.5}, {"attempt_timeout": 0.25}),
}


@pytest.mark.spec("FALLBACK-1")
@pytest.mark.capability("llm.fallback")
@pytest.mark.parametrize("failure", list(_BEFORE_OUTPUT))
def test_failure_before_output_moves_on(
    voicewire_iut: Any, voicewire_simulator: Any, failure: str
) -> None:
    """The next LLM answers the same context and tools; the failed one is marked unavailable."""
    fault, options = _BEFORE_OUTPUT[failure]
    primary, secondary = _sessions(voicewire_simulator, [fault], [])
    outcome = _chat(voicewire_iut, [primary, secondary], **options)
    expect(
        outcome.error is None and outcome.text == SECONDARY_REPLY,
        "FALLBACK-1",
        f"after the primary's {failure} the secondary must answer: expected text "
        f"{SECONDARY_REPLY!r} and no error, got {outcome.text!r}, error={outcome.error}:\n"
        f"{outcome.describe()}",
    )
    primary_bodies = _bodies(voicewire_simulator, primary)
    secondary_bodies = _bodies(voicewire_simulator, secondary)
    # max_retry_per_llm is 0: one attempt each; a background probe may add one to the primary.
    require(
        1 <= len(primary_bodies) <= 2 and len(secondary_bodies) == 1,
        "FALLBACK-1",
        f"expected the primary tried once (a probe may add one) and the secondary once; they "
        f"got {len(primary_bodies)} and {len(secondary_bodies)} request(s)",
    )
    first = primary_bodies[0]
    for key in ("messages", "tools", "tool_choice", "parallel_tool_calls"):
        expect(
            secondary_bodies[0].get(key) == first.get(key),
            "FALLBACK-1",
            f"the secondary must get the same chat context and tools: {key!r} was "
            f"{first.get(key)!r} for the primary, {secondary_bodies[0].get(key)!r} for the "
            f"secondary",
        )
    expect(
        _availability(outcome, "primary")[:1] == [False],
        "FALLBACK-1",
        f"the failed primary must be marked unavailable (llm_availability_changed "
        f"available=false), got availability events {outcome.availability}",
    )
    expect(
        False not in _availability(outcome, "secondary"),
        "FALLBACK-1",
        f"the secondary answered and must not be marked unavailable: {outcome.availability}",
    )


_AFTER_OUTPUT = {
    "reset": (
        {"kind": "disconnect", "mode": "reset", "at_event": 1},
        {},
        "APIConnectionError",
    ),
    "timeout": (
        {"kind": "stall", "at_event": 2, "seconds": 1.5},
        {"attempt_timeout": 0.25},
        "APITimeoutError",
    ),
}


@pytest.mark.spec("FALLBACK-2")
@pytest.mark.capability("llm.fallback")
@pytest.mark.parametrize("failure", list(_AFTER_OUTPUT))
def test_failure_after_output_is_raised(
    voicewire_iut: Any, voicewire_simulator: Any, failure: str
) -> None:
    """After visible output the failure is raised as is; the next LLM is not asked."""
    fault, options, kind = _AFTER_OUTPUT[failure]
    primary, secondary = _sessions(voicewire_simulator, [fault], [])
    outcome = _chat(voicewire_iut, [primary, secondary], **options)
    secondary_requests = voicewire_simulator.requests(secondary)
    expect(
        not secondary_requests and outcome.text == PRIMARY_FIRST_PIECE,
        "FALLBACK-2",
        f"after the primary emitted {PRIMARY_FIRST_PIECE!r} its {failure} must not move on: "
        f"expected that text only and no request to the secondary, got {outcome.text!r} and "
        f"{len(secondary_requests)} request(s):\n{outcome.describe()}",
    )
    raised = outcome.error
    expect(
        raised is not None and raised.kind == kind,
        "FALLBACK-2",
        f"the primary's {kind} must be raised as is, got {raised}",
    )
    assert raised is not None
    own = [e.error for e in outcome.errors if e.llm == "primary"]
    if own:
        # The same error object: what the primary reported is what the stream raised.
        expect(
            raised.message == own[-1].message,
            "FALLBACK-2",
            f"the raised error must be the primary's own ({own[-1].message!r}), got "
            f"{raised.message!r}",
        )


@pytest.mark.spec("FALLBACK-2")
@pytest.mark.capability("llm.fallback")
def test_retry_on_chunk_sent_moves_on(voicewire_iut: Any, voicewire_simulator: Any) -> None:
    """With retry_on_chunk_sent a failure after output moves on to the next LLM."""
    primary, secondary = _sessions(
        voicewire_simulator, [{"kind": "disconnect", "mode": "reset", "at_event": 1}], []
    )
    outcome = _chat(voicewire_iut, [primary, secondary], retry_on_chunk_sent=True)
    expected = PRIMARY_FIRST_PIECE + SECONDARY_REPLY
    expect(
        outcome.error is None and outcome.text == expected,
        "FALLBACK-2",
        f"with retry_on_chunk_sent the secondary must answer after the primary's partial "
        f"output: expected {expected!r} and no error, got {outcome.text!r}, "
        f"error={outcome.error}:\n{outcome.describe()}",
    )
    expect(
        len(voicewire_simulator.requests(secondary)) == 1,
        "FALLBACK-2",
        f"the secondary must be asked once, got "
        f"{len(voicewire_simulator.requests(secondary))} request(s)",
    )


_ALL_FAIL = {
    "status-503": ({"kind": "status", "code": 503}, {"kind": "status", "code": 503}),
    "reset-and-400": (
        {"kind": "disconnect", "mode": "reset", "at_event": 0},
        {"kind": "status", "code": 400},
    ),
}


@pytest.mark.spec("FALLBACK-1", "FALLBACK-3")
@pytest.mark.capability("llm.fallback")
@pytest.mark.parametrize("failures", list(_ALL_FAIL))
def test_every_llm_failing_raises_connection_error(
    voicewire_iut: Any, voicewire_simulator: Any, failures: str
) -> None:
    """When every LLM fails the stream raises APIConnectionError."""
    primary_fault, secondary_fault = _ALL_FAIL[failures]
    primary, secondary = _sessions(voicewire_simulator, [primary_fault], [secondary_fault])
    outcome = _chat(voicewire_iut, [primary, secondary])
    counts = [len(voicewire_simulator.requests(t)) for t in (primary, secondary)]
    expect(
        all(1 <= count <= 2 for count in counts),
        "FALLBACK-1",
        f"every LLM must be tried once before giving up (a background probe may add one); "
        f"requests per LLM: {counts}",
    )
    raised = outcome.error
    expect(
        raised is not None and raised.kind == "APIConnectionError",
        "FALLBACK-3",
        f"when every LLM fails the stream must raise APIConnectionError, got {raised}:\n"
        f"{outcome.describe()}",
    )
    expect(outcome.text == "", "FALLBACK-3", f"no LLM answered, yet text {outcome.text!r}")


@pytest.mark.spec("FALLBACK-1", "FALLBACK-4")
@pytest.mark.capability("llm.fallback")
def test_recovered_llm_is_marked_available(voicewire_iut: Any, voicewire_simulator: Any) -> None:
    """A background probe that succeeds marks the failed LLM available again."""
    # Only the primary's first request fails; a probe replaying the same request (as upstream
    # does) is attempt 2 and succeeds. A probe with another body would count as a first
    # attempt, get the 503 too and leave this SHOULD reported NON-STRICT.
    primary, secondary = _sessions(
        voicewire_simulator, [{"kind": "status", "code": 503, "attempt": 1}], []
    )
    outcome = _chat(voicewire_iut, [primary, secondary], settle=True)
    expect(
        outcome.error is None and outcome.text == SECONDARY_REPLY,
        "FALLBACK-1",
        f"the secondary must answer after the primary's 503, got {outcome.text!r}, "
        f"error={outcome.error}",
    )
    changes = _availability(outcome, "primary")
    expect(
        changes[:1] == [False],
        "FALLBACK-1",
        f"the primary must first be marked unavailable, got {outcome.availability}",
    )
    expect(
        changes == [False, True],
        "FALLBACK-4",
        f"a successful probe must mark the primary available again: expected availability "
        f"[False, True], got {changes} (the primary got "
        f"{len(voicewire_simulator.requests(primary))} request(s))",
    )


@pytest.mark.spec("FALLBACK-5")
@pytest.mark.capability("llm.fallback")
def test_an_empty_llm_list_is_refused(voicewire_iut: Any) -> None:
    """An adapter over no LLM cannot be built: ValueError, and nothing streams."""
    outcome = _chat(voicewire_iut, [])
    error = outcome.error
    expect(
        error is not None and "ValueError" in error.kind,
        "FALLBACK-5",
        f"an empty LLM list must raise ValueError; got\n{outcome.describe()}",
    )
    expect(not outcome.chunks, "FALLBACK-5", "no output without an LLM")


# The primary's failure takes this long to arrive (its 503's body comes after a pause): long
# enough that a second call which tried the primary first is told apart by order alone.
SLOW_FAILURE = 2.0


@pytest.mark.spec("FALLBACK-1")
@pytest.mark.capability("llm.fallback")
def test_the_next_chat_skips_the_unavailable_llm(
    voicewire_iut: Any, voicewire_simulator: Any
) -> None:
    """After the primary failed and was marked unavailable, the adapter's next chat() goes to
    the next *available* LLM at once: no attempt of the primary ends between the secondary's
    two requests (a background probe of the primary may run meanwhile; it ends later)."""
    slow_503 = {
        "raw": {
            "status": 503,
            "headers": {"Content-Type": "application/json"},
            "body": [
                {"sleep": SLOW_FAILURE},
                {"text": '{"error": {"message": "overloaded", "type": "server_error"}}'},
            ],
        }
    }
    primary = LLMTarget.at(
        voicewire_simulator.session(scenario("fallback-slow-primary", slow_503, time_scale=1.0)),
        label="primary",
    )
    secondary = LLMTarget.at(
        voicewire_simulator.session(_scenario("fallback-secondary", SECONDARY_REPLY)),
        label="secondary",
    )
    outcome = voicewire_iut.chat(
        fallback=FallbackSpec(llms=[primary, secondary], attempt_timeout=SLOW_FAILURE * 3),
        chat_ctx=user_context("What's the weather in Paris?"),
        again_after=0.0,
    )
    calls = outcome.calls
    require(
        [call.text for call in calls] == [SECONDARY_REPLY] * 2,
        "FALLBACK-1",
        f"both chat() calls must be answered by the secondary:\n{outcome.describe()}",
    )
    arrivals = [
        e["t"] for e in voicewire_simulator.journal(secondary) if e["kind"] == "http_request"
    ]
    require(
        len(arrivals) == 2,
        "FALLBACK-1",
        f"expected one request to the secondary per call, it got {len(arrivals)}",
    )
    ends: dict[Any, float] = {}
    for entry in voicewire_simulator.journal(primary):
        if entry["kind"] == "raw":
            ends[entry["exchange"]] = entry["t"]
    tried = sorted(t for t in ends.values() if arrivals[0] < t < arrivals[1])
    expect(
        not tried,
        "FALLBACK-1",
        f"the second chat() tried the unavailable primary first: an attempt of it failed at "
        f"t={tried} s, between the secondary's requests at t={arrivals[0]:.3f} s and "
        f"t={arrivals[1]:.3f} s",
    )
