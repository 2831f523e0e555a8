"""The Inworld protocols in the harness (SPEC §5, AUTH-6): capabilities, operations, events,
the outcomes suites assert on.

Capabilities this module registers (see :mod:`voicewire.harness.capabilities`):

====================== ========= ========================================================
``inworld.tts.http``   client    ``TTS.synthesize(text)`` over HTTP NDJSON: operation
                                 ``inworld.tts.http`` (:class:`InworldTTSHTTPRequest` →
                                 :class:`InworldTTSAnswer`)
``inworld.tts.stream`` client    ``TTS.stream()`` contexts over one shared WebSocket:
                                 operation ``inworld.tts.stream``
                                 (:class:`InworldTTSStreamRequest` → :class:`InworldTTSAnswer`)
``inworld.voices``     client    ``TTS.list_voices(language)``: operation ``inworld.voices``
                                 (:class:`InworldVoicesRequest` → :class:`InworldVoicesAnswer`)
``inworld.stt.stream`` client    ``STT.stream()``: operation ``inworld.stt.stream``
                                 (:class:`InworldSTTStreamRequest` →
                                 :class:`~voicewire.harness.stt.STTStreamAnswer`)
``inworld.server``     server    an Inworld server: the suites call its HTTP endpoints and
                                 open its WebSockets
====================== ========= ========================================================

The key an Inworld client presents (``Authorization: Basic <key>``, AUTH-6) is the target's
``api_key``; the target's ``base_url`` is the client's ``base_url`` (the WebSocket URL is the
same place in ``ws``/``wss``), so the three URL-join rules of SPEC §5 are exercised against a
base URL with a path (a simulator session's ``.../v1``).

One operation builds one ``inworld.TTS`` (or ``inworld.STT``) and runs everything on it:
``inworld.tts.http`` one ``synthesize(text)`` per text, one after another;
``inworld.tts.stream`` a **script** whose steps each name the stream (context) they act on,
so streams run **concurrently** on the TTS object's shared socket, interleaved as the script
says (IW-WS-2..5). A stream opens at its first step; waiting for an event (a stream's first
audio, its end) is how a case orders streams without a wall-clock sleep. Audio, failed
attempts and ends reuse the TTS events (``tts.audio``, ``tts.error``, ``tts.end``), numbered
by synthesis (a text, or a stream of the script); timed transcripts are
``inworld.timed_text`` events (IW-HTTP-3, IW-WS-5). The STT operation reuses the STT script
steps and events (``stt.speech`` carries a final's ``voice_profile`` in its alternative's
``metadata``, IW-STT-ORD-1).

``inworld.server`` is not served by default: a ``url:`` IUT names it
(``url:...#protocols=inworld``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from voicewire.harness.capabilities import Capability, Operation, ProtocolSpec
from voicewire.harness.events import BaseEvent, ErrorInfo, describe_events
from voicewire.harness.iut import (
    ConnOptions,
    IUTProtocolError,
    Performer,
    PlainTarget,
    Target,
)
from voicewire.harness.stream_diff import Aspect, Normaliser, error_essentials
from voicewire.harness.stt import (
    EndInputStep,
    FlushStep,
    PushAudioStep,
    PushToneStep,
    STTOutcome,
    STTStreamAnswer,
    WaitEventStep,
    speech_stream_aspects,
)
from voicewire.harness.tts import (
    SynthesisOutcome,
    TTSAttemptErrorEvent,
    TTSAudioEvent,
    TTSEndEvent,
    synthesis_aspects,
)

__all__ = [
    "INWORLD_SERVER",
    "INWORLD_STT_STREAM",
    "INWORLD_TTS_HTTP",
    "INWORLD_TTS_STREAM",
    "INWORLD_VOICES",
    "PROTOCOL",
    "STREAM_NORMALISERS",
    "InworldEndInputStep",
    "InworldFlushStep",
    "InworldPushTextStep",
    "InworldSTTStep",
    "InworldSTTStreamRequest",
    "InworldStreamStep",
    "InworldSynthesisOutcome",
    "InworldTTSAnswer",
    "InworldTTSEvent",
    "InworldTTSHTTPRequest",
    "InworldTTSOutcome",
    "InworldTTSStreamRequest",
    "InworldTimedTextEvent",
    "InworldVoicesAnswer",
    "InworldVoicesRequest",
    "InworldWaitEventStep",
    "inworld_speak",
    "inworld_synthesize",
    "inworld_transcribe",
    "inworld_voices",
]

INWORLD_TTS_HTTP = "inworld.tts.http"
INWORLD_TTS_STREAM = "inworld.tts.stream"
INWORLD_VOICES = "inworld.voices"
INWORLD_STT_STREAM = "inworld.stt.stream"
INWORLD_SERVER = "inworld.server"

MAX_SYNTHESES = 20
"""Syntheses (texts, or streams of a script) per operation: enough for four sockets' worth
of concurrent contexts (IW-WS-2), few enough to stay fast."""

MAX_STEPS = 400
"""Steps of one streaming script."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- requests --------------------------------------------------------------------------------------


