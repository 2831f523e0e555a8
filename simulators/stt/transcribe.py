"""The STT simulator's ear without a script: it transcribes what it hears (sans-IO).

A session no rule scripts (echo mode) is transcribed with the tone code
(:mod:`voicewire.reference.tone_code`, ``docs/tone-code.md``): a tone-coded utterance becomes a
final with its text and word timings, any other speech (found by energy) a final with a
deterministic placeholder naming its duration (``[speech 1.20 s]``). Each final goes out
when the audio up to the segment's end has arrived, which is when the decoder can tell it is
over: the audio clock, never wall time. So a TTS simulator's audio, fed back, round-trips its
text, and any other audio still gets a well-formed, reproducible transcript.
"""

from __future__ import annotations

from typing import Any

from voicewire.reference.stt.wire import FinalTranscript, ServerMessage, TranscriptWord
from voicewire.reference.tone_code import MIN_SAMPLE_RATE, DecodedSegment, ToneDecoder

__all__ = ["ToneTranscriber", "speech_placeholder"]


def speech_placeholder(duration: float) -> str:
    """The transcript of speech that is not tone-coded: its duration, to the hundredth."""
    return f"[speech {duration:.2f} s]"


class ToneTranscriber:
    """Transcribes a session's audio with a :class:`~voicewire.reference.tone_code.ToneDecoder`
    (a :class:`~.player.Transcriber`). ``request_id`` goes into every transcript.

    At a rate below the tone code's lowest (8 kHz) nothing can be decoded: the session is
    served, transcribes nothing, and the journal says why."""

    def __init__(self, *, sample_rate: int, request_id: str) -> None:
        self._request_id = request_id
        self.notes: list[tuple[str, Any]] = []
        self._decoder: ToneDecoder | None = None
        if sample_rate >= MIN_SAMPLE_RATE:
            self._decoder = ToneDecoder(sample_rate)
        else:
            self.notes.append(
                (
                    "not_transcribed",
                    {
                        "reason": f"the tone code needs at least {MIN_SAMPLE_RATE} Hz, "
                        f"the session has {sample_rate} Hz"
                    },
                )
            )

    def hear(self, pcm: bytes, samples_received: int) -> list[ServerMessage]:
        """The finals of the segments this audio completed."""
        if self._decoder is None or not pcm:
            return []
        return [self._final(segment) for segment in self._decoder.push(pcm)]

    def finish(self, samples_received: int) -> list[ServerMessage]:
        """Input has ended: the finals of what was still open (speech cut short by the end of
        the audio; an utterance cut short is reported as speech)."""
        if self._decoder is None:
            return []
        return [self._final(segment) for segment in self._decoder.flush()]

    def _final(self, segment: DecodedSegment) -> FinalTranscript:
        words = None
        if segment.text is not None:
            text = segment.text
            words = tuple(
                TranscriptWord(word=w.text, start=w.start, end=w.end) for w in segment.words
            )
        else:
            text = speech_placeholder(segment.duration)
        return FinalTranscript(
            transcript=text,
            start=segment.start,
            duration=segment.duration,
            request_id=self._request_id,
            words=words,
        )
