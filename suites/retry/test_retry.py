"""Conformance cases for SPEC §2.4, errors and retries of an LLM client (RETRY-1..7).

Each case scripts a failure in the embedded simulator (an error status, a reset connection, a
malformed or in-band error event, a stall) and judges the client twice: by what it emitted (the
``llm.error`` event of every failed attempt, the chunks, the error the stream raised) and by
what the simulator received (how many requests, when, with which body). Faults scoped to an
``attempt`` hit only that retry (the simulator counts identical bodies), so a retry can succeed.

The scripted reply is cut into fixed pieces, so event indices are known: event 0 is the
role-only chunk, events 1..4 carry ``"Hello wo"``, ``"rld, how"``, ``" are you"``, ``"?"``,
event 5 is the finish chunk, 6 the usage chunk, 7 ``[DONE]``.
"""

from __future__ import annotations

import itertools
import json
import socket
from typing import Any

import pytest
from voicewire.harness.llm import ChatOutcome, ConnOptions, LLMTarget, ToolSpec
from voicewire.harness.verdicts import expect, require
from voicewire.simulators.scenario import Scenario
from voicewire.simulators.scenario import build_scenario as scenario
from voicewire.suites.builders import user_context

REPLY = "Hello world, how are you?"
PIECES = ["Hello wo", "rld, how", " are you", "?"]
LAST_CONTENT_EVENT = len(PIECES)

_ORDER_PARAMETERS = {
    "type": "object",
    "properties": {"order_id": {"type": "string"}},
    "required": ["order_id"],
}


def _scenario(
    name: str,
    *faults: dict[str, Any],
    content: str = REPLY,
    tool_calls: list[dict[str, Any]] | None = None,
    layout: str = "sequential",
) -> Scenario:
    reply: dict[str, Any] = {
        "content": content,
        "fragmentation": {"strategy": "fixed", "size": 8, "tool_calls": layout},
    }
    if tool_calls:
        reply["tool_calls"] = tool_calls
    # time_scale 1: the only scripted waits are stalls, whose length matters against timeout.
    return scenario(name, {"reply": reply, "faults": list(faults)}, time_scale=1.0)


def _chat(
    iut: Any,
    target: LLMTarget,
    *,
    max_retry: int,
    retry_interval: float = 0.02,
    timeout: float = 5.0,
    **fields: Any,
) -> ChatOutcome:
    return iut.chat(
        llm=target,
        chat_ctx=fields.pop("chat_ctx", user_context("Hello")),
        conn_options=ConnOptions(
            max_retry=max_retry, retry_interval=retry_interval, timeout=timeout
        ),
        **fields,
    )


def _requests(simulator: Any, target: LLMTarget) -> list[dict[str, Any]]:
    """The session's HTTP request journal entries (``t`` = arrival, ``data`` = the request)."""
    return [e for e in simulator.journal(target) if e["kind"] == "http_request"]


def _retried_requests(simulator: Any, target: LLMTarget) -> list[dict[str, Any]]:
    """The requests of a session whose faults are scoped to an ``attempt``.

    The simulator numbers attempts by identical bodies, so a retry with another body would get
    attempt 1's fault again and every later check would blame the wrong rule: RETRY-7 is
    required first, and the case stops there when it is broken.
    """
    requests = _requests(simulator, target)
    bodies = [request["data"]["body"] for request in requests]
    for number, body in enumerate(bodies[1:], start=1):
        require(
            body == bodies[0],
            "RETRY-7",
            f"retry {number} sent a different body:\n  first: {json.dumps(bodies[0])[:600]}\n"
            f"  retry: {json.dumps(body)[:600]}",
        )
    return requests


def _last_error(outcome: ChatOutcome) -> Any:
    expect(
        outcome.errors,
        "RETRY-5",
        f"a failed attempt must emit an error event; none was emitted:\n{outcome.describe()}",
    )
    return outcome.errors[-1].error


