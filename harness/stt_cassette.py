"""A recorded LiveKit STT session as the ``stt.stream`` operation that makes the same traffic.

The client's messages are read with the reference wire codec (SPEC §3.1): ``session.create``
gives the options (rate, language, ``extra``; the model is the upgrade's ``?model=``), the
``input_audio`` frames the audio, pushed at the recorded rate; a frame shorter than 50 ms is
the client's ``flush()`` (STT-C-2: a short frame goes out only there or before the finalize),
``session.update`` an ``update_options`` (STT-C-5), ``session.finalize`` the end of input
(STT-C-3). ``session.close`` is the client's own timer (STT-C-4), not a step: the replayed
client decides it again. One session is one attempt (``max_retry`` 0).
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
from voicewire.harness.stt import (
    STT_STREAM,
    EndInputStep,
    FlushStep,
    PushAudioStep,
    STTStreamRequest,
    UpdateOptionsStep,
)
from voicewire.reference.stt.wire.framing import frame_samples
from voicewire.reference.stt.wire.messages import (
    InputAudio,
    SessionClose,
    SessionCreate,
    SessionFinalize,
    SessionUpdate,
    decode_client_message,
)
from voicewire.simulators.recording.cassette import RecordedExchange

__all__ = ["STT_CASSETTE", "stt_request_of"]

PUSH_FRAME_MS = 50.0
"""How the replayed audio is pushed: the client cuts it into its own 50 ms frames anyway."""


def stt_request_of(exchange: RecordedExchange, target: Target) -> STTStreamRequest:
    """The ``stt.stream`` request whose client sends the exchange's messages to ``target``."""
    messages = client_json_messages(exchange, decode_client_message)
    if not messages or not isinstance(messages[0], SessionCreate):
        raise NotReplayable(f"exchange {exchange.x}: the session does not open with session.create")
    create = messages[0]
    if create.fallback is not None:
        raise NotReplayable(
            f"exchange {exchange.x}: session.create names fallback models, which the "
            "stt.stream request model has no field for"
        )
    rate = create.sample_rate
    frame_bytes = frame_samples(rate) * 2
    script: list[Any] = []
    audio = bytearray()

    def push_audio() -> None:
        if audio:
            script.append(PushAudioStep.of(bytes(audio), rate, frame_ms=PUSH_FRAME_MS))
            audio.clear()

    for position, message in enumerate(messages[1:], start=1):
        following = messages[position + 1] if position + 1 < len(messages) else None
        if isinstance(message, InputAudio):
            audio += message.pcm
            short = len(message.pcm) < frame_bytes
            if short and not isinstance(following, SessionFinalize):
                push_audio()
                script.append(FlushStep())
        elif isinstance(message, SessionUpdate):
            push_audio()
            settings = message.settings
            script.append(
                UpdateOptionsStep(
                    model=settings.model, language=settings.language, extra_kwargs=settings.extra
                )
            )
        elif isinstance(message, SessionFinalize):
            push_audio()
            script.append(EndInputStep())
        elif isinstance(message, SessionClose):
            continue
        else:
            raise NotReplayable(
                f"exchange {exchange.x}: client message {position} "
                f"({type(message).__name__}) is none the client sends after session.create"
            )
    push_audio()
    return STTStreamRequest(
        target=target,
        model=query_value(exchange, "model") or create.model or "auto",
        language=create.settings.language,
        sample_rate=rate,
        extra_kwargs=create.settings.extra,
        conn_options=ConnOptions(max_retry=0),
        script=script,
    )


STT_CASSETTE = (
    CassetteOperation(
        endpoint="stt",
        capability=STT_STREAM,
        operation=STT_STREAM,
        traffic_ids=("STT-C-1", "STT-C-2", "STT-C-3"),
        request=stt_request_of,
    ),
)
"""The STT endpoint's recorded sessions as ``stt.stream`` operations."""
