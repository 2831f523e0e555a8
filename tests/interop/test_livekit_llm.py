"""Interop: the real upstream client against voicewire's LLM simulator.

The client under test is ``livekit.agents.inference.LLM`` from ``livekit-agents==1.8.9`` (the
``livekit`` extra), driven over a real loopback socket against :class:`SimulatorServer`. These
tests show that the simulator speaks the wire format the upstream client needs, and they pin
what that client does with it: the exact ChatChunks it emits, the request body and token the
simulator receives, and its retry loop. Expected values come from the wire capture of the same
client (``research/wire-capture.md`` §2).

One test pins a case where upstream 1.8.9 is known NOT to conform to SPEC (a pending tool call
dropped on ``finish_reason: length``, LLM-TC-3). It records what upstream does; it is not a
conformance verdict on anything.

Without the extra installed, the whole module is skipped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import jwt
import pytest

pytest.importorskip("livekit.agents")

from livekit import agents as upstream
from livekit.agents import APIConnectOptions, function_tool, inference
from livekit.agents.llm import ChatChunk, ChatContext, LLMError
from livekit.agents.metrics import LLMMetrics
from voicewire.simulators import SimulatorServer, parse_scenario

UPSTREAM_VERSION = "1.8.9"
MODEL = "openai/gpt-4.1-mini"
SYSTEM_PROMPT = "You are a helpful assistant."
QUESTION = "What's the weather in Paris and São Paulo?"

# The tool of the wire capture; its schema below is what upstream derived from it there.
GET_WEATHER_SCHEMA = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "strict": True,
        "description": "Get the current weather for a location.\n",
        "parameters": {
            "properties": {
                "location": {"description": "The city name, e.g. Paris", "type": "string"}
            },
            "required": ["location"],
            "type": "object",
            "additionalProperties": False,
        },
    },
}


@function_tool
async def get_weather(location: str) -> str:
    """Get the current weather for a location.

    Args:
        location: The city name, e.g. Paris
    """
    return f"sunny in {location}"


# -- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def hermetic_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the CI environment out of the loopback exchange."""
    # upstream builds its httpx client with trust_env: a proxy variable would route
    # 127.0.0.1 traffic to the proxy instead of the simulator
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    # explicit arguments win over these, but a stray value must not be able to mask a missing one
    for name in (
        "LIVEKIT_INFERENCE_URL",
        "LIVEKIT_URL",
        "LIVEKIT_INFERENCE_API_KEY",
        "LIVEKIT_API_KEY",
        "LIVEKIT_INFERENCE_API_SECRET",
        "LIVEKIT_API_SECRET",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def upstream_llm() -> AsyncIterator[Callable[..., inference.LLM]]:
    """``upstream_llm(sim, base_path="/v1", api_secret=None)``: an upstream inference LLM
    pointed at the simulator, closed after the test."""
    clients: list[inference.LLM] = []

    def make(
        sim: SimulatorServer, *, base_path: str = "/v1", api_secret: str | None = None
    ) -> inference.LLM:
        client = inference.LLM(
            model=MODEL,
            base_url=sim.base_url + base_path,
            api_key=sim.api_key,
            api_secret=api_secret if api_secret is not None else sim.api_secret,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


def weather_context() -> ChatContext:
    ctx = ChatContext()
    ctx.add_message(role="system", content=SYSTEM_PROMPT)
    ctx.add_message(role="user", content=QUESTION)
    return ctx


def expected_body(*, tools: bool) -> dict[str, Any]:
    """The request body of wire-capture §2 for :func:`weather_context`."""
    body: dict[str, Any] = {
        "model": MODEL,
        "stream": True,
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": QUESTION},
        ],
        "stream_options": {"include_usage": True},
    }
    if tools:
        body["tools"] = [GET_WEATHER_SCHEMA]
    return body


class Recorder:
    """The ``error`` and ``metrics_collected`` events an upstream LLM emits."""

    def __init__(self, client: inference.LLM) -> None:
        self.errors: list[LLMError] = []
        self.metrics: list[LLMMetrics] = []
        client.on("error", self.errors.append)
        client.on("metrics_collected", self.metrics.append)


async def collect(
    client: inference.LLM, *, tools: bool = True, max_retry: int = 0
) -> list[dict[str, Any]]:
    """Run one upstream ``chat()`` to the end; its ChatChunks as ``model_dump(exclude_none)``."""
    stream = client.chat(
        chat_ctx=weather_context(),
        tools=[get_weather] if tools else None,
        conn_options=APIConnectOptions(max_retry=max_retry, timeout=5.0),
    )
    chunks: list[ChatChunk] = []
    async with stream:
        async for chunk in stream:
            chunks.append(chunk)
    return [chunk.model_dump(exclude_none=True) for chunk in chunks]


def journal_of(sim: SimulatorServer, kind: str) -> list[dict[str, Any]]:
    return [entry for entry in sim.journal.entries() if entry["kind"] == kind]


def streamed(sim: SimulatorServer, exchange: int) -> list[dict[str, Any]]:
    """The chunk payloads the simulator streamed in one exchange (from its journal)."""
    payloads = []
    for entry in journal_of(sim, "sse_event"):
        data = entry["data"].removeprefix("data: ").strip()
        if entry["exchange"] == exchange and data != "[DONE]":
            payloads.append(json.loads(data))
    assert payloads, f"exchange {exchange} streamed nothing"
    return payloads


def completion_id(sim: SimulatorServer, exchange: int) -> str:
    """The chunk ``id`` the simulator streamed in one exchange."""
    return streamed(sim, exchange)[0]["id"]


def tool_call_fragments(sim: SimulatorServer, exchange: int) -> list[dict[str, Any]]:
    """Every ``delta.tool_calls`` entry the simulator streamed in one exchange, in order."""
    return [
        fragment
        for payload in streamed(sim, exchange)
        for choice in payload["choices"]
        for fragment in choice["delta"].get("tool_calls", [])
    ]


def text_chunk(chunk_id: str, content: str) -> dict[str, Any]:
    return {"id": chunk_id, "delta": {"role": "assistant", "content": content, "tool_calls": []}}


def call_chunk(chunk_id: str, call_id: str, arguments: str) -> dict[str, Any]:
    call = {"type": "function", "name": "get_weather", "arguments": arguments, "call_id": call_id}
    return {"id": chunk_id, "delta": {"role": "assistant", "tool_calls": [call]}}


def usage_chunk(chunk_id: str, server_usage: dict[str, Any]) -> dict[str, Any]:
    """Upstream's usage ChatChunk for a server usage object (wire-capture §2 mapping)."""
    return {
        "id": chunk_id,
        "usage": {
            "completion_tokens": server_usage["completion_tokens"],
            "prompt_tokens": server_usage["prompt_tokens"],
            "prompt_cached_tokens": server_usage["prompt_tokens_details"]["cached_tokens"],
            "cache_creation_tokens": 0,
            "cache_read_tokens": 0,
            "reasoning_tokens": server_usage["completion_tokens_details"]["reasoning_tokens"],
            "total_tokens": server_usage["total_tokens"],
        },
    }


def server_usage(sim: SimulatorServer, exchange: int) -> dict[str, Any]:
    """The usage object the simulator sent in one exchange."""
    (usage,) = [p["usage"] for p in streamed(sim, exchange) if p["usage"] is not None]
    return usage


def upstream_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.levelname} {r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("livekit")
    ]


