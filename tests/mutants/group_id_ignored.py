"""Mutant: calls are grouped with their assistant message by id prefix only.

The port author knew the voice pipeline's naming (the message ``X``, its calls ``X/fnc_0``,
``X/fnc_1``) and grouped calls by the part of their id before ``/``, ignoring the calls'
``group_id``. Contexts built by the pipeline work; calls added by other code (a realtime
model's calls, calls restored from storage, a framework that gives each item its own id and
sets ``group_id``) become a separate assistant message after the one that announced them.

Caught by: CTX-OAI-1 (a function call is grouped with the assistant message it belongs to).
"""

from __future__ import annotations

from typing import Any, Literal

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.provider_format import to_openai_messages

from tests.mutants.port import mutant

__all__ = ["PrefixGroupingContext", "factory"]


class PrefixGroupingContext(ChatContext):
    """The reference context with the port's openai format."""

    def to_provider_format(self, format: Literal["openai"] = "openai") -> list[dict[str, Any]]:
        if format != "openai":
            raise ValueError(f"format must be 'openai', got {format!r}")
        items = [
            # BUG: group_id is dropped, so only the id prefix groups a call
            item.model_copy(update={"group_id": None}) if item.type == "function_call" else item
            for item in self._items
        ]
        return to_openai_messages(items)


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.group_id_ignored:factory`` loads."""
    return mutant("group_id_ignored", context_class=PrefixGroupingContext)
