"""SegmentTracker: server messages in, SpeechEvents out. Whatever the script of server
messages, audio and reconnects, the events form well-formed segments (STT-ORD-1..3), carry the
server's texts and times (STT-ORD-4, STT-ORD-5), report usage exact to the sample (STT-USG-1),
and keep start_time monotonic across attempts (STT-RETRY-1)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from voicewire.reference.stt.speech import (
    RecognitionUsage,
    SpeechData,
    SpeechEvent,
    SpeechEventType,
    TimedString,
)
from voicewire.reference.stt.wire import (
    ErrorMessage,
    FinalTranscript,
    InterimTranscript,
    SegmentTracker,
    SessionClosed,
    SessionCreated,
    SessionFinalized,
    StartOfSpeech,
    TranscriptWord,
)

START = SpeechEventType.START_OF_SPEECH
INTERIM = SpeechEventType.INTERIM_TRANSCRIPT
USAGE = SpeechEventType.RECOGNITION_USAGE
FINAL = SpeechEventType.FINAL_TRANSCRIPT
END = SpeechEventType.END_OF_SPEECH


def kinds(events: list[SpeechEvent]) -> list[SpeechEventType]:
    return [event.type for event in events]


def interim(text: str, start: float = 0.0, duration: float = 0.0, **kw: Any) -> InterimTranscript:
    return InterimTranscript(transcript=text, start=start, duration=duration, **kw)


def final(text: str, start: float = 0.0, duration: float = 0.0, **kw: Any) -> FinalTranscript:
    return FinalTranscript(transcript=text, start=start, duration=duration, **kw)


def the_data(event: SpeechEvent) -> SpeechData:
    (data,) = event.alternatives
    return data


# -- STT-ORD-1..3: segments ------------------------------------------------------------------------


def test_stt_ord_1_the_captured_session_gives_the_captured_events():
    # wire-capture.md §3: interim "hello", then the final "hello world" after 0.8 s of audio.
    tracker = SegmentTracker(sample_rate=16000, language="en", request_id="stream")
    tracker.audio_sent(4800)
    first = tracker.receive(
        interim("hello", 0.0, 0.30, confidence=0.61, language="en", request_id="stt_req_1")
    )
    tracker.audio_sent(8000)
    second = tracker.receive(
        final("hello world", 0.0, 0.80, confidence=0.97, language="en", request_id="stt_req_1")
    )
    assert kinds(first) == [START, INTERIM]
    assert kinds(second) == [USAGE, FINAL, END]
    assert [e.request_id for e in first + second] == ["", *["stt_req_1"] * 3, ""]
    assert second[0].recognition_usage == RecognitionUsage(audio_duration=0.8)
    assert the_data(second[1]).text == "hello world"
    assert not tracker.speaking


def test_stt_ord_2_3_an_empty_interim_emits_nothing_and_opens_nothing():
    tracker = SegmentTracker(sample_rate=16000)
    assert tracker.receive(interim("")) == []
    assert not tracker.speaking
    assert kinds(tracker.receive(interim("a"))) == [START, INTERIM]
    assert tracker.receive(interim("")) == []
    assert kinds(tracker.receive(interim("ab"))) == [INTERIM]


def test_stt_ord_3_an_empty_final_emits_final_and_end_so_the_next_segment_starts():
    tracker = SegmentTracker(sample_rate=16000)
    events = tracker.receive(final(""))
    assert kinds(events) == [START, FINAL, END]
    assert the_data(events[1]).text == ""
    assert kinds(tracker.receive(interim("next"))) == [START, INTERIM]


def test_stt_ord_2_start_of_speech_opens_a_segment_once():
    tracker = SegmentTracker(sample_rate=16000)
    assert kinds(tracker.receive(StartOfSpeech())) == [START]
    assert tracker.receive(StartOfSpeech()) == []  # never a START while a segment is open
    assert kinds(tracker.receive(interim("a"))) == [INTERIM]
    assert kinds(tracker.receive(final("a"))) == [FINAL, END]
    assert kinds(tracker.receive(StartOfSpeech())) == [START]


@pytest.mark.parametrize(
    "message",
    [SessionCreated(), SessionFinalized(), SessionClosed(), ErrorMessage(message="x", code=500)],
)
def test_other_messages_make_no_events(message):
    tracker = SegmentTracker(sample_rate=16000)
    tracker.audio_sent(100)
    assert tracker.receive(message) == []
    assert tracker.unreported_samples == 100


# -- STT-USG-1: usage ------------------------------------------------------------------------------


def test_stt_usg_1_usage_is_the_audio_since_the_previous_usage_exact_to_the_sample():
    tracker = SegmentTracker(sample_rate=44100)
    tracker.audio_sent(2205)
    tracker.audio_sent(1)
    (_, usage, *_) = tracker.receive(final("a"))
    assert usage.type is USAGE
    assert usage.recognition_usage is not None
    assert usage.recognition_usage.audio_duration == 2206 / 44100
    # No audio since: no usage event (emitted only when > 0).
    assert kinds(tracker.receive(final("b"))) == [START, FINAL, END]
    # Audio after the last final is never reported.
    tracker.audio_sent(800)
    assert tracker.unreported_samples == 800
    assert tracker.samples_sent == 3006


def test_stt_usg_1_usage_is_emitted_before_the_final_and_after_the_start():
    tracker = SegmentTracker(sample_rate=16000)
    tracker.audio_sent(1)
    assert kinds(tracker.receive(final("x", request_id="r"))) == [START, USAGE, FINAL, END]


# -- STT-ORD-4/5: texts, times and defaults --------------------------------------------------------


def test_stt_ord_5_times_are_offset_based_and_defaults_apply():
    tracker = SegmentTracker(sample_rate=16000, language="fr", request_id="own", offset=2.5)
    data = the_data(
        tracker.receive(
            interim(
                "a b",
                1.25,
                0.5,
                words=(
                    TranscriptWord(word="a", start=1.25, end=1.5, speaker_id="S"),
                    TranscriptWord(word="b", start=1.5, end=1.75, confidence=0.5),
                ),
                speaker_id="S",
                extra={"k": 1},
            )
        )[1]
    )
    assert (data.start_time, data.end_time) == (2.5 + 1.25, 2.5 + 1.25 + 0.5)
    assert data.confidence == 1.0  # missing confidence
    assert data.language == "fr"  # missing language: the configured one
    assert data.speaker_id == "S"
    assert data.metadata == {"k": 1}
    assert data.words == (
        TimedString(text="a", start_time=3.75, end_time=4.0, start_time_offset=2.5, speaker_id="S"),
        TimedString(text="b", start_time=4.0, end_time=4.25, confidence=0.5, start_time_offset=2.5),
    )
    assert str(data.words[0]) == "a"


def test_stt_ord_5_language_falls_back_to_en_and_request_id_to_the_stream_s():
    tracker = SegmentTracker(sample_rate=16000, request_id="own")
    events = tracker.receive(final("x", extra={}))
    assert the_data(events[1]).language == "en"
    assert the_data(events[1]).metadata is None  # an empty extra is no metadata
    assert events[1].request_id == "own"
    events = tracker.receive(final("y", language="de", confidence=0.25, request_id="srv"))
    assert (the_data(events[1]).language, the_data(events[1]).confidence) == ("de", 0.25)
    assert events[1].request_id == "srv"
    tracker.language = "es"  # update_options(language=...) changes the default
    assert the_data(tracker.receive(final("z"))[1]).language == "es"


# -- STT-RETRY-1: offsets across attempts ----------------------------------------------------------


def test_stt_retry_1_the_default_offset_is_the_audio_sent_so_far():
    tracker = SegmentTracker(sample_rate=16000)
    tracker.audio_sent(16000 * 3)
    assert tracker.reconnect() == 3.0
    assert the_data(tracker.receive(final("x", 0.5, 0.25))[2]).start_time == 3.5


def test_stt_retry_1_the_offset_never_goes_back_nor_below_an_emitted_start_time():
    tracker = SegmentTracker(sample_rate=16000, offset=1.0)
    tracker.receive(final("late", 9.0, 1.0))  # a server reporting times past its audio
    assert tracker.reconnect(0.5) == 10.0
    assert tracker.reconnect(12.0) == 12.0
    assert tracker.reconnect(11.0) == 12.0
    with pytest.raises(ValueError):
        tracker.reconnect(-1.0)
    with pytest.raises(ValueError):
        tracker.reconnect(math.nan)


def test_stt_retry_1_an_open_segment_continues_in_the_next_attempt():
    tracker = SegmentTracker(sample_rate=16000)
    assert kinds(tracker.receive(interim("hel"))) == [START, INTERIM]
    tracker.reconnect()
    assert kinds(tracker.receive(interim("hello"))) == [INTERIM]
    assert kinds(tracker.receive(final("hello"))) == [FINAL, END]


def test_arguments_are_checked():
    with pytest.raises(TypeError):
        SegmentTracker(sample_rate=16000.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SegmentTracker(sample_rate=0)
    with pytest.raises(ValueError):
        SegmentTracker(sample_rate=16000, offset=-1)
    tracker = SegmentTracker(sample_rate=16000)
    with pytest.raises(ValueError):
        tracker.audio_sent(-1)
    with pytest.raises(TypeError):
        tracker.audio_sent(True)


# -- properties over arbitrary scripts -------------------------------------------------------------


@dataclass(frozen=True)
class Audio:
    samples: int


@dataclass(frozen=True)
class Reconnect:
    offset: float | None


texts = st.sampled_from(["", "", "a", "hello", "héllo wörld", "😀"]) | st.text(max_size=6)
times = st.floats(min_value=0, max_value=1e4, allow_nan=False, allow_infinity=False)
transcript_fields = {
    "start": times,
    "duration": times,
    "language": st.none() | st.sampled_from(["en", "fr", ""]),
    "confidence": st.none() | st.floats(0, 1),
    "request_id": st.none() | st.sampled_from(["r1", "r2", ""]),
}
server_steps = st.one_of(
    st.builds(InterimTranscript, transcript=texts, **transcript_fields),
    st.builds(FinalTranscript, transcript=texts, **transcript_fields),
    st.just(StartOfSpeech()),
    st.sampled_from(
        [SessionCreated(), SessionFinalized(), SessionClosed(), ErrorMessage(message="", code=1)]
    ),
)
scripts = st.lists(
    st.one_of(
        server_steps,
        server_steps,
        st.builds(Audio, st.integers(0, 5000)),
        st.builds(Reconnect, st.none() | times),
    ),
    max_size=30,
)


def assert_well_formed(events: list[SpeechEvent]) -> None:
    """STT-ORD-1, checked independently of the tracker: START (INTERIM)* [USAGE] FINAL END,
    repeated, maybe followed by one unfinished START (INTERIM)*."""
    open_ = False
    for position, event in enumerate(events):
        following = events[position + 1].type if position + 1 < len(events) else None
        if event.type is START:
            assert not open_, "a START while a segment is open"
            open_ = True
        elif event.type is END:
            assert open_ and events[position - 1].type is FINAL, "an END not right after a FINAL"
            open_ = False
        else:
            assert open_, f"{event.type} outside a segment"
            if event.type is USAGE:
                assert following is FINAL, "a USAGE not right before a FINAL"
            if event.type is FINAL:
                assert following is END, "a FINAL not followed by its END"


@settings(max_examples=200)
@given(st.sampled_from([8000, 16000, 22050, 24000, 44100, 48000]), scripts)
def test_every_script_gives_well_formed_segments_with_the_server_s_texts_and_times(rate, script):
    tracker = SegmentTracker(sample_rate=rate, language="xx", request_id="own")
    events: list[SpeechEvent] = []
    # An independent model of STT-ORD-1..3 and STT-USG-1: the event types each step must give.
    expected_kinds: list[SpeechEventType] = []
    speaking = False
    unreported = 0
    offset = 0.0
    finals: list[str] = []
    interims: list[str] = []
    # Per attempt, the start_times emitted (STT-RETRY-1).
    attempts: list[list[float]] = [[]]
    for step in script:
        if isinstance(step, Audio):
            tracker.audio_sent(step.samples)
            unreported += step.samples
            continue
        if isinstance(step, Reconnect):
            previous = offset
            offset = tracker.reconnect(step.offset)
            assert offset >= previous
            if step.offset is not None:
                assert offset >= step.offset
            attempts.append([])
            continue
        new = tracker.receive(step)
        events.extend(new)
        opens = isinstance(step, (StartOfSpeech, FinalTranscript)) or (
            isinstance(step, InterimTranscript) and step.transcript
        )
        if opens and not speaking:
            expected_kinds.append(START)
            speaking = True
        if isinstance(step, InterimTranscript) and step.transcript:
            expected_kinds.append(INTERIM)
            interims.append(step.transcript)
        if isinstance(step, FinalTranscript):
            if unreported:
                expected_kinds.append(USAGE)
                usage = next(e for e in new if e.type is USAGE).recognition_usage
                assert usage is not None
                # Exact to the sample (STT-USG-1).
                assert usage.audio_duration == unreported / rate
                assert round(usage.audio_duration * rate) == unreported
                unreported = 0
            expected_kinds.extend([FINAL, END])
            finals.append(step.transcript)
            speaking = False
        for event in new:
            if event.type in (INTERIM, FINAL):
                assert isinstance(step, (InterimTranscript, FinalTranscript))
                data = the_data(event)
                # STT-ORD-5, with the offset of the attempt the message arrived in.
                assert data.start_time == offset + step.start
                assert data.end_time == offset + step.start + step.duration
                assert data.confidence == (1.0 if step.confidence is None else step.confidence)
                assert data.language == ("xx" if step.language is None else step.language)
                assert event.request_id == (
                    step.request_id if step.request_id is not None else "own"
                )
                attempts[-1].append(data.start_time)
            elif event.type is USAGE:
                assert isinstance(step, FinalTranscript)
                assert event.request_id == (
                    step.request_id if step.request_id is not None else "own"
                )
            else:
                assert event.request_id == ""
    assert_well_formed(events)
    assert kinds(events) == expected_kinds
    assert tracker.speaking == speaking
    # STT-ORD-4: the server's texts, in order.
    assert [the_data(e).text for e in events if e.type is FINAL] == finals
    assert [the_data(e).text for e in events if e.type is INTERIM] == interims
    # STT-RETRY-1: every start_time of an attempt is at least every start_time before it.
    latest = -math.inf
    for attempt in attempts:
        assert all(time >= latest for time in attempt)
        latest = max([latest, *attempt])
