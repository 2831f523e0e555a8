"""The control API under ``/__voicewire/``: scenarios, the journal, usage, reset.

=============================================  ==============================================
``GET /__voicewire/``                          this index: the endpoints, which need the token,
                                               and how to send it (open: no token, any
                                               ``Host``; also at ``/__voicewire``); JSON, or a
                                               small HTML page for a client that accepts HTML
``GET /__voicewire/health``                    ``{"ok": true}`` (open: no token, any ``Host``)
``GET /__voicewire/scenarios``                 loaded scenario names and the default
``PUT /__voicewire/scenarios/{name}``          load (or replace) a scenario from a JSON body
``DELETE /__voicewire/scenarios/{name}``       unload one
``POST /__voicewire/reset``                    clear journal, attempt counters and usage
                                               (``?scenario=NAME`` limits it to one scenario)
``GET /__voicewire/journal``                   one page of entries: ``?scenario=``,
                                               ``?exchange=``, ``?after=<seq>``, ``?limit=<n>``
                                               (default 1000), answered with a ``next`` cursor;
                                               ``?follow=1``: NDJSON, one entry per line, as
                                               entries arrive, until the client leaves
``GET /__voicewire/usage``                     per-API-key request and token counts
=============================================  ==============================================

Whoever reaches the control API can replace what the simulator says, read every session's
messages and reset it, so it is guarded twice:

- a **token** (random per simulator unless given): ``Authorization: Bearer <token>`` or
  ``X-Voicewire-Control-Token: <token>``, else 401;
- a **Host check** against DNS rebinding: the ``Host`` header must name the simulator with an
  IP address (``127.0.0.1:<port>``, ``[::1]:<port>``, any other address), ``localhost``, or
  the host name the server was configured with, else 403, so a web page a browser loads from
  a name that an attacker rebinds to this address cannot drive it. Rebinding needs a host
  *name* the attacker controls: any address is safe to accept, and so is any port, which
  keeps the control API reachable through a port forward (``docker run -p 9000:8080``, an
  SSH tunnel: the client says ``Host: 127.0.0.1:9000`` while the socket it reaches has
  another address and port).

The protocol endpoints are not concerned: they answer under any ``Host``. Neither are the
index and ``health``: they reveal nothing and change nothing.
Every query parameter is checked (an unknown, repeated or malformed one is a 400 naming it),
and the journal is read a page at a time and encoded incrementally, so reading it never holds
the event loop for long.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import html
import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from voicewire.reference.auth import parse_bearer
from voicewire.reference.errors import error_body
from voicewire.simulators.core.bodies import BodyRefused, decode_json
from voicewire.simulators.core.journal import Journal, JournalPage
from voicewire.simulators.core.serving import error_response, receive_body, state_of
from voicewire.simulators.core.state import Refusal
from voicewire.simulators.scenario import ScenarioError, parse_scenario

__all__ = [
    "CONTROL_PREFIX",
    "CONTROL_TOKEN_HEADER",
    "CONTROL_TOKEN_KEY",
    "HOST_NAMES_KEY",
    "JOURNAL_PAGE",
    "JOURNAL_PAGE_MAX",
    "add_control_routes",
    "guard_control",
]

CONTROL_PREFIX = "/__voicewire"
"""Where the control API lives."""
CONTROL_TOKEN_HEADER = "X-Voicewire-Control-Token"
"""The header that may carry the control token (instead of ``Authorization: Bearer``)."""
CONTROL_TOKEN_KEY: web.AppKey[str] = web.AppKey("voicewire_control_token")
"""Where an app keeps its control token."""
HOST_NAMES_KEY: web.AppKey[frozenset[str]] = web.AppKey("voicewire_host_names")
"""Where an app keeps the host names (beyond addresses and ``localhost``) its control API
accepts in ``Host``: the name it was configured to listen on."""
JOURNAL_PAGE = 1000
"""Entries per journal page unless ``?limit=`` says otherwise."""
JOURNAL_PAGE_MAX = 10_000
"""The largest ``?limit=`` accepted."""

# The index and liveness reveal nothing and change nothing: no token, no Host check.
_OPEN_PATHS = frozenset({CONTROL_PREFIX, f"{CONTROL_PREFIX}/", f"{CONTROL_PREFIX}/health"})
# A journal answer is written in pieces of about this size, the event loop free in between.
_FLUSH_BYTES = 64 * 1024
# How often a follower with nothing to send checks that its client is still there.
_FOLLOW_CHECK_SECONDS = 1.0

# (method, path, what it does, whether it needs the token)
_INDEX = [
    ("GET", "/__voicewire/", "this index", False),
    ("GET", "/__voicewire/health", 'liveness: {"ok": true}', False),
    ("GET", "/__voicewire/scenarios", "loaded scenario names and the default", True),
    ("PUT", "/__voicewire/scenarios/{name}", "load or replace a scenario (JSON body)", True),
    ("DELETE", "/__voicewire/scenarios/{name}", "unload a scenario", True),
    ("POST", "/__voicewire/reset", "clear journal, attempts and usage (?scenario=)", True),
    (
        "GET",
        "/__voicewire/journal",
        "journal entries: ?scenario= ?exchange= ?after=<seq> ?limit=<n>, answered with a "
        "'next' cursor; ?follow=1: NDJSON as entries arrive",
        True,
    ),
    ("GET", "/__voicewire/usage", "per-API-key request and token counts", True),
]
_HOW_TO_AUTHENTICATE = (
    f"send the simulator's control token as 'Authorization: Bearer <token>' or "
    f"'{CONTROL_TOKEN_HEADER}: <token>' (voicewire serve prints it; in Python: "
    "SimulatorServer.control_token)"
)
_HOST_RULE = (
    "requests that need the token must also carry a Host naming the simulator with an IP "
    "address, localhost or its configured host name (a guard against DNS rebinding)"
)


def _refuse(status: int, message: str, kind: str = "invalid_request_error") -> Refusal:
    return Refusal(status, error_body(status, message, kind))


# -- the guard -----------------------------------------------------------------------------------


def _reached_port(request: web.Request) -> int | None:
    """The port of the address this connection reached (None: not a TCP socket)."""
    transport = request.transport
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    if not isinstance(sockname, tuple) or len(sockname) < 2:
        return None
    return int(sockname[1])


def _host_name(host: str) -> str | None:
    """The name or address in ``Host`` (brackets off an IPv6 address, port off); None when
    ``Host`` is malformed."""
    name, port = host, ""
    if host.startswith("["):
        name, bracket, rest = host[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        port = rest[1:]
    elif ":" in host:
        name, _, port = host.rpartition(":")
        if not port:
            return None
    if not name or (port and not (port.isascii() and port.isdigit() and len(port) <= 5)):
        return None
    return name


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _host_allowed(request: web.Request, host: str) -> tuple[bool, str]:
    """Whether ``host`` (the ``Host`` header, lower case) may drive the control API, and what
    is accepted (for the 403's message)."""
    names = sorted({"localhost", *request.app.get(HOST_NAMES_KEY, frozenset())})
    accepted = f"an IP address or one of {names}"
    name = _host_name(host)
    # An address cannot be rebound (DNS rebinding needs a name): any address is accepted.
    return name is not None and (name in names or _is_address(name)), accepted


def _offered_token(request: web.Request) -> str | None:
    given = request.headers.get(CONTROL_TOKEN_HEADER)
    if given is None:
        given = parse_bearer(request.headers.get("Authorization"))
    return given


def _token_matches(given: str | None, token: str) -> bool:
    if given is None:
        return False
    # Header values may hold any byte (decoded with surrogate escapes): compare bytes, in
    # constant time.
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode())


