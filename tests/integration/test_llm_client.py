"""The reference LLM client against the LLM simulator over real loopback sockets.

What the client sends (LLM-REQ-*, AUTH-1..3) is read back from the simulator's journal, or
from the raw ``Authorization`` header for token checks (the journal redacts tokens). What the
client emits is compared with the scripted reply and with the SSE bytes the simulator wrote.
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

import jwt
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st
from voicewire.reference.auth import verify_access_token
from voicewire.reference.llm import (
    ChatContext,
    FunctionCall,
    FunctionCallOutput,
    NamedToolChoice,
    ToolContext,
    function_tool,
)
from voicewire.reference.llm.chat_chunk import ChatChunk, CompletionUsage, FunctionToolCall
from voicewire.reference.llm.inference import LLM, LLMStream
from voicewire.reference.llm.wire import decode_payload, strict_framing
from voicewire.simulators import Scenario, SimulatorServer, parse_scenario
from voicewire.simulators.core.state import derive_id
from voicewire.simulators.llm import COMPLETION_ID_PREFIX
from voicewire.suites.strategies import tool_arguments

MODEL = "openai/gpt-4.1-mini"


# -- helpers -----------------------------------------------------------------------------------


def user_ctx(text: str = "hello") -> ChatContext:
    ctx = ChatContext()
    ctx.add_message(role="user", content=text)
    return ctx


def scripted(reply: dict[str, Any], *, name: str = "scripted", **rule: Any) -> Scenario:
    """A scenario with one catch-all rule answering ``reply``."""
    return parse_scenario({"name": name, "time_scale": 0.01, "rules": [{"reply": reply, **rule}]})


def requests_of(sim: SimulatorServer) -> list[dict[str, Any]]:
    """The ``http_request`` journal entries' data, oldest first."""
    return [e["data"] for e in sim.journal.entries() if e["kind"] == "http_request"]


# The id of the first completion of the "scripted" scenario under seed 0.
FIRST_ID = COMPLETION_ID_PREFIX + derive_id(0, "scripted", "completion", 1)


def header(request: dict[str, Any], name: str) -> str | None:
    """A request header from the journal, looked up case-insensitively."""
    values = [v for k, v in request["headers"].items() if k.lower() == name.lower()]
    return values[0] if values else None


def server_events(sim: SimulatorServer, exchange: int | None = None) -> list[Any]:
    """The SSE events the simulator wrote, parsed: chunk dicts, and ``"[DONE]"``."""
    written = "".join(
        e["data"] for e in sim.journal.entries(exchange=exchange) if e["kind"] == "sse_event"
    )
    payloads, problems = strict_framing(written.encode())
    assert problems == [], problems
    return [p if p == "[DONE]" else decode_payload(p) for p in payloads]


def server_content(events: list[Any]) -> str:
    """The concatenation of every content delta the server sent."""
    return "".join(
        choice["delta"].get("content") or ""
        for event in events
        if isinstance(event, dict)
        for choice in event["choices"]
    )


async def collect(stream: LLMStream) -> list[ChatChunk]:
    async with stream:
        return await stream.collect()


def text_of(chunks: list[ChatChunk]) -> str:
    return "".join(c.delta.content or "" for c in chunks if c.delta is not None)


def calls_of(chunks: list[ChatChunk]) -> list[FunctionToolCall]:
    return [call for c in chunks if c.delta is not None for call in c.delta.tool_calls]


def assert_usage_last(chunks: list[ChatChunk], expected: CompletionUsage) -> None:
    """Exactly one usage chunk, after every content and tool-call chunk (LLM-USG-1)."""
    usage_positions = [i for i, c in enumerate(chunks) if c.usage is not None]
    assert usage_positions == [len(chunks) - 1]
    assert chunks[-1].usage == expected
    assert chunks[-1].delta is None or not chunks[-1].has_response


def is_strict_object_tree(schema: Any) -> bool:
    """Every object schema in the tree forbids extra keys and requires every property."""
    if isinstance(schema, list):
        return all(is_strict_object_tree(item) for item in schema)
    if not isinstance(schema, dict):
        return True
    if schema.get("type") == "object":
        if schema.get("additionalProperties") is not False:
            return False
        if schema.get("required") != list(schema.get("properties", {})):
            return False
    return all(is_strict_object_tree(value) for value in schema.values())


@function_tool
async def get_weather(location: str, unit: Literal["c", "f"] = "c") -> str:
    """Get the current weather.

    Args:
        location: the city
        unit: the temperature unit
    """
    return f"sunny in {location}"


