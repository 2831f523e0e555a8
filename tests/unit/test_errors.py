"""Tests of reference.errors: the APIError family and APIConnectOptions (SPEC §2.4)."""

from __future__ import annotations

import copy
import dataclasses
import math
import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from voicewire.reference.errors import (
    DEFAULT_API_CONNECT_OPTIONS,
    RETRYABLE_CLIENT_ERROR_STATUSES,
    APIConnectionError,
    APIConnectOptions,
    APIError,
    APIStatusError,
    APITimeoutError,
    is_retryable_status,
)

# --- RETRY-3: which statuses may be retried ----------------------------------------------------


@pytest.mark.spec("RETRY-3")
def test_every_4xx_but_408_429_499_is_never_retryable_whatever_is_passed():
    for status in range(400, 500):
        retryable_4xx = status in (408, 429, 499)
        for passed in (True, False):
            error = APIStatusError("boom", status_code=status, retryable=passed)
            assert error.retryable is (passed and retryable_4xx), (status, passed)
        assert is_retryable_status(status) is retryable_4xx, status


@pytest.mark.spec("RETRY-3")
def test_every_5xx_keeps_the_callers_judgement():
    for status in range(500, 600):
        assert is_retryable_status(status) is True
        assert APIStatusError("boom", status_code=status).retryable is True
        assert APIStatusError("boom", status_code=status, retryable=True).retryable is True
        assert APIStatusError("boom", status_code=status, retryable=False).retryable is False


@pytest.mark.spec("RETRY-3")
@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422])
def test_an_explicit_retryable_true_does_not_make_a_4xx_retryable(status: int):
    # livekit-agents 1.3.x honoured the explicit flag and so retried hopeless requests.
    assert APIStatusError("bad request", status_code=status, retryable=True).retryable is False


@pytest.mark.spec("RETRY-3")
@pytest.mark.parametrize("status", [408, 429, 499])
def test_the_retryable_4xx_are_retryable_by_default_but_can_be_marked_otherwise(status: int):
    assert status in RETRYABLE_CLIENT_ERROR_STATUSES
    assert APIStatusError("try later", status_code=status).retryable is True
    # After visible output (RETRY-2) the client passes False, and that must stick.
    assert APIStatusError("try later", status_code=status, retryable=False).retryable is False


@pytest.mark.spec("RETRY-3")
@given(status=st.integers(min_value=-(2**31), max_value=2**31), passed=st.booleans())
def test_status_error_retryable_is_the_callers_flag_and_the_status_verdict(
    status: int, passed: bool
):
    error = APIStatusError("boom", status_code=status, retryable=passed)

    assert error.retryable is (passed and is_retryable_status(status))
    # Only the 4xx band ever vetoes a retry.
    if not 400 <= status <= 499:
        assert is_retryable_status(status) is True


@pytest.mark.parametrize("status", [-1, 100, 200, 204, 301, 304])
def test_statuses_outside_4xx_and_5xx_leave_the_decision_to_the_caller(status: int):
    assert APIStatusError("odd", status_code=status).retryable is True
    assert APIStatusError("odd", status_code=status, retryable=False).retryable is False


def test_a_closed_socket_is_a_negative_pseudo_status():
    error = APIStatusError("Gateway connection closed unexpectedly")

    assert error.status_code == -1
    assert error.retryable is True


@pytest.mark.parametrize("status", [True, "429", 429.0, None])
def test_status_code_must_be_an_int(status: object):
    with pytest.raises(TypeError, match="status_code"):
        APIStatusError("boom", status_code=status)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="status_code"):
        is_retryable_status(status)  # type: ignore[arg-type]


# --- RETRY-1: the error family -----------------------------------------------------------------


@pytest.mark.spec("RETRY-1")
@pytest.mark.parametrize(
    ("error", "message"),
    [
        (APITimeoutError(), "Request timed out."),
        (APIConnectionError(), "Connection error."),
        (APIStatusError("rate limited", status_code=429), "rate limited"),
        (APIError("generic"), "generic"),
    ],
)
def test_every_error_is_an_api_error_with_a_message_and_a_retryable_flag(
    error: APIError, message: str
):
    assert isinstance(error, APIError)
    assert isinstance(error, Exception)
    assert error.message == message
    assert error.retryable is True
    with pytest.raises(APIError, match=message.replace(".", r"\.")):
        raise error


