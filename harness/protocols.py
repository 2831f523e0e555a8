"""The protocols voicewire speaks: the one place the harness registers each of them.

Adding a protocol adds one line here (its :class:`~voicewire.harness.capabilities.ProtocolSpec`
with the reference implementation's part); see ``docs/adding-a-protocol.md``. Everything else
in the harness reads :data:`TABLE`.
"""

from __future__ import annotations

from voicewire.harness import (
    inworld,
    inworld_cassette,
    inworld_livekit,
    inworld_livekit_deviations,
    inworld_reference,
    llm,
    llm_cassette,
    llm_livekit,
    llm_livekit_deviations,
    llm_reference,
    stt,
    stt_cassette,
    stt_livekit,
    stt_livekit_deviations,
    stt_reference,
    tts,
    tts_cassette,
    tts_livekit,
    tts_livekit_deviations,
    tts_reference,
)
from voicewire.harness.capabilities import CapabilityTable, ProtocolSpec
from voicewire.harness.events import WireFrame, WireNote
from voicewire.harness.stream_diff import StreamNormalisers

__all__ = ["CASSETTE_OPERATIONS", "NORMALISERS", "TABLE", "WIRE"]

WIRE = ProtocolSpec(
    name="wire",
    capabilities=(),
    event_types=(WireFrame, WireNote),
    sans_io=("voicewire.reference.auth",),
)
"""Not a protocol of its own: the ``wire.frame`` and ``wire.note`` entries every simulator
journal records, and the sans-IO code every protocol shares (the JWT on both sides)."""

TABLE = CapabilityTable(
    [
        WIRE,
        llm.PROTOCOL.with_implementation(
            "reference", llm_reference.LLMReference
        ).with_implementation(
            "livekit", llm_livekit.LivekitLLM, deviations=llm_livekit_deviations.DEVIATIONS
        ),
        stt.PROTOCOL.with_implementation(
            "reference", stt_reference.STTReference
        ).with_implementation(
            "livekit",
            stt_livekit.LivekitSTT,
            deviations=stt_livekit_deviations.STT_DEVIATIONS,
        ),
        tts.PROTOCOL.with_implementation(
            "reference", tts_reference.TTSReference
        ).with_implementation(
            "livekit",
            tts_livekit.LivekitTTS,
            deviations=tts_livekit_deviations.TTS_DEVIATIONS,
        ),
        inworld.PROTOCOL.with_implementation(
            "reference", inworld_reference.InworldReference
        ).with_implementation(
            "livekit",
            inworld_livekit.LivekitInworld,
            deviations=inworld_livekit_deviations.INWORLD_DEVIATIONS,
        ),
    ]
)
"""Every registered capability, operation and event type."""

NORMALISERS = StreamNormalisers(
    TABLE,
    {
        **llm.STREAM_NORMALISERS,
        **stt.STREAM_NORMALISERS,
        **tts.STREAM_NORMALISERS,
        **inworld.STREAM_NORMALISERS,
    },
)
"""How each client capability's events are normalised for comparison (``voicewire diff``,
``voicewire run --cassette``): one mapping per protocol, from its module."""

CASSETTE_OPERATIONS = (
    *llm_cassette.LLM_CASSETTE,
    *stt_cassette.STT_CASSETTE,
    *tts_cassette.TTS_CASSETTE,
    *inworld_cassette.INWORLD_CASSETTE,
)
"""How each recorded endpoint's exchange becomes the operation that makes the same client
traffic (``voicewire run --cassette``, ``voicewire diff`` of a cassette): one tuple per
protocol, from its ``<protocol>_cassette`` module."""
