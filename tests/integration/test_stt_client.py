"""The reference STT client (websockets) against a scripted fake provider (aiohttp) on real
loopback sockets.

The fake provider is written here, on the wire module's :class:`ServerSession`: every client
frame it receives goes through the server's state machine (so a frame longer than 50 ms, audio
after the finalize or a second finalize fails the test), its JWT is verified at the upgrade
(401 before upgrading, AUTH-4), and each connection runs a script of the test's choosing.
What the client sent is compared byte for byte with what upstream sends (the capture) and
with the audio pushed; what it emitted with the SpeechEvents SPEC §3.3 asks for.

The STT-C-4 timers and the waits between attempts run on the client's ``time_scale`` (0.01:
3 s is 30 ms), so nothing here sleeps to wait for the client: tests await what the provider
or the client reports.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import numpy as np
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from voicewire.reference.audio import AudioFrame, noise, resample, sine
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
    APIStatusError,
    APITimeoutError,
)
from voicewire.reference.stt import (
    STT,
    SpeechEvent,
    SpeechEventType,
    SpeechStream,
    STTErrorEvent,
    stt_url,
)
from voicewire.reference.stt.wire import (
    ClientMessage,
    ErrorMessage,
    FinalTranscript,
    InputAudio,
    InterimTranscript,
    ServerMessage,
    ServerSession,
    SessionClosed,
    SessionCreate,
    SessionFinalized,
    SessionUpdate,
    TranscriptWord,
)

KEY = "stt_client_test_key"
SECRET = "stt_client_test_secret_0123456789abcdef"  # >= 32 bytes: no pyjwt key-length warning
MODEL = "deepgram/nova-3"

# The session.create upstream livekit-agents 1.8.9 sent (research/wire-capture.md §3), for
# STT("deepgram/nova-3", language="en") with its default connection options.
CAPTURED_CREATE = (
    '{"settings": {"sample_rate": "16000", "encoding": "pcm_s16le", "extra": {"keyterm": []}, '
    '"language": "en"}, "model": "deepgram/nova-3", "connection": {"timeout": 10.0, '
    '"retries": 3}, "type": "session.create"}'
)

START = SpeechEventType.START_OF_SPEECH
INTERIM = SpeechEventType.INTERIM_TRANSCRIPT
USAGE = SpeechEventType.RECOGNITION_USAGE
FINAL = SpeechEventType.FINAL_TRANSCRIPT
END = SpeechEventType.END_OF_SPEECH

SCALE = 0.01  # the client's time_scale: 3 s -> 30 ms, 30 s -> 300 ms, 0.1 s -> 1 ms


# -- the fake provider -------------------------------------------------------------------------


@dataclass
class Connection:
    """One WebSocket connection as the provider sees it; the script drives it."""

    request: web.Request
    ws: web.WebSocketResponse
    claims: InferenceClaims
    session: ServerSession = field(default_factory=ServerSession)
    frames: list[str | bytes] = field(default_factory=list)
    """Every client frame, raw, in order."""
    messages: list[ClientMessage] = field(default_factory=list)
    received_at: list[float] = field(default_factory=list)
    client_close_code: int | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def path_qs(self) -> str:
        return self.request.raw_path

    @property
    def audio(self) -> bytes:
        return b"".join(m.pcm for m in self.messages if isinstance(m, InputAudio))

    @property
    def audio_sizes(self) -> list[int]:
        return [len(m.pcm) for m in self.messages if isinstance(m, InputAudio)]

    def types(self) -> list[str]:
        return [m.type for m in self.messages]

    async def receive(self) -> ClientMessage | None:
        """The next client message (checked by the ServerSession), or None once the client
        closed."""
        msg = await self.ws.receive()
        now = asyncio.get_running_loop().time()
        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING):
            self.client_close_code = self.ws.close_code
            return None
        if msg.type is aiohttp.WSMsgType.CLOSED:
            return None
        assert msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY), msg
        self.frames.append(msg.data)
        self.received_at.append(now)
        message = self.session.receive_frame(msg.data)
        self.messages.append(message)
        return message

    async def receive_until(self, message_type: str) -> ClientMessage:
        while True:
            message = await self.receive()
            assert message is not None, f"the client closed before sending {message_type}"
            if message.type == message_type:
                return message

    async def receive_audio(self, seconds: float) -> None:
        """Read until at least ``seconds`` of audio arrived."""
        while self.session.audio_received < seconds - 1e-9:
            message = await self.receive()
            assert message is not None, "the client closed before sending the audio"

    async def wait_closed(self) -> int | None:
        """Read until the client closes; its close code."""
        while await self.receive() is not None:
            pass
        return self.client_close_code

    async def send(self, message: ServerMessage) -> float:
        await self.ws.send_str(self.session.send(message))
        return asyncio.get_running_loop().time()

    async def send_raw(self, data: str | bytes) -> None:
        if isinstance(data, bytes):
            await self.ws.send_bytes(data)
        else:
            await self.ws.send_str(data)

    async def close(self, code: int = 1000) -> None:
        await self.ws.close(code=code)


Script = Callable[[Connection], Awaitable[None]]


class FakeProvider:
    """A LiveKit inference STT server on 127.0.0.1: ``/stt`` and ``/v1/stt``, JWT checked at
    the upgrade, connection ``i`` runs ``scripts[i]`` (the last one repeats)."""

    def __init__(self, *scripts: Script) -> None:
        self.scripts = list(scripts) or [transcribe()]
        self.connections: list[Connection] = []
        self.errors: list[BaseException] = []
        self.rejected: list[str] = []
        self._new_connection = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FakeProvider:
        app = web.Application()
        app.router.add_get("/stt", self._handle)
        app.router.add_get("/v1/stt", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._runner is not None
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
        conn = Connection(request=request, ws=ws, claims=claims)
        async with self._new_connection:
            self.connections.append(conn)
            self._new_connection.notify_all()
        script = self.scripts[min(len(self.connections) - 1, len(self.scripts) - 1)]
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


def final(text: str, start: float = 0.0, duration: float = 0.0, **fields: Any) -> FinalTranscript:
    return FinalTranscript(transcript=text, start=start, duration=duration, **fields)


def interim(
    text: str, start: float = 0.0, duration: float = 0.0, **fields: Any
) -> InterimTranscript:
    return InterimTranscript(transcript=text, start=start, duration=duration, **fields)


def transcribe(text: str = "hello world", **fields: Any) -> Script:
    """A well-behaved server: after the finalize, one final over all the audio, then
    session.finalized and close 1000 (STT-S-2)."""

    async def script(conn: Connection) -> None:
        await conn.receive_until("session.finalize")
        await conn.send(final(text, 0.0, conn.session.audio_received, **fields))
        await conn.send(SessionFinalized())
        await conn.close(1000)

    return script


def close_at_once(code: int = 1000) -> Script:
    async def script(conn: Connection) -> None:
        await conn.receive_until("session.create")
        await conn.close(code)

    return script


# -- client helpers ----------------------------------------------------------------------------


def make_stt(provider: FakeProvider, model: str = MODEL, **kwargs: Any) -> STT:
    kwargs.setdefault("time_scale", SCALE)
    kwargs.setdefault("base_url", provider.base_url)
    return STT(model, api_key=KEY, api_secret=SECRET, **kwargs)


def options(
    max_retry: int = 0, retry_interval: float = 2.0, timeout: float = 5.0
) -> APIConnectOptions:
    return APIConnectOptions(max_retry=max_retry, retry_interval=retry_interval, timeout=timeout)


def errors_of(stt: STT) -> list[STTErrorEvent]:
    events: list[STTErrorEvent] = []
    stt.on("error", events.append)
    return events


async def collect(stream: SpeechStream) -> list[SpeechEvent]:
    async with stream:
        return [event async for event in stream]


async def collect_error(stream: SpeechStream) -> tuple[list[SpeechEvent], BaseException]:
    events: list[SpeechEvent] = []
    async with stream:
        with pytest.raises(BaseException) as info:
            async for event in stream:
                events.append(event)
    return events, info.value


def chunks(frame: AudioFrame, sizes: Sequence[int]) -> list[AudioFrame]:
    """``frame`` cut into pieces of ``sizes`` samples per channel, cycling; the last piece
    holds what is left."""
    pieces = []
    data = frame.data
    ch = frame.num_channels
    start, i = 0, 0
    while start < frame.samples_per_channel:
        end = min(start + sizes[i % len(sizes)], frame.samples_per_channel)
        pieces.append(
            AudioFrame(data[start * ch : end * ch], sample_rate=frame.sample_rate, num_channels=ch)
        )
        start, i = end, i + 1
    return pieces


def push(stream: SpeechStream, frame: AudioFrame, sizes: Sequence[int] = (160,)) -> None:
    for piece in chunks(frame, sizes):
        stream.push_frame(piece)


def speech(seconds: float, rate: int = 16000, channels: int = 1, seed: int = 0) -> AudioFrame:
    """A tone with noise on it, every channel different (so a mixdown is visible)."""
    tone = sine(440, seconds, sample_rate=rate, amplitude=0.3, num_channels=channels)
    hiss = noise(seconds, sample_rate=rate, amplitude=0.1, seed=seed, num_channels=channels)
    mixed = tone.data.astype(np.int32) + hiss.data.astype(np.int32)
    return AudioFrame(mixed.astype(np.int16), sample_rate=rate, num_channels=channels)


def mono(frame: AudioFrame) -> AudioFrame:
    """The expected mixdown: the channels' mean, rounded half to even."""
    mean = frame.data.reshape(-1, frame.num_channels).astype(np.float64).mean(axis=1)
    return AudioFrame(np.rint(mean).astype(np.int16), sample_rate=frame.sample_rate)


