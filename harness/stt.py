"""The LiveKit inference STT protocol in the harness (SPEC §3): capabilities, the operation,
events, the outcome suites assert on.

Capabilities this module registers (see :mod:`voicewire.harness.capabilities`):

=================== ========= ===========================================================
``stt.stream``      client    an STT client: operation ``stt.stream`` (:class:`STTStreamRequest`
                              → :class:`STTStreamAnswer`)
``stt.time_scale``  client    an ``stt.stream`` client that runs its own timers (STT-C-4's
                              close timers) ``time_scale`` times as long, as the request asks
``stt.server``      server    an STT server: the suites connect to the IUT's ``/stt``
=================== ========= ===========================================================

One ``stt.stream`` opens one ``SpeechStream`` on the target, plays a **script** of steps into
it (push audio, push a tone-coded text, flush, end input, update options, wait for an event),
and reports every SpeechEvent the stream emitted (``stt.speech``), every failed attempt
(``stt.error``) and how it ended (``stt.end``). Waiting for an event is how a case places its
audio: a scripted transcript is on the audio clock, so "push up to the final, await it, push
the rest" says exactly what the client had sent when the final came (STT-USG-1), with no
wall-clock sleep.

``stt.server`` is not served by default: a ``url:`` IUT that names no protocols serves only
the LLM, as it did before STT existed, so an LLM server under test is never judged on an
``/stt`` it does not claim; name the protocols (``url:...#protocols=llm,stt``) to test both.
``voicewire_iut.transcribe(...)`` is the driver convenience this module contributes.
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
from voicewire.harness.stream_diff import Aspect, Normaliser, collapse_runs, error_essentials

__all__ = [
    "PROTOCOL",
    "STREAM_NORMALISERS",
    "STT_SERVER",
    "STT_STREAM",
    "STT_TIME_SCALE",
    "EndInputStep",
    "FlushStep",
    "PushAudioStep",
    "PushToneStep",
    "STTAlternative",
    "STTAttemptErrorEvent",
    "STTEndEvent",
    "STTEvent",
    "STTOutcome",
    "STTStep",
    "STTStreamAnswer",
    "STTStreamRequest",
    "STTWord",
    "SpeechEventRecord",
    "UpdateOptionsStep",
    "WaitEventStep",
    "speech_stream_aspects",
]

STT_STREAM = "stt.stream"
STT_SERVER = "stt.server"
STT_TIME_SCALE = "stt.time_scale"

SpeechType = Literal[
    "start_of_speech",
    "interim_transcript",
    "recognition_usage",
    "final_transcript",
    "end_of_speech",
]
"""The SpeechEvent types of SPEC §3.3, as upstream's ``SpeechEventType`` values."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- the script ----------------------------------------------------------------------------------


class PushAudioStep(_Model):
    """Push PCM s16le (``pcm``, base64; interleaved when ``num_channels`` > 1) at
    ``sample_rate``, as ``push_frame`` calls of ``frame_ms`` milliseconds each (the last one
    shorter when the audio does not divide)."""

    op: Literal["push_audio"] = "push_audio"
    pcm: str = Field(description="base64 of PCM s16le, interleaved channels")
    sample_rate: int = Field(ge=1, le=999_999)
    num_channels: int = Field(default=1, ge=1, le=8)
    frame_ms: float = Field(default=10.0, gt=0, le=10_000)

    @field_validator("pcm")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"pcm is not base64: {exc}") from None
        return value

    @model_validator(mode="after")
    def _whole_frames(self) -> PushAudioStep:
        if len(self.audio) % (2 * self.num_channels):
            raise ValueError(
                f"pcm holds {len(self.audio)} bytes, not whole s16le samples of "
                f"{self.num_channels} channel(s)"
            )
        return self

    @property
    def audio(self) -> bytes:
        """The decoded PCM."""
        return base64.b64decode(self.pcm)

    @classmethod
    def of(
        cls, pcm: bytes, sample_rate: int, *, num_channels: int = 1, frame_ms: float = 10.0
    ) -> PushAudioStep:
        """A step pushing raw ``pcm`` bytes."""
        return cls(
            pcm=base64.b64encode(pcm).decode(),
            sample_rate=sample_rate,
            num_channels=num_channels,
            frame_ms=frame_ms,
        )


