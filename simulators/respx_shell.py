"""The respx shell: the LLM simulator in-process, respx hands httpx (and so openai) requests to
it, no socket.

::

    async with respx_llm(scenario) as sim:          # or a plain ``with``
        llm = LLM("openai/gpt-4.1-mini", base_url=sim.base_url,
                  api_key=sim.api_key, api_secret=sim.api_secret)
        ...
        sim.journal.entries()

Requests run through the same core as the socket simulator, on a
:class:`~voicewire.simulators.core.state.SimulatorState`: the same admission (token, scenario
selection), the same decision (:func:`~voicewire.simulators.llm.decide_completion`: request
checks, attempt counting, rule matching, faults, lazy chunk plans) and the same executor walk
(:func:`~voicewire.simulators.core.actions.walk`: journaling and write coalescing), so a
scenario gives the same bytes, the same rule decisions and the same attempt numbers either
way, and a journal of the same shape.

Both HTTP stacks are intercepted: httpx (through respx's httpcore mocker) and, when installed,
httpx2 (the fork openai >= 3 uses by default; a small respx mocker for httpcore2 is registered
here). Routing, while active:

- ``POST {base_url}/chat/completions`` and ``GET {base_url}/models`` are answered in-process
  (401 per AUTH-4 first, as on the socket);
- any other URL under ``base_url`` gets a JSON 404 (405 for a known path with another
  method), so nothing ever reaches a real gateway by accident;
- every other URL **passes through** to the network untouched, so socket simulators (STT, TTS)
  and local services keep working in the same test. Because of this catch-all, respx routers
  entered *after* this one never see a request: enter your own ``respx.mock`` first.

Differences from a socket, by construction: there is no connection, so connect timeouts and
connection reuse do not exist. What a socket would make the client raise is raised at the
transport level and mapped by the client's own transport, as for a socket: the read timeout
the client set is enforced on scripted silence (ttft, inter-chunk, ``stall``, ``delay``:
``ReadTimeout`` once the silence exceeds it), and a ``disconnect`` fault in ``reset`` mode
raises ``RemoteProtocolError`` with httpx's words for a connection cut mid-body (``close``
mode simply ends the body). A whole (non-streamed) answer's ttft wait happens after the
response headers rather than before them.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpcore
import httpx
import respx
from multidict import CIMultiDict
from respx.mocks import HTTPCoreMocker
from voicewire.reference.auth import DEFAULT_INFERENCE_URL
from voicewire.reference.errors import error_body
from voicewire.reference.llm.wire import models_payload
from voicewire.simulators.core.actions import Action, Disconnect, Sleep, Write, walk
from voicewire.simulators.core.clock import Clock
from voicewire.simulators.core.credentials import Credentials
from voicewire.simulators.core.limits import Limits
from voicewire.simulators.core.raw import RAW_WRITE_KIND, RawAnswer
from voicewire.simulators.core.state import (
    Exchange,
    Refusal,
    SimulatorHandle,
    SimulatorState,
)
from voicewire.simulators.llm import (
    EVENT_KIND,
    MODELS,
    CompletionAnswer,
    ErrorAnswer,
    decide_completion,
)
from voicewire.simulators.scenario import Scenario

__all__ = ["RespxLLM", "respx_llm"]

_RESET_MESSAGE = (
    # httpx's own words for a peer that vanished mid-body, so both shells read alike.
    "peer closed connection without sending complete message body (incomplete chunked read)"
)


@dataclass(frozen=True)
class _Flavour:
    """One HTTP stack respx intercepts: the respx mocker that patches it and the error classes
    its transport maps to client errors (so a simulated reset reads like a real one)."""

    mocker: str
    read_timeout: type[Exception]
    remote_protocol_error: type[Exception]


_FLAVOURS = [_Flavour("httpcore", httpcore.ReadTimeout, httpcore.RemoteProtocolError)]

try:  # openai >= 3 talks through httpx2/httpcore2, a fork respx does not patch by itself.
    import httpcore2
except ImportError:  # pragma: no cover - older openai releases: httpx only
    pass
else:

    class _HTTPCore2Mocker(HTTPCoreMocker):
        """respx's httpcore mocker pointed at httpcore2's connection classes."""

        name = "voicewire-httpcore2"
        targets = [  # noqa: RUF012 - respx's own class attribute shape
            "httpcore2._sync.connection.HTTPConnection",
            "httpcore2._sync.connection_pool.ConnectionPool",
            "httpcore2._sync.http_proxy.HTTPProxy",
            "httpcore2._async.connection.AsyncHTTPConnection",
            "httpcore2._async.connection_pool.AsyncConnectionPool",
            "httpcore2._async.http_proxy.AsyncHTTPProxy",
        ]

        @classmethod
        def from_sync_httpx_response(
            cls, httpx_response: httpx.Response, target: Any, **kwargs: Any
        ) -> Any:
            return httpcore2.Response(
                status=httpx_response.status_code,
                headers=httpx_response.headers.raw,
                content=httpx_response.stream,
                extensions=httpx_response.extensions,
            )

    _FLAVOURS.append(
        _Flavour(_HTTPCore2Mocker.name, httpcore2.ReadTimeout, httpcore2.RemoteProtocolError)
    )


def _json_response(
    status: int, body: Any, headers: Mapping[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(
        status,
        headers={"Content-Type": "application/json", **(headers or {})},
        content=json.dumps(body).encode(),
    )


def _raw_headers(request: httpx.Request) -> CIMultiDict[str]:
    # The names as the client wrote them (httpx.Headers.items() lower-cases them), so the
    # journal reads like the socket simulator's; looked up case-insensitively, as on a socket.
    return CIMultiDict(
        (name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw
    )


class _ActionStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body that performs what the core's walk yields: batches are handed over,
    waits slept, a reset raised. Iterable from sync and async clients alike; the timing logic
    is shared."""

    def __init__(
        self,
        actions: Iterable[Action],
        *,
        request: httpx.Request,
        flavour: _Flavour,
        exchange: Exchange | None,
        owner: Exchange | None = None,
        write_kind: str = EVENT_KIND,
    ) -> None:
        self._actions = actions
        self._write_kind = write_kind
        self._flavour = flavour
        self._exchange = exchange
        # The exchange whose session ends with this body (closed once it is read or closed).
        self._owner = owner
        timeouts = request.extensions.get("timeout") or {}
        self._read_timeout: float | None = timeouts.get("read")
        self._started = False
        self._finished = False

    def _gone(self, why: str) -> None:
        if self._exchange is not None:
            self._exchange.note("client_gone", why)

    def _end(self) -> None:
        self._finished = True
        if self._owner is not None:
            self._owner.close()

    def _steps(self) -> Iterator[bytes | float]:
        """Bytes to hand over, or seconds to wait; raises what the client would see."""
        if self._started:
            # Like a socket, a body is read once: a second pass (openai drains the stream
            # after [DONE]) finds nothing more.
            return
        self._started = True
        silence = 0.0
        for step in walk(self._actions, journal=self._exchange, write_kind=self._write_kind):
            if isinstance(step, bytes):
                silence = 0.0
                yield step
            elif isinstance(step, Disconnect):
                self._end()
                if step.mode == "reset":
                    raise self._flavour.remote_protocol_error(_RESET_MESSAGE)
                return
            else:
                limit = self._read_timeout
                if limit is not None and silence + step > limit:
                    yield max(0.0, limit - silence)
                    self._end()
                    self._gone("read timeout")
                    raise self._flavour.read_timeout(f"no byte for {limit:g} s (read timeout)")
                silence += step
                yield step
        self._end()

    def __iter__(self) -> Iterator[bytes]:
        for step in self._steps():
            if isinstance(step, bytes):
                yield step
            elif step > 0:
                time.sleep(step)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for step in self._steps():
            if isinstance(step, bytes):
                yield step
            elif step > 0:
                await asyncio.sleep(step)

    def close(self) -> None:
        if not self._finished:
            started = self._started
            self._end()
            if started:
                self._gone("closed by the client")

    async def aclose(self) -> None:
        self.close()


