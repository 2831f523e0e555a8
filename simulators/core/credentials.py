"""The API keys a simulator accepts, and the development defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["DEFAULT_API_KEY", "DEFAULT_API_SECRET", "Credentials"]

DEFAULT_API_KEY = "voicewire-dev-key"
"""Development API key accepted by default (never use it for anything real)."""
DEFAULT_API_SECRET = "voicewire-dev-secret-0123456789abcdef"
"""Development API secret matching :data:`DEFAULT_API_KEY` (>= 32 bytes, as HS256 wants)."""


@dataclass(frozen=True)
class Credentials:
    """API keys the simulator accepts: ``keys`` maps API key → secret;
    ``scenario_for_key`` optionally pins a key to a scenario name."""

    keys: Mapping[str, str] = field(default_factory=lambda: {DEFAULT_API_KEY: DEFAULT_API_SECRET})
    scenario_for_key: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("credentials.keys must hold at least one API key")
        for key, secret in self.keys.items():
            if not isinstance(key, str) or not key:
                raise ValueError(f"credentials.keys: API key must be a non-empty string: {key!r}")
            if not isinstance(secret, str) or not secret:
                raise ValueError(f"credentials.keys[{key!r}]: secret must be a non-empty string")
        unknown = set(self.scenario_for_key) - set(self.keys)
        if unknown:
            raise ValueError(f"credentials.scenario_for_key names unknown keys: {sorted(unknown)}")
