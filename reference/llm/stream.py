"""``ChunkStream``: the consumer side shared by every LLM stream (an
:class:`~voicewire.reference.event_stream.EventStream` of ChatChunks)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from voicewire.reference.event_stream import EventStream
from voicewire.reference.llm.chat_chunk import ChatChunk

__all__ = ["ChunkStream"]


class ChunkStream(EventStream[ChatChunk]):
    """An async iterator of :class:`ChatChunk` fed by :meth:`_produce` (subclasses implement
    it and call :meth:`_push`). Use it as an async context manager, or call :meth:`aclose`."""

    def __init__(self) -> None:
        self._start()

    async def to_str_iterable(self) -> AsyncIterator[str]:
        """Only the text of the stream."""
        async for chunk in self:
            if chunk.delta is not None and chunk.delta.content:
                yield chunk.delta.content

    async def collect(self) -> list[ChatChunk]:
        """Every chunk until the end (raises the stream's error, if any)."""
        return [chunk async for chunk in self]
