"""Mutant (Inworld STT): audio re-chunked into 50 ms messages.

The port author carried the LiveKit gateway's framing over to Inworld: pushed frames are
buffered and sent as 50 ms ``audioChunk`` messages, the remainder held for the next push.
Inworld wants each frame as pushed; worse, the audio still held when the input ends is never
sent, so the last words of a turn are cut.

Caught by: IW-STT-C-1 (one ``audioChunk`` per pushed frame, no re-chunking, bytes exact).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.inworld.wire.stt_session import TranscribeClientSession

from tests.mutants.port import inworld_mutant

__all__ = ["factory"]


class FiftyMillisecondSession(TranscribeClientSession):
    """The reference session, sending 50 ms chunks of what was pushed."""

    _held = b""

    def audio_chunks(self, pcm: bytes) -> list[bytes]:
        size = self._config.transcribeConfig.sampleRateHertz // 20 * 2  # 50 ms of s16le mono
        data = self._held + pcm
        whole = len(data) - len(data) % size
        self._held = data[whole:]  # BUG: held across pushes, lost at the end of input
        return [data[i : i + size] for i in range(0, whole, size)]


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.iw_stt_rechunked:factory`` loads."""
    return inworld_mutant("iw_stt_rechunked", session_class=FiftyMillisecondSession)
