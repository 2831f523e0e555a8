"""``simulators.respx_llm``: the LLM simulator in-process, checked against the socket simulator.

The promise is parity: for one scenario, a client sees the same thing whether the simulator
runs behind a loopback socket (``SimulatorServer``) or inside respx. Each parity test runs the
same client code twice, against a fresh simulator each time, and compares what came out
(ChatChunks, errors, error events) and what the simulator decided (rule and attempt notes).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from voicewire.reference.auth import create_access_token
from voicewire.reference.errors import APIConnectOptions, APIError, APIStatusError, APITimeoutError
from voicewire.reference.llm import ChatContext, function_tool
from voicewire.reference.llm.chat_chunk import ChatChunk
from voicewire.reference.llm.inference import LLM, LLMErrorEvent
from voicewire.simulators import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    Credentials,
    Limits,
    RespxLLM,
    Scenario,
    SimulatorServer,
    parse_scenario,
    respx_llm,
)
from voicewire.simulators.core.journal import Journal
from voicewire.simulators.llm import MODELS

MODEL = "openai/gpt-4.1-mini"
GATEWAY = "https://agent-gateway.livekit.cloud/v1"


@function_tool
def get_weather(location: str) -> str:
    """Look up the weather.

    Args:
        location: the city
    """
    return "sunny"


@function_tool
def lookup_order(order_id: str) -> str:
    """Find an order.

    Args:
        order_id: the order number
    """
    return "shipped"


TOOLS = [get_weather, lookup_order]
TWO_CALLS = [
    {"name": "get_weather", "arguments": {"location": "Paris"}},
    {"name": "lookup_order", "arguments": {"order_id": "A-1"}},
]


def user_ctx(text: str = "hello") -> ChatContext:
    ctx = ChatContext()
    ctx.add_message(role="user", content=text)
    return ctx


def scripted(reply: dict[str, Any], **rule: Any) -> Scenario:
    return parse_scenario(
        {"name": "parity", "time_scale": 0.01, "rules": [{"reply": reply, **rule}]}
    )


@dataclass
class Outcome:
    """What one ``chat()`` gave the consumer, and what the simulator decided for it."""

    chunks: list[ChatChunk]
    error: tuple[type[BaseException], bool] | None  # (type, retryable)
    events: list[bool]  # recoverable flag of each ``error`` event
    decisions: list[Any]  # the journal's rule notes: which rule, which attempt
    statuses: list[int]  # the journal's http_error statuses


def decisions(journal: Journal) -> tuple[list[Any], list[int]]:
    entries = journal.entries()
    return (
        [e["data"] for e in entries if e["kind"] == "rule"],
        [e["data"]["status"] for e in entries if e["kind"] == "http_error"],
    )


async def chat_once(
    base_url: str,
    journal: Journal,
    *,
    tools: Any = None,
    conn_options: APIConnectOptions | None = None,
    credentials: tuple[str, str] | None = None,
) -> Outcome:
    """One reference ``LLM.chat()`` against ``base_url``; the simulator's view from ``journal``."""
    key, secret = credentials or (DEFAULT_API_KEY, DEFAULT_API_SECRET)
    llm = LLM(MODEL, base_url=base_url, api_key=key, api_secret=secret, time_scale=0.01)
    events: list[LLMErrorEvent] = []
    llm.on("error", events.append)
    chunks: list[ChatChunk] = []
    error: tuple[type[BaseException], bool] | None = None
    options = {"conn_options": conn_options} if conn_options is not None else {}
    try:
        async with llm.chat(chat_ctx=user_ctx(), tools=tools, **options) as stream:
            async for chunk in stream:
                chunks.append(chunk)
    except APIError as exc:
        error = (type(exc), exc.retryable)
    finally:
        await llm.aclose()
    rules, statuses = decisions(journal)
    return Outcome(chunks, error, [e.recoverable for e in events], rules, statuses)


