"""Every LLM fault of the scenario vocabulary against the reference client's retry loop.

Attempts are counted from the simulator's journal (``http_request`` entries; the ``rule`` note
records the simulator's attempt number, which only advances for a byte-identical body, so it
also proves RETRY-7). Scripted waits use a small ``time_scale``; the only timing assertions are
lower bounds on journal timestamp gaps, which a slow machine can only make larger.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from voicewire.reference.errors import (
    APIConnectionError,
    APIConnectOptions,
    APIError,
    APIStatusError,
    APITimeoutError,
)
from voicewire.reference.llm import ChatContext
from voicewire.reference.llm.chat_chunk import ChatChunk, FunctionToolCall
from voicewire.reference.llm.inference import LLM, LLMErrorEvent, LLMStream
from voicewire.simulators import Scenario, SimulatorServer, parse_scenario

CONTENT = "abcdefghijkl"
# Events of the stream below: 0 role, 1 "abcd", 2 "efgh", 3 "ijkl", 4 finish, 5 usage, 6 [DONE].
PIECES = ["abcd", "efgh", "ijkl"]
FAST = APIConnectOptions(max_retry=3, retry_interval=1.0, timeout=5.0)


# -- helpers -----------------------------------------------------------------------------------


def user_ctx(text: str = "hello") -> ChatContext:
    ctx = ChatContext()
    ctx.add_message(role="user", content=text)
    return ctx


def scenario(
    faults: list[dict[str, Any]], *, reply: dict[str, Any] | None = None, time_scale: float = 0.01
) -> Scenario:
    reply = reply or {"content": CONTENT, "fragmentation": {"strategy": "fixed", "size": 4}}
    return parse_scenario(
        {"name": "faulty", "time_scale": time_scale, "rules": [{"reply": reply, "faults": faults}]}
    )


class Outcome:
    """What one ``chat()`` produced: chunks before the end, the error if any, error events."""

    def __init__(
        self,
        chunks: list[ChatChunk],
        error: BaseException | None,
        events: list[LLMErrorEvent],
        stream: LLMStream,
    ) -> None:
        self.chunks = chunks
        self.error = error
        self.events = events
        self.stream = stream

    @property
    def text(self) -> str:
        return "".join(c.delta.content or "" for c in self.chunks if c.delta is not None)

    @property
    def calls(self) -> list[FunctionToolCall]:
        return [t for c in self.chunks if c.delta is not None for t in c.delta.tool_calls]

    @property
    def recoverable(self) -> list[bool]:
        return [e.recoverable for e in self.events]


async def run_chat(llm: LLM, options: APIConnectOptions = FAST, text: str = "hello") -> Outcome:
    events: list[LLMErrorEvent] = []
    llm.on("error", events.append)
    stream = llm.chat(chat_ctx=user_ctx(text), conn_options=options)
    chunks: list[ChatChunk] = []
    error: BaseException | None = None
    try:
        async for chunk in stream:
            chunks.append(chunk)
    except APIError as exc:
        error = exc
    finally:
        await stream.aclose()
        llm.off("error", events.append)
    return Outcome(chunks, error, events, stream)


def requests_of(sim: SimulatorServer) -> list[dict[str, Any]]:
    return [e for e in sim.journal.entries() if e["kind"] == "http_request"]


def attempt_numbers(sim: SimulatorServer) -> list[int]:
    """The simulator's attempt number of each request (advances only for identical bodies)."""
    return [e["data"]["attempt"] for e in sim.journal.entries() if e["kind"] == "rule"]


def assert_identical_attempts(sim: SimulatorServer, count: int) -> None:
    """``count`` requests, all with the same body, seen by the simulator as attempts 1..count."""
    requests = requests_of(sim)
    assert len(requests) == count
    assert all(r["data"]["body"] == requests[0]["data"]["body"] for r in requests)
    assert attempt_numbers(sim) == list(range(1, count + 1))


def sse_payloads(sim: SimulatorServer, exchange: int) -> list[str]:
    written = "".join(
        e["data"] for e in sim.journal.entries(exchange=exchange) if e["kind"] == "sse_event"
    )
    return [frame.removeprefix("data: ") for frame in written.split("\n\n") if frame]


def assert_clean_success(outcome: Outcome, text: str = CONTENT) -> None:
    assert outcome.error is None
    assert outcome.text == text
    assert outcome.chunks[-1].usage is not None
    assert sum(c.usage is not None for c in outcome.chunks) == 1


