"""The raw-socket peers of a WebSocket server under test: what the hostile STT and TTS session
families (:mod:`voicewire.suites.robustness.test_hostile_stt_sessions`,
:mod:`voicewire.suites.robustness.test_hostile_tts_sessions`) both play and judge.

The server is ``voicewire_iut.server()`` with its limits (:func:`server_under_test`): the
embedded simulator's own, or voicewire's defaults for a ``url:`` gateway, waited for as
:class:`~voicewire.suites.robustness.requests.ServerWaits` says (``VOICEWIRE_SERVER_WAITS``).
A peer no WebSocket client can play goes over a raw socket (:func:`play_raw_peer`): an upgrade
request (:func:`upgrade_head`) with a bad token, cut short, or followed by masked text frames
(:func:`masked_text_frame`) and a TCP reset; its answer is read as bytes
(:func:`read_upgrade_answer`). A quiet peer (:func:`play_quiet_peer`) sends its frames over a
real WebSocket and then nothing. :func:`judge_websocket_peer` judges every one of them by
AUTH-4, SRV-1 and SRV-4, which say the same for both protocols; only the route, the frames and
the session record differ, and the caller gives them. :func:`judge_hostile_side` judges a peer
so, or a hostile session by the protocol's own judge, and classifies the example;
:func:`check_hostile_example` plays an example with the protocol's player and judges it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import ssl
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast
from urllib.parse import urlsplit

import aiohttp
from voicewire.harness.iut import Target
from voicewire.harness.replay import classify
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
from voicewire.suites.stt.raw_sessions import SESSION_TIMEOUT

__all__ = [
    "EMBEDDED_ANSWER_WAIT",
    "SeenSession",
    "ServerUnderTest",
    "UpgradeAnswer",
    "check_hostile_example",
    "judge_hostile_side",
    "judge_websocket_peer",
    "masked_text_frame",
    "play_quiet_peer",
    "play_raw_peer",
    "read_upgrade_answer",
    "server_under_test",
    "upgrade_head",
]

EMBEDDED_ANSWER_WAIT = 10.0
"""How long voicewire's embedded simulator may take to answer (it answers in milliseconds)."""

_KEY = "MDEyMzQ1Njc4OWFiY2RlZg=="
_MASK = b"\x5a\xa5\x3c\xc3"


@dataclass(frozen=True)
class ServerUnderTest:
    """The server the hostile sessions are played against, and the limits they are judged by."""

    target: Target
    waits: ServerWaits
    max_message: int
    """The message size limit: the embedded simulator's, or voicewire's default for others."""
    embedded: bool
    """Whether it is voicewire's embedded simulator (whose limits are known)."""


def server_under_test(voicewire_iut: Any, voicewire_simulator: Any) -> ServerUnderTest:
    """``voicewire_iut.server()`` with its limits and waits (``VOICEWIRE_SERVER_WAITS`` over
    the embedded simulator's deadlines, or over voicewire's defaults for another server)."""
    target = voicewire_iut.server()
    embedded = target.base_url == voicewire_simulator.base_url
    if embedded:
        limits = voicewire_simulator.limits
        default = waits_for_limits(limits, answer=EMBEDDED_ANSWER_WAIT)
    else:
        limits, default = Limits(), DEFAULT_WAITS
    return ServerUnderTest(
        target, server_waits(os.environ, default), limits.max_body_bytes, embedded
    )


class SeenSession(Protocol):
    """What a WebSocket session saw, as the STT and TTS session records both keep it."""

    messages: list[Any]
    close_code: int | None
    failure: str | None

    @property
    def upgraded(self) -> bool:
        """Whether the server accepted the upgrade."""
        ...

    def describe(self) -> str:
        """The messages and the end, for a failure message."""
        ...


_SeenT = TypeVar("_SeenT", bound=SeenSession)
_PlayedT = TypeVar("_PlayedT")


# -- the raw socket ----------------------------------------------------------------------------


