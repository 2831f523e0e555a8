"""Mutant: every delta becomes a ChatChunk, empty and role-only ones included.

The port author forwarded each server delta as one ChatChunk "to keep the stream's timing
visible" and let the consumer skip what is empty. The text adds up and retries still see no
visible output (the flag is set only for text and calls), but the consumer receives chunks
with neither text nor tool calls: for the role-only first delta, for ``content: ""`` and
``content: null`` keep-alive deltas and for the finish chunk. An agent that starts speaking
(or stops its "thinking" sound) on the first chunk now does so before any text exists.

Caught by: LLM-TXT-1 (an empty or role-only delta emits nothing).
"""

from __future__ import annotations

from collections.abc import Sequence

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_chunk import ChatChunk, ChoiceDelta, FunctionToolCall
from voicewire.reference.llm.wire import CompletionReader

from tests.mutants.port import mutant

__all__ = ["EveryDeltaReader", "factory"]


class EveryDeltaReader(CompletionReader):
    """The reference reader whose port forwards empty deltas too."""

    def emit(self, text: str, calls: Sequence[FunctionToolCall]) -> list[ChatChunk]:
        # BUG: no "nothing to emit" check
        self._visible_output = self._visible_output or bool(text or calls)
        delta = ChoiceDelta(content=text or None, tool_calls=tuple(calls))
        return [ChatChunk(id=self._completion_id, delta=delta)]


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.empty_deltas_emitted:factory`` loads."""
    return mutant("empty_deltas_emitted", reader_class=EveryDeltaReader)
