"""Mutant (Inworld WebSocket): a sixth context opened on a full socket.

The port author read "5 contexts per connection" as five *more* than the first, and checks
``len(open) > 5``: under load, a sixth stream is created on a socket that already carries
five. Inworld refuses it with a non-zero status, and the caller's sixth stream fails where the
pool should have opened another socket.

Caught by: IW-WS-2 (at most 5 open contexts per socket).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.inworld.wire.multiplexer import InworldClientMultiplexer

from tests.mutants.port import inworld_mutant

__all__ = ["factory"]


class OffByOneMultiplexer(InworldClientMultiplexer):
    """The reference multiplexer, full only beyond five contexts."""

    def _at_limit(self) -> bool:
        return len(self._contexts) > self._max_contexts  # BUG: off by one


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.iw_sixth_context:factory`` loads."""
    return inworld_mutant("iw_sixth_context", multiplexer_class=OffByOneMultiplexer)
