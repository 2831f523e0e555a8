"""What every ``voicewire bench`` target shares (``harness/bench_command.py``): the command line
each words alike (usage errors naming the argument, the documented defaults, a ``--json`` file
in a missing directory refused before measuring, the options named as the benchmark function's
parameters), and the shared pieces: the checks of parameters, the steps of a load and one
session of it, the audio a session received, the report's cells and rows, the JSON, the bare
handler. Never a benchmark's numbers."""

from __future__ import annotations

import argparse
import asyncio
import gc
import inspect
import math
import zlib
from dataclasses import dataclass

import aiohttp
import pytest
from voicewire.harness.bench import MAX_CHUNKS, add_bench_parser
from voicewire.harness.bench_command import (
    AudioFigures,
    ReceivedAudio,
    TableColumn,
    bare_stream_app,
    check_count,
    check_number,
    drive_session,
    figure,
    figure_cell,
    finite_json,
    keyword_options,
    problem_lines,
    run_step,
    serve_app,
    step_json,
    table_header,
    table_row,
    tone_code_cut,
)
from voicewire.harness.bench_inworld import (
    DEFAULT_INWORLD_SOCKETS,
    MAX_INWORLD_REQUESTS,
    MAX_INWORLD_SOCKETS,
    bench_inworld,
)
from voicewire.harness.bench_stt import DEFAULT_SESSIONS, MAX_SESSIONS, MAX_STEPS, bench_stt
from voicewire.harness.bench_tts import DEFAULT_TTS_SESSIONS, MAX_TTS_STEPS, bench_tts
from voicewire.harness.cli import main
from voicewire.reference.tone_code import encode_tone


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="voicewire")
    add_bench_parser(root.add_subparsers(dest="command"))
    return root


# -- the command line ----------------------------------------------------------------------------

BAD_ARGUMENTS = [
    ("llm", ["--rounds", "0"], "argument --rounds: must be a positive integer, got '0'"),
    ("llm", ["--chunks", "-3"], "argument --chunks: must be a positive integer, got '-3'"),
    ("llm", ["--chunks", "many"], "argument --chunks: must be a positive integer, got 'many'"),
    (
        "llm",
        ["--chunks", str(MAX_CHUNKS + 1)],
        f"argument --chunks: must be at most {MAX_CHUNKS}, got '{MAX_CHUNKS + 1}'",
    ),
    ("stt", ["--sessions", "0"], f"each session count must be 1..{MAX_SESSIONS}, got 0"),
    ("stt", ["--sessions", "10,x"], "a comma-separated list of session counts, got '10,x'"),
    ("stt", ["--sessions", str(MAX_SESSIONS + 1)], f"got {MAX_SESSIONS + 1}"),
    ("stt", ["--sessions", ",".join(["1"] * (MAX_STEPS + 1))], f"at most {MAX_STEPS} steps"),
    ("stt", ["--duration", "0.1"], "must be 0.5..60 seconds, got 0.1"),
    ("stt", ["--duration", "nan"], "must be > 0, got nan"),
    ("stt", ["--duration", "soon"], "not a number: 'soon'"),
    ("tts", ["--sessions", "0"], "each session count must be 1..1000, got 0"),
    ("tts", ["--sessions", "10,x"], "a comma-separated list of session counts, got '10,x'"),
    ("tts", ["--sessions", ",".join(["1"] * (MAX_TTS_STEPS + 1))], f"at most {MAX_TTS_STEPS}"),
    ("tts", ["--duration", "0.1"], "must be 0.5..60, got 0.1"),
    ("tts", ["--duration", "nan"], "must be 0.5..60, got nan"),
    ("tts", ["--duration", "soon"], "not a number: 'soon'"),
    ("tts", ["--ttfb", "-1"], "must be 0..10, got -1"),
    ("tts", ["--real-time-factor", "11"], "must be 0..10, got 11"),
    ("tts", ["--chunk-duration", "0.001"], "must be 0.005..10, got 0.001"),
    ("inworld", ["--requests", str(MAX_INWORLD_REQUESTS + 1)], f"1..{MAX_INWORLD_REQUESTS}, got"),
    ("inworld", ["--requests", "two"], "not an integer: 'two'"),
    ("inworld", ["--rounds", "0"], "must be 1..100, got 0"),
    ("inworld", ["--sockets", "0"], f"each session count must be 1..{MAX_INWORLD_SOCKETS}"),
    ("inworld", ["--sockets", "1,2,3,4,5,6,7,8,9"], "at most 8 steps"),
    ("inworld", ["--line-duration", "0.001"], "must be 0.005..10, got 0.001"),
    ("inworld", ["--http-duration", "61"], "must be 0.5..60, got 61"),
    ("inworld", ["--context-duration", "x"], "not a number: 'x'"),
    ("inworld", ["--real-time-factor", "-1"], "must be 0..10, got -1"),
]


