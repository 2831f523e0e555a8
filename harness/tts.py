"""The LiveKit inference TTS protocol in the harness (SPEC §4): capabilities, operations,
events, the outcome suites assert on.

Capabilities this module registers (see :mod:`voicewire.harness.capabilities`):

=================== ========= ===========================================================
``tts.stream``      client    a TTS client's streaming synthesis: operation ``tts.stream``
                              (:class:`TTSStreamRequest` → :class:`TTSAnswer`)
``tts.synthesize``  client    a TTS client's one-shot synthesis: operation ``tts.synthesize``
                              (:class:`TTSSynthesizeRequest` → :class:`TTSAnswer`)
``tts.server``      server    a TTS server: the suites connect to the IUT's ``/tts``
=================== ========= ===========================================================

One operation builds one ``inference.TTS`` at the target and runs its **syntheses** one after
another on it, so the pool's reuse of one socket (TTS-C-3) is observable: ``tts.stream`` plays
a script per synthesis into a ``SynthesizeStream`` (push text, flush, end input, wait for an
event), ``tts.synthesize`` calls ``synthesize(text)`` per text. The answer reports every
audio frame the syntheses emitted (``tts.audio``, with its PCM), every failed attempt
(``tts.error``) and how each synthesis ended (``tts.end``), all numbered by synthesis.

Waiting for an event is how a case places text after audio came ("push a sentence, await its
first frame, push the next") with no wall-clock sleep.

``tts.server`` is not served by default: a ``url:`` IUT names it
(``url:...#protocols=llm,tts``) to be judged on ``/tts``. ``voicewire_iut.speak(...)`` and
``voicewire_iut.synthesize(...)`` are the driver conveniences this module contributes.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from voicewire.harness.capabilities import Capability, Operation, ProtocolSpec
from voicewire.harness.events import BaseEvent, ErrorInfo, describe_events
from voicewire.harness.iut import (
    ConnOptions,
    IUTProtocolError,
    Performer,
    PlainTarget,
    Target,
    probe_upgrade_credentials,
)
from voicewire.harness.stream_diff import (
    Aspect,
    Normaliser,
    PcmDigest,
    collapse_runs,
    error_essentials,
)

__all__ = [
    "PROTOCOL",
    "STREAM_NORMALISERS",
    "TTS_SERVER",
    "TTS_STREAM",
    "TTS_SYNTHESIZE",
    "PushTextStep",
    "SynthesisOutcome",
    "TTSAnswer",
    "TTSAttemptErrorEvent",
    "TTSAudioEvent",
    "TTSEndEvent",
    "TTSEndInputStep",
    "TTSEvent",
    "TTSFlushStep",
    "TTSOutcome",
    "TTSStep",
    "TTSStreamRequest",
    "TTSSynthesizeRequest",
    "TTSWaitEventStep",
    "speak",
    "synthesis_aspects",
    "synthesize",
]

TTS_STREAM = "tts.stream"
TTS_SYNTHESIZE = "tts.synthesize"
TTS_SERVER = "tts.server"

MAX_SYNTHESES = 20
"""Syntheses per operation: enough to judge pooled reuse, few enough to stay fast."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- the script of a streaming synthesis ----------------------------------------------------------


class PushTextStep(_Model):
    """``stream.push_text(text)``: any piece of text (a word, half a sentence, several)."""

    op: Literal["push_text"] = "push_text"
    text: str = Field(max_length=20_000)


class TTSFlushStep(_Model):
    """``stream.flush()``: the text pushed so far forms a segment of its own."""

    op: Literal["flush"] = "flush"


class TTSEndInputStep(_Model):
    """``stream.end_input()``: no more text; the client sends ``session.flush`` (TTS-C-3)."""

    op: Literal["end_input"] = "end_input"


class TTSWaitEventStep(_Model):
    """Wait until this synthesis has emitted ``count`` events of kind ``event`` in all: an
    audio frame (``audio``), a final frame (``final``) or a failed attempt (``error``). The
    wait also ends when the synthesis ended or ``timeout`` seconds passed: the script then
    goes on, and the events say what came."""

    op: Literal["wait_event"] = "wait_event"
    event: Literal["audio", "final", "error"]
    count: int = Field(default=1, ge=1)
    timeout: float = Field(default=10.0, gt=0, le=60)


