"""``voicewire scenario from-cassette``: a session recorded from the simulator under scenario
S (recorded by the real vcrpy around the reference clients, imported as a voicewire cassette)
becomes a scenario file that validates and makes a fresh simulator answer the same clients
with the same text, tool calls, voices and audio (the recording came from the simulator's own
tone code, so the audio bytes are the same too); an endpoint without a conversion is named in
the file's comments, never silently dropped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import vcr
import yaml
from voicewire.harness.cli import main
from voicewire.harness.scenario_cli import scenario_from_cassette
from voicewire.harness.vcr_cassette import import_vcr
from voicewire.reference.audio import AudioFrame
from voicewire.reference.errors import APIConnectOptions, APIError
from voicewire.reference.inworld.stt import InworldSTT
from voicewire.reference.inworld.tts import InworldTTS
from voicewire.reference.llm import ChatContext
from voicewire.reference.llm.inference import LLM
from voicewire.reference.stt import STT, SpeechEvent, SpeechEventType
from voicewire.reference.stt.wire.messages import encode_message, session_create
from voicewire.reference.tts import TTS
from voicewire.simulators import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    SimulatorServer,
    load_scenario,
    parse_scenario,
)
from voicewire.simulators.core.credentials import DEFAULT_BASIC_KEY
from voicewire.simulators.recording.cassette import CassetteWriter, load_cassette
from voicewire.simulators.recording.proxy import RecordingProxy

MODEL = "openai/gpt-4.1-mini"
ONCE = APIConnectOptions(max_retry=0, timeout=5.0)
KEY, SECRET = DEFAULT_API_KEY, DEFAULT_API_SECRET
S = parse_scenario(
    {
        "name": "S",
        "time_scale": 0.01,
        "on_unmatched": "echo",
        "rules": [
            {
                "match": {"endpoint": "llm", "text": "weather"},
                "reply": {
                    "content": "Let me check.",
                    "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}],
                    "fragmentation": {"strategy": "fixed", "size": 4},
                },
            },
            {"match": {"endpoint": "llm"}, "reply": {"content": "It is sunny in Paris today."}},
            {
                "match": {"endpoint": "inworld.synthesize"},
                "reply": {"chunk_duration": 0.05},
            },
            {
                "match": {"endpoint": "inworld.voices"},
                "reply": {"voices": [{"voiceId": "Zed", "languages": ["en-GB"]}]},
            },
        ],
    }
)


async def session(base_url: str, sim: SimulatorServer) -> dict[str, Any]:
    """What the reference clients emit over one session: two completions, a synthesis, the
    voices."""
    llm = LLM(
        MODEL,
        base_url=base_url + "/v1",
        api_key=sim.api_key,
        api_secret=sim.api_secret,
        time_scale=0.01,
    )
    completions = []
    for question in ("what is the weather?", "and then?"):
        ctx = ChatContext()
        ctx.add_message(role="user", content=question)
        text, calls = "", []
        async for chunk in llm.chat(chat_ctx=ctx):
            if chunk.delta is not None:
                text += chunk.delta.content or ""
                calls += [(c.name, c.arguments, c.call_id) for c in chunk.delta.tool_calls]
        completions.append((text, calls))
    await llm.aclose()
    tts = InworldTTS(api_key=DEFAULT_BASIC_KEY, base_url=base_url + "/")
    frames = [frame async for frame in tts.synthesize("Hello there world", conn_options=ONCE)]
    voices = await tts.list_voices()
    await tts.aclose()
    return {
        "completions": completions,
        "audio": [frame.frame.to_bytes() for frame in frames],
        "voices": voices,
    }


async def test_a_recording_becomes_a_scenario_that_reproduces_it(
    start_simulator: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded_sim = await start_simulator(S)
    with vcr.use_cassette(str(tmp_path / "vcr.yaml"), record_mode="all"):
        recorded = await session(recorded_sim.base_url, recorded_sim)
    import_vcr(tmp_path / "vcr.yaml", tmp_path / "session.jsonl")
    assert recorded["completions"][0][1][0][0] == "get_weather"

    out = tmp_path / "scenario.yaml"
    assert (
        main(["scenario", "from-cassette", str(tmp_path / "session.jsonl"), "--out", str(out)]) == 0
    )
    text = out.read_text()
    assert text.startswith("# Made by voicewire scenario from-cassette from ")
    assert "approximated: the audio" in text
    scenario = load_scenario(out)
    assert [rule.match.endpoint for rule in scenario.rules] == [
        "llm",
        "llm",
        "inworld.synthesize",
        "inworld.voices",
    ]
    assert scenario.on_unmatched == "error"

    replaying_sim = await start_simulator(scenario)
    replayed = await session(replaying_sim.base_url, replaying_sim)
    assert replayed == recorded


def test_an_endpoint_without_a_conversion_is_named_and_left_out(tmp_path: Path) -> None:
    writer = CassetteWriter(tmp_path / "other.jsonl", protocols=["llm"])
    x = writer.open_exchange(
        {"protocol": "llm", "endpoint": "llm.embeddings", "method": "GET", "path": "/embeddings"}
    )
    writer.response(x, 200)
    writer.end(x)
    writer.close()
    text = scenario_from_cassette(load_cassette(tmp_path / "other.jsonl"))
    assert "# - exchange 0 (llm.embeddings, GET /embeddings, t=" in text
    assert "no conversion to a scenario rule for this endpoint" in text
    assert "rules: []" in text
    parse_scenario(yaml.safe_load(text))


def test_a_websocket_error_and_close_become_faults(tmp_path: Path) -> None:
    """An in-band error becomes an error_event before the message that followed it and the
    server's close a ws_close after the last message; the answer to a client message the
    simulator cannot read either is left to the simulator."""
    writer = CassetteWriter(tmp_path / "stt.jsonl", protocols=["stt"])
    x = writer.open_exchange(
        {"protocol": "stt", "endpoint": "stt", "method": "GET", "path": "/stt", "websocket": True}
    )
    writer.response(x, 101)
    writer.message(x, "client", encode_message(session_create(sample_rate=RATE)))
    writer.message(x, "server", '{"type": "session.created", "session_id": "s1"}')
    writer.message(x, "client", "not json")
    writer.message(x, "server", '{"type": "error", "message": "unreadable", "code": 400}')
    writer.message(x, "server", '{"type": "error", "message": "overloaded", "code": 503}')
    writer.message(x, "server", "not json either")
    writer.close_frame(x, "server", 4000, "")
    writer.end(x)
    writer.close()
    text = scenario_from_cassette(load_cassette(tmp_path / "stt.jsonl"))
    assert "an unreadable server message (after 1 events) left out" in text
    rule = parse_scenario(yaml.safe_load(text)).rules[0]
    assert [f.model_dump(exclude_defaults=True) for f in rule.faults] == [
        {"kind": "error_event", "at_event": 1, "message": "overloaded", "code": 503},
        {"kind": "ws_close", "at_event": 0, "code": 4000},
    ]


def test_a_bad_cassette_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "cassette", "format": "voicewire-cassette/99"}\n')
    assert main(["scenario", "from-cassette", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "line 1: format voicewire-cassette/99 is newer" in err and err.count("\n") == 1


# -- the WebSocket endpoints: recorded through the recording proxy ---------------------------

RATE = 16000


def silence_frames(seconds: float, ms: int = 20) -> list[AudioFrame]:
    """``seconds`` of silence in ``ms`` frames (a script, not the audio, says what is heard)."""
    step = RATE * ms // 1000
    return [
        AudioFrame(b"\x00\x00" * step, sample_rate=RATE, num_channels=1)
        for _ in range(round(seconds * 1000) // ms)
    ]


async def stt_session(base_url: str) -> list[SpeechEvent]:
    stt = STT("deepgram/nova-3", base_url=base_url, api_key=KEY, api_secret=SECRET)
    stream = stt.stream(conn_options=ONCE)
    try:
        for frame in silence_frames(1.5):
            stream.push_frame(frame)
        stream.end_input()
        # Usage counts the audio the client had sent by then: the client's pace, not the server's.
        return [e async for e in stream if e.type is not SpeechEventType.RECOGNITION_USAGE]
    finally:
        await stream.aclose()
        await stt.aclose()


WS_RULES: dict[str, dict[str, Any]] = {
    "stt": {
        "match": {"endpoint": "stt"},
        "reply": {
            "start_of_speech": True,
            "interim_interval": 0.2,
            "request_id": "req-recorded",
            "segments": [
                {
                    "text": "hello world",
                    "start": 0.1,
                    "duration": 0.6,
                    "confidence": 0.9,
                    "language": "en",
                    "words": [
                        {"word": "hello", "start": 0.1, "end": 0.3},
                        {"word": "world", "start": 0.4, "end": 0.7, "confidence": 0.8},
                    ],
                },
                {"text": "", "start": 0.8, "duration": 0.3},
                {"text": "again and again", "start": 1.2, "duration": 0.6},  # cut by finalize
            ],
        },
    },
}


async def recorded_then_replayed(
    start_simulator: Any, tmp_path: Path, endpoint: str, session: Any
) -> tuple[Any, Any, str]:
    """What ``session`` got from a simulator under ``WS_RULES[endpoint]`` through the recording
    proxy, what it gets from a fresh simulator playing the scenario made of that recording,
    and the scenario's text."""
    scenario = parse_scenario({"name": "S", "on_unmatched": "error", "rules": [WS_RULES[endpoint]]})
    recorded_sim = await start_simulator(scenario)
    async with RecordingProxy(recorded_sim.base_url, tmp_path / "ws.jsonl") as proxy:
        recorded = await session(proxy.base_url)
    text = scenario_from_cassette(load_cassette(tmp_path / "ws.jsonl"))
    (tmp_path / "ws.yaml").write_text(text)
    made = load_scenario(tmp_path / "ws.yaml")
    assert [rule.match.endpoint for rule in made.rules] == [endpoint]
    replaying_sim = await start_simulator(made)
    return recorded, await session(replaying_sim.base_url), text


