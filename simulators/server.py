"""The simulator core: one aiohttp application serving every protocol on one port.

It holds the loaded scenarios, the journal, attempt counters and per-key usage, verifies
credentials, and serves the control API under ``/__voicewire/``:

=======================================  ===============================================
``GET /__voicewire/health``              ``{"ok": true}``
``GET /__voicewire/scenarios``           loaded scenario names and the default
``PUT /__voicewire/scenarios/{name}``    load (or replace) a scenario from a JSON body
``DELETE /__voicewire/scenarios/{name}`` unload one
``POST /__voicewire/reset``              clear journal, attempt counters and usage
                                         (``?scenario=NAME`` limits it to one scenario)
``GET /__voicewire/journal``             journal entries (``?scenario=``, ``?exchange=``)
``GET /__voicewire/usage``               per-API-key request and token counts
=======================================  ===============================================

Scenario selection per request, so parallel tests do not collide: the ``X-Voicewire-Scenario``
header names a loaded scenario; else the API key's assigned scenario (``Credentials``); else
the default scenario.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from voicewire.reference.auth import (
    TokenRejected,
    authentication_error_body,
    parse_bearer,
    verify_access_token,
)
from voicewire.simulators.core.credentials import DEFAULT_API_KEY, DEFAULT_API_SECRET, Credentials
from voicewire.simulators.journal import Journal
from voicewire.simulators.llm import StreamTemplates, error_body
from voicewire.simulators.scenario import Scenario, ScenarioError, parse_scenario

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_API_SECRET",
    "SCENARIO_HEADER",
    "Credentials",
    "Refusal",
    "SimulatorHandle",
    "SimulatorState",
    "create_app",
    "error_response",
]

SCENARIO_HEADER = "X-Voicewire-Scenario"
STATE_KEY: web.AppKey[SimulatorState] = web.AppKey("voicewire_state")


def error_response(status: int, message: str, *, kind: str, **headers: str) -> web.Response:
    """:func:`error_body` as an aiohttp response."""
    return web.json_response(
        error_body(status, message, kind), status=status, headers=headers or None
    )


class Refusal(Exception):
    """A request refused before any rule is consulted: 401 (AUTH-4) or 404 (unknown scenario).
    Each shell turns it into its own response with ``status`` and the JSON ``body``."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


