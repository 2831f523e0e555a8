"""The context multiplexers of Inworld TTS over WebSocket, one per role (SPEC §5.2), sans-IO.

One socket carries up to :data:`INWORLD_MAX_CONTEXTS` concurrent contexts. A context is,
from the client, ``create``, then ``send_text``\\ s (pieces of at most
:data:`MAX_TEXT_PIECE` characters), ``flush_context``\\ s, and ``close_context`` (or
``cancel_context``); from the server, ``contextCreated``, ``audioChunk``\\ s,
``flushCompleted`` per flush and ``contextClosed`` (IW-WS-1, IW-WS-3).

- :class:`InworldClientMultiplexer` is the client's side of one socket: its methods build the
  frames a context sends (refusing, with
  :class:`~voicewire.reference.json_wire.LocalProtocolError`, a sixth open context: IW-WS-2)
  and route what the server sends by ``contextId`` into :data:`ContextEvent`\\ s:
  :class:`ContextCreated`, :class:`ContextAudio` (PCM bytes and timed strings offset by the
  context's cumulative time, which advances at each ``flushCompleted`` exactly as upstream's:
  IW-WS-5), :class:`ContextFlushed`, :class:`ContextDone` (``contextClosed``: IW-WS-4) and
  :class:`ContextFailed` (``status.code != 0`` fails that context only: IW-WS-4; a socket
  close fails every open one: :meth:`InworldClientMultiplexer.connection_lost`). Replies for
  unknown contexts, unknown keys and unknown messages are ignored (CLI-ROB-1).
- :class:`InworldServerMultiplexer` is the server's side: it checks the order of each
  context's messages and refuses what is out of order with a :class:`ContextRefused`, which
  :meth:`InworldServerMultiplexer.reject` answers with a status error for that context only
  (SRV-1), a sixth concurrent context included (IW-WS-3); it builds the replies.

The top-level ``{"error": {...}}`` names no context. Upstream only logs it, so the stream it
was about waits for a ``contextClosed`` that never comes. Here it becomes an
:class:`InworldSocketError` event and fails nothing by itself, so that the other contexts on
the socket go on (IW-WS-4's isolation); the stream it was about ends through its own
deadline instead: while the server owes a context a reply (a flush or the close is
outstanding), :meth:`InworldClientMultiplexer.reply_deadline` says by when the next message
for it must arrive, and a client fails the stream with ``APITimeoutError`` past it, within
``timeout`` as CLI-ROB-1 asks, where upstream waits ``timeout + 60`` s.

Each step a port might get wrong is its own method (the piece size, the five-context limit,
the cumulative offset, where a failure is routed), so that a mutant overrides one.
"""

from __future__ import annotations

import base64
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeAlias

from voicewire.reference.errors import APIConnectionError, APIError, APITimeoutError
from voicewire.reference.inworld.wire.contexts import (
    MAX_CONTEXT_ID_LENGTH,
    CancelContext,
    CloseContext,
    ContextAudioChunk,
    ContextClientMessage,
    ContextReply,
    ContextResultBody,
    ContextServerMessage,
    ContextStatus,
    CreateContext,
    CreateContextConfig,
    FlushContext,
    SendText,
    SocketErrorBody,
    SocketErrorReply,
    TextPiece,
    decode_context_client_message,
    decode_context_server_message,
    encode_context_message,
)
from voicewire.reference.inworld.wire.timestamps import InworldTimestampInfo, timed_strings
from voicewire.reference.json_wire import (
    LocalProtocolError,
    MalformedMessage,
    RemoteProtocolError,
    UnknownMessageType,
    load_json_object,
)
from voicewire.reference.stt.speech import TimedString