@dataclass
class UpgradeAnswer:
    """What a raw upgrade request got: the status (0: none), the head and body as far as they
    came, whether the server closed the connection, and when (seconds after the last byte
    sent)."""

    status: int = 0
    head: bytes = b""
    body: bytes = b""
    closed_after: float | None = None

    def describe(self) -> str:
        """The answer as far as it came, or how the connection ended without one."""
        if not self.head:
            end = (
                f"closed {self.closed_after:.2f} s after the last byte"
                if self.closed_after is not None
                else "still open"
            )
            return f"no answer, {end}"
        return f"{self.head.decode('latin-1')[:300]!r} {self.body[:300]!r}"


async def _open(target: Target) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(target.base_url)
    tls = ssl.create_default_context() if parts.scheme == "https" else None
    port = parts.port or (443 if tls else 80)
    return await asyncio.wait_for(
        asyncio.open_connection(parts.hostname, port, ssl=tls), SESSION_TIMEOUT
    )


def upgrade_head(target: Target, route: str, authorization: bytes | None) -> bytes:
    """The head of a WebSocket upgrade request for ``route`` (the path and query below the
    server's base URL, e.g. ``/stt?model=deepgram/nova-3``), with ``authorization`` as the
    ``Authorization`` value (None: no such header)."""
    parts = urlsplit(target.base_url)
    lines = [
        f"GET {parts.path}{route} HTTP/1.1".encode(),
        f"Host: {parts.netloc}".encode(),
        b"Upgrade: websocket",
        b"Connection: Upgrade",
        b"Sec-WebSocket-Version: 13",
        f"Sec-WebSocket-Key: {_KEY}".encode(),
    ]
    if authorization is not None:
        lines.append(b"Authorization: " + authorization)
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def read_upgrade_answer(
    reader: asyncio.StreamReader, wait: float, sent: float
) -> UpgradeAnswer:
    """Read an HTTP answer (a 101 head, or a head and its ``Content-Length`` body) or the
    connection's end, for at most ``wait`` seconds; ``sent`` is when the last byte went out
    (monotonic)."""
    answer = UpgradeAnswer()
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


def masked_text_frame(payload: bytes) -> bytes:
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


# -- the peers ---------------------------------------------------------------------------------


async def play_raw_peer(
    server: ServerUnderTest,
    peer: dict[str, Any],
    *,
    route: str,
    frames: Sequence[object],
    reset_after_reply: bool = False,
) -> UpgradeAnswer:
    """A bad-token upgrade, half an upgrade, or a session that resets its connection: the
    ``peer`` of an example (``kind`` ``bad_token``, ``half_upgrade`` or ``reset``) played on
    ``route``. A ``reset`` peer sends ``frames`` (text) once upgraded, then, if
    ``reset_after_reply``, waits for the server's first byte in reply (so the reset finds the
    reply on its way out), and resets the connection."""
    target, waits = server.target, server.waits
    reader, writer = await _open(target)
    try:
        if peer["kind"] == "bad_token":
            authorization = authorization_value(peer["token"], target, time.time())
        else:
            token = create_access_token(target.api_key, target.api_secret)
            authorization = f"Bearer {token}".encode()
        head = upgrade_head(target, route, authorization)
        if peer["kind"] == "half_upgrade":
            writer.write(head[: min(peer["cut"], len(head) - 4)])
            await writer.drain()
            return await read_upgrade_answer(reader, waits.head, time.monotonic())
        writer.write(head)
        await writer.drain()
        answer = await read_upgrade_answer(reader, waits.answer, time.monotonic())
        if peer["kind"] == "reset" and answer.status == 101:
            for frame in frames:
                assert isinstance(frame, str)
                writer.write(masked_text_frame(frame.encode()))
            await writer.drain()
            if reset_after_reply:
                with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
                    await asyncio.wait_for(reader.read(1), waits.answer)
            writer.transport.abort()
        return answer
    finally:
        if not writer.is_closing():
            writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def play_quiet_peer(
    server: ServerUnderTest, url: str, frames: Sequence[object], seen: _SeenT
) -> tuple[_SeenT, float | None]:
    """A session at ``url`` (a fresh token) that sends ``frames`` (as text) and then nothing:
    ``seen`` filled with what it saw, and how long after its last frame the server closed it
    (None: not within the idle wait)."""
    token = create_access_token(server.target.api_key, server.target.api_secret)
    timeout = aiohttp.ClientTimeout(total=server.waits.idle + SESSION_TIMEOUT)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.ws_connect(url, headers={"Authorization": f"Bearer {token}"}, autoclose=False) as ws,
    ):
        for frame in frames:
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


