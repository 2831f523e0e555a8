"""Mutant: a partial ``<think`` prefix still held at the end of the stream is dropped.

The port author held back a possible start of ``<think>`` between deltas, as the reference
does, but at the end of the stream treated whatever was still held as "an incomplete tag" and
threw it away. A reply that ends in ``<``, ``<t`` or ``<thin`` (code, maths, a quoted tag, or
a reply cut off by ``max_tokens``) loses its last characters.

Should be caught by: LLM-TXT-1 (no text is lost) and LLM-TXT-2 (text is only removed inside
complete thinking blocks).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.thinking import ThinkingFilter
from voicewire.reference.llm.wire import CompletionReader, TextFilter

from tests.mutants.port import mutant

__all__ = ["DroppingFinishFilter", "factory"]


class DroppingFinishFilter(ThinkingFilter):
    """The reference filter whose port discards what it holds at the end."""

    def finish(self) -> str:
        super().finish()
        return ""  # BUG: a held "<thi" that never became a tag is visible text


class DroppingFinishReader(CompletionReader):
    """The reference reader with the port's thinking filter."""

    def new_thinking_filter(self) -> TextFilter:
        return DroppingFinishFilter()


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.held_prefix_dropped:factory`` loads."""
    return mutant("held_prefix_dropped", reader_class=DroppingFinishReader)
