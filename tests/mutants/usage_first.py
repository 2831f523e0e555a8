"""Mutant: the usage chunk is emitted the moment the server's usage object arrives.

The port author pushed a usage ChatChunk straight from the SSE loop instead of holding it until
the completion's content and tool calls are out. Against a server that sends usage after the
finish chunk this looks right; but whatever the client still holds when usage arrives (tool
calls of a stream without a finish chunk, a held-back partial ``<think`` prefix, calls of a
completion whose usage rides in or before its finish chunk) is emitted after the usage.

Caught by: LLM-USG-1 (usage is emitted after the content and tool calls).
"""

from __future__ import annotations

from typing import Any

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_chunk import ChatChunk
from voicewire.reference.llm.inference import LLM, LLMStream, usage_from_openai
from voicewire.reference.llm.tool_calls import ToolCallFragment

from tests.mutants.port import mutant

__all__ = ["factory"]


class EagerUsageStream(LLMStream):
    """The reference loop, pushing usage as it comes."""

    async def _stream_once(self) -> None:
        stream = await self.open_stream()
        assembler = self.new_assembler()
        thinking = self.new_thinking_filter()
        chunk_id = ""
        try:
            async for chunk in stream:
                chunk_id = chunk.id
                self._request_id = chunk.id
                if chunk.usage is not None:  # BUG: before this chunk's (and later) content
                    self._usage = usage_from_openai(chunk.usage)
                    self._push(ChatChunk(id=chunk_id, usage=self._usage))
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
                        calls = assembler.finish()
                    self._emit(chunk_id, text, calls)
        finally:
            await stream.close()
        self._emit(chunk_id, thinking.finish(), assembler.finish())


class EagerUsageLLM(LLM):
    stream_class = EagerUsageStream


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.usage_first:factory`` loads."""
    return mutant("usage_first", llm_class=EagerUsageLLM)
