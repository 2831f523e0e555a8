"""``voicewire bench stt``: how late the STT simulator's transcripts are under concurrent load.

``N`` sessions stream audio at real-time pace into the simulator at once, in steps of ``N``
(50, 100, 200, 400 by default); each step reports the lateness of the messages the audio made
due (its median, 99th percentile and maximum), the simulator's CPU, and the largest ``N``
whose p99 stays under :data:`LATENESS_LIMIT_MS` is judged against DESIGN.md's target of
:data:`TARGET_SESSIONS_PER_CORE` sessions per simulator core.

Method
------
* **Processes.** The simulator runs as ``voicewire serve`` runs it (a
  :class:`~voicewire.simulators.core.socket_server.SimulatorServer` with the default limits,
  except that the one API key may hold every session of a step) in a child process, on its
  own event loop; the load generator runs in this process, so it never takes the simulator's
  loop. The simulator process's CPU time is read from ``/proc`` around each step's streaming.
* **A session.** It connects and waits until every session of the step has connected; then,
  at its own offset (the sessions' starts are spread evenly over one frame), it sends
  ``session.create``, then one 50 ms ``input_audio`` frame (16 kHz, silence) each time 50 ms
  of real time have passed since its start, for ``duration`` seconds of audio, then
  ``session.finalize``, and reads until the simulator closes the socket.
* **The script.** :func:`bench_script`: a segment of two words every 0.5 s of audio, with
  ``start_of_speech``, interims every 0.1 s and its final: eight messages per second of audio,
  each due exactly when a frame ends, so every one has a frame that made it due. Only
  segments that end inside the audio are scripted: ``session.finalize`` makes nothing due but
  ``session.finalized``.
* **Lateness.** The simulator's lateness hook
  (:data:`~voicewire.simulators.stt.routes.LATENESS_HOOK`, off unless a benchmark sets it)
  records, for each message a client message made due, when the handler read that client
  message and when the due message had gone to the socket, on the machine's monotonic clock
  (one clock for every process). A message's *lateness* is the time it was sent minus the
  time the audio frame that made it due arrived; on loopback a frame arrives when the load
  generator writes it, so that write (timed just before it) is the arrival: lateness then
  includes the time the frame waited for the simulator's loop, not only the handler's work
  (reported on its own as ``handler``). Only the messages the audio made due count
  (``start_of_speech``, interims, finals), not the answers to ``session.create`` and
  ``session.finalize``.
* **Checks.** Every session must receive exactly its script, in order (compared, message by
  message, with what :class:`~voicewire.simulators.stt.player.ScriptPlayer` plays for the same
  frames, ``session_id`` and ``request_id`` aside, which must each be the session's own),
  ``session.created`` first and ``session.finalized`` last, then a close 1000; the hook must
  have seen each message made due by the frame the script says. A step with a session that
  got anything else is reported with the reasons and never passes, whatever its lateness.
* **Sessions per core.** The simulator is one event loop, so it uses at most about one core:
  a step that passes with ``N`` sessions shows ``N`` sessions per core (divided by the cores
  it used, if more than one). Each step also shows the seconds of audio it served per second
  of simulator CPU (what one core would carry at that step's CPU cost), an extrapolation,
  never what is judged.
* **The load generator's share.** Its garbage collector is off during a step (a pause of its
  own would send the simulator a burst of frames). Its CPU and how late it wrote frames
  against their schedule (``gen lag``) are reported: when it lags, the step measured the
  generator too.
  So is the machine's load average at the step's end (``load``): on a shared machine the
  simulator waits for a core whenever more processes than cores want one. And the simulator
  process's longest garbage collection (``gc``, timed with ``gc.callbacks``): a collection
  stops its loop, so every frame arriving meanwhile waits.

Timings are only ever compared within one run; tests check the result's structure, never its
numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from voicewire.harness.arguments import positive_seconds
from voicewire.harness.bench_command import (
    LoadFigures,
    LoadTimes,
    TableColumn,
    add_json_argument,
    add_seconds_argument,
    add_steps_argument,
    answer_takes,
    bench_environment,
    check_number,
    check_session_counts,
    drive_session,
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
)
from voicewire.reference.auth import create_access_token
from voicewire.reference.stt.wire import (
    FRAME_DURATION,
    NORMAL_CLOSURE,
    FinalTranscript,
    InputAudio,
    InterimTranscript,
    ServerMessage,
    SessionCreated,
    SessionFinalize,
    SessionFinalized,
    StartOfSpeech,
    decode_server_message,
    encode_message,
    frame_samples,
    session_create,
)
from voicewire.simulators.scenario import Match, Rule, Scenario
from voicewire.simulators.stt.player import ScriptPlayer
from voicewire.simulators.stt.script import SegmentScript, STTReply, WordScript

__all__ = [
    "DEFAULT_DURATION",
    "DEFAULT_SESSIONS",
    "LATENESS_LIMIT_MS",
    "MAX_DURATION",
    "MAX_SESSIONS",
    "MAX_STEPS",
    "MIN_DURATION",
    "SAMPLE_RATE",
    "TARGET_SESSIONS_PER_CORE",
    "STTBenchResult",
    "STTStep",
    "ScriptedMessage",
    "SessionRecord",
    "add_stt_parser",
    "bench_script",
    "bench_stt",
    "bench_stt_scenario",
    "check_session",
    "format_stt_report",
    "planned_messages",
    "run_stt_bench",
]

TARGET_SESSIONS_PER_CORE = 200
"""DESIGN.md's target: sessions one simulator core carries with p99 lateness under the limit."""
LATENESS_LIMIT_MS = 20.0
"""A step passes when its p99 lateness is below this (and every session got its script)."""
DEFAULT_SESSIONS = (50, 100, 200, 400)
"""The steps of ``N`` when none are given."""
DEFAULT_DURATION = 5.0
"""Seconds of audio each session streams, per step, when not given."""
MIN_DURATION = 0.5
"""The shortest audio per session: one scripted segment."""
MAX_DURATION = 60.0
"""The longest audio per session: every message's times are held until the step ends."""
MAX_SESSIONS = 1000
"""The most sessions in one step (each holds a socket in both processes)."""
MAX_STEPS = 12
"""The most steps in one run: the benchmark stops by itself in bounded time."""
SAMPLE_RATE = 16000
"""The sessions' sample rate: 800 samples per 50 ms frame."""

