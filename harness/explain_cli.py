"""``voicewire explain``: what a SPEC rule requires, from the installed package alone.

SPEC.md is not installed with voicewire, yet reports name its rules (``LLM-TC-3``) and its
sections (``llm §2.1, 2.2, 2.3``). ``voicewire explain`` resolves both from the requirement
catalog:

- a rule ID (``LLM-TC-3``, any case) or a range (``LLM-TC-1..3``): the rule's level,
  direction, section and heading, its whole text, the suite cases that check it, and the
  known deviations of registered implementations (upstream livekit-agents, ...);
- a section (``2.4``, ``§2.4a``): its heading, what its prose sets up, and the titles of its
  rules and of its subsections' rules;
- an area (``llm``, ``chat-context``): its rules' titles, section by section.

Every argument is resolved before anything is printed: an argument that names nothing is one
line on stderr with the closest names, and exit status 2. Exit status 3: the suites could not
be collected to list a rule's cases (the rest is printed).
"""

from __future__ import annotations

import argparse
import difflib
import re
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from voicewire.harness.protocols import TABLE
from voicewire.harness.requirements import (
    AREAS,
    REQUIREMENTS,
    SECTIONS,
    Direction,
    KnownDeviation,
    Level,
    Requirement,
    Section,
    closest_ids,
    expand_id_range,
    get_section,
    requirements_in_area,
)

__all__ = [
    "EXIT_HARNESS_ERROR",
    "EXIT_UNKNOWN",
    "UnknownName",
    "add_explain_parser",
    "explain",
    "known_deviations",
    "run_explain",
]

EXIT_UNKNOWN = 2
"""An argument names no rule, section or area (argparse's exit status for bad arguments)."""
EXIT_HARNESS_ERROR = 3
"""The suites could not be collected, so a rule's cases could not be listed."""

_MAX_WIDTH = 100
_MIN_WIDTH = 40
_RANGE = re.compile(r"[A-Z]+(?:-[A-Z]+)*-[0-9]+\.\.[0-9]+")
_SECTION_LIKE = re.compile(r"§?\s*[0-9][0-9a-z.]*")

_LEVEL_MEANING = {
    Level.MUST: "breaking it is a FAIL",
    Level.SHOULD: "breaking it is NON-STRICT, a failure only with --strict",
    Level.MAY: "allowed behaviour the other side has to tolerate",
}
_DIRECTION_MEANING = {
    Direction.CLIENT: "binds the client",
    Direction.SERVER: "binds the server",
    Direction.BOTH: "a wire shape the server produces and the client accepts",
    Direction.LIBRARY: "a client library's local data structure, not the wire",
}


# -- what an argument names -----------------------------------------------------------------


@dataclass(frozen=True)
class _Rules:
    """One rule, or the rules of a range, printed in full."""

    rules: tuple[Requirement, ...]


@dataclass(frozen=True)
class _SectionQuery:
    section: Section


@dataclass(frozen=True)
class _AreaQuery:
    area: str


_Query = _Rules | _SectionQuery | _AreaQuery


class UnknownName(ValueError):
    """An argument of ``voicewire explain`` names no rule, section or area; the message is
    the one line to print."""


def _resolve(text: str) -> _Query:
    """What ``text`` names; raises :class:`UnknownName` with the closest names."""
    word = text.strip()
    upper = word.upper()
    if upper in REQUIREMENTS:
        return _Rules((REQUIREMENTS[upper],))
    if _RANGE.fullmatch(upper):
        try:
            return _Rules(tuple(REQUIREMENTS[rid] for rid in expand_id_range(upper)))
        except ValueError as exc:
            raise UnknownName(str(exc)) from None
    area = word.lower().replace("_", "-")
    if area in AREAS:
        return _AreaQuery(area)
    if _SECTION_LIKE.fullmatch(word):
        try:
            return _SectionQuery(get_section(word))
        except KeyError:
            close = difflib.get_close_matches(
                word.removeprefix("§").strip(), SECTIONS.keys(), n=3, cutoff=0.5
            )
            hint = f"; closest: {', '.join('§' + n for n in close)}" if close else ""
            raise UnknownName(f"SPEC.md has no section {word!r}{hint}") from None
    close = closest_ids(word) + difflib.get_close_matches(area, AREAS, n=2, cutoff=0.6)
    hint = (
        f"; closest: {', '.join(close)}"
        if close
        else "; rules look like LLM-TC-3, sections like 2.4 or §2.4a, areas are " + ", ".join(AREAS)
    )
    raise UnknownName(f"no rule, section or area named {word!r}{hint}")