LOOKUP_SCHEMA = {
    "name": "lookup_order",
    "description": "Find an order.",
    "parameters": {
        "type": "object",
        "properties": {"order_id": {"type": "string"}},
        "required": ["order_id"],
        "additionalProperties": False,
    },
}


@function_tool(raw_schema=LOOKUP_SCHEMA)
async def lookup_order(raw_arguments: dict[str, Any]) -> str:
    return "shipped"


# -- request shape (LLM-REQ-1..5) --------------------------------------------------------------


@pytest.mark.spec("LLM-REQ-1", "LLM-REQ-2", "LLM-REQ-3", "LLM-REQ-4")
async def test_request_has_model_stream_options_and_openai_messages_and_nothing_else(
    start_simulator, make_llm
):
    sim = await start_simulator()
    llm = make_llm(sim, model="google/gemini-2.5-flash")
    ctx = ChatContext()
    ctx.add_message(role="system", content="Be brief.")
    ctx.add_message(role="user", content="weather in Paris?")
    ctx.insert(FunctionCall(call_id="c1", name="get_weather", arguments='{"location":"Paris"}'))
    ctx.insert(FunctionCallOutput(call_id="c1", name="get_weather", output="sunny"))

    chunks = await collect(llm.chat(chat_ctx=ctx))

    [request] = requests_of(sim)
    assert request["method"] == "POST"
    assert request["path"] == "/v1/chat/completions"
    assert request["body"] == {
        "model": "google/gemini-2.5-flash",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "weather in Paris?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"location":"Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        ],
    }
    # Echo mode reports the tool result, proving the simulator read the same messages.
    assert text_of(chunks) == "The tool returned: sunny"


@pytest.mark.spec("LLM-REQ-2", "LLM-REQ-3", "LLM-REQ-4")
@pytest.mark.parametrize("no_tools", [None, [], ToolContext.empty()], ids=["none", "list", "ctx"])
async def test_without_tools_no_tools_key_and_no_tool_options(start_simulator, make_llm, no_tools):
    sim = await start_simulator()
    llm = make_llm(sim)
    await collect(
        llm.chat(
            chat_ctx=user_ctx(), tools=no_tools, tool_choice="required", parallel_tool_calls=True
        )
    )
    [request] = requests_of(sim)
    for key in ("tools", "tool_choice", "parallel_tool_calls"):
        assert key not in request["body"]


@pytest.mark.spec("LLM-REQ-2")
async def test_tools_are_sent_as_strict_function_objects_and_raw_schemas(start_simulator, make_llm):
    sim = await start_simulator()
    llm = make_llm(sim)
    await collect(llm.chat(chat_ctx=user_ctx(), tools=[get_weather, lookup_order]))

    [request] = requests_of(sim)
    weather, lookup = request["body"]["tools"]
    assert weather == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather.",
            "strict": True,
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {"type": "string", "description": "the city"},
                    "unit": {
                        "anyOf": [{"type": "string", "enum": ["c", "f"]}, {"type": "null"}],
                        "description": "the temperature unit",
                    },
                },
                "required": ["location", "unit"],
                "additionalProperties": False,
            },
        },
    }
    assert is_strict_object_tree(weather["function"]["parameters"])
    assert lookup == {"type": "function", "function": LOOKUP_SCHEMA}


@pytest.mark.spec("LLM-REQ-3")
@pytest.mark.parametrize(
    ("tool_choice", "expected"),
    [
        (NamedToolChoice("get_weather"), {"type": "function", "function": {"name": "get_weather"}}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            {"type": "function", "function": {"name": "get_weather"}},
        ),
        ("auto", "auto"),
        ("required", "required"),
        ("none", "none"),
    ],
    ids=["named", "named-dict", "auto", "required", "none"],
)
async def test_tool_choice_shapes(start_simulator, make_llm, tool_choice, expected):
    sim = await start_simulator()
    llm = make_llm(sim)
    await collect(llm.chat(chat_ctx=user_ctx(), tools=[get_weather], tool_choice=tool_choice))
    [request] = requests_of(sim)
    assert request["body"]["tool_choice"] == expected


