"""Report writers of ``voicewire run``: the console table, JSON, JUnit XML and HTML.

Every writer reads one :class:`voicewire.harness.verdicts.RunReport` and nothing else, so a report
loaded back from ``--json`` renders exactly like the run that made it.

- :func:`render_console`: the per-requirement table the terminal shows, then every case that
  did not pass (its failed expectation, broken IDs and the replay command), a summary line
  and the verdict.
- :func:`write_json_report`: the report model as JSON; its schema is ``docs/report.schema.json``.
- :func:`write_junit_report`: JUnit XML for CI dashboards, one ``<testsuite>`` per voicewire suite.
- :func:`write_html_report`: one self-contained page (inline CSS, no external resources).

Files are written atomically: a reader (a CI uploader, a browser reloading the page) sees
the old report or the new one, never half of one.
"""

from __future__ import annotations

import html
import json
import os
import re
import textwrap
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from voicewire.harness.atomic_file import write_atomically
from voicewire.harness.events import event_json_schema
from voicewire.harness.protocols import TABLE
from voicewire.harness.requirements import AREAS, REQUIREMENTS
from voicewire.harness.verdicts import (
    CaseResult,
    Outcome,
    RequirementResult,
    RunReport,
    report_json_schema,
)

__all__ = [
    "SCHEMA_FILES",
    "render_console",
    "render_html",
    "schema_documents",
    "verdict",
    "write_html_report",
    "write_json_report",
    "write_junit_report",
    "write_schemas",
]

SCHEMA_FILES = ("report.schema.json", "events.schema.json")
"""The schema files :func:`write_schemas` keeps in ``docs/``."""

CONSOLE_WIDTH = 100
MESSAGE_LINES = 20
"""Lines of a failed expectation the console shows, once wrapped (all with ``verbose``)."""
SCENARIO_LINES = 30
JOURNAL_DATA_CHARS = 400
"""Characters of one journal entry's data the HTML shows."""

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

_ANSI = {
    Outcome.PASS: "\x1b[32m",
    Outcome.NON_STRICT: "\x1b[33m",
    Outcome.FAIL: "\x1b[1;31m",
    Outcome.ERROR: "\x1b[1;35m",
    Outcome.UNSUPPORTED: "\x1b[2m",
}
_ANSI_RESET = "\x1b[0m"
# While the console text is built, colors are private-use marks: the text is then cleared of
# control characters (an IUT's message must not drive the terminal), and only then do the
# marks become escape sequences.
_MARKS = {outcome: chr(0xE000 + index) for index, outcome in enumerate(_ANSI)}
_MARK_RESET = chr(0xE000 + len(_ANSI))
_CONSOLE_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


# -- shared ---------------------------------------------------------------------------------


def _check_report(report: object) -> RunReport:
    if not isinstance(report, RunReport):
        raise TypeError(f"report must be a RunReport, got {type(report).__name__}")
    return report


def _check_flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return value


def _case_counts(cases: Iterable[CaseResult]) -> Counter[Outcome]:
    return Counter(case.outcome for case in cases)


def _counts_text(counts: Counter[Outcome]) -> str:
    return ", ".join(f"{counts[o]} {o.value}" for o in _COUNT_ORDER if counts[o])


def verdict(report: RunReport) -> tuple[str, str]:
    """The run's verdict word and a one-line reason.

    ``CONFORMANT``: no MUST rule broken and nothing errored (NON-STRICT results allowed unless
    the run was strict). ``NOT CONFORMANT``: a FAIL (or a NON-STRICT under ``--strict``).
    ``INCONCLUSIVE``: nothing failed but some case could not be carried out (ERROR), so
    conformance was not shown either way. ``NOTHING RAN``: no case, or every case
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


def _trim_lines(text: str, limit: int | None, *, wrap: int | None = None) -> tuple[list[str], int]:
    """``text``'s lines, the first ``limit`` of them (all if None), and how many were left
    off. With ``wrap``, long lines are first wrapped to that width, continuation lines
    indented under the original line's indentation."""
    lines = text.rstrip("\n").splitlines() or [""]
    if wrap is not None:
        wrapped: list[str] = []
        for line in lines:
            indent = line[: len(line) - len(line.lstrip())]
            wrapped.extend(
                textwrap.wrap(
                    line,
                    width=wrap,
                    subsequent_indent=indent + "  ",
                    replace_whitespace=False,
                    drop_whitespace=True,
                )
                or [line]
            )
        lines = wrapped
    if limit is None:
        return lines, 0
    return lines[:limit], max(0, len(lines) - limit)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


