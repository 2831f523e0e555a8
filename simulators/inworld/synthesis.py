"""The Inworld simulator's HTTP part (SPEC §5.1): ``POST {prefix}/tts/v1/voice:stream`` (TTS
over NDJSON) and ``GET {prefix}/tts/v1/voices`` (the voices list).

Both routes admit a request from its head with the Basic key (AUTH-6: a missing or unknown
key gets 401 JSON before the body is read, SRV-6), then journal it and pick the rule of their
endpoint: ``inworld.synthesize`` (reply :class:`InworldSynthesisReply`; ``match.model``
against ``modelId``, ``match.text`` against ``text``; attempt N is the Nth identical body) and
``inworld.voices`` (reply :class:`InworldVoicesReply`; ``match.text`` against the language
filter; attempt N is the Nth request for the same URL). A rule's ``raw`` or ``status`` fault
answers instead; a request no rule matches gets the reply's defaults (or 404 when the
scenario's ``on_unmatched`` is ``error``).

**Synthesis.** The body is judged by the wire module's
:func:`~voicewire.reference.inworld.wire.synthesis.decode_synthesize_request`: a bad one gets
400 JSON naming the field (SRV-1). The audio is the tone code of ``text`` (surrounding
whitespace left out; a blank text gets no audio) at ``audioConfig.sampleRateHertz`` (default
24000), raw PCM s16le mono (``PCM`` only: another encoding gets 400), cut into lines
``{"result": {"audioContent", "timestampInfo"?}}`` of ``chunk_duration`` seconds. When the
request asks for ``timestampType`` ``WORD`` or ``CHARACTER``, each word (character) goes with
the line its sound starts in, its times in seconds from the first sample, so they match the
audio (IW-HTTP-3). Each line is one event of the shared fault vocabulary: ``error_event``
inserts ``{"error": {"code", "message"}}``, ``malformed`` replaces a line (default
:data:`MALFORMED_INWORLD_LINE`; ``line: ""`` a blank line), ``drop``, ``duplicate``,
``reorder``, ``stall``, ``delay``, ``disconnect`` and ``byte_split`` act on lines. What the
vocabulary has no word for is the reply's: lines interleaved between events, timestamp-only
lines after the audio, and parallel arrays of unequal length.

**Voices.** ``?filter=language=<code>`` keeps the voices one of whose ``languages`` has the
code's primary subtag (``en`` matches ``en`` and ``en-US``); another filter gets 400. The
answer is ``{"voices": [...]}``, one event for the fault vocabulary.

The journal records the request (``http_request``), the answer's head (``http_response`` or
``http_error``) and every line written (``ndjson_line``: an audio line as its sample count,
duration and CRC-32, never its base64).
"""

from __future__ import annotations

import asyncio
import base64
import json
import zlib
from collections.abc import Callable, Iterator
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator
from voicewire.reference.errors import error_body
from voicewire.reference.inworld.wire.ndjson import encode_ndjson_line
from voicewire.reference.inworld.wire.synthesis import (
    InworldSynthesizeRequest,
    decode_synthesize_request,
    inworld_error_line,
    inworld_result_line,
)
from voicewire.reference.inworld.wire.timestamps import (
    InworldCharacterAlignment,
    InworldTimestampInfo,
    InworldWordAlignment,
)
from voicewire.reference.json_wire import MalformedMessage
from voicewire.reference.tone_code import MIN_SAMPLE_RATE, ToneAlignment, encode_tone
from voicewire.simulators.core.actions import Action
from voicewire.simulators.core.bodies import json_depth
from voicewire.simulators.core.credentials import Authentication
from voicewire.simulators.core.faults import place_faults
from voicewire.simulators.core.raw import raw_answer
from voicewire.simulators.core.registry import EndpointSpec
from voicewire.simulators.core.serving import (
    admit,
    error_response,
    execute_actions,
    expect_admissible_under,
    receive_body,
    serve_raw,
)
from voicewire.simulators.core.state import Exchange
from voicewire.simulators.scenario import (
    ErrorEventFault,
    MalformedFault,
    Rule,
    StatusFault,
    Timing,
)

