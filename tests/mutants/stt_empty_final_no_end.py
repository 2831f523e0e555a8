"""Mutant (STT): an empty final emits FINAL but leaves its segment open.

The port author treated an empty final as "nothing was said": it is passed on as FINAL with
text ``""``, but END_OF_SPEECH is only emitted for a final with text. The segment stays open,
so the next segment's START never comes (its interims and final join the empty one's
segment), which is the wedge SPEC §3.3 warns of.

Caught by: STT-ORD-3 (an empty final emits FINAL ("") and END).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.stt.speech import SpeechEvent
from voicewire.reference.stt.wire import FinalTranscript, SegmentTracker

from tests.mutants.port import stt_mutant

__all__ = ["factory"]


class SilentEmptyFinalTracker(SegmentTracker):
    """The reference tracker, closing a segment only on a final with text."""

    def on_final(self, message: FinalTranscript) -> list[SpeechEvent]:
        events = super().on_final(message)
        if not message.transcript:
            # BUG: the END is dropped and the segment kept open.
            events.pop()
            self._speaking = True
        return events


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.stt_empty_final_no_end:factory`` loads."""
    return stt_mutant("stt_empty_final_no_end", tracker_class=SilentEmptyFinalTracker)