def expected_pcm(frame: AudioFrame, rate: int) -> bytes:
    """What the wire must carry for ``frame`` pushed in one go: mono, resampled to ``rate``."""
    return resample(mono(frame), None, rate).to_bytes()


def types(events: Sequence[SpeechEvent]) -> list[SpeechEventType]:
    return [e.type for e in events]


# -- STT-C-1, AUTH-1..3: the upgrade and session.create ----------------------------------------


@pytest.mark.spec("STT-C-1", "STT-C-3", "AUTH-1", "AUTH-2", "AUTH-3")
async def test_upgrade_and_session_create_are_upstreams_byte_for_byte():
    async with FakeProvider(transcribe()) as provider:
        stt = make_stt(provider, language="en", extra_kwargs={"keyterm": []})
        stream = stt.stream()
        stream.end_input()
        events = await collect(stream)
        conn = provider.connections[0]
    assert conn.frames[0] == CAPTURED_CREATE
    assert conn.frames[1:] == ['{"type": "session.finalize"}']
    # The model's "/" is not percent-encoded, as on upstream's wire.
    assert conn.path_qs == "/stt?model=deepgram/nova-3"
    assert conn.claims.api_key == KEY and conn.claims.subject == "agent"
    assert conn.claims.expires_at - conn.claims.not_before == 600
    headers = {k.lower() for k in conn.request.headers}
    # No extension or subprotocol offered, as upstream's aiohttp client.
    assert "sec-websocket-extensions" not in headers
    assert "sec-websocket-protocol" not in headers
    # No audio: no usage, and the final (even over nothing) makes a whole segment.
    assert types(events) == [START, FINAL, END]


