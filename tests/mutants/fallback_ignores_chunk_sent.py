"""Mutant: ``retry_on_chunk_sent`` is accepted but never stored.

The port author copied the upstream constructor signature, ``retry_on_chunk_sent`` included,
so callers' code keeps working, but wired it to nothing: the adapter keeps the default
``False``. A caller who opted in (a text agent that prefers a complete answer from the next
LLM over a half answer and an error) still gets the error after partial output, and nothing
says the option was ignored.

Caught by: FALLBACK-2 (after visible output a failure is raised as is unless
``retry_on_chunk_sent``).
"""

from __future__ import annotations

from collections.abc import Sequence

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.fallback import FallbackAdapter
from voicewire.reference.llm.inference import LLM

from tests.mutants.port import mutant

__all__ = ["DeafFallbackAdapter", "factory"]


class DeafFallbackAdapter(FallbackAdapter):
    """The reference adapter whose port drops ``retry_on_chunk_sent``."""

    def __init__(
        self,
        llms: Sequence[LLM],
        *,
        attempt_timeout: float = 5.0,
        max_retry_per_llm: int = 0,
        retry_interval: float = 0.5,
        retry_on_chunk_sent: bool = False,
    ) -> None:
        super().__init__(
            llms,
            attempt_timeout=attempt_timeout,
            max_retry_per_llm=max_retry_per_llm,
            retry_interval=retry_interval,
            # BUG: retry_on_chunk_sent is never passed on
        )


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.fallback_ignores_chunk_sent:factory`` loads."""
    return mutant("fallback_ignores_chunk_sent", fallback_class=DeafFallbackAdapter)
