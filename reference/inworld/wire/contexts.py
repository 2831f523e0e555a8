"""The messages of Inworld TTS over a multi-context WebSocket and their codec (SPEC §5.2).

One socket carries up to five concurrent *contexts*; every message names its context by a
top-level ``contextId``, and is named itself by the one operation key it holds
(:func:`~voicewire.reference.json_wire.decode_keyed_message`), not by a ``type`` field.

Client → server (IW-WS-1), each a frozen model with the wire's own key names and JSON types:
:class:`CreateContext` (``{"create": {...}, "contextId"}``; ``temperature`` sits at the top level
of ``create`` here, inside ``audioConfig`` over HTTP), :class:`SendText`
(``{"send_text": {"text"}, "contextId"}``), :class:`FlushContext`, :class:`CloseContext` and
:class:`CancelContext` (``{"flush_context": {}, "contextId"}`` ...).

Server → client (IW-WS-3): :class:`ContextReply`, ``{"result": {"contextId", "status"?:
{"code", "message"}, one of "contextCreated" | "audioChunk" | "flushCompleted" |
"contextClosed"}}``, and :class:`SocketErrorReply`, the top-level ``{"error": {"code",
"message"}}`` that names no context.

:func:`encode_context_message` writes a frame as upstream ``livekit-plugins-inworld`` 1.8.9
writes it (``json.dumps`` defaults, the operation key first, then ``contextId``; the keys of
``create`` in upstream's order, absent optionals left out: wire capture §7).
:func:`decode_context_client_message` and :func:`decode_context_server_message` read one and
trust nothing: a binary frame, invalid JSON, a non-object, two operation keys in one object and
any field of the wrong type raise :class:`~voicewire.reference.json_wire.MalformedMessage`
naming where; an object holding no known key raises its subclass
:class:`~voicewire.reference.json_wire.UnknownMessageType`, which a client ignores. Unknown
keys are ignored (CLI-ROB-1).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from functools import cached_property
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from voicewire.reference.inworld.wire.timestamps import InworldTimestampInfo
from voicewire.reference.json_wire import check_base64, decode_keyed_message

__all__ = [
    "AUTO_MODE_STRATEGIES",
    "CONTEXT_CLIENT_KINDS",
    "CONTEXT_SERVER_KINDS",
    "DEFAULT_BUFFER_CHAR_THRESHOLD",
    "DEFAULT_MAX_BUFFER_DELAY_MS",
    "MAX_CONTEXT_ID_LENGTH",
    "RESULT_KINDS",
    "CancelContext",
    "CloseContext",
    "ContextAudioChunk",
    "ContextAudioConfig",
    "ContextClientMessage",
    "ContextReply",
    "ContextResultBody",
    "ContextServerMessage",
    "ContextStatus",
    "CreateContext",
    "CreateContextConfig",
    "FlushContext",
    "SendText",
    "SocketErrorBody",
    "SocketErrorReply",
    "TextPiece",
    "create_context_config",
    "decode_context_client_message",
    "decode_context_server_message",
    "encode_context_message",
    "supports_sentence_boundary",
]

DEFAULT_BUFFER_CHAR_THRESHOLD = 250
"""``create.bufferCharThreshold`` when none is configured and the client segments the text
itself (upstream 1.8.9's ``DEFAULT_BUFFER_CHAR_THRESHOLD``)."""
DEFAULT_MAX_BUFFER_DELAY_MS = 3000
"""``create.maxBufferDelayMs`` when none is configured."""
MAX_CONTEXT_ID_LENGTH = 128
"""The longest ``contextId`` either side accepts (upstream's are 12 hex digits); a longer one is
malformed, so a hostile peer cannot make ids of megabytes."""

AutoModeStrategy: TypeAlias = Literal["CLIENT_SEGMENTED", "SENTENCE_BOUNDARY"]
AUTO_MODE_STRATEGIES: tuple[str, ...] = ("CLIENT_SEGMENTED", "SENTENCE_BOUNDARY")
"""Who cuts the text into generations: the client, one ``send_text`` per sentence
(``CLIENT_SEGMENTED``, never written on the wire), or the server at sentence boundaries
(``SENTENCE_BOUNDARY``, inworld-tts-2 only, sent as ``create.autoModeStrategy``)."""

ContextId = Annotated[str, Field(min_length=1, max_length=MAX_CONTEXT_ID_LENGTH)]
Base64Audio = Annotated[str, AfterValidator(check_base64)]
JSONObject = dict[str, Any]


class _Wire(BaseModel):
    # strict: no coercion ("24000" is not 24000); ints are accepted as floats.
    # extra="ignore": unknown keys are ignored wherever they appear (CLI-ROB-1).
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore", allow_inf_nan=False)


class _Empty(_Wire):
    """The ``{}`` of ``flush_context``, ``close_context`` and ``cancel_context``."""


# -- client → server ---------------------------------------------------------------------------


class ContextAudioConfig(_Wire):
    """``create.audioConfig``: without ``temperature``, which is ``create``'s own here."""

    audioEncoding: str
    sampleRateHertz: Annotated[int, Field(gt=0)]
    bitrate: Annotated[int, Field(ge=0)]
    speakingRate: Annotated[float, Field(gt=0)]


class CreateContextConfig(_Wire):
    """The body of ``create`` (IW-WS-1), fields in upstream's key order. ``autoMode`` is always
    ``true``; ``autoModeStrategy`` is sent only as ``SENTENCE_BOUNDARY``; ``bufferCharThreshold``
    only when configured or when the client segments (see :func:`create_context_config`)."""

    voiceId: str
    modelId: str
    audioConfig: ContextAudioConfig
    temperature: float
    maxBufferDelayMs: Annotated[int, Field(ge=0)]
    timestampTransportStrategy: str
    language: str | None = None
    timestampType: str | None = None
    applyTextNormalization: str | None = None
    deliveryMode: str | None = None
    autoMode: bool | None = None
    autoModeStrategy: str | None = None
    bufferCharThreshold: Annotated[int, Field(ge=0)] | None = None

    @property
    def sentence_boundary(self) -> bool:
        """Whether the server cuts the text at sentence boundaries (``SENTENCE_BOUNDARY``)."""
        return self.autoModeStrategy == "SENTENCE_BOUNDARY"


class _ContextMessage(_Wire):
    """A whole message: its operation key first, then ``contextId``, as upstream writes them."""

    @property
    def context_id(self) -> str:
        """The context the message is about."""
        return self.contextId  # type: ignore[attr-defined,no-any-return]


class CreateContext(_ContextMessage):
    """Open a context on the socket (IW-WS-1); the server answers ``contextCreated``."""

    create: CreateContextConfig
    contextId: ContextId


class TextPiece(_Wire):
    """The body of ``send_text``: at most 1000 characters on a conforming client (IW-WS-1; the
    server checks the limit, the model does not, so that it can name the rule)."""

    text: str


class SendText(_ContextMessage):
    """Text for a context (IW-WS-1)."""

    send_text: TextPiece
    contextId: ContextId


class FlushContext(_ContextMessage):
    """Generate what the context holds now; the server answers ``flushCompleted``."""

    flush_context: _Empty = Field(default_factory=_Empty)
    contextId: ContextId


class CloseContext(_ContextMessage):
    """No more text: finish the context; the server answers ``contextClosed`` (IW-WS-4)."""

    close_context: _Empty = Field(default_factory=_Empty)
    contextId: ContextId


class CancelContext(_ContextMessage):
    """Stop the context now, dropping what is not generated yet (on a timeout or a cancel)."""

    cancel_context: _Empty = Field(default_factory=_Empty)
    contextId: ContextId


# -- server → client ---------------------------------------------------------------------------


class ContextStatus(_Wire):
    """``result.status``: ``code`` 0 is success; any other fails the context (IW-WS-4).
    Codes are gRPC's (3 INVALID_ARGUMENT, 5 NOT_FOUND, 8 RESOURCE_EXHAUSTED, ...)."""

    code: int
    message: str = ""

    @property
    def ok(self) -> bool:
        """Whether the status is a success (``code == 0``)."""
        return self.code == 0


class ContextAudioChunk(_Wire):
    """``result.audioChunk``: base64 of the audio (raw PCM s16le for encoding ``PCM``) and,
    when the context asked for a ``timestampType``, its ``timestampInfo`` (IW-HTTP-3's shape,
    :class:`~voicewire.reference.inworld.wire.timestamps.InworldTimestampInfo`). With the
    ``ASYNC`` transport, timestamps may come in a chunk of their own, without audio."""

    audioContent: Base64Audio | None = None
    timestampInfo: InworldTimestampInfo | None = None

    @cached_property
    def pcm(self) -> bytes:
        """The audio bytes (decoded once); empty without ``audioContent``."""
        return base64.b64decode(self.audioContent) if self.audioContent else b""


RESULT_KINDS: tuple[str, ...] = ("contextCreated", "audioChunk", "flushCompleted", "contextClosed")
"""The keys of which a ``result`` holds at most one (IW-WS-3)."""


class ContextResultBody(_Wire):
    """``result``: the context it is about, its status, and at most one of
    :data:`RESULT_KINDS` (a failing status may come alone)."""

    contextId: ContextId | None = None
    status: ContextStatus | None = None
    contextCreated: JSONObject | None = None
    audioChunk: ContextAudioChunk | None = None
    flushCompleted: JSONObject | None = None
    contextClosed: JSONObject | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ContextResultBody:
        present = [kind for kind in RESULT_KINDS if getattr(self, kind) is not None]
        if len(present) > 1:
            raise ValueError(f"holds {' and '.join(present)}: a result is one of them at most")
        return self

    @property
    def kind(self) -> str | None:
        """Which of :data:`RESULT_KINDS` the result is (``None``: a status alone)."""
        return next((kind for kind in RESULT_KINDS if getattr(self, kind) is not None), None)

    @property
    def failed(self) -> bool:
        """Whether its status fails the context (``status.code != 0``, IW-WS-4)."""
        return self.status is not None and not self.status.ok


class ContextReply(_Wire):
    """``{"result": {...}}``: every reply about a context (IW-WS-3)."""

    result: ContextResultBody


class SocketErrorBody(_Wire):
    """The body of the top-level ``error``."""

    code: int = 0
    message: str = ""


class SocketErrorReply(_Wire):
    """``{"error": {"code", "message"}}``: an error about no context in particular."""

    error: SocketErrorBody


ContextClientMessage: TypeAlias = (
    CreateContext | SendText | FlushContext | CloseContext | CancelContext
)
"""Any client → server message."""
ContextServerMessage: TypeAlias = ContextReply | SocketErrorReply
"""Any server → client message."""

CONTEXT_CLIENT_KINDS: Mapping[str, type[ContextClientMessage]] = {
    "create": CreateContext,
    "send_text": SendText,
    "flush_context": FlushContext,
    "close_context": CloseContext,
    "cancel_context": CancelContext,
}
"""The client message class of each operation key (IW-WS-1)."""
CONTEXT_SERVER_KINDS: Mapping[str, type[ContextServerMessage]] = {
    "result": ContextReply,
    "error": SocketErrorReply,
}
"""The server message class of each top-level key (IW-WS-3)."""


# -- builders ----------------------------------------------------------------------------------


def supports_sentence_boundary(model: str) -> bool:
    """Whether ``model`` is served with the ``SENTENCE_BOUNDARY`` strategy: the
    ``inworld-tts-2`` family (upstream's ``_supports_sentence_boundary``)."""
    return model.startswith("inworld-tts-2")


def create_context_config(
    *,
    voice: str = "Ashley",
    model: str = "inworld-tts-1.5-max",
    encoding: str = "PCM",
    sample_rate: int = 24000,
    bit_rate: int = 64000,
    speaking_rate: float = 1.0,
    temperature: float = 1.0,
    max_buffer_delay_ms: int = DEFAULT_MAX_BUFFER_DELAY_MS,
    timestamp_transport_strategy: str = "ASYNC",
    language: str | None = None,
    timestamp_type: str | None = None,
    text_normalization: str | None = None,
    delivery_mode: str | None = None,
    buffer_char_threshold: int | None = None,
    auto_mode_strategy: AutoModeStrategy = "CLIENT_SEGMENTED",
) -> CreateContextConfig:
    """The ``create`` body for these options, as upstream 1.8.9 builds it (IW-WS-1):
    ``autoMode`` always ``true``; ``autoModeStrategy`` only for ``SENTENCE_BOUNDARY``;
    ``bufferCharThreshold`` when given, else :data:`DEFAULT_BUFFER_CHAR_THRESHOLD` unless the
    server cuts sentences (then the server's default applies and none is sent)."""
    if auto_mode_strategy not in AUTO_MODE_STRATEGIES:
        raise ValueError(
            f"auto_mode_strategy must be one of {AUTO_MODE_STRATEGIES}, got {auto_mode_strategy!r}"
        )
    boundary = auto_mode_strategy == "SENTENCE_BOUNDARY"
    if buffer_char_threshold is None and not boundary:
        buffer_char_threshold = DEFAULT_BUFFER_CHAR_THRESHOLD
    return CreateContextConfig(
        voiceId=voice,
        modelId=model,
        audioConfig=ContextAudioConfig(
            audioEncoding=encoding,
            sampleRateHertz=sample_rate,
            bitrate=bit_rate,
            speakingRate=float(speaking_rate),
        ),
        temperature=float(temperature),
        maxBufferDelayMs=max_buffer_delay_ms,
        timestampTransportStrategy=timestamp_transport_strategy,
        language=language,
        timestampType=timestamp_type,
        applyTextNormalization=text_normalization,
        deliveryMode=delivery_mode,
        autoMode=True,
        autoModeStrategy=auto_mode_strategy if boundary else None,
        bufferCharThreshold=buffer_char_threshold,
    )


# -- codec -------------------------------------------------------------------------------------


def encode_context_message(message: ContextClientMessage | ContextServerMessage) -> str:
    """One text frame for ``message``: its JSON with absent optionals left out (``{}`` bodies
    kept), written as upstream writes it (``json.dumps`` defaults)."""
    if not isinstance(message, (_ContextMessage, ContextReply, SocketErrorReply)):
        raise TypeError(f"not an Inworld context message: {type(message).__name__}")
    return json.dumps(message.model_dump(mode="json", exclude_none=True))


def decode_context_client_message(
    frame: str | bytes | bytearray | memoryview,
) -> ContextClientMessage:
    """A client → server frame as its message (server side). Raises
    :class:`~voicewire.reference.json_wire.MalformedMessage` for anything that is not one
    (``UnknownMessageType`` for an object with no operation key)."""
    return decode_keyed_message(frame, CONTEXT_CLIENT_KINDS)  # type: ignore[return-value]


def decode_context_server_message(
    frame: str | bytes | bytearray | memoryview,
) -> ContextServerMessage:
    """A server → client frame as its message (client side). Raises
    :class:`~voicewire.reference.json_wire.MalformedMessage` for anything that is not one
    (``UnknownMessageType`` for an object holding neither ``result`` nor ``error``, which a
    client ignores, CLI-ROB-1)."""
    return decode_keyed_message(frame, CONTEXT_SERVER_KINDS)  # type: ignore[return-value]
