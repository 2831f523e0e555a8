"""Property families for SPEC §2.4 (retries) and §2.5 (fallback).

``retry-semantics``: each example is a scripted reply plus a generated fault schedule (per
attempt: an error status, a reset after event ``k``, a malformed event ``k``, or success) and
``max_retry`` 0..3.
From the SPEC alone the check predicts how many requests the server gets, the ``recoverable``
flag of every error event and the ``retryable`` flag of its error, the text the consumer sees
(each attempt's visible text, never repeated) and how the stream ends (success, the error
itself, or ``APIConnectionError`` after N attempts; with ``max_retry = 0`` the single
attempt's error itself, RETRY-5).

``fallback``: one to three LLMs, each answering, failing before output or failing after its
first piece of text (on every request it gets), with or without ``retry_on_chunk_sent``. The
check predicts which LLMs are asked, the text, the ``available: false`` events and the raised
error.

Examples are JSON-ready (:func:`voicewire.suites.strategies.retry_examples`,
:func:`voicewire.suites.strategies.fallback_examples`), so a failing one replays with
``--voicewire-replay``. Retry waits are tiny here; RETRY-4's exact waits are checked by
``test_retry.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from voicewire.harness.llm import ConnOptions, FallbackSpec, LLMTarget
from voicewire.harness.replay import property_family
from voicewire.harness.verdicts import expect
from voicewire.simulators.scenario import (
    DisconnectFault,
    MalformedFault,
    StatusFault,
    parse_scenario,
)
from voicewire.suites.builders import user_context
from voicewire.suites.strategies import FALLBACK_LLMS, fallback_examples, retry_examples

RETRYABLE_CLIENT_ERRORS = frozenset({408, 429, 499})


def _pieces(content: str, size: int) -> list[str]:
    return [content[i : i + size] for i in range(0, len(content), size)]


def _visible_before(fault: Any, pieces: list[str]) -> str:
    """The text a stream has shown when ``fault`` (a disconnect or malformed event) hits it.

    Event 0 is the role-only chunk and event ``i`` (1..len(pieces)) carries piece ``i - 1``:
    a disconnect after event ``k`` leaves pieces up to ``k`` shown, a malformed event ``k``
    those before it.
    """
    shown = fault.at_event if isinstance(fault, DisconnectFault) else fault.at_event - 1
    return "".join(pieces[: max(0, shown)])


@dataclass
class _Attempt:
    """One predicted attempt: whether it fails, and if so how and why it is (not) retried."""

    failed: bool
    retryable: bool = False
    rule: str = "RETRY-4"  # the requirement deciding whether a retry follows this attempt
    flag_rule: str = "RETRY-2"  # the requirement deciding its error's retryable flag
    text: str = ""
    status_code: int | None = None
    kind: str | None = None


def _describe(attempts: list[_Attempt]) -> str:
    """Predicted attempts, one clause each, e.g. ``1: 503 retryable; 2: ok``."""
    clauses = []
    for number, attempt in enumerate(attempts, start=1):
        if not attempt.failed:
            clauses.append(f"{number}: ok")
            continue
        what = attempt.status_code or f"{attempt.kind} after {attempt.text!r}"
        clauses.append(f"{number}: {what} {'retryable' if attempt.retryable else 'final'}")
    return "; ".join(clauses)


@dataclass
class _RetryPrediction:
    attempts: list[_Attempt] = field(default_factory=list)
    text: str = ""
    raised_kind: str | None = None
    raised_status: int | None = None
    exhausted: bool = False


def _predict_retry(example: dict[str, Any]) -> _RetryPrediction:
    """What SPEC §2.4 prescribes for one example."""
    rule = parse_scenario(example["scenario"]).rules[0]
    max_retry = example["conn_options"]["max_retry"]
    pieces = _pieces(rule.reply.content, rule.reply.fragmentation.size)
    prediction = _RetryPrediction()
    for number in range(1, max_retry + 2):
        faults = rule.faults_for(number)
        if not faults:
            prediction.attempts.append(_Attempt(failed=False, text=rule.reply.content))
            prediction.text += rule.reply.content
            return prediction
        (fault,) = faults
        if isinstance(fault, StatusFault):
            code = fault.code
            client_error = 400 <= code <= 499
            attempt = _Attempt(
                failed=True,
                retryable=not client_error or code in RETRYABLE_CLIENT_ERRORS,
                rule="RETRY-3" if client_error else "RETRY-4",
                flag_rule="RETRY-3" if client_error else "RETRY-2",
                status_code=code,
                kind="APIStatusError",
            )
        else:
            assert isinstance(fault, (DisconnectFault, MalformedFault))
            shown = _visible_before(fault, pieces)
            attempt = _Attempt(
                failed=True,
                retryable=not shown,
                rule="RETRY-2" if not shown else "RETRY-6",
                text=shown,
                kind="APIConnectionError",
            )
        prediction.attempts.append(attempt)
        prediction.text += attempt.text
        if not attempt.retryable:
            prediction.raised_kind = attempt.kind
            prediction.raised_status = attempt.status_code
            return prediction
    # Every allowed attempt failed with a retryable error.
    prediction.exhausted = True
    prediction.attempts[-1].rule = "RETRY-4"
    if max_retry > 0:
        prediction.raised_kind = "APIConnectionError"
    else:
        # RETRY-5: the error of the single attempt of max_retry = 0 is raised as itself
        # (nothing was retried, so nothing was exhausted).
        prediction.exhausted = False
        prediction.raised_kind = prediction.attempts[-1].kind
        prediction.raised_status = prediction.attempts[-1].status_code
    return prediction


def _retry_boundary(
    content: str, faults: list[dict[str, Any]], max_retry: int, retry_interval: float
) -> dict[str, Any]:
    reply = {"content": content, "fragmentation": {"strategy": "fixed", "size": 4}}
    return {
        "scenario": {
            "name": "retry-semantics",
            "time_scale": 0.01,
            "rules": [{"reply": reply, "faults": faults}],
        },
        "conn_options": {"max_retry": max_retry, "retry_interval": retry_interval, "timeout": 5.0},
    }


RETRY_BOUNDARIES = [
    # max_retry 0: one request, its own error raised.
    _retry_boundary("Hi!", [{"kind": "status", "code": 503, "attempt": 1}], 0, 0.0),
    # A zero retry_interval: 0.1 s before the first retry, none before the second.
    _retry_boundary(
        "Hi!",
        [
            {"kind": "status", "code": 503, "attempt": 1},
            {"kind": "disconnect", "mode": "reset", "at_event": 0, "attempt": 2},
        ],
        2,
        0.0,
    ),
    # Every allowed attempt fails: exhausted exactly at max_retry + 1 requests.
    _retry_boundary("Hello world", [{"kind": "status", "code": 500}], 2, 0.01),
    # A failure right after the first visible piece: never retried.
    _retry_boundary(
        "Hello world", [{"kind": "disconnect", "mode": "reset", "at_event": 1}], 3, 0.0
    ),
    # An empty reply: a failure at its very end still has no visible output before it.
    _retry_boundary(
        "", [{"kind": "disconnect", "mode": "reset", "at_event": 2, "attempt": 1}], 1, 0.0
    ),
]
"""The shallow edges of the retry family, run every time before the generated examples."""


def _fallback_boundary(
    behaviours: list[list[dict[str, Any]]], retry_on_chunk_sent: bool
) -> dict[str, Any]:
    llms = FALLBACK_LLMS[: len(behaviours)]
    rules = [
        {
            "match": {"model": model.replace(".", r"\.")},
            "reply": {
                "content": f"{label} answers: all good.",
                "fragmentation": {"strategy": "fixed", "size": 8},
            },
            "faults": faults,
        }
        for (label, model), faults in zip(llms, behaviours, strict=True)
    ]
    return {
        "scenario": {"name": "fallback", "time_scale": 0.01, "rules": rules},
        "llms": [{"label": label, "model": model} for label, model in llms],
        "retry_on_chunk_sent": retry_on_chunk_sent,
    }


FALLBACK_BOUNDARIES = [
    # One LLM that fails: nothing to fall back to (FALLBACK-3).
    _fallback_boundary([[{"kind": "status", "code": 503}]], False),
    # The last of three answers after two failures before output.
    _fallback_boundary(
        [
            [{"kind": "status", "code": 500}],
            [{"kind": "disconnect", "mode": "reset", "at_event": 0}],
            [],
        ],
        False,
    ),
    # A failure after output, with and without retry_on_chunk_sent.
    _fallback_boundary([[{"kind": "disconnect", "mode": "reset", "at_event": 1}], []], True),
    _fallback_boundary([[{"kind": "disconnect", "mode": "reset", "at_event": 1}], []], False),
]
"""The shallow edges of the fallback family, run every time before the generated examples."""


@pytest.mark.spec("RETRY-2", "RETRY-3", "RETRY-4", "RETRY-5", "RETRY-6", "RETRY-7")
@pytest.mark.capability("llm.chat")
@property_family("retry-semantics", retry_examples(), boundaries=RETRY_BOUNDARIES)
def test_retry_semantics(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """Requests, error events, text and outcome match the SPEC for any fault schedule."""
    prediction = _predict_retry(example)
    target = voicewire_simulator.session(parse_scenario(example["scenario"]))
    outcome = voicewire_iut.chat(
        llm=target,
        chat_ctx=user_context("Hello"),
        conn_options=ConnOptions(**example["conn_options"]),
    )
    bodies = [request["body"] for request in voicewire_simulator.requests(target)]
    # The schedule's faults count identical bodies: a retry with another body replays
    # attempt 1's fault, so RETRY-7 comes first lest another rule take the blame.
    expect(
        all(body == bodies[0] for body in bodies),
        "RETRY-7",
        f"a retry sent a different body ({len(bodies)} requests):\n{outcome.describe()}",
    )
    requests = len(bodies)
    attempts = prediction.attempts
    if requests > len(attempts):
        # It went on past the attempt the SPEC ends with: that attempt's rule is broken.
        expect(
            False,
            attempts[-1].rule,
            f"expected {len(attempts)} request(s), the server got {requests}; predicted: "
            f"{_describe(attempts)}\n{outcome.describe()}",
        )
    if requests < len(attempts):
        # It gave up after an attempt the SPEC retries.
        stopped = attempts[max(requests, 1) - 1]
        expect(
            False,
            sorted({stopped.rule, "RETRY-4"}),
            f"expected {len(attempts)} request(s), the server got {requests}; predicted: "
            f"{_describe(attempts)}\n{outcome.describe()}",
        )
    failed = [a for a in attempts if a.failed]
    flags = [e.recoverable for e in outcome.errors]
    # Recoverable while another attempt follows: every failure but a final one.
    expected_flags = [True] * len(failed)
    if attempts[-1].failed:
        expected_flags[-1] = False
    expect(
        flags == expected_flags,
        "RETRY-5",
        f"error events' recoverable flags: expected {expected_flags}, got {flags}\n"
        f"{outcome.describe()}",
    )
    for number, (event, attempt) in enumerate(zip(outcome.errors, failed, strict=False), start=1):
        expect(
            event.error.retryable is attempt.retryable,
            attempt.flag_rule,
            f"attempt {number} ({attempt.kind} {attempt.status_code or ''}, text before it "
            f"{attempt.text!r}) must have retryable={attempt.retryable}, got "
            f"{event.error.retryable}",
        )
    expect(
        outcome.text == prediction.text,
        "RETRY-6",
        f"the consumer must see each attempt's visible text once: expected "
        f"{prediction.text!r}, got {outcome.text!r}\n{outcome.describe()}",
    )
    raised = outcome.error
    if not attempts[-1].failed:
        expect(raised is None, "RETRY-5", f"the last attempt succeeded, yet {raised} was raised")
        return
    expect(raised is not None, "RETRY-5", "the last attempt failed, yet the stream ended cleanly")
    assert raised is not None
    if prediction.raised_kind is not None:
        expect(
            raised.kind == prediction.raised_kind
            and (
                prediction.raised_status is None or raised.status_code == prediction.raised_status
            ),
            "RETRY-5",
            f"expected {prediction.raised_kind} {prediction.raised_status or ''} to be raised, "
            f"got {raised}",
        )
    if prediction.exhausted and prediction.raised_kind is not None:
        expect(
            f"after {len(attempts)} attempts" in raised.message,
            "RETRY-5",
            f"exhaustion raises 'failed ... after {len(attempts)} attempts', got "
            f"{raised.message!r}",
        )


# -- fallback ---------------------------------------------------------------------------------


@dataclass
class _FallbackPrediction:
    asked: list[str] = field(default_factory=list)
    down: list[str] = field(default_factory=list)  # failed before output: available false
    text: str = ""
    raised_kind: str | None = None
    after_output: bool = False  # some LLM failed after output, so FALLBACK-2 decided the text
    why: dict[str, str] = field(default_factory=dict)  # label -> rule deciding the next step


def _predict_fallback(example: dict[str, Any]) -> _FallbackPrediction:
    """What SPEC §2.5 prescribes for one example (each LLM asked at most once)."""
    scenario = parse_scenario(example["scenario"])
    prediction = _FallbackPrediction()
    for rule, llm in zip(scenario.rules, example["llms"], strict=True):
        label = llm["label"]
        prediction.asked.append(label)
        content = rule.reply.content
        if not rule.faults:
            prediction.text += content
            prediction.why[label] = "FALLBACK-1"
            return prediction
        (fault,) = rule.faults
        shown = (
            ""
            if isinstance(fault, StatusFault)
            else _visible_before(fault, _pieces(content, rule.reply.fragmentation.size))
        )
        if not shown:
            prediction.down.append(label)
            prediction.why[label] = "FALLBACK-1"
            continue
        prediction.text += shown
        prediction.after_output = True
        prediction.why[label] = "FALLBACK-2"
        if not example["retry_on_chunk_sent"]:
            prediction.raised_kind = "APIConnectionError"  # the reset, raised as is
            return prediction
    prediction.raised_kind = "APIConnectionError"  # FALLBACK-3
    prediction.why["*"] = "FALLBACK-3"
    return prediction


@pytest.mark.spec("FALLBACK-1", "FALLBACK-2", "FALLBACK-3")
@pytest.mark.capability("llm.fallback")
@property_family("fallback", fallback_examples(), boundaries=FALLBACK_BOUNDARIES)
def test_fallback_semantics(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """Which LLMs are asked, the text, availability and the outcome match the SPEC."""
    prediction = _predict_fallback(example)
    scenario = parse_scenario(example["scenario"])
    targets = [
        LLMTarget.at(voicewire_simulator.session(scenario), model=llm["model"], label=llm["label"])
        for llm in example["llms"]
    ]
    outcome = voicewire_iut.chat(
        fallback=FallbackSpec(llms=targets, retry_on_chunk_sent=example["retry_on_chunk_sent"]),
        chat_ctx=user_context("Hello"),
    )
    previous = None
    for llm, target in zip(example["llms"], targets, strict=True):
        label = llm["label"]
        count = len(voicewire_simulator.requests(target))
        should = label in prediction.asked
        # Whether an LLM is asked is decided by what the one before it did.
        rule = prediction.why.get(previous, "FALLBACK-1") if previous else "FALLBACK-1"
        expect(
            bool(count) == should,
            rule,
            f"{label} must {'' if should else 'not '}be asked (predicted order "
            f"{prediction.asked}); availability {outcome.availability}\n{outcome.describe()}",
        )
        # Asked once (max_retry_per_llm is 0); a background probe of a failed LLM may add one.
        expect(
            not should or count <= 2,
            rule,
            f"{label} must be asked once (at most one more request for a background probe), "
            f"got {count} requests\n{outcome.describe()}",
        )
        previous = label
    expect(
        outcome.text == prediction.text,
        "FALLBACK-2" if prediction.after_output else "FALLBACK-1",
        f"expected text {prediction.text!r}, got {outcome.text!r}\n{outcome.describe()}",
    )
    marked_down = {e.llm for e in outcome.availability if not e.available}
    missing = [label for label in prediction.down if label not in marked_down]
    expect(
        not missing,
        "FALLBACK-1",
        f"{missing} failed before output and must be marked unavailable; availability events: "
        f"{outcome.availability}",
    )
    raised = outcome.error
    if prediction.raised_kind is None:
        expect(raised is None, "FALLBACK-1", f"an LLM answered, yet {raised} was raised")
    else:
        expect(
            raised is not None and raised.kind == prediction.raised_kind,
            "FALLBACK-3" if "*" in prediction.why else "FALLBACK-2",
            f"expected {prediction.raised_kind} to be raised, got {raised}",
        )