__all__ = [
    "INWORLD_MAX_CONTEXTS",
    "MAX_TEXT_PIECE",
    "STATUS_ALREADY_EXISTS",
    "STATUS_FAILED_PRECONDITION",
    "STATUS_INTERNAL",
    "STATUS_INVALID_ARGUMENT",
    "STATUS_NOT_FOUND",
    "STATUS_RESOURCE_EXHAUSTED",
    "ContextAudio",
    "ContextCreated",
    "ContextDone",
    "ContextEvent",
    "ContextFailed",
    "ContextFailureKind",
    "ContextFlushed",
    "ContextRefused",
    "InworldClientMultiplexer",
    "InworldContextState",
    "InworldServerMultiplexer",
    "InworldSocketError",
    "TrackedContext",
]

INWORLD_MAX_CONTEXTS = 5
"""Open contexts per socket (IW-WS-2, IW-WS-3; upstream's ``MAX_CONTEXTS``)."""
MAX_TEXT_PIECE = 1000
"""The most characters of one ``send_text`` (IW-WS-1)."""

# gRPC status codes, as Inworld's statuses carry them.
STATUS_INVALID_ARGUMENT = 3
STATUS_NOT_FOUND = 5
STATUS_ALREADY_EXISTS = 6
STATUS_RESOURCE_EXHAUSTED = 8
STATUS_FAILED_PRECONDITION = 9
STATUS_INTERNAL = 13

# How many ended context ids a server remembers, to say "after close" rather than "unknown".
_ENDED_MEMORY = 1024


class InworldContextState(str, Enum):
    """Where one context stands, from one role's point of view."""

    CREATING = "creating"
    """Client: ``create`` sent, ``contextCreated`` not received yet (text may be sent)."""
    ACTIVE = "active"
    """Client: ``contextCreated`` received. Server: ``create`` accepted."""
    CLOSING = "closing"
    """``close_context`` sent (client) or received (server): ``contextClosed`` ends it."""
    CANCELLED = "cancelled"
    """``cancel_context`` sent (client: the context is over) or received (server: it no longer
    counts against the limit; ``contextClosed`` may still answer it)."""
    CLOSED = "closed"
    """``contextClosed`` received (client) or sent (server)."""
    FAILED = "failed"
    """A failing status (or, on the client, a lost socket, a malformed reply)."""


_INPUT_OPEN = (InworldContextState.CREATING, InworldContextState.ACTIVE)
_CLIENT_OPEN = (*_INPUT_OPEN, InworldContextState.CLOSING)


# -- the client's events -----------------------------------------------------------------------


@dataclass(frozen=True)
class ContextCreated:
    """``contextCreated``: the server accepted the context (informational)."""

    context_id: str


@dataclass(frozen=True)
class ContextAudio:
    """An ``audioChunk``: its PCM bytes exactly (may be empty when timestamps come alone) and
    its timed strings on the context's timeline (offset by the cumulative time, IW-WS-5)."""

    context_id: str
    pcm: bytes
    timed: tuple[TimedString, ...] = ()


@dataclass(frozen=True)
class ContextFlushed:
    """``flushCompleted``: a generation ended; ``cumulative_time`` is the offset of the
    timestamps that follow."""

    context_id: str
    cumulative_time: float


@dataclass(frozen=True)
class ContextDone:
    """``contextClosed``: the context is complete (IW-WS-4); its slot is free."""

    context_id: str


class ContextFailureKind(str, Enum):
    """Why a context failed."""

    STATUS = "status"
    """The server's ``status.code != 0`` for this context (IW-WS-4)."""
    MALFORMED = "malformed"
    """A reply about this context that is not a well-formed one (CLI-ROB-1)."""
    CONNECTION = "connection"
    """The socket closed or broke with the context open (IW-WS-4)."""
    TIMEOUT = "timeout"
    """No reply within the client's timeout while one was owed (CLI-ROB-1)."""


@dataclass(frozen=True)
class ContextFailed:
    """A context failed, as data; :meth:`to_exception` is the error its stream raises."""

    context_id: str
    kind: ContextFailureKind
    message: str
    code: int | None = None

    def to_exception(self) -> APIError:
        """The ``APIError`` of the failure: upstream's ``APIError("Inworld error: ...")`` for a
        status (retryable, the status in ``body``), an ``APIConnectionError`` for a lost socket
        or a malformed reply, an ``APITimeoutError`` for a timeout."""
        if self.kind is ContextFailureKind.STATUS:
            return APIError(
                f"Inworld error: {self.message}",
                body={"code": self.code, "message": self.message},
            )
        if self.kind is ContextFailureKind.TIMEOUT:
            return APITimeoutError(self.message)
        return APIConnectionError(self.message)


