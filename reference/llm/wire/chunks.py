"""Chat completion chunks: building them (server) and reading them (client) (SPEC §2.2).

Server side: the builders return today's simulator payloads, same keys in the same order, so
:func:`~voicewire.reference.llm.wire.sse.encode_event` over them gives the same bytes; and
:func:`chunk_problems` is the conformance check of LLM-SSE-2's shape.

Client side: :func:`decode_payload` and :func:`parse_chunk` turn an event's data into a typed
:class:`ParsedChunk`. They trust nothing (LLM-ROB-1): every wrong shape or type raises
:class:`MalformedChunk` with the JSON path of the offending value, and an in-band error object
raises :class:`StreamErrorEvent`. Unknown keys are ignored wherever they appear (LLM-ROB-2).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from voicewire.reference.llm.chat_chunk import CompletionUsage, FunctionToolCall
from voicewire.reference.llm.tool_calls import ToolCallFragment

__all__ = [
    "FINISH_REASONS",
    "MalformedChunk",
    "ParsedChoice",
    "ParsedChunk",
    "StreamErrorEvent",
    "chat_chunk",
    "chunk_problems",
    "completion_object",
    "content_delta",
    "decode_payload",
    "models_payload",
    "parse_chunk",
    "parse_completion",
    "role_delta",
    "tool_call_arguments",
    "tool_call_header",
    "tool_calls_delta",
    "usage_chunk",
    "usage_object",
]

FINISH_REASONS: tuple[str | None, ...] = (None, "stop", "tool_calls", "length", "content_filter")
"""The ``finish_reason`` values LLM-SSE-2 allows a server to send. A client accepts others."""


# -- errors ------------------------------------------------------------------------------------


class MalformedChunk(ValueError):
    """A chunk's JSON is invalid or has the wrong shape or types (LLM-ROB-1). The message
    starts with the JSON path of the offending value, e.g. ``choices[0].delta.content``."""


class StreamErrorEvent(ValueError):
    """The server sent an error object inside the stream (``{"error": {...}}`` as a chunk, as
    OpenAI does mid-stream). ``body`` is that error object. Not a :class:`MalformedChunk`: the
    server spoke correctly, it just reported a failure (RETRY-1 still makes it an
    ``APIConnectionError`` in the client)."""

    message: str
    body: object

    def __init__(self, message: str, body: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.body = body


# -- server side: builders ---------------------------------------------------------------------


def chat_chunk(
    completion_id: str,
    created: int,
    model: str,
    delta: dict[str, Any],
    finish_reason: str | None = None,
) -> dict[str, Any]:
    """One ``chat.completion.chunk`` with a single choice (LLM-SSE-2). ``delta`` is embedded
    as given (not copied)."""
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        "usage": None,
    }


def role_delta() -> dict[str, Any]:
    """The delta of a stream's first chunk, as OpenAI sends it: the role, empty content."""
    return {"role": "assistant", "content": "", "refusal": None}


def content_delta(text: str) -> dict[str, Any]:
    """A delta carrying one piece of text."""
    return {"content": text}


def tool_calls_delta(fragments: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A delta carrying tool-call fragments (built by :func:`tool_call_header` and
    :func:`tool_call_arguments`), in the given order."""
    return {"tool_calls": list(fragments)}


def tool_call_header(
    index: int, call_id: str | None, name: str, arguments: str = ""
) -> dict[str, Any]:
    """The first fragment of a tool call (LLM-SSE-3). ``call_id=None`` leaves ``id`` out, as
    some servers do."""
    fragment: dict[str, Any] = {"index": index}
    if call_id is not None:
        fragment["id"] = call_id
    fragment["type"] = "function"
    fragment["function"] = {"name": name, "arguments": arguments}
    return fragment


def tool_call_arguments(index: int, piece: str) -> dict[str, Any]:
    """A later fragment of a tool call: one more piece of its arguments (LLM-SSE-3)."""
    return {"index": index, "function": {"arguments": piece}}


def usage_object(
    prompt_tokens: int,
    completion_tokens: int,
    *,
    cached_tokens: int = 0,
    reasoning_tokens: int = 0,
) -> dict[str, Any]:
    """A server usage object (LLM-SSE-4); ``total_tokens`` is the sum of the two counts."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
    }


def usage_chunk(
    usage: dict[str, Any], *, completion_id: str, created: int, model: str
) -> dict[str, Any]:
    """The usage chunk that ends a completion: no choices, the usage object (LLM-SSE-4)."""
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [],
        "usage": usage,
    }


def completion_object(
    completion_id: str,
    created: int,
    model: str,
    *,
    content: str | None,
    tool_calls: Sequence[FunctionToolCall] = (),
    finish_reason: str = "stop",
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The non-streaming ``chat.completion`` object: one choice whose ``message`` holds the
    whole ``content`` and ``tool_calls`` (omitted when there are none)."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = [
            {
                "id": call.call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in tool_calls
        ]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": usage,
    }


