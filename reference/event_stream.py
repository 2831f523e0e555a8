"""``EventStream``: the consumer side every reference stream shares (LLM chunks, speech
events, and the TTS audio frames next).

A producer task puts items on a queue, then either the end marker or the exception that ended
it; the consumer iterates. Keeping the producer in its own task lets a retry loop sleep and
reconnect while the consumer simply awaits the next item. After :meth:`EventStream.aclose`
iteration ends at once: items still buffered are dropped, and the producer's outcome (error
included) is not delivered again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from types import TracebackType
from typing import Any, Generic, TypeVar

from typing_extensions import Self

__all__ = ["EventStream"]

T = TypeVar("T")

_END = object()


class EventStream(Generic[T]):
    """An async iterator of ``T`` fed by :meth:`_produce` (subclasses implement it and call
    :meth:`_push`). Use it as an async context manager, or call :meth:`aclose`.

    The producer starts when :meth:`_start` is called (a subclass calls it last in its
    ``__init__``, once the state its producer reads is set up)."""

    _task: asyncio.Task[None]

    def _start(self) -> None:
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run_producer())

    def _produce(self) -> Coroutine[Any, Any, None]:
        raise NotImplementedError

    def _push(self, item: T) -> None:
        self._queue.put_nowait(item)

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

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        item = await self._queue.get()
        if item is _END:
            self._queue.put_nowait(_END)  # iterating again ends again
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            self._queue.put_nowait(_END)
            raise item
        return item

    async def aclose(self) -> None:
        """Stop the stream (and whatever its producer runs); iteration then ends. Safe to
        call more than once."""
        if not self._task.done():
            self._task.cancel()
        # The outcome, error included, was already delivered to the iterator.
        with contextlib.suppress(BaseException):
            await self._task
        # Closed means done: items still buffered are not delivered afterwards.
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(_END)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
