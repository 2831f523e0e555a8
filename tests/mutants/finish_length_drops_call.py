"""Mutant: a tool call pending when the completion ends with ``finish_reason: length`` is lost.

The port author flushed the assembled calls only on the finish reasons that "mean" tool use,
``tool_calls`` and ``stop`` (as livekit-agents 1.8.9 does), and flushed only the held-back
text at the end of the stream. A completion cut off by ``max_tokens`` (``length``), stopped
by a ``content_filter``, or ending without any finish chunk silently drops every call whose
header already arrived.

Caught by: LLM-TC-3 (a pending call is never dropped).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_chunk import FunctionToolCall
from voicewire.reference.llm.wire import CompletionReader

from tests.mutants.port import mutant

__all__ = ["factory"]

# The port's notion of "the model is done calling tools".
_FLUSH_REASONS = ("tool_calls", "stop")


class DroppingReader(CompletionReader):
    """The reference reader, releasing calls only on ``tool_calls``/``stop``."""

    def calls_to_flush(self, finish_reason: str | None) -> list[FunctionToolCall]:
        # BUG: length, content_filter and the end of a stream without a finish chunk.
        return self.assembler.finish() if finish_reason in _FLUSH_REASONS else []


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.finish_length_drops_call:factory`` loads."""
    return mutant("finish_length_drops_call", reader_class=DroppingReader)
