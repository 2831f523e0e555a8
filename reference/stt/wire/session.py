"""The session state machines of LiveKit inference STT, one per role (SPEC §3), sans-IO.

In the style of h11 and wsproto: small objects with an explicit :class:`SessionState`, frames
in and frames out, time read from an injected clock, no sockets, no event loop, no sleeping.

- :class:`ClientSession` is one connection of a client's speech stream. Its methods build what
  the client sends (``session.create`` first, STT-C-1; exact 50 ms ``input_audio`` frames,
  STT-C-2; ``session.finalize`` once, STT-C-3; ``session.close`` when the server lingers,
  STT-C-4, as a deadline on the clock; ``session.update``, STT-C-5) and raise
  :class:`LocalProtocolError` when the state forbids it. What it receives goes through the
  :class:`~voicewire.reference.stt.wire.tracker.SegmentTracker` and comes back as SpeechEvents;
  a server breaking the protocol raises :class:`RemoteProtocolError`, an ``error`` message or an
  early close an ``APIStatusError`` (STT-END-1).
- :class:`ServerSession` is the server's side of one connection: it checks what the client
  sends (:class:`RemoteProtocolError`, which the server answers with an ``error`` 400 through
  :meth:`ServerSession.reject`, STT-S-1) and refuses to send what STT-S-1/STT-S-2 forbid
  (:class:`LocalProtocolError`).

A protocol error names the rule and the state: ``STT-C-3: session.finalize was already sent
(state finalizing)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

from voicewire.reference.audio import AudioFrame
from voicewire.reference.errors import APIStatusError
from voicewire.reference.json_wire import LocalProtocolError, ProtocolError, RemoteProtocolError
from voicewire.reference.stt.speech import SpeechEvent
from voicewire.reference.stt.wire.framing import AudioFramer, frame_samples
from voicewire.reference.stt.wire.messages import (
    ClientMessage,
    CreateSettings,
    ErrorMessage,
    FinalTranscript,
    InputAudio,
    InterimTranscript,
    MalformedMessage,
    ServerMessage,
    SessionClose,
    SessionClosed,
    SessionCreate,
    SessionCreated,
    SessionFinalize,
    SessionFinalized,
    SessionUpdate,
    StartOfSpeech,
    UnknownMessageType,
    UpdateSettings,
    decode_client_message,
    decode_server_message,
    encode_message,
)
from voicewire.reference.stt.wire.tracker import SegmentTracker

__all__ = [
    "BAD_REQUEST",
    "FINALIZATION_TIMEOUT",
    "FINAL_TRANSCRIPT_INACTIVITY_TIMEOUT",
    "NORMAL_CLOSURE",
    "ClientSession",
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
    "ServerSession",
    "SessionState",
    "is_retryable_error_code",
]

NORMAL_CLOSURE = 1000
"""The WebSocket close code that ends a session normally (STT-C-4, STT-S-2)."""

BAD_REQUEST = 400
"""The ``error`` code that answers an unparseable or out-of-order client message (STT-S-1)."""

FINAL_TRANSCRIPT_INACTIVITY_TIMEOUT = 3.0
"""Seconds the client waits for the server to close after input ended once a final was seen
(STT-C-4; upstream's constant of the same name)."""

FINALIZATION_TIMEOUT = 30.0
"""Seconds the client waits for the server to close after input ended when no final has been
seen (STT-C-4; upstream's constant of the same name)."""


class SessionState(str, Enum):
    """Where a connection stands, from one role's point of view."""

    CONNECTING = "connecting"
    """Client: ``session.create`` not sent yet. Server: not received yet."""
    OPEN = "open"
    """The session exists; audio flows."""
    FINALIZING = "finalizing"
    """``session.finalize`` was sent (client) or received (server): input has ended."""
    FINALIZED = "finalized"
    """``session.finalized`` was received (client) or sent (server); the server closes next."""
    CLOSING = "closing"
    """``session.close`` or ``session.closed`` went out: the socket closes next, with 1000."""
    CLOSED = "closed"
    """The session is over."""


def is_retryable_error_code(code: int) -> bool:
    """Whether a server ``error`` with this ``code`` may be retried: yes unless it is a 4xx
    other than 408 and 429 (STT-END-1)."""
    return not (400 <= code <= 499 and code not in (408, 429))


# The rule a state cites when it forbids sending audio, a finalize or a close.
_CLIENT_SEND_RULES: Mapping[SessionState, tuple[str, str]] = {
    SessionState.CONNECTING: ("STT-C-1", "session.create must be sent first"),
    SessionState.FINALIZING: ("STT-C-3", "input has ended: session.finalize was sent"),
    SessionState.FINALIZED: ("STT-C-3", "input has ended: session.finalize was sent"),
    SessionState.CLOSING: ("STT-C-4", "session.close was sent: the socket closes next"),
    SessionState.CLOSED: ("STT-END-1", "the session is over"),
}

_TRANSCRIPTS = (InterimTranscript, FinalTranscript)
_SPEECH = (InterimTranscript, FinalTranscript, StartOfSpeech)


class ClientSession:
    """The client side of one STT connection (SPEC §3.1, §3.3).

    ``create`` is the ``session.create`` to open with (see
    :func:`~voicewire.reference.stt.wire.messages.session_create`); ``clock`` returns the
    current time in seconds (the shell's ``loop.time``, a fake in tests). ``tracker`` and
    ``framer`` belong to the stream and outlive the connection: pass the previous session's
    (or use :meth:`reconnect`) so that segments, usage and the held audio carry over.
    ``request_id`` is the stream's own id, for transcripts that carry none (STT-ORD-5); it
    only serves when no ``tracker`` is passed.

    ``strict`` (the default) holds the server to STT-S-2's order: no ``session.finalized``
    before ``session.finalize``, no transcript after ``session.finalized``. With
    ``strict=False`` those are accepted, as upstream accepts them (it treats the
    acknowledgement as optional and possibly early). STT-S-1 and what follows
    ``session.closed`` are enforced either way.

    A shell drives it like this::

        ws.send(session.create())
        for frame in session.push_audio(pcm): ws.send(frame)     # and flush(), update()
        for frame in session.end_input(): ws.send(frame)
        # on a text frame: emit each of session.receive_frame(text)
        # on the socket's close: session.receive_close(code)
        # when the clock reaches session.close_deadline: send session.tick(), close 1000
        # stop reading once session.state is CLOSING or CLOSED
    """

    def __init__(
        self,
        create: SessionCreate,
        *,
        clock: Callable[[], float],
        tracker: SegmentTracker | None = None,
        framer: AudioFramer | None = None,
        strict: bool = True,
        request_id: str = "",
    ) -> None:
        if not isinstance(create, SessionCreate):
            raise TypeError(f"create must be a SessionCreate, got {type(create).__name__}")
        if not callable(clock):
            raise TypeError("clock must be a callable returning seconds")
        rate = create.sample_rate
        if tracker is None:
            tracker = SegmentTracker(
                sample_rate=rate, language=create.settings.language, request_id=request_id
            )
        if framer is None:
            framer = AudioFramer(rate)
        for name, part in (("tracker", tracker), ("framer", framer)):
            if part.sample_rate != rate:
                raise ValueError(
                    f"the {name} runs at {part.sample_rate} Hz but session.create says {rate} Hz"
                )
        self._create = create
        self._clock = clock
        self._tracker = tracker
        self._framer = framer
        self._strict = strict
        self._state = SessionState.CONNECTING
        self._server_created = False
        self._final_seen = False
        self._input_ended_at: float | None = None
        self._last_transcript_at = -math.inf
        self._closed_by_server = False

    # -- state ---------------------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        """Where the connection stands."""
        return self._state

    @property
    def tracker(self) -> SegmentTracker:
        """The stream's segment tracker."""
        return self._tracker

    @property
    def framer(self) -> AudioFramer:
        """The stream's audio framer."""
        return self._framer

    @property
    def strict(self) -> bool:
        """Whether STT-S-2's order is enforced on the server."""
        return self._strict

    @property
    def sample_rate(self) -> int:
        """The session's sample rate in Hz."""
        return self._create.sample_rate

    @property
    def create_message(self) -> SessionCreate:
        """The ``session.create`` for the options as they are now: the one this session opens
        with, updated by every :meth:`update` (what a reconnect sends, STT-C-5)."""
        return self._create

    @property
    def server_created(self) -> bool:
        """Whether ``session.created`` arrived (informational: nothing waits for it)."""
        return self._server_created

    @property
    def input_ended(self) -> bool:
        """Whether ``session.finalize`` was sent."""
        return self._input_ended_at is not None

    @property
    def close_deadline(self) -> float | None:
        """When the client gives up on the server closing (STT-C-4), on the clock; ``None``
        unless input has ended and the session is still open.

        Armed when input ends and pushed back by every transcript that arrives: 3 s after the
        later of the two once a final has been seen, else 30 s.
        """
        if self._input_ended_at is None or self._state not in (
            SessionState.FINALIZING,
            SessionState.FINALIZED,
        ):
            return None
        anchor = max(self._input_ended_at, self._last_transcript_at)
        wait = FINAL_TRANSCRIPT_INACTIVITY_TIMEOUT if self._final_seen else FINALIZATION_TIMEOUT
        return anchor + wait

    # -- what the client sends -----------------------------------------------------------------

    def create(self) -> str:
        """``session.create``, the first message, sent without waiting (STT-C-1)."""
        if self._state is not SessionState.CONNECTING:
            raise LocalProtocolError("STT-C-1", "session.create was already sent", self._state)
        self._state = SessionState.OPEN
        return encode_message(self._create)

    def push_audio(self, pcm: bytes | bytearray | memoryview | AudioFrame) -> list[str]:
        """Audio in (PCM s16le mono at the session's rate, cut anywhere), the complete 50 ms
        ``input_audio`` frames out; the remainder waits for more audio or a flush (STT-C-2)."""
        self._require_open("send audio")
        return self._audio_frames(self._framer.push(pcm))

    def flush(self) -> list[str]:
        """The held remainder as one shorter ``input_audio`` frame (none if nothing is held):
        the only place besides the finalize where STT-C-2 allows a short frame."""
        self._require_open("flush audio")
        return self._flush()

    def end_input(self) -> list[str]:
        """Input has ended: the held remainder, then ``session.finalize``, exactly once
        (STT-C-3). Arms the close deadline (STT-C-4)."""
        if self._state in (SessionState.FINALIZING, SessionState.FINALIZED):
            raise LocalProtocolError("STT-C-3", "session.finalize was already sent", self._state)
        self._require_open("send session.finalize")
        frames = self._flush()
        self._input_ended_at = self._clock()
        self._state = SessionState.FINALIZING
        return [*frames, encode_message(SessionFinalize())]

    def update(
        self,
        *,
        model: str | None = None,
        language: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> str | None:
        """Change options mid-stream (STT-C-5): returns the ``session.update`` to send, or
        ``None`` when no session is live to send it to (before ``session.create``, after the
        close), in which case the change only goes into :attr:`create_message`.

        ``model`` goes inside ``settings`` here; ``extra`` is merged into the current extra;
        a new ``language`` also becomes the default language of transcripts (STT-ORD-5).
        """
        if model is None and language is None and extra is None:
            raise ValueError("nothing to update: give model, language or extra")
        current = self._create.settings
        settings = CreateSettings(
            sample_rate=current.sample_rate,
            encoding=current.encoding,
            extra={**current.extra, **(extra or {})},
            language=language if language is not None else current.language,
        )
        new_model = self._create.model if model is None else model
        self._create = SessionCreate(
            settings=settings,
            # session.create leaves "auto" out (STT-C-1); session.update sends what was asked.
            model=new_model if new_model and new_model != "auto" else None,
            fallback=self._create.fallback,
            connection=self._create.connection,
        )
        if language is not None:
            self._tracker.language = language
        if self._state not in (
            SessionState.OPEN,
            SessionState.FINALIZING,
            SessionState.FINALIZED,
        ):
            return None
        delta = UpdateSettings(
            model=model, language=language, extra=dict(extra) if extra is not None else None
        )
        return encode_message(SessionUpdate(settings=delta))

    def close(self) -> str:
        """``session.close``: the client ends the session (STT-C-4 when the server lingers
        after input ended; also when the stream is abandoned). Close the socket with
        :data:`NORMAL_CLOSURE` next."""
        if self._state in (SessionState.CONNECTING, SessionState.CLOSING, SessionState.CLOSED):
            rule, why = _CLIENT_SEND_RULES[self._state]
            raise LocalProtocolError(rule, f"cannot send session.close: {why}", self._state)
        self._state = SessionState.CLOSING
        return encode_message(SessionClose())

    def tick(self) -> list[str]:
        """What the clock makes the client send now: ``session.close`` once the close
        deadline has passed (STT-C-4), else nothing. Call it when the clock reaches
        :attr:`close_deadline` (calling it earlier or more often is harmless)."""
        deadline = self.close_deadline
        if deadline is None or self._clock() < deadline:
            return []
        return [self.close()]

    def reconnect(self, *, offset: float | None = None) -> ClientSession:
        """The session of the next attempt (STT-RETRY-1): a new connection opening with
        :attr:`create_message` (the options as updated), the same clock, framer and tracker,
        the tracker's offset moved forward (see :meth:`SegmentTracker.reconnect`).

        The new session starts in :attr:`SessionState.CONNECTING`; if input had already ended,
        the shell sends its :meth:`create` and then its :meth:`end_input` again (STT-C-3 holds
        per session).
        """
        self._tracker.reconnect(offset)
        # type(self): a subclass's sessions stay that subclass across reconnects.
        return type(self)(
            self._create,
            clock=self._clock,
            tracker=self._tracker,
            framer=self._framer,
            strict=self._strict,
        )

    # -- what the client receives --------------------------------------------------------------

    def receive_frame(self, frame: str | bytes | bytearray | memoryview) -> list[SpeechEvent]:
        """One frame from the server in, the SpeechEvents it makes out.

        A message of an unknown type is ignored (CLI-ROB-1). A binary or malformed frame
        raises :class:`RemoteProtocolError` citing CLI-ROB-1, with the
        :class:`~voicewire.reference.stt.wire.messages.MalformedMessage` as its cause;
        everything else is as :meth:`receive`.
        """
        self._require_receiving()
        try:
            message = decode_server_message(frame)
        except UnknownMessageType:
            return []
        except MalformedMessage as exc:
            raise RemoteProtocolError("CLI-ROB-1", str(exc), self._state) from exc
        return self.receive(message)

    def receive(self, message: ServerMessage) -> list[SpeechEvent]:
        """One server message in, the SpeechEvents it makes out (the tracker's, STT-ORD-*).

        Raises :class:`RemoteProtocolError` for a message out of order: speech before
        ``session.create`` was sent (STT-S-1), anything after ``session.closed``, and, when
        :attr:`strict`, STT-S-2's order. Raises ``APIStatusError`` (STT-END-1) for an
        ``error`` message (retryable unless its code is a 4xx other than 408/429, see
        :func:`is_retryable_error_code`) and for ``session.closed`` before input ended
        (retryable). The state does not change when it raises, except that
        ``session.closed`` always ends the session.
        """
        self._require_receiving()
        state = self._state
        if isinstance(message, ErrorMessage):
            raise APIStatusError(
                f"LiveKit Inference STT returned an error: {message.message}",
                status_code=message.code,
                body=message.model_dump(mode="json"),
                retryable=is_retryable_error_code(message.code),
            )
        if isinstance(message, SessionClosed):
            self._state = SessionState.CLOSED
            self._closed_by_server = True
            if self._input_ended_at is None and state is not SessionState.CLOSING:
                raise APIStatusError(
                    "LiveKit Inference STT session closed before input ended",
                    status_code=-1,
                    retryable=True,
                )
            return []
        if isinstance(message, SessionCreated):
            self._server_created = True
            return []
        if isinstance(message, SessionFinalized):
            if state is SessionState.FINALIZING:
                self._state = SessionState.FINALIZED
            elif self._strict and state in (SessionState.CONNECTING, SessionState.OPEN):
                raise RemoteProtocolError(
                    "STT-S-2", "session.finalized before session.finalize was sent", state
                )
            return []
        if isinstance(message, _SPEECH):
            if state is SessionState.CONNECTING:
                raise RemoteProtocolError(
                    "STT-S-1", f"{message.type} before session.create was sent", state
                )
            if self._strict and state is SessionState.FINALIZED:
                raise RemoteProtocolError(
                    "STT-S-2", f"{message.type} after session.finalized", state
                )
            if isinstance(message, _TRANSCRIPTS):
                self._last_transcript_at = self._clock()
                self._final_seen = self._final_seen or isinstance(message, FinalTranscript)
        return self._tracker.receive(message)

    def receive_close(self, code: int | None = None) -> None:
        """The socket closed with ``code`` (``None``: no close frame). After input ended, or
        after the client's own ``session.close`` or the server's ``session.closed``, this ends
        the stream cleanly; before, it raises a retryable ``APIStatusError`` whose status is
        the close code, or -1 (STT-END-1)."""
        state = self._state
        self._state = SessionState.CLOSED
        if state in (SessionState.CONNECTING, SessionState.OPEN):
            raise APIStatusError(
                "LiveKit Inference STT connection closed unexpectedly",
                status_code=code if isinstance(code, int) and not isinstance(code, bool) else -1,
                retryable=True,
            )

    # -- helpers -------------------------------------------------------------------------------

    def _require_open(self, action: str) -> None:
        if self._state is not SessionState.OPEN:
            rule, why = _CLIENT_SEND_RULES[self._state]
            raise LocalProtocolError(rule, f"cannot {action}: {why}", self._state)

    def _require_receiving(self) -> None:
        if self._state is SessionState.CLOSED:
            if self._closed_by_server:
                raise RemoteProtocolError("STT-S-2", "a message after session.closed", self._state)
            raise RemoteProtocolError(
                "STT-END-1", "a message after the connection closed", self._state
            )

    def _flush(self) -> list[str]:
        try:
            remainder = self._framer.flush()
        except ValueError as exc:
            raise LocalProtocolError("STT-C-2", str(exc), self._state) from exc
        return self._audio_frames([remainder] if remainder is not None else [])

    def _audio_frames(self, chunks: list[bytes]) -> list[str]:
        frames = []
        for chunk in chunks:
            # Counted as sent when framed, as upstream counts it (STT-USG-1).
            self._tracker.audio_sent(len(chunk) // 2)
            frames.append(encode_message(InputAudio.from_pcm(chunk)))
        return frames


# The rule a client breaks by sending each message type malformed or out of order.
_CLIENT_MESSAGE_RULES: Mapping[str, str] = {
    "session.create": "STT-C-1",
    "input_audio": "STT-C-2",
    "session.finalize": "STT-C-3",
    "session.close": "STT-C-4",
    "session.update": "STT-C-5",
}


class ServerSession:
    """The server side of one STT connection (SPEC §3.2).

    :meth:`receive_frame` checks each client frame against the state (STT-C-1..5 as the server
    sees them) and returns the message; a :class:`RemoteProtocolError` is answered with
    :meth:`reject` (an ``error`` 400, the socket stays usable, STT-S-1), except for a binary
    frame, which SRV-3 answers with close 1003. :meth:`send` builds every server frame and
    refuses what STT-S-1/STT-S-2 forbid. When :attr:`close_code` is set, close the socket with
    it; then call :meth:`connection_closed`.
    """

    def __init__(self) -> None:
        self._state = SessionState.CONNECTING
        self._create: SessionCreate | None = None
        self._frame_samples = 0
        self._samples_received = 0
        self._closed_by_client = False

    # -- state ---------------------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        """Where the connection stands."""
        return self._state

    @property
    def create_message(self) -> SessionCreate | None:
        """The client's ``session.create`` with every ``session.update`` applied; ``None``
        before it arrived."""
        return self._create

    @property
    def sample_rate(self) -> int | None:
        """The session's sample rate in Hz, once ``session.create`` arrived."""
        return self._create.sample_rate if self._create is not None else None

    @property
    def samples_received(self) -> int:
        """Samples of audio received: the session's audio clock, in samples."""
        return self._samples_received

    @property
    def audio_received(self) -> float:
        """Seconds of audio received (0.0 before ``session.create``)."""
        rate = self.sample_rate
        return self._samples_received / rate if rate else 0.0

    @property
    def close_code(self) -> int | None:
        """:data:`NORMAL_CLOSURE` once the protocol says to close the socket (after
        ``session.finalized``, ``session.closed`` or the client's ``session.close``), else
        ``None`` (STT-S-2)."""
        if self._state in (SessionState.FINALIZED, SessionState.CLOSING):
            return NORMAL_CLOSURE
        return None

    # -- what the server receives --------------------------------------------------------------

    def receive_frame(self, frame: str | bytes | bytearray | memoryview) -> ClientMessage:
        """One client frame in, its message out, after :meth:`receive` checked it.

        Raises :class:`RemoteProtocolError` for a binary frame (SRV-3), an unparseable frame
        or unknown type (STT-S-1), a malformed message (the rule of its type: STT-C-1 for
        ``session.create``, ...), and everything :meth:`receive` refuses.
        """
        if isinstance(frame, (bytes, bytearray, memoryview)):
            raise RemoteProtocolError(
                "SRV-3", "a binary frame where a JSON text frame is expected", self._state
            )
        try:
            message = decode_client_message(frame)
        except MalformedMessage as exc:
            rule = _CLIENT_MESSAGE_RULES.get(exc.message_type or "", "STT-S-1")
            raise RemoteProtocolError(rule, str(exc), self._state) from exc
        self.receive(message)
        return message

    def receive(self, message: ClientMessage) -> None:
        """Check one client message against the state and apply it.

        Refused (:class:`RemoteProtocolError`, state unchanged): anything before
        ``session.create`` and a second one (STT-C-1); audio that is not whole s16le samples
        or longer than a 50 ms frame (STT-C-2); audio after ``session.finalize`` and a second
        ``session.finalize`` (STT-C-3); anything after the client's ``session.close``
        (STT-C-4). Messages still in flight after the server's ``session.closed`` are
        accepted and ignored.
        """
        state = self._state
        rule = _CLIENT_MESSAGE_RULES[message.type]
        if state is SessionState.CLOSED:
            raise RemoteProtocolError(rule, f"{message.type} after the connection closed", state)
        if state is SessionState.CLOSING:
            if self._closed_by_client:
                raise RemoteProtocolError("STT-C-4", f"{message.type} after session.close", state)
            return
        if state is SessionState.CONNECTING:
            if not isinstance(message, SessionCreate):
                raise RemoteProtocolError("STT-C-1", f"{message.type} before session.create", state)
            self._create = message
            self._frame_samples = frame_samples(message.sample_rate)
            self._state = SessionState.OPEN
            return
        if isinstance(message, SessionCreate):
            raise RemoteProtocolError("STT-C-1", "a second session.create", state)
        if isinstance(message, InputAudio):
            self._receive_audio(message, state)
        elif isinstance(message, SessionFinalize):
            if state is not SessionState.OPEN:
                raise RemoteProtocolError("STT-C-3", "a second session.finalize", state)
            self._state = SessionState.FINALIZING
        elif isinstance(message, SessionClose):
            self._closed_by_client = True
            self._state = SessionState.CLOSING
        elif isinstance(message, SessionUpdate):
            self._apply_update(message.settings)

    # -- what the server sends -----------------------------------------------------------------

    def send(self, message: ServerMessage) -> str:
        """The frame for ``message``, if the state allows it (else
        :class:`LocalProtocolError`, state unchanged).

        Speech (transcripts, ``start_of_speech``) only once ``session.create`` arrived
        (STT-S-1) and not after ``session.finalized`` (STT-S-2); ``session.finalized`` only
        in answer to ``session.finalize``, once (STT-S-2); nothing after ``session.closed``
        but the close.
        """
        state = self._state
        if state is SessionState.CLOSED or (
            state is SessionState.CLOSING and not self._closed_by_client
        ):
            raise LocalProtocolError("STT-S-2", f"cannot send {message.type}: closed", state)
        if isinstance(message, _SPEECH):
            if state is SessionState.CONNECTING:
                raise LocalProtocolError(
                    "STT-S-1", f"{message.type} before session.create was received", state
                )
            if state in (SessionState.FINALIZED, SessionState.CLOSING):
                raise LocalProtocolError(
                    "STT-S-2", f"{message.type} after the session finished", state
                )
        elif isinstance(message, SessionFinalized):
            if state is not SessionState.FINALIZING:
                raise LocalProtocolError(
                    "STT-S-2", "session.finalized answers session.finalize, once", state
                )
            self._state = SessionState.FINALIZED
        elif isinstance(message, SessionClosed):
            # From now on the server has said its last word, whoever started the close.
            self._state = SessionState.CLOSING
            self._closed_by_client = False
        elif isinstance(message, SessionCreated) and state is SessionState.CLOSING:
            raise LocalProtocolError("STT-S-2", "session.created after session.close", state)
        return encode_message(message)

    def reject(self, error: ProtocolError | MalformedMessage, *, code: int = BAD_REQUEST) -> str:
        """The ``error`` frame answering a refused client message (STT-S-1): ``code`` 400 by
        default, the error's text as ``message``."""
        return self.send(ErrorMessage(message=str(error), code=code))

    def connection_closed(self) -> None:
        """The socket closed; the session is over."""
        self._state = SessionState.CLOSED

    # -- helpers -------------------------------------------------------------------------------

    def _receive_audio(self, message: InputAudio, state: SessionState) -> None:
        if state is not SessionState.OPEN:
            raise RemoteProtocolError("STT-C-3", "input_audio after session.finalize", state)
        size = len(message.pcm)
        if size % 2:
            raise RemoteProtocolError(
                "STT-C-2", f"{size} bytes of audio: not whole s16le samples", state
            )
        samples = size // 2
        if samples > self._frame_samples:
            raise RemoteProtocolError(
                "STT-C-2",
                f"a frame of {samples} samples: longer than 50 ms "
                f"({self._frame_samples} samples at {self.sample_rate} Hz)",
                state,
            )
        self._samples_received += samples

    def _apply_update(self, update: UpdateSettings) -> None:
        # Only reached once session.create arrived.
        assert self._create is not None
        current = self._create.settings
        settings = CreateSettings(
            sample_rate=current.sample_rate,
            encoding=current.encoding,
            extra={**current.extra, **(update.extra or {})},
            language=update.language if update.language is not None else current.language,
        )
        self._create = SessionCreate(
            settings=settings,
            model=update.model if update.model is not None else self._create.model,
            fallback=self._create.fallback,
            connection=self._create.connection,
        )
