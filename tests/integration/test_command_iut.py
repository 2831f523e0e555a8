"""The ``cmd:`` IUT adapter (``voicewire.harness.command_iut``) and the example driver it documents.

Real subprocesses on the test's event loop: the example driver (``docs/examples/llm_driver.py``)
against a real :class:`SimulatorServer`, and the deliberately broken drivers of
``broken_driver.py``, one per way of breaking the protocol, each of which must produce an error
that names what the driver did and shows what it wrote to stderr.

The last section checks the example driver's protocol logic (pure functions, imported from its
file) against the reference implementation, so the example a port author copies is correct.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from voicewire.harness.command_iut import CommandIUT, DriverError
from voicewire.harness.embedded import BackgroundLoop, HarnessTimeout
from voicewire.harness.iut import IUTProtocolError, IUTSpecError
from voicewire.harness.iut_spec import parse_iut_spec
from voicewire.harness.llm import (
    AttemptErrorEvent,
    ChatEndEvent,
    ChatRequest,
    ChunkEvent,
    ConnOptions,
    ContextRequest,
    ContextResult,
    FallbackChatRequest,
    FallbackSpec,
    LLMTarget,
    ToolSpec,
    UsageEvent,
)
from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.thinking import ThinkingFilter
from voicewire.reference.llm.tool_calls import ToolCallAssembler, ToolCallFragment
from voicewire.reference.llm.tools import to_strict_json_schema
from voicewire.simulators import Scenario, SimulatorServer, parse_scenario
from voicewire.suites.strategies import chat_context_dicts

DRIVER = Path(__file__).resolve().parents[2] / "docs" / "examples" / "llm_driver.py"
BROKEN = Path(__file__).resolve().with_name("broken_driver.py")
EXAMPLE_NAME = "example-llm-driver (python stdlib)"
FAST = ConnOptions(max_retry=3, retry_interval=0.05, timeout=5.0)
EMPTY = {"items": []}


def broken(mode: str, *args: str) -> list[str]:
    return [sys.executable, str(BROKEN), mode, *args]


def target(sim: SimulatorServer, **fields: Any) -> LLMTarget:
    return LLMTarget(
        base_url=sim.base_url + "/v1", api_key=sim.api_key, api_secret=sim.api_secret, **fields
    )


def user_ctx(text: str = "hello") -> dict[str, Any]:
    return {"items": [{"type": "message", "id": "m1", "role": "user", "content": [text]}]}


def offline_request() -> ChatRequest:
    """A chat request for drivers that never connect anywhere."""
    return ChatRequest(llm=LLMTarget(base_url="http://127.0.0.1:9/v1", api_key="k", api_secret="s"))


async def chat(iut: Any, request: ChatRequest) -> list[Any]:
    """Operation llm.chat on an adapter; its events."""
    return (await iut.perform_operation("llm.chat", request)).events


async def context(iut: Any, request: ContextRequest) -> ContextResult:
    """Operation chat_context on an adapter."""
    return await iut.perform_operation("chat_context", request)


def scripted(*rules: dict[str, Any]) -> Scenario:
    return parse_scenario({"name": "cmd", "time_scale": 0.01, "rules": list(rules)})


def requests_of(sim: SimulatorServer) -> list[dict[str, Any]]:
    return [e for e in sim.journal.entries() if e["kind"] == "http_request"]


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
async def open_iut():
    """``await open_iut(argv, **kwargs)``: a started CommandIUT, closed after the test (also
    when its start failed, so no driver outlives its test)."""
    iuts: list[CommandIUT] = []

    async def open_(argv: list[str], **kwargs: Any) -> CommandIUT:
        iut = CommandIUT(argv, **kwargs)
        iuts.append(iut)
        await iut.start()
        return iut

    yield open_
    for iut in iuts:
        await iut.aclose()


@pytest.fixture
async def example(open_iut) -> CommandIUT:
    return await open_iut([sys.executable, str(DRIVER)])


# -- lifecycle ---------------------------------------------------------------------------------


async def test_hello_gives_the_drivers_name_and_capabilities(example):
    assert example.name == EXAMPLE_NAME
    assert example.capabilities == frozenset({"llm.chat"})
    assert example.pid is not None


async def test_aclose_shuts_the_driver_down(example):
    pid = example.pid
    await example.aclose()
    assert example.pid is None
    assert process_gone(pid)


async def test_a_driver_that_ignores_shutdown_and_eof_is_killed(open_iut):
    iut = await open_iut(broken("deaf"), shutdown_timeout=0.5)
    pid = iut.pid
    await iut.aclose()
    assert process_gone(pid)
    assert any("ignoring shutdown" in line for line in iut.stderr_tail())


def test_example_driver_answers_hello_and_exits_0_on_shutdown():
    lines = [
        {"id": 0, "op": "hello", "request": {"protocol": 2}},
        {"id": 1, "op": "shutdown", "request": {}},
    ]
    run = subprocess.run(
        [sys.executable, str(DRIVER)],
        input="".join(json.dumps(line) + "\n" for line in lines).encode(),
        capture_output=True,
        timeout=30,
    )
    assert run.returncode == 0, run.stderr
    replies = [json.loads(line) for line in run.stdout.splitlines()]
    assert replies == [
        {"id": 0, "answer": {"name": EXAMPLE_NAME, "capabilities": ["llm.chat"], "protocol": 2}},
        {"id": 1, "answer": {}},
    ]


def test_example_driver_exits_0_at_end_of_input():
    hello = json.dumps({"id": 0, "op": "hello", "request": {"protocol": 2}}) + "\n"
    run = subprocess.run(
        [sys.executable, str(DRIVER)], input=hello.encode(), capture_output=True, timeout=30
    )
    assert run.returncode == 0, run.stderr
    assert len(run.stdout.splitlines()) == 1


def test_cmd_spec_builds_a_command_iut_from_the_command_line():
    iut = parse_iut_spec(f"cmd:{shlex.quote(sys.executable)} {shlex.quote(str(DRIVER))} --x 'a b'")
    assert isinstance(iut, CommandIUT)
    assert iut.argv == [sys.executable, str(DRIVER), "--x", "a b"]
    assert iut.capabilities == frozenset()  # known only after hello


@pytest.mark.parametrize(
    ("argv", "kwargs", "error", "needle"),
    [
        ("python driver.py", {}, TypeError, "argv"),
        ([], {}, ValueError, "argv"),
        (["python", 3], {}, TypeError, "argv"),
        ([""], {}, ValueError, "argv"),
        (["python"], {"hello_timeout": 0}, ValueError, "hello_timeout"),
        (["python"], {"timeout": True}, TypeError, "timeout"),
        (["python"], {"shutdown_timeout": float("nan")}, ValueError, "shutdown_timeout"),
    ],
)
def test_constructor_rejects_bad_arguments_by_name(argv, kwargs, error, needle):
    with pytest.raises(error, match=needle):
        CommandIUT(argv, **kwargs)


async def test_a_command_that_cannot_start_is_a_spec_error(open_iut, tmp_path):
    missing = str(tmp_path / "no-such-driver")
    with pytest.raises(IUTSpecError, match="cannot start the command") as info:
        await open_iut([missing])
    assert missing in str(info.value)


# -- llm.chat through the example driver ------------------------------------------------------


@pytest.mark.spec(
    "LLM-TXT-1", "LLM-TXT-2", "LLM-TC-1", "LLM-TC-4", "LLM-TC-5", "LLM-USG-1", "LLM-ORD-1"
)
async def test_example_driver_streams_text_tool_calls_and_usage(example, start_simulator):
    reply = {
        "content": "Let me check.",
        "reasoning": "the user wants weather",
        "tool_calls": [
            {"name": "get_weather", "arguments": {"city": "Paris"}},
            {"name": "get_time", "arguments": {"zone": "CET"}},
        ],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "cached_tokens": 3},
        "fragmentation": {"strategy": "per_char", "tool_calls": "interleaved"},
    }
    sim = await start_simulator(scripted({"reply": reply}))
    events = await chat(example, ChatRequest(llm=target(sim), chat_ctx=user_ctx()))

    chunks = [e for e in events if isinstance(e, ChunkEvent)]
    usages = [e for e in events if isinstance(e, UsageEvent)]
    assert "".join(c.content or "" for c in chunks) == "Let me check."
    assert [(c.name, c.arguments, c.call_id) for e in chunks for c in e.tool_calls] == [
        ("get_weather", '{"city": "Paris"}', "call_0"),
        ("get_time", '{"zone": "CET"}', "call_1"),
    ]
    assert [(u.prompt_tokens, u.completion_tokens, u.prompt_cached_tokens) for u in usages] == [
        (11, 7, 3)
    ]
    assert events[-2] == usages[0]  # usage after all content and calls
    assert events[-1] == ChatEndEvent(t=events[-1].t, error=None)
    assert len({e.id for e in [*chunks, *usages]}) == 1
    assert [e.t for e in events] == sorted(e.t for e in events)


@pytest.mark.spec("RETRY-1", "RETRY-4", "RETRY-5", "RETRY-7")
async def test_example_driver_retries_a_503(example, start_simulator):
    sim = await start_simulator(
        scripted(
            {"reply": {"content": "ok"}, "faults": [{"kind": "status", "code": 503, "attempt": 1}]}
        )
    )
    events = await chat(
        example, ChatRequest(llm=target(sim), chat_ctx=user_ctx(), conn_options=FAST)
    )

    [error] = [e for e in events if isinstance(e, AttemptErrorEvent)]
    assert error.recoverable is True
    assert (error.error.kind, error.error.status_code, error.error.retryable) == (
        "APIStatusError",
        503,
        True,
    )
    assert "".join(e.content or "" for e in events if isinstance(e, ChunkEvent)) == "ok"
    assert isinstance(events[-1], ChatEndEvent) and events[-1].error is None
    first, second = requests_of(sim)
    assert first["data"]["body"] == second["data"]["body"]
    # The first retry waits 0.1 s (SPEC §2.4; 50 ms tolerance: a lower bound only).
    assert second["t"] - first["t"] >= 0.05


@pytest.mark.spec("RETRY-1", "RETRY-2", "RETRY-4")
@pytest.mark.parametrize(("mode", "error"), [("reset", "APIConnectionError"), ("close", None)])
async def test_example_driver_tells_a_cut_stream_from_a_finished_one(
    example, start_simulator, mode, error
):
    # Events: 0 role, 1 "abc", 2 "def", ... A reset cuts the chunked body (an error, retried
    # before visible output); a clean close is the end of the stream (no error, nothing retried).
    reply = {"content": "abcdef", "fragmentation": {"strategy": "fixed", "size": 3}}
    fault = {"kind": "disconnect", "mode": mode, "at_event": 0, "attempt": 1}
    sim = await start_simulator(scripted({"reply": reply, "faults": [fault]}))
    events = await chat(
        example, ChatRequest(llm=target(sim), chat_ctx=user_ctx(), conn_options=FAST)
    )

    errors = [e.error.kind for e in events if isinstance(e, AttemptErrorEvent)]
    assert errors == ([] if error is None else [error])
    assert isinstance(events[-1], ChatEndEvent) and events[-1].error is None
    text = "".join(e.content or "" for e in events if isinstance(e, ChunkEvent))
    assert text == ("" if error is None else "abcdef")
    assert len(requests_of(sim)) == (1 if error is None else 2)


@pytest.mark.spec("RETRY-4", "RETRY-5")
async def test_example_driver_gives_up_after_max_retry(example, start_simulator):
    sim = await start_simulator(
        scripted({"reply": {"content": "never"}, "faults": [{"kind": "status", "code": 503}]})
    )
    options = ConnOptions(max_retry=1, retry_interval=0.05, timeout=5.0)
    events = await chat(
        example, ChatRequest(llm=target(sim), chat_ctx=user_ctx(), conn_options=options)
    )

    assert [e.recoverable for e in events if isinstance(e, AttemptErrorEvent)] == [True, False]
    end = events[-1]
    assert isinstance(end, ChatEndEvent) and end.error is not None
    assert (end.error.kind, end.error.retryable) == ("APIConnectionError", False)
    assert end.error.message == "failed to generate LLM completion after 2 attempts"
    assert len(requests_of(sim)) == 2


@pytest.mark.spec("RETRY-3", "RETRY-5")
async def test_example_driver_does_not_retry_a_400(example, start_simulator):
    sim = await start_simulator(
        scripted({"reply": {"content": "never"}, "faults": [{"kind": "status", "code": 400}]})
    )
    events = await chat(
        example, ChatRequest(llm=target(sim), chat_ctx=user_ctx(), conn_options=FAST)
    )

    [error] = [e for e in events if isinstance(e, AttemptErrorEvent)]
    assert error.recoverable is False
    end = events[-1]
    assert isinstance(end, ChatEndEvent) and end.error is not None
    assert (end.error.kind, end.error.status_code, end.error.retryable) == (
        "APIStatusError",
        400,
        False,
    )
    assert len(requests_of(sim)) == 1


@pytest.mark.spec("LLM-REQ-1", "LLM-REQ-2", "LLM-REQ-3", "LLM-REQ-4", "LLM-REQ-5", "CTX-OAI-1")
async def test_example_driver_sends_the_reference_request(example, start_simulator):
    sim = await start_simulator(Scenario.echo())
    tools = [
        ToolSpec(
            name="get_weather",
            description="Weather for a city.",
            parameters={
                "type": "object",
                "properties": {
                    "city": {"type": "string", "title": "City"},
                    "days": {"type": "integer", "default": 1, "description": "How many"},
                },
                "required": ["city"],
            },
        ),
        ToolSpec(name="hang_up", raw=True, parameters={"type": "object", "properties": {}}),
    ]
    ctx = {
        "items": [
            {"type": "message", "id": "s", "role": "system", "content": ["Be brief."]},
            {"type": "message", "id": "u", "role": "user", "content": ["weather?"]},
            {"type": "message", "id": "a", "role": "assistant", "content": ["Checking."]},
            {"type": "function_call", "id": "a/fnc_0", "call_id": "c0", "name": "get_weather",
             "arguments": '{"city":"Oslo","days":null}'},
            {"type": "function_call", "id": "a/fnc_1", "call_id": "c1", "name": "get_weather",
             "arguments": "{}"},
            {"type": "function_call_output", "id": "o", "call_id": "c0", "name": "get_weather",
             "output": "rain"},
        ]
    }  # fmt: skip
    request = ChatRequest(
        llm=target(sim, provider="openai", extra_kwargs={"temperature": 0.5, "seed": 1}),
        chat_ctx=ctx,
        tools=tools,
        tool_choice={"name": "get_weather"},
        parallel_tool_calls=False,
        extra_kwargs={"temperature": 0.2},
        conn_options=FAST,
    )
    reference = ReferenceIUT()
    try:
        await chat(reference, request)
    finally:
        await reference.aclose()
    await chat(example, request)

    sent_by_reference, sent_by_example = (r["data"] for r in requests_of(sim))
    assert sent_by_example["body"] == sent_by_reference["body"]
    assert sent_by_example["path"] == sent_by_reference["path"] == "/v1/chat/completions"
    providers = [
        {k.lower(): v for k, v in sent["headers"].items()}["x-livekit-inference-provider"]
        for sent in (sent_by_reference, sent_by_example)
    ]
    assert providers == ["openai", "openai"]


# -- capabilities ----------------------------------------------------------------------------


async def test_an_undeclared_capability_is_a_clear_error(example):
    with pytest.raises(IUTProtocolError, match="does not declare the 'chat_context' capability"):
        await context(example, ContextRequest(op="roundtrip", ctx=EMPTY))
    fallback = FallbackChatRequest(fallback=FallbackSpec(llms=[offline_request().llm]))
    with pytest.raises(IUTProtocolError, match=r"does not declare the 'llm\.fallback' capability"):
        await example.perform_operation("llm.fallback", fallback)
    assert example.pid is not None  # nothing was sent: the driver is untouched


async def test_an_unknown_capability_fails_the_start(open_iut):
    with pytest.raises(IUTProtocolError, match=r"unknown capability 'llm\.telepathy'"):
        await open_iut(broken("bad-capability"))


async def test_a_cmd_driver_cannot_declare_llm_server(open_iut):
    with pytest.raises(IUTProtocolError, match=r"'llm\.server', a server capability.*url:"):
        await open_iut(broken("server-capability"))


async def test_a_protocol_1_driver_is_told_which_protocol_the_harness_speaks(open_iut):
    with pytest.raises(IUTProtocolError, match="says protocol 1; this harness speaks protocol 2"):
        await open_iut(broken("protocol-1"))


# -- protocol errors: each names the problem and shows the driver's stderr --------------------


async def test_garbage_on_stdout(open_iut):
    iut = await open_iut(broken("garbage"))
    first = iut.pid
    with pytest.raises(IUTProtocolError, match="not JSON: 'this is not json'") as info:
        await chat(iut, offline_request())
    assert "about to write garbage on stdout" in str(info.value)
    assert "log to stderr" in str(info.value)
    # The pipe may be out of step: the next operation runs on a fresh process.
    result = await context(iut, ContextRequest(op="roundtrip", ctx=EMPTY))
    assert result.ctx == EMPTY
    assert iut.pid not in (None, first)
    assert process_gone(first)


async def test_exit_during_hello(open_iut):
    with pytest.raises(
        IUTProtocolError, match=r"exited with code 3 (before reading|during) hello"
    ) as info:
        await open_iut(broken("exit-in-hello"))
    assert "boom: missing configuration file" in str(info.value)


@pytest.mark.parametrize(
    ("mode", "problem"),
    [
        ("array-reply", r"answered llm\.chat \(request id 1\) with '\[1, .*', not a JSON object"),
        ("bare-reply", r"answered llm\.chat \(request id 1\) with neither or both of"),
    ],
)
async def test_a_malformed_reply(open_iut, mode, problem):
    iut = await open_iut(broken(mode))
    with pytest.raises(IUTProtocolError, match=problem) as info:
        await chat(iut, offline_request())
    assert "answering with" in str(info.value)


async def test_a_refused_hello_fails_the_start_and_stops_the_driver():
    iut = CommandIUT(broken("refuse-hello"))
    try:
        with pytest.raises(DriverError, match="could not perform hello: no licence key") as info:
            await iut.start()
        assert "no licence key found" in str(info.value)
        assert iut.pid is None
    finally:
        await iut.aclose()


async def test_reply_with_the_wrong_id(open_iut):
    iut = await open_iut(broken("wrong-id"))
    with pytest.raises(
        IUTProtocolError, match=r"answered with id 99 while request id 1 \(llm\.chat\)"
    ) as info:
        await chat(iut, offline_request())
    assert "answering with the wrong id" in str(info.value)


async def test_silence_instead_of_hello(open_iut):
    with pytest.raises(
        IUTProtocolError, match=r"did not answer hello \(request id 0\) within 1 s"
    ) as info:
        # 1 s: ample time for the driver to start and log before the hello timeout fires.
        await open_iut(broken("silent-hello"), hello_timeout=1.0)
    assert "flush stdout" in str(info.value)
    assert "warming up, very slowly" in str(info.value)


async def test_stall_past_the_operation_timeout(open_iut):
    iut = await open_iut(broken("stall-chat"), timeout=0.3)
    first = iut.pid
    with pytest.raises(
        IUTProtocolError, match=r"did not answer llm\.chat \(request id 1\) within 0\.3 s"
    ) as info:
        await chat(iut, offline_request())
    assert "stalling on llm.chat" in str(info.value)
    result = await context(iut, ContextRequest(op="roundtrip", ctx=EMPTY))
    assert result.ctx == EMPTY
    assert iut.pid not in (None, first)


def test_an_operation_the_harness_timed_out_leaves_the_next_one_working():
    # As the pytest plugin drives it: on a background loop whose timeout cancels the operation.
    loop = BackgroundLoop()
    iut = CommandIUT(broken("stall-chat"))
    try:
        loop.run(iut.start())
        first = iut.pid
        assert first is not None
        with pytest.raises(HarnessTimeout):
            loop.run(chat(iut, offline_request()), timeout=0.3)
        # A late reply to the cancelled request can never be read as this answer.
        result = loop.run(context(iut, ContextRequest(op="roundtrip", ctx=user_ctx())))
        assert result.ctx == user_ctx()
        assert iut.pid not in (None, first)
        assert process_gone(first)
    finally:
        loop.run(iut.aclose())
        loop.close()


async def test_a_crash_then_a_failed_restart_marks_the_driver_unusable(open_iut, tmp_path):
    iut = await open_iut(broken("crash-then-refuse", str(tmp_path / "started")))
    with pytest.raises(IUTProtocolError, match=r"exited with code 4 during llm\.chat") as info:
        await chat(iut, offline_request())
    assert "crashing in the middle of llm.chat" in str(info.value)

    with pytest.raises(IUTProtocolError, match=r"exited with code 1 (before reading|during) hello"):
        await context(iut, ContextRequest(op="roundtrip", ctx=EMPTY))
    with pytest.raises(IUTProtocolError, match="could not be restarted") as info:
        await context(iut, ContextRequest(op="roundtrip", ctx=EMPTY))
    assert "refusing to start a second time" in str(info.value)


async def test_an_error_reply_is_a_driver_error_and_keeps_the_driver(open_iut):
    iut = await open_iut(broken("error-reply"))
    pid = iut.pid
    with pytest.raises(
        DriverError, match=r"could not perform llm\.chat: tool_choice 'required' is not supported"
    ) as info:
        await chat(iut, offline_request())
    assert "cannot express this request" in str(info.value)
    assert iut.pid == pid
    assert (await context(iut, ContextRequest(op="roundtrip", ctx=EMPTY))).ctx == EMPTY


async def test_events_without_llm_end_are_rejected(open_iut):
    iut = await open_iut(broken("bad-events"))
    pid = iut.pid
    with pytest.raises(IUTProtocolError, match=r"must end with an llm\.end") as info:
        await chat(iut, offline_request())
    assert "forgetting llm.end" in str(info.value)
    assert iut.pid == pid  # the reply was well framed: the conversation is still in step


# -- the example driver's logic agrees with the reference ------------------------------------


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("voicewire_example_llm_driver", DRIVER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


example_driver = _load_example()


@pytest.mark.spec("CTX-OAI-1", "CTX-OAI-2", "CTX-OAI-3")
@given(chat_context_dicts())
def test_example_messages_match_the_reference(ctx):
    expected = ChatContext.from_dict(ctx).to_provider_format("openai")
    assert example_driver.openai_messages(ctx["items"]) == expected


_THINK_PIECES = ["<think>", "</think>", "<th", "ink>", "</", "think", ">", "a", "b c", "<", "\n"]


@pytest.mark.spec("LLM-TXT-1", "LLM-TXT-2")
@given(st.lists(st.lists(st.sampled_from(_THINK_PIECES), max_size=5), max_size=8))
def test_example_think_filter_matches_the_reference(deltas):
    ours, theirs = example_driver.ThinkFilter(), ThinkingFilter()
    for pieces in deltas:
        delta = "".join(pieces)
        assert ours.feed(delta) == theirs.feed(delta)
    assert ours.finish() == theirs.finish()


_fragments = st.fixed_dictionaries(
    {"index": st.sampled_from([0, 1, 2, None])},
    optional={
        "id": st.sampled_from(["", "call_a", "call_b", None]),
        "function": st.fixed_dictionaries(
            {},
            optional={
                "name": st.sampled_from(["", "f", "g"]),
                "arguments": st.sampled_from(["", "{", '"x"', ":1", "}", "\ud83d", "\ude00"]),
            },
        ),
    },
)


@pytest.mark.spec("LLM-TC-1", "LLM-TC-2", "LLM-TC-4")
@given(st.lists(st.lists(_fragments, max_size=3), max_size=8))
def test_example_tool_call_assembly_matches_the_reference(deltas):
    ours, theirs = example_driver.ToolCalls(), ToolCallAssembler()
    for delta in deltas:
        ours.feed(delta)
        theirs.feed(ToolCallFragment.from_json(fragment) for fragment in delta)
    expected = [
        {"name": c.name, "arguments": c.arguments, "call_id": c.call_id} for c in theirs.finish()
    ]
    assert ours.finish() == expected


_SCHEMAS = [
    {"type": "object", "properties": {}},
    {
        "type": "object",
        "title": "Args",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["c", "f"], "default": "c"},
            "maybe": {"anyOf": [{"type": "string"}, {"type": "integer"}], "description": "d"},
            "nullable": {"type": ["string", "null"]},
            "when": {
                "type": "object",
                "properties": {"hours": {"type": "array", "items": {"type": "integer"}}},
            },
        },
        "required": ["city"],
    },
    {
        "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "number"}}}},
        "type": "object",
        "properties": {
            "at": {"$ref": "#/$defs/Point", "description": "where"},
            "to": {"$ref": "#/$defs/Point"},
        },
        "required": ["at", "to"],
    },
]


@pytest.mark.spec("LLM-REQ-2")
@pytest.mark.parametrize("schema", _SCHEMAS)
def test_example_strict_schema_matches_the_reference(schema):
    assert example_driver.strict_schema(schema) == to_strict_json_schema(schema)


@pytest.mark.spec("LLM-REQ-2")
def test_example_strict_schema_refuses_free_form_maps():
    schema = {"type": "object", "properties": {"tags": {"type": "object"}}}
    schema["properties"]["tags"]["additionalProperties"] = {"type": "string"}
    with pytest.raises(ValueError):
        to_strict_json_schema(schema)
    with pytest.raises(ValueError, match="additionalProperties"):
        example_driver.strict_schema(schema)


@pytest.mark.spec("AUTH-1", "AUTH-2")
def test_example_token_is_an_hs256_inference_token():
    secret = "s" * 32
    token = example_driver.access_token("key-1", secret)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(token, secret, algorithms=["HS256"], options={"verify_sub": False})
    assert claims["iss"] == "key-1"
    assert claims["sub"] == "agent"
    assert claims["exp"] == claims["nbf"] + 600
    assert claims["inference"] == {"perform": True}
    assert isinstance(claims["nbf"], int)
