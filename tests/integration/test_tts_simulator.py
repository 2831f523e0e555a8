"""The TTS simulator (``/tts``, ``/v1/tts``) on real loopback sockets: driven by raw aiohttp
WebSocket clients speaking through the client half of the wire module
(:class:`TTSClientConnection` and its :class:`SynthesisAssembler`), and by upstream's
``livekit.agents.inference.TTS`` (livekit-agents 1.8.9).

The audio is the tone code of the text: every test decodes what it received back to the text
it sent. Nothing sleeps to wait: tests await messages, closes and the journal.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from voicewire.reference.audio import AudioFrame
from voicewire.reference.auth import create_access_token
from voicewire.reference.tone_code import decode_tone, encode_tone, tone_duration
from voicewire.reference.tts.wire import (
    AlignedTranscript,
    FailureKind,
    RemoteProtocolError,
    SynthesisFailure,
    SynthesizedAudio,
    TTSClientConnection,
    TTSConnectionState,
    tts_session_create,
)
from voicewire.simulators import Limits, Scenario, SimulatorServer, parse_scenario
from voicewire.simulators.tts import (
    CLOSE_IDLE,
    CLOSE_UNSUPPORTED_DATA,
    MALFORMED_TTS_FRAME,
    MAX_TRANSCRIPT_BYTES,
)
from voicewire.suites.tts.raw_sessions import tts_alignment_problem

MODEL = "cartesia/sonic-3"
VOICE = "a167e0f3-df7e-4d52-a9c3-f949145efdab"
RATE = 24000
FIRST = ["Hello there!", "This is a test."]
SECOND = ["Second stream."]


def scenario(reply: dict[str, Any] | None = None, **rule: Any) -> Scenario:
    return parse_scenario(
        {"name": "tts", "rules": [{"match": {"endpoint": "tts"}, "reply": reply or {}, **rule}]}
    )


def bearer(sim: SimulatorServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_access_token(sim.api_key, sim.api_secret)}"}


@dataclass
class Synthesis:
    """What one synthesis received: the raw messages, and the assembler's outputs."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)
    close_code: int | None = None

    @property
    def audio(self) -> bytes:
        return b"".join(o.frame.to_bytes() for o in self.outputs if isinstance(o, SynthesizedAudio))

    @property
    def frames(self) -> list[SynthesizedAudio]:
        return [o for o in self.outputs if isinstance(o, SynthesizedAudio)]

    @property
    def alignments(self) -> list[AlignedTranscript]:
        return [o for o in self.outputs if isinstance(o, AlignedTranscript)]

    @property
    def failure(self) -> SynthesisFailure | None:
        return next((o for o in self.outputs if isinstance(o, SynthesisFailure)), None)


class Client:
    """A raw aiohttp WebSocket speaking TTS through :class:`TTSClientConnection`."""

    def __init__(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        *,
        rate: int = RATE,
        strict: bool = True,
        **create: Any,
    ) -> None:
        self.ws = ws
        # strict: the assembler holds the server to TTS-S-1's session_id on every message.
        self.connection = TTSClientConnection(
            tts_session_create(sample_rate=rate, **create),
            clock=asyncio.get_running_loop().time,
            strict=strict,
        )
        self.created: list[dict[str, Any]] = []

    @classmethod
    async def open(
        cls,
        sim: SimulatorServer,
        http: aiohttp.ClientSession,
        path: str = "/tts",
        **options: Any,
    ) -> Client:
        ws = await http.ws_connect(f"{sim.base_url}{path}?model={MODEL}", headers=bearer(sim))
        client = cls(ws, **options)
        await ws.send_str(client.connection.create())
        return client

    async def synthesize(self, sentences: Sequence[str], **options: Any) -> Synthesis:
        """Send the sentences and a flush; read until the final frame, a failure or a close."""
        self.connection.start_synthesis()
        for sentence in sentences:
            await self.ws.send_str(self.connection.push_text(sentence, **options))
        await self.ws.send_str(self.connection.flush())
        return await self.read()

    async def read(self) -> Synthesis:
        out = Synthesis()
        while self.connection.in_synthesis:
            message = await self.ws.receive(timeout=5.0)
            if message.type is not aiohttp.WSMsgType.TEXT:
                out.close_code = self.ws.close_code
                out.outputs += self.connection.receive_close(self.ws.close_code)
                break
            data = json.loads(message.data)
            if data.get("type") == "session.created":
                self.created.append(data)
            else:
                out.messages.append(data)
            out.outputs += self.connection.receive_frame(message.data)
        return out