class _InworldTTSRequest(_Model):
    """What both TTS operations share: one ``inworld.TTS(api_key=target.api_key,
    base_url=target.base_url + "/", ws_url=<the same in ws>, model=..., voice=...,
    sample_rate=..., timestamp_type=..., temperature=..., speaking_rate=..., language=...,
    **extra_kwargs)``, whose syntheses run with ``conn_options``; ``end_timeout`` is the
    seconds a synthesis may take to end after its input (one still running then is closed,
    and its ``tts.end`` says so). ``None`` leaves an option at the client's default."""

    target: PlainTarget
    model: str | None = None
    voice: str | None = None
    sample_rate: int | None = Field(default=None, ge=1, le=999_999)
    timestamp_type: Literal["WORD", "CHARACTER"] | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    speaking_rate: float | None = Field(default=None, gt=0, le=4)
    language: str | None = None
    extra_kwargs: dict[str, Any] = Field(default_factory=dict)
    conn_options: ConnOptions = Field(default_factory=ConnOptions)
    end_timeout: float = Field(default=15.0, gt=0, le=120)


class InworldTTSHTTPRequest(_InworldTTSRequest):
    """Operation ``inworld.tts.http``: one ``synthesize(text, conn_options=...)`` per text of
    ``texts``, in order, each consumed to its end before the next begins."""

    texts: list[Annotated[str, Field(max_length=20_000)]] = Field(
        min_length=1, max_length=MAX_SYNTHESES
    )

    @property
    def syntheses(self) -> int:
        """How many syntheses the operation runs."""
        return len(self.texts)


class _StreamStep(_Model):
    stream: int = Field(default=0, ge=0, lt=MAX_SYNTHESES)
    """The stream (context) of the script the step acts on; it opens at its first step."""


class InworldPushTextStep(_StreamStep):
    """``stream.push_text(text)`` on stream ``stream``."""

    op: Literal["push_text"] = "push_text"
    text: str = Field(max_length=20_000)


class InworldFlushStep(_StreamStep):
    """``stream.flush()``: the text pushed so far is synthesised now (``flush_context``)."""

    op: Literal["flush"] = "flush"


class InworldEndInputStep(_StreamStep):
    """``stream.end_input()``: no more text (``flush_context`` then ``close_context``)."""

    op: Literal["end_input"] = "end_input"


class InworldWaitEventStep(_StreamStep):
    """Wait until stream ``stream`` has emitted ``count`` events of kind ``event`` in all:
    an audio frame (``audio``), a final frame (``final``), a failed attempt (``error``), or
    its end (``end``: the stream's iteration finished). The wait also ends when the stream
    ended or ``timeout`` seconds passed: the script then goes on, and the events say what
    came. Waiting on a stream that has not opened yet ends at once."""

    op: Literal["wait_event"] = "wait_event"
    event: Literal["audio", "final", "error", "end"]
    count: int = Field(default=1, ge=1)
    timeout: float = Field(default=10.0, gt=0, le=60)


