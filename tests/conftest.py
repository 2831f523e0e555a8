"""Fixtures shared by voicewire's own tests: real simulators on loopback sockets.

The project's own hypothesis profile: voicewire's ``ci`` under CI (``CI`` set), else ``dev``;
``VOICEWIRE_HYPOTHESIS_PROFILE`` overrides both (the plugin reads it too).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from voicewire.harness.profiles import load_profile
from voicewire.reference.llm.inference import LLM
from voicewire.simulators import Scenario, SimulatorServer


def _profile(environ: os._Environ[str]) -> str:
    explicit = environ.get("VOICEWIRE_HYPOTHESIS_PROFILE")
    if explicit:
        return explicit
    ci = environ.get("CI", "").strip().lower()
    return "ci" if ci not in ("", "0", "false", "no") else "dev"


load_profile(_profile(os.environ))

StartSimulator = Callable[..., Awaitable[SimulatorServer]]


@pytest.fixture
async def start_simulator() -> AsyncIterator[StartSimulator]:
    """``await start_simulator(scenario, **kwargs)`` starts a SimulatorServer on a free port;
    every server started is stopped after the test."""
    servers: list[SimulatorServer] = []

    async def start(scenario: Scenario | None = None, **kwargs: Any) -> SimulatorServer:
        server = await SimulatorServer(scenario, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


@pytest.fixture
async def make_llm() -> AsyncIterator[Callable[..., LLM]]:
    """``make_llm(sim, model=..., **kwargs)``: a reference LLM pointed at a simulator's ``/v1``
    (closed after the test). Retry waits default to a 0.01 time scale."""
    clients: list[LLM] = []

    def make(sim: SimulatorServer, model: str = "openai/gpt-4.1-mini", **kwargs: Any) -> LLM:
        kwargs.setdefault("time_scale", 0.01)
        llm = LLM(
            model,
            base_url=sim.base_url + "/v1",
            api_key=sim.api_key,
            api_secret=sim.api_secret,
            **kwargs,
        )
        clients.append(llm)
        return llm

    yield make
    for llm in clients:
        await llm.aclose()
