"""The messages of LiveKit inference STT over WebSocket and their codec (SPEC §3.1, §3.2).

Every message is a JSON text frame holding an object with a ``type``. Each type is a frozen
pydantic model whose fields are the wire's, with the wire's names and JSON types:
``settings.sample_rate`` is a *string* of digits (STT-C-1, as the capture shows),
``input_audio.audio`` is base64 of PCM s16le mono (STT-C-2), times are seconds.

Client → server: :class:`SessionCreate`, :class:`InputAudio`, :class:`SessionUpdate`,
:class:`SessionFinalize`, :class:`SessionClose`. Server → client: :class:`SessionCreated`,
:class:`StartOfSpeech`, :class:`InterimTranscript`, :class:`FinalTranscript`,
:class:`SessionFinalized`, :class:`SessionClosed`, :class:`ErrorMessage`.

:func:`encode_message` writes a frame the way the upstream client does (``json.dumps`` with its
default separators, ASCII escapes, absent optionals left out). :func:`decode_client_message`
and :func:`decode_server_message` read one; they trust nothing: a binary frame, invalid JSON
(``NaN`` and ``Infinity`` included), a non-object, a missing or unknown ``type`` and any field
of the wrong type or range raise :class:`MalformedMessage` naming where, and nothing else.
Unknown keys are ignored (CLI-ROB-1).
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
)
from voicewire.reference.json_wire import (
    MalformedMessage,
    UnknownMessageType,
    as_tuple,
    check_base64,
    decode_typed_message,
)

__all__ = [
    "CLIENT_MESSAGE_TYPES",
    "ENCODING",
    "SERVER_MESSAGE_TYPES",
    "ClientMessage",
    "ConnectionSettings",
    "CreateSettings",
    "ErrorMessage",
    "FallbackModel",
    "FallbackSettings",
    "FinalTranscript",
    "InputAudio",
    "InterimTranscript",
    "MalformedMessage",
    "ServerMessage",
    "SessionClose",
    "SessionClosed",
    "SessionCreate",
    "SessionCreated",
    "SessionFinalize",
    "SessionFinalized",
    "SessionUpdate",
    "StartOfSpeech",
    "TranscriptWord",
    "UnknownMessageType",
    "UpdateSettings",
    "decode_client_message",
    "decode_server_message",
    "encode_message",
    "session_create",
]

ENCODING = "pcm_s16le"
"""The one audio encoding of the protocol (STT-C-1)."""


# -- field types -------------------------------------------------------------------------------


NonNegative = Annotated[float, Field(ge=0)]
Probability = Annotated[float, Field(ge=0, le=1)]
# A positive decimal integer of at most six digits: a rate above 999999 Hz is no audio rate,
# and the bound keeps a hostile "sample_rate" from making a frame size of a million digits.
SampleRateString = Annotated[str, Field(pattern=r"^[1-9][0-9]{0,5}$")]
Base64Audio = Annotated[str, AfterValidator(check_base64)]
JSONObject = dict[str, Any]


class _Wire(BaseModel):
    # strict: no coercion ("16000" is not 16000, true is not 1); ints are accepted as floats.
    # extra="ignore": unknown keys are ignored wherever they appear (CLI-ROB-1).
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore", allow_inf_nan=False)


class _Message(_Wire):
    """A whole message. Each subclass declares its ``type`` literal where it should stand in
    the frame (last in ``session.create``, as upstream writes it; first elsewhere)."""


# -- client → server ---------------------------------------------------------------------------


class CreateSettings(_Wire):
    """``session.create``'s ``settings`` (STT-C-1): ``sample_rate`` as a string of digits,
    the encoding, the provider ``extra`` (always sent, ``{}`` when empty) and the language
    (left out when unset)."""

    sample_rate: SampleRateString
    encoding: Literal["pcm_s16le"]
    extra: JSONObject
    language: str | None = None


class ConnectionSettings(_Wire):
    """``session.create``'s ``connection``: the gateway's own timeout (seconds) and retries."""

    timeout: NonNegative
    retries: Annotated[int, Field(ge=0)]


class FallbackModel(_Wire):
    """One model of ``session.create``'s ``fallback.models``; ``extra`` is sent even when
    null, as upstream sends it."""

    model: str
    extra: JSONObject | None = None

    @model_serializer(mode="plain")
    def _always_with_extra(self) -> dict[str, Any]:
        return {"model": self.model, "extra": self.extra}


class FallbackSettings(_Wire):
    """``session.create``'s ``fallback``: models the gateway may use instead."""

    models: Annotated[tuple[FallbackModel, ...], BeforeValidator(as_tuple)]