@dataclass(frozen=True)
class InworldSocketError:
    """The top-level ``error``: it names no context, so it fails none by itself (see the
    module's docstring)."""

    code: int
    message: str


ContextEvent: TypeAlias = (
    ContextCreated
    | ContextAudio
    | ContextFlushed
    | ContextDone
    | ContextFailed
    | InworldSocketError
)
"""What the client multiplexer makes of the server's messages."""


@dataclass
class TrackedContext:
    """The client's bookkeeping of one context: its state, its cumulative time (upstream's
    ``cumulative_time``) and the end of its latest generation (``generation_end_time``), the
    flushes sent and completed, and since when it has been quiet (on the clock)."""

    context_id: str
    config: CreateContextConfig
    state: InworldContextState = InworldContextState.CREATING
    cumulative_time: float = 0.0
    generation_end_time: float = 0.0
    flushes_sent: int = 0
    flushes_completed: int = 0
    audio_bytes: int = 0
    quiet_since: float = 0.0
    timed: list[TimedString] = field(default_factory=list)

    @property
    def owes_reply(self) -> bool:
        """Whether the server owes this context a reply: a flush not yet completed, or the
        close sent."""
        return (
            self.state is InworldContextState.CLOSING or self.flushes_sent > self.flushes_completed
        )


# -- the client --------------------------------------------------------------------------------


class InworldClientMultiplexer:
    """The client side of one Inworld TTS socket (SPEC §5.2).

    ``clock`` returns the current time in seconds (the shell's ``loop.time``, a fake in
    tests). A shell drives it like this::

        ws.send(mux.create(context_id, config))      # refused past 5 open contexts (IW-WS-2)
        for frame in mux.send_text(context_id, text): ws.send(frame)   # <= 1000 chars each
        ws.send(mux.flush(context_id)); ws.send(mux.close(context_id))
        # on a text frame: route each of mux.receive_frame(text) to its context's stream
        # on the socket's close: mux.connection_lost(reason) fails every open context
        # past mux.reply_deadline(context_id, timeout): ws.send(mux.cancel(context_id))
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        max_contexts: int = INWORLD_MAX_CONTEXTS,
        max_text_piece: int = MAX_TEXT_PIECE,
    ) -> None:
        if not callable(clock):
            raise TypeError("clock must be a callable returning seconds")
        for name, value in (("max_contexts", max_contexts), ("max_text_piece", max_text_piece)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        self._clock = clock
        self._max_contexts = max_contexts
        self._max_text_piece = max_text_piece
        self._contexts: dict[str, TrackedContext] = {}
        self._lost: str | None = None
        self.socket_errors: list[InworldSocketError] = []
        """Every top-level ``error`` received, in order."""

    # -- state ---------------------------------------------------------------------------------

    @property
    def open_count(self) -> int:
        """How many contexts are open (created, neither done, failed nor cancelled)."""
        return len(self._contexts)

    @property
    def can_open(self) -> bool:
        """Whether :meth:`create` would accept another context now."""
        return self._lost is None and not self._at_limit()

    @property
    def lost(self) -> bool:
        """Whether the socket is gone (:meth:`connection_lost` was called)."""
        return self._lost is not None

    def context(self, context_id: str) -> TrackedContext | None:
        """The open context ``context_id``, if it is open."""
        return self._contexts.get(context_id)

    def reply_deadline(self, context_id: str, timeout: float) -> float | None:
        """When (on the clock) the next message for ``context_id`` must arrive, while the
        server owes it a reply (:attr:`TrackedContext.owes_reply`); ``None`` while it owes
        nothing or the context is not open."""
        ctx = self._contexts.get(context_id)
        if ctx is None or not ctx.owes_reply:
            return None
        return ctx.quiet_since + timeout

    # -- what the client sends -----------------------------------------------------------------

    def create(self, context_id: str, config: CreateContextConfig) -> str:
        """``create`` for a new context (IW-WS-1); refused while :data:`INWORLD_MAX_CONTEXTS`
        are open (IW-WS-2), for an id already open, and after the socket was lost."""
        if self._lost is not None:
            raise LocalProtocolError("IW-WS-4", f"the socket is gone: {self._lost}")
        if context_id in self._contexts:
            raise LocalProtocolError("IW-WS-1", f"context {context_id!r} is already open")
        if self._at_limit():
            raise LocalProtocolError(
                "IW-WS-2", f"{self.open_count} contexts are open on this socket: no more"
            )
        frame = encode_context_message(CreateContext(create=config, contextId=context_id))
        self._contexts[context_id] = TrackedContext(context_id, config, quiet_since=self._clock())
        return frame

    def send_text(self, context_id: str, text: str) -> list[str]:
        """``send_text`` frames carrying ``text`` in pieces of at most 1000 characters
        (IW-WS-1); none for empty text."""
        self._require(context_id, _INPUT_OPEN, "send_text")
        return [
            encode_context_message(SendText(send_text=TextPiece(text=piece), contextId=context_id))
            for piece in self._pieces(text)
        ]

    def flush(self, context_id: str) -> str:
        """``flush_context``: the server owes the context a ``flushCompleted``."""
        ctx = self._require(context_id, _INPUT_OPEN, "flush_context")
        self._now_owed(ctx)
        ctx.flushes_sent += 1
        return encode_context_message(FlushContext(contextId=context_id))

    def close(self, context_id: str) -> str:
        """``close_context``: no more text; ``contextClosed`` completes the context."""
        ctx = self._require(context_id, _INPUT_OPEN, "close_context")
        self._now_owed(ctx)
        ctx.state = InworldContextState.CLOSING
        return encode_context_message(CloseContext(contextId=context_id))

    def cancel(self, context_id: str) -> str:
        """``cancel_context`` (on a timeout or a cancel): the context is over for the client
        and its slot is free at once (the server handles the socket's messages in order)."""
        ctx = self._require(context_id, _CLIENT_OPEN, "cancel_context")
        ctx.state = InworldContextState.CANCELLED
        self._release(ctx)
        return encode_context_message(CancelContext(contextId=context_id))

    # -- what the client receives --------------------------------------------------------------

    def receive_frame(self, frame: str | bytes | bytearray | memoryview) -> list[ContextEvent]:
        """One frame from the server in, its events out. An object with neither ``result`` nor
        ``error`` is ignored (CLI-ROB-1). A malformed reply that still names an open context
        fails that context only; one that names none (a binary frame, not JSON, ...) raises
        :class:`RemoteProtocolError` citing CLI-ROB-1: the shell then fails every context
        (:meth:`connection_lost`) and closes the socket."""
        try:
            message = decode_context_server_message(frame)
        except UnknownMessageType:
            return []
        except MalformedMessage as exc:
            ctx = self._malformed_context(frame)
            if ctx is None:
                raise RemoteProtocolError("CLI-ROB-1", f"Inworld TTS sent {exc}") from exc
            return self._fail(ctx, ContextFailureKind.MALFORMED, f"Inworld TTS sent {exc}")
        return self.receive(message)

    def receive(self, message: ContextServerMessage) -> list[ContextEvent]:
        """One server message in, its events out (see the module's docstring)."""
        if isinstance(message, SocketErrorReply):
            return self._socket_error(message.error)
        result = message.result
        ctx = self._contexts.get(result.contextId) if result.contextId is not None else None
        if ctx is None:
            return []  # a context this socket does not have open (upstream ignores it too)
        ctx.quiet_since = self._clock()
        if result.failed:
            return self._status_failure(ctx, result)
        kind = result.kind
        if kind == "contextCreated":
            if ctx.state is InworldContextState.CREATING:
                ctx.state = InworldContextState.ACTIVE
            return [ContextCreated(ctx.context_id)]
        if kind == "audioChunk":
            assert result.audioChunk is not None
            return self._audio(ctx, result.audioChunk)
        if kind == "flushCompleted":
            return self._flush_completed(ctx)
        if kind == "contextClosed":
            return self._context_closed(ctx)
        return []

    def connection_lost(self, reason: str = "the socket closed") -> list[ContextEvent]:
        """The socket closed or broke: every open context fails with an
        ``APIConnectionError`` (IW-WS-4); nothing more may be created."""
        if self._lost is None:
            self._lost = reason
        failures: list[ContextEvent] = []
        for ctx in list(self._contexts.values()):
            failures += self._fail(ctx, ContextFailureKind.CONNECTION, f"Inworld TTS: {reason}")
        return failures

    # -- the steps a port might get wrong ------------------------------------------------------

    def _at_limit(self) -> bool:
        """Whether the socket holds as many open contexts as it may (IW-WS-2)."""
        return len(self._contexts) >= self._max_contexts

    def _pieces(self, text: str) -> list[str]:
        """``text`` cut into ``send_text`` pieces of at most 1000 characters (IW-WS-1)."""
        size = self._max_text_piece
        return [text[i : i + size] for i in range(0, len(text), size)]

    def _timed(self, info: InworldTimestampInfo, offset: float) -> tuple[TimedString, ...]:
        """A chunk's timestamps on the context's timeline: shifted by ``offset``, the
        cumulative time (IW-WS-5)."""
        return timed_strings(info, offset=offset)

    def _audio(self, ctx: TrackedContext, chunk: ContextAudioChunk) -> list[ContextEvent]:
        timed: tuple[TimedString, ...] = ()
        if chunk.timestampInfo is not None:
            timed = self._timed(chunk.timestampInfo, ctx.cumulative_time)
            if timed:
                # Upstream's generation_end_time: where the latest generation's last item ends.
                ctx.generation_end_time = timed[-1].end_time
            ctx.timed.extend(timed)
        pcm = chunk.pcm
        ctx.audio_bytes += len(pcm)
        return [ContextAudio(ctx.context_id, pcm, timed)]

    def _flush_completed(self, ctx: TrackedContext) -> list[ContextEvent]:
        ctx.flushes_completed += 1
        self._advance_cumulative_time(ctx)
        return [ContextFlushed(ctx.context_id, ctx.cumulative_time)]

    def _advance_cumulative_time(self, ctx: TrackedContext) -> None:
        """At ``flushCompleted`` the server's next timestamps restart from 0: the offset
        becomes the end of the generation just completed, if it had any timestamps (upstream's
        ``if generation_end_time > 0``), so times keep increasing (IW-WS-5)."""
        if ctx.generation_end_time > 0:
            ctx.cumulative_time = ctx.generation_end_time

    def _context_closed(self, ctx: TrackedContext) -> list[ContextEvent]:
        ctx.state = InworldContextState.CLOSED
        self._release(ctx)
        return [ContextDone(ctx.context_id)]

    def _status_failure(self, ctx: TrackedContext, result: ContextResultBody) -> list[ContextEvent]:
        """A failing status fails its own context only (IW-WS-4)."""
        assert result.status is not None
        status = result.status
        return self._fail(
            ctx, ContextFailureKind.STATUS, status.message or "Unknown error", code=status.code
        )

    def _socket_error(self, error: SocketErrorBody) -> list[ContextEvent]:
        """The top-level ``error``: recorded and reported, no context failed (see the
        module's docstring)."""
        event = InworldSocketError(error.code, error.message)
        self.socket_errors.append(event)
        return [event]

    def _fail(
        self, ctx: TrackedContext, kind: ContextFailureKind, message: str, code: int | None = None
    ) -> list[ContextEvent]:
        ctx.state = InworldContextState.FAILED
        self._release(ctx)
        return [ContextFailed(ctx.context_id, kind, message, code)]

    # -- helpers -------------------------------------------------------------------------------

    def _release(self, ctx: TrackedContext) -> None:
        self._contexts.pop(ctx.context_id, None)

    def _now_owed(self, ctx: TrackedContext) -> None:
        # The deadline of a reply runs from when the server began to owe one.
        if not ctx.owes_reply:
            ctx.quiet_since = self._clock()

    def _require(
        self, context_id: str, states: tuple[InworldContextState, ...], action: str
    ) -> TrackedContext:
        ctx = self._contexts.get(context_id)
        if ctx is None:
            raise LocalProtocolError("IW-WS-1", f"cannot {action}: {context_id!r} is not open")
        if ctx.state not in states:
            why = f"cannot {action}: context {context_id!r} is {ctx.state.value}"
            raise LocalProtocolError("IW-WS-1", why, ctx.state)
        return ctx

    def _malformed_context(self, frame: object) -> TrackedContext | None:
        """The open context a malformed reply still names (``result.contextId``), if any."""
        if not isinstance(frame, str):
            return None
        try:
            payload = load_json_object(frame)
        except MalformedMessage:
            return None
        result = payload.get("result")
        context_id = result.get("contextId") if isinstance(result, dict) else None
        return self._contexts.get(context_id) if isinstance(context_id, str) else None


# -- the server --------------------------------------------------------------------------------


class ContextRefused(RemoteProtocolError):
    """A client message the server refuses (SRV-1): ``rule`` is the SPEC rule it breaks,
    ``context_id`` the context it named (``None``: none could be read), ``code`` the status
    code that answers it."""

    def __init__(
        self,
        rule: str,
        detail: str,
        state: Enum | None = None,
        *,
        context_id: str | None = None,
        code: int = STATUS_INVALID_ARGUMENT,
    ) -> None:
        super().__init__(rule, detail, state)
        self.context_id = context_id
        self.code = code

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_refused,
            (self.rule, self.detail, self.state, self.context_id, self.code),
        )