InworldStreamStep = Annotated[
    InworldPushTextStep | InworldFlushStep | InworldEndInputStep | InworldWaitEventStep,
    Field(discriminator="op"),
]
"""One step of a streaming script (a discriminated union on ``op``)."""


class InworldTTSStreamRequest(_InworldTTSRequest):
    """Operation ``inworld.tts.stream``: the ``script`` played in order on one TTS object;
    stream ``i`` is ``tts.stream(conn_options=...)`` opened at the first step naming it and
    consumed concurrently with the others from then on. After the script, every stream whose
    input has not ended gets ``end_input()`` (a stream is judged on a synthesis that
    finished), and the operation waits for every stream to end. The streams must be numbered
    from 0 without gaps, in order of first appearance."""

    script: list[InworldStreamStep] = Field(min_length=1, max_length=MAX_STEPS)

    @model_validator(mode="after")
    def _streams_in_order(self) -> InworldTTSStreamRequest:
        opened = 0
        for position, step in enumerate(self.script):
            if step.stream > opened:
                raise ValueError(
                    f"script[{position}] names stream {step.stream} before stream {opened} "
                    "opened: number the streams from 0 in order of first appearance"
                )
            opened = max(opened, step.stream + 1)
        return self

    @property
    def syntheses(self) -> int:
        """How many streams the script opens."""
        return 1 + max(step.stream for step in self.script)


class InworldVoicesRequest(_Model):
    """Operation ``inworld.voices``: ``await inworld.TTS(...).list_voices(language)`` at
    ``target`` (IW-VOICES-1)."""

    target: PlainTarget
    language: str | None = None
    conn_options: ConnOptions = Field(default_factory=ConnOptions)


InworldSTTStep = Annotated[
    PushAudioStep | PushToneStep | FlushStep | EndInputStep | WaitEventStep,
    Field(discriminator="op"),
]
"""One step of an Inworld speech stream's script: the STT script's steps, less
``update_options`` (an Inworld stream has none)."""


class InworldSTTStreamRequest(_Model):
    """Operation ``inworld.stt.stream``: one ``inworld.STT(api_key=target.api_key,
    base_url=target.base_url + "/", model=..., language=..., sample_rate=...,
    **extra_kwargs)``, one ``stream(conn_options=...)`` on it, the ``script`` played into it
    in order (``flush`` is ``endTurn``, ``end_input`` is ``closeStream``: IW-STT-C-1), then
    the stream consumed to its end; ``end_timeout`` as for ``stt.stream``."""

    target: PlainTarget
    model: str | None = None
    language: str | None = None
    sample_rate: int = Field(default=16000, ge=1, le=999_999)
    extra_kwargs: dict[str, Any] = Field(default_factory=dict)
    conn_options: ConnOptions = Field(default_factory=ConnOptions)
    script: list[InworldSTTStep] = Field(default_factory=list)
    end_timeout: float = Field(default=15.0, gt=0, le=120)

    def audio_script(self) -> list[Any]:
        """The script with tone steps synthesised as audio: what a driver is sent."""
        return [step.as_audio() if isinstance(step, PushToneStep) else step for step in self.script]


# -- events and answers ------------------------------------------------------------------------


class InworldTimedTextEvent(BaseEvent):
    """One timed transcript a synthesis emitted (a word or a character with its times, on the
    synthesis's timeline: IW-HTTP-3, IW-WS-5)."""

    type: Literal["inworld.timed_text"] = "inworld.timed_text"
    synthesis: int = Field(ge=0)
    text: str
    start_time: float
    end_time: float


InworldTTSEvent = Annotated[
    TTSAudioEvent | InworldTimedTextEvent | TTSAttemptErrorEvent | TTSEndEvent,
    Field(discriminator="type"),
]
"""Any event of an Inworld synthesis."""