# -- RETRY-1: error mapping ------------------------------------------------------------------


@pytest.mark.spec("RETRY-1", "RETRY-2", "RETRY-5")
@pytest.mark.capability("llm.chat")
def test_silence_is_a_timeout(voicewire_iut: Any, voicewire_simulator: Any) -> None:
    """No byte for `timeout` seconds mid-stream is an APITimeoutError, still retryable."""
    target = voicewire_simulator.session(
        _scenario("retry-timeout", {"kind": "stall", "at_event": 0, "seconds": 1.5})
    )
    outcome = _chat(voicewire_iut, target, max_retry=0, timeout=0.25)
    error = _last_error(outcome)
    expect(
        error.kind == "APITimeoutError",
        "RETRY-1",
        f"a stream silent for longer than timeout must fail with APITimeoutError, got "
        f"{error.kind}:\n{outcome.describe()}",
    )
    expect(
        error.retryable is not None,
        "RETRY-1",
        f"every error carries retryable; {error.kind} has none",
    )
    expect(
        error.retryable is True,
        "RETRY-2",
        f"a timeout before any visible output must be retryable, got {error.retryable}",
    )


@pytest.mark.spec("RETRY-1", "RETRY-5")
@pytest.mark.capability("llm.chat")
@pytest.mark.parametrize("code", [400, 429, 503])
def test_error_status_is_a_status_error(
    voicewire_iut: Any, voicewire_simulator: Any, code: int
) -> None:
    """A non-2xx answer is an APIStatusError carrying the status code and the body."""
    message = f"scripted failure {code} for voicewire"
    body = {"error": {"message": message, "type": "server_error", "code": code}}
    target = voicewire_simulator.session(
        _scenario(f"retry-status-{code}", {"kind": "status", "code": code, "body": body})
    )
    outcome = _chat(voicewire_iut, target, max_retry=0)
    error = _last_error(outcome)
    expect(
        error.kind == "APIStatusError" and error.status_code == code,
        "RETRY-1",
        f"HTTP {code} must be APIStatusError(status_code={code}), got {error.kind} "
        f"status_code={error.status_code}",
    )
    expect(
        message in json.dumps(error.body, ensure_ascii=False),
        "RETRY-1",
        f"APIStatusError must carry the response body {body}, got body={error.body!r}",
    )
    expect(
        error.retryable is not None,
        "RETRY-1",
        f"every error carries retryable; HTTP {code} has none",
    )


