"""Client direction, TTS: hostile servers for ``tts.stream`` and ``tts.synthesize`` (SPEC §6a
CLI-ROB-1, §4 TTS-OUT-1, TTS-OUT-2).

The simulator plays an example of :mod:`voicewire.suites.robustness.tts_streams` on the client
IUT's TTS connection: the exact text frames of each place of the connection, through its fault
vocabulary (``malformed`` lines, ``binary_frame``, ``ws_close`` with a code, ``disconnect``
resets, ``drop``, ``stall``). The client gets ``max_retry = 0``, so the error a synthesis ends
with is its one attempt's, and plays each synthesis's script: one letter, then the input's
end (the letter flushed and the end held back until the synthesis failed, where the example
places ``done`` before the flush); ``tts.synthesize`` gets the letter as its text.

What every synthesis of an example is judged on:

- it ends (never a hang: the operation's ``end_timeout`` is not reached) with no error or with
  one of the APIError family (CLI-ROB-1);
- it ends in an error exactly when the example requires one, of the class it requires:
  malformed data (not JSON, not an object, no usable ``type``, a field of the wrong type or a
  required one missing, audio that is no base64 or ends inside a sample, a binary frame) is an
  ``APIConnectionError`` (LLM-ROB-1 through CLI-ROB-1); an ``error`` message any error of the
  family, a close before ``done`` an ``APIStatusError``, silence for ``timeout`` an
  ``APITimeoutError`` (TTS-OUT-2); a close after ``done``, unknown keys and message types
  change nothing (the synthesis completes); where SPEC leaves the choice (a frame over the
  message size, ``done`` before any audio or before the flush, a message without
  ``session_id``, what a pooled socket carries into the next synthesis) either end is right;
- a synthesis that failed before emitting any audio failed with a retryable error (TTS-OUT-2;
  malformed data per LLM-ROB-1 through CLI-ROB-1);
- the audio the consumer saw is the well-formed audio sent before the hostile place: all of it,
  byte for byte, in frames at the session's rate, mono, the last one and only it final, each
  with the server's ``session_id`` as segment id, when the synthesis completes (TTS-OUT-1); a
  prefix of it when it fails (no broken message becomes audio, CLI-ROB-1).
"""

from __future__ import annotations

from typing import Any

import pytest
from voicewire.harness.events import describe_events
from voicewire.harness.iut import ConnOptions
from voicewire.harness.replay import classify, property_family
from voicewire.harness.tts import SynthesisOutcome, TTSAudioEvent, TTSOutcome
from voicewire.harness.verdicts import expect
from voicewire.simulators.scenario import parse_scenario
from voicewire.suites.robustness.tts_streams import (
    API_ERRORS,
    HOSTILE_SYNTHESIZE_BOUNDARIES,
    HOSTILE_TTS_MESSAGE_BOUNDARIES,
    SYNTHESIS_END_BOUNDARIES,
    TTS_SILENCE_BOUNDARIES,
    UNKNOWN_TTS_MESSAGE_BOUNDARIES,
    expected_audio,
    hostile_tts_messages,
    synthesis_ends,
    tts_scenario,
    tts_silences,
    unknown_tts_messages,
)
from voicewire.suites.tts.wire_log import MODEL, RATE

_RULES = ("CLI-ROB-1", "TTS-OUT-1", "TTS-OUT-2")
"""What every family is judged on (see the module docstring)."""


def _describe(synthesis: SynthesisOutcome, limit: int = 30) -> str:
    """The synthesis's events one per line, an audio frame as its size (never its PCM)."""
    lines = []
    for event in synthesis.events[:limit]:
        if isinstance(event, TTSAudioEvent):
            final = " final" if event.is_final else ""
            lines.append(
                f"  {event.t:7.3f} tts.audio {len(event.audio)} bytes{final} "
                f"segment_id={event.segment_id!r}"
            )
        else:
            lines.append(describe_events([event], 1))
    if len(synthesis.events) > limit:
        lines.append(f"  ... {len(synthesis.events) - limit} more events")
    return "\n".join(lines)


def _outcome_class(synthesis: SynthesisOutcome) -> str:
    error = synthesis.error
    return "completed" if error is None else error.kind