class InworldTTSAnswer(BaseModel):
    """The answer to both TTS operations: what the syntheses' consumers observed, in the
    order observed (streams interleave). Each synthesis ``0..n-1`` ends with exactly one
    ``tts.end``, and none of its events follows it. An error a synthesis raised is reported
    there, never as a failure of the operation."""

    model_config = ConfigDict(extra="forbid")

    events: list[InworldTTSEvent]

    @model_validator(mode="after")
    def _each_synthesis_ends_once_and_last(self) -> InworldTTSAnswer:
        ended: set[int] = set()
        for position, event in enumerate(self.events):
            if event.synthesis in ended:
                raise ValueError(
                    f"event {position} ({event.type}) belongs to synthesis {event.synthesis}, "
                    "which has already ended (its tts.end comes last, once)"
                )
            if isinstance(event, TTSEndEvent):
                ended.add(event.synthesis)
        if ended != set(range(len(ended))):
            raise ValueError(
                f"the syntheses that ended are {sorted(ended)}: every synthesis from 0 on "
                "must end with one tts.end"
            )
        return self

    @property
    def calls(self) -> int:
        """How many syntheses the events report (one ``tts.end`` each)."""
        return sum(isinstance(event, TTSEndEvent) for event in self.events)


class InworldVoicesAnswer(BaseModel):
    """The answer to ``inworld.voices``: the voices ``list_voices`` returned, verbatim, or
    the error it raised (exactly one of the two)."""

    model_config = ConfigDict(extra="forbid")

    voices: list[dict[str, Any]] | None = None
    error: ErrorInfo | None = None

    @model_validator(mode="after")
    def _one_of(self) -> InworldVoicesAnswer:
        if (self.voices is None) == (self.error is None):
            raise ValueError("an inworld.voices answer has either voices or an error")
        return self

    @property
    def calls(self) -> int:
        """One call per answer."""
        return 1


# -- the outcomes suites assert on ---------------------------------------------------------------


@dataclass(frozen=True)
class InworldSynthesisOutcome(SynthesisOutcome):
    """Everything one Inworld synthesis produced, in order, ending with its ``tts.end``."""

    @property
    def timed_texts(self) -> list[InworldTimedTextEvent]:
        """The timed transcripts, in emission order."""
        return [e for e in self.events if isinstance(e, InworldTimedTextEvent)]


@dataclass(frozen=True)
class InworldTTSOutcome:
    """Everything one TTS operation produced, as observed (streams interleaved)."""

    events: tuple[Any, ...]

    @property
    def syntheses(self) -> list[InworldSynthesisOutcome]:
        """One outcome per synthesis (text or stream), by number."""
        split: defaultdict[int, list[Any]] = defaultdict(list)
        for event in self.events:
            split[event.synthesis].append(event)
        return [InworldSynthesisOutcome(tuple(split[n])) for n in sorted(split)]

    @property
    def only(self) -> InworldSynthesisOutcome:
        """The outcome of an operation of one synthesis."""
        (outcome,) = self.syntheses
        return outcome

    def describe(self, limit: int = 40) -> str:
        """A compact, one-event-per-line rendering for failure messages."""
        return describe_events(self.events, limit)


# -- driver conveniences -------------------------------------------------------------------------


def _tts(driver: Performer, operation: str, request: Any) -> InworldTTSOutcome:
    answer = driver.perform(operation, request)
    if answer.calls != request.syntheses:
        raise IUTProtocolError(
            f"{operation}: the answer reports {answer.calls} syntheses, not {request.syntheses}"
        )
    return InworldTTSOutcome(tuple(answer.events))


def _request(model: type[Any], request: Any, fields: dict[str, Any]) -> Any:
    if request is None:
        return model(**fields)
    if fields:
        return model.model_validate({**request.model_dump(), **fields})
    return request


def inworld_synthesize(
    driver: Performer, request: InworldTTSHTTPRequest | None = None, /, **fields: Any
) -> InworldTTSOutcome:
    """``voicewire_iut.inworld_synthesize(...)``: HTTP syntheses to their end. Pass a
    request, or its fields as keywords (``target=``, ``texts=[...]``; ``text=`` is one)."""
    if "text" in fields:
        fields["texts"] = [fields.pop("text")]
    return _tts(driver, INWORLD_TTS_HTTP, _request(InworldTTSHTTPRequest, request, fields))