_SEGMENT_PERIOD = 0.5
_SEGMENT_START = 0.05
_WORD = 0.2
_INTERIM_INTERVAL = 0.1
_WORDS = (
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliett",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
)
_SPEECH = (StartOfSpeech, InterimTranscript, FinalTranscript)
_CONNECT_TIMEOUT = 60.0
# After its last frame, how long a session may wait for the rest of its script and the close.
_END_TIMEOUT = 30.0
_LEAD = 0.2
_READ_LIMIT = 1 << 28
_PROBLEMS_SHOWN = 3


# -- the workload ------------------------------------------------------------------------------


def _check_duration(duration: object) -> float:
    return check_number(
        "duration",
        duration,
        MIN_DURATION,
        MAX_DURATION,
        kind="a number of seconds",
        unit=" s of audio",
    )


def _frames(duration: float) -> int:
    return round(duration / FRAME_DURATION)


def bench_script(duration: float) -> STTReply:
    """The script every session plays: a two-word segment every 0.5 s of audio (0.4 s long,
    its words 0.2 s each, starting 50 ms into the period), with ``start_of_speech``, interims
    every 0.1 s and its final; only the segments that end within ``duration`` seconds."""
    duration = _check_duration(duration)
    audio = _frames(duration) * FRAME_DURATION
    segments = []
    index = 0
    while True:
        start = round(_SEGMENT_START + index * _SEGMENT_PERIOD, 6)
        if start + 2 * _WORD > audio + 1e-9:
            break
        first, second = _WORDS[(2 * index) % len(_WORDS)], _WORDS[(2 * index + 1) % len(_WORDS)]
        words = [
            WordScript(word=first, start=start, end=round(start + _WORD, 6)),
            WordScript(word=second, start=round(start + _WORD, 6), end=round(start + 2 * _WORD, 6)),
        ]
        segments.append(
            SegmentScript(text=f"{first} {second}", start=start, duration=2 * _WORD, words=words)
        )
        index += 1
    return STTReply(segments=segments, interim_interval=_INTERIM_INTERVAL, start_of_speech=True)


