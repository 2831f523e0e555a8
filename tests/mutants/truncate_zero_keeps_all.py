"""Mutant: ``truncate(max_items=0)`` keeps the whole context (upstream's slice).

The port author took the window with the idiomatic ``self._items[-max_items:]``, as
livekit-agents does. For every positive ``max_items`` that is the last ``max_items`` items,
but ``-0`` is ``0`` and ``items[0:]`` is everything: asking for an empty history (a fresh
start that keeps only the instructions) silently keeps the whole conversation.

Caught by: CTX-TRUNC-6 (SHOULD: ``max_items == 0`` keeps only the instructions; NON-STRICT,
caught under ``--strict``).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext

from tests.mutants.port import mutant

__all__ = ["NegativeSliceContext", "factory"]

_INSTRUCTION_ROLES = ("system", "developer")
_TOOL_ITEM_TYPES = ("function_call", "function_call_output")


class NegativeSliceContext(ChatContext):
    """The reference context with the port's ``truncate``."""

    def truncate(self, *, max_items: int) -> ChatContext:
        if isinstance(max_items, bool) or not isinstance(max_items, int):
            raise TypeError(f"max_items must be an int, got {type(max_items).__name__}")
        if max_items < 0:
            raise ValueError(f"max_items must be >= 0, got {max_items}")
        if len(self._items) <= max_items:
            return self
        instructions = next(
            (
                item
                for item in self._items
                if item.type == "message" and item.role in _INSTRUCTION_ROLES
            ),
            None,
        )
        window = self._items[-max_items:]  # BUG: -0 == 0, so max_items=0 keeps everything
        while window and window[0].type in _TOOL_ITEM_TYPES:
            window.pop(0)
        if instructions is not None and all(item.id != instructions.id for item in window):
            window.insert(0, instructions)
        self._items[:] = window
        return self


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.truncate_zero_keeps_all:factory`` loads."""
    return mutant("truncate_zero_keeps_all", context_class=NegativeSliceContext)
