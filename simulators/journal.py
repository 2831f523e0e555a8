"""The journal: every request and every response piece a simulator handled, timestamped.

Entries are plain JSON-ready dicts so the control API can serve them and reports can embed
them::

    {"seq": 12, "t": 0.153, "scenario": "weather", "exchange": 3, "direction": "out",
     "kind": "sse_write", "data": "data: {...}\\n\\n", "event": 4}

``t`` is seconds since the simulator started; ``exchange`` numbers requests (one HTTP request
or one WebSocket session), so a test can pick out one exchange.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

__all__ = ["Journal"]

Direction = Literal["in", "out", "note"]


class Journal:
    """A bounded, in-memory record; the oldest entries go first when ``max_entries`` is hit
    (``dropped`` counts them, so a reader knows the record is incomplete)."""

    def __init__(
        self, *, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ValueError(f"max_entries must be a positive int, got {max_entries!r}")
        self._entries: deque[dict[str, Any]] = deque(maxlen=max_entries)
        self._clock = clock
        self._start = clock()
        self._seq = itertools.count()
        self._exchanges = itertools.count(1)
        self.dropped = 0

    def new_exchange(self) -> int:
        """A fresh exchange number."""
        return next(self._exchanges)

    def record(
        self,
        *,
        scenario: str,
        exchange: int,
        direction: Direction,
        kind: str,
        data: Any = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Append one entry and return it."""
        if len(self._entries) == self._entries.maxlen:
            self.dropped += 1
        entry = {
            "seq": next(self._seq),
            "t": round(self._clock() - self._start, 6),
            "scenario": scenario,
            "exchange": exchange,
            "direction": direction,
            "kind": kind,
            "data": data,
            **extra,
        }
        self._entries.append(entry)
        return entry

    def entries(
        self, *, scenario: str | None = None, exchange: int | None = None
    ) -> list[dict[str, Any]]:
        """The entries, oldest first, optionally for one scenario and/or exchange."""
        return [
            e
            for e in self._entries
            if (scenario is None or e["scenario"] == scenario)
            and (exchange is None or e["exchange"] == exchange)
        ]

    def clear(self, *, scenario: str | None = None) -> None:
        """Forget every entry (or only those of one scenario)."""
        if scenario is None:
            self._entries.clear()
            self.dropped = 0
        else:
            kept = [e for e in self._entries if e["scenario"] != scenario]
            self._entries.clear()
            self._entries.extend(kept)
