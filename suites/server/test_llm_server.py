"""An LLM server under test: streaming chat completions (SPEC §2.2), authentication (§1.1
AUTH-4) and robustness (§7 SRV-1, SRV-2).

The server is ``voicewire_iut.server()``: voicewire's own simulator for ``--iut reference``, or
any gateway given with ``--iut url:<base_url>`` (credentials from ``VOICEWIRE_IUT_API_KEY`` /
``VOICEWIRE_IUT_API_SECRET``). The cases speak raw HTTP (aiohttp, on the harness loop) so they
see the bytes on the wire, and they only send requests any real gateway answers: a plain user
message, never a script. Nothing depends on the content of the reply.

- LLM-SSE-1: ``data: <json>`` frames, ended by ``data: [DONE]``;
- LLM-SSE-2: the chunk object and choice shapes, one ``id`` for all chunks, finish reasons;
- LLM-SSE-4: with ``include_usage``, a usage chunk with ``choices: []`` after the finish chunk;
- LLM-SSE-5 / SRV-1: a malformed request gets a 400 JSON error (never a 500), and the server
  keeps serving;
- AUTH-4: every kind of bad token gets 401 with the ``authentication_error`` body;
- SRV-2: sessions that abandon a stream, send garbage or stall mid-request do not disturb
  concurrent good sessions.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import ssl
import time
import warnings
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import jwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning
from voicewire.harness.iut import Target
from voicewire.harness.verdicts import expect, require
from voicewire.reference.auth import create_access_token
from voicewire.reference.llm.wire import chunk_problems, strict_framing

MODEL = "openai/gpt-4.1-mini"
REQUEST_TIMEOUT = 30.0
# SRV-2 runs its sessions together, within the harness's 60 s per operation.
GOOD_SESSION_TIMEOUT = 20.0
MISBEHAVIOUR_TIMEOUT = 10.0


def chat_body(*, include_usage: bool = True) -> dict[str, Any]:
    """A request every gateway answers: one short user message, streamed (LLM-REQ-1)."""
    body: dict[str, Any] = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Say hello in one short sentence."}],
        "stream": True,
    }
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    return body


class _Fresh:
    """A fresh valid token for the target's credentials (the default authorization)."""


FRESH = _Fresh()
NOT_JSON = object()


