"""The messages of LiveKit inference TTS over WebSocket and their codec (SPEC §4).

Every message is a JSON text frame holding an object with a ``type``. Each type is a frozen
pydantic model whose fields are the wire's, with the wire's names and JSON types:
``session.create``'s ``sample_rate`` is a *string* of digits at the top level (TTS-C-1, unlike
STT's ``settings.sample_rate``), ``output_audio.audio`` is base64 of PCM s16le mono at the
session's rate (TTS-S-1), alignment times are seconds.

Client → server: :class:`TTSSessionCreate`, :class:`InputTranscript`, :class:`SessionFlush`.
Server → client: :class:`TTSSessionCreated`, :class:`OutputAudio`, :class:`OutputAlignment`,
:class:`SynthesisDone`, :class:`TTSErrorMessage`, :class:`TTSSessionClosed`.

:func:`encode_tts_message` writes a frame the way the upstream client does (``json.dumps``
defaults, absent optionals left out, ``type`` first and the keys in upstream's order, wire
capture §4). :func:`decode_tts_client_message` and :func:`decode_tts_server_message` read one
and trust nothing: a binary frame, invalid JSON (``NaN`` and ``Infinity`` included), a
non-object, a missing ``type`` and any field of the wrong type or range raise
:class:`~voicewire.reference.json_wire.MalformedMessage` naming where; an unknown
``type`` raises its subclass
:class:`~voicewire.reference.json_wire.UnknownMessageType`, which a client ignores.
Unknown keys are ignored (CLI-ROB-1). The two error classes and the codec are those every
JSON-frame protocol shares (:mod:`voicewire.reference.json_wire`);
:class:`~voicewire.reference.stt.wire.messages.ConnectionSettings` is the STT module's: the
same ``connection`` object on both gateway protocols.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_serializer,
    model_validator,
)
from voicewire.reference.json_wire import (
    as_tuple,
    check_base64,
    decode_typed_message,
)
from voicewire.reference.stt.wire.messages import ConnectionSettings

__all__ = [
    "DEFAULT_TTS_SAMPLE_RATE",
    "TTS_CLIENT_MESSAGE_TYPES",
    "TTS_SERVER_MESSAGE_TYPES",
    "AlignedChar",
    "AlignedWord",
    "GenerationConfig",
    "InputTranscript",
    "OutputAlignment",
    "OutputAudio",
    "SessionFlush",
    "SynthesisDone",
    "TTSClientMessage",
    "TTSErrorMessage",
    "TTSFallbackModel",
    "TTSFallbackSettings",
    "TTSServerMessage",
    "TTSSessionClosed",
    "TTSSessionCreate",
    "TTSSessionCreated",
    "decode_tts_client_message",
    "decode_tts_server_message",
    "encode_tts_message",
    "input_transcript",
    "tts_session_create",
]

DEFAULT_TTS_SAMPLE_RATE = 24000
"""The session's sample rate when none is configured (TTS-C-1)."""

_ENCODING = "pcm_s16le"


# -- field types -------------------------------------------------------------------------------


NonNegative = Annotated[float, Field(ge=0)]
# A positive decimal integer of at most six digits: a rate above 999999 Hz is no audio rate,
# and the bound keeps a hostile "sample_rate" from making a frame size of a million digits.
SampleRateString = Annotated[str, Field(pattern=r"^[1-9][0-9]{0,5}$")]
Base64Audio = Annotated[str, AfterValidator(check_base64)]
JSONObject = dict[str, Any]


class _Wire(BaseModel):
    # strict: no coercion ("24000" is not 24000, true is not 1); ints are accepted as floats.
    # extra="ignore": unknown keys are ignored wherever they appear (CLI-ROB-1).
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore", allow_inf_nan=False)


class _Message(_Wire):
    """A whole message; ``type`` is its first field, as upstream writes every TTS frame."""


# -- client → server ---------------------------------------------------------------------------


class TTSFallbackModel(_Wire):
    """One model of ``session.create``'s ``fallback.models``: ``model``, ``voice`` and
    ``extra`` are always written, as upstream writes them (``voice`` ``null`` when unset,
    ``extra`` ``{}``)."""

    model: str
    voice: str | None = None
    extra: JSONObject | None = Field(default_factory=dict)

    @model_serializer(mode="plain")
    def _always_every_key(self) -> dict[str, Any]:
        return {"model": self.model, "voice": self.voice, "extra": self.extra}


