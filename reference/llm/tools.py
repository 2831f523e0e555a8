"""Function tools and their wire form (SPEC LLM-REQ-2, LLM-REQ-3).

A Python function becomes a :class:`FunctionTool` with :func:`function_tool`: its name, a
description and per-parameter descriptions from the docstring, and a JSON schema of its
parameters built from the type hints. :func:`to_fnc_ctx` turns tools into the ``tools`` list
of a chat-completions request, with each schema made strict by :func:`to_strict_json_schema`.

Pydantic builds the parameter schemas. The rules that map Python types to JSON schema
(``Optional``, ``Literal``, ``Enum``, nested models, ``Annotated`` constraints, ``$defs`` for
shared types) are exactly what pydantic already does well and what upstream relies on too, so
the schemas match what upstream sends without a second, hand-written type mapper to keep in
step. What pydantic does *not* do is OpenAI's strict mode, so that part is written here.

Strict mode rules, as applied by :func:`to_strict_json_schema`:

- every object gets ``"additionalProperties": false`` and lists every property, in property
  order, in ``required``;
- a property that was optional (not in the source ``required``) becomes nullable, always as
  ``{"anyOf": [<schema>, {"type": "null"}]}`` (a schema that already accepts ``null`` is left
  alone). The model then sends ``null`` where it would have left the argument out;
- ``default`` and ``title`` are dropped everywhere (OpenAI rejects defaults in strict mode;
  titles only restate the property name);
- ``$defs`` and plain ``{"$ref": ...}`` are kept, but a ``$ref`` with sibling keys (pydantic
  writes ``{"$ref": ..., "description": ...}`` for a described model parameter) is inlined:
  OpenAI rejects ``$ref`` siblings and does not support ``allOf``, so the referenced schema is
  copied in and the siblings are laid over it;
- an object whose ``additionalProperties`` is anything but ``false`` (``dict[str, T]``,
  ``dict[str, Any]``) cannot be expressed in strict mode and raises :class:`ValueError`:
  forcing ``false`` would silently turn a map into an always-empty object. Send such a tool
  with ``strict=False`` or give it a model with fixed fields.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import re
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Annotated, Any, Literal, overload

import pydantic
from pydantic.fields import FieldInfo

__all__ = [
    "TOOL_NAME_PATTERN",
    "FunctionTool",
    "NamedToolChoice",
    "RawFunctionTool",
    "Tool",
    "ToolChoice",
    "ToolContext",
    "function_tool",
    "to_fnc_ctx",
    "to_openai_tool_choice",
    "to_strict_json_schema",
]

TOOL_NAME_PATTERN = re.compile(r"[a-zA-Z0-9_-]{1,64}")
"""What OpenAI accepts as a function name; always matched in full (``re.fullmatch``)."""

_TOOL_CHOICE_MODES = ("auto", "required", "none")


def _check_tool_name(name: object, what: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a str, got {type(name).__name__}")
    if not TOOL_NAME_PATTERN.fullmatch(name):
        raise ValueError(f"{what} must match ^[a-zA-Z0-9_-]{{1,64}}$, got {name!r}")
    return name


# --------------------------------------------------------------------------------------------
# Docstrings


@dataclasses.dataclass(frozen=True)
class _Docstring:
    description: str
    params: dict[str, str]


_GOOGLE_SECTION = re.compile(
    r"(args|arguments|parameters|params|keyword args|keyword arguments|kwargs"
    r"|other parameters|returns?|yields?|raises?|exceptions?|examples?|notes?"
    r"|attributes|warns|warnings?|see also|todo|references|methods)\s*:",
    re.IGNORECASE,
)
_GOOGLE_PARAM_SECTIONS = frozenset(
    {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments", "kwargs"}
)
# "name: text", "name (type): text", "*name (type, optional): text"
_GOOGLE_ENTRY = re.compile(r"\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:(.*)")
_REST_FIELD = re.compile(r":\w[^:]*:")
# ":param name: text", ":param type name: text" (the name is the last word before the colon)
_REST_PARAM = re.compile(r":(?:param|parameter|arg|argument|key|keyword)\s+([^:]+):(.*)")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _parse_docstring(doc: str | None) -> _Docstring:
    """Split a Google-style or reST docstring into its description and parameter texts.

    The description is everything before the first section (``Args:``, ``Returns:``, ...) or
    field (``:param x:``, ``:returns:``, ...), with the docstring's own line breaks, and no
    leading or trailing whitespace. A parameter's text joins its lines with single spaces.
    """
    if not doc:
        return _Docstring("", {})
    lines = inspect.cleandoc(doc).splitlines()
    description: list[str] = []
    params: dict[str, str] = {}
    i = 0
    in_description = True
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        header = _GOOGLE_SECTION.fullmatch(stripped)
        if header:
            in_description = False
            i = _read_google_section(lines, i, params, header.group(1).lower())
            continue
        if _REST_FIELD.match(stripped):
            in_description = False
            i = _read_rest_field(lines, i, params)
            continue
        if in_description:
            description.append(line)
        i += 1
    return _Docstring("\n".join(description).strip(), params)


def _read_google_section(lines: list[str], start: int, params: dict[str, str], name: str) -> int:
    """Read the section whose header is ``lines[start]``; return the index after it."""
    header_indent = _indent(lines[start])
    i = start + 1
    entry_indent: int | None = None
    current: str | None = None
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        indent = _indent(line)
        if indent <= header_indent:
            break
        if entry_indent is None:
            entry_indent = indent
        if name in _GOOGLE_PARAM_SECTIONS:
            entry = _GOOGLE_ENTRY.fullmatch(line.strip()) if indent <= entry_indent else None
            if entry:
                current = entry.group(1)
                params[current] = entry.group(2).strip()
            elif current is not None:
                params[current] = f"{params[current]} {line.strip()}".strip()
        i += 1
    return i


def _read_rest_field(lines: list[str], start: int, params: dict[str, str]) -> int:
    """Read the field starting at ``lines[start]`` and its indented continuation lines."""
    first = lines[start]
    field = _REST_PARAM.fullmatch(first.strip())
    text = field.group(2).strip() if field else ""
    i = start + 1
    while i < len(lines):
        line = lines[i]
        if line.strip() and (_indent(line) <= _indent(first) or _REST_FIELD.match(line.strip())):
            break
        text = f"{text} {line.strip()}".strip()
        i += 1
    if field:
        params[field.group(1).split()[-1].lstrip("*")] = text
    return i


# --------------------------------------------------------------------------------------------
# Schemas


# Keys whose value is a map of names to subschemas, a single subschema, or a list of them.
_SCHEMA_MAP_KEYS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
)
_SCHEMA_KEYS = frozenset(
    {"additionalProperties", "items", "not", "contains", "if", "then", "else", "propertyNames"}
)
_SCHEMA_LIST_KEYS = frozenset({"anyOf", "oneOf", "allOf", "prefixItems"})
_DROPPED_KEYS = frozenset({"title", "default"})


def _at(path: str, key: str | int) -> str:
    return f"{path}[{key!r}]"


def _map_subschemas(
    node: Mapping[str, Any], path: str, fn: Callable[[Any, str], Any]
) -> dict[str, Any]:
    """A copy of ``node`` with ``fn(subschema, path)`` applied to each direct subschema.

    Everything that is not a subschema (``enum`` values, ``const``, ``examples``, property
    names) is deep-copied untouched, so keywords are only ever recognised in schema position.
    """
    out: dict[str, Any] = {}
    for key, value in node.items():
        where = _at(path, key)
        if key in _SCHEMA_MAP_KEYS:
            if not isinstance(value, Mapping):
                raise TypeError(f"{where} must be a dict, got {type(value).__name__}")
            out[key] = {name: fn(sub, _at(where, name)) for name, sub in value.items()}
        elif key in _SCHEMA_LIST_KEYS or (key == "items" and isinstance(value, list)):
            if not isinstance(value, list):
                raise TypeError(f"{where} must be a list, got {type(value).__name__}")
            out[key] = [fn(sub, _at(where, n)) for n, sub in enumerate(value)]
        elif key in _SCHEMA_KEYS:
            out[key] = fn(value, where)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _without_titles(schema: Any, path: str = "schema") -> Any:
    if isinstance(schema, bool):
        return schema
    if not isinstance(schema, Mapping):
        raise TypeError(f"{path} must be a dict or bool, got {type(schema).__name__}")
    trimmed = {key: value for key, value in schema.items() if key != "title"}
    return _map_subschemas(trimmed, path, _without_titles)


def _is_object_schema(schema: Mapping[str, Any]) -> bool:
    kind = schema.get("type")
    return (
        kind == "object"
        or (isinstance(kind, list) and "object" in kind)
        or ("properties" in schema)
    )


def _accepts_null(schema: Any) -> bool:
    if isinstance(schema, bool):
        return schema
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    if "const" in schema and schema["const"] is None:
        return True
    if None in schema.get("enum", ()):
        return True
    return any(_accepts_null(sub) for key in ("anyOf", "oneOf") for sub in schema.get(key, ()))


def _nullable(schema: Any) -> Any:
    if _accepts_null(schema):
        return schema
    null = {"type": "null"}
    if isinstance(schema, bool):
        return {"anyOf": [schema, null]}
    # The description describes the parameter, not one branch of the union: keep it outside.
    inner = {key: value for key, value in schema.items() if key != "description"}
    annotations = {"description": schema["description"]} if "description" in schema else {}
    if set(inner) == {"anyOf"}:
        return {"anyOf": [*inner["anyOf"], null], **annotations}
    return {"anyOf": [inner, null], **annotations}


def _resolve_ref(root: Mapping[str, Any], ref: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise ValueError(f"{path} must be a local reference ('#/...'), got {ref!r}")
    target: Any = root
    for token in ref[1:].split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, Mapping) or token not in target:
            raise ValueError(f"{path} {ref!r} does not resolve within the schema")
        target = target[token]
    if not isinstance(target, Mapping):
        raise ValueError(f"{path} {ref!r} does not point at a schema object")
    return target


class _Strictifier:
    """One strict conversion of one root schema (the root resolves ``$ref`` pointers)."""

    def __init__(self, root: Mapping[str, Any]) -> None:
        self._root = root
        self._inlining: tuple[str, ...] = ()

    def convert(self, schema: Any, path: str) -> Any:
        if isinstance(schema, bool):
            return schema
        if not isinstance(schema, Mapping):
            raise TypeError(f"{path} must be a dict or bool, got {type(schema).__name__}")
        node = {key: value for key, value in schema.items() if key not in _DROPPED_KEYS}
        if "$ref" in node and len(node) > 1:
            return self._inline_ref(node, path)
        out = _map_subschemas(node, path, self.convert)
        if _is_object_schema(out):
            out = self._strict_object(schema, out, path)
        return out

    def _inline_ref(self, node: dict[str, Any], path: str) -> Any:
        ref = node["$ref"]
        where = _at(path, "$ref")
        target = _resolve_ref(self._root, ref, where)
        if ref in self._inlining:
            raise ValueError(
                f"{where} {ref!r} refers to itself and has sibling keys "
                f"{sorted(k for k in node if k != '$ref')}; it cannot be inlined"
            )
        merged = {**target, **{key: value for key, value in node.items() if key != "$ref"}}
        self._inlining += (ref,)
        try:
            return self.convert(merged, path)
        finally:
            self._inlining = self._inlining[:-1]

    def _strict_object(
        self, source: Mapping[str, Any], converted: dict[str, Any], path: str
    ) -> dict[str, Any]:
        extra = converted.get("additionalProperties", False)
        if extra is not False:
            raise ValueError(
                f"{_at(path, 'additionalProperties')} must be false in strict mode, got "
                f"{extra!r}: a map with free-form keys cannot be strict (use strict=False or "
                "a model with fixed fields)"
            )
        properties = converted.get("properties", {})
        source_required = source.get("required", [])
        if not isinstance(source_required, list):
            raise TypeError(
                f"{_at(path, 'required')} must be a list, got {type(source_required).__name__}"
            )
        for name in properties:
            if name not in source_required:
                properties[name] = _nullable(properties[name])
        required = list(properties)
        # Rebuilt in place so the output keeps the source's key order (properties, required,
        # type, additionalProperties for pydantic), which makes it byte-comparable to captures.
        out: dict[str, Any] = {}
        for key, value in converted.items():
            if key == "required":
                continue
            out[key] = value
            if key == "properties":
                out["required"] = required
        out.setdefault("required", required)
        out["additionalProperties"] = False
        return out


def to_strict_json_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The OpenAI strict-mode version of ``schema``, as a new dict (``schema`` is not modified).

    See the module docstring for the rules. Idempotent: applying it to its own output returns
    an equal schema.

    Raises:
        TypeError: ``schema`` (or a subschema) is not a dict.
        ValueError: an object allows additional properties, or a ``$ref`` cannot be resolved
            or inlined.
    """
    if not isinstance(schema, Mapping):
        raise TypeError(f"schema must be a dict, got {type(schema).__name__}")
    return _Strictifier(schema).convert(schema, "schema")


