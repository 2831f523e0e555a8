"""The Inworld STT part of the Inworld simulator: the WebSocket
``{prefix}/stt/v1/transcribe:streamBidirectional`` (SPEC §5.3), scenario endpoint
``inworld.transcribe``.

Before the upgrade, from the request head only: admission by the core with a Basic key
(AUTH-6: a 401 JSON body and no upgrade), the rule (the attempt counts connections to the same
URL, so a client's reconnect is attempt 2), and what a rule answers without a WebSocket
(``raw``, a ``status`` fault). After it, one :class:`InworldTranscribeConnection` per socket:
every client frame is judged by the wire module's
:class:`~voicewire.reference.inworld.wire.stt_session.TranscribeServerSession` (a refused
message gets Inworld's error frame, ``{"error": {"code": 3, "message"}}``, and the socket stays
usable, SRV-1; a binary frame a close 1003, SRV-3), the audio advances the stream's audio clock,
and a voice says which messages that audio made due:

- with a rule, its :class:`InworldTranscribeReply` is played on the audio clock by the STT
  simulator's :class:`~voicewire.simulators.stt.player.ScriptPlayer` (the same segments,
  interims and timing as ``stt``'s script), its messages said in Inworld's words
  (:class:`TranscribeScriptVoice`);
- without one (echo mode), the stream is transcribed with the tone code
  (:class:`TranscribeToneVoice`): ``speechStarted`` when speech begins, interims as the
  utterance is read, the final with its text (or ``[speech 1.20 s]`` for other speech).

``endTurn`` finalises what is in progress at once; ``closeStream`` gets the pending finals and
a close 1000 (IW-STT-S-1), unless the reply says ``after_close_stream: stay_open``.

A rule's faults act on the stream's messages as a broken server would, through the STT
simulator's :class:`~voicewire.simulators.stt.faults.FaultPlan` and
:class:`~voicewire.simulators.stt.fault_actor.FaultActor` (:class:`InworldFaultPlan` gives
``error_event`` Inworld's error frame and ``malformed`` an Inworld frame cut short). The
journal records every frame both ways (``ws_message``; audio as its samples, duration and
CRC-32, never its base64), the closes (``ws_close``) and what the stream decided.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Literal, Protocol

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError, model_validator
from voicewire.reference.inworld.wire.stt_messages import (
    CloseStream,
    EndTurn,
    SpeechStartedMessage,
    TranscribeAudioChunk,
    TranscribeClientMessage,
    TranscribeConfigMessage,
    TranscribeError,
    TranscribeErrorMessage,
    TranscribeServerMessage,
    TranscriptionMessage,
    encode_transcribe_message,
)
from voicewire.reference.inworld.wire.stt_session import TranscribeServerSession
from voicewire.reference.json_wire import RemoteProtocolError
from voicewire.reference.stt.wire import (
    FinalTranscript,
    InterimTranscript,
    ServerMessage,
    StartOfSpeech,
)
from voicewire.reference.tone_code import MIN_SAMPLE_RATE, DecodedSegment, ToneDecoder
from voicewire.simulators.core.credentials import Authentication
from voicewire.simulators.core.state import Exchange
from voicewire.simulators.core.websocket import (
    FRAME_KIND,
    AcceptedWebSocket,
    accept_websocket,
    read_text_frames,
    unplayable_on_websocket,
)
from voicewire.simulators.scenario import (
    EndpointSpec,
    ErrorEventFault,
    MalformedFault,
    Timing,
)
from voicewire.simulators.stt.fault_actor import FaultActor
from voicewire.simulators.stt.faults import FaultPlan, FaultStep, SendFrame, unsupported_faults
from voicewire.simulators.stt.player import ScriptPlayer, position
from voicewire.simulators.stt.routes import audio_summary
from voicewire.simulators.stt.script import (
    MAX_SCRIPT_SECONDS,
    MIN_INTERIM_INTERVAL,
    SegmentScript,
    STTReply,
)
from voicewire.simulators.stt.transcribe import speech_placeholder

__all__ = [
    "ENDPOINT",
    "ENDPOINTS",
    "MALFORMED_TRANSCRIBE_FRAME",
    "TRANSCRIBE_PATH",
    "InworldFaultPlan",
    "InworldTranscribeConnection",
    "InworldTranscribeReply",
    "TranscribeScriptVoice",
    "TranscribeSegment",
    "TranscribeToneVoice",
    "TranscribeVoice",
    "add_routes",
]

ENDPOINT = "inworld.transcribe"
"""The scenario endpoint of the Inworld STT WebSocket."""
TRANSCRIBE_PATH = "/stt/v1/transcribe:streamBidirectional"
"""The route, under each prefix."""
MALFORMED_TRANSCRIBE_FRAME = '{"result": {"transcription": '
"""What a ``malformed`` fault sends by default: an Inworld frame that is not JSON."""

# What the journal keeps of a client frame it could not accept: its head, never megabytes.
_REFUSED_HEAD = 200


# -- the reply vocabulary ----------------------------------------------------------------------


class _Script(BaseModel):
    # Unknown keys are errors: a typo in a scenario must not silently script nothing.
    model_config = ConfigDict(extra="forbid", frozen=True)


class TranscribeSegment(_Script):
    """One segment of speech: its final transcript and where it sounds in the audio."""

    text: StrictStr = Field(
        default="", description='The final transcript ("" scripts an empty final).'
    )
    start: float = Field(
        ge=0,
        le=MAX_SCRIPT_SECONDS,
        allow_inf_nan=False,
        description="Seconds of audio at which the segment begins.",
    )
    duration: float = Field(
        ge=0,
        le=MAX_SCRIPT_SECONDS,
        allow_inf_nan=False,
        description="Seconds of audio the segment lasts; its final is sent when the audio "
        "received reaches `start + duration` (or at `endTurn` / `closeStream` if sooner).",
    )
    voice_profile: dict[str, Any] | None = Field(
        default=None,
        description="The final's `voiceProfile` object (absent: not sent).",
    )


class InworldTranscribeReply(_Script):
    """What the Inworld STT simulator says on one stream: its transcript script, on the audio
    clock, as the ``stt`` endpoint's script places it."""

    segments: list[TranscribeSegment] = Field(
        default_factory=list,
        description="The segments, in order, not overlapping (one may start where the "
        "previous ends).",
    )
    interim_interval: float | None = Field(
        default=0.1,
        ge=MIN_INTERIM_INTERVAL,
        le=MAX_SCRIPT_SECONDS,
        allow_inf_nan=False,
        description="Seconds of audio between two interim transcriptions of a segment (the "
        "first one that much after its start; at least 0.01); null: no interims.",
    )
    empty_interims: bool = Field(
        default=False,
        description="Send interims whose prefix is still empty as empty transcriptions; "
        "false: leave them out.",
    )
    speech_started: bool = Field(
        default=True,
        description="Send `speechStarted` when the audio reaches each segment's start.",
    )
    after_close_stream: Literal["close", "stay_open"] = Field(
        default="close",
        description="After `closeStream` and the pending finals: `close` closes with 1000; "
        "`stay_open` never closes (a server that breaks IW-STT-S-1: the client's own timer "
        "or the idle limit ends the stream).",
    )

    @model_validator(mode="after")
    def _playable(self) -> InworldTranscribeReply:
        # The stt script's own checks (order, overlap, bounds), with its messages.
        try:
            self.stt_reply()
        except ValidationError as exc:
            raise ValueError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
        return self

    def stt_reply(self, segments: Sequence[TranscribeSegment] | None = None) -> STTReply:
        """This script as the ``stt`` endpoint's (``segments``: only those), for its player;
        a segment's voice profile rides in ``extra``."""
        chosen = self.segments if segments is None else segments
        return STTReply(
            segments=[
                SegmentScript(
                    text=s.text, start=s.start, duration=s.duration, extra=s.voice_profile
                )
                for s in chosen
            ],
            interim_interval=self.interim_interval,
            empty_interims=self.empty_interims,
            start_of_speech=self.speech_started,
            session_created=False,
        )


