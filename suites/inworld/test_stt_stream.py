"""Inworld STT client conformance (SPEC §5.3, AUTH-6, CLI-ROB-1): one speech stream per case
against the embedded simulator (endpoint ``inworld.transcribe``).

Each case plays a script into one ``inworld.stt.stream`` (``voicewire_iut.inworld_transcribe``)
and judges what the simulator journaled of the client's upgrade and messages (IW-STT-C-1,
AUTH-6) or the SpeechEvents the stream emitted against what the simulator really sent
(IW-STT-ORD-1, IW-STT-USG-1, IW-STT-END-1, CLI-ROB-1), read through
:mod:`~voicewire.suites.inworld.transcribe_log`. Transcripts are placed on the audio clock,
so a case that must know how much audio the client had sent when something happened pushes up
to it, waits for the event, then pushes the rest: nothing depends on wall time.

A close before ``closeStream`` is judged by IW-STT-END-1 (SHOULD: upstream 1.8.9 ends its
stream silently there); CLI-ROB-1 judges that whatever a hostile server does, the stream ends
in time and any error it ends with is of the APIError family.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest
from voicewire.harness.driver import IUTDriver
from voicewire.harness.iut import ConnOptions, Target
from voicewire.harness.runtime import CaseSimulator
from voicewire.harness.stt import STTOutcome
from voicewire.harness.verdicts import expect, require
from voicewire.simulators.scenario import Scenario
from voicewire.suites.inworld.transcribe_log import (
    TRANSCRIBE_API_ERRORS,
    TRANSCRIBE_ONE_ATTEMPT,
    TRANSCRIBE_ONE_RETRY,
    TRANSCRIBE_PATH_SUFFIX,
    TRANSCRIBE_RATE,
    USAGE_INTERVAL_SECONDS,
    pushed_frames,
    transcribe_audio_problem,
    transcribe_client_messages,
    transcribe_closes,
    transcribe_events_problem,
    transcribe_kinds,
    transcribe_order_problem,
    transcribe_push,
    transcribe_segments_problem,
    transcribe_server_messages,
    transcribe_upgrades,
    transcribing,
    transcription_events,
)

END_INPUT = {"op": "end_input"}
FLUSH = {"op": "flush"}


def wait(event: str, count: int = 1, timeout: float = 3.0) -> dict[str, Any]:
    return {"op": "wait_event", "event": event, "count": count, "timeout": timeout}


def play(
    iut: IUTDriver,
    simulator: CaseSimulator,
    scenario: Scenario | None,
    script: list[Any],
    **fields: Any,
) -> tuple[STTOutcome, Target]:
    """One stream against a fresh session."""
    target = simulator.session(scenario)
    fields.setdefault("conn_options", TRANSCRIBE_ONE_ATTEMPT)
    return iut.inworld_transcribe(target=target, script=script, **fields), target


def type_problems(got: Any, want: Any, where: str = "transcribeConfig") -> list[str]:
    """Where ``got`` differs from ``want`` in keys, values or JSON types (an int where a
    number is wanted is a number; a bool is never a number)."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return [f"{where}: expected an object, got {got!r}"]
        problems = [f"{where}.{k}: missing" for k in want if k not in got]
        problems += [f"{where}.{k}: not expected ({got[k]!r})" for k in got if k not in want]
        for key in want:
            if key in got:
                problems += type_problems(got[key], want[key], f"{where}.{key}")
        return problems
    if isinstance(want, bool) or isinstance(got, bool):
        same = got is want
    elif isinstance(want, float):
        same = isinstance(got, (int, float)) and got == want
    else:
        same = type(got) is type(want) and got == want
    return [] if same else [f"{where}: expected {want!r}, got {got!r}"]


# -- IW-STT-C-1, AUTH-6: the upgrade and transcribeConfig ------------------------------------

DEFAULT_CONFIG: dict[str, Any] = {
    "modelId": "inworld/inworld-stt-1",
    "audioEncoding": "LINEAR16",
    "sampleRateHertz": 16000,
    "numberOfChannels": 1,
    "language": "en-US",
    "voiceProfileConfig": {"enableVoiceProfile": True, "topN": 1},
    "endOfTurnConfidenceThreshold": 0.3,
    "inworldSttV1Config": {"minEndOfTurnSilenceWhenConfident": 200},
}

