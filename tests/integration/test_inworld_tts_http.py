"""Inworld TTS over HTTP and the voices list, end to end on loopback (SPEC §5.1, AUTH-6): the
reference client (:class:`InworldTTS`) against the Inworld simulator, and the simulator's
answers to raw requests.

The audio is the tone code of the text: tests decode what the client emitted back to the text
it sent. Nothing sleeps to wait.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from voicewire.reference.errors import (
    APIConnectionError,
    APIConnectOptions,
    APIStatusError,
    APITimeoutError,
)
from voicewire.reference.inworld.tts import InworldChunkedStream, InworldTTS
from voicewire.reference.tone_code import decode_tone
from voicewire.reference.tts.wire import SynthesizedAudio
from voicewire.simulators import SimulatorServer, parse_scenario
from voicewire.simulators.core.credentials import DEFAULT_BASIC_KEY

TEXT = "Hello there world"
ONCE = APIConnectOptions(max_retry=0, timeout=5.0)


def scenario(*rules: dict[str, Any]) -> Any:
    return parse_scenario({"name": "default", "on_unmatched": "echo", "rules": list(rules)})


def synthesize_rule(reply: dict[str, Any] | None = None, **rule: Any) -> dict[str, Any]:
    return {"match": {"endpoint": "inworld.synthesize"}, "reply": reply or {}, **rule}


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer() as server:
        yield server


def client(sim: SimulatorServer, **options: Any) -> InworldTTS:
    return InworldTTS(api_key=DEFAULT_BASIC_KEY, base_url=sim.base_url + "/", **options)


async def frames_of(stream: InworldChunkedStream) -> list[SynthesizedAudio]:
    return [frame async for frame in stream]


def spoken(frames: list[SynthesizedAudio], rate: int = 24000) -> list[str | None]:
    pcm = b"".join(frame.frame.to_bytes() for frame in frames)
    return [segment.text for segment in decode_tone(pcm, sample_rate=rate)]


def requests_of(sim: SimulatorServer) -> list[dict[str, Any]]:
    return [e["data"] for e in sim.journal.entries() if e.get("kind") == "http_request"]


# -- synthesis ---------------------------------------------------------------------------------


async def test_a_synthesis_with_word_timestamps_speaks_its_text(sim: SimulatorServer) -> None:
    tts = client(sim, timestamp_type="WORD")
    stream = tts.synthesize(TEXT, conn_options=ONCE)
    frames = await frames_of(stream)
    await tts.aclose()

    assert spoken(frames) == [TEXT]
    assert [f.is_final for f in frames] == [False] * (len(frames) - 1) + [True]
    assert {f.segment_id for f in frames} == {""}
    assert {f.request_id for f in frames} == {stream.request_id}
    words = [t for a in stream.aligned_transcripts if a.granularity == "words" for t in a.items]
    assert [w.text for w in words] == TEXT.split()
    assert all(w.start_time < w.end_time for w in words)
    assert [w.start_time for w in words] == sorted(w.start_time for w in words)

    (request,) = requests_of(sim)
    assert request["path"] == "/tts/v1/voice:stream"
    assert request["body"]["timestampType"] == "WORD"
    assert request["body"]["audioConfig"]["temperature"] == 1.0
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["authorization"].startswith("Basic ")
    assert headers["x-user-agent"]
    assert uuid.UUID(headers["x-request-id"]).version == 4


async def test_character_timestamps_in_lines_of_their_own(sim: SimulatorServer) -> None:
    sim.load(scenario(synthesize_rule({"timestamp_lines": "after_audio"})))
    tts = client(sim, timestamp_type="CHARACTER", sample_rate=16000)
    stream = tts.synthesize("Hi you", conn_options=ONCE)
    frames = await frames_of(stream)
    await tts.aclose()
    assert spoken(frames, 16000) == ["Hi you"]
    chars = [t.text for a in stream.aligned_transcripts for t in a.items]
    assert "".join(chars) == "Hi you"
    assert {a.granularity for a in stream.aligned_transcripts} == {"chars"}
    lines = [e["data"] for e in sim.journal.entries() if e.get("kind") == "ndjson_line"]
    alone = [line for line in lines if "timestampInfo" in str(line) and "samples" not in line]
    assert len(alone) == len(stream.aligned_transcripts)


async def test_blank_and_unparseable_lines_are_skipped(sim: SimulatorServer) -> None:
    sim.load(
        scenario(
            synthesize_rule(
                {"interleave": ""}, match={"endpoint": "inworld.synthesize", "text": "one"}
            ),
            synthesize_rule({"interleave": "not json {"}),
        )
    )
    tts = client(sim)
    blank = tts.synthesize("one blank", conn_options=ONCE)
    junk = tts.synthesize("two junk", conn_options=ONCE)
    assert spoken(await frames_of(blank)) == ["one blank"]
    assert spoken(await frames_of(junk)) == ["two junk"]
    await tts.aclose()
    assert blank.skipped_lines and {s.reason for s in blank.skipped_lines} == {"blank"}
    assert junk.skipped_lines and all(s.reason.startswith("not JSON") for s in junk.skipped_lines)
    # one interleaved line before each audio line, none an event of its own
    audio_lines = [e for e in sim.journal.entries() if isinstance(e.get("data"), dict)]
    audio_lines = [e for e in audio_lines if e["data"].get("line") == "result"]
    assert len(audio_lines) == len(blank.skipped_lines) + len(junk.skipped_lines)
    assert {e["data"]["event"] for e in audio_lines} == set(range(len(blank.skipped_lines))) | set(
        range(len(junk.skipped_lines))
    )


async def test_an_error_line_raises_its_code(sim: SimulatorServer) -> None:
    fault = {"kind": "error_event", "at_event": 3, "code": 13, "message": "model overloaded"}
    sim.load(scenario(synthesize_rule(faults=[fault])))
    tts = client(sim)
    with pytest.raises(APIStatusError) as caught:
        await frames_of(tts.synthesize(TEXT, conn_options=ONCE))
    await tts.aclose()
    assert caught.value.status_code == 13
    assert caught.value.message == "model overloaded"


async def test_an_error_before_any_audio_is_retried(sim: SimulatorServer) -> None:
    fault = {"kind": "error_event", "at_event": 0, "code": 503, "message": "busy", "attempt": 1}
    sim.load(scenario(synthesize_rule(faults=[fault])))
    tts = client(sim, time_scale=0.001)
    stream = tts.synthesize(TEXT, conn_options=APIConnectOptions(max_retry=1, timeout=5.0))
    errors: list[Any] = []
    tts.on("error", errors.append)
    assert spoken(await frames_of(stream)) == [TEXT]
    await tts.aclose()
    assert stream.attempts == 2
    assert [e.recoverable for e in errors] == [True]


async def test_a_non_2xx_answer_raises_its_status(sim: SimulatorServer) -> None:
    sim.load(scenario(synthesize_rule(faults=[{"kind": "status", "code": 503}])))
    tts = client(sim)
    with pytest.raises(APIStatusError) as caught:
        await frames_of(tts.synthesize(TEXT, conn_options=ONCE))
    await tts.aclose()
    assert caught.value.status_code == 503
    assert caught.value.message == "simulated HTTP 503"


async def test_a_wrong_key_gets_401_not_retried(sim: SimulatorServer) -> None:
    tts = InworldTTS(api_key="not-a-key", base_url=sim.base_url + "/")
    stream = tts.synthesize(TEXT, conn_options=APIConnectOptions(max_retry=2, timeout=5.0))
    with pytest.raises(APIStatusError) as synthesize_error:
        await frames_of(stream)
    with pytest.raises(APIStatusError) as voices_error:
        await tts.list_voices()
    await tts.aclose()
    assert synthesize_error.value.status_code == 401 and not synthesize_error.value.retryable
    assert stream.attempts == 1
    assert voices_error.value.status_code == 401


@pytest.mark.parametrize(
    "line",
    ['{"result": {"audioContent": 5}}', "[1, 2]", '{"result": {"audioContent": "AA=="}}'],
    ids=["wrong-type", "not-an-object", "half-a-sample"],
)
async def test_a_line_of_the_wrong_shape_is_a_connection_error(
    sim: SimulatorServer, line: str
) -> None:
    # a line replaced; a lone byte of audio leaves the whole inside a sample
    fault = {"kind": "malformed", "at_event": 1, "line": line}
    sim.load(scenario(synthesize_rule(faults=[fault])))
    tts = client(sim)
    with pytest.raises(APIConnectionError):
        await frames_of(tts.synthesize("Hi", conn_options=ONCE))
    await tts.aclose()


async def test_unequal_timestamp_arrays_do_not_crash_the_client(sim: SimulatorServer) -> None:
    sim.load(scenario(synthesize_rule({"unequal_timestamps": True, "chunk_duration": 2.0})))
    tts = client(sim, timestamp_type="WORD")
    stream = tts.synthesize(TEXT, conn_options=ONCE)
    assert spoken(await frames_of(stream)) == [TEXT]
    await tts.aclose()
    # one line holds every word, its end times one short: the last word cannot be paired
    words = [t.text for a in stream.aligned_transcripts for t in a.items]
    assert words == TEXT.split()[:-1]


async def test_a_reset_mid_body_is_a_connection_error(sim: SimulatorServer) -> None:
    fault = {"kind": "disconnect", "at_event": 2, "mode": "reset"}
    sim.load(scenario(synthesize_rule(faults=[fault])))
    tts = client(sim)
    with pytest.raises(APIConnectionError):
        await frames_of(tts.synthesize(TEXT, conn_options=ONCE))
    await tts.aclose()


async def test_a_stall_longer_than_the_timeout_is_a_timeout(sim: SimulatorServer) -> None:
    sim.load(scenario(synthesize_rule(faults=[{"kind": "stall", "at_event": 1, "seconds": 0.5}])))
    tts = client(sim)
    with pytest.raises(APITimeoutError):
        await frames_of(
            tts.synthesize(TEXT, conn_options=APIConnectOptions(max_retry=0, timeout=0.1))
        )
    await tts.aclose()


async def full_audio(sim: SimulatorServer, text: str) -> bytes:
    tts = client(sim)
    frames = await frames_of(tts.synthesize(text, conn_options=ONCE))
    await tts.aclose()
    return b"".join(frame.frame.to_bytes() for frame in frames)


@pytest.mark.parametrize("kind", ["drop", "duplicate", "reorder"])
async def test_line_faults_act_on_audio_lines(sim: SimulatorServer, kind: str) -> None:
    whole = await full_audio(sim, TEXT)
    sim.load(scenario(synthesize_rule(faults=[{"kind": kind, "at_event": 1}])))
    faulted = await full_audio(sim, TEXT)
    chunk = whole[4800:9600]  # line 1: the second 100 ms at 24 kHz
    expected = {
        "drop": whole[:4800] + whole[9600:],
        "duplicate": whole[:9600] + chunk + whole[9600:],
        "reorder": whole[:4800] + whole[9600:14400] + chunk + whole[14400:],
    }[kind]
    assert faulted == expected


async def test_a_scripted_sample_rate_overrides_the_requested_one(sim: SimulatorServer) -> None:
    sim.load(scenario(synthesize_rule({"sample_rate": 16000})))
    pcm = await full_audio(sim, "Hi")
    assert [s.text for s in decode_tone(pcm, sample_rate=16000)] == ["Hi"]
    assert len(pcm) // 2 == round(0.35 * 16000)  # the tone code of "Hi" lasts 0.35 s


# -- the simulator's own answers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"text": "hi", "voiceId": "Ashley"}, "modelId"),
        (
            {"text": "hi", "voiceId": "Ashley", "modelId": "m", "audioConfig": {"speakingRate": 9}},
            "audioConfig.speakingRate",
        ),
        (
            {
                "text": "hi",
                "voiceId": "Ashley",
                "modelId": "m",
                "audioConfig": {"audioEncoding": "MP3"},
            },
            "audioConfig.audioEncoding",
        ),
        ({"text": "x" * 2001, "voiceId": "Ashley", "modelId": "m"}, "text"),
    ],
)
async def test_a_bad_request_gets_400_naming_the_field(
    sim: SimulatorServer, body: dict[str, Any], where: str
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            sim.base_url + "/tts/v1/voice:stream",
            json=body,
            headers={"Authorization": f"Basic {DEFAULT_BASIC_KEY}"},
        ) as resp,
    ):
        assert resp.status == 400
        answer = await resp.json()
    assert where in answer["error"]["message"]


async def test_a_scenario_expectation_refuses_another_voice(sim: SimulatorServer) -> None:
    sim.load(scenario(synthesize_rule({"expect_voice": "Dennis"})))
    tts = client(sim)
    with pytest.raises(APIStatusError) as caught:
        await frames_of(tts.synthesize(TEXT, conn_options=ONCE))
    await tts.aclose()
    assert caught.value.status_code == 400
    assert "'Dennis'" in caught.value.message and "'Ashley'" in caught.value.message


# -- voices ------------------------------------------------------------------------------------


async def test_voices_with_and_without_a_language(sim: SimulatorServer) -> None:
    tts = client(sim)
    every = await tts.list_voices()
    english = await tts.list_voices(language="en")
    await tts.aclose()
    assert len(every) > len(english) > 0
    assert all("en" in voice["languages"] for voice in english)
    paths = [r["path"] for r in requests_of(sim)]
    assert paths == ["/tts/v1/voices", "/tts/v1/voices?filter=language%3Den"]


async def test_a_scripted_voice_list_is_sent_verbatim(sim: SimulatorServer) -> None:
    voices = [{"voiceId": "Zed", "languages": ["en-GB"], "tags": ["custom"]}, {"voiceId": "Q"}]
    sim.load(scenario({"match": {"endpoint": "inworld.voices"}, "reply": {"voices": voices}}))
    tts = client(sim)
    assert await tts.list_voices() == voices
    assert await tts.list_voices(language="en") == voices[:1]
    await tts.aclose()


async def test_base_path_joins(sim: SimulatorServer) -> None:
    # synthesis drops the base path (absolute join); voices stay under it (relative join)
    tts = InworldTTS(api_key=DEFAULT_BASIC_KEY, base_url=sim.base_url + "/v1/")
    assert spoken(await frames_of(tts.synthesize("Hi", conn_options=ONCE))) == ["Hi"]
    assert await tts.list_voices("fr")
    await tts.aclose()
    paths = [r["path"] for r in requests_of(sim)]
    assert paths == ["/tts/v1/voice:stream", "/v1/tts/v1/voices?filter=language%3Dfr"]


async def test_a_voices_error_carries_the_body_message(sim: SimulatorServer) -> None:
    fault = {"kind": "status", "code": 429, "body": {"code": 8, "message": "slow down"}}
    sim.load(scenario({"match": {"endpoint": "inworld.voices"}, "faults": [fault]}))
    tts = client(sim)
    with pytest.raises(APIStatusError) as caught:
        await tts.list_voices()
    await tts.aclose()
    assert (caught.value.status_code, caught.value.message) == (429, "slow down")


async def test_a_malformed_voices_answer_is_a_connection_error(sim: SimulatorServer) -> None:
    fault = {"kind": "malformed", "at_event": 0, "line": json.dumps({"voices": {}})}
    sim.load(scenario({"match": {"endpoint": "inworld.voices"}, "faults": [fault]}))
    tts = client(sim)
    with pytest.raises(APIConnectionError, match="voices"):
        await tts.list_voices()
    await tts.aclose()


# -- the guide's example (docs/scenarios.md) ---------------------------------------------------

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"


async def test_the_guides_example_plays_as_it_says() -> None:
    found = re.search(
        r"^<!-- inworld-http -->\n```yaml\n(.*?)^```$",
        GUIDE.read_text(encoding="utf-8"),
        re.MULTILINE | re.DOTALL,
    )
    assert found is not None
    async with SimulatorServer(scenario=parse_scenario(yaml.safe_load(found.group(1)))) as sim:
        tts = client(sim, timestamp_type="WORD", time_scale=0.001)
        stream = tts.synthesize(TEXT, conn_options=APIConnectOptions(max_retry=1, timeout=5.0))
        frames = await frames_of(stream)
        voices = await tts.list_voices("es")
        await tts.aclose()
    assert spoken(frames) == [TEXT]
    assert stream.attempts == 2  # the first attempt's error line came before any audio
    assert stream.skipped_lines and {s.reason for s in stream.skipped_lines} == {"blank"}
    assert [t.text for a in stream.aligned_transcripts for t in a.items] == TEXT.split()
    assert voices == [{"voiceId": "Diego", "languages": ["es"]}]