async def both_ways(scenario: Scenario, **kwargs: Any) -> tuple[Outcome, Outcome]:
    """The same chat against a socket simulator and against respx_llm, fresh state each."""
    async with SimulatorServer(scenario) as server:
        over_socket = await chat_once(server.base_url + "/v1", server.journal, **kwargs)
    async with respx_llm(scenario) as sim:
        in_process = await chat_once(sim.base_url, sim.journal, **kwargs)
    return over_socket, in_process


# -- parity with the socket simulator ----------------------------------------------------------

PARITY = {
    "tools-interleaved-per-char": scripted(
        {
            "content": "Let me check.",
            "tool_calls": TWO_CALLS,
            "fragmentation": {"strategy": "per_char", "tool_calls": "interleaved"},
        }
    ),
    "random-fragments-unicode": scripted(
        {
            "content": "Grüße, 世界! 🌍 done",
            "tool_calls": TWO_CALLS[:1],
            "fragmentation": {"strategy": "random", "size": 5, "seed": 7},
        }
    ),
    "calls-in-one-delta": scripted(
        {"tool_calls": TWO_CALLS, "fragmentation": {"strategy": "whole", "tool_calls": "one_delta"}}
    ),
    "calls-in-finish-chunk": scripted(
        {
            "content": "ok",
            "tool_calls": TWO_CALLS,
            "fragmentation": {"strategy": "fixed", "size": 3, "tool_calls": "in_finish"},
        }
    ),
    "reasoning": scripted(
        {
            "reasoning": "the user wants a greeting",
            "content": "Hi there!",
            "fragmentation": {"strategy": "fixed", "size": 3},
        }
    ),
    "usage": scripted(
        {
            "content": "counted",
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "cached_tokens": 3},
        }
    ),
    "timed-and-byte-split": scripted(
        {"content": "slowly, in odd pieces"},
        timing={"ttft": 0.5, "inter_chunk": 0.1},
        faults=[{"kind": "byte_split", "sizes": [3, 7, 1]}],
    ),
    "status-503-on-attempt-1": scripted(
        {"content": "second time lucky"},
        faults=[{"kind": "status", "attempt": 1, "code": 503, "retry_after": 0}],
    ),
    "reset-on-attempt-1": scripted(
        {"content": "after a reset"},
        faults=[{"kind": "disconnect", "attempt": 1, "at_event": 0, "mode": "reset"}],
    ),
    "malformed-on-attempt-1": scripted(
        {"content": "after garbage"},
        faults=[{"kind": "malformed", "attempt": 1, "at_event": 1}],
    ),
    "duplicate-and-drop": scripted(
        {"content": "abcdefgh", "fragmentation": {"strategy": "fixed", "size": 2}},
        faults=[{"kind": "duplicate", "at_event": 1}, {"kind": "drop", "at_event": 3}],
    ),
}


@pytest.mark.spec("LLM-SSE-1", "LLM-TXT-1", "LLM-TXT-2", "LLM-TC-1", "LLM-USG-1", "RETRY-4")
@pytest.mark.parametrize("name", list(PARITY))
async def test_reference_llm_sees_the_same_chunks_in_process_and_over_a_socket(name):
    over_socket, in_process = await both_ways(PARITY[name], tools=TOOLS)

    assert in_process.chunks == over_socket.chunks
    assert in_process.error == over_socket.error is None
    assert in_process.events == over_socket.events
    assert in_process.decisions == over_socket.decisions
    assert in_process.statuses == over_socket.statuses
    # Not vacuous: every scenario ends in a usage chunk after visible output.
    assert any(c.has_response for c in in_process.chunks)
    assert in_process.chunks[-1].usage is not None


@pytest.mark.spec("RETRY-4", "RETRY-5", "RETRY-7")
async def test_fault_on_attempt_1_is_retried_identically():
    over_socket, in_process = await both_ways(PARITY["status-503-on-attempt-1"], tools=TOOLS)
    # One failed attempt (recoverable), then attempt 2 of the byte-identical body answered.
    for outcome in (over_socket, in_process):
        assert outcome.events == [True]
        assert [d["attempt"] for d in outcome.decisions] == [1, 2]
        assert outcome.statuses == [503]


