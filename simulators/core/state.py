"""The simulator state and admission: what every protocol handler shares.

:class:`SimulatorState` holds the loaded scenarios, the credentials, the limits, the journal,
attempt and id counters, per-key usage and open sessions, the clock and the seed. A request
enters through :meth:`SimulatorState.admit`, from its head only (SRV-6: no body needed):
authentication (AUTH-4, a LiveKit bearer token), scenario selection (the
``X-Voicewire-Scenario`` header, else the API key's pinned scenario, else the default) and a
session slot of its key (SRV-4: 429 past ``max_sessions_per_key``). A refusal is journaled
and raised as :class:`Refusal`; an admitted request becomes an :class:`Exchange`, through
which its protocol journals, counts attempts, picks its rule and counts usage, and which it
closes when the request ends (releasing the slot).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any, Literal, TypeVar

from voicewire.reference.auth import (
    InferenceClaims,
    TokenRejected,
    authentication_error_body,
    parse_bearer,
    verify_access_token,
    verify_inworld_authorization,
)
from voicewire.reference.errors import error_body
from voicewire.simulators.core.clock import Clock, SimulatorClock
from voicewire.simulators.core.credentials import Authentication, Credentials
from voicewire.simulators.core.journal import Journal
from voicewire.simulators.core.limits import Limits
from voicewire.simulators.scenario import MatchTimeout, Rule, Scenario

__all__ = [
    "RETRY_AFTER_SECONDS",
    "SCENARIO_HEADER",
    "Exchange",
    "Refusal",
    "SimulatorHandle",
    "SimulatorState",
    "closing_admitted",
    "derive_id",
    "token_summary",
]

T = TypeVar("T")

SCENARIO_HEADER = "X-Voicewire-Scenario"
"""The request header naming the scenario that answers it."""


# The exchanges admitted in the current context (a request's task), when a shell asked to
# have them closed for it (closing_admitted).
_ADMITTED: ContextVar[list[Exchange] | None] = ContextVar("voicewire_admitted", default=None)

RETRY_AFTER_SECONDS = 1
"""The ``Retry-After`` of a 429 for too many open sessions (LLM-SSE-6): a slot frees as soon
as one of the key's requests ends."""


