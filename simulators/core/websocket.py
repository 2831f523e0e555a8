"""The upgrade every WebSocket endpoint of the simulator answers the same way: admission by
the core (the token, the scenario, a session slot: a refusal is answered in JSON before any
upgrade, AUTH-4), a plain GET refused with a 400, the rule chosen from the request head
(``?model=``; the attempt counts connections to the same URL, so a reconnect is attempt 2),
and the rule's answers that come before the upgrade: an unmatched connection (404), a ``raw``
answer, a ``status`` fault (with ``Retry-After``), and a 501 for what the endpoint cannot play.
What is left is the accepted connection: the protocol module serves it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from voicewire.simulators.core.raw import raw_answer
from voicewire.simulators.core.serving import admit, error_response, serve_raw, state_of
from voicewire.simulators.core.state import Exchange
from voicewire.simulators.scenario import StatusFault, Timing

__all__ = ["AcceptedWebSocket", "accept_websocket", "unplayable_on_websocket"]


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
) -> AcceptedWebSocket | web.StreamResponse:
    """Answer ``request`` up to the upgrade: the finished response when it is answered before
    one (a refusal, a 404, a ``raw`` rule, a ``status`` fault, a 501 when ``unplayable`` says
    why the rule cannot be played), else the upgraded connection."""
    state = state_of(request)
    exchange = admit(request)  # a Refusal (401, 404, 429) is answered by the core, as JSON
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
