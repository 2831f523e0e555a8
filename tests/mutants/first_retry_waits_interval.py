"""Mutant: the first retry waits ``retry_interval`` too, instead of 0.1 s.

The port author implemented the wait as a constant ``retry_interval`` between attempts, the
way most retry helpers do, missing the SPEC's short first retry. With the default 2 s
interval every transient failure (a reset connection, a 503 from a cold replica) now costs the
user two seconds of silence before the first retry, where 0.1 s would have done; and with
``retry_interval=0`` the first retry goes out at once, hammering a server that just failed.

Caught by: RETRY-4 (0.1 s before the first retry, ``retry_interval`` before later ones).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.wire import RetryPolicy

from tests.mutants.port import mutant

__all__ = ["ConstantWaitPolicy", "factory"]


class ConstantWaitPolicy(RetryPolicy):
    """The reference policy with a constant wait."""

    def wait(self, retry_number: int) -> float:
        return self.options.retry_interval * self.time_scale  # BUG: also before the first


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.first_retry_waits_interval:factory`` loads."""
    return mutant("first_retry_waits_interval", retry_policy_class=ConstantWaitPolicy)
