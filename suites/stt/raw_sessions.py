"""Raw STT WebSocket sessions against a server under test: what the STT server suite and the
hostile-session robustness family both speak.

A session connects to ``{ws_base}/stt?model=deepgram/nova-3`` with a fresh token (or the
``Authorization`` value a case gives), sends text and binary frames as given, and reads every
message until the server closes (:func:`play`); :func:`upgrade` sends only the upgrade request
and reports the answer. Audio is 50 ms ``input_audio`` frames (:func:`input_audio_frames`) of
tone-coded speech (:func:`speech`) or silence. Every wait is bounded by
:data:`SESSION_TIMEOUT`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import numpy as np
from voicewire.harness.iut import Target
from voicewire.reference.auth import create_access_token
from voicewire.reference.stt.wire import InputAudio, encode_message, session_create
from voicewire.reference.tone_code import encode_tone

__all__ = [
    "CREATE",
    "FINALIZE",
    "FRAME_SAMPLES",
    "MODEL",
    "RATE",
    "SESSION_TIMEOUT",
    "TRANSCRIPTS",
    "Session",
    "ends_cleanly",
    "input_audio_frames",
    "is_400_error",
    "play",
    "silent_pcm",
    "speech",
    "upgrade",
    "ws_url",
]

MODEL = "deepgram/nova-3"
RATE = 16000
FRAME_SAMPLES = RATE // 20  # 50 ms (STT-C-2)
# One bound for a whole session's replies, well within the harness's 60 s per operation.
SESSION_TIMEOUT = 20.0
TRANSCRIPTS = {"interim_transcript", "final_transcript"}

CREATE = encode_message(session_create(sample_rate=RATE, model=MODEL))
"""``session.create`` as a client sends it (STT-C-1)."""
FINALIZE = '{"type": "session.finalize"}'


def speech() -> bytes:
    """Tone-coded speech, ended by the utterance itself: its final is pending at finalize."""
    quiet = np.zeros(RATE // 5, dtype="<i2")
    samples = np.concatenate([quiet, encode_tone("hello world", sample_rate=RATE).samples])
    return samples.astype("<i2").tobytes()


def silent_pcm(seconds: float = 1.0) -> bytes:
    """``seconds`` of zeros."""
    return bytes(2 * round(RATE * seconds))


def input_audio_frames(pcm: bytes) -> list[str]:
    """``pcm`` as 50 ms ``input_audio`` frames (the last one may be shorter)."""
    step = 2 * FRAME_SAMPLES
    return [
        encode_message(InputAudio.from_pcm(pcm[at : at + step])) for at in range(0, len(pcm), step)
    ]


def ws_url(target: Target) -> str:
    """The server's STT WebSocket URL."""
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
        shown = "\n".join(f"  {json.dumps(m)[:200]}" for m in self.messages[:30])
        more = f"\n  ... {len(self.messages) - 30} more" if len(self.messages) > 30 else ""
        end = self.failure or f"closed with {self.close_code}"
        return f"{len(self.messages)} messages, then {end}:\n{shown}{more}"

    @property
    def upgraded(self) -> bool:
        """Whether the server accepted the upgrade."""
        return not (self.failure or "").startswith("upgrade refused")


def is_400_error(message: Any) -> bool:
    """Whether ``message`` is STT-S-1's ``{"type": "error", "message", "code": 400}``."""
    return (
        isinstance(message, dict)
        and message.get("type") == "error"
        and isinstance(message.get("message"), str)
        and message.get("code") == 400
    )


def ends_cleanly(seen: Session) -> bool:
    """``session.finalized``, then the close with 1000 (STT-S-2)."""
    return "session.finalized" in seen.types() and seen.close_code == 1000 and seen.failure is None


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


async def play(
    target: Target, frames: list[str | bytes], *, authorization: str | None = None
) -> Session:
    """Open a session with a fresh token (or ``authorization`` as the header's value), send
    ``frames`` (text, or bytes as a binary frame) and read every message until the server
    closes."""
    seen = Session()
    if authorization is None:
        authorization = f"Bearer {create_access_token(target.api_key, target.api_secret)}"
    timeout = aiohttp.ClientTimeout(total=SESSION_TIMEOUT + 10)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.ws_connect(
                ws_url(target),
                headers={"Authorization": authorization},
                autoclose=False,
                # A hostile session may send more than aiohttp's 4 MiB default: the server
                # judges the size, not this client.
                max_msg_size=0,
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


async def upgrade(target: Target, authorization: str | None) -> tuple[int, Any, str]:
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
