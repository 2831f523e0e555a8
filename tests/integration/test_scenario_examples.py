"""The scenario examples of docs/ played by the real simulator on a loopback socket: what the
files script reaches the reference client, and the control API loads (and refuses) scenarios
as docs/scenarios.md shows."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
from voicewire.reference.auth import create_access_token
from voicewire.reference.errors import APIConnectionError, APIConnectOptions, APIStatusError
from voicewire.reference.llm import ChatContext
from voicewire.reference.llm.chat_chunk import ChatChunk
from voicewire.reference.llm.inference import LLM, LLMErrorEvent
from voicewire.simulators import SimulatorServer, load_scenario

DOCS = Path(__file__).resolve().parents[2] / "docs"
EXAMPLES = DOCS / "examples" / "scenarios"
GUIDE = (DOCS / "scenarios.md").read_text(encoding="utf-8")
# Retries at once: the scenarios' own delays are scaled down by the server instead.
RETRY_AT_ONCE = APIConnectOptions(max_retry=3, retry_interval=0.0, timeout=5.0)


def guide_block(marker: str) -> str:
    """The fenced block of docs/scenarios.md after ``<!-- marker -->``."""
    found = re.search(rf"^<!-- {marker} -->\n```\w*\n(.*?)^```$", GUIDE, re.MULTILINE | re.DOTALL)
    assert found is not None, marker
    return found.group(1)


async def chat(llm: LLM, text: str) -> tuple[list[ChatChunk], list[LLMErrorEvent]]:
    """One chat() call: its chunks and the error events of its attempts."""
    events: list[LLMErrorEvent] = []
    llm.on("error", events.append)
    ctx = ChatContext()
    ctx.add_message(role="user", content=text)
    try:
        async with llm.chat(chat_ctx=ctx, conn_options=RETRY_AT_ONCE) as stream:
            chunks = [chunk async for chunk in stream]
    finally:
        llm.off("error", events.append)
    return chunks, events


def text_of(chunks: list[ChatChunk]) -> str:
    return "".join(c.delta.content or "" for c in chunks if c.delta is not None)


def attempts(sim: SimulatorServer) -> list[int]:
    return [e["data"]["attempt"] for e in sim.journal.entries() if e["kind"] == "rule"]


async def test_weather_yaml_streams_its_script_through_its_faults(start_simulator, make_llm):
    sim = await start_simulator(load_scenario(EXAMPLES / "weather.yaml"), time_scale=0.01)
    llm = make_llm(sim)

    chunks, events = await chat(llm, "What's the weather in Paris and Tokyo?")

    # Attempt 1: the 503; attempt 2: the reset inside the <think> part, before any visible
    # text, so the client retries; attempt 3: the whole reply, cut in random byte pieces.
    assert attempts(sim) == [1, 2, 3]
    assert [type(e.error) for e in events] == [APIStatusError, APIConnectionError]
    assert events[0].error.status_code == 503
    assert text_of(chunks) == "Let me check."  # the reasoning stays out of the text
    calls = [call for c in chunks if c.delta is not None for call in c.delta.tool_calls]
    assert [(call.call_id, call.name, call.arguments) for call in calls] == [
        ("call_0", "get_weather", '{"location": "Paris"}'),
        ("call_1", "get_weather", '{"location": "Tok'),
    ]
    [usage] = [c.usage for c in chunks if c.usage is not None]
    assert usage.completion_tokens > 0
    third = max(e["exchange"] for e in sim.journal.entries())
    writes = [e["data"] for e in sim.journal.entries(exchange=third) if e["kind"] == "sse_event"]
    assert writes and max(len(w) for w in writes) <= 7  # byte_split, max_size 7


async def test_hello_yaml_sends_its_text_in_eight_character_chunks(start_simulator, make_llm):
    sim = await start_simulator(load_scenario(EXAMPLES / "hello.yaml"))
    chunks, events = await chat(make_llm(sim), "hi")
    pieces = [c.delta.content for c in chunks if c.delta is not None and c.delta.content]
    assert pieces == ["Hello th", "ere, fri", "end!"]
    assert events == []


async def test_retry_yaml_reaches_its_answer_on_the_third_attempt(start_simulator, make_llm):
    sim = await start_simulator(load_scenario(EXAMPLES / "retry.yaml"))
    chunks, events = await chat(make_llm(sim), "Can you book a table for two?")
    assert attempts(sim) == [1, 2, 3]
    assert [type(e.error) for e in events] == [APIStatusError, APIConnectionError]
    assert text_of(chunks) == "Your table for two is booked for 8 pm."


async def test_the_control_api_loads_and_refuses_as_the_guide_shows(start_simulator):
    sim = await start_simulator()
    # The guide's conversion of a YAML file into the JSON body the control API takes.
    found = re.search(r"^\s*\$ python -c '(.*?)' < weather.yaml > weather.json$", GUIDE, re.M)
    assert found is not None
    program = found.group(1)
    with (EXAMPLES / "weather.yaml").open("rb") as source:
        converted = subprocess.run(
            [sys.executable, "-c", program], stdin=source, capture_output=True, timeout=60
        )
    assert converted.returncode == 0, converted.stderr

    control = sim.base_url + "/__voicewire/scenarios/"
    async with aiohttp.ClientSession(headers=sim.control_headers) as session:
        async with session.put(control + "weather", data=converted.stdout) as answer:
            assert answer.status == 200
            assert await answer.json() == {"loaded": "weather"}
        async with session.put(control + "bad", data=guide_block("put-refused")) as answer:
            assert answer.status == 400
            assert await answer.json() == json.loads(guide_block("put-refused-answer"))

    # A request that selects the loaded scenario gets its script: attempt 1 is the 503.
    token = create_access_token(sim.api_key, sim.api_secret)
    body: dict[str, Any] = {
        "model": "openai/gpt-4.1-mini",
        "messages": [{"role": "user", "content": "weather?"}],
        "stream": True,
    }
    headers = {"Authorization": f"Bearer {token}", "X-Voicewire-Scenario": "weather"}
    async with aiohttp.ClientSession() as session:
        url = sim.base_url + "/v1/chat/completions"
        async with session.post(url, json=body, headers=headers) as answer:
            assert answer.status == 503
            assert answer.headers["Retry-After"] == "1"
