"""``timestampInfo`` (IW-HTTP-3): the wire models, the server's equal-length check and the
client's mapping to timed strings (upstream's ``_parse_timestamp_info``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from voicewire.reference.inworld.wire.timestamps import (
    InworldCharacterAlignment,
    InworldTimestampInfo,
    InworldWordAlignment,
    alignment_problems,
    timed_strings,
)

WORDS = {
    "wordAlignment": {
        "words": ["Hello", "there"],
        "wordStartTimeSeconds": [0, 0.5],
        "wordEndTimeSeconds": [0.4, 0.9],
    }
}


def test_words_become_timed_strings_without_a_trailing_space():
    info = InworldTimestampInfo.model_validate(WORDS)
    got = timed_strings(info)
    assert [(t.text, t.start_time, t.end_time) for t in got] == [
        ("Hello", 0.0, 0.4),
        ("there", 0.5, 0.9),
    ]


def test_the_offset_shifts_both_times():
    info = InworldTimestampInfo.model_validate(WORDS)
    got = timed_strings(info, offset=2.0)
    assert [(t.start_time, t.end_time) for t in got] == [(2.0, 2.4), (2.5, 2.9)]


def test_characters_follow_words():
    info = InworldTimestampInfo(
        wordAlignment=InworldWordAlignment(
            words=("hi",), wordStartTimeSeconds=(0.0,), wordEndTimeSeconds=(0.2,)
        ),
        characterAlignment=InworldCharacterAlignment(
            characters=("h", "i"),
            characterStartTimeSeconds=(0.0, 0.1),
            characterEndTimeSeconds=(0.1, 0.2),
        ),
    )
    assert [t.text for t in timed_strings(info)] == ["hi", "h", "i"]


def test_absent_arrays_are_empty_as_in_proto3_json():
    info = InworldTimestampInfo.model_validate({"wordAlignment": {}, "characterAlignment": {}})
    assert timed_strings(info) == ()
    assert alignment_problems(info) == []
    assert InworldTimestampInfo.model_validate({}).to_wire() == {}


def test_unequal_arrays_are_a_server_problem_named_with_lengths():
    info = InworldTimestampInfo.model_validate(
        {
            "characterAlignment": {
                "characters": ["a", "b", "c"],
                "characterStartTimeSeconds": [0, 0.1, 0.2],
                "characterEndTimeSeconds": [0.1],
            }
        }
    )
    (problem,) = alignment_problems(info)
    assert problem.startswith("characterAlignment: parallel arrays of unequal length")
    assert "characterEndTimeSeconds has 1" in problem
    assert "characters has 3" in problem


def test_unequal_arrays_are_paired_up_to_the_shortest_by_a_client():
    info = InworldTimestampInfo.model_validate(
        {"wordAlignment": {"words": ["a", "b"], "wordStartTimeSeconds": [0.0]}}
    )
    # wordEndTimeSeconds is absent: nothing pairs, and nothing crashes
    assert timed_strings(info) == ()


def test_equal_arrays_are_no_problem():
    assert alignment_problems(InworldTimestampInfo.model_validate(WORDS)) == []


@pytest.mark.parametrize(
    "bad",
    [
        {"wordAlignment": {"words": "Hello"}},
        {"wordAlignment": {"words": [1]}},
        {"wordAlignment": {"wordStartTimeSeconds": ["0.5"]}},
        {"wordAlignment": {"wordStartTimeSeconds": [float("nan")]}},
        {"characterAlignment": []},
    ],
)
def test_wrong_types_are_refused(bad):
    with pytest.raises(ValidationError):
        InworldTimestampInfo.model_validate(bad)


def test_unknown_keys_are_ignored():
    info = InworldTimestampInfo.model_validate(
        {**WORDS, "phonemeAlignment": {"x": 1}, "wordAlignment": {**WORDS["wordAlignment"], "y": 2}}
    )
    assert len(timed_strings(info)) == 2


def test_a_non_finite_offset_is_refused():
    with pytest.raises(ValueError, match="offset"):
        timed_strings(InworldTimestampInfo(), offset=float("inf"))


times = st.floats(min_value=0, max_value=1e4, allow_nan=False)


@given(
    st.lists(st.tuples(st.text(max_size=5), times, times), max_size=8),
    st.floats(min_value=0, max_value=100),
)
def test_to_wire_round_trips_and_maps_every_word(rows, offset):
    info = InworldTimestampInfo(
        wordAlignment=InworldWordAlignment(
            words=tuple(r[0] for r in rows),
            wordStartTimeSeconds=tuple(r[1] for r in rows),
            wordEndTimeSeconds=tuple(r[2] for r in rows),
        )
    )
    assert InworldTimestampInfo.model_validate(info.to_wire()) == info
    assert alignment_problems(info) == []
    got = timed_strings(info, offset=offset)
    assert [(t.text, t.start_time, t.end_time) for t in got] == [
        (w, offset + s, offset + e) for w, s, e in rows
    ]
