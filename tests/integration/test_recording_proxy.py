"""The recording proxy (:class:`RecordingProxy`) on real loopback sockets: the reference clients
go through it to a simulator standing in for the provider, for every endpoint. The client gets
what it gets directly, and the cassette holds the session as the endpoint frames it (SSE
events, NDJSON lines, one voices body, WebSocket messages both ways with their causal
position), with no secret in it. Also: re-signing LiveKit tokens, an upstream refusing, an
upstream that cannot be reached.

Each test runs its client directly against the simulator and through the proxy, and compares.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from recorded_clients import (
    ONCE,
    RATE,
    SPOKEN,
    Drive,
    T,
    audio_frames,
    inworld_stream_drive,
    inworld_stt_drive,
    inworld_synthesize_drive,
    inworld_voices_drive,
    llm_drive,
    recorded_scenario,
    stt_drive,
    tone_pcm,
    tts_drive,
)
from voicewire.reference.auth import InferenceCredentials
from voicewire.reference.errors import APIStatusError
from voicewire.reference.inworld.tts import InworldTTS
from voicewire.reference.stt import STT, SpeechEventType
from voicewire.reference.tone_code import decode_tone, tone_duration
from voicewire.simulators import SimulatorServer
from voicewire.simulators.core.credentials import DEFAULT_BASIC_KEY
from voicewire.simulators.recording.cassette import Cassette, RecordedExchange, load_cassette
from voicewire.simulators.recording.proxy import RecordingProxy


@pytest.fixture
async def sim(start_simulator: Callable[..., Awaitable[SimulatorServer]]) -> SimulatorServer:
    return await start_simulator(recorded_scenario())


@pytest.fixture
async def proxy(sim: SimulatorServer, tmp_path: Path) -> AsyncIterator[RecordingProxy]:
    async with RecordingProxy(sim.base_url, tmp_path / "session.jsonl") as running:
        yield running


async def direct_and_proxied(
    sim: SimulatorServer, proxy: RecordingProxy, drive: Drive[T]
) -> tuple[T, T, Cassette]:
    """What the client got directly and through the proxy, and the cassette (proxy stopped)."""
    direct = await drive(sim.base_url)
    proxied = await drive(proxy.base_url)
    await proxy.stop()
    return direct, proxied, load_cassette(proxy.out)


def only_exchange(cassette: Cassette, endpoint: str) -> RecordedExchange:
    (exchange,) = cassette.of_endpoint(endpoint)
    assert exchange.complete and exchange.end is not None
    return exchange


def assert_no_secrets(path: Path, sim: SimulatorServer) -> None:
    text = path.read_text()
    assert sim.api_secret not in text
    assert DEFAULT_BASIC_KEY not in text
    assert "eyJ" not in text  # no JWT (its header is base64 of '{"')


def assert_livekit_token(exchange: RecordedExchange, sim: SimulatorServer) -> None:
    token = exchange.request.token
    assert token is not None and token["claims"]["iss"] == sim.api_key
    assert token["claims"]["inference"] == {"perform": True}
    assert exchange.request.headers["authorization"] == "Bearer <redacted>"


def check_causality(exchange: RecordedExchange, total_audio: float) -> None:
    """Client messages count 0, 1, 2 ... and accumulate their audio; every server message
    follows what the client had sent by then."""
    client = exchange.messages("client")
    assert [m.after for m in client] == list(range(len(client)))
    assert client[0].audio == 0.0  # the setup message carries none
    assert client[-1].audio == pytest.approx(total_audio, abs=1e-6)
    sent_before = 0
    audio_before = 0.0
    for item in exchange.items:
        if item.type != "ws":
            continue
        if item.from_ == "client":
            sent_before, audio_before = item.after + 1, item.audio
        else:
            assert (item.after, item.audio) == (sent_before, pytest.approx(audio_before))


# -- LiveKit -----------------------------------------------------------------------------------


async def test_llm_sse_events_one_per_record(sim: SimulatorServer, proxy: RecordingProxy) -> None:
    direct, proxied, cassette = await direct_and_proxied(sim, proxy, llm_drive())
    assert proxied == direct and "".join(proxied) == "one two three four"
    exchange = only_exchange(cassette, "llm")
    assert (exchange.request.method, exchange.request.path) == ("POST", "/v1/chat/completions")
    assert json.loads(exchange.request.body or "")["messages"][-1]["content"] == "count"
    assert_livekit_token(exchange, sim)
    assert exchange.response is not None and exchange.response.status == 200
    events = exchange.body_records()
    assert {e.type for e in events} == {"sse"}
    assert all(e.data and e.data.endswith("\n\n") and e.data.count("\n\n") == 1 for e in events)
    assert events[-1].data == "data: [DONE]\n\n"
    streamed = [
        json.loads(e.data[len("data: ") :])["choices"][0]["delta"].get("content") or ""
        for e in events[:-1]
        if e.data and json.loads(e.data[len("data: ") :])["choices"]
    ]
    assert "".join(streamed) == "one two three four"
    assert cassette.header.upstream == sim.base_url
    assert_no_secrets(proxy.out, sim)


async def test_livekit_stt_messages_both_ways_with_their_audio_position(
    sim: SimulatorServer, proxy: RecordingProxy
) -> None:
    pcm = tone_pcm()
    direct, proxied, cassette = await direct_and_proxied(sim, proxy, stt_drive)
    assert proxied == direct and ("final_transcript", SPOKEN) in proxied
    exchange = only_exchange(cassette, "stt")
    assert exchange.request.websocket and exchange.request.query == "model=deepgram/nova-3"
    assert exchange.response is not None and exchange.response.status == 101
    assert_livekit_token(exchange, sim)
    client = exchange.messages("client")
    assert json.loads(exchange.payload(client[0]))["type"] == "session.create"
    # The audio went in input_audio messages, byte for byte.
    sent = [json.loads(exchange.payload(m)) for m in client]
    audio = [base64.b64decode(m["audio"]) for m in sent if m["type"] == "input_audio"]
    assert b"".join(audio) == pcm
    check_causality(exchange, len(pcm) / 2 / RATE)
    final = next(
        m
        for m in exchange.messages("server")
        if json.loads(exchange.payload(m))["type"] == "final_transcript"
    )
    # The simulator heard the whole tone before it said its final.
    assert final.audio >= tone_duration(SPOKEN)
    assert_no_secrets(proxy.out, sim)


async def test_livekit_tts_audio_bytes_exact(sim: SimulatorServer, proxy: RecordingProxy) -> None:
    direct, proxied, cassette = await direct_and_proxied(sim, proxy, tts_drive)
    assert proxied == direct
    assert [s.text for s in decode_tone(proxied, sample_rate=RATE)] == [SPOKEN]
    exchange = only_exchange(cassette, "tts")
    assert_livekit_token(exchange, sim)
    client_types = [json.loads(exchange.payload(m))["type"] for m in exchange.messages("client")]
    assert client_types[0] == "session.create"
    server = [exchange.payload(m) for m in exchange.messages("server")]
    assert server and all(isinstance(p, str) for p in server)
    closes = [item for item in exchange.items if item.type == "close"]
    assert [(c.from_, c.code) for c in closes] == [("client", 1000)]
    assert exchange.end is not None and exchange.end.outcome == "complete"
    assert_no_secrets(proxy.out, sim)


async def test_audio_sidecar_keeps_large_messages_apart_bytes_exact(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    """--audio-sidecar: the audio messages go to session.jsonl.audio, the cassette points at
    them, and the audio read back is what the client heard."""
    out = tmp_path / "session.jsonl"
    async with RecordingProxy(sim.base_url, out, audio_sidecar=True) as proxy:
        heard = await tts_drive(proxy.base_url)
    cassette = load_cassette(out)
    assert cassette.header.audio_sidecar == "session.jsonl.audio"
    exchange = only_exchange(cassette, "tts")
    audio_messages = [
        m for m in exchange.messages("server") if '"output_audio"' in str(exchange.payload(m))
    ]
    assert audio_messages and all(m.sidecar is not None for m in audio_messages)
    assert "output_audio" not in out.read_text()
    recorded = b"".join(
        base64.b64decode(json.loads(exchange.payload(m))["audio"]) for m in audio_messages
    )
    assert recorded == heard


# -- Inworld -----------------------------------------------------------------------------------


async def test_inworld_synthesis_ndjson_lines_one_per_record(
    sim: SimulatorServer, proxy: RecordingProxy
) -> None:
    direct, proxied, cassette = await direct_and_proxied(sim, proxy, inworld_synthesize_drive)
    assert proxied == direct
    assert [s.text for s in decode_tone(proxied, sample_rate=RATE)] == [SPOKEN]
    exchange = only_exchange(cassette, "inworld.synthesize")
    assert exchange.request.headers["authorization"] == "Basic <redacted>"
    assert exchange.request.token is None
    lines = exchange.body_records()
    assert len(lines) > 1 and {line.type for line in lines} == {"ndjson"}
    assert all(line.data and line.data.endswith("\n") and line.data.count("\n") == 1
               for line in lines)  # fmt: skip
    assert all("result" in json.loads(line.data or "") for line in lines)
    assert_no_secrets(proxy.out, sim)


async def test_inworld_voices_one_body(sim: SimulatorServer, proxy: RecordingProxy) -> None:
    direct, proxied, cassette = await direct_and_proxied(sim, proxy, inworld_voices_drive)
    assert proxied == direct and proxied
    exchange = only_exchange(cassette, "inworld.voices")
    assert exchange.request.query == "filter=language%3Den"
    (body,) = exchange.body_records()
    assert body.type == "body"
    assert json.loads(body.data or "")["voices"] == proxied
    assert_no_secrets(proxy.out, sim)


async def test_inworld_tts_websocket_contexts(sim: SimulatorServer, proxy: RecordingProxy) -> None:
    direct, proxied, cassette = await direct_and_proxied(sim, proxy, inworld_stream_drive())
    assert proxied == direct
    assert [s.text for s in decode_tone(proxied, sample_rate=RATE)] == [SPOKEN]
    exchange = only_exchange(cassette, "inworld.contexts")
    kinds = [next(iter(json.loads(exchange.payload(m)))) for m in exchange.messages("client")]
    assert kinds[0] == "create" and "send_text" in kinds
    assert exchange.messages("server")
    assert_no_secrets(proxy.out, sim)


async def test_inworld_stt_audio_position_of_each_answer(
    sim: SimulatorServer, proxy: RecordingProxy
) -> None:
    pcm = tone_pcm()
    direct, proxied, cassette = await direct_and_proxied(sim, proxy, inworld_stt_drive)
    assert proxied == direct and ("final_transcript", SPOKEN) in proxied
    exchange = only_exchange(cassette, "inworld.transcribe")
    sent = [json.loads(exchange.payload(m)) for m in exchange.messages("client")]
    chunks = [base64.b64decode(m["audioChunk"]["content"]) for m in sent if "audioChunk" in m]
    assert b"".join(chunks) == pcm
    check_causality(exchange, len(pcm) / 2 / RATE)
    final = next(
        m
        for m in exchange.messages("server")
        if json.loads(exchange.payload(m))["result"].get("transcription", {}).get("isFinal")
    )
    assert final.audio >= tone_duration(SPOKEN)
    assert_no_secrets(proxy.out, sim)


# -- re-signing, refusals, an unreachable upstream ---------------------------------------------


async def test_resign_lets_a_client_with_wrong_credentials_through(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    credentials = InferenceCredentials(api_key=sim.api_key, api_secret=sim.api_secret)
    out = tmp_path / "resigned.jsonl"
    async with RecordingProxy(sim.base_url, out, resign=credentials) as proxy:
        stt = STT("deepgram/nova-3", base_url=proxy.base_url, api_key="wrong-key",
                  api_secret="wrong-secret-0123456789abcdef0123", time_scale=0.01)  # fmt: skip
        stream = stt.stream(conn_options=ONCE)
        try:
            for frame in audio_frames(tone_pcm()):
                stream.push_frame(frame)
            stream.end_input()
            finals = [e.alternatives[0].text async for e in stream
                      if e.type is SpeechEventType.FINAL_TRANSCRIPT]  # fmt: skip
        finally:
            await stream.aclose()
            await stt.aclose()
    assert finals == [SPOKEN]
    exchange = only_exchange(load_cassette(out), "stt")
    # The cassette keeps what the client sent: its own (wrong) token's claims.
    assert exchange.request.token is not None
    assert exchange.request.token["claims"]["iss"] == "wrong-key"


async def test_a_refused_upgrade_reaches_the_client_with_its_status(
    sim: SimulatorServer, proxy: RecordingProxy
) -> None:
    stt = STT("deepgram/nova-3", base_url=proxy.base_url, api_key=sim.api_key,
              api_secret="not-the-secret-0123456789abcdef0123")  # fmt: skip
    stream = stt.stream(conn_options=ONCE)
    with pytest.raises(APIStatusError) as refused:
        stream.push_frame(audio_frames(tone_pcm())[0])
        stream.end_input()
        async for _ in stream:
            pass
    await stream.aclose()
    await stt.aclose()
    assert refused.value.status_code == 401
    tts = InworldTTS(api_key="not-a-key", base_url=proxy.base_url + "/")
    with pytest.raises(APIStatusError) as voices_refused:
        await tts.list_voices()
    await tts.aclose()
    assert voices_refused.value.status_code == 401
    await proxy.stop()
    cassette = load_cassette(proxy.out)
    upgrade = only_exchange(cassette, "stt")
    assert upgrade.response is not None and upgrade.response.status == 401
    assert upgrade.end is not None and upgrade.end.outcome == "upstream_refused"
    voices = only_exchange(cassette, "inworld.voices")
    assert voices.response is not None and voices.response.status == 401
    assert voices.end is not None and voices.end.outcome == "complete"
    assert [b.type for b in voices.body_records()] == ["body"]


async def test_an_unreachable_upstream_is_a_502_naming_it(tmp_path: Path) -> None:
    # A port nothing listens on: bound, then closed.
    sim = await SimulatorServer().start()
    gone = sim.base_url
    await sim.stop()
    async with (
        RecordingProxy(gone, tmp_path / "gone.jsonl") as proxy,
        aiohttp.ClientSession() as session,
    ):
        async with session.post(proxy.base_url + "/v1/chat/completions", json={}) as answer:
            status, body = answer.status, await answer.json()
        async with session.get(proxy.base_url + "/stt?model=x") as plain_get:
            assert plain_get.status == 502
    assert status == 502 and gone in body["error"]["message"]
    cassette = load_cassette(tmp_path / "gone.jsonl")
    assert [e.end.outcome for e in cassette.exchanges if e.end] == ["upstream_refused"] * 2
    assert [e.request.endpoint for e in cassette.exchanges] == ["llm", "stt"]


# -- voicewire record: bad input ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--upstream", "ftp://example.com"], "is not an http(s):// or ws(s):// URL"),
        (
            ["--upstream", "http://127.0.0.1:1", "--out", "/no/such/folder/x.jsonl"],
            "the folder /no/such/folder does not exist",
        ),
        (["--upstream", "http://127.0.0.1:1", "--resign"], "LIVEKIT_INFERENCE_API_KEY or"),
        (["--upstream", "http://127.0.0.1:1", "--port", "{busy}"], "address already in use"),
    ],
)
def test_record_refuses_bad_input_in_one_line(
    argv: list[str],
    expected: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket

    from voicewire.harness.cli import main

    for name in ("LIVEKIT_INFERENCE_API_KEY", "LIVEKIT_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        if "--out" not in argv:
            argv = [*argv, "--out", str(tmp_path / "c.jsonl")]
        code = main(["record", *(port if arg == "{busy}" else arg for arg in argv)])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err and err.count("\n") == 1 and "Traceback" not in err


# -- framing at odd chunk boundaries, binary messages, a client that vanishes ------------------


@pytest.fixture
async def raw_upstream() -> AsyncIterator[str]:
    """A bare aiohttp server at the protocols' paths: SSE events ended by CRLF CRLF written a
    byte at a time, NDJSON whose last line has no newline, a WebSocket echoing binary."""

    async def sse(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for byte in b"data: 1\r\n\r\n: note\ndata: 2\n\ndata: [DONE]\r\n\r\n":
            await response.write(bytes([byte]))
        return response

    async def ndjson(request: web.Request) -> web.Response:
        return web.Response(body=b'{"a": 1}\n{"b": 2}\n{"cut', content_type="x/ndjson")

    async def echo(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            await ws.send_bytes(bytes(message.data))
        return ws

    app = web.Application()
    app.router.add_post("/v1/chat/completions", sse)
    app.router.add_post("/tts/v1/voice:stream", ndjson)
    app.router.add_get("/tts", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_frames_cut_across_chunks_binary_kept_and_a_vanished_client(
    raw_upstream: str, tmp_path: Path
) -> None:
    out = tmp_path / "raw.jsonl"
    async with RecordingProxy(raw_upstream, out) as proxy, aiohttp.ClientSession() as session:
        async with session.post(proxy.base_url + "/v1/chat/completions", data=b"{}") as answer:
            sse_body = await answer.read()
        async with session.post(proxy.base_url + "/tts/v1/voice:stream", data=b"{}") as answer:
            ndjson_body = await answer.read()
        async with session.ws_connect(proxy.base_url.replace("http", "ws") + "/tts") as ws:
            await ws.send_bytes(b"\x00\xffaudio")
            echoed = await ws.receive()
        # A client that vanishes without a close frame: its TCP connection is dropped.
        vanishing = await session.ws_connect(proxy.base_url + "/tts")
        await vanishing.send_bytes(b"\x01")
        assert (await vanishing.receive()).data == b"\x01"
        vanishing._response.connection.transport.abort()  # type: ignore[union-attr]
        # The proxy keeps serving.
        async with session.ws_connect(proxy.base_url + "/tts") as after:
            await after.send_bytes(b"\x02")
            assert (await after.receive()).data == b"\x02"
    assert sse_body == b"data: 1\r\n\r\n: note\ndata: 2\n\ndata: [DONE]\r\n\r\n"
    assert ndjson_body == b'{"a": 1}\n{"b": 2}\n{"cut'
    assert (echoed.type, echoed.data) == (aiohttp.WSMsgType.BINARY, b"\x00\xffaudio")
    llm, synthesize, binary, vanished, kept = load_cassette(out).exchanges
    assert [(b.type, b.data) for b in llm.body_records()] == [
        ("sse", "data: 1\r\n\r\n"),
        ("sse", ": note\ndata: 2\n\n"),
        ("sse", "data: [DONE]\r\n\r\n"),
    ]
    assert [(b.type, b.data) for b in synthesize.body_records()] == [
        ("ndjson", '{"a": 1}\n'),
        ("ndjson", '{"b": 2}\n'),
        ("body", '{"cut'),
    ]
    assert [binary.payload(m) for m in binary.messages()] == [b"\x00\xffaudio"] * 2
    assert [(c.from_, c.code) for c in binary.items if c.type == "close"] == [("client", 1000)]
    assert vanished.end is not None and vanished.end.outcome == "client_gone"
    assert kept.end is not None and kept.end.outcome == "complete"