# -- console --------------------------------------------------------------------------------


def render_console(report: RunReport, *, color: bool = False, verbose: bool = False) -> str:
    """The terminal report: per-requirement table grouped by area, the cases that did not
    pass, an UNSUPPORTED summary, a summary line and the verdict.

    ``color`` puts ANSI colors on the result column (and the verdict word) only; ``verbose``
    shows failed expectations and scenarios in full, each UNSUPPORTED case, and each problem
    case's journal excerpt.
    """
    _check_report(report)
    _check_flag("color", color)
    _check_flag("verbose", verbose)

    def paint(outcome: Outcome, text: str) -> str:
        return f"{_MARKS[outcome]}{text}{_MARK_RESET}" if color else text

    out: list[str] = []
    strict = "on" if report.strict else "off"
    out.append(
        f"voicewire run · iut {report.iut} · seed {report.seed} · "
        f"profile {report.hypothesis_profile} · strict {strict} · {report.started_at}"
    )
    out.append("")
    out.extend(_console_table(report, paint))
    out.extend(_console_problems(report, paint, verbose=verbose))
    out.extend(_console_unsupported(report, paint, verbose=verbose))
    out.append("")
    out.append(_summary_line(report))
    word, reason = verdict(report)
    word_outcome = {
        "CONFORMANT": Outcome.PASS,
        "NOT CONFORMANT": Outcome.FAIL,
        "INCONCLUSIVE": Outcome.ERROR,
    }.get(word, Outcome.UNSUPPORTED)
    out.append(f"verdict: {paint(word_outcome, word)} — {reason} · exit {report.exit_code}")
    text = _CONSOLE_CONTROL.sub(_spelled_out, "\n".join(out) + "\n")
    for outcome, mark in _MARKS.items():
        text = text.replace(mark, _ANSI[outcome] if color else "")
    return text.replace(_MARK_RESET, _ANSI_RESET if color else "")


def _console_table(report: RunReport, paint: Callable[[Outcome, str], str]) -> list[str]:
    if not report.requirements:
        return ["(no requirement was checked)"]
    id_width = max(len("ID"), *(len(r.id) for r in report.requirements))
    cases_width = max(len("CASES"), *(len(_cases_cell(r)) for r in report.requirements))
    result_width = len("UNSUPPORTED")
    # "  ID  LEVEL   DIR      RESULT       CASES  TITLE"
    fixed = 2 + id_width + 2 + 6 + 2 + 7 + 2 + result_width + 2 + cases_width + 2
    title_width = max(20, CONSOLE_WIDTH - fixed)

    def row(rid: str, level: str, direction: str, result: str, cases: str, title: str) -> str:
        return (
            f"  {rid:<{id_width}}  {level:<6}  {direction:<7}  {result}  "
            f"{cases:>{cases_width}}  {title}"
        ).rstrip()

    lines = [row("ID", "LEVEL", "DIR", f"{'RESULT':<{result_width}}", "CASES", "TITLE")]
    for area, requirements in _by_area(report):
        heading = f"{area} {_area_sections(requirements)} "
        lines.append(heading + "─" * max(3, CONSOLE_WIDTH - len(heading)))
        for requirement in requirements:
            # Pad before painting: escape codes must not count towards the column width.
            result = paint(requirement.outcome, requirement.outcome.value)
            result += " " * (result_width - len(requirement.outcome.value))
            lines.append(
                row(
                    requirement.id,
                    requirement.level,
                    requirement.direction,
                    result,
                    _cases_cell(requirement),
                    _cut(requirement.title, title_width),
                )
            )
    return lines


