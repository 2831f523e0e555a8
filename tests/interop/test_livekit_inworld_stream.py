"""Interop: upstream ``livekit.plugins.inworld.TTS.stream()`` (livekit-plugins-inworld 1.8.9)
against the Inworld simulator's ``/tts/v1/voice:streamBidirectional``, pointed at it as wire
capture §10 does. Two concurrent streams share one socket with ``inworld-tts-1.5-max`` (the
client cuts the sentences), and one streams with ``inworld-tts-2`` (the server does). Upstream
must accept everything the simulator sends: each stream's segment id is its ``contextId``, its
audio decodes back to its text, its words come with increasing times.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from voicewire.reference.tone_code import decode_tone
from voicewire.simulators import SimulatorServer
from voicewire.simulators.core.credentials import DEFAULT_BASIC_KEY

pytest.importorskip("livekit.plugins.inworld")

from livekit.agents import APIConnectOptions
from livekit.plugins import inworld

RATE = 16000
OPTIONS = APIConnectOptions(max_retry=0, timeout=5.0)


def upstream_tts(sim: SimulatorServer, session: aiohttp.ClientSession, **kwargs: Any) -> Any:
    return inworld.TTS(
        api_key=DEFAULT_BASIC_KEY,
        base_url=sim.base_url + "/",
        ws_url=sim.base_url.replace("http://", "ws://") + "/",
        http_session=session,
        sample_rate=RATE,
        timestamp_type="WORD",
        **kwargs,
    )


async def run(stream: Any, *pushes: str | None) -> list[Any]:
    """Push the texts (``None``: a flush), end the input, collect the events."""
    for text in pushes:
        if text is None:
            stream.flush()
        else:
            stream.push_text(text)
    stream.end_input()
    return [event async for event in stream]


def spoken(events: list[Any]) -> list[str | None]:
    pcm = b"".join(event.frame.data.tobytes() for event in events)
    return [segment.text for segment in decode_tone(pcm, sample_rate=RATE)]


def words(events: list[Any]) -> list[Any]:
    return [t for event in events for t in (event.frame.userdata.get("lk.timed_transcripts") or [])]


def context_ids(journal: list[dict[str, Any]]) -> list[str]:
    return [
        e["data"]["contextId"]
        for e in journal
        if e["kind"] == "ws_message" and e["direction"] == "in" and "create" in e["data"]
    ]


async def test_two_upstream_streams_share_one_socket() -> None:
    first_text = "Hello from the Inworld websocket. This is the second sentence."
    second_text = "A second stream on the same socket."
    async with SimulatorServer() as sim, aiohttp.ClientSession() as session:
        tts = upstream_tts(sim, session)
        first, second = await asyncio.gather(
            run(tts.stream(conn_options=OPTIONS), first_text),
            run(tts.stream(conn_options=OPTIONS), second_text),
        )
        await tts.aclose()
        journal = sim.journal.entries()

    upgrades = [e for e in journal if e["kind"] == "http_response" and e["data"]["status"] == 101]
    assert len(upgrades) == 1
    ids = context_ids(journal)
    assert len(ids) == 2
    for events, text in ((first, first_text), (second, second_text)):
        segments = {event.segment_id for event in events}
        assert len(segments) == 1 and segments <= set(ids)
        assert " ".join(spoken(events)) == text  # type: ignore[arg-type]
        assert [str(w) for w in words(events)] == text.split()
    assert {first[0].segment_id, second[0].segment_id} == set(ids)


async def test_an_upstream_tts_2_stream_forwards_text_as_pushed() -> None:
    async with SimulatorServer() as sim, aiohttp.ClientSession() as session:
        tts = upstream_tts(sim, session, model="inworld-tts-2")
        # (Upstream's base stream handles no text pushed after a flush: a "segment" per stream.)
        events = await run(tts.stream(conn_options=OPTIONS), "First part ", "here.", None)
        await tts.aclose()
        journal = sim.journal.entries()

    assert spoken(events) == ["First part here."]
    assert [str(w) for w in words(events)] == ["First", "part", "here."]
    sent = [
        (next(iter(e["data"])), e["data"].get("send_text", {}).get("text"))
        for e in journal
        if e["kind"] == "ws_message" and e["direction"] == "in"
    ]
    # the text as pushed; flush() and end_input() each a flush_context, then the close
    assert sent == [
        ("create", None),
        ("send_text", "First part "),
        ("send_text", "here."),
        ("flush_context", None),
        ("flush_context", None),
        ("close_context", None),
    ]
    assert {event.segment_id for event in events} == set(context_ids(journal))