def bench_stt_scenario(duration: float) -> Scenario:
    """The benchmark's scenario: every STT session plays :func:`bench_script`."""
    rule = Rule(match=Match(endpoint="stt"), reply=bench_script(duration))
    return Scenario(name="bench-stt", rules=[rule])


@dataclass(frozen=True)
class ScriptedMessage:
    """One message of a session's script: what it is (``request_id`` blank) and the frame
    that makes it due (its index from 0; None: ``session.create`` or ``session.finalize``
    answers it)."""

    message: ServerMessage
    frame: int | None


def planned_messages(duration: float) -> list[ScriptedMessage]:
    """Every message a session of the benchmark must receive, in order: ``session.created``
    (its ``session_id`` blank), the script as :class:`ScriptPlayer` plays it frame by frame,
    ``session.finalized``."""
    player = ScriptPlayer(bench_script(duration), sample_rate=SAMPLE_RATE, request_id="")
    size = frame_samples(SAMPLE_RATE)
    silence = bytes(2 * size)
    planned = [ScriptedMessage(SessionCreated(session_id=""), None)]
    planned += [ScriptedMessage(m, None) for m in player.hear(b"", 0)]
    for frame in range(_frames(duration)):
        planned += [ScriptedMessage(m, frame) for m in player.hear(silence, (frame + 1) * size)]
    planned += [ScriptedMessage(m, None) for m in player.finish(_frames(duration) * size)]
    planned.append(ScriptedMessage(SessionFinalized(), None))
    return planned


# -- the simulator (run in a child process) ------------------------------------------------------


class _Recorder:
    """The lateness hook of the child: per session, ``[type, samples received, arrived, sent]``
    of every message a client message made due."""

    def __init__(self) -> None:
        # One flat list per session (its session_id first, then four fields per message):
        # the measuring adds no objects for the simulator's garbage collector to scan.
        self.sessions: dict[Any, list[Any]] = {}

    def __call__(
        self, connection: Any, message: ServerMessage, arrived: float, sent: float
    ) -> None:
        flat = self.sessions.get(connection)
        if flat is None:
            flat = self.sessions[connection] = [""]
        if isinstance(message, SessionCreated):
            flat[0] = message.session_id
        flat += (message.type, connection.session.samples_received, arrived, sent)

    def take(self) -> dict[str, list[list[Any]]]:
        """The records since the last take, by ``session_id``; forgets them."""
        taken = {
            flat[0]: [flat[at : at + 4] for at in range(1, len(flat), 4)]
            for flat in self.sessions.values()
        }
        self.sessions.clear()
        return taken


async def _serve(duration: float) -> None:
    from voicewire.simulators.core.limits import Limits
    from voicewire.simulators.core.socket_server import SimulatorServer, settle_heap
    from voicewire.simulators.stt.routes import LATENESS_HOOK

    # The one API key of the load generator holds every session of a step at once.
    simulator = SimulatorServer(
        bench_stt_scenario(duration), limits=Limits(max_sessions_per_key=MAX_SESSIONS)
    )
    recorder = _Recorder()
    simulator.app[LATENESS_HOOK] = recorder
    with timed_collections() as pauses:
        await simulator.start()
        settle_heap()  # as voicewire serve does
        try:
            await answer_takes(
                {"port": simulator.port},
                lambda: {"sessions": recorder.take(), "gc": pauses.take()},
            )
        finally:
            await simulator.stop()


