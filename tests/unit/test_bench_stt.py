"""``voicewire bench stt`` without sockets: the script every session plays, the check that
judges each session (a benchmark that counted wrong answers as fast would be worthless), the
figures' rules and the refusal of bad arguments, never the numbers."""

from __future__ import annotations

import math

import pytest
from voicewire.harness.bench_stt import (
    LATENESS_LIMIT_MS,
    SAMPLE_RATE,
    SessionRecord,
    STTBenchResult,
    STTStep,
    bench_script,
    bench_stt,
    check_session,
    planned_messages,
)
from voicewire.reference.stt.wire import (
    FinalTranscript,
    InterimTranscript,
    SessionCreated,
    SessionFinalized,
    StartOfSpeech,
    encode_message,
    frame_samples,
)

FRAME = frame_samples(SAMPLE_RATE)


# -- the script ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("duration", "segments"), [(0.5, 1), (1.0, 2), (1.2, 2), (5.0, 10)])
def test_the_script_has_a_segment_per_half_second_that_ends_within_the_audio(duration, segments):
    script = bench_script(duration)
    assert len(script.segments) == segments
    assert all(segment.end <= duration + 1e-9 for segment in script.segments)
    assert len({segment.text for segment in script.segments}) == segments


def test_every_scripted_transcript_is_due_at_the_end_of_a_frame_of_the_audio():
    planned = planned_messages(1.0)

    assert isinstance(planned[0].message, SessionCreated) and planned[0].frame is None
    assert isinstance(planned[-1].message, SessionFinalized) and planned[-1].frame is None
    speech = planned[1:-1]
    # Per segment: start_of_speech, the interims of one and of two words ended, the final.
    assert [type(m.message) for m in speech] == 2 * [
        StartOfSpeech,
        InterimTranscript,
        InterimTranscript,
        FinalTranscript,
    ]
    assert [m.message.transcript for m in speech if isinstance(m.message, FinalTranscript)] == [
        segment.text for segment in bench_script(1.0).segments
    ]
    frames = [m.frame for m in speech]
    assert all(frame is not None and 0 <= frame < 20 for frame in frames)
    assert frames == sorted(frames)


# -- judging a session ---------------------------------------------------------------------------


def served(duration: float = 1.0, session: str = "stt_sess_1", request: str = "stt_req_1"):
    """A session that got exactly its script, as the load generator and the hook saw it."""
    planned = planned_messages(duration)
    frames = round(duration / 0.05)
    record = SessionRecord(index=0, close_code=1000)
    record.frame_written = [10.0 + 0.05 * (k + 1) for k in range(frames)]
    record.frame_scheduled = list(record.frame_written)
    hook = []
    for item in planned:
        message = item.message
        if isinstance(message, SessionCreated):
            message = message.model_copy(update={"session_id": session})
        elif getattr(message, "request_id", None) is not None:
            message = message.model_copy(update={"request_id": request})
        if item.frame is None:
            samples = 0 if isinstance(message, SessionCreated) else frames * FRAME
            arrived = 10.0
        else:
            samples = (item.frame + 1) * FRAME
            arrived = record.frame_written[item.frame] + 0.001
        hook.append([message.type, samples, arrived, arrived + 0.002])
        record.received.append((arrived + 0.003, encode_message(message)))
    return planned, record, {session: hook}


def test_a_session_that_got_its_script_gives_the_timings_of_what_its_audio_made_due():
    planned, record, hooked = served()

    problem, timings = check_session(planned, record, hooked)

    assert problem is None
    assert len(timings) == len([m for m in planned if m.frame is not None]) == 8
    for lateness, handler, delivered in timings:
        assert lateness == pytest.approx(0.003)
        assert handler == pytest.approx(0.002)
        assert delivered == pytest.approx(0.004)


def test_a_missing_message_fails_the_session():
    planned, record, hooked = served()
    del record.received[3]

    problem, timings = check_session(planned, record, hooked)

    assert problem is not None and timings == []
    assert "9 messages arrived, the script has 10" in problem


def test_a_wrong_transcript_fails_the_session():
    planned, record, hooked = served()
    at, text = record.received[4]
    record.received[4] = (at, text.replace("bravo", "brave"))

    problem, _ = check_session(planned, record, hooked)

    assert problem is not None and problem.startswith("message 4 is ")


