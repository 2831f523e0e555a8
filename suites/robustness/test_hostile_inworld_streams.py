"""Client direction, Inworld: hostile servers for ``inworld.tts.http``, ``inworld.tts.stream``
and ``inworld.stt.stream`` (SPEC §6a CLI-ROB-1, §5.1 IW-HTTP-2, §5.2 IW-WS-4, §5.3
IW-STT-END-1).

The simulator plays an example of :mod:`voicewire.suites.robustness.inworld_streams` to the
client IUT: an HTTP synthesis's exact answer (a ``raw`` rule), a context's exact replies on the
TTS socket (``malformed`` faults replacing each reply, with the rest of the fault vocabulary),
or an STT stream's exact messages. The client gets one attempt (``max_retry = 0``), so the
error a synthesis or stream ends with is that attempt's.

What every synthesis (or stream) of an example is judged on:

- it ends (never a hang: the operation's ``end_timeout`` is not reached) with no error or with
  one of the APIError family (CLI-ROB-1);
- it ends in an error exactly when the example requires one, of the class it requires: an
  ``error`` line or a non-2xx answer is an ``APIStatusError`` (IW-HTTP-2), and so is an STT
  error frame; a socket close before ``contextClosed`` an ``APIConnectionError`` (IW-WS-4); a
  failing status fails its context only (IW-WS-4); malformed data is an ``APIConnectionError``
  (LLM-ROB-1 through CLI-ROB-1); a close before ``closeStream`` a retryable error
  (IW-STT-END-1, SHOULD); unparseable NDJSON lines, unknown keys, unknown message kinds and
  replies about unknown contexts change nothing (the synthesis completes);
- the audio the consumer saw is the well-formed audio sent before the hostile place: all of it,
  byte for byte, when the synthesis completes (IW-HTTP-2, IW-WS-5); a prefix of it when it
  fails (no broken message becomes audio, CLI-ROB-1); the finals likewise.
"""

from __future__ import annotations

from typing import Any

import pytest
from voicewire.harness.iut import ConnOptions
from voicewire.harness.replay import classify, property_family
from voicewire.harness.stt import PushAudioStep, STTOutcome
from voicewire.harness.tts import SynthesisOutcome
from voicewire.harness.verdicts import expect
from voicewire.simulators.scenario import parse_scenario
from voicewire.suites.robustness.inworld_streams import (
    API_ERRORS,
    CONTEXT_RATE,
    HOSTILE_INWORLD_CONTEXT_BOUNDARIES,
    HOSTILE_INWORLD_NDJSON_BOUNDARIES,
    HOSTILE_INWORLD_TRANSCRIPT_BOUNDARIES,
    hostile_inworld_contexts,
    hostile_inworld_ndjson,
    hostile_inworld_transcripts,
    inworld_contexts_scenario,
    inworld_example_audio,
    inworld_ndjson_scenario,
    inworld_transcribe_audio_seconds,
    inworld_transcribe_scenario,
)

END_TIMEOUT = 8.0
"""Seconds a synthesis or stream may take to end after its input: far beyond any example's
timeout, so one still open then hangs (CLI-ROB-1)."""
STT_RATE = 16000


def _outcome_class(error: Any) -> str:
    return "completed" if error is None else error.kind


def _ended_in_the_family(error: Any, what: str, shown: str) -> None:
    if error is None:
        return
    hang = error.kind == "TimeoutError" and "did not end" in error.message
    expect(
        error.kind in API_ERRORS,
        "CLI-ROB-1",
        (
            f"{what}: it hung: it had not ended {END_TIMEOUT:g} s after its input"
            if hang
            else f"{what}: it must end with an error of the APIError family, it ended with "
            f"{error.kind}: {error.message[:300]}"
        )
        + f"\n{shown}",
    )