def decoded(audio: bytes, rate: int = RATE) -> list[str | None]:
    return [segment.text for segment in decode_tone(audio, sample_rate=rate)]


def spoken(sentences: Sequence[str]) -> list[str]:
    """What the simulator speaks: each sentence as sent (trailing space added), stripped."""
    return [s.strip() for s in sentences]


def out_frames(sim: SimulatorServer) -> list[dict[str, Any]]:
    return out_frames_of(sim.journal.entries())


# -- the protocol ------------------------------------------------------------------------------


@pytest.mark.parametrize("base_path", ["", "/v1"])
async def test_two_syntheses_on_one_socket_speak_their_text(base_path: str) -> None:
    # No scenario: every text is synthesised with the reply's defaults.
    async with SimulatorServer() as sim, aiohttp.ClientSession() as http:
        client = await Client.open(sim, http, base_path + "/tts", voice=VOICE, model=MODEL)
        first = await client.synthesize(FIRST)
        assert client.connection.state is TTSConnectionState.IDLE
        second = await client.synthesize(SECOND)
        await client.ws.close()
        journal = sim.journal.entries()

    assert len(client.created) == 1
    session_id = client.created[0]["session_id"]
    assert session_id.startswith("tts_sess_")
    for synthesis, sentences in ((first, FIRST), (second, SECOND)):
        assert synthesis.failure is None
        assert decoded(synthesis.audio) == spoken(sentences)
        # TTS-S-1: session_id on every message, done last; TTS-OUT-1: the segment is the
        # session, one final frame.
        assert all(m["session_id"] == session_id for m in synthesis.messages)
        assert [m["type"] for m in synthesis.messages][-1] == "done"
        assert {f.segment_id for f in synthesis.frames} == {session_id}
        assert [f.is_final for f in synthesis.frames].count(True) == 1
        assert synthesis.frames[-1].is_final
        # 100 ms chunks by default (an utterance's last one shorter).
        chunks = [m for m in synthesis.messages if m["type"] == "output_audio"]
        sizes = [len(base64.b64decode(c["audio"])) for c in chunks]
        assert max(sizes) == 2 * RATE // 10 and sizes.count(2 * RATE // 10) >= len(sizes) - 2
    # The duration follows the text: two utterances and the gap between them.
    assert len(first.audio) // 2 == sum(
        len(encode_tone(t, sample_rate=RATE).samples) for t in spoken(FIRST)
    ) + round(0.4 * RATE)
    # Each done was sent after its flush arrived.
    order = [
        (e["direction"], (json.loads(d) if isinstance(d, str) else d).get("type"))
        for e in journal
        if e["type"] == "wire.frame" and e["kind"] == "ws_message"
        for d in [e["data"]]
    ]
    flushes = [i for i, o in enumerate(order) if o == ("in", "session.flush")]
    dones = [i for i, o in enumerate(order) if o == ("out", "done")]
    assert len(flushes) == len(dones) == 2
    assert all(f < d for f, d in zip(flushes, dones, strict=True))


async def test_done_waits_for_the_flush() -> None:
    reply = {"chunk_duration": 0.05}
    async with SimulatorServer(scenario(reply)) as sim, aiohttp.ClientSession() as http:
        client = await Client.open(sim, http)
        client.connection.start_synthesis()
        await client.ws.send_str(client.connection.push_text("wait"))
        assert (await client.ws.receive_json(timeout=5.0))["type"] == "session.created"
        # Every chunk of the utterance arrives before the flush is sent; then done.
        samples = round(tone_duration("wait") * RATE + 0.5)
        received = 0
        while received < samples - 1:
            message = await client.ws.receive_json(timeout=5.0)
            assert message["type"] == "output_audio"
            received += len(base64.b64decode(message["audio"])) // 2
        await client.ws.send_str(client.connection.flush())
        done = await client.ws.receive_json(timeout=5.0)
        assert done["type"] == "done" and done["session_id"].startswith("tts_sess_")
        await client.ws.close()