def inworld_speak(
    driver: Performer, request: InworldTTSStreamRequest | None = None, /, **fields: Any
) -> InworldTTSOutcome:
    """``voicewire_iut.inworld_speak(...)``: a streaming script to its end. Pass a request,
    or its fields as keywords (``target=``, ``script=[...]``)."""
    return _tts(driver, INWORLD_TTS_STREAM, _request(InworldTTSStreamRequest, request, fields))


def inworld_voices(
    driver: Performer, request: InworldVoicesRequest | None = None, /, **fields: Any
) -> InworldVoicesAnswer:
    """``voicewire_iut.inworld_voices(...)``: one ``list_voices`` call (``target=``,
    ``language=``)."""
    answer: InworldVoicesAnswer = driver.perform(
        INWORLD_VOICES, _request(InworldVoicesRequest, request, fields)
    )
    return answer


def inworld_transcribe(
    driver: Performer, request: InworldSTTStreamRequest | None = None, /, **fields: Any
) -> STTOutcome:
    """``voicewire_iut.inworld_transcribe(...)``: one Inworld speech stream to its end
    (``target=``, ``script=[...]``). Tone steps are synthesised here, as for
    ``transcribe``: an implementation is sent audio only."""
    request = _request(InworldSTTStreamRequest, request, fields)
    if any(isinstance(step, PushToneStep) for step in request.script):
        request = request.model_copy(update={"script": request.audio_script()})
    answer = driver.perform(INWORLD_STT_STREAM, request)
    if answer.calls != 1:
        raise IUTProtocolError(
            f"{INWORLD_STT_STREAM}: the answer reports {answer.calls} streams, not 1"
        )
    return STTOutcome(tuple(answer.events))


async def probe_inworld_credentials(target: Target) -> str | None:
    """What an Inworld server under test answered when it refused voicewire's key: one
    ``GET tts/v1/voices`` with ``Authorization: Basic <api_key>`` (None: accepted, or no
    answer to tell from; the cases judge those)."""
    import asyncio

    import aiohttp
    from voicewire.reference.auth import inworld_authorization

    url = f"{target.base_url.rstrip('/')}/tts/v1/voices"
    headers = {"Authorization": inworld_authorization(target.api_key)}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session,
            session.get(url, headers=headers) as response,
        ):
            if response.status not in (401, 403):
                return None
            body = (await response.content.read(300)).decode("utf-8", "replace")
            return f"GET {url} with the Basic key answered HTTP {response.status}: {body}"
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return None


PROTOCOL = ProtocolSpec(
    name="inworld",
    capabilities=(
        Capability(
            INWORLD_TTS_HTTP,
            "inworld",
            "client",
            (
                Operation(
                    INWORLD_TTS_HTTP,
                    InworldTTSHTTPRequest,
                    InworldTTSAnswer,
                    "synthesize texts over HTTP NDJSON and report their audio and timestamps",
                ),
            ),
            "an Inworld TTS client's synthesize(text) over HTTP NDJSON (SPEC §5.1)",
        ),
        Capability(
            INWORLD_TTS_STREAM,
            "inworld",
            "client",
            (
                Operation(
                    INWORLD_TTS_STREAM,
                    InworldTTSStreamRequest,
                    InworldTTSAnswer,
                    "play a script of concurrent streams into contexts on the shared socket",
                ),
            ),
            "an Inworld TTS client's stream() contexts over one WebSocket (SPEC §5.2)",
        ),
        Capability(
            INWORLD_VOICES,
            "inworld",
            "client",
            (
                Operation(
                    INWORLD_VOICES,
                    InworldVoicesRequest,
                    InworldVoicesAnswer,
                    "list the voices, optionally of one language",
                ),
            ),
            "an Inworld TTS client's list_voices(language) (SPEC §5.1, IW-VOICES-1)",
        ),
        Capability(
            INWORLD_STT_STREAM,
            "inworld",
            "client",
            (
                Operation(
                    INWORLD_STT_STREAM,
                    InworldSTTStreamRequest,
                    STTStreamAnswer,
                    "play a script of audio into one Inworld speech stream",
                ),
            ),
            "an Inworld STT client's stream() over WebSocket (SPEC §5.3)",
        ),
        Capability(
            INWORLD_SERVER,
            "inworld",
            "server",
            (),
            "an Inworld server: voice:stream, voices, the TTS and STT WebSockets (SPEC §5)",
        ),
    ),
    event_types=(InworldTimedTextEvent,),
    driver_methods={
        "inworld_synthesize": inworld_synthesize,
        "inworld_speak": inworld_speak,
        "inworld_voices": inworld_voices,
        "inworld_transcribe": inworld_transcribe,
    },
    served_by_default=False,
    credentials_probe=probe_inworld_credentials,
)
"""The Inworld protocols' registration (see :mod:`voicewire.harness.protocols`, which adds
the reference implementation's part)."""


