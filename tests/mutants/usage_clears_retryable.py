"""Mutant: the usage chunk counts as output, so a failure after it is not retried.

The livekit-agents 1.3.x bug: the stream flagged "something was sent to the consumer" for
every chunk it produced, usage included, and made every later error non-retryable. The port
author reproduces it by marking the attempt as having emitted output when the server's usage
object arrives (it is going to become a ChatChunk, after all). A completion that has shown
nothing yet (an empty answer, or a server that sends usage early) and whose connection drops
after the usage chunk now fails for good instead of being retried.

Caught by: RETRY-2 (usage-only or metadata-only chunks do not clear ``retryable``).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_chunk import ChatChunk, CompletionUsage
from voicewire.reference.llm.wire import CompletionReader

from tests.mutants.port import mutant

__all__ = ["UsageIsOutputReader", "factory"]


class UsageIsOutputReader(CompletionReader):
    """The reference reader whose port counts usage as visible output."""

    def on_usage(self, usage: CompletionUsage) -> list[ChatChunk]:
        self._visible_output = True  # BUG: usage is not visible output
        return super().on_usage(usage)


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.usage_clears_retryable:factory`` loads."""
    return mutant("usage_clears_retryable", reader_class=UsageIsOutputReader)
