"""The reference Inworld TTS over a multi-context WebSocket (SPEC §5.2):
:class:`InworldSynthesizeStream`, what ``InworldTTS.stream()`` returns, and
:class:`InworldStreamPool`, the sockets its contexts share.

``websockets`` only moves frames and time (the simulator is aiohttp, so the two stacks check
each other). Every protocol decision is the sans-IO wire module's: an
:class:`~voicewire.reference.inworld.wire.multiplexer.InworldClientMultiplexer` per socket
builds each context's frames (``create``, ``send_text`` in pieces of at most 1000 characters,
``flush_context``, ``close_context``, ``cancel_context``: IW-WS-1), refuses a sixth context on
a socket (IW-WS-2) and routes the server's replies by ``contextId`` (IW-WS-3..5).

What upstream ``livekit-plugins-inworld`` 1.8.9 does and this mirrors:

- a stream is one context; its segment id is the ``contextId`` (12 hex digits, like
  upstream's ``shortuuid``); it is complete when ``contextClosed`` arrives (IW-WS-4);
- with a ``CLIENT_SEGMENTED`` model (``inworld-tts-1.5-max``) the text is cut into sentences
  as upstream's blingfire tokenizer with ``retain_format=True`` cuts it (each sentence keeps
  its leading space: :class:`RetainedSentenceSplitter`), one ``send_text`` each; ``flush()``
  only sends the pending sentence; at the end of input ``flush_context`` then
  ``close_context``;
- with an ``inworld-tts-2`` model (``SENTENCE_BOUNDARY``) the pushed text goes out as pushed,
  every ``flush()`` is a ``flush_context``, and the end of input one more, then
  ``close_context`` (so ``flush()`` + ``end_input()`` send two, as the capture shows);
- on a timeout or a cancel the client sends ``cancel_context``.

Where it decides differently, it follows SPEC.md:

- the pool holds up to ``max_connections`` (20) sockets of up to five contexts each
  (IW-WS-2; upstream 1.8.9 puts every context on one socket and leaves the limit to the
  server); a sixth concurrent stream opens another socket, and with every socket full a
  stream waits for a free slot (at most ``conn_options.timeout``); a socket with no context
  for ``max_idle`` (300 s, on the pool's clock) is closed when the pool is next used;
- while the server owes a context a reply (a flush or the close is outstanding), its stream
  fails with ``APITimeoutError`` after ``conn_options.timeout`` of silence about it and sends
  ``cancel_context`` (upstream waits ``timeout + 60`` s in all); so a top-level ``error``,
  which names no context and fails none (see :mod:`.wire.multiplexer`), ends the stream it was
  about within the timeout;
- a malformed reply naming a context fails that context with ``APIConnectionError``; a frame
  naming none (binary, not JSON) fails every context of its socket and closes it (CLI-ROB-1;
  upstream crashes its receive loop on bad JSON, with the same outcome);
- a failed attempt is retried on a new context while no audio was emitted, replaying the
  input from its start (TTS-RETRY-1, §2.4's waits); after audio the error is raised;
- text pushed after a ``flush()`` is synthesized in the same context (upstream 1.8.9's base
  stream treats it as a second "segment" and never sends it: its deprecated multi-segment
  path).

Frames are :class:`~voicewire.reference.tts.wire.SynthesizedAudio` of 100 ms (cut at each
chunk's end as upstream's emitter flushes after every PCM chunk); the last one is marked
final; concatenated they are exactly the server's bytes, in order (IW-WS-5). Timed text is on
:attr:`InworldSynthesizeStream.timed_transcripts`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from voicewire.reference.audio import AudioByteStream, AudioFrame
from voicewire.reference.errors import (
    APIConnectionError,
    APIConnectOptions,
    APIError,
    APIStatusError,
    APITimeoutError,
)
from voicewire.reference.event_stream import EventStream
from voicewire.reference.gateway_socket import send_within
from voicewire.reference.inworld.wire.contexts import CreateContextConfig
from voicewire.reference.inworld.wire.multiplexer import (
    ContextAudio,
    ContextDone,
    ContextEvent,
    ContextFailed,
    ContextFailureKind,
    InworldClientMultiplexer,
)
from voicewire.reference.json_wire import LocalProtocolError, RemoteProtocolError
from voicewire.reference.stt.speech import TimedString
from voicewire.reference.tts.sentences import MIN_CONTEXT_LEN, MIN_SENTENCE_LEN, sentence_ends
from voicewire.reference.tts.wire import DEFAULT_TTS_FRAME_DURATION, SynthesizedAudio
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI, WebSocketException

__all__ = [
    "INWORLD_MAX_CONNECTIONS",
    "INWORLD_MAX_IDLE",
    "InworldStreamPool",
    "InworldSynthesizeStream",
    "RetainedSentenceSplitter",
    "new_context_id",
]

INWORLD_MAX_CONNECTIONS = 20
"""Sockets a pool may hold (IW-WS-2; upstream's ``max_connections``)."""
INWORLD_MAX_IDLE = 300.0
"""Seconds a socket may sit without a context before the pool closes it."""
NORMAL_CLOSURE = 1000
MAX_MESSAGE_SIZE = 1 << 23
"""The largest server message read (bytes): an ``audioChunk`` of a whole 1000-character
generation of PCM fits; a bigger one fails the socket (close 1009), so its contexts."""

_SERVICE = "Inworld TTS"
_NEWLINES_RE = re.compile(r"\s*\n+\s*")


def new_context_id() -> str:
    """A fresh ``contextId``: 12 hex digits, like upstream's ``utils.shortuuid()``."""
    return uuid.uuid4().hex[:12]


# -- the sentences of a CLIENT_SEGMENTED context ----------------------------------------------


class RetainedSentenceSplitter:
    """Pushed text in, the ``send_text`` texts of a client-segmented context out, sans-IO:
    upstream's ``blingfire.SentenceTokenizer(retain_format=True).stream()``.

    A sentence ends where :func:`~voicewire.reference.tts.sentences.sentence_ends` says; one
    shorter than 20 characters (stripped) is merged forward into the next; each goes out as
    its raw text, leading space and newlines kept, once the next one has begun (the last
    waits for :meth:`flush`). Tokens shorter than 20 characters are batched with a space.
    Concatenated, the tokens are the text pushed, but for those batching spaces.
    """

    def __init__(
        self, *, min_sentence_len: int = MIN_SENTENCE_LEN, min_context_len: int = MIN_CONTEXT_LEN
    ) -> None:
        self._min_sentence_len = min_sentence_len
        self._min_context_len = min_context_len
        self._pending = ""
        self._batch = ""

    def split(self, text: str) -> list[tuple[str, int]]:
        """``text`` as ``(raw sentence, end offset)`` pairs, as upstream's
        ``_split_sentences(retain_format=True)``."""
        if not text.strip():
            return []
        sentences: list[tuple[str, int]] = []
        start = 0
        for end in sentence_ends(text):
            raw = text[start:end]
            stripped = _NEWLINES_RE.sub(" ", raw).strip()
            if not stripped or len(stripped) < self._min_sentence_len:
                continue
            sentences.append((raw, end))
            start = end
        if start < len(text):
            sentences.append((text[start:], len(text)))
        return sentences

    def push(self, text: str) -> list[str]:
        """Take ``text``; return the tokens it completes."""
        tokens: list[str] = []
        if not text:
            return tokens
        self._pending += text
        if len(self._pending) < self._min_context_len:
            return tokens
        while True:
            sentences = self.split(self._pending)
            if len(sentences) <= 1:
                return tokens
            sentence, end = sentences[0]
            self._batch = f"{self._batch} {sentence}" if self._batch else sentence
            if len(self._batch) >= self._min_sentence_len:
                tokens.append(self._batch)
                self._batch = ""
            self._pending = self._pending[end:]

    def flush(self) -> list[str]:
        """Everything pending, batched into one token (none if it is blank)."""
        for sentence, _ in self.split(self._pending):
            self._batch = f"{self._batch} {sentence}" if self._batch else sentence
        tokens = [self._batch] if self._batch else []
        self._pending = ""
        self._batch = ""
        return tokens


# -- the pool ----------------------------------------------------------------------------------


@dataclass(eq=False)
class _Socket:
    """One pooled socket: its multiplexer, the queue of each context's events, its reader."""

    ws: ClientConnection
    mux: InworldClientMultiplexer
    idle_since: float
    queues: dict[str, asyncio.Queue[Any]] = field(default_factory=dict)
    reader: asyncio.Task[None] | None = None
    closing: bool = False


_OWED = object()  # put on a context's queue when the server comes to owe it a reply


class InworldStreamPool:
    """The sockets of one TTS object's streams (IW-WS-2): up to ``max_connections`` sockets to
    ``url``, up to five contexts each. ``headers`` gives the upgrade's headers (a fresh
    ``X-Request-Id`` per call); ``clock`` (default: the loop's time) is the clock of the idle
    limit, so a test can age a socket without waiting."""

    multiplexer_class: type[InworldClientMultiplexer] = InworldClientMultiplexer
    """The wire multiplexer of every socket (a mutant may swap it)."""

    def __init__(
        self,
        url: str,
        headers: Callable[[], Mapping[str, str]],
        *,
        max_connections: int = INWORLD_MAX_CONNECTIONS,
        max_idle: float = INWORLD_MAX_IDLE,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if isinstance(max_connections, bool) or not isinstance(max_connections, int):
            raise TypeError("max_connections must be an int")
        if max_connections < 1:
            raise ValueError(f"max_connections must be >= 1, got {max_connections}")
        self.url = url
        self._headers = headers
        self.max_connections = max_connections
        self.max_idle = float(max_idle)
        self._clock = clock
        self._sockets: list[_Socket] = []
        self._lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self._closed = False
        self._pending: set[asyncio.Task[None]] = set()
        self.connects = 0
        """How many sockets the pool has opened."""

    @property
    def size(self) -> int:
        """How many sockets are open."""
        return len(self._sockets)

    def now(self) -> float:
        """The time on the pool's clock."""
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    async def attach(
        self, context_id: str, config: CreateContextConfig, timeout: float
    ) -> tuple[_Socket, asyncio.Queue[Any]]:
        """Open context ``context_id`` on a socket with a free slot (a new socket when none
        has one and fewer than ``max_connections`` are open; else wait for a slot, at most
        ``timeout``): its ``create`` is sent; returns the socket and the context's queue of
        events."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            async with self._lock:
                if self._closed:
                    raise APIConnectionError("the Inworld TTS is closed", retryable=False)
                await self._close_idle()
                sock = next((s for s in self._sockets if not s.closing and s.mux.can_open), None)
                if sock is None and len(self._sockets) < self.max_connections:
                    sock = await self._connect(max(0.0, deadline - loop.time()))
                if sock is not None:
                    frame = sock.mux.create(context_id, config)
                    queue: asyncio.Queue[Any] = asyncio.Queue()
                    sock.queues[context_id] = queue
                    break
                self._changed.clear()
            remaining = deadline - loop.time()
            try:
                async with asyncio.timeout(max(0.0, remaining)):
                    await self._changed.wait()
            except TimeoutError:
                raise APITimeoutError(
                    f"no free Inworld TTS context slot within {timeout} s: "
                    f"{self.max_connections} sockets of 5 contexts are in use"
                ) from None
        try:
            await self.send(sock, frame, timeout)
        except BaseException:
            self.detach(sock, context_id)
            raise
        return sock, queue

    async def send(self, sock: _Socket, frame: str, timeout: float) -> None:
        """Send one frame on ``sock`` within ``timeout``; a dead socket or a timeout raises an
        ``APIError``."""
        try:
            await send_within(sock.ws, frame, timeout, service=_SERVICE)
        except APITimeoutError:
            raise APITimeoutError(f"sending to {_SERVICE} timed out after {timeout} s") from None
        except (ConnectionClosed, OSError) as exc:
            raise APIConnectionError(f"{_SERVICE}: the socket closed: {exc}") from exc

    async def cancel(self, sock: _Socket, context_id: str, timeout: float) -> None:
        """Send ``cancel_context`` for ``context_id`` if it is still open (a send that fails
        is left: the socket's loss fails the context anyway)."""
        if sock.mux.context(context_id) is None or sock.mux.lost:
            return
        frame = sock.mux.cancel(context_id)
        self._slot_freed(sock)
        with contextlib.suppress(APIError):
            await self.send(sock, frame, timeout)

    def detach(self, sock: _Socket, context_id: str) -> None:
        """The stream of ``context_id`` is done with its socket: a context still open is
        cancelled (``cancel_context``, sent in the background)."""
        sock.queues.pop(context_id, None)
        ctx = sock.mux.context(context_id)
        if ctx is not None and not sock.mux.lost:
            frame = sock.mux.cancel(context_id)
            task = asyncio.get_running_loop().create_task(self._send_quietly(sock, frame))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
        self._slot_freed(sock)

    async def aclose(self) -> None:
        """Close every socket (close 1000); nothing more may be attached."""
        async with self._lock:
            self._closed = True
            sockets, self._sockets = list(self._sockets), []
        # The cancel_contexts of streams closed just before go out before the sockets close.
        for task in list(self._pending):
            with contextlib.suppress(BaseException):
                await task
        for sock in sockets:
            await self._close(sock)
        self._changed.set()

    # -- the sockets ---------------------------------------------------------------------------

    async def _connect(self, timeout: float) -> _Socket:
        ws = await _open_socket(self.url, dict(self._headers()), timeout)
        self.connects += 1
        sock = _Socket(ws, self.multiplexer_class(clock=self.now), self.now())
        self._sockets.append(sock)
        sock.reader = asyncio.get_running_loop().create_task(self._read(sock))
        return sock

    async def _read(self, sock: _Socket) -> None:
        """Everything the server sends on ``sock``, routed to its contexts' queues, until it
        closes; then every open context fails (IW-WS-4) and the socket leaves the pool."""
        reason = "the socket closed"
        try:
            while True:
                frame = await sock.ws.recv()
                try:
                    events = sock.mux.receive_frame(frame)
                except RemoteProtocolError as exc:
                    reason = str(exc)
                    break
                self._route(sock, events)
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else None
            reason = f"the socket closed (code {code})" if code is not None else reason
        except Exception as exc:  # a transport error: the socket is as good as closed
            reason = f"the socket failed: {type(exc).__name__}: {exc}"
        finally:
            self._route(sock, sock.mux.connection_lost(reason))
            self._forget(sock)
            if not sock.closing:
                sock.closing = True
                _in_background(_close_ws(sock.ws))

    def _route(self, sock: _Socket, events: list[ContextEvent]) -> None:
        for event in events:
            queue = sock.queues.get(getattr(event, "context_id", ""))
            if queue is not None:
                queue.put_nowait(event)
            if isinstance(event, (ContextDone, ContextFailed)):
                self._slot_freed(sock)

    def _slot_freed(self, sock: _Socket) -> None:
        if sock.mux.open_count == 0:
            sock.idle_since = self.now()
        self._changed.set()

    def _forget(self, sock: _Socket) -> None:
        with contextlib.suppress(ValueError):
            self._sockets.remove(sock)
        self._changed.set()

    async def _close_idle(self) -> None:
        now = self.now()
        for sock in list(self._sockets):
            if sock.mux.open_count == 0 and now - sock.idle_since > self.max_idle:
                self._forget(sock)
                await self._close(sock)

    async def _close(self, sock: _Socket) -> None:
        sock.closing = True
        await _close_ws(sock.ws)
        if sock.reader is not None:
            with contextlib.suppress(BaseException):
                await sock.reader

    async def _send_quietly(self, sock: _Socket, frame: str) -> None:
        with contextlib.suppress(Exception):
            await send_within(sock.ws, frame, 5.0, service=_SERVICE)


async def _open_socket(url: str, headers: dict[str, str], timeout: float) -> ClientConnection:
    """The upgrade to ``url`` within ``timeout``: a refusal is an ``APIStatusError`` with its
    status, a timeout an ``APITimeoutError``, anything else an ``APIConnectionError``."""
    # upstream's aiohttp takes an http(s) URL for a WebSocket; websockets wants ws(s).
    if url.startswith(("http://", "https://")):
        url = "ws" + url[4:]
    try:
        return await connect(
            url,
            additional_headers=headers,
            compression=None,
            ping_interval=None,
            proxy=None,
            open_timeout=timeout,
            close_timeout=timeout,
            max_size=MAX_MESSAGE_SIZE,
        )
    except InvalidStatus as exc:
        response = exc.response
        raise APIStatusError(
            f"{_SERVICE} refused the connection: HTTP {response.status_code}",
            status_code=response.status_code,
            request_id=headers.get("X-Request-Id"),
            body=(response.body or b"")[:4000].decode("utf-8", "replace") or None,
        ) from exc
    except (TimeoutError, asyncio.TimeoutError) as exc:
        raise APITimeoutError(f"connecting to {_SERVICE} timed out after {timeout} s") from exc
    except InvalidURI as exc:
        raise APIConnectionError(f"invalid {_SERVICE} URL {url!r}: {exc}", retryable=False) from exc
    except (OSError, EOFError, WebSocketException) as exc:
        raise APIConnectionError(
            f"failed to connect to {_SERVICE}: {type(exc).__name__}: {exc}"
        ) from exc


async def _close_ws(ws: ClientConnection) -> None:
    with contextlib.suppress(Exception):
        await ws.close(NORMAL_CLOSURE)


# Sends and closes started where nothing awaits them; held so they are not collected mid-way.
_BACKGROUND: set[asyncio.Task[None]] = set()


def _in_background(coro: Any) -> None:
    task = asyncio.get_running_loop().create_task(coro)
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)


# -- the frames --------------------------------------------------------------------------------


class _Frames:
    """PCM bytes in, frames of at most 100 ms out (cut at each chunk's end), the last one held
    back until it is known to be the final."""

    def __init__(self, sample_rate: int, request_id: str, segment_id: str) -> None:
        self._bytes = AudioByteStream(
            sample_rate, 1, max(1, round(sample_rate * DEFAULT_TTS_FRAME_DURATION))
        )
        self._rate = sample_rate
        self._request_id = request_id
        self._segment_id = segment_id
        self._held: AudioFrame | None = None
        self._received = 0

    def push(self, pcm: bytes) -> list[SynthesizedAudio]:
        out: list[SynthesizedAudio] = []
        frames = self._bytes.push(pcm)
        self._received += len(pcm)
        if self._received % 2 == 0:
            frames += self._bytes.flush()  # upstream flushes its emitter after a PCM chunk
        for frame in frames:
            if self._held is not None:
                out.append(self._emit(self._held, is_final=False))
            self._held = frame
        return out

    def finish(self) -> list[SynthesizedAudio]:
        try:
            rest = self._bytes.flush()
        except ValueError as exc:
            raise RemoteProtocolError("IW-WS-5", f"the audio ends inside a sample: {exc}") from None
        frames = [*([self._held] if self._held is not None else []), *rest]
        if not frames:
            frames = [AudioFrame(b"", sample_rate=self._rate)]
        self._held = None
        last = len(frames) - 1
        return [self._emit(f, is_final=i == last) for i, f in enumerate(frames)]

    def _emit(self, frame: AudioFrame, *, is_final: bool) -> SynthesizedAudio:
        return SynthesizedAudio(
            frame=frame,
            request_id=self._request_id,
            segment_id=self._segment_id,
            is_final=is_final,
        )


# -- the stream --------------------------------------------------------------------------------

_FLUSH = object()  # a flush_context in a SENTENCE_BOUNDARY stream's input


class InworldSynthesizeStream(EventStream[SynthesizedAudio]):
    """One streaming synthesis on one context (SPEC §5.2): push text in, iterate
    :class:`~voicewire.reference.tts.wire.SynthesizedAudio` frames out.

    ``pool`` is the TTS object's :class:`InworldStreamPool`; ``config`` the context's
    ``create`` (its ``autoModeStrategy`` says who cuts sentences); ``sample_rate`` the audio's
    rate; ``emit_error(error, recoverable)`` reports each failed attempt (the TTS's ``error``
    event); ``time_scale`` multiplies the waits between attempts.
    """

    splitter_class: type[RetainedSentenceSplitter] = RetainedSentenceSplitter
    """The sentence splitter of a client-segmented stream (a variant may swap it)."""

    def __init__(
        self,
        pool: InworldStreamPool,
        config: CreateContextConfig,
        *,
        conn_options: APIConnectOptions,
        sample_rate: int,
        emit_error: Callable[[Exception, bool], None] | None = None,
        time_scale: float = 1.0,
    ) -> None:
        self._pool = pool
        self._config = config
        self._conn_options = conn_options
        self._sample_rate = sample_rate
        self._emit_error = emit_error
        self._time_scale = time_scale
        self._splitter = self.splitter_class()
        self._inputs: list[Any] = []  # texts, and _FLUSH in a SENTENCE_BOUNDARY stream
        self._input_ended = False
        self._closed = False
        self._wake = asyncio.Event()
        self._attempts = 0
        self._audio_emitted = False
        self._request_id = ""
        self._context_id = ""
        self.context_ids: list[str] = []
        """The ``contextId`` of every attempt, in order."""
        self.timed_transcripts: list[TimedString] = []
        """The timed words (or characters) of the synthesis, on its timeline (IW-WS-5)."""
        self._start()

    @property
    def context_id(self) -> str:
        """The ``contextId`` of the current (or last) attempt: the segment id of its frames."""
        return self._context_id

    @property
    def attempts(self) -> int:
        """How many attempts (contexts) the stream has made."""
        return self._attempts

    @property
    def sentence_boundary(self) -> bool:
        """Whether the server cuts the sentences (``SENTENCE_BOUNDARY``, inworld-tts-2)."""
        return self._config.sentence_boundary

    @property
    def texts(self) -> tuple[str, ...]:
        """The ``send_text`` texts the input made so far (before the 1000-character cut)."""
        return tuple(i for i in self._inputs if isinstance(i, str))

    # -- input ---------------------------------------------------------------------------------

    def push_text(self, text: str) -> None:
        """Push text: sentences (or, for inworld-tts-2, the text as pushed) go out as they
        are known. Raises ``RuntimeError`` after :meth:`end_input` or :meth:`aclose`."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        self._check_input_open()
        if self.sentence_boundary:
            self._add([text] if text else [])
        else:
            self._add(self._splitter.push(text))

    def flush(self) -> None:
        """Client-segmented: send the pending sentence now. inworld-tts-2: a
        ``flush_context`` (the server generates what it holds)."""
        self._check_input_open()
        self._add([_FLUSH] if self.sentence_boundary else self._splitter.flush())

    def end_input(self) -> None:
        """No more text: the pending text goes out, then ``flush_context`` and
        ``close_context`` (as upstream's, a flush then the end). A second call does nothing."""
        if self._closed:
            raise RuntimeError("the stream is closed")
        if self._input_ended:
            return
        # Upstream's end_input is a flush, then the end: for inworld-tts-2 one more
        # flush_context before close_context.
        self._add([_FLUSH] if self.sentence_boundary else self._splitter.flush())
        self._input_ended = True
        self._wake.set()

    async def aclose(self) -> None:
        """Stop the synthesis (an open context is cancelled); iteration then ends. Safe to
        call more than once."""
        self._closed = True
        await super().aclose()

    def _check_input_open(self) -> None:
        if self._closed:
            raise RuntimeError("the stream is closed")
        if self._input_ended:
            raise RuntimeError("the input has ended: end_input() was called")

    def _add(self, inputs: list[Any]) -> None:
        if inputs:
            self._inputs.extend(inputs)
            self._wake.set()

    # -- the retry loop ------------------------------------------------------------------------

    async def _produce(self) -> None:
        options = self._conn_options
        for attempt in range(options.max_attempts):
            try:
                await self._run_attempt()
                return
            except APIError as error:
                retryable = error.retryable and not self._audio_emitted
                retry = retryable and attempt < options.max_retry
                self._report(error, recoverable=retry)
                if retry:
                    await asyncio.sleep(
                        options.interval_for_retry(attempt, time_scale=self._time_scale)
                    )
                    continue
                if options.max_retry > 0 and retryable:
                    raise APIConnectionError(
                        f"failed to synthesize speech after {attempt + 1} attempts",
                        retryable=False,
                    ) from error
                raise
            except Exception as error:
                self._report(error, recoverable=False)
                raise

    def _report(self, error: Exception, *, recoverable: bool) -> None:
        if self._emit_error is not None:
            self._emit_error(error, recoverable)

    # -- one attempt ---------------------------------------------------------------------------

    async def _run_attempt(self) -> None:
        """One context: returns after ``contextClosed`` (its frames pushed), raises the
        attempt's ``APIError`` otherwise; the context is cancelled unless it completed."""
        self._attempts += 1
        self._request_id = new_context_id()
        self._context_id = context_id = new_context_id()
        self.context_ids.append(context_id)
        timeout = self._conn_options.timeout
        sock, queue = await self._pool.attach(context_id, self._config, timeout)
        loop = asyncio.get_running_loop()
        sender = loop.create_task(self._send_loop(sock, queue))
        try:
            await self._receive_loop(sock, queue, sender)
        finally:
            sender.cancel()
            with contextlib.suppress(BaseException):
                await sender
            self._pool.detach(sock, context_id)

    async def _send_loop(self, sock: _Socket, queue: asyncio.Queue[Any]) -> None:
        """The input so far (replayed from its start on a retry), then the rest as it comes,
        then the end of the context."""
        mux, cid, timeout = sock.mux, self._context_id, self._conn_options.timeout
        sent = 0
        try:
            while True:
                while sent < len(self._inputs):
                    item = self._inputs[sent]
                    if item is _FLUSH:
                        await self._send(sock, mux.flush(cid), timeout, queue)
                    else:
                        for frame in mux.send_text(cid, item):
                            await self._pool.send(sock, frame, timeout)
                    sent += 1
                if self._input_ended:
                    if not self.sentence_boundary:
                        await self._send(sock, mux.flush(cid), timeout, queue)
                    await self._send(sock, mux.close(cid), timeout, queue)
                    return
                self._wake.clear()
                await self._wake.wait()
        except LocalProtocolError:
            return  # the context already ended (failed): the receiver reports how
        except APIError as error:
            queue.put_nowait(ContextFailed(cid, ContextFailureKind.CONNECTION, error.message))

    async def _send(
        self, sock: _Socket, frame: str, timeout: float, queue: asyncio.Queue[Any]
    ) -> None:
        await self._pool.send(sock, frame, timeout)
        queue.put_nowait(_OWED)  # the receiver's deadline starts now

    async def _receive_loop(
        self, sock: _Socket, queue: asyncio.Queue[Any], sender: asyncio.Task[None]
    ) -> None:
        cid, timeout = self._context_id, self._conn_options.timeout
        frames = _Frames(self._sample_rate, self._request_id, cid)
        while True:
            deadline = sock.mux.reply_deadline(cid, timeout)
            try:
                if deadline is None:
                    event = await queue.get()
                else:
                    async with asyncio.timeout(max(0.0, deadline - self._pool.now())):
                        event = await queue.get()
            except TimeoutError:
                error = self._timed_out(sock, timeout)
                await self._pool.cancel(sock, cid, timeout)
                raise error from None
            if event is _OWED:
                continue
            if isinstance(event, ContextAudio):
                self.timed_transcripts.extend(event.timed)
                self._push_all(frames.push(event.pcm))
            elif isinstance(event, ContextFailed):
                raise event.to_exception()
            elif isinstance(event, ContextDone):
                try:
                    self._push_all(frames.finish())
                except RemoteProtocolError as exc:
                    raise APIConnectionError(f"{_SERVICE} sent {exc}") from exc
                return

    def _timed_out(self, sock: _Socket, timeout: float) -> APITimeoutError:
        errors = sock.mux.socket_errors
        told = (
            f"; the socket's last error: {errors[-1].code} {errors[-1].message}" if errors else ""
        )
        return APITimeoutError(
            f"{_SERVICE} context {self._context_id} had no reply for {timeout} s{told}"
        )

    def _push_all(self, audio: list[SynthesizedAudio]) -> None:
        for item in audio:
            if item.frame.samples_per_channel:
                self._audio_emitted = True
            self._push(item)
