"""The reference TTS client (websockets) against a scripted fake provider (aiohttp) on real
loopback sockets.

The fake provider is written here, on the wire module's :class:`TTSServerConnection`: every
client frame it receives goes through the server's state machine (so a second
``session.create``, input after the flush or a second flush fails the test), its JWT is
verified at the upgrade (AUTH-4), and each connection runs a script of the test's choosing.
What the client sent is compared with what upstream sent (wire-capture §4); what it emitted
with TTS-OUT-1/2.

The waits between attempts run on the client's ``time_scale`` and the pool's idle limit on an
injected clock, so nothing here sleeps to wait for the client: tests await what the provider
or the client reports.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web
from voicewire.reference.auth import (
    InferenceClaims,
    TokenRejected,
    authentication_error_body,
    parse_bearer,
    verify_access_token,
)
from voicewire.reference.errors import (
    APIConnectionError,
    APIConnectOptions,
    APIError,
    APIStatusError,
    APITimeoutError,
)
from voicewire.reference.tts import TTS, SynthesizedAudio, TTSErrorEvent, tts_url
from voicewire.reference.tts.inference import MAX_MESSAGE_SIZE
from voicewire.reference.tts.wire import (
    InputTranscript,
    TTSClientMessage,
    TTSServerConnection,
)

KEY = "tts_client_test_key"
SECRET = "tts_client_test_secret_0123456789abcdef"  # >= 32 bytes: no pyjwt key-length warning
MODEL = "cartesia/sonic-3"
VOICE = "a167e0f3-df7e-4d52-a9c3-f949145efdab"
SCALE = 0.01  # the client's time_scale: the 0.1 s and 2 s waits take 1 and 20 ms

# What upstream livekit-agents 1.8.9 sent for TTS("cartesia/sonic-3", voice=VOICE) with its
# default connection options, and for "Hello there! This is a streaming speech test."
# (research/wire-capture.md §4).
CAPTURED_CREATE = (
    '{"type": "session.create", "sample_rate": "24000", "encoding": "pcm_s16le", "extra": {}, '
    f'"voice": "{VOICE}", "model": "cartesia/sonic-3", '
    '"connection": {"timeout": 10.0, "retries": 3}}'
)
CAPTURED_TEXT = "Hello there! This is a streaming speech test."
CAPTURED_TRANSCRIPT = (
    '{"type": "input_transcript", "transcript": "Hello there! This is a streaming speech test. ", '
    f'"generation_config": {{"voice": "{VOICE}", "model": "cartesia/sonic-3"}}, "extra": {{}}}}'
)
CAPTURED_FLUSH = '{"type": "session.flush"}'


def pcm(seconds: float, rate: int = 24000, seed: int = 1) -> bytes:
    """``seconds`` of distinct 16-bit samples (every byte pattern differs, so a lost or
    duplicated chunk shows)."""
    n = round(seconds * rate)
    return b"".join(((seed * 7919 + i * 31) % 65536).to_bytes(2, "little") for i in range(n))


# -- the fake provider -------------------------------------------------------------------------


@dataclass
class Connection:
    """One WebSocket connection as the provider sees it; the script drives it."""

    request: web.Request
    ws: web.WebSocketResponse
    claims: InferenceClaims
    server: TTSServerConnection
    frames: list[str | bytes] = field(default_factory=list)
    """Every client frame, raw, in order."""
    messages: list[TTSClientMessage] = field(default_factory=list)
    client_close_code: int | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def types(self) -> list[str]:
        return [m.type for m in self.messages]

    def transcripts(self) -> list[str]:
        return [m.transcript for m in self.messages if isinstance(m, InputTranscript)]

    async def receive(self) -> TTSClientMessage | None:
        """The next client message (checked by the TTSServerConnection), or None once the
        client closed."""
        msg = await self.ws.receive()
        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING):
            self.client_close_code = self.ws.close_code
            return None
        if msg.type is aiohttp.WSMsgType.CLOSED:
            return None
        assert msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY), msg
        self.frames.append(msg.data)
        message = self.server.receive_frame(msg.data)
        self.messages.append(message)
        return message

    async def receive_until(self, message_type: str) -> TTSClientMessage | None:
        """Read until a ``message_type`` message; None if the client closed first."""
        while True:
            message = await self.receive()
            if message is None or message.type == message_type:
                return message

    async def wait_closed(self) -> int | None:
        """Read until the client closes; its close code."""
        while await self.receive() is not None:
            pass
        return self.client_close_code

    async def send_audio(self, audio: bytes, chunk: int = 4800) -> None:
        for start in range(0, len(audio), chunk):
            await self.ws.send_str(self.server.output_audio(audio[start : start + chunk]))

    async def send_raw(self, data: str | bytes) -> None:
        if isinstance(data, bytes):
            await self.ws.send_bytes(data)
        else:
            await self.ws.send_str(data)


Script = Callable[[Connection], Awaitable[None]]


class FakeProvider:
    """A LiveKit inference TTS server on 127.0.0.1: ``/tts``, JWT checked at the upgrade,
    connection ``i`` runs ``scripts[i]`` (the last one repeats) with session id ``sess_<i>``."""

    def __init__(self, *scripts: Script) -> None:
        self.scripts = list(scripts) or [serve()]
        self.connections: list[Connection] = []
        self.errors: list[BaseException] = []
        self.rejected: list[str] = []
        self._handlers: set[asyncio.Task[object]] = set()
        self._clients: list[TTS] = []
        self._new_connection = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tts(self, **kwargs: object) -> TTS:
        options: dict[str, object] = {
            "base_url": self.base_url,
            "api_key": KEY,
            "api_secret": SECRET,
            "time_scale": SCALE,
        }
        options.update(kwargs)
        tts = TTS(str(options.pop("model", MODEL)), **options)  # type: ignore[arg-type]
        self._clients.append(tts)
        return tts

    async def __aenter__(self) -> FakeProvider:
        app = web.Application()
        app.router.add_get("/tts", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._runner is not None
        # A test that failed may leave its client open and a script waiting for it: close
        # both, or the server's shutdown would wait for them.
        for tts in self._clients:
            await tts.aclose()
        for task in self._handlers:
            task.cancel()
        await self._runner.cleanup()
        # A script that failed is a failed test, whatever the client saw.
        if self.errors and exc_info[0] is None:
            raise self.errors[0]

    async def connection(self, index: int) -> Connection:
        """Connection ``index``, once it is upgraded."""
        async with self._new_connection:
            await self._new_connection.wait_for(lambda: len(self.connections) > index)
        return self.connections[index]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        try:
            claims = verify_access_token(
                parse_bearer(request.headers.get("Authorization")), {KEY: SECRET}
            )
        except TokenRejected as exc:
            self.rejected.append(exc.reason)
            return web.json_response(authentication_error_body(str(exc)), status=401)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        index = len(self.connections)
        conn = Connection(
            request=request,
            ws=ws,
            claims=claims,
            server=TTSServerConnection(session_id=f"sess_{index}"),
        )
        async with self._new_connection:
            self.connections.append(conn)
            self._new_connection.notify_all()
        script = self.scripts[min(index, len(self.scripts) - 1)]
        try:
            await script(conn)
        except Exception as exc:
            self.errors.append(exc)
        finally:
            if not ws.closed:
                await ws.close()
            conn.done.set()
        return ws


# -- scripts -----------------------------------------------------------------------------------


def serve(audio: bytes | None = None) -> Script:
    """A well-behaved server: every synthesis (up to its flush) answered with ``audio`` in
    100 ms chunks and ``done``; the socket stays open until the client closes it."""
    audio = pcm(0.92) if audio is None else audio

    async def script(conn: Connection) -> None:
        while await conn.receive_until("session.flush") is not None:
            await conn.send_audio(audio)
            await conn.ws.send_str(conn.server.done())

    return script


def then_close(code: int = 1000) -> Script:
    """One synthesis served, then the socket closed by the server (a pooled socket dies)."""

    async def script(conn: Connection) -> None:
        await conn.receive_until("session.flush")
        await conn.send_audio(pcm(0.2))
        await conn.ws.send_str(conn.server.done())
        await conn.ws.close(code=code)

    return script


def fail_after_flush(*frames: str | bytes, audio: bytes = b"", close: int | None = None) -> Script:
    """After the flush: ``audio``, the raw ``frames``, then a close with ``close`` (or wait
    for the client to close)."""

    async def script(conn: Connection) -> None:
        await conn.receive_until("session.flush")
        await conn.send_audio(audio)
        for frame in frames:
            await conn.send_raw(frame)
        if close is not None:
            await conn.ws.close(code=close)
        else:
            await conn.wait_closed()

    return script


async def collect(stream: object) -> list[SynthesizedAudio]:
    return [audio async for audio in stream]  # type: ignore[attr-defined]


def errors_of(tts: TTS) -> list[TTSErrorEvent]:
    events: list[TTSErrorEvent] = []
    tts.on("error", events.append)
    return events


def audio_of(frames: list[SynthesizedAudio]) -> bytes:
    return b"".join(f.frame.to_bytes() for f in frames)


def check_synthesis(frames: list[SynthesizedAudio], audio: bytes, session_id: str) -> None:
    """TTS-OUT-1: the server's bytes exactly, mono 24 kHz, one final, last, segment id."""
    assert audio_of(frames) == audio
    assert all(f.frame.sample_rate == 24000 and f.frame.num_channels == 1 for f in frames)
    assert [f.is_final for f in frames] == [False] * (len(frames) - 1) + [True]
    assert {f.segment_id for f in frames} == {session_id}


# -- the captured exchange and the pool --------------------------------------------------------


@pytest.mark.spec("TTS-C-1", "TTS-C-2", "TTS-C-3", "TTS-OUT-1", "AUTH-1", "AUTH-2")
async def test_the_exchange_is_upstreams_and_the_audio_the_servers():
    async with FakeProvider(serve()) as provider:
        tts = provider.tts(voice=VOICE)
        stream = tts.stream()
        stream.push_text(CAPTURED_TEXT)
        stream.flush()
        stream.end_input()
        frames = await collect(stream)
        conn = await provider.connection(0)
        assert conn.request.raw_path == "/tts?model=cartesia/sonic-3"
        assert conn.claims.api_key == KEY
        assert conn.frames == [CAPTURED_CREATE, CAPTURED_TRANSCRIPT, CAPTURED_FLUSH]
        check_synthesis(frames, pcm(0.92), "sess_0")
        assert len({f.request_id for f in frames}) == 1
        assert tts.pool_size == 1
        await tts.aclose()
        assert await conn.wait_closed() == 1000
        assert tts.pool_size == 0


async def test_the_url_and_the_voice_in_the_model_name():
    assert tts_url("https://gw.example/v1/", "inworld/tts-1") == (
        "wss://gw.example/v1/tts?model=inworld/tts-1"
    )
    tts = TTS("cartesia/sonic-3:my-voice", api_key=KEY, api_secret=SECRET, base_url="http://x")
    assert (tts.model, tts.voice) == ("cartesia/sonic-3", "my-voice")
    with pytest.raises(ValueError, match="encoding"):
        TTS(MODEL, api_key=KEY, api_secret=SECRET, base_url="http://x", encoding="mp3")


