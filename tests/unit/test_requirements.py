"""Tests of the requirement catalog (harness/requirements.py), including its agreement with SPEC.md.

These tests check the catalog, not the rules it lists, so they carry no spec markers: a marker
would claim coverage of a requirement that nothing here exercises.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from voicewire.harness.requirements import (
    AREAS,
    REQUIREMENTS,
    SECTIONS,
    Direction,
    KnownDeviation,
    Level,
    Requirement,
    Section,
    _catalog,
    _sections,
    closest_ids,
    expand_id_range,
    get_requirement,
    get_section,
    requirements_in_area,
    requirements_in_section,
)

ID_REGEX = re.compile(r"^[A-Z]+(-[A-Z]+)*-\d+$")

# The repo and the read-only shared folder sit side by side (/work/main, /work/shared), in a
# CI clone as well; tests/unit/ is two levels below the repo root.
SPEC_PATH = Path(__file__).resolve().parents[3] / "shared" / "SPEC.md"

# A rule bullet: "- AUTH-4 MUST (server): ...", "- IW-WS-3 (server): ...", "- LLM-REQ-1: ...";
# ID and keyword may be bold.
RULE_BULLET = re.compile(
    r"^\s*[-*]\s+\**(?P<id>[A-Z]+(?:-[A-Z]+)*-\d+)\**"
    r"(?:\s+\**(?P<level>MUST|SHOULD|MAY)\**)?"
    r"(?:\s*\((?P<tag>client|server)\))?"
)
SECTION_HEADING = re.compile(r"^#{1,4}\s+(?P<number>\d+[a-z]?(?:\.\d+[a-z]?)*)\.?\s")
# A section heading with its text: "## 2. LLM: ...", "### 2.4a Hostile streams (client)".
SECTION_TITLE = re.compile(
    r"^#{1,4}\s+(?P<number>\d+[a-z]?(?:\.\d+[a-z]?)*)\.?\s+(?P<heading>.+?)\s*$"
)

PREFIXES: dict[str, list[int]] = defaultdict(list)
for _rid in REQUIREMENTS:
    _prefix, _, _number = _rid.rpartition("-")
    PREFIXES[_prefix].append(int(_number))


def _valid_requirement_fields() -> dict[str, object]:
    return {
        "id": "LLM-TC-1",
        "level": Level.MUST,
        "direction": Direction.CLIENT,
        "section": "2.3",
        "area": "llm",
        "title": "Each tool call emitted once",
        "text": "Every tool call of the completion is emitted exactly once, arguments exact.",
    }


# --- the catalog's own invariants -------------------------------------------------------------


def test_keys_are_well_formed_ids_of_their_entries():
    assert len(REQUIREMENTS) > 0
    for rid, requirement in REQUIREMENTS.items():
        assert ID_REGEX.match(rid), rid
        assert requirement.id == rid


def test_every_field_is_valid():
    for requirement in REQUIREMENTS.values():
        assert isinstance(requirement.level, Level), requirement.id
        assert isinstance(requirement.direction, Direction), requirement.id
        assert requirement.area in AREAS, requirement.id
        assert re.fullmatch(r"\d+[a-z]?(\.\d+[a-z]?)*", requirement.section), requirement.id
        assert 0 < len(requirement.title) <= 80, requirement.id
        assert requirement.title == requirement.title.strip(), requirement.id


def test_each_id_prefix_is_numbered_one_to_n():
    # Ranges like "CTX-TRUNC-1..6" rely on numbering without gaps (SPEC.md may list a rule that
    # was split out beside its origin: LLM-REQ-6 follows LLM-REQ-4).
    for prefix, numbers in PREFIXES.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), prefix


def test_each_prefix_belongs_to_one_area():
    areas_by_prefix: dict[str, set[str]] = defaultdict(set)
    for requirement in REQUIREMENTS.values():
        areas_by_prefix[requirement.id.rpartition("-")[0]].add(requirement.area)
    assert all(len(areas) == 1 for areas in areas_by_prefix.values()), areas_by_prefix


def test_catalog_is_read_only():
    with pytest.raises(TypeError):
        REQUIREMENTS["NEW-1"] = REQUIREMENTS["AUTH-1"]  # type: ignore[index]
    with pytest.raises(AttributeError):
        REQUIREMENTS["AUTH-1"].level = Level.MAY  # type: ignore[misc]


def test_catalog_refuses_a_repeated_id():
    entry = Requirement(**_valid_requirement_fields())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="LLM-TC-1"):
        _catalog([entry, entry])


def test_levels_and_directions_print_as_their_values():
    assert f"{Level.SHOULD}" == "SHOULD"
    assert str(Direction.LIBRARY) == "library"
    assert Level.MUST == "MUST"


# --- spot checks against SPEC.md's text ---------------------------------------------------------


@pytest.mark.parametrize(
    ("rid", "level", "direction", "section", "area"),
    [
        ("CTX-TRUNC-6", Level.SHOULD, Direction.LIBRARY, "6.1", "chat-context"),
        ("LLM-TC-4", Level.SHOULD, Direction.CLIENT, "2.3", "llm"),
        ("STT-C-4", Level.SHOULD, Direction.CLIENT, "3.1", "stt"),
        ("IW-STT-END-1", Level.SHOULD, Direction.CLIENT, "5.3", "inworld-stt"),
        ("SRV-4", Level.SHOULD, Direction.SERVER, "7", "server"),
        ("TTS-S-2", Level.MAY, Direction.SERVER, "4", "tts"),
        ("AUTH-4", Level.MUST, Direction.SERVER, "1.1", "auth"),
        ("AUTH-6", Level.MUST, Direction.BOTH, "1.2", "auth"),
        ("LLM-REQ-4", Level.MUST, Direction.CLIENT, "2.1", "llm"),
        ("LLM-REQ-6", Level.SHOULD, Direction.CLIENT, "2.1", "llm"),
        ("LLM-SSE-2", Level.MUST, Direction.BOTH, "2.2", "llm"),
        ("RETRY-3", Level.MUST, Direction.CLIENT, "2.4", "retry"),
        ("FALLBACK-4", Level.SHOULD, Direction.CLIENT, "2.5", "fallback"),
        ("IW-HTTP-2", Level.MUST, Direction.BOTH, "5.1", "inworld-tts"),
        ("IW-VOICES-1", Level.MUST, Direction.BOTH, "5.1", "inworld-tts"),
        ("IW-WS-3", Level.MUST, Direction.SERVER, "5.2", "inworld-tts"),
        ("IW-STT-S-1", Level.MUST, Direction.SERVER, "5.3", "inworld-stt"),
        ("CTX-OAI-2", Level.MUST, Direction.LIBRARY, "6.3", "chat-context"),
    ],
)
def test_spot_check_against_spec(rid, level, direction, section, area):
    requirement = get_requirement(rid)
    assert (requirement.level, requirement.direction, requirement.section, requirement.area) == (
        level,
        direction,
        section,
        area,
    )


def test_catalog_matches_spec_document():
    if not SPEC_PATH.is_file():
        pytest.skip(f"SPEC.md not found at {SPEC_PATH} (the shared/ folder is not beside the repo)")
    section = None
    rules: list[tuple[str, str | None, str | None, str | None]] = []
    for line in SPEC_PATH.read_text(encoding="utf-8").splitlines():
        heading = SECTION_HEADING.match(line)
        if heading:
            section = heading["number"]
            continue
        bullet = RULE_BULLET.match(line)
        if bullet:
            rules.append((bullet["id"], bullet["level"], bullet["tag"], section))

    assert len(rules) > 80, "the bullet pattern no longer recognises SPEC.md's rule lines"
    spec_ids = [rid for rid, _, _, _ in rules]
    assert len(set(spec_ids)) == len(spec_ids), "SPEC.md repeats a rule ID"
    missing = sorted(set(spec_ids) - set(REQUIREMENTS))
    extra = sorted(set(REQUIREMENTS) - set(spec_ids))
    assert (missing, extra) == ([], []), "catalog and SPEC.md disagree on the set of IDs"
    assert list(REQUIREMENTS) == spec_ids, "catalog is not in SPEC.md's order"

    for rid, level, tag, rule_section in rules:
        requirement = REQUIREMENTS[rid]
        if level is not None:
            assert requirement.level == level, rid
        if tag is not None:
            assert requirement.direction == tag, rid
        assert requirement.section == rule_section, rid


# --- areas -------------------------------------------------------------------------------------


def test_areas_partition_the_catalog_in_order():
    combined = [req for area in AREAS for req in requirements_in_area(area)]
    assert sorted(r.id for r in combined) == sorted(REQUIREMENTS)
    for area in AREAS:
        in_area = requirements_in_area(area)
        assert in_area, area
        assert all(r.area == area for r in in_area)
        ordered = [r for r in REQUIREMENTS.values() if r.area == area]
        assert list(in_area) == ordered


def test_area_spot_checks():
    assert [r.id for r in requirements_in_area("fallback")] == [
        f"FALLBACK-{n}" for n in range(1, 6)
    ]
    assert [r.id for r in requirements_in_area("server")] == [f"SRV-{n}" for n in range(1, 8)]


def test_unknown_area_is_rejected():
    with pytest.raises(ValueError, match="area"):
        requirements_in_area("inworld")
    with pytest.raises(TypeError, match="area"):
        requirements_in_area(None)  # type: ignore[arg-type]


# --- lookup ------------------------------------------------------------------------------------


def test_get_requirement_returns_the_entry():
    assert get_requirement("LLM-TC-3") is REQUIREMENTS["LLM-TC-3"]


def test_typo_suggests_the_intended_id_for_every_id():
    for rid in REQUIREMENTS:
        # The two typos users make: a dropped last hyphen and the wrong case.
        prefix, _, number = rid.rpartition("-")
        for typo in (prefix + number, rid.lower()):
            with pytest.raises(KeyError) as excinfo:
                get_requirement(typo)
            message = excinfo.value.args[0]
            assert repr(typo) in message
            suggestions = message.split("did you mean ", 1)[1].rstrip("?").split(", ")
            assert suggestions[0] == rid, (typo, message)


def test_unrelated_id_gets_no_suggestion():
    with pytest.raises(KeyError) as excinfo:
        get_requirement("QWERTYUIOP")
    assert "did you mean" not in excinfo.value.args[0]


def test_get_requirement_rejects_non_strings():
    with pytest.raises(TypeError, match="rid"):
        get_requirement(4)  # type: ignore[arg-type]


# --- ranges ------------------------------------------------------------------------------------


def test_expand_id_range_examples():
    assert expand_id_range("AUTH-1..5") == [f"AUTH-{n}" for n in range(1, 6)]
    assert expand_id_range("CTX-TRUNC-1..6") == [f"CTX-TRUNC-{n}" for n in range(1, 7)]
    assert expand_id_range("STT-ORD-2..2") == ["STT-ORD-2"]
    assert expand_id_range("IW-STT-END-1") == ["IW-STT-END-1"]


@given(data=st.data())
def test_expand_id_range_yields_exactly_the_numbered_ids(data):
    prefix = data.draw(st.sampled_from(sorted(PREFIXES)), label="prefix")
    count = len(PREFIXES[prefix])
    first = data.draw(st.integers(1, count), label="first")
    last = data.draw(st.integers(first, count), label="last")
    ids = expand_id_range(f"{prefix}-{first}..{last}")
    assert ids == [f"{prefix}-{n}" for n in range(first, last + 1)]
    assert all(rid in REQUIREMENTS for rid in ids)


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "AUTH",
        "AUTH-",
        "AUTH-1..",
        "AUTH-..3",
        "AUTH-1...3",
        "AUTH-1-3",
        "auth-1..3",
        "AUTH-0..2",
        "AUTH-01..3",
        "AUTH-3..1",
        " AUTH-1..3",
        "AUTH-1..3 ",
        "AUTH-1..AUTH-3",
    ],
)
def test_malformed_range_is_rejected(spec):
    with pytest.raises(ValueError, match="spec"):
        expand_id_range(spec)


def test_range_with_unknown_ids_names_them():
    with pytest.raises(ValueError, match="AUTH-7, AUTH-8"):
        expand_id_range("AUTH-5..8")
    with pytest.raises(ValueError, match="NOPE-1"):
        expand_id_range("NOPE-1..2")
    with pytest.raises(ValueError, match="AUTH-9"):
        expand_id_range("AUTH-9")


def test_expand_id_range_rejects_non_strings():
    with pytest.raises(TypeError, match="spec"):
        expand_id_range(["AUTH-1..2"])  # type: ignore[arg-type]


@given(spec=st.text(alphabet="ACDEHLMORSTUVW-.0123456789 ", max_size=20))
def test_expand_id_range_either_names_known_ids_or_raises_value_error(spec):
    try:
        ids = expand_id_range(spec)
    except ValueError:
        return
    assert ids
    assert all(rid in REQUIREMENTS for rid in ids)


# --- constructing a Requirement ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("id", 7, TypeError),
        ("id", "llm-tc-1", ValueError),
        ("id", "LLM-TC-", ValueError),
        ("level", "MUST", TypeError),
        ("direction", "client", TypeError),
        ("section", 2.3, TypeError),
        ("section", "2.", ValueError),
        ("area", "inworld", ValueError),
        ("area", None, TypeError),
        ("title", "", ValueError),
        ("title", "x" * 81, ValueError),
        ("title", b"bytes", TypeError),
        ("section", "9.9", ValueError),
        ("text", "", ValueError),
        ("text", " padded ", ValueError),
        ("text", "short", ValueError),
        ("text", None, TypeError),
    ],
)
def test_requirement_rejects_bad_fields(field, value, error):
    fields = _valid_requirement_fields()
    fields[field] = value
    with pytest.raises(error, match=field):
        Requirement(**fields)  # type: ignore[arg-type]


# --- the rules' text and the section table ----------------------------------------------------


def _spec_lines() -> list[str]:
    if not SPEC_PATH.is_file():
        pytest.skip(f"SPEC.md not found at {SPEC_PATH} (the shared/ folder is not beside the repo)")
    return SPEC_PATH.read_text(encoding="utf-8").splitlines()


def _spec_rule_bodies() -> dict[str, str]:
    """Each rule's bullet in SPEC.md, continuation lines joined, without its remarks on
    upstream and on earlier drafts (those are not requirements: the catalog's text leaves
    them out, and known deviations are recorded per implementation)."""
    bodies: dict[str, list[str]] = {}
    current = None
    for line in _spec_lines():
        bullet = RULE_BULLET.match(line)
        if bullet:
            current = bullet["id"]
            bodies[current] = [line[bullet.end() :]]
        elif current is not None and line.startswith("  ") and line.strip():
            bodies[current].append(line)
        else:
            current = None
    remark = re.compile(r"\((?:[^()]*(?:[Uu]pstream|earlier drafts|Formerly)[^()]*)\)")
    return {
        rid: remark.sub("", " ".join(part.strip() for part in parts))
        for rid, parts in bodies.items()
    }


def test_every_rule_has_its_whole_text_and_a_known_section():
    for requirement in REQUIREMENTS.values():
        assert requirement.section in SECTIONS, requirement.id
        assert requirement.text == requirement.text.strip(), requirement.id
        assert len(requirement.text) > len(requirement.title), requirement.id
        # A rule is stated in sentences, not as a table cell.
        assert requirement.text.endswith((".", ")")), requirement.id


def test_rule_texts_keep_every_number_of_spec():
    # A restatement that drops "10 s", "408, 429 and 499" or "1000 characters" has lost a
    # condition; numbers are where paraphrases go wrong first.
    number = re.compile(r"(?<![\w.-])\d+(?:\.\d+)?(?![\w-])")
    missing = {
        rid: sorted(n for n in set(number.findall(body)) if n not in REQUIREMENTS[rid].text)
        for rid, body in _spec_rule_bodies().items()
    }
    assert {rid: found for rid, found in missing.items() if found} == {}


# SPEC.md code spans the catalog's text restates in words (both name the same condition).
_PARAPHRASED_CODE = {"len"}


def test_rule_texts_keep_every_name_spec_puts_in_code():
    # Every key, type, message and option SPEC.md writes as code (`session.finalize`,
    # `"timestampTransportStrategy"`, `APIConnectionError`) is in the text: a restated wire
    # shape that loses a field is a different shape.
    name = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*[A-Za-z0-9_]")
    missing: dict[str, list[str]] = {}
    for rid, body in _spec_rule_bodies().items():
        text = REQUIREMENTS[rid].text
        words = set(name.findall(text))
        for code in re.findall(r"`([^`]+)`", body):
            for token in name.findall(code):
                if token in words or token in text or token in _PARAPHRASED_CODE:
                    continue
                # "RECOGNITION_USAGE.audio_duration" may be said as the event's field.
                if "." in token and all(part in words for part in token.split(".")):
                    continue
                missing.setdefault(rid, []).append(token)
    assert missing == {}


def test_sections_match_spec_headings():
    headings = {}
    for line in _spec_lines():
        match = SECTION_TITLE.match(line)
        if match:
            headings[match["number"]] = match["heading"].replace("`", "")
    assert len(headings) > 20, "the heading pattern no longer recognises SPEC.md's sections"
    assert list(SECTIONS) == list(headings), "section numbers or their order differ"
    assert {n: s.heading for n, s in SECTIONS.items()} == headings


def test_every_section_of_a_rule_has_a_heading_and_a_parent():
    for section in SECTIONS.values():
        assert section.heading, section.number
        if section.parent is not None:
            assert section.parent in SECTIONS, section.number
    assert SECTIONS["2.4a"].parent == "2"
    assert SECTIONS["6a"].parent is None


@pytest.mark.parametrize("spelling", ["2.4", "§2.4", "§ 2.4", " 2.4 "])
def test_get_section_accepts_report_spellings(spelling):
    assert get_section(spelling) is SECTIONS["2.4"]


def test_get_section_accepts_spec_top_level_dot_and_rejects_unknown():
    assert get_section("7.") is SECTIONS["7"]
    assert get_section("§2.4a").heading == "Hostile streams (client)"
    for unknown in ("2.9", "8", "2.4b", "", "§"):
        with pytest.raises(KeyError, match="no section"):
            get_section(unknown)
    with pytest.raises(TypeError, match="number"):
        get_section(2.4)  # type: ignore[arg-type]


def test_requirements_in_section_includes_subsections_only():
    assert [r.id for r in requirements_in_section("2.4")] == [f"RETRY-{n}" for n in range(1, 8)]
    in_two = {r.id for r in requirements_in_section("2")}
    assert {"LLM-REQ-1", "LLM-SSE-6", "RETRY-7", "LLM-ROB-1", "FALLBACK-5"} <= in_two
    assert in_two == {r.id for r in REQUIREMENTS.values() if r.section.split(".")[0] == "2"}
    assert "CLI-ROB-1" not in {r.id for r in requirements_in_section("6")}  # 6a is its own
    assert requirements_in_section("0") == ()


def test_section_table_refuses_a_repeated_number_and_bad_fields():
    with pytest.raises(ValueError, match=r"2\.4"):
        _sections([Section("2.4", "A"), Section("2.4", "B")])
    with pytest.raises(ValueError, match="number"):
        Section("2.", "Heading")
    with pytest.raises(ValueError, match="heading"):
        Section("2", "")
    with pytest.raises(TypeError, match="summary"):
        Section("2", "Heading", None)  # type: ignore[arg-type]


def test_closest_ids_rank_the_intended_id_first():
    assert closest_ids("llm-tc-3")[0] == "LLM-TC-3"
    assert closest_ids("QWERTYUIOP") == []


# --- known deviations --------------------------------------------------------------------------


def _deviation_fields() -> dict[str, object]:
    return {
        "rule": "LLM-TC-3",
        "release": "some-client 1.0",
        "explanation": "Drops the pending call.",
        "source": "client.py:10",
        "cases": ("test_case",),
    }


def test_known_deviation_outcome_follows_the_level():
    assert KnownDeviation(**_deviation_fields()).outcome == "FAIL"  # type: ignore[arg-type]
    fields = {**_deviation_fields(), "rule": "LLM-TC-4"}
    assert KnownDeviation(**fields).outcome == "NON-STRICT"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value", "error", "match"),
    [
        ("rule", "LLM-TC-9", ValueError, "LLM-TC-9"),
        ("rule", "TTS-S-2", ValueError, "MAY"),
        ("rule", 3, TypeError, "rule"),
        ("release", "", ValueError, "release"),
        ("explanation", "", ValueError, "explanation"),
        ("source", None, TypeError, "source"),
        ("cases", (), ValueError, "cases"),
        ("cases", ["test_case"], ValueError, "cases"),
        ("cases", ("",), ValueError, "cases"),
    ],
)
def test_known_deviation_rejects_bad_fields(field, value, error, match):
    fields = {**_deviation_fields(), field: value}
    with pytest.raises(error, match=match):
        KnownDeviation(**fields)  # type: ignore[arg-type]
