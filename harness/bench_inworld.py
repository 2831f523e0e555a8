"""``voicewire bench inworld``: the Inworld simulator's TTS under load, in one run.

Two measurements, side by side:

1. **NDJSON streaming** (``POST /tts/v1/voice:stream``): the simulator against a bare aiohttp
   handler that writes the same NDJSON lines, one ``response.write`` per line, on the same
   long reply. Per server: lines and megabytes per second at the client, time to first body
   byte, the server process's CPU per line; the ratios simulator / bare.
2. **Contexts per socket** (``/tts/v1/voice:streamBidirectional``): ``K`` sockets at once,
   each carrying five concurrent contexts (Inworld's limit per socket, IW-WS-2), in steps of
   ``K``; per step the completion latency of a context (p50, p99, max), its time to first
   audio, the audio delivered per wall second and per simulator CPU second.

Method
------
* **Processes.** The simulator runs as ``voicewire serve`` runs it (a
  :class:`~voicewire.simulators.core.socket_server.SimulatorServer`, its heap settled, the
  session limit per key lifted so one key may hold every socket of a step) and the bare
  handler beside it, in one child process on one event loop; the load generator runs in this
  process. Only one server is loaded at a time, so client and server each have a core of the
  two. The child's CPU is read from ``/proc`` around each load.
* **The reply.** The HTTP request is the reference client's own
  (:meth:`~voicewire.reference.inworld.tts.InworldTTS.synthesize_request`: PCM at 24 kHz, the
  defaults upstream sends) for a text of ``http_duration`` seconds of tone code; the simulator
  answers it in lines of ``line_duration`` seconds of audio. Every line the simulator sends
  is computed per request (the tone code synthesised, cut, base64-encoded, journaled): that is
  the simulator's work the bare handler leaves out, with authentication, scenario matching and
  fault placement.
* **The bare handler sends the simulator's own bytes.** A warm-up request to the simulator
  captures its answer, which is checked against what the request must get, computed here on
  its own (:func:`inworld_expected_audio`: the line count, every line's sample count, the
  CRC-32 of all the audio, read back with the wire module's
  :class:`~voicewire.reference.inworld.wire.synthesis.InworldSynthesisReader`); cut into lines
  by the wire module's NDJSON decoder (re-joined and compared byte for byte), it is loaded
  into the bare handler.
* **Client.** ``aiohttp``, one ``ClientSession`` with keep-alive connections; ``requests``
  concurrent ``POST``\\ s per load, each body read as it comes (``iter_any``) and kept. TTFB
  runs from just before the ``POST`` to the body's first bytes; a load's wall time from its
  start to the last body's end. After the clock stops every body is compared, byte for byte,
  with the checked capture (so its lines, their audio and their order are the reply's): a
  body that differs is reported, counts no line, and fails the run, so a broken server
  cannot look fast.
* **Rounds.** One untimed warm-up load per server, then ``rounds`` rounds of one timed load
  per server, the order rotating each round; lines/s and MB/s are the medians over rounds,
  TTFB the p50 and p99 over every timed request, CPU per line the total over the rounds.
* **Contexts.** A socket (a raw ``aiohttp`` WebSocket driven by the wire module's
  :class:`~voicewire.reference.inworld.wire.multiplexer.InworldClientMultiplexer`, not the
  reference client, whose pool and retries would sit between the frames and the clock) opens
  its five contexts one after the other, each ``create`` (the reference client's defaults),
  one ``send_text`` (a sentence of ``context_duration`` seconds of tone code, one of eight so
  that neighbours differ), ``flush_context`` and ``close_context``. Each context must get
  ``contextCreated``, exactly the ``audioChunk``\\ s the reply cuts from the tone code of its
  text (each chunk's sample count, the CRC-32 of all its audio), one ``flushCompleted``, then
  ``contextClosed``, nothing failing; one that got anything else is reported with its reason
  and left out of the timings. A context's latency runs from just before its ``create`` was
  written to the arrival of its ``contextClosed``; its TTFB, to its first audio.
* **Verdict.** DESIGN.md sets no Inworld target: the figures and ratios are reported, and the
  exit code says whether every response and every context got exactly its audio.

Timings are only ever compared within one run; tests check the result's structure, never its
numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp
from aiohttp import web
from voicewire.harness.bench_command import (
    AUDIO_LOAD_COLUMNS,
    AudioFigures,
    ReceivedAudio,
    TableColumn,
    add_json_argument,
    add_pace_argument,
    add_seconds_argument,
    add_steps_argument,
    answer_takes,
    bare_stream_app,
    bench_environment,
    check_count,
    check_number,
    check_session_counts,
    count_argument,
    drive_session,
    figure,
    figure_cell,
    finite_json,
    keyword_options,
    load_average,
    longest_pause_ms,
    measure_load,
    percentile,
    problem_lines,
    run_benchmark,
    run_on_sockets,
    run_step,
    serve_app,
    simulator_process,
    step_json,
    table_header,
    table_row,
    take_records,
    timed_collections,
    tone_code_cut,
)
from voicewire.harness.bench_tts import bench_texts
from voicewire.reference.inworld.tts import InworldTTS
from voicewire.reference.inworld.wire.contexts import create_context_config
from voicewire.reference.inworld.wire.multiplexer import (
    INWORLD_MAX_CONTEXTS,
    ContextAudio,
    ContextCreated,
    ContextDone,
    ContextEvent,
    ContextFailed,
    ContextFlushed,
    InworldClientMultiplexer,
    InworldSocketError,
)
from voicewire.reference.inworld.wire.ndjson import NDJSONDecoder
from voicewire.reference.inworld.wire.synthesis import (
    InworldSynthesisAudio,
    InworldSynthesisReader,
    encode_synthesize_request,
)
from voicewire.reference.inworld.wire.urls import STREAM_PATH, SYNTHESIZE_PATH
from voicewire.reference.json_wire import RemoteProtocolError
from voicewire.simulators.core.credentials import DEFAULT_BASIC_KEY
from voicewire.simulators.inworld.contexts import InworldContextsReply
from voicewire.simulators.inworld.synthesis import InworldSynthesisReply
from voicewire.simulators.scenario import Match, Rule, Scenario
from voicewire.simulators.tts.script import MAX_CHUNK_SECONDS, MIN_CHUNK_SECONDS

__all__ = [
    "CONTEXTS_PER_SOCKET",
    "DEFAULT_CONTEXT_CHUNK_DURATION",
    "DEFAULT_CONTEXT_DURATION",
    "DEFAULT_HTTP_DURATION",
    "DEFAULT_INWORLD_REQUESTS",
    "DEFAULT_INWORLD_ROUNDS",
    "DEFAULT_INWORLD_SOCKETS",
    "DEFAULT_LINE_DURATION",
    "INWORLD_BENCH_SAMPLE_RATE",
    "MAX_BENCH_DURATION",
    "MAX_CONTEXT_REAL_TIME_FACTOR",
    "MAX_CONTEXT_TTFB",
    "MAX_INWORLD_REQUESTS",
    "MAX_INWORLD_ROUNDS",
    "MAX_INWORLD_SOCKETS",
    "MAX_INWORLD_STEPS",
    "MAX_LINE_DURATION",
    "MIN_BENCH_DURATION",
    "MIN_LINE_DURATION",
    "BenchContextRecord",
    "ContextsStep",
    "InworldBenchResult",
    "InworldExpectedAudio",
    "NDJSONRequestRecord",
    "NDJSONServerFigures",
    "add_inworld_parser",
    "bench_inworld",
    "bench_inworld_scenario",
    "check_context",
    "check_ndjson_body",
    "check_synthesis_answer",
    "contexts_step",
    "format_inworld_report",
    "inworld_expected_audio",
    "ndjson_figures",
    "run_inworld_bench",
]

INWORLD_BENCH_SAMPLE_RATE = 24000
"""The sample rate of both measurements: upstream's default."""
CONTEXTS_PER_SOCKET = INWORLD_MAX_CONTEXTS
"""Concurrent contexts on each socket: Inworld's limit (IW-WS-2)."""
DEFAULT_INWORLD_REQUESTS = 4
"""Concurrent ``POST``\\ s per timed load, when not given."""
MAX_INWORLD_REQUESTS = 32
"""The most concurrent ``POST``\\ s (every body is held in memory until it is checked)."""
DEFAULT_INWORLD_ROUNDS = 5
"""Timed loads per server, when not given."""
MAX_INWORLD_ROUNDS = 100
"""The most rounds."""
DEFAULT_HTTP_DURATION = 20.0
"""Seconds of audio in the HTTP reply, when not given (a 283-character text)."""
DEFAULT_LINE_DURATION = 0.02
"""Seconds of audio per NDJSON line, when not given: 1000 lines in the default reply."""
MIN_LINE_DURATION = 0.005
"""The shortest audio per line the simulator cuts."""
MAX_LINE_DURATION = 10.0
"""The longest audio per line the simulator cuts."""
DEFAULT_INWORLD_SOCKETS = (1, 4, 16)
"""The steps of ``K`` sockets when none are given."""
MAX_INWORLD_SOCKETS = 200
"""The most sockets in one step (five contexts each)."""
MAX_INWORLD_STEPS = 8
"""The most steps in one run."""
DEFAULT_CONTEXT_DURATION = 5.0
"""Seconds of audio per context, when not given (a 68-character sentence)."""
DEFAULT_CONTEXT_CHUNK_DURATION = 0.1
"""Seconds of audio per ``audioChunk``, when not given (the simulator's default)."""
MIN_BENCH_DURATION = 0.5
"""The shortest audio per reply or context."""
MAX_BENCH_DURATION = 60.0
"""The longest audio per reply or context (854 characters: one ``send_text`` of at most 1000,
within the 2000 characters of one HTTP request)."""
MAX_CONTEXT_TTFB = 10.0
"""The longest scripted wait before a context's first audio."""
MAX_CONTEXT_REAL_TIME_FACTOR = 10.0
"""The slowest scripted pace of a context's audio."""