class PushToneStep(_Model):
    """Push ``text`` as tone-coded speech (``encode_tone``, mono at ``sample_rate``),
    synthesised by the harness, followed by ``silence`` seconds of zeros, in ``push_frame``
    calls of ``frame_ms`` milliseconds (a ``cmd:`` driver receives it as a
    :class:`PushAudioStep`: it needs no tone code of its own)."""

    op: Literal["push_tone"] = "push_tone"
    text: str = Field(max_length=200)
    sample_rate: int = Field(default=16000, ge=8000, le=192_000)
    silence: float = Field(default=0.0, ge=0, le=10)
    frame_ms: float = Field(default=10.0, gt=0, le=10_000)

    def as_audio(self) -> PushAudioStep:
        """The same push as PCM."""
        import numpy as np
        from voicewire.reference.tone_code import encode_tone

        samples = encode_tone(self.text, sample_rate=self.sample_rate).samples
        pad = np.zeros(round(self.silence * self.sample_rate), dtype="<i2")
        pcm = np.concatenate([samples.astype("<i2"), pad]).tobytes()
        return PushAudioStep.of(pcm, self.sample_rate, frame_ms=self.frame_ms)


class FlushStep(_Model):
    """``stream.flush()``: what is held goes out now as a shorter frame (STT-C-2)."""

    op: Literal["flush"] = "flush"


class EndInputStep(_Model):
    """``stream.end_input()``: no more audio; ``session.finalize`` follows (STT-C-3)."""

    op: Literal["end_input"] = "end_input"


class UpdateOptionsStep(_Model):
    """``stream.update_options(...)`` with what is set (STT-C-5)."""

    op: Literal["update_options"] = "update_options"
    model: str | None = None
    language: str | None = None
    extra_kwargs: dict[str, Any] | None = None


class WaitEventStep(_Model):
    """Wait until the stream has emitted ``count`` events of kind ``event`` in all: a
    SpeechEvent type, or ``error`` for a failed attempt (the IUT's error event, e.g. before it
    reconnects). The wait also ends when the stream ended or ``timeout`` seconds passed: the
    script then goes on, and the events say what came."""

    op: Literal["wait_event"] = "wait_event"
    event: SpeechType | Literal["error"]
    count: int = Field(default=1, ge=1)
    timeout: float = Field(default=10.0, gt=0, le=60)


STTStep = Annotated[
    PushAudioStep | PushToneStep | FlushStep | EndInputStep | UpdateOptionsStep | WaitEventStep,
    Field(discriminator="op"),
]
"""One step of a stream's script (a discriminated union on ``op``)."""


class STTStreamRequest(_Model):
    """Operation ``stt.stream``: one ``inference.STT(model, language=..., sample_rate=...,
    extra_kwargs=...)`` at ``target``, one ``stream(conn_options=...)`` on it, the
    ``script`` played into it in order, then the stream consumed to its end.

    ``end_timeout``: seconds the stream may take to end after the script (a stream that is
    still open then is closed, and its ``stt.end`` says so).

    ``time_scale`` multiplies the client's own timers, those no request field sets (STT-C-4:
    3 s after the last final, 30 s without one), so a case judges them in milliseconds. Only
    an IUT that declares ``stt.time_scale`` honours it; the cases that set it need that
    capability, and are UNSUPPORTED for a client whose timers are fixed (upstream's). A
    client may scale its waits between attempts by it too: a case that sets it plays no
    retry.
    """

    target: PlainTarget
    model: str = "deepgram/nova-3"
    language: str | None = None
    sample_rate: int = Field(default=16000, ge=1, le=999_999)
    extra_kwargs: dict[str, Any] = Field(default_factory=dict)
    conn_options: ConnOptions = Field(default_factory=ConnOptions)
    script: list[STTStep] = Field(default_factory=list)
    end_timeout: float = Field(default=15.0, gt=0, le=120)
    time_scale: float = Field(default=1.0, gt=0, le=1)

    def audio_script(self) -> list[Any]:
        """The script with tone steps synthesised as audio: what a driver is sent."""
        return [step.as_audio() if isinstance(step, PushToneStep) else step for step in self.script]


