"""Mutant (TTS): a failed attempt is retried even after it emitted audio.

The port author's retry loop asks only whether the failure is of a retryable kind (a close,
an ``error`` message), as upstream's TTS loops did in livekit-agents 1.3.x (before
livekit/agents#5242), and never whether the attempt already emitted audio. A connection
lost halfway through a sentence is retried on a new socket, the input is replayed, and the
caller plays the start of the sentence twice.

Caught by: TTS-RETRY-1 (after audio was emitted the error is raised, never retried; no audio
is duplicated).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.errors import APIError
from voicewire.reference.tts import SynthesizeStream

from tests.mutants.port import tts_mutant

__all__ = ["factory"]


class RetryAnywayStream(SynthesizeStream):
    """The reference stream, whose retry loop forgets what a failed attempt emitted."""

    async def _run_attempt(self) -> None:
        try:
            await super()._run_attempt()
        except APIError as error:
            # BUG: retryable by its kind alone, whatever audio the attempt emitted.
            self._audio_emitted = False
            error.retryable = True
            raise


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.tts_retry_after_audio:factory`` loads."""
    return tts_mutant("tts_retry_after_audio", stream_class=RetryAnywayStream)