@pytest.mark.spec("TTS-C-1", "TTS-C-3")
async def test_sequential_syntheses_share_one_socket_and_one_session_create():
    async with FakeProvider(serve()) as provider:
        tts = provider.tts()
        first = tts.stream()
        first.push_text("The first synthesis of the two. ")
        first.end_input()
        check_synthesis(await collect(first), pcm(0.92), "sess_0")
        frames = await collect(tts.synthesize("And then the second one, at once."))
        check_synthesis(frames, pcm(0.92), "sess_0")
        assert len(provider.connections) == 1
        conn = provider.connections[0]
        assert conn.types().count("session.create") == 1
        assert conn.types().count("session.flush") == 2
        assert conn.server.syntheses == 2
        await tts.aclose()


@pytest.mark.spec("TTS-C-1", "TTS-C-3")
async def test_concurrent_syntheses_take_one_socket_each_and_prewarm_opens_the_first():
    async with FakeProvider(serve(pcm(0.3))) as provider:
        tts = provider.tts()
        tts.prewarm()
        warm = await provider.connection(0)
        streams = [tts.stream(), tts.stream()]
        for i, stream in enumerate(streams):
            stream.push_text(f"Synthesis number {i} runs alongside the other. ")
            stream.end_input()
        results = await asyncio.gather(*(collect(s) for s in streams))
        for frames in results:
            assert audio_of(frames) == pcm(0.3)
        # The prewarmed socket served one, a second socket the other; each one create.
        assert len(provider.connections) == 2 and warm is provider.connections[0]
        assert [c.server.syntheses for c in provider.connections] == [1, 1]
        assert all(c.types().count("session.create") == 1 for c in provider.connections)
        assert tts.pool_size == 2
        await tts.aclose()


