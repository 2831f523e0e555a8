"""What every ``voicewire bench`` target does around its measurement: check where the JSON
goes before measuring, run the measurement (its progress on stderr), print the report, write
the JSON atomically, and turn the verdict into the exit code; and the pieces the load
benchmarks (``stt``, ``tts``, ``inworld``) share: the simulator's child process, its CPU
reading and garbage-collection pauses, the machine's load, percentiles, the ``N[,N...]`` steps
of concurrent sessions, and the skeleton of a load over WebSockets (:func:`run_on_sockets`:
connect them all, then run every session at once with the CPU of both processes read
around)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import aiohttp
from voicewire.harness.atomic_file import write_atomically

__all__ = [
    "BenchResult",
    "GarbagePauses",
    "LoadTimes",
    "check_session_counts",
    "load_average",
    "measure_load",
    "percentile",
    "process_cpu",
    "run_benchmark",
    "run_on_sockets",
    "session_counts_argument",
    "simulator_process",
    "take_records",
]

_START_TIMEOUT = 60.0
_STOP_TIMEOUT = 10.0


class BenchResult(Protocol):
    """A benchmark's figures."""

    def to_json(self) -> dict[str, Any]:
        """Every figure, as JSON data."""
        ...


R = TypeVar("R", bound=BenchResult)


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


@contextlib.asynccontextmanager
async def simulator_process(
    code: str, *argv: str, limit: int = 1 << 16
) -> AsyncIterator[tuple[asyncio.subprocess.Process, bytes]]:
    """Run ``python -c code argv...`` (a simulator serving on its own event loop) with pipes
    on its stdin and stdout, and yield it with the first line it prints (its port, as JSON);
    ``limit`` bounds a line read from it. On leaving, its stdin is closed (the child's cue to
    stop) and it is waited for, killed after 10 s. Raises ``RuntimeError`` if it ends
    before printing a line (its error is on stderr)."""
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
            raise RuntimeError(
                f"the simulator did not start (exit code {await child.wait()}); its error is "
                "on stderr"
            )
        yield child, line
    finally:
        with contextlib.suppress(ConnectionError):
            child.stdin.close()
        try:
            await asyncio.wait_for(child.wait(), _STOP_TIMEOUT)
        except asyncio.TimeoutError:
            child.kill()
            await child.wait()


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
