"""Mutant (TTS): every frame says 24 kHz, whatever rate the session asked for.

The port author built the frames with the protocol's default rate (24000 Hz, the rate of
every example in the provider's docs) instead of the session's: with the default nothing
shows, but a caller that asked for 16 kHz (a telephony pipeline) or 48 kHz gets frames whose
bytes are at that rate and whose ``sample_rate`` says 24000, so its audio plays too fast or too
slow, at the wrong pitch.

Caught by: TTS-OUT-1 (the emitted audio is at the session's sample rate).
"""

from __future__ import annotations

import dataclasses

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.audio import AudioFrame
from voicewire.reference.tts.wire import (
    DEFAULT_TTS_SAMPLE_RATE,
    SynthesisOutput,
    SynthesizedAudio,
    TTSClientConnection,
    TTSServerMessage,
)

from tests.mutants.port import tts_mutant

__all__ = ["factory"]


class DefaultRateConnection(TTSClientConnection):
    """The reference connection, whose frames are labelled with the default rate."""

    def receive(self, message: TTSServerMessage) -> list[SynthesisOutput]:
        return [
            dataclasses.replace(
                output,
                # BUG: the frames are at the session's rate, self.sample_rate.
                frame=AudioFrame(output.frame.to_bytes(), sample_rate=DEFAULT_TTS_SAMPLE_RATE),
            )
            if isinstance(output, SynthesizedAudio)
            else output
            for output in super().receive(message)
        ]


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.tts_frames_at_default_rate:factory`` loads."""
    return tts_mutant("tts_frames_at_default_rate", connection_class=DefaultRateConnection)
