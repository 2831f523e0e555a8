"""The HTML report as a page to triage from: a triage list at the top linking to each case
that did not pass; per case its failed expectations, seed, replay command and journal (request
bodies shown, headers folded); tables laid out to fit the page."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from typing import Any

import pytest
from voicewire.harness.report import render_html
from voicewire.harness.report_html import JOURNAL_DATA_CHARS
from voicewire.harness.verdicts import (
    CaseResult,
    Outcome,
    Repro,
    RunReport,
    requirement_results,
    run_exit_code,
)

# -- a page as a tree ----------------------------------------------------------------------------

_VOID = {"meta", "input", "col", "wbr", "br", "img", "link", "hr"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None]) -> None:
        self.tag = tag
        self.attrs = attrs
        self.children: list[Node | str] = []

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def words(self) -> str:
        return " ".join(self.text().split())

    def all(self, tag: str, cls: str | None = None) -> list[Node]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                if child.tag == tag and (cls is None or cls in child.classes):
                    found.append(child)
                found.extend(child.all(tag, cls))
        return found

    def by_id(self, ident: str) -> Node | None:
        for child in self.children:
            if isinstance(child, Node):
                if child.attrs.get("id") == ident:
                    return child
                found = child.by_id(ident)
                if found is not None:
                    return found
        return None


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        assert self.stack[-1].tag == tag, (self.stack[-1].tag, tag)
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def tree(page: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(page)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    return builder.root


# -- a run with one case of every outcome ------------------------------------------------------

BODY_TEXT = "Summarise the following. " + "lorem ipsum dolor sit amet " * 60
HEADERS = {f"X-Long-Header-{i}": "v" * 40 for i in range(20)}


def _request(**data: Any) -> dict[str, Any]:
    return {
        "type": "wire.frame",
        "seq": 10,
        "t": 1.5,
        "scenario": "s.1",
        "exchange": 2,
        "direction": "in",
        "kind": "http_request",
        "data": {
            "method": "POST",
            "path": "/v1/chat/completions",
            "headers": HEADERS,
            "body": {"model": "openai/gpt-4.1-mini", "messages": [{"content": BODY_TEXT}]},
            "token": {"claims": {"iss": "vw-case-1"}},
            "body_length": 1700,
            "truncated": False,
            **data,
        },
    }


def _frame(kind: str, data: Any, direction: str = "out", seq: int = 11) -> dict[str, Any]:
    return {
        "type": "wire.frame",
        "seq": seq,
        "t": 1.6,
        "scenario": "s.1",
        "exchange": 2,
        "direction": direction,
        "kind": kind,
        "data": data,
    }


def _case(name: str, outcome: Outcome, ids: list[str], **fields: Any) -> CaseResult:
    return CaseResult(
        nodeid=f"suites/llm/test_{name}.py::test_{name}_" + "with_a_long_name_" * 4 + "[param]",
        name=f"test_{name}",
        suite="llm",
        direction="client",
        spec_ids=ids,
        outcome=outcome,
        **{"capability": "llm.chat", **fields},
    )


def cases() -> list[CaseResult]:
    return [
        _case("passes", Outcome.PASS, ["LLM-REQ-1"]),
        _case(
            "should",
            Outcome.NON_STRICT,
            ["LLM-TC-4"],
            broken_ids=["LLM-TC-4"],
            message="[LLM-TC-4] interleaved calls were not assembled by index\nsecond line",
        ),
        _case(
            "errors",
            Outcome.ERROR,
            ["RETRY-2"],
            message="TimeoutError: the IUT did not finish within 60 s\nmore detail",
        ),
        _case(
            "family",
            Outcome.FAIL,
            ["LLM-TC-1", "LLM-TC-2", "LLM-TXT-1"],
            broken_ids=["LLM-TC-1", "LLM-TC-2"],
            unjudged_ids=["LLM-TXT-1"],
            message="[LLM-TC-1, LLM-TC-2] each call must be emitted once\nexpected calls [...]",
            examples=41,
            repro=Repro(
                case_file={"family": "tool-call-reassembly", "input": {}},
                scenario_yaml="name: generated\nrules: []\n",
                command="voicewire run --iut reference --replay voicewire-repro/llm.x.json",
            ),
            journal=[
                _request(),
                {
                    "type": "wire.note",
                    "seq": 11,
                    "t": 1.55,
                    "scenario": "s.1",
                    "exchange": 2,
                    "kind": "rule",
                    "data": {"rule": 0, "attempt": 1},
                },
                _frame("http_response", {"status": 200, "content_type": "text/event-stream"}),
                {
                    "type": "wire.note",
                    "kind": "entries_left_out",
                    "seq": 13,
                    "data": {"entries": 17},
                },
                _frame("sse_event", "data: [DONE]\n\n", seq=31),
            ],
        ),
        _case("unsupported", Outcome.UNSUPPORTED, ["FALLBACK-1"], capability="llm.fallback"),
    ]


def report_of(run: list[CaseResult]) -> RunReport:
    return RunReport(
        iut="python:tests.mutants.some_very_long_module_name_for_a_mutant:factory",
        capabilities=["llm.chat"],
        suites=["llm"],
        seed=7,
        hypothesis_profile="ci",
        strict=False,
        started_at="2025-01-31T09:30:00+00:00",
        duration=3.2,
        totals={o.value: sum(c.outcome is o for c in run) for o in Outcome},
        requirements=requirement_results(run),
        cases=run,
        exit_code=run_exit_code(run, strict=False),
    )


@pytest.fixture
def page() -> Node:
    return tree(render_html(report_of(cases())))


def _section_of(page: Node, nodeid: str) -> Node:
    (section,) = [s for s in page.all("section", "case") if nodeid in s.all("h3")[0].text()]
    return section


# -- triage -------------------------------------------------------------------------------------


def test_the_triage_list_comes_right_after_the_header(page):
    main = page.all("main")[0]
    elements = [child for child in main.children if isinstance(child, Node)]
    assert [e.tag for e in elements[:2]] == ["header", "section"]
    assert elements[1].attrs.get("id") == "triage"


def test_triage_lists_every_case_that_did_not_pass_fail_error_non_strict_each_linking_to_it(
    page,
):
    items = page.by_id("triage").all("li")
    assert [item.all("span", "badge")[0].text() for item in items] == [
        "FAIL",
        "ERROR",
        "NON-STRICT",
    ]
    for item, name in zip(items, ("family", "errors", "should"), strict=True):
        (link,) = item.all("a")
        target = page.by_id(link.attrs["href"].removeprefix("#"))
        assert target is not None and target.tag == "section" and "case" in target.classes
        assert f"test_{name}_with_a_long_name" in target.all("h3")[0].text()
        assert link.text() == target.all("h3")[0].text()
    family, errors, should = (item.words() for item in items)
    assert "broke LLM-TC-1 LLM-TC-2 · not judged LLM-TXT-1" in family
    assert "each call must be emitted once" in family and "expected calls" not in family
    assert "could not be carried out" in errors and "TimeoutError: the IUT did not" in errors
    assert "more detail" not in errors
    assert "LLM-TC-4" in should and "second line" not in should


def test_every_case_section_links_back_to_the_triage_list(page):
    for section in page.all("section", "case"):
        assert "#triage" in [a.attrs.get("href") for a in section.all("a")]


def test_a_passing_run_says_there_is_nothing_to_triage():
    passing = [case for case in cases() if case.outcome in (Outcome.PASS, Outcome.UNSUPPORTED)]
    page = tree(render_html(report_of(passing)))
    triage = page.by_id("triage")
    assert triage.all("p", "clear")[0].words() == (
        "Nothing to triage: no case failed, errored or broke a SHOULD rule."
    )
    assert "1 case UNSUPPORTED" in triage.words()
    assert not triage.all("li") and not page.all("section", "case")


# -- a failure's details ----------------------------------------------------------------------


def test_a_failure_shows_its_expectations_seed_replay_command_and_unjudged_ids(page):
    section = _section_of(page, "test_family_")
    words = section.words()
    assert "broke: LLM-TC-1 (MUST), LLM-TC-2 (MUST)" in words
    assert "not judged: LLM-TXT-1 (MUST)" in words
    assert "seed 7" in words and "property family: 41 examples ran" in words
    assert section.all("pre", "message")[0].text().startswith("[LLM-TC-1, LLM-TC-2] each call")
    assert section.all("pre", "command")[0].text() == (
        "voicewire run --iut reference --replay voicewire-repro/llm.x.json"
    )
    assert "the failing example's traffic" in words
    # A plain case's journal is its sessions' (no example to speak of).
    plain = cases()[3].model_copy(update={"examples": None})
    other = _section_of(tree(render_html(report_of([plain]))), "test_family_")
    assert "the case's simulator sessions" in other.words()


def test_the_journal_shows_the_request_body_whole_and_folds_headers_and_token(page):
    journal = _section_of(page, "test_family_").all("table", "journal")[0]
    request = journal.all("tr", "req")[0]
    data = request.all("td", "data")[0]
    assert "POST /v1/chat/completions" in data.all("div", "head")[0].text()
    # The body is there in full: far beyond the 400 characters an entry once had, and not
    # crowded out by the headers before it.
    body = data.all("div", "body")[0].text()
    assert len(body) > 1500 and BODY_TEXT in body
    assert "body, 1,700 bytes" in body
    folded = {d.all("summary")[0].text(): d for d in data.all("details")}
    assert set(folded) == {"headers (20)", "token"}
    assert all("open" not in d.attrs for d in folded.values())
    header_lines = folded["headers (20)"].all("pre")[0].text().splitlines()
    assert header_lines == [f"{name}: {value}" for name, value in HEADERS.items()]
    assert "X-Long-Header-0" not in "".join(
        c if isinstance(c, str) else c.text() for c in data.children if c not in folded.values()
    )
    assert "vw-case-1" in folded["token"].text()


def test_the_journal_marks_notes_and_the_entries_it_left_out(page):
    journal = _section_of(page, "test_family_").all("table", "journal")[0]
    rows = journal.all("tbody")[0].all("tr")
    assert [row.all("td")[2].text() for row in rows if "gap" not in row.classes][:3] == [
        "in",
        "note",
        "out",
    ]
    (gap,) = journal.all("tr", "gap")
    assert "17 entries left out" in gap.words()
    assert rows[-1].all("td", "data")[0].text() == "data: [DONE]\\n\\n"


def test_journal_data_past_the_bound_is_cut_and_says_how_much():
    body = "b" * (JOURNAL_DATA_CHARS + 250)
    case = cases()[3].model_copy(
        update={"journal": [_request(body=body), _frame("sse_event", "s" * 5000)]}
    )
    journal = tree(render_html(report_of([case]))).all("table", "journal")[0]
    texts = [cell.text() for cell in journal.all("td", "data")]
    assert "b" * JOURNAL_DATA_CHARS + "… (+250 chars not shown; --json keeps them)" in texts[0]
    assert "b" * (JOURNAL_DATA_CHARS + 1) not in texts[0]
    assert texts[1].endswith(
        "s" * JOURNAL_DATA_CHARS + "… (+1,000 chars not shown; --json keeps them)"
    )


def test_a_body_the_simulator_cut_says_so():
    case = cases()[3].model_copy(
        update={"journal": [_request(body='{"partial', body_length=90000, truncated=True)]}
    )
    data = tree(render_html(report_of([case]))).all("td", "data")[0]
    assert "body, 90,000 bytes; cut by the simulator's journal:" in data.words()


# -- fitting the page ----------------------------------------------------------------------------


def test_tables_are_laid_out_to_the_page_width_and_long_words_wrap(page):
    style = page.all("style")[0].text()
    assert re.search(r"table \{[^}]*table-layout: fixed", style)
    assert re.search(r"th, td \{[^}]*overflow-wrap: anywhere", style)
    assert re.search(r"pre \{[^}]*white-space: pre-wrap[^}]*overflow-wrap: anywhere", style)
    # Each table says how wide its columns are; one column of each takes what is left.
    for table in page.all("table"):
        (colgroup,) = table.all("colgroup")
        widths = [col.attrs.get("style") for col in colgroup.all("col")]
        assert widths.count(None) == 1, widths
    # Node ids may break at their joints.
    link = page.by_id("triage").all("a")[0]
    assert link.all("wbr")


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs chromium (headless)")
def test_the_page_fits_1400_pixels_in_chromium(tmp_path):
    # A worst case: every case failed with a long node id, long unbroken journal data.
    long_cases = [
        case.model_copy(
            update={
                "nodeid": f"suites/llm/test_{i}.py::test_" + "x" * 180 + f"[{'p' * 120}]",
                "outcome": Outcome.FAIL,
                "broken_ids": case.spec_ids,
                "message": "m" * 3000,
                "journal": [_request(), _frame("sse_event", "d" * 3000)],
            }
        )
        for i, case in enumerate(cases())
    ]
    page = render_html(report_of(long_cases)).replace(
        "</body>",
        "<script>document.body.setAttribute('data-width', "
        "document.documentElement.scrollWidth)</script></body>",
    )
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    dom = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000",
         "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    width = re.search(r'data-width="(\d+)"', dom)
    assert width is not None, dom[-2000:]
    assert int(width.group(1)) <= 1400


def test_report_text_stays_text_in_the_new_parts():
    hostile = '<b onclick="x()">&amp;</b>'
    case = cases()[3].model_copy(
        update={
            "nodeid": f"suites/llm/t.py::{hostile}",
            "message": hostile,
            "journal": [_request(headers={hostile: hostile}, body=hostile, method=hostile)],
        }
    )
    page = render_html(report_of([case]))
    assert "<b onclick" not in page
    parsed = tree(page)
    assert hostile in parsed.by_id("triage").text()
    data = parsed.all("td", "data")[0]
    assert data.all("div", "body")[0].text().endswith(hostile)
    assert data.all("div", "head")[0].text().startswith(hostile)
    assert f"{hostile}: {hostile}" in data.all("details")[0].text()
