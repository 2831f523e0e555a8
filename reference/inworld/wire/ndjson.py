"""Newline-delimited JSON, the body of Inworld's HTTP synthesis (IW-HTTP-2).

:class:`NDJSONDecoder` cuts a byte stream into lines, sans-IO: feed it whatever the socket
delivered (a split may fall anywhere: inside a UTF-8 sequence, between ``\\r`` and ``\\n``) and
it returns the lines completed so far, numbered from 1, without their terminator (``\\n``, or
``\\r\\n``). Lines are bytes: splitting at ``\\n`` never cuts a UTF-8 sequence, and what a line
holds (blank, not UTF-8, not JSON, a message) is for the reader of the protocol to judge. A
line longer than ``max_line_bytes`` raises :class:`~voicewire.reference.json_wire.MalformedMessage`
naming it before it is buffered whole, so a peer that never sends a newline cannot make the
decoder hold more than that. :meth:`NDJSONDecoder.end` returns a last line that had no newline.

:func:`encode_ndjson_line` writes one object as a line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from voicewire.reference.json_wire import LocalProtocolError, MalformedMessage

__all__ = ["DEFAULT_MAX_LINE_BYTES", "NDJSONDecoder", "NDJSONLine", "encode_ndjson_line"]

DEFAULT_MAX_LINE_BYTES = 10 * 1024 * 1024
"""The longest line accepted by default: upstream reads the body with a 10 MiB buffer
(``read_bufsize``), the most one audio chunk's line can hold there."""


@dataclass(frozen=True, slots=True)
class NDJSONLine:
    """One line of the stream: its number (from 1) and its bytes without the terminator."""

    number: int
    data: bytes


class NDJSONDecoder:
    """Bytes in, complete lines out (see the module's docstring)."""

    def __init__(self, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        if max_line_bytes < 1:
            raise ValueError(f"max_line_bytes must be at least 1, got {max_line_bytes}")
        self.max_line_bytes = max_line_bytes
        self._buffer = bytearray()
        # Where to resume looking for "\n": the buffered bytes before it hold none, so a long
        # line fed in small pieces is scanned once, not once per piece.
        self._scanned = 0
        self._count = 0
        self._ended = False

    @property
    def lines_seen(self) -> int:
        """How many lines have been returned so far."""
        return self._count

    @property
    def buffered(self) -> int:
        """How many bytes of an incomplete line are held."""
        return len(self._buffer)

    def feed(self, data: bytes | bytearray | memoryview) -> list[NDJSONLine]:
        """The lines ``data`` completes, in order."""
        if self._ended:
            raise LocalProtocolError("IW-HTTP-2", "bytes fed to an NDJSON decoder after end()")
        self._buffer += data
        lines: list[NDJSONLine] = []
        start = 0
        while True:
            newline = self._buffer.find(b"\n", max(self._scanned, start))
            if newline < 0:
                break
            lines.append(self._line(bytes(self._buffer[start:newline])))
            start = newline + 1
        del self._buffer[:start]
        self._scanned = len(self._buffer)
        self._check_length()
        return lines

    def end(self) -> list[NDJSONLine]:
        """The last line if the stream ended without a newline after it (none if it ended
        with one). No more bytes may be fed afterwards."""
        self._ended = True
        if not self._buffer:
            return []
        last = self._line(bytes(self._buffer))
        self._buffer.clear()
        self._scanned = 0
        return [last]

    def _line(self, data: bytes) -> NDJSONLine:
        if data.endswith(b"\r"):
            data = data[:-1]
        self._count += 1
        if len(data) > self.max_line_bytes:
            raise self._too_long(self._count)
        return NDJSONLine(self._count, data)

    def _check_length(self) -> None:
        # The incomplete line is over the bound already: refuse it now rather than buffer the
        # rest. One byte of slack for a "\r" that a "\n" may still follow.
        if len(self._buffer) > self.max_line_bytes + 1:
            raise self._too_long(self._count + 1)

    def _too_long(self, number: int) -> MalformedMessage:
        return MalformedMessage(
            f"longer than {self.max_line_bytes} bytes without a newline", where=f"line {number}"
        )


def encode_ndjson_line(obj: Any) -> bytes:
    """``obj`` as one NDJSON line: compact JSON, UTF-8, a closing ``\\n``. JSON has no NaN or
    Infinity, so a value holding one raises :class:`ValueError`."""
    return (
        json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False) + "\n"
    ).encode("utf-8")