# -- scenarios ---------------------------------------------------------------------------------


@pytest.mark.spec("LLM-REQ-1", "LLM-REQ-2", "AUTH-1", "AUTH-2", "LLM-TC-1", "LLM-ORD-1")
@pytest.mark.parametrize("base_path", ["", "/v1"])
async def test_tool_call_with_arguments(
    start_simulator, upstream_llm, caplog, base_path: str
) -> None:
    """Text then one tool call: text deltas one chunk each, the call as one whole chunk, then
    usage; the simulator receives wire-capture §2's body under either base path, with a token
    that verifies with its own credentials."""
    caplog.set_level(logging.DEBUG)
    sim = await start_simulator(
        parse_scenario(
            {
                "name": "weather",
                "rules": [
                    {
                        "match": {"text": "weather"},
                        "reply": {
                            "content": "Let me check.",
                            "tool_calls": [
                                {"name": "get_weather", "arguments": {"location": "Paris"}}
                            ],
                            "fragmentation": {"strategy": "fixed", "size": 8},
                        },
                    }
                ],
            }
        )
    )
    client = upstream_llm(sim, base_path=base_path)
    events = Recorder(client)

    chunks = await collect(client)

    cid = completion_id(sim, 1)
    assert chunks == [
        text_chunk(cid, "Let me c"),
        text_chunk(cid, "heck."),
        call_chunk(cid, "call_0", '{"location": "Paris"}'),
        usage_chunk(cid, server_usage(sim, 1)),
    ]
    assert events.errors == []
    assert [m.request_id for m in events.metrics] == [cid]

    (request,) = journal_of(sim, "http_request")
    assert request["data"]["method"] == "POST"
    assert request["data"]["path"] == f"{base_path}/chat/completions"
    assert request["data"]["body"] == expected_body(tools=True)
    headers = request["data"]["headers"]
    assert headers["User-Agent"].startswith(f"LiveKit Agents/{UPSTREAM_VERSION} ")
    # outside a job context upstream sends no identity headers (wire-capture §2)
    assert not [name for name in headers if name.lower().startswith("x-livekit-")]

    # The journal redacts the bearer credential; the token upstream sent is the one its openai
    # client holds for this chat() (it mints one per call and assigns it there).
    token = client._client.api_key
    assert headers["Authorization"] == f"Bearer {token[:12]}..."
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(
        token,
        sim.api_secret,
        algorithms=["HS256"],
        options={"require": ["iss", "sub", "nbf", "exp"]},
    )
    assert claims == {
        "inference": {"perform": True},
        "sub": "agent",
        "iss": sim.api_key,
        "nbf": claims["nbf"],
        "exp": claims["nbf"] + 600,
    }
    assert upstream_warnings(caplog) == []


