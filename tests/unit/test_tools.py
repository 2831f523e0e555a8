"""Function tools, strict schemas and the request's ``tools`` / ``tool_choice`` fields."""

from __future__ import annotations

import asyncio
import copy
import enum
import json
import typing
from typing import Annotated, Any, Literal, Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field
from voicewire.reference.llm.tools import (
    FunctionTool,
    NamedToolChoice,
    RawFunctionTool,
    ToolContext,
    _parse_docstring,
    function_tool,
    to_fnc_ctx,
    to_openai_tool_choice,
    to_strict_json_schema,
)

# research/wire-capture.md §2: the ``tools`` list upstream sent for get_weather, byte for byte.
CAPTURED_TOOLS = (
    '[{"type": "function", "function": {"name": "get_weather", "strict": true, '
    '"description": "Get the current weather for a location.\\n", '
    '"parameters": {"properties": {"location": {"description": "The city name, e.g. Paris", '
    '"type": "string"}}, "required": ["location"], "type": "object", '
    '"additionalProperties": false}}}]'
)


def get_weather(location: str) -> str:
    """Get the current weather for a location.

    Args:
        location: The city name, e.g. Paris
    """
    return f"sunny in {location}"


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Point(BaseModel):
    x: int
    y: int = 0


class Route(BaseModel):
    start: Point
    stops: list[Point]
    label: str | None = None


ORIGIN = Point(x=0)


class Opaque:
    """A class pydantic has no schema for."""


# --------------------------------------------------------------------------------------------
# Helpers: an oracle walker, written independently of the module's own.


def schema_nodes(schema: Any) -> typing.Iterator[Any]:
    """Every schema in ``schema``, itself included (only schema positions, never data)."""
    yield schema
    if not isinstance(schema, dict):
        return
    for key in ("properties", "patternProperties", "$defs", "definitions"):
        for sub in schema.get(key, {}).values():
            yield from schema_nodes(sub)
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for sub in schema.get(key, []):
            yield from schema_nodes(sub)
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), dict):
            yield from schema_nodes(schema[key])


def is_object(node: Any) -> bool:
    return isinstance(node, dict) and (node.get("type") == "object" or "properties" in node)


def accepts_null(node: Any) -> bool:
    if node is True:
        return True
    if not isinstance(node, dict):
        return False
    kind = node.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(accepts_null(sub) for sub in node.get("anyOf", []))


def assert_strict(schema: dict[str, Any]) -> None:
    for node in schema_nodes(schema):
        if not isinstance(node, dict):
            continue
        assert "default" not in node, node
        assert "title" not in node, node
        if "$ref" in node:
            assert set(node) == {"$ref"}, node
        if is_object(node):
            assert node["additionalProperties"] is False, node
            assert node["required"] == list(node.get("properties", {})), node


def strict_parameters(tool: FunctionTool) -> dict[str, Any]:
    return tool.to_openai_tool()["function"]["parameters"]


# --------------------------------------------------------------------------------------------
# The wire form


@pytest.mark.spec("LLM-REQ-2")
def test_get_weather_reproduces_the_captured_tool_except_the_trailing_newline():
    tool = function_tool(get_weather)

    expected = CAPTURED_TOOLS.replace("location.\\n", "location.")
    # Byte-equal JSON: same keys, same values and the same key order as upstream.
    assert json.dumps(to_fnc_ctx([tool])) == expected
    assert tool.description == "Get the current weather for a location."


@pytest.mark.spec("LLM-REQ-2")
def test_non_strict_tool_has_no_strict_key_and_keeps_optional_parameters_optional():
    @function_tool
    def search(query: str, limit: int = 10) -> list[str]:
        """Search."""
        return []

    function = search.to_openai_tool(strict=False)["function"]

    assert "strict" not in function
    assert function["parameters"] == {
        "properties": {"query": {"type": "string"}, "limit": {"default": 10, "type": "integer"}},
        "required": ["query"],
        "type": "object",
    }


