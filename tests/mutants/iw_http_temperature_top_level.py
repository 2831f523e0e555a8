"""Mutant (Inworld HTTP): ``temperature`` at the top of the ``voice:stream`` body.

The port author wrote the WebSocket ``create`` first, where ``temperature`` is a top-level key,
and built the HTTP body the same way: ``temperature`` next to ``voiceId``, not inside
``audioConfig``. Inworld ignores a key it does not expect there, so every synthesis runs at the
default temperature whatever the caller asked for.

Caught by: IW-HTTP-1 (``temperature`` inside ``audioConfig`` over HTTP).
"""

from __future__ import annotations

import json

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.inworld import InworldTTS
from voicewire.reference.inworld.tts import InworldTTSOptions

from tests.mutants.port import inworld_mutant

__all__ = ["factory"]


class TopLevelTemperatureTTS(InworldTTS):
    """The reference TTS, posting ``temperature`` beside ``voiceId``."""

    def synthesize_body(self, text: str, opts: InworldTTSOptions | None = None) -> bytes:
        body = json.loads(super().synthesize_body(text, opts))
        # BUG: the WebSocket create's layout, carried over to HTTP.
        body["temperature"] = body["audioConfig"].pop("temperature")
        return json.dumps(body).encode()


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.iw_http_temperature_top_level:factory`` loads."""
    return inworld_mutant("iw_http_temperature_top_level", tts_class=TopLevelTemperatureTTS)