def _serve_child(duration: float) -> None:
    """Entry point of the simulator process (see the module docstring)."""
    asyncio.run(_serve(duration))


_CHILD_CODE = (
    "import sys; from voicewire.harness.bench_stt import _serve_child; "
    "_serve_child(float(sys.argv[1]))"
)


# -- the load generator --------------------------------------------------------------------------


@dataclass
class SessionRecord:
    """What one session of the load generator did and saw: when it wrote each frame (and
    when the schedule said to), every text frame received with its arrival time, the close
    code, and what went wrong (None: nothing on its side)."""

    index: int
    frame_written: list[float] = field(default_factory=list)
    frame_scheduled: list[float] = field(default_factory=list)
    received: list[tuple[float, str]] = field(default_factory=list)
    close_code: int | None = None
    failure: str | None = None


class _Generator:
    """The sessions of one step, on one ``aiohttp`` client session."""

    def __init__(self, port: int, duration: float, token: str) -> None:
        self._url = f"http://127.0.0.1:{port}/stt"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._frames = _frames(duration)
        size = frame_samples(SAMPLE_RATE)
        self._create = encode_message(session_create(sample_rate=SAMPLE_RATE))
        self._audio = encode_message(InputAudio.from_pcm(bytes(2 * size)))
        self._finalize = encode_message(SessionFinalize())

    async def run(
        self, sessions: int, http: aiohttp.ClientSession, pid: int
    ) -> tuple[list[SessionRecord], LoadTimes]:
        """Connect ``sessions`` sessions, then stream them all: their records, and the times
        of the streaming only (the CPU of process ``pid``, the simulator's, and this one's)."""
        records = [SessionRecord(index) for index in range(sessions)]
        times = await run_sessions(
            http,
            self._url,
            self._headers,
            records,
            self._session,
            spread=FRAME_DURATION / sessions,
            pid=pid,
            lead=_LEAD,
        )
        return records, times

    async def _session(
        self, ws: aiohttp.ClientWebSocketResponse, record: SessionRecord, begin: float
    ) -> None:
        async def write() -> None:
            await ws.send_str(self._create)
            for frame in range(self._frames):
                due = begin + (frame + 1) * FRAME_DURATION
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                record.frame_scheduled.append(due)
                # Timed before the write: the frame cannot reach the simulator earlier.
                record.frame_written.append(time.monotonic())
                await ws.send_str(self._audio)
            await ws.send_str(self._finalize)

        def failed(reason: str) -> None:
            record.failure = reason

        await drive_session(
            self._read(ws, record),
            write,
            begin=begin,
            deadline=_END_TIMEOUT,
            failed=failed,
            overdue=f"the simulator did not end the session within {_END_TIMEOUT:g} s of "
            "session.finalize",
        )

    @staticmethod
    async def _read(ws: aiohttp.ClientWebSocketResponse, record: SessionRecord) -> None:
        async for message in ws:
            if message.type is aiohttp.WSMsgType.TEXT:
                record.received.append((time.monotonic(), message.data))
            else:
                record.failure = record.failure or f"a {message.type.name} frame arrived"
        record.close_code = ws.close_code


# -- checking and figures ------------------------------------------------------------------------


def _blank_ids(message: ServerMessage) -> tuple[ServerMessage, str | None]:
    """``message`` with its ``session_id`` / ``request_id`` blank, and the id it had."""
    if isinstance(message, SessionCreated):
        return message.model_copy(update={"session_id": ""}), message.session_id
    request_id = getattr(message, "request_id", None)
    if request_id is not None:
        return message.model_copy(update={"request_id": ""}), request_id
    return message, None


