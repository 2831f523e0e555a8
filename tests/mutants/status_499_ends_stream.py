"""Mutant: an HTTP 499 ends the stream quietly, as if it had succeeded.

The livekit-agents 1.8.9 retry loop (``llm/llm.py:351``): ``if isinstance(e, APIStatusError)
and e.status_code == 499: return``, before the retry decision and before the error event.
The port author copied it, reading 499 as "client closed request", i.e. the caller cancelled
and nobody is waiting for an answer. But the gateway sends 499 when its upstream gave up: the
caller is still waiting, gets an empty answer with no error, and no retry is made although
499 is retryable.

Caught by: RETRY-3 (408, 429 and 499 are retryable) and RETRY-5 (every failed attempt emits
an error event).
"""

from __future__ import annotations

import asyncio

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.errors import APIError, APIStatusError
from voicewire.reference.llm.inference import LLM, LLMStream

from tests.mutants.port import mutant

__all__ = ["Quiet499LLM", "factory"]


class Quiet499Stream(LLMStream):
    """The reference stream with upstream's 499 shortcut."""

    async def _produce(self) -> None:
        policy = self.retry_policy_class(self._conn_options, time_scale=self._llm.time_scale)
        for attempt in range(policy.max_attempts):
            try:
                await self._run_attempt(policy)
                break
            except APIError as error:
                if isinstance(error, APIStatusError) and error.status_code == 499:
                    return  # BUG: "the client went away": no event, no retry, no error
                decision = policy.decide(attempt, error)
                self._llm._emit_error(error, recoverable=decision.retry)
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


class Quiet499LLM(LLM):
    """The reference LLM with the port's stream."""

    stream_class = Quiet499Stream


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.status_499_ends_stream:factory`` loads."""
    return mutant("status_499_ends_stream", llm_class=Quiet499LLM)
