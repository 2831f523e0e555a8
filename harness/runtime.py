"""The per-process machinery of a conformance run: loop, embedded simulator, IUT, case records.

The pytest plugin creates one :class:`VoicewireRuntime` per pytest process, the first time a
voicewire fixture or marker needs it (under ``pytest-xdist`` every worker has its own), and
turns each case's outcome into the verdict data reports read (:func:`case_verdict`).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicewire.harness.driver import IUTDriver
from voicewire.harness.embedded import BackgroundLoop, EmbeddedSimulator, HarnessTimeout
from voicewire.harness.iut import IUT
from voicewire.harness.iut_spec import parse_iut_spec
from voicewire.harness.protocols import TABLE
from voicewire.harness.verdicts import Outcome, SpecViolation, case_outcome

if sys.version_info < (3, 11):  # pragma: no cover - hypothesis installs the backport there
    from exceptiongroup import BaseExceptionGroup

__all__ = [
    "JOURNAL_EXCERPT_ENTRIES",
    "JOURNAL_EXCERPT_HEAD",
    "JOURNAL_EXCERPT_SESSIONS",
    "UNSUPPORTED_PREFIX",
    "CaseRecord",
    "CaseSimulator",
    "ReplayFileError",
    "VoicewireRuntime",
    "case_verdict",
    "load_replay",
]

UNSUPPORTED_PREFIX = "UNSUPPORTED"
JOURNAL_EXCERPT_ENTRIES = 60
"""Journal entries a case's report keeps at most: the first :data:`JOURNAL_EXCERPT_HEAD` and
the last ones, with a ``wire.note`` of kind ``entries_left_out`` between them."""
JOURNAL_EXCERPT_HEAD = 20
JOURNAL_EXCERPT_SESSIONS = 8
"""Simulator sessions of a case whose journal is read (the most recent ones)."""


class ReplayFileError(ValueError):
    """A ``--voicewire-replay`` file that cannot be used; the message says why."""


def load_replay(path: str) -> dict[str, Any]:
    """The replay file at ``path`` (``family`` and ``input`` at least)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ReplayFileError(f"--voicewire-replay {path}: cannot read: {exc}") from exc
    if not isinstance(data, dict) or not {"family", "input"} <= set(data):
        raise ReplayFileError(
            f"--voicewire-replay {path}: not a voicewire replay file (needs 'family' and 'input')"
        )
    return data


class VoicewireRuntime:
    """The loop, embedded simulator and IUT of one pytest process, each created on first use."""

    def __init__(
        self, *, iut_spec: str, seed: int, timeout: float, replay: dict[str, Any] | None
    ) -> None:
        self.iut_spec = iut_spec
        self.seed = seed
        self.timeout = timeout
        self.replay = replay
        self.table = TABLE
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
            self._simulator = EmbeddedSimulator(self.loop, seed=self.seed)
        return self._simulator

    def run(self, coro: Any, *, timeout: float | None = None) -> Any:
        """Run a coroutine on the loop within the per-operation timeout."""
        return self.loop.run(coro, timeout=timeout or self.timeout)

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
                self.run(adapter.start())
            except BaseException as exc:
                self._iut_error = exc
                raise
            self._iut = adapter
        return self._iut

    def driver(self) -> IUTDriver:
        """The started IUT behind a synchronous driver."""
        return IUTDriver(
            self.iut(), self.table, run=self.run, embedded=self.simulator.server_target
        )

    def capabilities(self) -> frozenset[str]:
        """What the IUT declares: known before start for most adapters (a ``cmd:`` driver
        only says so in its hello, so that one is started first)."""
        declared = frozenset(self.adapter().capabilities)
        return declared if declared else frozenset(self.iut().capabilities)

    def journal_excerpt(self, sessions: list[str]) -> list[dict[str, Any]]:
        """The journal entries of a case's sessions in recording order (``seq``), bounded by
        :data:`JOURNAL_EXCERPT_ENTRIES`: the head keeps the requests that started the
        exchange, the tail how it ended."""
        if self._simulator is None:
            return []
        entries: list[dict[str, Any]] = []
        problems: list[dict[str, Any]] = []
        for name in sessions[-JOURNAL_EXCERPT_SESSIONS:]:
            try:
                entries.extend(self._simulator.journal(name))
            except Exception as exc:  # a broken simulator must not hide the case's verdict
                problems.append({"kind": "journal_unavailable", "data": str(exc)})
        # Sessions of one case can overlap in time (a fallback, concurrent streams).
        entries.sort(key=lambda entry: entry.get("seq", 0))
        return _head_and_tail(entries) + problems

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


