"""``voicewire fuzz`` end to end: rounds of new examples, the outcome-class summary, replay
commands that reproduce what was found, exit statuses."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def voicewire(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "voicewire.harness.cli", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_reference_client_survives_a_round_of_every_client_family(tmp_path):
    # A duration runs whole rounds, and at least one however short it is.
    done = voicewire("fuzz", "--direction", "client", "--duration", "0.5", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 round(s)" in done.stdout
    assert "found nothing: every example of 14 families passed" in done.stdout
    # Every client-direction family, of every protocol, is found by its capability's direction.
    for family in (
        "test_hostile_bodies",
        "test_unknown_keys",
        "test_slow_streams",
        "test_hostile_stt_messages",
        "test_unknown_stt_messages",
        "test_stt_silences",
        "test_hostile_tts_messages",
        "test_hostile_tts_synthesize",
        "test_unknown_tts_messages",
        "test_tts_synthesis_ends",
        "test_tts_silences",
        "test_hostile_inworld_ndjson",
        "test_hostile_inworld_contexts",
        "test_hostile_inworld_transcripts",
    ):
        assert f"\n{family}: " in done.stdout
    assert "unknown_keys → completed" in done.stdout
    assert "unknown → completed" in done.stdout
    assert "ndjson_unknown → completed" in done.stdout
    assert "context_unknown → completed" in done.stdout
    assert "transcript_hostile → APIConnectionError" in done.stdout
    assert "round 1: seed 0" in done.stderr


def test_a_broken_client_is_found_and_the_replay_command_reproduces_it(tmp_path):
    iut = "python:tests.mutants.trusting_chunk_parser:factory"
    done = voicewire(
        "fuzz", "--iut", iut, "--direction", "client", "--budget", "20", "--seed", "7",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "FOUND" in done.stdout and "LLM-ROB-1" in done.stdout
    assert "seeds 7..7" in done.stdout
    replay_lines = [line for line in done.stdout.splitlines() if "replay: " in line]
    assert replay_lines, done.stdout
    command = shlex.split(replay_lines[0].split("replay: ", 1)[1])
    assert command[:2] == ["voicewire", "run"] and "--replay" in command
    replay = voicewire(*command[1:], cwd=tmp_path)
    assert replay.returncode == 1, replay.stdout[-3000:]
    assert "LLM-ROB-1" in replay.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--budget", "0"], "argument --budget: must be >= 1, got 0"),
        (["--budget", "5", "--duration", "3"], "not allowed with argument"),
        (["--duration", "-1"], "argument --duration: must be > 0, got -1"),
        (["--direction", "sideways"], "invalid choice"),
        (["--duration", "0.5", "-k", "x"], "unrecognized arguments: -k x"),
    ],
)
def test_bad_arguments_are_named(tmp_path, args, message):
    done = voicewire("fuzz", *args, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