@pytest.mark.spec("LLM-TC-1", "LLM-TC-2", "LLM-SSE-3")
async def test_parallel_tool_calls_sequential_layout(start_simulator, upstream_llm) -> None:
    """Two calls, one after the other, arguments cut into one-character fragments (the second
    call's arguments non-ASCII): each call arrives once, whole, byte for byte, in index order."""
    sim = await start_simulator(
        parse_scenario(
            {
                "name": "parallel",
                "rules": [
                    {
                        "reply": {
                            "tool_calls": [
                                {
                                    "name": "get_weather",
                                    "arguments": {"location": "Paris"},
                                    "id": "call_capture_A",
                                },
                                {
                                    "name": "get_weather",
                                    "arguments": {"location": "São Paulo"},
                                    "id": "call_capture_B",
                                },
                            ],
                            "fragmentation": {"strategy": "per_char", "tool_calls": "sequential"},
                        }
                    }
                ],
            }
        )
    )
    client = upstream_llm(sim)
    events = Recorder(client)

    chunks = await collect(client)

    cid = completion_id(sim, 1)
    assert chunks == [
        call_chunk(cid, "call_capture_A", '{"location": "Paris"}'),
        call_chunk(cid, "call_capture_B", '{"location": "São Paulo"}'),
        usage_chunk(cid, server_usage(sim, 1)),
    ]
    assert events.errors == []
    # the stream really was fragmented: a header per call, then one fragment per character
    fragments = tool_call_fragments(sim, 1)
    assert [f.get("id") for f in fragments if "id" in f] == ["call_capture_A", "call_capture_B"]
    assert len(fragments) == 2 + len('{"location": "Paris"}') + len('{"location": "São Paulo"}')


