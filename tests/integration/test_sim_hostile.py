"""The simulator against hostile peers, over real loopback sockets (SRV-1, SRV-2, SRV-4,
SRV-5, SRV-7; DESIGN principle 7): every error answered in JSON, limits at the limit accepted
and one past refused, stalled connections closed, other sessions keeping their timing, the
journal bounded and read in pages or as a stream, the control API behind its token and its
Host check.

Raw ``asyncio`` connections send what no client library would (half a head, garbage, a body
that stops); aiohttp and httpx send the rest. Nothing sleeps to wait for something: tests
await the event itself, or poll a condition under a short timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import httpx
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st
from voicewire.reference.auth import create_access_token
from voicewire.simulators import (
    REGISTRY,
    Limits,
    SimulatedProtocol,
    SimulatorServer,
    create_app,
    parse_scenario,
)
from voicewire.simulators.core.serving import admit

MODEL = "openai/gpt-4.1-mini"
CHAT = "/v1/chat/completions"
# How long a raw exchange may take before the test calls it a hang.
ANSWER_TIMEOUT = 10.0


# -- raw HTTP ------------------------------------------------------------------------------------


def token_of(sim: SimulatorServer, key: str | None = None) -> str:
    key = key or sim.api_key
    return create_access_token(key, sim.credentials.keys[key])


def chat_body(text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": text}], **extra}


def request_bytes(
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    host: str = "127.0.0.1",
    close: bool = True,
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    if close:
        lines.append("Connection: close")
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")
    return head + (body or b"")


def post_chat_bytes(sim: SimulatorServer, body: bytes, **headers: str) -> bytes:
    return request_bytes(
        "POST",
        CHAT,
        headers={
            "Authorization": f"Bearer {token_of(sim)}",
            "Content-Type": "application/json",
            **headers,
        },
        body=body,
    )


async def raw_exchange(sim: SimulatorServer, data: bytes) -> bytes:
    """Write ``data`` on a fresh connection and read until the server closes it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), ANSWER_TIMEOUT)
    finally:
        writer.close()


def parse_answer(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body (de-chunked) of one HTTP answer."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        data, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            data, rest = data + rest[:size], rest[size + 2 :]
        body = data
    return status, headers, body


def assert_json_error(raw: bytes, status: int) -> dict[str, Any]:
    """The answer is ``status`` with the JSON error body of LLM-SSE-5; its ``error``."""
    assert raw, "the connection closed without an answer"
    got, headers, body = parse_answer(raw)
    assert got == status, raw[:300]
    assert headers.get("content-type", "").startswith("application/json"), headers
    error = json.loads(body)["error"]
    assert error["code"] == status
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str) and error["type"]
    return error


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes:
    """Everything the server sends until it closes the connection, which must happen within
    ``seconds``."""
    return await asyncio.wait_for(reader.read(), seconds)


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``condition`` (cheap, in-process) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def time_to_first_byte(client: httpx.AsyncClient, sim: SimulatorServer) -> float:
    """Seconds from sending a small streamed request to its first body byte; the stream is
    read to the end and must be complete."""
    started = time.perf_counter()
    async with client.stream(
        "POST",
        sim.base_url + CHAT,
        json=chat_body(stream=True),
        headers={"Authorization": f"Bearer {token_of(sim)}"},
    ) as response:
        assert response.status_code == 200
        chunks = response.aiter_bytes()
        await chunks.__anext__()
        first = time.perf_counter() - started
        rest = b"".join([chunk async for chunk in chunks])
    assert rest.endswith(b"data: [DONE]\n\n")
    return first


# -- SRV-5: every error in JSON -----------------------------------------------------------------

Builder = Callable[[SimulatorServer], bytes]

