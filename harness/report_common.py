"""What the report writers of ``voicewire run`` share: the verdict, outcome orders, counting,
text helpers and the atomic file write.

The console, JSON and JUnit writers (:mod:`voicewire.harness.report`) and the HTML writer
(:mod:`voicewire.harness.report_html`) both read these; keeping them here lets ``report``
re-export the HTML writer without an import cycle between the two.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from voicewire.harness.atomic_file import write_atomically
from voicewire.harness.requirements import AREAS, REQUIREMENTS
from voicewire.harness.verdicts import CaseResult, Outcome, RequirementResult, RunReport

__all__ = ["verdict"]

# The order outcomes are counted and listed in: what passed first, then what went wrong.
_COUNT_ORDER = (
    Outcome.PASS,
    Outcome.NON_STRICT,
    Outcome.FAIL,
    Outcome.ERROR,
    Outcome.UNSUPPORTED,
)
# The order problem cases are shown in: the ones that fail a run first.
_PROBLEM_ORDER = (Outcome.FAIL, Outcome.ERROR, Outcome.NON_STRICT)


def _check_report(report: object) -> RunReport:
    if not isinstance(report, RunReport):
        raise TypeError(f"report must be a RunReport, got {type(report).__name__}")
    return report


def _case_counts(cases: Iterable[CaseResult]) -> Counter[Outcome]:
    return Counter(case.outcome for case in cases)


def verdict(report: RunReport) -> tuple[str, str]:
    """The run's verdict word and a one-line reason.

    ``CONFORMANT``: no MUST rule broken and nothing errored (NON-STRICT results allowed unless
    the run was strict). ``NOT CONFORMANT``: a FAIL (or a NON-STRICT under ``--strict``).
    ``INCONCLUSIVE``: nothing failed but some case could not be carried out (ERROR), so
    conformance was not shown either way. ``INTERRUPTED``: nothing failed before a Ctrl-C
    stopped the run. ``NOTHING RAN``: no case, or every case
    UNSUPPORTED.
    """
    _check_report(report)
    counts = _case_counts(report.cases)
    ran = sum(counts.values()) - counts[Outcome.UNSUPPORTED]
    if ran == 0:
        if counts[Outcome.UNSUPPORTED]:
            return "NOTHING RAN", (
                f"all {counts[Outcome.UNSUPPORTED]} selected cases need capabilities "
                f"the IUT does not declare"
            )
        return "NOTHING RAN", "no case was selected"
    if counts[Outcome.FAIL]:
        return "NOT CONFORMANT", f"{_plural(counts[Outcome.FAIL], 'case')} broke a MUST rule"
    if report.interrupted:
        # Nothing failed in what ran, but what did not run could have: no verdict either way.
        return "INTERRUPTED", (
            f"stopped by Ctrl-C after {_plural(ran, 'case')}; {report.not_run} not run"
        )
    if report.strict and counts[Outcome.NON_STRICT]:
        return "NOT CONFORMANT", (
            f"{_plural(counts[Outcome.NON_STRICT], 'case')} broke a SHOULD rule (--strict)"
        )
    if counts[Outcome.ERROR]:
        return "INCONCLUSIVE", (
            f"{_plural(counts[Outcome.ERROR], 'case')} could not be carried out (ERROR)"
        )
    if counts[Outcome.NON_STRICT]:
        return "CONFORMANT", (
            f"no MUST rule broken; {_plural(counts[Outcome.NON_STRICT], 'case')} "
            f"broke a SHOULD rule (NON-STRICT; fails only with --strict)"
        )
    return "CONFORMANT", f"every one of {_plural(ran, 'case')} that ran passed"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _duration_text(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds:.2f} s"
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)} min {rest:.0f} s"


def _cases_cell(requirement: RequirementResult) -> str:
    """``passed/citing``: how many of the requirement's cases passed it."""
    return f"{requirement.counts.get(Outcome.PASS.value, 0)}/{len(requirement.cases)}"


def _area_sections(requirements: Sequence[RequirementResult]) -> str:
    sections: list[str] = []
    for requirement in requirements:
        entry = REQUIREMENTS.get(requirement.id)
        if entry is not None and entry.section not in sections:
            sections.append(entry.section)
    return "§" + ", ".join(sections) if sections else ""


def _by_area(report: RunReport) -> list[tuple[str, list[RequirementResult]]]:
    """The requirements grouped by area, areas in catalog order (unknown areas last)."""
    groups: dict[str, list[RequirementResult]] = {}
    for requirement in report.requirements:
        groups.setdefault(requirement.area, []).append(requirement)
    rank = {area: index for index, area in enumerate(AREAS)}
    return sorted(groups.items(), key=lambda item: rank.get(item[0], len(AREAS)))


def _problem_cases(report: RunReport) -> list[CaseResult]:
    return [case for outcome in _PROBLEM_ORDER for case in report.cases if case.outcome is outcome]


def _level_of(rid: str) -> str:
    entry = REQUIREMENTS.get(rid)
    return entry.level.value if entry is not None else "?"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def _first_line(text: str, limit: int = 200) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return _cut(line, limit)


def _journal_time(entry: dict[str, Any]) -> str:
    t = entry.get("t")
    return f"{t:.3f}" if isinstance(t, (int, float)) and not isinstance(t, bool) else "—"


def _journal_data(data: Any) -> str:
    """One journal entry's data on one line: text with its line breaks shown as ``\\n``
    (SSE writes stay readable), anything else as compact JSON."""
    if data is None:
        return ""
    if isinstance(data, str):
        return data.replace("\r", "\\r").replace("\n", "\\n")
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _spell_out_surrogates(text: str, backslash: str = "\\") -> str:
    """``text`` with each lone surrogate (a hostile stream can put one in a message) written
    as ``\\udXXX``: UTF-8 cannot encode it, and JSON parsers reject it even escaped."""
    return _SURROGATE.sub(lambda m: f"{backslash}u{ord(m.group()):04x}", text)


def _write_report_text(path: str | os.PathLike[str], content: str) -> Path:
    return write_atomically(path, _spell_out_surrogates(content).encode("utf-8"))
