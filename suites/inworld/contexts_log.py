"""What the Inworld TTS WebSocket cases read back from the simulator's journal
(``inworld.contexts``), and the scenarios they play.

The judged messages are read from the journal, not re-derived from the script: the client's
messages as the server received them (a refused one with its ``_refused`` rule), the server's
replies as it really sent them after the faults (``{"result": ...}`` unwrapped; an
``audioChunk`` as its context, sample count and CRC-32; a top-level ``error``; a binary frame
or a frame that is not JSON as ``binary`` / ``text``), each with its ``_exchange`` (one per
socket) and the upgrades (path, headers, status). :func:`open_contexts_peak` replays the
journal's order on each socket to count the contexts open at once (IW-WS-2).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from voicewire.harness.inworld import InworldTTSOutcome
from voicewire.harness.iut import ConnOptions, Target
from voicewire.harness.runtime import CaseSimulator
from voicewire.simulators.inworld.contexts import CONTEXTS_ENDPOINT
from voicewire.simulators.scenario import Scenario
from voicewire.simulators.scenario import build_scenario as scenario
from voicewire.suites.tts.wire_log import audio_problem

__all__ = [
    "MODEL_2",
    "MODEL_15",
    "ONE_ATTEMPT",
    "STREAM_PATH",
    "InworldUpgrade",
    "audio_chunks",
    "context_audio_problems",
    "context_client_messages",
    "context_server_messages",
    "contexts_scenario",
    "created_contexts",
    "generations",
    "of_context",
    "open_contexts_peak",
    "reply_kind",
    "spoken_words",
    "upgrades",
]

STREAM_PATH = "/tts/v1/voice:streamBidirectional"
"""The upgrade's path: absolute, whatever path the base URL has (SPEC §5.2)."""
MODEL_15 = "inworld-tts-1.5-max"
"""The default model: the client cuts the sentences (``bufferCharThreshold``)."""
MODEL_2 = "inworld-tts-2"
"""The server cuts the sentences (``autoModeStrategy: SENTENCE_BOUNDARY``)."""

ONE_ATTEMPT = ConnOptions(max_retry=0, retry_interval=0.0, timeout=3.0)
"""One attempt: a retry would hide what the first context did."""

_REPLY_KINDS = ("contextCreated", "audioChunk", "flushCompleted", "contextClosed")


def contexts_scenario(
    name: str, reply: dict[str, Any] | None = None, faults: list[dict[str, Any]] | None = None
) -> Scenario:
    """A scenario answering every TTS WebSocket with ``reply`` (an ``InworldContextsReply``
    dict) and ``faults``."""
    return scenario(
        name,
        {"match": {"endpoint": CONTEXTS_ENDPOINT}, "reply": reply or {}, "faults": faults or []},
    )


@dataclass(frozen=True)
class InworldUpgrade:
    """One WebSocket upgrade the client asked for: its exchange, path, headers (names in
    lower case; the journal keeps only the first 12 characters of the credential) and the
    status answered (None: none journaled)."""

    exchange: Any
    path: str
    headers: dict[str, str]
    status: int | None


def _entries(simulator: CaseSimulator, target: Target) -> list[dict[str, Any]]:
    return list(simulator.journal(target))


def upgrades(simulator: CaseSimulator, target: Target) -> list[InworldUpgrade]:
    """Every HTTP request of the session (each WebSocket upgrade), in order."""
    entries = _entries(simulator, target)
    statuses: dict[Any, int] = {}
    for entry in entries:
        if entry.get("kind") == "http_response" and isinstance(entry.get("data"), dict):
            statuses.setdefault(entry.get("exchange"), entry["data"].get("status"))
    found = []
    for entry in entries:
        if entry.get("kind") != "http_request" or entry.get("direction") != "in":
            continue
        data = entry.get("data") or {}
        headers = {str(k).lower(): str(v) for k, v in (data.get("headers") or {}).items()}
        found.append(
            InworldUpgrade(
                entry.get("exchange"),
                str(data.get("path", "")),
                headers,
                statuses.get(entry.get("exchange")),
            )
        )
    return found


