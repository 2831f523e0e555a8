"""The TTS simulator's reply model and its message-level faults, sans-IO: what a scenario may
script for the ``tts`` endpoint, what is refused at load (with its path), and how the faults
change the connection's frames."""

from __future__ import annotations

import json
from typing import Any

import pytest
from voicewire.reference.tts.wire import (
    AlignedWord,
    OutputAlignment,
    OutputAudio,
    SynthesisDone,
    TTSErrorMessage,
    TTSSessionCreated,
    decode_tts_server_message,
    encode_tts_message,
)
from voicewire.simulators import ScenarioError, parse_scenario
from voicewire.simulators.tts import (
    MALFORMED_TTS_FRAME,
    TTSReply,
    tts_fault_plan,
    without_session_id,
)
from voicewire.simulators.tts.faults import SendFrame


def scenario(reply: Any, **rule: Any) -> Any:
    return parse_scenario(
        {"name": "tts", "rules": [{"match": {"endpoint": "tts"}, "reply": reply, **rule}]}
    )


def test_the_reply_model_is_registered_for_the_tts_endpoint() -> None:
    rule = scenario({"alignment": "chars", "chunk_duration": 0.02}).rules[0]
    assert isinstance(rule.reply, TTSReply)
    assert rule.reply.alignment == "chars"


def test_the_defaults_speak_everything_as_the_protocol_says() -> None:
    reply = scenario(None).rules[0].reply
    assert reply == TTSReply()
    assert reply.chunk_duration == 0.1
    assert reply.ttfb == 0 and reply.real_time_factor == 0
    assert reply.alignment == "none"
    assert reply.session_created and reply.session_id == "every"
    assert reply.sample_rate is None
    assert reply.expect_voice is None and reply.expect_model is None


@pytest.mark.parametrize(
    ("reply", "path", "problem"),
    [
        ({"chunk_duration": 0}, "rules[0].reply.chunk_duration", "0.005"),
        ({"chunk_duration": 11}, "rules[0].reply.chunk_duration", "10"),
        ({"ttfb": -1}, "rules[0].reply.ttfb", "greater than or equal to 0"),
        ({"real_time_factor": float("nan")}, "rules[0].reply.real_time_factor", ""),
        ({"alignment": "phonemes"}, "rules[0].reply.alignment", "words"),
        ({"session_id": "sometimes"}, "rules[0].reply.session_id", "created_only"),
        ({"sample_rate": 4000}, "rules[0].reply.sample_rate", "8000"),
        ({"sample_rate": "16000"}, "rules[0].reply.sample_rate", ""),
        (
            {"session_id": "created_only", "session_created": False},
            "rules[0].reply",
            "no message would carry it",
        ),
        ({"chunk_duraton": 0.1}, "rules[0].reply", ""),
    ],
)
def test_a_script_that_cannot_be_honoured_is_refused_with_its_path(
    reply: dict[str, Any], path: str, problem: str
) -> None:
    with pytest.raises(ScenarioError) as info:
        scenario(reply)
    problems = info.value.problems
    assert any(p.startswith(path) and problem in m for p, m in problems), problems


def test_timing_and_websocket_faults_parse_for_the_tts_endpoint() -> None:
    rule = scenario({}, faults=[{"kind": "ws_close", "at_event": 3, "code": 1011}]).rules[0]
    assert rule.faults[0].kind == "ws_close"


# -- without_session_id ------------------------------------------------------------------------


MESSAGES = [
    TTSSessionCreated(session_id="s"),
    OutputAudio.from_pcm(b"\x00\x00", session_id="s"),
    OutputAlignment(words=(AlignedWord(word="a", start=0, end=0.1),), session_id="s"),
    SynthesisDone(session_id="s"),
]


def test_every_keeps_the_session_id_everywhere() -> None:
    assert [without_session_id(m, "every") for m in MESSAGES] == MESSAGES


def test_none_takes_it_off_every_message() -> None:
    assert all(without_session_id(m, "none").session_id is None for m in MESSAGES)  # type: ignore[union-attr]


def test_created_only_keeps_it_on_session_created_alone() -> None:
    shown = [without_session_id(m, "created_only") for m in MESSAGES]
    assert [m.session_id for m in shown] == ["s", None, None, None]  # type: ignore[union-attr]
    # The frames carry no key at all, as the captured broken servers sent them.
    assert all("session_id" not in json.loads(encode_tts_message(m)) for m in shown[1:])


def test_an_error_is_left_as_it_is() -> None:
    error = TTSErrorMessage(message="x", code=500)
    assert without_session_id(error, "none") is error


# -- the fault plan ----------------------------------------------------------------------------


def test_malformed_sends_the_tts_protocols_broken_frame_unless_given_a_line() -> None:
    plan = tts_fault_plan(
        scenario({}, faults=[{"kind": "malformed", "at_event": 0}]).rules[0].faults, time_scale=1
    )
    assert plan.send('{"type": "done"}') == [SendFrame(MALFORMED_TTS_FRAME, 0, "malformed")]
    given = scenario({}, faults=[{"kind": "malformed", "at_event": 0, "line": "!"}]).rules[0]
    plan = tts_fault_plan(given.faults, time_scale=1)
    assert plan.send('{"type": "done"}') == [SendFrame("!", 0, "malformed")]


def test_an_error_event_is_a_tts_error_message() -> None:
    faults = (
        scenario(
            {}, faults=[{"kind": "error_event", "at_event": 1, "message": "busy", "code": 503}]
        )
        .rules[0]
        .faults
    )
    plan = tts_fault_plan(faults, time_scale=1)
    assert plan.send("created") == [SendFrame("created", 0)]
    inserted, own = plan.send("audio")
    assert own == SendFrame("audio", 1)
    assert isinstance(inserted, SendFrame) and isinstance(inserted.text, str)
    assert decode_tts_server_message(inserted.text) == TTSErrorMessage(message="busy", code=503)
