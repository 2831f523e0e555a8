"""Mutant: an error event's ``recoverable`` is the error's ``retryable`` flag.

The port author took ``recoverable`` and ``retryable`` for two names of one thing and emitted
each failed attempt's event with ``recoverable=error.retryable``. While attempts remain that
is right, and a non-retryable error is correctly final; but the last attempt of an exhausted
stream fails with a retryable error, so its event says ``recoverable: true`` although nothing
follows. A consumer waiting for the retry (the agent keeps the user's turn open, a dashboard
shows "retrying") waits for an attempt that never comes.

Caught by: RETRY-5 (``recoverable: true`` when another attempt follows, ``false`` for the
last).
"""

from __future__ import annotations

import asyncio

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.errors import APIError
from voicewire.reference.llm.inference import LLM, LLMStream

from tests.mutants.port import mutant

__all__ = ["RetryableFlagLLM", "factory"]


class RetryableFlagStream(LLMStream):
    """The reference stream whose port reports ``retryable`` as ``recoverable``."""

    async def _produce(self) -> None:
        policy = self.retry_policy_class(self._conn_options, time_scale=self._llm.time_scale)
        for attempt in range(policy.max_attempts):
            try:
                await self._run_attempt(policy)
                break
            except APIError as error:
                decision = policy.decide(attempt, error)
                # BUG: "recoverable" is whether another attempt follows, not error.retryable
                self._llm._emit_error(error, recoverable=error.retryable)
                if not decision.retry:
                    final = policy.final_error(attempt, error)
                    if final is error:
                        raise
                    raise final from error
                await asyncio.sleep(decision.wait)
            except Exception as error:
                self._llm._emit_error(error, recoverable=False)
                raise
        self._emit_metrics()


class RetryableFlagLLM(LLM):
    """The reference LLM with the port's stream."""

    stream_class = RetryableFlagStream


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.recoverable_is_retryable:factory`` loads."""
    return mutant("recoverable_is_retryable", llm_class=RetryableFlagLLM)
