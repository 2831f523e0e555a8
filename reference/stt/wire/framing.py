"""Cutting pushed audio into the 50 ms ``input_audio`` frames of STT-C-2, sans-IO.

:class:`AudioFramer` takes PCM s16le mono at the session's rate, pushed in pieces of any size
(even split inside a sample), and hands back frames of exactly :func:`frame_samples` samples,
holding the remainder. :meth:`AudioFramer.flush` hands back that remainder as one shorter frame:
STT-C-2 allows a short frame only right before a flush or the finalize, and the client calls
``flush`` exactly there. Every byte pushed comes out once, in order.
"""

from __future__ import annotations

from voicewire.reference.audio import AudioByteStream, AudioFrame

__all__ = ["FRAME_DURATION", "AudioFramer", "frame_samples"]

FRAME_DURATION = 0.05
"""Seconds of audio in every ``input_audio`` frame but a flushed one (STT-C-2)."""

_SAMPLE_BYTES = 2  # s16le, mono


def frame_samples(sample_rate: int) -> int:
    """Samples in one 50 ms frame at ``sample_rate``: ``sample_rate // 20`` (STT-C-2).

    For a rate that 20 does not divide (22050, 11025) this is the floor, as upstream's
    ``AudioByteStream(samples_per_channel=sample_rate // 20)``: the frame is a fraction of a
    sample short of 50 ms. At least one sample.
    """
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int):
        raise TypeError(f"sample_rate must be an int, got {type(sample_rate).__name__}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be > 0, got {sample_rate}")
    return max(1, sample_rate // 20)


class AudioFramer:
    """PCM s16le mono in, exact 50 ms frames (``bytes``) out (STT-C-2).

    One framer serves a whole stream, across reconnects, so that no pushed byte is lost or
    repeated when a new session takes over.
    """

    def __init__(self, sample_rate: int) -> None:
        self._sample_rate = sample_rate
        self._stream = AudioByteStream(
            sample_rate, num_channels=1, samples_per_channel=frame_samples(sample_rate)
        )

    @property
    def sample_rate(self) -> int:
        """The session's rate; pushed :class:`AudioFrame` s must have it."""
        return self._sample_rate

    @property
    def frame_samples(self) -> int:
        """Samples in every frame :meth:`push` returns."""
        return self._stream.samples_per_channel

    @property
    def frame_bytes(self) -> int:
        """Bytes in every frame :meth:`push` returns."""
        return self.frame_samples * _SAMPLE_BYTES

    @property
    def pending_bytes(self) -> int:
        """Bytes held towards the next frame."""
        return self._stream.pending_bytes

    def push(self, pcm: bytes | bytearray | memoryview | AudioFrame) -> list[bytes]:
        """Append ``pcm`` and return every frame now complete, each exactly
        :attr:`frame_bytes` long. An :class:`AudioFrame` must be mono at :attr:`sample_rate`
        (resampling is the client's job) or ``ValueError`` is raised."""
        return [frame.to_bytes() for frame in self._stream.push(pcm)]

    def flush(self) -> bytes | None:
        """The held remainder as one shorter frame, or ``None`` when nothing is held.

        Raises ``ValueError`` when the remainder ends inside a sample (an odd byte count: what
        was pushed is not s16le); the remainder is then kept, so pushing the missing byte and
        flushing again works.
        """
        frames = self._stream.flush()
        return frames[0].to_bytes() if frames else None
