"""``ChunkStream``: the consumer side shared by every LLM stream.

A producer task puts ChatChunks on a queue, then either the end marker or the exception that
ended it; the consumer iterates. Keeping the producer in its own task lets the retry loop
sleep and reconnect while the consumer simply awaits the next chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from types import TracebackType
from typing import Any

from voicewire.reference.llm.chat_chunk import ChatChunk

__all__ = ["ChunkStream"]

_END = object()


class ChunkStream:
    """An async iterator of :class:`ChatChunk` fed by :meth:`_produce` (subclasses implement
    it and call :meth:`_push`). Use it as an async context manager, or call :meth:`aclose`."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run_producer())

    def _produce(self) -> Coroutine[Any, Any, None]:
        raise NotImplementedError

    def _push(self, chunk: ChatChunk) -> None:
        self._queue.put_nowait(chunk)

    async def _run_producer(self) -> None:
        try:
            await self._produce()
        except asyncio.CancelledError:
            # Closed by aclose(): a consumer still iterating just sees the end.
            self._queue.put_nowait(_END)
            raise
        except BaseException as error:
            self._queue.put_nowait(error)
        else:
            self._queue.put_nowait(_END)

    def __aiter__(self) -> AsyncIterator[ChatChunk]:
        return self

    async def __anext__(self) -> ChatChunk:
        item = await self._queue.get()
        if item is _END:
            self._queue.put_nowait(_END)  # iterating again ends again
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            self._queue.put_nowait(_END)
            raise item
        return item

    async def to_str_iterable(self) -> AsyncIterator[str]:
        """Only the text of the stream."""
        async for chunk in self:
            if chunk.delta is not None and chunk.delta.content:
                yield chunk.delta.content

    async def collect(self) -> list[ChatChunk]:
        """Every chunk until the end (raises the stream's error, if any)."""
        return [chunk async for chunk in self]

    async def aclose(self) -> None:
        """Stop the stream (and its request, if one is running); iteration then ends."""
        if not self._task.done():
            self._task.cancel()
        # The outcome, error included, was already delivered to the iterator.
        with contextlib.suppress(BaseException):
            await self._task
        # Closed means done: chunks still buffered are not delivered afterwards.
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(_END)

    async def __aenter__(self) -> ChunkStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
