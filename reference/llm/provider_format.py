"""Chat context → provider wire messages (SPEC §6.3, the openai format).

The openai chat API rejects (HTTP 400) an assistant ``tool_calls`` entry that no ``tool``
message answers, so calls are grouped with the assistant message of their generation and only
answered calls, with their outputs, are sent (CTX-OAI-1, CTX-OAI-2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from voicewire.reference.llm.chat_items import (
    ChatItem,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
    ImageContent,
    parse_data_url,
)

__all__ = ["ToolCallGroup", "group_tool_calls", "to_openai_messages"]


@dataclass
class ToolCallGroup:
    """One provider message's worth of items: an optional message, its calls and their outputs."""

    message: ChatMessage | None = None
    calls: list[FunctionCall] = field(default_factory=list)
    outputs: list[FunctionCallOutput] = field(default_factory=list)

    def answered(self) -> list[tuple[FunctionCall, FunctionCallOutput]]:
        """Calls paired with their output, in call order; unanswered calls, orphan outputs and
        second outputs for one call are left out (CTX-OAI-2)."""
        by_call_id: dict[str, FunctionCallOutput] = {}
        for output in self.outputs:
            by_call_id.setdefault(output.call_id, output)
        pairs = []
        for call in self.calls:
            output = by_call_id.pop(call.call_id, None)
            if output is not None:
                pairs.append((call, output))
        return pairs


def _generation_key(item: ChatMessage | FunctionCall) -> str:
    # The voice pipeline names an assistant message "X" and its calls "X/fnc_0", "X/fnc_1".
    if isinstance(item, FunctionCall) and item.group_id:
        return item.group_id
    return item.id.split("/", 1)[0]


def group_tool_calls(items: list[ChatItem]) -> list[ToolCallGroup]:
    """Group items into provider messages, in order of first appearance.

    Assistant messages and calls sharing a generation key form one group; any other message is
    a group of its own; each output joins the group holding its ``call_id`` (an output whose
    call is absent belongs nowhere and is dropped).
    """
    groups: list[ToolCallGroup] = []
    open_groups: dict[str, ToolCallGroup] = {}
    outputs: list[FunctionCallOutput] = []
    for item in items:
        if isinstance(item, FunctionCallOutput):
            outputs.append(item)
        elif isinstance(item, FunctionCall) or item.role == "assistant":
            key = _generation_key(item)
            group = open_groups.get(key)
            # A second assistant message under one key is a new turn, not a merge.
            if group is None or (isinstance(item, ChatMessage) and group.message is not None):
                group = open_groups[key] = ToolCallGroup()
                groups.append(group)
            if isinstance(item, FunctionCall):
                group.calls.append(item)
            else:
                group.message = item
        else:
            groups.append(ToolCallGroup(message=item))
    group_of_call = {call.call_id: group for group in groups for call in group.calls}
    for output in outputs:
        group = group_of_call.get(output.call_id)
        if group is not None:
            group.outputs.append(output)
    return groups


def _image_part(image: ImageContent) -> dict[str, Any]:
    if image.image.startswith("data:"):
        parse_data_url(image.image)  # re-checked: the item may have been built unvalidated
    return {
        "type": "image_url",
        "image_url": {"url": image.image, "detail": image.inference_detail},
    }


def _message_content(message: ChatMessage) -> str | list[dict[str, Any]]:
    """Text-only content is one string (parts joined by newlines); with images, a list with
    the image parts first, then one text part (CTX-OAI-3). Audio is never sent."""
    texts = [part for part in message.content if isinstance(part, str)]
    images = [part for part in message.content if isinstance(part, ImageContent)]
    text = "\n".join(texts)
    if not images:
        return text
    parts = [_image_part(image) for image in images]
    if texts:
        parts.append({"type": "text", "text": text})
    return parts


def to_openai_messages(items: list[ChatItem]) -> list[dict[str, Any]]:
    """The ``messages`` array of an openai chat completion request for these items."""
    messages: list[dict[str, Any]] = []
    for group in group_tool_calls(items):
        pairs = group.answered()
        if group.message is None and not pairs:
            continue
        if group.message is not None:
            message: dict[str, Any] = {"role": group.message.role}
            content = _message_content(group.message)
            if content or not pairs:
                message["content"] = content
        else:
            message = {"role": "assistant"}
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
