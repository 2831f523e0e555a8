"""``voicewire bench tts`` without sockets: the sentences and what the script makes of them, the
judging of each session frame by frame (a benchmark that counted wrong audio as fast would be
worthless), the figures' rules and the refusal of bad arguments, never the numbers."""

from __future__ import annotations

import json
import math

import pytest
from voicewire.harness.bench_tts import (
    MAX_TTS_SESSIONS,
    TTS_BENCH_SAMPLE_RATE,
    ScriptedSynthesis,
    TTSBenchResult,
    TTSSessionRecord,
    bench_texts,
    bench_tts,
    bench_tts_reply,
    check_tts_session,
    format_tts_report,
    scripted_synthesis,
    tts_step,
)
from voicewire.harness.cli import main
from voicewire.reference.tone_code import encode_tone, tone_duration
from voicewire.reference.tts.wire import (
    AlignedWord,
    OutputAlignment,
    OutputAudio,
    SynthesisDone,
    TTSErrorMessage,
    TTSSessionCreated,
    encode_tts_message,
)
from voicewire.simulators.tts.routes import MAX_TRANSCRIPT_BYTES

RATE = TTS_BENCH_SAMPLE_RATE


# -- the workload --------------------------------------------------------------------------------


@pytest.mark.parametrize("duration", [0.5, 1.0, 5.0, 60.0])
def test_the_sentences_last_the_duration_asked_for_and_differ(duration):
    texts = bench_texts(duration)

    assert len(set(texts)) == len(texts) == 8
    assert all(text == text.strip() and text.isascii() for text in texts)
    assert len({tone_duration(text) for text in texts}) == 1
    # 70 ms per character: the closest length.
    assert abs(tone_duration(texts[0]) - duration) <= 0.035 + 1e-9
    assert len(texts[0].encode()) <= MAX_TRANSCRIPT_BYTES


def test_the_script_cuts_the_tone_code_as_the_simulator_does_and_times_it():
    reply = bench_tts_reply(chunk_duration=0.1, ttfb=0.2, real_time_factor=0.5)
    text = bench_texts(1.0)[3]

    scripted = scripted_synthesis(text, reply)

    samples = encode_tone(text, sample_rate=RATE).samples
    assert scripted.samples == len(samples) and scripted.audio_seconds == len(samples) / RATE
    assert scripted.chunk_samples[:-1] == (2400,) * (len(scripted.chunk_samples) - 1)
    assert 0 < scripted.chunk_samples[-1] <= 2400 and sum(scripted.chunk_samples) == len(samples)
    # ttfb, then one pace of 0.1 s x 0.5 before each chunk but the first.
    expected = 0.2 + (len(scripted.chunk_samples) - 1) * 0.05
    assert scripted.scripted_seconds == pytest.approx(expected)
    assert scripted.real_time_factor == pytest.approx(expected / scripted.audio_seconds)


# -- judging a session ---------------------------------------------------------------------------


SESSION = "tts_sess_1"


def frames(scripted: ScriptedSynthesis, session: str = SESSION) -> list[str]:
    """What the simulator sends a session that speaks ``scripted.text``, in order."""
    pcm = encode_tone(scripted.text, sample_rate=RATE).to_bytes()
    sent = [encode_tts_message(TTSSessionCreated(session_id=session))]
    start = 0
    for size in scripted.chunk_samples:
        chunk = pcm[start : start + 2 * size]
        sent.append(encode_tts_message(OutputAudio.from_pcm(chunk, session_id=session)))
        start += 2 * size
    sent.append(encode_tts_message(SynthesisDone(session_id=session)))
    return sent


def scripted_one(ttfb: float = 0.1, real_time_factor: float = 1.0) -> ScriptedSynthesis:
    reply = bench_tts_reply(chunk_duration=0.1, ttfb=ttfb, real_time_factor=real_time_factor)
    return scripted_synthesis(bench_texts(0.5)[0], reply)


def feed(record: TTSSessionRecord, sent: list[str], start: float = 10.0) -> bool:
    """Each frame arrives 0.1 s after the one before, the first 0.1 s after ``start``."""
    record.input_written = start
    over = False
    for position, text in enumerate(sent, start=1):
        over = record.receive(text, start + 0.1 * position)
        if over:
            break
    return over


def test_a_session_that_got_its_audio_gives_its_timings():
    scripted = scripted_one()
    sent = frames(scripted)
    record = TTSSessionRecord(index=0)

    assert feed(record, sent)
    problem, timing = check_tts_session(record, scripted)

    assert problem is None and timing is not None
    assert record.session_id == SESSION and record.samples == scripted.samples
    # session.created at +0.1 s, the first chunk at +0.2 s, done last.
    assert timing.ttfb == pytest.approx(0.2)
    assert timing.wall == pytest.approx(0.1 * len(sent))
    assert timing.real_time_factor == pytest.approx(timing.wall / scripted.audio_seconds)
    assert timing.ratio == pytest.approx(timing.wall / scripted.scripted_seconds)
    assert timing.lateness == pytest.approx(timing.wall - scripted.scripted_seconds)