_BARE_LINES_PATH = "/__bench/lines"
_NDJSON_HEADERS = {"Content-Type": "application/json"}
_CONNECT_TIMEOUT = 60.0
# After its scripted end, how long a load may take to finish.
_END_TIMEOUT = 60.0
_PROBLEMS_SHOWN = 3
_READ_LIMIT = 1 << 16
# A server that stops answering fails its request rather than hold the benchmark.
_REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=_END_TIMEOUT)


# -- the workload ------------------------------------------------------------------------------


@dataclass(frozen=True)
class InworldExpectedAudio:
    """What the simulator must deliver for ``text`` cut in pieces of ``chunk_duration``
    seconds at ``sample_rate``: the tone code's sample count and CRC-32 and the samples of
    each piece (an NDJSON line, or an ``audioChunk``)."""

    text: str
    sample_rate: int
    samples: int
    crc32: int
    chunk_samples: tuple[int, ...]

    @property
    def audio_seconds(self) -> float:
        """The audio's duration."""
        return self.samples / self.sample_rate


def inworld_expected_audio(
    text: str, chunk_duration: float, sample_rate: int = INWORLD_BENCH_SAMPLE_RATE
) -> InworldExpectedAudio:
    """The tone code of ``text`` (stripped, as the simulator speaks it) and the cut the
    simulator makes of it, computed on its own."""
    samples, crc32, chunk_samples = tone_code_cut(text.strip(), chunk_duration, sample_rate)
    return InworldExpectedAudio(
        text=text,
        sample_rate=sample_rate,
        samples=samples,
        crc32=crc32,
        chunk_samples=chunk_samples,
    )


def bench_inworld_scenario(
    synthesis: InworldSynthesisReply, contexts: InworldContextsReply
) -> Scenario:
    """The benchmark's scenario: every HTTP synthesis answered with ``synthesis``, every
    TTS socket with ``contexts``."""
    return Scenario(
        name="bench-inworld",
        rules=[
            Rule(match=Match(endpoint="inworld.synthesize"), reply=synthesis),
            Rule(match=Match(endpoint="inworld.contexts"), reply=contexts),
        ],
    )


def _reference_tts() -> InworldTTS:
    # Only to build requests as the reference client does; it never connects.
    return InworldTTS(api_key=DEFAULT_BASIC_KEY, sample_rate=INWORLD_BENCH_SAMPLE_RATE)


def check_synthesis_answer(body: bytes, expected: InworldExpectedAudio) -> str | None:
    """Why ``body`` is not the answer the request for ``expected.text`` must get, or None:
    read back with the wire module's reader, every line must be a ``result`` holding the next
    piece of the tone code (its sample count), all the audio its CRC-32, nothing skipped."""
    reader = InworldSynthesisReader()
    try:
        events = [*reader.feed(body), *reader.end()]
    except RemoteProtocolError as exc:
        return f"the answer is not Inworld NDJSON: {exc}"
    crc = 0
    for position, event in enumerate(events):
        if not isinstance(event, InworldSynthesisAudio):
            return f"line {event.line} is not audio: {event}"
        if position >= len(expected.chunk_samples):
            return f"{len(events)} lines arrived, the reply has {len(expected.chunk_samples)}"
        if len(event.audio) != 2 * expected.chunk_samples[position]:
            return (
                f"line {event.line} holds {len(event.audio)} bytes of audio, the reply "
                f"{2 * expected.chunk_samples[position]}"
            )
        crc = zlib.crc32(event.audio, crc)
    if len(events) != len(expected.chunk_samples):
        return f"{len(events)} lines arrived, the reply has {len(expected.chunk_samples)}"
    if crc != expected.crc32:
        return (
            f"the audio (CRC-32 {crc:08x}) is not the tone code of the text ({expected.crc32:08x})"
        )
    return None