# -- status faults (RETRY-3, RETRY-4, RETRY-5, RETRY-7) ----------------------------------------


@pytest.mark.spec("RETRY-1", "RETRY-3", "RETRY-4", "RETRY-5", "RETRY-6", "RETRY-7", "LLM-SSE-5")
@pytest.mark.parametrize("code", [500, 502, 503, 408, 429, 499])
async def test_retryable_status_is_retried_once_then_succeeds(start_simulator, make_llm, code):
    sim = await start_simulator(scenario([{"kind": "status", "code": code, "attempt": 1}]))
    llm = make_llm(sim)
    outcome = await run_chat(llm)

    assert_clean_success(outcome)
    assert_identical_attempts(sim, 2)
    assert outcome.stream.attempts == 2
    assert outcome.recoverable == [True]
    [event] = outcome.events
    assert isinstance(event.error, APIStatusError)
    assert event.error.status_code == code
    assert event.error.retryable is True
    [failure] = [e for e in sim.journal.entries() if e["kind"] == "http_error"]
    assert failure["data"]["status"] == code


@pytest.mark.spec("RETRY-1", "RETRY-3", "RETRY-5")
@pytest.mark.parametrize("code", [400, 401, 403, 404, 409, 422])
async def test_other_4xx_is_not_retried_and_raised_as_itself(start_simulator, make_llm, code):
    sim = await start_simulator(scenario([{"kind": "status", "code": code}]))
    llm = make_llm(sim)
    outcome = await run_chat(llm)

    assert isinstance(outcome.error, APIStatusError)
    assert outcome.error.status_code == code
    assert outcome.error.retryable is False
    assert f"simulated HTTP {code}" in outcome.error.message
    assert len(requests_of(sim)) == 1
    assert outcome.chunks == []
    assert [(e.error, e.recoverable) for e in outcome.events] == [(outcome.error, False)]


@pytest.mark.spec("LLM-SSE-5", "RETRY-3", "RETRY-4")
async def test_429_carries_retry_after_and_is_retried(start_simulator, make_llm):
    sim = await start_simulator(
        scenario([{"kind": "status", "code": 429, "retry_after": 2, "attempt": 1}])
    )
    llm = make_llm(sim)
    outcome = await run_chat(llm)

    assert_clean_success(outcome)
    [failure] = [e for e in sim.journal.entries() if e["kind"] == "http_error"]
    assert failure["data"]["headers"] == {"Retry-After": "2"}
    assert failure["data"]["body"]["error"]["code"] == 429
    assert len(requests_of(sim)) == 2


@pytest.mark.spec("RETRY-4", "RETRY-5", "RETRY-7")
@pytest.mark.parametrize("max_retry", [1, 2, 3])
async def test_exhausted_attempts_raise_connection_error_chained_to_the_last(
    start_simulator, make_llm, max_retry
):
    sim = await start_simulator(scenario([{"kind": "status", "code": 503}]))
    llm = make_llm(sim)
    outcome = await run_chat(llm, APIConnectOptions(max_retry=max_retry, retry_interval=1.0))

    attempts = max_retry + 1
    assert type(outcome.error) is APIConnectionError
    assert outcome.error.message == f"failed to generate LLM completion after {attempts} attempts"
    assert outcome.error.retryable is False
    last = outcome.error.__cause__
    assert isinstance(last, APIStatusError)
    assert last.status_code == 503
    assert last is outcome.events[-1].error
    assert outcome.recoverable == [True] * max_retry + [False]
    assert all(isinstance(e.error, APIStatusError) for e in outcome.events)
    assert_identical_attempts(sim, attempts)
    assert outcome.stream.attempts == attempts
    assert outcome.chunks == []


@pytest.mark.spec("RETRY-4", "RETRY-5")
async def test_max_retry_zero_sends_exactly_one_request(start_simulator, make_llm):
    sim = await start_simulator(scenario([{"kind": "status", "code": 503}]))
    llm = make_llm(sim)
    outcome = await run_chat(llm, APIConnectOptions(max_retry=0))

    assert len(requests_of(sim)) == 1
    assert outcome.stream.attempts == 1
    # As upstream: with no retry allowed the attempt's own error surfaces (research notes).
    assert isinstance(outcome.error, APIStatusError)
    assert outcome.error.status_code == 503
    assert outcome.recoverable == [False]


