#!/usr/bin/env python3
"""An example voicewire ``cmd:`` driver: a LiveKit-inference TTS client in plain Python.

Run the TTS suite against it with::

    voicewire run --iut "cmd:python docs/examples/tts_driver.py" --suite tts --direction client

It is what the author of a port writes: a small program that reads requests from stdin and
answers on stdout, one JSON object per line (``docs/iut-protocol.md`` §6b), and behind it a
complete TTS client for SPEC §4: a fresh bearer token per connect, ``session.create`` once per
connection, the text cut into sentences sent as ``input_transcript``, one ``session.flush``
per synthesis, a pool of idle sockets reused for up to 300 s, the server's audio re-cut into
100 ms frames (the last one final), the errors of TTS-OUT-2, the retries of TTS-RETRY-1 and
the robustness of CLI-ROB-1. Besides the standard library it uses only the ``websockets``
package for the WebSocket itself; nothing in it leans on voicewire.

It declares the ``tts.stream`` and ``tts.synthesize`` capabilities.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import math
import re
import sys
import time
import traceback
import uuid
from typing import Any
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

PROTOCOL = 2
NAME = "example-tts-driver (python + websockets)"
CAPABILITIES = ["tts.stream", "tts.synthesize"]
FIRST_RETRY_WAIT = 0.1  # SPEC §2.4: the first retry waits 0.1 s, later ones retry_interval
MAX_IDLE = 300.0  # TTS-C-3: a pooled socket is reused while handed out no more than 300 s ago
FRAME_SECONDS = 0.1  # the frames a synthesis emits (the last one may be shorter)
MAX_MESSAGE_SIZE = 1 << 22  # a server frame bigger than this fails the connection
# What the TTS object is constructed with: session.create's "connection" block says it,
# whatever a synthesis's own conn_options (wire capture §9.4).
CONSTRUCTOR_TIMEOUT, CONSTRUCTOR_RETRIES = 10.0, 3


# -- errors (SPEC §2.4 names: they are what the suites see in ErrorInfo.kind) ------------------


class APIError(Exception):
    """A failed attempt, with the fields of the harness's ErrorInfo."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status_code: int | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status_code = status_code
        self.body = body


class APIStatusError(APIError):
    pass


class APIConnectionError(APIError):
    pass


class APITimeoutError(APIError):
    pass


def error_info(error: BaseException) -> dict[str, Any]:
    """An exception as the protocol's ``ErrorInfo`` object."""
    if isinstance(error, APIError):
        status = isinstance(error, APIStatusError)
        return {
            "kind": type(error).__name__,
            "message": error.message,
            "status_code": error.status_code if status else None,
            "retryable": error.retryable,
            "body": error.body if status else None,
        }
    return {"kind": type(error).__name__, "message": str(error), "retryable": None}


def retryable_status(code: int) -> bool:
    """SPEC §2.4 (RETRY-3): retryable unless a 4xx other than 408, 429 and 499. A WebSocket
    close code (1000-4999) is never an HTTP 4xx, so every close stays retryable."""
    return not (400 <= code < 500 and code not in (408, 429, 499))


