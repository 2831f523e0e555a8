"""Interop: the real upstream clients (livekit-agents 1.8.9 ``inference.LLM/STT/TTS``,
livekit-plugins-inworld 1.8.9 ``TTS`` and ``STT``) recorded through the recording proxy
against the simulator standing in for the provider, one test per protocol. Each client runs
directly against the simulator and through the proxy: it works unchanged (its events are the
same, compared on text, finals and audio bytes) and the cassette holds its session.

Without the extras installed, the whole module is skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import numpy as np
import pytest
from voicewire.reference.tone_code import decode_tone, encode_tone
from voicewire.simulators import SimulatorServer, parse_scenario
from voicewire.simulators.core.credentials import DEFAULT_BASIC_KEY
from voicewire.simulators.recording.cassette import Cassette, RecordedExchange, load_cassette
from voicewire.simulators.recording.proxy import RecordingProxy

pytest.importorskip("livekit.agents")
pytest.importorskip("livekit.plugins.inworld")

from livekit import rtc
from livekit.agents import APIConnectOptions, inference
from livekit.agents.llm import ChatContext
from livekit.agents.stt import SpeechEventType
from livekit.plugins import inworld

ONCE = APIConnectOptions(max_retry=0, timeout=5.0)
SPOKEN = "hello world"
STT_RATE = 16000
T = TypeVar("T")


@pytest.fixture(autouse=True)
def hermetic_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the CI environment (proxies, LiveKit credentials) out of the loopback exchange."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name in (
        "LIVEKIT_INFERENCE_URL",
        "LIVEKIT_URL",
        "LIVEKIT_INFERENCE_API_KEY",
        "LIVEKIT_API_KEY",
        "LIVEKIT_INFERENCE_API_SECRET",
        "LIVEKIT_API_SECRET",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorServer]:
    scenario = parse_scenario(
        {
            "name": "recorded-upstream",
            "on_unmatched": "echo",
            "time_scale": 0.01,
            "rules": [
                {
                    "match": {"endpoint": "llm"},
                    "reply": {
                        "content": "one two three four",
                        "fragmentation": {"strategy": "fixed", "size": 4},
                    },
                }
            ],
        }
    )
    async with SimulatorServer(scenario) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def direct_and_recorded(
    sim: SimulatorServer, tmp_path: Path, drive: Callable[[str], Awaitable[T]]
) -> tuple[T, T, Cassette]:
    """What the upstream client emitted directly and through the proxy, and the cassette."""
    direct = await drive(sim.base_url)
    out = tmp_path / "upstream.jsonl"
    async with RecordingProxy(sim.base_url, out) as proxy:
        recorded = await drive(proxy.base_url)
    return direct, recorded, load_cassette(out)


def session_of(
    cassette: Cassette,
    endpoint: str,
    sim: SimulatorServer,
    *,
    ended_by: tuple[str, str] | None = None,
) -> RecordedExchange:
    """The endpoint's one exchange, ended ``complete`` (or by ``ended_by``); no secret in the
    cassette."""
    (exchange,) = cassette.of_endpoint(endpoint)
    assert exchange.end is not None
    assert (exchange.end.outcome, exchange.end.detail) in {("complete", None), ended_by}
    text = cassette.path.read_text()
    assert sim.api_secret not in text and DEFAULT_BASIC_KEY not in text and "eyJ" not in text
    return exchange


def spoken(pcm: bytes, rate: int) -> list[str | None]:
    return [segment.text for segment in decode_tone(pcm, sample_rate=rate)]


def tone_frames(seconds_of_silence: float = 0.4) -> list[rtc.AudioFrame]:
    """The tone code of SPOKEN then silence (the decoder ends a segment after 0.3 s of quiet),
    in 10 ms frames."""
    pcm = encode_tone(SPOKEN, sample_rate=STT_RATE).to_bytes()
    pcm += bytes(2 * round(seconds_of_silence * STT_RATE))
    samples = np.frombuffer(pcm, dtype="<i2")
    step = STT_RATE // 100
    return [
        rtc.AudioFrame(
            samples[i : i + step].tobytes(),
            sample_rate=STT_RATE,
            num_channels=1,
            samples_per_channel=len(samples[i : i + step]),
        )
        for i in range(0, len(samples), step)
    ]


async def test_upstream_llm_recorded(sim: SimulatorServer, tmp_path: Path) -> None:
    async def drive(base: str) -> list[str]:
        llm = inference.LLM(model="openai/gpt-4.1-mini", base_url=base + "/v1",
                            api_key=sim.api_key, api_secret=sim.api_secret)  # fmt: skip
        ctx = ChatContext()
        ctx.add_message(role="user", content="count")
        try:
            async with llm.chat(chat_ctx=ctx, conn_options=ONCE) as stream:
                return [c.delta.content or "" async for c in stream if c.delta is not None]
        finally:
            await llm.aclose()

    direct, recorded, cassette = await direct_and_recorded(sim, tmp_path, drive)
    assert recorded == direct and "".join(recorded) == "one two three four"
    exchange = session_of(cassette, "llm", sim)
    events = exchange.body_records()
    assert {e.type for e in events} == {"sse"} and events[-1].data == "data: [DONE]\n\n"
    assert exchange.request.token is not None
    assert exchange.request.token["claims"]["iss"] == sim.api_key


async def test_upstream_stt_recorded(
    sim: SimulatorServer, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async def drive(base: str) -> list[tuple[str, str]]:
        stt = inference.STT(model="deepgram/nova-3", language="en", base_url=base,
                            api_key=sim.api_key, api_secret=sim.api_secret,
                            http_session=http)  # fmt: skip
        stream = stt.stream(conn_options=ONCE)
        for frame in tone_frames():
            stream.push_frame(frame)
        stream.end_input()
        try:
            return [
                (e.type.value, e.alternatives[0].text if e.alternatives else "")
                async for e in stream
                if e.type is not SpeechEventType.RECOGNITION_USAGE
            ]
        finally:
            await stream.aclose()
            await stt.aclose()

    direct, recorded, cassette = await direct_and_recorded(sim, tmp_path, drive)
    assert recorded == direct and ("final_transcript", SPOKEN) in recorded
    exchange = session_of(cassette, "stt", sim)
    assert exchange.request.query == "model=deepgram/nova-3"
    client = exchange.messages("client")
    assert len(client) > 10 and client[-1].audio > 1.0
    assert exchange.messages("server")


async def test_upstream_tts_recorded(
    sim: SimulatorServer, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async def drive(base: str) -> bytes:
        tts = inference.TTS(model="cartesia/sonic-3", voice="a167e0f3-df7e-4d52-a9c3-f949145efdab",
                            base_url=base, api_key=sim.api_key, api_secret=sim.api_secret,
                            http_session=http)  # fmt: skip
        try:
            stream = tts.stream(conn_options=ONCE)
            stream.push_text("Hello there.")
            stream.end_input()
            return b"".join([e.frame.data.tobytes() async for e in stream])
        finally:
            await tts.aclose()

    direct, recorded, cassette = await direct_and_recorded(sim, tmp_path, drive)
    assert recorded == direct and spoken(recorded, 24000) == ["Hello there."]
    exchange = session_of(cassette, "tts", sim)
    assert exchange.messages("client") and exchange.messages("server")


async def test_upstream_inworld_tts_recorded(
    sim: SimulatorServer, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async def drive(base: str) -> tuple[bytes, bytes, list[dict[str, Any]]]:
        tts = inworld.TTS(api_key=DEFAULT_BASIC_KEY, base_url=base + "/",
                          ws_url=base.replace("http://", "ws://") + "/", http_session=http,
                          sample_rate=16000)  # fmt: skip
        try:
            synthesized = [e async for e in tts.synthesize(SPOKEN, conn_options=ONCE)]
            stream = tts.stream(conn_options=ONCE)
            stream.push_text("Streamed words.")
            stream.end_input()
            streamed = [e async for e in stream]
            voices = await tts.list_voices(language="en")
        finally:
            await tts.aclose()
        return (
            b"".join(e.frame.data.tobytes() for e in synthesized),
            b"".join(e.frame.data.tobytes() for e in streamed),
            voices,
        )

    direct, recorded, cassette = await direct_and_recorded(sim, tmp_path, drive)
    assert recorded == direct
    assert spoken(recorded[0], 16000) == [SPOKEN]
    assert spoken(recorded[1], 16000) == ["Streamed words."]
    lines = session_of(cassette, "inworld.synthesize", sim).body_records()
    assert len(lines) > 1 and {line.type for line in lines} == {"ndjson"}
    voices = session_of(cassette, "inworld.voices", sim)
    assert [b.type for b in voices.body_records()] == ["body"]
    # Upstream closes its context socket (1000) in the background after aclose(): the
    # recorder may stop first, and then its stop ends the session.
    stopped = ("upstream_gone", "the recorder stopped")
    contexts = session_of(cassette, "inworld.contexts", sim, ended_by=stopped)
    assert contexts.messages("client") and contexts.messages("server")


async def test_upstream_inworld_stt_recorded(
    sim: SimulatorServer, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async def drive(base: str) -> list[tuple[str, str]]:
        stt = inworld.STT(api_key=DEFAULT_BASIC_KEY, base_url=base + "/", http_session=http)
        stream = stt.stream()
        iterator = aiter(stream)
        events: list[tuple[str, str]] = []

        async def read(until: SpeechEventType | None) -> None:
            async for e in iterator:
                if e.type is not SpeechEventType.RECOGNITION_USAGE:
                    events.append((e.type.value, e.alternatives[0].text if e.alternatives else ""))
                if e.type is until:
                    return

        try:
            # The final first, then the end of input (upstream's end-of-input usage would
            # race the transcripts otherwise).
            for frame in tone_frames():
                stream.push_frame(frame)
            await asyncio.wait_for(read(SpeechEventType.FINAL_TRANSCRIPT), 5.0)
            stream.end_input()
            await asyncio.wait_for(read(None), 5.0)
        finally:
            await stream.aclose()
        return events

    direct, recorded, cassette = await direct_and_recorded(sim, tmp_path, drive)
    assert recorded == direct and ("final_transcript", SPOKEN) in recorded
    exchange = session_of(cassette, "inworld.transcribe", sim)
    assert len(exchange.messages("client")) > 10 and exchange.messages("server")
