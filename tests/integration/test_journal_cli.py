"""``voicewire journal`` against a real simulator on a loopback port: the command in a real
process (or its function in a thread, to shrink its page size), real chat requests through
the simulator, real errors."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import signal
import socket
import sys
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from voicewire.harness import journal_cli
from voicewire.harness.cli import _build_parser
from voicewire.harness.serve_cli import CONTROL_TOKEN_ENV
from voicewire.reference.auth import create_access_token
from voicewire.simulators import Limits, SimulatorServer

JOURNAL = [sys.executable, "-m", "voicewire.harness.cli", "journal"]
CHAT = "/v1/chat/completions"
TOKEN = "journal-test-token"
# Bound on any wait for the command or a line from it.
WAIT = 30.0


def _environment(**extra: str) -> dict[str, str]:
    """This process's environment without a control token of the user's, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k != CONTROL_TOKEN_ENV}
    return {**env, **extra}


async def journal(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run ``voicewire journal ARGS``; its exit code, stdout and stderr."""
    proc = await asyncio.create_subprocess_exec(
        *JOURNAL,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env or _environment(),
    )
    out, err = await asyncio.wait_for(proc.communicate(), WAIT)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def journal_in_thread(
    capsys: pytest.CaptureFixture[str], *args: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """``voicewire journal ARGS`` parsed by the CLI's own parser and run by its own function
    in a thread (its one-line failures do not need a process of their own: starting one costs
    seconds of imports); its exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()

    def run() -> int:
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env or _environment())
        try:
            parsed = _build_parser().parse_args(["journal", *args])
            return journal_cli.run_journal(parsed, out=out, err=err)
        except SystemExit as exit_:  # argparse's own errors, on sys.stderr
            return int(exit_.code or 0)
        finally:
            os.environ.clear()
            os.environ.update(saved)

    capsys.readouterr()
    code = await asyncio.wait_for(asyncio.to_thread(run), WAIT)
    captured = capsys.readouterr()
    return code, out.getvalue() + captured.out, err.getvalue() + captured.err


async def chat(sim: SimulatorServer, text: str, *, stream: bool) -> None:
    """One real chat completion through the simulator, read to its end."""
    key = sim.api_key
    token = create_access_token(key, sim.credentials.keys[key])
    body = {"model": "m", "stream": stream, "messages": [{"role": "user", "content": text}]}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            sim.base_url + CHAT, json=body, headers={"Authorization": f"Bearer {token}"}
        ) as response,
    ):
        assert response.status == 200
        await response.read()


@pytest.fixture
async def sim(start_simulator) -> SimulatorServer:
    """A simulator that has answered one plain and one streamed chat."""
    server = await start_simulator(control_token=TOKEN)
    await chat(server, "hello journal", stream=False)
    await chat(server, "stream me", stream=True)
    return server


def _entries(sim: SimulatorServer) -> list[dict[str, Any]]:
    return json.loads(json.dumps(sim.journal.entries()))


async def test_one_line_per_entry_with_time_exchange_direction_kind_and_a_summary(sim):
    code, out, err = await journal("--url", sim.base_url, "--token", TOKEN)
    assert code == 0, err
    assert err == ""
    lines = out.splitlines()
    entries = _entries(sim)
    assert len(lines) == len(entries) > 6
    for line, entry in zip(lines, entries, strict=True):
        direction = entry.get("direction", "note")
        kind = entry["kind"] + (f"[{entry['event']}]" if entry.get("event") is not None else "")
        pattern = rf"\s*{entry['t']:.3f}  default#{entry['exchange']}\s+{direction}\s+"
        assert re.match(pattern + re.escape(kind) + r"(\s|$)", line), (line, entry)
    request = next(line for line in lines if "http_request" in line)
    # The body is shown, on the line, compact; the request head and the token claims are not.
    assert 'POST /v1/chat/completions {"model":"m","stream":false,' in request
    assert '"content":"hello journal"' in request
    assert "Authorization" not in out and "claims" not in out
    assert any(re.search(r"out\s+sse_event\[\d+\]\s+data: \{", line) for line in lines)
    assert lines[-1].endswith("sse_event[5]   data: [DONE]")


async def test_json_prints_the_entries_whole_one_per_line(sim):
    code, out, _ = await journal("--url", sim.base_url, "--token", TOKEN, "--json")
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()] == _entries(sim)


