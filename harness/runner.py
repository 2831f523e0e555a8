"""The conformance runner behind ``voicewire run`` and ``voicewire list``.

It runs the suites (pytest modules shipped in the ``suites`` package) through pytest with
voicewire's plugin, in this process or across ``pytest-xdist`` workers (each with its own
simulator and IUT), collects every case's verdict data from the reports, and turns them into
a :class:`voicewire.harness.verdicts.RunReport`. pytest's own output is kept out of the
terminal (the console report replaces it) and shown only when pytest itself could not run.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import functools
import importlib.util
import io
import os
import re
import shlex
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from voicewire.harness.atomic_file import write_atomically
from voicewire.harness.iut import IUTProtocolError, IUTSpecError
from voicewire.harness.iut_spec import parse_iut_spec
from voicewire.harness.progress import RunObserver
from voicewire.harness.protocols import TABLE
from voicewire.harness.pytest_plugin import (
    PROPERTY_KEY,
    ignore_warnings_of_interrupted_hookwrappers,
)
from voicewire.harness.replay import REPLAY_FORMAT
from voicewire.harness.verdicts import (
    EXIT_INTERRUPTED,
    CaseResult,
    Outcome,
    Repro,
    RunReport,
    requirement_results,
    run_exit_code,
)

__all__ = [
    "SUITES_PACKAGE",
    "CatalogEntry",
    "HarnessError",
    "RunOptions",
    "catalog",
    "resolve_workers",
    "run_conformance",
    "suite_table",
    "write_replay",
]

SUITES_PACKAGE = "voicewire.suites"
"""The package whose modules are the suites. Suites sit above the harness, so the harness
looks the package up by name at run time: its ``SUITES`` table, and pytest collects its
files (imported under their canonical names)."""


def suite_table() -> dict[str, str]:
    """The suites ``--suite`` can name (name → what it checks), in run order."""
    return dict(importlib.import_module(SUITES_PACKAGE).SUITES)


@functools.cache
def _suites_dir() -> Path:
    spec = importlib.util.find_spec(SUITES_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the suites package {SUITES_PACKAGE!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


class _SuiteModule(pytest.Module):
    """A suite file imported as ``voicewire.suites.<area>.<module>``.

    pytest's own import modes derive a module name from the folders around a file: for suites
    inside an installed ``voicewire`` namespace that name is ``suites.llm.test_x``, and the
    folder above would be put on ``sys.path``, where voicewire's subpackages would shadow a
    user's own ``reference`` or ``harness``. Importing by the canonical name avoids both.
    """

    def _getobj(self) -> Any:
        relative = self.path.resolve().relative_to(_suites_dir()).with_suffix("")
        return importlib.import_module(".".join((SUITES_PACKAGE, *relative.parts)))


class _SuiteImporter:
    """Makes pytest collect files under the suites package as :class:`_SuiteModule`."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_pycollect_makemodule(
        self, module_path: Path, parent: pytest.Collector
    ) -> pytest.Module | None:
        if _suites_dir() in module_path.resolve().parents:
            return _SuiteModule.from_parent(parent, path=module_path)
        return None


# The suites bring their own configuration: a user's pytest.ini or pyproject must not change
# how they run. Suite cases are synchronous; when pytest-asyncio happens to be installed, its
# loop-scope option is set only to keep its deprecation warning out of the run.
_INI = "[pytest]\n" + (
    "asyncio_default_fixture_loop_scope = function\n"
    if importlib.util.find_spec("pytest_asyncio") is not None
    else ""
)


class HarnessError(Exception):
    """The run could not be carried out (bad arguments, pytest could not collect)."""


@dataclass
class RunOptions:
    """Everything ``voicewire run`` takes."""

    iut: str = "reference"
    suites: list[str] = field(default_factory=lambda: list(suite_table()))
    keyword: str | None = None
    strict: bool = False
    seed: int = 0
    examples: int | None = None
    profile: str = "ci"
    workers: str | None = None
    replay: str | None = None
    repro_dir: str = "voicewire-repro"
    timeout: float = 60.0
    exitfirst: bool = False
    direction: str | None = None
    families_only: bool = False
    shrink: bool = True
    cassette: str | None = None
    """Replay this cassette's recorded sessions (the cassette suite) instead of the suites."""
    time_scale: float = 0.0
    tolerance: float = 0.05
    events_out: str | None = None