class SessionCreate(_Message):
    """The first client message, sent without waiting for a reply (STT-C-1). ``model`` is
    left out when unset or ``"auto"`` (see :func:`session_create`). ``type`` comes last, as in
    upstream's frames."""

    settings: CreateSettings
    model: str | None = None
    fallback: FallbackSettings | None = None
    connection: ConnectionSettings | None = None
    type: Literal["session.create"] = "session.create"

    @property
    def sample_rate(self) -> int:
        """The session's sample rate in Hz (``settings.sample_rate`` as a number)."""
        return int(self.settings.sample_rate)


class InputAudio(_Message):
    """One frame of audio: base64 of PCM s16le mono at the session's rate (STT-C-2)."""

    type: Literal["input_audio"] = "input_audio"
    audio: Base64Audio

    @classmethod
    def from_pcm(cls, pcm: bytes | bytearray | memoryview) -> InputAudio:
        """The message carrying ``pcm``."""
        return cls(audio=base64.b64encode(pcm).decode("ascii"))

    @cached_property
    def pcm(self) -> bytes:
        """The audio bytes (decoded once: a server reads them for the framing check, the
        transcriber and the journal)."""
        return base64.b64decode(self.audio)


class UpdateSettings(_Wire):
    """``session.update``'s ``settings`` (STT-C-5): only what changes. ``model`` is here,
    unlike in ``session.create`` where it is top-level."""

    model: str | None = None
    language: str | None = None
    extra: JSONObject | None = None


class SessionUpdate(_Message):
    """An option change in the middle of a stream (STT-C-5)."""

    type: Literal["session.update"] = "session.update"
    settings: UpdateSettings


class SessionFinalize(_Message):
    """Input has ended; sent exactly once (STT-C-3)."""

    type: Literal["session.finalize"] = "session.finalize"


class SessionClose(_Message):
    """The client ends a session the server did not close in time (STT-C-4)."""

    type: Literal["session.close"] = "session.close"


# -- server → client ---------------------------------------------------------------------------


class SessionCreated(_Message):
    """The server's acknowledgement of ``session.create``; optional, and a client never
    waits for it."""

    type: Literal["session.created"] = "session.created"
    session_id: str | None = None


class StartOfSpeech(_Message):
    """The server detected speech onset; opens a segment if none is open (STT-ORD-2)."""

    type: Literal["start_of_speech"] = "start_of_speech"


class TranscriptWord(_Wire):
    """One word of a transcript: times in seconds from the session's start."""

    word: str
    start: NonNegative
    end: NonNegative
    confidence: Probability | None = None
    speaker_id: str | None = None


class _Transcript(_Message):
    type: str  # each subclass narrows it to its literal, keeping this place (first)
    transcript: str
    start: NonNegative
    duration: NonNegative
    language: str | None = None
    confidence: Probability | None = None
    request_id: str | None = None
    words: Annotated[tuple[TranscriptWord, ...], BeforeValidator(as_tuple)] | None = None
    speaker_id: str | None = None
    extra: JSONObject | None = None

    @property
    def end(self) -> float:
        """``start + duration``, computed as upstream does."""
        return self.start + self.duration


class InterimTranscript(_Transcript):
    """A transcript that may still change. ``start``/``duration`` are seconds from the
    session's start; absent ``language``, ``confidence`` and ``request_id`` take the
    defaults of STT-ORD-5."""

    type: Literal["interim_transcript"] = "interim_transcript"


class FinalTranscript(_Transcript):
    """The final transcript of a segment (possibly empty). Fields as
    :class:`InterimTranscript`."""

    type: Literal["final_transcript"] = "final_transcript"


class SessionFinalized(_Message):
    """The server has sent every final after ``session.finalize`` (STT-S-2)."""

    type: Literal["session.finalized"] = "session.finalized"