def _parameters_schema(fn: Callable[..., Any], fn_name: str, docs: Mapping[str, str]) -> dict:
    """The (non-strict) JSON schema of ``fn``'s parameters, without titles."""
    # A callable object keeps its hints on its class's __call__, not on itself.
    annotated = fn if inspect.isroutine(fn) else type(fn).__call__
    try:
        hints = typing.get_type_hints(annotated, include_extras=True)
    except Exception as exc:
        raise TypeError(f"cannot resolve the type hints of function {fn_name!r}: {exc}") from exc
    fields: dict[str, Any] = {}
    for index, param in enumerate(inspect.signature(fn).parameters.values()):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            star = "*" if param.kind is param.VAR_POSITIONAL else "**"
            raise TypeError(
                f"function {fn_name!r}: parameter {star}{param.name} is not allowed in a tool "
                "(the model sends named arguments only)"
            )
        if param.kind is param.POSITIONAL_ONLY:
            raise TypeError(
                f"function {fn_name!r}: parameter {param.name!r} is positional-only; the model "
                "sends named arguments only"
            )
        if param.name not in hints:
            raise TypeError(f"function {fn_name!r}: parameter {param.name!r} has no type hint")
        hint = hints[param.name]
        default = ... if param.default is param.empty else param.default
        metadata: list[Any] = []
        explicit = FieldInfo.from_annotated_attribute(hint, default)
        if explicit.description is None and param.name in docs:
            metadata.append(pydantic.Field(description=docs[param.name]))
        # Fields get neutral names and the parameter name as alias, so a parameter may be
        # called anything (``json``, ``model_config``, ``_x``) without clashing with BaseModel.
        metadata.append(pydantic.Field(alias=param.name))
        fields[f"p{index}"] = (Annotated[(hint, *metadata)], default)
    try:
        model = pydantic.create_model(f"{fn_name}_arguments", **fields)
        schema = model.model_json_schema(by_alias=True)
    except pydantic.PydanticUserError as exc:
        raise TypeError(
            f"function {fn_name!r}: cannot build a JSON schema for its parameters: {exc}"
        ) from exc
    return _without_titles(schema)


