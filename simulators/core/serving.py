"""What every handler of the aiohttp shell shares: its state, admission, bodies, and errors as
JSON.

A protocol handler finds its :class:`~voicewire.simulators.core.state.SimulatorState` with
:func:`state_of`, admits a request with :func:`admit` (from the head: token, scenario, a
session slot, SRV-6) and reads its body with :func:`receive_body` (size and deadline, SRV-4).
It does not answer refusals itself: it lets :class:`~.state.Refusal` and
:class:`~.bodies.BodyRefused` propagate, and :func:`answer_errors`, the app's outermost
middleware, answers them, every ``HTTPException`` aiohttp raises (404, 405 with ``Allow``,
413 ...) and any other exception with the JSON error body (SRV-5). An exception is journaled
as a ``server_error`` note naming it, answered 500, and the server goes on serving. When the
request ends, however it ends, the middleware closes the exchanges admitted for it (releasing
the key's slots), whether the handler admitted with :func:`admit` or with the state itself.

A route that takes a body passes :func:`expect_admissible` as its ``expect_handler``: a request
head with ``Expect: 100-continue`` that admission would refuse gets the refusal at once, not an
invitation to send the body it refuses (SRV-6).

A streamed answer is a prepared response plus the core's actions: :func:`execute_actions`
carries them out (writes, pauses, a clean end or a reset); :func:`serve_raw` answers a rule's
``raw`` reply with it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, runtime_checkable

from aiohttp import HttpVersion11, web
from aiohttp.typedefs import Handler
from voicewire.reference.errors import error_body
from voicewire.simulators.core.actions import Action, Disconnect, StreamJournal, walk
from voicewire.simulators.core.bodies import BodyRefused, read_body
from voicewire.simulators.core.credentials import Authentication
from voicewire.simulators.core.raw import RAW_WRITE_KIND, RawAnswer
from voicewire.simulators.core.state import Exchange, Refusal, SimulatorState, closing_admitted

__all__ = [
    "EXCHANGE_KEY",
    "STATE_KEY",
    "ConnectionWatch",
    "admit",
    "answer_errors",
    "error_response",
    "execute_actions",
    "expect_admissible",
    "expect_admissible_under",
    "receive_body",
    "serve_raw",
    "state_of",
]

STATE_KEY: web.AppKey[SimulatorState] = web.AppKey("voicewire_state")
"""Where an app keeps its :class:`~voicewire.simulators.core.state.SimulatorState`."""

# aiohttp >= 3.13 wants typed request keys (and warns about plain strings); older ones have
# none, and a string works there.
EXCHANGE_KEY: Any = (
    web.RequestKey("voicewire_exchange", Exchange)
    if hasattr(web, "RequestKey")
    else "voicewire_exchange"
)
"""Where a request keeps its :class:`~voicewire.simulators.core.state.Exchange` once admitted."""

_log = logging.getLogger("voicewire.simulators")

# Statuses after which the connection is closed: the peer's body may still be on its way
# (413, 408) and reading it to the end is what the limit refuses to do.
_CLOSING = frozenset({408, 413})


def state_of(request: web.Request) -> SimulatorState:
    """The simulator state of the app serving ``request``."""
    return request.app[STATE_KEY]


def error_response(status: int, message: str, *, kind: str, **headers: str) -> web.Response:
    """A JSON error answer (SRV-5)."""
    return web.json_response(
        error_body(status, message, kind), status=status, headers=headers or None
    )


@runtime_checkable
class ConnectionWatch(Protocol):
    """A connection that tells when it is lost (the simulator's own request handler)."""

    def when_lost(self, callback: Any) -> None:
        """Call ``callback()`` once when the connection is lost."""
        ...


def admit(request: web.Request, scheme: Authentication = Authentication.BEARER_TOKEN) -> Exchange:
    """Admit ``request`` from its head (its credential under the route's ``scheme``, the
    scenario, a session slot of its key), or raise
    :class:`~voicewire.simulators.core.state.Refusal` (journaled; answered by
    :func:`answer_errors`). The exchange's slot is released when the request ends or its
    connection is lost, whichever comes first."""
    exchange = state_of(request).admit(request.headers, scheme)
    request[EXCHANGE_KEY] = exchange
    protocol = request.protocol
    if isinstance(protocol, ConnectionWatch):
        protocol.when_lost(exchange.close)
    return exchange


def expect_admissible_under(
    scheme: Authentication,
) -> Callable[[web.Request], Awaitable[web.StreamResponse | None]]:
    """:func:`expect_admissible` for a route whose requests authenticate under ``scheme``."""

    async def expect_handler(request: web.Request) -> web.StreamResponse | None:
        return await expect_admissible(request, scheme)

    return expect_handler


async def expect_admissible(
    request: web.Request, scheme: Authentication = Authentication.BEARER_TOKEN
) -> web.StreamResponse | None:
    """The answer to a request head carrying ``Expect`` (an aiohttp ``expect_handler``).

    aiohttp's own handler answers ``100 Continue`` to every head, before any handler has
    looked at it: a client that waits for it then sends a body the server refuses unread.
    This one refuses from the head what admission would refuse (SRV-6): a token it rejects
    (401, AUTH-4), then an expectation other than ``100-continue`` (417) or a
    ``Content-Length`` over the body limit (413, SRV-4); each as JSON (SRV-5), journaled,
    with the connection closed, since the peer may send the body anyway. Otherwise it answers
    ``100 Continue`` (to HTTP/1.1 only, as aiohttp does) and the handler runs.
    """
    state = state_of(request)
    expectation = request.headers.get("Expect", "")
    length = request.content_length
    response: web.Response | None = None
    try:
        state.verify(request.headers, scheme)
    except Refusal as refusal:
        # A request that is not the client's to make is refused as such first (AUTH-4).
        response = web.json_response(
            refusal.body, status=refusal.status, headers=refusal.headers or None
        )
    else:
        if expectation.strip().lower() != "100-continue":
            message = f"unsupported expectation {expectation[:80]!r}: only 100-continue is"
            response = error_response(417, message, kind="invalid_request_error")
        elif length is not None and length > state.limits.max_body_bytes:
            message = (
                f"request body of {length} bytes exceeds the limit of "
                f"{state.limits.max_body_bytes} bytes"
            )
            response = error_response(413, message, kind="invalid_request_error")
    if response is not None:
        _record(request, "out", "http_error", {"status": response.status, "expect": expectation})
        response.force_close()
        return response
    if request.version == HttpVersion11:
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        # The interim answer is not the answer: the handler's own may still be an error.
        request.writer.output_size = 0
    return None


async def receive_body(request: web.Request) -> bytes:
    """The request's whole body under the limits (size, deadline), or
    :class:`~voicewire.simulators.core.bodies.BodyRefused` (answered by :func:`answer_errors`).
    A peer gone mid-body raises :class:`ConnectionResetError`."""
    limits = state_of(request).limits
    return await read_body(request, max_bytes=limits.max_body_bytes, timeout=limits.body_timeout)


def _record(request: web.Request, direction: str, kind: str, data: Any) -> None:
    """Journal for the request's exchange, or, before admission, for the default scenario."""
    exchange: Exchange | None = request.get(EXCHANGE_KEY)
    if exchange is not None:
        if direction == "note":
            exchange.note(kind, data)
        else:
            exchange.frame("out", kind, data)
        return
    state = state_of(request)
    state.journal.record(
        scenario=state.default_scenario,
        exchange=state.journal.new_exchange(),
        direction="note" if direction == "note" else "out",
        kind=kind,
        data=data,
    )


def _http_exception(request: web.Request, exc: web.HTTPException) -> web.Response:
    """The JSON form of an aiohttp ``HTTPException`` (the router's 404 and 405 ...)."""
    headers: dict[str, str] = {}
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(exc.allowed_methods))
        headers["Allow"] = allowed
        message = f"{request.method} is not allowed on {request.path}: use {allowed}"
        kind = "method_not_allowed"
    elif exc.status == 404:
        message = f"no endpoint {request.method} {request.path}"
        kind = "not_found"
    else:
        message = exc.text or exc.reason
        kind = "server_error" if exc.status >= 500 else "invalid_request_error"
    return error_response(exc.status, message, kind=kind, **headers)


