"""Mutant (STT): an empty interim transcript is emitted.

The port author passed every ``interim_transcript`` on as INTERIM, empty ones included (the
gateway sends them while it hears noise or silence): a caller showing live captions flickers
to blank, and an empty interim at a segment's start opens a segment nothing was said in.

Caught by: STT-ORD-3 (an empty interim emits nothing).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.stt.speech import SpeechEvent, SpeechEventType
from voicewire.reference.stt.wire import InterimTranscript, SegmentTracker

from tests.mutants.port import stt_mutant

__all__ = ["factory"]


class EveryInterimTracker(SegmentTracker):
    """The reference tracker, emitting empty interims too."""

    def on_interim(self, message: InterimTranscript) -> list[SpeechEvent]:
        # BUG: no check for an empty transcript.
        event = SpeechEvent(
            type=SpeechEventType.INTERIM_TRANSCRIPT,
            request_id=self.request_id_of(message),
            alternatives=(self.speech_data(message),),
        )
        return [*self.open_segment(), event]


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.stt_empty_interim_emitted:factory`` loads."""
    return stt_mutant("stt_empty_interim_emitted", tracker_class=EveryInterimTracker)
