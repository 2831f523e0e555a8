"""The mutant zoo's scoreboard: each zoo case records its mutant's fate, and the terminal
summary prints the kill rate and which SPEC IDs caught each mutant."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

_ZOO = pytest.StashKey["dict[str, ZooResult]"]()


@dataclass(frozen=True)
class ZooResult:
    """What one mutant's conformance run showed."""

    mutant: str
    killed: bool
    caught_by: tuple[str, ...]
    cases: int
    duration: float


@pytest.fixture
def zoo_record(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``zoo_record(mutant=..., killed=..., caught_by=..., cases=..., duration=...)`` enters
    one mutant's fate on the run-wide scoreboard the terminal summary reports."""
    scoreboard = request.config.stash.setdefault(_ZOO, {})

    def record(**fields: object) -> None:
        result = ZooResult(**fields)  # type: ignore[arg-type]
        scoreboard[result.mutant] = result

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    results = terminalreporter.config.stash.get(_ZOO, {})
    if not results:
        return
    killed = sum(result.killed for result in results.values())
    width = max(len(name) for name in results)
    terminalreporter.write_sep("=", f"mutant zoo: {killed}/{len(results)} killed")
    for name in sorted(results):
        result = results[name]
        verdict = "killed  " if result.killed else "SURVIVED"
        ids = ", ".join(result.caught_by) or "-"
        terminalreporter.write_line(
            f"  {name:<{width}}  {verdict}  {result.cases:>3} cases  "
            f"{result.duration:5.1f} s  caught by {ids}"
        )
