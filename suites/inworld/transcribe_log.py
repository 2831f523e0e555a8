"""What the Inworld STT client cases read back from the simulator's journal, the scenarios
they play, and the checks they share (SPEC §5.3).

The judged messages are read from the journal, not re-derived from the script: a case about
the client compares what the client really sent (``transcribeConfig``, each ``audioChunk`` as
its sample count and CRC-32, ``endTurn``, ``closeStream``) with what was pushed, and the
client's SpeechEvents with what the server really sent (after drops, duplicates and
reorders). Every function takes the case's simulator and the session's target.

The segment grammar (IW-STT-ORD-1) is STT-ORD-1..4's with Inworld's usage: usage is the
client's periodic report (IW-STT-USG-1), not part of a segment, so it is left out before the
grammar is judged. An empty final closes the open segment; SPEC leaves open whether it emits
a FINAL ("") before its END (STT-ORD-3) or the END alone (upstream 1.8.9), so the checks
here accept either, as long as one stream keeps to one of them.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from voicewire.harness.iut import ConnOptions, Target
from voicewire.harness.runtime import CaseSimulator
from voicewire.harness.stt import PushAudioStep
from voicewire.simulators.scenario import Scenario
from voicewire.simulators.scenario import build_scenario as scenario

__all__ = [
    "EMPTY_FINAL_RULES",
    "TRANSCRIBE_API_ERRORS",
    "TRANSCRIBE_ONE_ATTEMPT",
    "TRANSCRIBE_ONE_RETRY",
    "TRANSCRIBE_PATH_SUFFIX",
    "TRANSCRIBE_RATE",
    "USAGE_INTERVAL_SECONDS",
    "pushed_frames",
    "transcribe_audio_problem",
    "transcribe_client_messages",
    "transcribe_closes",
    "transcribe_events_problem",
    "transcribe_kinds",
    "transcribe_order_problem",
    "transcribe_push",
    "transcribe_segments_problem",
    "transcribe_server_messages",
    "transcribe_signal",
    "transcribe_upgrades",
    "transcribing",
    "transcription_events",
]

TRANSCRIBE_RATE = 16000
"""The stream's sample rate in the cases (upstream's default)."""
TRANSCRIBE_PATH_SUFFIX = "/stt/v1/transcribe:streamBidirectional"
"""What the client appends to the base URL's path (IW-STT-C-1)."""
USAGE_INTERVAL_SECONDS = 5.0
"""IW-STT-USG-1: the most audio one usage event may leave unreported, but for the frame that
crossed the line (a client checks when a frame is pushed)."""

TRANSCRIBE_ONE_ATTEMPT = ConnOptions(max_retry=0, retry_interval=0.0, timeout=5.0)
"""One attempt: a retry would hide what the first connection did."""
TRANSCRIBE_ONE_RETRY = ConnOptions(max_retry=1, retry_interval=0.0, timeout=5.0)
"""One retry, at once: the reconnect cases script exactly one failed connection."""
TRANSCRIBE_API_ERRORS = frozenset(
    {"APIError", "APIStatusError", "APIConnectionError", "APITimeoutError"}
)
"""The error kinds of the APIError family (CLI-ROB-1)."""

EMPTY_FINAL_RULES = ("end_only", "final_and_end")
"""What an empty final may emit: END alone (upstream's) or FINAL ("") then END (STT-ORD-3)."""


# -- scripts and scenarios -------------------------------------------------------------------


def transcribe_signal(seconds: float, rate: int = TRANSCRIBE_RATE, seed: int = 0) -> bytes:
    """Deterministic noise-like PCM s16le mono: every frame differs, so a lost, repeated,
    re-cut or reordered frame changes the bytes."""
    rng = np.random.default_rng(seed * 7919 + rate)
    count = round(seconds * rate)
    return rng.integers(-8000, 8000, count, dtype=np.int16).astype("<i2").tobytes()


def transcribe_push(
    seconds: float, *, frame_ms: float = 10.0, seed: int = 0, rate: int = TRANSCRIBE_RATE
) -> PushAudioStep:
    """A push of :func:`transcribe_signal` audio in ``frame_ms`` frames."""
    return PushAudioStep.of(transcribe_signal(seconds, rate, seed), rate, frame_ms=frame_ms)


def pushed_frames(script: Sequence[Any]) -> list[bytes]:
    """The frames a script's audio pushes make, in order: each push cut into ``frame_ms``
    frames, the last one shorter (the script's contract; pick ``frame_ms`` that are whole
    samples at the rate)."""
    frames: list[bytes] = []
    for step in script:
        if not isinstance(step, PushAudioStep):
            continue
        data = step.audio
        size = max(1, math.floor(step.sample_rate * step.frame_ms / 1000)) * 2
        frames += [data[i : i + size] for i in range(0, len(data), size)]
    return frames


