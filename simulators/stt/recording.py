"""How the LiveKit STT endpoint is recorded and replayed (see
:mod:`voicewire.simulators.core.recorded`): a WebSocket session whose ``input_audio`` messages
carry the client's audio, measured at the rate ``session.create`` set; its session options
compared with an empty provider option taken as unset."""

from __future__ import annotations

from typing import Any

from voicewire.reference.stt.wire.messages import (
    InputAudio,
    SessionCreate,
    decode_client_message,
)
from voicewire.simulators.core.recorded import RecordedEndpoint
from voicewire.simulators.stt.from_recording import stt_reply_from_recording
from voicewire.simulators.stt.routes import ENDPOINT

__all__ = ["STT_RECORDED", "STTAudioMeter", "stt_significant"]

_BYTES_PER_SAMPLE = 2  # pcm_s16le mono, the only encoding the protocol has (STT-C-1)
_UNSET: tuple[Any, ...] = ([], {}, None)


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


def stt_significant(message: Any) -> Any:
    """A client message as the recorded answers depend on it: a provider option in
    ``settings.extra`` (of ``session.create`` or ``session.update``) whose value is empty
    (``[]``, ``{}``, null) is the option unset. Upstream livekit-agents sends ``"keyterm": []``
    for a deepgram model with no keyterm where voicewire's reference sends nothing, and
    STT-C-1 leaves ``extra``'s content to the client: the two ask the provider the same."""
    if not isinstance(message, dict):
        return message
    settings = message.get("settings")
    if not isinstance(settings, dict) or not isinstance(settings.get("extra"), dict):
        return message
    extra = {key: value for key, value in settings["extra"].items() if value not in _UNSET}
    return {**message, "settings": {**settings, "extra": extra}}


STT_RECORDED = (
    RecordedEndpoint(
        endpoint=ENDPOINT,
        method="GET",
        path="/stt",
        framing="websocket",
        audio_meter=STTAudioMeter,
        significant=stt_significant,
        to_reply=stt_reply_from_recording,
    ),
)
"""The STT endpoint as cassettes record it."""
