#!/usr/bin/env python3
"""An example voicewire ``cmd:`` driver: an Inworld TTS and STT client in plain Python.

Run the Inworld client cases against it with::

    voicewire run --iut "cmd:python docs/examples/inworld_driver.py" \
        --suite inworld --direction client

It is what the author of an Inworld port writes: a small program that reads requests from
stdin and answers on stdout, one JSON object per line (``docs/iut-protocol.md`` §6c), and
behind it a complete Inworld client written from SPEC §5 and AUTH-6:

- ``inworld.tts.http``: ``POST {host}/tts/v1/voice:stream`` (the base path dropped), the key
  as ``Authorization: Basic <key>`` verbatim, a fresh uuid4 ``X-Request-Id``, ``temperature``
  inside ``audioConfig``; the NDJSON answer read across any split, blank and unparseable
  lines skipped, the audio re-cut into 100 ms frames, word or character timestamps as timed
  texts; retries only before audio; a read timeout.
- ``inworld.voices``: ``GET {base_url}tts/v1/voices`` (relative join), ``filter=language=<code>``.
- ``inworld.stt.stream``: the STT WebSocket (its path appended to the base path),
  ``transcribeConfig``, one ``audioChunk`` per pushed frame, ``endTurn`` / ``closeStream``,
  segments opened by ``speechStarted``, voice profiles as metadata, usage every 5 s of audio,
  on ``endTurn`` and at the end, a close before ``closeStream`` retried.
- ``inworld.tts.stream``: one socket carrying up to five contexts (more sockets beyond),
  ``create`` / ``send_text`` (at most 1000 characters) / ``flush_context`` / ``close_context``,
  replies routed by ``contextId``, a failing status failing its context only, a lost socket
  failing all of its contexts, word times offset across flushes.

Besides the standard library it uses only ``aiohttp`` (HTTP) and ``websockets`` (the two
WebSockets); nothing in it leans on voicewire. It declares the four Inworld capabilities.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import math
import re
import sys
import time
import traceback
import uuid
from array import array
from typing import Any
from urllib.parse import urljoin

import aiohttp
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

PROTOCOL = 2
NAME = "example-inworld-driver (python + aiohttp + websockets)"
CAPABILITIES = ["inworld.tts.http", "inworld.tts.stream", "inworld.voices", "inworld.stt.stream"]
USER_AGENT = "voicewire-example-inworld-driver/1"
FIRST_RETRY_WAIT = 0.1  # SPEC §2.4: the first retry waits 0.1 s, later ones retry_interval
FRAME_SECONDS = 0.1  # the frames a synthesis emits (the last one may be shorter)
MAX_PIECE = 1000  # IW-WS-1: the most characters of one send_text
MAX_CONTEXTS = 5  # IW-WS-2: contexts open at once on one socket
MAX_SOCKETS = 20  # IW-WS-2: sockets of one TTS
USAGE_SECONDS = 5.0  # IW-STT-USG-1: the most audio left unreported

# Upstream's defaults (SPEC §5.1, §5.2, §5.3).
DEFAULT_TTS_MODEL, DEFAULT_VOICE, DEFAULT_RATE, DEFAULT_BITRATE = (
    "inworld-tts-1.5-max",
    "Ashley",
    24000,
    64000,
)
DEFAULT_BUFFER_CHARS, DEFAULT_BUFFER_DELAY_MS = 250, 3000
DEFAULT_STT_MODEL, DEFAULT_STT_LANGUAGE = "inworld/inworld-stt-1", "en-US"


# -- errors (SPEC §2.4 names: they are what the suites see in ErrorInfo.kind) ------------------


class APIError(Exception):
    """A failed attempt, with the fields of the harness's ErrorInfo."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = True,
        status_code: int | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status_code = status_code
        self.body = body


class APIStatusError(APIError):
    pass


class APIConnectionError(APIError):
    pass


class APITimeoutError(APIError):
    pass


def error_info(error: BaseException) -> dict[str, Any]:
    """An exception as the protocol's ``ErrorInfo`` object."""
    if isinstance(error, APIError):
        status = isinstance(error, APIStatusError)
        return {
            "kind": type(error).__name__,
            "message": error.message,
            "status_code": error.status_code if status else None,
            "retryable": error.retryable,
            "body": error.body if status else None,
        }
    return {"kind": type(error).__name__, "message": str(error), "retryable": None}


def retryable_status(code: int) -> bool:
    """SPEC §2.4: retryable unless a 4xx other than 408 and 429."""
    return not (400 <= code < 500 and code not in (408, 429))


# -- shared bits ------------------------------------------------------------------------------


def base_url(target: dict[str, Any]) -> str:
    """The client's base URL, with the trailing ``/`` a relative join needs."""
    url = str(target["base_url"])
    return url if url.endswith("/") else url + "/"


def ws_url(url: str) -> str:
    return "ws" + url[4:] if url.startswith("http") else url


