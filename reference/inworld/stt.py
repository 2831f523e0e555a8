"""The reference Inworld STT client (SPEC §5.3): :class:`InworldSTT` and
:class:`InworldSpeechStream`.

The ``websockets`` library only moves frames and time (the simulator is aiohttp, so the two
stacks check each other). Every protocol decision is the sans-IO wire module's
(:mod:`voicewire.reference.inworld.wire.stt_session`): a
:class:`~voicewire.reference.inworld.wire.stt_session.TranscribeClientSession` per connection
builds every frame the client sends (``transcribeConfig`` first; one ``audioChunk`` per pushed
frame, bytes exact; ``endTurn`` on :meth:`InworldSpeechStream.flush`; ``closeStream`` at end of
input), counts usage (IW-STT-USG-1) and judges every frame and close the server sends; its
:class:`~voicewire.reference.inworld.wire.stt_session.InworldSegmentTracker` outlives the
connection. This module adds what only an IO shell can do: resampling what is pushed, the
socket, the timers, the retry loop and error mapping.

Names, arguments and defaults mirror ``livekit.plugins.inworld.STT`` 1.8.9 (named
``InworldSTT`` here: ``STT`` is the LiveKit inference client's name). Where this client
decides differently from upstream, it follows SPEC.md:

- a server close before ``closeStream`` is a retryable ``APIConnectionError`` and the stream
  reconnects (IW-STT-END-1; upstream ends the stream silently);
- a binary or malformed frame ends the attempt with an ``APIConnectionError`` (CLI-ROB-1;
  upstream skips invalid JSON and reads wrong types with defaults);
- Inworld's error frame ``{"error": {"code", "message"}}`` is an ``APIStatusError`` whose
  status is its gRPC code, retryable unless the code says the request itself is wrong
  (:func:`~voicewire.reference.inworld.wire.stt_session.is_retryable_transcribe_error`;
  upstream ignores the frame);
- after ``closeStream`` the client waits at most ``conn_options.timeout`` seconds of silence
  for the close, then fails with a non-retryable ``APITimeoutError`` (upstream waits forever);
  a close after ``closeStream`` with a code other than 1000 is a non-retryable
  ``APIConnectionError``;
- usage is reported every 5 s of *audio* sent (upstream: of wall time, checked on push), on
  ``endTurn`` and at end of input, exact to the sample;
- a stereo frame is mixed down to mono; ``num_channels`` other than 1 is refused;
- a stream makes at most ``max_retry + 1`` connections, waiting as §2.4 says between them;
  the upgrade and every send are bounded by ``conn_options.timeout``.

``http_session`` is accepted for upstream's signature; the socket is ``websockets``', so it is
not used.

Events, on the ``InworldSTT`` object (``stt.on("error", fn)``): ``error``, an
:class:`~voicewire.reference.stt.inference.STTErrorEvent` for every failed attempt.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import math
import os
import uuid
import weakref
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from voicewire.reference.audio import AudioFrame, Resampler
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
from voicewire.reference.inworld.wire.stt_messages import (
    TranscribeConfigMessage,
    transcribe_config,
)
from voicewire.reference.inworld.wire.stt_session import (
    TRANSCRIBE_NORMAL_CLOSURE,
    InworldSegmentTracker,
    TranscribeClientSession,
    TranscribeOutput,
    TranscribeState,
)
from voicewire.reference.inworld.wire.urls import DEFAULT_INWORLD_BASE_URL, inworld_stt_url
from voicewire.reference.json_wire import RemoteProtocolError
from voicewire.reference.stt.inference import STTErrorEvent
from voicewire.reference.stt.speech import SpeechEvent
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidStatus,
    InvalidURI,
    WebSocketException,
)

__all__ = [
    "DEFAULT_INWORLD_STT_LANGUAGE",
    "DEFAULT_INWORLD_STT_MODEL",
    "InworldSTT",
    "InworldSpeechStream",
]

DEFAULT_INWORLD_STT_MODEL = "inworld/inworld-stt-1"
"""Upstream's default model (any model string is passed through)."""
DEFAULT_INWORLD_STT_LANGUAGE = "en-US"
"""Upstream's default language."""
API_KEY_ENV = "INWORLD_API_KEY"
"""Where the API key comes from when no ``api_key`` is given (AUTH-6)."""
MAX_MESSAGE_SIZE = 1 << 20
"""The largest server message read (bytes); a bigger frame fails the connection (close 1009),
which the stream reports as an ``APIConnectionError``."""

