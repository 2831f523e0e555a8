"""Mutant (STT): every ``error`` message is retryable.

The port author handled the server's ``error`` message like a dropped connection: a
transient failure, retried. A 400 (the gateway refusing the session's settings, an unknown
model) is then sent again ``max_retry`` times, each time refused the same way, and the caller
learns late, or as "failed after N attempts", what was wrong with its request.

Caught by: STT-END-1 (an ``error`` message is retryable unless its code is a 4xx other than
408 and 429).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.errors import APIStatusError
from voicewire.reference.stt.speech import SpeechEvent
from voicewire.reference.stt.wire import ClientSession, ServerMessage

from tests.mutants.port import stt_mutant

__all__ = ["factory"]


class RetryEverythingSession(ClientSession):
    """The reference session, whose error messages are all retryable."""

    def receive(self, message: ServerMessage) -> list[SpeechEvent]:
        try:
            return super().receive(message)
        except APIStatusError as error:
            error.retryable = True  # BUG: whatever the code
            raise


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.stt_error_always_retryable:factory`` loads."""
    return stt_mutant("stt_error_always_retryable", session_class=RetryEverythingSession)
