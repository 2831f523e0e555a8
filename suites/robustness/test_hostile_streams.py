"""Client direction: hostile streams (SPEC §2.4a LLM-ROB-1..3, §2.4 RETRY-1..3).

The simulator answers the client IUT's one request with an example's exact bytes (a ``raw``
rule: status, headers, body pieces written one by one with scripted pauses, then a clean end
or a reset), from :mod:`voicewire.suites.robustness.streams`. The client gets
``max_retry = 0``, so the error the stream ends with is the one attempt's (RETRY-5), and the
example's own ``timeout``.

What every example is judged on:

- the stream ends with no error, or with one of the APIError family (LLM-ROB-1), of the class
  the example requires (malformed data: ``APIConnectionError``, LLM-ROB-1; a non-2xx:
  ``APIStatusError`` with its status, RETRY-1; silence: ``APITimeoutError``, LLM-ROB-3);
- it ends in an error exactly when the example requires one, and completes when the example
  is well-formed (unknown keys: LLM-ROB-2; keep-alive floods: LLM-ROB-3);
- ``retryable`` is true exactly while the consumer has seen no visible output (RETRY-2; a
  status answer: per RETRY-3);
- the text the consumer saw is the text of the example's well-formed events (all of it when
  the stream completes, a prefix of it when it fails): a client never invents or repeats text.

A fallback adapter fails over on a hostile stream like on any other error (LLM-ROB-1).
"""

from __future__ import annotations

from typing import Any

import pytest
from voicewire.harness.llm import ChatOutcome, ConnOptions, FallbackSpec, LLMTarget
from voicewire.harness.replay import classify, property_family
from voicewire.harness.verdicts import expect
from voicewire.simulators.scenario import parse_scenario
from voicewire.suites.builders import user_context
from voicewire.suites.robustness.streams import (
    API_ERRORS,
    SLOW_BOUNDARIES,
    UNKNOWN_KEY_BOUNDARIES,
    hostile_bodies,
    hostile_body_boundaries,
    malformed_json,
    raw_rule,
    slow_streams,
    unknown_keys,
    wrong_type,
)

# Which rule an example's required outcome and error class come from.
_RULE = {
    "error_status": "RETRY-1",
    "unknown_keys": "LLM-ROB-2",
    "keepalive_flood": "LLM-ROB-3",
    "stall": "LLM-ROB-3",
}


def _rule(example: dict[str, Any]) -> str:
    return _RULE.get(example["family"], "LLM-ROB-1")


def _scenario(example: dict[str, Any], name: str = "hostile-stream") -> Any:
    # time_scale 1: an example's pauses are real seconds, measured against its timeout.
    return parse_scenario({"name": name, "rules": [raw_rule(example)], "time_scale": 1.0})


def _outcome_class(outcome: ChatOutcome) -> str:
    error = outcome.error
    if error is None:
        return "completed"
    flag = {True: "retryable", False: "not retryable", None: "no retryable flag"}
    return f"{error.kind} {flag[error.retryable]}"


def judge(outcome: ChatOutcome, example: dict[str, Any]) -> None:
    """Every expectation of one example (see the module docstring)."""
    want = example["expect"]
    rule = _rule(example)
    what = f"{example['family']}: {example['what']}"
    error = outcome.error
    classify(f"{example['family']} → {_outcome_class(outcome)}")
    if error is not None:
        expect(
            error.kind in API_ERRORS,
            "LLM-ROB-1",
            f"{what}: the stream must end with an error of the APIError family, it ended with "
            f"{error.kind}: {error.message[:300]}\n{outcome.describe()}",
        )
    if want["outcome"] == "error":
        expect(
            error is not None,
            rule,
            f"{what}: the stream must end with an error ({want['kind'] or 'of the APIError '}"
            f"{' family' if not want['kind'] else ''}), it completed\n{outcome.describe()}",
        )
    elif want["outcome"] == "complete":
        expect(
            error is None,
            rule,
            f"{what}: a well-formed stream must complete, it ended with "
            f"{error.kind if error else ''}: {error.message[:300] if error else ''}\n"
            f"{outcome.describe()}",
        )
    if error is not None and error.kind in API_ERRORS and want["kind"] is not None:
        expect(
            error.kind == want["kind"],
            rule,
            f"{what}: expected {want['kind']}, got {error.kind}: {error.message[:300]}",
        )
    if error is not None and want["status_code"] is not None:
        expect(
            error.status_code == want["status_code"],
            "RETRY-1",
            f"{what}: the APIStatusError must carry status {want['status_code']}, got "
            f"{error.status_code}",
        )
    if error is not None and error.kind in API_ERRORS and want["retryable"] != "any":
        visible = bool(outcome.text) or bool(outcome.tool_calls)
        if want["retryable"] == "per_output":
            retryable, flag_rule = not visible, "RETRY-2"
            why = "after visible output" if visible else "before any visible output"
        else:
            retryable, flag_rule = want["retryable"], "RETRY-3"
            why = f"for status {want['status_code']}"
        expect(
            error.retryable is retryable,
            flag_rule,
            f"{what}: {error.kind} {why} must have retryable={retryable}, got "
            f"{error.retryable}\n{outcome.describe()}",
        )
    if error is None:
        expect(
            outcome.text == want["text"],
            rule,
            f"{what}: expected the text {want['text']!r}, the consumer saw {outcome.text!r}",
        )
    else:
        expect(
            want["text"].startswith(outcome.text),
            "LLM-ROB-1",
            f"{what}: the consumer saw {outcome.text!r}, which is not a prefix of the "
            f"well-formed events' text {want['text']!r}",
        )
    if "tool_calls" in want and error is None:
        calls = [{"name": c.name, "arguments": c.arguments} for c in outcome.tool_calls]
        expect(
            calls == want["tool_calls"],
            rule,
            f"{what}: expected the tool calls {want['tool_calls']}, got {calls}",
        )


