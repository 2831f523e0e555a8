"""STT client conformance: one speech stream per case against the embedded simulator.

Each case plays a script into one ``stt.stream`` (``voicewire_iut.transcribe``) and judges
what the simulator journaled of the client's messages (STT-C-1..3) or the SpeechEvents the
stream emitted against the transcript the simulator sent (STT-ORD-*, STT-USG-1, STT-END-1,
STT-RETRY-1). Transcripts are placed on the audio clock, so a case that must know how much
audio the client had sent when a final came pushes up to the final, waits for it
(``wait_event``), then pushes the rest: nothing depends on wall time.

The judged messages are read from the journal, not re-derived from the script: a case about
the client compares it with what the server really sent it.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import numpy as np
import pytest
from voicewire.harness.driver import IUTDriver
from voicewire.harness.iut import ConnOptions, Target
from voicewire.harness.runtime import CaseSimulator
from voicewire.harness.stt import PushAudioStep, STTOutcome
from voicewire.harness.verdicts import expect, require
from voicewire.simulators.scenario import Scenario
from voicewire.simulators.scenario import build_scenario as scenario

MODEL = "deepgram/nova-3"
RATE = 16000

# One attempt: a retry would hide what the first connection did.
ONE_ATTEMPT = ConnOptions(max_retry=0, retry_interval=0.0, timeout=5.0)
# One retry, at once: the retry cases script exactly one failed connection.
ONE_RETRY = ConnOptions(max_retry=1, retry_interval=0.0, timeout=5.0)

API_ERRORS = {"APIError", "APIStatusError", "APIConnectionError", "APITimeoutError"}

# -- helpers --------------------------------------------------------------------------------


def signal(seconds: float, rate: int, seed: int = 0) -> bytes:
    """Deterministic noise-like PCM s16le mono: every frame differs, so a lost, repeated or
    reordered frame changes the bytes."""
    rng = np.random.default_rng(seed + rate)
    return rng.integers(-8000, 8000, round(seconds * rate), dtype=np.int16).astype("<i2").tobytes()


def push(seconds: float, rate: int = RATE, *, frame_ms: float = 10.0, seed: int = 0) -> Any:
    return PushAudioStep.of(signal(seconds, rate, seed), rate, frame_ms=frame_ms)


def wait(event: str, count: int = 1) -> dict[str, Any]:
    return {"op": "wait_event", "event": event, "count": count}


END_INPUT = {"op": "end_input"}


def replying(
    name: str, reply: dict[str, Any], faults: list[dict[str, Any]] | None = None
) -> Scenario:
    """A scenario answering every STT session with ``reply`` (an ``STTReply`` dict)."""
    return scenario(name, {"match": {"endpoint": "stt"}, "reply": reply, "faults": faults or []})


def play(
    iut: IUTDriver,
    simulator: CaseSimulator,
    script_scenario: Scenario | None,
    script: list[Any],
    **fields: Any,
) -> tuple[STTOutcome, Target]:
    """One stream against a fresh session (echo mode when ``script_scenario`` is None)."""
    target = simulator.session(script_scenario)
    fields.setdefault("conn_options", ONE_ATTEMPT)
    fields.setdefault("model", MODEL)
    return iut.transcribe(target=target, script=script, **fields), target


def frames(simulator: CaseSimulator, target: Target, direction: str) -> list[dict[str, Any]]:
    """The session's WebSocket messages one way, decoded, in order (each with its
    ``exchange``: one per connection)."""
    found = []
    for entry in simulator.journal(target):
        if entry.get("kind") != "ws_message" or entry.get("direction") != direction:
            continue
        data = entry["data"]
        if isinstance(data, dict) and "refused" in data:
            # A client message the simulator refused (a second session.finalize, an update
            # after it) is journaled by its head: still a message the client sent.
            data = {**_decoded(data.get("head")), "_refused": data["refused"]}
        if isinstance(data, str):
            data = _decoded(data)
        if isinstance(data, dict) and data:
            found.append({**data, "_exchange": entry.get("exchange")})
    return found


def _decoded(text: Any) -> dict[str, Any]:
    """A journaled frame's JSON object, or {} (a scripted malformed line, a cut head)."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def sent(simulator: CaseSimulator, target: Target) -> list[dict[str, Any]]:
    """What the client sent (audio as ``{type: input_audio, samples, duration, crc32}``)."""
    return frames(simulator, target, "in")