def _console_problems(
    report: RunReport, paint: Callable[[Outcome, str], str], *, verbose: bool
) -> list[str]:
    problems = _problem_cases(report)
    if not problems:
        return []
    lines = ["", f"Cases that did not pass ({len(problems)})"]
    limit = None if verbose else MESSAGE_LINES
    for case in problems:
        lines.append("")
        lines.append(f"{paint(case.outcome, case.outcome.value)}  {case.nodeid}")
        if case.broken_ids:
            broken = ", ".join(f"{rid} ({_level_of(rid)})" for rid in case.broken_ids)
            lines.append(f"    broke:    {broken}")
        elif case.outcome is Outcome.ERROR:
            lines.append("    broke:    nothing shown — the case could not be carried out")
        if case.spec_ids:
            lines.append(f"    checks:   {', '.join(case.spec_ids)}")
        # Wrapped, not cut: the telling part of an expectation is often at the end of a line.
        message_lines, more = _trim_lines(
            case.message or "(no message)", limit, wrap=CONSOLE_WIDTH - 6
        )
        lines.extend(f"    │ {line}".rstrip() for line in message_lines)
        if more:
            lines.append(f"    │ … {_plural(more, 'more line')} (--verbose, --html or --json)")
        if case.repro is not None:
            lines.append(f"    replay:   {case.repro.command}")
            if case.repro.scenario_yaml:
                lines.append("    scenario (YAML, for voicewire serve --scenario):")
                yaml_limit = None if verbose else SCENARIO_LINES
                yaml_lines, more = _trim_lines(case.repro.scenario_yaml, yaml_limit)
                lines.extend(f"      {line}".rstrip() for line in yaml_lines)
                if more:
                    lines.append(f"      # … {_plural(more, 'more line')} in the replay file")
        if verbose and case.journal:
            lines.append(f"    journal (last {len(case.journal)} entries):")
            lines.extend(
                f"      {_journal_time(e):>9}  {e.get('direction', '')!s:<4}  "
                f"{e.get('kind', '')!s:<14}  {_cut(_journal_data(e.get('data')), 60)}"
                for e in case.journal
            )
    return lines


def _console_unsupported(
    report: RunReport, paint: Callable[[Outcome, str], str], *, verbose: bool
) -> list[str]:
    unsupported = [case for case in report.cases if case.outcome is Outcome.UNSUPPORTED]
    if not unsupported:
        return []
    by_capability: dict[str, list[CaseResult]] = {}
    for case in unsupported:
        by_capability.setdefault(case.capability or "(no capability)", []).append(case)
    needs = ", ".join(f"{cap} ({len(cases)})" for cap, cases in sorted(by_capability.items()))
    lines = [
        "",
        f"{paint(Outcome.UNSUPPORTED, 'UNSUPPORTED')}  {_plural(len(unsupported), 'case')} "
        f"need capabilities the IUT does not declare: {needs}",
    ]
    if verbose:
        for capability, cases in sorted(by_capability.items()):
            lines.append(f"    {capability}:")
            lines.extend(f"      {case.nodeid}" for case in cases)
    return lines


def _summary_line(report: RunReport) -> str:
    counts = _case_counts(report.cases)
    cases = _plural(len(report.cases), "case")
    if counts:
        cases += f" — {_counts_text(counts)}"
    if report.not_run:
        cases += f" · {report.not_run} not run (stopped at the first failure)"
    return (
        f"voicewire: {cases} · {_plural(len(report.requirements), 'requirement')} · "
        f"seed {report.seed} · iut {report.iut} · {_duration_text(report.duration)}"
    )


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


# -- atomic files ---------------------------------------------------------------------------


_SURROGATE = re.compile("[\ud800-\udfff]")


def _spell_out_surrogates(text: str, backslash: str = "\\") -> str:
    """``text`` with each lone surrogate (a hostile stream can put one in a message) written
    as ``\\udXXX``: UTF-8 cannot encode it, and JSON parsers reject it even escaped."""
    return _SURROGATE.sub(lambda m: f"{backslash}u{ord(m.group()):04x}", text)


def _write_report_text(path: str | os.PathLike[str], content: str) -> Path:
    return write_atomically(path, _spell_out_surrogates(content).encode("utf-8"))


# -- JSON -----------------------------------------------------------------------------------


def _report_json(report: RunReport) -> str:
    text = json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    # Inside JSON strings the backslash itself must be escaped.
    return _spell_out_surrogates(text, backslash="\\\\")


def write_json_report(report: RunReport, path: str | os.PathLike[str]) -> Path:
    """Write ``report`` as indented JSON (``voicewire run --json``); returns the path.

    The document validates against
    :func:`voicewire.harness.verdicts.report_json_schema` and loads back with
    ``RunReport.model_validate_json``.
    """
    _check_report(report)
    return _write_report_text(path, _report_json(report))


def schema_documents() -> dict[str, dict[str, Any]]:
    """The JSON schemas voicewire publishes, by the file name ``docs/`` keeps them under."""
    return {
        "report.schema.json": report_json_schema(),
        "events.schema.json": event_json_schema(TABLE),
    }


