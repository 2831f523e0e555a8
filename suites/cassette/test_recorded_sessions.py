"""A cassette's recorded sessions, one case each (``voicewire run --cassette FILE --iut SPEC``).

Each case replays one recorded session's server side twice, on a replayer serving that
session alone (:class:`~voicewire.simulators.recording.replay.CassetteReplayServer`, recorded
timing scaled by ``--voicewire-time-scale``): once to voicewire's reference client, once to the
IUT, each performing the operation that makes the recorded client's traffic. The IUT must send
only what the recording holds (the SPEC IDs of what a client sends on the endpoint), and its
stream must agree with the reference's on every aspect (text, tool calls, finals with their
times, audio bytes and durations, order, errors: each under its own SPEC IDs; times within
``--voicewire-tolerance``). A session the operation's request model cannot express, or whose
capability the IUT does not declare, is UNSUPPORTED; a session the reference itself cannot
replay is an ERROR (nothing to judge the IUT against). See
:mod:`voicewire.harness.cassette_run`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from voicewire.harness.cassette_run import (
    EventsOut,
    RecordedSession,
    cassette_sessions,
    judge_session,
    play_session,
)
from voicewire.harness.iut import IUT
from voicewire.harness.iut_spec import parse_iut_spec
from voicewire.harness.pytest_plugin import runtime_of
from voicewire.harness.runtime import UNSUPPORTED_PREFIX
from voicewire.simulators.recording.cassette import CassetteError, load_cassette


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "recorded_session" not in metafunc.fixturenames:
        return
    path = metafunc.config.getoption("voicewire_cassette")
    if path is None:
        metafunc.parametrize(
            "recorded_session",
            [pytest.param(None, marks=pytest.mark.skip(reason="no --voicewire-cassette given"))],
        )
        return
    try:
        cassette = load_cassette(path)
    except CassetteError as exc:
        raise pytest.UsageError(f"--voicewire-cassette: {exc}") from None
    params = []
    for session in cassette_sessions(cassette):
        marks = [
            pytest.mark.spec(*session.spec_ids),
            pytest.mark.capability(session.operation.capability),
        ]
        if session.unreplayable is not None:
            marks.append(pytest.mark.skip(reason=f"{UNSUPPORTED_PREFIX}: {session.unreplayable}"))
        params.append(pytest.param(session, id=session.name, marks=marks))
    metafunc.parametrize("recorded_session", params)


@pytest.fixture(scope="session")
def reference_client(request: pytest.FixtureRequest) -> Iterator[IUT]:
    """voicewire's reference client, started on the run's loop: the baseline of every case."""
    runtime = runtime_of(request.config)
    adapter = parse_iut_spec("reference")
    runtime.run(adapter.start())
    yield adapter
    runtime.run(adapter.aclose())


@pytest.fixture(scope="session")
def iut_events_out(request: pytest.FixtureRequest) -> EventsOut | None:
    """Where the IUT's events go as an event log (``--voicewire-events-out``), or None."""
    path = request.config.getoption("voicewire_events_out")
    if path is None:
        return None
    source = (
        f"{request.config.getoption('voicewire_iut')} played against "
        f"{request.config.getoption('voicewire_cassette')}"
    )
    return EventsOut(path, source=source)


def test_recorded_session(
    recorded_session: RecordedSession,
    voicewire_iut: Any,
    reference_client: IUT,
    iut_events_out: EventsOut | None,
    request: pytest.FixtureRequest,
) -> None:
    """The IUT replays a recorded session as the reference does: the same traffic, a stream
    that agrees on every aspect."""
    scale = request.config.getoption("voicewire_time_scale")
    reference = voicewire_iut.run(
        play_session(reference_client, recorded_session, time_scale=scale)
    )
    played = voicewire_iut.run(
        play_session(voicewire_iut.adapter, recorded_session, time_scale=scale)
    )
    if iut_events_out is not None:
        iut_events_out.add(recorded_session, played.answer)
    judge_session(
        recorded_session,
        reference=reference,
        iut=played,
        tolerance=request.config.getoption("voicewire_tolerance"),
    )