def transcripts(simulator: CaseSimulator, target: Target, kind: str) -> list[dict[str, Any]]:
    """The ``kind`` transcripts the simulator sent, in order."""
    return [m for m in frames(simulator, target, "out") if m.get("type") == kind]


def segments_problem(types: list[str]) -> str | None:
    """Where ``types`` breaks STT-ORD-1's ``START (INTERIM)* [USAGE] FINAL END`` segments,
    or None."""
    open_, state = False, ""
    for index, kind in enumerate(types):
        if kind == "start_of_speech":
            if open_:
                return f"event {index}: START while a segment is open"
            open_, state = True, "start"
        elif kind == "interim_transcript":
            if not open_ or state not in ("start", "interim"):
                return f"event {index}: INTERIM outside an open segment's START (INTERIM)*"
            state = "interim"
        elif kind == "recognition_usage":
            if not open_ or state not in ("start", "interim"):
                return f"event {index}: USAGE outside an open segment, or twice"
            state = "usage"
        elif kind == "final_transcript":
            if not open_ or state == "final":
                return f"event {index}: FINAL without an open segment"
            state = "final"
        elif kind == "end_of_speech":
            if not open_ or state != "final":
                return f"event {index}: END not right after its segment's FINAL"
            open_, state = False, ""
    if open_ and state == "final":
        return "the stream ended with a segment left open after its final"
    return None


TIME_ZERO_SLACK = 1e-3
"""How far from the stream's start one connection's time zero may lie. Upstream starts its
timeline at a wall-clock reading (``stt/stt.py:483``, ``time.time() - last_start_time``): a
microsecond or two when the clock ticks between the two readings, more on a loaded core. A
wrong offset is a frame (50 ms) or more."""


def transcript_problems(
    event: Any, message: dict[str, Any], *, offset: float, language: str
) -> list[str]:
    """Where ``event`` (a SpeechEvent record) differs from what STT-ORD-5 makes of the
    server's transcript ``message`` on a connection whose time zero is ``offset`` on the
    stream's timeline: ``start_time``, ``end_time`` and word times, confidence (default 1.0),
    language (default ``language``, the configured one) and ``request_id``."""
    alt = event.alternatives[0]
    want = {
        "start_time": offset + message["start"],
        "end_time": offset + message["start"] + message["duration"],
        "confidence": message.get("confidence", 1.0),
        "language": message.get("language") or language,
        "request_id": message.get("request_id", event.request_id),
    }
    got = {
        "start_time": alt.start_time,
        "end_time": alt.end_time,
        "confidence": alt.confidence,
        "language": alt.language,
        "request_id": event.request_id,
    }
    problems = []
    for key, value in want.items():
        same = abs(got[key] - value) < 1e-6 if isinstance(value, float) else got[key] == value
        if not same:
            problems.append(f"{event.speech_type} {event.text!r}: {key} {got[key]!r} != {value!r}")
    words = [(offset + w["start"], offset + w["end"]) for w in message.get("words") or []]
    got_words = [(w.start_time, w.end_time) for w in alt.words]
    if words and (
        len(words) != len(got_words)
        or any(
            abs(a - b) > 1e-6
            for pair in zip(words, got_words, strict=True)
            for a, b in zip(*pair, strict=True)
        )
    ):
        problems.append(f"{event.text!r}: word times {got_words} != {words}")
    return problems


# A transcript with everything STT-ORD-1..4 speak of: start_of_speech, interims (empty ones
# among them, which must emit nothing), an empty final, a segment right after another.
ORDERING_REPLY: dict[str, Any] = {
    "interim_interval": 0.2,
    "empty_interims": True,
    "start_of_speech": True,
    "segments": [
        {
            "text": "hello world",
            "start": 0.0,
            "duration": 0.8,
            "confidence": 0.93,
            "language": "fr",
            "words": [
                {"word": "hello", "start": 0.3, "end": 0.45},
                {"word": "world", "start": 0.5, "end": 0.8},
            ],
        },
        {"text": "", "start": 1.0, "duration": 0.2},
        {"text": "good morning", "start": 1.2, "duration": 0.6},
    ],
}
ORDERING_SCRIPT = [push(2.0), END_INPUT]


