"""Scenarios: what a simulator says, as data (YAML, JSON, or built in Python).

A scenario is an ordered list of rules. For each request the first rule whose ``match``
accepts it decides the reply, its timing and its faults. Example (YAML)::

    name: weather
    time_scale: 0.01          # every scripted delay is multiplied by this
    rules:
      - match: {text: "weather"}            # regex searched in the last user message
        reply:
          content: "Let me check."
          tool_calls:
            - {name: get_weather, arguments: {location: Paris}}
          fragmentation: {strategy: per_char, tool_calls: interleaved}
        timing: {ttft: 0.2, inter_chunk: 0.01}
        faults:
          - {kind: status, attempt: 1, code: 503, retry_after: 1}
          - {kind: disconnect, attempt: 2, at_event: 3}

Fault vocabulary (``kind``), each optionally limited to one ``attempt`` (1-based; a retry is a
request whose body is identical to an earlier one under the same scenario selection):

- ``status``: answer ``code`` with a JSON error ``body`` (and ``Retry-After``) instead of a stream.
- ``disconnect``: after event ``at_event`` is written, end the connection (``mode`` close or reset).
- ``stall``: before event ``at_event``, go silent for ``seconds``.
- ``delay``: before event ``at_event``, wait ``seconds`` (a one-off inter-event delay).
- ``malformed``: replace event ``at_event`` with a raw ``line`` (default: unparseable JSON).
- ``error_event``: insert an in-band error event before event ``at_event``.
- ``drop`` / ``duplicate``: remove / repeat event ``at_event``.
- ``reorder``: swap event ``at_event`` with the next one.
- ``byte_split``: write the stream in pieces of the given ``sizes`` (cycled) or of seeded random
  sizes, so frames straddle network writes.
- ``ws_close``: close a WebSocket with ``code`` after event ``at_event`` (WebSocket endpoints only).

Events are numbered from 0 in the order the stream would send them; for the LLM endpoint the
final ``data: [DONE]`` is an event too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = [
    "Fault",
    "Fragmentation",
    "LLMReply",
    "Match",
    "Rule",
    "Scenario",
    "ScenarioError",
    "Timing",
    "ToolCallScript",
    "UsageScript",
    "build_scenario",
    "load_scenario",
    "parse_scenario",
]

Endpoint = Literal["llm"]
"""Endpoints a rule can match; STT and TTS endpoints join as their simulators arrive."""

WEBSOCKET_ENDPOINTS: frozenset[str] = frozenset()


class _Script(BaseModel):
    # Unknown keys are errors: a typo in a scenario must not silently script nothing.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(_Script):
    """Which requests a rule applies to; every given condition must hold."""

    endpoint: Endpoint = "llm"
    model: StrictStr | None = Field(
        default=None, description="regex, full match against the request's model"
    )
    text: StrictStr | None = Field(
        default=None, description="regex searched in the last user message (or input text)"
    )
    attempt: int | None = Field(default=None, ge=1, description="1-based attempt number")

    @field_validator("model", "text")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class Fragmentation(_Script):
    """How the reply is cut into stream chunks.

    ``strategy`` cuts text and tool arguments: ``whole`` (one piece), ``per_char``, ``fixed``
    (``size`` characters) or ``random`` (1..``size`` characters, from ``seed``).
    ``tool_calls`` lays calls out: ``sequential`` (one call after another, header first),
    ``one_delta`` (every call, whole, in a single delta), ``in_finish`` (every call, whole, in
    the chunk that carries ``finish_reason``) or ``interleaved`` (all headers first, then the
    argument fragments of all calls round-robin).
    """

    strategy: Literal["whole", "per_char", "fixed", "random"] = "fixed"
    size: int = Field(default=8, ge=1)
    seed: int = 0
    tool_calls: Literal["sequential", "one_delta", "in_finish", "interleaved"] = "sequential"


class ToolCallScript(_Script):
    """One tool call of a reply. ``arguments`` as an object is sent as its JSON text; as a
    string it is sent verbatim (so invalid JSON can be scripted on purpose)."""

    name: StrictStr = Field(min_length=1)
    arguments: dict[str, Any] | StrictStr = Field(default_factory=dict)
    id: StrictStr | None = Field(default=None, description="default: call_<n>")
    omit_id: bool = Field(default=False, description="send the header without an id")
    index: int | None = Field(default=None, ge=0, description="default: position in the list")

    @property
    def arguments_text(self) -> str:
        """The argument string exactly as it goes on the wire."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, ensure_ascii=False)


