"""Carrying out a fault plan's steps on a WebSocket connection: the IO half of
:mod:`.faults`, which stays sans-IO. The STT and TTS connections both act this way, so the
steps are carried out once, here."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from voicewire.simulators.core.state import Exchange
from voicewire.simulators.stt.faults import FaultStep, Pause, SendFrame

__all__ = ["FaultActor"]


class FaultActor:
    """A connection that carries out :class:`~.faults.FaultPlan` steps. The connection
    provides ``exchange``, ``_transport`` (aborted by a reset), ``_ended`` (set when a step
    ends the connection), ``send_text(text, event)`` and ``close(code, reason)``."""

    exchange: Exchange
    _transport: Any
    _ended: bool

    if TYPE_CHECKING:
        # What the connection provides (declared for the type checker only).
        async def send_text(self, text: str | bytes, event: int | None) -> None: ...

        async def close(self, code: int, reason: str) -> None: ...

    async def act(self, step: FaultStep) -> None:
        """Carry out one step of the fault plan."""
        if isinstance(step, SendFrame):
            if step.fault is not None:
                self.exchange.note("fault", {"kind": step.fault, "event": step.event})
            await self.send_text(step.text, step.event)
        elif isinstance(step, Pause):
            self.exchange.note("sleep", {"seconds": step.seconds, "fault": step.fault})
            await asyncio.sleep(step.seconds)
        else:
            self._ended = True
            self.exchange.note("fault", {"kind": step.fault, "mode": step.mode})
            if step.mode == "reset":
                self.exchange.frame("out", "disconnect", {"mode": "reset"})
                if self._transport is not None:
                    self._transport.abort()
            else:
                await self.close(step.code, f"simulated {step.fault}")
