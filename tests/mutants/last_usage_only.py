"""Mutant: only the last usage object of a stream is emitted.

The port author kept usage in one attribute, overwritten by every usage object the server
sends, and emitted it once at the end of the stream. With a server that sends one usage chunk
that is indistinguishable from the reference; with a server that sends usage more than once
per stream (in the finish chunk and again in a usage chunk, or one per choice) every usage
object but the last is lost, and the counts the consumer adds up are too low.

Should be caught by: LLM-USG-1 (each server usage object produces exactly one ChatChunk).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_chunk import ChatChunk, CompletionUsage
from voicewire.reference.llm.wire import CompletionReader

from tests.mutants.port import mutant

__all__ = ["LastUsageReader", "factory"]


class LastUsageReader(CompletionReader):
    """The reference reader whose port holds one usage object, the latest."""

    def on_usage(self, usage: CompletionUsage) -> list[ChatChunk]:
        self._held_usage[:] = [usage]  # BUG: an earlier usage object is overwritten
        return []


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.last_usage_only:factory`` loads."""
    return mutant("last_usage_only", reader_class=LastUsageReader)
