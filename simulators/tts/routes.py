"""The TTS endpoint on the aiohttp server: a WebSocket at ``/tts`` (and ``/v1/tts``).

Before the upgrade, from the request head only: admission by the core (the bearer JWT, AUTH-4:
a 401 JSON body and no upgrade; the scenario; a session slot), then the rule (``match.model``
against ``?model=``; the attempt counts connections to the same URL, so a client's reconnect
is attempt 2), and what a rule answers without a WebSocket (``raw``, a ``status`` fault). A
plain GET gets a 400 JSON body.

After it, one :class:`TTSConnection` per socket, pooled by the client: every client frame is
judged by the wire module's :class:`~voicewire.reference.tts.wire.TTSServerConnection` (an
unparseable or out-of-order message gets an ``error`` 400 and the socket stays usable,
SRV-1; a binary frame a close 1003, SRV-3). ``session.create`` (once per connection) gets
``session.created`` with the session id; each ``input_transcript`` gets the tone code of its
text (:func:`~voicewire.reference.tone_code.encode_tone`) at the session's rate, as
``output_audio`` chunks (and ``output_alignment`` if the reply asks), ``session_id`` on every
message (TTS-S-1); ``session.flush`` gets ``done``, and the socket stays open for the next
synthesis. How the audio is delivered is the rule's :class:`~.script.TTSReply` (without a
rule: its defaults); its faults act on the connection's messages (:mod:`.faults`).

The journal records every frame both ways (``ws_message``; audio as its duration, sample
count and CRC-32, never its base64), the closes (``ws_close``) and what the connection
decided.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from voicewire.reference.tone_code import encode_tone
from voicewire.reference.tts.wire import (
    TTS_BAD_REQUEST,
    AlignedChar,
    AlignedWord,
    InputTranscript,
    MalformedMessage,
    OutputAlignment,
    OutputAudio,
    RemoteProtocolError,
    SessionFlush,
    SynthesisDone,
    TTSClientMessage,
    TTSErrorMessage,
    TTSServerConnection,
    TTSServerMessage,
    TTSSessionCreate,
    TTSSessionCreated,
    decode_tts_server_message,
    encode_tts_message,
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
from voicewire.simulators.tts.faults import (
    tts_fault_plan,
    unsupported_faults,
    without_session_id,
)
from voicewire.simulators.tts.script import TTSReply

__all__ = [
    "CLOSE_IDLE",
    "CLOSE_UNSUPPORTED_DATA",
    "ENDPOINT",
    "FRAME_KIND",
    "MAX_TRANSCRIPT_BYTES",
    "SESSION_ID_PREFIX",
    "TTSConnection",
    "add_tts_routes",
    "output_audio_summary",
]

ENDPOINT = "tts"
"""The scenario endpoint of the TTS WebSocket."""
SESSION_ID_PREFIX = "tts_sess_"
"""The connection's ``session_id`` is this prefix and the exchange's next id."""
MAX_TRANSCRIPT_BYTES = 1024
"""The longest ``input_transcript`` text the simulator speaks, in UTF-8 bytes (72 s of tone
code): a sentence is far shorter, and one synthesis's work stays bounded (SRV-7). A longer
one gets an ``error`` 400."""

# What the journal keeps of a client frame it could not accept: its head, never megabytes.
_REFUSED_HEAD = 200
# How every output_audio frame begins (encode_tts_message writes ``type`` first).
_AUDIO_HEAD = '{"type": "output_audio"'


def output_audio_summary(message: OutputAudio, sample_rate: int) -> dict[str, Any]:
    """What the journal keeps of an ``output_audio`` frame: its sample count, duration,
    CRC-32 and ``session_id``, never its base64."""
    pcm = message.pcm
    samples = len(pcm) // 2
    return {
        "type": "output_audio",
        "samples": samples,
        "duration": round(samples / sample_rate, 6),
        "crc32": f"{zlib.crc32(pcm):08x}",
        "session_id": message.session_id,
    }


class TTSConnection(FaultActor):
    """One upgraded TTS WebSocket: reads client frames until the socket closes, answers them.

    ``reply`` is the rule's :class:`~.script.TTSReply` (``None``: no rule matched, its
    defaults). ``faults`` act on the connection's messages (:mod:`.faults`); ``transport`` is
    the connection's, which a ``disconnect`` fault in ``reset`` mode aborts."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        exchange: Exchange,
        reply: TTSReply | None,
        *,
        faults: Sequence[Any] = (),
        transport: asyncio.BaseTransport | None = None,
    ) -> None:
        self.ws = ws
        self.exchange = exchange
        self.reply = reply if reply is not None else TTSReply()
        self.session = TTSServerConnection(
            session_id=SESSION_ID_PREFIX + exchange.next_id("tts_session")
        )
        self.plan = tts_fault_plan(faults, time_scale=exchange.time_scale)
        self._write = exchange.writer(FRAME_KIND)
        self._ended = False
        self._transport = transport
        # The synthesis being answered: its number, samples sent, utterances spoken.
        self._synthesis = 0
        self._position = 0
        self._utterances = 0

    @property
    def audio_rate(self) -> int:
        """The rate the audio is synthesised at: the reply's, else the session's."""
        rate = self.reply.sample_rate or self.session.sample_rate
        assert rate is not None  # audio is only made after session.create
        return rate

    @property
    def ended(self) -> bool:
        """Whether the connection is over (a fault closed it, or the socket closed)."""
        return self._ended or self.ws.closed

    async def run(self) -> None:
        """Serve the connection until it closes (either side, a fault, or idle too long)."""
        try:
            await read_text_frames(self.ws, self.exchange, self._read_on, self.close)
        finally:
            self.session.connection_closed()

    async def _read_on(self, data: str) -> bool:
        await self.on_text(data)
        return not self.ended

    async def on_text(self, data: str) -> None:
        """One client text frame: judged by the session, journaled, answered."""
        try:
            message = self.session.receive_frame(data)
        except RemoteProtocolError as error:
            self.exchange.frame(
                "in",
                FRAME_KIND,
                {"refused": error.rule, "length": len(data), "head": data[:_REFUSED_HEAD]},
            )
            # SRV-1: an error 400, and the socket stays usable. Not an event: faults address
            # the connection's own messages.
            await self.send_text(self.session.reject(error), None)
            return
        self.exchange.frame("in", FRAME_KIND, self.exchange.state.journal.body(data.encode()))
        await self.answer(message)

    async def answer(self, message: TTSClientMessage) -> None:
        """Send what a client message makes due."""
        if isinstance(message, TTSSessionCreate):
            if self.reply.session_created:
                await self.send(TTSSessionCreated(session_id=self.session.session_id))
            return
        if self.session.syntheses != self._synthesis:
            # The message began a synthesis: its audio starts from sample 0.
            self._synthesis = self.session.syntheses
            self._position = 0
            self._utterances = 0
        if isinstance(message, InputTranscript):
            refusal = self._refusal(message)
            if refusal is not None:
                self.exchange.note("expectation_failed", refusal)
                await self.send(TTSErrorMessage(message=refusal, code=TTS_BAD_REQUEST))
                return
            text = message.transcript.strip()
            problem = _unspeakable(text)
            if problem is not None:
                # SRV-1: an error 400; the synthesis goes on without this sentence.
                error = RemoteProtocolError("TTS-C-2", problem, self.session.state)
                self.exchange.note("unspeakable", problem)
                await self.send_text(self.session.reject(error), None)
                return
            await self.speak(text)
        elif isinstance(message, SessionFlush):
            await self.send(SynthesisDone(session_id=self.session.session_id))

    def _refusal(self, message: InputTranscript) -> str | None:
        # The voice and model in force: the sentence's generation_config, else the session's.
        create = self.session.create_message
        assert create is not None  # input is refused before session.create
        config = message.generation_config
        for name, expected, asked in (
            ("voice", self.reply.expect_voice, config.voice or create.voice),
            ("model", self.reply.expect_model, config.model or create.model),
        ):
            if expected is not None and asked != expected:
                return (
                    f"this scenario expects {name} {expected!r}, the synthesis asked for {asked!r}"
                )
        return None

    async def speak(self, text: str) -> None:
        """The tone-coded audio of one ``input_transcript``'s ``text``, in chunks (after the
        synthesis's ``ttfb`` or the reply's ``gap``), with its alignment if asked."""
        if not text or self.ended:
            return
        reply = self.reply
        rate = self.audio_rate
        scale = self.exchange.time_scale
        if self._utterances == 0 and reply.ttfb > 0:
            self.exchange.note("ttfb", {"seconds": reply.ttfb * scale})
            await asyncio.sleep(reply.ttfb * scale)
        gap = round(reply.gap * rate) if self._utterances else 0
        self._utterances += 1
        # Off the event loop: synthesis costs time in proportion to the text, and the other
        # sessions keep their timing meanwhile (SRV-7).
        utterance = await asyncio.to_thread(encode_tone, text, sample_rate=rate)
        offset = (self._position + gap) / rate
        if reply.alignment != "none":
            timed = utterance.alignment.shifted(offset)
            if reply.alignment == "words":
                words = tuple(
                    AlignedWord(word=w.text, start=w.start, end=w.end) for w in timed.words
                )
                alignment = OutputAlignment(words=words, session_id=self.session.session_id)
            else:
                chars = tuple(
                    AlignedChar(char=c.text, start=c.start, end=c.end) for c in timed.chars
                )
                alignment = OutputAlignment(chars=chars, session_id=self.session.session_id)
            await self.send(alignment)
        pcm = bytes(2 * gap) + utterance.to_bytes()
        step = 2 * max(1, round(reply.chunk_duration * rate))
        pace = reply.chunk_duration * reply.real_time_factor * scale
        loop = asyncio.get_running_loop()
        # Chunk k is due k paces after the first, on the loop's clock: the time each send
        # takes (and each sleep's overshoot) does not add up over the utterance.
        first = loop.time()
        for index, start in enumerate(range(0, len(pcm), step)):
            if self.ended:
                return
            if index and pace > 0:
                await asyncio.sleep(max(0.0, first + index * pace - loop.time()))
            chunk = pcm[start : start + step]
            await self.send(OutputAudio.from_pcm(chunk, session_id=self.session.session_id))
            self._position += len(chunk) // 2

    async def send(self, message: TTSServerMessage) -> None:
        """Send one server message, built through the session's checks (TTS-S-1), without
        the session id where the reply says so, as the rule's faults have it."""
        if self.ended:
            return
        text = self.session.send(message)
        shown = without_session_id(message, self.reply.session_id)
        if shown is not message:
            text = encode_tts_message(shown)
        for step in self.plan.send(text):
            await self.act(step)

    async def send_text(self, text: str | bytes, event: int | None) -> None:
        """As every connection's, but nothing once the socket is closed (a synthesis may
        still be producing when the client goes)."""
        if not self.ws.closed:
            await super().send_text(text, event)

    def journal_text(self, text: str, event: int | None) -> None:
        """An ``output_audio`` as its summary, any other frame as it went out."""
        summary = self._audio_summary(text)
        if summary is None:
            self._write(text.encode(), event)
        else:
            self.exchange.frame("out", FRAME_KIND, {**summary, "event": event})

    def _audio_summary(self, text: str) -> dict[str, Any] | None:
        # Only output_audio frames are summarised; a malformed fault's frame that begins like
        # one is kept as it is.
        if not text.startswith(_AUDIO_HEAD):
            return None
        try:
            message = decode_tts_server_message(text)
        except MalformedMessage:
            return None
        if not isinstance(message, OutputAudio):
            return None
        return output_audio_summary(message, self.audio_rate)


