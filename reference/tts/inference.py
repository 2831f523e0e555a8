"""The reference LiveKit inference TTS client (SPEC §4): ``TTS``, ``SynthesizeStream`` and
``ChunkedStream``.

The ``websockets`` library only moves frames and time (the simulator is aiohttp, so the two
stacks check each other). Every protocol decision is the sans-IO wire module's
(:mod:`voicewire.reference.tts.wire`): a
:class:`~voicewire.reference.tts.wire.TTSClientConnection` per socket builds what the client
sends (``session.create`` once per connection, TTS-C-1; ``input_transcript`` per sentence,
TTS-C-2; one ``session.flush`` per synthesis, TTS-C-3) and judges what the server sends; its
:class:`~voicewire.reference.tts.wire.SynthesisAssembler` cuts the audio into frames and turns
an ``error``, a close or a timeout into the error of TTS-OUT-2. Sentences are cut by
:class:`~voicewire.reference.tts.sentences.SentenceSplitter` (TTS-C-2). This module adds what
only an IO shell can do: the connection pool, the socket, the timers, the retry loop and the
error events.

Names and semantics mirror ``livekit.agents.inference.TTS``. The pool is upstream's
``ConnectionPool(max_session_duration=300, mark_refreshed_on_get=True)``: an idle socket is
reused while no more than 300 s passed since it was last handed out, one synthesis holds it at
a time, a socket whose synthesis failed (or was cancelled) is closed rather than put back, and
nothing checks a pooled socket's liveness: a dead one fails the attempt and the retry connects
anew. ``aclose()`` closes every socket (close 1000).

Where this client decides differently from upstream 1.8.9, it follows SPEC.md:

- a binary, non-JSON or wrongly typed server message ends the attempt with an
  ``APIConnectionError`` (CLI-ROB-1; upstream logs a binary frame and crashes on bad JSON
  with a ``JSONDecodeError`` or on a missing key with a ``KeyError``);
- ``output_audio`` or ``done`` without ``session_id`` is such a protocol error too (upstream
  crashes with a ``RuntimeError``, wire-capture §9.1);
- ``session.closed`` in a synthesis fails it like a close (upstream ignores it and waits);
- a failure is retried only while no audio was emitted, replaying every sentence pushed so
  far (TTS-RETRY-1, as upstream HEAD after #5242);
- every send and the closing handshake are bounded by ``conn_options.timeout``.

Events, on the ``TTS`` object (``tts.on("error", fn)``): ``error``, a :class:`TTSErrorEvent`
``{error, recoverable, label}`` for every failed attempt (``recoverable``: another follows).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from voicewire.reference.auth import InferenceCredentials, create_access_token
from voicewire.reference.emitter import EventEmitter
from voicewire.reference.errors import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectionError,
    APIConnectOptions,
    APIError,
)
from voicewire.reference.event_stream import EventStream
from voicewire.reference.gateway_socket import gateway_url, open_gateway_socket, send_within
from voicewire.reference.tts.sentences import SentenceSplitter
from voicewire.reference.tts.wire import (
    DEFAULT_TTS_SAMPLE_RATE,
    TTS_MAX_IDLE,
    AlignedTranscript,
    ConnectionSettings,
    GenerationConfig,
    InputTranscript,
    LocalProtocolError,
    RemoteProtocolError,
    SynthesisFailure,
    SynthesizedAudio,
    TTSClientConnection,
    TTSConnectionState,
    TTSFallbackModel,
    TTSSessionCreate,
    tts_session_create,
)
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import (
    ConnectionClosed,
)

__all__ = ["TTS", "ChunkedStream", "SynthesizeStream", "TTSErrorEvent", "tts_url"]

_SERVICE = "LiveKit Inference TTS"
"""How errors name the service."""

TTSEvent = Literal["error"]

ENCODING = "pcm_s16le"
"""The only encoding of the protocol (TTS-C-1)."""

NORMAL_CLOSURE = 1000

MAX_MESSAGE_SIZE = 1 << 22
"""The largest server message read (bytes). An ``output_audio`` of 100 ms at 24 kHz is under
7 kB of base64; a bigger frame than this fails the connection (close 1009), which the stream
reports as an ``APIConnectionError``."""

FallbackModelLike: TypeAlias = str | TTSFallbackModel | Mapping[str, Any]
"""A fallback model: ``"provider/model[:voice]"``, a :class:`TTSFallbackModel`, or upstream's
``FallbackModel`` dict ``{"model", "voice", "extra_kwargs"?}``."""


@dataclass(frozen=True)
class TTSErrorEvent:
    """One failed attempt of a synthesis. ``recoverable``: another attempt follows
    (TTS-RETRY-1, as RETRY-5)."""

    error: APIError | Exception
    recoverable: bool
    label: str
    stream: object = None
    """The stream whose attempt failed, when the TTS runs several at once (Inworld's
    contexts); None when it is the only one."""


def tts_url(base_url: str, model: str) -> str:
    """The WebSocket URL of the pool's sockets (SPEC §4): ``/tts`` under ``base_url`` made a
    WebSocket URL, ``?model=<model>`` (see
    :func:`~voicewire.reference.gateway_socket.gateway_url`)."""
    return gateway_url(base_url, "tts", model)


def _split_model(model: str) -> tuple[str, str | None]:
    """``"provider/model:voice"`` → model and voice, as upstream's ``_parse_model_string``
    (the last ``:`` separates them)."""
    index = model.rfind(":")
    if index == -1:
        return model, None
    return model[:index], model[index + 1 :]


def _fallback_model(entry: object) -> TTSFallbackModel:
    if isinstance(entry, TTSFallbackModel):
        return entry
    if isinstance(entry, str) and entry:
        model, voice = _split_model(entry)
        # Upstream writes "" for a fallback string without a voice.
        return TTSFallbackModel(model=model, voice=voice or "")
    if isinstance(entry, Mapping) and isinstance(entry.get("model"), str):
        extra = entry.get("extra_kwargs", entry.get("extra"))
        voice = entry.get("voice")
        if voice is not None and not isinstance(voice, str):
            raise TypeError(f"a fallback model's voice must be a str, got {voice!r}")
        return TTSFallbackModel(model=entry["model"], voice=voice, extra=dict(extra or {}))
    raise TypeError(
        "a fallback model is a model name, a TTSFallbackModel or a mapping with a 'model' "
        f"string, got {entry!r}"
    )


class TTS(EventEmitter[TTSEvent]):
    """A LiveKit inference text-to-speech model over pooled WebSockets (SPEC §4).

    ``model`` is ``"provider/model"``, optionally with ``":voice"`` (which sets ``voice``
    unless given, as upstream). Credentials and base URL follow AUTH-5 (arguments, then
    ``LIVEKIT_INFERENCE_API_KEY``/``LIVEKIT_API_KEY``, ``…_API_SECRET`` and
    ``LIVEKIT_INFERENCE_URL``/``LIVEKIT_URL``; a missing key or secret raises ``ValueError``).
    ``sample_rate`` (default 24000) and ``encoding`` (only ``"pcm_s16le"``) go into
    ``session.create``; ``extra_kwargs`` goes to ``extra`` of ``session.create`` and of every
    ``input_transcript``; ``fallback`` lists models the gateway may switch to.
    ``conn_options`` is sent as ``connection {timeout, retries}`` as upstream sends its
    constructor's options; a stream's retry loop follows :meth:`stream`'s ``conn_options``.

    Beyond upstream's arguments:

    - ``time_scale`` multiplies the waits between attempts (§2.4), so tests and the harness
      run them quickly; a finite number > 0.
    - ``clock`` (default: the event loop's ``time``) is the clock of the pool's 300 s idle
      limit, so a test can age a pooled socket without waiting.
    - ``label`` names the model in error events.
    """

    # The classes a TTS is made of; a variant (a mutant of the zoo) swaps one.
    stream_class: type[SynthesizeStream]
    """The stream :meth:`stream` returns (set below, once SynthesizeStream exists)."""
    connection_class: type[TTSClientConnection] = TTSClientConnection
    """The wire connection of every pooled socket."""

    def __init__(
        self,
        model: str,
        *,
        voice: str | None = None,
        language: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        api_secret: str | None = None,
        sample_rate: int = DEFAULT_TTS_SAMPLE_RATE,
        encoding: str = ENCODING,
        extra_kwargs: Mapping[str, Any] | None = None,
        fallback: FallbackModelLike | Sequence[FallbackModelLike] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        time_scale: float = 1.0,
        clock: Callable[[], float] | None = None,
        label: str | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(model, str) or not model:
            raise ValueError(f"model must be a non-empty string, got {model!r}")
        for name, value in (("voice", voice), ("language", language)):
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name} must be a str or None, got {type(value).__name__}")
        if encoding != ENCODING:
            raise ValueError(f"encoding must be {ENCODING!r}, got {encoding!r}")
        if extra_kwargs is not None and not isinstance(extra_kwargs, Mapping):
            raise TypeError(f"extra_kwargs must be a mapping, got {type(extra_kwargs).__name__}")
        _check_conn_options(conn_options)
        if isinstance(time_scale, bool) or not isinstance(time_scale, (int, float)):
            raise TypeError(f"time_scale must be a number, got {type(time_scale).__name__}")
        if not (math.isfinite(time_scale) and time_scale > 0):
            raise ValueError(f"time_scale must be a finite number > 0, got {time_scale!r}")
        if clock is not None and not callable(clock):
            raise TypeError("clock must be a callable returning seconds")
        if fallback is None:
            entries: Sequence[FallbackModelLike] = ()
        elif isinstance(fallback, (str, TTSFallbackModel, Mapping)):
            entries = (fallback,)
        else:
            entries = fallback
        self._credentials = InferenceCredentials.resolve(api_key, api_secret, base_url)
        parsed_model, parsed_voice = _split_model(model)
        self.model = parsed_model
        self.voice = voice if voice is not None else parsed_voice
        self.language = language or None
        self.extra_kwargs: dict[str, Any] = dict(extra_kwargs or {})
        self.fallback: tuple[TTSFallbackModel, ...] = tuple(_fallback_model(e) for e in entries)
        self.conn_options = conn_options
        self.time_scale = float(time_scale)
        self.label = label or f"inference.TTS({parsed_model})"
        # Checks sample_rate (an int in 1..999999) once, here, rather than at the first connect.
        self._sample_rate = tts_session_create(sample_rate=sample_rate).sample_rate_hz
        self._clock = clock
        self._pool = _ConnectionPool(self)
        self._streams: weakref.WeakSet[SynthesizeStream] = weakref.WeakSet()

    @property
    def base_url(self) -> str:
        """The resolved base URL (AUTH-5)."""
        return self._credentials.base_url

    @property
    def sample_rate(self) -> int:
        """The rate of the synthesized audio, in Hz."""
        return self._sample_rate

    @property
    def num_channels(self) -> int:
        """Always 1: the protocol's audio is mono."""
        return 1

    @property
    def url(self) -> str:
        """The WebSocket URL of every pooled socket (see :func:`tts_url`)."""
        return tts_url(self.base_url, self.model)

    @property
    def pool_size(self) -> int:
        """How many sockets the pool holds open (idle or in use)."""
        return self._pool.size

    def now(self) -> float:
        """The time on the pool's clock, in seconds."""
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def access_token(self) -> str:
        """A fresh inference token, minted per connect (AUTH-1..3)."""
        return create_access_token(self._credentials.api_key, self._credentials.api_secret)

    def session_create(self) -> TTSSessionCreate:
        """The ``session.create`` a new socket opens with (TTS-C-1)."""
        return tts_session_create(
            sample_rate=self._sample_rate,
            voice=self.voice,
            model=self.model,
            language=self.language,
            extra=self.extra_kwargs,
            connection=ConnectionSettings(
                timeout=self.conn_options.timeout, retries=self.conn_options.max_retry
            ),
            fallback=self.fallback,
        )

    def input_transcript(self, transcript: str) -> InputTranscript:
        """The ``input_transcript`` for one splitter transcript (its trailing space already
        there), with the options in force (TTS-C-2)."""
        return InputTranscript(
            transcript=transcript,
            generation_config=GenerationConfig(
                voice=self.voice or None, model=self.model or None, language=self.language
            ),
            extra=dict(self.extra_kwargs),
        )

    def stream(
        self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> SynthesizeStream:
        """Start a streaming synthesis: push text into the returned stream and iterate it for
        :class:`SynthesizedAudio` frames. Must be called inside a running event loop."""
        _check_conn_options(conn_options)
        stream = self.stream_class(self, conn_options=conn_options)
        self._streams.add(stream)
        return stream

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> ChunkedStream:
        """Synthesize ``text`` at once: iterate the returned stream for its frames. It runs one
        streaming synthesis, as upstream's ``_ChunkedStreamFromStream``."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        _check_conn_options(conn_options)
        return ChunkedStream(self, text, conn_options=conn_options)

    def update_options(
        self,
        *,
        voice: str | None = None,
        model: str | None = None,
        language: str | None = None,
        extra_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        """Change the options of the sentences to come (``generation_config`` and ``extra``
        of every ``input_transcript``, as upstream); ``extra_kwargs`` is merged into the
        current. A pooled socket keeps its ``session.create``."""
        for name, value in (("voice", voice), ("model", model), ("language", language)):
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"{name} must be a non-empty string or None, got {value!r}")
        if extra_kwargs is not None and not isinstance(extra_kwargs, Mapping):
            raise TypeError(f"extra_kwargs must be a mapping, got {type(extra_kwargs).__name__}")
        if model is not None:
            self.model = model
        if voice is not None:
            self.voice = voice
        if language is not None:
            self.language = language
        if extra_kwargs is not None:
            self.extra_kwargs.update(extra_kwargs)

    def prewarm(self) -> None:
        """Open one pooled socket in the background, so the first synthesis need not wait
        for the upgrade; a failure is only reported as an ``error`` event (not recoverable:
        nothing retries it). Must be called inside a running event loop."""
        self._pool.prewarm()

    async def aclose(self) -> None:
        """Close every stream still open, then every pooled socket (close 1000)."""
        for stream in list(self._streams):
            await stream.aclose()
        self._streams.clear()
        await self._pool.aclose()

    def _emit_error(self, error: Exception, *, recoverable: bool) -> None:
        self.emit("error", TTSErrorEvent(error=error, recoverable=recoverable, label=self.label))


def _check_conn_options(conn_options: object) -> None:
    if not isinstance(conn_options, APIConnectOptions):
        raise TypeError(
            f"conn_options must be APIConnectOptions, got {type(conn_options).__name__}"
        )


# -- the connection pool -----------------------------------------------------------------------


@dataclass(eq=False)  # identity: each is one socket
class _PooledSocket:
    """One pooled socket: its connection state machine, and when the pool last handed it out
    (upstream's ``mark_refreshed_on_get`` timestamp)."""

    ws: ClientConnection
    connection: TTSClientConnection
    acquired_at: float


class _ConnectionPool:
    """Upstream's ``ConnectionPool(max_session_duration=300, mark_refreshed_on_get=True)``:
    :meth:`acquire` hands out an idle socket handed out no more than :data:`TTS_MAX_IDLE`
    seconds ago, or connects a new one (the lock covers the connect, as upstream's, so
    concurrent acquires connect one at a time); :meth:`release` puts a socket whose synthesis
    finished back, :meth:`discard` closes one whose synthesis failed. No liveness check."""

    def __init__(self, tts: TTS) -> None:
        self._tts = tts
        self._idle: list[_PooledSocket] = []
        self._open: set[_PooledSocket] = set()
        self._lock = asyncio.Lock()
        self._prewarm: asyncio.Task[None] | None = None
        self._closed = False
        self.reused = 0
        """How many acquires reused a pooled socket."""

    @property
    def size(self) -> int:
        return len(self._open)

    async def acquire(self, timeout: float) -> _PooledSocket:
        async with self._lock:
            if self._closed:
                raise APIConnectionError("the TTS is closed", retryable=False)
            while self._idle:
                pooled = self._idle.pop()
                now = self._tts.now()
                if (
                    pooled.connection.state is TTSConnectionState.IDLE
                    and now - pooled.acquired_at <= TTS_MAX_IDLE
                ):
                    pooled.acquired_at = now
                    self.reused += 1
                    return pooled
                await self._close(pooled)
            return await self._connect(timeout)

    def release(self, pooled: _PooledSocket) -> None:
        if self._closed or pooled.connection.state is not TTSConnectionState.IDLE:
            self._close_later(pooled)
            return
        self._idle.append(pooled)

    async def discard(self, pooled: _PooledSocket) -> None:
        pooled.connection.abandon()
        await self._close(pooled)

    def prewarm(self) -> None:
        if self._prewarm is not None or self._closed or self._open:
            return

        async def warm() -> None:
            try:
                pooled = await self.acquire(self._tts.conn_options.timeout)
            except APIError as error:
                self._tts._emit_error(error, recoverable=False)
                return
            self.release(pooled)

        self._prewarm = asyncio.get_running_loop().create_task(warm())

    async def aclose(self) -> None:
        self._closed = True
        if self._prewarm is not None:
            self._prewarm.cancel()
            with contextlib.suppress(BaseException):
                await self._prewarm
        self._idle.clear()
        for pooled in list(self._open):
            await self._close(pooled)

    async def _connect(self, timeout: float) -> _PooledSocket:
        """A new socket with its ``session.create`` sent at once, without waiting for a
        reply (TTS-C-1)."""
        ws = await open_gateway_socket(
            self._tts.url,
            self._tts.access_token(),
            service=_SERVICE,
            timeout=timeout,
            max_size=MAX_MESSAGE_SIZE,
        )
        connection = self._tts.connection_class(self._tts.session_create(), clock=self._tts.now)
        pooled = _PooledSocket(ws, connection, self._tts.now())
        self._open.add(pooled)
        try:
            await send_within(ws, connection.create(), timeout, service=_SERVICE)
        except (APIError, ConnectionClosed, OSError) as exc:
            await self._close(pooled)
            raise APIConnectionError(
                f"failed to send session.create to LiveKit Inference TTS: {exc}"
            ) from exc
        except BaseException:
            await self._close(pooled)
            raise
        return pooled

    async def _close(self, pooled: _PooledSocket) -> None:
        self._open.discard(pooled)
        ws = pooled.ws
        # Bounded by close_timeout; websockets drops the TCP connection when it runs out.
        closing = asyncio.get_running_loop().create_task(ws.close(NORMAL_CLOSURE))
        # What the server still sends (the rest of a failed synthesis's audio) is read and
        # dropped meanwhile: websockets stops reading once 16 frames wait unread, and would
        # then not see the server's close frame until close_timeout ran out.
        with contextlib.suppress(Exception):
            while True:
                await ws.recv(decode=False)
        with contextlib.suppress(Exception):
            await closing

    def _close_later(self, pooled: _PooledSocket) -> None:
        self._open.discard(pooled)
        task = asyncio.get_running_loop().create_task(self._close(pooled))
        _BACKGROUND.add(task)
        task.add_done_callback(_BACKGROUND.discard)


# Closes started where nothing can await them; held so they are not collected mid-way.
_BACKGROUND: set[asyncio.Task[None]] = set()


# -- the streams -------------------------------------------------------------------------------


class SynthesizeStream(EventStream[SynthesizedAudio]):
    """One streaming synthesis: push text in, iterate :class:`SynthesizedAudio` frames out
    (SPEC §4).

    ``push_text`` takes text in pieces of any size; ``flush`` sends the pending sentences now
    (the synthesis goes on); ``end_input`` ends the input: the last sentences go out, then
    the synthesis's one ``session.flush`` (TTS-C-3). Iteration ends after the frame marked
    final. ``aclose`` stops everything; the socket is then closed, not reused.

    A failed attempt is retried on a new socket while no audio was emitted, replaying every
    sentence pushed so far (TTS-RETRY-1, §2.4's limits and waits); after audio, or once the
    attempts are used up, the stream ends with the error (an ``APIError``).
    """

    splitter_class: type[SentenceSplitter] = SentenceSplitter
    """The sentence splitter of the stream's input (a variant may swap it)."""

    def __init__(self, tts: TTS, *, conn_options: APIConnectOptions) -> None:
        self._tts = tts
        self._conn_options = conn_options
        self._splitter = self.splitter_class.for_model(tts.model)
        self._transcripts: list[str] = []
        self._input_ended = False
        self._closed = False
        self._wake = asyncio.Event()
        self._attempts = 0
        self._audio_emitted = False
        self._request_id = ""
        self.aligned_transcripts: list[AlignedTranscript] = []
        """The timed transcripts of the synthesis (TTS-S-2), in arrival order."""
        self._start()

    @property
    def attempts(self) -> int:
        """How many attempts (sockets acquired, or tried) this stream has made so far."""
        return self._attempts

    @property
    def request_id(self) -> str:
        """The id of the current (or last) attempt, on every frame it emits."""
        return self._request_id

    @property
    def transcripts(self) -> tuple[str, ...]:
        """The ``input_transcript`` texts the input made so far (what a retry replays)."""
        return tuple(self._transcripts)

    # -- input ---------------------------------------------------------------------------------

    def push_text(self, text: str) -> None:
        """Push text; complete sentences go out as they are known (TTS-C-2). Raises
        ``RuntimeError`` after :meth:`end_input` or :meth:`aclose`."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        self._check_input_open()
        self._add(self._splitter.push(text))

    def flush(self) -> None:
        """Send the pending text now, as one transcript up to the provider's cap; no
        ``session.flush`` (that ends the synthesis, :meth:`end_input`)."""
        self._check_input_open()
        self._add(self._splitter.flush())

    def end_input(self) -> None:
        """No more text: the pending text goes out, then ``session.flush``, once (TTS-C-3).
        A second call does nothing."""
        if self._closed:
            raise RuntimeError("the stream is closed")
        if self._input_ended:
            return
        self._add(self._splitter.end_input())
        self._input_ended = True
        self._wake.set()

    async def aclose(self) -> None:
        """Stop the synthesis: its socket is closed, not reused; iteration then ends. Safe to
        call more than once."""
        self._closed = True
        await super().aclose()

    def _check_input_open(self) -> None:
        if self._closed:
            raise RuntimeError("the stream is closed")
        if self._input_ended:
            raise RuntimeError("the input has ended: end_input() was called")

    def _add(self, transcripts: list[str]) -> None:
        if transcripts:
            self._transcripts.extend(transcripts)
            self._wake.set()

    # -- the retry loop (TTS-RETRY-1, §2.4) ----------------------------------------------------

    async def _produce(self) -> None:
        options = self._conn_options
        for attempt in range(options.max_attempts):
            try:
                await self._run_attempt()
                return
            except APIError as error:
                # After audio nothing is retried: a replay would duplicate it (TTS-RETRY-1).
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

    # -- one attempt ---------------------------------------------------------------------------

    async def _run_attempt(self) -> None:
        """One synthesis on one pooled socket: returns after the final frame (the socket goes
        back to the pool), raises the attempt's ``APIError`` otherwise (the socket is
        closed)."""
        self._attempts += 1
        self._request_id = f"tts_{uuid.uuid4().hex[:12]}"
        timeout = self._conn_options.timeout
        pooled = await self._tts._pool.acquire(timeout)
        loop = asyncio.get_running_loop()
        finished = False
        try:
            try:
                pooled.connection.start_synthesis(request_id=self._request_id)
            except LocalProtocolError as exc:  # not IDLE: the pool never hands one out
                raise APIConnectionError(f"a pooled TTS connection was not idle: {exc}") from exc
            first_sent = asyncio.Event()
            sender = loop.create_task(self._send_loop(pooled, first_sent))
            receiver = loop.create_task(self._receive_loop(pooled, first_sent))
            try:
                done, _ = await asyncio.wait(
                    {sender, receiver}, return_when=asyncio.FIRST_COMPLETED
                )
                if receiver not in done:
                    sender.result()  # a failed send; a clean end leaves the receiver to finish
                await receiver
            finally:
                for task in (sender, receiver):
                    task.cancel()
                for task in (sender, receiver):
                    with contextlib.suppress(BaseException):
                        await task
            finished = True
        finally:
            if finished:
                self._tts._pool.release(pooled)
            else:
                await self._tts._pool.discard(pooled)

    async def _send_loop(self, pooled: _PooledSocket, first_sent: asyncio.Event) -> None:
        """Every transcript of the input so far (replayed from the first on a retry), then the
        rest as it comes, then ``session.flush`` once the input ended (TTS-C-3)."""
        connection, timeout = pooled.connection, self._conn_options.timeout
        sent = 0
        try:
            while True:
                while sent < len(self._transcripts):
                    frame = connection.send_transcript(
                        self._tts.input_transcript(self._transcripts[sent])
                    )
                    await send_within(pooled.ws, frame, timeout, service=_SERVICE)
                    sent += 1
                    first_sent.set()
                if self._input_ended:
                    await send_within(pooled.ws, connection.flush(), timeout, service=_SERVICE)
                    first_sent.set()
                    return
                self._wake.clear()
                await self._wake.wait()
        except (ConnectionClosed, LocalProtocolError):
            # The socket closed, or the receiver already failed the synthesis: the receiver
            # reports how.
            first_sent.set()

    async def _receive_loop(self, pooled: _PooledSocket, first_sent: asyncio.Event) -> None:
        """Everything the server sends in this synthesis, through the connection: frames out;
        returns after the final frame, raises the attempt's ``APIError`` otherwise."""
        # As upstream, reading starts once something was sent: before that a silent server is
        # not late.
        await first_sent.wait()
        connection, timeout = pooled.connection, self._conn_options.timeout
        while True:
            try:
                async with asyncio.timeout(timeout):
                    frame = await pooled.ws.recv()
            except TimeoutError:
                outputs = connection.timed_out(timeout)
            except ConnectionClosed as exc:
                outputs = self._connection_closed(connection, exc)
            else:
                try:
                    outputs = connection.receive_frame(frame)
                except RemoteProtocolError as exc:
                    # A binary, malformed or out-of-order message (CLI-ROB-1).
                    raise APIConnectionError(
                        f"LiveKit Inference TTS sent {exc}", retryable=not self._audio_emitted
                    ) from exc
            for output in outputs:
                if isinstance(output, SynthesisFailure):
                    raise output.to_exception(request_id=self._request_id)
                if isinstance(output, AlignedTranscript):
                    self.aligned_transcripts.append(output)
                    continue
                if output.frame.samples_per_channel:
                    self._audio_emitted = True
                self._push(output)
                if output.is_final:
                    return

    def _connection_closed(
        self, connection: TTSClientConnection, exc: ConnectionClosed
    ) -> list[Any]:
        sent, rcvd = exc.sent, exc.rcvd
        if sent is not None and sent.code != NORMAL_CLOSURE and not exc.rcvd_then_sent:
            # websockets failed the connection itself: the server broke the WebSocket protocol
            # (invalid UTF-8, a frame over MAX_MESSAGE_SIZE, ...), not a close of the server's.
            # Retryable only before audio, as every failure (TTS-RETRY-1).
            raise APIConnectionError(
                f"LiveKit Inference TTS connection failed: close {sent.code} {sent.reason}",
                retryable=not self._audio_emitted,
            ) from exc
        return connection.receive_close(rcvd.code if rcvd is not None else None)


class ChunkedStream(EventStream[SynthesizedAudio]):
    """The frames of one text synthesized at once (``TTS.synthesize``): one streaming
    synthesis with the whole text and its end, as upstream's ``_ChunkedStreamFromStream``;
    retried as a :class:`SynthesizeStream` is (TTS-RETRY-1)."""

    def __init__(self, tts: TTS, text: str, *, conn_options: APIConnectOptions) -> None:
        self._tts = tts
        self.input_text = text
        self._stream = tts.stream(conn_options=conn_options)
        self._stream.push_text(text)
        self._stream.end_input()
        self._start()

    @property
    def attempts(self) -> int:
        """How many attempts the synthesis made so far."""
        return self._stream.attempts

    async def _produce(self) -> None:
        try:
            async for audio in self._stream:
                self._push(audio)
        finally:
            await self._stream.aclose()


TTS.stream_class = SynthesizeStream