ERRORS: dict[str, tuple[Builder, int]] = {
    "unknown path": (lambda sim: request_bytes("GET", "/v1/embeddings"), 404),
    "unknown control path": (
        lambda sim: request_bytes(
            "GET",
            "/__voicewire/nope",
            headers={"X-Voicewire-Control-Token": sim.control_token},
            host=f"127.0.0.1:{sim.port}",
        ),
        404,
    ),
    "wrong method": (lambda sim: request_bytes("GET", CHAT), 405),
    "no token": (
        lambda sim: request_bytes("POST", CHAT, body=json.dumps(chat_body()).encode()),
        401,
    ),
    "non-UTF-8 token": (
        lambda sim: request_bytes(
            "POST", CHAT, headers={"Authorization": "Bearer \udcff\udcfe"}, body=b"{}"
        ),
        401,
    ),
    "body over the limit": (
        lambda sim: request_bytes(
            "POST",
            CHAT,
            headers={"Authorization": f"Bearer {token_of(sim)}", "Content-Length": "99999999"},
        ),
        413,
    ),
    "not HTTP": (lambda sim: b"\x16\x03\x01\x00\xffNOT HTTP\r\n\r\n", 400),
    "bad request line": (lambda sim: b"GET\r\n\r\n", 400),
    "bad header name": (lambda sim: b"GET / HTTP/1.1\r\nHo st: x\r\n\r\n", 400),
    "header too large": (
        lambda sim: request_bytes("GET", "/v1/models", headers={"X-Pad": "v" * 9000}),
        431,
    ),
    "too many headers": (
        lambda sim: request_bytes("GET", "/v1/models", headers={f"X-{n}": "v" for n in range(200)}),
        431,
    ),
    "bad chunked body": (
        lambda sim: (
            request_bytes(
                "POST",
                CHAT,
                headers={
                    "Authorization": f"Bearer {token_of(sim)}",
                    "Transfer-Encoding": "chunked",
                },
            )
            + b"zz\r\nnope\r\n0\r\n\r\n"
        ),
        400,
    ),
    "not JSON": (lambda sim: post_chat_bytes(sim, b"{nope"), 400),
    "nested 980 deep": (lambda sim: post_chat_bytes(sim, b"[" * 980 + b"]" * 980), 400),
    "integer of 5000 digits": (
        lambda sim: post_chat_bytes(
            sim, b'{"model": "m", "messages": [], "seed": ' + b"7" * 5000 + b"}"
        ),
        400,
    ),
    "wrong type": (
        lambda sim: post_chat_bytes(sim, json.dumps(chat_body(temperature="hot")).encode()),
        400,
    ),
    "non-string text part": (
        lambda sim: post_chat_bytes(
            sim,
            json.dumps(
                {
                    "model": MODEL,
                    "messages": [{"role": "user", "content": [{"type": "text", "text": 7}]}],
                }
            ).encode(),
        ),
        400,
    ),
    "encoded surrogate in the body": (
        lambda sim: post_chat_bytes(
            sim, b'{"model": "m", "messages": [{"role": "user", "content": "\xed\xa0\x80"}]}'
        ),
        400,
    ),
    "UTF-16 body": (
        lambda sim: post_chat_bytes(sim, json.dumps(chat_body()).encode("utf-16")),
        400,
    ),
    "unknown expectation": (
        lambda sim: request_bytes(
            "POST",
            CHAT,
            headers={"Authorization": f"Bearer {token_of(sim)}", "Expect": "200-ok"},
            body=json.dumps(chat_body()).encode(),
        ),
        417,
    ),
    "unknown expectation on another route": (
        lambda sim: request_bytes("GET", "/v1/models", headers={"Expect": "200-ok"}),
        417,
    ),
    "bad journal query": (
        lambda sim: request_bytes(
            "GET",
            "/__voicewire/journal?exchange=%C2%B2",
            headers={"X-Voicewire-Control-Token": sim.control_token},
            host=f"127.0.0.1:{sim.port}",
        ),
        400,
    ),
    "control without token": (
        lambda sim: request_bytes("GET", "/__voicewire/journal", host=f"127.0.0.1:{sim.port}"),
        401,
    ),
    "control under another Host": (
        lambda sim: request_bytes(
            "GET",
            "/__voicewire/journal",
            headers={"X-Voicewire-Control-Token": sim.control_token},
            host=f"evil.example:{sim.port}",
        ),
        403,
    ),
}


@pytest.mark.spec("SRV-5", "SRV-1", "LLM-SSE-5")
@pytest.mark.parametrize("case", list(ERRORS))
async def test_every_error_is_answered_in_json(start_simulator, case):
    build, status = ERRORS[case]
    sim = await start_simulator()
    error = assert_json_error(await raw_exchange(sim, build(sim)), status)
    if case == "wrong method":
        _, headers, _ = parse_answer(await raw_exchange(sim, build(sim)))
        assert headers["allow"] == "POST"
    if case == "nested 980 deep":
        assert "deeper than 128 levels" in error["message"]
    if case == "integer of 5000 digits":
        assert "number" in error["message"]
    if case == "wrong type":
        assert error["message"].startswith("temperature: expected a number")
    # Whatever the peer did, the next one is served.
    async with httpx.AsyncClient() as client:
        assert await time_to_first_byte(client, sim) < ANSWER_TIMEOUT


# A head announcing a body and waiting for 100 Continue, and the first answer it must get.
EXPECTING: dict[str, tuple[Callable[[SimulatorServer], dict[str, str]], bytes]] = {
    "no token": (lambda sim: {"Content-Length": "1048576"}, b"HTTP/1.1 401 "),
    "a bad token": (
        lambda sim: {"Authorization": "Bearer not-a-jwt", "Content-Length": "1048576"},
        b"HTTP/1.1 401 ",
    ),
    "a body over the limit": (
        lambda sim: {"Authorization": f"Bearer {token_of(sim)}", "Content-Length": "99999999"},
        b"HTTP/1.1 413 ",
    ),
    "an admissible request": (
        lambda sim: {"Authorization": f"Bearer {token_of(sim)}", "Content-Length": "120"},
        b"HTTP/1.1 100 Continue\r\n\r\n",
    ),
}


@pytest.mark.spec("SRV-6", "AUTH-4", "SRV-4")
@pytest.mark.parametrize("case", list(EXPECTING))
async def test_a_head_expecting_100_continue_is_refused_from_the_head_if_at_all(
    start_simulator, case
):
    # aiohttp itself answers 100 Continue to every head before a handler sees it: a client
    # waiting for it would send the body of a request the server then refuses unread.
    headers, first = EXPECTING[case]
    sim = await start_simulator()
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    try:
        writer.write(
            request_bytes("POST", CHAT, headers={**headers(sim), "Expect": "100-continue"})
        )
        await writer.drain()
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), ANSWER_TIMEOUT)
        assert answer.startswith(first), answer
        if case == "an admissible request":
            writer.write(padded_chat(120))
            await writer.drain()
            rest = await asyncio.wait_for(reader.read(), ANSWER_TIMEOUT)
            assert rest.startswith(b"HTTP/1.1 200 OK"), rest[:200]
            return
        status = int(first.split()[1])
        error = assert_json_error(answer + await asyncio.wait_for(reader.read(), 5), status)
        assert error["type"] == (
            "authentication_error" if status == 401 else "invalid_request_error"
        )
    finally:
        writer.close()
    [refusal] = [e for e in sim.journal.entries() if e["kind"] == "http_error"]
    assert refusal["data"]["status"] == status


