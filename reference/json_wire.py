"""What the protocols of JSON messages share (LiveKit inference STT and TTS, Inworld TTS and
STT): a frame (or an NDJSON line) is one JSON object, named by its ``type`` field (LiveKit:
:func:`decode_typed_message`) or by the one key it holds (Inworld:
:func:`decode_keyed_message`), decoded into the typed message of its direction; the errors a
frame or a state machine raises; the field checks their message models have in common.
Sans-IO, like the wire modules built on it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

__all__ = [
    "LocalProtocolError",
    "MalformedMessage",
    "ProtocolError",
    "RemoteProtocolError",
    "UnknownMessageType",
    "as_tuple",
    "check_base64",
    "decode_keyed_message",
    "decode_typed_message",
    "describe_json_value",
    "load_json_object",
]

M = TypeVar("M", bound=BaseModel)


# -- errors ------------------------------------------------------------------------------------


class MalformedMessage(ValueError):
    """A frame is not a well-formed message of the protocol.

    ``where`` is the JSON path of the offending value (``"settings.sample_rate"``,
    ``"words[2].start"``; ``""`` for the frame as a whole), ``what`` says what is wrong, and
    ``message_type`` is the frame's ``type`` when it had a usable one.
    """

    what: str
    where: str
    message_type: str | None

    def __init__(self, what: str, *, where: str = "", message_type: str | None = None) -> None:
        super().__init__(what, where, message_type)
        self.what = what
        self.where = where
        self.message_type = message_type

    def __reduce__(self) -> tuple[Any, ...]:
        # where and message_type are keyword-only: pickle's default cls(*args) cannot rebuild it.
        return (_rebuild_malformed, (type(self), self.what, self.where, self.message_type))

    def __str__(self) -> str:
        head = self.message_type if self.message_type is not None else "frame"
        return f"{head}: {self.where}: {self.what}" if self.where else f"{head}: {self.what}"


def _rebuild_malformed(
    cls: type[MalformedMessage], what: str, where: str, message_type: str | None
) -> MalformedMessage:
    return cls(what, where=where, message_type=message_type)


class UnknownMessageType(MalformedMessage):
    """The frame is a JSON object whose ``type`` this direction does not define. A client
    ignores it (CLI-ROB-1); a server answers it with an error (SRV-1)."""

    def __init__(self, message_type: str) -> None:
        super().__init__(
            f"unknown message type {describe_json_value(message_type)}",
            where="type",
            message_type=None,
        )
        self.unknown_type = message_type

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.unknown_type,))


class ProtocolError(Exception):
    """Something the protocol forbids in this state. ``rule`` is the SPEC rule it breaks,
    ``detail`` what happened, ``state`` the state (of the protocol's own state enum) it
    happened in."""

    rule: str
    detail: str
    state: Enum | None

    def __init__(self, rule: str, detail: str, state: Enum | None = None) -> None:
        # All three in args, so the exception pickles and copies as itself.
        super().__init__(rule, detail, state)
        self.rule = rule
        self.detail = detail
        self.state = state

    def __str__(self) -> str:
        where = f" (state {self.state.value})" if self.state is not None else ""
        return f"{self.rule}: {self.detail}{where}"


class LocalProtocolError(ProtocolError):
    """This side tried to send what the protocol forbids now; nothing was sent or changed."""


class RemoteProtocolError(ProtocolError):
    """The peer sent what the protocol forbids now (or a malformed frame); the state did not
    change. A client turns it into an ``APIConnectionError`` (CLI-ROB-1); a server answers it
    with an error message (SRV-1)."""


# -- field checks ------------------------------------------------------------------------------


def as_tuple(value: object) -> object:
    """A JSON array as a tuple (a pydantic ``BeforeValidator``): the models hold tuples so
    that they stay immutable."""
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, tuple):
        return value
    raise ValueError("expected a JSON array")


def check_base64(value: str) -> str:
    """``value`` if it is strict base64 (a pydantic ``AfterValidator``)."""
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("expected base64 (RFC 4648, padded, no line breaks)") from None
    return value


# -- the codec ---------------------------------------------------------------------------------


def decode_typed_message(
    frame: str | bytes | bytearray | memoryview, types: Mapping[str, type[M]]
) -> M:
    """``frame`` as the message its ``type`` names in ``types``. Raises
    :class:`MalformedMessage` for anything that is not one (a binary frame, text that is not
    JSON or not an object, a missing or non-string ``type``, a field of the wrong shape,
    nesting too deep; :class:`UnknownMessageType` for a ``type`` not in ``types``)."""
    payload = load_json_object(frame)
    if "type" not in payload:
        raise MalformedMessage("missing", where="type")
    message_type = payload["type"]
    if not isinstance(message_type, str):
        raise MalformedMessage(
            f"expected a string, got {describe_json_value(message_type)}", where="type"
        )
    model = types.get(message_type)
    if model is None:
        raise UnknownMessageType(message_type)
    return _validate(model, payload, message_type)


def decode_keyed_message(
    frame: str | bytes | bytearray | memoryview | Mapping[str, Any],
    kinds: Mapping[str, type[M]],
) -> M:
    """``frame`` as the message of the one key of ``kinds`` it holds, for protocols that name
    a message by its key rather than by a ``type`` field (Inworld's ``{"create": {...},
    "contextId": ...}``, ``{"result": {...}}``, ``{"audioChunk": {...}}``).

    ``frame`` may be a decoded JSON object already (an NDJSON line, or a nested object).
    Raises :class:`MalformedMessage` like :func:`decode_typed_message`, also for an object
    holding two of the keys; :class:`UnknownMessageType` (named after the object's keys) for an
    object holding none of them, which a client ignores (CLI-ROB-1).
    """
    payload = frame if isinstance(frame, Mapping) else load_json_object(frame)
    present = [key for key in kinds if key in payload]
    if not present:
        keys = ", ".join(sorted(str(key) for key in payload)[:5]) or "none"
        raise UnknownMessageType(f"object with keys {keys}")
    if len(present) > 1:
        raise MalformedMessage(
            f"holds {' and '.join(present)}: a message is exactly one of " + ", ".join(kinds)
        )
    return _validate(kinds[present[0]], payload, present[0])


def load_json_object(frame: str | bytes | bytearray | memoryview) -> dict[str, Any]:
    """The JSON object of a text frame (or line), or :class:`MalformedMessage`: a binary
    frame, text that is not JSON (``NaN`` and ``Infinity`` included), nesting too deep, or a
    value that is not an object."""
    if isinstance(frame, (bytes, bytearray, memoryview)):
        raise MalformedMessage("a binary frame where a JSON text frame is expected")
    if not isinstance(frame, str):
        raise TypeError(f"frame must be str or bytes, got {type(frame).__name__}")
    try:
        payload = json.loads(frame, parse_constant=_reject_constant)
    except RecursionError:
        raise MalformedMessage("not valid JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and integers Python refuses to read
        raise MalformedMessage(f"not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise MalformedMessage(f"expected a JSON object, got {describe_json_value(payload)}")
    return payload


def _validate(model: type[M], payload: Mapping[str, Any], message_type: str) -> M:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        first = errors[0]
        what = first["msg"]
        if len(errors) > 1:
            what += f" (and {len(errors) - 1} more)"
        raise MalformedMessage(
            what, where=_path(first["loc"]) or "$", message_type=message_type
        ) from None
    except RecursionError:
        raise MalformedMessage("nested too deeply", message_type=message_type) from None


def _reject_constant(name: str) -> object:
    # json.loads accepts NaN, Infinity and -Infinity by default; JSON has none of them.
    raise ValueError(f"{name} is not JSON")


def _path(loc: Sequence[int | str]) -> str:
    """A pydantic error location as a JSON path: ``words[2].start``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not path:
            path = part
        else:
            path += f".{part}"
    return path


def describe_json_value(value: object) -> str:
    """A short JSON-ish rendering of a wrong value, for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        # Cut before quoting: the value may be megabytes long.
        return json.dumps(value[:40]) + ("..." if len(value) > 40 else "")
    if isinstance(value, int):
        return str(value) if abs(value) < 10**30 else "a very large integer"
    if isinstance(value, float):
        return json.dumps(value)
    return type(value).__name__
