"""Mutant: a 400 Bad Request is retried.

The port's own ``APIStatusError`` takes the caller's ``retryable`` as given (as
livekit-agents 1.3.x did) instead of letting the status overrule it. The stream maps every
non-2xx answer with ``retryable=True`` while nothing has been emitted, so a request the server
judged malformed (400, 401, 404, 422, ...) is sent again ``max_retry`` times and the caller
gets "failed after N attempts" instead of the 400 itself.

Caught by: RETRY-3 (a 4xx is not retryable, except 408, 429 and 499).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.errors import APIStatusError
from voicewire.reference.llm.wire import RetryPolicy

from tests.mutants.port import mutant

__all__ = ["factory"]


class LenientStatusPolicy(RetryPolicy):
    """The reference policy, whose status errors take the client's ``retryable`` as given."""

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
        error.retryable = self.retryable(visible_output)  # BUG: a 4xx stays retryable
        return error


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.retry_400:factory`` loads."""
    return mutant("retry_400", retry_policy_class=LenientStatusPolicy)
