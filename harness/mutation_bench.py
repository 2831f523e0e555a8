"""``voicewire bench mutation``: how many injected bugs in the sans-IO cores the suites catch.

Each registered protocol names the modules of its sans-IO core
(:attr:`~voicewire.harness.capabilities.ProtocolSpec.sans_io`). Cosmic Ray enumerates its
mutation operators over those modules; every mutant is applied, alone, to a private copy of
the installed ``voicewire`` packages, and ``voicewire run --iut reference --exitfirst`` judges
it: a run that does not pass (or that overruns its timeout) kills the mutant, a conformant run
lets it survive. The score is killed / (killed + survived).

Method
------
* **Copies, never the checkout.** The four ``voicewire`` packages are copied (from wherever
  they are installed: a checkout with an editable install, or site-packages) into one folder
  per worker, put first on ``PYTHONPATH`` for the judging run; the command checks that the
  copy is what gets imported. Cosmic Ray mutates a copy in place and restores it afterwards.
  Copies are precompiled with hash-checked ``.pyc`` files, so a mutation that keeps a file's
  size and modification second can never be hidden by a stale cache.
* **Mutants that cannot change behaviour are skipped**, and counted as such: those inside type
  annotations (every module uses postponed evaluation, so annotations never run) and those in
  the test of an ``if TYPE_CHECKING:`` block.
* **Baseline first.** The unmutated copy must pass; its duration sets each mutant's timeout
  (three times the baseline plus 30 s), and a timeout counts as a kill, as in Cosmic Ray.
* **Workers.** ``--workers`` mutants are judged at once, each in its own copy.
* ``--sample N`` judges N mutants drawn with ``--seed`` instead of all of them: an estimate
  whose size the report states.

The score is a property of the suites, not a timing: it is the same on any machine for the
same sources and options.
"""

from __future__ import annotations

import argparse
import ast
import compileall
import importlib
import json
import os
import py_compile
import queue
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from voicewire.harness import arguments
from voicewire.harness.atomic_file import write_atomically
from voicewire.harness.capabilities import CapabilityTable

__all__ = [
    "MUTATION_EXTRA",
    "MutantResult",
    "MutationBenchResult",
    "add_mutation_parser",
    "annotation_spans",
    "format_mutation_report",
    "run_mutation_bench",
    "sans_io_modules",
]

MUTATION_EXTRA = "mutation"
"""The optional extra that installs Cosmic Ray."""

_PACKAGES = ("reference", "simulators", "suites", "harness")
_TIMEOUT_FACTOR = 3.0
_TIMEOUT_MARGIN = 30.0

Span = tuple[tuple[int, int], tuple[int, int]]


def sans_io_modules(table: CapabilityTable) -> list[str]:
    """Every registered protocol's sans-IO modules, in registration order, without repeats."""
    modules: list[str] = []
    for protocol in table.protocols:
        modules.extend(name for name in protocol.sans_io if name not in modules)
    return modules


def _char_column(line: str, byte_offset: int) -> int:
    # ast counts columns in UTF-8 bytes; Cosmic Ray (parso) in characters.
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))


