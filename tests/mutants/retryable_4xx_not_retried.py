"""Mutant: every 4xx is final, 408, 429 and 499 included.

The port author wrote the status rule as "4xx is the client's fault, never retry it; 5xx is
the server's, retry it" (``400 <= status < 500`` means not retryable). That is right for 400,
401, 404 and 422, but 429 (rate limited: exactly the error a retry after a pause fixes), 408
(request timeout) and 499 (the gateway's upstream gave up) end the stream at the first
occurrence, so a burst of traffic fails user turns that one retry would have saved.

Caught by: RETRY-3 (a 4xx is not retryable, except 408, 429 and 499).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.errors import APIStatusError
from voicewire.reference.llm.wire import RetryPolicy

from tests.mutants.port import mutant

__all__ = ["ClientFaultPolicy", "factory"]


class ClientFaultPolicy(RetryPolicy):
    """The reference policy whose port makes every 4xx final."""

    def status_error(
        self,
        status_code: int,
        message: str,
        *,
        body: object | None = None,
        request_id: str | None = None,
        visible_output: bool,
    ) -> APIStatusError:
        client_fault = 400 <= status_code < 500  # BUG: 408, 429 and 499 are retryable
        return APIStatusError(
            message,
            status_code=status_code,
            request_id=request_id,
            body=body,
            retryable=self.retryable(visible_output) and not client_fault,
        )


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.retryable_4xx_not_retried:factory`` loads."""
    return mutant("retryable_4xx_not_retried", retry_policy_class=ClientFaultPolicy)
