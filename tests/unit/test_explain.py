"""Tests of ``voicewire explain`` (harness/explain_cli.py) and of the known-deviation data it
prints (harness/llm_livekit_deviations.py, stt_livekit_deviations.py,
tts_livekit_deviations.py and inworld_livekit_deviations.py, registered in
harness/protocols.py).

These check the tool and the catalog's data, not SPEC rules, so they carry no spec markers.
Collecting the suites takes a few seconds: one test runs ``voicewire explain LLM-TC-3`` as a
user does (the real catalog), one module fixture serves the tests that need the catalog's
cases, and the others pass explain() a stand-in.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from voicewire.harness import explain_cli
from voicewire.harness.capabilities import ProtocolSpec
from voicewire.harness.cli import main
from voicewire.harness.explain_cli import explain, known_deviations
from voicewire.harness.inworld_livekit_deviations import INWORLD_DEVIATIONS
from voicewire.harness.llm_livekit_deviations import DEVIATIONS
from voicewire.harness.protocols import TABLE
from voicewire.harness.requirements import (
    REQUIREMENTS,
    SECTIONS,
    KnownDeviation,
    requirements_in_area,
)
from voicewire.harness.runner import HarnessError, catalog
from voicewire.harness.stt_livekit_deviations import STT_DEVIATIONS
from voicewire.harness.tts_livekit_deviations import TTS_DEVIATIONS

REPO = Path(__file__).resolve().parents[2]
UPSTREAM_REPORT = REPO / "docs" / "upstream-livekit-1.8.9.md"


def _flat(text: str) -> str:
    """``text`` with every run of whitespace made one space: wrapped output compares with
    the catalog's text this way."""
    return " ".join(text.split())


def _no_cases() -> dict[str, list[str]]:
    return {}


@pytest.fixture(scope="module")
def suite_catalog() -> list:
    """The real case catalog, collected once for the module."""
    return catalog()


# -- a rule in full -------------------------------------------------------------------------


