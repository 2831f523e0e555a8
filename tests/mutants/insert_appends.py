"""Mutant: ``insert`` appends the item instead of placing it by ``created_at``.

The port author implemented ``insert`` as ``self._items.append(item)``, since items normally
arrive in time order. But the voice pipeline inserts late: a user transcript that finalises
after the agent started answering, or a function call output that arrives after the next
message, is created earlier than the items already there. Appended, it lands after them, and
the model reads the conversation out of order (an answer before its question).

Caught by: CTX-INS-1 (``insert`` places the item after the last item with
``created_at <= t``).
"""

from __future__ import annotations

from collections.abc import Sequence

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.chat_items import ITEM_CLASSES, ChatItem

from tests.mutants.port import mutant

__all__ = ["AppendingContext", "factory"]


class AppendingContext(ChatContext):
    """The reference context with the port's ``insert``."""

    def insert(self, item: ChatItem | Sequence[ChatItem]) -> None:
        for new in ChatContext([item] if isinstance(item, ITEM_CLASSES) else item):
            self._items.append(new)  # BUG: created_at is not looked at


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.insert_appends:factory`` loads."""
    return mutant("insert_appends", context_class=AppendingContext)
