"""What ``voicewire run`` prints while it runs: plain lines off a terminal, a live line on one."""

from __future__ import annotations

import io

from voicewire.harness.progress import LiveProgress, PlainProgress, progress_for
from voicewire.harness.verdicts import CaseResult, Outcome


def _case(number: int, outcome: Outcome = Outcome.PASS) -> CaseResult:
    return CaseResult(
        nodeid=f"suites/llm/test_x.py::test_{number}",
        name=f"test_{number}",
        suite="llm",
        direction="client",
        spec_ids=["LLM-TC-1"],
        outcome=outcome,
    )


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_progress_prints_every_tenth_and_each_case_that_did_not_pass():
    stream = io.StringIO()
    progress = PlainProgress(stream)
    progress.run_started("2026-12-01T00:00:00+00:00", "serial")
    progress.collected(20)
    for number in range(20):
        progress.case_started(f"suites/llm/test_x.py::test_{number}")
        progress.case_finished(_case(number, Outcome.FAIL if number == 6 else Outcome.PASS))
    progress.close()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "voicewire: running 20 cases"
    assert "voicewire: FAIL suites/llm/test_x.py::test_6" in lines
    done = [line for line in lines if "cases done" in line]
    assert [line.split()[1] for line in done] == [f"{n}/20" for n in range(2, 21, 2)]
    assert done[-1].startswith("voicewire: 20/20 cases done, 1 not passed")
    assert lines.index("voicewire: FAIL suites/llm/test_x.py::test_6") < lines.index(done[3])


def test_unsupported_cases_are_not_problems():
    stream = io.StringIO()
    progress = PlainProgress(stream)
    progress.collected(1)
    progress.case_finished(_case(0, Outcome.UNSUPPORTED))
    assert stream.getvalue().splitlines()[-1].startswith("voicewire: 1/1 cases done, 0 not passed")


def test_a_terminal_gets_the_live_line_with_counts_and_the_running_case():
    terminal = _Terminal()
    progress = progress_for(terminal)
    assert isinstance(progress, LiveProgress)
    assert terminal.getvalue() == ""  # nothing drawn before the header is out
    progress.run_started("2026-12-01T00:00:00+00:00", "serial")
    progress.collected(3)
    progress.case_started("suites/llm/test_x.py::test_0")
    progress.case_finished(_case(0, Outcome.ERROR))
    progress.case_started("suites/llm/test_x.py::" + "test_" + "n" * 60)
    progress._progress.refresh()
    progress.close()
    shown = terminal.getvalue()
    assert "ERROR suites/llm/test_x.py::test_0" in shown  # stays above the live line
    assert "1/3" in shown and "1 not passed" in shown
    assert "test_" + "n" * 42 + "…" in shown and "n" * 43 not in shown
    assert isinstance(progress_for(io.StringIO()), PlainProgress)
