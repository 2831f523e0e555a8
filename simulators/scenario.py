"""Scenarios: what a simulator says, as data (YAML, JSON, or built in Python).

The format's reference is ``docs/scenarios.md``; :func:`scenario_json_schema` gives its JSON
schema from these models and the registered endpoints (committed as
``docs/scenario.schema.json``, kept current by a test; :func:`write_scenario_schema` rewrites
it), so editors validate scenario files.

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
- ``binary_frame``: send a binary frame (the ``hex`` bytes) before event ``at_event``, where a
  client expects text (WebSocket endpoints only).

Events are numbered from 0 in the order the stream would send them (each protocol module says
what its events are).

Patterns (``match.model``, ``match.text``) are evaluated with the ``regex`` package, bounded in
time (SRV-7): a request may spend at most ``timeout`` seconds on the patterns of all rules
(:data:`DEFAULT_MATCH_TIMEOUT`), and a pattern that runs out counts as no match (the caller
is told, and journals it). A pattern that already backtracks catastrophically on a short text
is refused when the scenario is loaded.
"""

from __future__ import annotations

import copy
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
from pydantic.json_schema import models_json_schema

__all__ = [
    "DEFAULT_MATCH_TIMEOUT",
    "ENDPOINTS",
    "SCENARIO_SCHEMA_FILE",
    "BinaryFrameFault",
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
    "scenario_json_schema",
    "scenario_schema_text",
    "write_scenario_schema",
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
        description="The endpoint this rule answers: one of the registered endpoints "
        "(default: the default endpoint).",
    )
    model: StrictStr | None = Field(
        default=None,
        description="A regular expression (Python `regex` syntax) that must match the "
        "request's whole model name.",
    )
    text: StrictStr | None = Field(
        default=None,
        description="A regular expression (Python `regex` syntax) searched anywhere in the "
        "request's text (for `llm`: the last user message).",
    )
    attempt: int | None = Field(
        default=None,
        ge=1,
        description="Only this attempt: 1 for the first request with a given body, 2 for the "
        "first byte-identical repeat (a retry), and so on.",
    )

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

    ttft: float = Field(
        default=0.0,
        ge=0,
        description="Seconds before the first event is written (a non-streamed reply: "
        "before the answer is sent).",
    )
    inter_chunk: float = Field(
        default=0.0, ge=0, description="Seconds between two events of a stream."
    )


class _Fault(_Script):
    attempt: int | None = Field(
        default=None,
        ge=1,
        description="Only on this attempt (1-based, as `match.attempt` counts); absent: on "
        "every attempt.",
    )


class _EventFault(_Fault):
    at_event: int = Field(
        ge=0,
        description="The stream event this fault addresses: 0-based, in the order the "
        "unfaulted stream would send its events.",
    )


class StatusFault(_Fault):
    """Answer ``code`` with a JSON error instead of the reply."""

    kind: Literal["status"] = Field(
        description="`status`: an HTTP error status instead of the reply."
    )
    code: int = Field(ge=400, le=599, description="The HTTP status (400-599).")
    body: dict[str, Any] | None = Field(
        default=None,
        description='The JSON error body; default: {"error": {"message", "type", "code"}}.',
    )
    retry_after: float | None = Field(
        default=None, ge=0, description="Seconds to send in a `Retry-After` header."
    )


class DisconnectFault(_EventFault):
    """End the connection after event ``at_event``."""

    kind: Literal["disconnect"] = Field(
        description="`disconnect`: end the connection after an event."
    )
    mode: Literal["close", "reset"] = Field(
        default="close",
        description="`close`: end the response cleanly (the stream just stops); `reset`: "
        "abort the TCP connection.",
    )


class StallFault(_EventFault):
    """Go silent for ``seconds`` before event ``at_event``."""

    kind: Literal["stall"] = Field(description="`stall`: silence before an event.")
    seconds: float = Field(gt=0, description="Seconds of silence (times the time scale).")


class DelayFault(_EventFault):
    """Wait ``seconds`` before event ``at_event``."""

    kind: Literal["delay"] = Field(description="`delay`: a pause before an event.")
    seconds: float = Field(gt=0, description="Seconds to wait (times the time scale).")


class MalformedFault(_EventFault):
    """Replace event ``at_event`` with ``line`` (default: the protocol's broken frame)."""

    kind: Literal["malformed"] = Field(
        description="`malformed`: replace an event with a broken frame."
    )
    line: StrictStr | None = Field(
        default=None,
        description="The text sent instead of the event (a blank line follows it); "
        "default: the protocol's own unparseable frame.",
    )