def _suite_paths(names: Sequence[str]) -> list[str]:
    known = suite_table()
    unknown = [name for name in names if name not in known]
    if unknown:
        raise HarnessError(f"unknown suite(s) {unknown}; known: {', '.join(known)}")
    return [str(_suites_dir() / name) for name in names]


_CASSETTE_SUITE = "cassette"
"""The suites subpackage whose cases are a cassette's recorded sessions (``--cassette``);
not in the suites table: a conformance run never runs it."""


def _pytest_args(options: RunOptions, *, ini: str) -> list[str]:
    paths = (
        [str(_suites_dir() / _CASSETTE_SUITE)] if options.cassette else _suite_paths(options.suites)
    )
    args = [
        *paths,
        "-c",
        ini,
        "--rootdir",
        str(_suites_dir().parent),
        "-p",
        "no:cacheprovider",
        # The cases need these plugins and no others: whatever else the environment has
        # installed (anyio, respx, a user's own) stays out of a conformance run, and its start
        # skips importing them (half a second per run).
        "--disable-plugin-autoload",
        "-p",
        "voicewire.harness.pytest_plugin",
        "-p",
        "_hypothesis_pytestplugin",
        "-q",
        "--strict-markers",
        f"--voicewire-iut={options.iut}",
        f"--voicewire-seed={options.seed}",
        f"--hypothesis-seed={options.seed}",
        f"--voicewire-profile={options.profile}",
        f"--voicewire-timeout={options.timeout}",
    ]
    if options.examples is not None:
        args.append(f"--voicewire-examples={options.examples}")
    if not options.shrink:
        args.append("--voicewire-no-shrink")
    if options.keyword:
        args += ["-k", options.keyword]
    if options.replay:
        args.append(f"--voicewire-replay={options.replay}")
    if options.workers:
        args += ["-p", "xdist.plugin", "-n", options.workers]
    if options.direction:
        args.append(f"--voicewire-direction={options.direction}")
    if options.families_only:
        args.append("--voicewire-families-only")
    if options.cassette:
        args += [
            f"--voicewire-cassette={options.cassette}",
            f"--voicewire-time-scale={options.time_scale}",
            f"--voicewire-tolerance={options.tolerance}",
        ]
        if options.events_out:
            args.append(f"--voicewire-events-out={options.events_out}")
    return args


def _suite_of(nodeid: str) -> str:
    match = re.search(r"suites/([A-Za-z0-9_]+)/", nodeid)
    return match.group(1) if match else "other"


def _error_case(nodeid: str, message: str) -> CaseResult:
    """An ERROR for a pytest item that produced no voicewire verdict."""
    return CaseResult(
        nodeid=nodeid,
        name=nodeid.rsplit("::", 1)[-1],
        suite=_suite_of(nodeid),
        direction="client",
        spec_ids=[],
        outcome=Outcome.ERROR,
        message=message,
    )


