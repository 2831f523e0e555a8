"""Mutant (STT): every pushed frame goes out as one ``input_audio`` message, as it came.

The port author forwarded each pushed frame straight to the socket (base64 of its PCM),
without re-buffering: with 50 ms frames pushed that is right, but a caller pushing 10 ms or
odd-sized frames makes the client send frames of that size, which the gateway's 50 ms
framing does not expect.

Caught by: STT-C-2 (frames of exactly 50 ms, shorter only before a flush or the finalize).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.audio import AudioFrame
from voicewire.reference.stt.wire import ClientSession

from tests.mutants.port import stt_mutant

__all__ = ["factory"]


class PassThroughSession(ClientSession):
    """The reference session, sending audio in the pieces it was pushed in."""

    def push_audio(self, pcm: bytes | bytearray | memoryview | AudioFrame) -> list[str]:
        self._require_open("send audio")
        data = pcm.to_bytes() if isinstance(pcm, AudioFrame) else bytes(pcm)
        return self._audio_frames([data])  # BUG: no 50 ms framing


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.stt_frames_as_pushed:factory`` loads."""
    return stt_mutant("stt_frames_as_pushed", session_class=PassThroughSession)
