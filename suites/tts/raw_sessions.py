"""Raw TTS WebSocket sessions against a server under test: what the TTS server suite and the
hostile-session robustness family both speak.

A session connects to ``{ws_base}/tts?model=cartesia/sonic-3`` with a fresh token (or the
``Authorization`` value a case gives) and plays its **steps** in order (:func:`play_tts`): a
text frame (``str``), a binary frame (``bytes``), or an :class:`Await` for the server's next
message of some types. Unlike an STT session, a TTS session is not ended by the server: the
socket stays open between syntheses (TTS-S-1), so after its last step the client closes it with
1000 and records the code of the server's closing frame (SRV-3). Messages are matched to awaits
in the order they came: a ``done`` an earlier await passed over is still there for a later one.

:func:`tts_upgrade` sends only an upgrade request (to any path and query) and reports the
answer; :func:`tts_alignment_problem` judges the ``output_alignment`` of one synthesis
(TTS-S-2). Every wait is bounded by :data:`~voicewire.suites.stt.raw_sessions.SESSION_TIMEOUT`
for the whole session.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from pydantic import ValidationError
from voicewire.harness.iut import Target
from voicewire.reference.auth import create_access_token
from voicewire.reference.tts.wire import (
    OutputAlignment,
    SessionFlush,
    encode_tts_message,
    input_transcript,
    tts_session_create,
)
from voicewire.suites.stt.raw_sessions import SESSION_TIMEOUT
from voicewire.suites.tts.wire_log import MODEL, RATE

__all__ = [
    "ANSWER",
    "CREATE",
    "DONE",
    "ERROR",
    "FLUSH",
    "Await",
    "Step",
    "TTSSession",
    "is_tts_protocol_error",
    "play_tts",
    "synthesis",
    "transcript",
    "tts_alignment_problem",
    "tts_audio_seconds",
    "tts_create",
    "tts_upgrade",
    "tts_ws_url",
]

CLOSE_WAIT = 10.0
"""How long the client's close waits for the server's closing frame."""
ALIGNMENT_SLACK = 0.05
"""Seconds an alignment time may lie past the end of the synthesis's audio (rounding)."""


def tts_create(rate: int = RATE, *, model: str | None = MODEL) -> str:
    """``session.create`` as a client sends it (TTS-C-1), for ``rate`` Hz."""
    return encode_tts_message(tts_session_create(sample_rate=rate, model=model))


CREATE = tts_create()
"""``session.create`` at the default 24000 Hz."""
FLUSH = encode_tts_message(SessionFlush())
"""``session.flush`` (TTS-C-3)."""


def transcript(sentence: str) -> str:
    """The ``input_transcript`` of one sentence, trailing space added (TTS-C-2)."""
    return encode_tts_message(input_transcript(sentence, model=MODEL))


@dataclass(frozen=True)
class Await:
    """A step: wait for the server's next message of one of ``types`` (or its close)."""

    types: frozenset[str]

    def __str__(self) -> str:
        return " or ".join(sorted(self.types))


DONE = Await(frozenset({"done"}))
"""Wait for the synthesis's ``done``."""
ERROR = Await(frozenset({"error"}))
"""Wait for an ``error``."""
ANSWER = Await(frozenset({"done", "error"}))
"""Wait for a ``done`` or an ``error``, whichever comes."""

_CLOSE = Await(frozenset({"<the server's close>"}))
"""Wait for the close (no message has this type)."""

Step = str | bytes | Await


def synthesis(*sentences: str) -> list[Step]:
    """One synthesis: each sentence's ``input_transcript``, ``session.flush``, then its
    ``done``."""
    return [*(transcript(s) for s in sentences), FLUSH, DONE]


def tts_ws_url(target: Target, query: str = f"model={MODEL}", path: str = "/tts") -> str:
    """The server's TTS WebSocket URL (``query``: without its ``?``; empty: none)."""
    base = f"ws{target.base_url.removeprefix('http')}{path}"
    return f"{base}?{query}" if query else base


def is_tts_protocol_error(message: Any) -> bool:
    """Whether ``message`` is a protocol error answering a client message (SRV-1): an
    ``error`` with a ``message`` string and, if it has a ``code``, a 4xx one (a 5xx says the
    server failed, not the client)."""
    if not (
        isinstance(message, dict)
        and message.get("type") == "error"
        and isinstance(message.get("message"), str)
    ):
        return False
    code = message.get("code")
    return code is None or (isinstance(code, int) and 400 <= code <= 499)