class _Collector:
    """A pytest plugin (in the controlling process) gathering each case's verdict data.

    With ``exitfirst`` it stops the run at the first case whose outcome fails the run (a
    NON-STRICT one only when ``strict``), which pytest's own ``--exitfirst`` cannot know.
    """

    def __init__(
        self,
        *,
        exitfirst: bool = False,
        strict: bool = False,
        observer: RunObserver | None = None,
    ) -> None:
        self.observer = observer
        self.interrupted = False
        self.cases: dict[str, CaseResult] = {}
        self.durations: dict[str, float] = {}
        self.replays: dict[str, dict[str, Any]] = {}
        self.collected = 0
        self.started: list[str] = []
        self.exitfirst = exitfirst
        self.strict = strict
        self.stopped = False
        self._session: pytest.Session | None = None

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self._session = session

    def _stop_if_failing(self, case: CaseResult) -> None:
        if not self.exitfirst or self.stopped or self._session is None:
            return
        if run_exit_code([case], strict=self.strict) == 0:
            return
        reason = f"--exitfirst: {case.nodeid} did not pass"
        self.stopped = True
        self._session.shouldstop = reason
        # Under xdist the controlling session loop reads its own flag, not the session's.
        dsession = self._session.config.pluginmanager.getplugin("dsession")
        if dsession is not None:
            dsession.shouldstop = reason

    def _set_collected(self, count: int) -> None:
        self.collected = count
        if self.observer is not None:
            self.observer.collected(count)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self._set_collected(len(items))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: Sequence[str]) -> None:
        # Under xdist the workers collect; the controlling process only hears the ids.
        if len(ids) != self.collected:
            self._set_collected(len(ids))

    def pytest_keyboard_interrupt(self) -> None:
        # pytest reports a stop asked for by --exitfirst (shouldstop) through this hook too.
        if not self.stopped:
            self.interrupted = True

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.started.append(nodeid)
        if self.observer is not None:
            self.observer.case_started(nodeid)

    def _record(self, case: CaseResult) -> None:
        first = case.nodeid not in self.cases
        self.cases[case.nodeid] = case
        if first and self.observer is not None:
            self.observer.case_finished(case)
        self._stop_if_failing(case)

    def missing_results(self) -> list[str]:
        """Cases that started but never reported a verdict (a worker died under them)."""
        return [nodeid for nodeid in self.started if nodeid not in self.cases]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        nodeid = report.nodeid
        self.durations[nodeid] = self.durations.get(nodeid, 0.0) + report.duration
        data = dict(report.user_properties).get(PROPERTY_KEY)
        if data is None:
            if report.failed and nodeid not in self.cases:
                # A case without spec marks that fails is still an error of the run.
                self._record(_error_case(nodeid, str(report.longrepr)[-2000:]))
            return
        outcome = Outcome(data["outcome"])
        previous = self.cases.get(nodeid)
        # A teardown error after a verdict makes the case an ERROR; never the reverse.
        if previous is not None and outcome is not Outcome.ERROR:
            return
        capability = data["capability"]
        case = CaseResult(
            nodeid=nodeid,
            name=nodeid.rsplit("::", 1)[-1],
            suite=_suite_of(nodeid),
            direction=TABLE.direction_of(capability),
            spec_ids=data["spec_ids"],
            capability=capability,
            outcome=outcome,
            broken_ids=data["broken_ids"],
            unjudged_ids=data.get("unjudged_ids", []),
            message=data["message"],
            journal=data["journal"],
            examples=data.get("examples"),
            outcome_classes=data.get("outcome_classes", {}),
        )
        if data.get("replay"):
            self.replays[nodeid] = data["replay"]
        self._record(case)


def write_replay(
    path: Path, *, case: CaseResult, family: str, example: dict[str, Any], iut: str
) -> Repro:
    """Write a replay file (and the scenario as YAML beside it) atomically; return the
    :class:`Repro` the report shows."""
    case_file = {
        "format": REPLAY_FORMAT,
        "family": family,
        "case": case.name,
        "suite": case.suite,
        "iut": iut,
        "input": example,
    }
    write_atomically(path, _json_text(case_file))
    scenario_yaml = None
    if isinstance(example.get("scenario"), dict):
        scenario_yaml = yaml.safe_dump(example["scenario"], sort_keys=False, allow_unicode=True)
        write_atomically(path.with_suffix(".scenario.yaml"), scenario_yaml)
    command = f"voicewire run --iut {shlex.quote(iut)} --replay {shlex.quote(str(path))}"
    return Repro(case_file=case_file, scenario_yaml=scenario_yaml, command=command)


def _json_text(data: Any) -> str:
    import json

    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


PREFLIGHT_SECONDS = 60.0
"""How long ``--iut`` may take to start before the run is given up: one clear error, instead
of an ERROR per case repeating it."""


def _check_iut(spec: str) -> list[str]:
    """Start the ``--iut`` adapter once before pytest starts, and close it again.

    An adapter that cannot start (a ``cmd:`` driver without a good hello, a ``python:``
    factory whose adapter fails, a missing extra, a ``url:`` server that is down or refuses
    voicewire's credentials) raises :class:`IUTSpecError` with one message, so a broken IUT
    stops the run at once. Returns the capabilities the adapter declared.
    """
    adapter = parse_iut_spec(spec)
    argv = getattr(adapter, "argv", None)
    if argv is not None:
        import shutil

        if shutil.which(argv[0]) is None and not Path(argv[0]).exists():
            raise IUTSpecError(f"cmd: command not found: {argv[0]!r}")

    async def start_and_close() -> None:
        try:
            await asyncio.wait_for(adapter.start(), PREFLIGHT_SECONDS)
        finally:
            await adapter.aclose()

    try:
        asyncio.run(start_and_close())
    except IUTSpecError:
        raise
    except asyncio.TimeoutError:
        raise IUTSpecError(
            f"{adapter.name}: did not start within {PREFLIGHT_SECONDS:g} s"
        ) from None
    except IUTProtocolError as exc:
        raise IUTSpecError(str(exc)) from None  # it names the adapter and what went wrong
    except Exception as exc:
        raise IUTSpecError(f"{adapter.name}: cannot start: {type(exc).__name__}: {exc}") from None
    declared = getattr(adapter, "capabilities", None)
    return sorted(declared) if isinstance(declared, frozenset) and declared else []


