"""The STT simulator (``/stt``, ``/v1/stt``) on real loopback sockets: driven by the reference
client (websockets), by upstream's ``livekit.agents.inference.STT`` (livekit-agents 1.8.9) and
by raw aiohttp WebSocket probes.

The transcript of a scripted session is placed on the audio clock: a test that wants to know
what the client has sent when a final arrives pushes audio up to the final's position, awaits
the FINAL event, and only then pushes the rest. Nothing sleeps to wait: tests await events,
closes and the journal.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import zlib
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
from voicewire.reference.audio import AudioFrame
from voicewire.reference.auth import create_access_token
from voicewire.reference.errors import APIConnectOptions, APIError
from voicewire.reference.stt import STT, SpeechEvent, SpeechEventType, SpeechStream
from voicewire.reference.stt.wire import InputAudio, encode_message, session_create
from voicewire.simulators import (
    Limits,
    Scenario,
    ScenarioError,
    SimulatorServer,
    load_scenario,
    parse_scenario,
)
from voicewire.simulators.stt import CLOSE_IDLE, CLOSE_UNSUPPORTED_DATA, STTReply

MODEL = "deepgram/nova-3"
RATE = 16000

START = SpeechEventType.START_OF_SPEECH
INTERIM = SpeechEventType.INTERIM_TRANSCRIPT
USAGE = SpeechEventType.RECOGNITION_USAGE
FINAL = SpeechEventType.FINAL_TRANSCRIPT
END = SpeechEventType.END_OF_SPEECH

# The transcript upstream accepted in the capture (research/wire-capture.md §3): one segment,
# an interim "hello", the final "hello world" over 0.8 s with two words.
HELLO_REPLY: dict[str, Any] = {
    "interim_interval": 0.4,
    "segments": [
        {
            "text": "hello world",
            "start": 0.0,
            "duration": 0.8,
            "confidence": 0.97,
            "language": "en",
            "words": [
                {"word": "hello", "start": 0.0, "end": 0.35},
                {"word": "world", "start": 0.4, "end": 0.8},
            ],
        }
    ],
}


def scenario(reply: dict[str, Any], name: str = "stt", **rule: Any) -> Scenario:
    return parse_scenario(
        {"name": name, "rules": [{"match": {"endpoint": "stt"}, "reply": reply, **rule}]}
    )


def pcm(seconds: float, rate: int = RATE) -> bytes:
    """A deterministic, audible signal of ``seconds`` at ``rate`` (s16le mono)."""
    n = round(seconds * rate)
    t = np.arange(n) / rate
    return (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()


def frames_10ms(data: bytes, rate: int = RATE) -> Iterable[bytes]:
    step = rate // 100 * 2
    for i in range(0, len(data), step):
        yield data[i : i + step]


def bearer(sim: SimulatorServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_access_token(sim.api_key, sim.api_secret)}"}


def types_of(events: list[SpeechEvent]) -> list[SpeechEventType]:
    return [e.type for e in events]


async def events_until(stream: AsyncIterator[Any], kind: Any, into: list[Any]) -> None:
    """Read events into ``into`` until one of type ``kind`` arrived."""
    async for event in stream:
        into.append(event)
        if event.type == kind:
            return
    raise AssertionError(f"the stream ended before a {kind}")


def out_messages(sim: SimulatorServer, exchange: int | None = None) -> list[dict[str, Any]]:
    return [
        json.loads(e["data"])
        for e in sim.journal.entries(exchange=exchange)
        if e["type"] == "wire.frame" and e.get("direction") == "out" and e["kind"] == "ws_message"
    ]


# -- the reference client ----------------------------------------------------------------------


@pytest.mark.parametrize("base_path", ["", "/v1"])
async def test_reference_client_gets_the_captured_events(base_path: str) -> None:
    async with SimulatorServer(scenario(HELLO_REPLY)) as sim:
        stt = STT(
            MODEL,
            language="en",
            base_url=sim.base_url + base_path,
            api_key=sim.api_key,
            api_secret=sim.api_secret,
            time_scale=0.01,
        )
        audio = pcm(1.0)
        events: list[SpeechEvent] = []
        stream = stt.stream(conn_options=APIConnectOptions(max_retry=0, timeout=5.0))
        async with stream:
            # Up to the final's place on the audio clock (0.8 s), then the rest once it came.
            for frame in frames_10ms(audio[: int(0.8 * RATE) * 2]):
                stream.push_frame(AudioFrame(frame, sample_rate=RATE, num_channels=1))
            iterator = aiter(stream)
            await events_until(iterator, FINAL, events)
            for frame in frames_10ms(audio[int(0.8 * RATE) * 2 :]):
                stream.push_frame(AudioFrame(frame, sample_rate=RATE, num_channels=1))
            stream.end_input()
            events.extend([e async for e in iterator])
        await stt.aclose()

    assert types_of(events) == [START, INTERIM, USAGE, FINAL, END]
    interim, usage, final = events[1], events[2], events[3]
    assert interim.alternatives[0].text == "hello"
    assert usage.recognition_usage is not None
    assert usage.recognition_usage.audio_duration == pytest.approx(0.8, abs=1e-9)
    data = final.alternatives[0]
    assert data.text == "hello world"
    assert data.confidence == pytest.approx(0.97)
    assert data.end_time - data.start_time == pytest.approx(0.8)
    assert [w.text for w in data.words or []] == ["hello", "world"]
    assert final.request_id.startswith("stt_req_")


# -- upstream livekit-agents 1.8.9 -------------------------------------------------------------


@pytest.mark.parametrize("base_path", ["", "/v1"])
async def test_upstream_client_gets_the_captured_events(base_path: str) -> None:
    from livekit import rtc
    from livekit.agents import APIConnectOptions as UpstreamOptions
    from livekit.agents import inference
    from livekit.agents.stt import SpeechEventType as Upstream

    async with SimulatorServer(scenario(HELLO_REPLY)) as sim, aiohttp.ClientSession() as http:
        stt = inference.STT(
            model=MODEL,
            language="en",
            base_url=sim.base_url + base_path,
            api_key=sim.api_key,
            api_secret=sim.api_secret,
            http_session=http,
        )
        audio = pcm(1.0)
        events: list[Any] = []
        stream = stt.stream(conn_options=UpstreamOptions(max_retry=0, timeout=5.0))

        def push(data: bytes) -> None:
            for frame in frames_10ms(data):
                stream.push_frame(
                    rtc.AudioFrame(
                        frame, sample_rate=RATE, num_channels=1, samples_per_channel=len(frame) // 2
                    )
                )

        push(audio[: int(0.8 * RATE) * 2])
        iterator = aiter(stream)
        await asyncio.wait_for(events_until(iterator, Upstream.FINAL_TRANSCRIPT, events), 5.0)
        push(audio[int(0.8 * RATE) * 2 :])
        stream.end_input()

        async def rest() -> None:
            events.extend([e async for e in iterator])

        await asyncio.wait_for(rest(), 5.0)
        await stream.aclose()
        await stt.aclose()

        journal = sim.journal.entries()

    kinds = [e.type for e in events]
    assert kinds == [
        Upstream.START_OF_SPEECH,
        Upstream.INTERIM_TRANSCRIPT,
        Upstream.RECOGNITION_USAGE,
        Upstream.FINAL_TRANSCRIPT,
        Upstream.END_OF_SPEECH,
    ]
    assert events[1].alternatives[0].text == "hello"
    assert events[2].recognition_usage.audio_duration == pytest.approx(0.8, abs=1e-9)
    final = events[3].alternatives[0]
    assert final.text == "hello world"
    assert final.confidence == pytest.approx(0.97)
    assert final.language == "en"
    assert [w.text if hasattr(w, "text") else str(w) for w in final.words or []] == [
        "hello",
        "world",
    ]
    # Upstream sent all of its second (20 frames of 50 ms), then the finalize; the simulator
    # answered the finalize and closed with 1000 itself: upstream never had to send
    # session.close (STT-S-2).
    received = [
        e["data"] for e in journal if e.get("direction") == "in" and e["kind"] == "ws_message"
    ]
    audio_frames = [d for d in received if isinstance(d, dict) and d.get("type") == "input_audio"]
    assert sum(d["samples"] for d in audio_frames) == RATE
    assert received[-1] == {"type": "session.finalize"}
    closes = [e for e in journal if e["kind"] == "ws_close"]
    assert [(c["direction"], c["data"]["code"]) for c in closes] == [("out", 1000)]


# -- the audio clock ---------------------------------------------------------------------------


async def test_messages_are_due_by_the_audio_received_not_by_wall_time() -> None:
    reply = {
        "interim_interval": 0.25,
        "start_of_speech": True,
        "segments": [
            {"text": "one two three four", "start": 0.1, "duration": 1.0},
            {"text": "", "start": 1.2, "duration": 0.3},
        ],
    }
    async with (
        SimulatorServer(scenario(reply)) as sim,
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{sim.base_url}/stt?model={MODEL}", headers=bearer(sim)) as ws,
    ):
        await ws.send_str(encode_message(session_create(sample_rate=RATE, model=MODEL)))
        for frame in frames_10ms(pcm(2.0)):
            # Each 10 ms frame is its own input_audio: the finest audio clock a client gives.
            await ws.send_str(encode_message(InputAudio.from_pcm(frame)))
        await ws.send_str(encode_message(InputAudio.from_pcm(b"")))
        await ws.send_str('{"type": "session.finalize"}')
        received = [json.loads(m.data) async for m in ws if m.type is aiohttp.WSMsgType.TEXT]
        assert ws.close_code == 1000
        journal = sim.journal.entries()

    assert [m["type"] for m in received] == [
        "session.created",
        "start_of_speech",
        "interim_transcript",  # 0.35 s: one of four words
        "interim_transcript",  # 0.60 s: two
        "interim_transcript",  # 0.85 s: three
        "final_transcript",  # 1.10 s
        "start_of_speech",  # 1.20 s
        "final_transcript",  # 1.50 s: the empty final
        "session.finalized",
    ]
    assert [m.get("transcript") for m in received if m["type"] == "interim_transcript"] == [
        "one",
        "one two",
        "one two three",
    ]
    assert received[7]["transcript"] == ""
    # Each message went out right after the audio frame that brought the clock to its place.
    samples = 0
    due_at = {1: 0.1, 2: 0.35, 3: 0.6, 4: 0.85, 5: 1.1, 6: 1.2, 7: 1.5}
    out_index = 0
    for entry in journal:
        if entry["kind"] != "ws_message":
            continue
        if entry["direction"] == "in" and entry["data"].get("type") == "input_audio":
            samples += entry["data"]["samples"]
        elif entry["direction"] == "out":
            if out_index in due_at:
                position = round(due_at[out_index] * RATE)
                assert position <= samples < position + RATE // 100, (out_index, samples)
            out_index += 1


async def test_finalize_sends_the_pending_final_and_notes_unreached_segments() -> None:
    reply = {
        "interim_interval": None,
        "segments": [
            {"text": "long one", "start": 0.5, "duration": 5.0},
            {"text": "never", "start": 9.0, "duration": 1.0},
        ],
    }
    async with SimulatorServer(scenario(reply)) as sim:
        stt = STT(MODEL, base_url=sim.base_url, api_key=sim.api_key, api_secret=sim.api_secret)
        stream = stt.stream()
        async with stream:
            for frame in frames_10ms(pcm(1.0)):
                stream.push_frame(AudioFrame(frame, sample_rate=RATE, num_channels=1))
            stream.end_input()
            events = [e async for e in stream]
        await stt.aclose()
        notes = [e for e in sim.journal.entries() if e["kind"] == "unreached_segments"]
    assert [e.alternatives[0].text for e in events if e.type is FINAL] == ["long one"]
    assert types_of(events)[-2:] == [FINAL, END]
    assert notes[0]["data"]["first"] == 1 and notes[0]["data"]["count"] == 1


# -- the session's judgement of client frames (STT-S-1, SRV-1, SRV-3) ---------------------------


async def open_ws(
    sim: SimulatorServer, http: aiohttp.ClientSession, path: str = "/stt"
) -> aiohttp.ClientWebSocketResponse:
    return await http.ws_connect(f"{sim.base_url}{path}?model={MODEL}", headers=bearer(sim))


async def next_json(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await ws.receive(timeout=5.0)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    return json.loads(message.data)  # type: ignore[no-any-return]


async def test_bad_and_out_of_order_messages_get_an_error_and_the_socket_stays_usable() -> None:
    async with (
        SimulatorServer(scenario({"segments": []})) as sim,
        aiohttp.ClientSession() as http,
    ):
        ws = await open_ws(sim, http)
        for bad in (
            "not json",
            "[1, 2]",
            '{"type": "no.such.type"}',
            encode_message(InputAudio.from_pcm(b"\x00\x00")),  # before session.create
            '{"type": "session.finalize"}',  # before session.create
        ):
            await ws.send_str(bad)
            error = await next_json(ws)
            assert error["type"] == "error" and error["code"] == 400, (bad, error)
            assert error["message"]
        await ws.send_str(encode_message(session_create(sample_rate=RATE)))
        assert (await next_json(ws))["type"] == "session.created"
        for bad in (
            encode_message(session_create(sample_rate=RATE)),  # a second session.create
            encode_message(InputAudio.from_pcm(b"\x00" * 3)),  # not whole samples
            encode_message(InputAudio.from_pcm(b"\x00" * 2 * 801)),  # longer than 50 ms
            '{"type": "input_audio", "audio": "***"}',  # not base64
        ):
            await ws.send_str(bad)
            error = await next_json(ws)
            assert error["type"] == "error" and error["code"] == 400, (bad, error)
        await ws.send_str('{"type": "session.finalize"}')
        assert (await next_json(ws))["type"] == "session.finalized"
        assert (await ws.receive(timeout=5.0)).type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 1000
        await ws.close()
        refused = [
            e["data"]
            for e in sim.journal.entries()
            if e.get("direction") == "in" and isinstance(e["data"], dict) and "refused" in e["data"]
        ]
    assert len(refused) == 9
    assert all(len(r["head"]) <= 200 for r in refused)


async def test_a_binary_frame_is_closed_with_1003() -> None:
    async with (
        SimulatorServer(scenario({"segments": []})) as sim,
        aiohttp.ClientSession() as http,
    ):
        ws = await open_ws(sim, http)
        await ws.send_str(encode_message(session_create(sample_rate=RATE)))
        assert (await next_json(ws))["type"] == "session.created"
        await ws.send_bytes(b"\x00\x01")
        assert (await ws.receive(timeout=5.0)).type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == CLOSE_UNSUPPORTED_DATA
        await ws.close()


async def test_an_idle_session_is_closed() -> None:
    limits = Limits(idle_timeout=0.2)
    async with (
        SimulatorServer(scenario({"segments": []}), limits=limits) as sim,
        aiohttp.ClientSession() as http,
    ):
        ws = await open_ws(sim, http)
        await ws.send_str(encode_message(session_create(sample_rate=RATE)))
        assert (await next_json(ws))["type"] == "session.created"
        assert (await ws.receive(timeout=5.0)).type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == CLOSE_IDLE
        await ws.close()
        assert any(e["kind"] == "idle" for e in sim.journal.entries())


async def test_a_message_over_the_size_limit_is_closed_with_1009() -> None:
    limits = Limits(max_body_bytes=4096)
    async with (
        SimulatorServer(scenario({"segments": []}), limits=limits) as sim,
        aiohttp.ClientSession() as http,
    ):
        ws = await open_ws(sim, http)
        await ws.send_str(encode_message(session_create(sample_rate=RATE)))
        assert (await next_json(ws))["type"] == "session.created"
        await ws.send_str('{"type": "input_audio", "audio": "' + "A" * 8192 + '"}')
        assert (await ws.receive(timeout=5.0)).type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 1009
        await ws.close()


async def test_a_misbehaving_session_does_not_disturb_another() -> None:
    # SRV-2: one client's binary frame closes its own socket; the other session, opened
    # before and finished after, plays its whole script.
    async with (
        SimulatorServer(scenario(HELLO_REPLY)) as sim,
        aiohttp.ClientSession() as http,
    ):
        good = await open_ws(sim, http)
        bad = await open_ws(sim, http)
        for ws in (good, bad):
            await ws.send_str(encode_message(session_create(sample_rate=RATE)))
            assert (await next_json(ws))["type"] == "session.created"
        audio = pcm(1.0)
        for at in range(0, len(audio) // 2, 1600):
            await good.send_str(encode_message(InputAudio.from_pcm(audio[at : at + 1600])))
        await bad.send_bytes(b"\xff")
        assert (await bad.receive(timeout=5.0)).type is aiohttp.WSMsgType.CLOSE
        assert bad.close_code == CLOSE_UNSUPPORTED_DATA
        for at in range(len(audio) // 2, len(audio), 1600):
            await good.send_str(encode_message(InputAudio.from_pcm(audio[at : at + 1600])))
        await good.send_str('{"type": "session.finalize"}')
        types = [json.loads(m.data)["type"] async for m in good]
        assert types == [
            "interim_transcript",
            "final_transcript",
            "session.finalized",
        ]
        assert good.close_code == 1000
        await bad.close()


async def test_session_update_is_accepted_and_journaled() -> None:
    async with (
        SimulatorServer(scenario({"segments": []})) as sim,
        aiohttp.ClientSession() as http,
    ):
        ws = await open_ws(sim, http)
        await ws.send_str(encode_message(session_create(sample_rate=RATE, language="en")))
        assert (await next_json(ws))["type"] == "session.created"
        await ws.send_str('{"type": "session.update", "settings": {"language": "fr"}}')
        await ws.send_str('{"type": "session.finalize"}')
        # No error in between: the update was taken.
        assert (await next_json(ws))["type"] == "session.finalized"
        await ws.close()
        notes = [e["data"] for e in sim.journal.entries() if e["kind"] == "session_update"]
    assert notes == [{"language": "fr"}]


async def test_session_close_from_the_client_ends_it_with_1000() -> None:
    async with (
        SimulatorServer(scenario({"segments": []})) as sim,
        aiohttp.ClientSession() as http,
    ):
        ws = await open_ws(sim, http, "/v1/stt")
        await ws.send_str(encode_message(session_create(sample_rate=RATE)))
        assert (await next_json(ws))["type"] == "session.created"
        await ws.send_str('{"type": "session.close"}')
        assert (await ws.receive(timeout=5.0)).type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 1000
        await ws.close()


async def test_after_finalize_session_closed_comes_before_the_close() -> None:
    async with (
        SimulatorServer(scenario({"after_finalize": "session_closed"})) as sim,
        aiohttp.ClientSession() as http,
    ):
        ws = await open_ws(sim, http)
        await ws.send_str(encode_message(session_create(sample_rate=RATE)))
        assert (await next_json(ws))["type"] == "session.created"
        await ws.send_str('{"type": "session.finalize"}')
        assert (await next_json(ws))["type"] == "session.finalized"
        assert (await next_json(ws))["type"] == "session.closed"
        assert (await ws.receive(timeout=5.0)).type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 1000


async def test_after_finalize_stay_open_waits_for_the_clients_close() -> None:
    async with (
        SimulatorServer(scenario({"after_finalize": "stay_open"})) as sim,
        aiohttp.ClientSession() as http,
    ):
        ws = await open_ws(sim, http)
        await ws.send_str(encode_message(session_create(sample_rate=RATE)))
        assert (await next_json(ws))["type"] == "session.created"
        await ws.send_str('{"type": "session.finalize"}')
        assert (await next_json(ws))["type"] == "session.finalized"
        # Still open: a bad message after the finalized is answered, not met with a close.
        await ws.send_str("{")
        answer = await next_json(ws)
        assert (answer["type"], answer["code"]) == ("error", 400)
        await ws.send_str('{"type": "session.close"}')
        assert (await ws.receive(timeout=5.0)).type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 1000
        closes = [e["data"]["code"] for e in sim.journal.entries() if e["kind"] == "ws_close"]
    assert closes == [1000]


# -- admission before the upgrade (AUTH-4) ------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-jwt", "Basic abc"],
)
async def test_a_bad_token_is_refused_with_401_json_before_the_upgrade(
    authorization: str | None,
) -> None:
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode(),
    }
    if authorization is not None:
        headers["Authorization"] = authorization
    async with SimulatorServer() as sim, aiohttp.ClientSession() as http:
        for path in ("/stt", "/v1/stt"):
            async with http.get(f"{sim.base_url}{path}?model={MODEL}", headers=headers) as r:
                assert r.status == 401
                body = await r.json()
            assert body["error"]["type"] == "authentication_error"
            assert body["error"]["code"] == 401


async def test_a_plain_get_is_refused_with_400_json() -> None:
    async with (
        SimulatorServer() as sim,
        aiohttp.ClientSession() as http,
        http.get(f"{sim.base_url}/stt", headers=bearer(sim)) as r,
    ):
        assert r.status == 400
        assert "WebSocket" in (await r.json())["error"]["message"]


async def test_an_unmatched_session_is_refused_with_404_before_the_upgrade() -> None:
    strict = parse_scenario(
        {
            "name": "strict",
            "rules": [{"match": {"endpoint": "stt", "model": "inworld/.*"}, "reply": {}}],
        }
    )
    async with SimulatorServer(strict) as sim, aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await open_ws(sim, http)
        assert info.value.status == 404
        ws = await http.ws_connect(
            f"{sim.base_url}/stt?model=inworld/inworld-stt-1", headers=bearer(sim)
        )
        await ws.send_str(encode_message(session_create(sample_rate=RATE)))
        assert (await next_json(ws))["type"] == "session.created"
        await ws.close()


async def test_a_status_fault_answers_before_the_upgrade_and_byte_split_is_refused() -> None:
    faulty = parse_scenario(
        {
            "name": "faulty",
            "rules": [
                {
                    "match": {"endpoint": "stt", "model": "a/status"},
                    "faults": [{"kind": "status", "code": 503, "retry_after": 2}],
                },
                {
                    "match": {"endpoint": "stt"},
                    "faults": [{"kind": "byte_split", "sizes": [1]}],
                },
            ],
        }
    )
    async with SimulatorServer(faulty) as sim, aiohttp.ClientSession() as http:
        upgrade = {
            **bearer(sim),
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode(),
        }
        async with http.get(f"{sim.base_url}/stt?model=a/status", headers=upgrade) as r:
            assert r.status == 503
            assert r.headers["Retry-After"] == "2"
            assert (await r.json())["error"]["code"] == 503
        async with http.get(f"{sim.base_url}/stt?model=b", headers=upgrade) as r:
            assert r.status == 501
            assert "byte_split" in (await r.json())["error"]["message"]


# -- message-level faults ----------------------------------------------------------------------

# Events of this script for 1 s of audio: 0 session.created, 1 start_of_speech, 2 interim
# "a", 3 final "a b", 4 start_of_speech, 5 final "c", 6 session.finalized.
FAULT_REPLY: dict[str, Any] = {
    "interim_interval": 0.25,
    "start_of_speech": True,
    "segments": [
        {"text": "a b", "start": 0.0, "duration": 0.4},
        {"text": "c", "start": 0.5, "duration": 0.2},
    ],
}


async def faulted_session(
    *faults: dict[str, Any], time_scale: float = 1.0
) -> tuple[list[str], int | None, SimulatorServer]:
    """The text frames a raw client gets for 1 s of audio under ``faults``, and the close."""
    sim_scenario = parse_scenario(
        {
            "name": "faulted",
            "time_scale": time_scale,
            "rules": [{"match": {"endpoint": "stt"}, "reply": FAULT_REPLY, "faults": list(faults)}],
        }
    )
    async with SimulatorServer(sim_scenario) as sim, aiohttp.ClientSession() as http:
        ws = await open_ws(sim, http)
        try:
            await ws.send_str(encode_message(session_create(sample_rate=RATE)))
            audio = pcm(1.0)
            for at in range(0, len(audio), 1600):
                await ws.send_str(encode_message(InputAudio.from_pcm(audio[at : at + 1600])))
            await ws.send_str('{"type": "session.finalize"}')
        except ConnectionError:
            pass  # a reset fault may cut the sending short
        texts = []
        async for message in ws:
            if message.type is aiohttp.WSMsgType.TEXT:
                texts.append(message.data)
        await ws.close()
        return texts, ws.close_code, sim


def kinds(texts: list[str]) -> list[str]:
    out = []
    for text in texts:
        try:
            out.append(json.loads(text)["type"])
        except ValueError:
            out.append("<malformed>")
    return out


CLEAN = [
    "session.created",
    "start_of_speech",
    "interim_transcript",
    "final_transcript",
    "start_of_speech",
    "final_transcript",
    "session.finalized",
]


async def test_without_faults_the_fault_script_plays_its_seven_events() -> None:
    texts, code, _ = await faulted_session()
    assert kinds(texts) == CLEAN and code == 1000


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"kind": "drop", "at_event": 3}, [*CLEAN[:3], *CLEAN[4:]]),
        ({"kind": "duplicate", "at_event": 5}, [*CLEAN[:6], CLEAN[5], CLEAN[6]]),
        ({"kind": "reorder", "at_event": 5}, [*CLEAN[:5], CLEAN[6], CLEAN[5]]),
        ({"kind": "malformed", "at_event": 2}, [*CLEAN[:2], "<malformed>", *CLEAN[3:]]),
        ({"kind": "error_event", "at_event": 3, "code": 503}, [*CLEAN[:3], "error", *CLEAN[3:]]),
        ({"kind": "delay", "at_event": 1, "seconds": 5}, CLEAN),
    ],
)
async def test_a_message_fault_acts_on_its_event(
    fault: dict[str, Any], expected: list[str]
) -> None:
    texts, code, _ = await faulted_session(fault, time_scale=0.001)
    assert kinds(texts) == expected
    assert code == 1000
    if fault["kind"] == "error_event":
        assert json.loads(texts[3])["code"] == 503


async def test_a_binary_frame_fault_sends_one_before_its_event() -> None:
    faulty = parse_scenario(
        {
            "name": "binary",
            "rules": [
                {
                    "match": {"endpoint": "stt"},
                    "reply": FAULT_REPLY,
                    "faults": [{"kind": "binary_frame", "at_event": 1, "hex": "ff00"}],
                }
            ],
        }
    )
    async with SimulatorServer(faulty) as sim, aiohttp.ClientSession() as http:
        ws = await open_ws(sim, http)
        await ws.send_str(encode_message(session_create(sample_rate=RATE)))
        assert (await next_json(ws))["type"] == "session.created"
        await ws.send_str(encode_message(InputAudio.from_pcm(pcm(0.05))))
        binary = await ws.receive(timeout=5.0)
        assert binary.type is aiohttp.WSMsgType.BINARY and binary.data == b"\xff\x00"
        assert (await next_json(ws))["type"] == "start_of_speech"
        await ws.close()
        shown = [e["data"] for e in sim.journal.entries() if e.get("direction") == "out"]
    assert {"binary": True, "length": 2} in shown


async def test_the_reference_client_fails_on_a_binary_frame() -> None:
    # CLI-ROB-1: a binary frame where text is expected ends the attempt with an APIError.
    faulty = scenario(FAULT_REPLY, faults=[{"kind": "binary_frame", "at_event": 0}])
    async with SimulatorServer(faulty) as sim:
        stt = STT(MODEL, base_url=sim.base_url, api_key=sim.api_key, api_secret=sim.api_secret)
        stream = stt.stream(conn_options=APIConnectOptions(max_retry=0, timeout=5.0))
        async with stream:
            stream.push_frame(AudioFrame(pcm(0.1), sample_rate=RATE, num_channels=1))
            stream.end_input()
            with pytest.raises(APIError):
                async for _ in stream:
                    pass
        await stt.aclose()


async def test_a_ws_close_fault_closes_with_its_code_before_the_finalize() -> None:
    texts, code, sim = await faulted_session({"kind": "ws_close", "at_event": 3, "code": 4001})
    assert kinds(texts) == CLEAN[:4]
    assert code == 4001
    assert any(e["kind"] == "fault" for e in sim.journal.entries())


async def test_a_disconnect_reset_fault_cuts_the_connection() -> None:
    texts, code, _ = await faulted_session({"kind": "disconnect", "at_event": 1, "mode": "reset"})
    assert kinds(texts) == CLEAN[:2]
    assert code != 1000


async def test_the_reference_client_retries_a_close_before_finalize() -> None:
    retry = parse_scenario(
        {
            "name": "retry",
            "rules": [
                {
                    "match": {"endpoint": "stt"},
                    "reply": {
                        "interim_interval": None,
                        "segments": [{"text": "again", "start": 0, "duration": 0.2}],
                    },
                    "faults": [{"kind": "ws_close", "at_event": 0, "code": 1011, "attempt": 1}],
                }
            ],
        }
    )
    async with SimulatorServer(retry) as sim:
        stt = STT(
            MODEL,
            base_url=sim.base_url,
            api_key=sim.api_key,
            api_secret=sim.api_secret,
            time_scale=0.01,
        )
        failed = asyncio.Event()
        stt.on("error", lambda _: failed.set())
        stream = stt.stream(
            conn_options=APIConnectOptions(max_retry=1, retry_interval=0.1, timeout=5.0)
        )
        async with stream:
            iterator = aiter(stream)
            await asyncio.wait_for(failed.wait(), 5.0)
            # The first session was closed right after session.created; audio pushed now
            # goes to the second one, the client's retry.
            for frame in frames_10ms(pcm(0.3)):
                stream.push_frame(AudioFrame(frame, sample_rate=RATE, num_channels=1))
            stream.end_input()
            events = [e async for e in iterator]
        await stt.aclose()
        rules = [e["data"] for e in sim.journal.entries() if e["kind"] == "rule"]
    assert [r["attempt"] for r in rules] == [1, 2]
    assert [e.alternatives[0].text for e in events if e.type is FINAL] == ["again"]


async def test_timing_on_an_stt_rule_is_refused_at_the_upgrade() -> None:
    timed = scenario({"segments": []}, timing={"ttft": 1.0})
    async with SimulatorServer(timed) as sim, aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await open_ws(sim, http)
        assert info.value.status == 501


# -- the journal -------------------------------------------------------------------------------


async def test_the_journal_summarises_audio_and_records_both_directions() -> None:
    audio = pcm(0.1)
    async with (
        SimulatorServer(
            scenario({"segments": [{"text": "hi", "start": 0, "duration": 0.1}]})
        ) as sim,
        aiohttp.ClientSession() as http,
    ):
        ws = await open_ws(sim, http)
        await ws.send_str(encode_message(session_create(sample_rate=RATE)))
        for piece in (audio[:1600], audio[1600:]):
            await ws.send_str(encode_message(InputAudio.from_pcm(piece)))
        await ws.send_str('{"type": "session.finalize"}')
        async for _ in ws:
            pass
        entries = sim.journal.entries()
    text = json.dumps(entries)
    assert base64.b64encode(audio[:1600]).decode()[:40] not in text
    frames = [e for e in entries if e["kind"] == "ws_message"]
    audio_in = [e["data"] for e in frames if e.get("direction") == "in" and "samples" in e["data"]]
    assert audio_in == [
        {
            "type": "input_audio",
            "samples": 800,
            "duration": 0.05,
            "crc32": f"{zlib.crc32(piece):08x}",
        }
        for piece in (audio[:1600], audio[1600:])
    ]
    created = next(e for e in frames if e.get("direction") == "in")
    assert created["data"]["type"] == "session.create"
    out = [json.loads(e["data"])["type"] for e in frames if e.get("direction") == "out"]
    # The default interim interval (0.1 s) reaches the 0.1 s segment's end: no interim.
    assert out == ["session.created", "final_transcript", "session.finalized"]
    assert [e["event"] for e in frames if e.get("direction") == "out"] == list(range(len(out)))
    request = next(e for e in entries if e["kind"] == "http_request")
    assert request["data"]["path"] == f"/stt?model={MODEL}"
    assert "token" in request["data"]


# -- scripts refused at load -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "path", "problem"),
    [
        (
            {
                "segments": [
                    {"text": "a", "start": 0, "duration": 1},
                    {"text": "b", "start": 0.5, "duration": 1},
                ]
            },
            "rules[0].reply",
            "segments[1] starts at 0.5 s, before segments[0] ends at 1 s",
        ),
        (
            {"segments": [{"text": "a", "start": -1, "duration": 1}]},
            "rules[0].reply.segments[0].start",
            "greater than or equal to 0",
        ),
        (
            {
                "segments": [
                    {
                        "text": "a b",
                        "start": 0,
                        "duration": 1,
                        "words": [{"word": "a", "start": 0, "end": 1.5}],
                    }
                ]
            },
            "rules[0].reply.segments[0]",
            "outside its segment",
        ),
        ({"interim_interval": 0.001}, "rules[0].reply.interim_interval", "0.01"),
        (
            {"segments": [{"text": "a", "start": 0, "duratoin": 1}]},
            "rules[0].reply.segments[0]",
            "",
        ),
    ],
)
def test_a_script_that_cannot_be_honoured_is_refused_with_its_path(
    reply: dict[str, Any], path: str, problem: str
) -> None:
    with pytest.raises(ScenarioError) as info:
        scenario(reply)
    problems = info.value.problems
    assert any(p.startswith(path) and problem in m for p, m in problems), problems


def test_the_reply_model_is_registered_for_the_stt_endpoint() -> None:
    rule = scenario(HELLO_REPLY).rules[0]
    assert isinstance(rule.reply, STTReply)
    assert rule.reply.segments[0].words is not None


async def test_reference_client_speech_stream_type() -> None:
    # SpeechStream is what STT.stream returns: the helpers above rely on it.
    async with SimulatorServer(scenario({"segments": []})) as sim:
        stt = STT(MODEL, base_url=sim.base_url, api_key=sim.api_key, api_secret=sim.api_secret)
        stream = stt.stream()
        assert isinstance(stream, SpeechStream)
        async with stream:
            stream.end_input()
            assert [e async for e in stream] == []
        await stt.aclose()


# -- the guide's example (docs/scenarios.md) ---------------------------------------------------

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"


def guide_example(marker: str) -> str:
    """The fenced YAML block after ``<!-- marker -->`` in docs/scenarios.md."""
    text = GUIDE.read_text(encoding="utf-8")
    found = re.search(rf"<!-- {marker} -->\n```yaml\n(.*?)\n```", text, re.DOTALL)
    assert found is not None, marker
    return found.group(1) + "\n"


async def test_the_guides_stt_example_plays_as_described(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    yaml = pytest.importorskip("yaml")
    text = guide_example("stt")
    schema = json.loads((GUIDE.parent / "scenario.schema.json").read_text(encoding="utf-8"))
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(yaml.safe_load(text))) == []
    path = tmp_path / "stt-hello.yaml"
    path.write_text(text, encoding="utf-8")
    async with SimulatorServer(load_scenario(path)) as sim:
        stt = STT(
            MODEL,
            language="en",
            base_url=sim.base_url,
            api_key=sim.api_key,
            api_secret=sim.api_secret,
            time_scale=0.01,
        )
        stream = stt.stream()
        async with stream:
            for frame in frames_10ms(pcm(2.0)):
                stream.push_frame(AudioFrame(frame, sample_rate=RATE, num_channels=1))
            stream.end_input()
            events = [e async for e in stream]
        await stt.aclose()
        sent = out_messages(sim)
    assert [m["type"] for m in sent] == [
        "session.created",
        "start_of_speech",
        "interim_transcript",
        "final_transcript",
        "start_of_speech",
        "final_transcript",
        "session.finalized",
    ]
    assert sent[2]["transcript"] == "hello" and sent[2]["duration"] == pytest.approx(0.4)
    assert [w["word"] for w in sent[3]["words"]] == ["hello", "world"]
    assert sent[5]["transcript"] == "" and sent[5]["start"] == 1.5
    assert types_of(events) == [START, INTERIM, USAGE, FINAL, END, START, USAGE, FINAL, END]
    texts = [e.alternatives[0].text for e in events if e.type in (INTERIM, FINAL)]
    assert texts == ["hello", "hello world", ""]


# -- without a scenario: what it hears, through the tone code ----------------------------------


def heard_audio(rate: int) -> bytes:
    """0.3 s of silence, "hello world" in the tone code, 0.5 s of silence, 1.2 s of speech
    that is no tone code (two sines), 0.5 s of silence."""
    from voicewire.reference.tone_code import encode_tone

    def silence(seconds: float) -> bytes:
        return bytes(2 * round(seconds * rate))

    t = np.arange(round(1.2 * rate)) / rate
    burst = np.sin(2 * np.pi * 220 * t) * 6000 + np.sin(2 * np.pi * 1234 * t) * 3000
    return (
        silence(0.3)
        + encode_tone("hello world", sample_rate=rate).to_bytes()
        + silence(0.5)
        + burst.astype("<i2").tobytes()
        + silence(0.5)
    )


@pytest.mark.parametrize("push_rate", [16000, 48000])
async def test_without_a_scenario_the_reference_client_gets_what_it_said(push_rate: int) -> None:
    async with SimulatorServer() as sim:
        stt = STT(MODEL, base_url=sim.base_url, api_key=sim.api_key, api_secret=sim.api_secret)
        stream = stt.stream()
        async with stream:
            # The client resamples 48 kHz to the session's 16 kHz: the code survives it.
            for frame in frames_10ms(heard_audio(push_rate), push_rate):
                stream.push_frame(AudioFrame(frame, sample_rate=push_rate, num_channels=1))
            stream.end_input()
            events = [e async for e in stream]
        await stt.aclose()
        journal = sim.journal.entries()
    assert types_of(events) == [START, USAGE, FINAL, END, START, USAGE, FINAL, END]
    finals = [e.alternatives[0] for e in events if e.type is FINAL]
    assert finals[0].text == "hello world"
    assert finals[0].start_time == pytest.approx(0.3, abs=0.01)
    assert [w.text for w in finals[0].words or []] == ["hello", "world"]
    assert finals[1].text == "[speech 1.20 s]"
    assert finals[1].end_time - finals[1].start_time == pytest.approx(1.2, abs=0.011)
    # Both finals went out as the audio completed them, before the client's finalize.
    in_types = [
        (e.get("direction"), e["data"].get("type") if e.get("direction") == "in" else None)
        for e in journal
        if e["kind"] == "ws_message"
    ]
    finalize_at = in_types.index(("in", "session.finalize"))
    sent = [
        json.loads(e["data"])
        for e in journal
        if e.get("direction") == "out" and e["kind"] == "ws_message"
    ]
    assert [m["type"] for m in sent] == [
        "session.created",
        "final_transcript",
        "final_transcript",
        "session.finalized",
    ]
    out_positions = [i for i, (d, _) in enumerate(in_types) if d == "out"]
    assert out_positions[1] < finalize_at and out_positions[2] < finalize_at


async def test_without_a_scenario_upstream_gets_what_it_said() -> None:
    from livekit import rtc
    from livekit.agents import APIConnectOptions as UpstreamOptions
    from livekit.agents import inference
    from livekit.agents.stt import SpeechEventType as Upstream

    async with SimulatorServer() as sim, aiohttp.ClientSession() as http:
        stt = inference.STT(
            model=MODEL,
            language="en",
            base_url=sim.base_url + "/v1",
            api_key=sim.api_key,
            api_secret=sim.api_secret,
            http_session=http,
        )
        stream = stt.stream(conn_options=UpstreamOptions(max_retry=0, timeout=5.0))
        for frame in frames_10ms(heard_audio(RATE)):
            stream.push_frame(
                rtc.AudioFrame(
                    frame, sample_rate=RATE, num_channels=1, samples_per_channel=len(frame) // 2
                )
            )
        stream.end_input()

        async def collect() -> list[Any]:
            return [e async for e in stream]

        events = await asyncio.wait_for(collect(), 10.0)
        await stream.aclose()
        await stt.aclose()
    finals = [e.alternatives[0] for e in events if e.type == Upstream.FINAL_TRANSCRIPT]
    assert [f.text for f in finals] == ["hello world", "[speech 1.20 s]"]
    assert [e.type for e in events].count(Upstream.END_OF_SPEECH) == 2


async def test_a_rate_the_tone_code_cannot_hear_is_served_untranscribed() -> None:
    async with SimulatorServer() as sim, aiohttp.ClientSession() as http:
        ws = await open_ws(sim, http)
        await ws.send_str(encode_message(session_create(sample_rate=4000)))
        assert (await next_json(ws))["type"] == "session.created"
        await ws.send_str(encode_message(InputAudio.from_pcm(pcm(0.05, 4000))))
        await ws.send_str('{"type": "session.finalize"}')
        assert (await next_json(ws))["type"] == "session.finalized"
        await ws.close()
        notes = [e for e in sim.journal.entries() if e["kind"] == "not_transcribed"]
    assert "4000 Hz" in notes[0]["data"]["reason"]
