"""The IO shell every WebSocket speech-to-text client shares: :class:`SocketSTT` (the model
object: its live streams, its ``error`` events) and :class:`SocketSpeechStream` (one
transcription: pushed audio in, SpeechEvents out, over one connection after another).

A stream holds one input queue for its whole life and a sans-IO wire session per connection
(a reconnect's session is the previous one's ``reconnect()``, so what it tracks carries
over). The skeleton here does what does not depend on the protocol: mixing pushed audio down
to mono and resampling it to the stream's rate, the queue, the retry loop with its waits and
error events (§2.4), one attempt's send and receive tasks, turning what the server sends
into events and how the connection ended into an error (CLI-ROB-1).
A protocol's stream says the rest in small overridable methods: how a connection opens
(:meth:`SocketSpeechStream._connect`), how a frame is sent, the first frame, which frames an
input item makes, what happens once the input is sent (the close and its deadline), and when a
session is over.

:class:`~voicewire.reference.stt.inference.SpeechStream` (the LiveKit inference gateway) and
:class:`~voicewire.reference.inworld.stt.InworldSpeechStream` are built on it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

import numpy as np
from voicewire.reference.audio import AudioFrame, Resampler
from voicewire.reference.emitter import EventEmitter
from voicewire.reference.errors import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectionError,
    APIConnectOptions,
    APIError,
)
from voicewire.reference.event_stream import EventStream
from voicewire.reference.json_wire import RemoteProtocolError
from voicewire.reference.stt.speech import SpeechEvent
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

__all__ = [
    "STTErrorEvent",
    "SocketSTT",
    "SocketSpeechStream",
    "SpeechSocketSession",
    "check_conn_options",
    "check_time_scale",
]

NORMAL_CLOSE = CloseCode.NORMAL_CLOSURE
"""1000: how the client closes a socket it is done with, and the one close code of its own
that does not mean websockets failed the connection."""


@dataclass(frozen=True)
class STTErrorEvent:
    """One failed attempt of a stream. ``recoverable``: another attempt follows
    (STT-RETRY-1, as RETRY-5)."""

    error: APIError | Exception
    recoverable: bool
    label: str


class SpeechSocketSession(Protocol):
    """What the skeleton asks of a protocol's sans-IO client session (the rest is the
    protocol stream's business)."""

    @property
    def input_ended(self) -> bool:
        """The session sent the end of its input."""
        ...

    def reconnect(self) -> Any:
        """The session of the next connection, continuing this one's stream."""
        ...

    def receive_frame(self, frame: str | bytes) -> Sequence[SpeechEvent]:
        """One server frame in, SpeechEvents out; ``RemoteProtocolError`` when it is wrong."""
        ...

    def receive_close(self, code: int | None = None) -> None:
        """The server's close; an ``APIError`` when the stream did not end cleanly."""
        ...


SessionT = TypeVar("SessionT", bound=SpeechSocketSession)
StreamT = TypeVar("StreamT", bound="SocketSpeechStream[Any]")


def check_time_scale(time_scale: object) -> float:
    """``time_scale`` as a float: it must be a finite number > 0 (``TypeError`` for what is
    not a number, ``ValueError`` for the rest)."""
    if isinstance(time_scale, bool) or not isinstance(time_scale, (int, float)):
        raise TypeError(f"time_scale must be a number, got {type(time_scale).__name__}")
    if not (math.isfinite(time_scale) and time_scale > 0):
        raise ValueError(f"time_scale must be a finite number > 0, got {time_scale!r}")
    return float(time_scale)


def check_conn_options(conn_options: object) -> APIConnectOptions:
    """``conn_options`` itself, once it is known to be :class:`APIConnectOptions`
    (``TypeError`` otherwise)."""
    if not isinstance(conn_options, APIConnectOptions):
        raise TypeError(
            f"conn_options must be APIConnectOptions, got {type(conn_options).__name__}"
        )
    return conn_options


