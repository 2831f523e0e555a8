"""Mutant (STT): ``session.finalize`` is sent twice.

The port sends ``session.finalize`` from ``end_input()`` and once more from its shutdown path
("make sure the server knows we are done"), without remembering that it already did. A gateway
that closes at once after its ``session.finalized`` never reads the second one, which is how
the bug survives against a well-behaved server; a server that keeps the socket open (or is
slow to close) gets a finalize for a session that is already finalizing and answers it with an
error.

Caught by: STT-C-3 (``session.finalize`` exactly once), in the STT-C-4 cases, where the
simulator keeps the socket open after ``session.finalized`` and so reads what follows.
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.stt.wire import ClientSession, SessionFinalize, encode_message

from tests.mutants.port import stt_mutant

__all__ = ["factory"]


class DoubleFinalizeSession(ClientSession):
    """The reference session, which finalizes once more when the input ends."""

    def end_input(self) -> list[str]:
        frames = super().end_input()
        # BUG: a second finalize, as if from a shutdown path that does not know of the first.
        return [*frames, encode_message(SessionFinalize())]


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.stt_finalize_twice:factory`` loads."""
    return stt_mutant("stt_finalize_twice", session_class=DoubleFinalizeSession)
