"""Scriptable provider simulators: real aiohttp servers driven by scenarios."""

from voicewire.simulators.in_process import RespxLLM, respx_llm
from voicewire.simulators.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from voicewire.simulators.server import DEFAULT_API_KEY, DEFAULT_API_SECRET, Credentials, create_app
from voicewire.simulators.serving import SimulatorServer

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_API_SECRET",
    "Credentials",
    "RespxLLM",
    "Scenario",
    "ScenarioError",
    "SimulatorServer",
    "create_app",
    "load_scenario",
    "parse_scenario",
    "respx_llm",
]
