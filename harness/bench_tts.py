"""``voicewire bench tts``: how well the TTS simulator keeps its scripted pace under concurrent
syntheses, and what a second of audio costs it.

``N`` syntheses run against the simulator at once, in steps of ``N`` (50, 100, 200 by
default); each step reports, per session, the real-time factor it got against the one the
script paces (median, 99th percentile, maximum), its time to first audio against the script's
``ttfb``, and for the simulator process the seconds of audio it delivered per wall second and
per second of its CPU.

Method
------
* **Processes.** The simulator runs as ``voicewire serve`` runs it (a
  :class:`~voicewire.simulators.core.socket_server.SimulatorServer` with the default limits,
  except that the one API key may hold every session of a step, its heap settled) in a child
  process, on its own event loop; the load generator runs in this process, so it never takes
  the simulator's loop. The simulator process's CPU time is read from ``/proc`` around each
  step's syntheses.
* **The script.** :func:`bench_tts_reply`: every synthesis's first audio ``ttfb`` seconds
  after its first ``input_transcript``, then one ``chunk_duration`` chunk every
  ``chunk_duration * real_time_factor`` seconds (the simulator's own pacing,
  :class:`~voicewire.simulators.tts.script.TTSReply`, time scale 1), at 24 kHz.
* **A session.** A raw ``aiohttp`` WebSocket speaking the wire module, not the reference
  client: the reference client's sentence splitter, pool and 100 ms re-framing would put its
  own work between the simulator's frames and the clock, and its retries would hide a
  failure. It connects and waits until every session of the step has connected; then, at its
  own offset (the starts are spread evenly over one chunk's pace), it sends
  ``session.create``, one ``input_transcript`` (a sentence of the length that makes
  ``duration`` seconds of tone code, one of eight so that neighbours differ), and
  ``session.flush``, and reads until ``done``. Each frame is decoded by the wire module as it
  arrives (its audio kept as a sample count and CRC-32 only: 200 sessions of a minute of audio
  would be gigabytes).
* **Checks.** A session must receive ``session.created``, then exactly the chunks the script
  makes of the tone code of its text (each chunk's sample count, the audio's CRC-32), then
  ``done``, every message carrying the session's id, nothing else. A session that got
  anything else is reported with its reason and its timings are left out.
* **Figures.** Per session: ``TTFB``, from just before its ``input_transcript`` was written
  to the arrival of its first ``output_audio``; its real-time factor (the simulator's sense:
  wall seconds per second of audio, 1 is real time), from the same instant to the arrival of
  ``done``, over the audio's duration; the script's is ``ttfb`` plus ``chunks - 1`` paces over
  the same duration, and the session's *ratio* is the one over the other (1.00: on schedule;
  1.02: the synthesis took 2 % longer than scripted), undefined when the script paces nothing
  (``ttfb`` and ``real_time_factor`` 0). Per step: the medians, 99th percentiles and maximum
  over the sessions that got their audio; the seconds of audio delivered (by every session)
  per wall second of the step and per second of simulator CPU (``per core``: what one core
  carries at this step's CPU cost, an extrapolation); the simulator's longest garbage
  collection; the load generator's CPU and the machine's load average, since on a shared
  machine either may be what was measured.
* **Verdict.** DESIGN.md sets no TTS target: the figures are reported, and the exit code says
  whether every session of every step got exactly its audio.

Timings are only ever compared within one run; tests check the result's structure, never its
numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from voicewire.harness.bench_command import (
    AUDIO_LOAD_COLUMNS,
    AudioFigures,
    LoadTimes,
    ReceivedAudio,
    TableColumn,
    add_json_argument,
    add_pace_argument,
    add_seconds_argument,
    add_steps_argument,
    answer_takes,
    bench_environment,
    check_number,
    check_session_counts,
    drive_session,
    figure,
    figure_cell,
    keyword_options,
    load_average,
    longest_pause_ms,
    percentile,
    problem_lines,
    run_benchmark,
    run_sessions,
    run_step,
    simulator_process,
    step_json,
    table_header,
    table_row,
    take_records,
    timed_collections,
    tone_code_cut,
)
from voicewire.reference.auth import create_access_token
from voicewire.reference.tone_code import tone_duration
from voicewire.reference.tts.wire import (
    DEFAULT_TTS_SAMPLE_RATE,
    MalformedMessage,
    OutputAudio,
    SessionFlush,
    SynthesisDone,
    TTSErrorMessage,
    TTSSessionCreated,
    decode_tts_server_message,
    encode_tts_message,
    input_transcript,
    tts_session_create,
)
from voicewire.simulators.scenario import Match, Rule, Scenario
from voicewire.simulators.tts.script import MAX_CHUNK_SECONDS, MIN_CHUNK_SECONDS, TTSReply

__all__ = [
    "DEFAULT_CHUNK_DURATION",
    "DEFAULT_REAL_TIME_FACTOR",
    "DEFAULT_TTFB",
    "DEFAULT_TTS_DURATION",
    "DEFAULT_TTS_SESSIONS",
    "MAX_REAL_TIME_FACTOR",
    "MAX_SCRIPTED_SECONDS",
    "MAX_TTFB",
    "MAX_TTS_DURATION",
    "MAX_TTS_SESSIONS",
    "MAX_TTS_STEPS",
    "MIN_TTS_DURATION",
    "TTS_BENCH_SAMPLE_RATE",
    "ScriptedSynthesis",
    "TTSBenchResult",
    "TTSSessionRecord",
    "TTSSessionTiming",
    "TTSStep",
    "add_tts_parser",
    "bench_texts",
    "bench_tts",
    "bench_tts_reply",
    "bench_tts_scenario",
    "check_tts_session",
    "format_tts_report",
    "run_tts_bench",
    "scripted_synthesis",
    "tts_step",
]

DEFAULT_TTS_SESSIONS = (50, 100, 200)
"""The steps of ``N`` when none are given."""
DEFAULT_TTS_DURATION = 5.0
"""Seconds of audio each synthesis asks for, when not given (the sentence gives 4.97 s)."""
DEFAULT_CHUNK_DURATION = 0.1
"""Seconds of audio per ``output_audio`` chunk, when not given (the simulator's default)."""
DEFAULT_TTFB = 0.2
"""The scripted time to first audio, when not given."""
DEFAULT_REAL_TIME_FACTOR = 1.0
"""The scripted pace, when not given: real time."""
MIN_TTS_DURATION = 0.5
"""The shortest audio per synthesis (a 5-character sentence)."""
MAX_TTS_DURATION = 60.0
"""The longest audio per synthesis (a sentence of 854 characters; the simulator speaks at most
1024 bytes per ``input_transcript``)."""
MAX_TTFB = 10.0
"""The longest scripted time to first audio."""
MAX_REAL_TIME_FACTOR = 10.0
"""The slowest scripted pace."""
MAX_SCRIPTED_SECONDS = 120.0
"""The longest a synthesis may be scripted to take (``ttfb`` + ``duration`` times the real-time
factor): the benchmark stops by itself in bounded time."""
MAX_TTS_SESSIONS = 1000
"""The most sessions in one step (each holds a socket in both processes)."""
MAX_TTS_STEPS = 12
"""The most steps in one run."""
TTS_BENCH_SAMPLE_RATE = DEFAULT_TTS_SAMPLE_RATE
"""The sessions' sample rate: upstream's default, 24 kHz."""

# The tone code: 70 ms per byte of text and 210 ms of framing (docs/tone-code.md).
_BYTE_SECONDS = 0.07
_FRAMING_SECONDS = 0.21
_VARIANTS = 8
_WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")
_CONNECT_TIMEOUT = 60.0
# After its scripted end, how long a synthesis may take to finish.
_END_TIMEOUT = 30.0
_LEAD = 0.2
_PROBLEMS_SHOWN = 3


# -- the workload ------------------------------------------------------------------------------


def _check_number(name: str, value: object, low: float, high: float) -> float:
    return check_number(name, value, low, high, kind="a number of seconds")


def bench_texts(duration: float) -> list[str]:
    """The sentences the sessions speak (session ``i`` the ``i % 8``-th): ASCII words cut to
    the length whose tone code lasts closest to ``duration`` seconds, all that long, each
    starting with another word."""
    duration = _check_number("duration", duration, MIN_TTS_DURATION, MAX_TTS_DURATION)
    size = max(1, round((duration - _FRAMING_SECONDS) / _BYTE_SECONDS))
    texts = []
    for variant in range(_VARIANTS):
        words = " ".join(_WORDS[variant:] + _WORDS[:variant])
        text = (words + " ") * (size // len(words) + 1)
        text = text[:size]
        # The simulator speaks the text stripped: a final space would shorten it.
        texts.append(text[:-1] + "x" if text.endswith(" ") else text)
    return texts


def _too_long(duration: float, ttfb: float, real_time_factor: float) -> str | None:
    """Why a synthesis so scripted would take too long (its audio from ``duration``), or
    None."""
    seconds = ttfb + tone_duration(bench_texts(duration)[0]) * real_time_factor
    if seconds <= MAX_SCRIPTED_SECONDS:
        return None
    return f"must be at most {MAX_SCRIPTED_SECONDS:g} s, got {seconds:g} s"


def bench_tts_reply(
    chunk_duration: float = DEFAULT_CHUNK_DURATION,
    ttfb: float = DEFAULT_TTFB,
    real_time_factor: float = DEFAULT_REAL_TIME_FACTOR,
) -> TTSReply:
    """How the simulator delivers every synthesis of the benchmark: ``chunk_duration`` chunks,
    the first ``ttfb`` seconds after the input, one per ``chunk_duration * real_time_factor``
    seconds after it."""
    return TTSReply(
        chunk_duration=_check_number(
            "chunk_duration", chunk_duration, MIN_CHUNK_SECONDS, MAX_CHUNK_SECONDS
        ),
        ttfb=_check_number("ttfb", ttfb, 0.0, MAX_TTFB),
        real_time_factor=_check_number(
            "real_time_factor", real_time_factor, 0.0, MAX_REAL_TIME_FACTOR
        ),
    )


def bench_tts_scenario(reply: TTSReply) -> Scenario:
    """The benchmark's scenario: every TTS connection is answered with ``reply``."""
    return Scenario(name="bench-tts", rules=[Rule(match=Match(endpoint="tts"), reply=reply)])


@dataclass(frozen=True)
class ScriptedSynthesis:
    """What a synthesis of ``text`` must deliver under a reply: the tone code's sample count
    and CRC-32, the samples of each chunk, its duration, and the wall seconds the reply
    scripts from its input to its last chunk (``ttfb`` and ``chunks - 1`` paces)."""

    text: str
    samples: int
    crc32: int
    chunk_samples: tuple[int, ...]
    audio_seconds: float
    scripted_seconds: float

    @property
    def real_time_factor(self) -> float:
        """The script's: wall seconds per second of audio, first input to last chunk."""
        return self.scripted_seconds / self.audio_seconds


def scripted_synthesis(
    text: str, reply: TTSReply, sample_rate: int = TTS_BENCH_SAMPLE_RATE
) -> ScriptedSynthesis:
    """What the simulator must deliver for ``text`` under ``reply`` (its time scale 1): the
    same cut as the simulator makes, computed on its own."""
    samples, crc32, chunk_samples = tone_code_cut(text, reply.chunk_duration, sample_rate)
    pace = reply.chunk_duration * reply.real_time_factor
    return ScriptedSynthesis(
        text=text,
        samples=samples,
        crc32=crc32,
        chunk_samples=chunk_samples,
        audio_seconds=samples / sample_rate,
        scripted_seconds=reply.ttfb + (len(chunk_samples) - 1) * pace,
    )


# -- the simulator (run in a child process) ------------------------------------------------------


async def _serve(reply: TTSReply) -> None:
    from voicewire.simulators.core.limits import Limits
    from voicewire.simulators.core.socket_server import SimulatorServer, settle_heap

    # The one API key of the load generator holds every session of a step at once.
    simulator = SimulatorServer(
        bench_tts_scenario(reply), limits=Limits(max_sessions_per_key=MAX_TTS_SESSIONS)
    )
    with timed_collections() as pauses:
        await simulator.start()
        settle_heap()  # as voicewire serve does
        try:
            await answer_takes({"port": simulator.port}, lambda: {"gc": pauses.take()})
        finally:
            await simulator.stop()


def _serve_child(reply_json: str) -> None:
    """Entry point of the simulator process (see the module docstring)."""
    asyncio.run(_serve(TTSReply.model_validate_json(reply_json)))


_CHILD_CODE = (
    "import sys; from voicewire.harness.bench_tts import _serve_child; _serve_child(sys.argv[1])"
)


# -- the load generator --------------------------------------------------------------------------


@dataclass
class TTSSessionRecord(ReceivedAudio):
    """What one session of the load generator saw, judged frame by frame as it arrived
    (:meth:`receive`): when its input was written and its ``done`` arrived (monotonic
    seconds), the session id of its ``session.created``, its audio (:class:`ReceivedAudio`),
    and what went wrong (None: nothing yet)."""

    index: int
    input_written: float | None = None
    done_at: float | None = None
    session_id: str | None = None
    failure: str | None = None

    @property
    def over(self) -> bool:
        """Whether the synthesis has ended: ``done`` arrived or something went wrong."""
        return self.done_at is not None or self.failure is not None

    def receive(self, text: str, at: float) -> bool:
        """Judge one text frame that arrived at ``at``; returns :attr:`over`. A frame the wire
        module refuses, an ``error``, a message out of place or carrying another session's id
        sets :attr:`failure`."""
        if self.over:
            self.failure = self.failure or f"a frame arrived after done: {text[:200]}"
            return True
        try:
            message = decode_tts_server_message(text)
        except MalformedMessage as exc:
            self.failure = f"a frame is not a TTS server message ({exc}): {text[:200]}"
            return True
        if isinstance(message, TTSSessionCreated):
            if self.session_id is not None:
                self.failure = "a second session.created arrived"
            elif not message.session_id:
                self.failure = "session.created carries no session_id"
            else:
                self.session_id = message.session_id
            return self.over
        if self.session_id is None:
            self.failure = f"{message.type} arrived before session.created"
            return True
        if isinstance(message, TTSErrorMessage):
            self.failure = f"the simulator sent an error: {message.message}"
            return True
        if not isinstance(message, (OutputAudio, SynthesisDone)):
            self.failure = f"an unscripted {message.type} arrived"
            return True
        if message.session_id != self.session_id:
            self.failure = (
                f"{message.type} carries session_id {message.session_id!r}, the session is "
                f"{self.session_id!r}"
            )
            return True
        if isinstance(message, SynthesisDone):
            self.done_at = at
            return True
        self.failure = self.add_audio(message.pcm, at, "an output_audio")
        return self.over


class _Generator:
    """The sessions of one step, on one ``aiohttp`` client session."""

    def __init__(
        self, port: int, token: str, scripts: Sequence[ScriptedSynthesis], pace: float
    ) -> None:
        self._url = f"http://127.0.0.1:{port}/tts"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._create = encode_tts_message(tts_session_create(sample_rate=TTS_BENCH_SAMPLE_RATE))
        self._inputs = [encode_tts_message(input_transcript(s.text)) for s in scripts]
        self._flush = encode_tts_message(SessionFlush())
        self._deadline = max(s.scripted_seconds for s in scripts) + _END_TIMEOUT
        self._pace = pace

    async def run(
        self, sessions: int, http: aiohttp.ClientSession, pid: int
    ) -> tuple[list[TTSSessionRecord], LoadTimes]:
        """Connect ``sessions`` sessions, then run their syntheses at once: their records, and
        the times of the syntheses only (the CPU of process ``pid``, the simulator's, and this
        one's)."""
        records = [TTSSessionRecord(index) for index in range(sessions)]
        times = await run_sessions(
            http,
            self._url,
            self._headers,
            records,
            self._session,
            spread=self._pace / sessions,
            pid=pid,
            lead=_LEAD,
        )
        return records, times

    async def _session(
        self, ws: aiohttp.ClientWebSocketResponse, record: TTSSessionRecord, begin: float
    ) -> None:
        async def write() -> None:
            await ws.send_str(self._create)
            # Timed before the write: the synthesis cannot start earlier.
            record.input_written = time.monotonic()
            await ws.send_str(self._inputs[record.index % len(self._inputs)])
            await ws.send_str(self._flush)

        def failed(reason: str) -> None:
            record.failure = reason

        try:
            await drive_session(
                self._read(ws, record),
                write,
                begin=begin,
                deadline=self._deadline,
                failed=failed,
                overdue=f"the synthesis did not end within {self._deadline:g} s of its input",
            )
        finally:
            await ws.close()

    @staticmethod
    async def _read(ws: aiohttp.ClientWebSocketResponse, record: TTSSessionRecord) -> None:
        async for message in ws:
            if message.type is aiohttp.WSMsgType.TEXT:
                if record.receive(message.data, time.monotonic()):
                    return
            else:
                record.failure = record.failure or f"a {message.type.name} frame arrived"
                return
        record.failure = record.failure or (f"the socket closed ({ws.close_code}) before done")


# -- checking and figures ------------------------------------------------------------------------


@dataclass(frozen=True)
class TTSSessionTiming:
    """The timings of one session that got its audio, in seconds: ``ttfb`` (input written to
    first audio), ``wall`` (input written to ``done``), ``real_time_factor`` (``wall`` per
    second of audio), ``ratio`` (``wall`` over the script's, None when the script paces
    nothing) and ``lateness`` (``wall`` minus the script's)."""

    ttfb: float
    wall: float
    real_time_factor: float
    ratio: float | None
    lateness: float


def check_tts_session(
    record: TTSSessionRecord, scripted: ScriptedSynthesis
) -> tuple[str | None, TTSSessionTiming | None]:
    """Judge one session against its script: the reason it failed (None: it got
    ``session.created``, exactly the scripted chunks of its text's tone code, then ``done``),
    and its timings when it did not fail."""
    if record.failure is not None:
        return record.failure, None
    if record.done_at is None or record.input_written is None:
        return "the synthesis did not end with done", None
    if len(record.chunk_samples) != len(scripted.chunk_samples):
        return (
            f"{len(record.chunk_samples)} output_audio chunks arrived, the script makes "
            f"{len(scripted.chunk_samples)}"
        ), None
    at = record.first_difference(scripted.chunk_samples)
    if at is not None:
        return (
            f"chunk {at} holds {record.chunk_samples[at]} samples, the script has "
            f"{scripted.chunk_samples[at]}"
        ), None
    not_tone_code = record.not_tone_code(scripted.crc32)
    if not_tone_code is not None:
        return not_tone_code, None
    assert record.first_audio is not None  # chunks arrived
    wall = record.done_at - record.input_written
    return None, TTSSessionTiming(
        ttfb=record.first_audio - record.input_written,
        wall=wall,
        real_time_factor=wall / scripted.audio_seconds,
        ratio=wall / scripted.scripted_seconds if scripted.scripted_seconds > 0 else None,
        lateness=wall - scripted.scripted_seconds,
    )


@dataclass(frozen=True)
class TTSStep(AudioFigures):
    """One step: ``sessions`` syntheses at once of ``audio_seconds`` each.

    Over the sessions that got their audio (``sessions_ok``; ``problems``: the first reasons
    others failed): time to first audio (``ttfb_*_ms``), real-time factor (``rtf_*``), its
    ratio to the script's (``ratio_*``, NaN when the script paces nothing) and the lateness of
    ``done`` against the script (``lateness_p99_ms``). ``audio_delivered_seconds``: the audio
    every session received; ``wall_seconds``: first input to last ``done``;
    ``simulator_cpu_seconds`` its CPU meanwhile (None when ``/proc`` is missing), and the
    load generator's; ``load_average``: the machine's at the step's end;
    ``simulator_gc_max_ms``: the simulator's longest garbage collection."""

    sessions: int
    audio_seconds: float
    sessions_ok: int
    problems: tuple[str, ...]
    ttfb_p50_ms: float
    ttfb_p99_ms: float
    rtf_p50: float
    rtf_p99: float
    ratio_p50: float
    ratio_p99: float
    ratio_max: float
    lateness_p99_ms: float
    audio_delivered_seconds: float
    wall_seconds: float
    simulator_cpu_seconds: float | None
    generator_cpu_seconds: float
    load_average: float | None = None
    simulator_gc_max_ms: float = 0.0

    @property
    def all_delivered(self) -> bool:
        """Every session got exactly its audio."""
        return self.sessions_ok == self.sessions


def tts_step(
    sessions: int,
    scripts: Sequence[ScriptedSynthesis],
    records: Sequence[TTSSessionRecord],
    *,
    wall_seconds: float,
    simulator_cpu_seconds: float | None,
    generator_cpu_seconds: float,
    gc_pauses: Sequence[tuple[int, float]] = (),
) -> TTSStep:
    """The figures of one step from its sessions' records (session ``i`` spoke
    ``scripts[i % len(scripts)]``) and its measured totals."""
    problems: list[str] = []
    timings: list[TTSSessionTiming] = []
    for record in records:
        problem, timing = check_tts_session(record, scripts[record.index % len(scripts)])
        if timing is None:
            problems.append(f"session {record.index}: {problem}")
        else:
            timings.append(timing)
    ttfb = sorted(t.ttfb for t in timings)
    rtf = sorted(t.real_time_factor for t in timings)
    ratio = sorted(t.ratio for t in timings if t.ratio is not None)
    lateness = sorted(t.lateness for t in timings)
    return TTSStep(
        sessions=sessions,
        audio_seconds=scripts[0].audio_seconds,
        sessions_ok=len(timings),
        problems=tuple(problems[:_PROBLEMS_SHOWN]),
        ttfb_p50_ms=percentile(ttfb, 0.5) * 1000,
        ttfb_p99_ms=percentile(ttfb, 0.99) * 1000,
        rtf_p50=percentile(rtf, 0.5),
        rtf_p99=percentile(rtf, 0.99),
        ratio_p50=percentile(ratio, 0.5),
        ratio_p99=percentile(ratio, 0.99),
        ratio_max=percentile(ratio, 1.0),
        lateness_p99_ms=percentile(lateness, 0.99) * 1000,
        audio_delivered_seconds=sum(r.samples for r in records) / TTS_BENCH_SAMPLE_RATE,
        wall_seconds=wall_seconds,
        simulator_cpu_seconds=simulator_cpu_seconds,
        generator_cpu_seconds=generator_cpu_seconds,
        load_average=load_average(),
        simulator_gc_max_ms=longest_pause_ms(gc_pauses),
    )


@dataclass(frozen=True)
class TTSBenchResult:
    """The outcome of :func:`bench_tts`: the script, what it makes of one synthesis, and
    every step."""

    reply: TTSReply
    scripted: ScriptedSynthesis
    steps: tuple[TTSStep, ...]

    @property
    def all_delivered(self) -> bool:
        """What the exit code says: every session of every step got exactly its audio."""
        return all(step.all_delivered for step in self.steps)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: the script, every step with its figures, the verdict and the
        setup (a figure over no session, NaN, becomes null)."""
        steps = [
            step_json(
                step, "all_delivered", "audio_per_second", "simulator_cores", "audio_per_cpu_second"
            )
            for step in self.steps
        ]
        return {
            "chunk_duration": self.reply.chunk_duration,
            "ttfb": self.reply.ttfb,
            "real_time_factor": self.reply.real_time_factor,
            "sample_rate": TTS_BENCH_SAMPLE_RATE,
            "audio_seconds": self.scripted.audio_seconds,
            "chunks": len(self.scripted.chunk_samples),
            "scripted_seconds": self.scripted.scripted_seconds,
            "scripted_real_time_factor": self.scripted.real_time_factor,
            "steps": steps,
            "all_delivered": self.all_delivered,
            "environment": bench_environment(),
            "method": (
                "simulator in a child process, load generator in the parent; N raw WebSocket "
                "sessions each send session.create, one input_transcript and session.flush at "
                "once and read until done; real-time factor = (done arrival - input write) / "
                "audio seconds, ratio = that wall time / the scripted one"
            ),
        }


async def bench_tts(
    *,
    sessions: Sequence[int] = DEFAULT_TTS_SESSIONS,
    duration: float = DEFAULT_TTS_DURATION,
    chunk_duration: float = DEFAULT_CHUNK_DURATION,
    ttfb: float = DEFAULT_TTFB,
    real_time_factor: float = DEFAULT_REAL_TIME_FACTOR,
    say: Callable[[str], None] | None = None,
) -> TTSBenchResult:
    """Run one step per count in ``sessions``, each synthesis asking for ``duration`` seconds
    of audio delivered as :func:`bench_tts_reply` scripts it (see the module docstring);
    ``say`` hears a line per step. Raises ``TypeError`` / ``ValueError`` for bad parameters
    before starting anything, ``RuntimeError`` if the simulator does not start or a step
    overruns its time."""
    steps_wanted = check_session_counts(sessions, MAX_TTS_SESSIONS, MAX_TTS_STEPS)
    texts = bench_texts(duration)
    reply = bench_tts_reply(chunk_duration, ttfb, real_time_factor)
    too_long = _too_long(duration, reply.ttfb, reply.real_time_factor)
    if too_long is not None:
        raise ValueError(f"ttfb + duration x real_time_factor {too_long}")
    say = say or (lambda message: None)
    scripts = [scripted_synthesis(text, reply) for text in texts]
    scripted_seconds = max(s.scripted_seconds for s in scripts)
    pace = reply.chunk_duration * (reply.real_time_factor or 1.0)
    from voicewire.simulators.core.credentials import DEFAULT_API_KEY, DEFAULT_API_SECRET

    token = create_access_token(DEFAULT_API_KEY, DEFAULT_API_SECRET)
    steps: list[TTSStep] = []
    async with simulator_process(_CHILD_CODE, reply.model_dump_json()) as (child, line):
        generator = _Generator(json.loads(line)["port"], token, scripts, pace)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            for count in steps_wanted:
                budget = _CONNECT_TIMEOUT + _LEAD + pace + scripted_seconds + _END_TIMEOUT + 10
                records, times = await run_step(
                    generator.run(count, http, child.pid), budget, f"the step of {count} sessions"
                )
                taken = await take_records(child)
                step = tts_step(
                    count,
                    scripts,
                    records,
                    wall_seconds=times.wall_seconds,
                    simulator_cpu_seconds=times.simulator_cpu_seconds,
                    generator_cpu_seconds=times.generator_cpu_seconds,
                    gc_pauses=[(int(g), float(seconds)) for g, seconds in taken["gc"]],
                )
                steps.append(step)
                say(
                    f"{count} sessions: real-time factor p99 {figure(step.rtf_p99, 3)} "
                    f"(scripted {scripts[0].real_time_factor:.3f}), "
                    f"{step.sessions_ok}/{count} sessions got their audio"
                )
    return TTSBenchResult(reply=reply, scripted=scripts[0], steps=tuple(steps))


# -- output ------------------------------------------------------------------------------------


_COLUMNS = (
    TableColumn("sessions", 8, lambda step: str(step.sessions)),
    TableColumn("ok", 10, lambda step: f"{step.sessions_ok}/{step.sessions}"),
    TableColumn("TTFB p50", 9, figure_cell("ttfb_p50_ms", 1)),
    TableColumn("TTFB p99", 9, figure_cell("ttfb_p99_ms", 1)),
    TableColumn("RTF p50", 8, figure_cell("rtf_p50", 3)),
    TableColumn("RTF p99", 8, figure_cell("rtf_p99", 3)),
    TableColumn("x p50", 7, figure_cell("ratio_p50", 3)),
    TableColumn("x p99", 7, figure_cell("ratio_p99", 3)),
    TableColumn("x max", 7, figure_cell("ratio_max", 3)),
    TableColumn("late p99", 9, figure_cell("lateness_p99_ms", 1)),
    TableColumn("audio/s", 8, figure_cell("audio_per_second", 0)),
    *AUDIO_LOAD_COLUMNS,
)


def format_tts_report(result: TTSBenchResult) -> str:
    """The human-readable table: one row per step, then the verdict."""
    scripted = result.scripted
    reply = result.reply
    lines = [
        f"voicewire bench tts: {scripted.audio_seconds:g} s of audio per synthesis "
        f"({len(scripted.text)}-character sentence, {TTS_BENCH_SAMPLE_RATE // 1000} kHz, "
        f"{len(scripted.chunk_samples)} chunks of {reply.chunk_duration:g} s); scripted: "
        f"first audio after {reply.ttfb * 1000:g} ms, a chunk every "
        f"{reply.chunk_duration * reply.real_time_factor * 1000:g} ms (real-time factor "
        f"{reply.real_time_factor:g}): {scripted.scripted_seconds:.3f} s from input to done, "
        f"RTF {scripted.real_time_factor:.3f}",
        "",
        table_header(_COLUMNS),
    ]
    for step in result.steps:
        lines.append(table_row(step, _COLUMNS))
        lines += problem_lines(step.problems)
    failed = sum(step.sessions - step.sessions_ok for step in result.steps)
    lines += [
        "",
        "TTFB: ms from writing input_transcript to the first output_audio; RTF: wall seconds "
        "per second of audio, input to done; x: that wall time over the scripted one (1.000: on "
        "schedule); late: ms past the scripted done; audio/s: seconds of audio delivered per "
        "wall second; sim/gen CPU: cores used; per core: seconds of audio per simulator CPU "
        "second (an extrapolation); gc: the simulator's longest garbage collection; load: the "
        "machine's load average",
        "every session got exactly its audio"
        if result.all_delivered
        else f"{failed} session(s) did NOT get exactly their audio",
    ]
    return "\n".join(lines)


# -- command line ------------------------------------------------------------------------------


def add_tts_parser(targets: Any) -> argparse.ArgumentParser:
    """Add the ``tts`` target to ``voicewire bench``'s subparsers; returns its parser."""
    tts = targets.add_parser(
        "tts",
        help="TTS simulator pace and audio per CPU second under N concurrent syntheses",
        description=(
            "Run N concurrent syntheses from this process against the TTS simulator (in its "
            "own process), for each N, each delivered at a scripted pace, and print the "
            "real-time factor each session got against the scripted one (p50, p99, max), "
            "its time to first audio, and the seconds of audio the simulator delivered per "
            "wall second and per CPU second. Every session must get exactly its audio. "
            "Exit code 0: every session did, 1: some did not, 2: could not measure."
        ),
    )
    add_steps_argument(
        tts,
        "--sessions",
        maximum=MAX_TTS_SESSIONS,
        steps=MAX_TTS_STEPS,
        default=DEFAULT_TTS_SESSIONS,
        metavar="N[,N...]",
        what="concurrent syntheses",
    )
    add_seconds_argument(
        tts,
        "--duration",
        low=MIN_TTS_DURATION,
        high=MAX_TTS_DURATION,
        default=DEFAULT_TTS_DURATION,
        what="audio per synthesis",
    )
    add_seconds_argument(
        tts,
        "--chunk-duration",
        low=MIN_CHUNK_SECONDS,
        high=MAX_CHUNK_SECONDS,
        default=DEFAULT_CHUNK_DURATION,
        what="audio per output_audio chunk",
    )
    add_seconds_argument(
        tts,
        "--ttfb",
        low=0.0,
        high=MAX_TTFB,
        default=DEFAULT_TTFB,
        what="scripted time to first audio",
    )
    add_pace_argument(
        tts, high=MAX_REAL_TIME_FACTOR, default=DEFAULT_REAL_TIME_FACTOR, what="audio"
    )
    add_json_argument(tts)
    return tts


def run_tts_bench(args: argparse.Namespace) -> int:
    """Run ``voicewire bench tts`` with ``args`` (from :func:`add_tts_parser`); returns the
    exit code: 0 every session got its audio, 1 some did not, 2 bad arguments or could not
    measure or write the JSON file."""
    prog = "voicewire bench tts"
    too_long = _too_long(args.duration, args.ttfb, args.real_time_factor)
    if too_long is not None:
        print(
            f"{prog}: error: --ttfb + --duration x --real-time-factor {too_long}", file=sys.stderr
        )
        return 2
    return run_benchmark(
        prog,
        args.json_path,
        lambda say: bench_tts(**keyword_options(bench_tts, args), say=say),
        format_tts_report,
        lambda result: result.all_delivered,
    )
