"""The reference Inworld TTS client (SPEC §5.1, AUTH-6): :class:`InworldTTS` with
:meth:`~InworldTTS.synthesize` (HTTP NDJSON, :class:`InworldChunkedStream`) and
:meth:`~InworldTTS.list_voices`.

aiohttp only moves bytes and time; every protocol decision is the sans-IO wire module's
(:mod:`voicewire.reference.inworld.wire`): :func:`~.wire.urls.synthesize_url` and
:func:`~.wire.urls.voices_url` say where a request goes (absolute and relative joins),
:class:`~.wire.synthesis.InworldSynthesizeRequest` what it carries, and
:class:`~.wire.synthesis.InworldSynthesisReader` what each line of the answer means.

Names, options and defaults mirror ``livekit.plugins.inworld.TTS`` (1.8.9): voice ``Ashley``,
model ``inworld-tts-1.5-max``, ``PCM`` at 24000 Hz, 64000 bps, speaking rate and temperature
1.0, timestamp transport ``ASYNC``; the key from ``api_key`` else ``INWORLD_API_KEY``, sent as
``Authorization: Basic <key>`` verbatim, with ``X-User-Agent`` and a fresh ``X-Request-Id``
(uuid4) on every request (IW-HTTP-1); enum-typed options are checked with upstream's
``ValueError``. An option left ``None`` is "not given": upstream's default applies, and the
request leaves optional keys out.

Where this client decides differently from upstream 1.8.9, it follows SPEC.md:

- an ``error`` line raises :class:`APIStatusError` with its code (IW-HTTP-2; upstream's
  ``except Exception`` turns its own ``APIStatusError`` into an ``APIConnectionError``);
- a line that is JSON of the wrong shape (not an object, a wrongly typed field, audio that is
  not base64) fails the attempt with an :class:`APIConnectionError` (CLI-ROB-1; upstream
  crashes on some of them);
- the answer may not go silent for longer than ``conn_options.timeout`` (upstream bounds only
  the connect), so no synthesis hangs: :class:`APITimeoutError`;
- a failure is retried only while no audio was emitted (TTS-RETRY-1: upstream's chunked stream
  retries after audio too, with a new request id);
- only ``PCM`` is decoded (frames are PCM ``AudioFrame``\\ s), so another ``encoding`` is
  refused at construction.

Frames are :class:`~voicewire.reference.tts.wire.SynthesizedAudio` of 100 ms (the last one
shorter, marked ``is_final``); concatenated they are exactly the server's audio bytes, in order.
``segment_id`` is ``""`` as upstream's; ``request_id`` is the attempt's own id. Timed text
(``timestamp_type`` ``WORD``/``CHARACTER``) is on the stream's ``aligned_transcripts``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import uuid
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import aiohttp
from voicewire.reference.audio import AudioByteStream, AudioFrame
from voicewire.reference.auth import inworld_authorization
from voicewire.reference.emitter import EventEmitter
from voicewire.reference.errors import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectionError,
    APIConnectOptions,
    APIError,
    APIStatusError,
    APITimeoutError,
)
from voicewire.reference.event_stream import EventStream
from voicewire.reference.inworld.tts_stream import InworldStreamPool, InworldSynthesizeStream
from voicewire.reference.inworld.wire.contexts import (
    CreateContextConfig,
    create_context_config,
    supports_sentence_boundary,
)
from voicewire.reference.inworld.wire.synthesis import (
    INWORLD_DELIVERY_MODES,
    INWORLD_ENCODINGS,
    INWORLD_TEXT_NORMALIZATIONS,
    INWORLD_TIMESTAMP_TRANSPORT_STRATEGIES,
    INWORLD_TIMESTAMP_TYPES,
    InworldAudioConfig,
    InworldSkippedLine,
    InworldSynthesisAudio,
    InworldSynthesisEvent,
    InworldSynthesisFailure,
    InworldSynthesisReader,
    InworldSynthesizeRequest,
    decode_voices_response,
    encode_synthesize_request,
)
from voicewire.reference.inworld.wire.timestamps import InworldTimestampInfo, timed_strings
from voicewire.reference.inworld.wire.urls import (
    DEFAULT_INWORLD_BASE_URL,
    DEFAULT_INWORLD_WS_URL,
    stream_url,
    synthesize_url,
    voices_url,
)
from voicewire.reference.json_wire import MalformedMessage, RemoteProtocolError
from voicewire.reference.tts.inference import TTSErrorEvent
from voicewire.reference.tts.wire import (
    DEFAULT_TTS_FRAME_DURATION,
    AlignedTranscript,
    SynthesizedAudio,
)

__all__ = [
    "DEFAULT_INWORLD_BIT_RATE",
    "DEFAULT_INWORLD_BUFFER_CHAR_THRESHOLD",
    "DEFAULT_INWORLD_ENCODING",
    "DEFAULT_INWORLD_MAX_BUFFER_DELAY_MS",
    "DEFAULT_INWORLD_MODEL",
    "DEFAULT_INWORLD_SAMPLE_RATE",
    "DEFAULT_INWORLD_SPEAKING_RATE",
    "DEFAULT_INWORLD_TEMPERATURE",
    "DEFAULT_INWORLD_TIMESTAMP_TRANSPORT_STRATEGY",
    "DEFAULT_INWORLD_VOICE",
    "INWORLD_USER_AGENT",
    "MAX_ERROR_BODY_BYTES",
    "MAX_VOICES_BODY_BYTES",
    "InworldChunkedStream",
    "InworldTTS",
    "InworldTTSOptions",
    "inworld_status_error",
]

DEFAULT_INWORLD_VOICE = "Ashley"
DEFAULT_INWORLD_MODEL = "inworld-tts-1.5-max"
DEFAULT_INWORLD_ENCODING = "PCM"
DEFAULT_INWORLD_SAMPLE_RATE = 24000
DEFAULT_INWORLD_BIT_RATE = 64000
DEFAULT_INWORLD_SPEAKING_RATE = 1.0
DEFAULT_INWORLD_TEMPERATURE = 1.0
DEFAULT_INWORLD_TIMESTAMP_TRANSPORT_STRATEGY = "ASYNC"
DEFAULT_INWORLD_BUFFER_CHAR_THRESHOLD = 250
"""Upstream's ``bufferCharThreshold`` for a WebSocket context when none is set."""
DEFAULT_INWORLD_MAX_BUFFER_DELAY_MS = 3000
"""Upstream's ``maxBufferDelayMs`` for a WebSocket context."""

