"""The canonical event model: what every implementation under test is observed to do.

Adapters translate an implementation's behaviour into events; suites assert on them; reports
and journals store them. Every event is a JSON object with a ``type`` discriminator and ``t``,
seconds since the operation started (the adapter's monotonic clock), so a recorded run can be
compared and replayed independent of wall time.

This module holds what every protocol shares: :class:`BaseEvent`, :class:`ErrorInfo` (an error
as an implementation reported it) and, re-exported from the simulator core's journal, the
entries of the simulators' journals: :class:`WireFrame` (``wire.frame``, one unit on the wire)
and :class:`WireNote` (``wire.note``, what a simulator decided). Each protocol contributes its
own event types (``llm.chunk``, ``stt.final`` ...) through its
:class:`~voicewire.harness.capabilities.ProtocolSpec`; the union of all of them is
:meth:`~voicewire.harness.capabilities.CapabilityTable.event_adapter`, its JSON schema
:func:`event_json_schema` (committed as ``docs/events.schema.json``). Consumers must ignore
event types they do not know.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field
from voicewire.reference.errors import APIError, APIStatusError
from voicewire.simulators.core.journal import WireFrame, WireNote

if TYPE_CHECKING:
    from voicewire.harness.capabilities import CapabilityTable

__all__ = [
    "BaseEvent",
    "ErrorInfo",
    "WireFrame",
    "WireNote",
    "describe_events",
    "dump_events",
    "event_json_schema",
    "load_events",
]


class BaseEvent(BaseModel):
    """What every event has: ``t``, seconds since the operation started. Subclasses add a
    ``type`` literal with a default (the discriminator) and their payload."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    t: float = Field(ge=0, description="seconds since the operation started")


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

    @classmethod
    def of(cls, error: BaseException) -> ErrorInfo:
        """How the event model reports an exception raised by a Python implementation."""
        if isinstance(error, APIError):
            status = isinstance(error, APIStatusError)
            return cls(
                kind=type(error).__name__,
                message=error.message,
                status_code=error.status_code if status else None,
                retryable=error.retryable,
                body=error.body if status else None,
            )
        return cls(kind=type(error).__name__, message=str(error))


def describe_events(events: Sequence[BaseEvent], limit: int) -> str:
    """Events one per line (time, type, the other fields that are set), at most ``limit`` of
    them: how an operation's outcome shows in a failure message."""
    lines = [
        f"  {e.t:7.3f} {getattr(e, 'type', '?')} "
        + str(e.model_dump(mode="json", exclude={"t", "type"}, exclude_defaults=True))
        for e in events[:limit]
    ]
    if len(events) > limit:
        lines.append(f"  ... {len(events) - limit} more events")
    return "\n".join(lines)


def dump_events(events: Iterable[BaseModel]) -> list[dict[str, Any]]:
    """Events as JSON-ready dicts."""
    return [event.model_dump(mode="json") for event in events]


def load_events(table: CapabilityTable, data: str | bytes | Sequence[Any]) -> list[Any]:
    """Parse events of any registered type from JSON text or decoded objects.

    Raises ``pydantic.ValidationError`` whose locations name the bad event's index and field.
    """
    if isinstance(data, (str, bytes)):
        data = json.loads(data)
    return table.event_adapter().validate_python(data)


def event_json_schema(table: CapabilityTable) -> dict[str, Any]:
    """The JSON schema (draft 2020-12) of one event of any registered type."""
    list_schema = table.event_adapter().json_schema()
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "voicewire event",
        **{key: value for key, value in list_schema["items"].items()},
    }
    if "$defs" in list_schema:
        schema["$defs"] = list_schema["$defs"]
    return schema
