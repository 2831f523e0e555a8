"""Mutant: ``copy`` filters the source's own item list, then returns a context over it.

The port author filtered in place to avoid building a second list, ``items = self._items``
then ``items.remove(...)`` for every item the flags exclude, and wrapped the result in a new
context. ``items`` is the source's list, not a copy of it: the copy is right, but the source
context has lost the same items. The agent's ``chat_ctx.copy(exclude_function_call=True)``,
done to summarise the conversation, deletes every tool call from the live conversation.

Caught by: CTX-COPY-1 (``copy`` filters per its flags and never mutates the source).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext, _filter_item, _tool_names

from tests.mutants.port import mutant

__all__ = ["InPlaceCopyContext", "factory"]


class InPlaceCopyContext(ChatContext):
    """The reference context with the port's ``copy``."""

    def copy(
        self,
        *,
        exclude_function_call: bool = False,
        exclude_instructions: bool = False,
        exclude_empty_message: bool = False,
        tools: Iterable[Any] | None = None,
    ) -> ChatContext:
        tool_names = None if tools is None else _tool_names(tools)
        items = self._items  # BUG: the source's list, not list(self._items)
        for item in list(items):
            if not _filter_item(
                item,
                exclude_function_call=exclude_function_call,
                exclude_instructions=exclude_instructions,
                exclude_empty_message=exclude_empty_message,
                tool_names=tool_names,
            ):
                items.remove(item)
        return ChatContext(list(items))


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.copy_mutates_source:factory`` loads."""
    return mutant("copy_mutates_source", context_class=InPlaceCopyContext)