class UsageScript(_Script):
    """Token counts to report; omitted counts are computed from the request and reply."""

    prompt_tokens: int | None = Field(default=None, ge=0)
    completion_tokens: int | None = Field(default=None, ge=0)
    cached_tokens: int | None = Field(default=None, ge=0)
    reasoning_tokens: int | None = Field(default=None, ge=0)


class LLMReply(_Script):
    """A scripted chat completion."""

    content: StrictStr = ""
    reasoning: StrictStr | None = Field(
        default=None, description="thinking text, streamed inside <think>...</think> first"
    )
    tool_calls: list[ToolCallScript] = Field(default_factory=list)
    finish_reason: Literal["stop", "tool_calls", "length", "content_filter"] | None = Field(
        default=None, description="default: tool_calls when there are calls, else stop"
    )
    finish: bool = Field(default=True, description="false: the stream ends with no finish chunk")
    usage: UsageScript | Literal[False] = Field(
        default_factory=UsageScript, description="false: never send a usage chunk"
    )
    fragmentation: Fragmentation = Field(default_factory=Fragmentation)

    @property
    def effective_finish_reason(self) -> str:
        if self.finish_reason is not None:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"


class Timing(_Script):
    """Scripted delays in seconds (before the scenario's ``time_scale``)."""

    ttft: float = Field(default=0.0, ge=0, description="before the first event")
    inter_chunk: float = Field(default=0.0, ge=0, description="between events")


class _Fault(_Script):
    attempt: int | None = Field(default=None, ge=1, description="only on this attempt")


class _EventFault(_Fault):
    at_event: int = Field(ge=0, description="0-based index of the stream event")


class StatusFault(_Fault):
    kind: Literal["status"]
    code: int = Field(ge=400, le=599)
    body: dict[str, Any] | None = None
    retry_after: float | None = Field(default=None, ge=0)


class DisconnectFault(_EventFault):
    kind: Literal["disconnect"]
    mode: Literal["close", "reset"] = "close"


class StallFault(_EventFault):
    kind: Literal["stall"]
    seconds: float = Field(gt=0)


class DelayFault(_EventFault):
    kind: Literal["delay"]
    seconds: float = Field(gt=0)


class MalformedFault(_EventFault):
    kind: Literal["malformed"]
    line: StrictStr = 'data: {"id": "chatcmpl-broken", "choices": [{'


class ErrorEventFault(_EventFault):
    kind: Literal["error_event"]
    message: StrictStr = "simulated in-band error"
    code: int = 500


class DropFault(_EventFault):
    kind: Literal["drop"]


class DuplicateFault(_EventFault):
    kind: Literal["duplicate"]


class ReorderFault(_EventFault):
    kind: Literal["reorder"]


class ByteSplitFault(_Fault):
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


FAULT_KINDS: frozenset[str] = frozenset(
    get_args(member.model_fields["kind"].annotation)[0] for member in get_args(get_args(Fault)[0])
)


class Rule(_Script):
    """``match`` → ``reply`` + ``timing`` + ``faults``."""

    match: Match = Field(default_factory=Match)
    reply: LLMReply = Field(default_factory=LLMReply)
    timing: Timing = Field(default_factory=Timing)
    faults: list[Fault] = Field(default_factory=list)

    @model_validator(mode="after")
    def _faults_fit_endpoint(self) -> Rule:
        for fault in self.faults:
            if fault.kind == "ws_close" and self.match.endpoint not in WEBSOCKET_ENDPOINTS:
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


class ScenarioError(ValueError):
    """A scenario document is invalid. ``problems`` holds ``(path, message)`` pairs, the path
    pointing into the document (``rules[0].reply.tool_calls[1].name``)."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        listing = "\n".join(f"  {path}: {message}" for path, message in problems)
        super().__init__(f"invalid scenario {source}:\n{listing}")


_UNION_LABELS = frozenset({"str", "dict[str,any]", "literal[False]", "UsageScript"})


def _format_loc(loc: tuple[int | str, ...]) -> str:
    path = ""
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in _UNION_LABELS or (isinstance(previous, int) and part in FAULT_KINDS):
            pass  # union member labels and fault tags are not document keys
        else:
            path += f".{part}" if path else part
        previous = part
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
        problems = [(_format_loc(err["loc"]), err["msg"]) for err in exc.errors()]
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
