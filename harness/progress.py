"""What ``voicewire run`` shows while the suites run.

The runner reports to a :class:`RunObserver` (how many cases were collected, which one started,
each verdict as it arrives, also across xdist workers). Two observers render it on stderr, so
stdout stays the report alone:

- :class:`LiveProgress` on a terminal: one live line (cases done / total, cases that did not
  pass so far, the running case), drawn with ``rich`` (kept up to date and handles terminal
  widths, redraws and cleanup better than hand-written ANSI codes);
- :class:`PlainProgress` elsewhere (CI logs, pipes): a plain line at every tenth of the run and
  one for each case that did not pass, when it happens.
"""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO

from voicewire.harness.verdicts import CaseResult, Outcome

__all__ = ["LiveProgress", "PlainProgress", "RunObserver", "progress_for"]


class RunObserver(Protocol):
    """Receives the run's progress from the runner (in the controlling process)."""

    def run_started(self, started_at: str, parallelism: str) -> None:
        """The IUT started and the suites are about to run (``started_at``: ISO 8601, UTC;
        ``parallelism``: serial or the workers, in words)."""

    def collected(self, total: int) -> None:
        """The number of cases the run selected (called again if it changes)."""

    def case_started(self, nodeid: str) -> None:
        """A case began (under xdist: on some worker)."""

    def case_finished(self, case: CaseResult) -> None:
        """A case's verdict arrived."""

    def close(self) -> None:
        """The run ended (normally, stopped, or interrupted): release the display."""


def _not_passed(case: CaseResult) -> bool:
    return case.outcome not in (Outcome.PASS, Outcome.UNSUPPORTED)


class PlainProgress:
    """Plain lines, for logs: every tenth of the run, and each case that did not pass."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.total = 0
        self.done = 0
        self.problems = 0
        self._next_tenth = 1
        self._start = time.monotonic()

    def _line(self, text: str) -> None:
        self.stream.write(f"voicewire: {text}\n")
        self.stream.flush()

    def run_started(self, started_at: str, parallelism: str) -> None:
        self._start = time.monotonic()

    def collected(self, total: int) -> None:
        if total != self.total:
            self.total = total
            self._line(f"running {total} case{'' if total == 1 else 's'}")

    def case_started(self, nodeid: str) -> None:
        return None

    def case_finished(self, case: CaseResult) -> None:
        self.done += 1
        if _not_passed(case):
            self.problems += 1
            self._line(f"{case.outcome.value} {case.nodeid}")
        if self.total and self.done * 10 >= self._next_tenth * self.total:
            while self.done * 10 >= self._next_tenth * self.total:
                self._next_tenth += 1
            elapsed = time.monotonic() - self._start
            self._line(
                f"{self.done}/{self.total} cases done, {self.problems} not passed ({elapsed:.0f} s)"
            )

    def close(self) -> None:
        return None


_NAME_WIDTH = 48
"""The running case's name is cut to this, so the bar and counts keep their room."""


class LiveProgress:
    """One live line on a terminal: done / total, failures so far, the running case."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.problems = 0
        self._progress = Progress(
            TextColumn("[bold]voicewire[/]"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TextColumn("{task.fields[problems]}"),
            TextColumn("[dim]{task.description}", markup=True),
            console=Console(file=stream),
            transient=True,
        )
        self._task = self._progress.add_task("collecting", total=None, problems="")

    def run_started(self, started_at: str, parallelism: str) -> None:
        # Only now: the report's header goes to the terminal first, above the live line.
        self._progress.start()

    def collected(self, total: int) -> None:
        self._progress.update(self._task, total=total)

    def case_started(self, nodeid: str) -> None:
        from rich.markup import escape

        name = nodeid.rsplit("::", 1)[-1]
        if len(name) > _NAME_WIDTH:
            name = name[: _NAME_WIDTH - 1] + "…"
        self._progress.update(self._task, description=escape(name))

    def case_finished(self, case: CaseResult) -> None:
        if _not_passed(case):
            self.problems += 1
            # Printed above the live line, so a failure stays on screen when the line moves on.
            self._progress.console.print(
                f"{case.outcome.value} {case.nodeid}", markup=False, highlight=False
            )
        problems = f"[red]{self.problems} not passed[/]" if self.problems else "0 not passed"
        self._progress.update(self._task, advance=1, problems=problems)

    def close(self) -> None:
        self._progress.stop()


def progress_for(stream: TextIO | None = None) -> RunObserver:
    """A live line on a terminal, plain lines otherwise."""
    stream = sys.stderr if stream is None else stream
    if stream.isatty():
        return LiveProgress(stream)
    return PlainProgress(stream)