@pytest.mark.spec("LLM-REQ-2")
def test_to_fnc_ctx_sends_every_tool_in_order_and_nothing_for_no_tools():
    first = function_tool(get_weather)
    second = function_tool(name="weather_again")(get_weather)
    raw = RawFunctionTool(get_weather, {"name": "raw_weather"})

    sent = to_fnc_ctx(ToolContext([first, raw, second]))

    assert [entry["function"]["name"] for entry in sent] == [
        "get_weather",
        "raw_weather",
        "weather_again",
    ]
    assert to_fnc_ctx([]) == []
    assert to_fnc_ctx(ToolContext.empty()) == []


@pytest.mark.spec("LLM-REQ-2")
def test_raw_tool_is_sent_verbatim_whatever_strict_says():
    raw_schema = {
        "name": "lookup",
        "description": "Look something up.",
        "parameters": {
            "type": "object",
            "properties": {"key": {"type": "string", "default": "a"}},
        },
        "x-extra": [1, 2],
    }

    tool = function_tool(raw_schema=raw_schema)(lambda raw_arguments: raw_arguments)

    assert isinstance(tool, RawFunctionTool)
    assert tool.name == "lookup"
    assert tool.description == "Look something up."
    assert tool.to_openai_tool() == {"type": "function", "function": raw_schema}
    assert tool.to_openai_tool(strict=False) == {"type": "function", "function": raw_schema}
    # The tool keeps its own copy: later edits to the caller's dict do not leak into the wire.
    raw_schema["name"] = "changed"
    assert tool.to_openai_tool()["function"]["name"] == "lookup"


def test_wire_dicts_are_fresh_copies():
    tool = function_tool(get_weather)

    sent = tool.to_openai_tool()
    sent["function"]["parameters"]["properties"]["location"]["type"] = "integer"
    tool.parameters["properties"].clear()

    assert strict_parameters(tool)["properties"]["location"]["type"] == "string"


# --------------------------------------------------------------------------------------------
# function_tool


def test_decorator_forms_name_and_description():
    bare = function_tool(get_weather)
    named = function_tool(name="weather", description="Weather, now.")(get_weather)

    assert isinstance(bare, FunctionTool)
    assert (bare.name, named.name) == ("get_weather", "weather")
    assert named.description == "Weather, now."
    assert bare.fn is get_weather
    assert named.parameters == bare.parameters


def test_calling_a_sync_tool_calls_the_function():
    tool = function_tool(get_weather)

    assert tool("Paris") == "sunny in Paris"
    assert tool(location="Tokyo") == "sunny in Tokyo"


def test_calling_an_async_tool_returns_the_functions_coroutine():
    calls: list[str] = []

    @function_tool
    async def book(city: str) -> str:
        """Book a trip."""
        calls.append(city)
        return f"booked {city}"

    raw = function_tool(raw_schema={"name": "raw_book"})(book.fn)

    assert asyncio.run(book(city="Oslo")) == "booked Oslo"
    assert asyncio.run(raw(city="Rome")) == "booked Rome"
    assert calls == ["Oslo", "Rome"]


def test_google_docstring_with_types_continuations_and_other_sections():
    @function_tool
    def convert(amount: float, currency: str, rounding: bool = False) -> float:
        """Convert money.

        Uses today's rates.

        Args:
            amount (float): How much to convert,
                in the source currency.
            currency (str, optional): ISO code: EUR, USD...
            rounding: Round to cents.

        Returns:
            The converted amount.

        Raises:
            ValueError: unknown currency.
        """
        return amount

    properties = convert.parameters["properties"]
    assert convert.description == "Convert money.\n\nUses today's rates."
    assert properties["amount"]["description"] == "How much to convert, in the source currency."
    assert properties["currency"]["description"] == "ISO code: EUR, USD..."
    assert properties["rounding"]["description"] == "Round to cents."