def test_messages_out_of_order_fail_the_session():
    planned, record, hooked = served()
    record.received[2], record.received[3] = record.received[3], record.received[2]

    problem, _ = check_session(planned, record, hooked)

    assert problem is not None and "message 2" in problem


def test_another_sessions_transcript_fails_the_session():
    planned, record, hooked = served()
    at, text = record.received[6]  # the second segment's first interim
    record.received[6] = (at, text.replace("stt_req_1", "stt_req_2"))

    problem, _ = check_session(planned, record, hooked)

    assert problem is not None and "several request_ids" in problem


def test_a_close_other_than_1000_fails_the_session():
    planned, record, hooked = served()
    record.close_code = 1011

    problem, _ = check_session(planned, record, hooked)

    assert problem == "the socket closed with 1011, not 1000"


def test_a_message_sent_by_another_frame_than_the_script_says_fails_the_session():
    planned, record, hooked = served()
    hooked["stt_sess_1"][2][1] += FRAME

    problem, _ = check_session(planned, record, hooked)

    assert problem is not None and "the script has it at" in problem


def test_a_session_the_hook_did_not_see_fails():
    planned, record, _ = served()

    problem, _ = check_session(planned, record, {})

    assert problem == "the simulator's lateness hook saw no session 'stt_sess_1'"


def test_a_failure_of_the_load_generator_is_the_sessions_problem():
    planned, record, hooked = served()
    record.failure = "the connection failed: reset"

    assert check_session(planned, record, hooked) == ("the connection failed: reset", [])


# -- the figures ---------------------------------------------------------------------------------


def step(sessions: int, p99: float, ok: int | None = None, cpu: float | None = 1.0) -> STTStep:
    return STTStep(
        sessions=sessions,
        audio_seconds=2.0,
        sessions_ok=sessions if ok is None else ok,
        problems=(),
        events=sessions * 16,
        lateness_p50_ms=p99 / 2,
        lateness_p99_ms=p99,
        lateness_max_ms=p99 * 2,
        handler_p99_ms=0.5,
        delivered_p99_ms=p99,
        wall_seconds=2.5,
        simulator_cpu_seconds=cpu,
        generator_cpu_seconds=0.5,
        generator_lag_p99_ms=1.0,
    )


def test_the_largest_step_under_the_limit_with_every_session_right_is_judged():
    result = STTBenchResult(
        audio_seconds=2.0,
        steps=(
            step(50, 1.0),
            step(100, LATENESS_LIMIT_MS - 0.1),
            step(200, 3.0, ok=199),  # fast but wrong: never passes
            step(400, LATENESS_LIMIT_MS),
        ),
    )

    assert result.largest_passing is not None and result.largest_passing.sessions == 100
    assert result.sessions_per_core == 100 and not result.meets_target
    assert result.steps[0].sessions_per_core == 50 * 2.0 / 1.0
    data = result.to_json()
    assert data["largest_passing_sessions"] == 100
    assert [s["passes"] for s in data["steps"]] == [True, True, False, False]


def test_a_simulator_on_more_than_one_core_is_divided_by_its_cores():
    # 5.0 CPU seconds over 2.5 s of wall: two cores.
    result = STTBenchResult(audio_seconds=2.0, steps=(step(400, 1.0, cpu=5.0),))
    assert result.sessions_per_core == 200 and result.meets_target


def test_no_step_passing_is_zero_sessions_per_core_and_a_json_without_nan():
    nothing = step(10, math.nan)
    result = STTBenchResult(audio_seconds=2.0, steps=(nothing,))
    assert result.largest_passing is None and result.sessions_per_core == 0
    assert result.to_json()["steps"][0]["lateness_p99_ms"] is None


# -- bad arguments -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"sessions": []}, ValueError),
        ({"sessions": [0]}, ValueError),
        ({"sessions": "10"}, TypeError),
        ({"sessions": [True]}, TypeError),
        ({"duration": 0.2}, ValueError),
        ({"duration": "1"}, TypeError),
    ],
)
async def test_bench_stt_refuses_bad_parameters_before_starting(kwargs, error):
    with pytest.raises(error):
        await bench_stt(**kwargs)
