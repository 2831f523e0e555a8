"""Property families for the STT client (SPEC §3): generated scripts, pushes and reconnects.

``stt-transcripts``: a generated transcript script (:func:`~.strategies.transcript_examples`:
segments with and without ``start_of_speech``, empty interims and finals, words, confidence
and language present or missing) under a generated schedule of dropped, duplicated and
reordered messages. Whatever the simulator actually sent, as its journal says, the stream's
events must be what SPEC §3.3 makes of it: the same START / INTERIM / FINAL / END sequence
(STT-ORD-1..3), the server's texts (STT-ORD-4), its times and the defaults (STT-ORD-5), and
usage just before a FINAL, adding up to the audio sent (STT-USG-1).

``stt-framing``: audio pushed at 8 to 48 kHz, mono or stereo, in frames of any size, with
flushes (:func:`~.strategies.push_examples`): every ``input_audio`` frame is exactly 50 ms
but for one right before a flush or the finalize; pushed at the stream's rate, the bytes sent
are the bytes pushed (stereo pushes carry the same samples on both channels, so any fair
mix-down gives them back); resampled, the samples sent are the pushed duration at the
stream's rate (STT-C-2); ``session.finalize`` goes out once, after the audio (STT-C-3).

``stt-reconnects``: attempts that fail before the finalize (a close with any code, a reset,
a retryable ``error`` message, at any event of the attempt), under ``max_retry`` 0..2
(:func:`~.strategies.reconnect_examples`): one ``session.create`` per connection, as many
connections as §2.4 allows, and every transcript's ``start_time`` placed after the audio
the earlier connections heard and no later than the audio pushed before its connection
(STT-RETRY-1).

Examples are plain JSON, so a failing one replays with ``--voicewire-replay``.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import pytest
from voicewire.harness.driver import IUTDriver
from voicewire.harness.iut import ConnOptions
from voicewire.harness.replay import property_family
from voicewire.harness.runtime import CaseSimulator
from voicewire.harness.stt import PushAudioStep, STTOutcome
from voicewire.harness.verdicts import expect, require
from voicewire.simulators.scenario import build_scenario, parse_scenario
from voicewire.suites.stt.strategies import (
    RECONNECT_SEGMENT,
    push_examples,
    reconnect_examples,
    transcript_examples,
)
from voicewire.suites.stt.test_stream import (
    MODEL,
    TIME_ZERO_SLACK,
    frames,
    segments_problem,
    sent,
    signal,
    transcript_problems,
)

RATE = 16000
ONE_ATTEMPT = ConnOptions(max_retry=0, retry_interval=0.0, timeout=5.0)
END_INPUT = {"op": "end_input"}


def _push(seconds: float, rate: int = RATE, *, seed: int = 0) -> PushAudioStep:
    return PushAudioStep.of(signal(seconds, rate, seed), rate, frame_ms=10.0)


def _journal_order(simulator: CaseSimulator, target: Any) -> tuple[int | None, int | None]:
    """Where, in the journal, the simulator read ``session.finalize`` and sent its last
    final (entry indexes, None when absent)."""
    finalize = last_final = None
    for index, entry in enumerate(simulator.journal(target)):
        if entry.get("kind") != "ws_message" or not isinstance(entry.get("data"), str):
            continue
        if entry.get("direction") == "in" and '"session.finalize"' in entry["data"]:
            finalize = index
        elif entry.get("direction") == "out" and '"final_transcript"' in entry["data"]:
            last_final = index
    return finalize, last_final


def _predicted_types(server: list[dict[str, Any]]) -> list[str]:
    """The SpeechEvent types (usage aside) SPEC §3.3 makes of the messages the server sent,
    in order: STT-ORD-2's openings, STT-ORD-3's empty transcripts, a FINAL and END per final."""
    speaking, types = False, []
    for message in server:
        kind = message.get("type")
        opens = kind == "start_of_speech" or kind == "final_transcript"
        opens = opens or (kind == "interim_transcript" and bool(message.get("transcript")))
        if opens and not speaking:
            types.append("start_of_speech")
            speaking = True
        if kind == "interim_transcript" and message.get("transcript"):
            types.append("interim_transcript")
        elif kind == "final_transcript":
            types += ["final_transcript", "end_of_speech"]
            speaking = False
    return types


# How far from zero a single connection's time zero may lie: test_stream.py's
# TIME_ZERO_SLACK (upstream reads it off the wall clock).
OFFSET_SLACK = TIME_ZERO_SLACK


def _time_problems(events: list[Any], messages: list[dict[str, Any]], language: str) -> list[str]:
    """STT-ORD-5 on one connection: each event against the message it came from, all on one
    time zero (within :data:`OFFSET_SLACK` of the stream's start)."""
    problems: list[str] = []
    zero: float | None = None
    for event, message in zip(events, messages, strict=True):
        if not event.alternatives:
            problems.append(f"{event.speech_type} {event.text!r} has no alternative")
            continue
        alt = event.alternatives[0]
        offset = alt.start_time - message["start"]
        zero = offset if zero is None else zero
        if abs(offset) > OFFSET_SLACK or abs(offset - zero) > 1e-6:
            problems.append(
                f"{event.speech_type} {event.text!r}: start_time {alt.start_time!r} for start "
                f"{message['start']!r} puts the time zero at {offset!r} (the connection's is "
                f"{zero!r}; it must be the stream's start)"
            )
        problems += transcript_problems(event, message, offset=offset, language=language)
    return problems


# -- stt-transcripts ------------------------------------------------------------------------

TRANSCRIPT_BOUNDARIES = [
    # No segment at all: no event, no usage.
    {
        "scenario": {
            "name": "stt-transcripts",
            "rules": [{"match": {"endpoint": "stt"}, "reply": {"segments": []}, "faults": []}],
        },
        "seconds": 0.1,
        "language": None,
    },
    # An empty final right after start_of_speech, then a segment whose final is dropped and
    # whose interims are duplicated: the dropped final leaves its segment open.
    {
        "scenario": {
            "name": "stt-transcripts",
            "rules": [
                {
                    "match": {"endpoint": "stt"},
                    "reply": {
                        "segments": [
                            {"text": "", "start": 0.0, "duration": 0.1},
                            {"text": "good morning", "start": 0.1, "duration": 0.3},
                        ],
                        "interim_interval": 0.1,
                        "empty_interims": True,
                        "start_of_speech": True,
                    },
                    "faults": [
                        {"kind": "duplicate", "at_event": 4},
                        {"kind": "reorder", "at_event": 5},
                        {"kind": "drop", "at_event": 7},
                    ],
                }
            ],
        },
        "seconds": 0.5,
        "language": "de",
    },
    # Two finals, the second sent on the finalize (the audio stops inside its segment): the
    # two usages must add up to every sample pushed.
    {
        "scenario": {
            "name": "stt-transcripts",
            "rules": [
                {
                    "match": {"endpoint": "stt"},
                    "reply": {
                        "segments": [
                            {"text": "one", "start": 0.0, "duration": 0.25},
                            {"text": "two", "start": 0.25, "duration": 0.4},
                        ]
                    },
                    "faults": [],
                }
            ],
        },
        "seconds": 0.5,
        "language": None,
    },
]
"""The shallow edges of the transcript family, run every time before the generated ones."""


@pytest.mark.spec("STT-ORD-1", "STT-ORD-2", "STT-ORD-3", "STT-ORD-4", "STT-ORD-5", "STT-USG-1")
@pytest.mark.capability("stt.stream")
@property_family(
    "stt-transcripts", transcript_examples(), max_examples=25, boundaries=TRANSCRIPT_BOUNDARIES
)
def test_transcript_scripts(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, example: dict[str, Any]
) -> None:
    """Whatever transcript the simulator sent, faults and all, the events are SPEC §3.3's."""
    target = voicewire_simulator.session(parse_scenario(example["scenario"]))
    outcome: STTOutcome = voicewire_iut.transcribe(
        target=target,
        model=MODEL,
        language=example["language"],
        conn_options=ONE_ATTEMPT,
        script=[_push(example["seconds"]), END_INPUT],
    )
    require(
        outcome.error is None,
        "STT-END-1",
        f"the scripted stream must end cleanly:\n{outcome.describe()}",
    )
    server = [
        m
        for m in frames(voicewire_simulator, target, "out")
        if m.get("type") in ("start_of_speech", "interim_transcript", "final_transcript")
    ]
    problem = segments_problem(outcome.types)
    expect(problem is None, "STT-ORD-1", f"{problem}:\n{outcome.describe()}")
    predicted = _predicted_types(server)
    got = [kind for kind in outcome.types if kind != "recognition_usage"]
    if got != predicted:
        counts = {
            kind: (predicted.count(kind), got.count(kind))
            for kind in (
                "start_of_speech",
                "interim_transcript",
                "final_transcript",
                "end_of_speech",
            )
        }
        starts_differ = counts["start_of_speech"][0] != counts["start_of_speech"][1]
        others_differ = any(p != g for kind, (p, g) in counts.items() if kind != "start_of_speech")
        rule = "STT-ORD-2" if starts_differ else "STT-ORD-3" if others_differ else "STT-ORD-1"
        expect(
            False,
            rule,
            f"the server sent {[(m['type'], m.get('transcript')) for m in server]}; the events "
            f"must be {predicted} (usage aside), got {got} (counts expected/got: {counts})",
        )
    finals = [m for m in server if m["type"] == "final_transcript"]
    interims = [m for m in server if m["type"] == "interim_transcript" and m["transcript"]]
    final_texts = [e.text for e in outcome.finals]
    interim_texts = [e.text for e in outcome.interims]
    expect(
        final_texts == [m["transcript"] for m in finals],
        "STT-ORD-4",
        f"FINAL texts must be {[m['transcript'] for m in finals]}, got {final_texts}",
    )
    expect(
        interim_texts == [m["transcript"] for m in interims],
        "STT-ORD-4",
        f"INTERIM texts must be {[m['transcript'] for m in interims]}, got {interim_texts}",
    )
    language = example["language"] or "en"
    problems = []
    if len(outcome.finals) == len(finals):
        problems += _time_problems(
            [e for e in outcome.finals if e.text], [m for m in finals if m["transcript"]], language
        )
    if len(outcome.interims) == len(interims):
        problems += _time_problems(outcome.interims, interims, language)
    expect(not problems, "STT-ORD-5", "\n".join(problems) + f"\n{outcome.describe()}")
    types = outcome.types
    misplaced = [
        i
        for i, kind in enumerate(types)
        if kind == "recognition_usage" and types[i + 1 : i + 2] != ["final_transcript"]
    ]
    durations = [e.audio_duration for e in outcome.usages]
    expect(
        not misplaced and all(d is not None and d > 0 for d in durations),
        "STT-USG-1",
        f"every usage must be > 0 and come right before a FINAL (misplaced at {misplaced}, "
        f"durations {durations}):\n{outcome.describe()}",
    )
    # The usages count audio sent, each sample once: never more than was pushed.
    pushed = round(example["seconds"] * RATE) / RATE
    total = sum(d or 0.0 for d in durations)
    expect(
        total < pushed + 0.5 / RATE,
        "STT-USG-1",
        f"the usages add up to {total} s, more than the {pushed} s sent: {durations}",
    )
    finalize, last_final = _journal_order(voicewire_simulator, target)
    if finalize is not None and last_final is not None and last_final > finalize:
        # The last final went out after the finalize, so after every sample: the usages
        # must add up to all the audio, to the sample.
        expect(
            abs(total - pushed) < 0.5 / RATE,
            "STT-USG-1",
            f"the last final came after the finalize: the usages must add up to the "
            f"{pushed} s sent, got {durations} (sum {total}):\n{outcome.describe()}",
        )


# -- stt-framing ----------------------------------------------------------------------------


def _pushed(example: dict[str, Any]) -> tuple[list[PushAudioStep | dict[str, str]], list[bytes]]:
    """The script of a framing example and the mono PCM of each push."""
    rate, channels = example["push_rate"], example["num_channels"]
    script: list[Any] = []
    monos = []
    for index, push in enumerate(example["pushes"]):
        mono = signal(push["seconds"], rate, seed=index + 1)
        monos.append(mono)
        pcm = mono
        if channels == 2:
            # Both channels the same: any fair mix-down (a mean, rounded any way) is the mono.
            pcm = np.repeat(np.frombuffer(mono, dtype="<i2"), 2).astype("<i2").tobytes()
        script.append(PushAudioStep.of(pcm, rate, num_channels=channels, frame_ms=push["frame_ms"]))
        if push["flush"]:
            script.append({"op": "flush"})
    script.append(END_INPUT)
    return script, monos


@pytest.mark.spec("STT-C-2", "STT-C-3")
@pytest.mark.capability("stt.stream")
@property_family("stt-framing", push_examples(), max_examples=25)
def test_push_patterns(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, example: dict[str, Any]
) -> None:
    """Any pushes at any rate and channel count go out as exact 50 ms frames of the pushed
    audio, and one finalize after them."""
    rate, push_rate = example["sample_rate"], example["push_rate"]
    script, monos = _pushed(example)
    target = voicewire_simulator.session(None)
    outcome = voicewire_iut.transcribe(
        target=target, model=MODEL, sample_rate=rate, conn_options=ONE_ATTEMPT, script=script
    )
    messages = sent(voicewire_simulator, target)
    types = [m.get("type") for m in messages]
    expect(
        types.count("session.finalize") == 1,
        "STT-C-3",
        f"session.finalize must go out once, went out {types.count('session.finalize')} "
        f"times:\n{outcome.describe()}",
    )
    if "session.finalize" in types:
        expect(
            "input_audio" not in types[types.index("session.finalize") :],
            "STT-C-3",
            "audio was sent after session.finalize",
        )
    audio = [m for m in messages if m.get("type") == "input_audio"]
    sizes = [m["samples"] for m in audio]
    full = rate // 20
    # A frame may be short only at a flush point: after a push that flushes, and at the end.
    ends = [i for i, push in enumerate(example["pushes"]) if push["flush"]]
    if len(example["pushes"]) - 1 not in ends:
        ends.append(len(example["pushes"]) - 1)
    if push_rate == rate:
        expected, offset = [], 0
        for index, mono in enumerate(monos):
            offset += len(mono) // 2
            if index in ends:
                expected += [full] * (offset // full) + ([offset % full] if offset % full else [])
                offset = 0
        expect(
            sizes == expected,
            "STT-C-2",
            f"frames must be {full} samples (50 ms), a shorter one only right before a flush "
            f"or the finalize:\nexpected {expected}\ngot      {sizes}",
        )
        pushed = b"".join(monos)
        at, wrong = 0, []
        for index, message in enumerate(audio):
            piece = pushed[at : at + 2 * message["samples"]]
            if f"{zlib.crc32(piece):08x}" != message["crc32"]:
                wrong.append(index)
            at += 2 * message["samples"]
        expect(
            not wrong and at == len(pushed),
            "STT-C-2",
            f"the audio sent must be the audio pushed, byte for byte: frames {wrong[:10]} "
            f"differ; {at // 2} samples sent of {len(pushed) // 2} pushed",
        )
        return
    short = [i for i, size in enumerate(sizes) if size != full]
    expect(
        all(size <= full for size in sizes) and len(short) <= len(ends),
        "STT-C-2",
        f"frames must be {full} samples (50 ms), a shorter one only right before one of the "
        f"{len(ends)} flush points; got {sizes}",
    )
    # Resampled: the samples sent are the pushed duration at the stream's rate, give or take
    # what a resampler's filter delay may trim or pad (2 ms).
    want = sum(len(m) // 2 for m in monos) * rate / push_rate
    expect(
        abs(sum(sizes) - want) <= 0.002 * rate,
        "STT-C-2",
        f"{sum(sizes)} samples sent at {rate} Hz for {want / rate:.4f} s pushed at "
        f"{push_rate} Hz ({want:.0f} samples expected)",
    )


# -- stt-reconnects -------------------------------------------------------------------------


def _reconnect_scenario(example: dict[str, Any]) -> dict[str, Any]:
    """The scenario of a reconnect example: back-to-back 0.1 s segments, and each failing
    attempt's fault on that attempt only."""
    segments = [
        {"text": f"s{i}", "start": round(i * RECONNECT_SEGMENT, 6), "duration": RECONNECT_SEGMENT}
        for i in range(40)
    ]
    faults = []
    for attempt, failure in enumerate(example["failures"], start=1):
        at = failure["at_event"]
        if failure["how"] == "ws_close":
            faults.append(
                {"kind": "ws_close", "at_event": at, "code": failure["code"], "attempt": attempt}
            )
        elif failure["how"] == "reset":
            faults.append(
                {"kind": "disconnect", "mode": "reset", "at_event": at, "attempt": attempt}
            )
        else:
            faults.append(
                {"kind": "error_event", "at_event": at, "code": failure["code"], "attempt": attempt}
            )
    reply = {"interim_interval": None, "segments": segments}
    return {
        "name": "stt-reconnects",
        "rules": [{"match": {"endpoint": "stt"}, "reply": reply, "faults": faults}],
    }


RECONNECT_BOUNDARIES = [
    # max_retry 0: the first failure is the stream's end.
    {
        "max_retry": 0,
        "failures": [{"how": "ws_close", "at_event": 1, "extra": 0.05, "code": 1011}],
        "last": 0.25,
    },
    # Two failures, two retries: the third connection ends the stream cleanly.
    {
        "max_retry": 2,
        "failures": [
            {"how": "error", "at_event": 0, "extra": 0.05, "code": 503},
            {"how": "reset", "at_event": 2, "extra": 0.15},
        ],
        "last": 0.25,
    },
]
"""The shallow edges of the reconnect family, run every time before the generated ones."""


@pytest.mark.spec("STT-RETRY-1")
@pytest.mark.capability("stt.stream")
@property_family(
    "stt-reconnects", reconnect_examples(), max_examples=10, boundaries=RECONNECT_BOUNDARIES
)
def test_reconnects(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, example: dict[str, Any]
) -> None:
    """Failures before the finalize reconnect with a new ``session.create`` while retries
    last, and ``start_time`` goes on from the audio already sent."""
    failures, max_retry = example["failures"], example["max_retry"]
    target = voicewire_simulator.session(build_scenario(**_reconnect_scenario(example)))
    script: list[Any] = []
    chunks: list[float] = []
    for number, failure in enumerate(failures, start=1):
        seconds = round(failure["at_event"] * RECONNECT_SEGMENT + failure["extra"], 6)
        chunks.append(seconds)
        script += [
            _push(seconds, seed=number),
            {"op": "wait_event", "event": "error", "count": number, "timeout": 5.0},
        ]
    script += [_push(example["last"], seed=0), END_INPUT]
    outcome = voicewire_iut.transcribe(
        target=target,
        model=MODEL,
        conn_options=ConnOptions(max_retry=max_retry, retry_interval=0.0, timeout=5.0),
        script=script,
    )
    recovers = len(failures) <= max_retry
    connections = len(failures) + 1 if recovers else max_retry + 1
    messages = sent(voicewire_simulator, target)
    creates = [m for m in messages if m.get("type") == "session.create"]
    exchanges = sorted({m["_exchange"] for m in messages})
    expect(
        len(creates) == len(exchanges) == connections,
        "STT-RETRY-1",
        f"{len(failures)} failing attempt(s) with max_retry {max_retry}: {connections} "
        f"connection(s) each opening with session.create; got {len(exchanges)} connection(s) "
        f"and {len(creates)} session.create:\n{outcome.describe()}",
    )
    expect(
        (outcome.error is None) == recovers,
        "STT-RETRY-1",
        f"the stream must {'end cleanly' if recovers else 'raise once its retries ran out'}:"
        f"\n{outcome.describe()}",
    )
    # Each final the client could take, with the connection that sent it: a final sent after
    # an error message is not (the error ended that attempt).
    server, failed = [], set()
    for message in frames(voicewire_simulator, target, "out"):
        if message.get("type") == "error":
            failed.add(message["_exchange"])
        elif message.get("type") == "final_transcript" and message["_exchange"] not in failed:
            server.append(message)
    require(
        [e.text for e in outcome.finals] == [m["transcript"] for m in server],
        "STT-ORD-4",
        f"the finals must be the server's, {[m['transcript'] for m in server]}:\n"
        f"{outcome.describe()}",
    )
    heard: dict[Any, float] = {}
    for message in messages:
        if message.get("type") == "input_audio":
            heard[message["_exchange"]] = (
                heard.get(message["_exchange"], 0.0) + message["samples"] / RATE
            )
    problems, previous = [], 0.0
    for event, message in zip(outcome.finals, server, strict=True):
        if not event.alternatives:
            continue
        number = exchanges.index(message["_exchange"]) if message["_exchange"] in exchanges else 0
        low = sum(heard.get(e, 0.0) for e in exchanges[:number])
        # The first connection's time zero is the stream's start (see OFFSET_SLACK).
        high = sum(chunks[:number]) + (OFFSET_SLACK if number == 0 else 0.0)
        start = event.alternatives[0].start_time
        offset = start - message["start"]
        if not low - 1e-6 <= offset <= high + 1e-6:
            problems.append(
                f"{event.text!r} of connection {number + 1}: start_time {start:.6f} puts its "
                f"time zero at {offset:.6f} s; the earlier connections heard {low:.6f} s and "
                f"{high:.6f} s had been pushed"
            )
        if event.alternatives[0].start_time + 1e-6 < previous:
            problems.append(
                f"{event.text!r}: start_time went back to {event.alternatives[0].start_time:.6f}"
            )
        previous = event.alternatives[0].start_time
    expect(not problems, "STT-RETRY-1", "\n".join(problems) + f"\n{outcome.describe()}")
