"""The session state machines and segment tracker of Inworld STT (SPEC §5.3), sans-IO.

In the style of h11 and wsproto: small objects with an explicit :class:`TranscribeState`,
frames in and frames out, time read from an injected clock, no sockets, no event loop.

- :class:`InworldSegmentTracker`: server messages in, SpeechEvents out (IW-STT-ORD-1), and the
  usage count (IW-STT-USG-1). A :class:`~voicewire.reference.stt.wire.SegmentTracker` (whose
  state it keeps: the open segment, the samples sent and not yet reported, the usage events
  exact to the sample) with Inworld's steps: ``speechStarted`` is the explicit start; a
  non-empty interim opens a segment when none is open; a non-empty final opens one if needed
  and closes it, FINAL then END; an empty interim emits nothing; an **empty final closes the
  open segment with END and no FINAL** (upstream 1.8.9's rule, which SPEC IW-STT-ORD-1 keeps:
  the segment closes, so the next one can start); ``voiceProfile`` becomes the metadata
  ``{"voice_profile": ...}``. Transcripts carry no times: every SpeechData has the configured
  language and the stream's own ``request_id``, as upstream's. Usage is the client's: every
  :data:`USAGE_INTERVAL` seconds of audio sent, and on demand (``endTurn``, end of input).
- :class:`TranscribeClientSession`: one connection of a client's stream. ``transcribeConfig``
  first; one ``audioChunk`` per pushed frame, its bytes exactly (no re-chunking); ``endTurn``
  on flush; ``closeStream`` at end of input and nothing after it (IW-STT-C-1). What it
  receives goes through the tracker. A malformed frame raises
  :class:`~voicewire.reference.json_wire.RemoteProtocolError`; an ``error`` frame an
  ``APIStatusError``; a close before ``closeStream`` a retryable ``APIConnectionError``
  (IW-STT-END-1, voicewire's decision: upstream ends silently).
- :class:`TranscribeServerSession`: the server's side. It refuses, with a
  :class:`~voicewire.reference.json_wire.RemoteProtocolError` naming the rule, audio before
  ``transcribeConfig``, a second config, anything after ``closeStream``, audio that is not
  whole samples, a stream it does not serve (not mono); :meth:`~TranscribeServerSession.reject`
  answers with Inworld's error frame (code 3, INVALID_ARGUMENT), SRV-1.

Each step a port might get wrong is one small method, so that a variant with one deliberate
bug (a mutant of the zoo) overrides exactly that step: :meth:`~TranscribeClientSession.
audio_chunks` (re-chunking), :meth:`InworldSegmentTracker.usage_due` (usage only at the end),
:meth:`InworldSegmentTracker.on_final` (the empty final), ...
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from voicewire.reference.errors import APIConnectionError, APIStatusError, APITimeoutError
from voicewire.reference.inworld.wire.stt_messages import (
    TRANSCRIBE_CLIENT_MESSAGE_KINDS,
    CloseStream,
    EndTurn,
    SpeechStartedMessage,
    TranscribeAudioChunk,
    TranscribeClientMessage,
    TranscribeConfigMessage,
    TranscribeError,
    TranscribeErrorMessage,
    TranscribeServerMessage,
    Transcription,
    TranscriptionMessage,
    decode_transcribe_client_message,
    decode_transcribe_server_message,
    encode_transcribe_message,
)
from voicewire.reference.json_wire import (
    LocalProtocolError,
    MalformedMessage,
    ProtocolError,
    RemoteProtocolError,
    UnknownMessageType,
)
from voicewire.reference.stt.speech import SpeechData, SpeechEvent, SpeechEventType
from voicewire.reference.stt.wire.tracker import SegmentTracker

__all__ = [
    "INVALID_ARGUMENT",
    "TRANSCRIBE_NORMAL_CLOSURE",
    "USAGE_INTERVAL",
    "InworldSegmentTracker",
    "TranscribeClientSession",
    "TranscribeOutput",
    "TranscribeServerSession",
    "TranscribeState",
    "is_retryable_transcribe_error",
]

TRANSCRIBE_NORMAL_CLOSURE = 1000
"""The close code that ends a stream after ``closeStream`` (IW-STT-S-1)."""

INVALID_ARGUMENT = 3
"""The gRPC status code of Inworld's error frame for a bad client message (SRV-1)."""