def _pytest_errors(output: str) -> str:
    """What pytest said was wrong (its ``ERROR:`` lines), without the warnings around it."""
    errors = [line for line in output.splitlines() if line.startswith(("ERROR:", "E   "))]
    return "\n".join(errors) if errors else output[-6000:]


# Measured on the two-core development machine (voicewire run, reference IUT): starting the
# xdist workers costs about 4 s, and a run gains from them only when cases that wait (stalls,
# deadlines, property families over sockets) can overlap: the full run took 30 s with
# -n auto against 39 s serially, the chat_context suite 10.4 s against 5.9 s. The estimate
# below (per case, per property family) puts that break-even at about 15 s of serial work.
_SECONDS_PER_CASE = 0.1
_SECONDS_PER_FAMILY = 2.0
_WORKERS_PAY_OFF_AT = 15.0


def resolve_workers(options: RunOptions) -> tuple[str | None, str]:
    """The ``-n`` value the run uses and how to say it: ``auto`` becomes serial for a run too
    small for workers to pay for their start (or on a single core)."""
    if options.workers != "auto":
        count = options.workers
        return count, f"{count} workers" if count else "serial"
    cores = os.cpu_count() or 1
    if cores < 2:
        return None, "serial (-n auto: one core)"
    if options.replay:
        return None, "serial (-n auto: one replayed example)"
    entries = catalog(options.suites, keyword=options.keyword)
    families = sum(entry.family is not None for entry in entries)
    estimate = _SECONDS_PER_CASE * len(entries) + _SECONDS_PER_FAMILY * families
    if estimate < _WORKERS_PAY_OFF_AT:
        return None, (
            f"serial (-n auto: {len(entries)} cases, {families} property "
            f"{'family' if families == 1 else 'families'}: too small a run for workers to pay "
            "for their start)"
        )
    return "auto", f"-n auto: {cores} workers"


def run_conformance(
    options: RunOptions, *, observer: RunObserver | None = None
) -> tuple[RunReport, str]:
    """Run the suites; return the report and pytest's captured output.

    ``observer`` hears the progress (see :mod:`voicewire.harness.progress`). A Ctrl-C during
    the run ends it with the partial report of what ran (``interrupted``, exit code 130).
    Raises :class:`HarnessError` when the arguments are wrong or pytest cannot run the suites.
    """
    try:
        capabilities = _check_iut(options.iut)
    except IUTSpecError as exc:
        raise HarnessError(str(exc)) from None
    if options.replay:
        replay = _read_replay(options.replay)
        options.suites = [replay.get("suite", options.suites[0])]
    workers, parallelism = resolve_workers(options)
    options = dataclasses.replace(options, workers=workers)
    collector = _Collector(exitfirst=options.exitfirst, strict=options.strict, observer=observer)
    started_at = dt.datetime.now(dt.timezone.utc)
    if observer is not None:
        observer.run_started(started_at.isoformat(timespec="seconds"), parallelism)
    start = time.monotonic()
    output = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="voicewire-run-") as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text(_INI, encoding="utf-8")
        args = _pytest_args(options, ini=str(ini))
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            code = pytest.main(args, plugins=[collector, _SuiteImporter()])
    if collector.interrupted:
        ignore_warnings_of_interrupted_hookwrappers()
    duration = time.monotonic() - start
    stopped = code == pytest.ExitCode.INTERRUPTED and (collector.stopped or collector.interrupted)
    if code == pytest.ExitCode.USAGE_ERROR:
        raise HarnessError(_pytest_errors(output.getvalue()))
    if not stopped and code in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR):
        raise HarnessError(
            f"pytest could not run the suites (exit {int(code)}):\n{output.getvalue()[-6000:]}"
        )
    if "INTERNALERROR" in output.getvalue():
        raise HarnessError(f"pytest failed internally:\n{output.getvalue()[-6000:]}")
    # A case a Ctrl-C cut short has no verdict: it counts as not run, not as an ERROR.
    for nodeid in [] if collector.interrupted else collector.missing_results():
        collector.cases[nodeid] = _error_case(
            nodeid, "the case started but reported no result (its worker process died?)"
        )
    cases = [collector.cases[nodeid] for nodeid in sorted(collector.cases)]
    for case in cases:
        case.duration = round(collector.durations.get(case.nodeid, 0.0), 4)
        replay = collector.replays.get(case.nodeid)
        if replay is not None and case.outcome is not Outcome.PASS and not options.replay:
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", case.name)[:80]
            try:
                case.repro = write_replay(
                    Path(options.repro_dir) / f"{case.suite}.{name}.json",
                    case=case,
                    family=replay["family"],
                    example=replay["input"],
                    iut=options.iut,
                )
            except OSError as exc:
                # The verdict stands without its replay file; the report says why it is missing.
                case.message += f"\n(no replay file: cannot write into {options.repro_dir}: {exc})"
    if not capabilities:
        capabilities = sorted(
            {c.capability for c in cases if c.capability and c.outcome is not Outcome.UNSUPPORTED}
        )
    report = RunReport(
        iut=options.iut,
        capabilities=[c for c in capabilities if c in TABLE],
        suites=list(options.suites),
        seed=options.seed,
        hypothesis_profile=options.profile,
        parallelism=parallelism,
        examples=options.examples,
        strict=options.strict,
        started_at=started_at.isoformat(timespec="seconds"),
        duration=round(duration, 3),
        totals={o.value: sum(c.outcome is o for c in cases) for o in Outcome},
        requirements=requirement_results(cases),
        cases=cases,
        not_run=max(collector.collected - len(cases), 0) if stopped else 0,
        interrupted=collector.interrupted,
        exit_code=EXIT_INTERRUPTED
        if collector.interrupted
        else run_exit_code(cases, strict=options.strict),
    )
    return report, output.getvalue()