@web.middleware
async def guard_control(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The control API's Host check (403) and token check (401); other paths pass."""
    path = request.path
    if not (path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")):
        return await handler(request)
    if path in _OPEN_PATHS:
        return await handler(request)
    host = request.headers.get("Host", "").strip().lower()
    allowed, accepted = _host_allowed(request, host)
    if not allowed:
        raise _refuse(
            403,
            f"the control API answers only requests for its own address: Host {host!r} is "
            f"not {accepted}",
            "permission_error",
        )
    if not _token_matches(_offered_token(request), request.app[CONTROL_TOKEN_KEY]):
        raise Refusal(
            401,
            error_body(
                401,
                f"the control API needs its token: {_HOW_TO_AUTHENTICATE}",
                "authentication_error",
            ),
        )
    return await handler(request)


# -- query parameters ----------------------------------------------------------------------------

_DIGITS = re.compile(r"[0-9]{1,18}")


def _whole_number(name: str, *, low: int = 0, high: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not _DIGITS.fullmatch(text):
            raise _refuse(400, f"query parameter {name!r} must be a whole number, got {text!r}")
        value = int(text)
        if value < low or (high is not None and value > high):
            bound = f"{low}..{high}" if high is not None else f">= {low}"
            raise _refuse(400, f"query parameter {name!r} must be in {bound}, got {value}")
        return value

    return parse


def _flag(name: str) -> Callable[[str], bool]:
    def parse(text: str) -> bool:
        value = text.lower()
        if value in ("1", "true", "yes"):
            return True
        if value in ("0", "false", "no"):
            return False
        raise _refuse(400, f"query parameter {name!r} must be 1 or 0, got {text!r}")

    return parse


def _name(name: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if len(text) > 200:
            raise _refuse(400, f"query parameter {name!r} must be at most 200 characters")
        return text

    return parse


def _query(request: web.Request, accepted: Mapping[str, Callable[[str], Any]]) -> dict[str, Any]:
    """The request's query parameters, each parsed; 400 for an unknown, repeated or
    malformed one."""
    values: dict[str, Any] = {}
    seen: set[str] = set()
    for name, text in request.query.items():
        if name not in accepted:
            known = ", ".join(sorted(accepted)) or "none"
            raise _refuse(400, f"unknown query parameter {name!r} (accepted: {known})")
        if name in seen:
            raise _refuse(400, f"query parameter {name!r} is given more than once")
        seen.add(name)
        if text != "":  # an empty value means "not given", as in a templated URL
            values[name] = accepted[name](text)
    return values


# -- endpoints -----------------------------------------------------------------------------------


def _wants_html(request: web.Request) -> bool:
    """Whether the client prefers HTML to JSON (a browser does; curl and scripts do not)."""
    accept = request.headers.get("Accept", "").lower()
    return "text/html" in accept and "application/json" not in accept


def _journal_command(request: web.Request) -> str:
    # The Host header, not request.host: without one, that falls back to a DNS lookup.
    host = request.headers.get("Host") or f"127.0.0.1:{_reached_port(request)}"
    return f"voicewire journal --url {request.scheme}://{host} --token <token>"


def _index_html(request: web.Request) -> str:
    rows = "\n".join(
        f"<tr><td>{method}</td><td><code>{html.escape(path)}</code></td>"
        f"<td>{html.escape(description)}</td><td>{'yes' if token else 'no'}</td></tr>"
        for method, path, description, token in _INDEX
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>voicewire simulator: control API</title>
<style>body{{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse}}td,th{{border-bottom:1px solid #ddd;padding:.3rem .6rem;
text-align:left;vertical-align:top}}code{{font-size:90%}}</style></head>
<body><h1>voicewire simulator: control API</h1>
<table><tr><th>method</th><th>path</th><th>what</th><th>token</th></tr>
{rows}
</table>
<p><b>Token:</b> {html.escape(_HOW_TO_AUTHENTICATE)}.</p>
<p><b>Host:</b> {html.escape(_HOST_RULE)}.</p>
<p><b>From a shell:</b> <code>{html.escape(_journal_command(request))}</code>
prints the journal, one line per frame (<code>--follow</code> to keep reading).</p>
<p>The same index as JSON: <code>Accept: application/json</code>.</p>
</body></html>
"""


async def _index(request: web.Request) -> web.Response:
    _query(request, {})
    if _wants_html(request):
        return web.Response(text=_index_html(request), content_type="text/html")
    return web.json_response(
        {
            "service": "voicewire simulator control API",
            "endpoints": [
                {"method": method, "path": path, "description": description, "token": token}
                for method, path, description, token in _INDEX
            ],
            "authentication": _HOW_TO_AUTHENTICATE,
            "host": _HOST_RULE,
            "journal_cli": _journal_command(request),
        }
    )


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _list_scenarios(request: web.Request) -> web.Response:
    _query(request, {})
    state = state_of(request)
    return web.json_response(
        {"scenarios": sorted(state.scenarios), "default": state.default_scenario}
    )


async def _put_scenario(request: web.Request) -> web.Response:
    _query(request, {})
    state = state_of(request)
    name = request.match_info["name"]
    body = await receive_body(request)
    try:
        data = decode_json(body, max_depth=state.limits.max_json_depth, what="scenario body")
    except BodyRefused as exc:
        return error_response(400, exc.message, kind="invalid_request_error")
    if isinstance(data, dict):
        data = {**data, "name": data.get("name", name)}
    source = f"PUT /__voicewire/scenarios/{name}"
    try:
        # Validation compiles and probes every pattern: work in proportion to the document,
        # done in a worker thread so other sessions keep their timing.
        scenario = await asyncio.to_thread(parse_scenario, data, source=source)
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
    _query(request, {})
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
    query = _query(request, {"scenario": _name("scenario")})
    state_of(request).reset(query.get("scenario"))
    return web.json_response({"reset": query.get("scenario", "all")})


async def _usage(request: web.Request) -> web.Response:
    _query(request, {})
    state = state_of(request)
    return web.json_response({key: dict(counts) for key, counts in state.usage.items()})


_JOURNAL_QUERY: dict[str, Callable[[str], Any]] = {
    "scenario": _name("scenario"),
    "exchange": _whole_number("exchange"),
    "after": _whole_number("after"),
    "limit": _whole_number("limit", low=1, high=JOURNAL_PAGE_MAX),
    "follow": _flag("follow"),
}


def _page(journal: Journal, query: Mapping[str, Any], after: int | None) -> JournalPage:
    return journal.page(
        scenario=query.get("scenario"),
        exchange=query.get("exchange"),
        after=after,
        limit=query.get("limit", JOURNAL_PAGE),
    )


async def _write_entries(
    response: web.StreamResponse, page: JournalPage, *, separator: bytes, first: bool
) -> bool:
    """Write a page's entries, each JSON, ``separator`` between (and after, for NDJSON),
    in pieces; whether the next entry is still the first."""
    pending: list[bytes] = []
    size = 0
    for entry in page:
        encoded = json.dumps(entry, separators=(",", ":")).encode()
        if separator == b",":
            pending.append(encoded if first else b"," + encoded)
        else:
            pending.append(encoded + separator)
        first = False
        size += len(encoded)
        if size >= _FLUSH_BYTES:
            await response.write(b"".join(pending))
            await asyncio.sleep(0)  # the loop serves others between pieces
            pending, size = [], 0
    if pending:
        await response.write(b"".join(pending))
    return first


async def _journal(request: web.Request) -> web.StreamResponse:
    query = _query(request, _JOURNAL_QUERY)
    journal = state_of(request).journal
    if query.get("follow"):
        return await _follow(request, journal, query)
    page = _page(journal, query, query.get("after"))
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    await response.write(b'{"entries":[')
    await _write_entries(response, page, separator=b",", first=True)
    tail = {"dropped": journal.dropped, "next": page.next}
    await response.write(b"]," + json.dumps(tail)[1:].encode())
    await response.write_eof()
    return response


def _gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def _follow(
    request: web.Request, journal: Journal, query: Mapping[str, Any]
) -> web.StreamResponse:
    """NDJSON: every entry from ``after`` on, then each new one as it is recorded, until the
    client leaves."""
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    await response.prepare(request)
    arrived = asyncio.Event()
    unsubscribe = journal.subscribe(arrived.set)
    cursor: int | None = query.get("after")
    try:
        while True:
            arrived.clear()
            page = _page(journal, query, cursor)
            await _write_entries(response, page, separator=b"\n", first=True)
            if page.last is not None:
                cursor = page.last
            if page.next is not None:
                continue  # a full page: there may be more right away
            while not arrived.is_set():
                if _gone(request):
                    return response
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(arrived.wait(), _FOLLOW_CHECK_SECONDS)
    except ConnectionError:
        return response
    finally:
        unsubscribe()


def add_control_routes(router: web.UrlDispatcher) -> None:
    """Mount the control API under ``/__voicewire/``."""
    router.add_get(CONTROL_PREFIX, _index)
    router.add_get(f"{CONTROL_PREFIX}/", _index)
    router.add_get(f"{CONTROL_PREFIX}/health", _health)
    router.add_get(f"{CONTROL_PREFIX}/scenarios", _list_scenarios)
    router.add_put(f"{CONTROL_PREFIX}/scenarios/{{name}}", _put_scenario)
    router.add_delete(f"{CONTROL_PREFIX}/scenarios/{{name}}", _delete_scenario)
    router.add_post(f"{CONTROL_PREFIX}/reset", _reset)
    router.add_get(f"{CONTROL_PREFIX}/journal", _journal)
    router.add_get(f"{CONTROL_PREFIX}/usage", _usage)
