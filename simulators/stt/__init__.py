"""The STT simulator: LiveKit inference STT over a WebSocket, ``/stt`` (SPEC §3).

A protocol module of the simulator core. It registers (:data:`PROTOCOL`, see
``simulators/protocols.py``) its route (``GET /stt`` upgraded to a WebSocket, under ``/`` and
``/v1/``) and its scenario endpoint ``stt`` (a WebSocket endpoint), whose rules' replies are
:class:`STTReply` transcript scripts played on the audio clock.

- :mod:`.script`: the reply vocabulary (:class:`STTReply`, :class:`SegmentScript`,
  :class:`WordScript`);
- :mod:`.player`: audio in, due messages out, with no I/O (:class:`Transcriber`,
  :class:`ScriptPlayer`);
- :mod:`.routes`: the aiohttp handler and the per-socket :class:`STTConnection`.
"""

from __future__ import annotations

from voicewire.simulators.core.registry import EndpointSpec, SimulatedProtocol
from voicewire.simulators.stt.player import ScriptPlayer, Transcriber, position
from voicewire.simulators.stt.routes import (
    CLOSE_IDLE,
    CLOSE_UNSUPPORTED_DATA,
    ENDPOINT,
    FRAME_KIND,
    REQUEST_ID_PREFIX,
    SESSION_ID_PREFIX,
    STTConnection,
    add_stt_routes,
    audio_summary,
)
from voicewire.simulators.stt.script import (
    MAX_SCRIPT_SECONDS,
    MIN_INTERIM_INTERVAL,
    SegmentScript,
    STTReply,
    WordScript,
)

__all__ = [
    "CLOSE_IDLE",
    "CLOSE_UNSUPPORTED_DATA",
    "ENDPOINT",
    "FRAME_KIND",
    "MAX_SCRIPT_SECONDS",
    "MIN_INTERIM_INTERVAL",
    "PROTOCOL",
    "REQUEST_ID_PREFIX",
    "SESSION_ID_PREFIX",
    "STTConnection",
    "STTReply",
    "ScriptPlayer",
    "SegmentScript",
    "Transcriber",
    "WordScript",
    "add_stt_routes",
    "audio_summary",
    "position",
]

PROTOCOL = SimulatedProtocol(
    name="stt",
    add_routes=add_stt_routes,
    endpoints=(EndpointSpec(ENDPOINT, STTReply, websocket=True),),
)
"""The STT protocol as the simulator core registers it."""
