"""``voicewire bench``: performance ratios measured side by side in one run.

``voicewire bench llm`` compares the LLM simulator's SSE throughput with a bare aiohttp server
streaming the very same bytes (DESIGN.md: the simulator must reach at least 70% of it).

Method
------
* **One scenario, one stream.** :func:`bench_scenario` scripts a reply of ``chunks`` content
  pieces (fixed fragmentation, 4 characters each), then two tool calls (arguments cut the same
  way) and a usage chunk, with ``time_scale`` 0 so no scripted delay is in the way.
* **Identical bytes.** A warm-up request to the simulator captures the stream it sends; those
  bytes, cut back into their SSE events, are loaded into the bare server, which writes them one
  ``response.write`` per event (the simulator coalesces writes due at the same instant: that
  is part of what the ratio measures). Each simulator stream has its own completion ``id``
  (and, with a wall clock, its own ``created``), so simulator bodies are compared with the
  captured one with those two fields masked; bare bodies must match it byte for byte. A run in
  which the two servers sent different bytes is refused, not reported.
* **What the baseline leaves out.** The bare server does no authentication, no scenario
  matching, no chunk planning or JSON encoding and keeps no journal: all of that is the
  simulator's cost, and it is what the ratio measures.
* **Processes.** Both servers run in one child process (one asyncio event loop, the same
  ``AppRunner`` settings); the client runs in this process, so on two cores the client and the
  streaming server each have one, and only one server streams at a time.
* **Client.** A minimal HTTP/1.1 client on one keep-alive connection per server sends the same
  request bytes (with a bearer token minted before timing) and reads the body in large blocks
  until the final chunk, so the client costs little per event and the measurement is of the
  servers rather than of a client's parser. The clock runs from the request's first byte out
  to the body's last byte in; the body is de-chunked, checked and its SSE events counted after
  the clock stops. The server process's CPU time (user + system) is read before and after each
  timed request through a small endpoint of the bare app, giving CPU time per event, a figure
  other load on the machine disturbs less than wall-clock time.
* **Rounds.** One untimed warm-up request per server, then ``rounds`` rounds of one timed
  request per server, alternating which server goes first. Each server's figure is the median
  of its per-round rates (SSE events per second, every ``data:`` event counted, ``[DONE]``
  included); the ratio is simulator / bare.

Timings are only ever compared within one run; tests check the result's structure, never its
numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import aiohttp
from aiohttp import web
from voicewire.reference.auth import create_access_token
from voicewire.simulators.llm import Fragmentation, LLMReply, ToolCallScript
from voicewire.simulators.scenario import Rule, Scenario

__all__ = [
    "MAX_CHUNKS",
    "TARGET_RATIO",
    "LLMBenchResult",
    "StreamRun",
    "add_bench_parser",
    "bench_llm",
    "bench_request_body",
    "bench_scenario",
    "format_report",
    "run_bench",
    "write_json",
]

TARGET_RATIO = 0.7
"""Simulator throughput as a share of the bare server's that DESIGN.md asks for."""
MAX_CHUNKS = 200_000
"""The most content chunks per stream (about 44 MB of SSE): every stream is held in memory."""

BENCH_MODEL = "openai/gpt-4.1-mini"
_PATH = "/v1/chat/completions"
_EVENTS_PATH = "/__bench/events"
_CPU_PATH = "/__bench/cpu"
_START_TIMEOUT = 60.0
_IO_TIMEOUT = 120.0
_READ_BLOCK = 1 << 18
_SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
# Every chunk starts with these fields (LLM-SSE-2); only their values differ between streams.
_CHUNK_IDENTITY = re.compile(rb'"id":"[^"]*","object":"chat\.completion\.chunk","created":\d+')
_MASKED_IDENTITY = b'"id":"*","object":"chat.completion.chunk","created":0'
_FILLER = "Streaming voice agents read replies piece by piece, so every delta counts. "

Server = Literal["simulator", "bare"]


# -- the workload ------------------------------------------------------------------------------


