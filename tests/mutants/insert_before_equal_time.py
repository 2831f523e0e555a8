"""Mutant: an item is inserted before the items created at the same time, not after them.

The port author found the insertion point with ``bisect.bisect_left`` over the timestamps,
the first textbook choice. Items with distinct times are placed right; but an item whose
``created_at`` equals an existing item's goes in front of it. The voice pipeline stamps an
assistant message and its function calls with the same time, so a message added "at the same
time" as a call lands before it, reversing the order in which they happened.

Caught by: CTX-INS-1 (after the last item with ``created_at <= t``: stable for equal times).
"""

from __future__ import annotations

import bisect

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext

from tests.mutants.port import mutant

__all__ = ["BisectLeftContext", "factory"]


class BisectLeftContext(ChatContext):
    """The reference context with the port's insertion index."""

    def find_insertion_index(self, *, created_at: float) -> int:
        # BUG: bisect_left puts the item before its equals (bisect_right is the stable one)
        return bisect.bisect_left([item.created_at for item in self._items], created_at)


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.insert_before_equal_time:factory`` loads."""
    return mutant("insert_before_equal_time", context_class=BisectLeftContext)