TTSStep = Annotated[
    PushTextStep | TTSFlushStep | TTSEndInputStep | TTSWaitEventStep,
    Field(discriminator="op"),
]
"""One step of a streaming synthesis's script (a discriminated union on ``op``)."""


class _TTSRequest(_Model):
    """What both operations share: one ``inference.TTS(model, voice=..., language=...,
    sample_rate=..., extra_kwargs=...)`` at ``target``, whose syntheses run one after another
    with ``conn_options``; ``end_timeout`` is the seconds a synthesis may take to end after
    its input (one still running then is closed, and its ``tts.end`` says so)."""

    target: PlainTarget
    model: str = "cartesia/sonic-3"
    voice: str | None = None
    language: str | None = None
    sample_rate: int = Field(default=24000, ge=1, le=999_999)
    extra_kwargs: dict[str, Any] = Field(default_factory=dict)
    conn_options: ConnOptions = Field(default_factory=ConnOptions)
    end_timeout: float = Field(default=15.0, gt=0, le=120)


class TTSStreamRequest(_TTSRequest):
    """Operation ``tts.stream``: one ``stream(conn_options=...)`` per script of ``streams``,
    in order, each played to its end (its frames consumed) before the next begins. A script
    that never ends its input is ended after its last step, as a caller that is done with
    the stream closes it: a stream is judged on a synthesis that finished."""

    streams: list[list[TTSStep]] = Field(min_length=1, max_length=MAX_SYNTHESES)

    @property
    def syntheses(self) -> int:
        """How many syntheses the operation runs."""
        return len(self.streams)


class TTSSynthesizeRequest(_TTSRequest):
    """Operation ``tts.synthesize``: one ``synthesize(text, conn_options=...)`` per text of
    ``texts``, in order, each consumed to its end before the next begins."""

    texts: list[Annotated[str, Field(max_length=20_000)]] = Field(
        min_length=1, max_length=MAX_SYNTHESES
    )

    @property
    def syntheses(self) -> int:
        """How many syntheses the operation runs."""
        return len(self.texts)


# -- events --------------------------------------------------------------------------------------


class TTSAudioEvent(BaseEvent):
    """One ``SynthesizedAudio`` frame a synthesis emitted: its PCM s16le (``pcm``, base64),
    format, ``segment_id`` (the server's ``session_id``, TTS-OUT-1), ``request_id`` and
    whether it is the synthesis's final frame."""

    type: Literal["tts.audio"] = "tts.audio"
    synthesis: int = Field(ge=0)
    pcm: str = Field(description="base64 of the frame's PCM s16le, interleaved channels")
    sample_rate: int = Field(ge=1)
    num_channels: int = Field(default=1, ge=1)
    segment_id: str = ""
    request_id: str = ""
    is_final: bool = False

    @field_validator("pcm")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"pcm is not base64: {exc}") from None
        return value

    @property
    def audio(self) -> bytes:
        """The frame's PCM."""
        return base64.b64decode(self.pcm)

    @property
    def duration(self) -> float:
        """Seconds of audio in the frame."""
        return len(self.audio) / (2 * self.num_channels * self.sample_rate)

    @classmethod
    def of(
        cls,
        t: float,
        synthesis: int,
        pcm: bytes,
        *,
        sample_rate: int,
        num_channels: int = 1,
        segment_id: str = "",
        request_id: str = "",
        is_final: bool = False,
    ) -> TTSAudioEvent:
        """The event of one frame of raw ``pcm``."""
        return cls(
            t=t,
            synthesis=synthesis,
            pcm=base64.b64encode(pcm).decode(),
            sample_rate=sample_rate,
            num_channels=num_channels,
            segment_id=segment_id,
            request_id=request_id,
            is_final=is_final,
        )