def tts_headers(key: str) -> dict[str, str]:
    """IW-HTTP-1 and AUTH-6: the key exactly as configured, never encoded again."""
    return {
        "Authorization": f"Basic {key}",
        "X-User-Agent": USER_AGENT,
        "X-Request-Id": str(uuid.uuid4()),
    }


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load_json(text: str | bytes) -> Any:
    """JSON as the wire has it (NaN and Infinity are not JSON); ValueError otherwise."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class Malformed(Exception):
    """A server message of the wrong shape: it fails what it concerns (CLI-ROB-1)."""


def decode_audio(value: Any, where: str) -> bytes:
    if not isinstance(value, str):
        raise Malformed(f"{where}.audioContent must be a base64 string, got {value!r:.60}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise Malformed(f"{where}.audioContent is not base64: {value[:40]!r}") from None


ALIGNMENTS = {
    "wordAlignment": ("words", "wordStartTimeSeconds", "wordEndTimeSeconds"),
    "characterAlignment": ("characters", "characterStartTimeSeconds", "characterEndTimeSeconds"),
}


def timed_texts(info: Any, where: str) -> list[tuple[str, float, float]]:
    """IW-HTTP-3: ``timestampInfo``'s parallel arrays as (text, start, end), paired up to the
    shortest array (a server that sends unequal ones gets no invented entry)."""
    if not isinstance(info, dict):
        raise Malformed(f"{where}.timestampInfo must be an object, got {info!r:.60}")
    out: list[tuple[str, float, float]] = []
    for key, (texts_key, starts_key, ends_key) in ALIGNMENTS.items():
        alignment = info.get(key)
        if alignment is None:
            continue
        if not isinstance(alignment, dict):
            raise Malformed(f"{where}.timestampInfo.{key} must be an object")
        arrays = []
        for name, check in ((texts_key, str), (starts_key, None), (ends_key, None)):
            values = alignment.get(name, [])
            if not isinstance(values, list):
                raise Malformed(f"{where}.timestampInfo.{key}.{name} must be an array")
            for value in values:
                if not (isinstance(value, str) if check is str else is_number(value)):
                    raise Malformed(f"{where}.timestampInfo.{key}.{name} holds {value!r:.40}")
            arrays.append(values)
        out += [(t, float(s), float(e)) for t, s, e in zip(*arrays, strict=False)]
    return out


class Framer:
    """Audio bytes in, 100 ms frames out; the last frame is held until it is known whether it
    is the final one."""

    def __init__(self, rate: int) -> None:
        self.frame_bytes = 2 * max(1, round(rate * FRAME_SECONDS))
        self.pending = bytearray()
        self.held: bytes | None = None
        self.total = 0

    def push(self, audio: bytes) -> list[bytes]:
        self.total += len(audio)
        self.pending += audio
        out = []
        while len(self.pending) >= self.frame_bytes:
            if self.held is not None:
                out.append(self.held)
            self.held = bytes(self.pending[: self.frame_bytes])
            del self.pending[: self.frame_bytes]
        return out

    def finish(self) -> list[bytes]:
        """The frames left, the last one final; an empty final when there was no audio."""
        frames = [f for f in (self.held, bytes(self.pending)) if f] or [b""]
        self.held, self.pending = None, bytearray()
        return frames


# -- the operation's events -------------------------------------------------------------------


class Operation:
    """The events of one operation, timed from its start, and what a ``wait_event`` step
    waits on."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.events: list[dict[str, Any]] = []
        self.counts: dict[tuple[int, str], int] = {}
        self.changed = asyncio.Event()

    def now(self) -> float:
        return time.monotonic() - self.started

    def record(self, synthesis: int, event: dict[str, Any], *kinds: str) -> None:
        self.events.append({**event, "t": self.now(), "synthesis": synthesis})
        for kind in kinds:
            self.counts[(synthesis, kind)] = self.counts.get((synthesis, kind), 0) + 1
        self.changed.set()

    def audio(self, synthesis: int, pcm: bytes, rate: int, segment: str, final: bool) -> None:
        event = {
            "type": "tts.audio",
            "pcm": base64.b64encode(pcm).decode("ascii"),
            "sample_rate": rate,
            "num_channels": 1,
            "segment_id": segment,
            "request_id": "",
            "is_final": final,
        }
        self.record(synthesis, event, "audio", *(("final",) if final else ()))

    def timed(self, synthesis: int, text: str, start: float, end: float) -> None:
        event = {"type": "inworld.timed_text", "text": text, "start_time": start, "end_time": end}
        self.record(synthesis, event)

    def error(self, synthesis: int, error: BaseException, recoverable: bool) -> None:
        event = {"type": "tts.error", "error": error_info(error), "recoverable": recoverable}
        self.record(synthesis, event, "error")

    def end(self, synthesis: int, error: BaseException | None) -> None:
        event = {"type": "tts.end", "error": None if error is None else error_info(error)}
        self.record(synthesis, event, "end")

    async def wait(self, synthesis: int, kind: str, count: int, timeout: float) -> None:
        """Until ``count`` events of ``kind`` came, the synthesis ended, or ``timeout``."""
        deadline = time.monotonic() + timeout
        while (
            self.counts.get((synthesis, kind), 0) < count
            and self.counts.get((synthesis, "end"), 0) == 0
        ):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)


class TTSOptions:
    """The constructor's options, by upstream's names, with upstream's defaults."""

    def __init__(self, request: dict[str, Any]) -> None:
        extra = dict(request.get("extra_kwargs") or {})
        self.target = request["target"]
        self.model = request.get("model") or DEFAULT_TTS_MODEL
        self.voice = request.get("voice") or DEFAULT_VOICE
        self.rate = int(request.get("sample_rate") or DEFAULT_RATE)
        self.timestamp_type = request.get("timestamp_type")
        temperature, speaking_rate = request.get("temperature"), request.get("speaking_rate")
        self.temperature = 1.0 if temperature is None else float(temperature)
        self.speaking_rate = 1.0 if speaking_rate is None else float(speaking_rate)
        self.language = request.get("language")
        self.bitrate = int(extra.get("bit_rate", DEFAULT_BITRATE))
        self.normalization = extra.get("text_normalization")
        self.delivery_mode = extra.get("delivery_mode")
        self.strategy = extra.get("timestamp_transport_strategy", "ASYNC")
        self.buffer_chars = int(extra.get("buffer_char_threshold", DEFAULT_BUFFER_CHARS))
        self.buffer_delay = int(extra.get("max_buffer_delay_ms", DEFAULT_BUFFER_DELAY_MS))
        # inworld-tts-2 cuts the sentences itself; older models get them cut by the client.
        self.server_segmented = self.model.startswith("inworld-tts-2")
        options = request.get("conn_options") or {}
        self.max_retry = int(options.get("max_retry", 3))
        self.retry_interval = float(options.get("retry_interval", 2.0))
        self.timeout = float(options.get("timeout", 10.0))
        self.end_timeout = float(request.get("end_timeout", 15.0))

    def optional(self) -> dict[str, Any]:
        """The keys sent only when set."""
        keys = {
            "timestampType": self.timestamp_type,
            "applyTextNormalization": self.normalization,
            "language": self.language,
            "deliveryMode": self.delivery_mode,
        }
        return {k: v for k, v in keys.items() if v is not None}