@pytest.fixture
def raising_protocol() -> Iterator[None]:
    async def broken(request: web.Request) -> web.Response:
        admit(request)
        raise ZeroDivisionError("the handler divided by zero")

    def routes(router: web.UrlDispatcher, prefix: str) -> None:
        router.add_get(f"{prefix}/broken", broken)

    REGISTRY.register(SimulatedProtocol(name="broken", add_routes=routes))
    yield
    REGISTRY.unregister("broken")


@pytest.mark.spec("SRV-5", "SRV-2")
async def test_a_handler_that_raises_answers_json_500_journals_it_and_serving_goes_on(
    raising_protocol, start_simulator
):
    sim = await start_simulator()
    auth = {"Authorization": f"Bearer {token_of(sim)}"}
    error = assert_json_error(
        await raw_exchange(sim, request_bytes("GET", "/v1/broken", headers=auth)), 500
    )
    assert "ZeroDivisionError" in error["message"]
    [note] = [e for e in sim.journal.entries() if e["kind"] == "server_error"]
    assert note["type"] == "wire.note"
    assert note["data"]["exception"] == "ZeroDivisionError"
    assert note["data"]["path"] == "/v1/broken"
    assert sim.state.open_sessions == {}  # the failed request's slot was released
    async with httpx.AsyncClient() as client:
        await time_to_first_byte(client, sim)


# -- SRV-1: wrong types over the socket ------------------------------------------------------------

WRONG_TYPED = [
    ("model", st.integers() | st.booleans() | st.just("") | st.lists(st.text(), max_size=2)),
    (
        "messages",
        st.text(max_size=5)
        | st.integers()
        | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    ),
    ("stream", st.integers() | st.text(max_size=5)),
    (
        "stream_options",
        st.integers() | st.text(max_size=5) | st.booleans() | st.lists(st.integers(), max_size=2),
    ),
    (
        "tools",
        st.integers()
        | st.text(max_size=5)
        | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    ),
    (
        "tool_choice",
        st.integers()
        | st.sampled_from(["maybe", "", "AUTO"])
        | st.lists(st.integers(), max_size=2),
    ),
    ("parallel_tool_calls", st.integers() | st.text(max_size=5)),
    ("temperature", st.booleans() | st.text(max_size=5) | st.lists(st.integers(), max_size=2)),
    ("top_p", st.booleans() | st.text(max_size=5)),
    (
        "max_tokens",
        st.booleans() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
    ),
    ("max_completion_tokens", st.booleans() | st.floats(allow_nan=False, allow_infinity=False)),
    ("n", st.booleans() | st.text(max_size=5)),
    ("seed", st.booleans() | st.floats(allow_nan=False, allow_infinity=False)),
    ("stop", st.integers() | st.booleans() | st.lists(st.integers(), min_size=1, max_size=2)),
    ("response_format", st.integers() | st.text(max_size=5) | st.lists(st.integers(), max_size=2)),
    ("user", st.integers() | st.booleans() | st.lists(st.text(max_size=3), max_size=2)),
]


