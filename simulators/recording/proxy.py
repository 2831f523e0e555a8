"""The recording proxy: clients point at it, it forwards every request to the upstream (a
provider, or a voicewire simulator standing in for one), streams the answers back unchanged
and writes what crossed the wire to a cassette.

::

    async with RecordingProxy("https://agent-gateway.livekit.cloud", "session.jsonl") as proxy:
        llm = LLM(model, base_url=proxy.base_url + "/v1", ...)

Generic: which endpoint a request belongs to, how its answer is cut into records and how much
audio a client message carries come from the protocols' registered
:class:`~voicewire.simulators.core.recorded.RecordedEndpoint`\\ s; a path no protocol owns is
forwarded and recorded too (its answer as one ``body``).

- A request is recorded (headers and query redacted, the bearer token's claims kept) before it
  is forwarded; the upstream is asked for ``Accept-Encoding: identity`` so recorded bodies are
  plain. With ``resign``, a ``Bearer`` token is replaced by a fresh one minted from the
  provider's credentials (the client's own claims are what the cassette keeps); any other
  ``Authorization`` (an Inworld ``Basic`` key) goes through untouched.
- An HTTP answer goes back as it arrives, chunk by chunk, and is cut into records as the
  endpoint frames it: one per SSE event, one per NDJSON line, one ``body`` for a JSON answer, a
  non-2xx one or an unknown endpoint's; bytes after the last whole frame end as a ``body``.
- A WebSocket upgrade is made upstream first; the client's upgrade is accepted only once the
  upstream accepted (a refusal reaches the client with the upstream's status). Then both
  directions are pumped at once, each message recorded before it is forwarded, text as text,
  binary as binary; a close frame from either side is recorded and passed on with its code and
  reason.
- A peer that misbehaves or vanishes ends its own exchange's record (``client_gone``,
  ``upstream_gone``, ``upstream_refused``); the proxy keeps serving the others.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Literal

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from voicewire.reference.auth import InferenceCredentials
from voicewire.simulators.core.recorded import (
    AudioMeter,
    RecordedEndpoint,
    recorded_endpoint_for,
)
from voicewire.simulators.core.registry import REGISTRY
from voicewire.simulators.recording.cassette import CassetteWriter
from voicewire.simulators.recording.redaction import (
    REDACTION_RULES,
    redact_headers,
    redact_query,
)
from yarl import URL

__all__ = ["RecordingProxy"]

# RFC 9110 §7.6.1: headers that describe one hop, never forwarded (plus those a new connection
# makes afresh: Host, Content-Length).
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
# A WebSocket handshake's own headers: each leg negotiates its own (aiohttp makes them).
_HANDSHAKE = frozenset(
    {
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
        "sec-websocket-accept",
    }
)
_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}
_MAX_REQUEST_BODY = 64 * 1024 * 1024
_CLOSE_GOING_AWAY = 1001

Side = Literal["client", "server"]
BodyKind = Literal["sse", "ndjson", "body"]


def _upstream_url(upstream: str) -> URL:
    """The upstream as an HTTP(S) base URL; ``ValueError`` naming what is wrong."""
    url = URL(upstream)
    if url.scheme not in _SCHEMES or not url.host:
        raise ValueError(
            f"upstream {upstream!r} is not an http(s):// or ws(s):// URL with a host "
            "(e.g. https://agent-gateway.livekit.cloud)"
        )
    if url.query_string or url.fragment:
        raise ValueError(f"upstream {upstream!r}: a base URL has no query or fragment")
    return url.with_scheme(_SCHEMES[url.scheme])


def _connection_named(headers: CIMultiDict[str]) -> set[str]:
    """The headers a ``Connection`` header names: hop-by-hop too."""
    named: set[str] = set()
    for value in headers.getall("Connection", []):
        named.update(token.strip().lower() for token in value.split(",") if token.strip())
    return named


def _end_to_end(headers: CIMultiDict[str], *, websocket: bool = False) -> CIMultiDict[str]:
    drop = _HOP_BY_HOP | _connection_named(headers)
    if websocket:
        drop |= _HANDSHAKE
    return CIMultiDict((name, value) for name, value in headers.items() if name.lower() not in drop)


class _Splitter:
    """Cuts a body into records as it arrives: SSE events (up to and including the blank line
    ending each), NDJSON lines (with their newline), or nothing until the end (``body``)."""

    def __init__(self, kind: BodyKind) -> None:
        self.kind = kind
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[bytes]:
        self._buffer += chunk
        pieces: list[bytes] = []
        while True:
            end = self._frame_end()
            if end is None:
                return pieces
            pieces.append(bytes(self._buffer[:end]))
            del self._buffer[:end]

    def rest(self) -> bytes:
        """What is left after the last whole frame (the whole body of an unframed answer)."""
        rest = bytes(self._buffer)
        self._buffer.clear()
        return rest

    def _frame_end(self) -> int | None:
        if self.kind == "ndjson":
            index = self._buffer.find(b"\n")
            return None if index < 0 else index + 1
        if self.kind == "sse":
            ends = [
                index + len(mark)
                for mark in (b"\n\n", b"\r\n\r\n")
                if (index := self._buffer.find(mark)) >= 0
            ]
            return min(ends) if ends else None
        return None


@dataclass
class _Session:
    """One WebSocket session being pumped: who closed it, who vanished."""

    x: int
    closed_by: Side | None = None
    close_code: int = 1000
    close_reason: str = ""
    vanished: list[Side] = field(default_factory=list)
    stopped: bool = False


def _error_response(status: int, message: str) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "voicewire_record_proxy"}}, status=status
    )


class RecordingProxy:
    """A recording proxy to ``upstream`` writing the cassette ``out`` (see the module
    docstring). ``port`` 0 takes a free one; ``audio_sidecar`` keeps large message bytes in a
    sidecar file beside the cassette; ``resign`` re-signs LiveKit bearer tokens with these
    credentials."""

    def __init__(
        self,
        upstream: str,
        out: str | os.PathLike[str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        audio_sidecar: bool = False,
        resign: InferenceCredentials | None = None,
    ) -> None:
        self.upstream = upstream
        self._base = _upstream_url(upstream)
        self.out = Path(out)
        self._host = host
        self._port = port
        self._audio_sidecar = audio_sidecar
        self._resign = resign
        # The registry is filled as the protocols' packages are imported.
        import voicewire.simulators  # noqa: F401

        registered = REGISTRY.recorded()
        self._endpoints = [endpoint for _, endpoint in registered]
        self._protocol_of = {id(endpoint): name for name, endpoint in registered}
        self._protocols = sorted({name for name, _ in registered})
        self._writer: CassetteWriter | None = None
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._sockets: set[tuple[web.WebSocketResponse, aiohttp.ClientWebSocketResponse]] = set()
        self._sessions: dict[int, _Session] = {}
        self.port: int | None = None
        self.exchanges = 0
        """How many exchanges were recorded so far."""

    @property
    def base_url(self) -> str:
        """``http://host:port``: where clients point instead of the upstream."""
        if self.port is None:
            raise RuntimeError("the recording proxy is not started")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    async def start(self) -> RecordingProxy:
        """Open the cassette, bind and start serving; returns the proxy."""
        app = web.Application(client_max_size=_MAX_REQUEST_BODY)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]
        self._client = aiohttp.ClientSession(
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            # Only what the client sent goes upstream: no aiohttp defaults added to it.
            skip_auto_headers=("User-Agent", "Content-Type", "Accept"),
            connector=aiohttp.TCPConnector(limit=0),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10.0),
        )
        try:
            self._writer = CassetteWriter(
                self.out,
                protocols=self._protocols,
                upstream=self.upstream,
                redaction=REDACTION_RULES,
                audio_sidecar=self._audio_sidecar,
            )
        except BaseException:
            await self.stop()
            raise
        return self

    async def stop(self) -> None:
        """Stop serving: open WebSocket sessions are closed (1001) and ended in the cassette,
        then the cassette is closed."""
        for session in self._sessions.values():
            session.stopped = True
        for client_ws, upstream_ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await upstream_ws.close(code=_CLOSE_GOING_AWAY, message=b"recorder stopping")
            with contextlib.suppress(Exception):
                await client_ws.close(code=_CLOSE_GOING_AWAY, message=b"recorder stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._writer is not None:
            self._writer.close()

    async def __aenter__(self) -> RecordingProxy:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- one request --------------------------------------------------------------------------

    def _target(self, request: web.Request) -> URL:
        # The request's path and query exactly as sent (LiveKit's model=deepgram/nova-3 keeps
        # its "/"): nothing re-quoted.
        raw = self._base.raw_path.rstrip("/") + request.rel_url.raw_path
        if request.rel_url.raw_query_string:
            raw += "?" + request.rel_url.raw_query_string
        return URL(str(self._base.origin()) + raw, encoded=True)

    def _forwarded_headers(self, request: web.Request, *, websocket: bool) -> CIMultiDict[str]:
        headers = _end_to_end(CIMultiDict(request.headers), websocket=websocket)
        headers.popall("Accept-Encoding", None)
        headers["Accept-Encoding"] = "identity"
        authorization = headers.get("Authorization", "")
        scheme, _, _ = authorization.partition(" ")
        if self._resign is not None and scheme.lower() == "bearer":
            headers["Authorization"] = f"Bearer {self._resign.access_token()}"
        return headers

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        assert self._writer is not None
        writer = self._writer
        endpoint = recorded_endpoint_for(self._endpoints, request.method, request.path)
        websocket = (
            request.method == "GET" and request.headers.get("Upgrade", "").lower() == "websocket"
        )
        body = b"" if websocket else await request.read()
        headers, token = redact_headers(request.headers.items())
        fields: dict[str, object] = {
            "protocol": None if endpoint is None else self._protocol_of[id(endpoint)],
            "endpoint": None if endpoint is None else endpoint.endpoint,
            "method": request.method,
            "path": request.rel_url.raw_path,
            "query": redact_query(request.rel_url.raw_query_string),
            "headers": headers,
            "websocket": websocket,
            "token": token,
        }
        if body:
            try:
                fields["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                fields["body_b64"] = base64.b64encode(body).decode("ascii")
        x = writer.open_exchange(fields)
        self.exchanges += 1
        if websocket:
            return await self._websocket(request, x, endpoint)
        return await self._http(request, x, endpoint, body)

    # -- HTTP ---------------------------------------------------------------------------------

    async def _http(
        self,
        request: web.Request,
        x: int,
        endpoint: RecordedEndpoint | None,
        body: bytes,
    ) -> web.StreamResponse:
        assert self._writer is not None and self._client is not None
        writer = self._writer
        try:
            upstream = await self._client.request(
                request.method,
                self._target(request),
                headers=self._forwarded_headers(request, websocket=False),
                data=body if body else None,
                allow_redirects=False,
            )
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as error:
            return self._unreachable(x, error)
        async with upstream:
            kind: BodyKind = "body"
            framed = endpoint is not None and endpoint.framing in ("sse", "ndjson")
            if framed and 200 <= upstream.status < 300:
                kind = endpoint.framing  # type: ignore[union-attr,assignment]
            splitter = _Splitter(kind)
            answer_headers = _end_to_end(CIMultiDict(upstream.headers))
            recorded_headers, _ = redact_headers(answer_headers.items())
            writer.response(x, upstream.status, upstream.reason or "", recorded_headers)
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            response.headers.extend(answer_headers)
            if "Content-Length" in upstream.headers:
                response.content_length = int(upstream.headers["Content-Length"])
            outcome: Literal["complete", "client_gone", "upstream_gone"] = "complete"
            detail: str | None = None
            try:
                await response.prepare(request)
            except (ConnectionError, RuntimeError) as error:
                outcome, detail = "client_gone", str(error) or type(error).__name__
            client_here = outcome == "complete"
            try:
                async for chunk in upstream.content.iter_any():
                    for piece in splitter.feed(chunk):
                        writer.body(x, kind, piece)
                    if client_here:
                        try:
                            await response.write(chunk)
                        except (ConnectionError, RuntimeError) as error:
                            client_here = False
                            outcome, detail = "client_gone", str(error) or type(error).__name__
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as error:
                outcome = "upstream_gone"
                detail = f"the upstream's body broke off: {error or type(error).__name__}"
            rest = splitter.rest()
            if rest:
                writer.body(x, "body", rest)
            writer.end(x, outcome, detail)
            if outcome == "upstream_gone" and request.transport is not None:
                # The client must see the answer break off too, not a whole short one.
                request.transport.close()
            elif client_here:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await response.write_eof()
            return response

    def _unreachable(self, x: int, error: BaseException) -> web.Response:
        assert self._writer is not None
        reason = str(error) or type(error).__name__
        message = f"voicewire record: the upstream {self.upstream} cannot be reached: {reason}"
        response = _error_response(502, message)
        headers, _ = redact_headers(response.headers.items())
        self._writer.response(x, 502, "Bad Gateway", headers)
        self._writer.body(x, "body", response.body)  # type: ignore[arg-type]
        self._writer.end(x, "upstream_refused", reason)
        return response

    # -- WebSocket ----------------------------------------------------------------------------

    async def _websocket(
        self, request: web.Request, x: int, endpoint: RecordedEndpoint | None
    ) -> web.StreamResponse:
        assert self._writer is not None and self._client is not None
        writer = self._writer
        offered = [
            protocol.strip()
            for value in request.headers.getall("Sec-WebSocket-Protocol", [])
            for protocol in value.split(",")
            if protocol.strip()
        ]
        try:
            upstream_ws = await self._client.ws_connect(
                self._target(request),
                headers=self._forwarded_headers(request, websocket=True),
                protocols=offered,
                autoclose=False,
                autoping=True,
                max_msg_size=0,
                compress=0,
                timeout=aiohttp.ClientWSTimeout(ws_close=5.0),
            )
        except aiohttp.WSServerHandshakeError as refusal:
            status = refusal.status if refusal.status >= 400 else 502
            message = (
                f"voicewire record: the upstream {self.upstream} refused the WebSocket upgrade "
                f"({refusal.status} {refusal.message})"
            )
            response = _error_response(status, message)
            headers, _ = redact_headers(response.headers.items())
            writer.response(x, status, response.reason, headers)
            writer.body(x, "body", response.body)  # type: ignore[arg-type]
            writer.end(x, "upstream_refused", f"{refusal.status} {refusal.message}")
            return response
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as error:
            return self._unreachable(x, error)
        client_ws = web.WebSocketResponse(
            protocols=(upstream_ws.protocol,) if upstream_ws.protocol else (),
            autoclose=False,
            autoping=True,
            max_msg_size=0,
            compress=False,
        )
        try:
            await client_ws.prepare(request)
        except (ConnectionError, RuntimeError, web.HTTPException) as error:
            await upstream_ws.close(code=_CLOSE_GOING_AWAY)
            writer.end(x, "client_gone", f"the client's upgrade failed: {error}")
            return client_ws
        writer.response(x, 101, "Switching Protocols", {})
        meter = endpoint.audio_meter() if endpoint is not None and endpoint.audio_meter else None
        session = _Session(x)
        pair = (client_ws, upstream_ws)
        self._sessions[x] = session
        self._sockets.add(pair)
        try:
            await asyncio.gather(
                self._pump_client(session, client_ws, upstream_ws, meter),
                self._pump_upstream(session, upstream_ws, client_ws),
            )
        finally:
            self._sockets.discard(pair)
            self._sessions.pop(x, None)
            with contextlib.suppress(Exception):
                await upstream_ws.close(code=_CLOSE_GOING_AWAY)
            if session.closed_by is not None:
                writer.end(x, "complete")
            elif session.stopped:
                writer.end(x, "upstream_gone", "the recorder stopped")
            else:
                first = session.vanished[0] if session.vanished else "client"
                writer.end(
                    x,
                    "client_gone" if first == "client" else "upstream_gone",
                    f"the {'client' if first == 'client' else 'upstream'} went away without "
                    "a close frame",
                )
        return client_ws

    async def _pump_client(
        self,
        session: _Session,
        client_ws: web.WebSocketResponse,
        upstream_ws: aiohttp.ClientWebSocketResponse,
        meter: AudioMeter | None,
    ) -> None:
        assert self._writer is not None
        while True:
            message = await client_ws.receive()
            if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                seconds = meter.client_message(message.data) if meter is not None else 0.0
                self._writer.message(session.x, "client", message.data, seconds)
                if not await _send(upstream_ws, message):
                    await self._vanished(session, "server", client_ws)
                    return
            elif message.type is aiohttp.WSMsgType.CLOSE:
                await self._closed(session, "client", message, client_ws, upstream_ws)
                return
            else:  # CLOSING, CLOSED, ERROR: the socket is gone (or we are closing it)
                await self._vanished(session, "client", upstream_ws)
                return

    async def _pump_upstream(
        self,
        session: _Session,
        upstream_ws: aiohttp.ClientWebSocketResponse,
        client_ws: web.WebSocketResponse,
    ) -> None:
        assert self._writer is not None
        while True:
            message = await upstream_ws.receive()
            if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                self._writer.message(session.x, "server", message.data)
                if not await _send(client_ws, message):
                    await self._vanished(session, "client", upstream_ws)
                    return
            elif message.type is aiohttp.WSMsgType.CLOSE:
                await self._closed(session, "server", message, upstream_ws, client_ws)
                return
            else:
                await self._vanished(session, "server", client_ws)
                return

    async def _closed(
        self,
        session: _Session,
        side: Side,
        message: aiohttp.WSMessage,
        own: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
        other: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
    ) -> None:
        """``side`` sent a close frame: record it and pass it on with its code and reason."""
        assert self._writer is not None
        code = message.data if isinstance(message.data, int) else None
        reason = message.extra if isinstance(message.extra, str) else ""
        if session.closed_by is None and not session.vanished:
            session.closed_by = side
            session.close_code, session.close_reason = code or 1000, reason
            self._writer.close_frame(session.x, side, code, reason)
        with contextlib.suppress(Exception):
            await other.close(code=code or 1000, message=reason.encode("utf-8"))
        # The closing side is owed the close handshake's echo, with its own code.
        with contextlib.suppress(Exception):
            await own.close(code=code or 1000, message=reason.encode("utf-8"))

    async def _vanished(
        self,
        session: _Session,
        side: Side,
        other: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
    ) -> None:
        """``side`` went away without a close frame (or we are closing it): close the other."""
        if session.closed_by is None and not session.stopped:
            session.vanished.append(side)
        with contextlib.suppress(Exception):
            await other.close(code=_CLOSE_GOING_AWAY)


async def _send(
    ws: web.WebSocketResponse | aiohttp.ClientWebSocketResponse, message: aiohttp.WSMessage
) -> bool:
    """Forward one message as it came (text as text, binary as binary); False if ``ws`` is
    gone."""
    try:
        if message.type is aiohttp.WSMsgType.TEXT:
            await ws.send_str(message.data)
        else:
            await ws.send_bytes(message.data)
    except (ConnectionError, RuntimeError, aiohttp.ClientError):
        return False
    return True
