"""The connection state machines of LiveKit inference TTS, one per role (SPEC §4), sans-IO.

One WebSocket connection carries one ``session.create`` (first, unprompted, TTS-C-1) and then
any number of syntheses, one after another. Each synthesis is, from the client,
``input_transcript*`` then exactly one ``session.flush`` (TTS-C-2, TTS-C-3); from the server,
``output_audio``/``output_alignment``* then ``done`` (TTS-S-1, TTS-S-2). The socket then goes
back to the client's pool for the next synthesis.

- :class:`TTSClientConnection` is the client's side: its methods build what the client sends
  and raise :class:`~voicewire.reference.json_wire.LocalProtocolError` when the state
  forbids it; what it receives goes through the synthesis's
  :class:`~voicewire.reference.tts.wire.assembler.SynthesisAssembler` and comes back as
  :data:`~voicewire.reference.tts.wire.assembler.SynthesisOutput` items. It knows whether the
  pool may hand it out again (:attr:`TTSClientConnection.reusable`, on the injected clock).
- :class:`TTSServerConnection` is the server's side: it checks each client message
  (:class:`~voicewire.reference.json_wire.RemoteProtocolError` with the rule, answered
  by :meth:`TTSServerConnection.reject`) and refuses to build server messages that break
  TTS-S-1 (``LocalProtocolError``).

The protocol errors are the STT module's classes: a rule, a detail and a state
(``TTS-C-3: a second session.flush (state flushed)``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

from voicewire.reference.json_wire import (
    LocalProtocolError,
    MalformedMessage,
    ProtocolError,
    RemoteProtocolError,
    UnknownMessageType,
)
from voicewire.reference.tts.wire.assembler import (
    DEFAULT_TTS_FRAME_DURATION,
    SynthesisAssembler,
    SynthesisOutput,
)
from voicewire.reference.tts.wire.messages import (
    InputTranscript,
    OutputAlignment,
    OutputAudio,
    SessionFlush,
    SynthesisDone,
    TTSClientMessage,
    TTSErrorMessage,
    TTSServerMessage,
    TTSSessionClosed,
    TTSSessionCreate,
    TTSSessionCreated,
    decode_tts_client_message,
    decode_tts_server_message,
    encode_tts_message,
    input_transcript,
)

__all__ = [
    "TTS_BAD_REQUEST",
    "TTS_MAX_IDLE",
    "TTSClientConnection",
    "TTSConnectionState",
    "TTSServerConnection",
]

TTS_MAX_IDLE = 300.0
"""Seconds a pooled connection may sit idle and still be reused (TTS-C-3; upstream's
``ConnectionPool(max_session_duration=300, mark_refreshed_on_get=True)``)."""

TTS_BAD_REQUEST = 400
"""The ``error`` code that answers an unparseable or out-of-order client message (SRV-1)."""


class TTSConnectionState(str, Enum):
    """Where a TTS connection stands, from one role's point of view."""

    CONNECTING = "connecting"
    """Client: ``session.create`` not sent yet. Server: not received yet."""
    IDLE = "idle"
    """The session exists and no synthesis is in progress: the socket may serve the next."""
    SYNTHESIZING = "synthesizing"
    """A synthesis is in progress and its input is still open (``input_transcript``s)."""
    FLUSHED = "flushed"
    """``session.flush`` was sent (client) or received (server); ``done`` ends it next."""
    FAILED = "failed"
    """Client: a synthesis failed; the socket must be closed, never reused."""
    CLOSING = "closing"
    """Server: ``session.closed`` went out; the socket closes next."""
    CLOSED = "closed"
    """The socket closed."""


_IN_SYNTHESIS = (TTSConnectionState.SYNTHESIZING, TTSConnectionState.FLUSHED)

# Why the client may not send input or a flush in each state that forbids it.
_CLIENT_SEND_RULES: Mapping[TTSConnectionState, tuple[str, str]] = {
    TTSConnectionState.CONNECTING: ("TTS-C-1", "session.create must be sent first"),
    TTSConnectionState.IDLE: ("TTS-C-3", "no synthesis in progress: call start_synthesis"),
    TTSConnectionState.FLUSHED: ("TTS-C-3", "session.flush was already sent"),
    TTSConnectionState.FAILED: ("TTS-OUT-2", "a synthesis failed on this connection"),
    TTSConnectionState.CLOSING: ("TTS-C-3", "the connection is closing"),
    TTSConnectionState.CLOSED: ("TTS-C-3", "the connection is closed"),
}


