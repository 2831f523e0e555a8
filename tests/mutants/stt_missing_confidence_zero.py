"""Mutant (STT): a transcript without ``confidence`` gets confidence 0.0.

The port author used the default the reference gives a *word* without confidence (0.0, as
upstream) for the transcript too. A transcript that comes without a confidence then looks
like pure noise, and a caller that drops low-confidence finals drops it.

Caught by: STT-ORD-5 (a missing ``confidence`` is 1.0).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.stt.speech import SpeechData
from voicewire.reference.stt.wire import FinalTranscript, InterimTranscript, SegmentTracker

from tests.mutants.port import stt_mutant

__all__ = ["factory"]


class ZeroConfidenceTracker(SegmentTracker):
    """The reference tracker, defaulting a transcript's confidence to 0.0."""

    def speech_data(self, message: InterimTranscript | FinalTranscript) -> SpeechData:
        data = super().speech_data(message)
        if message.confidence is None:
            data = data.model_copy(update={"confidence": 0.0})  # BUG: the default is 1.0
        return data


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.stt_missing_confidence_zero:factory`` loads."""
    return stt_mutant("stt_missing_confidence_zero", tracker_class=ZeroConfidenceTracker)