@dataclass(frozen=True)
class Answer:
    """One HTTP exchange as the client saw it."""

    status: int
    content_type: str
    body: bytes
    failure: str | None = None
    """Why no HTTP answer came (connection refused or reset, timeout); ``status`` is 0."""

    def json(self) -> Any:
        """The body as JSON, or :data:`NOT_JSON`."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return NOT_JSON

    def describe(self) -> str:
        """A short rendering for failure messages."""
        if self.failure is not None:
            return f"no HTTP answer: {self.failure}"
        return f"HTTP {self.status} ({self.content_type or 'no content type'}): {self.body[:300]!r}"


async def post(
    target: Target,
    body: dict[str, Any] | bytes,
    *,
    authorization: Any = FRESH,
    timeout: float = REQUEST_TIMEOUT,
) -> Answer:
    """POST ``body`` to ``{base_url}/chat/completions`` and read the whole answer.

    ``authorization``: :data:`FRESH`, a header value, or None for no header. A server that
    resets, refuses or never answers gives an :class:`Answer` with status 0 and the
    ``failure``, so the case fails on the rule instead of erroring; ``timeout`` bounds the
    whole exchange.
    """
    headers = {"Content-Type": "application/json"}
    if authorization is FRESH:
        token = create_access_token(target.api_key, target.api_secret)
        headers["Authorization"] = f"Bearer {token}"
    elif authorization is not None:
        headers["Authorization"] = authorization
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.post(f"{target.base_url}/chat/completions", data=data, headers=headers) as resp,
        ):
            raw = await resp.read()
            return Answer(resp.status, resp.headers.get("Content-Type", ""), raw)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        reason = str(exc) or f"no answer within {timeout:g} s"
        return Answer(0, "", b"", failure=f"{type(exc).__name__}: {reason}")


def stream_chunks(answer: Answer) -> list[Any]:
    """The chunk objects of a well-framed stream (LLM-SSE-1 checked on the way).

    Without a 200 event stream the case stops: nothing it checks about chunks was observed,
    so none of it may count as passed."""
    require(
        answer.status == 200 and answer.content_type.startswith("text/event-stream"),
        "LLM-SSE-1",
        f"expected a 200 text/event-stream answer, got {answer.describe()}",
    )
    payloads, problems = strict_framing(answer.body)
    expect(not problems, "LLM-SSE-1", f"stream framing: {problems}\n  {answer.body[:600]!r}")
    chunks = []
    for payload in payloads[:-1]:
        try:
            chunks.append(json.loads(payload))
        except ValueError:
            expect(False, "LLM-SSE-1", f"a data frame is not JSON: {payload[:120]!r}")
    return chunks


def complete(answer: Answer) -> bool:
    """A 200 stream that reached ``data: [DONE]``."""
    payloads, _ = strict_framing(answer.body)
    return answer.status == 200 and payloads[-1:] == ["[DONE]"]


def is_int(value: Any) -> bool:
    """A JSON integer (``true`` is not one)."""
    return isinstance(value, int) and not isinstance(value, bool)


# -- LLM-SSE-1 / LLM-SSE-2 / LLM-SSE-4 ---------------------------------------------------------


@pytest.mark.spec("LLM-SSE-1")
@pytest.mark.capability("llm.server")
@pytest.mark.parametrize("include_usage", [True, False], ids=["include_usage", "no_usage"])
def test_stream_is_data_frames_ended_by_done(voicewire_iut: Any, include_usage: bool) -> None:
    """A completion streams as `data: <json>` frames and ends with `data: [DONE]`."""
    target = voicewire_iut.server()
    answer = voicewire_iut.run(post(target, chat_body(include_usage=include_usage)))
    chunks = stream_chunks(answer)
    expect(chunks, "LLM-SSE-1", f"no chunk before [DONE]: {answer.describe()}")


@pytest.mark.spec("LLM-SSE-2")
@pytest.mark.capability("llm.server")
def test_chunks_have_the_completion_chunk_shape(voicewire_iut: Any) -> None:
    """Every chunk has the chat.completion.chunk shape, and all chunks share one id.

    id, object, created, model, choices (index, delta, finish_reason among the allowed
    values) and usage null or an object."""
    target = voicewire_iut.server()
    chunks = stream_chunks(voicewire_iut.run(post(target, chat_body())))
    for number, chunk in enumerate(chunks):
        problems = chunk_problems(chunk)
        expect(not problems, "LLM-SSE-2", f"chunk {number} {chunk!r:.300}: {problems}")
    ids = {chunk["id"] for chunk in chunks}
    expect(len(ids) == 1, "LLM-SSE-2", f"the chunks of one completion carry several ids: {ids}")
    expect(
        any(choice for chunk in chunks for choice in chunk["choices"]),
        "LLM-SSE-2",
        "no chunk has a choice",
    )


@pytest.mark.spec("LLM-SSE-4")
@pytest.mark.capability("llm.server")
def test_usage_chunk_follows_the_finish_chunk(voicewire_iut: Any) -> None:
    """With include_usage, a `choices: []` chunk with the token counts follows the finish.

    Exactly one such chunk, after the chunk whose choice has a finish_reason."""
    target = voicewire_iut.server()
    chunks = stream_chunks(voicewire_iut.run(post(target, chat_body(include_usage=True))))
    finishes = [
        number
        for number, chunk in enumerate(chunks)
        if isinstance(chunk, dict)
        and any(isinstance(c, dict) and c.get("finish_reason") for c in chunk.get("choices") or [])
    ]
    usages = [
        number
        for number, chunk in enumerate(chunks)
        if isinstance(chunk, dict)
        and chunk.get("choices") == []
        and isinstance(chunk.get("usage"), dict)
    ]
    shown = "\n".join(
        f"  {number}: {json.dumps(chunk)[:200]}" for number, chunk in enumerate(chunks)
    )
    expect(len(usages) == 1, "LLM-SSE-4", f"expected one usage chunk with choices []:\n{shown}")
    expect(
        finishes and finishes[0] < usages[0],
        "LLM-SSE-4",
        f"the usage chunk must come after the finish chunk:\n{shown}",
    )
    usage = chunks[usages[0]]["usage"]
    counts = {key: usage.get(key) for key in ("prompt_tokens", "completion_tokens", "total_tokens")}
    expect(
        all(is_int(value) and value >= 0 for value in counts.values()),
        "LLM-SSE-4",
        f"usage counts must be integers >= 0: {usage}",
    )
    for details, key in (
        ("prompt_tokens_details", "cached_tokens"),
        ("completion_tokens_details", "reasoning_tokens"),
    ):
        value = usage.get(details)
        expect(
            value is None or (isinstance(value, dict) and is_int(value.get(key, 0))),
            "LLM-SSE-4",
            f"usage.{details} must be an object with an integer {key}: {usage}",
        )


# -- LLM-SSE-5 / SRV-1 ------------------------------------------------------------------------

BAD_REQUESTS = [
    pytest.param(b'{"model": "openai/gpt-4.1-mini", "messages": [', id="invalid-json"),
    pytest.param(b'["not", "an", "object"]', id="body-not-an-object"),
    pytest.param({"model": MODEL, "messages": "hello", "stream": True}, id="messages-a-string"),
    pytest.param({"model": MODEL, "stream": True}, id="messages-missing"),
]


@pytest.mark.spec("LLM-SSE-5", "SRV-1")
@pytest.mark.capability("llm.server")
@pytest.mark.parametrize("body", BAD_REQUESTS)
def test_malformed_request_gets_a_400_json_error(
    voicewire_iut: Any, body: dict[str, Any] | bytes
) -> None:
    """A malformed request gets a 400 JSON error (not a 500); the server goes on serving.

    The error body is {"error": {"message", "type", "code"}}."""
    target = voicewire_iut.server()
    answer = voicewire_iut.run(post(target, body))
    error = answer.json()
    error = error.get("error") if isinstance(error, dict) else None
    expect(
        not 200 <= answer.status < 300
        and isinstance(error, dict)
        and isinstance(error.get("message"), str)
        and isinstance(error.get("type"), str)
        and "code" in error,
        "LLM-SSE-5",
        f'expected a non-2xx {{"error": {{message, type, code}}}}, got {answer.describe()}',
    )
    expect(answer.status == 400, "SRV-1", f"expected HTTP 400, got {answer.describe()}")
    after = voicewire_iut.run(post(target, chat_body()))
    # Only "still serving" is judged here; the framing of the stream is LLM-SSE-1's.
    expect(
        after.status == 200 and b"data:" in after.body,
        "SRV-1",
        f"after the malformed request, a good one got {after.describe()}",
    )


# -- AUTH-4 -----------------------------------------------------------------------------------


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(target: Target, now: int, **changes: Any) -> dict[str, Any]:
    claims = {
        "iss": target.api_key,
        "sub": "agent",
        "nbf": now,
        "exp": now + 600,
        "inference": {"perform": True},
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def bad_authorization(variant: str, target: Target) -> str | None:
    """The Authorization header value of one AUTH-4 rejection case (None: no header)."""
    now = int(time.time())
    secret = target.api_secret

    def hs256(claims: dict[str, Any], key: str = secret, algorithm: str = "HS256") -> str:
        with warnings.catch_warnings():
            # HS512 with the (right) HS256 secret: pyjwt finds the key short; that is the point.
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            token = jwt.encode(claims, key, algorithm=algorithm, headers={"typ": "JWT"})
        return f"Bearer {token}"

    if variant == "missing-token":
        return None
    if variant == "empty-bearer":
        return "Bearer "
    if variant == "bad-signature":
        return hs256(_claims(target, now), key=secret + "-not-the-secret")
    if variant == "alg-none":
        return f"Bearer {_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(target, now))}."
    if variant == "alg-hs512":
        return hs256(_claims(target, now), algorithm="HS512")
    if variant == "unknown-iss":
        return hs256(_claims(target, now, iss="voicewire-unknown-api-key"))
    # Clocks of the harness and a remote server may differ a little: go well past the leeway.
    if variant == "expired":
        return hs256(_claims(target, now, nbf=now - 1200, exp=now - 600))
    if variant == "nbf-in-future":
        return hs256(_claims(target, now, nbf=now + 600, exp=now + 1200))
    if variant == "no-inference-grant":
        return hs256(_claims(target, now, inference=None))
    if variant == "perform-false":
        return hs256(_claims(target, now, inference={"perform": False}))
    raise ValueError(f"unknown AUTH-4 variant {variant!r}")


@pytest.mark.spec("AUTH-4")
@pytest.mark.capability("llm.server")
@pytest.mark.parametrize(
    "variant",
    [
        "missing-token",
        "empty-bearer",
        "bad-signature",
        "alg-none",
        "alg-hs512",
        "unknown-iss",
        "expired",
        "nbf-in-future",
        "no-inference-grant",
        "perform-false",
    ],
)
def test_bad_token_is_rejected_with_401(voicewire_iut: Any, variant: str) -> None:
    """A missing or invalid token gets 401 with an authentication_error body, no stream."""
    target = voicewire_iut.server()
    answer = voicewire_iut.run(
        post(target, chat_body(), authorization=bad_authorization(variant, target))
    )
    expect(answer.status == 401, "AUTH-4", f"{variant}: expected HTTP 401, got {answer.describe()}")
    body = answer.json()
    error = body.get("error") if isinstance(body, dict) else None
    expect(
        isinstance(error, dict)
        and error.get("type") == "authentication_error"
        and error.get("code") == 401
        and isinstance(error.get("message"), str),
        "AUTH-4",
        f'{variant}: expected {{"error": {{"message", "type": "authentication_error", '
        f'"code": 401}}}}, got {answer.describe()}',
    )


# -- SRV-2 ------------------------------------------------------------------------------------


async def _open_raw(target: Target) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    url = urlsplit(target.base_url)
    secure = url.scheme == "https"
    port = url.port or (443 if secure else 80)
    context = ssl.create_default_context() if secure else None
    return await asyncio.open_connection(url.hostname, port, ssl=context)


async def _abandon_stream(target: Target) -> None:
    """Start a completion and drop the connection once its first bytes arrive."""
    token = create_access_token(target.api_key, target.api_secret)
    timeout = aiohttp.ClientTimeout(total=MISBEHAVIOUR_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        resp = await session.post(
            f"{target.base_url}/chat/completions",
            json=chat_body(),
            headers={"Authorization": f"Bearer {token}"},
        )
        await resp.content.readany()
        resp.close()  # closes the connection mid-stream instead of reading on


async def _send_garbage(target: Target) -> None:
    """Write bytes that are not HTTP on a fresh connection, then hang up."""
    _, writer = await _open_raw(target)
    writer.write(b"\x16\x03\x01\x00\xffNOT HTTP AT ALL\r\n\xc3\x28\r\n\r\n")
    await writer.drain()
    writer.transport.abort()


async def _start_stalled_request(target: Target) -> asyncio.StreamWriter:
    """Send the head of a POST that announces a body it never finishes; keep it open."""
    url = urlsplit(target.base_url)
    _, writer = await _open_raw(target)
    token = create_access_token(target.api_key, target.api_secret)
    writer.write(
        (
            f"POST {url.path.rstrip('/')}/chat/completions HTTP/1.1\r\n"
            f"Host: {url.netloc}\r\n"
            f"Authorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 100000\r\n\r\n"
            '{"model": "openai/gpt-4.1-mini", "messages": [{"role": "user", "con'
        ).encode()
    )
    await writer.drain()
    return writer


async def _misbehave(coro: Coroutine[Any, Any, Any]) -> None:
    """Run one misbehaving session; how the server treats it is not this case's concern."""
    with contextlib.suppress(OSError, aiohttp.ClientError, asyncio.TimeoutError):
        await coro


