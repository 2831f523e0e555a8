"""Mutant (Inworld HTTP): ``voice:stream`` appended to the base URL's path.

The port author joined every Inworld path the same way, appending it to ``base_url``. With
``https://api.inworld.ai/`` nothing shows; behind a proxy or gateway whose base URL has a path
(``https://gateway.example/inworld/``) synthesis posts to ``/inworld/tts/v1/voice:stream``,
where upstream (``urljoin`` with an absolute path) posts to ``/tts/v1/voice:stream``.

Caught by: IW-HTTP-1 (``POST {host}/tts/v1/voice:stream``: any path in base_url is dropped).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.inworld import InworldTTS

from tests.mutants.port import inworld_mutant

__all__ = ["factory"]


class AppendingTTS(InworldTTS):
    """The reference TTS, appending ``tts/v1/voice:stream`` to the base URL."""

    def synthesize_endpoint(self) -> str:
        return self.base_url.rstrip("/") + "/tts/v1/voice:stream"  # BUG: keeps the base path


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.iw_http_base_path_kept:factory`` loads."""
    return inworld_mutant("iw_http_base_path_kept", tts_class=AppendingTTS)