def write_schemas(directory: str | os.PathLike[str]) -> list[Path]:
    """(Re)write the committed schema copies (``docs/*.schema.json``) into ``directory``."""
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"directory must be a str or os.PathLike, got {type(directory).__name__}")
    return [
        _write_report_text(
            Path(os.fspath(directory)) / name,
            json.dumps(schema, indent=2, ensure_ascii=False) + "\n",
        )
        for name, schema in schema_documents().items()
    ]


# -- JUnit XML ------------------------------------------------------------------------------

# Characters XML 1.0 cannot carry at all, even escaped (ANSI escapes in a message, NULs in a
# hostile stream); they are spelled out instead so the file still parses.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _XML_ILLEGAL.sub(_spelled_out, text)


def _spelled_out(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _first_line(text: str, limit: int = 200) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return _cut(line, limit)


def _classname(case: CaseResult) -> str:
    """``suites/llm/test_x.py::TestY::test_z[p]`` → ``voicewire.suites.llm.test_x.TestY``."""
    parts = case.nodeid.split("::")
    module = "voicewire." + parts[0].removesuffix(".py").replace("/", ".").replace("\\", ".")
    return ".".join([module, *parts[1:-1]]) if len(parts) > 1 else case.suite


def _case_details(case: CaseResult) -> str:
    text = case.message
    if case.broken_ids:
        text = f"broke: {', '.join(case.broken_ids)}\n\n{text}"
    if case.repro is not None:
        text += f"\n\nreplay: {case.repro.command}"
        if case.repro.scenario_yaml:
            text += f"\n\nscenario (YAML):\n{case.repro.scenario_yaml}"
    return text


def _junit_counts(cases: Sequence[CaseResult], *, strict: bool) -> dict[str, str]:
    counts = _case_counts(cases)
    failures = counts[Outcome.FAIL] + (counts[Outcome.NON_STRICT] if strict else 0)
    return {
        "tests": str(len(cases)),
        "failures": str(failures),
        "errors": str(counts[Outcome.ERROR]),
        "skipped": str(counts[Outcome.UNSUPPORTED]),
        "time": f"{sum(case.duration for case in cases):.3f}",
    }


def _junit_testcase(case: CaseResult, *, strict: bool) -> ET.Element:
    element = ET.Element(
        "testcase",
        {
            "classname": _xml_text(_classname(case)),
            "name": _xml_text(case.name),
            "time": f"{case.duration:.3f}",
        },
    )
    properties = ET.SubElement(element, "properties")
    values = [
        ("voicewire.outcome", case.outcome.value),
        ("voicewire.spec", " ".join(case.spec_ids)),
    ]
    if case.broken_ids:
        values.append(("voicewire.broken", " ".join(case.broken_ids)))
    if case.capability:
        values.append(("voicewire.capability", case.capability))
    if case.repro is not None:
        values.append(("voicewire.replay", case.repro.command))
    for name, value in values:
        ET.SubElement(properties, "property", {"name": name, "value": _xml_text(value)})

    details = _xml_text(_case_details(case))
    summary = _xml_text(_first_line(case.message))
    if case.outcome is Outcome.FAIL or (case.outcome is Outcome.NON_STRICT and strict):
        child = ET.SubElement(element, "failure", {"message": summary, "type": case.outcome.value})
        child.text = details
    elif case.outcome is Outcome.ERROR:
        child = ET.SubElement(element, "error", {"message": summary, "type": "ERROR"})
        child.text = details
    elif case.outcome is Outcome.UNSUPPORTED:
        reason = case.message or f"the IUT does not declare {case.capability or 'a capability'}"
        if not reason.startswith(Outcome.UNSUPPORTED.value):
            reason = f"{Outcome.UNSUPPORTED.value}: {reason}"
        ET.SubElement(element, "skipped", {"message": _xml_text(reason)})
    elif case.outcome is Outcome.NON_STRICT:
        # A broken SHOULD does not fail the run without --strict: a passing testcase that
        # still says what it broke.
        out = ET.SubElement(element, "system-out")
        out.text = _xml_text(f"NON-STRICT (a SHOULD rule broken)\n{_case_details(case)}")
    return element


def _junit_document(report: RunReport) -> str:
    root = ET.Element(
        "testsuites",
        {
            "name": f"voicewire conformance: {_xml_text(report.iut)}",
            **_junit_counts(report.cases, strict=report.strict),
        },
    )
    root.set("time", f"{report.duration:.3f}")
    root.set("timestamp", _xml_text(report.started_at))
    suites: dict[str, list[CaseResult]] = {}
    for case in report.cases:
        suites.setdefault(case.suite, []).append(case)
    word, _ = verdict(report)
    run_properties = [
        ("voicewire.iut", report.iut),
        ("voicewire.seed", str(report.seed)),
        ("voicewire.hypothesis_profile", report.hypothesis_profile),
        ("voicewire.strict", "true" if report.strict else "false"),
        ("voicewire.verdict", word),
    ]
    for name, cases in suites.items():
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": _xml_text(name),
                **_junit_counts(cases, strict=report.strict),
                "timestamp": _xml_text(report.started_at),
            },
        )
        properties = ET.SubElement(suite, "properties")
        for key, value in run_properties:
            ET.SubElement(properties, "property", {"name": key, "value": _xml_text(value)})
        for case in cases:
            suite.append(_junit_testcase(case, strict=report.strict))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit_report(report: RunReport, path: str | os.PathLike[str]) -> Path:
    """Write ``report`` as JUnit XML; returns the path.

    One ``<testsuite>`` per voicewire suite. FAIL is a ``<failure type="FAIL">``, ERROR an
    ``<error>``, UNSUPPORTED a ``<skipped>``. NON-STRICT passes (property
    ``voicewire.outcome`` and a ``<system-out>`` note say what it broke) unless the run was
    strict, where it is a ``<failure type="NON-STRICT">``, so a CI dashboard agrees with the
    exit code. Every testcase carries properties ``voicewire.outcome`` and ``voicewire.spec``.
    """
    _check_report(report)
    return _write_report_text(path, _junit_document(report))