def _unspeakable(text: str) -> str | None:
    """Why the tone code cannot speak one transcript's ``text``, or None."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return "the transcript holds a lone surrogate: it is not text the tone code can speak"
    if size > MAX_TRANSCRIPT_BYTES:
        return (
            f"the transcript is {size} bytes of UTF-8: the simulator speaks at most "
            f"{MAX_TRANSCRIPT_BYTES} per input_transcript"
        )
    return None


def _unplayable(timing: Timing, faults: list[Any]) -> str | None:
    """Why a rule's connection cannot be played as scripted, or None."""
    return unplayable_on_websocket(
        ENDPOINT,
        timing,
        faults,
        paced_by="the reply's ttfb and real_time_factor pace its audio",
        unsupported=unsupported_faults,
    )


async def _tts(request: web.Request) -> web.StreamResponse:
    accepted = await accept_websocket(request, ENDPOINT, unplayable=_unplayable)
    if not isinstance(accepted, AcceptedWebSocket):
        return accepted
    connection = TTSConnection(
        accepted.ws,
        accepted.exchange,
        accepted.reply,
        faults=accepted.faults,
        transport=request.transport,
    )
    await connection.run()
    return accepted.ws


def add_tts_routes(router: web.UrlDispatcher, prefix: str) -> None:
    """Mount the TTS endpoint under ``prefix`` (``""`` or ``"/v1"``)."""
    router.add_get(f"{prefix}/tts", _tts)