@pytest.mark.spec("LLM-REQ-3", "LLM-REQ-4")
@pytest.mark.parametrize("parallel", [None, True, False])
async def test_parallel_tool_calls_only_when_given(start_simulator, make_llm, parallel):
    sim = await start_simulator()
    llm = make_llm(sim)
    await collect(llm.chat(chat_ctx=user_ctx(), tools=[get_weather], parallel_tool_calls=parallel))
    [request] = requests_of(sim)
    body = request["body"]
    assert "tool_choice" not in body  # not given: omitted even with tools
    if parallel is None:
        assert "parallel_tool_calls" not in body
    else:
        assert body["parallel_tool_calls"] is parallel


@pytest.mark.spec("LLM-REQ-4")
async def test_per_call_extra_kwargs_override_constructor_ones(start_simulator, make_llm):
    sim = await start_simulator()
    llm = make_llm(sim, extra_kwargs={"temperature": 0.2, "max_tokens": 50})
    await collect(llm.chat(chat_ctx=user_ctx(), extra_kwargs={"temperature": 0.9, "seed": 7}))
    await collect(llm.chat(chat_ctx=user_ctx()))
    overridden, plain = (r["body"] for r in requests_of(sim))
    assert overridden["temperature"] == 0.9
    assert overridden["max_tokens"] == 50
    assert overridden["seed"] == 7
    assert plain["temperature"] == 0.2
    assert plain["max_tokens"] == 50
    assert "seed" not in plain


@pytest.mark.spec("LLM-REQ-5")
@pytest.mark.parametrize("provider", ["openai", None])
async def test_provider_header_only_when_provider_set(start_simulator, make_llm, provider):
    sim = await start_simulator()
    llm = make_llm(sim, provider=provider)
    await collect(llm.chat(chat_ctx=user_ctx()))
    [request] = requests_of(sim)
    assert header(request, "X-LiveKit-Inference-Provider") == provider


# -- the bearer token (AUTH-1..3) --------------------------------------------------------------


@pytest.mark.spec("AUTH-1", "AUTH-2", "AUTH-3")
async def test_every_request_carries_a_valid_token_with_exact_claims(make_llm):
    seen: list[str | None] = []

    @web.middleware
    async def capture(request: web.Request, handler: Any) -> web.StreamResponse:
        # The journal redacts tokens, so they are read off the real request here.
        seen.append(request.headers.get("Authorization"))
        return await handler(request)

    # One failed attempt first, so a retry's token is checked as well as each chat()'s.
    scenario = scripted({"content": "ok"}, faults=[{"kind": "status", "code": 503, "attempt": 1}])
    sim = SimulatorServer(scenario)
    sim.app.middlewares.append(capture)
    async with sim:
        llm = make_llm(sim)
        before = time.time()
        first = await collect(llm.chat(chat_ctx=user_ctx("one")))
        second = await collect(llm.chat(chat_ctx=user_ctx("two")))
        after = time.time()

    assert text_of(first) == text_of(second) == "ok"
    assert len(seen) == 4  # chat one: 503 + retry; chat two: 503 + retry
    for value in seen:
        assert value is not None
        scheme, _, token = value.partition(" ")
        assert scheme == "Bearer"
        assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
        claims = jwt.decode(
            token, sim.api_secret, algorithms=["HS256"], options={"verify_nbf": False}
        )
        assert set(claims) == {"iss", "sub", "nbf", "exp", "inference"}
        assert claims["iss"] == sim.api_key
        assert claims["sub"] == "agent"
        assert isinstance(claims["nbf"], int)
        # Minted at request time (AUTH-3), not at construction: nbf is "now" in whole seconds.
        assert int(before) <= claims["nbf"] <= after
        assert claims["exp"] == claims["nbf"] + 600
        assert claims["inference"] == {"perform": True}
        assert verify_access_token(token, sim.credentials.keys).api_key == sim.api_key


# -- every fragmentation x every tool-call layout ----------------------------------------------

CONTENT = 'Héllo, wörld! 🌍 "quoted" \\ back\nslash <b>'
CALLS = [
    {"name": "get_weather", "arguments": {"location": "Zürich 🇨🇭", "note": 'say "hi"\n', "n": 3}},
    # Raw JSON text with escapes: cuts can land inside an escape sequence.
    {"name": "lookup_order", "arguments": '{"order_id": "caf\\u00e9 \\ud83d\\ude00", "x": [1, 2]}'},
    {"name": "end_call", "arguments": {}},
]
USAGE = {"prompt_tokens": 12, "completion_tokens": 34, "cached_tokens": 5}
EXPECTED_USAGE = CompletionUsage(
    completion_tokens=34, prompt_tokens=12, prompt_cached_tokens=5, total_tokens=46
)

