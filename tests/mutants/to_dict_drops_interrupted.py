"""Mutant: ``to_dict`` writes a message without its ``interrupted`` flag.

The port author wrote the serialisation by hand, one dict per item type, listing the message
fields that "matter" (``id``, ``type``, ``role``, ``content``, ``created_at``); ``interrupted``
was forgotten. A saved and reloaded conversation turns every message the user cut off into
one the agent finished, so after a restore the model believes the user heard answers they
interrupted.

Caught by: CTX-DICT-1 (``from_dict(to_dict(ctx))`` is equivalent to ``ctx``, ``interrupted``
included).
"""

from __future__ import annotations

from typing import Any

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext

from tests.mutants.port import mutant

__all__ = ["HandWrittenDictContext", "factory"]


class HandWrittenDictContext(ChatContext):
    """The reference context with the port's ``to_dict``."""

    def to_dict(
        self,
        *,
        exclude_image: bool = True,
        exclude_audio: bool = True,
        exclude_timestamp: bool = True,
        exclude_function_call: bool = False,
    ) -> dict[str, Any]:
        data = super().to_dict(
            exclude_image=exclude_image,
            exclude_audio=exclude_audio,
            exclude_timestamp=exclude_timestamp,
            exclude_function_call=exclude_function_call,
        )
        message_fields = ("id", "type", "role", "content", "created_at")  # BUG: no interrupted
        items = [
            {key: item[key] for key in message_fields if key in item}
            if item["type"] == "message"
            else item
            for item in data["items"]
        ]
        return {"items": items}


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.to_dict_drops_interrupted:factory`` loads."""
    return mutant("to_dict_drops_interrupted", context_class=HandWrittenDictContext)