INWORLD_USER_AGENT = "voicewire-reference"
"""The ``X-User-Agent`` of every request (upstream sends ``livekit-agents-py/<version>``)."""

NUM_CHANNELS = 1

InworldTTSEvent = Literal["error"]

MAX_ERROR_BODY_BYTES = 64 * 1024
"""The most of a non-2xx answer's body read for its message."""
MAX_VOICES_BODY_BYTES = 16 * 1024 * 1024
"""The largest voices answer read; a longer one is an ``APIConnectionError``."""


@dataclass
class InworldTTSOptions:
    """The options in force (upstream's ``_TTSOptions``); a synthesis copies them when it
    starts, so :meth:`InworldTTS.update_options` applies to the next one. ``None`` means not
    given: the key is left out of the request."""

    model: str = DEFAULT_INWORLD_MODEL
    encoding: str = DEFAULT_INWORLD_ENCODING
    voice: str = DEFAULT_INWORLD_VOICE
    sample_rate: int = DEFAULT_INWORLD_SAMPLE_RATE
    bit_rate: int = DEFAULT_INWORLD_BIT_RATE
    speaking_rate: float = DEFAULT_INWORLD_SPEAKING_RATE
    temperature: float = DEFAULT_INWORLD_TEMPERATURE
    language: str | None = None
    timestamp_type: str | None = None
    text_normalization: str | None = None
    delivery_mode: str | None = None
    timestamp_transport_strategy: str = DEFAULT_INWORLD_TIMESTAMP_TRANSPORT_STRATEGY
    buffer_char_threshold: int | None = None
    max_buffer_delay_ms: int = DEFAULT_INWORLD_MAX_BUFFER_DELAY_MS

    @property
    def mime_type(self) -> str:
        """The MIME type of the audio (upstream's ``mime_type``)."""
        return {
            "PCM": "audio/pcm",
            "MP3": "audio/mpeg",
            "OGG_OPUS": "audio/ogg",
            "FLAC": "audio/flac",
        }.get(self.encoding, "audio/wav")


