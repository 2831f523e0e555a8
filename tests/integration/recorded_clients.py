"""The reference clients the recording tests drive, one per endpoint, and what they share: a
client run takes a base URL (the simulator's, the recording proxy's, the replayer's) and
returns what the client got, so a test compares runs against each.

Imported by tests/integration/test_recording_proxy.py and test_cassette_replay.py (pytest puts
this folder on the path for them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from voicewire.reference.audio import AudioFrame
from voicewire.reference.errors import APIConnectOptions
from voicewire.reference.inworld.stt import InworldSTT
from voicewire.reference.inworld.tts import InworldTTS
from voicewire.reference.llm import ChatContext
from voicewire.reference.llm.inference import LLM
from voicewire.reference.stt import STT, SpeechEventType
from voicewire.reference.tone_code import encode_tone
from voicewire.reference.tts import TTS
from voicewire.simulators import DEFAULT_API_KEY, DEFAULT_API_SECRET, Scenario, parse_scenario
from voicewire.simulators.core.credentials import DEFAULT_BASIC_KEY

RATE = 16000
ONCE = APIConnectOptions(max_retry=0, timeout=5.0)
SPOKEN = "hello world"
KEY, SECRET = DEFAULT_API_KEY, DEFAULT_API_SECRET
T = TypeVar("T")

Drive = Callable[[str], Awaitable[T]]
"""A client run: given a base URL, what the client got."""


def recorded_scenario() -> Scenario:
    """What the simulator standing in for the provider says: a four-word LLM reply in
    chunks of four characters, echo for the rest, scripted delays at a hundredth."""
    return parse_scenario(
        {
            "name": "recorded",
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


def tone_pcm(text: str = SPOKEN) -> bytes:
    return encode_tone(text, sample_rate=RATE).to_bytes() + b"\x00\x00" * round(0.4 * RATE)


def audio_frames(pcm: bytes, ms: int = 20) -> list[AudioFrame]:
    step = RATE * ms // 1000 * 2
    return [
        AudioFrame(pcm[i : i + step], sample_rate=RATE, num_channels=1)
        for i in range(0, len(pcm), step)
    ]


def llm_drive(content: str = "count") -> Drive[list[str]]:
    async def drive(base: str) -> list[str]:
        llm = LLM("openai/gpt-4.1-mini", base_url=base + "/v1", api_key=KEY, api_secret=SECRET)
        ctx = ChatContext()
        ctx.add_message(role="user", content=content)
        try:
            async with llm.chat(chat_ctx=ctx, conn_options=ONCE) as stream:
                chunks = await stream.collect()
        finally:
            await llm.aclose()
        return [c.delta.content or "" for c in chunks if c.delta is not None]

    return drive


async def stt_drive(base: str) -> list[tuple[str, str]]:
    stt = STT("deepgram/nova-3", base_url=base, api_key=KEY, api_secret=SECRET, time_scale=0.01)
    stream = stt.stream(conn_options=ONCE)
    try:
        for frame in audio_frames(tone_pcm()):
            stream.push_frame(frame)
        stream.end_input()
        return [
            (e.type.value, e.alternatives[0].text if e.alternatives else "")
            async for e in stream
            if e.type is not SpeechEventType.RECOGNITION_USAGE
        ]
    finally:
        await stream.aclose()
        await stt.aclose()


async def tts_drive(base: str) -> bytes:
    tts = TTS("cartesia/sonic-3", base_url=base, api_key=KEY, api_secret=SECRET, sample_rate=RATE)
    try:
        frames = [a.frame async for a in tts.synthesize(SPOKEN, conn_options=ONCE)]
    finally:
        await tts.aclose()
    return b"".join(f.to_bytes() for f in frames)


async def inworld_synthesize_drive(base: str) -> bytes:
    tts = InworldTTS(api_key=DEFAULT_BASIC_KEY, base_url=base + "/", sample_rate=RATE)
    try:
        frames = [a.frame async for a in tts.synthesize(SPOKEN, conn_options=ONCE)]
    finally:
        await tts.aclose()
    return b"".join(f.to_bytes() for f in frames)


async def inworld_voices_drive(base: str) -> list[dict[str, Any]]:
    tts = InworldTTS(api_key=DEFAULT_BASIC_KEY, base_url=base + "/")
    try:
        return await tts.list_voices(language="en")
    finally:
        await tts.aclose()


def inworld_stream_drive(text: str = SPOKEN) -> Drive[bytes]:
    async def drive(base: str) -> bytes:
        tts = InworldTTS(
            api_key=DEFAULT_BASIC_KEY, ws_url=base.replace("http", "ws", 1) + "/", sample_rate=RATE
        )
        try:
            stream = tts.stream(conn_options=ONCE)
            stream.push_text(text)
            stream.end_input()
            frames = [a.frame async for a in stream]
        finally:
            await tts.aclose()
        return b"".join(f.to_bytes() for f in frames)

    return drive


async def inworld_stt_drive(base: str) -> list[tuple[str, str]]:
    stt = InworldSTT(api_key=DEFAULT_BASIC_KEY, base_url=base, time_scale=0.01)
    stream = stt.stream(conn_options=ONCE)
    async with stream:
        for frame in audio_frames(tone_pcm()):
            stream.push_frame(frame)
        stream.end_input()
        return [
            (e.type.value, e.alternatives[0].text if e.alternatives else "")
            async for e in stream
            if e.type is not SpeechEventType.RECOGNITION_USAGE
        ]
