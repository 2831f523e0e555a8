"""Interop: upstream ``livekit.agents.inference.TTS`` (livekit-agents 1.8.9) against the TTS
simulator, for the sessions of research/wire-capture.md §4 and the crash of §9.1.

The captured session: two streams, one after the other, on one TTS object, for
``cartesia/sonic-3`` with a voice id and ``inworld/inworld-tts-1.5-max`` with the voice
``Ashley``; both share one pooled socket, which carries one ``session.create``; each stream
sends its sentences as ``input_transcript`` messages and one ``session.flush``. Then
``synthesize()``, and the two ``session_id`` faults of the capture: a server that never sends
a ``session_id`` (upstream's first stream crashes) and one that sends it on
``session.created`` only (the second stream on the pooled socket crashes), each with a plain
``RuntimeError``, no ``error`` event and no retry. Two places where upstream emits 10 ms of
silence the server never sent as its final frame are pinned too: every ``synthesize()``, and a
stream whose ``done`` comes late. Each test checks exactly what upstream emitted and what it
put on the wire.

Frame sizes: upstream re-frames the audio itself (``AudioEmitter``: progressive frames from
20 ms doubling to 200 ms, a 10 ms tail held back to mark the last one final) and releases
held audio early on a timer when the estimated playout runs out, so how many frames a
synthesis gets depends on how late the chunks come. The tests check what does not depend on
it: no frame over 200 ms, no fewer frames than the progressive framing makes, the last frame
the 10 ms tail and the only final one, and the concatenation equal to the server's audio.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from voicewire.simulators import SimulatorServer, parse_scenario
from voicewire.suites.tts.wire_log import audio_problem

pytest.importorskip("livekit.agents")

from livekit.agents import APIConnectOptions, APIError, inference

RATE = 24000
CARTESIA = ("cartesia/sonic-3", "a167e0f3-df7e-4d52-a9c3-f949145efdab")
INWORLD = ("inworld/inworld-tts-1.5-max", "Ashley")
# The capture's two streams: the first's two short sentences went out as one transcript.
FIRST = "Hello there! This is a streaming speech test."
SECOND = "Second stream."

MAX_FRAME = RATE // 5  # upstream's 200 ms frames
TAIL = RATE // 100  # the 10 ms upstream holds back to mark the last frame final

# Waits on upstream's own answers; generous, since nothing here should come near them.
ANSWER_TIMEOUT = 10.0


@dataclass
class _Synthesis:
    """What one upstream synthesis emitted, and how it ended."""

    events: list[Any] = field(default_factory=list)
    error: BaseException | None = None

    @property
    def audio(self) -> bytes:
        return b"".join(event.frame.data.tobytes() for event in self.events)

    @property
    def sizes(self) -> list[int]:
        return [event.frame.samples_per_channel for event in self.events]


@dataclass
class _Run:
    """Upstream's syntheses on one TTS object against one simulator, and the journal."""

    syntheses: list[_Synthesis]
    errors_emitted: list[Any]
    journal: list[dict[str, Any]]

    def frames(self, direction: str) -> list[dict[str, Any]]:
        """The WebSocket messages one way, decoded (audio as the journal's summary)."""
        return [
            json.loads(e["data"]) if isinstance(e["data"], str) else e["data"]
            for e in self.journal
            if e["kind"] == "ws_message" and e.get("direction") == direction
        ]

    def sent(self) -> list[dict[str, Any]]:
        """What upstream sent."""
        return self.frames("in")

    def received(self) -> list[dict[str, Any]]:
        """What the simulator sent upstream."""
        return self.frames("out")

    def audio_chunks(self) -> list[list[dict[str, Any]]]:
        """The server's ``output_audio`` summaries, one list per synthesis (cut at ``done``)."""
        chunks: list[list[dict[str, Any]]] = [[]]
        for message in self.received():
            if message.get("type") == "output_audio":
                chunks[-1].append(message)
            elif message.get("type") == "done":
                chunks.append([])
        return chunks[:-1]

    def upgrades(self) -> int:
        return sum(1 for e in self.journal if e["kind"] == "http_response")

    def closes(self) -> list[tuple[str, int]]:
        return [
            (e["direction"], e["data"]["code"]) for e in self.journal if e["kind"] == "ws_close"
        ]


def _scenario(reply: dict[str, Any], faults: list[dict[str, Any]] | None = None) -> Any:
    rule = {"match": {"endpoint": "tts"}, "reply": reply, "faults": faults or []}
    return parse_scenario({"name": "tts-interop", "rules": [rule]})