def _rebuild_refused(
    rule: str, detail: str, state: Enum | None, context_id: str | None, code: int
) -> ContextRefused:
    return ContextRefused(rule, detail, state, context_id=context_id, code=code)


@dataclass
class _ServedContext:
    config: CreateContextConfig
    state: InworldContextState = InworldContextState.ACTIVE


class InworldServerMultiplexer:
    """The server side of one Inworld TTS socket (SPEC §5.2).

    :meth:`receive_frame` checks each client frame against its context's state and returns the
    message; a :class:`ContextRefused` is answered with :meth:`reject` (a status error for that
    context, or a top-level ``error`` when no context could be read; the socket stays usable),
    except a binary frame, which SRV-3 answers with close 1003. The reply builders refuse what
    IW-WS-3 forbids (:class:`~voicewire.reference.json_wire.LocalProtocolError`).
    """

    def __init__(
        self, *, max_contexts: int = INWORLD_MAX_CONTEXTS, max_text_piece: int = MAX_TEXT_PIECE
    ) -> None:
        self._max_contexts = max_contexts
        self._max_text_piece = max_text_piece
        self._contexts: dict[str, _ServedContext] = {}
        self._ended: OrderedDict[str, InworldContextState] = OrderedDict()
        self.created = 0
        """How many contexts were accepted on this socket."""

    # -- state ---------------------------------------------------------------------------------

    @property
    def open_count(self) -> int:
        """Contexts counted against the limit: accepted, neither closed, failed nor cancelled."""
        cancelled = InworldContextState.CANCELLED
        return sum(1 for c in self._contexts.values() if c.state is not cancelled)

    def state(self, context_id: str) -> InworldContextState | None:
        """Where ``context_id`` stands (``None``: never seen, or long forgotten)."""
        served = self._contexts.get(context_id)
        return served.state if served is not None else self._ended.get(context_id)

    def config(self, context_id: str) -> CreateContextConfig | None:
        """The ``create`` of an open context."""
        served = self._contexts.get(context_id)
        return served.config if served is not None else None

    # -- what the server receives --------------------------------------------------------------

    def receive_frame(self, frame: str | bytes | bytearray | memoryview) -> ContextClientMessage:
        """One client frame in, its message out, after :meth:`receive` checked it. Raises
        :class:`ContextRefused` for a binary frame (SRV-3), an unparseable or malformed one
        (IW-WS-1; with the ``contextId`` it names when it names one) and all :meth:`receive`
        refuses."""
        if isinstance(frame, (bytes, bytearray, memoryview)):
            raise ContextRefused("SRV-3", "a binary frame where a JSON text frame is expected")
        try:
            message = decode_context_client_message(frame)
        except MalformedMessage as exc:
            raise ContextRefused("IW-WS-1", str(exc), context_id=_named_context(frame)) from exc
        self.receive(message)
        return message

    def receive(self, message: ContextClientMessage) -> None:
        """Check one client message against its context's state and apply it.

        Refused (state unchanged): a ``create`` of an open id (ALREADY_EXISTS) or past the
        limit (RESOURCE_EXHAUSTED, IW-WS-3); anything else for a context never created
        (NOT_FOUND) or already ended (FAILED_PRECONDITION); ``send_text``, ``flush_context``
        or ``close_context`` after ``close_context`` or ``cancel_context``; a ``send_text``
        of more than 1000 characters (INVALID_ARGUMENT, IW-WS-1).
        """
        cid = message.context_id
        if isinstance(message, CreateContext):
            if cid in self._contexts:
                raise ContextRefused(
                    "IW-WS-1",
                    f"create: context {cid!r} is already open",
                    self._contexts[cid].state,
                    context_id=cid,
                    code=STATUS_ALREADY_EXISTS,
                )
            if self._at_limit():
                raise ContextRefused(
                    "IW-WS-2",
                    f"create: {self.open_count} contexts are open on this socket, the most "
                    f"allowed is {self._max_contexts}",
                    context_id=cid,
                    code=STATUS_RESOURCE_EXHAUSTED,
                )
            self._ended.pop(cid, None)
            self._contexts[cid] = _ServedContext(message.create)
            self.created += 1
            return
        served = self._contexts.get(cid)
        operation = _operation(message)
        if served is None:
            ended = self._ended.get(cid)
            if ended is None:
                raise ContextRefused(
                    "IW-WS-1",
                    f"{operation}: context {cid!r} not found (send create first)",
                    context_id=cid,
                    code=STATUS_NOT_FOUND,
                )
            raise ContextRefused(
                "IW-WS-1",
                f"{operation}: context {cid!r} is {ended.value}",
                ended,
                context_id=cid,
                code=STATUS_FAILED_PRECONDITION,
            )
        if isinstance(message, CancelContext):
            if served.state is InworldContextState.CANCELLED:
                raise ContextRefused(
                    "IW-WS-1",
                    f"cancel_context: context {cid!r} is already cancelled",
                    served.state,
                    context_id=cid,
                    code=STATUS_FAILED_PRECONDITION,
                )
            served.state = InworldContextState.CANCELLED
            return
        if served.state is not InworldContextState.ACTIVE:
            ended_by = "close" if served.state is InworldContextState.CLOSING else "cancel"
            raise ContextRefused(
                "IW-WS-1",
                f"{operation} after {ended_by}_context of context {cid!r}",
                served.state,
                context_id=cid,
                code=STATUS_FAILED_PRECONDITION,
            )
        if isinstance(message, SendText) and self._too_long(message.send_text.text):
            raise ContextRefused(
                "IW-WS-1",
                f"send_text of {len(message.send_text.text)} characters: at most "
                f"{self._max_text_piece} per message",
                served.state,
                context_id=cid,
                code=STATUS_INVALID_ARGUMENT,
            )
        if isinstance(message, CloseContext):
            served.state = InworldContextState.CLOSING

    def _at_limit(self) -> bool:
        """Whether a sixth concurrent context would be refused (IW-WS-3)."""
        return self.open_count >= self._max_contexts

    def _too_long(self, text: str) -> bool:
        return len(text) > self._max_text_piece

    # -- what the server sends -----------------------------------------------------------------

    def context_created(self, context_id: str) -> str:
        """``contextCreated`` (with status code 0) for an accepted context."""
        self._require_open(context_id, "contextCreated")
        return self._reply(
            ContextResultBody(contextId=context_id, status=ContextStatus(code=0), contextCreated={})
        )

    def audio_chunk(
        self,
        context_id: str,
        pcm: bytes | bytearray | memoryview,
        timestamp_info: InworldTimestampInfo | None = None,
    ) -> str:
        """An ``audioChunk`` carrying ``pcm`` (and ``timestamp_info``) for an open context."""
        self._require_open(context_id, "audioChunk")
        chunk = ContextAudioChunk(
            audioContent=base64.b64encode(bytes(pcm)).decode("ascii"),
            timestampInfo=timestamp_info,
        )
        return self._reply(ContextResultBody(contextId=context_id, audioChunk=chunk))

    def flush_completed(self, context_id: str) -> str:
        """``flushCompleted``: a flush of an open context is done."""
        self._require_open(context_id, "flushCompleted")
        return self._reply(ContextResultBody(contextId=context_id, flushCompleted={}))

    def context_closed(self, context_id: str) -> str:
        """``contextClosed``: the context ends and its slot is free (IW-WS-4)."""
        self._require_open(context_id, "contextClosed")
        self._end(context_id, InworldContextState.CLOSED)
        return self._reply(ContextResultBody(contextId=context_id, contextClosed={}))

    def status_error(self, context_id: str, code: int, message: str) -> str:
        """A failing status for ``context_id``, alone: the context ends (its slot is free)."""
        if code == 0:
            raise LocalProtocolError("IW-WS-3", "a failing status has a code other than 0")
        if context_id in self._contexts:
            self._end(context_id, InworldContextState.FAILED)
        return self._reply(
            ContextResultBody(
                contextId=context_id, status=ContextStatus(code=code, message=message)
            )
        )

    def socket_error(self, code: int, message: str) -> str:
        """The top-level ``error``, about no context."""
        return encode_context_message(
            SocketErrorReply(error=SocketErrorBody(code=code, message=message))
        )

    def reject(self, error: ContextRefused) -> str:
        """The answer to a refused client message (SRV-1): a status error for the context it
        named (which changes nothing of an open context: the refused message did nothing),
        else a top-level ``error``."""
        if error.context_id is None:
            return self.socket_error(error.code, str(error))
        return self._reply(
            ContextResultBody(
                contextId=error.context_id,
                status=ContextStatus(code=error.code, message=str(error)),
            )
        )

    # -- helpers -------------------------------------------------------------------------------

    def _reply(self, result: ContextResultBody) -> str:
        return encode_context_message(ContextReply(result=result))

    def _require_open(self, context_id: str, what: str) -> None:
        if context_id not in self._contexts:
            raise LocalProtocolError("IW-WS-3", f"{what} for context {context_id!r}, not open")

    def _end(self, context_id: str, state: InworldContextState) -> None:
        self._contexts.pop(context_id, None)
        self._ended[context_id] = state
        while len(self._ended) > _ENDED_MEMORY:
            self._ended.popitem(last=False)


def _operation(message: ContextClientMessage) -> str:
    return next(iter(type(message).model_fields))


def _named_context(frame: object) -> str | None:
    """The ``contextId`` a malformed client frame still names, if a usable one."""
    if not isinstance(frame, str):
        return None
    try:
        payload = load_json_object(frame)
    except MalformedMessage:
        return None
    context_id = payload.get("contextId")
    if isinstance(context_id, str) and 0 < len(context_id) <= MAX_CONTEXT_ID_LENGTH:
        return context_id
    return None