def check_ndjson_body(body: bytes, reference: bytes) -> str | None:
    """Why a timed answer is not the checked one, byte for byte, or None; names the first
    line that differs."""
    if body == reference:
        return None
    got = _lines(body)
    want = _lines(reference)
    for number, (mine, theirs) in enumerate(zip(got, want, strict=False), start=1):
        if mine != theirs:
            return f"line {number} differs from the reply's: {mine[:120]!r}"
    return f"{len(got)} lines arrived, the reply has {len(want)}"


def _lines(body: bytes) -> list[bytes]:
    decoder = NDJSONDecoder(max_line_bytes=max(1, len(body)))
    return [line.data for line in (*decoder.feed(body), *decoder.end())]


# -- the servers (run in a child process) --------------------------------------------------------


def _bare_app() -> web.Application:
    return bare_stream_app(
        SYNTHESIZE_PATH,
        _BARE_LINES_PATH,
        headers=_NDJSON_HEADERS,
        cut=lambda body: [line + b"\n" for line in _lines(body)],
        pieces="lines",
        shape="newline-ended lines",
    )


async def _serve(config: dict[str, Any]) -> None:
    from voicewire.simulators.core.limits import Limits
    from voicewire.simulators.core.socket_server import SimulatorServer, settle_heap

    scenario = bench_inworld_scenario(
        InworldSynthesisReply.model_validate(config["synthesis"]),
        InworldContextsReply.model_validate(config["contexts"]),
    )
    simulator = SimulatorServer(scenario, limits=Limits(max_sessions_per_key=None))
    await simulator.start()
    try:
        async with serve_app(_bare_app()) as bare_port:
            settle_heap()  # as voicewire serve does
            with timed_collections() as pauses:
                await answer_takes(
                    {"simulator": simulator.port, "bare": bare_port},
                    lambda: {"gc": pauses.take()},
                )
    finally:
        await simulator.stop()


def _serve_child(config_json: str) -> None:
    """Entry point of the server process (see the module docstring)."""
    asyncio.run(_serve(json.loads(config_json)))


_CHILD_CODE = (
    "import sys; from voicewire.harness.bench_inworld import _serve_child; "
    "_serve_child(sys.argv[1])"
)


# -- NDJSON streaming ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NDJSONRequestRecord:
    """One timed ``POST``: which server, which round, when its body began and ended (seconds
    from just before the request), its bytes and lines (0 when it failed), and why it failed
    (None: it was the reply, byte for byte)."""

    server: str
    round: int
    first_byte: float
    seconds: float
    bytes: int
    lines: int
    failure: str | None = None


@dataclass(frozen=True)
class _NDJSONLoad:
    """One timed load: its requests, its wall time and the server process's CPU."""

    server: str
    round: int
    records: tuple[NDJSONRequestRecord, ...]
    wall_seconds: float
    server_cpu_seconds: float | None
    gc_max_ms: float

    @property
    def lines_per_second(self) -> float:
        return sum(r.lines for r in self.records) / self.wall_seconds

    @property
    def megabytes_per_second(self) -> float:
        return sum(r.bytes for r in self.records if r.failure is None) / self.wall_seconds / 1e6


@dataclass(frozen=True)
class NDJSONServerFigures:
    """One server's figures over the rounds: the medians of lines/s and MB/s (the checked
    bodies' bytes over each load's wall time), TTFB p50 and p99 over every timed request,
    the server process's CPU per line (its total over the rounds), its longest garbage
    collection, and how many of its responses were the reply."""

    server: str
    lines_per_second: float
    megabytes_per_second: float
    ttfb_p50_ms: float
    ttfb_p99_ms: float
    cpu_us_per_line: float | None
    gc_max_ms: float
    responses: int
    responses_ok: int
    problems: tuple[str, ...] = ()


def ndjson_figures(
    server: str, loads: Sequence[Any], records: Sequence[NDJSONRequestRecord]
) -> NDJSONServerFigures:
    """``server``'s figures from its timed loads (each with ``lines_per_second``,
    ``megabytes_per_second``, ``server_cpu_seconds`` and ``gc_max_ms``) and every timed
    request's record."""
    mine = [r for r in records if r.server == server]
    ttfb = sorted(r.first_byte for r in mine if r.failure is None)
    cpu = [load.server_cpu_seconds for load in loads]
    lines = sum(r.lines for r in mine)
    known = bool(cpu) and all(c is not None for c in cpu) and lines > 0
    problems = [f"round {r.round}: {r.failure}" for r in mine if r.failure is not None]
    return NDJSONServerFigures(
        server=server,
        lines_per_second=statistics.median(load.lines_per_second for load in loads),
        megabytes_per_second=statistics.median(load.megabytes_per_second for load in loads),
        ttfb_p50_ms=percentile(ttfb, 0.5) * 1000,
        ttfb_p99_ms=percentile(ttfb, 0.99) * 1000,
        # /proc counts CPU in clock ticks (10 ms): the total over the rounds, per line.
        cpu_us_per_line=sum(c or 0.0 for c in cpu) * 1e6 / lines if known else None,
        gc_max_ms=max((load.gc_max_ms for load in loads), default=0.0),
        responses=len(mine),
        responses_ok=len(mine) - len(problems),
        problems=tuple(problems[:_PROBLEMS_SHOWN]),
    )


