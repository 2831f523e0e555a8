"""What every ``voicewire bench`` target does around its measurement: check where the JSON
goes before measuring, run the measurement (its progress on stderr), print the report, write
the JSON atomically, and turn the verdict into the exit code; and the pieces the benchmarks
share, so that each module keeps only what it measures:

* **Arguments.** The ``argparse`` types of a number or a count in a range and of the
  ``N[,N...]`` steps, the options every target words alike (``--json``, the steps, seconds in
  a range, a scripted pace), and the same checks for the Python API's parameters.
* **Processes.** The servers' child process (:func:`simulator_process`) and what runs in it
  (:func:`answer_takes`, :func:`serve_app`, the bare handler :func:`bare_stream_app`), its CPU
  reading and garbage-collection pauses, the machine's load.
* **A load.** Its skeleton over WebSockets (:func:`run_on_sockets`: connect them all, then run
  every session at once with the CPU of both processes read around; :func:`run_sessions`, a
  socket per record, their starts spread), one session's (:func:`drive_session`) and one
  step's (:func:`run_step`).
* **Audio.** What a simulator must deliver for a text (:func:`tone_code_cut`) and what a
  session received (:class:`ReceivedAudio`: chunk sizes and CRC-32, never the audio).
* **Figures and output.** Percentiles, the per-wall-second and per-CPU-second figures of a
  step (:class:`LoadFigures`, :class:`AudioFigures`), the table cells and rows, and the JSON
  (NaN as null, the environment)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import inspect
import json
import math
import os
import platform
import sys
import time
import zlib
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import aiohttp
from aiohttp import web
from voicewire.harness.atomic_file import write_atomically
from voicewire.reference.tone_code import encode_tone

__all__ = [
    "AUDIO_LOAD_COLUMNS",
    "AudioFigures",
    "BenchResult",
    "GarbagePauses",
    "LoadFigures",
    "LoadTimes",
    "ReceivedAudio",
    "TableColumn",
    "add_json_argument",
    "add_pace_argument",
    "add_seconds_argument",
    "add_steps_argument",
    "answer_takes",
    "bare_stream_app",
    "bench_environment",
    "check_count",
    "check_number",
    "check_session_counts",
    "count_argument",
    "drive_session",
    "figure",
    "figure_cell",
    "finite_json",
    "keyword_options",
    "load_average",
    "longest_pause_ms",
    "measure_load",
    "number_argument",
    "percentile",
    "problem_lines",
    "process_cpu",
    "run_benchmark",
    "run_on_sockets",
    "run_sessions",
    "run_step",
    "serve_app",
    "session_counts_argument",
    "simulator_process",
    "step_json",
    "stop_process",
    "table_header",
    "table_row",
    "take_records",
    "timed_collections",
    "tone_code_cut",
]

_START_TIMEOUT = 60.0
_STOP_TIMEOUT = 10.0


class BenchResult(Protocol):
    """A benchmark's figures."""

    def to_json(self) -> dict[str, Any]:
        """Every figure, as JSON data."""
        ...


R = TypeVar("R", bound=BenchResult)
T = TypeVar("T")


