"""voicewire's pytest plugin (registered through the ``pytest11`` entry point).

Installed with voicewire, it is loaded in every pytest run of the environment, so it is inert
unless asked: it imports nothing beyond pytest at start, loads no hypothesis profile and starts
nothing until a voicewire fixture, marker or option is used. It gives a test suite:

- the ``spec`` marker, ``@pytest.mark.spec("LLM-TC-1", ...)``, which ties a test to SPEC.md
  requirement IDs; unknown IDs are a collection error, so a typo cannot silently detach a
  test from the requirement it claims to check;
- the ``capability`` marker, ``@pytest.mark.capability("llm.chat")``: the case needs that IUT
  capability; an IUT without it gets the case reported ``UNSUPPORTED`` (a skip whose reason
  starts with ``UNSUPPORTED``), never silently dropped. A case that needs several (the TTS →
  STT round trip) stacks one marker per capability and needs them all; the closest marker
  (the one written nearest the function) is the case's capability in reports and
  ``--voicewire-direction``;
- fixtures: ``voicewire_iut`` (the implementation under test, ``--voicewire-iut``, default
  ``reference``), ``voicewire_simulator`` (the embedded simulator; ``.session(scenario)``
  gives a target with its own script and journal), ``voicewire_scenario`` (build or load a
  scenario and open a session for it in one call), ``voicewire_loop`` (the background event
  loop everything runs on), ``voicewire_case`` (what the current case recorded) and
  ``voicewire_cassette`` (record the test's traffic on its first run, replay it after: the
  ``voicewire_cassette`` marker, ``--voicewire-record-mode once|none|all``,
  ``--voicewire-upstream``);
- voicewire's hypothesis profiles ``ci`` / ``dev`` / ``deep``, only when asked with
  ``--voicewire-profile NAME`` or ``VOICEWIRE_HYPOTHESIS_PROFILE`` (``voicewire run`` asks);
- per-case verdict data (SPEC IDs, broken IDs, outcome, journal excerpt, replay input) in
  each report's ``user_properties`` under ``"voicewire"``, which ``voicewire run`` reads (also
  across ``pytest-xdist`` workers, each of which has its own loop, simulator and IUT).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PROPERTY_KEY = "voicewire"
PROFILE_ENV = "VOICEWIRE_HYPOTHESIS_PROFILE"

__all__ = [
    "PROFILE_ENV",
    "PROPERTY_KEY",
    "ignore_warnings_of_interrupted_hookwrappers",
    "runtime_of",
]


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
        "--voicewire-profile",
        default=None,
        metavar="NAME",
        help="load voicewire's hypothesis profile ci, dev or deep (default: none, unless "
        f"{PROFILE_ENV} names one)",
    )
    group.addoption(
        "--voicewire-examples",
        type=int,
        default=None,
        help="hypothesis examples per property family (default: the profile's)",
    )
    group.addoption(
        "--voicewire-no-shrink",
        action="store_true",
        help="a property family stops at its first failing example, unshrunk (the verdict "
        "without a minimal example)",
    )
    group.addoption(
        "--voicewire-direction",
        choices=("client", "server"),
        default=None,
        help="only cases of this direction: client (a client IUT is tested) or server",
    )
    group.addoption(
        "--voicewire-families-only",
        action="store_true",
        help="only property families (what voicewire fuzz runs)",
    )
    group.addoption(
        "--voicewire-cassette",
        default=None,
        metavar="FILE",
        help="the cassette whose recorded sessions the cassette suite replays (what voicewire "
        "run --cassette runs)",
    )
    group.addoption(
        "--voicewire-time-scale",
        type=float,
        default=0.0,
        help="recorded timing in a cassette replay: 0 as fast as the client goes (default), 1 "
        "as recorded",
    )
    group.addoption(
        "--voicewire-tolerance",
        type=float,
        default=0.05,
        help="seconds two clients' times may differ and still agree in a cassette replay "
        "(default: 0.05)",
    )
    group.addoption(
        "--voicewire-events-out",
        default=None,
        metavar="FILE",
        help="write the IUT's events of a cassette replay as an event log (for voicewire diff)",
    )
    group.addoption(
        "--voicewire-timeout",
        type=float,
        default=60.0,
        help="seconds one IUT operation may take before the case is an ERROR (default: 60)",
    )
    group.addoption(
        "--voicewire-record-mode",
        choices=("once", "none", "all"),
        default="once",
        help="voicewire_cassette: once records a missing cassette and replays an existing one "
        "(default); none only replays; all always records",
    )
    group.addoption(
        "--voicewire-upstream",
        default=None,
        metavar="URL",
        help="voicewire_cassette: the server a recording forwards to (default: "
        "$VOICEWIRE_UPSTREAM, else voicewire's embedded simulator)",
    )


_RUNTIME = pytest.StashKey[Any]()
_PROFILE = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "spec(*ids): the SPEC.md requirement IDs this test checks (e.g. 'CTX-TRUNC-1')",
    )
    config.addinivalue_line(
        "markers",
        "capability(name): the IUT capability the case needs (voicewire list shows them); "
        "without it the case is UNSUPPORTED",
    )
    config.addinivalue_line(
        "markers",
        "voicewire_cassette(path=None, *, mode=None, upstream=None, scenario=None, "
        "time_scale=0): the cassette the voicewire_cassette fixture records or replays",
    )
    iut = config.getoption("voicewire_iut")
    if iut != "reference":
        # Asked for explicitly: a spec that names nothing usable is a usage error, one line,
        # before any test runs (not a setup error with a traceback per test).
        from voicewire.harness.iut import IUTSpecError
        from voicewire.harness.iut_spec import parse_iut_spec

        try:
            parse_iut_spec(iut)
        except IUTSpecError as exc:
            raise pytest.UsageError(f"--voicewire-iut: {exc}") from None
    profile = config.getoption("voicewire_profile") or os.environ.get(PROFILE_ENV) or None
    examples = config.getoption("voicewire_examples")
    if examples is not None and examples < 1:
        raise pytest.UsageError(f"--voicewire-examples must be >= 1, got {examples}")
    shrink = not config.getoption("voicewire_no_shrink")
    if profile is not None or examples is not None or not shrink:
        from voicewire.harness.profiles import load_profile

        # A seed given to hypothesis must choose the examples, also under a derandomized
        # profile: `voicewire run --seed N` passes it.
        seeded = config.getoption("hypothesis_seed", default=None) is not None
        try:
            config.stash[_PROFILE] = load_profile(
                profile, examples=examples, seeded=seeded, shrink=shrink
            )
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None


def ignore_warnings_of_interrupted_hookwrappers() -> None:
    """Silence pluggy's warnings about hookwrappers a Ctrl-C left suspended.

    A SIGINT (the user's, or the one pytest-xdist sends a worker still busy five seconds after
    the run was stopped) can land between pluggy starting an old-style hookwrapper, such as
    hypothesis's ``pytest_runtest_makereport``, and registering it for teardown. The suspended
    generator is closed when it is collected, after ``pytest.main`` returns or at interpreter
    exit, and pluggy then prints a ``PluggyTeardownRaisedWarning`` with a ``GeneratorExit`` to
    stderr: noise about a run already reported as interrupted, naming pytest's internals.
    """
    import warnings

    import pluggy

    warnings.filterwarnings("ignore", category=pluggy.PluggyTeardownRaisedWarning)


def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    import atexit

    # pytest restores its warning filters at unconfigure, and the generators stay referenced
    # until pytest.main returns: the filter is set for the session, then again for the exit.
    # A caller of pytest.main in-process sets it itself (voicewire run does).
    ignore_warnings_of_interrupted_hookwrappers()
    atexit.register(ignore_warnings_of_interrupted_hookwrappers)


def pytest_unconfigure(config: pytest.Config) -> None:
    runtime = config.stash.get(_RUNTIME, None)
    if runtime is not None:
        runtime.close()


def pytest_report_header(config: pytest.Config) -> str | None:
    profile = config.stash.get(_PROFILE, None)
    return None if profile is None else f"voicewire: hypothesis profile {profile!r}"


def runtime_of(config: pytest.Config) -> Any:
    """The process's :class:`~voicewire.harness.runtime.VoicewireRuntime`, created on first
    use."""
    runtime = config.stash.get(_RUNTIME, None)
    if runtime is None:
        from voicewire.harness.runtime import ReplayFileError, VoicewireRuntime, load_replay

        replay_path = config.getoption("voicewire_replay")
        try:
            replay = None if replay_path is None else load_replay(replay_path)
        except ReplayFileError as exc:
            raise pytest.UsageError(str(exc)) from None
        runtime = config.stash[_RUNTIME] = VoicewireRuntime(
            iut_spec=config.getoption("voicewire_iut"),
            seed=config.getoption("voicewire_seed"),
            timeout=config.getoption("voicewire_timeout"),
            replay=replay,
        )
    return runtime


def _capability_of(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("capability")
    return None if marker is None or not marker.args else marker.args[0]


def _capabilities_of(item: pytest.Item) -> list[str]:
    """Every capability the case needs, the closest first."""
    found: list[str] = []
    for marker in item.iter_markers("capability"):
        found.extend(name for name in marker.args[:1] if name not in found)
    return found


def _spec_ids(item: pytest.Item) -> list[str]:
    ids: list[str] = []
    for marker in item.iter_markers("spec"):
        ids.extend(rid for rid in marker.args if rid not in ids)
    return ids


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    marked = [
        item
        for item in items
        if item.get_closest_marker("spec") or item.get_closest_marker("capability")
    ]
    if marked:
        _check_markers(marked)
    if config.getoption("voicewire_replay") is not None:
        _select_replayed_case(config, items, runtime_of(config).replay)
    direction = config.getoption("voicewire_direction")
    families_only = config.getoption("voicewire_families_only")
    if direction is not None or families_only:
        _select(config, items, direction=direction, families_only=families_only)


def _select(
    config: pytest.Config, items: list[pytest.Item], *, direction: str | None, families_only: bool
) -> None:
    from voicewire.harness.protocols import TABLE

    def wanted(item: pytest.Item) -> bool:
        if (
            families_only
            and getattr(getattr(item, "function", None), "voicewire_family", None) is None
        ):
            return False
        if direction is None:
            return True
        capability = _capability_of(item)
        return capability is not None and TABLE.direction_of(capability) == direction

    keep = [item for item in items if wanted(item)]
    config.hook.pytest_deselected(items=[item for item in items if item not in keep])
    items[:] = keep


def _check_markers(items: list[pytest.Item]) -> None:
    from voicewire.harness.protocols import TABLE
    from voicewire.harness.requirements import REQUIREMENTS

    problems: list[str] = []
    for item in items:
        for marker in item.iter_markers("spec"):
            if not marker.args:
                problems.append(f"{item.nodeid}: @pytest.mark.spec() names no requirement ID")
            for rid in marker.args:
                if rid not in REQUIREMENTS:
                    problems.append(f"{item.nodeid}: unknown SPEC requirement ID {rid!r}")
        for marker in item.iter_markers("capability"):
            if len(marker.args) != 1 or marker.args[0] not in TABLE:
                problems.append(
                    f"{item.nodeid}: @pytest.mark.capability needs one of "
                    f"{sorted(TABLE.names)}, got {marker.args!r}"
                )
    if problems:
        raise pytest.UsageError("invalid voicewire markers:\n  " + "\n  ".join(problems))


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


# -- fixtures ---------------------------------------------------------------------------------


_CASE = pytest.StashKey[Any]()


def _case_record(item: pytest.Item) -> Any:
    from voicewire.harness.runtime import CaseRecord

    return item.stash.setdefault(_CASE, CaseRecord())


@pytest.fixture
def voicewire_case(request: pytest.FixtureRequest) -> Any:
    """The current case's :class:`~voicewire.harness.runtime.CaseRecord`."""
    return _case_record(request.node)


