"""Mutant (Inworld STT): usage reported only on ``endTurn`` and at the end.

The port author reported usage when a turn ends, as billing is per turn. A long stream without
``endTurn`` (an open microphone, a long monologue) reports nothing for minutes, and a stream
that dies mid-turn never reports the audio it sent.

Caught by: IW-STT-USG-1 (usage at least every 5 s of audio pushed).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.inworld.wire.stt_session import InworldSegmentTracker

from tests.mutants.port import inworld_mutant

__all__ = ["factory"]


class TurnUsageTracker(InworldSegmentTracker):
    """The reference tracker, never reporting usage on its own schedule."""

    def usage_due(self) -> bool:
        return False  # BUG: only endTurn and the end of input report usage


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.iw_stt_usage_at_end:factory`` loads."""
    return inworld_mutant("iw_stt_usage_at_end", tracker_class=TurnUsageTracker)
