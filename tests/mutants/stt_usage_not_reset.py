"""Mutant (STT): each usage event reports all the audio sent so far.

The port author kept one counter of the audio sent and reported it at every final without
starting it over, as a running total: the second usage event repeats the first's audio, and
a caller that adds up RECOGNITION_USAGE (to bill, or for metrics) counts the stream's start
again at every final.

Caught by: STT-USG-1 (a usage event reports the audio sent since the previous one).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.stt.speech import RecognitionUsage, SpeechEvent, SpeechEventType
from voicewire.reference.stt.wire import SegmentTracker

from tests.mutants.port import stt_mutant

__all__ = ["factory"]


class RunningTotalTracker(SegmentTracker):
    """The reference tracker, reporting the stream's total audio at every final."""

    def usage_events(self, request_id: str) -> list[SpeechEvent]:
        if self.samples_sent <= 0:
            return []
        # BUG: the total since the stream began, not since the previous usage event.
        duration = self.samples_sent / self.sample_rate
        return [
            SpeechEvent(
                type=SpeechEventType.RECOGNITION_USAGE,
                request_id=request_id,
                recognition_usage=RecognitionUsage(audio_duration=duration),
            )
        ]


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.stt_usage_not_reset:factory`` loads."""
    return stt_mutant("stt_usage_not_reset", tracker_class=RunningTotalTracker)