@pytest.mark.spec("RETRY-1", "RETRY-2")
async def test_failure_after_visible_output_is_the_same_error_both_ways():
    scenario = scripted(
        {"content": "abcdefgh", "fragmentation": {"strategy": "fixed", "size": 4}},
        faults=[{"kind": "disconnect", "at_event": 2, "mode": "reset"}],  # after "efgh"
    )
    over_socket, in_process = await both_ways(scenario)
    assert in_process.error == over_socket.error
    assert in_process.error is not None and in_process.error[1] is False  # not retryable
    assert "".join(c.delta.content or "" for c in in_process.chunks if c.delta) == "abcdefgh"
    assert in_process.chunks == over_socket.chunks


@pytest.mark.spec("RETRY-1")
async def test_stall_beyond_the_read_timeout_is_a_timeout_both_ways():
    # The stall is 30 s x 0.01 = 0.3 s, the client's timeout 0.1 s: the client gives up first
    # (the socket server's handler then sleeps out the stall before the server can stop).
    scenario = scripted(
        {"content": "never"}, faults=[{"kind": "stall", "at_event": 1, "seconds": 30}]
    )
    options = APIConnectOptions(max_retry=0, timeout=0.1)
    over_socket, in_process = await both_ways(scenario, conn_options=options)
    assert over_socket.error == in_process.error == (APITimeoutError, True)
    assert in_process.chunks == over_socket.chunks == []


@pytest.mark.spec("LLM-TXT-1", "LLM-TC-1", "LLM-TC-2")
@settings(max_examples=10)  # each example is two real exchanges, one of them over a socket
@given(
    content=st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="<"),
        max_size=20,
    ),
    calls=st.integers(0, 2),
    strategy=st.sampled_from(["whole", "per_char", "fixed", "random"]),
    size=st.integers(1, 6),
    seed=st.integers(0, 1000),
    layout=st.sampled_from(["sequential", "one_delta", "in_finish", "interleaved"]),
    split=st.none() | st.lists(st.integers(1, 9), min_size=1, max_size=3),
)
async def test_any_fragmentation_gives_the_same_chunks_both_ways(
    content, calls, strategy, size, seed, layout, split
):
    scenario = scripted(
        {
            "content": content,
            "tool_calls": TWO_CALLS[:calls],
            "fragmentation": {
                "strategy": strategy,
                "size": size,
                "seed": seed,
                "tool_calls": layout,
            },
        },
        faults=[{"kind": "byte_split", "sizes": split}] if split else [],
    )
    over_socket, in_process = await both_ways(scenario, tools=TOOLS)
    assert in_process.chunks == over_socket.chunks
    assert in_process.error == over_socket.error is None


# -- the raw openai SDK ------------------------------------------------------------------------


def openai_client(sim: RespxLLM, **kwargs: Any) -> openai.AsyncClient:
    token = create_access_token(sim.api_key, sim.api_secret)
    return openai.AsyncClient(base_url=sim.base_url, api_key=token, max_retries=0, **kwargs)


MESSAGES = [{"role": "user", "content": "what is the weather in Paris?"}]
TOOL_REPLY = scripted(
    {
        "content": "Checking.",
        "tool_calls": TWO_CALLS,
        "fragmentation": {"strategy": "fixed", "size": 5, "tool_calls": "interleaved"},
    }
)


async def stream_with_sdk(client: openai.AsyncClient) -> tuple[str, dict[int, list[str]]]:
    """Streamed content, and the argument fragments per tool-call index."""
    stream = await client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    text = ""
    fragments: dict[int, list[str]] = {}
    async for chunk in stream:
        for choice in chunk.choices:
            text += choice.delta.content or ""
            for call in choice.delta.tool_calls or []:
                fragments.setdefault(call.index, []).append(call.function.arguments or "")
    return text, fragments


