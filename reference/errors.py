"""The errors a provider client raises, and the options of its retry loop (SPEC §2.4).

The names follow ``livekit.agents`` (``APIError``, ``APIStatusError``, ``APITimeoutError``,
``APIConnectionError``, ``APIConnectOptions``) so code written against either reads the same.

Every error carries ``retryable`` (RETRY-1): whether the retry loop may try the request again.
Who sets it: the client that raises the error, which knows whether the stream has already
emitted visible output (RETRY-2). One rule overrides the client: a 4xx status is never
retryable except 408, 429 and 499 (RETRY-3), whatever the client passed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "DEFAULT_API_CONNECT_OPTIONS",
    "RETRYABLE_CLIENT_ERROR_STATUSES",
    "APIConnectOptions",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "error_body",
    "is_retryable_status",
]

RETRYABLE_CLIENT_ERROR_STATUSES: frozenset[int] = frozenset({408, 429, 499})
"""The 4xx statuses that stay retryable (RETRY-3): request timeout, too many requests, and
499 (client closed request, which a gateway reports when its upstream gave up)."""

# The wait before the first retry is short and fixed (SPEC §2.4): most failures worth retrying
# are transient, so the first retry goes out almost at once and only later ones back off.
_FIRST_RETRY_INTERVAL = 0.1


def _require_int(name: str, value: object) -> int:
    # bool is an int subclass, but True as a count or a status is always a caller's mistake.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    return value


def _require_finite_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def error_body(status: int, message: str, kind: str) -> dict[str, object]:
    """The JSON body of an error answer, ``{"error": {"message", "type", "code"}}``: the shape
    of LLM-SSE-5 that every voicewire server uses for every HTTP error it sends (SRV-5)."""
    return {"error": {"message": message, "type": kind, "code": status}}


def is_retryable_status(status_code: int) -> bool:
    """Whether a response with ``status_code`` may be retried as far as the status is concerned.

    Returns ``False`` only when the status itself rules a retry out: a 4xx (400..499) other than
    408, 429 and 499 (RETRY-3), since repeating a request the server judged wrong cannot
    succeed. Everything else returns ``True``: 5xx, the retryable 4xx, and also 1xx-3xx and the
    negative pseudo-statuses (``-1`` = "the socket closed unexpectedly"). For those the status
    carries no verdict and the caller's own judgement (the ``retryable`` it passes to
    :class:`APIStatusError`) decides.
    """
    _require_int("status_code", status_code)
    if 400 <= status_code <= 499:
        return status_code in RETRYABLE_CLIENT_ERROR_STATUSES
    return True


class APIError(Exception):
    """Base of every provider error (RETRY-1).

    ``message`` is the human description, ``body`` the provider's error payload if any
    (decoded JSON, text, or ``None``), ``retryable`` whether the retry loop may try again.
    """

    message: str
    body: object | None
    retryable: bool

    def __init__(self, message: str, *, body: object | None = None, retryable: bool = True) -> None:
        if not isinstance(message, str):
            raise TypeError(f"message must be a str, got {type(message).__name__}")
        if not isinstance(retryable, bool):
            raise TypeError(f"retryable must be a bool, got {type(retryable).__name__}")
        # Only the message goes to Exception.args: BaseException's pickling rebuilds the
        # instance as cls(*args) and then restores the other attributes from __dict__.
        super().__init__(message)
        self.message = message
        self.body = body
        self.retryable = retryable

    def _details(self) -> list[str]:
        return [f"retryable={self.retryable}"]

    def __str__(self) -> str:
        return f"{self.message} ({', '.join(self._details())})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join([repr(self.message), *self._details()])})"


class APIStatusError(APIError):
    """A provider answered with an error status (RETRY-1): a non-2xx HTTP response, or a
    WebSocket ``error`` message carrying a code (STT-END-1). An in-band error event inside an
    LLM SSE stream is not one: RETRY-1 makes it an :class:`APIConnectionError`.

    ``status_code`` may be negative for conditions without an HTTP status (``-1``: the socket
    closed unexpectedly). ``retryable`` is the caller's judgement, except that a 4xx other than
    408/429/499 is always non-retryable (RETRY-3), even when ``retryable=True`` is passed.
    (livekit-agents 1.3.x honoured an explicit ``retryable=True`` on a 4xx and so retried
    requests that could never succeed; this reference does not.)
    """

    status_code: int
    request_id: str | None

    def __init__(
        self,
        message: str,
        *,
        status_code: int = -1,
        request_id: str | None = None,
        body: object | None = None,
        retryable: bool = True,
    ) -> None:
        _require_int("status_code", status_code)
        if request_id is not None and not isinstance(request_id, str):
            raise TypeError(f"request_id must be a str or None, got {type(request_id).__name__}")
        super().__init__(message, body=body, retryable=retryable)
        self.status_code = status_code
        self.request_id = request_id
        self.retryable = retryable and is_retryable_status(status_code)

    def _details(self) -> list[str]:
        details = [f"status_code={self.status_code}"]
        if self.request_id is not None:
            details.append(f"request_id={self.request_id!r}")
        return [*details, *super()._details()]


class APITimeoutError(APIError):
    """The provider did not answer in time (RETRY-1): the connect timed out, or no byte arrived
    for ``APIConnectOptions.timeout`` seconds in the middle of a stream."""

    def __init__(self, message: str = "Request timed out.", *, retryable: bool = True) -> None:
        super().__init__(message, retryable=retryable)


class APIConnectionError(APIError):
    """Any other transport failure (RETRY-1): refused, reset, malformed stream. Also the error
    raised when all attempts are exhausted (RETRY-5), chained to the last attempt's error."""

    def __init__(self, message: str = "Connection error.", *, retryable: bool = True) -> None:
        super().__init__(message, retryable=retryable)


