"""Mutant: the fallback adapter moves on after a failure but never marks the LLM unavailable.

The port author's ``FallbackAdapter`` tries the next LLM when one fails before any output, as
it should, but only records the failure for the final error message: the failed LLM stays
"available", no ``llm_availability_changed {available: false}`` event is emitted and no
background probe is started. The caller (and its metrics) never learn that a provider is down,
and every later request waits for the broken LLM to fail again first.

Caught by: FALLBACK-1 (the failed LLM is marked unavailable and the event is emitted).
"""

from __future__ import annotations

from typing import Any

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.fallback import FallbackAdapter

from tests.mutants.port import mutant

__all__ = ["ForgetfulFallbackAdapter", "factory"]


class ForgetfulFallbackAdapter(FallbackAdapter):
    """The reference adapter, which only records a failure for the final error message."""

    def mark_failed(self, index: int, chat_ctx: ChatContext, tools: Any, options: dict) -> None:
        pass  # BUG: the failed LLM stays available; no event, no probe


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.fallback_keeps_failed_available:factory``
    loads."""
    return mutant("fallback_keeps_failed_available", fallback_class=ForgetfulFallbackAdapter)
