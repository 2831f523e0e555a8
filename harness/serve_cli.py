"""``voicewire serve``: run the simulators on a loopback port until Ctrl-C / SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import TextIO

from voicewire.simulators import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    Credentials,
    Scenario,
    ScenarioError,
    SimulatorServer,
    load_scenario,
)

__all__ = ["add_serve_parser", "run_serve"]


def _time_scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def add_serve_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``serve`` sub-command."""
    parser = subparsers.add_parser(
        "serve",
        help="run the provider simulators on a loopback port",
        description="Run the provider simulators until Ctrl-C or SIGTERM. Without --scenario "
        "the LLM endpoint answers in echo mode.",
    )
    parser.add_argument("--scenario", metavar="FILE", help="scenario file (.yaml, .yml, .json)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=0, help="port (default 0: a free port, printed at start)"
    )
    parser.add_argument(
        "--time-scale",
        type=_time_scale,
        default=None,
        metavar="X",
        help="multiply every scripted delay by X (overrides the scenario's time_scale)",
    )
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="accepted API key")
    parser.add_argument("--api-secret", default=DEFAULT_API_SECRET, help="its secret")


def _banner(server: SimulatorServer, scenario: Scenario, source: str | None) -> str:
    origin = f"from {source}, {len(scenario.rules)} rule(s)" if source else "echo mode"
    base = server.base_url
    return (
        f"voicewire simulator listening on {base}\n"
        f"  LLM base URL: {base}/v1  (also served under {base}/)\n"
        f"  API key:      {server.api_key}\n"
        f"  API secret:   {server.api_secret}\n"
        f"  scenario:     {scenario.name} ({origin})\n"
        f"  control API:  {base}/__voicewire/\n"
        f"  for livekit-agents: export LIVEKIT_INFERENCE_URL={base}/v1 "
        f"LIVEKIT_INFERENCE_API_KEY={server.api_key} "
        f"LIVEKIT_INFERENCE_API_SECRET={server.api_secret}\n"
        "Press Ctrl-C to stop.\n"
    )


async def _serve(
    server: SimulatorServer, scenario: Scenario, source: str | None, out: TextIO
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    out.write(_banner(server, scenario, source))
    out.flush()
    try:
        await stop.wait()
    finally:
        await server.stop()
        out.write("voicewire simulator stopped\n")
        out.flush()


def run_serve(
    args: argparse.Namespace, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    """Run ``voicewire serve``; returns the exit code. A bad scenario file never starts a server."""
    try:
        scenario = load_scenario(args.scenario) if args.scenario else Scenario.echo()
        credentials = Credentials(keys={args.api_key: args.api_secret})
        server = SimulatorServer(
            scenario, credentials, host=args.host, port=args.port, time_scale=args.time_scale
        )
    except (ScenarioError, ValueError) as exc:
        err.write(f"voicewire serve: {exc}\n")
        return 2
    try:
        asyncio.run(_serve(server, scenario, args.scenario, out))
    except OSError as exc:  # e.g. the port is taken
        err.write(f"voicewire serve: cannot listen on {args.host}:{args.port}: {exc.strerror}\n")
        return 2
    return 0
