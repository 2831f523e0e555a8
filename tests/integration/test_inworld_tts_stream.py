"""The reference Inworld TTS over WebSocket (``reference/inworld/tts_stream.py``) against the
Inworld simulator's ``/tts/v1/voice:streamBidirectional`` on a real loopback port.

The audio is the tone code of the text: tests decode it back. What the client sent is read
from the simulator's journal. Nothing sleeps to wait: tests await the streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from voicewire.reference.errors import (
    APIConnectionError,
    APIConnectOptions,
    APIError,
    APIStatusError,
    APITimeoutError,
)
from voicewire.reference.inworld.tts import InworldTTS
from voicewire.reference.inworld.tts_stream import InworldStreamPool, InworldSynthesizeStream
from voicewire.reference.inworld.wire.contexts import create_context_config
from voicewire.reference.inworld.wire.urls import stream_url
from voicewire.reference.tone_code import decode_tone
from voicewire.reference.tts.wire import SynthesizedAudio
from voicewire.simulators import Scenario, SimulatorServer, parse_scenario
from voicewire.simulators.core.credentials import DEFAULT_BASIC_KEY
from voicewire.simulators.core.limits import Limits

RATE = 16000
OPTIONS = APIConnectOptions(max_retry=0, timeout=2.0)
FIRST = "Hello from the Inworld websocket. This is the second sentence."
SECOND = "A second stream shares the socket."


def scenario(reply: dict[str, Any] | None = None, **rule: Any) -> Scenario:
    return parse_scenario(
        {
            "name": "inworld-contexts",
            "rules": [{"match": {"endpoint": "inworld.contexts"}, "reply": reply or {}, **rule}],
        }
    )


@pytest.fixture
async def pools() -> AsyncIterator[Callable[..., InworldStreamPool]]:
    made: list[InworldStreamPool] = []

    def make(
        sim: SimulatorServer, *, key: str = DEFAULT_BASIC_KEY, **kwargs: Any
    ) -> InworldStreamPool:
        def headers() -> dict[str, str]:
            return {
                "Authorization": f"Basic {key}",
                "X-User-Agent": "voicewire-test",
                "X-Request-Id": str(uuid.uuid4()),
            }

        pool = InworldStreamPool(stream_url(sim.base_url + "/"), headers, **kwargs)
        made.append(pool)
        return pool

    yield make
    for pool in made:
        await pool.aclose()


def stream(
    pool: InworldStreamPool,
    *,
    model: str = "inworld-tts-1.5-max",
    options: APIConnectOptions = OPTIONS,
    **config: Any,
) -> InworldSynthesizeStream:
    strategy = "SENTENCE_BOUNDARY" if model.startswith("inworld-tts-2") else "CLIENT_SEGMENTED"
    config.setdefault("sample_rate", RATE)
    return InworldSynthesizeStream(
        pool,
        create_context_config(model=model, auto_mode_strategy=strategy, **config),
        conn_options=options,
        sample_rate=config["sample_rate"],
    )


async def collect(s: InworldSynthesizeStream) -> list[SynthesizedAudio]:
    return [frame async for frame in s]


def decoded(frames: list[SynthesizedAudio], rate: int = RATE) -> list[str | None]:
    audio = b"".join(f.frame.to_bytes() for f in frames)
    return [segment.text for segment in decode_tone(audio, sample_rate=rate)]


def client_frames(sim: SimulatorServer) -> list[dict[str, Any]]:
    return [
        e["data"]
        for e in sim.journal.entries()
        if e["kind"] == "ws_message" and e["direction"] == "in" and "refused" not in e["data"]
    ]


def speak(s: InworldSynthesizeStream, *texts: str) -> None:
    for text in texts:
        s.push_text(text)
    s.end_input()


async def test_two_streams_share_one_socket(start_simulator, pools):
    sim = await start_simulator()
    pool = pools(sim)
    first, second = stream(pool, timestamp_type="WORD"), stream(pool, timestamp_type="WORD")
    speak(first, FIRST)
    speak(second, SECOND)
    frames_1, frames_2 = await asyncio.gather(collect(first), collect(second))

    assert pool.connects == 1
    for s, frames, text in ((first, frames_1, FIRST), (second, frames_2, SECOND)):
        assert len(s.context_id) == 12 and int(s.context_id, 16) >= 0
        assert {f.segment_id for f in frames} == {s.context_id}
        assert [f.is_final for f in frames].count(True) == 1 and frames[-1].is_final
        assert " ".join(decoded(frames)) == text  # type: ignore[arg-type]
        assert [t.text for t in s.timed_transcripts] == text.split()
    sent = client_frames(sim)
    create = next(f for f in sent if "create" in f and f["contextId"] == first.context_id)
    assert list(create) == ["create", "contextId"]
    assert create["create"]["autoMode"] is True and create["create"]["bufferCharThreshold"] == 250
    assert (
        create["create"]["temperature"] == 1.0
        and "temperature" not in create["create"]["audioConfig"]
    )
    mine = [f for f in sent if f["contextId"] == first.context_id]
    # 1.5-max: one send_text per sentence, leading space kept; then flush and close.
    assert [next(iter(f)) for f in mine] == [
        "create",
        "send_text",
        "send_text",
        "flush_context",
        "close_context",
    ]
    assert [f["send_text"]["text"] for f in mine if "send_text" in f] == [
        "Hello from the Inworld websocket.",
        " This is the second sentence.",
    ]


async def test_a_sixth_stream_opens_another_socket(start_simulator, pools):
    sim = await start_simulator()
    pool = pools(sim)
    streams = [stream(pool) for _ in range(6)]
    for n, s in enumerate(streams):
        speak(s, f"Stream number {n} speaks.")
    results = await asyncio.gather(*(collect(s) for s in streams))
    assert pool.connects == 2
    for n, frames in enumerate(results):
        assert decoded(frames) == [f"Stream number {n} speaks."]


async def test_with_every_socket_full_a_stream_waits_for_a_slot(start_simulator, pools):
    sim = await start_simulator()
    pool = pools(sim, max_connections=1)
    held = [stream(pool) for _ in range(5)]
    for s in held:
        s.push_text("Waiting for the end.")
    waiting = stream(pool)
    speak(waiting, "The sixth one waited.")
    done = asyncio.ensure_future(collect(waiting))
    held[0].end_input()
    assert decoded(await collect(held[0])) == ["Waiting for the end."]
    assert decoded(await done) == ["The sixth one waited."]
    for s in held[1:]:
        s.end_input()
    await asyncio.gather(*(collect(s) for s in held[1:]))
    assert pool.connects == 1
    # The sixth context was created only after the first one closed.
    order = [
        (
            e["direction"],
            e["data"].get("contextId") if isinstance(e["data"], dict) else None,
            e["data"],
        )
        for e in sim.journal.entries()
        if e["kind"] == "ws_message"
    ]
    closed_first = next(
        i
        for i, (d, _, data) in enumerate(order)
        if d == "out"
        and data.get("result", {}).get("contextId") == held[0].context_id
        and "contextClosed" in data["result"]
    )
    created_sixth = next(
        i
        for i, (d, cid, data) in enumerate(order)
        if d == "in" and cid == waiting.context_id and "create" in data
    )
    assert created_sixth > closed_first


async def test_a_failing_status_fails_only_its_stream(start_simulator, pools):
    sim = await start_simulator(scenario({"failed_contexts": [0], "status_message": "no voice"}))
    pool = pools(sim)
    failing, fine = stream(pool), stream(pool)
    failing.push_text("This one fails at its first audio.")
    fine.push_text("This one goes on.")
    failing.end_input()
    with pytest.raises(APIError) as info:
        await collect(failing)
    assert "Inworld error: no voice" in str(info.value)
    fine.end_input()
    assert decoded(await collect(fine)) == ["This one goes on."]
    assert pool.connects == 1


async def test_a_server_close_fails_every_open_stream_and_the_next_reconnects(
    start_simulator, pools
):
    # Event 1 is the second contextCreated: the socket closes with both contexts open.
    sim = await start_simulator(
        scenario(faults=[{"kind": "ws_close", "at_event": 1, "code": 1011, "attempt": 1}])
    )
    pool = pools(sim)
    first, second = stream(pool), stream(pool)
    first.push_text("Never finished.")
    second.push_text("Never finished either.")
    for s in (first, second):
        with pytest.raises(APIConnectionError):
            await collect(s)
    again = stream(pool)
    speak(again, "A new socket.")
    assert decoded(await collect(again)) == ["A new socket."]
    assert pool.connects == 2


async def test_word_timestamps_increase_across_flushes(start_simulator, pools):
    sim = await start_simulator()
    pool = pools(sim)
    s = stream(pool, model="inworld-tts-2", timestamp_type="WORD")
    s.push_text("First generation here.")
    s.flush()
    s.push_text("Second one ")
    s.push_text("follows.")
    s.flush()
    s.end_input()
    frames = await collect(s)
    assert decoded(frames) == ["First generation here.", "Second one follows."]
    words = s.timed_transcripts
    assert [w.text for w in words] == ["First", "generation", "here.", "Second", "one", "follows."]
    starts = [w.start_time for w in words]
    assert starts == sorted(starts) and words[3].start_time >= words[2].end_time
    # tts-2: the text as pushed, one flush_context per flush and one at the end, then the close.
    mine = [next(iter(f)) for f in client_frames(sim) if f["contextId"] == s.context_id]
    assert mine == [
        "create",
        "send_text",
        "flush_context",
        "send_text",
        "send_text",
        "flush_context",
        "flush_context",
        "close_context",
    ]
    create = next(f for f in client_frames(sim) if "create" in f)["create"]
    assert create["autoModeStrategy"] == "SENTENCE_BOUNDARY" and "bufferCharThreshold" not in create


async def test_text_over_1000_characters_is_split(start_simulator, pools):
    sim = await start_simulator()
    pool = pools(sim)
    text = "ab " * 400  # 1200 characters
    s = stream(pool, model="inworld-tts-2", sample_rate=8000)
    speak(s, text)
    frames = await collect(s)
    pieces = [f["send_text"]["text"] for f in client_frames(sim) if "send_text" in f]
    assert [len(p) for p in pieces] == [1000, 200] and "".join(pieces) == text
    assert sum(f.frame.samples_per_channel for f in frames) > 0


async def test_a_withheld_context_closed_times_out_and_cancels(start_simulator, pools):
    sim = await start_simulator(scenario({"unclosed_contexts": [0]}))
    pool = pools(sim)
    s = stream(pool, options=APIConnectOptions(max_retry=0, timeout=0.3))
    speak(s, "Nobody closes me.")
    with pytest.raises(APITimeoutError):
        await collect(s)
    await pool.aclose()
    kinds = [next(iter(f)) for f in client_frames(sim)]
    assert kinds[-1] == "cancel_context"


async def test_tts_stream_puts_its_streams_on_one_pool(start_simulator):
    sim = await start_simulator()
    tts = InworldTTS(
        api_key=DEFAULT_BASIC_KEY,
        ws_url=sim.base_url.replace("http://", "ws://") + "/",
        sample_rate=RATE,
        timestamp_type="WORD",
        language="en-US",
    )
    errors: list[Any] = []
    tts.on("error", errors.append)
    try:
        first, second = tts.stream(conn_options=OPTIONS), tts.stream(conn_options=OPTIONS)
        speak(first, FIRST)
        speak(second, SECOND)
        frames_1, frames_2 = await asyncio.gather(collect(first), collect(second))
    finally:
        await tts.aclose()
    assert " ".join(decoded(frames_1)) == FIRST and decoded(frames_2) == [SECOND]  # type: ignore[arg-type]
    upgrades = [e for e in sim.journal.entries() if e["kind"] == "http_request"]
    assert len(upgrades) == 1
    headers = {k.lower(): v for k, v in upgrades[0]["data"]["headers"].items()}
    # (the journal keeps the scheme, not the key)
    assert headers["authorization"].startswith("Basic ")
    assert {"x-user-agent", "x-request-id"} <= set(headers)
    create = next(f for f in client_frames(sim) if "create" in f)["create"]
    assert (create["language"], create["timestampType"]) == ("en-US", "WORD")
    assert errors == []
    with pytest.raises(APIConnectionError):  # closed: no more streams
        await collect(tts.stream(conn_options=OPTIONS))


async def test_a_wrong_key_is_refused_with_401(start_simulator):
    sim = await start_simulator()
    tts = InworldTTS(api_key="not-a-known-key", ws_url=sim.base_url + "/")
    try:
        s = tts.stream(conn_options=OPTIONS)
        speak(s, "Refused.")
        with pytest.raises(APIStatusError) as info:
            await collect(s)
    finally:
        await tts.aclose()
    assert info.value.status_code == 401
    assert json.loads(info.value.body)["error"]  # type: ignore[arg-type]


# -- the simulator's own answers ---------------------------------------------------------------


async def test_the_simulator_answers_bad_messages_for_their_context(start_simulator):
    sim = await start_simulator()
    headers = {"Authorization": f"Basic {DEFAULT_BASIC_KEY}"}
    async with aiohttp.ClientSession() as http:
        url = sim.base_url + "/v1/tts/v1/voice:streamBidirectional"
        async with http.ws_connect(url, headers=headers) as ws:
            await ws.send_str('{"send_text": {"text": "early"}, "contextId": "abc"}')
            early = await ws.receive_json()
            await ws.send_str("{not json")
            anonymous = await ws.receive_json()
            await ws.send_bytes(b"\x00")
            closing = await ws.receive()
    assert early["result"]["contextId"] == "abc"
    assert (
        early["result"]["status"]["code"] == 5
        and "not found" in early["result"]["status"]["message"]
    )
    assert anonymous["error"]["code"] == 3
    assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 1003


async def test_a_top_level_error_fails_no_stream(start_simulator, pools):
    sim = await start_simulator(
        scenario(faults=[{"kind": "error_event", "at_event": 0, "message": "about nothing"}])
    )
    s = stream(pools(sim))
    speak(s, "Still spoken.")
    assert decoded(await collect(s)) == ["Still spoken."]
    sent = [
        e["data"]
        for e in sim.journal.entries()
        if e["kind"] == "ws_message" and e["direction"] == "out"
    ]
    assert {"error": {"code": 500, "message": "about nothing"}} in sent


async def test_unequal_timestamp_arrays_are_paired_to_the_shortest(start_simulator, pools):
    sim = await start_simulator(scenario({"unequal_timestamps": True}))
    s = stream(pools(sim), timestamp_type="WORD")
    speak(s, "Three words here.")
    assert decoded(await collect(s)) == ["Three words here."]
    assert [w.text for w in s.timed_transcripts] == ["Three", "words"]


async def test_an_idle_socket_is_closed_after_300_s_on_the_pools_clock(start_simulator, pools):
    sim = await start_simulator()
    now = [1000.0]
    pool = pools(sim, clock=lambda: now[0])
    first = stream(pool)
    speak(first, "Before the pause.")
    await collect(first)
    now[0] += 300.0  # not more than the limit: the socket is reused
    second = stream(pool)
    speak(second, "Still the same socket.")
    await collect(second)
    assert pool.connects == 1
    now[0] += 300.5
    third = stream(pool)
    speak(third, "A fresh socket.")
    assert decoded(await collect(third)) == ["A fresh socket."]
    assert (pool.connects, pool.size) == (2, 1)


async def test_a_failure_before_audio_is_retried_on_a_new_context(start_simulator, pools):
    sim = await start_simulator(scenario({"failed_contexts": [0]}))
    s = stream(pools(sim), options=APIConnectOptions(max_retry=1, retry_interval=0.0, timeout=2.0))
    speak(s, "Second time lucky.")
    frames = await collect(s)
    assert decoded(frames) == ["Second time lucky."]
    assert s.attempts == 2 and len(set(s.context_ids)) == 2
    assert {f.segment_id for f in frames} == {s.context_ids[1]}


async def test_the_guides_example_plays_as_it_says(start_simulator, pools):
    guide = (Path(__file__).resolve().parents[2] / "docs" / "scenarios.md").read_text("utf-8")
    [text] = re.findall(r"^<!-- inworld-contexts -->\n```yaml\n(.*?)^```$", guide, re.M | re.S)
    sim = await start_simulator(parse_scenario(yaml.safe_load(text)))
    pool = pools(sim)
    first = stream(pool)
    speak(first, "The first context.")
    assert decoded(await collect(first)) == ["The first context."]
    second = stream(pool)
    speak(second, "The second context.")
    with pytest.raises(APIError, match="Inworld error: simulated failure"):
        await collect(second)
    third = stream(pool, options=APIConnectOptions(max_retry=0, timeout=0.2))
    speak(third, "The third context.")
    with pytest.raises(APITimeoutError, match="Context not found"):
        await collect(third)
    assert pool.connects == 1


async def test_closing_a_stream_cancels_its_context(start_simulator, pools):
    sim = await start_simulator()
    pool = pools(sim)
    s = stream(pool)
    s.push_text("The first sentence is long enough. The second is still coming")
    first = await s.__anext__()  # the first sentence is being spoken: the context is open
    assert first.segment_id == s.context_id
    await s.aclose()
    await pool.aclose()
    mine = [next(iter(f)) for f in client_frames(sim) if f["contextId"] == s.context_id]
    assert mine == ["create", "send_text", "cancel_context"]


async def test_the_simulator_refuses_a_sixth_context_for_that_context_only(start_simulator):
    sim = await start_simulator()
    config = create_context_config(sample_rate=RATE).model_dump(exclude_none=True)
    headers = {"Authorization": f"Basic {DEFAULT_BASIC_KEY}"}
    async with aiohttp.ClientSession() as http:
        url = sim.base_url + "/tts/v1/voice:streamBidirectional"
        async with http.ws_connect(url, headers=headers) as ws:
            replies = []
            for n in range(6):
                await ws.send_json({"create": config, "contextId": f"c{n}"})
                replies.append((await ws.receive_json())["result"])
            await ws.send_json({"send_text": {"text": "Still here."}, "contextId": "c0"})
            await ws.send_json({"close_context": {}, "contextId": "c0"})
            kinds = []
            while not kinds or kinds[-1] != "contextClosed":
                result = (await ws.receive_json())["result"]
                assert result["contextId"] == "c0"
                kinds.append(next(k for k in result if k not in ("contextId", "status")))
    assert all("contextCreated" in r for r in replies[:5])
    assert replies[5]["contextId"] == "c5" and replies[5]["status"]["code"] == 8
    assert "contextCreated" not in replies[5]
    assert kinds[0] == "audioChunk" and kinds[-2:] == ["audioChunk", "contextClosed"]


async def test_a_malformed_reply_names_the_context_it_replaces(start_simulator, pools):
    # event 0 is the context's contextCreated, event 1 its first audio: replaced by a reply of
    # the wrong type that names the context (the scenario cannot spell the client's id).
    line = '{"result": {"contextId": "{contextId}", "audioChunk": {"audioContent": 42}}}'
    sim = await start_simulator(
        scenario(faults=[{"kind": "malformed", "at_event": 1, "line": line}])
    )
    s = stream(pools(sim))
    speak(s, "Never heard.")
    with pytest.raises(APIConnectionError):
        await collect(s)
    sent = [
        e["data"]
        for e in sim.journal.entries()
        if e["kind"] == "ws_message" and e["direction"] == "out"
    ]
    assert {"result": {"contextId": s.context_id, "audioChunk": {"audioContent": 42}}} in sent


# -- contexts served side by side ---------------------------------------------------------------

RAW_RATE = 8000
PACED = {"chunk_duration": 0.025, "real_time_factor": 1.0}  # a chunk every 25 ms


@contextlib.asynccontextmanager
async def raw_contexts(sim: SimulatorServer) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """A raw socket to the simulator's TTS WebSocket."""
    url = sim.base_url + "/tts/v1/voice:streamBidirectional"
    headers = {"Authorization": f"Basic {DEFAULT_BASIC_KEY}"}
    async with aiohttp.ClientSession() as http, http.ws_connect(url, headers=headers) as ws:
        yield ws


