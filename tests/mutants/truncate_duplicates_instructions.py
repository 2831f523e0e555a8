"""Mutant: ``truncate`` prepends the instructions even when the window still holds them.

The port author always re-inserted the first system/developer message in front of the kept
window, reasoning that "the instructions must survive truncation", without checking whether
the window already contains them. When the instructions are among the last ``max_items``
items, the result holds them twice.

Caught by: CTX-TRUNC-3 (the instructions appear exactly once), and CTX-TRUNC-2 where a case
compares the exact result.
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext

from tests.mutants.port import mutant

__all__ = ["DuplicatingContext", "factory"]

_INSTRUCTION_ROLES = ("system", "developer")
_TOOL_ITEM_TYPES = ("function_call", "function_call_output")


class DuplicatingContext(ChatContext):
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
        window = self._items[len(self._items) - max_items :]
        while window and window[0].type in _TOOL_ITEM_TYPES:
            window.pop(0)
        if instructions is not None:
            window.insert(0, instructions)  # BUG: also when the window already has it
        self._items[:] = window
        return self


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.truncate_duplicates_instructions:factory``
    loads."""
    return mutant("truncate_duplicates_instructions", context_class=DuplicatingContext)