@pytest.mark.spec("LLM-SSE-1", "LLM-SSE-3")
@pytest.mark.parametrize("http", ["httpx2", "httpx"], ids=["default-client", "httpx-client"])
async def test_raw_openai_sdk_streams_in_process(http):
    # openai >= 3 talks httpx2 by default; an httpx client given by the user goes through
    # respx's own httpcore mocker. Both must be intercepted.
    extra = {"http_client": httpx.AsyncClient()} if http == "httpx" else {}
    async with respx_llm(TOOL_REPLY) as sim:
        client = openai_client(sim, **extra)
        try:
            text, fragments = await stream_with_sdk(client)
        finally:
            await client.close()
    assert text == "Checking."
    assert ["".join(fragments[i]) for i in sorted(fragments)] == [
        json.dumps(call["arguments"]) for call in TWO_CALLS
    ]
    assert [e["kind"] for e in sim.journal.entries()][:3] == [
        "http_request",
        "rule",
        "http_response",
    ]


@pytest.mark.spec("LLM-SSE-2")
async def test_non_streamed_completion_and_models_match_the_socket():
    scenario = scripted(
        {"content": "whole", "tool_calls": TWO_CALLS[:1], "usage": {"cached_tokens": 2}},
        timing={"ttft": 0.5},
    )
    answers = []
    async with SimulatorServer(scenario) as server:
        token = create_access_token(server.api_key, server.api_secret)
        client = openai.AsyncClient(base_url=server.base_url + "/v1", api_key=token, max_retries=0)
        try:
            completion = await client.chat.completions.create(model=MODEL, messages=MESSAGES)
            models = await client.models.list()
        finally:
            await client.close()
        answers.append((completion.model_dump(exclude={"created"}), [m.id for m in models.data]))
    async with respx_llm(scenario) as sim:
        client = openai_client(sim)
        try:
            completion = await client.chat.completions.create(model=MODEL, messages=MESSAGES)
            models = await client.models.list()
        finally:
            await client.close()
        answers.append((completion.model_dump(exclude={"created"}), [m.id for m in models.data]))
    assert answers[0] == answers[1]
    assert answers[1][1] == list(MODELS)
    assert answers[1][0]["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == (
        "get_weather"
    )


@pytest.mark.spec("LLM-SSE-5")
async def test_raw_openai_sdk_sees_a_scripted_status():
    scenario = scripted(
        {"content": "x"}, faults=[{"kind": "status", "code": 429, "retry_after": 3}]
    )
    async with respx_llm(scenario) as sim:
        client = openai_client(sim)
        try:
            with pytest.raises(openai.RateLimitError) as caught:
                await client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
        finally:
            await client.close()
    assert caught.value.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "3"
    assert caught.value.body["code"] == 429  # openai unwraps {"error": {...}}


def test_sync_clients_work_in_the_sync_context_manager():
    scenario = scripted(
        {"content": "synchronous", "fragmentation": {"strategy": "fixed", "size": 4}},
        timing={"inter_chunk": 0.1},  # x 0.01: the sync body really sleeps between chunks
    )
    with respx_llm(scenario) as sim:
        token = create_access_token(sim.api_key, sim.api_secret)
        client = openai.Client(base_url=sim.base_url, api_key=token, max_retries=0)
        try:
            stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
            text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        finally:
            client.close()
        with httpx.Client() as plain:
            models = plain.get(
                f"{sim.base_url}/models", headers={"Authorization": f"Bearer {token}"}
            )
    assert text == "synchronous"
    assert models.status_code == 200
    assert [m["id"] for m in models.json()["data"]] == list(MODELS)
    assert sum(e["kind"] == "sleep" for e in sim.journal.entries()) > 0


# -- authentication and error answers ----------------------------------------------------------