def create_frame(cid: str) -> dict[str, Any]:
    config = create_context_config(sample_rate=RAW_RATE).model_dump(exclude_none=True)
    return {"create": config, "contextId": cid}


async def replies_until_closed(
    ws: aiohttp.ClientWebSocketResponse, cids: set[str]
) -> list[tuple[str, str]]:
    """``(contextId, kind)`` of every reply until each of ``cids`` got contextClosed."""
    seen: list[tuple[str, str]] = []
    open_ = set(cids)
    while open_:
        result = (await ws.receive_json())["result"]
        kind = next(k for k in result if k not in ("contextId", "status"))
        seen.append((result["contextId"], kind))
        if kind == "contextClosed":
            open_.discard(result["contextId"])
    return seen


def audio_order(sim: SimulatorServer) -> list[str]:
    """The contextId of every audioChunk the simulator sent, in the journal's (wire) order."""
    return [
        e["data"]["contextId"]
        for e in sim.journal.entries()
        if e["kind"] == "ws_message" and e["direction"] == "out" and "audioChunk" in e["data"]
    ]


async def test_two_paced_contexts_interleave_their_audio_on_the_wire(start_simulator):
    sim = await start_simulator(scenario(PACED))
    async with raw_contexts(sim) as ws:
        for cid in ("alpha", "bravo"):
            await ws.send_json(create_frame(cid))
        for cid, text in (("alpha", "Hi"), ("bravo", "Yo")):
            await ws.send_json({"send_text": {"text": text}, "contextId": cid})
            await ws.send_json({"close_context": {}, "contextId": cid})
        seen = await replies_until_closed(ws, {"alpha", "bravo"})
    chunks = -(-round(0.35 * RAW_RATE) // round(0.025 * RAW_RATE))  # each text lasts 0.35 s
    for cid in ("alpha", "bravo"):
        kinds = [kind for c, kind in seen if c == cid]
        assert kinds == ["contextCreated", *["audioChunk"] * chunks, "contextClosed"]
    # Each context paces its own audio: the second's starts before the first's ends, and
    # the chunks alternate on the wire (served one after the other, they would not).
    order = audio_order(sim)
    assert order.index("bravo") < len(order) - 1 - order[::-1].index("alpha")
    switches = sum(1 for a, b in pairwise(order) if a != b)
    assert switches >= chunks // 2, order


async def test_a_cancel_stops_its_contexts_generation_at_once(start_simulator):
    sim = await start_simulator(scenario({"chunk_duration": 0.02, "real_time_factor": 1.0}))
    async with raw_contexts(sim) as ws:
        await ws.send_json(create_frame("long"))
        await ws.send_json({"send_text": {"text": "Alpha is speaking."}, "contextId": "long"})
        await ws.send_json({"flush_context": {}, "contextId": "long"})
        assert "contextCreated" in (await ws.receive_json())["result"]
        assert "audioChunk" in (await ws.receive_json())["result"]
        # Read while the context speaks: the cancel stops it, its flush is never completed.
        await ws.send_json({"cancel_context": {}, "contextId": "long"})
        seen = await replies_until_closed(ws, {"long"})
        # The slot is free at once: a new context is served on the same socket.
        await ws.send_json(create_frame("next"))
        assert (await ws.receive_json())["result"]["contextId"] == "next"
    kinds = [kind for _, kind in seen]
    all_chunks = -(-round(1.47 * RAW_RATE) // round(0.02 * RAW_RATE))  # the text lasts 1.47 s
    assert kinds[-1] == "contextClosed" and "flushCompleted" not in kinds
    assert kinds.count("audioChunk") < all_chunks - 1


async def test_the_idle_limit_waits_for_a_context_still_speaking(start_simulator):
    # The context's audio takes 0.35 s to send, longer than the 0.1 s idle limit: the socket
    # is not idle while it goes out, and is closed once it has been silent 0.1 s.
    sim = await start_simulator(
        scenario({"chunk_duration": 0.025, "real_time_factor": 1.0}),
        limits=Limits(idle_timeout=0.1),
    )
    async with raw_contexts(sim) as ws:
        await ws.send_json(create_frame("slow"))
        await ws.send_json({"send_text": {"text": "Hi"}, "contextId": "slow"})
        await ws.send_json({"close_context": {}, "contextId": "slow"})
        seen = await replies_until_closed(ws, {"slow"})
        closing = await ws.receive()
    assert [kind for _, kind in seen].count("audioChunk") == 14  # 0.35 s in 25 ms chunks
    assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 1008


async def test_a_socket_closed_mid_generation_leaves_no_context_task(start_simulator):
    # Both contexts wait 30 s before their first audio: only a cancel ends their tasks.
    sim = await start_simulator(scenario({"ttfb": 30.0}))
    async with raw_contexts(sim) as ws:
        for cid in ("one", "two"):
            await ws.send_json(create_frame(cid))
            await ws.send_json({"send_text": {"text": "Never spoken."}, "contextId": cid})
        for _ in range(2):
            assert "contextCreated" in (await ws.receive_json())["result"]
    await sim.stop()  # waits for the connection's handler to end
    left = [t for t in asyncio.all_tasks() if t.get_name().startswith("inworld-context-")]
    assert not left
    entries = sim.journal.entries()
    closed = next(i for i, e in enumerate(entries) if e["kind"] == "ws_close")
    assert not [e for e in entries[closed:] if e["kind"] == "ws_message"]
