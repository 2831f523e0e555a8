"""The STT wire module: the one place that parses and builds LiveKit inference STT frames
(SPEC §3).

The protocol is JSON text frames over a WebSocket. This package holds everything about them,
for both roles: the reference client speaks with it, the simulator answers with it, and the
suites check both sides with it. It is sans-IO in the style of h11 and wsproto: pure,
synchronous objects and state machines, an injected clock, no sockets, no event loop.

- :mod:`.messages`: the typed messages of both directions and their codec
  (:func:`encode_message`, :func:`decode_client_message`, :func:`decode_server_message`,
  :class:`MalformedMessage`), STT-C-1..5, STT-S-1, CLI-ROB-1;
- :mod:`.framing`: :class:`AudioFramer`, exact 50 ms ``input_audio`` frames (STT-C-2);
- :mod:`.tracker`: :class:`SegmentTracker`, server messages in, SpeechEvents out
  (STT-ORD-1..5, STT-USG-1, STT-RETRY-1's monotonic times);
- :mod:`.session`: :class:`ClientSession` and :class:`ServerSession`, what each role may send
  and receive in which :class:`SessionState` (STT-C-1..5, STT-S-1..2, STT-END-1).

The SpeechEvents themselves are in :mod:`voicewire.reference.stt.speech`.
"""

from __future__ import annotations

from voicewire.reference.stt.wire.framing import FRAME_DURATION, AudioFramer, frame_samples
from voicewire.reference.stt.wire.messages import (
    CLIENT_MESSAGE_TYPES,
    ENCODING,
    SERVER_MESSAGE_TYPES,
    ClientMessage,
    ConnectionSettings,
    CreateSettings,
    ErrorMessage,
    FallbackModel,
    FallbackSettings,
    FinalTranscript,
    InputAudio,
    InterimTranscript,
    MalformedMessage,
    ServerMessage,
    SessionClose,
    SessionClosed,
    SessionCreate,
    SessionCreated,
    SessionFinalize,
    SessionFinalized,
    SessionUpdate,
    StartOfSpeech,
    TranscriptWord,
    UnknownMessageType,
    UpdateSettings,
    decode_client_message,
    decode_server_message,
    encode_message,
    session_create,
)
from voicewire.reference.stt.wire.session import (
    BAD_REQUEST,
    FINAL_TRANSCRIPT_INACTIVITY_TIMEOUT,
    FINALIZATION_TIMEOUT,
    NORMAL_CLOSURE,
    ClientSession,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    ServerSession,
    SessionState,
    is_retryable_error_code,
)
from voicewire.reference.stt.wire.tracker import DEFAULT_LANGUAGE, SegmentTracker

__all__ = [
    "BAD_REQUEST",
    "CLIENT_MESSAGE_TYPES",
    "DEFAULT_LANGUAGE",
    "ENCODING",
    "FINALIZATION_TIMEOUT",
    "FINAL_TRANSCRIPT_INACTIVITY_TIMEOUT",
    "FRAME_DURATION",
    "NORMAL_CLOSURE",
    "SERVER_MESSAGE_TYPES",
    "AudioFramer",
    "ClientMessage",
    "ClientSession",
    "ConnectionSettings",
    "CreateSettings",
    "ErrorMessage",
    "FallbackModel",
    "FallbackSettings",
    "FinalTranscript",
    "InputAudio",
    "InterimTranscript",
    "LocalProtocolError",
    "MalformedMessage",
    "ProtocolError",
    "RemoteProtocolError",
    "SegmentTracker",
    "ServerMessage",
    "ServerSession",
    "SessionClose",
    "SessionClosed",
    "SessionCreate",
    "SessionCreated",
    "SessionFinalize",
    "SessionFinalized",
    "SessionState",
    "SessionUpdate",
    "StartOfSpeech",
    "TranscriptWord",
    "UnknownMessageType",
    "UpdateSettings",
    "decode_client_message",
    "decode_server_message",
    "encode_message",
    "frame_samples",
    "is_retryable_error_code",
    "session_create",
]