def check_session(
    planned: Sequence[ScriptedMessage],
    record: SessionRecord,
    hooked: dict[str, list[list[Any]]],
) -> tuple[str | None, list[tuple[float, float, float]]]:
    """Judge one session against its script: the reason it failed (None: it got exactly its
    script and a close 1000), and for each message its audio made due ``(lateness, handler,
    delivered)`` in seconds (see the module docstring; ``delivered``: until the load generator
    read it). ``hooked``: the simulator's records by ``session_id``."""
    if record.failure is not None:
        return record.failure, []
    if len(record.received) != len(planned):
        kinds = [_type_of(text) for _, text in record.received]
        return (
            f"{len(record.received)} messages arrived, the script has {len(planned)} "
            f"(arrived: {_summary(kinds)})"
        ), []
    session_id = ""
    request_ids: set[str] = set()
    for position, ((_, text), expected) in enumerate(zip(record.received, planned, strict=True)):
        try:
            message = decode_server_message(text)
        except ValueError as exc:
            return f"message {position} is not a server message: {exc}", []
        blank, known = _blank_ids(message)
        if blank != expected.message:
            return (
                f"message {position} is {text[:200]}, the script has "
                f"{encode_message(expected.message)[:200]}"
            ), []
        if isinstance(message, SessionCreated):
            session_id = message.session_id
        elif known is not None:
            request_ids.add(known)
    if len(request_ids) > 1:
        return f"the transcripts carry several request_ids: {sorted(request_ids)}", []
    if record.close_code != NORMAL_CLOSURE:
        return f"the socket closed with {record.close_code}, not {NORMAL_CLOSURE}", []
    hook = hooked.get(session_id)
    if hook is None:
        return f"the simulator's lateness hook saw no session {session_id!r}", []
    if [entry[0] for entry in hook] != [m.message.type for m in planned]:
        return f"the lateness hook saw {_summary([e[0] for e in hook])}", []
    size = frame_samples(SAMPLE_RATE)
    timings = []
    for expected, entry, (read_at, _) in zip(planned, hook, record.received, strict=True):
        if expected.frame is None or not isinstance(expected.message, _SPEECH):
            continue
        _, samples, arrived, sent = entry
        if samples != (expected.frame + 1) * size:
            return (
                f"{expected.message.type} went out at {samples} samples, the script has it at "
                f"{(expected.frame + 1) * size}"
            ), []
        written = record.frame_written[expected.frame]
        timings.append((sent - written, sent - arrived, read_at - written))
    return None, timings


def _type_of(text: str) -> str:
    try:
        return str(json.loads(text).get("type"))
    except (ValueError, AttributeError):
        return "?"


def _summary(kinds: Sequence[str]) -> str:
    counts: dict[str, int] = {}
    for kind in kinds:
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(f"{count} {kind}" for kind, count in counts.items()) or "nothing"


@dataclass(frozen=True)
class STTStep(LoadFigures):
    """One step: ``sessions`` streamed at once for ``audio_seconds`` each.

    Lateness in milliseconds over every message the audio made due (``events``) of the
    sessions that got their script (``sessions_ok``); ``problems``: the first reasons others
    failed. ``simulator_cores``: the simulator's CPU seconds over the streaming's wall
    seconds (None when ``/proc`` is missing); ``generator_cores`` the same for the load
    generator; ``generator_lag_p99_ms``: how late it wrote frames against their schedule;
    ``load_average``: the machine's (one minute) at the step's end, None where unknown;
    ``simulator_gc_max_ms``: the simulator's longest garbage collection (it stops the loop)
    from the step's connects to its end, ``simulator_full_collections`` how many collected
    every generation."""

    sessions: int
    audio_seconds: float
    sessions_ok: int
    problems: tuple[str, ...]
    events: int
    lateness_p50_ms: float
    lateness_p99_ms: float
    lateness_max_ms: float
    handler_p99_ms: float
    delivered_p99_ms: float
    wall_seconds: float
    simulator_cpu_seconds: float | None
    generator_cpu_seconds: float
    generator_lag_p99_ms: float
    load_average: float | None = None
    simulator_gc_max_ms: float = 0.0
    simulator_full_collections: int = 0

    @property
    def passes(self) -> bool:
        """Every session got its script and p99 lateness is under the limit."""
        return (
            self.sessions_ok == self.sessions
            and self.events > 0
            and self.lateness_p99_ms < LATENESS_LIMIT_MS
        )

    @property
    def sessions_per_core(self) -> float | None:
        """Seconds of audio served per second of simulator CPU: the sessions one core would
        carry at this step's CPU cost (an extrapolation; None when the CPU is unknown or too
        small to read)."""
        cpu = self.simulator_cpu_seconds
        return None if not cpu else self.sessions * self.audio_seconds / cpu


