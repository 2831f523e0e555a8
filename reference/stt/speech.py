"""What a speech-to-text stream yields: SpeechEvents (SPEC §3.3).

The names and fields mirror ``livekit.agents.stt`` (``SpeechEventType``, ``SpeechEvent``,
``SpeechData``, ``RecognitionUsage``, and ``TimedString`` from ``livekit.agents.types``), so code
written against either reads the same. Two differences, both for a JSON-serialisable event
model: the objects are frozen pydantic models with tuples where upstream has lists, and there is
no ``created_at`` (no wall time here: the harness stamps its own ``t``).

``SpeechEventType`` holds the five types SPEC §3.3 defines; upstream's ``PREFLIGHT_TRANSCRIPT``
is not part of the contract and is never emitted.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["RecognitionUsage", "SpeechData", "SpeechEvent", "SpeechEventType", "TimedString"]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SpeechEventType(str, Enum):
    """The kinds of event a speech stream emits (SPEC §3.3); values as upstream's."""

    START_OF_SPEECH = "start_of_speech"
    """A segment opens (STT-ORD-2)."""
    INTERIM_TRANSCRIPT = "interim_transcript"
    """A non-empty interim transcript of the open segment (STT-ORD-3, STT-ORD-4)."""
    FINAL_TRANSCRIPT = "final_transcript"
    """The final transcript that closes the open segment, possibly empty (STT-ORD-3)."""
    RECOGNITION_USAGE = "recognition_usage"
    """Audio sent since the previous usage event, just before a FINAL (STT-USG-1)."""
    END_OF_SPEECH = "end_of_speech"
    """The open segment closes, right after its FINAL (STT-ORD-1)."""


class TimedString(_Event):
    """One word of a transcript with its times on the stream's timeline (STT-ORD-5).

    Upstream's ``TimedString`` is a ``str`` subclass; this one is a model whose ``str()`` is
    the word, so it serialises as JSON like every other event field.
    """

    text: str
    start_time: float
    end_time: float
    confidence: float = 0.0
    start_time_offset: float = 0.0
    """The stream offset that was added to the server's word times."""
    speaker_id: str | None = None

    def __str__(self) -> str:
        return self.text


class SpeechData(_Event):
    """One transcript alternative (the inference gateway sends exactly one).

    ``start_time``/``end_time`` are on the stream's timeline: the session offset plus the
    server's ``start`` (and ``duration``) (STT-ORD-5). ``metadata`` is the server's ``extra``
    when it is a non-empty object.
    """

    language: str
    text: str
    start_time: float = 0.0
    end_time: float = 0.0
    confidence: float = 0.0
    speaker_id: str | None = None
    words: tuple[TimedString, ...] = ()
    metadata: dict[str, Any] | None = None


class RecognitionUsage(_Event):
    """Audio usage of a stream: ``audio_duration`` seconds sent since the previous usage
    event, exact to the sample (STT-USG-1)."""

    audio_duration: float = Field(ge=0)


class SpeechEvent(_Event):
    """One event of a speech stream.

    ``request_id`` is the server's ``request_id`` for transcript and usage events (the
    stream's own id when the server sent none) and ``""`` for START/END_OF_SPEECH, as upstream.
    ``alternatives`` is set on transcript events, ``recognition_usage`` on usage events.
    """

    type: SpeechEventType
    request_id: str = ""
    alternatives: tuple[SpeechData, ...] = ()
    recognition_usage: RecognitionUsage | None = None