# -- the voices: audio in, Inworld messages out (no I/O) --------------------------------------


class TranscribeVoice(Protocol):
    """The voice of one stream: audio in, the server messages it made due out."""

    notes: list[tuple[str, Any]]
    """What the journal should note (``(kind, data)``), taken by the caller after each call."""

    def hear(self, pcm: bytes, samples_received: int) -> list[TranscribeServerMessage]:
        """``pcm`` arrived; ``samples_received`` in all. The messages now due."""
        ...

    def end_turn(self, samples_received: int) -> list[TranscribeServerMessage]:
        """``endTurn``: what is in progress is finalised now; the stream goes on."""
        ...

    def finish(self, samples_received: int) -> list[TranscribeServerMessage]:
        """``closeStream``: every message still pending."""
        ...


def _inworld(message: ServerMessage) -> TranscribeServerMessage | None:
    """An ``stt`` script message in Inworld's words (the voice profile rides in ``extra``, and
    only a final carries it)."""
    if isinstance(message, StartOfSpeech):
        return SpeechStartedMessage()
    if isinstance(message, FinalTranscript):
        return TranscriptionMessage.of(
            message.transcript, is_final=True, voice_profile=message.extra
        )
    if isinstance(message, InterimTranscript):
        return TranscriptionMessage.of(message.transcript, is_final=False)
    return None