@dataclass(frozen=True)
class STTBenchResult:
    """The outcome of :func:`bench_stt`: every step, and the verdict."""

    audio_seconds: float
    steps: tuple[STTStep, ...]

    @property
    def largest_passing(self) -> STTStep | None:
        """The step with the most sessions that passes (None: none does)."""
        passing = [step for step in self.steps if step.passes]
        return max(passing, key=lambda step: step.sessions) if passing else None

    @property
    def sessions_per_core(self) -> float:
        """What is judged: the largest passing ``N``, divided by the simulator's cores when it
        used more than one (0 when no step passes)."""
        step = self.largest_passing
        if step is None:
            return 0.0
        return step.sessions / max(1.0, step.simulator_cores or 0.0)

    @property
    def meets_target(self) -> bool:
        return self.sessions_per_core >= TARGET_SESSIONS_PER_CORE

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: the parameters, every step with its figures, the verdict and the
        setup (lateness NaN, for a step with no message, becomes null)."""
        steps = [
            step_json(step, "passes", "simulator_cores", "generator_cores", "sessions_per_core")
            for step in self.steps
        ]
        largest = self.largest_passing
        return {
            "audio_seconds": self.audio_seconds,
            "steps": steps,
            "lateness_limit_ms": LATENESS_LIMIT_MS,
            "target_sessions_per_core": TARGET_SESSIONS_PER_CORE,
            "largest_passing_sessions": None if largest is None else largest.sessions,
            "sessions_per_core": self.sessions_per_core,
            "meets_target": self.meets_target,
            "environment": bench_environment(),
            "method": (
                "simulator in a child process, load generator in the parent; N sessions "
                "stream 50 ms frames at real-time pace; lateness = simulator send time minus "
                "the load generator's write of the frame that made the message due"
            ),
        }


def _step(
    sessions: int,
    duration: float,
    planned: Sequence[ScriptedMessage],
    records: Sequence[SessionRecord],
    times: LoadTimes,
    taken: dict[str, Any],
) -> STTStep:
    hooked: dict[str, list[list[Any]]] = taken["sessions"]
    problems: list[str] = []
    timings: list[tuple[float, float, float]] = []
    ok = 0
    for record in records:
        problem, mine = check_session(planned, record, hooked)
        if problem is None:
            ok += 1
            timings += mine
        else:
            problems.append(f"session {record.index}: {problem}")
    lag = sorted(
        max(0.0, written - scheduled)
        for record in records
        for written, scheduled in zip(record.frame_written, record.frame_scheduled, strict=True)
    )
    lateness = sorted(t[0] for t in timings)
    handler = sorted(t[1] for t in timings)
    delivered = sorted(t[2] for t in timings)
    return STTStep(
        sessions=sessions,
        audio_seconds=duration,
        sessions_ok=ok,
        problems=tuple(problems[:_PROBLEMS_SHOWN]),
        events=len(timings),
        lateness_p50_ms=percentile(lateness, 0.5) * 1000,
        lateness_p99_ms=percentile(lateness, 0.99) * 1000,
        lateness_max_ms=percentile(lateness, 1.0) * 1000,
        handler_p99_ms=percentile(handler, 0.99) * 1000,
        delivered_p99_ms=percentile(delivered, 0.99) * 1000,
        wall_seconds=times.wall_seconds,
        simulator_cpu_seconds=times.simulator_cpu_seconds,
        generator_cpu_seconds=times.generator_cpu_seconds,
        generator_lag_p99_ms=(percentile(lag, 0.99) * 1000) if lag else 0.0,
        load_average=load_average(),
        simulator_gc_max_ms=longest_pause_ms(taken["gc"]),
        simulator_full_collections=sum(1 for generation, _ in taken["gc"] if generation == 2),
    )


async def bench_stt(
    *,
    sessions: Sequence[int] = DEFAULT_SESSIONS,
    duration: float = DEFAULT_DURATION,
    say: Callable[[str], None] | None = None,
) -> STTBenchResult:
    """Run one step per count in ``sessions``, each streaming ``duration`` seconds of audio
    per session (see the module docstring); ``say`` hears a line per step. Raises
    ``RuntimeError`` if the simulator does not start or a step overruns its time."""
    steps_wanted = check_session_counts(sessions, MAX_SESSIONS, MAX_STEPS)
    duration = _check_duration(duration)
    say = say or (lambda message: None)
    planned = planned_messages(duration)
    from voicewire.simulators.core.credentials import DEFAULT_API_KEY, DEFAULT_API_SECRET

    token = create_access_token(DEFAULT_API_KEY, DEFAULT_API_SECRET)
    steps: list[STTStep] = []
    async with simulator_process(_CHILD_CODE, repr(duration), limit=_READ_LIMIT) as (child, line):
        generator = _Generator(json.loads(line)["port"], duration, token)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            for count in steps_wanted:
                step_budget = _CONNECT_TIMEOUT + _LEAD + 1 + duration + _END_TIMEOUT + 10
                # Its garbage collector off, the load generator never sends a burst of frames.
                records, times = await run_step(
                    generator.run(count, http, child.pid),
                    step_budget,
                    f"the step of {count} sessions",
                )
                taken = await take_records(child)
                step = _step(count, duration, planned, records, times, taken)
                steps.append(step)
                say(
                    f"{count} sessions: p99 lateness {step.lateness_p99_ms:.2f} ms, "
                    f"{step.sessions_ok}/{count} sessions got their script"
                )
    return STTBenchResult(audio_seconds=duration, steps=tuple(steps))


# -- output ------------------------------------------------------------------------------------


def _ms(name: str) -> Callable[[STTStep], str]:
    return figure_cell(name, 2, thousands=False)


_COLUMNS = (
    TableColumn("sessions", 8, lambda step: str(step.sessions)),
    TableColumn("ok", 10, lambda step: f"{step.sessions_ok}/{step.sessions}"),
    TableColumn("messages", 9, lambda step: str(step.events)),
    TableColumn("p50 ms", 9, _ms("lateness_p50_ms")),
    TableColumn("p99 ms", 10, _ms("lateness_p99_ms")),
    TableColumn("max ms", 10, _ms("lateness_max_ms")),
    TableColumn("handler", 9, _ms("handler_p99_ms")),
    TableColumn("gc ms", 8, figure_cell("simulator_gc_max_ms", 1, thousands=False)),
    TableColumn("sim CPU", 8, figure_cell("simulator_cores", 2, thousands=False)),
    TableColumn("per core", 9, figure_cell("sessions_per_core", 0)),
    TableColumn("gen CPU", 8, figure_cell("generator_cores", 2, thousands=False)),
    TableColumn("gen lag", 9, _ms("generator_lag_p99_ms")),
    TableColumn("load", 6, figure_cell("load_average", 1, thousands=False)),
)


def format_stt_report(result: STTBenchResult) -> str:
    """The human-readable table: one row per step, then the verdict."""
    events = len([m for m in planned_messages(result.audio_seconds) if m.frame is not None])
    lines = [
        f"voicewire bench stt: {result.audio_seconds:g} s of audio per session at real-time "
        f"pace, 50 ms frames, {events} messages due per session; lateness = sent by the "
        "simulator - the due frame's arrival",
        "",
        table_header(_COLUMNS) + "  pass",
    ]
    for step in result.steps:
        lines.append(f"{table_row(step, _COLUMNS)}  {'yes' if step.passes else 'NO'}")
        lines += problem_lines(step.problems)
    lines += [
        "",
        "handler: p99 of sent - read by the handler; gc: the simulator's longest garbage "
        "collection; sim/gen CPU: cores used while streaming; per core: seconds of audio served "
        "per simulator CPU second (an extrapolation); gen lag: p99 of how late the load "
        "generator wrote frames; load: the machine's load average",
    ]
    largest = result.largest_passing
    verdict = "meets the target" if result.meets_target else "BELOW the target"
    if largest is None:
        lines.append(
            f"largest N with p99 < {LATENESS_LIMIT_MS:g} ms: none "
            f"(target >= {TARGET_SESSIONS_PER_CORE} sessions per core): {verdict}"
        )
    else:
        lines.append(
            f"largest N with p99 < {LATENESS_LIMIT_MS:g} ms: {largest.sessions} on one "
            f"simulator event loop = {result.sessions_per_core:,.0f} sessions per core "
            f"(target >= {TARGET_SESSIONS_PER_CORE}): {verdict}"
        )
    return "\n".join(lines)


# -- command line ------------------------------------------------------------------------------


def _duration(text: str) -> float:
    value = positive_seconds(text)
    if not MIN_DURATION <= value <= MAX_DURATION:
        raise argparse.ArgumentTypeError(
            f"must be {MIN_DURATION:g}..{MAX_DURATION:g} seconds, got {text}"
        )
    return value


def add_stt_parser(targets: Any) -> argparse.ArgumentParser:
    """Add the ``stt`` target to ``voicewire bench``'s subparsers; returns its parser."""
    stt = targets.add_parser(
        "stt",
        help="STT simulator lateness under N concurrent real-time sessions",
        description=(
            "Stream N concurrent STT sessions at real-time pace from this process into the "
            "simulator (in its own process), for each N, and print how late the simulator "
            "sent the transcripts the audio made due (p50, p99, max), its CPU, and the "
            f"largest N with p99 < {LATENESS_LIMIT_MS:g} ms against the target of "
            f">= {TARGET_SESSIONS_PER_CORE} sessions per simulator core. Every session "
            "must get exactly its script. Exit code 0: target met, 1: target missed, "
            "2: could not measure."
        ),
    )
    add_steps_argument(
        stt,
        "--sessions",
        maximum=MAX_SESSIONS,
        steps=MAX_STEPS,
        default=DEFAULT_SESSIONS,
        metavar="N[,N...]",
        what="concurrent sessions",
    )
    add_seconds_argument(
        stt,
        "--duration",
        low=MIN_DURATION,
        high=MAX_DURATION,
        default=DEFAULT_DURATION,
        what="audio each session streams per step",
        kind=_duration,
    )
    add_json_argument(stt)
    return stt


def run_stt_bench(args: argparse.Namespace) -> int:
    """Run ``voicewire bench stt`` with ``args`` (from :func:`add_stt_parser`); returns the
    exit code: 0 target met, 1 target missed, 2 could not measure or write the JSON file."""
    return run_benchmark(
        "voicewire bench stt",
        args.json_path,
        lambda say: bench_stt(**keyword_options(bench_stt, args), say=say),
        format_stt_report,
        lambda result: result.meets_target,
    )
