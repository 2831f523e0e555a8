"""The STT robustness families' examples (suites/robustness/stt_streams.py, stt_sessions.py):
plain JSON a replay file can hold, every client example a scenario the simulator accepts, and
each builder's expectation what its docstring says."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from voicewire.simulators.scenario import parse_scenario
from voicewire.suites.robustness import stt_sessions, stt_streams

_SESSION_FRAMES = {"CREATE", "FINALIZE"}
_FRAME_KEYS = [{"audio"}, {"text"}, {"repeat", "text"}, {"binary"}, {"oversized"}]


def _round_trips(example: dict[str, Any]) -> None:
    assert json.loads(json.dumps(example)) == example


def _client_example_is_playable(example: dict[str, Any]) -> None:
    _round_trips(example)
    scenario = parse_scenario(stt_streams.stt_scenario(example))
    faults = scenario.rules[0].faults
    # Every place of the session is replaced by its slot, and nothing addresses a place the
    # session does not have.
    assert [f.at_event for f in faults if f.kind == "malformed"] == list(
        range(len(example["slots"]))
    )
    assert all(f.at_event < len(example["slots"]) for f in faults)
    assert example["expect"]["outcome"] in ("error", "complete", "either")
    # The audio reaches the last segment's end, so every final place is played.
    assert stt_streams.audio_seconds(example) > (len(example["slots"]) - 2) * 0.1


def _session_example_is_playable(example: dict[str, Any]) -> None:
    _round_trips(example)
    if "peer" in example:
        assert example["peer"]["kind"] == example["family"]
        frames = example["peer"].get("frames", [])
    else:
        frames = example["frames"]
        assert 0 <= example["hostile"] <= sum(map(_frames_sent, frames))
    for frame in frames:
        assert (isinstance(frame, str) and frame in _SESSION_FRAMES) or set(frame) in _FRAME_KEYS


def _frames_sent(frame: Any) -> int:
    """How many WebSocket frames one frame of an example sends."""
    if isinstance(frame, dict) and "audio" in frame:
        return max(1, round(frame["audio"] * 20))
    return frame.get("repeat", 1) if isinstance(frame, dict) else 1


@pytest.mark.parametrize(
    "example",
    stt_streams.HOSTILE_MESSAGE_BOUNDARIES
    + stt_streams.UNKNOWN_MESSAGE_BOUNDARIES
    + stt_streams.SILENCE_BOUNDARIES,
    ids=lambda e: e["what"][:60],
)
def test_client_boundaries_are_playable(example):
    _client_example_is_playable(example)


@given(
    example=stt_streams.hostile_messages() | stt_streams.unknown_messages() | stt_streams.silences()
)
def test_generated_client_examples_are_playable(example):
    _client_example_is_playable(example)


@given(example=stt_sessions.hostile_sessions() | stt_sessions.session_peers())
def test_generated_session_examples_are_json(example):
    _session_example_is_playable(example)


@pytest.mark.parametrize(
    "example",
    stt_sessions.HOSTILE_SESSION_BOUNDARIES + stt_sessions.SESSION_PEER_BOUNDARIES,
    ids=lambda e: e["what"][:60],
)
def test_session_boundaries_are_json(example):
    _session_example_is_playable(example)


def test_a_hostile_message_leaves_out_what_follows_it():
    example = stt_streams.not_json("{", prefix=[("final", "one"), ("interim", "tw")])
    assert example["expect"] == {
        "outcome": "error",
        "kind": "APIConnectionError",
        "rule": "CLI-ROB-1",
        "finals": ["one"],
    }
    assert example["slots"][2] == "{" and json.loads(example["slots"][3])["transcript"] == "after"


def test_closes_before_the_finalize_are_errors_and_after_it_clean_ends():
    before = stt_streams.closed(1011, 0)
    assert before["faults"] == [
        {"kind": "drop", "at_event": 0},
        {"kind": "ws_close", "at_event": 0, "code": 1011},
    ]
    assert before["wait_for_error"] and before["expect"]["kind"] == "APIStatusError"
    after = stt_streams.closed(4000, 99, prefix=[("final", "one")])
    assert not after["wait_for_error"]
    assert after["expect"]["outcome"] == "complete"
    assert after["expect"]["finals"] == ["one", "tail"]
    assert after["faults"] == [{"kind": "ws_close", "at_event": 2, "code": 4000}]


def test_a_right_type_is_no_wrong_type():
    with pytest.raises(ValueError, match="not a wrong type"):
        stt_streams.message_wrong_type("final_transcript", "start", "float")


def test_unknown_keys_reach_messages_and_words():
    example = stt_streams.with_unknown([("final", "hi there")], [{"x_vendor": 1}] * 4)
    sent = [json.loads(slot) for slot in example["slots"]]
    assert sent[0]["x_vendor"] == 1 and sent[0]["words"][0]["x_vendor"] == 1
    assert sent[1]["x_vendor"] == 1 and sent[2] == {"type": "session.finalized"}
    assert example["expect"]["finals"] == ["hi there", "tail"]
