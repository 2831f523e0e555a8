"""The SPEC.md requirement catalog, shipped with the package.

SPEC.md is the contract but is not installed with voicewire, so the harness carries its rules
in machine-readable form: the pytest plugin rejects ``@pytest.mark.spec`` IDs that are not
here, reports group results per requirement, using :attr:`Requirement.level` to tell a
``FAIL`` (a broken MUST) from a ``NON-STRICT`` (a broken SHOULD), and ``voicewire explain``
prints what a rule requires, in full (:attr:`Requirement.text`), so the installed tool states
the contract it judges.

:data:`REQUIREMENTS` maps every ID to its :class:`Requirement`, in the order SPEC.md lists
them; :data:`SECTIONS` maps every SPEC.md section number to its heading, so a ``§2.4`` in a
report resolves. :class:`KnownDeviation` records a rule a named implementation is known not to
follow; protocols register them with their implementations
(:meth:`voicewire.harness.capabilities.ProtocolSpec.with_implementation`).
``tests/unit/test_requirements.py`` checks this catalog against SPEC.md whenever the document
is available, so the two cannot drift apart silently.
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
    "SECTIONS",
    "Direction",
    "KnownDeviation",
    "Level",
    "Requirement",
    "Section",
    "closest_ids",
    "expand_id_range",
    "get_requirement",
    "get_section",
    "requirements_in_area",
    "requirements_in_section",
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
# "0" is SPEC.md's "How to read it": a section, though no rule sits in it.
_SECTION_PATTERN = re.compile(r"(?:0|[1-9][0-9]*)[a-z]?(?:\.[1-9][0-9]*[a-z]?)*")
_RANGE_PATTERN = re.compile(
    r"(?P<prefix>[A-Z]+(?:-[A-Z]+)*)-(?P<first>[1-9][0-9]*)\.\.(?P<last>[1-9][0-9]*)"
)
_MAX_TITLE_LENGTH = 80


def _check_text(name: str, value: object, *, allow_empty: bool = False) -> None:
    """Raise unless ``value`` is a str without surrounding whitespace (and not empty)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if value != value.strip() or (not allow_empty and not value):
        raise ValueError(f"{name} must be non-empty and unpadded, got {value!r}")


@dataclass(frozen=True, slots=True)
class Section:
    """One numbered section of SPEC.md.

    Attributes:
        number: the section number as SPEC.md writes it, without the trailing dot of a
            top-level heading: ``"2"``, ``"2.4"``, ``"2.4a"``, ``"6a"``.
        heading: the heading's text after the number (Markdown code marks removed).
        summary: what the section's own prose (before its rules) sets up, in the project's
            own words: endpoints, defaults, message lists the rules refer to; ``""`` when
            the section has none.
    """

    number: str
    heading: str
    summary: str = ""

    def __post_init__(self) -> None:
        _check_text("number", self.number)
        if not _SECTION_PATTERN.fullmatch(self.number):
            raise ValueError(f"number must look like '2', '2.3' or '2.4a', got {self.number!r}")
        _check_text("heading", self.heading)
        _check_text("summary", self.summary, allow_empty=True)

    @property
    def parent(self) -> str | None:
        """The enclosing section's number (``"2"`` for ``"2.4a"``), None at the top level."""
        head, dot, _ = self.number.rpartition(".")
        return head if dot else None


def _sections(entries: Iterable[Section]) -> Mapping[str, Section]:
    """Index ``entries`` by number, keeping their order; a repeated number is a table bug."""
    by_number: dict[str, Section] = {}
    for entry in entries:
        if entry.number in by_number:
            raise ValueError(f"entries repeat section {entry.number!r}")
        by_number[entry.number] = entry
    return MappingProxyType(by_number)


SECTIONS: Mapping[str, Section] = _sections(
    (
        Section(
            "0",
            "How to read it",
            "Every normative rule has an ID (LLM-TC-3); suite cases name the IDs they check "
            "and reports show results per ID. Breaking a MUST rule is a FAIL; breaking a "
            "SHOULD rule is NON-STRICT (reported, but it fails the run only with --strict). "
            "An implementation may declare a capability absent: its cases are then "
            "UNSUPPORTED, never silently skipped. The client is the implementation that "
            "connects to a provider (an agent framework's plugin); the server is the provider "
            "side (the gateway or a compatible self-hosted server). JSON key names are exact "
            "and key order on the wire never matters. Times and durations are seconds "
            "(float) unless a field's name says Ms.",
        ),
        Section("1", "Authentication"),
        Section(
            "1.1",
            "LiveKit inference token (LLM, STT, TTS)",
            "Every HTTP request and every WebSocket upgrade of the LiveKit inference protocols "
            "carries `Authorization: Bearer <jwt>`.",
        ),
        Section("1.2", "Inworld"),
        Section(
            "2",
            "LLM: OpenAI-compatible chat completions over SSE",
            "A chat is `POST {base_url}/chat/completions` with a JSON body, answered with a "
            "`text/event-stream`. `GET {base_url}/models` is used only for prewarming; a "
            'server should answer it with `{"object": "list", "data": [...]}`.',
        ),
        Section("2.1", "Request (client MUST)"),
        Section(
            "2.2",
            "Stream framing (server MUST, client MUST accept)",
            "The rules bind both sides: a server must produce these shapes and a client must "
            "accept them.",
        ),
        Section(
            "2.3",
            "Client output: ChatChunk events",
            "A client turns the stream into ChatChunks `{id, delta?: {role, content?, "
            "tool_calls: [FunctionToolCall]}, usage?}`, where `FunctionToolCall` is `{name, "
            "arguments, call_id}` and `arguments` is the raw JSON string.",
        ),
        Section(
            "2.4",
            "Errors and retries (client)",
            "Connection options are `APIConnectOptions(max_retry=3, retry_interval=2.0, "
            "timeout=10.0)`; negative values raise `ValueError`. The wait before retry n "
            "(counting from 0) is 0.1 s when n is 0 and `retry_interval` otherwise.",
        ),
        Section(
            "2.4a",
            "Hostile streams (client)",
            "A conformance client meets servers that are broken, hostile or simply newer than it.",
        ),
        Section(
            "2.5",
            "Fallback adapter",
            "`FallbackAdapter([llm_a, llm_b, ...], attempt_timeout=5.0, max_retry_per_llm=0, "
            "retry_interval=0.5, retry_on_chunk_sent=False)`.",
        ),
        Section(
            "3",
            "LiveKit inference STT over WebSocket",
            "`GET {ws_base}/stt?model=<model>`, where `ws_base` is `base_url` with its first "
            "`http` replaced by `ws`, authenticated per §1.1. Only text frames are exchanged, "
            "each a JSON object with a `type` key.",
        ),
        Section("3.1", "Client → server"),
        Section(
            "3.2",
            "Server → client",
            "Server messages: `session.created`, `interim_transcript`, `final_transcript`, "
            "`start_of_speech`, `session.finalized`, `session.closed`, `error`. Transcripts "
            "carry `transcript`, `language`, `start`, `duration`, `confidence`, `request_id`, "
            "and optionally `words: [{word, start, end, confidence, speaker_id?}]`, "
            "`speaker_id` and `extra`.",
        ),
        Section(
            "3.3",
            "Client SpeechEvents (the ordering contract)",
            "Event types: `START_OF_SPEECH`, `INTERIM_TRANSCRIPT`, `RECOGNITION_USAGE`, "
            "`FINAL_TRANSCRIPT`, `END_OF_SPEECH`.",
        ),
        Section(
            "4",
            "LiveKit inference TTS over WebSocket",
            "`GET {ws_base}/tts?model=<model>`. Connections are pooled: one socket serves many "
            "sequential synthesis streams.",
        ),
        Section("5", "Inworld"),
        Section(
            "5.1",
            "TTS over HTTP: POST {host}/tts/v1/voice:stream (absolute path: any path in "
            "base_url is dropped)",
        ),
        Section(
            "5.2",
            "TTS over WebSocket: {ws_host}/tts/v1/voice:streamBidirectional (absolute path)",
            "One socket carries up to 5 concurrent contexts; every message has a top-level "
            "`contextId`.",
        ),
        Section(
            "5.3",
            "STT over WebSocket: {base_url→ws}/stt/v1/transcribe:streamBidirectional "
            "(appended to the base path)",
        ),
        Section(
            "6",
            "Chat context",
            "Items, each with an `id` and a `created_at`: `message {role: system | developer | "
            "user | assistant, content: [str | image | audio], interrupted}`, `function_call "
            "{call_id, name, arguments}`, `function_call_output {call_id, name, output, "
            "is_error}`.",
        ),
        Section(
            "6.1",
            "truncate(max_items) — in place, returns self",
            "`I` is the first `system` or `developer` message (the instructions), if there is one.",
        ),
        Section("6.2", "Other operations"),
        Section("6.3", "openai provider format"),
        Section("6a", "Clients in general"),
        Section(
            "7",
            "Servers in general (what a server implementation and every voicewire simulator "
            "must do)",
        ),
    )
)
"""Every numbered SPEC.md section by number, in document order (read-only)."""