class TTSFallbackSettings(_Wire):
    """``session.create``'s ``fallback``: models the gateway may use instead."""

    models: Annotated[tuple[TTSFallbackModel, ...], BeforeValidator(as_tuple)]


class TTSSessionCreate(_Message):
    """The first message on a connection, once per connection and never per synthesis, sent
    without waiting for a reply (TTS-C-1). Keys in upstream's order: ``type, sample_rate,
    encoding, extra, voice?, model?, language?, fallback?, connection?``; ``extra`` is always
    present (``{}`` when empty)."""

    type: Literal["session.create"] = "session.create"
    sample_rate: SampleRateString
    encoding: Literal["pcm_s16le"]
    extra: JSONObject
    voice: str | None = None
    model: str | None = None
    language: str | None = None
    fallback: TTSFallbackSettings | None = None
    connection: ConnectionSettings | None = None

    @property
    def sample_rate_hz(self) -> int:
        """The session's sample rate in Hz (``sample_rate`` as a number)."""
        return int(self.sample_rate)


class GenerationConfig(_Wire):
    """``input_transcript``'s ``generation_config``: the voice, model and language in force,
    re-sent with every sentence so that an option change applies on a reused socket."""

    voice: str | None = None
    model: str | None = None
    language: str | None = None


class InputTranscript(_Message):
    """One sentence of input text, with its trailing space (TTS-C-2)."""

    type: Literal["input_transcript"] = "input_transcript"
    transcript: str
    generation_config: GenerationConfig
    extra: JSONObject


class SessionFlush(_Message):
    """Input of the synthesis has ended; sent exactly once per synthesis (TTS-C-3)."""

    type: Literal["session.flush"] = "session.flush"


# -- server → client ---------------------------------------------------------------------------


class TTSSessionCreated(_Message):
    """The server's acknowledgement of ``session.create``; optional, and a client never
    waits for it."""

    type: Literal["session.created"] = "session.created"
    session_id: str | None = None


class OutputAudio(_Message):
    """A chunk of synthesized audio: base64 of PCM s16le mono at the session's rate. A
    conforming server puts ``session_id`` on every one (TTS-S-1); the model admits its absence
    so that the state machines can name the rule it breaks."""

    type: Literal["output_audio"] = "output_audio"
    audio: Base64Audio
    session_id: str | None = None

    @classmethod
    def from_pcm(
        cls, pcm: bytes | bytearray | memoryview, *, session_id: str | None
    ) -> OutputAudio:
        """The message carrying ``pcm``."""
        return cls(audio=base64.b64encode(pcm).decode("ascii"), session_id=session_id)

    @cached_property
    def pcm(self) -> bytes:
        """The audio bytes (decoded once)."""
        return base64.b64decode(self.audio)


class AlignedWord(_Wire):
    """One word of an alignment, seconds from the start of the synthesis."""

    word: str
    start: NonNegative
    end: NonNegative

    @model_validator(mode="after")
    def _ordered_times(self) -> AlignedWord:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class AlignedChar(_Wire):
    """One character of an alignment, seconds from the start of the synthesis."""

    char: str
    start: NonNegative
    end: NonNegative

    @model_validator(mode="after")
    def _ordered_times(self) -> AlignedChar:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class OutputAlignment(_Message):
    """Timed text of the synthesis (TTS-S-2): exactly one of ``words`` or ``chars``."""

    type: Literal["output_alignment"] = "output_alignment"
    words: Annotated[tuple[AlignedWord, ...], BeforeValidator(as_tuple)] | None = None
    chars: Annotated[tuple[AlignedChar, ...], BeforeValidator(as_tuple)] | None = None
    session_id: str | None = None

    @model_validator(mode="after")
    def _one_granularity(self) -> OutputAlignment:
        if (self.words is None) == (self.chars is None):
            raise ValueError("expected exactly one of words and chars")
        return self


class SynthesisDone(_Message):
    """``done``: the synthesis is complete; the socket stays open for the next (TTS-S-1)."""

    type: Literal["done"] = "done"
    session_id: str | None = None


class TTSErrorMessage(_Message):
    """An error; the client raises a retryable ``APIError`` (TTS-OUT-2). ``code`` is
    optional here, unlike STT's."""

    type: Literal["error"] = "error"
    message: str
    code: int | None = None


