"""Scriptable provider simulators: real aiohttp servers driven by scenarios."""

from simulators.in_process import RespxLLM, respx_llm
from simulators.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from simulators.server import DEFAULT_API_KEY, DEFAULT_API_SECRET, Credentials, create_app
from simulators.serving import SimulatorServer

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
