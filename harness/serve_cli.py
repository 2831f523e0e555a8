"""``voicewire serve``: run the simulators on a port until Ctrl-C / SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shlex
import signal
import sys
from collections.abc import Callable
from typing import Any, TextIO

from voicewire.simulators import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    Credentials,
    Limits,
    Scenario,
    ScenarioError,
    SimulatorServer,
    load_scenario,
)
from voicewire.simulators.core.credentials import DEFAULT_BASIC_KEY
from voicewire.simulators.core.socket_server import is_loopback, settle_heap
from voicewire.simulators.recording.cassette import CassetteError, load_cassette
from voicewire.simulators.recording.replay import REPLAY_LOGGER, CassetteReplayServer

__all__ = ["CONTROL_TOKEN_ENV", "add_serve_parser", "run_serve"]

CONTROL_TOKEN_ENV = "VOICEWIRE_CONTROL_TOKEN"
"""The environment variable that gives ``serve`` its control token (``--control-token`` wins)
and ``voicewire journal`` the token to send (``--token`` wins)."""

_DEFAULTS = Limits()


def _number(minimum: float, *, whole: bool = False, inclusive: bool = True) -> Callable[[str], Any]:
    """An argparse type: a number (a whole one if ``whole``) at least (or above) ``minimum``."""

    def parse(text: str) -> float | int:
        try:
            value: float | int = int(text) if whole else float(text)
        except ValueError:
            kind = "a whole number" if whole else "a number"
            raise argparse.ArgumentTypeError(f"not {kind}: {text!r}") from None
        if not (value >= minimum if inclusive else value > minimum):
            relation = ">=" if inclusive else ">"
            raise argparse.ArgumentTypeError(f"must be {relation} {minimum:g}, got {text}")
        return value

    return parse


def _inworld_key(text: str) -> str:
    """An argparse type: a key as a client sends it after ``Basic ``."""
    if not text or text != text.strip() or not text.isprintable():
        raise argparse.ArgumentTypeError(
            f"must be a non-empty key without spaces around it, got {text!r}"
        )
    return text


def add_serve_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``serve`` sub-command."""
    parser = subparsers.add_parser(
        "serve",
        help="run the provider simulators on a loopback port",
        description="Run the provider simulators until Ctrl-C or SIGTERM. Without --scenario "
        "the LLM endpoint answers in echo mode.",
    )
    parser.add_argument("--scenario", metavar="FILE", help="scenario file (.yaml, .yml, .json)")
    parser.add_argument(
        "--cassette",
        metavar="FILE",
        help="answer from a recorded cassette instead of scenarios: requests matched on endpoint, "
        "body and order (a mismatch is answered with the difference and logged), WebSocket "
        "sessions replayed causally, timing kept (scaled by --time-scale, default 1)",
    )
    parser.add_argument(
        "--rewind",
        action="store_true",
        help="with --cassette: once every recorded exchange of an endpoint has answered, play "
        "that endpoint's recording again from its start (a client run again gets the same "
        "answers; without it, a request beyond the recording is a mismatch)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1); an address beyond loopback faces the "
        "network: allowed, with a warning",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port (default 0: a free port, printed at start)"
    )
    parser.add_argument(
        "--time-scale",
        type=_number(0),
        default=None,
        metavar="X",
        help="multiply every scripted delay by X (overrides the scenario's time_scale; with "
        "--cassette, the recorded timing: 0 answers as fast as possible)",
    )
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="accepted API key")
    parser.add_argument("--api-secret", default=DEFAULT_API_SECRET, help="its secret")
    parser.add_argument(
        "--inworld-key",
        type=_inworld_key,
        default=DEFAULT_BASIC_KEY,
        metavar="KEY",
        help="accepted Inworld API key, sent by clients as 'Authorization: Basic <key>' "
        "verbatim (default: a development key, printed at start)",
    )
    parser.add_argument(
        "--control-token",
        default=None,
        metavar="TOKEN",
        help=f"the token the control API (/__voicewire/) wants (default: ${CONTROL_TOKEN_ENV} "
        "when set, else a random one; printed either way)",
    )
    limits = parser.add_argument_group("limits (SRV-4)")
    positive_int = _number(1, whole=True)
    seconds = _number(0, inclusive=False)
    limits.add_argument(
        "--max-body-bytes",
        type=positive_int,
        default=_DEFAULTS.max_body_bytes,
        metavar="N",
        help=f"largest request body, else 413 (default {_DEFAULTS.max_body_bytes})",
    )
    limits.add_argument(
        "--max-json-depth",
        type=positive_int,
        default=_DEFAULTS.max_json_depth,
        metavar="N",
        help=f"deepest JSON body, else 400 (default {_DEFAULTS.max_json_depth})",
    )
    limits.add_argument(
        "--max-sessions-per-key",
        type=_number(0, whole=True),
        default=_DEFAULTS.max_sessions_per_key,
        metavar="N",
        help="open requests per API key, else 429 with Retry-After; 0: no limit "
        f"(default {_DEFAULTS.max_sessions_per_key})",
    )
    limits.add_argument(
        "--journal-bytes",
        type=positive_int,
        default=_DEFAULTS.journal_bytes,
        metavar="N",
        help="bytes the journal keeps before dropping its oldest entries "
        f"(default {_DEFAULTS.journal_bytes})",
    )
    for flag, field, what in (
        ("--head-timeout", "head_timeout", "to complete a request head"),
        ("--body-timeout", "body_timeout", "to complete a request body, else 408"),
        ("--idle-timeout", "idle_timeout", "an idle connection is kept"),
    ):
        limits.add_argument(
            flag,
            type=seconds,
            default=getattr(_DEFAULTS, field),
            metavar="SECONDS",
            help=f"seconds {what} (default {getattr(_DEFAULTS, field):g})",
        )


