"""Mutant: a timeout is reported as ``APIConnectionError``.

The port author mapped "anything the transport raised" to ``APIConnectionError`` in one
place, the timeouts included ("no answer is a connection problem too"). The error still
carries the right ``retryable`` flag and is retried as before, but the caller can no longer
tell a provider that is slow (worth a longer ``timeout`` or a faster model) from one that is
unreachable, and a fallback's or agent's timeout handling never fires.

Caught by: RETRY-1 (a timeout is an ``APITimeoutError``).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.errors import APIConnectionError, APITimeoutError
from voicewire.reference.llm.wire import RetryPolicy

from tests.mutants.port import mutant

__all__ = ["OneTransportErrorPolicy", "factory"]


class OneTransportErrorPolicy(RetryPolicy):
    """The reference policy whose port maps a timeout like any transport failure."""

    def timeout_error(self, *, visible_output: bool) -> APITimeoutError:
        # BUG: not an APITimeoutError
        return APIConnectionError(  # type: ignore[return-value]
            "Request timed out.", retryable=self.retryable(visible_output)
        )


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.timeout_as_connection_error:factory`` loads."""
    return mutant("timeout_as_connection_error", retry_policy_class=OneTransportErrorPolicy)
