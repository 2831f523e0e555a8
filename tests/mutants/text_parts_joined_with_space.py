"""Mutant: a message's text parts are joined with a space, not a newline.

The port author joined the text parts of a message with ``" ".join(...)``, as one joins the
words of a sentence. For a single part nothing changes; but a user turn transcribed in
several segments, or instructions assembled from several parts, lose their line structure
(``"Rules:"`` and ``"- be brief"`` become one run-on line), and the prompt the model sees no
longer matches what the agent's ``text_content`` shows.

Caught by: CTX-OAI-3 (text-only content is a plain string, parts joined with ``\\n``).
"""

from __future__ import annotations

from typing import Any, Literal

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.chat_items import ChatMessage, ImageContent
from voicewire.reference.llm.provider_format import group_tool_calls

from tests.mutants.port import mutant

__all__ = ["SpaceJoinedContext", "factory"]


def _content(message: ChatMessage) -> str | list[dict[str, Any]]:
    texts = [part for part in message.content if isinstance(part, str)]
    images = [part for part in message.content if isinstance(part, ImageContent)]
    text = " ".join(texts)  # BUG: the parts are joined with "\n"
    if not images:
        return text
    parts: list[dict[str, Any]] = [
        {"type": "image_url", "image_url": {"url": image.image, "detail": image.inference_detail}}
        for image in images
    ]
    if texts:
        parts.append({"type": "text", "text": text})
    return parts


class SpaceJoinedContext(ChatContext):
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
    """The adapter ``--iut python:tests.mutants.text_parts_joined_with_space:factory`` loads."""
    return mutant("text_parts_joined_with_space", context_class=SpaceJoinedContext)