def _client(entry: dict[str, Any]) -> dict[str, Any] | None:
    data = entry.get("data")
    if isinstance(data, dict) and "refused" in data:
        head = data.get("head")
        decoded = _json_object(head) if isinstance(head, str) else {}
        return {**decoded, "_refused": data["refused"]}
    if isinstance(data, dict):
        return dict(data)
    return {"_text": data}


def _server(entry: dict[str, Any]) -> dict[str, Any]:
    data = entry.get("data")
    if isinstance(data, dict) and isinstance(data.get("result"), dict):
        return {**data["result"], "_event": entry.get("event")}
    if isinstance(data, dict) and "audioChunk" in data:
        # The journal's summary of an audio chunk carries its own event index.
        return {k: v for k, v in data.items() if k != "event"} | {"_event": data.get("event")}
    if isinstance(data, dict):
        return {**data, "_event": entry.get("event")}
    return {"text": data, "_event": entry.get("event")}


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _messages(simulator: CaseSimulator, target: Target) -> list[dict[str, Any]]:
    """Every WebSocket message and close both ways, in journal order, each with
    ``_direction``, ``_exchange``, ``_seq`` and (closes) ``_close``."""
    found = []
    for entry in _entries(simulator, target):
        direction, kind = entry.get("direction"), entry.get("kind")
        common = {"_direction": direction, "_exchange": entry.get("exchange")}
        if kind == "ws_message" and direction == "in":
            message = _client(entry)
        elif kind == "ws_message" and direction == "out":
            message = _server(entry)
        elif kind == "ws_close":
            message = {"_close": entry.get("data") or {}}
        elif direction == "note":
            message = {"_note": kind, "_data": entry.get("data")}
        else:
            continue
        if message is not None:
            found.append({**message, **common})
    return found


def context_client_messages(simulator: CaseSimulator, target: Target) -> list[dict[str, Any]]:
    """What the client sent on every socket, in order (``_exchange``: the socket)."""
    return [
        m for m in _messages(simulator, target) if m["_direction"] == "in" and "_close" not in m
    ]


def context_server_messages(simulator: CaseSimulator, target: Target) -> list[dict[str, Any]]:
    """What the server sent on every socket, in order: replies unwrapped from ``result``
    (an ``audioChunk`` as ``{samples, crc32, timestamps}``), top-level ``error``\\ s,
    ``binary`` frames and ``text`` that is not JSON."""
    return [
        m for m in _messages(simulator, target) if m["_direction"] == "out" and "_close" not in m
    ]


def reply_kind(message: dict[str, Any]) -> str | None:
    """Which reply a server message is: one of ``contextCreated``, ``audioChunk``,
    ``flushCompleted``, ``contextClosed``; ``status`` for a failing status alone; None for
    anything else."""
    for kind in _REPLY_KINDS:
        if kind in message:
            return kind
    status = message.get("status")
    if isinstance(status, dict) and status.get("code", 0) != 0:
        return "status"
    return None


def of_context(messages: Sequence[dict[str, Any]], context_id: str) -> list[dict[str, Any]]:
    """The messages naming ``context_id``."""
    return [m for m in messages if m.get("contextId") == context_id]


def created_contexts(client: Sequence[dict[str, Any]]) -> list[str]:
    """The ``contextId`` of every ``create`` the server accepted, in order."""
    return [
        m["contextId"]
        for m in client
        if "create" in m and "_refused" not in m and isinstance(m.get("contextId"), str)
    ]


def audio_chunks(server: Sequence[dict[str, Any]], context_id: str) -> list[dict[str, Any]]:
    """The ``audioChunk`` summaries the server sent for ``context_id``, in order (what
    :func:`voicewire.suites.tts.wire_log.audio_problem` compares the audio with)."""
    return [m["audioChunk"] for m in of_context(server, context_id) if "audioChunk" in m]


def generations(server: Sequence[dict[str, Any]], context_id: str) -> list[int]:
    """The samples of each generation of ``context_id``: its audio cut at each
    ``flushCompleted`` (the server's timestamps restart there), the last one what follows."""
    found = [0]
    for message in of_context(server, context_id):
        if "audioChunk" in message:
            found[-1] += int(message["audioChunk"].get("samples", 0))
        elif "flushCompleted" in message:
            found.append(0)
    return found