@dataclass(frozen=True, slots=True)
class Requirement:
    """One normative rule of SPEC.md.

    Attributes:
        id: the rule's ID exactly as SPEC.md spells it, e.g. ``"LLM-TC-3"``.
        level: the keyword the rule states.
        direction: the side the rule binds.
        section: the SPEC.md section number the rule sits in, e.g. ``"2.3"``; a key of
            :data:`SECTIONS`.
        area: one of :data:`AREAS`.
        title: a one-line paraphrase for tables (at most 80 characters).
        text: the whole rule in the project's own words: every condition, number and
            exception SPEC.md states, readable without the document (what its section's
            prose sets up for the rule is restated here). SPEC.md's remarks on how
            upstream behaves are not part of it: known deviations are recorded per
            implementation, as :class:`KnownDeviation`.
    """

    id: str
    level: Level
    direction: Direction
    section: str
    area: str
    title: str
    text: str

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
        if self.section not in SECTIONS:
            raise ValueError(f"section {self.section!r} is not a SPEC.md section")
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
        _check_text("text", self.text)
        # A text no longer than the title is a title, not the rule: the catalog's point is
        # that nobody has to open SPEC.md to learn what a rule requires.
        if len(self.text) <= len(self.title):
            raise ValueError(f"text of {self.id} must state the whole rule, not only its title")


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
        (
            "AUTH-1",
            _M,
            _BOTH,
            "1.1",
            "auth",
            "JWT header is HS256/JWT, signed with the API secret",
            "Every HTTP request and every WebSocket upgrade of the LiveKit inference protocols "
            "(LLM, STT, TTS) carries `Authorization: Bearer <jwt>`. The token's header is "
            'exactly `{"alg": "HS256", "typ": "JWT"}` and the token is signed (HMAC-SHA256) '
            "with the API secret.",
        ),
        (
            "AUTH-2",
            _M,
            _BOTH,
            "1.1",
            "auth",
            "Claims iss=key, sub=agent, nbf=now, exp=nbf+600, inference.perform; nothing more",
            'The token\'s claims are `iss` = the API key, `sub` = `"agent"`, `nbf` = the '
            "current time in whole seconds (an integer), `exp` = `nbf + 600` (ten minutes "
            'later) and `inference` = `{"perform": true}`. That inference grant is all a '
            "server may require: no other grant is needed.",
        ),
        (
            "AUTH-3",
            _M,
            _CLIENT,
            "1.1",
            "auth",
            "A fresh token for every chat() call and WS connect",
            "A client mints a fresh token for every LLM `chat()` call and for every WebSocket "
            "connection it opens; a token is never reused for another call or connect.",
        ),
        (
            "AUTH-4",
            _M,
            _SERVER,
            "1.1",
            "auth",
            "Bad, expired, unsigned or ungranted tokens get a JSON 401 before any stream",
            "A server answers HTTP 401, before it starts any stream or accepts any WebSocket "
            "upgrade, to: a request without a token; a token with a bad signature; a token "
            "whose `alg` is anything but HS256 (`none` included); an `iss` that is not a known "
            "API key; an `exp` in the past or an `nbf` in the future, beyond a leeway of 10 s "
            "for clock skew; a token without `inference.perform == true`. The 401's body is "
            'JSON: `{"error": {"message": ..., "type": "authentication_error", "code": 401}}`.',
        ),
        (
            "AUTH-5",
            _M,
            _CLIENT,
            "1.1",
            "auth",
            "Credentials and base URL from arguments, then env; missing ones raise ValueError",
            "The API key comes from the constructor's argument, else from "
            "`LIVEKIT_INFERENCE_API_KEY`, else from `LIVEKIT_API_KEY`; the secret from the "
            "argument, else `LIVEKIT_INFERENCE_API_SECRET`, else `LIVEKIT_API_SECRET`. The base "
            "URL comes from the argument, else `LIVEKIT_INFERENCE_URL`, else "
            "`https://agent-gateway.livekit.cloud/v1`. When the key or the secret is missing "
            "after that, constructing the client raises `ValueError`.",
        ),
        # Both: the client sends the key verbatim and the server rejects unknown ones.
        (
            "AUTH-6",
            _M,
            _BOTH,
            "1.2",
            "auth",
            "Inworld Basic auth sends the configured key verbatim; bad keys get 401",
            "Inworld requests carry `Authorization: Basic <key>`, the key sent exactly as "
            "configured (`INWORLD_API_KEY` by default), with no further encoding. A server "
            "answers a request whose key is missing or unknown with 401.",
        ),
        # §2.1 is headed "(client MUST)".
        (
            "LLM-REQ-1",
            _M,
            _CLIENT,
            "2.1",
            "llm",
            "Model verbatim, streaming with usage included, messages in openai format",
            "A chat request is `POST {base_url}/chat/completions` with a JSON body carrying "
            "`model` exactly as given (a provider prefix is kept: `openai/gpt-4.1-mini` stays "
            'so), `stream: true`, `stream_options: {"include_usage": true}` and `messages` in '
            "the openai message format of §6.3.",
        ),
        (
            "LLM-REQ-2",
            _M,
            _CLIENT,
            "2.1",
            "llm",
            "Tools omitted when there are none; each one sent as a strict function schema",
            "Without tools the request has no `tools` key at all (never `tools: []`). Each "
            'function tool is sent as `{"type": "function", "function": {"name", '
            '"description", "parameters", "strict": true}}`, where the strict parameters '
            'schema has `"additionalProperties": false` on every object and lists every '
            "property of each object in that object's `required`. A raw tool is sent as "
            '`{"type": "function", "function": <its raw schema>}`.',
        ),
        (
            "LLM-REQ-3",
            _M,
            _CLIENT,
            "2.1",
            "llm",
            "tool_choice: names become function objects, keywords pass, omitted without tools",
            'A `tool_choice` naming a function is sent as `{"type": "function", '
            '"function": {"name": <name>}}`; the choices `"auto"`, `"required"` and `"none"` '
            "are sent unchanged. When the request carries no tools, `tool_choice` is left out "
            "entirely.",
        ),
        (
            "LLM-REQ-4",
            _M,
            _CLIENT,
            "2.1",
            "llm",
            "parallel_tool_calls, temperature and other options are sent only when given",
            "`parallel_tool_calls`, `temperature` and every other optional request option are "
            "in the body only when the caller gave them; an option nobody gave is not sent.",
        ),
        (
            "LLM-REQ-6",
            _S,
            _CLIENT,
            "2.1",
            "llm",
            "Per-call options override constructor options",
            "An option given both to the constructor and to the `chat()` call is sent with "
            "the `chat()` call's value: per-call options override constructor options.",
        ),
        (
            "LLM-REQ-5",
            _M,
            _CLIENT,
            "2.1",
            "llm",
            "X-LiveKit-Inference-Provider header sent whenever a provider is set",
            "When a provider is set, every chat request carries the HTTP header "
            "`X-LiveKit-Inference-Provider: <provider>`.",
        ),
        # §2.2 is headed "(server MUST, client MUST accept)".
        (
            "LLM-SSE-1",
            _M,
            _BOTH,
            "2.2",
            "llm",
            "SSE data events end with [DONE]; comments and blank keep-alives are ignored",
            "The response is a server-sent event stream: each event is `data: <json>` "
            "followed by a blank line (`data: <json>\\n\\n`), and the stream ends with "
            "`data: [DONE]\\n\\n`. Comment lines (`: ...`) and blank keep-alive lines may "
            "appear and are ignored. A server produces this framing; a client accepts it.",
        ),
        (
            "LLM-SSE-2",
            _M,
            _BOTH,
            "2.2",
            "llm",
            "Chunks are chat.completion.chunk objects sharing one id per completion",
            'Each event\'s JSON is a chunk `{"id", "object": "chat.completion.chunk", '
            '"created", "model", "choices": [...], "usage": null or {...}}`, and all chunks of '
            'one completion share the same `id`. Each choice is `{"index", "delta": {...}, '
            '"finish_reason"}` with `finish_reason` null or one of `"stop"`, `"tool_calls"`, '
            '`"length"`, `"content_filter"`.',
        ),
        (
            "LLM-SSE-3",
            _M,
            _BOTH,
            "2.2",
            "llm",
            "Tool-call fragments: a header fragment first, then argument-only fragments",
            'Tool calls arrive as fragments in `delta.tool_calls`, a list of `{"index", '
            '"id"?, "type"?, "function": {"name"?, "arguments"?}}`. The first fragment of a '
            'call carries `index`, `id`, `type: "function"` and `function.name`, usually with '
            '`arguments: ""`; its later fragments carry only `index` and '
            "`function.arguments` (the next piece of the arguments string).",
        ),
        (
            "LLM-SSE-4",
            _M,
            _BOTH,
            "2.2",
            "llm",
            "Usage comes in a chunk with no choices, after the finish chunk",
            "Token usage comes in a chunk of its own, after the chunk carrying the "
            "`finish_reason`, with `choices: []` and `usage: {prompt_tokens, "
            "completion_tokens, total_tokens}`, optionally with `prompt_tokens_details: "
            "{cached_tokens}` and `completion_tokens_details: {reasoning_tokens}`.",
        ),
        (
            "LLM-SSE-5",
            _M,
            _BOTH,
            "2.2",
            "llm",
            "Errors before the stream are non-2xx responses with a JSON error body",
            "An error that happens before the stream starts is answered with a non-2xx "
            'status and the JSON body `{"error": {"message", "type", "code"}}`, not with an '
            "event stream.",
        ),
        (
            "LLM-SSE-6",
            _S,
            _SERVER,
            "2.2",
            "llm",
            "A 429 carries Retry-After",
            "A `429 Too Many Requests` response carries a `Retry-After` header, saying when "
            "the client may try again.",
        ),
        (
            "LLM-TXT-1",
            _M,
            _CLIENT,
            "2.3",
            "llm",
            "Emitted text is the server's text minus thinking blocks: none lost or repeated",
            "The `content` of all the ChatChunks a client emits, concatenated, equals the "
            "server's content deltas concatenated, with the thinking blocks of LLM-TXT-2 "
            "removed: no text is lost, duplicated or reordered. A delta that is empty or "
            "carries only a role emits nothing.",
        ),
        (
            "LLM-TXT-2",
            _M,
            _CLIENT,
            "2.3",
            "llm",
            "Thinking blocks are removed even when markers split across deltas",
            "Thinking blocks, `<think>` ... `</think>`, are removed from the emitted text, "
            "also when a marker is split across deltas and when several blocks share one "
            "delta. Text before a `<think>` is kept. A block still open when the stream ends "
            "is discarded.",
        ),
        (
            "LLM-TC-1",
            _M,
            _CLIENT,
            "2.3",
            "llm",
            "Each tool call emitted once, whole, arguments byte-exact, in index order",
            "Every tool call of the completion is emitted exactly once, as one whole "
            "`FunctionToolCall` whose `arguments` is exactly the concatenation of its "
            "fragments' `arguments`, byte for byte (the client neither parses nor "
            "re-serialises them), and whose `call_id` and `name` come from its first "
            "fragment. Calls are emitted in the order of their `index`.",
        ),
        (
            "LLM-TC-2",
            _M,
            _CLIENT,
            "2.3",
            "llm",
            "Tool-call assembly holds for any fragmentation and for calls sharing a chunk",
            "LLM-TC-1 holds however the arguments are cut into fragments: empty fragments, "
            "one-character fragments, a fragment ending inside the JSON escape of a "
            "multi-byte UTF-8 character, the whole call in one fragment. It holds as well for "
            "several calls in one delta and for calls in the chunk that carries the "
            "`finish_reason`.",
        ),
        (
            "LLM-TC-3",
            _M,
            _CLIENT,
            "2.3",
            "llm",
            "Pending tool calls are emitted even when the stream ends without a stop",
            "A pending tool call is never dropped: when the stream ends with `finish_reason` "
            "`length` or `content_filter`, with no finish reason (null), or without any "
            "finish chunk at all, every call whose header (its first fragment) was received "
            "is still emitted, whole, before the stream ends.",
        ),
        (
            "LLM-TC-4",
            _S,
            _CLIENT,
            "2.3",
            "llm",
            "Interleaved indices, new ids on old indices and id-less calls still assemble",
            "Fragments of different calls may interleave (`0-header, 1-header, 0-args, "
            "1-args`: the header of call 0, then that of call 1, then their arguments); the "
            "client still assembles each call by its `index`. A fragment with a new `id` on "
            "an `index` already seen starts a new call. A fragment with a new `index` but no "
            "`id` is still a new call, whose "
            "`call_id` the client leaves empty or generates.",
        ),
        (
            "LLM-TC-5",
            _M,
            _CLIENT,
            "2.3",
            "llm",
            "Text sharing a delta with tool-call fragments is still emitted",
            "Text in the same delta as tool-call fragments is emitted, in the same ChatChunk "
            "as the calls or in one of its own, and counts toward LLM-TXT-1.",
        ),
        (
            "LLM-USG-1",
            _M,
            _CLIENT,
            "2.3",
            "llm",
            "Each server usage object yields exactly one usage ChatChunk, after the output",
            "Each usage object the server sends produces exactly one ChatChunk whose `usage` "
            "is `{completion_tokens, prompt_tokens, prompt_cached_tokens, total_tokens}`, "
            "`prompt_cached_tokens` being `prompt_tokens_details.cached_tokens` or 0 when "
            "that is absent; a null count becomes 0. Usage is emitted after the content and "
            "the tool calls.",
        ),
        (
            "LLM-ORD-1",
            _M,
            _CLIENT,
            "2.3",
            "llm",
            "Every ChatChunk of a stream carries the server's id",
            "Every ChatChunk a client emits for one stream carries the server's chunk `id` "
            "as its `id`.",
        ),
        # §2.4 is headed "(client)".
        (
            "RETRY-1",
            _M,
            _CLIENT,
            "2.4",
            "retry",
            "Timeouts, statuses and other failures map to APIError types with retryable",
            "Errors map to three types: a timeout (while connecting, or no byte for `timeout` "
            "seconds in the middle of the stream; 10 s by default) is an `APITimeoutError`; a "
            "non-2xx response is an `APIStatusError(status_code, body)`; anything else (a "
            "reset, malformed SSE, a refused connection) is an `APIConnectionError`. Every one "
            "carries a boolean `retryable`.",
        ),
        (
            "RETRY-2",
            _M,
            _CLIENT,
            "2.4",
            "retry",
            "Errors stay retryable until visible output has been emitted",
            "An error is `retryable` as long as the stream has not emitted visible output "
            "(non-empty text or a tool call), and not retryable once it has. Chunks carrying "
            "only usage or metadata are not visible output: they leave it retryable.",
        ),
        (
            "RETRY-3",
            _M,
            _CLIENT,
            "2.4",
            "retry",
            "4xx statuses are not retryable except 408, 429, 499",
            "A response with a 4xx status is not retryable, except 408, 429 and 499, which are.",
        ),
        (
            "RETRY-4",
            _M,
            _CLIENT,
            "2.4",
            "retry",
            "Retryable errors are retried up to max_retry times with the specified waits",
            "A retryable error is retried up to `max_retry` times (3 by default), so a call "
            "makes at most `max_retry + 1` requests, and `max_retry = 0` means exactly one. "
            "Before retry n (counting from 0) the client waits 0.1 s when n is 0 and "
            "`retry_interval` (2.0 s by default) otherwise, within ±50 ms plus scheduling "
            "delay. Negative connection options raise `ValueError`.",
        ),
        (
            "RETRY-5",
            _M,
            _CLIENT,
            "2.4",
            "retry",
            "Each failed attempt emits an error event; exhaustion raises APIConnectionError",
            "Each failed attempt emits an `error` event `{error, recoverable}`, `recoverable` "
            "being true when another attempt follows and false for the last. When the "
            'attempts are exhausted the call raises `APIConnectionError("failed ... after N '
            'attempts")`, chained to the last error. A non-retryable error is raised as '
            "itself, and so is the error of the single attempt when `max_retry = 0` (nothing "
            "was retried, so nothing was exhausted).",
        ),
        (
            "RETRY-6",
            _M,
            _CLIENT,
            "2.4",
            "retry",
            "The consumer never sees output from two attempts",
            "The consumer never sees output from two attempts: after visible output nothing "
            "is retried, so no text or tool call is ever duplicated.",
        ),
        (
            "RETRY-7",
            _M,
            _CLIENT,
            "2.4",
            "retry",
            "Every retry sends an identical request body",
            "A new attempt sends a request body identical to the first attempt's; only the "
            "token may be fresh.",
        ),
        # §2.4a: what a client does with a broken, hostile or newer server.
        (
            "LLM-ROB-1",
            _M,
            _CLIENT,
            "2.4a",
            "robustness",
            "Any malformed or mistyped stream ends in an APIError, never another exception",
            "Whatever a server sends, the stream ends with an error of the `APIError` family "
            "and never with an exception of another type: malformed JSON; JSON of the wrong "
            "shape or types (`choices` not a list, `delta` not an object, `content` not a "
            "string, a tool-call `index` that is not an integer, `usage` not an object); a "
            "2xx response whose content type is not `text/event-stream`; a body that is not "
            "SSE; JSON nested deeper than the parser allows; invalid UTF-8. Malformed data is "
            "an `APIConnectionError`, retryable per RETRY-2, so a fallback adapter fails over "
            "on it as on any other error.",
        ),
        (
            "LLM-ROB-2",
            _M,
            _CLIENT,
            "2.4a",
            "robustness",
            "Unknown keys anywhere in a chunk are ignored, never an error",
            "Unknown keys are ignored and never an error, wherever they appear: at the top "
            "level of a chunk, in a choice, in a delta, in usage, in a tool-call fragment. "
            "Providers add fields (`refusal`, `logprobs`, `reasoning_content`, "
            "`service_tier`, ...).",
        ),
        (
            "LLM-ROB-3",
            _M,
            _CLIENT,
            "2.4a",
            "robustness",
            "Never waits over timeout for a byte; aclose returns promptly and leaks nothing",
            "The client never waits longer than `timeout` for the next byte: not while "
            "connecting, not between the response head and the first event, not between "
            "events. Closing a stream early (`aclose`) returns promptly and leaks no "
            "connection.",
        ),
        # §2.5: the fallback adapter is client-side machinery.
        (
            "FALLBACK-1",
            _M,
            _CLIENT,
            "2.5",
            "fallback",
            "Before visible output, fail over to the next LLM and mark the failed one down",
            "When an LLM of a `FallbackAdapter([llm_a, llm_b, ...], attempt_timeout=5.0, "
            "max_retry_per_llm=0, retry_interval=0.5, retry_on_chunk_sent=False)` fails "
            "before any visible output, the adapter tries the next available LLM with the "
            "same chat context and tools, marks the failed one unavailable and emits "
            "`llm_availability_changed {llm, available: false}`.",
        ),
        (
            "FALLBACK-2",
            _M,
            _CLIENT,
            "2.5",
            "fallback",
            "After visible output a failure is raised unless retry_on_chunk_sent",
            "A failure after visible output is raised as it is, without trying another LLM, "
            "unless the adapter was built with `retry_on_chunk_sent=True`.",
        ),
        (
            "FALLBACK-3",
            _M,
            _CLIENT,
            "2.5",
            "fallback",
            "APIConnectionError when every LLM fails",
            "When every LLM of the adapter fails, the adapter raises `APIConnectionError`.",
        ),
        (
            "FALLBACK-4",
            _S,
            _CLIENT,
            "2.5",
            "fallback",
            "Unavailable LLMs are probed in the background and restored on success",
            "An LLM marked unavailable is probed in the background; a successful probe marks "
            "it available again, emitting `llm_availability_changed {llm, available: true}`.",
        ),
        (
            "FALLBACK-5",
            _M,
            _CLIENT,
            "2.5",
            "fallback",
            "An empty LLM list raises ValueError",
            "Building a `FallbackAdapter` from an empty list of LLMs raises `ValueError`.",
        ),
        # §3.1 is the client → server direction.
        (
            "STT-C-1",
            _M,
            _CLIENT,
            "3.1",
            "stt",
            "First message is session.create, sample_rate as a string, sent unprompted",
            "The client connects to `{ws_base}/stt?model=<model>` (`ws_base` is `base_url` "
            "with its first `http` replaced by `ws`) and sends only text frames of JSON "
            "objects with a `type`. Its first message, sent without waiting for a reply, is "
            '`{"type": "session.create", "model"?, "settings": {"sample_rate": "<integer as '
            'a STRING>", "encoding": "pcm_s16le", "language"?, "extra": {...}}, '
            '"connection"?: {"timeout", "retries"}, "fallback"?: {...}}`. `model` is left out '
            'when unset or `"auto"`, `language` when unset.',
        ),
        (
            "STT-C-2",
            _M,
            _CLIENT,
            "3.1",
            "stt",
            "Audio goes as base64 input_audio in exact 50 ms frames, bytes preserved",
            'Audio is sent as `{"type": "input_audio", "audio": "<base64 of PCM s16le mono '
            'at sample_rate>"}` in frames of exactly 50 ms (`sample_rate / 20` samples); only '
            "a frame sent right before a flush or the finalize may be shorter. The decoded "
            "audio of all frames, concatenated, equals the audio pushed (after resampling to "
            "`sample_rate`): no byte is lost, duplicated or reordered.",
        ),
        (
            "STT-C-3",
            _M,
            _CLIENT,
            "3.1",
            "stt",
            "session.finalize sent exactly once after input ends",
            'After the input ends the client sends `{"type": "session.finalize"}`, exactly once.',
        ),
        (
            "STT-C-4",
            _S,
            _CLIENT,
            "3.1",
            "stt",
            "session.close and close 1000 when the server lingers after the last final",
            "When the server has not closed the socket 3 s after the last final transcript "
            '(30 s when no final has been seen), the client sends `{"type": "session.close"}` '
            "and closes with code 1000.",
        ),
        (
            "STT-C-5",
            _S,
            _CLIENT,
            "3.1",
            "stt",
            "Mid-stream option changes go as session.update (or a reconnect)",
            'Options changed in the middle of a stream are sent as `{"type": '
            '"session.update", "settings": {"model"?, "language"?, "extra"?}}`, with `model` '
            "inside `settings` here. Reconnecting with a new `session.create` is acceptable "
            "too.",
        ),
        (
            "STT-S-1",
            _M,
            _SERVER,
            "3.2",
            "stt",
            "No transcript before session.create; bad client messages get an error (400)",
            "The server never sends a transcript before it has received `session.create`. It "
            "answers a client message that it cannot parse or that comes out of order with "
            '`{"type": "error", "message", "code"}`, code 400, and keeps the socket usable '
            "unless the error is fatal.",
        ),
        (
            "STT-S-2",
            _M,
            _SERVER,
            "3.2",
            "stt",
            "After session.finalize: pending finals, session.finalized, then close 1000",
            "After `session.finalize` the server sends any pending final transcript, then "
            "`session.finalized`, then closes with code 1000 (or, instead, sends "
            "`session.closed` and then closes).",
        ),
        # §3.3 is the client's SpeechEvent output.
        (
            "STT-ORD-1",
            _M,
            _CLIENT,
            "3.3",
            "stt",
            "Speech events form START (INTERIM)* [USAGE] FINAL END segments",
            "The client's speech events (`START_OF_SPEECH`, `INTERIM_TRANSCRIPT`, "
            "`RECOGNITION_USAGE`, `FINAL_TRANSCRIPT`, `END_OF_SPEECH`) form segments "
            "`START (INTERIM)* [USAGE] FINAL END`. A START is never emitted while a segment "
            "is open; an END is emitted only for an open segment; when the stream ends, no "
            "segment is left open after the last final.",
        ),
        (
            "STT-ORD-2",
            _M,
            _CLIENT,
            "3.3",
            "stt",
            "A non-empty interim, any final or start_of_speech opens a segment",
            "The first non-empty interim transcript, or any final transcript (even an empty "
            "one), opens a segment; an explicit `start_of_speech` message opens one when none "
            "is open.",
        ),
        (
            "STT-ORD-3",
            _M,
            _CLIENT,
            "3.3",
            "stt",
            "An empty interim emits nothing; an empty final emits FINAL and END",
            "An empty interim transcript emits nothing. An empty final transcript emits FINAL "
            '(with text `""`) and END; a client that skips them wedges, because its next '
            "segment never starts.",
        ),
        (
            "STT-ORD-4",
            _M,
            _CLIENT,
            "3.3",
            "stt",
            "FINAL and non-empty INTERIM texts match the server's, in order",
            "The FINAL texts equal the server's final transcripts, in order; the INTERIM "
            "texts equal its non-empty interim transcripts, in order.",
        ),
        (
            "STT-ORD-5",
            _M,
            _CLIENT,
            "3.3",
            "stt",
            "Event times are offset-based; confidence, language and request_id defaults",
            "An event's `start_time` is `offset + start` and its `end_time` is `offset + "
            "start + duration`, from the transcript's `start` and `duration`. A missing "
            "`confidence` becomes 1.0; a missing `language` becomes the configured language, "
            'or `"en"` when none is configured; `request_id` is the server\'s `request_id` '
            "when it sends one.",
        ),
        (
            "STT-USG-1",
            _M,
            _CLIENT,
            "3.3",
            "stt",
            "Usage reports sample-exact audio since the last usage, just before a FINAL",
            "A `RECOGNITION_USAGE` event's `audio_duration` is the duration of the audio sent "
            "since the previous usage event; the event is emitted just before a FINAL, when "
            "that duration is above 0. Durations are exact to the sample.",
        ),
        (
            "STT-END-1",
            _M,
            _CLIENT,
            "3.3",
            "stt",
            "Close after finalize ends cleanly; early close or error message is an APIError",
            "A server close after `session.finalize` (or after `session.closed`) ends the "
            "stream cleanly; a close before it is a retryable `APIStatusError`. An `error` "
            "message is an `APIError`, retryable unless its code is a 4xx other than 408 and "
            "429.",
        ),
        (
            "STT-RETRY-1",
            _M,
            _CLIENT,
            "3.3",
            "stt",
            "Retryable errors reconnect with a new session, keeping start_time monotonic",
            "On a retryable error the client reconnects, with a new token and a new "
            "`session.create`; `start_time` stays monotonic across attempts, and the "
            "attempts and the waits between them follow §2.4 (at most `max_retry + 1` "
            "attempts; 0.1 s before the first retry, `retry_interval` before the others).",
        ),
        # §4 has no subsections; the C/OUT/RETRY rules are the client's, S the server's.
        (
            "TTS-C-1",
            _M,
            _CLIENT,
            "4",
            "tts",
            "session.create once per connection, sample_rate as a string (default 24000)",
            "The client connects to `{ws_base}/tts?model=<model>` and pools its connections: "
            "one socket serves many sequential synthesis streams. Once per connection it "
            'sends `{"type": "session.create", "sample_rate": "<integer as a STRING>", '
            '"encoding": "pcm_s16le", "extra": {}, "voice"?, "model"?, "language"?, '
            '"connection"?, "fallback"?}`; the default sample rate is 24000.',
        ),
        (
            "TTS-C-2",
            _M,
            _CLIENT,
            "4",
            "tts",
            "One input_transcript per sentence with a trailing space; text preserved",
            'For each sentence the client sends `{"type": "input_transcript", "transcript": '
            '"<sentence> ", "generation_config": {"voice"?, "model"?, "language"?}, "extra": '
            "{}}`, a space added after the sentence. The transcripts, concatenated with their "
            "spaces normalised, equal the input text.",
        ),
        (
            "TTS-C-3",
            _M,
            _CLIENT,
            "4",
            "tts",
            "One session.flush after input, no close; the socket goes back to the pool",
            'After the input ends the client sends exactly one `{"type": "session.flush"}` '
            "and no close message. The socket goes back to the pool, and the next stream "
            "reuses it while it has been idle for less than 300 s.",
        ),
        (
            "TTS-S-1",
            _M,
            _SERVER,
            "4",
            "tts",
            "session_id on every output_audio and on done; the socket stays open",
            'The server sends audio as `output_audio {"audio": <base64 PCM s16le mono at the '
            'session\'s sample rate>, "session_id"}`, with `session_id` on every '
            '`output_audio` and on `done` (upstream clients crash without it); `{"type": '
            '"done", "session_id"}` ends the synthesis, and the socket stays open.',
        ),
        (
            "TTS-S-2",
            _Y,
            _SERVER,
            "4",
            "tts",
            "Word or character output_alignment may be sent",
            'The server may send `output_alignment` with `{"words": [{word, start, end}]}` or '
            '`{"chars": [{char, start, end}]}`; a client has to tolerate either.',
        ),
        (
            "TTS-OUT-1",
            _M,
            _CLIENT,
            "4",
            "tts",
            "Emitted audio equals the server's bytes, in order, last frame marked final",
            "The audio the client emits, concatenated, equals the server's audio bytes "
            "exactly, at the session's sample rate, mono. Frames are emitted in order, the "
            "last frame is marked final, and the segment id is the server's `session_id`.",
        ),
        (
            "TTS-OUT-2",
            _M,
            _CLIENT,
            "4",
            "tts",
            "Error message, mid-synthesis close and silence map to the APIError family",
            "An `error` message becomes an `APIError` (retryable); a close in the middle of a "
            "synthesis, a retryable `APIStatusError`; no message for `timeout` seconds, an "
            "`APITimeoutError`.",
        ),
        (
            "TTS-RETRY-1",
            _M,
            _CLIENT,
            "4",
            "tts",
            "Retry synthesis only before any audio, replaying all of the input text",
            "A streaming synthesis is retried only when no audio has been emitted yet, and "
            "the retry replays all of the input text. Once audio has been emitted the error "
            "is raised instead, so audio is never duplicated.",
        ),
        (
            "IW-HTTP-1",
            _M,
            _CLIENT,
            "5.1",
            "inworld-tts",
            "HTTP TTS request headers, body fields and defaults",
            "Inworld TTS over HTTP is `POST {host}/tts/v1/voice:stream`, an absolute path: any "
            "path in `base_url` is dropped. Headers: `Authorization: Basic <key>`, "
            '`X-User-Agent`, `X-Request-Id: <uuid4>`. Body: `{"text", "voiceId", '
            '"modelId", "audioConfig": {"audioEncoding", "bitrate", "sampleRateHertz", '
            '"temperature", "speakingRate"}, "timestampType"?, "applyTextNormalization"?, '
            '"language"?, "deliveryMode"?, "timestampTransportStrategy"}`. Defaults: voice '
            "`Ashley`, model `inworld-tts-1.5-max`, encoding `PCM`, 24000 Hz, 64000 bps, "
            "speaking rate 1.0, temperature 1.0 (inside `audioConfig` in this request), "
            "timestamp transport strategy `ASYNC`.",
        ),
        # The NDJSON shape is the server's to produce; the stated "Client MUST" covers parsing.
        (
            "IW-HTTP-2",
            _M,
            _BOTH,
            "5.1",
            "inworld-tts",
            "NDJSON stream: skip bad lines, decode audio in order, raise on error lines",
            'The response is NDJSON, one object per line: `{"result": {"audioContent": '
            '<base64>, "timestampInfo"?}}` or `{"error": {"code", "message"}}`. The client '
            "skips blank and unparseable lines, decodes every audio chunk in order with its "
            "bytes exact, and raises `APIStatusError(code)` on an error line or a non-2xx "
            "response.",
        ),
        (
            "IW-HTTP-3",
            _M,
            _BOTH,
            "5.1",
            "inworld-tts",
            "timestampInfo alignment as equal-length parallel arrays, mapped to timed text",
            '`timestampInfo` is `{"wordAlignment": {"words", "wordStartTimeSeconds", '
            '"wordEndTimeSeconds"}}` or `{"characterAlignment": {"characters", '
            '"characterStartTimeSeconds", "characterEndTimeSeconds"}}`: parallel arrays, '
            "which a server keeps of equal length and a client maps to timed strings.",
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
            "Voices are listed with `GET {base_url}tts/v1/voices`, optionally with "
            "`?filter=language=<code>`; the path is joined relative to `base_url` (unlike "
            'the synthesis endpoints, which drop its path). The answer is `{"voices": '
            "[...]}`.",
        ),
        (
            "IW-WS-1",
            _M,
            _CLIENT,
            "5.2",
            "inworld-tts",
            "Context messages: create, send_text of at most 1000 chars, flush, close, cancel",
            "Inworld TTS over WebSocket is `{ws_host}/tts/v1/voice:streamBidirectional`, an "
            "absolute path; every message has a top-level `contextId`. Per context the client "
            'sends `{"create": {"voiceId", "modelId", "audioConfig": {"audioEncoding", '
            '"sampleRateHertz", "bitrate", "speakingRate"}, "temperature", '
            '"bufferCharThreshold"?, "maxBufferDelayMs", "timestampTransportStrategy", '
            '"autoMode": true, ...optional fields}, "contextId"}` (`temperature` at the top '
            'level of `create` here), then `{"send_text": {"text"}, "contextId"}` with pieces '
            'of at most 1000 characters, then `{"flush_context": {}, "contextId"}` and '
            '`{"close_context": {}, "contextId"}`; on cancel or timeout it sends '
            '`{"cancel_context": {}, "contextId"}`.',
        ),
        (
            "IW-WS-2",
            _M,
            _CLIENT,
            "5.2",
            "inworld-tts",
            "At most 5 open contexts per socket and max_connections sockets",
            "A client keeps at most 5 contexts open on one socket and at most "
            "`max_connections` sockets (20).",
        ),
        # Tagged "(server)" with no keyword: it is the server's normative reply shape, so MUST.
        (
            "IW-WS-3",
            _M,
            _SERVER,
            "5.2",
            "inworld-tts",
            "Replies are result objects with contextId; a 6th context is refused alone",
            'Every server reply is `{"result": {"contextId", "status"?: {"code", "message"}, '
            '...}}` with one of `contextCreated`, `audioChunk: {"audioContent", '
            '"timestampInfo"?}`, `flushCompleted` or `contextClosed`. A sixth concurrent '
            "context on one socket is refused with a `status.code` other than 0, for that "
            "context only.",
        ),
        (
            "IW-WS-4",
            _M,
            _CLIENT,
            "5.2",
            "inworld-tts",
            "contextClosed ends a stream; status errors fail one context, a close fails all",
            "`contextClosed` completes a context's stream. A `status.code` other than 0 fails "
            "only that context, with an `APIError`; the other contexts on the socket go on. A "
            "socket close fails every open context with `APIConnectionError`, and the next "
            "stream opens a new socket.",
        ),
        (
            "IW-WS-5",
            _M,
            _CLIENT,
            "5.2",
            "inworld-tts",
            "Per-context audio in order and exact; word timestamps increase across flushes",
            "Each context's audio is emitted in order with its bytes exact, the `contextId` "
            "being the segment id; word timestamps keep increasing within a context across "
            "flushes.",
        ),
        (
            "IW-STT-C-1",
            _M,
            _CLIENT,
            "5.3",
            "inworld-stt",
            "transcribeConfig first, then audioChunk per frame, endTurn, closeStream",
            "Inworld STT connects to `/stt/v1/transcribe:streamBidirectional` appended to the "
            "path of `base_url` turned into a ws URL. The first message is "
            '`{"transcribeConfig": {"modelId", "audioEncoding": "LINEAR16", '
            '"sampleRateHertz", "numberOfChannels", "language", "voiceProfileConfig"?: '
            '{"enableVoiceProfile": true, "topN"}, "endOfTurnConfidenceThreshold", '
            '"inworldSttV1Config": {"minEndOfTurnSilenceWhenConfident", "vadThreshold"?}}}`; '
            'then each frame pushed goes as `{"audioChunk": {"content": <base64 PCM>}}`, '
            'without re-chunking and with its bytes exact; `{"endTurn": {}}` is sent on a '
            'flush and `{"closeStream": {}}` at the end of input.',
        ),
        # Tagged "(server)" with no keyword: it is the server's normative message shape, so MUST.
        (
            "IW-STT-S-1",
            _M,
            _SERVER,
            "5.3",
            "inworld-stt",
            "speechStarted/transcription results; after closeStream, finals then close 1000",
            'The server sends `{"result": {"speechStarted": {}}}` and `{"result": '
            '{"transcription": {"transcript", "isFinal", "voiceProfile"?}}}`; after '
            "`closeStream` it sends any pending finals and closes the socket with code 1000.",
        ),
        (
            "IW-STT-ORD-1",
            _M,
            _CLIENT,
            "5.3",
            "inworld-stt",
            "Events follow the STT-ORD segment rules with speechStarted as the start",
            "Speech events follow the segment rules of STT-ORD-1 to STT-ORD-4, with "
            "`speechStarted` as the explicit start of speech; an empty final closes the "
            "segment; a `voiceProfile` goes into the event's metadata.",
        ),
        # Usage events are produced by the client from the audio it pushed.
        (
            "IW-STT-USG-1",
            _M,
            _CLIENT,
            "5.3",
            "inworld-stt",
            "Usage at least every 5 s of audio, on endTurn and at end; sums to audio pushed",
            "Usage is reported at least once per 5 s of audio pushed, on every `endTurn` and "
            "at the end of input; the reported durations add up to the audio pushed.",
        ),
        (
            "IW-STT-END-1",
            _S,
            _CLIENT,
            "5.3",
            "inworld-stt",
            "A server close before closeStream is a retryable error, not a silent end",
            "A server close before the client has sent `closeStream` is a retryable error, "
            "not a silent end of the stream.",
        ),
        # §6 is about the local chat-context structure, not the wire.
        (
            "CTX-TRUNC-1",
            _M,
            _LIBRARY,
            "6.1",
            "chat-context",
            "truncate leaves a context of at most max_items items unchanged",
            "`truncate(max_items)` works in place and returns the context itself. When the "
            "context has `max_items` items or fewer, nothing changes.",
        ),
        (
            "CTX-TRUNC-2",
            _M,
            _LIBRARY,
            "6.1",
            "chat-context",
            "truncate keeps the last max_items minus leading calls, after the instructions",
            "Otherwise let `I` be the instructions (the first `system` or `developer` "
            "message, if any) and `W` the last `max_items` items with their leading "
            "`function_call` and `function_call_output` items removed. The result is `W`, "
            "preceded by `I` when `I` is not in `W`.",
        ),
        (
            "CTX-TRUNC-3",
            _M,
            _LIBRARY,
            "6.1",
            "chat-context",
            "Instructions kept exactly once; no duplicates; order kept; size bounded",
            "The instructions `I`, when present, appear exactly once in the result: never "
            "duplicated, never lost. No other item is duplicated, the items keep their "
            "relative order, and the result has at most `max_items + 1` items.",
        ),
        (
            "CTX-TRUNC-4",
            _M,
            _LIBRARY,
            "6.1",
            "chat-context",
            "The kept window never starts with a function call or its output",
            "The kept window `W` never starts with a `function_call` or "
            "`function_call_output` item; so when `I` is not in `W`, the part of the result "
            "after `I` never starts with one either.",
        ),
        (
            "CTX-TRUNC-5",
            _M,
            _LIBRARY,
            "6.1",
            "chat-context",
            "truncate is idempotent",
            "Truncation is idempotent: `truncate(n)` applied twice gives the same context as "
            "applied once.",
        ),
        (
            "CTX-TRUNC-6",
            _S,
            _LIBRARY,
            "6.1",
            "chat-context",
            "A negative max_items raises ValueError; zero keeps only the instructions",
            "`truncate` with a negative `max_items` raises `ValueError`; with `max_items == "
            "0` it keeps only the instructions `I` (the first `system` or `developer` "
            "message).",
        ),
        (
            "CTX-INS-1",
            _M,
            _LIBRARY,
            "6.2",
            "chat-context",
            "insert/add_message place items by created_at, stably; no time means append",
            "`insert` and `add_message(created_at=t)` place the item after the last item "
            "whose `created_at` is at most `t`, so items of equal time keep the order they "
            "were added in; `add_message` without `created_at` appends the item.",
        ),
        (
            "CTX-MERGE-1",
            _M,
            _LIBRARY,
            "6.2",
            "chat-context",
            "merge adds items with absent ids at their insertion index, honouring excludes",
            "`merge(other)` adds the items of `other` whose `id` the context does not have, "
            "each at its insertion index (where CTX-INS-1 would place it); it never "
            "duplicates an id, and it honours `exclude_function_call` and "
            "`exclude_instructions`.",
        ),
        (
            "CTX-COPY-1",
            _M,
            _LIBRARY,
            "6.2",
            "chat-context",
            "copy filters per its flags and never mutates the source",
            "`copy(...)` filters the items as its flags say (leaving out function calls, "
            "instructions or empty messages; with `tools=`, keeping only the calls and "
            "outputs of the named tools) and never mutates the source context.",
        ),
        (
            "CTX-DICT-1",
            _M,
            _LIBRARY,
            "6.2",
            "chat-context",
            "from_dict(to_dict(ctx)) is equivalent to ctx",
            "For every context of text messages, function calls and function outputs, "
            "`from_dict(to_dict(ctx, exclude_timestamp=False, exclude_image=False))` is "
            "equivalent to `ctx` by `is_equivalent`.",
        ),
        (
            "CTX-EQ-1",
            _M,
            _LIBRARY,
            "6.2",
            "chat-context",
            "is_equivalent compares ids, types and payloads, never timestamps",
            "`is_equivalent` compares the items' ids, types and payloads (a message's role, "
            "`interrupted` and content; a call's name, `call_id` and arguments; an output's "
            "name, `call_id`, output and `is_error`) and never their timestamps.",
        ),
        (
            "CTX-OAI-1",
            _M,
            _LIBRARY,
            "6.3",
            "chat-context",
            "Calls grouped into one assistant message, then one tool message per output",
            "In the openai format, function calls are grouped with the assistant message "
            'they belong to (the same group) into one `{"role": "assistant", "content"?, '
            '"tool_calls": [{"id": call_id, "type": "function", "function": {"name", '
            '"arguments"}}]}`, followed by one `{"role": "tool", "tool_call_id", "content": '
            "output}` per output.",
        ),
        (
            "CTX-OAI-2",
            _M,
            _LIBRARY,
            "6.3",
            "chat-context",
            "A call without its output, or an output without its call, is not sent",
            "A function call without its output, or an output without its call, is not sent: "
            "an assistant `tool_calls` entry must always be answered, or the provider answers "
            "400.",
        ),
        (
            "CTX-OAI-3",
            _M,
            _LIBRARY,
            "6.3",
            "chat-context",
            "Text-only content is one joined string; with images a list, images first",
            "Content of text only is a plain string, its parts joined with `\\n`; content "
            "with images is a list with the image parts first, then one text part.",
        ),
        (
            "CLI-ROB-1",
            _M,
            _CLIENT,
            "6a",
            "robustness",
            "Every client protocol ends a hostile stream in an APIError within timeout",
            "LLM-ROB-1 to LLM-ROB-3 hold for every client protocol of the specification: a "
            "WebSocket message that is not JSON, a binary frame where text is expected, a "
            "message of the wrong shape or types, or a close with any code at any point ends "
            "the affected stream with an error of the `APIError` family within `timeout`, "
            "never another exception type and never a hang. Unknown message types and "
            "unknown keys are ignored.",
        ),
        (
            "SRV-1",
            _M,
            _SERVER,
            "7",
            "server",
            "Malformed or out-of-order client messages get a protocol error, never a crash",
            "A client message that cannot be parsed, is wrongly typed or comes out of order "
            "gets a protocol error (an HTTP 400 with a JSON error; on a WebSocket an `error` "
            "message or a close with 1008 or 1003), never a crash, a hang, or a 500 that "
            "takes other sessions down.",
        ),
        (
            "SRV-2",
            _M,
            _SERVER,
            "7",
            "server",
            "One misbehaving session never affects another concurrent session",
            "A session that misbehaves never affects any other session running at the same time.",
        ),
        (
            "SRV-3",
            _M,
            _SERVER,
            "7",
            "server",
            "WebSocket sessions end with a close code; unexpected binary frames get 1003",
            "A WebSocket session ends with a close frame carrying a close code; a binary "
            "frame where text is expected is rejected with close code 1003.",
        ),
        (
            "SRV-4",
            _S,
            _SERVER,
            "7",
            "server",
            "Size, depth, idle-peer and per-key session limits are enforced and reported",
            "Limits are enforced and reported: request body and message size (413, or "
            "WebSocket close 1009); JSON nesting depth (400); slow or idle peers (a "
            "connection that sends no complete request head or body within a deadline is "
            "closed, and so is an idle keep-alive connection); concurrent sessions per key "
            "(429 at the request or upgrade).",
        ),
        (
            "SRV-5",
            _S,
            _SERVER,
            "7",
            "server",
            "Every error response carries the protocol's JSON error body, never plain text",
            "Every error response the server chooses to send (400, 401, 404, 405, 413, 429, "
            '500) carries the JSON error body of LLM-SSE-5 (`{"error": {"message", '
            '"type", "code"}}`), or on a WebSocket the protocol\'s own error message, never '
            "a plain-text page.",
        ),
        (
            "SRV-6",
            _S,
            _SERVER,
            "7",
            "server",
            "Authentication is checked from the request head, before the body is read",
            "Authentication is checked from the request head, before the body is read, so a "
            "peer that is not authenticated cannot make the server buffer anything.",
        ),
        (
            "SRV-7",
            _M,
            _SERVER,
            "7",
            "server",
            "No request or session can starve the others: size-bound work is bounded",
            "No single request or session can starve the others: work that grows with a "
            "request's size (planning a long reply, echoing a large message, evaluating a "
            "scripted pattern) is bounded or done incrementally, so concurrent sessions keep "
            "their timing.",
        ),
    )
)
"""Every SPEC.md requirement by ID, in document order (read-only)."""


