"""A recorded LiveKit TTS socket as the ``tts.stream`` operation that makes the same traffic.

One socket carries the syntheses of one pooled client, one after another (TTS-C-3): each
synthesis is the ``input_transcript`` messages up to its ``session.flush``. The client's
messages are read with the reference wire codec (SPEC §4): ``session.create`` gives the
options (rate, voice, language, ``extra``; the model is the upgrade's ``?model=``), each
synthesis becomes one stream of the request whose script pushes every recorded transcript's
text and flushes it, so the sentence splitter (TTS-C-2) hands it back as it was sent, and
ends the input. The script is checked against the reference's own splitter; what the request
model cannot say (options changing between sentences, a synthesis the client never ended,
fallback models) is :class:`~voicewire.harness.cassette_run.NotReplayable`. One socket is one
attempt per synthesis (``max_retry`` 0).
"""

from __future__ import annotations

from typing import Any

from voicewire.harness.cassette_operation import (
    CassetteOperation,
    NotReplayable,
    client_json_messages,
    query_value,
)
from voicewire.harness.iut import ConnOptions, Target
from voicewire.harness.tts import (
    MAX_SYNTHESES,
    TTS_STREAM,
    PushTextStep,
    TTSEndInputStep,
    TTSFlushStep,
    TTSStreamRequest,
)
from voicewire.reference.tts.sentences import SentenceSplitter
from voicewire.reference.tts.wire.messages import (
    GenerationConfig,
    InputTranscript,
    SessionFlush,
    TTSSessionCreate,
    decode_tts_client_message,
)
from voicewire.simulators.recording.cassette import RecordedExchange

__all__ = ["TTS_CASSETTE", "tts_request_of"]


def _script(transcripts: list[str]) -> list[Any]:
    """One synthesis's script: each transcript's text pushed and flushed, then the end."""
    script: list[Any] = []
    for transcript in transcripts:
        script += [PushTextStep(text=transcript.removesuffix(" ")), TTSFlushStep()]
    return [*script, TTSEndInputStep()]


def _splits_as_recorded(model: str, script: list[Any]) -> list[str]:
    """The transcripts the reference's splitter makes of ``script`` (TTS-C-2)."""
    splitter = SentenceSplitter.for_model(model)
    made: list[str] = []
    for step in script:
        if isinstance(step, PushTextStep):
            made += splitter.push(step.text)
        elif isinstance(step, TTSFlushStep):
            made += splitter.flush()
        else:
            made += splitter.end_input()
    return made


def tts_request_of(exchange: RecordedExchange, target: Target) -> TTSStreamRequest:
    """The ``tts.stream`` request whose client sends the socket's messages to ``target``."""
    messages = client_json_messages(exchange, decode_tts_client_message)
    if not messages or not isinstance(messages[0], TTSSessionCreate):
        raise NotReplayable(f"exchange {exchange.x}: the socket does not open with session.create")
    create = messages[0]
    if create.fallback is not None:
        raise NotReplayable(
            f"exchange {exchange.x}: session.create names fallback models, which the "
            "tts.stream request model has no field for"
        )
    model = query_value(exchange, "model") or create.model
    if not model:
        raise NotReplayable(f"exchange {exchange.x}: the socket names no model")
    in_force = GenerationConfig(voice=create.voice, model=create.model, language=create.language)
    syntheses: list[list[str]] = []
    pending: list[str] = []
    for position, message in enumerate(messages[1:], start=1):
        if isinstance(message, InputTranscript):
            if message.generation_config != in_force or message.extra != create.extra:
                raise NotReplayable(
                    f"exchange {exchange.x}: client message {position} changes the options "
                    "(generation_config or extra) in the middle of the socket, which the "
                    "tts.stream request model cannot say"
                )
            pending.append(message.transcript)
        elif isinstance(message, SessionFlush):
            syntheses.append(pending)
            pending = []
        else:
            raise NotReplayable(
                f"exchange {exchange.x}: client message {position} "
                f"({type(message).__name__}) is none the client sends after session.create"
            )
    if pending:
        raise NotReplayable(
            f"exchange {exchange.x}: the socket's last synthesis never ended its input (no "
            "session.flush after its text); the tts.stream request model ends every stream"
        )
    if not syntheses:
        raise NotReplayable(f"exchange {exchange.x}: the socket carries no synthesis")
    if len(syntheses) > MAX_SYNTHESES:
        raise NotReplayable(
            f"exchange {exchange.x}: {len(syntheses)} syntheses on one socket; the tts.stream "
            f"request model runs at most {MAX_SYNTHESES}"
        )
    streams = [_script(transcripts) for transcripts in syntheses]
    for number, (script, transcripts) in enumerate(zip(streams, syntheses, strict=True)):
        made = _splits_as_recorded(model, script)
        if made != transcripts:
            raise NotReplayable(
                f"exchange {exchange.x}: synthesis {number}'s transcripts {transcripts!r:.200} "
                f"cannot be pushed so that the sentence splitter sends them again (it makes "
                f"{made!r:.200})"
            )
    return TTSStreamRequest(
        target=target,
        model=model,
        voice=create.voice,
        language=create.language,
        sample_rate=create.sample_rate_hz,
        extra_kwargs=create.extra,
        conn_options=ConnOptions(max_retry=0),
        streams=streams,
    )


TTS_CASSETTE = (
    CassetteOperation(
        endpoint="tts",
        capability=TTS_STREAM,
        operation=TTS_STREAM,
        traffic_ids=("TTS-C-1", "TTS-C-2", "TTS-C-3"),
        request=tts_request_of,
    ),
)
"""The TTS endpoint's recorded sockets as ``tts.stream`` operations."""