def open_contexts_peak(simulator: CaseSimulator, target: Target) -> dict[Any, int]:
    """Per socket, the most contexts open at once, in the order the server handled the
    messages: a context opens at its ``create`` (one the server refused too: the client
    tried to open it there) and stays open until its ``contextClosed`` or a failing status,
    or the server withheld the close (``context_closed_withheld``)."""
    open_now: dict[Any, set[str]] = defaultdict(set)
    peak: dict[Any, int] = defaultdict(int)
    for message in _messages(simulator, target):
        exchange, cid = message["_exchange"], message.get("contextId")
        if "_close" in message:
            open_now[exchange].clear()
            continue
        if message.get("_note") in ("context_closed_withheld", "context_failed"):
            data = message.get("_data") or {}
            open_now[exchange].discard(data.get("contextId"))
            continue
        if not isinstance(cid, str):
            continue
        if message["_direction"] == "in":
            if "create" in message:
                open_now[exchange].add(cid)
                peak[exchange] = max(peak[exchange], len(open_now[exchange]))
        elif reply_kind(message) in ("contextClosed", "status"):
            open_now[exchange].discard(cid)
    return dict(peak)


def context_audio_problems(
    outcome: InworldTTSOutcome,
    simulator: CaseSimulator,
    target: Target,
    streams: Sequence[int] | None = None,
) -> list[str]:
    """IW-WS-5 on streams that completed (all when ``streams`` is None): where a stream's
    frames' segment id is not one ``contextId`` the client created, two streams share one,
    its audio is not that context's chunks exactly, in order, or not exactly its last frame
    is final. (Whether they completed is the caller's to judge first.)"""
    syntheses = outcome.syntheses
    created = set(created_contexts(context_client_messages(simulator, target)))
    server = context_server_messages(simulator, target)
    problems: list[str] = []
    seen: dict[str, int] = {}
    for index in range(len(syntheses)) if streams is None else streams:
        synthesis = syntheses[index]
        ids = synthesis.segment_ids
        if len(ids) != 1 or ids[0] not in created:
            problems.append(
                f"stream {index}: its frames' segment ids are {ids}, they must be the one "
                f"contextId it created (created: {sorted(created)})"
            )
            continue
        if ids[0] in seen:
            problems.append(f"streams {seen[ids[0]]} and {index} both emit context {ids[0]}")
        seen[ids[0]] = index
        problem = audio_problem(synthesis.audio, audio_chunks(server, ids[0]))
        if problem is not None:
            # (the TTS suites' judge names LiveKit's message)
            problem = problem.replace("output_audio", "audioChunk")
            problems.append(f"stream {index} (context {ids[0]}): {problem}")
        finals = [i for i, f in enumerate(synthesis.frames) if f.is_final]
        if finals != [len(synthesis.frames) - 1]:
            problems.append(f"stream {index}: exactly its last frame is final, got {finals}")
    return problems


def spoken_words(client: Sequence[dict[str, Any]], context_id: str) -> list[str]:
    """The words the simulator spoke for ``context_id``, in order, from what the client sent
    it: a client-segmented context's every ``send_text`` is an utterance; a
    ``SENTENCE_BOUNDARY`` one's text is spoken by sentences up to each ``flush_context`` (so a
    word is cut only where a flush or a ``send_text`` of a client-segmented context cut it)."""
    messages = of_context(client, context_id)
    create = next((m.get("create") for m in messages if "create" in m), None)
    boundary = isinstance(create, dict) and create.get("autoModeStrategy") == "SENTENCE_BOUNDARY"
    words: list[str] = []
    held = ""
    for message in messages:
        piece = message.get("send_text")
        if isinstance(piece, dict) and isinstance(piece.get("text"), str):
            if boundary:
                held += piece["text"]
            else:
                words += piece["text"].split()
        elif "flush_context" in message or "close_context" in message:
            words += held.split()
            held = ""
    return words + held.split()
