"""Scenario documents: loading, validation errors with file and document path."""

from __future__ import annotations

import json
import time

import pytest
from voicewire.simulators.scenario import (
    MatchTimeout,
    Scenario,
    ScenarioError,
    build_scenario,
    load_scenario,
    parse_scenario,
)

GOOD_YAML = """
name: weather
time_scale: 0.01
rules:
  - match: {text: "weather", model: "openai/.*"}
    reply:
      content: "Let me check."
      tool_calls:
        - {name: get_weather, arguments: {location: Paris}}
        - {name: get_weather, arguments: '{"location": "Tok'}
      fragmentation: {strategy: random, size: 3, seed: 7, tool_calls: interleaved}
    timing: {ttft: 0.2, inter_chunk: 0.01}
    faults:
      - {kind: status, attempt: 1, code: 503, retry_after: 1}
      - {kind: disconnect, attempt: 2, at_event: 3, mode: reset}
      - {kind: byte_split, sizes: [1, 5]}
"""


def test_a_yaml_scenario_loads(tmp_path):
    path = tmp_path / "weather.yaml"
    path.write_text(GOOD_YAML)
    scenario = load_scenario(path)
    rule = scenario.rules[0]
    assert scenario.name == "weather" and scenario.time_scale == 0.01
    assert rule.reply.tool_calls[0].arguments_text == '{"location": "Paris"}'
    assert rule.reply.tool_calls[1].arguments_text == '{"location": "Tok'  # raw, verbatim
    assert rule.reply.effective_finish_reason == "tool_calls"
    assert [f.kind for f in rule.faults_for(1)] == ["status", "byte_split"]
    assert [f.kind for f in rule.faults_for(2)] == ["disconnect", "byte_split"]


def test_json_and_yaml_give_the_same_scenario(tmp_path):
    import yaml

    (tmp_path / "a.yaml").write_text(GOOD_YAML)
    (tmp_path / "a.json").write_text(json.dumps(yaml.safe_load(GOOD_YAML)))
    assert load_scenario(tmp_path / "a.yaml") == load_scenario(tmp_path / "a.json")


def test_scenarios_can_be_built_in_python():
    scenario = Scenario(rules=[{"reply": {"content": "hi"}}])
    assert scenario.rules[0].reply.content == "hi"
    assert Scenario.echo().on_unmatched == "echo"


@pytest.mark.parametrize(
    ("document", "path", "fragment"),
    [
        ({"rules": [{"reply": {"contnet": "typo"}}]}, "rules[0].reply.contnet", "Extra inputs"),
        ({"rules": [{"match": {"text": "("}}]}, "rules[0].match.text", "regular expression"),
        (
            {"rules": [{"reply": {"tool_calls": [{"name": "a"}, {"arguments": {}}]}}]},
            "rules[0].reply.tool_calls[1].name",
            "Field required",
        ),
        ({"rules": [{"faults": [{"kind": "explode"}]}]}, "rules[0].faults[0]", "does not match"),
        (
            {"rules": [{"faults": [{"kind": "status", "code": 200}]}]},
            "rules[0].faults[0].code",
            "greater than or equal to 400",
        ),
        (
            {"rules": [{"faults": [{"kind": "stall", "at_event": 1}]}]},
            "rules[0].faults[0].seconds",
            "required",
        ),
        ({"rules": [{"faults": [{"kind": "byte_split"}]}]}, "rules[0].faults[0]", "exactly one of"),
        ({"rules": [{"faults": [{"kind": "ws_close", "at_event": 0}]}]}, "rules[0]", "WebSocket"),
        (
            {"rules": [{"faults": [{"kind": "binary_frame", "at_event": 0}]}]},
            "rules[0]",
            "WebSocket",
        ),
        (
            {
                "rules": [
                    {
                        "match": {"endpoint": "stt"},
                        "faults": [{"kind": "binary_frame", "at_event": 0, "hex": "f"}],
                    }
                ]
            },
            "rules[0].faults[0].hex",
            "pattern",
        ),
        ({"time_scale": -1}, "time_scale", "greater than or equal to 0"),
        ({"name": "has space"}, "name", "pattern"),
        (
            {"rules": [{"reply": {"fragmentation": {"strategy": "lines"}}}]},
            "rules[0].reply.fragmentation.strategy",
            "Input should be",
        ),
        ([], "<root>", "expected a mapping"),
    ],
)
def test_invalid_documents_name_the_path_and_the_problem(document, path, fragment):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(document, source="doc.yaml")
    problems = dict(info.value.problems)
    assert path in problems, info.value.problems
    assert fragment in problems[path]
    assert str(info.value).startswith("invalid scenario doc.yaml:")


def test_yaml_syntax_errors_carry_line_and_column(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("rules:\n  - reply: {content: 'unterminated\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    ((where, problem),) = info.value.problems
    assert where.startswith("line ") and "column" in where and "invalid YAML" in problem
    assert str(path) in str(info.value)


def test_json_syntax_errors_carry_line_and_column(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"rules": [\n  {"reply": }\n]}')
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.problems[0][0] == "line 2 column 13"


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("missing.yaml", None, "No such file"),
        ("scenario.toml", "x = 1", "unknown scenario format"),
        ("bin.yaml", b"\xff\xfe", "not UTF-8"),
    ],
)
def test_file_level_problems(tmp_path, name, content, fragment):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ScenarioError, match=fragment):
        load_scenario(path)


# -- patterns bounded in time (SRV-7) ------------------------------------------------------------


@pytest.mark.spec("SRV-7")
@pytest.mark.parametrize("pattern", [r"^(a|aa)+$", r"^(\w|\w\w)+$", r"^(x|xx|xxx)+y"])
def test_a_catastrophic_pattern_is_refused_when_the_scenario_loads(pattern):
    with pytest.raises(ScenarioError) as caught:
        build_scenario("bad", {"match": {"text": pattern}})
    [(path, message)] = caught.value.problems
    assert path == "rules[0].match.text"
    assert "catastrophic backtracking" in message


@pytest.mark.parametrize("pattern", [r"weather|forecast", r"^\s*hello\b", r"(ab+)+c", r"[a-z]{2,}"])
def test_ordinary_patterns_load(pattern):
    assert build_scenario("ok", {"match": {"text": pattern}}).rules[0].match.text == pattern


def _slow_scenario() -> Scenario:
    # Passes the load-time probe, but backtracks for far longer than any timeout on a long
    # text without a match.
    return build_scenario(
        "slow",
        {"match": {"text": r"(\w+\s?)*$"}, "reply": {"content": "slow"}},
        {"match": {"text": "ab"}, "reply": {"content": "fast"}},
        {"reply": {"content": "no pattern"}},
    )


@pytest.mark.spec("SRV-7")
def test_a_pattern_that_runs_out_of_time_counts_as_no_match_and_is_reported():
    text = "ab " * 300_000 + "!"  # about 1 MiB
    timed_out: list[tuple[int, MatchTimeout]] = []
    started = time.monotonic()
    chosen = _slow_scenario().first_match(
        "llm",
        model="m",
        text=text,
        attempt=1,
        timeout=0.05,
        on_timeout=lambda index, problem: timed_out.append((index, problem)),
    )
    took = time.monotonic() - started
    assert took < 0.5  # the timeout bounds all patterns of the request, not each
    assert chosen is not None
    index, _ = chosen
    assert timed_out and timed_out[0][0] == 0 and timed_out[0][1].field == "text"
    # The budget is shared: a later pattern gets what is left, a rule without one matches.
    assert index in (1, 2)
    if index == 2:
        assert [i for i, _ in timed_out] == [0, 1]


def test_a_fast_match_is_unaffected_by_the_timeout():
    chosen = _slow_scenario().first_match("llm", model="m", text="ab!", attempt=1, timeout=0.05)
    assert chosen is not None and chosen[0] == 0