InworldSTTEvent = Literal["error"]


def _to_mono(frame: AudioFrame) -> AudioFrame:
    """The channels' mean, rounded half to even."""
    if frame.num_channels == 1:
        return frame
    summed = frame.data.reshape(-1, frame.num_channels).astype(np.int64).sum(axis=1)
    mono = np.rint(summed / frame.num_channels).astype(np.int16)
    return AudioFrame(mono, sample_rate=frame.sample_rate)


class InworldSTT(EventEmitter[InworldSTTEvent]):
    """Inworld speech-to-text, streamed over a WebSocket (SPEC §5.3).

    ``api_key`` comes from the argument, else ``INWORLD_API_KEY``; a missing one raises
    ``ValueError`` (AUTH-6: it is sent as ``Authorization: Basic <key>``, verbatim). The other
    arguments are upstream's, with its defaults; ``base_url``'s path is kept (the STT path is
    appended to it). Beyond upstream's arguments: ``time_scale`` multiplies the waits between
    attempts (a finite number > 0), ``label`` names the model in error events.
    """

    stream_class: type[InworldSpeechStream]
    """The stream :meth:`stream` returns (set below); a variant may swap it."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        model: str = DEFAULT_INWORLD_STT_MODEL,
        language: str = DEFAULT_INWORLD_STT_LANGUAGE,
        sample_rate: int = 16000,
        num_channels: int = 1,
        enable_voice_profile: bool = True,
        voice_profile_top_n: int = 1,
        vad_threshold: float | None = None,
        min_end_of_turn_silence_when_confident: int = 200,
        end_of_turn_confidence_threshold: float = 0.3,
        base_url: str = DEFAULT_INWORLD_BASE_URL,
        http_session: Any = None,
        time_scale: float = 1.0,
        label: str | None = None,
    ) -> None:
        super().__init__()
        key = api_key if api_key is not None else os.environ.get(API_KEY_ENV, "")
        if not isinstance(key, str) or not key:
            raise ValueError(f"Inworld API key required: set {API_KEY_ENV} or pass api_key")
        for name, value in (("model", model), ("language", language)):
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} must be a non-empty string, got {value!r}")
        if num_channels != 1:
            raise ValueError(
                f"the reference client sends mono audio: num_channels 1, got {num_channels!r}"
            )
        if isinstance(time_scale, bool) or not isinstance(time_scale, (int, float)):
            raise TypeError(f"time_scale must be a number, got {type(time_scale).__name__}")
        if not (math.isfinite(time_scale) and time_scale > 0):
            raise ValueError(f"time_scale must be a finite number > 0, got {time_scale!r}")
        self._authorization = inworld_authorization(key)
        self.model = model
        self.language = language
        self.enable_voice_profile = enable_voice_profile
        self.voice_profile_top_n = voice_profile_top_n
        self.vad_threshold = vad_threshold
        self.min_end_of_turn_silence_when_confident = min_end_of_turn_silence_when_confident
        self.end_of_turn_confidence_threshold = end_of_turn_confidence_threshold
        self.base_url = base_url
        self.http_session = http_session
        self.time_scale = float(time_scale)
        self.label = label or f"inworld.STT({model})"
        self._sample_rate = sample_rate
        # Checks the options the wire carries (and the URL) once, here.
        self._sample_rate = self.transcribe_config().sample_rate
        self.url = inworld_stt_url(base_url)
        self._streams: weakref.WeakSet[InworldSpeechStream] = weakref.WeakSet()

    @property
    def provider(self) -> str:
        """``"Inworld"``, as upstream."""
        return "Inworld"

    @property
    def sample_rate(self) -> int:
        """The rate audio is sent at, in Hz."""
        return self._sample_rate

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header value of every connect (AUTH-6)."""
        return self._authorization

    def transcribe_config(self, *, language: str | None = None) -> TranscribeConfigMessage:
        """The ``transcribeConfig`` a stream opens with (IW-STT-C-1), ``language`` overriding
        the model's."""
        return transcribe_config(
            model=self.model,
            language=language or self.language,
            sample_rate=self._sample_rate,
            enable_voice_profile=self.enable_voice_profile,
            voice_profile_top_n=self.voice_profile_top_n,
            end_of_turn_confidence_threshold=self.end_of_turn_confidence_threshold,
            min_end_of_turn_silence_when_confident=self.min_end_of_turn_silence_when_confident,
            vad_threshold=self.vad_threshold,
        )

    def stream(
        self,
        *,
        language: str | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> InworldSpeechStream:
        """Start a streaming transcription: push audio into the returned stream and iterate it
        for SpeechEvents. Must be called inside a running event loop."""
        if not isinstance(conn_options, APIConnectOptions):
            raise TypeError(
                f"conn_options must be APIConnectOptions, got {type(conn_options).__name__}"
            )
        if language is not None and (not isinstance(language, str) or not language):
            raise ValueError(f"language must be a non-empty string or None, got {language!r}")
        stream = self.stream_class(
            self, config=self.transcribe_config(language=language), conn_options=conn_options
        )
        self._streams.add(stream)
        return stream

    def update_options(
        self,
        *,
        model: str | None = None,
        language: str | None = None,
        enable_voice_profile: bool | None = None,
        voice_profile_top_n: int | None = None,
        vad_threshold: float | None = None,
        min_end_of_turn_silence_when_confident: int | None = None,
        end_of_turn_confidence_threshold: float | None = None,
    ) -> None:
        """Change options for the streams to come (as upstream: a live stream keeps its
        ``transcribeConfig``). ``None`` leaves an option as it is; an option the wire cannot
        carry raises ``ValueError`` and changes nothing."""
        changes = {
            name: value
            for name, value in (
                ("model", model),
                ("language", language),
                ("enable_voice_profile", enable_voice_profile),
                ("voice_profile_top_n", voice_profile_top_n),
                ("vad_threshold", vad_threshold),
                ("min_end_of_turn_silence_when_confident", min_end_of_turn_silence_when_confident),
                ("end_of_turn_confidence_threshold", end_of_turn_confidence_threshold),
            )
            if value is not None
        }
        for name in ("model", "language"):
            if name in changes and (not isinstance(changes[name], str) or not changes[name]):
                raise ValueError(f"{name} must be a non-empty string, got {changes[name]!r}")
        before = {name: getattr(self, name) for name in changes}
        for name, value in changes.items():
            setattr(self, name, value)
        try:
            self.transcribe_config()
        except ValueError:
            for name, value in before.items():
                setattr(self, name, value)
            raise

    async def aclose(self) -> None:
        """Close every stream still open."""
        for stream in list(self._streams):
            await stream.aclose()

    def _emit_error(self, error: Exception, *, recoverable: bool) -> None:
        self.emit("error", STTErrorEvent(error=error, recoverable=recoverable, label=self.label))


# Items of a stream's input, in push order. Audio is bytes: PCM s16le mono at the stream rate.
_FLUSH = object()
_END = object()


class InworldSpeechStream(EventStream[SpeechEvent]):
    """One streaming transcription: push audio in, iterate SpeechEvents out (SPEC §5.3).

    ``push_frame`` takes audio at any rate and channel count (mixed down to mono, resampled to
    the model's rate); each pushed frame goes out as one ``audioChunk``. ``flush`` sends
    ``endTurn``; ``end_input`` sends ``closeStream``; ``aclose`` stops everything. Iteration
    ends when the server closes with 1000 after ``closeStream``, and raises the stream's
    error, an ``APIError``, otherwise (CLI-ROB-1).

    The input is one queue for the whole stream: audio pushed while a connection is down goes
    to the next one; what was sent to a failed connection is not sent again.
    """

    session_class: type[TranscribeClientSession] = TranscribeClientSession
    """The wire session of every connection (a reconnect's is the previous one's
    :meth:`~TranscribeClientSession.reconnect`, of the same class)."""
    tracker_class: type[InworldSegmentTracker] = InworldSegmentTracker
    """The segment tracker the stream's sessions share."""

    def __init__(
        self,
        stt: InworldSTT,
        *,
        config: TranscribeConfigMessage,
        conn_options: APIConnectOptions,
    ) -> None:
        loop = asyncio.get_running_loop()
        self._stt = stt
        self._conn_options = conn_options
        self._loop = loop
        # A client-generated id on every event, as upstream's shortuuid (Inworld sends none).
        self._request_id = uuid.uuid4().hex[:12]
        self._sample_rate = config.sample_rate
        self._clock: Callable[[], float] = loop.time
        body = config.transcribeConfig
        self._session = self.session_class(
            config,
            clock=self._clock,
            tracker=self.tracker_class(
                sample_rate=body.sampleRateHertz,
                language=body.language,
                request_id=self._request_id,
            ),
            close_timeout=conn_options.timeout,
        )
        self._pending: collections.deque[object] = collections.deque()
        self._wake = asyncio.Event()
        self._resampler: Resampler | None = None
        self._input_ended = False  # end_input() was called
        self._close_due = False  # the _END item was taken: every new session closes at once
        self._closed = False
        self._attempts = 0
        self._start()

    # -- state ---------------------------------------------------------------------------------

    @property
    def request_id(self) -> str:
        """The stream's own id, on every event."""
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
    def session(self) -> TranscribeClientSession:
        """The wire session of the current (or last) connection."""
        return self._session

    # -- input ---------------------------------------------------------------------------------

    def push_frame(self, frame: AudioFrame) -> None:
        """Push audio: any rate and channel count, mixed down to mono and resampled to
        :attr:`sample_rate`. A frame at that rate goes out as one ``audioChunk`` of exactly its
        samples; at another rate, what the resampler gives for it (it holds back a few samples
        until the next flush). Raises ``RuntimeError`` after :meth:`end_input` or
        :meth:`aclose`."""
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
        """End the turn: what the resampler holds goes out, then ``endTurn`` (with the usage
        not yet reported)."""
        self._check_input_open()
        self._flush_resampler()
        self._put(_FLUSH)

    def end_input(self) -> None:
        """No more audio: what the resampler holds goes out, then ``closeStream`` (with the
        usage not yet reported). A second call does nothing."""
        if self._closed:
            raise RuntimeError("the stream is closed")
        if self._input_ended:
            return
        self._flush_resampler()
        self._input_ended = True
        self._put(_END)

    async def aclose(self) -> None:
        """Stop the stream: the connection is closed (close 1000) and nothing is left
        running; iteration then ends. Safe to call more than once."""
        self._closed = True
        await super().aclose()

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

    # -- the retry loop (§2.4) -----------------------------------------------------------------

    async def _produce(self) -> None:
        options = self._conn_options
        for attempt in range(options.max_attempts):
            if attempt:
                # A new session continues the stream: same tracker (open segment, usage).
                self._session = self._session.reconnect()
            try:
                await self._run_attempt(self._session)
                return
            except APIError as error:
                retry = error.retryable and attempt < options.max_retry
                self._stt._emit_error(error, recoverable=retry)
                if retry:
                    await asyncio.sleep(
                        options.interval_for_retry(attempt, time_scale=self._stt.time_scale)
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

    async def _run_attempt(self, session: TranscribeClientSession) -> None:
        """One connection, from the upgrade to its end: returns when the stream ended cleanly,
        raises the attempt's ``APIError`` otherwise."""
        self._attempts += 1
        ws = await self._connect()
        sender = self._loop.create_task(self._send_loop(ws, session))
        receiver = self._loop.create_task(self._receive_loop(ws, session))
        try:
            done, _ = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if receiver not in done:
                # The sender stopped first: it failed (raise that), or saw the socket close
                # and the receiver reports how.
                sender.result()
            await receiver
        finally:
            for task in (sender, receiver):
                task.cancel()
            for task in (sender, receiver):
                with contextlib.suppress(BaseException):
                    await task
            with contextlib.suppress(Exception):
                await ws.close(TRANSCRIBE_NORMAL_CLOSURE)

    async def _connect(self) -> ClientConnection:
        """The upgrade with ``Authorization: Basic <key>`` only (AUTH-6), within ``timeout``:
        a refused upgrade is an ``APIStatusError`` with its status and body, a timeout an
        ``APITimeoutError``, a bad URL a non-retryable ``APIConnectionError``, anything else a
        retryable one."""
        timeout = self._conn_options.timeout
        try:
            return await connect(
                self._stt.url,
                additional_headers={"Authorization": self._stt.authorization},
                compression=None,
                ping_interval=None,
                proxy=None,
                open_timeout=timeout,
                close_timeout=timeout,
                max_size=MAX_MESSAGE_SIZE,
            )
        except InvalidStatus as exc:
            response = exc.response
            raise APIStatusError(
                f"Inworld STT refused the connection: HTTP {response.status_code}",
                status_code=response.status_code,
                body=_response_body(response.body),
            ) from exc
        except (TimeoutError, asyncio.TimeoutError) as exc:
            raise APITimeoutError(f"connecting to Inworld STT timed out after {timeout} s") from exc
        except InvalidURI as exc:
            raise APIConnectionError(
                f"invalid Inworld STT URL {self._stt.url!r}: {exc}", retryable=False
            ) from exc
        except (OSError, EOFError, WebSocketException) as exc:
            raise APIConnectionError(
                f"failed to connect to Inworld STT: {type(exc).__name__}: {exc}"
            ) from exc

    async def _send(self, ws: ClientConnection, frame: str) -> None:
        """Send one frame within ``timeout`` (CLI-ROB-1: a server that stops reading must not
        hang the stream). Raises ``ConnectionClosed`` as websockets does."""
        # asyncio.wait, not wait_for: before Python 3.12 wait_for swallows a cancellation that
        # arrives as the send completes, and aclose() must always stop the sender.
        send = self._loop.create_task(ws.send(frame))
        send.add_done_callback(lambda task: task.cancelled() or task.exception())
        try:
            done, _ = await asyncio.wait({send}, timeout=self._conn_options.timeout)
        finally:
            if not send.done():
                send.cancel()
        if not done:
            raise APITimeoutError(
                f"sending to Inworld STT timed out after {self._conn_options.timeout} s"
            )
        send.result()

    async def _emit_and_send(self, ws: ClientConnection, out: TranscribeOutput) -> None:
        for event in out.events:
            self._push(event)
        for frame in out.frames:
            await self._send(ws, frame)

    async def _send_loop(self, ws: ClientConnection, session: TranscribeClientSession) -> None:
        """Everything the client sends on one connection, in order: ``transcribeConfig`` at
        once, the input as it comes; after ``closeStream``, the wait for the close, bounded
        by the session's close deadline. Returns when the socket closed under it."""
        try:
            await self._send(ws, session.start())
            if self._close_due:
                # Input had ended on an earlier connection: this one closes its stream at once.
                await self._emit_and_send(ws, session.close_stream())
            while True:
                while self._pending and session.state is TranscribeState.OPEN:
                    item = self._pending.popleft()
                    await self._emit_and_send(ws, self._output_for(session, item))
                timeout: float | None = None
                if session.state is TranscribeState.CLOSING:
                    session.check_close_deadline()  # raises APITimeoutError once it passed
                    deadline = session.close_deadline
                    assert deadline is not None
                    timeout = deadline - self._clock()
                elif session.state is not TranscribeState.OPEN:
                    return
                self._wake.clear()
                timer = None if timeout is None else self._loop.call_later(timeout, self._wake.set)
                try:
                    await self._wake.wait()
                finally:
                    if timer is not None:
                        timer.cancel()
        except ConnectionClosed:
            return

    def _output_for(self, session: TranscribeClientSession, item: object) -> TranscribeOutput:
        if isinstance(item, bytes):
            return session.push_audio(item)
        if item is _FLUSH:
            return session.end_turn()
        assert item is _END
        self._close_due = True
        return session.close_stream()

    async def _receive_loop(self, ws: ClientConnection, session: TranscribeClientSession) -> None:
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
                raise APIConnectionError(f"Inworld STT sent {exc}") from exc
            for event in events:
                self._push(event)
            if session.input_ended:
                self._wake.set()  # a message moved the close deadline

    @staticmethod
    def _connection_closed(session: TranscribeClientSession, exc: ConnectionClosed) -> None:
        sent, rcvd = exc.sent, exc.rcvd
        if sent is not None and sent.code != TRANSCRIBE_NORMAL_CLOSURE and not exc.rcvd_then_sent:
            # websockets failed the connection itself: the server broke the WebSocket protocol
            # (invalid UTF-8, a frame over MAX_MESSAGE_SIZE, ...), not a close of the server's.
            raise APIConnectionError(
                f"Inworld STT connection failed: close {sent.code} {sent.reason}"
            ) from exc
        # Clean after closeStream with 1000; an APIConnectionError otherwise (IW-STT-END-1).
        session.receive_close(rcvd.code if rcvd is not None else None)


InworldSTT.stream_class = InworldSpeechStream


def _response_body(body: bytes | None) -> object | None:
    """A refused upgrade's body: its JSON when it is JSON, else its text (cut short)."""
    if not body:
        return None
    text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text[:4000]
