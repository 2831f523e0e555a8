"""Server direction, STT: hostile client sessions (SPEC §7 SRV-1..4, §3.2 STT-S-1, §1.1 AUTH-4).

The server is ``voicewire_iut.server()``: voicewire's own embedded simulator for
``--iut reference``, or a gateway given with ``--iut url:<base_url>#protocols=...,stt``. Each
example of :mod:`voicewire.suites.robustness.stt_sessions` is played over its own connection
(aiohttp sessions of :mod:`voicewire.suites.stt.raw_sessions` where a WebSocket client can say
it; raw sockets for half an upgrade, a bad ``Authorization`` byte and a TCP reset), while a
valid session (50 ms frames of tone-coded speech, then ``session.finalize``) runs beside it;
another valid session follows them. Nothing depends on the text of a transcript.

What every example is judged on:

- a hostile session ends with a close frame and code (SRV-3): 1003 for a binary frame (SRV-3),
  1009 for a message over the size limit (SRV-4; a server of unknown limit may answer the
  over-long audio frame with an ``error`` 400 instead); otherwise each hostile frame gets an
  ``error`` with code 400 and the socket stays usable, so the closing ``session.finalize`` gets
  ``session.finalized`` and a close 1000 (STT-S-1), unless the server closed the session with
  1003 or 1008 (SRV-1); never an error of another code, a close 1011 or a transcript before
  ``session.created`` (SRV-1, STT-S-1);
- a bad token gets HTTP 401 with the ``authentication_error`` body and no upgrade (AUTH-4; 400
  where the header holds bytes no header may); half an upgrade request is closed by the head
  deadline and a quiet session with a close code by the idle deadline (SRV-4), waited for as
  :class:`~voicewire.suites.robustness.requests.ServerWaits` says (``VOICEWIRE_SERVER_WAITS``);
- the valid session beside the peer ends with ``session.finalized`` and a close 1000 (SRV-2),
  and so does the one after it (SRV-1: the server keeps serving).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from voicewire.harness.iut import Target
from voicewire.harness.replay import classify, property_family
from voicewire.harness.verdicts import expect, require
from voicewire.reference.auth import create_access_token
from voicewire.simulators.core.limits import Limits
from voicewire.suites.robustness.requests import (
    DEFAULT_WAITS,
    ServerWaits,
    authorization_value,
    server_waits,
    waits_for_limits,
)
from voicewire.suites.robustness.stt_sessions import (
    HOSTILE_SESSION_BOUNDARIES,
    SESSION_PEER_BOUNDARIES,
    hostile_sessions,
    session_peers,
)
from voicewire.suites.stt.raw_sessions import (
    CREATE,
    FINALIZE,
    MODEL,
    SESSION_TIMEOUT,
    TRANSCRIPTS,
    Session,
    ends_cleanly,
    input_audio_frames,
    is_400_error,
    play,
    silent_pcm,
    speech,
    ws_url,
)

EMBEDDED_ANSWER_WAIT = 10.0
"""How long voicewire's embedded simulator may take to answer (it answers in milliseconds)."""

_KEY = "MDEyMzQ1Njc4OWFiY2RlZg=="
_MASK = b"\x5a\xa5\x3c\xc3"


@dataclass(frozen=True)
class _Server:
    target: Target
    waits: ServerWaits
    max_message: int
    """The message size limit: the embedded simulator's, or voicewire's default for others."""
    embedded: bool


def _server(voicewire_iut: Any, voicewire_simulator: Any) -> _Server:
    target = voicewire_iut.server()
    embedded = target.base_url == voicewire_simulator.base_url
    if embedded:
        limits = voicewire_simulator.limits
        default = waits_for_limits(limits, answer=EMBEDDED_ANSWER_WAIT)
    else:
        limits, default = Limits(), DEFAULT_WAITS
    return _Server(target, server_waits(os.environ, default), limits.max_body_bytes, embedded)


# -- playing -----------------------------------------------------------------------------------


def expand(frames: list[Any], max_message: int) -> list[str | bytes]:
    """An example's frames as the text (str) and binary (bytes) frames to send."""
    out: list[str | bytes] = []
    for frame in frames:
        if frame == "CREATE":
            out.append(CREATE)
        elif frame == "FINALIZE":
            out.append(FINALIZE)
        elif "audio" in frame:
            out += input_audio_frames(silent_pcm(frame["audio"]))
        elif "repeat" in frame:
            out += [frame["text"]] * frame["repeat"]
        elif "text" in frame:
            out.append(frame["text"])
        elif "binary" in frame:
            out.append(bytes.fromhex(frame["binary"]))
        else:
            head, tail = '{"type": "input_audio", "audio": "', '"}'
            size = max_message + frame["oversized"] - len(head) - len(tail)
            out.append(head + "A" * size + tail)
    return out


