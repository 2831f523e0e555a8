"""The scenario format's JSON schema (docs/scenario.schema.json), the scenario guide
(docs/scenarios.md) and the example files (docs/examples/scenarios/): the committed schema is
what the models give, the schema and the loader agree on what is a scenario, and every example
the documentation shows loads (or is refused) as it says."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from voicewire.reference.llm.wire import DONE_EVENT
from voicewire.simulators import REGISTRY, SimulatedProtocol
from voicewire.simulators.llm import plan_chunks, read_request
from voicewire.simulators.scenario import (
    ENDPOINTS,
    SCENARIO_SCHEMA_FILE,
    EndpointSpec,
    ScenarioError,
    load_scenario,
    parse_scenario,
    scenario_json_schema,
    scenario_schema_text,
    write_scenario_schema,
)

jsonschema = pytest.importorskip("jsonschema")

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
SCHEMA_PATH = DOCS / SCENARIO_SCHEMA_FILE
GUIDE = DOCS / "scenarios.md"
EXAMPLES = DOCS / "examples" / "scenarios"
MODELINE = "# yaml-language-server: $schema=../../scenario.schema.json\n"
REGENERATE = (
    "python -c 'from voicewire.simulators.scenario import write_scenario_schema; "
    'write_scenario_schema("docs")\''
)


def committed_validator() -> Any:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def schema_errors(document: Any, schema: dict[str, Any] | None = None) -> list[str]:
    validator = (
        jsonschema.Draft202012Validator(schema) if schema is not None else committed_validator()
    )
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def loader_problems(document: Any) -> list[tuple[str, str]]:
    try:
        parse_scenario(document)
    except ScenarioError as exc:
        return exc.problems
    return []


# -- the committed schema -----------------------------------------------------------------------


def test_the_committed_schema_is_what_the_models_give():
    committed = SCHEMA_PATH.read_text(encoding="utf-8")
    assert committed == scenario_schema_text(), (
        f"docs/{SCENARIO_SCHEMA_FILE} is stale; regenerate it with: {REGENERATE}"
    )
    assert committed.endswith("}\n") and committed.startswith('{\n  "$schema": ')


def test_write_scenario_schema_writes_the_committed_text(tmp_path):
    path = write_scenario_schema(tmp_path)
    assert path == tmp_path / SCENARIO_SCHEMA_FILE
    assert path.read_text(encoding="utf-8") == scenario_schema_text()
    # Generating twice gives the same schema (nothing accumulates in the models' extras).
    assert scenario_json_schema() == scenario_json_schema()


def test_the_schema_is_a_valid_draft_2020_12_schema():
    schema = scenario_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "voicewire scenario"


def _properties(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "<root>", schema
    yield from schema["$defs"].items()


def test_every_model_and_field_has_help_for_editors():
    undocumented = []
    for name, definition in _properties(scenario_json_schema()):
        if not definition.get("description"):
            undocumented.append(name)
        for field, spec in definition.get("properties", {}).items():
            if not spec.get("description"):
                undocumented.append(f"{name}.{field}")
            # Docstring markup is turned into Markdown code spans for editors.
            assert "``" not in spec.get("description", ""), f"{name}.{field}"
            assert ":class:" not in spec.get("description", ""), f"{name}.{field}"
    assert undocumented == [], f"add a description (Field(description=...)) to {undocumented}"


# -- the schema agrees with the loader ----------------------------------------------------------

BASE: dict[str, Any] = {
    "name": "base",
    "rules": [
        {
            "match": {"text": "weather"},
            "reply": {"content": "Let me check."},
            "faults": [{"kind": "status", "attempt": 1, "code": 503}],
        },
        {"match": {"text": "hello"}, "raw": {"body": [{"text": "hi"}]}},
    ],
}


def _with(path: str, value: Any) -> dict[str, Any]:
    """BASE with the value at a dotted path (``rules.0.reply.content``) set; ``...`` deletes."""
    document = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node: Any = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    key: Any = int(last) if isinstance(node, list) else last
    if value is ...:
        del node[key]
    else:
        node[key] = value
    return document


def _tool(**fields: Any) -> dict[str, Any]:
    return _with("rules.0.reply.tool_calls", [fields])


def _fault(**fields: Any) -> dict[str, Any]:
    return _with("rules.0.faults", [fields])


def _raw(**fields: Any) -> dict[str, Any]:
    return _with("rules.1.raw", {"body": [], **fields})


ACCEPTED = {
    "the base": BASE,
    "an empty document": {},
    "arguments as a mapping": _tool(name="f", arguments={"location": "Paris", "days": [1, 2]}),
    "arguments as a string": _tool(name="f", arguments='{"location": "Tok'),
    "a tool call with every field": _tool(name="f", id="x", omit_id=True, index=3),
    "usage false": _with("rules.0.reply.usage", False),
    "usage counts": _with("rules.0.reply.usage", {"prompt_tokens": 3, "cached_tokens": 1}),
    "reply null": _with("rules.0.reply", None),
    "no reply": _with("rules.0.reply", ...),
    "no match": _with("rules.0.match", ...),
    "the default endpoint named": _with("rules.0.match.endpoint", "llm"),
    "attempt null": _with("rules.0.match.attempt", None),
    "finish_reason null": _with("rules.0.reply.finish_reason", None),
    "byte_split sizes, seed null": _fault(kind="byte_split", sizes=[2, 3], seed=None),
    "byte_split seed": _fault(kind="byte_split", seed=4, max_size=2),
    "every event fault": _with(
        "rules.0.faults",
        [
            {"kind": "disconnect", "at_event": 1, "mode": "reset"},
            {"kind": "stall", "at_event": 1, "seconds": 2},
            {"kind": "delay", "at_event": 1, "seconds": 0.5},
            {"kind": "malformed", "at_event": 2, "line": "data: {"},
            {"kind": "error_event", "at_event": 2, "message": "m", "code": 529},
            {"kind": "drop", "at_event": 3},
            {"kind": "duplicate", "at_event": 3},
            {"kind": "reorder", "at_event": 3},
        ],
    ),
    "raw null beside a reply": _with("rules.0.raw", None),
    "raw headers": _raw(headers={"Content-Type": "text/plain", "X-Custom_1": "a b"}),
    "raw pieces": _raw(
        body=[{"text": "a"}, {"hex": "ff00"}, {"sleep": 0.5}, {"text": None, "hex": ""}]
    ),
    "raw end reset": _raw(end="reset", status=418),
    "echo when unmatched": _with("on_unmatched", "echo"),
}

REFUSED = {
    "an unknown reply key": _with("rules.0.reply.contnet", "x"),
    "an unknown top-level key": _with("$schema", "./scenario.schema.json"),
    "a content that is no string": _with("rules.0.reply.content", 5),
    "an unknown strategy": _with("rules.0.reply.fragmentation", {"strategy": "chunky"}),
    "usage true": _with("rules.0.reply.usage", True),
    "a tool call without a name": _tool(arguments={}),
    "a tool call with an empty name": _tool(name=""),
    "arguments that are a list": _tool(name="f", arguments=[1]),
    "an unknown endpoint": _with("rules.0.match.endpoint", "no-such"),
    "a pattern that is no string": _with("rules.0.match.text", 5),
    "attempt 0": _with("rules.0.match.attempt", 0),
    "a negative time scale": _with("time_scale", -1),
    "a name with a space": _with("name", "has space"),
    "rules that are a mapping": _with("rules", {"a": 1}),
    "an unknown fault": _fault(kind="explode", at_event=1),
    "a status below 400": _fault(kind="status", code=200),
    "a stall without seconds": _fault(kind="stall", at_event=1),
    "a fault without at_event": _fault(kind="drop"),
    "byte_split with sizes and seed": _fault(kind="byte_split", sizes=[1], seed=2),
    "byte_split with neither": _fault(kind="byte_split"),
    "byte_split with empty sizes": _fault(kind="byte_split", sizes=[]),
    "ws_close on the llm endpoint": _fault(kind="ws_close", at_event=1),
    "binary_frame on the llm endpoint": _fault(kind="binary_frame", at_event=1),
    "raw beside a reply": _with("rules.1.reply", {"content": "x"}),
    "raw beside a null reply": _with("rules.1.reply", None),
    "raw beside faults": _with("rules.1.faults", []),
    "raw beside timing": _with("rules.1.timing", {"ttft": 1}),
    "a raw piece of two kinds": _raw(body=[{"text": "a", "hex": "ff"}]),
    "an empty raw piece": _raw(body=[{}]),
    "odd hex": _raw(body=[{"hex": "fff"}]),
    "a raw sleep over an hour": _raw(body=[{"sleep": 3601}]),
    "a raw status as a string": _raw(status="200"),
    "a raw status of 99": _raw(status=99),
    "Content-Length": _raw(headers={"Content-Length": "3"}),
    "transfer-encoding in lower case": _raw(headers={"transfer-encoding": "chunked"}),
    "CONNECTION in upper case": _raw(headers={"CONNECTION": "close"}),
    "a header name with a space": _raw(headers={"Bad Header": "x"}),
    "a header value with a line feed": _raw(headers={"X-A": "a\nb"}),
    "a header value with a NUL": _raw(headers={"X-A": "a\x00b"}),
    "a header value that is no string": _raw(headers={"X-A": 1}),
    "on_unmatched maybe": _with("on_unmatched", "maybe"),
    "an unknown rule key": _with("rules.0.replies", {}),
    "an unknown fault key": _fault(kind="byte_split", seed=1, size=3),
    "an unknown raw piece key": _raw(body=[{"text": "a", "colour": "red"}]),
}


@pytest.mark.parametrize("document", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_the_schema_accepts_what_the_loader_accepts(document):
    assert loader_problems(document) == []
    assert schema_errors(document) == []


@pytest.mark.parametrize("document", REFUSED.values(), ids=REFUSED.keys())
def test_the_schema_refuses_what_the_loader_refuses(document):
    assert loader_problems(document) != []
    assert schema_errors(document) != []


def test_what_only_the_loader_can_check():
    # Pattern syntax and catastrophic backtracking are the loader's alone: documented in
    # docs/scenarios.md, and the schema lets them through rather than guess.
    for pattern in ["(unclosed", r"^(a|aa)+$"]:
        document = _with("rules.0.match.text", pattern)
        assert loader_problems(document) != []
        assert schema_errors(document) == []


# -- the schema follows the registry --------------------------------------------------------------


class ToyReply(BaseModel):
    """A toy protocol's reply."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    word: StrictStr = Field(description="The word to say.")


