"""The upgrade every WebSocket endpoint of the simulator answers the same way: admission by
the core (the token, the scenario, a session slot: a refusal is answered in JSON before any
upgrade, AUTH-4), a plain GET refused with a 400, the rule chosen from the request head
(``?model=``; the attempt counts connections to the same URL, so a reconnect is attempt 2),
and the rule's answers that come before the upgrade: an unmatched connection (404), a ``raw``
answer, a ``status`` fault (with ``Retry-After``), and a 501 for what the endpoint cannot play.
What is left is the accepted connection: the protocol module serves it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from voicewire.simulators.core.credentials import Authentication
from voicewire.simulators.core.raw import raw_answer
from voicewire.simulators.core.serving import admit, error_response, serve_raw, state_of
from voicewire.simulators.core.state import Exchange
from voicewire.simulators.scenario import StatusFault, Timing

__all__ = [
    "CLOSE_IDLE",
    "CLOSE_KIND",
    "CLOSE_UNSUPPORTED_DATA",
    "FRAME_KIND",
    "AcceptedWebSocket",
    "accept_websocket",
    "read_text_frames",
    "unplayable_on_websocket",
]

FRAME_KIND = "ws_message"
"""The journal ``kind`` of each WebSocket message, both ways."""
CLOSE_KIND = "ws_close"
"""The journal ``kind`` of a close frame, both ways."""
CLOSE_UNSUPPORTED_DATA = 1003
"""The close code of a binary frame where a text frame is expected (SRV-3)."""
CLOSE_IDLE = 1008
"""The close code of a connection idle longer than ``Limits.idle_timeout`` (SRV-4)."""


@dataclass
class AcceptedWebSocket:
    """An upgraded connection, ready to serve: its socket, its exchange (journal, ids), the
    chosen rule's ``reply`` (None: no rule matched, the endpoint's own default behaviour) and
    the faults that act on its messages."""

    ws: web.WebSocketResponse
    exchange: Exchange
    reply: Any
    faults: list[Any]


def unplayable_on_websocket(
    endpoint: str,
    timing: Timing,
    faults: Sequence[Any],
    *,
    paced_by: str,
    unsupported: Callable[[Sequence[Any]], list[str]],
) -> str | None:
    """Why a rule cannot be played on WebSocket ``endpoint``, or None: ``timing`` (the
    endpoint's messages are ``paced_by`` something else) or faults it cannot act on."""
    if timing != Timing():
        return f"'timing' does not apply to the {endpoint!r} endpoint: {paced_by}"
    kinds = unsupported(faults)
    if kinds:
        return (
            f"fault(s) {', '.join(kinds)} do not apply to the {endpoint!r} endpoint: a "
            "WebSocket message is never split into writes a client could see"
        )
    return None


async def accept_websocket(
    request: web.Request,
    endpoint: str,
    *,
    unplayable: Callable[[Timing, list[Any]], str | None],
    scheme: Authentication = Authentication.BEARER_TOKEN,
) -> AcceptedWebSocket | web.StreamResponse:
    """Answer ``request`` up to the upgrade: the finished response when it is answered before
    one (a refusal, a 404, a ``raw`` rule, a ``status`` fault, a 501 when ``unplayable`` says
    why the rule cannot be played), else the upgraded connection. ``scheme`` is how the
    endpoint's clients authenticate."""
    state = state_of(request)
    exchange = admit(request, scheme)  # a Refusal (401, 404, 429) is answered by the core, as JSON
    exchange.request(request.method, request.path_qs, request.headers, b"")
    ws = web.WebSocketResponse(max_msg_size=state.limits.max_body_bytes)
    if not ws.can_prepare(request).ok:
        message = f"{request.path} is a WebSocket endpoint: send a WebSocket upgrade"
        exchange.frame("out", "http_error", {"status": 400, "message": message})
        return error_response(400, message, kind="invalid_request_error")

    model = request.query.get("model")
    # A client's reconnect asks for the same URL again: that is what counts as a retry here.
    attempt = exchange.next_attempt(request.path_qs.encode())
    chosen = exchange.choose_rule(endpoint, attempt=attempt, model=model)
    scenario = exchange.scenario
    if chosen is None and scenario.on_unmatched == "error":
        message = (
            f"no rule of scenario {scenario.name!r} matches this connection "
            f"(endpoint {endpoint!r}, model {model!r}, attempt {attempt})"
        )
        exchange.frame("out", "http_error", {"status": 404, "message": message})
        return error_response(404, message, kind="scenario_unmatched")
    exchange.note("rule", {"rule": None if chosen is None else chosen[0], "attempt": attempt})
    exchange.usage["requests"] += 1

    reply: Any = None
    faults: list[Any] = []
    if chosen is not None:
        rule = chosen[1]
        if rule.raw is not None:
            return await serve_raw(request, exchange, raw_answer(exchange, rule.raw))
        faults = rule.faults_for(attempt)
        status = next((f for f in faults if isinstance(f, StatusFault)), None)
        if status is not None:
            headers = {}
            if status.retry_after is not None:
                headers["Retry-After"] = f"{status.retry_after:g}"
            exchange.frame("out", "http_error", {"status": status.code, "headers": headers})
            kind = "server_error" if status.code >= 500 else "invalid_request_error"
            if status.body is not None:
                return web.json_response(status.body, status=status.code, headers=headers or None)
            return error_response(
                status.code, f"simulated HTTP {status.code}", kind=kind, **headers
            )
        problem = unplayable(rule.timing, faults)
        if problem is not None:
            # Better a clear refusal than a connection that silently plays without them.
            exchange.frame("out", "http_error", {"status": 501, "message": problem})
            return error_response(501, problem, kind="server_error")
        reply = rule.reply

    await ws.prepare(request)
    exchange.frame("out", "http_response", {"status": 101, "upgrade": "websocket"})
    return AcceptedWebSocket(ws, exchange, reply, faults)


async def read_text_frames(
    ws: web.WebSocketResponse,
    exchange: Exchange,
    on_text: Callable[[str], Awaitable[bool]],
    close: Callable[[int, str], Awaitable[None]],
    *,
    quiet_since: Callable[[], float | None] | None = None,
) -> None:
    """Read a connection's client frames until it ends: each text frame goes to ``on_text``,
    which says whether to read on. A binary frame is journaled and closed with 1003 (SRV-3), a
    connection silent for the idle limit with 1008 (SRV-4), both through ``close``; the
    client's close frame, aiohttp's own close (a message over the size limit: 1009) and a
    vanished client end it. The caller closes its session afterwards.

    ``quiet_since`` is for a connection that answers beside the reads (its replies still
    going out while the next frame is read): the loop time since which it has had nothing
    left to send, ``None`` while it is sending. The idle limit then counts from the later of
    that and the last client frame, as it does from the end of ``on_text`` otherwise."""
    idle = exchange.state.limits.idle_timeout
    loop = asyncio.get_running_loop()
    wait = idle
    try:
        while not ws.closed:
            try:
                msg = await ws.receive(timeout=wait)
            except TimeoutError:
                wait = _idle_left(quiet_since, idle, loop.time())
                if wait > 0:
                    continue  # the connection was answering: silent for less than the limit
                exchange.note("idle", {"seconds": idle})
                await close(CLOSE_IDLE, f"no message for {idle:g} s")
                return
            wait = idle
            if msg.type is aiohttp.WSMsgType.TEXT:
                if not await on_text(msg.data):
                    return
            elif msg.type is aiohttp.WSMsgType.BINARY:
                exchange.frame("in", FRAME_KIND, {"binary": True, "length": len(msg.data)})
                await close(CLOSE_UNSUPPORTED_DATA, "binary frame: this endpoint takes JSON text")
                return
            elif msg.type is aiohttp.WSMsgType.CLOSE:
                exchange.frame("in", CLOSE_KIND, {"code": msg.data, "reason": msg.extra or ""})
                return
            elif msg.type is aiohttp.WSMsgType.ERROR:
                # aiohttp closed the socket itself (a message over max_msg_size: 1009).
                exchange.note("ws_error", {"error": str(msg.data), "close_code": ws.close_code})
                return
            else:  # CLOSING, CLOSED
                return
    except ConnectionError as exc:
        exchange.note("client_gone", str(exc) or type(exc).__name__)


def _idle_left(quiet_since: Callable[[], float | None] | None, idle: float, now: float) -> float:
    """Seconds the connection may still stay silent, once ``idle`` passed without a client
    frame: none, unless it was answering meanwhile (see :func:`read_text_frames`)."""
    if quiet_since is None:
        return 0.0
    since = quiet_since()
    if since is None:
        return idle  # still answering: the limit has not begun
    return since + idle - now