__all__ = [
    "DEFAULT_INWORLD_VOICES",
    "ENDPOINTS",
    "LINE_KIND",
    "MALFORMED_INWORLD_LINE",
    "MAX_INWORLD_TEXT_CHARS",
    "SYNTHESIZE_ENDPOINT",
    "SYNTHESIZE_PATH",
    "VOICES_ENDPOINT",
    "VOICES_PATH",
    "InworldSynthesisReply",
    "InworldVoicesReply",
    "add_routes",
    "filter_voices",
    "synthesis_lines",
]

SYNTHESIZE_ENDPOINT = "inworld.synthesize"
"""The scenario endpoint of ``POST /tts/v1/voice:stream``."""
VOICES_ENDPOINT = "inworld.voices"

SYNTHESIZE_PATH = "/tts/v1/voice:stream"
"""The synthesis route under a prefix."""

VOICES_PATH = "/tts/v1/voices"
"""The voices route under a prefix."""
"""The scenario endpoint of ``GET /tts/v1/voices``."""
LINE_KIND = "ndjson_line"
"""The journal ``kind`` of each line (or piece of the body) written."""
MALFORMED_INWORLD_LINE = '{"result": {"audioContent": '
"""What a ``malformed`` fault without a ``line`` writes: a line that is not JSON."""
MAX_INWORLD_TEXT_CHARS = 2000
"""The longest ``text`` synthesized (Inworld's own limit per request): one request's work
stays bounded (SRV-7). A longer one gets 400."""
DEFAULT_INWORLD_VOICES: tuple[dict[str, Any], ...] = (
    {
        "voiceId": "Ashley",
        "displayName": "Ashley",
        "description": "A warm, natural female voice",
        "languages": ["en"],
    },
    {
        "voiceId": "Dennis",
        "displayName": "Dennis",
        "description": "A smooth, calm male voice",
        "languages": ["en"],
    },
    {
        "voiceId": "Diego",
        "displayName": "Diego",
        "description": "A friendly male voice",
        "languages": ["es"],
    },
    {
        "voiceId": "Mathieu",
        "displayName": "Mathieu",
        "description": "A clear male voice",
        "languages": ["fr"],
    },
    {
        "voiceId": "Asuka",
        "displayName": "Asuka",
        "description": "A bright female voice",
        "languages": ["ja"],
    },
)
"""The voices ``GET /tts/v1/voices`` lists when no rule says otherwise."""

_DEFAULT_SAMPLE_RATE = 24000
_SUPPORTED_ENCODING = "PCM"
_NDJSON_HEADERS = {"Content-Type": "application/json"}
_SUMMARY_HEAD = b'{"result":{"audioContent":'


# -- the replies -------------------------------------------------------------------------------


class _Script(BaseModel):
    # Unknown keys are errors: a typo in a scenario must not silently script nothing.
    model_config = ConfigDict(extra="forbid", frozen=True)


