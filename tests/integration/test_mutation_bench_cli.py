"""``voicewire bench mutation`` end to end, on a small seeded sample: real Cosmic Ray, real
copies of the packages, real ``voicewire run`` judging each mutant."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import voicewire.reference.llm.thinking as thinking

REPO = Path(__file__).resolve().parents[2]


def test_a_seeded_sample_is_judged_on_copies_and_the_sources_stay_untouched(tmp_path):
    source = Path(thinking.__file__)
    before = hashlib.sha256(source.read_bytes()).hexdigest()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "voicewire.harness.cli",
            "bench",
            "mutation",
            "--module",
            "voicewire.reference.llm.thinking",
            "--suite",
            "llm",
            "-k",
            "think or TXT",
            "--sample",
            "2",
            "--workers",
            "2",
            "--json",
            tmp_path / "mutation.json",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before
    data = json.loads((tmp_path / "mutation.json").read_text())
    judged = [m for m in data["mutants"] if m["outcome"] != "skipped"]
    assert len(judged) == 2 and data["sample"] == 2
    assert {m["module"] for m in data["mutants"]} == {"voicewire.reference.llm.thinking"}
    assert all(m["outcome"] in ("killed", "timeout", "survived") for m in judged), judged
    # The thinking filter is what LLM-TXT-1/2 judge: a sample of its mutants does not all
    # survive, and the printed score is the JSON's.
    assert any(m["outcome"] in ("killed", "timeout") for m in judged)
    assert f"mutation score: {data['score']:.1%}" in done.stdout
    for mutant in judged:
        if mutant["outcome"] == "survived":
            assert "voicewire/reference/llm/thinking.py" in mutant["diff"]
            assert "voicewire-mutation-" not in mutant["diff"]
    assert not list(tmp_path.glob("voicewire-repro*"))
