"""Recorded Inworld exchanges as the scenario rules that answer them again (for
``voicewire scenario from-cassette``): a synthesis as its chunk duration, timestamp delivery,
in-band errors and timing (the audio itself is the simulator's tone code of the request's
text: a real provider's voice cannot be scripted); the voices list verbatim; a contexts
connection as its chunk duration, pace, contextCreated, failed and unclosed contexts; a
transcribe stream as its segments placed at the audio position each result followed; an HTTP
error (or a refused upgrade) as a ``status`` fault, a top-level error frame as an
``error_event`` and a server close as a ``ws_close`` fault. Recorded lines and messages are
read with the reference wire modules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import regex
from voicewire.reference.inworld.wire.contexts import (
    CloseContext,
    ContextReply,
    CreateContext,
    SendText,
    SocketErrorReply,
    decode_context_client_message,
    decode_context_server_message,
)
from voicewire.reference.inworld.wire.stt_messages import (
    CloseStream,
    SpeechStartedMessage,
    TranscribeErrorMessage,
    TranscriptionMessage,
    decode_transcribe_client_message,
    decode_transcribe_server_message,
)
from voicewire.reference.inworld.wire.synthesis import (
    InworldSynthesisErrorLine,
    decode_synthesis_line,
    decode_synthesize_request,
    decode_voices_response,
)
from voicewire.reference.json_wire import MalformedMessage
from voicewire.simulators.core.recorded import (
    RecordedReply,
    read_recorded_server_message,
    recorded_error_fault,
    recorded_status_fault,
)
from voicewire.simulators.inworld.contexts import InworldContextsReply
from voicewire.simulators.inworld.transcribe import InworldTranscribeReply

if TYPE_CHECKING:
    from voicewire.simulators.recording.cassette import RecordedExchange

__all__ = [
    "contexts_reply_from_recording",
    "synthesis_reply_from_recording",
    "transcribe_reply_from_recording",
    "voices_reply_from_recording",
]

_DEFAULT_RATE = 24000  # the rate the simulator (and Inworld) synthesise at when none is asked
_BYTES_PER_SAMPLE = 2  # PCM s16le mono, the one encoding the simulator speaks


def _exactly(text: str) -> str:
    return rf"\A{regex.escape(text)}\Z"


def _timing(exchange: RecordedExchange) -> dict[str, float]:
    records = exchange.body_records()
    start = exchange.response.t if exchange.response is not None else exchange.request.t
    timing: dict[str, float] = {}
    if records:
        timing["ttft"] = round(max(0.0, records[0].t - start), 6)
    if len(records) > 1:
        timing["inter_chunk"] = round((records[-1].t - records[0].t) / (len(records) - 1), 6)
    return timing


def synthesis_reply_from_recording(exchange: RecordedExchange) -> RecordedReply:
    """The rule parts reproducing one recorded ``POST /tts/v1/voice:stream``."""
    try:
        request = decode_synthesize_request(exchange.request.body_bytes())
    except (MalformedMessage, ValueError):
        request = None
    match = {"text": _exactly(request.text)} if request is not None else {}
    fault = recorded_status_fault(exchange)
    if fault is not None:
        return RecordedReply(match=match, faults=[fault], exact=["the HTTP error answer"])
    rate = _DEFAULT_RATE
    if request is not None and request.audioConfig and request.audioConfig.sampleRateHertz:
        rate = request.audioConfig.sampleRateHertz
    first_audio: bytes | None = None
    timestamps_seen = False
    timestamps_apart = False
    faults: list[dict[str, Any]] = []
    approximated: list[str] = []
    for index, record in enumerate(exchange.body_records()):
        if record.type != "ndjson":
            approximated.append(f"body piece {index} (not a whole NDJSON line) is left out")
            continue
        try:
            line = decode_synthesis_line(record.data_bytes())
        except (MalformedMessage, ValueError):
            faults.append({"kind": "malformed", "at_event": index, "line": record.data or ""})
            continue
        if isinstance(line, InworldSynthesisErrorLine):
            faults.append(
                {
                    "kind": "error_event",
                    "at_event": index,
                    "message": line.error.message,
                    "code": line.error.code if line.error.code is not None else 500,
                }
            )
            continue
        result = line.result
        if result.timestampInfo is not None:
            timestamps_seen = True
            timestamps_apart = timestamps_apart or not result.audio
        if result.audio and first_audio is None:
            first_audio = result.audio
    reply: dict[str, Any] = {}
    if first_audio:
        duration = len(first_audio) / (rate * _BYTES_PER_SAMPLE)
        reply["chunk_duration"] = round(min(10.0, max(0.005, duration)), 6)
    asked = request is not None and request.timestampType not in (
        None,
        "TIMESTAMP_TYPE_UNSPECIFIED",
    )
    if asked and not timestamps_seen:
        reply["timestamps"] = False
    if timestamps_apart:
        reply["timestamp_lines"] = "after_audio"
    approximated.insert(
        0,
        "the audio: the simulator's tone code of the request's text at the recorded rate and "
        "chunk duration, not the recorded bytes (the same bytes only when the recording came "
        "from the simulator)",
    )
    timing = _timing(exchange)
    if timing:
        approximated.append("timing (first line as recorded, then the mean gap)")
    return RecordedReply(
        reply=reply,
        match=match,
        timing=timing,
        faults=faults,
        exact=["the text spoken", "line count and chunk duration", "in-band errors"],
        approximated=approximated,
    )


def voices_reply_from_recording(exchange: RecordedExchange) -> RecordedReply:
    """The rule parts reproducing one recorded ``GET /tts/v1/voices``."""
    language = None
    for name, value in parse_qsl(exchange.request.query):
        if name == "filter" and value.startswith("language="):
            language = value.removeprefix("language=")
    match = {"text": _exactly(language)} if language else {}
    fault = recorded_status_fault(exchange)
    if fault is not None:
        return RecordedReply(match=match, faults=[fault], exact=["the HTTP error answer"])
    body = b"".join(record.data_bytes() for record in exchange.body_records())
    voices = decode_voices_response(body)
    approximated = []
    if not language:
        approximated.append(
            "the match: a rule cannot require that no language filter was asked for, so this "
            "rule also answers later filtered requests with the same attempt number"
        )
    return RecordedReply(
        reply={"voices": voices},
        match=match,
        timing=_timing(exchange),
        exact=["the voices list, verbatim"],
        approximated=approximated,
    )


def _server_close(item: Any, events: int, faults: list[dict[str, Any]], notes: list[str]) -> None:
    """A close by the server as the ``ws_close`` fault after the last event before it."""
    if events and item.code is not None:
        faults.append({"kind": "ws_close", "at_event": events - 1, "code": item.code})
    else:
        notes.append(
            f"the server's close (code {item.code}) before any message: a scenario closes only "
            "after a message"
        )


def contexts_reply_from_recording(exchange: RecordedExchange) -> RecordedReply:
    """The rule parts reproducing one recorded ``/tts/v1/voice:streamBidirectional``
    connection."""
    fault = recorded_status_fault(exchange)
    if fault is not None:
        return RecordedReply(faults=[fault], exact=["the refused upgrade"])
    contexts: dict[str, int] = {}  # contextId: its number, in the order they were created
    rates: dict[str, int] = {}
    text_at: dict[str, float] = {}  # when each context got its first text
    created: set[str] = set()
    spoken: set[str] = set()  # contexts that got audio
    failed: dict[int, tuple[int, str]] = {}
    closing: set[str] = set()  # contexts the client closed
    closed: set[str] = set()  # contexts the server said were closed
    events = 0
    faults: list[dict[str, Any]] = []
    approximated: list[str] = []
    first_chunk: float | None = None
    ttfb: float | None = None
    last_audio: dict[str, tuple[float, float]] = {}
    paced = heard = 0.0
    unequal = False
    answered: set[int] = set()
    for item in exchange.items:
        if item.type == "close" and item.from_ == "server":
            _server_close(item, events, faults, approximated)
            continue
        if item.type != "ws":
            continue
        if item.from_ == "client":
            try:
                sent = decode_context_client_message(exchange.payload(item))
            except (MalformedMessage, ValueError):
                continue
            if isinstance(sent, CreateContext):
                contexts.setdefault(sent.contextId, len(contexts))
                rates[sent.contextId] = sent.create.audioConfig.sampleRateHertz
            elif isinstance(sent, SendText):
                text_at.setdefault(sent.contextId, item.t)
            elif isinstance(sent, CloseContext):
                closing.add(sent.contextId)
            continue
        reply = read_recorded_server_message(
            exchange, item, decode_context_server_message, approximated, events=events
        )
        if reply is None:
            continue
        if isinstance(reply, SocketErrorReply):
            faults += recorded_error_fault(
                exchange,
                item,
                decode_context_client_message,
                answered,
                at_event=events,
                text=reply.error.message,
                code=reply.error.code,
            )
            continue
        if not isinstance(reply, ContextReply):
            continue
        result = reply.result
        context = result.contextId or ""
        if result.failed and result.kind is None:
            assert result.status is not None
            number = contexts.get(context)
            if number is not None and context in created and context not in spoken:
                failed.setdefault(number, (result.status.code, result.status.message))
                events += 1
            # else: the answer to a bad client message, which the simulator gives by itself
            continue
        events += 1
        if result.contextCreated is not None:
            created.add(context)
        elif result.contextClosed is not None:
            closed.add(context)
        elif result.audioChunk is not None:
            chunk = result.audioChunk
            pcm = chunk.pcm if chunk.audioContent else b""
            seconds = len(pcm) / (rates.get(context, _DEFAULT_RATE) * _BYTES_PER_SAMPLE)
            if pcm and first_chunk is None:
                first_chunk = seconds
            if pcm and ttfb is None and context in text_at:
                ttfb = max(0.0, item.t - text_at[context])
            if pcm and context in last_audio:
                paced += item.t - last_audio[context][0]
                heard += last_audio[context][1]
            if pcm:
                last_audio[context] = (item.t, seconds)
                spoken.add(context)
            words = chunk.timestampInfo.wordAlignment if chunk.timestampInfo else None
            if words is not None and len(words.wordEndTimeSeconds) < len(words.words):
                unequal = True
        elif result.flushCompleted is not None:
            last_audio.pop(context, None)
    answer: dict[str, Any] = {}
    if first_chunk:
        answer["chunk_duration"] = round(min(10.0, max(0.005, first_chunk)), 6)
    if ttfb is not None:
        answer["ttfb"] = round(ttfb, 6)
    if heard > 0:
        answer["real_time_factor"] = round(min(100.0, paced / heard), 6)
    if contexts and not created:
        answer["context_created"] = False
    if failed:
        answer["failed_contexts"] = sorted(failed)
        code, message = failed[min(failed)]
        answer["status_code"], answer["status_message"] = code, message
        if len(set(failed.values())) > 1:
            approximated.append("every failed context's status as the first one's")
    unclosed = sorted(
        contexts[c] for c in closing - closed if c in contexts and contexts[c] not in failed
    )
    if unclosed:
        answer["unclosed_contexts"] = unclosed
    if unequal:
        answer["unequal_timestamps"] = True
    approximated.insert(
        0,
        "the audio: the simulator's tone code of each context's text at its rate and the "
        "recorded chunk duration, not the recorded bytes (the same bytes only when the "
        "recording came from the simulator)",
    )
    if ttfb is not None or heard > 0:
        approximated.append("timing (the first context's ttfb, the mean pace of the chunks)")
    InworldContextsReply.model_validate(answer)  # named, not written, when no script plays it
    return RecordedReply(
        reply=answer,
        exact=[
            "chunk duration",
            "contextCreated",
            "failed and unclosed contexts",
            "errors and the server's close",
        ],
        approximated=approximated,
    )


def transcribe_reply_from_recording(exchange: RecordedExchange) -> RecordedReply:
    """The rule parts reproducing one recorded ``/stt/v1/transcribe:streamBidirectional``
    stream: each result at the audio position the cassette says it followed."""
    fault = recorded_status_fault(exchange)
    if fault is not None:
        return RecordedReply(faults=[fault], exact=["the refused upgrade"])
    segments: list[dict[str, Any]] = []
    start: float | None = None  # the open segment's start
    first_interim: float | None = None
    interval: float | None = None
    empty_interims = speech_started = close_stream = server_closed = False
    events = 0
    faults: list[dict[str, Any]] = []
    approximated: list[str] = []
    answered: set[int] = set()
    for item in exchange.items:
        if item.type == "close" and item.from_ == "server":
            server_closed = True
            if not close_stream or item.code not in (None, 1000):
                _server_close(item, events, faults, approximated)
            continue
        if item.type != "ws":
            continue
        if item.from_ == "client":
            try:
                sent = decode_transcribe_client_message(exchange.payload(item))
            except (MalformedMessage, ValueError):
                continue
            close_stream = close_stream or isinstance(sent, CloseStream)
            continue
        message = read_recorded_server_message(
            exchange, item, decode_transcribe_server_message, approximated, events=events
        )
        if message is None:
            continue
        if isinstance(message, TranscribeErrorMessage):
            faults += recorded_error_fault(
                exchange,
                item,
                decode_transcribe_client_message,
                answered,
                at_event=events,
                text=message.error.message,
                code=message.error.code,
            )
            continue
        events += 1
        at = round(item.audio, 6)
        previous_end = segments[-1]["start"] + segments[-1]["duration"] if segments else 0.0
        if isinstance(message, SpeechStartedMessage):
            speech_started = True
            if start is None:
                start = max(at, previous_end)
            continue
        if not isinstance(message, TranscriptionMessage):
            continue
        transcription = message.transcription
        if start is None:
            # No speechStarted: the segment began where the one before it ended.
            start = previous_end
        if not transcription.isFinal:
            empty_interims = empty_interims or not transcription.transcript
            if first_interim is None and at > start:
                first_interim = at
                interval = interval or round(at - start, 6)
            continue
        segment: dict[str, Any] = {
            "text": transcription.transcript,
            "start": round(start, 6),
            "duration": round(max(0.0, at - start), 6),
        }
        if transcription.voiceProfile is not None:
            segment["voice_profile"] = transcription.voiceProfile
        segments.append(segment)
        start = first_interim = None
    answer: dict[str, Any] = {"segments": segments, "interim_interval": interval}
    if interval is not None and interval < 0.01:
        answer["interim_interval"] = 0.01
        approximated.append(f"the interim interval ({interval:g} s recorded; 0.01 s the least)")
    if empty_interims:
        answer["empty_interims"] = True
    if not speech_started:
        answer["speech_started"] = False
    if close_stream and not server_closed:
        answer["after_close_stream"] = "stay_open"
    approximated.append(
        "segment times: the audio the client had sent when each result came (exact when the "
        "client waited for each result before sending more)"
    )
    if interval is not None:
        approximated.append(
            "interims: every interval after each segment's start, their text the share of "
            "its words the elapsed share stands for (the recorded interims when the recording "
            "came from a script)"
        )
    InworldTranscribeReply.model_validate(answer)  # named, not written, when no script plays it
    return RecordedReply(
        reply=answer,
        faults=faults,
        exact=["the finals' text and voice profile", "errors and the server's close"],
        approximated=approximated,
    )
