"""The mutant zoo: every deliberately broken port must be caught by the suites, by name.

Each mutant runs as ``voicewire run --iut python:tests.mutants.<module>:factory`` in its own
process (the CLI, exactly as a user runs it, with ``--json``) against the suite cases that
should catch it. The case asserts that the run fails, that each SPEC ID the mutant breaks is
reported (FAIL for a MUST rule, NON-STRICT for a SHOULD rule), that no case ended in ERROR (a
mutant must be caught by a verdict, not by crashing the harness), and that nothing else broke
beyond the IDs the bug can plausibly touch (so a suite that blames the wrong rule shows up
here). The terminal summary prints the kill rate (see ``conftest.py``).

Runs are restricted with ``-k`` to the cases written for the bug, for speed (a failing property
family shrinks its counterexample for tens of seconds) and so that timing cases unrelated to the
bug cannot make a run flaky under load. ``VOICEWIRE_ZOO_FULL=1`` runs every mutant against its
whole suite instead, property families included (minutes), which checks that no case anywhere in
the suite blames a rule the bug does not touch. The reference passing every suite is checked
elsewhere. Runs use ``--strict``, so a mutant caught only by a SHOULD rule also exits 1. They go
in parallel (one per core), all started when the first zoo case sets up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from voicewire.harness.requirements import REQUIREMENTS, Level

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 900.0
FULL = os.environ.get("VOICEWIRE_ZOO_FULL", "").strip().lower() not in ("", "0", "false", "no")


@dataclass(frozen=True)
class Mutant:
    """One mutant: where it is run and which SPEC IDs must catch it.

    ``also`` lists IDs the bug may break as well (the same faulty behaviour seen through a
    neighbouring rule); any other broken ID fails the zoo case.
    """

    module: str
    suite: str
    keyword: str
    caught_by: tuple[str, ...]
    also: frozenset[str] = field(default_factory=frozenset)

    @property
    def iut(self) -> str:
        return f"python:tests.mutants.{self.module}:factory"


MUTANTS = [
    Mutant(
        "finish_length_drops_call",
        "llm",
        "pending_tool_calls_survive",
        ("LLM-TC-3",),
        also=frozenset({"LLM-TC-1"}),
    ),
    Mutant(
        "flush_on_new_index",
        "llm",
        "interleaved_fragments or emitted_in_index_order or new_index_without_id",
        ("LLM-TC-4", "LLM-TC-1"),
    ),
    Mutant(
        "retry_after_text",
        "retry",
        "no_retry_after",
        ("RETRY-6",),
        also=frozenset({"RETRY-2", "RETRY-5"}),
    ),
    Mutant(
        "retry_400",
        "retry",
        "client_error_is_not_retried",
        ("RETRY-3",),
        also=frozenset({"RETRY-5"}),
    ),
    Mutant("ignores_retry_interval", "retry", "waits_between_attempts", ("RETRY-4",)),
    Mutant(
        "truncate_duplicates_instructions",
        "chat_context",
        "truncate and not properties",
        ("CTX-TRUNC-3",),
        also=frozenset({"CTX-TRUNC-2", "CTX-TRUNC-5"}),
    ),
    Mutant(
        "truncate_keeps_leading_output",
        "chat_context",
        "truncate and not properties",
        ("CTX-TRUNC-4",),
        also=frozenset({"CTX-TRUNC-2", "CTX-TRUNC-5"}),
    ),
    Mutant("empty_tools_list", "llm", "test_request", ("LLM-REQ-2",)),
    Mutant("lost_provider_header", "llm", "test_request", ("LLM-REQ-5",)),
    Mutant("usage_first", "llm", "usage", ("LLM-USG-1",)),
    Mutant(
        "reserialised_arguments",
        "llm",
        "byte_exact or assemble_for_every_cut",
        ("LLM-TC-1", "LLM-TC-2"),
    ),
    Mutant(
        "split_think_marker",
        "llm",
        "thinking",
        ("LLM-TXT-2",),
        also=frozenset({"LLM-TXT-1"}),
    ),
    Mutant("unanswered_tool_call", "chat_context", "provider_format", ("CTX-OAI-2",)),
    Mutant(
        "fallback_keeps_failed_available",
        "retry",
        "fallback and not properties",
        ("FALLBACK-1",),
        also=frozenset({"FALLBACK-4"}),
    ),
]

BROKEN_OUTCOMES = ("FAIL", "NON-STRICT")


def expected_outcome(rid: str) -> str:
    """The requirement result a broken ``rid`` must get: FAIL for MUST, else NON-STRICT."""
    return "FAIL" if REQUIREMENTS[rid].level is Level.MUST else "NON-STRICT"


@dataclass
class ZooRun:
    """One finished ``voicewire run`` of a mutant."""

    returncode: int
    output: str
    report: dict[str, Any] | None
    duration: float


def run_mutant(mutant: Mutant, workdir: Path) -> ZooRun:
    """Run the mutant's suite through the ``voicewire`` CLI in a fresh interpreter."""
    report_path = workdir / f"{mutant.module}.json"
    command = [
        sys.executable,
        "-m",
        "voicewire.harness.cli",
        "run",
        "--iut",
        mutant.iut,
        "--suite",
        mutant.suite,
        *([] if FULL else ["-k", mutant.keyword]),
        "--strict",
        "--color",
        "never",
        "--json",
        str(report_path),
        "--repro-dir",
        str(workdir / f"{mutant.module}-repro"),
    ]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    started = time.monotonic()
    completed = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    return ZooRun(
        returncode=completed.returncode,
        output=completed.stdout + completed.stderr,
        report=report,
        duration=time.monotonic() - started,
    )


