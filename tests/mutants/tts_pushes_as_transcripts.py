"""Mutant (TTS): every ``push_text`` goes out as one transcript, as it came.

The port author forwarded each pushed piece of text straight to the gateway (plus the trailing
space), without the sentence tokenizer: with whole sentences pushed that is right, but an LLM
streams its answer token by token, so a caller pushing words or pieces of words makes the
client send transcripts that cut sentences, even words ("Hel" + " " + "lo "), which the voice
then reads with pauses in the wrong places.

Caught by: TTS-C-2 (one transcript per sentence; the concatenation, spaces normalised, is the
input text).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.tts.sentences import SentenceSplitter

from tests.mutants.port import tts_mutant

__all__ = ["factory"]


class PassThroughSplitter(SentenceSplitter):
    """The reference splitter, making a transcript of every piece pushed."""

    def push(self, text: str) -> list[str]:
        return [text + " "] if text.strip() else []  # BUG: no sentence splitting


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.tts_pushes_as_transcripts:factory`` loads."""
    return tts_mutant("tts_pushes_as_transcripts", splitter_class=PassThroughSplitter)
