"""Interop: upstream ``livekit.plugins.inworld.TTS`` (livekit-plugins-inworld 1.8.9) against
the Inworld simulator's HTTP part, pointed at it as wire capture §10 does: ``synthesize()``
with word timestamps and ``list_voices(language="en")``. Upstream must accept everything the
simulator sends: the audio it emits decodes back to the text, its timed transcript holds the
words, and the voices come back verbatim.
"""

from __future__ import annotations

import aiohttp
import pytest
from voicewire.reference.tone_code import decode_tone
from voicewire.simulators import SimulatorServer
from voicewire.simulators.core.credentials import DEFAULT_BASIC_KEY

pytest.importorskip("livekit.plugins.inworld")

from livekit.agents import APIConnectOptions
from livekit.plugins import inworld

TEXT = "Hello from the Inworld HTTP endpoint."
RATE = 24000


async def test_upstream_synthesizes_and_lists_voices_against_the_simulator() -> None:
    async with SimulatorServer() as sim, aiohttp.ClientSession() as session:
        tts = inworld.TTS(
            api_key=DEFAULT_BASIC_KEY,
            base_url=sim.base_url + "/",
            ws_url=sim.base_url.replace("http://", "ws://") + "/",
            http_session=session,
            timestamp_type="WORD",
        )
        stream = tts.synthesize(TEXT, conn_options=APIConnectOptions(max_retry=0, timeout=5.0))
        events = [event async for event in stream]
        voices = await tts.list_voices(language="en")
        await tts.aclose()
        journal = sim.journal.entries()

    pcm = b"".join(event.frame.data.tobytes() for event in events)
    assert [segment.text for segment in decode_tone(pcm, sample_rate=RATE)] == [TEXT]
    assert {event.segment_id for event in events} == {""}
    assert [event.is_final for event in events][-1] is True
    # upstream attaches the timed transcript to the frames it emits
    timed = [event.frame.userdata.get("lk.timed_transcripts") or [] for event in events]
    words = [str(t) for transcripts in timed for t in transcripts]
    assert words == TEXT.split()

    assert voices and all("en" in voice["languages"] for voice in voices)
    requests = [e["data"] for e in journal if e.get("kind") == "http_request"]
    assert [r["path"] for r in requests] == [
        "/tts/v1/voice:stream",
        "/tts/v1/voices?filter=language%3Den",
    ]
    assert requests[0]["body"]["timestampType"] == "WORD"
    assert [e["kind"] for e in journal if e.get("kind") == "http_error"] == []