# -- stream normalisation (voicewire diff, run --cassette) ---------------------------------------


def _normalise_inworld_syntheses(
    rules: Mapping[str, tuple[str, ...]],
) -> Normaliser:
    def normalise(events: Sequence[Any], answer: Mapping[str, Any] | None) -> dict[str, Aspect]:
        """The syntheses' aspects and their timed transcripts, per synthesis."""
        timed = [event for event in events if isinstance(event, InworldTimedTextEvent)]
        by_synthesis: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
        for event in timed:
            by_synthesis[event.synthesis].append(
                {"text": event.text, "start": event.start_time, "end": event.end_time}
            )
        return {
            **synthesis_aspects(events, rules=rules),
            "timed_text": Aspect(
                [
                    {"synthesis": number, "words": by_synthesis[number]}
                    for number in sorted(by_synthesis)
                ],
                rules["timed_text"],
                frozenset({"start", "end"}),
            ),
        }

    return normalise


def _normalise_inworld_stt(
    events: Sequence[Any], answer: Mapping[str, Any] | None
) -> dict[str, Aspect]:
    # Inworld's transcriptions carry no times (IW-STT-S-1): a final's times are the client's
    # own invention, so they are no part of what two clients must agree on.
    # Usage reports add up to the audio pushed (IW-STT-USG-1), however they are split.
    return speech_stream_aspects(
        events,
        with_times=False,
        usage="total",
        rules={
            "finals": ("IW-STT-ORD-1",),
            "interims": ("IW-STT-ORD-1",),
            "usage": ("IW-STT-USG-1",),
            "ids": (),
            "order": ("IW-STT-ORD-1",),
            "errors": ("IW-STT-END-1",),
        },
    )


def _normalise_inworld_voices(
    events: Sequence[Any], answer: Mapping[str, Any] | None
) -> dict[str, Aspect]:
    """A voice list: the voices as returned, or the error raised."""
    parsed = InworldVoicesAnswer.model_validate(answer or {"voices": []})
    return {
        "voices": Aspect(parsed.voices, ("IW-VOICES-1",)),
        "errors": Aspect(
            [] if parsed.error is None else [error_essentials(parsed.error, at="end")],
            ("IW-VOICES-1",),
        ),
    }


STREAM_NORMALISERS: dict[str, Normaliser] = {
    INWORLD_TTS_HTTP: _normalise_inworld_syntheses(
        {
            "audio": ("IW-HTTP-2",),
            "ids": (),
            "order": ("IW-HTTP-2",),
            "errors": ("IW-HTTP-2",),
            "timed_text": ("IW-HTTP-3",),
        }
    ),
    INWORLD_TTS_STREAM: _normalise_inworld_syntheses(
        {
            "audio": ("IW-WS-5",),
            # A context's segment id is the contextId its client chose afresh (a replay answers
            # with the live client's): two clients never share it, so it evidences no rule.
            "ids": (),
            "order": ("IW-WS-4",),
            "errors": ("IW-WS-4",),
            "timed_text": ("IW-WS-5",),
        }
    ),
    INWORLD_STT_STREAM: _normalise_inworld_stt,
    INWORLD_VOICES: _normalise_inworld_voices,
}
"""How ``voicewire diff`` and ``voicewire run --cassette`` compare Inworld syntheses, speech
streams and voice lists (registered in :mod:`voicewire.harness.protocols`)."""
