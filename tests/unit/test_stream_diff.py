"""Stream normalisation and the N-way comparison: what two runs of an operation must share
(each protocol's normaliser on hand-made events) and how a difference reads."""

from __future__ import annotations

import itertools
import json

from hypothesis import given
from hypothesis import strategies as st
from voicewire.harness.events import ErrorInfo
from voicewire.harness.inworld import InworldTimedTextEvent
from voicewire.harness.llm import (
    AttemptErrorEvent,
    AvailabilityEvent,
    ChatEndEvent,
    ChunkEvent,
    ToolCall,
    UsageEvent,
)
from voicewire.harness.protocols import NORMALISERS
from voicewire.harness.stream_diff import NormalisedStream, compare
from voicewire.harness.stt import (
    SpeechEventRecord,
    STTAlternative,
    STTAttemptErrorEvent,
    STTEndEvent,
)
from voicewire.harness.tts import TTSAudioEvent, TTSEndEvent

# -- hand-made streams -------------------------------------------------------------------------


def chat(
    pieces: list[str], arguments: str = '{"city": "Paris", "days": 3}', *, errors: int = 0
) -> list[object]:
    events: list[object] = [
        AttemptErrorEvent(
            t=0.0,
            error=ErrorInfo(kind="APIStatusError", status_code=503, retryable=True),
            recoverable=True,
        )
        for _ in range(errors)
    ]
    events += [ChunkEvent(t=0.1 * i, id="cmpl-1", content=piece) for i, piece in enumerate(pieces)]
    events += [
        ChunkEvent(
            t=1.0,
            id="cmpl-1",
            tool_calls=(ToolCall(name="weather", arguments=arguments, call_id="call_1"),),
        ),
        UsageEvent(
            t=1.1,
            id="cmpl-1",
            completion_tokens=5,
            prompt_tokens=7,
            prompt_cached_tokens=0,
            total_tokens=12,
        ),
        ChatEndEvent(t=1.2),
    ]
    return events


def llm(events: list[object]) -> NormalisedStream:
    return NORMALISERS.normalise("llm.chat", events)


def speech(final_end: float = 1.2, text: str = "hello world") -> list[object]:
    return [
        SpeechEventRecord(t=0.1, speech_type="start_of_speech"),
        SpeechEventRecord(
            t=0.2,
            speech_type="interim_transcript",
            alternatives=(STTAlternative(text="hello"),),
        ),
        SpeechEventRecord(
            t=0.3,
            speech_type="interim_transcript",
            alternatives=(STTAlternative(text="hello wor"),),
        ),
        SpeechEventRecord(t=0.4, speech_type="recognition_usage", audio_duration=1.2),
        SpeechEventRecord(
            t=0.5,
            speech_type="final_transcript",
            request_id="req-1",
            alternatives=(
                STTAlternative(text=text, start_time=0.3, end_time=final_end, language="en"),
            ),
        ),
        SpeechEventRecord(t=0.6, speech_type="end_of_speech"),
        STTEndEvent(t=0.7),
    ]


PCM = bytes(range(256)) * 8  # 2048 bytes: 1024 samples