@pytest.fixture
def voicewire_loop(request: pytest.FixtureRequest) -> Any:
    """The background event loop the simulator and IUT run on (``.run(coro)``)."""
    return runtime_of(request.config).loop


@pytest.fixture
def voicewire_simulator(request: pytest.FixtureRequest, voicewire_case: Any) -> Any:
    """The embedded simulator (one per process): ``.session(scenario)`` loads a scenario
    under a fresh API key and returns the target that reaches it; ``.journal(target)`` and
    ``.requests(target)`` read what it saw."""
    from voicewire.harness.runtime import CaseSimulator

    return CaseSimulator(runtime_of(request.config).simulator, voicewire_case)


@pytest.fixture
def voicewire_scenario(voicewire_simulator: Any) -> Any:
    """``voicewire_scenario(*rules, **fields)`` or ``voicewire_scenario("file.yaml")``: build
    (or load) a scenario and open a simulator session for it; returns the target
    (``base_url``, ``api_key``, ``api_secret``) to point a client at."""
    from voicewire.simulators.scenario import build_scenario, load_scenario

    def open_session(*rules: Any, name: str = "case", **fields: Any) -> Any:
        if len(rules) == 1 and isinstance(rules[0], (str, Path)):
            if fields:
                raise TypeError("a scenario file takes no other fields")
            return voicewire_simulator.session(load_scenario(rules[0]))
        return voicewire_simulator.session(build_scenario(name, *rules, **fields))

    return open_session