class ErrorEventFault(_EventFault):
    """Insert an in-band error event before event ``at_event``."""

    kind: Literal["error_event"] = Field(
        description="`error_event`: insert an in-band error event."
    )
    message: StrictStr = Field(
        default="simulated in-band error", description="The error event's message."
    )
    code: int = Field(default=500, description="The error event's code.")


class DropFault(_EventFault):
    """Leave event ``at_event`` out."""

    kind: Literal["drop"] = Field(description="`drop`: leave an event out.")


class DuplicateFault(_EventFault):
    """Send event ``at_event`` twice."""

    kind: Literal["duplicate"] = Field(description="`duplicate`: send an event twice.")


class ReorderFault(_EventFault):
    """Swap event ``at_event`` with the next one."""

    kind: Literal["reorder"] = Field(description="`reorder`: swap an event with the next.")


class ByteSplitFault(_Fault):
    """Write the stream in pieces of ``sizes`` (cycled) or of random sizes from ``seed``."""

    # The schema says what _one_source checks: exactly one of the two (null counts as absent).
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["sizes"], "properties": {"sizes": {"type": "array"}}},
                {"required": ["seed"], "properties": {"seed": {"type": "integer"}}},
            ]
        }
    )

    kind: Literal["byte_split"] = Field(
        description="`byte_split`: cut the stream into network writes of chosen sizes."
    )
    sizes: list[Annotated[int, Field(ge=1)]] | None = Field(
        default=None,
        min_length=1,
        description="Piece sizes in bytes, used in turn and cycled (give this or `seed`).",
    )
    seed: int | None = Field(
        default=None,
        description="Seed of random piece sizes of 1..`max_size` bytes (give this or `sizes`).",
    )
    max_size: int = Field(
        default=7, ge=1, description="The largest random piece, in bytes (with `seed`)."
    )

    @model_validator(mode="after")
    def _one_source(self) -> ByteSplitFault:
        if (self.sizes is None) == (self.seed is None):
            raise ValueError("byte_split needs exactly one of 'sizes' or 'seed'")
        return self


class WsCloseFault(_EventFault):
    """Close a WebSocket with ``code`` after event ``at_event``."""

    kind: Literal["ws_close"] = Field(
        description="`ws_close`: close a WebSocket (WebSocket endpoints only)."
    )
    code: int = Field(
        default=1011, ge=1000, le=4999, description="The WebSocket close code (1000-4999)."
    )


class BinaryFrameFault(_EventFault):
    """Send a binary frame holding ``hex`` before event ``at_event``."""

    kind: Literal["binary_frame"] = Field(
        description="`binary_frame`: a binary frame where text is expected (WebSocket "
        "endpoints only)."
    )
    hex: StrictStr = Field(
        default="00",
        pattern=r"^(?:[0-9a-fA-F]{2})*$",
        description="The frame's bytes, as hex digits (`ff00` is two bytes; an empty string: an "
        "empty binary frame).",
    )

    def data(self) -> bytes:
        """The frame's bytes."""
        return bytes.fromhex(self.hex)


# Fault kinds only a WebSocket endpoint can act on.
_WEBSOCKET_FAULTS = ("ws_close", "binary_frame")


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
    | WsCloseFault
    | BinaryFrameFault,
    Field(discriminator="kind"),
]


_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# The shell frames the body itself (chunked, then the end or a reset): a scripted framing
# header would contradict it.
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})


def _any_case(name: str) -> str:
    # JSON Schema patterns (ECMA-262) have no case-insensitive flag: spell each letter both ways.
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in name)


# What _valid_headers checks, as JSON Schema: token names, no framing header in any case, and
# values without CR, LF or NUL.
_HEADERS_SCHEMA: dict[str, Any] = {
    "propertyNames": {
        "pattern": _HEADER_NAME.pattern,
        "not": {"pattern": f"^(?:{'|'.join(_any_case(h) for h in sorted(_FRAMING_HEADERS))})$"},
    },
    "additionalProperties": {"type": "string", "pattern": "^[^\\r\\n\\u0000]*$"},
}
_MAX_RAW_SLEEP = 3600.0


