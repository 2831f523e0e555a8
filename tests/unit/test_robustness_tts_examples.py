"""The TTS robustness family's examples (suites/robustness/tts_sessions.py): plain JSON a
replay file can hold, every frame one the family plays, and each builder's expectation what
its docstring says."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from voicewire.reference.tts.wire import MalformedMessage, decode_tts_client_message
from voicewire.suites.robustness import tts_sessions

_SESSION_FRAMES = {"CREATE", "FLUSH"}
_FRAME_KEYS = [
    {"say"},
    {"repeat", "say"},
    {"await"},
    {"text"},
    {"repeat", "text"},
    {"binary"},
    {"oversized"},
]


def _frames_sent(frame: Any) -> int:
    """How many WebSocket frames one frame of an example sends."""
    if isinstance(frame, str):
        return 1
    if "await" in frame:
        return 0
    return frame.get("repeat", 1)


def _session_example_is_playable(example: dict[str, Any]) -> None:
    assert json.loads(json.dumps(example)) == example
    if "peer" in example:
        assert example["peer"]["kind"] == example["family"]
        frames = example["peer"].get("frames", [])
    else:
        frames = example["frames"]
        # Every hostile session ends with the valid synthesis that shows the socket usable.
        assert frames[-len(tts_sessions.PROBE) :] == tts_sessions.PROBE
        sent = sum(map(_frames_sent, frames))
        assert 0 <= example["hostile"] <= example["hostile"] + example["tolerated"] <= sent
        assert example["expect"]["rule"] in ("SRV-1", "SRV-3", "SRV-4")
    for frame in frames:
        assert (isinstance(frame, str) and frame in _SESSION_FRAMES) or set(frame) in _FRAME_KEYS
        if isinstance(frame, dict) and "await" in frame:
            assert frame["await"] in ("done", "error", "answer")


@given(example=tts_sessions.hostile_tts_sessions() | tts_sessions.tts_session_peers())
def test_generated_examples_are_playable_json(example):
    _session_example_is_playable(example)


@pytest.mark.parametrize(
    "example",
    tts_sessions.HOSTILE_TTS_SESSION_BOUNDARIES + tts_sessions.TTS_SESSION_PEER_BOUNDARIES,
    ids=lambda e: e["what"][:60],
)
def test_boundaries_are_playable_json(example):
    _session_example_is_playable(example)


@pytest.mark.parametrize("path", sorted(tts_sessions.TTS_CREATE_FIELDS))
def test_every_wrong_session_create_value_is_refused_by_the_wire_module(path):
    # The family counts each mistyped message as one that deserves an error: the wire
    # module, which the simulator judges with, must refuse every value it draws.
    for value in tts_sessions._wrong_values(path, tts_sessions.TTS_CREATE_FIELDS):
        example = tts_sessions.mistyped_tts_field("session.create", path, value)
        sent = example["frames"][0]["text"]
        with pytest.raises(MalformedMessage):
            decode_tts_client_message(sent)


@pytest.mark.parametrize("path", sorted(tts_sessions.TRANSCRIPT_FIELDS))
def test_every_wrong_input_transcript_value_is_refused_by_the_wire_module(path):
    for value in tts_sessions._wrong_values(path, tts_sessions.TRANSCRIPT_FIELDS):
        example = tts_sessions.mistyped_tts_field("input_transcript", path, value)
        assert example["frames"][0] == "CREATE"
        with pytest.raises(MalformedMessage):
            decode_tts_client_message(example["frames"][1]["text"])


def test_the_valid_message_a_mistyped_one_is_built_from_is_valid():
    for message_type in ("session.create", "input_transcript"):
        decode_tts_client_message(json.dumps(tts_sessions._message(message_type)))


def test_binary_and_oversized_frames_expect_their_close_codes():
    binary = tts_sessions.binary_tts_frame("00", before_create=True)
    assert binary["expect"] == {"close": [1003], "rule": "SRV-3"}
    assert binary["frames"][:3] == [{"binary": "00"}, {"await": "error"}, "CREATE"]
    assert tts_sessions.oversized_tts_message(1)["expect"] == {"close": [1009], "rule": "SRV-4"}


def test_a_flush_with_nothing_pending_may_get_an_error_or_none():
    example = tts_sessions.tts_out_of_order("session.flush with nothing pending")
    assert (example["hostile"], example["tolerated"]) == (0, 1)
    assert example["frames"][:3] == ["CREATE", "FLUSH", {"await": "answer"}]


def test_a_reset_comes_after_the_flush():
    example = tts_sessions.reset_mid_synthesis(2)
    say = {"say": "Hello there."}
    assert example["peer"]["frames"] == ["CREATE", say, say, "FLUSH"]
