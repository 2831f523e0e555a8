"""``voicewire bench inworld`` without sockets: what the reply and the contexts must deliver,
the judging of every answer and every context (a benchmark that counted wrong audio as fast
would be worthless), the figures' rules, the report and the refusal of bad arguments, never
the numbers."""

from __future__ import annotations

import json
import math
import zlib

import pytest
from voicewire.harness.bench_inworld import (
    CONTEXTS_PER_SOCKET,
    INWORLD_BENCH_SAMPLE_RATE,
    MAX_INWORLD_SOCKETS,
    BenchContextRecord,
    InworldBenchResult,
    InworldExpectedAudio,
    NDJSONRequestRecord,
    bench_inworld,
    check_context,
    check_ndjson_body,
    check_synthesis_answer,
    contexts_step,
    format_inworld_report,
    inworld_expected_audio,
    ndjson_figures,
)
from voicewire.harness.bench_tts import bench_texts
from voicewire.reference.inworld.wire.contexts import create_context_config
from voicewire.reference.inworld.wire.multiplexer import (
    ContextAudio,
    ContextCreated,
    ContextDone,
    ContextFailed,
    ContextFailureKind,
    ContextFlushed,
    InworldClientMultiplexer,
    InworldServerMultiplexer,
)
from voicewire.reference.inworld.wire.synthesis import inworld_error_line, inworld_result_line
from voicewire.reference.tone_code import encode_tone
from voicewire.simulators.inworld.contexts import InworldContextsReply
from voicewire.simulators.inworld.synthesis import InworldSynthesisReply, synthesis_lines

RATE = INWORLD_BENCH_SAMPLE_RATE
TEXT = bench_texts(0.5)[0]


def pcm_of(text: str) -> bytes:
    return encode_tone(text.strip(), sample_rate=RATE).to_bytes()


# -- what must be delivered ----------------------------------------------------------------------


def test_the_expected_audio_is_the_tone_code_cut_as_the_simulator_cuts_it():
    expected = inworld_expected_audio(TEXT + "  ", 0.02)

    pcm = pcm_of(TEXT)
    assert expected.samples == len(pcm) // 2 and expected.crc32 == zlib.crc32(pcm)
    assert expected.audio_seconds == expected.samples / RATE
    assert expected.chunk_samples[:-1] == (480,) * (len(expected.chunk_samples) - 1)
    assert 0 < expected.chunk_samples[-1] <= 480 and sum(expected.chunk_samples) == expected.samples
    # The simulator's own cut of the same audio.
    lines = list(
        synthesis_lines(pcm, sample_rate=RATE, reply=InworldSynthesisReply(chunk_duration=0.02))
    )
    assert len(lines) == len(expected.chunk_samples)


def answer(text: str = TEXT, chunk_duration: float = 0.02) -> tuple[bytes, InworldExpectedAudio]:
    """The simulator's answer to ``text``, line by line, and what it must be."""
    reply = InworldSynthesisReply(chunk_duration=chunk_duration)
    body = b"".join(synthesis_lines(pcm_of(text), sample_rate=RATE, reply=reply))
    return body, inworld_expected_audio(text, chunk_duration)


def test_the_simulators_answer_is_the_reply():
    body, expected = answer()

    assert check_synthesis_answer(body, expected) is None


def test_an_answer_missing_a_line_is_not_the_reply():
    body, expected = answer()
    lines = body.splitlines(keepends=True)

    problem = check_synthesis_answer(b"".join(lines[:-1]), expected)

    assert problem == f"{len(lines) - 1} lines arrived, the reply has {len(lines)}"


def test_an_answer_with_other_audio_of_the_same_length_is_not_the_reply():
    body, expected = answer()
    lines = body.splitlines(keepends=True)
    lines[3] = inworld_result_line(bytes(2 * expected.chunk_samples[3]))

    problem = check_synthesis_answer(b"".join(lines), expected)

    assert problem is not None and problem.startswith("the audio (CRC-32 ")


