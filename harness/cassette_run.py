"""Recorded sessions as test cases: ``voicewire run --cassette FILE --iut SPEC``.

A cassette holds what a client and a server said to each other. Replaying the server's side
(:class:`~voicewire.simulators.recording.replay.CassetteReplayServer`) to a client that makes
the same requests gives that client the same answers, so two clients can be compared on
them: the implementation under test and voicewire's reference. For each recorded session this
module builds the operation the IUT must perform to make the recorded client's traffic (each
protocol says how, in a :class:`CassetteOperation` registered in
:mod:`voicewire.harness.protocols`), plays the reference and the IUT against their own
replayer serving only that session, normalises both event streams
(:mod:`voicewire.harness.stream_diff`) and judges one expectation per aspect (text, tool
calls, finals, audio ...) under that aspect's SPEC IDs. What the IUT sent that the recording
does not hold (the replayer's mismatches) breaks the SPEC IDs of what a client sends.

The cases run through pytest and voicewire's plugin (``suites/cassette``), so every report
format carries them; :func:`cassette_event_log` plays one implementation over a whole
cassette without pytest, for ``voicewire diff``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError
from voicewire.harness.cassette_operation import CassetteOperation, NotReplayable
from voicewire.harness.event_log import EventLog, EventLogSession, write_event_log
from voicewire.harness.iut import IUT, Target, perform
from voicewire.harness.iut_spec import parse_iut_spec
from voicewire.harness.protocols import CASSETTE_OPERATIONS, NORMALISERS, TABLE
from voicewire.harness.stream_diff import NormalisedStream, compare
from voicewire.harness.verdicts import expect
from voicewire.simulators.recording.cassette import Cassette, RecordedExchange, load_cassette

__all__ = [
    "DEFAULT_TIME_SCALE",
    "DEFAULT_TOLERANCE",
    "REPLAY_API_KEY",
    "REPLAY_API_SECRET",
    "EventsOut",
    "RecordedSession",
    "SessionPlay",
    "cassette_event_log",
    "cassette_sessions",
    "judge_session",
    "play_session",
]

DEFAULT_TIME_SCALE = 0.0
"""How recorded timing is kept when a session is replayed to a client (0: as fast as the
client goes; 1: as recorded)."""

DEFAULT_TOLERANCE = 0.05
"""Seconds two clients' times (finals, words) may differ and still agree."""

REPLAY_API_KEY = "voicewire-replay"
REPLAY_API_SECRET = "voicewire-replay-secret-0123456789abcdef"
"""The credentials a replayed client presents: the replayer accepts any (the cassette holds
none); the secret is long enough for a token no client warns about."""


# -- sessions ------------------------------------------------------------------------------------


def _operations() -> dict[str, CassetteOperation]:
    return {operation.endpoint: operation for operation in CASSETTE_OPERATIONS}


def _base_path(exchange: RecordedExchange) -> str:
    """The part of the recorded path before the endpoint's route (``/v1`` of
    ``/v1/chat/completions``): a replayed client's base URL keeps it."""
    import voicewire.simulators  # noqa: F401  (fills the registry with every protocol)
    from voicewire.simulators.core.registry import REGISTRY

    path = exchange.request.path
    for _, endpoint in REGISTRY.recorded():
        if endpoint.endpoint == exchange.request.endpoint and path.endswith(endpoint.path):
            return path[: len(path) - len(endpoint.path)]
    return ""