def _refused_base_url() -> tuple[socket.socket, str]:
    """A loopback port that refuses connections: bound (so nobody else takes it), not listening."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    return holder, f"http://127.0.0.1:{holder.getsockname()[1]}/v1"


_TRANSPORT_FAULTS = {
    "reset": {"kind": "disconnect", "mode": "reset", "at_event": 0},
    "malformed": {"kind": "malformed", "at_event": 0},
    "in-band-error": {"kind": "error_event", "at_event": 1},
}


@pytest.mark.spec("RETRY-1", "RETRY-2", "RETRY-5")
@pytest.mark.capability("llm.chat")
@pytest.mark.parametrize("failure", [*_TRANSPORT_FAULTS, "refused"])
def test_transport_failure_is_a_connection_error(
    voicewire_iut: Any, voicewire_simulator: Any, failure: str
) -> None:
    """A reset, a malformed or in-band error event, a refused connect: APIConnectionError."""
    if failure == "refused":
        target = voicewire_simulator.session(_scenario("retry-refused"))
        holder, base_url = _refused_base_url()
        try:
            outcome = _chat(
                voicewire_iut, target.model_copy(update={"base_url": base_url}), max_retry=0
            )
        finally:
            holder.close()
    else:
        target = voicewire_simulator.session(
            _scenario(f"retry-{failure}", _TRANSPORT_FAULTS[failure])
        )
        outcome = _chat(voicewire_iut, target, max_retry=0)
    error = _last_error(outcome)
    expect(
        error.kind == "APIConnectionError",
        "RETRY-1",
        f"a {failure} failure must be APIConnectionError, got {error.kind}:\n{outcome.describe()}",
    )
    expect(
        error.retryable is not None,
        "RETRY-1",
        f"every error carries retryable; the {failure} error has none",
    )
    expect(
        error.retryable is True,
        "RETRY-2",
        f"a {failure} failure before any visible output must be retryable, got {error.retryable}",
    )


# -- RETRY-2 / RETRY-6: visible output -------------------------------------------------------


@pytest.mark.spec("RETRY-2", "RETRY-5", "RETRY-7")
@pytest.mark.capability("llm.chat")
@pytest.mark.parametrize(
    ("content", "at_event"),
    [
        pytest.param(REPLY, 0, id="after-role-only-chunk"),
        # An empty reply streams: role-only chunk (0), finish chunk (1), usage chunk (2).
        pytest.param("", 2, id="after-usage-chunk"),
    ],
)
def test_metadata_chunks_keep_retryable(
    voicewire_iut: Any, voicewire_simulator: Any, content: str, at_event: int
) -> None:
    """A failure after only role-only / finish / usage chunks is still retried."""
    target = voicewire_simulator.session(
        _scenario(
            "retry-metadata",
            {"kind": "disconnect", "mode": "reset", "at_event": at_event, "attempt": 1},
            content=content,
        )
    )
    outcome = _chat(voicewire_iut, target, max_retry=2)
    requests = _retried_requests(voicewire_simulator, target)
    error = _last_error(outcome)
    expect(
        error.retryable is True,
        "RETRY-2",
        f"no visible output was emitted before the failure, so it must be retryable; got "
        f"retryable={error.retryable}:\n{outcome.describe()}",
    )
    expect(
        len(requests) == 2 and outcome.error is None,
        "RETRY-2",
        f"the failure after metadata-only chunks must be retried once and succeed; got "
        f"{len(requests)} request(s), error={outcome.error}",
    )
    expect(
        outcome.text == content,
        "RETRY-2",
        f"after the retry the reply must be emitted once: expected {content!r}, got "
        f"{outcome.text!r}",
    )


@pytest.mark.spec("RETRY-2", "RETRY-5", "RETRY-6")
@pytest.mark.capability("llm.chat")
@pytest.mark.parametrize("at_event", [1, 2, LAST_CONTENT_EVENT + 2])
def test_no_retry_after_visible_text(
    voicewire_iut: Any, voicewire_simulator: Any, at_event: int
) -> None:
    """Once text was emitted a failure is final: one request, text once, retryable false."""
    # Every attempt fails the same way, so a client that retries repeats the same text.
    target = voicewire_simulator.session(
        _scenario("retry-after-text", {"kind": "disconnect", "mode": "reset", "at_event": at_event})
    )
    outcome = _chat(voicewire_iut, target, max_retry=2)
    requests = _requests(voicewire_simulator, target)
    emitted = "".join(PIECES[: min(at_event, len(PIECES))])
    expect(
        len(requests) == 1,
        "RETRY-6",
        f"a failure after visible text must not be retried; the server got {len(requests)} "
        f"requests:\n{outcome.describe()}",
    )
    expect(
        outcome.text == emitted,
        "RETRY-6",
        f"the consumer must see the failed attempt's text exactly once: expected "
        f"{emitted!r}, got {outcome.text!r}",
    )
    error = _last_error(outcome)
    expect(
        error.retryable is False,
        "RETRY-2",
        f"an error after visible output must have retryable false, got {error.retryable}",
    )
    expect(
        outcome.error is not None and outcome.error.retryable is False,
        "RETRY-2",
        f"the stream must raise the error with retryable false, got {outcome.error}",
    )
    expect(
        not outcome.errors[-1].recoverable,
        "RETRY-5",
        "the error event of the last attempt must have recoverable false",
    )


@pytest.mark.spec("RETRY-2", "RETRY-5", "RETRY-6")
@pytest.mark.capability("llm.chat")
def test_no_retry_after_tool_call(voicewire_iut: Any, voicewire_simulator: Any) -> None:
    """A tool call already emitted is never emitted again by a retry."""
    call = {"name": "lookup_order", "arguments": {"order_id": "A-17"}, "id": "call_order"}
    # The whole call in one delta (event 1), the finish chunk (2), then a reset on every attempt.
    target = voicewire_simulator.session(
        _scenario(
            "retry-after-call",
            {"kind": "disconnect", "mode": "reset", "at_event": 2},
            content="",
            tool_calls=[call],
            layout="one_delta",
        )
    )
    outcome = _chat(
        voicewire_iut,
        target,
        max_retry=2,
        tools=[ToolSpec(name="lookup_order", parameters=_ORDER_PARAMETERS)],
    )
    requests = _requests(voicewire_simulator, target)
    expect(
        len(outcome.tool_calls) <= 1,
        "RETRY-6",
        f"the tool call was emitted {len(outcome.tool_calls)} times:\n{outcome.describe()}",
    )
    if outcome.tool_calls:
        # The call was visible before the failure (the client emits calls by the finish chunk).
        expect(
            len(requests) == 1,
            "RETRY-6",
            f"after a tool call was emitted nothing may be retried; the server got "
            f"{len(requests)} requests",
        )
        error = _last_error(outcome)
        expect(
            error.retryable is False,
            "RETRY-2",
            f"an error after a tool call was emitted must have retryable false, got "
            f"{error.retryable}",
        )
    else:
        # A client that holds calls until the end of stream saw nothing visible: it retries.
        expect(
            len(requests) == 3,
            "RETRY-2",
            f"no visible output was emitted, so the failure must be retried up to max_retry; "
            f"the server got {len(requests)} requests",
        )


# -- RETRY-3: which statuses are retried -----------------------------------------------------


@pytest.mark.spec("RETRY-3", "RETRY-5")
@pytest.mark.capability("llm.chat")
@pytest.mark.parametrize("code", [400, 401, 403, 404, 422])
def test_client_error_is_not_retried(
    voicewire_iut: Any, voicewire_simulator: Any, code: int
) -> None:
    """A 4xx other than 408/429/499 is sent once and raised as itself."""
    target = voicewire_simulator.session(
        _scenario(f"retry-no-{code}", {"kind": "status", "code": code})
    )
    outcome = _chat(voicewire_iut, target, max_retry=2)
    requests = _requests(voicewire_simulator, target)
    expect(
        len(requests) == 1,
        "RETRY-3",
        f"HTTP {code} is not retryable: expected 1 request, the server got {len(requests)}",
    )
    error = _last_error(outcome)
    expect(
        error.retryable is False,
        "RETRY-3",
        f"HTTP {code} must have retryable false, got {error.retryable}",
    )
    expect(
        [e.recoverable for e in outcome.errors] == [False],
        "RETRY-5",
        f"one failed attempt, not followed by another: expected one error event with "
        f"recoverable false, got {[e.recoverable for e in outcome.errors]}",
    )
    raised = outcome.error
    expect(
        raised is not None and raised.kind == "APIStatusError" and raised.status_code == code,
        "RETRY-5",
        f"a non-retryable error is raised as itself: expected APIStatusError({code}), got {raised}",
    )


@pytest.mark.spec("RETRY-3", "RETRY-5", "RETRY-7")
@pytest.mark.capability("llm.chat")
@pytest.mark.parametrize("code", [408, 429, 499])
def test_retryable_client_error_is_retried(
    voicewire_iut: Any, voicewire_simulator: Any, code: int
) -> None:
    """408, 429 and 499 are retried: the second attempt answers."""
    target = voicewire_simulator.session(
        _scenario(f"retry-yes-{code}", {"kind": "status", "code": code, "attempt": 1})
    )
    outcome = _chat(voicewire_iut, target, max_retry=1)
    requests = _retried_requests(voicewire_simulator, target)
    expect(
        len(requests) == 2 and outcome.error is None,
        "RETRY-3",
        f"HTTP {code} is retryable: expected a second request that succeeds, got "
        f"{len(requests)} request(s), error={outcome.error}",
    )
    expect(
        outcome.text == REPLY,
        "RETRY-3",
        f"after the retry the reply must be emitted once, got {outcome.text!r}",
    )
    expect(
        [e.recoverable for e in outcome.errors] == [True],
        "RETRY-5",
        f"the failed first attempt is followed by another: expected one error event with "
        f"recoverable true, got {[e.recoverable for e in outcome.errors]}",
    )


@pytest.mark.spec("RETRY-2", "RETRY-4", "RETRY-5", "RETRY-7")
@pytest.mark.capability("llm.chat")
@pytest.mark.parametrize("code", [500, 503])
def test_server_error_is_retried(voicewire_iut: Any, voicewire_simulator: Any, code: int) -> None:
    """A 5xx before any output is retryable and retried."""
    target = voicewire_simulator.session(
        _scenario(f"retry-5xx-{code}", {"kind": "status", "code": code, "attempt": 1})
    )
    outcome = _chat(voicewire_iut, target, max_retry=1)
    requests = _retried_requests(voicewire_simulator, target)
    error = _last_error(outcome)
    expect(
        error.retryable is True,
        "RETRY-2",
        f"HTTP {code} before any output must be retryable, got {error.retryable}",
    )
    expect(
        len(requests) == 2 and outcome.error is None and outcome.text == REPLY,
        "RETRY-4",
        f"HTTP {code} must be retried and the retry's reply emitted; got {len(requests)} "
        f"request(s), error={outcome.error}, text={outcome.text!r}",
    )


# -- RETRY-4: how many attempts, and when ----------------------------------------------------


@pytest.mark.spec("RETRY-4", "RETRY-5")
@pytest.mark.capability("llm.chat")
@pytest.mark.parametrize("max_retry", [0, 1, 3])
def test_attempts_are_bounded(voicewire_iut: Any, voicewire_simulator: Any, max_retry: int) -> None:
    """A failure on every attempt makes exactly max_retry + 1 requests."""
    target = voicewire_simulator.session(
        _scenario(f"retry-bounded-{max_retry}", {"kind": "status", "code": 503})
    )
    outcome = _chat(voicewire_iut, target, max_retry=max_retry, retry_interval=0.01)
    requests = _requests(voicewire_simulator, target)
    expect(
        len(requests) == max_retry + 1,
        "RETRY-4",
        f"max_retry={max_retry}: expected exactly {max_retry + 1} request(s), the server got "
        f"{len(requests)}",
    )
    flags = [e.recoverable for e in outcome.errors]
    expected = [True] * max_retry + [False]
    expect(
        flags == expected,
        "RETRY-5",
        f"one error event per failed attempt, recoverable while another follows: expected "
        f"{expected}, got {flags}",
    )
    raised = outcome.error
    expect(raised is not None, "RETRY-5", "the stream must raise after the last attempt")
    if raised is None:
        return
    if max_retry == 0:
        # Nothing was retried, so nothing was exhausted: the 503 itself.
        expect(
            raised.kind == "APIStatusError" and raised.status_code == 503,
            "RETRY-5",
            f"max_retry=0: the single attempt's APIStatusError(503) must be raised as itself, "
            f"got {raised.kind}({raised.status_code}): {raised.message[:200]}",
        )
    else:
        expect(
            raised.kind == "APIConnectionError"
            and f"after {max_retry + 1} attempts" in raised.message,
            "RETRY-5",
            f"exhausting {max_retry + 1} attempts raises APIConnectionError('failed ... after "
            f"{max_retry + 1} attempts'), got {raised.kind}: {raised.message[:200]}",
        )


# SPEC §2.4: "tolerance ±50 ms + scheduling". The scheduling allowance covers the request's
# own round trip (the wait is measured between two arrivals at the server) and a busy CI core.
WAIT_TOLERANCE = 0.05
SCHEDULING_ALLOWANCE = 0.1
LATE_MEASUREMENTS = 3
"""How many times a measurement whose only faults are slightly late gaps is taken (see
:func:`test_waits_between_attempts`)."""
SCHEDULING_NOISE = 0.5
"""How late past the window a gap may be and still be taken for the machine's scheduling."""


