"""Hypothesis strategies for the LiveKit inference STT protocol (SPEC §3).

Every strategy draws plain JSON data (scenario documents, push plans), so a failing example
is written to the report as a replay file and played again with ``voicewire run --replay``.
They shrink towards small scripts: no segment, one push, no fault, the first choice of each
list.

Transcript scripts
    :func:`transcript_replies` draws an ``STTReply`` (the simulator's ``stt`` reply): zero to
    three segments, with or without ``start_of_speech``, interims (empty ones among them) or
    none, empty finals, words, and confidence and language present or missing.
    :func:`transcript_fault_schedules` draws drops, duplicates and reorders of the session's
    messages; :func:`transcript_examples` pairs the two with the audio to push and the
    stream's language.

Push patterns
    :func:`push_examples` draws the audio a stream is fed: the stream's rate, the rate and
    channel count it is pushed at (8, 16, 24, 44.1, 48 kHz; one or two channels), pushes of any
    frame size, with or without a flush after each.

Reconnects
    :func:`reconnect_examples` draws ``max_retry`` and the attempts that fail before the
    finalize (a close with a code, a TCP reset or a retryable ``error`` message, at an event of
    the attempt), each with the audio pushed on it.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

__all__ = [
    "PUSH_RATES",
    "RECONNECT_SEGMENT",
    "STREAM_RATES",
    "push_examples",
    "reconnect_examples",
    "transcript_examples",
    "transcript_fault_schedules",
    "transcript_replies",
]

_WORDS = ("hello", "world", "good", "morning", "voice", "wire")

STREAM_RATES = (16000, 8000, 24000, 44100, 48000)
"""The rates a stream sends at (its ``sample_rate``)."""
PUSH_RATES = (16000, 8000, 24000, 44100, 48000)
"""The rates audio is pushed at (the stream resamples the others)."""

RECONNECT_SEGMENT = 0.1
"""Seconds of each segment of the reconnect family's reply: its finals are events 1, 2, ... of
a session, one per 0.1 s of audio the session hears."""


@st.composite
def _segment(draw: st.DrawFn, start: float) -> dict[str, Any]:
    duration = draw(st.sampled_from([0.25, 0.1, 0.4, 0.0]))
    words = draw(st.lists(st.sampled_from(_WORDS), max_size=3))
    segment: dict[str, Any] = {"text": " ".join(words), "start": start, "duration": duration}
    if words and draw(st.booleans()):
        step = duration / len(words)
        segment["words"] = [
            {
                "word": word,
                "start": round(start + i * step, 6),
                "end": round(start + (i + 1) * step, 6),
            }
            for i, word in enumerate(words)
        ]
    if draw(st.booleans()):
        segment["confidence"] = draw(st.sampled_from([0.93, 0.5, 0.0]))
    if draw(st.booleans()):
        segment["language"] = draw(st.sampled_from(["fr", "es"]))
    return segment


@st.composite
def transcript_replies(draw: st.DrawFn, *, max_segments: int = 3) -> dict[str, Any]:
    """An ``STTReply`` dict: segments in order on the audio clock (gaps of 0, 0.05 or 0.2 s),
    interims every 0.1 s of audio or none, empty interims and ``start_of_speech`` on or off."""
    segments: list[dict[str, Any]] = []
    end = 0.0
    for _ in range(draw(st.integers(0, max_segments))):
        start = round(end + draw(st.sampled_from([0.0, 0.05, 0.2])), 6)
        segment = draw(_segment(start))
        segments.append(segment)
        end = round(start + segment["duration"], 6)
    return {
        "segments": segments,
        "interim_interval": draw(st.sampled_from([None, 0.1])),
        "empty_interims": draw(st.booleans()),
        "start_of_speech": draw(st.booleans()),
    }


def transcript_fault_schedules(*, max_faults: int = 3, max_event: int = 12) -> st.SearchStrategy:
    """Drops, duplicates and reorders of a session's messages (events 1..``max_event``: event
    0 is ``session.created``), at most one per event."""
    fault = st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["drop", "duplicate", "reorder"]),
            "at_event": st.integers(1, max_event),
        }
    )
    return st.lists(fault, max_size=max_faults, unique_by=lambda f: f["at_event"])


@st.composite
def transcript_examples(draw: st.DrawFn) -> dict[str, Any]:
    """One ordering example: ``scenario`` (one ``stt`` rule: a transcript script and its
    faults), ``seconds`` of audio pushed (short of the last segment's end, at it, or past it)
    and the stream's ``language`` (null: unset)."""
    reply = draw(transcript_replies())
    faults = draw(transcript_fault_schedules())
    end = max((s["start"] + s["duration"] for s in reply["segments"]), default=0.0)
    seconds = max(0.05, round(end + draw(st.sampled_from([0.1, 0.0, -0.05])), 6))
    return {
        "scenario": {
            "name": "stt-transcripts",
            "rules": [{"match": {"endpoint": "stt"}, "reply": reply, "faults": faults}],
        },
        "seconds": seconds,
        "language": draw(st.sampled_from([None, "de"])),
    }


@st.composite
def push_examples(draw: st.DrawFn, *, max_pushes: int = 3) -> dict[str, Any]:
    """One framing example: the stream's ``sample_rate``, the ``push_rate`` and
    ``num_channels`` of its audio, and ``pushes``: each ``seconds`` of audio in ``frame_ms``
    frames, then a flush or not (the input ends after the last)."""
    pushes = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "seconds": st.sampled_from([0.12, 0.05, 0.01, 0.3, 0.437]),
                    "frame_ms": st.sampled_from([10.0, 7.0, 13.0, 1.0, 50.0, 64.5, 100.0]),
                    "flush": st.booleans(),
                }
            ),
            min_size=1,
            max_size=max_pushes,
        )
    )
    return {
        "sample_rate": draw(st.sampled_from(STREAM_RATES)),
        "push_rate": draw(st.sampled_from(PUSH_RATES)),
        "num_channels": draw(st.sampled_from([1, 2])),
        "pushes": pushes,
    }


@st.composite
def reconnect_examples(draw: st.DrawFn, *, max_failures: int = 3) -> dict[str, Any]:
    """One reconnect example: ``max_retry`` (0..2) and ``failures``, the attempts that fail
    before the finalize, in order: each ``how`` it fails (``ws_close`` with a ``code``,
    ``reset``, or an ``error`` message with a retryable ``code``), ``at_event`` (0:
    right after ``session.created``; k: after the k-th final) and ``extra`` seconds of audio
    pushed on it past that event's place; the attempt after them pushes ``last`` seconds."""
    failures = []
    for _ in range(draw(st.integers(1, max_failures))):
        how = draw(st.sampled_from(["ws_close", "reset", "error"]))
        failure: dict[str, Any] = {
            "how": how,
            "at_event": draw(st.integers(0, 3)),
            "extra": draw(st.sampled_from([0.05, 0.02, 0.15])),
        }
        if how == "ws_close":
            failure["code"] = draw(st.sampled_from([1011, 1001, 1000, 4000]))
        elif how == "error":
            failure["code"] = draw(st.sampled_from([503, 408, 429]))
        failures.append(failure)
    return {
        "max_retry": draw(st.integers(0, 2)),
        "failures": failures,
        "last": draw(st.sampled_from([0.25, 0.05])),
    }
