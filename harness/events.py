"""The canonical event model: what every implementation under test is observed to do.

Adapters translate an implementation's behaviour into these events; suites assert on them;
reports and journals store them. Every event is a JSON object with a ``type`` discriminator
and ``t``, seconds since the operation started (the adapter's monotonic clock), so a recorded
run can be compared and replayed independent of wall time.

Event types (DESIGN.md "one event model"):

========================== ===============================================================
``llm.chunk``              a ChatChunk with visible or role-only delta (SPEC §2.3)
``llm.usage``              a ChatChunk's usage (LLM-USG-1)
``llm.error``              one failed attempt: the ``error`` event of RETRY-5
``llm.availability``       a fallback adapter's ``llm_availability_changed`` (FALLBACK-1/4)
``llm.end``                the stream ended: normally (``error`` null) or by raising
``wire.frame``             one request or frame on the wire, either direction (journals)
========================== ===============================================================

The speech protocols (STT speech events, TTS audio frames) add their own ``stt.*`` / ``tts.*``
types to :data:`Event` when their suites exist; consumers must ignore types they do not know.

The JSON schema of one event is :func:`event_json_schema`; ``docs/events.schema.json`` is its
committed copy (a test keeps them equal).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

__all__ = [
    "AvailabilityEvent",
    "ChunkEvent",
    "EndEvent",
    "ErrorInfo",
    "Event",
    "LLMErrorEvent",
    "ToolCall",
    "UsageEvent",
    "WireFrame",
    "dump_events",
    "event_json_schema",
    "load_events",
]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    t: float = Field(ge=0, description="seconds since the operation started")


class ToolCall(BaseModel):
    """One whole tool call as the client emitted it (LLM-TC-1): ``arguments`` is the raw
    JSON text, byte for byte as assembled, never re-serialised."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    arguments: str
    call_id: str


class ChunkEvent(_Event):
    """A ChatChunk carrying a delta. ``id`` is the server's completion id (LLM-ORD-1)."""

    type: Literal["llm.chunk"] = "llm.chunk"
    id: str
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()

    @property
    def visible(self) -> bool:
        """Non-empty text or a tool call: the 'visible output' of RETRY-2."""
        return bool(self.content) or bool(self.tool_calls)


class UsageEvent(_Event):
    """A ChatChunk carrying usage (LLM-USG-1); counts are never null."""

    type: Literal["llm.usage"] = "llm.usage"
    id: str
    completion_tokens: int = Field(ge=0)
    prompt_tokens: int = Field(ge=0)
    prompt_cached_tokens: int = Field(ge=0)
    total_tokens: int = Field(ge=0)


class ErrorInfo(BaseModel):
    """An error as the implementation reported it.

    ``kind`` is the SPEC's class name (``APIStatusError``, ``APITimeoutError``,
    ``APIConnectionError``) or, for anything else, the implementation's own exception name
    (``ValueError``...). ``retryable`` is null when the error has no such notion.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    message: str = ""
    status_code: int | None = None
    retryable: bool | None = None
    body: Any = None


class LLMErrorEvent(_Event):
    """One failed attempt (RETRY-5): ``recoverable`` says whether another attempt follows."""

    type: Literal["llm.error"] = "llm.error"
    error: ErrorInfo
    recoverable: bool
    llm: str | None = Field(default=None, description="label of the LLM that failed (fallback)")


class AvailabilityEvent(_Event):
    """A fallback adapter marked one of its LLMs (by label) unavailable or available again."""

    type: Literal["llm.availability"] = "llm.availability"
    llm: str
    available: bool


class EndEvent(_Event):
    """The operation ended: ``error`` null when the stream finished, else what it raised."""

    type: Literal["llm.end"] = "llm.end"
    error: ErrorInfo | None = None


class WireFrame(_Event):
    """One unit on the wire: an HTTP request or response head, an SSE event, a WebSocket
    frame. ``direction`` is from the server's point of view (``in``: client → server)."""

    type: Literal["wire.frame"] = "wire.frame"
    direction: Literal["in", "out"]
    kind: str
    data: Any = None


Event = Annotated[
    ChunkEvent | UsageEvent | LLMErrorEvent | AvailabilityEvent | EndEvent | WireFrame,
    Field(discriminator="type"),
]
"""Any canonical event (a discriminated union on ``type``)."""

_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
_EVENTS_ADAPTER: TypeAdapter[list[Event]] = TypeAdapter(list[Event])


def event_json_schema() -> dict[str, Any]:
    """The JSON schema (draft 2020-12) of one canonical event."""
    schema = _EVENT_ADAPTER.json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "voicewire event"
    return schema


def dump_events(events: Iterable[BaseModel]) -> list[dict[str, Any]]:
    """Events as JSON-ready dicts."""
    return [event.model_dump(mode="json") for event in events]


def load_events(data: str | bytes | Sequence[Any]) -> list[Event]:
    """Parse events from JSON text or already-decoded objects.

    Raises ``pydantic.ValidationError`` whose locations name the bad event's index and field.
    """
    if isinstance(data, (str, bytes)):
        data = json.loads(data)
    return _EVENTS_ADAPTER.validate_python(data)
