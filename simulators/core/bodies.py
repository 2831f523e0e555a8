"""Request bodies under limits: reading them (size, deadline) and decoding JSON (depth, numbers).

A peer controls every byte of a body, so nothing here trusts one:

- :func:`read_body` refuses a body larger than the limit from its ``Content-Length`` before
  reading a byte, and a chunked (or lying) body as soon as it outgrows the limit (413); a
  body that does not arrive within the deadline is refused with 408;
- :func:`decode_json` refuses a document nested deeper than the limit *before* decoding it
  (the standard decoder recurses: about a thousand levels raise ``RecursionError``), and
  names what else is wrong: not UTF-8, not JSON, an integer of more than 4,300 digits
  (which Python refuses to convert), ``NaN`` or a number too large for a double (which JSON
  cannot carry back out). Every refusal is a :class:`BodyRefused` carrying the
  status to answer, so a handler answers it as JSON without a case of its own.

Everything is synchronous and pure except :func:`read_body`; :func:`decode_json` is safe to
run in a worker thread (bodies over :data:`OFFLOAD_BYTES` are, so a large body never holds
the event loop while it is scanned and checked).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from typing import Any

import numpy as np
from aiohttp import web

__all__ = ["OFFLOAD_BYTES", "BodyRefused", "decode_json", "json_depth", "read_body"]

OFFLOAD_BYTES = 256 * 1024
"""Bodies larger than this are decoded and checked in a worker thread, off the event loop."""

# A JSON string, escapes included, matched without backtracking (the "unrolled loop" form:
# each character is consumed by exactly one branch, so a long string costs one linear pass).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPEN_ARRAY, _OPEN_OBJECT = b"[{"
# The depth of a long skeleton is summed in slices, so the temporary arrays stay small.
_SLICE = 1 << 20


class _NotJSON(ValueError):
    pass


def _not_json(name: str) -> Any:
    # Python's decoder takes NaN and Infinity, which JSON (RFC 8259) does not have: a body
    # holding one could not be written back as JSON (the journal would serve invalid JSON).
    raise _NotJSON(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):
        raise _NotJSON(f"{text[:40]} is too large for a double")
    return value


class BodyRefused(Exception):
    """A request body the server refuses: answer ``status`` with a JSON error naming
    ``message`` (``kind`` is the error ``type``)."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        super().__init__(status, message, kind)
        self.status = status
        self.message = message
        self.kind = kind

    def __str__(self) -> str:
        return self.message


def json_depth(document: bytes, *, stop_above: int | None = None) -> int:
    """How deeply arrays and objects nest in a JSON text, found without decoding it.

    Brackets inside strings do not count. The text need not be valid JSON (an unterminated
    string counts its brackets). With ``stop_above``, any result above it may be returned as
    soon as it is known to be above it: a document with fewer brackets than that is not
    scanned at all.
    """
    openers = document.count(b"[") + document.count(b"{")
    if openers == 0:
        return 0
    if stop_above is not None and openers <= stop_above:
        return openers  # an upper bound, enough to know the limit is kept
    skeleton = _STRING.sub(b"", document).translate(None, _NOT_BRACKETS)
    deepest = 0
    level = 0
    for start in range(0, len(skeleton), _SLICE):
        piece = np.frombuffer(
            skeleton, dtype=np.uint8, count=min(_SLICE, len(skeleton) - start), offset=start
        )
        opening = (piece == _OPEN_ARRAY) | (piece == _OPEN_OBJECT)
        levels = np.cumsum(np.where(opening, 1, -1), dtype=np.int64) + level
        deepest = max(deepest, int(levels.max()))
        level = int(levels[-1])
        if stop_above is not None and deepest > stop_above:
            break
    return deepest


def decode_json(document: bytes | str, *, max_depth: int, what: str = "request body") -> Any:
    """Decode a JSON document, or :class:`BodyRefused` (400) naming the problem: nested deeper
    than ``max_depth``, not UTF-8, not JSON, a number Python refuses to convert. ``what`` names
    the document in the message."""
    raw = document if isinstance(document, bytes) else document.encode("utf-8", "surrogatepass")
    if json_depth(raw, stop_above=max_depth) > max_depth:
        raise BodyRefused(400, f"{what} nests arrays and objects deeper than {max_depth} levels")
    if isinstance(document, bytes):
        # Decoded here, strictly: json.loads would take bytes in UTF-16 or UTF-32 too, and
        # decodes UTF-8 with "surrogatepass", so encoded surrogates (ED A0 80) would pass.
        try:
            document = document.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BodyRefused(
                400, f"{what} is not UTF-8 text: {exc.reason} at byte {exc.start}"
            ) from None
    try:
        return json.loads(document, parse_constant=_not_json, parse_float=_finite)
    except _NotJSON as exc:
        raise BodyRefused(400, f"{what} is not valid JSON: {exc}") from None
    except json.JSONDecodeError as exc:
        raise BodyRefused(400, f"{what} is not valid JSON: {exc}") from None
    except RecursionError:
        # The depth scan makes this unreachable for any limit below the interpreter's own;
        # kept so a limit set higher than that still answers 400, not 500.
        raise BodyRefused(400, f"{what} nests arrays and objects too deeply to decode") from None
    except ValueError as exc:
        # Python refuses integers of more than 4,300 digits (int_max_str_digits).
        raise BodyRefused(400, f"{what} holds a number that cannot be decoded: {exc}") from None


async def read_body(request: web.BaseRequest, *, max_bytes: int, timeout: float) -> bytes:
    """The whole body of ``request``, at most ``max_bytes``, complete within ``timeout`` seconds.

    :class:`BodyRefused` 413 when ``Content-Length`` announces more (nothing is read) or the
    body grows past the limit while it is read; 408 past the deadline; 400 when the body is
    malformed (a broken chunked encoding, a bad compressed stream). A peer that hangs up
    mid-body raises :class:`ConnectionResetError`.
    """
    length = request.content_length
    if length is not None and length > max_bytes:
        raise BodyRefused(
            413, f"request body of {length} bytes exceeds the limit of {max_bytes} bytes"
        )
    try:
        return await asyncio.wait_for(_read(request, max_bytes), timeout)
    except asyncio.TimeoutError:
        raise BodyRefused(
            408, f"request body not complete within {timeout:g} s", "timeout_error"
        ) from None
    except web.RequestPayloadError as exc:
        raise BodyRefused(400, f"request body could not be read: {exc}") from None


async def _read(request: web.BaseRequest, max_bytes: int) -> bytes:
    pieces: list[bytes] = []
    size = 0
    while True:
        piece = await request.content.readany()
        if not piece:
            return b"".join(pieces)
        size += len(piece)
        if size > max_bytes:
            raise BodyRefused(413, f"request body exceeds the limit of {max_bytes} bytes")
        pieces.append(piece)