@pytest.mark.spec("TTS-C-3")
async def test_a_socket_idle_longer_than_300_s_since_its_last_use_is_replaced():
    now = [0.0]
    async with FakeProvider(serve(pcm(0.1))) as provider:
        tts = provider.tts(clock=lambda: now[0])
        for advance in (0.0, 300.0, 300.001):
            now[0] += advance
            await collect(tts.synthesize("One more sentence to say here."))
        # Reused at 300 s after the connect (the limit is inclusive); 300.001 s after that
        # reuse (the idle time counts from the last hand-out) it is closed and replaced.
        assert len(provider.connections) == 2
        assert provider.connections[0].server.syntheses == 2
        assert await provider.connections[0].wait_closed() == 1000
        await tts.aclose()


@pytest.mark.spec("TTS-C-3", "TTS-RETRY-1", "TTS-OUT-2")
async def test_a_dead_pooled_socket_fails_the_attempt_and_the_retry_recovers():
    async with FakeProvider(then_close(), serve()) as provider:
        tts = provider.tts()
        events = errors_of(tts)
        await collect(tts.synthesize("The first synthesis of the two."))
        first = await provider.connection(0)
        await first.done.wait()  # the server closed the pooled socket
        stream = tts.stream()
        stream.push_text("The second synthesis finds the socket dead.")
        stream.end_input()
        check_synthesis(await collect(stream), pcm(0.92), "sess_1")
        assert stream.attempts == 2
        assert len(events) == 1 and events[0].recoverable
        assert isinstance(events[0].error, APIError) and events[0].error.retryable
        second = provider.connections[1]
        assert second.transcripts() == ["The second synthesis finds the socket dead. "]
        await tts.aclose()


# -- errors (TTS-OUT-2) and retries (TTS-RETRY-1) ----------------------------------------------


ERROR_FRAME = '{"type": "error", "message": "provider overloaded", "code": 503}'


@pytest.mark.spec("TTS-OUT-2")
@pytest.mark.parametrize(
    ("script", "timeout", "error_type", "status"),
    [
        (fail_after_flush(ERROR_FRAME), 5.0, APIError, None),
        (fail_after_flush(close=1011), 5.0, APIStatusError, 1011),
        (fail_after_flush('{"type": "session.closed"}'), 5.0, APIStatusError, -1),
        (fail_after_flush(), 0.2, APITimeoutError, None),
    ],
    ids=["error", "close", "session-closed", "timeout"],
)
async def test_every_failure_before_audio_is_its_retryable_error(
    script, timeout, error_type, status
):
    async with FakeProvider(script) as provider:
        tts = provider.tts()
        events = errors_of(tts)
        stream = tts.stream(conn_options=APIConnectOptions(max_retry=0, timeout=timeout))
        stream.push_text("A sentence that will not be spoken.")
        stream.end_input()
        with pytest.raises(APIError) as raised:
            await collect(stream)
        error = raised.value
        assert type(error) is error_type
        assert error.retryable
        if status is not None:
            assert isinstance(error, APIStatusError) and error.status_code == status
        if error_type is APIError:
            assert "provider overloaded" in str(error)
        assert [(e.error, e.recoverable) for e in events] == [(error, False)]
        await tts.aclose()