@pytest.mark.spec("RETRY-4")
async def test_retry_waits_follow_the_formula_scaled(start_simulator, make_llm):
    sim = await start_simulator(
        scenario(
            [
                {"kind": "status", "code": 503, "attempt": 1},
                {"kind": "status", "code": 503, "attempt": 2},
            ]
        )
    )
    # Nominal waits 0.1 s then retry_interval 0.2 s, halved: 50 ms then 100 ms.
    llm = make_llm(sim, time_scale=0.5)
    outcome = await run_chat(llm, APIConnectOptions(max_retry=2, retry_interval=0.2, timeout=5.0))

    assert_clean_success(outcome)
    first, second, third = (e["t"] for e in requests_of(sim))
    # Lower bounds only (a busy machine waits longer, never shorter). 5 ms of slack covers the
    # event loop's clock granularity and the journal's rounding to microseconds.
    assert second - first >= 0.05 - 0.005
    assert third - second >= 0.1 - 0.005


# -- disconnects -------------------------------------------------------------------------------


@pytest.mark.spec("RETRY-1", "RETRY-2", "RETRY-4", "RETRY-5", "RETRY-6")
async def test_reset_before_visible_output_is_retried(start_simulator, make_llm):
    sim = await start_simulator(
        scenario([{"kind": "disconnect", "mode": "reset", "at_event": 0, "attempt": 1}])
    )
    llm = make_llm(sim)
    outcome = await run_chat(llm)

    assert_clean_success(outcome)
    assert_identical_attempts(sim, 2)
    [event] = outcome.events
    assert isinstance(event.error, APIConnectionError)
    assert event.error.retryable is True
    assert event.recoverable is True


@pytest.mark.spec("RETRY-1", "RETRY-2", "RETRY-5", "RETRY-6")
@pytest.mark.parametrize("at_event", [1, 2, 4])
async def test_reset_after_visible_output_is_not_retried(start_simulator, make_llm, at_event):
    sim = await start_simulator(
        scenario([{"kind": "disconnect", "mode": "reset", "at_event": at_event}])
    )
    llm = make_llm(sim)
    outcome = await run_chat(llm)

    assert isinstance(outcome.error, APIConnectionError)
    assert "after" not in outcome.error.message  # raised as itself, not as "exhausted"
    assert outcome.error.retryable is False
    assert outcome.text == "".join(PIECES[:at_event])
    assert len(requests_of(sim)) == 1
    assert [(e.error, e.recoverable) for e in outcome.events] == [(outcome.error, False)]


@pytest.mark.spec("LLM-TXT-1", "LLM-TC-3", "RETRY-6")
@pytest.mark.parametrize("at_event", [0, 1, 2, 4, 5])
async def test_clean_close_ends_the_stream_with_what_was_sent(start_simulator, make_llm, at_event):
    # A clean close ends the HTTP response early; for the client this is a stream that ends
    # without [DONE] (like a dropped [DONE]): no error, nothing invented, nothing retried.
    sim = await start_simulator(
        scenario([{"kind": "disconnect", "mode": "close", "at_event": at_event}])
    )
    llm = make_llm(sim)
    outcome = await run_chat(llm)

    assert outcome.error is None
    assert outcome.events == []
    assert len(requests_of(sim)) == 1
    assert outcome.text == "".join(PIECES[:at_event])
    assert any(c.usage is not None for c in outcome.chunks) == (at_event >= 5)


@pytest.mark.spec("LLM-TC-3")
async def test_clean_close_after_call_arguments_still_emits_the_call(start_simulator, make_llm):
    reply = {
        "content": "ok",
        "tool_calls": [{"name": "get_weather", "arguments": {"location": "Paris"}}],
        "fragmentation": {"strategy": "fixed", "size": 10},
    }
    # Events: 0 role, 1 "ok", 2 header, 3 '{"location', 4 '": "Paris"', 5 '}', 6 finish.
    sim = await start_simulator(
        scenario([{"kind": "disconnect", "mode": "close", "at_event": 5}], reply=reply)
    )
    llm = make_llm(sim)
    outcome = await run_chat(llm)
    assert outcome.error is None
    assert outcome.text == "ok"
    assert [(c.name, c.arguments, c.call_id) for c in outcome.calls] == [
        ("get_weather", '{"location": "Paris"}', "call_0")
    ]


# -- stalls (timeouts) -------------------------------------------------------------------------

# A 0.5 s stall against a 0.2 s silence timeout: the margin absorbs a slow machine.
STALL = {"kind": "stall", "seconds": 50.0}
TIMEOUT = APIConnectOptions(max_retry=1, retry_interval=0.0, timeout=0.2)