def test_rest_docstring():
    @function_tool
    def convert(amount: float, currency: str) -> float:
        """Convert money.

        :param amount: How much to convert,
            in the source currency.
        :type amount: float
        :param str currency: ISO code
        :returns: the converted amount
        """
        return amount

    properties = convert.parameters["properties"]
    assert convert.description == "Convert money."
    assert properties["amount"]["description"] == "How much to convert, in the source currency."
    assert properties["currency"]["description"] == "ISO code"


IDENTIFIERS = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
ONE_LINE_TEXT = (
    st.text(
        st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters=":"),
        min_size=1,
        max_size=30,
    )
    .map(str.strip)
    .filter(bool)
)


@given(
    summary=ONE_LINE_TEXT,
    params=st.dictionaries(IDENTIFIERS, ONE_LINE_TEXT, max_size=4),
)
def test_google_and_rest_docstrings_parse_alike(summary, params):
    google = "\n".join(
        [summary, "", "Args:", *(f"    {name}: {text}" for name, text in params.items())]
    )
    rest = "\n".join([summary, "", *(f":param {name}: {text}" for name, text in params.items())])

    for doc in (google, rest):
        parsed = _parse_docstring(doc)
        assert parsed.description == summary
        assert parsed.params == params


def test_annotated_field_description_wins_over_the_docstring():
    @function_tool
    def greet(name: Annotated[str, Field(description="Who to greet")]) -> str:
        """Greet someone.

        Args:
            name: ignored, the annotation says it better
        """
        return name

    assert greet.parameters["properties"]["name"]["description"] == "Who to greet"


def test_no_docstring_gives_an_empty_description():
    @function_tool
    def ping() -> str:
        return "pong"

    assert ping.description == ""
    assert strict_parameters(ping) == {
        "properties": {},
        "required": [],
        "type": "object",
        "additionalProperties": False,
    }


def test_parameter_names_that_clash_with_basemodel_attributes_are_kept():
    @function_tool
    def odd(json: str, model_config: int, _private: bool) -> None:
        """Odd names."""

    assert strict_parameters(odd)["required"] == ["json", "model_config", "_private"]


