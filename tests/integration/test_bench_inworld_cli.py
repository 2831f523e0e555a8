"""``voicewire bench inworld`` for real, on a tiny load: the simulator and the bare handler in
their own process, a short NDJSON reply to two concurrent requests per server, then one and two
sockets of five contexts, every response and context checked; the report's fields and the
JSON file, never the numbers. And the shared load skeleton with sockets that cannot connect."""

from __future__ import annotations

import json
import os
import socket

import aiohttp
from voicewire.harness.bench_command import run_on_sockets
from voicewire.harness.bench_inworld import CONTEXTS_PER_SOCKET, inworld_expected_audio
from voicewire.harness.bench_tts import bench_texts
from voicewire.harness.cli import main


def test_voicewire_bench_inworld_checks_every_answer_and_context_and_reports_them(tmp_path, capsys):
    path = tmp_path / "inworld.json"
    path.write_text("an older result\n")
    sizes = "--requests 2 --rounds 2 --http-duration 0.5 --line-duration 0.05 --sockets 1,2 "
    sizes += "--context-duration 0.5"

    code = main(["bench", "inworld", *sizes.split(), "--json", str(path)])

    data = json.loads(path.read_text())  # strict JSON: no NaN, no partial file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inworld.json"]
    # Every answer was the reply and every context got its audio: the exit code says so.
    assert code == 0 and data["all_delivered"] is True
    ndjson = data["ndjson"]
    lines = len(inworld_expected_audio(bench_texts(0.5)[0], 0.05).chunk_samples)
    assert ndjson["lines"] == lines == 10
    # Two rounds of two requests per server, each the reply's lines.
    assert sorted((r["server"], r["round"]) for r in ndjson["runs"]) == [
        ("bare", 1),
        ("bare", 1),
        ("bare", 2),
        ("bare", 2),
        ("simulator", 1),
        ("simulator", 1),
        ("simulator", 2),
        ("simulator", 2),
    ]
    assert all(r["failure"] is None and r["lines"] == lines for r in ndjson["runs"])
    assert {r["bytes"] for r in ndjson["runs"]} == {ndjson["reply_bytes"]}
    for server in ("simulator", "bare"):
        figures = ndjson[server]
        assert figures["responses"] == figures["responses_ok"] == 4
        assert figures["lines_per_second"] > 0 and figures["megabytes_per_second"] > 0
        assert 0 < figures["ttfb_p50_ms"] <= figures["ttfb_p99_ms"]
    assert ndjson["throughput_ratio"] > 0 and ndjson["ttfb_ratio"] > 0
    steps = data["contexts"]["steps"]
    assert [s["sockets"] for s in steps] == [1, 2]
    context = inworld_expected_audio(bench_texts(0.5)[0], 0.1)
    for step in steps:
        contexts = step["sockets"] * CONTEXTS_PER_SOCKET
        assert step["contexts"] == step["contexts_ok"] == contexts and step["problems"] == []
        assert abs(step["audio_delivered_seconds"] - contexts * context.audio_seconds) < 1e-6
        assert 0 < step["ttfb_p50_ms"] <= step["latency_p50_ms"] <= step["latency_p99_ms"]
        assert step["latency_p99_ms"] <= step["latency_max_ms"]
        assert step["wall_seconds"] > 0 and step["frame_bytes"] > 0
        assert step["generator_cpu_seconds"] >= 0 and step["simulator_gc_max_ms"] >= 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines()]
    assert ["responses", "ok", "4/4", "4/4"] in rows
    assert [row[:3] for row in rows if row[:1] in (["1"], ["2"])] == [
        ["1", "5", "5/5"],
        ["2", "10", "10/10"],
    ]
    assert "simulator/bare lines/s = " in out and f"results written to {path}" in out


async def test_sockets_that_cannot_connect_are_refused_and_run_no_session():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    refused: dict[int, str] = {}
    ran: list[int] = []

    async def session(index, ws, start):
        ran.append(index)

    async with aiohttp.ClientSession() as http:
        times = await run_on_sockets(
            http,
            f"ws://127.0.0.1:{port}/tts/v1/voice:streamBidirectional",
            {},
            3,
            session,
            refused.__setitem__,
            pid=os.getpid(),
            lead=0.0,
        )

    assert sorted(refused) == [0, 1, 2] and ran == []
    assert all(reason.startswith("could not connect: ") for reason in refused.values())
    assert times.wall_seconds >= 0 and times.generator_cpu_seconds >= 0