# -- AUTH-1..3: an HS256 JWT, fresh for every connection --------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64json(value: Any) -> str:
    return _b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def access_token(api_key: str, api_secret: str) -> str:
    now = int(time.time())
    claims = {
        "iss": api_key,
        "sub": "agent",
        "nbf": now,
        "exp": now + 600,
        "inference": {"perform": True},
    }
    signing_input = _b64json({"alg": "HS256", "typ": "JWT"}) + "." + _b64json(claims)
    signature = hmac.new(api_secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64url(signature)


# -- TTS-C-2: sentences ----------------------------------------------------------------------

# A run of sentence punctuation and the closing quotes or brackets after it, once whitespace
# and the next sentence's first character follow: only then is the sentence known complete.
SENTENCE_END = re.compile(r"[.!?]+[\"'”’»)\]]*(?=\s+\S)")
MIN_SENTENCE = 20  # a shorter sentence is merged into the next, as upstream's tokenizer does
NEWLINES = re.compile(r"\s*\n+\s*")


def transcript(text: str) -> str:
    """One ``input_transcript`` text: newlines (and the spaces around them) made one space,
    stripped, and the one trailing space every transcript carries (TTS-C-2)."""
    return NEWLINES.sub(" ", text).strip() + " "


class Sentences:
    """Pushed text in, transcripts out. A sentence goes out once the next one has begun; a
    sentence under ``MIN_SENTENCE`` characters goes out together with the next. ``flush``
    sends what is pending, whatever it is. Whitespace aside, the transcripts concatenated are
    the text pushed (a flush inside a word cuts the word in two: the caller asked for it)."""

    def __init__(self) -> None:
        self.pending = ""

    def push(self, text: str) -> list[str]:
        self.pending += text
        out = []
        while (cut := self.first_cut()) is not None:
            out.append(transcript(self.pending[:cut]))
            self.pending = self.pending[cut:]
        return out

    def first_cut(self) -> int | None:
        for end in SENTENCE_END.finditer(self.pending):
            if len(NEWLINES.sub(" ", self.pending[: end.end()]).strip()) >= MIN_SENTENCE:
                return end.end()
        return None

    def flush(self) -> list[str]:
        out = self.push("")
        rest, self.pending = self.pending, ""
        if rest.strip():
            out.append(transcript(rest))
        return out


# -- the server's messages (SPEC §4), checked as CLI-ROB-1 asks ------------------------------


class Malformed(Exception):
    """A server message this client cannot read: it ends the attempt (CLI-ROB-1)."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _string(message: dict[str, Any], key: str, *, required: bool) -> str | None:
    value = message.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise Malformed(f"{message['type']}.{key} must be a string, got {value!r:.60}")
    return value


def _times(items: Any, key: str) -> None:
    if not isinstance(items, list):
        raise Malformed(f"output_alignment.{key} must be a list")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get(key[:-1]), str):
            raise Malformed(f"output_alignment.{key} holds {item!r:.60}")
        start, end = item.get("start"), item.get("end")
        for value in (start, end):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0 <= value < math.inf  # 1e400 reads as infinity
            ):
                raise Malformed(f"output_alignment.{key} has a bad time: {item!r:.60}")
        if end < start:
            raise Malformed(f"output_alignment.{key} ends before it starts: {item!r:.60}")


def parse_server_message(raw: str | bytes) -> dict[str, Any] | None:
    """One server frame as its message, ``None`` for a type this client does not know (it is
    ignored, as unknown keys are); raises :class:`Malformed` for anything else that is not a
    well-typed message."""
    if isinstance(raw, bytes):
        raise Malformed("a binary frame where a JSON text frame is expected")
    try:
        message = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise Malformed(f"not JSON: {raw[:80]!r}") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise Malformed(f"not an object with a string type: {raw[:80]!r}")
    kind = message["type"]
    if kind in ("session.created", "done", "output_audio", "output_alignment"):
        _string(message, "session_id", required=False)
    if kind == "output_audio":
        try:
            base64.b64decode(_string(message, "audio", required=True) or "", validate=True)
        except (binascii.Error, ValueError):
            raise Malformed("output_audio.audio is not base64") from None
    elif kind == "output_alignment":
        if (message.get("words") is None) == (message.get("chars") is None):
            raise Malformed("output_alignment needs exactly one of words and chars")
        key = "words" if message.get("words") is not None else "chars"
        _times(message[key], key)
    elif kind == "error":
        _string(message, "message", required=True)
        code = message.get("code")
        if code is not None and (isinstance(code, bool) or not isinstance(code, int)):
            raise Malformed(f"error.code must be an integer, got {code!r:.60}")
    elif kind not in ("session.created", "done", "session.closed"):
        return None
    return message


# -- the pool of sockets (TTS-C-3) ------------------------------------------------------------

IDLE, SYNTHESIZING, FLUSHED, FAILED = "idle", "synthesizing", "flushed", "failed"


class PooledSocket:
    """One socket: it carried its ``session.create``; one synthesis at a time uses it."""

    def __init__(self, ws: ClientConnection, now: float) -> None:
        self.ws = ws
        self.state = IDLE
        self.acquired_at = now


class Pool:
    """Idle sockets, reused while handed out no more than ``MAX_IDLE`` seconds ago. A socket
    whose synthesis failed is closed, never put back; nothing checks an idle socket's
    liveness: a dead one fails its attempt, and the retry connects anew."""

    def __init__(self, client: TTSClient) -> None:
        self.client = client
        self.idle: list[PooledSocket] = []
        self.open: set[PooledSocket] = set()

    async def acquire(self, timeout: float) -> PooledSocket:
        while self.idle:
            pooled = self.idle.pop()
            now = time.monotonic()
            if pooled.state == IDLE and now - pooled.acquired_at <= MAX_IDLE:
                pooled.acquired_at = now
                return pooled
            await self.close(pooled)
        return await self.connect(timeout)

    async def connect(self, timeout: float) -> PooledSocket:
        client = self.client
        token = access_token(client.target["api_key"], client.target["api_secret"])
        try:
            ws = await connect(
                client.url,
                additional_headers={"Authorization": f"Bearer {token}"},
                compression=None,
                ping_interval=None,
                proxy=None,
                open_timeout=timeout,
                close_timeout=timeout,
                max_size=MAX_MESSAGE_SIZE,
            )
        except InvalidStatus as exc:
            status, body = exc.response.status_code, exc.response.body or b""
            try:
                body = json.loads(body)  # the gateway's JSON error, as AUTH-4's 401 has
            except ValueError:
                body = body.decode("utf-8", errors="replace")[:4000] or None
            raise APIStatusError(
                f"LiveKit Inference TTS refused the connection: HTTP {status}",
                retryable=retryable_status(status),
                status_code=status,
                body=body,
            ) from None
        except (TimeoutError, asyncio.TimeoutError):
            raise APITimeoutError(
                f"connecting to LiveKit Inference TTS timed out after {timeout} s", retryable=True
            ) from None
        except Exception as exc:
            raise APIConnectionError(
                f"failed to connect to LiveKit Inference TTS: {type(exc).__name__}: {exc}",
                retryable=True,
            ) from None
        pooled = PooledSocket(ws, time.monotonic())
        self.open.add(pooled)
        try:
            # TTS-C-1: first, once per connection, without waiting for an answer.
            await send_within(ws, client.session_create(), timeout)
        except BaseException as exc:
            await self.close(pooled)
            if isinstance(exc, Exception):
                raise APIConnectionError(
                    f"failed to send session.create: {exc}", retryable=True
                ) from None
            raise
        return pooled

    def release(self, pooled: PooledSocket) -> None:
        """Back to the pool, after its synthesis's ``done``: the next synthesis reuses it."""
        self.idle.append(pooled)

    async def close(self, pooled: PooledSocket) -> None:
        pooled.state = FAILED
        self.open.discard(pooled)
        # What the server sent after a failure waits unread in the socket's queue, and a full
        # queue stops websockets reading: the server's close frame would never be read, and
        # close() would wait out its timeout. Read and drop it while closing.
        drain = asyncio.ensure_future(discard_messages(pooled.ws))
        try:
            with contextlib.suppress(Exception):
                await pooled.ws.close(1000)
        finally:
            drain.cancel()
            await asyncio.gather(drain, return_exceptions=True)

    async def aclose(self) -> None:
        self.idle.clear()
        for pooled in list(self.open):
            await self.close(pooled)


async def discard_messages(ws: ClientConnection) -> None:
    """Read and drop messages until the socket closes."""
    with contextlib.suppress(Exception):
        while True:
            await ws.recv()


async def within(awaitable: Any, timeout: float) -> Any:
    """``awaitable``'s result, or ``asyncio.TimeoutError`` after ``timeout`` seconds (it is then
    cancelled). Unlike ``asyncio.wait_for`` before Python 3.12, it never swallows a
    cancellation that arrives as the awaitable completes, so a synthesis always stops."""
    task = asyncio.ensure_future(awaitable)
    # Its error is read even when nothing awaits it any more (no "never retrieved" noise).
    task.add_done_callback(lambda done: done.cancelled() or done.exception())
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout)
    finally:
        if not task.done():
            task.cancel()
    if not done:
        raise asyncio.TimeoutError
    return task.result()


