"""How the Inworld endpoints are recorded and replayed (see
:mod:`voicewire.simulators.core.recorded`): synthesis answers in NDJSON lines, the voices
list in one JSON body, the contexts WebSocket whose ``contextId`` the client chooses afresh
each run, and the transcribe WebSocket whose ``audioChunk`` messages carry the client's audio
at the rate ``transcribeConfig`` set."""

from __future__ import annotations

from typing import Any

from voicewire.reference.inworld.wire.stt_messages import (
    TranscribeAudioChunk,
    TranscribeConfigMessage,
    decode_transcribe_client_message,
)
from voicewire.simulators.core.recorded import RecordedEndpoint
from voicewire.simulators.inworld.contexts import CONTEXTS_ENDPOINT, CONTEXTS_PATH
from voicewire.simulators.inworld.from_recording import (
    contexts_reply_from_recording,
    synthesis_reply_from_recording,
    transcribe_reply_from_recording,
    voices_reply_from_recording,
)
from voicewire.simulators.inworld.synthesis import (
    SYNTHESIZE_ENDPOINT,
    SYNTHESIZE_PATH,
    VOICES_ENDPOINT,
    VOICES_PATH,
)
from voicewire.simulators.inworld.transcribe import ENDPOINT as TRANSCRIBE_ENDPOINT
from voicewire.simulators.inworld.transcribe import TRANSCRIBE_PATH

__all__ = ["INWORLD_RECORDED", "TranscribeAudioMeter", "transcribe_optional"]

_BYTES_PER_SAMPLE = 2  # LINEAR16, the only encoding the protocol has (IW-STT-C-1)


class TranscribeAudioMeter:
    """Seconds of audio in each client message of one Inworld transcribe session."""

    def __init__(self) -> None:
        self._bytes_per_second: int | None = None

    def client_message(self, data: str | bytes) -> float:
        """Seconds carried by an ``audioChunk`` (0.0 for any other message, and for audio
        before a ``transcribeConfig`` named the rate)."""
        try:
            message = decode_transcribe_client_message(data)
        except ValueError:  # MalformedMessage and pydantic's errors alike
            return 0.0
        if isinstance(message, TranscribeConfigMessage):
            config = message.transcribeConfig
            self._bytes_per_second = (
                config.sampleRateHertz * config.numberOfChannels * _BYTES_PER_SAMPLE
            )
            return 0.0
        if isinstance(message, TranscribeAudioChunk) and self._bytes_per_second:
            return len(message.pcm) / self._bytes_per_second
        return 0.0


def transcribe_optional(message: Any) -> bool:
    """An ``endTurn``: a flush one client makes and another does not. Upstream livekit's
    ``end_input()`` flushes before ``closeStream`` where voicewire's reference sends
    ``closeStream`` alone (the conformance cases accept both); ``closeStream`` has the server
    send what is pending either way."""
    return isinstance(message, dict) and set(message) == {"endTurn"}


INWORLD_RECORDED = (
    RecordedEndpoint(
        SYNTHESIZE_ENDPOINT,
        "POST",
        SYNTHESIZE_PATH,
        "ndjson",
        to_reply=synthesis_reply_from_recording,
    ),
    RecordedEndpoint(
        VOICES_ENDPOINT, "GET", VOICES_PATH, "json", to_reply=voices_reply_from_recording
    ),
    RecordedEndpoint(
        CONTEXTS_ENDPOINT,
        "GET",
        CONTEXTS_PATH,
        "websocket",
        client_ids=frozenset({"contextId"}),
        to_reply=contexts_reply_from_recording,
    ),
    RecordedEndpoint(
        TRANSCRIBE_ENDPOINT,
        "GET",
        TRANSCRIBE_PATH,
        "websocket",
        audio_meter=TranscribeAudioMeter,
        optional=transcribe_optional,
        to_reply=transcribe_reply_from_recording,
    ),
)
"""The Inworld endpoints as cassettes record them."""