@pytest.mark.spec("LLM-REQ-2")
def test_optional_parameters_become_nullable_and_required():
    @function_tool
    def plan(
        city: str,
        days: int = 3,
        note: str | None = None,
        budget: Optional[float] = None,  # noqa: UP045 (the typing spelling must work too)
        tags: list[str] | None = None,
    ) -> None:
        """Plan a trip."""

    parameters = strict_parameters(plan)
    properties = parameters["properties"]

    assert parameters["required"] == ["city", "days", "note", "budget", "tags"]
    assert properties["city"] == {"type": "string"}
    assert properties["days"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    # Already nullable: not wrapped a second time.
    assert properties["note"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert properties["budget"] == {"anyOf": [{"type": "number"}, {"type": "null"}]}
    assert properties["tags"] == {
        "anyOf": [{"items": {"type": "string"}, "type": "array"}, {"type": "null"}]
    }
    assert_strict(parameters)


def test_optional_parameter_keeps_its_description_outside_the_union():
    @function_tool
    def plan(days: int = 3) -> None:
        """Plan.

        Args:
            days: How many days.
        """

    assert strict_parameters(plan)["properties"]["days"] == {
        "anyOf": [{"type": "integer"}, {"type": "null"}],
        "description": "How many days.",
    }


@pytest.mark.spec("LLM-REQ-2")
def test_literal_and_enum_parameters():
    @function_tool
    def forecast(
        mode: Literal["hourly", "daily"], unit: Unit, fallback: Unit = Unit.CELSIUS
    ) -> None:
        """Forecast."""

    parameters = strict_parameters(forecast)

    assert parameters["properties"]["mode"] == {"enum": ["hourly", "daily"], "type": "string"}
    assert parameters["properties"]["unit"] == {"$ref": "#/$defs/Unit"}
    assert parameters["properties"]["fallback"] == {
        "anyOf": [{"$ref": "#/$defs/Unit"}, {"type": "null"}]
    }
    assert parameters["$defs"]["Unit"] == {"enum": ["celsius", "fahrenheit"], "type": "string"}
    assert_strict(parameters)


@pytest.mark.spec("LLM-REQ-2")
def test_basemodel_parameters_are_strict_all_the_way_down():
    @function_tool
    def navigate(
        route: Route,
        detour: Annotated[Point, Field(description="An optional detour")] = ORIGIN,
    ) -> None:
        """Navigate."""

    parameters = strict_parameters(navigate)
    point = {
        "properties": {
            "x": {"type": "integer"},
            "y": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        },
        "required": ["x", "y"],
        "type": "object",
        "additionalProperties": False,
    }

    assert parameters["$defs"]["Point"] == point
    assert parameters["$defs"]["Route"]["required"] == ["start", "stops", "label"]
    # A described model parameter is {"$ref", "description"} in pydantic's output: inlined.
    assert parameters["properties"]["detour"] == {
        "anyOf": [point, {"type": "null"}],
        "description": "An optional detour",
    }
    assert_strict(parameters)


def test_dict_parameters_have_a_schema_but_cannot_be_strict():
    @function_tool
    def score(points: dict[str, int]) -> None:
        """Score."""

    assert score.parameters["properties"]["points"] == {
        "additionalProperties": {"type": "integer"},
        "type": "object",
    }
    assert score.to_openai_tool(strict=False)["function"]["parameters"] == score.parameters
    with pytest.raises(ValueError, match=r"\['points'\]\['additionalProperties'\] must be false"):
        score.to_openai_tool()


def untyped(location, days: int) -> None:
    """No hint on location."""


def star_args(location: str, *args: str) -> None:
    """Takes *args."""


def star_kwargs(location: str, **kwargs: str) -> None:
    """Takes **kwargs."""


def positional_only(location: str, /) -> None:
    """Positional only."""


def opaque(thing: Opaque) -> None:
    """Takes a type with no schema."""


def dangling(thing: NoSuchType) -> None:  # noqa: F821 (the point of the test)
    """Names a type that does not exist."""


@pytest.mark.parametrize(
    ("fn", "match"),
    [
        (untyped, r"function 'untyped': parameter 'location' has no type hint"),
        (star_args, r"function 'star_args': parameter \*args"),
        (star_kwargs, r"function 'star_kwargs': parameter \*\*kwargs"),
        (positional_only, r"function 'positional_only': parameter 'location' is positional"),
        (opaque, r"function 'opaque': cannot build a JSON schema"),
        (dangling, r"type hints of function 'dangling'"),
        ("get_weather", r"fn must be a function, got str"),
    ],
)
def test_functions_that_cannot_be_tools_raise_type_error(fn, match):
    with pytest.raises(TypeError, match=match):
        function_tool(fn)


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"name": "get weather"}, ValueError, r"name must match .* got 'get weather'"),
        ({"name": "x" * 65}, ValueError, r"name must match"),
        ({"name": ""}, ValueError, r"name must match"),
        ({"name": "ok\n"}, ValueError, r"name must match"),
        ({"name": 7}, TypeError, r"name must be a str, got int"),
        ({"description": b"bytes"}, TypeError, r"description must be a str, got bytes"),
        ({"raw_schema": {"name": "x"}, "name": "y"}, TypeError, r"raw_schema cannot be combined"),
    ],
)
def test_bad_function_tool_options(options, error, match):
    with pytest.raises(error, match=match):
        function_tool(**options)(get_weather)


def test_a_lambda_needs_an_explicit_name():
    with pytest.raises(ValueError, match=r"name must match .* got '<lambda>'"):
        function_tool(lambda: 42)

    tool = function_tool(name="answer")(lambda: 42)

    assert (tool.name, tool()) == ("answer", 42)


