"""Message-level faults on an STT session (sans-IO): what goes on the wire instead of the
session's own frames.

The session builds its frames in order and through the wire module's checks (so its state is
the protocol's); :class:`FaultPlan` then stands between those frames and the socket, as a
broken server would: each frame is an event (numbered from 0 in the order the unfaulted
session sends them: ``session.created``, ``start_of_speech``, transcripts,
``session.finalized``; the ``error`` answers to bad client messages are not events), and a
rule's faults act on the event they address. For one event: its pauses (``stall``,
``delay``), inserted ``error_event`` and ``binary_frame`` come first, in the order listed,
then the event itself (replaced by ``malformed``, left out by ``drop``, repeated by
``duplicate``, held back by ``reorder`` until the next one has gone), then a close
(``ws_close`` with its code, ``disconnect``: close 1000 or a TCP reset). Nothing follows a
close.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from voicewire.reference.stt.wire import ErrorMessage, encode_message
from voicewire.simulators.scenario import (
    BinaryFrameFault,
    DelayFault,
    DisconnectFault,
    DropFault,
    DuplicateFault,
    ErrorEventFault,
    MalformedFault,
    ReorderFault,
    StallFault,
    StatusFault,
    WsCloseFault,
)

__all__ = [
    "MALFORMED_FRAME",
    "FaultPlan",
    "FaultStep",
    "Pause",
    "SendFrame",
    "Shut",
    "unsupported_faults",
]

MALFORMED_FRAME = '{"type": "final_transcript", "transcript": '
"""What a ``malformed`` fault sends by default: a frame that is not JSON."""


@dataclass(frozen=True)
class SendFrame:
    """Send ``text`` as a text frame (``bytes``: a binary frame); ``event`` is the event it
    belongs to (None: inserted)."""

    text: str | bytes
    event: int | None
    fault: str | None = None


@dataclass(frozen=True)
class Pause:
    """Send nothing for ``seconds`` (already time-scaled)."""

    seconds: float
    fault: str


@dataclass(frozen=True)
class Shut:
    """End the connection: a close frame with ``code``, or (``reset``) abort the TCP
    connection without one."""

    code: int
    mode: Literal["close", "reset"]
    fault: str


FaultStep = SendFrame | Pause | Shut
"""One thing the socket does."""

# The fault kinds a WebSocket session can act on, besides status (answered at the upgrade).
_MESSAGE_FAULTS = (
    BinaryFrameFault,
    StallFault,
    DelayFault,
    ErrorEventFault,
    MalformedFault,
    DropFault,
    DuplicateFault,
    ReorderFault,
    WsCloseFault,
    DisconnectFault,
)


def unsupported_faults(faults: Sequence[Any]) -> list[str]:
    """The kinds among ``faults`` an STT session cannot act on (``byte_split``: a WebSocket
    message is never cut into writes the client could see)."""
    return sorted({f.kind for f in faults if not isinstance(f, (StatusFault, *_MESSAGE_FAULTS))})


class FaultPlan:
    """Turns a session's frames into the steps the socket takes, with ``faults`` applied.
    ``time_scale`` multiplies every pause."""

    def __init__(self, faults: Sequence[Any], *, time_scale: float) -> None:
        self._faults = [f for f in faults if isinstance(f, _MESSAGE_FAULTS)]
        self._scale = time_scale
        self._next_event = 0
        self._held: SendFrame | None = None
        self._shut = False

    @property
    def shut(self) -> bool:
        """Whether a close was planned: nothing is sent after it."""
        return self._shut

    def _at(self, event: int) -> list[Any]:
        return [f for f in self._faults if f.at_event == event]

    def send(self, text: str) -> list[FaultStep]:
        """The steps for the session's next frame, ``text``."""
        if self._shut:
            return []
        event = self._next_event
        self._next_event += 1
        faults = self._at(event)
        steps: list[FaultStep] = []
        for fault in faults:
            if isinstance(fault, (StallFault, DelayFault)):
                steps.append(Pause(fault.seconds * self._scale, fault.kind))
            elif isinstance(fault, ErrorEventFault):
                error = encode_message(ErrorMessage(message=fault.message, code=fault.code))
                steps.append(SendFrame(error, None, fault.kind))
            elif isinstance(fault, BinaryFrameFault):
                steps.append(SendFrame(fault.data(), None, fault.kind))
        frames = [SendFrame(text, event)]
        for fault in faults:
            if isinstance(fault, MalformedFault):
                line = fault.line if fault.line is not None else MALFORMED_FRAME
                frames = [SendFrame(line, event, fault.kind)]
            elif isinstance(fault, DropFault):
                frames = []
            elif isinstance(fault, DuplicateFault):
                frames = frames * 2
        held, self._held = self._held, None
        if any(isinstance(f, ReorderFault) for f in faults) and len(frames) == 1:
            self._held = frames[0]
            frames = []
        steps.extend(frames)
        if held is not None:
            steps.append(held)
        for fault in faults:
            if isinstance(fault, WsCloseFault):
                steps.extend(self._close(Shut(fault.code, "close", fault.kind)))
                break
            if isinstance(fault, DisconnectFault):
                steps.extend(self._close(Shut(1000, fault.mode, fault.kind)))
                break
        return steps

    def _close(self, shut: Shut) -> list[FaultStep]:
        # A frame held back for a reorder goes out before the close that ends the session.
        steps: list[FaultStep] = self.flush()
        steps.append(shut)
        self._shut = True
        return steps

    def flush(self) -> list[FaultStep]:
        """What is still held back (a reordered last event): sent before the session ends."""
        if self._shut or self._held is None:
            return []
        held, self._held = self._held, None
        return [held]