# -- events --------------------------------------------------------------------------------------


class STTWord(_Model):
    """One word of an alternative, on the stream's timeline (STT-ORD-5)."""

    text: str
    start_time: float
    end_time: float
    confidence: float = 0.0
    speaker_id: str | None = None


class STTAlternative(_Model):
    """One transcript alternative of a SpeechEvent (STT-ORD-4, STT-ORD-5)."""

    text: str
    start_time: float = 0.0
    end_time: float = 0.0
    confidence: float = 0.0
    language: str = ""
    speaker_id: str | None = None
    words: tuple[STTWord, ...] = ()
    metadata: dict[str, Any] | None = None
    """What the provider attached to the transcript (Inworld's ``voice_profile``,
    IW-STT-ORD-1); None when nothing."""


class SpeechEventRecord(BaseEvent):
    """One SpeechEvent the stream emitted: ``speech_type`` is upstream's ``SpeechEventType``
    value, ``request_id`` the event's (as upstream, on the event, not the alternative),
    ``audio_duration`` the usage's for ``recognition_usage`` (STT-USG-1)."""

    type: Literal["stt.speech"] = "stt.speech"
    speech_type: SpeechType
    request_id: str = ""
    alternatives: tuple[STTAlternative, ...] = ()
    audio_duration: float | None = Field(default=None, ge=0)

    @property
    def text(self) -> str:
        """The first alternative's text ("" without one)."""
        return self.alternatives[0].text if self.alternatives else ""


class STTAttemptErrorEvent(BaseEvent):
    """One failed attempt (STT-END-1, STT-RETRY-1): ``recoverable`` says whether another
    attempt follows."""

    type: Literal["stt.error"] = "stt.error"
    error: ErrorInfo
    recoverable: bool


class STTEndEvent(BaseEvent):
    """The stream ended: ``error`` null when its iteration finished, else what it raised."""

    type: Literal["stt.end"] = "stt.end"
    error: ErrorInfo | None = None


STTEvent = Annotated[
    SpeechEventRecord | STTAttemptErrorEvent | STTEndEvent, Field(discriminator="type")
]
"""Any event of a speech stream."""


class STTStreamAnswer(BaseModel):
    """The answer to ``stt.stream``: what the stream's consumer observed, in order, ending
    with one ``stt.end``. An error the stream raised is reported there, never as a failure of
    the operation."""

    model_config = ConfigDict(extra="forbid")

    events: list[STTEvent]

    @model_validator(mode="after")
    def _ends_last(self) -> STTStreamAnswer:
        ends = [i for i, e in enumerate(self.events) if isinstance(e, STTEndEvent)]
        if ends != [len(self.events) - 1]:
            raise ValueError(
                f"the events must end with exactly one stt.end event (got {len(self.events)} "
                f"events, stt.end at {ends})"
            )
        return self

    @property
    def calls(self) -> int:
        """How many streams the events report (one ``stt.end`` each): always one."""
        return sum(isinstance(event, STTEndEvent) for event in self.events)


# -- the outcome suites assert on ---------------------------------------------------------------


@dataclass(frozen=True)
class STTOutcome:
    """Everything one stream produced, in order, ending with its ``stt.end``."""

    events: tuple[Any, ...]

    @property
    def speech(self) -> list[SpeechEventRecord]:
        """The SpeechEvents, in emission order."""
        return [e for e in self.events if isinstance(e, SpeechEventRecord)]

    def of_type(self, speech_type: str) -> list[SpeechEventRecord]:
        """The SpeechEvents of one type."""
        return [e for e in self.speech if e.speech_type == speech_type]

    @property
    def finals(self) -> list[SpeechEventRecord]:
        return self.of_type("final_transcript")

    @property
    def interims(self) -> list[SpeechEventRecord]:
        return self.of_type("interim_transcript")

    @property
    def usages(self) -> list[SpeechEventRecord]:
        return self.of_type("recognition_usage")

    @property
    def types(self) -> list[str]:
        """The SpeechEvent types in order."""
        return [e.speech_type for e in self.speech]

    @property
    def errors(self) -> list[STTAttemptErrorEvent]:
        """The failed attempts."""
        return [e for e in self.events if isinstance(e, STTAttemptErrorEvent)]

    @property
    def end(self) -> STTEndEvent:
        end = self.events[-1]
        assert isinstance(end, STTEndEvent)
        return end

    @property
    def error(self) -> ErrorInfo | None:
        """What the stream raised, or None when it finished."""
        return self.end.error

    def describe(self, limit: int = 40) -> str:
        """A compact, one-event-per-line rendering for failure messages."""
        return describe_events(self.events, limit)