class RawPiece(_Script):
    """One write of a raw body: ``text`` (sent as UTF-8), ``hex`` (these exact bytes), or
    ``sleep`` (a pause of that many seconds, times the scenario's time scale)."""

    # The schema says what _one_kind checks: exactly one of the three (null counts as absent).
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["text"], "properties": {"text": {"type": "string"}}},
                {"required": ["hex"], "properties": {"hex": {"type": "string"}}},
                {"required": ["sleep"], "properties": {"sleep": {"type": "number"}}},
            ]
        }
    )

    text: StrictStr | None = Field(default=None, description="Text, written as UTF-8.")
    hex: StrictStr | None = Field(
        default=None,
        pattern=r"^(?:[0-9a-fA-F]{2})*$",
        description="Bytes written exactly, as hex digits (`ff00` is two bytes).",
    )
    sleep: float | None = Field(
        default=None,
        ge=0,
        le=_MAX_RAW_SLEEP,
        allow_inf_nan=False,
        description="A pause of this many seconds (times the time scale).",
    )

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

    status: int = Field(
        default=200, ge=100, le=599, strict=True, description="The HTTP status (100-599)."
    )
    headers: dict[StrictStr, StrictStr] = Field(
        default_factory=dict,
        description="Response headers, sent as given (none but what HTTP needs is added; "
        "`Content-Length`, `Transfer-Encoding` and `Connection` are the shell's).",
        json_schema_extra=_HEADERS_SCHEMA,
    )
    body: list[RawPiece] = Field(
        default_factory=list,
        description="The body, piece by piece: each piece is its own transport write.",
    )
    end: Literal["close", "reset"] = Field(
        default="close",
        description="After the body: `close` ends the response cleanly, `reset` aborts the "
        "TCP connection.",
    )

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

    # The schema says what _raw_stands_alone checks; what depends on the endpoint (the reply
    # model, the WebSocket-only faults) is added by scenario_json_schema from the registered
    # endpoints.
    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                {
                    "if": {"required": ["raw"], "properties": {"raw": {"type": "object"}}},
                    "then": {"properties": {"reply": False, "timing": False, "faults": False}},
                }
            ]
        }
    )

    match: Match = Field(
        default_factory=Match,
        description="Which requests this rule answers; absent: every request to the default "
        "endpoint.",
    )
    reply: Any = Field(
        default=None,
        validate_default=True,
        description="What to answer, in the reply vocabulary of the rule's endpoint; absent: "
        "that vocabulary's defaults.",
    )
    timing: Timing = Field(default_factory=Timing, description="Delays before and between events.")
    faults: list[Fault] = Field(
        default_factory=list,
        description="Faults to inject, each optionally limited to one attempt.",
    )
    raw: RawReply | None = Field(
        default=None,
        description="An exact HTTP answer instead of `reply`, `timing` and `faults`.",
    )

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
            if fault.kind in _WEBSOCKET_FAULTS and not websocket:
                raise ValueError(
                    f"fault {fault.kind!r} applies to WebSocket endpoints, not "
                    f"{self.match.endpoint!r}"
                )
        return self

    def faults_for(self, attempt: int) -> list[Any]:
        """The faults that apply to the given 1-based attempt."""
        return [f for f in self.faults if f.attempt is None or f.attempt == attempt]


class Scenario(_Script):
    """A named, ordered list of rules. Without a matching rule a request gets ``on_unmatched``:
    ``echo`` (a deterministic answer from the request) or ``error`` (HTTP 404 with a JSON body
    naming the scenario, so a test sees at once that its script missed)."""

    name: StrictStr = Field(
        default="default",
        pattern=r"^[A-Za-z0-9_.:-]{1,100}$",
        description="The scenario's name: what `X-Voicewire-Scenario` selects.",
    )
    description: StrictStr = Field(default="", description="Free text for the reader.")
    time_scale: float = Field(
        default=1.0,
        ge=0,
        description="Multiplies every scripted delay (timing, stall, delay, raw sleep).",
    )
    rules: list[Rule] = Field(
        default_factory=list, description="The rules, tried in order: the first match answers."
    )
    on_unmatched: Literal["echo", "error"] = Field(
        default="error",
        description="A request no rule matches: `echo` answers from the request, `error` "
        "answers 404 naming the scenario.",
    )

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


# -- the JSON schema of a scenario document ------------------------------------------------------

SCENARIO_SCHEMA_FILE = "scenario.schema.json"
"""The file :func:`write_scenario_schema` writes (committed as ``docs/scenario.schema.json``)."""

# Docstrings are written for Sphinx-style readers; editors show schema descriptions as plain
# text or Markdown, so roles and double backquotes are turned into Markdown code.
_ROLE = re.compile(r":[a-z]+:`~?(?:[\w.]+\.)?([\w]+)`")
_LITERAL = re.compile(r"``(.+?)``", re.DOTALL)


# A single line break inside a paragraph is the docstring's wrapping, not the text's.
_WRAP = re.compile(r"(?<!\n)\n(?!\n)")