class TranscribeScriptVoice:
    """Plays an :class:`InworldTranscribeReply` on the audio clock of a stream at
    ``sample_rate``, with the ``stt`` simulator's :class:`ScriptPlayer`. ``endTurn`` finalises
    the segment in progress at once; the segments after it play on as scripted."""

    def __init__(self, reply: InworldTranscribeReply, *, sample_rate: int) -> None:
        self._reply = reply
        self._rate = sample_rate
        self._player = ScriptPlayer(reply.stt_reply(), sample_rate=sample_rate, request_id="")
        self.notes: list[tuple[str, Any]] = []

    @staticmethod
    def _said(messages: list[ServerMessage]) -> list[TranscribeServerMessage]:
        return [m for m in map(_inworld, messages) if m is not None]

    def hear(self, pcm: bytes, samples_received: int) -> list[TranscribeServerMessage]:
        """The messages whose position the audio has reached."""
        return self._said(self._player.hear(pcm, samples_received))

    def end_turn(self, samples_received: int) -> list[TranscribeServerMessage]:
        """What is due, the final of the segment in progress, then a player for the segments
        the audio has not reached yet."""
        said = self._said(self._player.finish(samples_received))
        self._player.notes.clear()  # the segments not reached are still to come
        later = [
            s for s in self._reply.segments if position(s.start, self._rate) > samples_received
        ]
        self._player = ScriptPlayer(
            self._reply.stt_reply(later), sample_rate=self._rate, request_id=""
        )
        return said

    def finish(self, samples_received: int) -> list[TranscribeServerMessage]:
        """What is due, then the final of the segment in progress; segments the audio never
        reached are noted, not sent."""
        said = self._said(self._player.finish(samples_received))
        self.notes.extend(self._player.notes)
        self._player.notes.clear()
        return said