@pytest.mark.parametrize(("target", "argv", "named"), BAD_ARGUMENTS)
def test_bad_arguments_are_usage_errors_naming_the_argument(target, argv, named, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", target, *argv])

    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"voicewire bench {target}: error: argument {argv[0]}: " in err and named in err


def test_bench_needs_a_target(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench"])

    assert exit_info.value.code == 2
    assert "TARGET" in capsys.readouterr().err


@pytest.mark.parametrize("target", ["llm", "stt", "tts", "inworld"])
def test_a_json_file_in_a_missing_directory_is_refused_before_measuring(target, tmp_path, capsys):
    path = tmp_path / "missing" / "result.json"

    assert main(["bench", target, "--json", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"voicewire bench {target}: --json {path}: no directory {path.parent}\n"
    assert captured.out == ""


DEFAULTS = {
    "llm": {"chunks": 2000, "rounds": 15, "aimock": None},
    "stt": {"sessions": DEFAULT_SESSIONS, "duration": 5.0},
    "tts": {
        "sessions": DEFAULT_TTS_SESSIONS,
        "duration": 5.0,
        "chunk_duration": 0.1,
        "ttfb": 0.2,
        "real_time_factor": 1.0,
    },
    "inworld": {
        "requests": 4,
        "rounds": 5,
        "http_duration": 20.0,
        "line_duration": 0.02,
        "sockets": DEFAULT_INWORLD_SOCKETS,
        "context_duration": 5.0,
        "chunk_duration": 0.1,
        "ttfb": 0.0,
        "real_time_factor": 0.0,
    },
}


@pytest.mark.parametrize(("target", "options"), DEFAULTS.items())
def test_each_target_has_the_documented_defaults_and_writes_no_json_unless_asked(target, options):
    args = parser().parse_args(["bench", target])

    assert {name: getattr(args, name) for name in options} == options
    assert args.json_path is None


@pytest.mark.parametrize(
    ("target", "function"), [("stt", bench_stt), ("tts", bench_tts), ("inworld", bench_inworld)]
)
def test_every_parameter_of_a_benchmark_but_say_is_an_option(target, function):
    args = parser().parse_args(["bench", target])

    options = keyword_options(function, args)

    parameters = set(inspect.signature(function).parameters) - {"say"}
    assert set(options) == parameters
    assert options == {name: getattr(args, name) for name in parameters}


# -- parameters ----------------------------------------------------------------------------------


def test_a_number_out_of_its_range_or_of_another_type_is_named():
    assert check_number("ttfb", 2, 0.0, 10.0) == 2.0
    with pytest.raises(ValueError, match=r"^ttfb must be 0\.\.10 s of audio, got 11$"):
        check_number("ttfb", 11, 0.0, 10.0, unit=" s of audio")
    with pytest.raises(TypeError, match=r"^ttfb must be a number of seconds, got bool$"):
        check_number("ttfb", True, 0.0, 10.0, kind="a number of seconds")


def test_a_count_must_be_an_int_from_one_to_its_maximum():
    assert check_count("rounds", 3, 3) == 3
    with pytest.raises(ValueError, match=r"^rounds must be 1\.\.3, got 0$"):
        check_count("rounds", 0, 3)
    with pytest.raises(TypeError, match=r"^rounds must be an int, got float$"):
        check_count("rounds", 1.0, 3)


# -- a step and a session ------------------------------------------------------------------------


@pytest.mark.parametrize("pause_gc", [True, False])
async def test_a_step_returns_its_loads_result_with_the_collector_off_only_if_asked(pause_gc):
    seen = []

    async def load() -> str:
        seen.append(gc.isenabled())
        return "done"

    assert gc.isenabled()
    assert await run_step(load(), 10.0, "the step of 2 sessions", pause_gc=pause_gc) == "done"
    assert seen == [not pause_gc] and gc.isenabled()


async def test_a_step_that_overruns_its_budget_is_an_error_naming_it():
    with pytest.raises(RuntimeError, match=r"^the step of 4 sockets did not end within 0\.01 s$"):
        await run_step(asyncio.Event().wait(), 0.01, "the step of 4 sockets")

    assert gc.isenabled()


async def test_a_session_whose_connection_fails_is_failed_and_its_reader_cancelled():
    failures: list[str] = []
    reading = asyncio.Event()

    async def read() -> None:
        reading.set()
        await asyncio.Event().wait()

    async def write() -> None:
        await reading.wait()
        raise ConnectionResetError("reset by peer")

    await drive_session(
        read(), write, begin=0.0, deadline=10.0, failed=failures.append, overdue="late"
    )

    assert failures == ["the connection failed: reset by peer"]
    assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]


async def test_a_session_past_its_deadline_is_failed_with_the_overdue_reason():
    failures: list[str] = []
    written: list[bool] = []

    async def write() -> None:
        written.append(True)

    await drive_session(
        asyncio.Event().wait(),
        write,
        begin=0.0,
        deadline=0.01,
        failed=failures.append,
        overdue="the synthesis did not end",
    )

    assert written == [True] and failures == ["the synthesis did not end"]


async def test_a_session_whose_reader_ends_has_not_failed():
    failures: list[str] = []

    async def nothing() -> None:
        return None

    await drive_session(
        nothing(), nothing, begin=0.0, deadline=10.0, failed=failures.append, overdue="late"
    )

    assert failures == []


# -- audio ---------------------------------------------------------------------------------------


def test_the_tone_code_is_cut_in_pieces_of_the_chunk_duration():
    pcm = encode_tone("alpha bravo", sample_rate=24000).to_bytes()

    samples, crc32, chunks = tone_code_cut("alpha bravo", 0.1, 24000)

    assert samples == len(pcm) // 2 and crc32 == zlib.crc32(pcm) and sum(chunks) == samples
    assert chunks[:-1] == (2400,) * (len(chunks) - 1) and 0 < chunks[-1] <= 2400


def test_received_audio_keeps_sizes_and_crc_and_names_what_it_cannot_keep():
    audio = ReceivedAudio()

    assert audio.add_audio(b"\x01\x00\x02\x00", 5.0, "an audioChunk") is None
    assert audio.add_audio(b"\x03\x00", 6.0, "an audioChunk") is None
    assert audio.add_audio(b"\x04", 7.0, "an audioChunk") == (
        "an audioChunk of 1 bytes: not 16-bit samples"
    )

    assert audio.first_audio == 5.0 and audio.chunk_samples == [2, 1] and audio.samples == 3
    assert audio.crc32 == zlib.crc32(b"\x01\x00\x02\x00\x03\x00")
    assert audio.first_difference([2, 1]) is None and audio.first_difference([2, 2]) == 1
    assert audio.not_tone_code(audio.crc32) is None
    assert audio.not_tone_code(0) == (
        f"the audio (CRC-32 {audio.crc32:08x}) is not the tone code of its text (00000000)"
    )


# -- figures and output --------------------------------------------------------------------------


@dataclass(frozen=True)
class Step(AudioFigures):
    sessions: int
    ratio: float
    wall_seconds: float
    simulator_cpu_seconds: float | None
    generator_cpu_seconds: float
    audio_delivered_seconds: float


def test_a_step_gives_its_figures_per_wall_and_cpu_second():
    step = Step(4, 1.0, 2.0, 0.5, 0.25, 10.0)
    unknown = Step(4, 1.0, 2.0, None, 0.25, 10.0)

    assert (step.simulator_cores, step.generator_cores) == (0.25, 0.125)
    assert (step.audio_per_second, step.audio_per_cpu_second) == (5.0, 20.0)
    assert unknown.simulator_cores is None and unknown.audio_per_cpu_second is None


def test_a_cell_is_n_a_for_nothing_and_groups_thousands_unless_told():
    assert figure(None, 1) == figure(math.nan, 2) == "n/a"
    assert figure(1234.5678, 1) == "1,234.6" and figure(1234.5678, 2, thousands=False) == "1234.57"
    assert figure(0.4, 0) == "0"


def test_a_table_aligns_each_cell_right_in_its_column():
    columns = (
        TableColumn("sessions", 8, lambda step: str(step.sessions)),
        TableColumn("x", 7, figure_cell("ratio", 3)),
    )

    assert table_header(columns) == "sessions      x"
    assert table_row(Step(1000, 1.25, 1.0, None, 0.0, 0.0), columns) == "    1000  1.250"
    assert table_row(Step(3, math.nan, 1.0, None, 0.0, 0.0), columns) == "       3    n/a"
    assert problem_lines(["session 2: late"]) == ["         ! session 2: late"]


def test_the_json_has_no_nan_and_lists_for_tuples():
    assert finite_json({"a": (1.0, math.nan), "b": {"c": math.inf}, "d": "x"}) == {
        "a": [1.0, None],
        "b": {"c": None},
        "d": "x",
    }
    step = Step(2, math.nan, 2.0, None, 0.5, 1.0)
    assert step_json(step, "generator_cores", "simulator_cores") == {
        "sessions": 2,
        "ratio": None,
        "wall_seconds": 2.0,
        "simulator_cpu_seconds": None,
        "generator_cpu_seconds": 0.5,
        "audio_delivered_seconds": 1.0,
        "generator_cores": 0.25,
        "simulator_cores": None,
    }


# -- the bare handler ----------------------------------------------------------------------------


async def test_the_bare_handler_sends_the_pieces_loaded_and_refuses_a_body_it_cannot_cut():
    app = bare_stream_app(
        "/stream",
        "/control",
        headers={"Content-Type": "application/x-ndjson"},
        cut=lambda body: [line + b"\n" for line in body.split(b"\n")[:-1]],
        pieces="lines",
        shape="newline-ended lines",
    )
    async with serve_app(app) as port, aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{port}"
        async with http.put(f"{base}/control", data=b"one\ntwo\n") as loaded:
            assert (loaded.status, await loaded.json()) == (200, {"lines": 2})
        async with http.post(f"{base}/stream", data=b"{}") as streamed:
            assert streamed.headers["Content-Type"] == "application/x-ndjson"
            assert await streamed.read() == b"one\ntwo\n"
        async with http.put(f"{base}/control", data=b"one\ntwo") as refused:
            assert refused.status == 400
            assert await refused.json() == {"error": "the captured body is not newline-ended lines"}
        async with http.post(f"{base}/stream", data=b"{}") as still:
            assert await still.read() == b"one\ntwo\n"