@pytest.mark.spec("RETRY-4")
@pytest.mark.capability("llm.chat")
# 0.3 keeps every plausible wrong wait (0, 0.1, 2.0, retry_interval before the first retry
# too) outside the tolerance window of the right one; 0 is the boundary (no wait at all after
# the first retry, which still waits 0.1 s).
@pytest.mark.parametrize("interval", [0.3, 0.0])
def test_waits_between_attempts(
    voicewire_iut: Any, voicewire_simulator: Any, interval: float
) -> None:
    """0.1 s before the first retry, retry_interval before every later one.

    A busy core can make a wait come out too long, never too short: when every gap out of
    tolerance is late by less than :data:`SCHEDULING_NOISE`, the measurement is taken again on
    a fresh session, up to :data:`LATE_MEASUREMENTS` times, and judged on the last. A client
    that waits too long fails every one of them; one that waits a wrong interval (2 s, or
    none) fails the first."""
    expected = [0.1, interval, interval]
    measurement = 0
    while True:
        measurement += 1
        target = voicewire_simulator.session(
            _scenario("retry-waits", {"kind": "status", "code": 503})
        )
        outcome = _chat(voicewire_iut, target, max_retry=3, retry_interval=interval)
        arrivals = [e["t"] for e in _requests(voicewire_simulator, target)]
        gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
        upper = [wait + WAIT_TOLERANCE + SCHEDULING_ALLOWANCE for wait in expected]
        late = [gap - top for gap, top in zip(gaps, upper, strict=False) if gap > top]
        early = [gap < wait - WAIT_TOLERANCE for gap, wait in zip(gaps, expected, strict=False)]
        noise = late and max(late) < SCHEDULING_NOISE
        if len(arrivals) != 4 or any(early) or not noise or measurement == LATE_MEASUREMENTS:
            break
    expect(
        len(arrivals) == 4,
        "RETRY-4",
        f"max_retry=3 with a 503 on every attempt: expected 4 requests, got {len(arrivals)}",
    )
    for number, (gap, wait) in enumerate(zip(gaps, expected, strict=True)):
        expect(
            wait - WAIT_TOLERANCE <= gap <= wait + WAIT_TOLERANCE + SCHEDULING_ALLOWANCE,
            "RETRY-4",
            f"the wait before retry {number} must be {wait:g} s (±{WAIT_TOLERANCE:g} s + "
            f"scheduling); the requests arrived {gap:.3f} s apart (all gaps: "
            f"{[round(g, 3) for g in gaps]}, expected {expected}; measurement {measurement} "
            f"of at most {LATE_MEASUREMENTS})",
        )
    expect(outcome.error is not None, "RETRY-4", "every attempt failed, so the stream must raise")


