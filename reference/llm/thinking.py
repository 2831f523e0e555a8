"""Removing reasoning blocks from streamed assistant text (SPEC LLM-TXT-1, LLM-TXT-2).

Reasoning models put their hidden reasoning in ``<think> ... </think>`` blocks inside the
content. Gemma uses ``<|channel>thought ... <channel|>``. :class:`ThinkingFilter` removes
those blocks from a stream of content deltas and returns everything else unchanged.

What it guarantees: for any way of cutting the content into deltas, the concatenation of
everything :meth:`ThinkingFilter.feed` and :meth:`ThinkingFilter.finish` return equals the
whole content with its blocks removed. Blocks are found left to right. Outside a block, the
first open tag starts one. Inside a block, the first close tag ends it. Blocks do not nest: an
open tag inside a block is reasoning text, and the first close tag still ends the block. A
close tag outside a block is ordinary text. A block still open at the end of the stream is
discarded. Nothing else is changed. In particular, whitespace around a block is kept, because
dropping it would lose text that is not reasoning.

To make that possible for tags split across deltas, the filter holds back only the shortest
necessary tail: the longest suffix of what it has seen that could still grow into the tag it
is looking for. ``"abc<thi"`` releases ``"abc"`` and holds ``"<thi"``. If the next delta turns
out not to complete the tag, the held text is released with it.
"""

from __future__ import annotations

__all__ = ["ThinkingFilter"]


def _partial_tag_length(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for length in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:length]):
            return length
    return 0


class ThinkingFilter:
    """Stateful filter that drops ``open_tag ... close_tag`` blocks from streamed text.

    Call :meth:`feed` with each content delta and :meth:`finish` at the end of the stream. The
    module docstring gives the exact semantics.
    """

    def __init__(self, open_tag: str = "<think>", close_tag: str = "</think>") -> None:
        for what, tag in (("open_tag", open_tag), ("close_tag", close_tag)):
            if not isinstance(tag, str):
                raise TypeError(f"{what} must be a str, got {type(tag).__name__}")
            if not tag:
                raise ValueError(f"{what} must not be empty")
        if open_tag == close_tag:
            # With equal tags, "inside" and "outside" could not be told apart by the tag alone.
            raise ValueError(f"open_tag and close_tag must differ, both are {open_tag!r}")
        self._open_tag = open_tag
        self._close_tag = close_tag
        self._in_thinking = False
        # Outside a block: visible text that may be the start of ``open_tag``. Inside a block:
        # reasoning text that may be the start of ``close_tag``. Always shorter than the tag.
        self._held = ""

    @property
    def open_tag(self) -> str:
        """The marker that starts a reasoning block."""
        return self._open_tag

    @property
    def close_tag(self) -> str:
        """The marker that ends a reasoning block."""
        return self._close_tag

    @property
    def in_thinking(self) -> bool:
        """Whether the text seen so far ends inside an open reasoning block."""
        return self._in_thinking

    def feed(self, text: str) -> str:
        """Take one content delta and return the visible text that can be released now.

        Returns ``""`` when nothing can be released yet, for example inside a block or while
        a possible tag prefix is held.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        buffer = self._held + text
        visible: list[str] = []
        position = 0
        while True:
            if self._in_thinking:
                end = buffer.find(self._close_tag, position)
                if end < 0:
                    # The reasoning text is dropped; only a possible close-tag start is kept.
                    held = _partial_tag_length(buffer[position:], self._close_tag)
                    self._held = buffer[len(buffer) - held :] if held else ""
                    break
                position = end + len(self._close_tag)
                self._in_thinking = False
            else:
                start = buffer.find(self._open_tag, position)
                if start < 0:
                    held = _partial_tag_length(buffer[position:], self._open_tag)
                    visible.append(buffer[position : len(buffer) - held])
                    self._held = buffer[len(buffer) - held :] if held else ""
                    break
                visible.append(buffer[position:start])
                position = start + len(self._open_tag)
                self._in_thinking = True
        return "".join(visible)

    def finish(self) -> str:
        """End the stream: return held visible text, discard an unclosed block, and reset.

        A possible open-tag prefix that never completed is visible text, so it is returned.
        After this the filter is ready for a new stream.
        """
        released = "" if self._in_thinking else self._held
        self._in_thinking = False
        self._held = ""
        return released
