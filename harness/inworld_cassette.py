"""Recorded Inworld exchanges as the operations that make the same traffic (SPEC §5).

Each endpoint's client side is read with the reference wire modules:

- ``POST /tts/v1/voice:stream``: the body (IW-HTTP-1) gives ``inworld.tts.http`` one text and
  the options (voice, model, ``audioConfig``, language, timestamps ...);
- ``GET /tts/v1/voices``: the ``filter=language=...`` query gives ``inworld.voices`` its
  language (IW-VOICES-1);
- the contexts WebSocket: each context (by ``contextId``, in order of first appearance) is one
  stream of an ``inworld.tts.stream`` script that follows the recorded order across contexts:
  its ``send_text`` pieces pushed (a client-segmented model's sentences each pushed and
  flushed, so the splitter sends them as they were; an ``inworld-tts-2`` model's text as
  pushed, its ``flush_context`` a flush), its final ``flush_context`` and ``close_context``
  the end of input (IW-WS-1); the ``create`` gives the options;
- the transcribe WebSocket: ``transcribeConfig`` gives the options, each ``audioChunk`` one
  pushed frame at the recorded rate (bytes exact, IW-STT-C-1), ``endTurn`` a flush,
  ``closeStream`` the end of input.

What a request model cannot say (a cancelled context, contexts with different options, a
stereo stream) is :class:`~voicewire.harness.cassette_run.NotReplayable`. Every request asks for
one attempt (``max_retry`` 0): one exchange is one attempt.
"""

from __future__ import annotations

from typing import Any

from voicewire.harness.cassette_operation import (
    CassetteOperation,
    NotReplayable,
    client_json_messages,
    query_value,
)
from voicewire.harness.inworld import (
    INWORLD_STT_STREAM,
    INWORLD_TTS_HTTP,
    INWORLD_TTS_STREAM,
    INWORLD_VOICES,
    InworldEndInputStep,
    InworldFlushStep,
    InworldPushTextStep,
    InworldSTTStreamRequest,
    InworldTTSHTTPRequest,
    InworldTTSStreamRequest,
    InworldVoicesRequest,
)
from voicewire.harness.iut import ConnOptions, Target
from voicewire.harness.stt import EndInputStep, FlushStep, PushAudioStep
from voicewire.reference.inworld.tts_stream import RetainedSentenceSplitter
from voicewire.reference.inworld.wire.contexts import (
    CancelContext,
    CloseContext,
    CreateContext,
    CreateContextConfig,
    FlushContext,
    SendText,
    decode_context_client_message,
)
from voicewire.reference.inworld.wire.stt_messages import (
    CloseStream,
    EndTurn,
    TranscribeAudioChunk,
    TranscribeConfigMessage,
    decode_transcribe_client_message,
)
from voicewire.reference.inworld.wire.synthesis import (
    InworldSynthesizeRequest,
    decode_synthesize_request,
)
from voicewire.reference.json_wire import MalformedMessage
from voicewire.simulators.recording.cassette import RecordedExchange

__all__ = [
    "INWORLD_CASSETTE",
    "inworld_stt_request_of",
    "inworld_synthesize_request_of",
    "inworld_tts_stream_request_of",
    "inworld_voices_request_of",
]

_ONE_ATTEMPT = ConnOptions(max_retry=0)
_TIMESTAMP_TYPES = ("WORD", "CHARACTER")
_MAX_PIECE = 1000  # a send_text piece (IW-WS-1): a longer text is cut, and cannot be told apart


