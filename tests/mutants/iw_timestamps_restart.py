"""Mutant (Inworld WebSocket): word times restart at each flush.

The server restarts its timestamps at 0 for every generation (each ``flush_context``); the
port author passed them through as they came. Within one turn of several flushes the word
times jump back to 0, so captions and interruption handling place later words before earlier
ones.

Caught by: IW-WS-5 (word timestamps stay increasing within a context across flushes).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.inworld.wire.multiplexer import InworldClientMultiplexer, TrackedContext

from tests.mutants.port import inworld_mutant

__all__ = ["factory"]


class RestartingMultiplexer(InworldClientMultiplexer):
    """The reference multiplexer, never advancing a context's time offset."""

    def _advance_cumulative_time(self, ctx: TrackedContext) -> None:
        return None  # BUG: the server's times are taken as the turn's


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.iw_timestamps_restart:factory`` loads."""
    return inworld_mutant("iw_timestamps_restart", multiplexer_class=RestartingMultiplexer)