@pytest.mark.spec("RETRY-1")
def test_status_error_carries_status_request_id_and_body():
    body = {"error": {"message": "slow down", "type": "rate_limit_error", "code": 429}}

    error = APIStatusError("slow down", status_code=429, request_id="req_123", body=body)

    assert (error.status_code, error.request_id, error.body) == (429, "req_123", body)
    assert error.args == ("slow down",)


@pytest.mark.spec("RETRY-1")
@pytest.mark.parametrize("cls", [APITimeoutError, APIConnectionError])
def test_transport_errors_can_be_marked_not_retryable(cls: type[APIError]):
    error = cls(retryable=False)

    assert error.retryable is False
    assert error.body is None


def test_str_and_repr_show_class_message_status_and_retryable():
    error = APIStatusError("too many", status_code=429, request_id="req_9", retryable=False)

    assert str(error) == "too many (status_code=429, request_id='req_9', retryable=False)"
    assert repr(error) == (
        "APIStatusError('too many', status_code=429, request_id='req_9', retryable=False)"
    )
    assert str(APITimeoutError()) == "Request timed out. (retryable=True)"
    assert repr(APIConnectionError()) == "APIConnectionError('Connection error.', retryable=True)"


def test_errors_survive_pickling_and_copying_with_their_fields():
    error = APIStatusError("gone", status_code=503, request_id="r", body={"x": 1}, retryable=False)

    for clone in (pickle.loads(pickle.dumps(error)), copy.copy(error)):
        assert type(clone) is APIStatusError
        assert (
            clone.message,
            clone.status_code,
            clone.request_id,
            clone.body,
            clone.retryable,
        ) == (
            "gone",
            503,
            "r",
            {"x": 1},
            False,
        )
    timeout = pickle.loads(pickle.dumps(APITimeoutError(retryable=False)))
    assert (type(timeout), timeout.message, timeout.retryable) == (
        APITimeoutError,
        "Request timed out.",
        False,
    )


def test_exhaustion_error_chains_to_the_last_attempt():
    last = APITimeoutError()

    with pytest.raises(APIConnectionError) as caught:
        try:
            raise last
        except APIError as error:
            raise APIConnectionError(
                "failed to generate LLM completion after 4 attempts"
            ) from error

    assert caught.value.__cause__ is last
    assert "after 4 attempts" in str(caught.value)


@pytest.mark.parametrize(
    ("build", "error", "names"),
    [
        (lambda: APIError(None), TypeError, "message"),  # type: ignore[arg-type]
        (lambda: APIError("m", retryable=1), TypeError, "retryable"),  # type: ignore[arg-type]
        (lambda: APIStatusError("m", retryable="yes"), TypeError, "retryable"),  # type: ignore[arg-type]
        (lambda: APIStatusError("m", request_id=42), TypeError, "request_id"),  # type: ignore[arg-type]
        (lambda: APITimeoutError(retryable=None), TypeError, "retryable"),  # type: ignore[arg-type]
    ],
)
def test_errors_reject_bad_arguments(build: Any, error: type[Exception], names: str):
    with pytest.raises(error, match=names):
        build()


# --- APIConnectOptions, RETRY-4 -----------------------------------------------------------------


@pytest.mark.spec("RETRY-4")
def test_default_options_allow_four_attempts_with_0_1_2_2_second_waits():
    options = APIConnectOptions()

    assert options == DEFAULT_API_CONNECT_OPTIONS
    assert (options.max_retry, options.retry_interval, options.timeout) == (3, 2.0, 10.0)
    assert options.max_attempts == 4
    waits = [options.interval_for_retry(n) for n in range(options.max_retry)]
    assert waits == [0.1, 2.0, 2.0]


@pytest.mark.spec("RETRY-4")
def test_max_retry_zero_means_one_request():
    assert APIConnectOptions(max_retry=0).max_attempts == 1


@pytest.mark.spec("RETRY-4")
@given(
    num_retries=st.integers(min_value=0, max_value=1000),
    retry_interval=st.floats(min_value=0, max_value=3600, allow_nan=False),
)
def test_interval_is_0_1_s_for_the_first_retry_then_retry_interval(
    num_retries: int, retry_interval: float
):
    options = APIConnectOptions(retry_interval=retry_interval)

    expected = 0.1 if num_retries == 0 else retry_interval
    assert options.interval_for_retry(num_retries) == expected