@st.composite
def wrong_typed_requests(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    field, values = draw(st.sampled_from(WRONG_TYPED))
    return field, chat_body(**{field: draw(values)})


@pytest.mark.spec("SRV-1")
@settings(max_examples=25)  # each example is a real HTTP exchange with a fresh simulator
@given(wrong_typed_requests())
async def test_a_field_of_the_wrong_type_is_a_400_naming_it_never_a_200(case):
    field, body = case
    async with SimulatorServer() as sim, httpx.AsyncClient() as client:
        response = await client.post(
            sim.base_url + CHAT, json=body, headers={"Authorization": f"Bearer {token_of(sim)}"}
        )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == 400
    assert error["message"].startswith(field), error["message"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


@pytest.mark.spec("SRV-1")
@settings(max_examples=20)
@given(
    parameters=st.dictionaries(
        st.sampled_from(["type", "properties", "required", "enum", "anyOf", "items"]),
        json_values,
        max_size=4,
    )
)
async def test_echo_mode_answers_any_tool_schema(parameters):
    body = chat_body(
        "call lookup now",
        tools=[{"type": "function", "function": {"name": "lookup", "parameters": parameters}}],
    )
    async with SimulatorServer() as sim, httpx.AsyncClient() as client:
        response = await client.post(
            sim.base_url + CHAT, json=body, headers={"Authorization": f"Bearer {token_of(sim)}"}
        )
    assert response.status_code == 200, response.text
    [call] = response.json()["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == "lookup"


# -- SRV-4: limits at the limit and one past it ------------------------------------------------


def padded_chat(size: int) -> bytes:
    """A valid request body of exactly ``size`` bytes (JSON allows trailing whitespace)."""
    body = json.dumps(chat_body()).encode()
    assert len(body) <= size
    return body + b" " * (size - len(body))


@pytest.mark.spec("SRV-4")
async def test_a_body_at_the_size_limit_is_served_and_one_byte_more_is_a_413(start_simulator):
    sim = await start_simulator(limits=Limits(max_body_bytes=2000))
    ok, *_ = parse_answer(await raw_exchange(sim, post_chat_bytes(sim, padded_chat(2000))))
    assert ok == 200
    error = assert_json_error(await raw_exchange(sim, post_chat_bytes(sim, padded_chat(2001))), 413)
    assert "2000 bytes" in error["message"]


@pytest.mark.spec("SRV-4")
async def test_a_chunked_body_growing_past_the_limit_is_a_413(start_simulator):
    sim = await start_simulator(limits=Limits(max_body_bytes=2000))
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    writer.write(
        request_bytes(
            "POST",
            CHAT,
            headers={"Authorization": f"Bearer {token_of(sim)}", "Transfer-Encoding": "chunked"},
        )
    )
    # Chunks keep coming: the answer must not wait for the end of a body it refuses.
    for _ in range(3):
        writer.write(b"3e8\r\n" + b" " * 1000 + b"\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.readuntil(b"}}"), ANSWER_TIMEOUT)
    writer.close()
    assert_json_error(answer, 413)


@pytest.mark.spec("SRV-4")
async def test_a_body_at_the_depth_limit_is_served_and_one_level_deeper_is_a_400(start_simulator):
    sim = await start_simulator(limits=Limits(max_json_depth=20))

    def nested(depth: int) -> bytes:
        # The request object is level 1; an unknown field carries the rest.
        inner = "[" * (depth - 1) + "]" * (depth - 1)
        return json.dumps(chat_body())[:-1].encode() + f', "extra": {inner}}}'.encode()

    ok, *_ = parse_answer(await raw_exchange(sim, post_chat_bytes(sim, nested(20))))
    assert ok == 200
    error = assert_json_error(await raw_exchange(sim, post_chat_bytes(sim, nested(21))), 400)
    assert "deeper than 20 levels" in error["message"]


@pytest.mark.spec("SRV-4")
async def test_a_header_at_the_size_limit_is_served_and_one_byte_more_is_a_431(start_simulator):
    sim = await start_simulator(limits=Limits(max_header_bytes=1000))
    at_limit = request_bytes("GET", "/__voicewire/health", headers={"X-Pad": "v" * 1000})
    ok, *_ = parse_answer(await raw_exchange(sim, at_limit))
    assert ok == 200
    over = request_bytes("GET", "/__voicewire/health", headers={"X-Pad": "v" * 1001})
    assert "1000 bytes" in assert_json_error(await raw_exchange(sim, over), 431)["message"]


def stalling_scenario() -> Any:
    # Each stream says one word, then stays silent long enough for the test to act.
    return parse_scenario(
        {
            "name": "stalling",
            "rules": [
                {
                    "reply": {"content": "word", "fragmentation": {"strategy": "whole"}},
                    "faults": [{"kind": "stall", "at_event": 1, "seconds": 30}],
                }
            ],
        }
    )


async def open_stream(sim: SimulatorServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A streamed request whose answer has started (its head is read)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    writer.write(post_chat_bytes(sim, json.dumps(chat_body(stream=True)).encode()))
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), ANSWER_TIMEOUT)
    assert head.startswith(b"HTTP/1.1 200")
    return reader, writer


@pytest.mark.spec("SRV-4", "LLM-SSE-6")
async def test_sessions_per_key_are_limited_429_with_retry_after_and_released_on_disconnect(
    start_simulator,
):
    sim = await start_simulator(stalling_scenario(), limits=Limits(max_sessions_per_key=2))
    streams = [await open_stream(sim), await open_stream(sim)]
    assert sim.state.open_sessions == {sim.api_key: 2}

    third = await raw_exchange(sim, post_chat_bytes(sim, json.dumps(chat_body()).encode()))
    error = assert_json_error(third, 429)
    assert error["type"] == "rate_limit_error"
    assert parse_answer(third)[1]["retry-after"] == "1"
    [refusal] = [
        e for e in sim.journal.entries() if e["kind"] == "http_error" and e["data"]["status"] == 429
    ]
    assert refusal["data"]["headers"] == {"Retry-After": "1"}

    # A client that hangs up releases its slot at once, while its handler still sleeps.
    streams[0][1].transport.abort()
    await eventually(lambda: sim.state.open_sessions.get(sim.api_key) == 1)
    _reader, writer = await open_stream(sim)
    writer.transport.abort()
    streams[1][1].transport.abort()
    await eventually(lambda: sim.state.open_sessions == {})


@pytest.mark.spec("SRV-4")
async def test_sessions_are_counted_per_key(start_simulator):
    sim = await start_simulator(stalling_scenario(), limits=Limits(max_sessions_per_key=1))
    sim.add_credential("other-key", "other-secret-0123456789abcdef0123456789")
    _, first = await open_stream(sim)
    try:
        other = await raw_exchange(
            sim,
            request_bytes(
                "POST",
                CHAT,
                headers={"Authorization": f"Bearer {token_of(sim, 'other-key')}"},
                body=json.dumps(chat_body()).encode(),
            ),
        )
        assert parse_answer(other)[0] == 200
    finally:
        first.transport.abort()


# -- SRV-4: deadlines ------------------------------------------------------------------------------

# Each deadline short while the others are long, so a test sees the one it names at work.
HEAD_DEADLINE = Limits(head_timeout=0.3, idle_timeout=60, body_timeout=60)
IDLE_DEADLINE = Limits(head_timeout=60, idle_timeout=0.5, body_timeout=60)
BODY_DEADLINE = Limits(head_timeout=60, idle_timeout=60, body_timeout=0.3)


@pytest.mark.spec("SRV-4")
async def test_a_connection_with_half_a_head_is_closed_at_the_head_deadline(start_simulator):
    sim = await start_simulator(limits=HEAD_DEADLINE)
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
    await writer.drain()
    started = time.monotonic()
    assert await closed_within(reader, 5) == b""
    assert time.monotonic() - started >= 0.2
    writer.close()
    notes = [e for e in sim.journal.entries() if e["kind"] == "connection_closed"]
    assert "no complete request head within 0.3 s" in notes[0]["data"]["reason"]


@pytest.mark.spec("SRV-4")
async def test_a_head_trickling_in_is_closed_at_the_head_deadline_too(start_simulator):
    sim = await start_simulator(limits=HEAD_DEADLINE)
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)

    async def trickle() -> None:
        for byte in b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"v" * 1000:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.02)

    sending = asyncio.create_task(trickle())
    try:
        assert await closed_within(reader, 5) == b""
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await sending
        writer.close()