@pytest.mark.spec("STT-C-1")
@pytest.mark.parametrize(
    ("suffix", "path"), [("", "/stt"), ("/v1", "/v1/stt"), ("/v1/", "/v1/stt")]
)
async def test_the_url_appends_stt_to_the_base_path(suffix, path):
    async with FakeProvider(transcribe()) as provider:
        stt = make_stt(provider, base_url=provider.base_url + suffix)
        stream = stt.stream()
        stream.end_input()
        await collect(stream)
    assert provider.connections[0].path_qs == f"{path}?model=deepgram/nova-3"


def test_stt_url_turns_the_first_http_into_ws():
    assert stt_url("https://gw.example/v1", "a/b") == "wss://gw.example/v1/stt?model=a/b"
    assert stt_url("http://h:1", "m x&y") == "ws://h:1/stt?model=m%20x%26y"
    assert stt_url("ws://h/httpx", "m") == "ws://h/httpx/stt?model=m"


@pytest.mark.spec("STT-C-1")
async def test_auto_model_and_no_language_are_left_out_of_session_create():
    async with FakeProvider(transcribe()) as provider:
        stt = make_stt(provider, model="auto", conn_options=options(max_retry=1, timeout=4))
        stream = stt.stream(language=None)
        stream.end_input()
        await collect(stream)
        conn = provider.connections[0]
    assert conn.path_qs == "/stt?model=auto"
    assert json.loads(conn.frames[0]) == {
        "settings": {"sample_rate": "16000", "encoding": "pcm_s16le", "extra": {}},
        "connection": {"timeout": 4.0, "retries": 1},
        "type": "session.create",
    }


async def test_stream_language_and_fallback_go_into_session_create():
    async with FakeProvider(transcribe()) as provider:
        stt = make_stt(
            provider,
            language="en",
            fallback=["cartesia/ink-whisper", {"model": "assemblyai", "extra_kwargs": {"x": 1}}],
        )
        stream = stt.stream(language="de")
        stream.end_input()
        await collect(stream)
        create = provider.connections[0].messages[0]
    assert isinstance(create, SessionCreate)
    assert create.settings.language == "de"
    assert json.loads(provider.connections[0].frames[0])["fallback"] == {
        "models": [
            {"model": "cartesia/ink-whisper", "extra": None},
            {"model": "assemblyai", "extra": {"x": 1}},
        ]
    }


def test_constructor_checks_its_arguments(monkeypatch):
    for name in ("LIVEKIT_INFERENCE_API_KEY", "LIVEKIT_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="api_key"):
        STT(MODEL, api_secret=SECRET)
    with pytest.raises(ValueError, match="encoding"):
        STT(MODEL, api_key=KEY, api_secret=SECRET, encoding="opus")
    with pytest.raises(ValueError, match="sample_rate"):
        STT(MODEL, api_key=KEY, api_secret=SECRET, sample_rate=0)
    with pytest.raises(ValueError, match="time_scale"):
        STT(MODEL, api_key=KEY, api_secret=SECRET, time_scale=0)


async def idle(conn: Connection) -> None:
    await conn.wait_closed()


async def test_stream_methods_check_their_arguments():
    async with FakeProvider(idle) as provider, make_stt(provider).stream() as stream:
        with pytest.raises(TypeError):
            stream.push_frame(b"\x00\x00")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="model"):
            stream.update_options(model=5)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="extra_kwargs"):
            stream.update_options(extra_kwargs=[1])  # type: ignore[arg-type]
        stream.end_input()
        with pytest.raises(RuntimeError, match="input has ended"):
            stream.push_frame(speech(0.01))
        with pytest.raises(RuntimeError, match="input has ended"):
            stream.flush()


# -- STT-C-2: exact 50 ms framing of resampled mono audio --------------------------------------


