"""What the Inworld HTTP client cases read back from the simulator's journal, the scenarios
they play, and the checks they share (SPEC §5.1: ``POST /tts/v1/voice:stream`` and ``GET
tts/v1/voices``).

The judged traffic is read from the journal, never re-derived from the scenario: a case
compares the client with what the server really sent it (after drops, duplicates, reorders,
interleaved lines and byte splits) and with what the client really sent.

**Requests** (:func:`inworld_http_requests`): each ``http_request`` the session's exchanges
received, with its path and query as received (so a client that kept or dropped the base
URL's path shows), its headers (names compared without case, as HTTP does; the journal cuts
the ``Authorization`` credential short and keeps the accepted Basic key's SHA-256
fingerprint), and its body decoded.

**Answers** (:func:`synthesis_answers`): per exchange, the answer's status and its NDJSON
lines as written. The simulator journals a whole audio line as its summary (``samples``,
``crc32``, ``timestampInfo``), any other write as its text: blank and unparseable lines,
error lines, the pieces of a ``byte_split`` body and the writes of a ``raw`` answer. The
reader joins the text back into lines and decodes each (the audio by its length and CRC-32),
so either form reads the same.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from voicewire.harness.inworld import InworldTimedTextEvent
from voicewire.harness.iut import ConnOptions, Target
from voicewire.harness.runtime import CaseSimulator
from voicewire.simulators.scenario import Scenario, build_scenario

__all__ = [
    "API_ERRORS",
    "ONE_ATTEMPT",
    "SYNTHESIZE_ROUTE",
    "VOICES_ROUTE",
    "AnswerLine",
    "JournaledHTTPRequest",
    "SynthesisAnswer",
    "basic_key_fingerprint",
    "inworld_audio_problem",
    "inworld_http_requests",
    "inworld_prefix_problem",
    "raw_synthesis_scenario",
    "served_timed_texts",
    "served_voices",
    "synthesis_answers",
    "synthesis_scenario",
    "timed_texts_problem",
    "voices_scenario",
]

SYNTHESIZE_ROUTE = "/tts/v1/voice:stream"
"""The synthesis route: joined to the host root, whatever the base URL's path (IW-HTTP-1)."""
VOICES_ROUTE = "tts/v1/voices"
"""The voices route: joined relative to the base URL, so under its path (IW-VOICES-1)."""

API_ERRORS = frozenset({"APIError", "APIStatusError", "APIConnectionError", "APITimeoutError"})
"""The error classes of the APIError family (CLI-ROB-1)."""

ONE_ATTEMPT = ConnOptions(max_retry=0, retry_interval=0.0, timeout=5.0)
"""One attempt: a retry would hide what the first request did."""

_LINE_KINDS = ("ndjson_line", "raw")
_TIME_TOLERANCE = 1e-6


# -- scenarios -----------------------------------------------------------------------------------


def synthesis_scenario(
    name: str, reply: dict[str, Any] | None = None, faults: list[dict[str, Any]] | None = None
) -> Scenario:
    """A scenario answering every ``voice:stream`` request with ``reply`` (an
    ``InworldSynthesisReply`` dict) and ``faults``."""
    rule = {"match": {"endpoint": "inworld.synthesize"}, "reply": reply or {}}
    return build_scenario(name, {**rule, "faults": faults or []})


