"""``voicewire run --cassette FILE --iut SPEC`` end to end: a cassette of every endpoint,
recorded through the recording proxy against the simulator with the reference client, replayed
as cases by the real CLI in a subprocess: the reference passes every case; an IUT with one bug
per protocol fails those cases with the difference, reference vs IUT, in every report."""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from voicewire.harness.event_log import load_event_log
from voicewire.harness.inworld import (
    InworldEndInputStep,
    InworldPushTextStep,
    InworldSTTStreamRequest,
    InworldTTSHTTPRequest,
    InworldTTSStreamRequest,
    InworldVoicesRequest,
)
from voicewire.harness.iut import Target, perform
from voicewire.harness.llm import ChatRequest, ChunkEvent, LLMTarget, ToolSpec
from voicewire.harness.protocols import TABLE
from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.harness.stt import EndInputStep, PushToneStep, SpeechEventRecord, STTStreamRequest
from voicewire.harness.tts import PushTextStep, TTSAudioEvent, TTSEndInputStep, TTSStreamRequest
from voicewire.simulators import SimulatorServer, parse_scenario
from voicewire.simulators.core.credentials import DEFAULT_BASIC_KEY
from voicewire.simulators.recording.proxy import RecordingProxy

REPO = Path(__file__).resolve().parents[2]
HELLO = {
    "interim_interval": 0.4,
    "segments": [{"text": "hello world", "start": 0.1, "duration": 0.7}],
}
SCENARIO = parse_scenario(
    {
        "name": "recorded-for-run",
        "on_unmatched": "echo",
        "time_scale": 0.01,
        "rules": [
            {
                "match": {"endpoint": "llm"},
                "reply": {
                    "content": "Sunny in Paris.",
                    "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}],
                    "fragmentation": {"strategy": "fixed", "size": 4},
                },
            },
            {"match": {"endpoint": "stt"}, "reply": HELLO},
            {"match": {"endpoint": "inworld.transcribe"}, "reply": HELLO},
        ],
    }
)
WEATHER = ToolSpec(
    name="get_weather",
    description="The weather of a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
ENDPOINTS = [
    "llm",
    "stt",
    "tts",
    "inworld.synthesize",
    "inworld.voices",
    "inworld.contexts",
    "inworld.transcribe",
]


async def _record(out: Path) -> None:
    """One operation per endpoint, by the reference client, through the recording proxy."""
    iut = ReferenceIUT()
    async with SimulatorServer(SCENARIO) as sim, RecordingProxy(sim.base_url, out) as proxy:
        gateway = Target(base_url=proxy.base_url, api_key=sim.api_key, api_secret=sim.api_secret)
        inworld = Target(base_url=proxy.base_url, api_key=DEFAULT_BASIC_KEY, api_secret="-")
        chat_ctx = {"items": [{"type": "message", "role": "user", "content": ["Paris?"]}]}
        operations: list[tuple[str, Any]] = [
            (
                "llm.chat",
                ChatRequest(
                    llm=LLMTarget.at(
                        gateway.model_copy(update={"base_url": proxy.base_url + "/v1"})
                    ),
                    chat_ctx=chat_ctx,
                    tools=[WEATHER],
                ),
            ),
            (
                "stt.stream",
                STTStreamRequest(
                    target=gateway,
                    language="en",
                    script=[PushToneStep(text="hello world", silence=0.3), EndInputStep()],
                ),
            ),
            (
                "tts.stream",
                TTSStreamRequest(
                    target=gateway,
                    streams=[[PushTextStep(text="Hello there, a test."), TTSEndInputStep()]],
                ),
            ),
            ("inworld.tts.http", InworldTTSHTTPRequest(target=inworld, texts=["Hi over HTTP."])),
            ("inworld.voices", InworldVoicesRequest(target=inworld, language="en")),
            (
                "inworld.tts.stream",
                InworldTTSStreamRequest(
                    target=inworld,
                    script=[InworldPushTextStep(text="Hi on the socket."), InworldEndInputStep()],
                ),
            ),
            (
                "inworld.stt.stream",
                InworldSTTStreamRequest(
                    target=inworld, script=[PushToneStep(text="hello"), EndInputStep()]
                ),
            ),
        ]
        try:
            for operation, request in operations:
                await perform(iut, TABLE, operation, request)
        finally:
            await iut.aclose()
        # An agent's call beyond what voicewire speaks: recorded, then shown as not replayed.
        async with aiohttp.ClientSession() as http, http.get(proxy.base_url + "/v1/models") as got:
            await got.read()


class _BrokenReference(ReferenceIUT):
    """The reference with one bug per LiveKit protocol, in what its consumer sees: the last
    LLM chunk with text is lost, STT finals come 0.5 s late, the first TTS audio frame is
    dropped. Its traffic is the reference's, so the replay holds no mismatch."""

    async def perform_operation(self, name: str, request: Any) -> Any:
        answer = await super().perform_operation(name, request)
        events = list(answer.events) if hasattr(answer, "events") else None
        if name == "llm.chat":
            last = max(i for i, e in enumerate(events) if isinstance(e, ChunkEvent) and e.content)
            del events[last]
        elif name == "stt.stream":
            events = [_late(event) for event in events]
        elif name == "tts.stream":
            del events[next(i for i, e in enumerate(events) if isinstance(e, TTSAudioEvent))]
        else:
            return answer
        return answer.model_copy(update={"events": events})


def _late(event: Any) -> Any:
    if not isinstance(event, SpeechEventRecord) or event.speech_type != "final_transcript":
        return event
    alternatives = tuple(
        alt.model_copy(update={"start_time": alt.start_time + 0.5, "end_time": alt.end_time + 0.5})
        for alt in event.alternatives
    )
    return event.model_copy(update={"alternatives": alternatives})


def broken_iut() -> ReferenceIUT:
    """``--iut python:tests.integration.test_run_cassette:broken_iut``."""
    return _BrokenReference(name="broken-reference")


def _voicewire(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voicewire.harness.cli", *map(str, args)],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def cassette(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cassette") / "every-endpoint.jsonl"
    asyncio.run(_record(out))
    return out


def test_the_reference_replays_every_endpoint_and_passes(cassette: Path, tmp_path: Path) -> None:
    done = _voicewire(
        "run",
        "--cassette",
        cassette,
        "--iut",
        "reference",
        "--json",
        "report.json",
        "--events-out",
        "events.jsonl",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    cases = {case["name"].split("[", 1)[1].rstrip("]"): case for case in report["cases"]}
    assert sorted(cases) == sorted(f"x{x}-{endpoint}" for x, endpoint in enumerate(ENDPOINTS))
    assert {case["outcome"] for case in cases.values()} == {"PASS"}
    # The recorded call no protocol owns has no case: the run says so, once.
    (not_replayed,) = [line for line in done.stderr.splitlines() if "not replayed" in line]
    assert re.fullmatch(
        rf"voicewire run: not replayed: exchange {len(ENDPOINTS)} \(GET /v1/models, line \d+\): "
        "no protocol voicewire speaks owns this endpoint, so no client operation replays it",
        not_replayed,
    )
    assert report["suites"] == ["cassette"]
    # Each case cites what a client sends and what the aspects of its stream evidence.
    for name, ids in {
        "x0-llm": ["LLM-REQ-1", "LLM-TXT-1", "LLM-TC-1", "LLM-USG-1"],
        "x1-stt": ["STT-C-1", "STT-ORD-4", "STT-ORD-5", "STT-USG-1"],
        "x2-tts": ["TTS-C-2", "TTS-OUT-1"],
        "x3-inworld.synthesize": ["IW-HTTP-1", "IW-HTTP-2", "IW-HTTP-3"],
        "x4-inworld.voices": ["IW-VOICES-1"],
        "x5-inworld.contexts": ["IW-WS-1", "IW-WS-4", "IW-WS-5"],
        "x6-inworld.transcribe": ["IW-STT-C-1", "IW-STT-ORD-1"],
    }.items():
        assert set(ids) <= set(cases[name]["spec_ids"]), (name, cases[name]["spec_ids"])
    judged = {requirement["id"] for requirement in report["requirements"]}
    assert {"LLM-TXT-1", "STT-ORD-5", "TTS-OUT-1", "IW-WS-5"} <= judged
    log = load_event_log(tmp_path / "events.jsonl")
    assert [s.capability for s in log.sessions][:3] == ["llm.chat", "stt.stream", "tts.stream"]
    assert [s.exchange for s in log.sessions] == list(range(len(ENDPOINTS)))


def test_a_broken_iut_fails_with_the_difference_in_every_report(
    cassette: Path, tmp_path: Path
) -> None:
    done = _voicewire(
        "run",
        "--cassette",
        cassette,
        "--iut",
        "python:tests.integration.test_run_cassette:broken_iut",
        "--json",
        "report.json",
        "--junit",
        "report.xml",
        "--html",
        "report.html",
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    outcomes = {case["name"].split("[", 1)[1].rstrip("]"): case for case in report["cases"]}
    expected = {
        "x0-llm": ("LLM-TXT-1", "text differs from the reference's"),
        "x1-stt": ("STT-ORD-5", "finals differs from the reference's"),
        "x2-tts": ("TTS-OUT-1", "audio differs from the reference's"),
    }
    for name, case in outcomes.items():
        if name not in expected:
            assert case["outcome"] == "PASS", case
            continue
        rule, words = expected[name]
        assert case["outcome"] == "FAIL" and rule in case["broken_ids"], case
        assert words in case["message"] and "(reference vs IUT)" in case["message"]
    llm_message = outcomes["x0-llm"]["message"]
    assert "Sunny in Paris." in llm_message  # the reference's text beside the IUT's
    stt_message = outcomes["x1-stt"]["message"]
    assert "tolerance 0.050" in stt_message
    junit = ET.parse(tmp_path / "report.xml").getroot()
    failures = [
        failure.get("message", "") + (failure.text or "") for failure in junit.iter("failure")
    ]
    page = html.unescape((tmp_path / "report.html").read_text())
    for _, words in expected.values():
        assert words in done.stdout
        assert any(words in failure for failure in failures)
        assert words in page


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--cassette", "{bad}"], "line 1: format voicewire-cassette/9 is newer"),
        (["--cassette", "{bad}", "--suite", "llm"], "takes no --suite"),
        (["--events-out", "e.jsonl"], "--events-out needs --cassette"),
    ],
)
def test_bad_cassette_arguments_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], said: str
) -> None:
    from voicewire.harness.cli import main

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "cassette", "format": "voicewire-cassette/9"}\n')
    assert main(["run", *(arg.format(bad=bad) for arg in args)]) == 2
    err = capsys.readouterr().err.strip()
    assert said in err and len(err.splitlines()) == 1, err