class InworldSynthesisReply(_Script):
    """How ``POST /tts/v1/voice:stream`` answers: the delivery of the tone-coded audio of the
    request's text, its timestamps, what the request must ask for, and the server bugs to
    play that the fault vocabulary has no word for."""

    chunk_duration: float = Field(
        default=0.1,
        ge=0.005,
        le=10.0,
        allow_inf_nan=False,
        description="Seconds of audio per `result` line (the last one may be shorter).",
    )
    ttfb: float = Field(
        default=0.0,
        ge=0,
        le=3600,
        allow_inf_nan=False,
        description="Seconds before the first line (times the time scale), added to the "
        "rule's `timing.ttft`.",
    )
    real_time_factor: float = Field(
        default=0.0,
        ge=0,
        le=100,
        allow_inf_nan=False,
        description="Wall seconds per second of audio between two lines (times the time "
        "scale): 1 paces the audio in real time, 0 sends it at once.",
    )
    timestamps: bool = Field(
        default=True,
        description="Send `timestampInfo` when the request asks for `timestampType` `WORD` "
        "or `CHARACTER`; false: never (a server that ignores it).",
    )
    timestamp_lines: Literal["with_audio", "after_audio"] = Field(
        default="with_audio",
        description="`with_audio`: a line's words ride in its `result` with its audio; "
        "`after_audio`: in a `result` of their own (no `audioContent`) right after it, as "
        "the `ASYNC` transport may send them.",
    )
    unequal_timestamps: bool = Field(
        default=False,
        description="A server bug (IW-HTTP-3): every `timestampInfo`'s end-time array is one "
        "entry short.",
    )
    interleave: StrictStr | None = Field(
        default=None,
        description='A line written before every line of the answer (`""`: a blank line; '
        '`"x"`: an unparseable one), which a conforming client skips; not an event of its '
        "own: faults address the same lines as without it. Absent: none.",
    )
    sample_rate: int | None = Field(
        default=None,
        ge=MIN_SAMPLE_RATE,
        le=192000,
        strict=True,
        description="Synthesise at this rate instead of the request's `sampleRateHertz` (a "
        "server bug); absent: the request's rate.",
    )
    expect_voice: StrictStr | None = Field(
        default=None,
        description="The `voiceId` every request must ask for: another gets 400 naming both.",
    )
    expect_model: StrictStr | None = Field(
        default=None,
        description="The `modelId` every request must ask for: another gets 400 naming both.",
    )
    expect_sample_rate: int | None = Field(
        default=None,
        ge=MIN_SAMPLE_RATE,
        strict=True,
        description="The `audioConfig.sampleRateHertz` every request must ask for: another "
        "gets 400 naming both.",
    )

    @field_validator("interleave")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and ("\n" in value or "\r" in value):
            raise ValueError("interleave is one line: it must not hold a line break")
        return value


