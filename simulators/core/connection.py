"""The simulator's HTTP connections: what happens to a peer before and around the handlers.

aiohttp answers some requests itself, before any handler or middleware runs: a request line
or head it cannot parse, a header field too large, too many fields. Its answer is a
plain-text page; SRV-5 wants JSON. And it never closes a connection that sends half a head
(its keep-alive timer is the only bound, and its default is an hour). This module plugs
into aiohttp where it lets a server do so, its request handler class (the connection's
protocol), to:

- answer every error aiohttp produces itself with the JSON error body (400, or 431 for a
  request line or header too large, or too many fields; 417 for an expectation a route's
  ``Expect`` handler refuses) and journal it;
- close a connection whose request head is not complete :attr:`Limits.head_timeout` seconds
  after its first byte (slow or partial heads), and, through aiohttp's keep-alive timer,
  one idle for :attr:`Limits.idle_timeout` seconds (including a connection that never sends
  a byte);
- tell the handlers when the connection is lost (:meth:`SimulatorRequestHandler.when_lost`),
  so a session's slot is released at once, not when its handler next writes.

:class:`SimulatorRunner` is an ``AppRunner`` whose server makes these handlers;
:func:`handler_args` gives the aiohttp settings that follow from the limits (header sizes,
keep-alive), which :func:`~voicewire.simulators.core.app.create_app` also sets on the app, so
any runner applies them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage, HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from voicewire.reference.errors import error_body
from voicewire.simulators.core.limits import Limits
from voicewire.simulators.core.state import SimulatorState

__all__ = ["LINGER_SECONDS", "SimulatorRequestHandler", "SimulatorRunner", "handler_args"]

LINGER_SECONDS = 2.0
"""How long a connection keeps reading (and dropping) the rest of a body it answered without
reading (a 401, 413 or 408): long enough that the peer reads the answer before the socket
closes under it, short enough that a peer cannot hold the connection with it."""

_log = logging.getLogger("voicewire.simulators")


def handler_args(limits: Limits) -> dict[str, Any]:
    """The aiohttp request-handler settings that enforce ``limits``."""
    return {
        "keepalive_timeout": limits.idle_timeout,
        "max_line_size": limits.max_header_bytes,
        "max_field_size": limits.max_header_bytes,
        "max_headers": limits.max_headers,
        "lingering_time": LINGER_SECONDS,
    }


def _json_error(status: int, message: str, kind: str) -> web.Response:
    response = web.json_response(error_body(status, message, kind), status=status)
    # aiohttp closes the connection after an error it produced; say so on the wire too.
    response.force_close()
    return response


class SimulatorRequestHandler(RequestHandler):
    """aiohttp's request handler (one per connection) with JSON errors, a head deadline and
    connection-lost callbacks. Made by :class:`SimulatorRunner`'s server."""

    def __init__(self, manager: web.Server, *, state: SimulatorState, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._state = state
        self._head_timeout = state.limits.head_timeout
        self._head_deadline: asyncio.TimerHandle | None = None
        self._on_lost: list[Callable[[], None]] = []

    def when_lost(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` once when this connection is lost (right away if it is)."""
        if self.transport is None:
            callback()
        else:
            self._on_lost.append(callback)

    # -- the head deadline -------------------------------------------------------------------

    def _awaiting_head(self) -> bool:
        # aiohttp's connection task waits on this future while no complete head is queued;
        # it is resolved the moment the parser completes one.
        waiter = self._waiter
        return waiter is not None and not waiter.done()

    def data_received(self, data: bytes) -> None:
        """Feed aiohttp's parser, then start the head deadline at a head's first byte, or
        stop it once the head is complete."""
        super().data_received(data)
        if self._awaiting_head():
            if data and self._head_deadline is None and self.transport is not None:
                loop = asyncio.get_running_loop()
                self._head_deadline = loop.call_later(self._head_timeout, self._head_late)
        elif self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_late(self) -> None:
        self._head_deadline = None
        if self._awaiting_head():
            self._state.journal.record(
                scenario=self._state.default_scenario,
                exchange=self._state.journal.new_exchange(),
                direction="note",
                kind="connection_closed",
                data={"reason": f"no complete request head within {self._head_timeout:g} s"},
            )
            self.force_close()

    def connection_lost(self, exc: BaseException | None) -> None:
        """Stop the head deadline and run the connection-lost callbacks."""
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None
        callbacks, self._on_lost = self._on_lost, []
        super().connection_lost(exc)
        for callback in callbacks:
            callback()

    # -- errors aiohttp answers itself ------------------------------------------------------

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """The JSON answer to an error aiohttp met outside the handlers (a head it cannot
        parse, a field too large) or one that escaped them; journaled as ``http_error``."""
        if request.writer.output_size > 0:
            # Part of an answer is out: only cutting the connection can tell the peer.
            raise ConnectionError("the answer had started; the connection is cut instead")
        limits = self._state.limits
        kind = "invalid_request_error"
        if isinstance(exc, LineTooLong):
            status = HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
            text = f"request line or header field larger than {limits.max_header_bytes} bytes"
        elif isinstance(exc, BadHttpMessage) and "Too many headers" in exc.message:
            status = HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
            text = f"more than {limits.max_headers} header fields"
        elif isinstance(exc, HttpProcessingError):
            if 400 <= exc.code < 600:
                status = exc.code
            text = f"malformed HTTP request: {exc.message or type(exc).__name__}"
        elif status >= 500:
            kind = "server_error"
            text = "internal server error" + (f": {type(exc).__name__}" if exc else "")
            _log.error("error answering a request", exc_info=exc)
        else:
            text = message or HTTPStatus(status).phrase
        self._state.journal.record(
            scenario=self._state.default_scenario,
            exchange=self._state.journal.new_exchange(),
            direction="out",
            kind="http_error",
            data={"status": int(status), "message": text},
        )
        return _json_error(int(status), text, kind)


class _SimulatorHTTPServer(web.Server):
    """aiohttp's low-level server, making :class:`SimulatorRequestHandler` connections."""

    def __init__(
        self,
        handler: Any,
        *,
        state: SimulatorState,
        protocol_args: dict[str, Any],
        **kwargs: Any,
    ) -> None:
        async def answered(request: BaseRequest) -> web.StreamResponse:
            # The app's middlewares answer every error in JSON, but a route's Expect handler
            # runs before them (aiohttp's default one raises 417 for an expectation it does
            # not know), and aiohttp would send what escapes as a plain-text page.
            try:
                return await handler(request)  # type: ignore[no-any-return]
            except web.HTTPException as exc:
                if exc.status < 400:
                    raise
                state.journal.record(
                    scenario=state.default_scenario,
                    exchange=state.journal.new_exchange(),
                    direction="out",
                    kind="http_error",
                    data={"status": exc.status, "message": exc.text or exc.reason},
                )
                return _json_error(exc.status, exc.text or exc.reason, "invalid_request_error")

        super().__init__(answered, **kwargs)
        self._state = state
        self._protocol_args = protocol_args
        self._event_loop = asyncio.get_running_loop()

    def __call__(self) -> RequestHandler:
        return SimulatorRequestHandler(
            self, state=self._state, loop=self._event_loop, **self._protocol_args
        )


class SimulatorRunner(web.AppRunner):
    """An ``AppRunner`` whose connections are :class:`SimulatorRequestHandler` objects,
    configured from the state's limits."""

    def __init__(self, app: web.Application, *, state: SimulatorState) -> None:
        super().__init__(app, handle_signals=False, shutdown_timeout=1.0)
        self._state = state

    async def _make_server(self) -> web.Server:
        # The app's own server first: it runs the app's startup and freezes it. Its request
        # handler and factory are then served by connections of our class.
        plain = await super()._make_server()
        return _SimulatorHTTPServer(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            state=self._state,
            protocol_args=handler_args(self._state.limits),
        )
