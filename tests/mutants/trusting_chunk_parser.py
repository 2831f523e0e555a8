"""Mutant: the port reads chunks the way the happy path looks, trusting every type.

The port author parsed each ``data:`` payload with ``json.loads`` and walked it with indexing
and ``.get``: ``payload["choices"]``, ``choice["delta"]``, ``fragment["index"]``. Against a
well-behaved server this is the reference's behaviour; against one that sends ``"choices":
[1]``, ``"delta": "x"`` or ``"usage": 7`` it raises ``TypeError`` or ``AttributeError``, which
no retry and no fallback adapter handles, instead of the ``APIConnectionError`` the stream
must end with.

Caught by: LLM-ROB-1 (whatever a server sends, the stream ends with an error of the APIError
family).
"""

from __future__ import annotations

import json

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_chunk import ChatChunk, CompletionUsage
from voicewire.reference.llm.tool_calls import ToolCallFragment
from voicewire.reference.llm.wire import CompletionReader, SSEEvent
from voicewire.reference.llm.wire.chunks import ParsedChoice, ParsedChunk

from tests.mutants.port import mutant

__all__ = ["TrustingReader", "factory"]


class TrustingReader(CompletionReader):
    """The reference reader with a parser that assumes every field has its documented type."""

    def feed(self, event: SSEEvent) -> list[ChatChunk]:
        if event.data.startswith("[DONE]"):
            return super().feed(event)
        payload = json.loads(event.data)  # BUG: from here on, no shape is checked
        choices = []
        for position, choice in enumerate(payload.get("choices") or []):
            delta = choice.get("delta") or {}
            fragments = tuple(
                ToolCallFragment(
                    index=item.get("index"),
                    id=item.get("id"),
                    name=(item.get("function") or {}).get("name"),
                    arguments=(item.get("function") or {}).get("arguments"),
                )
                for item in delta.get("tool_calls") or []
            )
            choices.append(
                ParsedChoice(
                    index=choice.get("index", position),
                    content=delta.get("content"),
                    tool_calls=fragments,
                    finish_reason=choice.get("finish_reason"),
                    role=delta.get("role"),
                )
            )
        usage = payload.get("usage")
        parsed = ParsedChunk(
            id=payload.get("id") or "",
            choices=tuple(choices),
            usage=None
            if usage is None
            else CompletionUsage(
                completion_tokens=usage.get("completion_tokens") or 0,
                prompt_tokens=usage.get("prompt_tokens") or 0,
                total_tokens=usage.get("total_tokens") or 0,
            ),
        )
        self._chunks_read += 1
        return self.on_chunk(parsed)


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.trusting_chunk_parser:factory`` loads."""
    return mutant("trusting_chunk_parser", reader_class=TrustingReader)