STRATEGIES = [
    {"strategy": "whole"},
    {"strategy": "per_char"},
    {"strategy": "fixed", "size": 3},
    {"strategy": "random", "size": 5, "seed": 1},
    {"strategy": "random", "size": 9, "seed": 42},
]
LAYOUTS = ["sequential", "one_delta", "in_finish", "interleaved"]


def expected_arguments(call: dict[str, Any]) -> str:
    arguments = call["arguments"]
    return arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)


@pytest.mark.spec(
    "LLM-TXT-1",
    "LLM-TXT-2",
    "LLM-TC-1",
    "LLM-TC-2",
    "LLM-TC-4",
    "LLM-USG-1",
    "LLM-ORD-1",
    "LLM-SSE-1",
    "LLM-SSE-2",
    "LLM-SSE-3",
    "LLM-SSE-4",
)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "fragmentation", STRATEGIES, ids=lambda f: "-".join(str(v) for v in f.values())
)
async def test_every_fragmentation_and_layout_reassembles_exactly(
    start_simulator, make_llm, fragmentation, layout
):
    reply = {
        "content": CONTENT,
        "reasoning": "let me <think> about it",
        "tool_calls": CALLS,
        "usage": USAGE,
        "fragmentation": {**fragmentation, "tool_calls": layout},
    }
    sim = await start_simulator(scripted(reply))
    llm = make_llm(sim)

    chunks = await collect(llm.chat(chat_ctx=user_ctx(), tools=[get_weather]))

    events = server_events(sim)
    assert events[-1] == "[DONE]"
    completion_id = events[0]["id"]
    assert all(e["id"] == completion_id for e in events[:-1])
    # The client's text is the server's content with the thinking block removed.
    assert server_content(events) == "<think>let me <think> about it</think>" + CONTENT
    assert text_of(chunks) == CONTENT
    assert [(c.name, c.arguments, c.call_id) for c in calls_of(chunks)] == [
        (call["name"], expected_arguments(call), f"call_{n}") for n, call in enumerate(CALLS)
    ]
    assert {c.id for c in chunks} == {completion_id}
    assert_usage_last(chunks, EXPECTED_USAGE)
    # Only visible output and the usage chunk are emitted (LLM-TXT-1: empty deltas emit nothing).
    assert all(c.has_response for c in chunks[:-1])
    if fragmentation["strategy"] == "per_char":
        content_deltas = [
            e for e in events[:-1] if e["choices"] and e["choices"][0]["delta"].get("content")
        ]
        assert all(len(e["choices"][0]["delta"]["content"]) == 1 for e in content_deltas)


@pytest.mark.spec("LLM-TXT-1", "LLM-TC-1", "LLM-TC-2")
@settings(max_examples=10)  # each example is a real HTTP exchange
@given(
    content=st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="<"),
        max_size=30,
    ),
    arguments=st.lists(tool_arguments(), min_size=0, max_size=3),
    strategy=st.sampled_from(["whole", "per_char", "fixed", "random"]),
    size=st.integers(1, 6),
    seed=st.integers(0, 1000),
    layout=st.sampled_from(LAYOUTS),
)
async def test_any_content_and_arguments_survive_the_wire(
    content, arguments, strategy, size, seed, layout
):
    reply = {
        "content": content,
        "tool_calls": [{"name": f"tool_{n}", "arguments": a} for n, a in enumerate(arguments)],
        "fragmentation": {"strategy": strategy, "size": size, "seed": seed, "tool_calls": layout},
    }
    async with SimulatorServer(scripted(reply)) as sim:
        llm = LLM(
            MODEL, base_url=sim.base_url + "/v1", api_key=sim.api_key, api_secret=sim.api_secret
        )
        try:
            chunks = await collect(llm.chat(chat_ctx=user_ctx()))
        finally:
            await llm.aclose()
    assert text_of(chunks) == content
    assert [(c.name, c.arguments) for c in calls_of(chunks)] == [
        (f"tool_{n}", a) for n, a in enumerate(arguments)
    ]
    assert sum(c.usage is not None for c in chunks) == 1
    assert chunks[-1].usage is not None


# -- edge streams: LLM-TC-3, LLM-TC-4, LLM-TC-5, LLM-TXT-2 -------------------------------------

TWO_CALLS = [
    {"name": "get_weather", "arguments": {"location": "Paris"}},
    {"name": "lookup_order", "arguments": {"order_id": "A-1"}},
]


