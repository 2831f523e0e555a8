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

# (seq, clock reading, scenario, exchange, direction, kind, data, event, extra fields or None)
_Raw = tuple[int, float, str, int, str, str, Any, "int | None", "dict[str, Any] | None"]
_NO_EVENT: Any = object()


class Journal:
    """A bounded, in-memory record; the oldest entries go first when ``max_entries`` is hit
    (``dropped`` counts them, so a reader knows the record is incomplete)."""

    def __init__(
        self, *, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ValueError(f"max_entries must be a positive int, got {max_entries!r}")
        # Entries are kept as flat tuples and become dicts when read. Recording sits on the
        # simulators' per-write path (one entry per SSE event): a tuple of plain values is cheap
        # to make, and the cyclic GC stops tracking it, so a full journal costs no collections.
        self._entries: deque[_Raw] = deque(maxlen=max_entries)
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
        """Append one entry and return it (as :meth:`entries` will show it); ``bytes`` data
        shows as text, undecodable bytes as backslash escapes."""
        entries = self._entries
        if len(entries) == entries.maxlen:
            self.dropped += 1
        raw = (
            next(self._seq),
            self._clock(),
            scenario,
            exchange,
            direction,
            kind,
            data,
            _NO_EVENT,
            extra or None,
        )
        entries.append(raw)
        return self._entry(raw)

    def record_write(self, scenario: str, exchange: int, data: bytes, event: int | None) -> None:
        """Append the ``out`` / ``sse_write`` entry of bytes written to a stream: the entry
        ``record(..., kind="sse_write", data=data, event=event)`` makes, made cheaply, since a
        stream writes once per event."""
        entries = self._entries
        if len(entries) == entries.maxlen:
            self.dropped += 1
        entries.append(
            (
                next(self._seq),
                self._clock(),
                scenario,
                exchange,
                "out",
                "sse_write",
                data,
                event,
                None,
            )
        )

    def _entry(self, raw: _Raw) -> dict[str, Any]:
        seq, clock, scenario, exchange, direction, kind, data, event, extra = raw
        if isinstance(data, bytes):
            data = data.decode("utf-8", errors="backslashreplace")
        entry = {
            "seq": seq,
            "t": round(clock - self._start, 6),
            "scenario": scenario,
            "exchange": exchange,
            "direction": direction,
            "kind": kind,
            "data": data,
        }
        if event is not _NO_EVENT:
            entry["event"] = event
        if extra is not None:
            entry.update(extra)
        return entry

    def recorder(self, *, scenario: str, exchange: int) -> Callable[..., dict[str, Any]]:
        """``record`` bound to one scenario and exchange: ``rec(direction, kind, data, **kw)``."""

        def record(
            direction: Direction, kind: str, data: Any = None, **extra: Any
        ) -> dict[str, Any]:
            return self.record(
                scenario=scenario,
                exchange=exchange,
                direction=direction,
                kind=kind,
                data=data,
                **extra,
            )

        return record

    def entries(
        self, *, scenario: str | None = None, exchange: int | None = None
    ) -> list[dict[str, Any]]:
        """The entries, oldest first, optionally for one scenario and/or exchange."""
        return [
            self._entry(raw)
            for raw in self._entries
            if (scenario is None or raw[2] == scenario) and (exchange is None or raw[3] == exchange)
        ]

    def clear(self, *, scenario: str | None = None) -> None:
        """Forget every entry (or only those of one scenario)."""
        if scenario is None:
            self._entries.clear()
            self.dropped = 0
        else:
            kept = [raw for raw in self._entries if raw[2] != scenario]
            self._entries.clear()
            self._entries.extend(kept)
