"""The SPEC.md requirement catalog, shipped with the package.

SPEC.md is the contract but is not installed with voicewire, so the harness needs its rule IDs
in machine-readable form: the pytest plugin rejects ``@pytest.mark.spec`` IDs that are not
here, and reports group results per requirement, using :attr:`Requirement.level` to tell a
``FAIL`` (a broken MUST) from a ``NON-STRICT`` (a broken SHOULD).

:data:`REQUIREMENTS` maps every ID to its :class:`Requirement`, in the order SPEC.md lists
them. ``tests/unit/test_requirements.py`` checks this catalog against SPEC.md whenever the
document is available, so the two cannot drift apart silently.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType

__all__ = [
    "AREAS",
    "REQUIREMENTS",
    "Direction",
    "Level",
    "Requirement",
    "expand_id_range",
    "get_requirement",
    "requirements_in_area",
]


class Level(str, Enum):
    """The RFC 2119 keyword a rule states: a broken MUST fails a run, a broken SHOULD is
    reported as NON-STRICT, and a MAY describes behaviour a peer has to tolerate."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"

    def __str__(self) -> str:
        # Reports print levels; without this, Python >= 3.11 formats them as "Level.MUST".
        return self.value


class Direction(str, Enum):
    """Which side of the wire a rule binds.

    ``BOTH`` is for shared wire shapes that one side produces and the other must accept;
    ``LIBRARY`` is for rules about a local data structure (the chat context) that never
    cross the wire themselves.
    """

    CLIENT = "client"
    SERVER = "server"
    BOTH = "both"
    LIBRARY = "library"

    def __str__(self) -> str:
        return self.value


AREAS: tuple[str, ...] = (
    "auth",
    "llm",
    "retry",
    "robustness",
    "fallback",
    "stt",
    "tts",
    "inworld-tts",
    "inworld-stt",
    "chat-context",
    "server",
)
"""The area keys, in the order their first rule appears in SPEC.md."""

_ID_PATTERN = re.compile(r"[A-Z]+(?:-[A-Z]+)*-[1-9][0-9]*")
_SECTION_PATTERN = re.compile(r"[1-9][0-9]*[a-z]?(?:\.[1-9][0-9]*[a-z]?)*")
_RANGE_PATTERN = re.compile(
    r"(?P<prefix>[A-Z]+(?:-[A-Z]+)*)-(?P<first>[1-9][0-9]*)\.\.(?P<last>[1-9][0-9]*)"
)
_MAX_TITLE_LENGTH = 80


@dataclass(frozen=True, slots=True)
class Requirement:
    """One normative rule of SPEC.md.

    Attributes:
        id: the rule's ID exactly as SPEC.md spells it, e.g. ``"LLM-TC-3"``.
        level: the keyword the rule states.
        direction: the side the rule binds.
        section: the SPEC.md section number the rule sits in, e.g. ``"2.3"``.
        area: one of :data:`AREAS`.
        title: a one-line paraphrase of what the rule requires (at most 80 characters).
    """

    id: str
    level: Level
    direction: Direction
    section: str
    area: str
    title: str

    def __post_init__(self) -> None:
        if not isinstance(self.id, str):
            raise TypeError(f"id must be a str, got {type(self.id).__name__}")
        if not _ID_PATTERN.fullmatch(self.id):
            raise ValueError(f"id must look like 'AREA-NAME-1', got {self.id!r}")
        if not isinstance(self.level, Level):
            raise TypeError(f"level must be a Level, got {self.level!r}")
        if not isinstance(self.direction, Direction):
            raise TypeError(f"direction must be a Direction, got {self.direction!r}")
        if not isinstance(self.section, str):
            raise TypeError(f"section must be a str, got {type(self.section).__name__}")
        if not _SECTION_PATTERN.fullmatch(self.section):
            raise ValueError(f"section must look like '2', '2.3' or '2.4a', got {self.section!r}")
        if not isinstance(self.area, str):
            raise TypeError(f"area must be a str, got {type(self.area).__name__}")
        if self.area not in AREAS:
            raise ValueError(f"area must be one of {', '.join(AREAS)}, got {self.area!r}")
        if not isinstance(self.title, str):
            raise TypeError(f"title must be a str, got {type(self.title).__name__}")
        if not self.title.strip() or len(self.title) > _MAX_TITLE_LENGTH:
            raise ValueError(
                f"title must be 1..{_MAX_TITLE_LENGTH} characters, got {len(self.title)}: "
                f"{self.title!r}"
            )