# --------------------------------------------------------------------------------------------
# Tools


class _CallableTool:
    """What every tool shares: the wrapped function, and calling the tool calls it."""

    __slots__ = ("_fn",)

    @staticmethod
    def _checked(fn: object) -> Callable[..., Any]:
        if not callable(fn) or isinstance(fn, _CallableTool):
            raise TypeError(f"fn must be a function, got {type(fn).__name__}")
        return fn

    @property
    def fn(self) -> Callable[..., Any]:
        """The wrapped function."""
        return self._fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the wrapped function."""
        return self._fn(*args, **kwargs)


class FunctionTool(_CallableTool):
    """A function the model may call, with its name, description and parameters schema.

    Calling the tool calls the function (an async function returns its coroutine).
    """

    __slots__ = ("_description", "_name", "_parameters")

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> None:
        """Describe ``fn`` as a tool.

        Args:
            fn: a sync or async function whose parameters all have type hints.
            name: the tool name; defaults to ``fn.__name__``. Must match
                ``^[a-zA-Z0-9_-]{1,64}$``.
            description: the tool description; defaults to the part of ``fn``'s docstring
                before its sections, with no trailing whitespace (upstream sends a trailing
                newline; the model does not care, and a clean string compares better).

        Raises:
            TypeError: ``fn`` is not callable, a parameter has no type hint, is ``*args``,
                ``**kwargs`` or positional-only, or its type has no JSON schema.
            ValueError: the name does not match the pattern.
        """
        self._fn = _CallableTool._checked(fn)
        fn_name = getattr(fn, "__name__", type(fn).__name__)
        self._name = _check_tool_name(fn_name if name is None else name, "name")
        docstring = _parse_docstring(inspect.getdoc(fn))
        if description is not None and not isinstance(description, str):
            raise TypeError(f"description must be a str, got {type(description).__name__}")
        self._description = docstring.description if description is None else description
        self._parameters = _parameters_schema(fn, fn_name, docstring.params)

    @property
    def name(self) -> str:
        """The tool name the model calls it by."""
        return self._name

    @property
    def description(self) -> str:
        """The tool description sent to the model."""
        return self._description

    @property
    def parameters(self) -> dict[str, Any]:
        """The JSON schema of the parameters as pydantic builds it (titles removed): a copy."""
        return copy.deepcopy(self._parameters)

    def to_openai_tool(self, *, strict: bool = True) -> dict[str, Any]:
        """The tool as an entry of the request's ``tools`` list (LLM-REQ-2).

        With ``strict`` the parameters go through :func:`to_strict_json_schema` and
        ``"strict": true`` is set; without it the plain schema is sent and ``strict`` left out.
        Keys are in the order upstream sends them: name, strict, description, parameters.
        """
        if not isinstance(strict, bool):
            raise TypeError(f"strict must be a bool, got {type(strict).__name__}")
        function: dict[str, Any] = {"name": self._name}
        if strict:
            function["strict"] = True
            parameters = to_strict_json_schema(self._parameters)
        else:
            parameters = copy.deepcopy(self._parameters)
        function["description"] = self._description
        function["parameters"] = parameters
        return {"type": "function", "function": function}

    def __repr__(self) -> str:
        return f"FunctionTool(name={self._name!r}, fn={self._fn!r})"


class RawFunctionTool(_CallableTool):
    """A function the model may call, described by a hand-written OpenAI function schema.

    The schema is sent verbatim. Calling the tool calls the function.
    """

    __slots__ = ("_raw_schema",)

    def __init__(self, fn: Callable[..., Any], raw_schema: Mapping[str, Any]) -> None:
        """Describe ``fn`` with ``raw_schema``.

        ``raw_schema`` is the ``function`` object of an OpenAI tool: a non-empty ``name``
        matching ``^[a-zA-Z0-9_-]{1,64}$``, an optional ``description`` string, an optional
        ``parameters`` object schema (``"type": "object"``), an optional ``strict`` bool, and
        any other keys, which are sent as they are.

        Raises:
            TypeError: ``fn`` is not callable or ``raw_schema`` is not a dict.
            ValueError: a key of ``raw_schema`` is missing or wrong; the message names it.
        """
        self._fn = _CallableTool._checked(fn)
        self._raw_schema = _validated_raw_schema(raw_schema)

    @property
    def name(self) -> str:
        """The tool name, ``raw_schema['name']``."""
        return self._raw_schema["name"]

    @property
    def description(self) -> str:
        """``raw_schema['description']``, or ``""`` when it has none."""
        return self._raw_schema.get("description", "")

    @property
    def raw_schema(self) -> dict[str, Any]:
        """The schema as given: a copy."""
        return copy.deepcopy(self._raw_schema)

    def to_openai_tool(self, *, strict: bool = True) -> dict[str, Any]:
        """``{"type": "function", "function": <raw schema>}`` (LLM-REQ-2).

        ``strict`` is accepted so every tool has the same signature, and ignored: a raw schema
        is sent verbatim, strict or not as its author wrote it.
        """
        if not isinstance(strict, bool):
            raise TypeError(f"strict must be a bool, got {type(strict).__name__}")
        return {"type": "function", "function": copy.deepcopy(self._raw_schema)}

    def __repr__(self) -> str:
        return f"RawFunctionTool(name={self.name!r}, fn={self._fn!r})"


def _validated_raw_schema(raw_schema: object) -> dict[str, Any]:
    if not isinstance(raw_schema, Mapping):
        raise TypeError(f"raw_schema must be a dict, got {type(raw_schema).__name__}")
    if "name" not in raw_schema:
        raise ValueError("raw_schema['name'] is required")
    name = raw_schema["name"]
    if not isinstance(name, str) or not TOOL_NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"raw_schema['name'] must be a string matching ^[a-zA-Z0-9_-]{{1,64}}$, got {name!r}"
        )
    if "description" in raw_schema and not isinstance(raw_schema["description"], str):
        raise ValueError(
            f"raw_schema['description'] must be a string, got "
            f"{type(raw_schema['description']).__name__}"
        )
    if "strict" in raw_schema and not isinstance(raw_schema["strict"], bool):
        raise ValueError(
            f"raw_schema['strict'] must be a bool, got {type(raw_schema['strict']).__name__}"
        )
    if "parameters" in raw_schema:
        parameters = raw_schema["parameters"]
        if not isinstance(parameters, Mapping):
            raise ValueError(
                f"raw_schema['parameters'] must be a dict, got {type(parameters).__name__}"
            )
        if parameters.get("type") != "object":
            raise ValueError(
                f"raw_schema['parameters']['type'] must be 'object', got {parameters.get('type')!r}"
            )
    return copy.deepcopy(dict(raw_schema))


Tool = FunctionTool | RawFunctionTool
"""Anything :class:`ToolContext` holds."""


@overload
def function_tool(fn: Callable[..., Any], /) -> FunctionTool: ...


@overload
def function_tool(
    *, name: str | None = None, description: str | None = None
) -> Callable[[Callable[..., Any]], FunctionTool]: ...


@overload
def function_tool(
    *, raw_schema: Mapping[str, Any]
) -> Callable[[Callable[..., Any]], RawFunctionTool]: ...


def function_tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    raw_schema: Mapping[str, Any] | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Turn a sync or async function into a tool.

    Usable bare (``@function_tool``), with options (``@function_tool(name=..., description=...)``)
    or with a hand-written schema (``@function_tool(raw_schema={...})``), which gives a
    :class:`RawFunctionTool` and cannot be combined with ``name`` or ``description``.
    See :class:`FunctionTool` and :class:`RawFunctionTool` for the rules and errors.
    """
    if raw_schema is not None and (name is not None or description is not None):
        raise TypeError("raw_schema cannot be combined with name or description")

    def wrap(function: Callable[..., Any]) -> Tool:
        if raw_schema is not None:
            return RawFunctionTool(function, raw_schema)
        return FunctionTool(function, name=name, description=description)

    if fn is None:
        return wrap
    return wrap(fn)