_BROKEN_OUTCOME = {Level.MUST: "FAIL", Level.SHOULD: "NON-STRICT"}


@dataclass(frozen=True, slots=True)
class KnownDeviation:
    """A rule that a named implementation is known not to follow, traced to its source.

    Protocols register these with the implementation they describe
    (``ProtocolSpec.with_implementation(name, part, deviations=...)``), so ``voicewire
    explain`` can name them beside the rule and a test can pin them against a real run.

    Attributes:
        rule: the ID of the requirement the implementation breaks.
        release: the implementation as a person names it, with its version
            (``"livekit-agents 1.8.9"``).
        explanation: one paragraph: what the implementation does instead of what the rule
            requires, as a run shows it.
        source: where in the implementation's source the behaviour comes from (files and
            lines of the installed release).
        cases: the suite cases that find the deviation, by the name reports print
            (``test_name[parameters]``); a run against the implementation reports each of
            them as breaking :attr:`rule`.
    """

    rule: str
    release: str
    explanation: str
    source: str
    cases: tuple[str, ...]

    def __post_init__(self) -> None:
        _check_text("rule", self.rule)
        requirement = REQUIREMENTS.get(self.rule)
        if requirement is None:
            raise ValueError(f"rule {self.rule!r} is not a SPEC requirement ID")
        if requirement.level not in _BROKEN_OUTCOME:
            raise ValueError(f"rule {self.rule} is a MAY: an implementation cannot break it")
        _check_text("release", self.release)
        _check_text("explanation", self.explanation)
        _check_text("source", self.source)
        if not isinstance(self.cases, tuple) or not self.cases:
            raise ValueError(f"cases of {self.rule} must be a non-empty tuple of case names")
        for case in self.cases:
            _check_text("cases", case)

    @property
    def outcome(self) -> str:
        """The result a run reports for the rule: ``FAIL`` for a MUST, ``NON-STRICT`` for a
        SHOULD."""
        return _BROKEN_OUTCOME[REQUIREMENTS[self.rule].level]


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
    suggestions = closest_ids(rid)
    hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
    raise KeyError(f"unknown SPEC requirement ID {rid!r}{hint}") from None