def _read_replay(path: str) -> dict[str, Any]:
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HarnessError(f"--replay {path}: cannot read: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != REPLAY_FORMAT:
        raise HarnessError(f"--replay {path}: not a voicewire replay file ({REPLAY_FORMAT})")
    if data.get("suite") not in suite_table():
        raise HarnessError(f"--replay {path}: unknown suite {data.get('suite')!r}")
    return data


# -- the catalog (voicewire list) -----------------------------------------------------------


@dataclass(frozen=True)
class CatalogEntry:
    """One case of the catalog."""

    nodeid: str
    suite: str
    name: str
    spec_ids: tuple[str, ...]
    capability: str | None
    direction: str
    doc: str
    family: str | None


class _CatalogCollector:
    def __init__(self) -> None:
        self.entries: list[CatalogEntry] = []

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            ids: list[str] = []
            for marker in item.iter_markers("spec"):
                ids.extend(rid for rid in marker.args if rid not in ids)
            capability_marker = item.get_closest_marker("capability")
            capability = capability_marker.args[0] if capability_marker else None
            function = getattr(item, "function", None)
            doc = (getattr(function, "__doc__", None) or "").strip().splitlines()
            self.entries.append(
                CatalogEntry(
                    nodeid=item.nodeid,
                    suite=_suite_of(item.nodeid),
                    name=item.name,
                    spec_ids=tuple(ids),
                    capability=capability,
                    direction=TABLE.direction_of(capability),
                    doc=doc[0] if doc else "",
                    family=getattr(function, "voicewire_family", None),
                )
            )


def catalog(
    suite_names: Sequence[str] | None = None, *, keyword: str | None = None
) -> list[CatalogEntry]:
    """Every case of the named suites (default: all; ``keyword``: only those ``-k`` selects),
    without running any."""
    collector = _CatalogCollector()
    output = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="voicewire-list-") as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text(_INI, encoding="utf-8")
        args = [
            *_suite_paths(list(suite_names or suite_table())),
            "-c",
            str(ini),
            "--rootdir",
            str(_suites_dir().parent),
            "-p",
            "no:cacheprovider",
            "--collect-only",
            "-q",
            *(["-k", keyword] if keyword else []),
        ]
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            code = pytest.main(args, plugins=[collector, _SuiteImporter()])
    if code == pytest.ExitCode.USAGE_ERROR:
        raise HarnessError(_pytest_errors(output.getvalue()))
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise HarnessError(
            f"pytest could not collect the suites (exit {int(code)}):\n{output.getvalue()}"
        )
    return collector.entries
