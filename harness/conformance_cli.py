"""``voicewire run`` and ``voicewire list``: argument parsing and console output."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TextIO

from voicewire.harness import arguments
from voicewire.harness.profiles import PROFILE_NAMES
from voicewire.harness.progress import RunObserver, progress_for
from voicewire.harness.runner import (
    HarnessError,
    RunOptions,
    catalog,
    run_conformance,
    suite_table,
)
from voicewire.harness.verdicts import EXIT_INTERRUPTED, CaseResult

__all__ = ["add_conformance_parsers", "run_list", "run_run"]

EXIT_BAD_ARGUMENTS = 2
EXIT_HARNESS_ERROR = 3


def _workers(text: str) -> str | None:
    if text == "auto" or (text.isdigit() and int(text) >= 1):
        return text
    if text.isdigit() and int(text) == 0:
        return None
    raise argparse.ArgumentTypeError(f"must be 'auto', 0 or a positive integer, got {text!r}")


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value >= 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def add_conformance_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``run`` and ``list`` sub-commands."""
    run = subparsers.add_parser(
        "run",
        help="run the conformance suites against an implementation",
        description="Run the conformance suites against an implementation under test, with "
        "embedded simulators, and print a per-requirement report. Exit status: 0 conformant, "
        "1 a FAIL or ERROR (or NON-STRICT with --strict), 2 bad arguments, 3 the harness "
        "could not run, 5 no case ran.",
    )
    run.add_argument(
        "--iut",
        default="reference",
        help="reference (default) | python:pkg.module:factory | cmd:<command> | url:<base_url>",
    )
    run.add_argument(
        "--suite",
        action="append",
        choices=list(suite_table()),
        help="run only this suite (repeatable; default: all)",
    )
    run.add_argument("-k", dest="keyword", metavar="EXPR", help="only cases matching EXPR")
    run.add_argument(
        "--direction",
        choices=["client", "server"],
        help="only the cases of this direction (client: the IUT is a client; server: it is a "
        "server); default: both",
    )
    run.add_argument("--strict", action="store_true", help="NON-STRICT results fail the run")
    run.add_argument(
        "--seed", type=arguments.seed, default=0, help="seed of every random choice (0)"
    )
    run.add_argument(
        "--examples",
        type=arguments.positive_int,
        help="examples per property family (default: profile)",
    )
    run.add_argument(
        "--no-shrink",
        dest="shrink",
        action="store_false",
        help="stop at the first failing example: the verdict without a minimal example (the "
        "report and its replay file hold the example unshrunk, as found)",
    )
    run.add_argument(
        "--profile", choices=PROFILE_NAMES, default="ci", help="hypothesis profile (default ci)"
    )
    run.add_argument(
        "-n",
        dest="workers",
        type=_workers,
        help="parallel workers: N, auto (as many as cores, for a run big enough to gain from "
        "them) or 0 (serial, the default)",
    )
    run.add_argument(
        "-x",
        "--exitfirst",
        action="store_true",
        help="stop at the first case that fails the run (the report counts the cases not "
        "run; with -n, cases already handed to a worker still finish)",
    )
    run.add_argument("--json", metavar="FILE", help="write the JSON report")
    run.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
    run.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
    run.add_argument("--replay", metavar="FILE", help="replay one recorded failing example")
    run.add_argument(
        "--repro-dir",
        default="voicewire-repro",
        metavar="DIR",
        help="where failing examples are written (default ./voicewire-repro)",
    )
    run.add_argument(
        "--timeout",
        type=arguments.positive_seconds,
        default=60.0,
        help="seconds per IUT operation (default 60)",
    )
    run.add_argument(
        "--cassette",
        metavar="FILE",
        help="instead of the suites, replay this cassette's recorded sessions: one case per "
        "session, the IUT's events compared with the reference's on the same recording",
    )
    run.add_argument(
        "--time-scale",
        type=_non_negative,
        default=0.0,
        help="with --cassette: recorded timing, 0 as fast as the client goes (default), 1 as "
        "recorded",
    )
    run.add_argument(
        "--tolerance",
        type=_non_negative,
        default=0.05,
        metavar="SECONDS",
        help="with --cassette: how far apart two clients' times may be and still agree "
        "(default 0.05)",
    )
    run.add_argument(
        "--events-out",
        metavar="FILE",
        help="with --cassette: write the IUT's events as an event log (for voicewire diff)",
    )
    run.add_argument("-v", "--verbose", action="store_true", help="list UNSUPPORTED cases too")
    run.add_argument(
        "--color", choices=("auto", "always", "never"), default="auto", help="colored results"
    )

    listing = subparsers.add_parser(
        "list",
        help="list the conformance cases with their SPEC IDs and direction",
        description="The case catalog: every case, the SPEC IDs it checks, the capability it "
        "needs and its direction (client: the IUT is a client; server: the IUT is a server).",
    )
    listing.add_argument(
        "--suite", action="append", choices=list(suite_table()), help="only this suite (repeatable)"
    )


def _table_width(stream: TextIO) -> int:
    """A terminal's width (up to 140 columns, where every title fits on its row); 100 for
    files and pipes, so saved reports look the same everywhere."""
    if not stream.isatty():
        return 100
    import shutil

    return max(100, min(140, shutil.get_terminal_size().columns))


