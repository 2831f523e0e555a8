"""The TTS synthesis assembler: frames whose concatenation is exactly the server's audio, in
order, one final per synthesis, the session_id as segment id (TTS-OUT-1); alignments as timed
text (TTS-S-2); failures as data that become retryable errors only before audio was emitted
(TTS-OUT-2, TTS-RETRY-1)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from voicewire.reference.audio import AudioFrame
from voicewire.reference.errors import APIError, APIStatusError, APITimeoutError
from voicewire.reference.tts.wire import (
    AlignedChar,
    AlignedTranscript,
    AlignedWord,
    FailureKind,
    OutputAlignment,
    OutputAudio,
    RemoteProtocolError,
    SynthesisAssembler,
    SynthesisDone,
    SynthesisFailure,
    SynthesizedAudio,
    TTSErrorMessage,
    TTSSessionClosed,
    TTSSessionCreated,
)

RATE = 24000
FRAME_BYTES = 2 * RATE // 10  # the default 100 ms frames


def audio(pcm: bytes, session_id: str | None = "sess") -> OutputAudio:
    return OutputAudio.from_pcm(pcm, session_id=session_id)


def frames_of(outputs: list) -> list[SynthesizedAudio]:
    return [item for item in outputs if isinstance(item, SynthesizedAudio)]


def pcm_of(outputs: list) -> bytes:
    return b"".join(item.frame.to_bytes() for item in frames_of(outputs))


def test_tts_out_1_the_last_frame_is_held_until_done_and_marked_final():
    assembler = SynthesisAssembler(sample_rate=RATE, request_id="req")
    first = bytes(range(256)) * (FRAME_BYTES // 256) + bytes(FRAME_BYTES % 256)
    # One whole frame: held back, since it may be the last.
    assert assembler.receive(audio(first)) == []
    assert not assembler.audio_emitted
    # A second whole frame releases the first, not final.
    out = assembler.receive(audio(first))
    assert [(f.is_final, f.frame.to_bytes()) for f in frames_of(out)] == [(False, first)]
    assert assembler.audio_emitted
    # done: the held frame goes out final.
    done = assembler.receive(SynthesisDone(session_id="sess"))
    assert [(f.is_final, f.segment_id, f.request_id) for f in frames_of(done)] == [
        (True, "sess", "req")
    ]
    assert done[0].frame.sample_rate == RATE
    assert done[0].frame.num_channels == 1
    assert assembler.finished
    assert assembler.failure is None


def test_tts_out_1_a_short_tail_is_the_final_frame():
    assembler = SynthesisAssembler(sample_rate=RATE)
    pcm = bytes(FRAME_BYTES + 10)
    out = assembler.receive(audio(pcm)) + assembler.receive(SynthesisDone(session_id="sess"))
    frames = frames_of(out)
    assert [f.frame.samples_per_channel for f in frames] == [RATE // 10, 5]
    assert [f.is_final for f in frames] == [False, True]
    assert pcm_of(out) == pcm


def test_tts_out_1_a_synthesis_without_audio_ends_with_one_empty_final_frame():
    assembler = SynthesisAssembler(sample_rate=16000)
    out = assembler.receive(SynthesisDone(session_id="s1"))
    assert len(out) == 1
    assert out[0].is_final
    assert out[0].segment_id == "s1"
    assert out[0].frame.samples_per_channel == 0
    assert not assembler.audio_emitted


def test_tts_out_1_a_sample_split_across_messages_is_joined():
    assembler = SynthesisAssembler(sample_rate=RATE, frame_duration=0.0001)  # 2-sample frames
    out = assembler.receive(audio(b"\x01\x02\x03"))
    out += assembler.receive(audio(b"\x04\x05\x06\x07\x08"))
    out += assembler.receive(SynthesisDone(session_id="sess"))
    assert pcm_of(out) == bytes(range(1, 9))
    assert [f.is_final for f in frames_of(out)] == [False, True]


def test_tts_s_1_audio_ending_inside_a_sample_is_the_servers_error():
    assembler = SynthesisAssembler(sample_rate=RATE)
    assembler.receive(audio(b"\x01\x02\x03"))
    with pytest.raises(RemoteProtocolError) as caught:
        assembler.receive(SynthesisDone(session_id="sess"))
    assert caught.value.rule == "TTS-S-1"


@pytest.mark.parametrize(
    "message", [audio(b"\x00\x00", session_id=None), SynthesisDone(session_id=None)]
)
def test_tts_s_1_strict_requires_the_session_id_on_audio_and_done(message):
    with pytest.raises(RemoteProtocolError) as caught:
        SynthesisAssembler(sample_rate=RATE).receive(message)
    assert caught.value.rule == "TTS-S-1"
    assert "session_id" in caught.value.detail


def test_without_strict_the_segment_id_is_the_first_session_id_seen():
    assembler = SynthesisAssembler(sample_rate=RATE, strict=False, frame_duration=0.0001)
    # A frame carries the segment id known when it is emitted (the held one: the later id).
    out = assembler.receive(audio(b"\x00\x00" * 4, session_id=None))
    out += assembler.receive(audio(b"\x00\x00" * 2, session_id="a"))
    out += assembler.receive(audio(b"\x00\x00" * 2, session_id="b"))
    out += assembler.receive(SynthesisDone())
    assert [f.segment_id for f in frames_of(out)] == ["", "a", "a", "a"]
    assert assembler.segment_id == "a"


def test_tts_s_2_alignments_become_timed_text():
    assembler = SynthesisAssembler(sample_rate=RATE)
    words = OutputAlignment(
        words=(
            AlignedWord(word="Hello", start=0.0, end=0.4),
            AlignedWord(word="you", start=0.5, end=0.7),
        ),
        session_id="sess",
    )
    [aligned] = assembler.receive(words)
    assert isinstance(aligned, AlignedTranscript)
    assert aligned.granularity == "words"
    assert aligned.segment_id == "sess"
    assert [(t.text, t.start_time, t.end_time) for t in aligned.items] == [
        ("Hello", 0.0, 0.4),
        ("you", 0.5, 0.7),
    ]
    [chars] = assembler.receive(OutputAlignment(chars=(AlignedChar(char="H", start=0, end=0.1),)))
    assert chars.granularity == "chars"
    assert chars.text == "H"
    cartesia = SynthesisAssembler(sample_rate=RATE, space_after_words=True)
    [spaced] = cartesia.receive(words)
    assert spaced.text == "Hello you "


def test_tts_out_2_an_error_is_a_retryable_api_error_before_audio():
    assembler = SynthesisAssembler(sample_rate=RATE)
    assembler.receive(audio(bytes(FRAME_BYTES)))  # held back: not emitted
    [failure] = assembler.receive(TTSErrorMessage(message="voice not found", code=404))
    assert isinstance(failure, SynthesisFailure)
    assert failure.kind is FailureKind.SERVER_ERROR
    assert not failure.audio_emitted
    error = failure.to_exception()
    assert type(error) is APIError
    assert error.retryable
    assert "voice not found" in error.message
    assert error.body == {"type": "error", "message": "voice not found", "code": 404}
    assert assembler.finished
    assert assembler.failure == failure


def test_tts_retry_1_after_audio_was_emitted_a_failure_is_not_retryable():
    assembler = SynthesisAssembler(sample_rate=RATE)
    assert frames_of(assembler.receive(audio(bytes(2 * FRAME_BYTES))))
    [failure] = assembler.connection_closed(1011)
    assert failure.audio_emitted
    assert not failure.retryable
    error = failure.to_exception(request_id="req")
    assert isinstance(error, APIStatusError)
    assert error.status_code == 1011
    assert error.request_id == "req"
    assert not error.retryable


def test_tts_out_2_a_close_before_done_is_a_retryable_status_error():
    for failure_outputs in (
        SynthesisAssembler(sample_rate=RATE).connection_closed(None),
        SynthesisAssembler(sample_rate=RATE).receive(TTSSessionClosed()),
    ):
        [failure] = failure_outputs
        error = failure.to_exception()
        assert isinstance(error, APIStatusError)
        assert error.status_code == -1
        assert error.retryable


def test_tts_out_2_a_timeout_is_a_retryable_timeout_error():
    assembler = SynthesisAssembler(sample_rate=RATE)
    [failure] = assembler.timed_out(10.0)
    assert failure.kind is FailureKind.TIMEOUT
    error = failure.to_exception()
    assert isinstance(error, APITimeoutError)
    assert error.retryable


def test_nothing_follows_the_end_of_a_synthesis():
    assembler = SynthesisAssembler(sample_rate=RATE)
    assembler.receive(SynthesisDone(session_id="sess"))
    assert assembler.connection_closed(1000) == []
    assert assembler.timed_out(1.0) == []
    with pytest.raises(RemoteProtocolError) as caught:
        assembler.receive(audio(b"\x00\x00"))
    assert caught.value.rule == "TTS-S-1"
    assert SynthesisAssembler(sample_rate=RATE).receive(TTSSessionCreated(session_id="x")) == []


@pytest.mark.parametrize("duration", [0, -0.1, float("nan")])
def test_a_frame_duration_must_be_positive(duration):
    with pytest.raises(ValueError):
        SynthesisAssembler(sample_rate=RATE, frame_duration=duration)


# -- properties ------------------------------------------------------------------------------------


@st.composite
def scripts(draw: st.DrawFn) -> tuple[int, float, bytes, list]:
    """A synthesis as a server may send it: whole-sample audio cut anywhere (even inside a
    sample) into output_audio messages, alignments between them, then done."""
    rate = draw(st.sampled_from([8000, 16000, 22050, 24000, 44100, 48000]))
    frame_duration = draw(st.sampled_from([0.0005, 0.001, 0.01, 0.1]))
    samples = draw(st.integers(0, 600))
    pcm = draw(st.binary(min_size=2 * samples, max_size=2 * samples))
    cuts = sorted(draw(st.lists(st.integers(0, len(pcm)), max_size=8)))
    bounds = [0, *cuts, len(pcm)]
    messages: list = []
    for start, end in itertools.pairwise(bounds):
        if draw(st.booleans()):
            messages.append(OutputAlignment(words=(), session_id="sess"))
        messages.append(audio(pcm[start:end]))
    messages.append(SynthesisDone(session_id="sess"))
    return rate, frame_duration, pcm, messages


@settings(max_examples=300)
@given(scripts())
def test_tts_out_1_any_chunking_assembles_to_exactly_the_servers_audio(script):
    rate, frame_duration, pcm, messages = script
    assembler = SynthesisAssembler(sample_rate=rate, frame_duration=frame_duration)
    outputs = [item for message in messages for item in assembler.receive(message)]
    frames = frames_of(outputs)
    assert pcm_of(outputs) == pcm
    assert [f.is_final for f in frames].count(True) == 1
    assert frames[-1].is_final
    assert all(f.segment_id == "sess" for f in frames)
    assert all(f.frame.sample_rate == rate and f.frame.num_channels == 1 for f in frames)
    size = max(1, round(rate * frame_duration))
    # Every frame but the last is a whole frame: the output is cut in one fixed size.
    assert all(f.frame.samples_per_channel == size for f in frames[:-1])
    assert AudioFrame.concat([f.frame for f in frames]).to_bytes() == pcm
    assert assembler.finished


@settings(max_examples=200)
@given(scripts(), st.data())
def test_tts_retry_1_a_failure_anywhere_is_retryable_exactly_when_no_audio_was_emitted(
    script, data
):
    rate, frame_duration, _, messages = script
    cut = data.draw(st.integers(0, len(messages) - 1), label="failure before message")
    assembler = SynthesisAssembler(sample_rate=rate, frame_duration=frame_duration)
    emitted = b""
    for message in messages[:cut]:
        emitted += pcm_of(assembler.receive(message))
    [failure] = assembler.connection_closed(1006)
    assert failure.audio_emitted == bool(emitted)
    assert failure.to_exception().retryable == (not emitted)
    # No final frame was emitted: the synthesis did not complete.
    assert assembler.failure is failure