# -- driver conveniences -------------------------------------------------------------------------


def transcribe(
    driver: Performer, request: STTStreamRequest | None = None, /, **fields: Any
) -> STTOutcome:
    """``voicewire_iut.transcribe(...)``: run one speech stream to its end. Pass a request,
    or its fields as keywords (``target=`` a simulator session or server, ``script=[...]``).

    Tone steps are synthesised here, before the IUT sees the request: an implementation is
    sent audio only, so a driver in any language needs no tone code of its own."""
    if request is None:
        request = STTStreamRequest(**fields)
    elif fields:
        request = STTStreamRequest.model_validate({**request.model_dump(), **fields})
    if any(isinstance(step, PushToneStep) for step in request.script):
        request = request.model_copy(update={"script": request.audio_script()})
    answer = driver.perform(STT_STREAM, request)
    if answer.calls != 1:
        raise IUTProtocolError(f"{STT_STREAM}: the answer reports {answer.calls} streams, not 1")
    return STTOutcome(tuple(answer.events))


async def probe_stt_credentials(target: Target) -> str | None:
    """What an STT server under test answered when it refused voicewire's credentials (see
    :func:`~voicewire.harness.iut.probe_upgrade_credentials`)."""
    return await probe_upgrade_credentials(target, "/stt?model=deepgram/nova-3")


PROTOCOL = ProtocolSpec(
    name="stt",
    capabilities=(
        Capability(
            STT_STREAM,
            "stt",
            "client",
            (
                Operation(
                    STT_STREAM,
                    STTStreamRequest,
                    STTStreamAnswer,
                    "play a script of audio into one speech stream and report its events",
                ),
            ),
            "an STT client: one SpeechStream over the WebSocket, with retries (SPEC §3)",
        ),
        Capability(
            STT_TIME_SCALE,
            "stt",
            "client",
            (),
            "an stt.stream client whose own timers (STT-C-4) follow the request's time_scale",
        ),
        Capability(
            STT_SERVER,
            "stt",
            "server",
            (),
            "an STT server: /stt over WebSocket (SPEC §1.1, §3.1-3.2, §7)",
        ),
    ),
    event_types=(SpeechEventRecord, STTAttemptErrorEvent, STTEndEvent),
    driver_methods={"transcribe": transcribe},
    served_by_default=False,
    credentials_probe=probe_stt_credentials,
    # The wire module, which both the reference client and the simulator speak through, so
    # the client and the server suites judge its mutants. The tone code is not here: the
    # suites use it as an instrument (the harness encodes push_tone, the simulator decodes)
    # and one server case leans on it only to have a final pending, so its mutants would
    # mostly survive for want of a judge; its own tests judge it.
    sans_io=(
        "voicewire.reference.stt.wire.messages",
        "voicewire.reference.stt.wire.framing",
        "voicewire.reference.stt.wire.tracker",
        "voicewire.reference.stt.wire.session",
    ),
)
"""The STT protocol's registration (see :mod:`voicewire.harness.protocols`, which adds the
reference implementation's part from :mod:`voicewire.harness.stt_reference`)."""


# -- stream normalisation (voicewire diff, run --cassette) ---------------------------------------


