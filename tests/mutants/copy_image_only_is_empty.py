"""Mutant: ``copy(exclude_empty_message=True)`` drops messages that have no *text*.

The port author tested for an empty message with ``not message.text_content``, the property
the rest of the port uses to read a message. A message without content parts is dropped, as
it should be; but so is a message whose only part is an image (the user sent a photo) or
audio: the copy made for the next LLM call silently loses the picture the user asked about.

Should be caught by: CTX-COPY-1 (``copy`` filters per its flags: ``exclude_empty_message``
removes messages without content).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext, _filter_item, _tool_names

from tests.mutants.port import mutant

__all__ = ["TextEmptinessContext", "factory"]


class TextEmptinessContext(ChatContext):
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
        return ChatContext(
            item
            for item in self._items
            if _filter_item(
                item,
                exclude_function_call=exclude_function_call,
                exclude_instructions=exclude_instructions,
                tool_names=tool_names,
            )
            # BUG: "empty" judged by the text alone: an image-only message is dropped
            and not (exclude_empty_message and item.type == "message" and not item.text_content)
        )


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.copy_image_only_is_empty:factory`` loads."""
    return mutant("copy_image_only_is_empty", context_class=TextEmptinessContext)
