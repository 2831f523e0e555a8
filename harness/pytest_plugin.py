"""voicewire's pytest plugin (registered through the ``pytest11`` entry point).

Installed with ``pip install voicewire``, it gives any test suite:

- the hypothesis profiles ``ci`` / ``dev`` / ``deep`` (see
  :mod:`voicewire.harness.profiles`), with ``ci`` selected automatically when the
  ``CI`` environment variable is set, unless ``--hypothesis-profile`` names one;
- the ``spec`` marker, ``@pytest.mark.spec("LLM-TC-1", ...)``, which ties a test to SPEC.md
  requirement IDs; unknown IDs are a collection error, so a typo cannot silently detach a
  test from the requirement it claims to check;
- the ``capability`` marker, ``@pytest.mark.capability("llm.chat")``: the case needs that IUT
  capability; an IUT without it gets the case reported ``UNSUPPORTED`` (a skip whose reason
  starts with ``UNSUPPORTED``), never silently dropped;
- fixtures: ``voicewire_iut`` (the implementation under test, ``--voicewire-iut``, default
  ``reference``), ``voicewire_simulator`` (the embedded simulator; ``.session(scenario)``
  gives an LLM target with its own script and journal), ``voicewire_scenario`` (build or load
  a scenario and open a session for it in one call), ``voicewire_loop`` (the background
  event loop everything runs on) and ``voicewire_case`` (what the current case recorded: its
  simulator sessions and property input, for reports);
- per-case verdict data (SPEC IDs, broken IDs, outcome, journal excerpt, replay input) in
  each report's ``user_properties`` under ``"voicewire"``, which ``voicewire run`` reads (also
  across ``pytest-xdist`` workers, each of which has its own loop, simulator and IUT).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from voicewire.harness.embedded import BackgroundLoop, EmbeddedSimulator, HarnessTimeout
from voicewire.harness.iut import CAPABILITIES, IUT, IUTSpecError, parse_iut_spec
from voicewire.harness.verdicts import Outcome, SpecViolation, case_outcome
from voicewire.harness.profiles import default_profile_name, register_profiles
from voicewire.harness.requirements import REQUIREMENTS

if sys.version_info < (3, 11):  # pragma: no cover - hypothesis installs the backport there
    from exceptiongroup import BaseExceptionGroup

# Registered at import so hypothesis' own plugin can load a profile named with
# --hypothesis-profile during its pytest_configure.
register_profiles()

UNSUPPORTED_PREFIX = "UNSUPPORTED"
JOURNAL_EXCERPT_ENTRIES = 40
PROPERTY_KEY = "voicewire"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("voicewire")
    group.addoption(
        "--voicewire-iut",
        default="reference",
        help="implementation under test: reference | python:pkg.module:factory | "
        "cmd:<command> | url:<base_url> (default: reference)",
    )
    group.addoption(
        "--voicewire-seed",
        type=int,
        default=0,
        help="seed of every scripted random choice in the suites (default: 0)",
    )
    group.addoption(
        "--voicewire-replay",
        default=None,
        metavar="FILE",
        help="replay one recorded property example (a file a failed run wrote)",
    )
    group.addoption(
        "--voicewire-examples",
        type=int,
        default=None,
        help="hypothesis examples per property family (default: the profile's)",
    )
    group.addoption(
        "--voicewire-timeout",
        type=float,
        default=60.0,
        help="seconds one IUT operation may take before the case is an ERROR (default: 60)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "spec(*ids): the SPEC.md requirement IDs this test checks (e.g. 'CTX-TRUNC-1')",
    )
    config.addinivalue_line(
        "markers",
        "capability(name): the IUT capability the case needs (llm.chat, llm.fallback, "
        "chat_context, llm.server); without it the case is UNSUPPORTED",
    )
    if config.getoption("hypothesis_profile", default=None) is None:
        settings.load_profile(default_profile_name())
    examples = config.getoption("voicewire_examples", default=None)
    if examples is not None:
        if examples < 1:
            raise pytest.UsageError(f"--voicewire-examples must be >= 1, got {examples}")
        base = settings.get_current_profile_name()
        settings.register_profile(
            f"{base}+examples", parent=settings.get_profile(base), max_examples=examples
        )
        settings.load_profile(f"{base}+examples")
    config.stash[_RUNTIME] = VoicewireRuntime(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    runtime = config.stash.get(_RUNTIME, None)
    if runtime is not None:
        runtime.close()


def pytest_report_header(config: pytest.Config) -> str:
    return f"voicewire: hypothesis profile {settings.get_current_profile_name()!r}"


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    problems: list[str] = []
    for item in items:
        for marker in item.iter_markers("spec"):
            if not marker.args:
                problems.append(f"{item.nodeid}: @pytest.mark.spec() names no requirement ID")
            for rid in marker.args:
                if rid not in REQUIREMENTS:
                    problems.append(f"{item.nodeid}: unknown SPEC requirement ID {rid!r}")
        for marker in item.iter_markers("capability"):
            if len(marker.args) != 1 or marker.args[0] not in CAPABILITIES:
                problems.append(
                    f"{item.nodeid}: @pytest.mark.capability needs one of "
                    f"{sorted(CAPABILITIES)}, got {marker.args!r}"
                )
    if problems:
        raise pytest.UsageError("invalid voicewire markers:\n  " + "\n  ".join(problems))
    replay = runtime_of(config).replay
    if replay is not None:
        _select_replayed_case(config, items, replay)


def _select_replayed_case(
    config: pytest.Config, items: list[pytest.Item], replay: dict[str, Any]
) -> None:
    """Under ``--voicewire-replay`` only the recorded case runs."""
    wanted = replay.get("case")
    keep = [
        item
        for item in items
        if getattr(getattr(item, "function", None), "voicewire_family", None) == replay["family"]
        and (wanted is None or item.name == wanted)
    ]
    config.hook.pytest_deselected(items=[item for item in items if item not in keep])
    items[:] = keep


# -- the per-process runtime: loop, simulator, IUT ------------------------------------------


class VoicewireRuntime:
    """The loop, embedded simulator and IUT of one pytest process, created on first use."""

    def __init__(self, config: pytest.Config) -> None:
        self.iut_spec: str = config.getoption("voicewire_iut")
        self.seed: int = config.getoption("voicewire_seed")
        self.timeout: float = config.getoption("voicewire_timeout")
        replay = config.getoption("voicewire_replay")
        self.replay: dict[str, Any] | None = None if replay is None else _load_replay(replay)
        self._loop: BackgroundLoop | None = None
        self._simulator: EmbeddedSimulator | None = None
        self._adapter: IUT | None = None
        self._iut: IUT | None = None
        self._iut_error: BaseException | None = None

    @property
    def loop(self) -> BackgroundLoop:
        if self._loop is None:
            self._loop = BackgroundLoop()
        return self._loop

    @property
    def simulator(self) -> EmbeddedSimulator:
        if self._simulator is None:
            self._simulator = EmbeddedSimulator(self.loop)
        return self._simulator

    def adapter(self) -> IUT:
        """The IUT's adapter, built but perhaps not started."""
        if self._iut_error is not None:
            raise self._iut_error
        if self._adapter is None:
            try:
                self._adapter = parse_iut_spec(self.iut_spec)
            except BaseException as exc:
                self._iut_error = exc
                raise
        return self._adapter

    def iut(self) -> IUT:
        """The started IUT (started once; a start failure is re-raised for every case)."""
        adapter = self.adapter()
        if self._iut is None:
            try:
                self.loop.run(adapter.start(), timeout=self.timeout)
            except BaseException as exc:
                self._iut_error = exc
                raise
            self._iut = adapter
        return self._iut

    def capabilities(self) -> frozenset[str]:
        """What the IUT declares: known before start for most adapters (a ``cmd:`` driver
        only says so in its hello, so that one is started first)."""
        declared = frozenset(self.adapter().capabilities)
        return declared if declared else frozenset(self.iut().capabilities)

    def close(self) -> None:
        if self._loop is None:
            return
        try:
            if self._iut is not None:
                self.loop.run(self._iut.aclose(), timeout=10)
            if self._simulator is not None:
                self._simulator.close()
        finally:
            self._loop.close()


