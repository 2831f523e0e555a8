"""The ``voicewire_cassette`` fixture in a user's own test suite (pytest in a subprocess, as a
user runs it): the first run records every protocol through the recording proxy against the
embedded simulator, the next replays the cassettes (no simulator behind them), a changed
request fails at teardown naming the difference, and the record modes behave as VCR.py's
``once`` / ``none`` / ``all``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

USER_TESTS = """
import asyncio, os
import pytest
from voicewire.reference.audio import AudioFrame
from voicewire.reference.errors import APIConnectOptions
from voicewire.reference.inworld.stt import InworldSTT
from voicewire.reference.inworld.tts import InworldTTS
from voicewire.reference.llm import ChatContext
from voicewire.reference.llm.inference import LLM
from voicewire.reference.stt import STT, SpeechEventType
from voicewire.reference.tone_code import encode_tone
from voicewire.reference.tts import TTS

ONCE = APIConnectOptions(max_retry=0, timeout=5.0)
RATE = 16000
QUESTION = os.environ.get("USER_QUESTION", "what is the weather")


def frames():
    pcm = encode_tone("hello world", sample_rate=RATE).to_bytes() + bytes(2 * RATE // 2)
    step = RATE // 50 * 2
    return [AudioFrame(pcm[i : i + step], sample_rate=RATE, num_channels=1)
            for i in range(0, len(pcm), step)]


def report(cassette, name, value):
    print(f"RESULT {name} {cassette.mode} {value!r}")


def test_llm(voicewire_cassette):
    async def main():
        llm = LLM("openai/gpt-4.1-mini", base_url=voicewire_cassette.base_url + "/v1",
                  api_key=voicewire_cassette.api_key, api_secret=voicewire_cassette.api_secret)
        ctx = ChatContext()
        ctx.add_message(role="user", content=QUESTION)
        try:
            async with llm.chat(chat_ctx=ctx, conn_options=ONCE) as stream:
                chunks = await stream.collect()
        finally:
            await llm.aclose()
        return "".join(c.delta.content or "" for c in chunks if c.delta)
    report(voicewire_cassette, "llm", asyncio.run(main()))


def test_livekit_speech(voicewire_cassette):
    async def main():
        key, secret = voicewire_cassette.api_key, voicewire_cassette.api_secret
        stt = STT("deepgram/nova-3", base_url=voicewire_cassette.base_url, api_key=key,
                  api_secret=secret, time_scale=0.01)
        stream = stt.stream(conn_options=ONCE)
        for frame in frames():
            stream.push_frame(frame)
        stream.end_input()
        finals = [(e.alternatives[0].text, round(e.alternatives[0].end_time, 3))
                  async for e in stream if e.type is SpeechEventType.FINAL_TRANSCRIPT]
        await stream.aclose()
        await stt.aclose()
        tts = TTS("cartesia/sonic-3", base_url=voicewire_cassette.base_url, api_key=key,
                  api_secret=secret, sample_rate=RATE)
        said = tts.synthesize("hi", conn_options=ONCE)
        audio = b"".join([a.frame.to_bytes() async for a in said])
        await tts.aclose()
        return finals, len(audio), hash(audio)
    report(voicewire_cassette, "livekit", asyncio.run(main()))


def test_inworld(voicewire_cassette):
    async def main():
        key, base = voicewire_cassette.basic_key, voicewire_cassette.base_url
        ws = base.replace("http", "ws", 1) + "/"
        tts = InworldTTS(api_key=key, base_url=base + "/", ws_url=ws, sample_rate=RATE)
        said = tts.synthesize("hi", conn_options=ONCE)
        spoken = b"".join([a.frame.to_bytes() async for a in said])
        voices = [v["voiceId"] for v in await tts.list_voices(language="en")]
        stream = tts.stream(conn_options=ONCE)
        stream.push_text("hello there")
        stream.end_input()
        streamed = b"".join([a.frame.to_bytes() async for a in stream])
        await tts.aclose()
        stt = InworldSTT(api_key=key, base_url=base, time_scale=0.01)
        heard = stt.stream(conn_options=ONCE)
        async with heard:
            for frame in frames():
                heard.push_frame(frame)
            heard.end_input()
            finals = [e.alternatives[0].text async for e in heard
                      if e.type is SpeechEventType.FINAL_TRANSCRIPT]
        return hash(spoken), voices, hash(streamed), finals
    report(voicewire_cassette, "inworld", asyncio.run(main()))


@pytest.mark.voicewire_cassette("cassettes/never_recorded.jsonl", mode="none")
def test_never_recorded(voicewire_cassette):
    pass
"""


_QUIET = ("-p", "no:cacheprovider", "-q", "-s", "-rA")


def _pytest(folder: Path, *args: str, question: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEWIRE_")}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["PYTHONHASHSEED"] = "0"
    if question is not None:
        env["USER_QUESTION"] = question
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "voicewire.harness.pytest_plugin", *_QUIET, *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _results(output: str) -> dict[str, tuple[str, str]]:
    found = {}
    for line in output.splitlines():
        if "RESULT " in line:  # after pytest's progress dots on the same line
            _, name, mode, value = line[line.index("RESULT ") :].split(" ", 3)
            found[name] = (mode, value)
    return found


def test_record_once_then_replay_then_a_changed_request_fails_naming_it(tmp_path: Path) -> None:
    (tmp_path / "test_users_agent.py").write_text(textwrap.dedent(USER_TESTS))
    cassettes = tmp_path / "cassettes" / "test_users_agent"

    first = _pytest(tmp_path, "-k", "not never_recorded")
    assert first.returncode == 0, first.stdout + first.stderr
    recorded = _results(first.stdout)
    assert {name: mode for name, (mode, _) in recorded.items()} == dict.fromkeys(
        ("llm", "livekit", "inworld"), "record"
    )
    assert "what is the weather" in recorded["llm"][1]  # the simulator echoes in echo mode
    assert "hello world" in recorded["livekit"][1] and "hello world" in recorded["inworld"][1]
    files = sorted(p.name for p in cassettes.iterdir())
    assert files == ["test_inworld.jsonl", "test_livekit_speech.jsonl", "test_llm.jsonl"]
    endpoints = {
        json.loads(line).get("endpoint")
        for path in cassettes.iterdir()
        for line in path.read_text().splitlines()
        if json.loads(line)["type"] == "request"
    }
    assert endpoints == {
        "llm",
        "stt",
        "tts",
        "inworld.synthesize",
        "inworld.voices",
        "inworld.contexts",
        "inworld.transcribe",
    }

    # The cassettes exist: once replays them (nothing is recorded again), same results.
    before = {p.name: p.read_bytes() for p in cassettes.iterdir()}
    again = _pytest(tmp_path, "-k", "not never_recorded")
    assert again.returncode == 0, again.stdout + again.stderr
    replayed = _results(again.stdout)
    assert {n: v for n, (_, v) in replayed.items()} == {n: v for n, (_, v) in recorded.items()}
    assert {m for m, _ in replayed.values()} == {"replay"}
    assert {p.name: p.read_bytes() for p in cassettes.iterdir()} == before

    # none replays too; a changed request fails its test at teardown naming the difference;
    # a cassette never recorded fails under none with what to do.
    changed = _pytest(tmp_path, "--voicewire-record-mode", "none", question="what is the time")
    assert changed.returncode == 1
    out = changed.stdout
    assert {m for m, _ in _results(out).values()} == {"replay"}
    assert "ERROR at teardown of test_llm" in out
    assert "the test's requests differ from the recording" in out
    assert '"what is the time" here, "what is the weather" in the cassette' in out
    assert "never_recorded.jsonl: no cassette to replay (record mode 'none' never records" in out
    assert "2 passed" in out and "2 errors" in out
    assert "Traceback" not in out
    assert {p.name: p.read_bytes() for p in cassettes.iterdir()} == before

    # all: records again, replacing the cassette with the new request.
    rerecorded = _pytest(
        tmp_path, "-k", "llm", "--voicewire-record-mode", "all", question="what is the time"
    )
    assert rerecorded.returncode == 0, rerecorded.stdout + rerecorded.stderr
    assert _results(rerecorded.stdout)["llm"][0] == "record"
    assert "what is the time" in (cassettes / "test_llm.jsonl").read_text()
    assert not list(cassettes.glob("*.recording"))