def _limits(args: argparse.Namespace) -> Limits:
    return Limits(
        max_body_bytes=args.max_body_bytes,
        max_json_depth=args.max_json_depth,
        max_sessions_per_key=args.max_sessions_per_key or None,
        head_timeout=args.head_timeout,
        body_timeout=args.body_timeout,
        idle_timeout=args.idle_timeout,
        journal_bytes=args.journal_bytes,
    )


def _local_url(server: SimulatorServer) -> str:
    """The simulator's URL as a client on this machine reaches it: a wildcard address
    (0.0.0.0, ::) is no address to connect to, so its loopback stands in."""
    if server.host == "0.0.0.0":
        return f"http://127.0.0.1:{server.port}"
    if server.host == "::":
        return f"http://[::1]:{server.port}"
    return server.base_url


def _journal_command(server: SimulatorServer) -> str:
    return (
        f"voicewire journal --url {_local_url(server)} --token {shlex.quote(server.control_token)}"
    )


def _ws(url: str) -> str:
    """The WebSocket URL a livekit-agents client makes of an HTTP base URL: its first
    ``http`` becomes ``ws`` (so ``https`` becomes ``wss``)."""
    return url.replace("http", "ws", 1)


def _banner(server: SimulatorServer, scenario: Scenario, source: str | None) -> str:
    origin = f"from {source}, {len(scenario.rules)} rule(s)" if source else "echo mode"
    base = server.base_url
    limits = server.state.limits
    # The one Basic key serve was given (--inworld-key): the only one it accepts.
    (inworld_key,) = server.credentials.basic_keys
    sessions = limits.max_sessions_per_key or "no limit of"
    return (
        f"voicewire simulator listening on {base}\n"
        f"  LLM base URL: {base}/v1  (also served under {base}/)\n"
        f"  STT URL:      {_ws(base)}/v1/stt?model=<model>  (also served under {_ws(base)}/stt)\n"
        f"  TTS URL:      {_ws(base)}/v1/tts?model=<model>  (also served under {_ws(base)}/tts)\n"
        f"  Inworld:      base_url {base}/  ws_url {_ws(base)}/  (POST /tts/v1/voice:stream, "
        "GET tts/v1/voices, WebSockets /tts/v1/voice:streamBidirectional and "
        "stt/v1/transcribe:streamBidirectional)\n"
        f"  API key:      {server.api_key}\n"
        f"  API secret:   {server.api_secret}\n"
        f"  Inworld key:  {inworld_key}\n"
        f"  scenario:     {scenario.name} ({origin})\n"
        f"  control API:  {base}/__voicewire/  (its index needs no token)\n"
        f"  control token: {server.control_token}\n"
        "                (send 'Authorization: Bearer <token>' or "
        "'X-Voicewire-Control-Token: <token>')\n"
        f"  journal:      {_journal_command(server)}  (add --follow to keep reading)\n"
        f"  limits:       body {limits.max_body_bytes} bytes, JSON depth "
        f"{limits.max_json_depth}, {sessions} sessions per key; head {limits.head_timeout:g} s, "
        f"body {limits.body_timeout:g} s, idle {limits.idle_timeout:g} s\n"
        f"  for livekit-agents: export LIVEKIT_INFERENCE_URL={base}/v1 "
        f"LIVEKIT_INFERENCE_API_KEY={server.api_key} "
        f"LIVEKIT_INFERENCE_API_SECRET={server.api_secret}\n"
        f"  for livekit-plugins-inworld: export INWORLD_API_KEY={inworld_key}; "
        f'inworld.TTS(base_url="{base}/", ws_url="{_ws(base)}/", http_session=...), '
        f'inworld.STT(base_url="{base}/")\n'
        "Press Ctrl-C to stop.\n"
    )