@pytest.mark.spec("TTS-RETRY-1", "RETRY-4", "RETRY-5")
async def test_a_failure_before_audio_is_retried_replaying_all_input():
    async def first(conn: Connection) -> None:
        # Fails after the first sentence, before the input ended.
        await conn.receive_until("input_transcript")
        await conn.ws.close(code=1011)

    async with FakeProvider(first, fail_after_flush(ERROR_FRAME), serve()) as provider:
        tts = provider.tts()
        events = errors_of(tts)
        stream = tts.stream()
        stream.push_text("The first sentence is complete. And the second")
        await (await provider.connection(0)).done.wait()
        stream.push_text(" one comes after the failure.")
        stream.end_input()
        check_synthesis(await collect(stream), pcm(0.92), "sess_2")
        assert stream.attempts == 3
        expected = [
            "The first sentence is complete. ",
            "And the second one comes after the failure. ",
        ]
        assert provider.connections[1].transcripts() == expected
        assert provider.connections[2].transcripts() == expected
        assert [type(e.error) for e in events] == [APIStatusError, APIError]
        assert all(e.recoverable for e in events)
        await tts.aclose()


@pytest.mark.spec("TTS-RETRY-1", "RETRY-5")
async def test_attempts_exhausted_raise_a_connection_error_chained_to_the_last():
    async with FakeProvider(fail_after_flush(ERROR_FRAME)) as provider:
        tts = provider.tts()
        events = errors_of(tts)
        stream = tts.stream(conn_options=APIConnectOptions(max_retry=2, retry_interval=1.0))
        stream.push_text("Never spoken, three times over.")
        stream.end_input()
        with pytest.raises(APIConnectionError, match="after 3 attempts") as raised:
            await collect(stream)
        assert not raised.value.retryable
        assert isinstance(raised.value.__cause__, APIError)
        assert [e.recoverable for e in events] == [True, True, False]
        assert len(provider.connections) == 3
        await tts.aclose()


@pytest.mark.spec("TTS-RETRY-1")
@pytest.mark.parametrize(
    "failure",
    [ERROR_FRAME, "not json", "x" * (MAX_MESSAGE_SIZE + 1)],
    ids=["error", "hostile", "too-large"],
)
async def test_after_audio_the_error_is_raised_and_nothing_is_retried(failure):
    async with FakeProvider(fail_after_flush(failure, audio=pcm(0.3))) as provider:
        tts = provider.tts()
        events = errors_of(tts)
        stream = tts.stream()
        stream.push_text("This one fails half way through.")
        stream.end_input()
        frames: list[SynthesizedAudio] = []
        with pytest.raises(APIError) as raised:
            async for audio in stream:
                frames.append(audio)
        assert frames and not any(f.is_final for f in frames)
        assert pcm(0.3).startswith(audio_of(frames))
        assert not raised.value.retryable
        assert len(provider.connections) == 1
        assert [e.recoverable for e in events] == [False]
        await tts.aclose()


@pytest.mark.spec("TTS-OUT-2")
async def test_a_failed_synthesis_reads_through_what_the_server_still_sends_to_close():
    """The server goes on sending after its error (the rest of the audio, ``done``): the
    client reads and drops it while it closes, or websockets, with 16 frames unread, would
    stop reading, never see the server's close frame and hold the error for close_timeout.
    (The guard is a third of that timeout: the fixed client takes milliseconds.)"""
    async with FakeProvider(fail_after_flush(ERROR_FRAME, *[ERROR_FRAME] * 40)) as provider:
        tts = provider.tts()
        stream = tts.stream(conn_options=APIConnectOptions(max_retry=0, timeout=30.0))
        stream.push_text("An error, and then forty more frames nobody wants.")
        stream.end_input()
        async with asyncio.timeout(10):
            with pytest.raises(APIError, match="provider overloaded"):
                await collect(stream)
        await provider.connections[0].done.wait()
        assert provider.connections[0].client_close_code == 1000
        assert tts.pool_size == 0
        await tts.aclose()


@pytest.mark.spec("AUTH-4", "RETRY-3")
async def test_a_refused_upgrade_is_a_status_error_not_retried():
    async with FakeProvider() as provider:
        tts = provider.tts(api_secret="not_the_secret_0123456789abcdefghijkl")
        stream = tts.stream()
        stream.end_input()
        with pytest.raises(APIStatusError) as raised:
            await collect(stream)
        assert raised.value.status_code == 401 and not raised.value.retryable
        assert provider.rejected and not provider.connections
        await tts.aclose()


