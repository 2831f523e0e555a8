"""Mutant (TTS): a retry does not replay the text the failed attempt was given.

The port author fed the socket from a queue of transcripts that the send loop consumes, as
upstream's stream fed it from an input channel in livekit-agents 1.3.x (livekit/agents#4409,
fixed by #5242): the text taken before the retry is gone, so the retry on a new socket starts
with the text pushed after it began. The gateway never hears the sentences sent to the failed
connection, and the caller's audio silently skips them.

Caught by: TTS-RETRY-1 (a retry replays all the input text).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.tts import SynthesizeStream

from tests.mutants.port import tts_mutant

__all__ = ["factory"]


class ForgetfulRetryStream(SynthesizeStream):
    """The reference stream, whose retries start from an empty input."""

    async def _run_attempt(self) -> None:
        if self.attempts:
            self._transcripts.clear()  # BUG: the input so far is what a retry must replay
        await super()._run_attempt()


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.tts_retry_forgets_input:factory`` loads."""
    return tts_mutant("tts_retry_forgets_input", stream_class=ForgetfulRetryStream)