CONFIG_OPTIONS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # The request's fields, and the transcribeConfig they must make.
    "defaults": ({}, DEFAULT_CONFIG),
    "set": (
        {
            "model": "assemblyai/universal-streaming-multilingual",
            "language": "fr-FR",
            "sample_rate": 24000,
            "extra_kwargs": {
                "voice_profile_top_n": 3,
                "vad_threshold": 0.45,
                "min_end_of_turn_silence_when_confident": 350,
                "end_of_turn_confidence_threshold": 0.7,
            },
        },
        {
            "modelId": "assemblyai/universal-streaming-multilingual",
            "audioEncoding": "LINEAR16",
            "sampleRateHertz": 24000,
            "numberOfChannels": 1,
            "language": "fr-FR",
            "voiceProfileConfig": {"enableVoiceProfile": True, "topN": 3},
            "endOfTurnConfidenceThreshold": 0.7,
            "inworldSttV1Config": {
                "minEndOfTurnSilenceWhenConfident": 350,
                "vadThreshold": 0.45,
            },
        },
    ),
    "no_voice_profile": (
        {"extra_kwargs": {"enable_voice_profile": False}},
        {k: v for k, v in DEFAULT_CONFIG.items() if k != "voiceProfileConfig"},
    ),
}


@pytest.mark.spec("IW-STT-C-1", "AUTH-6")
@pytest.mark.capability("inworld.stt.stream")
@pytest.mark.parametrize("options", sorted(CONFIG_OPTIONS))
def test_transcribe_config_opens_the_stream(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, options: str
) -> None:
    """The upgrade goes to ``/stt/v1/transcribe:streamBidirectional`` appended to the base
    URL's path (the target's ``.../v1``), with ``Authorization: Basic <key>``, the key as
    configured (the simulator admits only that exact key); the first message is
    ``transcribeConfig`` with upstream's keys, JSON types and defaults, ``vadThreshold`` only
    when set and ``voiceProfileConfig`` only while voice profiles are on."""
    fields, want = CONFIG_OPTIONS[options]
    rate = fields.get("sample_rate", TRANSCRIBE_RATE)
    outcome, target = play(
        voicewire_iut,
        voicewire_simulator,
        transcribing(f"iw-stt-config-{options}", {"segments": []}),
        [transcribe_push(0.05, rate=rate), END_INPUT],
        **fields,
    )
    upgrades = transcribe_upgrades(voicewire_simulator, target)
    require(upgrades, "IW-STT-C-1", f"the client never connected:\n{outcome.describe()}")
    path = urlparse(target.base_url).path.rstrip("/") + TRANSCRIBE_PATH_SUFFIX
    expect(
        all(u.get("path") == path for u in upgrades),
        "IW-STT-C-1",
        f"the upgrade must go to {path} (the STT path appended to the base URL's path), got "
        f"{[u.get('path') for u in upgrades]}",
    )
    headers = {k.lower(): v for k, v in (upgrades[0].get("headers") or {}).items()}
    shown = headers.get("authorization", "")
    expect(
        shown.startswith(f"Basic {target.api_key[:12]}"),
        "AUTH-6",
        f"the upgrade must carry 'Authorization: Basic {target.api_key}' (the key verbatim), "
        f"got {shown!r} (shown cut short)",
    )
    expect(
        upgrades[0].get("_status") == 101,
        "AUTH-6",
        f"the simulator admits exactly the configured key; it answered the upgrade with "
        f"{upgrades[0].get('_status')}:\n{outcome.describe()}",
    )
    messages = transcribe_client_messages(voicewire_simulator, target)
    require(messages, "IW-STT-C-1", f"the client sent nothing:\n{outcome.describe()}")
    first = messages[0]
    require(
        "transcribeConfig" in first,
        "IW-STT-C-1",
        f"the first message must be transcribeConfig, got {transcribe_kinds(messages[:1])}",
    )
    problems = type_problems(first["transcribeConfig"], want)
    expect(not problems, "IW-STT-C-1", "\n".join(problems))
    accepted = [m for m in messages if "_refused" not in m]
    expect(
        transcribe_kinds(accepted).count("transcribeConfig") == 1,
        "IW-STT-C-1",
        f"one transcribeConfig per connection: {transcribe_kinds(messages)}",
    )


# -- IW-STT-C-1: audio, endTurn, closeStream -----------------------------------------------

