"""The STT endpoint on the aiohttp server: a WebSocket at ``/stt`` (and ``/v1/stt``).

Before the upgrade, from the request head only: admission by the core (the bearer JWT, AUTH-4:
a 401 JSON body and no upgrade; the scenario; a session slot), then the rule (``match.model``
against ``?model=``; the attempt counts connections to the same URL, so a client's reconnect
is attempt 2), and what a rule answers without a WebSocket (``raw``, a ``status`` fault).
After it, one :class:`STTConnection` per socket: every client frame is judged by the wire
module's :class:`~voicewire.reference.stt.wire.ServerSession` (an unparseable or out-of-order
message gets an ``error`` 400 and the socket stays usable, STT-S-1 and SRV-1; a binary frame a
close 1003, SRV-3), the audio advances the session's audio clock, and a
:class:`~.player.Transcriber` says which messages that audio made due. ``session.finalize``
gets the pending finals, ``session.finalized`` and a close 1000 (STT-S-2).

A rule's faults act on the session's messages as a broken server would (:mod:`.faults`):
drop, duplicate, reorder or replace the k-th, insert an ``error`` or a binary frame or a pause
before it, close with a code or reset the connection after it.

The journal records every frame both ways (``ws_message``; audio as its duration, sample
count and CRC-32, never its base64), the closes (``ws_close``) and what the session decided.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web
from voicewire.reference.stt.wire import (
    ClientMessage,
    InputAudio,
    RemoteProtocolError,
    ServerMessage,
    ServerSession,
    SessionClosed,
    SessionCreate,
    SessionCreated,
    SessionFinalize,
    SessionFinalized,
    SessionState,
    SessionUpdate,
)
from voicewire.simulators.core.state import Exchange
from voicewire.simulators.core.websocket import (
    CLOSE_IDLE,
    CLOSE_UNSUPPORTED_DATA,
    FRAME_KIND,
    AcceptedWebSocket,
    accept_websocket,
    read_text_frames,
    unplayable_on_websocket,
)
from voicewire.simulators.scenario import Timing
from voicewire.simulators.stt.fault_actor import FaultActor
from voicewire.simulators.stt.faults import (
    FaultPlan,
    unsupported_faults,
)
from voicewire.simulators.stt.player import ScriptPlayer, Transcriber
from voicewire.simulators.stt.script import STTReply
from voicewire.simulators.stt.transcribe import ToneTranscriber

__all__ = [
    "CLOSE_IDLE",
    "CLOSE_UNSUPPORTED_DATA",
    "ENDPOINT",
    "FRAME_KIND",
    "LATENESS_HOOK",
    "REQUEST_ID_PREFIX",
    "SESSION_ID_PREFIX",
    "LatenessHook",
    "STTConnection",
    "add_stt_routes",
    "audio_summary",
]

ENDPOINT = "stt"
"""The scenario endpoint of the STT WebSocket."""
SESSION_ID_PREFIX = "stt_sess_"
"""``session.created``'s ``session_id`` is this prefix and the exchange's next id."""
REQUEST_ID_PREFIX = "stt_req_"
"""A session's transcripts carry this prefix and the exchange's next id as ``request_id``
(unless the script names one)."""

LatenessHook = Callable[["STTConnection", ServerMessage, float, float], None]
"""Told of each message a client message made due, once sent: ``(connection, message,
arrived, sent)``, both times on ``time.monotonic``: when the handler read the client message,
and when the message had gone to the socket."""
LATENESS_HOOK: web.AppKey[LatenessHook] = web.AppKey("stt_lateness_hook")
"""An app holding a :data:`LatenessHook` under this key calls it for every session (``voicewire
bench stt`` measures lateness with it); without one nothing is timed."""

# What the journal keeps of a client frame it could not accept: its head, never megabytes of
# a peer's base64.
_REFUSED_HEAD = 200


def audio_summary(pcm: bytes, sample_rate: int) -> dict[str, Any]:
    """What the journal keeps of an audio frame: its sample count, duration and CRC-32."""
    samples = len(pcm) // 2
    return {
        "type": "input_audio",
        "samples": samples,
        "duration": round(samples / sample_rate, 6),
        "crc32": f"{zlib.crc32(pcm):08x}",
    }


class STTConnection(FaultActor):
    """One upgraded STT WebSocket: reads client frames until the session ends, answers them.

    ``reply`` is the rule's script; ``None`` (no rule matched, echo mode): the session
    transcribes what it hears (:class:`~.transcribe.ToneTranscriber`). ``faults`` act on the
    session's messages (:class:`~.faults.FaultPlan`); ``transport`` is the connection's, which
    a ``disconnect`` fault in ``reset`` mode aborts; ``lateness`` (optional) is told of each due
    message once sent (:data:`LatenessHook`)."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        exchange: Exchange,
        reply: STTReply | None,
        *,
        faults: Sequence[Any] = (),
        transport: asyncio.BaseTransport | None = None,
        lateness: LatenessHook | None = None,
    ) -> None:
        self.ws = ws
        self.exchange = exchange
        self.reply = reply
        self.session = ServerSession()
        self.voice: Transcriber | None = None
        self.plan = FaultPlan(faults, time_scale=exchange.time_scale)
        self._write = exchange.writer(FRAME_KIND)
        self._ended = False
        self._transport = transport
        self._lateness = lateness

    async def run(self) -> None:
        """Serve the session until it ends (closed by either side, or idle too long)."""
        try:
            await read_text_frames(self.ws, self.exchange, self._read_on, self.close)
        finally:
            self.session.connection_closed()

    async def _read_on(self, data: str) -> bool:
        await self.on_text(data)
        if self._ended:
            return False
        code = self.session.close_code
        if code is not None and not self.ws.closed and not self._held_open():
            # A frame a reorder fault held back goes out before the end.
            for step in self.plan.flush():
                await self.act(step)
            await self.close(code, "")
            return False
        return True

    async def on_text(self, data: str) -> None:
        """One client text frame: judged by the session, journaled, answered."""
        # Read only when a benchmark listens: a session pays nothing for the hook otherwise.
        arrived = time.monotonic() if self._lateness is not None else 0.0
        try:
            message = self.session.receive_frame(data)
        except RemoteProtocolError as error:
            self.exchange.frame(
                "in",
                FRAME_KIND,
                {"refused": error.rule, "length": len(data), "head": data[:_REFUSED_HEAD]},
            )
            # STT-S-1 / SRV-1: an error 400, and the socket stays usable. Not a scripted
            # event: faults address the session's own messages.
            await self.send_text(self.session.reject(error), None)
            return
        self._journal_in(message, data)
        for reply in self.answer(message):
            if self._ended:
                break
            await self.send(reply)
            if self._lateness is not None:
                self._lateness(self, reply, arrived, time.monotonic())

    def answer(self, message: ClientMessage) -> list[ServerMessage]:
        """The messages a client message makes due."""
        if isinstance(message, SessionCreate):
            self.voice = self._voice(message)
            due: list[ServerMessage] = []
            if self.reply is None or self.reply.session_created:
                session_id = SESSION_ID_PREFIX + self.exchange.next_id("stt_session")
                due.append(SessionCreated(session_id=session_id))
            due.extend(self.voice.hear(b"", 0))
            return due
        voice = self.voice
        assert voice is not None  # the session refuses anything before session.create
        if isinstance(message, InputAudio):
            due = voice.hear(message.pcm, self.session.samples_received)
        elif isinstance(message, SessionFinalize):
            due = [*voice.finish(self.session.samples_received), SessionFinalized()]
            if self.reply is not None and self.reply.after_finalize == "session_closed":
                due.append(SessionClosed())
        else:
            due = []
        for kind, data in voice.notes:
            self.exchange.note(kind, data)
        voice.notes.clear()
        return due

    def _held_open(self) -> bool:
        # A script may keep the socket open after session.finalized: the client's own
        # session.close (STT-C-4) or the idle limit ends it then.
        return (
            self.reply is not None
            and self.reply.after_finalize == "stay_open"
            and self.session.state is SessionState.FINALIZED
        )

    def _voice(self, create: SessionCreate) -> Transcriber:
        request_id = REQUEST_ID_PREFIX + self.exchange.next_id("stt_request")
        if self.reply is None:
            return ToneTranscriber(sample_rate=create.sample_rate, request_id=request_id)
        return ScriptPlayer(self.reply, sample_rate=create.sample_rate, request_id=request_id)

    def _journal_in(self, message: ClientMessage, data: str) -> None:
        if isinstance(message, InputAudio):
            rate = self.session.sample_rate
            assert rate is not None  # audio is refused before session.create
            shown: Any = audio_summary(message.pcm, rate)
        else:
            shown = self.exchange.state.journal.body(data.encode())
        self.exchange.frame("in", FRAME_KIND, shown)
        if isinstance(message, SessionUpdate):
            self.exchange.note("session_update", message.settings.model_dump(exclude_none=True))

    async def send(self, message: ServerMessage) -> None:
        """Send one server message, built through the session's checks (STT-S-1, STT-S-2),
        as the rule's faults have it."""
        for step in self.plan.send(self.session.send(message)):
            await self.act(step)


def _unplayable(timing: Timing, faults: list[Any]) -> str | None:
    """Why a rule's session cannot be played as scripted, or None."""
    return unplayable_on_websocket(
        ENDPOINT,
        timing,
        faults,
        paced_by="its messages follow the audio clock",
        unsupported=unsupported_faults,
    )


async def _stt(request: web.Request) -> web.StreamResponse:
    accepted = await accept_websocket(request, ENDPOINT, unplayable=_unplayable)
    if not isinstance(accepted, AcceptedWebSocket):
        return accepted
    connection = STTConnection(
        accepted.ws,
        accepted.exchange,
        accepted.reply,
        faults=accepted.faults,
        transport=request.transport,
        lateness=request.app.get(LATENESS_HOOK),
    )
    await connection.run()
    return accepted.ws


def add_stt_routes(router: web.UrlDispatcher, prefix: str) -> None:
    """Mount the STT endpoint under ``prefix`` (``""`` or ``"/v1"``)."""
    router.add_get(f"{prefix}/stt", _stt)
