"""The reference LLM client against hostile servers (LLM-ROB-1..3): whatever comes back, the
stream ends with an error of the APIError family (malformed data: a retryable
APIConnectionError while nothing visible was emitted), unknown keys are ignored, a stall is a
timeout, and closing early returns at once.

The servers here are small aiohttp apps answering one fixed body each, on real loopback
sockets: the client must not be able to tell them from a broken gateway.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from voicewire.reference.errors import APIConnectionError, APIConnectOptions, APITimeoutError
from voicewire.reference.llm import ChatContext
from voicewire.reference.llm.fallback import FallbackAdapter
from voicewire.reference.llm.inference import LLM
from voicewire.reference.llm.wire import DONE_EVENT, chat_chunk, encode_event

ONE_ATTEMPT = APIConnectOptions(max_retry=0, timeout=2.0)
CHUNK = chat_chunk("chatcmpl-x", 1, "m", {"content": "Hi"})


def _events(*payloads: Any) -> bytes:
    return b"".join(encode_event(p) for p in payloads) + DONE_EVENT


Answer = tuple[int, str | None, bytes]


@pytest.fixture
async def hostile_server() -> AsyncIterator[Callable[[Answer], Any]]:
    """``await hostile_server((status, content_type, body))``: the base URL of a server that
    answers every chat completion with exactly that."""
    runners: list[web.AppRunner] = []

    async def start(answer: Answer) -> str:
        status, content_type, body = answer

        async def handler(request: web.Request) -> web.StreamResponse:
            await request.read()
            response = web.StreamResponse(status=status)
            if content_type is not None:
                response.content_type = content_type
            await response.prepare(request)
            if body:
                await response.write(body)
            await response.write_eof()
            return response

        app = web.Application()
        app.router.add_post("/v1/chat/completions", handler)
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}/v1"

    yield start
    for runner in runners:
        await runner.cleanup()


def _llm(base_url: str) -> LLM:
    return LLM("openai/gpt-4.1-mini", base_url=base_url, api_key="k", api_secret="s" * 32)


def _context() -> ChatContext:
    ctx = ChatContext()
    ctx.add_message(role="user", content="hi")
    return ctx


async def _consume(llm: LLM, options: APIConnectOptions = ONE_ATTEMPT) -> tuple[str, Any]:
    text = ""
    try:
        async with llm.chat(chat_ctx=_context(), conn_options=options) as stream:
            async for chunk in stream:
                text += chunk.delta.content or "" if chunk.delta else ""
    except Exception as exc:  # the stream's error is what is checked
        return text, exc
    finally:
        await llm.aclose()
    return text, None


DEEP = b"data: " + b"[" * 100_000 + b"]" * 100_000 + b"\n\n"
HOSTILE: dict[str, Answer] = {
    "empty-200": (200, "text/event-stream", b""),
    "no-content-204": (204, None, b""),
    "html-200": (200, "text/html", b"<html>hello</html>"),
    "json-200": (200, "application/json", json.dumps(CHUNK).encode()),
    "text-not-sse": (200, "text/event-stream", b"hello, this is not server-sent events\n"),
    "comments-only": (200, "text/event-stream", b": ping\n\n: ping\n\n"),
    "malformed-json": (200, "text/event-stream", b'data: {"id": "x", "choices": [{\n\n'),
    "a-list": (200, "text/event-stream", b"data: [1,2]\n\n" + DONE_EVENT),
    "null-error": (200, "text/event-stream", b'data: {"error": null}\n\n' + DONE_EVENT),
    "choices-of-numbers": (200, "text/event-stream", _events({**CHUNK, "choices": [1]})),
    "usage-a-number": (200, "text/event-stream", _events({**CHUNK, "usage": 7})),
    "content-a-float": (
        200,
        "text/event-stream",
        _events(chat_chunk("chatcmpl-x", 1, "m", {"content": 1.5})),
    ),
    "arguments-an-object": (
        200,
        "text/event-stream",
        _events(
            chat_chunk(
                "chatcmpl-x",
                1,
                "m",
                {
                    "tool_calls": [
                        {"index": 0, "id": "c", "function": {"name": "f", "arguments": {}}}
                    ]
                },
            )
        ),
    ),
    "nested-too-deep": (200, "text/event-stream", DEEP + DONE_EVENT),
    "invalid-utf8": (200, "text/event-stream", b'data: {"id": "\xff\xfe"}\n\n' + DONE_EVENT),
    "in-band-error": (
        200,
        "text/event-stream",
        _events({"error": {"message": "overloaded", "type": "server_error", "code": 503}}),
    ),
}


@pytest.mark.spec("LLM-ROB-1")
@pytest.mark.parametrize("case", list(HOSTILE))
async def test_a_hostile_body_ends_in_a_retryable_connection_error(hostile_server, case):
    base_url = await hostile_server(HOSTILE[case])
    text, error = await _consume(_llm(base_url))
    assert text == ""
    assert isinstance(error, APIConnectionError), f"{case}: {error!r}"
    assert error.retryable is True


@pytest.mark.spec("LLM-ROB-1", "FALLBACK-1")
async def test_the_fallback_adapter_fails_over_on_a_hostile_body(hostile_server):
    broken = await hostile_server(HOSTILE["choices-of-numbers"])
    healthy = await hostile_server((200, "text/event-stream", _events(CHUNK)))
    adapter = FallbackAdapter([_llm(broken), _llm(healthy)])
    text = ""
    async with adapter.chat(chat_ctx=_context()) as stream:
        async for chunk in stream:
            text += chunk.delta.content or "" if chunk.delta else ""
    await adapter.aclose()
    assert text == "Hi"


@pytest.mark.spec("LLM-ROB-2")
async def test_unknown_keys_are_ignored(hostile_server):
    extra = {
        **CHUNK,
        "service_tier": "default",
        "system_fingerprint": "fp",
        "choices": [
            {
                "index": 0,
                "delta": {"content": "Hi", "refusal": None, "reasoning_content": "hmm"},
                "logprobs": None,
                "finish_reason": None,
                "native_finish_reason": None,
            }
        ],
    }
    base_url = await hostile_server((200, "text/event-stream", _events(extra)))
    text, error = await _consume(_llm(base_url))
    assert (text, error) == ("Hi", None)


@pytest.fixture
async def stalling_server() -> AsyncIterator[tuple[str, asyncio.Event]]:
    """A server that sends its head and one chunk, then nothing; the event is set when the
    client goes away."""
    gone = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(status=200, headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(encode_event(CHUNK))
        try:
            await asyncio.Event().wait()
        finally:
            gone.set()
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handler)
    # handler_cancellation: a client that hangs up cancels the handler, which sets `gone`.
    runner = web.AppRunner(
        app, handle_signals=False, handler_cancellation=True, shutdown_timeout=0.5
    )
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/v1", gone
    await runner.cleanup()


@pytest.mark.spec("LLM-ROB-3")
async def test_a_stall_after_output_is_a_timeout_within_the_timeout(stalling_server):
    base_url, _ = stalling_server
    options = APIConnectOptions(max_retry=0, timeout=0.3)
    text, error = await asyncio.wait_for(_consume(_llm(base_url), options), 5)
    assert text == "Hi"
    assert isinstance(error, APITimeoutError) and error.retryable is False


@pytest.mark.spec("LLM-ROB-3")
async def test_closing_early_returns_at_once_and_hangs_up(stalling_server):
    base_url, gone = stalling_server
    llm = _llm(base_url)
    stream = llm.chat(chat_ctx=_context(), conn_options=APIConnectOptions(timeout=30.0))
    first = await stream.__anext__()
    assert first.delta is not None and first.delta.content == "Hi"
    await asyncio.wait_for(stream.aclose(), 1.0)
    await asyncio.wait_for(gone.wait(), 5.0)  # the server saw the connection go
    await llm.aclose()
