"""Interop: upstream ``livekit.plugins.inworld.STT`` (livekit-plugins-inworld 1.8.9) against
the Inworld simulator's ``/stt/v1/transcribe:streamBidirectional``, for the session of
research/wire-capture.md §8: 1 s of audio pushed in 10 ms frames, then ``end_input()``.

Upstream sends ``transcribeConfig``, one ``audioChunk`` per frame (100 of 160 samples), then
``endTurn`` and ``closeStream``, and emits what the simulator says (speechStarted, an interim,
a final with a voice profile) plus its usage. The early-close variant pins upstream's known
gap: a close before ``closeStream`` ends its stream silently, with no error and no retry —
what the report shows as NON-STRICT of IW-STT-END-1.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import aiohttp
import numpy as np
import pytest
from voicewire.reference.inworld.wire.stt_messages import encode_transcribe_message
from voicewire.reference.inworld.wire.stt_messages import transcribe_config as config_message
from voicewire.simulators import SimulatorServer, parse_scenario
from voicewire.simulators.core.credentials import DEFAULT_BASIC_KEY

pytest.importorskip("livekit.plugins.inworld")

from livekit import rtc
from livekit.agents.stt import SpeechEventType
from livekit.plugins import inworld

RATE = 16000
START = SpeechEventType.START_OF_SPEECH
INTERIM = SpeechEventType.INTERIM_TRANSCRIPT
USAGE = SpeechEventType.RECOGNITION_USAGE
FINAL = SpeechEventType.FINAL_TRANSCRIPT
END = SpeechEventType.END_OF_SPEECH
PROFILE = {"age": [{"label": "adult", "confidence": 0.9}]}
# The capture's transcript: speech from 0.1 s, an interim "hello", the final "hello world".
HELLO: dict[str, Any] = {
    "interim_interval": 0.4,
    "segments": [{"text": "hello world", "start": 0.1, "duration": 0.7, "voice_profile": PROFILE}],
}
# Waits on upstream's own answers; generous, since nothing here should come near them.
ANSWER_TIMEOUT = 10.0


def _frames_10ms(seconds: float) -> Iterator[rtc.AudioFrame]:
    t = np.arange(round(seconds * RATE)) / RATE
    pcm = (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()
    step = RATE // 100 * 2
    for i in range(0, len(pcm), step):
        piece = pcm[i : i + step]
        yield rtc.AudioFrame(
            piece, sample_rate=RATE, num_channels=1, samples_per_channel=len(piece) // 2
        )


async def _play(
    faults: list[dict[str, Any]] | None = None, *, wait_for: Any = FINAL
) -> tuple[list[Any], BaseException | None, list[dict[str, Any]]]:
    """Upstream's stream of 1 s of audio in 10 ms frames against one simulator: 0.8 s pushed,
    events read until one of type ``wait_for``, then the rest pushed and the input ended, and
    the stream read to its end. Returns its events, the error it raised (if any) and the
    simulator's journal. (Pushing everything at once would race upstream's end-of-input usage
    against the transcripts.)"""
    rule = {"match": {"endpoint": "inworld.transcribe"}, "reply": HELLO, "faults": faults or []}
    scenario = parse_scenario({"name": "inworld-stt-interop", "rules": [rule]})
    events: list[Any] = []
    error: BaseException | None = None
    frames = list(_frames_10ms(1.0))
    async with SimulatorServer(scenario) as sim, aiohttp.ClientSession() as http:
        stt = inworld.STT(api_key=DEFAULT_BASIC_KEY, base_url=sim.base_url + "/", http_session=http)
        stream = stt.stream()
        iterator = aiter(stream)

        async def read(until: Any) -> None:
            async for event in iterator:
                events.append(event)
                if event.type is until:
                    return

        try:
            for frame in frames[:80]:
                stream.push_frame(frame)
            await asyncio.wait_for(read(wait_for), ANSWER_TIMEOUT)
            for frame in frames[80:]:
                stream.push_frame(frame)
            stream.end_input()
            await asyncio.wait_for(read(None), ANSWER_TIMEOUT)
        except Exception as exc:  # what upstream raised is what the test checks
            error = exc
        await stream.aclose()
        journal = sim.journal.entries()
    return events, error, journal


def _frames(journal: list[dict[str, Any]], direction: str) -> list[Any]:
    return [
        e["data"] for e in journal if e["kind"] == "ws_message" and e.get("direction") == direction
    ]


async def test_the_captured_session() -> None:
    events, error, journal = await _play()
    assert error is None
    assert [e.type for e in events] == [START, INTERIM, FINAL, END, USAGE]
    assert events[1].alternatives[0].text == "hello"
    final = events[2].alternatives[0]
    assert (final.text, final.language) == ("hello world", "en-US")
    assert final.metadata == {"voice_profile": PROFILE}
    assert events[4].recognition_usage.audio_duration == pytest.approx(1.0)
    # Every event carries upstream's own request id.
    assert len({e.request_id for e in events}) == 1 and events[0].request_id
    sent = _frames(journal, "in")
    assert sent[0] == json.loads(encode_transcribe_message(config_message()))
    assert [m["audioChunk"]["samples"] for m in sent[1:101]] == [160] * 100
    assert sent[101:] == [{"endTurn": {}}, {"closeStream": {}}]
    assert [(e["direction"], e["data"]["code"]) for e in journal if e["kind"] == "ws_close"] == [
        ("out", 1000)
    ]


async def test_a_close_before_close_stream_ends_upstreams_stream_silently() -> None:
    # Event 0 is speechStarted; the socket closes right after it, long before closeStream.
    # SPEC IW-STT-END-1 wants a retryable error; upstream 1.8.9 just ends the stream (once its
    # sender notices, at the next input).
    events, error, journal = await _play(
        [{"kind": "ws_close", "at_event": 0, "code": 1011}], wait_for=START
    )
    assert error is None
    assert [e.type for e in events if e.type is not USAGE] == [START]
    assert len([e for e in journal if e["kind"] == "rule"]) == 1  # no reconnect