class ZooPool:
    """The mutants' runs on a pool of one worker per core (at least two: a run spends part of
    its time waiting on sockets and scripted delays); each mutant runs at most once."""

    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self._executor = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1))
        self._runs: dict[str, Future[ZooRun]] = {}

    def start(self, mutant: Mutant) -> Future[ZooRun]:
        """The mutant's run, started now unless it already was."""
        if mutant.module not in self._runs:
            self._runs[mutant.module] = self._executor.submit(run_mutant, mutant, self._workdir)
        return self._runs[mutant.module]

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="session")
def zoo_pool(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ZooPool]:
    """The session's pool, with every selected mutant's run already started, so they run in
    parallel while the cases wait for them in turn. (Under pytest-xdist each worker only
    starts the mutants of the cases it is given.)"""
    pool = ZooPool(tmp_path_factory.mktemp("mutant-zoo"))
    if not hasattr(request.config, "workerinput"):
        for item in request.session.items:
            mutant = getattr(item, "callspec", None) and item.callspec.params.get("mutant")
            if isinstance(mutant, Mutant):
                pool.start(mutant)
    yield pool
    pool.close()


def test_catalogue_names_known_requirements() -> None:
    """Every ID the zoo relies on exists in SPEC.md, and every mutant module is listed once."""
    named = {rid for m in MUTANTS for rid in (*m.caught_by, *m.also)}
    assert named <= set(REQUIREMENTS), f"unknown SPEC IDs: {sorted(named - set(REQUIREMENTS))}"
    modules = [m.module for m in MUTANTS]
    on_disk = sorted(
        p.stem
        for p in Path(__file__).parent.glob("*.py")
        if p.stem not in ("__init__", "conftest", "port") and not p.stem.startswith("test_")
    )
    assert sorted(modules) == on_disk, "every mutant module needs exactly one zoo entry"
    assert len(MUTANTS) >= 12


@pytest.mark.parametrize(
    "mutant",
    [pytest.param(m, id=m.module, marks=pytest.mark.spec(*m.caught_by)) for m in MUTANTS],
)
def test_mutant_is_caught(
    mutant: Mutant, zoo_pool: ZooPool, zoo_record: Callable[..., None]
) -> None:
    """The mutant's run fails, naming the SPEC IDs of its bug, with no ERROR case."""
    run = zoo_pool.start(mutant).result()
    report = run.report
    tail = run.output[-3000:]
    caught: tuple[str, ...] = ()
    if report is not None:
        caught = tuple(r["id"] for r in report["requirements"] if r["outcome"] in BROKEN_OUTCOMES)
    zoo_record(
        mutant=mutant.module,
        killed=run.returncode == 1 and bool(set(caught) & set(mutant.caught_by)),
        caught_by=caught,
        cases=len(report["cases"]) if report else 0,
        duration=run.duration,
    )
    assert report is not None, f"voicewire run wrote no report (exit {run.returncode}):\n{tail}"
    assert run.returncode == 1, f"expected exit 1 (not conformant), got {run.returncode}:\n{tail}"
    errors = [
        f"{c['nodeid']}: {c['message'][:300]}" for c in report["cases"] if c["outcome"] == "ERROR"
    ]
    assert not errors, "cases ended in ERROR instead of a verdict:\n" + "\n".join(errors)
    outcomes = {r["id"]: r["outcome"] for r in report["requirements"]}
    for rid in mutant.caught_by:
        assert outcomes.get(rid) == expected_outcome(rid), (
            f"{mutant.module} must be caught by {rid} ({expected_outcome(rid)}), but {rid} is "
            f"{outcomes.get(rid, 'not cited by any case that ran')}:\n{tail}"
        )
    stray = set(caught) - set(mutant.caught_by) - mutant.also
    assert not stray, (
        f"{mutant.module} also broke {sorted(stray)}, which its bug does not touch: a case "
        f"names the wrong rule, or the mutant has a second bug:\n{tail}"
    )
