"""The LLM simulator's sans-IO planning: chunk plans, fault actions, echo replies (SPEC §2.2)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from voicewire.reference.llm.wire import DONE_EVENT, decode_payload, encode_event, strict_framing
from voicewire.simulators.core.actions import Disconnect, Sleep, Write
from voicewire.simulators.llm import (
    LLMReply,
    RequestError,
    echo_reply,
    plan_chunks,
    read_request,
    stream_actions,
    stream_events,
)
from voicewire.simulators.scenario import Timing, parse_scenario

REQUEST = read_request(
    json.dumps(
        {
            "model": "openai/gpt-4.1-mini",
            "messages": [{"role": "user", "content": "hi"}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    ).encode()
)

texts = st.text(max_size=30)
tool_calls = st.lists(
    st.fixed_dictionaries(
        {"name": st.sampled_from(["get_weather", "end_call"]), "arguments": st.text(max_size=20)}
    ),
    max_size=3,
)
fragmentations = st.fixed_dictionaries(
    {
        "strategy": st.sampled_from(["whole", "per_char", "fixed", "random"]),
        "size": st.integers(1, 6),
        "seed": st.integers(0, 5),
        "tool_calls": st.sampled_from(["sequential", "one_delta", "in_finish", "interleaved"]),
    }
)


def plan(reply: LLMReply) -> list[dict]:
    return list(plan_chunks(reply, request=REQUEST, completion_id="chatcmpl-x", created=1))


@pytest.mark.spec("LLM-SSE-2", "LLM-SSE-3", "LLM-SSE-4")
@given(texts, st.none() | texts, tool_calls, fragmentations)
def test_every_plan_carries_exactly_the_scripted_reply(content, reasoning, calls, fragmentation):
    reply = LLMReply(
        content=content, reasoning=reasoning, tool_calls=calls, fragmentation=fragmentation
    )
    chunks = plan(reply)
    assert {c["id"] for c in chunks} == {"chatcmpl-x"}
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)

    choices = [c["choices"][0] for c in chunks if c["choices"]]
    text = "".join(ch["delta"].get("content") or "" for ch in choices)
    expected = content if reasoning is None else f"<think>{reasoning}</think>{content}"
    assert text == expected

    headers: dict[int, dict] = {}
    arguments: dict[int, str] = {}
    for choice in choices:
        for fragment in choice["delta"].get("tool_calls", []):
            index = fragment["index"]
            if "id" in fragment:
                assert index not in headers, "one header per call"
                headers[index] = fragment
            else:
                assert index in headers, "arguments only after the header"
            arguments[index] = arguments.get(index, "") + fragment["function"].get("arguments", "")
    assert sorted(headers) == list(range(len(calls)))
    for index, call in enumerate(calls):
        assert headers[index]["function"]["name"] == call["name"]
        assert headers[index]["type"] == "function"
        assert arguments[index] == call["arguments"]

    finishes = [ch["finish_reason"] for ch in choices if ch["finish_reason"] is not None]
    assert finishes == ["tool_calls" if calls else "stop"]
    assert choices[-1]["finish_reason"] is not None
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["total_tokens"] == (
        usage_chunk["usage"]["prompt_tokens"] + usage_chunk["usage"]["completion_tokens"]
    )


def test_layouts_put_calls_where_they_say():
    calls = [{"name": "a", "arguments": {"x": 1}}, {"name": "b", "arguments": {"y": 2}}]
    one = plan(LLMReply(tool_calls=calls, fragmentation={"tool_calls": "one_delta"}))
    deltas = [c["choices"][0]["delta"] for c in one if c["choices"]]
    assert [len(d.get("tool_calls", [])) for d in deltas] == [0, 2, 0]

    fin = plan(LLMReply(tool_calls=calls, fragmentation={"tool_calls": "in_finish"}))
    last = [c for c in fin if c["choices"]][-1]["choices"][0]
    assert last["finish_reason"] == "tool_calls" and len(last["delta"]["tool_calls"]) == 2

    inter = plan(
        LLMReply(
            tool_calls=calls, fragmentation={"strategy": "per_char", "tool_calls": "interleaved"}
        )
    )
    order = [
        c["choices"][0]["delta"]["tool_calls"][0]["index"]
        for c in inter
        if c["choices"] and c["choices"][0]["delta"].get("tool_calls")
    ]
    assert order[:4] == [0, 1, 0, 1]


def test_finish_and_usage_switches():
    chunks = plan(LLMReply(content="x", finish=False, usage=False))
    assert all(c["choices"] and c["choices"][0]["finish_reason"] is None for c in chunks)
    no_id = plan(LLMReply(tool_calls=[{"name": "a", "omit_id": True, "index": 3}]))
    header = next(c for c in no_id if c["choices"] and c["choices"][0]["delta"].get("tool_calls"))
    fragment = header["choices"][0]["delta"]["tool_calls"][0]
    assert "id" not in fragment and fragment["index"] == 3
    without_usage_request = read_request(b'{"model": "m", "messages": [], "stream": true}')
    chunks = list(
        plan_chunks(
            LLMReply(content="x"), request=without_usage_request, completion_id="c", created=0
        )
    )
    assert all(c["usage"] is None for c in chunks)


def test_usage_counts_can_be_scripted():
    chunks = plan(
        LLMReply(
            content="x", usage={"prompt_tokens": 57, "completion_tokens": 31, "cached_tokens": 4}
        )
    )
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 57,
        "completion_tokens": 31,
        "total_tokens": 88,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


# -- faults → actions -------------------------------------------------------------------------

EVENTS = [encode_event({"n": n}) for n in range(4)] + [DONE_EVENT]


def faults(*items: dict) -> list:
    scenario = parse_scenario({"rules": [{"faults": list(items)}]})
    return scenario.rules[0].faults


def writes(actions: list) -> list[bytes]:
    return [a.data for a in actions if isinstance(a, Write)]


def test_no_faults_writes_every_event_in_order():
    actions = list(stream_actions(EVENTS, faults=[], timing=Timing(), time_scale=1.0))
    assert writes(actions) == EVENTS and all(isinstance(a, Write) for a in actions)


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"kind": "drop", "at_event": 1}, [0, 2, 3, 4]),
        ({"kind": "duplicate", "at_event": 2}, [0, 1, 2, 2, 3, 4]),
        ({"kind": "reorder", "at_event": 1}, [0, 2, 1, 3, 4]),
        ({"kind": "disconnect", "at_event": 1}, [0, 1]),
    ],
)
def test_event_faults(fault, expected):
    actions = list(stream_actions(EVENTS, faults=faults(fault), timing=Timing(), time_scale=1.0))
    assert writes(actions) == [EVENTS[i] for i in expected]
    if fault["kind"] == "disconnect":
        assert actions[-1] == Disconnect("close")


def test_malformed_and_error_events_are_injected_in_place():
    actions = list(
        stream_actions(
            EVENTS,
            faults=faults(
                {"kind": "malformed", "at_event": 1, "line": "data: {oops"},
                {"kind": "error_event", "at_event": 3, "message": "boom", "code": 503},
            ),
            timing=Timing(),
            time_scale=1.0,
        )
    )
    data = writes(actions)
    assert data[1] == b"data: {oops\n\n"
    assert json.loads(data[3][len(b"data: ") :]) == {
        "error": {"message": "boom", "type": "server_error", "code": 503}
    }
    assert data[4] == EVENTS[3]


def test_waits_are_scaled_and_placed():
    actions = list(
        stream_actions(
            EVENTS,
            faults=faults({"kind": "stall", "at_event": 2, "seconds": 30}),
            timing=Timing(ttft=2.0, inter_chunk=0.5),
            time_scale=0.01,
        )
    )
    sleeps = [(a.reason, round(a.seconds, 6)) for a in actions if isinstance(a, Sleep)]
    assert sleeps == [
        ("ttft", 0.02),
        ("inter_chunk", 0.005),
        ("inter_chunk", 0.005),
        ("stall", 0.3),
        ("inter_chunk", 0.005),
        ("inter_chunk", 0.005),
    ]
    assert actions.index(Sleep(0.3, "stall")) < actions.index(Write(EVENTS[2], 2))


@given(st.lists(st.integers(1, 9), min_size=1, max_size=4) | st.integers(0, 99))
def test_byte_split_keeps_every_byte(split):
    fault = (
        {"kind": "byte_split", "sizes": split}
        if isinstance(split, list)
        else {"kind": "byte_split", "seed": split}
    )
    actions = list(stream_actions(EVENTS, faults=faults(fault), timing=Timing(), time_scale=1.0))
    assert b"".join(writes(actions)) == b"".join(EVENTS)
    if isinstance(split, list):
        sizes = [len(w) for w in writes(actions)]
        assert all(size == split[i % len(split)] for i, size in enumerate(sizes[:-1]))


# -- requests and echo ------------------------------------------------------------------------


@pytest.mark.spec("SRV-1")
@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "request body is not valid JSON"),
        (b"[]", "request body must be a JSON object"),
        (b'{"messages": []}', "model: missing, expected a non-empty string"),
        (b'{"model": "m", "messages": {}}', "messages: expected a list of message objects"),
        (b'{"model": "m", "messages": [{"role": "robot"}]}', "messages[0].role: expected one of"),
        (b'{"model": "m", "messages": [], "stream": "yes"}', "stream: expected a boolean"),
        (b'{"model": "m", "messages": [], "tools": {}}', "tools: expected a list of tool objects"),
    ],
)
def test_bad_requests_are_named(body, message):
    with pytest.raises(RequestError) as caught:
        read_request(body)
    assert str(caught.value).startswith(message)


def _request(messages: list[dict], tools: list[dict] | None = None):
    return read_request(
        json.dumps({"model": "m", "messages": messages, "tools": tools or []}).encode()
    )


def test_echo_answers_from_the_last_user_message():
    assert (
        echo_reply(_request([{"role": "user", "content": "hello there"}])).content
        == "You said: hello there"
    )
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "unit": {"enum": ["c", "f"]},
                    "days": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                },
                "required": ["city", "unit", "days"],
                "additionalProperties": False,
            },
        },
    }
    reply = echo_reply(_request([{"role": "user", "content": "call get_weather please"}], [tool]))
    assert reply.tool_calls[0].name == "get_weather"
    assert json.loads(reply.tool_calls[0].arguments_text) == {
        "city": "echo",
        "unit": "c",
        "days": 0,
    }
    after_tool = _request(
        [
            {"role": "user", "content": "call get_weather"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "c",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c", "content": "sunny"},
        ],
        [tool],
    )
    assert echo_reply(after_tool).content == "The tool returned: sunny"


@pytest.mark.spec("LLM-SSE-1", "LLM-SSE-2")
@given(texts, tool_calls, fragmentations)
def test_stream_events_are_the_encoded_plan_strictly_framed(content, calls, fragmentation):
    reply = LLMReply(content=content, tool_calls=calls, fragmentation=fragmentation)
    body = b"".join(stream_events(reply, request=REQUEST, completion_id="chatcmpl-x", created=1))
    payloads, problems = strict_framing(body)
    assert problems == []
    assert payloads[-1] == "[DONE]"
    assert [decode_payload(p) for p in payloads[:-1]] == plan(reply)
