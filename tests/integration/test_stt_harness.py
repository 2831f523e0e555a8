"""The STT protocol in the harness: the ``stt.stream`` models, the registration, and the
reference part driving the reference client against the real STT simulator on loopback."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError
from voicewire.harness.events import event_json_schema, load_events
from voicewire.harness.iut import ConnOptions, Target
from voicewire.harness.llm import ConnOptions as LLMConnOptions
from voicewire.harness.protocols import TABLE
from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.harness.stt import (
    STT_SERVER,
    STT_STREAM,
    PushAudioStep,
    PushToneStep,
    STTEndEvent,
    STTOutcome,
    STTStreamAnswer,
    STTStreamRequest,
    probe_stt_credentials,
)
from voicewire.harness.stt_reference import MalformedSpeechEvent, STTReference, audio_frames
from voicewire.simulators import SimulatorServer, parse_scenario

RATE = 16000
ONE_ATTEMPT = ConnOptions(max_retry=0, retry_interval=0.0, timeout=5.0)


def scenario(reply: dict[str, Any], faults: list[dict[str, Any]] | None = None) -> Any:
    return parse_scenario(
        {
            "name": "stt-harness",
            "rules": [{"match": {"endpoint": "stt"}, "reply": reply, "faults": faults or []}],
        }
    )


def target(sim: SimulatorServer) -> Target:
    return Target(base_url=sim.base_url, api_key=sim.api_key, api_secret=sim.api_secret)


def silence(seconds: float, rate: int = RATE) -> bytes:
    return bytes(2 * round(seconds * rate))


# -- models and registration -------------------------------------------------------------------


def test_registration_declares_the_capabilities_and_events() -> None:
    assert TABLE.capability(STT_STREAM).direction == "client"
    assert TABLE.capability(STT_SERVER).direction == "server"
    assert TABLE.operation(STT_STREAM)[0].method == "stt_stream"
    assert {"stt.speech", "stt.error", "stt.end"} <= set(TABLE.event_type_names())
    # A url: IUT naming no protocols keeps serving the LLM only.
    assert STT_SERVER not in TABLE.server_capabilities()
    assert STT_SERVER in TABLE.server_capabilities(["stt"])
    assert {STT_STREAM, STT_SERVER} <= ReferenceIUT().capabilities
    # The connect options are one model for every client protocol.
    assert LLMConnOptions is ConnOptions


def test_committed_event_schema_has_the_stt_events() -> None:
    committed = json.loads((Path(__file__).parents[2] / "docs" / "events.schema.json").read_text())
    assert committed == json.loads(json.dumps(event_json_schema(TABLE)))


def test_request_round_trips_as_json_and_rejects_bad_steps() -> None:
    request = STTStreamRequest(
        target=Target(base_url="http://h/v1", api_key="k", api_secret="s"),
        language="en",
        script=[
            PushAudioStep.of(silence(0.1), RATE, frame_ms=7),
            PushToneStep(text="hi"),
            {"op": "flush"},
            {"op": "update_options", "language": "fr"},
            {"op": "wait_event", "event": "final_transcript"},
            {"op": "end_input"},
        ],
    )
    assert STTStreamRequest.model_validate_json(request.model_dump_json()) == request
    # A tone step reaches a driver as the audio it stands for.
    synthesised = request.audio_script()[1]
    assert isinstance(synthesised, PushAudioStep) and synthesised.sample_rate == RATE
    with pytest.raises(ValidationError, match="not base64"):
        PushAudioStep(pcm="!!", sample_rate=RATE)
    with pytest.raises(ValidationError, match="whole s16le samples"):
        PushAudioStep.of(b"\x00\x00\x00", RATE)
    with pytest.raises(ValidationError):
        STTStreamRequest.model_validate(
            {"target": request.target.model_dump(), "script": [{"op": "shout"}]}
        )


def test_answer_must_end_with_one_end_event() -> None:
    with pytest.raises(ValidationError, match=r"exactly one stt\.end"):
        STTStreamAnswer(events=[])
    answer = STTStreamAnswer(events=[STTEndEvent(t=0.0)])
    assert answer.calls == 1
    loaded = load_events(TABLE, answer.model_dump_json(include={"events"})[10:-1])
    assert loaded == answer.events


def test_audio_frames_cut_the_push_into_frame_ms() -> None:
    step = PushAudioStep.of(silence(0.025), RATE, frame_ms=10)
    frames = audio_frames(step)
    assert [f.samples_per_channel for f in frames] == [160, 160, 80]


# -- the reference part against the simulator --------------------------------------------------


async def _scripted(reply: dict[str, Any], script: list[Any], **fields: Any) -> Any:
    async with SimulatorServer(scenario(reply, fields.pop("faults", None))) as sim:
        request = STTStreamRequest(
            target=target(sim), language="en", conn_options=ONE_ATTEMPT, script=script, **fields
        )
        answer = await STTReference().stt_stream(request)
        return STTOutcome(tuple(answer.events)), sim.journal.entries()


def test_reference_part_records_the_scripted_segments_and_usage() -> None:
    reply = {
        "interim_interval": 0.4,
        "segments": [
            {
                "text": "hello world",
                "start": 0.0,
                "duration": 0.8,
                "confidence": 0.9,
                "words": [
                    {"word": "hello", "start": 0.0, "end": 0.35},
                    {"word": "world", "start": 0.4, "end": 0.8},
                ],
            }
        ],
    }
    script = [
        PushAudioStep.of(silence(0.8), RATE),
        {"op": "wait_event", "event": "final_transcript"},
        PushAudioStep.of(silence(0.2), RATE),
        {"op": "end_input"},
    ]
    outcome, journal = asyncio.run(_scripted(reply, script))
    assert outcome.error is None, outcome.describe()
    assert outcome.types == [
        "start_of_speech",
        "interim_transcript",
        "recognition_usage",
        "final_transcript",
        "end_of_speech",
    ]
    final = outcome.finals[0]
    assert final.text == "hello world"
    assert final.alternatives[0].end_time == pytest.approx(0.8)
    assert [w.text for w in final.alternatives[0].words] == ["hello", "world"]
    assert outcome.usages[0].audio_duration == pytest.approx(0.8)
    finalizes = [e for e in journal if e.get("data") == {"type": "session.finalize"}]
    assert len(finalizes) == 1


def test_reference_part_transcribes_a_tone_in_echo_mode() -> None:
    async def go() -> STTOutcome:
        async with SimulatorServer() as sim:
            request = STTStreamRequest(
                target=target(sim),
                conn_options=ONE_ATTEMPT,
                script=[PushToneStep(text="good morning", silence=0.5), {"op": "end_input"}],
            )
            return STTOutcome(tuple((await STTReference().stt_stream(request)).events))

    outcome = asyncio.run(go())
    assert outcome.error is None, outcome.describe()
    assert [f.text for f in outcome.finals] == ["good morning"]


def test_reference_part_reports_attempt_errors_and_the_stream_error() -> None:
    reply = {"interim_interval": None, "segments": [{"text": "hi", "start": 0, "duration": 0.2}]}
    faults = [{"kind": "error_event", "at_event": 0, "message": "bad settings", "code": 400}]
    script = [PushAudioStep.of(silence(0.3), RATE), {"op": "end_input"}]
    outcome, _ = asyncio.run(_scripted(reply, script, faults=faults))
    assert outcome.error is not None and outcome.error.status_code == 400
    assert outcome.error.retryable is False
    assert [(e.recoverable, e.error.status_code) for e in outcome.errors] == [(False, 400)]


def test_a_stream_left_open_ends_at_end_timeout() -> None:
    # No end_input: the stream never finalizes, so the part closes it after end_timeout.
    outcome, _ = asyncio.run(
        _scripted({"segments": []}, [PushAudioStep.of(silence(0.1), RATE)], end_timeout=0.3)
    )
    assert outcome.error is not None and outcome.error.kind == "TimeoutError"


def test_credentials_probe_reports_a_refusal_and_accepts_good_keys() -> None:
    async def go() -> tuple[str | None, str | None]:
        async with SimulatorServer() as sim:
            good = await probe_stt_credentials(target(sim))
            bad = await probe_stt_credentials(
                Target(base_url=sim.base_url, api_key=sim.api_key, api_secret="wrong-secret" * 3)
            )
            return good, bad

    good, bad = asyncio.run(go())
    assert good is None
    assert bad is not None and "401" in bad and "/stt" in bad


def test_push_tone_is_the_tone_code() -> None:
    from voicewire.reference.tone_code import encode_tone

    step = PushToneStep(text="ab", sample_rate=8000, silence=0.01)
    audio = np.frombuffer(step.as_audio().audio, dtype="<i2")
    tone = encode_tone("ab", sample_rate=8000).samples
    assert np.array_equal(audio[: tone.size], tone) and audio.size == tone.size + 80


def test_transcribe_sends_tone_steps_as_audio() -> None:
    from voicewire.harness.stt import transcribe

    seen: list[STTStreamRequest] = []

    class Recorder:
        def perform(self, operation: str, request: STTStreamRequest) -> STTStreamAnswer:
            assert operation == STT_STREAM
            seen.append(request)
            return STTStreamAnswer(events=[STTEndEvent(t=0.0)])

    where = Target(base_url="http://h/v1", api_key="k", api_secret="s")
    outcome = transcribe(Recorder(), target=where, script=[PushToneStep(text="hi")])
    assert outcome.error is None
    assert [step.op for step in seen[0].script] == ["push_audio"]


def test_the_documented_stt_stream_examples_are_valid() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "iut-protocol.md").read_text()
    start = doc.index("## 6a. `stt.stream`")
    section = doc[start : doc.index("\n## ", start)]
    blocks = section.split("```json\n")[1:]
    request, answer = (json.loads(block.split("```")[0]) for block in blocks)
    STTStreamRequest.model_validate(request)
    assert STTStreamAnswer.model_validate(answer).calls == 1


def test_the_example_stt_driver_passes_the_stt_suite(tmp_path: Path) -> None:
    """docs/examples/stt_driver.py, a cmd: driver with its own STT client, is conformant."""
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    driver = repo / "docs" / "examples" / "stt_driver.py"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "voicewire.harness.cli",
            "run",
            "--iut",
            f"cmd:{sys.executable} {driver}",
            "--suite",
            "stt",
            "--json",
            str(tmp_path / "report.json"),
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(repo), "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    outcomes = {case["nodeid"]: case["outcome"] for case in report["cases"]}
    client = {
        nodeid: outcome for nodeid, outcome in outcomes.items() if "test_stt_server" not in nodeid
    }
    server = {nodeid: outcome for nodeid, outcome in outcomes.items() if nodeid not in client}
    assert len(client) >= 19 and set(client.values()) == {"PASS"}, outcomes
    # A cmd: driver has no server: the stt.server cases are UNSUPPORTED, never skipped silently.
    assert server and set(server.values()) == {"UNSUPPORTED"}, outcomes


def test_a_mistyped_speech_event_is_the_implementations_error_not_the_harness() -> None:
    # What a client that passes a server's mistyped transcript through emits: a text that is
    # not a string (built without validation, as such a client would).
    from voicewire.reference.stt import SpeechData, SpeechEvent, SpeechEventType

    alternative = SpeechData.model_construct(language="en", text=1.5, start_time=0.0, end_time=0.1)
    event = SpeechEvent.model_construct(
        type=SpeechEventType.FINAL_TRANSCRIPT, request_id="r", alternatives=[alternative]
    )
    with pytest.raises(ValidationError) as raised:
        STTReference().record(event, 0.0)
    error = MalformedSpeechEvent.of(event, raised.value)
    assert str(error) == (
        "the implementation emitted a final_transcript event whose text is 1.5: "
        "Input should be a valid string"
    )
