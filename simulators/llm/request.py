"""Reading a chat completion request: its checks and the parts the LLM simulator acts on (SPEC
§2.1, SRV-1).

A request is checked against one table, :data:`CHAT_COMPLETION_REQUEST`, before anything acts
on it: every field the simulator knows has a shape (``messages`` a list of message objects,
``temperature`` a number, ``tool_choice`` one of three strings or a named function ...), and
the first value of a wrong shape is refused with a :class:`RequestError` naming its path::

    messages[2].content: expected a string, a list of parts or null, got a number

Unknown fields are accepted untouched: a gateway passes provider options through. An optional
field set to ``null`` counts as absent, as it does for the OpenAI API.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from voicewire.simulators.core.bodies import BodyRefused, decode_json

__all__ = [
    "CHAT_COMPLETION_REQUEST",
    "MAX_JSON_DEPTH",
    "MISSING",
    "ROLES",
    "AnyOf",
    "ChatCompletionRequest",
    "Fields",
    "ListOf",
    "OneOf",
    "RequestError",
    "Shape",
    "Tagged",
    "Value",
    "decode_body",
    "json_type",
    "message_text",
    "read_request",
    "request_from_json",
]

MAX_JSON_DEPTH = 128
"""The nesting depth :func:`read_request` accepts unless told otherwise (the default of
:class:`~voicewire.simulators.core.limits.Limits`)."""

ROLES = ("system", "developer", "user", "assistant", "tool")
"""The message roles a request may use."""


class RequestError(ValueError):
    """A chat completion request the simulator must refuse with HTTP 400 (SRV-1). ``path`` is
    where in the body the problem is (``""``: the body as a whole)."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


def json_type(value: Any) -> str:
    """What a decoded JSON value is, in words: ``a string``, ``a number``, ``null`` ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _described(value: Any) -> str:
    # A short string is shown as it is: "got \"robot\"" says more than "got a string".
    if isinstance(value, str) and len(value) <= 40:
        return json.dumps(value)
    return json_type(value)


# -- the shape vocabulary ----------------------------------------------------------------------

Problem = tuple[str, str, Any]
"""Where a value is wrong (its path), what was expected there, and the value found
(:data:`MISSING` when there is none)."""

MISSING = object()
"""The value of a :data:`Problem` for a required field that is absent."""


class Shape:
    """What a value of a request must look like. :meth:`fits` tests its JSON type only;
    :meth:`problem` checks it whole and names the first wrong value inside it."""

    expected: str

    def fits(self, value: Any) -> bool:
        """Whether ``value`` has the right JSON type (its contents are not looked at)."""
        raise NotImplementedError

    def inside(self, value: Any, path: str) -> Problem | None:
        """The first problem inside a value that :meth:`fits`."""
        return None

    def problem(self, value: Any, path: str) -> Problem | None:
        """The first problem of ``value`` found at ``path`` or inside it, or None."""
        if not self.fits(value):
            return path, self.expected, value
        return self.inside(value, path)


@dataclass(frozen=True)
class Value(Shape):
    """A value that ``test`` accepts (a scalar, or a container whose contents are free)."""

    test: Callable[[Any], bool]
    expected: str

    def fits(self, value: Any) -> bool:
        """``test(value)``."""
        return self.test(value)


@dataclass(frozen=True)
class OneOf(Shape):
    """One of a few exact values (``"auto"``, ``"required"``, ``"none"``)."""

    values: tuple[Any, ...]
    expected: str

    def fits(self, value: Any) -> bool:
        """Whether ``value`` is one of :attr:`values` (``1`` is not ``true``)."""
        return any(type(value) is type(v) and value == v for v in self.values)


@dataclass(frozen=True)
class ListOf(Shape):
    """A list whose every item has the shape ``item``."""

    item: Shape
    expected: str

    def fits(self, value: Any) -> bool:
        """Whether ``value`` is a list."""
        return isinstance(value, list)

    def inside(self, value: Any, path: str) -> Problem | None:
        """The first wrong item."""
        for index, item in enumerate(value):
            found = self.item.problem(item, f"{path}[{index}]")
            if found is not None:
                return found
        return None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


@dataclass(frozen=True)
class Fields(Shape):
    """An object whose known fields have the given shapes; ``required`` ones must be present
    and not null, the others may be absent or null; unknown fields are free."""

    fields: Mapping[str, Shape]
    required: tuple[str, ...] = ()
    expected: str = "an object"

    def fits(self, value: Any) -> bool:
        """Whether ``value`` is an object."""
        return isinstance(value, dict)

    def inside(self, value: Any, path: str) -> Problem | None:
        """A missing required field, or the first wrong field, in table order."""
        for name, shape in self.fields.items():
            where = _join(path, name)
            present = value.get(name)
            if present is None:
                if name in self.required:
                    return where, shape.expected, value.get(name, MISSING)
                continue
            found = shape.problem(present, where)
            if found is not None:
                return found
        return None


@dataclass(frozen=True)
class Tagged(Shape):
    """An object told apart by its ``tag`` field (a string), with more fields checked for the
    tags listed in ``variants`` (a ``text`` part has a string ``text``); other tags are free."""

    tag: str
    variants: Mapping[str, Fields] = field(default_factory=dict)
    expected: str = "an object"

    def fits(self, value: Any) -> bool:
        """Whether ``value`` is an object."""
        return isinstance(value, dict)

    def inside(self, value: Any, path: str) -> Problem | None:
        """A missing or non-string tag, or the first problem of its variant's fields."""
        tag = value.get(self.tag, MISSING)
        if not isinstance(tag, str):
            return _join(path, self.tag), "a string", tag
        variant = self.variants.get(tag)
        return variant.inside(value, path) if variant is not None else None