# -- HTML -----------------------------------------------------------------------------------

_CSS = """
:root { --pass:#1a7f37; --nonstrict:#9a6700; --fail:#cf222e; --error:#8250df;
  --unsupported:#6e7781; --line:#d0d7de; --soft:#f6f8fa; --text:#1f2328; --muted:#57606a; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
  color: var(--text); background: #fff; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 36px 0 10px; padding-bottom: 6px;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 0; font-weight: 600; word-break: break-all; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 12.5px; }
a { color: #0969da; text-decoration: none; } a:hover { text-decoration: underline; }
.muted { color: var(--muted); }
header { display: flex; gap: 24px; align-items: flex-start; justify-content: space-between;
  padding-bottom: 18px; border-bottom: 1px solid var(--line); }
.verdict { border-radius: 8px; padding: 12px 18px; color: #fff; min-width: 260px; }
.verdict strong { display: block; font-size: 20px; letter-spacing: .02em; }
.verdict span { font-size: 13px; opacity: .95; }
.v-pass { background: var(--pass); } .v-fail { background: var(--fail); }
.v-error { background: var(--error); } .v-unsupported { background: var(--unsupported); }
dl.meta { display: grid; grid-template-columns: max-content 1fr max-content 1fr; gap: 3px 14px;
  margin: 12px 0 0; }
dl.meta dt { color: var(--muted); } dl.meta dd { margin: 0; }
.totals { display: flex; flex-wrap: wrap; gap: 8px; margin: 16px 0 0; }
.chip { border: 1px solid var(--line); border-radius: 16px; padding: 3px 12px;
  background: var(--soft); }
.chip b { font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { background: var(--soft); font-weight: 600; font-size: 12.5px; color: var(--muted); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.area td { background: #eef1f4; font-weight: 600; padding-top: 8px; }
.zero { color: #c0c6cc; }
.badge { display: inline-block; min-width: 92px; text-align: center; border-radius: 4px;
  padding: 1px 6px; font-size: 11.5px; font-weight: 700; color: #fff; letter-spacing: .03em; }
.o-PASS { background: var(--pass); } .o-NON-STRICT { background: var(--nonstrict); }
.o-FAIL { background: var(--fail); } .o-ERROR { background: var(--error); }
.o-UNSUPPORTED { background: var(--unsupported); }
.dot { display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 4px; }
.caselinks a { display: inline-block; margin: 0 10px 2px 0; font-size: 12.5px;
  white-space: nowrap; }
.id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px;
  white-space: nowrap; }
.broken { color: var(--fail); font-weight: 700; }
section.case { border: 1px solid var(--line); border-left: 5px solid var(--line);
  border-radius: 6px; padding: 12px 16px; margin: 14px 0; }
section.case.c-FAIL { border-left-color: var(--fail); }
section.case.c-ERROR { border-left-color: var(--error); }
section.case.c-NON-STRICT { border-left-color: var(--nonstrict); }
.casehead { display: flex; gap: 10px; align-items: baseline; }
.casemeta { margin: 6px 0 10px; color: var(--muted); font-size: 13px; }
.casemeta span { margin-right: 16px; }
.label { font-size: 12px; font-weight: 600; color: var(--muted); margin: 10px 0 3px;
  text-transform: uppercase; letter-spacing: .04em; }
pre { margin: 0; padding: 10px 12px; background: var(--soft); border: 1px solid var(--line);
  border-radius: 6px; white-space: pre-wrap; word-break: break-word; max-height: 480px;
  overflow: auto; }
pre.message { background: #fff8f8; border-color: #f3c9cc; }
section.c-NON-STRICT pre.message { background: #fffbea; border-color: #eedc9a; }
section.c-ERROR pre.message { background: #faf6ff; border-color: #d8c7f5; }
table.journal td { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 12px; padding: 3px 6px; }
table.journal td.data { word-break: break-all; white-space: pre-wrap; }
.d-in { color: #0969da; } .d-out { color: #1a7f37; } .d-note { color: var(--muted); }
.filters { margin: 8px 0; font-size: 13px; }
body.problems-only tr.r-PASS, body.problems-only tr.r-UNSUPPORTED,
body.problems-only tr.a-clean { display: none; }
:target { scroll-margin-top: 12px; }
section.case:target, tr:target td { background: #fff8c5; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@media print { pre { max-height: none; overflow: visible; } .filters { display: none; } }
"""

