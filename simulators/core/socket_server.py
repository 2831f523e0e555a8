"""Running a simulator on a real socket: ``SimulatorServer``.

::

    async with SimulatorServer(scenario) as sim:
        llm = LLM("openai/gpt-4.1-mini", base_url=sim.base_url + "/v1",
                  api_key=sim.api_key, api_secret=sim.api_secret)
"""

from __future__ import annotations

import gc
import ipaddress
from types import TracebackType

from aiohttp import web
from voicewire.simulators.core.app import STATE_KEY, control_token_of, create_app
from voicewire.simulators.core.clock import Clock
from voicewire.simulators.core.connection import SimulatorRunner
from voicewire.simulators.core.credentials import Credentials
from voicewire.simulators.core.limits import Limits
from voicewire.simulators.core.state import SimulatorHandle
from voicewire.simulators.scenario import Scenario

__all__ = ["SimulatorServer", "is_loopback", "settle_heap"]


def settle_heap() -> None:
    """For a process that exists to run a simulator (``voicewire serve``, the bench's):
    collect once, then move everything alive (modules, pydantic schemas, the scenario) out of
    the garbage collector's reach (:func:`gc.freeze`). A full collection stops the event loop
    while it walks every tracked object; after this it walks only what the sessions made, so
    its pause no longer grows with what was imported. Not for a process that embeds a
    simulator beside other work: frozen objects are never collected."""
    gc.collect()
    gc.freeze()


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) only reaches this machine."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class SimulatorServer(SimulatorHandle):
    """A simulator app bound to ``host:port`` (port 0: a free one), started with ``start()`` or
    ``async with``.

    Only loopback addresses are accepted unless ``allow_non_loopback=True``: a simulator
    facing a network answers anyone who reaches it (its protocol endpoints take the
    development credentials by default), and only its control API stays guarded, by
    :attr:`control_token` (random unless given) and its Host check.

    ``seed`` and ``clock`` (default: a fixed ``created``) make what it sends reproducible: two
    servers with the same seed and scenario send the same bytes. ``limits`` (default
    :class:`~voicewire.simulators.core.limits.Limits`) bound what peers may send and hold.
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        credentials: Credentials | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        time_scale: float | None = None,
        seed: int = 0,
        clock: Clock | None = None,
        limits: Limits | None = None,
        control_token: str | None = None,
        allow_non_loopback: bool = False,
    ) -> None:
        if not isinstance(host, str) or not host:
            raise ValueError(f"host must be an address or a host name, got {host!r}")
        if not allow_non_loopback and not is_loopback(host):
            raise ValueError(
                f"host must be a loopback address, got {host!r} "
                "(allow_non_loopback=True to face a network)"
            )
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an int in 0..65535, got {port!r}")
        self.credentials = credentials or Credentials()
        self.app = create_app(
            scenario,
            self.credentials,
            time_scale=time_scale,
            seed=seed,
            clock=clock,
            limits=limits,
            control_token=control_token,
            host_names=() if _is_address(host) else (host,),
        )
        self.state = self.app[STATE_KEY]
        self._host = host
        self._port = port
        self._runner: SimulatorRunner | None = None
        self.port: int | None = None

    @property
    def host(self) -> str:
        """The address the server listens on."""
        return self._host

    @property
    def control_token(self) -> str:
        """The token the control API wants (``Authorization: Bearer <token>`` or
        ``X-Voicewire-Control-Token: <token>``)."""
        return control_token_of(self.app)

    @property
    def control_headers(self) -> dict[str, str]:
        """Headers that authenticate a request to the control API."""
        return {"Authorization": f"Bearer {self.control_token}"}

    @property
    def open_connections(self) -> int:
        """How many client connections are open now (0 when not started)."""
        if self._runner is None or self._runner.server is None:
            return 0
        return len(self._runner.server.connections)

    @property
    def base_url(self) -> str:
        """``http://host:port`` (append ``/v1`` for the gateway-style base URL)."""
        if self.port is None:
            raise RuntimeError("the simulator is not started")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    async def start(self) -> SimulatorServer:
        """Bind and start serving."""
        runner = SimulatorRunner(self.app, state=self.state)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """Stop serving and close open connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SimulatorServer:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
