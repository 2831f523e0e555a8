"""Mutant (Inworld voices): ``tts/v1/voices`` joined as an absolute path.

Having learnt that ``voice:stream`` drops the base URL's path, the port author did the same for
the voices list. Upstream joins ``tts/v1/voices`` relative to ``base_url``: behind a base URL
with a path, the port asks the host root and gets a 404 (or another service's voices).

Caught by: IW-VOICES-1 (``GET {base_url}tts/v1/voices``, a relative join).
"""

from __future__ import annotations

from urllib.parse import urlencode, urljoin

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.inworld import InworldTTS

from tests.mutants.port import inworld_mutant

__all__ = ["factory"]


class AbsoluteVoicesTTS(InworldTTS):
    """The reference TTS, asking ``/tts/v1/voices`` at the host root."""

    def voices_endpoint(self, language: str | None) -> str:
        url = urljoin(self.base_url, "/tts/v1/voices")  # BUG: absolute, the base path dropped
        if language is not None:
            url += "?" + urlencode({"filter": f"language={language}"})
        return url


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.iw_voices_absolute_path:factory`` loads."""
    return inworld_mutant("iw_voices_absolute_path", tts_class=AbsoluteVoicesTTS)
