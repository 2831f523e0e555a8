"""How a protocol's endpoints are recorded and replayed: what the cassette needs to know.

The recording proxy and the cassette replayer are generic (:mod:`voicewire.simulators.recording`);
each protocol tells them, per endpoint, with one :class:`RecordedEndpoint` in its
:class:`~voicewire.simulators.core.registry.SimulatedProtocol`:

- where it lives (``method`` and the route ``path``, matched as the end of a request path, so
  any base path or ``/v1`` prefix in front of it is kept),
- how the server's answer is framed (``sse`` events, ``ndjson`` lines, one ``json`` body, or a
  ``websocket`` session), which decides what one cassette record holds,
- for a WebSocket endpoint that carries the client's audio, an :class:`AudioMeter` that reads
  how many seconds of audio each client message carries (the causal link a replay follows: a
  server message recorded after the client had sent audio up to *t* is replayed once the live
  client has sent audio up to *t*),
- ``client_ids``: the JSON keys whose string values the client chooses afresh on every run
  (an Inworld ``contextId``): a replay matches client messages without them and answers with
  the live client's values in place of the recorded ones,
- ``significant``: the part of a client's JSON message or request body the recorded answers
  depend on, when that is less than the whole: a replay compares live and recorded values
  through it (an option sent empty is the option unset, say), so a client that says the same
  thing in other words is not told it differs,
- ``optional``: which client control messages of a WebSocket session one client sends and
  another, asking the same, does not (a flush right before the end): a replay lets either side
  lack them,
- ``to_reply``: how one recorded exchange becomes a scenario rule's parts
  (:class:`RecordedReply`) that make the simulator answer as recorded, for
  ``voicewire scenario from-cassette`` (None: the endpoint's recordings cannot be scripted).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

__all__ = [
    "AudioMeter",
    "Framing",
    "RecordedEndpoint",
    "RecordedReply",
    "error_answers_unreadable_message",
    "read_recorded_server_message",
    "recorded_endpoint_for",
    "recorded_error_fault",
    "recorded_status_fault",
]

Framing = Literal["sse", "ndjson", "json", "websocket"]
"""How the server's side of an exchange is cut into cassette records."""


class AudioMeter(Protocol):
    """Reads a WebSocket session's client messages in order and says how many seconds of
    audio each one carries (0.0 for a message without audio: a setup message, a finalize).
    One meter per session: it may keep what the setup message said (the sample rate)."""

    def client_message(self, data: str | bytes) -> float:
        """Seconds of audio ``data`` carries; never raises (a message it cannot read carries
        none: the replay then matches it as a control message)."""
        ...


@dataclass(frozen=True)
class RecordedReply:
    """The parts of a scenario rule that reproduce one recorded exchange: ``match`` conditions
    beyond the endpoint and attempt (``text``, ``model``), the ``reply`` in the endpoint's
    reply vocabulary, ``timing`` and ``faults``; ``exact`` says what the rule reproduces as
    recorded and ``approximated`` what the reply vocabulary can only come near (one phrase
    each, for the scenario file's comments)."""

    reply: dict[str, Any] = field(default_factory=dict)
    match: dict[str, Any] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=dict)
    faults: list[dict[str, Any]] = field(default_factory=list)
    exact: list[str] = field(default_factory=list)
    approximated: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RecordedEndpoint:
    """One endpoint as the recorder and the replayer see it (see the module docstring)."""

    endpoint: str
    method: Literal["GET", "POST"]
    path: str
    framing: Framing
    audio_meter: Callable[[], AudioMeter] | None = None
    client_ids: frozenset[str] = field(default_factory=frozenset)
    significant: Callable[[Any], Any] | None = None
    optional: Callable[[Any], bool] | None = None
    # Takes a RecordedExchange (voicewire.simulators.recording.cassette), which the core does
    # not import: the recording package builds on the core.
    to_reply: Callable[[Any], RecordedReply] | None = None

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError(f"recorded endpoint {self.endpoint!r}: path must start with '/'")
        if self.audio_meter is not None and self.framing != "websocket":
            raise ValueError(
                f"recorded endpoint {self.endpoint!r}: only a WebSocket endpoint carries client "
                "audio messages"
            )

    @property
    def websocket(self) -> bool:
        """Whether the exchange is a WebSocket session."""
        return self.framing == "websocket"

    def matches(self, method: str, path: str) -> bool:
        """Whether a request ``method path`` is this endpoint's (a WebSocket upgrade is a
        GET)."""
        return method.upper() == self.method and path.endswith(self.path)


