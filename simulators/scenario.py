"""Scenarios: what a simulator says, as data (YAML, JSON, or built in Python).

A scenario is an ordered list of rules. For each request the first rule whose ``match``
accepts it decides the reply, its timing and its faults. Example (YAML)::

    name: weather
    time_scale: 0.01          # every scripted delay is multiplied by this
    rules:
      - match: {text: "weather"}            # regex searched in the request's text
        reply:
          content: "Let me check."
          tool_calls:
            - {name: get_weather, arguments: {location: Paris}}
          fragmentation: {strategy: per_char, tool_calls: interleaved}
        timing: {ttft: 0.2, inter_chunk: 0.01}
        faults:
          - {kind: status, attempt: 1, code: 503, retry_after: 1}
          - {kind: disconnect, attempt: 2, at_event: 3}

This module is protocol-agnostic. A rule's ``match.endpoint`` names one of the endpoints the
protocols registered (:data:`ENDPOINTS`, filled through
:class:`~voicewire.simulators.core.registry.ProtocolRegistry`); a rule without one addresses
the default endpoint. The rule's ``reply`` is validated with the reply model its endpoint
registered, so each protocol defines its own script vocabulary (for the LLM endpoint:
:class:`~voicewire.simulators.llm.LLMReply`).

Fault vocabulary (``kind``), each optionally limited to one ``attempt`` (1-based; a retry is a
request whose body is identical to an earlier one under the same scenario selection):

- ``status``: answer ``code`` with a JSON error ``body`` (and ``Retry-After``) instead of a stream.
- ``disconnect``: after event ``at_event`` is written, end the connection (``mode`` close or reset).
- ``stall``: before event ``at_event``, go silent for ``seconds``.
- ``delay``: before event ``at_event``, wait ``seconds`` (a one-off inter-event delay).
- ``malformed``: replace event ``at_event`` with a raw ``line`` (default: the protocol's own
  unparseable frame).
- ``error_event``: insert an in-band error event before event ``at_event``.
- ``drop`` / ``duplicate``: remove / repeat event ``at_event``.
- ``reorder``: swap event ``at_event`` with the next one.
- ``byte_split``: write the stream in pieces of the given ``sizes`` (cycled) or of seeded random
  sizes, so frames straddle network writes.
- ``ws_close``: close a WebSocket with ``code`` after event ``at_event`` (WebSocket endpoints only).

Events are numbered from 0 in the order the stream would send them (each protocol module says
what its events are).

Patterns (``match.model``, ``match.text``) are evaluated with the ``regex`` package, bounded in
time (SRV-7): a request may spend at most ``timeout`` seconds on the patterns of all rules
(:data:`DEFAULT_MATCH_TIMEOUT`), and a pattern that runs out counts as no match (the caller
is told, and journals it). A pattern that already backtracks catastrophically on a short text
is refused when the scenario is loaded.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import regex
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

__all__ = [
    "DEFAULT_MATCH_TIMEOUT",
    "ENDPOINTS",
    "ByteSplitFault",
    "DelayFault",
    "DisconnectFault",
    "DropFault",
    "DuplicateFault",
    "EndpointSpec",
    "EndpointTable",
    "ErrorEventFault",
    "Fault",
    "MalformedFault",
    "Match",
    "MatchTimeout",
    "RawPiece",
    "RawReply",
    "ReorderFault",
    "Rule",
    "Scenario",
    "ScenarioError",
    "StallFault",
    "StatusFault",
    "Timing",
    "WsCloseFault",
    "build_scenario",
    "compiled_pattern",
    "load_scenario",
    "parse_scenario",
]


# -- endpoints: what a rule can address ---------------------------------------------------------


@dataclass(frozen=True)
class EndpointSpec:
    """One scriptable endpoint: its ``name`` (what ``match.endpoint`` says), the pydantic model
    its rules' ``reply`` is validated with, whether it is a WebSocket endpoint (only those
    accept ``ws_close``), and whether it is the default of a rule that names no endpoint."""

    name: str
    reply_model: type[BaseModel]
    websocket: bool = False
    default: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not re.fullmatch(r"[a-z][a-z0-9_.-]{0,63}", self.name):
            raise ValueError(f"endpoint name must be a short lower-case identifier: {self.name!r}")
        if not (isinstance(self.reply_model, type) and issubclass(self.reply_model, BaseModel)):
            raise TypeError(f"endpoint {self.name!r}: reply_model must be a pydantic model class")


class EndpointTable:
    """The endpoints scenarios may address. Filled by the protocol registry; read when a
    scenario is validated."""

    def __init__(self) -> None:
        self._specs: dict[str, EndpointSpec] = {}

    def add(self, spec: EndpointSpec) -> None:
        """Make ``spec`` addressable; a name is taken once, and there is one default."""
        if spec.name in self._specs:
            raise ValueError(f"endpoint {spec.name!r} is already registered")
        if spec.default and self.default() is not None:
            raise ValueError(
                f"endpoint {spec.name!r} cannot be the default: {self.default().name!r} already is"  # type: ignore[union-attr]
            )
        self._specs[spec.name] = spec

    def remove(self, name: str) -> None:
        """Forget one endpoint (scenarios already validated keep their replies)."""
        self._specs.pop(name, None)

    def get(self, name: str) -> EndpointSpec | None:
        """The endpoint called ``name``, if registered."""
        return self._specs.get(name)

    def default(self) -> EndpointSpec | None:
        """The endpoint of a rule that names none."""
        return next((spec for spec in self._specs.values() if spec.default), None)

    def names(self) -> list[str]:
        """Every registered endpoint name, sorted."""
        return sorted(self._specs)

    def __iter__(self) -> Iterator[EndpointSpec]:
        return iter(list(self._specs.values()))


ENDPOINTS = EndpointTable()
"""The endpoints of every registered protocol."""


# -- the script models --------------------------------------------------------------------------


class _Script(BaseModel):
    # Unknown keys are errors: a typo in a scenario must not silently script nothing.
    model_config = ConfigDict(extra="forbid", frozen=True)


def _default_endpoint_name() -> str:
    spec = ENDPOINTS.default()
    # "" is refused by the validator below with a message naming the problem.
    return spec.name if spec is not None else ""


DEFAULT_MATCH_TIMEOUT = 0.05
"""Seconds one request may spend evaluating scenario patterns, over all rules."""

# Load-time probe of a pattern: texts of one repeated character and a character that breaks
# the run. A pattern that backtracks catastrophically needs exponential (or high-polynomial)
# time on such a text, while any reasonable pattern needs microseconds, so a generous probe
# timeout still tells them apart; a probe that times out is tried once more, longer, before
# the pattern is refused, so a scheduling hiccup on a busy machine never refuses a good one.
_PROBE_LENGTH = 64
_PROBE_TIMEOUT = 0.005
_PROBE_CONFIRM_TIMEOUT = 0.1
_PROBE_ENDINGS = ("\x00", "!")
_PROBE_CHARACTERS = 24


class MatchTimeout(Exception):
    """A pattern ran out of time on a request; the rule counts as not matching."""

    def __init__(self, field: str, pattern: str, timeout: float) -> None:
        super().__init__(field, pattern, timeout)
        self.field = field
        self.pattern = pattern
        self.timeout = timeout

    def __str__(self) -> str:
        return f"match.{self.field} {self.pattern!r} ran out of its {self.timeout:g} s"


@functools.lru_cache(maxsize=1024)
def compiled_pattern(pattern: str) -> regex.Pattern[str]:
    """``pattern`` compiled with the ``regex`` package (kept: rules are matched per request)."""
    return regex.compile(pattern)


def _probe_texts(pattern: str) -> Iterator[str]:
    characters = sorted({c for c in pattern if c.isalnum() or c in " _-.,:;/"} | set("a0 x"))
    for character in characters[:_PROBE_CHARACTERS]:
        for ending in _PROBE_ENDINGS:
            yield character * _PROBE_LENGTH + ending


def _catastrophic(pattern: str, *, full: bool) -> str | None:
    """Why ``pattern`` is refused as catastrophic, or None."""
    compiled = compiled_pattern(pattern)
    run = compiled.fullmatch if full else compiled.search
    for text in _probe_texts(pattern):
        try:
            run(text, timeout=_PROBE_TIMEOUT)
        except TimeoutError:
            try:
                run(text, timeout=_PROBE_CONFIRM_TIMEOUT)
            except TimeoutError:
                return (
                    f"catastrophic backtracking: matching {len(text)} characters "
                    f"({text[0]!r} repeated) takes over {_PROBE_CONFIRM_TIMEOUT:g} s; rewrite "
                    "it without nested or overlapping repetition"
                )
    return None


class Match(_Script):
    """Which requests a rule applies to; every given condition must hold."""

    endpoint: StrictStr = Field(
        default_factory=_default_endpoint_name,
        description="a registered endpoint (default: the default endpoint)",
    )
    model: StrictStr | None = Field(
        default=None, description="regex, full match against the request's model"
    )
    text: StrictStr | None = Field(
        default=None, description="regex searched in the request's text (e.g. last user message)"
    )
    attempt: int | None = Field(default=None, ge=1, description="1-based attempt number")

    @field_validator("endpoint")
    @classmethod
    def _registered(cls, value: str) -> str:
        if ENDPOINTS.get(value) is None:
            known = ", ".join(ENDPOINTS.names()) or "none: no protocol is registered"
            raise ValueError(f"unknown endpoint {value!r} (registered: {known})")
        return value

    @field_validator("model", "text")
    @classmethod
    def _compiles(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            try:
                compiled_pattern(value)
            except regex.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
            problem = _catastrophic(value, full=info.field_name == "model")
            if problem is not None:
                raise ValueError(problem)
        return value

    def accepts(
        self,
        endpoint: str,
        *,
        model: str | None,
        text: str | None,
        attempt: int,
        timeout: float = DEFAULT_MATCH_TIMEOUT,
    ) -> bool:
        """Whether a request to ``endpoint`` with this model, text and attempt number matches.
        A condition on a value the request does not have (``None``) never holds. Patterns
        get ``timeout`` seconds in all; :class:`MatchTimeout` when one runs out (or none is
        left)."""
        if self.endpoint != endpoint:
            return False
        if self.attempt is not None and self.attempt != attempt:
            return False
        started = time.monotonic()
        for field, pattern, value, full in (
            ("model", self.model, model, True),
            ("text", self.text, text, False),
        ):
            if pattern is None:
                continue
            if value is None:
                return False
            left = timeout - (time.monotonic() - started)
            if left <= 0:
                raise MatchTimeout(field, pattern, timeout)
            compiled = compiled_pattern(pattern)
            try:
                found = (compiled.fullmatch if full else compiled.search)(value, timeout=left)
            except TimeoutError:
                raise MatchTimeout(field, pattern, timeout) from None
            if found is None:
                return False
        return True


class Timing(_Script):
    """Scripted delays in seconds (before the scenario's ``time_scale``)."""

    ttft: float = Field(default=0.0, ge=0, description="before the first event")
    inter_chunk: float = Field(default=0.0, ge=0, description="between events")


class _Fault(_Script):
    attempt: int | None = Field(default=None, ge=1, description="only on this attempt")


class _EventFault(_Fault):
    at_event: int = Field(ge=0, description="0-based index of the stream event")


class StatusFault(_Fault):
    """Answer ``code`` with a JSON error instead of the reply."""

    kind: Literal["status"]
    code: int = Field(ge=400, le=599)
    body: dict[str, Any] | None = None
    retry_after: float | None = Field(default=None, ge=0)


class DisconnectFault(_EventFault):
    """End the connection after event ``at_event``."""

    kind: Literal["disconnect"]
    mode: Literal["close", "reset"] = "close"


class StallFault(_EventFault):
    """Go silent for ``seconds`` before event ``at_event``."""

    kind: Literal["stall"]
    seconds: float = Field(gt=0)


class DelayFault(_EventFault):
    """Wait ``seconds`` before event ``at_event``."""

    kind: Literal["delay"]
    seconds: float = Field(gt=0)


class MalformedFault(_EventFault):
    """Replace event ``at_event`` with ``line`` (``None``: the protocol's broken frame)."""

    kind: Literal["malformed"]
    line: StrictStr | None = None


class ErrorEventFault(_EventFault):
    """Insert an in-band error event before event ``at_event``."""

    kind: Literal["error_event"]
    message: StrictStr = "simulated in-band error"
    code: int = 500


class DropFault(_EventFault):
    """Leave event ``at_event`` out."""

    kind: Literal["drop"]


class DuplicateFault(_EventFault):
    """Send event ``at_event`` twice."""

    kind: Literal["duplicate"]


class ReorderFault(_EventFault):
    """Swap event ``at_event`` with the next one."""

    kind: Literal["reorder"]


class ByteSplitFault(_Fault):
    """Write the stream in pieces of ``sizes`` (cycled) or of random sizes from ``seed``."""

    kind: Literal["byte_split"]
    sizes: list[Annotated[int, Field(ge=1)]] | None = Field(default=None, min_length=1)
    seed: int | None = None
    max_size: int = Field(default=7, ge=1)

    @model_validator(mode="after")
    def _one_source(self) -> ByteSplitFault:
        if (self.sizes is None) == (self.seed is None):
            raise ValueError("byte_split needs exactly one of 'sizes' or 'seed'")
        return self


class WsCloseFault(_EventFault):
    """Close a WebSocket with ``code`` after event ``at_event``."""

    kind: Literal["ws_close"]
    code: int = Field(default=1011, ge=1000, le=4999)


Fault = Annotated[
    StatusFault
    | DisconnectFault
    | StallFault
    | DelayFault
    | MalformedFault
    | ErrorEventFault
    | DropFault
    | DuplicateFault
    | ReorderFault
    | ByteSplitFault
    | WsCloseFault,
    Field(discriminator="kind"),
]


_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# The shell frames the body itself (chunked, then the end or a reset): a scripted framing
# header would contradict it.
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})
_MAX_RAW_SLEEP = 3600.0