class InworldVoicesReply(_Script):
    """How ``GET /tts/v1/voices`` answers: the voices it knows, before the language filter."""

    voices: list[dict[str, Any]] = Field(
        default_factory=lambda: [dict(voice) for voice in DEFAULT_INWORLD_VOICES],
        description="The voices, each an object with a non-empty string `voiceId` and "
        "optionally `languages` (an array of language codes the filter reads); sent verbatim.",
    )

    @field_validator("voices")
    @classmethod
    def _well_formed(cls, voices: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for index, voice in enumerate(voices):
            voice_id = voice.get("voiceId")
            if not isinstance(voice_id, str) or not voice_id:
                raise ValueError(f"voices[{index}].voiceId must be a non-empty string")
            languages = voice.get("languages", [])
            if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
                raise ValueError(f"voices[{index}].languages must be an array of strings")
        return voices


ENDPOINTS: tuple[EndpointSpec, ...] = (
    EndpointSpec(SYNTHESIZE_ENDPOINT, InworldSynthesisReply),
    EndpointSpec(VOICES_ENDPOINT, InworldVoicesReply),
)
"""The scenario endpoints of this part."""


# -- planning a synthesis (no I/O) -------------------------------------------------------------


def _timestamp_info(
    alignment: ToneAlignment, granularity: str, start: float, end: float, *, unequal: bool
) -> InworldTimestampInfo | None:
    """The words (characters) of ``alignment`` whose sound starts in ``[start, end)``."""
    items = alignment.words if granularity == "WORD" else alignment.chars
    inside = [item for item in items if start <= item.start < end]
    if not inside:
        return None
    texts = tuple(item.text for item in inside)
    starts = tuple(round(item.start, 6) for item in inside)
    ends = tuple(round(item.end, 6) for item in inside)
    if unequal:
        ends = ends[:-1]
    if granularity == "WORD":
        return InworldTimestampInfo(
            wordAlignment=InworldWordAlignment(
                words=texts, wordStartTimeSeconds=starts, wordEndTimeSeconds=ends
            )
        )
    return InworldTimestampInfo(
        characterAlignment=InworldCharacterAlignment(
            characters=texts, characterStartTimeSeconds=starts, characterEndTimeSeconds=ends
        )
    )


def _unchecked_result_line(audio: bytes | None, info: InworldTimestampInfo | None) -> bytes:
    # The builder refuses what a server must not send; a scripted bug writes it anyway.
    result: dict[str, Any] = {}
    if audio is not None:
        result["audioContent"] = base64.b64encode(audio).decode("ascii")
    if info is not None:
        result["timestampInfo"] = info.to_wire()
    return encode_ndjson_line({"result": result})


class _AudioLine(bytes):
    """An audio line as it goes out, carrying what the journal keeps of it (``summary``: its
    sample count, duration, CRC-32 and timestamps), made from its PCM where the line is
    built, so that journaling it parses nothing back; ``prefix``: the bytes of an interleaved
    line before it. A fault that alters the line writes other bytes (plain ``bytes``), which
    the journal reads as they went out."""

    summary: dict[str, Any]
    prefix: int

    @classmethod
    def of(
        cls, line: bytes, pcm: bytes, info: InworldTimestampInfo | None, sample_rate: int
    ) -> _AudioLine:
        """``line``, the encoding of ``pcm`` (and ``info``), with its summary."""
        made = cls(line)
        samples = len(pcm) // 2
        made.summary = {
            "line": "result",
            "samples": samples,
            "duration": round(samples / sample_rate, 6),
            "crc32": f"{zlib.crc32(pcm):08x}",
        }
        if info is not None:
            made.summary["timestampInfo"] = info.to_wire()
        made.prefix = 0
        return made

    def after(self, extra: bytes) -> _AudioLine:
        """This line with ``extra`` (one whole line) written before it."""
        made = _AudioLine(extra + self)
        made.summary = self.summary
        made.prefix = len(extra)
        return made


def synthesis_lines(
    pcm: bytes,
    *,
    sample_rate: int,
    reply: InworldSynthesisReply,
    alignment: ToneAlignment | None = None,
    granularity: str | None = None,
) -> Iterator[bytes]:
    """The lines of one synthesis, lazily: ``pcm`` in ``chunk_duration`` pieces, each with
    the timestamps (of ``alignment`` at ``granularity`` ``WORD`` or ``CHARACTER``) whose sound
    starts in it, as the reply places them. An audio line carries its journal summary (see
    :class:`_AudioLine`)."""
    step = 2 * max(1, round(reply.chunk_duration * sample_rate))
    build = _unchecked_result_line if reply.unequal_timestamps else inworld_result_line
    for begin in range(0, len(pcm), step):
        chunk = pcm[begin : begin + step]
        info = None
        if alignment is not None and granularity is not None:
            start = begin // 2 / sample_rate
            end = (begin + len(chunk)) // 2 / sample_rate
            info = _timestamp_info(
                alignment, granularity, start, end, unequal=reply.unequal_timestamps
            )
        if info is not None and reply.timestamp_lines == "after_audio":
            yield _AudioLine.of(build(chunk), chunk, None, sample_rate)
            yield build(None, info)
        else:
            yield _AudioLine.of(build(chunk, info), chunk, info, sample_rate)


def _interleaved(lines: Iterator[bytes], line: str) -> Iterator[bytes]:
    # The extra line rides in the event of the line after it: the events stay the lines of
    # the answer, so a fault addresses the same line with or without interleaving.
    extra = line.encode("utf-8") + b"\n"
    for item in lines:
        yield item.after(extra) if isinstance(item, _AudioLine) else extra + item


def _malformed(fault: MalformedFault) -> bytes:
    line = MALFORMED_INWORLD_LINE if fault.line is None else fault.line
    return line.encode("utf-8") + b"\n"


def _error_line(fault: ErrorEventFault) -> bytes:
    return inworld_error_line(fault.code, fault.message)


def _actions(
    events: Iterator[bytes], reply_timing: Timing, faults: list[Any], time_scale: float
) -> Iterator[Action]:
    return place_faults(
        events,
        faults=faults,
        timing=reply_timing,
        time_scale=time_scale,
        malformed=_malformed,
        error_event=_error_line,
    )


def filter_voices(voices: list[dict[str, Any]], language: str | None) -> list[dict[str, Any]]:
    """The voices speaking ``language``: one of their ``languages`` has its primary subtag,
    compared without case (``en`` matches ``en`` and ``en-US``; ``en-US`` matches ``en``).
    ``None`` or empty: every voice."""
    if not language:
        return list(voices)
    wanted = language.split("-", 1)[0].lower()
    return [
        voice
        for voice in voices
        if any(
            isinstance(code, str) and code.split("-", 1)[0].lower() == wanted
            for code in voice.get("languages", [])
        )
    ]


# -- the journal of a stream -------------------------------------------------------------------


class _LineJournal:
    """The exchange as :func:`execute_actions` journals through it, with each audio line
    summarised (sample count, duration, CRC-32) rather than kept as base64: a line the
    simulator built carries its summary (:class:`_AudioLine`); other bytes (a fault's line,
    a ``byte_split`` piece) are read as they went out."""

    def __init__(self, exchange: Exchange, sample_rate: int) -> None:
        self._exchange = exchange
        self._rate = sample_rate

    def writer(self, kind: str) -> Callable[[bytes, int | None], None]:
        raw = self._exchange.writer(kind)
        frame = self._exchange.frame

        def one_line(line: bytes, event: int | None) -> None:
            summary = self._summary(line) if line.startswith(_SUMMARY_HEAD) else None
            if summary is None:
                raw(line + b"\n", event)
            else:
                frame("out", kind, {**summary, "event": event})

        def write(data: bytes, event: int | None) -> None:
            if type(data) is _AudioLine:
                if data.prefix:
                    one_line(data[: data.prefix - 1], event)
                frame("out", kind, {**data.summary, "event": event})
                return
            if _SUMMARY_HEAD not in data or not data.endswith(b"\n"):
                raw(data, event)  # no audio, or a piece of a line (byte_split)
                return
            for line in data[:-1].split(b"\n"):
                one_line(line, event)

        return write

    def frame(self, direction: Literal["in", "out"], kind: str, data: object = None) -> None:
        self._exchange.frame(direction, kind, data)

    def note(self, kind: str, data: object = None) -> None:
        self._exchange.note(kind, data)

    def _summary(self, data: bytes) -> dict[str, Any] | None:
        """What the journal keeps of a line that was not built here but may be a whole audio
        line (a ``malformed`` fault's, an interleaved one): read back from its bytes."""
        try:
            result = json.loads(data)["result"]
            pcm = base64.b64decode(result["audioContent"], validate=True)
        except (ValueError, KeyError, TypeError):
            return None  # not a whole audio line: kept as it is
        samples = len(pcm) // 2
        summary: dict[str, Any] = {
            "line": "result",
            "samples": samples,
            "duration": round(samples / self._rate, 6),
            "crc32": f"{zlib.crc32(pcm):08x}",
        }
        if "timestampInfo" in result:
            summary["timestampInfo"] = result["timestampInfo"]
        return summary


# -- the handlers ------------------------------------------------------------------------------


def _refuse(exchange: Exchange, status: int, message: str, kind: str) -> web.Response:
    exchange.frame("out", "http_error", {"status": status, "message": message})
    return error_response(status, message, kind=kind)


def _status_answer(exchange: Exchange, fault: StatusFault) -> web.Response:
    headers = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = f"{fault.retry_after:g}"
    kind = "server_error" if fault.code >= 500 else "invalid_request_error"
    body = fault.body or error_body(fault.code, f"simulated HTTP {fault.code}", kind)
    exchange.frame("out", "http_error", {"status": fault.code, "body": body, "headers": headers})
    return web.json_response(body, status=fault.code, headers=headers or None)


def _choose(
    exchange: Exchange, endpoint: str, attempt: int, *, model: str | None, text: str | None
) -> tuple[Rule | None, list[Any]] | web.Response:
    """The rule (None: the reply's defaults) and its faults, or the 404 of an unmatched
    request under ``on_unmatched: error``."""
    chosen = exchange.choose_rule(endpoint, attempt=attempt, model=model, text=text)
    scenario = exchange.scenario
    if chosen is None and scenario.on_unmatched == "error":
        message = (
            f"no rule of scenario {scenario.name!r} matches this request "
            f"(endpoint {endpoint!r}, model {model!r}, attempt {attempt})"
        )
        exchange.frame("out", "http_error", {"status": 404, "message": message})
        return error_response(404, message, kind="scenario_unmatched")
    exchange.note("rule", {"rule": None if chosen is None else chosen[0], "attempt": attempt})
    exchange.usage["requests"] += 1
    if chosen is None:
        return None, []
    return chosen[1], chosen[1].faults_for(attempt)


def _refusal(request: InworldSynthesizeRequest, reply: InworldSynthesisReply) -> str | None:
    """Why the simulator does not synthesise a well-formed request, or None."""
    if len(request.text) > MAX_INWORLD_TEXT_CHARS:
        return f"text: {len(request.text)} characters; at most {MAX_INWORLD_TEXT_CHARS} per request"
    try:
        request.text.encode("utf-8")
    except UnicodeEncodeError:
        return "text: holds a lone surrogate, which is not text the simulator can speak"
    config = request.audioConfig
    encoding = config.audioEncoding if config is not None else None
    if encoding not in (None, _SUPPORTED_ENCODING):
        return (
            f"audioConfig.audioEncoding: the simulator synthesizes {_SUPPORTED_ENCODING} "
            f"only, not {encoding!r}"
        )
    rate = _requested_rate(request)
    for name, expected, asked in (
        ("voiceId", reply.expect_voice, request.voiceId),
        ("modelId", reply.expect_model, request.modelId),
        ("audioConfig.sampleRateHertz", reply.expect_sample_rate, rate),
    ):
        if expected is not None and asked != expected:
            return f"{name}: this scenario expects {expected!r}, the request asked for {asked!r}"
    return None


def _requested_rate(request: InworldSynthesizeRequest) -> int:
    config = request.audioConfig
    if config is None or config.sampleRateHertz is None:
        return _DEFAULT_SAMPLE_RATE
    return config.sampleRateHertz


async def _synthesize(request: web.Request) -> web.StreamResponse:
    exchange = admit(request, Authentication.BASIC_KEY)  # 401 JSON from the head (AUTH-6)
    body = await receive_body(request)
    exchange.request(request.method, request.path_qs, request.headers, body)
    max_depth = exchange.state.limits.max_json_depth
    if json_depth(body, stop_above=max_depth) > max_depth:
        # Before decoding: a deep document inside a key the request does not read would
        # otherwise pass (SRV-4).
        message = f"the body nests arrays and objects deeper than {max_depth} levels"
        return _refuse(exchange, 400, message, "invalid_request_error")
    try:
        synthesis = decode_synthesize_request(body)
    except MalformedMessage as exc:
        return _refuse(exchange, 400, str(exc), "invalid_request_error")  # SRV-1

    attempt = exchange.next_attempt(body)
    chosen = _choose(
        exchange, SYNTHESIZE_ENDPOINT, attempt, model=synthesis.modelId, text=synthesis.text
    )
    if isinstance(chosen, web.Response):
        return chosen
    rule, faults = chosen
    if rule is not None and rule.raw is not None:
        return await serve_raw(request, exchange, raw_answer(exchange, rule.raw))
    status = next((f for f in faults if isinstance(f, StatusFault)), None)
    if status is not None:
        return _status_answer(exchange, status)
    reply = rule.reply if rule is not None else InworldSynthesisReply()
    refusal = _refusal(synthesis, reply)
    if refusal is not None:
        return _refuse(exchange, 400, refusal, "invalid_request_error")

    rate = reply.sample_rate or _requested_rate(synthesis)
    text = synthesis.text.strip()
    pcm = b""
    alignment = None
    if text:
        # Off the event loop: synthesis costs time in proportion to the text, and the other
        # sessions keep their timing meanwhile (SRV-7).
        utterance = await asyncio.to_thread(encode_tone, text, sample_rate=rate)
        pcm, alignment = utterance.to_bytes(), utterance.alignment
    granularity = synthesis.timestampType if reply.timestamps else None
    if granularity not in ("WORD", "CHARACTER"):
        granularity = None
    lines = synthesis_lines(
        pcm, sample_rate=rate, reply=reply, alignment=alignment, granularity=granularity
    )
    if reply.interleave is not None:
        lines = _interleaved(lines, reply.interleave)
    timing = rule.timing if rule is not None else Timing()
    timing = Timing(
        ttft=timing.ttft + reply.ttfb,
        inter_chunk=timing.inter_chunk + reply.chunk_duration * reply.real_time_factor,
    )
    actions = _actions(lines, timing, faults, exchange.time_scale)

    response = web.StreamResponse(status=200, headers=_NDJSON_HEADERS)
    await response.prepare(request)
    exchange.frame(
        "out",
        "http_response",
        {"status": 200, "content_type": "application/json", "sample_rate": rate},
    )
    await execute_actions(
        request, response, actions, journal=_LineJournal(exchange, rate), write_kind=LINE_KIND
    )
    return response


async def _voices(request: web.Request) -> web.StreamResponse:
    exchange = admit(request, Authentication.BASIC_KEY)
    exchange.request(request.method, request.path_qs, request.headers, b"")
    language: str | None = None
    wanted = request.query.getall("filter", [])
    if len(wanted) > 1 or (wanted and not wanted[0].startswith("language=")):
        message = f"filter: expected one 'language=<code>', got {wanted!r}"
        return _refuse(exchange, 400, message, "invalid_request_error")
    if wanted:
        language = wanted[0].removeprefix("language=")

    attempt = exchange.next_attempt(request.path_qs.encode())
    chosen = _choose(exchange, VOICES_ENDPOINT, attempt, model=None, text=language)
    if isinstance(chosen, web.Response):
        return chosen
    rule, faults = chosen
    if rule is not None and rule.raw is not None:
        return await serve_raw(request, exchange, raw_answer(exchange, rule.raw))
    status = next((f for f in faults if isinstance(f, StatusFault)), None)
    if status is not None:
        return _status_answer(exchange, status)
    reply = rule.reply if rule is not None else InworldVoicesReply()
    payload = json.dumps({"voices": filter_voices(reply.voices, language)}).encode("utf-8")
    timing = rule.timing if rule is not None else Timing()
    actions = _actions(iter([payload]), timing, faults, exchange.time_scale)
    response = web.StreamResponse(status=200, headers=_NDJSON_HEADERS)
    await response.prepare(request)
    exchange.frame("out", "http_response", {"status": 200, "content_type": "application/json"})
    await execute_actions(request, response, actions, journal=exchange, write_kind="http_body")
    return response


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    """Mount ``POST {prefix}/tts/v1/voice:stream`` and ``GET {prefix}/tts/v1/voices``."""
    router.add_post(
        f"{prefix}{SYNTHESIZE_PATH}",
        _synthesize,
        expect_handler=expect_admissible_under(Authentication.BASIC_KEY),
    )
    router.add_get(f"{prefix}{VOICES_PATH}", _voices)
