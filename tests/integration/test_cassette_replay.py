"""The cassette replayer (:class:`CassetteReplayServer`) on real loopback sockets: the reference
clients are recorded through the recording proxy against a simulator standing in for the
provider, then played against the replayer, for every endpoint: they get what they got when
recorded. Also: a body mismatch is answered 400 naming the difference, a WebSocket control
mismatch closes 1008 with the reason, Inworld contextIds chosen afresh are answered, and a
transcript recorded after some audio is not sent before the live client sent that audio.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from recorded_clients import (
    RATE,
    Drive,
    T,
    inworld_stream_drive,
    inworld_stt_drive,
    inworld_synthesize_drive,
    inworld_voices_drive,
    llm_drive,
    recorded_scenario,
    stt_drive,
    tts_drive,
)
from voicewire.simulators import SimulatorServer
from voicewire.simulators.recording.cassette import Cassette, CassetteWriter, load_cassette
from voicewire.simulators.recording.proxy import RecordingProxy
from voicewire.simulators.recording.replay import CassetteReplayServer


@pytest.fixture
async def sim(start_simulator: Callable[..., Awaitable[SimulatorServer]]) -> SimulatorServer:
    return await start_simulator(recorded_scenario())


async def record(sim: SimulatorServer, out: Path, drive: Drive[T]) -> tuple[T, Cassette]:
    """What the client got through the recording proxy, and the cassette."""
    async with RecordingProxy(sim.base_url, out) as proxy:
        got = await drive(proxy.base_url)
    return got, load_cassette(out)


async def replay(cassette: Cassette, drive: Drive[T], time_scale: float = 0.0) -> T:
    """What the client gets from the replayer; no mismatch on the way."""
    async with CassetteReplayServer(cassette, time_scale=time_scale) as server:
        got = await drive(server.base_url)
    assert server.mismatches == []
    return got


@pytest.mark.parametrize(
    "drive",
    [
        pytest.param(llm_drive(), id="llm"),
        pytest.param(stt_drive, id="stt"),
        pytest.param(tts_drive, id="tts"),
        pytest.param(inworld_synthesize_drive, id="inworld.synthesize"),
        pytest.param(inworld_voices_drive, id="inworld.voices"),
        pytest.param(inworld_stream_drive(), id="inworld.contexts"),
        pytest.param(inworld_stt_drive, id="inworld.transcribe"),
    ],
)
async def test_a_reference_client_gets_what_it_got_when_recorded(
    sim: SimulatorServer, tmp_path: Path, drive: Drive[Any]
) -> None:
    recorded, cassette = await record(sim, tmp_path / "c.jsonl", drive)
    assert recorded
    assert await replay(cassette, drive) == recorded


@pytest.mark.parametrize("drive", [llm_drive(), stt_drive], ids=["llm", "stt"])
async def test_the_recorded_timing_kept(
    sim: SimulatorServer, tmp_path: Path, drive: Drive[Any]
) -> None:
    recorded, cassette = await record(sim, tmp_path / "c.jsonl", drive)
    assert await replay(cassette, drive, time_scale=1.0) == recorded


async def test_a_differing_body_is_answered_400_naming_the_difference(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    _, cassette = await record(sim, tmp_path / "c.jsonl", llm_drive("count"))
    (exchange,) = cassette.of_endpoint("llm")
    body = json.loads(exchange.request.body or "")
    last = len(body["messages"]) - 1
    body["messages"][last]["content"] = "count again"
    async with (
        CassetteReplayServer(cassette, time_scale=0) as server,
        aiohttp.ClientSession() as http,
    ):
        url = server.base_url + "/v1/chat/completions"
        async with http.post(url, json=body, headers={"Authorization": "Bearer x"}) as got:
            assert got.status == 400
            error = (await got.json())["error"]
        async with http.post(server.base_url + "/v1/nowhere", data=b"{}") as unknown:
            assert unknown.status == 400
            unknown_error = (await unknown.json())["error"]
    assert error["type"] == "cassette_mismatch" and error["code"] == 400
    assert error["message"] == (
        f"request 1 to /v1/chat/completions differs from the cassette's exchange 0 "
        f'(line {exchange.line}): body.messages[{last}].content is "count again" here, '
        '"count" in the cassette'
    )
    assert unknown_error["message"] == (
        "no recorded exchange answers POST /v1/nowhere: the cassette holds llm (1 exchange)"
    )
    assert server.mismatches == [error["message"], unknown_error["message"]]


def _client_texts(cassette: Cassette, endpoint: str) -> tuple[str, list[str | bytes]]:
    (exchange,) = cassette.of_endpoint(endpoint)
    query = exchange.request.query
    return query, [exchange.payload(m) for m in exchange.messages("client")]


async def test_a_differing_control_message_closes_1008_with_the_reason(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    _, cassette = await record(sim, tmp_path / "c.jsonl", tts_drive)
    query, sent = _client_texts(cassette, "tts")
    second = json.loads(sent[1])
    assert second["type"] == "input_transcript"
    second["transcript"] = "goodbye"
    async with (
        CassetteReplayServer(cassette, time_scale=0) as server,
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{server.base_url}/v1/tts?{query}") as ws,
    ):
        await ws.send_str(str(sent[0]))
        await ws.send_str(json.dumps(second))
        _, code, reason = await until_closed(ws)
    (mismatch,) = server.mismatches
    assert code == 1008
    recorded = json.dumps(json.loads(sent[1])["transcript"])
    assert f'message.transcript is "goodbye" here, {recorded} in the cassette' in mismatch
    assert mismatch.startswith("session to /v1/tts differs from the cassette's exchange 0")
    assert "client control message 2" in mismatch
    assert len(reason.encode()) <= 123 and reason.endswith("...")
    assert mismatch.startswith(reason[:-3])


async def until_closed(ws: aiohttp.ClientWebSocketResponse) -> tuple[list[str | bytes], int, str]:
    """The messages a client receives until the server closes, the close code and reason."""
    received: list[str | bytes] = []
    while True:
        message = await ws.receive()
        if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
            received.append(message.data)
            continue
        if message.type is aiohttp.WSMsgType.CLOSE:
            return received, int(message.data), str(message.extra or "")
        return received, ws.close_code or 0, ""


async def test_inworld_context_ids_chosen_afresh_are_answered(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    _, cassette = await record(sim, tmp_path / "c.jsonl", inworld_stream_drive())
    (exchange,) = cassette.of_endpoint("inworld.contexts")
    sent = [str(exchange.payload(m)) for m in exchange.messages("client")]
    recorded_ids = {value["contextId"] for value in map(json.loads, sent) if "contextId" in value}
    assert recorded_ids
    fresh = {old: f"live-{n}" for n, old in enumerate(sorted(recorded_ids))}

    def live(text: str) -> str:
        for old, new in fresh.items():
            text = text.replace(json.dumps(old), json.dumps(new))
        return text

    async with (
        CassetteReplayServer(cassette, time_scale=0) as server,
        aiohttp.ClientSession() as http,
    ):
        url = f"{server.base_url.replace('http', 'ws', 1)}/tts/v1/voice:streamBidirectional"
        async with http.ws_connect(url, headers={"Authorization": "Basic x"}) as ws:
            for text in sent:
                await ws.send_str(live(text))
            answers = [json.loads(await ws.receive_str()) for _ in exchange.messages("server")]
    assert server.mismatches == []
    answered = {
        answer["result"]["contextId"]
        for answer in answers
        if "contextId" in answer.get("result", {})
    }
    assert answered and answered <= set(fresh.values())
    expected = [json.loads(live(str(exchange.payload(m)))) for m in exchange.messages("server")]
    assert answers == expected


async def test_a_transcript_waits_for_the_audio_it_followed(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    _, cassette = await record(sim, tmp_path / "c.jsonl", stt_drive)
    (exchange,) = cassette.of_endpoint("stt")
    final = next(m for m in exchange.messages("server") if "final" in str(exchange.payload(m)))
    assert final.audio > 0.5
    sent = [exchange.payload(m) for m in exchange.messages("client")]
    audio_each = [
        len(base64.b64decode(json.loads(text)["audio"])) / 2 / RATE
        if json.loads(text).get("type") == "input_audio"
        else 0.0
        for text in map(str, sent)
    ]
    url = f"/v1/stt?{exchange.request.query}"

    async def session(server: CassetteReplayServer, stop_short: bool) -> list[float]:
        """Sends the recorded client messages (all, or up to just short of the final's audio,
        then closes); the audio sent when each final arrived."""
        sent_audio = 0.0
        finals: list[float] = []
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(server.base_url.replace("http", "ws", 1) + url) as ws,
        ):
            done = asyncio.Event()

            async def receive() -> None:
                async for message in ws:
                    if message.type is aiohttp.WSMsgType.TEXT and "final" in message.data:
                        finals.append(sent_audio)
                done.set()

            reader = asyncio.create_task(receive())
            for text, seconds in zip(sent, audio_each, strict=True):
                if stop_short and sent_audio + seconds > final.audio - 0.05:
                    break
                await ws.send_str(str(text))
                sent_audio += seconds
                await asyncio.sleep(0)  # let the reader see what came so far
            if stop_short:
                await ws.close()
            await done.wait()
            await reader
        return finals

    async with CassetteReplayServer(cassette, time_scale=0) as server:
        assert await session(server, stop_short=True) == []
    async with CassetteReplayServer(cassette, time_scale=0) as server:
        finals = await session(server, stop_short=False)
    assert finals and all(at + 1e-6 >= final.audio for at in finals)
    assert server.mismatches == []


async def test_a_recording_cut_mid_body_is_cut_at_the_same_point(tmp_path: Path) -> None:
    writer = CassetteWriter(tmp_path / "cut.jsonl", protocols=["llm"])
    x = writer.open_exchange(
        {"protocol": "llm", "endpoint": "llm", "method": "POST",
         "path": "/v1/chat/completions", "body": "{}"}
    )  # fmt: skip
    writer.response(x, 200, "OK", {"content-type": "text/event-stream"})
    writer.body(x, "sse", b"data: {}\n\n")
    writer.end(x, "upstream_gone", "the upstream went away")
    writer.close()
    async with (
        CassetteReplayServer(load_cassette(tmp_path / "cut.jsonl"), time_scale=0) as server,
        aiohttp.ClientSession() as http,
        http.post(server.base_url + "/v1/chat/completions", data=b"{}") as got,
    ):
        assert got.status == 200
        assert got.headers["content-type"] == "text/event-stream"
        assert await got.content.readexactly(10) == b"data: {}\n\n"
        with pytest.raises(aiohttp.ClientPayloadError):
            await got.content.read()