def _use_color(choice: str, stream: TextIO) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return stream.isatty()


class _ConsoleRun:
    """The console side of a run as it happens: the report's header as soon as the IUT has
    started (stdout, before the first case), then the progress (stderr)."""

    def __init__(self, options: RunOptions, progress: RunObserver) -> None:
        self.options = options
        self.progress = progress
        self.header_shown = False

    def run_started(self, started_at: str, parallelism: str) -> None:
        from voicewire.harness.report import console_header

        options = self.options
        header = console_header(
            iut=options.iut,
            seed=options.seed,
            profile=options.profile,
            strict=options.strict,
            started_at=started_at,
            parallelism=parallelism,
        )
        print(f"{header}\n", flush=True)
        self.header_shown = True
        self.progress.run_started(started_at, parallelism)

    def collected(self, total: int) -> None:
        self.progress.collected(total)

    def case_started(self, nodeid: str) -> None:
        self.progress.case_started(nodeid)

    def case_finished(self, case: CaseResult) -> None:
        self.progress.case_finished(case)

    def close(self) -> None:
        self.progress.close()


def _cassette_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with ``--cassette`` and the options that go with it (None: nothing): a
    cassette that cannot be loaded names its line and the problem. A loadable cassette's
    exchanges that no case replays are named on stderr, one line each."""
    if not args.cassette:
        return "--events-out needs --cassette" if args.events_out is not None else None
    if args.suite or args.replay or args.direction:
        return "--cassette replays a recording: it takes no --suite, --replay or --direction"
    from voicewire.harness.cassette_run import unowned_exchanges
    from voicewire.simulators.recording.cassette import CassetteError, load_cassette

    try:
        cassette = load_cassette(args.cassette)
    except CassetteError as exc:
        return f"--cassette {exc}"
    for _, why in unowned_exchanges(cassette):
        print(f"voicewire run: not replayed: {why}", file=sys.stderr)
    return None


def run_run(args: argparse.Namespace) -> int:
    """Carry out ``voicewire run``; returns the exit status."""
    from voicewire.harness.report import (
        render_console,
        write_html_report,
        write_json_report,
        write_junit_report,
    )

    cassette_problem = _cassette_problem(args)
    if cassette_problem is not None:
        print(f"voicewire run: {cassette_problem}", file=sys.stderr)
        return EXIT_BAD_ARGUMENTS
    options = RunOptions(
        iut=args.iut,
        suites=["cassette"] if args.cassette else list(args.suite or suite_table()),
        keyword=args.keyword,
        direction=args.direction,
        strict=args.strict,
        seed=args.seed,
        examples=args.examples,
        shrink=args.shrink,
        profile=args.profile,
        workers=args.workers,
        exitfirst=args.exitfirst,
        replay=args.replay,
        repro_dir=args.repro_dir,
        timeout=args.timeout,
        cassette=args.cassette,
        time_scale=args.time_scale,
        tolerance=args.tolerance,
        events_out=args.events_out,
    )
    if args.cassette:
        # The cases share one event log and one reference client: they run in this process.
        options.workers = None
    repro_dir = Path(args.repro_dir)
    if repro_dir.exists() and not repro_dir.is_dir():
        print(
            f"voicewire run: --repro-dir {args.repro_dir} is not a directory (a file is there)",
            file=sys.stderr,
        )
        return EXIT_BAD_ARGUMENTS
    console = _ConsoleRun(options, progress_for(sys.stderr))
    try:
        report, _ = run_conformance(options, observer=console)
    except HarnessError as exc:
        print(f"voicewire run: {exc}", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    except KeyboardInterrupt:
        # Before the suites started (the IUT's start) or after they ended: nothing to report.
        print("voicewire run: interrupted; no case had run", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        console.close()
    print(
        render_console(
            report,
            color=_use_color(args.color, sys.stdout),
            verbose=args.verbose,
            header=not console.header_shown,
            width=_table_width(sys.stdout),
        ),
        end="",
    )
    writers = (
        (args.json, write_json_report),
        (args.junit, write_junit_report),
        (args.html, write_html_report),
    )
    for path, write in writers:
        if path:
            try:
                write(report, path)
            except OSError as exc:
                print(f"voicewire run: cannot write {path}: {exc}", file=sys.stderr)
                return EXIT_HARNESS_ERROR
    return report.exit_code


def run_list(args: argparse.Namespace) -> int:
    """Carry out ``voicewire list``; returns the exit status."""
    try:
        entries = catalog(args.suite)
    except HarnessError as exc:
        print(f"voicewire list: {exc}", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    suite = None
    for entry in entries:
        if entry.suite != suite:
            suite = entry.suite
            print(f"\n{suite}: {suite_table().get(suite, '')}")
        kind = f" [property: {entry.family}]" if entry.family else ""
        print(f"  {entry.name}{kind}")
        print(
            f"      {entry.direction:<6} {entry.capability or '-':<12} {', '.join(entry.spec_ids)}"
        )
        if entry.doc:
            print(f"      {entry.doc}")
    ids = {rid for entry in entries for rid in entry.spec_ids}
    print(f"\n{len(entries)} cases covering {len(ids)} SPEC requirements")
    return 0 if entries else 5
