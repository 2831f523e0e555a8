"""Server direction, TTS: hostile client sessions (SPEC §7 SRV-1..4, §4 TTS-S-1, §1.1 AUTH-4).

The server is ``voicewire_iut.server()``: voicewire's own embedded simulator for
``--iut reference``, or a gateway given with ``--iut url:<base_url>#protocols=...,tts``. Each
example of :mod:`voicewire.suites.robustness.tts_sessions` is played over its own connection
(sessions of :mod:`voicewire.suites.tts.raw_sessions` where a WebSocket client can say it; raw
sockets for half an upgrade, a bad ``Authorization`` byte and a TCP reset mid-synthesis), while
:data:`BESIDE` valid sessions (``session.create``, a sentence, ``session.flush``, its ``done``)
run beside it; another valid session follows them. Nothing depends on what the audio sounds
like.

§4 has no rule for a bad client message: TTS-S-1 says what a synthesis gets, and the generic
rules of §7 judge the rest. What every example is judged on:

- a hostile session ends with a close frame and code (SRV-3): the server's 1003 for a binary
  frame (SRV-3), 1009 for a message over the size limit (SRV-4; a server of unknown limit may
  answer it with an ``error`` instead), otherwise the server's answer to the client's close;
  each hostile frame gets an ``error`` with no 5xx code, never a close 1011 (SRV-1), unless the
  server closed the session with 1003 or 1008 (SRV-1), and the socket stays usable: the valid
  synthesis that ends the session gets its audio and ``done`` (SRV-1, TTS-S-1);
- a bad token gets HTTP 401 with the ``authentication_error`` body and no upgrade (AUTH-4; 400
  where the header holds bytes no header may); half an upgrade request is closed by the head
  deadline and a quiet session with a close code by the idle deadline (SRV-4), waited for as
  :class:`~voicewire.suites.robustness.requests.ServerWaits` says (``VOICEWIRE_SERVER_WAITS``);
- the valid sessions beside the peer get their audio and ``done`` (SRV-2), and so does the one
  after it (SRV-1: the server keeps serving).

The raw-socket pieces (the upgrade head, reading an HTTP answer, a masked frame) and the
judging of a peer around the session are the STT family's
(:mod:`voicewire.suites.robustness.test_hostile_stt_sessions`): only the path differs.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from voicewire.suites.robustness.requests import authorization_value
from voicewire.suites.robustness.test_hostile_stt_sessions import (
    _judge_peer,
    _RawAnswer,
    _read_answer,
    _Server,
    _server,
    _upgrade_head,
    _ws_frame,
)
from voicewire.suites.robustness.tts_sessions import (
    HOSTILE_TTS_SESSION_BOUNDARIES,
    TTS_SESSION_PEER_BOUNDARIES,
    hostile_tts_sessions,
    tts_session_peers,
)
from voicewire.suites.stt.raw_sessions import SESSION_TIMEOUT
from voicewire.suites.tts.raw_sessions import (
    ANSWER,
    CREATE,
    DONE,
    ERROR,
    FLUSH,
    Step,
    TTSSession,
    is_tts_protocol_error,
    play_tts,
    synthesis,
    transcript,
    tts_ws_url,
)
from voicewire.suites.tts.wire_log import MODEL

BESIDE = 2
"""Valid sessions that run beside each hostile peer (SRV-2)."""

_AWAITS = {"done": DONE, "error": ERROR, "answer": ANSWER}


# -- playing -----------------------------------------------------------------------------------


def expand_tts(frames: list[Any], max_message: int) -> list[Step]:
    """An example's frames as the steps of a session: text (str) and binary (bytes) frames,
    and awaits."""
    out: list[Step] = []
    for frame in frames:
        if frame == "CREATE":
            out.append(CREATE)
        elif frame == "FLUSH":
            out.append(FLUSH)
        elif "await" in frame:
            out.append(_AWAITS[frame["await"]])
        elif "say" in frame:
            out += [transcript(frame["say"])] * frame.get("repeat", 1)
        elif "text" in frame:
            out += [frame["text"]] * frame.get("repeat", 1)
        elif "binary" in frame:
            out.append(bytes.fromhex(frame["binary"]))
        else:
            head = '{"type": "input_transcript", "transcript": "'
            tail = '", "generation_config": {}, "extra": {}}'
            size = max_message + frame["oversized"] - len(head) - len(tail)
            out.append(head + "a" * size + tail)
    return out


_VALID = [CREATE, *synthesis("Still here.")]


async def _open(target: Target) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, str]:
    parts = urlsplit(target.base_url)
    tls = ssl.create_default_context() if parts.scheme == "https" else None
    port = parts.port or (443 if tls else 80)
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(parts.hostname, port, ssl=tls), SESSION_TIMEOUT
    )
    return reader, writer, f"{parts.path}/tts?model={MODEL}"


async def _raw_peer(server: _Server, peer: dict[str, Any]) -> _RawAnswer:
    """A bad-token upgrade, half an upgrade, or a session that resets its connection in the
    middle of a synthesis."""
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
            for frame in expand_tts(peer["frames"], server.max_message):
                assert isinstance(frame, str)
                writer.write(_ws_frame(frame.encode()))
            await writer.drain()
            # Let the synthesis begin, so the reset finds its audio on the way out.
            with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
                await asyncio.wait_for(reader.read(1), waits.answer)
            writer.transport.abort()
        return answer
    finally:
        if not writer.is_closing():
            writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def _quiet(server: _Server, peer: dict[str, Any]) -> tuple[TTSSession, float | None]:
    """A session that sends its frames and then nothing: what it saw, and how long after its
    last frame the server closed it (None: not within the idle wait)."""
    seen = TTSSession()
    token = create_access_token(server.target.api_key, server.target.api_secret)
    timeout = aiohttp.ClientTimeout(total=server.waits.idle + SESSION_TIMEOUT)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.ws_connect(
            tts_ws_url(server.target), headers={"Authorization": f"Bearer {token}"}, autoclose=False
        ) as ws,
    ):
        for frame in expand_tts(peer["frames"], server.max_message):
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
                seen.closed_by_server = True
                return seen, time.monotonic() - quiet_since
        seen.failure = f"still open {server.waits.idle:g} s after its last frame"
        return seen, None


@dataclass
class _Played:
    peer: Any
    beside: list[TTSSession]
    after: TTSSession


async def _play(server: _Server, example: dict[str, Any]) -> _Played:
    peer_spec = example.get("peer")
    if peer_spec is None:
        hostile = play_tts(server.target, expand_tts(example["frames"], server.max_message))
    elif peer_spec["kind"] == "idle":
        hostile = _quiet(server, peer_spec)
    else:
        hostile = _raw_peer(server, peer_spec)
    peer, *beside = await asyncio.gather(
        hostile, *(play_tts(server.target, _VALID) for _ in range(BESIDE))
    )
    after = await play_tts(server.target, _VALID)
    return _Played(peer, beside, after)


# -- judging -----------------------------------------------------------------------------------


def _judge_session(example: dict[str, Any], seen: TTSSession, server: _Server) -> str:
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
    errors = seen.errors()
    if want["close"] is not None:
        allowed = seen.closed_by_server and seen.close_code in want["close"]
        if example["family"] == "oversized" and not server.embedded:
            # Of unknown limit: the over-long sentence itself may be what is refused.
            allowed = allowed or (any(is_tts_protocol_error(m) for m in errors) and _served(seen))
        expect(
            allowed,
            want["rule"],
            f"{what}: expected the server's close with "
            f"{' or '.join(map(str, want['close']))}: {seen.describe()}",
        )
        return f"closed {seen.close_code}"
    expect(
        seen.close_code != 1011 and all(is_tts_protocol_error(m) for m in errors),
        "SRV-1",
        f"{what}: a bad client message gets a protocol error (an error with a message and no "
        f"5xx code), never a close 1011: {seen.describe()}",
    )
    if seen.closed_by_server and seen.close_code in (1003, 1008):
        return f"closed {seen.close_code}"
    hostile, tolerated = example["hostile"], example["tolerated"]
    expect(
        hostile <= len(errors) <= hostile + tolerated,
        "SRV-1",
        f"{what}: {hostile} bad message(s) must each get an error (or the session a close "
        f"1003/1008); {len(errors)} error(s) came: {seen.describe()}",
    )
    expect(
        _served(seen),
        ["SRV-1", "TTS-S-1"],
        f"{what}: the socket must stay usable: the synthesis that ends the session must get "
        f"its audio and done: {seen.describe()}",
    )
    answered = "an error for each bad message" if errors else "no error"
    return f"{answered}, then served"


def _served(seen: TTSSession) -> bool:
    """Whether the session's last synthesis got audio and ``done`` and the session ended with
    the server's answer to the client's close (the socket stayed usable)."""
    syntheses = seen.syntheses()
    return (
        seen.failure is None
        and not seen.closed_by_server
        and bool(syntheses)
        and any(m.get("type") == "output_audio" for m in syntheses[-1])
    )


def judge_tts(example: dict[str, Any], played: _Played, server: _Server) -> None:
    """Every expectation of one example (see the module docstring)."""
    what = f"{example['family']}: {example['what']}"
    if "peer" in example:
        label = _judge_peer(example, played.peer, server)
    else:
        label = _judge_session(example, played.peer, server)
    classify(f"{example['family']} → {label}")
    for index, beside in enumerate(played.beside):
        expect(
            _served(beside),
            "SRV-2",
            f"{what}: valid session {index + 1} of {BESIDE} beside it must get its audio and "
            f"done and end with a close frame: {beside.describe()}",
        )
    expect(
        _served(played.after),
        "SRV-1",
        f"{what}: the server must keep serving: the valid session after it must get its audio "
        f"and done and end with a close frame: {played.after.describe()}",
    )


def check_tts(voicewire_iut: Any, voicewire_simulator: Any, example: dict[str, Any]) -> None:
    """Play ``example`` against the server under test and judge it."""
    server = _server(voicewire_iut, voicewire_simulator)
    limit = server.waits.longest + 3 * SESSION_TIMEOUT + 30
    played = voicewire_iut.run(_play(server, example), timeout=limit)
    judge_tts(example, played, server)


@pytest.mark.spec("TTS-S-1", "SRV-1", "SRV-2", "SRV-3", "SRV-4")
@pytest.mark.capability("tts.server")
@property_family(
    "hostile-tts-sessions",
    hostile_tts_sessions(),
    max_examples=20,
    boundaries=HOSTILE_TTS_SESSION_BOUNDARIES,
)
def test_hostile_tts_sessions(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """Bad, mistyped, out-of-order, binary, oversized and flooding frames get an error, a close
    1003 or a close 1009; the socket stays usable; sessions beside and after are served."""
    check_tts(voicewire_iut, voicewire_simulator, example)


@pytest.mark.spec("AUTH-4", "SRV-1", "SRV-2", "SRV-3", "SRV-4")
@pytest.mark.capability("tts.server")
@property_family(
    "tts-session-peers",
    tts_session_peers(),
    max_examples=1,
    boundaries=TTS_SESSION_PEER_BOUNDARIES,
)
def test_tts_session_peers(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """Bad tokens get 401 before any upgrade; half upgrades and quiet sessions are closed by
    the server's deadlines; resets mid-synthesis change nothing for the sessions beside and
    after."""
    check_tts(voicewire_iut, voicewire_simulator, example)