def test_a_line_of_another_length_an_error_line_or_a_skipped_line_is_named():
    body, expected = answer()
    lines = body.splitlines(keepends=True)

    short = [*lines[:2], inworld_result_line(b"\0\0"), *lines[3:]]
    assert check_synthesis_answer(b"".join(short), expected) == (
        "line 3 holds 2 bytes of audio, the reply 960"
    )
    failed = [*lines[:2], inworld_error_line(13, "boom")]
    assert check_synthesis_answer(b"".join(failed), expected).startswith("line 3 is not audio")
    blank = [*lines[:2], b"\n", *lines[2:]]
    assert check_synthesis_answer(b"".join(blank), expected).startswith("line 3 is not audio")
    garbled = [*lines[:2], b'{"result": 7}\n']
    assert check_synthesis_answer(b"".join(garbled), expected).startswith(
        "the answer is not Inworld NDJSON"
    )


def test_a_timed_body_must_be_the_checked_one_byte_for_byte():
    body, _ = answer()
    lines = body.splitlines(keepends=True)

    assert check_ndjson_body(body, body) is None
    swapped = [*lines[:4], lines[5], lines[4], *lines[6:]]
    assert check_ndjson_body(b"".join(swapped), body).startswith("line 5 differs")
    assert check_ndjson_body(b"".join(lines[:-2]), body) == (
        f"{len(lines) - 2} lines arrived, the reply has {len(lines)}"
    )


# -- judging a context ---------------------------------------------------------------------------

CID = "0001000a1b2c"


def served(text: str, chunk_duration: float = 0.1) -> list[str]:
    """The frames the simulator sends a context that speaks ``text`` then flushes and closes,
    built by the wire module's server multiplexer."""
    client = InworldClientMultiplexer(clock=lambda: 0.0)
    server = InworldServerMultiplexer()
    for frame in (
        client.create(CID, create_context_config()),
        *client.send_text(CID, text),
        client.flush(CID),
        client.close(CID),
    ):
        server.receive_frame(frame)
    pcm = pcm_of(text)
    step = 2 * round(chunk_duration * RATE)
    return [
        server.context_created(CID),
        *(server.audio_chunk(CID, pcm[i : i + step]) for i in range(0, len(pcm), step)),
        server.flush_completed(CID),
        server.context_closed(CID),
    ]


def play(frames: list[str], record: BenchContextRecord | None = None) -> BenchContextRecord:
    """``frames`` through a client multiplexer into a record, 0.1 s apart from t = 10.1; the
    create written at t = 10."""
    mux = InworldClientMultiplexer(clock=lambda: 0.0)
    mux.create(CID, create_context_config())
    record = record or BenchContextRecord(socket=0, slot=0, context_id=CID)
    record.created_at = 10.0
    for position, frame in enumerate(frames, start=1):
        for event in mux.receive_frame(frame):
            record.receive(event, 10.0 + 0.1 * position)
    return record


def test_a_context_that_got_its_audio_gives_its_latency_and_ttfb():
    expected = inworld_expected_audio(TEXT, 0.1)
    frames = served(TEXT)

    record = play(frames)
    problem, timing = check_context(record, expected)

    assert problem is None and timing is not None
    assert record.created and record.flushes == 1 and record.samples == expected.samples
    # contextCreated at +0.1 s, the first audio at +0.2 s, contextClosed last.
    assert timing.ttfb == pytest.approx(0.2)
    assert timing.latency == pytest.approx(0.1 * len(frames))


def test_a_missing_or_altered_chunk_fails_the_context():
    expected = inworld_expected_audio(TEXT, 0.1)
    frames = served(TEXT)

    missing = play([*frames[:2], *frames[3:]])
    assert check_context(missing, expected)[0] == (
        f"{len(expected.chunk_samples) - 1} audioChunks arrived, the reply cuts "
        f"{len(expected.chunk_samples)}"
    )
    other = served(bench_texts(0.5)[1])  # same length, other words
    assert len(other) == len(frames)
    problem, timing = check_context(play(other), expected)
    assert timing is None and problem.startswith("the audio (CRC-32 ")


