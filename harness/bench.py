"""``voicewire bench``: performance ratios measured side by side in one run.

``voicewire bench llm`` streams one long scripted reply from three servers, interleaved, and
prints the ratios DESIGN.md targets: the LLM simulator's SSE events per second against a bare
aiohttp handler that writes one event per write (target >= 1.2x) and against aimock, the
Node LLM mock that coalesces its writes (target >= 1.0x), and its time to first byte against
the bare handler's (target: within 1.5x).

Method
------
* **One reply.** :func:`bench_scenario` scripts ``chunks`` content pieces of 4 characters, two
  tool calls (arguments cut the same way) and usage, with no scripted delay.
* **The bare handler sends the simulator's own bytes.** A warm-up request to the simulator
  captures its stream; cut back into SSE events (with the wire module's decoder, re-encoded and
  checked byte for byte), they are loaded into the bare handler, which writes them one
  ``response.write`` per event: what an SSE server does without coalescing. Every timed body is
  checked: the bare body equals the captured one, the simulator's equals it with each chunk's
  ``id`` masked (every completion has its own id).
* **aimock serves the same reply** from a fixture (same content, same tool calls, 4-character
  chunks; ``@copilotkit/aimock`` from npm, installed once into a cache folder when ``node`` and
  ``npm`` are present, else the column is skipped and the report says why). Its chunk layout
  differs slightly, so it is compared in events per second and its text is checked to be the
  reply's text.
* **What the bare handler leaves out** is the simulator's work: authentication, scenario
  matching, planning and encoding, the journal. The ratios measure what that costs, and what
  coalescing writes gains back.
* **Processes.** The simulator and the bare handler run in one child process (one event loop,
  the same ``AppRunner`` settings), aimock in its own; the client runs in this process. Only one
  server streams at a time, so on two cores client and server each have one.
* **Client.** A minimal HTTP/1.1 client on one keep-alive connection per server sends the same
  request bytes (a bearer token minted before timing) and reads the body in large blocks, so it
  costs little per event. Time to first byte runs from the request's first byte out to the
  body's first byte in; the total, to the body's last byte. Events are counted after the clock
  stops (every ``data:`` event, ``[DONE]`` included). Each server process's CPU time is read
  from ``/proc`` around every request, when available.
* **Rounds.** One untimed warm-up request per server, then ``rounds`` rounds of one timed
  request per server, the order rotating each round. Each figure is the median over rounds.

``voicewire bench stt`` (STT simulator lateness under concurrent sessions) is
:mod:`voicewire.harness.bench_stt`; ``voicewire bench tts`` (TTS simulator pace under concurrent
syntheses), :mod:`voicewire.harness.bench_tts`; ``voicewire bench inworld`` (the Inworld
simulator's NDJSON streaming and contexts per socket), :mod:`voicewire.harness.bench_inworld`;
``voicewire bench mutation``,
:mod:`voicewire.harness.mutation_bench`.

Timings are only ever compared within one run; tests check the result's structure, never its
numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from voicewire.harness.bench_command import (
    add_json_argument,
    answer_takes,
    bare_stream_app,
    bench_environment,
    process_cpu,
    run_benchmark,
    serve_app,
    simulator_process,
    stop_process,
)
from voicewire.harness.bench_inworld import add_inworld_parser, run_inworld_bench
from voicewire.harness.bench_stt import add_stt_parser, run_stt_bench
from voicewire.harness.bench_tts import add_tts_parser, run_tts_bench
from voicewire.harness.mutation_bench import add_mutation_parser, run_mutation_bench
from voicewire.harness.protocols import TABLE
from voicewire.harness.runner import suite_table
from voicewire.reference.auth import create_access_token
from voicewire.reference.llm.wire import SSEDecoder, decode_payload
from voicewire.simulators.llm import Fragmentation, LLMReply, ToolCallScript
from voicewire.simulators.scenario import Rule, Scenario

__all__ = [
    "AIMOCK_PACKAGE",
    "MAX_CHUNKS",
    "TARGETS",
    "LLMBenchResult",
    "ServerFigures",
    "StreamRun",
    "add_bench_parser",
    "aimock_fixture",
    "bench_llm",
    "bench_request_body",
    "bench_scenario",
    "format_bench_report",
    "run_bench",
]

TARGETS = {"bare": 1.2, "aimock": 1.0, "ttfb": 1.5}
"""DESIGN.md's targets: simulator events/s over bare's and over aimock's (at least), and the
simulator's time to first byte over bare's (at most)."""
MAX_CHUNKS = 200_000
"""The most content chunks per stream (about 44 MB of SSE): every stream is held in memory."""
AIMOCK_PACKAGE = "@copilotkit/aimock@1.43.0"
"""The aimock release the benchmark installs (pinned: a comparison needs a fixed peer)."""

BENCH_MODEL = "openai/gpt-4.1-mini"
BENCH_PROMPT = "Stream the benchmark reply."
_PATH = "/v1/chat/completions"
_EVENTS_PATH = "/__bench/events"
_START_TIMEOUT = 60.0
_IO_TIMEOUT = 120.0
_READ_BLOCK = 1 << 18
_SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
# Every simulator chunk starts with its completion id (LLM-SSE-2), the one value that differs
# between two streams of the same script.
_CHUNK_ID = re.compile(rb'"id":"chatcmpl-[^"]*"')
_MASKED_ID = b'"id":"chatcmpl-*"'
_FILLER = "Streaming voice agents read replies piece by piece, so every delta counts. "
_TOOL_CALLS = (
    ("get_weather", {"location": "Paris", "unit": "celsius"}),
    ("book_table", {"restaurant": "Chez Voicewire", "party_size": 4, "time": "19:30"}),
)


# -- the workload ------------------------------------------------------------------------------


def _check_count(name: str, value: object, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def _reply_text(chunks: int) -> str:
    repeats = -(-4 * chunks // len(_FILLER))
    return (_FILLER * repeats)[: 4 * chunks]


def bench_scenario(chunks: int) -> Scenario:
    """The benchmark's scenario: ``chunks`` content pieces of 4 characters, then two tool calls
    (their arguments cut the same way) and usage, with no scripted delays."""
    _check_count("chunks", chunks, MAX_CHUNKS)
    reply = LLMReply(
        content=_reply_text(chunks),
        tool_calls=[ToolCallScript(name=name, arguments=args) for name, args in _TOOL_CALLS],
        fragmentation=Fragmentation(strategy="fixed", size=4, tool_calls="sequential"),
    )
    return Scenario(name="bench-llm", time_scale=0.0, rules=[Rule(reply=reply)])


def aimock_fixture(chunks: int) -> dict[str, Any]:
    """The same reply as an aimock fixture: same text and calls, 4-character chunks."""
    _check_count("chunks", chunks, MAX_CHUNKS)
    calls = [{"name": name, "arguments": json.dumps(args)} for name, args in _TOOL_CALLS]
    return {
        "fixtures": [
            {
                "match": {"userMessage": BENCH_PROMPT},
                "response": {"content": _reply_text(chunks), "toolCalls": calls},
                "chunkSize": 4,
            }
        ]
    }


def bench_request_body() -> bytes:
    """The request every server gets: a streamed completion with usage (sent verbatim)."""
    return json.dumps(
        {
            "model": BENCH_MODEL,
            "messages": [{"role": "user", "content": BENCH_PROMPT}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    ).encode()


def _events(body: bytes) -> list[Any]:
    """The SSE events of a whole body, as the wire module decodes them."""
    decoder = SSEDecoder()
    return [*decoder.feed(body), *decoder.end()]


def _streamed_text(body: bytes) -> str:
    text = []
    for event in _events(body):
        if event.data == "[DONE]":
            continue
        for choice in decode_payload(event.data).get("choices") or []:
            text.append((choice.get("delta") or {}).get("content") or "")
    return "".join(text)


# -- the simulator and the bare handler (run in a child process) --------------------------------


def _bare_app() -> web.Application:
    return bare_stream_app(
        _PATH,
        _EVENTS_PATH,
        headers=_SSE_HEADERS,
        cut=lambda body: [event.encode() for event in _events(body)],
        pieces="events",
        shape="plain data events",
    )


async def _serve(chunks: int) -> None:
    from voicewire.simulators.core.socket_server import SimulatorServer

    simulator = await SimulatorServer(bench_scenario(chunks), time_scale=0.0).start()
    try:
        async with serve_app(_bare_app()) as bare_port:
            # The parent asks for nothing: it ends this process by closing its stdin.
            await answer_takes({"simulator": simulator.port, "bare": bare_port}, dict)
    finally:
        await simulator.stop()


def _serve_child(chunks: int) -> None:
    """Entry point of the server process (see the module docstring)."""
    asyncio.run(_serve(chunks))


_CHILD_CODE = (
    "import sys; from voicewire.harness.bench import _serve_child; _serve_child(int(sys.argv[1]))"
)


# -- aimock --------------------------------------------------------------------------------------


def aimock_cache() -> Path:
    """Where the benchmark keeps its aimock install (``$XDG_CACHE_HOME/voicewire/aimock``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "voicewire" / "aimock"


async def _aimock_cli(folder: Path, say: Any) -> Path:
    """The aimock server script, installed from npm into ``folder`` first if need be;
    ``RuntimeError`` says why it is not available."""
    cli = folder / "node_modules" / "@copilotkit" / "aimock" / "dist" / "cli.js"
    if cli.is_file():
        return cli
    if shutil.which("node") is None:
        raise RuntimeError("node is not installed")
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed (needed once, to fetch aimock)")
    folder.mkdir(parents=True, exist_ok=True)
    say(f"installing {AIMOCK_PACKAGE} from npm into {folder} (once)")
    process = await asyncio.create_subprocess_exec(
        npm,
        "install",
        "--prefix",
        str(folder),
        "--no-audit",
        "--no-fund",
        "--silent",
        AIMOCK_PACKAGE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 300)
    if process.returncode != 0 or not cli.is_file():
        tail = output.decode(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"npm install {AIMOCK_PACKAGE} failed: {' / '.join(tail)}")
    return cli


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _wait_for_port(port: int, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise RuntimeError(f"aimock exited with code {process.returncode} at start")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise RuntimeError(f"aimock did not listen on port {port} within {_START_TIMEOUT:g} s")


# -- a minimal HTTP/1.1 client -------------------------------------------------------------------


@dataclass(frozen=True)
class _Response:
    status: int
    body: bytes
    first_byte: float
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
        first_byte = 0.0
        if "content-length" in fields:
            raw = await reader.readexactly(int(fields["content-length"]))
            first_byte = time.perf_counter() - start
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            buffer = bytearray()
            while not (buffer.endswith(b"\r\n0\r\n\r\n") or buffer == b"0\r\n\r\n"):
                block = await reader.read(_READ_BLOCK)
                if not block:
                    raise ConnectionError(f"{method} {path}: the connection closed mid-body")
                if not buffer:
                    first_byte = time.perf_counter() - start
                buffer += block
            raw = bytes(buffer)
        else:
            raise ConnectionError(f"{method} {path}: a response with no length and no chunks")
        seconds = time.perf_counter() - start
        if "content-length" not in fields:
            raw = _dechunk(raw)
        return _Response(int(status_line.split()[1]), raw, first_byte, seconds)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()


# -- measuring ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamRun:
    """One timed response: which server, which round, what arrived and how long it took
    (``seconds``: wall clock at the client; ``first_byte``: until the body's first byte;
    ``server_cpu_seconds``: CPU time the server process spent meanwhile, None when unknown)."""

    server: str
    round: int
    events: int
    bytes: int
    first_byte: float
    seconds: float
    server_cpu_seconds: float | None

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds


@dataclass(frozen=True)
class ServerFigures:
    """One server's medians over the rounds (CPU: its total over the rounds per event)."""

    server: str
    events: int
    events_per_second: float
    first_byte_ms: float
    cpu_us_per_event: float | None


@dataclass(frozen=True)
class LLMBenchResult:
    """The outcome of :func:`bench_llm`: every run, each server's medians, and the ratios
    against the targets (``aimock_skipped`` says why aimock is missing, when it is)."""

    chunks: int
    rounds: int
    stream_bytes: int
    runs: tuple[StreamRun, ...]
    figures: tuple[ServerFigures, ...]
    ratio_bare: float
    ratio_aimock: float | None
    ttfb_ratio: float
    aimock_skipped: str | None

    def figures_of(self, server: str) -> ServerFigures:
        return next(f for f in self.figures if f.server == server)

    @property
    def verdicts(self) -> dict[str, bool | None]:
        """Target met per ratio (None: not measured)."""
        return {
            "bare": self.ratio_bare >= TARGETS["bare"],
            "aimock": None if self.ratio_aimock is None else self.ratio_aimock >= TARGETS["aimock"],
            "ttfb": self.ttfb_ratio <= TARGETS["ttfb"],
        }

    @property
    def meets_targets(self) -> bool:
        return all(verdict is not False for verdict in self.verdicts.values())

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: the parameters, every run, the medians, the ratios and the setup."""
        data = asdict(self)
        data["runs"] = [
            {**asdict(run), "events_per_second": run.events_per_second} for run in self.runs
        ]
        data["targets"] = dict(TARGETS)
        data["verdicts"] = self.verdicts
        data["environment"] = bench_environment(
            aimock=None if self.aimock_skipped else AIMOCK_PACKAGE
        )
        data["method"] = (
            "simulator and bare handler in one child process, aimock in its own, a minimal "
            "HTTP/1.1 client in the parent; one untimed warm-up request per server, then per "
            "round one timed request per server, the order rotating; medians per server"
        )
        return data


async def _measure(
    ports: Mapping[str, int], pids: Mapping[str, int], *, chunks: int, rounds: int
) -> tuple[int, list[StreamRun]]:
    from voicewire.simulators.core.credentials import DEFAULT_API_KEY, DEFAULT_API_SECRET

    body = bench_request_body()
    headers = {
        "Authorization": f"Bearer {create_access_token(DEFAULT_API_KEY, DEFAULT_API_SECRET)}",
        "Content-Type": "application/json",
    }
    servers = list(ports)
    connections = {server: await _Connection.open(port) for server, port in ports.items()}
    control = await _Connection.open(ports["bare"])
    text = _reply_text(chunks)

    async def stream(server: str) -> _Response:
        response = await connections[server].exchange("POST", _PATH, headers=headers, body=body)
        if response.status != 200:
            raise RuntimeError(
                f"the {server} server answered {response.status}: {response.body[:300]!r}"
            )
        return response

    try:
        captured = (await stream("simulator")).body
        loaded = await control.exchange("PUT", _EVENTS_PATH, body=captured)
        if loaded.status != 200:
            raise RuntimeError(f"loading the bare handler failed: {loaded.body[:300]!r}")
        for server in servers[1:]:
            await stream(server)

        def check(server: str, data: bytes) -> None:
            if server == "aimock":
                same = _streamed_text(data) == text
            else:
                same = _CHUNK_ID.sub(_MASKED_ID, data) == _CHUNK_ID.sub(_MASKED_ID, captured)
                same = same and (server != "bare" or data == captured)
            if not same:
                raise RuntimeError(
                    f"the {server} server sent a different reply; the comparison would be "
                    "meaningless"
                )

        runs: list[StreamRun] = []
        for round_number in range(1, rounds + 1):
            shift = (round_number - 1) % len(servers)
            for server in servers[shift:] + servers[:shift]:
                cpu_before = process_cpu(pids[server])
                response = await stream(server)
                cpu_after = process_cpu(pids[server])
                check(server, response.body)
                runs.append(
                    StreamRun(
                        server=server,
                        round=round_number,
                        events=len(_events(response.body)),
                        bytes=len(response.body),
                        first_byte=response.first_byte,
                        seconds=response.seconds,
                        server_cpu_seconds=(
                            None
                            if cpu_before is None or cpu_after is None
                            else cpu_after - cpu_before
                        ),
                    )
                )
    finally:
        for connection in (*connections.values(), control):
            await connection.close()
    return len(captured), runs


def _figures(server: str, runs: list[StreamRun]) -> ServerFigures:
    mine = [r for r in runs if r.server == server]
    cpu = [r.server_cpu_seconds for r in mine]
    # /proc counts CPU in clock ticks (10 ms), coarser than one stream: CPU per event is the
    # total over the rounds, not a median of per-round figures.
    known = all(c is not None for c in cpu)
    cpu_us = sum(c for c in cpu if c is not None) * 1e6 / sum(r.events for r in mine)
    return ServerFigures(
        server=server,
        events=mine[0].events,
        events_per_second=statistics.median(r.events_per_second for r in mine),
        first_byte_ms=statistics.median(r.first_byte for r in mine) * 1000,
        cpu_us_per_event=cpu_us if known else None,
    )


async def bench_llm(
    *,
    chunks: int = 2000,
    rounds: int = 15,
    aimock: Path | None = None,
    say: Any = None,
) -> LLMBenchResult:
    """Measure the LLM simulator against a bare aiohttp handler and aimock (see the module
    docstring). ``aimock``: the folder holding (or to receive) aimock, None to skip it.
    Raises ``RuntimeError`` if the servers do not start or send a different reply."""
    _check_count("chunks", chunks, MAX_CHUNKS)
    _check_count("rounds", rounds)
    say = say or (lambda message: None)
    peer: asyncio.subprocess.Process | None = None
    skipped: str | None = "not requested" if aimock is None else None
    async with simulator_process(
        _CHILD_CODE,
        str(chunks),
        not_started="the benchmark servers did not start (exit code {code}); their error is "
        "on stderr",
    ) as (child, line):
        ports: dict[str, int] = json.loads(line)
        pids = {"simulator": child.pid, "bare": child.pid}
        try:
            if aimock is not None:
                try:
                    cli = await _aimock_cli(aimock, say)
                    with tempfile.NamedTemporaryFile(
                        "w", suffix=".json", prefix="voicewire-bench-", delete=False
                    ) as fixture:
                        json.dump(aimock_fixture(chunks), fixture)
                    port = _free_port()
                    peer = await asyncio.create_subprocess_exec(
                        shutil.which("node") or "node",
                        str(cli),
                        "-p",
                        str(port),
                        "-f",
                        fixture.name,
                        "--log-level",
                        "silent",
                        "--journal-max",
                        "1",
                        stdout=asyncio.subprocess.DEVNULL,
                        stderr=asyncio.subprocess.DEVNULL,
                    )
                    await _wait_for_port(port, peer)
                    ports["aimock"] = port
                    pids["aimock"] = peer.pid
                except (RuntimeError, OSError, asyncio.TimeoutError) as exc:
                    skipped = str(exc)
            stream_bytes, runs = await asyncio.wait_for(
                _measure(ports, pids, chunks=chunks, rounds=rounds),
                _IO_TIMEOUT * (rounds + 1) * len(ports),
            )
        finally:
            if peer is not None:
                with contextlib.suppress(ProcessLookupError):
                    peer.terminate()
                await stop_process(peer)
    figures = tuple(_figures(server, runs) for server in ports)
    by_server = {f.server: f for f in figures}
    simulator = by_server["simulator"]
    return LLMBenchResult(
        chunks=chunks,
        rounds=rounds,
        stream_bytes=stream_bytes,
        runs=tuple(runs),
        figures=figures,
        ratio_bare=simulator.events_per_second / by_server["bare"].events_per_second,
        ratio_aimock=(
            simulator.events_per_second / by_server["aimock"].events_per_second
            if "aimock" in by_server
            else None
        ),
        ttfb_ratio=simulator.first_byte_ms / by_server["bare"].first_byte_ms,
        aimock_skipped=skipped,
    )


# -- output ------------------------------------------------------------------------------------


def format_bench_report(result: LLMBenchResult) -> str:
    """The human-readable table: per-round rates, medians, the ratios and the verdicts."""
    servers = [f.server for f in result.figures]
    simulator = result.figures_of("simulator")
    lines = [
        f"voicewire bench llm: {result.chunks} content chunks -> {simulator.events} SSE events "
        f"({result.stream_bytes:,} bytes) per simulator stream, {result.rounds} round(s)",
        "",
        "SSE events/s (wall clock)",
        f"{'round':>9}" + "".join(f"{server:>14}" for server in servers),
    ]
    for round_number in range(1, result.rounds + 1):
        runs = {r.server: r for r in result.runs if r.round == round_number}
        lines.append(
            f"{round_number:>9}"
            + "".join(f"{runs[server].events_per_second:>14,.0f}" for server in servers)
        )
    medians = {f.server: f for f in result.figures}
    lines.append(
        f"{'median':>9}" + "".join(f"{medians[s].events_per_second:>14,.0f}" for s in servers)
    )
    lines.append(f"{'TTFB ms':>9}" + "".join(f"{medians[s].first_byte_ms:>14.2f}" for s in servers))
    lines.append(
        f"{'CPU us/ev':>9}"
        + "".join(
            f"{medians[s].cpu_us_per_event:>14.2f}"
            if medians[s].cpu_us_per_event is not None
            else f"{'n/a':>14}"
            for s in servers
        )
    )
    verdicts = result.verdicts

    def verdict(name: str) -> str:
        return "meets the target" if verdicts[name] else "BELOW the target"

    lines += [
        "",
        f"simulator/bare events/s   = {result.ratio_bare:.2f}x (target >= {TARGETS['bare']}x):"
        f" {verdict('bare')}",
    ]
    if result.ratio_aimock is None:
        lines.append(f"simulator/aimock events/s = not measured: {result.aimock_skipped}")
    else:
        lines.append(
            f"simulator/aimock events/s = {result.ratio_aimock:.2f}x "
            f"(target >= {TARGETS['aimock']}x): {verdict('aimock')}"
        )
    lines.append(
        f"simulator/bare TTFB       = {result.ttfb_ratio:.2f}x (target <= {TARGETS['ttfb']}x):"
        f" {verdict('ttfb')}"
    )
    return "\n".join(lines)


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
    """Add ``bench`` (with its ``llm``, ``stt``, ``tts``, ``inworld`` and ``mutation``
    targets) to a parser's subparsers; returns the parser."""
    bench = subparsers.add_parser(
        "bench",
        help="performance benchmarks (ratios measured side by side in one run)",
        description="Performance benchmarks; each prints ratios measured side by side.",
    )
    targets = bench.add_subparsers(dest="bench_target", metavar="TARGET", required=True)
    llm = targets.add_parser(
        "llm",
        help="LLM simulator SSE throughput and first byte vs a bare aiohttp handler and aimock",
        description=(
            "Stream one long reply from the LLM simulator, a bare aiohttp handler writing one "
            "event per write, and aimock (when node is present), interleaved, and print the "
            f"ratios: events/s over bare >= {TARGETS['bare']}x, over aimock >= "
            f"{TARGETS['aimock']}x, time to first byte within {TARGETS['ttfb']}x bare. "
            "Exit code 0: targets met, 1: a target missed, 2: could not measure."
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
        default=15,
        metavar="R",
        help="timed requests per server; medians are reported (default: %(default)s)",
    )
    llm.add_argument(
        "--aimock",
        default=None,
        metavar="DIR|off",
        help="folder holding aimock (installed there from npm when missing; default: "
        f"{aimock_cache()}), or 'off' to skip the aimock column",
    )
    add_json_argument(llm)
    add_stt_parser(targets)
    add_tts_parser(targets)
    add_inworld_parser(targets)
    add_mutation_parser(targets, suites=list(suite_table()))
    return bench


def run_bench(args: argparse.Namespace) -> int:
    """Run the benchmark ``args`` (from :func:`add_bench_parser`) name; returns the exit code:
    0 targets met, 1 a target missed, 2 could not measure or could not write the JSON file."""
    if args.bench_target == "mutation":
        return run_mutation_bench(args, TABLE)
    if args.bench_target == "stt":
        return run_stt_bench(args)
    if args.bench_target == "tts":
        return run_tts_bench(args)
    if args.bench_target == "inworld":
        return run_inworld_bench(args)
    if args.bench_target != "llm":
        print(f"voicewire bench: unknown target {args.bench_target!r}", file=sys.stderr)
        return 2
    aimock = None if args.aimock == "off" else Path(args.aimock or aimock_cache())
    return run_benchmark(
        "voicewire bench llm",
        args.json_path,
        lambda say: bench_llm(chunks=args.chunks, rounds=args.rounds, aimock=aimock, say=say),
        format_bench_report,
        lambda result: result.meets_targets,
    )
