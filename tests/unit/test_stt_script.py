"""The STT simulator's transcript scripts, sans-IO: the reply model's checks and the
:class:`ScriptPlayer` that places a script on the audio clock."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from voicewire.reference.stt.wire import (
    FinalTranscript,
    InterimTranscript,
    ServerMessage,
    StartOfSpeech,
)
from voicewire.simulators.stt import ScriptPlayer, STTReply, position

RATE = 16000


def player(**reply: Any) -> ScriptPlayer:
    return ScriptPlayer(STTReply.model_validate(reply), sample_rate=RATE, request_id="rid")


def play(p: ScriptPlayer, cuts: list[int]) -> list[ServerMessage]:
    """Feed the audio clock in steps of ``cuts`` samples."""
    out: list[ServerMessage] = p.hear(b"", 0)
    received = 0
    for cut in cuts:
        received += cut
        out.extend(p.hear(b"", received))
    return out


def test_position_is_the_nearest_sample() -> None:
    assert position(0.8, RATE) == 12800
    assert position(0.1 + 0.7, RATE) == 12800
    assert position(0.00003, RATE) == 0


def test_interims_grow_by_the_words_that_have_ended() -> None:
    p = player(
        interim_interval=0.2,
        segments=[
            {
                "text": "hello big world",
                "start": 0.0,
                "duration": 1.0,
                "words": [
                    {"word": "hello", "start": 0.0, "end": 0.3},
                    {"word": "big", "start": 0.35, "end": 0.5},
                    {"word": "world", "start": 0.6, "end": 1.0},
                ],
            }
        ],
    )
    out = play(p, [RATE // 100] * 100)
    interims = [m for m in out if isinstance(m, InterimTranscript)]
    # 0.2 s: nothing yet (left out); 0.4: hello; 0.6: hello big; 0.8: hello big.
    assert [m.transcript for m in interims] == ["hello", "hello big", "hello big"]
    assert [m.duration for m in interims] == pytest.approx([0.4, 0.6, 0.8])
    [final] = [m for m in out if isinstance(m, FinalTranscript)]
    assert final.transcript == "hello big world"
    assert final.words is not None and [w.word for w in final.words] == ["hello", "big", "world"]
    assert final.request_id == "rid"


def test_without_words_an_interim_takes_the_elapsed_share_of_the_words() -> None:
    p = player(
        interim_interval=0.25,
        empty_interims=True,
        segments=[{"text": "a b c d", "start": 0, "duration": 1}],
    )
    out = play(p, [RATE])
    assert [m.transcript for m in out if isinstance(m, InterimTranscript)] == ["a", "a b", "a b c"]
    p = player(
        interim_interval=0.1,
        empty_interims=True,
        segments=[{"text": "a b", "start": 0, "duration": 1}],
    )
    texts = [m.transcript for m in play(p, [RATE]) if isinstance(m, InterimTranscript)]
    assert texts[:4] == ["", "", "", ""]  # shown because empty_interims is on
    assert texts[-1] == "a"


def test_start_of_speech_and_fields_are_sent_as_scripted() -> None:
    p = player(
        start_of_speech=True,
        interim_interval=None,
        request_id="mine",
        segments=[
            {
                "text": "x",
                "start": 0.5,
                "duration": 0.5,
                "confidence": 0.5,
                "language": "fr",
                "speaker": "S1",
                "extra": {"k": 1},
            }
        ],
    )
    assert p.hear(b"", position(0.5, RATE) - 1) == []
    [start] = p.hear(b"", position(0.5, RATE))
    assert isinstance(start, StartOfSpeech)
    assert p.hear(b"", position(1.0, RATE) - 1) == []
    [final] = p.hear(b"", position(1.0, RATE))
    assert isinstance(final, FinalTranscript)
    assert (final.confidence, final.language, final.speaker_id, final.extra, final.request_id) == (
        0.5,
        "fr",
        "S1",
        {"k": 1},
        "mine",
    )


def test_finish_sends_the_begun_segments_final_and_notes_the_rest() -> None:
    p = player(
        interim_interval=None,
        segments=[
            {"text": "done", "start": 0, "duration": 0.1},
            {"text": "begun", "start": 0.2, "duration": 5},
            {"text": "later", "start": 6, "duration": 1},
        ],
    )
    out = p.finish(position(1.0, RATE))
    assert [m.transcript for m in out if isinstance(m, FinalTranscript)] == ["done", "begun"]
    assert p.notes == [("unreached_segments", {"first": 2, "count": 1, "audio_received": 1.0})]
    assert p.hear(b"", position(10, RATE)) == []


def test_a_long_script_is_planned_lazily() -> None:
    # A day of audio in interims every 10 ms: nothing is planned until the audio reaches it.
    p = player(
        interim_interval=0.01, segments=[{"text": "x " * 1000, "start": 0, "duration": 86399}]
    )
    assert p.hear(b"", position(0.05, RATE)) == []  # empty prefixes: left out
    p = player(
        interim_interval=0.01,
        empty_interims=True,
        segments=[{"text": "x " * 1000, "start": 0, "duration": 86399}],
    )
    assert len(p.hear(b"", position(0.05, RATE))) == 5


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        (
            {"segments": [{"start": 1, "duration": 1}, {"start": 0, "duration": 1}]},
            "segments[1] starts at 0 s, before segments[0] ends at 2 s",
        ),
        (
            {
                "segments": [
                    {
                        "start": 0,
                        "duration": 1,
                        "words": [
                            {"word": "a", "start": 0, "end": 0.6},
                            {"word": "b", "start": 0.5, "end": 0.7},
                        ],
                    }
                ]
            },
            "before the previous word ends",
        ),
        (
            {
                "segments": [
                    {"start": 0, "duration": 1, "words": [{"word": "a", "start": 0.5, "end": 0.4}]}
                ]
            },
            "ends (0.4 s) before it starts",
        ),
        ({"segments": [{"start": float("nan"), "duration": 1}]}, "finite"),
        ({"segments": [{"start": 86400, "duration": 1}]}, "after 86400 s"),
        ({"interim_interval": 0}, "greater than or equal to 0.01"),
        ({"segments": [{"start": 0}]}, "Field required"),
    ],
)
def test_scripts_that_cannot_be_honoured_are_refused(reply: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError) as info:
        STTReply.model_validate(reply)
    assert problem in str(info.value)


# -- properties --------------------------------------------------------------------------------


@st.composite
def scripts(draw: st.DrawFn) -> STTReply:
    segments = []
    at = 0.0
    for _ in range(draw(st.integers(0, 4))):
        at += draw(st.sampled_from([0.0, 0.05, 0.3]))
        duration = draw(st.sampled_from([0.0, 0.1, 0.45, 1.0]))
        text = draw(st.sampled_from(["", "one", "one two three"]))
        segments.append({"text": text, "start": round(at, 3), "duration": duration})
        at = round(at + duration, 3)
    return STTReply.model_validate(
        {
            "segments": segments,
            "interim_interval": draw(st.sampled_from([None, 0.01, 0.1, 0.25])),
            "empty_interims": draw(st.booleans()),
            "start_of_speech": draw(st.booleans()),
        }
    )


@settings(max_examples=60, deadline=None)
@given(scripts(), st.lists(st.integers(1, 2000), min_size=1, max_size=30))
def test_what_is_said_depends_on_the_audio_received_not_on_how_it_was_cut(
    reply: STTReply, cuts: list[int]
) -> None:
    total = sum(cuts)
    cut = ScriptPlayer(reply, sample_rate=RATE, request_id="r")
    whole = ScriptPlayer(reply, sample_rate=RATE, request_id="r")
    said = play(cut, cuts) + cut.finish(total)
    assert said == whole.hear(b"", total) + whole.finish(total)
    # One final per segment whose start the audio reached, in order; every interim of a
    # segment comes before its final and is a prefix of its text.
    reached = [s for s in reply.segments if position(s.start, RATE) <= total]
    finals = [m for m in said if isinstance(m, FinalTranscript)]
    assert [m.transcript for m in finals] == [s.text for s in reached]
    segment = 0
    for message in said:
        if isinstance(message, FinalTranscript):
            segment += 1
        elif isinstance(message, InterimTranscript):
            assert reached[segment].text.startswith(message.transcript)
            assert message.transcript or reply.empty_interims