async def send_within(ws: ClientConnection, message: dict[str, Any], timeout: float) -> None:
    """Send one message within ``timeout``: a server that stops reading must not hang the
    synthesis (CLI-ROB-1). Raises ``ConnectionClosed`` as websockets does."""
    try:
        await within(ws.send(json.dumps(message)), timeout)
    except asyncio.TimeoutError:
        raise APITimeoutError(
            f"sending to LiveKit Inference TTS timed out after {timeout} s", retryable=True
        ) from None


# -- the TTS object: options, the pool, the messages the client sends --------------------------


class TTSClient:
    """One ``inference.TTS``: what every synthesis of an operation shares."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.target = request["target"]
        model = request.get("model", "cartesia/sonic-3")
        if not isinstance(model, str) or not model:
            raise ValueError(f"model must be a non-empty string, got {model!r}")
        # "provider/model:voice" names the voice too, unless the request gives one.
        model, colon, voice = model.rpartition(":") if ":" in model else (model, "", "")
        self.model = model
        self.voice = request.get("voice") or (voice if colon else None)
        self.language = request.get("language") or None
        self.rate = int(request.get("sample_rate") or 24000)
        self.extra = dict(request.get("extra_kwargs") or {})
        base = self.target["base_url"]
        if base.startswith(("http://", "https://")):
            base = base.replace("http", "ws", 1)
        self.url = f"{base.removesuffix('/')}/tts?model={quote(self.model, safe='/:@')}"
        self.pool = Pool(self)

    def session_create(self) -> dict[str, Any]:
        """TTS-C-1: the rate as a string, ``extra`` always, the options only when set."""
        create: dict[str, Any] = {
            "type": "session.create",
            "sample_rate": str(self.rate),
            "encoding": "pcm_s16le",
            "extra": self.extra,
        }
        for key in ("voice", "model", "language"):
            if getattr(self, key):
                create[key] = getattr(self, key)
        create["connection"] = {"timeout": CONSTRUCTOR_TIMEOUT, "retries": CONSTRUCTOR_RETRIES}
        return create

    def input_transcript(self, text: str) -> dict[str, Any]:
        """TTS-C-2: one transcript, with the options in force."""
        config = {
            key: getattr(self, key) for key in ("voice", "model", "language") if getattr(self, key)
        }
        return {
            "type": "input_transcript",
            "transcript": text,
            "generation_config": config,
            "extra": self.extra,
        }


# -- one synthesis ---------------------------------------------------------------------------


class Synthesis:
    """One streaming synthesis: its text (cut into transcripts) in, frames out, its attempts
    (TTS-RETRY-1), and its events as the protocol's ``tts.*`` events."""

    def __init__(self, client: TTSClient, operation: Operation, index: int) -> None:
        self.client = client
        self.operation = operation
        self.index = index
        options = operation.request.get("conn_options") or {}
        self.max_retry = int(options.get("max_retry", 3))
        self.retry_interval = float(options.get("retry_interval", 2.0))
        self.timeout = float(options.get("timeout", 10.0))
        self.sentences = Sentences()
        self.transcripts: list[str] = []  # everything the input made: what a retry replays
        self.input_ended = False
        self.wake = asyncio.Event()  # new transcripts, or the end of input
        self.audio_emitted = False
        self.counts = {"audio": 0, "final": 0, "error": 0}
        self.changed = asyncio.Event()
        self.done: asyncio.Task[None] | None = None
        self.request_id = ""

    # -- input -----------------------------------------------------------------------------

    def push_text(self, text: str) -> None:
        self.check_input_open()
        self.add(self.sentences.push(text))

    def flush(self) -> None:
        self.check_input_open()
        self.add(self.sentences.flush())

    def end_input(self) -> None:
        if self.input_ended:
            return
        self.add(self.sentences.flush())
        self.input_ended = True
        self.wake.set()

    def check_input_open(self) -> None:
        if self.input_ended:
            raise RuntimeError("the input has ended: end_input() was called")

    def add(self, transcripts: list[str]) -> None:
        if transcripts:
            self.transcripts.extend(transcripts)
            self.wake.set()

    # -- events ----------------------------------------------------------------------------

    def record(self, event: dict[str, Any], *kinds: str) -> None:
        self.operation.events.append({**event, "t": self.operation.now(), "synthesis": self.index})
        for kind in kinds:
            self.counts[kind] += 1
        self.changed.set()

    def emit(self, pcm: bytes, segment_id: str, is_final: bool) -> None:
        if pcm:
            self.audio_emitted = True  # TTS-RETRY-1: from now on nothing is retried
        self.record(
            {
                "type": "tts.audio",
                "pcm": base64.b64encode(pcm).decode("ascii"),
                "sample_rate": self.client.rate,
                "num_channels": 1,
                "segment_id": segment_id,
                "request_id": self.request_id,
                "is_final": is_final,
            },
            "audio",
            *(("final",) if is_final else ()),
        )

    async def wait(self, kind: str, count: int, timeout: float) -> None:
        """Until ``count`` events of ``kind`` came, the synthesis ended, or ``timeout``."""
        deadline = time.monotonic() + timeout
        while self.counts[kind] < count and not (self.done and self.done.done()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), remaining)
            except asyncio.TimeoutError:
                return

    # -- the attempts loop (TTS-RETRY-1 with SPEC §2.4's limits) ----------------------------

    async def run_attempts(self) -> None:
        try:
            for attempt in range(self.max_retry + 1):
                try:
                    await self.run_attempt()
                    return
                except APIError as error:
                    # After audio nothing is retried: a replay would duplicate it.
                    retryable = error.retryable and not self.audio_emitted
                    retry = retryable and attempt < self.max_retry
                    self.record(
                        {"type": "tts.error", "error": error_info(error), "recoverable": retry},
                        "error",
                    )
                    if retry:
                        await asyncio.sleep(
                            FIRST_RETRY_WAIT if attempt == 0 else self.retry_interval
                        )
                        continue
                    if self.max_retry > 0 and retryable:
                        raise APIConnectionError(
                            f"failed to synthesize speech after {attempt + 1} attempts",
                            retryable=False,
                        ) from error
                    raise
                except Exception as error:  # not this client's own error: never retried
                    self.record(
                        {"type": "tts.error", "error": error_info(error), "recoverable": False},
                        "error",
                    )
                    raise
        finally:
            self.changed.set()  # a wait_event step must see the end

    async def run_attempt(self) -> None:
        """One attempt on one pooled socket: every transcript so far (replayed from the first
        on a retry), the rest as it comes, ``session.flush`` once the input ended; the audio
        until ``done``. The socket goes back to the pool only after a clean ``done``."""
        self.request_id = f"tts_{uuid.uuid4().hex[:12]}"
        pooled = await self.client.pool.acquire(self.timeout)
        pooled.state = SYNTHESIZING
        first_sent = asyncio.Event()
        sender = asyncio.ensure_future(self.send_loop(pooled, first_sent))
        receiver = asyncio.ensure_future(self.receive_loop(pooled, first_sent))
        finished = False
        try:
            done, _ = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if receiver not in done:
                sender.result()  # a failed send; a clean end leaves the receiver to finish
            await receiver
            finished = True
        finally:
            for task in (sender, receiver):
                task.cancel()
            await asyncio.gather(sender, receiver, return_exceptions=True)
            if finished:
                self.client.pool.release(pooled)
            else:
                await self.client.pool.close(pooled)

    async def send_loop(self, pooled: PooledSocket, first_sent: asyncio.Event) -> None:
        sent = 0
        try:
            while True:
                while sent < len(self.transcripts):
                    message = self.client.input_transcript(self.transcripts[sent])
                    await send_within(pooled.ws, message, self.timeout)
                    sent += 1
                    first_sent.set()
                if self.input_ended:
                    # TTS-C-3: exactly one per synthesis, and no close message.
                    pooled.state = FLUSHED
                    await send_within(pooled.ws, {"type": "session.flush"}, self.timeout)
                    first_sent.set()
                    return
                self.wake.clear()
                await self.wake.wait()
        except ConnectionClosed:
            first_sent.set()  # the receiver reports how the socket closed

    async def receive_loop(self, pooled: PooledSocket, first_sent: asyncio.Event) -> None:
        """The synthesis's server messages, until ``done``; raises the attempt's error."""
        # Reading starts once something was sent: before that a silent server is not late.
        await first_sent.wait()
        frame_bytes = 2 * max(1, round(self.client.rate * FRAME_SECONDS))
        audio = bytearray()  # received, not yet cut into a frame
        held: bytes | None = None  # the last frame, emitted once it is known not to be final
        segment_id: str | None = None
        while True:
            try:
                raw = await within(pooled.ws.recv(), self.timeout)
            except asyncio.TimeoutError:
                raise APITimeoutError(
                    f"LiveKit Inference TTS timed out: no message for {self.timeout} s",
                    retryable=not self.audio_emitted,
                ) from None
            except ConnectionClosed as exc:
                raise self.closed_error(exc) from None
            try:
                message = parse_server_message(raw)
            except Malformed as exc:
                raise APIConnectionError(
                    f"LiveKit Inference TTS sent {exc}", retryable=not self.audio_emitted
                ) from None
            if message is None or message["type"] == "session.created":
                continue
            kind = message["type"]
            if kind == "error":
                raise APIError(
                    f"LiveKit Inference TTS returned error: {message['message']}",
                    retryable=not self.audio_emitted,
                )
            if kind == "session.closed":
                raise APIStatusError(
                    "Gateway connection closed unexpectedly: session.closed before done",
                    retryable=not self.audio_emitted,
                    status_code=-1,
                )
            session_id = message.get("session_id")
            if session_id is None and kind != "output_alignment":
                # TTS-S-1: without it the audio has no segment (upstream crashes).
                raise APIConnectionError(
                    f"LiveKit Inference TTS sent {kind} without session_id",
                    retryable=not self.audio_emitted,
                )
            if segment_id is None and session_id is not None:
                segment_id = session_id
            if kind == "output_audio":
                audio += base64.b64decode(message["audio"])
                while len(audio) >= frame_bytes:
                    if held is not None:
                        self.emit(held, segment_id or "", is_final=False)
                    held, audio = bytes(audio[:frame_bytes]), audio[frame_bytes:]
            elif kind == "done":
                if pooled.state != FLUSHED:
                    raise APIConnectionError(
                        "LiveKit Inference TTS sent done before session.flush",
                        retryable=not self.audio_emitted,
                    )
                if len(audio) % 2:
                    raise APIConnectionError(
                        "LiveKit Inference TTS audio ends inside a sample",
                        retryable=not self.audio_emitted,
                    )
                # Every synthesis has exactly one final frame, even one without audio.
                frames = [f for f in (held, bytes(audio)) if f] or [b""]
                for position, frame in enumerate(frames):
                    self.emit(frame, segment_id or "", is_final=position == len(frames) - 1)
                pooled.state = IDLE
                return

    def closed_error(self, exc: ConnectionClosed) -> APIError:
        sent, rcvd = exc.sent, exc.rcvd
        if sent is not None and sent.code != 1000 and not exc.rcvd_then_sent:
            # websockets failed the connection itself: the server broke the WebSocket
            # protocol (a frame over MAX_MESSAGE_SIZE, invalid UTF-8...).
            return APIConnectionError(
                f"LiveKit Inference TTS connection failed: close {sent.code} {sent.reason}",
                retryable=not self.audio_emitted,
            )
        code = rcvd.code if rcvd is not None else -1
        return APIStatusError(
            f"Gateway connection closed unexpectedly: close code {code}",
            retryable=not self.audio_emitted and retryable_status(code),
            status_code=code,
        )

    # -- the whole synthesis, as its consumer sees it -------------------------------------

    async def run(self, script: list[dict[str, Any]]) -> None:
        """Play ``script`` into the synthesis while it runs, end its input, wait for its end
        (``end_timeout``), and record its ``tts.end``."""
        self.done = asyncio.ensure_future(self.run_attempts())
        script_error: BaseException | None = None
        try:
            for step in script:
                op = step.get("op")
                if op == "push_text":
                    self.push_text(step["text"])
                elif op == "flush":
                    self.flush()
                elif op == "end_input":
                    self.end_input()
                elif op == "wait_event":
                    await self.wait(
                        step["event"], int(step.get("count", 1)), float(step.get("timeout", 10))
                    )
            self.end_input()  # a script that did not end its input: its caller is done
        except Exception as exc:  # a step the synthesis refused ends the script
            script_error = exc
            self.end_input()
        end_timeout = float(self.operation.request.get("end_timeout", 15.0))
        failure: BaseException | None = None
        try:
            await asyncio.wait_for(asyncio.shield(self.done), end_timeout)
        except asyncio.TimeoutError:
            self.done.cancel()
            with contextlib.suppress(BaseException):
                await self.done
            script_error = script_error or TimeoutError(
                f"the synthesis did not end within {end_timeout} s of its input's end"
            )
        except Exception as exc:
            failure = exc
        error = failure or script_error
        self.record({"type": "tts.end", "error": None if error is None else error_info(error)})