def run_benchmark(
    prog: str,
    json_path: Path | None,
    measure: Callable[[Callable[[str], None]], Coroutine[Any, Any, R]],
    report: Callable[[R], str],
    met: Callable[[R], bool],
) -> int:
    """Run one benchmark command ``prog`` (``voicewire bench stt``): ``measure(say)`` on a
    fresh event loop, ``say`` printing its progress on stderr; ``report(result)`` on stdout;
    the figures to ``json_path`` if given. Exit code: 0 when ``met(result)``, 1 when not, 2
    when it could not measure or write the JSON file (one line on stderr says why)."""
    if json_path is not None and not json_path.parent.is_dir():
        print(f"{prog}: --json {json_path}: no directory {json_path.parent}", file=sys.stderr)
        return 2
    try:
        result = asyncio.run(measure(lambda message: print(f"{prog}: {message}", file=sys.stderr)))
    except (RuntimeError, OSError, EOFError, ValueError, asyncio.TimeoutError) as exc:
        print(f"{prog}: could not measure: {exc}", file=sys.stderr)
        return 2
    print(report(result))
    if json_path is not None:
        try:
            text = json.dumps(result.to_json(), indent=2, allow_nan=False) + "\n"
            write_atomically(json_path, text)
        except (OSError, ValueError) as exc:
            print(f"{prog}: --json {json_path}: {exc}", file=sys.stderr)
            return 2
        print(f"results written to {json_path}")
    return 0 if met(result) else 1


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) process ``pid`` has used, from ``/proc`` (None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # Fields 14 and 15 of stat (utime, stime), counted after the ")" that ends the name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def stop_process(process: asyncio.subprocess.Process) -> None:
    """Wait for ``process``, asked to stop, to end; kill it after 10 s."""
    try:
        await asyncio.wait_for(process.wait(), _STOP_TIMEOUT)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()


@contextlib.asynccontextmanager
async def simulator_process(
    code: str,
    *argv: str,
    limit: int = 1 << 16,
    not_started: str = "the simulator did not start (exit code {code}); its error is on stderr",
) -> AsyncIterator[tuple[asyncio.subprocess.Process, bytes]]:
    """Run ``python -c code argv...`` (a simulator serving on its own event loop) with pipes
    on its stdin and stdout, and yield it with the first line it prints (its port, as JSON);
    ``limit`` bounds a line read from it. On leaving, its stdin is closed (the child's cue to
    stop) and it is waited for, killed after 10 s. Raises ``RuntimeError`` if it ends
    before printing a line: ``not_started`` with its exit ``code`` (its error is on
    stderr)."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=limit,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        line = await asyncio.wait_for(child.stdout.readline(), _START_TIMEOUT)
        if not line:
            raise RuntimeError(not_started.format(code=await child.wait()))
        yield child, line
    finally:
        with contextlib.suppress(ConnectionError):
            child.stdin.close()
        await stop_process(child)


async def take_records(child: asyncio.subprocess.Process) -> Any:
    """Ask a :func:`simulator_process` child for what it recorded since it was last asked
    (it answers the line ``take`` with one line of JSON). Raises ``RuntimeError`` if it has
    ended."""
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(b"take\n")
    await child.stdin.drain()
    answer = await asyncio.wait_for(child.stdout.readline(), _START_TIMEOUT)
    if not answer:
        raise RuntimeError("the simulator process ended during the benchmark")
    return json.loads(answer)


class GarbagePauses:
    """A process's garbage collections, timed (a ``gc.callbacks`` entry): in a simulator's
    process a collection stops the event loop, so its length shows up in every delay."""

    def __init__(self) -> None:
        self.collections: list[tuple[int, float]] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.collections.append((info["generation"], time.perf_counter() - self._started))

    def take(self) -> list[tuple[int, float]]:
        """``(generation, seconds)`` of each collection since the last take; forgets them."""
        taken, self.collections = self.collections, []
        return taken


@contextlib.contextmanager
def timed_collections() -> Iterator[GarbagePauses]:
    """Time this process's garbage collections while inside (a :class:`GarbagePauses`
    registered in ``gc.callbacks``, removed on leaving)."""
    pauses = GarbagePauses()
    gc.callbacks.append(pauses)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(pauses)


async def answer_takes(ready: Mapping[str, Any], take: Callable[[], Mapping[str, Any]]) -> None:
    """The child's side of :func:`simulator_process`: print ``ready`` (its ports) as its first
    line, then answer each ``take`` line on stdin with ``take()`` as one line of JSON (what
    :func:`take_records` reads), until stdin closes: the parent's cue to stop."""
    loop = asyncio.get_running_loop()
    print(json.dumps(ready), flush=True)
    while await loop.run_in_executor(None, sys.stdin.readline) == "take\n":
        print(json.dumps(take(), separators=(",", ":")), flush=True)