def test_explain_a_rule_prints_everything_a_user_needs(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["explain", "LLM-TC-3"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    out = captured.out
    rule = REQUIREMENTS["LLM-TC-3"]
    assert out.splitlines()[0] == f"LLM-TC-3  {rule.title}"
    assert re.search(r"^  level +MUST \(breaking it is a FAIL\)$", out, re.M)
    assert re.search(r"^  direction +client ", out, re.M)
    assert re.search(r"^  section +§2\.3 Client output: ChatChunk events$", out, re.M)
    assert _flat(rule.text) in _flat(out)
    # The cases come from the suites themselves, by the node IDs reports print.
    assert (
        "suites/llm/test_stream.py::test_pending_tool_calls_survive_an_unusual_end"
        "[finish_reason_length]" in out
    )
    assert re.search(r"checked by \d+ cases:", out)
    # And the upstream deviation, with where it comes from.
    assert "livekit (livekit-agents 1.8.9) reports FAIL" in out
    assert "inference/llm.py:684" in out
    assert "Traceback" not in out


def test_text_is_wrapped_to_the_terminal_width(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    explain(["RETRY-5", "§2.4"], sys.stdout, cases=_no_cases)
    out = capsys.readouterr().out
    long_lines = [line for line in out.splitlines() if len(line) > 60]
    assert long_lines == []
    assert _flat(REQUIREMENTS["RETRY-5"].text) in _flat(out)


def test_width_is_capped_for_wide_terminals(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    explain(["LLM-ROB-1"], sys.stdout, cases=_no_cases)
    assert max(len(line) for line in capsys.readouterr().out.splitlines()) <= 100


def test_rule_lookup_ignores_case_and_expands_ranges(capsys):
    explain(["llm-tc-1..3", "auth-4"], sys.stdout, width=100, cases=_no_cases)
    out = capsys.readouterr().out
    heads = [line.split()[0] for line in out.splitlines() if line and not line[0].isspace()]
    assert heads == ["LLM-TC-1", "LLM-TC-2", "LLM-TC-3", "AUTH-4"]


def test_a_rule_named_twice_is_printed_once(capsys):
    explain(["RETRY-3", "RETRY-1..3"], sys.stdout, width=100, cases=_no_cases)
    heads = [line for line in capsys.readouterr().out.splitlines() if line.startswith("RETRY-")]
    assert [head.split()[0] for head in heads] == ["RETRY-3", "RETRY-1", "RETRY-2"]


def test_a_rule_without_cases_or_deviations_says_so(capsys):
    explain(["SRV-3"], sys.stdout, width=100, cases=_no_cases)
    out = capsys.readouterr().out
    assert "checked by: no case yet" in out
    assert "known deviations: none recorded" in out
    assert "§7 Servers in general" in out


def test_a_should_rule_says_what_breaking_it_means(capsys):
    explain(["LLM-TC-4"], sys.stdout, width=100, cases=_no_cases)
    out = capsys.readouterr().out
    assert "SHOULD (breaking it is NON-STRICT" in out
    assert "livekit (livekit-agents 1.8.9) reports NON-STRICT" in out


def test_deviation_cases_are_marked_among_the_checking_cases(capsys):
    cases = {"RETRY-3": ["suites/retry/test_retry.py::test_retryable_client_error_is_retried[499]"]}
    explain(["RETRY-3"], sys.stdout, width=100, cases=lambda: cases)
    out = capsys.readouterr().out
    assert "test_retryable_client_error_is_retried[499]  [livekit]" in out
    assert "found by:" not in out  # every finding case is in the list above


def test_uncollectable_suites_still_print_the_rule_and_exit_3(capsys, monkeypatch):
    def broken() -> dict[str, list[str]]:
        raise HarnessError("pytest could not collect the suites (exit 4):\nmore\nlines")

    monkeypatch.setattr(explain_cli, "_catalog_cases", broken)
    assert main(["explain", "LLM-TC-3"]) == explain_cli.EXIT_HARNESS_ERROR
    captured = capsys.readouterr()
    assert "checked by: unknown" in captured.out
    assert _flat(REQUIREMENTS["LLM-TC-3"].text) in _flat(captured.out)
    assert captured.err.strip().splitlines() == [
        "voicewire explain: cases not listed: pytest could not collect the suites (exit 4):"
    ]


# -- sections and areas ---------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["2.4", "§2.4"])
def test_a_section_lists_its_rules_with_whole_titles(capsys, spelling):
    assert main(["explain", spelling]) == 0
    out = capsys.readouterr().out
    assert out.startswith("§2.4 Errors and retries (client)\n")
    assert "retry_interval=2.0" in out  # what the section's prose sets up
    flat = _flat(out)
    for n in range(1, 8):
        rule = REQUIREMENTS[f"RETRY-{n}"]
        assert f"{rule.id} {rule.level} {rule.direction} {_flat(rule.title)}" in flat
    assert "LLM-ROB-1" not in out  # §2.4a is a section of its own


def test_a_parent_section_lists_its_subsections(capsys):
    explain(["2"], sys.stdout, width=100)
    out = capsys.readouterr().out
    for number in ("2", "2.1", "2.2", "2.3", "2.4", "2.4a", "2.5"):
        assert f"§{number} {SECTIONS[number].heading}" in out
    assert "FALLBACK-5" in out
    assert "STT-C-1" not in out


def test_a_section_without_rules_says_so(capsys):
    explain(["0"], sys.stdout, width=100)
    out = capsys.readouterr().out
    assert out.startswith("§0 How to read it\n")
    assert "(no rules in this section)" in out


@pytest.mark.parametrize("spelling", ["llm", "LLM"])
def test_an_area_lists_its_rules_by_section(capsys, spelling):
    assert main(["explain", spelling]) == 0
    out = capsys.readouterr().out
    rules = requirements_in_area("llm")
    assert out.startswith(f"area llm: {len(rules)} rules\n")
    for rule in rules:
        assert f"{rule.id} {rule.level} {rule.direction} {_flat(rule.title)}" in _flat(out)
    assert "§2.1 Request (client MUST)" in out
    assert "RETRY-1" not in out


def test_an_area_may_be_spelled_as_its_suite(capsys):
    explain(["chat_context"], sys.stdout, width=100)
    assert capsys.readouterr().out.startswith("area chat-context: ")


# -- names that name nothing ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("LLM-TC-9", "closest: LLM-TC-"),
        ("LLMTC3", "LLM-TC-3"),
        ("retyr", "retry"),
        ("9.9", "no section '9.9'"),
        ("§2.6", "§2.5"),
        ("QWERTYUIOP", "areas are auth, llm"),
        ("AUTH-1..9", "AUTH-7"),
    ],
)
def test_an_unknown_name_is_one_line_with_the_closest_names(capsys, name, expected):
    assert main(["explain", name]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("voicewire explain: ")
    assert repr(name) in lines[0] or name in lines[0]
    assert expected in lines[0]


def test_one_unknown_name_among_good_ones_prints_nothing_else(capsys):
    assert main(["explain", "LLM-TC-3", "NOPE-1", "2.4", "ALSO-2"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 2


def test_the_installed_command_exits_2_without_a_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "voicewire.harness.cli", "explain", "LLM-TC-33"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert "LLM-TC-3" in done.stderr and "Traceback" not in done.stderr


# -- the known-deviation data ---------------------------------------------------------------


def test_livekit_deviations_are_registered_with_the_livekit_implementation():
    llm = TABLE.protocol("llm")
    assert llm.deviations["livekit"] == DEVIATIONS
    assert "reference" not in llm.deviations
    assert TABLE.protocol("stt").deviations["livekit"] == STT_DEVIATIONS
    assert TABLE.protocol("tts").deviations["livekit"] == TTS_DEVIATIONS
    assert TABLE.protocol("inworld").deviations["livekit"] == INWORLD_DEVIATIONS
    by_rule = known_deviations()
    assert [impl for impl, _ in by_rule["LLM-TC-3"]] == ["livekit"]
    assert [impl for impl, _ in by_rule["STT-RETRY-1"]] == ["livekit"]
    assert [impl for impl, _ in by_rule["TTS-OUT-2"]] == ["livekit"]
    # A rule of every client protocol deviates once per protocol it is broken in.
    assert [d for _, d in by_rule["CLI-ROB-1"]] == [
        d for d in STT_DEVIATIONS + TTS_DEVIATIONS + INWORLD_DEVIATIONS if d.rule == "CLI-ROB-1"
    ]
    assert "AUTH-1" not in by_rule


def test_a_rule_deviates_once_per_implementation():
    spec = ProtocolSpec(name="toy", capabilities=())
    twice = (DEVIATIONS[0], DEVIATIONS[0])
    with pytest.raises(ValueError, match="twice"):
        spec.with_implementation("toy", object, deviations=twice)
    assert spec.with_implementation("toy", object).deviations == {}


def _report_table() -> list[tuple[str, str, str]]:
    """The human report's tables of requirements that did not pass, in order: (ID, level,
    result) rows (a rule broken in two protocols, CLI-ROB-1, has a row in each table)."""
    rows = []
    for line in UPSTREAM_REPORT.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0] in REQUIREMENTS and cells[2] in ("FAIL", "NON-STRICT"):
            rows.append((cells[0], cells[1], cells[2]))
    return rows


def test_deviation_data_agrees_with_the_human_report():
    # The report's tables, LLM then STT then TTS then Inworld, list the recorded deviations in
    # their order.
    table = _report_table()
    recorded = DEVIATIONS + STT_DEVIATIONS + TTS_DEVIATIONS + INWORLD_DEVIATIONS
    assert len(table) >= 7, "the report's table is no longer recognised"
    assert [rule for rule, _, _ in table] == [d.rule for d in recorded]
    for (_, level, result), deviation in zip(table, recorded, strict=True):
        assert (str(REQUIREMENTS[deviation.rule].level), deviation.outcome) == (level, result)
        package = "livekit-plugins-inworld" if deviation in INWORLD_DEVIATIONS else "livekit-agents"
        assert deviation.release == f"{package} 1.8.9"
        assert re.search(r"\.py:\d+", deviation.source), deviation.rule


def test_each_deviation_is_found_by_cases_that_check_its_rule(suite_catalog):
    # A name may be a case of two suites (test_push_patterns of stt and of inworld): one of
    # them checks the rule.
    by_name: dict[str, list[Any]] = {}
    for entry in suite_catalog:
        by_name.setdefault(entry.name, []).append(entry)
    for deviation in DEVIATIONS + STT_DEVIATIONS + TTS_DEVIATIONS + INWORLD_DEVIATIONS:
        for name in deviation.cases:
            assert name in by_name, f"{deviation.rule}: no case {name!r} in the suites"
            assert any(deviation.rule in e.spec_ids for e in by_name[name]), (deviation.rule, name)


def test_explain_lists_the_real_cases_of_a_rule(suite_catalog, capsys):
    def cases() -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for entry in suite_catalog:
            for rid in entry.spec_ids:
                found.setdefault(rid, []).append(entry.nodeid)
        return found

    explain(["RETRY-3"], sys.stdout, width=100, cases=cases)
    out = capsys.readouterr().out
    expected = [e.nodeid for e in suite_catalog if "RETRY-3" in e.spec_ids]
    assert expected
    assert f"checked by {len(expected)} case" in out
    for nodeid in expected:
        assert nodeid in out


def test_deviation_rejects_a_rule_outside_the_catalog():
    with pytest.raises(ValueError, match="NOPE-1"):
        KnownDeviation(rule="NOPE-1", release="x 1", explanation="e", source="s", cases=("t",))