@pytest.mark.spec("SRV-4")
async def test_an_idle_connection_is_closed_at_the_idle_deadline(start_simulator):
    sim = await start_simulator(limits=IDLE_DEADLINE)
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    assert await closed_within(reader, 5) == b""  # it never sent a byte
    writer.close()

    # After a complete exchange, a kept-alive connection that goes quiet is closed too.
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    writer.write(request_bytes("GET", "/__voicewire/health", close=False))
    await writer.drain()
    answer = await closed_within(reader, 5)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b'{"ok": true}')


@pytest.mark.spec("SRV-4")
async def test_a_body_that_stops_coming_is_a_408_and_the_connection_closes(start_simulator):
    sim = await start_simulator(limits=BODY_DEADLINE)
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    head = request_bytes(
        "POST",
        CHAT,
        headers={"Authorization": f"Bearer {token_of(sim)}", "Content-Length": "1000"},
        close=False,
    )
    writer.write(head + b'{"model": ')
    await writer.drain()
    answer = await closed_within(reader, 5)
    writer.close()
    error = assert_json_error(answer, 408)
    assert "0.3 s" in error["message"]
    assert sim.state.open_sessions == {}


# -- SRV-2 / SRV-7: other sessions keep their timing --------------------------------------------

# Generous: these are checks that one session cannot stall another, not benchmarks (a stall
# of the kind they catch lasts seconds).
TTFB_BOUND = 0.5


@pytest.mark.spec("SRV-2", "SRV-4", "SRV-7")
async def test_a_valid_session_keeps_working_while_many_connections_misbehave(start_simulator):
    sim = await start_simulator(limits=Limits(head_timeout=0.5, body_timeout=0.5, idle_timeout=1.0))
    token = token_of(sim)
    writers: list[asyncio.StreamWriter] = []

    async def connect(data: bytes) -> None:
        _, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        writers.append(writer)
        if data:
            writer.write(data)
            await writer.drain()

    partial_body = (
        request_bytes(
            "POST", CHAT, headers={"Authorization": f"Bearer {token}", "Content-Length": "50000"}
        )
        + b'{"model": '
    )
    await asyncio.gather(
        *(connect(b"") for _ in range(60)),
        *(connect(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n") for _ in range(30)),
        *(connect(partial_body) for _ in range(30)),
        *(connect(b"\x16\x03\x01garbage\r\n\r\n") for _ in range(20)),
    )
    try:
        async with httpx.AsyncClient() as client:
            alone = [await time_to_first_byte(client, sim) for _ in range(3)]
            # Abandoned streams: reset mid-stream.
            for _ in range(20):
                reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
                writer.write(
                    post_chat_bytes(sim, json.dumps(chat_body("x" * 5000, stream=True)).encode())
                )
                await writer.drain()
                await reader.readuntil(b"data: ")
                writer.transport.abort()
            during = [await time_to_first_byte(client, sim) for _ in range(5)]
        assert max(alone + during) < TTFB_BOUND, (alone, during)
        # Every stalled connection is closed by a deadline, none is left holding a descriptor.
        await eventually(lambda: sim.open_connections == 0, timeout=10)
    finally:
        for writer in writers:
            writer.transport.abort()


async def ttfb_while(sim: SimulatorServer, load: Awaitable[Any]) -> tuple[Any, list[float]]:
    """Run ``load``; meanwhile, measure small sessions' time to first byte, one after another."""
    task = asyncio.ensure_future(load)
    samples: list[float] = []
    async with httpx.AsyncClient() as client:
        while not task.done() or not samples:
            samples.append(await time_to_first_byte(client, sim))
    return await task, samples


@pytest.mark.spec("SRV-7", "SRV-2")
async def test_a_1_mib_echo_leaves_a_small_session_its_timing(start_simulator):
    sim = await start_simulator()
    body = json.dumps(chat_body("x" * (1 << 20), stream=True)).encode()

    async def big_echo() -> int:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                sim.base_url + CHAT,
                data=body,
                headers={
                    "Authorization": f"Bearer {token_of(sim)}",
                    "Content-Type": "application/json",
                },
            ) as response,
        ):
            assert response.status == 200
            return len(await response.read())

    size, samples = await ttfb_while(sim, big_echo())
    assert size > 1 << 20
    assert max(samples) < TTFB_BOUND, samples


@pytest.mark.spec("SRV-7", "SRV-2")
async def test_an_8_mib_body_leaves_a_small_session_its_timing(start_simulator):
    sim = await start_simulator()
    body = json.dumps(chat_body("y" * (8 * 1024 * 1024 - 400))).encode()

    async def big_body() -> int:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                sim.base_url + CHAT,
                data=body,
                headers={
                    "Authorization": f"Bearer {token_of(sim)}",
                    "Content-Type": "application/json",
                },
            ) as response,
        ):
            return response.status

    status, samples = await ttfb_while(sim, big_body())
    assert status == 200
    assert max(samples) < TTFB_BOUND, samples


@pytest.mark.spec("SRV-7", "SRV-2")
async def test_a_slow_pattern_runs_out_of_time_and_other_sessions_keep_theirs(start_simulator):
    # The pattern passes the load-time probe, but on a long text without a match it
    # backtracks for far longer than the match timeout.
    scenario = parse_scenario(
        {
            "name": "slow-pattern",
            "on_unmatched": "echo",
            "rules": [{"match": {"text": r"(\w+\s?)*$"}, "reply": {"content": "matched"}}],
        }
    )
    sim = await start_simulator(scenario, limits=Limits(match_timeout=0.05))
    text = "ab " * 300_000 + "!"

    async def slow_request() -> tuple[int, bytes, float]:
        started = time.monotonic()
        async with httpx.AsyncClient(timeout=ANSWER_TIMEOUT) as client:
            response = await client.post(
                sim.base_url + CHAT,
                json=chat_body(text),
                headers={"Authorization": f"Bearer {token_of(sim)}"},
            )
        return response.status_code, response.content, time.monotonic() - started

    (status, content, took), samples = await ttfb_while(sim, slow_request())
    assert status == 200
    assert b"You said: ab ab" in content  # the rule timed out: no match, echo answered
    assert took < 5
    assert max(samples) < TTFB_BOUND, samples
    [note] = [e for e in sim.journal.entries() if e["kind"] == "match_timeout"]
    assert note["type"] == "wire.note" and note["data"]["rule"] == 0


@pytest.mark.spec("SRV-7")
async def test_a_catastrophic_pattern_is_refused_when_loaded(start_simulator):
    sim = await start_simulator()
    async with (
        aiohttp.ClientSession(headers=sim.control_headers) as session,
        session.put(
            sim.base_url + "/__voicewire/scenarios/bad",
            json={"rules": [{"match": {"text": "^(a|aa)+$"}}]},
        ) as response,
    ):
        assert response.status == 400
        error = (await response.json())["error"]
    assert error["type"] == "invalid_scenario"
    [problem] = error["problems"]
    assert problem["path"] == "rules[0].match.text"
    assert "catastrophic backtracking" in problem["message"]


# -- the journal -----------------------------------------------------------------------------------


async def control_get(sim: SimulatorServer, path: str, **params: Any) -> Any:
    async with (
        aiohttp.ClientSession(headers=sim.control_headers) as session,
        session.get(sim.base_url + path, params=params) as response,
    ):
        assert response.status == 200, await response.text()
        return await response.json()


@pytest.mark.spec("SRV-4")
async def test_the_journal_keeps_bodies_as_bounded_bytes_and_drops_the_oldest_past_its_bound(
    start_simulator,
):
    limits = Limits(journal_bytes=10_000, journal_body_bytes=1000)
    sim = await start_simulator(limits=limits)
    big = json.dumps(chat_body("z" * 50_000)).encode()
    async with httpx.AsyncClient() as client:
        for _ in range(12):
            response = await client.post(
                sim.base_url + CHAT,
                content=big,
                headers={"Authorization": f"Bearer {token_of(sim)}"},
            )
            assert response.status_code == 200
    assert sim.journal.bytes <= 10_000
    assert sim.journal.dropped > 0
    requests = [e for e in sim.journal.entries() if e["kind"] == "http_request"]
    assert requests
    for entry in requests:
        data = entry["data"]
        assert data["truncated"] is True and data["body_length"] == len(big)
        assert isinstance(data["body"], str) and len(data["body"]) == 1000
    served = await control_get(sim, "/__voicewire/journal")
    assert served["dropped"] == sim.journal.dropped


@pytest.mark.spec("AUTH-4")
async def test_a_request_entry_holds_its_body_as_json_and_its_token_claims_never_the_token(
    start_simulator,
):
    sim = await start_simulator()
    token = token_of(sim)
    async with httpx.AsyncClient() as client:
        await client.post(
            sim.base_url + CHAT,
            json=chat_body("hello"),
            headers={"Authorization": f"Bearer {token}"},
        )
    [entry] = [e for e in sim.journal.entries() if e["kind"] == "http_request"]
    data = entry["data"]
    assert data["body"]["messages"] == [{"role": "user", "content": "hello"}]
    assert data["truncated"] is False and data["body_length"] > 0
    claims = data["token"]["claims"]
    assert claims["iss"] == sim.api_key and claims["sub"] == "agent"
    assert claims["exp"] == claims["nbf"] + 600 and claims["inference"] == {"perform": True}
    assert data["token"]["fingerprint"] == hashlib.sha256(token.encode()).hexdigest()[:16]
    served = json.dumps(await control_get(sim, "/__voicewire/journal"))
    assert token not in served and token.split(".")[2] not in served


@pytest.mark.spec("SRV-4")
async def test_a_deeply_nested_body_never_breaks_reading_the_journal(start_simulator):
    sim = await start_simulator()
    await raw_exchange(sim, post_chat_bytes(sim, b"[" * 978 + b"]" * 978))
    [entry] = [e for e in sim.journal.entries() if e["kind"] == "http_request"]
    assert entry["data"]["body"].startswith("[[[")  # shown as text, not decoded
    served = await control_get(sim, "/__voicewire/journal")
    assert len(served["entries"]) == len(sim.journal.entries())


async def test_the_journal_is_served_in_pages_behind_a_cursor(start_simulator):
    sim = await start_simulator()
    async with httpx.AsyncClient() as client:
        for n in range(4):
            await client.post(
                sim.base_url + CHAT,
                json=chat_body(f"n{n}"),
                headers={"Authorization": f"Bearer {token_of(sim)}"},
            )
    everything = sim.journal.entries()
    pages: list[list[dict[str, Any]]] = []
    after: int | None = None
    while True:
        params = {"limit": "5", **({"after": str(after)} if after is not None else {})}
        page = await control_get(sim, "/__voicewire/journal", **params)
        pages.append(page["entries"])
        if page["next"] is None:
            break
        assert page["next"] == page["entries"][-1]["seq"]
        after = page["next"]
    assert all(len(p) == 5 for p in pages[:-1]) and len(pages[-1]) <= 5
    assert [e for p in pages for e in p] == everything
    default = await control_get(sim, "/__voicewire/journal")
    assert default["entries"] == everything and default["next"] is None


@pytest.mark.spec("SRV-7", "SRV-2")
async def test_reading_a_large_journal_page_leaves_other_sessions_their_timing(start_simulator):
    sim = await start_simulator()
    journal = sim.journal
    body = journal.body(json.dumps({"text": "w" * 60_000}).encode())
    for n in range(800):  # about 48 MB of bodies, each decoded and encoded when read
        journal.record(
            scenario="default", exchange=n, direction="in", kind="http_request", data={"body": body}
        )

    async def read_everything() -> int:
        async with (
            aiohttp.ClientSession(headers=sim.control_headers) as session,
            session.get(
                sim.base_url + "/__voicewire/journal", params={"limit": "10000"}
            ) as response,
        ):
            return len((await response.json())["entries"])

    count, samples = await ttfb_while(sim, read_everything())
    assert count >= 800
    assert max(samples) < TTFB_BOUND, samples


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("exchange=one", "exchange"),
        ("after=-1", "after"),
        ("limit=0", "limit"),
        ("limit=10001", "limit"),
        ("follow=maybe", "follow"),
        ("colour=red", "colour"),
        ("exchange=1&exchange=2", "exchange"),
    ],
)
async def test_every_journal_query_parameter_is_checked(start_simulator, query, named):
    sim = await start_simulator()
    raw = await raw_exchange(
        sim,
        request_bytes(
            "GET",
            f"/__voicewire/journal?{query}",
            headers={"X-Voicewire-Control-Token": sim.control_token},
            host=f"127.0.0.1:{sim.port}",
        ),
    )
    assert f"'{named}'" in assert_json_error(raw, 400)["message"]


async def test_following_the_journal_streams_entries_as_they_arrive_until_the_client_leaves(
    start_simulator,
):
    sim = await start_simulator()
    async with httpx.AsyncClient(timeout=ANSWER_TIMEOUT) as client:
        await client.post(
            sim.base_url + CHAT,
            json=chat_body("before"),
            headers={"Authorization": f"Bearer {token_of(sim)}"},
        )
        async with client.stream(
            "GET",
            sim.base_url + "/__voicewire/journal",
            params={"follow": "1"},
            headers=sim.control_headers,
        ) as response:
            assert response.headers["content-type"] == "application/x-ndjson"
            lines = response.aiter_lines()
            seen = [json.loads(await lines.__anext__()) for _ in range(len(sim.journal.entries()))]
            assert [e["seq"] for e in seen] == [e["seq"] for e in sim.journal.entries()]
            await eventually(lambda: sim.journal.followers == 1)

            await client.post(
                sim.base_url + CHAT,
                json=chat_body("after"),
                headers={"Authorization": f"Bearer {token_of(sim)}"},
            )
            arrived = json.loads(await asyncio.wait_for(lines.__anext__(), ANSWER_TIMEOUT))
            assert arrived["kind"] == "http_request"
            assert arrived["data"]["body"]["messages"][0]["content"] == "after"
    # The client left: the server stops following within its check interval.
    await eventually(lambda: sim.journal.followers == 0, timeout=5)


# -- the control API: token and Host -----------------------------------------------------------


async def test_the_control_api_wants_its_token_in_either_header(start_simulator):
    sim = await start_simulator(control_token="open-sesame")
    url = sim.base_url + "/__voicewire/scenarios"
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as response:
            assert response.status == 401
            error = (await response.json())["error"]
            assert error["type"] == "authentication_error"
            assert "X-Voicewire-Control-Token" in error["message"]
        async with session.get(url, headers={"Authorization": "Bearer wrong"}) as response:
            assert response.status == 401
        async with session.get(url, headers={"Authorization": "Bearer open-sesame"}) as response:
            assert response.status == 200
        async with session.get(
            url, headers={"X-Voicewire-Control-Token": "open-sesame"}
        ) as response:
            assert response.status == 200
        async with session.put(url + "/x", json={"rules": []}) as response:
            assert response.status == 401
        async with session.post(sim.base_url + "/__voicewire/reset") as response:
            assert response.status == 401
        async with session.get(sim.base_url + "/__voicewire/health") as response:
            assert response.status == 200  # liveness needs no token