@web.middleware
async def answer_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer every error as JSON (SRV-5) and close the request's exchanges when it ends."""
    with closing_admitted():
        return await _answered(request, handler)


async def _answered(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Refusal as refusal:
        return web.json_response(refusal.body, status=refusal.status, headers=refusal.headers)
    except BodyRefused as refused:
        _record(request, "out", "http_error", {"status": refused.status, "message": str(refused)})
        response = error_response(refused.status, refused.message, kind=refused.kind)
        if refused.status in _CLOSING:
            response.force_close()
        if refused.status == 408:
            # The peer stopped sending: waiting (lingering) for the rest of its body before
            # closing would only hold the connection longer.
            request.content.feed_eof()
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _http_exception(request, exc)
    except ConnectionResetError as exc:
        # The peer hung up (mid-body, mid-stream): nobody is left to answer.
        _record(request, "note", "client_gone", str(exc) or type(exc).__name__)
        response = web.Response(status=400)
        response.force_close()
        return response
    except Exception as exc:
        _record(
            request,
            "note",
            "server_error",
            {
                "exception": type(exc).__name__,
                "message": str(exc)[:1000],
                "method": request.method,
                "path": request.path,
            },
        )
        _log.error("a simulator handler raised", exc_info=exc)
        if request.writer.output_size > 0:
            raise  # the answer had started: aiohttp cuts the connection
        return error_response(
            500, f"internal server error: {type(exc).__name__}", kind="server_error"
        )


async def execute_actions(
    request: web.Request,
    response: web.StreamResponse,
    actions: Iterable[Action],
    *,
    journal: StreamJournal,
    write_kind: str,
) -> None:
    """Execute ``actions`` on the prepared ``response``: write, wait, then end the body or
    reset the connection. A peer that goes away is journaled as ``client_gone``."""
    try:
        for step in walk(actions, journal=journal, write_kind=write_kind):
            if isinstance(step, bytes):
                await response.write(step)
                # write() only suspends when the transport pushes back; a fast reader never
                # does, so give the loop a turn per batch: other sessions keep their timing
                # while a long answer streams (SRV-7).
                await asyncio.sleep(0)
            elif isinstance(step, Disconnect):
                if step.mode == "reset":
                    if request.transport is not None:
                        request.transport.abort()
                    return
                break
            else:
                await asyncio.sleep(step)
        await response.write_eof()
    except ConnectionError as exc:
        journal.note("client_gone", str(exc) or type(exc).__name__)


async def serve_raw(
    request: web.Request, exchange: Exchange, answer: RawAnswer
) -> web.StreamResponse:
    """Answer with a rule's raw reply: its status and headers, then its body's actions."""
    response = web.StreamResponse(status=answer.status, headers=answer.headers)
    await response.prepare(request)
    await execute_actions(
        request, response, answer.actions, journal=exchange, write_kind=RAW_WRITE_KIND
    )
    return response
