"""The simulator core over real sockets: transport writes (counted as the chunks of the HTTP
chunked body), lazy production, reproducible bytes under a seed, admission from the request
head, and a toy protocol served next to the LLM without touching the core."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiohttp import web
from pydantic import BaseModel, ConfigDict, StrictStr
from voicewire.reference.auth import create_access_token
from voicewire.reference.llm.wire import strict_framing
from voicewire.simulators import (
    REGISTRY,
    SimulatedProtocol,
    SimulatorServer,
    WallClock,
    parse_scenario,
    respx_llm,
)
from voicewire.simulators.core.actions import FIRST_BATCH_BYTES
from voicewire.simulators.core.app import state_of
from voicewire.simulators.core.clock import DEFAULT_EPOCH
from voicewire.simulators.core.state import Refusal
from voicewire.simulators.llm import templates
from voicewire.simulators.scenario import EndpointSpec

MODEL = "openai/gpt-4.1-mini"


def reply_scenario(content: str, *, faults: list[dict[str, Any]] | None = None, **reply: Any):
    return parse_scenario(
        {
            "name": "core",
            "time_scale": 0.01,
            "rules": [
                {
                    "reply": {"content": content, "fragmentation": {"size": 4}, **reply},
                    "faults": faults or [],
                }
            ],
        }
    )


async def raw_exchange(
    sim: SimulatorServer, body: dict[str, Any], *, authorized: bool = True
) -> tuple[bytes, list[bytes]]:
    """POST a chat completion over a raw socket; the response head and the chunks of its
    chunked body, one per transport write the server made."""
    payload = json.dumps(body).encode()
    token = create_access_token(sim.api_key, sim.api_secret)
    head = [
        "POST /v1/chat/completions HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        "Connection: close",
    ]
    if authorized:
        head.append(f"Authorization: Bearer {token}")
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
    response_head = await reader.readuntil(b"\r\n\r\n")
    chunks = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        data = await reader.readexactly(size + 2)
        if size == 0:
            break
        chunks.append(data[:-2])
    writer.close()
    return response_head, chunks


def chat(text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": text}],
        "stream": True,
        "stream_options": {"include_usage": True},
        **extra,
    }


def event_starts(body: bytes) -> list[int]:
    """The offset at which each SSE event of a body starts, and the body's end."""
    starts = [0]
    position = body.find(b"\n\n")
    while position != -1:
        starts.append(position + 2)
        position = body.find(b"\n\n", position + 2)
    return starts


# -- coalescing ----------------------------------------------------------------------------------


async def test_a_stream_without_delays_goes_out_in_a_few_transport_writes(start_simulator):
    sim = await start_simulator(reply_scenario("x" * 8000))  # 2,000 content chunks, ~400 KB
    _, chunks = await raw_exchange(sim, chat())
    body = b"".join(chunks)
    payloads, problems = strict_framing(body)
    assert problems == [] and len(payloads) == 2004

    assert len(chunks) <= 2 + len(body) // (64 * 1024)  # not one write per event
    assert len(chunks[0]) <= FIRST_BATCH_BYTES
    # No transport write cuts an event.
    starts = set(event_starts(body))
    offsets = [sum(len(c) for c in chunks[:n]) for n in range(len(chunks) + 1)]
    assert set(offsets) <= starts
    # The journal still has one entry per event.
    written = [e for e in sim.journal.entries() if e["kind"] == "sse_event"]
    assert [e["event"] for e in written] == list(range(2004))


async def test_a_delay_splits_the_stream_exactly_before_its_event(start_simulator):
    sim = await start_simulator(
        reply_scenario(
            "abcdefghijklmnopqrstuvwxyz", faults=[{"kind": "delay", "at_event": 5, "seconds": 1}]
        )
    )
    _, chunks = await raw_exchange(sim, chat())
    body = b"".join(chunks)
    starts = event_starts(body)
    offsets = [sum(len(c) for c in chunks[:n]) for n in range(1, len(chunks))]
    assert starts[5] in offsets  # the write before the delay ends with event 4
    assert set(offsets) <= set(starts)  # no write cuts an event
    assert max(offsets) == starts[5]  # everything after the delay goes out in one write


