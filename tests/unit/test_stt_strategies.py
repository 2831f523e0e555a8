"""The STT strategies (voicewire.suites.stt.strategies) and the families' pure predictions."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from voicewire.harness.stt import PushAudioStep
from voicewire.simulators.scenario import parse_scenario
from voicewire.suites.stt.strategies import (
    PUSH_RATES,
    STREAM_RATES,
    push_examples,
    reconnect_examples,
    transcript_examples,
)
from voicewire.suites.stt.test_stream_properties import (
    _predicted_types,
    _pushed,
    _reconnect_scenario,
)


def _plain_json(example: dict[str, Any]) -> None:
    assert json.loads(json.dumps(example)) == example


@settings(max_examples=30)
@given(transcript_examples())
def test_transcript_examples_are_scenarios_the_simulator_loads(example: dict[str, Any]) -> None:
    _plain_json(example)
    rule = parse_scenario(example["scenario"]).rules[0]
    assert example["seconds"] > 0
    assert len({f.at_event for f in rule.faults}) == len(rule.faults)


@settings(max_examples=30)
@given(push_examples())
def test_push_examples_are_valid_scripts(example: dict[str, Any]) -> None:
    _plain_json(example)
    assert example["sample_rate"] in STREAM_RATES and example["push_rate"] in PUSH_RATES
    script, monos = _pushed(example)
    pushes = [step for step in script if isinstance(step, PushAudioStep)]
    assert [len(step.audio) for step in pushes] == [
        len(mono) * example["num_channels"] for mono in monos
    ]
    assert script[-1] == {"op": "end_input"}


@settings(max_examples=30)
@given(reconnect_examples())
def test_reconnect_examples_fail_each_attempt_once(example: dict[str, Any]) -> None:
    _plain_json(example)
    rule = parse_scenario(_reconnect_scenario(example)).rules[0]
    assert [f.attempt for f in rule.faults] == list(range(1, len(example["failures"]) + 1))


def test_predicted_types_follow_the_segment_rules() -> None:
    """start_of_speech opens only when closed; an empty interim emits nothing; any final,
    even empty, emits FINAL and END and opens a segment first when none is open."""
    server = [
        {"type": "start_of_speech"},
        {"type": "start_of_speech"},
        {"type": "interim_transcript", "transcript": ""},
        {"type": "interim_transcript", "transcript": "hel"},
        {"type": "final_transcript", "transcript": "hello"},
        {"type": "interim_transcript", "transcript": ""},
        {"type": "final_transcript", "transcript": ""},
    ]
    assert _predicted_types(server) == [
        "start_of_speech",
        "interim_transcript",
        "final_transcript",
        "end_of_speech",
        "start_of_speech",
        "final_transcript",
        "end_of_speech",
    ]