class RawPiece(_Script):
    """One write of a raw body: ``text`` (sent as UTF-8), ``hex`` (these exact bytes), or
    ``sleep`` (a pause of that many seconds, times the scenario's time scale)."""

    text: StrictStr | None = None
    hex: StrictStr | None = Field(default=None, pattern=r"^(?:[0-9a-fA-F]{2})*$")
    sleep: float | None = Field(default=None, ge=0, le=_MAX_RAW_SLEEP, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_kind(self) -> RawPiece:
        given = [name for name in ("text", "hex", "sleep") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                f"a raw body piece is exactly one of text, hex or sleep, got {given or 'none'}"
            )
        return self

    def data(self) -> bytes | None:
        """The bytes this piece writes (None: it is a pause)."""
        if self.text is not None:
            return self.text.encode("utf-8")
        if self.hex is not None:
            return bytes.fromhex(self.hex)
        return None


class RawReply(_Script):
    """An exact HTTP answer for any endpoint, to play a broken or hostile server: ``status``,
    ``headers`` (none added but what HTTP needs: with no ``Content-Type``, aiohttp's server
    sends ``application/octet-stream``), the ``body`` written piece by piece (each piece its
    own transport write, pauses between), then a clean ``close`` or a ``reset`` of the
    connection. Framing headers (``Content-Length``, ``Transfer-Encoding``, ``Connection``)
    are the shell's and cannot be scripted."""

    status: int = Field(default=200, ge=100, le=599, strict=True)
    headers: dict[StrictStr, StrictStr] = Field(default_factory=dict)
    body: list[RawPiece] = Field(default_factory=list)
    end: Literal["close", "reset"] = "close"

    @field_validator("headers")
    @classmethod
    def _valid_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if not _HEADER_NAME.match(name):
                raise ValueError(f"header name {name!r} is not an HTTP token")
            if name.lower() in _FRAMING_HEADERS:
                raise ValueError(f"header {name!r} frames the body: the shell sets it")
            if any(c in value for c in "\r\n\x00"):
                raise ValueError(f"header {name!r}: a value cannot hold CR, LF or NUL")
        return headers


class Rule(_Script):
    """``match`` → ``reply`` + ``timing`` + ``faults``, or ``match`` → ``raw``. ``reply`` is an
    instance of the reply model of the endpoint ``match`` names; ``raw`` (a :class:`RawReply`)
    replaces the whole answer with exact bytes, so it takes no reply, timing or faults."""

    match: Match = Field(default_factory=Match)
    reply: Any = Field(default=None, validate_default=True)
    timing: Timing = Field(default_factory=Timing)
    faults: list[Fault] = Field(default_factory=list)
    raw: RawReply | None = None

    @field_validator("reply", mode="wrap")
    @classmethod
    def _reply_of_endpoint(
        cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> Any:
        match = info.data.get("match")
        if match is None:
            # The match itself is invalid, so which model applies is unknown; its own error
            # is reported, the reply's wait until it is fixed.
            return value
        spec = ENDPOINTS.get(match.endpoint)
        if spec is None:  # pragma: no cover - Match refuses unknown endpoints
            return value
        if isinstance(value, spec.reply_model):
            return value
        # model_validate inside the validator keeps the nested error locations
        # (rules[0].reply.tool_calls[0].name) under "reply".
        return spec.reply_model.model_validate({} if value is None else value)

    @model_validator(mode="after")
    def _raw_stands_alone(self) -> Rule:
        if self.raw is not None:
            scripted = sorted({"reply", "timing", "faults"} & self.model_fields_set)
            if scripted:
                raise ValueError(
                    f"a rule with 'raw' answers with exact bytes; it takes no {', '.join(scripted)}"
                )
        return self

    @model_validator(mode="after")
    def _faults_fit_endpoint(self) -> Rule:
        spec = ENDPOINTS.get(self.match.endpoint)
        websocket = spec is not None and spec.websocket
        for fault in self.faults:
            if fault.kind == "ws_close" and not websocket:
                raise ValueError(
                    f"fault 'ws_close' applies to WebSocket endpoints, not {self.match.endpoint!r}"
                )
        return self

    def faults_for(self, attempt: int) -> list[Any]:
        """The faults that apply to the given 1-based attempt."""
        return [f for f in self.faults if f.attempt is None or f.attempt == attempt]


class Scenario(_Script):
    """A named, ordered list of rules. Without a matching rule a request gets ``on_unmatched``:
    ``echo`` (a deterministic answer from the request) or ``error`` (HTTP 404 with a JSON body
    naming the scenario, so a test sees at once that its script missed)."""

    name: StrictStr = Field(default="default", pattern=r"^[A-Za-z0-9_.:-]{1,100}$")
    description: StrictStr = ""
    time_scale: float = Field(default=1.0, ge=0)
    rules: list[Rule] = Field(default_factory=list)
    on_unmatched: Literal["echo", "error"] = "error"

    @classmethod
    def echo(cls, name: str = "default", *, time_scale: float = 1.0) -> Scenario:
        """The out-of-the-box scenario: no rules, every request answered by echo."""
        return cls(name=name, rules=[], on_unmatched="echo", time_scale=time_scale)

    def first_match(
        self,
        endpoint: str,
        *,
        model: str | None,
        text: str | None,
        attempt: int,
        timeout: float = DEFAULT_MATCH_TIMEOUT,
        on_timeout: Callable[[int, MatchTimeout], None] | None = None,
    ) -> tuple[int, Rule] | None:
        """The first rule (with its index) whose match accepts the request, if any.

        The patterns of all rules share ``timeout`` seconds: a rule whose pattern runs out
        (or finds none left) does not match, and ``on_timeout(index, problem)`` is told."""
        deadline = time.monotonic() + timeout
        for index, rule in enumerate(self.rules):
            try:
                accepted = rule.match.accepts(
                    endpoint,
                    model=model,
                    text=text,
                    attempt=attempt,
                    timeout=deadline - time.monotonic(),
                )
            except MatchTimeout as problem:
                if on_timeout is not None:
                    on_timeout(index, problem)
                continue
            if accepted:
                return index, rule
        return None


# -- loading ------------------------------------------------------------------------------------


class ScenarioError(ValueError):
    """A scenario document is invalid. ``problems`` holds ``(path, message)`` pairs, the path
    pointing into the document (``rules[0].reply.tool_calls[1].name``)."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        listing = "\n".join(f"  {path}: {message}" for path, message in problems)
        super().__init__(f"invalid scenario {source}:\n{listing}")


_TYPE_LABEL = re.compile(r"^[A-Z]|[\[\](),\-]|^(str|int|float|bool|bytes|none|list|dict)$")


def _is_label(node: Any, part: str) -> bool:
    """Whether a location part that the document does not hold at this point is a pydantic
    label rather than a key: a union member (``str``, ``UsageScript``, ``literal[False]``) or a
    tagged union's tag (a fault's ``kind``)."""
    if isinstance(node, Mapping) and node.get("kind") == part:
        return True
    return _TYPE_LABEL.search(part) is not None


def _document_path(document: Any, error: Mapping[str, Any]) -> str:
    """The error's location as a path into the document.

    pydantic locations also hold labels that are no document keys (union members such as
    ``str`` or ``UsageScript``, fault tags such as ``stall``). A part the document holds at
    that point is a key; a part it does not hold is a key too (a missing field, or one left
    to its default) unless it is such a label.
    """
    path = ""
    node = document
    for part in error["loc"]:
        if isinstance(part, int):
            path += f"[{part}]"
            inside = isinstance(node, (list, tuple)) and -len(node) <= part < len(node)
            node = node[part] if inside else None
            continue
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, BaseModel) and part in type(node).model_fields:
            node = getattr(node, part)
        elif _is_label(node, part):
            continue
        else:
            node = None
        path += f".{part}" if path else part
    return path or "<root>"


def parse_scenario(data: Any, *, source: str = "<scenario>") -> Scenario:
    """Validate a decoded document (dict) into a :class:`Scenario` or raise ScenarioError."""
    if isinstance(data, Scenario):
        return data
    if not isinstance(data, Mapping):
        raise ScenarioError(source, [("<root>", f"expected a mapping, got {type(data).__name__}")])
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = [(_document_path(data, err), err["msg"]) for err in exc.errors()]
        raise ScenarioError(source, problems) from None


def build_scenario(name: str, *rules: Mapping[str, Any], **fields: Any) -> Scenario:
    """A scenario from rule dicts in the YAML vocabulary, validated like a file would be."""
    return parse_scenario({"name": name, "rules": list(rules), **fields}, source=f"<{name}>")


def load_scenario(path: str | Path) -> Scenario:
    """Load a scenario from a ``.yaml``/``.yml`` or ``.json`` file.

    Every problem is reported with the file, the path inside the document and what is wrong.
    """
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(source, [("<file>", exc.strerror or str(exc))]) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(source, [("<file>", f"not UTF-8 text: {exc}")]) from None
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno} column {exc.colno}"
            raise ScenarioError(source, [(where, f"invalid JSON: {exc.msg}")]) from None
    elif suffix in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1} column {mark.column + 1}" if mark else "<document>"
            problem = getattr(exc, "problem", None) or str(exc)
            raise ScenarioError(source, [(where, f"invalid YAML: {problem}")]) from None
    else:
        raise ScenarioError(
            source, [("<file>", f"unknown scenario format {suffix!r}: use .yaml, .yml or .json")]
        )
    return parse_scenario(data, source=source)
