"""The HTML report of ``voicewire run --html``: one self-contained page to triage a run from.

Top to bottom: the verdict and run facts; the triage list (every case that did not pass,
FAIL, ERROR, NON-STRICT in that order, each linking to its details, with its broken IDs and
the first line of its message); a summary by area; the details of each such case (its failed
expectations, the seed, the replay command and the wire journal of the failing example,
request bodies shown and headers folded); the requirements; every case. Tables are laid out
to the page's width (long node ids and journal data wrap), so the page fits 1,400 px.

The page has inline CSS, no external resource and is complete without JavaScript. All text
from the report is HTML-escaped. :mod:`voicewire.harness.report` re-exports
:func:`write_html_report` and :func:`render_html`.
"""

from __future__ import annotations

import html
import json
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

JOURNAL_DATA_CHARS = 4000
"""Characters of one journal entry's body or data the HTML shows (headers are folded apart
and do not count); the JSON report keeps entries whole."""
SCENARIO_FOLD_LINES = 30
"""A replay scenario longer than this many lines starts folded."""

_CSS = """
:root { --pass:#1a7f37; --nonstrict:#9a6700; --fail:#cf222e; --error:#8250df;
  --unsupported:#6e7781; --line:#d0d7de; --soft:#f6f8fa; --text:#1f2328; --muted:#57606a; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
  color: var(--text); background: #fff; }
main { max-width: 1360px; margin: 0 auto; padding: 24px 24px 64px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 36px 0 10px; padding-bottom: 6px;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 0; font-weight: 600; min-width: 0; overflow-wrap: anywhere; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 12.5px; }
a { color: #0969da; text-decoration: none; } a:hover { text-decoration: underline; }
.muted { color: var(--muted); }
header { display: flex; gap: 24px; align-items: flex-start; justify-content: space-between;
  padding-bottom: 18px; border-bottom: 1px solid var(--line); }
header > div:first-child { min-width: 0; }
.verdict { border-radius: 8px; padding: 12px 18px; color: #fff; min-width: 260px;
  max-width: 420px; flex-shrink: 0; }
.verdict strong { display: block; font-size: 20px; letter-spacing: .02em; }
.verdict span { font-size: 13px; opacity: .95; }
.v-pass { background: var(--pass); } .v-fail { background: var(--fail); }
.v-error { background: var(--error); } .v-unsupported { background: var(--unsupported); }
dl.meta { display: grid; grid-template-columns: max-content minmax(0, 1fr) max-content
  minmax(0, 1fr); gap: 3px 14px; margin: 12px 0 0; }
dl.meta dt { color: var(--muted); } dl.meta dd { margin: 0; overflow-wrap: anywhere; }
.totals { display: flex; flex-wrap: wrap; gap: 8px; margin: 16px 0 0; }
.chip { border: 1px solid var(--line); border-radius: 16px; padding: 3px 12px;
  background: var(--soft); }
.chip b { font-variant-numeric: tabular-nums; }
/* Fixed layout: columns take the widths the colgroup gives them and long words wrap inside
   their cell, so no node id or journal line can widen a table past the page. */
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line);
  vertical-align: top; overflow-wrap: anywhere; word-break: break-word; }
th { background: var(--soft); font-weight: 600; font-size: 12.5px; color: var(--muted); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.area td { background: #eef1f4; font-weight: 600; padding-top: 8px; }
.zero { color: #c0c6cc; }
.badge { display: inline-block; min-width: 92px; text-align: center; border-radius: 4px;
  padding: 1px 6px; font-size: 11.5px; font-weight: 700; color: #fff; letter-spacing: .03em;
  white-space: nowrap; }
.o-PASS { background: var(--pass); } .o-NON-STRICT { background: var(--nonstrict); }
.o-FAIL { background: var(--fail); } .o-ERROR { background: var(--error); }
.o-UNSUPPORTED { background: var(--unsupported); }
.dot { display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 4px; }
.caselinks a { display: inline-block; margin: 0 10px 2px 0; font-size: 12.5px; }
.id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.broken { color: var(--fail); font-weight: 700; }
.unjudged { color: var(--error); font-weight: 700; }
section.triage { margin-top: 20px; }
section.triage h2 { margin-top: 0; }
ol.triage { list-style: none; margin: 0; padding: 0; border: 1px solid var(--line);
  border-radius: 6px; }
ol.triage li { display: grid; grid-template-columns: 104px minmax(0, 1fr); gap: 2px 12px;
  padding: 7px 12px; border-bottom: 1px solid var(--line); }
ol.triage li:last-child { border-bottom: 0; }
ol.triage li > :nth-child(n+3) { grid-column: 2; }
ol.triage .case { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 12.5px; overflow-wrap: anywhere; }
ol.triage .why { font-size: 13px; color: var(--muted); overflow-wrap: anywhere; }
p.clear { border: 1px solid #aceebb; background: #dafbe1; border-radius: 6px;
  padding: 10px 14px; margin: 0; }
.nodepath { color: var(--muted); font-weight: 400; }
section.case { border: 1px solid var(--line); border-left: 5px solid var(--line);
  border-radius: 6px; padding: 12px 16px; margin: 14px 0; }
section.case.c-FAIL { border-left-color: var(--fail); }
section.case.c-ERROR { border-left-color: var(--error); }
section.case.c-NON-STRICT { border-left-color: var(--nonstrict); }
.casehead { display: flex; gap: 10px; align-items: baseline; }
.casehead .up { margin-left: auto; font-size: 12.5px; white-space: nowrap; }
.casemeta { margin: 6px 0 10px; color: var(--muted); font-size: 13px; }
.casemeta span { margin-right: 16px; display: inline-block; }
.label { font-size: 12px; font-weight: 600; color: var(--muted); margin: 12px 0 3px;
  text-transform: uppercase; letter-spacing: .04em; }
.label span { text-transform: none; letter-spacing: 0; font-weight: 400; }
pre { margin: 0; padding: 10px 12px; background: var(--soft); border: 1px solid var(--line);
  border-radius: 6px; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 480px;
  overflow: auto; }
pre.message { background: #fff8f8; border-color: #f3c9cc; }
pre.command { background: #f6f8fa; font-weight: 600; }
section.c-NON-STRICT pre.message { background: #fffbea; border-color: #eedc9a; }
section.c-ERROR pre.message { background: #faf6ff; border-color: #d8c7f5; }
details > summary { cursor: pointer; color: var(--muted); font-size: 12.5px; }
table.journal td { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 12px; padding: 3px 6px; }
table.journal td.data { white-space: pre-wrap; }
table.journal tr.req td { background: #f1f8ff; }
table.journal tr.gap td { text-align: center; color: var(--muted); background: var(--soft); }
table.journal .head { font-weight: 700; }
table.journal .body { margin-top: 3px; }
table.journal .cut { color: var(--nonstrict); font-style: italic; }
table.journal details { margin-top: 3px; }
table.journal details pre { padding: 6px 8px; max-height: 320px; font-size: 11.5px; }
.d-in { color: #0969da; } .d-out { color: #1a7f37; } .d-note { color: var(--muted); }
.filters { margin: 8px 0; font-size: 13px; }
body.problems-only tr.r-PASS, body.problems-only tr.r-UNSUPPORTED,
body.problems-only tr.a-clean { display: none; }
:target { scroll-margin-top: 12px; }
section.case:target, tr:target td { background: #fff8c5; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@media print { pre { max-height: none; overflow: visible; } .filters { display: none; }
  details > * { display: block; } }
"""