def raw_synthesis_scenario(
    name: str,
    pieces: Sequence[bytes],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Scenario:
    """A scenario answering every ``voice:stream`` request with exactly ``pieces`` of bytes,
    each its own write (a body cut where the pieces are, inside a UTF-8 character too), then
    a clean end."""
    raw = {
        "status": status,
        "headers": {"Content-Type": "application/json"} if headers is None else headers,
        "body": [{"hex": piece.hex()} for piece in pieces if piece],
    }
    return build_scenario(name, {"match": {"endpoint": "inworld.synthesize"}, "raw": raw})


def voices_scenario(
    name: str,
    voices: list[dict[str, Any]] | None = None,
    faults: list[dict[str, Any]] | None = None,
) -> Scenario:
    """A scenario answering every ``GET tts/v1/voices`` with ``voices`` (the simulator's
    default list when None), filtered by the request's language, and ``faults``."""
    reply = {} if voices is None else {"voices": voices}
    rule = {"match": {"endpoint": "inworld.voices"}, "reply": reply, "faults": faults or []}
    return build_scenario(name, rule)


# -- requests ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JournaledHTTPRequest:
    """One HTTP request as the simulator received it."""

    exchange: Any
    method: str
    path: str
    """The path and query, as received (percent-encoding kept)."""
    headers: dict[str, str]
    """Header names in lower case; ``authorization`` cut short by the journal."""
    body: Any
    """The body decoded as JSON when it is JSON, else its text."""
    token: dict[str, Any] | None
    """What admission kept of the credential: ``{"scheme": "basic", "fingerprint"}``."""

    def header(self, name: str) -> str | None:
        """A header's value, its name compared without case (None: absent)."""
        return self.headers.get(name.lower())

    @property
    def route(self) -> str:
        """The path without its query."""
        return self.path.split("?", 1)[0]

    @property
    def query(self) -> str:
        """The query string as received ("" when there is none)."""
        return self.path.split("?", 1)[1] if "?" in self.path else ""


def inworld_http_requests(
    simulator: CaseSimulator, target: Target, route: str | None = None
) -> list[JournaledHTTPRequest]:
    """The session's HTTP requests in order; with ``route``, those whose path ends with it
    (``voice:stream`` or ``tts/v1/voices``, wherever the client joined it)."""
    found = []
    for entry in simulator.journal(target):
        if entry.get("kind") != "http_request" or entry.get("direction") != "in":
            continue
        data = entry.get("data") or {}
        path = str(data.get("path", ""))
        if route is not None and not path.split("?", 1)[0].endswith(route):
            continue
        headers = {str(k).lower(): str(v) for k, v in (data.get("headers") or {}).items()}
        found.append(
            JournaledHTTPRequest(
                exchange=entry.get("exchange"),
                method=str(data.get("method", "")),
                path=path,
                headers=headers,
                body=data.get("body"),
                token=data.get("token"),
            )
        )
    return found


def basic_key_fingerprint(api_key: str) -> str:
    """The fingerprint the journal keeps of an accepted Basic key: the first 16 hex digits
    of the SHA-256 of the key as it was sent."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


# -- answers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerLine:
    """One line of an NDJSON answer as the server wrote it.

    ``kind``: ``result`` (``audio_bytes`` of audio with CRC-32 ``crc32``, possibly none, and
    the ``timestamp_info`` object if any), ``error`` (``code``, ``message``), ``blank``,
    ``unparseable`` (not JSON), ``unknown`` (a JSON object that is neither: a client skips
    it), or ``malformed`` (JSON of the wrong shape: ``text`` holds it)."""

    kind: Literal["result", "error", "blank", "unparseable", "unknown", "malformed"]
    text: str = ""
    audio_bytes: int = 0
    crc32: str | None = None
    timestamp_info: dict[str, Any] | None = None
    code: Any = None
    message: Any = None


@dataclass(frozen=True)
class SynthesisAnswer:
    """One exchange's answer to ``voice:stream``: its HTTP status (None: none was journaled)
    and its lines in the order written."""

    exchange: Any
    status: int | None
    lines: list[AnswerLine] = field(default_factory=list)

    def before_failure(self) -> list[AnswerLine]:
        """The lines up to the first ``error`` or ``malformed`` line (all of them when there
        is none): what a client reads before it fails."""
        for index, line in enumerate(self.lines):
            if line.kind in ("error", "malformed"):
                return self.lines[:index]
        return list(self.lines)

    @property
    def error_line(self) -> AnswerLine | None:
        """The first ``error`` line, if any."""
        return next((line for line in self.lines if line.kind == "error"), None)

    @property
    def malformed(self) -> AnswerLine | None:
        """The first line of the wrong JSON shape, if any."""
        return next((line for line in self.lines if line.kind == "malformed"), None)

    def audio_lines(self, lines: Sequence[AnswerLine] | None = None) -> list[AnswerLine]:
        """The ``result`` lines with audio, of ``lines`` (default: all)."""
        chosen = self.lines if lines is None else lines
        return [line for line in chosen if line.kind == "result" and line.audio_bytes]


def synthesis_answers(simulator: CaseSimulator, target: Target) -> list[SynthesisAnswer]:
    """The answers to the session's ``voice:stream`` requests, one per exchange, in order."""
    journal = simulator.journal(target)
    exchanges = [
        entry.get("exchange")
        for entry in journal
        if entry.get("kind") == "http_request"
        and str((entry.get("data") or {}).get("path", ""))
        .split("?", 1)[0]
        .endswith(SYNTHESIZE_ROUTE)
    ]
    answers = []
    for exchange in exchanges:
        mine = [e for e in journal if e.get("exchange") == exchange and e.get("direction") == "out"]
        status = None
        for entry in mine:
            if entry.get("kind") in ("http_response", "http_error"):
                status = (entry.get("data") or {}).get("status", status)
                break
        writes = [e.get("data") for e in mine if e.get("kind") in _LINE_KINDS]
        answers.append(SynthesisAnswer(exchange, status, _lines(writes)))
    return answers


def _lines(writes: Sequence[Any]) -> list[AnswerLine]:
    """The lines of an answer from its journaled writes: summaries are whole lines, the
    other writes are joined as bytes and cut at each newline (the last line may lack one)."""
    lines: list[AnswerLine] = []
    pending = b""
    for data in writes:
        if isinstance(data, dict):
            if pending:
                lines.append(_decoded_line(pending))
                pending = b""
            lines.append(_summary_line(data))
            continue
        pending += _written_bytes(data if isinstance(data, str) else str(data))
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            lines.append(_decoded_line(line))
    if pending:
        lines.append(_decoded_line(pending))
    return lines


# A byte the journal could not decode as UTF-8 (a write cut inside a character) reads back as
# a backslash escape ``\xNN`` (NN >= 80); a JSON body has no such run of its own (a backslash
# in JSON text is one of its escapes, and ``\x`` is none), so it is turned back into the byte.
_UNDECODABLE = re.compile(r"\\\\|\\x([89a-f][0-9a-f])")


def _written_bytes(text: str) -> bytes:
    """The bytes of one journaled write."""

    def byte(match: re.Match[str]) -> str:
        return match.group(0) if match.group(1) is None else chr(0xDC00 + int(match.group(1), 16))

    return _UNDECODABLE.sub(byte, text).encode("utf-8", errors="surrogateescape")


def _summary_line(data: dict[str, Any]) -> AnswerLine:
    return AnswerLine(
        kind="result",
        text="<audio line>",
        audio_bytes=2 * int(data.get("samples", 0)),
        crc32=data.get("crc32"),
        timestamp_info=data.get("timestampInfo"),
    )


def _decoded_line(data: bytes) -> AnswerLine:
    line = data.decode("utf-8", errors="backslashreplace")
    text = data.strip()
    if not text:
        return AnswerLine(kind="blank", text=line)
    try:
        value = json.loads(text.decode("utf-8"))
    except ValueError:
        return AnswerLine(kind="unparseable", text=line)
    if not isinstance(value, dict):
        return AnswerLine(kind="malformed", text=line)
    if "result" in value:
        return _result_line(value["result"], line)
    if "error" in value:
        error = value["error"]
        if not isinstance(error, dict):
            return AnswerLine(kind="malformed", text=line)
        return AnswerLine(
            kind="error", text=line, code=error.get("code"), message=error.get("message")
        )
    return AnswerLine(kind="unknown", text=line)


def _result_line(result: Any, line: str) -> AnswerLine:
    if not isinstance(result, dict):
        return AnswerLine(kind="malformed", text=line)
    content = result.get("audioContent")
    audio = b""
    if content is not None:
        if not isinstance(content, str):
            return AnswerLine(kind="malformed", text=line)
        try:
            audio = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            return AnswerLine(kind="malformed", text=line)
    info = result.get("timestampInfo")
    if info is not None and not _well_typed_timestamps(info):
        return AnswerLine(kind="malformed", text=line)
    return AnswerLine(
        kind="result",
        text=line,
        audio_bytes=len(audio),
        crc32=f"{zlib.crc32(audio):08x}",
        timestamp_info=info,
    )


_ALIGNMENTS = (
    ("wordAlignment", "words", "wordStartTimeSeconds", "wordEndTimeSeconds"),
    ("characterAlignment", "characters", "characterStartTimeSeconds", "characterEndTimeSeconds"),
)


def _well_typed_timestamps(info: Any) -> bool:
    """Whether ``timestampInfo`` has IW-HTTP-3's types: objects of arrays of strings and of
    numbers (arrays may be absent; their lengths are not judged here)."""
    if not isinstance(info, dict):
        return False
    for key, texts, starts, ends in _ALIGNMENTS:
        alignment = info.get(key)
        if alignment is None:
            continue
        if not isinstance(alignment, dict):
            return False
        for name in (texts, starts, ends):
            values = alignment.get(name, [])
            if not isinstance(values, list):
                return False
            if name == texts and not all(isinstance(v, str) for v in values):
                return False
            if name != texts and not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
            ):
                return False
    return True


