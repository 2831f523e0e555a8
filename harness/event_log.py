"""Recorded event logs: what an implementation emitted, operation by operation, in a file.

An event log is JSON lines: a header, then one line per **session** (one client operation:
a chat, a speech stream, a synthesis...)::

    {"type": "events", "format": "voicewire-events/1", "source": "...", "created": "..."}
    {"session": 0, "capability": "llm.chat", "exchange": 0, "events": [{"type": "llm.chunk", ...}]}
    {"session": 1, "capability": "inworld.voices", "exchange": 3, "events": [], "answer": {...}}

Sessions are numbered from 0 in order; ``exchange`` is the cassette exchange the session
replayed (null when it was not one). ``events`` are canonical events
(:mod:`voicewire.harness.events`) validated against the registered event types; events of a
type this voicewire does not know are kept as they are and ignored by the consumers (the
format grows by adding event types). An operation whose answer is not a list of events (a
voice list) stores that answer in ``answer``. ``voicewire diff`` compares event logs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from voicewire.harness.atomic_file import write_atomically
from voicewire.simulators.recording.json_lines import JSONLinesError, check_format, json_object

if TYPE_CHECKING:
    from voicewire.harness.capabilities import CapabilityTable

__all__ = [
    "EVENTS_FORMAT",
    "EVENTS_VERSION",
    "EventLog",
    "EventLogError",
    "EventLogSession",
    "load_event_log",
    "write_event_log",
]

EVENTS_VERSION = 1
EVENTS_FORMAT = f"voicewire-events/{EVENTS_VERSION}"


class EventLogError(JSONLinesError):
    """An event log that cannot be loaded: ``path``, ``line`` (1-based; None: the file as a
    whole) and the ``problem``."""


@dataclass(frozen=True)
class EventLogSession:
    """One operation's record: its number, capability, the cassette exchange it replayed
    (None: not a replay), its events (event models; unknown types as raw dicts) and, for an
    operation whose answer holds no events, that answer as JSON-ready data."""

    session: int
    capability: str
    exchange: int | None
    events: tuple[Any, ...] = ()
    answer: Mapping[str, Any] | None = None

    @classmethod
    def of_answer(
        cls, session: int, capability: str, answer: BaseModel, exchange: int | None = None
    ) -> EventLogSession:
        """The session of an operation's answer model: its ``events`` when it has them, else
        the whole answer."""
        events = getattr(answer, "events", None)
        if isinstance(events, list):
            return cls(session, capability, exchange, tuple(events))
        return cls(session, capability, exchange, (), answer.model_dump(mode="json"))

    def to_json(self) -> dict[str, Any]:
        """The session's line, as JSON-ready data."""
        data: dict[str, Any] = {
            "session": self.session,
            "capability": self.capability,
            "exchange": self.exchange,
            "events": [
                event.model_dump(mode="json") if isinstance(event, BaseModel) else event
                for event in self.events
            ],
        }
        if self.answer is not None:
            data["answer"] = dict(self.answer)
        return data


@dataclass(frozen=True)
class EventLog:
    """A loaded event log: where it came from (``source``), when it was made (``created``),
    its ``format`` and its sessions in order."""

    source: str
    created: str
    sessions: list[EventLogSession] = field(default_factory=list)
    format: str = EVENTS_FORMAT
    path: str | None = None


