"""The retry rules of an LLM stream (SPEC §2.4, RETRY-1..5), as pure decisions.

:class:`RetryPolicy` builds the error of a failed attempt with the right ``retryable`` flag
and decides, after each failure, whether another attempt follows, how long to wait before it,
and what to raise when none does. The async client only runs attempts and sleeps::

    for attempt in range(policy.max_attempts):
        try:
            ...  # one attempt
            break
        except APIError as error:
            decision = policy.decide(attempt, error)
            emit("error", error, recoverable=decision.retry)
            if not decision.retry:
                raise policy.final_error(attempt, error) from error
            await asyncio.sleep(decision.wait)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from voicewire.reference.errors import (
    APIConnectionError,
    APIConnectOptions,
    APIError,
    APIStatusError,
    APITimeoutError,
)

__all__ = ["RetryDecision", "RetryPolicy"]


@dataclass(frozen=True)
class RetryDecision:
    """What follows a failed attempt: another one after ``wait`` seconds (``retry``), or the
    end of the stream (``wait`` is then 0)."""

    retry: bool
    wait: float


class RetryPolicy:
    """The retry rules for one stream's :class:`~voicewire.reference.errors.APIConnectOptions`.

    ``time_scale`` multiplies every wait (0 allowed: no waiting), as
    ``APIConnectOptions.interval_for_retry`` explains.
    """

    def __init__(self, options: APIConnectOptions, *, time_scale: float = 1.0) -> None:
        if not isinstance(options, APIConnectOptions):
            raise TypeError(f"options must be APIConnectOptions, got {type(options).__name__}")
        if isinstance(time_scale, bool) or not isinstance(time_scale, (int, float)):
            raise TypeError(f"time_scale must be a number, got {type(time_scale).__name__}")
        if not math.isfinite(time_scale) or time_scale < 0:
            raise ValueError(f"time_scale must be a finite number >= 0, got {time_scale!r}")
        self.options = options
        self.time_scale = float(time_scale)

    @property
    def max_attempts(self) -> int:
        """The most attempts one stream makes: ``max_retry + 1`` (RETRY-4)."""
        return self.options.max_attempts

    # -- building the error of a failed attempt (RETRY-1, RETRY-2) -----------------------------

    def retryable(self, visible_output: bool) -> bool:
        """Whether a failure may be retried as far as the stream is concerned: only until it
        emitted visible output (RETRY-2, RETRY-6)."""
        return not visible_output

    def status_error(
        self,
        status_code: int,
        message: str,
        *,
        body: object | None = None,
        request_id: str | None = None,
        visible_output: bool,
    ) -> APIStatusError:
        """A non-2xx answer. ``APIStatusError`` itself makes most 4xx non-retryable (RETRY-3)."""
        return APIStatusError(
            message,
            status_code=status_code,
            request_id=request_id,
            body=body,
            retryable=self.retryable(visible_output),
        )

    def timeout_error(self, *, visible_output: bool) -> APITimeoutError:
        """No connection or no byte within ``options.timeout``."""
        return APITimeoutError(retryable=self.retryable(visible_output))

    def connection_error(self, message: str, *, visible_output: bool) -> APIConnectionError:
        """Any other failure: refused, reset, malformed stream, in-band error event."""
        return APIConnectionError(message, retryable=self.retryable(visible_output))

    # -- after a failed attempt (RETRY-4, RETRY-5) ---------------------------------------------

    def wait(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` (0-based): 0.1 s before the first,
        ``retry_interval`` before the others, times ``time_scale``."""
        return self.options.interval_for_retry(retry_number) * self.time_scale

    def decide(self, attempt: int, error: APIError) -> RetryDecision:
        """After attempt ``attempt`` (0-based) failed with ``error``: retry iff the error is
        retryable and attempts remain (RETRY-4)."""
        self._check(attempt, error)
        retry = error.retryable and attempt < self.options.max_retry
        return RetryDecision(retry=retry, wait=self.wait(attempt) if retry else 0.0)

    def final_error(self, attempt: int, error: APIError) -> APIError:
        """What to raise when :meth:`decide` says stop (RETRY-5): after exhausted retries an
        ``APIConnectionError("failed to generate LLM completion after N attempts")`` (the
        caller chains it to ``error``); otherwise ``error`` itself, which covers a
        non-retryable error and the single attempt of ``max_retry = 0``."""
        self._check(attempt, error)
        max_retry = self.options.max_retry
        if max_retry > 0 and error.retryable and attempt == max_retry:
            return APIConnectionError(
                f"failed to generate LLM completion after {attempt + 1} attempts",
                retryable=False,
            )
        return error

    def _check(self, attempt: int, error: APIError) -> None:
        if isinstance(attempt, bool) or not isinstance(attempt, int):
            raise TypeError(f"attempt must be an int, got {type(attempt).__name__}")
        if not 0 <= attempt <= self.options.max_retry:
            raise ValueError(f"attempt must be in 0..{self.options.max_retry}, got {attempt}")
        if not isinstance(error, APIError):
            raise TypeError(f"error must be an APIError, got {type(error).__name__}")
