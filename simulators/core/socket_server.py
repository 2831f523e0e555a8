"""Running a simulator on a real loopback socket: ``SimulatorServer``.

::

    async with SimulatorServer(scenario) as sim:
        llm = LLM("openai/gpt-4.1-mini", base_url=sim.base_url + "/v1",
                  api_key=sim.api_key, api_secret=sim.api_secret)
"""

from __future__ import annotations

import ipaddress
from types import TracebackType

from aiohttp import web
from voicewire.simulators.core.app import STATE_KEY, create_app
from voicewire.simulators.core.clock import Clock
from voicewire.simulators.core.credentials import Credentials
from voicewire.simulators.core.state import SimulatorHandle
from voicewire.simulators.scenario import Scenario

__all__ = ["SimulatorServer"]


class SimulatorServer(SimulatorHandle):
    """A simulator app bound to ``host:port`` (port 0: a free one), started with ``start()`` or
    ``async with``. Only loopback addresses are accepted: simulators never face a network.

    ``seed`` and ``clock`` (default: a fixed ``created``) make what it sends reproducible: two
    servers with the same seed and scenario send the same bytes.
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
    ) -> None:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise ValueError(f"host must be a loopback address, got {host!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an int in 0..65535, got {port!r}")
        self.credentials = credentials or Credentials()
        self.app = create_app(
            scenario, self.credentials, time_scale=time_scale, seed=seed, clock=clock
        )
        self.state = self.app[STATE_KEY]
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    @property
    def base_url(self) -> str:
        """``http://host:port`` (append ``/v1`` for the gateway-style base URL)."""
        if self.port is None:
            raise RuntimeError("the simulator is not started")
        return f"http://{self._host}:{self.port}"

    async def start(self) -> SimulatorServer:
        """Bind and start serving."""
        self._runner = web.AppRunner(self.app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        self.port = self._runner.addresses[0][1]
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