def _outcome(error: Any, want: dict[str, Any], what: str, shown: str) -> None:
    rule = want["rule"]
    if want["outcome"] == "error":
        expect(
            error is not None,
            rule,
            f"{what}: it must end with an error ({want['kind'] or 'of the APIError family'}), "
            f"it completed\n{shown}",
        )
    elif want["outcome"] == "complete":
        expect(
            error is None,
            rule,
            f"{what}: it must complete, it ended with "
            f"{error.kind if error else ''}: {error.message[:300] if error else ''}\n{shown}",
        )
    if error is not None and error.kind in API_ERRORS and want["kind"] is not None:
        expect(
            error.kind == want["kind"],
            rule,
            f"{what}: expected {want['kind']}, got {error.kind}: {error.message[:300]}",
        )


def judge_inworld_synthesis(synthesis: SynthesisOutcome, want: dict[str, Any], what: str) -> None:
    """Every expectation of one synthesis (see the module docstring)."""
    error, shown = synthesis.error, synthesis.describe()
    _ended_in_the_family(error, what, shown)
    _outcome(error, want, what, shown)
    read_past = want["outcome"] == "error" and error is None
    if want["audio"] is None or read_past:
        return
    audio, sent = synthesis.audio, inworld_example_audio(want["audio"])
    if error is None:
        expect(
            audio == sent,
            "IW-WS-5"
            if want["rule"] == "IW-WS-4"
            else "IW-HTTP-2"
            if want["rule"] == "IW-HTTP-2"
            else "CLI-ROB-1",
            f"{what}: the emitted audio must be the server's well-formed audio exactly: "
            f"{len(sent)} bytes were sent, {len(audio)} emitted"
            + ("" if len(audio) != len(sent) else " (different bytes)")
            + f"\n{shown}",
        )
    else:
        expect(
            sent.startswith(audio),
            "CLI-ROB-1",
            f"{what}: the {len(audio)} bytes of audio emitted are not a prefix of the "
            f"{len(sent)} bytes of well-formed audio sent before the hostile place\n{shown}",
        )


def _options(example: dict[str, Any]) -> ConnOptions:
    return ConnOptions(max_retry=0, retry_interval=0.0, timeout=example["timeout"])


def check_ndjson(iut: Any, simulator: Any, example: dict[str, Any]) -> None:
    """Play ``example`` as the answer to one HTTP synthesis and judge it."""
    target = simulator.session(parse_scenario(inworld_ndjson_scenario(example)))
    outcome = iut.inworld_synthesize(
        target=target, texts=["a"], conn_options=_options(example), end_timeout=END_TIMEOUT
    )
    synthesis = outcome.only
    classify(f"{example['family']} → {_outcome_class(synthesis.error)}")
    judge_inworld_synthesis(synthesis, example["expect"], f"{example['family']}: {example['what']}")


def check_contexts(iut: Any, simulator: Any, example: dict[str, Any]) -> None:
    """Play ``example`` on the contexts of one TTS's socket and judge every stream."""
    target = simulator.session(parse_scenario(inworld_contexts_scenario(example)))
    outcome = iut.inworld_speak(
        target=target,
        script=example["script"],
        sample_rate=CONTEXT_RATE,
        conn_options=_options(example),
        end_timeout=END_TIMEOUT,
    )
    syntheses = outcome.syntheses
    what = f"{example['family']}: {example['what']}"
    classify(f"{example['family']} → {', '.join(_outcome_class(s.error) for s in syntheses)}")
    for index, (synthesis, want) in enumerate(zip(syntheses, example["expect"], strict=True)):
        where = what if len(syntheses) == 1 else f"{what}, stream {index}"
        judge_inworld_synthesis(synthesis, want, where)


