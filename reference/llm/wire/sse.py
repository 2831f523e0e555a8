"""Server-sent events: the one SSE codec of the LLM wire module (SPEC LLM-SSE-1, LLM-ROB-1).

:class:`SSEDecoder` is the client side: bytes in, :class:`SSEEvent` out, following the WHATWG
EventSource parsing rules, for any way the body is cut into reads. :func:`encode_event`,
:data:`DONE_EVENT` and :func:`encode_comment` are the server side, byte for byte what the
simulator has always written. :func:`strict_framing` is the server-side conformance check of
LLM-SSE-1, which is stricter than what a client must accept.

Everything here is pure and synchronous: no sockets, no event loop.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "DEFAULT_MAX_LINE_BYTES",
    "DONE_EVENT",
    "SSEDecodeError",
    "SSEDecoder",
    "SSEEvent",
    "encode_comment",
    "encode_event",
    "strict_framing",
]

DONE_EVENT = b"data: [DONE]\n\n"
"""The event that ends every chat completion stream (LLM-SSE-1)."""

DEFAULT_MAX_LINE_BYTES = 32 * 1024 * 1024
"""Default bound on one line. A 16 MiB chunk (a long tool-call argument sent whole) fits, with
room for its JSON escaping; anything longer is a hostile or broken server."""

DEFAULT_MAX_EVENT_BYTES = 32 * 1024 * 1024
"""Default bound on the data of one pending event (all of its ``data`` lines together)."""

_BOM = b"\xef\xbb\xbf"
# SSE knows three line ends; "\r\n" must be tried before "\r" so it counts as one.
_LINE_END = re.compile(rb"\r\n|\r|\n")
_TEXT_LINE_END = re.compile(r"\r\n|\r|\n")
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))
_COMPACT_UTF8_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


class SSEDecodeError(ValueError):
    """The body cannot be read as SSE: a line or an event exceeds its limit, or a line is not
    UTF-8. The decoder is unusable afterwards (the stream is broken, not the event)."""


@dataclass(frozen=True)
class SSEEvent:
    """One dispatched event.

    ``data`` is its ``data`` lines joined with ``"\\n"``. ``event``, ``id`` and ``retry`` are
    the fields given in this event's own block, ``None`` when absent (unlike EventSource's
    ``lastEventId``, ``id`` does not carry over from earlier events; see
    :attr:`SSEDecoder.last_event_id` for that).
    """

    data: str
    event: str | None = None
    id: str | None = None
    retry: int | None = None

    def encode(self, newline: str = "\n") -> bytes:
        """This event as SSE bytes, every line ended by ``newline`` (``"\\n"``, ``"\\r\\n"``
        or ``"\\r"``), then a blank line.

        Line breaks in ``data`` become separate ``data`` lines, so they decode as ``"\\n"``.
        Raises ``ValueError`` for what SSE cannot carry: a line break in ``event`` or ``id``,
        a NUL in ``id`` (a decoder ignores such an id), a negative ``retry``.
        """
        if newline not in ("\n", "\r\n", "\r"):
            raise ValueError(f"newline must be '\\n', '\\r\\n' or '\\r', got {newline!r}")
        lines: list[str] = []
        if self.event is not None:
            if _TEXT_LINE_END.search(self.event):
                raise ValueError(f"event must not contain a line break: {self.event!r}")
            lines.append(f"event: {self.event}")
        if self.id is not None:
            if _TEXT_LINE_END.search(self.id) or "\x00" in self.id:
                raise ValueError(f"id must not contain a line break or NUL: {self.id!r}")
            lines.append(f"id: {self.id}")
        if self.retry is not None:
            if self.retry < 0:
                raise ValueError(f"retry must be >= 0, got {self.retry}")
            lines.append(f"retry: {self.retry}")
        lines.extend(f"data: {line}" for line in _TEXT_LINE_END.split(self.data))
        return (newline.join(lines) + newline + newline).encode("utf-8")


class SSEDecoder:
    """Incremental SSE parser (WHATWG EventSource rules), sans-IO.

    :meth:`feed` takes the body in pieces cut anywhere (inside a line, inside a UTF-8
    character, between ``\\r`` and ``\\n``) and returns the events those bytes completed;
    :meth:`end` closes the body. Lines end with ``\\r\\n``, ``\\n`` or ``\\r``; ``:`` lines are
    comments; ``field: value`` loses one leading space; ``data`` lines join with ``\\n``; a
    blank line dispatches the event if it had a ``data`` line; unknown fields are ignored; a
    leading UTF-8 BOM is skipped.

    ``max_line_bytes`` bounds one line and ``max_event_bytes`` the data of one pending event,
    so a server cannot make the client buffer without end; exceeding either, or a line that
    is not UTF-8, raises :class:`SSEDecodeError`.
    """

    def __init__(
        self,
        *,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        limits = (("max_line_bytes", max_line_bytes), ("max_event_bytes", max_event_bytes))
        for name, value in limits:
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        self.max_line_bytes = max_line_bytes
        self.max_event_bytes = max_event_bytes
        self._last_event_id = ""
        self._reset()

    def _reset(self) -> None:
        # The unterminated line so far, kept as pieces: joining on every read would make a
        # long line cost quadratic time.
        self._partial: list[bytes] = []
        self._partial_bytes = 0
        # The last read ended with "\r": a "\n" starting the next read belongs to that line end.
        self._skip_lf = False
        self._first_line = True
        self._data: list[str] = []
        self._data_bytes = 0
        self._event: str | None = None
        self._id: str | None = None
        self._retry: int | None = None

    @property
    def last_event_id(self) -> str:
        """The last ``id`` field seen (EventSource's ``lastEventId``: it carries over)."""
        return self._last_event_id

    def feed(self, data: bytes) -> list[SSEEvent]:
        """Take the next bytes of the body; return the events they completed, in order."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes, got {type(data).__name__}")
        data = bytes(data)
        if self._skip_lf and data:
            self._skip_lf = False
            if data[:1] == b"\n":
                data = data[1:]
        if not data:
            return []
        if b"\r" in data:
            lines = _LINE_END.split(data)
            self._skip_lf = data.endswith(b"\r")
        else:
            lines = data.split(b"\n")
        tail = lines.pop()
        events: list[SSEEvent] = []
        if lines:
            if self._partial:
                self._partial.append(lines[0])
                lines[0] = b"".join(self._partial)
                self._partial = []
                self._partial_bytes = 0
            for line in lines:
                self._line(line, events)
        if tail:
            self._partial.append(tail)
            self._partial_bytes += len(tail)
            if self._partial_bytes > self.max_line_bytes:
                raise SSEDecodeError(f"a line exceeds max_line_bytes ({self.max_line_bytes})")
        return events

    def end(self) -> list[SSEEvent]:
        """The body is over. An event without its closing blank line is discarded (WHATWG),
        so this returns ``[]``; the decoder is then ready for a new body."""
        self._reset()
        return []

    def _line(self, line: bytes, events: list[SSEEvent]) -> None:
        if len(line) > self.max_line_bytes:
            raise SSEDecodeError(f"a line exceeds max_line_bytes ({self.max_line_bytes})")
        if self._first_line:
            self._first_line = False
            if line.startswith(_BOM):
                line = line[len(_BOM) :]
        if not line:
            self._dispatch(events)
            return
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SSEDecodeError(f"a line is not UTF-8: {exc}") from None
        if text[0] == ":":
            return
        name, colon, value = text.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data_bytes += len(line)
            if self._data_bytes > self.max_event_bytes:
                raise SSEDecodeError(
                    f"an event's data exceeds max_event_bytes ({self.max_event_bytes})"
                )
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            # WHATWG ignores an id with NUL: it could not be sent back as Last-Event-ID.
            if "\x00" not in value:
                self._id = value
                self._last_event_id = value
        # Only ASCII digits count; isdigit() alone would accept "²". A number too long for
        # int() is as meaningless as a non-number, so it is ignored too.
        elif name == "retry" and value.isascii() and value.isdigit() and len(value) <= 18:
            self._retry = int(value)

    def _dispatch(self, events: list[SSEEvent]) -> None:
        if self._data:
            events.append(
                SSEEvent(
                    data="\n".join(self._data),
                    event=self._event or None,
                    id=self._id,
                    retry=self._retry,
                )
            )
        self._data = []
        self._data_bytes = 0
        self._event = None
        self._id = None
        self._retry = None


def encode_event(payload: object, *, ascii_only: bool = True) -> bytes:
    """One SSE event (LLM-SSE-1): ``data: <compact JSON>\\n\\n`` for a JSON-ready object,
    the exact bytes the simulator has always sent (``json.dumps`` with ``(",", ":")``
    separators and ASCII escapes). ``ascii_only=False`` writes non-ASCII characters as raw
    UTF-8 instead, as many servers do. A ``str`` is sent as is, one ``data`` line per line."""
    if isinstance(payload, str):
        lines = _TEXT_LINE_END.split(payload)
        return "".join(f"data: {line}\n" for line in lines).encode("utf-8") + b"\n"
    encoder = _COMPACT_JSON if ascii_only else _COMPACT_UTF8_JSON
    return b"data: " + encoder.encode(payload).encode("utf-8") + b"\n\n"


def encode_comment(text: str = "") -> bytes:
    """A comment block (a keep-alive): ``: text\\n\\n``, one ``:`` line per line of ``text``.
    Decoders ignore it, and it may stand between any two events."""
    lines = _TEXT_LINE_END.split(text)
    return "".join(f": {line}\n" if line else ":\n" for line in lines).encode("utf-8") + b"\n"


def strict_framing(body: bytes) -> tuple[list[str], list[str]]:
    """The ``data:`` payloads of a whole stream body and what breaks LLM-SSE-1's framing.

    This is the server-side check, stricter than a client's decoder: frames are separated by
    ``\\n\\n``; comment lines (``:``) and blank keep-alives are ignored; every other frame must
    be exactly one ``data: <payload>`` line; the body must end with a blank line; the last
    payload must be ``[DONE]``, exactly once; the body must be UTF-8 (if it is not, no
    payloads are returned).
    """
    problems: list[str] = []
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [], [f"the stream is not UTF-8: {exc}"]
    if not text.endswith("\n\n"):
        problems.append(f"the stream does not end with a blank line: ...{text[-60:]!r}")
    payloads: list[str] = []
    for number, frame in enumerate(text.split("\n\n")):
        lines = [line for line in frame.split("\n") if line and not line.startswith(":")]
        if not lines:
            continue
        if len(lines) != 1 or not lines[0].startswith("data: "):
            problems.append(f"frame {number} is not one 'data: ' line: {frame[:80]!r}")
            continue
        payloads.append(lines[0][len("data: ") :])
    if not payloads or payloads[-1] != "[DONE]":
        last = payloads[-1][:80] if payloads else None
        problems.append(f"the last data frame is {last!r}, not [DONE]")
    if payloads.count("[DONE]") > 1:
        problems.append(f"[DONE] appears {payloads.count('[DONE]')} times")
    return payloads, problems