class TTSAttemptErrorEvent(BaseEvent):
    """One failed attempt of a synthesis (TTS-OUT-2, TTS-RETRY-1): ``recoverable`` says
    whether another attempt follows."""

    type: Literal["tts.error"] = "tts.error"
    synthesis: int = Field(ge=0)
    error: ErrorInfo
    recoverable: bool


class TTSEndEvent(BaseEvent):
    """A synthesis ended: ``error`` null when its iteration finished, else what it raised."""

    type: Literal["tts.end"] = "tts.end"
    synthesis: int = Field(ge=0)
    error: ErrorInfo | None = None


TTSEvent = Annotated[
    TTSAudioEvent | TTSAttemptErrorEvent | TTSEndEvent, Field(discriminator="type")
]
"""Any event of a synthesis."""


class TTSAnswer(BaseModel):
    """The answer to ``tts.stream`` and ``tts.synthesize``: what the syntheses' consumer
    observed, in order. Synthesis ``i``'s events come after synthesis ``i - 1``'s ``tts.end``
    and before its own; the events end with the last synthesis's ``tts.end``. An error a
    synthesis raised is reported there, never as a failure of the operation."""

    model_config = ConfigDict(extra="forbid")

    events: list[TTSEvent]

    @model_validator(mode="after")
    def _in_synthesis_order(self) -> TTSAnswer:
        current = 0
        for position, event in enumerate(self.events):
            if event.synthesis != current:
                raise ValueError(
                    f"event {position} ({event.type}) belongs to synthesis {event.synthesis}, "
                    f"but synthesis {current} has not ended (each synthesis's events end with "
                    "its tts.end, in order from 0)"
                )
            if isinstance(event, TTSEndEvent):
                current += 1
        if not self.events or not isinstance(self.events[-1], TTSEndEvent):
            raise ValueError("the events must end with a tts.end event")
        return self

    @property
    def calls(self) -> int:
        """How many syntheses the events report (one ``tts.end`` each)."""
        return sum(isinstance(event, TTSEndEvent) for event in self.events)


# -- the outcome suites assert on ---------------------------------------------------------------


@dataclass(frozen=True)
class SynthesisOutcome:
    """Everything one synthesis produced, in order, ending with its ``tts.end``."""

    events: tuple[Any, ...]

    @property
    def frames(self) -> list[TTSAudioEvent]:
        """The audio frames, in emission order."""
        return [e for e in self.events if isinstance(e, TTSAudioEvent)]

    @property
    def audio(self) -> bytes:
        """Every frame's PCM, concatenated."""
        return b"".join(frame.audio for frame in self.frames)

    @property
    def duration(self) -> float:
        """Seconds of audio emitted."""
        return sum(frame.duration for frame in self.frames)

    @property
    def finals(self) -> list[TTSAudioEvent]:
        """The frames marked final."""
        return [frame for frame in self.frames if frame.is_final]

    @property
    def segment_ids(self) -> list[str]:
        """The distinct segment ids of the frames, in order of appearance."""
        return list(dict.fromkeys(frame.segment_id for frame in self.frames))

    @property
    def errors(self) -> list[TTSAttemptErrorEvent]:
        """The failed attempts."""
        return [e for e in self.events if isinstance(e, TTSAttemptErrorEvent)]

    @property
    def end(self) -> TTSEndEvent:
        end = self.events[-1]
        assert isinstance(end, TTSEndEvent)
        return end

    @property
    def error(self) -> ErrorInfo | None:
        """What the synthesis raised, or None when it finished."""
        return self.end.error

    def describe(self, limit: int = 40) -> str:
        """A compact, one-event-per-line rendering for failure messages."""
        return describe_events(self.events, limit)