USAGE_INTERVAL = 5.0
"""Seconds of audio sent between two periodic usage events (IW-STT-USG-1; upstream's
``PeriodicCollector`` duration, counted here on the audio, not the wall clock)."""

DEFAULT_CLOSE_TIMEOUT = 10.0
"""Seconds a client waits, after ``closeStream``, for the server's next message or its close
(upstream waits forever; CLI-ROB-1 forbids a hang)."""

# gRPC status codes for which retrying the same request cannot help: INVALID_ARGUMENT,
# NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, FAILED_PRECONDITION, OUT_OF_RANGE,
# UNIMPLEMENTED, UNAUTHENTICATED.
_FINAL_GRPC_CODES = frozenset({3, 5, 6, 7, 9, 11, 12, 16})


def is_retryable_transcribe_error(code: int) -> bool:
    """Whether an Inworld ``error`` frame with this ``code`` may be retried: not for a gRPC
    status that says the request itself is wrong (3, 5, 6, 7, 9, 11, 12, 16) nor for an HTTP
    4xx other than 408/429/499 (RETRY-3); yes otherwise (8 RESOURCE_EXHAUSTED, 13 INTERNAL,
    14 UNAVAILABLE, 5xx, ...)."""
    if code in _FINAL_GRPC_CODES:
        return False
    return not (400 <= code <= 499 and code not in (408, 429, 499))


class TranscribeState(str, Enum):
    """Where a connection stands, from one role's point of view."""

    CONNECTING = "connecting"
    """Client: ``transcribeConfig`` not sent yet. Server: not received yet."""
    OPEN = "open"
    """The stream is configured; audio flows."""
    CLOSING = "closing"
    """``closeStream`` was sent (client) or received (server): the server sends its pending
    finals and closes with 1000."""
    CLOSED = "closed"
    """The connection is over."""


@dataclass(frozen=True)
class TranscribeOutput:
    """What one client action makes: ``frames`` to send, in order, and SpeechEvents to emit
    (usage, IW-STT-USG-1), emitted before the frames go out."""

    frames: tuple[str, ...] = ()
    events: tuple[SpeechEvent, ...] = ()


# -- the segment tracker -----------------------------------------------------------------------


