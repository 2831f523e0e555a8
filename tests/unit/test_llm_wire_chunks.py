"""The LLM wire module's chunks: exact builders, the server-side shape check, and a client
parser that rejects every hostile shape with its JSON path (LLM-ROB-1) and ignores unknown keys
(LLM-ROB-2)."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from voicewire.reference.errors import error_body
from voicewire.reference.llm.chat_chunk import CompletionUsage, FunctionToolCall
from voicewire.reference.llm.tool_calls import ToolCallFragment
from voicewire.reference.llm.wire.chunks import (
    FINISH_REASONS,
    MalformedChunk,
    ParsedChoice,
    ParsedChunk,
    StreamErrorEvent,
    chat_chunk,
    chunk_problems,
    completion_object,
    content_delta,
    decode_payload,
    models_payload,
    parse_chunk,
    parse_completion,
    role_delta,
    tool_call_arguments,
    tool_call_header,
    tool_calls_delta,
    usage_chunk,
    usage_object,
)
from voicewire.reference.llm.wire.sse import encode_event

F = ToolCallFragment
UNICODE = st.characters(codec="utf-8")


def through_the_wire(payload: object) -> ParsedChunk:
    """Encode as the server does, decode as the client does."""
    event = encode_event(payload)
    return parse_chunk(decode_payload(event[len(b"data: ") : -2].decode()))


# -- builders: exact values and key order --------------------------------------------------------


def test_chat_chunk_is_today_s_chunk_byte_for_byte():
    chunk = chat_chunk("chatcmpl-1", 1700000000, "openai/gpt-4.1-mini", content_delta("hé"))
    assert list(chunk) == ["id", "object", "created", "model", "choices", "usage"]
    assert list(chunk["choices"][0]) == ["index", "delta", "logprobs", "finish_reason"]
    assert encode_event(chunk) == (
        b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,'
        b'"model":"openai/gpt-4.1-mini","choices":[{"index":0,"delta":{"content":"h\\u00e9"},'
        b'"logprobs":null,"finish_reason":null}],"usage":null}\n\n'
    )
    finish = chat_chunk("c", 1, "m", {}, "tool_calls")
    assert finish["choices"] == [
        {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "tool_calls"}
    ]


def test_delta_builders():
    assert (
        encode_event(role_delta()) == b'data: {"role":"assistant","content":"","refusal":null}\n\n'
    )
    assert content_delta("x") == {"content": "x"}
    header = tool_call_header(2, "call_a", "get_weather")
    assert list(header) == ["index", "id", "type", "function"]
    assert header == {
        "index": 2,
        "id": "call_a",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    assert tool_call_header(0, None, "f", "{}") == {
        "index": 0,
        "type": "function",
        "function": {"name": "f", "arguments": "{}"},
    }
    assert tool_call_arguments(1, '{"a"') == {"index": 1, "function": {"arguments": '{"a"'}}
    assert tool_calls_delta([header]) == {"tool_calls": [header]}


def test_usage_builders():
    usage = usage_object(10, 5, cached_tokens=3, reasoning_tokens=2)
    assert usage == {
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "total_tokens": 15,
        "prompt_tokens_details": {"cached_tokens": 3},
        "completion_tokens_details": {"reasoning_tokens": 2},
    }
    assert list(usage) == [
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "prompt_tokens_details",
        "completion_tokens_details",
    ]
    chunk = usage_chunk(usage, completion_id="c", created=1, model="m")
    assert chunk == {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [],
        "usage": usage,
    }
    assert list(chunk) == ["id", "object", "created", "model", "choices", "usage"]


def test_completion_object():
    call = FunctionToolCall(name="f", arguments='{"x": 1}', call_id="call_0")
    body = completion_object(
        "c", 1, "m", content="hi", tool_calls=[call], finish_reason="tool_calls", usage=None
    )
    assert body == {
        "id": "c",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "hi",
                    "tool_calls": [
                        {
                            "id": "call_0",
                            "type": "function",
                            "function": {"name": "f", "arguments": '{"x": 1}'},
                        }
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": None,
    }
    plain = completion_object("c", 1, "m", content=None)
    assert plain["choices"][0]["message"] == {"role": "assistant", "content": None}
    assert plain["choices"][0]["finish_reason"] == "stop"


def test_error_body_and_models_payload():
    assert error_body(401, "bad token", "authentication_error") == {
        "error": {"message": "bad token", "type": "authentication_error", "code": 401}
    }
    assert models_payload(["a/b", "c/d"]) == {
        "object": "list",
        "data": [
            {"id": "a/b", "object": "model", "created": 0, "owned_by": "voicewire"},
            {"id": "c/d", "object": "model", "created": 0, "owned_by": "voicewire"},
        ],
    }


# -- builders round-trip through the parser ------------------------------------------------------

ids = st.text(UNICODE, min_size=1, max_size=12)
finish_reasons = st.sampled_from(["stop", "tool_calls", "length", "content_filter", "weird"])


@settings(max_examples=100)
@given(
    completion_id=ids,
    text=st.text(UNICODE, max_size=30),
    finish=st.none() | finish_reasons,
)
def test_content_chunks_round_trip(completion_id, text, finish):
    parsed = through_the_wire(chat_chunk(completion_id, 1, "m", content_delta(text), finish))
    assert parsed == ParsedChunk(
        id=completion_id,
        choices=(ParsedChoice(index=0, content=text, finish_reason=finish),),
    )


def test_role_chunk_round_trips():
    parsed = through_the_wire(chat_chunk("c", 1, "m", role_delta()))
    assert parsed == ParsedChunk(id="c", choices=(ParsedChoice(0, content="", role="assistant"),))


@settings(max_examples=100)
@given(
    calls=st.lists(
        st.tuples(
            st.integers(0, 2**31),
            st.none() | ids,
            st.text(UNICODE, max_size=10),
            st.text(UNICODE, max_size=20),
        ),
        max_size=4,
    ),
    piece=st.text(UNICODE, max_size=20),
)
def test_tool_call_fragments_round_trip(calls, piece):
    fragments = [tool_call_header(*call) for call in calls] + [tool_call_arguments(7, piece)]
    parsed = through_the_wire(chat_chunk("c", 1, "m", tool_calls_delta(fragments)))
    expected = tuple(
        F(index, call_id, name, arguments) for index, call_id, name, arguments in calls
    )
    assert parsed.choices == (ParsedChoice(0, tool_calls=(*expected, F(7, arguments=piece))),)


@settings(max_examples=50)
@given(
    counts=st.tuples(*[st.integers(0, 10**9)] * 4),
)
def test_usage_chunk_round_trips(counts):
    prompt, completion, cached, reasoning = counts
    usage = usage_object(prompt, completion, cached_tokens=cached, reasoning_tokens=reasoning)
    parsed = through_the_wire(usage_chunk(usage, completion_id="c", created=1, model="m"))
    assert parsed == ParsedChunk(
        id="c",
        choices=(),
        usage=CompletionUsage(
            prompt_tokens=prompt,
            completion_tokens=completion,
            prompt_cached_tokens=cached,
            total_tokens=prompt + completion,
        ),
    )


def test_completion_object_round_trips_through_parse_completion():
    calls = [
        FunctionToolCall(name="f", arguments='{"x": "é"}', call_id="call_0"),
        FunctionToolCall(name="g", arguments="", call_id="call_1"),
    ]
    body = completion_object(
        "c", 1, "m", content="hi", tool_calls=calls, finish_reason="tool_calls", usage=None
    )
    assert parse_completion(json.loads(json.dumps(body))) == ParsedChunk(
        id="c",
        choices=(
            ParsedChoice(
                index=0,
                content="hi",
                role="assistant",
                finish_reason="tool_calls",
                tool_calls=(F(0, "call_0", "f", '{"x": "é"}'), F(1, "call_1", "g", "")),
            ),
        ),
    )


def test_error_body_round_trips_as_a_stream_error_event():
    with pytest.raises(StreamErrorEvent) as caught:
        through_the_wire(error_body(500, "upstream exploded", "server_error"))
    assert caught.value.message == "upstream exploded"
    assert str(caught.value) == "upstream exploded"
    assert caught.value.body == {
        "message": "upstream exploded",
        "type": "server_error",
        "code": 500,
    }
    assert not isinstance(caught.value, MalformedChunk)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("error", [{}, {"message": ""}, {"message": 5, "code": 1}])
def test_an_error_object_without_a_message_gets_a_generic_one(error):
    with pytest.raises(StreamErrorEvent) as caught:
        parse_chunk({"error": error})
    assert caught.value.message == "the server sent an error in the stream"
    assert caught.value.body == error


# -- the parser: hostile input (LLM-ROB-1) ------------------------------------------------------


def chunk_with(**choice_delta: object) -> dict:
    return chat_chunk("c", 1, "m", dict(choice_delta))


def with_fragment(**fragment: object) -> dict:
    good = tool_call_header(0, "call_0", "f")
    return chunk_with(tool_calls=[good, {"index": 1, **fragment}])


HOSTILE = [
    ([1, 2], "chunk: expected an object, got a list"),
    ("text", 'chunk: expected an object, got "text"'),
    (None, "chunk: expected an object, got null"),
    ({"error": None}, "error: expected an object, got null"),
    ({"error": "boom"}, 'error: expected an object, got "boom"'),
    ({"id": 5, "choices": []}, "id: expected a string, got 5"),
    ({"id": "c", "choices": {}}, "choices: expected a list, got an object"),
    ({"id": "c", "choices": "abc"}, 'choices: expected a list, got "abc"'),
    ({"id": "c", "choices": [1]}, "choices[0]: expected an object, got 1"),
    ({"id": "c", "choices": [{"index": "0"}]}, 'choices[0].index: expected an integer, got "0"'),
    ({"id": "c", "choices": [{"index": True}]}, "choices[0].index: expected an integer, got true"),
    ({"id": "c", "choices": [{"delta": "x"}]}, 'choices[0].delta: expected an object, got "x"'),
    ({"id": "c", "choices": [{"delta": []}]}, "choices[0].delta: expected an object, got a list"),
    (
        {"id": "c", "choices": [{"delta": {}, "finish_reason": 1}]},
        "choices[0].finish_reason: expected a string, got 1",
    ),
    (chunk_with(content=1.5), "choices[0].delta.content: expected a string, got 1.5"),
    (chunk_with(content=["a"]), "choices[0].delta.content: expected a string, got a list"),
    (chunk_with(role=1), "choices[0].delta.role: expected a string, got 1"),
    (chunk_with(tool_calls="x"), 'choices[0].delta.tool_calls: expected a list, got "x"'),
    (chunk_with(tool_calls={}), "choices[0].delta.tool_calls: expected a list, got an object"),
    (chunk_with(tool_calls=[None]), "choices[0].delta.tool_calls[0]: expected an object, got null"),
    (
        with_fragment(index="1"),
        'choices[0].delta.tool_calls[1].index: expected an integer, got "1"',
    ),
    (
        with_fragment(index=1.0),
        "choices[0].delta.tool_calls[1].index: expected an integer, got 1.0",
    ),
    (
        with_fragment(index=False),
        "choices[0].delta.tool_calls[1].index: expected an integer, got false",
    ),
    (
        with_fragment(index=-1),
        "choices[0].delta.tool_calls[1].index: expected a non-negative integer, got -1",
    ),
    (with_fragment(id=7), "choices[0].delta.tool_calls[1].id: expected a string, got 7"),
    (
        with_fragment(type=["function"]),
        "choices[0].delta.tool_calls[1].type: expected a string, got a list",
    ),
    (
        with_fragment(function="f"),
        'choices[0].delta.tool_calls[1].function: expected an object, got "f"',
    ),
    (
        with_fragment(function={"name": 3}),
        "choices[0].delta.tool_calls[1].function.name: expected a string, got 3",
    ),
    (
        with_fragment(function={"arguments": {"a": 1}}),
        "choices[0].delta.tool_calls[1].function.arguments: expected a string, got an object",
    ),
    (
        with_fragment(function={"arguments": 12}),
        "choices[0].delta.tool_calls[1].function.arguments: expected a string, got 12",
    ),
    ({"id": "c", "choices": [], "usage": 7}, "usage: expected an object, got 7"),
    ({"id": "c", "choices": [], "usage": "x"}, 'usage: expected an object, got "x"'),
    ({"usage": {"prompt_tokens": "3"}}, 'usage.prompt_tokens: expected an integer, got "3"'),
    (
        {"usage": {"completion_tokens": 1.0}},
        "usage.completion_tokens: expected an integer, got 1.0",
    ),
    ({"usage": {"total_tokens": True}}, "usage.total_tokens: expected an integer, got true"),
    (
        {"usage": {"total_tokens": -1}},
        "usage.total_tokens: expected a non-negative integer, got -1",
    ),
    (
        {"usage": {"prompt_tokens_details": 5}},
        "usage.prompt_tokens_details: expected an object, got 5",
    ),
    (
        {"usage": {"prompt_tokens_details": {"cached_tokens": "x"}}},
        'usage.prompt_tokens_details.cached_tokens: expected an integer, got "x"',
    ),
]


@pytest.mark.parametrize(("payload", "message"), HOSTILE)
def test_each_wrong_shape_raises_malformed_chunk_naming_its_path(payload, message):
    with pytest.raises(MalformedChunk) as caught:
        parse_chunk(payload)
    assert str(caught.value) == message


@pytest.mark.parametrize(("payload", "message"), HOSTILE)
def test_wrong_shapes_are_caught_after_a_real_json_round_trip(payload, message):
    with pytest.raises(MalformedChunk) as caught:
        parse_chunk(decode_payload(json.dumps(payload)))
    assert str(caught.value) == message


def test_a_long_wrong_string_is_cut_in_the_message():
    with pytest.raises(MalformedChunk) as caught:
        parse_chunk(chunk_with(content=None, tool_calls="y" * 10_000))
    assert str(caught.value) == (
        f'choices[0].delta.tool_calls: expected a list, got "{"y" * 40}"...'
    )


def test_malformed_chunk_is_a_value_error():
    assert issubclass(MalformedChunk, ValueError)
    assert not issubclass(MalformedChunk, StreamErrorEvent)


@pytest.mark.parametrize(
    ("data", "start"),
    [
        ("", "chunk: not valid JSON"),
        ("{", "chunk: not valid JSON"),
        ('{"id": "c"', "chunk: not valid JSON"),
        ("data: {}", "chunk: not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "chunk: JSON nested too deeply"),
        ('{"a":' * 100_000 + "1" + "}" * 100_000, "chunk: JSON nested too deeply"),
        ("1" * 5000, "chunk: not valid JSON"),  # more digits than int() accepts
    ],
)
def test_decode_payload_turns_every_failure_into_malformed_chunk(data, start):
    with pytest.raises(MalformedChunk) as caught:
        decode_payload(data)
    assert str(caught.value).startswith(start)


def test_decode_payload_returns_the_json():
    assert decode_payload('{"a": [1, null, "é"]}') == {"a": [1, None, "é"]}


# -- the parser: what it accepts --------------------------------------------------------------


def test_nulls_and_absences_are_accepted():
    payload = {
        "id": None,
        "choices": [
            {"index": None, "delta": None, "finish_reason": "stop"},
            {
                "delta": {
                    "role": None,
                    "content": None,
                    "tool_calls": [{"index": 0, "id": None, "type": None, "function": None}],
                }
            },
            {"delta": {"tool_calls": None}},
        ],
        "usage": {
            "prompt_tokens": None,
            "completion_tokens": 2,
            "prompt_tokens_details": None,
        },
    }
    assert parse_chunk(payload) == ParsedChunk(
        id="",
        choices=(
            ParsedChoice(0, finish_reason="stop"),
            ParsedChoice(1, tool_calls=(F(0),)),
            ParsedChoice(2),
        ),
        usage=CompletionUsage(prompt_tokens=0, completion_tokens=2, total_tokens=0),
    )
    assert parse_chunk({}) == ParsedChunk(id="")
    assert parse_chunk({"choices": None, "usage": None}) == ParsedChunk(id="")


def test_a_fragment_without_index_is_left_to_the_assembler():
    parsed = parse_chunk(chunk_with(tool_calls=[{"function": {"arguments": "x"}}]))
    assert parsed.choices[0].tool_calls == (F(None, arguments="x"),)


def test_unknown_finish_reasons_and_tool_types_are_accepted():
    parsed = parse_chunk(
        chat_chunk(
            "c", 1, "m", {"tool_calls": [{"index": 0, "type": "custom", "id": "a"}]}, "weird"
        )
    )
    assert parsed.choices == (ParsedChoice(0, tool_calls=(F(0, "a"),), finish_reason="weird"),)


def test_unknown_keys_are_ignored_everywhere():
    plain = chat_chunk(
        "c",
        1,
        "m",
        {"role": "assistant", "content": "hi", "tool_calls": [tool_call_header(0, "a", "f", "{}")]},
        "stop",
    )
    plain["usage"] = usage_object(3, 4, cached_tokens=1)
    noisy = copy.deepcopy(plain)
    noisy.update(service_tier="default", system_fingerprint="fp", obfuscation="zz", x=[{}])
    choice = noisy["choices"][0]
    choice.update(logprobs={"content": [1]}, stop_reason=None, matched_stop=5)
    choice["delta"].update(refusal=None, reasoning_content="hmm", reasoning=None, audio={})
    fragment = choice["delta"]["tool_calls"][0]
    fragment.update(extra_content={"google": {}}, position=3)
    fragment["function"].update(strict=True, description=1)
    noisy["usage"].update(cost=0.1, billing={"x": 1})
    noisy["usage"]["prompt_tokens_details"].update(audio_tokens=None, image_tokens="?")
    noisy["usage"]["completion_tokens_details"] = "not even checked"
    assert parse_chunk(noisy) == parse_chunk(plain)
    assert parse_chunk(plain) == ParsedChunk(
        id="c",
        choices=(
            ParsedChoice(
                0,
                content="hi",
                role="assistant",
                finish_reason="stop",
                tool_calls=(F(0, "a", "f", "{}"),),
            ),
        ),
        usage=CompletionUsage(
            prompt_tokens=3, completion_tokens=4, prompt_cached_tokens=1, total_tokens=7
        ),
    )


# -- the server-side shape check (LLM-SSE-2) ----------------------------------------------------


def test_conforming_chunks_have_no_problems():
    assert chunk_problems(chat_chunk("c", 1, "m", role_delta())) == []
    for reason in FINISH_REASONS:
        assert chunk_problems(chat_chunk("c", 1, "m", {}, reason)) == []
    assert (
        chunk_problems(usage_chunk(usage_object(1, 2), completion_id="c", created=1, model="m"))
        == []
    )


def good() -> dict:
    return chat_chunk("c", 1, "m", {})


def changed(**top: object) -> dict:
    chunk = good()
    chunk.update(top)
    return chunk


def choice_changed(**fields: object) -> dict:
    chunk = good()
    chunk["choices"][0].update(fields)
    return chunk


def choice_without(key: str) -> dict:
    chunk = good()
    del chunk["choices"][0][key]
    return chunk


FINISH_TUPLE = "(None, 'stop', 'tool_calls', 'length', 'content_filter')"


@pytest.mark.parametrize(
    ("chunk", "problems"),
    [
        ([1], ["not an object: [1]"]),
        (changed(id=""), ["id '' is not a non-empty string"]),
        (changed(id=5), ["id 5 is not a non-empty string"]),
        (changed(object="chat.completion"), ["object is 'chat.completion'"]),
        (changed(created="1"), ["created '1' is not an integer"]),
        (changed(created=True), ["created True is not an integer"]),
        (changed(model=None), ["model None is not a string"]),
        (changed(usage=7), ["usage 7 is neither null nor an object"]),
        (changed(choices={}), ["choices {} is not a list"]),
        (
            changed(id="", choices=None),
            ["id '' is not a non-empty string", "choices None is not a list"],
        ),
        (changed(choices=[1]), ["choices[0] is not an object"]),
        (choice_without("index"), ["choices[0].index None is not an integer"]),
        (choice_changed(delta=None), ["choices[0].delta None is no object"]),
        (
            choice_without("finish_reason"),
            [f"choices[0].finish_reason '<absent>' is not one of {FINISH_TUPLE}"],
        ),
        (
            choice_changed(finish_reason="weird"),
            [f"choices[0].finish_reason 'weird' is not one of {FINISH_TUPLE}"],
        ),
    ],
)
def test_chunk_problems_flags_each_shape_problem(chunk, problems):
    assert chunk_problems(chunk) == problems
