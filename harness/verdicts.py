"""Verdicts: how case outcomes become per-requirement results and an exit code.

SPEC §0: breaking a MUST rule is ``FAIL``; breaking a SHOULD rule is ``NON-STRICT`` (it fails
the run only with ``--strict``); a case whose capability the IUT lacks is ``UNSUPPORTED``;
a case the harness could not carry out (the adapter crashed, the driver broke its protocol,
the case timed out) is ``ERROR``.

A case names its SPEC IDs with ``@pytest.mark.spec``. Its expectations are soft: a failed
:func:`expect` is recorded and the case goes on, so a bug that breaks two rules is blamed on
both; at the end of the case every broken expectation is reported together
(:class:`ExpectationsBroken`). :func:`require` is the hard form, for a precondition the rest
of the case cannot do without (no stream was received: nothing else can be judged). Only the
IDs the broken expectations name are broken; a plain ``AssertionError`` breaks all of the
case's IDs. The case's outcome is FAIL when a broken ID is MUST, NON-STRICT when every broken
ID is SHOULD or MAY.

A requirement's result is the worst over its cases: FAIL, then ERROR, then NON-STRICT, then
PASS (at least one case passed), then UNSUPPORTED (no case could run).

The report model (:class:`RunReport`) is what ``--json`` writes; its JSON schema is
:func:`report_json_schema` (committed as ``docs/report.schema.json``).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator, Sequence
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from voicewire.harness.requirements import REQUIREMENTS, Level

__all__ = [
    "EXIT_INTERRUPTED",
    "CaseResult",
    "ExpectationsBroken",
    "Outcome",
    "Repro",
    "RequirementResult",
    "RunReport",
    "SpecViolation",
    "case_outcome",
    "collect_expectations",
    "expect",
    "report_json_schema",
    "require",
    "requirement_results",
    "run_exit_code",
]

REPORT_FORMAT = "voicewire-report/1"

EXIT_INTERRUPTED = 130
"""The exit status of a run stopped by Ctrl-C (128 + SIGINT, as shells report it)."""


class Outcome(str, Enum):
    """The result of a case, and of a requirement."""

    PASS = "PASS"
    NON_STRICT = "NON-STRICT"
    FAIL = "FAIL"
    UNSUPPORTED = "UNSUPPORTED"
    ERROR = "ERROR"


# Worst first: the order in which a requirement's cases decide its result.
_SEVERITY = [Outcome.FAIL, Outcome.ERROR, Outcome.NON_STRICT, Outcome.PASS, Outcome.UNSUPPORTED]


class SpecViolation(AssertionError):
    """A failed expectation that names the requirement IDs it breaks."""

    def __init__(self, ids: Sequence[str], message: str) -> None:
        ids = tuple(ids)
        unknown = [rid for rid in ids if rid not in REQUIREMENTS]
        if not ids or unknown:
            raise ValueError(f"SpecViolation needs known SPEC IDs, got {ids!r}")
        super().__init__(f"[{', '.join(ids)}] {message}")
        self.ids = ids
        self.message = message


class ExpectationsBroken(SpecViolation):
    """Every expectation one case (or one generated example) broke, in the order they broke;
    ``consequence`` is what the case raised afterwards, when it could not go on."""

    def __init__(
        self,
        violations: Sequence[SpecViolation],
        consequence: BaseException | None = None,
        *,
        stopped: bool = False,
    ) -> None:
        if not violations:
            raise ValueError("ExpectationsBroken needs at least one violation")
        self.violations = tuple(violations)
        self.consequence = consequence
        self.stopped = stopped or consequence is not None
        """Whether the case ended early (a failed :func:`require`, or an exception after a
        broken expectation): what it checks beyond the broken IDs was never judged."""
        ids: list[str] = []
        for violation in self.violations:
            ids.extend(rid for rid in violation.ids if rid not in ids)
        lines = [str(violation) for violation in self.violations]
        if consequence is not None:
            lines.append(
                "(the case could not go on: "
                f"{type(consequence).__name__}: {str(consequence)[:300]})"
            )
        if stopped and consequence is None:
            lines.append("(a precondition failed: the case stopped there)")
        super().__init__(ids, "\n".join(lines))
        self.args = ("\n".join(lines),)

    def __str__(self) -> str:
        return self.args[0]


_RECORDED: contextvars.ContextVar[list[SpecViolation] | None] = contextvars.ContextVar(
    "voicewire_expectations", default=None
)


class _CaseStopped(Exception):
    """Raised by :func:`require` after recording: nothing more of the case can be judged."""


@contextlib.contextmanager
def collect_expectations() -> Iterator[list[SpecViolation]]:
    """Record the expectations broken inside the block instead of raising at the first; at
    its end raise :class:`ExpectationsBroken` with all of them (an exception the block raised
    after a broken expectation is kept as its ``consequence``). The pytest plugin wraps every
    case that names SPEC IDs in one; property families wrap every generated example."""
    violations: list[SpecViolation] = []
    stopped = False
    token = _RECORDED.set(violations)
    try:
        yield violations
    except _CaseStopped:
        stopped = True
    except SpecViolation as exc:
        if not violations:
            raise
        violations.append(exc)
    except Exception as exc:
        if not violations:
            raise
        raise ExpectationsBroken(violations, consequence=exc) from exc
    finally:
        _RECORDED.reset(token)
    if violations:
        raise ExpectationsBroken(violations, stopped=stopped)


def expect(condition: object, ids: str | Sequence[str], message: str) -> bool:
    """Check one expectation of the SPEC: when ``condition`` is false, the case breaks ``ids``
    (``message`` says what was expected and what came). Inside a case it is recorded and the
    case goes on (every broken expectation is reported); outside one it raises
    :class:`SpecViolation` at once. Returns whether it held."""
    if condition:
        return True
    violation = SpecViolation((ids,) if isinstance(ids, str) else ids, message)
    recorded = _RECORDED.get()
    if recorded is None:
        raise violation
    recorded.append(violation)
    return False


def require(condition: object, ids: str | Sequence[str], message: str) -> None:
    """Like :func:`expect`, for a precondition: when it does not hold, the case stops there
    (after recording it) because nothing after it could be judged."""
    if not expect(condition, ids, message):
        raise _CaseStopped


def case_outcome(broken_ids: Iterable[str]) -> Outcome:
    """The outcome of a failed case, from the IDs it broke: FAIL if any is MUST."""
    levels = {REQUIREMENTS[rid].level for rid in broken_ids}
    return Outcome.FAIL if Level.MUST in levels or not levels else Outcome.NON_STRICT


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Repro(_Model):
    """How to reproduce a failed property example: the scenario the simulator played (ready
    for ``voicewire serve --scenario``), the operation the IUT was asked to perform, and one
    command that replays exactly this example."""

    case_file: dict[str, Any] = Field(description="the replay file: family, scenario, request")
    scenario_yaml: str | None = None
    command: str


class CaseResult(_Model):
    """One case (one pytest item) of the run."""

    nodeid: str
    name: str
    suite: str
    direction: str
    spec_ids: list[str]
    capability: str | None = None
    outcome: Outcome
    broken_ids: list[str] = Field(default_factory=list)
    unjudged_ids: list[str] = Field(
        default_factory=list,
        description="IDs the case cites but never judged: it stopped at a failed precondition "
        "(no stream received, ...) before checking them; never counted as passed",
    )
    message: str = Field(default="", description="the failed expectation or the error")
    duration: float = 0.0
    journal: list[dict[str, Any]] = Field(
        default_factory=list, description="wire journal excerpt of the case's sessions"
    )
    repro: Repro | None = None
    examples: int | None = Field(
        default=None, description="examples a property family ran (None: not a family)"
    )
    outcome_classes: dict[str, int] = Field(
        default_factory=dict,
        description="a property family's examples per outcome class its check named",
    )


class RequirementResult(_Model):
    """One SPEC requirement: its level and the combined result of the cases citing it."""

    id: str
    level: str
    title: str
    area: str
    direction: str
    outcome: Outcome
    cases: list[str] = Field(default_factory=list, description="nodeids of the citing cases")
    counts: dict[str, int] = Field(default_factory=dict)


class RunReport(_Model):
    """A whole ``voicewire run``: what ``--json`` writes."""

    format: str = REPORT_FORMAT
    iut: str
    capabilities: list[str]
    suites: list[str]
    seed: int
    hypothesis_profile: str
    parallelism: str = Field(
        default="serial", description="serial, or the pytest-xdist workers the run used"
    )
    examples: int | None = None
    strict: bool
    started_at: str = Field(description="ISO 8601, UTC")
    duration: float
    totals: dict[str, int] = Field(description="cases per outcome")
    requirements: list[RequirementResult]
    cases: list[CaseResult]
    not_run: int = Field(
        default=0,
        description="cases collected but never run: --exitfirst or a Ctrl-C stopped the run",
    )
    interrupted: bool = Field(
        default=False, description="the run was stopped by Ctrl-C: this report is partial"
    )
    exit_code: int


def requirement_results(cases: Sequence[CaseResult]) -> list[RequirementResult]:
    """Per-requirement results (catalog order) for every requirement some case cites."""
    by_id: dict[str, list[tuple[CaseResult, Outcome]]] = {}
    for case in cases:
        for rid in case.spec_ids:
            # A failed case breaks only the IDs its failed expectation named (a plain assert
            # names them all); the case counts as a pass for the others it cites.
            if rid in case.unjudged_ids:
                # Not observed is not passed: the requirement shows the case could not judge it.
                outcome = Outcome.ERROR
            elif case.outcome in (Outcome.FAIL, Outcome.NON_STRICT):
                outcome = case_outcome([rid]) if rid in case.broken_ids else Outcome.PASS
            else:
                outcome = case.outcome
            by_id.setdefault(rid, []).append((case, outcome))
    results = []
    for rid, requirement in REQUIREMENTS.items():
        entries = by_id.get(rid)
        if not entries:
            continue
        counts: dict[str, int] = {}
        for _, outcome in entries:
            counts[outcome.value] = counts.get(outcome.value, 0) + 1
        worst = next(o for o in _SEVERITY if o.value in counts)
        results.append(
            RequirementResult(
                id=rid,
                level=requirement.level.value,
                title=requirement.title,
                area=requirement.area,
                direction=requirement.direction.value,
                outcome=worst,
                cases=[case.nodeid for case, _ in entries],
                counts=counts,
            )
        )
    return results


def run_exit_code(cases: Sequence[CaseResult], *, strict: bool) -> int:
    """0: conformant; 1: a FAIL or ERROR (or NON-STRICT under ``strict``); 5: no case ran."""
    outcomes = {case.outcome for case in cases}
    if not cases or outcomes == {Outcome.UNSUPPORTED}:
        return 5
    if Outcome.FAIL in outcomes or Outcome.ERROR in outcomes:
        return 1
    if strict and Outcome.NON_STRICT in outcomes:
        return 1
    return 0


def report_json_schema() -> dict[str, Any]:
    """The JSON schema (draft 2020-12) of the ``--json`` report."""
    schema = RunReport.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "voicewire run report"
    return schema