# -- known deviations -----------------------------------------------------------------------


def known_deviations(
    protocols: Iterable[Any] | None = None,
) -> Mapping[str, list[tuple[str, KnownDeviation]]]:
    """Rule ID → the registered implementations known to deviate from it: (implementation
    name, deviation) pairs, from every protocol's registration (default: :data:`TABLE`)."""
    by_rule: dict[str, list[tuple[str, KnownDeviation]]] = {}
    for spec in TABLE.protocols if protocols is None else protocols:
        for implementation, deviations in spec.deviations.items():
            for deviation in deviations:
                by_rule.setdefault(deviation.rule, []).append((implementation, deviation))
    return by_rule


# -- rendering ------------------------------------------------------------------------------


def _width() -> int:
    columns = shutil.get_terminal_size((_MAX_WIDTH, 24)).columns
    return max(_MIN_WIDTH, min(_MAX_WIDTH, columns))


def _wrap(text: str, width: int, indent: str) -> list[str]:
    return textwrap.wrap(
        text,
        width=width,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _heading(section: Section) -> str:
    return f"§{section.number} {section.heading}"


def _render_rule(
    rule: Requirement,
    cases: Sequence[str] | None,
    deviations: Sequence[tuple[str, KnownDeviation]],
    width: int,
) -> list[str]:
    lines = textwrap.wrap(
        f"{rule.id}  {rule.title}",
        width=width,
        subsequent_indent=" " * (len(rule.id) + 2),
        break_long_words=False,
        break_on_hyphens=False,
    )
    for label, value in (
        ("level", f"{rule.level} ({_LEVEL_MEANING[rule.level]})"),
        ("direction", f"{rule.direction} ({_DIRECTION_MEANING[rule.direction]})"),
        ("section", _heading(SECTIONS[rule.section])),
        ("area", f"{rule.area} (voicewire explain {rule.area} lists its rules)"),
    ):
        wrapped = _wrap(value, width, " " * 13)
        lines.append(f"  {label:<11}{wrapped[0].lstrip()}")
        lines.extend(wrapped[1:])
    lines.append("")
    lines.extend(_wrap(rule.text, width, "  "))
    lines.append("")
    # Which implementations' deviations each case finds, by the name reports print.
    finders: dict[str, list[str]] = {}
    for implementation, deviation in deviations:
        for name in deviation.cases:
            finders.setdefault(name, []).append(implementation)
    if cases is None:
        lines.append("  checked by: unknown (the suites could not be collected)")
    elif not cases:
        lines.append("  checked by: no case yet; a run does not judge this rule")
    else:
        lines.append(f"  checked by {len(cases)} case{'s' if len(cases) != 1 else ''}:")
        for case in cases:
            found = finders.get(case.rpartition("::")[2])
            lines.append(f"    {case}" + (f"  [{', '.join(found)}]" if found else ""))
    listed = {case.rpartition("::")[2] for case in cases or ()}
    if not deviations:
        lines.append("  known deviations: none recorded")
    else:
        lines.append("  known deviations:")
        for implementation, deviation in deviations:
            lines.append(
                f"    {implementation} ({deviation.release}) reports {deviation.outcome}"
                f" in {len(deviation.cases)} case{'s' if len(deviation.cases) != 1 else ''}"
                + (f" (marked [{implementation}])" if set(deviation.cases) <= listed else "")
            )
            lines.extend(_wrap(deviation.explanation, width, "      "))
            lines.extend(_wrap(f"upstream source: {deviation.source}", width, "      "))
            if not set(deviation.cases) <= listed:
                lines.extend(_wrap(f"found by: {', '.join(deviation.cases)}", width, "      "))
    return lines


def _rule_rows(rules: Iterable[Requirement], width: int) -> list[str]:
    """One row per rule, the title wrapped under itself rather than cut: a table that drops
    the end of a title drops what the rule is about."""
    lines: list[str] = []
    for rule in rules:
        head = f"  {rule.id:<13}{rule.level!s:<8}{rule.direction!s:<8}"
        title = textwrap.wrap(
            rule.title, width=max(20, width - len(head)), break_on_hyphens=False
        ) or [""]
        lines.append(head + title[0])
        lines.extend(" " * len(head) + rest for rest in title[1:])
    return lines


def _render_section(section: Section, width: int) -> list[str]:
    lines: list[str] = []
    family = [
        s
        for s in SECTIONS.values()
        if s.number == section.number or s.number.startswith(section.number + ".")
    ]
    for member in family:
        if lines:
            lines.append("")
        lines.append(_heading(member))
        if member.summary:
            lines.extend(_wrap(member.summary, width, "  "))
        rules = [r for r in REQUIREMENTS.values() if r.section == member.number]
        if rules:
            if member.summary:
                lines.append("")
            lines.extend(_rule_rows(rules, width))
        elif member is section and len(family) == 1:
            if member.summary:
                lines.append("")
            lines.append("  (no rules in this section)")
    return lines


def _render_area(area: str, width: int) -> list[str]:
    rules = requirements_in_area(area)
    lines = [f"area {area}: {len(rules)} rule{'s' if len(rules) != 1 else ''}"]
    section = None
    for rule in rules:
        if rule.section != section:
            section = rule.section
            lines.append(_heading(SECTIONS[section]))
        lines.extend(_rule_rows([rule], width))
    return lines


def _catalog_cases() -> Mapping[str, list[str]]:
    """Rule ID → the node IDs of the cases that name it (collecting the suites takes a few
    seconds, so only an explained rule pays for it)."""
    from voicewire.harness.runner import catalog

    cases: dict[str, list[str]] = {}
    for entry in catalog():
        for rid in entry.spec_ids:
            cases.setdefault(rid, []).append(entry.nodeid)
    return cases


def explain(
    names: Sequence[str],
    out: TextIO,
    *,
    width: int | None = None,
    cases: Callable[[], Mapping[str, list[str]]] | None = None,
) -> None:
    """Print to ``out`` what each of ``names`` (rule IDs, ranges, sections, areas) names,
    wrapped to ``width`` (default: the terminal's, at most 100 columns). ``cases`` gives
    rule ID → the cases that check it (default: collected from the installed suites).

    Raises:
        UnknownName: a name names nothing (raised before anything is printed; the first
            such name's message).
        voicewire.harness.runner.HarnessError: the suites could not be collected; raised
            after everything else was printed.
    """
    queries = [_resolve(name) for name in names]
    width = _width() if width is None else width
    by_rule = known_deviations()
    case_map: Mapping[str, list[str]] | None = {}
    failure: Exception | None = None
    if any(isinstance(query, _Rules) for query in queries):
        from voicewire.harness.runner import HarnessError

        try:
            case_map = (cases or _catalog_cases)()
        except HarnessError as exc:
            case_map, failure = None, exc
    shown: set[str] = set()
    blocks: list[list[str]] = []
    for query in queries:
        if isinstance(query, _Rules):
            for rule in query.rules:
                if rule.id in shown:
                    continue
                shown.add(rule.id)
                found = None if case_map is None else case_map.get(rule.id, [])
                blocks.append(_render_rule(rule, found, by_rule.get(rule.id, []), width))
        elif isinstance(query, _SectionQuery):
            blocks.append(_render_section(query.section, width))
        else:
            blocks.append(_render_area(query.area, width))
    out.write("\n\n".join("\n".join(block) for block in blocks) + "\n")
    if failure is not None:
        raise failure


# -- the sub-command ------------------------------------------------------------------------


def add_explain_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``explain`` to a parser's subparsers; returns its parser."""
    parser = subparsers.add_parser(
        "explain",
        help="what a SPEC rule, section or area requires, and what checks it",
        description=(
            "Print SPEC rules in full: level, direction, section, the rule's text, the cases "
            "that check it and the known deviations of upstream implementations. A section "
            "(2.4 or §2.4) or an area (llm, retry, chat-context, ...) lists its rules. Exit "
            "status: 0 printed, 2 a name that names nothing, 3 the suites could not be "
            "collected."
        ),
    )
    parser.add_argument(
        "names",
        nargs="+",
        metavar="NAME",
        help="a rule ID (LLM-TC-3), a range (LLM-TC-1..3), a section (2.4, §2.4a) or an area",
    )
    return parser


def run_explain(args: argparse.Namespace) -> int:
    """Carry out ``voicewire explain``; returns the exit status."""
    from voicewire.harness.runner import HarnessError

    unknown: list[str] = []
    for name in args.names:
        try:
            _resolve(name)
        except UnknownName as exc:
            unknown.append(str(exc))
    if unknown:
        for message in unknown:
            print(f"voicewire explain: {message}", file=sys.stderr)
        return EXIT_UNKNOWN
    try:
        explain(args.names, sys.stdout)
    except HarnessError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"voicewire explain: cases not listed: {first}", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    return 0