@pytest.mark.parametrize(
    ("raw_schema", "error", "match"),
    [
        ([("name", "x")], TypeError, r"raw_schema must be a dict, got list"),
        ({}, ValueError, r"raw_schema\['name'\] is required"),
        ({"name": ""}, ValueError, r"raw_schema\['name'\] must be a string matching"),
        ({"name": 3}, ValueError, r"raw_schema\['name'\] must be a string matching .* got 3"),
        ({"name": "a b"}, ValueError, r"raw_schema\['name'\] must be a string matching"),
        ({"name": "x", "description": 1}, ValueError, r"raw_schema\['description'\] must be"),
        ({"name": "x", "strict": "yes"}, ValueError, r"raw_schema\['strict'\] must be a bool"),
        ({"name": "x", "parameters": []}, ValueError, r"raw_schema\['parameters'\] must be a dict"),
        (
            {"name": "x", "parameters": {"type": "array"}},
            ValueError,
            r"raw_schema\['parameters'\]\['type'\] must be 'object', got 'array'",
        ),
        (
            {"name": "x", "parameters": {"properties": {}}},
            ValueError,
            r"raw_schema\['parameters'\]\['type'\] must be 'object', got None",
        ),
    ],
)
def test_raw_schema_validation(raw_schema, error, match):
    with pytest.raises(error, match=match):
        function_tool(raw_schema=raw_schema)(get_weather)


# --------------------------------------------------------------------------------------------
# to_strict_json_schema

DEF_NAMES = ("Alpha", "Beta")
# Keyword-like property names: they must survive as names, never be taken for keywords.
PROPERTY_NAMES = st.sampled_from(
    ["title", "default", "type", "required", "properties", "anyOf", "$ref", "items", "city"]
) | st.from_regex(r"[a-z_]{1,6}", fullmatch=True)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(PROPERTY_NAMES, inner, max_size=2),
    max_leaves=4,
)
ANNOTATIONS = st.fixed_dictionaries(
    {},
    optional={
        "title": st.text(max_size=4),
        "description": st.text(max_size=8),
        "default": JSON_VALUES,
    },
)
SCALARS = st.sampled_from(
    [
        {"type": "string"},
        {"type": "integer"},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
    ]
) | st.lists(st.text(max_size=3), min_size=1, max_size=3, unique=True).map(
    lambda values: {"enum": values, "type": "string"}
)
REFS = st.sampled_from(DEF_NAMES).map(lambda name: {"$ref": f"#/$defs/{name}"})


def annotated(schemas: st.SearchStrategy[dict]) -> st.SearchStrategy[dict]:
    return st.tuples(schemas, ANNOTATIONS).map(lambda pair: {**pair[0], **pair[1]})


@st.composite
def object_schemas(draw: st.DrawFn, children: st.SearchStrategy[dict]) -> dict:
    properties = draw(st.dictionaries(PROPERTY_NAMES, children, max_size=4))
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if properties and draw(st.booleans()):
        schema["required"] = draw(st.lists(st.sampled_from(list(properties)), unique=True))
    if draw(st.booleans()):
        schema["additionalProperties"] = False
    return schema


def nested_schemas(leaves: st.SearchStrategy[dict]) -> st.SearchStrategy[dict]:
    def extend(children: st.SearchStrategy[dict]) -> st.SearchStrategy[dict]:
        arrays = children.map(lambda items: {"type": "array", "items": items})
        unions = st.lists(children, min_size=1, max_size=3).map(lambda subs: {"anyOf": subs})
        return annotated(object_schemas(children) | arrays | unions)

    return st.recursive(annotated(leaves), extend, max_leaves=10)


@st.composite
def root_schemas(draw: st.DrawFn) -> dict:
    """A parameters schema: an object whose subschemas may $ref (with or without siblings)
    into $defs, as pydantic's output does."""
    defs = {name: draw(nested_schemas(SCALARS)) for name in DEF_NAMES}
    root = draw(object_schemas(nested_schemas(SCALARS | REFS)))
    return {"$defs": defs, **root}


@pytest.mark.spec("LLM-REQ-2")
@given(root_schemas())
def test_strict_schema_invariants_hold_for_arbitrary_schemas(schema):
    source = copy.deepcopy(schema)

    strict = to_strict_json_schema(schema)

    assert schema == source  # never mutated
    assert_strict(strict)
    assert set(strict["properties"]) == set(schema["properties"])
    for name, sub in strict["properties"].items():
        if name not in schema.get("required", []):
            assert accepts_null(sub), (name, sub)


