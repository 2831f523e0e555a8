"""An STT server under test: how a session ends (SPEC §3.2 STT-S-2, §7 SRV-3), what it makes
of early, unparseable and binary client frames (STT-S-1, SRV-1, SRV-3) and who may open one
(§1.1 AUTH-4).

The server is ``voicewire_iut.server()``: voicewire's own simulator for ``--iut reference``, or
a gateway given with ``--iut url:<base_url>#protocols=...,stt``. The cases speak raw WebSocket
(aiohttp, on the harness loop) to ``{ws_base}/stt?model=deepgram/nova-3`` and send only what
any real gateway answers: ``session.create`` as the client sends it, 50 ms ``input_audio``
frames of tone-coded speech or silence, ``session.finalize``. Nothing depends on the text of a
transcript; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jwt
import numpy as np
import pytest
from voicewire.harness.iut import Target
from voicewire.harness.verdicts import expect, require
from voicewire.reference.auth import create_access_token
from voicewire.reference.stt.wire import InputAudio, encode_message, session_create
from voicewire.reference.tone_code import encode_tone

MODEL = "deepgram/nova-3"
RATE = 16000
FRAME_SAMPLES = RATE // 20  # 50 ms (STT-C-2)
# One bound for a whole session's replies, well within the harness's 60 s per operation.
SESSION_TIMEOUT = 20.0
TRANSCRIPTS = {"interim_transcript", "final_transcript"}


def _speech() -> bytes:
    """Tone-coded speech, ended by the utterance itself: its final is pending at finalize."""
    silence = np.zeros(RATE // 5, dtype="<i2")
    samples = np.concatenate([silence, encode_tone("hello world", sample_rate=RATE).samples])
    return samples.astype("<i2").tobytes()


def _silence() -> bytes:
    return bytes(2 * RATE)


def _frames(pcm: bytes) -> list[str]:
    """``pcm`` as 50 ms ``input_audio`` frames (the last one may be shorter)."""
    step = 2 * FRAME_SAMPLES
    return [
        encode_message(InputAudio.from_pcm(pcm[at : at + step])) for at in range(0, len(pcm), step)
    ]


def _ws_url(target: Target) -> str:
    return f"ws{target.base_url.removeprefix('http')}/stt?model={MODEL}"


@dataclass
class Session:
    """What one raw WebSocket session saw: the text messages, the close, or why it failed."""

    messages: list[Any] = field(default_factory=list)
    close_code: int | None = None
    binary: int = 0
    failure: str | None = None
    """Why the session did not end with a close (refused upgrade, timeout, reset)."""

    def types(self) -> list[str]:
        return [m.get("type") if isinstance(m, dict) else "<not an object>" for m in self.messages]

    def describe(self) -> str:
        shown = "\n".join(f"  {json.dumps(m)[:200]}" for m in self.messages)
        end = self.failure or f"closed with {self.close_code}"
        return f"{len(self.messages)} messages, then {end}:\n{shown}"


async def _read_until_close(ws: aiohttp.ClientWebSocketResponse, seen: Session) -> None:
    deadline = time.monotonic() + SESSION_TIMEOUT
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            seen.failure = f"no close within {SESSION_TIMEOUT:g} s"
            return
        try:
            message = await ws.receive(timeout=remaining)
        except asyncio.TimeoutError:
            seen.failure = f"no close within {SESSION_TIMEOUT:g} s"
            return
        if message.type is aiohttp.WSMsgType.TEXT:
            try:
                seen.messages.append(json.loads(message.data))
            except ValueError:
                seen.messages.append(message.data)
        elif message.type is aiohttp.WSMsgType.BINARY:
            seen.binary += 1
        else:
            seen.close_code = ws.close_code
            if message.type is aiohttp.WSMsgType.ERROR:
                seen.failure = f"connection error: {message.data}"
            return


async def play(target: Target, frames: list[str | bytes]) -> Session:
    """Open a session with a fresh token, send ``frames`` (text, or bytes as a binary
    frame) and read every message until the server closes."""
    seen = Session()
    token = create_access_token(target.api_key, target.api_secret)
    timeout = aiohttp.ClientTimeout(total=SESSION_TIMEOUT + 10)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.ws_connect(
                _ws_url(target), headers={"Authorization": f"Bearer {token}"}, autoclose=False
            ) as ws,
        ):
            reader = asyncio.ensure_future(_read_until_close(ws, seen))
            try:
                for frame in frames:
                    if reader.done():
                        break  # closed early: what it sent is judged
                    if isinstance(frame, bytes):
                        await ws.send_bytes(frame)
                    else:
                        await ws.send_str(frame)
            except ConnectionError:
                pass  # the server closed while frames were going out: the reader tells
            finally:
                if not reader.done() and ws.closed:
                    reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
    except aiohttp.WSServerHandshakeError as exc:
        seen.failure = f"upgrade refused: HTTP {exc.status} {exc.message}"
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        seen.failure = f"{type(exc).__name__}: {str(exc) or 'timeout'}"
    return seen


def _upgraded(seen: Session, rule: str) -> None:
    require(
        not (seen.failure or "").startswith("upgrade refused"),
        rule,
        f"the WebSocket upgrade with a fresh token failed: {seen.failure}",
    )


CREATE = encode_message(session_create(sample_rate=RATE, model=MODEL))
FINALIZE = '{"type": "session.finalize"}'


# -- STT-S-2 / SRV-3: how a session ends ------------------------------------------------------


@pytest.mark.spec("STT-S-2", "SRV-3")
@pytest.mark.capability("stt.server")
@pytest.mark.parametrize("audio", ["speech", "silence"])
def test_finalize_ends_with_finalized_then_close_1000(voicewire_iut: Any, audio: str) -> None:
    """After session.finalize: any pending final, session.finalized, a close with 1000.

    Only session.closed may come after session.finalized, and the session ends with a close
    frame and code (SRV-3)."""
    target = voicewire_iut.server()
    pcm = _speech() if audio == "speech" else _silence()
    seen = voicewire_iut.run(play(target, [CREATE, *_frames(pcm), FINALIZE]))
    _upgraded(seen, "STT-S-2")
    types = seen.types()
    require("session.finalized" in types, "STT-S-2", f"no session.finalized: {seen.describe()}")
    after = types[types.index("session.finalized") + 1 :]
    expect(
        after in ([], ["session.closed"]),
        "STT-S-2",
        f"after session.finalized only session.closed may come: {seen.describe()}",
    )
    expect(
        seen.failure is None and seen.close_code is not None,
        "SRV-3",
        f"the session did not end with a close frame and code: {seen.describe()}",
    )
    expect(seen.close_code == 1000, "STT-S-2", f"expected close 1000: {seen.describe()}")


# -- STT-S-1 / SRV-1: early and unparseable client messages -----------------------------------


def _is_400_error(message: Any) -> bool:
    return (
        isinstance(message, dict)
        and message.get("type") == "error"
        and isinstance(message.get("message"), str)
        and message.get("code") == 400
    )


def _ends_cleanly(seen: Session) -> bool:
    types = seen.types()
    return "session.finalized" in types and seen.close_code == 1000 and seen.failure is None


@pytest.mark.spec("STT-S-1")
@pytest.mark.capability("stt.server")
def test_audio_before_session_create_gets_an_error_not_a_transcript(voicewire_iut: Any) -> None:
    """Speech sent before session.create is out of order: an error (400), never a transcript.

    Every message before session.created is such an error; afterwards the socket is still
    usable: session.create and session.finalize end the session cleanly."""
    target = voicewire_iut.server()
    seen = voicewire_iut.run(play(target, [*_frames(_speech()), CREATE, FINALIZE]))
    _upgraded(seen, "STT-S-1")
    types = seen.types()
    # What answered the early audio: every message up to the first that is not an error.
    first = next((n for n, t in enumerate(types) if t != "error"), len(types))
    early = seen.messages[:first]
    expect(
        not TRANSCRIPTS.intersection(types[first : first + 1])
        and all(_is_400_error(m) for m in early),
        "STT-S-1",
        f"before session.created only 400 errors may come, never a transcript: {seen.describe()}",
    )
    expect(
        bool(early),
        "STT-S-1",
        f"audio before session.create got no error with code 400: {seen.describe()}",
    )
    expect(
        _ends_cleanly(seen),
        "STT-S-1",
        f"after the errors, session.create and session.finalize must end cleanly: "
        f"{seen.describe()}",
    )


UNPARSEABLE = [
    pytest.param("not json at all", id="not-json"),
    pytest.param('{"audio": "AAAA"}', id="no-type"),
    pytest.param('{"type": "no.such.type"}', id="unknown-type"),
]


@pytest.mark.spec("STT-S-1", "SRV-1")
@pytest.mark.capability("stt.server")
@pytest.mark.parametrize("bad", UNPARSEABLE)
def test_unparseable_message_gets_a_400_error_and_the_socket_stays_usable(
    voicewire_iut: Any, bad: str
) -> None:
    """An unparseable message gets {"type": "error", "message", "code": 400}; then a
    session.finalize still ends the session with session.finalized and close 1000."""
    target = voicewire_iut.server()
    seen = voicewire_iut.run(play(target, [CREATE, bad, FINALIZE]))
    _upgraded(seen, "STT-S-1")
    errors = [m for m in seen.messages if isinstance(m, dict) and m.get("type") == "error"]
    expect(
        errors or seen.close_code in (1003, 1008),
        "SRV-1",
        f"{bad!r}: neither an error message nor a close 1003/1008: {seen.describe()}",
    )
    expect(
        len(errors) == 1 and _is_400_error(errors[0]),
        "STT-S-1",
        f'{bad!r}: expected one {{"type": "error", "message", "code": 400}}: {seen.describe()}',
    )
    expect(
        _ends_cleanly(seen),
        "STT-S-1",
        f"{bad!r}: after the error, session.finalize must end the session cleanly: "
        f"{seen.describe()}",
    )


# -- SRV-3: a binary frame ---------------------------------------------------------------------


@pytest.mark.spec("SRV-3")
@pytest.mark.capability("stt.server")
def test_binary_frame_is_closed_with_1003(voicewire_iut: Any) -> None:
    """A binary frame where text is expected closes the session with 1003."""
    target = voicewire_iut.server()
    pcm = bytes(2 * FRAME_SAMPLES)
    seen = voicewire_iut.run(play(target, [CREATE, pcm, FINALIZE]))
    _upgraded(seen, "SRV-3")
    expect(seen.close_code == 1003, "SRV-3", f"expected close 1003: {seen.describe()}")


# -- AUTH-4 at the upgrade ---------------------------------------------------------------------


def _bad_authorization(variant: str, target: Target) -> str | None:
    now = int(time.time())
    claims = {
        "iss": target.api_key,
        "sub": "agent",
        "nbf": now,
        "exp": now + 600,
        "inference": {"perform": True},
    }
    if variant == "missing-token":
        return None
    if variant == "bad-signature":
        key = target.api_secret + "-not-the-secret"
    else:  # expired, well past any leeway
        key = target.api_secret
        claims.update(nbf=now - 1200, exp=now - 600)
    return "Bearer " + jwt.encode(claims, key, algorithm="HS256", headers={"typ": "JWT"})


async def _upgrade(target: Target, authorization: str | None) -> tuple[int, Any, str]:
    """A WebSocket upgrade request's answer: status, JSON body (None if not JSON), head."""
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "MDEyMzQ1Njc4OWFiY2RlZg==",
    }
    if authorization is not None:
        headers["Authorization"] = authorization
    timeout = aiohttp.ClientTimeout(total=SESSION_TIMEOUT)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.get(f"{target.base_url}/stt?model={MODEL}", headers=headers) as resp,
    ):
        if resp.status == 101:
            return 101, None, "switched protocols"
        raw = await resp.read()
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            body = None
        return resp.status, body, f"HTTP {resp.status}: {raw[:300]!r}"


@pytest.mark.spec("AUTH-4")
@pytest.mark.capability("stt.server")
@pytest.mark.parametrize("variant", ["missing-token", "bad-signature", "expired"])
def test_bad_token_is_refused_with_401_before_the_upgrade(voicewire_iut: Any, variant: str) -> None:
    """No token, a bad signature or an expired token: HTTP 401 with the authentication_error
    JSON body, and no upgrade."""
    target = voicewire_iut.server()
    status, body, shown = voicewire_iut.run(_upgrade(target, _bad_authorization(variant, target)))
    expect(status == 401, "AUTH-4", f"{variant}: expected HTTP 401, got {shown}")
    error = body.get("error") if isinstance(body, dict) else None
    expect(
        isinstance(error, dict)
        and error.get("type") == "authentication_error"
        and error.get("code") == 401
        and isinstance(error.get("message"), str),
        "AUTH-4",
        f'{variant}: expected {{"error": {{"message", "type": "authentication_error", '
        f'"code": 401}}}}, got {shown}',
    )