# -- option checks -----------------------------------------------------------------------------


def _one_of(name: str, value: object, valid: tuple[str, ...]) -> str:
    # Upstream's _validate_str_param message, so a user sees the same error from both.
    if not isinstance(value, str) or value not in valid:
        raise ValueError(f"Invalid {name}: {value!r}. Must be one of {sorted(valid)}")
    return value


def _text_normalization(value: object) -> str:
    if isinstance(value, bool):
        return "ON" if value else "OFF"
    return _one_of("text_normalization", value, INWORLD_TEXT_NORMALIZATIONS)


def _non_empty(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def _finite(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _encoding(value: object) -> str:
    encoding = _one_of("encoding", value, INWORLD_ENCODINGS)
    if encoding != "PCM":
        raise ValueError(
            f"encoding {encoding!r} is valid for Inworld, but the reference client decodes "
            "only 'PCM' (raw s16le)"
        )
    return encoding


def _check_conn_options(conn_options: object) -> APIConnectOptions:
    if not isinstance(conn_options, APIConnectOptions):
        raise TypeError(
            f"conn_options must be APIConnectOptions, got {type(conn_options).__name__}"
        )
    return conn_options


_CHECKS: Mapping[str, Any] = {
    "voice": lambda v: _non_empty("voice", v),
    "model": lambda v: _non_empty("model", v),
    "encoding": _encoding,
    "bit_rate": lambda v: _positive_int("bit_rate", v),
    "sample_rate": lambda v: _positive_int("sample_rate", v),
    "speaking_rate": lambda v: _finite("speaking_rate", v),
    "temperature": lambda v: _finite("temperature", v),
    "language": lambda v: _non_empty("language", v),
    "timestamp_type": lambda v: _one_of("timestamp_type", v, INWORLD_TIMESTAMP_TYPES),
    "text_normalization": _text_normalization,
    "delivery_mode": lambda v: _one_of("delivery_mode", v, INWORLD_DELIVERY_MODES),
    "timestamp_transport_strategy": lambda v: _one_of(
        "timestamp_transport_strategy", v, INWORLD_TIMESTAMP_TRANSPORT_STRATEGIES
    ),
    "buffer_char_threshold": lambda v: _positive_int("buffer_char_threshold", v),
    "max_buffer_delay_ms": lambda v: _positive_int("max_buffer_delay_ms", v),
}


# -- the client --------------------------------------------------------------------------------


class InworldTTS(EventEmitter[InworldTTSEvent]):
    """Inworld text-to-speech (SPEC §5): ``synthesize`` over HTTP NDJSON, ``list_voices``.

    The arguments are upstream's (see the module's docstring for the defaults); ``None`` is
    "not given". ``http_session`` is used if given (and left open), else the client opens its
    own on first use and closes it in :meth:`aclose`. Beyond upstream's arguments:
    ``time_scale`` multiplies the waits between attempts (§2.4) and ``label`` names the model
    in error events.

    Raises ``ValueError`` at construction for a missing key, an invalid enum-typed option, a
    wrong-typed number or a URL without a scheme.
    """

    # The parts a TTS is made of; a variant (a mutant of the zoo) swaps one.
    chunked_stream_class: type[InworldChunkedStream]
    """The stream :meth:`synthesize` returns (set below, once it exists)."""
    reader_class: type[InworldSynthesisReader] = InworldSynthesisReader
    """The reader of a synthesis's NDJSON answer."""
    stream_pool_class: type[InworldStreamPool] = InworldStreamPool
    """The pool of WebSockets whose contexts :meth:`stream` synthesizes on."""
    synthesize_stream_class: type[InworldSynthesizeStream] = InworldSynthesizeStream
    """The stream :meth:`stream` returns."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        voice: str | None = None,
        model: str | None = None,
        encoding: str | None = None,
        bit_rate: int | None = None,
        sample_rate: int | None = None,
        speaking_rate: float | None = None,
        temperature: float | None = None,
        language: str | None = None,
        timestamp_type: str | None = None,
        text_normalization: str | bool | None = None,
        delivery_mode: str | None = None,
        timestamp_transport_strategy: str | None = None,
        buffer_char_threshold: int | None = None,
        max_buffer_delay_ms: int | None = None,
        base_url: str = DEFAULT_INWORLD_BASE_URL,
        ws_url: str = DEFAULT_INWORLD_WS_URL,
        http_session: aiohttp.ClientSession | None = None,
        time_scale: float = 1.0,
        label: str | None = None,
    ) -> None:
        super().__init__()
        key = api_key if api_key is not None else os.environ.get("INWORLD_API_KEY")
        if not key:
            raise ValueError(
                "Inworld API key is required, either as argument or set"
                " INWORLD_API_KEY environment variable"
            )
        self._authorization = inworld_authorization(key)
        # Both URLs are checked now, not at the first request.
        synthesize_url(base_url)
        stream_url(ws_url)
        self._base_url = base_url
        self._ws_url = ws_url
        if http_session is not None and not isinstance(http_session, aiohttp.ClientSession):
            raise TypeError(
                f"http_session must be an aiohttp.ClientSession, got {type(http_session).__name__}"
            )
        self._session = http_session
        self._owns_session = False
        self.time_scale = _finite("time_scale", time_scale)
        if self.time_scale <= 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale!r}")
        self._opts = InworldTTSOptions()
        self._apply_options(
            voice=voice,
            model=model,
            encoding=encoding,
            bit_rate=bit_rate,
            sample_rate=sample_rate,
            speaking_rate=speaking_rate,
            temperature=temperature,
            language=language,
            timestamp_type=timestamp_type,
            text_normalization=text_normalization,
            delivery_mode=delivery_mode,
            timestamp_transport_strategy=timestamp_transport_strategy,
            buffer_char_threshold=buffer_char_threshold,
            max_buffer_delay_ms=max_buffer_delay_ms,
        )
        self.label = label or f"inworld.TTS({self._opts.model})"
        self._chunked: weakref.WeakSet[InworldChunkedStream] = weakref.WeakSet()
        # The sockets of stream(): up to 20, of up to 5 contexts each (IW-WS-2).
        self._stream_pool = self.stream_pool_class(stream_url(ws_url), self.headers)
        self._streams: weakref.WeakSet[InworldSynthesizeStream] = weakref.WeakSet()

    # -- what it is ----------------------------------------------------------------------------

    @property
    def model(self) -> str:
        """The model in force."""
        return self._opts.model

    @property
    def provider(self) -> str:
        """``"Inworld"``, as upstream's."""
        return "Inworld"

    @property
    def sample_rate(self) -> int:
        """The rate of the synthesized audio, in Hz."""
        return self._opts.sample_rate

    @property
    def num_channels(self) -> int:
        """Always 1: Inworld's audio is mono."""
        return NUM_CHANNELS

    @property
    def aligned_transcript(self) -> bool:
        """Whether the synthesis carries timed text (upstream's capability): a
        ``timestamp_type`` other than unspecified is set."""
        return self._opts.timestamp_type not in (None, "TIMESTAMP_TYPE_UNSPECIFIED")

    @property
    def base_url(self) -> str:
        """The base URL of HTTP synthesis and the voices list."""
        return self._base_url

    @property
    def ws_url(self) -> str:
        """The base URL of TTS over WebSocket."""
        return self._ws_url

    @property
    def options(self) -> InworldTTSOptions:
        """A copy of the options in force."""
        return replace(self._opts)

    # -- requests ------------------------------------------------------------------------------

    def synthesize_endpoint(self) -> str:
        """Where :meth:`synthesize` posts: ``/tts/v1/voice:stream`` joined to the base URL as
        an absolute path (its own path dropped, SPEC §5.1)."""
        return synthesize_url(self._base_url)

    def voices_endpoint(self, language: str | None) -> str:
        """Where :meth:`list_voices` asks: ``tts/v1/voices`` joined to the base URL as a
        relative path (its own path kept), with the language filter (IW-VOICES-1)."""
        return voices_url(self._base_url, language)

    def synthesize_body(self, text: str, opts: InworldTTSOptions | None = None) -> bytes:
        """The JSON body of one synthesis's ``POST`` (IW-HTTP-1)."""
        return encode_synthesize_request(self.synthesize_request(text, opts))

    def headers(self) -> dict[str, str]:
        """The headers of one request (IW-HTTP-1): the Basic key, ``X-User-Agent`` and a
        fresh ``X-Request-Id``."""
        return {
            "Authorization": self._authorization,
            "X-User-Agent": INWORLD_USER_AGENT,
            "X-Request-Id": str(uuid.uuid4()),
        }

    def synthesize_request(
        self, text: str, opts: InworldTTSOptions | None = None
    ) -> InworldSynthesizeRequest:
        """The body of ``POST /tts/v1/voice:stream`` for ``text`` under ``opts`` (default:
        those in force): ``temperature`` inside ``audioConfig``, optional keys only when set,
        ``timestampTransportStrategy`` always (IW-HTTP-1)."""
        o = opts if opts is not None else self._opts
        return InworldSynthesizeRequest.model_validate(
            {
                "text": text,
                "voiceId": o.voice,
                "modelId": o.model,
                "audioConfig": InworldAudioConfig(
                    audioEncoding=o.encoding,  # type: ignore[arg-type]
                    bitrate=o.bit_rate,
                    sampleRateHertz=o.sample_rate,
                    temperature=o.temperature,
                    speakingRate=o.speaking_rate,
                ),
                "language": o.language,
                "timestampType": o.timestamp_type,
                "applyTextNormalization": o.text_normalization,
                "deliveryMode": o.delivery_mode,
                "timestampTransportStrategy": o.timestamp_transport_strategy,
            }
        )

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> InworldChunkedStream:
        """Synthesize ``text`` over HTTP: iterate the returned stream for its frames. Must be
        called inside a running event loop."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        stream = self.chunked_stream_class(
            self, text, conn_options=_check_conn_options(conn_options)
        )
        self._chunked.add(stream)
        return stream

    def context_config(self, opts: InworldTTSOptions | None = None) -> CreateContextConfig:
        """The ``create`` of a WebSocket context under ``opts`` (default: those in force):
        ``temperature`` top-level, ``SENTENCE_BOUNDARY`` for an inworld-tts-2 model
        (IW-WS-1)."""
        o = opts if opts is not None else self._opts
        return create_context_config(
            voice=o.voice,
            model=o.model,
            encoding=o.encoding,
            sample_rate=o.sample_rate,
            bit_rate=o.bit_rate,
            speaking_rate=o.speaking_rate,
            temperature=o.temperature,
            max_buffer_delay_ms=o.max_buffer_delay_ms,
            timestamp_transport_strategy=o.timestamp_transport_strategy,
            language=o.language,
            timestamp_type=o.timestamp_type,
            text_normalization=o.text_normalization,
            delivery_mode=o.delivery_mode,
            buffer_char_threshold=o.buffer_char_threshold,
            auto_mode_strategy=(
                "SENTENCE_BOUNDARY" if supports_sentence_boundary(o.model) else "CLIENT_SEGMENTED"
            ),
        )

    def stream(
        self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> InworldSynthesizeStream:
        """Start a streaming synthesis on a WebSocket context (SPEC §5.2): push text into the
        returned stream and iterate it for its frames. Must be called inside a running event
        loop."""
        stream = self.synthesize_stream_class(
            self._stream_pool,
            self.context_config(),
            conn_options=_check_conn_options(conn_options),
            sample_rate=self._opts.sample_rate,
            emit_error=lambda error, recoverable: self._emit_error(
                error, recoverable=recoverable, stream=stream
            ),
            time_scale=self.time_scale,
        )
        self._streams.add(stream)
        return stream

    async def list_voices(self, language: str | None = None) -> list[dict[str, Any]]:
        """The voices of the key's workspace, verbatim (IW-VOICES-1), those speaking
        ``language`` (an ISO 639-1 code) if given. A non-2xx answer raises
        :class:`APIStatusError` with the body's message; a malformed answer
        :class:`APIConnectionError`; no answer within the default timeout
        :class:`APITimeoutError`. Not retried, as upstream."""
        if language is not None and not isinstance(language, str):
            raise TypeError(f"language must be a str or None, got {type(language).__name__}")
        timeout = DEFAULT_API_CONNECT_OPTIONS.timeout
        request_headers = self.headers()
        request_id = request_headers["X-Request-Id"]
        try:
            async with self.ensure_session().get(
                self.voices_endpoint(language),
                headers=request_headers,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as resp:
                if not 200 <= resp.status < 300:
                    body = await _read_at_most(resp, MAX_ERROR_BODY_BYTES)
                    raise inworld_status_error(resp.status, body, request_id)
                body = await _read_at_most(resp, MAX_VOICES_BODY_BYTES + 1)
                if len(body) > MAX_VOICES_BODY_BYTES:
                    raise APIConnectionError(
                        f"Inworld voices: the answer is over {MAX_VOICES_BODY_BYTES} bytes"
                    )
                try:
                    return decode_voices_response(body)
                except MalformedMessage as exc:
                    raise APIConnectionError(f"Inworld voices: a malformed answer: {exc}") from None
        except APIError:
            raise
        except asyncio.TimeoutError:
            raise APITimeoutError() from None
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            raise APIConnectionError(f"Inworld voices: {type(exc).__name__}: {exc}") from exc

    # -- options -------------------------------------------------------------------------------

    def update_options(
        self,
        *,
        voice: str | None = None,
        model: str | None = None,
        encoding: str | None = None,
        bit_rate: int | None = None,
        sample_rate: int | None = None,
        speaking_rate: float | None = None,
        temperature: float | None = None,
        language: str | None = None,
        timestamp_type: str | None = None,
        text_normalization: str | bool | None = None,
        delivery_mode: str | None = None,
        timestamp_transport_strategy: str | None = None,
        buffer_char_threshold: int | None = None,
        max_buffer_delay_ms: int | None = None,
    ) -> None:
        """Change the options of the syntheses to come; ``None`` leaves one as it is. Checked
        as at construction (``ValueError``); nothing changes if one is invalid."""
        self._apply_options(
            voice=voice,
            model=model,
            encoding=encoding,
            bit_rate=bit_rate,
            sample_rate=sample_rate,
            speaking_rate=speaking_rate,
            temperature=temperature,
            language=language,
            timestamp_type=timestamp_type,
            text_normalization=text_normalization,
            delivery_mode=delivery_mode,
            timestamp_transport_strategy=timestamp_transport_strategy,
            buffer_char_threshold=buffer_char_threshold,
            max_buffer_delay_ms=max_buffer_delay_ms,
        )

    def _apply_options(self, **given: Any) -> None:
        # All checked before any is set, so an invalid one leaves the options untouched.
        checked = {name: _CHECKS[name](value) for name, value in given.items() if value is not None}
        for name, value in checked.items():
            setattr(self._opts, name, value)

    # -- the session and the end ---------------------------------------------------------------

    def ensure_session(self) -> aiohttp.ClientSession:
        """The HTTP session: the one given, else the client's own (opened on first use, inside
        the running loop)."""
        if self._session is None or (self._owns_session and self._session.closed):
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    async def aclose(self) -> None:
        """Close every synthesis still open, then the client's own session (a given one is
        left open)."""
        for stream in list(self._chunked):
            await stream.aclose()
        self._chunked.clear()
        for context_stream in list(self._streams):
            await context_stream.aclose()
        self._streams.clear()
        await self._stream_pool.aclose()
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None
            self._owns_session = False

    def _emit_error(self, error: Exception, *, recoverable: bool, stream: object = None) -> None:
        self.emit(
            "error",
            TTSErrorEvent(error=error, recoverable=recoverable, label=self.label, stream=stream),
        )


async def _read_at_most(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """At most ``limit`` bytes of ``resp``'s body (all of it if shorter): a hostile answer
    cannot make the client buffer more."""
    data = bytearray()
    while len(data) < limit:
        piece = await resp.content.read(limit - len(data))
        if not piece:
            break
        data += piece
    return bytes(data)


def inworld_status_error(status: int, body: bytes, request_id: str | None) -> APIStatusError:
    """The :class:`APIStatusError` of a non-2xx answer: its message is the body's
    ``error.message`` (voicewire's SRV-5 body) or top-level ``message`` (Inworld's, which
    upstream reads), else the body's text."""
    message = f"Inworld answered {status}"
    decoded: object = body[:MAX_ERROR_BODY_BYTES].decode("utf-8", "replace")
    with contextlib.suppress(ValueError):
        decoded = json.loads(body)
    if isinstance(decoded, dict):
        error = decoded.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            message = error["message"]
        elif isinstance(decoded.get("message"), str):
            message = decoded["message"]
    elif isinstance(decoded, str) and decoded.strip():
        message = decoded.strip()[:200]
    return APIStatusError(message, status_code=status, request_id=request_id, body=decoded)