def _markdown(text: str) -> str:
    return _WRAP.sub(" ", _LITERAL.sub(r"`\1`", _ROLE.sub(r"`\1`", text)))


def _clean_descriptions(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: _markdown(value)
            if key == "description" and isinstance(value, str)
            else _clean_descriptions(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_clean_descriptions(item) for item in node]
    return node


def _endpoint_is(name: str) -> dict[str, Any]:
    """A rule whose ``match.endpoint`` says ``name``."""
    return {
        "required": ["match"],
        "properties": {
            "match": {"required": ["endpoint"], "properties": {"endpoint": {"const": name}}}
        },
    }


def _endpoint_is_default(name: str) -> dict[str, Any]:
    """A rule that addresses the default endpoint ``name``: it says so, or names none."""
    return {
        "not": {
            "required": ["match"],
            "properties": {
                "match": {
                    "required": ["endpoint"],
                    "properties": {"endpoint": {"not": {"const": name}}},
                }
            },
        }
    }


def scenario_json_schema(endpoints: EndpointTable | None = None) -> dict[str, Any]:
    """The JSON schema (draft 2020-12) of a scenario document, YAML or JSON.

    Built from the models, for the endpoints registered in ``endpoints`` (default
    :data:`ENDPOINTS`, filled by every protocol the simulators register): ``match.endpoint``
    is one of their names, and a rule's ``reply`` follows the reply model of the endpoint its
    match addresses (``null`` or absent: that model's defaults), so a protocol that registers
    an endpoint extends the schema with nothing else to do. Checks that are no types
    (exactly one of ``sizes``/``seed``, of ``text``/``hex``/``sleep``; ``raw`` alone; header
    names; ``ws_close`` and ``binary_frame`` only on WebSocket endpoints) are stated in JSON
    Schema too. What it cannot state is checked by the loader alone: whether a pattern
    compiles (with the ``regex`` package's syntax) and backtracks catastrophically, and
    pydantic's lax conversions (the loader takes ``"5"`` for ``5``; the schema wants the number).
    """
    table = ENDPOINTS if endpoints is None else endpoints
    specs = sorted(table, key=lambda spec: spec.name)
    models: list[type[BaseModel]] = [Scenario]
    for spec in specs:
        if spec.reply_model not in models:
            models.append(spec.reply_model)
    refs, document = models_json_schema(
        [(model, "validation") for model in models], ref_template="#/$defs/{model}"
    )
    # A deep copy: pydantic puts the models' json_schema_extra objects into the schema as they
    # are, and what is added below must not grow them.
    defs: dict[str, Any] = copy.deepcopy(document["$defs"])
    # The document itself is a Scenario: inline it rather than point at it.
    top = defs.pop(refs[(Scenario, "validation")]["$ref"].rsplit("/", 1)[1])

    endpoint = defs["Match"]["properties"]["endpoint"]
    endpoint["enum"] = [spec.name for spec in specs]
    default = table.default()
    if default is not None:
        endpoint["default"] = default.name
    else:
        defs["Match"].setdefault("required", []).append("endpoint")

    conditions = defs["Rule"].setdefault("allOf", [])
    for spec in specs:
        reply_ref = refs[(spec.reply_model, "validation")]
        then: dict[str, Any] = {"properties": {"reply": {"anyOf": [reply_ref, {"type": "null"}]}}}
        if not spec.websocket:
            then["properties"]["faults"] = {
                "items": {"properties": {"kind": {"not": {"enum": list(_WEBSOCKET_FAULTS)}}}}
            }
        condition = _endpoint_is_default(spec.name) if spec.default else _endpoint_is(spec.name)
        conditions.append({"if": condition, "then": then})

    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "voicewire scenario",
        **{key: value for key, value in top.items() if key != "title"},
        "$defs": defs,
    }
    return _clean_descriptions(schema)


def scenario_schema_text(endpoints: EndpointTable | None = None) -> str:
    """:func:`scenario_json_schema` as the committed file holds it: 2-space indented JSON
    with a final newline."""
    return json.dumps(scenario_json_schema(endpoints), indent=2, ensure_ascii=False) + "\n"


def write_scenario_schema(directory: str | Path) -> Path:
    """(Re)write ``scenario.schema.json`` into ``directory``; returns its path. The committed
    copy is regenerated with
    ``python -c 'from voicewire.simulators.scenario import write_scenario_schema;
    write_scenario_schema("docs")'``."""
    path = Path(directory) / SCENARIO_SCHEMA_FILE
    path.write_text(scenario_schema_text(), encoding="utf-8")
    return path
