"""The reference LiveKit inference STT client (SPEC §3): ``STT`` and ``SpeechStream``.

The ``websockets`` library only moves frames and time (the simulator is aiohttp, so the two
stacks check each other). Every protocol decision is the sans-IO wire module's
(:mod:`voicewire.reference.stt.wire`): a
:class:`~voicewire.reference.stt.wire.ClientSession` per connection builds every frame the
client sends (``session.create`` first, exact 50 ms ``input_audio`` frames, ``session.finalize``
once, ``session.update``, ``session.close``), judges every frame and close the server sends,
and holds the STT-C-4 close deadline on the clock this module gives it; its
:class:`~voicewire.reference.stt.wire.SegmentTracker` and
:class:`~voicewire.reference.stt.wire.AudioFramer` outlive the connection, so segments, usage
and held audio carry over a reconnect. This module adds what only an IO shell can do:
resampling what is pushed, the socket, the timers, the retry loop and error mapping.

Names and semantics mirror ``livekit.agents.inference.STT``. Where this client decides
differently from upstream 1.8.9, it follows SPEC.md:

- a stereo frame is mixed down to mono (upstream would send interleaved stereo as mono);
- a binary or malformed frame ends the attempt with an ``APIConnectionError`` (CLI-ROB-1;
  upstream logs a binary frame and crashes on invalid JSON with a ``JSONDecodeError``);
- an ``error`` message is an ``APIStatusError`` retryable unless its code is a 4xx other than
  408/429, before and after input ended alike (STT-END-1);
- a stream makes at most ``max_retry + 1`` connections (STT-RETRY-1 follows §2.4's limits;
  upstream resets its count at every final, so a stream can reconnect forever);
- a second :meth:`SpeechStream.end_input` is a no-op (upstream raises ``RuntimeError``); the
  ``session.finalize`` still goes out once (STT-C-3);
- the upgrade, every send and the closing handshake are bounded by ``conn_options.timeout``
  (upstream bounds only the upgrade), so a server that stops reading cannot hang a stream.

Like upstream, and unlike the wire module's default, the sessions are not strict about
STT-S-2's order: the real gateway may acknowledge ``session.finalize`` with
``session.finalized`` before its trailing transcripts, and upstream (which ignores the
acknowledgement) takes them. ``STT(strict=True)`` holds a server to the order.

Events, on the ``STT`` object (``stt.on("error", fn)``): ``error``, an :class:`STTErrorEvent`
``{error, recoverable, label}`` for every failed attempt (``recoverable``: another follows).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
from voicewire.reference.audio import AudioFrame, Resampler
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
from voicewire.reference.stt.speech import SpeechEvent
from voicewire.reference.stt.wire import (
    ENCODING,
    NORMAL_CLOSURE,
    AudioFramer,
    ClientSession,
    ConnectionSettings,
    FallbackModel,
    RemoteProtocolError,
    SegmentTracker,
    SessionCreate,
    SessionState,
    session_create,
)
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import (
    ConnectionClosed,
)

__all__ = ["STT", "STTErrorEvent", "SpeechStream", "stt_url"]

STTEvent = Literal["error"]

MAX_MESSAGE_SIZE = 1 << 20
"""The largest server message read (bytes). A transcript is a few kilobytes; a bigger frame
fails the connection (close 1009), which the stream reports as an ``APIConnectionError``."""

FallbackModelLike: TypeAlias = str | FallbackModel | Mapping[str, Any]
"""A fallback model: its name, a :class:`FallbackModel`, or ``{"model", "extra_kwargs"?}``
(upstream's ``FallbackModel`` dict; ``"extra"`` is accepted too)."""


@dataclass(frozen=True)
class STTErrorEvent:
    """One failed attempt of a stream. ``recoverable``: another attempt follows
    (STT-RETRY-1, as RETRY-5)."""

    error: APIError | Exception
    recoverable: bool
    label: str


def stt_url(base_url: str, model: str) -> str:
    """The WebSocket URL of a stream (SPEC §3): ``/stt`` under ``base_url`` made a WebSocket
    URL, ``?model=<model>`` (see :func:`~voicewire.reference.gateway_socket.gateway_url`)."""
    return gateway_url(base_url, "stt", model)


def _fallback_model(entry: object) -> FallbackModel:
    if isinstance(entry, FallbackModel):
        return entry
    if isinstance(entry, str) and entry:
        return FallbackModel(model=entry)
    if isinstance(entry, Mapping) and isinstance(entry.get("model"), str):
        extra = entry.get("extra_kwargs", entry.get("extra"))
        return FallbackModel(model=entry["model"], extra=dict(extra) if extra else None)
    raise TypeError(
        "a fallback model is a model name, a FallbackModel or a mapping with a 'model' "
        f"string, got {entry!r}"
    )


def _to_mono(frame: AudioFrame) -> AudioFrame:
    """The channels' mean, rounded half to even: a stereo frame becomes what a listener of
    both channels hears, at the same rate."""
    if frame.num_channels == 1:
        return frame
    summed = frame.data.reshape(-1, frame.num_channels).astype(np.int64).sum(axis=1)
    mono = np.rint(summed / frame.num_channels).astype(np.int16)
    return AudioFrame(mono, sample_rate=frame.sample_rate)


class STT(EventEmitter[STTEvent]):
    """A LiveKit inference speech-to-text model, streamed over a WebSocket (SPEC §3).

    Credentials and base URL follow AUTH-5 (arguments, then environment; a missing key or
    secret raises ``ValueError``). ``model`` ``"auto"`` lets the gateway choose: the query
    says ``model=auto`` and ``session.create`` leaves ``model`` out (STT-C-1). ``sample_rate``
    is the rate audio is sent at (pushed audio is resampled to it); ``encoding`` can only be
    ``"pcm_s16le"``. ``extra_kwargs`` goes to ``settings.extra`` as given (upstream 1.8.9
    adds ``"keyterm": []`` for deepgram models; pass it to reproduce that frame exactly).
    ``fallback`` lists models the gateway may switch to. ``conn_options`` is sent to the
    gateway as ``connection {timeout, retries}``, as upstream sends its constructor's options;
    a stream's own retry loop follows :meth:`stream`'s ``conn_options``.

    Beyond upstream's arguments:

    - ``time_scale`` multiplies every wait of the client: the waits between attempts
      (§2.4) and the STT-C-4 close timers (3 s after the last final, 30 s without one), so
      tests and the harness run them quickly; it must be a finite number > 0.
    - ``strict``: hold the server to STT-S-2's order (no ``session.finalized`` before
      ``session.finalize``, no transcript after ``session.finalized``) and end the attempt
      with an ``APIConnectionError`` when it breaks it. Off by default, as upstream and the
      real gateway need: upstream ignores ``session.finalized`` (an optional acknowledgement)
      and keeps taking transcripts until the close.
    - ``label`` names the model in error events.
    """

    stream_class: type[SpeechStream]
    """The stream :meth:`stream` returns (set below, once SpeechStream exists); a subclass
    may swap it for a variant."""

    def __init__(
        self,
        model: str = "auto",
        *,
        language: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        api_secret: str | None = None,
        sample_rate: int = 16000,
        encoding: str = ENCODING,
        extra_kwargs: Mapping[str, Any] | None = None,
        fallback: FallbackModelLike | Sequence[FallbackModelLike] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        time_scale: float = 1.0,
        strict: bool = False,
        label: str | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(model, str) or not model:
            raise ValueError(f"model must be a non-empty string, got {model!r}")
        if language is not None and not isinstance(language, str):
            raise TypeError(f"language must be a str or None, got {type(language).__name__}")
        if encoding != ENCODING:
            raise ValueError(f"encoding must be {ENCODING!r}, got {encoding!r}")
        if extra_kwargs is not None and not isinstance(extra_kwargs, Mapping):
            raise TypeError(f"extra_kwargs must be a mapping, got {type(extra_kwargs).__name__}")
        if not isinstance(conn_options, APIConnectOptions):
            raise TypeError(
                f"conn_options must be APIConnectOptions, got {type(conn_options).__name__}"
            )
        if isinstance(time_scale, bool) or not isinstance(time_scale, (int, float)):
            raise TypeError(f"time_scale must be a number, got {type(time_scale).__name__}")
        if not (math.isfinite(time_scale) and time_scale > 0):
            raise ValueError(f"time_scale must be a finite number > 0, got {time_scale!r}")
        if fallback is None:
            entries: Sequence[FallbackModelLike] = ()
        elif isinstance(fallback, (str, FallbackModel, Mapping)):
            entries = (fallback,)
        else:
            entries = fallback
        self._credentials = InferenceCredentials.resolve(api_key, api_secret, base_url)
        self.model = model
        self.language = language or None
        self.extra_kwargs: dict[str, Any] = dict(extra_kwargs or {})
        self.fallback: tuple[FallbackModel, ...] = tuple(_fallback_model(e) for e in entries)
        self.conn_options = conn_options
        self.time_scale = float(time_scale)
        self.strict = strict
        self.label = label or f"inference.STT({model})"
        # Checks sample_rate (an int in 1..999999) once, here, rather than at the first stream.
        self._sample_rate = session_create(sample_rate=sample_rate).sample_rate
        self._streams: weakref.WeakSet[SpeechStream] = weakref.WeakSet()

    @property
    def base_url(self) -> str:
        """The resolved base URL (AUTH-5)."""
        return self._credentials.base_url

    @property
    def sample_rate(self) -> int:
        """The rate audio is sent at, in Hz."""
        return self._sample_rate

    @property
    def url(self) -> str:
        """The WebSocket URL of every stream (see :func:`stt_url`)."""
        return stt_url(self.base_url, self.model)

    def access_token(self) -> str:
        """A fresh inference token, minted per connect (AUTH-1..3)."""
        return create_access_token(self._credentials.api_key, self._credentials.api_secret)

    def session_create(self, *, language: str | None = None) -> SessionCreate:
        """The ``session.create`` a new stream opens with (STT-C-1): these options, with
        ``language`` overriding the model's."""
        return session_create(
            sample_rate=self._sample_rate,
            model=self.model,
            language=language or self.language,
            extra=self.extra_kwargs,
            connection=ConnectionSettings(
                timeout=self.conn_options.timeout, retries=self.conn_options.max_retry
            ),
            fallback=self.fallback,
        )

    def stream(
        self,
        *,
        language: str | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> SpeechStream:
        """Start a streaming transcription: push audio into the returned stream and iterate it
        for SpeechEvents. Must be called inside a running event loop."""
        if not isinstance(conn_options, APIConnectOptions):
            raise TypeError(
                f"conn_options must be APIConnectOptions, got {type(conn_options).__name__}"
            )
        if language is not None and not isinstance(language, str):
            raise TypeError(f"language must be a str or None, got {type(language).__name__}")
        stream = self.stream_class(
            self, create=self.session_create(language=language), conn_options=conn_options
        )
        self._streams.add(stream)
        return stream

    def update_options(
        self,
        *,
        model: str | None = None,
        language: str | None = None,
        extra_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        """Change options for the streams to come and for every live stream (STT-C-5, see
        :meth:`SpeechStream.update_options`); ``extra_kwargs`` is merged into the current."""
        if model is not None:
            if not isinstance(model, str) or not model:
                raise ValueError(f"model must be a non-empty string, got {model!r}")
            self.model = model
        if language is not None:
            self.language = language
        if extra_kwargs is not None:
            self.extra_kwargs = {**self.extra_kwargs, **extra_kwargs}
        for stream in list(self._streams):
            stream.update_options(model=model, language=language, extra_kwargs=extra_kwargs)

    async def aclose(self) -> None:
        """Close every stream still open."""
        for stream in list(self._streams):
            await stream.aclose()

    def _emit_error(self, error: Exception, *, recoverable: bool) -> None:
        self.emit("error", STTErrorEvent(error=error, recoverable=recoverable, label=self.label))


# Items of a stream's input, in push order. Audio is bytes: PCM s16le mono at the session rate.
_FLUSH = object()
_END = object()


@dataclass(frozen=True)
class _Update:
    model: str | None
    language: str | None
    extra: Mapping[str, Any] | None


class SpeechStream(EventStream[SpeechEvent]):
    """One streaming transcription: push audio in, iterate SpeechEvents out (SPEC §3).

    ``push_frame`` takes audio at any rate and channel count (mixed down to mono and
    resampled to the model's ``sample_rate``); ``flush`` sends the held remainder as one
    shorter frame; ``end_input`` ends the input (``session.finalize``, STT-C-3);
    ``update_options`` changes options mid-stream (``session.update``, STT-C-5); ``aclose``
    stops everything. Iteration ends when the server closes after the finalize (STT-END-1)
    and raises the stream's error, an ``APIError``, otherwise (CLI-ROB-1). Use it as an async
    context manager, or call :meth:`aclose`.

    The input is one queue for the whole stream: audio pushed while a connection is down goes
    to the next one; what was sent to a failed connection is not sent again (as upstream).
    """

    # The wire objects a stream is made of; a variant (a mutant of the zoo) swaps one.
    session_class: type[ClientSession] = ClientSession
    """The wire session of every connection (a reconnect's session is the previous one's
    :meth:`~voicewire.reference.stt.wire.ClientSession.reconnect`, of the same class)."""
    tracker_class: type[SegmentTracker] = SegmentTracker
    """The segment tracker the stream's sessions share."""
    framer_class: type[AudioFramer] = AudioFramer
    """The audio framer the stream's sessions share."""

    def __init__(self, stt: STT, *, create: SessionCreate, conn_options: APIConnectOptions) -> None:
        loop = asyncio.get_running_loop()
        self._stt = stt
        self._conn_options = conn_options
        self._time_scale = stt.time_scale
        self._loop = loop
        self._request_id = f"stt_request_{uuid.uuid4().hex[:12]}"
        self._sample_rate = create.sample_rate
        # The sessions' clock runs time_scale times faster than the loop's, so the STT-C-4
        # timers (3 s, 30 s on that clock) last time_scale times as long in real time.
        scale = self._time_scale
        self._clock: Callable[[], float] = lambda: loop.time() / scale
        self._session = self.session_class(
            create,
            clock=self._clock,
            tracker=self.tracker_class(
                sample_rate=create.sample_rate,
                language=create.settings.language,
                request_id=self._request_id,
            ),
            framer=self.framer_class(create.sample_rate),
            strict=stt.strict,
        )
        self._pending: collections.deque[object] = collections.deque()
        # Set whenever the sender has something new to look at: input, or (after the input
        # ended) a transcript that moved the close deadline.
        self._wake = asyncio.Event()
        self._resampler: Resampler | None = None
        self._input_ended = False  # end_input() was called
        self._finalize_due = False  # the _END item was taken: every new session finalizes
        self._closed = False
        self._attempts = 0
        self._start()

    # -- state ---------------------------------------------------------------------------------

    @property
    def request_id(self) -> str:
        """The stream's own id, for transcripts whose server sent none (STT-ORD-5)."""
        return self._request_id

    @property
    def sample_rate(self) -> int:
        """The rate audio is sent at, in Hz."""
        return self._sample_rate

    @property
    def attempts(self) -> int:
        """How many connections this stream has opened (or tried to) so far."""
        return self._attempts

    @property
    def session(self) -> ClientSession:
        """The wire session of the current (or last) connection."""
        return self._session

    @property
    def start_time_offset(self) -> float:
        """Seconds added to the server's times: where the current session's time zero lies
        on the stream's timeline (it moves forward at every reconnect, STT-RETRY-1)."""
        return self._session.tracker.offset

    # -- input ---------------------------------------------------------------------------------

    def push_frame(self, frame: AudioFrame) -> None:
        """Push audio: any rate and channel count, mixed down to mono and resampled to
        :attr:`sample_rate` (the resampler holds back a few samples until the next flush).
        Raises ``RuntimeError`` after :meth:`end_input` or :meth:`aclose`."""
        if not isinstance(frame, AudioFrame):
            raise TypeError(f"frame must be an AudioFrame, got {type(frame).__name__}")
        self._check_input_open()
        if frame.samples_per_channel == 0:
            return
        mono = _to_mono(frame)
        if mono.sample_rate == self._sample_rate:
            self._flush_resampler()
            self._put(mono.to_bytes())
            return
        if self._resampler is not None and self._resampler.from_rate != mono.sample_rate:
            self._flush_resampler()
        if self._resampler is None:
            self._resampler = Resampler(mono.sample_rate, self._sample_rate)
        for out in self._resampler.push(mono):
            self._put(out.to_bytes())

    def flush(self) -> None:
        """Send what is held as one shorter ``input_audio`` frame, now (STT-C-2); the stream
        goes on."""
        self._check_input_open()
        self._flush_resampler()
        self._put(_FLUSH)

    def end_input(self) -> None:
        """No more audio: the held remainder goes out, then ``session.finalize``, once
        (STT-C-3). A second call does nothing."""
        if self._closed:
            raise RuntimeError("the stream is closed")
        if self._input_ended:
            return
        self._flush_resampler()
        self._input_ended = True
        self._put(_END)

    def update_options(
        self,
        *,
        model: str | None = None,
        language: str | None = None,
        extra_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        """Change options mid-stream (STT-C-5): a ``session.update`` with what changes goes
        out after the audio already pushed, and every later connection opens with the new
        options. A new ``language`` is also the default of the transcripts that follow
        (STT-ORD-5). Nothing given, or a closed stream: nothing happens."""
        # Checked here: a wrong type must fail the caller, not the stream's sender later.
        for name, value in (("model", model), ("language", language)):
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"{name} must be a non-empty string or None, got {value!r}")
        if extra_kwargs is not None and not isinstance(extra_kwargs, Mapping):
            raise TypeError(f"extra_kwargs must be a mapping, got {type(extra_kwargs).__name__}")
        if (model is None and language is None and extra_kwargs is None) or self._closed:
            return
        self._put(
            _Update(model, language, dict(extra_kwargs) if extra_kwargs is not None else None)
        )

    def _check_input_open(self) -> None:
        if self._closed:
            raise RuntimeError("the stream is closed")
        if self._input_ended:
            raise RuntimeError("the input has ended: end_input() was called")

    def _flush_resampler(self) -> None:
        if self._resampler is not None:
            for out in self._resampler.flush():
                self._put(out.to_bytes())
            self._resampler = None

    def _put(self, item: object) -> None:
        if self._task.done():
            return  # nobody will send it
        self._pending.append(item)
        self._wake.set()

    # -- output --------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Stop the stream: the connection is closed (close 1000) and nothing is left
        running; iteration then ends. Safe to call more than once."""
        self._closed = True
        await super().aclose()

    # -- the retry loop (STT-RETRY-1, §2.4) ----------------------------------------------------

    async def _produce(self) -> None:
        options = self._conn_options
        for attempt in range(options.max_attempts):
            if attempt:
                # A new session continues the stream: same framer (held audio) and tracker
                # (open segment, usage), with the tracker's offset moved forward.
                self._session = self._session.reconnect()
            try:
                await self._run_attempt(self._session)
                return
            except APIError as error:
                retry = error.retryable and attempt < options.max_retry
                self._stt._emit_error(error, recoverable=retry)
                if retry:
                    await asyncio.sleep(
                        options.interval_for_retry(attempt, time_scale=self._time_scale)
                    )
                    continue
                if options.max_retry > 0 and error.retryable:
                    raise APIConnectionError(
                        f"failed to recognize speech after {attempt + 1} attempts",
                        retryable=False,
                    ) from error
                raise
            except Exception as error:
                self._stt._emit_error(error, recoverable=False)
                raise

    # -- one connection ------------------------------------------------------------------------

    async def _run_attempt(self, session: ClientSession) -> None:
        """One connection, from the upgrade to its end: returns when the stream ended cleanly
        (STT-END-1), raises the attempt's ``APIError`` otherwise."""
        self._attempts += 1
        ws = await self._connect()
        sender = self._loop.create_task(self._send_loop(ws, session))
        receiver = self._loop.create_task(self._receive_loop(ws, session))
        try:
            done, _ = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if receiver not in done:
                # The sender stopped first: either it failed (raise that), or it closed the
                # socket itself (STT-C-4) or saw it closed, and the receiver reports the end.
                sender.result()
            await receiver
        finally:
            for task in (sender, receiver):
                task.cancel()
            for task in (sender, receiver):
                with contextlib.suppress(BaseException):
                    await task
            await self._close_socket(ws)

    async def _connect(self) -> ClientConnection:
        """The upgrade, with a fresh token (AUTH-3), within ``timeout`` (RETRY-1's mapping)."""
        return await open_gateway_socket(
            self._stt.url,
            self._stt.access_token(),
            service="STT",
            timeout=self._conn_options.timeout,
            max_size=MAX_MESSAGE_SIZE,
        )

    async def _send(self, ws: ClientConnection, frame: str) -> None:
        """Send one frame within ``timeout`` (CLI-ROB-1)."""
        await send_within(ws, frame, self._conn_options.timeout, service="STT")

    async def _send_loop(self, ws: ClientConnection, session: ClientSession) -> None:
        """Everything the client sends on one connection, in order: ``session.create`` at
        once (STT-C-1), the input as it comes, and the close when STT-C-4's deadline passes.
        Returns when the socket closed under it (the receiver reports how)."""
        try:
            await self._send(ws, session.create())
            if self._finalize_due:
                # Input had ended on an earlier connection: this session finalizes at once.
                for frame in session.end_input():
                    await self._send(ws, frame)
            while True:
                while self._pending:
                    item = self._pending[0]
                    if not isinstance(item, _Update) and session.state is not SessionState.OPEN:
                        return  # the session is over: the item waits for the next one
                    self._pending.popleft()
                    for frame in self._frames_for(session, item):
                        await self._send(ws, frame)
                timeout: float | None = None
                if session.input_ended:
                    deadline = session.close_deadline
                    if deadline is None:
                        return  # closing or closed: nothing more to send
                    closing = session.tick()
                    if closing:
                        # STT-C-4: the server lingered; session.close, then close with 1000.
                        for frame in closing:
                            await self._send(ws, frame)
                        await ws.close(NORMAL_CLOSURE)
                        return
                    timeout = (deadline - self._clock()) * self._time_scale
                self._wake.clear()
                # The deadline only sets the wake event: a plain wait on it is always
                # cancellable (wait_for is not before Python 3.12, see _send).
                timer = None if timeout is None else self._loop.call_later(timeout, self._wake.set)
                try:
                    await self._wake.wait()
                finally:
                    if timer is not None:
                        timer.cancel()
        except ConnectionClosed:
            return

    def _frames_for(self, session: ClientSession, item: object) -> list[str]:
        if isinstance(item, bytes):
            return session.push_audio(item)
        if item is _FLUSH:
            return session.flush()
        if item is _END:
            self._finalize_due = True
            return session.end_input()
        assert isinstance(item, _Update)
        frame = session.update(model=item.model, language=item.language, extra=item.extra)
        return [frame] if frame is not None else []

    async def _receive_loop(self, ws: ClientConnection, session: ClientSession) -> None:
        """Everything the server sends on one connection, through the session: events out;
        returns on a clean end, raises the attempt's ``APIError`` otherwise."""
        while True:
            try:
                frame = await ws.recv()
            except ConnectionClosed as exc:
                self._connection_closed(session, exc)
                return
            try:
                events = session.receive_frame(frame)
            except RemoteProtocolError as exc:
                # A binary, malformed or (strict) out-of-order frame (CLI-ROB-1).
                raise APIConnectionError(f"LiveKit Inference STT sent {exc}") from exc
            for event in events:
                self._push(event)
            if session.input_ended:
                self._wake.set()  # a transcript may have moved the close deadline
            if session.state is SessionState.CLOSED:
                return  # session.closed after the input ended: the stream is over

    @staticmethod
    def _connection_closed(session: ClientSession, exc: ConnectionClosed) -> None:
        sent, rcvd = exc.sent, exc.rcvd
        if sent is not None and sent.code != NORMAL_CLOSURE and not exc.rcvd_then_sent:
            # websockets failed the connection itself: the server broke the WebSocket protocol
            # (invalid UTF-8, a frame over MAX_MESSAGE_SIZE, ...), not a close of the server's.
            raise APIConnectionError(
                f"LiveKit Inference STT connection failed: close {sent.code} {sent.reason}"
            ) from exc
        # Clean after the finalize, session.close or session.closed; a retryable
        # APIStatusError before (STT-END-1).
        session.receive_close(rcvd.code if rcvd is not None else None)

    async def _close_socket(self, ws: ClientConnection) -> None:
        # Bounded by close_timeout; websockets drops the TCP connection when it runs out.
        with contextlib.suppress(Exception):
            await ws.close(NORMAL_CLOSURE)


STT.stream_class = SpeechStream