@pytest.mark.parametrize("granularity", ["words", "chars"])
async def test_alignment_times_lie_inside_the_audio(granularity: str) -> None:
    reply = {"alignment": granularity}
    async with SimulatorServer(scenario(reply)) as sim, aiohttp.ClientSession() as http:
        client = await Client.open(sim, http)
        synthesis = await client.synthesize(FIRST)
        await client.ws.close()

    assert synthesis.failure is None
    duration = len(synthesis.audio) / 2 / RATE
    segments = decode_tone(synthesis.audio, sample_rate=RATE)
    assert [s.text for s in segments] == spoken(FIRST)
    assert [a.granularity for a in synthesis.alignments] == [granularity] * 2
    for alignment, segment, text in zip(synthesis.alignments, segments, spoken(FIRST), strict=True):
        items = alignment.items
        if granularity == "words":
            assert [i.text for i in items] == text.split()
        else:
            assert alignment.text == text
        assert all(0 <= i.start_time <= i.end_time <= duration for i in items)
        # The alignment is where the decoder hears each word or character (to a hop's 5 ms).
        heard = segment.words if granularity == "words" else segment.chars
        assert [i.text for i in items] == [h.text for h in heard]
        for item, timed in zip(items, heard, strict=True):
            assert item.start_time == pytest.approx(timed.start, abs=0.006)
            assert item.end_time == pytest.approx(timed.end, abs=0.006)
    assert all(m.get("session_id") for m in synthesis.messages)


@pytest.mark.parametrize("granularity", ["words", "chars"])
async def test_alignment_passes_the_server_suites_judge(granularity: str) -> None:
    # The judge of the tts.server case TTS-S-2 (which the reference run can only exercise
    # through a scenario) holds the simulator's alignment, gap between utterances included.
    reply = {"alignment": granularity}
    async with SimulatorServer(scenario(reply)) as sim, aiohttp.ClientSession() as http:
        client = await Client.open(sim, http)
        synthesis = await client.synthesize(FIRST)
        await client.ws.close()

    duration = len(synthesis.audio) / 2 / RATE
    assert [m["type"] for m in synthesis.messages].count("output_alignment") == 2
    sent = [f"{sentence} " for sentence in FIRST]
    assert tts_alignment_problem(synthesis.messages, sent, duration) is None


_WORDS = [
    {"word": "Hello", "start": 0.1, "end": 0.4},
    {"word": "there!", "start": 0.4, "end": 0.8},
]


@pytest.mark.parametrize(
    ("alignments", "problem"),
    [
        ([{"words": [{**_WORDS[0], "end": 0.05}]}], "malformed"),
        ([{"words": _WORDS, "chars": []}], "malformed"),
        ([{"words": _WORDS[::-1]}], "goes back"),
        ([{"words": [_WORDS[0], {**_WORDS[1], "end": 1.5}]}], "after the audio"),
        ([{"words": [_WORDS[0], {**_WORDS[1], "word": "where"}]}], "not those sent"),
        ([{"words": _WORDS[:1]}, {"chars": [{"char": "t", "start": 0.5, "end": 0.6}]}], "mixes"),
        (
            [
                {
                    "chars": [
                        {"char": c, "start": 0.1 * i, "end": 0.1 * i} for i, c in enumerate("Helo")
                    ]
                }
            ],
            "not those sent",
        ),
    ],
)
def test_the_alignment_judge_refuses_what_tts_s_2_forbids(
    alignments: list[dict[str, Any]], problem: str
) -> None:
    messages = [{"type": "output_alignment", **a, "session_id": "s"} for a in alignments]
    found = tts_alignment_problem(messages, ["Hello there! "], 1.0)
    assert found is not None and problem in found
    # The same judge takes the well-formed alignment of the same text.
    good = [{"type": "output_alignment", "words": _WORDS, "session_id": "s"}]
    assert tts_alignment_problem(good, ["Hello there! "], 1.0) is None


async def test_the_reply_paces_the_audio_on_the_time_scale() -> None:
    reply = {"chunk_duration": 0.02, "ttfb": 0.5, "real_time_factor": 1.0}
    async with (
        SimulatorServer(scenario(reply).model_copy(update={"time_scale": 0.01})) as sim,
        aiohttp.ClientSession() as http,
    ):
        client = await Client.open(sim, http, rate=16000)
        synthesis = await client.synthesize(["paced"])
        await client.ws.close()
        notes = [e for e in sim.journal.entries() if e["kind"] == "ttfb"]
    assert decoded(synthesis.audio, 16000) == ["paced"]
    chunks = [m for m in synthesis.messages if m["type"] == "output_audio"]
    assert len(base64.b64decode(chunks[0]["audio"])) == 2 * 320
    assert [n["data"]["seconds"] for n in notes] == [pytest.approx(0.005)]


