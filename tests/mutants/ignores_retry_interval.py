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

import asyncio

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.errors import DEFAULT_API_CONNECT_OPTIONS, APIConnectionError, APIError
from voicewire.reference.llm.inference import LLM, LLMStream

from tests.mutants.port import mutant

__all__ = ["factory"]


def _retry_wait(attempt: int, time_scale: float) -> float:
    # BUG: the defaults, not the stream's own conn_options.
    return DEFAULT_API_CONNECT_OPTIONS.interval_for_retry(attempt, time_scale=time_scale)


class DefaultWaitStream(LLMStream):
    """The reference retry loop with the port's wait helper."""

    async def _produce(self) -> None:
        options = self._conn_options
        for attempt in range(options.max_retry + 1):
            try:
                await self._run_attempt()
                break
            except APIError as error:
                if not error.retryable or options.max_retry == 0:
                    self._llm._emit_error(error, recoverable=False)
                    raise
                if attempt == options.max_retry:
                    self._llm._emit_error(error, recoverable=False)
                    raise APIConnectionError(
                        f"failed to generate LLM completion after {attempt + 1} attempts",
                        retryable=False,
                    ) from error
                self._llm._emit_error(error, recoverable=True)
                await asyncio.sleep(_retry_wait(attempt, self._llm.time_scale))
            except Exception as error:
                self._llm._emit_error(error, recoverable=False)
                raise
        self._emit_metrics()


class DefaultWaitLLM(LLM):
    stream_class = DefaultWaitStream


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.ignores_retry_interval:factory`` loads."""
    return mutant("ignores_retry_interval", llm_class=DefaultWaitLLM)