def test_upstream_on_a_reference_recording_fails_only_its_known_deviations(
    cassette: Path, tmp_path: Path
) -> None:
    """Upstream livekit-agents 1.8.9 asks the same as the reference in its own words (deepgram's
    ``"keyterm": []``, Inworld STT's ``endTurn`` before ``closeStream``) and paces its audio
    its own way: none of that is a difference. What remains is what the conformance report
    lists: the 10 ms of silence its Inworld synthesis and contexts add (IW-HTTP-2, IW-WS-5)."""
    pytest.importorskip("livekit.agents")
    pytest.importorskip("livekit.plugins.inworld")
    done = _voicewire(
        "run", "--cassette", cassette, "--iut", "livekit", "--json", "report.json", cwd=tmp_path
    )
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    outcomes = {
        case["name"].split("[", 1)[1].rstrip("]"): (case["outcome"], case["broken_ids"])
        for case in report["cases"]
    }
    assert outcomes == {
        "x0-llm": ("PASS", []),
        "x1-stt": ("PASS", []),
        "x2-tts": ("PASS", []),
        "x3-inworld.synthesize": ("FAIL", ["IW-HTTP-2"]),
        "x4-inworld.voices": ("PASS", []),
        "x5-inworld.contexts": ("FAIL", ["IW-WS-5"]),
        "x6-inworld.transcribe": ("PASS", []),
    }
    failures = {case["name"]: case["message"] for case in report["cases"] if case["broken_ids"]}
    assert all("audio.bytes" in message for message in failures.values()), failures