@pytest.mark.spec("RETRY-1")
@pytest.mark.capability("llm.chat")
def test_a_stream_may_outlast_the_timeout(voicewire_iut: Any, voicewire_simulator: Any) -> None:
    """The timeout bounds the silence between bytes, not the stream: a reply whose pieces come
    0.1 s apart for longer than the 0.4 s timeout finishes without error."""
    reply = {
        "content": "Ten pieces arrive steadily, one tenth of a second apart.",
        "fragmentation": {"strategy": "fixed", "size": 6},
    }
    target = voicewire_simulator.session(
        scenario("healthy-slow", {"reply": reply, "timing": {"inter_chunk": 0.1}}, time_scale=1.0)
    )
    outcome = _chat(voicewire_iut, target, max_retry=0, timeout=0.4)
    expect(
        outcome.error is None and outcome.text == reply["content"],
        "RETRY-1",
        f"no gap reached the 0.4 s timeout, so nothing may time out: expected the whole text "
        f"and no error, got {outcome.text!r}, error={outcome.error}\n{outcome.describe()}",
    )


# -- RETRY-5: error events and the raised error ----------------------------------------------


@pytest.mark.spec("RETRY-5")
@pytest.mark.capability("llm.chat")
def test_exhausted_attempts_raise_connection_error(
    voicewire_iut: Any, voicewire_simulator: Any
) -> None:
    """After the last failed attempt: APIConnectionError '... after N attempts'."""
    target = voicewire_simulator.session(
        _scenario("retry-exhausted", {"kind": "status", "code": 503})
    )
    outcome = _chat(voicewire_iut, target, max_retry=2, retry_interval=0.01)
    flags = [e.recoverable for e in outcome.errors]
    expect(
        flags == [True, True, False],
        "RETRY-5",
        f"three failed attempts: expected error events recoverable [True, True, False], got "
        f"{flags}:\n{outcome.describe()}",
    )
    raised = outcome.error
    expect(
        raised is not None and raised.kind == "APIConnectionError",
        "RETRY-5",
        f"exhausting the attempts must raise APIConnectionError, got {raised}",
    )
    assert raised is not None
    expect(
        "after 3 attempts" in raised.message,
        "RETRY-5",
        f"the exhaustion error says 'failed ... after 3 attempts', got {raised.message!r}",
    )