@dataclass(frozen=True)
class APIConnectOptions:
    """How a client connects and retries (SPEC §2.4, RETRY-4).

    - ``max_retry``: retries after the first attempt, so at most ``max_retry + 1`` requests;
      ``0`` means a single request.
    - ``retry_interval``: seconds to wait before every retry but the first
      (see :meth:`interval_for_retry`).
    - ``timeout``: seconds allowed for connecting, and for silence in the middle of a stream.

    Negative values raise ``ValueError``; wrong types (including ``bool``, and a non-integer
    ``max_retry``) raise ``TypeError``; NaN and infinities raise ``ValueError``.
    """

    max_retry: int = 3
    retry_interval: float = 2.0
    timeout: float = 10.0

    def __post_init__(self) -> None:
        _require_int("max_retry", self.max_retry)
        if self.max_retry < 0:
            raise ValueError(f"max_retry must be >= 0, got {self.max_retry}")
        for name in ("retry_interval", "timeout"):
            value = _require_finite_number(name, getattr(self, name))
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
            # Normalised so that options built from ints and from floats look the same.
            object.__setattr__(self, name, float(value))

    @property
    def max_attempts(self) -> int:
        """The most requests one operation may make: ``max_retry + 1`` (RETRY-4)."""
        return self.max_retry + 1

    def interval_for_retry(self, num_retries: int, *, time_scale: float = 1.0) -> float:
        """Seconds to wait before retry number ``num_retries`` (0-based): 0.1 s before the
        first retry, ``retry_interval`` before every later one (SPEC §2.4, RETRY-4).

        ``time_scale`` multiplies the wait. The harness runs retry scenarios with a small time
        scale (e.g. ``0.01``) so that checking RETRY-4's waits takes milliseconds instead of
        seconds; a measured wait divided by the same ``time_scale`` gives back the nominal one.
        It must be a finite number > 0.
        """
        _require_int("num_retries", num_retries)
        if num_retries < 0:
            raise ValueError(f"num_retries must be >= 0, got {num_retries}")
        scale = _require_finite_number("time_scale", time_scale)
        if scale <= 0:
            raise ValueError(f"time_scale must be > 0, got {scale}")
        nominal = _FIRST_RETRY_INTERVAL if num_retries == 0 else self.retry_interval
        return nominal * scale


DEFAULT_API_CONNECT_OPTIONS = APIConnectOptions()
"""``APIConnectOptions(max_retry=3, retry_interval=2.0, timeout=10.0)``: four attempts at most,
waiting 0.1 s, 2 s and 2 s between them."""
