"""The simulator state and admission: what every protocol handler shares.

:class:`SimulatorState` holds the loaded scenarios, the credentials, the journal, attempt and
id counters, per-key usage, the clock and the seed. A request enters through
:meth:`SimulatorState.admit`, from its head only (SRV-6: no body needed): authentication
(AUTH-4, a LiveKit bearer token) and scenario selection (the ``X-Voicewire-Scenario`` header,
else the API key's pinned scenario, else the default). A refusal is journaled and raised as
:class:`Refusal`; an admitted request becomes an :class:`Exchange`, through which its
protocol journals, counts attempts, picks its rule and counts usage.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar

from voicewire.reference.auth import (
    TokenRejected,
    authentication_error_body,
    parse_bearer,
    verify_access_token,
)
from voicewire.reference.errors import error_body
from voicewire.simulators.core.clock import Clock, SimulatorClock
from voicewire.simulators.core.credentials import Credentials
from voicewire.simulators.core.journal import Journal
from voicewire.simulators.scenario import Rule, Scenario

__all__ = [
    "SCENARIO_HEADER",
    "Exchange",
    "Refusal",
    "SimulatorHandle",
    "SimulatorState",
    "derive_id",
]

T = TypeVar("T")

SCENARIO_HEADER = "X-Voicewire-Scenario"
"""The request header naming the scenario that answers it."""


class Refusal(Exception):
    """A request refused before any rule is consulted: 401 (AUTH-4) or 404 (unknown scenario).
    Each shell turns it into its own response with ``status`` and the JSON ``body``."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


def _redacted_headers(headers: Mapping[str, str]) -> dict[str, str]:
    shown = {}
    for name, value in headers.items():
        if name.lower() == "authorization":
            scheme, _, credential = value.partition(" ")
            value = f"{scheme} {credential[:12]}..." if credential else value
        shown[name] = value
    return shown


def derive_id(seed: int, scenario: str, label: str, number: int) -> str:
    """The ``number``-th (1-based) id of the ``label`` counter of a scenario under ``seed``:
    24 hex digits, a function of those four values only."""
    material = f"{seed}\x00{scenario}\x00{label}\x00{number}"
    return hashlib.sha256(material.encode()).hexdigest()[:24]


class SimulatorState:
    """Everything one simulator knows; shared by its protocol handlers and both shells.

    ``clock`` (default :class:`~voicewire.simulators.core.clock.SimulatorClock`: a fixed
    ``created``) and ``seed`` make every payload a function of the script: ids are derived
    from the seed (:meth:`Exchange.next_id`).
    """

    def __init__(
        self,
        scenario: Scenario,
        credentials: Credentials,
        *,
        time_scale: float | None,
        seed: int = 0,
        clock: Clock | None = None,
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}")
        self.credentials = credentials
        self.seed = seed
        self.clock: Clock = clock if clock is not None else SimulatorClock()
        self.scenarios: dict[str, Scenario] = {scenario.name: scenario}
        self.default_scenario = scenario.name
        self.time_scale_override = time_scale
        self.journal = Journal(clock=self.clock.monotonic)
        self._attempts: Counter[tuple[str, str]] = Counter()
        self._ids: Counter[tuple[str, str]] = Counter()
        self.usage: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._caches: dict[str, Any] = {}

    def cache(self, name: str, factory: Callable[[], T]) -> T:
        """Storage a protocol module keeps for this simulator across requests (e.g. encoded
        replies), made by ``factory`` on first use; ``name`` should start with the protocol's
        name. Caches must be invisible: an answer is the same with or without them."""
        if name not in self._caches:
            self._caches[name] = factory()
        return self._caches[name]  # type: ignore[no-any-return]

    def time_scale(self, scenario: Scenario) -> float:
        """The scale applied to the scenario's delays (an app-wide override wins)."""
        if self.time_scale_override is not None:
            return self.time_scale_override
        return scenario.time_scale

    def api_key_of(self, headers: Mapping[str, str]) -> str:
        """The API key of the request's valid bearer token, or :class:`Refusal` 401 (AUTH-4)."""
        token = parse_bearer(headers.get("Authorization"))
        try:
            claims = verify_access_token(token, self.credentials.keys, now=self.clock.wall())
        except TokenRejected as exc:
            raise Refusal(401, authentication_error_body(str(exc))) from None
        return claims.api_key

    def scenario_for(self, headers: Mapping[str, str], api_key: str | None) -> Scenario:
        """The request's scenario: the header, else the key's scenario, else the default;
        :class:`Refusal` 404 when that scenario is not loaded."""
        name = headers.get(SCENARIO_HEADER)
        if name is None and api_key is not None:
            name = self.credentials.scenario_for_key.get(api_key)
        if name is None:
            name = self.default_scenario
        scenario = self.scenarios.get(name)
        if scenario is None:
            loaded = ", ".join(sorted(self.scenarios)) or "none"
            raise Refusal(
                404,
                error_body(
                    404, f"unknown scenario {name!r} (loaded: {loaded})", "invalid_request_error"
                ),
            )
        return scenario

    def admit(self, headers: Mapping[str, str]) -> Exchange:
        """Open an exchange for a request, from its head: authenticate, select the scenario.

        A :class:`Refusal` is journaled (an ``http_error`` frame) before it is raised, so
        refused requests show up in the journal too. ``headers`` must look names up
        case-insensitively.
        """
        number = self.journal.new_exchange()
        try:
            api_key = self.api_key_of(headers)
            return Exchange(self, number, self.scenario_for(headers, api_key), api_key)
        except Refusal as refusal:
            self.journal.record(
                scenario=headers.get(SCENARIO_HEADER, self.default_scenario),
                exchange=number,
                direction="out",
                kind="http_error",
                data={"status": refusal.status, "body": json.dumps(refusal.body)},
            )
            raise

    def next_attempt(self, scenario: Scenario, body: bytes) -> int:
        """1-based attempt number: how many times this exact body reached this scenario."""
        key = (scenario.name, hashlib.sha256(body).hexdigest())
        self._attempts[key] += 1
        return self._attempts[key]

    def next_id(self, scenario: Scenario, label: str) -> str:
        """A fresh id for the ``label`` counter of a scenario (e.g. completions): 24 hex digits
        derived from the seed, the scenario name, the label and the counter
        (:func:`derive_id`), so a replay of the scenario under the same seed gives the same
        ids, and another seed others."""
        key = (scenario.name, label)
        self._ids[key] += 1
        return derive_id(self.seed, scenario.name, label, self._ids[key])

    def reset(self, scenario: str | None = None) -> None:
        """Forget journal entries, attempt and id counts and usage (of one scenario, or all):
        afterwards the scenario replays as if freshly loaded."""
        self.journal.clear(scenario=scenario)
        if scenario is None:
            self._attempts.clear()
            self._ids.clear()
            self.usage.clear()
        else:
            for counter in (self._attempts, self._ids):
                for key in [k for k in counter if k[0] == scenario]:
                    del counter[key]