async def _misbehave_around_good_sessions(target: Target, good: int) -> list[Answer]:
    """``good`` well-behaved sessions run while others stall, abandon, or send garbage."""
    stalled = await _start_stalled_request(target)
    try:
        answers = await asyncio.gather(
            *(post(target, chat_body(), timeout=GOOD_SESSION_TIMEOUT) for _ in range(good)),
            _misbehave(post(target, b'{"model": ', timeout=MISBEHAVIOUR_TIMEOUT)),
            _misbehave(_abandon_stream(target)),
            _misbehave(_send_garbage(target)),
        )
        return list(answers[:good])
    finally:
        stalled.transport.abort()  # hang up without finishing the body


@pytest.mark.spec("SRV-2")
@pytest.mark.capability("llm.server")
def test_misbehaving_sessions_do_not_affect_good_ones(voicewire_iut: Any) -> None:
    """Good sessions stream to [DONE] while others stall, hang up or send garbage.

    The misbehaving sessions stall mid-request, drop a stream mid-way, send bytes that are
    not HTTP or a malformed body; three concurrent good sessions and a later one must
    complete as a session alone does."""
    target = voicewire_iut.server()
    # A session alone first: the good sessions must do as well as it does (its own framing
    # is LLM-SSE-1's business, not this case's).
    alone = voicewire_iut.run(post(target, chat_body()))
    if alone.status != 200:
        raise RuntimeError(f"the server does not stream a plain request: {alone.describe()}")
    alone_completes = complete(alone)
    answers = voicewire_iut.run(_misbehave_around_good_sessions(target, good=3))
    answers.append(voicewire_iut.run(post(target, chat_body())))
    for number, answer in enumerate(answers):
        expect(
            answer.status == 200 and (complete(answer) or not alone_completes),
            "SRV-2",
            f"good session {number} of {len(answers)} (the last one ran afterwards) got "
            f"{answer.describe()}; alone, a session got HTTP {alone.status} "
            f"({'complete' if alone_completes else 'without [DONE]'})",
        )
