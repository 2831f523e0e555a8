"""``voicewire serve --cassette FILE``: the replayer as a user runs it (a real process, a real
port, SIGTERM to stop), and its refusals (exit 2, one line, no traceback)."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import re
import signal
import sys
from pathlib import Path

import aiohttp
import pytest
from voicewire.harness.serve_cli import add_serve_parser, run_serve
from voicewire.simulators.recording.cassette import CassetteWriter

SERVE = [sys.executable, "-m", "voicewire.harness.cli", "serve"]
VOICES = {"voices": [{"voiceId": "Ashley", "languages": ["en"]}]}


def _voices_cassette(path: Path) -> Path:
    writer = CassetteWriter(path, protocols=["inworld"])
    x = writer.open_exchange(
        {"protocol": "inworld", "endpoint": "inworld.voices", "method": "GET",
         "path": "/tts/v1/voices", "query": "filter=language%3Den",
         "headers": {"authorization": "Basic <redacted>"}}
    )  # fmt: skip
    writer.response(x, 200, "OK", {"content-type": "application/json"})
    writer.body(x, "body", json.dumps(VOICES).encode())
    writer.end(x)
    writer.close()
    return path


@pytest.mark.parametrize(
    ("rewind", "second_status", "banner", "logged"),
    [
        pytest.param(
            [], 400, "off (each recorded exchange answers once; --rewind to play them again)",
            "voicewire serve: cassette mismatch: the cassette holds 1 inworld.voices exchange; "
            "this is a 2nd\n",
            id="once",
        ),
        pytest.param(
            ["--rewind"], 200, "on (an endpoint played out plays again from its start)", "",
            id="rewind",
        ),
    ],
)  # fmt: skip
async def test_serve_replays_a_cassette_and_logs_each_mismatch(
    tmp_path: Path, rewind: list[str], second_status: int, banner: str, logged: str
) -> None:
    cassette = _voices_cassette(tmp_path / "voices.jsonl")
    proc = await asyncio.create_subprocess_exec(
        *SERVE, "--cassette", str(cassette), "--time-scale", "0", *rewind,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        first = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
        match = re.fullmatch(r"voicewire cassette replayer listening on (http://[\d.:]+)", first)
        assert match, first
        base = match.group(1)
        holdings = (await proc.stdout.readline()).decode()
        assert holdings.strip() == f"cassette:     {cassette}: inworld.voices (1 exchange)"
        assert (await proc.stdout.readline()).decode().strip() == "time scale:   0"
        assert (await proc.stdout.readline()).decode().strip() == f"rewind:       {banner}"
        async with aiohttp.ClientSession(headers={"Authorization": "Basic k"}) as http:
            url = f"{base}/tts/v1/voices"
            async with http.get(url, params={"filter": "language=en"}) as got:
                assert got.status == 200 and await got.json() == VOICES
            async with http.get(url, params={"filter": "language=en"}) as again:
                assert again.status == second_status
                if second_status == 200:
                    assert await again.json() == VOICES
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert err.decode() == logged
    assert out.decode().rstrip().endswith("voicewire cassette replayer stopped")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--scenario", "s.yaml"], "--cassette and --scenario exclude each other: give one"),
        (["--time-scale", "-1"], "argument --time-scale: must be >= 0, got -1"),
    ],
)
def test_serve_refuses_bad_cassette_options(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], extra: list[str], expected: str
) -> None:
    cassette = _voices_cassette(tmp_path / "voices.jsonl")
    code, err = _exit_code(["serve", "--cassette", str(cassette), *extra], capfd)
    assert code == 2 and expected in err


def _exit_code(argv: list[str], capfd: pytest.CaptureFixture[str]) -> tuple[int | str | None, str]:
    """What ``voicewire serve ARGV`` exits with (argparse's refusals exit from the parser),
    and what it wrote to stderr."""
    parser = argparse.ArgumentParser(prog="voicewire")
    add_serve_parser(parser.add_subparsers())
    err = io.StringIO()
    try:
        code: int | str | None = run_serve(parser.parse_args(argv), err=err)
    except SystemExit as exit:
        code = exit.code
    return code, err.getvalue() + capfd.readouterr().err


def test_serve_names_the_line_and_problem_of_an_invalid_cassette(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    cassette = _voices_cassette(tmp_path / "voices.jsonl")
    lines = cassette.read_text().splitlines(keepends=True)
    lines[2] = '{"type": "response", "x": 0}\n'
    cassette.write_text("".join(lines))
    code, err = _exit_code(["serve", "--cassette", str(cassette)], capfd)
    assert code == 2
    assert err.startswith(f"voicewire serve: {cassette}, line 3: ")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_serve_refuses_rewind_without_a_cassette(capfd: pytest.CaptureFixture[str]) -> None:
    code, err = _exit_code(["serve", "--rewind"], capfd)
    assert code == 2
    assert err == "voicewire serve: --rewind replays a cassette again: it needs --cassette FILE\n"
