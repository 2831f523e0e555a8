"""Raw probes of an Inworld server under test (SPEC §5, AUTH-6, §7): what the Inworld server
suite (:mod:`voicewire.suites.inworld.test_inworld_server`) speaks and how it reads the answers.

Every probe goes where voicewire's reference client would go for the same target
(:func:`inworld_server_urls`: the target's base URL with a trailing ``/``, then each endpoint's
own join rule of :mod:`voicewire.reference.inworld.wire.urls`) and presents the target's key as
``Authorization: Basic <key>`` unless a case gives another header value. Frames and bodies are
built with the sans-IO wire module, as a conforming client writes them; answers are read with
its decoders, which trust nothing, so that every shape a server gets wrong is named:

- **HTTP** (:func:`inworld_http`, :func:`inworld_head_only`): one request, the whole answer
  read (bounded); :func:`read_synthesis` judges an NDJSON synthesis line by line (IW-HTTP-2:
  each line one ``result`` or ``error`` object, whole PCM samples; IW-HTTP-3: equal parallel
  arrays, times within the audio).
- **TTS contexts** (:func:`play_contexts`): one socket, the case's **steps** in order: a text
  frame (``str``), a binary frame (``bytes``) or an :class:`InworldAwait` for the server's next
  reply of some kinds about one context. Replies are matched to awaits in the order they came;
  a reply an earlier await passed over is still there for a later one, and a failing status
  for the awaited context ends any await (the context is over). After the last step the client
  closes with 1000 and records the server's close code (SRV-3).
  :meth:`InworldContextsSession.shape_problems` and
  :meth:`InworldContextsSession.generation_problems` judge IW-WS-3.
- **STT** (:func:`play_transcribe`): the frames sent at once, then every message read until
  the server closes (it must, after ``closeStream``: IW-STT-S-1);
  :meth:`InworldTranscribeSession.shape_problems` judges IW-STT-S-1's shapes.
- **Upgrades** (:func:`inworld_upgrade`): only the upgrade request, its answer reported.

Every wait is bounded by :data:`~voicewire.suites.stt.raw_sessions.SESSION_TIMEOUT` for a
whole session.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import numpy as np
from voicewire.harness.inworld_reference import inworld_urls
from voicewire.harness.iut import Target
from voicewire.reference.auth import inworld_authorization
from voicewire.reference.inworld.wire.contexts import (
    RESULT_KINDS,
    CloseContext,
    ContextAudioChunk,
    ContextReply,
    CreateContext,
    FlushContext,
    SendText,
    TextPiece,
    create_context_config,
    decode_context_server_message,
    encode_context_message,
)
from voicewire.reference.inworld.wire.ndjson import NDJSONDecoder
from voicewire.reference.inworld.wire.stt_messages import (
    CloseStream,
    EndTurn,
    TranscribeAudioChunk,
    TranscribeErrorMessage,
    TranscriptionMessage,
    decode_transcribe_server_message,
    encode_transcribe_message,
    transcribe_config,
)
from voicewire.reference.inworld.wire.synthesis import (
    InworldAudioConfig,
    InworldSynthesisErrorLine,
    InworldSynthesizeRequest,
    decode_synthesis_line,
    encode_synthesize_request,
)
from voicewire.reference.inworld.wire.timestamps import InworldTimestampInfo, alignment_problems
from voicewire.reference.inworld.wire.urls import (
    STREAM_PATH,
    inworld_stt_url,
    stream_url,
    synthesize_url,
    voices_url,
)
from voicewire.reference.json_wire import MalformedMessage, UnknownMessageType
from voicewire.reference.tone_code import encode_tone
from voicewire.suites.stt.raw_sessions import SESSION_TIMEOUT

__all__ = [
    "ANNOUNCED_BODY",
    "CLOSE_STREAM",
    "END_TURN",
    "STT_FRAME_SAMPLES",
    "STT_RATE",
    "TIME_SLACK",
    "TRANSCRIBE_CONFIG",
    "InworldAwait",
    "InworldContextsSession",
    "InworldHTTPAnswer",
    "InworldServerURLs",
    "InworldSynthesisRead",
    "InworldTranscribeSession",
    "awaiting",
    "context_close",
    "context_create",
    "context_flush",
    "context_lifecycle",
    "context_text",
    "inworld_head_only",
    "inworld_http",
    "inworld_server_urls",
    "inworld_upgrade",
    "play_contexts",
    "play_transcribe",
    "read_synthesis",
    "synthesize_body",
    "tone_speech",
    "tone_speech_cut_short",
    "transcribe_audio",
]

CLOSE_WAIT = 10.0
"""How long the client's close waits for the server's closing frame."""
HEAD_ONLY_WAIT = 5.0
"""How long a head sent without its body waits for the answer: an answer from the head comes
at once; a server that waits for the body never answers within it (SRV-6)."""
ANNOUNCED_BODY = 1024 * 1024
"""The body a head-only request announces: far below any body limit, so only authentication
can refuse it from the head."""
MAX_ANSWER_BYTES = 32 * 1024 * 1024
"""The most of an HTTP answer read: a hostile server cannot make a case buffer more."""
TIME_SLACK = 0.05
"""Seconds a timestamp may lie past the end of its audio (rounding)."""
STT_RATE = 16000
"""The sample rate of the STT probes (upstream's default)."""
STT_FRAME_SAMPLES = STT_RATE // 20
"""Samples of one ``audioChunk``: 50 ms, one pushed frame each (IW-STT-C-1)."""


# -- where and as whom -------------------------------------------------------------------------


@dataclass(frozen=True)
class InworldServerURLs:
    """The four endpoints of one target, as the reference client joins them."""

    base: str
    """The HTTP base URL with a trailing ``/`` (what the client is given)."""
    synthesize: str
    """``POST`` of TTS over HTTP (absolute path: the base path dropped)."""
    stream: str
    """The TTS WebSocket (``ws``/``wss``, absolute path)."""
    stt: str
    """The STT WebSocket (``ws``/``wss``, appended to the base path)."""

    def voices(self, language: str | None = None) -> str:
        """``GET`` of the voices list (relative join), with the language filter if given."""
        return voices_url(self.base, language)

    @property
    def stream_upgrade(self) -> str:
        """The TTS WebSocket's URL in ``http``/``https``, for a bare upgrade request."""
        return urljoin(self.base, STREAM_PATH)

    @property
    def stt_upgrade(self) -> str:
        """The STT WebSocket's URL in ``http``/``https``, for a bare upgrade request."""
        return _http_of(self.stt)


def _http_of(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return {"ws": "http", "wss": "https"}.get(scheme, scheme) + sep + rest


def inworld_server_urls(target: Target) -> InworldServerURLs:
    """Where the reference client would send each request for ``target``."""
    base, ws = inworld_urls(target)
    return InworldServerURLs(
        base=base,
        synthesize=synthesize_url(base),
        stream=stream_url(ws),
        stt=inworld_stt_url(base),
    )


def _authorization(target: Target, authorization: str | bool | None) -> str | None:
    """``True``: the target's key as ``Basic <key>``; ``None``: no header; a string: it."""
    if authorization is True:
        return inworld_authorization(target.api_key)
    if authorization is False:
        return None
    return authorization


# -- HTTP --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InworldHTTPAnswer:
    """One HTTP exchange as the client saw it (``status`` 0: no answer, ``failure`` says
    why)."""

    status: int
    content_type: str = ""
    body: bytes = b""
    failure: str | None = None

    def json(self) -> Any:
        """The body as JSON, or ``None`` when it is not JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None

    def error_message(self) -> str | None:
        """The message of a JSON error body (``{"error": {"message"}}`` as SRV-5's, or
        Inworld's own ``{"code", "message"}``), else ``None``."""
        body = self.json()
        if not isinstance(body, dict):
            return None
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(body.get("message"), str):
            return str(body["message"])
        return None

    def shown(self) -> str:
        """The answer as a failure message shows it."""
        if self.failure is not None:
            return f"no answer: {self.failure}"
        return f"HTTP {self.status} ({self.content_type or 'no content type'}): {self.body[:300]!r}"


async def inworld_http(
    target: Target,
    method: str,
    url: str,
    *,
    authorization: str | bool | None = True,
    body: bytes | None = None,
) -> InworldHTTPAnswer:
    """One request (``authorization`` as :func:`_authorization` reads it) and its whole answer
    (at most :data:`MAX_ANSWER_BYTES`)."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    value = _authorization(target, authorization)
    if value is not None:
        headers["Authorization"] = value
    timeout = aiohttp.ClientTimeout(total=SESSION_TIMEOUT)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.request(method, url, headers=headers, data=body) as resp,
        ):
            data = await _read_bounded(resp)
            return InworldHTTPAnswer(resp.status, resp.headers.get("Content-Type", ""), data)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        return InworldHTTPAnswer(0, failure=f"{type(exc).__name__}: {str(exc) or 'timeout'}")


async def _read_bounded(resp: aiohttp.ClientResponse) -> bytes:
    """The whole body, or its first :data:`MAX_ANSWER_BYTES` (``read(n)`` returns what has
    arrived, so it is called until the end)."""
    data = bytearray()
    while len(data) < MAX_ANSWER_BYTES:
        chunk = await resp.content.read(MAX_ANSWER_BYTES - len(data))
        if not chunk:
            break
        data += chunk
    return bytes(data)


async def inworld_upgrade(url: str, authorization: str | None) -> InworldHTTPAnswer:
    """The answer to a WebSocket upgrade request to ``url`` (``http``/``https``) carrying
    ``authorization`` (``None``: no header); 101 means the server upgraded."""
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "MDEyMzQ1Njc4OWFiY2RlZg==",
    }
    if authorization is not None:
        headers["Authorization"] = authorization
    timeout = aiohttp.ClientTimeout(total=SESSION_TIMEOUT)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.get(url, headers=headers) as resp,
        ):
            if resp.status == 101:
                return InworldHTTPAnswer(101)
            data = await _read_bounded(resp)
            return InworldHTTPAnswer(resp.status, resp.headers.get("Content-Type", ""), data)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        return InworldHTTPAnswer(0, failure=f"{type(exc).__name__}: {str(exc) or 'timeout'}")


async def inworld_head_only(
    url: str, authorization: str | None, *, announced: int = ANNOUNCED_BODY
) -> InworldHTTPAnswer:
    """A ``POST`` head announcing ``announced`` bytes of JSON, and no body: the answer the
    server gives from the head within :data:`HEAD_ONLY_WAIT` (``status`` 0 when none came:
    it waits for the body, SRV-6)."""
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if secure else 80)
    lines = [
        f"POST {parts.path or '/'} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Content-Type: application/json",
        f"Content-Length: {announced}",
    ]
    if authorization is not None:
        lines.append(f"Authorization: {authorization}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=True if secure else None),
            timeout=HEAD_ONLY_WAIT,
        )
    except (OSError, asyncio.TimeoutError) as exc:
        return InworldHTTPAnswer(0, failure=f"cannot connect: {exc or type(exc).__name__}")
    try:
        writer.write(head)
        await writer.drain()
        return await asyncio.wait_for(_read_answer(reader), timeout=HEAD_ONLY_WAIT)
    except asyncio.TimeoutError:
        return InworldHTTPAnswer(
            0, failure=f"no answer to the head within {HEAD_ONLY_WAIT:g} s (waiting for the body?)"
        )
    except (OSError, ValueError) as exc:
        return InworldHTTPAnswer(0, failure=f"{type(exc).__name__}: {exc}")
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _read_answer(reader: asyncio.StreamReader) -> InworldHTTPAnswer:
    """A ``Content-Length`` (or connection-delimited) HTTP/1.1 answer, interim ``1xx``
    answers passed over."""
    while True:
        raw_head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = raw_head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            if name:
                headers[name.strip().lower()] = value.strip()
        if 100 <= status < 200:
            continue
        length = headers.get("content-length")
        if length is not None:
            body = await reader.readexactly(min(int(length), MAX_ANSWER_BYTES))
        else:
            body = await reader.read(MAX_ANSWER_BYTES)
        return InworldHTTPAnswer(status, headers.get("content-type", ""), body)


def synthesize_body(
    text: str,
    *,
    sample_rate: int = 24000,
    timestamp_type: str | None = None,
) -> bytes:
    """The body of ``POST /tts/v1/voice:stream`` as upstream sends it (IW-HTTP-1), its
    defaults, for ``text`` at ``sample_rate`` with ``timestamp_type`` if given."""
    request = InworldSynthesizeRequest(
        text=text,
        voiceId="Ashley",
        modelId="inworld-tts-1.5-max",
        audioConfig=InworldAudioConfig(
            audioEncoding="PCM",
            bitrate=64000,
            sampleRateHertz=sample_rate,
            temperature=1.0,
            speakingRate=1.0,
        ),
        timestampType=timestamp_type,  # type: ignore[arg-type]
        timestampTransportStrategy="ASYNC",
    )
    return encode_synthesize_request(request)


@dataclass
class InworldSynthesisRead:
    """What an NDJSON synthesis answer held, and what is wrong with it."""

    pcm: bytes = b""
    lines: int = 0
    results: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    """The ``error`` bodies."""
    problems: list[str] = field(default_factory=list)
    """IW-HTTP-2: lines that are not one ``result`` or ``error`` object, audio that is not
    whole samples."""
    timestamp_problems: list[str] = field(default_factory=list)
    """IW-HTTP-3: unequal parallel arrays, times out of order or past the audio."""
    timestamps: list[InworldTimestampInfo] = field(default_factory=list)

    def seconds(self, rate: int) -> float:
        """The audio's length at ``rate`` Hz."""
        return len(self.pcm) / 2 / rate


def read_synthesis(body: bytes, rate: int) -> InworldSynthesisRead:
    """Judge a synthesis answer's body line by line (the audio counted at ``rate`` Hz)."""
    read = InworldSynthesisRead()
    decoder = NDJSONDecoder(max_line_bytes=MAX_ANSWER_BYTES)
    try:
        lines = decoder.feed(body) + decoder.end()
    except MalformedMessage as exc:
        read.problems.append(str(exc))
        return read
    pcm = bytearray()
    for line in lines:
        read.lines += 1
        where = f"line {line.number}"
        if not line.data.strip():
            read.problems.append(f"{where} is blank: every line is one JSON object")
            continue
        try:
            message = decode_synthesis_line(line.data)
        except UnknownMessageType as exc:
            read.problems.append(f"{where} is neither result nor error ({exc})")
            continue
        except MalformedMessage as exc:
            read.problems.append(f"{where}: {exc}: {line.data[:200]!r}")
            continue
        if isinstance(message, InworldSynthesisErrorLine):
            read.errors.append(message.error.model_dump())
            continue
        read.results += 1
        audio = message.result.audio
        if len(audio) % 2:
            read.problems.append(
                f"{where}'s audioContent holds {len(audio)} bytes: not whole PCM s16le samples"
            )
        pcm += audio
        if message.result.timestampInfo is not None:
            info = message.result.timestampInfo
            read.timestamps.append(info)
            read.timestamp_problems += [f"{where}: {p}" for p in alignment_problems(info)]
    read.pcm = bytes(pcm)
    duration = read.seconds(rate)
    for info in read.timestamps:
        read.timestamp_problems += timing_problems(info, duration)
    return read


def timing_problems(info: InworldTimestampInfo, duration: float) -> list[str]:
    """Times of ``info`` that no audio of ``duration`` seconds can have: a start after its
    end, a negative time, an end past the audio (:data:`TIME_SLACK` allowed)."""
    items: list[tuple[str, float, float]] = []
    if info.wordAlignment is not None:
        words = info.wordAlignment
        items += zip(
            words.words, words.wordStartTimeSeconds, words.wordEndTimeSeconds, strict=False
        )
    if info.characterAlignment is not None:
        chars = info.characterAlignment
        items += zip(
            chars.characters,
            chars.characterStartTimeSeconds,
            chars.characterEndTimeSeconds,
            strict=False,
        )
    problems = []
    for text, start, end in items:
        if start < 0 or end < start:
            problems.append(f"{text!r} at {start:g}..{end:g} s: not a span of time")
        elif end > duration + TIME_SLACK:
            problems.append(f"{text!r} ends at {end:g} s, after its audio's {duration:.3f} s")
    return problems


# -- TTS contexts over one WebSocket -----------------------------------------------------------


def context_create(
    cid: str, *, sample_rate: int = 24000, timestamp_type: str | None = "WORD"
) -> str:
    """``create`` of context ``cid`` as upstream sends it (IW-WS-1), its defaults."""
    config = create_context_config(sample_rate=sample_rate, timestamp_type=timestamp_type)
    return encode_context_message(CreateContext(create=config, contextId=cid))


def context_text(cid: str, text: str) -> str:
    """``send_text`` of ``text`` (at most 1000 characters) to ``cid``."""
    return encode_context_message(SendText(send_text=TextPiece(text=text), contextId=cid))


def context_flush(cid: str) -> str:
    """``flush_context`` of ``cid``."""
    return encode_context_message(FlushContext(contextId=cid))


def context_close(cid: str) -> str:
    """``close_context`` of ``cid``."""
    return encode_context_message(CloseContext(contextId=cid))


@dataclass(frozen=True)
class InworldAwait:
    """A step: wait for a reply about ``context_id`` of one of ``kinds`` (``contextCreated``,
    ``audioChunk``, ``flushCompleted``, ``contextClosed``, ``status``: a failing status) —
    or, with ``context_id`` ``None``, for a top-level ``error`` or any reply's failing status
    (a server may answer a frame naming no context either way)."""

    context_id: str | None
    kinds: frozenset[str]

    def __str__(self) -> str:
        about = f"context {self.context_id!r}" if self.context_id else "no context"
        return f"{' or '.join(sorted(self.kinds))} for {about}"


def awaiting(context_id: str | None, *kinds: str) -> InworldAwait:
    """An :class:`InworldAwait` step."""
    return InworldAwait(context_id, frozenset(kinds))


InworldStep = str | bytes | InworldAwait


def context_lifecycle(cid: str, *texts: str, sample_rate: int = 24000) -> list[InworldStep]:
    """One context from ``create`` to ``contextClosed``: each text a generation of its own
    (``send_text``, ``flush_context``, its ``flushCompleted``), then ``close_context``."""
    steps: list[InworldStep] = [context_create(cid, sample_rate=sample_rate)]
    for text in texts:
        steps += [context_text(cid, text), context_flush(cid), awaiting(cid, "flushCompleted")]
    return [*steps, context_close(cid), awaiting(cid, "contextClosed")]


def _reply_kind(message: Any) -> tuple[str | None, str | None]:
    """``(contextId, kind)`` of a server message: kind is one of :data:`RESULT_KINDS`,
    ``status`` (a failing status, alone or not), ``error`` (top level) or ``None``
    (unreadable)."""
    if not isinstance(message, dict):
        return None, None
    if "error" in message and "result" not in message:
        return None, "error"
    result = message.get("result")
    if not isinstance(result, dict):
        return None, None
    cid = result.get("contextId") if isinstance(result.get("contextId"), str) else None
    status = result.get("status")
    if isinstance(status, dict) and status.get("code") not in (0, None):
        return cid, "status"
    kind = next((k for k in RESULT_KINDS if k in result), None)
    return cid, kind if kind is not None else ("status" if status is not None else None)


@dataclass
class InworldContextsSession:
    """What one raw TTS WebSocket session saw: the text messages, how it ended, or why it
    failed."""

    messages: list[Any] = field(default_factory=list)
    close_code: int | None = None
    """The code of the server's closing frame (its own close, or its answer to the
    client's)."""
    closed_by_server: bool = False
    binary: int = 0
    failure: str | None = None
    """Why the session did not end with a closing frame (refused upgrade, an await that got
    nothing in time, a reset)."""
    _consumed: set[int] = field(default_factory=set)
    _deadline: float = 0.0

    @property
    def upgraded(self) -> bool:
        """Whether the server accepted the upgrade."""
        return not (self.failure or "").startswith("upgrade refused")

    def describe(self) -> str:
        shown = "\n".join(f"  {_shown(m)}" for m in self.messages[:40])
        more = f"\n  ... {len(self.messages) - 40} more" if len(self.messages) > 40 else ""
        by = "the server" if self.closed_by_server else "the client"
        end = self.failure or f"closed by {by}, the server's close code {self.close_code}"
        return f"{len(self.messages)} messages, then {end}:\n{shown}{more}"

    def kinds(self, cid: str) -> list[str]:
        """The kinds of the replies about ``cid``, in order (``status``: a failing one)."""
        return [k or "?" for c, k in map(_reply_kind, self.messages) if c == cid]

    def failing(self, cid: str | None) -> list[dict[str, Any]]:
        """The failing statuses about ``cid`` (``None``: those naming no context, and the
        top-level errors)."""
        found = []
        for message in self.messages:
            c, kind = _reply_kind(message)
            if c == cid and kind in ("status", "error"):
                found.append(message)
        return found

    def shape_problems(self) -> list[str]:
        """Replies that are not IW-WS-3's ``{"result": {"contextId", "status"?, one of ...}}``
        (or the top-level ``{"error": {...}}``): unreadable, of the wrong types, two kinds at
        once, no ``contextId``, a success that is no kind."""
        problems = []
        for index, message in enumerate(self.messages):
            frame = message if isinstance(message, str) else json.dumps(message)
            try:
                decoded = decode_context_server_message(frame)
            except MalformedMessage as exc:
                problems.append(f"message #{index}: {exc}: {_shown(message)}")
                continue
            if not isinstance(decoded, ContextReply):
                continue
            result = decoded.result
            if result.contextId is None:
                problems.append(f"message #{index} names no contextId: {_shown(message)}")
            elif result.kind is None and not result.failed:
                problems.append(
                    f"message #{index} is none of {', '.join(RESULT_KINDS)} and no failing "
                    f"status: {_shown(message)}"
                )
        return problems

    def generations(self, cid: str) -> list[list[ContextAudioChunk]]:
        """The audio chunks about ``cid``, one list per generation (split at each
        ``flushCompleted``; the last holds what came after the last one)."""
        generations: list[list[ContextAudioChunk]] = [[]]
        for message in self.messages:
            c, kind = _reply_kind(message)
            if c != cid:
                continue
            if kind == "flushCompleted":
                generations.append([])
            elif kind == "audioChunk":
                try:
                    chunk = ContextAudioChunk.model_validate(message["result"]["audioChunk"])
                except ValueError:
                    continue  # shape_problems names it
                generations[-1].append(chunk)
        return generations

    def audio_seconds(self, cid: str, rate: int) -> float:
        """Seconds of audio ``cid`` got, counted at ``rate`` Hz."""
        return sum(len(c.pcm) for g in self.generations(cid) for c in g) / 2 / rate

    def generation_problems(self, cid: str, rate: int) -> list[str]:
        """What is wrong with ``cid``'s audio and timestamps (IW-WS-3, IW-HTTP-3's shape):
        chunks that are not whole samples, unequal parallel arrays, times out of their
        generation's audio (times run from the start of each generation)."""
        problems = []
        for number, chunks in enumerate(self.generations(cid)):
            pcm = b"".join(c.pcm for c in chunks)
            odd = [len(c.pcm) for c in chunks if len(c.pcm) % 2]
            if odd:
                problems.append(
                    f"generation {number}: audioChunks of {odd} bytes: not whole PCM samples"
                )
            duration = len(pcm) / 2 / rate
            for chunk in chunks:
                if chunk.timestampInfo is None:
                    continue
                where = f"context {cid!r}, generation {number}"
                problems += [f"{where}: {p}" for p in alignment_problems(chunk.timestampInfo)]
                problems += [
                    f"{where}: {p}" for p in timing_problems(chunk.timestampInfo, duration)
                ]
        return problems


def _shown(message: Any) -> str:
    if isinstance(message, dict):
        result = message.get("result")
        chunk = result.get("audioChunk") if isinstance(result, dict) else None
        if isinstance(chunk, dict) and isinstance(chunk.get("audioContent"), str):
            shown_chunk = {**chunk, "audioContent": f"<{len(chunk['audioContent'])} b64 chars>"}
            message = {**message, "result": {**result, "audioChunk": shown_chunk}}
    try:
        return json.dumps(message)[:240]
    except (TypeError, ValueError):
        return repr(message)[:240]


def _matches(message: Any, step: InworldAwait) -> bool:
    cid, kind = _reply_kind(message)
    if step.context_id is None:
        return kind == "error" or (cid is None and kind == "status") or kind in step.kinds
    return cid == step.context_id and (kind in step.kinds or kind == "status")


async def _await_reply(
    ws: aiohttp.ClientWebSocketResponse, seen: InworldContextsSession, step: InworldAwait
) -> bool:
    """Read until a reply ``step`` waits for comes (True), or the session ends or times out
    (False, recorded)."""
    while True:
        for index, message in enumerate(seen.messages):
            if index not in seen._consumed and _matches(message, step):
                seen._consumed.add(index)
                return True
        remaining = seen._deadline - time.monotonic()
        if remaining <= 0:
            seen.failure = f"no {step} within {SESSION_TIMEOUT:g} s"
            return False
        if not await _receive(ws, seen, remaining):
            return False


async def _receive(
    ws: aiohttp.ClientWebSocketResponse,
    seen: InworldContextsSession | InworldTranscribeSession,
    remaining: float,
) -> bool:
    """Read one frame into ``seen`` (False: the session ended or timed out, recorded)."""
    try:
        message = await ws.receive(timeout=remaining)
    except asyncio.TimeoutError:
        seen.failure = f"nothing within {SESSION_TIMEOUT:g} s"
        return False
    if message.type is aiohttp.WSMsgType.TEXT:
        try:
            seen.messages.append(json.loads(message.data))
        except ValueError:
            seen.messages.append(message.data)
        return True
    if message.type is aiohttp.WSMsgType.BINARY:
        seen.binary += 1
        return True
    seen.close_code = ws.close_code
    if isinstance(seen, InworldContextsSession):
        seen.closed_by_server = True
    if message.type is aiohttp.WSMsgType.ERROR:
        seen.failure = f"connection error: {message.data}"
    return False


def _headers(target: Target, authorization: str | bool | None) -> dict[str, str]:
    value = _authorization(target, authorization)
    return {"Authorization": value} if value is not None else {}


async def play_contexts(
    target: Target,
    steps: Sequence[InworldStep],
    *,
    authorization: str | bool | None = True,
) -> InworldContextsSession:
    """Open the TTS WebSocket, play ``steps`` and close it with 1000, unless the server closed
    it first."""
    seen = InworldContextsSession()
    timeout = aiohttp.ClientTimeout(total=SESSION_TIMEOUT + CLOSE_WAIT + 10)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.ws_connect(
                inworld_server_urls(target).stream,
                headers=_headers(target, authorization),
                autoclose=False,
                max_msg_size=0,
                timeout=aiohttp.ClientWSTimeout(ws_close=CLOSE_WAIT),
            ) as ws,
        ):
            seen._deadline = time.monotonic() + SESSION_TIMEOUT
            await _play_context_steps(ws, seen, steps)
            if not seen.closed_by_server and seen.failure is None:
                await ws.close()
                seen.close_code = ws.close_code
                if ws.close_code == aiohttp.WSCloseCode.ABNORMAL_CLOSURE:
                    seen.failure = (
                        f"no closing frame answered the client's close within {CLOSE_WAIT:g} s"
                    )
    except aiohttp.WSServerHandshakeError as exc:
        seen.failure = f"upgrade refused: HTTP {exc.status} {exc.message}"
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        seen.failure = f"{type(exc).__name__}: {str(exc) or 'timeout'}"
    return seen


async def _play_context_steps(
    ws: aiohttp.ClientWebSocketResponse, seen: InworldContextsSession, steps: Sequence[InworldStep]
) -> None:
    for step in steps:
        if isinstance(step, InworldAwait):
            if not await _await_reply(ws, seen, step):
                return  # closed or silent: what came is judged
            continue
        try:
            if isinstance(step, bytes):
                await ws.send_bytes(step)
            else:
                await ws.send_str(step)
        except ConnectionError:
            # The server closed while frames were going out: read its close.
            while await _receive(ws, seen, max(0.0, seen._deadline - time.monotonic())):
                pass
            return


# -- STT over WebSocket ------------------------------------------------------------------------

TRANSCRIBE_CONFIG = encode_transcribe_message(transcribe_config(sample_rate=STT_RATE))
"""``transcribeConfig`` as upstream sends it at 16 kHz (IW-STT-C-1)."""
END_TURN = encode_transcribe_message(EndTurn())
"""``endTurn``."""
CLOSE_STREAM = encode_transcribe_message(CloseStream())
"""``closeStream``: the server sends its pending finals and closes with 1000."""


def tone_speech(text: str = "hello world") -> bytes:
    """Tone-coded speech of ``text`` at :data:`STT_RATE` after 0.2 s of silence: a listener
    that reads the code finalises it once its last sample has arrived."""
    quiet = np.zeros(STT_RATE // 5, dtype="<i2")
    spoken = encode_tone(text, sample_rate=STT_RATE).samples
    return np.concatenate([quiet, spoken]).astype("<i2").tobytes()


def tone_speech_cut_short(
    first: str = "hello world", second: str = "how are you today", kept: float = 0.7
) -> bytes:
    """Two utterances: ``first`` whole, 0.4 s of silence, then ``second`` cut short after
    ``kept`` of its length. The second is still in progress when the audio ends: its final
    is the one pending at ``closeStream`` (IW-STT-S-1)."""
    spoken = encode_tone(second, sample_rate=STT_RATE).samples
    cut = spoken[: int(len(spoken) * kept)].astype("<i2").tobytes()
    return tone_speech(first) + bytes(2 * STT_RATE * 2 // 5) + cut


def transcribe_audio(pcm: bytes) -> list[str]:
    """``pcm`` as 50 ms ``audioChunk`` frames (the last may be shorter)."""
    step = 2 * STT_FRAME_SAMPLES
    return [
        encode_transcribe_message(TranscribeAudioChunk.from_pcm(pcm[at : at + step]))
        for at in range(0, len(pcm), step)
    ]


@dataclass
class InworldTranscribeSession:
    """What one raw STT WebSocket session saw: the text messages, the close, or why it
    failed."""

    messages: list[Any] = field(default_factory=list)
    close_code: int | None = None
    binary: int = 0
    failure: str | None = None

    @property
    def upgraded(self) -> bool:
        """Whether the server accepted the upgrade."""
        return not (self.failure or "").startswith("upgrade refused")

    def describe(self) -> str:
        shown = "\n".join(f"  {_shown(m)}" for m in self.messages[:40])
        more = f"\n  ... {len(self.messages) - 40} more" if len(self.messages) > 40 else ""
        end = self.failure or f"closed with {self.close_code}"
        return f"{len(self.messages)} messages, then {end}:\n{shown}{more}"

    def kinds(self) -> list[str]:
        """Each message as ``speechStarted``, ``interim``, ``final``, ``error`` or ``?``
        (anything IW-STT-S-1 has no word for)."""
        kinds = []
        for message in self.messages:
            try:
                decoded = decode_transcribe_server_message(
                    message if isinstance(message, str) else json.dumps(message)
                )
            except MalformedMessage:
                kinds.append("?")
                continue
            if isinstance(decoded, TranscribeErrorMessage):
                kinds.append("error")
            elif isinstance(decoded, TranscriptionMessage):
                kinds.append("final" if decoded.transcription.isFinal else "interim")
            else:
                kinds.append("speechStarted")
        return kinds

    def finals(self) -> list[str]:
        """The final transcripts, in order."""
        return [
            m["result"]["transcription"].get("transcript", "")
            for m, kind in zip(self.messages, self.kinds(), strict=True)
            if kind == "final"
        ]

    def errors(self) -> list[Any]:
        """The error frames."""
        return [m for m, k in zip(self.messages, self.kinds(), strict=True) if k == "error"]

    def shape_problems(self) -> list[str]:
        """Messages that are none of IW-STT-S-1's (``speechStarted``, ``transcription``) nor
        Inworld's error frame, or are of the wrong types."""
        problems = []
        for index, message in enumerate(self.messages):
            try:
                decode_transcribe_server_message(
                    message if isinstance(message, str) else json.dumps(message)
                )
            except MalformedMessage as exc:
                problems.append(f"message #{index}: {exc}: {_shown(message)}")
        return problems


async def play_transcribe(
    target: Target,
    frames: Sequence[str | bytes],
    *,
    authorization: str | bool | None = True,
) -> InworldTranscribeSession:
    """Open the STT WebSocket, send ``frames`` (text, or bytes as a binary frame) and read
    every message until the server closes."""
    seen = InworldTranscribeSession()
    timeout = aiohttp.ClientTimeout(total=SESSION_TIMEOUT + 10)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.ws_connect(
                inworld_server_urls(target).stt,
                headers=_headers(target, authorization),
                autoclose=False,
                max_msg_size=0,
            ) as ws,
        ):
            reader = asyncio.ensure_future(_read_until_close(ws, seen))
            try:
                for frame in frames:
                    if reader.done():
                        break  # closed early: what it sent is judged
                    if isinstance(frame, bytes):
                        await ws.send_bytes(frame)
                    else:
                        await ws.send_str(frame)
            except ConnectionError:
                pass  # the server closed while frames were going out: the reader tells
            finally:
                if not reader.done() and ws.closed:
                    reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
    except aiohttp.WSServerHandshakeError as exc:
        seen.failure = f"upgrade refused: HTTP {exc.status} {exc.message}"
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        seen.failure = f"{type(exc).__name__}: {str(exc) or 'timeout'}"
    return seen


async def _read_until_close(
    ws: aiohttp.ClientWebSocketResponse, seen: InworldTranscribeSession
) -> None:
    deadline = time.monotonic() + SESSION_TIMEOUT
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            seen.failure = f"no close within {SESSION_TIMEOUT:g} s"
            return
        if not await _receive(ws, seen, remaining):
            if seen.failure == f"nothing within {SESSION_TIMEOUT:g} s":
                seen.failure = f"no close within {SESSION_TIMEOUT:g} s"
            return
