"""Client direction, STT: hostile servers for ``stt.stream`` (SPEC §6a CLI-ROB-1, §3.3 STT-END-1).

The simulator plays an example of :mod:`voicewire.suites.robustness.stt_streams` on the client
IUT's one STT session: the exact text frames of each place of the session, through its fault
vocabulary (``malformed`` lines, ``binary_frame``, ``ws_close`` with a code, ``disconnect``
resets, ``drop``, ``stall``). The client gets ``max_retry = 0``, so the error the stream ends
with is the one attempt's, pushes audio up to the last segment's end and ends its input (once
the attempt failed, when the example closes the connection before ``session.finalize``).

What every example is judged on:

- the stream ends (never a hang: the operation's ``end_timeout`` is not reached) with no error
  or with one of the APIError family (CLI-ROB-1);
- it ends in an error exactly when the example requires one: malformed data (not JSON, not an
  object, no usable ``type``, a field of the wrong type, a transcript missing a required field,
  a binary frame) is an ``APIConnectionError`` (LLM-ROB-1 through CLI-ROB-1); a close before
  the finalize a retryable ``APIStatusError`` (STT-END-1); a close after it a clean end; unknown
  keys and message types are ignored and the stream completes (CLI-ROB-1);
- the finals the consumer saw are the well-formed finals sent before the hostile point (all of
  them when the stream completes, a prefix when it fails): a client never takes a broken
  message for a transcript.
"""

from __future__ import annotations

from typing import Any

import pytest
from voicewire.harness.iut import ConnOptions
from voicewire.harness.replay import classify, property_family
from voicewire.harness.stt import PushAudioStep, STTOutcome
from voicewire.harness.verdicts import expect
from voicewire.simulators.scenario import parse_scenario
from voicewire.suites.robustness.stt_streams import (
    API_ERRORS,
    HOSTILE_MESSAGE_BOUNDARIES,
    SILENCE_BOUNDARIES,
    UNKNOWN_MESSAGE_BOUNDARIES,
    audio_seconds,
    hostile_messages,
    silences,
    stt_scenario,
    unknown_messages,
)

MODEL = "deepgram/nova-3"
RATE = 16000
END_TIMEOUT = 10.0
"""Seconds the stream may take to end after the script: far beyond any example's pauses, so a
stream still open then hangs (CLI-ROB-1)."""


def _script(example: dict[str, Any]) -> list[Any]:
    samples = round(audio_seconds(example) * RATE)
    steps: list[Any] = [PushAudioStep.of(bytes(2 * samples), RATE, frame_ms=50.0)]
    if example["wait_for_error"]:
        # The close must come before session.finalize: end the input only once it did.
        steps.append({"op": "wait_event", "event": "error", "timeout": END_TIMEOUT})
    steps.append({"op": "end_input"})
    return steps


def _outcome_class(outcome: STTOutcome) -> str:
    error = outcome.error
    if error is None:
        return "completed"
    return error.kind


def judge(outcome: STTOutcome, example: dict[str, Any]) -> None:
    """Every expectation of one example (see the module docstring)."""
    want = example["expect"]
    rule = want["rule"]
    what = f"{example['family']}: {example['what']}"
    error = outcome.error
    classify(f"{example['family']} → {_outcome_class(outcome)}")
    if error is not None:
        hang = error.kind == "TimeoutError" and "did not end" in error.message
        expect(
            error.kind in API_ERRORS,
            "CLI-ROB-1",
            (
                f"{what}: the stream hung: it had not ended {END_TIMEOUT:g} s after the script"
                if hang
                else f"{what}: the stream must end with an error of the APIError family, it "
                f"ended with {error.kind}: {error.message[:300]}"
            )
            + f"\n{outcome.describe()}",
        )
    if want["outcome"] == "error":
        expect(
            error is not None,
            rule,
            f"{what}: the stream must end with an error ({want['kind'] or 'of the APIError family'}"
            f"), it completed\n{outcome.describe()}",
        )
    elif want["outcome"] == "complete":
        expect(
            error is None,
            rule,
            f"{what}: the stream must complete, it ended with "
            f"{error.kind if error else ''}: {error.message[:300] if error else ''}\n"
            f"{outcome.describe()}",
        )
    if error is not None and error.kind in API_ERRORS and want["kind"] is not None:
        expect(
            error.kind == want["kind"],
            rule,
            f"{what}: expected {want['kind']}, got {error.kind}: {error.message[:300]}",
        )
        if rule == "STT-END-1":
            expect(
                error.retryable is True,
                rule,
                f"{what}: a close before session.finalize must be retryable, got "
                f"retryable={error.retryable}\n{outcome.describe()}",
            )
    seen = [event.text for event in outcome.finals]
    if error is None:
        expect(
            seen == want["finals"],
            rule if want["outcome"] == "complete" else "CLI-ROB-1",
            f"{what}: expected the finals {want['finals']}, the consumer saw {seen}\n"
            f"{outcome.describe()}",
        )
    else:
        expect(
            seen == want["finals"][: len(seen)],
            "CLI-ROB-1",
            f"{what}: the consumer saw the finals {seen}, which are not a prefix of the "
            f"well-formed finals sent before the hostile point {want['finals']}\n"
            f"{outcome.describe()}",
        )


def check(iut: Any, simulator: Any, example: dict[str, Any]) -> None:
    """Play ``example`` on one stream of the client under test and judge it."""
    target = simulator.session(parse_scenario(stt_scenario(example)))
    outcome = iut.transcribe(
        target=target,
        model=MODEL,
        sample_rate=RATE,
        script=_script(example),
        conn_options=ConnOptions(max_retry=0, retry_interval=0.0, timeout=example["timeout"]),
        end_timeout=END_TIMEOUT,
    )
    judge(outcome, example)


@pytest.mark.spec("CLI-ROB-1", "STT-END-1")
@pytest.mark.capability("stt.stream")
@property_family("hostile-stt-messages", hostile_messages(), boundaries=HOSTILE_MESSAGE_BOUNDARIES)
def test_hostile_stt_messages(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """Messages that are not JSON, not objects, mistyped or misshapen, binary frames, closes
    with any code and resets end the stream in an APIError (a close after the finalize
    cleanly), never another exception or a hang, and no broken message becomes a final."""
    check(voicewire_iut, voicewire_simulator, example)


@pytest.mark.spec("CLI-ROB-1")
@pytest.mark.capability("stt.stream")
@property_family("unknown-stt-messages", unknown_messages(), boundaries=UNKNOWN_MESSAGE_BOUNDARIES)
def test_unknown_stt_messages(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """Unknown keys in every message and word, and messages of unknown types anywhere, change
    nothing: the stream completes with every final."""
    check(voicewire_iut, voicewire_simulator, example)


@pytest.mark.spec("CLI-ROB-1")
@pytest.mark.capability("stt.stream")
@property_family("stt-silences", silences(), max_examples=2, boundaries=SILENCE_BOUNDARIES)
def test_stt_silences(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """Silence longer than the timeout at any point of a session never hangs the stream."""
    check(voicewire_iut, voicewire_simulator, example)