class ToolContext(Mapping[str, Tool]):
    """The tools of one request, by name (insertion order kept)."""

    __slots__ = ("_tools",)

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        """Collect ``tools``.

        Raises:
            TypeError: ``tools`` is not an iterable of tools, or an item is not a tool.
            ValueError: two tools share a name.
        """
        if isinstance(tools, ToolContext):
            tools = tools.values()
        elif isinstance(tools, (str, bytes, Mapping)) or not isinstance(tools, Iterable):
            raise TypeError(f"tools must be an iterable of tools, got {type(tools).__name__}")
        self._tools: dict[str, Tool] = {}
        for index, tool in enumerate(tools):
            if not isinstance(tool, (FunctionTool, RawFunctionTool)):
                raise TypeError(
                    f"tools[{index}] must be a FunctionTool or RawFunctionTool, got "
                    f"{type(tool).__name__}"
                )
            if tool.name in self._tools:
                raise ValueError(f"tools has two tools named {tool.name!r}")
            self._tools[tool.name] = tool

    @classmethod
    def empty(cls) -> ToolContext:
        """A context with no tools."""
        return cls()

    @property
    def function_tools(self) -> dict[str, Tool]:
        """The tools by name, as a new dict."""
        return dict(self._tools)

    @property
    def names(self) -> tuple[str, ...]:
        """The tool names, in insertion order."""
        return tuple(self._tools)

    def __getitem__(self, name: str) -> Tool:
        return self._tools[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tools)

    def __len__(self) -> int:
        return len(self._tools)

    def __repr__(self) -> str:
        return f"ToolContext({list(self._tools.values())!r})"


