"""The TTS simulator: LiveKit inference TTS over a WebSocket, ``/tts`` (SPEC §4).

A protocol module of the simulator core. It registers (:data:`PROTOCOL`, see
``simulators/protocols.py``) its route (``GET /tts`` upgraded to a WebSocket, under ``/`` and
``/v1/``) and its scenario endpoint ``tts`` (a WebSocket endpoint), whose rules' replies are
:class:`TTSReply` delivery scripts; a connection no rule scripts synthesises every text it is
sent with the reply's defaults. The audio is always the tone code of the text.

- :mod:`.script`: the reply vocabulary (:class:`TTSReply`);
- :mod:`.faults`: message-level faults between a connection and its socket (the STT
  simulator's fault plan, :func:`tts_fault_plan`, and :func:`without_session_id`);
- :mod:`.routes`: the aiohttp handler and the per-socket :class:`TTSConnection`.
"""

from __future__ import annotations

from voicewire.simulators.core.recorded import RecordedEndpoint
from voicewire.simulators.core.registry import EndpointSpec, SimulatedProtocol
from voicewire.simulators.tts.faults import MALFORMED_TTS_FRAME, tts_fault_plan, without_session_id
from voicewire.simulators.tts.from_recording import tts_reply_from_recording
from voicewire.simulators.tts.routes import (
    CLOSE_IDLE,
    CLOSE_UNSUPPORTED_DATA,
    ENDPOINT,
    FRAME_KIND,
    MAX_TRANSCRIPT_BYTES,
    SESSION_ID_PREFIX,
    TTSConnection,
    add_tts_routes,
    output_audio_summary,
)
from voicewire.simulators.tts.script import (
    MAX_CHUNK_SECONDS,
    MAX_SAMPLE_RATE,
    MAX_TTS_SECONDS,
    MIN_CHUNK_SECONDS,
    TTSReply,
)

__all__ = [
    "CLOSE_IDLE",
    "CLOSE_UNSUPPORTED_DATA",
    "ENDPOINT",
    "FRAME_KIND",
    "MALFORMED_TTS_FRAME",
    "MAX_CHUNK_SECONDS",
    "MAX_SAMPLE_RATE",
    "MAX_TRANSCRIPT_BYTES",
    "MAX_TTS_SECONDS",
    "MIN_CHUNK_SECONDS",
    "PROTOCOL",
    "SESSION_ID_PREFIX",
    "TTSConnection",
    "TTSReply",
    "add_tts_routes",
    "output_audio_summary",
    "tts_fault_plan",
    "without_session_id",
]

PROTOCOL = SimulatedProtocol(
    name="tts",
    add_routes=add_tts_routes,
    endpoints=(EndpointSpec(ENDPOINT, TTSReply, websocket=True),),
    recorded=(
        RecordedEndpoint(ENDPOINT, "GET", "/tts", "websocket", to_reply=tts_reply_from_recording),
    ),
)
"""The TTS protocol as the simulator core registers it."""
