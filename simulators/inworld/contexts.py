"""The Inworld TTS WebSocket on the simulator: ``/tts/v1/voice:streamBidirectional`` (SPEC
§5.2), a part of the Inworld protocol (:mod:`voicewire.simulators.inworld`).

Before the upgrade, from the request head only: admission by the core with the Basic key
(AUTH-6: a missing or unknown key gets a 401 JSON body and no upgrade), then the rule of
endpoint ``inworld.contexts`` (the attempt counts connections, so a client's reconnect is
attempt 2) and what a rule answers without a WebSocket (``raw``, a ``status`` fault).

After it, one :class:`InworldContextsConnection` per socket, carrying up to five contexts:
every client frame is judged by the wire module's
:class:`~voicewire.reference.inworld.wire.multiplexer.InworldServerMultiplexer` (an
unparseable or out-of-order message gets a failing status for its context, or a top-level
``error`` when it names none, and the socket stays usable: SRV-1; a sixth concurrent context is
refused for that context only: IW-WS-3; a binary frame gets close 1003: SRV-3). ``create`` gets
``contextCreated``; the text of each context is spoken in the tone code
(:func:`~voicewire.reference.tone_code.encode_tone`) at the context's ``sampleRateHertz`` as
``audioChunk``\\ s, with word or character timestamps matching the audio when the context asked
for a ``timestampType`` (times restart at 0 after each ``flushCompleted``, as Inworld's do);
``flush_context`` gets ``flushCompleted``, ``close_context`` (and ``cancel_context``)
``contextClosed``.

Contexts are served side by side, as Inworld multiplexes them: each context answers its own
messages in order in a task of its own (its own ``ttfb``, pacing and utterances), while the
socket's frames go on being read, so the audio of concurrent contexts interleaves on the wire.
The socket has one writer at a time (every frame, with its faults, goes out whole and in the
order of the fault plan's events); a refusal of a message naming a live context goes out after
that context's replies before it. ``cancel_context`` stops the context's generation between two
chunks and discards its text not yet spoken, then ``contextClosed`` answers it. When the socket
closes, every context's task is cancelled and awaited: nothing is written after the close. The
idle limit (SRV-4) does not run while a context is still answering.

Who cuts the text into utterances follows the context's ``create``: with ``autoModeStrategy``
``SENTENCE_BOUNDARY`` (inworld-tts-2) the server holds the text until a sentence ends (or a
flush, or the close); otherwise every ``send_text`` is one utterance, spoken as it arrives.

How the audio is delivered, and the Inworld server bugs to play, are the rule's
:class:`InworldContextsReply`; its faults act on the connection's messages (the shared
:class:`~voicewire.simulators.stt.faults.FaultPlan`; ``error_event`` sends Inworld's top-level
``error``). The journal records every frame both ways (audio as its duration, sample count and
CRC-32, never its base64), the closes and what the connection decided.
"""

from __future__ import annotations

import asyncio
import base64
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, web
from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator
from voicewire.reference.inworld.wire.contexts import (
    CancelContext,
    CloseContext,
    ContextClientMessage,
    CreateContext,
    CreateContextConfig,
    FlushContext,
    SendText,
)
from voicewire.reference.inworld.wire.multiplexer import (
    INWORLD_MAX_CONTEXTS,
    STATUS_INTERNAL,
    STATUS_INVALID_ARGUMENT,
    ContextRefused,
    InworldServerMultiplexer,
)
from voicewire.reference.inworld.wire.timestamps import (
    InworldCharacterAlignment,
    InworldTimestampInfo,
    InworldWordAlignment,
)
from voicewire.reference.json_wire import LocalProtocolError
from voicewire.reference.tone_code import MIN_SAMPLE_RATE, ToneAlignment, encode_tone
from voicewire.reference.tts.sentences import sentence_ends
from voicewire.simulators.core.credentials import Authentication
from voicewire.simulators.core.registry import EndpointSpec
from voicewire.simulators.core.state import Exchange
from voicewire.simulators.core.websocket import (
    FRAME_KIND,
    AcceptedWebSocket,
    accept_websocket,
    read_text_frames,
    unplayable_on_websocket,
)
from voicewire.simulators.scenario import MalformedFault, Timing
from voicewire.simulators.stt.fault_actor import FaultActor
from voicewire.simulators.stt.faults import FaultPlan, FaultStep, SendFrame, unsupported_faults
from voicewire.simulators.tts.script import MAX_CHUNK_SECONDS, MAX_SAMPLE_RATE, MIN_CHUNK_SECONDS

