"""RetryPolicy: the retry decisions of RETRY-1..5 as pure tables."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from voicewire.reference.errors import (
    APIConnectionError,
    APIConnectOptions,
    APIError,
    APIStatusError,
    APITimeoutError,
)
from voicewire.reference.llm.wire.retry import RetryDecision, RetryPolicy


def policy(max_retry: int, retry_interval: float = 2.0, time_scale: float = 1.0) -> RetryPolicy:
    return RetryPolicy(
        APIConnectOptions(max_retry=max_retry, retry_interval=retry_interval),
        time_scale=time_scale,
    )


def failure(retryable: bool) -> APIError:
    return APIConnectionError("reset", retryable=retryable)


# -- decide -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("max_retry", "decisions"),
    [
        (0, [RetryDecision(False, 0.0)]),
        (1, [RetryDecision(True, 0.1), RetryDecision(False, 0.0)]),
        (2, [RetryDecision(True, 0.1), RetryDecision(True, 2.0), RetryDecision(False, 0.0)]),
        (
            3,
            [
                RetryDecision(True, 0.1),
                RetryDecision(True, 2.0),
                RetryDecision(True, 2.0),
                RetryDecision(False, 0.0),
            ],
        ),
    ],
)
def test_decide_table_for_retryable_errors(max_retry, decisions):
    rules = policy(max_retry)
    assert rules.max_attempts == max_retry + 1
    assert [rules.decide(a, failure(True)) for a in range(max_retry + 1)] == decisions


@pytest.mark.parametrize("max_retry", [0, 1, 2, 3])
def test_a_non_retryable_error_is_never_retried(max_retry):
    rules = policy(max_retry)
    for attempt in range(max_retry + 1):
        assert rules.decide(attempt, failure(False)) == RetryDecision(False, 0.0)


@pytest.mark.parametrize(
    ("max_retry", "attempt", "retryable", "exhausted"),
    [
        (0, 0, True, False),  # nothing was retried, so nothing was exhausted
        (0, 0, False, False),
        (1, 0, False, False),
        (1, 1, True, True),
        (1, 1, False, False),
        (2, 1, False, False),
        (2, 2, True, True),
        (3, 0, False, False),
        (3, 2, False, False),
        (3, 3, True, True),
        (3, 3, False, False),
    ],
)
def test_final_error_table(max_retry, attempt, retryable, exhausted):
    error = failure(retryable)
    final = policy(max_retry).final_error(attempt, error)
    if exhausted:
        assert type(final) is APIConnectionError
        assert final.message == f"failed to generate LLM completion after {attempt + 1} attempts"
        assert final.retryable is False
    else:
        assert final is error


def test_final_error_message_for_the_default_options():
    final = RetryPolicy(APIConnectOptions()).final_error(3, failure(True))
    assert final.message == "failed to generate LLM completion after 4 attempts"


@settings(max_examples=100)
@given(
    max_retry=st.integers(0, 3),
    flags=st.lists(st.booleans(), min_size=4, max_size=4),
    visible_at=st.none() | st.integers(0, 3),
)
def test_the_documented_loop_follows_retry_4_and_5(max_retry, flags, visible_at):
    """Run the loop the client runs: each attempt fails; RETRY-5's events and raise follow."""
    rules = policy(max_retry, time_scale=0.0)
    events: list[tuple[APIError, bool]] = []
    raised = None
    last = None
    for attempt in range(rules.max_attempts):
        error = rules.connection_error(
            f"attempt {attempt}", visible_output=visible_at is not None and attempt >= visible_at
        )
        error.retryable = error.retryable and flags[attempt]
        last = error
        decision = rules.decide(attempt, error)
        events.append((error, decision.retry))
        if not decision.retry:
            raised = rules.final_error(attempt, error)
            break
    assert raised is not None
    stop = next(
        (
            a
            for a in range(max_retry + 1)
            if not flags[a] or (visible_at is not None and a >= visible_at)
        ),
        max_retry,
    )
    assert len(events) == stop + 1  # at most max_retry + 1 attempts (RETRY-4)
    assert [recoverable for _, recoverable in events] == [True] * stop + [False]
    if last.retryable and max_retry > 0:
        assert raised.message == f"failed to generate LLM completion after {stop + 1} attempts"
    else:
        assert raised is last


