"""A recorded LiveKit STT session as the ``stt`` scenario rule that plays it again (for
``voicewire scenario from-cassette``): each final as a segment (text, start, duration, words,
confidence, language, speaker, extra: the final carries its own audio times), the interims'
interval, ``start_of_speech``, ``session.created``, the ``request_id``, what followed
``session.finalized``; an ``error`` message as an ``error_event`` fault, a server close before
the session was finalized as a ``ws_close`` fault, a refused upgrade as a ``status`` fault.
The recorded messages are read with the reference wire modules, as a client reads them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import regex
from voicewire.reference.stt.wire.messages import (
    ErrorMessage,
    FinalTranscript,
    InterimTranscript,
    SessionClosed,
    SessionCreated,
    SessionFinalized,
    StartOfSpeech,
    decode_client_message,
    decode_server_message,
)
from voicewire.simulators.core.recorded import (
    RecordedReply,
    read_recorded_server_message,
    recorded_error_fault,
    recorded_status_fault,
)
from voicewire.simulators.stt.script import STTReply

if TYPE_CHECKING:
    from voicewire.simulators.recording.cassette import RecordedExchange

__all__ = ["stt_reply_from_recording"]

_NORMAL_CLOSE = 1000


def _segment(final: FinalTranscript, previous_end: float) -> tuple[dict[str, Any], bool]:
    """A final as a script segment, and whether it had to be moved to start after the
    previous one (a script's segments never overlap)."""
    start = max(final.start, previous_end)
    end = max(start, final.start + final.duration)
    segment: dict[str, Any] = {
        "text": final.transcript,
        "start": round(start, 6),
        "duration": round(end - start, 6),
    }
    if final.words is not None:
        segment["words"] = [
            {
                "word": w.word,
                "start": w.start,
                "end": w.end,
                **({"confidence": w.confidence} if w.confidence is not None else {}),
                **({"speaker": w.speaker_id} if w.speaker_id is not None else {}),
            }
            for w in final.words
        ]
    for name, value in (
        ("confidence", final.confidence),
        ("language", final.language),
        ("speaker", final.speaker_id),
        ("extra", final.extra),
    ):
        if value is not None:
            segment[name] = value
    return segment, start != final.start


def stt_reply_from_recording(exchange: RecordedExchange) -> RecordedReply:
    """The rule parts reproducing one recorded ``/stt`` session."""
    model = dict(parse_qsl(exchange.request.query)).get("model")
    match = {"model": regex.escape(model)} if model else {}
    fault = recorded_status_fault(exchange)
    if fault is not None:
        return RecordedReply(match=match, faults=[fault], exact=["the refused upgrade"])
    events = 0  # the session's messages as the fault vocabulary numbers them
    segments: list[dict[str, Any]] = []
    reply: dict[str, Any] = {}
    faults: list[dict[str, Any]] = []
    approximated: list[str] = []
    interval: float | None = None
    empty_interims = False
    created = finalized = session_closed = server_closed = False
    request_id: str | None = None
    answered: set[int] = set()
    for item in exchange.items:
        if item.type == "close":
            if item.from_ != "server":
                continue
            server_closed = True
            if not finalized or item.code not in (None, _NORMAL_CLOSE):
                if events and item.code is not None:
                    faults.append({"kind": "ws_close", "at_event": events - 1, "code": item.code})
                else:
                    approximated.append(
                        f"the server's close (code {item.code}) before any message: a "
                        "scenario closes only after a message"
                    )
            continue
        if item.type != "ws" or item.from_ != "server":
            continue
        message = read_recorded_server_message(
            exchange, item, decode_server_message, approximated, events=events
        )
        if message is None:
            continue
        if isinstance(message, ErrorMessage):
            faults += recorded_error_fault(
                exchange,
                item,
                decode_client_message,
                answered,
                at_event=events,
                text=message.message,
                code=message.code,
            )
            continue
        events += 1
        if isinstance(message, SessionCreated):
            created = True
        elif isinstance(message, StartOfSpeech):
            reply["start_of_speech"] = True
        elif isinstance(message, InterimTranscript):
            request_id = request_id or message.request_id
            # The first interim of a segment comes one interval after its start.
            interval = interval or (round(message.duration, 6) if message.duration > 0 else None)
            empty_interims = empty_interims or not message.transcript
        elif isinstance(message, FinalTranscript):
            request_id = request_id or message.request_id
            previous_end = segments[-1]["start"] + segments[-1]["duration"] if segments else 0.0
            segment, moved = _segment(message, previous_end)
            if moved:
                approximated.append(
                    f"segment {len(segments)} starts where the one before ends (recorded "
                    f"overlapping at {message.start:g} s)"
                )
            segments.append(segment)
        elif isinstance(message, SessionFinalized):
            finalized = True
        elif isinstance(message, SessionClosed):
            session_closed = True
    reply["segments"] = segments
    reply["interim_interval"] = interval
    if empty_interims:
        reply["empty_interims"] = True
    if not created:
        reply["session_created"] = False
    if request_id is not None:
        reply["request_id"] = request_id
    if session_closed:
        reply["after_finalize"] = "session_closed"
    elif finalized and not server_closed:
        reply["after_finalize"] = "stay_open"
    approximated.append("the session_id (the simulator's own)")
    if interval is not None:
        approximated.append(
            "interims: every interval after each segment's start, their text the words ended "
            "by then (the recorded interims when the recording came from a script)"
        )
    STTReply.model_validate(reply)  # a recording no script can play is named, not written
    return RecordedReply(
        reply=reply,
        match=match,
        faults=faults,
        exact=[
            "the finals (text, start, duration, words, confidence, language, speaker)",
            "the request_id",
            "errors and the server's close",
        ],
        approximated=approximated,
    )