@pytest.mark.spec("RETRY-1", "RETRY-2", "RETRY-4", "RETRY-5")
async def test_stall_before_visible_output_times_out_and_is_retried(start_simulator, make_llm):
    sim = await start_simulator(scenario([{**STALL, "at_event": 1, "attempt": 1}]))
    llm = make_llm(sim)
    outcome = await run_chat(llm, TIMEOUT)

    assert_clean_success(outcome)
    assert_identical_attempts(sim, 2)
    [event] = outcome.events
    assert isinstance(event.error, APITimeoutError)
    assert event.error.retryable is True
    assert event.recoverable is True


@pytest.mark.spec("RETRY-1", "RETRY-2", "RETRY-5", "RETRY-6")
async def test_stall_after_visible_output_raises_timeout_unretried(start_simulator, make_llm):
    sim = await start_simulator(scenario([{**STALL, "at_event": 2}]))
    llm = make_llm(sim)
    outcome = await run_chat(llm, TIMEOUT)

    assert isinstance(outcome.error, APITimeoutError)
    assert outcome.error.retryable is False
    assert outcome.text == "abcd"
    assert len(requests_of(sim)) == 1
    assert outcome.recoverable == [False]


@pytest.mark.spec("RETRY-1", "RETRY-5")
async def test_stall_on_every_attempt_exhausts_with_timeout_as_cause(start_simulator, make_llm):
    sim = await start_simulator(scenario([{**STALL, "at_event": 0}]))
    llm = make_llm(sim)
    outcome = await run_chat(llm, TIMEOUT)

    assert type(outcome.error) is APIConnectionError
    assert outcome.error.message == "failed to generate LLM completion after 2 attempts"
    assert isinstance(outcome.error.__cause__, APITimeoutError)
    assert outcome.recoverable == [True, False]
    assert_identical_attempts(sim, 2)


# -- malformed SSE and in-band errors ----------------------------------------------------------


@pytest.mark.spec("RETRY-1", "RETRY-2", "RETRY-5", "RETRY-6", "RETRY-7")
@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "malformed"},
        {"kind": "malformed", "line": "data: not json at all"},
        {"kind": "error_event"},
        {"kind": "error_event", "message": "overloaded", "code": 529},
    ],
    ids=["truncated-json", "not-json", "error-event", "error-event-529"],
)
async def test_bad_event_before_visible_output_is_retried(start_simulator, make_llm, fault):
    sim = await start_simulator(scenario([{**fault, "at_event": 1, "attempt": 1}]))
    llm = make_llm(sim)
    outcome = await run_chat(llm)

    assert_clean_success(outcome)
    assert_identical_attempts(sim, 2)
    [event] = outcome.events
    # Neither is a non-2xx status or a timeout: "anything else" is a connection error.
    assert type(event.error) is APIConnectionError
    assert event.error.retryable is True
    assert event.recoverable is True


@pytest.mark.spec("RETRY-1", "RETRY-2", "RETRY-5", "RETRY-6")
@pytest.mark.parametrize("kind", ["malformed", "error_event"])
async def test_bad_event_after_visible_output_is_raised_unretried(start_simulator, make_llm, kind):
    sim = await start_simulator(scenario([{"kind": kind, "at_event": 3}]))
    llm = make_llm(sim)
    outcome = await run_chat(llm)

    assert type(outcome.error) is APIConnectionError
    assert outcome.error.retryable is False
    assert outcome.text == "abcdefgh"
    assert len(requests_of(sim)) == 1
    assert outcome.recoverable == [False]
    if kind == "error_event":
        assert "simulated in-band error" in outcome.error.message


@pytest.mark.spec("RETRY-1", "RETRY-4")
async def test_refused_connection_is_a_retried_connection_error():
    # A bound socket that never listens: connecting to it is refused, deterministically.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        llm = LLM(
            "openai/gpt-4.1-mini",
            base_url=f"http://127.0.0.1:{port}/v1",
            api_key="k",
            api_secret="s" * 32,
            time_scale=0.01,
        )
        try:
            outcome = await run_chat(llm, APIConnectOptions(max_retry=1, timeout=2.0))
        finally:
            await llm.aclose()
    assert type(outcome.error) is APIConnectionError
    assert outcome.error.message == "failed to generate LLM completion after 2 attempts"
    assert isinstance(outcome.error.__cause__, APIConnectionError)
    assert outcome.recoverable == [True, False]
    assert outcome.stream.attempts == 2