# Pushes of odd frame sizes (whole samples at 16 kHz), one ending in a shorter frame.
FRAMING_SCRIPT: list[Any] = [
    transcribe_push(0.2, frame_ms=10, seed=1),
    transcribe_push(0.21, frame_ms=7, seed=2),
    FLUSH,
    transcribe_push(0.1, frame_ms=23, seed=3),
    transcribe_push(0.13, frame_ms=13, seed=4),
    FLUSH,
    transcribe_push(0.05, frame_ms=50, seed=5),
    END_INPUT,
]


@pytest.mark.spec("IW-STT-C-1")
@pytest.mark.capability("inworld.stt.stream")
def test_audio_goes_out_one_chunk_per_frame(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """Frames of 10, 7, 23 (the last one shorter), 13 and 50 ms go out as one ``audioChunk``
    each, unchanged and in order, ``endTurn`` at each flush, ``closeStream`` once at the end
    and nothing after it."""
    outcome, target = play(
        voicewire_iut,
        voicewire_simulator,
        transcribing("iw-stt-framing", {"segments": []}),
        FRAMING_SCRIPT,
    )
    messages = transcribe_client_messages(voicewire_simulator, target)
    require(messages, "IW-STT-C-1", f"the client sent nothing:\n{outcome.describe()}")
    expect(
        len({m["_exchange"] for m in messages}) == 1,
        "IW-STT-C-1",
        f"one connection was enough; the client opened {len({m['_exchange'] for m in messages})}"
        f":\n{outcome.describe()}",
    )
    frames = pushed_frames(FRAMING_SCRIPT)
    counts = [len(pushed_frames(FRAMING_SCRIPT[:3])), len(pushed_frames(FRAMING_SCRIPT[:6]))]
    want = (
        ["transcribeConfig"]
        + ["audioChunk"] * counts[0]
        + ["endTurn"]
        + ["audioChunk"] * (counts[1] - counts[0])
        + ["endTurn"]
        + ["audioChunk"] * (len(frames) - counts[1])
        + ["closeStream"]
    )
    problem = transcribe_order_problem(transcribe_kinds(messages), want)
    expect(problem is None, "IW-STT-C-1", f"{problem}")
    audio = [m["audioChunk"] for m in messages if "audioChunk" in m and "_refused" not in m]
    problem = transcribe_audio_problem(audio, frames)
    expect(problem is None, "IW-STT-C-1", f"{problem}")


# -- IW-STT-ORD-1 -----------------------------------------------------------------------------

PROFILE = {"age": [{"label": "adult", "confidence": 0.9}], "emotion": [{"label": "calm"}]}
ORDERING_REPLY: dict[str, Any] = {
    "interim_interval": 0.2,
    "empty_interims": True,
    "segments": [
        {"text": "hello world", "start": 0.0, "duration": 0.8, "voice_profile": PROFILE},
        {"text": "", "start": 1.0, "duration": 0.2},
        {"text": "good morning", "start": 1.2, "duration": 0.6},
        {"text": "bye", "start": 1.9, "duration": 0.1, "voice_profile": {"gender": ["f"]}},
    ],
}


@pytest.mark.spec("IW-STT-ORD-1")
@pytest.mark.capability("inworld.stt.stream")
def test_events_form_segments(voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator) -> None:
    """``speechStarted`` opens a segment, interims follow, a final closes it with FINAL then
    END; empty interims emit nothing; the empty final closes its segment (the next one
    opens); texts are the server's in order; a final's ``voiceProfile`` is its alternative's
    ``metadata["voice_profile"]``; every alternative has the configured language."""
    outcome, target = play(
        voicewire_iut,
        voicewire_simulator,
        transcribing("iw-stt-ordering", ORDERING_REPLY),
        [transcribe_push(2.1), END_INPUT],
        language="de-DE",
    )
    require(
        outcome.error is None,
        "IW-STT-ORD-1",
        f"the scripted stream must end cleanly:\n{outcome.describe()}",
    )
    server = transcribe_server_messages(voicewire_simulator, target)
    said = transcription_events(server)
    require(
        [t for k, t, _ in said if k == "final"] == ["hello world", "", "good morning", "bye"],
        "IW-STT-ORD-1",
        f"the simulator did not send the scripted finals: {said}",
    )
    speech = outcome.speech
    problem = transcribe_segments_problem(speech)
    expect(problem is None, "IW-STT-ORD-1", f"{problem}:\n{outcome.describe()}")
    problem = transcribe_events_problem(speech, server)
    expect(problem is None, "IW-STT-ORD-1", f"{problem}\n{outcome.describe()}")
    finals = [e for e in outcome.finals if e.text]
    expect(
        [e.text for e in finals] == ["hello world", "good morning", "bye"],
        "IW-STT-ORD-1",
        f"FINAL texts must be the server's: {[e.text for e in outcome.finals]}",
    )
    interims = [t for k, t, _ in said if k == "interim" and t]
    expect(
        [e.text for e in outcome.interims] == interims,
        "IW-STT-ORD-1",
        f"INTERIM texts must be the server's non-empty interims {interims}, got "
        f"{[e.text for e in outcome.interims]}",
    )
    profiles = {
        e.text: (e.alternatives[0].metadata or {}).get("voice_profile") if e.alternatives else None
        for e in finals
    }
    want = {"hello world": PROFILE, "good morning": None, "bye": {"gender": ["f"]}}
    expect(
        profiles == want,
        "IW-STT-ORD-1",
        f"each final's voiceProfile must be its metadata['voice_profile'] (none when the "
        f"server sent none): expected {want}, got {profiles}",
    )
    languages = {a.language for e in outcome.finals + outcome.interims for a in e.alternatives}
    expect(
        languages == {"de-DE"},
        "IW-STT-ORD-1",
        f"transcripts carry the configured language 'de-DE', got {sorted(languages)}",
    )


# -- IW-STT-USG-1 -----------------------------------------------------------------------------


@pytest.mark.spec("IW-STT-USG-1")
@pytest.mark.capability("inworld.stt.stream")
def test_usage_every_five_seconds_on_end_turn_and_at_the_end(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """12 s of audio: 1.3 s then a flush, whose usage the case awaits (it must be exactly
    the 1.3 s: usage on ``endTurn``), then 10.7 s in 40 ms frames and the end of input. No
    usage may leave more than 5 s of audio unreported (plus the frame that crossed the line),
    and the usages add up to the 12 s pushed, to the sample (the last on end of input)."""
    reply = {
        "interim_interval": None,
        "segments": [
            {"text": "one", "start": 0.2, "duration": 0.8},
            {"text": "two", "start": 6.0, "duration": 1.0},
        ],
    }
    script = [
        transcribe_push(1.3, frame_ms=10, seed=1),
        FLUSH,
        wait("recognition_usage", timeout=2.0),
        transcribe_push(10.7, frame_ms=40, seed=2),
        END_INPUT,
    ]
    outcome, target = play(
        voicewire_iut, voicewire_simulator, transcribing("iw-stt-usage", reply), script
    )
    require(
        outcome.error is None,
        "IW-STT-USG-1",
        f"the scripted stream must end cleanly:\n{outcome.describe()}",
    )
    sent = [
        m["audioChunk"]["samples"]
        for m in transcribe_client_messages(voicewire_simulator, target)
        if "audioChunk" in m
    ]
    pushed = sum(len(f) // 2 for f in pushed_frames(script))
    durations = [e.audio_duration or 0.0 for e in outcome.usages]
    half = 0.5 / TRANSCRIBE_RATE
    require(durations, "IW-STT-USG-1", f"the stream reported no usage:\n{outcome.describe()}")
    expect(
        abs(durations[0] - 1.3) < half,
        "IW-STT-USG-1",
        f"the flush (endTurn) must report the 1.3 s pushed before it; the first usage was "
        f"{durations[0]} s (all: {durations})",
    )
    longest = USAGE_INTERVAL_SECONDS + 0.04
    expect(
        all(d <= longest + half for d in durations),
        "IW-STT-USG-1",
        f"usage must be reported at least every 5 s of audio (a usage may cover at most 5 s "
        f"and the 40 ms frame that crossed it): got {durations}",
    )
    expect(
        abs(sum(durations) - pushed / TRANSCRIBE_RATE) < half,
        "IW-STT-USG-1",
        f"the usages must add up to the {pushed / TRANSCRIBE_RATE} s pushed ({sum(sent)} "
        f"samples sent), got {durations} (sum {sum(durations)})",
    )
    expect(
        outcome.speech[-1:] and outcome.speech[-1].speech_type == "recognition_usage",
        "IW-STT-USG-1",
        f"the end of input must report the audio since the last usage:\n{outcome.describe()}",
    )


# -- IW-STT-S-1 as the client sees it ---------------------------------------------------------


@pytest.mark.spec("IW-STT-S-1", "IW-STT-ORD-1")
@pytest.mark.capability("inworld.stt.stream")
def test_pending_finals_after_close_stream(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """The audio ends inside a segment: after ``closeStream`` the server sends its final,
    then closes with 1000. The client keeps reading after ``closeStream``: the final comes
    through, and the close ends the stream cleanly."""
    reply = {
        "interim_interval": None,
        "segments": [
            {"text": "first", "start": 0.0, "duration": 0.3},
            {"text": "last words", "start": 0.4, "duration": 2.0},
        ],
    }
    outcome, target = play(
        voicewire_iut,
        voicewire_simulator,
        transcribing("iw-stt-pending", reply),
        [transcribe_push(0.8), END_INPUT],
    )
    client = transcribe_client_messages(voicewire_simulator, target)
    server = transcribe_server_messages(voicewire_simulator, target)
    close_stream = next((m["_seq"] for m in client if "closeStream" in m), None)
    require(
        close_stream is not None,
        "IW-STT-C-1",
        f"no closeStream was sent: {transcribe_kinds(client)}",
    )
    # The end of input is the first message after the last audio: closeStream, or the endTurn
    # a client whose end_input is a flush sends before it (upstream 1.8.9's), which
    # finalises the segment just the same.
    last_audio = max((i for i, m in enumerate(client) if "audioChunk" in m), default=-1)
    end_of_input = client[last_audio + 1]["_seq"] if last_audio + 1 < len(client) else None
    late = [
        t
        for m in server
        if (m["_seq"] or 0) > (end_of_input or close_stream or 0)
        for k, t, _ in transcription_events([m])
        if k == "final"
    ]
    require(
        late == ["last words"],
        "IW-STT-S-1",
        f"the simulator must send the pending final after the end of input, sent {late}",
    )
    closes = transcribe_closes(voicewire_simulator, target)
    require(
        [c["code"] for c in closes if c["direction"] == "out"] == [1000],
        "IW-STT-S-1",
        f"the simulator must close with 1000 after closeStream: {closes}",
    )
    expect(
        [e.text for e in outcome.finals] == ["first", "last words"],
        "IW-STT-ORD-1",
        f"the final sent after closeStream must come through:\n{outcome.describe()}",
    )
    expect(
        outcome.error is None and not outcome.errors,
        "IW-STT-S-1",
        f"the close 1000 after closeStream must end the stream cleanly:\n{outcome.describe()}",
    )


# -- IW-STT-END-1 -----------------------------------------------------------------------------


@pytest.mark.spec("IW-STT-END-1")
@pytest.mark.capability("inworld.stt.stream")
@pytest.mark.parametrize("code", [1011, 1000])
def test_close_before_close_stream_is_retried(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, code: int
) -> None:
    """The first connection is closed (1011, or even 1000) right after its ``speechStarted``,
    before ``closeStream``: a retryable error, not a silent end. With a retry allowed the
    client reconnects with a new ``transcribeConfig``, and the stream ends cleanly with the
    retry's final."""
    reply = {
        "interim_interval": None,
        "segments": [{"text": "second time lucky", "start": 0.1, "duration": 0.5}],
    }
    faults = [{"kind": "ws_close", "at_event": 0, "code": code, "attempt": 1}]
    outcome, target = play(
        voicewire_iut,
        voicewire_simulator,
        transcribing(f"iw-stt-early-close-{code}", reply, faults),
        [transcribe_push(0.2, seed=1), wait("error"), transcribe_push(0.6, seed=2), END_INPUT],
        conn_options=TRANSCRIBE_ONE_RETRY,
    )
    expect(
        [(e.error.retryable, e.recoverable) for e in outcome.errors] == [(True, True)],
        "IW-STT-END-1",
        f"the close before closeStream must be one retryable, recovered attempt error:\n"
        f"{outcome.describe()}",
    )
    messages = transcribe_client_messages(voicewire_simulator, target)
    configs = [m for m in messages if "transcribeConfig" in m]
    expect(
        len(configs) == 2,
        "IW-STT-END-1",
        f"the retry must reconnect with its own transcribeConfig ({len(configs)} sent)",
    )
    expect(
        outcome.error is None and [e.text for e in outcome.finals] == ["second time lucky"],
        "IW-STT-END-1",
        f"the retry must carry the stream to its end:\n{outcome.describe()}",
    )


# -- CLI-ROB-1 --------------------------------------------------------------------------------

# Two segments: events 0 speechStarted, 1 final "hello", 2 speechStarted, 3 final "again".
ROBUST_REPLY: dict[str, Any] = {
    "interim_interval": None,
    "segments": [
        {"text": "hello", "start": 0.0, "duration": 0.2},
        {"text": "again", "start": 0.3, "duration": 0.2},
    ],
}
# What replaces event 2 (after the final "hello"), and whether the stream must fail.
HOSTILE: dict[str, tuple[dict[str, Any], bool]] = {
    "not_json": ({"kind": "malformed", "at_event": 2}, True),
    "not_an_object": ({"kind": "malformed", "at_event": 2, "line": "[1, 2]"}, True),
    "result_not_an_object": ({"kind": "malformed", "at_event": 2, "line": '{"result": 7}'}, True),
    "transcript_not_a_string": (
        {
            "kind": "malformed",
            "at_event": 2,
            "line": '{"result": {"transcription": {"transcript": 5, "isFinal": true}}}',
        },
        True,
    ),
    "is_final_not_a_bool": (
        {
            "kind": "malformed",
            "at_event": 2,
            "line": '{"result": {"transcription": {"transcript": "x", "isFinal": "yes"}}}',
        },
        True,
    ),
    "binary_frame": ({"kind": "binary_frame", "at_event": 2, "hex": "7b7d"}, True),
    "unknown_result": (
        {
            "kind": "malformed",
            "at_event": 2,
            "line": '{"result": {"speechEnded": {}, "offsetMs": 3}, "usage": {"seconds": 1}}',
        },
        False,
    ),
}
CLOSES: dict[str, dict[str, Any]] = {
    "close_1000": {"kind": "ws_close", "at_event": 1, "code": 1000},
    "close_1001": {"kind": "ws_close", "at_event": 1, "code": 1001},
    "close_1011": {"kind": "ws_close", "at_event": 1, "code": 1011},
    "close_4000": {"kind": "ws_close", "at_event": 1, "code": 4000},
    "tcp_reset": {"kind": "disconnect", "at_event": 1, "mode": "reset"},
}


def _hostile_run(
    iut: IUTDriver,
    simulator: CaseSimulator,
    name: str,
    fault: dict[str, Any],
    *,
    before_the_end: list[dict[str, Any]] | None = None,
) -> STTOutcome:
    outcome, _ = play(
        iut,
        simulator,
        transcribing(name, ROBUST_REPLY, [fault]),
        [transcribe_push(0.6), *(before_the_end or []), END_INPUT],
        conn_options=ConnOptions(max_retry=0, retry_interval=0.0, timeout=2.0),
        end_timeout=6.0,
    )
    return outcome


@pytest.mark.spec("CLI-ROB-1")
@pytest.mark.capability("inworld.stt.stream")
@pytest.mark.parametrize("hostile", sorted(HOSTILE))
def test_hostile_server_messages(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, hostile: str
) -> None:
    """After the final ``hello``, the server sends a message that is not JSON, not an object,
    of the wrong types, or a binary frame: the stream ends with an error of the APIError
    family, having emitted only the final before it. A message of a kind the client does not
    know (unknown keys) is ignored: the stream ends cleanly with both finals."""
    fault, fails = HOSTILE[hostile]
    outcome = _hostile_run(voicewire_iut, voicewire_simulator, f"iw-stt-hostile-{hostile}", fault)
    error = outcome.error
    finals = [e.text for e in outcome.finals]
    if fails:
        expect(
            error is not None and error.kind in TRANSCRIBE_API_ERRORS,
            "CLI-ROB-1",
            f"{hostile}: the stream must end with an error of the APIError family, got "
            f"{error.kind + ': ' + error.message if error else 'a clean end'}:\n"
            f"{outcome.describe()}",
        )
        expect(
            finals == ["hello"],
            "CLI-ROB-1",
            f"{hostile}: only the final sent before the hostile message may come through, "
            f"got {finals}",
        )
    else:
        expect(
            error is None and finals == ["hello", "again"],
            "CLI-ROB-1",
            f"{hostile}: unknown keys and message kinds are ignored; the stream must end "
            f"cleanly with both finals:\n{outcome.describe()}",
        )


@pytest.mark.spec("CLI-ROB-1", "IW-STT-END-1")
@pytest.mark.capability("inworld.stt.stream")
@pytest.mark.parametrize("how", sorted(CLOSES))
def test_close_mid_stream(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, how: str
) -> None:
    """The server closes (with 1000, 1001, 1011 or 4000, or a TCP reset) after the final
    ``hello``, before ``closeStream`` (one attempt): the stream ends in time, with the final
    it had, and an error of the APIError family (CLI-ROB-1) that is retryable
    (IW-STT-END-1); ending silently breaks IW-STT-END-1 only (SHOULD: upstream 1.8.9 ends
    silently).

    The input ends only once the stream has failed or ended (or after a second: a client
    that ends silently on the next write, as upstream, waits for input): a client in another
    process sends the whole 0.6 s at once, and ending its input right after would put its
    ``closeStream`` before the server's close, which then is the clean end of IW-STT-S-1."""
    outcome = _hostile_run(
        voicewire_iut,
        voicewire_simulator,
        f"iw-stt-{how}",
        CLOSES[how],
        before_the_end=[{"op": "wait_event", "event": "error", "timeout": 1.0}],
    )
    error = outcome.error
    expect(
        error is None or error.kind in TRANSCRIBE_API_ERRORS,
        "CLI-ROB-1",
        f"{how}: the stream must end in time, with an error of the APIError family if "
        f"any, got {error.kind + ': ' + error.message if error else None}:\n{outcome.describe()}",
    )
    finals = [e.text for e in outcome.finals]
    # A reset may discard what the client had not read yet (the final, sent just before it):
    # then nothing comes through. A close frame follows the final in order: it must.
    allowed = ([], ["hello"]) if how == "tcp_reset" else (["hello"],)
    expect(
        finals in allowed,
        "CLI-ROB-1",
        f"{how}: the final before the close must come through (a reset may lose it), and "
        f"only it:\n{outcome.describe()}",
    )
    expect(
        error is not None and error.retryable,
        "IW-STT-END-1",
        f"{how} before closeStream must be a retryable error, not a silent end, got "
        f"{error.kind + ' retryable=' + str(error.retryable) if error else 'a clean end'}:\n"
        f"{outcome.describe()}",
    )


@pytest.mark.spec("CLI-ROB-1")
@pytest.mark.capability("inworld.stt.stream")
def test_server_that_never_closes(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """After ``closeStream`` the server sends the pending final and then nothing, never
    closing (breaking IW-STT-S-1): the client delivers the final and ends the stream itself
    within its ``timeout`` (0.5 s here), cleanly or with an error of the APIError family;
    never a hang (the simulator's own idle limit, 2.5 s, must not be what ends it)."""
    reply = {
        "interim_interval": None,
        "after_close_stream": "stay_open",
        "segments": [{"text": "still there", "start": 0.0, "duration": 1.0}],
    }
    outcome, target = play(
        voicewire_iut,
        voicewire_simulator,
        transcribing("iw-stt-never-closes", reply),
        [transcribe_push(0.3), END_INPUT],
        conn_options=ConnOptions(max_retry=0, retry_interval=0.0, timeout=0.5),
        end_timeout=6.0,
    )
    error = outcome.error
    expect(
        [e.text for e in outcome.finals] == ["still there"],
        "CLI-ROB-1",
        f"the final sent after closeStream must come through:\n{outcome.describe()}",
    )
    expect(
        error is None or error.kind in TRANSCRIBE_API_ERRORS,
        "CLI-ROB-1",
        f"the stream must end by itself, cleanly or with an error of the APIError family, got "
        f"{error.kind + ': ' + error.message if error else None}:\n{outcome.describe()}",
    )
    closes = transcribe_closes(voicewire_simulator, target)
    expect(
        closes[:1] and closes[0]["direction"] == "in",
        "CLI-ROB-1",
        f"the client must give up on the silent server within its timeout and close the socket "
        f"itself; the closes were {closes} (out 1008: the simulator's idle limit ended it)",
    )