async def test_the_control_index_is_open_and_says_which_endpoints_need_the_token(
    start_simulator,
):
    # The URL serve prints answers without the token (it reveals nothing), with and without
    # its slash, under any Host; every other endpoint but health still wants the token.
    sim = await start_simulator()
    async with aiohttp.ClientSession() as session:
        indexes = []
        for path in ("/__voicewire/", "/__voicewire"):
            async with session.get(
                sim.base_url + path, headers={"Host": "evil.example"}
            ) as response:
                assert response.status == 200
                assert response.content_type == "application/json"
                indexes.append(await response.json())
        async with session.get(
            sim.base_url + "/__voicewire/",
            headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
        ) as response:
            assert response.status == 200 and response.content_type == "text/html"
            page = await response.text()
        for endpoint in indexes[0]["endpoints"]:
            if endpoint["token"]:
                path = endpoint["path"].replace("{name}", "x")
                async with session.request(endpoint["method"], sim.base_url + path) as response:
                    assert response.status == 401, endpoint
    index = indexes[0]
    assert indexes[1] == index
    needs_token = {(e["method"], e["path"]): e["token"] for e in index["endpoints"]}
    assert needs_token == {
        ("GET", "/__voicewire/"): False,
        ("GET", "/__voicewire/health"): False,
        ("GET", "/__voicewire/scenarios"): True,
        ("PUT", "/__voicewire/scenarios/{name}"): True,
        ("DELETE", "/__voicewire/scenarios/{name}"): True,
        ("POST", "/__voicewire/reset"): True,
        ("GET", "/__voicewire/journal"): True,
        ("GET", "/__voicewire/usage"): True,
    }
    assert "Authorization: Bearer <token>" in index["authentication"]
    assert "X-Voicewire-Control-Token: <token>" in index["authentication"]
    assert index["journal_cli"] == "voicewire journal --url http://evil.example --token <token>"
    assert "<table>" in page and "/__voicewire/journal" in page and "voicewire journal" in page
    assert sim.control_token not in json.dumps(indexes) + page


async def test_two_simulators_have_different_random_tokens(start_simulator):
    first, second = await start_simulator(), await start_simulator()
    assert first.control_token != second.control_token and len(first.control_token) >= 32


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("127.0.0.1:{port}", 200),
        ("localhost:{port}", 200),
        ("LOCALHOST:{port}", 200),
        # Any address and any port (no name to rebind): a port forward's, as docker run -p
        # 9000:8080 or an SSH tunnel give.
        ("10.9.8.7:{port}", 200),
        ("[::1]:{port}", 200),
        ("127.0.0.1:1", 200),
        ("127.0.0.1", 200),
        ("evil.example:{port}", 403),
        ("evil.example", 403),
        ("[::1:{port}", 403),
        ("127.0.0.1:x", 403),
        ("127.0.0.1:", 403),
        ("", 403),
    ],
)
async def test_the_control_api_answers_only_under_its_own_host(start_simulator, host, status):
    sim = await start_simulator()
    raw = await raw_exchange(
        sim,
        request_bytes(
            "GET",
            "/__voicewire/scenarios",
            headers={"X-Voicewire-Control-Token": sim.control_token},
            host=host.format(port=sim.port),
        ),
    )
    if status == 200:
        assert parse_answer(raw)[0] == 200
    else:
        assert "Host" in assert_json_error(raw, 403)["message"]


async def test_the_protocol_endpoints_answer_under_any_host(start_simulator):
    sim = await start_simulator()
    raw = await raw_exchange(
        sim,
        request_bytes(
            "POST",
            CHAT,
            headers={"Authorization": f"Bearer {token_of(sim)}"},
            body=json.dumps(chat_body()).encode(),
            host="evil.example",
        ),
    )
    assert parse_answer(raw)[0] == 200


async def test_a_configured_host_name_is_accepted_by_the_host_check():
    # An app served by a plain aiohttp runner: the middlewares and the Host check are the
    # app's own, whatever runs it.
    app = create_app(control_token="t", host_names=["Sim.Internal"])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with httpx.AsyncClient() as client:
            named = await client.get(
                f"http://127.0.0.1:{port}/__voicewire/scenarios",
                headers={"Host": f"sim.internal:{port}", "X-Voicewire-Control-Token": "t"},
            )
            other = await client.get(
                f"http://127.0.0.1:{port}/__voicewire/scenarios",
                headers={"Host": f"other.internal:{port}", "X-Voicewire-Control-Token": "t"},
            )
            missing = await client.get(f"http://127.0.0.1:{port}/nowhere")
    finally:
        await runner.cleanup()
    assert named.status_code == 200
    assert other.status_code == 403 and other.json()["error"]["code"] == 403
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found"


async def test_a_server_beyond_loopback_must_be_asked_for():
    with pytest.raises(ValueError, match="loopback"):
        SimulatorServer(host="0.0.0.0")
    server = SimulatorServer(host="0.0.0.0", allow_non_loopback=True)
    assert server.host == "0.0.0.0"
