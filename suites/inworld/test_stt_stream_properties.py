"""Property families for the Inworld STT client (SPEC §5.3): generated transcripts and pushes.

``inworld-stt-transcripts``: a generated transcript script
(:func:`~.transcribe_strategies.transcribe_script_examples`: segments with and without
``speechStarted``, empty interims and finals, voice profiles) under a generated schedule of
dropped, duplicated and reordered messages. Whatever the simulator actually sent, as its
journal says, the stream's events must be what IW-STT-ORD-1 makes of it: the segment grammar,
the same START / INTERIM / FINAL / END sequence, the server's texts, each final's voice
profile as its metadata and the configured language; its usages add up to the audio pushed
(IW-STT-USG-1).

``inworld-stt-framing``: audio pushed in frames of odd sizes, with flushes
(:func:`~.transcribe_strategies.transcribe_push_examples`): one ``audioChunk`` per pushed
frame with its exact bytes, ``endTurn`` at each flush, ``closeStream`` once at the end and
nothing after it (IW-STT-C-1); the usages add up to the audio pushed to the sample, none
covers more than 5 s and the frame that crossed the line, and every flush and the end of
input that follow audio report it (IW-STT-USG-1).

Examples are plain JSON, so a failing one replays with ``--voicewire-replay``.
"""

from __future__ import annotations

from typing import Any

import pytest
from voicewire.harness.driver import IUTDriver
from voicewire.harness.replay import property_family
from voicewire.harness.runtime import CaseSimulator
from voicewire.harness.stt import STTOutcome
from voicewire.harness.verdicts import expect, require
from voicewire.simulators.scenario import parse_scenario
from voicewire.suites.inworld.transcribe_log import (
    TRANSCRIBE_ONE_ATTEMPT,
    TRANSCRIBE_RATE,
    USAGE_INTERVAL_SECONDS,
    pushed_frames,
    transcribe_audio_problem,
    transcribe_client_messages,
    transcribe_events_problem,
    transcribe_kinds,
    transcribe_order_problem,
    transcribe_push,
    transcribe_segments_problem,
    transcribe_server_messages,
    transcribing,
    transcription_events,
)
from voicewire.suites.inworld.transcribe_strategies import (
    transcribe_push_examples,
    transcribe_script_examples,
)

END_INPUT = {"op": "end_input"}
HALF_SAMPLE = 0.5 / TRANSCRIBE_RATE


def _profile(event: Any) -> Any:
    """The voice profile in an event's metadata (None: none)."""
    if not event.alternatives:
        return None
    return (event.alternatives[0].metadata or {}).get("voice_profile")


# -- inworld-stt-transcripts ----------------------------------------------------------------

TRANSCRIPT_BOUNDARIES = [
    # No segment at all: no event but the usage.
    {
        "scenario": {
            "name": "inworld-stt-transcripts",
            "rules": [
                {
                    "match": {"endpoint": "inworld.transcribe"},
                    "reply": {"segments": []},
                    "faults": [],
                }
            ],
        },
        "seconds": 0.1,
        "language": None,
    },
    # An empty final with no speechStarted before it (no segment open: nothing to close),
    # then a segment whose speechStarted is duplicated and whose final, with a voice profile,
    # comes after closeStream.
    {
        "scenario": {
            "name": "inworld-stt-transcripts",
            "rules": [
                {
                    "match": {"endpoint": "inworld.transcribe"},
                    "reply": {
                        "segments": [
                            {"text": "", "start": 0.0, "duration": 0.1},
                            {
                                "text": "good morning",
                                "start": 0.1,
                                "duration": 0.4,
                                "voice_profile": {"age": [{"label": "adult"}]},
                            },
                        ],
                        "interim_interval": 0.1,
                        "empty_interims": True,
                        "speech_started": False,
                    },
                    "faults": [{"kind": "duplicate", "at_event": 1}],
                }
            ],
        },
        "seconds": 0.3,
        "language": "de-DE",
    },
    # A dropped final leaves its segment open: the next speechStarted must not open another;
    # the empty final after it closes it, and the next segment opens again.
    {
        "scenario": {
            "name": "inworld-stt-transcripts",
            "rules": [
                {
                    "match": {"endpoint": "inworld.transcribe"},
                    "reply": {
                        "segments": [
                            {"text": "one", "start": 0.0, "duration": 0.25},
                            {"text": "", "start": 0.25, "duration": 0.1},
                            {"text": "two", "start": 0.35, "duration": 0.25},
                        ],
                        "interim_interval": None,
                    },
                    "faults": [{"kind": "drop", "at_event": 1}],
                }
            ],
        },
        "seconds": 0.7,
        "language": None,
    },
]
"""The shallow edges of the transcript family, run every time before the generated ones."""