# -- one synthesis -----------------------------------------------------------------------------


class InworldChunkedStream(EventStream[SynthesizedAudio]):
    """The frames of one text synthesized over HTTP (``InworldTTS.synthesize``).

    Each attempt is one ``POST``; a failed attempt is retried while no audio was emitted
    (TTS-RETRY-1, §2.4's limits and waits); after audio, or once the attempts are used up,
    iteration ends with the error (an ``APIError``). ``aligned_transcripts`` holds the timed
    text of the successful attempt (of the failed ones too, as it arrived).
    """

    def __init__(self, tts: InworldTTS, text: str, *, conn_options: APIConnectOptions) -> None:
        self._tts = tts
        self.input_text = text
        self._conn_options = conn_options
        self._opts = tts.options
        self._attempts = 0
        self._audio_emitted = False
        self._request_id = ""
        self.skipped_lines: list[InworldSkippedLine] = []
        """The lines skipped (blank or unparseable), as upstream skips them with a warning."""
        self.aligned_transcripts: list[AlignedTranscript] = []
        """The timed text of ``result.timestampInfo``, in arrival order."""
        self._start()

    @property
    def attempts(self) -> int:
        """How many requests the synthesis made so far."""
        return self._attempts

    @property
    def request_id(self) -> str:
        """The id of the current (or last) attempt, on every frame it emits."""
        return self._request_id

    async def _produce(self) -> None:
        options = self._conn_options
        for attempt in range(options.max_attempts):
            try:
                await self._run_attempt()
                return
            except APIError as error:
                # After audio nothing is retried: a repeat would duplicate it (TTS-RETRY-1).
                retryable = error.retryable and not self._audio_emitted
                retry = retryable and attempt < options.max_retry
                self._tts._emit_error(error, recoverable=retry)
                if retry:
                    await asyncio.sleep(
                        options.interval_for_retry(attempt, time_scale=self._tts.time_scale)
                    )
                    continue
                if options.max_retry > 0 and retryable:
                    raise APIConnectionError(
                        f"failed to synthesize speech after {attempt + 1} attempts",
                        retryable=False,
                    ) from error
                raise
            except Exception as error:
                self._tts._emit_error(error, recoverable=False)
                raise

    async def _run_attempt(self) -> None:
        """One ``POST``: returns after the final frame, raises the attempt's ``APIError``."""
        self._attempts += 1
        self._request_id = uuid.uuid4().hex[:12]
        headers = self._tts.headers()
        x_request_id = headers["X-Request-Id"]
        timeout = self._conn_options.timeout
        reader = self._tts.reader_class()
        frames = _Frames(self._opts.sample_rate, self._request_id)
        body = self._tts.synthesize_body(self.input_text, self._opts)
        try:
            async with self._tts.ensure_session().post(
                self._tts.synthesize_endpoint(),
                data=body,
                headers={**headers, "Content-Type": "application/json"},
                timeout=aiohttp.ClientTimeout(sock_connect=timeout, sock_read=timeout),
            ) as resp:
                if not 200 <= resp.status < 300:
                    body = await _read_at_most(resp, MAX_ERROR_BODY_BYTES)
                    raise inworld_status_error(resp.status, body, x_request_id)
                async for data in resp.content.iter_any():
                    self._handle(reader.feed(data), frames, x_request_id)
                self._handle(reader.end(), frames, x_request_id)
            self._emit_all(frames.finish())
            if not frames.bytes_received and self.input_text.strip():
                # As upstream's base class: text was given, and no audio came.
                raise APIError("no audio frames were pushed for the text", retryable=True)
        except APIError:
            raise
        except RemoteProtocolError as exc:
            raise APIConnectionError(f"Inworld TTS: {exc}", retryable=True) from None
        except asyncio.TimeoutError:
            raise APITimeoutError() from None
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            raise APIConnectionError(f"Inworld TTS: {type(exc).__name__}: {exc}") from exc

    def _handle(
        self, events: list[InworldSynthesisEvent], frames: _Frames, x_request_id: str
    ) -> None:
        for event in events:
            if isinstance(event, InworldSynthesisAudio):
                self._add_timestamps(event)
                self._emit_all(frames.push(event.audio))
            elif isinstance(event, InworldSkippedLine):
                self.skipped_lines.append(event)
            elif isinstance(event, InworldSynthesisFailure):
                raise self._failure(event, x_request_id)

    def _add_timestamps(self, event: InworldSynthesisAudio) -> None:
        # Each alignment kept apart with its granularity, as the LiveKit client's.
        info = event.timestamp_info
        if info is None:
            return
        if info.wordAlignment is not None:
            words = timed_strings(InworldTimestampInfo(wordAlignment=info.wordAlignment))
            if words:
                self.aligned_transcripts.append(AlignedTranscript("", "words", words))
        if info.characterAlignment is not None:
            chars = timed_strings(InworldTimestampInfo(characterAlignment=info.characterAlignment))
            if chars:
                self.aligned_transcripts.append(AlignedTranscript("", "chars", chars))

    def _failure(self, event: InworldSynthesisFailure, x_request_id: str) -> APIStatusError:
        """An ``error`` line as the error of IW-HTTP-2: ``APIStatusError`` with its code."""
        code = event.code if event.code is not None else -1
        return APIStatusError(
            event.message or f"Inworld error {code}",
            status_code=code,
            request_id=x_request_id,
            body={"code": event.code, "message": event.message},
        )

    def _emit_all(self, audio: list[SynthesizedAudio]) -> None:
        for item in audio:
            if item.frame.samples_per_channel:
                self._audio_emitted = True
            self._push(item)