class InworldSegmentTracker(SegmentTracker):
    """Turns the server messages of one Inworld speech stream into SpeechEvents
    (IW-STT-ORD-1) and counts the audio sent for usage (IW-STT-USG-1).

    ``sample_rate`` is the stream's rate (usage is counted in samples); ``language`` the
    configured language, on every SpeechData; ``request_id`` the stream's own id, on every
    event (Inworld sends none); ``usage_interval`` the seconds of audio between two periodic
    usage events. One tracker serves every attempt of a stream, so an open segment and the
    unreported audio carry over a reconnect.
    """

    def __init__(
        self,
        *,
        sample_rate: int,
        language: str,
        request_id: str = "",
        usage_interval: float = USAGE_INTERVAL,
    ) -> None:
        if not isinstance(language, str):
            raise TypeError(f"language must be a str, got {type(language).__name__}")
        if isinstance(usage_interval, bool) or not isinstance(usage_interval, (int, float)):
            raise TypeError(f"usage_interval must be a number, got {type(usage_interval).__name__}")
        if not (math.isfinite(usage_interval) and usage_interval > 0):
            raise ValueError(f"usage_interval must be a finite number > 0, got {usage_interval!r}")
        super().__init__(sample_rate=sample_rate, language=language, request_id=request_id)
        # Whole samples, at least one: the threshold is exact whatever the rate.
        self._usage_interval_samples = max(1, math.ceil(usage_interval * sample_rate))

    @property
    def usage_interval_samples(self) -> int:
        """Samples of unreported audio that make a periodic usage event due."""
        return self._usage_interval_samples

    def receive(self, message: TranscribeServerMessage) -> list[SpeechEvent]:  # type: ignore[override]
        """Take one server message; return the SpeechEvents it makes, in order. Never raises
        for a well-typed message, whatever came before it; an ``error`` makes nothing here
        (the session raises it)."""
        if isinstance(message, TranscriptionMessage):
            transcription = message.transcription
            if transcription.isFinal:
                return self.on_final(transcription)
            return self.on_interim(transcription)
        if isinstance(message, SpeechStartedMessage):
            return self.open_segment()
        return []

    # -- the seams -----------------------------------------------------------------------------

    def open_segment(self) -> list[SpeechEvent]:
        """START_OF_SPEECH, with the stream's ``request_id``, if no segment is open."""
        if self._speaking:
            return []
        self._speaking = True
        return [SpeechEvent(type=SpeechEventType.START_OF_SPEECH, request_id=self.request_id)]

    def close_segment(self) -> list[SpeechEvent]:
        """END_OF_SPEECH, with the stream's ``request_id``, if a segment is open."""
        if not self._speaking:
            return []
        self._speaking = False
        return [SpeechEvent(type=SpeechEventType.END_OF_SPEECH, request_id=self.request_id)]

    def on_interim(self, transcription: Transcription) -> list[SpeechEvent]:  # type: ignore[override]
        """An empty interim emits nothing; a non-empty one opens a segment if none is open
        and emits INTERIM."""
        if not transcription.transcript:
            return []
        return [*self.open_segment(), self.transcript_event(transcription)]

    def on_final(self, transcription: Transcription) -> list[SpeechEvent]:  # type: ignore[override]
        """A non-empty final opens a segment if needed, emits FINAL and closes it (END); an
        empty final only closes the open segment (END, no FINAL; nothing if none is open)."""
        if not transcription.transcript:
            return self.close_segment()
        return [*self.open_segment(), self.transcript_event(transcription), *self.close_segment()]

    def transcript_event(self, transcription: Transcription) -> SpeechEvent:
        """The INTERIM or FINAL event of a non-empty transcript."""
        kind = (
            SpeechEventType.FINAL_TRANSCRIPT
            if transcription.isFinal
            else SpeechEventType.INTERIM_TRANSCRIPT
        )
        return SpeechEvent(
            type=kind, request_id=self.request_id, alternatives=(self.speech_data(transcription),)
        )

    def speech_data(self, transcription: Transcription) -> SpeechData:  # type: ignore[override]
        """The transcript with the configured language and, when the server sent a non-empty
        ``voiceProfile``, the metadata ``{"voice_profile": ...}``; no times, confidence 0.0
        (Inworld sends neither; upstream's defaults)."""
        profile = transcription.voiceProfile
        return SpeechData(
            language=self.language or "",
            text=transcription.transcript,
            metadata={"voice_profile": profile} if profile else None,
        )

    def periodic_usage(self) -> list[SpeechEvent]:
        """RECOGNITION_USAGE for the audio not yet reported, when :meth:`usage_due`."""
        return self.usage_events(self.request_id) if self.usage_due() else []

    def usage_due(self) -> bool:
        """Whether at least :attr:`usage_interval_samples` samples are unreported."""
        return self.unreported_samples >= self._usage_interval_samples

    def report_usage(self) -> list[SpeechEvent]:
        """RECOGNITION_USAGE for every sample not yet reported, if any (on ``endTurn`` and at
        end of input)."""
        return self.usage_events(self.request_id)


# -- the client session ------------------------------------------------------------------------


