"""Mutant: ``<think>`` blocks are removed per delta, so a marker split across deltas survives.

The port author removed reasoning with a regular expression applied to each content delta,
plus an "inside a block" flag for blocks that span deltas. That works while the servers send
``<think>`` and ``</think>`` whole inside one delta; when a marker is cut (``"<thi"`` +
``"nk>..."``) neither piece matches, so the marker text and the reasoning after it leak into
the visible content (or, for a split ``</think>``, the answer after it is swallowed).

Caught by: LLM-TXT-2 (thinking blocks are removed also when a marker is split across deltas),
and LLM-TXT-1 where a case compares the whole visible text.
"""

from __future__ import annotations

import re

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.thinking import ThinkingFilter
from voicewire.reference.llm.wire import CompletionReader

from tests.mutants.port import mutant

__all__ = ["PerDeltaThinkingFilter", "factory"]

_OPEN = "<think>"
_CLOSE = "</think>"
_WHOLE_BLOCK = re.compile(re.escape(_OPEN) + ".*?" + re.escape(_CLOSE), re.DOTALL)


class PerDeltaThinkingFilter(ThinkingFilter):
    """The port's filter: looks for whole markers inside each delta only."""

    def __init__(self) -> None:
        super().__init__(_OPEN, _CLOSE)
        self._inside = False

    def feed(self, text: str) -> str:
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        visible = []
        while text:
            if self._inside:
                end = text.find(_CLOSE)  # BUG: a close tag split across deltas is never found
                if end < 0:
                    return "".join(visible)
                text = text[end + len(_CLOSE) :]
                self._inside = False
                continue
            text = _WHOLE_BLOCK.sub("", text)
            start = text.find(_OPEN)  # BUG: an open tag split across deltas is never found
            if start < 0:
                visible.append(text)
                break
            visible.append(text[:start])
            text = text[start + len(_OPEN) :]
            self._inside = True
        return "".join(visible)

    def finish(self) -> str:
        self._inside = False
        return ""


class PerDeltaReader(CompletionReader):
    def new_thinking_filter(self) -> ThinkingFilter:
        return PerDeltaThinkingFilter()


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.split_think_marker:factory`` loads."""
    return mutant("split_think_marker", reader_class=PerDeltaReader)
