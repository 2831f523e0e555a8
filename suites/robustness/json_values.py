"""One value of every JSON type, for the families that give a field a value of the wrong type:
a field draws the types its own excludes."""

from __future__ import annotations

from typing import Any

__all__ = ["JSON_VALUES", "NON_NULL_JSON_VALUES"]

JSON_VALUES: dict[str, Any] = {
    "int": 7,
    "float": 1.5,
    "bool": True,
    "str": "x",
    "list": [1, 2],
    "object": {"a": 1},
    "null": None,
}
"""A value of each JSON type, by the type's name."""

NON_NULL_JSON_VALUES: dict[str, Any] = {k: v for k, v in JSON_VALUES.items() if k != "null"}
"""The same without ``null``: for fields a peer may set to null (optional ones)."""