def _network_warning(host: str) -> str:
    return (
        f"voicewire serve: warning: {host} is not a loopback address: the simulator faces the "
        "network. Anyone who reaches this port can call its protocol endpoints with the API "
        "key and secret printed below (the development ones unless --api-key/--api-secret "
        "say otherwise). Its control API (load scenarios, read every session's journal, "
        "reset) stays guarded by the control token printed below, which every control request "
        "but the index and /__voicewire/health must carry, and by a Host check; keep the "
        "token secret.\n"
    )


async def _serve(
    server: SimulatorServer, scenario: Scenario, source: str | None, out: TextIO
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    settle_heap()
    out.write(_banner(server, scenario, source))
    out.flush()
    try:
        await stop.wait()
    finally:
        await server.stop()
        out.write("voicewire simulator stopped\n")
        out.flush()


_REWIND = {
    True: "on (an endpoint played out plays again from its start)",
    False: "off (each recorded exchange answers once; --rewind to play them again)",
}


def _cassette_banner(server: CassetteReplayServer, source: str) -> str:
    base = server.base_url
    return (
        f"voicewire cassette replayer listening on {base}\n"
        f"  cassette:     {source}: {server.holdings()}\n"
        f"  time scale:   {server.time_scale:g}\n"
        f"  rewind:       {_REWIND[server.rewind]}\n"
        f"  point clients at it as at the simulator: LLM {base}/v1, STT {_ws(base)}/v1/stt, "
        f"TTS {_ws(base)}/v1/tts, Inworld {base}/ (any credentials: the cassette holds none)\n"
        "  mismatches are answered with the difference and logged here, one line each\n"
        "Press Ctrl-C to stop.\n"
    )


async def _serve_cassette(server: CassetteReplayServer, source: str, out: TextIO) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    out.write(_cassette_banner(server, source))
    out.flush()
    try:
        await stop.wait()
    finally:
        await server.stop()
        out.write("voicewire cassette replayer stopped\n")
        out.flush()


def _run_cassette(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.scenario:
        err.write("voicewire serve: --cassette and --scenario exclude each other: give one\n")
        return 2
    try:
        cassette = load_cassette(args.cassette)
        server = CassetteReplayServer(
            cassette,
            time_scale=1.0 if args.time_scale is None else args.time_scale,
            rewind=args.rewind,
            host=args.host,
            port=args.port,
        )
    except (CassetteError, ValueError) as exc:
        err.write(f"voicewire serve: {exc}\n")
        return 2
    if not is_loopback(args.host):
        err.write(
            f"voicewire serve: warning: {args.host} is not a loopback address: the cassette "
            "replayer faces the network and answers anyone with the recorded sessions\n"
        )
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("voicewire serve: %(message)s"))
    logger = logging.getLogger(REPLAY_LOGGER)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        asyncio.run(_serve_cassette(server, args.cassette, out))
    except OSError as exc:
        err.write(f"voicewire serve: cannot listen on {args.host}:{args.port}: {exc.strerror}\n")
        return 2
    finally:
        logger.removeHandler(handler)
    return 0


def run_serve(
    args: argparse.Namespace, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    """Run ``voicewire serve``; returns the exit code. A bad scenario file never starts a server."""
    if getattr(args, "cassette", None):
        return _run_cassette(args, out, err)
    if getattr(args, "rewind", False):
        err.write("voicewire serve: --rewind replays a cassette again: it needs --cassette FILE\n")
        return 2
    # An empty variable counts as unset, as an empty --control-token would not.
    control_token = args.control_token
    if control_token is None:
        control_token = os.environ.get(CONTROL_TOKEN_ENV) or None
    try:
        scenario = load_scenario(args.scenario) if args.scenario else Scenario.echo()
        credentials = Credentials(
            keys={args.api_key: args.api_secret}, basic_keys=frozenset({args.inworld_key})
        )
        server = SimulatorServer(
            scenario,
            credentials,
            host=args.host,
            port=args.port,
            time_scale=args.time_scale,
            limits=_limits(args),
            control_token=control_token,
            allow_non_loopback=True,
        )
    except (ScenarioError, ValueError) as exc:
        err.write(f"voicewire serve: {exc}\n")
        return 2
    if not is_loopback(args.host):
        err.write(_network_warning(args.host))
        err.flush()
    try:
        asyncio.run(_serve(server, scenario, args.scenario, out))
    except OSError as exc:  # e.g. the port is taken
        err.write(f"voicewire serve: cannot listen on {args.host}:{args.port}: {exc.strerror}\n")
        return 2
    return 0