# -- inworld.tts.http (IW-HTTP-1..3) -------------------------------------------------------------


class HTTPSynthesis:
    """One ``synthesize(text)``: its attempts, its NDJSON answer, its events."""

    def __init__(
        self, options: TTSOptions, operation: Operation, session: Any, index: int, text: str
    ) -> None:
        self.options = options
        self.operation = operation
        self.session = session
        self.index = index
        self.text = text
        self.audio_emitted = False

    def body(self) -> dict[str, Any]:
        o = self.options
        body: dict[str, Any] = {
            "text": self.text,
            "voiceId": o.voice,
            "modelId": o.model,
            # Over HTTP temperature sits in audioConfig (top-level in a WebSocket create).
            "audioConfig": {
                "audioEncoding": "PCM",
                "bitrate": o.bitrate,
                "sampleRateHertz": o.rate,
                "temperature": o.temperature,
                "speakingRate": o.speaking_rate,
            },
            "timestampTransportStrategy": o.strategy,
        }
        body.update(o.optional())
        return body

    async def run(self) -> None:
        error: BaseException | None = None
        try:
            await self.attempts()
        except Exception as exc:
            error = exc
        self.operation.end(self.index, error)

    async def attempts(self) -> None:
        o = self.options
        for attempt in range(o.max_retry + 1):
            try:
                await self.attempt()
                return
            except APIError as error:
                # After audio nothing is retried: a replay would repeat it.
                retryable = error.retryable and not self.audio_emitted
                retry = retryable and attempt < o.max_retry
                self.operation.error(self.index, error, retry)
                if not retry:
                    if o.max_retry > 0 and retryable:
                        raise APIConnectionError(
                            f"failed to synthesize speech after {attempt + 1} attempts",
                            retryable=False,
                        ) from error
                    raise
                await asyncio.sleep(FIRST_RETRY_WAIT if attempt == 0 else o.retry_interval)

    async def attempt(self) -> None:
        o = self.options
        # An absolute join: the base URL's path is dropped (SPEC §5.1).
        url = urljoin(base_url(o.target), "/tts/v1/voice:stream")
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=o.timeout, sock_read=o.timeout)
        framer = Framer(o.rate)
        try:
            async with self.session.post(
                url, json=self.body(), headers=tts_headers(o.target["api_key"]), timeout=timeout
            ) as response:
                if response.status // 100 != 2:
                    raise await status_error(response, "Inworld synthesis")
                lines = bytearray()
                while True:
                    chunk = await response.content.readany()
                    if not chunk:
                        break
                    lines += chunk
                    *complete, rest = bytes(lines).split(b"\n")
                    lines = bytearray(rest)
                    for line in complete:
                        self.on_line(line, framer)
                if lines:
                    self.on_line(bytes(lines), framer)
        except APIError:
            raise
        except asyncio.TimeoutError:
            raise APITimeoutError(
                f"Inworld synthesis: no answer for {o.timeout} s", retryable=True
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise APIConnectionError(
                f"Inworld synthesis failed: {type(exc).__name__}: {exc}", retryable=True
            ) from None
        for position, frame in enumerate(frames := framer.finish()):
            self.operation.audio(self.index, frame, o.rate, "", position == len(frames) - 1)

    def on_line(self, raw: bytes, framer: Framer) -> None:
        """IW-HTTP-2: one NDJSON line; blank and unparseable ones are skipped."""
        try:
            message = load_json(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return
        try:
            if not isinstance(message, dict):
                raise Malformed(f"a line that is not an object: {raw[:60]!r}")
            if "error" in message:
                error = message["error"]
                if not isinstance(error, dict):
                    raise Malformed(f"error must be an object, got {error!r:.60}")
                code = error.get("code")
                raise APIStatusError(
                    f"Inworld error: {error.get('message')}",
                    status_code=code if isinstance(code, int) else 500,
                    retryable=not self.audio_emitted,
                    body=error,
                )
            if "result" not in message:
                return  # a message of another kind: ignored
            result = message["result"]
            if not isinstance(result, dict):
                raise Malformed(f"result must be an object, got {result!r:.60}")
            audio = b""
            if "audioContent" in result:
                audio = decode_audio(result["audioContent"], "result")
            timed = []
            if "timestampInfo" in result:
                timed = timed_texts(result["timestampInfo"], "result")
        except Malformed as exc:
            raise APIConnectionError(f"Inworld synthesis: {exc}", retryable=False) from None
        for frame in framer.push(audio):
            self.audio_emitted = True
            self.operation.audio(self.index, frame, self.options.rate, "", False)
        for text, start, end in timed:
            self.operation.timed(self.index, text, start, end)


async def status_error(response: Any, what: str) -> APIStatusError:
    """A non-2xx answer as an ``APIStatusError`` with its status and its JSON body, if any."""
    raw = await response.read()
    try:
        body: Any = load_json(raw)
    except (UnicodeDecodeError, ValueError):
        body = raw.decode("utf-8", errors="replace")[:2000] or None
    message = body.get("message") if isinstance(body, dict) else None
    return APIStatusError(
        f"{what} returned HTTP {response.status}: {message or body}",
        status_code=response.status,
        retryable=retryable_status(response.status),
        body=body,
    )


async def tts_http(request: dict[str, Any]) -> dict[str, Any]:
    operation = Operation()
    options = TTSOptions(request)
    async with aiohttp.ClientSession() as session:
        for index, text in enumerate(request["texts"]):
            await HTTPSynthesis(options, operation, session, index, text).run()
    return {"events": operation.events}


# -- inworld.voices (IW-VOICES-1) ------------------------------------------------------------------


async def list_voices(request: dict[str, Any]) -> list[dict[str, Any]]:
    target = request["target"]
    options = request.get("conn_options") or {}
    timeout = float(options.get("timeout", 10.0))
    # A relative join: the voices live under the base URL's path.
    url = urljoin(base_url(target), "tts/v1/voices")
    params = (
        {} if request.get("language") is None else {"filter": f"language={request['language']}"}
    )
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                url,
                params=params,
                headers=tts_headers(target["api_key"]),
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response,
        ):
            if response.status // 100 != 2:
                raise await status_error(response, "Inworld voices")
            raw = await response.read()
    except APIError:
        raise
    except asyncio.TimeoutError:
        raise APITimeoutError(f"Inworld voices: no answer in {timeout} s") from None
    except (aiohttp.ClientError, OSError) as exc:
        raise APIConnectionError(f"Inworld voices failed: {type(exc).__name__}: {exc}") from None
    try:
        answer = load_json(raw)
    except (UnicodeDecodeError, ValueError):
        raise APIConnectionError(f"Inworld voices answered no JSON: {raw[:80]!r}") from None
    voices = answer.get("voices") if isinstance(answer, dict) else None
    if not isinstance(voices, list) or not all(isinstance(v, dict) for v in voices):
        raise APIConnectionError(f"Inworld voices answered no voices array: {raw[:80]!r}")
    return voices


async def voices_answer(request: dict[str, Any]) -> dict[str, Any]:
    try:
        return {"voices": await list_voices(request)}
    except Exception as exc:
        return {"error": error_info(exc)}


# -- inworld.tts.stream (IW-WS-1..5) --------------------------------------------------------------

SENTENCE_END = re.compile(r"[.!?]+[\"'”’»)\]]*(?=\s)")


def pieces(text: str) -> list[str]:
    """IW-WS-1: a text as ``send_text`` pieces of at most 1000 characters."""
    return [text[i : i + MAX_PIECE] for i in range(0, len(text), MAX_PIECE)]


class Context:
    """One stream: a context on one socket, its input, its audio and timed words."""

    def __init__(self, tts: StreamingTTS, index: int) -> None:
        self.tts = tts
        self.index = index
        self.context_id = uuid.uuid4().hex[:12]
        self.socket: ContextSocket | None = None
        self.framer = Framer(tts.options.rate)
        self.flushed_samples = 0  # audio before the last flushCompleted: the times' offset
        self.pending = ""  # client-segmented text not yet sent (older models)
        self.input_ended = False
        self.finished = False
        self.activity = asyncio.Event()
        self.watchdog: asyncio.Task[Any] | None = None

    @property
    def operation(self) -> Operation:
        return self.tts.operation

    # -- the input -----------------------------------------------------------------------------

    async def open(self) -> None:
        o = self.tts.options
        create: dict[str, Any] = {
            "voiceId": o.voice,
            "modelId": o.model,
            "audioConfig": {
                "audioEncoding": "PCM",
                "sampleRateHertz": o.rate,
                "bitrate": o.bitrate,
                "speakingRate": o.speaking_rate,
            },
            "temperature": o.temperature,  # top-level in a create (in audioConfig over HTTP)
            "maxBufferDelayMs": o.buffer_delay,
            "timestampTransportStrategy": o.strategy,
            **o.optional(),
            "autoMode": True,
        }
        if o.server_segmented:
            create["autoModeStrategy"] = "SENTENCE_BOUNDARY"
        else:
            create["bufferCharThreshold"] = o.buffer_chars
        self.socket = await self.tts.pool.acquire(self)
        await self.send({"create": create})

    async def send(self, message: dict[str, Any]) -> None:
        if self.finished or self.socket is None:
            return
        await self.socket.send({**message, "contextId": self.context_id})

    async def send_text(self, text: str) -> None:
        for piece in pieces(text):
            await self.send({"send_text": {"text": piece}})

    async def push_text(self, text: str) -> None:
        if self.input_ended or self.finished:
            return
        if self.tts.options.server_segmented:
            if text:
                await self.send_text(text)
            return
        # Older models: whole sentences, the whitespace before each kept with it.
        self.pending += text
        cut = max((m.end() for m in SENTENCE_END.finditer(self.pending)), default=0)
        if cut:
            sentences, self.pending = self.pending[:cut], self.pending[cut:]
            await self.send_text(sentences)

    async def send_pending(self) -> None:
        """What is held goes out; whitespace alone stays, to lead the next text."""
        if self.pending.strip():
            text, self.pending = self.pending, ""
            await self.send_text(text)

    async def flush(self) -> None:
        if self.input_ended or self.finished:
            return
        if self.tts.options.server_segmented:
            await self.send({"flush_context": {}})
        else:
            await self.send_pending()

    async def end_input(self) -> None:
        if self.input_ended or self.finished:
            return
        self.input_ended = True
        await self.send_pending()
        await self.send({"flush_context": {}})
        await self.send({"close_context": {}})
        if not self.finished:
            self.watchdog = asyncio.ensure_future(self.watch())

    async def watch(self) -> None:
        """After close_context, a socket silent for ``timeout`` seconds fails the context
        (and cancels it), never a hang."""
        timeout = self.tts.options.timeout
        while not self.finished:
            self.activity.clear()
            try:
                await asyncio.wait_for(self.activity.wait(), timeout)
            except asyncio.TimeoutError:
                with contextlib.suppress(Exception):
                    await self.send({"cancel_context": {}})
                self.fail(
                    APITimeoutError(
                        f"Inworld context {self.context_id}: no reply for {timeout} s",
                        retryable=False,
                    )
                )

    # -- the replies ---------------------------------------------------------------------------

    def on_result(self, result: dict[str, Any]) -> None:
        """One reply routed to this context (IW-WS-3, IW-WS-4)."""
        status = result.get("status")
        try:
            if status is not None:
                if not isinstance(status, dict) or not isinstance(status.get("code", 0), int):
                    raise Malformed(
                        f"status must be an object with an integer code: {status!r:.60}"
                    )
                if status.get("code", 0) != 0:
                    self.fail(
                        APIError(
                            f"Inworld error: {status.get('message')} (code {status['code']})",
                            retryable=False,
                        )
                    )
                    return
            if "audioChunk" in result:
                chunk = result["audioChunk"]
                if not isinstance(chunk, dict):
                    raise Malformed(f"audioChunk must be an object, got {chunk!r:.60}")
                audio = decode_audio(chunk.get("audioContent", ""), "audioChunk")
                timed = []
                if "timestampInfo" in chunk:
                    timed = timed_texts(chunk["timestampInfo"], "audioChunk")
                self.on_audio(audio, timed)
            elif "flushCompleted" in result:
                # The server's times restart after each flush: later ones add the audio before.
                self.flushed_samples = self.framer.total // 2
            elif "contextClosed" in result:
                self.complete()
        except Malformed as exc:
            self.fail(APIConnectionError(f"Inworld context {self.context_id}: {exc}"))

    def on_audio(self, audio: bytes, timed: list[tuple[str, float, float]]) -> None:
        rate = self.tts.options.rate
        for frame in self.framer.push(audio):
            self.operation.audio(self.index, frame, rate, self.context_id, False)
        offset = self.flushed_samples / rate
        for text, start, end in timed:
            self.operation.timed(self.index, text, offset + start, offset + end)

    def complete(self) -> None:
        if self.finished:
            return
        rate = self.tts.options.rate
        frames = self.framer.finish()
        for position, frame in enumerate(frames):
            final = position == len(frames) - 1
            self.operation.audio(self.index, frame, rate, self.context_id, final)
        self.finish(None)

    def fail(self, error: BaseException) -> None:
        if self.finished:
            return
        self.operation.error(self.index, error, False)
        self.finish(error)

    def finish(self, error: BaseException | None) -> None:
        self.finished = True
        self.activity.set()
        if self.watchdog is not None and self.watchdog is not asyncio.current_task():
            self.watchdog.cancel()
        if self.socket is not None:
            self.socket.release(self)
        self.operation.end(self.index, error)


class ContextSocket:
    """One WebSocket of the TTS and the contexts open on it; its reader routes every reply."""

    def __init__(self, pool: SocketPool) -> None:
        self.pool = pool
        self.ws: ClientConnection | None = None
        self.contexts: dict[str, Context] = {}
        self.alive = True
        self.reader: asyncio.Task[Any] | None = None

    async def connect(self) -> None:
        o = self.pool.tts.options
        # An absolute join: the base URL's path is dropped (SPEC §5.2).
        url = urljoin(ws_url(base_url(o.target)), "/tts/v1/voice:streamBidirectional")
        try:
            self.ws = await connect(
                url,
                additional_headers=tts_headers(o.target["api_key"]),
                compression=None,
                ping_interval=None,
                proxy=None,
                open_timeout=o.timeout,
                close_timeout=o.timeout,
                max_size=1 << 24,
            )
        except InvalidStatus as exc:
            code = exc.response.status_code
            raise APIStatusError(
                f"Inworld refused the WebSocket: HTTP {code}",
                status_code=code,
                retryable=retryable_status(code),
            ) from None
        except (TimeoutError, asyncio.TimeoutError):
            raise APITimeoutError(f"connecting to Inworld timed out after {o.timeout} s") from None
        except Exception as exc:
            raise APIConnectionError(
                f"cannot connect to Inworld: {type(exc).__name__}: {exc}"
            ) from None
        self.reader = asyncio.ensure_future(self.read())

    async def send(self, message: dict[str, Any]) -> None:
        if not self.alive or self.ws is None:
            raise APIConnectionError("the Inworld socket is closed")
        try:
            await asyncio.wait_for(self.ws.send(json.dumps(message)), self.pool.tts.options.timeout)
        except (ConnectionClosed, asyncio.TimeoutError, OSError) as exc:
            self.lost(APIConnectionError(f"Inworld socket lost while sending: {exc}"))
            raise APIConnectionError(f"Inworld socket lost while sending: {exc}") from None

    async def read(self) -> None:
        assert self.ws is not None
        try:
            while True:
                raw = await self.ws.recv()
                self.on_frame(raw)
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else 1006
            self.lost(APIConnectionError(f"the Inworld socket closed ({code})"))
        except Malformed as exc:
            self.lost(APIConnectionError(f"Inworld sent {exc}"))
            await self.close()
        except Exception as exc:  # never a crash of the reader: the contexts must end
            self.lost(APIConnectionError(f"the Inworld socket failed: {exc}"))
            await self.close()

    def on_frame(self, raw: str | bytes) -> None:
        """One server frame: a reply routed by contextId; what cannot be read at all fails
        the socket (CLI-ROB-1)."""
        for context in self.contexts.values():
            context.activity.set()  # a server busy with other contexts is not a stalled one
        if isinstance(raw, bytes):
            raise Malformed("a binary frame where JSON text is expected")
        try:
            message = load_json(raw)
        except ValueError:
            raise Malformed(f"a frame that is not JSON: {raw[:60]!r}") from None
        if not isinstance(message, dict):
            raise Malformed(f"a frame that is not an object: {raw[:60]!r}")
        if "result" not in message:
            # A top-level error names no context: logged, as upstream does; others ignored.
            if "error" in message:
                print(f"Inworld error naming no context: {raw[:200]}", file=sys.stderr)
            return
        result = message["result"]
        if not isinstance(result, dict) or not isinstance(result.get("contextId"), str):
            raise Malformed(f"result must be an object naming its contextId: {raw[:60]!r}")
        context = self.contexts.get(result["contextId"])
        if context is not None:
            context.on_result(result)

    def lost(self, error: APIError) -> None:
        """IW-WS-4: a lost socket fails every context open on it; the next stream connects
        anew."""
        self.alive = False
        self.pool.forget(self)
        for context in list(self.contexts.values()):
            context.fail(error)

    def release(self, context: Context) -> None:
        self.contexts.pop(context.context_id, None)
        self.pool.slot_freed()

    async def close(self) -> None:
        self.alive = False
        self.pool.forget(self)
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close(1000)
        if self.reader is not None and self.reader is not asyncio.current_task():
            self.reader.cancel()
            await asyncio.gather(self.reader, return_exceptions=True)


class SocketPool:
    """IW-WS-2: up to five contexts per socket, up to twenty sockets; a stream beyond waits
    for a slot."""

    def __init__(self, tts: StreamingTTS) -> None:
        self.tts = tts
        self.sockets: list[ContextSocket] = []
        self.freed = asyncio.Event()

    async def acquire(self, context: Context) -> ContextSocket:
        while True:
            for socket in self.sockets:
                if socket.alive and len(socket.contexts) < MAX_CONTEXTS:
                    socket.contexts[context.context_id] = context
                    return socket
            if len(self.sockets) < MAX_SOCKETS:
                socket = ContextSocket(self)
                await socket.connect()
                self.sockets.append(socket)
                socket.contexts[context.context_id] = context
                return socket
            self.freed.clear()
            await self.freed.wait()

    def slot_freed(self) -> None:
        self.freed.set()

    def forget(self, socket: ContextSocket) -> None:
        if socket in self.sockets:
            self.sockets.remove(socket)
        self.freed.set()

    async def aclose(self) -> None:
        for socket in list(self.sockets):
            await socket.close()


class StreamingTTS:
    """The TTS object of one ``inworld.tts.stream``: its sockets and its streams."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.options = TTSOptions(request)
        self.operation = Operation()
        self.pool = SocketPool(self)
        self.streams: dict[int, Context] = {}

    async def stream(self, index: int) -> Context:
        """Stream ``index``, opened at the first step naming it."""
        if index not in self.streams:
            context = self.streams[index] = Context(self, index)
            try:
                await context.open()
            except Exception as exc:
                context.fail(exc)
        return self.streams[index]

    async def run(self, script: list[dict[str, Any]]) -> dict[str, Any]:
        try:
            for step in script:
                op, index = step.get("op"), int(step.get("stream", 0))
                if op == "wait_event":
                    await self.stream(index)
                    await self.operation.wait(
                        index, step["event"], int(step.get("count", 1)), float(step["timeout"])
                    )
                    continue
                context = await self.stream(index)
                with contextlib.suppress(APIError):  # a send's failure is the stream's
                    if op == "push_text":
                        await context.push_text(step["text"])
                    elif op == "flush":
                        await context.flush()
                    elif op == "end_input":
                        await context.end_input()
            for context in self.streams.values():
                with contextlib.suppress(APIError):
                    await context.end_input()
            await self.wait_all()
        finally:
            await self.pool.aclose()
        return {"events": self.operation.events}

    async def wait_all(self) -> None:
        deadline = time.monotonic() + self.options.end_timeout
        while not all(c.finished for c in self.streams.values()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self.operation.changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.operation.changed.wait(), remaining)
        for context in self.streams.values():
            if not context.finished:
                with contextlib.suppress(Exception):
                    await context.send({"cancel_context": {}})
                context.finish(
                    TimeoutError(f"the stream did not end within {self.options.end_timeout} s")
                )


# -- inworld.stt.stream (IW-STT-*) -----------------------------------------------------------------

FLUSH, END = "flush", "end"


def to_mono(pcm: bytes, channels: int) -> array:
    """Interleaved s16le as mono samples (the channels averaged)."""
    samples = array("h", pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    if channels == 1:
        return samples
    return array(
        "h",
        (int(sum(samples[i : i + channels]) / channels) for i in range(0, len(samples), channels)),
    )


def resample(samples: array, from_rate: int, to_rate: int) -> array:
    """Linear interpolation, one frame at a time: enough for a driver, not a studio."""
    if from_rate == to_rate or not samples:
        return samples
    count = len(samples) * to_rate // from_rate
    out = array("h")
    for i in range(count):
        position = i * from_rate / to_rate
        left = int(position)
        right = min(left + 1, len(samples) - 1)
        fraction = position - left
        out.append(int(samples[left] * (1 - fraction) + samples[right] * fraction))
    return out


def to_bytes(samples: array) -> bytes:
    if sys.byteorder == "big":
        samples = array("h", samples)
        samples.byteswap()
    return samples.tobytes()


class SpeechStream:
    """One Inworld speech stream: the script's frames in a queue, the attempts loop sending
    them, the server's transcripts as the protocol's ``stt.*`` events."""

    def __init__(self, request: dict[str, Any]) -> None:
        extra = dict(request.get("extra_kwargs") or {})
        self.request = request
        self.target = request["target"]
        self.rate = int(request.get("sample_rate") or 16000)
        self.language = request.get("language") or DEFAULT_STT_LANGUAGE
        config: dict[str, Any] = {
            "modelId": request.get("model") or DEFAULT_STT_MODEL,
            "audioEncoding": "LINEAR16",
            "sampleRateHertz": self.rate,
            "numberOfChannels": 1,
            "language": self.language,
        }
        if extra.get("enable_voice_profile", True):
            config["voiceProfileConfig"] = {
                "enableVoiceProfile": True,
                "topN": int(extra.get("voice_profile_top_n", 1)),
            }
        config["endOfTurnConfidenceThreshold"] = float(
            extra.get("end_of_turn_confidence_threshold", 0.3)
        )
        v1: dict[str, Any] = {
            "minEndOfTurnSilenceWhenConfident": int(
                extra.get("min_end_of_turn_silence_when_confident", 200)
            )
        }
        if extra.get("vad_threshold") is not None:
            v1["vadThreshold"] = float(extra["vad_threshold"])
        config["inworldSttV1Config"] = v1
        self.config = {"transcribeConfig": config}
        options = request.get("conn_options") or {}
        self.max_retry = int(options.get("max_retry", 3))
        self.retry_interval = float(options.get("retry_interval", 2.0))
        self.timeout = float(options.get("timeout", 10.0))
        self.started = time.monotonic()
        self.events: list[dict[str, Any]] = []
        self.counts: dict[str, int] = {}
        self.changed = asyncio.Event()
        self.input: asyncio.Queue[Any] = asyncio.Queue()
        self.request_id = uuid.uuid4().hex[:12]
        self.speaking = False
        self.unreported = 0  # samples sent since the last usage (IW-STT-USG-1)
        self.closed_stream = False  # on this connection
        self.input_ended = False
        self.done: asyncio.Task[Any] | None = None

    # -- events --------------------------------------------------------------------------------

    def now(self) -> float:
        return time.monotonic() - self.started

    def speech(self, speech_type: str, **fields: Any) -> None:
        event = {"type": "stt.speech", "speech_type": speech_type, "request_id": "", **fields}
        self.events.append({**event, "t": self.now()})
        self.counts[speech_type] = self.counts.get(speech_type, 0) + 1
        self.changed.set()

    def usage(self) -> None:
        if self.unreported:
            seconds, self.unreported = self.unreported / self.rate, 0
            self.speech("recognition_usage", request_id=self.request_id, audio_duration=seconds)

    # -- the script ----------------------------------------------------------------------------

    async def play(self) -> None:
        for step in self.request.get("script") or []:
            op = step.get("op")
            if op == "push_audio":
                self.push_audio(step)
            elif op == "flush":
                self.input.put_nowait(FLUSH)
            elif op == "end_input":
                self.input.put_nowait(END)
            elif op == "wait_event":
                await self.wait(step["event"], int(step.get("count", 1)), float(step["timeout"]))

    def push_audio(self, step: dict[str, Any]) -> None:
        """The step's audio as the frames a caller pushes, each sent as it is (IW-STT-C-1)."""
        rate, channels = int(step["sample_rate"]), int(step.get("num_channels", 1))
        pcm = base64.b64decode(step["pcm"])
        frame = max(1, math.floor(rate * float(step["frame_ms"]) / 1000)) * 2 * channels
        for start in range(0, len(pcm), frame):
            samples = resample(to_mono(pcm[start : start + frame], channels), rate, self.rate)
            self.input.put_nowait(to_bytes(samples))

    async def wait(self, kind: str, count: int, timeout: float) -> None:
        """Until ``count`` events of ``kind`` came, the stream ended, or ``timeout``."""
        deadline = time.monotonic() + timeout
        while self.counts.get(kind, 0) < count and not (self.done and self.done.done()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)

    # -- the attempts ----------------------------------------------------------------------------

    async def run_attempts(self) -> None:
        try:
            for attempt in range(self.max_retry + 1):
                try:
                    await self.run_attempt()
                    return
                except APIError as error:
                    retry = error.retryable and attempt < self.max_retry
                    event = {"type": "stt.error", "error": error_info(error), "recoverable": retry}
                    self.events.append({**event, "t": self.now()})
                    self.counts["error"] = self.counts.get("error", 0) + 1
                    self.changed.set()
                    if not retry:
                        if self.max_retry > 0 and error.retryable:
                            raise APIConnectionError(
                                f"failed to recognize speech after {attempt + 1} attempts",
                                retryable=False,
                            ) from error
                        raise
                    await asyncio.sleep(FIRST_RETRY_WAIT if attempt == 0 else self.retry_interval)
        finally:
            self.usage()  # IW-STT-USG-1: the end reports what is left

    async def run_attempt(self) -> None:
        # The path is appended to the base URL's (SPEC §5.3).
        url = ws_url(base_url(self.target)).rstrip("/") + "/stt/v1/transcribe:streamBidirectional"
        try:
            ws = await connect(
                url,
                additional_headers={"Authorization": f"Basic {self.target['api_key']}"},
                compression=None,
                ping_interval=None,
                proxy=None,
                open_timeout=self.timeout,
                close_timeout=self.timeout,
                max_size=1 << 24,
            )
        except InvalidStatus as exc:
            code = exc.response.status_code
            raise APIStatusError(
                f"Inworld refused the WebSocket: HTTP {code}",
                status_code=code,
                retryable=retryable_status(code),
            ) from None
        except (TimeoutError, asyncio.TimeoutError):
            raise APITimeoutError(
                f"connecting to Inworld timed out after {self.timeout} s"
            ) from None
        except Exception as exc:
            raise APIConnectionError(f"cannot connect to Inworld: {exc}") from None
        self.closed_stream = False
        try:
            await ws.send(json.dumps(self.config))
            sender = asyncio.ensure_future(self.send_loop(ws))
            receiver = asyncio.ensure_future(self.receive_loop(ws))
            try:
                finished, _ = await asyncio.wait(
                    {sender, receiver}, return_when=asyncio.FIRST_COMPLETED
                )
                if receiver not in finished:
                    sender.result()
                await receiver
            finally:
                for task in (sender, receiver):
                    task.cancel()
                await asyncio.gather(sender, receiver, return_exceptions=True)
        except ConnectionClosed as exc:
            raise self.closed_error(exc) from None
        finally:
            with contextlib.suppress(Exception):
                await ws.close()

    def closed_error(self, exc: ConnectionClosed) -> APIError:
        """IW-STT-END-1: a close before closeStream (or one other than 1000 after it) is a
        retryable error, never a silent end."""
        if exc.rcvd is None:
            return APIConnectionError(f"the Inworld socket broke: {exc}")
        code = exc.rcvd.code
        when = "after" if self.closed_stream else "before"
        return APIStatusError(
            f"Inworld closed the socket ({code}) {when} closeStream",
            status_code=code,
            retryable=True,
        )

    async def send_loop(self, ws: ClientConnection) -> None:
        while True:
            if self.input_ended and self.input.empty():
                item = END  # a retry after the end of input ends its input at once
            else:
                item = await self.input.get()
            if isinstance(item, bytes):
                await ws.send(
                    json.dumps({"audioChunk": {"content": base64.b64encode(item).decode()}})
                )
                self.unreported += len(item) // 2
                if self.unreported >= USAGE_SECONDS * self.rate:
                    self.usage()
            elif item == FLUSH:
                await ws.send(json.dumps({"endTurn": {}}))
                self.usage()
            else:
                self.input_ended = True
                await ws.send(json.dumps({"closeStream": {}}))
                self.closed_stream = True
                return

    async def receive_loop(self, ws: ClientConnection) -> None:
        while True:
            try:
                if self.closed_stream:
                    # A server that never closes after closeStream: end it ourselves.
                    raw = await asyncio.wait_for(ws.recv(), self.timeout)
                else:
                    raw = await ws.recv()
            except asyncio.TimeoutError:
                await ws.close(1000)
                return
            except ConnectionClosed as exc:
                if self.closed_stream and exc.rcvd is not None and exc.rcvd.code == 1000:
                    return  # IW-STT-S-1: the server's close 1000 after closeStream ends it
                raise self.closed_error(exc) from None
            try:
                self.on_message(raw)
            except Malformed as exc:
                raise APIConnectionError(f"Inworld sent {exc}") from None

    def on_message(self, raw: str | bytes) -> None:
        if isinstance(raw, bytes):
            raise Malformed("a binary frame where JSON text is expected")
        try:
            message = load_json(raw)
        except ValueError:
            raise Malformed(f"a frame that is not JSON: {raw[:60]!r}") from None
        if not isinstance(message, dict):
            raise Malformed(f"a frame that is not an object: {raw[:60]!r}")
        if "error" in message:
            error = message["error"]
            code = error.get("code") if isinstance(error, dict) else None
            code = code if isinstance(code, int) and not isinstance(code, bool) else 500
            detail = error.get("message") if isinstance(error, dict) else error
            raise APIStatusError(
                f"Inworld error: {detail}", status_code=code, retryable=retryable_status(code)
            )
        if "result" not in message:
            return
        result = message["result"]
        if not isinstance(result, dict):
            raise Malformed(f"result must be an object: {raw[:60]!r}")
        if "speechStarted" in result:
            self.start()
        if "transcription" in result:
            self.on_transcription(result["transcription"])

    def start(self) -> None:
        if not self.speaking:
            self.speaking = True
            self.speech("start_of_speech")

    def alternative(self, text: str, profile: Any) -> dict[str, Any]:
        alternative = {
            "text": text,
            "start_time": 0.0,  # Inworld transcripts carry no times
            "end_time": 0.0,
            "confidence": 0.0,
            "language": self.language,
            "speaker_id": None,
            "words": [],
        }
        if profile is not None:
            alternative["metadata"] = {"voice_profile": profile}
        return alternative

    def on_transcription(self, transcription: Any) -> None:
        """IW-STT-ORD-1: START (INTERIM)* FINAL END; an empty interim says nothing, an empty
        final closes the open segment."""
        if not isinstance(transcription, dict):
            raise Malformed("transcription must be an object")
        text, final = transcription.get("transcript", ""), transcription.get("isFinal", False)
        if not isinstance(text, str) or not isinstance(final, bool):
            raise Malformed(f"transcription of the wrong types: {transcription!r:.80}")
        profile = transcription.get("voiceProfile")
        if profile is not None and not isinstance(profile, dict):
            raise Malformed(f"voiceProfile must be an object, got {profile!r:.60}")
        if not final:
            if text:
                self.start()
                alternative = self.alternative(text, None)
                self.speech(
                    "interim_transcript", request_id=self.request_id, alternatives=[alternative]
                )
            return
        if not text:
            if self.speaking:
                self.speaking = False
                self.speech("end_of_speech")
            return
        self.start()
        alternative = self.alternative(text, profile)
        self.speech("final_transcript", request_id=self.request_id, alternatives=[alternative])
        self.speaking = False
        self.speech("end_of_speech")

    # -- the whole operation ---------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        self.done = asyncio.ensure_future(self.run_attempts())
        failure: BaseException | None = None
        try:
            await self.play()
        except Exception as exc:
            failure = exc
        end_timeout = float(self.request.get("end_timeout", 15.0))
        try:
            await asyncio.wait_for(asyncio.shield(self.done), end_timeout)
        except asyncio.TimeoutError:
            self.done.cancel()
            with contextlib.suppress(BaseException):
                await self.done
            failure = failure or TimeoutError(
                f"the stream did not end within {end_timeout} s of the script's end"
            )
        except Exception as exc:
            failure = exc
        event = {"type": "stt.end", "error": None if failure is None else error_info(failure)}
        self.events.append({**event, "t": self.now()})
        return {"events": self.events}


# -- the cmd: protocol -----------------------------------------------------------------------------


def handle(op: str, request: dict[str, Any]) -> dict[str, Any]:
    """The answer to one request; raising makes an error reply."""
    if op == "hello":
        if request.get("protocol") != PROTOCOL:
            raise ValueError(
                f"this driver speaks protocol {PROTOCOL}, not {request.get('protocol')}"
            )
        return {"name": NAME, "capabilities": CAPABILITIES, "protocol": PROTOCOL}
    if op == "inworld.tts.http":
        return asyncio.run(tts_http(request))
    if op == "inworld.voices":
        return asyncio.run(voices_answer(request))
    if op == "inworld.stt.stream":
        return asyncio.run(SpeechStream(request).run())
    if op == "inworld.tts.stream":
        return asyncio.run(StreamingTTS(request).run(request["script"]))
    raise ValueError(f"unsupported op {op!r}")


def main() -> int:
    requests = sys.stdin.buffer
    replies = sys.stdout.buffer
    # stdout carries protocol replies only: a stray print() must not corrupt it.
    sys.stdout = sys.stderr
    for raw in iter(requests.readline, b""):
        if not raw.strip():
            continue
        request = json.loads(raw)
        op, body = request.get("op"), request.get("request") or {}
        reply: dict[str, Any] = {"id": request.get("id")}
        try:
            reply["answer"] = {} if op == "shutdown" else handle(op, body)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            reply["error"] = {"message": f"{type(exc).__name__}: {exc}"}
        replies.write(json.dumps(reply, separators=(",", ":")).encode("ascii") + b"\n")
        replies.flush()
        if op == "shutdown":
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
