"""What the TTS client cases read back from the simulator's journal, and the audio check they
share.

The judged messages are read from the journal, not re-derived from the script: a case about
the client compares it with what the server really sent it (after drops, duplicates and
reorders) and what the client really sent. The journal keeps an ``output_audio`` as its
sample count and CRC-32, so :func:`audio_problem` cuts the client's emitted audio at the
server's chunk boundaries and compares each piece's CRC: bytes lost, added, altered or
reordered all show (TTS-OUT-1).
"""

from __future__ import annotations

import json
import re
import zlib
from typing import Any

from voicewire.harness.iut import ConnOptions, Target
from voicewire.harness.runtime import CaseSimulator
from voicewire.simulators.scenario import Scenario
from voicewire.simulators.scenario import build_scenario as scenario

__all__ = [
    "MODEL",
    "ONE_ATTEMPT",
    "ONE_RETRY",
    "RATE",
    "audio_problem",
    "client_messages",
    "replying",
    "server_messages",
    "tts_messages",
]

MODEL = "cartesia/sonic-3"
RATE = 24000

ONE_ATTEMPT = ConnOptions(max_retry=0, retry_interval=0.0, timeout=5.0)
"""One attempt: a retry would hide what the first connection did."""
ONE_RETRY = ConnOptions(max_retry=1, retry_interval=0.0, timeout=5.0)
"""One retry, at once: the retry cases script exactly one failed connection."""


def replying(
    name: str, reply: dict[str, Any] | None = None, faults: list[dict[str, Any]] | None = None
) -> Scenario:
    """A scenario answering every TTS connection with ``reply`` (a ``TTSReply`` dict) and
    ``faults``."""
    return scenario(
        name, {"match": {"endpoint": "tts"}, "reply": reply or {}, "faults": faults or []}
    )


def tts_messages(simulator: CaseSimulator, target: Target, direction: str) -> list[dict[str, Any]]:
    """The session's WebSocket messages one way (``in``: the client's, ``out``: the
    server's), decoded, in order, each with its ``_exchange`` (one per connection). A
    message that is not a JSON object (a scripted malformed frame) is left out."""
    found = []
    for entry in simulator.journal(target):
        if entry.get("kind") != "ws_message" or entry.get("direction") != direction:
            continue
        data = entry["data"]
        if isinstance(data, dict) and "refused" in data:
            # A client message the simulator refused is journaled by its head.
            data = {**_decoded(data.get("head")), "_refused": data["refused"]}
        if isinstance(data, str):
            data = _decoded(data)
        if isinstance(data, dict) and data:
            found.append({**data, "_exchange": entry.get("exchange")})
    return found


def client_messages(simulator: CaseSimulator, target: Target) -> list[dict[str, Any]]:
    """What the client sent, in order."""
    return tts_messages(simulator, target, "in")


def server_messages(simulator: CaseSimulator, target: Target) -> list[dict[str, Any]]:
    """What the server sent, in order (``output_audio`` as ``{samples, duration, crc32,
    session_id}``)."""
    return tts_messages(simulator, target, "out")


def _decoded(text: Any) -> dict[str, Any]:
    """A journaled frame's JSON object; of a refused frame's cut head, at least its
    ``type`` (the journal keeps a long refused message's first bytes only)."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        kind = _HEAD_TYPE.search(text) if isinstance(text, str) else None
        return {"type": kind.group(1)} if kind else {}
    return data if isinstance(data, dict) else {}


_HEAD_TYPE = re.compile(r'^\{\s*"type"\s*:\s*"([^"\\]*)"')


def audio_problem(emitted: bytes, chunks: list[dict[str, Any]]) -> str | None:
    """Where the client's emitted PCM differs from the server's ``output_audio`` chunks (as
    journaled: ``samples`` and ``crc32`` each, in the order sent), or None when it is their
    exact concatenation."""
    expected = sum(2 * chunk["samples"] for chunk in chunks)
    if len(emitted) != expected:
        return (
            f"the client emitted {len(emitted)} bytes of audio, the server sent {expected} "
            f"in {len(chunks)} output_audio messages"
        )
    offset = 0
    for index, chunk in enumerate(chunks):
        piece = emitted[offset : offset + 2 * chunk["samples"]]
        if f"{zlib.crc32(piece):08x}" != chunk["crc32"]:
            return (
                f"the emitted audio at bytes {offset}..{offset + len(piece)} differs from the "
                f"server's output_audio #{index} (CRC-32 {zlib.crc32(piece):08x}, sent "
                f"{chunk['crc32']})"
            )
        offset += len(piece)
    return None