async def test_expected_voice_and_model_are_checked() -> None:
    reply = {"expect_voice": VOICE, "expect_model": MODEL}
    async with SimulatorServer(scenario(reply)) as sim, aiohttp.ClientSession() as http:
        good = await Client.open(sim, http, voice=VOICE, model=MODEL)
        assert decoded((await good.synthesize(["fine"])).audio) == ["fine"]
        await good.ws.close()
        bad = await Client.open(sim, http, voice=VOICE, model=MODEL)
        synthesis = await bad.synthesize(["wrong"], voice="someone-else")
        await bad.ws.close()
    failure = synthesis.failure
    assert failure is not None and failure.kind is FailureKind.SERVER_ERROR
    assert "someone-else" in failure.message and VOICE in failure.message


# -- faults ------------------------------------------------------------------------------------


async def run_faulted(
    reply: dict[str, Any] | None = None,
    faults: Sequence[dict[str, Any]] = (),
    rate: int = RATE,
    strict: bool = True,
) -> tuple[Client, Synthesis, Synthesis | None, list[dict[str, Any]]]:
    """One connection, two syntheses (the second only if the first left it usable)."""
    async with (
        SimulatorServer(scenario(reply, faults=list(faults))) as sim,
        aiohttp.ClientSession() as http,
    ):
        client = await Client.open(sim, http, rate=rate, strict=strict)
        first = await client.synthesize(["one two"])
        second = None
        if client.connection.state is TTSConnectionState.IDLE:
            second = await client.synthesize(["three"])
        await client.ws.close()
        return client, first, second, out_frames(sim)


async def test_session_id_on_no_message() -> None:
    # A lenient client takes the audio (upstream crashes on it, wire capture §4).
    client, first, second, _ = await run_faulted({"session_id": "none"}, strict=False)
    assert second is not None
    messages = client.created + first.messages + second.messages
    assert all("session_id" not in m for m in messages)
    assert decoded(first.audio) == ["one two"]


async def test_session_id_on_session_created_only() -> None:
    client, first, second, _ = await run_faulted({"session_id": "created_only"}, strict=False)
    assert second is not None
    assert [m["session_id"] for m in client.created] == [client.created[0]["session_id"]]
    assert all("session_id" not in m for m in first.messages + second.messages)


async def test_an_error_event_fails_the_synthesis() -> None:
    # Events: 0 session.created, 1.. the audio chunks.
    fault = {"kind": "error_event", "at_event": 2, "message": "overloaded", "code": 503}
    _, first, _, _ = await run_faulted(faults=[fault])
    failure = first.failure
    assert failure is not None and failure.kind is FailureKind.SERVER_ERROR
    assert "overloaded" in failure.message


async def test_a_close_mid_synthesis_carries_its_code() -> None:
    _, first, second, frames = await run_faulted(faults=[{"kind": "ws_close", "at_event": 2}])
    assert second is None
    assert first.close_code == 1011
    failure = first.failure
    assert failure is not None and failure.kind is FailureKind.CLOSED
    assert failure.status_code == 1011
    # session.created and two chunks went out, then the close.
    assert len([f for f in frames if f.get("type") == "output_audio"]) == 2


async def test_a_stall_delays_but_keeps_the_audio() -> None:
    fault = {"kind": "stall", "at_event": 1, "seconds": 0.01}
    _, first, second, _ = await run_faulted(faults=[fault])
    assert decoded(first.audio) == ["one two"]
    assert second is not None and decoded(second.audio) == ["three"]


async def test_drop_duplicate_and_reorder_act_on_audio_chunks() -> None:
    _, clean, _, _ = await run_faulted()
    chunk = 2 * RATE // 10
    for kind in ("drop", "duplicate", "reorder"):
        _, first, second, frames = await run_faulted(faults=[{"kind": kind, "at_event": 2}])
        audio = first.audio
        assert second is not None and decoded(second.audio) == ["three"], kind
        if kind == "drop":
            assert audio == clean.audio[:chunk] + clean.audio[2 * chunk :]
        elif kind == "duplicate":
            assert audio == clean.audio[: 2 * chunk] + clean.audio[chunk:]
        else:
            assert audio == (
                clean.audio[:chunk]
                + clean.audio[2 * chunk : 3 * chunk]
                + clean.audio[chunk : 2 * chunk]
                + clean.audio[3 * chunk :]
            )
        events = [f["event"] for f in frames if f.get("type") == "output_audio"]
        assert events.count(2) == {"drop": 0, "duplicate": 2, "reorder": 1}[kind]