def ordering_run(
    iut: IUTDriver, simulator: CaseSimulator, name: str, **fields: Any
) -> tuple[STTOutcome, Target]:
    outcome, target = play(
        iut, simulator, replying(name, ORDERING_REPLY), ORDERING_SCRIPT, **fields
    )
    require(
        outcome.error is None,
        "STT-END-1",
        f"the scripted stream must end cleanly:\n{outcome.describe()}",
    )
    return outcome, target


# -- STT-C-1 --------------------------------------------------------------------------------


@pytest.mark.spec("STT-C-1")
@pytest.mark.capability("stt.stream")
@pytest.mark.parametrize("options", ["named", "auto"])
def test_session_create_opens_the_session(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, options: str
) -> None:
    """The first message is ``session.create`` with the sample rate as a string, the
    encoding, the model (left out for ``auto``), the language (left out when unset) and
    ``settings.extra`` as given."""
    if options == "named":
        fields: dict[str, Any] = {
            "model": MODEL,
            "language": "en",
            "extra_kwargs": {"keyterm": ["voicewire"], "smart_format": True},
        }
    else:
        fields = {"model": "auto", "language": None, "extra_kwargs": {}}
    outcome, target = play(
        voicewire_iut, voicewire_simulator, None, [push(0.2), END_INPUT], **fields
    )
    messages = sent(voicewire_simulator, target)
    require(messages, "STT-C-1", f"the client sent nothing:\n{outcome.describe()}")
    create = messages[0]
    expect(
        create.get("type") == "session.create",
        "STT-C-1",
        f"the first message must be session.create, got {create.get('type')!r}",
    )
    settings = create.get("settings") or {}
    expect(
        settings.get("sample_rate") == str(RATE),
        "STT-C-1",
        f"settings.sample_rate must be the string {str(RATE)!r}, "
        f"got {settings.get('sample_rate')!r}",
    )
    expect(
        settings.get("encoding") == "pcm_s16le",
        "STT-C-1",
        f"settings.encoding must be 'pcm_s16le', got {settings.get('encoding')!r}",
    )
    if options == "named":
        expect(create.get("model") == MODEL, "STT-C-1", f"model: got {create.get('model')!r}")
        expect(
            settings.get("language") == "en",
            "STT-C-1",
            f"settings.language: got {settings.get('language')!r}",
        )
        expect(
            settings.get("extra") == fields["extra_kwargs"],
            "STT-C-1",
            f"settings.extra must be {fields['extra_kwargs']}, got {settings.get('extra')!r}",
        )
    else:
        expect("model" not in create, "STT-C-1", f"model 'auto' must be left out: {create}")
        expect(
            "language" not in settings,
            "STT-C-1",
            f"an unset language must be left out: {settings}",
        )


# -- STT-C-2 --------------------------------------------------------------------------------


@pytest.mark.spec("STT-C-2")
@pytest.mark.capability("stt.stream")
@pytest.mark.parametrize("rate", [8000, 16000, 24000, 48000])
def test_audio_goes_out_in_exact_50ms_frames(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, rate: int
) -> None:
    """Audio pushed in 7 ms then 13 ms frames, with a flush between, goes out as 50 ms
    frames, a shorter one only right before the flush and before the finalize; the bytes
    sent are the bytes pushed, in order (the stream's rate is the pushed rate, so no
    resampling stands between them)."""
    first = signal(0.51, rate, seed=1)
    second = signal(0.53, rate, seed=2)
    script = [
        PushAudioStep.of(first, rate, frame_ms=7),
        {"op": "flush"},
        PushAudioStep.of(second, rate, frame_ms=13),
        END_INPUT,
    ]
    outcome, target = play(voicewire_iut, voicewire_simulator, None, script, sample_rate=rate)
    audio = [m for m in sent(voicewire_simulator, target) if m.get("type") == "input_audio"]
    require(audio, "STT-C-2", f"the client sent no audio:\n{outcome.describe()}")
    full = rate // 20
    expected = [full] * 10 + [round(0.01 * rate)] + [full] * 10 + [round(0.03 * rate)]
    expect(
        [m["samples"] for m in audio] == expected,
        "STT-C-2",
        f"frames must be {full} samples (50 ms), shorter only before the flush and the "
        f"finalize:\nexpected {expected}\ngot      {[m['samples'] for m in audio]}",
    )
    pushed = first + second
    offset, wrong = 0, []
    for index, message in enumerate(audio):
        piece = pushed[offset : offset + 2 * message["samples"]]
        if f"{zlib.crc32(piece):08x}" != message["crc32"]:
            wrong.append(index)
        offset += 2 * message["samples"]
    expect(
        not wrong and offset == len(pushed),
        "STT-C-2",
        f"the audio sent must be the audio pushed, byte for byte: frames {wrong[:10]} differ "
        f"from the pushed bytes at their place; {offset // 2} samples sent of "
        f"{len(pushed) // 2} pushed",
    )