# -- hostile servers (CLI-ROB-1) ---------------------------------------------------------------


@pytest.mark.spec("CLI-ROB-1")
@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        b"\x00\x01binary",
        "[1, 2]",
        '{"type": 7}',
        '{"type": "output_audio", "audio": 5, "session_id": "s"}',
        '{"type": "output_audio", "audio": "!!!not base64", "session_id": "s"}',
        '{"type": "output_alignment", "words": [{"word": "a", "start": "x", "end": 1}]}',
        '{"type": "done"}',
        '{"type": "output_audio", "audio": "AA==", "session_id": "s"}',
        "x" * (MAX_MESSAGE_SIZE + 1),
    ],
    ids=[
        "not-json",
        "binary",
        "array",
        "type-int",
        "audio-int",
        "audio-b64",
        "alignment-types",
        "done-no-session",
        "odd-bytes-then-done",
        "too-large",
    ],
)
async def test_a_hostile_message_ends_the_stream_with_an_api_error(frame):
    done = '{"type": "done", "session_id": "s"}'
    async with FakeProvider(fail_after_flush(frame, done)) as provider:
        tts = provider.tts()
        stream = tts.stream(conn_options=APIConnectOptions(max_retry=0, timeout=5.0))
        stream.push_text("Whatever the server says back.")
        stream.end_input()
        with pytest.raises(APIError) as raised:
            await collect(stream)
        assert isinstance(raised.value, APIConnectionError)
        assert tts.pool_size == 0  # the failed synthesis's socket is never put back
        await tts.aclose()


@pytest.mark.spec("CLI-ROB-1", "TTS-S-2")
async def test_unknown_messages_are_ignored_and_alignments_kept():
    async def script(conn: Connection) -> None:
        await conn.receive_until("session.flush")
        await conn.send_raw('{"type": "surprise", "x": 1}')
        await conn.send_raw(
            '{"type": "output_alignment", "session_id": "sess_0", "unknown": true, '
            '"words": [{"word": "Hi", "start": 0.0, "end": 0.2}]}'
        )
        await conn.send_audio(pcm(0.2))
        await conn.ws.send_str(conn.server.done())
        await conn.wait_closed()

    async with FakeProvider(script) as provider:
        tts = provider.tts()
        stream = tts.stream()
        stream.push_text("Hi there, how are you today?")
        stream.end_input()
        check_synthesis(await collect(stream), pcm(0.2), "sess_0")
        assert [a.text for a in stream.aligned_transcripts] == ["Hi"]
        await tts.aclose()


async def test_aclose_mid_synthesis_closes_its_socket_rather_than_pooling_it():
    audio_sent = asyncio.Event()
    closed_with: list[int | None] = []

    async def script(conn: Connection) -> None:
        await conn.receive_until("session.flush")
        await conn.send_audio(pcm(0.3))
        audio_sent.set()
        closed_with.append(await conn.wait_closed())

    async with FakeProvider(script) as provider:
        tts = provider.tts()
        stream = tts.stream()
        stream.push_text("A synthesis that is cut short by its consumer.")
        stream.end_input()
        first = await stream.__anext__()
        assert not first.is_final
        await audio_sent.wait()
        await stream.aclose()
        assert await collect(stream) == []
        await provider.connections[0].done.wait()
        assert closed_with == [1000]
        assert tts.pool_size == 0
        await tts.aclose()


async def test_input_after_end_and_after_close_is_refused():
    async with FakeProvider(serve()) as provider:
        tts = provider.tts()
        stream = tts.stream()
        stream.end_input()
        stream.end_input()  # a second end does nothing
        with pytest.raises(RuntimeError, match="end_input"):
            stream.push_text("late")
        # No input: the one flush all the same (TTS-C-3), and the server's answer.
        check_synthesis(await collect(stream), pcm(0.92), "sess_0")
        assert provider.connections[0].types() == ["session.create", "session.flush"]
        await stream.aclose()
        with pytest.raises(RuntimeError, match="closed"):
            stream.push_text("closed")
        with pytest.raises(TypeError, match="text must be a str"):
            tts.synthesize(5)  # type: ignore[arg-type]
        await tts.aclose()
