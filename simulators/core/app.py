"""The simulator application: every registered protocol on one port, plus the control API.

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
the default scenario (see :mod:`~voicewire.simulators.core.state`).
"""

from __future__ import annotations

from aiohttp import web
from voicewire.reference.errors import error_body
from voicewire.simulators.core.clock import Clock
from voicewire.simulators.core.credentials import Credentials
from voicewire.simulators.core.registry import REGISTRY, ProtocolRegistry
from voicewire.simulators.core.state import SimulatorState
from voicewire.simulators.scenario import Scenario, ScenarioError, parse_scenario

__all__ = ["PREFIXES", "STATE_KEY", "create_app", "error_response", "state_of"]

STATE_KEY: web.AppKey[SimulatorState] = web.AppKey("voicewire_state")
"""Where an app keeps its :class:`~voicewire.simulators.core.state.SimulatorState`."""

PREFIXES = ("", "/v1")
"""Every protocol's routes are mounted under each of these."""

MAX_BODY_BYTES = 8 * 1024 * 1024
"""The largest request body an app reads (aiohttp refuses larger ones with 413)."""


def state_of(request: web.Request) -> SimulatorState:
    """The simulator state of the app serving ``request``."""
    return request.app[STATE_KEY]


def error_response(status: int, message: str, *, kind: str, **headers: str) -> web.Response:
    """A JSON error answer (SRV-5)."""
    return web.json_response(
        error_body(status, message, kind), status=status, headers=headers or None
    )


# -- control API -------------------------------------------------------------------------------


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _list_scenarios(request: web.Request) -> web.Response:
    state = state_of(request)
    return web.json_response(
        {"scenarios": sorted(state.scenarios), "default": state.default_scenario}
    )


async def _put_scenario(request: web.Request) -> web.Response:
    state = state_of(request)
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
    state = state_of(request)
    name = request.match_info["name"]
    if name not in state.scenarios:
        return error_response(404, f"unknown scenario {name!r}", kind="invalid_request_error")
    if name == state.default_scenario:
        return error_response(409, "the default scenario cannot be unloaded", kind="conflict")
    del state.scenarios[name]
    state.reset(name)
    return web.json_response({"unloaded": name})


async def _reset(request: web.Request) -> web.Response:
    state = state_of(request)
    state.reset(request.query.get("scenario"))
    return web.json_response({"reset": request.query.get("scenario", "all")})


async def _journal(request: web.Request) -> web.Response:
    state = state_of(request)
    exchange = request.query.get("exchange")
    if exchange is not None and not exchange.isdigit():
        return error_response(400, "exchange must be an integer", kind="invalid_request_error")
    entries = state.journal.entries(
        scenario=request.query.get("scenario"),
        exchange=int(exchange) if exchange is not None else None,
    )
    return web.json_response({"entries": entries, "dropped": state.journal.dropped})


async def _usage(request: web.Request) -> web.Response:
    state = state_of(request)
    return web.json_response({key: dict(counts) for key, counts in state.usage.items()})


def create_app(
    scenario: Scenario | None = None,
    credentials: Credentials | None = None,
    *,
    time_scale: float | None = None,
    seed: int = 0,
    clock: Clock | None = None,
    registry: ProtocolRegistry | None = None,
) -> web.Application:
    """The simulator application: the routes of every registered protocol under ``/`` and
    ``/v1/``, plus the control API under ``/__voicewire/``.

    Without a scenario it runs in echo mode. ``time_scale`` overrides every scenario's own;
    ``seed`` and ``clock`` (default: a fixed ``created``) make its payloads reproducible.
    ``registry`` defaults to :data:`~voicewire.simulators.core.registry.REGISTRY`.
    """
    if scenario is not None and not isinstance(scenario, Scenario):
        raise TypeError(f"scenario must be a Scenario, got {type(scenario).__name__}")
    if time_scale is not None and not time_scale >= 0:
        raise ValueError(f"time_scale must be >= 0, got {time_scale!r}")
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[STATE_KEY] = SimulatorState(
        scenario or Scenario.echo(),
        credentials or Credentials(),
        time_scale=time_scale,
        seed=seed,
        clock=clock,
    )
    protocols = registry if registry is not None else REGISTRY
    for prefix in PREFIXES:
        protocols.add_routes(app.router, prefix)
    app.router.add_get("/__voicewire/health", _health)
    app.router.add_get("/__voicewire/scenarios", _list_scenarios)
    app.router.add_put("/__voicewire/scenarios/{name}", _put_scenario)
    app.router.add_delete("/__voicewire/scenarios/{name}", _delete_scenario)
    app.router.add_post("/__voicewire/reset", _reset)
    app.router.add_get("/__voicewire/journal", _journal)
    app.router.add_get("/__voicewire/usage", _usage)
    return app