def closest_ids(text: str, n: int = 3) -> list[str]:
    """Up to ``n`` catalog IDs closest to ``text``, best first (none when nothing is close)."""
    # Compare upper-cased: a lower-case spelling of a real ID should rank it first.
    return difflib.get_close_matches(text.upper(), REQUIREMENTS.keys(), n=n, cutoff=0.6)


def get_section(number: str) -> Section:
    """The SPEC.md section ``number``, written as reports write it: ``"2.4"`` or
    ``"§2.4"`` (a top-level section may keep SPEC.md's dot: ``"7."``).

    Raises:
        TypeError: ``number`` is not a str.
        KeyError: SPEC.md has no such section.
    """
    if not isinstance(number, str):
        raise TypeError(f"number must be a str, got {type(number).__name__}")
    key = number.strip().removeprefix("§").strip()
    if key.endswith(".") and "." not in key[:-1]:
        key = key[:-1]
    try:
        return SECTIONS[key]
    except KeyError:
        raise KeyError(f"SPEC.md has no section {number!r}") from None


def requirements_in_section(number: str) -> tuple[Requirement, ...]:
    """The requirements of section ``number`` and of its subsections (``"2"`` gives those of
    2.1 to 2.5, 2.4a included), in document order.

    Raises:
        TypeError: ``number`` is not a str.
        KeyError: SPEC.md has no such section.
    """
    section = get_section(number)
    return tuple(
        req
        for req in REQUIREMENTS.values()
        if req.section == section.number or req.section.startswith(section.number + ".")
    )


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
