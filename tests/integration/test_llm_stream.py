"""The reference LLMStream as a consumer sees it: metrics, text iteration, closing early."""

from __future__ import annotations

import asyncio

import pytest
from voicewire.reference.emitter import EventEmitter
from voicewire.reference.errors import APIConnectOptions, APIStatusError
from voicewire.reference.llm import ChatContext
from voicewire.reference.llm.inference import LLMMetrics
from voicewire.simulators import parse_scenario


def conversation() -> ChatContext:
    ctx = ChatContext()
    ctx.add_message(role="user", content="hello")
    return ctx


async def test_one_metrics_event_per_completed_stream(start_simulator, make_llm):
    sim = await start_simulator(
        parse_scenario(
            {
                "time_scale": 0.01,
                "rules": [
                    {
                        "reply": {
                            "content": "Hi there!",
                            "usage": {
                                "prompt_tokens": 40,
                                "completion_tokens": 3,
                                "cached_tokens": 8,
                            },
                        },
                        "timing": {"ttft": 1.0},
                        "faults": [{"kind": "status", "attempt": 1, "code": 503}],
                    }
                ],
            }
        )
    )
    llm = make_llm(sim)
    metrics: list[LLMMetrics] = []
    llm.on("metrics_collected", metrics.append)
    async with llm.chat(chat_ctx=conversation()) as stream:
        text = "".join([piece async for piece in stream.to_str_iterable()])
    assert text == "Hi there!"
    (m,) = metrics
    assert (m.prompt_tokens, m.completion_tokens, m.prompt_cached_tokens, m.total_tokens) == (
        40,
        3,
        8,
        43,
    )
    assert m.attempts == 2 and m.request_id.startswith("chatcmpl-")
    # ttft spans the failed attempt and the scripted 10 ms first-token delay.
    assert 0.01 <= m.ttft <= m.duration


async def test_no_visible_output_means_ttft_minus_one_and_a_failed_stream_has_no_metrics(
    start_simulator, make_llm
):
    sim = await start_simulator(
        parse_scenario(
            {
                "rules": [
                    {"match": {"text": "silent"}, "reply": {"content": ""}},
                    {"match": {"text": "broken"}, "faults": [{"kind": "status", "code": 400}]},
                ]
            }
        )
    )
    llm = make_llm(sim)
    metrics: list[LLMMetrics] = []
    llm.on("metrics_collected", metrics.append)
    ctx = ChatContext()
    ctx.add_message(role="user", content="silent")
    chunks = await llm.chat(chat_ctx=ctx).collect()
    assert [c.usage is not None for c in chunks] == [True]
    assert metrics[0].ttft == -1
    ctx.add_message(role="user", content="broken")
    with pytest.raises(APIStatusError):
        await llm.chat(chat_ctx=ctx).collect()
    assert len(metrics) == 1


async def test_aclose_mid_stream_stops_the_request_and_ends_iteration(start_simulator, make_llm):
    sim = await start_simulator(
        parse_scenario(
            {
                "rules": [
                    {
                        "reply": {"content": "a" * 40, "fragmentation": {"strategy": "per_char"}},
                        "faults": [{"kind": "stall", "at_event": 3, "seconds": 60}],
                    }
                ]
            }
        )
    )
    llm = make_llm(sim)
    stream = llm.chat(chat_ctx=conversation(), conn_options=APIConnectOptions(timeout=120))
    first = await anext(aiter(stream))
    assert first.delta is not None and first.delta.content == "a"
    await asyncio.wait_for(stream.aclose(), 10)
    assert await stream.collect() == []  # closed: iteration just ends
    assert await stream.collect() == []  # and ends again


async def test_iterating_a_finished_stream_again_ends_again(start_simulator, make_llm):
    sim = await start_simulator()
    stream = make_llm(sim).chat(chat_ctx=conversation())
    assert "".join([t async for t in stream.to_str_iterable()]) == "You said: hello"
    assert await stream.collect() == []


def test_event_emitter_runs_every_listener_then_reports_the_first_failure():
    emitter: EventEmitter[str] = EventEmitter()
    seen: list[str] = []

    def broken(payload: str) -> None:
        raise RuntimeError(f"broken on {payload}")

    emitter.on("error", broken)
    emitter.on("error", seen.append)

    @emitter.on("error")
    def decorated(payload: str) -> None:
        seen.append(payload.upper())

    with pytest.raises(RuntimeError, match="broken on x"):
        emitter.emit("error", "x")
    assert seen == ["x", "X"]
    emitter.off("error", broken)
    emitter.emit("error", "y")
    assert seen == ["x", "X", "y", "Y"]
    with pytest.raises(TypeError, match="listener must be callable"):
        emitter.on("error", 42)