# Content is complete without it: it only hides passing rows on request.
_JS = """
(function () {
  var box = document.getElementById('problems-only');
  document.getElementById('filters').hidden = false;
  box.addEventListener('change', function () {
    document.body.classList.toggle('problems-only', box.checked);
  });
})();
"""

_VERDICT_CLASS = {
    "CONFORMANT": "v-pass",
    "NOT CONFORMANT": "v-fail",
    "INCONCLUSIVE": "v-error",
    "NOTHING RAN": "v-unsupported",
}


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _badge(outcome: Outcome) -> str:
    return f'<span class="badge o-{outcome.value}">{outcome.value}</span>'


def _case_anchor(index: int) -> str:
    return f"case-{index}"


def write_html_report(report: RunReport, path: str | os.PathLike[str]) -> Path:
    """Write ``report`` as one self-contained HTML page; returns the path.

    The page has inline CSS and no external resource; everything is visible without
    JavaScript (a few inline lines only add a "problems only" filter). All text from the
    report is HTML-escaped.
    """
    _check_report(report)
    return _write_report_text(path, render_html(report))


def render_html(report: RunReport) -> str:
    """The page :func:`write_html_report` writes."""
    _check_report(report)
    word, reason = verdict(report)
    index_of = {case.nodeid: i for i, case in enumerate(report.cases, start=1)}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>voicewire {_e(word.lower())}: {_e(report.iut)}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        _html_header(report, word, reason),
        _html_areas(report),
        _html_requirements(report, index_of),
        _html_problems(report, index_of),
        _html_all_cases(report, index_of),
        f"<footer>{_e(report.format)} · long journal entries are cut here; "
        "<code>--json</code> keeps them whole</footer>",
        f"</main><script>{_JS}</script></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _html_header(report: RunReport, word: str, reason: str) -> str:
    counts = _case_counts(report.cases)
    meta = [
        ("IUT", f"<code>{_e(report.iut)}</code>"),
        ("seed", f"<code>{report.seed}</code>"),
        ("capabilities", _e(", ".join(report.capabilities) or "—")),
        ("hypothesis profile", _e(report.hypothesis_profile)),
        ("suites", _e(", ".join(report.suites) or "—")),
        ("examples", _e(report.examples if report.examples is not None else "profile default")),
        ("started", _e(report.started_at)),
        ("strict", "yes (NON-STRICT fails the run)" if report.strict else "no"),
        ("duration", _e(_duration_text(report.duration))),
        ("exit code", f"<code>{report.exit_code}</code>"),
    ]
    meta_html = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in meta)
    chips = "".join(
        f'<span class="chip"><span class="dot o-{o.value}"></span>{o.value} '
        f"<b>{counts[o]}</b></span>"
        for o in _COUNT_ORDER
    )
    return (
        "<header><div>"
        "<h1>voicewire conformance report</h1>"
        f'<div class="muted">{_plural(len(report.cases), "case")} · '
        f"{_plural(len(report.requirements), 'requirement')} checked</div>"
        f'<dl class="meta">{meta_html}</dl>'
        f'<div class="totals">{chips}</div>'
        "</div>"
        f'<div class="verdict {_VERDICT_CLASS.get(word, "v-unsupported")}">'
        f"<strong>{_e(word)}</strong><span>{_e(reason)}</span></div>"
        "</header>"
    )