def _head_and_tail(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(entries) <= JOURNAL_EXCERPT_ENTRIES:
        return entries
    tail = JOURNAL_EXCERPT_ENTRIES - JOURNAL_EXCERPT_HEAD
    head, left_out = entries[:JOURNAL_EXCERPT_HEAD], entries[JOURNAL_EXCERPT_HEAD:-tail]
    gap = {
        "type": "wire.note",
        "seq": left_out[0].get("seq"),
        "t": left_out[0].get("t"),
        "scenario": left_out[0].get("scenario"),
        "exchange": left_out[0].get("exchange"),
        "kind": "entries_left_out",
        "data": {"entries": len(left_out)},
    }
    return [*head, gap, *entries[-tail:]]


@dataclass
class CaseRecord:
    """What the running case did that a report needs: its simulator sessions (for the journal
    excerpt; after a property family failed, only those of the failing example) and, for a
    property family, the input of the example that ran last (after a failure: hypothesis's
    shrunk example)."""

    sessions: list[str] = field(default_factory=list)
    family: str | None = None
    property_input: dict[str, Any] | None = None
    examples: int = 0
    """Examples a property family ran (boundaries included)."""
    outcome_classes: dict[str, int] = field(default_factory=dict)
    """How many examples ended in each class a family's check named (see ``classify``)."""


class CaseSimulator:
    """The embedded simulator as one case sees it: sessions it opens are recorded."""

    def __init__(self, simulator: EmbeddedSimulator, record: CaseRecord) -> None:
        self._simulator = simulator
        self._record = record

    def session(self, scenario: Any = None) -> Any:
        """:meth:`EmbeddedSimulator.session`, recorded for the case's journal excerpt."""
        target = self._simulator.session(scenario)
        self._record.sessions.append(self._simulator.scenario_name(target))
        return target

    def __getattr__(self, name: str) -> Any:
        return getattr(self._simulator, name)


# -- verdicts of one case --------------------------------------------------------------------


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


def case_verdict(
    *,
    spec_ids: list[str],
    capability: str | None,
    when: str,
    skipped_reason: str | None,
    failure: BaseException | None,
    passed: bool,
    record: CaseRecord | None,
    runtime: VoicewireRuntime | None,
) -> dict[str, Any] | None:
    """The verdict data of one case phase (None when the phase decides nothing): outcome,
    broken IDs, message, and for a case that did not pass the journal excerpt and the replay
    input. Plain JSON values only: under xdist it crosses process boundaries."""
    outcome: Outcome | None = None
    broken: list[str] = []
    unjudged: list[str] = []
    message = ""
    if skipped_reason is not None and when == "setup":
        if UNSUPPORTED_PREFIX in skipped_reason:
            outcome = Outcome.UNSUPPORTED
            message = skipped_reason.split("Skipped: ", 1)[-1]
    elif failure is not None:
        ids = _broken_ids(failure, spec_ids) if when == "call" else None
        if ids is None:
            outcome = Outcome.ERROR
            message = f"{type(failure).__name__}: {failure}"
        else:
            broken = ids
            outcome = case_outcome(ids)
            message = str(failure)
            if getattr(failure, "stopped", False):
                unjudged = [rid for rid in spec_ids if rid not in broken]
    elif passed and when == "call":
        outcome = Outcome.PASS
    if outcome is None:
        return None
    data: dict[str, Any] = {
        "spec_ids": spec_ids,
        "capability": capability,
        "outcome": outcome.value,
        "broken_ids": broken,
        "unjudged_ids": unjudged,
        "message": message[:4000],
        "journal": [],
        "replay": None,
    }
    if record is not None and record.family is not None and when == "call":
        data["examples"] = record.examples
        data["outcome_classes"] = dict(record.outcome_classes)
    failed = outcome in (Outcome.FAIL, Outcome.NON_STRICT, Outcome.ERROR)
    if failed and record is not None and runtime is not None:
        data["journal"] = runtime.journal_excerpt(record.sessions)
        if record.family is not None and record.property_input is not None:
            data["replay"] = {"family": record.family, "input": record.property_input}
    return json.loads(json.dumps(data, default=str))
