"""Mutant: the status error does not carry the response body.

The port author built ``APIStatusError(message, status_code=...)`` from the status line and
left the body out, thinking the message says it all. The openai SDK's message is generic for
many providers ("Error code: 400"), and the provider's explanation (which parameter was
wrong, which quota was hit, the gateway's error ``type``) lives in the JSON body: the caller
and the logs lose it.

Caught by: RETRY-1 (a non-2xx is ``APIStatusError(status_code, body)``).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.errors import APIStatusError
from voicewire.reference.llm.wire import RetryPolicy

from tests.mutants.port import mutant

__all__ = ["BodylessStatusPolicy", "factory"]


class BodylessStatusPolicy(RetryPolicy):
    """The reference policy whose status errors carry no body."""

    def status_error(
        self,
        status_code: int,
        message: str,
        *,
        body: object | None = None,
        request_id: str | None = None,
        visible_output: bool,
    ) -> APIStatusError:
        return APIStatusError(  # BUG: body=body is missing
            message,
            status_code=status_code,
            request_id=request_id,
            retryable=self.retryable(visible_output),
        )


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.status_body_dropped:factory`` loads."""
    return mutant("status_body_dropped", retry_policy_class=BodylessStatusPolicy)
