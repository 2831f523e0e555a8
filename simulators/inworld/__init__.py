"""The Inworld simulator (SPEC §5): TTS over HTTP NDJSON (``POST /tts/v1/voice:stream``), the
voices list (``GET /tts/v1/voices``), TTS over a multi-context WebSocket
(``/tts/v1/voice:streamBidirectional``) and STT over WebSocket
(``/stt/v1/transcribe:streamBidirectional``), every route authenticated with a Basic key
(AUTH-6).

Each endpoint family is one module of this package (a *part*) exposing ``add_routes(router,
prefix)`` and ``ENDPOINTS`` (its :class:`~voicewire.simulators.scenario.EndpointSpec`\\ s);
:data:`PROTOCOL` mounts every part and makes its endpoints addressable by scenarios.
"""

from __future__ import annotations

from types import ModuleType

from aiohttp import web
from voicewire.simulators.core.registry import SimulatedProtocol
from voicewire.simulators.inworld import contexts, synthesis, transcribe
from voicewire.simulators.inworld.recording import INWORLD_RECORDED

__all__ = ["PROTOCOL"]

_PARTS: tuple[ModuleType, ...] = (synthesis, contexts, transcribe)


def _add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    for part in _PARTS:
        part.add_routes(router, prefix)


PROTOCOL = SimulatedProtocol(
    name="inworld",
    add_routes=_add_routes,
    endpoints=tuple(spec for part in _PARTS for spec in part.ENDPOINTS),
    recorded=INWORLD_RECORDED,
)
"""The Inworld protocol as the simulator registry knows it."""