def recorded_endpoint_for(
    endpoints: Iterable[RecordedEndpoint], method: str, path: str
) -> RecordedEndpoint | None:
    """The endpoint a request belongs to: the one whose path is the longest end of ``path``
    (``/tts/v1/voices`` is Inworld's voices, not ``/tts``); None for a path no protocol owns."""
    best: RecordedEndpoint | None = None
    for candidate in endpoints:
        if candidate.matches(method, path) and (
            best is None or len(candidate.path) > len(best.path)
        ):
            best = candidate
    return best


def recorded_status_fault(exchange: Any) -> dict[str, Any] | None:
    """The ``status`` fault that reproduces a recorded HTTP error answer (a
    ``RecordedExchange``'s code, its JSON object body, its ``Retry-After``), or None for an
    answer below 400."""
    response = exchange.response
    if response is None or response.status < 400:
        return None
    fault: dict[str, Any] = {"kind": "status", "code": response.status}
    raw = b"".join(piece.data_bytes() for piece in exchange.body_records())
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if isinstance(body, dict):
        fault["body"] = body
    retry_after = response.headers.get("retry-after")
    if retry_after is not None:
        with contextlib.suppress(ValueError):
            fault["retry_after"] = float(retry_after)
    return fault


def error_answers_unreadable_message(
    exchange: Any, message: Any, decode: Callable[[str | bytes], Any], answered: set[int]
) -> bool:
    """Whether a recorded server error ``message`` answers the client message just before it,
    one ``decode`` (the protocol's client-message decoder) cannot read and no error answered
    yet (``answered`` collects those): a simulator answers such a message again by itself, so
    a scenario made from the recording leaves that error out. ``exchange`` is a
    :class:`~voicewire.simulators.recording.cassette.RecordedExchange` (typed loosely: the core
    does not import the recording package)."""
    clients = exchange.messages("client")
    if message.after in answered or not 0 < message.after <= len(clients):
        return False
    try:
        decode(exchange.payload(clients[message.after - 1]))
    except ValueError:  # MalformedMessage and pydantic's errors alike
        answered.add(message.after)
        return True
    return False


def read_recorded_server_message(
    exchange: Any,
    message: Any,
    decode: Callable[[str | bytes], Any],
    approximated: list[str],
    *,
    events: int,
) -> Any | None:
    """A recorded server ``message`` as the protocol's ``decode`` reads it; None when it
    cannot, noted in ``approximated`` (a scenario cannot script an unreadable message: it is
    left out, ``events`` messages in)."""
    try:
        return decode(exchange.payload(message))
    except ValueError:  # MalformedMessage and pydantic's errors alike
        approximated.append(f"an unreadable server message (after {events} events) left out")
        return None


def recorded_error_fault(
    exchange: Any,
    message: Any,
    decode: Callable[[str | bytes], Any],
    answered: set[int],
    *,
    at_event: int,
    text: str,
    code: int,
) -> list[dict[str, Any]]:
    """The scenario fault that gives a recorded server error ``message`` again (an
    ``error_event`` at ``at_event``), or none when it answers a client message ``decode``
    cannot read (see :func:`error_answers_unreadable_message`)."""
    if error_answers_unreadable_message(exchange, message, decode, answered):
        return []
    return [{"kind": "error_event", "at_event": at_event, "message": text, "code": code}]
