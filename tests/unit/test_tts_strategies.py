"""The TTS strategies (voicewire.suites.tts.strategies) and the families' pure checks."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from voicewire.harness.iut import Target
from voicewire.harness.tts import TTSStreamRequest
from voicewire.reference.tone_code import encode_tone
from voicewire.simulators.scenario import parse_scenario
from voicewire.simulators.tts import MAX_TRANSCRIPT_BYTES
from voicewire.simulators.tts.script import TTSReply
from voicewire.suites.tts.strategies import (
    FAULT_RATE,
    MAX_POOLED,
    TTS_SESSION_RATES,
    first_audio_event,
    tone_samples,
    tts_fault_examples,
    tts_pool_examples,
    tts_text_examples,
)
from voicewire.suites.tts.test_stream_properties import (
    FAULT_BOUNDARIES,
    TEXT_BOUNDARIES,
    _fault_scenario,
    _script,
    transcripts_problem,
)

WHERE = Target(base_url="http://h/v1", api_key="k", api_secret="s")


def _plain_json(example: dict[str, Any]) -> None:
    assert json.loads(json.dumps(example)) == example


def _pieces_are_a_script(pieces: list[dict[str, Any]]) -> None:
    text = "".join(piece["text"] for piece in pieces)
    assert text.strip() and all(piece["text"] for piece in pieces)
    # Even all in one transcript, the simulator speaks it.
    assert len(text.encode()) <= MAX_TRANSCRIPT_BYTES
    script = _script(pieces)
    assert script[-1] == {"op": "end_input"}
    assert sum(step["op"] == "flush" for step in script) == sum(p["flush"] for p in pieces)
    TTSStreamRequest(target=WHERE, streams=[script])


def _ci_examples(strategy: st.SearchStrategy[dict[str, Any]], count: int) -> list[Any]:
    """The examples the ``ci`` profile draws from ``strategy`` (``count`` of them)."""
    found: list[Any] = []

    @settings(settings.get_profile("ci"), max_examples=count)
    @given(strategy)
    def collect(example: Any) -> None:
        found.append(example)

    collect()
    return found


@settings(max_examples=20)
@given(tts_text_examples())
def test_text_examples_are_scripts_the_simulator_speaks(example: dict[str, Any]) -> None:
    _plain_json(example)
    _pieces_are_a_script(example["pieces"])
    TTSReply.model_validate(example["reply"])
    assert example["sample_rate"] in TTS_SESSION_RATES


@settings(max_examples=10)
@given(tts_pool_examples())
def test_pool_examples_are_one_to_four_scripts(example: dict[str, Any]) -> None:
    _plain_json(example)
    assert 1 <= len(example["streams"]) <= MAX_POOLED
    for pieces in example["streams"]:
        _pieces_are_a_script(pieces)
    TTSReply.model_validate(example["reply"])


def _check_fault_example(example: dict[str, Any]) -> None:
    _plain_json(example)
    rule = parse_scenario(_fault_scenario(example).model_dump(mode="json")).rules[0]
    failures = example["failures"]
    assert [f.attempt for f in rule.faults] == list(range(1, len(failures) + 1))
    assert all(f["when"] == "before_audio" for f in failures[:-1])
    first = first_audio_event(example["alignment"])
    for failure in failures:
        # An error goes out before its event, a close or a reset after it.
        audio_before = failure["at_event"] - (1 if failure["how"] == "error" else 0) >= first
        assert audio_before == (failure["when"] == "after_audio"), failure
    step = round(example["chunk_duration"] * FAULT_RATE)
    chunks = -(-tone_samples(example["sentence"], FAULT_RATE) // step)
    # No fault after done: every one fails the synthesis.
    assert all(f["at_event"] <= first + chunks for f in failures)


@settings(max_examples=25)
@given(tts_fault_examples())
def test_fault_examples_fail_each_connection_once_where_they_say(example: dict[str, Any]) -> None:
    _check_fault_example(example)


def test_the_boundaries_are_examples_of_their_families() -> None:
    for example in TEXT_BOUNDARIES:
        _pieces_are_a_script(example["pieces"])
    for example in FAULT_BOUNDARIES:
        _check_fault_example(example)


def test_the_ci_profile_draws_the_same_examples_and_faults_on_both_sides_of_the_audio() -> None:
    for strategy in (tts_text_examples(), tts_pool_examples()):
        assert _ci_examples(strategy, 5) == _ci_examples(strategy, 5)
    faults = _ci_examples(tts_fault_examples(), 16)
    assert faults == _ci_examples(tts_fault_examples(), 16)
    last = [example["failures"][-1] for example in faults]
    assert {f["when"] for f in last} == {"before_audio", "after_audio"}
    assert {f["how"] for f in last} == {"error", "ws_close", "reset"}
    assert {e["max_retry"] for e in faults} == {0, 1, 2}


def test_tone_samples_is_the_tone_codes_length() -> None:
    for text in ("Hello.", "Good morning café.", "A"):
        for rate in (8000, 22050, 24000):
            assert tone_samples(text, rate) == len(encode_tone(text, sample_rate=rate).samples)


def test_transcripts_problem_accepts_the_text_and_a_space_where_a_flush_cut_a_word() -> None:
    pieces = [
        {"text": "Hello there. Good morn", "flush": True},
        {"text": "ing,\nvoice  wire.", "flush": False},
    ]
    assert transcripts_problem(["Hello there. Good morn ", "ing, voice  wire. "], pieces) is None
    # The flush need not cut the word.
    assert transcripts_problem(["Hello there. ", "Good morning, voice wire. "], pieces) is None
    # Where no flush fell, no space may come in; nor may any text go missing or be added.
    for wrong in (
        ["Hello the re. Good morn ", "ing, voice wire. "],
        ["Hello there. Good morn ", "ing, voice "],
        ["Hello there. Good morn ", "ing, voice wire. wire. "],
        ["Hello there. Good morning voice wire. "],
    ):
        assert transcripts_problem(wrong, pieces) is not None, wrong
    # Every transcript ends with its space, and none is blank.
    assert "one space" in (transcripts_problem(["Hello there. Good morning, voice wire."], pieces))
    assert "one space" in (
        transcripts_problem([" ", "Hello there. Good morning, voice wire. "], pieces)
    )