class TTSSessionClosed(_Message):
    """The server ends the connection; upstream ignores it and waits for the close."""

    type: Literal["session.closed"] = "session.closed"


TTSClientMessage: TypeAlias = TTSSessionCreate | InputTranscript | SessionFlush
"""Any client → server message."""

TTSServerMessage: TypeAlias = (
    TTSSessionCreated
    | OutputAudio
    | OutputAlignment
    | SynthesisDone
    | TTSErrorMessage
    | TTSSessionClosed
)
"""Any server → client message."""

TTS_CLIENT_MESSAGE_TYPES: Mapping[str, type[TTSClientMessage]] = {
    "session.create": TTSSessionCreate,
    "input_transcript": InputTranscript,
    "session.flush": SessionFlush,
}
"""The client message class of each ``type`` (SPEC §4)."""

TTS_SERVER_MESSAGE_TYPES: Mapping[str, type[TTSServerMessage]] = {
    "session.created": TTSSessionCreated,
    "output_audio": OutputAudio,
    "output_alignment": OutputAlignment,
    "done": SynthesisDone,
    "error": TTSErrorMessage,
    "session.closed": TTSSessionClosed,
}
"""The server message class of each ``type`` (SPEC §4)."""


# -- builders ----------------------------------------------------------------------------------


def tts_session_create(
    *,
    sample_rate: int = DEFAULT_TTS_SAMPLE_RATE,
    voice: str | None = None,
    model: str | None = None,
    language: str | None = None,
    extra: Mapping[str, Any] | None = None,
    connection: ConnectionSettings | None = None,
    fallback: Sequence[TTSFallbackModel] = (),
) -> TTSSessionCreate:
    """The ``session.create`` of TTS-C-1 for these options: ``sample_rate`` goes as a string;
    ``voice``, ``model`` and ``language`` are left out when unset or empty, ``fallback`` when
    empty; ``extra`` is always sent (``{}`` when ``None``)."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int):
        raise TypeError(f"sample_rate must be an int, got {type(sample_rate).__name__}")
    if not 0 < sample_rate <= 999_999:
        raise ValueError(f"sample_rate must be in 1..999999 Hz, got {sample_rate}")
    return TTSSessionCreate(
        sample_rate=str(sample_rate),
        encoding=_ENCODING,
        extra=dict(extra or {}),
        voice=voice or None,
        model=model or None,
        language=language or None,
        fallback=TTSFallbackSettings(models=tuple(fallback)) if fallback else None,
        connection=connection,
    )


def input_transcript(
    sentence: str,
    *,
    voice: str | None = None,
    model: str | None = None,
    language: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> InputTranscript:
    """The ``input_transcript`` of TTS-C-2 for one sentence: the trailing space added, the
    options in force in ``generation_config`` (each left out when unset or empty), ``extra``
    always sent."""
    return InputTranscript(
        transcript=sentence + " ",
        generation_config=GenerationConfig(
            voice=voice or None, model=model or None, language=language or None
        ),
        extra=dict(extra or {}),
    )


# -- codec -------------------------------------------------------------------------------------


def encode_tts_message(message: TTSClientMessage | TTSServerMessage) -> str:
    """One text frame for ``message``: its JSON with absent optionals left out, written as
    upstream writes it (``json.dumps`` defaults, so ASCII escapes and ``", "`` separators)."""
    if not isinstance(message, _Message):
        raise TypeError(f"not a TTS message: {type(message).__name__}")
    return json.dumps(message.model_dump(mode="json", exclude_none=True))


def decode_tts_client_message(frame: str | bytes | bytearray | memoryview) -> TTSClientMessage:
    """A client → server frame as its message (server side). Raises
    :class:`~voicewire.reference.json_wire.MalformedMessage` for anything that is not
    one (``UnknownMessageType`` for an unknown ``type``)."""
    return decode_typed_message(frame, TTS_CLIENT_MESSAGE_TYPES)  # type: ignore[return-value]


def decode_tts_server_message(frame: str | bytes | bytearray | memoryview) -> TTSServerMessage:
    """A server → client frame as its message (client side). Raises
    :class:`~voicewire.reference.json_wire.MalformedMessage` for anything that is not
    one (``UnknownMessageType`` for an unknown ``type``, which a client ignores, CLI-ROB-1)."""
    return decode_typed_message(frame, TTS_SERVER_MESSAGE_TYPES)  # type: ignore[return-value]
