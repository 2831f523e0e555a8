"""VCR.py interoperability with the real vcrpy: a voicewire cassette exported to VCR.py's
format replays to the reference clients with no server running (vcrpy patches httpx, which
the LLM client's openai SDK uses, and aiohttp, which the Inworld client uses); a session
vcrpy recorded against the simulator imports as a voicewire cassette whose records are what
the simulator sent, one SSE event / NDJSON line each.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import vcr
import yaml
from voicewire.harness.vcr_cassette import export_vcr, frame_body, import_vcr, write_vcr
from voicewire.reference.auth import create_access_token
from voicewire.reference.errors import APIConnectOptions
from voicewire.reference.inworld.tts import InworldTTS
from voicewire.reference.llm import ChatContext
from voicewire.reference.llm.inference import LLM
from voicewire.reference.tone_code import decode_tone
from voicewire.simulators import SimulatorServer, parse_scenario
from voicewire.simulators.core.credentials import DEFAULT_BASIC_KEY
from voicewire.simulators.recording.cassette import CassetteWriter, load_cassette

MODEL = "openai/gpt-4.1-mini"
TEXT = "Hello there world"
ONCE = APIConnectOptions(max_retry=0, timeout=5.0)
REPLY = "The answer is forty two."
SCENARIO = parse_scenario(
    {
        "name": "vcr",
        "on_unmatched": "echo",
        "rules": [{"match": {"endpoint": "llm"}, "reply": {"content": REPLY}}],
    }
)


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def user_ctx() -> ChatContext:
    ctx = ChatContext()
    ctx.add_message(role="user", content="what is the answer?")
    return ctx


async def llm_text(llm: LLM) -> str:
    text = ""
    async for chunk in llm.chat(chat_ctx=user_ctx()):
        if chunk.delta is not None and chunk.delta.content:
            text += chunk.delta.content
    return text


def llm_at(base_url: str, sim: SimulatorServer) -> LLM:
    return LLM(
        MODEL,
        base_url=base_url + "/v1",
        api_key=sim.api_key,
        api_secret=sim.api_secret,
        time_scale=0.01,
    )


async def spoken_and_voices(tts: InworldTTS) -> tuple[list[str | None], list[dict[str, Any]]]:
    frames = [frame async for frame in tts.synthesize(TEXT, conn_options=ONCE)]
    pcm = b"".join(frame.frame.to_bytes() for frame in frames)
    voices = await tts.list_voices()
    return [segment.text for segment in decode_tone(pcm, sample_rate=24000)], voices


async def record_raw(sim: SimulatorServer, out: Path, llm_body: bytes) -> list[bytes]:
    """A cassette of one LLM completion, one synthesis and the voices list, written from the
    simulator's raw answers (frames cut at the simulator's own separators); returns the
    three answer bodies."""
    writer = CassetteWriter(out, protocols=["llm", "inworld"], upstream=sim.base_url)
    calls: list[tuple[str, str, str, bytes, str, Callable[[bytes], list[bytes]]]] = [
        ("llm", "POST", "/v1/chat/completions", llm_body, "sse", _cut(b"\n\n")),
        (
            "inworld.synthesize",
            "POST",
            "/tts/v1/voice:stream",
            json.dumps({"text": TEXT, "voiceId": "Ashley", "modelId": "inworld-tts-1"}).encode(),
            "ndjson",
            _cut(b"\n"),
        ),
        ("inworld.voices", "GET", "/tts/v1/voices", b"", "body", lambda body: [body]),
    ]
    bodies: list[bytes] = []
    headers = {
        "Authorization": f"Basic {DEFAULT_BASIC_KEY}",
        "Content-Type": "application/json",
    }
    async with aiohttp.ClientSession() as session:
        for endpoint, method, path, body, kind, cut in calls:
            protocol = endpoint.split(".")[0]
            if protocol == "llm":
                token = create_access_token(sim.api_key, sim.api_secret)
                headers_now = {**headers, "Authorization": f"Bearer {token}"}
            else:
                headers_now = headers
            x = writer.open_exchange(
                {
                    "protocol": protocol,
                    "endpoint": endpoint,
                    "method": method,
                    "path": path,
                    "headers": {"content-type": "application/json"},
                    "body": body.decode() or None,
                }
            )
            async with session.request(
                method, sim.base_url + path, data=body or None, headers=headers_now
            ) as response:
                answer = await response.read()
                kept = {
                    name.lower(): value
                    for name, value in response.headers.items()
                    if name.lower() == "content-type"
                }
                writer.response(x, response.status, response.reason or "", kept)
            for piece in cut(answer):
                writer.body(x, kind, piece)  # type: ignore[arg-type]
            writer.end(x)
            bodies.append(answer)
    # A WebSocket session VCR.py cannot hold: the export counts and skips it.
    x = writer.open_exchange(
        {"protocol": "tts", "endpoint": "tts", "method": "GET", "path": "/tts", "websocket": True}
    )
    writer.response(x, 101, "Switching Protocols")
    writer.end(x)
    writer.close()
    return bodies


def _cut(separator: bytes) -> Callable[[bytes], list[bytes]]:
    def cut(body: bytes) -> list[bytes]:
        pieces = body.split(separator)
        return [piece + separator for piece in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])

    return cut


async def test_an_exported_cassette_replays_to_the_reference_clients_through_vcrpy(
    start_simulator: Any, tmp_path: Path
) -> None:
    sim = await start_simulator(SCENARIO)
    # What the reference LLM client sends: vcrpy matches on method and URL, not the body.
    llm_body = json.dumps(
        {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    ).encode()
    bodies = await record_raw(sim, tmp_path / "session.jsonl", llm_body)
    nowhere = f"http://127.0.0.1:{free_port()}"
    result = export_vcr(load_cassette(tmp_path / "session.jsonl"), nowhere)
    write_vcr(result.document, tmp_path / "vcr.yaml")
    assert (result.exported, result.skipped_websocket) == (3, 1)
    document = yaml.safe_load((tmp_path / "vcr.yaml").read_text())
    assert [i["response"]["body"]["string"].encode() for i in document["interactions"]] == bodies
    assert document["interactions"][0]["request"]["uri"] == nowhere + "/v1/chat/completions"

    with vcr.use_cassette(str(tmp_path / "vcr.yaml"), record_mode="none") as cassette:
        llm = llm_at(nowhere, sim)
        text = await llm_text(llm)
        await llm.aclose()
        tts = InworldTTS(api_key=DEFAULT_BASIC_KEY, base_url=nowhere + "/")
        spoken, voices = await spoken_and_voices(tts)
        await tts.aclose()
        assert cassette.all_played

    assert text == REPLY
    assert spoken == [TEXT]
    assert voices == json.loads(bodies[2])["voices"]


async def test_a_session_vcrpy_recorded_imports_as_what_the_simulator_sent(
    start_simulator: Any, tmp_path: Path
) -> None:
    sim = await start_simulator(SCENARIO)
    with vcr.use_cassette(str(tmp_path / "vcr.yaml"), record_mode="all"):
        llm = llm_at(sim.base_url, sim)
        text = await llm_text(llm)
        await llm.aclose()
        tts = InworldTTS(api_key=DEFAULT_BASIC_KEY, base_url=sim.base_url + "/")
        spoken, voices = await spoken_and_voices(tts)
        await tts.aclose()
    assert (text, spoken) == (REPLY, [TEXT])

    assert import_vcr(tmp_path / "vcr.yaml", tmp_path / "imported.jsonl") == 3
    cassette = load_cassette(tmp_path / "imported.jsonl")
    assert [e.request.endpoint for e in cassette.exchanges] == [
        "llm",
        "inworld.synthesize",
        "inworld.voices",
    ]
    assert cassette.header.protocols == ["inworld", "llm"]
    assert cassette.header.upstream == sim.base_url
    assert all(e.complete and e.response and e.response.status == 200 for e in cassette.exchanges)
    # Secrets vcrpy kept are redacted on the way in; the token's claims are kept.
    completion, synthesis, listing = cassette.exchanges
    assert completion.request.headers["authorization"] == "Bearer <redacted>"
    assert completion.request.token is not None
    assert synthesis.request.headers["authorization"] == "Basic <redacted>"
    # One SSE event a record, exactly the events the simulator wrote.
    sent = [
        entry["data"]
        for entry in sim.journal.entries()
        if entry.get("kind") == "sse_event" and entry.get("direction") == "out"
    ]
    assert [r.type for r in completion.body_records()] == ["sse"] * len(sent)
    assert [r.data for r in completion.body_records()] == sent
    # One NDJSON line a record, each one JSON document whose audio speaks the text.
    lines = synthesis.body_records()
    assert lines and all(r.type == "ndjson" and r.data_bytes().endswith(b"\n") for r in lines)
    assert all("result" in json.loads(r.data_bytes()) for r in lines)
    assert [r.type for r in listing.body_records()] == ["body"]
    assert json.loads(listing.body_records()[0].data_bytes())["voices"] == voices
    assert {r.t for e in cassette.exchanges for r in e.body_records()} == {0.0}


def test_framing_cuts_every_line_ending_and_keeps_the_bytes() -> None:
    body = b"data: 1\n\ndata: 2\r\n\r\n: ping\rdata: 3\r\rtail"
    pieces = frame_body("sse", body)
    assert pieces == [
        ("sse", b"data: 1\n\n"),
        ("sse", b"data: 2\r\n\r\n"),
        ("sse", b": ping\rdata: 3\r\r"),
        ("body", b"tail"),
    ]
    assert frame_body("ndjson", b'{"a":1}\n{"b":2}\n{"c"') == [
        ("ndjson", b'{"a":1}\n'),
        ("ndjson", b'{"b":2}\n'),
        ("body", b'{"c"'),
    ]
    assert frame_body("json", b"") == []
    assert b"".join(p for _, p in frame_body("sse", body)) == body