def transcribing(
    name: str,
    reply: dict[str, Any] | None = None,
    faults: list[dict[str, Any]] | None = None,
) -> Scenario:
    """A scenario answering every Inworld STT stream with ``reply`` (an
    ``InworldTranscribeReply`` dict) and ``faults``."""
    return scenario(
        name,
        {
            "match": {"endpoint": "inworld.transcribe"},
            "reply": reply or {},
            "faults": faults or [],
        },
    )


# -- the journal -----------------------------------------------------------------------------


def _entries(simulator: CaseSimulator, target: Target, kind: str) -> list[dict[str, Any]]:
    return [e for e in simulator.journal(target) if e.get("kind") == kind]


def _decoded(text: Any) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def _messages(simulator: CaseSimulator, target: Target, direction: str) -> list[dict[str, Any]]:
    found = []
    for entry in _entries(simulator, target, "ws_message"):
        if entry.get("direction") != direction:
            continue
        data = entry["data"]
        if isinstance(data, dict) and "refused" in data:
            # A message the simulator refused (audio after closeStream, ...) is journaled by
            # its head: still a message the client sent.
            head = _decoded(data.get("head"))
            data = {**(head if isinstance(head, dict) else {}), "_refused": data["refused"]}
        elif isinstance(data, str):
            data = _decoded(data)
        if isinstance(data, dict) and data:
            found.append({**data, "_exchange": entry.get("exchange"), "_seq": entry.get("seq")})
    return found


def transcribe_client_messages(simulator: CaseSimulator, target: Target) -> list[dict[str, Any]]:
    """What the client sent, in order, each with its ``_exchange`` (one per connection) and
    its journal ``_seq`` (to place it among the server's messages):
    ``{"transcribeConfig": {...}}``, ``{"audioChunk": {samples, duration, crc32}}``,
    ``{"endTurn": {}}``, ``{"closeStream": {}}``; a refused one also has ``_refused``."""
    return _messages(simulator, target, "in")


def transcribe_server_messages(simulator: CaseSimulator, target: Target) -> list[dict[str, Any]]:
    """What the simulator sent that is a JSON object, in order (``{"result": ...}``,
    ``{"error": ...}``), each with its ``_exchange`` and ``_seq``; a scripted malformed frame
    is left out."""
    return _messages(simulator, target, "out")


def transcription_events(messages: Sequence[dict[str, Any]]) -> list[tuple[str, str, Any]]:
    """The server's speech messages as ``(kind, transcript, voiceProfile)``: kind
    ``started``, ``interim`` or ``final``, in order."""
    said = []
    for message in messages:
        result = message.get("result")
        if not isinstance(result, dict):
            continue
        if "speechStarted" in result:
            said.append(("started", "", None))
        transcription = result.get("transcription")
        if isinstance(transcription, dict):
            kind = "final" if transcription.get("isFinal") else "interim"
            said.append(
                (kind, transcription.get("transcript", ""), transcription.get("voiceProfile"))
            )
    return said


def transcribe_upgrades(simulator: CaseSimulator, target: Target) -> list[dict[str, Any]]:
    """The upgrade requests of the session: ``{method, path, headers}`` each (the
    ``Authorization`` credential cut short by the journal), with ``_status``, the status the
    simulator answered (101: upgraded)."""
    statuses = {
        e.get("exchange"): (e.get("data") or {}).get("status")
        for e in _entries(simulator, target, "http_response")
    }
    return [
        {**e["data"], "_status": statuses.get(e.get("exchange"))}
        for e in _entries(simulator, target, "http_request")
    ]


def transcribe_closes(simulator: CaseSimulator, target: Target) -> list[dict[str, Any]]:
    """The closes of the session's sockets: ``{direction, code, exchange}`` each, in order."""
    return [
        {
            "direction": e.get("direction"),
            "code": (e.get("data") or {}).get("code"),
            "exchange": e.get("exchange"),
        }
        for e in _entries(simulator, target, "ws_close")
    ]


# -- checks ------------------------------------------------------------------------------------


def transcribe_kinds(messages: Sequence[dict[str, Any]]) -> list[str]:
    """Each client message's kind (its one key: ``audioChunk``, ``endTurn``...), in order."""
    return [next((k for k in m if not k.startswith("_")), "?") for m in messages]


def _runs(kinds: Sequence[str]) -> list[str]:
    """``kinds`` with repeats folded (``audioChunk x20``), for a readable message."""
    runs: list[list[Any]] = []
    for kind in kinds:
        if runs and runs[-1][0] == kind:
            runs[-1][1] += 1
        else:
            runs.append([kind, 1])
    return [kind if n == 1 else f"{kind} x{n}" for kind, n in runs]


