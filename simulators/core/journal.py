"""The journal: every frame a simulator received or sent, and what it decided, timestamped.

Two entry types, both carrying ``seq`` (0, 1, 2 ... in recording order), ``t`` (seconds since
the simulator started, on its monotonic clock), ``scenario`` and ``exchange`` (numbering
requests: one HTTP request or one WebSocket session, so a test can pick one out):

- :class:`WireFrame` (``wire.frame``): one unit on the wire, ``in`` (client → simulator) or
  ``out``. Its ``kind`` is named by the protocol that wrote it: ``http_request``,
  ``http_response``, ``http_error``, ``disconnect``, a streamed event (``event`` is its
  scripted index) ...
- :class:`WireNote` (``wire.note``): something the simulator decided or observed: ``rule``
  (which rule, which attempt), ``sleep``, ``client_gone`` ...

:meth:`Journal.entries` gives them as JSON-ready dicts, as the control API serves them and
reports embed them::

    {"type": "wire.frame", "seq": 12, "t": 0.153, "scenario": "weather", "exchange": 3,
     "direction": "out", "kind": "sse_event", "data": "data: {...}\\n\\n", "event": 4}
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Direction", "Journal", "Recorder", "WireFrame", "WireNote"]

Direction = Literal["in", "out", "note"]
"""``in`` / ``out``: a :class:`WireFrame` in that direction; ``note``: a :class:`WireNote`."""


class WireFrame(BaseModel):
    """One unit on the wire: an HTTP request or response head, a streamed event, a WebSocket
    message. ``direction`` is from the simulator's point of view (``in``: client → simulator);
    ``event`` is the scripted event index the bytes belong to (None: not a scripted event)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["wire.frame"] = "wire.frame"
    seq: int = Field(ge=0, description="position in the journal")
    t: float = Field(ge=0, description="seconds since the simulator started")
    scenario: str
    exchange: int = Field(ge=0, description="the request or session it belongs to")
    direction: Literal["in", "out"]
    kind: str
    data: Any = None
    event: int | None = None


class WireNote(BaseModel):
    """Something the simulator decided or observed (``rule``, ``sleep``, ``client_gone`` ...),
    not itself on the wire."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["wire.note"] = "wire.note"
    seq: int = Field(ge=0, description="position in the journal")
    t: float = Field(ge=0, description="seconds since the simulator started")
    scenario: str
    exchange: int = Field(ge=0, description="the request or session it belongs to")
    kind: str
    data: Any = None


# (seq, clock reading, scenario, exchange, direction, kind, data, event)
_Raw = tuple[int, float, str, int, str, str, Any, "int | None"]

Recorder = Callable[..., None]
"""``record(direction, kind, data=None, *, event=None)`` bound to one scenario and exchange."""


def _text(data: Any) -> Any:
    if isinstance(data, (bytes, bytearray)):
        return bytes(data).decode("utf-8", errors="backslashreplace")
    return data


class Journal:
    """A bounded, in-memory record; the oldest entries go first when ``max_entries`` is hit
    (``dropped`` counts them, so a reader knows the record is incomplete)."""

    def __init__(
        self, *, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ValueError(f"max_entries must be a positive int, got {max_entries!r}")
        # Entries are kept as flat tuples and become models when read. Recording sits on the
        # simulators' per-event path: a tuple of plain values is cheap to make, and the cyclic
        # GC stops tracking it, so a full journal costs no collections.
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
        event: int | None = None,
    ) -> None:
        """Append one entry: a frame for ``in``/``out``, a note for ``note``. ``bytes`` data
        shows as text, undecodable bytes as backslash escapes, when :meth:`entries` reads it
        (recording sits on every request's path, so nothing is built here)."""
        if direction not in ("in", "out", "note"):
            raise ValueError(f"direction must be 'in', 'out' or 'note', got {direction!r}")
        if direction == "note" and event is not None:
            raise ValueError("a note has no event index")
        raw = (next(self._seq), self._clock(), scenario, exchange, direction, kind, data, event)
        self._append(raw)

    def writer(
        self, scenario: str, exchange: int, kind: str
    ) -> Callable[[bytes, int | None], None]:
        """A function appending ``out`` frames of ``kind`` for bytes written to a stream, with
        their event index: the entries ``record(..., direction="out")`` makes, made cheaply,
        since streams record one per event."""
        entries = self._entries
        seq = self._seq
        clock = self._clock

        def write(data: bytes, event: int | None) -> None:
            if len(entries) == entries.maxlen:
                self.dropped += 1
            entries.append((next(seq), clock(), scenario, exchange, "out", kind, data, event))

        return write

    def _append(self, raw: _Raw) -> None:
        if len(self._entries) == self._entries.maxlen:
            self.dropped += 1
        self._entries.append(raw)

    def _model(self, raw: _Raw) -> WireFrame | WireNote:
        seq, clock, scenario, exchange, direction, kind, data, event = raw
        # Built without validation: every field was checked (or is plain data) when recorded.
        common = {
            "seq": seq,
            "t": round(clock - self._start, 6),
            "scenario": scenario,
            "exchange": exchange,
            "kind": kind,
            "data": _text(data),
        }
        if direction == "note":
            return WireNote.model_construct(**common)
        return WireFrame.model_construct(direction=direction, event=event, **common)

    def _entry(self, raw: _Raw) -> dict[str, Any]:
        return self._model(raw).model_dump(mode="json")

    def recorder(self, *, scenario: str, exchange: int) -> Recorder:
        """``record`` bound to one scenario and exchange: ``rec(direction, kind, data, event=)``."""

        def record(
            direction: Direction, kind: str, data: Any = None, *, event: int | None = None
        ) -> None:
            self.record(
                scenario=scenario,
                exchange=exchange,
                direction=direction,
                kind=kind,
                data=data,
                event=event,
            )

        return record

    def _select(self, scenario: str | None, exchange: int | None) -> list[_Raw]:
        return [
            raw
            for raw in self._entries
            if (scenario is None or raw[2] == scenario) and (exchange is None or raw[3] == exchange)
        ]

    def records(
        self, *, scenario: str | None = None, exchange: int | None = None
    ) -> list[WireFrame | WireNote]:
        """The entries as models, oldest first, optionally for one scenario and/or exchange."""
        return [self._model(raw) for raw in self._select(scenario, exchange)]

    def entries(
        self, *, scenario: str | None = None, exchange: int | None = None
    ) -> list[dict[str, Any]]:
        """The entries as JSON-ready dicts, oldest first, optionally for one scenario and/or
        exchange."""
        return [self._entry(raw) for raw in self._select(scenario, exchange)]

    def clear(self, *, scenario: str | None = None) -> None:
        """Forget every entry (or only those of one scenario)."""
        if scenario is None:
            self._entries.clear()
            self.dropped = 0
        else:
            kept = [raw for raw in self._entries if raw[2] != scenario]
            self._entries.clear()
            self._entries.extend(kept)