class TranscribeToneVoice:
    """Transcribes a stream with the tone code
    (:class:`~voicewire.reference.tone_code.ToneDecoder`): ``speechStarted`` when speech
    begins, an interim each time more of an utterance is read, then its final (other speech:
    ``[speech 1.20 s]``). Below 8 kHz nothing can be decoded: the stream is served, says
    nothing, and the journal says why."""

    def __init__(self, *, sample_rate: int) -> None:
        self.notes: list[tuple[str, Any]] = []
        self._decoder: ToneDecoder | None = None
        self._started = False
        self._partial = ""
        if sample_rate >= MIN_SAMPLE_RATE:
            self._decoder = ToneDecoder(sample_rate)
        else:
            self.notes.append(
                (
                    "not_transcribed",
                    {
                        "reason": f"the tone code needs at least {MIN_SAMPLE_RATE} Hz, "
                        f"the stream has {sample_rate} Hz"
                    },
                )
            )

    def hear(self, pcm: bytes, samples_received: int) -> list[TranscribeServerMessage]:
        """The finals of the segments this audio completed, then what the speech in progress
        says (its start, a longer interim)."""
        if self._decoder is None or not pcm:
            return []
        said = [m for segment in self._decoder.push(pcm) for m in self._final(segment)]
        return said + self._progress(self._decoder)

    def end_turn(self, samples_received: int) -> list[TranscribeServerMessage]:
        """The finals of what is open now; the decoder goes on, on the same clock."""
        return self.finish(samples_received)

    def finish(self, samples_received: int) -> list[TranscribeServerMessage]:
        """The finals of what is open now (an utterance cut short is reported as speech)."""
        if self._decoder is None:
            return []
        return [m for segment in self._decoder.flush() for m in self._final(segment)]

    def _progress(self, decoder: ToneDecoder) -> list[TranscribeServerMessage]:
        said: list[TranscribeServerMessage] = []
        if not self._started and decoder.speech_start is not None:
            self._started = True
            said.append(SpeechStartedMessage())
        partial = decoder.partial_text
        if self._started and partial and partial != self._partial:
            self._partial = partial
            said.append(TranscriptionMessage.of(partial, is_final=False))
        return said

    def _final(self, segment: DecodedSegment) -> list[TranscribeServerMessage]:
        # A segment that began and ended within one push still opens with speechStarted.
        said: list[TranscribeServerMessage] = [] if self._started else [SpeechStartedMessage()]
        self._started = False
        self._partial = ""
        text = segment.text if segment.text is not None else speech_placeholder(segment.duration)
        said.append(TranscriptionMessage.of(text, is_final=True))
        return said


# -- faults ------------------------------------------------------------------------------------


class InworldFaultPlan(FaultPlan):
    """The STT simulator's fault plan on an Inworld stream: ``error_event`` inserts Inworld's
    error frame (``{"error": {"code", "message"}}``) and ``malformed`` without a ``line``
    sends :data:`MALFORMED_TRANSCRIBE_FRAME`; every other fault acts as on ``stt``."""

    def __init__(self, faults: Sequence[Any], *, time_scale: float) -> None:
        own = [
            fault.model_copy(update={"line": MALFORMED_TRANSCRIBE_FRAME})
            if isinstance(fault, MalformedFault) and fault.line is None
            else fault
            for fault in faults
        ]
        super().__init__(own, time_scale=time_scale)
        self._errors: dict[int, list[ErrorEventFault]] = {}
        for fault in own:
            if isinstance(fault, ErrorEventFault):
                self._errors.setdefault(fault.at_event, []).append(fault)
        self._events = 0

    def send(self, text: str) -> list[FaultStep]:
        """The steps for the stream's next frame, ``text``, error frames in Inworld's shape."""
        event = self._events
        self._events += 1
        errors = iter(self._errors.get(event, ()))
        steps = super().send(text)
        return [
            SendFrame(self.error_frame(next(errors)), None, step.fault)
            if isinstance(step, SendFrame) and step.fault == "error_event"
            else step
            for step in steps
        ]

    @staticmethod
    def error_frame(fault: ErrorEventFault) -> str:
        """Inworld's error frame for an ``error_event`` fault."""
        return encode_transcribe_message(
            TranscribeErrorMessage(error=TranscribeError(code=fault.code, message=fault.message))
        )


# -- the connection ----------------------------------------------------------------------------


