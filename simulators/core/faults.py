"""Fault placement over a stream of encoded events, for any protocol that streams events.

:func:`place_faults` turns the events of one scripted stream (produced lazily, in order) plus
the rule's faults and timing into the :mod:`~voicewire.simulators.core.actions` a shell
executes. It is lazy too: events are pulled as actions are consumed, with the least look-ahead
each fault needs (a ``reorder`` holds back one event; ``byte_split`` a piece). What an
injected frame looks like (the ``malformed`` default, an in-band error event) is the
protocol's to say, through the two encoders it passes.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from voicewire.simulators.core.actions import Action, Disconnect, Sleep, Write
from voicewire.simulators.scenario import (
    ByteSplitFault,
    DelayFault,
    DisconnectFault,
    DropFault,
    DuplicateFault,
    ErrorEventFault,
    MalformedFault,
    ReorderFault,
    StallFault,
    Timing,
)

__all__ = ["place_faults"]


def place_faults(
    events: Iterable[bytes],
    *,
    faults: Iterable[Any],
    timing: Timing,
    time_scale: float,
    malformed: Callable[[MalformedFault], bytes],
    error_event: Callable[[ErrorEventFault], bytes],
) -> Iterator[Action]:
    """The writes, waits and disconnect of one stream, in order.

    ``events`` are the encoded events as scripted; faults address them by that index. Waits
    (``timing``, ``stall``, ``delay``) are multiplied by ``time_scale``. ``malformed`` gives
    the bytes that replace an event, ``error_event`` those of an injected error event.
    """
    faults = list(faults)
    by_event: dict[int, list[Any]] = {}
    for fault in faults:
        if hasattr(fault, "at_event"):
            by_event.setdefault(fault.at_event, []).append(fault)
    reorders = [f for f in faults if isinstance(f, ReorderFault)]
    ordered = _reordered(events, reorders) if reorders else enumerate(events)
    actions = _event_actions(
        ordered,
        by_event,
        timing=timing,
        time_scale=time_scale,
        malformed=malformed,
        error_event=error_event,
    )
    split = next((f for f in faults if isinstance(f, ByteSplitFault)), None)
    return _split_writes(actions, split) if split is not None else actions


def _reordered(
    events: Iterable[bytes], reorders: Sequence[ReorderFault]
) -> Iterator[tuple[int, bytes]]:
    """``(index, event)`` in sending order: each reorder swaps its event with the one after it,
    in the order the faults are listed (so two reorders can undo each other)."""
    numbered = enumerate(events)
    low = min(f.at_event for f in reorders)
    # Each swap moves an event by one place, so events beyond this bound never move.
    high = max(f.at_event for f in reorders) + 1 + len(reorders)
    window: list[tuple[int, bytes]] = []
    for index, data in numbered:
        if index < low:
            yield index, data
            continue
        window.append((index, data))
        if index >= high:
            break
    else:
        if not window:
            return
    total = low + len(window) if window[-1][0] < high else None  # None: more events follow
    order = [index for index, _ in window]
    for fault in reorders:
        if total is not None and fault.at_event + 1 >= total:
            continue
        k = order.index(fault.at_event)
        if k + 1 < len(order):
            order[k], order[k + 1] = order[k + 1], order[k]
    data_of = dict(window)
    for index in order:
        yield index, data_of[index]
    yield from numbered


def _event_actions(
    ordered: Iterable[tuple[int, bytes]],
    by_event: dict[int, list[Any]],
    *,
    timing: Timing,
    time_scale: float,
    malformed: Callable[[MalformedFault], bytes],
    error_event: Callable[[ErrorEventFault], bytes],
) -> Iterator[Action]:
    ttft, inter_chunk = timing.ttft, timing.inter_chunk
    if not by_event and ttft == 0 and inter_chunk == 0:
        # Nothing to place: the common case of a long scripted reply, kept tight.
        for index, data in ordered:
            yield Write(data, index)
        return
    for position, (index, data) in enumerate(ordered):
        if position == 0:
            if ttft > 0:
                yield Sleep(ttft * time_scale, "ttft")
        elif inter_chunk > 0:
            yield Sleep(inter_chunk * time_scale, "inter_chunk")
        here = by_event.get(index)
        if here is None:
            yield Write(data, index)
            continue
        for fault in here:
            if isinstance(fault, (StallFault, DelayFault)):
                yield Sleep(fault.seconds * time_scale, fault.kind)
            elif isinstance(fault, ErrorEventFault):
                yield Write(error_event(fault))
        broken = next((f for f in here if isinstance(f, MalformedFault)), None)
        if broken is not None:
            yield Write(malformed(broken), index)
        elif not any(isinstance(f, DropFault) for f in here):
            yield Write(data, index)
            if any(isinstance(f, DuplicateFault) for f in here):
                yield Write(data, index)
        disconnect = next((f for f in here if isinstance(f, DisconnectFault)), None)
        if disconnect is not None:
            yield Disconnect(disconnect.mode)
            return


def _split_writes(actions: Iterable[Action], fault: ByteSplitFault) -> Iterator[Action]:
    """Re-cut each run of back-to-back writes into pieces of the fault's sizes, so frames
    straddle network writes (piece boundaries ignore frame boundaries). Each piece is written
    alone and labelled with the event its first byte belongs to."""
    rng = random.Random(fault.seed)
    sizes = fault.sizes
    cycle = 0

    def next_size() -> int:
        nonlocal cycle
        if sizes is not None:
            size = sizes[cycle % len(sizes)]
            cycle += 1
            return size
        return rng.randint(1, fault.max_size)

    buffer = bytearray()
    offset = 0  # stream position of buffer[0]
    starts: deque[tuple[int, int | None]] = deque()  # (stream position, event) of each write
    size: int | None = None  # drawn for the piece being filled

    def piece(length: int) -> Write:
        nonlocal offset
        while len(starts) > 1 and starts[1][0] <= offset:
            starts.popleft()
        data = bytes(buffer[:length])
        del buffer[:length]
        event = starts[0][1]
        offset += length
        return Write(data, event, alone=True)

    for action in actions:
        if isinstance(action, Write):
            starts.append((offset + len(buffer), action.event))
            buffer += action.data
            while buffer:
                if size is None:
                    size = next_size()
                if len(buffer) < size:
                    break
                yield piece(size)
                size = None
            continue
        if buffer:
            yield piece(len(buffer))  # a run ends: its last piece is short
        size = None
        starts.clear()
        yield action
    if buffer:
        yield piece(len(buffer))