def judge_inworld_transcripts(outcome: STTOutcome, example: dict[str, Any]) -> None:
    """Every expectation of one STT example (see the module docstring)."""
    want = example["expect"]
    rule = want["rule"]
    what = f"{example['family']}: {example['what']}"
    error, shown = outcome.error, outcome.describe()
    classify(f"{example['family']} → {_outcome_class(error)}")
    _ended_in_the_family(error, what, shown)
    _outcome(error, want, what, shown)
    if rule == "IW-STT-END-1" and error is not None and error.kind in API_ERRORS:
        expect(
            error.retryable is True,
            rule,
            f"{what}: a close before closeStream must be a retryable error, got "
            f"retryable={error.retryable}\n{shown}",
        )
    seen = [event.text for event in outcome.finals]
    if error is None and want["outcome"] != "error":
        expect(
            seen == want["finals"],
            "CLI-ROB-1" if rule == "IW-STT-END-1" else rule,
            f"{what}: expected the finals {want['finals']}, the consumer saw {seen}\n{shown}",
        )
    else:
        expect(
            seen == want["finals"][: len(seen)],
            "CLI-ROB-1",
            f"{what}: the consumer saw the finals {seen}, which are not a prefix of the "
            f"well-formed finals sent before the hostile point {want['finals']}\n{shown}",
        )


def check_transcripts(iut: Any, simulator: Any, example: dict[str, Any]) -> None:
    """Play ``example`` on one Inworld STT stream and judge it."""
    target = simulator.session(parse_scenario(inworld_transcribe_scenario(example)))
    samples = round(inworld_transcribe_audio_seconds(example) * STT_RATE)
    script: list[Any] = [PushAudioStep.of(bytes(2 * samples), STT_RATE, frame_ms=50.0)]
    if example["wait_for_error"]:
        # The close must come before closeStream: end the input only once it did.
        script.append({"op": "wait_event", "event": "error", "timeout": 3.0})
    script.append({"op": "end_input"})
    outcome = iut.inworld_transcribe(
        target=target,
        sample_rate=STT_RATE,
        script=script,
        conn_options=_options(example),
        end_timeout=END_TIMEOUT,
    )
    judge_inworld_transcripts(outcome, example)


@pytest.mark.spec("CLI-ROB-1", "IW-HTTP-2")
@pytest.mark.capability("inworld.tts.http")
@property_family(
    "hostile-inworld-ndjson",
    hostile_inworld_ndjson(),
    max_examples=20,
    boundaries=HOSTILE_INWORLD_NDJSON_BOUNDARIES,
)
def test_hostile_inworld_ndjson(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """Blank, unparseable and non-UTF-8 lines are skipped; lines of the wrong shape, error
    lines of any code, non-2xx answers, bodies reset mid-line and silence end the synthesis in
    an APIError of the right class; unknown keys and lines, a last line without a newline,
    CRLF, split writes and huge lines change nothing: never another exception or a hang."""
    check_ndjson(voicewire_iut, voicewire_simulator, example)


@pytest.mark.spec("CLI-ROB-1", "IW-WS-4", "IW-WS-5")
@pytest.mark.capability("inworld.tts.stream")
@property_family(
    "hostile-inworld-contexts",
    hostile_inworld_contexts(),
    max_examples=15,
    boundaries=HOSTILE_INWORLD_CONTEXT_BOUNDARIES,
)
def test_hostile_inworld_contexts(
    voicewire_iut: Any, voicewire_simulator: Any, example: Any
) -> None:
    """Replies that are not JSON, of the wrong shape or types, failing statuses of any code,
    binary frames, closes with any code and resets end the context's stream in an APIError,
    never another exception or a hang; replies about other contexts, unknown keys and kinds,
    and a close after ``contextClosed`` change nothing; a failing status fails only its
    context."""
    check_contexts(voicewire_iut, voicewire_simulator, example)


@pytest.mark.spec("CLI-ROB-1", "IW-STT-END-1")
@pytest.mark.capability("inworld.stt.stream")
@property_family(
    "hostile-inworld-transcripts",
    hostile_inworld_transcripts(),
    max_examples=15,
    boundaries=HOSTILE_INWORLD_TRANSCRIPT_BOUNDARIES,
)
def test_hostile_inworld_transcripts(
    voicewire_iut: Any, voicewire_simulator: Any, example: Any
) -> None:
    """Messages that are not JSON, of the wrong shape or types, error frames and binary frames
    end the stream in an APIError with only the finals before; a close or reset before
    ``closeStream`` ends it in time (a retryable error, SHOULD); unknown keys and kinds change
    nothing."""
    check_transcripts(voicewire_iut, voicewire_simulator, example)
