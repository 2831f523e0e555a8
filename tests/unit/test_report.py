"""The report writers of ``voicewire run``: console table, JSON, JUnit XML, HTML."""

from __future__ import annotations

import json
import os
import re
import stat
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from voicewire.harness.events import event_json_schema
from voicewire.harness.protocols import TABLE
from voicewire.harness.report import (
    SCHEMA_FILES,
    render_console,
    render_html,
    schema_documents,
    verdict,
    write_html_report,
    write_json_report,
    write_junit_report,
    write_schemas,
)
from voicewire.harness.verdicts import (
    CaseResult,
    Outcome,
    Repro,
    RunReport,
    report_json_schema,
    requirement_results,
    run_exit_code,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

# -- a realistic run ---------------------------------------------------------------------------

_SCENARIO = {
    "name": "tool-calls-fragmented",
    "time_scale": 0.01,
    "rules": [
        {
            "match": {"text": "weather"},
            "reply": {
                "tool_calls": [
                    {"name": "get_weather", "arguments": '{"city": "Paris"}', "id": "call_1"},
                    {"name": "get_time", "arguments": '{"tz": "CET"}', "id": "call_2"},
                ],
                "fragmentation": {"mode": "random", "seed": 0, "max_piece": 3},
            },
        }
    ],
}


def _journal() -> list[dict[str, Any]]:
    chunks = [
        '{"id":"chatcmpl-vw000003","object":"chat.completion.chunk","choices":[{"index":0,'
        '"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function",'
        '"function":{"name":"get_weather","arguments":""}}]}}]}',
        '{"id":"chatcmpl-vw000003","object":"chat.completion.chunk","choices":[{"index":0,'
        '"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"ci"}}]}}]}',
        '{"id":"chatcmpl-vw000003","object":"chat.completion.chunk","choices":[{"index":0,'
        '"delta":{"tool_calls":[{"index":1,"id":"call_2","type":"function",'
        '"function":{"name":"get_time","arguments":"{\\"tz\\": \\"CET\\"}"}}]}}]}',
        '{"id":"chatcmpl-vw000003","object":"chat.completion.chunk","choices":[{"index":0,'
        '"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ty\\": \\"Paris\\"}"}}]},'
        '"finish_reason":"tool_calls"}]}',
    ]
    entries: list[dict[str, Any]] = [
        {
            "seq": 40,
            "t": 2.311,
            "scenario": "tool-calls-fragmented",
            "exchange": 3,
            "direction": "in",
            "kind": "http_request",
            "data": {
                "method": "POST",
                "path": "/v1/chat/completions",
                "headers": {
                    "Authorization": "Bearer <redacted>",
                    "Content-Type": "application/json",
                },
                "body": {
                    "model": "openai/gpt-4.1-mini",
                    "stream": True,
                    "messages": [{"role": "user", "content": "what's the weather in Paris?"}],
                },
            },
        },
        {
            "seq": 41,
            "t": 2.312,
            "scenario": "tool-calls-fragmented",
            "exchange": 3,
            "direction": "note",
            "kind": "rule",
            "data": {"rule": 0, "attempt": 1},
        },
        {
            "seq": 42,
            "t": 2.312,
            "scenario": "tool-calls-fragmented",
            "exchange": 3,
            "direction": "out",
            "kind": "http_response",
            "data": {"status": 200, "content_type": "text/event-stream"},
        },
    ]
    for offset, chunk in enumerate(chunks):
        entries.append(
            {
                "seq": 43 + offset,
                "t": 2.313 + offset / 1000,
                "scenario": "tool-calls-fragmented",
                "exchange": 3,
                "direction": "out",
                "kind": "sse_event",
                "data": f"data: {chunk}\n\n",
                "event": offset,
            }
        )
    entries.append(
        {"kind": "sse_event", "direction": "out", "t": 2.318, "data": "data: [DONE]\n\n"}
    )
    return entries


_FAIL_MESSAGE = "\n".join(
    [
        "[LLM-TC-2] tool calls were not reassembled: expected 2 calls "
        '[get_weather({"city": "Paris"}), get_time({"tz": "CET"})], got 1 '
        '[get_time({"tz": "CET"})]; index 0 was dropped when index 1 appeared',
        "events:",
        *(
            f"  0.{i:03d} llm.chunk {{'id': 'chatcmpl-vw000003', 'content': 'x{i}'}}"
            for i in range(30)
        ),
        "LAST LINE OF THE FAILURE",
    ]
)


def _case(nodeid: str, outcome: Outcome, spec_ids: list[str], **fields: Any) -> CaseResult:
    suite = nodeid.split("/")[1]
    fields.setdefault("capability", "llm.chat")
    return CaseResult(
        nodeid=nodeid,
        name=nodeid.rsplit("::", 1)[-1],
        suite=suite,
        direction="server" if fields["capability"] == "llm.server" else "client",
        spec_ids=spec_ids,
        outcome=outcome,
        duration=fields.pop("duration", 0.05),
        **fields,
    )


def realistic_cases() -> list[CaseResult]:
    """A run with several areas and every outcome."""
    replay = "voicewire-repro/llm.test_tool_call_assembly.json"
    return [
        _case(
            "suites/chat_context/test_truncate.py::test_instructions_kept_once",
            Outcome.PASS,
            ["CTX-TRUNC-3"],
            capability="chat_context",
        ),
        _case(
            "suites/chat_context/test_truncate.py::test_truncate_is_idempotent",
            Outcome.PASS,
            ["CTX-TRUNC-5"],
            capability="chat_context",
        ),
        _case(
            "suites/chat_context/test_truncate.py::test_negative_max_items_raises",
            Outcome.NON_STRICT,
            ["CTX-TRUNC-6"],
            capability="chat_context",
            broken_ids=["CTX-TRUNC-6"],
            message="[CTX-TRUNC-6] truncate(-1) returned the context unchanged; "
            "expected ValueError",
        ),
        _case(
            "suites/llm/test_request.py::test_tools_omitted_without_tools",
            Outcome.PASS,
            ["LLM-REQ-2"],
        ),
        _case("suites/llm/test_request.py::test_provider_header_sent", Outcome.PASS, ["LLM-REQ-5"]),
        _case(
            "suites/llm/test_tool_calls.py::test_tool_call_assembly",
            Outcome.FAIL,
            ["LLM-TC-1", "LLM-TC-2"],
            broken_ids=["LLM-TC-2"],
            message=_FAIL_MESSAGE,
            duration=1.734,
            journal=_journal(),
            repro=Repro(
                case_file={
                    "format": "voicewire-replay/1",
                    "family": "tool-call-fragmentation",
                    "case": "test_tool_call_assembly",
                    "suite": "llm",
                    "iut": "reference",
                    "input": {"scenario": _SCENARIO, "request": {"text": "weather"}},
                },
                scenario_yaml=yaml.safe_dump(_SCENARIO, sort_keys=False),
                command=f"voicewire run --iut reference --replay {replay}",
            ),
        ),
        _case(
            "suites/llm/test_tool_calls.py::test_pending_calls_on_length",
            Outcome.PASS,
            ["LLM-TC-3"],
        ),
        _case(
            "suites/llm/test_usage.py::test_usage_after_output",
            Outcome.PASS,
            ["LLM-USG-1", "LLM-SSE-4"],
        ),
        _case(
            "suites/retry/test_retry.py::test_retry_waits", Outcome.PASS, ["RETRY-4"], duration=0.62
        ),
        _case(
            "suites/retry/test_retry.py::test_no_retry_after_output",
            Outcome.ERROR,
            ["RETRY-2", "RETRY-6"],
            message="TimeoutError: the IUT did not finish the operation within 60 s",
        ),
        _case(
            "suites/retry/test_fallback.py::test_fails_over_before_output",
            Outcome.UNSUPPORTED,
            ["FALLBACK-1"],
            capability="llm.fallback",
            message="UNSUPPORTED: reference-lite does not declare 'llm.fallback'",
        ),
        _case(
            "suites/retry/test_fallback.py::test_probe_restores_llm",
            Outcome.UNSUPPORTED,
            ["FALLBACK-4"],
            capability="llm.fallback",
            message="UNSUPPORTED: reference-lite does not declare 'llm.fallback'",
        ),
        _case(
            "suites/server/test_framing.py::test_stream_ends_with_done",
            Outcome.UNSUPPORTED,
            ["LLM-SSE-1"],
            capability="llm.server",
            message="UNSUPPORTED: reference-lite does not declare 'llm.server'",
        ),
    ]


def make_report(cases: list[CaseResult] | None = None, *, strict: bool = False) -> RunReport:
    """A RunReport of ``cases`` (default: :func:`realistic_cases`), built as the runner does."""
    cases = realistic_cases() if cases is None else cases
    return RunReport(
        iut="reference-lite",
        capabilities=["chat_context", "llm.chat"],
        suites=["llm", "retry", "chat_context", "server"],
        seed=7,
        hypothesis_profile="ci",
        strict=strict,
        started_at="2025-01-31T09:30:00+00:00",
        duration=12.34,
        totals={o.value: sum(c.outcome is o for c in cases) for o in Outcome},
        requirements=requirement_results(cases),
        cases=cases,
        exit_code=run_exit_code(cases, strict=strict),
    )


def _with(case: CaseResult, **fields: Any) -> CaseResult:
    return case.model_copy(update=fields)


@pytest.fixture
def report() -> RunReport:
    return make_report()


# -- console -----------------------------------------------------------------------------------


def test_console_table_has_one_row_per_requirement_with_its_result(report):
    text = render_console(report)
    for requirement in report.requirements:
        rows = [line for line in text.splitlines() if line.startswith(f"  {requirement.id} ")]
        assert len(rows) == 1, requirement.id
        assert requirement.outcome.value in rows[0].split()
        assert requirement.level in rows[0].split()
        assert requirement.direction in rows[0].split()
    outcomes = {r.id: r.outcome for r in report.requirements}
    assert outcomes["LLM-TC-2"] is Outcome.FAIL
    assert outcomes["LLM-TC-1"] is Outcome.PASS
    assert outcomes["CTX-TRUNC-6"] is Outcome.NON_STRICT
    assert outcomes["RETRY-2"] is Outcome.ERROR
    assert outcomes["FALLBACK-1"] is Outcome.UNSUPPORTED


def test_console_table_groups_by_area_in_catalog_order_and_fits_100_columns(report):
    text = render_console(report)
    headings = [line.split()[0] for line in text.splitlines() if line.endswith("───")]
    assert headings == ["llm", "retry", "fallback", "chat-context"]
    table = text.split("\n\n")[1]
    assert all(len(line) <= 100 for line in table.splitlines())
    row = next(line for line in text.splitlines() if line.startswith("  LLM-REQ-2 "))
    assert row.split()[:5] == ["LLM-REQ-2", "MUST", "client", "PASS", "1/1"]
    # Titles wrap under their column: nothing of a rule's title is cut away.
    assert "…" not in table
    words = " ".join(line[52:] for line in table.splitlines()[1:] if not line.endswith("───"))
    for requirement in report.requirements:
        assert " ".join(requirement.title.split()) in " ".join(words.split())
    assert "voicewire explain ID prints a rule in full" in text


def test_console_details_a_fail_with_its_broken_ids_trimmed_message_and_repro(report):
    text = render_console(report)
    block = text.split("FAIL  suites/llm/test_tool_calls.py::test_tool_call_assembly")[1]
    block = block.split("\n\n")[0]
    assert "broke:    LLM-TC-2 (MUST)" in block
    assert "checks:   LLM-TC-1, LLM-TC-2" in block
    assert "│ [LLM-TC-2] tool calls were not reassembled" in block
    # 33 message lines, the first wrapped into 3 to fit: the console keeps 20 and says how
    # many it left off.
    assert '│   get_time({"tz": "CET"})], got 1' in block
    assert "LAST LINE OF THE FAILURE" not in block
    assert "… 15 more lines" in block
    assert all(len(line) <= 100 for line in block.splitlines() if "│" in line)
    assert "replay:   voicewire run --iut reference --replay voicewire-repro/" in block
    assert "      name: tool-calls-fragmented" in block
    assert "      time_scale: 0.01" in block


def test_console_details_non_strict_and_error_cases(report):
    text = render_console(report)
    assert (
        "NON-STRICT  suites/chat_context/test_truncate.py::test_negative_max_items_raises" in text
    )
    assert "broke:    CTX-TRUNC-6 (SHOULD)" in text
    error = text.split("ERROR  suites/retry/test_retry.py::test_no_retry_after_output")[1]
    assert "the case could not be carried out" in error.split("\n\n")[0]
    assert "TimeoutError: the IUT did not finish" in error.split("\n\n")[0]
    # Problems come worst first: FAIL, then ERROR, then NON-STRICT.
    assert (
        text.index("FAIL  suites/")
        < text.index("ERROR  suites/")
        < text.index("NON-STRICT  suites/")
    )
    assert "PASS  suites/" not in text


def test_console_summarises_unsupported_cases_per_capability(report):
    text = render_console(report)
    assert (
        "UNSUPPORTED  3 cases need capabilities the IUT does not declare: "
        "llm.fallback (2), llm.server (1)" in text
    )
    assert "test_probe_restores_llm" not in text
    verbose = render_console(report, verbose=True)
    assert "      suites/retry/test_fallback.py::test_probe_restores_llm" in verbose


def test_console_verbose_shows_the_whole_message_and_the_journal(report):
    text = render_console(report, verbose=True)
    assert "LAST LINE OF THE FAILURE" in text
    assert "more line" not in text
    assert "journal (last 8 entries):" in text
    assert "sse_event" in text
    assert "data: [DONE]\\n\\n" in text


def test_console_summary_and_verdict_lines(report):
    lines = render_console(report).splitlines()
    assert lines[-2] == (
        "voicewire: 13 cases — 7 PASS, 1 NON-STRICT, 1 FAIL, 1 ERROR, 3 UNSUPPORTED · "
        f"{len(report.requirements)} requirements · seed 7 · iut reference-lite · 12.3 s"
    )
    assert lines[-1] == "verdict: NOT CONFORMANT — 1 case broke a MUST rule · exit 1"


def _only(*outcomes: Outcome) -> list[CaseResult]:
    wanted = set(outcomes)
    return [case for case in realistic_cases() if case.outcome in wanted]


@pytest.mark.parametrize(
    ("outcomes", "strict", "word", "exit_code"),
    [
        ((Outcome.PASS,), False, "CONFORMANT", 0),
        ((Outcome.PASS, Outcome.NON_STRICT, Outcome.UNSUPPORTED), False, "CONFORMANT", 0),
        ((Outcome.PASS, Outcome.NON_STRICT), True, "NOT CONFORMANT", 1),
        ((Outcome.PASS, Outcome.ERROR), False, "INCONCLUSIVE", 1),
        ((Outcome.PASS, Outcome.ERROR, Outcome.FAIL), False, "NOT CONFORMANT", 1),
        ((Outcome.UNSUPPORTED,), False, "NOTHING RAN", 5),
        ((), False, "NOTHING RAN", 5),
    ],
)
def test_verdict_follows_the_outcomes(outcomes, strict, word, exit_code):
    report = make_report(_only(*outcomes), strict=strict)
    assert report.exit_code == exit_code
    assert verdict(report)[0] == word
    assert render_console(report).splitlines()[-1].startswith(f"verdict: {word} — ")


def test_console_conformant_run_says_so_plainly():
    text = render_console(make_report(_only(Outcome.PASS)))
    assert "did not pass" not in text
    assert "UNSUPPORTED" not in text
    assert text.splitlines()[-2].startswith("voicewire: 7 cases — 7 PASS · ")
    assert text.splitlines()[-1] == (
        "verdict: CONFORMANT — every one of 7 cases that ran passed · exit 0"
    )


def test_console_empty_run():
    text = render_console(make_report([]))
    assert "(no requirement was checked)" in text
    assert "voicewire: 0 cases · 0 requirements · seed 7" in text
    assert text.splitlines()[-1] == "verdict: NOTHING RAN — no case was selected · exit 5"


def test_console_color_paints_only_the_result_column_and_verdict(report):
    plain = render_console(report)
    colored = render_console(report, color=True)
    assert ANSI.search(plain) is None
    assert ANSI.sub("", colored) == plain
    painted = re.findall(r"\x1b\[[0-9;]+m([^\x1b]*)\x1b\[0m", colored)
    words = {o.value for o in Outcome} | {"NOT CONFORMANT"}
    assert painted and set(painted) <= words
    assert len(ANSI.findall(colored)) == 2 * len(painted)


def test_console_spells_out_control_characters_from_the_iut(report):
    hostile = "clear\x1b[2J screen\x9b31m\x00\x7f \ud800\rover"
    cases = [_with(report.cases[5], message=hostile)]
    for color in (False, True):
        text = render_console(make_report(cases), color=color)
        # A carriage return is a line break like any other; nothing reaches the terminal raw.
        plain = ANSI.sub("", text)
        assert "│ clear\\x1b[2J screen\\x9b31m\\x00\\x7f \\ud800\n    │ over\n" in plain
        assert re.search("[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f-\x9f\ud800-\udfff]", text) is None
        # Painted: two table results, the FAIL heading, the verdict; two codes each.
        assert len(ANSI.findall(text)) == (8 if color else 0)


def test_console_rejects_wrong_argument_types(report):
    with pytest.raises(TypeError, match="report must be a RunReport"):
        render_console(report.model_dump())
    with pytest.raises(TypeError, match="color must be a bool"):
        render_console(report, color=1)
    with pytest.raises(TypeError, match="verbose must be a bool"):
        render_console(report, verbose="yes")


# -- JSON --------------------------------------------------------------------------------------


def test_json_round_trips_to_the_same_report(report, tmp_path):
    path = write_json_report(report, tmp_path / "report.json")
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n") and text.startswith('{\n  "format": "voicewire-report/1"')
    assert RunReport.model_validate_json(text) == report
    assert json.loads(text) == report.model_dump(mode="json")


def test_json_validates_against_the_report_schema(report, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    path = write_json_report(report, tmp_path / "report.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(report_json_schema())
    assert list(validator.iter_errors(document)) == []
    document["cases"][0]["outcome"] = "MAYBE"
    del document["seed"]
    problems = {tuple(error.path) for error in validator.iter_errors(document)}
    assert problems == {("cases", 0, "outcome"), ()}


def test_committed_schemas_are_up_to_date():
    assert tuple(schema_documents()) == SCHEMA_FILES
    for name, schema in schema_documents().items():
        committed = json.loads((DOCS / name).read_text(encoding="utf-8"))
        assert committed == schema, (
            f"docs/{name} is stale; regenerate with: python -c "
            "'from voicewire.harness.report import write_schemas; write_schemas(\"docs\")'"
        )
    assert schema_documents()["events.schema.json"] == event_json_schema(TABLE)


def test_write_schemas_writes_every_schema_file(tmp_path):
    written = write_schemas(tmp_path / "docs")
    assert [p.name for p in written] == list(SCHEMA_FILES)
    for path in written:
        assert json.loads(path.read_text(encoding="utf-8")) == schema_documents()[path.name]


# -- JUnit XML ---------------------------------------------------------------------------------


def _junit(report: RunReport, tmp_path: Path) -> ET.Element:
    return ET.parse(write_junit_report(report, tmp_path / "junit.xml")).getroot()


def _counts(element: ET.Element) -> dict[str, int]:
    return {key: int(element.get(key)) for key in ("tests", "failures", "errors", "skipped")}


def test_junit_parses_and_its_counts_match_the_testcases(report, tmp_path):
    root = _junit(report, tmp_path)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["chat_context", "llm", "retry", "server"]
    for suite in suites:
        cases = suite.findall("testcase")
        assert _counts(suite) == {
            "tests": len(cases),
            "failures": sum(c.find("failure") is not None for c in cases),
            "errors": sum(c.find("error") is not None for c in cases),
            "skipped": sum(c.find("skipped") is not None for c in cases),
        }
    assert _counts(root) == {"tests": 13, "failures": 1, "errors": 1, "skipped": 3}
    assert sum(_counts(s)["tests"] for s in suites) == 13


def _testcase(root: ET.Element, name: str) -> ET.Element:
    (case,) = [c for c in root.iter("testcase") if c.get("name") == name]
    return case


def _properties(case: ET.Element) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in case.iter("property")}


def test_junit_represents_each_outcome(report, tmp_path):
    root = _junit(report, tmp_path)
    fail = _testcase(root, "test_tool_call_assembly")
    assert fail.get("classname") == "voicewire.suites.llm.test_tool_calls"
    assert fail.get("time") == "1.734"
    failure = fail.find("failure")
    assert failure.get("type") == "FAIL"
    assert failure.get("message").startswith("[LLM-TC-2] tool calls were not reassembled")
    assert "LAST LINE OF THE FAILURE" in failure.text
    assert "replay: voicewire run --iut reference --replay" in failure.text
    assert _properties(fail) == {
        "voicewire.outcome": "FAIL",
        "voicewire.spec": "LLM-TC-1 LLM-TC-2",
        "voicewire.broken": "LLM-TC-2",
        "voicewire.capability": "llm.chat",
        "voicewire.replay": report.cases[5].repro.command,
    }

    non_strict = _testcase(root, "test_negative_max_items_raises")
    assert [child.tag for child in non_strict] == ["properties", "system-out"]
    assert _properties(non_strict)["voicewire.outcome"] == "NON-STRICT"
    assert "truncate(-1) returned the context unchanged" in non_strict.find("system-out").text

    error = _testcase(root, "test_no_retry_after_output").find("error")
    assert error.get("message").startswith("TimeoutError")

    skipped = _testcase(root, "test_probe_restores_llm").find("skipped")
    assert skipped.get("message") == "UNSUPPORTED: reference-lite does not declare 'llm.fallback'"

    passed = _testcase(root, "test_retry_waits")
    assert [child.tag for child in passed] == ["properties"]
    assert _properties(passed)["voicewire.spec"] == "RETRY-4"


def test_junit_counts_non_strict_as_failure_only_when_strict(tmp_path):
    cases = _only(Outcome.PASS, Outcome.NON_STRICT)
    lenient = _junit(make_report(cases, strict=False), tmp_path)
    strict = _junit(make_report(cases, strict=True), tmp_path)
    assert _counts(lenient)["failures"] == 0
    assert _counts(strict)["failures"] == 1
    failure = _testcase(strict, "test_negative_max_items_raises").find("failure")
    assert failure.get("type") == "NON-STRICT"
    assert _properties(strict.find("testsuite"))["voicewire.verdict"] == "NOT CONFORMANT"


def test_junit_spells_out_characters_xml_cannot_carry(report, tmp_path):
    hostile = "\x1b[31mred\x1b[0m \x00 <b>&amp;</b> ]]> \ud800"
    cases = [_with(report.cases[5], message=hostile, name="test_\x07bell")]
    root = _junit(make_report(cases), tmp_path)
    case = root.find("testsuite/testcase")
    assert case.get("name") == "test_\\x07bell"
    assert "\\x1b[31mred\\x1b[0m \\x00 <b>&amp;</b> ]]> \\ud800" in case.find("failure").text


@given(message=st.text(), name=st.text(min_size=1))
def test_junit_parses_whatever_the_text(tmp_path_factory, message, name):
    base = realistic_cases()
    cases = [_with(base[5], message=message, name=name), _with(base[2], message=message)]
    root = _junit(make_report(cases), tmp_path_factory.mktemp("junit"))
    assert _counts(root) == {"tests": 2, "failures": 1, "errors": 0, "skipped": 0}
    assert len(list(root.iter("testcase"))) == 2


# -- HTML --------------------------------------------------------------------------------------


class _Tags(HTMLParser):
    """Every start tag with its attributes, the ids defined, and the text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser


_ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "main", "header", "div", "h1", "h2",
    "h3", "dl", "dt", "dd", "span", "b", "strong", "code", "table", "thead", "tbody", "tr",
    "th", "td", "a", "section", "pre", "label", "input", "p", "footer", "script", "details",
    "summary", "ol", "li", "colgroup", "col", "wbr",
}  # fmt: skip


def test_html_is_self_contained(report, tmp_path):
    page = write_html_report(report, tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    parsed = _parse(page)
    tags = [tag for tag, _ in parsed.tags]
    assert "link" not in tags and "img" not in tags and "iframe" not in tags
    for tag, attrs in parsed.tags:
        assert "src" not in attrs, tag
        assert attrs.get("href") is None or attrs["href"].startswith("#"), attrs
    assert "http://" not in page and "https://" not in page
    assert "url(" not in page and "@import" not in page
    assert tags.count("script") == 1 and tags.count("style") == 1


def test_html_links_resolve_to_anchors_in_the_page(report):
    parsed = _parse(render_html(report))
    ids = {attrs["id"] for _, attrs in parsed.tags if attrs.get("id")}
    hrefs = {attrs["href"][1:] for _, attrs in parsed.tags if attrs.get("href")}
    assert hrefs and hrefs <= ids
    # Every case is reachable from the requirements table.
    assert {f"case-{i}" for i in range(1, len(report.cases) + 1)} <= ids
    assert {f"req-{r.id}" for r in report.requirements} <= ids


def test_html_shows_header_requirements_and_case_details(report):
    text = " ".join(" ".join(_parse(render_html(report)).text).split())
    assert "NOT CONFORMANT" in text
    assert "IUT reference-lite" in text and "seed 7" in text and "hypothesis profile ci" in text
    assert "strict no" in text and "duration 12.3 s" in text
    assert "LLM-TC-2 MUST client FAIL 0/1" in text
    assert "FALLBACK-1 MUST client UNSUPPORTED 0/1" in text
    assert "LAST LINE OF THE FAILURE" in text
    assert "broke: LLM-TC-2 (MUST)" in text
    assert "voicewire run --iut reference --replay voicewire-repro/" in text
    assert "name: tool-calls-fragmented" in text
    assert 'data: {"id":"chatcmpl-vw000003"' in text
    assert "data: [DONE]\\n\\n" in text
    assert "TimeoutError: the IUT did not finish" in text


def test_html_cuts_journal_data_past_its_bound_and_says_how_much(report):
    big = {"t": 1.0, "direction": "out", "kind": "sse_event", "data": "x" * 5000}
    cases = [_with(report.cases[5], journal=[big])]
    text = "".join(_parse(render_html(make_report(cases))).text)
    assert "x" * 4000 + "… (+1,000 chars not shown; --json keeps them)" in text
    assert "x" * 4001 not in text


def test_html_escapes_hostile_text(report):
    hostile = '<script>alert("pwned")</script><img src=x onerror=alert(1)> & "quotes"'
    case = _with(
        report.cases[5],
        message=hostile,
        name=hostile,
        journal=[{"t": 0.1, "direction": "<in>", "kind": hostile, "data": hostile}],
    )
    page = render_html(make_report([case]))
    parsed = _parse(page)
    assert [tag for tag, _ in parsed.tags].count("script") == 1
    assert "img" not in [tag for tag, _ in parsed.tags]
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in page
    assert hostile in "".join(parsed.text)


@given(text=st.text())
def test_html_never_lets_report_text_become_markup(text):
    case = _with(
        realistic_cases()[5],
        message=text,
        name=text or "x",
        broken_ids=["LLM-TC-2"],
        journal=[{"t": 0.0, "direction": text, "kind": text, "data": text}],
    )
    parsed = _parse(render_html(make_report([case])))
    assert {tag for tag, _ in parsed.tags} <= _ALLOWED_TAGS
    assert [tag for tag, _ in parsed.tags].count("script") == 1


# -- atomic writes -----------------------------------------------------------------------------

_WRITERS = [write_json_report, write_junit_report, write_html_report]


@pytest.mark.parametrize("writer", _WRITERS)
def test_write_creates_parents_and_leaves_no_temporary_file(writer, report, tmp_path):
    target = tmp_path / "out" / "nested" / "report.file"
    assert writer(report, str(target)) == target
    first = target.read_bytes()
    writer(make_report(_only(Outcome.PASS)), target)
    assert target.read_bytes() != first
    assert os.listdir(target.parent) == ["report.file"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


@pytest.mark.parametrize("writer", _WRITERS)
def test_write_to_an_unwritable_path_raises_oserror_naming_it(writer, report, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(OSError, match=re.escape(str(blocker / "report.out"))):
        writer(report, blocker / "report.out")
    directory = tmp_path / "a-directory"
    directory.mkdir()
    with pytest.raises(IsADirectoryError, match=re.escape(str(directory))):
        writer(report, directory)
    assert sorted(os.listdir(tmp_path)) == ["a-directory", "not-a-directory"]
    assert os.listdir(directory) == []


@pytest.mark.parametrize("writer", _WRITERS)
def test_write_survives_a_lone_surrogate(writer, report, tmp_path):
    cases = [_with(report.cases[5], message="bad \ud800 text")]
    text = writer(make_report(cases), tmp_path / "report.out").read_text(encoding="utf-8")
    if writer is write_json_report:
        # Spelled out as text (JSON parsers reject even an escaped lone surrogate).
        assert RunReport.model_validate_json(text).cases[0].message == "bad \\ud800 text"
    else:
        assert "bad \\ud800 text" in text


@pytest.mark.parametrize("writer", _WRITERS)
def test_write_rejects_wrong_argument_types(writer, report, tmp_path):
    with pytest.raises(TypeError, match=r"path must be a str or os\.PathLike"):
        writer(report, 42)
    with pytest.raises(TypeError, match="report must be a RunReport"):
        writer(report.model_dump(), tmp_path / "r")
    assert list(tmp_path.iterdir()) == []