def _catalog(entries: Iterable[Requirement]) -> Mapping[str, Requirement]:
    """Index ``entries`` by ID, keeping their order; a repeated ID is a catalog bug."""
    by_id: dict[str, Requirement] = {}
    for entry in entries:
        if entry.id in by_id:
            raise ValueError(f"entries repeat requirement ID {entry.id!r}")
        by_id[entry.id] = entry
    return MappingProxyType(by_id)


_M, _S, _Y = Level.MUST, Level.SHOULD, Level.MAY
_CLIENT, _SERVER, _BOTH, _LIBRARY = (
    Direction.CLIENT,
    Direction.SERVER,
    Direction.BOTH,
    Direction.LIBRARY,
)

REQUIREMENTS: Mapping[str, Requirement] = _catalog(
    Requirement(*fields)
    for fields in (
        # §1.1: the token's shape binds both sides: the client mints it, and the server must
        # accept exactly this shape (AUTH-2's "no other grant is required" is about the server).
        ("AUTH-1", _M, _BOTH, "1.1", "auth", "JWT header is HS256/JWT, signed with the API secret"),
        (
            "AUTH-2",
            _M,
            _BOTH,
            "1.1",
            "auth",
            "Claims iss=key, sub=agent, nbf=now, exp=nbf+600, inference.perform; nothing more",
        ),
        (
            "AUTH-3",
            _M,
            _CLIENT,
            "1.1",
            "auth",
            "A fresh token for every chat() call and WS connect",
        ),
        (
            "AUTH-4",
            _M,
            _SERVER,
            "1.1",
            "auth",
            "Bad, expired, unsigned or ungranted tokens get a JSON 401 before any stream",
        ),
        (
            "AUTH-5",
            _M,
            _CLIENT,
            "1.1",
            "auth",
            "Credentials and base URL from arguments, then env; missing ones raise ValueError",
        ),
        # Both: the client sends the key verbatim and the server rejects unknown ones.
        (
            "AUTH-6",
            _M,
            _BOTH,
            "1.2",
            "auth",
            "Inworld Basic auth sends the configured key verbatim; bad keys get 401",
        ),
        # §2.1 is headed "(client MUST)".
        (
            "LLM-REQ-1",
            _M,
            _CLIENT,
            "2.1",
            "llm",
            "Model verbatim, streaming with usage included, messages in openai format",
        ),
        (
            "LLM-REQ-2",
            _M,
            _CLIENT,
            "2.1",
            "llm",
            "Tools omitted when there are none; each one sent as a strict function schema",
        ),
        (
            "LLM-REQ-3",
            _M,
            _CLIENT,
            "2.1",
            "llm",
            "tool_choice: names become function objects, keywords pass, omitted without tools",
        ),
        (
            "LLM-REQ-4",
            _M,
            _CLIENT,
            "2.1",
            "llm",
            "parallel_tool_calls, temperature and other options are sent only when given",
        ),
        (
            "LLM-REQ-6",
            _S,
            _CLIENT,
            "2.1",
            "llm",
            "Per-call options override constructor options",
        ),
        (
            "LLM-REQ-5",
            _M,
            _CLIENT,
            "2.1",
            "llm",
            "X-LiveKit-Inference-Provider header sent whenever a provider is set",
        ),
        # §2.2 is headed "(server MUST, client MUST accept)".
        (
            "LLM-SSE-1",
            _M,
            _BOTH,
            "2.2",
            "llm",
            "SSE data events end with [DONE]; comments and blank keep-alives are ignored",
        ),
        (
            "LLM-SSE-2",
            _M,
            _BOTH,
            "2.2",
            "llm",
            "Chunks are chat.completion.chunk objects sharing one id per completion",
        ),
        (
            "LLM-SSE-3",
            _M,
            _BOTH,
            "2.2",
            "llm",
            "Tool-call fragments: a header fragment first, then argument-only fragments",
        ),
        (
            "LLM-SSE-4",
            _M,
            _BOTH,
            "2.2",
            "llm",
            "Usage comes in a chunk with no choices, after the finish chunk",
        ),
        (
            "LLM-SSE-5",
            _M,
            _BOTH,
            "2.2",
            "llm",
            "Errors before the stream are non-2xx responses with a JSON error body",
        ),
        ("LLM-SSE-6", _S, _SERVER, "2.2", "llm", "A 429 carries Retry-After"),
        (
            "LLM-TXT-1",
            _M,
            _CLIENT,
            "2.3",
            "llm",
            "Emitted text is the server's text minus thinking blocks: none lost or repeated",
        ),
        (
            "LLM-TXT-2",
            _M,
            _CLIENT,
            "2.3",
            "llm",
            "Thinking blocks are removed even when markers split across deltas",
        ),
        (
            "LLM-TC-1",
            _M,
            _CLIENT,
            "2.3",
            "llm",
            "Each tool call emitted once, whole, arguments byte-exact, in index order",
        ),
        (
            "LLM-TC-2",
            _M,
            _CLIENT,
            "2.3",
            "llm",
            "Tool-call assembly holds for any fragmentation and for calls sharing a chunk",
        ),
        (
            "LLM-TC-3",
            _M,
            _CLIENT,
            "2.3",
            "llm",
            "Pending tool calls are emitted even when the stream ends without a stop",
        ),
        (
            "LLM-TC-4",
            _S,
            _CLIENT,
            "2.3",
            "llm",
            "Interleaved indices, new ids on old indices and id-less calls still assemble",
        ),
        (
            "LLM-TC-5",
            _M,
            _CLIENT,
            "2.3",
            "llm",
            "Text sharing a delta with tool-call fragments is still emitted",
        ),
        (
            "LLM-USG-1",
            _M,
            _CLIENT,
            "2.3",
            "llm",
            "Each server usage object yields exactly one usage ChatChunk, after the output",
        ),
        (
            "LLM-ORD-1",
            _M,
            _CLIENT,
            "2.3",
            "llm",
            "Every ChatChunk of a stream carries the server's id",
        ),
        # §2.4 is headed "(client)".
        (
            "RETRY-1",
            _M,
            _CLIENT,
            "2.4",
            "retry",
            "Timeouts, statuses and other failures map to APIError types with retryable",
        ),
        (
            "RETRY-2",
            _M,
            _CLIENT,
            "2.4",
            "retry",
            "Errors stay retryable until visible output has been emitted",
        ),
        (
            "RETRY-3",
            _M,
            _CLIENT,
            "2.4",
            "retry",
            "4xx statuses are not retryable except 408, 429, 499",
        ),
        (
            "RETRY-4",
            _M,
            _CLIENT,
            "2.4",
            "retry",
            "Retryable errors are retried up to max_retry times with the specified waits",
        ),
        (
            "RETRY-5",
            _M,
            _CLIENT,
            "2.4",
            "retry",
            "Each failed attempt emits an error event; exhaustion raises APIConnectionError",
        ),
        (
            "RETRY-6",
            _M,
            _CLIENT,
            "2.4",
            "retry",
            "The consumer never sees output from two attempts",
        ),
        ("RETRY-7", _M, _CLIENT, "2.4", "retry", "Every retry sends an identical request body"),
        # §2.4a: what a client does with a broken, hostile or newer server.
        (
            "LLM-ROB-1",
            _M,
            _CLIENT,
            "2.4a",
            "robustness",
            "Any malformed or mistyped stream ends in an APIError, never another exception",
        ),
        (
            "LLM-ROB-2",
            _M,
            _CLIENT,
            "2.4a",
            "robustness",
            "Unknown keys anywhere in a chunk are ignored, never an error",
        ),
        (
            "LLM-ROB-3",
            _M,
            _CLIENT,
            "2.4a",
            "robustness",
            "Never waits over timeout for a byte; aclose returns promptly and leaks nothing",
        ),
        # §2.5: the fallback adapter is client-side machinery.
        (
            "FALLBACK-1",
            _M,
            _CLIENT,
            "2.5",
            "fallback",
            "Before visible output, fail over to the next LLM and mark the failed one down",
        ),
        (
            "FALLBACK-2",
            _M,
            _CLIENT,
            "2.5",
            "fallback",
            "After visible output a failure is raised unless retry_on_chunk_sent",
        ),
        ("FALLBACK-3", _M, _CLIENT, "2.5", "fallback", "APIConnectionError when every LLM fails"),
        (
            "FALLBACK-4",
            _S,
            _CLIENT,
            "2.5",
            "fallback",
            "Unavailable LLMs are probed in the background and restored on success",
        ),
        ("FALLBACK-5", _M, _CLIENT, "2.5", "fallback", "An empty LLM list raises ValueError"),
        # §3.1 is the client → server direction.
        (
            "STT-C-1",
            _M,
            _CLIENT,
            "3.1",
            "stt",
            "First message is session.create, sample_rate as a string, sent unprompted",
        ),
        (
            "STT-C-2",
            _M,
            _CLIENT,
            "3.1",
            "stt",
            "Audio goes as base64 input_audio in exact 50 ms frames, bytes preserved",
        ),
        (
            "STT-C-3",
            _M,
            _CLIENT,
            "3.1",
            "stt",
            "session.finalize sent exactly once after input ends",
        ),
        (
            "STT-C-4",
            _S,
            _CLIENT,
            "3.1",
            "stt",
            "session.close and close 1000 when the server lingers after the last final",
        ),
        (
            "STT-C-5",
            _S,
            _CLIENT,
            "3.1",
            "stt",
            "Mid-stream option changes go as session.update (or a reconnect)",
        ),
        (
            "STT-S-1",
            _M,
            _SERVER,
            "3.2",
            "stt",
            "No transcript before session.create; bad client messages get an error (400)",
        ),
        (
            "STT-S-2",
            _M,
            _SERVER,
            "3.2",
            "stt",
            "After session.finalize: pending finals, session.finalized, then close 1000",
        ),
        # §3.3 is the client's SpeechEvent output.
        (
            "STT-ORD-1",
            _M,
            _CLIENT,
            "3.3",
            "stt",
            "Speech events form START (INTERIM)* [USAGE] FINAL END segments",
        ),
        (
            "STT-ORD-2",
            _M,
            _CLIENT,
            "3.3",
            "stt",
            "A non-empty interim, any final or start_of_speech opens a segment",
        ),
        (
            "STT-ORD-3",
            _M,
            _CLIENT,
            "3.3",
            "stt",
            "An empty interim emits nothing; an empty final emits FINAL and END",
        ),
        (
            "STT-ORD-4",
            _M,
            _CLIENT,
            "3.3",
            "stt",
            "FINAL and non-empty INTERIM texts match the server's, in order",
        ),
        (
            "STT-ORD-5",
            _M,
            _CLIENT,
            "3.3",
            "stt",
            "Event times are offset-based; confidence, language and request_id defaults",
        ),
        (
            "STT-USG-1",
            _M,
            _CLIENT,
            "3.3",
            "stt",
            "Usage reports sample-exact audio since the last usage, just before a FINAL",
        ),
        (
            "STT-END-1",
            _M,
            _CLIENT,
            "3.3",
            "stt",
            "Close after finalize ends cleanly; early close or error message is an APIError",
        ),
        (
            "STT-RETRY-1",
            _M,
            _CLIENT,
            "3.3",
            "stt",
            "Retryable errors reconnect with a new session, keeping start_time monotonic",
        ),
        # §4 has no subsections; the C/OUT/RETRY rules are the client's, S the server's.
        (
            "TTS-C-1",
            _M,
            _CLIENT,
            "4",
            "tts",
            "session.create once per connection, sample_rate as a string (default 24000)",
        ),
        (
            "TTS-C-2",
            _M,
            _CLIENT,
            "4",
            "tts",
            "One input_transcript per sentence with a trailing space; text preserved",
        ),
        (
            "TTS-C-3",
            _M,
            _CLIENT,
            "4",
            "tts",
            "One session.flush after input, no close; the socket goes back to the pool",
        ),
        (
            "TTS-S-1",
            _M,
            _SERVER,
            "4",
            "tts",
            "session_id on every output_audio and on done; the socket stays open",
        ),
        ("TTS-S-2", _Y, _SERVER, "4", "tts", "Word or character output_alignment may be sent"),
        (
            "TTS-OUT-1",
            _M,
            _CLIENT,
            "4",
            "tts",
            "Emitted audio equals the server's bytes, in order, last frame marked final",
        ),
        (
            "TTS-OUT-2",
            _M,
            _CLIENT,
            "4",
            "tts",
            "Error message, mid-synthesis close and silence map to the APIError family",
        ),
        (
            "TTS-RETRY-1",
            _M,
            _CLIENT,
            "4",
            "tts",
            "Retry synthesis only before any audio, replaying all of the input text",
        ),
        (
            "IW-HTTP-1",
            _M,
            _CLIENT,
            "5.1",
            "inworld-tts",
            "HTTP TTS request headers, body fields and defaults",
        ),
        # The NDJSON shape is the server's to produce; the stated "Client MUST" covers parsing.
        (
            "IW-HTTP-2",
            _M,
            _BOTH,
            "5.1",
            "inworld-tts",
            "NDJSON stream: skip bad lines, decode audio in order, raise on error lines",
        ),
        (
            "IW-HTTP-3",
            _M,
            _BOTH,
            "5.1",
            "inworld-tts",
            "timestampInfo alignment as equal-length parallel arrays, mapped to timed text",
        ),
        # States no keyword: it defines the normative request/response shape, so MUST, and
        # it binds both the requesting client and the answering server.
        (
            "IW-VOICES-1",
            _M,
            _BOTH,
            "5.1",
            "inworld-tts",
            "Voices listed via GET tts/v1/voices (relative join), optional language filter",
        ),
        (
            "IW-WS-1",
            _M,
            _CLIENT,
            "5.2",
            "inworld-tts",
            "Context messages: create, send_text of at most 1000 chars, flush, close, cancel",
        ),
        (
            "IW-WS-2",
            _M,
            _CLIENT,
            "5.2",
            "inworld-tts",
            "At most 5 open contexts per socket and max_connections sockets",
        ),
        # Tagged "(server)" with no keyword: it is the server's normative reply shape, so MUST.
        (
            "IW-WS-3",
            _M,
            _SERVER,
            "5.2",
            "inworld-tts",
            "Replies are result objects with contextId; a 6th context is refused alone",
        ),
        (
            "IW-WS-4",
            _M,
            _CLIENT,
            "5.2",
            "inworld-tts",
            "contextClosed ends a stream; status errors fail one context, a close fails all",
        ),
        (
            "IW-WS-5",
            _M,
            _CLIENT,
            "5.2",
            "inworld-tts",
            "Per-context audio in order and exact; word timestamps increase across flushes",
        ),
        (
            "IW-STT-C-1",
            _M,
            _CLIENT,
            "5.3",
            "inworld-stt",
            "transcribeConfig first, then audioChunk per frame, endTurn, closeStream",
        ),
        # Tagged "(server)" with no keyword: it is the server's normative message shape, so MUST.
        (
            "IW-STT-S-1",
            _M,
            _SERVER,
            "5.3",
            "inworld-stt",
            "speechStarted/transcription results; after closeStream, finals then close 1000",
        ),
        (
            "IW-STT-ORD-1",
            _M,
            _CLIENT,
            "5.3",
            "inworld-stt",
            "Events follow the STT-ORD segment rules with speechStarted as the start",
        ),
        # Usage events are produced by the client from the audio it pushed.
        (
            "IW-STT-USG-1",
            _M,
            _CLIENT,
            "5.3",
            "inworld-stt",
            "Usage at least every 5 s of audio, on endTurn and at end; sums to audio pushed",
        ),
        (
            "IW-STT-END-1",
            _S,
            _CLIENT,
            "5.3",
            "inworld-stt",
            "A server close before closeStream is a retryable error, not a silent end",
        ),
        # §6 is about the local chat-context structure, not the wire.
        (
            "CTX-TRUNC-1",
            _M,
            _LIBRARY,
            "6.1",
            "chat-context",
            "truncate leaves a context of at most max_items items unchanged",
        ),
        (
            "CTX-TRUNC-2",
            _M,
            _LIBRARY,
            "6.1",
            "chat-context",
            "truncate keeps the last max_items minus leading calls, after the instructions",
        ),
        (
            "CTX-TRUNC-3",
            _M,
            _LIBRARY,
            "6.1",
            "chat-context",
            "Instructions kept exactly once; no duplicates; order kept; size bounded",
        ),
        (
            "CTX-TRUNC-4",
            _M,
            _LIBRARY,
            "6.1",
            "chat-context",
            "The kept window never starts with a function call or its output",
        ),
        ("CTX-TRUNC-5", _M, _LIBRARY, "6.1", "chat-context", "truncate is idempotent"),
        (
            "CTX-TRUNC-6",
            _S,
            _LIBRARY,
            "6.1",
            "chat-context",
            "A negative max_items raises ValueError; zero keeps only the instructions",
        ),
        (
            "CTX-INS-1",
            _M,
            _LIBRARY,
            "6.2",
            "chat-context",
            "insert/add_message place items by created_at, stably; no time means append",
        ),
        (
            "CTX-MERGE-1",
            _M,
            _LIBRARY,
            "6.2",
            "chat-context",
            "merge adds items with absent ids at their insertion index, honouring excludes",
        ),
        (
            "CTX-COPY-1",
            _M,
            _LIBRARY,
            "6.2",
            "chat-context",
            "copy filters per its flags and never mutates the source",
        ),
        (
            "CTX-DICT-1",
            _M,
            _LIBRARY,
            "6.2",
            "chat-context",
            "from_dict(to_dict(ctx)) is equivalent to ctx",
        ),
        (
            "CTX-EQ-1",
            _M,
            _LIBRARY,
            "6.2",
            "chat-context",
            "is_equivalent compares ids, types and payloads, never timestamps",
        ),
        (
            "CTX-OAI-1",
            _M,
            _LIBRARY,
            "6.3",
            "chat-context",
            "Calls grouped into one assistant message, then one tool message per output",
        ),
        (
            "CTX-OAI-2",
            _M,
            _LIBRARY,
            "6.3",
            "chat-context",
            "A call without its output, or an output without its call, is not sent",
        ),
        (
            "CTX-OAI-3",
            _M,
            _LIBRARY,
            "6.3",
            "chat-context",
            "Text-only content is one joined string; with images a list, images first",
        ),
        (
            "CLI-ROB-1",
            _M,
            _CLIENT,
            "6a",
            "robustness",
            "Every client protocol ends a hostile stream in an APIError within timeout",
        ),
        (
            "SRV-1",
            _M,
            _SERVER,
            "7",
            "server",
            "Malformed or out-of-order client messages get a protocol error, never a crash",
        ),
        (
            "SRV-2",
            _M,
            _SERVER,
            "7",
            "server",
            "One misbehaving session never affects another concurrent session",
        ),
        (
            "SRV-3",
            _M,
            _SERVER,
            "7",
            "server",
            "WebSocket sessions end with a close code; unexpected binary frames get 1003",
        ),
        (
            "SRV-4",
            _S,
            _SERVER,
            "7",
            "server",
            "Size, depth, idle-peer and per-key session limits are enforced and reported",
        ),
        (
            "SRV-5",
            _S,
            _SERVER,
            "7",
            "server",
            "Every error response carries the protocol's JSON error body, never plain text",
        ),
        (
            "SRV-6",
            _S,
            _SERVER,
            "7",
            "server",
            "Authentication is checked from the request head, before the body is read",
        ),
        (
            "SRV-7",
            _M,
            _SERVER,
            "7",
            "server",
            "No request or session can starve the others: size-bound work is bounded",
        ),
    )
)
"""Every SPEC.md requirement by ID, in document order (read-only)."""


def get_requirement(rid: str) -> Requirement:
    """The requirement with ID ``rid``.

    Raises:
        TypeError: ``rid`` is not a str.
        KeyError: no such ID; the message suggests the closest known IDs, since the usual
            cause is a typo (``"LLM-TC1"``, ``"auth-4"``).
    """
    if not isinstance(rid, str):
        raise TypeError(f"rid must be a str, got {type(rid).__name__}")
    try:
        return REQUIREMENTS[rid]
    except KeyError:
        pass
    # Compare upper-cased: a lower-case spelling of a real ID should rank it first.
    suggestions = difflib.get_close_matches(rid.upper(), REQUIREMENTS.keys(), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
    raise KeyError(f"unknown SPEC requirement ID {rid!r}{hint}") from None


def requirements_in_area(area: str) -> tuple[Requirement, ...]:
    """The requirements of ``area`` (one of :data:`AREAS`), in document order.

    Raises:
        TypeError: ``area`` is not a str.
        ValueError: ``area`` is not a known area key.
    """
    if not isinstance(area, str):
        raise TypeError(f"area must be a str, got {type(area).__name__}")
    if area not in AREAS:
        raise ValueError(f"area must be one of {', '.join(AREAS)}, got {area!r}")
    return tuple(req for req in REQUIREMENTS.values() if req.area == area)


def expand_id_range(spec: str) -> list[str]:
    """The IDs named by ``spec``, SPEC.md's range shorthand: ``"CTX-TRUNC-1..6"`` gives
    ``["CTX-TRUNC-1", ..., "CTX-TRUNC-6"]``. A single ID (``"AUTH-4"``) gives itself, so a
    list mixing IDs and ranges can be expanded item by item.

    Raises:
        TypeError: ``spec`` is not a str.
        ValueError: ``spec`` is neither ``PREFIX-a..b`` (with ``1 <= a <= b``) nor an ID, or
            it names an ID the catalog does not have.
    """
    if not isinstance(spec, str):
        raise TypeError(f"spec must be a str, got {type(spec).__name__}")
    if _ID_PATTERN.fullmatch(spec):
        ids = [spec]
    else:
        match = _RANGE_PATTERN.fullmatch(spec)
        if match is None:
            raise ValueError(f"spec must look like 'AREA-NAME-1..3' or 'AREA-NAME-1', got {spec!r}")
        first, last = int(match["first"]), int(match["last"])
        if first > last:
            raise ValueError(f"spec must run from a lower to a higher number, got {spec!r}")
        ids = [f"{match['prefix']}-{number}" for number in range(first, last + 1)]
    unknown = [rid for rid in ids if rid not in REQUIREMENTS]
    if unknown:
        raise ValueError(f"spec {spec!r} names unknown requirement IDs: {', '.join(unknown)}")
    return ids