@pytest.mark.spec("LLM-USG-1", "LLM-SSE-4", "LLM-REQ-2")
async def test_usage_chunk(start_simulator, upstream_llm, caplog) -> None:
    """Scripted token counts arrive as one usage-only ChatChunk after the text (cached and
    reasoning tokens mapped) and in the ``metrics_collected`` event; without tools the body has
    no ``tools`` key."""
    caplog.set_level(logging.DEBUG)
    sim = await start_simulator(
        parse_scenario(
            {
                "name": "usage",
                "rules": [
                    {
                        "reply": {
                            "content": "Sunny in both.",
                            "fragmentation": {"strategy": "whole"},
                            "usage": {
                                "prompt_tokens": 57,
                                "completion_tokens": 31,
                                "cached_tokens": 12,
                                "reasoning_tokens": 4,
                            },
                        }
                    }
                ],
            }
        )
    )
    client = upstream_llm(sim)
    events = Recorder(client)

    chunks = await collect(client, tools=False)

    cid = completion_id(sim, 1)
    assert chunks == [
        text_chunk(cid, "Sunny in both."),
        {
            "id": cid,
            "usage": {
                "completion_tokens": 31,
                "prompt_tokens": 57,
                "prompt_cached_tokens": 12,
                "cache_creation_tokens": 0,
                "cache_read_tokens": 0,
                "reasoning_tokens": 4,
                "total_tokens": 88,
            },
        },
    ]
    (metrics,) = events.metrics
    assert (
        metrics.prompt_tokens,
        metrics.completion_tokens,
        metrics.prompt_cached_tokens,
        metrics.reasoning_tokens,
        metrics.total_tokens,
    ) == (57, 31, 12, 4, 88)
    (request,) = journal_of(sim, "http_request")
    assert request["data"]["body"] == expected_body(tools=False)
    assert upstream_warnings(caplog) == []


@pytest.mark.spec("RETRY-4", "RETRY-5", "RETRY-7", "LLM-SSE-5")
async def test_status_500_then_success_is_retried(start_simulator, upstream_llm, caplog) -> None:
    """A 500 on attempt 1: upstream emits one recoverable error, waits its fixed 0.1 s first
    retry interval, resends the identical body, and streams attempt 2's answer."""
    caplog.set_level(logging.WARNING)
    sim = await start_simulator(
        parse_scenario(
            {
                "name": "flaky",
                "rules": [
                    {
                        "reply": {"content": "Sunny.", "fragmentation": {"strategy": "whole"}},
                        "faults": [{"kind": "status", "attempt": 1, "code": 500}],
                    }
                ],
            }
        )
    )
    client = upstream_llm(sim)
    events = Recorder(client)

    chunks = await collect(client, max_retry=2)

    first, second = journal_of(sim, "http_request")
    assert (first["exchange"], second["exchange"]) == (1, 2)
    assert first["data"]["body"] == second["data"]["body"] == expected_body(tools=True)
    # the simulator counts attempts by the raw body bytes: attempt 2 proves byte identity
    assert [e["data"]["attempt"] for e in journal_of(sim, "rule")] == [1, 2]
    (refused,) = journal_of(sim, "http_error")
    assert (refused["exchange"], refused["data"]["status"]) == (1, 500)

    cid = completion_id(sim, 2)
    assert chunks == [text_chunk(cid, "Sunny."), usage_chunk(cid, server_usage(sim, 2))]

    (error,) = events.errors
    assert error.recoverable is True
    assert isinstance(error.error, upstream.APIStatusError)
    assert error.error.status_code == 500
    assert error.error.retryable is True
    assert error.error.body == {
        "message": "simulated HTTP 500",
        "type": "server_error",
        "code": 500,
    }
    assert [m.request_id for m in events.metrics] == [cid]
    assert upstream_warnings(caplog) == [
        "WARNING livekit.agents: failed to generate LLM completion: "
        f"{error.error}, retrying in 0.1s"
    ]
    # upstream sleeps 0.1 s before its first retry. The lower bound is safe (a sleep does not end
    # early beyond clock granularity); the upper bound is loose because a loaded CI box may
    # stall the loop, and only catches waiting the 2 s retry_interval by mistake.
    gap = second["t"] - first["t"]
    assert 0.09 <= gap < 1.5