def judge_synthesis(
    synthesis: SynthesisOutcome, want: dict[str, Any], what: str, end_timeout: float
) -> None:
    """Every expectation of one synthesis of an example (see the module docstring)."""
    rule = want["rule"]
    error = synthesis.error
    frames = synthesis.frames
    emitted = any(frame.audio for frame in frames)
    if error is not None:
        hang = error.kind == "TimeoutError" and "did not end" in error.message
        expect(
            error.kind in API_ERRORS,
            "CLI-ROB-1",
            (
                f"{what}: the synthesis hung: it had not ended {end_timeout:g} s after its input"
                if hang
                else f"{what}: the synthesis must end with an error of the APIError family, "
                f"it ended with {error.kind}: {error.message[:300]}"
            )
            + f"\n{_describe(synthesis)}",
        )
    if want["outcome"] == "error":
        expect(
            error is not None,
            rule,
            f"{what}: the synthesis must end with an error ("
            f"{want['kind'] or 'of the APIError family'}), it completed\n{_describe(synthesis)}",
        )
    elif want["outcome"] == "complete":
        expect(
            error is None,
            rule,
            f"{what}: the synthesis must complete, it ended with "
            f"{error.kind if error else ''}: {error.message[:300] if error else ''}\n"
            f"{_describe(synthesis)}",
        )
    if error is not None and error.kind in API_ERRORS:
        if want["kind"] is not None:
            expect(
                error.kind == want["kind"],
                rule,
                f"{what}: expected {want['kind']}, got {error.kind}: {error.message[:300]}",
            )
        # Before any audio every failure is retryable: TTS-OUT-2 says so of an error, a close
        # and a timeout, LLM-ROB-1 (per RETRY-2, through CLI-ROB-1) of malformed data. After
        # audio SPEC pins no flag (TTS-OUT-2 still says retryable, RETRY-2 would say not):
        # what matters then is that nothing is retried, TTS-RETRY-1, which the TTS suite's
        # retry cases judge.
        if not emitted:
            expect(
                error.retryable is True,
                "TTS-OUT-2" if rule == "TTS-OUT-2" else "CLI-ROB-1",
                f"{what}: a synthesis that failed before emitting audio must end with a "
                f"retryable error, got {error.kind} retryable={error.retryable}\n"
                f"{_describe(synthesis)}",
            )
    _judge_audio(synthesis, want, what)


def _judge_audio(synthesis: SynthesisOutcome, want: dict[str, Any], what: str) -> None:
    frames = synthesis.frames
    expect(
        all(frame.sample_rate == RATE and frame.num_channels == 1 for frame in frames),
        "TTS-OUT-1",
        f"{what}: every frame must be mono at the session's {RATE} Hz, got "
        f"{sorted({(f.sample_rate, f.num_channels) for f in frames})}",
    )
    # A synthesis that completed where it had to fail read past the hostile place: that is
    # reported (CLI-ROB-1), and what it emitted from there is judged no further.
    read_past = want["outcome"] == "error" and synthesis.error is None
    if want["segment_id"] is not None and not read_past:
        expect(
            all(frame.segment_id == want["segment_id"] for frame in frames),
            "TTS-OUT-1",
            f"{what}: every frame's segment id must be the server's session_id "
            f"{want['segment_id']!r}, got {synthesis.segment_ids}",
        )
    if synthesis.error is None and frames:
        finals = [index for index, frame in enumerate(frames) if frame.is_final]
        expect(
            finals == [len(frames) - 1],
            "TTS-OUT-1",
            f"{what}: a completed synthesis marks its last frame final and no other; the "
            f"final frames are {finals} of {len(frames)}\n{_describe(synthesis)}",
        )
    if want["audio"] is None or read_past:
        return
    audio, sent = synthesis.audio, expected_audio(want["audio"])
    if synthesis.error is None:
        expect(
            audio == sent,
            "TTS-OUT-1",
            f"{what}: the emitted audio must be the server's well-formed audio exactly: "
            f"{len(sent)} bytes were sent, {len(audio)} emitted"
            + ("" if len(audio) != len(sent) else " (different bytes)")
            + f"\n{_describe(synthesis)}",
        )
    else:
        expect(
            sent.startswith(audio),
            "CLI-ROB-1",
            f"{what}: the {len(audio)} bytes of audio emitted are not a prefix of the "
            f"{len(sent)} bytes of well-formed audio sent before the hostile place\n"
            f"{_describe(synthesis)}",
        )


def judge(outcome: TTSOutcome, example: dict[str, Any]) -> None:
    """Every expectation of every synthesis of one example."""
    what = f"{example['family']}: {example['what']}"
    syntheses = outcome.syntheses
    classify(f"{example['family']} → {', '.join(_outcome_class(s) for s in syntheses)}")
    for index, (synthesis, want) in enumerate(zip(syntheses, example["expect"], strict=True)):
        where = what if len(syntheses) == 1 else f"{what}, synthesis {index + 1}"
        judge_synthesis(synthesis, want, where, example["end_timeout"])


