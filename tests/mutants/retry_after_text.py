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

import json

import httpx
import openai
from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.errors import APIConnectionError, APIError, APIStatusError, APITimeoutError
from voicewire.reference.llm.inference import LLM, LLMStream

from tests.mutants.port import mutant

__all__ = ["factory"]


class AlwaysRetryableStream(LLMStream):
    """The reference loop, whose errors never look at what was already emitted."""

    async def _run_attempt(self) -> None:
        self._attempts += 1
        try:
            await self._stream_once()
        except APIError:
            raise
        # BUG (all three): retryable keeps its default, True, after visible output.
        except openai.APIStatusError as exc:
            raise APIStatusError(
                exc.message, status_code=exc.status_code, request_id=exc.request_id, body=exc.body
            ) from exc
        except (openai.APITimeoutError, httpx.TimeoutException) as exc:
            raise APITimeoutError() from exc
        except (openai.APIError, httpx.HTTPError, json.JSONDecodeError, ValueError) as exc:
            raise APIConnectionError(f"{type(exc).__name__}: {exc}") from exc


class AlwaysRetryableLLM(LLM):
    stream_class = AlwaysRetryableStream


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.retry_after_text:factory`` loads."""
    return mutant("retry_after_text", llm_class=AlwaysRetryableLLM)
