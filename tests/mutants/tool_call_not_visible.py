"""Mutant: only text counts as visible output; an emitted tool call does not.

The port author, thinking of a voice agent, defined "the user has seen output" as "text was
emitted" (that is what gets spoken) and set the flag only for non-empty text. A stream that
emitted a tool call and then lost its connection is retried: the retry emits the call again,
and the agent executes the tool twice (two bookings, two payments).

Caught by: RETRY-6 (no tool call is ever duplicated) and RETRY-2 (``retryable`` turns false
once a tool call was emitted).
"""

from __future__ import annotations

from collections.abc import Sequence

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_chunk import ChatChunk, ChoiceDelta, FunctionToolCall
from voicewire.reference.llm.wire import CompletionReader

from tests.mutants.port import mutant

__all__ = ["TextOnlyVisibleReader", "factory"]


class TextOnlyVisibleReader(CompletionReader):
    """The reference reader whose port counts only text as visible."""

    def emit(self, text: str, calls: Sequence[FunctionToolCall]) -> list[ChatChunk]:
        if not text and not calls:
            return []
        self._visible_output = self._visible_output or bool(text)  # BUG: calls are output too
        delta = ChoiceDelta(content=text or None, tool_calls=tuple(calls))
        return [ChatChunk(id=self._completion_id, delta=delta)]


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.tool_call_not_visible:factory`` loads."""
    return mutant("tool_call_not_visible", reader_class=TextOnlyVisibleReader)
