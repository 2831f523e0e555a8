"""Mutant: content ChatChunks carry an id the client generated, not the server's.

The port author gave each stream its own request id (``chatcmpl-`` plus a random uuid, as
the agent framework does for the chunks it synthesises itself) and stamped it on the text and
tool-call ChatChunks, leaving only the usage chunk with the server's id. The ids are unique
and stable within a stream, so nothing looks wrong, but the consumer can no longer match its
chunks to the provider's logs, and the completion appears under two ids.

Caught by: LLM-ORD-1 (all ChatChunks of one stream carry the server's chunk ``id``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_chunk import ChatChunk, ChoiceDelta, FunctionToolCall
from voicewire.reference.llm.wire import CompletionReader

from tests.mutants.port import mutant

__all__ = ["LocalIdReader", "factory"]


class LocalIdReader(CompletionReader):
    """The reference reader whose port stamps content chunks with its own id."""

    def emit(self, text: str, calls: Sequence[FunctionToolCall]) -> list[ChatChunk]:
        if not text and not calls:
            return []
        self._visible_output = True
        if not hasattr(self, "_local_id"):
            self._local_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        delta = ChoiceDelta(content=text or None, tool_calls=tuple(calls))
        return [ChatChunk(id=self._local_id, delta=delta)]  # BUG: not the server's id


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.local_chunk_ids:factory`` loads."""
    return mutant("local_chunk_ids", reader_class=LocalIdReader)