# -- stream-shape faults: drop, duplicate, reorder, delay, byte_split --------------------------

CALL_REPLY = {
    "content": CONTENT,
    "tool_calls": [{"name": "get_weather", "arguments": {"location": "Paris"}}],
    "fragmentation": {"strategy": "fixed", "size": 4},
}
# Events: 0 role, 1-3 text, 4 header, 5-10 arguments ('{"lo', 'cati', 'on":', ' "Pa', 'ris"',
# '}'), 11 finish, 12 usage, 13 [DONE].
FINISH, USAGE, DONE = 11, 12, 13
CALL = ("get_weather", '{"location": "Paris"}', "call_0")


@pytest.mark.spec("LLM-TXT-1", "LLM-TC-1", "LLM-TC-3", "LLM-USG-1", "LLM-SSE-1")
@pytest.mark.parametrize(
    ("at_event", "text", "calls", "usage"),
    [
        (0, CONTENT, [CALL], True),  # role chunk: carries nothing visible
        (2, "abcdijkl", [CALL], True),  # a text piece: it is simply never seen
        (FINISH, CONTENT, [CALL], True),  # the finish chunk: the call is still emitted
        (USAGE, CONTENT, [CALL], False),  # the usage chunk
        (DONE, CONTENT, [CALL], True),  # [DONE]: the stream ends cleanly anyway
    ],
    ids=["role", "text", "finish", "usage", "done"],
)
async def test_drop(start_simulator, make_llm, at_event, text, calls, usage):
    sim = await start_simulator(
        scenario([{"kind": "drop", "at_event": at_event}], reply=CALL_REPLY)
    )
    llm = make_llm(sim)
    outcome = await run_chat(llm)

    assert outcome.error is None
    assert outcome.events == []
    assert len(requests_of(sim)) == 1
    assert outcome.text == text
    assert [(c.name, c.arguments, c.call_id) for c in outcome.calls] == calls
    assert sum(c.usage is not None for c in outcome.chunks) == int(usage)
    if usage:
        assert outcome.chunks[-1].usage is not None


@pytest.mark.spec("LLM-TXT-1", "LLM-TC-1", "LLM-USG-1", "LLM-SSE-1")
@pytest.mark.parametrize(
    ("at_event", "text", "usage_chunks"),
    [
        (1, "abcdabcdefghijkl", 1),  # a text piece the server sent twice is text sent twice
        (4, CONTENT, 1),  # the header again: same id, same index, still one call
        (USAGE, CONTENT, 2),  # two usage objects: one usage chunk each, both last
        (DONE, CONTENT, 1),  # [DONE] twice: the stream ended at the first
    ],
    ids=["text", "header", "usage", "done"],
)
async def test_duplicate(start_simulator, make_llm, at_event, text, usage_chunks):
    sim = await start_simulator(
        scenario([{"kind": "duplicate", "at_event": at_event}], reply=CALL_REPLY)
    )
    llm = make_llm(sim)
    outcome = await run_chat(llm)

    assert outcome.error is None
    assert outcome.text == text
    assert [(c.name, c.arguments, c.call_id) for c in outcome.calls] == [CALL]
    usage_positions = [i for i, c in enumerate(outcome.chunks) if c.usage is not None]
    n = len(outcome.chunks)
    assert usage_positions == list(range(n - usage_chunks, n))


@pytest.mark.spec("LLM-TXT-1", "LLM-TC-1", "LLM-USG-1", "LLM-SSE-1")
@pytest.mark.parametrize(
    ("at_event", "text", "usage"),
    [
        (1, "efghabcdijkl", True),  # text pieces arrive swapped: emitted as they arrived
        (FINISH, CONTENT, True),  # usage before the finish chunk: still emitted after the call
        (USAGE, CONTENT, False),  # [DONE] before usage: the stream is over, usage never read
    ],
    ids=["text", "finish-usage", "usage-done"],
)
async def test_reorder(start_simulator, make_llm, at_event, text, usage):
    sim = await start_simulator(
        scenario([{"kind": "reorder", "at_event": at_event}], reply=CALL_REPLY)
    )
    llm = make_llm(sim)
    outcome = await run_chat(llm)

    assert outcome.error is None
    assert outcome.text == text
    assert [(c.name, c.arguments, c.call_id) for c in outcome.calls] == [CALL]
    assert sum(c.usage is not None for c in outcome.chunks) == int(usage)
    if usage:
        assert outcome.chunks[-1].usage is not None
        call_position = next(
            i for i, c in enumerate(outcome.chunks) if c.delta and c.delta.tool_calls
        )
        assert call_position < len(outcome.chunks) - 1