@pytest.mark.spec("RETRY-4")
@given(
    num_retries=st.integers(min_value=0, max_value=10),
    # Realistic waits: subnormal intervals lose precision when scaled, which says nothing about
    # the formula.
    retry_interval=st.just(0.0) | st.floats(min_value=1e-3, max_value=3600),
    time_scale=st.floats(min_value=1e-6, max_value=100, allow_nan=False),
)
def test_time_scale_multiplies_the_wait(num_retries: int, retry_interval: float, time_scale: float):
    options = APIConnectOptions(retry_interval=retry_interval)

    scaled = options.interval_for_retry(num_retries, time_scale=time_scale)

    assert math.isclose(scaled, options.interval_for_retry(num_retries) * time_scale)
    # The harness divides a measured wait by the scale to get back the nominal one.
    assert math.isclose(scaled / time_scale, options.interval_for_retry(num_retries))


def test_time_scale_compresses_the_default_schedule():
    waits = [DEFAULT_API_CONNECT_OPTIONS.interval_for_retry(n, time_scale=0.01) for n in range(3)]

    assert waits == pytest.approx([0.001, 0.02, 0.02])


@pytest.mark.parametrize(
    ("kwargs", "error", "names"),
    [
        ({"num_retries": -1}, ValueError, "num_retries must be >= 0"),
        ({"num_retries": True}, TypeError, "num_retries"),
        ({"num_retries": 1.0}, TypeError, "num_retries"),
        ({"num_retries": 1, "time_scale": 0}, ValueError, "time_scale must be > 0"),
        ({"num_retries": 1, "time_scale": -0.5}, ValueError, "time_scale must be > 0"),
        ({"num_retries": 1, "time_scale": float("nan")}, ValueError, "time_scale"),
        ({"num_retries": 1, "time_scale": float("inf")}, ValueError, "time_scale"),
        ({"num_retries": 1, "time_scale": True}, TypeError, "time_scale"),
    ],
)
def test_interval_for_retry_rejects_bad_arguments(
    kwargs: dict[str, Any], error: type[Exception], names: str
):
    with pytest.raises(error, match=names):
        DEFAULT_API_CONNECT_OPTIONS.interval_for_retry(**kwargs)


@pytest.mark.parametrize(
    ("field", "value", "error", "message"),
    [
        ("max_retry", -1, ValueError, "max_retry must be >= 0, got -1"),
        ("retry_interval", -0.5, ValueError, "retry_interval must be >= 0, got -0.5"),
        ("timeout", -10, ValueError, "timeout must be >= 0, got -10"),
        ("retry_interval", float("nan"), ValueError, "retry_interval must be finite, got nan"),
        ("timeout", float("inf"), ValueError, "timeout must be finite, got inf"),
        ("max_retry", True, TypeError, "max_retry must be an int, got bool"),
        ("max_retry", 3.0, TypeError, "max_retry must be an int, got float"),
        ("max_retry", "3", TypeError, "max_retry must be an int, got str"),
        ("retry_interval", "2", TypeError, "retry_interval must be a number, got str"),
        ("retry_interval", False, TypeError, "retry_interval must be a number, got bool"),
        ("timeout", None, TypeError, "timeout must be a number, got NoneType"),
    ],
)
def test_options_validation_names_the_field(
    field: str, value: object, error: type[Exception], message: str
):
    with pytest.raises(error) as caught:
        APIConnectOptions(**{field: value})

    assert str(caught.value) == message


def test_options_accept_zero_and_normalise_numbers_to_float():
    options = APIConnectOptions(max_retry=0, retry_interval=0, timeout=5)

    assert (options.max_retry, options.retry_interval, options.timeout) == (0, 0.0, 5.0)
    assert isinstance(options.retry_interval, float)
    assert isinstance(options.timeout, float)
    assert options == APIConnectOptions(max_retry=0, retry_interval=0.0, timeout=5.0)


def test_options_are_frozen_and_hashable():
    options = APIConnectOptions()

    with pytest.raises(dataclasses.FrozenInstanceError):
        options.max_retry = 5  # type: ignore[misc]
    assert hash(options) == hash(APIConnectOptions(3, 2.0, 10.0))
    assert dataclasses.replace(options, max_retry=0).max_retry == 0
    with pytest.raises(ValueError, match="max_retry"):
        dataclasses.replace(options, max_retry=-2)
