"""Carrying out a fault plan's steps on a WebSocket connection: the IO half of
:mod:`.faults`, which stays sans-IO. Every simulator WebSocket connection (STT, TTS, Inworld's
contexts and transcriptions) sends, journals, closes and acts this way, so it is written once,
here."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web
from voicewire.simulators.core.state import Exchange
from voicewire.simulators.core.websocket import CLOSE_KIND, FRAME_KIND
from voicewire.simulators.stt.faults import FaultStep, Pause, SendFrame

__all__ = ["FaultActor"]


class FaultActor:
    """A connection that sends frames on ``ws``, journals them and carries out
    :class:`~.faults.FaultPlan` steps. The connection provides ``exchange``, ``ws``,
    ``_transport`` (aborted by a reset), ``_ended`` (set when a step ends the connection)
    and ``_write`` (its journal writer of text frames), unless it overrides
    :meth:`journal_text` to journal a frame otherwise (audio as its summary)."""

    exchange: Exchange
    ws: web.WebSocketResponse
    _write: Callable[[bytes, int | None], None]
    _transport: Any
    _ended: bool

    async def send_text(self, text: str | bytes, event: int | None) -> None:
        """Send one text frame (``bytes``: a binary one, a fault) and journal it with its
        event index (None: no event)."""
        if isinstance(text, bytes):
            await self.ws.send_bytes(text)
            self.exchange.frame("out", FRAME_KIND, {"binary": True, "length": len(text)})
            return
        await self.ws.send_str(text)
        self.journal_text(text, event)

    def journal_text(self, text: str, event: int | None) -> None:
        """Journal one text frame sent, as it went out."""
        self._write(text.encode(), event)

    async def close(self, code: int, reason: str) -> None:
        """Close the socket with ``code``, journaled."""
        self.exchange.frame("out", CLOSE_KIND, {"code": code, "reason": reason})
        await self.ws.close(code=code, message=reason.encode())

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