class SessionClosed(_Message):
    """The server ends the session; it closes the socket next (STT-S-2, STT-END-1)."""

    type: Literal["session.closed"] = "session.closed"


class ErrorMessage(_Message):
    """An error; ``code`` 400 answers a bad client message (STT-S-1). A client turns it into
    an ``APIStatusError`` (STT-END-1)."""

    type: Literal["error"] = "error"
    message: str
    code: int


ClientMessage: TypeAlias = (
    SessionCreate | InputAudio | SessionUpdate | SessionFinalize | SessionClose
)
"""Any client → server message."""

ServerMessage: TypeAlias = (
    SessionCreated
    | StartOfSpeech
    | InterimTranscript
    | FinalTranscript
    | SessionFinalized
    | SessionClosed
    | ErrorMessage
)
"""Any server → client message."""

CLIENT_MESSAGE_TYPES: Mapping[str, type[ClientMessage]] = {
    "session.create": SessionCreate,
    "input_audio": InputAudio,
    "session.update": SessionUpdate,
    "session.finalize": SessionFinalize,
    "session.close": SessionClose,
}
"""The client message class of each ``type`` (SPEC §3.1)."""

SERVER_MESSAGE_TYPES: Mapping[str, type[ServerMessage]] = {
    "session.created": SessionCreated,
    "start_of_speech": StartOfSpeech,
    "interim_transcript": InterimTranscript,
    "final_transcript": FinalTranscript,
    "session.finalized": SessionFinalized,
    "session.closed": SessionClosed,
    "error": ErrorMessage,
}
"""The server message class of each ``type`` (SPEC §3.2)."""


# -- builders ----------------------------------------------------------------------------------


def session_create(
    *,
    sample_rate: int = 16000,
    model: str | None = None,
    language: str | None = None,
    extra: Mapping[str, Any] | None = None,
    connection: ConnectionSettings | None = None,
    fallback: Sequence[FallbackModel] = (),
) -> SessionCreate:
    """The ``session.create`` of STT-C-1 for these options: ``sample_rate`` goes as a string,
    ``model`` is left out when ``None`` or ``"auto"``, ``language`` when unset or empty,
    ``fallback`` when empty; ``extra`` is always sent (``{}`` when ``None``)."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int):
        raise TypeError(f"sample_rate must be an int, got {type(sample_rate).__name__}")
    if not 0 < sample_rate <= 999_999:
        raise ValueError(f"sample_rate must be in 1..999999 Hz, got {sample_rate}")
    settings = CreateSettings(
        sample_rate=str(sample_rate),
        encoding=ENCODING,
        extra=dict(extra or {}),
        language=language or None,
    )
    return SessionCreate(
        settings=settings,
        model=model if model and model != "auto" else None,
        fallback=FallbackSettings(models=tuple(fallback)) if fallback else None,
        connection=connection,
    )


# -- codec -------------------------------------------------------------------------------------


def encode_message(message: ClientMessage | ServerMessage) -> str:
    """One text frame for ``message``: its JSON with absent optionals left out, written as
    upstream writes it (``json.dumps`` defaults, so ASCII escapes and ``", "`` separators)."""
    if not isinstance(message, _Message):
        raise TypeError(f"not an STT message: {type(message).__name__}")
    return json.dumps(message.model_dump(mode="json", exclude_none=True))


def decode_client_message(frame: str | bytes | bytearray | memoryview) -> ClientMessage:
    """A client → server frame as its message (server side). Raises :class:`MalformedMessage`
    for anything that is not one (:class:`UnknownMessageType` for an unknown ``type``)."""
    return decode_typed_message(frame, CLIENT_MESSAGE_TYPES)  # type: ignore[return-value]


def decode_server_message(frame: str | bytes | bytearray | memoryview) -> ServerMessage:
    """A server → client frame as its message (client side). Raises :class:`MalformedMessage`
    for anything that is not one (:class:`UnknownMessageType` for an unknown ``type``, which
    a client ignores, CLI-ROB-1)."""
    return decode_typed_message(frame, SERVER_MESSAGE_TYPES)  # type: ignore[return-value]