def annotation_spans(source: str) -> list[Span]:
    """Where mutations cannot change what ``source`` does: its annotations, and the tests of
    its ``if TYPE_CHECKING:`` blocks. Positions are ``(line, character column)``, lines from 1.

    Annotations never run in a module with ``from __future__ import annotations``; without it
    they are evaluated, so only the ``TYPE_CHECKING`` tests are returned.
    """
    tree = ast.parse(source)
    lines = source.splitlines()
    postponed = any(
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and any(alias.name == "annotations" for alias in node.names)
        for node in tree.body
    )
    nodes: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            nodes.append(node.test)
        if not postponed:
            continue
        if isinstance(node, ast.arg) and node.annotation is not None:
            nodes.append(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns:
            nodes.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            nodes.append(node.annotation)
    spans: list[Span] = []
    for node in nodes:
        start_line, end_line = node.lineno, node.end_lineno or node.lineno
        start = _char_column(lines[start_line - 1], node.col_offset)
        end = _char_column(lines[end_line - 1], node.end_col_offset or 0)
        spans.append(((start_line, start), (end_line, end)))
    return spans


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _inside(position: tuple[int, int], spans: Iterable[Span]) -> bool:
    return any(start <= tuple(position) < end for start, end in spans)


@dataclass
class MutantResult:
    """One mutant and what the suites made of it."""

    module: str
    line: int
    column: int
    operator: str
    occurrence: int
    outcome: str  # killed | timeout | survived | incompetent | skipped
    seconds: float = 0.0
    diff: str = ""


@dataclass
class MutationBenchResult:
    """A whole ``voicewire bench mutation`` run: what ``--json`` writes."""

    modules: list[str]
    judge: str
    baseline_seconds: float
    timeout_seconds: float
    workers: int
    enumerated: int
    sample: int | None
    seed: int
    interrupted: bool
    seconds: float
    mutants: list[MutantResult] = field(default_factory=list)

    def counts(self, module: str | None = None) -> Counter[str]:
        """Mutants per outcome, for one module or all of them."""
        return Counter(m.outcome for m in self.mutants if module is None or m.module == module)

    def score(self, module: str | None = None) -> float | None:
        """killed (timeouts included) / (killed + survived); None when nothing was judged."""
        counts = self.counts(module)
        killed = counts["killed"] + counts["timeout"]
        judged = killed + counts["survived"]
        return killed / judged if judged else None

    def to_json(self) -> dict[str, Any]:
        """The result as JSON-ready data, with the scores."""
        data = asdict(self)
        data["score"] = self.score()
        data["per_module"] = {
            module: {"score": self.score(module), **self.counts(module)} for module in self.modules
        }
        return data


class MutationBenchError(Exception):
    """The benchmark could not measure (missing tool, failing baseline, unusable copy)."""


def _package_dir(subpackage: str) -> Path:
    module = importlib.import_module(f"voicewire.{subpackage}")
    return Path(module.__file__ or "").resolve().parent


def _make_copy(root: Path) -> Path:
    """Copy the installed voicewire packages under ``root/voicewire``; return ``root``."""
    for subpackage in _PACKAGES:
        shutil.copytree(
            _package_dir(subpackage),
            root / "voicewire" / subpackage,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    compileall.compile_dir(
        root / "voicewire",
        quiet=1,
        invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
    )
    return root


def _copy_env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["NO_COLOR"] = "1"
    return env


def _check_copy_is_imported(root: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import voicewire.reference as r; print(r.__file__)"],
        env=_copy_env(root),
        capture_output=True,
        text=True,
        timeout=120,
    )
    imported = done.stdout.strip()
    if done.returncode != 0 or not imported.startswith(str(root)):
        raise MutationBenchError(
            f"the copy in {root} is not what Python imports (got {imported or done.stderr!r}); "
            "is voicewire installed in a way that shadows PYTHONPATH?"
        )


def _judge_args(suites: Sequence[str], keyword: str | None, seed: int) -> list[str]:
    args = ["run", "--iut", "reference", "--exitfirst", "--seed", str(seed), "--color", "never"]
    for suite in suites:
        args += ["--suite", suite]
    if keyword:
        args += ["-k", keyword]
    return args


def _judge_command(root: Path, judge_args: Sequence[str]) -> str:
    # Cosmic Ray runs the command with shlex.split and without a shell, so the copy's
    # PYTHONPATH goes through env(1).
    env = ["env", f"PYTHONPATH={root}", "NO_COLOR=1"]
    python = [sys.executable, "-m", "voicewire.harness.cli"]
    repro = ["--repro-dir", str(root / "repro")]
    return shlex.join([*env, *python, *judge_args, *repro])


def _enumerate(modules: Sequence[str], copy: Path, workdir: Path) -> list[Any]:
    from cosmic_ray.commands.init import init
    from cosmic_ray.work_db import WorkDB, use_db

    paths = [_module_path(copy, name) for name in modules]
    with use_db(str(workdir / "session.sqlite"), WorkDB.Mode.create) as db:
        init(paths, db, {})
        items = list(db.work_items)
    specs = [item.mutations[0] for item in items]
    return sorted(
        specs,
        key=lambda s: (str(s.module_path), tuple(s.start_pos), s.operator_name, s.occurrence),
    )


def _module_path(copy: Path, module: str) -> Path:
    parts = module.split(".")
    path = copy.joinpath(*parts).with_suffix(".py")
    if not path.is_file():
        package = copy.joinpath(*parts, "__init__.py")
        if not package.is_file():
            raise MutationBenchError(f"no source file for sans-IO module {module!r}")
        return package
    return path


def _module_name(copy: Path, path: Path) -> str:
    relative = Path(path).relative_to(copy).with_suffix("")
    return ".".join(relative.parts)


def _outcome(result: Any) -> str:
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    if result.worker_outcome is not WorkerOutcome.NORMAL:
        return "skipped" if result.worker_outcome is WorkerOutcome.NO_TEST else "incompetent"
    if result.test_outcome is TestOutcome.SURVIVED:
        return "survived"
    if result.test_outcome is TestOutcome.KILLED:
        return "timeout" if result.output == "timeout" else "killed"
    return "incompetent"


def measure_mutation_score(
    *,
    modules: Sequence[str],
    suites: Sequence[str] = (),
    keyword: str | None = None,
    workers: int = 1,
    sample: int | None = None,
    seed: int = 0,
    say: Callable[[str], None] = lambda message: None,
) -> MutationBenchResult:
    """Judge every mutant of ``modules`` (or a seeded sample) with the conformance suites.

    Raises :class:`MutationBenchError` when Cosmic Ray is missing, the copy does not import,
    or the unmutated copy does not pass.
    """
    try:
        from cosmic_ray.mutating import mutate_and_test
    except ImportError:
        raise MutationBenchError(
            f"needs Cosmic Ray: pip install 'voicewire[{MUTATION_EXTRA}]'"
        ) from None
    started = time.monotonic()
    judge_args = _judge_args(suites, keyword, seed)
    with tempfile.TemporaryDirectory(prefix="voicewire-mutation-") as tmp:
        workdir = Path(tmp)
        copies = [_make_copy(workdir / f"copy{index}") for index in range(workers)]
        _check_copy_is_imported(copies[0])
        say(f"baseline: {' '.join(judge_args)}")
        baseline_start = time.monotonic()
        baseline = subprocess.run(
            shlex.split(_judge_command(copies[0], judge_args)),
            capture_output=True,
            text=True,
        )
        baseline_seconds = time.monotonic() - baseline_start
        if baseline.returncode != 0:
            raise MutationBenchError(
                f"the unmutated suites do not pass (exit {baseline.returncode}):\n"
                f"{baseline.stdout[-3000:]}{baseline.stderr[-2000:]}"
            )
        timeout = baseline_seconds * _TIMEOUT_FACTOR + _TIMEOUT_MARGIN
        specs = _enumerate(modules, copies[0], workdir)
        spans = {
            path: annotation_spans(path.read_text(encoding="utf-8"))
            for path in {Path(spec.module_path) for spec in specs}
        }
        result = MutationBenchResult(
            modules=list(modules),
            judge="voicewire " + " ".join(judge_args),
            baseline_seconds=round(baseline_seconds, 2),
            timeout_seconds=round(timeout, 2),
            workers=workers,
            enumerated=len(specs),
            sample=sample,
            seed=seed,
            interrupted=False,
            seconds=0.0,
        )
        to_judge = []
        for spec in specs:
            if _inside(spec.start_pos, spans[Path(spec.module_path)]):
                result.mutants.append(_mutant(copies[0], spec, "skipped"))
            else:
                to_judge.append(spec)
        candidates = len(to_judge)
        if sample is not None and sample < candidates:
            keep = sorted(random.Random(seed).sample(range(candidates), sample))
            to_judge = [to_judge[index] for index in keep]
        chosen = (
            f"a sample of {len(to_judge)} (seed {seed})" if len(to_judge) < candidates else "all"
        )
        say(
            f"{len(specs)} mutants, {len(specs) - candidates} cannot change behaviour "
            f"(annotations, TYPE_CHECKING); judging {chosen} of {candidates}; baseline "
            f"{baseline_seconds:.1f} s, timeout {timeout:.0f} s, {workers} worker(s)"
        )
        free: queue.Queue[Path] = queue.Queue()
        for copy in copies:
            free.put(copy)

        def judge(spec: Any) -> MutantResult:
            copy = free.get()
            try:
                moved = _moved(spec, copies[0], copy)
                start = time.monotonic()
                outcome = mutate_and_test([moved], _judge_command(copy, judge_args), timeout)
                mutant = _mutant(copies[0], spec, _outcome(outcome))
                mutant.seconds = round(time.monotonic() - start, 2)
                if mutant.outcome in ("survived", "incompetent"):
                    text = outcome.diff or (outcome.output or "")[-2000:]
                    mutant.diff = text.replace(f"{copy}{os.sep}", "")
                return mutant
            finally:
                free.put(copy)

        executor = ThreadPoolExecutor(max_workers=workers)
        pending: set[Future[MutantResult]] = {executor.submit(judge, spec) for spec in to_judge}
        done_count = 0
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    result.mutants.append(future.result())
                    done_count += 1
                counts = Counter(m.outcome for m in result.mutants)
                say(
                    f"[{done_count}/{len(to_judge)}] killed {counts['killed'] + counts['timeout']}"
                    f" · survived {counts['survived']} · incompetent {counts['incompetent']}"
                )
        except KeyboardInterrupt:
            result.interrupted = True
            for future in pending:
                future.cancel()
            say("interrupted: waiting for the mutants being judged, then reporting the rest")
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
    result.mutants.sort(key=lambda m: (m.module, m.line, m.column, m.operator, m.occurrence))
    result.seconds = round(time.monotonic() - started, 1)
    return result


def _moved(spec: Any, origin: Path, copy: Path) -> Any:
    from cosmic_ray.work_item import MutationSpec

    return MutationSpec(
        module_path=copy / Path(spec.module_path).relative_to(origin),
        operator_name=spec.operator_name,
        occurrence=spec.occurrence,
        start_pos=spec.start_pos,
        end_pos=spec.end_pos,
        operator_args=spec.operator_args,
        definition_name=spec.definition_name,
    )


def _mutant(copy: Path, spec: Any, outcome: str) -> MutantResult:
    line, column = spec.start_pos
    return MutantResult(
        module=_module_name(copy, Path(spec.module_path)),
        line=line,
        column=column,
        operator=spec.operator_name,
        occurrence=spec.occurrence,
        outcome=outcome,
    )


# -- report and command line ----------------------------------------------------------------

_SHOWN_SURVIVORS = 25


def format_mutation_report(result: MutationBenchResult) -> str:
    """The console report: score per module and in total, then the surviving mutants."""

    def score_text(score: float | None) -> str:
        return "—" if score is None else f"{score:.1%}"

    out = [f"voicewire bench mutation · judge: {result.judge}"]
    scope = (
        "all mutants"
        if result.sample is None
        else f"a sample of {result.sample} (seed {result.seed})"
    )
    out.append(
        f"{result.enumerated} mutants enumerated by Cosmic Ray, {scope}; baseline "
        f"{result.baseline_seconds:.1f} s, timeout {result.timeout_seconds:.0f} s, "
        f"{result.workers} worker(s), {result.seconds:.0f} s in all"
    )
    if result.interrupted:
        out.append("INTERRUPTED: the score covers only the mutants judged before Ctrl-C")
    out.append("")
    header = ("MODULE", "KILLED", "TIMEOUT", "SURVIVED", "INCOMPETENT", "SKIPPED", "SCORE")
    rows = [header]
    for module in [*result.modules, None]:
        counts = result.counts(module)
        rows.append(
            (
                module or "total",
                str(counts["killed"]),
                str(counts["timeout"]),
                str(counts["survived"]),
                str(counts["incompetent"]),
                str(counts["skipped"]),
                score_text(result.score(module)),
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    for index, row in enumerate(rows):
        if index == len(rows) - 1:
            out.append("  ".join("─" * width for width in widths))
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
        ]
        out.append("  ".join(cells).rstrip())
    survivors = [m for m in result.mutants if m.outcome == "survived"]
    if survivors:
        out.append("")
        out.append(f"Surviving mutants ({len(survivors)}; --json keeps every diff):")
        for mutant in survivors[:_SHOWN_SURVIVORS]:
            out.append(f"  {mutant.module}:{mutant.line}:{mutant.column}  {mutant.operator}")
        if len(survivors) > _SHOWN_SURVIVORS:
            out.append(f"  … and {len(survivors) - _SHOWN_SURVIVORS} more")
    out.append("")
    out.append(f"mutation score: {score_text(result.score())}")
    return "\n".join(out) + "\n"


def _fraction(text: str) -> float:
    try:
        value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a score like 0.8 or 80%, got {text!r}"
        ) from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"a score is between 0 and 1 (0% and 100%), got {text!r}")
    return value


def add_mutation_parser(targets: Any, *, suites: Sequence[str]) -> argparse.ArgumentParser:
    """Add the ``mutation`` target to ``voicewire bench``'s targets; returns its parser."""
    parser = targets.add_parser(
        "mutation",
        help="mutation score of the sans-IO cores under the conformance suites (Cosmic Ray)",
        description=(
            "Mutate the sans-IO cores every protocol registers (Cosmic Ray's operators), judge "
            "each mutant with 'voicewire run --iut reference --exitfirst' on a private copy of "
            "the installed packages, and print the score killed / (killed + survived). Needs "
            f"the '{MUTATION_EXTRA}' extra. Exit code 0: measured (and --min-score met), "
            "1: below --min-score, 2: could not measure."
        ),
    )
    parser.add_argument(
        "--module",
        action="append",
        metavar="NAME",
        help="mutate only this sans-IO module (repeatable; default: every registered one)",
    )
    parser.add_argument(
        "--suite",
        action="append",
        choices=list(suites),
        help="judge with only this suite (repeatable; default: all)",
    )
    parser.add_argument(
        "-k", dest="keyword", metavar="EXPR", help="judge with only cases matching EXPR"
    )
    parser.add_argument(
        "--workers",
        type=arguments.positive_int,
        default=max(1, min(os.cpu_count() or 1, 4)),
        metavar="N",
        help="mutants judged at once, each in its own copy (default: %(default)s)",
    )
    parser.add_argument(
        "--sample",
        type=arguments.positive_int,
        metavar="N",
        help="judge N mutants drawn with --seed instead of all (an estimate)",
    )
    parser.add_argument(
        "--seed", type=arguments.seed, default=0, help="seed of the sample and of the suites (0)"
    )
    parser.add_argument("--min-score", type=_fraction, metavar="S", help="exit 1 below this score")
    parser.add_argument(
        "--json",
        dest="json_path",
        type=Path,
        metavar="FILE",
        help="also write every mutant (survivors with their diffs) as JSON (atomically replaced)",
    )
    return parser


def run_mutation_bench(args: argparse.Namespace, table: CapabilityTable) -> int:
    """Carry out ``voicewire bench mutation``; returns the exit code."""

    def say(message: str) -> None:
        print(f"voicewire bench mutation: {message}", file=sys.stderr, flush=True)

    registered = sans_io_modules(table)
    modules = args.module or registered
    unknown = [name for name in modules if name not in registered]
    if unknown:
        say(
            f"--module {', '.join(unknown)}: not a registered sans-IO module; "
            f"known: {', '.join(registered)}"
        )
        return 2
    json_path: Path | None = args.json_path
    if json_path is not None and not json_path.parent.is_dir():
        say(f"--json {json_path}: no directory {json_path.parent}")
        return 2
    try:
        result = measure_mutation_score(
            modules=modules,
            suites=args.suite or (),
            keyword=args.keyword,
            workers=args.workers,
            sample=args.sample,
            seed=args.seed,
            say=say,
        )
    except MutationBenchError as exc:
        say(f"could not measure: {exc}")
        return 2
    print(format_mutation_report(result), end="")
    if json_path is not None:
        try:
            write_atomically(json_path, json.dumps(result.to_json(), indent=2) + "\n")
        except OSError as exc:
            say(f"could not write {json_path}: {exc}")
            return 2
    score = result.score()
    if args.min_score is not None and (score is None or score < args.min_score):
        return 1
    return 0