@dataclass(frozen=True)
class RecordedSession:
    """One recorded session of a cassette (one exchange) and the operation that replays it.

    ``number`` counts the cassette's sessions from 0; ``unreplayable`` says why the request
    model cannot express the session (None: it can)."""

    number: int
    cassette: Cassette = field(repr=False)
    exchange: RecordedExchange = field(repr=False)
    operation: CassetteOperation
    unreplayable: str | None = None

    @property
    def name(self) -> str:
        """The session as a case names it: ``x<exchange>-<endpoint>``."""
        return f"x{self.exchange.x}-{self.operation.endpoint}"

    @property
    def spec_ids(self) -> list[str]:
        """The SPEC IDs a replay of the session judges: what a client sends on the endpoint,
        then what each aspect of the operation's stream evidences."""
        ids = list(self.operation.traffic_ids)
        try:
            aspects = NORMALISERS.normalise(self.operation.capability, [], None).aspects
        except (KeyError, ValueError, TypeError):
            aspects = {}
        for aspect in aspects.values():
            ids.extend(rid for rid in aspect.rules if rid not in ids)
        return ids

    def alone(self) -> Cassette:
        """The cassette reduced to this session, so a replay cannot hand its client another
        session's answer."""
        return Cassette(
            path=self.cassette.path, header=self.cassette.header, exchanges=[self.exchange]
        )

    def request(self, base_url: str) -> BaseModel:
        """The operation's request against a replayer at ``base_url`` (the recorded base path
        kept); :class:`NotReplayable` when it cannot be expressed."""
        target = Target(
            base_url=base_url + _base_path(self.exchange),
            api_key=REPLAY_API_KEY,
            api_secret=REPLAY_API_SECRET,
        )
        try:
            return self.operation.request(self.exchange, target)
        except ValidationError as exc:
            # A recorded value outside what the request model admits (an odd byte count of
            # audio, a rate out of range): the model cannot say it.
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise NotReplayable(
                f"exchange {self.exchange.x}: the {self.operation.operation} request cannot "
                f"hold what was recorded: {where}: {first['msg']}"
            ) from None


def cassette_sessions(cassette: Cassette) -> list[RecordedSession]:
    """The sessions of ``cassette`` some protocol can replay, in recorded order: one per
    exchange of a registered endpoint (an exchange no protocol owns has no client operation:
    :func:`unowned_exchanges` names them)."""
    operations = _operations()
    sessions: list[RecordedSession] = []
    for exchange in cassette.exchanges:
        operation = operations.get(exchange.request.endpoint or "")
        if operation is None:
            continue
        session = RecordedSession(len(sessions), cassette, exchange, operation)
        try:
            session.request("http://127.0.0.1:1")
        except NotReplayable as exc:
            session = RecordedSession(
                session.number, cassette, exchange, operation, unreplayable=str(exc)
            )
        sessions.append(session)
    return sessions


def unowned_exchanges(cassette: Cassette) -> list[tuple[RecordedExchange, str]]:
    """The exchanges of ``cassette`` no client operation replays, each with why: a request to
    an endpoint no protocol voicewire speaks owns (a provider's model list, a health check),
    which the recording proxy forwarded and recorded all the same."""
    operations = _operations()
    return [
        (
            exchange,
            f"exchange {exchange.x} ({exchange.request.method} {exchange.request.path}, line "
            f"{exchange.line}): no protocol voicewire speaks owns this endpoint, so no client "
            "operation replays it",
        )
        for exchange in cassette.exchanges
        if exchange.request.endpoint not in operations
    ]


# -- playing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionPlay:
    """What one client did on a replayed session: the operation's ``answer`` and what the
    replayer could not match (``mismatches``, in order)."""

    answer: BaseModel
    mismatches: tuple[str, ...]


async def play_session(
    iut: IUT, session: RecordedSession, *, time_scale: float = DEFAULT_TIME_SCALE
) -> SessionPlay:
    """Play ``iut`` (started) against a replayer serving ``session`` alone: the session's
    operation, aimed at the replayer; the answer and the replayer's mismatches."""
    from voicewire.simulators.recording.replay import CassetteReplayServer

    server = CassetteReplayServer(session.alone(), time_scale=time_scale)
    await server.start()
    try:
        request = session.request(server.base_url)
        answer = await perform(iut, TABLE, session.operation.operation, request)
    finally:
        await server.stop()
    return SessionPlay(answer=answer, mismatches=tuple(server.mismatches))


def _log_session(number: int, session: RecordedSession, answer: BaseModel) -> EventLogSession:
    return EventLogSession.of_answer(
        number, session.operation.capability, answer, exchange=session.exchange.x
    )


