"""Message-level faults on a TTS connection (sans-IO): the STT simulator's fault plan, and the
TTS server bugs it has no word for.

The shared fault vocabulary (``simulators/scenario.py``) acts on a connection's events as it
does on an STT session's: each frame the unfaulted connection sends is an event, numbered
from 0 over the whole connection (``session.created``, then each synthesis's
``output_alignment``\\s, ``output_audio`` chunks and ``done``; the ``error`` answers to bad
client messages are not events). :class:`~voicewire.simulators.stt.faults.FaultPlan` serves
both protocols unchanged (the ``error`` frame it inserts, ``{"type": "error", "message",
"code"}``, is the same on both), so it is reused, not copied; :func:`tts_fault_plan` only gives
``malformed`` the TTS protocol's own broken frame. So: ``error_event`` sends an ``error``,
``ws_close`` closes mid-synthesis with its code, ``stall`` goes silent, ``drop``,
``duplicate`` and ``reorder`` act on audio chunks, ``disconnect`` resets.

What the vocabulary cannot say is the reply's (:class:`~.script.TTSReply`):
``session_id`` left off (:func:`without_session_id`) and ``sample_rate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from voicewire.reference.tts.wire import (
    OutputAlignment,
    OutputAudio,
    SynthesisDone,
    TTSServerMessage,
    TTSSessionCreated,
)
from voicewire.simulators.scenario import MalformedFault
from voicewire.simulators.stt.faults import (
    FaultPlan,
    FaultStep,
    Pause,
    SendFrame,
    Shut,
    unsupported_faults,
)

__all__ = [
    "MALFORMED_TTS_FRAME",
    "FaultPlan",
    "FaultStep",
    "Pause",
    "SendFrame",
    "SessionIdPolicy",
    "Shut",
    "tts_fault_plan",
    "unsupported_faults",
    "without_session_id",
]

MALFORMED_TTS_FRAME = '{"type": "output_audio", "audio": '
"""What a ``malformed`` fault sends by default on the TTS endpoint: a frame that is not
JSON."""

SessionIdPolicy = Literal["every", "created_only", "none"]
"""Which server messages carry the session id (:attr:`~.script.TTSReply.session_id`)."""


def tts_fault_plan(faults: Sequence[Any], *, time_scale: float) -> FaultPlan:
    """The fault plan of one TTS connection: ``faults`` as the STT plan plays them, a
    ``malformed`` without a ``line`` sending :data:`MALFORMED_TTS_FRAME`."""
    own = [
        fault.model_copy(update={"line": MALFORMED_TTS_FRAME})
        if isinstance(fault, MalformedFault) and fault.line is None
        else fault
        for fault in faults
    ]
    return FaultPlan(own, time_scale=time_scale)


def without_session_id(message: TTSServerMessage, policy: SessionIdPolicy) -> TTSServerMessage:
    """``message`` as a server following ``policy`` sends it: the same, or without its
    ``session_id`` (the two upstream crash variants of wire capture §4)."""
    if policy == "every":
        return message
    if policy == "created_only" and isinstance(message, TTSSessionCreated):
        return message
    if isinstance(message, (TTSSessionCreated, OutputAudio, OutputAlignment, SynthesisDone)):
        return message.model_copy(update={"session_id": None})
    return message
