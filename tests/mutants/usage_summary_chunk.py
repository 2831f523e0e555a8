"""Mutant: the stream ends with an extra usage chunk summing up the completion.

The port author's framework expects every stream to close with "the" usage of the
completion, so the port's end-of-stream step appends a usage ChatChunk built from the latest
usage object it read, on top of the reference's own (held) usage chunk. Each server usage
object now yields two usage ChatChunks, and a consumer that adds usage chunks up (as the
agent's metrics do) counts every token twice.

Caught by: LLM-USG-1 (each server usage object produces exactly one ChatChunk).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_chunk import ChatChunk
from voicewire.reference.llm.wire import CompletionReader

from tests.mutants.port import mutant

__all__ = ["SummaryUsageReader", "factory"]


class SummaryUsageReader(CompletionReader):
    """The reference reader whose port closes every stream with a usage summary."""

    def finish(self) -> list[ChatChunk]:
        if self._finished:
            return []
        out = super().finish()
        if self.usage is not None:
            out.append(self.usage_chunk(self.usage))  # BUG: the usage was already emitted
        return out


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.usage_summary_chunk:factory`` loads."""
    return mutant("usage_summary_chunk", reader_class=SummaryUsageReader)