@pytest.fixture
def voicewire_iut(request: pytest.FixtureRequest) -> Any:
    """The implementation under test behind a synchronous driver (see
    :class:`voicewire.harness.driver.IUTDriver`)."""
    _case_record(request.node)
    runtime = runtime_of(request.config)
    return _or_stop_the_session(request.node, runtime.driver)


@pytest.fixture
def voicewire_cassette(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Record this test's traffic on its first run, replay it after (see
    :mod:`voicewire.harness.cassette_fixture`): point clients at ``.base_url``. The
    ``voicewire_cassette`` marker names the file (default
    ``cassettes/<module>/<test>.jsonl`` beside the test), the ``mode`` (else
    ``--voicewire-record-mode``), the ``upstream`` (else ``--voicewire-upstream`` /
    ``$VOICEWIRE_UPSTREAM`` / the embedded simulator), a ``scenario`` file for that simulator
    and a replay's ``time_scale``."""
    from voicewire.harness.cassette_fixture import (
        UPSTREAM_ENV,
        CassetteFixtureError,
        close_cassette_session,
        default_cassette_path,
        open_cassette_session,
    )

    marker = request.node.get_closest_marker("voicewire_cassette")
    options = dict(marker.kwargs) if marker is not None else {}
    if marker is not None and marker.args:
        options.setdefault("path", marker.args[0])
    test_file = Path(str(request.node.path))
    path = options.get("path")
    if path is None:
        path = default_cassette_path(test_file, request.node.name)
    elif not Path(path).is_absolute():
        path = test_file.parent / path
    config = request.config
    mode = options.get("mode") or config.getoption("voicewire_record_mode")
    upstream = (
        options.get("upstream")
        or config.getoption("voicewire_upstream")
        or os.environ.get(UPSTREAM_ENV)
        or None
    )
    runtime = runtime_of(config)
    simulator = None
    if upstream is None:
        scenario = options.get("scenario")
        if scenario is None:
            simulator = runtime.simulator.server_target()
        else:
            from voicewire.harness.runtime import CaseSimulator
            from voicewire.simulators.scenario import load_scenario

            scenario_path = Path(scenario)
            if not scenario_path.is_absolute():
                scenario_path = test_file.parent / scenario_path
            simulator = CaseSimulator(runtime.simulator, _case_record(request.node)).session(
                load_scenario(scenario_path)
            )
    try:
        session = runtime.run(
            open_cassette_session(
                Path(path),
                mode,
                upstream=upstream,
                simulator=simulator,
                time_scale=float(options.get("time_scale", 0.0)),
            )
        )
    except CassetteFixtureError as error:
        pytest.fail(f"voicewire_cassette: {error}", pytrace=False)
    yield session
    try:
        runtime.run(close_cassette_session(session))
    except CassetteFixtureError as error:
        pytest.fail(f"voicewire_cassette: {error}", pytrace=False)