class RespxLLM(SimulatorHandle):
    """The in-process LLM simulator; build it with :func:`respx_llm`.

    ``state`` is the same :class:`~voicewire.simulators.core.state.SimulatorState` a socket
    simulator has (scenarios, attempt counters, per-key usage, clock and seed), ``journal`` its
    journal. ``routers`` are the
    underlying ``respx.MockRouter`` objects, one per HTTP stack (httpx, and httpx2 when
    installed), whose ``calls`` list the requests each saw while active.
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        base_url: str = DEFAULT_INFERENCE_URL,
        credentials: Credentials | None = None,
        time_scale: float | None = None,
        seed: int = 0,
        clock: Clock | None = None,
        limits: Limits | None = None,
    ) -> None:
        if scenario is not None and not isinstance(scenario, Scenario):
            raise TypeError(f"scenario must be a Scenario or None, got {type(scenario).__name__}")
        if credentials is not None and not isinstance(credentials, Credentials):
            raise TypeError(
                f"credentials must be Credentials or None, got {type(credentials).__name__}"
            )
        if time_scale is not None:
            if isinstance(time_scale, bool) or not isinstance(time_scale, (int, float)):
                raise TypeError(f"time_scale must be a number, got {type(time_scale).__name__}")
            if not time_scale >= 0:
                raise ValueError(f"time_scale must be >= 0, got {time_scale!r}")
        if not isinstance(base_url, str):
            raise TypeError(f"base_url must be a str, got {type(base_url).__name__}")
        try:
            url = httpx.URL(base_url)
        except httpx.InvalidURL as exc:
            raise ValueError(f"base_url is not a valid URL: {base_url!r} ({exc})") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url must be an absolute http(s) URL, got {base_url!r}")
        if url.query or url.fragment:
            raise ValueError(f"base_url must have no query or fragment, got {base_url!r}")

        self.credentials = credentials or Credentials()
        self.state = SimulatorState(
            scenario or Scenario.echo(),
            self.credentials,
            time_scale=time_scale,
            seed=seed,
            clock=clock,
            # No connection holds a session in-process: a body the client never reads or
            # closes would hold its key's slot for good, so sessions are not limited here.
            limits=limits if limits is not None else Limits(max_sessions_per_key=None),
        )
        self.base_url = base_url.rstrip("/")
        self._base_path = url.path.rstrip("/")
        self.routers: list[respx.MockRouter] = []
        for flavour in _FLAVOURS:
            router = respx.MockRouter(
                assert_all_called=False, assert_all_mocked=True, using=flavour.mocker
            )
            router.route(
                scheme=url.scheme,
                host=url.host,
                port=url.port or (443 if url.scheme == "https" else 80),
                path__regex=rf"^{re.escape(self._base_path)}(/.*)?$",
            ).mock(side_effect=self._side_effect(flavour))
            router.route().pass_through()
            self.routers.append(router)
        self._active = False

    # -- activation ----------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """Whether requests are being intercepted."""
        return self._active

    def start(self) -> RespxLLM:
        """Start intercepting (respx patches httpcore, so clients made earlier are covered)."""
        if self._active:
            raise RuntimeError("this respx_llm simulator is already active")
        for router in self.routers:
            router.start()
        self._active = True
        return self

    def stop(self) -> None:
        """Stop intercepting (the state and journal stay readable)."""
        if self._active:
            self._active = False
            for router in self.routers:
                router.stop()

    def __enter__(self) -> RespxLLM:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> RespxLLM:
        return self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the shell -----------------------------------------------------------------------------

    def _side_effect(self, flavour: _Flavour) -> Callable[[httpx.Request], httpx.Response]:
        def side_effect(request: httpx.Request) -> httpx.Response:
            return self._handle(request, flavour)

        return side_effect

    def _handle(self, request: httpx.Request, flavour: _Flavour) -> httpx.Response:
        # Runs synchronously inside respx for sync and async clients alike: every wait lives in
        # the response body, which the client's own loop (or thread) drives.
        path = request.url.path
        endpoint = path[len(self._base_path) :]
        allowed = {"/chat/completions": "POST", "/models": "GET"}
        if endpoint not in allowed:
            return _json_response(
                404, error_body(404, f"no endpoint {request.method} {path}", "not_found")
            )
        if request.method != allowed[endpoint]:
            return _json_response(
                405,
                error_body(405, f"{path} accepts {allowed[endpoint]} only", "method_not_allowed"),
                {"Allow": allowed[endpoint]},
            )
        if endpoint == "/models":
            return self._models(request)
        return self._chat_completions(request, flavour)

    def _chat_completions(self, request: httpx.Request, flavour: _Flavour) -> httpx.Response:
        headers = _raw_headers(request)
        try:
            exchange = self.state.admit(headers)
        except Refusal as refusal:
            return _json_response(refusal.status, refusal.body, refusal.headers)
        streaming = False
        try:
            limit = self.state.limits.max_body_bytes
            body = request.content
            if len(body) > limit:
                message = f"request body of {len(body)} bytes exceeds the limit of {limit} bytes"
                exchange.frame("out", "http_error", {"status": 413, "message": message})
                return _json_response(413, error_body(413, message, "invalid_request_error"))
            answer = decide_completion(
                exchange, method=request.method, path=request.url.path, headers=headers, body=body
            )
            if isinstance(answer, ErrorAnswer):
                return _json_response(answer.status, answer.body, answer.headers)
            if isinstance(answer, RawAnswer):
                streaming = True
                stream = _ActionStream(
                    answer.actions,
                    request=request,
                    flavour=flavour,
                    exchange=exchange,
                    owner=exchange,
                    write_kind=RAW_WRITE_KIND,
                )
                return httpx.Response(answer.status, headers=answer.headers, stream=stream)
            streaming = answer.stream
            return self._completion(request, flavour, exchange, answer)
        finally:
            if not streaming:  # a stream's session ends with its body (see _ActionStream)
                exchange.close()

    def _completion(
        self,
        request: httpx.Request,
        flavour: _Flavour,
        exchange: Exchange,
        answer: CompletionAnswer,
    ) -> httpx.Response:
        if not answer.stream:
            encoded = json.dumps(answer.payload).encode()
            body = self.state.journal.body(encoded)
            exchange.frame("out", "http_response", {"status": 200, "body": body})
            # The ttft wait goes into the body: the side effect itself must not block. It is
            # not journaled, as the socket shell does not journal it either.
            actions: list[Action] = [Sleep(answer.delay, "ttft")] if answer.delay else []
            actions.append(Write(encoded))
            return httpx.Response(
                200,
                headers={"Content-Type": "application/json"},
                stream=_ActionStream(actions, request=request, flavour=flavour, exchange=None),
            )
        exchange.frame("out", "http_response", {"status": 200, "content_type": "text/event-stream"})
        return httpx.Response(
            200,
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"},
            stream=_ActionStream(
                answer.actions, request=request, flavour=flavour, exchange=exchange, owner=exchange
            ),
        )

    def _models(self, request: httpx.Request) -> httpx.Response:
        try:
            self.state.api_key_of(_raw_headers(request))
        except Refusal as refusal:
            return _json_response(refusal.status, refusal.body, refusal.headers)
        return _json_response(200, models_payload(MODELS))


def respx_llm(
    scenario: Scenario | None = None,
    *,
    base_url: str = DEFAULT_INFERENCE_URL,
    credentials: Credentials | None = None,
    time_scale: float | None = None,
    seed: int = 0,
    clock: Clock | None = None,
    limits: Limits | None = None,
) -> RespxLLM:
    """The LLM simulator in-process for httpx/openai code, as a (sync or async) context manager.

    ``scenario`` (default: echo mode), ``credentials`` (default: the dev key and secret),
    ``time_scale`` (overrides every scenario's own), ``seed`` and ``clock`` mean what they mean
    for :class:`~voicewire.simulators.core.socket_server.SimulatorServer`; ``base_url`` is where
    the client is pointed (default: the LiveKit inference gateway, so unmodified client code is
    intercepted). ``limits`` bound bodies, JSON depth, pattern time and the journal as on a
    socket (sessions per key are not limited in-process unless ``limits`` says so).
    """
    return RespxLLM(
        scenario,
        base_url=base_url,
        credentials=credentials,
        time_scale=time_scale,
        seed=seed,
        clock=clock,
        limits=limits,
    )
