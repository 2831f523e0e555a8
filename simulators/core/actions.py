"""What a simulated stream does, as data, and the one walk that turns it into I/O steps.

A protocol module describes a stream as an iterable of actions, produced lazily:

- :class:`Write`: bytes to send, labelled with the scripted event they belong to;
- :class:`Sleep`: a silence (already time-scaled);
- :class:`Disconnect`: end the connection, cleanly or abruptly.

:func:`walk` is shared by every shell (the aiohttp server and the in-process respx one). It
journals each write and each sleep and yields what the shell must do, nothing more: a
``bytes`` batch to write, a ``float`` number of seconds to wait, or the :class:`Disconnect`.
Writes due at the same instant (no sleep between them) are coalesced into one batch, so a
stream without delays costs a few transport writes instead of one per event; the first batch
is kept small so the first byte leaves early, later ones grow to :data:`BATCH_BYTES`. A write
marked ``alone`` (a ``byte_split`` piece) is never merged: it is its own transport write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Literal, NamedTuple, Protocol

__all__ = [
    "BATCH_BYTES",
    "FIRST_BATCH_BYTES",
    "Action",
    "Disconnect",
    "Sleep",
    "Step",
    "StreamJournal",
    "Write",
    "walk",
]

FIRST_BATCH_BYTES = 512
"""The first batch goes out once it holds this much: an event or two, so the first byte is early."""
BATCH_BYTES = 64 * 1024
"""Later batches hold up to this much (a single larger write goes out on its own)."""


# Named tuples rather than frozen dataclasses: a long stream makes one Write per event, and a
# named tuple is built three times faster while being just as immutable.


class Write(NamedTuple):
    """Write ``data``; ``event`` is the scripted event index it belongs to (None: injected);
    ``alone``: never merge it with other writes (a deliberate network-level split)."""

    data: bytes
    event: int | None = None
    alone: bool = False


class Sleep(NamedTuple):
    """Wait ``seconds`` (already time-scaled); ``reason`` is for the journal."""

    seconds: float
    reason: str


class Disconnect(NamedTuple):
    """End the connection: ``close`` cleanly or ``reset`` abruptly."""

    mode: Literal["close", "reset"]


Action = Write | Sleep | Disconnect
Step = bytes | float | Disconnect
"""What :func:`walk` yields: bytes to write, seconds to wait, or the disconnect to perform."""


class StreamJournal(Protocol):
    """Where :func:`walk` journals (an exchange of the simulator state provides it)."""

    def writer(self, kind: str) -> Callable[[bytes, int | None], None]:
        """A function journaling bytes written, with their event index, as ``out`` frames
        of ``kind`` (called once per write: it should be cheap)."""
        ...

    def frame(self, direction: Literal["in", "out"], kind: str, data: object = None) -> None:
        """Journal one frame."""
        ...

    def note(self, kind: str, data: object = None) -> None:
        """Journal one note."""
        ...


def walk(
    actions: Iterable[Action],
    *,
    journal: StreamJournal | None,
    write_kind: str,
    first_batch: int = FIRST_BATCH_BYTES,
    batch: int = BATCH_BYTES,
) -> Iterator[Step]:
    """Execute ``actions`` as far as bookkeeping goes; yield the I/O for the shell to perform.

    Each :class:`Write` is journaled as an ``out`` frame of ``write_kind`` (one entry per write,
    whatever batch it travels in), each :class:`Sleep` as a ``sleep`` note, a
    :class:`Disconnect` as an ``out`` ``disconnect`` frame; ``journal=None`` journals nothing.
    Batching never reorders bytes and never delays a write past a sleep or a disconnect: the
    pending batch is yielded first (a sleep of zero seconds is journaled, but yields nothing).
    Actions are pulled one at a time, so a lazily produced stream is planned only as far as
    it is sent.
    """
    record = journal.writer(write_kind) if journal is not None else None
    pending: list[bytes] = []
    size = 0
    limit = first_batch
    for action in actions:
        if isinstance(action, Write):
            data = action.data
            if record is not None:
                record(data, action.event)
            if action.alone:
                if pending:
                    yield b"".join(pending)
                    pending, size = [], 0
                limit = batch
                yield data
                continue
            if pending and size + len(data) > limit:
                yield b"".join(pending)
                pending, size, limit = [], 0, batch
            pending.append(data)
            size += len(data)
            if size >= limit:
                yield b"".join(pending)
                pending, size, limit = [], 0, batch
        elif isinstance(action, Sleep):
            if journal is not None:
                journal.note("sleep", {"seconds": action.seconds, "reason": action.reason})
            if action.seconds > 0:
                # A zero wait (a delay scaled to nothing) leaves the writes around it due at
                # the same instant: they stay in one batch.
                if pending:
                    yield b"".join(pending)
                    pending, size = [], 0
                yield action.seconds
        elif isinstance(action, Disconnect):
            if pending:
                yield b"".join(pending)
                pending, size = [], 0
            if journal is not None:
                journal.frame("out", "disconnect", {"mode": action.mode})
            yield action
            return
        else:
            raise TypeError(f"not an action: {action!r}")
    if pending:
        yield b"".join(pending)
