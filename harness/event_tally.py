"""How a script's ``wait_event`` step waits: an adapter counts what its implementation emitted
by kind, and a step waits until a kind reaches its count, the stream ends, or the step's
timeout passes. Every streaming protocol's part (STT, TTS) plays its script this way, so a
case places its input after an event with no wall-clock sleep."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

__all__ = ["EventTally"]


class EventTally:
    """Counts of the events a stream emitted, by kind, and a wake-up for those waiting."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._changed = asyncio.Event()

    def add(self, *kinds: str) -> None:
        """One event that counts as each of ``kinds`` (none: only wakes the waiters, as when
        the stream ended)."""
        self.counts.update(kinds)
        self._changed.set()

    def reset(self) -> None:
        """Start counting afresh (the next synthesis of a pooled client)."""
        self.counts = Counter()

    async def wait(self, kind: str, count: int, timeout: float, stream: asyncio.Task[None]) -> None:
        """Until ``count`` events of ``kind`` came, ``stream`` (the consumer task) ended, or
        ``timeout`` seconds passed; the caller reads what came from the events."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.counts[kind] < count and not stream.done():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
