"""How the LiveKit STT endpoint is recorded and replayed (see
:mod:`voicewire.simulators.core.recorded`): a WebSocket session whose ``input_audio`` messages
carry the client's audio, measured at the rate ``session.create`` set."""

from __future__ import annotations

from voicewire.reference.stt.wire.messages import (
    InputAudio,
    SessionCreate,
    decode_client_message,
)
from voicewire.simulators.core.recorded import RecordedEndpoint
from voicewire.simulators.stt.from_recording import stt_reply_from_recording
from voicewire.simulators.stt.routes import ENDPOINT

__all__ = ["STT_RECORDED", "STTAudioMeter"]

_BYTES_PER_SAMPLE = 2  # pcm_s16le mono, the only encoding the protocol has (STT-C-1)


class STTAudioMeter:
    """Seconds of audio in each client message of one LiveKit STT session."""

    def __init__(self) -> None:
        self._rate: int | None = None

    def client_message(self, data: str | bytes) -> float:
        """Seconds carried by an ``input_audio`` message (0.0 for any other, and for audio
        before a ``session.create`` named the rate)."""
        try:
            message = decode_client_message(data)
        except ValueError:  # MalformedMessage and pydantic's errors alike
            return 0.0
        if isinstance(message, SessionCreate):
            self._rate = message.sample_rate
            return 0.0
        if isinstance(message, InputAudio) and self._rate:
            return len(message.pcm) / (self._rate * _BYTES_PER_SAMPLE)
        return 0.0


STT_RECORDED = (
    RecordedEndpoint(
        endpoint=ENDPOINT,
        method="GET",
        path="/stt",
        framing="websocket",
        audio_meter=STTAudioMeter,
        to_reply=stt_reply_from_recording,
    ),
)
"""The STT endpoint as cassettes record it."""
