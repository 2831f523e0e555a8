"""Interop: the real upstream clients (livekit-agents 1.8.9 inference LLM/STT/TTS,
livekit-plugins-inworld 1.8.9 TTS synthesize/stream/list_voices and STT) recorded through the
recording proxy against the simulator, then replayed by the cassette replayer (time scale 0):
each emits the same events as when recorded (text, tool calls, finals with their times, audio
bytes, event order), and the replayer saw no mismatch."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
from voicewire.reference.audio import AudioFrame
from voicewire.reference.errors import APIConnectOptions as ReferenceConnectOptions
from voicewire.reference.stt import STT, SpeechEventType
from voicewire.simulators import SimulatorServer, parse_scenario
from voicewire.simulators.core.credentials import DEFAULT_BASIC_KEY
from voicewire.simulators.recording.cassette import load_cassette
from voicewire.simulators.recording.proxy import RecordingProxy
from voicewire.simulators.recording.replay import CassetteReplayServer

pytest.importorskip("livekit.agents")
pytest.importorskip("livekit.plugins.inworld")

from livekit import rtc
from livekit.agents import APIConnectOptions, inference
from livekit.agents.llm import ChatContext, function_tool
from livekit.plugins import inworld

ONCE = APIConnectOptions(max_retry=0, timeout=5.0)
ANSWER_TIMEOUT = 10.0
HELLO = {
    "interim_interval": 0.4,
    "segments": [{"text": "hello world", "start": 0.1, "duration": 0.7}],
}
SCENARIO = parse_scenario(
    {
        "name": "recorded-upstream",
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

Drive = Callable[[str, str, str, aiohttp.ClientSession], Awaitable[list[Any]]]
"""One upstream run: given the base URL, the API key and secret and an HTTP session, the
events it emitted, normalised to comparable values."""


@function_tool
async def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return f"sunny in {city}"


def _frames(seconds: float, rate: int) -> Iterator[rtc.AudioFrame]:
    t = np.arange(round(seconds * rate)) / rate
    pcm = (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()
    step = rate // 100 * 2
    for i in range(0, len(pcm), step):
        piece = pcm[i : i + step]
        yield rtc.AudioFrame(
            piece, sample_rate=rate, num_channels=1, samples_per_channel=len(piece) // 2
        )


def _speech(event: Any) -> tuple[Any, ...]:
    # Upstream adds to the wire's times an offset it reads off its own clock (microseconds
    # apart between two runs): the times are compared to 0.1 ms, well within what the wire
    # says.
    return (
        event.type,
        [
            (a.text, round(a.start_time, 4), round(a.end_time, 4), a.language)
            for a in event.alternatives or []
        ],
    )


def _audio(event: Any) -> tuple[Any, ...]:
    timed = event.frame.userdata.get("lk.timed_transcripts") or []
    return (
        event.frame.data.tobytes(),
        event.frame.sample_rate,
        event.is_final,
        [(str(t), t.start_time, t.end_time) for t in timed],
    )


async def llm_drive(base: str, key: str, secret: str, http: aiohttp.ClientSession) -> list[Any]:
    client = inference.LLM(
        model="openai/gpt-4.1-mini", base_url=base + "/v1", api_key=key, api_secret=secret
    )
    ctx = ChatContext()
    ctx.add_message(role="user", content="What is the weather in Paris?")
    chunks = []
    try:
        async with client.chat(chat_ctx=ctx, tools=[get_weather], conn_options=ONCE) as stream:
            async for chunk in stream:
                chunks.append(chunk.model_dump(exclude_none=True, exclude={"id"}))
    finally:
        await client.aclose()
    return chunks


async def stt_drive(base: str, key: str, secret: str, http: aiohttp.ClientSession) -> list[Any]:
    stt = inference.STT(
        model="deepgram/nova-3", language="en", base_url=base, api_key=key,
        api_secret=secret, http_session=http,
    )  # fmt: skip
    stream = stt.stream(conn_options=ONCE)
    for frame in _frames(1.0, 16000):
        stream.push_frame(frame)
    stream.end_input()
    events: list[Any] = []

    async def read() -> None:
        async for event in stream:
            events.append(_speech(event))

    try:
        await asyncio.wait_for(read(), ANSWER_TIMEOUT)
    finally:
        await stream.aclose()
        await stt.aclose()
    return events


async def tts_drive(base: str, key: str, secret: str, http: aiohttp.ClientSession) -> list[Any]:
    tts = inference.TTS(
        model="cartesia/sonic-3", voice="a167e0f3-df7e-4d52-a9c3-f949145efdab", base_url=base,
        api_key=key, api_secret=secret, http_session=http,
    )  # fmt: skip
    try:
        stream = tts.synthesize("Hello there.", conn_options=ONCE)
        return [_audio(event) async for event in stream]
    finally:
        await tts.aclose()


def _inworld_tts(base: str, http: aiohttp.ClientSession) -> Any:
    return inworld.TTS(
        api_key=DEFAULT_BASIC_KEY, base_url=base + "/",
        ws_url=base.replace("http://", "ws://") + "/", http_session=http,
        sample_rate=24000, timestamp_type="WORD",
    )  # fmt: skip


async def inworld_synthesize_drive(
    base: str, key: str, secret: str, http: aiohttp.ClientSession
) -> list[Any]:
    tts = _inworld_tts(base, http)
    try:
        stream = tts.synthesize("Hello from Inworld.", conn_options=ONCE)
        return [_audio(event) async for event in stream]
    finally:
        await tts.aclose()


async def inworld_voices_drive(
    base: str, key: str, secret: str, http: aiohttp.ClientSession
) -> list[Any]:
    tts = _inworld_tts(base, http)
    try:
        return list(await tts.list_voices(language="en"))
    finally:
        await tts.aclose()


async def inworld_stream_drive(
    base: str, key: str, secret: str, http: aiohttp.ClientSession
) -> list[Any]:
    tts = _inworld_tts(base, http)
    try:
        stream = tts.stream(conn_options=ONCE)
        stream.push_text("Hello over the socket.")
        stream.end_input()
        return [_audio(event) async for event in stream]
    finally:
        await tts.aclose()


async def inworld_stt_drive(
    base: str, key: str, secret: str, http: aiohttp.ClientSession
) -> list[Any]:
    stt = inworld.STT(api_key=DEFAULT_BASIC_KEY, base_url=base + "/", http_session=http)
    stream = stt.stream()
    iterator = aiter(stream)
    events: list[Any] = []
    frames = list(_frames(1.0, 16000))

    async def read(until: Any) -> None:
        async for event in iterator:
            events.append(_speech(event))
            if until is not None and event.type is until:
                return

    from livekit.agents.stt import SpeechEventType

    try:
        # As upstream's own interop test: the end of input waits for the final, so upstream's
        # end-of-input usage does not race the transcripts.
        for frame in frames[:80]:
            stream.push_frame(frame)
        await asyncio.wait_for(read(SpeechEventType.FINAL_TRANSCRIPT), ANSWER_TIMEOUT)
        for frame in frames[80:]:
            stream.push_frame(frame)
        stream.end_input()
        await asyncio.wait_for(read(None), ANSWER_TIMEOUT)
    finally:
        await stream.aclose()
    return events


@pytest.mark.parametrize(
    "drive",
    [
        pytest.param(llm_drive, id="llm"),
        pytest.param(stt_drive, id="stt"),
        pytest.param(tts_drive, id="tts"),
        pytest.param(inworld_synthesize_drive, id="inworld.synthesize"),
        pytest.param(inworld_voices_drive, id="inworld.voices"),
        pytest.param(inworld_stream_drive, id="inworld.contexts"),
        pytest.param(inworld_stt_drive, id="inworld.transcribe"),
    ],
)
async def test_upstream_replayed_emits_what_it_emitted_when_recorded(
    tmp_path: Path, drive: Drive
) -> None:
    out = tmp_path / "upstream.jsonl"
    async with (
        SimulatorServer(SCENARIO) as sim,
        RecordingProxy(sim.base_url, out) as proxy,
        aiohttp.ClientSession() as http,
    ):
        recorded = await drive(proxy.base_url, sim.api_key, sim.api_secret, http)
    assert recorded
    async with (
        CassetteReplayServer(load_cassette(out), time_scale=0) as replayer,
        aiohttp.ClientSession() as http,
    ):
        replayed = await drive(replayer.base_url, sim.api_key, sim.api_secret, http)
    assert replayer.mismatches == []
    assert replayed == recorded


async def test_a_reference_recording_of_stt_replays_to_upstream(tmp_path: Path) -> None:
    """Upstream's deepgram session.create carries ``"keyterm": []`` in ``extra`` where the
    reference sends no keyterm: both ask the provider the same (an empty option is unset), so
    upstream replays a recording the reference made to its end, with the recorded finals."""
    out = tmp_path / "reference.jsonl"
    pcm = b"".join(bytes(frame.data) for frame in _frames(1.0, 16000))
    async with SimulatorServer(SCENARIO) as sim, RecordingProxy(sim.base_url, out) as proxy:
        stt = STT(
            "deepgram/nova-3", language="en", base_url=proxy.base_url, api_key=sim.api_key,
            api_secret=sim.api_secret, time_scale=0.01,
        )  # fmt: skip
        stream = stt.stream(conn_options=ReferenceConnectOptions(max_retry=0, timeout=5.0))
        for i in range(0, len(pcm), 320):
            stream.push_frame(AudioFrame(pcm[i : i + 320], sample_rate=16000, num_channels=1))
        stream.end_input()
        try:
            recorded = [
                e.alternatives[0].text
                async for e in stream
                if e.type is SpeechEventType.FINAL_TRANSCRIPT
            ]
        finally:
            await stream.aclose()
            await stt.aclose()
    assert recorded == ["hello world"]
    cassette = load_cassette(out)
    create = cassette.exchanges[0].payload(cassette.exchanges[0].messages("client")[0])
    assert '"keyterm"' not in str(create)
    async with (
        CassetteReplayServer(cassette, time_scale=0) as replayer,
        aiohttp.ClientSession() as http,
    ):
        replayed = await stt_drive(replayer.base_url, sim.api_key, sim.api_secret, http)
    assert replayer.mismatches == []
    finals = [alts[0][0] for kind, alts in replayed if kind.value == "final_transcript"]
    assert finals == recorded
