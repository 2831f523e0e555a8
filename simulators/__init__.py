"""Scriptable provider simulators: real aiohttp servers (or respx, in-process) driven by
scenarios.

One protocol-agnostic core (:mod:`.core`: state and admission, limits, journal, clock, actions
and their executor, app factory and control API, protocol registry, socket server) and one
module per protocol (:mod:`.llm`, :mod:`.stt`), registered in :mod:`.protocols`, which this
package imports so the registry is filled whenever the simulators are used.
"""

from voicewire.simulators import protocols  # noqa: F401  (fills the protocol registry)
from voicewire.simulators.core.app import create_app
from voicewire.simulators.core.clock import SimulatorClock, WallClock
from voicewire.simulators.core.credentials import DEFAULT_API_KEY, DEFAULT_API_SECRET, Credentials
from voicewire.simulators.core.journal import Journal, WireFrame, WireNote
from voicewire.simulators.core.limits import Limits
from voicewire.simulators.core.registry import REGISTRY, SimulatedProtocol
from voicewire.simulators.core.socket_server import SimulatorServer
from voicewire.simulators.respx_shell import RespxLLM, respx_llm
from voicewire.simulators.scenario import (
    EndpointSpec,
    Scenario,
    ScenarioError,
    build_scenario,
    load_scenario,
    parse_scenario,
)

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_API_SECRET",
    "REGISTRY",
    "Credentials",
    "EndpointSpec",
    "Journal",
    "Limits",
    "RespxLLM",
    "Scenario",
    "ScenarioError",
    "SimulatedProtocol",
    "SimulatorClock",
    "SimulatorServer",
    "WallClock",
    "WireFrame",
    "WireNote",
    "build_scenario",
    "create_app",
    "load_scenario",
    "parse_scenario",
    "respx_llm",
]