async def test_filters_width_and_the_urls_serve_prints(sim):
    env = _environment(**{CONTROL_TOKEN_ENV: TOKEN})  # the token from the environment
    # The control API URL serve prints is accepted as well as the base URL.
    code, out, _ = await journal(
        "--url", sim.base_url + "/__voicewire/", "--exchange", "1", env=env
    )
    assert code == 0
    assert out and all("default#1 " in line for line in out.splitlines())
    code, out, _ = await journal("--url", sim.base_url + "/v1", "--scenario", "nope", env=env)
    assert (code, out) == (0, "")
    code, out, _ = await journal("--url", sim.base_url, "--width", "50", env=env)
    lines = out.splitlines()
    assert code == 0 and len(lines) == len(_entries(sim))
    assert all(len(line) <= 50 for line in lines)
    assert any(line.endswith("…") for line in lines)


async def test_pages_are_followed_to_the_end_and_dropped_entries_noted(
    start_simulator, monkeypatch
):
    # A small journal (so entries are dropped) read three entries a page (so the cursor is
    # followed many times), by the command's own function in a thread: the simulator runs on
    # this test's loop.
    server = await start_simulator(control_token=TOKEN, limits=Limits(journal_bytes=4000))
    for n in range(6):
        await chat(server, f"message {n}", stream=True)
    assert server.journal.dropped > 0
    monkeypatch.setattr(journal_cli, "_PAGE", 3)
    args = _build_parser().parse_args(["journal", "--url", server.base_url, "--token", TOKEN])
    out, err = io.StringIO(), io.StringIO()
    code = await asyncio.to_thread(journal_cli.run_journal, args, out=out, err=err)
    assert code == 0
    entries = _entries(server)
    assert len(out.getvalue().splitlines()) == len(entries) > 3 * 3
    assert [journal_cli.format_entry(e) for e in entries] == out.getvalue().splitlines()
    assert err.getvalue() == (
        f"voicewire journal: note: the simulator dropped its {server.journal.dropped} oldest "
        "entries (its journal is bounded: serve --journal-bytes)\n"
    )


async def test_follow_prints_entries_that_arrive_later_and_stops_on_ctrl_c(sim, interruptible):
    proc = await asyncio.create_subprocess_exec(
        *JOURNAL,
        "--url",
        sim.base_url,
        "--token",
        TOKEN,
        "--follow",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_environment(),
        **interruptible,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        existing = len(_entries(sim))
        for _ in range(existing):
            assert await asyncio.wait_for(proc.stdout.readline(), WAIT)
        await chat(sim, "arrives later", stream=False)
        line = (await asyncio.wait_for(proc.stdout.readline(), WAIT)).decode()
        assert "http_request" in line and '"content":"arrives later"' in line
    finally:
        proc.send_signal(signal.SIGINT)
        rest, err = await asyncio.wait_for(proc.communicate(), WAIT)
    assert proc.returncode == 130, err.decode()
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err
    # What was recorded after the request line was printed, before Ctrl-C, may follow.
    assert all(b"default#" in line for line in rest.splitlines())


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
async def not_a_simulator():
    """An HTTP server on a loopback port that is not a voicewire simulator."""
    runner = web.AppRunner(web.Application())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("wrong token", "refused the control token (401): give the one voicewire serve printed"),
        ("no token", "wants its control token: pass --token TOKEN or set VOICEWIRE_CONTROL_TOKEN"),
        ("refused", "connection refused (is a simulator running there?"),
        ("not a simulator", "is not a voicewire simulator: /__voicewire/journal is not there"),
        ("bad scheme", "bad URL 'ftp://127.0.0.1:1': expected http://HOST:PORT"),
        ("no scheme", "bad URL '127.0.0.1:8080': expected http://HOST:PORT"),
        ("bad port", "bad URL 'http://127.0.0.1:99999': Port out of range"),
        ("scenario too long", "answered 400: query parameter 'scenario' must be at most 200"),
    ],
)
async def test_every_failure_is_one_line_and_exit_3(sim, not_a_simulator, case, message, capsys):
    args = {
        "wrong token": ["--url", sim.base_url, "--token", "wrong"],
        "no token": ["--url", sim.base_url],
        "refused": ["--url", f"http://127.0.0.1:{_closed_port()}", "--token", TOKEN],
        "not a simulator": ["--url", not_a_simulator, "--token", TOKEN],
        "bad scheme": ["--url", "ftp://127.0.0.1:1"],
        "no scheme": ["--url", "127.0.0.1:8080"],
        "bad port": ["--url", "http://127.0.0.1:99999"],
        "scenario too long": ["--url", sim.base_url, "--token", TOKEN, "--scenario", "x" * 201],
    }[case]
    code, out, err = await journal_in_thread(capsys, *args)
    assert code == 3
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("voicewire journal: "), err
    assert message in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--exchange", "first"], "argument --exchange: not a whole number: 'first'"),
        (["--width", "-1"], "argument --width: must be >= 0, got -1"),
        (["--follow", "now"], "unrecognized arguments: now"),
    ],
)
async def test_bad_arguments_exit_2(args, message, capsys):
    code, out, err = await journal_in_thread(capsys, *args)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err