# -- the shared checks ---------------------------------------------------------------------------


def inworld_audio_problem(emitted: bytes, lines: Sequence[AnswerLine]) -> str | None:
    """Where the client's emitted PCM differs from the audio of ``lines`` (``result`` lines,
    in the order written), or None when it is their exact concatenation: each line's piece is
    compared by CRC-32, so bytes lost, added, altered or reordered all show (IW-HTTP-2)."""
    chunks = [line for line in lines if line.kind == "result" and line.audio_bytes]
    expected = sum(line.audio_bytes for line in chunks)
    if len(emitted) != expected:
        return (
            f"the client emitted {len(emitted)} bytes of audio, the server sent {expected} in "
            f"{len(chunks)} audio lines"
        )
    offset = 0
    for index, line in enumerate(chunks):
        piece = emitted[offset : offset + line.audio_bytes]
        if f"{zlib.crc32(piece):08x}" != line.crc32:
            return (
                f"the emitted audio at bytes {offset}..{offset + len(piece)} differs from the "
                f"server's audio line #{index} (CRC-32 {zlib.crc32(piece):08x}, sent "
                f"{line.crc32})"
            )
        offset += len(piece)
    return None


def inworld_prefix_problem(emitted: bytes, lines: Sequence[AnswerLine]) -> str | None:
    """Where the audio a failed synthesis emitted is not the start of the audio of ``lines``
    (a client may hold back a tail it had not emitted when the failure came): longer than
    it, or a whole line's piece it covers differs (a piece it covers in part is judged by
    its length only)."""
    chunks = [line for line in lines if line.kind == "result" and line.audio_bytes]
    total = sum(line.audio_bytes for line in chunks)
    if len(emitted) > total:
        return f"the client emitted {len(emitted)} bytes, the server sent {total} before it"
    covered, offset = [], 0
    for line in chunks:
        if offset + line.audio_bytes > len(emitted):
            break
        offset += line.audio_bytes
        covered.append(line)
    return inworld_audio_problem(emitted[:offset], covered)