@dataclass(frozen=True)
class AnyOf(Shape):
    """One of several shapes, chosen by JSON type: the first option that :meth:`fits` the
    value is the one it is checked against."""

    options: tuple[Shape, ...]
    expected: str

    def fits(self, value: Any) -> bool:
        """Whether some option fits."""
        return any(option.fits(value) for option in self.options)

    def inside(self, value: Any, path: str) -> Problem | None:
        """The problem of the value under the option it fits."""
        option = next(option for option in self.options if option.fits(value))
        found = option.problem(value, path)
        if found is not None and found[0] == path and len(self.options) > 1:
            # The value itself is wrong (not something inside it): say every shape allowed.
            return path, self.expected, value
        return found


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


def _is_number(value: Any) -> bool:
    # bool is an int subclass, but JSON true is not a number.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


STRING = Value(_is_string, "a string")
NON_EMPTY_STRING = Value(lambda v: isinstance(v, str) and bool(v), "a non-empty string")
BOOLEAN = Value(lambda v: isinstance(v, bool), "a boolean")
NUMBER = Value(_is_number, "a number")
INTEGER = Value(_is_integer, "an integer")
OBJECT = Value(lambda v: isinstance(v, dict), "an object")
NULL = Value(lambda v: v is None, "null")

FUNCTION_NAME = Fields({"name": STRING}, required=("name",))