def _to_mono(frame: AudioFrame) -> AudioFrame:
    """The channels' mean, rounded half to even: a stereo frame becomes what a listener of
    both channels hears, at the same rate."""
    if frame.num_channels == 1:
        return frame
    summed = frame.data.reshape(-1, frame.num_channels).astype(np.int64).sum(axis=1)
    mono = np.rint(summed / frame.num_channels).astype(np.int16)
    return AudioFrame(mono, sample_rate=frame.sample_rate)


class SocketSTT(EventEmitter[Literal["error"]], Generic[StreamT]):
    """What a streaming speech-to-text model object shares: :meth:`stream`, the streams it
    opened and not yet closed (:meth:`aclose` closes them), and an ``error`` event, an
    :class:`STTErrorEvent`, for every failed attempt of one of them. A subclass sets
    ``time_scale``, ``label`` and ``_sample_rate`` in its ``__init__`` and implements
    :meth:`_check_language` and :meth:`_new_stream`."""

    stream_class: type[StreamT]
    """The stream class the model's ``stream()`` makes; a variant (a mutant of the zoo) swaps
    it."""
    time_scale: float
    """Multiplies every wait of the model's streams (the waits between attempts, and the
    protocol's own timers where it says so)."""
    label: str
    """Names the model in error events."""
    _sample_rate: int

    def __init__(self) -> None:
        super().__init__()
        # Weak: a stream the caller dropped without closing must not live on here.
        self._streams: weakref.WeakSet[StreamT] = weakref.WeakSet()

    @property
    def sample_rate(self) -> int:
        """The rate audio is sent at, in Hz."""
        return self._sample_rate

    def stream(
        self,
        *,
        language: str | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> StreamT:
        """Start a streaming transcription (``language`` overriding the model's): push audio
        into the returned stream and iterate it for SpeechEvents. Must be called inside a
        running event loop."""
        check_conn_options(conn_options)
        self._check_language(language)
        stream = self._new_stream(language, conn_options)
        self._streams.add(stream)
        return stream

    async def aclose(self) -> None:
        """Close every stream still open."""
        for stream in list(self._streams):
            await stream.aclose()

    def _check_language(self, language: str | None) -> None:
        """Refuse a ``language`` the protocol cannot carry; checked before the stream exists,
        so that a wrong one fails the caller."""
        raise NotImplementedError

    def _new_stream(self, language: str | None, conn_options: APIConnectOptions) -> StreamT:
        """A :attr:`stream_class` stream opening with these options."""
        raise NotImplementedError

    def _emit_error(self, error: Exception, *, recoverable: bool) -> None:
        self.emit("error", STTErrorEvent(error=error, recoverable=recoverable, label=self.label))


# Items of a stream's input, in push order, besides audio (bytes: PCM s16le mono at the
# stream's rate) and what a protocol's stream adds (LiveKit's option updates).
_FLUSH = object()
_END = object()


class SocketSpeechStream(EventStream[SpeechEvent], Generic[SessionT]):
    """One streaming transcription over a WebSocket: push audio in, iterate SpeechEvents out.

    ``push_frame`` takes audio at any rate and channel count (mixed down to mono and resampled
    to :attr:`sample_rate`); ``flush`` and ``end_input`` become the protocol's frames for them
    after the audio pushed before; ``aclose`` stops everything. Iteration ends when the
    connection ends cleanly after the end of input and raises the stream's error, an
    ``APIError``, otherwise (CLI-ROB-1). Use it as an async context manager, or call
    :meth:`aclose`.

    The input is one queue for the whole stream: audio pushed while a connection is down goes
    to the next one; what was sent to a failed connection is not sent again (as upstream). A
    stream makes at most ``max_retry + 1`` connections, waiting as §2.4 says between them, and
    emits an ``error`` event on its model for every failed one.

    A subclass builds its first session, calls ``super().__init__`` last in its own, and
    implements :meth:`_connect`, :meth:`_send`, :meth:`_opening_frame`,
    :meth:`_audio_frames`, :meth:`_flush_frames`, :meth:`_end_frames`, :meth:`_can_send` and
    :meth:`_idle_timeout`.
    """

    service: ClassVar[str]
    """The service's name in error messages (``"Inworld STT"``)."""

    _stt: SocketSTT

    def __init__(
        self,
        stt: SocketSTT,
        *,
        session: SessionT,
        conn_options: APIConnectOptions,
        request_id: str,
        sample_rate: int,
        clock: Callable[[], float],
    ) -> None:
        self._stt = stt
        self._conn_options = conn_options
        # Read once: the sessions' clock a subclass made may depend on it, and the waits
        # between attempts must agree with it.
        self._time_scale = stt.time_scale
        self._loop = asyncio.get_running_loop()
        self._request_id = request_id
        self._sample_rate = sample_rate
        self._clock = clock
        self._session = session
        self._pending: collections.deque[object] = collections.deque()
        # Set whenever the sender has something new to look at: input, or (after the input
        # ended) a server message that moved the close deadline.
        self._wake = asyncio.Event()
        self._resampler: Resampler | None = None
        self._input_ended = False  # end_input() was called
        self._end_due = False  # the end item was taken: every new session ends its input at once
        self._closed = False
        self._attempts = 0
        self._start()

    # -- state ---------------------------------------------------------------------------------

    @property
    def request_id(self) -> str:
        """The stream's own id, on the events whose server sent none."""
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
    def session(self) -> SessionT:
        """The wire session of the current (or last) connection."""
        return self._session

    # -- input ---------------------------------------------------------------------------------

    def push_frame(self, frame: AudioFrame) -> None:
        """Push audio: any rate and channel count, mixed down to mono and resampled to
        :attr:`sample_rate`. A frame at that rate is queued as it is; at another rate, what
        the resampler gives for it (it holds back a few samples until the next flush).
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
        """What the resampler holds goes out, then the protocol's flush (LiveKit: the held
        remainder as one shorter frame, STT-C-2; Inworld: ``endTurn``); the stream goes on."""
        self._check_input_open()
        self._flush_resampler()
        self._put(_FLUSH)

    def end_input(self) -> None:
        """No more audio: what the resampler holds goes out, then the protocol's end of input,
        once (LiveKit: ``session.finalize``, STT-C-3; Inworld: ``closeStream``). A second
        call does nothing."""
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

    # -- the retry loop (STT-RETRY-1, §2.4) ----------------------------------------------------

    async def _produce(self) -> None:
        options = self._conn_options
        for attempt in range(options.max_attempts):
            if attempt:
                # A new session continues the stream: it keeps what the last one tracked
                # (open segment, usage, held audio), its time moved forward.
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

    async def _run_attempt(self, session: SessionT) -> None:
        """One connection, from the upgrade to its end: returns when the stream ended cleanly,
        raises the attempt's ``APIError`` otherwise."""
        self._attempts += 1
        ws = await self._connect()
        sender = self._loop.create_task(self._send_loop(ws, session))
        receiver = self._loop.create_task(self._receive_loop(ws, session))
        try:
            done, _ = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if receiver not in done:
                # The sender stopped first: either it failed (raise that), or it closed the
                # socket itself or saw it closed, and the receiver reports the end.
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
        """The protocol's upgrade, within ``timeout``, its failures mapped to ``APIError``s."""
        raise NotImplementedError

    async def _send(self, ws: ClientConnection, frame: str) -> None:
        """Send one frame within ``timeout`` (CLI-ROB-1). Raises ``ConnectionClosed`` as
        websockets does."""
        raise NotImplementedError

    async def _send_all(self, ws: ClientConnection, frames: Sequence[str]) -> None:
        for frame in frames:
            await self._send(ws, frame)

    async def _send_loop(self, ws: ClientConnection, session: SessionT) -> None:
        """Everything the client sends on one connection, in order: the opening frame at once,
        the input as it comes, then what the end of input asks (see :meth:`_idle_timeout`).
        Returns when the socket closed under it (the receiver reports how)."""
        try:
            await self._send(ws, self._opening_frame(session))
            if self._end_due:
                # Input had ended on an earlier connection: this session ends its input at once.
                await self._send_all(ws, self._end_frames(session))
            while True:
                while self._pending:
                    item = self._pending[0]
                    if not self._can_send(session, item):
                        return  # the session is over: the item waits for the next one
                    self._pending.popleft()
                    await self._send_all(ws, self._frames_for(session, item))
                timeout = await self._idle_timeout(ws, session)
                if timeout is None:
                    return
                self._wake.clear()
                # The deadline only sets the wake event: a plain wait on it is always
                # cancellable (wait_for is not before Python 3.12).
                timer = None
                if not math.isinf(timeout):
                    timer = self._loop.call_later(timeout, self._wake.set)
                try:
                    await self._wake.wait()
                finally:
                    if timer is not None:
                        timer.cancel()
        except ConnectionClosed:
            return

    def _opening_frame(self, session: SessionT) -> str:
        """The frame every connection opens with (LiveKit ``session.create``, Inworld
        ``transcribeConfig``)."""
        raise NotImplementedError

    def _can_send(self, session: SessionT, item: object) -> bool:
        """Whether ``session`` takes the next input item; when it does not, the item waits
        for the next connection and this one sends nothing more."""
        raise NotImplementedError

    def _frames_for(self, session: SessionT, item: object) -> Sequence[str]:
        """The frames one input item makes on ``session``."""
        if isinstance(item, bytes):
            return self._audio_frames(session, item)
        if item is _FLUSH:
            return self._flush_frames(session)
        if item is _END:
            self._end_due = True
            return self._end_frames(session)
        raise TypeError(f"{type(self).__name__} has no frames for the input item {item!r}")

    def _audio_frames(self, session: SessionT, pcm: bytes) -> Sequence[str]:
        """The frames of pushed audio (PCM s16le mono at :attr:`sample_rate`)."""
        raise NotImplementedError

    def _flush_frames(self, session: SessionT) -> Sequence[str]:
        """The frames of :meth:`flush`."""
        raise NotImplementedError

    def _end_frames(self, session: SessionT) -> Sequence[str]:
        """The frames that end the input on ``session``: at :meth:`end_input`, and at the
        start of every later connection."""
        raise NotImplementedError

    async def _idle_timeout(self, ws: ClientConnection, session: SessionT) -> float | None:
        """Called when the sender has sent all it can: how many seconds it sleeps before it
        looks again (``math.inf``: until new input or a server message wakes it), or None when
        it has nothing more to send on this connection. The protocol's waits after the end of
        input live here (a close the client sends itself, a deadline for the server's)."""
        raise NotImplementedError

    async def _receive_loop(self, ws: ClientConnection, session: SessionT) -> None:
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
                # A binary, malformed or out-of-order frame (CLI-ROB-1).
                raise APIConnectionError(f"{self.service} sent {exc}") from exc
            for event in events:
                self._push(event)
            if session.input_ended:
                self._wake.set()  # a server message may have moved the close deadline
            if self._session_over(session):
                return

    def _session_over(self, session: SessionT) -> bool:
        """Whether the server's last message ended the stream before any close."""
        return False

    def _connection_closed(self, session: SessionT, exc: ConnectionClosed) -> None:
        sent, rcvd = exc.sent, exc.rcvd
        if sent is not None and sent.code != NORMAL_CLOSE and not exc.rcvd_then_sent:
            # websockets failed the connection itself: the server broke the WebSocket protocol
            # (invalid UTF-8, a frame over the size limit, ...), not a close of the server's.
            raise APIConnectionError(
                f"{self.service} connection failed: close {sent.code} {sent.reason}"
            ) from exc
        # The session judges the server's close: clean after the end of input, an APIError
        # before (or with a code the protocol does not accept).
        session.receive_close(rcvd.code if rcvd is not None else None)

    async def _close_socket(self, ws: ClientConnection) -> None:
        # Bounded by close_timeout; websockets drops the TCP connection when it runs out.
        with contextlib.suppress(Exception):
            await ws.close(NORMAL_CLOSE)