@pytest.mark.spec("STT-C-2")
@pytest.mark.parametrize(
    ("in_rate", "channels", "rate"),
    [
        (8000, 1, 16000),
        (16000, 1, 16000),
        (24000, 1, 16000),
        (48000, 1, 16000),
        (48000, 2, 16000),
        (16000, 2, 24000),
        (44100, 2, 8000),
    ],
)
async def test_audio_is_cut_in_exact_50_ms_frames_of_the_resampled_mono_audio(
    in_rate, channels, rate
):
    audio = speech(1.013, in_rate, channels)
    async with FakeProvider(transcribe()) as provider:
        stt = make_stt(provider, sample_rate=rate)
        stream = stt.stream()
        # Pieces of odd sizes, and 10 ms frames as an agent pushes them.
        push(stream, audio, (7, in_rate // 100, 333, 1, 1024))
        stream.end_input()
        events = await collect(stream)
        conn = provider.connections[0]
    expected = expected_pcm(audio, rate)
    frame_bytes = rate // 20 * 2
    sizes = conn.audio_sizes
    assert all(size == frame_bytes for size in sizes[:-1])
    assert 0 < sizes[-1] <= frame_bytes
    assert conn.audio == expected
    assert conn.types()[-1] == "session.finalize"
    # STT-USG-1: the usage is the audio sent, exact to the sample.
    usage = [e for e in events if e.type is USAGE]
    assert len(usage) == 1
    assert usage[0].recognition_usage is not None
    assert usage[0].recognition_usage.audio_duration == len(expected) // 2 / rate


@pytest.mark.spec("STT-C-2")
async def test_flush_sends_the_remainder_as_one_short_frame_and_the_stream_goes_on():
    async with FakeProvider(transcribe()) as provider:
        stream = make_stt(provider).stream()
        push(stream, speech(0.123), (160,))
        stream.flush()
        stream.flush()  # nothing held: no frame
        push(stream, speech(0.07, seed=1), (37,))
        stream.end_input()
        await collect(stream)
        conn = provider.connections[0]
    # 0.123 s = 1968 samples: 2 frames of 800 and 368 flushed; 0.07 s = 1120: 800 and 320.
    assert conn.audio_sizes == [1600, 1600, 736, 1600, 640]
    assert conn.types() == ["session.create", *["input_audio"] * 5, "session.finalize"]
    assert conn.audio == speech(0.123).to_bytes() + speech(0.07, seed=1).to_bytes()


@pytest.mark.spec("STT-C-2")
@settings(
    max_examples=15,  # each example is a real WebSocket session
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    in_rate=st.sampled_from([8000, 16000, 24000, 48000]),
    channels=st.integers(1, 2),
    segments=st.lists(
        st.lists(st.integers(1, 1200), min_size=0, max_size=6), min_size=1, max_size=4
    ),
    seed=st.integers(0, 2**16),
)
async def test_any_push_pattern_gives_exact_frames_and_the_audio_pushed(
    in_rate, channels, segments, seed
):
    """``segments`` are the pushes (sizes in samples) between flushes; the last segment ends
    with the finalize. Each segment is resampled on its own (a flush ends the resampler's
    stream) and framed on its own (a flush sends the remainder)."""
    rate = 16000
    audio = speech(sum(map(sum, segments)) / in_rate + 1e-9, in_rate, channels, seed)
    expected_sizes: list[int] = []
    expected = b""
    async with FakeProvider(transcribe()) as provider:
        stream = make_stt(provider, sample_rate=rate).stream()
        at = 0
        for number, sizes in enumerate(segments):
            n = sum(sizes)
            piece = AudioFrame(
                audio.data[at * channels : (at + n) * channels],
                sample_rate=in_rate,
                num_channels=channels,
            )
            at += n
            for size_piece in chunks(piece, sizes) if sizes else []:
                stream.push_frame(size_piece)
            if number < len(segments) - 1:
                stream.flush()
            wire = expected_pcm(piece, rate) if n else b""
            expected += wire
            samples = len(wire) // 2
            expected_sizes += [rate // 20 * 2] * (samples // (rate // 20))
            if samples % (rate // 20):
                expected_sizes.append(samples % (rate // 20) * 2)
        stream.end_input()
        await collect(stream)
        conn = provider.connections[0]
    assert conn.audio_sizes == expected_sizes
    assert conn.audio == expected
    assert conn.types().count("session.finalize") == 1


# -- STT-C-3, STT-ORD-*, STT-END-1: a whole session and its clean end --------------------------


@pytest.mark.spec("STT-C-3", "STT-ORD-1", "STT-ORD-3", "STT-ORD-4", "STT-ORD-5", "STT-USG-1")
async def test_a_session_ends_cleanly_on_the_close_after_session_finalized():
    async def script(conn: Connection) -> None:
        await conn.receive_audio(0.5)
        await conn.send(interim("hel", 0.0, 0.2, request_id="req-1", confidence=0.5))
        await conn.send(interim(""))  # an empty interim emits nothing
        await conn.receive_until("session.finalize")
        words = [TranscriptWord(word="hello", start=0.1, end=0.4)]
        await conn.send(final("hello", 0.1, 0.5, request_id="req-1", words=words))
        await conn.send(SessionFinalized())
        await conn.close(1000)

    async with FakeProvider(script) as provider:
        stt = make_stt(provider, language="en")
        stream = stt.stream()
        push(stream, speech(0.5))
        stream.end_input()
        stream.end_input()  # a second end_input does nothing: one finalize
        events = await collect(stream)
        conn = provider.connections[0]
    assert types(events) == [START, INTERIM, USAGE, FINAL, END]
    assert events[1].alternatives[0].text == "hel"
    assert events[1].alternatives[0].confidence == 0.5
    assert events[2].recognition_usage is not None
    assert events[2].recognition_usage.audio_duration == 0.5
    data = events[3].alternatives[0]
    assert (data.text, data.start_time, data.end_time, data.language) == ("hello", 0.1, 0.6, "en")
    assert data.confidence == 1.0  # absent: 1.0
    assert [str(w) for w in data.words] == ["hello"]
    assert events[3].request_id == "req-1"
    assert conn.types().count("session.finalize") == 1
    assert "session.close" not in conn.types()  # the server closed first
    assert stream.attempts == 1


@pytest.mark.spec("STT-END-1")
async def test_session_finalized_before_trailing_transcripts_is_tolerated_unless_strict():
    async def script(conn: Connection) -> None:
        await conn.receive_until("session.finalize")
        # As the real gateway may: the acknowledgement first, the final after it. A
        # ServerSession refuses to send that, so the frames are written raw.
        await conn.send_raw('{"type": "session.finalized"}')
        await conn.send_raw(
            '{"type": "final_transcript", "transcript": "late", "start": 0, "duration": 0}'
        )
        await conn.close(1000)

    async with FakeProvider(script) as provider:
        stream = make_stt(provider).stream()
        stream.end_input()
        events = await collect(stream)
        # time_scale 1: an attempt that lingered after its error (on its 30 s close timer)
        # instead of ending at once would show.
        strict = make_stt(provider, strict=True, time_scale=1.0)
        strict_stream = strict.stream(conn_options=options(max_retry=0))
        strict_stream.end_input()
        loop = asyncio.get_running_loop()
        started = loop.time()
        _, error = await collect_error(strict_stream)
        elapsed = loop.time() - started
    assert [e.alternatives[0].text for e in events if e.type is FINAL] == ["late"]
    assert type(error) is APIConnectionError
    assert "STT-S-2" in str(error)
    assert elapsed < 1.0


@pytest.mark.spec("STT-END-1")
async def test_session_closed_after_the_finalize_ends_the_stream_at_once():
    async def script(conn: Connection) -> None:
        await conn.receive_until("session.finalize")
        await conn.send(final("done", 0.0, 0.1))
        await conn.send(SessionClosed())
        # The server says its last word and leaves the close to the client.
        assert await conn.wait_closed() == 1000

    async with FakeProvider(script) as provider:
        # time_scale 1: had the client waited for its 3 s timer, this would show.
        stream = make_stt(provider, time_scale=1.0).stream()
        push(stream, speech(0.1))
        stream.end_input()
        loop = asyncio.get_running_loop()
        started = loop.time()
        events = await collect(stream)
        elapsed = loop.time() - started
        conn = provider.connections[0]
        await conn.done.wait()
    assert types(events) == [START, USAGE, FINAL, END]
    assert elapsed < 1.0
    assert "session.close" not in conn.types()


# -- STT-C-4: the close timers -----------------------------------------------------------------


@pytest.mark.spec("STT-C-4")
async def test_a_server_lingering_after_a_final_gets_session_close_3_s_later():
    times: dict[str, float] = {}

    async def script(conn: Connection) -> None:
        await conn.receive_until("session.finalize")
        times["final"] = await conn.send(final("hi", 0.0, 0.1))
        await conn.send(SessionFinalized())
        await conn.receive_until("session.close")
        times["close"] = conn.received_at[-1]
        assert await conn.wait_closed() == 1000

    async with FakeProvider(script) as provider:
        stream = make_stt(provider).stream()
        push(stream, speech(0.1))
        stream.end_input()
        events = await collect(stream)
        await provider.connections[0].done.wait()
    waited = times["close"] - times["final"]
    # 3 s scaled by 0.01, counted from when the client got the final (after it was sent).
    assert 0.03 <= waited < 0.03 + 0.5
    assert types(events) == [START, USAGE, FINAL, END]


@pytest.mark.spec("STT-C-4")
async def test_without_a_final_the_client_waits_30_s_after_the_finalize():
    times: dict[str, float] = {}

    async def script(conn: Connection) -> None:
        await conn.receive_until("session.finalize")
        times["finalize"] = conn.received_at[-1]
        await conn.receive_until("session.close")
        times["close"] = conn.received_at[-1]
        assert await conn.wait_closed() == 1000

    async with FakeProvider(script) as provider:
        stream = make_stt(provider).stream()
        stream.end_input()
        assert await collect(stream) == []
    waited = times["close"] - times["finalize"]
    assert 0.3 - 0.02 <= waited < 0.3 + 0.5  # 30 s scaled; the finalize was in flight


@pytest.mark.spec("STT-C-4")
@pytest.mark.parametrize(
    ("late", "wait"),
    [
        # An interim re-arms the 30 s timer from its arrival.
        (interim("still talking", 0.0, 0.1), 0.3),
        # A final switches to the 3 s timer, from its arrival: the close comes sooner.
        (final("done", 0.0, 0.1), 0.03),
    ],
)
async def test_transcripts_after_the_finalize_move_the_deadline(late, wait):
    times: dict[str, float] = {}

    async def script(conn: Connection) -> None:
        await conn.receive_until("session.finalize")
        times["finalize"] = conn.received_at[-1]
        # The provider's own pace: its transcript comes 0.15 s after the finalize.
        await asyncio.sleep(0.15)
        times["late"] = await conn.send(late)
        await conn.receive_until("session.close")
        times["close"] = conn.received_at[-1]

    async with FakeProvider(script) as provider:
        stream = make_stt(provider).stream()
        stream.end_input()
        await collect(stream)
    assert wait <= times["close"] - times["late"] < wait + 0.3
    if wait < 0.3:
        assert times["close"] - times["finalize"] < 0.3  # sooner than the first deadline


# -- STT-END-1, STT-RETRY-1: early closes, error messages, reconnects --------------------------


@pytest.mark.spec("STT-END-1", "STT-RETRY-1", "STT-ORD-1", "STT-USG-1", "AUTH-3")
async def test_an_early_close_reconnects_with_a_new_session_create_and_monotonic_times():
    async def first(conn: Connection) -> None:
        await conn.receive_audio(0.3)
        await conn.send(interim("hel", 0.0, 0.3, request_id="a"))
        await conn.close(1000)  # before the finalize

    async def second(conn: Connection) -> None:
        await conn.receive_until("session.finalize")
        await conn.send(final("hello", 0.0, conn.session.audio_received, request_id="b"))
        await conn.send(SessionFinalized())
        await conn.close(1000)

    first_audio, second_audio = speech(0.3), speech(0.2, seed=1)
    async with FakeProvider(first, second) as provider:
        stt = make_stt(provider)
        minted: list[str] = []
        mint = stt.access_token
        stt.access_token = lambda: minted.append(mint()) or minted[-1]  # type: ignore[method-assign]
        failed = asyncio.Event()
        errors = errors_of(stt)
        stt.on("error", lambda _: failed.set())
        stream = stt.stream(conn_options=options(max_retry=1))
        push(stream, first_audio)
        await failed.wait()
        # Pushed while the first connection is gone: it goes to the next one.
        push(stream, second_audio)
        stream.end_input()
        events = await collect(stream)
        conns = provider.connections
    assert len(conns) == 2
    assert conns[1].frames[0] == conns[0].frames[0]  # a new session.create, the same options
    assert conns[0].audio == first_audio.to_bytes()
    assert conns[1].audio == second_audio.to_bytes()
    # A token minted for each connect (AUTH-3), each verified by the provider.
    assert [c.request.headers["Authorization"] for c in conns] == [f"Bearer {t}" for t in minted]
    assert [c.claims.api_key for c in conns] == [KEY, KEY]
    # The segment opened on the first connection is closed by the second's final: one START.
    assert types(events) == [START, INTERIM, USAGE, FINAL, END]
    assert events[2].recognition_usage is not None
    assert events[2].recognition_usage.audio_duration == 0.5
    final_data = events[3].alternatives[0]
    # The second session's time zero is the audio already sent: 0.3 s on the stream.
    assert final_data.start_time == 0.3 >= events[1].alternatives[0].start_time
    assert final_data.end_time == pytest.approx(0.5)
    assert len(errors) == 1 and errors[0].recoverable
    error = errors[0].error
    assert isinstance(error, APIStatusError) and error.retryable and error.status_code == 1000
    assert stream.attempts == 2
    assert stream.start_time_offset == 0.3


@pytest.mark.spec("STT-END-1")
async def test_an_early_close_with_no_retry_left_is_a_retryable_status_error():
    async def script(conn: Connection) -> None:
        await conn.receive_audio(0.1)
        await conn.send(final("partial", 0.0, 0.1))
        await conn.close(1011)

    async with FakeProvider(script) as provider:
        stream = make_stt(provider).stream(conn_options=options(max_retry=0))
        push(stream, speech(0.1))
        events, error = await collect_error(stream)
    # What came before the close is delivered, then the error.
    assert types(events) == [START, USAGE, FINAL, END]
    assert type(error) is APIStatusError
    assert error.status_code == 1011 and error.retryable
    assert len(provider.connections) == 1


@pytest.mark.spec("STT-END-1")
async def test_session_closed_before_the_finalize_is_a_retryable_status_error():
    async def script(conn: Connection) -> None:
        await conn.receive_audio(0.05)
        await conn.send(SessionClosed())
        await conn.wait_closed()

    async with FakeProvider(script) as provider:
        stream = make_stt(provider).stream(conn_options=options(max_retry=0))
        push(stream, speech(0.05))
        _, error = await collect_error(stream)
    assert type(error) is APIStatusError
    assert error.status_code == -1 and error.retryable


@pytest.mark.spec("STT-RETRY-1")
async def test_exhausted_attempts_raise_a_connection_error_after_the_waits_of_2_4():
    async with FakeProvider(close_at_once(1011)) as provider:
        stt = make_stt(provider)
        errors = errors_of(stt)
        stream = stt.stream(conn_options=options(max_retry=2, retry_interval=3.0))
        _, error = await collect_error(stream)
        conns = provider.connections
        created = [conn.received_at[0] for conn in conns]
    assert type(error) is APIConnectionError
    assert str(error).startswith("failed to recognize speech after 3 attempts")
    assert not error.retryable
    assert isinstance(error.__cause__, APIStatusError) and error.__cause__.status_code == 1011
    assert [e.recoverable for e in errors] == [True, True, False]
    assert [conn.frames[0] for conn in conns] == [conns[0].frames[0]] * 3
    # 0.1 s then retry_interval, scaled.
    assert created[1] - created[0] >= 0.1 * SCALE
    assert created[2] - created[1] >= 3.0 * SCALE


@pytest.mark.spec("STT-END-1", "STT-RETRY-1")
@pytest.mark.parametrize(
    ("code", "retryable"),
    [(400, False), (401, False), (404, False), (408, True), (429, True), (500, True), (503, True)],
)
async def test_an_error_message_is_an_api_error_retryable_per_its_code(code, retryable):
    async def failing(conn: Connection) -> None:
        await conn.receive_until("session.create")
        await conn.send(ErrorMessage(message="no luck", code=code))
        await conn.wait_closed()

    async with FakeProvider(failing, transcribe("recovered")) as provider:
        stt = make_stt(provider)
        errors = errors_of(stt)
        stream = stt.stream(conn_options=options(max_retry=3))
        stream.end_input()
        if retryable:
            events = await collect(stream)
            assert [e.alternatives[0].text for e in events if e.type is FINAL] == ["recovered"]
            assert len(provider.connections) == 2
            # Input had ended on the first connection: the second finalizes at once.
            assert provider.connections[1].types() == ["session.create", "session.finalize"]
        else:
            _, error = await collect_error(stream)
            assert type(error) is APIStatusError
            assert error.status_code == code and not error.retryable
            assert error.body == {"type": "error", "message": "no luck", "code": code}
            assert len(provider.connections) == 1
    assert [(type(e.error), e.recoverable) for e in errors] == [(APIStatusError, retryable)]


@pytest.mark.spec("STT-END-1")
@pytest.mark.parametrize("code", [1000, 1001, 1011, 4000])
async def test_a_close_with_any_code_after_the_finalize_ends_the_stream_cleanly(code):
    async def script(conn: Connection) -> None:
        await conn.receive_until("session.finalize")
        await conn.send(final("ok", 0.0, 0.1))
        await conn.close(code)

    async with FakeProvider(script) as provider:
        stream = make_stt(provider).stream(conn_options=options(max_retry=0))
        push(stream, speech(0.1))
        stream.end_input()
        events = await collect(stream)
    assert types(events) == [START, USAGE, FINAL, END]


# -- connecting: AUTH-4 answers, refused ports, timeouts (RETRY-1's mapping) -------------------


@pytest.mark.spec("RETRY-1", "RETRY-3")
async def test_a_401_at_the_upgrade_is_a_non_retryable_status_error_with_its_body():
    async with FakeProvider() as provider:
        stt = STT(MODEL, base_url=provider.base_url, api_key=KEY, api_secret="x" * 40)
        stream = stt.stream(conn_options=options(max_retry=3))
        _, error = await collect_error(stream)
    assert type(error) is APIStatusError
    assert error.status_code == 401 and not error.retryable
    assert isinstance(error.body, dict)
    assert error.body["error"]["type"] == "authentication_error"
    assert provider.rejected == ["bad_signature"]
    assert stream.attempts == 1


@pytest.mark.spec("RETRY-1", "CLI-ROB-1")
async def test_a_refused_connection_is_a_retryable_connection_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again at once: nothing listens there
    stt = STT(
        MODEL, base_url=f"http://127.0.0.1:{port}", api_key=KEY, api_secret=SECRET, time_scale=SCALE
    )
    stream = stt.stream(conn_options=options(max_retry=1))
    _, error = await collect_error(stream)
    assert type(error) is APIConnectionError
    assert str(error).startswith("failed to recognize speech after 2 attempts")
    assert type(error.__cause__) is APIConnectionError and error.__cause__.retryable


async def silent_server(accepted: asyncio.Event, closed: asyncio.Event) -> asyncio.Server:
    """A TCP server that accepts and never answers: the upgrade hangs."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set()
        while await reader.read(1024):
            pass
        closed.set()  # the client let go of the connection
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


@pytest.mark.spec("RETRY-1", "CLI-ROB-1")
async def test_an_upgrade_that_never_answers_is_a_timeout_within_timeout():
    accepted, closed = asyncio.Event(), asyncio.Event()
    server = await silent_server(accepted, closed)
    async with server:
        port = server.sockets[0].getsockname()[1]
        stt = STT(MODEL, base_url=f"http://127.0.0.1:{port}", api_key=KEY, api_secret=SECRET)
        loop = asyncio.get_running_loop()
        started = loop.time()
        _, error = await collect_error(stt.stream(conn_options=options(timeout=0.2)))
        elapsed = loop.time() - started
        await closed.wait()
    assert type(error) is APITimeoutError and error.retryable
    assert 0.2 <= elapsed < 0.2 + 0.5


# -- CLI-ROB-1: whatever the server sends, an APIError -----------------------------------------

DEEP = "[" * 100_000
HOSTILE_FRAMES: list[tuple[str, str | bytes]] = [
    ("not json", "hello"),
    ("binary", b"\x00\x01binary"),
    ("not an object", "[1, 2]"),
    ("no type", '{"transcript": "x"}'),
    ("type not a string", '{"type": 5}'),
    (
        "transcript not a string",
        '{"type": "final_transcript", "transcript": 5, "start": 0, "duration": 0}',
    ),
    (
        "negative start",
        '{"type": "interim_transcript", "transcript": "x", "start": -1, "duration": 0}',
    ),
    (
        "NaN confidence",
        '{"type": "final_transcript", "transcript": "x", "start": 0, "duration": 0, '
        '"confidence": NaN}',
    ),
    (
        "words not a list",
        '{"type": "final_transcript", "transcript": "x", "start": 0, "duration": 0, "words": {}}',
    ),
    ("error without code", '{"type": "error", "message": "x"}'),
    ("nested too deep", DEEP),
    ("over max size", "x" * (2 << 20)),
]


@pytest.mark.spec("CLI-ROB-1")
@pytest.mark.parametrize(("what", "frame"), HOSTILE_FRAMES, ids=[w for w, _ in HOSTILE_FRAMES])
@pytest.mark.parametrize("when", ["streaming", "after_finalize"])
async def test_a_hostile_frame_ends_the_stream_with_a_connection_error(what, frame, when):
    async def script(conn: Connection) -> None:
        await conn.receive_until("session.finalize" if when == "after_finalize" else "input_audio")
        await conn.send_raw(frame)
        await conn.wait_closed()

    async with FakeProvider(script) as provider:
        stream = make_stt(provider).stream(conn_options=options(max_retry=0))
        push(stream, speech(0.1))
        if when == "after_finalize":
            stream.end_input()
        _, error = await collect_error(stream)
        await provider.connections[0].done.wait()
    assert type(error) is APIConnectionError, repr(error)
    assert error.retryable


@pytest.mark.spec("CLI-ROB-1")
async def test_invalid_utf8_in_a_text_frame_is_a_connection_error():
    async def script(conn: Connection) -> None:
        await conn.receive_until("session.create")
        await conn.ws._writer.send_frame(b"\xff\xfe", aiohttp.WSMsgType.TEXT)
        await conn.wait_closed()

    async with FakeProvider(script) as provider:
        stream = make_stt(provider).stream(conn_options=options(max_retry=0))
        _, error = await collect_error(stream)
    assert type(error) is APIConnectionError
    assert "1007" in str(error)


@pytest.mark.spec("CLI-ROB-1", "STT-RETRY-1")
async def test_a_hostile_frame_is_retried_like_any_retryable_error():
    async def hostile(conn: Connection) -> None:
        await conn.receive_until("session.create")
        await conn.send_raw(b"\x00")
        await conn.wait_closed()

    async with FakeProvider(hostile, transcribe("fine")) as provider:
        stream = make_stt(provider).stream(conn_options=options(max_retry=1))
        stream.end_input()
        events = await collect(stream)
    assert [e.alternatives[0].text for e in events if e.type is FINAL] == ["fine"]


@pytest.mark.spec("CLI-ROB-1")
async def test_unknown_types_and_keys_are_ignored():
    async def script(conn: Connection) -> None:
        await conn.receive_until("session.finalize")
        await conn.send_raw('{"type": "session.created", "session_id": "s", "new": [1]}')
        await conn.send_raw('{"type": "preflight_transcript", "transcript": "x"}')
        await conn.send_raw('{"type": "from.the.future", "x": {"y": 1}}')
        await conn.send_raw(
            '{"type": "final_transcript", "transcript": "ok", "start": 0, "duration": 0.1, '
            '"new_field": true, "words": [{"word": "ok", "start": 0, "end": 0.1, "x": 1}]}'
        )
        await conn.send(SessionFinalized())
        await conn.close(1000)

    async with FakeProvider(script) as provider:
        stream = make_stt(provider).stream(conn_options=options(max_retry=0))
        stream.end_input()
        events = await collect(stream)
    assert [e.alternatives[0].text for e in events if e.type is FINAL] == ["ok"]


# -- STT-C-5: update_options -------------------------------------------------------------------


@pytest.mark.spec("STT-C-5", "STT-ORD-5")
async def test_update_options_sends_session_update_after_the_audio_pushed_before():
    async def script(conn: Connection) -> None:
        await conn.receive_until("session.finalize")
        await conn.send(final("bonjour", 0.0, 0.2))  # no language: the updated one
        await conn.send(SessionFinalized())
        await conn.close(1000)

    async with FakeProvider(script) as provider:
        stt = make_stt(provider, language="en")
        stream = stt.stream()
        push(stream, speech(0.1))
        stream.update_options(language="fr", extra_kwargs={"smart_format": True})
        stream.update_options()  # nothing given: nothing sent
        push(stream, speech(0.1, seed=1))
        stt.update_options(model="deepgram/nova-2")  # reaches the live stream too
        stream.end_input()
        events = await collect(stream)
        conn = provider.connections[0]
    assert conn.types() == [
        "session.create",
        "input_audio",
        "input_audio",
        "session.update",
        "input_audio",
        "input_audio",
        "session.update",
        "session.finalize",
    ]
    assert conn.frames[3] == (
        '{"type": "session.update", "settings": {"language": "fr", '
        '"extra": {"smart_format": true}}}'
    )
    assert conn.frames[6] == (
        '{"type": "session.update", "settings": {"model": "deepgram/nova-2"}}'
    )
    updated = conn.session.create_message
    assert updated is not None and updated.model == "deepgram/nova-2"
    assert updated.settings.language == "fr"
    assert [e.alternatives[0].language for e in events if e.type is FINAL] == ["fr"]
    assert stt.model == "deepgram/nova-2"  # and the streams to come


@pytest.mark.spec("STT-C-5", "STT-RETRY-1")
async def test_a_reconnect_after_update_options_opens_with_the_new_options():
    async def first(conn: Connection) -> None:
        message = await conn.receive_until("session.update")
        assert isinstance(message, SessionUpdate)
        await conn.close(1000)

    async with FakeProvider(first, transcribe()) as provider:
        stt = make_stt(provider, language="en")
        failed = asyncio.Event()
        stt.on("error", lambda _: failed.set())
        stream = stt.stream(conn_options=options(max_retry=1))
        push(stream, speech(0.1))
        stream.update_options(language="fr")
        await failed.wait()
        stream.end_input()
        await collect(stream)
        second = provider.connections[1].messages[0]
    assert isinstance(second, SessionCreate)
    assert second.settings.language == "fr"


# -- aclose: prompt, nothing left running ------------------------------------------------------


def running_tasks() -> set[asyncio.Task[Any]]:
    return {task for task in asyncio.all_tasks() if not task.done()}


@pytest.mark.spec("CLI-ROB-1")
async def test_aclose_mid_stream_is_prompt_closes_with_1000_and_leaves_no_task():
    heard = asyncio.Event()
    codes: list[int | None] = []

    async def script(conn: Connection) -> None:
        await conn.receive_audio(0.1)
        heard.set()
        codes.append(await conn.wait_closed())

    async with FakeProvider(script) as provider:
        before = running_tasks()
        stream = make_stt(provider).stream()
        push(stream, speech(0.1))
        await heard.wait()
        loop = asyncio.get_running_loop()
        started = loop.time()
        await stream.aclose()
        elapsed = loop.time() - started
        await provider.connections[0].done.wait()
        assert [event async for event in stream] == []  # iteration ends
        with pytest.raises(RuntimeError):
            stream.push_frame(speech(0.01))
        stream.update_options(language="fr")  # a closed stream: nothing to update
        await stream.aclose()  # twice is fine
        # Let the provider's own connection task (aiohttp's) wind down, then compare.
        left = running_tasks() - before - {asyncio.current_task()}
        for task in left:
            if "web_protocol" in repr(task.get_coro()):
                await task
        left = running_tasks() - before - {asyncio.current_task()}
    assert elapsed < 0.5
    assert codes == [1000]
    assert left == set()


@pytest.mark.spec("CLI-ROB-1")
async def test_aclose_during_the_wait_between_attempts_is_prompt():
    async with FakeProvider(close_at_once(1011)) as provider:
        stt = make_stt(provider, time_scale=1.0)
        second_failure = asyncio.Event()
        errors = errors_of(stt)
        stt.on("error", lambda _: len(errors) >= 2 and second_failure.set())
        # 0.1 s before the first retry, then 60 s before the second.
        stream = stt.stream(conn_options=options(max_retry=2, retry_interval=60.0))
        await second_failure.wait()
        loop = asyncio.get_running_loop()
        started = loop.time()
        await stream.aclose()
        elapsed = loop.time() - started
    assert elapsed < 0.5
    assert len(provider.connections) == 2


@pytest.mark.spec("CLI-ROB-1")
async def test_aclose_during_the_upgrade_lets_go_of_the_connection():
    accepted, closed = asyncio.Event(), asyncio.Event()
    server = await silent_server(accepted, closed)
    async with server:
        port = server.sockets[0].getsockname()[1]
        stt = STT(MODEL, base_url=f"http://127.0.0.1:{port}", api_key=KEY, api_secret=SECRET)
        stream = stt.stream()
        await accepted.wait()
        await stream.aclose()
        await asyncio.wait_for(closed.wait(), 2.0)  # the client closed its socket
