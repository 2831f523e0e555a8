"""Recorded Inworld HTTP exchanges as the scenario rules that answer them again (for
``voicewire scenario from-cassette``): a synthesis as its chunk duration, timestamp delivery,
in-band errors and timing (the audio itself is the simulator's tone code of the request's
text: a real provider's voice cannot be scripted); the voices list verbatim; an HTTP error as
a ``status`` fault. Recorded lines are read with the reference wire modules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import regex
from voicewire.reference.inworld.wire.synthesis import (
    InworldSynthesisErrorLine,
    decode_synthesis_line,
    decode_synthesize_request,
    decode_voices_response,
)
from voicewire.reference.json_wire import MalformedMessage
from voicewire.simulators.core.recorded import RecordedReply, recorded_status_fault

if TYPE_CHECKING:
    from voicewire.simulators.recording.cassette import RecordedExchange

__all__ = ["synthesis_reply_from_recording", "voices_reply_from_recording"]

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