def _valid() -> list[str | bytes]:
    return [CREATE, *input_audio_frames(speech()), FINALIZE]


@dataclass
class _RawAnswer:
    """What a raw upgrade request got: the status (0: none), the head and body as far as they
    came, whether the server closed the connection, and when (seconds after the last byte
    sent)."""

    status: int = 0
    head: bytes = b""
    body: bytes = b""
    closed_after: float | None = None

    def describe(self) -> str:
        if not self.head:
            end = (
                f"closed {self.closed_after:.2f} s after the last byte"
                if self.closed_after is not None
                else "still open"
            )
            return f"no answer, {end}"
        return f"{self.head.decode('latin-1')[:300]!r} {self.body[:300]!r}"


async def _open(target: Target) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, str]:
    parts = urlsplit(target.base_url)
    tls = ssl.create_default_context() if parts.scheme == "https" else None
    port = parts.port or (443 if tls else 80)
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(parts.hostname, port, ssl=tls), SESSION_TIMEOUT
    )
    return reader, writer, f"{parts.path}/stt?model={MODEL}"


def _upgrade_head(target: Target, path: str, authorization: bytes | None) -> bytes:
    netloc = urlsplit(target.base_url).netloc
    lines = [
        f"GET {path} HTTP/1.1".encode(),
        f"Host: {netloc}".encode(),
        b"Upgrade: websocket",
        b"Connection: Upgrade",
        b"Sec-WebSocket-Version: 13",
        f"Sec-WebSocket-Key: {_KEY}".encode(),
    ]
    if authorization is not None:
        lines.append(b"Authorization: " + authorization)
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def _read_answer(reader: asyncio.StreamReader, wait: float, sent: float) -> _RawAnswer:
    """Read an HTTP answer (a 101 head, or a head and its ``Content-Length`` body) or the
    connection's end, for at most ``wait`` seconds."""
    answer = _RawAnswer()
    data = b""
    deadline = time.monotonic() + wait
    while True:
        if b"\r\n\r\n" in data and not answer.head:
            answer.head, _, data = data.partition(b"\r\n\r\n")
            status_line = answer.head.split(b"\r\n", 1)[0].split()
            if len(status_line) >= 2 and status_line[1].isdigit():
                answer.status = int(status_line[1])
            if answer.status == 101:
                return answer
        if answer.head:
            answer.body = data
            length = _content_length(answer.head)
            if length is not None and len(data) >= length:
                return answer
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return answer
        try:
            chunk = await asyncio.wait_for(reader.read(65536), remaining)
        except (asyncio.TimeoutError, TimeoutError):
            return answer
        except ConnectionError:
            chunk = b""
        if not chunk:
            answer.closed_after = time.monotonic() - sent
            if answer.head:
                answer.body = data
            return answer
        data += chunk


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return int(value.strip())
    return None


def _ws_frame(payload: bytes) -> bytes:
    """One masked text frame, as a client sends it."""
    size = len(payload)
    if size < 126:
        head = bytes([0x81, 0x80 | size])
    elif size < 1 << 16:
        head = bytes([0x81, 0x80 | 126]) + size.to_bytes(2, "big")
    else:
        head = bytes([0x81, 0x80 | 127]) + size.to_bytes(8, "big")
    masked = bytes(byte ^ _MASK[i % 4] for i, byte in enumerate(payload))
    return head + _MASK + masked