@given(root_schemas())
def test_strict_schema_is_idempotent(schema):
    strict = to_strict_json_schema(schema)

    assert to_strict_json_schema(strict) == strict


def scrub(value: Any) -> None:
    """Empty every dict and list inside ``value``, innermost first."""
    children = value.values() if isinstance(value, dict) else value
    if isinstance(value, (dict, list)):
        for child in list(children):
            scrub(child)
        value.clear()


@given(root_schemas())
def test_strict_schema_shares_nothing_with_its_source(schema):
    source = copy.deepcopy(schema)

    scrub(to_strict_json_schema(schema))

    assert schema == source


def test_strict_schema_keeps_data_that_looks_like_keywords():
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string", "title": "Title", "default": "x"},
            "mode": {"enum": [{"title": "kept", "default": 1}], "examples": [{"title": "kept"}]},
        },
        "required": ["title", "mode"],
    }

    assert to_strict_json_schema(schema)["properties"] == {
        "title": {"type": "string"},
        "mode": {"enum": [{"title": "kept", "default": 1}], "examples": [{"title": "kept"}]},
    }


def test_strict_schema_adds_null_to_an_existing_union_instead_of_nesting_it():
    schema = {
        "type": "object",
        "properties": {"value": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
    }

    assert to_strict_json_schema(schema)["properties"]["value"] == {
        "anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]
    }


def test_strict_schema_leaves_schemas_that_already_accept_null_alone():
    properties = {
        "a": {"type": ["string", "null"]},
        "b": {"enum": ["x", None]},
        "c": {"const": None},
        "d": {"oneOf": [{"type": "null"}, {"type": "string"}]},
    }

    strict = to_strict_json_schema({"type": "object", "properties": properties})

    assert strict["properties"] == properties
    assert strict["required"] == ["a", "b", "c", "d"]


@pytest.mark.parametrize(
    ("schema", "error", "match"),
    [
        ("{}", TypeError, r"schema must be a dict, got str"),
        ({"type": "object", "properties": []}, TypeError, r"schema\['properties'\] must be a dict"),
        ({"anyOf": {"type": "string"}}, TypeError, r"schema\['anyOf'\] must be a list"),
        (
            {"type": "object", "additionalProperties": True},
            ValueError,
            r"schema\['additionalProperties'\] must be false in strict mode, got True",
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"$ref": "#/$defs/Missing", "description": "d"}},
            },
            ValueError,
            r"'#/\$defs/Missing' does not resolve",
        ),
        (
            {"type": "object", "properties": {"a": {"$ref": "other.json#/A", "description": "d"}}},
            ValueError,
            r"must be a local reference",
        ),
    ],
)
def test_strict_schema_rejects_what_it_cannot_convert(schema, error, match):
    with pytest.raises(error, match=match):
        to_strict_json_schema(schema)


def test_strict_schema_refuses_to_inline_a_self_reference_with_siblings():
    schema = {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {"next": {"$ref": "#/$defs/Node", "description": "the next"}},
            }
        },
        "type": "object",
        "properties": {"head": {"$ref": "#/$defs/Node", "description": "first node"}},
    }

    with pytest.raises(ValueError, match=r"'#/\$defs/Node' refers to itself"):
        to_strict_json_schema(schema)


def test_strict_schema_inlines_a_root_ref_and_keeps_plain_recursive_refs():
    # pydantic's schema for a recursive model: the root is a $ref next to $defs. OpenAI wants an
    # object at the root, so the root is inlined; the recursion below it stays a plain $ref.
    node = {
        "type": "object",
        "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
        "required": ["children"],
    }
    strict_node = {**node, "additionalProperties": False}

    strict = to_strict_json_schema({"$defs": {"Node": node}, "$ref": "#/$defs/Node"})

    assert strict == {**strict_node, "$defs": {"Node": strict_node}}
    assert_strict(strict)