class Refusal(Exception):
    """A request refused before any rule is consulted: 401 (AUTH-4), 404 (unknown scenario)
    or 429 (too many open sessions for the key, SRV-4). Each shell turns it into its own
    response with ``status``, the JSON ``body`` and ``headers``."""

    def __init__(
        self, status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers: dict[str, str] = dict(headers or {})


# Headers whose credential the journal cuts short: a journal ends up in reports and logs.
_SECRET_HEADERS = frozenset({"authorization", "x-voicewire-control-token"})


def _redacted_headers(headers: Mapping[str, str]) -> dict[str, str]:
    shown = {}
    for name, value in headers.items():
        if name.lower() in _SECRET_HEADERS:
            scheme, _, credential = value.partition(" ")
            if credential:
                value = f"{scheme} {credential[:12]}..."
            else:
                value = f"{value[:4]}..." if len(value) > 4 else "..."
        shown[name] = value
    return shown


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def token_summary(token: str, claims: InferenceClaims) -> dict[str, Any]:
    """What the journal keeps of a verified bearer token: its claims and a fingerprint (the
    first 16 hex digits of its SHA-256), never the token itself."""
    return {
        "claims": {
            "iss": claims.api_key,
            "sub": claims.subject,
            "nbf": _number(claims.not_before),
            "exp": _number(claims.expires_at),
            "inference": {"perform": claims.perform},
        },
        "fingerprint": hashlib.sha256(token.encode()).hexdigest()[:16],
    }


def derive_id(seed: int, scenario: str, label: str, number: int) -> str:
    """The ``number``-th (1-based) id of the ``label`` counter of a scenario under ``seed``:
    24 hex digits, a function of those four values only."""
    material = f"{seed}\x00{scenario}\x00{label}\x00{number}"
    return hashlib.sha256(material.encode()).hexdigest()[:24]


class SimulatorState:
    """Everything one simulator knows; shared by its protocol handlers and both shells.

    ``clock`` (default :class:`~voicewire.simulators.core.clock.SimulatorClock`: a fixed
    ``created``) and ``seed`` make every payload a function of the script: ids are derived
    from the seed (:meth:`Exchange.next_id`). ``limits`` (default
    :class:`~voicewire.simulators.core.limits.Limits`) bound the journal, the open sessions
    per key and the time spent matching patterns.
    """

    def __init__(
        self,
        scenario: Scenario,
        credentials: Credentials,
        *,
        time_scale: float | None,
        seed: int = 0,
        clock: Clock | None = None,
        limits: Limits | None = None,
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}")
        if limits is not None and not isinstance(limits, Limits):
            raise TypeError(f"limits must be Limits, got {type(limits).__name__}")
        self.credentials = credentials
        self.seed = seed
        self.limits = limits if limits is not None else Limits()
        self.clock: Clock = clock if clock is not None else SimulatorClock()
        self.scenarios: dict[str, Scenario] = {scenario.name: scenario}
        self.default_scenario = scenario.name
        self.time_scale_override = time_scale
        self.journal = Journal(
            clock=self.clock.monotonic,
            max_bytes=self.limits.journal_bytes,
            body_bytes=self.limits.journal_body_bytes,
            max_depth=self.limits.max_json_depth,
        )
        self._attempts: Counter[tuple[str, str]] = Counter()
        self._ids: Counter[tuple[str, str]] = Counter()
        self.usage: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.open_sessions: Counter[str] = Counter()
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

    def api_key_of(
        self, headers: Mapping[str, str], scheme: Authentication = Authentication.BEARER_TOKEN
    ) -> str:
        """The API key the request presents under ``scheme``, or :class:`Refusal` 401."""
        return self.verify(headers, scheme)[0]

    def verify(
        self, headers: Mapping[str, str], scheme: Authentication = Authentication.BEARER_TOKEN
    ) -> tuple[str, dict[str, Any]]:
        """The API key the request presents under ``scheme`` and what the journal keeps of
        its credential, or :class:`Refusal` 401 (AUTH-4 for a bearer token, AUTH-6 for a
        Basic key)."""
        if scheme is Authentication.BASIC_KEY:
            return self._verify_basic_key(headers)
        token = parse_bearer(headers.get("Authorization"))
        if token is not None and not token.isascii():
            # A JWT is ASCII by definition; other bytes (header values arrive decoded with
            # surrogate escapes) would fail deep inside the JWT library instead.
            raise Refusal(
                401, authentication_error_body("access token is not a valid JWT: not ASCII")
            )
        try:
            claims = verify_access_token(token, self.credentials.keys, now=self.clock.wall())
        except TokenRejected as exc:
            raise Refusal(401, authentication_error_body(str(exc))) from None
        assert token is not None  # verify_access_token refuses a missing one
        return claims.api_key, token_summary(token, claims)

    def _verify_basic_key(self, headers: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
        try:
            key = verify_inworld_authorization(
                headers.get("Authorization"), self.credentials.basic_keys
            )
        except TokenRejected as exc:
            raise Refusal(401, authentication_error_body(str(exc))) from None
        # The key is the secret itself: the journal keeps a fingerprint, never the key.
        return key, {
            "scheme": "basic",
            "fingerprint": hashlib.sha256(key.encode()).hexdigest()[:16],
        }

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

    def admit(
        self, headers: Mapping[str, str], scheme: Authentication = Authentication.BEARER_TOKEN
    ) -> Exchange:
        """Open an exchange for a request, from its head: authenticate (under the route's
        ``scheme``), select the scenario.

        A :class:`Refusal` is journaled (an ``http_error`` frame) before it is raised, so
        refused requests show up in the journal too. ``headers`` must look names up
        case-insensitively.
        """
        number = self.journal.new_exchange()
        try:
            api_key, credential = self.verify(headers, scheme)
            scenario = self.scenario_for(headers, api_key)
            self._open_session(api_key)
        except Refusal as refusal:
            data: dict[str, Any] = {"status": refusal.status, "body": json.dumps(refusal.body)}
            if refusal.headers:
                data["headers"] = refusal.headers
            self.journal.record(
                scenario=headers.get(SCENARIO_HEADER, self.default_scenario),
                exchange=number,
                direction="out",
                kind="http_error",
                data=data,
            )
            raise
        exchange = Exchange(self, number, scenario, api_key, token=credential)
        admitted = _ADMITTED.get()
        if admitted is not None:
            admitted.append(exchange)
        return exchange

    def _open_session(self, api_key: str) -> None:
        limit = self.limits.max_sessions_per_key
        if limit is not None and self.open_sessions[api_key] >= limit:
            raise Refusal(
                429,
                error_body(
                    429,
                    f"API key {api_key!r} already has {limit} open sessions (the limit); "
                    f"retry after {RETRY_AFTER_SECONDS} s",
                    "rate_limit_error",
                ),
                {"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        self.open_sessions[api_key] += 1

    def close_session(self, api_key: str) -> None:
        """Release one open session of ``api_key`` (:meth:`Exchange.close` calls it)."""
        if self.open_sessions[api_key] <= 1:
            del self.open_sessions[api_key]
        else:
            self.open_sessions[api_key] -= 1

    def next_attempt(self, scenario: Scenario, body: bytes, *, digest: str | None = None) -> int:
        """1-based attempt number: how many times this exact body reached this scenario.
        ``digest``: the body's SHA-256 hex digest, when the caller has it already."""
        key = (scenario.name, digest if digest is not None else hashlib.sha256(body).hexdigest())
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


@contextlib.contextmanager
def closing_admitted() -> Iterator[None]:
    """Close, on leaving, every exchange :meth:`SimulatorState.admit` opened inside (in the
    current context: a request's task). The aiohttp shell wraps every request in it, so a
    handler's session slot is released when the request ends, however it ends, even if the
    handler never closes its exchange."""
    admitted: list[Exchange] = []
    reset = _ADMITTED.set(admitted)
    try:
        yield
    finally:
        _ADMITTED.reset(reset)
        for exchange in admitted:
            exchange.close()


class Exchange:
    """One admitted request (or session): its number, scenario and API key, and everything a
    protocol handler records or counts about it.

    It holds one of its key's session slots until :meth:`close` (call it when the request
    ends, however it ends; closing twice is harmless). ``token`` is what the journal shows of
    the request's credential (a bearer token's :func:`token_summary`, a Basic key's
    fingerprint)."""

    def __init__(
        self,
        state: SimulatorState,
        number: int,
        scenario: Scenario,
        api_key: str,
        *,
        token: dict[str, Any] | None = None,
    ) -> None:
        self.state = state
        self.number = number
        self.scenario = scenario
        self.api_key = api_key
        self.token = token
        self._open = token is not None  # only admission opens a session slot

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` released the session slot (or none was held)."""
        return not self._open

    def close(self) -> None:
        """Release this exchange's session slot (once; later calls do nothing)."""
        if self._open:
            self._open = False
            self.state.close_session(self.api_key)

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
    ) -> None:
        """Journal the request as an ``in`` ``http_request`` frame: method, path, headers (the
        ``Authorization`` credential cut short), the body (kept as bytes, cut to the journal's
        bound, shown as JSON when read if it is JSON: see
        :class:`~voicewire.simulators.core.journal.Body`) and the bearer token's claims and
        fingerprint (``token``)."""
        data: dict[str, Any] = {
            "method": method,
            "path": path,
            "headers": _redacted_headers(headers),
            "body": self.state.journal.body(body),
        }
        if self.token is not None:
            data["token"] = self.token
        self.frame("in", "http_request", data)

    def next_attempt(self, body: bytes, *, digest: str | None = None) -> int:
        """This request's attempt number (see :meth:`SimulatorState.next_attempt`)."""
        return self.state.next_attempt(self.scenario, body, digest=digest)

    def choose_rule(
        self, endpoint: str, *, attempt: int, model: str | None = None, text: str | None = None
    ) -> tuple[int, Rule] | None:
        """The first rule of the scenario that accepts the request (with its index), if any;
        ``model`` and ``text`` are what the protocol offers its ``match`` to test. Patterns
        share the limits' ``match_timeout``; one that runs out counts as no match and is
        journaled as a ``match_timeout`` note."""

        def timed_out(index: int, problem: MatchTimeout) -> None:
            self.note(
                "match_timeout",
                {"rule": index, "field": problem.field, "message": str(problem)},
            )

        return self.scenario.first_match(
            endpoint,
            model=model,
            text=text,
            attempt=attempt,
            timeout=self.state.limits.match_timeout,
            on_timeout=timed_out,
        )

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
        self._replace_credentials(keys, self.credentials.basic_keys, api_key, scenario)

    def add_basic_key(self, key: str, *, scenario: str | None = None) -> None:
        """Accept one more ``Basic`` key (optionally pinned to a scenario), as
        :meth:`add_credential` does for signed tokens."""
        basic_keys = self.credentials.basic_keys | {key}
        self._replace_credentials(self.credentials.keys, basic_keys, key, scenario)

    def _replace_credentials(
        self,
        keys: Mapping[str, str],
        basic_keys: frozenset[str],
        key: str,
        scenario: str | None,
    ) -> None:
        pinned = dict(self.credentials.scenario_for_key)
        if scenario is not None:
            pinned[key] = scenario
        self.credentials = Credentials(keys=keys, scenario_for_key=pinned, basic_keys=basic_keys)
        self.state.credentials = self.credentials

    def load(self, scenario: Scenario) -> None:
        """Load (or replace) a scenario, selectable by name with ``X-Voicewire-Scenario``."""
        if not isinstance(scenario, Scenario):
            raise TypeError(f"scenario must be a Scenario, got {type(scenario).__name__}")
        self.state.scenarios[scenario.name] = scenario
