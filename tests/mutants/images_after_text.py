"""Mutant: a message's content parts keep their own order, text before the images.

The port author mapped each content part to its openai part in the order the message holds
them (``"What is this?"``, then the image), which reads naturally and is accepted by the API.
But the SPEC's format, like upstream's, puts the image parts first and the text in one part
after them: a model prompted "look at the image above" gets the image below, and a message
with text parts between images is sent as several text parts instead of one.

Caught by: CTX-OAI-3 (with images: a list with the image parts first, then one text part).
"""

from __future__ import annotations

from typing import Any, Literal

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.chat_items import ChatMessage, ImageContent
from voicewire.reference.llm.provider_format import group_tool_calls

from tests.mutants.port import mutant

__all__ = ["InOrderPartsContext", "factory"]


def _content(message: ChatMessage) -> str | list[dict[str, Any]]:
    texts = [part for part in message.content if isinstance(part, str)]
    if not any(isinstance(part, ImageContent) for part in message.content):
        return "\n".join(texts)
    parts: list[dict[str, Any]] = []
    for part in message.content:  # BUG: images are not moved in front, texts not joined
        if isinstance(part, str):
            parts.append({"type": "text", "text": part})
        elif isinstance(part, ImageContent):
            parts.append(
                {
                    "type": "image_url",
                    "image_url": {"url": part.image, "detail": part.inference_detail},
                }
            )
    return parts


class InOrderPartsContext(ChatContext):
    """The reference context with the port's openai format."""

    def to_provider_format(self, format: Literal["openai"] = "openai") -> list[dict[str, Any]]:
        if format != "openai":
            raise ValueError(f"format must be 'openai', got {format!r}")
        messages: list[dict[str, Any]] = []
        for group in group_tool_calls(self._items):
            pairs = group.answered()
            if group.message is None and not pairs:
                continue
            message: dict[str, Any] = {"role": "assistant"}
            if group.message is not None:
                message["role"] = group.message.role
                content = _content(group.message)
                if content or not pairs:
                    message["content"] = content
            if pairs:
                message["tool_calls"] = [
                    {
                        "id": call.call_id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments},
                    }
                    for call, _ in pairs
                ]
            messages.append(message)
            messages.extend(
                {"role": "tool", "tool_call_id": output.call_id, "content": output.output}
                for _, output in pairs
            )
        return messages


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.images_after_text:factory`` loads."""
    return mutant("images_after_text", context_class=InOrderPartsContext)
