"""Mutant: ``truncate`` drops a leading ``function_call`` but keeps a leading output.

The port author remembered that the kept window must not start in the middle of a tool run
and stripped leading ``function_call`` items, but forgot ``function_call_output``. When the
cut falls between a call and its output, the window starts with an output whose call is gone
(and the provider format has to drop it, or the provider answers 400).

Caught by: CTX-TRUNC-4 (the window never starts with a function call or output) and
CTX-TRUNC-2 (the exact result).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext

from tests.mutants.port import mutant

__all__ = ["LeadingOutputContext", "factory"]

_INSTRUCTION_ROLES = ("system", "developer")


class LeadingOutputContext(ChatContext):
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
        while window and window[0].type == "function_call":  # BUG: outputs are kept
            window.pop(0)
        if instructions is not None and all(item.id != instructions.id for item in window):
            window.insert(0, instructions)
        self._items[:] = window
        return self


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.truncate_keeps_leading_output:factory``
    loads."""
    return mutant("truncate_keeps_leading_output", context_class=LeadingOutputContext)
