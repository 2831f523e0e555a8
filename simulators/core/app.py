"""The simulator application: every registered protocol on one port, plus the control API.

The routes of every registered protocol are mounted under ``/`` and ``/v1/``; the control API
(:mod:`.control`) under ``/__voicewire/``, behind its token and Host check. Two middlewares
wrap everything: :func:`~.serving.answer_errors` (every error in JSON, SRV-5; the request's
session slot released when it ends) outside :func:`~.control.guard_control`.

Scenario selection per request, so parallel tests do not collide: the ``X-Voicewire-Scenario``
header names a loaded scenario; else the API key's assigned scenario (``Credentials``); else
the default scenario (see :mod:`~voicewire.simulators.core.state`).

The limits (:class:`~.limits.Limits`) are applied by the app itself (body size and deadline,
JSON depth, sessions per key, pattern time, journal bounds) and by the connection (header
sizes and the idle deadline through aiohttp's own settings; the head deadline and JSON answers
to unparseable heads with :class:`~.connection.SimulatorRunner`, which
:class:`~.socket_server.SimulatorServer` uses).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from aiohttp import web
from voicewire.simulators.core.clock import Clock
from voicewire.simulators.core.connection import handler_args
from voicewire.simulators.core.control import (
    CONTROL_TOKEN_KEY,
    HOST_NAMES_KEY,
    add_control_routes,
    guard_control,
)
from voicewire.simulators.core.credentials import Credentials
from voicewire.simulators.core.limits import Limits
from voicewire.simulators.core.registry import REGISTRY, ProtocolRegistry
from voicewire.simulators.core.serving import (
    STATE_KEY,
    answer_errors,
    error_response,
    state_of,
)
from voicewire.simulators.core.state import SimulatorState
from voicewire.simulators.scenario import Scenario

__all__ = [
    "CONTROL_TOKEN_KEY",
    "MAX_BODY_BYTES",
    "PREFIXES",
    "STATE_KEY",
    "control_token_of",
    "create_app",
    "error_response",
    "new_control_token",
    "state_of",
]

PREFIXES = ("", "/v1")
"""Every protocol's routes are mounted under each of these."""

MAX_BODY_BYTES = Limits().max_body_bytes
"""The default largest request body (``Limits.max_body_bytes``)."""


def new_control_token() -> str:
    """A fresh random control token (URL-safe, 32 bytes of entropy)."""
    return secrets.token_urlsafe(32)


def control_token_of(app: web.Application) -> str:
    """The control token of an app made by :func:`create_app`."""
    return app[CONTROL_TOKEN_KEY]


def create_app(
    scenario: Scenario | None = None,
    credentials: Credentials | None = None,
    *,
    time_scale: float | None = None,
    seed: int = 0,
    clock: Clock | None = None,
    registry: ProtocolRegistry | None = None,
    limits: Limits | None = None,
    control_token: str | None = None,
    host_names: Iterable[str] = (),
) -> web.Application:
    """The simulator application: the routes of every registered protocol under ``/`` and
    ``/v1/``, plus the control API under ``/__voicewire/``.

    Without a scenario it runs in echo mode. ``time_scale`` overrides every scenario's own;
    ``seed`` and ``clock`` (default: a fixed ``created``) make its payloads reproducible.
    ``registry`` defaults to :data:`~voicewire.simulators.core.registry.REGISTRY`.
    ``limits`` (default :class:`~voicewire.simulators.core.limits.Limits`) bound what peers
    may send and hold; ``control_token`` guards the control API (default: a random one,
    :func:`control_token_of` tells it). ``host_names``: names the control API accepts in
    ``Host`` besides the address a connection reached and ``localhost`` (the host name a
    server listens on).
    """
    if scenario is not None and not isinstance(scenario, Scenario):
        raise TypeError(f"scenario must be a Scenario, got {type(scenario).__name__}")
    if time_scale is not None and not time_scale >= 0:
        raise ValueError(f"time_scale must be >= 0, got {time_scale!r}")
    if control_token is not None and (
        not isinstance(control_token, str) or not control_token or not control_token.isascii()
    ):
        raise ValueError("control_token must be a non-empty ASCII string")
    limits = limits if limits is not None else Limits()
    app = web.Application(
        client_max_size=limits.max_body_bytes,
        middlewares=[answer_errors, guard_control],
        handler_args=handler_args(limits),
    )
    app[STATE_KEY] = SimulatorState(
        scenario or Scenario.echo(),
        credentials or Credentials(),
        time_scale=time_scale,
        seed=seed,
        clock=clock,
        limits=limits,
    )
    app[CONTROL_TOKEN_KEY] = control_token if control_token is not None else new_control_token()
    app[HOST_NAMES_KEY] = frozenset(name.lower() for name in host_names)
    protocols = registry if registry is not None else REGISTRY
    for prefix in PREFIXES:
        protocols.add_routes(app.router, prefix)
    add_control_routes(app.router)
    return app