async def test_an_stt_session_becomes_a_scenario_that_reproduces_it(
    start_simulator: Any, tmp_path: Path
) -> None:
    recorded, replayed, text = await recorded_then_replayed(
        start_simulator, tmp_path, "stt", stt_session
    )
    finals = [e for e in recorded if e.type is SpeechEventType.FINAL_TRANSCRIPT]
    assert [f.alternatives[0].text for f in finals] == ["hello world", "", "again and again"]
    assert any(e.type is SpeechEventType.INTERIM_TRANSCRIPT for e in recorded)
    # The same events: texts, times, words, request ids, interims, start of speech.
    assert replayed == recorded
    assert "approximated: the session_id" in text


async def tts_session(base_url: str) -> list[list[tuple[bytes, bool, str]]]:
    """Two syntheses on one pooled socket: each frame's bytes, finality and text."""
    tts = TTS(
        "cartesia/sonic-3", base_url=base_url, api_key=KEY, api_secret=SECRET, sample_rate=RATE
    )
    syntheses = []
    try:
        for text in ("Hello there.", "Bye now."):
            stream = tts.synthesize(text, conn_options=ONCE)
            syntheses.append([(a.frame.to_bytes(), a.is_final, a.delta_text) async for a in stream])
        return syntheses
    finally:
        await tts.aclose()


