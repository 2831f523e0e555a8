"""``voicewire bench stt`` for real, on a tiny load: the simulator in its own process, a few
sessions of half a second of audio, every session checked against its script; the report's
fields and the JSON file, never the numbers."""

from __future__ import annotations

import json

from voicewire.harness.bench_stt import LATENESS_LIMIT_MS, planned_messages
from voicewire.harness.cli import main


def test_voicewire_bench_stt_checks_every_session_and_reports_each_step(tmp_path, capsys):
    path = tmp_path / "stt.json"
    path.write_text("an older result\n")
    code = main(["bench", "stt", "--sessions", "2,3", "--duration", "0.5", "--json", str(path)])

    data = json.loads(path.read_text())  # strict JSON: no NaN, no partial file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stt.json"]
    assert code == (0 if data["meets_target"] else 1)
    due = len([m for m in planned_messages(0.5) if m.frame is not None])
    assert due == 4
    assert data["audio_seconds"] == 0.5 and data["lateness_limit_ms"] == LATENESS_LIMIT_MS
    assert [s["sessions"] for s in data["steps"]] == [2, 3]
    for step in data["steps"]:
        # Every session got exactly its script: the timings cover all it was due.
        assert step["sessions_ok"] == step["sessions"] and step["problems"] == []
        assert step["events"] == step["sessions"] * due
        assert 0 <= step["lateness_p50_ms"] <= step["lateness_p99_ms"] <= step["lateness_max_ms"]
        assert step["passes"] == (step["lateness_p99_ms"] < LATENESS_LIMIT_MS)
        assert step["wall_seconds"] > 0.5 and step["generator_cpu_seconds"] >= 0
        assert step["load_average"] is None or step["load_average"] >= 0
        assert step["simulator_gc_max_ms"] >= 0 and step["simulator_full_collections"] >= 0
    passing = [s["sessions"] for s in data["steps"] if s["passes"]]
    assert data["largest_passing_sessions"] == (max(passing) if passing else None)
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines()]
    assert [row[:3] for row in rows if row[:1] in (["2"], ["3"])] == [
        ["2", "2/2", "8"],
        ["3", "3/3", "12"],
    ]
    assert "largest N with p99 < 20 ms: " in out and f"results written to {path}" in out
