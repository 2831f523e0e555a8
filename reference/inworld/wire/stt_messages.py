"""The messages of Inworld STT over WebSocket and their codec (SPEC §5.3), sans-IO.

Every message is a JSON text frame holding an object named by the one key it holds (no
``type`` field): :func:`~voicewire.reference.json_wire.decode_keyed_message` reads them. Each
message is a frozen pydantic model with the wire's own key names (camelCase) and JSON types,
its fields in the order upstream (``livekit-plugins-inworld`` 1.8.9) writes them.

Client → server (IW-STT-C-1): :class:`TranscribeConfigMessage` (``{"transcribeConfig":
{...}}``, first), :class:`TranscribeAudioChunk` (``{"audioChunk": {"content": base64}}``, one
per pushed frame), :class:`EndTurn` (``{"endTurn": {}}``, on flush) and :class:`CloseStream`
(``{"closeStream": {}}``, at end of input).

Server → client (IW-STT-S-1): :class:`SpeechStartedMessage` (``{"result": {"speechStarted":
{}}}``), :class:`TranscriptionMessage` (``{"result": {"transcription": {"transcript",
"isFinal", "voiceProfile"?}}}``) and :class:`TranscribeErrorMessage` (``{"error": {"code",
"message"}}``: Inworld's streaming error frame, a gRPC status code, which upstream ignores).

Decisions where upstream is lenient (it reads with ``dict.get`` and defaults):

- ``transcript`` and ``isFinal`` default to ``""`` and ``false`` when absent, as upstream reads
  them (and as proto3 JSON leaves default values out); present, they must be a string and a
  boolean.
- ``voiceProfile`` is any JSON object (``null``: absent); another JSON type is malformed.
- A ``result`` holding none of ``speechStarted`` / ``transcription`` is a message of an unknown
  kind (ignored by a client, CLI-ROB-1); one holding both is malformed (upstream would read
  only one of them, depending on its state).

:func:`decode_transcribe_client_message` and :func:`decode_transcribe_server_message` trust
nothing: a binary frame, invalid JSON, a non-object and any field of the wrong type raise
:class:`~voicewire.reference.json_wire.MalformedMessage` naming where (a JSON path from the
frame's top, ``result.transcription.isFinal``). Unknown keys are ignored (CLI-ROB-1).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from functools import cached_property
from typing import Annotated, Any, ClassVar, Literal, TypeAlias

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from voicewire.reference.json_wire import (
    MalformedMessage,
    UnknownMessageType,
    check_base64,
    decode_keyed_message,
    describe_json_value,
    load_json_object,
)

__all__ = [
    "LINEAR16",
    "TRANSCRIBE_CLIENT_MESSAGE_KINDS",
    "TRANSCRIBE_RESULT_KINDS",
    "CloseStream",
    "EndTurn",
    "InworldSttV1Config",
    "SpeechStarted",
    "SpeechStartedMessage",
    "SpeechStartedResult",
    "TranscribeAudio",
    "TranscribeAudioChunk",
    "TranscribeClientMessage",
    "TranscribeConfig",
    "TranscribeConfigMessage",
    "TranscribeError",
    "TranscribeErrorMessage",
    "TranscribeServerMessage",
    "Transcription",
    "TranscriptionMessage",
    "TranscriptionResult",
    "VoiceProfileConfig",
    "decode_transcribe_client_message",
    "decode_transcribe_server_message",
    "encode_transcribe_message",
    "transcribe_config",
]

LINEAR16 = "LINEAR16"
"""The one audio encoding of the stream: PCM s16le (IW-STT-C-1)."""

Base64Audio = Annotated[str, AfterValidator(check_base64)]
Fraction = Annotated[float, Field(ge=0, le=1)]


class _Wire(BaseModel):
    # strict: no coercion ("16000" is not 16000, 1 is not true); ints are accepted as floats.
    # extra="ignore": unknown keys are ignored wherever they appear (CLI-ROB-1).
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore", allow_inf_nan=False)


class _Message(_Wire):
    """A whole frame: one key naming the message, holding its body."""

    kind: ClassVar[str]
    """The key that names the message (``result`` messages: the key inside ``result``)."""


class _Empty(_Wire):
    """A body with nothing in it, ``{}`` (what it may hold besides is ignored)."""


# -- client → server ---------------------------------------------------------------------------


class VoiceProfileConfig(_Wire):
    """``transcribeConfig.voiceProfileConfig``: voice profiling (age, pitch, emotion, accent),
    sent only when enabled, as upstream does; ``topN`` results per category."""

    enableVoiceProfile: bool
    topN: Annotated[int, Field(ge=1)]


class InworldSttV1Config(_Wire):
    """``transcribeConfig.inworldSttV1Config``: turn-taking of the ``inworld/inworld-stt-1``
    model. ``minEndOfTurnSilenceWhenConfident`` is milliseconds; ``vadThreshold`` is sent only
    when set."""

    minEndOfTurnSilenceWhenConfident: Annotated[int, Field(ge=0)]
    vadThreshold: Fraction | None = None


class TranscribeConfig(_Wire):
    """The body of the first client message (IW-STT-C-1), fields in upstream's order."""

    modelId: str
    audioEncoding: Literal["LINEAR16"]
    # A bound keeps a hostile rate from making sample counts of a million digits.
    sampleRateHertz: Annotated[int, Field(ge=1, le=999_999)]
    numberOfChannels: Annotated[int, Field(ge=1, le=64)]
    language: str
    voiceProfileConfig: VoiceProfileConfig | None = None
    endOfTurnConfidenceThreshold: Fraction
    inworldSttV1Config: InworldSttV1Config


