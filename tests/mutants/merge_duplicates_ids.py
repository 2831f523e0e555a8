"""Mutant: ``merge`` adds every item of the other context, ids it already holds included.

The port author wrote merge as "insert each of the other's items at its time", relying on
the two contexts being disjoint. In the voice pipeline they are not: the agent merges the
context a tool returned, or a handed-over agent's context, both of which start as copies of
this one. Every shared message then appears twice, and the model sees each user turn twice.

Caught by: CTX-MERGE-1 (items whose ``id`` is present are not added; an id is never
duplicated).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext, _filter_item

from tests.mutants.port import mutant

__all__ = ["DuplicatingMergeContext", "factory"]


class DuplicatingMergeContext(ChatContext):
    """The reference context with the port's ``merge``."""

    def merge(
        self,
        other: ChatContext,
        *,
        exclude_function_call: bool = False,
        exclude_instructions: bool = False,
    ) -> ChatContext:
        if not isinstance(other, ChatContext):
            raise TypeError(f"other must be a ChatContext, got {type(other).__name__}")
        for item in list(other.items):
            # BUG: no check that the id is already here
            if _filter_item(
                item,
                exclude_function_call=exclude_function_call,
                exclude_instructions=exclude_instructions,
            ):
                self._items.insert(self.find_insertion_index(created_at=item.created_at), item)
        return self


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.merge_duplicates_ids:factory`` loads."""
    return mutant("merge_duplicates_ids", context_class=DuplicatingMergeContext)