class SimulatorState:
    """Everything one simulator app knows; shared by its protocol handlers."""

    def __init__(
        self,
        scenario: Scenario,
        credentials: Credentials,
        *,
        time_scale: float | None,
        seed: int = 0,
    ) -> None:
        self.credentials = credentials
        self.seed = seed
        self.scenarios: dict[str, Scenario] = {scenario.name: scenario}
        self.default_scenario = scenario.name
        self.time_scale_override = time_scale
        self.journal = Journal()
        self.stream_templates = StreamTemplates()
        self._attempts: Counter[tuple[str, str]] = Counter()
        self.usage: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def time_scale(self, scenario: Scenario) -> float:
        """The scale applied to the scenario's delays (an app-wide override wins)."""
        if self.time_scale_override is not None:
            return self.time_scale_override
        return scenario.time_scale

    def api_key_of(self, headers: Mapping[str, str]) -> str:
        """The API key of the request's valid bearer token, or :class:`Refusal` 401 (AUTH-4)."""
        token = parse_bearer(headers.get("Authorization"))
        try:
            claims = verify_access_token(token, self.credentials.keys)
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

    def admit(self, headers: Mapping[str, str], *, exchange: int) -> tuple[str, Scenario]:
        """Authenticate and select the scenario of a request; a :class:`Refusal` is journaled
        before it is raised, so refused requests show up in the journal too."""
        try:
            api_key = self.api_key_of(headers)
            return api_key, self.scenario_for(headers, api_key)
        except Refusal as refusal:
            self.journal.record(
                scenario=headers.get(SCENARIO_HEADER, self.default_scenario),
                exchange=exchange,
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

    def reset(self, scenario: str | None = None) -> None:
        """Forget journal entries, attempt counts and usage (of one scenario, or all)."""
        self.journal.clear(scenario=scenario)
        if scenario is None:
            self._attempts.clear()
            self.usage.clear()
        else:
            for key in [k for k in self._attempts if k[0] == scenario]:
                del self._attempts[key]


class SimulatorHandle:
    """What a test holds of a running simulator, on a socket or in-process: its state,
    journal and credentials, and a way to load more scenarios."""

    credentials: Credentials
    state: SimulatorState

    @property
    def journal(self) -> Journal:
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


# -- control API -------------------------------------------------------------------------------


def _state(request: web.Request) -> SimulatorState:
    return request.app[STATE_KEY]


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _list_scenarios(request: web.Request) -> web.Response:
    state = _state(request)
    return web.json_response(
        {"scenarios": sorted(state.scenarios), "default": state.default_scenario}
    )


async def _put_scenario(request: web.Request) -> web.Response:
    state = _state(request)
    name = request.match_info["name"]
    try:
        data = await request.json()
    except ValueError as exc:
        return error_response(
            400, f"scenario body is not JSON: {exc}", kind="invalid_request_error"
        )
    if isinstance(data, dict):
        data = {**data, "name": data.get("name", name)}
    try:
        scenario = parse_scenario(data, source=f"PUT /__voicewire/scenarios/{name}")
    except ScenarioError as exc:
        return web.json_response(
            {
                "error": {
                    "message": str(exc),
                    "type": "invalid_scenario",
                    "code": 400,
                    "problems": [{"path": p, "message": m} for p, m in exc.problems],
                }
            },
            status=400,
        )
    if scenario.name != name:
        return error_response(
            400,
            f"scenario name {scenario.name!r} does not match the URL name {name!r}",
            kind="invalid_request_error",
        )
    state.scenarios[name] = scenario
    return web.json_response({"loaded": name})


async def _delete_scenario(request: web.Request) -> web.Response:
    state = _state(request)
    name = request.match_info["name"]
    if name not in state.scenarios:
        return error_response(404, f"unknown scenario {name!r}", kind="invalid_request_error")
    if name == state.default_scenario:
        return error_response(409, "the default scenario cannot be unloaded", kind="conflict")
    del state.scenarios[name]
    state.reset(name)
    return web.json_response({"unloaded": name})


async def _reset(request: web.Request) -> web.Response:
    state = _state(request)
    state.reset(request.query.get("scenario"))
    return web.json_response({"reset": request.query.get("scenario", "all")})


async def _journal(request: web.Request) -> web.Response:
    state = _state(request)
    exchange = request.query.get("exchange")
    if exchange is not None and not exchange.isdigit():
        return error_response(400, "exchange must be an integer", kind="invalid_request_error")
    entries = state.journal.entries(
        scenario=request.query.get("scenario"),
        exchange=int(exchange) if exchange is not None else None,
    )
    return web.json_response({"entries": entries, "dropped": state.journal.dropped})


async def _usage(request: web.Request) -> web.Response:
    state = _state(request)
    return web.json_response({key: dict(counts) for key, counts in state.usage.items()})


def create_app(
    scenario: Scenario | None = None,
    credentials: Credentials | None = None,
    *,
    time_scale: float | None = None,
    seed: int = 0,
) -> web.Application:
    """The simulator application: every endpoint under ``/`` and ``/v1/``, plus the control API.

    Without a scenario it runs in echo mode. ``time_scale`` overrides every scenario's own.
    """
    from voicewire.simulators import llm

    if scenario is not None and not isinstance(scenario, Scenario):
        raise TypeError(f"scenario must be a Scenario, got {type(scenario).__name__}")
    if time_scale is not None and not time_scale >= 0:
        raise ValueError(f"time_scale must be >= 0, got {time_scale!r}")
    app = web.Application(client_max_size=8 * 1024 * 1024)
    app[STATE_KEY] = SimulatorState(
        scenario or Scenario.echo(), credentials or Credentials(), time_scale=time_scale, seed=seed
    )
    for prefix in ("", "/v1"):
        llm.add_routes(app, prefix)
    app.router.add_get("/__voicewire/health", _health)
    app.router.add_get("/__voicewire/scenarios", _list_scenarios)
    app.router.add_put("/__voicewire/scenarios/{name}", _put_scenario)
    app.router.add_delete("/__voicewire/scenarios/{name}", _delete_scenario)
    app.router.add_post("/__voicewire/reset", _reset)
    app.router.add_get("/__voicewire/journal", _journal)
    app.router.add_get("/__voicewire/usage", _usage)
    return app