@pytest.mark.spec("LLM-TC-3", "LLM-USG-1")
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "ending",
    [{"finish_reason": "length"}, {"finish_reason": "content_filter"}, {"finish": False}],
    ids=["length", "content_filter", "no-finish-chunk"],
)
async def test_pending_calls_are_emitted_however_the_stream_ends(
    start_simulator, make_llm, ending, layout
):
    reply = {
        "content": "partial",
        "tool_calls": TWO_CALLS,
        "usage": USAGE,
        "fragmentation": {"strategy": "fixed", "size": 4, "tool_calls": layout},
        **ending,
    }
    sim = await start_simulator(scripted(reply))
    llm = make_llm(sim)
    chunks = await collect(llm.chat(chat_ctx=user_ctx()))

    finish_reasons = [
        e["choices"][0]["finish_reason"]
        for e in server_events(sim)
        if isinstance(e, dict) and e["choices"] and e["choices"][0]["finish_reason"]
    ]
    assert finish_reasons == ([ending["finish_reason"]] if "finish_reason" in ending else [])
    assert text_of(chunks) == "partial"
    assert [(c.name, c.arguments, c.call_id) for c in calls_of(chunks)] == [
        ("get_weather", '{"location": "Paris"}', "call_0"),
        ("lookup_order", '{"order_id": "A-1"}', "call_1"),
    ]
    assert_usage_last(chunks, EXPECTED_USAGE)


@pytest.mark.spec("LLM-TC-3", "LLM-TC-4")
@pytest.mark.parametrize("layout", LAYOUTS)
async def test_calls_without_id_are_still_separate_calls(start_simulator, make_llm, layout):
    reply = {
        "tool_calls": [{**call, "omit_id": True} for call in TWO_CALLS],
        "fragmentation": {"strategy": "per_char", "tool_calls": layout},
    }
    sim = await start_simulator(scripted(reply))
    llm = make_llm(sim)
    chunks = await collect(llm.chat(chat_ctx=user_ctx()))

    headers = [
        fragment
        for e in server_events(sim)[:-1]
        for choice in e["choices"]
        for fragment in choice["delta"].get("tool_calls") or []
        if "function" in fragment and "name" in fragment["function"]
    ]
    assert len(headers) == 2 and all("id" not in h for h in headers)
    calls = calls_of(chunks)
    assert [(c.name, c.arguments) for c in calls] == [
        ("get_weather", '{"location": "Paris"}'),
        ("lookup_order", '{"order_id": "A-1"}'),
    ]
    # SPEC allows an empty call_id or a generated one; generated ones must not collide.
    ids = [c.call_id for c in calls]
    assert all(i == "" for i in ids) or len(set(ids)) == 2


@pytest.mark.spec("LLM-TC-4")
@pytest.mark.parametrize("layout", ["sequential", "one_delta", "in_finish"])
async def test_a_new_id_on_a_reused_index_starts_a_new_call(start_simulator, make_llm, layout):
    reply = {
        "tool_calls": [
            {"name": "get_weather", "arguments": {"location": "Oslo"}, "id": "call_a", "index": 0},
            {"name": "end_call", "arguments": {"reason": "done"}, "id": "call_b", "index": 0},
        ],
        "fragmentation": {"strategy": "fixed", "size": 5, "tool_calls": layout},
    }
    sim = await start_simulator(scripted(reply))
    llm = make_llm(sim)
    chunks = await collect(llm.chat(chat_ctx=user_ctx()))
    assert [(c.call_id, c.name, c.arguments) for c in calls_of(chunks)] == [
        ("call_a", "get_weather", '{"location": "Oslo"}'),
        ("call_b", "end_call", '{"reason": "done"}'),
    ]