# -- one operation: a TTS object and its syntheses, one after another -------------------------


class Operation:
    def __init__(self, request: dict[str, Any]) -> None:
        self.request = request
        self.started = time.monotonic()
        self.events: list[dict[str, Any]] = []

    def now(self) -> float:
        return time.monotonic() - self.started

    async def run(self, scripts: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
        try:
            client = TTSClient(self.request)
        except Exception as exc:  # a refused construction is the implementation's answer
            end = {"type": "tts.end", "t": self.now(), "error": error_info(exc)}
            return [{**end, "synthesis": index} for index in range(len(scripts))]
        try:
            for index, script in enumerate(scripts):
                await Synthesis(client, self, index).run(script)
        finally:
            await client.pool.aclose()  # tts.aclose(): every socket closed (1000)
        return self.events


def scripts_of(op: str, request: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The syntheses of an operation, as scripts: ``synthesize(text)`` is one streaming
    synthesis of the whole text and its end."""
    if op == "tts.stream":
        return list(request["streams"])
    return [[{"op": "push_text", "text": text}, {"op": "end_input"}] for text in request["texts"]]


# -- the cmd: protocol -----------------------------------------------------------------------


def handle(op: str, request: dict[str, Any]) -> dict[str, Any]:
    """The answer to one request; raising makes an error reply."""
    if op == "hello":
        if request.get("protocol") != PROTOCOL:
            raise ValueError(
                f"this driver speaks protocol {PROTOCOL}, not {request.get('protocol')}"
            )
        return {"name": NAME, "capabilities": CAPABILITIES, "protocol": PROTOCOL}
    if op in ("tts.stream", "tts.synthesize"):
        return {"events": asyncio.run(Operation(request).run(scripts_of(op, request)))}
    raise ValueError(f"unsupported op {op!r}")


def main() -> int:
    requests = sys.stdin.buffer
    replies = sys.stdout.buffer
    # stdout carries protocol replies only: a stray print() must not corrupt it.
    sys.stdout = sys.stderr
    for raw in iter(requests.readline, b""):
        if not raw.strip():
            continue
        request = json.loads(raw)
        op, body = request.get("op"), request.get("request") or {}
        reply: dict[str, Any] = {"id": request.get("id")}
        try:
            reply["answer"] = {} if op == "shutdown" else handle(op, body)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            reply["error"] = {"message": f"{type(exc).__name__}: {exc}"}
        replies.write(json.dumps(reply, separators=(",", ":")).encode("ascii") + b"\n")
        replies.flush()
        if op == "shutdown":
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