PART = Tagged("type", {"text": Fields({"text": STRING}, required=("text",))})
CONTENT = AnyOf(
    (STRING, ListOf(PART, "a list of parts"), NULL), "a string, a list of parts or null"
)
TOOL_CALL = Fields(
    {
        "id": STRING,
        "type": STRING,
        "function": Fields({"name": STRING, "arguments": STRING}, required=("name", "arguments")),
    },
    required=("id", "type", "function"),
)
MESSAGE = Fields(
    {
        "role": OneOf(ROLES, "one of " + ", ".join(ROLES)),
        "content": CONTENT,
        "name": STRING,
        "tool_calls": ListOf(TOOL_CALL, "a list of tool call objects"),
        "tool_call_id": STRING,
    },
    required=("role",),
    expected="a message object",
)
FUNCTION_TYPE = OneOf(("function",), '"function"')
TOOL = Fields(
    {
        "type": FUNCTION_TYPE,
        "function": Fields(
            {"name": STRING, "description": STRING, "parameters": OBJECT, "strict": BOOLEAN},
            required=("name",),
        ),
    },
    required=("type", "function"),
    expected="a tool object",
)
TOOL_CHOICE = AnyOf(
    (
        OneOf(("auto", "required", "none"), '"auto", "required" or "none"'),
        Fields({"type": FUNCTION_TYPE, "function": FUNCTION_NAME}, required=("type", "function")),
    ),
    '"auto", "required", "none" or {"type": "function", "function": {"name": ...}}',
)

CHAT_COMPLETION_REQUEST = Fields(
    {
        "model": NON_EMPTY_STRING,
        "messages": ListOf(MESSAGE, "a list of message objects"),
        "stream": BOOLEAN,
        "stream_options": Fields({"include_usage": BOOLEAN}),
        "tools": ListOf(TOOL, "a list of tool objects"),
        "tool_choice": TOOL_CHOICE,
        "parallel_tool_calls": BOOLEAN,
        "temperature": NUMBER,
        "top_p": NUMBER,
        "max_tokens": INTEGER,
        "max_completion_tokens": INTEGER,
        "n": INTEGER,
        "seed": INTEGER,
        "stop": AnyOf(
            (STRING, ListOf(STRING, "a list of strings")), "a string or a list of strings"
        ),
        "response_format": OBJECT,
        "user": STRING,
    },
    required=("model", "messages"),
    expected="a JSON object",
)
"""The shape of a chat completion request body: the fields the simulator knows, each checked."""


# -- reading a request ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatCompletionRequest:
    """The parts of a chat completion request the simulator acts on."""

    model: str
    messages: list[dict[str, Any]]
    stream: bool
    include_usage: bool
    tools: list[dict[str, Any]]

    @property
    def last_user_text(self) -> str:
        """The text of the last user message (``""`` without one): what ``match.text``
        searches."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return message_text(message)
        return ""


def message_text(message: Mapping[str, Any]) -> str:
    """The text of an openai message whose content is a string or a list of parts (parts
    other than text, and anything not a string, contribute nothing)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part["text"]
            for part in content
            if isinstance(part, dict)
            and part.get("type") == "text"
            and isinstance(part.get("text"), str)
        )
    return ""


def decode_body(body: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """A request body as JSON; RequestError when it is not JSON, is nested deeper than
    ``max_depth`` or holds a number Python cannot convert."""
    try:
        return decode_json(body, max_depth=max_depth)
    except BodyRefused as exc:
        raise RequestError(exc.message) from None


def read_request(body: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> ChatCompletionRequest:
    """Decode and check a request body; RequestError names the offending field."""
    return request_from_json(decode_body(body, max_depth=max_depth))


def request_from_json(data: Any) -> ChatCompletionRequest:
    """Check a decoded request body against :data:`CHAT_COMPLETION_REQUEST`; RequestError
    names the first offending field."""
    if not isinstance(data, dict):
        raise RequestError(f"request body must be a JSON object, got {json_type(data)}")
    found = CHAT_COMPLETION_REQUEST.problem(data, "")
    if found is not None:
        path, expected, value = found
        if value is MISSING:
            raise RequestError(f"{path}: missing, expected {expected}", path=path)
        raise RequestError(f"{path}: expected {expected}, got {_described(value)}", path=path)
    options = data.get("stream_options") or {}
    return ChatCompletionRequest(
        model=data["model"],
        messages=data["messages"],
        stream=data.get("stream") is True,
        include_usage=options.get("include_usage") is True,
        tools=data.get("tools") or [],
    )