def _or_stop_the_session(item: pytest.Item, get: Any) -> Any:
    """``get()``, or, when the IUT cannot be built or started, one short error for this case
    and a stop for the session: every later case would only repeat it."""
    from voicewire.harness.iut import IUTProtocolError, IUTSpecError

    try:
        return get()
    except (IUTSpecError, IUTProtocolError) as exc:
        detail = str(exc)  # these name the IUT and what went wrong
    except Exception as exc:
        detail = f"{item.config.getoption('voicewire_iut')}: {type(exc).__name__}: {exc}"
    message = f"voicewire: the IUT cannot start: {detail}"
    item.session.shouldstop = message
    pytest.fail(message, pytrace=False)


# -- UNSUPPORTED and verdict capture --------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    needed = _capabilities_of(item)
    if not needed:
        return
    from voicewire.harness.runtime import UNSUPPORTED_PREFIX

    runtime = runtime_of(item.config)
    declared = _or_stop_the_session(item, runtime.capabilities)
    missing = [capability for capability in needed if capability not in declared]
    if missing:
        name = runtime.adapter().name
        pytest.skip(f"{UNSUPPORTED_PREFIX}: {name} does not declare {missing[0]!r}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[Any]:
    if not _spec_ids(item):
        return (yield)
    from voicewire.harness.verdicts import collect_expectations

    # A case that names SPEC IDs reports every expectation it breaks, not only the first.
    with collect_expectations():
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report = yield
    spec_ids = _spec_ids(item)
    if not spec_ids:
        return report
    from voicewire.harness.runtime import case_verdict

    skipped_reason = None
    if report.skipped:
        longrepr = report.longrepr
        skipped_reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    data = case_verdict(
        spec_ids=spec_ids,
        capability=_capability_of(item),
        when=call.when,
        skipped_reason=skipped_reason,
        failure=call.excinfo.value if report.failed and call.excinfo is not None else None,
        passed=report.passed,
        record=item.stash.get(_CASE, None),
        runtime=item.config.stash.get(_RUNTIME, None),
    )
    if data is not None:
        report.user_properties.append((PROPERTY_KEY, data))
    return report
