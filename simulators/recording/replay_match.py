"""The cassette replayer's decisions, without sockets: which recorded exchange answers a live
request, how a live request differs from the recorded one, and when each recorded server
message of a WebSocket session is due.

- :class:`ReplayMatcher` picks recorded exchanges for live requests: the first unused one of
  the same endpoint (and query) whose request matches, so concurrent clients may arrive in
  another order than they were recorded; a request that matches none is described against the
  next unused exchange of its endpoint, naming the first difference (its JSON path and both
  values).
- :class:`CausalSchedule` replays one WebSocket session: it compares the live client's
  control messages with the recorded ones (ignoring the endpoint's client-chosen ids, whose
  live values then replace the recorded ones in what is sent), measures the live audio, and
  says when each recorded server message may go: once the live client has sent what preceded
  it (control messages and audio), not before its recorded delay (scaled).
- :func:`paced_body` gives an HTTP answer's body pieces with their scaled times.

Generic: what an endpoint is comes from its
:class:`~voicewire.simulators.core.recorded.RecordedEndpoint` registration.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from voicewire.simulators.core.recorded import AudioMeter, RecordedEndpoint, recorded_endpoint_for
from voicewire.simulators.recording.cassette import (
    Cassette,
    CloseRecord,
    MessageRecord,
    RecordedExchange,
)
from voicewire.simulators.recording.redaction import redact_query

__all__ = [
    "AUDIO_EPSILON",
    "CausalSchedule",
    "HttpMatch",
    "ReplayMatcher",
    "ReplayStep",
    "SessionPick",
    "endpoint_difference",
    "json_difference",
    "ordinal",
    "paced_body",
    "payload_difference",
]

AUDIO_EPSILON = 1e-6
"""Seconds of audio a live client may fall short of the recorded amount and still count as
having sent it (audio seconds are sums of floats)."""

_VALUE_CHARS = 60
_MISSING = object()


def ordinal(number: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th`` ... ``11th``, ``12th``, ``13th``, ``21st``."""
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _show(value: Any) -> str:
    if value is _MISSING:
        return "missing"
    text = json.dumps(value, ensure_ascii=False)
    if len(text) > _VALUE_CHARS:
        text = text[: _VALUE_CHARS - 3] + "..."
    return text


def _kind(value: Any) -> str:
    # bool is an int to Python, never to JSON: true differs from 1.
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def json_difference(
    live: Any, recorded: Any, *, ignore: frozenset[str] = frozenset(), where: str = "body"
) -> str | None:
    """The first difference between two JSON values, as ``<path> is <live> here, <recorded>
    in the cassette`` (None: equal). Object keys in ``ignore`` are skipped at any depth."""
    if _kind(live) != _kind(recorded):
        return f"{where} is {_show(live)} here, {_show(recorded)} in the cassette"
    if isinstance(live, dict):
        for key in list(recorded) + [key for key in live if key not in recorded]:
            if key in ignore:
                continue
            mine, theirs = live.get(key, _MISSING), recorded.get(key, _MISSING)
            step = f"{where}.{key}"
            if mine is _MISSING or theirs is _MISSING:
                return f"{step} is {_show(mine)} here, {_show(theirs)} in the cassette"
            found = json_difference(mine, theirs, ignore=ignore, where=step)
            if found is not None:
                return found
        return None
    if isinstance(live, list):
        for index, (mine, theirs) in enumerate(zip(live, recorded, strict=False)):
            found = json_difference(mine, theirs, ignore=ignore, where=f"{where}[{index}]")
            if found is not None:
                return found
        if len(live) != len(recorded):
            return f"{where} has {len(live)} items here, {len(recorded)} in the cassette"
        return None
    if live != recorded:
        return f"{where} is {_show(live)} here, {_show(recorded)} in the cassette"
    return None


def _parse_json(data: str | bytes) -> tuple[bool, Any]:
    try:
        return True, json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False, None


