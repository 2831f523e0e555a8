"""Mutant (STT): every ``start_of_speech`` message emits START_OF_SPEECH.

The port author mapped the server's ``start_of_speech`` to a START event one to one, without
asking whether a segment is already open: a ``start_of_speech`` that arrives after a segment
was opened by its first interim (SPEC §3.3 lets it come at any time; it opens a segment only
if none is open) makes the client emit a second START inside the open segment, and an agent
that counts turns by START sees two turns.

Caught by: STT-ORD-1 (a START is never emitted while a segment is open) and STT-ORD-2 (an
explicit ``start_of_speech`` opens a segment only if none is open).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.stt.speech import SpeechEvent, SpeechEventType
from voicewire.reference.stt.wire import SegmentTracker

from tests.mutants.port import stt_mutant

__all__ = ["factory"]


class EagerStartTracker(SegmentTracker):
    """The reference tracker, opening a segment whether or not one is open."""

    def open_segment(self) -> list[SpeechEvent]:
        self._speaking = True  # BUG: no check that a segment is already open
        return [SpeechEvent(type=SpeechEventType.START_OF_SPEECH)]


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.stt_start_while_open:factory`` loads."""
    return stt_mutant("stt_start_while_open", tracker_class=EagerStartTracker)
