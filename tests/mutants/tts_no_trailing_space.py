"""Mutant (TTS): transcripts go out without the trailing space.

The port author sent each sentence as the tokenizer gives it, stripped, and dropped the space
upstream appends to every transcript as noise. The gateway concatenates transcripts as they
come, so the last word of one sentence runs into the first of the next ("test.The"), which a
voice reads as one word.

Caught by: TTS-C-2 (each transcript is the sentence plus a trailing space; the concatenation,
spaces normalised, is the input text).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.tts import TTS
from voicewire.reference.tts.wire import InputTranscript

from tests.mutants.port import tts_mutant

__all__ = ["factory"]


class StrippedTranscriptTTS(TTS):
    """The reference TTS, sending each transcript stripped."""

    def input_transcript(self, transcript: str) -> InputTranscript:
        return super().input_transcript(transcript.strip())  # BUG: the space is the protocol's


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.tts_no_trailing_space:factory`` loads."""
    return tts_mutant("tts_no_trailing_space", tts_class=StrippedTranscriptTTS)
