"""Inworld STT (SPEC §5.3): the reference client (websockets) against the simulator's
``/stt/v1/transcribe:streamBidirectional`` (aiohttp) on a real loopback port, and raw probes
of the simulator.

Transcripts sit on the audio clock; tests await events, closes and the journal, never sleep.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import aiohttp
import numpy as np
import pytest
from voicewire.reference.audio import AudioFrame
from voicewire.reference.errors import (
    APIConnectionError,
    APIConnectOptions,
    APIStatusError,
    APITimeoutError,
)
from voicewire.reference.inworld.stt import InworldSTT
from voicewire.reference.inworld.wire.stt_messages import encode_transcribe_message
from voicewire.reference.inworld.wire.stt_messages import transcribe_config as config_message
from voicewire.reference.stt import SpeechEvent, SpeechEventType
from voicewire.reference.tone_code import encode_tone
from voicewire.simulators import Scenario, SimulatorServer, parse_scenario
from voicewire.simulators.core.credentials import DEFAULT_BASIC_KEY

RATE = 16000
START = SpeechEventType.START_OF_SPEECH
INTERIM = SpeechEventType.INTERIM_TRANSCRIPT
USAGE = SpeechEventType.RECOGNITION_USAGE
FINAL = SpeechEventType.FINAL_TRANSCRIPT
END = SpeechEventType.END_OF_SPEECH
PATH = "/stt/v1/transcribe:streamBidirectional"
ONE_TRY = APIConnectOptions(max_retry=0, timeout=5.0)
PROFILE = {"age": [{"label": "adult", "confidence": 0.9}]}


def scenario(reply: dict[str, Any], faults: list[dict[str, Any]] | None = None) -> Scenario:
    rule = {"match": {"endpoint": "inworld.transcribe"}, "reply": reply, "faults": faults or []}
    return parse_scenario({"name": "inworld-stt", "rules": [rule]})


HELLO = {
    "interim_interval": 0.4,
    "segments": [{"text": "hello world", "start": 0.1, "duration": 0.7, "voice_profile": PROFILE}],
}


def frames(pcm: bytes, ms: int = 10) -> Iterator[AudioFrame]:
    step = RATE * ms // 1000 * 2
    for i in range(0, len(pcm), step):
        yield AudioFrame(pcm[i : i + step], sample_rate=RATE, num_channels=1)


def silence(seconds: float) -> bytes:
    return b"\x00\x00" * round(seconds * RATE)


def tone(seconds: float = 1.0) -> bytes:
    t = np.arange(round(seconds * RATE)) / RATE
    return (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()


def kinds(events: list[SpeechEvent]) -> list[SpeechEventType]:
    return [e.type for e in events]


def journal(sim: SimulatorServer, direction: str) -> list[Any]:
    return [
        e["data"]
        for e in sim.journal.entries()
        if e["type"] == "wire.frame"
        and e.get("direction") == direction
        and e["kind"] == "ws_message"
    ]


def closes(sim: SimulatorServer) -> list[tuple[str, int]]:
    return [
        (e["direction"], e["data"]["code"])
        for e in sim.journal.entries()
        if e["kind"] == "ws_close"
    ]


def client(sim: SimulatorServer, base_path: str = "", **kwargs: Any) -> InworldSTT:
    kwargs.setdefault("api_key", DEFAULT_BASIC_KEY)
    return InworldSTT(base_url=sim.base_url + base_path, time_scale=0.01, **kwargs)


async def transcribe(
    stt: InworldSTT,
    pcm: bytes,
    *,
    ms: int = 10,
    conn_options: APIConnectOptions = ONE_TRY,
    flush_at: int | None = None,
) -> list[SpeechEvent]:
    """Push ``pcm`` in ``ms`` frames (a flush after frame ``flush_at``), end the input and
    read the stream to its end."""
    stream = stt.stream(conn_options=conn_options)
    async with stream:
        for index, frame in enumerate(frames(pcm, ms)):
            stream.push_frame(frame)
            if index == flush_at:
                stream.flush()
        stream.end_input()
        return [event async for event in stream]


@pytest.mark.parametrize("base_path", ["", "/v1/"])
async def test_the_tone_code_transcribes_to_its_text(base_path: str) -> None:
    audio = encode_tone("hello world", sample_rate=RATE).to_bytes() + silence(0.4)
    async with SimulatorServer() as sim:
        stt = client(sim, base_path)
        events = await transcribe(stt, audio)
        sent = journal(sim, "in")
    segment = [kind for kind in kinds(events) if kind is not USAGE]
    assert segment[0] is START and segment[-2:] == [FINAL, END]
    assert set(segment[1:-2]) <= {INTERIM}
    final = events[kinds(events).index(FINAL)]
    assert final.alternatives[0].text == "hello world"
    interims = [e.alternatives[0].text for e in events if e.type is INTERIM]
    assert interims and all("hello world".startswith(text) for text in interims)
    assert final.alternatives[0].language == "en-US"
    assert {e.request_id for e in events} == {events[0].request_id}
    # Config first, one audioChunk of 160 samples per 10 ms frame, closeStream last.
    assert sent[0] == json.loads(encode_transcribe_message(config_message()))
    chunks = [m["audioChunk"]["samples"] for m in sent[1:-1]]
    assert sum(chunks) == len(audio) // 2
    assert chunks[:-1] == [160] * (len(chunks) - 1)
    assert sent[-1] == {"closeStream": {}}
    assert closes(sim) == [("out", 1000)]
    usage = [e.recognition_usage.audio_duration for e in events if e.type is USAGE]
    assert round(sum(usage) * RATE) == len(audio) // 2


async def test_a_scripted_stream_with_a_voice_profile() -> None:
    async with SimulatorServer(scenario(HELLO)) as sim:
        events = await transcribe(client(sim), tone(1.0))
        received = journal(sim, "out")
    assert kinds(events) == [START, INTERIM, FINAL, END, USAGE]
    assert events[1].alternatives[0].text == "hello"
    final = events[2].alternatives[0]
    assert (final.text, final.metadata) == ("hello world", {"voice_profile": PROFILE})
    assert events[4].recognition_usage.audio_duration == 1.0
    assert json.loads(received[0]) == {"result": {"speechStarted": {}}}
    assert json.loads(received[2])["result"]["transcription"]["voiceProfile"] == PROFILE


async def test_usage_every_5_s_of_audio_at_the_flush_and_at_the_end() -> None:
    async with SimulatorServer(scenario({"segments": []})) as sim:
        # 5.5 s in 50 ms frames, a flush after 5.1 s (frame 101), then the rest.
        events = await transcribe(client(sim), silence(5.5), ms=50, flush_at=101)
        sent = journal(sim, "in")
    assert [round(e.recognition_usage.audio_duration, 6) for e in events] == [5.0, 0.1, 0.4]
    assert kinds(events) == [USAGE] * 3
    assert [m for m in sent if "audioChunk" not in m][1:] == [{"endTurn": {}}, {"closeStream": {}}]


async def test_end_turn_finalises_the_segment_in_progress() -> None:
    reply = {
        "interim_interval": None,
        "segments": [
            {"text": "first turn", "start": 0.0, "duration": 2.0},
            {"text": "second", "start": 2.0, "duration": 0.2},
        ],
    }
    async with SimulatorServer(scenario(reply)) as sim:
        # endTurn after 0.5 s: "first turn" is finalised at once; "second" plays on.
        events = await transcribe(client(sim), tone(2.5), flush_at=49)
    texts = [e.alternatives[0].text for e in events if e.type is FINAL]
    assert texts == ["first turn", "second"]
    assert [k for k in kinds(events) if k is not USAGE] == [START, FINAL, END, START, FINAL, END]


async def test_a_close_before_close_stream_is_retried() -> None:
    reply = {"interim_interval": None, "segments": [{"text": "lucky", "start": 0, "duration": 0.5}]}
    faults = [{"kind": "ws_close", "at_event": 0, "code": 1011, "attempt": 1}]
    async with SimulatorServer(scenario(reply, faults)) as sim:
        stt = client(sim)
        errors: list[Any] = []
        stt.on("error", errors.append)
        options = APIConnectOptions(max_retry=2, retry_interval=0.0, timeout=5.0)
        stream = stt.stream(conn_options=options)
        async with stream:
            iterator = aiter(stream)
            first = await anext(iterator)  # START, then the close
            for frame in frames(tone(1.0)):
                stream.push_frame(frame)
            stream.end_input()
            events = [first, *[e async for e in iterator]]
        assert stream.attempts == 2
    assert [k for k in kinds(events) if k is not USAGE] == [START, FINAL, END]
    assert len(errors) == 1 and errors[0].recoverable
    assert isinstance(errors[0].error, APIConnectionError)
    assert "before closeStream" in errors[0].error.message


async def test_a_wrong_key_is_a_401_and_not_retried() -> None:
    async with SimulatorServer() as sim:
        stt = client(sim, api_key="not-a-key")
        stream = stt.stream(conn_options=APIConnectOptions(max_retry=2, timeout=5.0))
        with pytest.raises(APIStatusError) as caught:
            async with stream:
                stream.end_input()
                [e async for e in stream]
        assert (caught.value.status_code, stream.attempts) == (401, 1)


@pytest.mark.parametrize(
    ("fault", "error", "match", "retryable"),
    [
        (
            {"kind": "error_event", "at_event": 0, "code": 3, "message": "bad"},
            APIStatusError,
            "bad",
            False,
        ),
        ({"kind": "error_event", "at_event": 0, "code": 14}, APIStatusError, "simulated", True),
        ({"kind": "malformed", "at_event": 0}, APIConnectionError, "CLI-ROB-1", True),
        ({"kind": "binary_frame", "at_event": 0}, APIConnectionError, "binary", True),
    ],
)
async def test_hostile_frames_end_the_stream_with_an_api_error(
    fault, error, match, retryable
) -> None:
    async with SimulatorServer(scenario(HELLO, [fault])) as sim:
        with pytest.raises(error, match=match) as caught:
            await transcribe(client(sim), tone(0.3))
    assert type(caught.value) is error
    assert caught.value.retryable is retryable


async def test_a_server_that_never_closes_after_close_stream_times_out() -> None:
    async with SimulatorServer(scenario({**HELLO, "after_close_stream": "stay_open"})) as sim:
        options = APIConnectOptions(max_retry=2, timeout=0.3)
        with pytest.raises(APITimeoutError, match="did not close") as caught:
            await transcribe(client(sim), tone(1.0), conn_options=options)
    assert caught.value.retryable is False


async def test_raw_probes_get_inworld_errors_and_the_socket_stays_usable() -> None:
    async with SimulatorServer() as sim, aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Basic {DEFAULT_BASIC_KEY}"}
        async with http.ws_connect(sim.base_url + PATH, headers=headers) as ws:
            await ws.send_str('{"audioChunk": {"content": "AAA="}}')
            error = json.loads(await ws.receive_str())
            assert error["error"]["code"] == 3
            assert "audioChunk before transcribeConfig" in error["error"]["message"]
            await ws.send_str(encode_transcribe_message(config_message()))
            await ws.send_str('{"closeStream": {}}')
            closing = await ws.receive()
            assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, 1000)
        async with http.ws_connect(sim.base_url + PATH, headers=headers) as ws:
            await ws.send_bytes(b"\x00")
            closing = await ws.receive()
            assert closing.data == 1003
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(sim.base_url + PATH, headers={"Authorization": "Basic nope"})
        assert refused.value.status == 401


def test_the_key_comes_from_the_argument_else_the_environment(monkeypatch) -> None:
    monkeypatch.delenv("INWORLD_API_KEY", raising=False)
    with pytest.raises(ValueError, match="INWORLD_API_KEY"):
        InworldSTT()
    monkeypatch.setenv("INWORLD_API_KEY", "ZW52OmtleQ==")
    stt = InworldSTT(base_url="https://example.test/base/")
    assert stt.authorization == "Basic ZW52OmtleQ=="
    assert InworldSTT(api_key="YXJnOmtleQ==").authorization == "Basic YXJnOmtleQ=="
    assert stt.url == "wss://example.test/base/stt/v1/transcribe:streamBidirectional"
    assert stt.transcribe_config() == config_message()
    assert stt.transcribe_config(language="de-DE").transcribeConfig.language == "de-DE"


def test_update_options_applies_to_new_streams_and_refuses_what_the_wire_cannot_carry() -> None:
    stt = InworldSTT(api_key="k")
    stt.update_options(model="soniox/stt-rt-v4", vad_threshold=0.4, enable_voice_profile=False)
    body = stt.transcribe_config().transcribeConfig
    assert (body.modelId, body.inworldSttV1Config.vadThreshold) == ("soniox/stt-rt-v4", 0.4)
    assert body.voiceProfileConfig is None
    with pytest.raises(ValueError, match="cannot carry"):
        stt.update_options(end_of_turn_confidence_threshold=2.0, voice_profile_top_n=3)
    assert (stt.end_of_turn_confidence_threshold, stt.voice_profile_top_n) == (0.3, 1)
    with pytest.raises(ValueError, match="mono"):
        InworldSTT(api_key="k", num_channels=2)


async def test_audio_at_another_rate_or_in_stereo_is_resampled_and_mixed_down() -> None:
    utterance = encode_tone("resampled", sample_rate=48000)
    mono = np.frombuffer(utterance.to_bytes(), dtype="<i2")
    stereo = np.repeat(mono, 2).astype("<i2").tobytes()  # both channels the same
    async with SimulatorServer() as sim:
        stream = client(sim).stream(conn_options=ONE_TRY)
        async with stream:
            step = 480 * 2 * 2  # 10 ms of 48 kHz stereo
            for i in range(0, len(stereo), step):
                stream.push_frame(
                    AudioFrame(stereo[i : i + step], sample_rate=48000, num_channels=2)
                )
            stream.push_frame(AudioFrame(silence(0.4), sample_rate=RATE, num_channels=1))
            stream.end_input()
            events = [e async for e in stream]
        sent = journal(sim, "in")
    assert [e.alternatives[0].text for e in events if e.type is FINAL] == ["resampled"]
    samples = sum(m["audioChunk"]["samples"] for m in sent if "audioChunk" in m)
    assert samples == -(-len(mono) // 3) + round(0.4 * RATE)
