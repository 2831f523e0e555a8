"""Reference Inworld clients (SPEC §5, AUTH-6), named as upstream's plugin names them, so code
written against ``livekit.plugins.inworld`` reads the same::

    from voicewire.reference import inworld

    tts = inworld.TTS(api_key=key, base_url="http://127.0.0.1:8123/", ws_url="ws://127.0.0.1:8123/")
    async for frame in tts.synthesize("Hello."):   # HTTP NDJSON
        ...
    stream = tts.stream()                           # a context on the shared WebSocket
    stt = inworld.STT(api_key=key, base_url="http://127.0.0.1:8123/")

- :mod:`.tts`: :class:`InworldTTS` (``TTS``): ``synthesize`` (:class:`InworldChunkedStream`),
  ``list_voices``, ``stream`` (:mod:`.tts_stream`: :class:`InworldSynthesizeStream` on the
  :class:`InworldStreamPool`);
- :mod:`.stt`: :class:`InworldSTT` (``STT``) and its :class:`InworldSpeechStream`;
- :mod:`.wire`: the sans-IO wire module all of them (and the simulator, and the suites) speak
  through.
"""

from __future__ import annotations

from voicewire.reference.inworld.stt import InworldSpeechStream, InworldSTT
from voicewire.reference.inworld.tts import InworldChunkedStream, InworldTTS
from voicewire.reference.inworld.tts_stream import InworldStreamPool, InworldSynthesizeStream

__all__ = [
    "STT",
    "TTS",
    "InworldChunkedStream",
    "InworldSTT",
    "InworldSpeechStream",
    "InworldStreamPool",
    "InworldSynthesizeStream",
    "InworldTTS",
]

TTS = InworldTTS
"""Upstream's name: ``livekit.plugins.inworld.TTS``."""
STT = InworldSTT
"""Upstream's name: ``livekit.plugins.inworld.STT``."""
