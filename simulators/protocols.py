"""The protocols every simulator serves: one registration per protocol.

Importing :mod:`voicewire.simulators` imports this module, so the registry is filled (routes
and scenario endpoints) whenever the simulators are used. Adding a protocol adds its module
and one line here (``docs/adding-a-protocol.md``).
"""

from __future__ import annotations

from voicewire.simulators import inworld, llm, stt, tts
from voicewire.simulators.core.registry import REGISTRY

__all__: list[str] = []

REGISTRY.register(llm.PROTOCOL)
REGISTRY.register(stt.PROTOCOL)
REGISTRY.register(tts.PROTOCOL)
REGISTRY.register(inworld.PROTOCOL)