class InworldTranscribeConnection(FaultActor):
    """One upgraded Inworld STT WebSocket: reads client frames until the stream ends, answers
    them. ``reply`` is the rule's script (``None``: echo mode, the tone code); ``faults`` act
    on the stream's messages; ``transport`` is what a ``disconnect`` in ``reset`` mode aborts."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        exchange: Exchange,
        reply: InworldTranscribeReply | None,
        *,
        faults: Sequence[Any] = (),
        transport: asyncio.BaseTransport | None = None,
    ) -> None:
        self.ws = ws
        self.exchange = exchange
        self.reply = reply
        self.session = TranscribeServerSession()
        self.voice: TranscribeVoice | None = None
        self.plan = InworldFaultPlan(faults, time_scale=exchange.time_scale)
        self._write = exchange.writer(FRAME_KIND)
        self._ended = False
        self._transport = transport

    async def run(self) -> None:
        """Serve the stream until it ends (closed by either side, or idle too long)."""
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
            for step in self.plan.flush():  # a frame a reorder held back goes out first
                await self.act(step)
            await self.close(code, "")
            return False
        return True

    def _held_open(self) -> bool:
        return self.reply is not None and self.reply.after_close_stream == "stay_open"

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
            # SRV-1: Inworld's error frame, and the socket stays usable. Not a scripted event.
            await self.send_text(self.session.reject(error), None)
            return
        self._journal_in(message, data)
        for reply in self.answer(message):
            if self._ended:
                break
            await self.send(reply)

    def answer(self, message: TranscribeClientMessage) -> list[TranscribeServerMessage]:
        """The messages a client message makes due."""
        if isinstance(message, TranscribeConfigMessage):
            self.voice = self._voice(message)
            due = self.voice.hear(b"", 0)
        else:
            voice = self.voice
            assert voice is not None  # the session refuses anything before the config
            samples = self.session.samples_received
            if isinstance(message, TranscribeAudioChunk):
                due = voice.hear(message.pcm, samples)
            elif isinstance(message, EndTurn):
                due = voice.end_turn(samples)
            else:
                assert isinstance(message, CloseStream)
                due = voice.finish(samples)
        for kind, data in self.voice.notes:
            self.exchange.note(kind, data)
        self.voice.notes.clear()
        return due

    def _voice(self, config: TranscribeConfigMessage) -> TranscribeVoice:
        if self.reply is None:
            return TranscribeToneVoice(sample_rate=config.sample_rate)
        return TranscribeScriptVoice(self.reply, sample_rate=config.sample_rate)

    def _journal_in(self, message: TranscribeClientMessage, data: str) -> None:
        if isinstance(message, TranscribeAudioChunk):
            rate = self.session.sample_rate
            assert rate is not None  # audio is refused before the config
            summary = audio_summary(message.pcm, rate)
            del summary["type"]
            shown: Any = {"audioChunk": summary}
        else:
            shown = self.exchange.state.journal.body(data.encode())
        self.exchange.frame("in", FRAME_KIND, shown)

    async def send(self, message: TranscribeServerMessage) -> None:
        """Send one server message, built through the session's checks, as the rule's faults
        have it."""
        for step in self.plan.send(self.session.send(message)):
            await self.act(step)


def _unplayable(timing: Timing, faults: list[Any]) -> str | None:
    return unplayable_on_websocket(
        ENDPOINT,
        timing,
        faults,
        paced_by="its messages follow the audio clock",
        unsupported=unsupported_faults,
    )


async def _transcribe(request: web.Request) -> web.StreamResponse:
    accepted = await accept_websocket(
        request, ENDPOINT, unplayable=_unplayable, scheme=Authentication.BASIC_KEY
    )
    if not isinstance(accepted, AcceptedWebSocket):
        return accepted
    connection = InworldTranscribeConnection(
        accepted.ws,
        accepted.exchange,
        accepted.reply,
        faults=accepted.faults,
        transport=request.transport,
    )
    await connection.run()
    return accepted.ws


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    """Mount the Inworld STT WebSocket under ``prefix`` (``""`` or ``"/v1"``)."""
    router.add_get(f"{prefix}{TRANSCRIBE_PATH}", _transcribe)


ENDPOINTS: tuple[EndpointSpec, ...] = (
    EndpointSpec(ENDPOINT, InworldTranscribeReply, websocket=True),
)
"""The part's scenario endpoints."""