WS_RULES["tts"] = {
    "match": {"endpoint": "tts"},
    "reply": {"chunk_duration": 0.05, "alignment": "words"},
}


async def test_a_tts_connection_becomes_a_scenario_that_reproduces_it(
    start_simulator: Any, tmp_path: Path
) -> None:
    recorded, replayed, text = await recorded_then_replayed(
        start_simulator, tmp_path, "tts", tts_session
    )
    assert all(len(synthesis) > 2 for synthesis in recorded)
    # The same frames, byte for byte (the recording came from the simulator's tone code).
    assert replayed == recorded
    reply = load_scenario(tmp_path / "ws.yaml").rules[0].reply
    assert (reply.chunk_duration, reply.alignment, reply.session_id) == (0.05, "words", "every")
    assert "approximated: the audio" in text


async def inworld_stream_session(base_url: str) -> list[Any]:
    """Two streams on one socket (two contexts): each one's frames, or its error."""
    tts = InworldTTS(
        api_key=DEFAULT_BASIC_KEY, ws_url=base_url.replace("http", "ws", 1) + "/", sample_rate=RATE
    )
    outcomes: list[Any] = []
    try:
        for text in ("Hello there.", "Bye now."):
            stream = tts.stream(conn_options=ONCE)
            stream.push_text(text)
            stream.end_input()
            try:
                outcomes.append([a.frame.to_bytes() async for a in stream])
            except APIError as error:
                outcomes.append((type(error).__name__, str(error)))
    finally:
        await tts.aclose()
    return outcomes