def write_event_log(
    path: str | os.PathLike[str],
    sessions: Iterable[EventLogSession],
    *,
    source: str,
    created: str | None = None,
) -> Path:
    """Write ``sessions`` (numbered 0, 1, ... in order) as an event log at ``path``,
    atomically; ``source`` says what emitted them (an implementation, a cassette).
    ``created`` defaults to now (UTC, ISO 8601)."""
    header = {
        "type": "events",
        "format": EVENTS_FORMAT,
        "source": source,
        "created": created or datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    lines = [json.dumps(header, ensure_ascii=False)]
    for expected, session in enumerate(sessions):
        if session.session != expected:
            raise ValueError(
                f"sessions are numbered from 0 in order: session {session.session} where "
                f"{expected} was expected"
            )
        lines.append(json.dumps(session.to_json(), ensure_ascii=False))
    return write_atomically(path, "\n".join(lines) + "\n")


def load_event_log(path: str | os.PathLike[str], table: CapabilityTable | None = None) -> EventLog:
    """Load the event log at ``path``, validating every event against ``table``'s event
    types (default: every registered protocol's). Raises :class:`EventLogError` naming the
    line and the problem (a newer format version names both versions)."""
    if table is None:
        from voicewire.harness.protocols import TABLE

        table = TABLE
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise EventLogError(path, None, f"cannot read: {error.strerror or error}") from None
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        raise EventLogError(path, None, "empty file: an event log starts with its header")
    header = _header(path, lines[0])
    sessions: list[EventLogSession] = []
    for number, line in enumerate(lines[1:], start=2):
        if line.strip():
            sessions.append(_session(path, number, line, len(sessions), table))
    return EventLog(
        source=str(header.get("source", "")),
        created=str(header.get("created", "")),
        sessions=sessions,
        format=header["format"],
        path=str(path),
    )


def _header(path: str | os.PathLike[str], line: bytes) -> dict[str, Any]:
    value = json_object(EventLogError, path, 1, line)
    check_format(
        EventLogError,
        path,
        value,
        kind="events",
        name="voicewire-events",
        newest=EVENTS_VERSION,
        what="event log",
        readable=EVENTS_FORMAT,
    )
    for name in ("source", "created"):
        if name in value and not isinstance(value[name], str):
            raise EventLogError(path, 1, f"{name}: a string, not {json.dumps(value[name])}")
    return value


_SESSION_KEYS = frozenset({"session", "capability", "exchange", "events", "answer"})


def _session(
    path: str | os.PathLike[str],
    number: int,
    line: bytes,
    expected: int,
    table: CapabilityTable,
) -> EventLogSession:
    value = json_object(EventLogError, path, number, line)
    unknown = sorted(set(value) - _SESSION_KEYS)
    if unknown:
        raise EventLogError(path, number, f"unknown field(s) {unknown}")
    session = value.get("session")
    if not isinstance(session, int) or isinstance(session, bool):
        raise EventLogError(path, number, f"session: a number, not {json.dumps(session)}")
    if session != expected:
        raise EventLogError(
            path,
            number,
            f"session {session} where {expected} was expected (sessions are numbered from 0 "
            "in order)",
        )
    capability = value.get("capability")
    if not isinstance(capability, str) or capability not in table:
        raise EventLogError(
            path,
            number,
            f"capability: {json.dumps(capability)} is not a known capability "
            f"(known: {', '.join(sorted(table.names))})",
        )
    exchange = value.get("exchange")
    if exchange is not None and (not isinstance(exchange, int) or isinstance(exchange, bool)):
        raise EventLogError(path, number, f"exchange: a number or null, not {exchange!r}")
    events = value.get("events", [])
    if not isinstance(events, list):
        raise EventLogError(path, number, "events: a list of events")
    known = set(table.event_type_names())
    adapter = table.event_adapter()
    parsed: list[Any] = []
    for index, event in enumerate(events):
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise EventLogError(
                path, number, f"events[{index}]: an event is an object with a string 'type'"
            )
        if event["type"] not in known:
            # A newer voicewire's event type: kept, and ignored by the normalisers.
            parsed.append(event)
            continue
        try:
            parsed.extend(adapter.validate_python([event]))
        except ValidationError as error:
            raise EventLogError(
                path,
                number,
                f"events[{index}] ({event['type']}): {_describe(error, event['type'])}",
            ) from None
    answer = value.get("answer")
    if answer is not None:
        if not isinstance(answer, dict):
            raise EventLogError(path, number, "answer: an object (the operation's answer)")
        operations = table.capability(capability).operations
        if operations:
            try:
                operations[0].check_answer(answer)
            except ValidationError as error:
                raise EventLogError(
                    path, number, f"answer ({capability}): {_describe(error)}"
                ) from None
    return EventLogSession(session, capability, exchange, tuple(parsed), answer)


def _describe(error: ValidationError, tag: str | None = None) -> str:
    problems = []
    for item in error.errors()[:3]:
        # An event's location starts with its index in the one-event list validated and the
        # union's tag: neither is news to the reader.
        location = [str(part) for part in item["loc"]]
        if tag is not None and location[:1] == ["0"]:
            location = location[1:]
            if location[:1] == [tag]:
                location = location[1:]
        where = ".".join(location)
        problems.append(f"{where}: {item['msg']}" if where else item["msg"])
    return "; ".join(problems)
