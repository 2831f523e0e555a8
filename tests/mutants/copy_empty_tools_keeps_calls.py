"""Mutant: ``copy(tools=[])`` keeps every function call instead of none.

The port author wrote the tools filter as ``tool_names = _tool_names(tools) if tools else
None``: "no tools given, no filtering". But ``tools=[]`` is given: it asks for the calls of
no tool, i.e. none of them (an agent handing its context to an agent that has no tools). The
truthiness test treats it like ``tools=None`` and keeps every call and output, which the new
agent's LLM then sees as calls to tools it does not have.

Caught by: CTX-COPY-1 (``tools=`` keeps only calls and outputs of the named tools).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext, _filter_item, _tool_names

from tests.mutants.port import mutant

__all__ = ["TruthyToolsContext", "factory"]


class TruthyToolsContext(ChatContext):
    """The reference context with the port's ``copy``."""

    def copy(
        self,
        *,
        exclude_function_call: bool = False,
        exclude_instructions: bool = False,
        exclude_empty_message: bool = False,
        tools: Iterable[Any] | None = None,
    ) -> ChatContext:
        tool_names = _tool_names(tools) if tools else None  # BUG: [] means "no tool", not None
        return ChatContext(
            item
            for item in self._items
            if _filter_item(
                item,
                exclude_function_call=exclude_function_call,
                exclude_instructions=exclude_instructions,
                exclude_empty_message=exclude_empty_message,
                tool_names=tool_names,
            )
        )


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.copy_empty_tools_keeps_calls:factory`` loads."""
    return mutant("copy_empty_tools_keeps_calls", context_class=TruthyToolsContext)
