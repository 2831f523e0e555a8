"""The TTS wire module: the one place that parses and builds LiveKit inference TTS frames
(SPEC §4).

The protocol is JSON text frames over a pooled WebSocket: one ``session.create`` per
connection, then syntheses one after another. This package holds everything about them, for
both roles: the reference client speaks with it, the simulator answers with it, and the suites
check both sides with it. It is sans-IO in the style of h11 and wsproto: pure, synchronous
objects and state machines, an injected clock, no sockets, no event loop.

- :mod:`.messages`: the typed messages of both directions and their codec
  (:func:`encode_tts_message`, :func:`decode_tts_client_message`,
  :func:`decode_tts_server_message`), TTS-C-1..3, TTS-S-1..2, CLI-ROB-1;
- :mod:`.assembler`: :class:`SynthesisAssembler`, the server messages of one synthesis in,
  :class:`SynthesizedAudio` frames, :class:`AlignedTranscript` and :class:`SynthesisFailure`
  out (TTS-OUT-1..2, TTS-RETRY-1);
- :mod:`.connection`: :class:`TTSClientConnection` and :class:`TTSServerConnection`, what each
  role may send and receive in which :class:`TTSConnectionState`, and whether a pooled
  connection may be reused (TTS-C-1..3, TTS-S-1).

The malformed-frame and protocol errors are those every JSON-frame protocol shares
(:mod:`voicewire.reference.json_wire`: ``MalformedMessage``, ``UnknownMessageType``,
``LocalProtocolError``, ``RemoteProtocolError``), re-exported here.
"""

from __future__ import annotations

from voicewire.reference.json_wire import (
    LocalProtocolError,
    MalformedMessage,
    ProtocolError,
    RemoteProtocolError,
    UnknownMessageType,
)
from voicewire.reference.stt.wire.messages import ConnectionSettings
from voicewire.reference.tts.wire.assembler import (
    DEFAULT_TTS_FRAME_DURATION,
    AlignedTranscript,
    FailureKind,
    SynthesisAssembler,
    SynthesisFailure,
    SynthesisOutput,
    SynthesizedAudio,
)
from voicewire.reference.tts.wire.connection import (
    TTS_BAD_REQUEST,
    TTS_MAX_IDLE,
    TTSClientConnection,
    TTSConnectionState,
    TTSServerConnection,
)
from voicewire.reference.tts.wire.messages import (
    DEFAULT_TTS_SAMPLE_RATE,
    TTS_CLIENT_MESSAGE_TYPES,
    TTS_SERVER_MESSAGE_TYPES,
    AlignedChar,
    AlignedWord,
    GenerationConfig,
    InputTranscript,
    OutputAlignment,
    OutputAudio,
    SessionFlush,
    SynthesisDone,
    TTSClientMessage,
    TTSErrorMessage,
    TTSFallbackModel,
    TTSFallbackSettings,
    TTSServerMessage,
    TTSSessionClosed,
    TTSSessionCreate,
    TTSSessionCreated,
    decode_tts_client_message,
    decode_tts_server_message,
    encode_tts_message,
    input_transcript,
    tts_session_create,
)

__all__ = [
    "DEFAULT_TTS_FRAME_DURATION",
    "DEFAULT_TTS_SAMPLE_RATE",
    "TTS_BAD_REQUEST",
    "TTS_CLIENT_MESSAGE_TYPES",
    "TTS_MAX_IDLE",
    "TTS_SERVER_MESSAGE_TYPES",
    "AlignedChar",
    "AlignedTranscript",
    "AlignedWord",
    "ConnectionSettings",
    "FailureKind",
    "GenerationConfig",
    "InputTranscript",
    "LocalProtocolError",
    "MalformedMessage",
    "OutputAlignment",
    "OutputAudio",
    "ProtocolError",
    "RemoteProtocolError",
    "SessionFlush",
    "SynthesisAssembler",
    "SynthesisDone",
    "SynthesisFailure",
    "SynthesisOutput",
    "SynthesizedAudio",
    "TTSClientConnection",
    "TTSClientMessage",
    "TTSConnectionState",
    "TTSErrorMessage",
    "TTSFallbackModel",
    "TTSFallbackSettings",
    "TTSServerConnection",
    "TTSServerMessage",
    "TTSSessionClosed",
    "TTSSessionCreate",
    "TTSSessionCreated",
    "UnknownMessageType",
    "decode_tts_client_message",
    "decode_tts_server_message",
    "encode_tts_message",
    "input_transcript",
    "tts_session_create",
]