def _html_areas(report: RunReport) -> str:
    groups = _by_area(report)
    if not groups:
        return "<h2>Summary by area</h2><p class='muted'>No requirement was checked.</p>"
    head = "".join(f'<th class="num">{o.value}</th>' for o in _COUNT_ORDER)
    rows = []
    for area, requirements in groups:
        counts = Counter(r.outcome for r in requirements)
        cells = "".join(
            f'<td class="num{"" if counts[o] else " zero"}">{counts[o]}</td>' for o in _COUNT_ORDER
        )
        worst = next((o for o in (*_PROBLEM_ORDER, Outcome.PASS) if counts[o]), Outcome.UNSUPPORTED)
        rows.append(
            f'<tr><td><a href="#area-{_e(area)}">{_e(area)}</a> '
            f'<span class="muted">{_e(_area_sections(requirements))}</span></td>'
            f'<td class="num">{len(requirements)}</td>{cells}<td>{_badge(worst)}</td></tr>'
        )
    return (
        "<h2>Summary by area</h2>"
        '<p class="muted">Requirements per result in each SPEC area.</p>'
        f'<table><thead><tr><th>area</th><th class="num">requirements</th>{head}'
        f"<th>worst</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _html_requirements(report: RunReport, index_of: dict[str, int]) -> str:
    cases = {case.nodeid: case for case in report.cases}
    rows = []
    for area, requirements in _by_area(report):
        clean = all(r.outcome in (Outcome.PASS, Outcome.UNSUPPORTED) for r in requirements)
        rows.append(
            f'<tr class="area{" a-clean" if clean else ""}" id="area-{_e(area)}">'
            f'<td colspan="6">{_e(area)} '
            f'<span class="muted">{_e(_area_sections(requirements))}</span></td></tr>'
        )
        for requirement in requirements:
            links = []
            for nodeid in requirement.cases:
                case = cases.get(nodeid)
                index = index_of.get(nodeid)
                if case is None or index is None:
                    links.append(f"<span class='muted'>{_e(nodeid)}</span>")
                    continue
                broken = requirement.id in case.broken_ids
                links.append(
                    f'<a href="#{_case_anchor(index)}" title="{_e(nodeid)}"'
                    f"{' class=broken' if broken else ''}>"
                    f'<span class="dot o-{case.outcome.value}"></span>{_e(_cut(case.name, 60))}</a>'
                )
            rows.append(
                f'<tr class="r-{requirement.outcome.value}" id="req-{_e(requirement.id)}">'
                f'<td class="id">{_e(requirement.id)}</td>'
                f"<td>{_e(requirement.level)}</td><td>{_e(requirement.direction)}</td>"
                f"<td>{_badge(requirement.outcome)} "
                f'<span class="muted mono">{_e(_cases_cell(requirement))}</span></td>'
                f"<td>{_e(requirement.title)}</td>"
                f'<td class="caselinks">{"".join(links)}</td></tr>'
            )
    if not rows:
        return "<h2>Requirements</h2><p class='muted'>No requirement was checked.</p>"
    return (
        "<h2>Requirements</h2>"
        '<div class="filters" id="filters" hidden><label><input type="checkbox" '
        'id="problems-only"> show only requirements that did not pass</label></div>'
        "<table><thead><tr><th>ID</th><th>level</th><th>direction</th>"
        "<th>result <span class='muted'>(passed/cases)</span></th><th>title</th>"
        f"<th>cases</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _html_problems(report: RunReport, index_of: dict[str, int]) -> str:
    problems = _problem_cases(report)
    if not problems:
        return ""
    sections = [_html_case(report, case, index_of[case.nodeid]) for case in problems]
    return f"<h2>Cases that did not pass ({len(problems)})</h2>{''.join(sections)}"


def _html_case(report: RunReport, case: CaseResult, index: int) -> str:
    ids = []
    for rid in case.spec_ids:
        cls = "id broken" if rid in case.broken_ids else "id"
        ids.append(f'<a class="{cls}" href="#req-{_e(rid)}">{_e(rid)}</a>')
    broken = (
        ", ".join(f"{_e(rid)} ({_e(_level_of(rid))})" for rid in case.broken_ids)
        if case.broken_ids
        else (
            "nothing shown: the case could not be carried out"
            if case.outcome is Outcome.ERROR
            else "—"
        )
    )
    broken_class = "broken" if case.broken_ids else "muted"
    meta = [
        f"suite <b>{_e(case.suite)}</b>",
        f"direction {_e(case.direction)}",
        f"capability <code>{_e(case.capability or '—')}</code>",
        f"duration {_e(_duration_text(case.duration))}",
        f"seed <code>{report.seed}</code>",
    ]
    parts = [
        f'<section class="case c-{case.outcome.value}" id="{_case_anchor(index)}">',
        f'<div class="casehead">{_badge(case.outcome)}<h3>{_e(case.nodeid)}</h3></div>',
        f'<div class="casemeta">{"".join(f"<span>{m}</span>" for m in meta)}</div>',
        f"<div><b>broke:</b> <span class='{broken_class}'>{broken}</span> &nbsp; "
        f"<b>checks:</b> {' '.join(ids) or '—'}</div>",
        '<div class="label">failed expectation</div>'
        if case.outcome is not Outcome.ERROR
        else '<div class="label">error</div>',
        f'<pre class="message">{_e(case.message or "(no message)")}</pre>',
    ]
    if case.repro is not None:
        parts.append('<div class="label">replay this example</div>')
        parts.append(f"<pre>{_e(case.repro.command)}</pre>")
        if case.repro.scenario_yaml:
            parts.append(
                '<div class="label">scenario (YAML, for <code>voicewire serve --scenario</code>)'
                "</div>"
            )
            parts.append(f"<pre>{_e(case.repro.scenario_yaml)}</pre>")
    if case.journal:
        parts.append(
            f'<div class="label">wire journal (last {len(case.journal)} entries; '
            "in = to the simulator, out = from it)</div>"
        )
        parts.append(_html_journal(case.journal))
    parts.append("</section>")
    return "".join(parts)


def _html_journal(entries: Sequence[dict[str, Any]]) -> str:
    rows = []
    for entry in entries:
        direction = str(entry.get("direction", ""))
        data = _journal_data(entry.get("data"))
        if len(data) > JOURNAL_DATA_CHARS:
            data = f"{data[:JOURNAL_DATA_CHARS]}… (+{len(data) - JOURNAL_DATA_CHARS} chars)"
        exchange = entry.get("exchange", "")
        rows.append(
            f'<tr><td class="num">{_e(_journal_time(entry))}</td>'
            f'<td class="num">{_e(exchange)}</td>'
            f'<td class="d-{_e(direction)}">{_e(direction)}</td>'
            f"<td>{_e(entry.get('kind', ''))}</td>"
            f'<td class="data">{_e(data)}</td></tr>'
        )
    return (
        '<table class="journal"><thead><tr><th class="num">t (s)</th><th class="num">ex</th>'
        "<th>dir</th><th>kind</th><th>data</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _html_all_cases(report: RunReport, index_of: dict[str, int]) -> str:
    if not report.cases:
        return "<h2>All cases</h2><p class='muted'>No case was selected.</p>"
    rows = []
    for case in report.cases:
        index = index_of[case.nodeid]
        has_detail = case.outcome in _PROBLEM_ORDER
        name = (
            f'<a href="#{_case_anchor(index)}">{_e(case.nodeid)}</a>'
            if has_detail
            else _e(case.nodeid)
        )
        note = _e(_first_line(case.message, 100)) if case.outcome is not Outcome.PASS else ""
        row_id = "" if has_detail else f' id="{_case_anchor(index)}"'
        rows.append(
            f'<tr class="r-{case.outcome.value}"{row_id}><td class="num muted">{index}</td>'
            f'<td class="mono">{name}</td><td>{_badge(case.outcome)}</td>'
            f'<td class="id">{_e(" ".join(case.spec_ids))}</td>'
            f'<td class="num">{_e(_duration_text(case.duration))}</td>'
            f'<td class="muted">{note}</td></tr>'
        )
    return (
        f"<h2>All cases ({len(report.cases)})</h2>"
        '<table><thead><tr><th class="num">#</th><th>case</th><th>result</th><th>SPEC IDs</th>'
        f'<th class="num">time</th><th>note</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )
