"""Mutant: ``is_equivalent`` does not compare a message's ``interrupted`` flag.

The port author compared what the model sees of a message, its role and content (plus the id
and type), and skipped ``interrupted`` as "UI state". But an interrupted message is a
different message to the agent: it is truncated to what the user heard and answered
differently. A context whose last answer was cut off is judged equivalent to the one where it
was not, so a check "has anything changed since the last LLM call?" misses the interruption.

Caught by: CTX-EQ-1 (message payload: role, interrupted, content).
"""

from __future__ import annotations

from typing import Any

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.chat_items import ChatItem

from tests.mutants.port import mutant

__all__ = ["RoleContentEqualityContext", "factory"]


def _payload(item: ChatItem) -> tuple[Any, ...]:
    if item.type == "message":
        return (item.id, item.type, item.role, item.content)  # BUG: no interrupted
    if item.type == "function_call":
        return (item.id, item.type, item.name, item.call_id, item.arguments)
    return (item.id, item.type, item.name, item.call_id, item.output, item.is_error)


class RoleContentEqualityContext(ChatContext):
    """The reference context with the port's ``is_equivalent``."""

    def is_equivalent(self, other: ChatContext) -> bool:
        if not isinstance(other, ChatContext):
            raise TypeError(f"other must be a ChatContext, got {type(other).__name__}")
        if len(self._items) != len(other.items):
            return False
        return all(
            _payload(a) == _payload(b) for a, b in zip(self._items, other.items, strict=True)
        )


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.equivalence_ignores_interrupted:factory``
    loads."""
    return mutant("equivalence_ignores_interrupted", context_class=RoleContentEqualityContext)