@dataclass(frozen=True)
class TTSOutcome:
    """Everything one operation produced: its syntheses, in order."""

    events: tuple[Any, ...]

    @property
    def syntheses(self) -> list[SynthesisOutcome]:
        """One outcome per synthesis."""
        split: list[list[Any]] = [[]]
        for event in self.events:
            split[-1].append(event)
            if isinstance(event, TTSEndEvent):
                split.append([])
        return [SynthesisOutcome(tuple(events)) for events in split if events]

    @property
    def only(self) -> SynthesisOutcome:
        """The outcome of an operation of one synthesis."""
        (outcome,) = self.syntheses
        return outcome

    def describe(self, limit: int = 40) -> str:
        """A compact, one-event-per-line rendering for failure messages."""
        return describe_events(self.events, limit)

    def as_stt_script(self, *, frame_ms: float = 10.0) -> list[Any]:
        """The audio every synthesis emitted, as an ``stt.stream`` script: pushed in
        ``frame_ms`` frames at the rate it came at, then the end of input; the TTS → STT round
        trip is ``iut.transcribe(target=..., script=outcome.as_stt_script())``."""
        from itertools import groupby

        from voicewire.harness.stt import EndInputStep, PushAudioStep

        frames = [frame for synthesis in self.syntheses for frame in synthesis.frames]
        script = [
            PushAudioStep.of(
                b"".join(frame.audio for frame in run),
                rate,
                num_channels=channels,
                frame_ms=frame_ms,
            )
            for (rate, channels), run in groupby(
                frames, key=lambda frame: (frame.sample_rate, frame.num_channels)
            )
        ]
        return [*script, EndInputStep()]


# -- driver conveniences -------------------------------------------------------------------------


def _run(driver: Performer, operation: str, request: Any) -> TTSOutcome:
    answer = driver.perform(operation, request)
    if answer.calls != request.syntheses:
        raise IUTProtocolError(
            f"{operation}: the answer reports {answer.calls} syntheses, not {request.syntheses}"
        )
    return TTSOutcome(tuple(answer.events))


def speak(
    driver: Performer, request: TTSStreamRequest | None = None, /, **fields: Any
) -> TTSOutcome:
    """``voicewire_iut.speak(...)``: run streaming syntheses to their end. Pass a request, or
    its fields as keywords (``target=`` a simulator session or server, ``streams=[[...]]``;
    ``script=[...]`` is one stream's)."""
    if "script" in fields:
        fields["streams"] = [fields.pop("script")]
    if request is None:
        request = TTSStreamRequest(**fields)
    elif fields:
        request = TTSStreamRequest.model_validate({**request.model_dump(), **fields})
    return _run(driver, TTS_STREAM, request)


def synthesize(
    driver: Performer, request: TTSSynthesizeRequest | None = None, /, **fields: Any
) -> TTSOutcome:
    """``voicewire_iut.synthesize(...)``: run one-shot syntheses to their end. Pass a
    request, or its fields as keywords (``target=``, ``texts=[...]``; ``text=`` is one)."""
    if "text" in fields:
        fields["texts"] = [fields.pop("text")]
    if request is None:
        request = TTSSynthesizeRequest(**fields)
    elif fields:
        request = TTSSynthesizeRequest.model_validate({**request.model_dump(), **fields})
    return _run(driver, TTS_SYNTHESIZE, request)


async def probe_tts_credentials(target: Target) -> str | None:
    """What a TTS server under test answered when it refused voicewire's credentials (see
    :func:`~voicewire.harness.iut.probe_upgrade_credentials`)."""
    return await probe_upgrade_credentials(target, "/tts?model=cartesia/sonic-3")


PROTOCOL = ProtocolSpec(
    name="tts",
    capabilities=(
        Capability(
            TTS_STREAM,
            "tts",
            "client",
            (
                Operation(
                    TTS_STREAM,
                    TTSStreamRequest,
                    TTSAnswer,
                    "play scripts of text into streaming syntheses and report their audio",
                ),
            ),
            "a TTS client's SynthesizeStream over the pooled WebSocket, with retries (SPEC §4)",
        ),
        Capability(
            TTS_SYNTHESIZE,
            "tts",
            "client",
            (
                Operation(
                    TTS_SYNTHESIZE,
                    TTSSynthesizeRequest,
                    TTSAnswer,
                    "synthesize texts at once and report their audio",
                ),
            ),
            "a TTS client's synthesize(text) over the pooled WebSocket (SPEC §4)",
        ),
        Capability(
            TTS_SERVER,
            "tts",
            "server",
            (),
            "a TTS server: /tts over WebSocket (SPEC §1.1, §4, §7)",
        ),
    ),
    event_types=(TTSAudioEvent, TTSAttemptErrorEvent, TTSEndEvent),
    driver_methods={"speak": speak, "synthesize": synthesize},
    served_by_default=False,
    credentials_probe=probe_tts_credentials,
    # The wire module and the sentence splitter, which the reference client and the
    # simulator speak through, so the client and the server suites judge their mutants.
    sans_io=(
        "voicewire.reference.tts.wire.messages",
        "voicewire.reference.tts.wire.connection",
        "voicewire.reference.tts.wire.assembler",
        "voicewire.reference.tts.sentences",
    ),
)
"""The TTS protocol's registration (see :mod:`voicewire.harness.protocols`, which adds the
reference implementation's part from :mod:`voicewire.harness.tts_reference`)."""