def frames(pcm: bytes, cuts: list[int], synthesis: int = 0) -> list[TTSAudioEvent]:
    bounds = [0, *sorted(cuts), len(pcm)]
    pieces = [pcm[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    return [
        TTSAudioEvent.of(
            0.01 * i,
            synthesis,
            piece,
            sample_rate=16000,
            segment_id="seg-1",
            is_final=i == len(pieces) - 1,
        )
        for i, piece in enumerate(pieces)
    ]


def synthesis(pcm: bytes = PCM, cuts: tuple[int, ...] = (512, 1024)) -> list[object]:
    return [*frames(pcm, list(cuts)), TTSEndEvent(t=1.0, synthesis=0)]


def differences(a: NormalisedStream, b: NormalisedStream, tolerance: float = 0.05) -> dict:
    matrix = compare([a, b], tolerance=tolerance)
    return {aspect: text for _pair, aspect, text in matrix.differences()}


# -- LLM ---------------------------------------------------------------------------------------


def test_chunk_boundaries_do_not_matter():
    assert differences(llm(chat(["Hel", "lo, ", "world"])), llm(chat(["Hello, world"]))) == {}


def test_tool_arguments_compare_as_json_and_a_changed_argument_names_its_path():
    same = llm(chat(["Hi"], '{"days":3,"city":"Paris"}'))
    assert differences(llm(chat(["Hi"])), same) == {}
    changed = differences(llm(chat(["Hi"])), llm(chat(["Hi"], '{"city": "Lyon", "days": 3}')))
    assert changed == {"tool_calls": 'tool_calls[0].arguments.city: "Paris" vs "Lyon"'}


def test_text_difference_names_the_first_differing_character():
    found = differences(
        llm(chat(["The weather in Paris is sunny today and warm"])),
        llm(chat(["The weather in Paris is rainy today and warm"])),
    )
    assert list(found) == ["text"]
    assert "first difference at character 24" in found["text"]


def test_an_extra_failed_attempt_is_an_error_difference_and_an_order_difference():
    found = differences(llm(chat(["Hi"])), llm(chat(["Hi"], errors=1)))
    assert set(found) == {"errors", "order"}
    assert found["errors"].startswith("errors[0]: (none) vs ")
    assert '"status_code": 503' in found["errors"]


def test_order_collapses_runs_of_one_type():
    stream = llm(chat(["a", "b", "c", "d", "e"]))
    assert stream.aspects["order"].value == ["llm.chunk", "llm.usage", "llm.end"]


def test_unknown_event_types_are_ignored():
    events = chat(["Hi"])
    plain = llm(events)
    with_unknown = llm([{"type": "llm.reasoning", "t": 0.0, "text": "hmm"}, *events])
    assert differences(plain, with_unknown) == {}


def test_fallback_reports_availability():
    events = [AvailabilityEvent(t=0.0, llm="primary", available=False), *chat(["Hi"])]
    stream = NORMALISERS.normalise("llm.fallback", events)
    assert stream.aspects["availability"].value == [{"llm": "primary", "available": False}]
    assert stream.aspects["availability"].rules == ("FALLBACK-4",)


# -- STT ---------------------------------------------------------------------------------------


def stt(events: list[object], capability: str = "stt.stream") -> NormalisedStream:
    return NORMALISERS.normalise(capability, events)


def test_a_final_0_1_s_later_agrees_only_within_the_tolerance():
    early, late = stt(speech(final_end=1.2)), stt(speech(final_end=1.3))
    assert differences(early, late, tolerance=0.15) == {}
    assert differences(early, late, tolerance=0.05) == {
        "finals": "finals[0].end: 1.200 vs 1.300 (tolerance 0.050)"
    }


def test_finals_keep_text_language_and_times_and_cite_their_rules():
    aspect = stt(speech()).aspects["finals"]
    assert aspect.value == [{"text": "hello world", "language": "en", "start": 0.3, "end": 1.2}]
    assert aspect.rules == ("STT-ORD-4", "STT-ORD-5")


def test_inworld_finals_have_no_times():
    early = stt(speech(final_end=1.2), "inworld.stt.stream")
    late = stt(speech(final_end=9.0), "inworld.stt.stream")
    assert early.aspects["finals"].value == [{"text": "hello world", "language": "en"}]
    assert differences(early, late, tolerance=0.0) == {}


def _usages(events: list[object], durations: list[float]) -> list[object]:
    """``events`` with their usage replaced by one usage per duration, in its place."""
    at = next(
        i for i, e in enumerate(events) if getattr(e, "speech_type", "") == "recognition_usage"
    )
    usage = [
        SpeechEventRecord(t=0.4, speech_type="recognition_usage", audio_duration=d)
        for d in durations
    ]
    return [*events[:at], *usage, *events[at + 1 :]]


def test_usage_compares_what_does_not_depend_on_how_fast_the_client_sent():
    # LiveKit: one usage before the FINAL, covering what each client had sent by its arrival.
    slow, fast = stt(_usages(speech(), [0.95])), stt(_usages(speech(), [1.28]))
    assert differences(slow, fast) == {}
    assert differences(slow, stt(_usages(speech(), [])))["usage"] == "usage.events: 1 vs 0"
    # Inworld: reports add up to the audio pushed, split by audio or by the wall clock.
    inworld = "inworld.stt.stream"
    by_audio = stt(_usages(speech(), [5.0, 5.0, 2.0]), inworld)
    by_clock = stt(_usages(speech(), [1.3, 10.7]), inworld)
    assert differences(by_audio, by_clock) == {}
    assert differences(by_audio, stt(_usages(speech(), [1.3, 10.0]), inworld)) == {
        "usage": "usage.audio_duration: 12.000 vs 11.300 (tolerance 0.050)"
    }


def test_stt_error_and_order():
    failing = [
        *speech()[:-1],
        STTAttemptErrorEvent(
            t=0.7, error=ErrorInfo(kind="APIStatusError", retryable=True), recoverable=False
        ),
        STTEndEvent(t=0.8, error=ErrorInfo(kind="APIConnectionError", retryable=False)),
    ]
    stream = stt(failing)
    assert stream.aspects["order"].value == [
        "start_of_speech",
        "interim_transcript",
        "recognition_usage",
        "final_transcript",
        "end_of_speech",
        "stt.error",
        "stt.end",
    ]
    assert [error["kind"] for error in stream.aspects["errors"].value] == [
        "APIStatusError",
        "APIConnectionError",
    ]


# -- TTS and Inworld ---------------------------------------------------------------------------


def tts(events: list[object], capability: str = "tts.stream") -> NormalisedStream:
    return NORMALISERS.normalise(capability, events)


def test_audio_is_the_concatenated_pcm_whatever_the_framing():
    assert differences(tts(synthesis(cuts=(512, 1024))), tts(synthesis(cuts=(100,)))) == {}
    audio = tts(synthesis()).aspects["audio"].value
    assert audio["bytes"] == len(PCM)
    assert audio["duration"] == len(PCM) / 2 / 16000
    assert audio["syntheses"][0]["last_final"] is True


def test_one_audio_byte_different_is_an_audio_difference():
    changed = bytearray(PCM)
    changed[1000] ^= 1
    found = differences(tts(synthesis()), tts(synthesis(bytes(changed))))
    assert list(found) == ["audio"]
    assert found["audio"].startswith("audio.sha256: ")


def test_inworld_timed_text_compares_times_within_tolerance():
    def events(start: float) -> list[object]:
        return [
            *frames(PCM, [700]),
            InworldTimedTextEvent(t=0.1, synthesis=0, text="hello", start_time=start, end_time=0.4),
            TTSEndEvent(t=1.0, synthesis=0),
        ]

    a = tts(events(0.0), "inworld.tts.http")
    assert a.aspects["timed_text"].value == [
        {"synthesis": 0, "words": [{"text": "hello", "start": 0.0, "end": 0.4}]}
    ]
    assert differences(a, tts(events(0.04), "inworld.tts.http")) == {}
    assert differences(a, tts(events(0.2), "inworld.tts.http")) == {
        "timed_text": "timed_text[0].words[0].start: 0.000 vs 0.200 (tolerance 0.050)"
    }


def test_voices_compare_the_answer():
    voices = {"voices": [{"voiceId": "Ashley", "languages": ["en"]}]}
    a = NORMALISERS.normalise("inworld.voices", [], voices)
    failed = NORMALISERS.normalise(
        "inworld.voices", [], {"error": {"kind": "APIStatusError", "status_code": 401}}
    )
    assert set(differences(a, failed)) == {"voices", "errors"}


# -- the matrix --------------------------------------------------------------------------------


def test_three_inputs_where_two_agree():
    a, b, c = llm(chat(["Hello"])), llm(chat(["Hel", "lo"])), llm(chat(["Help"]))
    matrix = compare([a, b, c], tolerance=0.05, names=["ref", "iut", "old"])
    assert not matrix.agree
    cells = {
        (matrix.names[i], matrix.names[j]): {k: v.agree for k, v in cell.items()}
        for (i, j), cell in matrix.cells.items()
    }
    assert all(cells[("ref", "iut")].values())
    assert cells[("ref", "old")]["text"] is False
    assert cells[("iut", "old")]["text"] is False
    assert cells[("ref", "old")]["tool_calls"] is True
    text = matrix.render_text()
    header, *rows = text.splitlines()
    assert header.split()[:4] == ["aspect", "ref~iut", "ref~old", "iut~old"]
    text_row = next(row for row in rows if row.startswith("text "))
    assert text_row.split()[1:4] == ["same", "DIFF", "DIFF"]
    assert '  ref~old  text: "Hello" vs "Help"' in text
    data = json.loads(json.dumps(matrix.to_json()))
    assert data["agree"] is False
    assert [pair["agree"] for pair in data["pairs"]] == [True, False, False]
    assert data["aspects"]["text"] == ["LLM-TXT-1", "LLM-TXT-2", "LLM-TC-5"]


def test_different_capabilities_and_a_missing_session_differ():
    matrix = compare([llm(chat(["Hi"])), stt(speech()), NormalisedStream(None)], tolerance=0.05)
    found = {(pair, aspect): text for pair, aspect, text in matrix.differences()}
    assert found[("A~B", "capability")] == "llm.chat vs stt.stream"
    assert found[("A~C", "capability")] == "llm.chat vs (no session)"
    assert found[("A~B", "finals")] == "finals: only B has it"


def test_only_limits_the_aspects():
    matrix = compare(
        [llm(chat(["Hello"])), llm(chat(["Help"]))], tolerance=0.05, only=["tool_calls"]
    )
    assert matrix.aspects == ("tool_calls",)
    assert matrix.agree


# -- invariance under re-chunking --------------------------------------------------------------


@given(text=st.text(max_size=40), cuts=st.lists(st.integers(0, 40), max_size=8))
def test_llm_normalisation_is_invariant_under_rechunking(text, cuts):
    bounds = sorted({0, len(text), *(cut for cut in cuts if cut <= len(text))})
    pieces = [text[a:b] for a, b in itertools.pairwise(bounds)]
    assert llm(chat(pieces)) == llm(chat([text]))


@given(
    pcm=st.binary(min_size=2, max_size=400).map(lambda b: b[: len(b) // 2 * 2]),
    cuts=st.lists(st.integers(0, 200), max_size=8),
)
def test_audio_normalisation_is_invariant_under_reframing(pcm, cuts):
    sample_cuts = [2 * cut for cut in cuts if 2 * cut < len(pcm)]
    assert tts(synthesis(pcm, tuple(sample_cuts))) == tts(synthesis(pcm, ()))
    assert tts(synthesis(pcm, ())).aspects["audio"].value["bytes"] == len(pcm)