@pytest.mark.spec("AUTH-4", "RETRY-3", "RETRY-5")
async def test_wrong_secret_is_refused_and_not_retried(start_simulator, upstream_llm) -> None:
    """A token signed with the wrong secret gets 401 before any stream; upstream treats the 4xx
    as final (one request, one non-recoverable error) even with retries allowed."""
    sim = await start_simulator(parse_scenario({"name": "auth", "on_unmatched": "echo"}))
    client = upstream_llm(sim, api_secret="not-the-simulator-secret-0123456789abcdef")
    events = Recorder(client)

    with pytest.raises(upstream.APIStatusError) as raised:
        await collect(client, max_retry=2)

    assert raised.value.status_code == 401
    assert raised.value.retryable is False
    assert raised.value.body["type"] == "authentication_error"
    assert raised.value.body["code"] == 401
    assert [(e.recoverable, e.error) for e in events.errors] == [(False, raised.value)]
    (refused,) = journal_of(sim, "http_error")
    assert refused["data"]["status"] == 401
    # refused before the request was accepted: no request entry, nothing streamed
    assert journal_of(sim, "http_request") == []
    assert journal_of(sim, "sse_event") == []


@pytest.mark.parametrize(
    "ending",
    [{"finish_reason": "length"}, {"finish_reason": "content_filter"}, {"finish": False}],
    ids=["length", "content_filter", "no_finish"],
)
async def test_known_upstream_behaviour_pending_call_dropped(
    start_simulator, upstream_llm, ending: dict[str, Any]
) -> None:
    """Known upstream 1.8.9 behaviour, NOT SPEC-conformant (LLM-TC-3): a tool call whose header
    and arguments arrived is silently dropped when the stream ends with ``finish_reason``
    ``length`` / ``content_filter`` or with no finish chunk. The text and usage still arrive,
    and no error is raised or emitted. This pins our understanding of upstream."""
    assert upstream.__version__ == UPSTREAM_VERSION, "this behaviour is pinned for 1.8.9"
    sim = await start_simulator(
        parse_scenario(
            {
                "name": "truncated",
                "rules": [
                    {
                        "reply": {
                            "content": "Checking.",
                            "tool_calls": [
                                {
                                    "name": "get_weather",
                                    "arguments": {"location": "Paris"},
                                    "id": "call_pending",
                                }
                            ],
                            "fragmentation": {"strategy": "whole"},
                            **ending,
                        }
                    }
                ],
            }
        )
    )
    client = upstream_llm(sim)
    events = Recorder(client)

    chunks = await collect(client, max_retry=0)

    # the call was on the wire, whole ...
    fragments = tool_call_fragments(sim, 1)
    assert fragments[0]["id"] == "call_pending"
    assert "".join(f["function"]["arguments"] for f in fragments) == '{"location": "Paris"}'
    finishes = [c["finish_reason"] for p in streamed(sim, 1) for c in p["choices"]]
    assert [f for f in finishes if f is not None] == [ending.get("finish_reason")] * ending.get(
        "finish", True
    )
    # ... and upstream emitted only the text and the usage
    cid = completion_id(sim, 1)
    assert chunks == [text_chunk(cid, "Checking."), usage_chunk(cid, server_usage(sim, 1))]
    assert events.errors == []