async def test_a_malformed_frame_is_the_tts_protocols_own() -> None:
    async with (
        SimulatorServer(scenario(faults=[{"kind": "malformed", "at_event": 1}])) as sim,
        aiohttp.ClientSession() as http,
    ):
        client = await Client.open(sim, http)
        client.connection.start_synthesis()
        await client.ws.send_str(client.connection.push_text("x"))
        assert (await client.ws.receive_json(timeout=5.0))["type"] == "session.created"
        assert (await client.ws.receive_str(timeout=5.0)) == MALFORMED_TTS_FRAME
        await client.ws.close()


async def test_a_wrong_sample_rate_is_heard_at_that_rate() -> None:
    _, first, _, _ = await run_faulted({"sample_rate": 16000})
    # The client asked for 24 kHz and got 16 kHz audio: it decodes only at 16 kHz.
    assert decoded(first.audio, 16000) == ["one two"]
    assert decoded(first.audio, RATE) != ["one two"]


async def test_a_strict_client_refuses_audio_without_session_id() -> None:
    async with (
        SimulatorServer(scenario({"session_id": "created_only"})) as sim,
        aiohttp.ClientSession() as http,
    ):
        client = await Client.open(sim, http)
        with pytest.raises(RemoteProtocolError) as info:
            await client.synthesize(["one"])
        await client.ws.close()
    assert info.value.rule == "TTS-S-1"


# -- server rules ------------------------------------------------------------------------------


async def test_bad_and_out_of_order_messages_get_an_error_and_the_socket_stays_usable() -> None:
    async with SimulatorServer() as sim, aiohttp.ClientSession() as http:
        ws = await http.ws_connect(f"{sim.base_url}/tts?model={MODEL}", headers=bearer(sim))
        for bad in (
            "not json",
            "[1]",
            '{"type": "no.such.type"}',
            '{"type": "session.flush"}',  # before session.create
            '{"type": "session.create", "sample_rate": 24000, "encoding": "pcm_s16le", '
            '"extra": {}}',  # a number, not a string
        ):
            await ws.send_str(bad)
            error = await ws.receive_json(timeout=5.0)
            assert error["type"] == "error" and error["code"] == 400, (bad, error)
        client = Client(ws)
        await ws.send_str(client.connection.create())
        await ws.send_str(client.connection.create_message.model_dump_json())  # a second one
        assert (await ws.receive_json(timeout=5.0))["type"] == "session.created"
        error = await ws.receive_json(timeout=5.0)
        assert error["type"] == "error" and "TTS-C-1" in error["message"]
        assert decoded((await client.synthesize(["still here"])).audio) == ["still here"]
        await ws.close()
        refused = [
            e["data"]
            for e in sim.journal.entries()
            if e.get("direction") == "in" and isinstance(e["data"], dict) and "refused" in e["data"]
        ]
    assert len(refused) == 6


async def test_an_unspeakable_transcript_gets_an_error_and_the_synthesis_goes_on() -> None:
    async with SimulatorServer() as sim, aiohttp.ClientSession() as http:
        client = await Client.open(sim, http)
        client.connection.start_synthesis()
        ws = client.ws
        assert (await ws.receive_json(timeout=5.0))["type"] == "session.created"
        for text in ("a" * (MAX_TRANSCRIPT_BYTES + 1), "lone \ud800"):
            await ws.send_str(client.connection.push_text(text))
            error = await ws.receive_json(timeout=5.0)
            assert error["type"] == "error" and error["code"] == 400
            assert "TTS-C-2" in error["message"]
        await ws.send_str(client.connection.push_text("ok"))
        await ws.send_str(client.connection.flush())
        synthesis = await client.read()
        await ws.close()
    assert decoded(synthesis.audio) == ["ok"]


async def test_a_binary_frame_is_closed_with_1003() -> None:
    async with SimulatorServer() as sim, aiohttp.ClientSession() as http:
        client = await Client.open(sim, http)
        assert (await client.ws.receive_json(timeout=5.0))["type"] == "session.created"
        await client.ws.send_bytes(b"\x00\x01")
        assert (await client.ws.receive(timeout=5.0)).type is aiohttp.WSMsgType.CLOSE
        assert client.ws.close_code == CLOSE_UNSUPPORTED_DATA
        await client.ws.close()