def test_events_out_of_place_fail_the_context():
    expected = inworld_expected_audio(TEXT, 0.1)
    frames = served(TEXT)
    created, audio, flushed, closed = frames[0], frames[1], frames[-2], frames[-1]

    def reason(sequence: list[str]) -> str | None:
        return check_context(play(sequence), expected)[0]

    assert reason([audio, *frames]) == "ContextAudio arrived before contextCreated"
    assert reason([created, *frames]) == "a second contextCreated arrived"
    assert reason([*frames[:-1], audio, closed]) == "an audioChunk arrived after flushCompleted"
    assert reason([*frames[:-2], closed]) == "contextClosed arrived after 0 flushCompleted, not 1"
    assert reason([*frames[:-1], flushed, closed]) == (
        "contextClosed arrived after 2 flushCompleted, not 1"
    )
    assert reason(frames[:-1]) == "the context did not end with contextClosed"


def test_a_failure_or_anything_after_the_close_fails_the_context():
    record = BenchContextRecord(socket=1, slot=2, context_id=CID)

    assert record.receive(ContextCreated(CID), 1.0) is False
    assert record.receive(ContextFailed(CID, ContextFailureKind.STATUS, "boom", 13), 1.1)
    assert record.failure == "the context failed (status): boom"

    done = BenchContextRecord(socket=0, slot=0, context_id=CID)
    for event in (ContextCreated(CID), ContextAudio(CID, b"\0\0"), ContextFlushed(CID, 0.0)):
        done.receive(event, 1.0)
    assert done.receive(ContextDone(CID), 2.0) and done.failure is None
    done.receive(ContextAudio(CID, b"\0\0"), 2.1)
    assert done.failure == "ContextAudio arrived after contextClosed"

    odd = BenchContextRecord(socket=0, slot=0, context_id=CID)
    odd.receive(ContextCreated(CID), 1.0)
    assert odd.receive(ContextAudio(CID, b"\0\0\0"), 1.1)
    assert odd.failure == "an audioChunk of 3 bytes: not 16-bit samples"


# -- figures -------------------------------------------------------------------------------------


def finished(
    socket: int, slot: int, expected: InworldExpectedAudio, latency: float
) -> BenchContextRecord:
    """A context that got ``expected`` and closed ``latency`` s after its create."""
    return BenchContextRecord(
        socket=socket,
        slot=slot,
        context_id=f"{socket}-{slot}",
        created_at=100.0,
        first_audio=100.0 + latency / 2,
        closed_at=100.0 + latency,
        created=True,
        flushes=1,
        chunk_samples=list(expected.chunk_samples),
        crc32=expected.crc32,
    )


def test_a_step_reports_latencies_over_the_contexts_that_got_their_audio_and_why_others_failed():
    texts = bench_texts(0.5)
    expected = [inworld_expected_audio(text, 0.1) for text in texts]
    records = [
        finished(
            socket, slot, expected[(socket * CONTEXTS_PER_SOCKET + slot) % 8], 0.1 * (slot + 1)
        )
        for socket in range(2)
        for slot in range(CONTEXTS_PER_SOCKET)
    ]
    # Socket 1's first context spoke what socket 0's first did: crossed contexts are caught.
    records[5].crc32 = expected[0].crc32

    step = contexts_step(
        2,
        expected,
        records,
        frame_bytes=5_000_000,
        wall_seconds=2.0,
        simulator_cpu_seconds=0.5,
        generator_cpu_seconds=0.1,
        gc_pauses=[(0, 0.001), (2, 0.004)],
    )

    assert (step.sockets, step.contexts, step.contexts_ok) == (2, 10, 9)
    assert not step.all_delivered
    assert len(step.problems) == 1 and step.problems[0].startswith("socket 1 context 0: the audio")
    assert step.latency_max_ms == pytest.approx(500.0)
    assert step.latency_p50_ms == pytest.approx(300.0)
    assert step.ttfb_p50_ms == pytest.approx(150.0)
    assert step.slot_latency_p50_ms == pytest.approx((100.0, 200.0, 300.0, 400.0, 500.0))
    assert step.audio_delivered_seconds == pytest.approx(10 * expected[0].audio_seconds)
    assert step.audio_per_second == pytest.approx(step.audio_delivered_seconds / 2.0)
    assert step.contexts_per_second == pytest.approx(4.5)
    assert step.megabytes_per_second == pytest.approx(2.5)
    assert step.simulator_cores == pytest.approx(0.25)
    assert step.audio_per_cpu_second == pytest.approx(step.audio_delivered_seconds / 0.5)
    assert step.simulator_gc_max_ms == pytest.approx(4.0)


