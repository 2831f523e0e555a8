"""The STT simulator's transcription without a script (:class:`ToneTranscriber`), sans-IO:
tone-coded utterances to their text, other speech to a placeholder naming its duration, finals
when the audio completes a segment, and what input's end still owes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from voicewire.reference.stt.wire import FinalTranscript, ServerMessage
from voicewire.reference.tone_code import encode_tone
from voicewire.simulators.stt import ToneTranscriber, speech_placeholder

RATE = 16000


def silence(seconds: float) -> bytes:
    return bytes(2 * round(seconds * RATE))


def speech(seconds: float) -> bytes:
    t = np.arange(round(seconds * RATE)) / RATE
    return (np.sin(2 * np.pi * 300 * t) * 5000).astype("<i2").tobytes()


def feed(pcm: bytes, cuts: list[int]) -> tuple[list[ServerMessage], list[ServerMessage]]:
    """What hearing ``pcm`` in pieces of ``cuts`` bytes (cycled) says, and what finish says."""
    ear = ToneTranscriber(sample_rate=RATE, request_id="r")
    heard: list[ServerMessage] = []
    at, i = 0, 0
    while at < len(pcm):
        size = cuts[i % len(cuts)] * 2
        piece = pcm[at : at + size]
        at += len(piece)
        heard.extend(ear.hear(piece, at // 2))
        i += 1
    return heard, ear.finish(len(pcm) // 2)


def test_the_placeholder_names_the_duration() -> None:
    assert speech_placeholder(1.2) == "[speech 1.20 s]"
    assert speech_placeholder(0.054) == "[speech 0.05 s]"


def test_a_tone_utterance_and_other_speech_become_finals_as_the_audio_completes_them() -> None:
    pcm = silence(0.2) + encode_tone("hi there", sample_rate=RATE).to_bytes() + silence(0.5)
    pcm += speech(0.7) + silence(0.5)
    heard, finished = feed(pcm, [800])
    assert finished == []
    assert all(isinstance(m, FinalTranscript) for m in heard)
    finals = [m for m in heard if isinstance(m, FinalTranscript)]
    assert [m.transcript for m in finals] == ["hi there", "[speech 0.70 s]"]
    assert finals[0].start == pytest.approx(0.2, abs=0.01)
    assert finals[0].words is not None and [w.word for w in finals[0].words] == ["hi", "there"]
    assert finals[1].words is None and finals[1].request_id == "r"


def test_speech_still_open_at_the_end_of_input_is_sent_by_finish() -> None:
    heard, finished = feed(silence(0.1) + speech(0.5), [800])
    assert heard == []
    assert [m.transcript for m in finished if isinstance(m, FinalTranscript)] == ["[speech 0.50 s]"]


def test_a_rate_below_the_tone_codes_is_noted_and_heard_as_nothing() -> None:
    ear = ToneTranscriber(sample_rate=4000, request_id="r")
    assert ear.hear(bytes(800), 400) == [] and ear.finish(400) == []
    assert ear.notes[0][0] == "not_transcribed"


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, 1200), min_size=1, max_size=6))
def test_what_is_heard_does_not_depend_on_how_the_audio_was_cut(cuts: list[int]) -> None:
    pcm = silence(0.1) + encode_tone("ok", sample_rate=RATE).to_bytes() + silence(0.4)
    pcm += speech(0.3) + silence(0.1)
    assert feed(pcm, cuts) == feed(pcm, [len(pcm)])
