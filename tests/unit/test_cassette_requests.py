"""Each protocol's recorded exchange → the IUT request that makes the same client traffic.

Every cassette here is written with :class:`CassetteWriter` from messages the reference wire
modules build; the request read back is checked by building the client traffic from it again
with the reference client's own pieces (the LLM body, the Inworld body and ``create``), or by
its script.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from voicewire.harness.cassette_run import (
    REPLAY_API_KEY,
    cassette_sessions,
)
from voicewire.harness.inworld import (
    InworldEndInputStep,
    InworldFlushStep,
    InworldPushTextStep,
)
from voicewire.harness.inworld_reference import InworldReference
from voicewire.harness.iut import Target
from voicewire.harness.llm_reference import LLMReference
from voicewire.harness.protocols import CASSETTE_OPERATIONS, TABLE
from voicewire.harness.stt import EndInputStep, FlushStep, PushAudioStep, UpdateOptionsStep
from voicewire.harness.stt_reference import frame_bytes
from voicewire.harness.tts import PushTextStep, TTSEndInputStep, TTSFlushStep
from voicewire.reference.inworld.tts import InworldTTS
from voicewire.reference.inworld.wire.contexts import (
    CloseContext,
    CreateContext,
    FlushContext,
    SendText,
    TextPiece,
    create_context_config,
    encode_context_message,
)
from voicewire.reference.inworld.wire.stt_messages import (
    CloseStream,
    EndTurn,
    TranscribeAudioChunk,
    encode_transcribe_message,
    transcribe_config,
)
from voicewire.reference.inworld.wire.synthesis import (
    InworldAudioConfig,
    InworldSynthesizeRequest,
    encode_synthesize_request,
)
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.inference import build_request
from voicewire.reference.llm.tools import NamedToolChoice
from voicewire.reference.stt.wire.messages import (
    InputAudio,
    SessionFinalize,
    SessionUpdate,
    UpdateSettings,
    encode_message,
    session_create,
)
from voicewire.reference.tts.wire.messages import (
    SessionFlush,
    encode_tts_message,
    input_transcript,
    tts_session_create,
)
from voicewire.simulators.core.registry import REGISTRY
from voicewire.simulators.recording.cassette import CassetteWriter, load_cassette

TARGET = Target(base_url="http://127.0.0.1:9/v1", api_key="k", api_secret="s" * 32)


def _cassette(path: Path, exchanges: list[dict[str, Any]]) -> Path:
    """A cassette of ``exchanges``: each a request (``protocol``, ``endpoint``, ``method``,
    ``path`` ...) with ``client`` messages for a WebSocket session."""
    writer = CassetteWriter(path, protocols=["llm", "stt", "tts", "inworld"])
    for spec in exchanges:
        client = spec.pop("client", [])
        x = writer.open_exchange(spec)
        writer.response(x, 101 if spec.get("websocket") else 200)
        for message in client:
            writer.message(x, "client", message)
        writer.end(x)
    writer.close()
    return path


def _only_request(path: Path) -> Any:
    (session,) = cassette_sessions(load_cassette(path))
    assert session.unreplayable is None, session.unreplayable
    return session.operation.request(session.exchange, TARGET)


def _unreplayable(path: Path) -> str:
    (session,) = cassette_sessions(load_cassette(path))
    assert session.unreplayable is not None
    return session.unreplayable


def test_every_operation_is_a_recorded_endpoint_and_an_operation_of_the_table() -> None:
    import voicewire.simulators  # noqa: F401  (fills the registry)

    recorded = {endpoint.endpoint for _, endpoint in REGISTRY.recorded()}
    assert {operation.endpoint for operation in CASSETTE_OPERATIONS} == recorded
    for operation in CASSETTE_OPERATIONS:
        _, capability = TABLE.operation(operation.operation)
        assert capability.name == operation.capability


# -- LLM ------------------------------------------------------------------------------------------

TOOL_PARAMETERS = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}


def _llm_body() -> dict[str, Any]:
    ctx = ChatContext.from_dict(
        {
            "items": [
                {"type": "message", "id": "a", "role": "system", "content": ["Be brief."]},
                {"type": "message", "id": "b", "role": "user", "content": ["Weather?"]},
                {"type": "message", "id": "c", "role": "assistant", "content": ["Looking."]},
                {
                    "type": "function_call",
                    "id": "c/fnc_0",
                    "call_id": "call_1",
                    "name": "weather",
                    "arguments": '{"city": "Oslo"}',
                },
                {
                    "type": "function_call_output",
                    "id": "d",
                    "call_id": "call_1",
                    "output": "sunny",
                },
                {"type": "message", "id": "e", "role": "user", "content": ["And tomorrow?"]},
            ]
        }
    )
    reference = LLMReference()
    from voicewire.harness.llm import ToolSpec

    tool = reference.make_tool(
        ToolSpec(name="weather", description="The weather.", parameters=TOOL_PARAMETERS)
    )
    return build_request(
        model="openai/gpt-4.1-mini",
        chat_ctx=ctx,
        tools=[tool],
        parallel_tool_calls=False,
        tool_choice=NamedToolChoice("weather"),
        response_format=None,
        constructor_kwargs={},
        call_kwargs={"temperature": 0.2},
    )


def _llm_exchange(body: dict[str, Any], **headers: str) -> dict[str, Any]:
    return {
        "protocol": "llm",
        "endpoint": "llm",
        "method": "POST",
        "path": "/v1/chat/completions",
        "headers": headers,
        "body": json.dumps(body),
    }


def test_a_chat_request_makes_the_recorded_body_again(tmp_path: Path) -> None:
    body = _llm_body()
    path = _cassette(
        tmp_path / "c.jsonl",
        [_llm_exchange(body, **{"X-LiveKit-Inference-Provider": "openai"})],
    )
    request = _only_request(path)
    assert request.llm.model == "openai/gpt-4.1-mini"
    assert request.llm.provider == "openai"
    assert request.conn_options.max_retry == 0
    reference = LLMReference()
    options = reference._call_options(request)
    again = build_request(
        model=request.llm.model,
        chat_ctx=options["chat_ctx"],
        tools=options["tools"],
        parallel_tool_calls=options.get("parallel_tool_calls"),
        tool_choice=options.get("tool_choice"),
        response_format=None,
        constructor_kwargs=request.llm.extra_kwargs,
        call_kwargs=options.get("extra_kwargs", {}),
    )
    assert again == body


def test_a_raw_tool_is_kept_as_sent(tmp_path: Path) -> None:
    body = _llm_body()
    body["tools"] = [
        {
            "type": "function",
            "function": {"name": "lookup", "description": "", "parameters": {"type": "object"}},
        }
    ]
    body["tool_choice"] = "auto"
    request = _only_request(_cassette(tmp_path / "c.jsonl", [_llm_exchange(body)]))
    (tool,) = request.tools
    assert tool.raw and tool.parameters == {"type": "object"}
    assert request.tool_choice == "auto"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"stream": False}, "stream"),
        ({"messages": [{"role": "assistant", "content": "", "tool_calls": []}]}, "messages[0]"),
        (
            {"tools": [{"type": "function", "function": {"name": "x", "parameters": {}}}]},
            "tools[0]",
        ),
    ],
)
def test_a_body_the_chat_request_cannot_say_is_named(
    tmp_path: Path, change: dict[str, Any], named: str
) -> None:
    body = {**_llm_body(), **change}
    problem = _unreplayable(_cassette(tmp_path / "c.jsonl", [_llm_exchange(body)]))
    assert named in problem and "exchange 0" in problem


# -- LiveKit STT ----------------------------------------------------------------------------------


def _pcm(samples: int, start: int = 0) -> bytes:
    return bytes((start + i) % 251 for i in range(samples * 2))


def test_an_stt_session_becomes_its_audio_flushes_update_and_end(tmp_path: Path) -> None:
    frame = 800  # 50 ms at 16 kHz
    audio = [_pcm(frame, 1), _pcm(frame, 2), _pcm(300, 3), _pcm(frame, 4), _pcm(120, 5)]
    client = [
        encode_message(session_create(sample_rate=16000, language="de", extra={"punctuate": True})),
        *(encode_message(InputAudio.from_pcm(pcm)) for pcm in audio[:3]),
        encode_message(SessionUpdate(settings=UpdateSettings(language="fr"))),
        *(encode_message(InputAudio.from_pcm(pcm)) for pcm in audio[3:]),
        encode_message(SessionFinalize()),
    ]
    path = _cassette(
        tmp_path / "c.jsonl",
        [
            {
                "protocol": "stt",
                "endpoint": "stt",
                "method": "GET",
                "path": "/v1/stt",
                "query": "model=deepgram/nova-3",
                "websocket": True,
                "client": client,
            }
        ],
    )
    request = _only_request(path)
    assert (request.model, request.language, request.sample_rate) == (
        "deepgram/nova-3",
        "de",
        16000,
    )
    assert request.extra_kwargs == {"punctuate": True}
    kinds = [type(step) for step in request.script]
    assert kinds == [PushAudioStep, FlushStep, UpdateOptionsStep, PushAudioStep, EndInputStep]
    first, _, update, second, _ = request.script
    assert first.audio == b"".join(audio[:3]) and first.sample_rate == 16000
    assert second.audio == b"".join(audio[3:])
    assert update.language == "fr" and update.model is None


def test_an_stt_session_without_session_create_is_not_replayable(tmp_path: Path) -> None:
    path = _cassette(
        tmp_path / "c.jsonl",
        [
            {
                "protocol": "stt",
                "endpoint": "stt",
                "method": "GET",
                "path": "/stt",
                "websocket": True,
                "client": [encode_message(SessionFinalize())],
            }
        ],
    )
    assert "session.create" in _unreplayable(path)


# -- LiveKit TTS ----------------------------------------------------------------------------------


def _tts_exchange(client: list[str]) -> dict[str, Any]:
    return {
        "protocol": "tts",
        "endpoint": "tts",
        "method": "GET",
        "path": "/tts",
        "query": "model=cartesia/sonic-3",
        "websocket": True,
        "client": client,
    }


def test_a_tts_socket_becomes_one_stream_per_synthesis(tmp_path: Path) -> None:
    options = {"voice": "v1", "model": "cartesia/sonic-3", "language": "en"}
    create = tts_session_create(sample_rate=24000, extra={"speed": 1}, **options)
    first = ["Hello there, this is the first sentence.", "And here comes the second one."]
    second = ["Goodbye."]
    client = [
        encode_tts_message(create),
        *(encode_tts_message(input_transcript(s, extra={"speed": 1}, **options)) for s in first),
        encode_tts_message(SessionFlush()),
        *(encode_tts_message(input_transcript(s, extra={"speed": 1}, **options)) for s in second),
        encode_tts_message(SessionFlush()),
    ]
    request = _only_request(_cassette(tmp_path / "c.jsonl", [_tts_exchange(client)]))
    assert (request.model, request.voice, request.language) == ("cartesia/sonic-3", "v1", "en")
    assert request.sample_rate == 24000 and request.extra_kwargs == {"speed": 1}
    assert request.streams == [
        [
            PushTextStep(text=first[0]),
            TTSFlushStep(),
            PushTextStep(text=first[1]),
            TTSFlushStep(),
            TTSEndInputStep(),
        ],
        [PushTextStep(text="Goodbye."), TTSFlushStep(), TTSEndInputStep()],
    ]


def test_a_tts_synthesis_never_ended_is_not_replayable(tmp_path: Path) -> None:
    client = [
        encode_tts_message(tts_session_create(model="cartesia/sonic-3")),
        encode_tts_message(input_transcript("Hello there.", model="cartesia/sonic-3")),
    ]
    problem = _unreplayable(_cassette(tmp_path / "c.jsonl", [_tts_exchange(client)]))
    assert "session.flush" in problem


# -- Inworld --------------------------------------------------------------------------------------


def test_an_inworld_synthesis_body_is_made_again(tmp_path: Path) -> None:
    body = InworldSynthesizeRequest(
        text="Hi there.",
        voiceId="Dennis",
        modelId="inworld-tts-1.5-max",
        audioConfig=InworldAudioConfig(
            audioEncoding="PCM",
            bitrate=64000,
            sampleRateHertz=22050,
            temperature=0.8,
            speakingRate=1.1,
        ),
        language="en",
        timestampType="WORD",
        timestampTransportStrategy="SYNC",
    )
    exchange = {
        "protocol": "inworld",
        "endpoint": "inworld.synthesize",
        "method": "POST",
        "path": "/tts/v1/voice:stream",
        "body": encode_synthesize_request(body).decode(),
    }
    request = _only_request(_cassette(tmp_path / "c.jsonl", [exchange]))
    assert request.texts == ["Hi there."] and request.timestamp_type == "WORD"
    tts = InworldTTS(**InworldReference().tts_arguments(request))
    assert tts.synthesize_request("Hi there.").to_wire() == body.to_wire()


@pytest.mark.parametrize(("query", "language"), [("filter=language%3Des", "es"), ("", None)])
def test_an_inworld_voices_request_keeps_its_language(
    tmp_path: Path, query: str, language: str | None
) -> None:
    exchange = {
        "protocol": "inworld",
        "endpoint": "inworld.voices",
        "method": "GET",
        "path": "/tts/v1/voices",
        "query": query,
    }
    assert _only_request(_cassette(tmp_path / "c.jsonl", [exchange])).language == language


def _contexts_exchange(client: list[str]) -> dict[str, Any]:
    return {
        "protocol": "inworld",
        "endpoint": "inworld.contexts",
        "method": "GET",
        "path": "/tts/v1/voice:streamBidirectional",
        "websocket": True,
        "client": client,
    }


def test_inworld_contexts_become_one_script_in_the_recorded_order(tmp_path: Path) -> None:
    config = create_context_config(voice="Dennis", sample_rate=16000, timestamp_type="WORD")

    def frame(message: Any) -> str:
        return encode_context_message(message)

    one, two = "aaaaaaaaaaa1", "bbbbbbbbbbb2"
    client = [
        frame(CreateContext(create=config, contextId=one)),
        frame(SendText(send_text=TextPiece(text="Hello there, how are you?"), contextId=one)),
        frame(CreateContext(create=config, contextId=two)),
        frame(SendText(send_text=TextPiece(text="The second voice speaks."), contextId=two)),
        frame(FlushContext(contextId=one)),
        frame(CloseContext(contextId=one)),
        frame(FlushContext(contextId=two)),
        frame(CloseContext(contextId=two)),
    ]
    request = _only_request(_cassette(tmp_path / "c.jsonl", [_contexts_exchange(client)]))
    assert request.script == [
        InworldPushTextStep(stream=0, text="Hello there, how are you?"),
        InworldFlushStep(stream=0),
        InworldPushTextStep(stream=1, text="The second voice speaks."),
        InworldFlushStep(stream=1),
        InworldEndInputStep(stream=0),
        InworldEndInputStep(stream=1),
    ]
    tts = InworldTTS(**InworldReference().tts_arguments(request))
    assert tts.context_config() == config


def test_a_cancelled_inworld_context_is_not_replayable(tmp_path: Path) -> None:
    from voicewire.reference.inworld.wire.contexts import CancelContext

    config = create_context_config()
    client = [
        encode_context_message(CreateContext(create=config, contextId="c1")),
        encode_context_message(CancelContext(contextId="c1")),
    ]
    problem = _unreplayable(_cassette(tmp_path / "c.jsonl", [_contexts_exchange(client)]))
    assert "cancel" in problem


def test_an_inworld_stt_session_pushes_every_chunk_as_recorded(tmp_path: Path) -> None:
    chunks = [_pcm(1600, 1), _pcm(1600, 2), _pcm(1600, 3), _pcm(640, 4), _pcm(1600, 5)]
    config = transcribe_config(language="en-GB", sample_rate=16000, vad_threshold=0.4)
    client = [
        encode_transcribe_message(config),
        *(encode_transcribe_message(TranscribeAudioChunk.from_pcm(c)) for c in chunks[:4]),
        encode_transcribe_message(EndTurn()),
        encode_transcribe_message(TranscribeAudioChunk.from_pcm(chunks[4])),
        encode_transcribe_message(CloseStream()),
    ]
    exchange = {
        "protocol": "inworld",
        "endpoint": "inworld.transcribe",
        "method": "GET",
        "path": "/stt/v1/transcribe:streamBidirectional",
        "websocket": True,
        "client": client,
    }
    request = _only_request(_cassette(tmp_path / "c.jsonl", [exchange]))
    assert (request.language, request.sample_rate) == ("en-GB", 16000)
    assert request.extra_kwargs["vad_threshold"] == 0.4
    pushes = [step for step in request.script if isinstance(step, PushAudioStep)]
    assert [frame for step in pushes for frame in frame_bytes(step)] == chunks
    kinds = [type(step) for step in request.script]
    assert kinds == [PushAudioStep, PushAudioStep, FlushStep, PushAudioStep, EndInputStep]


def test_a_session_request_aims_at_the_replayer_with_the_recorded_base_path(
    tmp_path: Path,
) -> None:
    path = _cassette(tmp_path / "c.jsonl", [_llm_exchange(_llm_body())])
    (session,) = cassette_sessions(load_cassette(path))
    request = session.request("http://127.0.0.1:4321")
    assert request.llm.base_url == "http://127.0.0.1:4321/v1"
    assert request.llm.api_key == REPLAY_API_KEY
    assert session.name == "x0-llm"
    assert "LLM-REQ-1" in session.spec_ids and "LLM-TXT-1" in session.spec_ids