# --------------------------------------------------------------------------------------------
# ToolContext


def test_tool_context_is_a_mapping_by_name():
    weather = function_tool(get_weather)
    raw = RawFunctionTool(get_weather, {"name": "raw_weather"})

    context = ToolContext([weather, raw])

    assert context.names == ("get_weather", "raw_weather")
    assert context["raw_weather"] is raw
    assert dict(context) == context.function_tools == {"get_weather": weather, "raw_weather": raw}
    assert len(context) == 2
    assert ToolContext(context).names == context.names
    assert len(ToolContext.empty()) == 0


def test_tool_context_function_tools_is_a_copy():
    context = ToolContext([function_tool(get_weather)])

    context.function_tools.clear()

    assert context.names == ("get_weather",)


@pytest.mark.parametrize("make_duplicate", [lambda tool: tool, lambda tool: function_tool(tool.fn)])
def test_tool_context_rejects_duplicate_names(make_duplicate):
    tool = function_tool(get_weather)

    with pytest.raises(ValueError, match=r"two tools named 'get_weather'"):
        ToolContext([tool, make_duplicate(tool)])
    with pytest.raises(ValueError, match=r"two tools named 'get_weather'"):
        to_fnc_ctx([tool, make_duplicate(tool)])


@pytest.mark.parametrize(
    ("tools", "match"),
    [
        ([get_weather], r"tools\[0\] must be a FunctionTool or RawFunctionTool, got function"),
        ("get_weather", r"tools must be an iterable of tools, got str"),
        ({"get_weather": get_weather}, r"tools must be an iterable of tools, got dict"),
        (None, r"tools must be an iterable of tools, got NoneType"),
    ],
)
def test_tool_context_rejects_non_tools(tools, match):
    with pytest.raises(TypeError, match=match):
        ToolContext(tools)


# --------------------------------------------------------------------------------------------
# tool_choice


@pytest.mark.spec("LLM-REQ-3")
@pytest.mark.parametrize("mode", ["auto", "required", "none"])
def test_tool_choice_modes_pass_through(mode):
    assert to_openai_tool_choice(mode) == mode


@pytest.mark.spec("LLM-REQ-3")
@pytest.mark.parametrize(
    "choice",
    [NamedToolChoice("get_weather"), {"type": "function", "function": {"name": "get_weather"}}],
)
def test_named_tool_choice_becomes_a_function_choice(choice):
    wire = to_openai_tool_choice(choice)

    assert wire == {"type": "function", "function": {"name": "get_weather"}}
    if isinstance(choice, dict):
        wire["function"]["name"] = "changed"
        assert choice["function"]["name"] == "get_weather"


@pytest.mark.spec("LLM-REQ-3")
@pytest.mark.parametrize(
    ("choice", "error", "match"),
    [
        ("get_weather", ValueError, r"tool_choice must be 'auto', 'required', 'none'"),
        ("Auto", ValueError, r"got 'Auto'"),
        ({"type": "function"}, ValueError, r"tool_choice must be \{'type': 'function'"),
        ({"type": "tool", "function": {"name": "x"}}, ValueError, r"tool_choice must be"),
        ({"type": "function", "function": "x"}, ValueError, r"tool_choice\['function'\]"),
        ({"type": "function", "function": {"name": "a b"}}, ValueError, r"\['name'\] must match"),
        ({"type": "function", "function": {"name": 1}}, ValueError, r"\['name'\] must be a str"),
        (None, TypeError, r"got NoneType"),
        (3, TypeError, r"got int"),
    ],
)
def test_bad_tool_choice_raises_instead_of_being_dropped(choice, error, match):
    with pytest.raises(error, match=match):
        to_openai_tool_choice(choice)


@pytest.mark.parametrize(("name", "error"), [("a b", ValueError), ("", ValueError), (1, TypeError)])
def test_named_tool_choice_validates_its_name(name, error):
    with pytest.raises(error, match=r"name must"):
        NamedToolChoice(name)