@dataclass
class _HTTPBench:
    """The NDJSON measurement's client: one ``aiohttp`` session, both servers."""

    http: aiohttp.ClientSession
    urls: dict[str, str]
    body: bytes
    headers: dict[str, str]
    requests: int
    child: asyncio.subprocess.Process

    async def post(self, server: str) -> tuple[int, bytes, float, float]:
        """One ``POST``: its status, its body, and when its body began and ended."""
        start = time.perf_counter()
        first = 0.0
        blocks: list[bytes] = []
        async with self.http.post(
            self.urls[server], data=self.body, headers=self.headers, timeout=_REQUEST_TIMEOUT
        ) as r:
            async for block in r.content.iter_any():
                if not blocks:
                    first = time.perf_counter() - start
                blocks.append(block)
            status = r.status
        return status, b"".join(blocks), first, time.perf_counter() - start

    async def load(
        self, server: str, round_number: int, reference: bytes, lines: int
    ) -> _NDJSONLoad:
        answers: list[tuple[int, bytes, float, float] | BaseException] = []

        async def run(start: float) -> None:
            answers[:] = await asyncio.gather(
                *(self.post(server) for _ in range(self.requests)), return_exceptions=True
            )

        times = await measure_load(self.child.pid, run)
        records = []
        for answer in answers:
            if isinstance(answer, BaseException):
                if not isinstance(answer, (aiohttp.ClientError, OSError, asyncio.TimeoutError)):
                    raise answer
                failure = f"the request failed: {str(answer) or type(answer).__name__}"
                records.append(NDJSONRequestRecord(server, round_number, 0.0, 0.0, 0, 0, failure))
                continue
            status, body, first, seconds = answer
            problem = (
                f"answered {status}: {body[:200]!r}"
                if status != 200
                else check_ndjson_body(body, reference)
            )
            records.append(
                NDJSONRequestRecord(
                    server,
                    round_number,
                    first,
                    seconds,
                    len(body),
                    lines if problem is None else 0,
                    problem,
                )
            )
        taken = await take_records(self.child)
        return _NDJSONLoad(
            server=server,
            round=round_number,
            records=tuple(records),
            wall_seconds=times.wall_seconds,
            server_cpu_seconds=times.simulator_cpu_seconds,
            gc_max_ms=longest_pause_ms(taken["gc"]),
        )


async def _capture(bench: _HTTPBench, expected: InworldExpectedAudio) -> bytes:
    """The simulator's answer, checked; loaded into the bare handler, whose own answer must
    be the same bytes. ``RuntimeError`` otherwise: the comparison would be meaningless."""
    status, captured, _, _ = await bench.post("simulator")
    if status != 200:
        raise RuntimeError(f"the simulator answered {status}: {captured[:300]!r}")
    problem = check_synthesis_answer(captured, expected)
    if problem is not None:
        raise RuntimeError(f"the simulator's answer is not the reply: {problem}")
    async with bench.http.put(bench.urls["control"], data=captured) as loaded:
        if loaded.status != 200:
            raise RuntimeError(f"loading the bare handler failed: {await loaded.text()}")
    status, bare, _, _ = await bench.post("bare")
    if status != 200 or bare != captured:
        raise RuntimeError("the bare handler does not send the simulator's bytes")
    return captured


# -- contexts per socket -------------------------------------------------------------------------


@dataclass
class BenchContextRecord(ReceivedAudio):
    """What one context of the load saw, judged event by event as it arrived
    (:meth:`receive`): when its ``create`` was written and its ``contextClosed`` arrived
    (monotonic seconds), whether ``contextCreated`` came, the flushes completed, its audio
    (:class:`ReceivedAudio`), and what went wrong (None: nothing yet)."""

    socket: int
    slot: int
    context_id: str
    created_at: float | None = None
    closed_at: float | None = None
    created: bool = False
    flushes: int = 0
    failure: str | None = None

    @property
    def over(self) -> bool:
        """Whether the context has ended: ``contextClosed`` arrived or something went wrong."""
        return self.closed_at is not None or self.failure is not None

    def fail(self, reason: str | None) -> None:
        """Record the first reason the context failed (None: none)."""
        self.failure = self.failure or reason

    def receive(self, event: ContextEvent, at: float) -> bool:
        """Judge one event of the multiplexer about this context, arrived at ``at``; returns
        :attr:`over`. A failure, an event out of place, or audio that is not 16-bit samples
        sets :attr:`failure`."""
        if self.over:
            self.fail(f"{type(event).__name__} arrived after contextClosed")
        elif isinstance(event, ContextFailed):
            self.fail(f"the context failed ({event.kind.value}): {event.message}")
        elif isinstance(event, ContextCreated):
            if self.created:
                self.fail("a second contextCreated arrived")
            self.created = True
        elif not self.created:
            self.fail(f"{type(event).__name__} arrived before contextCreated")
        elif isinstance(event, ContextAudio):
            if self.flushes:
                self.fail("an audioChunk arrived after flushCompleted")
            else:
                self.fail(self.add_audio(event.pcm, at, "an audioChunk"))
        elif isinstance(event, ContextFlushed):
            self.flushes += 1
        elif isinstance(event, ContextDone):
            if self.flushes != 1:
                self.fail(f"contextClosed arrived after {self.flushes} flushCompleted, not 1")
            else:
                self.closed_at = at
        return self.over


@dataclass(frozen=True)
class _ContextTiming:
    latency: float
    ttfb: float


def check_context(
    record: BenchContextRecord, expected: InworldExpectedAudio
) -> tuple[str | None, _ContextTiming | None]:
    """Judge one context against what its text must give: the reason it failed (None: it got
    ``contextCreated``, exactly the chunks of its text's tone code, one ``flushCompleted``,
    then ``contextClosed``), and its latency and TTFB when it did not fail."""
    if record.failure is not None:
        return record.failure, None
    if record.closed_at is None or record.created_at is None:
        return "the context did not end with contextClosed", None
    got, want = record.chunk_samples, expected.chunk_samples
    if len(got) != len(want):
        return f"{len(got)} audioChunks arrived, the reply cuts {len(want)}", None
    at = record.first_difference(want)
    if at is not None:
        return f"audioChunk {at} holds {got[at]} samples, the reply {want[at]}", None
    not_tone_code = record.not_tone_code(expected.crc32)
    if not_tone_code is not None:
        return not_tone_code, None
    assert record.first_audio is not None  # chunks arrived
    return None, _ContextTiming(
        latency=record.closed_at - record.created_at,
        ttfb=record.first_audio - record.created_at,
    )


