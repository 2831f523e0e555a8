"""Mutant: a missing ``total_tokens`` is "repaired" as ``prompt_tokens + completion_tokens``.

The port author noticed that some servers send ``"total_tokens": null`` and filled the gap
with the sum of the other two counts, which is what the total usually is. But the total is the
server's figure: a provider that bills reasoning or tool tokens separately reports a total that
is not that sum, and a null count means "not reported", which LLM-USG-1 makes 0. The consumer
now sees a total the server never sent.

Caught by: LLM-USG-1 (null counts become 0).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_chunk import ChatChunk, CompletionUsage
from voicewire.reference.llm.wire import CompletionReader

from tests.mutants.port import mutant

__all__ = ["RepairingUsageReader", "factory"]


class RepairingUsageReader(CompletionReader):
    """The reference reader whose port fills in a total the server left out."""

    def on_usage(self, usage: CompletionUsage) -> list[ChatChunk]:
        if usage.total_tokens == 0:
            # BUG: a null total becomes a number the server never reported
            usage = usage.model_copy(
                update={"total_tokens": usage.prompt_tokens + usage.completion_tokens}
            )
        return super().on_usage(usage)


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.total_tokens_recomputed:factory`` loads."""
    return mutant("total_tokens_recomputed", reader_class=RepairingUsageReader)
