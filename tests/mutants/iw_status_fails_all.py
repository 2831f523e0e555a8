"""Mutant (Inworld WebSocket): one context's error status fails every context of the socket.

The port author treated a non-zero ``status`` like a socket error: every stream multiplexed on
the socket fails, though Inworld's status names one context and the others are still being
synthesized. One bad voice id in one conversation cuts off the speech of four others.

Caught by: IW-WS-4 (``status.code != 0`` fails only that context).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.inworld.wire.contexts import ContextResultBody
from voicewire.reference.inworld.wire.multiplexer import (
    ContextEvent,
    ContextFailureKind,
    InworldClientMultiplexer,
    TrackedContext,
)

from tests.mutants.port import inworld_mutant

__all__ = ["factory"]


class FailEveryContextMultiplexer(InworldClientMultiplexer):
    """The reference multiplexer, failing the socket's every context on one status."""

    def _status_failure(self, ctx: TrackedContext, result: ContextResultBody) -> list[ContextEvent]:
        assert result.status is not None
        failures: list[ContextEvent] = []
        for each in list(self._contexts.values()):  # BUG: every context, not ``ctx`` only
            failures += self._fail(
                each, ContextFailureKind.STATUS, result.status.message, code=result.status.code
            )
        return failures


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.iw_status_fails_all:factory`` loads."""
    return inworld_mutant("iw_status_fails_all", multiplexer_class=FailEveryContextMultiplexer)
