"""Mutant: a thinking block still open at the end of the stream is released as text.

The port author reasoned that a ``<think>`` the model never closed was not reasoning at all
(a model quoting the tag, or a reply cut short), and made the filter's end-of-stream step give
back the raw text of the unclosed block, marker included, instead of discarding it. Closed
blocks, split markers and held prefixes are handled like the reference does; only a stream
that ends inside a block (``max_tokens`` hit while reasoning, a dropped connection after the
reasoning began) now speaks the model's private reasoning aloud.

Caught by: LLM-TXT-2 (an unclosed block at the end of stream is discarded).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.thinking import ThinkingFilter
from voicewire.reference.llm.wire import CompletionReader, TextFilter

from tests.mutants.port import mutant

__all__ = ["ReleasingThinkingFilter", "factory"]


class ReleasingThinkingFilter(ThinkingFilter):
    """The reference filter, keeping the raw text so an unclosed block can be given back."""

    def __init__(self) -> None:
        super().__init__()
        self._raw = ""

    def feed(self, text: str) -> str:
        self._raw += text if isinstance(text, str) else ""
        return super().feed(text)

    def finish(self) -> str:
        if not self.in_thinking:
            self._raw = ""
            return super().finish()
        # BUG: the unclosed block is "not really reasoning": give it back, marker and all.
        after_last_close = self._raw.rfind(self.close_tag)
        search_from = 0 if after_last_close < 0 else after_last_close + len(self.close_tag)
        block = self._raw[self._raw.find(self.open_tag, search_from) :]
        super().finish()
        self._raw = ""
        return block


class ReleasingReader(CompletionReader):
    """The reference reader with the port's thinking filter."""

    def new_thinking_filter(self) -> TextFilter:
        return ReleasingThinkingFilter()


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.unclosed_think_released:factory`` loads."""
    return mutant("unclosed_think_released", reader_class=ReleasingReader)
