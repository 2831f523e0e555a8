"""Mutant (STT): audio goes out in 20 ms frames.

The port author sized the framer with ``sample_rate // 50``: 20 ms is WebRTC's frame, what
LiveKit rooms deliver, and what the author's other plugins forward. The gateway wants exactly
50 ms frames (``sample_rate // 20`` samples); every frame here is 40 % of one.

Caught by: STT-C-2 (every frame but one before a flush or the finalize is exactly 50 ms).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.audio import AudioByteStream
from voicewire.reference.stt.wire import AudioFramer

from tests.mutants.port import stt_mutant

__all__ = ["factory"]


class TwentyMillisecondFramer(AudioFramer):
    """The reference framer, cutting 20 ms frames."""

    def __init__(self, sample_rate: int) -> None:
        super().__init__(sample_rate)
        self._stream = AudioByteStream(
            sample_rate,
            num_channels=1,
            samples_per_channel=sample_rate // 50,  # BUG: 20 ms, not 50 ms
        )


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.stt_20ms_frames:factory`` loads."""
    return stt_mutant("stt_20ms_frames", framer_class=TwentyMillisecondFramer)