@dataclass
class TTSSession:
    """What one raw TTS WebSocket session saw: the text messages, how it ended, or why it
    failed."""

    messages: list[Any] = field(default_factory=list)
    close_code: int | None = None
    """The code of the server's closing frame (its own close, or its answer to the
    client's)."""
    closed_by_server: bool = False
    """Whether the server closed the session before the client's steps were played."""
    binary: int = 0
    failure: str | None = None
    """Why the session did not end with a closing frame (refused upgrade, an await that got
    nothing in time, a reset)."""
    _cursor: int = 0
    """How far the awaits have matched messages."""
    _deadline: float = 0.0
    """When the session must be over (monotonic)."""

    def types(self) -> list[str]:
        return [m.get("type") if isinstance(m, dict) else "<not an object>" for m in self.messages]

    def describe(self) -> str:
        shown = "\n".join(f"  {_shown(m)}" for m in self.messages[:30])
        more = f"\n  ... {len(self.messages) - 30} more" if len(self.messages) > 30 else ""
        by = "the server" if self.closed_by_server else "the client"
        end = self.failure or f"closed by {by}, the server's close code {self.close_code}"
        return f"{len(self.messages)} messages, then {end}:\n{shown}{more}"

    @property
    def upgraded(self) -> bool:
        """Whether the server accepted the upgrade."""
        return not (self.failure or "").startswith("upgrade refused")

    def errors(self) -> list[Any]:
        """The ``error`` messages."""
        return [m for m in self.messages if isinstance(m, dict) and m.get("type") == "error"]

    def syntheses(self) -> list[list[dict[str, Any]]]:
        """The messages of each synthesis that ended with ``done`` (its ``output_audio`` and
        ``output_alignment`` messages and the ``done``), in order."""
        done: list[list[dict[str, Any]]] = []
        current: list[dict[str, Any]] = []
        for message in self.messages:
            if not isinstance(message, dict):
                continue
            if message.get("type") in ("output_audio", "output_alignment"):
                current.append(message)
            elif message.get("type") == "done":
                done.append([*current, message])
                current = []
        return done


def _shown(message: Any) -> str:
    if isinstance(message, dict) and isinstance(message.get("audio"), str):
        # Audio as its size, never its base64.
        message = {**message, "audio": f"<{len(message['audio'])} base64 chars>"}
    return json.dumps(message)[:200]


def tts_audio_seconds(messages: Sequence[Any], rate: int) -> tuple[float, str | None]:
    """The seconds of audio ``messages``' ``output_audio`` carry at ``rate``, and the first
    problem with their audio (not base64, not a whole number of 16-bit samples), or None."""
    samples = 0
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("type") != "output_audio":
            continue
        audio = message.get("audio")
        try:
            pcm = base64.b64decode(audio, validate=True) if isinstance(audio, str) else None
        except (binascii.Error, ValueError):
            pcm = None
        if pcm is None:
            return samples / rate, f"output_audio #{index}'s audio is not base64: {_shown(message)}"
        if len(pcm) % 2:
            return samples / rate, (
                f"output_audio #{index} holds {len(pcm)} bytes: not a whole number of s16le samples"
            )
        samples += len(pcm) // 2
    return samples / rate, None


async def _await(ws: aiohttp.ClientWebSocketResponse, seen: TTSSession, step: Await) -> bool:
    """Read until a message of ``step``'s types comes (True), or the session ends or times out
    (False, recorded)."""
    deadline = seen._deadline
    while True:
        for index in range(seen._cursor, len(seen.messages)):
            message = seen.messages[index]
            if isinstance(message, dict) and message.get("type") in step.types:
                seen._cursor = index + 1
                return True
        seen._cursor = len(seen.messages)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            seen.failure = f"no {step} within {SESSION_TIMEOUT:g} s"
            return False
        try:
            message = await ws.receive(timeout=remaining)
        except asyncio.TimeoutError:
            seen.failure = f"no {step} within {SESSION_TIMEOUT:g} s"
            return False
        if message.type is aiohttp.WSMsgType.TEXT:
            try:
                seen.messages.append(json.loads(message.data))
            except ValueError:
                seen.messages.append(message.data)
        elif message.type is aiohttp.WSMsgType.BINARY:
            seen.binary += 1
        else:
            seen.close_code = ws.close_code
            seen.closed_by_server = True
            if message.type is aiohttp.WSMsgType.ERROR:
                seen.failure = f"connection error: {message.data}"
            return False


async def play_tts(
    target: Target,
    steps: Sequence[Step],
    *,
    authorization: str | None = None,
    query: str = f"model={MODEL}",
) -> TTSSession:
    """Open a session with a fresh token (or ``authorization`` as the header's value), play
    ``steps`` and close it with 1000, unless the server closed it first."""
    seen = TTSSession()
    if authorization is None:
        authorization = f"Bearer {create_access_token(target.api_key, target.api_secret)}"
    timeout = aiohttp.ClientTimeout(total=SESSION_TIMEOUT + CLOSE_WAIT + 10)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.ws_connect(
                tts_ws_url(target, query),
                headers={"Authorization": authorization},
                autoclose=False,
                # A hostile session may send more than aiohttp's 4 MiB default: the server
                # judges the size, not this client.
                max_msg_size=0,
                timeout=aiohttp.ClientWSTimeout(ws_close=CLOSE_WAIT),
            ) as ws,
        ):
            seen._deadline = time.monotonic() + SESSION_TIMEOUT
            await _play_steps(ws, seen, steps)
            if not seen.closed_by_server and seen.failure is None:
                await ws.close()
                seen.close_code = ws.close_code
                if ws.close_code == aiohttp.WSCloseCode.ABNORMAL_CLOSURE:
                    seen.failure = (
                        f"no closing frame answered the client's close within {CLOSE_WAIT:g} s"
                    )
    except aiohttp.WSServerHandshakeError as exc:
        seen.failure = f"upgrade refused: HTTP {exc.status} {exc.message}"
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        seen.failure = f"{type(exc).__name__}: {str(exc) or 'timeout'}"
    return seen