def _chat(iut: Any, target: Any, example: dict[str, Any]) -> ChatOutcome:
    return iut.chat(
        llm=target,
        chat_ctx=user_context("Hello"),
        conn_options=ConnOptions(max_retry=0, retry_interval=0.0, timeout=example["timeout"]),
    )


@pytest.mark.spec("LLM-ROB-1", "RETRY-1", "RETRY-2", "RETRY-3")
@pytest.mark.capability("llm.chat")
@property_family("hostile-bodies", hostile_bodies(), boundaries=hostile_body_boundaries())
def test_hostile_bodies(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """Malformed, mistyped, non-SSE, too deep, non-UTF-8, truncated or reset streams and error
    statuses end in the right error of the APIError family, retryable per RETRY-2/3."""
    target = voicewire_simulator.session(_scenario(example))
    judge(_chat(voicewire_iut, target, example), example)


@pytest.mark.spec("LLM-ROB-2")
@pytest.mark.capability("llm.chat")
@property_family("unknown-keys", unknown_keys(), boundaries=UNKNOWN_KEY_BOUNDARIES)
def test_unknown_keys(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """Unknown keys anywhere in a stream change nothing the consumer sees."""
    target = voicewire_simulator.session(_scenario(example))
    judge(_chat(voicewire_iut, target, example), example)


@pytest.mark.spec("LLM-ROB-3", "RETRY-1", "RETRY-2")
@pytest.mark.capability("llm.chat")
@property_family("slow-streams", slow_streams(), max_examples=8, boundaries=SLOW_BOUNDARIES)
def test_slow_streams(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """Keep-alives inside the timeout are waited out; silence longer than it is a timeout."""
    target = voicewire_simulator.session(_scenario(example))
    judge(_chat(voicewire_iut, target, example), example)


_FAILING_OVER = {
    "not-a-chunk": malformed_json(b"[1,2]"),
    "content-a-float": wrong_type("choices[0].delta.content", "float"),
    "usage-a-number": wrong_type("usage", "int"),
}


@pytest.mark.spec("LLM-ROB-1", "FALLBACK-1")
@pytest.mark.capability("llm.fallback")
@pytest.mark.parametrize("name", list(_FAILING_OVER))
def test_the_fallback_adapter_fails_over_on_a_hostile_stream(
    voicewire_iut: Any, voicewire_simulator: Any, name: str
) -> None:
    """A hostile stream before any output is an error like any other: the next LLM answers."""
    hostile = voicewire_simulator.session(_scenario(_FAILING_OVER[name], "hostile-first"))
    healthy = voicewire_simulator.session(
        parse_scenario({"name": "healthy-second", "rules": [{"reply": {"content": "Hello"}}]})
    )
    outcome = voicewire_iut.chat(
        fallback=FallbackSpec(
            llms=[LLMTarget.at(hostile, label="hostile"), LLMTarget.at(healthy, label="healthy")],
            attempt_timeout=5.0,
            max_retry_per_llm=0,
            retry_interval=0.0,
        ),
        chat_ctx=user_context("Hello"),
    )
    expect(
        outcome.error is None or outcome.error.kind in API_ERRORS,
        "LLM-ROB-1",
        f"the fallback adapter raised {outcome.error.kind if outcome.error else ''}\n"
        f"{outcome.describe()}",
    )
    hostile_failed = any(event.llm == "hostile" for event in outcome.errors)
    # Without an error from the first LLM there is nothing to fail over from: the client took
    # the hostile stream for an answer.
    expect(
        hostile_failed,
        "LLM-ROB-1",
        f"the first LLM's hostile stream ({_FAILING_OVER[name]['what']}) must fail with an "
        f"error event; it did not\n{outcome.describe()}",
    )
    if hostile_failed:
        expect(
            outcome.error is None and outcome.text == "Hello",
            "FALLBACK-1",
            f"after a hostile stream from the first LLM the second must answer 'Hello'\n"
            f"{outcome.describe()}",
        )
