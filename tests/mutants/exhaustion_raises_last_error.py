"""Mutant: exhausting the attempts raises the last attempt's error, not APIConnectionError.

The port author thought the caller would rather see the real cause than a wrapper, and let
the retry loop re-raise the last error once no attempt is left. The caller gets, say, an
``APIStatusError(503)`` that looks exactly like a non-retryable failure of a single attempt:
a fallback adapter or the agent's error handling can no longer tell "the provider is down,
retries were spent" from "this one request failed", and the chain to the attempts is lost.

Caught by: RETRY-5 (exhausting the attempts raises ``APIConnectionError("failed ... after N
attempts")`` chained to the last error).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.errors import APIError
from voicewire.reference.llm.wire import RetryPolicy

from tests.mutants.port import mutant

__all__ = ["ReraisePolicy", "factory"]


class ReraisePolicy(RetryPolicy):
    """The reference policy whose port re-raises the last error."""

    def final_error(self, attempt: int, error: APIError) -> APIError:
        self._check(attempt, error)
        return error  # BUG: also when the retries were exhausted


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.exhaustion_raises_last_error:factory`` loads."""
    return mutant("exhaustion_raises_last_error", retry_policy_class=ReraisePolicy)
