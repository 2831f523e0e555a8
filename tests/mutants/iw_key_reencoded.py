"""Mutant (Inworld auth): the API key base64-encoded again.

``Basic`` credentials are base64 of ``user:password`` everywhere else, so the port author
encoded the key. Inworld hands out keys that already are that base64 string, and expects them
sent verbatim: every request of the port is refused with 401.

Caught by: AUTH-6 (``Authorization: Basic <key>`` with the key exactly as configured).
"""

from __future__ import annotations

import base64

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.inworld import InworldTTS

from tests.mutants.port import inworld_mutant

__all__ = ["factory"]


class ReencodingTTS(InworldTTS):
    """The reference TTS, sending ``Basic base64(key)``."""

    def headers(self) -> dict[str, str]:
        headers = super().headers()
        key = headers["Authorization"].removeprefix("Basic ")
        headers["Authorization"] = "Basic " + base64.b64encode(key.encode()).decode()  # BUG
        return headers


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.iw_key_reencoded:factory`` loads."""
    return inworld_mutant("iw_key_reencoded", tts_class=ReencodingTTS)
