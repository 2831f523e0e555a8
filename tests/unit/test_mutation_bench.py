"""The pieces of ``voicewire bench mutation`` that need no mutant run."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

from voicewire.harness.mutation_bench import (
    MutantResult,
    MutationBenchResult,
    annotation_spans,
    format_mutation_report,
    sans_io_modules,
)
from voicewire.harness.protocols import TABLE

# What a sans-IO module must never import: the IO it is meant to be free of.
_IO_MODULES = {"aiohttp", "asyncio", "httpx", "openai", "socket", "ssl", "websockets"}


def test_every_registered_sans_io_module_exists_and_does_no_io():
    modules = sans_io_modules(TABLE)
    assert "voicewire.reference.llm.wire.sse" in modules and "voicewire.reference.auth" in modules
    assert len(modules) == len(set(modules))
    for name in modules:
        module = importlib.import_module(name)
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            (node.module or "").split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
        }
        assert not imported & _IO_MODULES, (name, imported & _IO_MODULES)


def test_every_stt_wire_module_is_registered():
    """A module added to the STT wire package is mutated too (its package __init__ only
    re-exports)."""
    package = importlib.import_module("voicewire.reference.stt.wire")
    wire = {f"{package.__name__}.{info.name}" for info in pkgutil.iter_modules(package.__path__)}
    assert wire == {
        "voicewire.reference.stt.wire.messages",
        "voicewire.reference.stt.wire.framing",
        "voicewire.reference.stt.wire.tracker",
        "voicewire.reference.stt.wire.session",
    }
    assert wire <= set(sans_io_modules(TABLE))


SOURCE = """\
from __future__ import annotations
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    import os
def f(x: int | None, *, s: "é" = "é") -> str | bytes:
    y: dict[str, int] = {"é": 1 | 2}
    return x | 4
"""


def test_annotation_spans_cover_annotations_and_type_checking_tests_only():
    spans = annotation_spans(SOURCE)
    lines = SOURCE.splitlines()

    def text(span):
        (l1, c1), (l2, c2) = span
        assert l1 == l2
        return lines[l1 - 1][c1:c2]

    assert sorted(map(text, spans)) == sorted(
        ["TYPE_CHECKING", "int | None", '"é"', "str | bytes", "dict[str, int]"]
    )


def test_without_postponed_annotations_only_type_checking_is_inert():
    source = SOURCE.replace("from __future__ import annotations\n", "")
    spans = annotation_spans(source)
    assert len(spans) == 1 and spans[0][0] == (2, 3)


def test_the_score_counts_timeouts_as_kills_and_ignores_skipped_and_incompetent():
    def mutant(outcome: str, module: str = "m") -> MutantResult:
        return MutantResult(module, 1, 0, "core/AddNot", 0, outcome)

    result = MutationBenchResult(
        modules=["m", "n"],
        judge="voicewire run",
        baseline_seconds=1.0,
        timeout_seconds=33.0,
        workers=1,
        enumerated=6,
        sample=None,
        seed=0,
        interrupted=False,
        seconds=5.0,
        mutants=[
            mutant("killed"),
            mutant("timeout"),
            mutant("survived"),
            mutant("skipped"),
            mutant("incompetent"),
            mutant("killed", "n"),
        ],
    )
    assert result.score("m") == 2 / 3
    assert result.score("n") == 1.0
    assert result.score() == 3 / 4
    data = result.to_json()
    assert data["per_module"]["m"]["survived"] == 1 and data["score"] == 0.75
    report = format_mutation_report(result)
    assert "mutation score: 75.0%" in report
    assert "m:1:0  core/AddNot" in report
