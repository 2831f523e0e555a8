"""Property families whose failing examples can be replayed one by one.

A property family is a check over generated inputs: ``check(iut, simulator, example)`` where
``example`` is a JSON-ready dict (by convention its ``"scenario"`` key, when present, is the
scenario the simulator plays, as a dict). :func:`property_family` turns the check into a
pytest case that

- normally runs it under hypothesis with the family's strategy (the active profile decides
  how many examples; hypothesis shrinks a failure to a minimal example and runs that last);
- records the input of a failing example in the case's record (hypothesis runs its shrunk
  failure last), so the report holds it, written as a replay file plus the scenario as YAML,
  and keeps only that example's simulator sessions in the record, so the report's journal is
  the failing example's traffic alone;
- under ``--voicewire-replay FILE`` (``voicewire run --replay FILE``) runs the check exactly
  once on the file's input, without hypothesis;
- counts its examples, and the outcome class each one ended in when the check names it with
  :func:`classify` (``voicewire fuzz`` sums them into its summary).
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import example as hypothesis_example
from hypothesis import given, settings
from hypothesis import strategies as st
from voicewire.harness.verdicts import collect_expectations

__all__ = ["REPLAY_FORMAT", "classify", "property_family"]

REPLAY_FORMAT = "voicewire-replay/1"

_CLASSES: contextvars.ContextVar[dict[str, int] | None] = contextvars.ContextVar(
    "voicewire_outcome_classes", default=None
)


# Failures of the running family's examples (id → (failure, example, the simulator sessions
# the example opened)); the failure is kept so its id stays its own until the family ends.
_EXAMPLES: dict[int, tuple[BaseException, dict[str, Any], list[str]]] = {}


def _example_of(reported: BaseException) -> tuple[dict[str, Any], list[str]] | None:
    """The example whose failure hypothesis reported (the first of several, in a group) and
    the simulator sessions it opened."""
    found = _EXAMPLES.get(id(reported))
    if found is not None:
        return found[1], found[2]
    for inner in getattr(reported, "exceptions", ()):
        example = _example_of(inner)
        if example is not None:
            return example
    cause = reported.__cause__ or reported.__context__
    return _example_of(cause) if cause is not None else None


def classify(label: str) -> None:
    """Name the outcome class the running example ended in (``"APIConnectionError"``,
    ``"413 json"``, ``"closed by server"``): a property family counts its examples per class.
    Outside a family's example it does nothing."""
    if not isinstance(label, str) or not label:
        raise ValueError(f"an outcome class is a non-empty string, got {label!r}")
    classes = _CLASSES.get()
    if classes is not None:
        classes[label] = classes.get(label, 0) + 1


Check = Callable[[Any, Any, dict[str, Any]], None]


def property_family(
    name: str,
    strategy: st.SearchStrategy[dict[str, Any]],
    *,
    max_examples: int | None = None,
    boundaries: Sequence[dict[str, Any]] = (),
) -> Callable:
    """Decorate ``check(voicewire_iut, voicewire_simulator, example)`` into a case.

    ``max_examples`` caps the active profile's example count for this family (a family whose
    examples are slow); it never raises it. Under an explicit ``--voicewire-examples`` count
    N (``voicewire run --examples``, ``voicewire fuzz``) the family runs the same share of N
    that the cap is of the ``ci`` profile's count (at least one example), so a slow family
    goes deeper with the rest without dominating the run. ``boundaries`` are
    examples that run every time, before the generated ones: the shallow edge cases (empty,
    zero, exactly at a limit) a modest example budget could miss.
    """
    if max_examples is not None and (isinstance(max_examples, bool) or max_examples < 1):
        raise ValueError(f"max_examples must be a positive int, got {max_examples!r}")

    def decorate(check: Check) -> Callable[..., None]:
        @functools.wraps(check)
        def case(
            voicewire_iut: Any,
            voicewire_simulator: Any,
            voicewire_case: Any,
            request: pytest.FixtureRequest,
        ) -> None:
            from voicewire.harness.pytest_plugin import runtime_of

            voicewire_case.family = name
            replay = runtime_of(request.config).replay
            if replay is not None:
                voicewire_case.property_input = replay["input"]
                voicewire_case.examples = 1
                token = _CLASSES.set(voicewire_case.outcome_classes)
                try:
                    check(voicewire_iut, voicewire_simulator, replay["input"])
                finally:
                    _CLASSES.reset(token)
                return

            def run_example(example: dict[str, Any]) -> None:
                # Each example reports all it broke, and fails by itself so hypothesis can
                # shrink it (expectations recorded for the case would pass the example).
                voicewire_case.examples += 1
                # Every example opens its own simulator sessions (a fresh API key each), so
                # the sessions opened from here on are this example's traffic.
                first_session = len(voicewire_case.sessions)
                token = _CLASSES.set(voicewire_case.outcome_classes)
                try:
                    with collect_expectations():
                        check(voicewire_iut, voicewire_simulator, example)
                except BaseException as failure:
                    # The example travels with its failure: while shrinking, hypothesis runs
                    # examples that fail differently, and the one it finally reports need not
                    # be the last to have failed.
                    _EXAMPLES[id(failure)] = (
                        failure,
                        example,
                        voicewire_case.sessions[first_session:],
                    )
                    raise
                finally:
                    _CLASSES.reset(token)

            search = given(example=strategy)(run_example)
            for boundary in reversed(boundaries):
                search = hypothesis_example(example=boundary)(search)
            profile_examples = settings.default.max_examples
            explicit = request.config.getoption("voicewire_examples", default=None)
            if max_examples is not None and explicit is not None:
                share = max_examples / settings.get_profile("ci").max_examples
                search = settings(max_examples=max(1, round(explicit * min(share, 1.0))))(search)
            elif max_examples is not None and max_examples < profile_examples:
                search = settings(max_examples=max_examples)(search)
            try:
                search()
            except BaseException as reported:
                found = _example_of(reported)
                voicewire_case.property_input = None if found is None else found[0]
                if found is not None:
                    # The report's journal is the reported example's traffic alone, not that
                    # of the examples hypothesis generated and shrank through before it.
                    voicewire_case.sessions[:] = found[1]
                raise
            finally:
                _EXAMPLES.clear()

        # functools.wraps copied the check's signature; pytest must see the case's fixtures.
        del case.__wrapped__
        case.voicewire_family = name  # type: ignore[attr-defined]
        return case

    return decorate