@pytest.mark.spec("AUTH-4")
async def test_a_bad_token_is_401_in_process_too():
    credentials = Credentials(keys={"k1": "s" * 32})
    async with respx_llm(credentials=credentials) as sim:
        llm = LLM(MODEL, base_url=sim.base_url, api_key="k1", api_secret="t" * 32)
        try:
            with pytest.raises(APIStatusError) as caught:
                await llm.chat(chat_ctx=user_ctx()).collect()
        finally:
            await llm.aclose()
        async with httpx.AsyncClient() as plain:
            no_token = await plain.get(f"{sim.base_url}/models")
    assert caught.value.status_code == 401
    assert caught.value.retryable is False
    [refusal] = [e for e in sim.journal.entries() if e["kind"] == "http_error"]
    assert refusal["data"]["status"] == 401
    assert json.loads(refusal["data"]["body"])["error"]["type"] == "authentication_error"
    assert not [e for e in sim.journal.entries() if e["kind"] == "http_request"]
    assert no_token.status_code == 401
    assert no_token.json()["error"] == {
        "message": no_token.json()["error"]["message"],
        "type": "authentication_error",
        "code": 401,
    }


ERROR_REQUESTS = {
    "no-token": ({}, {"model": MODEL, "messages": MESSAGES}),
    "wrong-type": ({}, {"model": MODEL, "messages": MESSAGES, "temperature": "hot"}),
    "non-string-text-part": (
        {},
        {"model": MODEL, "messages": [{"role": "user", "content": [{"type": "text", "text": 1}]}]},
    ),
    "unknown-scenario": ({"X-Voicewire-Scenario": "nope"}, {"model": MODEL, "messages": MESSAGES}),
    "invalid-body": ({}, {"model": "", "messages": MESSAGES}),
    "unmatched-rule": ({}, {"model": "other/model", "messages": MESSAGES}),
}


@pytest.mark.spec("AUTH-4", "LLM-SSE-5", "SRV-1")
@pytest.mark.parametrize("case", list(ERROR_REQUESTS))
async def test_error_answers_match_the_socket(case):
    headers, body = ERROR_REQUESTS[case]
    scenario = parse_scenario({"name": "strict", "rules": [{"match": {"model": re.escape(MODEL)}}]})

    async def post(client: httpx.AsyncClient, base_url: str, creds: Credentials) -> Any:
        key, secret = next(iter(creds.keys.items()))
        auth = (
            {}
            if case == "no-token"
            else {"Authorization": f"Bearer {create_access_token(key, secret)}"}
        )
        response = await client.post(
            f"{base_url}/chat/completions", json=body, headers={**auth, **headers}
        )
        return response.status_code, response.json()

    async with SimulatorServer(scenario) as server, httpx.AsyncClient() as client:
        over_socket = await post(client, server.base_url + "/v1", server.credentials)
    async with respx_llm(scenario) as sim, httpx.AsyncClient() as client:
        in_process = await post(client, sim.base_url, sim.credentials)
    assert in_process == over_socket
    assert in_process[0] in (400, 401, 404)


# -- routing: what is intercepted and what is not ----------------------------------------------


async def test_other_urls_pass_through_and_unknown_gateway_paths_do_not():
    # Decision: URLs outside base_url pass through to the network (so socket simulators keep
    # working next to respx_llm); URLs under base_url never leave the process.
    async with SimulatorServer() as server, respx_llm() as sim, httpx.AsyncClient() as client:
        # A real socket, reached while respx is active, by httpx and by openai (httpx2).
        health = await client.get(f"{server.base_url}/__voicewire/health")
        over_socket = await chat_once(server.base_url + "/v1", server.journal)
        # Under the simulated base URL: answered in-process, never sent to the network.
        unknown = await client.get(f"{sim.base_url}/embeddings")
        wrong_method = await client.get(f"{sim.base_url}/chat/completions")
    assert health.status_code == 200 and health.json() == {"ok": True}
    assert over_socket.chunks and len(over_socket.decisions) == 1
    assert sim.journal.entries() == []
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == 404
    assert wrong_method.status_code == 405 and wrong_method.headers["Allow"] == "POST"