def _options(example: dict[str, Any]) -> ConnOptions:
    return ConnOptions(max_retry=0, retry_interval=0.0, timeout=example["timeout"])


def check(iut: Any, simulator: Any, example: dict[str, Any]) -> None:
    """Play ``example`` on the streaming syntheses of the client under test and judge it."""
    target = simulator.session(parse_scenario(tts_scenario(example)))
    outcome = iut.speak(
        target=target,
        model=MODEL,
        sample_rate=RATE,
        streams=example["streams"],
        conn_options=_options(example),
        end_timeout=example["end_timeout"],
    )
    judge(outcome, example)


def synthesize_texts(example: dict[str, Any]) -> list[str]:
    """The text of each synthesis of an example whose scripts push a letter and end: the
    letter."""
    texts = []
    for script in example["streams"]:
        pushed = [step["text"] for step in script if step["op"] == "push_text"]
        if len(pushed) != 1 or any(step["op"] == "wait_event" for step in script):
            raise ValueError(f"not an example synthesize can play: {example['what']}")
        texts.append(pushed[0])
    return texts


def check_synthesize(iut: Any, simulator: Any, example: dict[str, Any]) -> None:
    """Play ``example`` on ``synthesize`` of the client under test and judge it."""
    target = simulator.session(parse_scenario(tts_scenario(example)))
    outcome = iut.synthesize(
        target=target,
        model=MODEL,
        sample_rate=RATE,
        texts=synthesize_texts(example),
        conn_options=_options(example),
        end_timeout=example["end_timeout"],
    )
    judge(outcome, example)


@pytest.mark.spec(*_RULES)
@pytest.mark.capability("tts.stream")
@property_family(
    "hostile-tts-messages", hostile_tts_messages(), boundaries=HOSTILE_TTS_MESSAGE_BOUNDARIES
)
def test_hostile_tts_messages(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """Messages that are not JSON, not objects, mistyped or misshapen, audio that is no
    base64, binary and oversized frames, odd error messages, closes with any code and resets
    end the synthesis in an APIError of the right class (a close after done: completed), never
    another exception or a hang, and no broken message becomes audio."""
    check(voicewire_iut, voicewire_simulator, example)


@pytest.mark.spec(*_RULES)
@pytest.mark.capability("tts.synthesize")
@property_family(
    "hostile-tts-synthesize",
    hostile_tts_messages(),
    # The stream family's messages again, through the other operation: fewer suffice.
    max_examples=20,
    boundaries=HOSTILE_SYNTHESIZE_BOUNDARIES,
)
def test_hostile_tts_synthesize(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """The same hostile messages end ``synthesize(text)`` the same way."""
    check_synthesize(voicewire_iut, voicewire_simulator, example)


@pytest.mark.spec(*_RULES)
@pytest.mark.capability("tts.stream")
@property_family(
    "unknown-tts-messages",
    unknown_tts_messages(),
    max_examples=25,
    boundaries=UNKNOWN_TTS_MESSAGE_BOUNDARIES,
)
def test_unknown_tts_messages(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """Unknown keys in every message and alignment item, and messages of unknown types
    anywhere, change nothing: the synthesis completes with all its audio."""
    check(voicewire_iut, voicewire_simulator, example)


@pytest.mark.spec(*_RULES)
@pytest.mark.capability("tts.stream")
@property_family("tts-synthesis-ends", synthesis_ends(), boundaries=SYNTHESIS_END_BOUNDARIES)
def test_tts_synthesis_ends(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """``done`` before any audio ends a synthesis with no audio; whatever follows ``done`` is
    none of its audio and the next synthesis on the pooled socket still ends; ``done`` before
    the flush, ``session_id`` missing (upstream's crashes) and audio cut inside samples end in
    a completed synthesis with all the audio or an error of the family."""
    check(voicewire_iut, voicewire_simulator, example)


@pytest.mark.spec(*_RULES)
@pytest.mark.capability("tts.stream")
@property_family("tts-silences", tts_silences(), max_examples=2, boundaries=TTS_SILENCE_BOUNDARIES)
def test_tts_silences(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """No message for the client's timeout in a synthesis ends it in an APITimeoutError,
    never a hang."""
    check(voicewire_iut, voicewire_simulator, example)