def served_timed_texts(
    lines: Sequence[AnswerLine], *, pairing: Literal["strict", "shortest"] = "strict"
) -> list[tuple[str, float, float]]:
    """The timed texts of ``lines``' ``timestampInfo`` in order: per line its words, then its
    characters, each ``(text, start, end)``. ``strict``: the arrays as they are (index by
    index, up to the longest: a missing entry is NaN); ``shortest``: paired up to the
    shortest array (upstream's ``zip``)."""
    found: list[tuple[str, float, float]] = []
    for line in lines:
        info = line.timestamp_info
        if line.kind != "result" or not isinstance(info, dict):
            continue
        for key, texts, starts, ends in _ALIGNMENTS:
            alignment = info.get(key)
            if not isinstance(alignment, dict):
                continue
            arrays = [list(alignment.get(name) or []) for name in (texts, starts, ends)]
            size = (min if pairing == "shortest" else max)(len(a) for a in arrays)
            for i in range(size):
                text, start, end = (a[i] if i < len(a) else math.nan for a in arrays)
                found.append((str(text), float(start), float(end)))
    return found


def timed_texts_problem(
    emitted: Sequence[InworldTimedTextEvent], served: Sequence[tuple[str, float, float]]
) -> str | None:
    """Where the timed texts a synthesis emitted differ from ``served`` (text exactly, times
    to a microsecond), or None (IW-HTTP-3)."""
    got = [(event.text, event.start_time, event.end_time) for event in emitted]
    for index, (mine, theirs) in enumerate(zip(got, served, strict=False)):
        if mine[0] != theirs[0] or any(
            not math.isclose(a, b, rel_tol=0, abs_tol=_TIME_TOLERANCE)
            for a, b in zip(mine[1:], theirs[1:], strict=True)
        ):
            return (
                f"timed text #{index} is {mine}, the server sent {theirs} (of {len(served)}; "
                f"the client emitted {len(got)})"
            )
    if len(got) != len(served):
        return (
            f"the client emitted {len(got)} timed texts, the server sent {len(served)}:\n"
            f"  emitted {got[:12]}\n  served  {list(served)[:12]}"
        )
    return None


# -- voices --------------------------------------------------------------------------------------


def served_voices(simulator: CaseSimulator, target: Target) -> list[Any] | None:
    """The ``voices`` the server sent the session's last voices request (None: it sent no
    JSON object with a ``voices`` array)."""
    journal = simulator.journal(target)
    requests = inworld_http_requests(simulator, target, VOICES_ROUTE)
    if not requests:
        return None
    exchange = requests[-1].exchange
    text = "".join(
        e["data"] if isinstance(e.get("data"), str) else ""
        for e in journal
        if e.get("exchange") == exchange and e.get("kind") == "http_body"
    )
    try:
        body = json.loads(text)
    except ValueError:
        return None
    voices = body.get("voices") if isinstance(body, dict) else None
    return voices if isinstance(voices, list) else None