class TranscribeClientSession:
    """The client side of one Inworld STT connection (SPEC §5.3).

    ``config`` is the ``transcribeConfig`` to open with (see
    :func:`~voicewire.reference.inworld.wire.stt_messages.transcribe_config`); ``clock`` returns
    the current time in seconds; ``close_timeout`` is how long, after ``closeStream``, the
    client waits for the server's next message or close (:meth:`check_close_deadline`).
    ``tracker`` belongs to the stream and outlives the connection: pass the previous
    session's (or use :meth:`reconnect`). ``request_id`` only serves when no tracker is passed.

    A shell drives it like this::

        ws.send(session.start())
        out = session.push_audio(pcm)     # and end_turn(), close_stream()
        emit each of out.events; ws.send each of out.frames
        # on a text frame: emit each of session.receive_frame(text)
        # on the socket's close: session.receive_close(code)
        # at session.close_deadline: session.check_close_deadline() raises
    """

    def __init__(
        self,
        config: TranscribeConfigMessage,
        *,
        clock: Callable[[], float],
        tracker: InworldSegmentTracker | None = None,
        request_id: str = "",
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
    ) -> None:
        if not isinstance(config, TranscribeConfigMessage):
            raise TypeError(
                f"config must be a TranscribeConfigMessage, got {type(config).__name__}"
            )
        if not callable(clock):
            raise TypeError("clock must be a callable returning seconds")
        if isinstance(close_timeout, bool) or not isinstance(close_timeout, (int, float)):
            raise TypeError(f"close_timeout must be a number, got {type(close_timeout).__name__}")
        if not (math.isfinite(close_timeout) and close_timeout >= 0):
            raise ValueError(f"close_timeout must be a finite number >= 0, got {close_timeout!r}")
        body = config.transcribeConfig
        if tracker is None:
            tracker = InworldSegmentTracker(
                sample_rate=body.sampleRateHertz, language=body.language, request_id=request_id
            )
        elif tracker.sample_rate != body.sampleRateHertz:
            raise ValueError(
                f"the tracker runs at {tracker.sample_rate} Hz but transcribeConfig says "
                f"{body.sampleRateHertz} Hz"
            )
        self._config = config
        self._clock = clock
        self._tracker = tracker
        self._close_timeout = float(close_timeout)
        self._state = TranscribeState.CONNECTING
        self._last_heard: float | None = None

    # -- state ---------------------------------------------------------------------------------

    @property
    def state(self) -> TranscribeState:
        """Where the connection stands."""
        return self._state

    @property
    def tracker(self) -> InworldSegmentTracker:
        """The stream's segment tracker."""
        return self._tracker

    @property
    def config_message(self) -> TranscribeConfigMessage:
        """The ``transcribeConfig`` this session opens with."""
        return self._config

    @property
    def sample_rate(self) -> int:
        """The stream's sample rate in Hz."""
        return self._config.transcribeConfig.sampleRateHertz

    @property
    def num_channels(self) -> int:
        """The stream's channel count."""
        return self._config.transcribeConfig.numberOfChannels

    @property
    def input_ended(self) -> bool:
        """Whether ``closeStream`` was sent."""
        return self._last_heard is not None

    @property
    def close_deadline(self) -> float | None:
        """When, on the clock, the client gives up waiting for the server to close: armed by
        ``closeStream``, pushed back by every message received; ``None`` before
        ``closeStream`` and once closed."""
        if self._last_heard is None or self._state is not TranscribeState.CLOSING:
            return None
        return self._last_heard + self._close_timeout

    # -- what the client sends -----------------------------------------------------------------

    def start(self) -> str:
        """``transcribeConfig``, the first message, sent at once after the upgrade."""
        if self._state is not TranscribeState.CONNECTING:
            raise LocalProtocolError("IW-STT-C-1", "transcribeConfig was already sent", self._state)
        self._state = TranscribeState.OPEN
        return encode_transcribe_message(self._config)

    def push_audio(self, pcm: bytes | bytearray | memoryview) -> TranscribeOutput:
        """One pushed frame (PCM s16le at the configured rate and channels): its
        ``audioChunk`` (none for an empty frame), and a usage event first when
        :data:`USAGE_INTERVAL` seconds of audio are unreported (IW-STT-USG-1)."""
        self._require_open("send audio")
        data = bytes(pcm)
        width = 2 * self.num_channels
        if len(data) % width:
            raise LocalProtocolError(
                "IW-STT-C-1",
                f"{len(data)} bytes of audio: not whole LINEAR16 frames of "
                f"{self.num_channels} channel(s)",
                self._state,
            )
        frames = []
        for chunk in self.audio_chunks(data):
            # Counted as sent when framed, as upstream counts a frame when it takes it.
            self._tracker.audio_sent(len(chunk) // width)
            frames.append(self.audio_frame(chunk))
        return TranscribeOutput(tuple(frames), tuple(self._tracker.periodic_usage()))

    def end_turn(self) -> TranscribeOutput:
        """``endTurn`` (the stream's flush), after the usage of the audio not yet reported."""
        self._require_open("send endTurn")
        return TranscribeOutput(
            (encode_transcribe_message(EndTurn()),), tuple(self._tracker.report_usage())
        )

    def close_stream(self) -> TranscribeOutput:
        """``closeStream``, once, after the usage of the audio not yet reported; nothing may
        follow it. Arms :attr:`close_deadline`."""
        if self._state is TranscribeState.CLOSING:
            raise LocalProtocolError("IW-STT-C-1", "closeStream was already sent", self._state)
        self._require_open("send closeStream")
        self._state = TranscribeState.CLOSING
        self._last_heard = self._clock()
        return TranscribeOutput(
            (encode_transcribe_message(CloseStream()),), tuple(self._tracker.report_usage())
        )

    def reconnect(self) -> TranscribeClientSession:
        """The session of the next attempt: a new connection opening with the same
        ``transcribeConfig``, clock and tracker (the open segment and the unreported audio
        carry over). It starts in :attr:`TranscribeState.CONNECTING`."""
        # type(self): a subclass's sessions stay that subclass across reconnects.
        return type(self)(
            self._config,
            clock=self._clock,
            tracker=self._tracker,
            close_timeout=self._close_timeout,
        )

    # -- the seams of sending ------------------------------------------------------------------

    def audio_chunks(self, pcm: bytes) -> list[bytes]:
        """The pieces one pushed frame is sent in: the frame itself, whole, never re-chunked
        (IW-STT-C-1); nothing for an empty frame."""
        return [pcm] if pcm else []

    def audio_frame(self, chunk: bytes) -> str:
        """The ``audioChunk`` frame carrying ``chunk``, bytes exact."""
        return encode_transcribe_message(TranscribeAudioChunk.from_pcm(chunk))

    # -- what the client receives --------------------------------------------------------------

    def receive_frame(self, frame: str | bytes | bytearray | memoryview) -> list[SpeechEvent]:
        """One frame from the server in, the SpeechEvents it makes out.

        A message of an unknown kind is ignored (CLI-ROB-1). A binary or malformed frame
        raises :class:`~voicewire.reference.json_wire.RemoteProtocolError` citing CLI-ROB-1,
        with the :class:`~voicewire.reference.json_wire.MalformedMessage` as its cause;
        everything else is as :meth:`receive`.
        """
        self._require_receiving()
        self._heard()
        try:
            message = decode_transcribe_server_message(frame)
        except UnknownMessageType:
            return []
        except MalformedMessage as exc:
            raise RemoteProtocolError("CLI-ROB-1", str(exc), self._state) from exc
        return self.receive(message)

    def receive(self, message: TranscribeServerMessage) -> list[SpeechEvent]:
        """One server message in, the SpeechEvents it makes out (the tracker's, IW-STT-ORD-1).

        Raises ``APIStatusError`` for an ``error`` frame (its gRPC code as the status,
        retryable as :func:`is_retryable_transcribe_error` says) and
        :class:`~voicewire.reference.json_wire.RemoteProtocolError` for a result before
        ``transcribeConfig`` was sent (IW-STT-S-1) or after the connection closed.
        """
        self._require_receiving()
        self._heard()
        if isinstance(message, TranscribeErrorMessage):
            raise self.error_of(message.error)
        if self._state is TranscribeState.CONNECTING:
            raise RemoteProtocolError(
                "IW-STT-S-1", f"{message.kind} before transcribeConfig was sent", self._state
            )
        return self._tracker.receive(message)

    def error_of(self, error: TranscribeError) -> APIStatusError:
        """The error an ``error`` frame ends the attempt with."""
        return APIStatusError(
            f"Inworld STT returned an error: {error.message}",
            status_code=error.code,
            body={"error": error.model_dump(mode="json")},
            retryable=is_retryable_transcribe_error(error.code),
        )

    def receive_close(self, code: int | None = None) -> None:
        """The socket closed with ``code`` (``None``: no close frame). After ``closeStream``
        a close 1000 ends the stream cleanly; another code, or none, is a non-retryable
        ``APIConnectionError`` (input is over: a retry could hear nothing new). Before
        ``closeStream`` any close is a retryable ``APIConnectionError`` (IW-STT-END-1)."""
        state = self._state
        self._state = TranscribeState.CLOSED
        shown = "no close frame" if code is None else f"close code {code}"
        if state is TranscribeState.CLOSING:
            if code != TRANSCRIBE_NORMAL_CLOSURE:
                raise APIConnectionError(
                    f"Inworld STT ended the stream after closeStream with {shown}, not 1000",
                    retryable=False,
                )
            return
        if state is not TranscribeState.CLOSED:
            raise APIConnectionError(
                f"Inworld STT closed the stream before closeStream was sent ({shown})",
                retryable=True,
            )

    def check_close_deadline(self) -> None:
        """Raise a non-retryable ``APITimeoutError`` once :attr:`close_deadline` has passed:
        the server neither closed nor said anything for ``close_timeout`` seconds after
        ``closeStream`` (IW-STT-S-1 broken; CLI-ROB-1: never a hang)."""
        deadline = self.close_deadline
        if deadline is not None and self._clock() >= deadline:
            self._state = TranscribeState.CLOSED
            raise APITimeoutError(
                f"Inworld STT did not close the stream within {self._close_timeout:g} s "
                "after closeStream",
                retryable=False,
            )

    # -- helpers -------------------------------------------------------------------------------

    def _heard(self) -> None:
        if self._last_heard is not None:
            self._last_heard = self._clock()

    def _require_open(self, action: str) -> None:
        if self._state is TranscribeState.OPEN:
            return
        if self._state is TranscribeState.CONNECTING:
            why = "transcribeConfig must be sent first"
        elif self._state is TranscribeState.CLOSING:
            why = "closeStream was sent: nothing follows it"
        else:
            why = "the connection is closed"
        raise LocalProtocolError("IW-STT-C-1", f"cannot {action}: {why}", self._state)

    def _require_receiving(self) -> None:
        if self._state is TranscribeState.CLOSED:
            raise RemoteProtocolError(
                "IW-STT-END-1", "a message after the connection closed", self._state
            )


# -- the server session ------------------------------------------------------------------------


class TranscribeServerSession:
    """The server side of one Inworld STT connection (SPEC §5.3).

    :meth:`receive_frame` checks each client frame against the state and returns the message;
    a :class:`~voicewire.reference.json_wire.RemoteProtocolError` is answered with
    :meth:`reject` (Inworld's error frame; the socket stays usable), except for a binary
    frame, which SRV-3 answers with close 1003. :meth:`send` builds every server frame and
    refuses what IW-STT-S-1 forbids. When :attr:`close_code` is set (``closeStream`` arrived),
    send the pending finals and close with it; then call :meth:`connection_closed`.
    """

    def __init__(self) -> None:
        self._state = TranscribeState.CONNECTING
        self._config: TranscribeConfigMessage | None = None
        self._samples_received = 0

    # -- state ---------------------------------------------------------------------------------

    @property
    def state(self) -> TranscribeState:
        """Where the connection stands."""
        return self._state

    @property
    def config_message(self) -> TranscribeConfigMessage | None:
        """The client's ``transcribeConfig``; ``None`` before it arrived."""
        return self._config

    @property
    def sample_rate(self) -> int | None:
        """The stream's sample rate in Hz, once configured."""
        return self._config.sample_rate if self._config is not None else None

    @property
    def samples_received(self) -> int:
        """Samples of audio received: the stream's audio clock, in samples."""
        return self._samples_received

    @property
    def close_code(self) -> int | None:
        """1000 once ``closeStream`` arrived (send the pending finals, then close), else
        ``None`` (IW-STT-S-1)."""
        return TRANSCRIBE_NORMAL_CLOSURE if self._state is TranscribeState.CLOSING else None

    # -- what the server receives --------------------------------------------------------------

    def receive_frame(self, frame: str | bytes | bytearray | memoryview) -> TranscribeClientMessage:
        """One client frame in, its message out, after :meth:`receive` checked it.

        Raises :class:`~voicewire.reference.json_wire.RemoteProtocolError` for a binary frame
        (SRV-3), a frame that is no client message (SRV-1), a malformed message (IW-STT-C-1)
        and everything :meth:`receive` refuses.
        """
        if isinstance(frame, (bytes, bytearray, memoryview)):
            raise RemoteProtocolError(
                "SRV-3", "a binary frame where a JSON text frame is expected", self._state
            )
        try:
            message = decode_transcribe_client_message(frame)
        except UnknownMessageType as exc:
            raise RemoteProtocolError("SRV-1", str(exc), self._state) from exc
        except MalformedMessage as exc:
            rule = "IW-STT-C-1" if exc.message_type in TRANSCRIBE_CLIENT_MESSAGE_KINDS else "SRV-1"
            raise RemoteProtocolError(rule, str(exc), self._state) from exc
        self.receive(message)
        return message

    def receive(self, message: TranscribeClientMessage) -> None:
        """Check one client message against the state and apply it.

        Refused (state unchanged): anything before ``transcribeConfig`` and a second one, a
        config this server does not serve (:meth:`check_config`), audio that is not whole
        samples, and anything after ``closeStream`` or the close (IW-STT-C-1).
        """
        state = self._state
        if state is TranscribeState.CLOSED:
            raise RemoteProtocolError(
                "IW-STT-C-1", f"{message.kind} after the connection closed", state
            )
        if state is TranscribeState.CLOSING:
            raise RemoteProtocolError("IW-STT-C-1", f"{message.kind} after closeStream", state)
        if state is TranscribeState.CONNECTING:
            if not isinstance(message, TranscribeConfigMessage):
                raise RemoteProtocolError(
                    "IW-STT-C-1", f"{message.kind} before transcribeConfig", state
                )
            self.check_config(message)
            self._config = message
            self._state = TranscribeState.OPEN
            return
        if isinstance(message, TranscribeConfigMessage):
            raise RemoteProtocolError("IW-STT-C-1", "a second transcribeConfig", state)
        if isinstance(message, TranscribeAudioChunk):
            self._samples_received += self.samples_of(message)
        elif isinstance(message, CloseStream):
            self._state = TranscribeState.CLOSING
        # endTurn changes nothing here: what it finalises is the transcriber's business.

    def check_config(self, config: TranscribeConfigMessage) -> None:
        """Refuse a configuration this server does not serve: more than one channel (the
        encoding, ``LINEAR16``, is checked when the frame is read)."""
        channels = config.transcribeConfig.numberOfChannels
        if channels != 1:
            raise RemoteProtocolError(
                "IW-STT-C-1",
                f"numberOfChannels {channels}: this server transcribes mono audio only",
                self._state,
            )

    def samples_of(self, message: TranscribeAudioChunk) -> int:
        """The samples an ``audioChunk`` carries; refuses bytes that are not whole samples."""
        size = len(message.pcm)
        if size % 2:
            raise RemoteProtocolError(
                "IW-STT-C-1", f"{size} bytes of audio: not whole LINEAR16 samples", self._state
            )
        return size // 2

    # -- what the server sends -----------------------------------------------------------------

    def send(self, message: TranscribeServerMessage) -> str:
        """The frame for ``message``, if the state allows it (else
        :class:`~voicewire.reference.json_wire.LocalProtocolError`): results only once
        ``transcribeConfig`` arrived (pending finals after ``closeStream`` too), nothing
        after the close."""
        state = self._state
        if state is TranscribeState.CLOSED:
            raise LocalProtocolError("IW-STT-S-1", f"cannot send {message.kind}: closed", state)
        if state is TranscribeState.CONNECTING and not isinstance(message, TranscribeErrorMessage):
            raise LocalProtocolError(
                "IW-STT-S-1", f"{message.kind} before transcribeConfig was received", state
            )
        return encode_transcribe_message(message)

    def reject(
        self, error: ProtocolError | MalformedMessage, *, code: int = INVALID_ARGUMENT
    ) -> str:
        """The error frame answering a refused client message (SRV-1):
        ``{"error": {"code": 3, "message": ...}}`` by default."""
        return self.send(
            TranscribeErrorMessage(error=TranscribeError(code=code, message=str(error)))
        )

    def connection_closed(self) -> None:
        """The socket closed; the session is over."""
        self._state = TranscribeState.CLOSED
