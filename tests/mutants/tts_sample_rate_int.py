"""Mutant (TTS): ``session.create`` carries ``sample_rate`` as a JSON number.

The port author built ``session.create`` by hand and put the rate in as the integer it is
(``"sample_rate": 24000``), as most TTS APIs take it and as the client's own ``sample_rate``
argument is; LiveKit's gateway takes it as a string of digits (``"24000"``, as the wire capture
shows). A server that holds the client to its schema (voicewire's simulator does) refuses the
message, so the connection has no session and every synthesis on it fails.

Caught by: TTS-C-1 (``sample_rate`` is the rate as a string).
"""

from __future__ import annotations

import json

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.tts.wire import TTSClientConnection

from tests.mutants.port import tts_mutant

__all__ = ["factory"]


class NumericRateConnection(TTSClientConnection):
    """The reference connection, whose ``session.create`` sends the rate as a number."""

    def create(self) -> str:
        message = json.loads(super().create())
        message["sample_rate"] = self.sample_rate  # BUG: an int, not "24000"
        return json.dumps(message)


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.tts_sample_rate_int:factory`` loads."""
    return tts_mutant("tts_sample_rate_int", connection_class=NumericRateConnection)