class TranscribeConfigMessage(_Message):
    """``{"transcribeConfig": {...}}``: sent first, at once after the upgrade (IW-STT-C-1)."""

    kind: ClassVar[str] = "transcribeConfig"

    transcribeConfig: TranscribeConfig

    @property
    def sample_rate(self) -> int:
        """The stream's sample rate in Hz."""
        return self.transcribeConfig.sampleRateHertz


class TranscribeAudio(_Wire):
    """``audioChunk``'s body: base64 of PCM s16le at the configured rate."""

    content: Base64Audio


class TranscribeAudioChunk(_Message):
    """``{"audioChunk": {"content": base64}}``: one pushed frame, bytes exact, never
    re-chunked (IW-STT-C-1)."""

    kind: ClassVar[str] = "audioChunk"

    audioChunk: TranscribeAudio

    @classmethod
    def from_pcm(cls, pcm: bytes | bytearray | memoryview) -> TranscribeAudioChunk:
        """The message carrying ``pcm``."""
        return cls(audioChunk=TranscribeAudio(content=base64.b64encode(pcm).decode("ascii")))

    @cached_property
    def pcm(self) -> bytes:
        """The audio bytes (decoded once: a server reads them for its checks, the
        transcriber and the journal)."""
        return base64.b64decode(self.audioChunk.content)


class EndTurn(_Message):
    """``{"endTurn": {}}``: the speaker's turn ended (the client's ``flush()``); the server
    finalises what it has heard (IW-STT-C-1)."""

    kind: ClassVar[str] = "endTurn"

    endTurn: _Empty = _Empty()


class CloseStream(_Message):
    """``{"closeStream": {}}``: input has ended; nothing follows it (IW-STT-C-1). The server
    sends its pending finals and closes with 1000 (IW-STT-S-1)."""

    kind: ClassVar[str] = "closeStream"

    closeStream: _Empty = _Empty()


# -- server → client ---------------------------------------------------------------------------


class SpeechStarted(_Wire):
    """``result.speechStarted``: the server heard speech begin (its fields are ignored)."""


class Transcription(_Wire):
    """``result.transcription``: an interim (``isFinal`` false) or final transcript. No times,
    words or confidence: upstream reads none. Absent ``transcript``/``isFinal`` read as ``""``
    and ``false``, as upstream reads them."""

    transcript: str = ""
    isFinal: bool = False
    voiceProfile: dict[str, Any] | None = None


class SpeechStartedResult(_Wire):
    """``result`` of a speech-start message."""

    speechStarted: SpeechStarted = SpeechStarted()


class TranscriptionResult(_Wire):
    """``result`` of a transcription message."""

    transcription: Transcription


class SpeechStartedMessage(_Message):
    """``{"result": {"speechStarted": {}}}``: opens a segment if none is open (IW-STT-ORD-1)."""

    kind: ClassVar[str] = "speechStarted"

    result: SpeechStartedResult = SpeechStartedResult()


class TranscriptionMessage(_Message):
    """``{"result": {"transcription": {...}}}``."""

    kind: ClassVar[str] = "transcription"

    result: TranscriptionResult

    @classmethod
    def of(
        cls, transcript: str, *, is_final: bool, voice_profile: Mapping[str, Any] | None = None
    ) -> TranscriptionMessage:
        """The message of one transcript."""
        return cls(
            result=TranscriptionResult(
                transcription=Transcription(
                    transcript=transcript,
                    isFinal=is_final,
                    voiceProfile=dict(voice_profile) if voice_profile is not None else None,
                )
            )
        )

    @property
    def transcription(self) -> Transcription:
        """``result.transcription``."""
        return self.result.transcription


class TranscribeError(_Wire):
    """``error``'s body: a gRPC status ``code`` (3 INVALID_ARGUMENT, 8 RESOURCE_EXHAUSTED,
    16 UNAUTHENTICATED, ...) and its ``message``; ``details`` is ignored."""

    code: int
    message: str = ""


class TranscribeErrorMessage(_Message):
    """``{"error": {"code", "message"}}``: Inworld's streaming error frame. Upstream ignores
    it; the reference client ends the attempt with an ``APIStatusError`` of its code."""

    kind: ClassVar[str] = "error"

    error: TranscribeError


TranscribeClientMessage: TypeAlias = (
    TranscribeConfigMessage | TranscribeAudioChunk | EndTurn | CloseStream
)
"""Any client → server message."""