WS_RULES["inworld.contexts"] = {
    "match": {"endpoint": "inworld.contexts"},
    "reply": {"chunk_duration": 0.05, "failed_contexts": [1], "status_code": 8},
}


async def test_an_inworld_contexts_connection_becomes_a_scenario_that_reproduces_it(
    start_simulator: Any, tmp_path: Path
) -> None:
    recorded, replayed, _ = await recorded_then_replayed(
        start_simulator, tmp_path, "inworld.contexts", inworld_stream_session
    )
    assert len(recorded[0]) > 2 and recorded[1][0] == "APIError"
    # The same frames, byte for byte, and the second context's failure.
    assert replayed == recorded
    made = load_scenario(tmp_path / "ws.yaml").rules[0].reply
    assert (made.chunk_duration, made.failed_contexts, made.status_code) == (0.05, (1,), 8)


async def inworld_stt_session(base_url: str) -> list[tuple[str, Any]]:
    """0.1 s audio chunks; after each chunk that makes a result due, the client waits for it
    (so the cassette's audio position of each result is where it was due)."""
    stt = InworldSTT(api_key=DEFAULT_BASIC_KEY, base_url=base_url)
    stream = stt.stream(conn_options=ONCE)
    due = {2: "start_of_speech", 4: "interim_transcript", 6: "interim_transcript"}
    due |= {8: "final_transcript", 10: "start_of_speech", 13: "final_transcript"}
    got: list[SpeechEvent] = []
    async with stream:
        events = aiter(stream)
        for index, frame in enumerate(silence_frames(1.5, ms=100), start=1):
            stream.push_frame(frame)
            while index in due and (not got or got[-1].type.value != due[index]):
                got.append(await anext(events))
        stream.end_input()
        got += [e async for e in events]
    # The request id is the client's own (Inworld sends none).
    return [
        (e.type.value, e.alternatives)
        for e in got
        if e.type is not SpeechEventType.RECOGNITION_USAGE
    ]


WS_RULES["inworld.transcribe"] = {
    "match": {"endpoint": "inworld.transcribe"},
    "reply": {
        "interim_interval": 0.2,
        "segments": [
            {
                "text": "hello big world",
                "start": 0.2,
                "duration": 0.6,
                "voice_profile": {"age": [{"label": "adult", "confidence": 0.9}]},
            },
            {"text": "bye", "start": 1.0, "duration": 0.3},
        ],
    },
}


async def test_an_inworld_transcribe_stream_becomes_a_scenario_that_reproduces_it(
    start_simulator: Any, tmp_path: Path
) -> None:
    recorded, replayed, _ = await recorded_then_replayed(
        start_simulator, tmp_path, "inworld.transcribe", inworld_stt_session
    )
    finals = [alternatives for kind, alternatives in recorded if kind == "final_transcript"]
    assert [f[0].text for f in finals] == ["hello big world", "bye"]
    assert replayed == recorded
    # Each result at the audio position it followed: the script it was recorded from.
    made = load_scenario(tmp_path / "ws.yaml").rules[0].reply.model_dump(exclude_defaults=True)
    assert made == WS_RULES["inworld.transcribe"]["reply"]
