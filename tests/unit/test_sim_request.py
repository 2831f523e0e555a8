"""The LLM simulator's request checks (SRV-1) and the core's JSON decoding (SRV-4, SRV-7),
without sockets: every field of the wrong type is refused naming its path, anything else is
accepted; depth is measured without recursion; echo mode survives any tool schema."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from voicewire.simulators.core.bodies import BodyRefused, decode_json, json_depth
from voicewire.simulators.llm import RequestError, echo_reply, read_request
from voicewire.simulators.llm.request import message_text

ROLES = ("system", "developer", "user", "assistant", "tool")

# A request using every field the simulator checks, each with a valid value.
VALID: dict[str, Any] = {
    "model": "openai/gpt-4.1-mini",
    "messages": [
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {}}],
            "name": "bot",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
            "tool_call_id": "c0",
        },
        {"role": "user", "content": "hello"},
    ],
    "stream": False,
    "stream_options": {"include_usage": True},
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "f",
                "description": "d",
                "parameters": {"type": "object"},
                "strict": True,
            },
        }
    ],
    "tool_choice": "auto",
    "parallel_tool_calls": True,
    "temperature": 0.5,
    "top_p": 1,
    "max_tokens": 5,
    "max_completion_tokens": 5,
    "n": 1,
    "seed": 7,
    "stop": ["x"],
    "response_format": {"type": "text"},
    "user": "u",
    "provider_option": {"anything": [1, "goes"]},  # unknown fields pass through
}


def _string(v: Any) -> bool:
    return isinstance(v, str)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _integer(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _optional(test: Callable[[Any], bool]) -> Callable[[Any], bool]:
    # An optional field set to null counts as absent.
    return lambda v: v is None or test(v)


# (path into VALID, what the field accepts: its type, tested independently of the simulator)
FIELDS: list[tuple[tuple[str | int, ...], Callable[[Any], bool]]] = [
    (("model",), lambda v: isinstance(v, str) and v != ""),
    (("messages",), lambda v: isinstance(v, list)),
    (("messages", 0), lambda v: isinstance(v, dict)),
    (("messages", 0, "role"), lambda v: isinstance(v, str) and v in ROLES),
    (("messages", 0, "content"), lambda v: v is None or isinstance(v, (str, list))),
    (("messages", 0, "content", 0), lambda v: isinstance(v, dict)),
    (("messages", 0, "content", 0, "type"), _string),
    (("messages", 0, "content", 0, "text"), _string),
    (("messages", 0, "name"), _optional(_string)),
    (("messages", 0, "tool_calls"), _optional(lambda v: isinstance(v, list))),
    (("messages", 0, "tool_calls", 0), lambda v: isinstance(v, dict)),
    (("messages", 0, "tool_calls", 0, "id"), _string),
    (("messages", 0, "tool_calls", 0, "type"), _string),
    (("messages", 0, "tool_calls", 0, "function"), lambda v: isinstance(v, dict)),
    (("messages", 0, "tool_calls", 0, "function", "name"), _string),
    (("messages", 0, "tool_calls", 0, "function", "arguments"), _string),
    (("messages", 0, "tool_call_id"), _optional(_string)),
    (("stream",), _optional(lambda v: isinstance(v, bool))),
    (("stream_options",), _optional(lambda v: isinstance(v, dict))),
    (("stream_options", "include_usage"), _optional(lambda v: isinstance(v, bool))),
    (("tools",), _optional(lambda v: isinstance(v, list))),
    (("tools", 0), lambda v: isinstance(v, dict)),
    (("tools", 0, "type"), lambda v: v == "function"),
    (("tools", 0, "function"), lambda v: isinstance(v, dict)),
    (("tools", 0, "function", "name"), _string),
    (("tools", 0, "function", "description"), _optional(_string)),
    (("tools", 0, "function", "parameters"), _optional(lambda v: isinstance(v, dict))),
    (("tools", 0, "function", "strict"), _optional(lambda v: isinstance(v, bool))),
    (
        ("tool_choice",),
        _optional(lambda v: isinstance(v, dict) or v in ("auto", "required", "none")),
    ),
    (("parallel_tool_calls",), _optional(lambda v: isinstance(v, bool))),
    (("temperature",), _optional(_number)),
    (("top_p",), _optional(_number)),
    (("max_tokens",), _optional(_integer)),
    (("max_completion_tokens",), _optional(_integer)),
    (("n",), _optional(_integer)),
    (("seed",), _optional(_integer)),
    (("stop",), _optional(lambda v: isinstance(v, (str, list)))),
    (("stop", 0), _string),
    (("response_format",), _optional(lambda v: isinstance(v, dict))),
    (("user",), _optional(_string)),
]

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from(["", "auto", "function", "text", "user", "robot"])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def path_text(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def with_value(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    request = copy.deepcopy(VALID)
    node: Any = request
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return request


@st.composite
def wrong_fields(draw: st.DrawFn) -> tuple[tuple[str | int, ...], Any]:
    """A field of :data:`FIELDS` and a value of a type it does not accept."""
    path, accepts = draw(st.sampled_from(FIELDS))
    value = draw(json_values.filter(lambda v: not accepts(v)))
    return path, value


def test_the_valid_request_is_valid():
    request = read_request(json.dumps(VALID).encode())
    assert request.model == VALID["model"] and request.include_usage is True
    assert request.last_user_text == "hello"


@pytest.mark.spec("SRV-1")
@settings(max_examples=300)
@given(wrong_fields())
def test_a_field_of_the_wrong_type_is_refused_naming_its_path(case):
    path, value = case
    with pytest.raises(RequestError) as caught:
        read_request(json.dumps(with_value(path, value)).encode())
    where = path_text(path)
    assert str(caught.value).startswith(f"{where}: "), str(caught.value)
    assert caught.value.path == where


@pytest.mark.spec("SRV-1")
@given(st.sampled_from(FIELDS), json_values)
def test_any_value_a_field_accepts_passes(field, value):
    path, accepts = field
    if not accepts(value) or isinstance(value, (list, dict)):
        return  # containers are checked inside: their contents are other cases
    read_request(json.dumps(with_value(path, value)).encode())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {
                "model": "m",
                "messages": [{"role": "user"}, {"role": "user"}, {"role": "user", "content": 1}],
            },
            "messages[2].content: expected a string, a list of parts or null, got a number",
        ),
        ({"model": "m"}, "messages: missing, expected a list of message objects"),
        ({"model": "", "messages": []}, 'model: expected a non-empty string, got ""'),
        ({"model": "m", "messages": [], "n": 1.0}, "n: expected an integer, got a number"),
        ({"model": "m", "messages": [], "seed": True}, "seed: expected an integer, got a boolean"),
        (
            {"model": "m", "messages": [], "tool_choice": {"type": "function", "function": {}}},
            "tool_choice.function.name: missing, expected a string",
        ),
        (
            {"model": "m", "messages": [{"role": "user", "content": [{"text": "x"}]}]},
            "messages[0].content[0].type: missing, expected a string",
        ),
    ],
)
def test_messages_name_the_path_the_expectation_and_what_was_found(body, message):
    with pytest.raises(RequestError) as caught:
        read_request(json.dumps(body).encode())
    assert str(caught.value) == message


def test_message_text_takes_only_string_text_parts():
    message = {
        "role": "user",
        "content": [
            {"type": "text", "text": "a"},
            {"type": "text", "text": 5},
            {"type": "image_url"},
            "stray",
            {"type": "text", "text": "b"},
        ],
    }
    assert message_text(message) == "a\nb"


# -- JSON depth and numbers ---------------------------------------------------------------------

nested = st.recursive(
    st.none() | st.integers() | st.text(alphabet='[]{}"\\ab', max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}a"', max_size=3), inner, max_size=3)
    ),
    max_leaves=12,
)


def depth_of(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 0


@pytest.mark.spec("SRV-4")
@given(nested)
def test_json_depth_counts_arrays_and_objects_and_ignores_brackets_in_strings(value):
    assert json_depth(json.dumps(value).encode()) == depth_of(value)


@pytest.mark.spec("SRV-4")
def test_a_document_at_the_depth_limit_decodes_and_one_deeper_is_refused():
    assert decode_json(b"[" * 64 + b"]" * 64, max_depth=64) == json.loads(b"[" * 64 + b"]" * 64)
    with pytest.raises(BodyRefused, match="deeper than 64 levels") as caught:
        decode_json(b"[" * 65 + b"]" * 65, max_depth=64)
    assert caught.value.status == 400


@pytest.mark.spec("SRV-1")
@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"[" * 5000 + b"]" * 5000, "deeper than 128 levels"),
        (b'{"n": ' + b"9" * 5000 + b"}", "number that cannot be decoded"),
        (b"\xff\xfe\xfd", "not UTF-8"),
        (b"{nope", "not valid JSON"),
        (b'{"temperature": NaN}', "NaN is not a JSON number"),
        (b'{"temperature": -Infinity}', "-Infinity is not a JSON number"),
        (b'{"temperature": 1e999}', "too large for a double"),
    ],
)
def test_what_python_cannot_decode_is_a_400_naming_it(document, message):
    with pytest.raises(BodyRefused, match=message) as caught:
        decode_json(document, max_depth=128)
    assert caught.value.status == 400


# -- echo mode and any tool schema --------------------------------------------------------------


@pytest.mark.spec("SRV-1")
@given(
    parameters=st.dictionaries(
        st.sampled_from(["type", "properties", "required", "enum", "anyOf", "oneOf", "items"]),
        json_values,
        max_size=5,
    )
)
def test_echo_answers_whatever_schema_a_tool_has(parameters):
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "please call lookup"}],
        "tools": [{"type": "function", "function": {"name": "lookup", "parameters": parameters}}],
    }
    reply = echo_reply(read_request(json.dumps(body).encode()))
    assert reply.tool_calls[0].name == "lookup"
    json.loads(reply.tool_calls[0].arguments_text)
