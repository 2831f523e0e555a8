#!/usr/bin/env python3
"""An example voicewire ``cmd:`` driver: a LiveKit-inference STT client in plain Python.

Run the STT suite against it with::

    voicewire run --iut "cmd:python docs/examples/stt_driver.py" --suite stt

It is what the author of a port writes: a small program that reads requests from stdin and
answers on stdout, one JSON object per line (``docs/iut-protocol.md`` §6a), and behind it a
complete streaming STT client for SPEC §3: the upgrade with a fresh bearer token,
``session.create``, exact 50 ms ``input_audio`` frames, ``session.finalize`` once, the
segment state machine (START, INTERIM, USAGE, FINAL, END), error messages and closes, the
STT-C-4 close timers and the retry loop with a monotonic timeline. Besides the standard
library it uses only the ``websockets`` package for the WebSocket itself; nothing in it leans
on voicewire.

It declares the ``stt.stream`` capability, and ``stt.time_scale``: its close timers follow the
request's ``time_scale``, so the suite judges them in milliseconds.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import sys
import time
import traceback
import uuid
from array import array
from typing import Any
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

PROTOCOL = 2
NAME = "example-stt-driver (python + websockets)"
CAPABILITIES = ["stt.stream", "stt.time_scale"]
FIRST_RETRY_WAIT = 0.1  # SPEC §2.4: the first retry waits 0.1 s, later ones retry_interval
CLOSE_AFTER_FINAL = 3.0  # STT-C-4
CLOSE_WITHOUT_FINAL = 30.0


# -- errors (SPEC §2.4 names: they are what the suites see in ErrorInfo.kind) ------------------


class APIError(Exception):
    """A failed attempt, with the fields of the harness's ErrorInfo."""

    def __init__(self, message: str, *, retryable: bool, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status_code = status_code


class APIStatusError(APIError):
    pass


class APIConnectionError(APIError):
    pass


class APITimeoutError(APIError):
    pass


def error_info(error: BaseException) -> dict[str, Any]:
    """An exception as the protocol's ``ErrorInfo`` object."""
    if isinstance(error, APIError):
        return {
            "kind": type(error).__name__,
            "message": error.message,
            "status_code": error.status_code if isinstance(error, APIStatusError) else None,
            "retryable": error.retryable,
        }
    return {"kind": type(error).__name__, "message": str(error), "retryable": None}


def retryable_code(code: int) -> bool:
    """STT-END-1: an error is retryable unless its code is a 4xx other than 408/429."""
    return not (400 <= code < 500 and code not in (408, 429))


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


# -- audio: what push_frame does before the framer -----------------------------------------


def to_mono(pcm: bytes, channels: int) -> array:
    """Interleaved s16le as mono samples (the channels averaged)."""
    samples = array("h", pcm)
    if sys.byteorder == "big":
        samples.byteswap()
    if channels == 1:
        return samples
    return array(
        "h",
        (int(sum(samples[i : i + channels]) / channels) for i in range(0, len(samples), channels)),
    )


def resample(samples: array, from_rate: int, to_rate: int) -> array:
    """Linear interpolation, one push at a time: enough for a driver, not a studio."""
    if from_rate == to_rate or not samples:
        return samples
    count = len(samples) * to_rate // from_rate
    out = array("h")
    for i in range(count):
        position = i * from_rate / to_rate
        left = int(position)
        right = min(left + 1, len(samples) - 1)
        fraction = position - left
        out.append(int(samples[left] * (1 - fraction) + samples[right] * fraction))
    return out


def to_bytes(samples: array) -> bytes:
    if sys.byteorder == "big":
        samples = array("h", samples)
        samples.byteswap()
    return samples.tobytes()


# -- the stream ------------------------------------------------------------------------------

FLUSH = "flush"
END = "end"


class Stream:
    """One speech stream: the script's input in a queue, the attempts loop reading it, and
    the SpeechEvents as the protocol's ``stt.*`` events."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.request = request
        self.target = request["target"]
        self.model: str = request.get("model") or "auto"
        self.language: str | None = request.get("language")
        self.extra: dict[str, Any] = dict(request.get("extra_kwargs") or {})
        self.rate: int = int(request.get("sample_rate") or 16000)
        options = request.get("conn_options") or {}
        self.max_retry = int(options.get("max_retry", 3))
        self.retry_interval = float(options.get("retry_interval", 2.0))
        self.timeout = float(options.get("timeout", 10.0))
        # stt.time_scale: the STT-C-4 timers run this many times as long.
        self.time_scale = float(request.get("time_scale", 1.0))
        self.started = time.monotonic()
        self.events: list[dict[str, Any]] = []
        self.counts: dict[str, int] = {}
        self.changed = asyncio.Event()
        self.input: asyncio.Queue[Any] = asyncio.Queue()
        self.request_id = uuid.uuid4().hex
        # Stream-level state: it outlives a connection (STT-RETRY-1).
        self.held = b""  # audio not yet framed (STT-C-2)
        self.offset = 0.0  # seconds of audio sent on earlier connections (STT-ORD-5)
        self.open = False  # a segment is open (STT-ORD-1)
        self.unreported = 0  # samples sent since the last usage event (STT-USG-1)
        self.finalized = False
        self.sent = 0  # samples sent on the current connection
        self.done: asyncio.Task[Any] | None = None  # the attempts loop, once running

    # -- events ----------------------------------------------------------------------------

    def now(self) -> float:
        return time.monotonic() - self.started

    def record(self, event: dict[str, Any], kind: str) -> None:
        self.events.append({**event, "t": self.now()})
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.changed.set()

    def speech(self, speech_type: str, **fields: Any) -> None:
        self.record(
            {"type": "stt.speech", "speech_type": speech_type, "request_id": "", **fields},
            speech_type,
        )

    # -- the script --------------------------------------------------------------------------

    async def play(self) -> None:
        for step in self.request.get("script") or []:
            op = step.get("op")
            if op == "push_audio":
                mono = to_mono(base64.b64decode(step["pcm"]), int(step.get("num_channels", 1)))
                samples = resample(mono, int(step["sample_rate"]), self.rate)
                self.input.put_nowait(to_bytes(samples))
            elif op == "flush":
                self.input.put_nowait(FLUSH)
            elif op == "end_input":
                self.input.put_nowait(END)
            elif op == "update_options":
                self.input.put_nowait(
                    {k: step.get(k) for k in ("model", "language", "extra_kwargs")}
                )
            elif op == "wait_event":
                await self.wait(
                    step["event"], int(step.get("count", 1)), float(step.get("timeout", 10))
                )

    async def wait(self, kind: str, count: int, timeout: float) -> None:
        """Until ``count`` events of ``kind`` came, the stream ended, or ``timeout``."""
        deadline = time.monotonic() + timeout
        while self.counts.get(kind, 0) < count and not (self.done and self.done.done()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), remaining)
            except asyncio.TimeoutError:
                return

    # -- the attempts loop (STT-RETRY-1 with SPEC §2.4's limits) ----------------------------

    async def run_attempts(self) -> None:
        for attempt in range(self.max_retry + 1):
            try:
                await self.run_attempt()
                return
            except APIError as error:
                retry = error.retryable and attempt < self.max_retry
                self.record(
                    {"type": "stt.error", "error": error_info(error), "recoverable": retry}, "error"
                )
                if not retry:
                    if self.max_retry > 0 and error.retryable:
                        raise APIConnectionError(
                            f"failed to recognize speech after {attempt + 1} attempts",
                            retryable=False,
                        ) from error
                    raise
                await asyncio.sleep(FIRST_RETRY_WAIT if attempt == 0 else self.retry_interval)

    def session_create(self) -> dict[str, Any]:
        """STT-C-1: model left out for ``auto``, language when unset, the rate as a string."""
        settings: dict[str, Any] = {"sample_rate": str(self.rate), "encoding": "pcm_s16le"}
        if self.language:
            settings["language"] = self.language
        settings["extra"] = self.extra
        create: dict[str, Any] = {"type": "session.create", "settings": settings}
        if self.model != "auto":
            create["model"] = self.model
        create["connection"] = {"timeout": self.timeout, "retries": self.max_retry}
        return create

    async def run_attempt(self) -> None:
        base = self.target["base_url"].replace("http", "ws", 1).rstrip("/")
        url = f"{base}/stt?model={quote(self.model, safe='/')}"
        token = access_token(self.target["api_key"], self.target["api_secret"])
        try:
            ws = await asyncio.wait_for(
                connect(
                    url,
                    additional_headers={"Authorization": f"Bearer {token}"},
                    compression=None,
                    ping_interval=None,
                    max_size=None,
                ),
                self.timeout,
            )
        except asyncio.TimeoutError:
            raise APITimeoutError("the upgrade timed out", retryable=True) from None
        except Exception as exc:
            status = getattr(getattr(exc, "response", None), "status_code", None)
            if status is not None:
                raise APIStatusError(
                    f"the upgrade was refused: {status}",
                    retryable=retryable_code(status),
                    status_code=status,
                ) from None
            raise APIConnectionError(f"cannot connect: {exc}", retryable=True) from None
        self.sent = 0  # samples sent on this connection
        self.finalized = False
        try:
            await ws.send(json.dumps(self.session_create()))
            sender = asyncio.ensure_future(self.send_loop(ws))
            receiver = asyncio.ensure_future(self.receive_loop(ws))
            try:
                finished, _ = await asyncio.wait(
                    {sender, receiver}, return_when=asyncio.FIRST_COMPLETED
                )
                if receiver not in finished:
                    sender.result()
                await receiver
            finally:
                for task in (sender, receiver):
                    task.cancel()
                await asyncio.gather(sender, receiver, return_exceptions=True)
        except ConnectionClosed as exc:
            raise self.closed_error(exc.rcvd.code if exc.rcvd else 1006) from None
        finally:
            # The audio this connection carried moves the next connection's timeline on.
            self.offset += self.sent / self.rate
            await ws.close()

    def closed_error(self, code: int) -> APIError:
        return APIStatusError(
            f"the server closed the connection ({code}) before the session was finalized",
            retryable=True,
            status_code=code,
        )

    async def send_audio(self, ws: ClientConnection, pcm: bytes) -> None:
        await ws.send(json.dumps({"type": "input_audio", "audio": base64.b64encode(pcm).decode()}))
        samples = len(pcm) // 2
        self.sent += samples
        self.unreported += samples

    async def send_loop(self, ws: ClientConnection) -> None:
        frame = self.rate // 20 * 2  # STT-C-2: exactly 50 ms
        while True:
            item = await self.input.get()
            if isinstance(item, bytes):
                self.held += item
                while len(self.held) >= frame:
                    piece, self.held = self.held[:frame], self.held[frame:]
                    await self.send_audio(ws, piece)
            elif item in (FLUSH, END):
                if self.held:
                    piece, self.held = self.held, b""
                    await self.send_audio(ws, piece)
                if item == END:
                    await ws.send(json.dumps({"type": "session.finalize"}))  # STT-C-3
                    self.finalized = True
                    return
            else:  # update_options (STT-C-5)
                settings: dict[str, Any] = {}
                if item.get("model"):
                    self.model = settings["model"] = item["model"]
                if item.get("language"):
                    self.language = settings["language"] = item["language"]
                if item.get("extra_kwargs") is not None:
                    self.extra = {**self.extra, **item["extra_kwargs"]}
                    settings["extra"] = self.extra
                await ws.send(json.dumps({"type": "session.update", "settings": settings}))

    async def receive_loop(self, ws: ClientConnection) -> None:
        last_final: float | None = None
        while True:
            wait = None
            if self.finalized:
                # STT-C-4: close ourselves if the server does not, 3 s after the last final
                # (30 s without one).
                wait = CLOSE_AFTER_FINAL if last_final is not None else CLOSE_WITHOUT_FINAL
                wait *= self.time_scale
            try:
                raw = await asyncio.wait_for(ws.recv(), wait)
            except asyncio.TimeoutError:
                await ws.send(json.dumps({"type": "session.close"}))
                await ws.close(1000)
                return
            except ConnectionClosed as exc:
                if self.finalized:
                    return  # STT-END-1: a close after finalize is the clean end
                raise self.closed_error(exc.rcvd.code if exc.rcvd else 1006) from None
            if isinstance(raw, bytes):
                raise APIConnectionError("a binary frame where text is expected", retryable=True)
            try:
                message = json.loads(raw)
                kind = message["type"]
            except (ValueError, KeyError, TypeError):
                raise APIConnectionError(
                    f"a malformed message: {raw[:80]!r}", retryable=True
                ) from None
            if kind == "error":
                code = message.get("code")
                code = code if isinstance(code, int) else 500
                raise APIStatusError(
                    str(message.get("message", "")),
                    retryable=retryable_code(code),
                    status_code=code,
                )
            if kind == "session.closed":
                return
            if kind in ("interim_transcript", "final_transcript", "start_of_speech"):
                self.on_transcript(kind, message)
                if kind == "final_transcript":
                    last_final = time.monotonic()

    # -- the segment state machine (STT-ORD-1..5, STT-USG-1) ---------------------------------

    def alternative(self, message: dict[str, Any]) -> dict[str, Any]:
        start = float(message.get("start", 0.0))
        duration = float(message.get("duration", 0.0))
        words = [
            {
                "text": w.get("word", ""),
                "start_time": self.offset + float(w.get("start", 0.0)),
                "end_time": self.offset + float(w.get("end", 0.0)),
                "confidence": float(w.get("confidence", 0.0)),
                "speaker_id": w.get("speaker_id"),
            }
            for w in message.get("words") or []
        ]
        return {
            "text": message.get("transcript", ""),
            "start_time": self.offset + start,
            "end_time": self.offset + start + duration,
            "confidence": float(message.get("confidence", 1.0)),
            "language": message.get("language") or self.language or "en",
            "speaker_id": message.get("speaker_id"),
            "words": words,
        }

    def on_transcript(self, kind: str, message: dict[str, Any]) -> None:
        request_id = message.get("request_id") or self.request_id
        if kind == "start_of_speech":
            if not self.open:
                self.open = True
                self.speech("start_of_speech")
            return
        text = message.get("transcript", "")
        if kind == "interim_transcript":
            if not text:
                return  # STT-ORD-3: an empty interim emits nothing
            if not self.open:
                self.open = True
                self.speech("start_of_speech")
            self.speech(
                "interim_transcript",
                request_id=request_id,
                alternatives=[self.alternative(message)],
            )
            return
        if not self.open:  # any final opens a segment, even an empty one (STT-ORD-2)
            self.open = True
            self.speech("start_of_speech")
        if self.unreported:
            self.speech(
                "recognition_usage",
                request_id=request_id,
                audio_duration=self.unreported / self.rate,
            )
            self.unreported = 0
        self.speech(
            "final_transcript", request_id=request_id, alternatives=[self.alternative(message)]
        )
        self.open = False
        self.speech("end_of_speech")

    # -- the whole operation -----------------------------------------------------------------

    async def run(self) -> list[dict[str, Any]]:
        self.done = asyncio.ensure_future(self.run_attempts())
        failure: BaseException | None = None
        try:
            await self.play()
        except Exception as exc:
            failure = exc
        end_timeout = float(self.request.get("end_timeout", 15.0))
        try:
            await asyncio.wait_for(asyncio.shield(self.done), end_timeout)
        except asyncio.TimeoutError:
            self.done.cancel()
            failure = failure or TimeoutError(
                f"the stream did not end within {end_timeout} s of the script's end"
            )
        except Exception as exc:
            failure = exc
        self.events.append(
            {
                "type": "stt.end",
                "t": self.now(),
                "error": None if failure is None else error_info(failure),
            }
        )
        return self.events


# -- the cmd: protocol -----------------------------------------------------------------------


def handle(op: str, request: dict[str, Any]) -> dict[str, Any]:
    """The answer to one request; raising makes an error reply."""
    if op == "hello":
        if request.get("protocol") != PROTOCOL:
            raise ValueError(
                f"this driver speaks protocol {PROTOCOL}, not {request.get('protocol')}"
            )
        return {"name": NAME, "capabilities": CAPABILITIES, "protocol": PROTOCOL}
    if op == "stt.stream":
        return {"events": asyncio.run(Stream(request).run())}
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