# -- STT-C-3 --------------------------------------------------------------------------------


@pytest.mark.spec("STT-C-3")
@pytest.mark.capability("stt.stream")
def test_finalize_is_sent_once_after_the_audio(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """After input ends, ``session.finalize`` goes out exactly once, after all the audio."""
    _, target = play(
        voicewire_iut, voicewire_simulator, None, [push(0.33), {"op": "flush"}, END_INPUT]
    )
    types = [m.get("type") for m in sent(voicewire_simulator, target)]
    expect(
        types.count("session.finalize") == 1,
        "STT-C-3",
        f"session.finalize must be sent once, was sent {types.count('session.finalize')} "
        f"times:\n{types}",
    )
    if "session.finalize" in types:
        after = types[types.index("session.finalize") + 1 :]
        expect(
            "input_audio" not in after,
            "STT-C-3",
            f"audio was sent after session.finalize: {types}",
        )


# -- STT-ORD-1..5 ---------------------------------------------------------------------------


@pytest.mark.spec("STT-ORD-1", "STT-ORD-2")
@pytest.mark.capability("stt.stream")
def test_events_form_whole_segments(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """The events form ``START (INTERIM)* [USAGE] FINAL END`` segments, one per final, none
    left open; ``start_of_speech`` opens a segment only when none is open."""
    outcome, _ = ordering_run(voicewire_iut, voicewire_simulator, "stt-ord-segments")
    problem = segments_problem(outcome.types)
    expect(problem is None, "STT-ORD-1", f"{problem}:\n{outcome.describe()}")
    starts = outcome.types.count("start_of_speech")
    expect(
        starts == len(outcome.finals) == 3,
        "STT-ORD-2",
        f"three segments (three finals, the empty one too) must open three times, got "
        f"{starts} STARTs and {len(outcome.finals)} FINALs:\n{outcome.describe()}",
    )


@pytest.mark.spec("STT-ORD-3")
@pytest.mark.capability("stt.stream")
def test_empty_transcripts(voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator) -> None:
    """An empty interim emits nothing; an empty final emits FINAL ("") then END, and the
    next segment still opens."""
    outcome, target = ordering_run(voicewire_iut, voicewire_simulator, "stt-ord-empty")
    empty_sent = [
        m
        for m in transcripts(voicewire_simulator, target, "interim_transcript")
        if not m["transcript"]
    ]
    require(empty_sent, "STT-ORD-3", "the simulator sent no empty interim to judge")
    expect(
        all(e.text for e in outcome.interims),
        "STT-ORD-3",
        f"an empty interim must emit nothing:\n{outcome.describe()}",
    )
    types = outcome.types
    finals = [i for i, kind in enumerate(types) if kind == "final_transcript"]
    empty = [i for i in finals if not outcome.speech[i].text]
    expect(
        len(empty) == 1 and empty[0] + 1 < len(types) and types[empty[0] + 1] == "end_of_speech",
        "STT-ORD-3",
        f"the empty final must emit FINAL('') followed by END:\n{outcome.describe()}",
    )
    expect(
        [outcome.speech[i].text for i in finals][-1:] == ["good morning"],
        "STT-ORD-3",
        f"the segment after the empty final must come through:\n{outcome.describe()}",
    )


@pytest.mark.spec("STT-ORD-4")
@pytest.mark.capability("stt.stream")
def test_texts_are_the_servers(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """FINAL texts are the server's finals in order; INTERIM texts its non-empty interims."""
    outcome, target = ordering_run(voicewire_iut, voicewire_simulator, "stt-ord-texts")
    finals = [m["transcript"] for m in transcripts(voicewire_simulator, target, "final_transcript")]
    interims = [
        m["transcript"]
        for m in transcripts(voicewire_simulator, target, "interim_transcript")
        if m["transcript"]
    ]
    expect(
        [e.text for e in outcome.finals] == finals,
        "STT-ORD-4",
        f"FINAL texts must be {finals}, got {[e.text for e in outcome.finals]}",
    )
    expect(
        [e.text for e in outcome.interims] == interims,
        "STT-ORD-4",
        f"INTERIM texts must be {interims}, got {[e.text for e in outcome.interims]}",
    )


@pytest.mark.spec("STT-ORD-5")
@pytest.mark.capability("stt.stream")
def test_times_confidence_language_and_request_id(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """Each transcript's ``start_time``/``end_time`` are ``start``/``start + duration`` (one
    connection: offset 0, within :data:`TIME_ZERO_SLACK`), word times likewise; a missing
    confidence is 1.0, a missing language the configured one; ``request_id`` is the
    server's."""
    outcome, target = ordering_run(
        voicewire_iut, voicewire_simulator, "stt-ord-times", language="de"
    )
    server = [
        m
        for m in transcripts(voicewire_simulator, target, "final_transcript")
        + transcripts(voicewire_simulator, target, "interim_transcript")
        if m["transcript"]
    ]
    by_text = {(m["type"], m["transcript"]): m for m in server}
    pairs = [
        (event, by_text[(event.speech_type, event.text)])
        for event in outcome.finals + outcome.interims
        # an empty final, or a text STT-ORD-4 judges, has no message to compare with
        if (event.speech_type, event.text) in by_text and event.alternatives
    ]
    problems = []
    # The connection's time zero is the stream's start: within TIME_ZERO_SLACK of 0 (a client
    # may read it off the wall clock, as upstream does), and the same for every transcript.
    # Every time is then judged to the float against that zero.
    zero = pairs[0][0].alternatives[0].start_time - pairs[0][1]["start"] if pairs else 0.0
    if abs(zero) > TIME_ZERO_SLACK:
        problems.append(
            f"the connection's time zero is {zero!r} s on the stream's timeline: it must be "
            "the stream's start, 0"
        )
    for event, message in pairs:
        problems += transcript_problems(event, message, offset=zero, language="de")
    expect(not problems, "STT-ORD-5", "\n".join(problems) + f"\n{outcome.describe()}")


# -- STT-USG-1 ------------------------------------------------------------------------------


@pytest.mark.spec("STT-USG-1")
@pytest.mark.capability("stt.stream")
def test_usage_is_the_audio_sent_since_the_last_usage(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """Audio is pushed up to each final, which the case awaits before pushing on: each final
    is preceded by a usage of exactly the audio sent since the previous one (0.5 s, then
    0.7 s); the audio after the last final makes none."""
    reply = {
        "interim_interval": None,
        "segments": [
            {"text": "one", "start": 0.0, "duration": 0.5},
            {"text": "two", "start": 0.7, "duration": 0.5},
        ],
    }
    script = [
        push(0.5, seed=1),
        wait("final_transcript"),
        push(0.7, seed=2),
        wait("final_transcript", 2),
        push(0.3, seed=3),
        END_INPUT,
    ]
    outcome, _ = play(voicewire_iut, voicewire_simulator, replying("stt-usage", reply), script)
    require(
        [e.text for e in outcome.finals] == ["one", "two"],
        "STT-ORD-4",
        f"the two scripted finals must come through:\n{outcome.describe()}",
    )
    durations = [e.audio_duration for e in outcome.usages]
    expect(
        len(durations) == 2
        and all(d is not None for d in durations)
        and abs(durations[0] - 0.5) < 0.5 / RATE
        and abs(durations[1] - 0.7) < 0.5 / RATE,
        "STT-USG-1",
        f"usage must be [0.5, 0.7] s exact to the sample, got {durations}:\n{outcome.describe()}",
    )
    types = outcome.types
    before_final = all(
        types[i + 1] == "final_transcript"
        for i, kind in enumerate(types)
        if kind == "recognition_usage" and i + 1 < len(types)
    )
    expect(
        before_final and types[-1:] != ["recognition_usage"],
        "STT-USG-1",
        f"each usage must come right before a FINAL:\n{outcome.describe()}",
    )


# -- STT-END-1 ------------------------------------------------------------------------------


@pytest.mark.spec("STT-END-1")
@pytest.mark.capability("stt.stream")
def test_close_after_finalize_ends_cleanly(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """The server's close after ``session.finalized`` ends the stream without an error."""
    reply = {"interim_interval": None, "segments": [{"text": "bye", "start": 0, "duration": 0.3}]}
    outcome, _ = play(
        voicewire_iut, voicewire_simulator, replying("stt-end-clean", reply), [push(0.4), END_INPUT]
    )
    expect(
        outcome.error is None and not outcome.errors,
        "STT-END-1",
        f"a close after finalize must end the stream cleanly:\n{outcome.describe()}",
    )


@pytest.mark.spec("STT-END-1")
@pytest.mark.capability("stt.stream")
@pytest.mark.parametrize(
    ("code", "retryable"), [(400, False), (408, True), (429, True), (503, True)]
)
def test_error_message_is_an_api_error(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, code: int, retryable: bool
) -> None:
    """An ``error`` message ends the stream with an ``APIError``, retryable unless its code
    is a 4xx other than 408 and 429 (one attempt: the error is the stream's)."""
    reply = {"interim_interval": None, "segments": [{"text": "hi", "start": 0, "duration": 0.3}]}
    faults = [{"kind": "error_event", "at_event": 1, "message": "scripted failure", "code": code}]
    outcome, _ = play(
        voicewire_iut,
        voicewire_simulator,
        replying(f"stt-end-error-{code}", reply, faults),
        [push(0.5), END_INPUT],
    )
    error = outcome.error
    require(
        error is not None,
        "STT-END-1",
        f"an error message must end the stream with an error:\n{outcome.describe()}",
    )
    assert error is not None
    expect(
        error.kind in API_ERRORS,
        "STT-END-1",
        f"the error must be of the APIError family, got {error.kind}: {error.message}",
    )
    expect(
        error.retryable is retryable,
        "STT-END-1",
        f"an error message with code {code} must be retryable={retryable}, got "
        f"{error.retryable}:\n{outcome.describe()}",
    )


@pytest.mark.spec("STT-END-1", "STT-RETRY-1")
@pytest.mark.capability("stt.stream")
def test_close_before_finalize_is_retried(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """A close (1011) right after ``session.created`` is a retryable error: the client
    reconnects with a new ``session.create`` and the stream ends cleanly with the retry's
    transcript."""
    reply = {
        "interim_interval": None,
        "segments": [{"text": "second time lucky", "start": 0, "duration": 0.5}],
    }
    faults = [{"kind": "ws_close", "at_event": 0, "code": 1011, "attempt": 1}]
    outcome, target = play(
        voicewire_iut,
        voicewire_simulator,
        replying("stt-end-early-close", reply, faults),
        [wait("error"), push(0.6), END_INPUT],
        conn_options=ONE_RETRY,
    )
    expect(
        [e.error.retryable for e in outcome.errors] == [True]
        and [e.recoverable for e in outcome.errors] == [True],
        "STT-END-1",
        f"the early close must be one retryable, recovered attempt error:\n{outcome.describe()}",
    )
    creates = [m for m in sent(voicewire_simulator, target) if m.get("type") == "session.create"]
    expect(
        len(creates) == 2,
        "STT-RETRY-1",
        f"the retry must open with its own session.create ({len(creates)} sent)",
    )
    expect(
        outcome.error is None and [e.text for e in outcome.finals] == ["second time lucky"],
        "STT-RETRY-1",
        f"the retry must carry the stream to its end:\n{outcome.describe()}",
    )


# -- STT-RETRY-1 ----------------------------------------------------------------------------


@pytest.mark.spec("STT-RETRY-1")
@pytest.mark.capability("stt.stream")
def test_start_time_stays_monotonic_across_a_reconnect(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """The first connection sends a final for 0-0.5 s and closes (1011); the reconnect's
    session hears the next 0.6 s and sends the same segment again on its own clock: its
    times follow the first's (offset by the 0.5 s sent before), never restarting at zero."""
    reply = {
        "interim_interval": None,
        "segments": [{"text": "again", "start": 0, "duration": 0.5}],
    }
    faults = [{"kind": "ws_close", "at_event": 1, "code": 1011, "attempt": 1}]
    outcome, target = play(
        voicewire_iut,
        voicewire_simulator,
        replying("stt-retry-monotonic", reply, faults),
        [push(0.5, seed=1), wait("error"), push(0.6, seed=2), END_INPUT],
        conn_options=ONE_RETRY,
    )
    require(
        len(outcome.finals) == 2,
        "STT-RETRY-1",
        f"both connections' finals must come through:\n{outcome.describe()}",
    )
    starts = [e.alternatives[0].start_time for e in outcome.finals if e.alternatives]
    expect(
        starts == sorted(starts) and len(starts) == 2 and abs(starts[1] - 0.5) < 1e-6,
        "STT-RETRY-1",
        f"start_time must go on from the audio sent before the reconnect (0.0, then 0.5), "
        f"got {starts}:\n{outcome.describe()}",
    )
    creates = [m for m in sent(voicewire_simulator, target) if m.get("type") == "session.create"]
    expect(
        len(creates) == 2,
        "STT-RETRY-1",
        f"the reconnect must send a new session.create ({len(creates)} sent)",
    )


# -- STT-C-4 --------------------------------------------------------------------------------


def _closes(simulator: CaseSimulator, target: Target) -> tuple[list[str], dict[str, list[Any]]]:
    """The last connection's client messages (types, in order) and its close codes each way
    (``in``: the client's close frames, ``out``: the simulator's), from the journal."""
    entries = simulator.journal(target)
    exchanges = [e.get("exchange") for e in entries if e.get("kind") == "ws_message"]
    last = exchanges[-1] if exchanges else None
    types = [m.get("type") for m in sent(simulator, target) if m["_exchange"] == last]
    codes: dict[str, list[Any]] = {"in": [], "out": []}
    for entry in entries:
        if entry.get("kind") == "ws_close" and entry.get("exchange") == last:
            codes[entry.get("direction", "in")].append((entry.get("data") or {}).get("code"))
    return types, codes


# The STT-C-4 timers (3 s, 30 s) run 1/100 as long: the embedded simulator closes a session
# idle for 2.5 s (EMBEDDED_LIMITS), so a client's real 3 s timer never gets its turn.
TIMER_SCALE = 0.01


@pytest.mark.spec("STT-C-4", "STT-C-3")
@pytest.mark.capability("stt.time_scale")
@pytest.mark.parametrize("final", ["after_a_final", "without_a_final"])
def test_session_close_when_the_server_lingers(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, final: str
) -> None:
    """The server sends ``session.finalized`` but never closes: once its timer runs out (3 s
    after the last final, 30 s when no final came; scaled by ``time_scale``), the client
    sends ``session.close`` and closes with 1000, and the stream ends cleanly. (The
    simulator closes with 1000 as soon as it reads ``session.close``, so the journal holds
    the client's close frame only when the client closed first.) The socket staying open
    after the finalize also shows what a closing server hides: a second ``session.finalize``
    (STT-C-3)."""
    segments = [{"text": "still there", "start": 0, "duration": 0.3}]
    reply = {
        "interim_interval": None,
        "after_finalize": "stay_open",
        "segments": segments if final == "after_a_final" else [],
    }
    outcome, target = play(
        voicewire_iut,
        voicewire_simulator,
        replying(f"stt-close-{final}", reply),
        [push(0.4), END_INPUT],
        time_scale=TIMER_SCALE,
    )
    require(
        [e.text for e in outcome.finals] == [s["text"] for s in reply["segments"]],
        "STT-ORD-4",
        f"the scripted finals must come through:\n{outcome.describe()}",
    )
    types, codes = _closes(voicewire_simulator, target)
    expect(
        types.count("session.finalize") == 1,
        "STT-C-3",
        f"session.finalize must be sent once, was sent {types.count('session.finalize')} "
        f"times:\n{types}",
    )
    after = types[types.index("session.finalize") :] if "session.finalize" in types else []
    timer = "3 s after the last final" if final == "after_a_final" else "30 s after input end"
    expect(
        "session.close" in after,
        "STT-C-4",
        f"the server never closed after session.finalized: the client must send session.close "
        f"({timer}, x {TIMER_SCALE}); it sent {types[-4:]}:\n{outcome.describe()}",
    )
    # The simulator answers session.close by closing with 1000 itself, so the client's close
    # is often only the echo of it; a close frame the client sent first must be 1000.
    expect(
        all(code == 1000 for code in codes["in"]) and 1000 in codes["in"] + codes["out"],
        "STT-C-4",
        f"the client must close with 1000: its close codes were {codes['in']}, the "
        f"simulator's {codes['out']}",
    )
    expect(
        outcome.error is None,
        "STT-C-4",
        f"closing a lingering finalized session must end the stream cleanly:\n{outcome.describe()}",
    )


# -- STT-C-5 --------------------------------------------------------------------------------

UPDATES: dict[str, dict[str, Any]] = {
    "model": {"model": "deepgram/nova-2"},
    "language": {"language": "fr"},
    "extra": {"extra_kwargs": {"smart_format": True, "keyterm": ["voicewire"]}},
}


@pytest.mark.spec("STT-C-5")
@pytest.mark.capability("stt.stream")
@pytest.mark.parametrize("change", sorted(UPDATES))
def test_update_options_mid_stream(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, change: str
) -> None:
    """Once the session is live (its first final came), ``update_options`` changes one
    option: the client sends ``session.update`` whose ``settings`` carry the change
    (``model`` inside ``settings``), or reconnects with a ``session.create`` carrying it;
    either way before ``session.finalize``."""
    reply = {
        "interim_interval": None,
        "segments": [
            {"text": "before", "start": 0, "duration": 0.3},
            {"text": "after", "start": 0.4, "duration": 0.3},
        ],
    }
    update = UPDATES[change]
    script = [
        push(0.3, seed=1),
        wait("final_transcript"),
        {"op": "update_options", **update},
        push(0.5, seed=2),
        END_INPUT,
    ]
    outcome, target = play(
        voicewire_iut,
        voicewire_simulator,
        replying(f"stt-update-{change}", reply),
        script,
        language="en",
        extra_kwargs={"punctuate": True},
    )
    require(
        outcome.finals[:1] and outcome.finals[0].text == "before",
        "STT-ORD-4",
        f"the session must be live before the update:\n{outcome.describe()}",
    )
    messages = sent(voicewire_simulator, target)
    types = [m.get("type") for m in messages]
    cut = types.index("session.finalize") if "session.finalize" in types else len(types)
    before_finalize = messages[:cut]
    want = {
        "model": update.get("model"),
        "language": update.get("language"),
        "extra": update.get("extra_kwargs"),
    }
    want = {key: value for key, value in want.items() if value is not None}

    def carries(settings: dict[str, Any]) -> bool:
        for key, value in want.items():
            if key == "extra":
                got = settings.get("extra")
                if not isinstance(got, dict) or any(got.get(k) != v for k, v in value.items()):
                    return False
            elif settings.get(key) != value:
                return False
        return True

    updates = [m for m in before_finalize if m.get("type") == "session.update"]
    recreated = [
        m
        for m in before_finalize[1:]
        if m.get("type") == "session.create"
        and carries({**(m.get("settings") or {}), "model": m.get("model")})
    ]
    good = [m for m in updates if carries(m.get("settings") or {})]
    expect(
        good or recreated,
        "STT-C-5",
        f"update_options({update}) must send session.update with settings {want} (model "
        f"inside settings) or reconnect with a session.create carrying it; before "
        f"session.finalize the client sent: "
        f"{[m for m in before_finalize if m.get('type') != 'input_audio']}\n"
        f"{outcome.describe()}",
    )
    expect(
        all("model" not in m for m in updates),
        "STT-C-5",
        f"session.update carries model inside settings, not at the top: {updates}",
    )