TranscribeServerMessage: TypeAlias = (
    SpeechStartedMessage | TranscriptionMessage | TranscribeErrorMessage
)
"""Any server → client message."""

TRANSCRIBE_CLIENT_MESSAGE_KINDS: Mapping[str, type[TranscribeClientMessage]] = {
    "transcribeConfig": TranscribeConfigMessage,
    "audioChunk": TranscribeAudioChunk,
    "endTurn": EndTurn,
    "closeStream": CloseStream,
}
"""The client message of each key (IW-STT-C-1)."""

TRANSCRIBE_RESULT_KINDS: Mapping[str, type[SpeechStartedMessage | TranscriptionMessage]] = {
    "speechStarted": SpeechStartedMessage,
    "transcription": TranscriptionMessage,
}
"""The server message of each key a ``result`` may hold (IW-STT-S-1)."""

_SERVER_KINDS: Mapping[str, type[BaseModel]] = {"result": _Wire, "error": TranscribeErrorMessage}


# -- builders ----------------------------------------------------------------------------------


def transcribe_config(
    *,
    model: str = "inworld/inworld-stt-1",
    language: str = "en-US",
    sample_rate: int = 16000,
    num_channels: int = 1,
    enable_voice_profile: bool = True,
    voice_profile_top_n: int = 1,
    end_of_turn_confidence_threshold: float = 0.3,
    min_end_of_turn_silence_when_confident: int = 200,
    vad_threshold: float | None = None,
) -> TranscribeConfigMessage:
    """The ``transcribeConfig`` message upstream sends for these options (its defaults):
    ``voiceProfileConfig`` only when voice profiling is enabled, ``vadThreshold`` only when
    set. Raises ``ValueError`` for an option the wire cannot carry."""
    try:
        return TranscribeConfigMessage(
            transcribeConfig=TranscribeConfig(
                modelId=model,
                audioEncoding=LINEAR16,
                sampleRateHertz=sample_rate,
                numberOfChannels=num_channels,
                language=language,
                voiceProfileConfig=(
                    VoiceProfileConfig(enableVoiceProfile=True, topN=voice_profile_top_n)
                    if enable_voice_profile
                    else None
                ),
                endOfTurnConfidenceThreshold=end_of_turn_confidence_threshold,
                inworldSttV1Config=InworldSttV1Config(
                    minEndOfTurnSilenceWhenConfident=min_end_of_turn_silence_when_confident,
                    vadThreshold=vad_threshold,
                ),
            )
        )
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise ValueError(f"an option the transcribeConfig cannot carry: {exc}") from None


# -- codec -------------------------------------------------------------------------------------


def encode_transcribe_message(message: TranscribeClientMessage | TranscribeServerMessage) -> str:
    """One text frame for ``message``, written as upstream writes its frames (``json.dumps``
    defaults), absent optionals left out."""
    if not isinstance(message, _Message):
        raise TypeError(f"not an Inworld STT message: {type(message).__name__}")
    return json.dumps(message.model_dump(mode="json", exclude_none=True))


def decode_transcribe_client_message(
    frame: str | bytes | bytearray | memoryview,
) -> TranscribeClientMessage:
    """A client → server frame as its message (server side). Raises
    :class:`~voicewire.reference.json_wire.MalformedMessage` for anything that is not one
    (:class:`~voicewire.reference.json_wire.UnknownMessageType` for an object holding none of
    the client keys)."""
    return decode_keyed_message(frame, TRANSCRIBE_CLIENT_MESSAGE_KINDS)  # type: ignore[return-value]


def decode_transcribe_server_message(
    frame: str | bytes | bytearray | memoryview,
) -> TranscribeServerMessage:
    """A server → client frame as its message (client side). Raises
    :class:`~voicewire.reference.json_wire.MalformedMessage` for anything that is not one;
    :class:`~voicewire.reference.json_wire.UnknownMessageType` (which a client ignores,
    CLI-ROB-1) for an object holding neither ``result`` nor ``error``, or a ``result`` holding
    none of the kinds it knows."""
    payload = load_json_object(frame)
    kind = decode_keyed_message(payload, _SERVER_KINDS)
    if isinstance(kind, TranscribeErrorMessage):
        return kind
    result = payload["result"]
    if not isinstance(result, dict):
        raise MalformedMessage(
            f"expected an object, got {describe_json_value(result)}",
            where="result",
            message_type="result",
        )
    present = [key for key in TRANSCRIBE_RESULT_KINDS if key in result]
    if not present:
        keys = ", ".join(sorted(result)[:5]) or "none"
        raise UnknownMessageType(f"result with keys {keys}")
    if len(present) > 1:
        raise MalformedMessage(
            f"holds {' and '.join(present)}: a result is exactly one of them",
            where="result",
            message_type="result",
        )
    # Validated as a whole frame, so that an error's path starts at the top (result....).
    return decode_keyed_message(payload, {"result": TRANSCRIBE_RESULT_KINDS[present[0]]})
