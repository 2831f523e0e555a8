"""A recorded LiveKit TTS connection as the ``tts`` scenario rule that plays it again (for
``voicewire scenario from-cassette``): the chunk duration (the first ``output_audio``'s size at
the session's rate), the first audio's delay after its text (``ttfb``) and the pace of the
chunks (``real_time_factor``), the alignment's granularity, ``session.created`` and which
messages carry the ``session_id``; an ``error`` message as an ``error_event`` fault, a close by
the server as a ``ws_close`` fault, a refused upgrade as a ``status`` fault. The audio itself is
the simulator's tone code of each text the client sends (a real provider's voice cannot be
scripted). The recorded messages are read with the reference wire modules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import regex
from voicewire.reference.json_wire import MalformedMessage
from voicewire.reference.tts.wire.messages import (
    DEFAULT_TTS_SAMPLE_RATE,
    InputTranscript,
    OutputAlignment,
    OutputAudio,
    SessionFlush,
    SynthesisDone,
    TTSErrorMessage,
    TTSSessionCreate,
    TTSSessionCreated,
    decode_tts_client_message,
    decode_tts_server_message,
)
from voicewire.simulators.core.recorded import (
    RecordedReply,
    read_recorded_server_message,
    recorded_error_fault,
    recorded_status_fault,
)
from voicewire.simulators.tts.script import TTSReply

if TYPE_CHECKING:
    from voicewire.simulators.recording.cassette import MessageRecord, RecordedExchange

__all__ = ["tts_reply_from_recording"]

_BYTES_PER_SAMPLE = 2  # pcm_s16le mono, the protocol's one encoding (TTS-C-1)
_MIN_CHUNK, _MAX_CHUNK = 0.005, 10.0  # what TTSReply.chunk_duration accepts


def _client_message(exchange: RecordedExchange, message: MessageRecord) -> Any:
    try:
        return decode_tts_client_message(exchange.payload(message))
    except (MalformedMessage, ValueError):
        return None


def tts_reply_from_recording(exchange: RecordedExchange) -> RecordedReply:
    """The rule parts reproducing one recorded ``/tts`` connection."""
    model = dict(parse_qsl(exchange.request.query)).get("model")
    match = {"model": regex.escape(model)} if model else {}
    fault = recorded_status_fault(exchange)
    if fault is not None:
        return RecordedReply(match=match, faults=[fault], exact=["the refused upgrade"])
    rate = DEFAULT_TTS_SAMPLE_RATE
    clients = exchange.messages("client")
    for message in clients:
        decoded = _client_message(exchange, message)
        if isinstance(decoded, TTSSessionCreate):
            rate = decoded.sample_rate_hz
            break
    events = 0  # the connection's messages as the fault vocabulary numbers them
    faults: list[dict[str, Any]] = []
    approximated: list[str] = []
    reply: dict[str, Any] = {}
    created = False
    created_id = later_id = later_without_id = False
    first_chunk: int | None = None
    text_at: float | None = None  # when the synthesis in progress got its first text
    ttfb: float | None = None
    last_audio: tuple[float, float] | None = None  # (t, seconds) of the synthesis's last chunk
    paced = spoken = 0.0  # wall seconds between chunks, and the audio seconds they followed
    granularity = "none"
    answered: set[int] = set()  # the bad client messages an error answered
    for item in exchange.items:
        if item.type == "close" and item.from_ == "server":
            if events and item.code is not None:
                faults.append({"kind": "ws_close", "at_event": events - 1, "code": item.code})
            else:
                approximated.append(
                    f"the server's close (code {item.code}) before any message: a scenario "
                    "closes only after a message"
                )
            continue
        if item.type != "ws":
            continue
        if item.from_ == "client":
            decoded = _client_message(exchange, item)
            if isinstance(decoded, InputTranscript) and text_at is None:
                text_at = item.t
            elif isinstance(decoded, SessionFlush):
                last_audio = None
            continue
        message = read_recorded_server_message(
            exchange, item, decode_tts_server_message, approximated, events=events
        )
        if message is None:
            continue
        if isinstance(message, TTSErrorMessage):
            faults += recorded_error_fault(
                exchange,
                item,
                decode_tts_client_message,
                answered,
                at_event=events,
                text=message.message,
                code=message.code if message.code is not None else 500,
            )
            continue
        events += 1
        if isinstance(message, TTSSessionCreated):
            created = True
            created_id = message.session_id is not None
            continue
        if isinstance(message, (OutputAudio, OutputAlignment, SynthesisDone)):
            later_id = later_id or message.session_id is not None
            later_without_id = later_without_id or message.session_id is None
        if isinstance(message, OutputAlignment):
            if message.words:
                granularity = "words"
            elif message.chars and granularity == "none":
                granularity = "chars"
        elif isinstance(message, OutputAudio):
            seconds = len(message.pcm) / (rate * _BYTES_PER_SAMPLE)
            if first_chunk is None:
                first_chunk = len(message.pcm)
            if ttfb is None and text_at is not None:
                ttfb = max(0.0, item.t - text_at)
            if last_audio is not None:
                paced += item.t - last_audio[0]
                spoken += last_audio[1]
            last_audio = (item.t, seconds)
        elif isinstance(message, SynthesisDone):
            text_at, last_audio = None, None
    if first_chunk:
        duration = first_chunk / (rate * _BYTES_PER_SAMPLE)
        reply["chunk_duration"] = round(min(_MAX_CHUNK, max(_MIN_CHUNK, duration)), 6)
    if ttfb is not None:
        reply["ttfb"] = round(ttfb, 6)
    if spoken > 0:
        reply["real_time_factor"] = round(min(100.0, paced / spoken), 6)
    if granularity != "none":
        reply["alignment"] = granularity
    if not created:
        reply["session_created"] = False
    if later_without_id and not later_id:
        reply["session_id"] = "created_only" if created_id else "none"
    elif later_without_id:
        approximated.append("session_id on some messages only (the script puts it on all)")
    approximated.insert(
        0,
        "the audio: the simulator's tone code of each text at the session's rate and the "
        "recorded chunk duration, not the recorded bytes (the same bytes only when the "
        "recording came from the simulator)",
    )
    approximated.append("the session_id's value (the simulator's own)")
    if ttfb is not None or spoken > 0:
        approximated.append("timing (the first synthesis's ttfb, the mean pace of the chunks)")
    TTSReply.model_validate(reply)  # a recording no script can play is named, not written
    return RecordedReply(
        reply=reply,
        match=match,
        faults=faults,
        exact=[
            "chunk duration",
            "alignment granularity",
            "session.created and where the session_id goes",
            "errors and the server's close",
        ],
        approximated=approximated,
    )