@contextlib.asynccontextmanager
async def serve_app(app: web.Application) -> AsyncIterator[int]:
    """Serve ``app`` on a free port of 127.0.0.1 while inside; yields the port."""
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


_PIECES_KEY: web.AppKey[list[bytes]] = web.AppKey("bench_pieces")


def bare_stream_app(
    path: str,
    control_path: str,
    *,
    headers: Mapping[str, str],
    cut: Callable[[bytes], list[bytes]],
    pieces: str,
    shape: str,
) -> web.Application:
    """The bare handler a simulator is compared with: ``POST path`` answers any request with
    the pieces last loaded and ``headers``, one ``response.write`` per piece (what a streaming
    server does without coalescing its writes); ``PUT control_path`` loads them, ``cut(body)``
    from a body the simulator sent, refused with 400 unless they join back into that body
    exactly (the body is not ``shape``, e.g. ``newline-ended lines``). ``pieces`` names them in
    the answer (``{"lines": 1000}``)."""

    async def stream(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(status=200, headers=dict(headers))
        await response.prepare(request)
        for piece in request.app[_PIECES_KEY]:
            await response.write(piece)
        await response.write_eof()
        return response

    async def load(request: web.Request) -> web.Response:
        body = await request.read()
        cuts = cut(body)
        if b"".join(cuts) != body:
            return web.json_response({"error": f"the captured body is not {shape}"}, status=400)
        request.app[_PIECES_KEY][:] = cuts
        return web.json_response({pieces: len(cuts)})

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[_PIECES_KEY] = []
    app.router.add_post(path, stream)
    app.router.add_put(control_path, load)
    return app


def load_average() -> float | None:
    """The machine's one-minute load average, None where unknown."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of ``values`` (sorted), ``share`` in 0..1; NaN when empty."""
    if not values:
        return math.nan
    return values[max(0, math.ceil(share * len(values)) - 1)]


def longest_pause_ms(pauses: Iterable[Sequence[float]]) -> float:
    """The longest of ``(generation, seconds)`` collections, in milliseconds (0: none)."""
    return max((float(seconds) for _, seconds in pauses), default=0.0) * 1000


def check_session_counts(sessions: object, maximum: int, steps: int) -> tuple[int, ...]:
    """``sessions`` as the steps of a load benchmark: 1..``steps`` ints, each 1..``maximum``.
    Raises ``TypeError`` / ``ValueError`` naming what is wrong."""
    if isinstance(sessions, (str, bytes)) or not isinstance(sessions, Sequence):
        raise TypeError("sessions must be a sequence of session counts")
    if not 1 <= len(sessions) <= steps:
        raise ValueError(f"sessions must name 1..{steps} steps, got {len(sessions)}")
    for count in sessions:
        if isinstance(count, bool) or not isinstance(count, int):
            raise TypeError(f"a session count must be an int, got {type(count).__name__}")
        if not 1 <= count <= maximum:
            raise ValueError(f"a session count must be 1..{maximum}, got {count}")
    return tuple(sessions)


def check_number(
    name: str, value: object, low: float, high: float, *, kind: str = "a number", unit: str = ""
) -> float:
    """``value`` as a float in ``low..high``; ``TypeError`` unless it is ``kind`` (an int or a
    float), ``ValueError`` out of range (``unit`` follows the range in the message)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be {kind}, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be {low:g}..{high:g}{unit}, got {value!r}")
    return float(value)


def check_count(name: str, value: object, maximum: int) -> int:
    """``value`` as an int in ``1..maximum``; ``TypeError`` / ``ValueError`` naming it."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not 1 <= value <= maximum:
        raise ValueError(f"{name} must be 1..{maximum}, got {value}")
    return value


def session_counts_argument(maximum: int, steps: int) -> Callable[[str], tuple[int, ...]]:
    """The ``argparse`` type of ``--sessions N[,N...]``: at most ``steps`` counts, each
    1..``maximum``."""

    def parse(text: str) -> tuple[int, ...]:
        counts = []
        for part in text.split(","):
            try:
                count = int(part)
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"a comma-separated list of session counts, got {text!r}"
                ) from None
            if not 1 <= count <= maximum:
                raise argparse.ArgumentTypeError(
                    f"each session count must be 1..{maximum}, got {count}"
                )
            counts.append(count)
        if len(counts) > steps:
            raise argparse.ArgumentTypeError(f"at most {steps} steps, got {len(counts)}")
        return tuple(counts)

    return parse