def payload_difference(
    live: str | bytes,
    recorded: str | bytes,
    *,
    ignore: frozenset[str] = frozenset(),
    significant: Callable[[Any], Any] | None = None,
    where: str = "body",
) -> str | None:
    """How a live payload differs from a recorded one (None: equal): as JSON when both parse
    (keys in ``ignore`` skipped, both values taken through ``significant`` first), else byte
    for byte."""
    if isinstance(live, str) != isinstance(recorded, str):
        kinds = ("text", "binary")
        return (
            f"{where} is a {kinds[isinstance(live, bytes)]} message here, a "
            f"{kinds[isinstance(recorded, bytes)]} one in the cassette"
        )
    live_ok, live_value = _parse_json(live) if live else (False, None)
    recorded_ok, recorded_value = _parse_json(recorded) if recorded else (False, None)
    if live_ok and recorded_ok:
        if significant is not None:
            live_value, recorded_value = significant(live_value), significant(recorded_value)
        return json_difference(live_value, recorded_value, ignore=ignore, where=where)
    mine = live.encode("utf-8") if isinstance(live, str) else live
    theirs = recorded.encode("utf-8") if isinstance(recorded, str) else recorded
    if mine == theirs:
        return None
    if live_ok != recorded_ok:
        state = ("is not JSON", "is JSON")
        return f"{where} {state[live_ok]} here and {state[recorded_ok]} in the cassette"
    at = next(
        (i for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b),
        min(len(mine), len(theirs)),
    )
    return (
        f"{where} differs from byte {at}: {len(mine)} bytes here ({mine[at : at + 20]!r}...), "
        f"{len(theirs)} in the cassette ({theirs[at : at + 20]!r}...)"
    )


def endpoint_difference(
    endpoint: RecordedEndpoint, live: str | bytes, recorded: str | bytes, *, where: str
) -> str | None:
    """How a live client payload differs from a recorded one on ``endpoint`` (None: the same
    for the endpoint: its client-chosen ids left out, compared on what is significant)."""
    return payload_difference(
        live, recorded, ignore=endpoint.client_ids, significant=endpoint.significant, where=where
    )


@dataclass
class HttpMatch:
    """What answers a live request: a recorded ``exchange``, or an ``error`` (``status`` and
    the message; the error is a mismatch the replayer reports)."""

    exchange: RecordedExchange | None = None
    status: int = 200
    error: str | None = None
    endpoint: RecordedEndpoint | None = None


@dataclass
class SessionPick:
    """A WebSocket session choice: the recorded ``exchange``, ``wait`` (the live client's
    first message decides), or an ``error``."""

    exchange: RecordedExchange | None = None
    wait: bool = False
    error: str | None = None


