"""The HTML report of ``voicewire run --html``: one self-contained page to triage a run from.

The page has inline CSS, no external resource and is complete without JavaScript. All text
from the report is HTML-escaped. :mod:`voicewire.harness.report` re-exports
:func:`write_html_report` and :func:`render_html`.
"""

from __future__ import annotations

import html
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from voicewire.harness.report_common import (
    _COUNT_ORDER,
    _PROBLEM_ORDER,
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
    _write_report_text,
    verdict,
)
from voicewire.harness.verdicts import CaseResult, Outcome, RunReport

__all__ = ["JOURNAL_DATA_CHARS", "render_html", "write_html_report"]

JOURNAL_DATA_CHARS = 400
"""Characters of one journal entry's data the HTML shows."""

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