@pytest.mark.spec("RETRY-5", "RETRY-6", "RETRY-7")
@pytest.mark.capability("llm.chat")
def test_recovered_stream_ends_cleanly(voicewire_iut: Any, voicewire_simulator: Any) -> None:
    """Two failed attempts then success: two recoverable error events, the reply once."""
    target = voicewire_simulator.session(
        _scenario(
            "retry-recovered",
            {"kind": "status", "code": 503, "attempt": 1},
            {"kind": "disconnect", "mode": "reset", "at_event": 0, "attempt": 2},
        )
    )
    outcome = _chat(voicewire_iut, target, max_retry=3)
    _retried_requests(voicewire_simulator, target)
    flags = [e.recoverable for e in outcome.errors]
    expect(
        flags == [True, True] and outcome.error is None,
        "RETRY-5",
        f"two failed attempts followed by a good one: expected error events recoverable "
        f"[True, True] and no raised error, got {flags}, error={outcome.error}",
    )
    expect(
        outcome.text == REPLY,
        "RETRY-6",
        f"the consumer must see the successful attempt's reply exactly once, got {outcome.text!r}",
    )


# -- RETRY-7: the same request again ---------------------------------------------------------


@pytest.mark.spec("RETRY-7", "RETRY-4")
@pytest.mark.capability("llm.chat")
def test_retry_sends_identical_body(voicewire_iut: Any, voicewire_simulator: Any) -> None:
    """Every attempt sends the same JSON body (tools, options and context included)."""
    target = voicewire_simulator.session(
        _scenario(
            "retry-body",
            {"kind": "status", "code": 503, "attempt": 1},
            {"kind": "malformed", "at_event": 0, "attempt": 2},
        )
    )
    outcome = _chat(
        voicewire_iut,
        target,
        max_retry=2,
        chat_ctx=user_context("Where is my order?", instructions="You are a shop assistant."),
        tools=[ToolSpec(name="lookup_order", parameters=_ORDER_PARAMETERS)],
        tool_choice="auto",
        extra_kwargs={"temperature": 0.2},
    )
    requests = _retried_requests(voicewire_simulator, target)
    expect(
        len(requests) == 3,
        "RETRY-4",
        f"two retryable failures with max_retry=2 need 3 requests to compare, got "
        f"{len(requests)}:\n{outcome.describe()}",
    )
