"""The Inworld protocols in the harness: the models of :mod:`voicewire.harness.inworld`, the
registration, and the reference part driving the reference clients against the real Inworld
simulator on loopback (a session's key as the Basic key, its ``.../v1`` base URL)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError
from voicewire.harness.inworld import (
    INWORLD_SERVER,
    INWORLD_TTS_HTTP,
    InworldSTTStreamRequest,
    InworldTTSAnswer,
    InworldTTSHTTPRequest,
    InworldTTSOutcome,
    InworldTTSStreamRequest,
    InworldVoicesRequest,
    probe_inworld_credentials,
)
from voicewire.harness.inworld_reference import InworldReference, inworld_urls
from voicewire.harness.iut import ConnOptions, Target
from voicewire.harness.protocols import TABLE
from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.harness.stt import STTOutcome
from voicewire.reference.tone_code import decode_tone
from voicewire.simulators import SimulatorServer, parse_scenario
from voicewire.simulators.core.credentials import DEFAULT_BASIC_KEY

ONE_ATTEMPT = ConnOptions(max_retry=0, retry_interval=0.0, timeout=5.0)
WHERE = Target(base_url="http://h/v1", api_key="k", api_secret="s")


def target(sim: SimulatorServer) -> Target:
    # The Basic key the simulator accepts by default, under a base URL with a path: the
    # voice:stream join drops it, the voices join keeps it.
    return Target(base_url=sim.base_url + "/v1", api_key=DEFAULT_BASIC_KEY, api_secret="-")


def test_registration_declares_the_capabilities_and_events() -> None:
    assert TABLE.capability(INWORLD_TTS_HTTP).direction == "client"
    assert TABLE.capability(INWORLD_SERVER).direction == "server"
    assert TABLE.operation(INWORLD_TTS_HTTP)[0].method == "inworld_tts_http"
    assert "inworld.timed_text" in set(TABLE.event_type_names())
    assert {INWORLD_TTS_HTTP, "inworld.voices", INWORLD_SERVER} <= ReferenceIUT().capabilities


def test_the_client_urls_keep_the_target_s_path_and_scheme() -> None:
    assert inworld_urls(WHERE) == ("http://h/v1/", "ws://h/v1/")
    secure = Target(base_url="https://h", api_key="k", api_secret="s")
    assert inworld_urls(secure) == ("https://h/", "wss://h/")


def test_a_streaming_script_names_its_streams_in_order() -> None:
    script = [
        {"op": "push_text", "text": "one"},
        {"op": "push_text", "stream": 1, "text": "two"},
        {"op": "wait_event", "stream": 0, "event": "end"},
    ]
    assert InworldTTSStreamRequest(target=WHERE, script=script).syntheses == 2
    with pytest.raises(ValidationError, match="names stream 3 before stream 2 opened"):
        InworldTTSStreamRequest(target=WHERE, script=[*script, {"op": "flush", "stream": 3}])


def test_answers_end_each_synthesis_once_and_last() -> None:
    end = {"type": "tts.end", "t": 0.0}
    interleaved = [{**end, "synthesis": 1}, {**end, "synthesis": 0}]
    assert InworldTTSAnswer(events=interleaved).calls == 2
    with pytest.raises(ValidationError, match="has already ended"):
        InworldTTSAnswer(events=[{**end, "synthesis": 0}, {**end, "synthesis": 0}])
    with pytest.raises(ValidationError, match="every synthesis from 0 on"):
        InworldTTSAnswer(events=[{**end, "synthesis": 1}])


async def _synthesize(
    texts: list[str], faults: list[dict[str, Any]] | None = None, **fields: Any
) -> InworldTTSOutcome:
    rules = None
    if faults is not None:
        rule = {"match": {"endpoint": "inworld.synthesize"}, "reply": {}, "faults": faults}
        rules = parse_scenario({"name": "iw", "rules": [rule]})
    async with SimulatorServer(rules) as sim:
        request = InworldTTSHTTPRequest(
            target=target(sim), texts=texts, conn_options=ONE_ATTEMPT, **fields
        )
        answer = await InworldReference().inworld_tts_http(request)
    return InworldTTSOutcome(tuple(answer.events))


def test_http_syntheses_report_their_audio_and_word_times() -> None:
    texts = ["Good morning.", "Good night."]
    outcome = asyncio.run(_synthesize(texts, timestamp_type="WORD"))
    for synthesis, text in zip(outcome.syntheses, texts, strict=True):
        assert synthesis.error is None, synthesis.describe()
        assert synthesis.frames and synthesis.frames[-1].is_final
        samples = np.frombuffer(synthesis.audio, dtype="<i2")
        assert [segment.text for segment in decode_tone(samples, sample_rate=24000)] == [text]
        words = synthesis.timed_texts
        assert [w.text for w in words] == text.split()
        assert all(w.start_time < w.end_time for w in words)
        assert words[-1].end_time <= synthesis.duration + 1e-6


def test_an_error_line_ends_the_synthesis_with_its_code() -> None:
    fault = {"kind": "error_event", "at_event": 3, "code": 8, "message": "quota spent"}
    outcome = asyncio.run(_synthesize(["Hello there, how are you?"], [fault]))
    synthesis = outcome.only
    assert synthesis.error is not None and synthesis.error.status_code == 8
    assert "quota spent" in synthesis.error.message
    assert synthesis.frames  # lines before the error were audio, emitted in order


def test_a_refused_construction_ends_every_synthesis() -> None:
    request = InworldTTSHTTPRequest(target=WHERE, texts=["a", "b"], extra_kwargs={"encoding": "?"})
    answer = asyncio.run(InworldReference().inworld_tts_http(request))
    assert answer.calls == 2 and all(e.error is not None for e in answer.events)


def test_voices_are_listed_verbatim_and_filtered_by_language() -> None:
    async def go() -> tuple[Any, Any, Any]:
        async with SimulatorServer() as sim:
            part = InworldReference()
            every = await part.inworld_voices(InworldVoicesRequest(target=target(sim)))
            english = await part.inworld_voices(
                InworldVoicesRequest(target=target(sim), language="en")
            )
            wrong = Target(base_url=sim.base_url, api_key="not-a-key", api_secret="-")
            refused = await part.inworld_voices(InworldVoicesRequest(target=wrong))
        return every, english, refused

    every, english, refused = asyncio.run(go())
    assert every.voices and english.voices and len(english.voices) < len(every.voices)
    assert all(voice.get("languages", ["en"])[0].startswith("en") for voice in english.voices)
    assert refused.voices is None and refused.error is not None
    assert refused.error.status_code == 401


def test_credentials_probe_reports_a_refusal_and_accepts_the_key() -> None:
    async def go() -> tuple[str | None, str | None]:
        async with SimulatorServer() as sim:
            good = await probe_inworld_credentials(target(sim))
            bad = await probe_inworld_credentials(
                Target(base_url=sim.base_url, api_key="nope", api_secret="-")
            )
        return good, bad

    good, bad = asyncio.run(go())
    assert good is None
    assert bad is not None and "HTTP 401" in bad


def test_a_speech_stream_transcribes_tone_coded_speech() -> None:
    async def go() -> Any:
        async with SimulatorServer() as sim:
            request = InworldSTTStreamRequest(
                target=target(sim),
                conn_options=ONE_ATTEMPT,
                script=[
                    {"op": "push_tone", "text": "hello world", "silence": 0.5},
                    {"op": "end_input"},
                ],
            )
            return await InworldReference().inworld_stt_stream(
                request.model_copy(update={"script": request.audio_script()})
            )

    outcome = STTOutcome(tuple(asyncio.run(go()).events))
    assert outcome.error is None, outcome.describe()
    assert [final.text for final in outcome.finals] == ["hello world"]
    assert outcome.types[0] == "start_of_speech" and "end_of_speech" in outcome.types
    assert sum(usage.audio_duration or 0 for usage in outcome.usages) > 0
    assert outcome.finals[0].alternatives[0].language == "en-US"


async def _speak(script: list[dict[str, Any]], **fields: Any) -> tuple[InworldTTSOutcome, Any]:
    async with SimulatorServer() as sim:
        request = InworldTTSStreamRequest(
            target=target(sim), script=script, conn_options=ONE_ATTEMPT, **fields
        )
        answer = await InworldReference().inworld_tts_stream(request)
        journal = sim.journal.entries()
    return InworldTTSOutcome(tuple(answer.events)), journal


def _creates(journal: list[dict[str, Any]]) -> list[str]:
    return [
        e["data"]["contextId"]
        for e in journal
        if e.get("kind") == "ws_message"
        and e.get("direction") == "in"
        and isinstance(e.get("data"), dict)
        and "create" in e["data"]
    ]


def test_streams_run_concurrently_as_contexts_of_one_socket() -> None:
    script = [
        {"op": "push_text", "stream": 0, "text": "Good morning. "},
        {"op": "push_text", "stream": 1, "text": "Good night. "},
        {"op": "end_input", "stream": 1},
        {"op": "wait_event", "stream": 1, "event": "end"},
        {"op": "push_text", "stream": 2, "text": "See you. "},
    ]
    outcome, journal = asyncio.run(_speak(script, timestamp_type="WORD"))
    texts = ["Good morning.", "Good night.", "See you."]
    for synthesis, text in zip(outcome.syntheses, texts, strict=True):
        assert synthesis.error is None, outcome.describe()
        samples = np.frombuffer(synthesis.audio, dtype="<i2")
        assert [segment.text for segment in decode_tone(samples, sample_rate=24000)] == [text]
        assert [w.text for w in synthesis.timed_texts] == text.split()
        # The segment id is the context's id (IW-WS-5).
        assert len(synthesis.segment_ids) == 1
    assert sorted(s.segment_ids[0] for s in outcome.syntheses) == sorted(_creates(journal))
    # Stream 1 ended before stream 2 opened: the script's wait orders them.
    ends = {e.synthesis: e.t for e in outcome.events if e.type == "tts.end"}
    first_audio_2 = min(e.t for e in outcome.events if e.type == "tts.audio" and e.synthesis == 2)
    assert ends[1] <= first_audio_2


def test_a_refused_construction_ends_every_stream_of_the_script() -> None:
    script = [{"op": "push_text", "text": "a"}, {"op": "push_text", "stream": 1, "text": "b"}]
    request = InworldTTSStreamRequest(target=WHERE, script=script, extra_kwargs={"encoding": "?"})
    answer = asyncio.run(InworldReference().inworld_tts_stream(request))
    assert answer.calls == 2 and all(e.error is not None for e in answer.events)


def test_the_documented_cmd_examples_are_valid() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "iut-protocol.md").read_text()
    section = doc[doc.index("## 6c. ") : doc.index("## 7. `shutdown`")]
    http, answer, voices = (
        json.loads(block.split("```")[0]) for block in section.split("```json\n")[1:]
    )
    assert InworldTTSHTTPRequest.model_validate(http).syntheses == 2
    events = InworldTTSAnswer.model_validate(answer)
    assert events.calls == 2
    assert [e.type for e in events.events if e.synthesis == 1] == [
        "tts.audio",
        "inworld.timed_text",
        "tts.end",
    ]
    assert InworldVoicesRequest.model_validate(voices).language == "en"
