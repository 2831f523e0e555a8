"""Mutant: a tool call pending when the completion ends with ``finish_reason: length`` is lost.

The port author flushed the assembled calls only on the finish reasons that "mean" tool use,
``tool_calls`` and ``stop`` (as livekit-agents 1.8.9 does), and flushed only the held-back
text at the end of the stream. A completion cut off by ``max_tokens`` (``length``), stopped
by a ``content_filter``, or ending without any finish chunk silently drops every call whose
header already arrived.

Caught by: LLM-TC-3 (a pending call is never dropped).
"""

from __future__ import annotations

from typing import Any

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_chunk import ChatChunk, CompletionUsage
from voicewire.reference.llm.inference import LLM, LLMStream, usage_from_openai
from voicewire.reference.llm.tool_calls import ToolCallFragment

from tests.mutants.port import mutant

__all__ = ["factory"]

# The port's notion of "the model is done calling tools".
_FLUSH_REASONS = ("tool_calls", "stop")


class DroppingStream(LLMStream):
    """The reference loop, flushing calls only on ``tool_calls``/``stop``."""

    async def _stream_once(self) -> None:
        stream = await self.open_stream()
        assembler = self.new_assembler()
        thinking = self.new_thinking_filter()
        usages: list[CompletionUsage] = []
        chunk_id = ""
        try:
            async for chunk in stream:
                chunk_id = chunk.id
                self._request_id = chunk.id
                for choice in chunk.choices:
                    delta = choice.delta
                    if delta is None:
                        continue
                    text = thinking.feed(delta.content) if delta.content else ""
                    if delta.tool_calls:
                        assembler.feed(ToolCallFragment.from_openai(t) for t in delta.tool_calls)
                    calls: list[Any] = []
                    if choice.finish_reason is not None:
                        text += thinking.finish()
                    if choice.finish_reason in _FLUSH_REASONS:  # BUG: length/content_filter
                        calls = assembler.finish()
                    self._emit(chunk_id, text, calls)
                if chunk.usage is not None:
                    usages.append(usage_from_openai(chunk.usage))
        finally:
            await stream.close()
        self._emit(chunk_id, thinking.finish(), [])  # BUG: pending calls are not flushed
        for usage in usages:
            self._usage = usage
            self._push(ChatChunk(id=chunk_id, usage=usage))


class DroppingLLM(LLM):
    stream_class = DroppingStream


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.finish_length_drops_call:factory`` loads."""
    return mutant("finish_length_drops_call", llm_class=DroppingLLM)