def number_argument(low: float, high: float) -> Callable[[str], float]:
    """The ``argparse`` type of a number in ``low..high``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low:g}..{high:g}, got {text}")
        return value

    return parse


def count_argument(maximum: int) -> Callable[[str], int]:
    """The ``argparse`` type of a whole number in ``1..maximum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if not 1 <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be 1..{maximum}, got {text}")
        return value

    return parse


def add_steps_argument(
    parser: argparse.ArgumentParser,
    flag: str,
    *,
    maximum: int,
    steps: int,
    default: Sequence[int],
    metavar: str,
    what: str,
) -> None:
    """Add ``flag`` (``--sessions``), the steps of a load benchmark: at most ``steps`` counts
    of ``what`` (``concurrent syntheses``), each 1..``maximum``."""
    parser.add_argument(
        flag,
        type=session_counts_argument(maximum, steps),
        default=default,
        metavar=metavar,
        help=f"the steps: {what}, each 1..{maximum}, at most {steps} steps (default: "
        f"{','.join(map(str, default))})",
    )


def add_seconds_argument(
    parser: argparse.ArgumentParser,
    flag: str,
    *,
    low: float,
    high: float,
    default: float,
    what: str,
    kind: Callable[[str], float] | None = None,
) -> None:
    """Add ``flag``, seconds of ``what`` (``audio per synthesis``) in ``low..high``, read by
    ``kind`` (default: :func:`number_argument`)."""
    parser.add_argument(
        flag,
        type=kind or number_argument(low, high),
        default=default,
        metavar="SECONDS",
        help=f"{what}, {low:g}..{high:g} s (default: %(default)s)",
    )


def add_pace_argument(
    parser: argparse.ArgumentParser, *, high: float, default: float, what: str
) -> None:
    """Add ``--real-time-factor``: the scripted wall seconds per second of ``what`` (``audio``)
    between chunks, 0..``high``."""
    parser.add_argument(
        "--real-time-factor",
        type=number_argument(0.0, high),
        default=default,
        metavar="RTF",
        help=f"scripted wall seconds per second of {what} between chunks, 0..{high:g} (0: as "
        "fast as the simulator can; default: %(default)s)",
    )