def models_payload(models: Iterable[str]) -> dict[str, Any]:
    """The answer to ``GET /models``: ``{"object": "list", "data": [...]}``."""
    return {
        "object": "list",
        "data": [
            {"id": model, "object": "model", "created": 0, "owned_by": "voicewire"}
            for model in models
        ],
    }


# -- server side: the conformance check --------------------------------------------------------


def _is_int(value: object) -> bool:
    # bool is an int subclass, but `true` is not a JSON integer.
    return isinstance(value, int) and not isinstance(value, bool)


def chunk_problems(chunk: Any) -> list[str]:
    """What in one decoded chunk departs from LLM-SSE-2's shape (server side, strict): one
    message per problem, ``[]`` for a conforming chunk."""
    if not isinstance(chunk, dict):
        return [f"not an object: {chunk!r:.80}"]
    problems = []
    if not isinstance(chunk.get("id"), str) or not chunk["id"]:
        problems.append(f"id {chunk.get('id')!r} is not a non-empty string")
    if chunk.get("object") != "chat.completion.chunk":
        problems.append(f"object is {chunk.get('object')!r}")
    if not _is_int(chunk.get("created")):
        problems.append(f"created {chunk.get('created')!r} is not an integer")
    if not isinstance(chunk.get("model"), str):
        problems.append(f"model {chunk.get('model')!r} is not a string")
    # An absent usage key reads as null.
    if chunk.get("usage") is not None and not isinstance(chunk["usage"], dict):
        problems.append(f"usage {chunk['usage']!r:.60} is neither null nor an object")
    choices = chunk.get("choices")
    if not isinstance(choices, list):
        return [*problems, f"choices {choices!r:.60} is not a list"]
    for number, choice in enumerate(choices):
        if not isinstance(choice, dict):
            problems.append(f"choices[{number}] is not an object")
            continue
        if not _is_int(choice.get("index")):
            problems.append(f"choices[{number}].index {choice.get('index')!r} is not an integer")
        if not isinstance(choice.get("delta"), dict):
            problems.append(f"choices[{number}].delta {choice.get('delta')!r:.60} is no object")
        if "finish_reason" not in choice or choice["finish_reason"] not in FINISH_REASONS:
            problems.append(
                f"choices[{number}].finish_reason {choice.get('finish_reason', '<absent>')!r} "
                f"is not one of {FINISH_REASONS}"
            )
    return problems


# -- client side: parsing ----------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedChoice:
    """One choice of a chunk, as far as the client uses it.

    ``index`` is the choice's index (its position in ``choices`` when absent); ``content`` and
    ``role`` are ``None`` when absent or null; ``tool_calls`` are the delta's fragments in
    wire order.
    """

    index: int
    content: str | None = None
    tool_calls: tuple[ToolCallFragment, ...] = ()
    finish_reason: str | None = None
    role: str | None = None


@dataclass(frozen=True)
class ParsedChunk:
    """One chunk, checked and typed. ``id`` is ``""`` when the server sent none; ``usage`` is
    the server's usage object in ChatChunk form (null counts are 0, LLM-USG-1)."""

    id: str
    choices: tuple[ParsedChoice, ...] = ()
    usage: CompletionUsage | None = None


