"""The ``voicewire`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from voicewire.harness.bench import add_bench_parser, run_bench
from voicewire.harness.cassette_cli import add_cassette_parser, run_cassette
from voicewire.harness.conformance_cli import add_conformance_parsers, run_list, run_run
from voicewire.harness.diff_cli import add_diff_parser, run_diff
from voicewire.harness.explain_cli import add_explain_parser, run_explain
from voicewire.harness.fuzz_cli import add_fuzz_parser, run_fuzz
from voicewire.harness.journal_cli import add_journal_parser, run_journal
from voicewire.harness.record_cli import add_record_parser, run_record
from voicewire.harness.scenario_cli import add_scenario_parser, run_scenario
from voicewire.harness.serve_cli import add_serve_parser, run_serve

_WHAT_EXISTS = """\
voicewire: conformance harness and provider simulator for voice-AI wire protocols.

Installed:
  voicewire run    the conformance suites against an implementation under test
                   (--iut reference | python:pkg.mod:factory | cmd:<command> | url:<base_url>),
                   with embedded simulators; console, JSON, JUnit and HTML reports
  voicewire list   the case catalog: SPEC IDs, capability, direction
  voicewire explain  a SPEC rule in full (LLM-TC-3), a section (2.4) or an area (llm)
  voicewire fuzz   the robustness families (hostile streams and messages to clients, hostile
                   requests and sessions to servers; LLM, STT, TTS, Inworld) at fuzzing depth:
                   outcome classes, and a replay command for every failure
  voicewire serve  the simulator: LLM (/chat/completions, /models), LiveKit STT (/stt) and
                   TTS (/tts), Inworld (/tts/v1/voice:stream, tts/v1/voices, the TTS and STT
                   WebSockets; --inworld-key), with scenarios, faults, a journal and a
                   control API
  voicewire record  a recording proxy: clients point at it, it forwards to the provider
                   (LiveKit tokens re-signed with --resign) and writes a cassette of every
                   request, SSE event, NDJSON line and WebSocket message, secrets redacted
  voicewire serve --cassette  answer from a cassette: requests matched on endpoint, body
                   and order, WebSocket sessions replayed causally, timing --time-scale
  voicewire run --cassette  the IUT plays a recording's client side; its events judged
                   against the reference's on the same recording, per SPEC rule
  voicewire diff   N-way stream equivalence of event logs and cassettes (--tolerance)
  voicewire cassette  check a cassette; export to / import from VCR.py cassettes
  voicewire scenario from-cassette  a recording as an editable scenario file
  voicewire journal  a running simulator's journal, one line per frame (--follow, --json)
  voicewire bench  llm: simulator SSE throughput vs a bare aiohttp server and aimock;
                   stt: the STT simulator's lateness under N concurrent real-time sessions;
                   tts: the real-time factor N concurrent syntheses get against the script;
                   inworld: NDJSON throughput vs a bare aiohttp server, contexts per socket;
                   mutation: how many mutants of the sans-IO cores the suites kill

  voicewire.reference.llm
                   chat context, openai message format, tools, the inference LLM client,
                   FallbackAdapter; voicewire.reference.stt, .tts and .inworld (wire modules
                   and clients: inworld.TTS, inworld.STT); voicewire.reference.auth, .errors,
                   .audio, .tone_code
  pytest plugin    fixtures voicewire_iut / voicewire_simulator / voicewire_scenario /
                   voicewire_cassette (record once, replay after),
                   --voicewire-iut, the spec and capability markers, hypothesis profiles
"""


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voicewire",
        description="Conformance harness and provider simulator for voice-AI wire protocols.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("info", help="what this installation can do")
    add_conformance_parsers(sub)
    add_explain_parser(sub)
    add_fuzz_parser(sub)
    add_serve_parser(sub)
    add_record_parser(sub)
    add_journal_parser(sub)
    add_diff_parser(sub)
    add_bench_parser(sub)
    add_cassette_parser(sub)
    add_scenario_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``voicewire`` console script; returns the process exit code.

    Every command reports a user's mistake in one line itself; here a Ctrl-C a command does
    not handle is exit 130 without a traceback, and anything unforeseen is one line naming
    it (``VOICEWIRE_DEBUG=1`` shows the traceback), exit 3.
    """
    parser = _build_parser()
    args = parser.parse_args(argv)
    prog = f"voicewire {args.command}" if args.command else "voicewire"
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("VOICEWIRE_DEBUG"):
            raise
        print(
            f"{prog}: internal error: {type(exc).__name__}: {exc} "
            "(VOICEWIRE_DEBUG=1 shows the traceback; please report it)",
            file=sys.stderr,
        )
        return 3


def _dispatch(args: argparse.Namespace) -> int:
    if args.version:
        from importlib.metadata import version

        print(f"voicewire {version('voicewire')}")
        return 0
    if args.command == "bench":
        return run_bench(args)
    if args.command == "serve":
        return run_serve(args)
    if args.command == "record":
        return run_record(args)
    if args.command == "journal":
        return run_journal(args)
    if args.command == "diff":
        return run_diff(args)
    if args.command == "run":
        return run_run(args)
    if args.command == "list":
        return run_list(args)
    if args.command == "explain":
        return run_explain(args)
    if args.command == "fuzz":
        return run_fuzz(args)
    if args.command == "cassette":
        return run_cassette(args)
    if args.command == "scenario":
        return run_scenario(args)
    print(_WHAT_EXISTS, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
