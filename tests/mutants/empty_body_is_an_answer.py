"""Mutant: a stream that ends before any chunk counts as an empty answer.

The port author ended the stream normally whenever the body ended: an empty 200, a body of
keep-alive comments, an HTML page served as ``text/event-stream`` all complete as an answer
with no text, so the agent says nothing, no retry happens and the fallback adapter does not
fail over.

Caught by: LLM-ROB-1 (a body that is not SSE ends with an ``APIConnectionError``).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.wire import CompletionReader

from tests.mutants.port import mutant

__all__ = ["EmptyIsFineReader", "factory"]


class EmptyIsFineReader(CompletionReader):
    """The reference reader that reports a chunk read even when none was."""

    @property
    def chunks_read(self) -> int:
        return max(1, super().chunks_read)  # BUG: nothing read passes for an answer


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.empty_body_is_an_answer:factory`` loads."""
    return mutant("empty_body_is_an_answer", reader_class=EmptyIsFineReader)