@pytest.fixture
def toy() -> Iterator[SimulatedProtocol]:
    protocol = SimulatedProtocol(
        name="schematoy",
        add_routes=lambda router, prefix: None,
        endpoints=(
            EndpointSpec("schematoy", ToyReply),
            EndpointSpec("schematoy.ws", ToyReply, websocket=True),
        ),
    )
    REGISTRY.register(protocol)
    yield protocol
    REGISTRY.unregister("schematoy")


def test_a_registered_protocol_extends_the_schema(toy):
    schema = scenario_json_schema()
    endpoints = schema["$defs"]["Match"]["properties"]["endpoint"]["enum"]
    # Every registered endpoint, sorted: the built-in protocols' and the toy's.
    assert endpoints == sorted(ENDPOINTS.names())
    assert {"llm", "schematoy", "schematoy.ws", "stt", "tts"} <= set(endpoints)
    assert "ToyReply" in schema["$defs"]
    ws_rule = {
        "match": {"endpoint": "schematoy.ws"},
        "reply": {"word": "hi"},
        "faults": [{"kind": "ws_close", "at_event": 0, "code": 4000}],
    }
    cases = {
        "a toy reply on a toy endpoint": ({"rules": [ws_rule]}, True),
        "ws_close on the websocket endpoint": ({"rules": [ws_rule]}, True),
        "ws_close on the plain toy endpoint": (
            {"rules": [{**ws_rule, "match": {"endpoint": "schematoy"}}]},
            False,
        ),
        "an LLM reply on a toy endpoint": (
            {"rules": [{"match": {"endpoint": "schematoy"}, "reply": {"content": "x"}}]},
            False,
        ),
        "a toy reply on the default endpoint": ({"rules": [{"reply": {"word": "x"}}]}, False),
        "an LLM reply on the default endpoint": ({"rules": [{"reply": {"content": "x"}}]}, True),
    }
    for name, (document, accepted) in cases.items():
        assert (loader_problems(document) == []) is accepted, name
        assert (schema_errors(document, schema) == []) is accepted, name
    # Without the protocol, its endpoints are gone from the schema again.
    REGISTRY.unregister("schematoy")
    try:
        assert "ToyReply" not in scenario_json_schema()["$defs"]
    finally:
        REGISTRY.register(toy)