async def test_an_idle_connection_is_closed_and_an_oversized_message_with_1009() -> None:
    limits = Limits(idle_timeout=0.2, max_body_bytes=4096)
    async with SimulatorServer(limits=limits) as sim, aiohttp.ClientSession() as http:
        idle = await Client.open(sim, http)
        big = await Client.open(sim, http)
        assert (await big.ws.receive_json(timeout=5.0))["type"] == "session.created"
        big.connection.start_synthesis()
        await big.ws.send_str(big.connection.push_text("x" * 8192))
        assert (await big.ws.receive(timeout=5.0)).type is aiohttp.WSMsgType.CLOSE
        assert big.ws.close_code == 1009
        assert (await idle.ws.receive_json(timeout=5.0))["type"] == "session.created"
        assert (await idle.ws.receive(timeout=5.0)).type is aiohttp.WSMsgType.CLOSE
        assert idle.ws.close_code == CLOSE_IDLE
        await idle.ws.close()
        await big.ws.close()
        assert any(e["kind"] == "idle" for e in sim.journal.entries())


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-jwt"])
async def test_a_bad_token_is_refused_with_401_json_before_the_upgrade(
    authorization: str | None,
) -> None:
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode(),
    }
    if authorization is not None:
        headers["Authorization"] = authorization
    async with SimulatorServer() as sim, aiohttp.ClientSession() as http:
        for path in ("/tts", "/v1/tts"):
            async with http.get(f"{sim.base_url}{path}?model={MODEL}", headers=headers) as r:
                assert r.status == 401
                body = await r.json()
            assert body["error"]["code"] == 401


async def test_a_plain_get_is_refused_with_400_json() -> None:
    async with (
        SimulatorServer() as sim,
        aiohttp.ClientSession() as http,
        http.get(f"{sim.base_url}/v1/tts", headers=bearer(sim)) as r,
    ):
        assert r.status == 400
        assert "WebSocket" in (await r.json())["error"]["message"]


async def test_the_journal_summarises_audio() -> None:
    async with SimulatorServer() as sim, aiohttp.ClientSession() as http:
        client = await Client.open(sim, http)
        synthesis = await client.synthesize(["journal"])
        await client.ws.close()
        frames = out_frames(sim)
    audio = [f for f in frames if f.get("type") == "output_audio"]
    assert audio and all("audio" not in f and f["session_id"] for f in audio)
    assert sum(f["samples"] for f in audio) == len(synthesis.audio) // 2


# -- upstream ----------------------------------------------------------------------------------


async def test_upstream_synthesises_two_streams_on_one_pooled_socket() -> None:
    pytest.importorskip("livekit.agents")
    from livekit.agents import APIConnectOptions as UpstreamOptions
    from livekit.agents import inference

    async with SimulatorServer() as sim, aiohttp.ClientSession() as http:
        tts = inference.TTS(
            model=MODEL,
            voice=VOICE,
            base_url=sim.base_url,
            api_key=sim.api_key,
            api_secret=sim.api_secret,
            http_session=http,
        )
        results = []
        for text in ("Hello there!", "Second stream."):
            stream = tts.stream(conn_options=UpstreamOptions(max_retry=0, timeout=5.0))
            stream.push_text(text)
            stream.end_input()

            async def collect(s: Any = stream) -> list[Any]:
                return [event async for event in s]

            results.append(await asyncio.wait_for(collect(), 10.0))
            await stream.aclose()
        await tts.aclose()
        journal = sim.journal.entries()

    upgrades = [e for e in journal if e["kind"] == "http_response"]
    assert len(upgrades) == 1  # one pooled socket
    created = [f for f in out_frames_of(journal) if f.get("type") == "session.created"]
    assert len(created) == 1
    session_id = created[0]["session_id"]
    for events, text in zip(results, ("Hello there!", "Second stream."), strict=True):
        assert events and {e.segment_id for e in events} == {session_id}
        assert [e.is_final for e in events].count(True) == 1
        audio = b"".join(bytes(e.frame.data) for e in events)
        assert decoded(audio) == [text]
        assert AudioFrame.from_bytes(audio, sample_rate=RATE).duration >= tone_duration(text)


def out_frames_of(journal: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The connection's out messages: JSON frames as sent, audio as its summary."""
    return [
        json.loads(e["data"]) if isinstance(e["data"], str) else e["data"]
        for e in journal
        if e["type"] == "wire.frame" and e.get("direction") == "out" and e["kind"] == "ws_message"
    ]
