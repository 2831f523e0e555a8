"""Report writers of ``voicewire run``: the console table, JSON, JUnit XML and HTML.

Every writer reads one :class:`voicewire.harness.verdicts.RunReport` and nothing else, so a report
loaded back from ``--json`` renders exactly like the run that made it.

- :func:`render_console`: the per-requirement table the terminal shows, then every case that
  did not pass (its failed expectation, broken IDs and the replay command), a summary line
  and the verdict.
- :func:`write_json_report`: the report model as JSON; its schema is ``docs/report.schema.json``.
- :func:`write_junit_report`: JUnit XML for CI dashboards, one ``<testsuite>`` per voicewire suite.
- :func:`write_html_report`: one self-contained page (inline CSS, no external resources); it
  lives in :mod:`voicewire.harness.report_html` and is re-exported here.

Files are written atomically: a reader (a CI uploader, a browser reloading the page) sees
the old report or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from voicewire.harness.events import event_json_schema
from voicewire.harness.protocols import TABLE
from voicewire.harness.report_common import (
    _COUNT_ORDER,
    _area_sections,
    _by_area,
    _case_counts,
    _cases_cell,
    _check_report,
    _cut,
    _duration_text,
    _first_line,
    _journal_data,
    _journal_time,
    _level_of,
    _plural,
    _problem_cases,
    _spell_out_surrogates,
    _write_report_text,
    verdict,
)
from voicewire.harness.report_html import render_html, write_html_report
from voicewire.harness.verdicts import (
    CaseResult,
    Outcome,
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


def _check_flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return value


def _counts_text(counts: Counter[Outcome]) -> str:
    return ", ".join(f"{counts[o]} {o.value}" for o in _COUNT_ORDER if counts[o])


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


# -- console --------------------------------------------------------------------------------


def console_header(
    *, iut: str, seed: int, profile: str, strict: bool, started_at: str, parallelism: str
) -> str:
    """The first line of the console report (``voicewire run`` prints it before the first
    case, then the rest of the report at the end); the parallelism only when not serial."""
    shown = "" if parallelism == "serial" else f" · {parallelism}"
    return (
        f"voicewire run · iut {iut} · seed {seed} · profile {profile} · "
        f"strict {'on' if strict else 'off'}{shown} · {started_at}"
    )


def render_console(
    report: RunReport,
    *,
    color: bool = False,
    verbose: bool = False,
    header: bool = True,
    width: int = CONSOLE_WIDTH,
) -> str:
    """The terminal report: per-requirement table grouped by area, the cases that did not
    pass, an UNSUPPORTED summary, a summary line and the verdict.

    ``color`` puts ANSI colors on the result column (and the verdict word) only; ``verbose``
    shows failed expectations and scenarios in full, each UNSUPPORTED case, and each problem
    case's journal excerpt. ``header``: whether to start with :func:`console_header`.
    ``width``: the requirement table's width (a wider terminal keeps titles on one line).
    """
    _check_report(report)
    _check_flag("color", color)
    _check_flag("verbose", verbose)

    def paint(outcome: Outcome, text: str) -> str:
        return f"{_MARKS[outcome]}{text}{_MARK_RESET}" if color else text

    out: list[str] = []
    if header:
        out += [
            console_header(
                iut=report.iut,
                seed=report.seed,
                profile=report.hypothesis_profile,
                strict=report.strict,
                started_at=report.started_at,
                parallelism=report.parallelism,
            ),
            "",
        ]
    out.extend(_console_table(report, paint, max(width, CONSOLE_WIDTH)))
    if report.requirements:
        out.append(
            "  voicewire explain ID prints a rule in full and the cases that check it "
            "(a section: 2.4)"
        )
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


def _console_table(
    report: RunReport, paint: Callable[[Outcome, str], str], width: int
) -> list[str]:
    if not report.requirements:
        return ["(no requirement was checked)"]
    id_width = max(len("ID"), *(len(r.id) for r in report.requirements))
    cases_width = max(len("CASES"), *(len(_cases_cell(r)) for r in report.requirements))
    result_width = len("UNSUPPORTED")
    # "  ID  LEVEL   DIR      RESULT       CASES  TITLE"
    fixed = 2 + id_width + 2 + 6 + 2 + 7 + 2 + result_width + 2 + cases_width + 2
    title_width = max(20, width - fixed)

    def row(rid: str, level: str, direction: str, result: str, cases: str, title: str) -> str:
        return (
            f"  {rid:<{id_width}}  {level:<6}  {direction:<7}  {result}  "
            f"{cases:>{cases_width}}  {title}"
        ).rstrip()

    lines = [row("ID", "LEVEL", "DIR", f"{'RESULT':<{result_width}}", "CASES", "TITLE")]
    for area, requirements in _by_area(report):
        heading = f"{area} {_area_sections(requirements)} "
        lines.append(heading + "─" * max(3, width - len(heading)))
        for requirement in requirements:
            # Pad before painting: escape codes must not count towards the column width.
            result = paint(requirement.outcome, requirement.outcome.value)
            result += " " * (result_width - len(requirement.outcome.value))
            # Titles wrap under their column rather than lose their end to an ellipsis.
            title, *more = textwrap.wrap(requirement.title, title_width) or [""]
            lines.append(
                row(
                    requirement.id,
                    requirement.level,
                    requirement.direction,
                    result,
                    _cases_cell(requirement),
                    title,
                )
            )
            lines.extend(" " * (fixed - 1) + f" {line}" for line in more)
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
        why = "interrupted by Ctrl-C" if report.interrupted else "stopped at the first failure"
        cases += f" · {report.not_run} not run ({why})"
    return (
        f"voicewire: {cases} · {_plural(len(report.requirements), 'requirement')} · "
        f"seed {report.seed} · iut {report.iut} · {_duration_text(report.duration)}"
    )


# -- atomic files ---------------------------------------------------------------------------


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