# -- the example files ----------------------------------------------------------------------------

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))


def test_the_examples_are_there():
    names = {path.name for path in EXAMPLE_FILES}
    assert {"hello.yaml", "weather.yaml", "retry.yaml", "timing.yaml"} <= names


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_an_example_names_its_schema_loads_and_validates(path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith(MODELINE)
    # The modeline's relative path reaches the committed schema.
    assert (path.parent / "../../scenario.schema.json").resolve() == SCHEMA_PATH
    scenario = load_scenario(path)
    assert scenario.rules
    assert schema_errors(yaml.safe_load(text)) == []


# -- the guide's examples -------------------------------------------------------------------------

_FENCE = re.compile(r"^( *)```(\w*)$")
_MARKER = re.compile(r"^<!-- ([\w-]+) -->$")


def guide_blocks() -> list[tuple[str | None, str, str]]:
    """``(marker, language, text)`` of every fenced block of the guide; the marker is an HTML
    comment (``<!-- refused -->``) on the line before the fence."""
    blocks = []
    lines = GUIDE.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if fence is None or not fence.group(2):
            index += 1
            continue
        indent, language = len(fence.group(1)), fence.group(2)
        previous = lines[index - 1].strip() if index else ""
        marker = _MARKER.match(previous)
        end = lines.index(" " * indent + "```", index + 1)
        text = "\n".join(line[indent:] for line in lines[index + 1 : end]) + "\n"
        blocks.append((marker.group(1) if marker else None, language, text))
        index = end + 1
    return blocks


def marked(marker: str) -> str:
    [text] = [text for name, _, text in guide_blocks() if name == marker]
    return text


SCENARIO_BLOCKS = [
    (language, text)
    for marker, language, text in guide_blocks()
    if marker is None and language in ("yaml", "json")
]


def test_the_guide_shows_scenarios():
    assert len(SCENARIO_BLOCKS) >= 10


@pytest.mark.parametrize(
    ("language", "text"), SCENARIO_BLOCKS, ids=[f"block{i}" for i in range(len(SCENARIO_BLOCKS))]
)
def test_every_scenario_of_the_guide_loads_and_validates(language, text, tmp_path):
    path = tmp_path / f"example.{language}"
    path.write_text(text, encoding="utf-8")
    load_scenario(path)
    document = json.loads(text) if language == "json" else yaml.safe_load(text)
    assert schema_errors(document) == []


def test_the_guides_refused_file_is_refused_as_shown(tmp_path):
    bad = marked("refused")
    assert schema_errors(yaml.safe_load(bad)) != []
    (tmp_path / "bad.yaml").write_text(bad, encoding="utf-8")
    command, *shown = marked("refused-output").splitlines()
    assert command == "$ voicewire serve --scenario bad.yaml"
    # The command as a user runs it (the module of the console script), from the file's folder.
    done = subprocess.run(
        [sys.executable, "-m", "voicewire.harness.cli", *command.split()[2:]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == shown


def test_the_guides_event_listing_is_what_the_simulator_plans():
    [scenario] = [
        parse_scenario(yaml.safe_load(text))
        for language, text in SCENARIO_BLOCKS
        if language == "yaml" and yaml.safe_load(text).get("name") == "events"
    ]
    body = {
        "model": "openai/gpt-4.1-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    chunks = plan_chunks(
        scenario.rules[0].reply,
        request=read_request(json.dumps(body).encode()),
        completion_id="chatcmpl-x",
        created=0,
    )
    listing = []
    for number, chunk in enumerate(chunks):
        if not chunk["choices"]:
            listing.append(f"event {number}: the usage chunk")
            continue
        [choice] = chunk["choices"]
        line = f"event {number}: {json.dumps(choice['delta'])}"
        if choice["finish_reason"] is not None:
            line += f' with finish_reason "{choice["finish_reason"]}"'
        listing.append(line)
    assert DONE_EVENT == b"data: [DONE]\n\n"
    listing.append(f"event {len(listing)}: [DONE]")
    assert marked("events").splitlines() == listing


def test_the_guides_regeneration_command_is_the_one_the_test_names():
    assert REGENERATE in GUIDE.read_text(encoding="utf-8")
