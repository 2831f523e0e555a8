"""Mutant (TTS): ``done`` ends the session, so every synthesis opens a new socket.

The port author read ``done`` as the end of the session, as the STT gateway's
``session.finalized`` is: after a synthesis's ``done`` the connection is given up instead of
going back to the pool, and the next synthesis connects again and sends ``session.create``
again. Nothing fails, but every sentence the agent speaks pays a WebSocket upgrade and the
token, which the pool exists to avoid.

Caught by: TTS-C-3 (the socket goes back to the pool and the next stream reuses it).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.tts.wire import (
    SynthesisDone,
    SynthesisOutput,
    TTSClientConnection,
    TTSServerMessage,
)

from tests.mutants.port import tts_mutant

__all__ = ["factory"]


class OneSynthesisConnection(TTSClientConnection):
    """The reference connection, which serves one synthesis only."""

    def receive(self, message: TTSServerMessage) -> list[SynthesisOutput]:
        outputs = super().receive(message)
        if isinstance(message, SynthesisDone):
            self.abandon()  # BUG: done ends the synthesis, not the session: keep the socket
        return outputs


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.tts_socket_per_synthesis:factory`` loads."""
    return tts_mutant("tts_socket_per_synthesis", connection_class=OneSynthesisConnection)
