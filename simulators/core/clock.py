"""The simulator's clock, injectable so a stream's bytes depend only on the seed and the script.

Three readings, for three purposes:

- :meth:`SimulatorClock.monotonic`: seconds on a monotonic clock, for timing and the journal's
  ``t``;
- :meth:`SimulatorClock.created`: the epoch seconds written into payloads (an LLM chunk's
  ``created``). By default a fixed instant, so two runs of one scenario send identical bytes;
  :class:`WallClock` writes the real time instead;
- :meth:`SimulatorClock.wall`: the real Unix time, against which access tokens are checked
  (clients mint them from their own wall clock).
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

__all__ = ["DEFAULT_EPOCH", "Clock", "SimulatorClock", "WallClock"]

DEFAULT_EPOCH = 1767225600
"""2026-01-01T00:00:00Z: the ``created`` of every payload unless a clock says otherwise."""


@runtime_checkable
class Clock(Protocol):
    """What the simulator core reads time from."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (only differences mean anything)."""
        ...

    def created(self) -> int:
        """Epoch seconds to write into payloads."""
        ...

    def wall(self) -> float:
        """The real Unix time, for checking token lifetimes."""
        ...


class SimulatorClock:
    """The default clock: real monotonic time, a fixed ``created`` (``epoch``)."""

    def __init__(self, epoch: int = DEFAULT_EPOCH) -> None:
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"epoch must be a non-negative int, got {epoch!r}")
        self.epoch = epoch

    # The builtin itself, not a method around it: the journal reads it once per event.
    monotonic = staticmethod(time.monotonic)

    def created(self) -> int:
        """Always :attr:`epoch`."""
        return self.epoch

    def wall(self) -> float:
        """:func:`time.time`."""
        return time.time()

    def __repr__(self) -> str:
        return f"SimulatorClock(epoch={self.epoch})"


class WallClock(SimulatorClock):
    """Payloads carry the real time, as a production server's do (streams then differ in
    ``created`` from one second to the next)."""

    def __init__(self) -> None:
        super().__init__(0)

    def created(self) -> int:
        """The current Unix time, in whole seconds."""
        return int(time.time())

    def __repr__(self) -> str:
        return "WallClock()"
