"""Mutant: the text in front of a ``<think>`` marker is dropped along with the block.

The port author wrote the thinking filter as two mirror-image branches: inside a block,
everything up to ``</think>`` is reasoning and is dropped; outside, everything up to
``<think>`` is ... also skipped, because the open branch was copied from the close branch.
Split markers, held prefixes and unclosed blocks are all handled right, and a reply that
starts with its reasoning (the usual layout) loses nothing; but ``Sure. <think>...`` loses
``Sure.``, and of several blocks in one delta only the text after the last survives.

Caught by: LLM-TXT-2 (text before ``<think>`` is kept), and LLM-TXT-1 where a case compares
the whole visible text.
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.thinking import ThinkingFilter, _partial_tag_length
from voicewire.reference.llm.wire import CompletionReader, TextFilter

from tests.mutants.port import mutant

__all__ = ["MirroredThinkingFilter", "factory"]


class MirroredThinkingFilter(ThinkingFilter):
    """The reference filter, with the port's copy-pasted open-tag branch."""

    def feed(self, text: str) -> str:
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        buffer = self._held + text
        visible: list[str] = []
        position = 0
        while True:
            if self._in_thinking:
                end = buffer.find(self.close_tag, position)
                if end < 0:
                    held = _partial_tag_length(buffer[position:], self.close_tag)
                    self._held = buffer[len(buffer) - held :] if held else ""
                    break
                position = end + len(self.close_tag)
                self._in_thinking = False
            else:
                start = buffer.find(self.open_tag, position)
                if start < 0:
                    held = _partial_tag_length(buffer[position:], self.open_tag)
                    visible.append(buffer[position : len(buffer) - held])
                    self._held = buffer[len(buffer) - held :] if held else ""
                    break
                # BUG: buffer[position:start], the text before the marker, is never kept.
                position = start + len(self.open_tag)
                self._in_thinking = True
        return "".join(visible)


class MirroredReader(CompletionReader):
    """The reference reader with the port's thinking filter."""

    def new_thinking_filter(self) -> TextFilter:
        return MirroredThinkingFilter()


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.text_before_think_dropped:factory`` loads."""
    return mutant("text_before_think_dropped", reader_class=MirroredReader)