def _check_count(name: str, value: object, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def bench_scenario(chunks: int) -> Scenario:
    """The benchmark's scenario: ``chunks`` content pieces of 4 characters, then two tool calls
    (their arguments cut the same way) and usage, with no scripted delays."""
    _check_count("chunks", chunks, MAX_CHUNKS)
    repeats = -(-4 * chunks // len(_FILLER))
    reply = LLMReply(
        content=(_FILLER * repeats)[: 4 * chunks],
        tool_calls=[
            ToolCallScript(name="get_weather", arguments={"location": "Paris", "unit": "celsius"}),
            ToolCallScript(
                name="book_table",
                arguments={"restaurant": "Chez Voicewire", "party_size": 4, "time": "19:30"},
            ),
        ],
        fragmentation=Fragmentation(strategy="fixed", size=4, tool_calls="sequential"),
    )
    return Scenario(name="bench-llm", time_scale=0.0, rules=[Rule(reply=reply)])


def bench_request_body() -> bytes:
    """The request both servers get: a streamed completion with usage (bytes, sent verbatim)."""
    return json.dumps(
        {
            "model": BENCH_MODEL,
            "messages": [{"role": "user", "content": "Stream the benchmark reply."}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    ).encode()


def _split_events(body: bytes) -> list[bytes]:
    # Compact JSON escapes newlines inside strings, so a blank line only ever ends an event.
    return [piece + b"\n\n" for piece in body.split(b"\n\n")[:-1]]


def _masked(body: bytes) -> bytes:
    return _CHUNK_IDENTITY.sub(_MASKED_IDENTITY, body)


# -- the servers (run in a child process) --------------------------------------------------------

_EVENTS_KEY: web.AppKey[list[bytes]] = web.AppKey("bench_events")


async def _bare_stream(request: web.Request) -> web.StreamResponse:
    await request.read()
    response = web.StreamResponse(status=200, headers=_SSE_HEADERS)
    await response.prepare(request)
    for event in request.app[_EVENTS_KEY]:
        await response.write(event)
    await response.write_eof()
    return response


async def _load_events(request: web.Request) -> web.Response:
    request.app[_EVENTS_KEY][:] = _split_events(await request.read())
    return web.json_response({"events": len(request.app[_EVENTS_KEY])})


async def _cpu_time(request: web.Request) -> web.Response:
    return web.json_response({"cpu": time.process_time()})


def _bare_app() -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[_EVENTS_KEY] = []
    app.router.add_post(_PATH, _bare_stream)
    app.router.add_put(_EVENTS_PATH, _load_events)
    app.router.add_get(_CPU_PATH, _cpu_time)
    return app


async def _serve(chunks: int) -> None:
    from voicewire.simulators.core.socket_server import SimulatorServer

    simulator = await SimulatorServer(bench_scenario(chunks), time_scale=0.0).start()
    runner = web.AppRunner(_bare_app(), handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        ready = {"simulator": simulator.port, "bare": runner.addresses[0][1]}
        print(json.dumps(ready), flush=True)
        # The parent ends this process by closing its stdin.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.buffer.read)
    finally:
        await runner.cleanup()
        await simulator.stop()


def _serve_child(chunks: int) -> None:
    """Entry point of the server process (see the module docstring)."""
    asyncio.run(_serve(chunks))


_CHILD_CODE = (
    "import sys; from voicewire.harness.bench import _serve_child; _serve_child(int(sys.argv[1]))"
)


# -- a minimal HTTP/1.1 client -------------------------------------------------------------------


@dataclass(frozen=True)
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float


def _dechunk(raw: bytes) -> bytes:
    """The payload of a complete chunked body; ValueError if ``raw`` is not exactly one."""
    pieces = []
    position = 0
    while True:
        end = raw.index(b"\r\n", position)
        size = int(raw[position:end].split(b";")[0], 16)
        position = end + 2
        if size == 0:
            if raw[position:] != b"\r\n":
                raise ValueError("bytes after the final chunk")
            return b"".join(pieces)
        pieces.append(raw[position : position + size])
        position += size
        if raw[position : position + 2] != b"\r\n":
            raise ValueError("a chunk is not followed by CRLF")
        position += 2


class _Connection:
    """One keep-alive HTTP/1.1 connection that sends a request and reads its whole response.

    A chunked body is read in large blocks until it ends with the final chunk (SSE data never
    holds a CR, so that ending cannot occur earlier) and de-chunked only afterwards."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, port: int) -> _Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=_READ_BLOCK * 4)
        return cls(reader, writer)

    async def exchange(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> _Response:
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        lines.append(f"Content-Length: {len(body)}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        reader = self._reader
        start = time.perf_counter()
        self._writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")[:-2]
        fields = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        if "content-length" in fields:
            raw = await reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            buffer = bytearray()
            while not (buffer.endswith(b"\r\n0\r\n\r\n") or buffer == b"0\r\n\r\n"):
                block = await reader.read(_READ_BLOCK)
                if not block:
                    raise ConnectionError(f"{method} {path}: the connection closed mid-body")
                buffer += block
            raw = bytes(buffer)
        else:
            raise ConnectionError(f"{method} {path}: a response with no length and no chunks")
        seconds = time.perf_counter() - start
        if "content-length" not in fields:
            raw = _dechunk(raw)
        return _Response(int(status_line.split()[1]), fields, raw, seconds)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()


# -- measuring ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamRun:
    """One timed response: which server, which round, what arrived and how long it took
    (``seconds``: wall clock at the client; ``server_cpu_seconds``: CPU time the server process
    spent meanwhile). ``digest`` is the SHA-256 of the body with each chunk's ``id``/``created``
    masked, the same for every run of one benchmark."""

    server: Server
    round: int
    events: int
    bytes: int
    seconds: float
    server_cpu_seconds: float
    digest: str

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds

    @property
    def server_cpu_us_per_event(self) -> float:
        return self.server_cpu_seconds * 1e6 / self.events


@dataclass(frozen=True)
class LLMBenchResult:
    """The outcome of :func:`bench_llm`.

    ``*_events_per_second`` are medians of the per-round wall-clock rates, and ``ratio`` is
    simulator / bare, the figure the target applies to. ``*_cpu_us_per_event`` are medians of
    the server process's CPU time per event, and ``cpu_ratio`` (bare / simulator CPU per event,
    None if the simulator's did not register) is the ratio the two would reach if each had a
    core to itself: a steadier figure on a busy machine, shown to explain the wall-clock one.
    """

    chunks: int
    rounds: int
    events: int
    stream_bytes: int
    runs: tuple[StreamRun, ...]
    simulator_events_per_second: float
    bare_events_per_second: float
    ratio: float
    simulator_cpu_us_per_event: float
    bare_cpu_us_per_event: float
    cpu_ratio: float | None
    target: float
    meets_target: bool

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: the parameters, every run, the medians, the ratios and the setup."""
        data = asdict(self)
        data["runs"] = [
            {
                **asdict(run),
                "events_per_second": run.events_per_second,
                "server_cpu_us_per_event": run.server_cpu_us_per_event,
            }
            for run in self.runs
        ]
        data["environment"] = {
            "python": platform.python_version(),
            "aiohttp": aiohttp.__version__,
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        }
        data["method"] = (
            "both servers in one child process, a minimal HTTP/1.1 client in the parent; one "
            "untimed warm-up request per server, then per round one timed request per server, "
            "alternating which goes first; medians per server; ratio = simulator / bare events "
            "per second (wall clock); cpu_ratio = bare / simulator server CPU time per event"
        )
        return data


async def _server_cpu(control: _Connection) -> float:
    response = await control.exchange("GET", _CPU_PATH)
    if response.status != 200:
        raise RuntimeError(f"GET {_CPU_PATH} answered {response.status}")
    return float(json.loads(response.body)["cpu"])


async def _measure(ports: Mapping[str, int], *, chunks: int, rounds: int) -> LLMBenchResult:
    from voicewire.simulators.core.credentials import DEFAULT_API_KEY, DEFAULT_API_SECRET

    body = bench_request_body()
    headers = {
        "Authorization": f"Bearer {create_access_token(DEFAULT_API_KEY, DEFAULT_API_SECRET)}",
        "Content-Type": "application/json",
    }
    connections = {
        "simulator": await _Connection.open(ports["simulator"]),
        "bare": await _Connection.open(ports["bare"]),
        "control": await _Connection.open(ports["bare"]),
    }
    control = connections["control"]

    async def stream(server: Server) -> _Response:
        response = await connections[server].exchange("POST", _PATH, headers=headers, body=body)
        if response.status != 200:
            raise RuntimeError(
                f"the {server} server answered {response.status}: {response.body[:300]!r}"
            )
        return response

    try:
        reference = (await stream("simulator")).body
        loaded = await control.exchange("PUT", _EVENTS_PATH, body=reference)
        if loaded.status != 200:
            raise RuntimeError(f"PUT {_EVENTS_PATH} answered {loaded.status}")
        await stream("bare")

        expected = {"simulator": _masked(reference), "bare": reference}
        runs: list[StreamRun] = []
        for round_number in range(1, rounds + 1):
            order: tuple[Server, Server] = ("simulator", "bare")
            if round_number % 2 == 0:
                order = ("bare", "simulator")
            for server in order:
                cpu_before = await _server_cpu(control)
                response = await stream(server)
                cpu_after = await _server_cpu(control)
                data = response.body
                compared = _masked(data) if server == "simulator" else data
                if compared != expected[server]:
                    raise RuntimeError(
                        f"round {round_number}: the {server} server sent different bytes "
                        f"({len(data)} bytes vs {len(reference)} captured); the comparison "
                        "would be meaningless"
                    )
                runs.append(
                    StreamRun(
                        server=server,
                        round=round_number,
                        events=data.count(b"\n\n"),
                        bytes=len(data),
                        seconds=response.seconds,
                        server_cpu_seconds=cpu_after - cpu_before,
                        digest=hashlib.sha256(_masked(data)).hexdigest(),
                    )
                )
    finally:
        for connection in connections.values():
            await connection.close()

    def median(server: Server, figure: str) -> float:
        return statistics.median(getattr(r, figure) for r in runs if r.server == server)

    simulator_rate = median("simulator", "events_per_second")
    bare_rate = median("bare", "events_per_second")
    simulator_cpu = median("simulator", "server_cpu_us_per_event")
    bare_cpu = median("bare", "server_cpu_us_per_event")
    ratio = simulator_rate / bare_rate
    return LLMBenchResult(
        chunks=chunks,
        rounds=rounds,
        events=reference.count(b"\n\n"),
        stream_bytes=len(reference),
        runs=tuple(runs),
        simulator_events_per_second=simulator_rate,
        bare_events_per_second=bare_rate,
        ratio=ratio,
        simulator_cpu_us_per_event=simulator_cpu,
        bare_cpu_us_per_event=bare_cpu,
        # A coarse CPU clock may not register a tiny run at all.
        cpu_ratio=bare_cpu / simulator_cpu if simulator_cpu > 0 else None,
        target=TARGET_RATIO,
        meets_target=ratio >= TARGET_RATIO,
    )


async def bench_llm(*, chunks: int = 2000, rounds: int = 5) -> LLMBenchResult:
    """Measure the LLM simulator against a bare aiohttp server sending the same bytes.

    ``chunks`` content pieces per stream (at most :data:`MAX_CHUNKS`), ``rounds`` timed
    requests per server. Starts both servers in a child process and ends it before returning;
    raises ``RuntimeError`` if they do not start or their bytes differ.
    """
    _check_count("chunks", chunks, MAX_CHUNKS)
    _check_count("rounds", rounds)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _CHILD_CODE,
        str(chunks),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        line = await asyncio.wait_for(child.stdout.readline(), _START_TIMEOUT)
        if not line:
            raise RuntimeError(
                f"the benchmark servers did not start (exit code {await child.wait()}); "
                "their error is on stderr"
            )
        ports = json.loads(line)
        return await asyncio.wait_for(
            _measure(ports, chunks=chunks, rounds=rounds), _IO_TIMEOUT * (rounds + 1)
        )
    finally:
        child.stdin.close()
        try:
            await asyncio.wait_for(child.wait(), 10.0)
        except asyncio.TimeoutError:
            child.kill()
            await child.wait()


# -- output ------------------------------------------------------------------------------------


def format_report(result: LLMBenchResult) -> str:
    """The human-readable table: per-round figures, medians, the ratios and the verdict."""
    lines = [
        f"voicewire bench llm: {result.chunks} content chunks -> {result.events} SSE events "
        f"({result.stream_bytes:,} bytes) per stream, {result.rounds} round(s)",
        "simulator vs a bare aiohttp server sending the same bytes (both in a child process)",
        "",
        f"{'':>6}  {'SSE events/s (wall clock)':^26}  {'server CPU us/event':^22}",
        f"{'round':>6}  {'simulator':>12}  {'bare':>12}  {'simulator':>10}  {'bare':>10}",
    ]

    def row(label: str, rates: tuple[float, float], cpu: tuple[float, float]) -> str:
        return (
            f"{label:>6}  {rates[0]:>12,.0f}  {rates[1]:>12,.0f}  {cpu[0]:>10.2f}  {cpu[1]:>10.2f}"
        )

    for round_number in range(1, result.rounds + 1):
        runs = {r.server: r for r in result.runs if r.round == round_number}
        sim, bare = runs["simulator"], runs["bare"]
        lines.append(
            row(
                str(round_number),
                (sim.events_per_second, bare.events_per_second),
                (sim.server_cpu_us_per_event, bare.server_cpu_us_per_event),
            )
        )
    lines.append(
        row(
            "median",
            (result.simulator_events_per_second, result.bare_events_per_second),
            (result.simulator_cpu_us_per_event, result.bare_cpu_us_per_event),
        )
    )
    verdict = "meets the target" if result.meets_target else "BELOW the target"
    lines += [
        "",
        f"ratio simulator/bare = {result.ratio:.3f} (target >= {result.target}): {verdict}",
        "CPU ratio (bare/simulator CPU time per event) = "
        + ("n/a" if result.cpu_ratio is None else f"{result.cpu_ratio:.3f}"),
    ]
    return "\n".join(lines)


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` as JSON to ``path`` atomically: a temporary file in the same directory,
    then ``os.replace``, so a reader sees the old file or the whole new one, never a part."""
    target = Path(path)
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
    )
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            json.dump(data, stream, indent=2, allow_nan=False)
            stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# -- command line ------------------------------------------------------------------------------


def _count_argument(maximum: int | None) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, got {text!r}")
        return value

    return parse


def add_bench_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``bench`` (with its ``llm`` target) to a parser's subparsers; returns the parser."""
    bench = subparsers.add_parser(
        "bench",
        help="performance benchmarks (ratios measured side by side in one run)",
        description="Performance benchmarks; each prints a ratio measured side by side.",
    )
    targets = bench.add_subparsers(dest="bench_target", metavar="TARGET", required=True)
    llm = targets.add_parser(
        "llm",
        help="LLM simulator SSE throughput vs a bare aiohttp server sending the same bytes",
        description=(
            "Measure the LLM simulator's SSE events per second against a bare aiohttp server "
            f"streaming identical bytes, in the same run; target ratio >= {TARGET_RATIO}. "
            "Exit code 0: target met, 1: below target, 2: could not measure."
        ),
    )
    llm.add_argument(
        "--chunks",
        type=_count_argument(MAX_CHUNKS),
        default=2000,
        metavar="N",
        help=f"content chunks per stream, at most {MAX_CHUNKS} (default: %(default)s)",
    )
    llm.add_argument(
        "--rounds",
        type=_count_argument(None),
        default=5,
        metavar="R",
        help="timed requests per server; medians are reported (default: %(default)s)",
    )
    llm.add_argument(
        "--json",
        dest="json_path",
        type=Path,
        metavar="FILE",
        help="also write every figure as JSON to FILE (atomically replaced)",
    )
    return bench


def run_bench(args: argparse.Namespace) -> int:
    """Run the benchmark ``args`` (from :func:`add_bench_parser`) name; returns the exit code:
    0 target met, 1 below target, 2 could not measure or could not write the JSON file."""
    if args.bench_target != "llm":
        print(f"voicewire bench: unknown target {args.bench_target!r}", file=sys.stderr)
        return 2
    json_path: Path | None = args.json_path
    if json_path is not None and not json_path.parent.is_dir():
        print(
            f"voicewire bench llm: --json {json_path}: no directory {json_path.parent}",
            file=sys.stderr,
        )
        return 2
    try:
        result = asyncio.run(bench_llm(chunks=args.chunks, rounds=args.rounds))
    except (RuntimeError, OSError, EOFError, ValueError, asyncio.TimeoutError) as exc:
        print(f"voicewire bench llm: could not measure: {exc}", file=sys.stderr)
        return 2
    print(format_report(result))
    if json_path is not None:
        try:
            write_json(json_path, result.to_json())
        except (OSError, ValueError) as exc:
            print(f"voicewire bench llm: --json {json_path}: {exc}", file=sys.stderr)
            return 2
        print(f"results written to {json_path}")
    return 0 if result.meets_target else 1