@dataclass(frozen=True)
class ContextsStep(AudioFigures):
    """One step: ``sockets`` sockets of :data:`CONTEXTS_PER_SOCKET` contexts at once.

    Over the contexts that got their audio (``contexts_ok``; ``problems``: the first reasons
    others failed): completion latency (``latency_*_ms``, ``create`` written to
    ``contextClosed``) and time to first audio (``ttfb_*_ms``). ``audio_delivered_seconds``:
    the audio every context received; ``frame_bytes``: every frame's; ``wall_seconds``: the
    step's start to its last ``contextClosed``; ``simulator_cpu_seconds``: the simulator's CPU
    meanwhile (None when ``/proc`` is missing), and the load generator's;
    ``load_average``: the machine's at the step's end; ``simulator_gc_max_ms``: the
    simulator's longest garbage collection; ``slot_latency_p50_ms``: the p50 latency of the
    contexts opened first, second... on their socket (the slots show whether a socket's
    contexts are served together or in turn)."""

    sockets: int
    contexts: int
    contexts_ok: int
    problems: tuple[str, ...]
    latency_p50_ms: float
    latency_p99_ms: float
    latency_max_ms: float
    ttfb_p50_ms: float
    ttfb_p99_ms: float
    audio_delivered_seconds: float
    frame_bytes: int
    wall_seconds: float
    simulator_cpu_seconds: float | None
    generator_cpu_seconds: float
    load_average: float | None = None
    simulator_gc_max_ms: float = 0.0
    slot_latency_p50_ms: tuple[float, ...] = ()

    @property
    def all_delivered(self) -> bool:
        """Every context got exactly its audio and ``contextClosed``."""
        return self.contexts_ok == self.contexts

    @property
    def contexts_per_second(self) -> float:
        """Contexts completed per wall second of the step."""
        return self.contexts_ok / self.wall_seconds

    @property
    def megabytes_per_second(self) -> float:
        """Megabytes of frames received per wall second of the step."""
        return self.frame_bytes / self.wall_seconds / 1e6


def contexts_step(
    sockets: int,
    expected: Sequence[InworldExpectedAudio],
    records: Sequence[BenchContextRecord],
    *,
    frame_bytes: int,
    wall_seconds: float,
    simulator_cpu_seconds: float | None,
    generator_cpu_seconds: float,
    gc_pauses: Sequence[tuple[int, float]] = (),
) -> ContextsStep:
    """The figures of one step from its contexts' records (the context in slot ``s`` of
    socket ``k`` spoke ``expected[(k * CONTEXTS_PER_SOCKET + s) % len(expected)]``) and its
    measured totals."""
    problems: list[str] = []
    timings: list[_ContextTiming] = []
    by_slot: list[list[float]] = [[] for _ in range(CONTEXTS_PER_SOCKET)]
    for record in records:
        wanted = expected[_variant(record.socket, record.slot) % len(expected)]
        problem, timing = check_context(record, wanted)
        if timing is None:
            problems.append(f"socket {record.socket} context {record.slot}: {problem}")
        else:
            timings.append(timing)
            by_slot[record.slot].append(timing.latency)
    latency = sorted(t.latency for t in timings)
    ttfb = sorted(t.ttfb for t in timings)
    rate = expected[0].sample_rate
    return ContextsStep(
        sockets=sockets,
        contexts=len(records),
        contexts_ok=len(timings),
        problems=tuple(problems[:_PROBLEMS_SHOWN]),
        latency_p50_ms=percentile(latency, 0.5) * 1000,
        latency_p99_ms=percentile(latency, 0.99) * 1000,
        latency_max_ms=percentile(latency, 1.0) * 1000,
        ttfb_p50_ms=percentile(ttfb, 0.5) * 1000,
        ttfb_p99_ms=percentile(ttfb, 0.99) * 1000,
        audio_delivered_seconds=sum(r.samples for r in records) / rate,
        frame_bytes=frame_bytes,
        wall_seconds=wall_seconds,
        simulator_cpu_seconds=simulator_cpu_seconds,
        generator_cpu_seconds=generator_cpu_seconds,
        load_average=load_average(),
        simulator_gc_max_ms=longest_pause_ms(gc_pauses),
        slot_latency_p50_ms=tuple(percentile(sorted(slot), 0.5) * 1000 for slot in by_slot),
    )


def _variant(socket: int, slot: int) -> int:
    return socket * CONTEXTS_PER_SOCKET + slot


class _ContextsLoad:
    """The sockets of one step."""

    def __init__(self, texts: Sequence[str], deadline: float) -> None:
        self._texts = texts
        self._config = create_context_config(sample_rate=INWORLD_BENCH_SAMPLE_RATE)
        self._deadline = deadline
        self.records: list[BenchContextRecord] = []
        self.frame_bytes = 0

    def open(self, sockets: int) -> None:
        """Prepare the records of ``sockets`` sockets."""
        self.records = [
            BenchContextRecord(socket, slot, f"{socket:04x}{slot:02x}{os.urandom(3).hex()}")
            for socket in range(sockets)
            for slot in range(CONTEXTS_PER_SOCKET)
        ]
        self.frame_bytes = 0

    def mine(self, socket: int) -> list[BenchContextRecord]:
        """The records of ``socket``'s contexts."""
        at = socket * CONTEXTS_PER_SOCKET
        return self.records[at : at + CONTEXTS_PER_SOCKET]

    def refused(self, socket: int, reason: str) -> None:
        """``socket`` could not connect: its contexts fail."""
        for record in self.mine(socket):
            record.fail(reason)

    async def session(self, socket: int, ws: aiohttp.ClientWebSocketResponse, start: float) -> None:
        """One socket's five contexts, opened one after the other, read until each is over."""
        records = self.mine(socket)
        mux = InworldClientMultiplexer(clock=time.monotonic)

        async def write() -> None:
            for record in records:
                text = self._texts[_variant(socket, record.slot) % len(self._texts)]
                frames = [
                    mux.create(record.context_id, self._config),
                    *mux.send_text(record.context_id, text),
                    mux.flush(record.context_id),
                    mux.close(record.context_id),
                ]
                # Timed before the write: the context cannot start earlier.
                record.created_at = time.monotonic()
                for frame in frames:
                    await ws.send_str(frame)

        def failed(reason: str) -> None:
            for record in records:
                record.fail(reason)

        await drive_session(
            self._read(ws, mux, records),
            write,
            begin=start,
            deadline=self._deadline,
            failed=failed,
            overdue=f"the socket's contexts did not end within {self._deadline:g} s",
        )

    async def _read(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        mux: InworldClientMultiplexer,
        records: Sequence[BenchContextRecord],
    ) -> None:
        by_id = {record.context_id: record for record in records}
        async for message in ws:
            at = time.monotonic()
            if message.type is not aiohttp.WSMsgType.TEXT:
                reason = f"a {message.type.name} frame arrived"
                for record in records:
                    record.fail(reason)
                return
            self.frame_bytes += len(message.data)
            try:
                events = mux.receive_frame(message.data)
            except RemoteProtocolError as exc:
                for record in records:
                    record.fail(str(exc))
                return
            for event in events:
                if isinstance(event, InworldSocketError):
                    # It names no context: every context of the socket still open heard it.
                    for record in records:
                        if not record.over:
                            record.fail(f"the socket got an error: {event.message}")
                    continue
                by_id[event.context_id].receive(event, at)
            if all(record.over for record in records):
                return
        reason = f"the socket closed ({ws.close_code}) before every contextClosed"
        for record in records:
            if not record.over:
                record.fail(reason)