def to_fnc_ctx(tools: ToolContext | Sequence[Tool], *, strict: bool = True) -> list[dict[str, Any]]:
    """The request's ``tools`` list (LLM-REQ-2), one entry per tool in order.

    No tools gives ``[]``; the caller must then leave the ``tools`` key (and ``tool_choice``)
    out of the request altogether rather than send an empty list.

    Raises:
        TypeError: an item is not a tool.
        ValueError: two tools share a name, or a schema cannot be made strict.
    """
    context = tools if isinstance(tools, ToolContext) else ToolContext(tools)
    return [tool.to_openai_tool(strict=strict) for tool in context.values()]


@dataclasses.dataclass(frozen=True)
class NamedToolChoice:
    """A ``tool_choice`` that makes the model call the tool ``name``."""

    name: str

    def __post_init__(self) -> None:
        _check_tool_name(self.name, "name")


ToolChoice = NamedToolChoice | Mapping[str, Any] | Literal["auto", "required", "none"]
"""What :func:`to_openai_tool_choice` accepts."""


def to_openai_tool_choice(tool_choice: ToolChoice) -> str | dict[str, Any]:
    """The request's ``tool_choice`` value (LLM-REQ-3).

    ``"auto"``, ``"required"`` and ``"none"`` pass through; a :class:`NamedToolChoice` or a
    ``{"type": "function", "function": {"name": N}}`` dict becomes a fresh
    ``{"type": "function", "function": {"name": N}}``. A bare string name is not accepted: it
    could not be told apart from a misspelt mode. Upstream silently drops what it does not
    recognise, which sends a request the caller did not ask for; this raises instead. The
    caller leaves ``tool_choice`` out of the request when no tools are sent.

    Raises:
        TypeError: ``tool_choice`` is not a str, dict or :class:`NamedToolChoice`.
        ValueError: an unknown mode, or a dict of the wrong shape.
    """
    if isinstance(tool_choice, str):
        if tool_choice not in _TOOL_CHOICE_MODES:
            raise ValueError(
                f"tool_choice must be 'auto', 'required', 'none' or a named choice, got "
                f"{tool_choice!r}"
            )
        return tool_choice
    if isinstance(tool_choice, NamedToolChoice):
        name = tool_choice.name
    elif isinstance(tool_choice, Mapping):
        if set(tool_choice) != {"type", "function"} or tool_choice["type"] != "function":
            raise ValueError(
                "tool_choice must be {'type': 'function', 'function': {'name': ...}}, got "
                f"{dict(tool_choice)!r}"
            )
        function = tool_choice["function"]
        if not isinstance(function, Mapping) or set(function) != {"name"}:
            raise ValueError(f"tool_choice['function'] must be {{'name': ...}}, got {function!r}")
        try:
            name = _check_tool_name(function["name"], "tool_choice['function']['name']")
        except TypeError as exc:
            raise ValueError(str(exc)) from None
    else:
        raise TypeError(
            "tool_choice must be 'auto', 'required', 'none', a NamedToolChoice or a dict, got "
            f"{type(tool_choice).__name__}"
        )
    return {"type": "function", "function": {"name": name}}
