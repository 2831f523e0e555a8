"""Mutant (STT): a reconnect's transcripts start again at time zero.

The port author added the server's ``start`` to an offset that never moves: each new
connection's session counts its audio from zero, so after a reconnect the transcripts'
``start_time`` goes back to 0.0 while the stream's audio went on. A caller aligning
transcripts with the audio (or an agent's turn detector) sees time run backwards.

Caught by: STT-RETRY-1 (``start_time`` stays monotonic across attempts).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.stt.wire import SegmentTracker

from tests.mutants.port import stt_mutant

__all__ = ["factory"]


class FixedOffsetTracker(SegmentTracker):
    """The reference tracker, whose offset stays where the first session put it."""

    def reconnect(self, offset: float | None = None) -> float:
        return self.offset  # BUG: the new session's time zero is not moved forward


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.stt_start_time_restarts:factory`` loads."""
    return stt_mutant("stt_start_time_restarts", tracker_class=FixedOffsetTracker)
