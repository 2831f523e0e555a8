"""Mutant: usage is rebuilt from the three top-level counts, so cached tokens are lost.

The port author copied the usage fields the way the original OpenAI docs list them,
``prompt_tokens``, ``completion_tokens`` and ``total_tokens``, and built the port's usage
ChatChunk from those alone. ``prompt_tokens_details.cached_tokens`` never reaches the
consumer: ``prompt_cached_tokens`` is always 0, so the agent's cost metrics bill every cached
prompt token at the full price.

Caught by: LLM-USG-1 (``prompt_cached_tokens`` = ``prompt_tokens_details.cached_tokens``).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_chunk import ChatChunk, CompletionUsage
from voicewire.reference.llm.wire import CompletionReader

from tests.mutants.port import mutant

__all__ = ["TopLevelUsageReader", "factory"]


class TopLevelUsageReader(CompletionReader):
    """The reference reader whose port keeps only the top-level usage counts."""

    def on_usage(self, usage: CompletionUsage) -> list[ChatChunk]:
        return super().on_usage(
            CompletionUsage(  # BUG: prompt_cached_tokens left at its default, 0
                completion_tokens=usage.completion_tokens,
                prompt_tokens=usage.prompt_tokens,
                total_tokens=usage.total_tokens,
            )
        )


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.cached_tokens_ignored:factory`` loads."""
    return mutant("cached_tokens_ignored", reader_class=TopLevelUsageReader)
