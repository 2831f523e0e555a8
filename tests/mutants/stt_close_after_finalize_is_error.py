"""Mutant (STT): the server's close after ``session.finalize`` is an error.

The port author counted only the client's own close as a clean end (upstream expects a
server close once ``session.finalize`` was sent; this port forgot that case): the server's
close 1000 after ``session.finalized``, the normal end of every stream, is raised as
"connection closed unexpectedly", a retryable ``APIStatusError``. With retries on, every
stream reconnects after its last final, and the caller gets an error instead of the end.

Caught by: STT-END-1 (a server close after ``session.finalize`` ends the stream cleanly).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.errors import APIStatusError
from voicewire.reference.stt.wire import ClientSession, SessionState

from tests.mutants.port import stt_mutant

__all__ = ["factory"]


class OwnCloseOnlySession(ClientSession):
    """The reference session, for which only its own ``session.close`` ends cleanly."""

    def receive_close(self, code: int | None = None) -> None:
        closing = self.state is SessionState.CLOSING
        super().receive_close(code)
        if not closing:  # BUG: a close after session.finalize is clean too
            raise APIStatusError(
                "LiveKit Inference STT connection closed unexpectedly",
                status_code=code if code is not None else -1,
                retryable=True,
            )


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.stt_close_after_finalize_is_error:factory``
    loads."""
    return stt_mutant("stt_close_after_finalize_is_error", session_class=OwnCloseOnlySession)
