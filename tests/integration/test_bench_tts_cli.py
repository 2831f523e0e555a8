"""``voicewire bench tts`` for real, on a tiny load: the simulator in its own process, a few
syntheses of half a second of audio, every session checked against its script; the report's
fields and the JSON file, never the numbers."""

from __future__ import annotations

import json

import pytest
from voicewire.harness.bench_tts import bench_texts, bench_tts_reply, scripted_synthesis
from voicewire.harness.cli import main


def test_voicewire_bench_tts_checks_every_session_and_reports_each_step(tmp_path, capsys):
    path = tmp_path / "tts.json"
    path.write_text("an older result\n")
    sizes = "--sessions 2,3 --duration 0.5 --chunk-duration 0.1 --ttfb 0.02 --real-time-factor 0.2"

    code = main(["bench", "tts", *sizes.split(), "--json", str(path)])

    data = json.loads(path.read_text())  # strict JSON: no NaN, no partial file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tts.json"]
    # Every session got exactly its audio: the exit code says so.
    assert code == 0 and data["all_delivered"] is True
    scripted = scripted_synthesis(bench_texts(0.5)[0], bench_tts_reply(0.1, 0.02, 0.2))
    assert data["audio_seconds"] == scripted.audio_seconds
    assert data["chunks"] == len(scripted.chunk_samples) == 5
    assert data["scripted_seconds"] == scripted.scripted_seconds
    assert [s["sessions"] for s in data["steps"]] == [2, 3]
    for step in data["steps"]:
        assert step["sessions_ok"] == step["sessions"] and step["problems"] == []
        assert step["audio_delivered_seconds"] == pytest.approx(
            step["sessions"] * scripted.audio_seconds
        )
        assert 0 < step["ttfb_p50_ms"] <= step["ttfb_p99_ms"]
        assert 0 < step["rtf_p50"] <= step["rtf_p99"]
        assert 0 < step["ratio_p50"] <= step["ratio_p99"] <= step["ratio_max"]
        assert step["wall_seconds"] > 0 and step["generator_cpu_seconds"] >= 0
        assert step["audio_per_second"] > 0
        assert step["load_average"] is None or step["load_average"] >= 0
        assert step["simulator_gc_max_ms"] >= 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines()]
    assert [row[:2] for row in rows if row[:1] in (["2"], ["3"])] == [["2", "2/2"], ["3", "3/3"]]
    assert "every session got exactly its audio" in out and f"results written to {path}" in out
