"""Mutant (TTS): a silent server is reported as an ``APIConnectionError``.

The port author treated a read that timed out like any other socket trouble and raised
``APIConnectionError``. The caller can no longer tell a gateway that stopped answering
(``APITimeoutError``, which an agent may meet with a shorter timeout or another model) from a
connection that failed.

Caught by: TTS-OUT-2 (no message for ``timeout`` s → ``APITimeoutError``).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.errors import APIConnectionError
from voicewire.reference.tts.wire import SynthesisOutput, TTSClientConnection

from tests.mutants.port import tts_mutant

__all__ = ["factory"]


class TimeoutIsConnectionErrorConnection(TTSClientConnection):
    """The reference connection, raising a receive timeout as a connection error."""

    def timed_out(self, timeout: float) -> list[SynthesisOutput]:
        if not super().timed_out(timeout):
            return []
        # BUG: the failure is a timeout, an APITimeoutError.
        raise APIConnectionError(
            f"LiveKit Inference TTS connection lost: no message for {timeout} s"
        )


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.tts_timeout_as_connection_error:factory``
    loads."""
    return tts_mutant(
        "tts_timeout_as_connection_error", connection_class=TimeoutIsConnectionErrorConnection
    )