def test_a_script_that_paces_nothing_has_no_ratio():
    scripted = scripted_one(ttfb=0.0, real_time_factor=0.0)
    record = TTSSessionRecord(index=0)
    feed(record, frames(scripted))

    problem, timing = check_tts_session(record, scripted)

    assert problem is None and timing is not None and timing.ratio is None


def test_a_missing_chunk_fails_the_session():
    scripted = scripted_one()
    sent = frames(scripted)
    del sent[2]
    record = TTSSessionRecord(index=0)
    feed(record, sent)

    problem, timing = check_tts_session(record, scripted)

    n = len(scripted.chunk_samples)
    assert problem == f"{n - 1} output_audio chunks arrived, the script makes {n}"
    assert timing is None


def test_chunks_cut_otherwise_fail_the_session():
    scripted = scripted_one()
    pcm = encode_tone(scripted.text, sample_rate=RATE).to_bytes()
    sent = frames(scripted)
    # The same audio, the first two chunks cut 10 samples later.
    first, second = scripted.chunk_samples[:2]
    sent[1] = encode_tts_message(OutputAudio.from_pcm(pcm[: 2 * first + 20], session_id=SESSION))
    sent[2] = encode_tts_message(
        OutputAudio.from_pcm(pcm[2 * first + 20 : 2 * (first + second)], session_id=SESSION)
    )
    record = TTSSessionRecord(index=0)
    feed(record, sent)

    problem, _ = check_tts_session(record, scripted)

    assert problem == f"chunk 0 holds {first + 10} samples, the script has {first}"


def test_other_audio_fails_the_session():
    scripted = scripted_one()
    sent = frames(scripted)
    other = scripted_synthesis(bench_texts(0.5)[1], bench_tts_reply())
    sent[1:-1] = frames(other)[1:-1]
    record = TTSSessionRecord(index=0)
    feed(record, sent)

    problem, _ = check_tts_session(record, scripted)

    assert problem is not None and "is not the tone code of its text" in problem


def test_another_sessions_id_fails_the_session():
    scripted = scripted_one()
    sent = frames(scripted)
    sent[2] = sent[2].replace(SESSION, "tts_sess_2")
    record = TTSSessionRecord(index=0)

    assert feed(record, sent)
    problem, _ = check_tts_session(record, scripted)

    assert problem == "output_audio carries session_id 'tts_sess_2', the session is 'tts_sess_1'"


@pytest.mark.parametrize(
    ("replace", "reason"),
    [
        (
            encode_tts_message(TTSErrorMessage(message="overloaded", code=500)),
            "the simulator sent an error: overloaded",
        ),
        (
            encode_tts_message(
                OutputAlignment(words=[AlignedWord(word="a", start=0, end=0.1)], session_id=SESSION)
            ),
            "an unscripted output_alignment arrived",
        ),
        (
            encode_tts_message(TTSSessionCreated(session_id=SESSION)),
            "a second session.created arrived",
        ),
        ('{"type": "output_audio", "audio": 7}', "a frame is not a TTS server message"),
        ('{"type": "session.updated"}', "a frame is not a TTS server message"),
    ],
)
def test_an_unscripted_frame_fails_the_session_at_once(replace, reason):
    scripted = scripted_one()
    sent = frames(scripted)
    sent[2] = replace
    record = TTSSessionRecord(index=0)

    assert feed(record, sent)

    assert record.failure is not None and record.failure.startswith(reason)
    assert check_tts_session(record, scripted) == (record.failure, None)
    assert len(record.chunk_samples) == 1


def test_audio_before_session_created_fails_the_session():
    scripted = scripted_one()
    record = TTSSessionRecord(index=0)

    assert feed(record, frames(scripted)[1:])

    assert record.failure == "output_audio arrived before session.created"


def test_a_synthesis_without_done_fails_the_session():
    scripted = scripted_one()
    record = TTSSessionRecord(index=0)

    assert not feed(record, frames(scripted)[:-1])

    assert check_tts_session(record, scripted) == ("the synthesis did not end with done", None)


def test_a_frame_after_done_fails_the_session():
    scripted = scripted_one()
    record = TTSSessionRecord(index=0)
    sent = frames(scripted)
    feed(record, sent)

    assert record.receive(sent[1], 99.0)

    assert record.failure is not None and record.failure.startswith("a frame arrived after done")


