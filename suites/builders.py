"""Small builders the suites share: chat contexts in the IUT wire format, scenarios."""

from __future__ import annotations

from typing import Any

from simulators.scenario import Scenario, parse_scenario

__all__ = ["message", "scenario", "user_context"]


def message(role: str, text: str, *, id: str, created_at: float | None = None) -> dict[str, Any]:
    """A ``message`` item in the ``to_dict`` wire format."""
    item: dict[str, Any] = {"type": "message", "id": id, "role": role, "content": [text]}
    if created_at is not None:
        item["created_at"] = created_at
    return item


def user_context(text: str = "Hello", *, instructions: str | None = None) -> dict[str, Any]:
    """A context of an optional system message and one user message."""
    items = []
    if instructions is not None:
        items.append(message("system", instructions, id="instructions", created_at=1.0))
    items.append(message("user", text, id="user-1", created_at=2.0))
    return {"items": items}


def scenario(name: str, *rules: dict[str, Any], **fields: Any) -> Scenario:
    """A scenario from rule dicts in the YAML vocabulary (validated like a file)."""
    return parse_scenario({"name": name, "rules": list(rules), **fields}, source=f"<suite {name}>")