@pytest.mark.parametrize("sizes", [[1], [3, 7, 1], [4096]])
async def test_byte_split_writes_exactly_the_scripted_pieces(start_simulator, sizes):
    sim = await start_simulator(
        reply_scenario("split me, please", faults=[{"kind": "byte_split", "sizes": sizes}])
    )
    _, chunks = await raw_exchange(sim, chat())
    lengths = [len(c) for c in chunks]
    assert lengths[:-1] == [sizes[n % len(sizes)] for n in range(len(lengths) - 1)]
    assert 1 <= lengths[-1] <= sizes[(len(lengths) - 1) % len(sizes)]
    assert strict_framing(b"".join(chunks))[1] == []


# -- lazy production -----------------------------------------------------------------------------


async def test_the_first_write_of_a_200k_chunk_reply_happens_before_the_plan_is_complete(
    start_simulator, monkeypatch
):
    planned = 0
    plan = templates.reply_chunks

    def counting(*args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        nonlocal planned
        for chunk in plan(*args, **kwargs):
            planned += 1
            yield chunk

    planned_at_first_write: list[int] = []
    write = web.StreamResponse.write

    async def watching(self: web.StreamResponse, data: bytes) -> None:
        if not planned_at_first_write:
            planned_at_first_write.append(planned)
        await write(self, data)

    monkeypatch.setattr(templates, "reply_chunks", counting)
    monkeypatch.setattr(web.StreamResponse, "write", watching)
    sim = await start_simulator(reply_scenario("abcd" * 200_000))
    token = create_access_token(sim.api_key, sim.api_secret)
    async with (
        httpx.AsyncClient() as client,
        client.stream(
            "POST",
            sim.base_url + "/v1/chat/completions",
            json=chat(),
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        async for block in response.aiter_bytes():
            assert block.startswith(b"data: ")
            break  # hang up: the rest need not be planned at all
    assert planned_at_first_write and planned_at_first_write[0] < 20  # of 200,002 chunks
    await asyncio.sleep(0.05)
    assert planned < 200_002


# -- reproducible bytes --------------------------------------------------------------------------

REPLAYED_TEXT = "Grüße, 世界! 🌍 in random pieces"
REPLAYED = {
    "reasoning": "think",
    "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}],
    "fragmentation": {"strategy": "random", "size": 5, "seed": 3, "tool_calls": "interleaved"},
}


async def stream_bodies(seed: int, **kwargs: Any) -> list[bytes]:
    scenario = reply_scenario(REPLAYED_TEXT, faults=[{"kind": "byte_split", "seed": 4}], **REPLAYED)
    async with SimulatorServer(scenario, seed=seed, **kwargs) as sim:
        return [b"".join((await raw_exchange(sim, chat(f"n{n}")))[1]) for n in range(3)]


async def test_the_same_seed_gives_byte_identical_streams_ids_and_created_included():
    first, second = await stream_bodies(7), await stream_bodies(7)
    assert first == second
    chunk = json.loads(strict_framing(first[0])[0][0])
    assert chunk["created"] == DEFAULT_EPOCH and chunk["id"].startswith("chatcmpl-vw")
    # Each completion of a run has its own id.
    ids = {json.loads(strict_framing(body)[0][0])["id"] for body in first}
    assert len(ids) == 3


async def test_another_seed_gives_other_ids_and_nothing_else_changes():
    seven, eight = await stream_bodies(7), await stream_bodies(8)
    for a, b in zip(seven, eight, strict=True):
        chunks_a = [json.loads(p) for p in strict_framing(a)[0][:-1]]
        chunks_b = [json.loads(p) for p in strict_framing(b)[0][:-1]]
        assert {c["id"] for c in chunks_a}.isdisjoint({c["id"] for c in chunks_b})
        for chunk in (*chunks_a, *chunks_b):
            chunk.pop("id")
        assert chunks_a == chunks_b


async def test_the_in_process_shell_sends_the_socket_shell_bytes():
    scenario = reply_scenario(REPLAYED_TEXT, **REPLAYED)
    async with SimulatorServer(scenario, seed=5) as sim:
        over_socket = b"".join((await raw_exchange(sim, chat()))[1])
    async with respx_llm(scenario, seed=5) as sim, httpx.AsyncClient() as client:
        token = create_access_token(sim.api_key, sim.api_secret)
        response = await client.post(
            sim.base_url + "/chat/completions",
            json=chat(),
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.content == over_socket


async def test_a_wall_clock_writes_the_current_time_into_created(start_simulator):
    sim = await start_simulator(reply_scenario("now"), clock=WallClock())
    _, chunks = await raw_exchange(sim, chat())
    created = json.loads(strict_framing(b"".join(chunks))[0][0])["created"]
    assert abs(created - time.time()) <= 2


# -- admission from the head ---------------------------------------------------------------------


@pytest.mark.spec("AUTH-4", "SRV-6")
async def test_an_unauthenticated_request_is_refused_before_its_body_is_read(start_simulator):
    sim = await start_simulator()
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    # A head announcing 8 MB of body, and no body at all: the answer must not wait for it.
    writer.write(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 8000000\r\n"
        b"Content-Type: application/json\r\n\r\n"
    )
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    writer.close()
    assert head.startswith(b"HTTP/1.1 401")
    [refusal] = sim.journal.entries()
    assert refusal["kind"] == "http_error" and refusal["data"]["status"] == 401


# -- a toy protocol, served by the unchanged core ------------------------------------------------


class EchoWord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    word: StrictStr


async def _toy(request: web.Request) -> web.Response:
    state = state_of(request)
    try:
        exchange = state.admit(request.headers)
    except Refusal as refusal:
        return web.json_response(refusal.body, status=refusal.status)
    attempt = exchange.next_attempt(b"")
    chosen = exchange.choose_rule("toy", attempt=attempt, text=request.query.get("q"))
    exchange.note("rule", {"rule": None if chosen is None else chosen[0], "attempt": attempt})
    word = "none" if chosen is None else chosen[1].reply.word
    exchange.frame("out", "toy_answer", word)
    return web.json_response({"word": word})


def _toy_routes(router: web.UrlDispatcher, prefix: str) -> None:
    router.add_get(f"{prefix}/toy", _toy)


@pytest.fixture
def toy_protocol() -> Iterator[SimulatedProtocol]:
    protocol = REGISTRY.register(
        SimulatedProtocol(
            name="toy", add_routes=_toy_routes, endpoints=(EndpointSpec("toy", EchoWord),)
        )
    )
    yield protocol
    REGISTRY.unregister("toy")


async def test_a_toy_protocol_is_served_next_to_the_llm(toy_protocol, start_simulator):
    scenario = parse_scenario(
        {
            "name": "both",
            "rules": [
                {"match": {"endpoint": "toy", "text": "^hello$"}, "reply": {"word": "world"}},
                {"reply": {"content": "from the LLM rule", "fragmentation": {"strategy": "whole"}}},
            ],
        }
    )
    sim = await start_simulator(scenario)
    token = create_access_token(sim.api_key, sim.api_secret)
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=sim.base_url) as client:
        toy = await client.get("/v1/toy", params={"q": "hello"}, headers=auth)
        other = await client.get("/toy", params={"q": "bye"}, headers=auth)
        refused = await client.get("/toy")
        llm = await client.post("/v1/chat/completions", json=chat(), headers=auth)
    assert toy.json() == {"word": "world"} and other.json() == {"word": "none"}
    assert refused.status_code == 401
    assert b"from the LLM rule" in llm.content
    # The toy admits with the state itself and never closes: the core closes for it.
    assert sim.state.open_sessions == {}
    notes = [e["data"] for e in sim.journal.entries() if e["kind"] == "rule"]
    assert notes == [
        {"rule": 0, "attempt": 1},
        {"rule": None, "attempt": 2},
        {"rule": 1, "attempt": 1},
    ]
