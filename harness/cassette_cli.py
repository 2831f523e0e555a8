"""``voicewire cassette``: check a cassette, and carry its HTTP exchanges to and from VCR.py.

- ``voicewire cassette check FILE``: load it (every line checked) and say what it holds in
  one paragraph: format, protocols, exchanges per endpoint, whether every exchange ended, a
  cut last line.
- ``voicewire cassette export --vcr OUT.yaml FILE [--base-url URL]``: its HTTP exchanges as a
  VCR.py cassette (WebSocket sessions cannot be: they are counted on stderr).
- ``voicewire cassette import VCR.yaml --out FILE``: a VCR.py cassette as a voicewire one.

A bad cassette, a bad VCR.py file or a missing base URL is one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from voicewire.harness.vcr_cassette import VCRCassetteError, export_vcr, import_vcr, write_vcr
from voicewire.simulators.recording.cassette import Cassette, CassetteError, load_cassette

__all__ = ["add_cassette_parser", "describe_cassette", "run_cassette"]

EXIT_BAD_INPUT = 2


def add_cassette_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``cassette`` sub-command and its actions."""
    parser = subparsers.add_parser(
        "cassette",
        help="check a recorded cassette; export to / import from VCR.py cassettes",
        description="Check a voicewire cassette, or carry its HTTP exchanges (LLM SSE, Inworld "
        "NDJSON synthesis and voices) to and from VCR.py's YAML cassettes.",
    )
    actions = parser.add_subparsers(dest="cassette_action", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check",
        help="load a cassette and summarise it",
        description="Load a cassette, checking every line, and print what it holds. Exit 2 "
        "naming the line and the problem when it cannot be loaded.",
    )
    check.add_argument("file", metavar="FILE", help="the voicewire cassette")
    export = actions.add_parser(
        "export",
        help="write a cassette's HTTP exchanges as a VCR.py cassette",
        description="Write the HTTP exchanges of a voicewire cassette as a VCR.py cassette "
        "(YAML, format version 1). WebSocket sessions and exchanges that did not end whole "
        "cannot be expressed there: they are skipped and counted on stderr.",
    )
    export.add_argument("file", metavar="FILE", help="the voicewire cassette")
    export.add_argument(
        "--vcr", required=True, metavar="OUT.yaml", help="the VCR.py cassette to write"
    )
    export.add_argument(
        "--base-url",
        metavar="URL",
        help="the scheme, host and port (and any base path) each request's path is appended "
        "to (default: the upstream the cassette was recorded from)",
    )
    imported = actions.add_parser(
        "import",
        help="write a VCR.py cassette as a voicewire cassette",
        description="Write a VCR.py cassette as a voicewire cassette: each interaction one "
        "exchange, its answer cut into SSE events / NDJSON lines by its endpoint, every record "
        "at t=0 (VCR.py keeps no timing), secrets redacted.",
    )
    imported.add_argument("vcr", metavar="VCR.yaml", help="the VCR.py cassette")
    imported.add_argument(
        "--out", required=True, metavar="FILE", help="the voicewire cassette to write"
    )


def describe_cassette(cassette: Cassette) -> str:
    """One paragraph on what a loaded cassette holds."""
    header = cassette.header
    counts = Counter(
        exchange.request.endpoint
        or f"unknown endpoint {exchange.request.method} {exchange.request.path}"
        for exchange in cassette.exchanges
    )
    per_endpoint = ", ".join(f"{name} {count}" for name, count in counts.items()) or "none"
    unfinished = [e.x for e in cassette.exchanges if not e.complete]
    broken = [
        f"{e.x} ({e.end.outcome})"
        for e in cassette.exchanges
        if e.end is not None and e.end.outcome != "complete"
    ]
    source = f" from {header.upstream}" if header.upstream else ""
    sentences = [
        f"{cassette.path}: {header.format}, recorded by voicewire {header.voicewire} on "
        f"{header.created}{source}.",
        f"Protocols: {', '.join(header.protocols) or 'none'}.",
        f"{len(cassette.exchanges)} exchange(s): {per_endpoint}.",
    ]
    if unfinished:
        sentences.append(
            "Not complete: the recording stopped before exchange(s) "
            + ", ".join(map(str, unfinished))
            + " ended."
        )
    else:
        sentences.append("Complete: every exchange ended.")
    if broken:
        sentences.append("Ended broken: " + ", ".join(broken) + ".")
    if cassette.cut_tail is not None:
        sentences.append(
            f"Cut tail: line {cassette.cut_tail} was being written when the recording stopped "
            "and was dropped."
        )
    else:
        sentences.append("No cut tail.")
    if header.audio_sidecar:
        sentences.append(f"Audio sidecar: {header.audio_sidecar}.")
    return " ".join(sentences)


def run_cassette(args: argparse.Namespace) -> int:
    """Run ``voicewire cassette ACTION``; returns the exit code."""
    prog = f"voicewire cassette {args.cassette_action}"
    try:
        if args.cassette_action == "check":
            print(describe_cassette(load_cassette(args.file)))
            return 0
        if args.cassette_action == "export":
            return _export(prog, args)
        count = import_vcr(args.vcr, args.out)
        print(f"{prog}: wrote {args.out}: {count} exchange(s) from {args.vcr}")
        return 0
    except (CassetteError, VCRCassetteError) as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _export(prog: str, args: argparse.Namespace) -> int:
    cassette = load_cassette(args.file)
    base_url = args.base_url or cassette.header.upstream
    if not base_url:
        print(
            f"{prog}: {args.file} names no upstream (it was not recorded through a proxy): "
            "give the server's address with --base-url URL",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    result = export_vcr(cassette, base_url)
    write_vcr(result.document, args.vcr)
    if result.skipped:
        skipped = ", ".join(f"{name} {count}" for name, count in result.skipped_endpoints.items())
        print(
            f"{prog}: skipped {result.skipped} exchange(s) VCR.py cannot express "
            f"({result.skipped_websocket} WebSocket session(s), {result.skipped_unfinished} "
            f"that did not end whole): {skipped}",
            file=sys.stderr,
        )
    print(f"{prog}: wrote {args.vcr}: {result.exported} interaction(s) at {base_url}")
    return 0
