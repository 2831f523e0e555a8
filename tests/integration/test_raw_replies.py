"""A rule's ``raw`` reply: exact status, headers and bytes, piece by piece, over a real socket
and in-process, journaled; then a clean end or a reset. Scenario validation refuses what a
raw reply cannot mean."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from voicewire.reference.auth import create_access_token
from voicewire.simulators import ScenarioError, SimulatorServer, parse_scenario, respx_llm

MODEL = "openai/gpt-4.1-mini"
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": True}


def raw_scenario(raw: dict[str, Any], *, time_scale: float = 1.0) -> Any:
    return parse_scenario({"name": "raw", "time_scale": time_scale, "rules": [{"raw": raw}]})


async def raw_socket_exchange(sim: SimulatorServer) -> tuple[bytes, list[bytes], bool]:
    """POST a chat completion over a raw socket: the response head, the chunks of the chunked
    body (one per transport write) and whether the body ended with its last chunk (False:
    the connection was cut)."""
    payload = json.dumps(CHAT).encode()
    token = create_access_token(sim.api_key, sim.api_secret)
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        f"Authorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    writer.write(head.encode() + payload)
    response_head = await reader.readuntil(b"\r\n\r\n")
    chunks: list[bytes] = []
    ended = False
    try:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            data = await reader.readexactly(size + 2)
            if size == 0:
                ended = True
                break
            chunks.append(data[:-2])
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()
    return response_head, chunks, ended


PIECES = [{"text": 'data: {"choices": [1]}\n'}, {"hex": "ff00fe"}, {"text": "\n"}]


async def test_the_socket_writes_exactly_the_pieces_with_the_status_and_headers(
    start_simulator,
):
    raw = {"status": 203, "headers": {"Content-Type": "text/html", "X-Odd": "yes"}}
    sim = await start_simulator(raw_scenario({**raw, "body": PIECES}))
    head, chunks, ended = await raw_socket_exchange(sim)
    assert head.startswith(b"HTTP/1.1 203 ")
    assert b"Content-Type: text/html\r\n" in head and b"X-Odd: yes\r\n" in head
    assert chunks == [b'data: {"choices": [1]}\n', b"\xff\x00\xfe", b"\n"]
    assert ended
    writes = [e for e in sim.journal.entries() if e["kind"] == "raw"]
    assert len(writes) == 3
    (response,) = [e for e in sim.journal.entries() if e["kind"] == "http_response"]
    assert response["data"]["status"] == 203 and response["data"]["raw"] is True


async def test_a_reset_cuts_the_connection_after_the_last_piece(start_simulator):
    sim = await start_simulator(raw_scenario({"body": PIECES[:1], "end": "reset"}))
    head, chunks, ended = await raw_socket_exchange(sim)
    assert head.startswith(b"HTTP/1.1 200 ")
    assert chunks == [b'data: {"choices": [1]}\n'] and not ended


async def test_pauses_are_scaled_and_journaled(start_simulator):
    scenario = raw_scenario(
        {"body": [{"text": "a"}, {"sleep": 2.0}, {"text": "b"}]}, time_scale=0.01
    )
    sim = await start_simulator(scenario)
    _, chunks, ended = await raw_socket_exchange(sim)
    assert chunks == [b"a", b"b"] and ended
    sleeps = [e for e in sim.journal.entries() if e["kind"] == "sleep"]
    assert [e["data"]["seconds"] for e in sleeps] == [pytest.approx(0.02)]


def test_the_in_process_shell_answers_the_same_bytes():
    scenario = raw_scenario(
        {"status": 200, "headers": {"Content-Type": "text/plain"}, "body": PIECES}
    )
    with respx_llm(scenario) as sim:
        token = create_access_token(sim.api_key, sim.api_secret)
        with httpx.Client() as client:
            response = client.post(
                f"{sim.base_url}/chat/completions",
                json=CHAT,
                headers={"Authorization": f"Bearer {token}"},
            )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain"
    assert response.content == b'data: {"choices": [1]}\n\xff\x00\xfe\n'


def test_a_reset_in_process_is_a_protocol_error_for_the_client():
    scenario = raw_scenario({"body": PIECES[:1], "end": "reset"})
    with respx_llm(scenario) as sim:
        token = create_access_token(sim.api_key, sim.api_secret)
        with httpx.Client() as client, pytest.raises(httpx.RemoteProtocolError):
            client.post(
                f"{sim.base_url}/chat/completions",
                json=CHAT,
                headers={"Authorization": f"Bearer {token}"},
            ).read()


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"raw": {"body": [{"text": "a", "hex": "00"}]}}, "exactly one of text, hex or sleep"),
        ({"raw": {"body": [{}]}}, "exactly one of text, hex or sleep"),
        ({"raw": {"body": [{"hex": "abc"}]}}, "rules[0].raw.body[0].hex"),
        ({"raw": {"body": [{"sleep": -1}]}}, "rules[0].raw.body[0].sleep"),
        ({"raw": {"status": 700}}, "rules[0].raw.status"),
        ({"raw": {"status": "200"}}, "rules[0].raw.status"),
        ({"raw": {"headers": {"Content-Length": "3"}}}, "frames the body"),
        ({"raw": {"headers": {"X-A": "b\r\nX-Injected: 1"}}}, "CR, LF or NUL"),
        ({"raw": {"headers": {"bad name": "x"}}}, "not an HTTP token"),
        ({"raw": {"end": "hang"}}, "rules[0].raw.end"),
        ({"raw": {}, "reply": {"content": "x"}}, "takes no reply"),
        (
            {"raw": {}, "faults": [{"kind": "stall", "at_event": 0, "seconds": 1}]},
            "takes no faults",
        ),
    ],
)
def test_scenario_validation_names_what_is_wrong_with_a_raw_rule(rule, message):
    with pytest.raises(ScenarioError) as caught:
        parse_scenario({"name": "bad", "rules": [rule]})
    assert message in str(caught.value)
