"""Mutant: a 400 Bad Request is retried.

The port's own ``APIStatusError`` takes the caller's ``retryable`` as given (as
livekit-agents 1.3.x did) instead of letting the status overrule it. The stream maps every
non-2xx answer with ``retryable=True`` while nothing has been emitted, so a request the server
judged malformed (400, 401, 404, 422, ...) is sent again ``max_retry`` times and the caller
gets "failed after N attempts" instead of the 400 itself.

Caught by: RETRY-3 (a 4xx is not retryable, except 408, 429 and 499).
"""

from __future__ import annotations

import json

import httpx
import openai
from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference import errors
from voicewire.reference.errors import APIConnectionError, APIError, APITimeoutError
from voicewire.reference.llm.inference import LLM, LLMStream

from tests.mutants.port import mutant

__all__ = ["APIStatusError", "factory"]


class APIStatusError(errors.APIStatusError):
    """The port's status error: the client's ``retryable`` wins over the status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int = -1,
        request_id: str | None = None,
        body: object | None = None,
        retryable: bool = True,
    ) -> None:
        super().__init__(
            message, status_code=status_code, request_id=request_id, body=body, retryable=retryable
        )
        self.retryable = retryable  # BUG: a 4xx stays retryable


class LenientStatusStream(LLMStream):
    """The reference loop, raising the port's status error."""

    async def _run_attempt(self) -> None:
        self._attempts += 1
        try:
            await self._stream_once()
        except APIError:
            raise
        except openai.APIStatusError as exc:
            raise APIStatusError(
                exc.message,
                status_code=exc.status_code,
                request_id=exc.request_id,
                body=exc.body,
                retryable=not self._visible_output,
            ) from exc
        except (openai.APITimeoutError, httpx.TimeoutException) as exc:
            raise APITimeoutError(retryable=not self._visible_output) from exc
        except (openai.APIError, httpx.HTTPError, json.JSONDecodeError, ValueError) as exc:
            raise APIConnectionError(
                f"{type(exc).__name__}: {exc}", retryable=not self._visible_output
            ) from exc


class LenientStatusLLM(LLM):
    stream_class = LenientStatusStream


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.retry_400:factory`` loads."""
    return mutant("retry_400", llm_class=LenientStatusLLM)