def speech_stream_aspects(
    events: Sequence[Any],
    *,
    with_times: bool,
    usage: Literal["count", "total"],
    rules: Mapping[str, tuple[str, ...]],
) -> dict[str, Aspect]:
    """A speech stream's aspects: ``finals`` (text, language, metadata and, ``with_times``,
    start and end), non-empty ``interims``, ``usage``, request ``ids``, the event ``order``
    (SpeechEvent types, runs collapsed) and ``errors``; ``rules`` cites each aspect's SPEC
    rules (the LiveKit and the Inworld streams share the shape, not the rules).

    How the audio a client reports splits among its usage events depends on how far it had
    sent when each report fell due (a FINAL's arrival, a wall-clock period), which two clients
    pacing their sends differently do not share: ``usage`` is what does not depend on it, the
    ``count`` of usage events (each placed before its FINAL in the ``order``) or the ``total``
    audio they report (left out of the ``order``: the client's clock places them)."""
    known = [
        event
        for event in events
        if isinstance(event, (SpeechEventRecord, STTAttemptErrorEvent, STTEndEvent))
    ]
    speech = [event for event in known if isinstance(event, SpeechEventRecord)]
    finals: list[dict[str, Any]] = []
    for event in speech:
        if event.speech_type != "final_transcript":
            continue
        first = event.alternatives[0] if event.alternatives else STTAlternative(text="")
        final: dict[str, Any] = {"text": first.text, "language": first.language}
        if with_times:
            final.update(start=first.start_time, end=first.end_time)
        if first.metadata is not None:
            final["metadata"] = first.metadata
        finals.append(final)
    errors: list[dict[str, Any]] = []
    for event in known:
        if isinstance(event, STTAttemptErrorEvent):
            errors.append(
                error_essentials(event.error, at="attempt", recoverable=event.recoverable)
            )
        elif isinstance(event, STTEndEvent) and event.error is not None:
            errors.append(error_essentials(event.error, at="end"))
    return {
        "finals": Aspect(finals, rules["finals"], frozenset({"start", "end"})),
        "interims": Aspect(
            [
                event.text
                for event in speech
                if event.speech_type == "interim_transcript" and event.text
            ],
            rules["interims"],
        ),
        "usage": _usage_aspect(
            [event for event in speech if event.speech_type == "recognition_usage"],
            usage,
            rules["usage"],
        ),
        "ids": Aspect(
            list(dict.fromkeys(event.request_id for event in speech if event.request_id)),
            rules["ids"],
        ),
        "order": Aspect(
            collapse_runs(
                event.speech_type if isinstance(event, SpeechEventRecord) else event.type
                for event in known
                # Reports a client times by itself (``total``) have no place in the order.
                if usage == "count" or getattr(event, "speech_type", "") != "recognition_usage"
            ),
            rules["order"],
        ),
        "errors": Aspect(errors, rules["errors"]),
    }


def _usage_aspect(
    usages: Sequence[SpeechEventRecord], kind: Literal["count", "total"], rules: tuple[str, ...]
) -> Aspect:
    if kind == "count":
        return Aspect({"events": len(usages)}, rules)
    total = round(sum(event.audio_duration or 0.0 for event in usages), 6)
    return Aspect({"audio_duration": total}, rules, frozenset({"audio_duration"}))


def _normalise_stt_stream(
    events: Sequence[Any], answer: Mapping[str, Any] | None
) -> dict[str, Aspect]:
    # A usage goes just before each FINAL, covering what the client had sent by its arrival.
    return speech_stream_aspects(
        events,
        with_times=True,
        usage="count",
        rules={
            "finals": ("STT-ORD-4", "STT-ORD-5"),
            "interims": ("STT-ORD-3", "STT-ORD-4"),
            "usage": ("STT-USG-1",),
            "ids": ("STT-ORD-5",),
            "order": ("STT-ORD-1", "STT-ORD-2", "STT-ORD-3"),
            "errors": ("STT-END-1", "STT-RETRY-1"),
        },
    )


STREAM_NORMALISERS: dict[str, Normaliser] = {STT_STREAM: _normalise_stt_stream}
"""How ``voicewire diff`` and ``voicewire run --cassette`` compare speech streams
(registered in :mod:`voicewire.harness.protocols`)."""