def test_decide_checks_its_arguments():
    rules = policy(2)
    with pytest.raises(ValueError, match=r"0\.\.2"):
        rules.decide(3, failure(True))
    with pytest.raises(ValueError):
        rules.final_error(-1, failure(True))
    with pytest.raises(TypeError):
        rules.decide(True, failure(True))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        rules.decide(0, ValueError("x"))  # type: ignore[arg-type]


# -- wait and time scale ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("time_scale", "interval", "waits"),
    [
        (1.0, 2.0, [0.1, 2.0, 2.0]),
        (1.0, 0.5, [0.1, 0.5, 0.5]),
        (0.01, 2.0, [0.1 * 0.01, 2.0 * 0.01, 2.0 * 0.01]),
        (2.0, 3.0, [0.2, 6.0, 6.0]),
        (0.0, 2.0, [0.0, 0.0, 0.0]),
    ],
)
def test_wait_table(time_scale, interval, waits):
    rules = policy(3, retry_interval=interval, time_scale=time_scale)
    assert [rules.wait(n) for n in range(3)] == waits
    assert [rules.decide(n, failure(True)).wait for n in range(3)] == waits


@pytest.mark.parametrize(
    ("time_scale", "error"),
    [(-0.1, ValueError), (math.nan, ValueError), (math.inf, ValueError), (True, TypeError)],
)
def test_time_scale_must_be_a_finite_number_at_least_zero(time_scale, error):
    with pytest.raises(error):
        RetryPolicy(APIConnectOptions(), time_scale=time_scale)


def test_options_must_be_connect_options():
    with pytest.raises(TypeError):
        RetryPolicy({"max_retry": 3})  # type: ignore[arg-type]


# -- building errors (RETRY-1, RETRY-2, RETRY-3) ------------------------------------------------


def test_retryable_until_visible_output():
    rules = policy(3)
    assert rules.retryable(False) is True
    assert rules.retryable(True) is False


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (408, True),
        (413, False),
        (422, False),
        (429, True),
        (499, True),
        (500, True),
        (502, True),
        (503, True),
        (-1, True),
    ],
)
def test_status_error_applies_retry_3(status, retryable):
    rules = policy(3)
    error = rules.status_error(
        status, "nope", body={"error": {}}, request_id="req-1", visible_output=False
    )
    assert type(error) is APIStatusError
    assert (error.status_code, error.message, error.body, error.request_id) == (
        status,
        "nope",
        {"error": {}},
        "req-1",
    )
    assert error.retryable is retryable
    after_output = rules.status_error(status, "nope", visible_output=True)
    assert after_output.retryable is False
    assert (after_output.body, after_output.request_id) == (None, None)


def test_timeout_and_connection_errors_follow_retry_2():
    rules = policy(3)
    assert type(rules.timeout_error(visible_output=False)) is APITimeoutError
    assert rules.timeout_error(visible_output=False).retryable is True
    assert rules.timeout_error(visible_output=True).retryable is False
    error = rules.connection_error("MalformedChunk: usage: expected", visible_output=False)
    assert type(error) is APIConnectionError
    assert error.message == "MalformedChunk: usage: expected"
    assert error.retryable is True
    assert rules.connection_error("x", visible_output=True).retryable is False


def test_a_4xx_is_not_retried_even_before_output():
    rules = policy(3)
    error = rules.status_error(400, "bad request", visible_output=False)
    assert rules.decide(0, error) == RetryDecision(False, 0.0)
    assert rules.final_error(0, error) is error
    throttled = rules.status_error(429, "slow down", visible_output=False)
    assert rules.decide(0, throttled) == RetryDecision(True, 0.1)