class ReplayMatcher:
    """Picks the recorded exchange for each live request of one replay (see the module
    docstring). ``endpoints``: every recorded endpoint the replayer knows (the registry's).

    Each recorded exchange answers once. With ``rewind``, an endpoint whose exchanges have all
    answered plays again from its first: a client run again (the next test of a suite, an
    agent restarted) gets the recording again, retries and all, in recorded order."""

    def __init__(
        self, cassette: Cassette, endpoints: Iterable[RecordedEndpoint], *, rewind: bool = False
    ) -> None:
        self.cassette = cassette
        self.rewind = rewind
        self.endpoints = list(endpoints)
        self._by_endpoint: dict[str, list[RecordedExchange]] = {}
        for exchange in cassette.exchanges:
            name = self._endpoint_name(exchange)
            if name is None and not exchange.request.websocket:
                name = self._unowned_endpoint(exchange).endpoint
            if name is not None:
                self._by_endpoint.setdefault(name, []).append(exchange)
        self._used: set[int] = set()
        self._requests: dict[str, int] = {}

    def _endpoint_name(self, exchange: RecordedExchange) -> str | None:
        request = exchange.request
        if request.endpoint is not None:
            return request.endpoint
        found = recorded_endpoint_for(self.endpoints, request.method, request.path)
        return found.endpoint if found is not None else None

    def _unowned_endpoint(self, exchange: RecordedExchange) -> RecordedEndpoint:
        """An endpoint for a recorded HTTP request to a path no protocol owns (an agent's
        ``GET /v1/models``): the proxy recorded its answer whole, so it is answered as
        recorded, matched on method, that exact path, query and body."""
        method, path = exchange.request.method.upper(), exchange.request.path
        name = f"{method} {path}"
        found = next((e for e in self.endpoints if e.endpoint == name), None)
        if found is None:
            found = RecordedEndpoint(name, cast(Any, method), path, "json")
            self.endpoints.append(found)
        return found

    def endpoint_for(self, method: str, path: str) -> RecordedEndpoint | None:
        """The endpoint a live request belongs to."""
        return recorded_endpoint_for(self.endpoints, method, path)

    def holdings(self) -> str:
        """What the cassette holds, e.g. ``llm (2 exchanges), inworld.voices (1 exchange)``."""
        if not self._by_endpoint:
            return "no exchange of any endpoint voicewire knows"
        return ", ".join(
            f"{name} ({len(found)} exchange{'s' if len(found) != 1 else ''})"
            for name, found in self._by_endpoint.items()
        )

    def _where(self, exchange: RecordedExchange) -> str:
        line = f" (line {exchange.line})" if exchange.line is not None else ""
        return f"the cassette's exchange {exchange.x}{line}"

    def _beyond(self, endpoint: RecordedEndpoint, number: int) -> str:
        held = len(self._by_endpoint.get(endpoint.endpoint, []))
        noun = "session" if endpoint.websocket else "exchange"
        return (
            f"the cassette holds {held} {endpoint.endpoint} {noun}{'s' if held != 1 else ''}; "
            f"this is a {ordinal(number)}"
        )

    def _unused(self, endpoint: RecordedEndpoint) -> list[RecordedExchange]:
        return [e for e in self._by_endpoint.get(endpoint.endpoint, []) if e.x not in self._used]

    def _ahead(self, endpoint: RecordedEndpoint) -> list[RecordedExchange]:
        """What a request that fits nothing is compared with: the unused exchanges, or once
        they are all used and ``rewind`` is on, the recording from its start."""
        unused = self._unused(endpoint)
        if unused or not self.rewind:
            return unused
        return list(self._by_endpoint.get(endpoint.endpoint, []))

    def _pick(
        self, endpoint: RecordedEndpoint, fits: Callable[[RecordedExchange], bool]
    ) -> RecordedExchange | None:
        """The first unused exchange of ``endpoint`` that ``fits`` (not yet marked used). With
        ``rewind``, when none does but a used one would, the endpoint's recording starts over
        and that one is taken."""
        found = next((e for e in self._unused(endpoint) if fits(e)), None)
        if found is not None or not self.rewind:
            return found
        recorded = self._by_endpoint.get(endpoint.endpoint, [])
        found = next((e for e in recorded if fits(e)), None)
        if found is not None:
            self._used.difference_update(e.x for e in recorded)
        return found

    def _unknown(self, method: str, path: str) -> str:
        return f"no recorded exchange answers {method} {path}: the cassette holds {self.holdings()}"

    def match_http(
        self, method: str, path: str, query: str, body: bytes, *, authorization: bool = True
    ) -> HttpMatch:
        """The recorded exchange answering a live HTTP request, or the mismatch (400; 401
        when the recording had an Authorization header and the live request has none)."""
        endpoint = self.endpoint_for(method, path)
        if endpoint is None or endpoint.endpoint not in self._by_endpoint:
            return HttpMatch(status=400, error=self._unknown(method, path))
        number = self._requests.get(endpoint.endpoint, 0) + 1
        self._requests[endpoint.endpoint] = number
        live_query = redact_query(query)
        candidate = self._pick(
            endpoint,
            lambda e: (
                e.request.query == live_query and self._body_difference(endpoint, body, e) is None
            ),
        )
        if candidate is not None:
            if "authorization" in candidate.request.headers and not authorization:
                return HttpMatch(
                    status=401,
                    error=f"request {number} to {path} has no Authorization header; "
                    f"{self._where(candidate)} had one",
                    endpoint=endpoint,
                )
            self._used.add(candidate.x)
            return HttpMatch(exchange=candidate, status=200, endpoint=endpoint)
        unused = self._ahead(endpoint)
        if not unused:
            return HttpMatch(status=400, error=self._beyond(endpoint, number), endpoint=endpoint)
        first = unused[0]
        if first.request.query != live_query:
            difference = (
                f"the query is {_show(live_query)} here, {_show(first.request.query)} in the "
                "cassette"
            )
        else:
            difference = self._body_difference(endpoint, body, first) or "it differs"
        return HttpMatch(
            status=400,
            error=f"request {number} to {path} differs from {self._where(first)}: {difference}",
            endpoint=endpoint,
        )

    @staticmethod
    def _body_difference(
        endpoint: RecordedEndpoint, body: bytes, exchange: RecordedExchange
    ) -> str | None:
        return endpoint_difference(endpoint, body, exchange.request.body_bytes(), where="body")

    def pick_session(self, endpoint: RecordedEndpoint, path: str, query: str) -> SessionPick:
        """On a live upgrade: the recorded session at once when the recording's server spoke
        first (or refused the upgrade), else ``wait`` for :meth:`pick_by_first_message`."""
        number = self._requests.get(endpoint.endpoint, 0) + 1
        self._requests[endpoint.endpoint] = number
        live_query = redact_query(query)
        candidate = self._pick(endpoint, lambda e: e.request.query == live_query)
        if candidate is None:
            unused = self._ahead(endpoint)
            if not unused:
                return SessionPick(error=self._beyond(endpoint, number))
            first = unused[0]
            return SessionPick(
                error=f"session {number} to {path} differs from {self._where(first)}: the query "
                f"is {_show(live_query)} here, {_show(first.request.query)} in the cassette"
            )
        response = candidate.response
        opener = next(
            (item for item in candidate.items if isinstance(item, MessageRecord | CloseRecord)),
            None,
        )
        server_first = opener is not None and opener.from_ == "server"
        if response is None or response.status != 101 or server_first or opener is None:
            self._used.add(candidate.x)
            return SessionPick(exchange=candidate)
        return SessionPick(wait=True)

    def pick_by_first_message(
        self, endpoint: RecordedEndpoint, path: str, query: str, first: str | bytes
    ) -> SessionPick:
        """The first unused recorded session (same query) whose first client message matches
        the live client's ``first`` one, else the difference from the next in order."""
        number = self._requests.get(endpoint.endpoint, 1)
        live_query = redact_query(query)

        def opens_alike(candidate: RecordedExchange) -> bool:
            recorded = candidate.messages("client")
            return (
                candidate.request.query == live_query
                and bool(recorded)
                and endpoint_difference(
                    endpoint, first, candidate.payload(recorded[0]), where="message"
                )
                is None
            )

        found = self._pick(endpoint, opens_alike)
        if found is not None:
            self._used.add(found.x)
            return SessionPick(exchange=found)
        same = [e for e in self._ahead(endpoint) if e.request.query == live_query]
        if not same:
            return SessionPick(error=self._beyond(endpoint, number))
        head = same[0]
        recorded = head.messages("client")
        difference = (
            endpoint_difference(endpoint, first, head.payload(recorded[0]), where="message")
            if recorded
            else "the live client sent a message; the recorded one sent none"
        )
        return SessionPick(
            error=f"session {number} to {path} differs from {self._where(head)}: client "
            f"message 1: {difference}"
        )


