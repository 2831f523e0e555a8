"""Mutant: the usage chunk is emitted the moment the server's usage object arrives.

The port author pushed a usage ChatChunk straight from the SSE loop instead of holding it until
the completion's content and tool calls are out. Against a server that sends usage after the
finish chunk this looks right; but whatever the client still holds when usage arrives (tool
calls of a stream without a finish chunk, a held-back partial ``<think`` prefix, calls of a
completion whose usage rides in or before its finish chunk) is emitted after the usage.

Caught by: LLM-USG-1 (usage is emitted after the content and tool calls).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_chunk import ChatChunk, CompletionUsage
from voicewire.reference.llm.wire import CompletionReader

from tests.mutants.port import mutant

__all__ = ["factory"]


class EagerUsageReader(CompletionReader):
    """The reference reader, pushing usage as it comes."""

    def on_usage(self, usage: CompletionUsage) -> list[ChatChunk]:
        return [self.usage_chunk(usage)]  # BUG: before this chunk's (and later) content


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.usage_first:factory`` loads."""
    return mutant("usage_first", reader_class=EagerUsageReader)
