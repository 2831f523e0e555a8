"""Mutant: ``truncate`` keeps the last ``max_items`` items and nothing else.

The port author implemented truncation as a plain sliding window: the last ``max_items``
items, minus the function calls and outputs whose partners were cut off. Short conversations
are unaffected; once a conversation grows past ``max_items`` its system prompt falls out of
the window, and from that turn on the model answers without its instructions (persona,
language, safety rules).

Caught by: CTX-TRUNC-3 (the instructions appear exactly once if they were present, never
lost) and CTX-TRUNC-2 (the exact result); CTX-TRUNC-6 (``max_items == 0`` keeps only the
instructions) where a case truncates to 0.
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext

from tests.mutants.port import mutant

__all__ = ["SlidingWindowContext", "factory"]

_TOOL_ITEM_TYPES = ("function_call", "function_call_output")


class SlidingWindowContext(ChatContext):
    """The reference context with the port's ``truncate``."""

    def truncate(self, *, max_items: int) -> ChatContext:
        if isinstance(max_items, bool) or not isinstance(max_items, int):
            raise TypeError(f"max_items must be an int, got {type(max_items).__name__}")
        if max_items < 0:
            raise ValueError(f"max_items must be >= 0, got {max_items}")
        if len(self._items) <= max_items:
            return self
        window = self._items[len(self._items) - max_items :]
        while window and window[0].type in _TOOL_ITEM_TYPES:
            window.pop(0)
        self._items[:] = window  # BUG: the instructions are not put back in front
        return self


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.truncate_loses_instructions:factory`` loads."""
    return mutant("truncate_loses_instructions", context_class=SlidingWindowContext)
