"""``voicewire record``: a recording proxy to a provider (or a simulator) until Ctrl-C /
SIGTERM; every exchange that goes through it lands in a cassette."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import TextIO

from voicewire.reference.auth import InferenceCredentials
from voicewire.simulators.core.socket_server import is_loopback
from voicewire.simulators.recording.proxy import RecordingProxy

__all__ = ["add_record_parser", "run_record"]


def add_record_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``record`` sub-command."""
    parser = subparsers.add_parser(
        "record",
        help="a recording proxy: forward to a provider and write what crossed the wire to a "
        "cassette",
        description="Listen on a loopback port, forward every request and WebSocket session to "
        "--upstream unchanged, and record them to --out (a cassette, JSON lines; secrets "
        "redacted) until Ctrl-C or SIGTERM. Point the clients at the printed URL in place of "
        "the provider's.",
    )
    parser.add_argument(
        "--upstream",
        required=True,
        metavar="URL",
        help="the provider's base URL (http(s):// or ws(s)://), e.g. "
        "https://agent-gateway.livekit.cloud or https://api.inworld.ai",
    )
    parser.add_argument(
        "--out", required=True, metavar="FILE", help="the cassette to write (replaced if it exists)"
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
        "--audio-sidecar",
        action="store_true",
        help="keep large WebSocket messages (audio) in FILE.audio beside the cassette",
    )
    parser.add_argument(
        "--resign",
        action="store_true",
        help="replace each LiveKit bearer token with one signed by the provider credentials "
        "of the environment (LIVEKIT_INFERENCE_API_KEY / LIVEKIT_API_KEY and "
        "LIVEKIT_INFERENCE_API_SECRET / LIVEKIT_API_SECRET); Inworld keys pass through as sent",
    )


def _network_warning(host: str) -> str:
    return (
        f"voicewire record: warning: {host} is not a loopback address: the proxy faces the "
        "network: anyone who reaches this port reaches the upstream through it (with the "
        "provider's credentials, under --resign), and is recorded.\n"
    )


async def _record(proxy: RecordingProxy, out: TextIO) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await proxy.start()
    out.write(
        f"voicewire record: forwarding {proxy.base_url} -> {proxy.upstream}; "
        f"recording to {proxy.out}\n"
    )
    out.flush()
    try:
        await stop.wait()
    finally:
        await proxy.stop()
        out.write(f"voicewire record: stopped; {proxy.exchanges} exchange(s) in {proxy.out}\n")
        out.flush()


def run_record(
    args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run ``voicewire record``; returns the exit code (2: bad input, one line naming it).
    ``out`` and ``err`` default to the standard streams of the moment."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    folder = Path(args.out).parent
    if not folder.is_dir():
        err.write(f"voicewire record: --out {args.out}: the folder {folder} does not exist\n")
        return 2
    if Path(args.out).is_dir():
        err.write(f"voicewire record: --out {args.out} is a folder, not a file\n")
        return 2
    resign: InferenceCredentials | None = None
    if args.resign:
        try:
            resign = InferenceCredentials.resolve()
        except ValueError as error:
            err.write(f"voicewire record: --resign: {error}\n")
            return 2
    try:
        proxy = RecordingProxy(
            args.upstream,
            args.out,
            host=args.host,
            port=args.port,
            audio_sidecar=args.audio_sidecar,
            resign=resign,
        )
    except ValueError as error:
        err.write(f"voicewire record: --upstream: {error}\n")
        return 2
    if not is_loopback(args.host):
        err.write(_network_warning(args.host))
        err.flush()
    try:
        asyncio.run(_record(proxy, out))
    except OSError as error:  # the port is taken, the cassette cannot be written
        where = error.filename or f"{args.host}:{args.port}"
        err.write(f"voicewire record: cannot start on {where}: {error.strerror or error}\n")
        return 2
    return 0