@pytest.mark.spec("IW-STT-ORD-1", "IW-STT-USG-1")
@pytest.mark.capability("inworld.stt.stream")
@property_family(
    "inworld-stt-transcripts",
    transcribe_script_examples(),
    max_examples=10,
    boundaries=TRANSCRIPT_BOUNDARIES,
)
def test_transcript_scripts(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, example: dict[str, Any]
) -> None:
    """Whatever transcript the simulator sent, faults and all, the events are IW-STT-ORD-1's
    and the usages add up to the audio."""
    target = voicewire_simulator.session(parse_scenario(example["scenario"]))
    # 40 ms frames: framing is the other family's; fewer messages keep the family cheap.
    script = [transcribe_push(example["seconds"], frame_ms=40.0), END_INPUT]
    outcome: STTOutcome = voicewire_iut.inworld_transcribe(
        target=target,
        language=example["language"],
        conn_options=TRANSCRIBE_ONE_ATTEMPT,
        script=script,
    )
    require(
        outcome.error is None,
        "IW-STT-ORD-1",
        f"the scripted stream must end cleanly:\n{outcome.describe()}",
    )
    server = transcribe_server_messages(voicewire_simulator, target)
    speech = outcome.speech
    problem = transcribe_segments_problem(speech)
    expect(problem is None, "IW-STT-ORD-1", f"{problem}:\n{outcome.describe()}")
    problem = transcribe_events_problem(speech, server)
    expect(problem is None, "IW-STT-ORD-1", f"{problem}\n{outcome.describe()}")
    said = transcription_events(server)
    finals = [(text, profile) for kind, text, profile in said if kind == "final" and text]
    got = [(e.text, _profile(e)) for e in outcome.finals if e.text]
    expect(
        got == [(text, profile or None) for text, profile in finals],
        "IW-STT-ORD-1",
        f"the FINALs must be the server's non-empty finals, each with its voiceProfile as "
        f"metadata['voice_profile']: expected {finals}, got {got}",
    )
    language = example["language"] or "en-US"
    languages = {a.language for e in outcome.finals + outcome.interims for a in e.alternatives}
    expect(
        languages <= {language},
        "IW-STT-ORD-1",
        f"transcripts carry the configured language {language!r}, got {sorted(languages)}",
    )
    pushed = sum(len(f) // 2 for f in pushed_frames(script)) / TRANSCRIBE_RATE
    durations = [e.audio_duration or 0.0 for e in outcome.usages]
    expect(
        abs(sum(durations) - pushed) < HALF_SAMPLE,
        "IW-STT-USG-1",
        f"the usages must add up to the {pushed} s pushed, got {durations}",
    )


# -- inworld-stt-framing --------------------------------------------------------------------

FRAMING_BOUNDARIES = [
    # One push of one short frame (a 2.5 ms frame and a shorter one), no flush.
    {"pushes": [{"seconds": 0.004, "frame_ms": 2.5, "flush": False}]},
    # Flushes back to back around 5.2 s of audio: a periodic usage, and a flush with nothing
    # new to report.
    {
        "pushes": [
            {"seconds": 2.6, "frame_ms": 64.5, "flush": False},
            {"seconds": 2.6, "frame_ms": 23.0, "flush": True},
            {"seconds": 0.01, "frame_ms": 2.5, "flush": True},
        ]
    },
]
"""The shallow edges of the framing family, run every time before the generated ones."""


@pytest.mark.spec("IW-STT-C-1", "IW-STT-USG-1")
@pytest.mark.capability("inworld.stt.stream")
@property_family(
    "inworld-stt-framing",
    transcribe_push_examples(),
    max_examples=8,
    boundaries=FRAMING_BOUNDARIES,
)
def test_push_patterns(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, example: dict[str, Any]
) -> None:
    """Any pushes in frames of any size go out one ``audioChunk`` per frame, bytes exact,
    ``endTurn`` at each flush and ``closeStream`` last; usage is exact and timely."""
    script: list[Any] = []
    want: list[str] = ["transcribeConfig"]
    reports = 0  # flush points (and the end) with audio pushed since the one before
    fresh = False
    largest = 0.0
    for index, push in enumerate(example["pushes"]):
        step = transcribe_push(push["seconds"], frame_ms=push["frame_ms"], seed=index + 1)
        script.append(step)
        count = len(pushed_frames([step]))
        want += ["audioChunk"] * count
        fresh = fresh or count > 0
        largest = max(largest, push["frame_ms"] / 1000)
        if push["flush"]:
            script.append({"op": "flush"})
            want.append("endTurn")
            reports += fresh
            fresh = False
    script.append(END_INPUT)
    want.append("closeStream")
    reports += fresh
    # A script with no segment: the simulator only listens (echo mode would run the tone
    # decoder over noise, for nothing this family judges).
    target = voicewire_simulator.session(transcribing("inworld-stt-framing", {"segments": []}))
    outcome = voicewire_iut.inworld_transcribe(
        target=target, conn_options=TRANSCRIBE_ONE_ATTEMPT, script=script
    )
    messages = transcribe_client_messages(voicewire_simulator, target)
    problem = transcribe_order_problem(transcribe_kinds(messages), want)
    expect(problem is None, "IW-STT-C-1", f"{problem}:\n{outcome.describe()}")
    frames = pushed_frames(script)
    audio = [m["audioChunk"] for m in messages if "audioChunk" in m and "_refused" not in m]
    problem = transcribe_audio_problem(audio, frames)
    expect(problem is None, "IW-STT-C-1", f"{problem}")
    pushed = sum(len(f) // 2 for f in frames) / TRANSCRIBE_RATE
    durations = [e.audio_duration or 0.0 for e in outcome.usages]
    expect(
        abs(sum(durations) - pushed) < HALF_SAMPLE,
        "IW-STT-USG-1",
        f"the usages must add up to the {pushed} s pushed, to the sample; got {durations} "
        f"(sum {sum(durations)})",
    )
    expect(
        all(d <= USAGE_INTERVAL_SECONDS + largest + HALF_SAMPLE for d in durations),
        "IW-STT-USG-1",
        f"no usage may cover more than 5 s and the {largest * 1000} ms frame that crossed the "
        f"line: {durations}",
    )
    expect(
        len(durations) >= reports,
        "IW-STT-USG-1",
        f"each of the {reports} flushes and end of input that follow audio must report it; "
        f"got {len(durations)} usage events: {durations}",
    )
