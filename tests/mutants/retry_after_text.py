"""Mutant: a failure after visible output is still retried.

The port author mapped transport failures to the error classes correctly but always left
``retryable`` at its default (``True``), not knowing that a stream which has already emitted
text or a tool call must not be retried. A connection that drops mid-answer is retried, and
the consumer sees the answer's beginning twice: once from the failed attempt, again from the
retry.

Caught by: RETRY-6 (the consumer never sees output from two attempts), the symptom; the
cause is RETRY-2 (``retryable`` turns false once visible output was emitted), which a case
reports when it gets that far.
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.wire import RetryPolicy

from tests.mutants.port import mutant

__all__ = ["factory"]


class AlwaysRetryablePolicy(RetryPolicy):
    """The reference policy, whose errors never look at what was already emitted."""

    def retryable(self, visible_output: bool) -> bool:
        return True  # BUG: retryable keeps its default after visible output


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.retry_after_text:factory`` loads."""
    return mutant("retry_after_text", retry_policy_class=AlwaysRetryablePolicy)