class _Frames:
    """PCM bytes in, 100 ms frames out, the last one held back until it is known to be the
    final (as the LiveKit assembler's)."""

    def __init__(self, sample_rate: int, request_id: str) -> None:
        self._bytes = AudioByteStream(
            sample_rate, NUM_CHANNELS, max(1, round(sample_rate * DEFAULT_TTS_FRAME_DURATION))
        )
        self._sample_rate = sample_rate
        self._request_id = request_id
        self._held: AudioFrame | None = None
        self.bytes_received = 0

    def push(self, pcm: bytes) -> list[SynthesizedAudio]:
        self.bytes_received += len(pcm)
        out = []
        for frame in self._bytes.push(pcm):
            if self._held is not None:
                out.append(self._emit(self._held, is_final=False))
            self._held = frame
        return out

    def finish(self) -> list[SynthesizedAudio]:
        try:
            rest = self._bytes.flush()
        except ValueError as exc:
            raise RemoteProtocolError(
                "IW-HTTP-2", f"the audio ends inside a sample: {exc}"
            ) from None
        frames = [*([self._held] if self._held is not None else []), *rest]
        if not frames:
            frames = [AudioFrame(b"", sample_rate=self._sample_rate)]
        self._held = None
        last = len(frames) - 1
        return [self._emit(f, is_final=i == last) for i, f in enumerate(frames)]

    def _emit(self, frame: AudioFrame, *, is_final: bool) -> SynthesizedAudio:
        return SynthesizedAudio(
            frame=frame, request_id=self._request_id, segment_id="", is_final=is_final
        )


InworldTTS.chunked_stream_class = InworldChunkedStream
