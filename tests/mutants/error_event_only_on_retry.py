"""Mutant: an ``error`` event is emitted only for an attempt that will be retried.

The port author saw the ``error`` event as the "retrying..." notice: emitted when an attempt
failed and another follows, while the final failure is "reported by the exception anyway".
A stream that fails for good (a 400, a failure after visible output, the last of its
attempts) emits no event for that attempt, so an agent that reports provider errors from the
events (metrics, the UI's error banner) never sees the ones that mattered.

Caught by: RETRY-5 (each failed attempt emits an ``error`` event, ``recoverable: false`` for
the last).
"""

from __future__ import annotations

import asyncio

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.errors import APIError
from voicewire.reference.llm.inference import LLM, LLMStream

from tests.mutants.port import mutant

__all__ = ["RetryNoticeLLM", "factory"]


class RetryNoticeStream(LLMStream):
    """The reference stream whose port emits error events as retry notices."""

    async def _produce(self) -> None:
        policy = self.retry_policy_class(self._conn_options, time_scale=self._llm.time_scale)
        for attempt in range(policy.max_attempts):
            try:
                await self._run_attempt(policy)
                break
            except APIError as error:
                decision = policy.decide(attempt, error)
                if not decision.retry:
                    # BUG: no error event for the attempt that ends the stream
                    final = policy.final_error(attempt, error)
                    if final is error:
                        raise
                    raise final from error
                self._llm._emit_error(error, recoverable=True)
                await asyncio.sleep(decision.wait)
            except Exception as error:
                self._llm._emit_error(error, recoverable=False)
                raise
        self._emit_metrics()


class RetryNoticeLLM(LLM):
    """The reference LLM with the port's stream."""

    stream_class = RetryNoticeStream


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.error_event_only_on_retry:factory`` loads."""
    return mutant("error_event_only_on_retry", llm_class=RetryNoticeLLM)