class Exchange:
    """One admitted request (or session): its number, scenario and API key, and everything a
    protocol handler records or counts about it."""

    def __init__(
        self, state: SimulatorState, number: int, scenario: Scenario, api_key: str
    ) -> None:
        self.state = state
        self.number = number
        self.scenario = scenario
        self.api_key = api_key

    @property
    def usage(self) -> Counter[str]:
        """The per-key usage counters of this exchange's API key."""
        return self.state.usage[self.api_key]

    @property
    def time_scale(self) -> float:
        """The scale of this exchange's scripted delays."""
        return self.state.time_scale(self.scenario)

    def frame(self, direction: Literal["in", "out"], kind: str, data: Any = None) -> None:
        """Journal one frame of this exchange."""
        self.state.journal.record(
            scenario=self.scenario.name,
            exchange=self.number,
            direction=direction,
            kind=kind,
            data=data,
        )

    def note(self, kind: str, data: Any = None) -> None:
        """Journal one note of this exchange."""
        self.state.journal.record(
            scenario=self.scenario.name,
            exchange=self.number,
            direction="note",
            kind=kind,
            data=data,
        )

    def writer(self, kind: str) -> Callable[[bytes, int | None], None]:
        """A cheap function journaling bytes written to this exchange's stream, with their
        event index, as ``out`` frames of ``kind`` (see :meth:`Journal.writer`)."""
        return self.state.journal.writer(self.scenario.name, self.number, kind)

    def request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        decoded: Any = None,
    ) -> None:
        """Journal the request as an ``in`` ``http_request`` frame: method, path, headers (the
        ``Authorization`` credential cut short) and the body (as JSON when it is JSON;
        ``decoded``: the body already decoded by the caller, so it is not parsed twice)."""
        shown = decoded
        if shown is None:
            try:
                shown = json.loads(body)
            except (json.JSONDecodeError, UnicodeDecodeError):
                shown = body.decode("utf-8", errors="backslashreplace")
        self.frame(
            "in",
            "http_request",
            {"method": method, "path": path, "headers": _redacted_headers(headers), "body": shown},
        )

    def next_attempt(self, body: bytes) -> int:
        """This request's attempt number (see :meth:`SimulatorState.next_attempt`)."""
        return self.state.next_attempt(self.scenario, body)

    def choose_rule(
        self, endpoint: str, *, attempt: int, model: str | None = None, text: str | None = None
    ) -> tuple[int, Rule] | None:
        """The first rule of the scenario that accepts the request (with its index), if any;
        ``model`` and ``text`` are what the protocol offers its ``match`` to test."""
        return self.scenario.first_match(endpoint, model=model, text=text, attempt=attempt)

    def next_id(self, label: str) -> str:
        """A fresh deterministic id (see :meth:`SimulatorState.next_id`)."""
        return self.state.next_id(self.scenario, label)

    def created(self) -> int:
        """The epoch seconds to write into this exchange's payloads."""
        return self.state.clock.created()


class SimulatorHandle:
    """What a test holds of a running simulator, on a socket or in-process: its state,
    journal and credentials, and a way to load more scenarios."""

    credentials: Credentials
    state: SimulatorState

    @property
    def journal(self) -> Journal:
        """The simulator's journal."""
        return self.state.journal

    @property
    def api_key(self) -> str:
        """The first configured API key."""
        return next(iter(self.credentials.keys))

    @property
    def api_secret(self) -> str:
        """The secret of :attr:`api_key`."""
        return self.credentials.keys[self.api_key]

    def add_credential(self, api_key: str, api_secret: str, *, scenario: str | None = None) -> None:
        """Accept one more API key (optionally pinned to a scenario), e.g. one key per test
        case, so a client that cannot send ``X-Voicewire-Scenario`` still gets its own script."""
        keys = {**self.credentials.keys, api_key: api_secret}
        pinned = dict(self.credentials.scenario_for_key)
        if scenario is not None:
            pinned[api_key] = scenario
        self.credentials = Credentials(keys=keys, scenario_for_key=pinned)
        self.state.credentials = self.credentials

    def load(self, scenario: Scenario) -> None:
        """Load (or replace) a scenario, selectable by name with ``X-Voicewire-Scenario``."""
        if not isinstance(scenario, Scenario):
            raise TypeError(f"scenario must be a Scenario, got {type(scenario).__name__}")
        self.state.scenarios[scenario.name] = scenario