def paced_body(exchange: RecordedExchange, time_scale: float) -> list[tuple[float, bytes]]:
    """The recorded body pieces as ``(seconds after the response head, bytes)``, the times
    scaled; pieces due at the same instant joined into one (one write)."""
    start = exchange.response.t if exchange.response is not None else exchange.request.t
    paced: list[tuple[float, bytes]] = []
    for piece in exchange.body_records():
        due = max(0.0, (piece.t - start) * time_scale)
        data = piece.data_bytes()
        if paced and paced[-1][0] >= due:
            paced[-1] = (paced[-1][0], paced[-1][1] + data)
        else:
            paced.append((due, data))
    return paced


@dataclass
class ReplayStep:
    """One thing the replayer does in a WebSocket session, in recorded order: send a server
    ``message`` or ``close``, or wait for the live client's ``client_close``. It is ready
    once the live client sent ``control`` control messages and ``audio`` seconds of audio."""

    kind: Literal["message", "close", "client_close"]
    record: MessageRecord | CloseRecord
    control: int
    audio: float
    last_client_t: float
    ready_at: float | None = None


@dataclass
class _Moment:
    at: float
    control: int
    audio: float


@dataclass
class CausalSchedule:
    """One recorded WebSocket session replayed against a live client (see the module
    docstring). Times are the caller's clock (seconds); ``start`` is when the live session
    opened. Feed every live client message to :meth:`client_message`; :meth:`due` says when
    the next step may go, :meth:`done` that it went."""

    exchange: RecordedExchange
    endpoint: RecordedEndpoint
    time_scale: float
    start: float
    steps: list[ReplayStep] = field(init=False)
    recorded_controls: list[MessageRecord] = field(init=False)
    ids: dict[str, str] = field(init=False, default_factory=dict)
    control: int = field(init=False, default=0)
    audio: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        meter = self._meter()
        opened = self.exchange.response.t if self.exchange.response else self.exchange.request.t
        self.recorded_controls = []
        self.steps = []
        last_client_t = opened
        for item in self.exchange.items:
            if isinstance(item, MessageRecord) and item.from_ == "client":
                last_client_t = item.t
                if meter is None or meter.client_message(self.exchange.payload(item)) == 0.0:
                    self.recorded_controls.append(item)
            elif isinstance(item, MessageRecord | CloseRecord):
                kind: Literal["message", "close", "client_close"]
                if isinstance(item, CloseRecord):
                    kind = "close" if item.from_ == "server" else "client_close"
                else:
                    kind = "message"
                self.steps.append(
                    ReplayStep(
                        kind=kind,
                        record=item,
                        control=len(self.recorded_controls),
                        audio=item.audio if isinstance(item, MessageRecord) else 0.0,
                        last_client_t=last_client_t,
                    )
                )
        # A close's audio condition is the audio sent before it: the last client message's.
        audio_so_far = 0.0
        for item_step in self.steps:
            if isinstance(item_step.record, MessageRecord):
                audio_so_far = max(audio_so_far, item_step.audio)
            else:
                item_step.audio = audio_so_far
        self._meter_live = self._meter()
        # What the live client had sent by when; the steps' conditions only grow, so the
        # moments before the one the head step became ready at are never read again.
        self._moments: list[_Moment] = [_Moment(self.start, 0, 0.0)]
        self._moment_base = 0
        self._next = 0
        self._last_sent: tuple[float, float] | None = None  # (live time, recorded t)

    def _meter(self) -> AudioMeter | None:
        return self.endpoint.audio_meter() if self.endpoint.audio_meter is not None else None

    @property
    def head(self) -> ReplayStep | None:
        """The next step, None when the recording is played out."""
        return self.steps[self._next] if self._next < len(self.steps) else None

    def client_message(self, data: str | bytes, now: float) -> str | None:
        """Take one live client message; returns how it differs from the recorded control
        message it stands for (None: it matches, or it is audio, or the recording's control
        messages are all used). A message the endpoint declares ``optional`` may be missing
        on either side: the live client's is passed over, the recorded client's taken as
        sent when the live one goes on to the next."""
        seconds = self._meter_live.client_message(data) if self._meter_live else 0.0
        if seconds != 0.0:
            self.audio += seconds
            self._moments.append(_Moment(now, self.control, self.audio))
            return None
        index = self.control
        difference = self._difference(index, data)
        if difference is not None and self._optional(data):
            return None
        if (
            difference is not None
            and index + 1 < len(self.recorded_controls)
            and self._optional(self.exchange.payload(self.recorded_controls[index]))
            and self._difference(index + 1, data) is None
        ):
            index, difference = index + 1, None
        self.control = index + 1
        self._moments.append(_Moment(now, self.control, self.audio))
        if index >= len(self.recorded_controls):
            return None
        recorded = self.recorded_controls[index]
        if difference is None:
            self._learn_ids(data, self.exchange.payload(recorded))
            return None
        return f"client control message {index + 1} (recorded at t={recorded.t:g}): {difference}"

    def _difference(self, index: int, data: str | bytes) -> str | None:
        if index >= len(self.recorded_controls):
            return None
        expected = self.exchange.payload(self.recorded_controls[index])
        return endpoint_difference(self.endpoint, data, expected, where="message")

    def _optional(self, data: str | bytes) -> bool:
        if self.endpoint.optional is None:
            return False
        parsed, value = _parse_json(data)
        return parsed and self.endpoint.optional(value)

    def _learn_ids(self, live: str | bytes, recorded: str | bytes) -> None:
        if not self.endpoint.client_ids:
            return
        live_ok, live_value = _parse_json(live)
        recorded_ok, recorded_value = _parse_json(recorded)
        if live_ok and recorded_ok:
            self._pair_ids(live_value, recorded_value)

    def _pair_ids(self, live: Any, recorded: Any) -> None:
        if isinstance(live, dict) and isinstance(recorded, dict):
            for key, theirs in recorded.items():
                mine = live.get(key, _MISSING)
                if key in self.endpoint.client_ids:
                    if isinstance(mine, str) and isinstance(theirs, str):
                        self.ids[theirs] = mine
                elif mine is not _MISSING:
                    self._pair_ids(mine, theirs)
        elif isinstance(live, list) and isinstance(recorded, list):
            for mine, theirs in zip(live, recorded, strict=False):
                self._pair_ids(mine, theirs)

    def _ready_at(self, step: ReplayStep) -> float | None:
        if step.ready_at is None:
            for index in range(self._moment_base, len(self._moments)):
                moment = self._moments[index]
                if moment.control >= step.control and moment.audio + AUDIO_EPSILON >= step.audio:
                    step.ready_at = moment.at
                    self._moment_base = index
                    break
        return step.ready_at

    def due(self) -> float | None:
        """When the head step may go (the caller's clock); None while the live client has not
        yet sent what preceded it (or the recording is played out). A ``client_close`` step
        is due at once: the caller then waits for the live client to close."""
        step = self.head
        if step is None:
            return None
        ready = self._ready_at(step)
        if ready is None:
            return None
        at = ready + max(0.0, step.record.t - step.last_client_t) * self.time_scale
        if self._last_sent is not None:
            sent_at, sent_t = self._last_sent
            at = max(at, sent_at + max(0.0, step.record.t - sent_t) * self.time_scale)
        return at

    def done(self, now: float) -> None:
        """The head step went at ``now``."""
        step = self.head
        assert step is not None
        self._last_sent = (now, step.record.t)
        self._next += 1
        if self._moment_base > 256:
            del self._moments[: self._moment_base]
            self._moment_base = 0

    def outgoing(self, step: ReplayStep) -> str | bytes:
        """A server message's payload as sent: the recorded one with the recorded client ids
        replaced by the live client's (a textual replacement of the quoted value)."""
        assert isinstance(step.record, MessageRecord)
        payload = self.exchange.payload(step.record)
        if isinstance(payload, str):
            for recorded, live in self.ids.items():
                if recorded != live:
                    payload = payload.replace(json.dumps(recorded), json.dumps(live))
        return payload

    def remaining(self) -> Sequence[ReplayStep]:
        """The steps not yet played."""
        return self.steps[self._next :]
