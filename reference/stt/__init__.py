"""Reference STT clients (LiveKit inference, Inworld).

- :mod:`.inference`: the LiveKit inference STT client, ``STT`` and ``SpeechStream`` (SPEC §3),
  built on the sans-IO wire module :mod:`.wire`;
- :mod:`.speech`: the SpeechEvents a stream yields.
"""

from __future__ import annotations

from voicewire.reference.stt.inference import STT, SpeechStream, STTErrorEvent, stt_url
from voicewire.reference.stt.speech import (
    RecognitionUsage,
    SpeechData,
    SpeechEvent,
    SpeechEventType,
    TimedString,
)

__all__ = [
    "STT",
    "RecognitionUsage",
    "STTErrorEvent",
    "SpeechData",
    "SpeechEvent",
    "SpeechEventType",
    "SpeechStream",
    "TimedString",
    "stt_url",
]
