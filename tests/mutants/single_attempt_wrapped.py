"""Mutant: with ``max_retry = 0`` the single attempt's error is wrapped as an exhaustion.

The port author wrote the exhaustion rule as "the last attempt failed with a retryable error:
raise ``APIConnectionError("... after N attempts")``", without the ``max_retry > 0`` guard.
A stream configured for a single request (as a fallback adapter configures each of its LLMs
by default) now raises ``APIConnectionError("failed ... after 1 attempts")`` for a 503 or a
timeout, so the caller sees neither the status code nor the timeout, although nothing was
retried and nothing was exhausted.

Caught by: RETRY-5 (the error of the single attempt of ``max_retry = 0`` is raised as itself).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.errors import APIConnectionError, APIError
from voicewire.reference.llm.wire import RetryPolicy

from tests.mutants.port import mutant

__all__ = ["AlwaysWrapPolicy", "factory"]


class AlwaysWrapPolicy(RetryPolicy):
    """The reference policy without the ``max_retry > 0`` guard."""

    def final_error(self, attempt: int, error: APIError) -> APIError:
        self._check(attempt, error)
        if error.retryable and attempt == self.options.max_retry:  # BUG: also for max_retry 0
            return APIConnectionError(
                f"failed to generate LLM completion after {attempt + 1} attempts",
                retryable=False,
            )
        return error


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.single_attempt_wrapped:factory`` loads."""
    return mutant("single_attempt_wrapped", retry_policy_class=AlwaysWrapPolicy)
