"""The STT simulator: LiveKit inference STT over a WebSocket, ``/stt`` (SPEC §3).

A protocol module of the simulator core. It registers (:data:`PROTOCOL`, see
``simulators/protocols.py``) its route (``GET /stt`` upgraded to a WebSocket, under ``/`` and
``/v1/``) and its scenario endpoint ``stt`` (a WebSocket endpoint), whose rules' replies are
:class:`STTReply` transcript scripts played on the audio clock; a session no rule scripts
(echo mode) is transcribed from its audio with the tone code.

- :mod:`.script`: the reply vocabulary (:class:`STTReply`, :class:`SegmentScript`,
  :class:`WordScript`);
- :mod:`.player`: audio in, due messages out, with no I/O (:class:`Transcriber`,
  :class:`ScriptPlayer`);
- :mod:`.transcribe`: the transcription of what a session hears when no rule scripts it
  (:class:`ToneTranscriber`: the tone code's text, or a placeholder naming other speech's
  duration);
- :mod:`.faults`: message-level faults between a session and its socket (:class:`FaultPlan`);
- :mod:`.routes`: the aiohttp handler and the per-socket :class:`STTConnection`.
"""

from __future__ import annotations

from voicewire.simulators.core.registry import EndpointSpec, SimulatedProtocol
from voicewire.simulators.stt.faults import MALFORMED_FRAME, FaultPlan
from voicewire.simulators.stt.player import ScriptPlayer, Transcriber, position
from voicewire.simulators.stt.recording import STT_RECORDED
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
from voicewire.simulators.stt.transcribe import ToneTranscriber, speech_placeholder

__all__ = [
    "CLOSE_IDLE",
    "CLOSE_UNSUPPORTED_DATA",
    "ENDPOINT",
    "FRAME_KIND",
    "MALFORMED_FRAME",
    "MAX_SCRIPT_SECONDS",
    "MIN_INTERIM_INTERVAL",
    "PROTOCOL",
    "REQUEST_ID_PREFIX",
    "SESSION_ID_PREFIX",
    "FaultPlan",
    "STTConnection",
    "STTReply",
    "ScriptPlayer",
    "SegmentScript",
    "ToneTranscriber",
    "Transcriber",
    "WordScript",
    "add_stt_routes",
    "audio_summary",
    "position",
    "speech_placeholder",
]

PROTOCOL = SimulatedProtocol(
    name="stt",
    add_routes=add_stt_routes,
    endpoints=(EndpointSpec(ENDPOINT, STTReply, websocket=True),),
    recorded=STT_RECORDED,
)
"""The STT protocol as the simulator core registers it."""