async def _collect(stream: Any) -> _Synthesis:
    synthesis = _Synthesis()

    async def read() -> None:
        async for event in stream:
            synthesis.events.append(event)

    try:
        await asyncio.wait_for(read(), ANSWER_TIMEOUT)
    except Exception as exc:  # what upstream raised is what the test checks
        synthesis.error = exc
    await stream.aclose()
    return synthesis


async def _run(
    texts: list[str],
    *,
    model: tuple[str, str] = CARTESIA,
    reply: dict[str, Any] | None = None,
    faults: list[dict[str, Any]] | None = None,
    chunked: bool = False,
    max_retry: int = 0,
) -> _Run:
    """One upstream TTS against one simulator: a stream per text (``push_text``, then
    ``end_input``), or ``synthesize(text)`` per text when ``chunked``, one after another, each
    read to its end; then the TTS is closed."""
    options = APIConnectOptions(max_retry=max_retry, retry_interval=0.0, timeout=5.0)
    syntheses = []
    errors: list[Any] = []
    scenario = _scenario(reply or {}, faults)
    async with SimulatorServer(scenario) as sim, aiohttp.ClientSession() as http:
        tts = inference.TTS(
            model=model[0],
            voice=model[1],
            base_url=sim.base_url,
            api_key=sim.api_key,
            api_secret=sim.api_secret,
            http_session=http,
        )
        tts.on("error", errors.append)
        for text in texts:
            if chunked:
                stream = tts.synthesize(text, conn_options=options)
            else:
                stream = tts.stream(conn_options=options)
                stream.push_text(text)
                stream.end_input()
            syntheses.append(await _collect(stream))
        await tts.aclose()
        journal = sim.journal.entries()
    return _Run(syntheses, errors, journal)


def _progressive_frames(samples: int) -> int:
    """How many frames upstream's framing makes of ``samples`` arriving with no pause: the
    progressive 20, 40, 80, 160 ms then 200 ms frames, the partial rest at the end, and the
    10 ms tail of the last one split off as the final frame."""
    frames, size, left = 0, RATE // 50, samples
    while left >= size:
        frames, left, size = frames + 1, left - size, min(2 * size, MAX_FRAME)
    return frames + (1 if left else 0) + 1


def _check_frames(synthesis: _Synthesis, chunks: list[dict[str, Any]], session_id: str) -> None:
    """TTS-OUT-1 as upstream meets it: 24 kHz mono frames, none over 200 ms, the last the
    10 ms tail and the only final one, every segment id the server's session_id, one
    request id, and the concatenation exactly the server's audio."""
    events = synthesis.events
    assert synthesis.error is None, synthesis.error
    assert {(e.frame.sample_rate, e.frame.num_channels) for e in events} == {(RATE, 1)}
    assert max(synthesis.sizes) <= MAX_FRAME
    assert [e.is_final for e in events] == [False] * (len(events) - 1) + [True]
    assert synthesis.sizes[-1] == TAIL
    assert len(events) >= _progressive_frames(sum(c["samples"] for c in chunks))
    assert {e.segment_id for e in events} == {session_id}
    assert len({e.request_id for e in events}) == 1
    assert audio_problem(synthesis.audio, chunks) is None


@pytest.mark.parametrize("model", [CARTESIA, INWORLD], ids=["cartesia", "inworld"])
async def test_the_captured_session_two_streams_on_one_socket(model: tuple[str, str]) -> None:
    run = await _run([FIRST, SECOND], model=model)
    assert run.errors_emitted == []
    # One pooled socket, one session.create with exactly the captured keys, then per stream
    # its sentences (the capture's two short ones merged) and one session.flush; no close
    # message: the pool closes the socket (1000) when the TTS closes.
    assert run.upgrades() == 1
    config = {"voice": model[1], "model": model[0]}
    assert run.sent() == [
        {
            "type": "session.create",
            "sample_rate": "24000",
            "encoding": "pcm_s16le",
            "extra": {},
            **config,
            "connection": {"timeout": 10.0, "retries": 3},
        },
        {"type": "input_transcript", "transcript": FIRST + " ", "generation_config": config,
         "extra": {}},
        {"type": "session.flush"},
        {"type": "input_transcript", "transcript": SECOND + " ", "generation_config": config,
         "extra": {}},
        {"type": "session.flush"},
    ]  # fmt: skip
    assert run.closes() == [("in", 1000)]
    created = [m for m in run.received() if m.get("type") == "session.created"]
    assert len(created) == 1
    session_id = created[0]["session_id"]
    first, second = run.syntheses
    chunks = run.audio_chunks()
    assert len(chunks) == 2
    _check_frames(first, chunks[0], session_id)
    _check_frames(second, chunks[1], session_id)
    # Each stream is its own request on the shared socket.
    assert first.events[0].request_id != second.events[0].request_id