def _options(
    *,
    voice: str,
    model: str,
    sample_rate: int | None,
    temperature: float | None,
    speaking_rate: float | None,
    language: str | None,
    timestamp_type: str | None,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """The TTS request fields for recorded options; what the request has no field for goes
    to ``extra_kwargs`` under the client's argument name (unset ones left out)."""
    fields: dict[str, Any] = {
        "voice": voice,
        "model": model,
        "sample_rate": sample_rate,
        "temperature": temperature,
        "speaking_rate": speaking_rate,
        "language": language,
    }
    if timestamp_type in _TIMESTAMP_TYPES:
        fields["timestamp_type"] = timestamp_type
    elif timestamp_type is not None:
        extra = {**extra, "timestamp_type": timestamp_type}
    fields["extra_kwargs"] = {name: value for name, value in extra.items() if value is not None}
    return fields


# -- POST /tts/v1/voice:stream --------------------------------------------------------------------


def inworld_synthesize_request_of(
    exchange: RecordedExchange, target: Target
) -> InworldTTSHTTPRequest:
    """The ``inworld.tts.http`` request whose client posts the exchange's body to ``target``."""
    try:
        body: InworldSynthesizeRequest = decode_synthesize_request(exchange.request.body_bytes())
    except MalformedMessage as exc:
        raise NotReplayable(
            f"exchange {exchange.x} (POST {exchange.request.path}): the body is not a synthesis "
            f"request: {exc}"
        ) from None
    audio = body.audioConfig
    fields = _options(
        voice=body.voiceId,
        model=body.modelId,
        sample_rate=audio.sampleRateHertz if audio else None,
        temperature=audio.temperature if audio else None,
        speaking_rate=audio.speakingRate if audio else None,
        language=body.language,
        timestamp_type=body.timestampType,
        extra={
            "encoding": audio.audioEncoding if audio else None,
            "bit_rate": audio.bitrate if audio else None,
            "text_normalization": body.applyTextNormalization,
            "delivery_mode": body.deliveryMode,
            "timestamp_transport_strategy": body.timestampTransportStrategy,
        },
    )
    return InworldTTSHTTPRequest(
        target=target, texts=[body.text], conn_options=_ONE_ATTEMPT, **fields
    )


# -- GET /tts/v1/voices ---------------------------------------------------------------------------


def inworld_voices_request_of(exchange: RecordedExchange, target: Target) -> InworldVoicesRequest:
    """The ``inworld.voices`` request whose client asks ``target`` what the exchange asked."""
    language: str | None = None
    found = query_value(exchange, "filter")
    if found is not None:
        key, _, value = found.partition("=")
        if key != "language" or not value:
            raise NotReplayable(
                f"exchange {exchange.x} (GET {exchange.request.path}): filter={found!r} is not "
                "language=<code>, the one filter list_voices sends (IW-VOICES-1)"
            )
        language = value
    return InworldVoicesRequest(target=target, language=language, conn_options=_ONE_ATTEMPT)


# -- the contexts WebSocket -----------------------------------------------------------------------


def _stream_fields(exchange: RecordedExchange, config: CreateContextConfig) -> dict[str, Any]:
    audio = config.audioConfig
    return _options(
        voice=config.voiceId,
        model=config.modelId,
        sample_rate=audio.sampleRateHertz,
        temperature=config.temperature,
        speaking_rate=audio.speakingRate,
        language=config.language,
        timestamp_type=config.timestampType,
        extra={
            "encoding": audio.audioEncoding,
            "bit_rate": audio.bitrate,
            "max_buffer_delay_ms": config.maxBufferDelayMs,
            "timestamp_transport_strategy": config.timestampTransportStrategy,
            "text_normalization": config.applyTextNormalization,
            "delivery_mode": config.deliveryMode,
            "buffer_char_threshold": config.bufferCharThreshold,
        },
    )


def _segmented_texts(context: str, texts: list[str]) -> None:
    """A client-segmented context's ``send_text`` texts must be what the splitter sends when
    each is pushed and flushed (IW-WS-1), or the request cannot make them again."""
    splitter = RetainedSentenceSplitter()
    for text in texts:
        made = splitter.push(text) + splitter.flush()
        if made != [text] or len(text) > _MAX_PIECE:
            raise NotReplayable(
                f"context {context}: the sentence {text!r:.120} cannot be pushed so that the "
                f"client's splitter sends it again (it makes {made!r:.200})"
            )


def inworld_tts_stream_request_of(
    exchange: RecordedExchange, target: Target
) -> InworldTTSStreamRequest:
    """The ``inworld.tts.stream`` request whose client sends the socket's messages to
    ``target``."""
    messages = client_json_messages(exchange, decode_context_client_message)
    configs: dict[str, CreateContextConfig] = {}
    streams: dict[str, int] = {}
    ops: list[tuple[str, Any]] = []  # (context, message) after its create
    for position, message in enumerate(messages):
        context = message.context_id  # type: ignore[attr-defined]
        if isinstance(message, CreateContext):
            configs[context] = message.create
            continue
        if context not in configs:
            raise NotReplayable(
                f"exchange {exchange.x}: client message {position} names context {context!r} "
                "before its create"
            )
        if isinstance(message, CancelContext):
            raise NotReplayable(
                f"exchange {exchange.x}: context {context!r} was cancelled (client message "
                f"{position}); the inworld.tts.stream request model has no cancel"
            )
        ops.append((context, message))
    if not configs:
        raise NotReplayable(f"exchange {exchange.x}: the socket opens no context")
    first = next(iter(configs.values()))
    for context, config in configs.items():
        if config != first:
            raise NotReplayable(
                f"exchange {exchange.x}: context {context!r} is created with other options than "
                "the first; one inworld.tts.stream request has one set of options"
            )
    boundary = first.sentence_boundary
    script: list[Any] = []
    texts: dict[str, list[str]] = {context: [] for context in configs}
    for index, (context, message) in enumerate(ops):
        stream = streams.setdefault(context, len(streams))
        later = [m for c, m in ops[index + 1 :] if c == context]
        if isinstance(message, SendText):
            texts[context].append(message.send_text.text)
            script.append(InworldPushTextStep(stream=stream, text=message.send_text.text))
            if not boundary:
                script.append(InworldFlushStep(stream=stream))
        elif isinstance(message, FlushContext):
            if later and isinstance(later[0], CloseContext):
                continue  # the end of input sends it with the close
            if not boundary:
                raise NotReplayable(
                    f"exchange {exchange.x}: context {context!r} flushes before its end; a "
                    "client-segmented context flushes only at the end of input (IW-WS-1)"
                )
            script.append(InworldFlushStep(stream=stream))
        elif isinstance(message, CloseContext):
            script.append(InworldEndInputStep(stream=stream))
    for context in configs:
        streams.setdefault(context, len(streams))
        if not any(isinstance(m, CloseContext) for c, m in ops if c == context):
            raise NotReplayable(
                f"exchange {exchange.x}: context {context!r} never ended its input (no "
                "close_context); the inworld.tts.stream request model ends every stream"
            )
        if not boundary:
            _segmented_texts(context, texts[context])
    return InworldTTSStreamRequest(
        target=target,
        script=script,
        conn_options=_ONE_ATTEMPT,
        **_stream_fields(exchange, first),
    )


# -- the transcribe WebSocket ---------------------------------------------------------------------


def _chunk_step(chunks: list[bytes], rate: int) -> PushAudioStep:
    """One push of recorded ``audioChunk`` s of one length, cut back into them: frames of half
    a sample more than a chunk's duration, so the frame cut's floor lands on its length."""
    samples = len(chunks[0]) // 2
    return PushAudioStep.of(b"".join(chunks), rate, frame_ms=(samples + 0.5) * 1000 / rate)


def inworld_stt_request_of(exchange: RecordedExchange, target: Target) -> InworldSTTStreamRequest:
    """The ``inworld.stt.stream`` request whose client sends the session's messages to
    ``target``."""
    messages = client_json_messages(exchange, decode_transcribe_client_message)
    if not messages or not isinstance(messages[0], TranscribeConfigMessage):
        raise NotReplayable(
            f"exchange {exchange.x}: the session does not open with transcribeConfig"
        )
    config = messages[0].transcribeConfig
    if config.numberOfChannels != 1:
        raise NotReplayable(
            f"exchange {exchange.x}: transcribeConfig.numberOfChannels is "
            f"{config.numberOfChannels}; the inworld.stt.stream request model pushes mono"
        )
    rate = config.sampleRateHertz
    script: list[Any] = []
    run: list[bytes] = []  # consecutive chunks of one length: one push step

    def push_run() -> None:
        if run:
            script.append(_chunk_step(run, rate))
            run.clear()

    for position, message in enumerate(messages[1:], start=1):
        if isinstance(message, TranscribeAudioChunk):
            if run and len(message.pcm) != len(run[0]):
                push_run()
            run.append(message.pcm)
        elif isinstance(message, EndTurn):
            push_run()
            script.append(FlushStep())
        elif isinstance(message, CloseStream):
            push_run()
            script.append(EndInputStep())
        else:
            raise NotReplayable(
                f"exchange {exchange.x}: client message {position} "
                f"({type(message).__name__}) is none the client sends after transcribeConfig"
            )
    push_run()
    extra: dict[str, Any] = {
        "enable_voice_profile": config.voiceProfileConfig is not None,
        "end_of_turn_confidence_threshold": config.endOfTurnConfidenceThreshold,
        "min_end_of_turn_silence_when_confident": (
            config.inworldSttV1Config.minEndOfTurnSilenceWhenConfident
        ),
    }
    if config.voiceProfileConfig is not None:
        extra["voice_profile_top_n"] = config.voiceProfileConfig.topN
    if config.inworldSttV1Config.vadThreshold is not None:
        extra["vad_threshold"] = config.inworldSttV1Config.vadThreshold
    return InworldSTTStreamRequest(
        target=target,
        model=config.modelId,
        language=config.language,
        sample_rate=rate,
        extra_kwargs=extra,
        conn_options=_ONE_ATTEMPT,
        script=script,
    )


INWORLD_CASSETTE = (
    CassetteOperation(
        endpoint="inworld.synthesize",
        capability=INWORLD_TTS_HTTP,
        operation=INWORLD_TTS_HTTP,
        traffic_ids=("IW-HTTP-1",),
        request=inworld_synthesize_request_of,
    ),
    CassetteOperation(
        endpoint="inworld.voices",
        capability=INWORLD_VOICES,
        operation=INWORLD_VOICES,
        traffic_ids=("IW-VOICES-1",),
        request=inworld_voices_request_of,
    ),
    CassetteOperation(
        endpoint="inworld.contexts",
        capability=INWORLD_TTS_STREAM,
        operation=INWORLD_TTS_STREAM,
        traffic_ids=("IW-WS-1",),
        request=inworld_tts_stream_request_of,
    ),
    CassetteOperation(
        endpoint="inworld.transcribe",
        capability=INWORLD_STT_STREAM,
        operation=INWORLD_STT_STREAM,
        traffic_ids=("IW-STT-C-1",),
        request=inworld_stt_request_of,
    ),
)
"""The Inworld endpoints' recorded exchanges as operations."""