def test_a_step_where_nothing_arrived_has_no_latency():
    expected = [inworld_expected_audio(TEXT, 0.1)]
    records = [BenchContextRecord(0, slot, f"c{slot}") for slot in range(CONTEXTS_PER_SOCKET)]
    for record in records:
        record.fail("could not connect: refused")

    step = contexts_step(
        1,
        expected,
        records,
        frame_bytes=0,
        wall_seconds=1.0,
        simulator_cpu_seconds=None,
        generator_cpu_seconds=0.0,
    )

    assert step.contexts_ok == 0 and math.isnan(step.latency_p99_ms)
    assert step.simulator_cores is None and step.audio_per_cpu_second is None
    assert step.problems[0] == "socket 0 context 0: could not connect: refused"
    assert len(step.problems) == 3  # the first reasons only


class Load:
    def __init__(self, lines: float, megabytes: float, cpu: float | None, gc_ms: float) -> None:
        self.lines_per_second = lines
        self.megabytes_per_second = megabytes
        self.server_cpu_seconds = cpu
        self.gc_max_ms = gc_ms


def test_a_servers_figures_are_medians_over_rounds_and_count_failed_responses():
    records = [
        NDJSONRequestRecord("simulator", 1, 0.010, 0.5, 1000, 100),
        NDJSONRequestRecord("simulator", 1, 0.030, 0.5, 1000, 100),
        NDJSONRequestRecord("simulator", 2, 0.020, 0.5, 1000, 0, "line 3 differs: b'x'"),
        NDJSONRequestRecord("bare", 1, 0.001, 0.1, 1000, 100),
    ]
    loads = [Load(100.0, 1.0, 0.01, 1.0), Load(300.0, 3.0, 0.03, 2.0), Load(200.0, 2.0, 0.02, 0.5)]

    figures = ndjson_figures("simulator", loads, records)

    assert figures.lines_per_second == 200.0 and figures.megabytes_per_second == 2.0
    # TTFB over the responses that were the reply only.
    assert figures.ttfb_p50_ms == pytest.approx(10.0) and figures.ttfb_p99_ms == pytest.approx(30.0)
    assert figures.cpu_us_per_line == pytest.approx(0.06 * 1e6 / 200)
    assert figures.gc_max_ms == 2.0
    assert (figures.responses, figures.responses_ok) == (3, 2)
    assert figures.problems == ("round 2: line 3 differs: b'x'",)
    unknown = ndjson_figures("simulator", [Load(1.0, 1.0, None, 0.0)], records)
    assert unknown.cpu_us_per_line is None