# -- judging -----------------------------------------------------------------------------------


def judge_hostile_side(
    example: dict[str, Any],
    hostile: Any,
    server: ServerUnderTest,
    judge_session: Callable[[dict[str, Any], Any, ServerUnderTest], str],
) -> None:
    """Judge what the hostile side of ``example`` got: a peer (``example["peer"]``) by
    :func:`judge_websocket_peer`; a hostile session (a :class:`SeenSession`) must have been
    upgraded (SRV-1) and have ended with a close frame and code (SRV-3), and the protocol's
    ``judge_session`` judges the rest. The example is classified as ``family → label`` by the
    label the judge returns."""
    if "peer" in example:
        label = judge_websocket_peer(example, hostile, server)
    else:
        seen: SeenSession = hostile
        what = f"{example['family']}: {example['what']}"
        require(
            seen.upgraded,
            "SRV-1",
            f"{what}: the upgrade with a fresh token failed: {seen.failure}",
        )
        expect(
            seen.failure is None and seen.close_code is not None,
            "SRV-3",
            f"{what}: the session must end with a close frame and code: {seen.describe()}",
        )
        label = judge_session(example, hostile, server)
    classify(f"{example['family']} → {label}")


def judge_websocket_peer(
    example: dict[str, Any],
    peer: UpgradeAnswer | tuple[SeenSession, float | None],
    server: ServerUnderTest,
) -> str:
    """Every expectation of a peer example (``example["peer"]``) on the peer itself, and the
    label it is classified by: a quiet session is closed, with a code, by the idle deadline
    (SRV-4); a bad token gets HTTP 401 and the ``authentication_error`` body before any
    upgrade (AUTH-4; 400 where the header holds bytes no header may); half an upgrade request
    is never upgraded nor answered 5xx (SRV-1) and is closed by the head deadline (SRV-4); a
    session that resets is upgraded first (SRV-1). ``peer`` is what :func:`play_quiet_peer`
    returned for an ``idle`` peer, what :func:`play_raw_peer` returned for the others."""
    what = f"{example['family']}: {example['what']}"
    spec = example["peer"]
    kind = spec["kind"]
    if kind == "idle":
        seen, closed_after = cast("tuple[SeenSession, float | None]", peer)
        require(seen.upgraded, "SRV-1", f"{what}: the upgrade failed: {seen.failure}")
        expect(
            closed_after is not None and seen.close_code is not None,
            "SRV-4",
            f"{what}: a quiet session must be closed, with a code, by the server's idle "
            f"deadline (waited {server.waits.idle:g} s): {seen.describe()}",
        )
        return f"closed {seen.close_code}" if closed_after is not None else "still open"
    answer = cast("UpgradeAnswer", peer)
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


def check_hostile_example(
    voicewire_iut: Any,
    voicewire_simulator: Any,
    example: dict[str, Any],
    play: Callable[[ServerUnderTest, dict[str, Any]], Coroutine[Any, Any, _PlayedT]],
    judge: Callable[[dict[str, Any], _PlayedT, ServerUnderTest], None],
) -> None:
    """Play ``example`` against the server under test with the protocol's ``play`` (the
    hostile side, the valid sessions beside it, the one after) and judge what they got with
    its ``judge``."""
    server = server_under_test(voicewire_iut, voicewire_simulator)
    # The longest of the server's deadlines, three sessions' bounds (the hostile one and the
    # one beside it, then the one after) and room to spare.
    limit = server.waits.longest + 3 * SESSION_TIMEOUT + 30
    played = voicewire_iut.run(play(server, example), timeout=limit)
    judge(example, played, server)