def cassette_event_log(
    cassette_path: str | Path,
    iut: str = "reference",
    *,
    time_scale: float = DEFAULT_TIME_SCALE,
    timeout: float = 60.0,
) -> EventLog:
    """Play ``iut`` (an ``--iut`` value, default the reference) against every session of the
    cassette, one after another, each on a replayer serving it alone; the event log of what
    it emitted, one log session per cassette session it could play (a session the request
    model cannot express, or of a capability the IUT does not declare, is left out; each log
    session names its exchange). Raises
    :class:`~voicewire.simulators.recording.cassette.CassetteError` for a bad cassette and
    :class:`~voicewire.harness.iut.IUTSpecError` for an IUT that cannot start."""
    from datetime import datetime, timezone

    cassette = load_cassette(cassette_path)
    sessions = [s for s in cassette_sessions(cassette) if s.unreplayable is None]
    adapter = parse_iut_spec(iut)

    async def play_all() -> list[EventLogSession]:
        played: list[EventLogSession] = []
        await asyncio.wait_for(adapter.start(), timeout)
        try:
            declared = frozenset(adapter.capabilities)
            for session in sessions:
                if session.operation.capability not in declared:
                    continue
                play = await asyncio.wait_for(
                    play_session(adapter, session, time_scale=time_scale), timeout
                )
                played.append(_log_session(len(played), session, play.answer))
        finally:
            await adapter.aclose()
        return played

    return EventLog(
        source=f"{iut} played against {cassette_path}",
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        sessions=asyncio.run(play_all()),
    )


# -- judging (the cases of voicewire run --cassette) ---------------------------------------------


class EventsOut:
    """The IUT's events of a cassette run, written as an event log after every session
    (atomically: a run stopped half way leaves the sessions it played)."""

    def __init__(self, path: str | Path, *, source: str) -> None:
        self.path = Path(path)
        self.source = source
        self.sessions: list[EventLogSession] = []

    def add(self, session: RecordedSession, answer: BaseModel) -> None:
        """Add the IUT's answer on ``session`` and rewrite the log."""
        self.sessions.append(_log_session(len(self.sessions), session, answer))
        write_event_log(self.path, self.sessions, source=self.source)


def _normalised(session: RecordedSession, answer: BaseModel) -> NormalisedStream:
    logged = _log_session(0, session, answer)
    return NORMALISERS.normalise(session.operation.capability, logged.events, logged.answer)


def judge_session(
    session: RecordedSession,
    *,
    reference: SessionPlay,
    iut: SessionPlay,
    tolerance: float = DEFAULT_TOLERANCE,
) -> None:
    """Judge the IUT's play of ``session`` against the reference's, as expectations of the
    running case (:func:`~voicewire.harness.verdicts.expect`): the IUT sent only what the
    recording holds (the operation's traffic IDs), and its stream agrees with the
    reference's on every aspect that cites SPEC rules (each under its rules; a difference is
    shown reference vs IUT). A reference that could not replay the session itself raises
    ``RuntimeError`` (the case is an ERROR, not the IUT's FAIL): nothing can be judged
    against it."""
    if reference.mismatches:
        raise RuntimeError(
            f"the reference client does not make the recorded traffic of exchange "
            f"{session.exchange.x}, so it cannot stand for the recorded client: "
            + "; ".join(reference.mismatches[:3])
        )
    expect(
        not iut.mismatches,
        session.operation.traffic_ids,
        f"exchange {session.exchange.x}: the IUT sent what the recording does not hold: "
        + "; ".join(iut.mismatches[:5]),
    )
    matrix = compare(
        [_normalised(session, reference.answer), _normalised(session, iut.answer)],
        tolerance=tolerance,
        names=["reference", "IUT"],
    )
    for aspect, diff in matrix.cells[(0, 1)].items():
        rules = matrix.rules.get(aspect, ())
        if rules:
            expect(
                diff.agree,
                rules,
                f"exchange {session.exchange.x}: {aspect} differs from the reference's on the "
                f"same recording (reference vs IUT): {diff.difference}",
            )
