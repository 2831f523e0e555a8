"""Mutant: a function call output whose call is gone is still sent as a ``tool`` message.

The port author filtered unanswered calls (it knew the API rejects a ``tool_calls`` entry
nobody answers) but held the opposite case to be harmless, and made sure "no tool result is
ever lost": outputs that no call in the context claims are appended as ``tool`` messages at
the end. After truncation cuts a call away but keeps its output, or a merge brings in an
output alone, the request holds a ``tool`` message that answers no call, and the openai API
answers 400.

Caught by: CTX-OAI-2 (an output without its call is not sent).
"""

from __future__ import annotations

from typing import Any, Literal

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.provider_format import group_tool_calls, to_openai_messages

from tests.mutants.port import mutant

__all__ = ["KeepEveryOutputContext", "factory"]


class KeepEveryOutputContext(ChatContext):
    """The reference context with the port's openai format."""

    def to_provider_format(self, format: Literal["openai"] = "openai") -> list[dict[str, Any]]:
        if format != "openai":
            raise ValueError(f"format must be 'openai', got {format!r}")
        messages = to_openai_messages(self._items)
        claimed = {output.id for group in group_tool_calls(self._items) for output in group.outputs}
        messages.extend(  # BUG: an output without its call is sent anyway
            {"role": "tool", "tool_call_id": item.call_id, "content": item.output}
            for item in self._items
            if item.type == "function_call_output" and item.id not in claimed
        )
        return messages


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.orphan_output_sent:factory`` loads."""
    return mutant("orphan_output_sent", context_class=KeepEveryOutputContext)
