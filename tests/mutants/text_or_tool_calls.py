"""Mutant: a delta is read as either text or tool calls, never both.

The port author wrote the delta handling as ``if delta.tool_calls: ... elif delta.content:
...``, the shape of most examples (OpenAI itself never mixes the two in one delta). Servers
that do mix them, such as vLLM with some tool parsers and several gateways, put the text that
introduces a call (``"Let me check."``) in the same delta as the call's header: that text is
dropped, while the calls still come out whole.

Caught by: LLM-TC-5 (text that shares a delta with tool-call fragments is emitted), and
LLM-TXT-1 where a case compares the whole visible text.
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_chunk import ChatChunk
from voicewire.reference.llm.wire import CompletionReader, ParsedChunk

from tests.mutants.port import mutant

__all__ = ["EitherOrReader", "factory"]


class EitherOrReader(CompletionReader):
    """The reference reader whose port handles a delta's calls or its text."""

    def on_chunk(self, chunk: ParsedChunk) -> list[ChatChunk]:
        if chunk.id:
            self._completion_id = chunk.id
        out: list[ChatChunk] = []
        for choice in chunk.choices:
            text = ""
            calls = []
            if choice.tool_calls:
                calls = list(self.on_tool_calls(choice.tool_calls))
            elif choice.content:  # BUG: text next to tool-call fragments is never read
                text = self.on_content(choice.content)
            if choice.finish_reason is not None:
                text += self.text_to_flush(choice.finish_reason)
                calls.extend(self.calls_to_flush(choice.finish_reason))
            out.extend(self.emit(text, calls))
        if chunk.usage is not None:
            self._usage = chunk.usage
            out.extend(self.on_usage(chunk.usage))
        return out


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.text_or_tool_calls:factory`` loads."""
    return mutant("text_or_tool_calls", reader_class=EitherOrReader)
