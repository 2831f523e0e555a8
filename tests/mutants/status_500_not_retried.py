"""Mutant: only 502, 503 and 504 are retried among the server errors.

The port author used the status list most retry helpers ship with (urllib3's usual
``status_forcelist=[502, 503, 504]``): "a 500 is a bug on the server, retrying it will not
help". But a 500 from an LLM provider is most often transient (an overloaded replica, a
model worker that crashed mid-request), and the SPEC makes every failure before visible
output retryable except the client errors of RETRY-3: the stream now fails on the first 500.

Caught by: RETRY-2 (``retryable`` is true until visible output) and RETRY-4 (a retryable
error is retried).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.errors import APIStatusError
from voicewire.reference.llm.wire import RetryPolicy

from tests.mutants.port import mutant

__all__ = ["ForcelistPolicy", "factory"]

_RETRIED_SERVER_ERRORS = frozenset({502, 503, 504})


class ForcelistPolicy(RetryPolicy):
    """The reference policy whose port retries only some 5xx."""

    def status_error(
        self,
        status_code: int,
        message: str,
        *,
        body: object | None = None,
        request_id: str | None = None,
        visible_output: bool,
    ) -> APIStatusError:
        error = super().status_error(
            status_code, message, body=body, request_id=request_id, visible_output=visible_output
        )
        if status_code >= 500 and status_code not in _RETRIED_SERVER_ERRORS:
            error.retryable = False  # BUG: a 500 is retryable
        return error


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.status_500_not_retried:factory`` loads."""
    return mutant("status_500_not_retried", retry_policy_class=ForcelistPolicy)