# -- the figures ---------------------------------------------------------------------------------


def served(index: int, scripted: ScriptedSynthesis, start: float = 10.0) -> TTSSessionRecord:
    record = TTSSessionRecord(index=index)
    feed(record, frames(scripted, f"tts_sess_{index}"), start)
    return record


def test_a_step_aggregates_the_sessions_that_got_their_audio_and_names_the_others():
    reply = bench_tts_reply(chunk_duration=0.1, ttfb=0.1, real_time_factor=1.0)
    scripts = [scripted_synthesis(text, reply) for text in bench_texts(0.5)]
    records = [served(index, scripts[index % len(scripts)]) for index in range(4)]
    records[2].failure = "the connection failed: reset"

    step = tts_step(
        4,
        scripts,
        records,
        wall_seconds=2.0,
        simulator_cpu_seconds=0.5,
        generator_cpu_seconds=0.1,
        gc_pauses=[(0, 0.001), (2, 0.004)],
    )

    assert step.sessions_ok == 3 and not step.all_delivered
    assert step.problems == ("session 2: the connection failed: reset",)
    wall = 0.1 * len(frames(scripts[0]))
    assert step.ttfb_p50_ms == pytest.approx(200.0) and step.ttfb_p99_ms == pytest.approx(200.0)
    assert step.rtf_p99 == pytest.approx(wall / scripts[0].audio_seconds)
    assert step.ratio_max == pytest.approx(wall / scripts[0].scripted_seconds)
    # Audio delivered counts every session's, the failed one's too.
    delivered = sum(r.samples for r in records) / RATE
    assert step.audio_delivered_seconds == pytest.approx(delivered)
    assert step.audio_per_second == pytest.approx(delivered / 2.0)
    assert step.audio_per_cpu_second == pytest.approx(delivered / 0.5)
    assert step.simulator_cores == pytest.approx(0.25)
    assert step.simulator_gc_max_ms == pytest.approx(4.0)


def test_the_result_passes_only_when_every_session_of_every_step_got_its_audio():
    reply = bench_tts_reply(chunk_duration=0.1, ttfb=0.0, real_time_factor=0.0)
    scripts = [scripted_synthesis(text, reply) for text in bench_texts(0.5)]
    good = tts_step(
        2,
        scripts,
        [served(0, scripts[0]), served(1, scripts[1])],
        wall_seconds=1.0,
        simulator_cpu_seconds=None,
        generator_cpu_seconds=0.1,
    )
    nobody = tts_step(
        1,
        scripts,
        [TTSSessionRecord(index=0, failure="could not connect: refused")],
        wall_seconds=1.0,
        simulator_cpu_seconds=0.0,
        generator_cpu_seconds=0.1,
    )

    assert TTSBenchResult(reply, scripts[0], (good,)).all_delivered
    result = TTSBenchResult(reply, scripts[0], (good, nobody))
    assert not result.all_delivered
    # Nothing scripted to pace: no ratio; no session: no timing; no CPU read: no per core.
    assert math.isnan(good.ratio_p99) and math.isnan(nobody.rtf_p50)
    assert good.audio_per_cpu_second is None and nobody.audio_per_cpu_second is None
    data = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert [s["all_delivered"] for s in data["steps"]] == [True, False]
    assert data["steps"][0]["ratio_p99"] is None and data["steps"][1]["ttfb_p50_ms"] is None
    assert data["all_delivered"] is False and data["chunks"] == len(scripts[0].chunk_samples)
    report = format_tts_report(result)
    assert "1 session(s) did NOT get exactly their audio" in report
    assert "! session 0: could not connect: refused" in report


# -- bad arguments -------------------------------------------------------------------------------


def test_a_script_too_long_is_refused_before_measuring(capsys):
    argv = ["--duration", "60", "--real-time-factor", "2", "--ttfb", "1"]
    assert main(["bench", "tts", *argv]) == 2
    assert capsys.readouterr().err.startswith(
        "voicewire bench tts: error: --ttfb + --duration x --real-time-factor must be at most "
        "120 s, got 120.9"
    )


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"sessions": []}, ValueError),
        ({"sessions": [MAX_TTS_SESSIONS + 1]}, ValueError),
        ({"sessions": "10"}, TypeError),
        ({"duration": 0.2}, ValueError),
        ({"duration": "1"}, TypeError),
        ({"ttfb": math.nan}, ValueError),
        ({"real_time_factor": True}, TypeError),
        ({"chunk_duration": 0.0}, ValueError),
        ({"duration": 60.0, "real_time_factor": 2.5}, ValueError),
    ],
)
async def test_bench_tts_refuses_bad_parameters_before_starting(kwargs, error):
    with pytest.raises(error):
        await bench_tts(**kwargs)
