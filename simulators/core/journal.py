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

The journal is bounded in entries and in bytes (the oldest go first, ``dropped`` counts them):
a peer decides what it sends, so the journal keeps bodies as bytes, each cut to a bound
(:class:`Body`), and decodes them only when an entry is read. :meth:`Journal.page` reads it a
page at a time behind a ``seq`` cursor, and :meth:`Journal.subscribe` tells a follower that
entries arrived, so the control API serves it in pages and as a stream without holding the
event loop.
"""

from __future__ import annotations

import bisect
import itertools
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from voicewire.simulators.core.bodies import BodyRefused, decode_json

__all__ = ["Body", "Direction", "Journal", "JournalPage", "Recorder", "WireFrame", "WireNote"]

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


# (seq, clock reading, scenario, exchange, direction, kind, data, event, weight)
_Raw = tuple[int, float, str, int, str, str, Any, "int | None", int]

Recorder = Callable[..., None]
"""``record(direction, kind, data=None, *, event=None)`` bound to one scenario and exchange."""

# What an entry costs beyond its data (the tuple, its fields, the clock reading): counted so
# a journal of many tiny entries is bounded too.
_ENTRY_WEIGHT = 128
# Data nested deeper than this is not walked to be weighed: it is counted at this flat rate.
_UNWEIGHED = 256


class Body:
    """The bytes of an HTTP body as the journal keeps them: at most ``limit`` bytes of it
    (``data``), and the length it had (``length``).

    Read back (:meth:`Journal.entries`), a ``body`` key holding one shows the JSON it decodes
    to, or its text when it is not JSON, too deep, or cut, next to ``body_length`` and
    ``truncated``. Decoding waits until the entry is read: the journal keeps bytes, never a
    peer's document as objects.
    """

    __slots__ = ("data", "length")

    def __init__(self, data: bytes, limit: int) -> None:
        self.length = len(data)
        self.data = bytes(data[:limit])

    @property
    def truncated(self) -> bool:
        """Whether bytes were cut off."""
        return len(self.data) < self.length

    def shown(self, max_depth: int) -> Any:
        """The body as an entry shows it: decoded JSON when it is whole JSON (at most
        ``max_depth`` deep), else its text (undecodable bytes as backslash escapes)."""
        if not self.truncated and self.data:
            try:
                return decode_json(self.data, max_depth=max_depth)
            except BodyRefused:
                pass
        return self.data.decode("utf-8", errors="backslashreplace")

    def __repr__(self) -> str:
        return f"Body({self.length} bytes{', truncated' if self.truncated else ''})"


def _weight(data: Any, depth: int = 0) -> int:
    """About how many bytes ``data`` holds (bytes and text exactly, containers by walking
    their first levels)."""
    if data is None or isinstance(data, (bool, int, float)):
        return 8
    if isinstance(data, (bytes, bytearray, str)):
        return len(data)
    if isinstance(data, Body):
        return len(data.data)
    if depth >= 3:
        return _UNWEIGHED
    if isinstance(data, Mapping):
        return sum(16 + _weight(k, depth + 1) + _weight(v, depth + 1) for k, v in data.items())
    if isinstance(data, (list, tuple)):
        return sum(8 + _weight(item, depth + 1) for item in data)
    return _UNWEIGHED


class JournalPage:
    """One page of journal entries (:meth:`Journal.page`), turned into JSON-ready dicts one at
    a time as it is iterated, so a reader can encode and write them in pieces.

    ``next`` is the cursor of the following page (the ``seq`` to pass as ``after``), None
    when this page reached the end; ``last`` is the ``seq`` of its last entry (None: empty).
    """

    def __init__(self, journal: Journal, raws: list[_Raw], next_cursor: int | None) -> None:
        self._journal = journal
        self._raws = raws
        self.next = next_cursor
        self.last = raws[-1][0] if raws else None

    def __len__(self) -> int:
        return len(self._raws)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for raw in self._raws:
            yield self._journal._entry(raw)


class Journal:
    """A bounded, in-memory record: at most ``max_entries`` entries and about ``max_bytes``
    bytes of data; the oldest entries go first when either is hit (``dropped`` counts them,
    so a reader knows the record is incomplete).

    ``body_bytes`` bounds each :class:`Body` made with :meth:`body`; ``max_depth`` is the
    deepest JSON a body is decoded to when read.
    """

    def __init__(
        self,
        *,
        max_entries: int = 100_000,
        max_bytes: int = 64 * 1024 * 1024,
        body_bytes: int = 64 * 1024,
        max_depth: int = 128,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, value in (
            ("max_entries", max_entries),
            ("max_bytes", max_bytes),
            ("body_bytes", body_bytes),
            ("max_depth", max_depth),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        # Entries are kept as flat tuples and become models when read. Recording sits on the
        # simulators' per-event path: a tuple of plain values is cheap to make, and the cyclic
        # GC stops tracking it, so a full journal costs no collections.
        self._entries: deque[_Raw] = deque()
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.body_bytes = body_bytes
        self.max_depth = max_depth
        self._clock = clock
        self._start = clock()
        self._seq = itertools.count()
        self._exchanges = itertools.count(1)
        self._bytes = 0
        self._listeners: list[Callable[[], None]] = []
        self.dropped = 0

    @property
    def bytes(self) -> int:
        """About how many bytes the kept entries hold."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def new_exchange(self) -> int:
        """A fresh exchange number."""
        return next(self._exchanges)

    def body(self, data: bytes) -> Body:
        """``data`` as this journal keeps a body: cut to ``body_bytes``."""
        return Body(data, self.body_bytes)

    @property
    def followers(self) -> int:
        """How many listeners :meth:`subscribe` has now (a follower of the control API's
        ``?follow=1`` stream is one until its client leaves)."""
        return len(self._listeners)

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener()`` after every new entry, until the returned function is called.
        Listeners run inside :meth:`record`: they must be quick (set an event, no I/O)."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

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
        shows as text, undecodable bytes as backslash escapes, and a :class:`Body` as its
        document, when :meth:`entries` reads it (recording sits on every request's path, so
        nothing is decoded here). Large data should be bytes or a :class:`Body`: containers
        are weighed only down to a few levels."""
        if direction not in ("in", "out", "note"):
            raise ValueError(f"direction must be 'in', 'out' or 'note', got {direction!r}")
        if direction == "note" and event is not None:
            raise ValueError("a note has no event index")
        weight = _ENTRY_WEIGHT + _weight(data)
        raw = (next(self._seq), self._clock(), scenario, exchange, direction, kind, data, event)
        self._append((*raw, weight))

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
            weight = _ENTRY_WEIGHT + len(data)
            entries.append(
                (next(seq), clock(), scenario, exchange, "out", kind, data, event, weight)
            )
            self._bytes += weight
            if self._bytes > self.max_bytes or len(entries) > self.max_entries:
                self._trim()
            if self._listeners:
                self._notify()

        return write

    def _append(self, raw: _Raw) -> None:
        self._entries.append(raw)
        self._bytes += raw[8]
        if self._bytes > self.max_bytes or len(self._entries) > self.max_entries:
            self._trim()
        if self._listeners:
            self._notify()

    def _trim(self) -> None:
        entries = self._entries
        # The newest entry always stays, even alone over the byte bound: a reader must see
        # that it happened.
        while len(entries) > 1 and (
            self._bytes > self.max_bytes or len(entries) > self.max_entries
        ):
            self._bytes -= entries.popleft()[8]
            self.dropped += 1

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    def _shown(self, data: Any) -> Any:
        if isinstance(data, (bytes, bytearray)):
            return bytes(data).decode("utf-8", errors="backslashreplace")
        if isinstance(data, Body):
            return data.shown(self.max_depth)
        if isinstance(data, dict) and isinstance(data.get("body"), Body):
            body: Body = data["body"]
            return {
                **data,
                "body": body.shown(self.max_depth),
                "body_length": body.length,
                "truncated": body.truncated,
            }
        return data

    def _model(self, raw: _Raw) -> WireFrame | WireNote:
        seq, clock, scenario, exchange, direction, kind, data, event, _ = raw
        # Built without validation: every field was checked (or is plain data) when recorded.
        common = {
            "seq": seq,
            "t": round(clock - self._start, 6),
            "scenario": scenario,
            "exchange": exchange,
            "kind": kind,
            "data": self._shown(data),
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

    def _select(
        self,
        scenario: str | None,
        exchange: int | None,
        *,
        after: int | None = None,
        limit: int | None = None,
    ) -> list[_Raw]:
        entries = self._entries
        start = 0
        if after is not None:
            # Sequence numbers only grow along the deque, so the first entry past the cursor
            # is found by bisection instead of a walk from the oldest.
            start = bisect.bisect_right(entries, after, key=lambda raw: raw[0])
        chosen: list[_Raw] = []
        for raw in itertools.islice(entries, start, None):
            if (scenario is None or raw[2] == scenario) and (
                exchange is None or raw[3] == exchange
            ):
                chosen.append(raw)
                if limit is not None and len(chosen) >= limit:
                    break
        return chosen

    def records(
        self, *, scenario: str | None = None, exchange: int | None = None
    ) -> list[WireFrame | WireNote]:
        """The entries as models, oldest first, optionally for one scenario and/or exchange."""
        return [self._model(raw) for raw in self._select(scenario, exchange)]

    def entries(
        self,
        *,
        scenario: str | None = None,
        exchange: int | None = None,
        after: int | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """The entries as JSON-ready dicts, oldest first, optionally for one scenario and/or
        exchange, only those whose ``seq`` is above ``after``, at most ``limit`` of them."""
        return [
            self._entry(raw) for raw in self._select(scenario, exchange, after=after, limit=limit)
        ]

    def page(
        self,
        *,
        scenario: str | None = None,
        exchange: int | None = None,
        after: int | None = None,
        limit: int = 1000,
    ) -> JournalPage:
        """At most ``limit`` of :meth:`entries` past ``after``, and the cursor of the next
        page (:class:`JournalPage`)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive int, got {limit!r}")
        chosen = self._select(scenario, exchange, after=after, limit=limit)
        return JournalPage(self, chosen, chosen[-1][0] if len(chosen) == limit else None)

    def clear(self, *, scenario: str | None = None) -> None:
        """Forget every entry (or only those of one scenario)."""
        if scenario is None:
            self._entries.clear()
            self._bytes = 0
            self.dropped = 0
        else:
            kept = [raw for raw in self._entries if raw[2] != scenario]
            self._entries.clear()
            self._entries.extend(kept)
            self._bytes = sum(raw[8] for raw in kept)