def decode_payload(data: str) -> object:
    """An event's data as JSON. Invalid JSON, JSON nested deeper than the parser allows and
    numbers Python refuses (an integer of more than 4300 digits) raise :class:`MalformedChunk`."""
    try:
        return json.loads(data)
    except RecursionError:
        raise MalformedChunk("chunk: JSON nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError is one
        raise MalformedChunk(f"chunk: not valid JSON: {exc}") from None


def parse_chunk(payload: object) -> ParsedChunk:
    """A decoded ``chat.completion.chunk`` as a :class:`ParsedChunk` (client side).

    Raises :class:`StreamErrorEvent` for an in-band error object (``{"error": {...}}``) and
    :class:`MalformedChunk` for anything of the wrong shape or type (LLM-ROB-1), naming its
    path. Absent or null ``choices``, ``delta``, ``usage`` and optional strings are simply
    absent; unknown keys and unknown ``finish_reason`` strings are accepted (LLM-ROB-2).
    """
    return _parse(payload, "delta")


def parse_completion(payload: object) -> ParsedChunk:
    """A decoded non-streaming ``chat.completion`` object, read like :func:`parse_chunk` with
    each choice's ``message`` in place of its ``delta``. Its tool calls carry no ``index``:
    each gets its position in the list."""
    return _parse(payload, "message")


def _describe(value: object) -> str:
    """A short JSON-ish rendering of a wrong value for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, str):
        # Cut before quoting: the value may be megabytes long.
        return json.dumps(value[:40]) + ("..." if len(value) > 40 else "")
    if isinstance(value, int):
        return str(value) if abs(value) < 10**30 else "a very large integer"
    if isinstance(value, float):
        return json.dumps(value)
    return type(value).__name__


def _wrong(path: str, expected: str, value: object) -> MalformedChunk:
    return MalformedChunk(f"{path}: expected {expected}, got {_describe(value)}")


def _optional_str(container: Mapping[str, Any], key: str, path: str) -> str | None:
    value = container.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _wrong(f"{path}{key}", "a string", value)


def _count(container: Mapping[str, Any], key: str, path: str) -> int:
    value = container.get(key)
    if value is None:
        return 0
    if not _is_int(value):
        raise _wrong(f"{path}{key}", "an integer", value)
    if value < 0:
        raise _wrong(f"{path}{key}", "a non-negative integer", value)
    return value


def _parse(payload: object, body_key: str) -> ParsedChunk:
    if not isinstance(payload, Mapping):
        raise _wrong("chunk", "an object", payload)
    if "error" in payload:
        error = payload["error"]
        if not isinstance(error, Mapping):
            # Not an error object, and not a chunk either: a chunk has no "error" key.
            raise _wrong("error", "an object", error)
        message = error.get("message")
        if not isinstance(message, str) or not message:
            message = "the server sent an error in the stream"
        raise StreamErrorEvent(message, dict(error))
    chunk_id = _optional_str(payload, "id", "") or ""
    raw_choices = payload.get("choices")
    if raw_choices is None:
        raw_choices = ()
    elif not isinstance(raw_choices, (list, tuple)):
        raise _wrong("choices", "a list", raw_choices)
    choices = tuple(
        _parse_choice(raw, position, body_key) for position, raw in enumerate(raw_choices)
    )
    return ParsedChunk(id=chunk_id, choices=choices, usage=_parse_usage(payload.get("usage")))


def _parse_choice(raw: object, position: int, body_key: str) -> ParsedChoice:
    path = f"choices[{position}]"
    if not isinstance(raw, Mapping):
        raise _wrong(path, "an object", raw)
    index = raw.get("index")
    if index is None:
        index = position
    elif not _is_int(index):
        raise _wrong(f"{path}.index", "an integer", index)
    finish_reason = _optional_str(raw, "finish_reason", f"{path}.")
    body = raw.get(body_key)
    path = f"{path}.{body_key}"
    if body is None:
        return ParsedChoice(index=index, finish_reason=finish_reason)
    if not isinstance(body, Mapping):
        raise _wrong(path, "an object", body)
    return ParsedChoice(
        index=index,
        content=_optional_str(body, "content", f"{path}."),
        tool_calls=_parse_tool_calls(
            body.get("tool_calls"), f"{path}.tool_calls", positional=body_key == "message"
        ),
        finish_reason=finish_reason,
        role=_optional_str(body, "role", f"{path}."),
    )


def _parse_tool_calls(raw: object, path: str, *, positional: bool) -> tuple[ToolCallFragment, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, (list, tuple)):
        raise _wrong(path, "a list", raw)
    fragments = []
    for position, item in enumerate(raw):
        here = f"{path}[{position}]"
        if not isinstance(item, Mapping):
            raise _wrong(here, "an object", item)
        index = item.get("index")
        if index is None:
            # A streamed fragment without index is left to the assembler's repair rule.
            index = position if positional else None
        elif not _is_int(index):
            raise _wrong(f"{here}.index", "an integer", index)
        elif index < 0:
            raise _wrong(f"{here}.index", "a non-negative integer", index)
        call_id = _optional_str(item, "id", f"{here}.")
        # Checked for its type only: a future call type is not an error (LLM-ROB-2).
        _optional_str(item, "type", f"{here}.")
        function = item.get("function")
        name = arguments = None
        if function is not None:
            if not isinstance(function, Mapping):
                raise _wrong(f"{here}.function", "an object", function)
            name = _optional_str(function, "name", f"{here}.function.")
            arguments = _optional_str(function, "arguments", f"{here}.function.")
        fragments.append(ToolCallFragment(index=index, id=call_id, name=name, arguments=arguments))
    return tuple(fragments)


def _parse_usage(raw: object) -> CompletionUsage | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise _wrong("usage", "an object", raw)
    details = raw.get("prompt_tokens_details")
    if details is None:
        cached = 0
    elif not isinstance(details, Mapping):
        raise _wrong("usage.prompt_tokens_details", "an object", details)
    else:
        cached = _count(details, "cached_tokens", "usage.prompt_tokens_details.")
    return CompletionUsage(
        completion_tokens=_count(raw, "completion_tokens", "usage."),
        prompt_tokens=_count(raw, "prompt_tokens", "usage."),
        prompt_cached_tokens=cached,
        total_tokens=_count(raw, "total_tokens", "usage."),
    )