async def _play_steps(
    ws: aiohttp.ClientWebSocketResponse, seen: TTSSession, steps: Sequence[Step]
) -> None:
    for step in steps:
        if isinstance(step, Await):
            if not await _await(ws, seen, step):
                return  # closed or silent: what came is judged
            continue
        try:
            if isinstance(step, bytes):
                await ws.send_bytes(step)
            else:
                await ws.send_str(step)
        except ConnectionError:
            # The server closed while frames were going out: read its close.
            await _await(ws, seen, _CLOSE)
            return


async def tts_upgrade(
    target: Target,
    authorization: str | None,
    *,
    query: str = f"model={MODEL}",
    path: str = "/tts",
    upgrade: bool = True,
) -> tuple[int, Any, str]:
    """The answer to a WebSocket upgrade request (``upgrade=False``: a plain GET) to ``path``
    with ``query``: status, JSON body (None if not JSON), head."""
    headers = (
        {
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "MDEyMzQ1Njc4OWFiY2RlZg==",
        }
        if upgrade
        else {}
    )
    if authorization is not None:
        headers["Authorization"] = authorization
    url = f"{target.base_url}{path}" + (f"?{query}" if query else "")
    timeout = aiohttp.ClientTimeout(total=SESSION_TIMEOUT)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.get(url, headers=headers) as resp,
    ):
        if resp.status == 101:
            return 101, None, "switched protocols"
        raw = await resp.read()
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            body = None
        return resp.status, body, f"HTTP {resp.status}: {raw[:300]!r}"


def _letters(text: str) -> str:
    """``text`` as the alignment is compared: letters and digits only, lowercased (a gateway
    may leave punctuation and spacing out of its timings)."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def tts_alignment_problem(
    messages: Sequence[Any], transcripts: Sequence[str], duration: float
) -> str | None:
    """What is wrong with the ``output_alignment`` messages of one synthesis (TTS-S-2), or
    None: each must hold exactly one of ``words`` or ``chars`` with ``start <= end``; taken in
    order, the items' start and end times never go back and lie within the synthesis's audio
    (``duration`` seconds, :data:`ALIGNMENT_SLACK` allowed); their text is the
    ``transcripts``' (words: the same words; chars: the same characters; both compared by
    their letters and digits). Messages of other types are passed over."""
    items: list[tuple[str, float, float]] = []
    granularities = set()
    for message in messages:
        if not isinstance(message, dict) or message.get("type") != "output_alignment":
            continue
        try:
            alignment = OutputAlignment.model_validate(message)
        except ValidationError as exc:
            detail = "; ".join(e["msg"] for e in exc.errors()[:3])
            return f"a malformed output_alignment ({detail}): {_shown(message)}"
        if alignment.words is not None:
            granularities.add("words")
            items += [(w.word, w.start, w.end) for w in alignment.words]
        else:
            assert alignment.chars is not None
            granularities.add("chars")
            items += [(c.char, c.start, c.end) for c in alignment.chars]
    if not granularities:
        return None
    if len(granularities) > 1:
        return "one synthesis's output_alignment mixes words and chars"
    previous = (0.0, 0.0)
    for text, start, end in items:
        if start < previous[0] or end < previous[1]:
            return (
                f"{text!r} at {start:g}..{end:g} s goes back before the item before it "
                f"({previous[0]:g}..{previous[1]:g} s)"
            )
        if end > duration + ALIGNMENT_SLACK:
            return f"{text!r} ends at {end:g} s, after the audio's {duration:g} s"
        previous = (start, end)
    sent = " ".join(transcripts)
    if granularities == {"words"}:
        aligned = [_letters(text) for text, _, _ in items]
        expected = [_letters(word) for word in sent.split()]
        if [w for w in aligned if w] != [w for w in expected if w]:
            return f"the aligned words {[t for t, _, _ in items]} are not those sent: {sent!r}"
    elif _letters("".join(text for text, _, _ in items)) != _letters(sent):
        joined = "".join(text for text, _, _ in items)
        return f"the aligned characters {joined!r} are not those sent: {sent!r}"
    return None
