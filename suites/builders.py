"""Small builders the suites share: chat contexts in the IUT wire format."""

from __future__ import annotations

from typing import Any

__all__ = [
    "function_call",
    "function_call_output",
    "item_payload",
    "message",
    "user_context",
]


def message(role: str, text: str, *, id: str, created_at: float | None = None) -> dict[str, Any]:
    """A ``message`` item in the ``to_dict`` wire format."""
    item: dict[str, Any] = {"type": "message", "id": id, "role": role, "content": [text]}
    if created_at is not None:
        item["created_at"] = created_at
    return item


def function_call(
    id: str,
    call_id: str,
    *,
    t: float,
    name: str = "get_weather",
    arguments: str | None = None,
    group_id: str | None = None,
) -> dict[str, Any]:
    """A ``function_call`` item in the wire format; by default its arguments name the call,
    so calls can be told apart."""
    item: dict[str, Any] = {
        "type": "function_call",
        "id": id,
        "call_id": call_id,
        "name": name,
        "arguments": arguments
        if arguments is not None
        else f'{{"city": "Paris", "n": "{call_id}"}}',
        "created_at": t,
    }
    if group_id is not None:
        item["group_id"] = group_id
    return item


def function_call_output(
    id: str, call_id: str, *, t: float, name: str = "get_weather", output: str | None = None
) -> dict[str, Any]:
    """A ``function_call_output`` item in the wire format; by default its output names its call."""
    return {
        "type": "function_call_output",
        "id": id,
        "call_id": call_id,
        "name": name,
        "output": output if output is not None else f"result of {call_id}",
        "is_error": False,
        "created_at": t,
    }


def user_context(text: str = "Hello", *, instructions: str | None = None) -> dict[str, Any]:
    """A context of an optional system message and one user message."""
    items = []
    if instructions is not None:
        items.append(message("system", instructions, id="instructions", created_at=1.0))
    items.append(message("user", text, id="user-1", created_at=2.0))
    return {"items": items}


def item_payload(item: dict[str, Any]) -> tuple[Any, ...]:
    """What identifies a wire-format item's content (CTX-EQ-1's fields, defaults applied);
    no timestamp. Two contexts are equivalent when their items' payloads are equal in order."""
    kind = item.get("type")
    if kind == "message":
        return (
            item.get("id"),
            kind,
            item.get("role"),
            item.get("interrupted", False),
            tuple(
                part if isinstance(part, str) else (part.get("type"), part.get("image"))
                for part in item.get("content", [])
            ),
        )
    if kind == "function_call":
        return (item.get("id"), kind, item.get("name"), item.get("call_id"), item.get("arguments"))
    return (
        item.get("id"),
        kind,
        item.get("name", ""),
        item.get("call_id"),
        item.get("output"),
        item.get("is_error", False),
    )