async def test_synthesize_goes_through_the_stream_path_with_an_empty_segment_id() -> None:
    run = await _run([FIRST], chunked=True)
    (synthesis,) = run.syntheses
    assert synthesis.error is None
    sent = run.sent()
    assert [m["type"] for m in sent] == ["session.create", "input_transcript", "session.flush"]
    assert sent[1]["transcript"] == FIRST + " "
    # synthesize() re-frames the stream's frames with an emitter of its own, whose one
    # segment has no id (wire-capture §4): the server's session_id is not passed on.
    assert {e.segment_id for e in synthesis.events} == {""}
    assert [e.is_final for e in synthesis.events] == [False] * (len(synthesis.events) - 1) + [True]
    assert max(synthesis.sizes) <= MAX_FRAME
    # Its last frame is 10 ms of silence the server never sent (TTS-OUT-1): the emitter is
    # flushed after the stream (tts/tts.py:548), which sends the held-back tail as an
    # ordinary frame, and the segment's end then finds nothing held back and emits a
    # silent marker as the final frame (tts/tts.py:1165-1183). Everything before it is
    # exactly the server's audio.
    (chunks,) = run.audio_chunks()
    final = synthesis.events[-1].frame.data.tobytes()
    assert final == b"\0" * 2 * TAIL
    assert audio_problem(synthesis.audio[: -len(final)], chunks) is None


async def test_a_late_done_ends_the_stream_with_10_ms_of_silence() -> None:
    # The one test here that waits on upstream's wall clock (its timer cannot be scaled):
    # "Hi." is five chunks (0.48 s) that arrive at once; upstream's emitter holds the last
    # 10 ms back to mark it final, but a timer releases it as an ordinary frame once the
    # estimated playout of what was emitted runs out (tts/tts.py:1076-1098, 1203-1225). The
    # server's done comes 0.8 s after the audio, past that: the segment's end then finds
    # nothing held back and emits 10 ms of silence as the final frame (tts/tts.py:1165-1183),
    # audio the server never sent (TTS-OUT-1). With done at once (the tests above) the tail
    # itself is the final frame.
    done_event = 6  # session.created is event 0, the five chunks 1-5
    late = {"kind": "delay", "at_event": done_event, "seconds": 0.8}
    run = await _run(["Hi."], faults=[late])
    (synthesis,) = run.syntheses
    (chunks,) = run.audio_chunks()
    assert [c["event"] for c in chunks] == list(range(1, done_event))
    assert synthesis.error is None
    final = synthesis.events[-1]
    assert final.is_final and [e.is_final for e in synthesis.events].count(True) == 1
    assert final.frame.data.tobytes() == b"\0" * 2 * TAIL
    assert audio_problem(synthesis.audio[: -2 * TAIL], chunks) is None


async def test_no_session_id_anywhere_crashes_every_stream_with_a_runtime_error() -> None:
    # wire-capture §9.1: output_audio before any message with a session_id. With a retry
    # allowed, nothing is retried: the error is not an APIError, and no error event is
    # emitted. The socket is not even discarded: the second stream reuses it and crashes too.
    run = await _run([FIRST, SECOND], reply={"session_id": "none"}, max_retry=1)
    for synthesis in run.syntheses:
        assert type(synthesis.error) is RuntimeError
        assert not isinstance(synthesis.error, APIError)
        assert "start_segment() must be called before pushing audio data" in str(synthesis.error)
        assert synthesis.events == []
    assert run.errors_emitted == []
    assert run.upgrades() == 1
    assert [m["type"] for m in run.sent()] == [
        "session.create",
        "input_transcript",
        "session.flush",
        "input_transcript",
        "session.flush",
    ]


async def test_a_session_id_on_session_created_only_crashes_the_second_stream() -> None:
    # The first stream reads session.created and starts its segment with its id; the second,
    # on the same pooled socket, gets no session.created and crashes on its first audio.
    run = await _run([FIRST, SECOND], reply={"session_id": "created_only"}, max_retry=1)
    first, second = run.syntheses
    created = [m for m in run.received() if m.get("type") == "session.created"]
    (chunks, _) = run.audio_chunks()
    _check_frames(first, chunks, created[0]["session_id"])
    assert type(second.error) is RuntimeError
    assert "start_segment() must be called before pushing audio data" in str(second.error)
    assert second.events == []
    assert run.errors_emitted == []
    assert run.upgrades() == 1