def keyword_options(function: Callable[..., Any], args: argparse.Namespace) -> dict[str, Any]:
    """The options of ``args`` that ``function`` takes by keyword, by name: a benchmark's
    options are named as its function's parameters (``--chunk-duration``,
    ``chunk_duration=``)."""
    return {
        name: getattr(args, name)
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and hasattr(args, name)
    }


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--json FILE`` (``args.json_path``), where :func:`run_benchmark` writes the
    figures."""
    parser.add_argument(
        "--json",
        dest="json_path",
        type=Path,
        metavar="FILE",
        help="also write every figure as JSON to FILE (atomically replaced)",
    )


# -- the skeleton of a load --------------------------------------------------------------------


@dataclass(frozen=True)
class LoadTimes:
    """What one load cost: ``wall_seconds`` from its start to its end, the simulator
    process's CPU seconds meanwhile (None when ``/proc`` is missing) and the load generator's
    (this process's)."""

    wall_seconds: float
    simulator_cpu_seconds: float | None
    generator_cpu_seconds: float


async def measure_load(
    pid: int, load: Callable[[float], Awaitable[None]], *, lead: float = 0.0
) -> LoadTimes:
    """Run ``load(start)``, ``start`` being the monotonic instant ``lead`` seconds from now
    at which its sessions may begin, and time it from ``start`` to its end, with the CPU of
    process ``pid`` (the simulator's) and of this one read around it."""
    cpu_before = process_cpu(pid)
    own_before = time.process_time()
    start = time.monotonic() + lead
    await load(start)
    wall = time.monotonic() - start
    cpu_after = process_cpu(pid)
    return LoadTimes(
        wall_seconds=wall,
        simulator_cpu_seconds=(
            None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
        ),
        generator_cpu_seconds=time.process_time() - own_before,
    )


async def run_on_sockets(
    http: aiohttp.ClientSession,
    url: str,
    headers: Mapping[str, str],
    count: int,
    session: Callable[[int, aiohttp.ClientWebSocketResponse, float], Awaitable[None]],
    refused: Callable[[int, str], None],
    *,
    pid: int,
    lead: float = 0.2,
    parallel: int = 32,
    connect_timeout: float = 60.0,
) -> LoadTimes:
    """The skeleton of a load over WebSockets: connect ``count`` sockets to ``url`` with
    ``headers`` (at most ``parallel`` handshakes at once; ``refused(index, reason)`` for each
    that could not connect; ``RuntimeError`` unless all are done within
    ``connect_timeout``), then run ``session(index, ws, start)`` for every connected socket
    at once under :func:`measure_load` (``start``: ``lead`` seconds after they all
    connected, so that no session begins while others still handshake). Every socket is
    closed at the end, whatever the sessions did."""
    gate = asyncio.Semaphore(parallel)

    async def connect(index: int) -> aiohttp.ClientWebSocketResponse | None:
        async with gate:
            try:
                return await http.ws_connect(
                    url, headers=dict(headers), autoping=True, max_msg_size=0
                )
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                refused(index, f"could not connect: {str(exc) or type(exc).__name__}")
                return None

    try:
        sockets = await asyncio.wait_for(
            asyncio.gather(*(connect(index) for index in range(count))), connect_timeout
        )
    except asyncio.TimeoutError:
        raise RuntimeError(
            f"{count} sockets did not connect within {connect_timeout:g} s"
        ) from None

    async def load(start: float) -> None:
        await asyncio.gather(
            *(session(index, ws, start) for index, ws in enumerate(sockets) if ws is not None)
        )

    try:
        return await measure_load(pid, load, lead=lead)
    finally:
        for ws in sockets:
            if ws is not None and not ws.closed:
                await ws.close()


class _Failing(Protocol):
    failure: str | None


F = TypeVar("F", bound=_Failing)


async def run_sessions(
    http: aiohttp.ClientSession,
    url: str,
    headers: Mapping[str, str],
    records: Sequence[F],
    session: Callable[[aiohttp.ClientWebSocketResponse, F, float], Awaitable[None]],
    *,
    spread: float,
    pid: int,
    lead: float = 0.2,
) -> LoadTimes:
    """:func:`run_on_sockets` with a socket per record: ``session(ws, record, begin)``, the
    ``begin`` of each ``spread`` seconds after the one before (the sessions' writes spread
    evenly, not all at once); a socket that cannot connect is its record's ``failure``."""

    def refused(index: int, reason: str) -> None:
        records[index].failure = reason

    async def run(index: int, ws: aiohttp.ClientWebSocketResponse, start: float) -> None:
        await session(ws, records[index], start + index * spread)

    return await run_on_sockets(http, url, headers, len(records), run, refused, pid=pid, lead=lead)


async def drive_session(
    read: Coroutine[Any, Any, None],
    write: Callable[[], Awaitable[None]],
    *,
    begin: float,
    deadline: float,
    failed: Callable[[str], None],
    overdue: str,
) -> None:
    """One session of a load over a socket: ``read`` (the socket's reader, until the session
    is over) runs from the start; at the monotonic instant ``begin``, ``write()``; then the
    read is waited for, ``deadline`` seconds at most. A connection that fails is
    ``failed("the connection failed: ...")``, the deadline ``failed(overdue)``; the read is
    cancelled if it still runs, whatever happened."""
    reader = asyncio.create_task(read)
    try:
        await asyncio.sleep(max(0.0, begin - time.monotonic()))
        await write()
        await asyncio.wait_for(asyncio.shield(reader), deadline)
    except (aiohttp.ClientError, ConnectionError) as exc:
        failed(f"the connection failed: {str(exc) or type(exc).__name__}")
    except asyncio.TimeoutError:
        failed(overdue)
    finally:
        if not reader.done():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


async def run_step(load: Awaitable[T], budget: float, what: str, *, pause_gc: bool = True) -> T:
    """One step of a load benchmark: ``load`` within ``budget`` seconds, else ``RuntimeError``
    (``what``, ``the step of 4 sessions``, did not end). With ``pause_gc`` this process's
    garbage collector is off meanwhile: a pause of the load generator's own would delay its
    frames or its reading of the simulator's, and count as the simulator's lateness."""
    collecting = gc.isenabled()
    if pause_gc:
        gc.disable()
    try:
        return await asyncio.wait_for(load, budget)
    except asyncio.TimeoutError:
        raise RuntimeError(f"{what} did not end within {budget:g} s") from None
    finally:
        if pause_gc and collecting:
            gc.enable()


# -- the audio a session received -------------------------------------------------------------


def tone_code_cut(
    text: str, chunk_duration: float, sample_rate: int
) -> tuple[int, int, tuple[int, ...]]:
    """What a simulator must deliver for ``text`` in pieces of ``chunk_duration`` seconds at
    ``sample_rate``, computed on its own: the tone code's sample count, its CRC-32 and each
    piece's samples (the simulators' cut: ``round(chunk_duration * sample_rate)`` samples, the
    last piece what remains)."""
    pcm = encode_tone(text, sample_rate=sample_rate).to_bytes()
    samples = len(pcm) // 2
    step = max(1, round(chunk_duration * sample_rate))
    chunks = tuple(min(step, samples - start) for start in range(0, samples, step))
    return samples, zlib.crc32(pcm), chunks


@dataclass(kw_only=True)
class ReceivedAudio:
    """The audio a session of a load received, kept as it arrived (a base of its record):
    when its first chunk arrived (monotonic seconds), each chunk's sample count and the CRC-32
    of all of it; never the audio itself (200 sessions of a minute of audio would be
    gigabytes)."""

    first_audio: float | None = None
    chunk_samples: list[int] = field(default_factory=list)
    crc32: int = 0

    @property
    def samples(self) -> int:
        """The samples of audio received."""
        return sum(self.chunk_samples)

    def add_audio(self, pcm: bytes, at: float, what: str) -> str | None:
        """Keep ``pcm``, the 16-bit audio of a chunk ``what`` (``an audioChunk``) that
        arrived at ``at``; why it cannot be kept (an odd byte count), or None."""
        if len(pcm) % 2:
            return f"{what} of {len(pcm)} bytes: not 16-bit samples"
        if self.first_audio is None:
            self.first_audio = at
        self.chunk_samples.append(len(pcm) // 2)
        self.crc32 = zlib.crc32(pcm, self.crc32)
        return None

    def first_difference(self, chunk_samples: Sequence[int]) -> int | None:
        """The first chunk whose sample count is not ``chunk_samples``' (as many chunks as
        them assumed), None when every one is."""
        pairs = enumerate(zip(self.chunk_samples, chunk_samples, strict=True))
        return next((at for at, (got, want) in pairs if got != want), None)

    def not_tone_code(self, crc32: int) -> str | None:
        """Why the audio is not the tone code of its text (whose CRC-32 is ``crc32``), or
        None."""
        if self.crc32 == crc32:
            return None
        return f"the audio (CRC-32 {self.crc32:08x}) is not the tone code of its text ({crc32:08x})"


# -- figures and output --------------------------------------------------------------------------


class LoadFigures:
    """What a step's measured times give, per wall second (a mixin of a step's dataclass,
    which holds the three times)."""

    wall_seconds: float
    simulator_cpu_seconds: float | None
    generator_cpu_seconds: float

    @property
    def simulator_cores(self) -> float | None:
        """The simulator's CPU seconds per wall second (None: unknown)."""
        if self.simulator_cpu_seconds is None:
            return None
        return self.simulator_cpu_seconds / self.wall_seconds

    @property
    def generator_cores(self) -> float:
        """The load generator's CPU seconds per wall second."""
        return self.generator_cpu_seconds / self.wall_seconds


class AudioFigures(LoadFigures):
    """:class:`LoadFigures` of a step that delivered ``audio_delivered_seconds`` of audio."""

    audio_delivered_seconds: float

    @property
    def audio_per_second(self) -> float:
        """Seconds of audio delivered per wall second of the step."""
        return self.audio_delivered_seconds / self.wall_seconds

    @property
    def audio_per_cpu_second(self) -> float | None:
        """Seconds of audio delivered per second of simulator CPU: what one core carries at
        this step's CPU cost (an extrapolation; None when the CPU is unknown or too small to
        read)."""
        cpu = self.simulator_cpu_seconds
        return None if not cpu else self.audio_delivered_seconds / cpu


def figure(value: float | None, decimals: int, *, thousands: bool = True) -> str:
    """A report's cell: ``value`` to ``decimals`` places, its thousands grouped by commas
    unless not ``thousands``; ``n/a`` for None or NaN (a figure over nothing)."""
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:{',' if thousands else ''}.{decimals}f}"


@dataclass(frozen=True)
class TableColumn:
    """A column of a report's table: its ``title``, its ``width`` (cells are right-aligned in
    it) and what it shows of a row's item (``cell(step)``)."""

    title: str
    width: int
    cell: Callable[[Any], str]


def figure_cell(name: str, decimals: int, *, thousands: bool = True) -> Callable[[Any], str]:
    """The cell of a column that shows an item's ``name`` attribute as a :func:`figure`."""
    return lambda item: figure(getattr(item, name), decimals, thousands=thousands)


AUDIO_LOAD_COLUMNS = (
    TableColumn("sim CPU", 8, figure_cell("simulator_cores", 2)),
    TableColumn("per core", 9, figure_cell("audio_per_cpu_second", 0)),
    TableColumn("gc ms", 7, figure_cell("simulator_gc_max_ms", 1, thousands=False)),
    TableColumn("gen CPU", 8, figure_cell("generator_cores", 2, thousands=False)),
    TableColumn("load", 6, figure_cell("load_average", 1)),
)
"""The last columns of a step of :class:`AudioFigures` (with ``simulator_gc_max_ms`` and
``load_average``): the simulator's cores, its audio per CPU second, its longest garbage
collection, the load generator's cores and the machine's load."""


def table_header(columns: Sequence[TableColumn]) -> str:
    """The titles of ``columns``, aligned as :func:`table_row` aligns the cells."""
    return "".join(f"{column.title:>{column.width}}" for column in columns)


def table_row(item: Any, columns: Sequence[TableColumn]) -> str:
    """One row of a report's table: each column's cell of ``item``, right-aligned."""
    return "".join(f"{column.cell(item):>{column.width}}" for column in columns)


def problem_lines(problems: Iterable[str]) -> list[str]:
    """The lines that show, under a row, why some of its sessions failed."""
    return [f"{'':>8} ! {problem}" for problem in problems]


def finite_json(value: Any) -> Any:
    """``value`` (JSON data, or dicts and tuples of it) with every figure over nothing (NaN,
    an infinity) as null and tuples as lists."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(item) for item in value]
    return value


def step_json(step: Any, *properties: str) -> dict[str, Any]:
    """A step (a dataclass) as JSON data, :func:`finite_json`, then the figures its
    ``properties`` (their names) give."""
    return {**finite_json(asdict(step)), **{name: getattr(step, name) for name in properties}}


def bench_environment(**extra: Any) -> dict[str, Any]:
    """Where a benchmark ran: Python, aiohttp, ``extra`` (another peer's version), the
    platform and its CPUs."""
    return {
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        **extra,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
