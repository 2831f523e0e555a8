"""Mutant: each function call becomes its own assistant message.

The port author converted the context item by item: a message becomes a message, a function
call an assistant message with one ``tool_calls`` entry, an output a ``tool`` message right
after its call. Unanswered calls and orphan outputs are still left out. But a generation that
said "Let me check." and called two tools is sent as three assistant messages (the text,
then one per call) with the first call's ``tool`` answer between the two calls: the model
sees itself speak three times in a row, and providers that require an assistant message's
calls to be answered together (Anthropic via the gateway) reject the request.

Caught by: CTX-OAI-1 (a generation's message and calls are one assistant message with
``tool_calls``, followed by one ``tool`` message per output).
"""

from __future__ import annotations

from typing import Any, Literal

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.chat_items import ChatMessage, FunctionCall, ImageContent

from tests.mutants.port import mutant

__all__ = ["PerItemContext", "factory"]


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


class PerItemContext(ChatContext):
    """The reference context with the port's openai format."""

    def to_provider_format(self, format: Literal["openai"] = "openai") -> list[dict[str, Any]]:
        if format != "openai":
            raise ValueError(f"format must be 'openai', got {format!r}")
        outputs = {}
        for item in self._items:
            if item.type == "function_call_output":
                outputs.setdefault(item.call_id, item)
        messages: list[dict[str, Any]] = []
        for item in self._items:
            if isinstance(item, ChatMessage):
                messages.append({"role": item.role, "content": _content(item)})
            elif isinstance(item, FunctionCall) and item.call_id in outputs:
                output = outputs[item.call_id]
                # BUG: one assistant message per call, not one per generation
                messages.append(
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "id": item.call_id,
                                "type": "function",
                                "function": {"name": item.name, "arguments": item.arguments},
                            }
                        ],
                    }
                )
                messages.append(
                    {"role": "tool", "tool_call_id": output.call_id, "content": output.output}
                )
        return messages


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.one_message_per_call:factory`` loads."""
    return mutant("one_message_per_call", context_class=PerItemContext)