def transcribe_order_problem(got: Sequence[str], want: Sequence[str]) -> str | None:
    """Where the kinds of the client's messages, ``got``, differ from ``want``
    (``transcribeConfig``, an ``audioChunk`` per pushed frame, ``endTurn`` at each flush,
    ``closeStream`` last), or None. One ``endTurn`` right before ``closeStream`` is also
    right: ending the input flushes it first (upstream's base stream does, wire-capture §8)."""
    flushed = [*want[:-1], "endTurn", want[-1]] if want[-1:] == ["closeStream"] else None
    if list(got) == list(want) or (flushed is not None and list(got) == flushed):
        return None
    return (
        "the client must send transcribeConfig, an audioChunk per pushed frame, endTurn at "
        "each flush and closeStream at the end (an endTurn may come right before it), "
        f"nothing after it:\nexpected {_runs(want)}\ngot      {_runs(got)}"
    )


def transcribe_audio_problem(sent: Sequence[dict[str, Any]], frames: Sequence[bytes]) -> str | None:
    """Where the client's ``audioChunk`` messages (as journaled: ``samples`` and ``crc32``)
    differ from the pushed ``frames``, one message per frame with its exact bytes; None
    when they are the same."""
    got = [(m["samples"], m["crc32"]) for m in sent]
    want = [(len(f) // 2, f"{zlib.crc32(f):08x}") for f in frames]
    if [s for s, _ in got] != [s for s, _ in want]:
        return (
            f"one audioChunk per pushed frame, its size unchanged: {len(want)} frames pushed of "
            f"{sorted({s for s, _ in want})} samples, {len(got)} audioChunks sent of sizes "
            f"{[s for s, _ in got][:20]}{' ...' if len(got) > 20 else ''} (pushed "
            f"{[s for s, _ in want][:20]}{' ...' if len(want) > 20 else ''})"
        )
    wrong = [i for i, (a, b) in enumerate(zip(got, want, strict=True)) if a != b]
    if wrong:
        return (
            f"audioChunks {wrong[:10]} hold other bytes than the frames pushed at their place "
            "(lost, repeated, reordered or altered audio)"
        )
    return None


def transcribe_segments_problem(events: Sequence[Any]) -> str | None:
    """Where a stream's SpeechEvents (usage left out) break the segments ``START (INTERIM)*
    FINAL END`` of IW-STT-ORD-1 (an empty final's segment may also end ``START (INTERIM)*
    END``: the END must still come only for an open segment), or None."""
    open_, state = False, ""
    for index, event in enumerate(events):
        kind = event.speech_type
        if kind == "recognition_usage":
            continue
        if kind == "start_of_speech":
            if open_:
                return f"event {index}: START while a segment is open"
            open_, state = True, "start"
        elif kind == "interim_transcript":
            if not open_ or state not in ("start", "interim"):
                return f"event {index}: INTERIM outside an open segment's START (INTERIM)*"
            state = "interim"
        elif kind == "final_transcript":
            if not open_ or state == "final":
                return f"event {index}: FINAL without an open segment"
            state = "final"
        elif kind == "end_of_speech":
            if not open_:
                return f"event {index}: END without an open segment"
            open_, state = False, ""
    if open_ and state == "final":
        return "the stream ended with a segment left open after its final"
    return None


def _predicted(said: Sequence[tuple[str, str, Any]], rule: str) -> list[tuple[str, str]]:
    """The (type, text) events IW-STT-ORD-1 makes of the server's speech messages, usage
    aside, an empty final emitting what ``rule`` says."""
    speaking, events = False, []
    for kind, text, _ in said:
        if kind == "started" and not speaking:
            events.append(("start_of_speech", ""))
            speaking = True
        elif kind == "interim" and text:
            if not speaking:
                events.append(("start_of_speech", ""))
                speaking = True
            events.append(("interim_transcript", text))
        elif kind == "final" and (text or rule == "final_and_end"):
            if not speaking:
                events.append(("start_of_speech", ""))
            events += [("final_transcript", text), ("end_of_speech", "")]
            speaking = False
        elif kind == "final" and speaking:
            events.append(("end_of_speech", ""))
            speaking = False
    return events


def transcribe_events_problem(
    events: Sequence[Any], messages: Sequence[dict[str, Any]]
) -> str | None:
    """Where a stream's SpeechEvents (usage left out) differ from what IW-STT-ORD-1 makes of
    the server's ``messages`` (as journaled, in order: one connection's, or the connections
    the stream consumed): ``speechStarted`` opens a segment if none is open, a non-empty
    interim opens one if needed and emits INTERIM, a final emits FINAL and END (opening one
    if needed); an empty interim emits nothing, an empty final closes the open segment (END,
    with or without a FINAL ""). None when they match under one of the two empty-final
    rules."""
    said = transcription_events(messages)
    got = [(e.speech_type, e.text) for e in events if e.speech_type != "recognition_usage"]
    predictions = {rule: _predicted(said, rule) for rule in EMPTY_FINAL_RULES}
    if got in predictions.values():
        return None
    want = predictions["end_only"]
    return (
        f"the server said {[(k, t) for k, t, _ in said]}; the events (usage aside) must be "
        f"{want} (an empty final may also emit FINAL '' before its END), got {got}"
    )
