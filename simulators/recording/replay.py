"""The cassette replayer: an HTTP and WebSocket server that answers from a cassette.

One catch-all route; the recorded endpoints (every protocol's, from the registry) say what a
request is, and a recorded HTTP request to a path no protocol owns is its own endpoint,
answered as recorded. An HTTP request gets the recorded exchange
:class:`~.replay_match.ReplayMatcher` picks: its status, reason and headers, then its body
pieces each at its recorded time after the head (times multiplied by ``time_scale``; 0 sends
them as fast as possible), and the connection cut where the recording's was. A WebSocket
session is replayed causally by a :class:`~.replay_match.CausalSchedule`: a recorded server
message goes once the live client has sent what preceded it. A request that matches nothing
is answered 400 (a WebSocket control message that differs: close 1008) with a message naming
the difference; every such mismatch is kept in :attr:`CassetteReplayServer.mismatches` and
logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from types import TracebackType
from typing import Any

import voicewire.simulators  # noqa: F401  (fills the registry with every protocol)
from aiohttp import WSMsgType, web
from voicewire.simulators.core.recorded import RecordedEndpoint
from voicewire.simulators.core.registry import REGISTRY
from voicewire.simulators.recording.cassette import Cassette, CloseRecord, RecordedExchange
from voicewire.simulators.recording.replay_match import CausalSchedule, ReplayMatcher, paced_body

__all__ = ["REPLAY_LOGGER", "CassetteReplayServer"]

REPLAY_LOGGER = "voicewire.replay"
"""The logger every mismatch is logged to (one line each, level WARNING)."""

LOG = logging.getLogger(REPLAY_LOGGER)

_CLOSE_REASON_BYTES = 123  # RFC 6455 §5.5: a control frame's payload is at most 125 bytes
_POLICY_VIOLATION = 1008
_MAX_BODY_BYTES = 64 * 1024 * 1024
# Hop-by-hop (and framing) headers the replayer's own HTTP stack writes.
_OWN_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "date",
        "server",
        "upgrade",
    }
)


def _cut_reason(text: str) -> str:
    data = text.encode("utf-8")
    if len(data) <= _CLOSE_REASON_BYTES:
        return text
    return data[: _CLOSE_REASON_BYTES - 3].decode("utf-8", errors="ignore") + "..."


class CassetteReplayServer:
    """Serves a cassette on ``host:port`` (0: a free port); see the module docstring. It
    accepts any credentials (the cassette holds none). ``rewind``: an endpoint whose recorded
    exchanges have all answered plays again from its first (see :class:`ReplayMatcher`)."""

    def __init__(
        self,
        cassette: Cassette,
        *,
        time_scale: float = 1.0,
        rewind: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if not time_scale >= 0:
            raise ValueError(f"time_scale must be >= 0, got {time_scale}")
        self.cassette = cassette
        self.time_scale = time_scale
        self.host = host
        self.port = port
        self.mismatches: list[str] = []
        self.endpoints: list[RecordedEndpoint] = [found for _, found in REGISTRY.recorded()]
        self._matcher = ReplayMatcher(cassette, self.endpoints, rewind=rewind)
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()

    @property
    def rewind(self) -> bool:
        """Whether an endpoint played out plays again from its start."""
        return self._matcher.rewind

    @property
    def base_url(self) -> str:
        """``http://host:port`` (once started)."""
        return f"http://{self.host}:{self.port}"

    def holdings(self) -> str:
        """What the cassette holds, per endpoint."""
        return self._matcher.holdings()

    async def start(self) -> CassetteReplayServer:
        """Listen; returns self."""
        app = web.Application(client_max_size=_MAX_BODY_BYTES)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=0.1
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """Close every session and stop listening."""
        for socket in list(self._sockets):
            await socket.close(code=1001, message=b"the replayer is stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> CassetteReplayServer:
        return await self.start()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.stop()

    def _mismatch(self, text: str) -> None:
        self.mismatches.append(text)
        LOG.warning("cassette mismatch: %s", text)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        endpoint = self._matcher.endpoint_for(request.method, request.path)
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        if upgrade and endpoint is not None and endpoint.websocket:
            return await self._session(request, endpoint)
        body = await request.read()
        match = self._matcher.match_http(
            request.method,
            request.path,
            request.rel_url.raw_query_string,
            body,
            authorization="Authorization" in request.headers,
        )
        if match.exchange is None:
            return self._error(match.status, match.error or "no recorded exchange matches")
        return await self._answer(request, match.exchange)

    def _error(self, status: int, text: str) -> web.Response:
        self._mismatch(text)
        kind = "cassette_mismatch" if status == 400 else "unauthorized"
        return web.json_response(
            {"error": {"message": text, "type": kind, "code": status}}, status=status
        )

    @staticmethod
    def _cut(request: web.Request) -> None:
        if request.transport is not None:
            request.transport.abort()

    async def _answer(self, request: web.Request, exchange: RecordedExchange) -> web.StreamResponse:
        recorded = exchange.response
        if recorded is None:  # the upstream never answered: neither does the replay
            self._cut(request)
            return web.Response(status=502)
        response = web.StreamResponse(status=recorded.status, reason=recorded.reason or None)
        for name, value in recorded.headers.items():
            if name not in _OWN_HEADERS:
                response.headers[name] = value
        pieces = paced_body(exchange, self.time_scale)
        whole = exchange.end is not None and exchange.end.outcome == "complete"
        if whole and len(pieces) <= 1:
            response.content_length = sum(len(data) for _, data in pieces)
        await response.prepare(request)
        started = time.monotonic()
        for due, data in pieces:
            wait = started + due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            await response.write(data)
        if not whole:
            # The recording's connection broke mid-body (or the recording stopped): so does
            # the replay's, after the last recorded piece.
            self._cut(request)
            return response
        await response.write_eof()
        return response

    async def _session(
        self, request: web.Request, endpoint: RecordedEndpoint
    ) -> web.StreamResponse:
        pick = self._matcher.pick_session(endpoint, request.path, request.rel_url.raw_query_string)
        if pick.error is not None:
            return await self._refuse_session(request, pick.error)
        exchange = pick.exchange
        if exchange is not None and (exchange.response is None or exchange.response.status != 101):
            return await self._answer(request, exchange)
        socket = web.WebSocketResponse(autoping=True, max_msg_size=_MAX_BODY_BYTES)
        await socket.prepare(request)
        self._sockets.add(socket)
        try:
            await self._play(request, socket, endpoint, exchange)
        except (ConnectionError, asyncio.TimeoutError) as error:
            LOG.info("replayed session ended: %s", error)
        finally:
            self._sockets.discard(socket)
            if not socket.closed:
                await socket.close()
        return socket

    async def _refuse_session(self, request: web.Request, text: str) -> web.StreamResponse:
        # Accept, then close with the reason: a client sees a close reason, not a bare 400.
        self._mismatch(text)
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.close(code=_POLICY_VIOLATION, message=_cut_reason(text).encode("utf-8"))
        return socket

    async def _play(
        self,
        request: web.Request,
        socket: web.WebSocketResponse,
        endpoint: RecordedEndpoint,
        exchange: RecordedExchange | None,
    ) -> None:
        start = time.monotonic()
        first: tuple[str | bytes, float] | None = None
        if exchange is None:
            message = await socket.receive()
            payload = _payload(message)
            if payload is None:
                return  # the client left before saying anything
            first = (payload, time.monotonic())
            pick = self._matcher.pick_by_first_message(
                endpoint, request.path, request.rel_url.raw_query_string, payload
            )
            if pick.error is not None or pick.exchange is None:
                await self._violation(socket, pick.error or "no recorded session matches")
                return
            exchange = pick.exchange
        schedule = CausalSchedule(exchange, endpoint, self.time_scale, start)
        changed = asyncio.Event()
        client_closed = asyncio.Event()
        violation: list[str] = []

        def take(payload: str | bytes, at: float) -> None:
            difference = schedule.client_message(payload, at)
            if difference is not None and not violation:
                where = f"exchange {exchange.x}" + (
                    f" (line {exchange.line})" if exchange.line is not None else ""
                )
                violation.append(
                    f"session to {request.path} differs from the cassette's {where}: {difference}"
                )
            changed.set()

        async def read() -> None:
            try:
                while True:
                    message = await socket.receive()
                    payload = _payload(message)
                    if payload is None:
                        if message.type in (WSMsgType.PING, WSMsgType.PONG):
                            continue
                        break
                    take(payload, time.monotonic())
            finally:
                client_closed.set()
                changed.set()

        if first is not None:
            take(*first)
        reader = asyncio.create_task(read())
        try:
            await self._drive(request, socket, schedule, changed, client_closed, violation)
        finally:
            if not reader.done():
                reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    async def _drive(
        self,
        request: web.Request,
        socket: web.WebSocketResponse,
        schedule: CausalSchedule,
        changed: asyncio.Event,
        client_closed: asyncio.Event,
        violation: list[str],
    ) -> None:
        while True:
            if violation:
                await self._violation(socket, violation[0])
                return
            step = schedule.head
            if step is None:
                break
            due = schedule.due()
            now = time.monotonic()
            if due is None or due > now:
                if client_closed.is_set() and due is None:
                    return  # the client left early: nothing more to replay
                changed.clear()
                timeout = None if due is None else due - now
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(changed.wait(), timeout)
                continue
            if step.kind == "client_close":
                break
            if step.kind == "close":
                assert isinstance(step.record, CloseRecord)
                code = step.record.code if step.record.code is not None else 1000
                await socket.close(code=code, message=step.record.reason.encode("utf-8"))
                return
            if socket.closed:
                return
            payload = schedule.outgoing(step)
            if isinstance(payload, str):
                await socket.send_str(payload)
            else:
                await socket.send_bytes(payload)
            schedule.done(time.monotonic())
        end = schedule.exchange.end
        if end is not None and end.outcome == "upstream_gone":
            self._cut(request)
            return
        # The recording is played out: read (and ignore) whatever else the client sends until
        # it closes, unless a mismatch shows up first.
        while not client_closed.is_set():
            changed.clear()
            await changed.wait()
            if violation:
                await self._violation(socket, violation[0])
                return

    async def _violation(self, socket: web.WebSocketResponse, text: str) -> None:
        self._mismatch(text)
        await socket.close(code=_POLICY_VIOLATION, message=_cut_reason(text).encode("utf-8"))


def _payload(message: Any) -> str | bytes | None:
    if message.type == WSMsgType.TEXT:
        return str(message.data)
    if message.type == WSMsgType.BINARY:
        return bytes(message.data)
    return None