def result(*, failed_context: bool = False) -> InworldBenchResult:
    http = inworld_expected_audio(TEXT, 0.05)
    context = inworld_expected_audio(TEXT, 0.1)
    records = [
        NDJSONRequestRecord(server, 1, 0.002, 0.01, 9000, len(http.chunk_samples))
        for server in ("simulator", "bare")
    ]
    loads = {"simulator": [Load(500.0, 5.0, 0.01, 0.0)], "bare": [Load(1000.0, 10.0, 0.0, 0.0)]}
    contexts = [
        finished(0, slot, inworld_expected_audio(bench_texts(0.5)[slot], 0.1), 0.2)
        for slot in range(CONTEXTS_PER_SOCKET)
    ]
    if failed_context:
        contexts[2].fail("the socket closed (1006) before every contextClosed")
    step = contexts_step(
        1,
        [inworld_expected_audio(text, 0.1) for text in bench_texts(0.5)],
        contexts,
        frame_bytes=100_000,
        wall_seconds=0.5,
        simulator_cpu_seconds=None,
        generator_cpu_seconds=0.01,
    )
    return InworldBenchResult(
        requests=1,
        rounds=1,
        http=http,
        line_duration=0.05,
        reply_bytes=9000,
        ndjson_records=tuple(records),
        simulator=ndjson_figures("simulator", loads["simulator"], records),
        bare=ndjson_figures("bare", loads["bare"], records),
        contexts_reply=InworldContextsReply(chunk_duration=0.1, ttfb=0.05, real_time_factor=0.5),
        context=context,
        steps=(step,),
    )


def test_the_report_gives_both_servers_the_ratios_and_every_step():
    done = result()

    out = format_inworld_report(done)

    assert done.all_delivered
    assert done.throughput_ratio == pytest.approx(0.5) and done.ttfb_ratio == pytest.approx(1.0)
    # ttfb and a pace of 0.05 s per chunk but the first.
    assert done.scripted_context_seconds == pytest.approx(0.05 + 4 * 0.05)
    assert "simulator/bare lines/s = 0.50x" in out and "simulator/bare TTFB    = 1.00x" in out
    rows = [line.split() for line in out.splitlines()]
    assert ["lines/s", "500", "1,000"] in rows
    assert ["responses", "ok", "1/1", "1/1"] in rows
    assert [row[:3] for row in rows if row[:1] == ["1"]] == [["1", "5", "5/5"]]
    assert "lat p50 by the order of opening on the socket: 200.0, 200.0" in out
    assert out.splitlines()[-1].startswith("every response was the reply's exact lines")


def test_a_failed_context_is_the_verdict_and_its_reason_is_shown():
    done = result(failed_context=True)

    out = format_inworld_report(done)

    assert not done.all_delivered
    assert "! socket 0 context 2: the socket closed (1006) before every contextClosed" in out
    assert out.splitlines()[-1] == (
        "0 response(s) and 1 context(s) did NOT get exactly their audio"
    )


def test_the_json_is_strict_and_holds_every_figure():
    data = json.loads(json.dumps(result().to_json(), allow_nan=False))

    ndjson = data["ndjson"]
    assert ndjson["lines"] == len(inworld_expected_audio(TEXT, 0.05).chunk_samples)
    assert ndjson["throughput_ratio"] == pytest.approx(0.5)
    assert len(ndjson["runs"]) == 2 and ndjson["simulator"]["responses_ok"] == 1
    step = data["contexts"]["steps"][0]
    assert step["contexts_ok"] == 5 and step["all_delivered"] is True
    assert step["simulator_cores"] is None and step["audio_per_cpu_second"] is None
    assert len(step["slot_latency_p50_ms"]) == CONTEXTS_PER_SOCKET
    assert data["contexts"]["real_time_factor"] == 0.5 and data["all_delivered"] is True


# -- parameters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"requests": 0}, ValueError),
        ({"rounds": True}, TypeError),
        ({"line_duration": 0.0}, ValueError),
        ({"sockets": "4"}, TypeError),
        ({"sockets": (MAX_INWORLD_SOCKETS + 1,)}, ValueError),
        ({"chunk_duration": 100.0}, ValueError),
    ],
)
async def test_bad_parameters_raise_before_anything_starts(kwargs, error):
    with pytest.raises(error):
        await bench_inworld(**kwargs)