@pytest.mark.spec("LLM-TC-2", "LLM-TC-5", "LLM-TXT-1", "LLM-ORD-1")
async def test_text_sharing_a_delta_with_calls_and_finish_is_emitted(start_simulator, make_llm):
    # The planner never mixes text and calls in one delta, so the mixed chunk is injected as a
    # raw line in place of the finish chunk (event 3: role, "Hi ", header of call 0, finish).
    mixed = {
        "id": FIRST_ID,
        "object": "chat.completion.chunk",
        "created": 0,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "delta": {
                    "content": "there",
                    "tool_calls": [
                        {"index": 0, "function": {"arguments": '{"location": "Rome"}'}},
                        {
                            "index": 1,
                            "id": "call_x",
                            "type": "function",
                            "function": {"name": "end_call", "arguments": "{}"},
                        },
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": None,
    }
    reply = {
        "content": "Hi ",
        "tool_calls": [{"name": "get_weather", "arguments": ""}],
        "fragmentation": {"strategy": "whole"},
        "usage": False,
    }
    line = "data: " + json.dumps(mixed)
    sim = await start_simulator(
        scripted(reply, faults=[{"kind": "malformed", "at_event": 3, "line": line}])
    )
    llm = make_llm(sim)
    chunks = await collect(llm.chat(chat_ctx=user_ctx()))

    assert server_events(sim)[3] == mixed
    assert text_of(chunks) == "Hi there"
    assert [(c.call_id, c.name, c.arguments) for c in calls_of(chunks)] == [
        ("call_0", "get_weather", '{"location": "Rome"}'),
        ("call_x", "end_call", "{}"),
    ]
    assert {c.id for c in chunks} == {FIRST_ID}
    assert all(c.usage is None for c in chunks)


@pytest.mark.spec("LLM-TXT-1", "LLM-TXT-2")
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("A<think>x</think>B<think>y</think>C", "ABC"),
        ("before <think>reasoning</think> after", "before  after"),
        ("Hello <think>never closed", "Hello "),
        ("no markers at all", "no markers at all"),
    ],
)
@pytest.mark.parametrize("strategy", ["whole", "per_char", "fixed"])
async def test_thinking_blocks_are_removed_across_deltas(
    start_simulator, make_llm, content, expected, strategy
):
    reply = {"content": content, "fragmentation": {"strategy": strategy, "size": 3}}
    sim = await start_simulator(scripted(reply))
    llm = make_llm(sim)
    chunks = await collect(llm.chat(chat_ctx=user_ctx()))
    assert server_content(server_events(sim)) == content
    assert text_of(chunks) == expected


@pytest.mark.spec("LLM-USG-1")
async def test_usage_computed_by_the_simulator_reaches_the_client(start_simulator, make_llm):
    sim = await start_simulator(scripted({"content": "twelve chars", "usage": {}}))
    llm = make_llm(sim)
    chunks = await collect(llm.chat(chat_ctx=user_ctx("count me")))
    [usage_event] = [e for e in server_events(sim)[:-1] if e["usage"] is not None]
    usage = usage_event["usage"]
    assert usage_event["choices"] == []
    assert_usage_last(
        chunks,
        CompletionUsage(
            completion_tokens=usage["completion_tokens"],
            prompt_tokens=usage["prompt_tokens"],
            prompt_cached_tokens=usage["prompt_tokens_details"]["cached_tokens"],
            total_tokens=usage["total_tokens"],
        ),
    )
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


@pytest.mark.spec("LLM-USG-1")
async def test_no_usage_chunk_when_the_server_sends_none(start_simulator, make_llm):
    sim = await start_simulator(scripted({"content": "quiet", "usage": False}))
    llm = make_llm(sim)
    chunks = await collect(llm.chat(chat_ctx=user_ctx()))
    assert text_of(chunks) == "quiet"
    assert all(c.usage is None for c in chunks)


@pytest.mark.spec("LLM-REQ-2", "LLM-TC-1")
async def test_echo_calls_a_named_tool_with_schema_valid_placeholder_arguments(
    start_simulator, make_llm
):
    sim = await start_simulator()
    llm = make_llm(sim)
    ctx = user_ctx("please call get_weather for me")
    chunks = await collect(llm.chat(chat_ctx=ctx, tools=[get_weather, lookup_order]))

    [call] = calls_of(chunks)
    assert call.name == "get_weather"
    arguments = json.loads(call.arguments)
    parameters = requests_of(sim)[0]["body"]["tools"][0]["function"]["parameters"]
    # Valid for the strict schema: exactly the required keys, each of an allowed type.
    assert list(arguments) == parameters["required"]
    assert isinstance(arguments["location"], str)
    assert arguments["unit"] in ("c", "f", None)
    assert text_of(chunks) == ""

    # Feeding the call and its result back gets the result reported.
    ctx.insert(FunctionCall(call_id=call.call_id, name=call.name, arguments=call.arguments))
    result = await get_weather(**arguments)
    ctx.insert(FunctionCallOutput(call_id=call.call_id, name=call.name, output=result))
    follow_up = await collect(llm.chat(chat_ctx=ctx, tools=[get_weather, lookup_order]))
    assert text_of(follow_up) == f"The tool returned: {result}"
    assert calls_of(follow_up) == []