# Content is complete without it: it only hides passing rows on request.
_JS = """
(function () {
  var box = document.getElementById('problems-only');
  if (!box) { return; }
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
    "INTERRUPTED": "v-error",
    "NOTHING RAN": "v-unsupported",
}

# Keys of a journal entry's data that are metadata of the message, not its content: folded,
# so they never push the body out of sight.
_FOLDED_KEYS = ("headers", "token")
# Keys that say how big a body was and whether the simulator's journal cut it.
_BODY_FACTS = ("body_length", "truncated")


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _badge(outcome: Outcome) -> str:
    return f'<span class="badge o-{outcome.value}">{outcome.value}</span>'


def _case_anchor(index: int) -> str:
    return f"case-{index}"


def _colgroup(*widths: str) -> str:
    """Column widths of a fixed-layout table (an empty string: the column takes the rest)."""
    cols = "".join(f'<col style="width:{w}">' if w else "<col>" for w in widths)
    return f"<colgroup>{cols}</colgroup>"


def _breakable(text: str) -> str:
    """``text`` escaped, with line-break opportunities after ``/``, ``::`` and ``_`` and
    before ``[``: a long node id wraps at its natural joints rather than inside a word."""
    escaped = _e(text)
    for joint in ("/", "::", "_"):
        escaped = escaped.replace(joint, joint + "<wbr>")
    return escaped.replace("[", "<wbr>[")


def _nodeid_html(nodeid: str) -> str:
    """A node id with its file part muted, so the test's own name stands out."""
    path, sep, name = nodeid.rpartition("::")
    if not sep:
        return _breakable(nodeid)
    return f'<span class="nodepath">{_breakable(path + sep)}</span>{_breakable(name)}'


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
        _html_triage(report, index_of),
        _html_areas(report),
        _html_problems(report, index_of),
        _html_requirements(report, index_of),
        _html_all_cases(report, index_of),
        f"<footer>{_e(report.format)} · journal bodies and data longer than "
        f"{JOURNAL_DATA_CHARS:,} characters are cut here; <code>--json</code> keeps them "
        "whole</footer>",
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


def _html_triage(report: RunReport, index_of: dict[str, int]) -> str:
    """Every case that did not pass, worst first, each a link to its details."""
    problems = _problem_cases(report)
    notes = []
    unsupported = _case_counts(report.cases)[Outcome.UNSUPPORTED]
    if unsupported:
        notes.append(
            f"{_plural(unsupported, 'case')} UNSUPPORTED (the IUT does not declare "
            "their capabilities; listed under All cases)"
        )
    if report.not_run:
        notes.append(f"{_plural(report.not_run, 'case')} not run (the run stopped early)")
    notes_html = f'<p class="muted">{_e("; ".join(notes))}.</p>' if notes else ""
    if not problems:
        what = (
            "no case was selected"
            if not report.cases
            else "no case failed, errored or broke a SHOULD rule"
        )
        return (
            '<section class="triage" id="triage"><h2>Triage</h2>'
            f'<p class="clear"><b>Nothing to triage:</b> {_e(what)}.</p>{notes_html}</section>'
        )
    items = []
    for case in problems:
        if case.broken_ids:
            why = "broke " + " ".join(
                f'<span class="id broken">{_e(rid)}</span>' for rid in case.broken_ids
            )
        else:
            why = "could not be carried out" if case.outcome is Outcome.ERROR else ""
        if case.unjudged_ids:
            why += " · not judged " + " ".join(
                f'<span class="id unjudged">{_e(rid)}</span>' for rid in case.unjudged_ids
            )
        first = _first_line(case.message, 240) or "(no message)"
        items.append(
            f'<li class="t-{case.outcome.value}">{_badge(case.outcome)}'
            f'<a class="case" href="#{_case_anchor(index_of[case.nodeid])}">'
            f"{_nodeid_html(case.nodeid)}</a>"
            f'<div class="why">{why}</div>'
            f'<div class="why mono">{_e(first)}</div></li>'
        )
    counts = _case_counts(problems)
    summary = ", ".join(f"{counts[o]} {o.value}" for o in _PROBLEM_ORDER if counts[o])
    return (
        '<section class="triage" id="triage">'
        f"<h2>Triage: {_plural(len(problems), 'case')} did not pass "
        f'<span class="muted">({_e(summary)})</span></h2>'
        f'<ol class="triage">{"".join(items)}</ol>{notes_html}</section>'
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
        f"<table>{_colgroup('', '110px', *['124px'] * len(_COUNT_ORDER), '130px')}"
        f'<thead><tr><th>area</th><th class="num">requirements</th>{head}'
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
        f"<table>{_colgroup('120px', '78px', '80px', '160px', '30%', '')}"
        "<thead><tr><th>ID</th><th>level</th><th>direction</th>"
        "<th>result <span class='muted'>(passed/cases)</span></th><th>title</th>"
        f"<th>cases</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _html_problems(report: RunReport, index_of: dict[str, int]) -> str:
    problems = _problem_cases(report)
    if not problems:
        return ""
    sections = [_html_case(report, case, index_of[case.nodeid]) for case in problems]
    return f"<h2>Cases that did not pass ({len(problems)})</h2>{''.join(sections)}"


def _ids_with_levels(ids: Sequence[str]) -> str:
    return ", ".join(f"{_e(rid)} ({_e(_level_of(rid))})" for rid in ids)


def _html_case(report: RunReport, case: CaseResult, index: int) -> str:
    ids = []
    for rid in case.spec_ids:
        cls = "id broken" if rid in case.broken_ids else "id"
        ids.append(f'<a class="{cls}" href="#req-{_e(rid)}">{_e(rid)}</a>')
    broken = (
        _ids_with_levels(case.broken_ids)
        if case.broken_ids
        else (
            "nothing shown: the case could not be carried out"
            if case.outcome is Outcome.ERROR
            else "—"
        )
    )
    broken_class = "broken" if case.broken_ids else "muted"
    family = case.examples is not None
    meta = [
        f"suite <b>{_e(case.suite)}</b>",
        f"direction {_e(case.direction)}",
        f"capability <code>{_e(case.capability or '—')}</code>",
        f"duration {_e(_duration_text(case.duration))}",
        f"seed <code>{report.seed}</code>",
    ]
    if family:
        meta.append(f"property family: {_e(_plural(case.examples or 0, 'example'))} ran")
    parts = [
        f'<section class="case c-{case.outcome.value}" id="{_case_anchor(index)}">',
        f'<div class="casehead">{_badge(case.outcome)}<h3>{_nodeid_html(case.nodeid)}</h3>'
        '<a class="up" href="#triage">↑ triage</a></div>',
        f'<div class="casemeta">{"".join(f"<span>{m}</span>" for m in meta)}</div>',
        f"<div><b>broke:</b> <span class='{broken_class}'>{broken}</span> &nbsp; "
        f"<b>checks:</b> {' '.join(ids) or '—'}</div>",
    ]
    if case.unjudged_ids:
        parts.append(
            f"<div><b>not judged:</b> <span class='unjudged'>"
            f"{_ids_with_levels(case.unjudged_ids)}</span> "
            "<span class='muted'>(the case stopped before it could check them)</span></div>"
        )
    parts.append(
        '<div class="label">error</div>'
        if case.outcome is Outcome.ERROR
        else '<div class="label">failed expectations</div>'
    )
    parts.append(f'<pre class="message">{_e(case.message or "(no message)")}</pre>')
    if case.repro is not None:
        parts.append(
            '<div class="label">replay command <span>(runs this example alone, '
            f"seed {report.seed})</span></div>"
        )
        parts.append(f'<pre class="command">{_e(case.repro.command)}</pre>')
        if case.repro.scenario_yaml:
            lines = case.repro.scenario_yaml.count("\n") + 1
            opened = " open" if lines <= SCENARIO_FOLD_LINES else ""
            parts.append(
                f"<details{opened}><summary>scenario the simulator played "
                f"({_e(_plural(lines, 'line'))} of YAML, for "
                "<code>voicewire serve --scenario</code>)</summary>"
                f"<pre>{_e(case.repro.scenario_yaml)}</pre></details>"
            )
    if case.journal:
        whose = "the failing example's traffic" if family else "the case's simulator sessions"
        parts.append(
            f'<div class="label">wire journal <span>({whose}, '
            f"{len(case.journal)} {'entry' if len(case.journal) == 1 else 'entries'}; "
            "in = to the simulator, "
            "out = from it; headers folded)</span></div>"
        )
        parts.append(_html_journal(case.journal))
    parts.append("</section>")
    return "".join(parts)


# -- journal ----------------------------------------------------------------------------------


def _bounded(text: str) -> str:
    """``text`` escaped, cut to :data:`JOURNAL_DATA_CHARS` with a note of how much was cut."""
    if len(text) <= JOURNAL_DATA_CHARS:
        return _e(text)
    cut = len(text) - JOURNAL_DATA_CHARS
    return (
        f"{_e(text[:JOURNAL_DATA_CHARS])}"
        f'<span class="cut">… (+{cut:,} chars not shown; --json keeps them)</span>'
    )


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _folded(key: str, value: Any) -> str:
    """A ``<details>`` holding one metadata field of an entry (headers one per line)."""
    if isinstance(value, dict):
        count = f" ({len(value)})" if key == "headers" else ""
        text = (
            "\n".join(f"{name}: {_compact(item)}" for name, item in value.items())
            if key == "headers"
            else json.dumps(value, ensure_ascii=False, indent=1, default=str)
        )
    else:
        count, text = "", _compact(value)
    return f"<details><summary>{_e(key)}{count}</summary><pre>{_bounded(text)}</pre></details>"


def _message_cell(data: dict[str, Any]) -> str:
    """A journal entry's HTTP-message-like data: a head line (method and path, or status and
    the other small fields), the body in full up to the bound, and headers and token folded
    (they would otherwise use up the space before the body shows)."""
    head = []
    if "method" in data or "path" in data:
        head.append(f"{_compact(data.get('method', ''))} {_compact(data.get('path', ''))}".strip())
    facts = []
    for key, value in data.items():
        if key in ("method", "path", "body", *_FOLDED_KEYS, *_BODY_FACTS):
            continue
        facts.append(f"{key} {_compact(value)}")
    head.extend(facts)
    parts = [f'<div class="head">{_e(" · ".join(head))}</div>'] if head else []
    if "body" in data:
        body = data["body"]
        length = data.get("body_length")
        about = []
        if isinstance(length, int):
            about.append(f"body, {length:,} bytes")
        if data.get("truncated"):
            about.append("cut by the simulator's journal")
        text = _compact(body) if body not in (None, "") else "(empty)"
        note = f'<span class="muted">{_e("; ".join(about))}:</span> ' if about else ""
        parts.append(f'<div class="body">{note}{_bounded(text)}</div>')
    parts.extend(_folded(key, data[key]) for key in _FOLDED_KEYS if key in data)
    return "".join(parts)


def _html_journal(entries: Sequence[dict[str, Any]]) -> str:
    rows = []
    for entry in entries:
        kind = entry.get("kind", "")
        data = entry.get("data")
        if kind == "entries_left_out" and isinstance(data, dict):
            left_out = data.get("entries", "some")
            rows.append(
                f'<tr class="gap"><td colspan="5">… {_e(left_out)} entries left out '
                "(the report keeps the first and the last ones) …</td></tr>"
            )
            continue
        note = entry.get("type") == "wire.note"
        direction = str(entry.get("direction") or ("note" if note else ""))
        if isinstance(data, dict) and ({"body", *_FOLDED_KEYS} & data.keys()):
            cell = _message_cell(data)
        else:
            cell = _bounded(_journal_data(data))
        row_class = ' class="req"' if kind == "http_request" else ""
        rows.append(
            f'<tr{row_class}><td class="num">{_e(_journal_time(entry))}</td>'
            f'<td class="num">{_e(entry.get("exchange", ""))}</td>'
            f'<td class="d-{_e(direction)}">{_e(direction)}</td>'
            f"<td>{_e(kind)}</td>"
            f'<td class="data">{cell}</td></tr>'
        )
    return (
        f'<table class="journal">{_colgroup("76px", "44px", "48px", "130px", "")}'
        '<thead><tr><th class="num">t (s)</th><th class="num">ex</th>'
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
            f'<a href="#{_case_anchor(index)}">{_nodeid_html(case.nodeid)}</a>'
            if has_detail
            else _nodeid_html(case.nodeid)
        )
        note = _e(_first_line(case.message, 160)) if case.outcome is not Outcome.PASS else ""
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
        f"<table>{_colgroup('48px', '', '124px', '180px', '76px', '24%')}"
        '<thead><tr><th class="num">#</th><th>case</th><th>result</th><th>SPEC IDs</th>'
        f'<th class="num">time</th><th>note</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )
