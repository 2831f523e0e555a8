"""``voicewire fuzz``: the robustness property families at fuzzing depth.

A fuzz run is a series of rounds. Each round is one ``voicewire run`` of the property
families of the ``robustness`` suite (only those of ``--direction``, when given) with a seed of
its own (``--seed``, then ``--seed + 1``, ...), so every round draws new examples; within a
round each family runs a slice of the budget. ``--budget N`` runs N examples per family in
all; ``--duration S`` runs rounds until S seconds are spent: a short first round measures the
pace, and each later round is cut to what still fits (one is always run). At the end it
prints the outcome classes every family's examples ended in and, for every failure, the
command that replays its shrunk example. Exit status: 0 nothing found,
1 a failure, 2 bad arguments, 3 the harness could not run, 5 no family ran (the IUT supports
none of the selected direction), 130 interrupted (the summary covers the rounds that ended).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicewire.harness import arguments
from voicewire.harness.verdicts import CaseResult, Outcome

__all__ = ["DEFAULT_BUDGET", "FuzzSummary", "add_fuzz_parser", "fuzz", "run_fuzz"]

FUZZ_SUITE = "robustness"
DEFAULT_BUDGET = 400
"""Examples per family when neither --budget nor --duration is given: a few minutes on two
cores against the reference and the embedded simulator."""
ROUND_EXAMPLES = 100
"""Examples per family in one round (the last round takes what is left)."""
FIRST_ROUND_EXAMPLES = 10
"""Under --duration, the first round is short: it measures the pace the later rounds are
sized by, so the run ends near the duration without overrunning it by a whole round."""


@dataclass
class FuzzSummary:
    """What a fuzz run found: per family, its examples and their outcome classes; every case
    that did not pass, with its replay command."""

    iut: str
    direction: str | None
    seed: int
    rounds: int = 0
    seconds: float = 0.0
    examples: Counter[str] = field(default_factory=Counter)
    classes: dict[str, Counter[str]] = field(default_factory=dict)
    failures: list[CaseResult] = field(default_factory=list)
    interrupted: bool = False

    def add_round(self, cases: list[CaseResult]) -> None:
        """Fold one round's cases in."""
        self.rounds += 1
        for case in cases:
            if case.outcome is Outcome.UNSUPPORTED:
                continue
            self.examples[case.name] += case.examples or 0
            self.classes.setdefault(case.name, Counter()).update(case.outcome_classes)
            if case.outcome is not Outcome.PASS:
                self.failures.append(case)


def _rounds(budget: int) -> list[int]:
    full, rest = divmod(budget, ROUND_EXAMPLES)
    return [ROUND_EXAMPLES] * full + ([rest] if rest else [])


def fuzz(
    *,
    iut: str,
    direction: str | None,
    budget: int | None,
    duration: float | None,
    seed: int,
    repro_dir: str,
    timeout: float,
    say: Any = print,
) -> FuzzSummary:
    """Run the rounds (see the module docstring); raises ``HarnessError`` when the harness
    cannot run, ``KeyboardInterrupt`` is turned into a summary marked interrupted."""
    from voicewire.harness.runner import RunOptions, run_conformance

    summary = FuzzSummary(iut=iut, direction=direction, seed=seed)
    plan = _rounds(budget if budget is not None else DEFAULT_BUDGET)
    start = time.monotonic()
    pace = 0.0  # seconds per example (per family) in the last round, overheads included
    number = 0
    try:
        while True:
            if duration is None:
                if number >= len(plan):
                    break
                examples = plan[number]
            elif number == 0:
                examples = FIRST_ROUND_EXAMPLES
            else:
                left = duration - (time.monotonic() - start)
                examples = min(ROUND_EXAMPLES, int(left / pace)) if pace > 0 else ROUND_EXAMPLES
                if examples < 1:
                    break
            options = RunOptions(
                iut=iut,
                suites=[FUZZ_SUITE],
                seed=seed + number,
                examples=examples,
                repro_dir=str(Path(repro_dir) / f"round-{number + 1}"),
                timeout=timeout,
                direction=direction,
                families_only=True,
            )
            began = time.monotonic()
            report, _ = run_conformance(options)
            pace = (time.monotonic() - began) / examples
            number += 1
            summary.add_round(report.cases)
            if report.interrupted:
                # Ctrl-C inside a round: the round's finished families count, then stop.
                summary.interrupted = True
                break
            summary.seconds = round(time.monotonic() - start, 1)
            ran = sum(summary.examples.values())
            say(
                f"round {number}: seed {seed + number - 1}, {examples} examples per family · "
                f"{ran} examples in all · {len(summary.failures)} failing · "
                f"{summary.seconds:.0f} s"
            )
            if not report.cases:
                break
    except KeyboardInterrupt:
        summary.interrupted = True
    summary.seconds = round(time.monotonic() - start, 1)
    return summary


def format_fuzz_summary(summary: FuzzSummary) -> str:
    """The closing report: examples and outcome classes per family, then every failure with
    the command that replays it."""
    out = [
        f"voicewire fuzz · iut {summary.iut} · direction {summary.direction or 'both'} · "
        f"seeds {summary.seed}..{summary.seed + max(summary.rounds - 1, 0)} · "
        f"{summary.rounds} round(s) · {summary.seconds:.0f} s"
        + (" · INTERRUPTED" if summary.interrupted else "")
    ]
    for family in sorted(summary.classes):
        out.append("")
        out.append(f"{family}: {summary.examples[family]} examples")
        for label, count in sorted(summary.classes[family].items(), key=lambda kv: (-kv[1], kv[0])):
            out.append(f"  {count:>6}  {label}")
    out.append("")
    if not summary.failures:
        out.append(f"found nothing: every example of {len(summary.classes)} families passed")
        return "\n".join(out) + "\n"
    out.append(f"FOUND {len(summary.failures)} failing case(s):")
    for case in summary.failures:
        out.append(
            f"  {case.outcome.value}  {case.name}  broke {', '.join(case.broken_ids) or '—'}"
        )
        first = case.message.strip().splitlines()[:3]
        out.extend(f"      {line[:160]}" for line in first)
        if case.repro is not None:
            out.append(f"      replay: {case.repro.command}")
    return "\n".join(out) + "\n"


def add_fuzz_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``fuzz`` to a parser's subparsers; returns its parser."""
    parser = subparsers.add_parser(
        "fuzz",
        help="the robustness families at fuzzing depth, in both directions",
        description=(
            "Run the robustness suite's property families (hostile streams to a client IUT, "
            "hostile requests to a server IUT) in rounds of new examples, print the outcome "
            "classes and, for every failure, the command that replays it. Exit status: 0 "
            "nothing found, 1 a failure, 2 bad arguments, 3 the harness could not run, 5 no "
            "family ran, 130 interrupted."
        ),
    )
    parser.add_argument(
        "--iut",
        default="reference",
        help="reference (default) | python:pkg.module:factory | cmd:<command> | url:<base_url>",
    )
    parser.add_argument(
        "--direction",
        choices=("client", "server"),
        help="only the families of this direction (default: every one the IUT supports)",
    )
    amount = parser.add_mutually_exclusive_group()
    amount.add_argument(
        "--budget",
        type=arguments.positive_int,
        metavar="N",
        help=f"examples per family in all (default: {DEFAULT_BUDGET})",
    )
    amount.add_argument(
        "--duration",
        type=arguments.positive_seconds,
        metavar="S",
        help="run rounds until S seconds are spent instead",
    )
    parser.add_argument(
        "--seed", type=arguments.seed, default=0, help="seed of the first round (0)"
    )
    parser.add_argument(
        "--repro-dir",
        default="voicewire-repro",
        metavar="DIR",
        help="where failing examples are written, a folder per round (default ./voicewire-repro)",
    )
    parser.add_argument(
        "--timeout",
        type=arguments.positive_seconds,
        default=60.0,
        help="seconds per IUT operation (default 60)",
    )
    return parser


def run_fuzz(args: argparse.Namespace) -> int:
    """Carry out ``voicewire fuzz``; returns the exit status."""
    from voicewire.harness.runner import HarnessError

    def say(message: str) -> None:
        print(f"voicewire fuzz: {message}", file=sys.stderr, flush=True)

    repro_dir = Path(args.repro_dir)
    if repro_dir.exists() and not repro_dir.is_dir():
        say(f"--repro-dir {args.repro_dir} is not a directory (a file is there)")
        return 2
    try:
        summary = fuzz(
            iut=args.iut,
            direction=args.direction,
            budget=args.budget,
            duration=args.duration,
            seed=args.seed,
            repro_dir=args.repro_dir,
            timeout=args.timeout,
            say=say,
        )
    except HarnessError as exc:
        say(f"could not run: {exc}")
        return 3
    print(format_fuzz_summary(summary), end="")
    if summary.interrupted:
        return 130
    if summary.failures:
        return 1
    return 0 if summary.classes else 5
