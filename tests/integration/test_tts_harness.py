"""The TTS protocol in the harness: the ``tts.stream`` / ``tts.synthesize`` models, the
registration, and the reference part driving the reference client against the real TTS
simulator on loopback."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError
from voicewire.harness.events import load_events
from voicewire.harness.iut import ConnOptions, Target
from voicewire.harness.protocols import TABLE
from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.harness.tts import (
    TTS_SERVER,
    TTS_STREAM,
    TTS_SYNTHESIZE,
    TTSAnswer,
    TTSAudioEvent,
    TTSEndEvent,
    TTSOutcome,
    TTSStreamRequest,
    TTSSynthesizeRequest,
    probe_tts_credentials,
    speak,
    synthesize,
)
from voicewire.harness.tts_reference import TTSReference
from voicewire.simulators import SimulatorServer, parse_scenario

ONE_ATTEMPT = ConnOptions(max_retry=0, retry_interval=0.0, timeout=5.0)
WHERE = Target(base_url="http://h/v1", api_key="k", api_secret="s")


def scenario(reply: dict[str, Any], faults: list[dict[str, Any]] | None = None) -> Any:
    return parse_scenario(
        {
            "name": "tts-harness",
            "rules": [{"match": {"endpoint": "tts"}, "reply": reply, "faults": faults or []}],
        }
    )


def target(sim: SimulatorServer) -> Target:
    return Target(base_url=sim.base_url, api_key=sim.api_key, api_secret=sim.api_secret)


def client_messages(journal: list[dict[str, Any]], kind: str) -> list[Any]:
    return [
        e["data"]
        for e in journal
        if e.get("kind") == "ws_message"
        and e.get("direction") == "in"
        and isinstance(e.get("data"), dict)
        and e["data"].get("type") == kind
    ]


# -- models and registration -------------------------------------------------------------------


def test_registration_declares_the_capabilities_and_events() -> None:
    assert TABLE.capability(TTS_STREAM).direction == "client"
    assert TABLE.capability(TTS_SYNTHESIZE).direction == "client"
    assert TABLE.capability(TTS_SERVER).direction == "server"
    assert TABLE.operation(TTS_STREAM)[0].method == "tts_stream"
    assert TABLE.operation(TTS_SYNTHESIZE)[0].method == "tts_synthesize"
    assert {"tts.audio", "tts.error", "tts.end"} <= set(TABLE.event_type_names())
    assert TTS_SERVER not in TABLE.server_capabilities()
    assert TTS_SERVER in TABLE.server_capabilities(["tts"])
    assert {TTS_STREAM, TTS_SYNTHESIZE, TTS_SERVER} <= ReferenceIUT().capabilities


def test_request_round_trips_as_json_and_rejects_bad_steps() -> None:
    request = TTSStreamRequest(
        target=WHERE,
        voice="v",
        streams=[
            [
                {"op": "push_text", "text": "Hello there. "},
                {"op": "flush"},
                {"op": "wait_event", "event": "audio", "count": 2},
                {"op": "end_input"},
            ],
            [{"op": "push_text", "text": "Again."}],
        ],
    )
    assert TTSStreamRequest.model_validate_json(request.model_dump_json()) == request
    assert request.syntheses == 2 and request.sample_rate == 24000
    with pytest.raises(ValidationError):
        TTSStreamRequest.model_validate({"target": WHERE.model_dump(), "streams": [[{"op": "x"}]]})
    with pytest.raises(ValidationError):
        TTSStreamRequest(target=WHERE, streams=[])
    with pytest.raises(ValidationError):
        TTSSynthesizeRequest(target=WHERE, texts=["a"] * 21)
    with pytest.raises(ValidationError, match="not base64"):
        TTSAudioEvent(t=0, synthesis=0, pcm="!!", sample_rate=24000)


def test_answer_events_go_in_synthesis_order() -> None:
    audio = TTSAudioEvent.of(0.0, 0, b"\x01\x00" * 240, sample_rate=24000, is_final=True)
    answer = TTSAnswer(events=[audio, TTSEndEvent(t=0, synthesis=0), TTSEndEvent(t=0, synthesis=1)])
    assert answer.calls == 2
    assert load_events(TABLE, answer.model_dump_json(include={"events"})[10:-1]) == answer.events
    assert audio.duration == pytest.approx(0.01)
    with pytest.raises(ValidationError, match="has not ended"):
        TTSAnswer(events=[TTSEndEvent(t=0, synthesis=1)])
    with pytest.raises(ValidationError, match=r"end with a tts\.end"):
        TTSAnswer(events=[TTSEndEvent(t=0, synthesis=0), audio.model_copy(update={"synthesis": 1})])
    with pytest.raises(ValidationError, match=r"end with a tts\.end"):
        TTSAnswer(events=[])


def test_driver_conveniences_check_the_synthesis_count() -> None:
    from voicewire.harness.iut import IUTProtocolError

    seen: list[tuple[str, Any]] = []

    class Recorder:
        def __init__(self, ends: int) -> None:
            self.ends = ends

        def perform(self, operation: str, request: Any) -> TTSAnswer:
            seen.append((operation, request))
            return TTSAnswer(events=[TTSEndEvent(t=0, synthesis=i) for i in range(self.ends)])

    outcome = speak(Recorder(1), target=WHERE, script=[{"op": "push_text", "text": "hi"}])
    assert [s.error for s in outcome.syntheses] == [None]
    assert seen[-1][0] == TTS_STREAM and seen[-1][1].syntheses == 1
    outcome = synthesize(Recorder(2), target=WHERE, texts=["a", "b"])
    assert len(outcome.syntheses) == 2 and seen[-1][0] == TTS_SYNTHESIZE
    with pytest.raises(IUTProtocolError, match="reports 1 syntheses, not 2"):
        synthesize(Recorder(1), target=WHERE, texts=["a", "b"])


# -- the reference part against the simulator --------------------------------------------------


async def _run(
    request_fields: dict[str, Any],
    *,
    reply: Any = None,
    faults: Any = None,
    part: TTSReference | None = None,
) -> Any:
    rules = scenario(reply or {}, faults) if reply is not None or faults else None
    async with SimulatorServer(rules) as sim:
        fields = {"target": target(sim), "conn_options": ONE_ATTEMPT, **request_fields}
        if "streams" in fields:
            answer = await (part or TTSReference()).tts_stream(TTSStreamRequest(**fields))
        else:
            answer = await (part or TTSReference()).tts_synthesize(TTSSynthesizeRequest(**fields))
        return TTSOutcome(tuple(answer.events)), sim.journal.entries()


def test_streams_share_one_pooled_socket_and_report_their_audio() -> None:
    script = [
        {"op": "push_text", "text": "The quick brown fox jumps over the lazy dog. "},
        # The splitter holds a sentence until the next begins: flush sends it now.
        {"op": "flush"},
        {"op": "wait_event", "event": "audio", "timeout": 5},
        {"op": "push_text", "text": "Then it sleeps."},
    ]
    outcome, journal = asyncio.run(_run({"streams": [script, [script[0]]]}))
    first, second = outcome.syntheses
    for synthesis in (first, second):
        assert synthesis.error is None, synthesis.describe()
        assert len(synthesis.finals) == 1 and synthesis.frames[-1].is_final
        assert {f.sample_rate for f in synthesis.frames} == {24000}
        assert len(synthesis.segment_ids) == 1 and synthesis.segment_ids[0]
    # One socket: one session.create, two session.flush, and the audio the server sent.
    assert len(client_messages(journal, "session.create")) == 1
    assert len(client_messages(journal, "session.flush")) == 2
    transcripts = [m["transcript"] for m in client_messages(journal, "input_transcript")]
    spoken = "The quick brown fox jumps over the lazy dog. Then it sleeps."
    assert " ".join("".join(transcripts[:-1]).split()) == spoken
    assert first.duration > second.duration > 0


def test_synthesize_runs_each_text() -> None:
    outcome, journal = asyncio.run(_run({"texts": ["Good morning.", "Good night."]}))
    assert [s.error for s in outcome.syntheses] == [None, None]
    assert [m["transcript"] for m in client_messages(journal, "input_transcript")] == [
        "Good morning. ",
        "Good night. ",
    ]


def test_attempt_errors_and_the_synthesis_error_are_reported() -> None:
    faults = [{"kind": "error_event", "at_event": 0, "message": "voice gone"}]
    outcome, _ = asyncio.run(_run({"texts": ["Hello there."]}, reply={}, faults=faults))
    synthesis = outcome.only
    assert synthesis.error is not None and synthesis.frames == []
    assert [e.recoverable for e in synthesis.errors] == [False]
    assert "voice gone" in synthesis.error.message


def test_a_refused_construction_ends_every_synthesis() -> None:
    async def go() -> TTSAnswer:
        request = TTSSynthesizeRequest(target=WHERE, texts=["a", "b"], model="")
        return await TTSReference().tts_synthesize(request)

    answer = asyncio.run(go())
    assert answer.calls == 2 and all(e.error is not None for e in answer.events)


def test_credentials_probe_reports_a_refusal_and_accepts_good_keys() -> None:
    async def go() -> tuple[str | None, str | None]:
        async with SimulatorServer() as sim:
            good = await probe_tts_credentials(target(sim))
            bad = await probe_tts_credentials(
                Target(base_url=sim.base_url, api_key=sim.api_key, api_secret="wrong-secret" * 3)
            )
            return good, bad

    good, bad = asyncio.run(go())
    assert good is None
    assert bad is not None and "401" in bad and "/tts" in bad


def test_as_stt_script_pushes_the_audio_in_order_then_ends_the_input() -> None:
    def frame(synthesis: int, pcm: bytes, rate: int, final: bool = False) -> TTSAudioEvent:
        return TTSAudioEvent.of(0, synthesis, pcm, sample_rate=rate, is_final=final)

    outcome = TTSOutcome(
        (
            frame(0, b"\x01\x00\x02\x00", 24000),
            frame(0, b"\x03\x00", 24000, final=True),
            TTSEndEvent(t=0, synthesis=0),
            frame(1, b"\x04\x00", 16000, final=True),
            TTSEndEvent(t=0, synthesis=1),
        )
    )
    first, second, end = outcome.as_stt_script(frame_ms=20)
    assert (first.audio, first.sample_rate, first.frame_ms) == (
        b"\x01\x00\x02\x00\x03\x00",
        24000,
        20,
    )
    assert (second.audio, second.sample_rate) == (b"\x04\x00", 16000)
    assert end.op == "end_input"


def test_an_error_aclose_raises_is_the_synthesis_error_not_the_operation_s() -> None:
    # Upstream's ChunkedStream.aclose re-raises what its task raised: an observation of the
    # implementation, which must end the synthesis (a FAIL), never escape (a harness ERROR).
    from voicewire.reference.tts import TTS

    class RaisingTTS(TTS):
        def synthesize(self, text: str, **options: Any) -> Any:
            stream = super().synthesize(text, **options)
            close = stream.aclose

            async def aclose() -> None:
                await close()
                raise ValueError("raised again at aclose")

            stream.aclose = aclose  # type: ignore[method-assign]
            return stream

        async def aclose(self) -> None:
            await super().aclose()
            raise RuntimeError("raised at the TTS's aclose")

    part = TTSReference()
    part.tts_class = RaisingTTS
    outcome, _ = asyncio.run(_run({"texts": ["Hello."]}, part=part))
    assert outcome.only.error is not None and outcome.only.error.kind == "ValueError"

    class ClosingTTS(RaisingTTS):
        def synthesize(self, text: str, **options: Any) -> Any:
            return TTS.synthesize(self, text, **options)

    part.tts_class = ClosingTTS
    outcome, _ = asyncio.run(_run({"texts": ["Hello."]}, part=part))
    assert outcome.only.error is not None and outcome.only.error.kind == "RuntimeError"
