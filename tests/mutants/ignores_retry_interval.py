"""Mutant: the waits between retries ignore the caller's ``retry_interval``.

The port author wrote the wait as a small helper that reads the module's default connect
options, the same ``DEFAULT_API_CONNECT_OPTIONS`` that ``chat()`` falls back to when the
caller passes none, instead of the options of this stream. The number of attempts (from the
stream's ``max_retry``) is right and the first retry still waits 0.1 s, but every later retry
waits the default 2 s whatever ``retry_interval`` the caller asked for.

Caught by: RETRY-4 (0.1 s before the first retry, ``retry_interval`` before every later one,
±50 ms).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.errors import DEFAULT_API_CONNECT_OPTIONS
from voicewire.reference.llm.wire import RetryPolicy

from tests.mutants.port import mutant

__all__ = ["factory"]


class DefaultWaitPolicy(RetryPolicy):
    """The reference policy with the port's wait helper."""

    def wait(self, retry_number: int) -> float:
        # BUG: the defaults, not the stream's own conn_options.
        return DEFAULT_API_CONNECT_OPTIONS.interval_for_retry(retry_number) * self.time_scale


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.ignores_retry_interval:factory`` loads."""
    return mutant("ignores_retry_interval", retry_policy_class=DefaultWaitPolicy)