async def test_interception_starts_and_ends_with_the_context():
    # Point respx_llm at a real socket simulator: inside the context requests never reach it,
    # after the context they do.
    async with SimulatorServer() as server:
        base_url = server.base_url + "/v1"
        with respx_llm(base_url=base_url) as sim:
            assert sim.active
            inside = await chat_once(base_url, sim.journal)
        assert not sim.active
        after = await chat_once(base_url, server.journal)
    assert inside.chunks and after.chunks
    assert len(inside.decisions) == 1 and len(after.decisions) == 1
    assert len(server.journal.entries(exchange=1)) > 0
    request = next(e for e in sim.journal.entries() if e["kind"] == "http_request")
    assert request["data"]["path"] == "/v1/chat/completions"


async def test_scenario_chosen_by_header_and_by_key():
    echo, scripted_answer = Scenario.echo("echo"), scripted({"content": "scripted"})
    credentials = Credentials(
        keys={"k-echo": "a" * 32, "k-scripted": "b" * 32},
        scenario_for_key={"k-scripted": "parity"},
    )
    async with respx_llm(echo, credentials=credentials) as sim:
        sim.load(scripted_answer)
        by_key = await chat_once(sim.base_url, sim.journal, credentials=("k-scripted", "b" * 32))
        by_default = await chat_once(sim.base_url, sim.journal, credentials=("k-echo", "a" * 32))
    text = [
        "".join(c.delta.content or "" for c in o.chunks if c.delta) for o in (by_key, by_default)
    ]
    assert text == ["scripted", "You said: hello"]
    assert sim.state.usage["k-scripted"]["requests"] == 1


# -- construction ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "names"),
    [
        ({"scenario": {"name": "x"}}, TypeError, "scenario"),
        ({"credentials": {"k": "s"}}, TypeError, "credentials"),
        ({"time_scale": True}, TypeError, "time_scale"),
        ({"time_scale": -1}, ValueError, "time_scale"),
        ({"base_url": "/v1"}, ValueError, "base_url"),
        ({"base_url": "ftp://example.com/v1"}, ValueError, "base_url"),
        ({"base_url": "https://example.com/v1?x=1"}, ValueError, "base_url"),
        ({"base_url": 3}, TypeError, "base_url"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, names):
    with pytest.raises(error, match=names):
        respx_llm(**kwargs)


@pytest.mark.spec("SRV-4")
async def test_limits_apply_in_process_as_on_the_socket():
    limits = Limits(max_body_bytes=500, max_json_depth=8, journal_body_bytes=64)
    padded = json.dumps({"model": MODEL, "messages": MESSAGES}).encode().ljust(501)
    deep = json.dumps({"model": MODEL, "messages": MESSAGES, "x": [[[[[[[[]]]]]]]]}).encode()
    answers = []
    for simulator in (SimulatorServer(limits=limits), None):
        if simulator is not None:
            async with simulator as sim, httpx.AsyncClient() as client:
                answers.append(await _post_raw(client, sim.base_url + "/v1", padded, deep))
        else:
            async with respx_llm(limits=limits) as sim, httpx.AsyncClient() as client:
                answers.append(await _post_raw(client, sim.base_url, padded, deep))
                [request] = [e for e in sim.journal.entries() if e["kind"] == "http_request"]
    assert answers[0] == answers[1]
    (too_large, too_deep) = answers[1]
    assert too_large[0] == 413 and too_deep[0] == 400
    assert "deeper than 8 levels" in too_deep[1]["error"]["message"]
    # The journal keeps bounded bytes and the token's claims in-process too.
    assert request["data"]["truncated"] is True and request["data"]["body_length"] == len(deep)
    assert request["data"]["token"]["claims"]["iss"] == DEFAULT_API_KEY


async def _post_raw(client: httpx.AsyncClient, base_url: str, *bodies: bytes) -> list[Any]:
    token = create_access_token(DEFAULT_API_KEY, DEFAULT_API_SECRET)
    answers = []
    for body in bodies:
        response = await client.post(
            f"{base_url}/chat/completions",
            content=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        answers.append((response.status_code, response.json()))
    return answers


def test_entering_twice_is_refused():
    sim = respx_llm()
    with sim, pytest.raises(RuntimeError, match="already active"):
        sim.start()
    assert not sim.active
    assert sim.base_url == GATEWAY
