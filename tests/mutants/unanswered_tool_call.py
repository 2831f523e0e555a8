"""Mutant: the openai format sends a tool call that has no output.

The port author grouped calls with their assistant message correctly but wrote every call of
a group into ``tool_calls`` and every output after it, without pairing them. A call whose
output is not in the context (the tool is still running, or truncation cut the output off)
goes out unanswered, and the openai API rejects the whole request with a 400.

Caught by: CTX-OAI-2 (a call without its output, or an output without its call, is not sent).
"""

from __future__ import annotations

from typing import Any, Literal

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.chat_items import ChatMessage, ImageContent
from voicewire.reference.llm.provider_format import group_tool_calls

from tests.mutants.port import mutant

__all__ = ["UnpairedContext", "factory"]


def _content(message: ChatMessage) -> str | list[dict[str, Any]]:
    texts = [part for part in message.content if isinstance(part, str)]
    images = [part for part in message.content if isinstance(part, ImageContent)]
    text = "\n".join(texts)
    if not images:
        return text
    parts: list[dict[str, Any]] = [
        {"type": "image_url", "image_url": {"url": image.image, "detail": image.inference_detail}}
        for image in images
    ]
    if texts:
        parts.append({"type": "text", "text": text})
    return parts


class UnpairedContext(ChatContext):
    """The reference context with the port's openai format."""

    def to_provider_format(self, format: Literal["openai"] = "openai") -> list[dict[str, Any]]:
        if format != "openai":
            raise ValueError(f"format must be 'openai', got {format!r}")
        messages: list[dict[str, Any]] = []
        for group in group_tool_calls(self._items):
            if group.message is None and not group.calls:
                continue
            message: dict[str, Any] = {"role": "assistant"}
            if group.message is not None:
                message["role"] = group.message.role
                content = _content(group.message)
                if content or not group.calls:
                    message["content"] = content
            if group.calls:  # BUG: every call, answered or not
                message["tool_calls"] = [
                    {
                        "id": call.call_id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments},
                    }
                    for call in group.calls
                ]
            messages.append(message)
            messages.extend(
                {"role": "tool", "tool_call_id": output.call_id, "content": output.output}
                for output in group.outputs
            )
        return messages


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.unanswered_tool_call:factory`` loads."""
    return mutant("unanswered_tool_call", context_class=UnpairedContext)