@pytest.mark.spec("LLM-TXT-1")
async def test_delay_holds_one_event_back(start_simulator, make_llm):
    # 5 s scaled by 0.01: the simulator waits 50 ms before event 2.
    sim = await start_simulator(scenario([{"kind": "delay", "at_event": 2, "seconds": 5.0}]))
    llm = make_llm(sim)
    outcome = await run_chat(llm)

    assert_clean_success(outcome)
    assert outcome.events == []
    [sleep] = [e for e in sim.journal.entries() if e["kind"] == "sleep"]
    assert sleep["data"] == {"seconds": pytest.approx(0.05), "reason": "delay"}
    writes = {e["event"]: e["t"] for e in sim.journal.entries() if e["kind"] == "sse_event"}
    # Journal times are server-side monotonic; the gap can only exceed the scripted wait.
    assert writes[2] - writes[1] >= 0.05 - 0.005
    assert sleep["seq"] < min(
        e["seq"] for e in sim.journal.entries() if e["kind"] == "sse_event" and e["event"] == 2
    )


@pytest.mark.spec("LLM-SSE-1", "LLM-TXT-1", "LLM-TC-1", "LLM-TC-2")
@pytest.mark.parametrize(
    "split",
    [
        {"sizes": [1]},
        {"sizes": [2, 3, 5]},
        {"sizes": [4096]},
        {"seed": 3},
        {"seed": 9, "max_size": 40},
    ],
    ids=["1", "2-3-5", "4096", "seed-3", "seed-9-max-40"],
)
async def test_byte_split_changes_nothing_the_client_sees(start_simulator, make_llm, split):
    sim = await start_simulator(scenario([{"kind": "byte_split", **split}], reply=CALL_REPLY))
    llm = make_llm(sim)
    outcome = await run_chat(llm)
    plain = await start_simulator(scenario([], reply=CALL_REPLY))
    plain_outcome = await run_chat(make_llm(plain))

    assert_clean_success(outcome)
    assert [(c.name, c.arguments, c.call_id) for c in outcome.calls] == [CALL]
    assert [c.model_dump() for c in outcome.chunks] == [
        c.model_dump() for c in plain_outcome.chunks
    ]

    pieces = [e["data"] for e in sim.journal.entries() if e["kind"] == "sse_event"]
    # The split stream is byte for byte the unsplit one (same exchange number, same chunks,
    # up to the "created" second).
    split_frames = [json.loads(p) if p != "[DONE]" else p for p in sse_payloads(sim, 1)]
    plain_frames = [json.loads(p) if p != "[DONE]" else p for p in sse_payloads(plain, 1)]
    for frame in (*split_frames, *plain_frames):
        if isinstance(frame, dict):
            frame.pop("created")
    assert split_frames == plain_frames
    sizes = [len(p.encode()) for p in pieces]
    if "sizes" in split:
        cycle = split["sizes"]
        assert sizes[:-1] == [cycle[i % len(cycle)] for i in range(len(sizes) - 1)]
        assert 1 <= sizes[-1] <= cycle[(len(sizes) - 1) % len(cycle)]
    else:
        assert all(1 <= s <= split.get("max_size", 7) for s in sizes)
        assert len(set(sizes)) > 1  # seeded sizes vary


@pytest.mark.spec("RETRY-2", "RETRY-6")
async def test_metadata_only_chunks_do_not_make_output_visible(start_simulator, make_llm):
    # A reply with no text and no calls: role, finish and usage chunks only. A reset after the
    # usage chunk is still before any visible output, so it is retried (RETRY-2).
    reply = {"content": "", "fragmentation": {"strategy": "whole"}}
    # Events: 0 role, 1 finish, 2 usage, 3 [DONE].
    sim = await start_simulator(
        scenario(
            [{"kind": "disconnect", "mode": "reset", "at_event": 2, "attempt": 1}], reply=reply
        )
    )
    llm = make_llm(sim)
    outcome = await run_chat(llm)

    assert outcome.error is None
    assert outcome.recoverable == [True]
    assert_identical_attempts(sim, 2)
    assert outcome.text == ""
    assert [c.usage is not None for c in outcome.chunks] == [True]