__all__ = [
    "CONTEXTS_ENDPOINT",
    "CONTEXTS_PATH",
    "CONTEXT_PLACEHOLDER",
    "ENDPOINTS",
    "MALFORMED_CONTEXT_FRAME",
    "MAX_HELD_TEXT",
    "MAX_WAITING_MESSAGES",
    "InworldContextsConnection",
    "InworldContextsReply",
    "add_routes",
]

CONTEXTS_ENDPOINT = "inworld.contexts"
"""The scenario endpoint of the TTS WebSocket."""
CONTEXTS_PATH = "/tts/v1/voice:streamBidirectional"
"""The route, under ``/`` and ``/v1/`` (clients join it to their URL as an absolute path)."""
MALFORMED_CONTEXT_FRAME = '{"result": {"contextId": '
"""What a ``malformed`` fault sends by default on this endpoint: a frame that is not JSON."""
CONTEXT_PLACEHOLDER = "{contextId}"
"""In a ``malformed`` fault's ``line``: the ``contextId`` of the reply it replaces (contexts
are named by the client, so a scenario cannot spell one: this is how a broken reply names a
live context)."""
MAX_HELD_TEXT = 1000
"""Characters a ``SENTENCE_BOUNDARY`` context may hold before it is spoken anyway (SRV-7)."""
MAX_WAITING_MESSAGES = 64
"""Messages one context may have waiting for its answers before the socket's reads wait for
it: a client sending faster than its audio is made is held back (SRV-7)."""
_MAX_SECONDS = 3600.0
_REFUSED_HEAD = 200
_AUDIO_HEAD = '{"result": {"contextId": '


class InworldContextsReply(BaseModel):
    """How the Inworld TTS WebSocket answers on one connection: the delivery of each
    context's tone-coded audio, and the server bugs to play. Contexts are numbered from 0 in
    the order the connection creates them. Example (YAML)::

        rules:
          - match: {endpoint: inworld.contexts}
            reply:
              chunk_duration: 0.05
              failed_contexts: [1]
              unclosed_contexts: [2]
    """

    # Unknown keys are errors: a typo in a scenario must not silently script nothing.
    model_config = ConfigDict(extra="forbid", frozen=True)

    chunk_duration: float = Field(
        default=0.1,
        ge=MIN_CHUNK_SECONDS,
        le=MAX_CHUNK_SECONDS,
        allow_inf_nan=False,
        description="Seconds of audio per `audioChunk` (the last of an utterance may be "
        "shorter; at least 0.005).",
    )
    ttfb: float = Field(
        default=0.0,
        ge=0,
        le=_MAX_SECONDS,
        allow_inf_nan=False,
        description="Seconds before a generation's first audio (times the time scale).",
    )
    real_time_factor: float = Field(
        default=0.0,
        ge=0,
        le=100,
        allow_inf_nan=False,
        description="Wall seconds per second of audio between two chunks (times the time "
        "scale); 0 sends the audio as fast as it can.",
    )
    gap: float = Field(
        default=0.4,
        ge=0,
        le=_MAX_SECONDS,
        allow_inf_nan=False,
        description="Seconds of silence between two utterances of one generation (over the "
        "tone decoder's 0.3 s hangover, each decodes as its own segment).",
    )
    context_created: bool = Field(
        default=True, description="Answer `create` with `contextCreated`."
    )
    max_contexts: int = Field(
        default=INWORLD_MAX_CONTEXTS,
        ge=1,
        le=100,
        strict=True,
        description="Concurrent contexts a socket may hold; one more is refused with a failing "
        "status for that context only (IW-WS-3).",
    )
    failed_contexts: tuple[int, ...] = Field(
        default=(),
        description="Contexts (numbered from 0 on the connection) answered with a failing "
        "`status` (`status_code`, `status_message`) instead of their first audio.",
    )
    status_code: int = Field(
        default=STATUS_INTERNAL,
        strict=True,
        description="The code of the failing status of `failed_contexts` (not 0).",
    )
    status_message: StrictStr = Field(
        default="simulated failure", description="The message of that status."
    )
    unclosed_contexts: tuple[int, ...] = Field(
        default=(),
        description="Contexts whose `contextClosed` is withheld: a client must not wait for "
        "it for ever.",
    )
    unequal_timestamps: bool = Field(
        default=False,
        description="Send timestamp arrays of unequal length (the end times lack their last "
        "item): a server breaking IW-HTTP-3.",
    )

    @model_validator(mode="after")
    def _failing_status(self) -> InworldContextsReply:
        if self.status_code == 0:
            raise ValueError("status_code 0 is a success, not a failing status")
        return self