async def _raw_peer(server: _Server, peer: dict[str, Any]) -> _RawAnswer:
    """A bad-token upgrade, half an upgrade, or a session that resets its connection."""
    target, waits = server.target, server.waits
    reader, writer, path = await _open(target)
    try:
        if peer["kind"] == "bad_token":
            authorization = authorization_value(peer["token"], target, time.time())
        else:
            token = create_access_token(target.api_key, target.api_secret)
            authorization = f"Bearer {token}".encode()
        head = _upgrade_head(target, path, authorization)
        if peer["kind"] == "half_upgrade":
            writer.write(head[: min(peer["cut"], len(head) - 4)])
            await writer.drain()
            return await _read_answer(reader, waits.head, time.monotonic())
        writer.write(head)
        await writer.drain()
        answer = await _read_answer(reader, waits.answer, time.monotonic())
        if peer["kind"] == "reset" and answer.status == 101:
            for frame in expand(peer["frames"], server.max_message):
                assert isinstance(frame, str)
                writer.write(_ws_frame(frame.encode()))
            await writer.drain()
            writer.transport.abort()
        return answer
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def _quiet(server: _Server, peer: dict[str, Any]) -> tuple[Session, float | None]:
    """A session that sends its frames and then nothing: what it saw, and how long after its
    last frame the server closed it (None: not within the idle wait)."""
    seen = Session()
    token = create_access_token(server.target.api_key, server.target.api_secret)
    timeout = aiohttp.ClientTimeout(total=server.waits.idle + SESSION_TIMEOUT)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.ws_connect(
            ws_url(server.target), headers={"Authorization": f"Bearer {token}"}, autoclose=False
        ) as ws,
    ):
        for frame in expand(peer["frames"], server.max_message):
            await ws.send_str(str(frame))
        quiet_since = time.monotonic()
        deadline = quiet_since + server.waits.idle
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                message = await ws.receive(timeout=remaining)
            except asyncio.TimeoutError:
                break
            if message.type is aiohttp.WSMsgType.TEXT:
                seen.messages.append(message.data)
            elif message.type is not aiohttp.WSMsgType.BINARY:
                seen.close_code = ws.close_code
                return seen, time.monotonic() - quiet_since
        seen.failure = f"still open {server.waits.idle:g} s after its last frame"
        return seen, None


@dataclass
class _Played:
    peer: Any
    beside: Session
    after: Session


async def _play(server: _Server, example: dict[str, Any]) -> _Played:
    peer_spec = example.get("peer")
    if peer_spec is None:
        hostile = play(server.target, expand(example["frames"], server.max_message))
    elif peer_spec["kind"] == "idle":
        hostile = _quiet(server, peer_spec)
    else:
        hostile = _raw_peer(server, peer_spec)
    peer, beside = await asyncio.gather(hostile, play(server.target, _valid()))
    after = await play(server.target, _valid())
    return _Played(peer, beside, after)


# -- judging -----------------------------------------------------------------------------------


def _late_frames(example: dict[str, Any], max_message: int) -> int:
    """How many frames follow the first ``session.finalize``: the server may close before it
    reads them, so they may go unanswered."""
    frames = example["frames"]
    if "FINALIZE" not in frames:
        return 0
    return len(expand(frames[frames.index("FINALIZE") + 1 :], max_message))


def _judge_session(example: dict[str, Any], seen: Session, server: _Server) -> str:
    what = f"{example['family']}: {example['what']}"
    want = example["expect"]
    require(
        seen.upgraded, "SRV-1", f"{what}: the upgrade with a fresh token failed: {seen.failure}"
    )
    expect(
        seen.failure is None and seen.close_code is not None,
        "SRV-3",
        f"{what}: the session must end with a close frame and code: {seen.describe()}",
    )
    errors = [m for m in seen.messages if isinstance(m, dict) and m.get("type") == "error"]
    if want["close"] is not None:
        allowed = seen.close_code in want["close"]
        if example["family"] == "oversized" and not server.embedded:
            # Of unknown limit: the over-long audio frame itself may be what is refused.
            allowed = allowed or (any(is_400_error(m) for m in errors) and ends_cleanly(seen))
        expect(
            allowed,
            want["rule"],
            f"{what}: expected a close with {' or '.join(map(str, want['close']))}: "
            f"{seen.describe()}",
        )
        return f"closed {seen.close_code}"
    expect(
        seen.close_code != 1011 and all(is_400_error(m) for m in errors),
        "SRV-1",
        f"{what}: a bad client message gets a protocol error (code 400), never another code or "
        f"a close 1011: {seen.describe()}",
    )
    types = seen.types()
    created = types.index("session.created") if "session.created" in types else len(types)
    expect(
        not TRANSCRIPTS.intersection(types[:created]),
        "STT-S-1",
        f"{what}: a transcript before session.created: {seen.describe()}",
    )
    if seen.close_code in (1003, 1008):
        return f"closed {seen.close_code}"
    late = _late_frames(example, server.max_message)
    hostile = example["hostile"]
    expect(
        hostile <= len(errors) <= hostile + late,
        "STT-S-1",
        f"{what}: {hostile} bad message(s) must each get an error with code 400 (or the session "
        f"a close 1003/1008); {len(errors)} error(s) came: {seen.describe()}",
    )
    expect(
        ends_cleanly(seen),
        "STT-S-1",
        f"{what}: the socket must stay usable: session.finalize must still get "
        f"session.finalized and a close 1000: {seen.describe()}",
    )
    answered = "an error for each bad message" if errors else "no error"
    return f"{answered}, then closed {seen.close_code}"