# -- stream normalisation (voicewire diff, run --cassette) ---------------------------------------


def synthesis_aspects(
    events: Sequence[Any], *, rules: Mapping[str, tuple[str, ...]]
) -> dict[str, Aspect]:
    """Syntheses' aspects, however their audio was framed: ``audio`` (the concatenated PCM's
    digest, sample rate, channels and duration, overall and per synthesis, with whether its
    last frame was marked final), the segment ``ids`` per synthesis, each synthesis's event
    ``order`` (runs collapsed; syntheses that ran concurrently interleave as they happened
    to) and the ``errors``; ``rules`` cites each aspect's SPEC rules (the LiveKit and the
    Inworld syntheses share the shape, not the rules)."""
    known = [
        event
        for event in events
        if isinstance(event, (TTSAudioEvent, TTSAttemptErrorEvent, TTSEndEvent))
    ]
    numbers = sorted({event.synthesis for event in known})
    overall = PcmDigest()
    syntheses: list[dict[str, Any]] = []
    ids: list[list[str]] = []
    orders: list[list[str]] = []
    for number in numbers:
        mine = [event for event in known if event.synthesis == number]
        frames = [event for event in mine if isinstance(event, TTSAudioEvent)]
        digest = PcmDigest()
        for frame in frames:
            digest.feed(frame.audio, frame.sample_rate, frame.num_channels)
            overall.feed(frame.audio, frame.sample_rate, frame.num_channels)
        syntheses.append(
            {
                "synthesis": number,
                **digest.to_json(),
                "last_final": bool(frames) and frames[-1].is_final,
            }
        )
        ids.append(list(dict.fromkeys(frame.segment_id for frame in frames)))
        orders.append(collapse_runs(event.type for event in mine))
    errors: list[dict[str, Any]] = []
    for event in known:
        if isinstance(event, TTSAttemptErrorEvent):
            errors.append(
                error_essentials(
                    event.error,
                    at="attempt",
                    synthesis=event.synthesis,
                    recoverable=event.recoverable,
                )
            )
        elif isinstance(event, TTSEndEvent) and event.error is not None:
            errors.append(error_essentials(event.error, at="end", synthesis=event.synthesis))
    return {
        "audio": Aspect(
            {**overall.to_json(), "syntheses": syntheses},
            rules["audio"],
            frozenset({"duration"}),
        ),
        "ids": Aspect(ids, rules["ids"]),
        "order": Aspect(orders, rules["order"]),
        "errors": Aspect(errors, rules["errors"]),
    }


def _normalise_syntheses(
    events: Sequence[Any], answer: Mapping[str, Any] | None
) -> dict[str, Aspect]:
    return synthesis_aspects(
        events,
        rules={
            "audio": ("TTS-OUT-1",),
            "ids": ("TTS-OUT-1",),
            "order": ("TTS-OUT-1", "TTS-RETRY-1"),
            "errors": ("TTS-OUT-2", "TTS-RETRY-1"),
        },
    )


STREAM_NORMALISERS: dict[str, Normaliser] = {
    TTS_STREAM: _normalise_syntheses,
    TTS_SYNTHESIZE: _normalise_syntheses,
}
"""How ``voicewire diff`` and ``voicewire run --cassette`` compare syntheses (registered in
:mod:`voicewire.harness.protocols`)."""
