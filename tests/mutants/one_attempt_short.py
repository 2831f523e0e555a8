"""Mutant: one attempt too few, ``max_retry`` requests instead of ``max_retry + 1``.

The port author read ``max_retry`` as "the most requests to make" and decided after each
failure whether "attempts so far" is still below it: ``attempt + 1 < max_retry``. With the
default ``max_retry=3`` the stream gives up after three requests instead of four, and with
``max_retry=1`` it never retries at all, so the one retry the caller configured is silently
lost. (``max_retry=0`` still makes its single request: the loop always makes the first.)
The last failure is then also raised as itself rather than as the exhaustion error, since the
policy no longer sees the attempts as exhausted.

Caught by: RETRY-4 (up to ``max_retry`` retries, so at most ``max_retry + 1`` requests), and
RETRY-5 (the events' ``recoverable`` flags and the exhaustion error follow the attempt count).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.errors import APIError
from voicewire.reference.llm.wire import RetryDecision, RetryPolicy

from tests.mutants.port import mutant

__all__ = ["ShortPolicy", "factory"]


class ShortPolicy(RetryPolicy):
    """The reference policy whose port counts requests against ``max_retry``."""

    def decide(self, attempt: int, error: APIError) -> RetryDecision:
        self._check(attempt, error)
        retry = error.retryable and attempt + 1 < self.options.max_retry  # BUG: off by one
        return RetryDecision(retry=retry, wait=self.wait(attempt) if retry else 0.0)


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.one_attempt_short:factory`` loads."""
    return mutant("one_attempt_short", retry_policy_class=ShortPolicy)