_RUNTIME = pytest.StashKey[VoicewireRuntime]()


def _load_replay(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise pytest.UsageError(f"--voicewire-replay {path}: cannot read: {exc}") from exc
    if not isinstance(data, dict) or not {"family", "input"} <= set(data):
        raise pytest.UsageError(
            f"--voicewire-replay {path}: not a voicewire replay file (needs 'family' and 'input')"
        )
    return data


def runtime_of(config: pytest.Config) -> VoicewireRuntime:
    """The process's :class:`VoicewireRuntime`."""
    return config.stash[_RUNTIME]


# -- what a case records --------------------------------------------------------------------


@dataclass
class CaseRecord:
    """What the running case did that a report needs: its simulator sessions (for the journal
    excerpt) and, for a property family, the input of the example that ran last (after a
    failure: hypothesis's shrunk example)."""

    sessions: list[str] = field(default_factory=list)
    family: str | None = None
    property_input: dict[str, Any] | None = None


_CASE = pytest.StashKey[CaseRecord]()


class CaseSimulator:
    """The embedded simulator as one case sees it: sessions it opens are recorded."""

    def __init__(self, simulator: EmbeddedSimulator, record: CaseRecord) -> None:
        self._simulator = simulator
        self._record = record

    def session(self, scenario: Any = None, **llm: Any) -> Any:
        """:meth:`EmbeddedSimulator.session`, recorded for the case's journal excerpt."""
        target = self._simulator.session(scenario, **llm)
        self._record.sessions.append(self._simulator.scenario_name(target))
        return target

    def __getattr__(self, name: str) -> Any:
        return getattr(self._simulator, name)


@pytest.fixture
def voicewire_case(request: pytest.FixtureRequest) -> CaseRecord:
    """The current case's :class:`CaseRecord`."""
    return request.node.stash.setdefault(_CASE, CaseRecord())


@pytest.fixture
def voicewire_loop(request: pytest.FixtureRequest) -> BackgroundLoop:
    """The background event loop the simulator and IUT run on (``.run(coro)``)."""
    return runtime_of(request.config).loop


@pytest.fixture
def voicewire_simulator(request: pytest.FixtureRequest, voicewire_case: CaseRecord) -> Any:
    """The embedded simulator (one per process): ``.session(scenario)`` loads a scenario
    under a fresh API key and returns the ``LLMTarget`` that reaches it; ``.journal(target)``
    and ``.requests(target)`` read what it saw."""
    return CaseSimulator(runtime_of(request.config).simulator, voicewire_case)


@pytest.fixture
def voicewire_scenario(voicewire_simulator: CaseSimulator) -> Any:
    """``voicewire_scenario(*rules, **fields)`` or ``voicewire_scenario("file.yaml")``: build
    (or load) a scenario and open a simulator session for it; returns the ``LLMTarget``
    (``base_url``, ``api_key``, ``api_secret``, ``model``) to point a client at."""
    from voicewire.simulators.scenario import load_scenario
    from voicewire.suites.builders import scenario

    def open_session(*rules: Any, name: str = "case", **fields: Any) -> Any:
        if len(rules) == 1 and isinstance(rules[0], (str, Path)):
            if fields:
                raise TypeError("a scenario file takes no other fields")
            return voicewire_simulator.session(load_scenario(rules[0]))
        return voicewire_simulator.session(scenario(name, *rules, **fields))

    return open_session


@pytest.fixture
def voicewire_iut(request: pytest.FixtureRequest) -> Any:
    """The implementation under test behind a synchronous driver (see
    :class:`voicewire.harness.driver.IUTDriver`)."""
    from voicewire.harness.driver import IUTDriver

    runtime = runtime_of(request.config)
    return IUTDriver(runtime.iut(), runtime, request.node.stash.setdefault(_CASE, CaseRecord()))


# -- UNSUPPORTED and verdict capture --------------------------------------------------------


def _capability_of(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("capability")
    return None if marker is None else marker.args[0]


def _spec_ids(item: pytest.Item) -> list[str]:
    ids: list[str] = []
    for marker in item.iter_markers("spec"):
        ids.extend(rid for rid in marker.args if rid not in ids)
    return ids


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    capability = _capability_of(item)
    if capability is None:
        return
    runtime = runtime_of(item.config)
    if capability not in runtime.capabilities():
        name = runtime.adapter().name
        pytest.skip(f"{UNSUPPORTED_PREFIX}: {name} does not declare {capability!r}")


def _broken_ids(exc: BaseException, spec_ids: list[str]) -> list[str] | None:
    """IDs broken by a failure; None when the failure is not a failed expectation."""
    if isinstance(exc, BaseExceptionGroup):
        broken: list[str] = []
        for inner in exc.exceptions:
            ids = _broken_ids(inner, spec_ids)
            if ids is None:
                return None
            broken.extend(rid for rid in ids if rid not in broken)
        return broken
    if isinstance(exc, SpecViolation):
        return list(exc.ids)
    if isinstance(exc, AssertionError) and not isinstance(exc, HarnessTimeout):
        return list(spec_ids)
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report = yield
    spec_ids = _spec_ids(item)
    if not spec_ids:
        return report
    record = item.stash.get(_CASE, None)
    outcome: Outcome | None = None
    broken: list[str] = []
    message = ""
    if report.skipped and call.when == "setup":
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if UNSUPPORTED_PREFIX in reason:
            outcome = Outcome.UNSUPPORTED
            message = reason.split("Skipped: ", 1)[-1]
    elif report.failed:
        assert call.excinfo is not None
        exc = call.excinfo.value
        ids = _broken_ids(exc, spec_ids) if call.when == "call" else None
        if ids is None:
            outcome = Outcome.ERROR
            message = f"{type(exc).__name__}: {exc}"
        else:
            broken = ids
            outcome = case_outcome(ids)
            message = str(exc)
    elif report.passed and call.when == "call":
        outcome = Outcome.PASS
    if outcome is None:
        return report
    data: dict[str, Any] = {
        "spec_ids": spec_ids,
        "capability": _capability_of(item),
        "outcome": outcome.value,
        "broken_ids": broken,
        "message": message[:4000],
        "journal": [],
        "replay": None,
    }
    if outcome in (Outcome.FAIL, Outcome.NON_STRICT, Outcome.ERROR) and record is not None:
        runtime = runtime_of(item.config)
        data["journal"] = _journal_excerpt(runtime, record.sessions)
        if record.family is not None and record.property_input is not None:
            data["replay"] = {"family": record.family, "input": record.property_input}
    # Reports cross process boundaries under xdist: only plain JSON values may travel.
    report.user_properties.append((PROPERTY_KEY, json.loads(json.dumps(data, default=str))))
    return report


def _journal_excerpt(runtime: VoicewireRuntime, sessions: list[str]) -> list[dict[str, Any]]:
    """The last journal entries of the case's sessions (most recent session last)."""
    if runtime._simulator is None:
        return []
    entries: list[dict[str, Any]] = []
    for name in sessions[-3:]:
        try:
            entries.extend(runtime.simulator.journal(name))
        except Exception as exc:  # a broken simulator must not hide the case's verdict
            entries.append({"kind": "journal_unavailable", "data": str(exc)})
    return entries[-JOURNAL_EXCERPT_ENTRIES:]


__all__ = [
    "CaseRecord",
    "CaseSimulator",
    "IUTSpecError",
    "VoicewireRuntime",
    "runtime_of",
]
