"""Reference TTS clients (LiveKit inference, Inworld).

- :mod:`.inference`: the LiveKit inference TTS client, ``TTS``, ``SynthesizeStream`` and
  ``ChunkedStream`` (SPEC §4), built on the sans-IO wire module :mod:`.wire` and the sentence
  splitter :mod:`.sentences`.
"""

from __future__ import annotations

from voicewire.reference.tts.inference import (
    TTS,
    ChunkedStream,
    SynthesizeStream,
    TTSErrorEvent,
    tts_url,
)
from voicewire.reference.tts.wire import SynthesizedAudio

__all__ = [
    "TTS",
    "ChunkedStream",
    "SynthesizeStream",
    "SynthesizedAudio",
    "TTSErrorEvent",
    "tts_url",
]
