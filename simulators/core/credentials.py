"""The API keys a simulator accepts, the ways a request presents one, and the development
defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_API_SECRET",
    "DEFAULT_BASIC_KEY",
    "Authentication",
    "Credentials",
]

DEFAULT_API_KEY = "voicewire-dev-key"
"""Development API key accepted by default (never use it for anything real)."""
DEFAULT_API_SECRET = "voicewire-dev-secret-0123456789abcdef"
"""Development API secret matching :data:`DEFAULT_API_KEY` (>= 32 bytes, as HS256 wants)."""
DEFAULT_BASIC_KEY = "dm9pY2V3aXJlLWRldjpiYXNpYy1zZWNyZXQ="
"""Development key accepted by default as ``Authorization: Basic <key>`` (base64 of
``voicewire-dev:basic-secret``, shaped like the keys Basic-key providers hand out)."""


class Authentication(str, Enum):
    """How a route's requests present their API key; a protocol's routes name theirs."""

    BEARER_TOKEN = "bearer_token"
    """``Authorization: Bearer <jwt>`` signed with a key's secret (AUTH-1..4)."""
    BASIC_KEY = "basic_key"
    """``Authorization: Basic <key>``, the key itself, compared verbatim (AUTH-6)."""


@dataclass(frozen=True)
class Credentials:
    """API keys the simulator accepts: ``keys`` maps API key → secret (for signed bearer
    tokens); ``basic_keys`` are the keys accepted as ``Basic`` credentials;
    ``scenario_for_key`` optionally pins a key of either kind to a scenario name."""

    keys: Mapping[str, str] = field(default_factory=lambda: {DEFAULT_API_KEY: DEFAULT_API_SECRET})
    scenario_for_key: Mapping[str, str] = field(default_factory=dict)
    basic_keys: frozenset[str] = frozenset({DEFAULT_BASIC_KEY})

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("credentials.keys must hold at least one API key")
        for key, secret in self.keys.items():
            if not isinstance(key, str) or not key:
                raise ValueError(f"credentials.keys: API key must be a non-empty string: {key!r}")
            if not isinstance(secret, str) or not secret:
                raise ValueError(f"credentials.keys[{key!r}]: secret must be a non-empty string")
        if isinstance(self.basic_keys, str):
            raise ValueError("credentials.basic_keys must be a collection of keys, not one string")
        # Any collection is accepted; frozen so that the dataclass stays hashable and immutable.
        object.__setattr__(self, "basic_keys", frozenset(self.basic_keys))
        for key in self.basic_keys:
            if not isinstance(key, str) or not key or key != key.strip():
                raise ValueError(
                    f"credentials.basic_keys: a key must be a non-empty string without "
                    f"surrounding spaces: {key!r}"
                )
        unknown = set(self.scenario_for_key) - set(self.keys) - set(self.basic_keys)
        if unknown:
            raise ValueError(f"credentials.scenario_for_key names unknown keys: {sorted(unknown)}")
