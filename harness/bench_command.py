"""What every ``voicewire bench`` target does around its measurement: check where the JSON
goes before measuring, run the measurement (its progress on stderr), print the report, write
the JSON atomically, and turn the verdict into the exit code; and the CPU reading the
benchmarks share."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Protocol, TypeVar

from voicewire.harness.atomic_file import write_atomically

__all__ = ["BenchResult", "process_cpu", "run_benchmark"]


class BenchResult(Protocol):
    """A benchmark's figures."""

    def to_json(self) -> dict[str, Any]:
        """Every figure, as JSON data."""
        ...


R = TypeVar("R", bound=BenchResult)


def run_benchmark(
    prog: str,
    json_path: Path | None,
    measure: Callable[[Callable[[str], None]], Coroutine[Any, Any, R]],
    report: Callable[[R], str],
    met: Callable[[R], bool],
) -> int:
    """Run one benchmark command ``prog`` (``voicewire bench stt``): ``measure(say)`` on a
    fresh event loop, ``say`` printing its progress on stderr; ``report(result)`` on stdout;
    the figures to ``json_path`` if given. Exit code: 0 when ``met(result)``, 1 when not, 2
    when it could not measure or write the JSON file (one line on stderr says why)."""
    if json_path is not None and not json_path.parent.is_dir():
        print(f"{prog}: --json {json_path}: no directory {json_path.parent}", file=sys.stderr)
        return 2
    try:
        result = asyncio.run(measure(lambda message: print(f"{prog}: {message}", file=sys.stderr)))
    except (RuntimeError, OSError, EOFError, ValueError, asyncio.TimeoutError) as exc:
        print(f"{prog}: could not measure: {exc}", file=sys.stderr)
        return 2
    print(report(result))
    if json_path is not None:
        try:
            text = json.dumps(result.to_json(), indent=2, allow_nan=False) + "\n"
            write_atomically(json_path, text)
        except (OSError, ValueError) as exc:
            print(f"{prog}: --json {json_path}: {exc}", file=sys.stderr)
            return 2
        print(f"results written to {json_path}")
    return 0 if met(result) else 1


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) process ``pid`` has used, from ``/proc`` (None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # Fields 14 and 15 of stat (utime, stime), counted after the ")" that ends the name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