# -- the result ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InworldBenchResult:
    """The outcome of :func:`bench_inworld`: the HTTP reply and what the timed requests got
    (every request, each server's figures, the ratios), the contexts' script and every
    step."""

    requests: int
    rounds: int
    http: InworldExpectedAudio
    line_duration: float
    reply_bytes: int
    ndjson_records: tuple[NDJSONRequestRecord, ...]
    simulator: NDJSONServerFigures
    bare: NDJSONServerFigures
    contexts_reply: InworldContextsReply
    context: InworldExpectedAudio
    steps: tuple[ContextsStep, ...]

    @property
    def lines(self) -> int:
        """Lines per answer."""
        return len(self.http.chunk_samples)

    @property
    def throughput_ratio(self) -> float:
        """Simulator lines/s over bare's (the same bytes: MB/s alike)."""
        return self.simulator.lines_per_second / self.bare.lines_per_second

    @property
    def ttfb_ratio(self) -> float:
        """Simulator TTFB p50 over bare's."""
        return self.simulator.ttfb_p50_ms / self.bare.ttfb_p50_ms

    @property
    def scripted_context_seconds(self) -> float:
        """What the reply scripts from a context's text to its last chunk, alone on its
        socket: ``ttfb`` and a pace per chunk but the first."""
        reply = self.contexts_reply
        pace = reply.chunk_duration * reply.real_time_factor
        return reply.ttfb + (len(self.context.chunk_samples) - 1) * pace

    @property
    def all_delivered(self) -> bool:
        """What the exit code says: every timed response was the reply, every context got
        exactly its audio."""
        servers_ok = all(f.responses_ok == f.responses for f in (self.simulator, self.bare))
        return servers_ok and all(step.all_delivered for step in self.steps)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: the parameters, every timed request, each server's figures, the
        ratios, every step and the verdict (a figure over nothing, NaN, becomes null)."""
        steps = [
            step_json(
                step,
                "all_delivered",
                "audio_per_second",
                "contexts_per_second",
                "megabytes_per_second",
                "simulator_cores",
                "audio_per_cpu_second",
            )
            for step in self.steps
        ]
        reply = self.contexts_reply
        return finite_json(
            {
                "sample_rate": INWORLD_BENCH_SAMPLE_RATE,
                "ndjson": {
                    "requests": self.requests,
                    "rounds": self.rounds,
                    "audio_seconds": self.http.audio_seconds,
                    "text_characters": len(self.http.text),
                    "line_duration": self.line_duration,
                    "lines": self.lines,
                    "reply_bytes": self.reply_bytes,
                    "runs": [asdict(r) for r in self.ndjson_records],
                    "simulator": asdict(self.simulator),
                    "bare": asdict(self.bare),
                    "throughput_ratio": self.throughput_ratio,
                    "ttfb_ratio": self.ttfb_ratio,
                },
                "contexts": {
                    "contexts_per_socket": CONTEXTS_PER_SOCKET,
                    "audio_seconds": self.context.audio_seconds,
                    "text_characters": len(self.context.text),
                    "chunk_duration": reply.chunk_duration,
                    "chunks": len(self.context.chunk_samples),
                    "ttfb": reply.ttfb,
                    "real_time_factor": reply.real_time_factor,
                    "scripted_seconds": self.scripted_context_seconds,
                    "steps": steps,
                },
                "all_delivered": self.all_delivered,
                "environment": bench_environment(),
                "method": (
                    "simulator and bare handler in one child process, the load generator in "
                    "the parent (aiohttp); NDJSON: per round N concurrent POSTs per server, "
                    "the order rotating, every body compared with the checked reply; "
                    "contexts: K sockets of 5 contexts (create, send_text, flush_context, "
                    "close_context), every context's audio checked; latency = contextClosed "
                    "arrival - create write"
                ),
            }
        )


# -- the benchmark -------------------------------------------------------------------------------


async def bench_inworld(
    *,
    requests: int = DEFAULT_INWORLD_REQUESTS,
    rounds: int = DEFAULT_INWORLD_ROUNDS,
    http_duration: float = DEFAULT_HTTP_DURATION,
    line_duration: float = DEFAULT_LINE_DURATION,
    sockets: Sequence[int] = DEFAULT_INWORLD_SOCKETS,
    context_duration: float = DEFAULT_CONTEXT_DURATION,
    chunk_duration: float = DEFAULT_CONTEXT_CHUNK_DURATION,
    ttfb: float = 0.0,
    real_time_factor: float = 0.0,
    say: Callable[[str], None] | None = None,
) -> InworldBenchResult:
    """Measure the Inworld simulator's NDJSON streaming against a bare handler and its
    contexts per socket under load (see the module docstring); ``say`` hears a line per
    measurement. Raises ``TypeError`` / ``ValueError`` for bad parameters before starting
    anything, ``RuntimeError`` if the servers do not start, answer the warm-up wrongly or a
    step overruns its time."""
    requests = check_count("requests", requests, MAX_INWORLD_REQUESTS)
    rounds = check_count("rounds", rounds, MAX_INWORLD_ROUNDS)
    check_number("http_duration", http_duration, MIN_BENCH_DURATION, MAX_BENCH_DURATION)
    line_duration = check_number(
        "line_duration", line_duration, MIN_LINE_DURATION, MAX_LINE_DURATION
    )
    steps_wanted = check_session_counts(sockets, MAX_INWORLD_SOCKETS, MAX_INWORLD_STEPS)
    check_number("context_duration", context_duration, MIN_BENCH_DURATION, MAX_BENCH_DURATION)
    contexts_reply = InworldContextsReply(
        chunk_duration=check_number(
            "chunk_duration", chunk_duration, MIN_CHUNK_SECONDS, MAX_CHUNK_SECONDS
        ),
        ttfb=check_number("ttfb", ttfb, 0.0, MAX_CONTEXT_TTFB),
        real_time_factor=check_number(
            "real_time_factor", real_time_factor, 0.0, MAX_CONTEXT_REAL_TIME_FACTOR
        ),
    )
    synthesis_reply = InworldSynthesisReply(chunk_duration=line_duration)
    say = say or (lambda message: None)

    http_text = bench_texts(http_duration)[0]
    http_expected = inworld_expected_audio(http_text, line_duration)
    context_texts = bench_texts(context_duration)
    context_expected = [inworld_expected_audio(t, chunk_duration) for t in context_texts]
    tts = _reference_tts()
    body = encode_synthesize_request(tts.synthesize_request(http_text))
    headers = {**tts.headers(), "Content-Type": "application/json"}
    config = {
        "synthesis": synthesis_reply.model_dump(mode="json"),
        "contexts": contexts_reply.model_dump(mode="json"),
    }
    # A context alone is scripted this long; the five of a socket may be served in turn.
    pace = contexts_reply.chunk_duration * contexts_reply.real_time_factor
    scripted = contexts_reply.ttfb + len(context_expected[0].chunk_samples) * pace
    deadline = CONTEXTS_PER_SOCKET * scripted + _END_TIMEOUT

    async with simulator_process(_CHILD_CODE, json.dumps(config), limit=_READ_LIMIT) as (
        child,
        line,
    ):
        ports = json.loads(line)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            bench = _HTTPBench(
                http=http,
                urls={
                    "simulator": f"http://127.0.0.1:{ports['simulator']}{SYNTHESIZE_PATH}",
                    "bare": f"http://127.0.0.1:{ports['bare']}{SYNTHESIZE_PATH}",
                    "control": f"http://127.0.0.1:{ports['bare']}{_BARE_LINES_PATH}",
                },
                body=body,
                headers=headers,
                requests=requests,
                child=child,
            )
            captured = await _capture(bench, http_expected)
            lines = len(http_expected.chunk_samples)
            servers = ["simulator", "bare"]
            for server in servers:  # warm-up: every connection of a load opened once
                await bench.load(server, 0, captured, lines)
            loads: dict[str, list[_NDJSONLoad]] = {server: [] for server in servers}
            for round_number in range(1, rounds + 1):
                shift = (round_number - 1) % len(servers)
                for server in servers[shift:] + servers[:shift]:
                    loads[server].append(await bench.load(server, round_number, captured, lines))
            records = tuple(r for server in servers for load in loads[server] for r in load.records)
            figures = {server: ndjson_figures(server, loads[server], records) for server in servers}
            say(
                f"NDJSON: simulator {figures['simulator'].lines_per_second:,.0f} lines/s, bare "
                f"{figures['bare'].lines_per_second:,.0f} lines/s ({requests} concurrent "
                f"requests, {rounds} round(s))"
            )

            steps: list[ContextsStep] = []
            url = f"ws://127.0.0.1:{ports['simulator']}{STREAM_PATH}"
            load = _ContextsLoad(context_texts, deadline)
            for count in steps_wanted:
                load.open(count)
                times = await run_step(
                    run_on_sockets(
                        http,
                        url,
                        tts.headers(),
                        count,
                        load.session,
                        load.refused,
                        pid=child.pid,
                        connect_timeout=_CONNECT_TIMEOUT,
                    ),
                    _CONNECT_TIMEOUT + deadline + 10,
                    f"the step of {count} sockets",
                    pause_gc=False,
                )
                taken = await take_records(child)
                step = contexts_step(
                    count,
                    context_expected,
                    load.records,
                    frame_bytes=load.frame_bytes,
                    wall_seconds=times.wall_seconds,
                    simulator_cpu_seconds=times.simulator_cpu_seconds,
                    generator_cpu_seconds=times.generator_cpu_seconds,
                    gc_pauses=[(int(g), float(s)) for g, s in taken["gc"]],
                )
                steps.append(step)
                say(
                    f"{count} socket(s) x {CONTEXTS_PER_SOCKET} contexts: latency p99 "
                    f"{figure(step.latency_p99_ms, 1)} ms, {step.contexts_ok}/{step.contexts} "
                    "contexts got their audio"
                )
    return InworldBenchResult(
        requests=requests,
        rounds=rounds,
        http=http_expected,
        line_duration=line_duration,
        reply_bytes=len(captured),
        ndjson_records=records,
        simulator=figures["simulator"],
        bare=figures["bare"],
        contexts_reply=contexts_reply,
        context=context_expected[0],
        steps=tuple(steps),
    )


# -- output --------------------------------------------------------------------------------------


_STEP_COLUMNS = (
    TableColumn("sockets", 8, lambda step: str(step.sockets)),
    TableColumn("contexts", 9, lambda step: str(step.contexts)),
    TableColumn("ok", 10, lambda step: f"{step.contexts_ok}/{step.contexts}"),
    TableColumn("lat p50", 9, figure_cell("latency_p50_ms", 1)),
    TableColumn("lat p99", 9, figure_cell("latency_p99_ms", 1)),
    TableColumn("lat max", 9, figure_cell("latency_max_ms", 1)),
    TableColumn("TTFB p50", 9, figure_cell("ttfb_p50_ms", 1)),
    TableColumn("TTFB p99", 9, figure_cell("ttfb_p99_ms", 1)),
    TableColumn("audio/s", 8, figure_cell("audio_per_second", 0)),
    TableColumn("ctx/s", 8, figure_cell("contexts_per_second", 0)),
    TableColumn("MB/s", 7, figure_cell("megabytes_per_second", 1)),
    *AUDIO_LOAD_COLUMNS,
)

# The NDJSON table's rows: a figure of each server's, one server per column.
_NDJSON_ROWS: tuple[tuple[str, Callable[[NDJSONServerFigures], str]], ...] = (
    ("lines/s", figure_cell("lines_per_second", 0)),
    ("MB/s", figure_cell("megabytes_per_second", 1)),
    ("TTFB p50 ms", figure_cell("ttfb_p50_ms", 2)),
    ("TTFB p99 ms", figure_cell("ttfb_p99_ms", 2)),
    ("CPU us/line", figure_cell("cpu_us_per_line", 2)),
    ("gc ms", figure_cell("gc_max_ms", 1, thousands=False)),
    ("responses ok", lambda figures: f"{figures.responses_ok}/{figures.responses}"),
)


def _server_column(figures: NDJSONServerFigures) -> TableColumn:
    return TableColumn(figures.server, 14, lambda row: row[1](figures))


def _ndjson_table(result: InworldBenchResult) -> list[str]:
    servers = (result.simulator, result.bare)
    columns = (TableColumn("", 14, lambda row: row[0]), *map(_server_column, servers))
    lines = [table_header(columns), *(table_row(row, columns) for row in _NDJSON_ROWS)]
    for figures in servers:
        lines += problem_lines(f"{figures.server}: {p}" for p in figures.problems)
    return lines


def format_inworld_report(result: InworldBenchResult) -> str:
    """The human-readable report: the NDJSON table and its ratios, one row per contexts
    step, then the verdict."""
    http, context, reply = result.http, result.context, result.contexts_reply
    pace = reply.chunk_duration * reply.real_time_factor
    lines = [
        f"voicewire bench inworld: POST {SYNTHESIZE_PATH}: {http.audio_seconds:g} s of audio "
        f"({len(http.text)}-character text, {INWORLD_BENCH_SAMPLE_RATE // 1000} kHz PCM) in "
        f"{result.lines:,} NDJSON lines of {result.line_duration:g} s ({result.reply_bytes:,} "
        f"bytes) per response; {result.requests} concurrent request(s), {result.rounds} "
        "round(s)",
        "",
        *_ndjson_table(result),
        "",
        f"simulator/bare lines/s = {result.throughput_ratio:.2f}x (the same bytes: MB/s alike)",
        f"simulator/bare TTFB    = {result.ttfb_ratio:.2f}x",
        "",
        f"{STREAM_PATH}: {CONTEXTS_PER_SOCKET} contexts per socket, each {context.audio_seconds:g}"
        f" s of audio ({len(context.text)}-character sentence, {len(context.chunk_samples)} "
        f"chunks of {reply.chunk_duration:g} s); scripted: first audio after "
        f"{reply.ttfb * 1000:g} ms, a chunk every {pace * 1000:g} ms (real-time factor "
        f"{reply.real_time_factor:g}): {result.scripted_context_seconds:.3f} s per context alone",
        "",
        table_header(_STEP_COLUMNS),
    ]
    for step in result.steps:
        lines.append(table_row(step, _STEP_COLUMNS))
        slots = ", ".join(figure(ms, 1) for ms in step.slot_latency_p50_ms)
        lines.append(f"{'':>8}   lat p50 by the order of opening on the socket: {slots}")
        lines += problem_lines(step.problems)
    failed_responses = sum(f.responses - f.responses_ok for f in (result.simulator, result.bare))
    failed_contexts = sum(step.contexts - step.contexts_ok for step in result.steps)
    verdict = (
        "every response was the reply's exact lines; every context got exactly its audio and "
        "contextClosed"
        if result.all_delivered
        else f"{failed_responses} response(s) and {failed_contexts} context(s) did NOT get "
        "exactly their audio"
    )
    lines += [
        "",
        "NDJSON: lines/s and MB/s at the client, medians over rounds; TTFB: ms from the POST to "
        "the body's first bytes; CPU us/line: the server process's. Contexts: lat: ms from "
        "writing create to contextClosed; TTFB: to the first audioChunk; audio/s: seconds of "
        "audio delivered per wall second; ctx/s: contexts completed per wall second; MB/s: "
        "frames received; sim/gen CPU: cores used; per core: seconds of audio per simulator "
        "CPU second (an extrapolation); gc: the simulator's longest garbage collection; load: "
        "the machine's load average",
        verdict,
    ]
    return "\n".join(lines)


# -- command line ------------------------------------------------------------------------------


def add_inworld_parser(targets: Any) -> argparse.ArgumentParser:
    """Add the ``inworld`` target to ``voicewire bench``'s subparsers; returns its parser."""
    inworld = targets.add_parser(
        "inworld",
        help="Inworld simulator: NDJSON streaming vs a bare aiohttp handler; contexts per "
        "socket under load",
        description=(
            "Stream the same long NDJSON reply of POST /tts/v1/voice:stream from the Inworld "
            "simulator and from a bare aiohttp handler writing the same lines one write per "
            "line (N concurrent requests per round, rounds interleaved) and print lines/s, MB/s, "
            "TTFB and their ratios; then run K sockets of 5 concurrent contexts each on "
            "/tts/v1/voice:streamBidirectional, for each K, and print the contexts' completion "
            "latency and the audio delivered. Every response and every context must get "
            "exactly its audio. Exit code 0: all did, 1: some did not, 2: could not measure."
        ),
    )
    inworld.add_argument(
        "--requests",
        type=count_argument(MAX_INWORLD_REQUESTS),
        default=DEFAULT_INWORLD_REQUESTS,
        metavar="N",
        help=f"concurrent POSTs per timed load, 1..{MAX_INWORLD_REQUESTS} (default: %(default)s)",
    )
    inworld.add_argument(
        "--rounds",
        type=count_argument(MAX_INWORLD_ROUNDS),
        default=DEFAULT_INWORLD_ROUNDS,
        metavar="R",
        help=f"timed loads per server, 1..{MAX_INWORLD_ROUNDS}; medians are reported "
        "(default: %(default)s)",
    )
    for flag, low, high, default, what in (
        (
            "--http-duration",
            MIN_BENCH_DURATION,
            MAX_BENCH_DURATION,
            DEFAULT_HTTP_DURATION,
            "audio in the NDJSON reply",
        ),
        (
            "--line-duration",
            MIN_LINE_DURATION,
            MAX_LINE_DURATION,
            DEFAULT_LINE_DURATION,
            "audio per NDJSON line",
        ),
    ):
        add_seconds_argument(inworld, flag, low=low, high=high, default=default, what=what)
    add_steps_argument(
        inworld,
        "--sockets",
        maximum=MAX_INWORLD_SOCKETS,
        steps=MAX_INWORLD_STEPS,
        default=DEFAULT_INWORLD_SOCKETS,
        metavar="K[,K...]",
        what=f"sockets of {CONTEXTS_PER_SOCKET} contexts at once",
    )
    for flag, low, high, default, what in (
        (
            "--context-duration",
            MIN_BENCH_DURATION,
            MAX_BENCH_DURATION,
            DEFAULT_CONTEXT_DURATION,
            "audio per context",
        ),
        (
            "--chunk-duration",
            MIN_CHUNK_SECONDS,
            MAX_CHUNK_SECONDS,
            DEFAULT_CONTEXT_CHUNK_DURATION,
            "audio per audioChunk",
        ),
        ("--ttfb", 0.0, MAX_CONTEXT_TTFB, 0.0, "scripted wait before a context's first audio"),
    ):
        add_seconds_argument(inworld, flag, low=low, high=high, default=default, what=what)
    add_pace_argument(
        inworld, high=MAX_CONTEXT_REAL_TIME_FACTOR, default=0.0, what="a context's audio"
    )
    add_json_argument(inworld)
    return inworld


def run_inworld_bench(args: argparse.Namespace) -> int:
    """Run ``voicewire bench inworld`` with ``args`` (from :func:`add_inworld_parser`);
    returns the exit code: 0 every response and context got its audio, 1 some did not, 2
    could not measure or write the JSON file."""
    return run_benchmark(
        "voicewire bench inworld",
        args.json_path,
        lambda say: bench_inworld(**keyword_options(bench_inworld, args), say=say),
        format_inworld_report,
        lambda result: result.all_delivered,
    )
