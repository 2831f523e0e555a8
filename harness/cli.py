"""The ``voicewire`` command line."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

# Each command's module, the function that adds its parser(s) and the one that runs it. A
# command's module is imported only when that command runs (or for the full help): the
# modules import the protocols, openai and the simulators, seconds of start-up a `voicewire
# serve` with a bad argument, or `voicewire --version`, has no use for.
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("conformance_cli", "add_conformance_parsers", "run_run"),
    "list": ("conformance_cli", "add_conformance_parsers", "run_list"),
    "explain": ("explain_cli", "add_explain_parser", "run_explain"),
    "fuzz": ("fuzz_cli", "add_fuzz_parser", "run_fuzz"),
    "serve": ("serve_cli", "add_serve_parser", "run_serve"),
    "record": ("record_cli", "add_record_parser", "run_record"),
    "journal": ("journal_cli", "add_journal_parser", "run_journal"),
    "diff": ("diff_cli", "add_diff_parser", "run_diff"),
    "bench": ("bench", "add_bench_parser", "run_bench"),
    "cassette": ("cassette_cli", "add_cassette_parser", "run_cassette"),
    "scenario": ("scenario_cli", "add_scenario_parser", "run_scenario"),
}


def _module(command: str) -> ModuleType:
    return importlib.import_module(f"voicewire.harness.{_COMMANDS[command][0]}")


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


def _build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of ``only`` that one (and whatever its module adds
    beside it: ``run`` comes with ``list``)."""
    parser = argparse.ArgumentParser(
        prog="voicewire",
        description="Conformance harness and provider simulator for voice-AI wire protocols.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("info", help="what this installation can do")
    added: set[tuple[str, str]] = set()
    for command in [only] if only is not None else list(_COMMANDS):
        module_name, add_name, _ = _COMMANDS[command]
        if (module_name, add_name) not in added:
            added.add((module_name, add_name))
            getattr(_module(command), add_name)(sub)
    return parser


def _command_named(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names, when it is one of :data:`_COMMANDS` and comes first."""
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    if first is None or argv[0] != first or first not in _COMMANDS:
        return None
    return first


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``voicewire`` console script; returns the process exit code.

    Every command reports a user's mistake in one line itself; here a Ctrl-C a command does
    not handle is exit 130 without a traceback, and anything unforeseen is one line naming
    it (``VOICEWIRE_DEBUG=1`` shows the traceback), exit 3.
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments == ["--version"]:
        return _print_version()
    parser = _build_parser(_command_named(arguments))
    args = parser.parse_args(arguments)
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


def _print_version() -> int:
    from importlib.metadata import version

    print(f"voicewire {version('voicewire')}")
    return 0


def _dispatch(args: argparse.Namespace) -> int:
    if args.version:
        return _print_version()
    if args.command in _COMMANDS:
        return getattr(_module(args.command), _COMMANDS[args.command][2])(args)
    print(_WHAT_EXISTS, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