class TTSClientConnection:
    """The client side of one pooled TTS connection (SPEC §4).

    ``create`` is the ``session.create`` to open with (see
    :func:`~voicewire.reference.tts.wire.messages.tts_session_create`); ``clock`` returns the
    current time in seconds (the shell's ``loop.time``, a fake in tests); ``strict`` is passed
    to each synthesis's assembler (TTS-S-1's ``session_id``).

    A shell drives it like this::

        ws.send(connection.create())                      # once per connection
        assembler = connection.start_synthesis(request_id=...)
        for sentence in sentences: ws.send(connection.push_text(sentence, voice=...))
        ws.send(connection.flush())
        # on a text frame: handle each of connection.receive_frame(text); a SynthesisFailure
        #   is raised as failure.to_exception(); the synthesis ends with the is_final frame
        # on the socket's close: connection.receive_close(code); on a receive timeout:
        #   connection.timed_out(timeout)
        # afterwards: back to the pool if connection.reusable, else close the socket
    """

    def __init__(
        self,
        create: TTSSessionCreate,
        *,
        clock: Callable[[], float],
        strict: bool = True,
        max_idle: float = TTS_MAX_IDLE,
    ) -> None:
        if not isinstance(create, TTSSessionCreate):
            raise TypeError(f"create must be a TTSSessionCreate, got {type(create).__name__}")
        if not callable(clock):
            raise TypeError("clock must be a callable returning seconds")
        self._create = create
        self._clock = clock
        self._strict = strict
        self._max_idle = max_idle
        self._state = TTSConnectionState.CONNECTING
        self._idle_since: float | None = None
        self._assembler: SynthesisAssembler | None = None
        self._syntheses = 0
        self._server_session_id: str | None = None

    # -- state ---------------------------------------------------------------------------------

    @property
    def state(self) -> TTSConnectionState:
        """Where the connection stands."""
        return self._state

    @property
    def create_message(self) -> TTSSessionCreate:
        """The ``session.create`` this connection opens with (fixed for its life: sample rate,
        encoding and fallback never change on an open connection)."""
        return self._create

    @property
    def sample_rate(self) -> int:
        """The session's sample rate in Hz."""
        return self._create.sample_rate_hz

    @property
    def in_synthesis(self) -> bool:
        """Whether a synthesis is in progress (started, ``done`` not received yet)."""
        return self._state in _IN_SYNTHESIS

    @property
    def idle_since(self) -> float | None:
        """When, on the clock, the connection last became idle (``session.create`` sent or a
        synthesis done); ``None`` while it is not idle."""
        return self._idle_since if self._state is TTSConnectionState.IDLE else None

    @property
    def reusable(self) -> bool:
        """Whether the pool may hand the connection out now: idle, and idle for no longer than
        ``max_idle`` seconds (TTS-C-3)."""
        since = self.idle_since
        return since is not None and self._clock() - since <= self._max_idle

    @property
    def syntheses(self) -> int:
        """How many syntheses were started on this connection."""
        return self._syntheses

    @property
    def assembler(self) -> SynthesisAssembler | None:
        """The assembler of the current (or last) synthesis."""
        return self._assembler

    @property
    def server_session_id(self) -> str | None:
        """The ``session_id`` of ``session.created``, if one arrived (informational)."""
        return self._server_session_id

    # -- what the client sends -----------------------------------------------------------------

    def create(self) -> str:
        """``session.create``, the first message, once per connection (TTS-C-1)."""
        if self._state is not TTSConnectionState.CONNECTING:
            raise LocalProtocolError("TTS-C-1", "session.create was already sent", self._state)
        self._state = TTSConnectionState.IDLE
        self._idle_since = self._clock()
        return encode_tts_message(self._create)

    def start_synthesis(
        self,
        *,
        request_id: str = "",
        frame_duration: float = DEFAULT_TTS_FRAME_DURATION,
        space_after_words: bool = False,
    ) -> SynthesisAssembler:
        """Take the idle connection for one synthesis; returns its assembler (also at
        :attr:`assembler`). Sends nothing: the synthesis's first frame is its first
        :meth:`push_text` or its :meth:`flush`."""
        if self._state is not TTSConnectionState.IDLE:
            if self.in_synthesis:
                rule, why = "TTS-C-3", "a synthesis is in progress: done has not arrived"
            else:
                rule, why = _CLIENT_SEND_RULES[self._state]
            raise LocalProtocolError(rule, f"cannot start a synthesis: {why}", self._state)
        self._assembler = SynthesisAssembler(
            sample_rate=self.sample_rate,
            request_id=request_id,
            frame_duration=frame_duration,
            strict=self._strict,
            space_after_words=space_after_words,
        )
        self._syntheses += 1
        self._state = TTSConnectionState.SYNTHESIZING
        return self._assembler

    def push_text(
        self,
        sentence: str,
        *,
        voice: str | None = None,
        model: str | None = None,
        language: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        """One sentence as ``input_transcript``, trailing space added, the options in force in
        ``generation_config`` (TTS-C-2)."""
        return self.send_transcript(
            input_transcript(sentence, voice=voice, model=model, language=language, extra=extra)
        )

    def send_transcript(self, message: InputTranscript) -> str:
        """``message`` as a frame, if the synthesis's input is open (TTS-C-2, TTS-C-3)."""
        self._require_input_open("send input_transcript")
        return encode_tts_message(message)

    def flush(self) -> str:
        """``session.flush``: the synthesis's input has ended, exactly once (TTS-C-3)."""
        self._require_input_open("send session.flush")
        self._state = TTSConnectionState.FLUSHED
        return encode_tts_message(SessionFlush())

    # -- what the client receives --------------------------------------------------------------

    def receive_frame(self, frame: str | bytes | bytearray | memoryview) -> list[SynthesisOutput]:
        """One frame from the server in, what it makes out. A message of an unknown type is
        ignored (CLI-ROB-1); a binary or malformed frame raises :class:`RemoteProtocolError`
        citing CLI-ROB-1 with the ``MalformedMessage`` as its cause; the rest is as
        :meth:`receive`."""
        self._require_receiving()
        try:
            message = decode_tts_server_message(frame)
        except UnknownMessageType:
            return []
        except MalformedMessage as exc:
            raise RemoteProtocolError("CLI-ROB-1", str(exc), self._state) from exc
        return self.receive(message)

    def receive(self, message: TTSServerMessage) -> list[SynthesisOutput]:
        """One server message in, what it makes out (the assembler's).

        ``done`` (after the final frame) makes the connection idle again; a failure (an
        ``error`` message, ``session.closed`` in a synthesis) makes it :attr:`FAILED
        <TTSConnectionState.FAILED>`. Raises :class:`RemoteProtocolError` for synthesis output
        with no synthesis in progress and ``done`` before ``session.flush`` (TTS-S-1), and for
        the assembler's TTS-S-1 breaches.
        """
        self._require_receiving()
        state = self._state
        if isinstance(message, TTSSessionCreated):
            self._server_session_id = message.session_id
            return []
        if isinstance(message, TTSSessionClosed) and not self.in_synthesis:
            # Between syntheses it only says the socket closes next: not reusable any more.
            self._state = TTSConnectionState.CLOSED
            return []
        if isinstance(message, TTSErrorMessage) and not self.in_synthesis:
            self._state = TTSConnectionState.FAILED
            return []
        if isinstance(message, (OutputAudio, OutputAlignment, SynthesisDone)):
            if not self.in_synthesis:
                raise RemoteProtocolError(
                    "TTS-S-1", f"{message.type} with no synthesis in progress", state
                )
            if isinstance(message, SynthesisDone) and state is not TTSConnectionState.FLUSHED:
                raise RemoteProtocolError("TTS-S-1", "done before session.flush was sent", state)
        assert self._assembler is not None  # in a synthesis
        try:
            outputs = self._assembler.receive(message)
        except RemoteProtocolError as exc:
            raise RemoteProtocolError(exc.rule, exc.detail, state) from exc
        if self._assembler.failure is not None:
            self._state = TTSConnectionState.FAILED
        elif self._assembler.finished:
            self._state = TTSConnectionState.IDLE
            self._idle_since = self._clock()
        return outputs

    def receive_close(self, code: int | None = None) -> list[SynthesisOutput]:
        """The socket closed with ``code``. In a synthesis that is its failure (a retryable
        ``APIStatusError``, TTS-OUT-2); between syntheses it only ends the connection."""
        outputs: list[SynthesisOutput] = []
        if self.in_synthesis:
            assert self._assembler is not None  # every synthesis has one
            outputs = self._assembler.connection_closed(code)
        self._state = TTSConnectionState.CLOSED
        return outputs

    def timed_out(self, timeout: float) -> list[SynthesisOutput]:
        """No message arrived for ``timeout`` seconds in a synthesis: its failure (an
        ``APITimeoutError``, TTS-OUT-2); the connection is not reused."""
        if not self.in_synthesis:
            return []
        assert self._assembler is not None
        self._state = TTSConnectionState.FAILED
        return self._assembler.timed_out(timeout)

    def abandon(self) -> None:
        """The stream gave up on the synthesis (cancelled, or a protocol error): the
        connection is not reused, as upstream's pool removes a connection on any exception."""
        if self._state is not TTSConnectionState.CLOSED:
            self._state = TTSConnectionState.FAILED

    # -- helpers -------------------------------------------------------------------------------

    def _require_input_open(self, action: str) -> None:
        if self._state is not TTSConnectionState.SYNTHESIZING:
            rule, why = _CLIENT_SEND_RULES[self._state]
            raise LocalProtocolError(rule, f"cannot {action}: {why}", self._state)

    def _require_receiving(self) -> None:
        if self._state is TTSConnectionState.CLOSED:
            raise RemoteProtocolError(
                "TTS-S-1", "a message after the connection closed", self._state
            )
        if self._state is TTSConnectionState.CONNECTING:
            raise RemoteProtocolError(
                "TTS-S-1", "a message before session.create was sent", self._state
            )


# The rule a client breaks by sending each message type malformed or out of order.
_CLIENT_MESSAGE_RULES: Mapping[str, str] = {
    "session.create": "TTS-C-1",
    "input_transcript": "TTS-C-2",
    "session.flush": "TTS-C-3",
}


class TTSServerConnection:
    """The server side of one TTS connection (SPEC §4).

    ``session_id`` is the id the server gives the session; :meth:`output_audio`,
    :meth:`done` and :meth:`created` put it on their messages (TTS-S-1).
    :meth:`receive_frame` checks each client frame against the state and returns the message;
    a :class:`RemoteProtocolError` is answered with :meth:`reject` (an ``error`` 400; the
    socket stays usable), except a binary frame, which SRV-3 answers with close 1003.
    :meth:`send` builds every server frame and refuses what TTS-S-1 forbids.
    """

    def __init__(self, *, session_id: str) -> None:
        if not isinstance(session_id, str) or not session_id:
            raise ValueError("session_id must be a non-empty string")
        self._session_id = session_id
        self._state = TTSConnectionState.CONNECTING
        self._create: TTSSessionCreate | None = None
        self._transcripts: list[str] = []
        self._syntheses = 0
        self._created_sent = False

    # -- state ---------------------------------------------------------------------------------

    @property
    def state(self) -> TTSConnectionState:
        """Where the connection stands."""
        return self._state

    @property
    def session_id(self) -> str:
        """The session's id, on every ``output_audio`` and ``done``."""
        return self._session_id

    @property
    def create_message(self) -> TTSSessionCreate | None:
        """The client's ``session.create``; ``None`` before it arrived."""
        return self._create

    @property
    def sample_rate(self) -> int | None:
        """The session's sample rate in Hz, once ``session.create`` arrived."""
        return self._create.sample_rate_hz if self._create is not None else None

    @property
    def in_synthesis(self) -> bool:
        """Whether a synthesis is in progress (input received, ``done`` not sent)."""
        return self._state in _IN_SYNTHESIS

    @property
    def input_ended(self) -> bool:
        """Whether the synthesis's ``session.flush`` arrived (only ``done`` may end it now)."""
        return self._state is TTSConnectionState.FLUSHED

    @property
    def transcripts(self) -> tuple[str, ...]:
        """The ``transcript`` texts of the current synthesis, in order (of the last one once
        it is done, until the next starts)."""
        return tuple(self._transcripts)

    @property
    def syntheses(self) -> int:
        """How many syntheses the client started on this connection."""
        return self._syntheses

    # -- what the server receives --------------------------------------------------------------

    def receive_frame(self, frame: str | bytes | bytearray | memoryview) -> TTSClientMessage:
        """One client frame in, its message out, after :meth:`receive` checked it.

        Raises :class:`RemoteProtocolError` for a binary frame (SRV-3), an unparseable frame
        or unknown type (SRV-1), a malformed message (the rule of its type: TTS-C-1 for
        ``session.create``, ...), and everything :meth:`receive` refuses.
        """
        if isinstance(frame, (bytes, bytearray, memoryview)):
            raise RemoteProtocolError(
                "SRV-3", "a binary frame where a JSON text frame is expected", self._state
            )
        try:
            message = decode_tts_client_message(frame)
        except MalformedMessage as exc:
            rule = _CLIENT_MESSAGE_RULES.get(exc.message_type or "", "SRV-1")
            raise RemoteProtocolError(rule, str(exc), self._state) from exc
        self.receive(message)
        return message

    def receive(self, message: TTSClientMessage) -> None:
        """Check one client message against the state and apply it.

        Refused (:class:`RemoteProtocolError`, state unchanged): anything before
        ``session.create`` and a second one (TTS-C-1); ``input_transcript`` after the
        synthesis's ``session.flush`` and a second ``session.flush`` before ``done``
        (TTS-C-3); anything after the connection closed. Messages still in flight after the
        server's ``session.closed`` are accepted and ignored.
        """
        state = self._state
        rule = _CLIENT_MESSAGE_RULES[message.type]
        if state is TTSConnectionState.CLOSED:
            raise RemoteProtocolError(rule, f"{message.type} after the connection closed", state)
        if state is TTSConnectionState.CLOSING:
            return
        if state is TTSConnectionState.CONNECTING:
            if not isinstance(message, TTSSessionCreate):
                raise RemoteProtocolError("TTS-C-1", f"{message.type} before session.create", state)
            self._create = message
            self._state = TTSConnectionState.IDLE
            return
        if isinstance(message, TTSSessionCreate):
            raise RemoteProtocolError("TTS-C-1", "a second session.create", state)
        if state is TTSConnectionState.FLUSHED:
            what = (
                "a second session.flush"
                if isinstance(message, SessionFlush)
                else ("input_transcript after session.flush")
            )
            raise RemoteProtocolError("TTS-C-3", f"{what}, before done", state)
        if state is TTSConnectionState.IDLE:
            # The synthesis starts with its first input, or with a flush alone (empty input).
            self._transcripts = []
            self._syntheses += 1
            self._state = TTSConnectionState.SYNTHESIZING
        if isinstance(message, InputTranscript):
            self._transcripts.append(message.transcript)
        else:
            self._state = TTSConnectionState.FLUSHED

    # -- what the server sends -----------------------------------------------------------------

    def send(self, message: TTSServerMessage) -> str:
        """The frame for ``message``, if the state allows it (else
        :class:`LocalProtocolError`, state unchanged).

        ``output_audio`` and ``output_alignment`` only in a synthesis, ``output_audio`` with a
        ``session_id``; ``done`` only after the synthesis's ``session.flush`` and with a
        ``session_id``, once (TTS-S-1). An ``error`` in a synthesis ends it. Nothing after
        ``session.closed``.
        """
        state = self._state
        if state in (TTSConnectionState.CLOSING, TTSConnectionState.CLOSED):
            raise LocalProtocolError("TTS-S-1", f"cannot send {message.type}: closed", state)
        if isinstance(message, (OutputAudio, OutputAlignment)):
            if not self.in_synthesis:
                raise LocalProtocolError(
                    "TTS-S-1", f"{message.type} with no synthesis in progress", state
                )
            if isinstance(message, OutputAudio) and message.session_id is None:
                raise LocalProtocolError("TTS-S-1", "output_audio without session_id", state)
        elif isinstance(message, SynthesisDone):
            if state is not TTSConnectionState.FLUSHED:
                raise LocalProtocolError(
                    "TTS-S-1",
                    "done ends a synthesis whose session.flush arrived"
                    + ("" if self.in_synthesis else ": none is in progress"),
                    state,
                )
            if message.session_id is None:
                raise LocalProtocolError("TTS-S-1", "done without session_id", state)
            self._state = TTSConnectionState.IDLE
        elif isinstance(message, TTSErrorMessage):
            if self.in_synthesis:
                self._state = TTSConnectionState.IDLE
        elif isinstance(message, TTSSessionClosed):
            self._state = TTSConnectionState.CLOSING
        elif isinstance(message, TTSSessionCreated):
            if state is TTSConnectionState.CONNECTING or self._created_sent:
                raise LocalProtocolError(
                    "TTS-C-1", "session.created answers session.create, once", state
                )
            self._created_sent = True
        return encode_tts_message(message)

    def created(self) -> str:
        """``session.created`` with the session's id."""
        return self.send(TTSSessionCreated(session_id=self._session_id))

    def output_audio(self, pcm: bytes | bytearray | memoryview) -> str:
        """``output_audio`` carrying ``pcm`` and the session's id (TTS-S-1)."""
        return self.send(OutputAudio.from_pcm(pcm, session_id=self._session_id))

    def done(self) -> str:
        """``done`` with the session's id: the synthesis ends, the socket stays open
        (TTS-S-1)."""
        return self.send(SynthesisDone(session_id=self._session_id))

    def reject(
        self, error: ProtocolError | MalformedMessage, *, code: int = TTS_BAD_REQUEST
    ) -> str:
        """The ``error`` frame answering a refused client message (SRV-1): ``code`` 400 by
        default, the error's text as ``message``. It does not end a synthesis in progress (the
        refused message changed nothing)."""
        state = self._state
        frame = self.send(TTSErrorMessage(message=str(error), code=code))
        self._state = state
        return frame

    def connection_closed(self) -> None:
        """The socket closed; the connection is over."""
        self._state = TTSConnectionState.CLOSED