def _judge_peer(example: dict[str, Any], peer: Any, server: _Server) -> str:
    what = f"{example['family']}: {example['what']}"
    spec = example["peer"]
    kind = spec["kind"]
    if kind == "idle":
        seen, closed_after = peer
        require(seen.upgraded, "SRV-1", f"{what}: the upgrade failed: {seen.failure}")
        expect(
            closed_after is not None and seen.close_code is not None,
            "SRV-4",
            f"{what}: a quiet session must be closed, with a code, by the server's idle "
            f"deadline (waited {server.waits.idle:g} s): {seen.describe()}",
        )
        return f"closed {seen.close_code}" if closed_after is not None else "still open"
    answer: _RawAnswer = peer
    if kind == "bad_token":
        value = authorization_value(spec["token"], server.target, time.time()) or b""
        unsendable = any(byte < 0x20 or byte == 0x7F for byte in value if byte != 0x09)
        statuses = (400, 401) if unsendable else (401,)
        expect(
            answer.status in statuses,
            "AUTH-4",
            f"{what}: expected HTTP {' or '.join(map(str, statuses))} before any upgrade, got "
            f"{answer.describe()}",
        )
        if answer.status == 401:
            error = _error_of(answer.body)
            expect(
                isinstance(error, dict)
                and error.get("type") == "authentication_error"
                and error.get("code") == 401
                and isinstance(error.get("message"), str),
                "AUTH-4",
                f'{what}: the 401 body must be {{"error": {{"message", "type": '
                f'"authentication_error", "code": 401}}}}, got {answer.describe()}',
            )
        return f"HTTP {answer.status}"
    if kind == "half_upgrade":
        expect(
            answer.status != 101 and not 500 <= answer.status <= 599,
            "SRV-1",
            f"{what}: half an upgrade request must never be upgraded or answered 5xx: "
            f"{answer.describe()}",
        )
        expect(
            answer.closed_after is not None,
            "SRV-4",
            f"{what}: the connection must be closed by the server's head deadline (waited "
            f"{server.waits.head:g} s): {answer.describe()}",
        )
        return "closed" if answer.closed_after is not None else "still open"
    require(
        answer.status == 101,
        "SRV-1",
        f"{what}: the upgrade with a fresh token failed: {answer.describe()}",
    )
    return "reset"


def _error_of(body: bytes) -> Any:
    """The ``error`` object of a JSON error body, or None."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return document.get("error") if isinstance(document, dict) else None


def judge(example: dict[str, Any], played: _Played, server: _Server) -> None:
    """Every expectation of one example (see the module docstring)."""
    what = f"{example['family']}: {example['what']}"
    if "peer" in example:
        label = _judge_peer(example, played.peer, server)
    else:
        label = _judge_session(example, played.peer, server)
    classify(f"{example['family']} → {label}")
    expect(
        ends_cleanly(played.beside),
        "SRV-2",
        f"{what}: the valid session beside it must end with session.finalized and a close "
        f"1000: {played.beside.describe()}",
    )
    expect(
        ends_cleanly(played.after),
        "SRV-1",
        f"{what}: the server must keep serving: the valid session after it must end with "
        f"session.finalized and a close 1000: {played.after.describe()}",
    )


def check(voicewire_iut: Any, voicewire_simulator: Any, example: dict[str, Any]) -> None:
    """Play ``example`` against the server under test and judge it."""
    server = _server(voicewire_iut, voicewire_simulator)
    limit = server.waits.longest + 3 * SESSION_TIMEOUT + 30
    played = voicewire_iut.run(_play(server, example), timeout=limit)
    judge(example, played, server)


@pytest.mark.spec("STT-S-1", "SRV-1", "SRV-2", "SRV-3", "SRV-4")
@pytest.mark.capability("stt.server")
@property_family("hostile-stt-sessions", hostile_sessions(), boundaries=HOSTILE_SESSION_BOUNDARIES)
def test_hostile_stt_sessions(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """Bad, mistyped, out-of-order, binary, oversized and flooding frames get a 400 error, a
    close 1003 or a close 1009; the socket stays usable; sessions beside and after are served."""
    check(voicewire_iut, voicewire_simulator, example)


@pytest.mark.spec("AUTH-4", "SRV-1", "SRV-2", "SRV-3", "SRV-4")
@pytest.mark.capability("stt.server")
@property_family(
    "stt-session-peers", session_peers(), max_examples=4, boundaries=SESSION_PEER_BOUNDARIES
)
def test_stt_session_peers(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """Bad tokens get 401 before any upgrade; half upgrades and quiet sessions are closed by
    the server's deadlines; resets change nothing for the sessions beside and after."""
    check(voicewire_iut, voicewire_simulator, example)
