"""Mutant (STT): ``flush()`` sends ``session.finalize``.

The port author mapped ``SpeechStream.flush()`` to the provider's "finalize" message, as the
Deepgram plugin sends ``{"type": "Finalize"}`` on a flush: the held audio goes out, then
``session.finalize``, and ``end_input()`` sends another one. But ``session.finalize`` ends
the session's input on this gateway: the server sends its finals, ``session.finalized`` and
closes, so every byte pushed after the flush is lost (the client meets a close while it still
has audio to send), and ``session.finalize`` is sent before input ended, and twice.

Caught by: STT-C-2 (the audio sent must be the audio pushed; the flush case pushes more after
its flush). The second finalize itself is STT-C-3's, judged where the simulator keeps reading
after the finalize (the STT-C-4 cases: see ``stt_finalize_twice``); the flush case's server
closes on the first one and reads nothing after it.
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.stt.wire import ClientSession, SessionFinalize, encode_message

from tests.mutants.port import stt_mutant

__all__ = ["factory"]


class FinalizingFlushSession(ClientSession):
    """The reference session, whose flush also finalizes."""

    def flush(self) -> list[str]:
        # BUG: a flush is not the end of input.
        return [*super().flush(), encode_message(SessionFinalize())]


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.stt_flush_finalizes:factory`` loads."""
    return stt_mutant("stt_flush_finalizes", session_class=FinalizingFlushSession)
