"""Mutant (TTS): an ``error`` message is a non-retryable ``APIError``.

The port author took the server's ``error`` message for the gateway's verdict on the request
(as an HTTP 4xx would be) and raised it as final, ``retryable=False``. The gateway sends
``error`` for transient trouble too (a provider overloaded, a voice briefly unavailable), which
a retry on a new socket would get past; the synthesis fails at once instead.

Caught by: TTS-OUT-2 (``error`` → a retryable ``APIError``).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.errors import APIError
from voicewire.reference.tts.wire import (
    SynthesisOutput,
    TTSClientConnection,
    TTSErrorMessage,
    TTSServerMessage,
)

from tests.mutants.port import tts_mutant

__all__ = ["factory"]


class FinalErrorConnection(TTSClientConnection):
    """The reference connection, raising an ``error`` message as a final error."""

    def receive(self, message: TTSServerMessage) -> list[SynthesisOutput]:
        was_synthesizing = self.in_synthesis
        outputs = super().receive(message)
        if isinstance(message, TTSErrorMessage) and was_synthesizing:
            raise APIError(
                f"LiveKit Inference TTS returned error: {message.message}",
                body=message.model_dump(mode="json", exclude_none=True),
                retryable=False,  # BUG: the server's error is transient as often as not
            )
        return outputs


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.tts_error_not_retryable:factory`` loads."""
    return tts_mutant("tts_error_not_retryable", connection_class=FinalErrorConnection)
