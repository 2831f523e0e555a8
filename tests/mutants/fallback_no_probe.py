"""Mutant: a failed LLM is marked unavailable and never probed again.

The port author implemented the unavailability half of the fallback (the event, skipping
the LLM) and left recovery out: nothing ever marks the LLM available again. After one
transient failure of the primary, every later request goes to the secondary for the rest of
the session, even when the primary (usually the better or cheaper model) recovered seconds
later.

Caught by: FALLBACK-4 (SHOULD: an unavailable LLM is probed in the background and marked
available again; NON-STRICT, caught under ``--strict``).
"""

from __future__ import annotations

from typing import Any

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.fallback import FallbackAdapter

from tests.mutants.port import mutant

__all__ = ["NoProbeFallbackAdapter", "factory"]


class NoProbeFallbackAdapter(FallbackAdapter):
    """The reference adapter whose port never probes a failed LLM."""

    def mark_failed(self, index: int, chat_ctx: ChatContext, tools: Any, options: dict) -> None:
        self._set_available(index, False)  # BUG: no background probe, no recovery


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.fallback_no_probe:factory`` loads."""
    return mutant("fallback_no_probe", fallback_class=NoProbeFallbackAdapter)
