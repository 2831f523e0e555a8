"""Hypothesis strategies for the Inworld STT client (SPEC §5.3).

Every strategy draws plain JSON data (scenario documents, push plans), so a failing example
is written to the report as a replay file and played again with ``voicewire run --replay``.
They shrink towards small scripts: no segment, one push, no fault, the first choice of each
list.

Transcript scripts
    :func:`inworld_transcript_replies` draws an ``InworldTranscribeReply`` (the simulator's
    ``inworld.transcribe`` reply): zero to three segments on the audio clock, empty finals
    among them, with or without a voice profile, with or without ``speechStarted``,
    interims (empty ones among them) or none. :func:`transcribe_fault_schedules` draws drops,
    duplicates and reorders of the stream's messages (numbered from 0: Inworld sends no
    greeting, so the first ``speechStarted`` is event 0);
    :func:`transcribe_script_examples` pairs the two with the audio to push and the
    stream's language.

Push patterns
    :func:`transcribe_push_examples` draws the audio a stream is fed at its own rate: pushes
    of any length in frames of odd sizes (whole samples at 16 kHz: 7, 10, 13, 23, 64.5,
    100 ms), with or without a flush after each; sometimes past the 5 s a periodic usage
    event covers.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

__all__ = [
    "TRANSCRIBE_FRAME_MS",
    "TRANSCRIBE_PUSH_SECONDS",
    "VOICE_PROFILES",
    "inworld_transcript_replies",
    "transcribe_fault_schedules",
    "transcribe_push_examples",
    "transcribe_script_examples",
]

_WORDS = ("hello", "world", "good", "morning", "voice", "wire")

VOICE_PROFILES: tuple[dict[str, Any], ...] = (
    {"age": [{"label": "adult", "confidence": 0.9}]},
    {"gender": [{"label": "female", "confidence": 0.7}], "emotion": [{"label": "calm"}]},
)
"""The ``voiceProfile`` objects a final may carry."""

TRANSCRIBE_FRAME_MS = (10.0, 7.0, 13.0, 23.0, 64.5, 100.0)
"""Frame sizes, in ms, that are whole samples at 16 kHz."""
TRANSCRIBE_PUSH_SECONDS = (0.12, 0.05, 0.01, 0.3, 0.437, 1.9)
"""Seconds of one push (three of 1.9 s cross the 5 s of a periodic usage event)."""


@st.composite
def _segment(draw: st.DrawFn, start: float) -> dict[str, Any]:
    words = draw(st.lists(st.sampled_from(_WORDS), max_size=3))
    segment: dict[str, Any] = {
        "text": " ".join(words),
        "start": start,
        "duration": draw(st.sampled_from([0.25, 0.1, 0.4, 0.0])),
    }
    profile = draw(st.sampled_from([None, *VOICE_PROFILES]))
    if profile is not None:
        segment["voice_profile"] = profile
    return segment


@st.composite
def inworld_transcript_replies(draw: st.DrawFn, *, max_segments: int = 3) -> dict[str, Any]:
    """An ``InworldTranscribeReply`` dict: segments in order on the audio clock (gaps of 0,
    0.05 or 0.2 s), interims every 0.1 s of audio or none, empty interims and
    ``speech_started`` on or off."""
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
        "speech_started": draw(st.booleans()),
    }


def transcribe_fault_schedules(
    *, max_faults: int = 3, max_event: int = 12
) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Drops, duplicates and reorders of a stream's messages (events 0..``max_event``), at
    most one per event."""
    fault = st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["drop", "duplicate", "reorder"]),
            "at_event": st.integers(0, max_event),
        }
    )
    return st.lists(fault, max_size=max_faults, unique_by=lambda f: f["at_event"])


@st.composite
def transcribe_script_examples(draw: st.DrawFn) -> dict[str, Any]:
    """One ordering example: ``scenario`` (one ``inworld.transcribe`` rule: a transcript
    script and its faults), ``seconds`` of audio pushed (short of the last segment's end, at
    it, or past it: the finals still due come after ``closeStream``) and the stream's
    ``language`` (null: the client's default)."""
    reply = draw(inworld_transcript_replies())
    faults = draw(transcribe_fault_schedules())
    end = max((s["start"] + s["duration"] for s in reply["segments"]), default=0.0)
    seconds = max(0.05, round(end + draw(st.sampled_from([0.1, 0.0, -0.05])), 6))
    return {
        "scenario": {
            "name": "inworld-stt-transcripts",
            "rules": [
                {"match": {"endpoint": "inworld.transcribe"}, "reply": reply, "faults": faults}
            ],
        },
        "seconds": seconds,
        "language": draw(st.sampled_from([None, "de-DE"])),
    }


@st.composite
def transcribe_push_examples(draw: st.DrawFn, *, max_pushes: int = 3) -> dict[str, Any]:
    """One framing example: ``pushes``, each ``seconds`` of audio in ``frame_ms`` frames (the
    last one shorter when they do not divide), then a flush or not; the input ends after the
    last."""
    pushes = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "seconds": st.sampled_from(TRANSCRIBE_PUSH_SECONDS),
                    "frame_ms": st.sampled_from(TRANSCRIBE_FRAME_MS),
                    "flush": st.booleans(),
                }
            ),
            min_size=1,
            max_size=max_pushes,
        )
    )
    return {"pushes": pushes}
