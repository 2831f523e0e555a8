"""Mutant: ``add_message`` without ``created_at`` is placed by the current time.

The port author implemented ``add_message`` on top of ``insert``: the message gets
``created_at = time.time()`` (the model's default) and is inserted by time like any other
item. That appends in the common case, but a context holding items stamped later than now
(items restored from another machine with a clock ahead, or stamped by the audio pipeline's
end-of-speech time) gets the new message in the middle, before items that came earlier.

Caught by: CTX-INS-1 (``add_message`` without ``created_at`` appends).
"""

from __future__ import annotations

from collections.abc import Sequence

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.chat_items import ChatContent, ChatMessage, ChatRole

from tests.mutants.port import mutant

__all__ = ["InsertingAddContext", "factory"]


class InsertingAddContext(ChatContext):
    """The reference context with the port's ``add_message``."""

    def add_message(
        self,
        *,
        role: ChatRole,
        content: str | Sequence[ChatContent],
        id: str | None = None,
        interrupted: bool = False,
        created_at: float | None = None,
    ) -> ChatMessage:
        fields: dict[str, object] = {
            "role": role,
            "content": content if isinstance(content, str) else list(content),
            "interrupted": interrupted,
        }
        if id is not None:
            fields["id"] = id
        if created_at is not None:
            fields["created_at"] = created_at
        message = ChatMessage(**fields)  # type: ignore[arg-type]
        self.insert(message)  # BUG: without created_at it must append, not go by "now"
        return message


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.add_message_placed_by_now:factory`` loads."""
    return mutant("add_message_placed_by_now", context_class=InsertingAddContext)
