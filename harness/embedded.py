"""The harness's own event loop and the simulator embedded in every conformance run.

Suite cases are plain synchronous pytest functions (so hypothesis drives them like any other
test, and a shrunk example can be replayed by calling the case body once). Everything that
does I/O — the simulator, the IUT adapter, raw probes — lives on one :class:`BackgroundLoop`
per process; a case submits coroutines to it with :meth:`BackgroundLoop.run`. Under
``pytest-xdist`` each worker process has its own loop and its own simulator, so workers never
share state.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from voicewire.harness.iut import Target
from voicewire.simulators.core.limits import Limits
from voicewire.simulators.core.socket_server import SimulatorServer
from voicewire.simulators.scenario import Scenario

__all__ = ["EMBEDDED_LIMITS", "BackgroundLoop", "EmbeddedSimulator", "HarnessTimeout"]

EMBEDDED_LIMITS = Limits(head_timeout=1.0, body_timeout=1.5, idle_timeout=2.5)
"""The embedded simulator's limits: voicewire's defaults but for short deadlines, so the
server-direction robustness families see slow and idle connections closed within seconds
instead of waiting out the defaults (10 s, 30 s, 75 s). Every client the harness drives sends
a request's head and body at once, so the head and body deadlines never touch it; a pooled
connection idle for longer than 2.5 s is closed and the client opens another. The idle
deadline stays clear of the waits clients make between requests on one connection (2.0 s
between retries by default, SPEC §2.4), so a retry never races the server's close."""

T = TypeVar("T")


class HarnessTimeout(TimeoutError):
    """An operation on the background loop did not finish within the harness's limit."""


class BackgroundLoop:
    """An asyncio event loop running in a daemon thread."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="voicewire-harness-loop", daemon=True
        )
        self._thread.start()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def run(self, coro: Coroutine[Any, Any, T], *, timeout: float = 60.0) -> T:
        """Run ``coro`` on the loop and return its result (or raise its exception).

        Past ``timeout`` seconds the coroutine is cancelled and :class:`HarnessTimeout` raised,
        so a hung implementation fails one case instead of the whole run.
        """
        if threading.current_thread() is self._thread:
            raise RuntimeError("BackgroundLoop.run called from its own loop thread")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise HarnessTimeout(f"no result within {timeout:g} s") from None

    def close(self) -> None:
        """Stop the loop and its thread (after cancelling whatever still runs on it)."""
        if not self._loop.is_running():
            return

        async def cancel_rest() -> None:
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel_rest(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


class EmbeddedSimulator:
    """A :class:`SimulatorServer` on a :class:`BackgroundLoop`, with one API key per session.

    :meth:`session` loads a scenario under a fresh name and key, so a client that cannot send
    the ``X-Voicewire-Scenario`` header still reaches its own script, and the journal of each
    session can be read apart from the others'.
    """

    def __init__(self, loop: BackgroundLoop, *, seed: int = 0) -> None:
        self._loop = loop
        self.server = SimulatorServer(seed=seed, limits=EMBEDDED_LIMITS)
        loop.run(self.server.start())
        # As a server under test it is reached with its own key, which Basic-key protocols
        # present as such.
        self.server.add_basic_key(self.server.api_key)
        self._ids = itertools.count(1)

    @property
    def base_url(self) -> str:
        """The gateway-style base URL, ``http://127.0.0.1:<port>/v1``."""
        return self.server.base_url + "/v1"

    @property
    def limits(self) -> Limits:
        """What the simulator accepts from its peers (:data:`EMBEDDED_LIMITS`)."""
        return self.server.state.limits

    def server_target(self) -> Target:
        """The simulator as a server under test (the reference server)."""
        return Target(
            base_url=self.base_url, api_key=self.server.api_key, api_secret=self.server.api_secret
        )

    def session(self, scenario: Scenario | None = None) -> Target:
        """Load ``scenario`` (default: echo mode) under a fresh name and API key (accepted both
        as the issuer of signed tokens and as a ``Basic`` key); return the
        :class:`~voicewire.harness.iut.Target` that reaches it (protocols extend it with their
        own fields, e.g. ``LLMTarget.at(session, model=...)``)."""
        number = next(self._ids)
        base = scenario if scenario is not None else Scenario.echo()
        name = f"{base.name}.{number}"[-100:]
        loaded = base.model_copy(update={"name": name})
        api_key = f"vw-case-{number}"
        api_secret = secrets.token_hex(32)

        async def install() -> None:
            self.server.load(loaded)
            self.server.add_credential(api_key, api_secret, scenario=name)
            # Protocols whose clients present the key itself (``Basic <key>``) reach the
            # same session with the same key.
            self.server.add_basic_key(api_key, scenario=name)

        self._loop.run(install())
        return Target(base_url=self.base_url, api_key=api_key, api_secret=api_secret)

    def journal(self, target: Target | str) -> list[dict[str, Any]]:
        """Journal entries of one session (by its target or scenario name)."""
        name = target if isinstance(target, str) else self.scenario_name(target)

        async def read() -> list[dict[str, Any]]:
            return self.server.journal.entries(scenario=name)

        return self._loop.run(read())

    def requests(self, target: Target) -> list[dict[str, Any]]:
        """The HTTP requests the session received: ``{method, path, headers, body}`` each,
        in arrival order (the ``Authorization`` header is redacted in the journal)."""
        return [e["data"] for e in self.journal(target) if e["kind"] == "http_request"]

    def scenario_name(self, target: Target) -> str:
        """The scenario a session's key is pinned to."""
        name = self.server.credentials.scenario_for_key.get(target.api_key)
        if name is None:
            raise KeyError(f"{target.api_key!r} is not a session key of this simulator")
        return name

    def close(self) -> None:
        self._loop.run(self.server.stop())