ENDPOINTS = (EndpointSpec(CONTEXTS_ENDPOINT, InworldContextsReply, websocket=True),)
"""The scenario endpoints of this part."""


_Waiting = ContextClientMessage | str
"""What waits for a context's task: an accepted message, or the refusal of one (a frame)."""


@dataclass
class _Voice:
    """One context being answered: its number, what it holds, where its generation is, the
    messages waiting for it and the task answering them."""

    index: int
    config: CreateContextConfig
    held: str = ""
    position: int = 0  # samples sent since the generation began
    utterances: int = 0  # in this generation
    failed: bool = False
    cancelled: bool = False  # cancel_context read: its generation stops, its text is discarded
    over: bool = False  # its last reply is due no more (closed, withheld, failed)
    waiting: asyncio.Queue[_Waiting] = field(
        default_factory=lambda: asyncio.Queue(MAX_WAITING_MESSAGES)
    )

    @property
    def rate(self) -> int:
        return self.config.audioConfig.sampleRateHertz


class InworldContextsConnection(FaultActor):
    """One upgraded socket: reads client frames until it closes, answers each context in a
    task of its own.

    ``reply`` is the rule's :class:`InworldContextsReply` (``None``: its defaults);
    ``faults`` act on the connection's messages; ``transport`` is aborted by a ``disconnect``
    fault in ``reset`` mode."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        exchange: Exchange,
        reply: InworldContextsReply | None,
        *,
        faults: Sequence[Any] = (),
        transport: asyncio.BaseTransport | None = None,
    ) -> None:
        self.ws = ws
        self.exchange = exchange
        self.reply = reply if reply is not None else InworldContextsReply()
        self.mux = InworldServerMultiplexer(max_contexts=self.reply.max_contexts)
        own = [
            f.model_copy(update={"line": MALFORMED_CONTEXT_FRAME})
            if isinstance(f, MalformedFault) and f.line is None
            else f
            for f in faults
        ]
        self.plan = FaultPlan(own, time_scale=exchange.time_scale)
        self._record = exchange.state.journal.recorder(
            scenario=exchange.scenario.name, exchange=exchange.number
        )
        self._ended = False
        self._transport = transport
        self._voices: dict[str, _Voice] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._writer = asyncio.Lock()  # one frame (with its faults) on the wire at a time
        self._closer: asyncio.Task[Any] | None = None
        self._unanswered = 0  # messages handed to contexts and not answered yet
        self._quiet_since = 0.0

    @property
    def ended(self) -> bool:
        """Whether the connection is over (a fault closed it, or the socket closed)."""
        return self._ended or self.ws.closed

    def quiet_since(self) -> float | None:
        """Since when (the loop's time) no context has had anything left to answer; ``None``
        while one has. The idle limit runs only while the connection is quiet: SRV-4 is about
        a client that sends nothing, not one waiting for its audio."""
        return None if self._unanswered else self._quiet_since

    async def run(self) -> None:
        """Serve the connection until it closes (either side, a fault, or idle too long),
        then end every context's task."""
        self._quiet_since = asyncio.get_running_loop().time()
        try:
            await read_text_frames(
                self.ws, self.exchange, self._read_on, self.close, quiet_since=self.quiet_since
            )
        finally:
            await self._stop_contexts()

    async def _stop_contexts(self) -> None:
        # A task carrying out a fault's close finishes it (the close handshake); the others
        # are cancelled wherever they are (a pause, a synthesis, a wait for the writer).
        tasks = list(self._tasks)
        for task in tasks:
            if task is not self._closer:
                task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                raise result

    async def _read_on(self, data: str) -> bool:
        await self.on_text(data)
        return not self.ended

    async def on_text(self, data: str) -> None:
        """One client text frame: judged by the multiplexer, journaled, handed to its
        context (or refused)."""
        try:
            message = self.mux.receive_frame(data)
        except ContextRefused as error:
            self.exchange.frame(
                "in",
                FRAME_KIND,
                {"refused": error.rule, "length": len(data), "head": data[:_REFUSED_HEAD]},
            )
            # SRV-1: a status for the context (or a top-level error), the socket stays usable.
            await self.refuse(error)
            return
        self.exchange.frame("in", FRAME_KIND, self.exchange.state.journal.body(data.encode()))
        await self.answer(message)

    async def refuse(self, error: ContextRefused) -> None:
        """Answer a refused message: after the replies still due to the live context it
        names, else at once. Not an event: faults address the connection's own messages."""
        frame = self.mux.reject(error)
        voice = self._voices.get(error.context_id) if error.context_id is not None else None
        if voice is not None:
            await self._hand(voice, frame)
            return
        async with self._writer:
            await self.send_text(frame, None)

    async def answer(self, message: ContextClientMessage) -> None:
        """Hand a client message to its context's task (a ``create`` starts one)."""
        cid = message.context_id
        if isinstance(message, CreateContext):
            problem = _unservable(message.create)
            if problem is not None:
                self.exchange.note("unservable", {"contextId": cid, "problem": problem})
                await self.send(self.mux.status_error(cid, STATUS_INVALID_ARGUMENT, problem))
                return
            voice = _Voice(index=self.mux.created - 1, config=message.create)
            # A context of the same id whose task is still finishing keeps its own task.
            self._voices[cid] = voice
            task = asyncio.create_task(self._serve(cid, voice), name=f"inworld-context-{cid}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            await self._hand(voice, message)
            return
        voice = self._voices.get(cid)
        if voice is None:  # failed by the script: the multiplexer refuses what follows
            return
        if isinstance(message, CancelContext):
            voice.cancelled = True  # at once: the generation under way stops at its next chunk
        await self._hand(voice, message)

    async def _hand(self, voice: _Voice, item: _Waiting) -> None:
        self._unanswered += 1
        await voice.waiting.put(item)

    def _answered(self, count: int = 1) -> None:
        self._unanswered -= count
        if not self._unanswered:
            self._quiet_since = asyncio.get_running_loop().time()

    async def _serve(self, cid: str, voice: _Voice) -> None:
        """A context's task: its messages answered in order, until it is over and nothing
        waits for it."""
        try:
            while not self.ended:
                item = await voice.waiting.get()
                try:
                    await self.handle(cid, voice, item)
                finally:
                    self._answered()
                if voice.over and voice.waiting.empty():
                    break
        except ConnectionError as exc:
            if not self.ended:
                self.exchange.note("client_gone", str(exc) or type(exc).__name__)
        except Exception as exc:
            # A bug of the simulator: the socket ends as a server error would, at once and in
            # the journal, rather than leave the context waiting; run() raises it.
            self.exchange.note("internal_error", {"contextId": cid, "error": repr(exc)})
            if not self.ended:
                await self.close(WSCloseCode.INTERNAL_ERROR, "internal error")
            raise
        finally:
            if self._voices.get(cid) is voice:
                del self._voices[cid]
            dropped = voice.waiting.qsize()
            while not voice.waiting.empty():
                voice.waiting.get_nowait()  # the socket is gone: a read waiting here goes on
            if dropped:
                self._answered(dropped)

    async def handle(self, cid: str, voice: _Voice, item: _Waiting) -> None:
        """Send what one of a context's messages makes due (a refusal: the frame itself)."""
        if isinstance(item, str):
            async with self._writer:
                await self.send_text(item, None)
            return
        if voice.over:
            return  # closed or failed: nothing more is answered
        if isinstance(item, CreateContext):
            if self.reply.context_created:
                await self.send(self.mux.context_created(cid))
            return
        if voice.cancelled and not isinstance(item, CancelContext):
            return  # discarded by the cancel read after it
        if isinstance(item, SendText):
            voice.held += item.send_text.text
            await self.speak(cid, voice, final=False)
        elif isinstance(item, FlushContext):
            await self.speak(cid, voice, final=True)
            if not voice.over and not voice.cancelled:
                await self.send(self.mux.flush_completed(cid))
                voice.position = voice.utterances = 0  # the next generation's times restart
        elif isinstance(item, CloseContext):
            await self.speak(cid, voice, final=True)
            if not voice.cancelled:
                await self._close_context(cid, voice)
        elif isinstance(item, CancelContext):
            voice.held = ""
            await self._close_context(cid, voice)

    async def _close_context(self, cid: str, voice: _Voice) -> None:
        if voice.over:
            return
        voice.over = True
        if voice.index in self.reply.unclosed_contexts:
            self.exchange.note("context_closed_withheld", {"contextId": cid})
            return
        await self.send(self.mux.context_closed(cid))

    async def speak(self, cid: str, voice: _Voice, *, final: bool) -> None:
        """Speak what the context holds that is due: all of it at a flush or the close;
        else each ``send_text`` as it comes, or (``SENTENCE_BOUNDARY``) the complete
        sentences."""
        text = voice.held
        if not final and voice.config.sentence_boundary and len(text) <= MAX_HELD_TEXT:
            ends = [end for end in sentence_ends(text) if end < len(text)]
            cut = ends[-1] if ends else 0
        else:
            cut = len(text)
        spoken, voice.held = text[:cut], text[cut:]
        if spoken.strip():
            await self.utterance(cid, voice, spoken.strip())

    async def utterance(self, cid: str, voice: _Voice, text: str) -> None:
        """The tone-coded audio of ``text`` in chunks (after the reply's ``ttfb`` or
        ``gap``), its timestamps on the first chunk; or the scripted failing status. A
        cancel stops it between two chunks."""
        if self.ended or voice.over or voice.cancelled:
            return
        reply = self.reply
        if voice.index in reply.failed_contexts:
            voice.failed = voice.over = True
            self.exchange.note("context_failed", {"contextId": cid, "code": reply.status_code})
            await self.send(self.mux.status_error(cid, reply.status_code, reply.status_message))
            return
        rate, scale = voice.rate, self.exchange.time_scale
        if voice.utterances == 0 and reply.ttfb > 0:
            await asyncio.sleep(reply.ttfb * scale)
        gap = round(reply.gap * rate) if voice.utterances else 0
        voice.utterances += 1
        # Off the event loop: the work grows with the text, and other sessions keep their
        # timing meanwhile (SRV-7).
        spoken = await asyncio.to_thread(encode_tone, text, sample_rate=rate)
        info = self._timestamps(voice, spoken.alignment.shifted((voice.position + gap) / rate))
        pcm = bytes(2 * gap) + spoken.to_bytes()
        step = 2 * max(1, round(reply.chunk_duration * rate))
        pace = reply.chunk_duration * reply.real_time_factor * scale
        loop = asyncio.get_running_loop()
        first = loop.time()
        for index, start in enumerate(range(0, len(pcm), step)):
            if self.ended or voice.cancelled:
                return
            if index and pace > 0:
                await asyncio.sleep(max(0.0, first + index * pace - loop.time()))
                if self.ended or voice.cancelled:
                    return
            chunk = pcm[start : start + step]
            try:
                frame = self.mux.audio_chunk(cid, chunk, info if index == 0 else None)
            except LocalProtocolError:
                return  # the context ended meanwhile
            await self.send(frame)
            voice.position += len(chunk) // 2

    def _timestamps(self, voice: _Voice, timed: ToneAlignment) -> InworldTimestampInfo | None:
        kind = voice.config.timestampType
        drop = 1 if self.reply.unequal_timestamps else 0
        if kind == "WORD":
            words = timed.words
            return InworldTimestampInfo(
                wordAlignment=InworldWordAlignment(
                    words=tuple(w.text for w in words),
                    wordStartTimeSeconds=tuple(round(w.start, 6) for w in words),
                    wordEndTimeSeconds=tuple(round(w.end, 6) for w in words)[: len(words) - drop],
                )
            )
        if kind == "CHARACTER":
            chars = timed.chars
            return InworldTimestampInfo(
                characterAlignment=InworldCharacterAlignment(
                    characters=tuple(c.text for c in chars),
                    characterStartTimeSeconds=tuple(round(c.start, 6) for c in chars),
                    characterEndTimeSeconds=tuple(round(c.end, 6) for c in chars)[
                        : len(chars) - drop
                    ],
                )
            )
        return None

    async def send(self, frame: str) -> None:
        """Send one reply frame, as the rule's faults have it: the frame is an event of the
        fault plan in the order it goes on the wire."""
        async with self._writer:
            if self.ended:
                return
            for step in self.plan.send(frame):
                await self.act(_inworld_step(step, frame))

    async def send_text(self, text: str | bytes, event: int | None) -> None:
        """As every connection's, but nothing once the socket is closed (a context may still
        be speaking when the client goes)."""
        if not self.ws.closed:
            await super().send_text(text, event)

    def journal_text(self, text: str, event: int | None) -> None:
        """An ``audioChunk`` as its summary, any other frame as the JSON object it is (or
        its text, when a fault made it something else)."""
        summary = _audio_summary(text) if text.startswith(_AUDIO_HEAD) else None
        if summary is None:
            # As a body: read back as the JSON object it is (one shape for every reader),
            # or as its text when a fault made it something else.
            body = self.exchange.state.journal.body(text.encode())
            self._record("out", FRAME_KIND, body, event=event)
        else:
            self.exchange.frame("out", FRAME_KIND, {**summary, "event": event})

    async def close(self, code: int, reason: str) -> None:
        """Close the socket with ``code``, journaled; the task closing it is remembered (a
        context task carrying out a fault's close finishes the handshake)."""
        if self._closer is None:
            self._closer = asyncio.current_task()
        await super().close(code, reason)


def _inworld_step(step: FaultStep, frame: str) -> FaultStep:
    """The fault plan's inserted ``error`` frame (LiveKit's shape) as Inworld's top-level
    ``{"error": {"code", "message"}}``; a ``malformed`` line's :data:`CONTEXT_PLACEHOLDER` as
    the ``contextId`` of ``frame``, the reply it replaces."""
    if (
        isinstance(step, SendFrame)
        and step.fault == "malformed"
        and isinstance(step.text, str)
        and CONTEXT_PLACEHOLDER in step.text
    ):
        try:
            cid = json.loads(frame)["result"]["contextId"]
        except (ValueError, KeyError, TypeError):
            cid = ""
        return SendFrame(step.text.replace(CONTEXT_PLACEHOLDER, str(cid)), step.event, step.fault)
    if isinstance(step, SendFrame) and step.fault == "error_event" and isinstance(step.text, str):
        error = json.loads(step.text)
        text = json.dumps({"error": {"code": error.get("code", 0), "message": error["message"]}})
        return SendFrame(text, step.event, step.fault)
    return step


def _audio_summary(text: str) -> dict[str, Any] | None:
    """What the journal keeps of an ``audioChunk`` frame: its context, sample count, CRC-32
    and whether timestamps came with it, never its base64."""
    # A scripted malformed line may look like one: it is journaled whole instead.
    try:
        result = json.loads(text)["result"]
        chunk = result["audioChunk"]
        pcm = base64.b64decode(chunk["audioContent"], validate=True)
    except (ValueError, KeyError, TypeError):
        return None
    return {
        "contextId": result.get("contextId"),
        "audioChunk": {
            "samples": len(pcm) // 2,
            "crc32": f"{zlib.crc32(pcm):08x}",
            "timestamps": "timestampInfo" in chunk,
        },
    }


def _unservable(config: CreateContextConfig) -> str | None:
    """Why the simulator cannot speak for a context so configured, or None."""
    audio = config.audioConfig
    if audio.audioEncoding != "PCM":
        return f"the simulator speaks audioEncoding PCM only, not {audio.audioEncoding!r}"
    if not MIN_SAMPLE_RATE <= audio.sampleRateHertz <= MAX_SAMPLE_RATE:
        return (
            f"sampleRateHertz {audio.sampleRateHertz} is outside "
            f"{MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE}"
        )
    return None


def _unplayable(timing: Timing, faults: list[Any]) -> str | None:
    return unplayable_on_websocket(
        CONTEXTS_ENDPOINT,
        timing,
        faults,
        paced_by="the reply's ttfb and real_time_factor pace its audio",
        unsupported=unsupported_faults,
    )


async def _contexts(request: web.Request) -> web.StreamResponse:
    accepted = await accept_websocket(
        request, CONTEXTS_ENDPOINT, unplayable=_unplayable, scheme=Authentication.BASIC_KEY
    )
    if not isinstance(accepted, AcceptedWebSocket):
        return accepted
    connection = InworldContextsConnection(
        accepted.ws,
        accepted.exchange,
        accepted.reply,
        faults=accepted.faults,
        transport=request.transport,
    )
    await connection.run()
    return accepted.ws


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    """Mount the TTS WebSocket under ``prefix`` (``""`` or ``"/v1"``)."""
    router.add_get(f"{prefix}{CONTEXTS_PATH}", _contexts)
