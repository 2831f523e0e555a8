"""``FallbackAdapter``: several LLMs behind one, tried in order (SPEC §2.5, FALLBACK-1..5).

A failure before visible output moves on to the next available LLM with the same chat context
and tools; the failed LLM is marked unavailable (``llm_availability_changed``) and probed in the
background with the same request until it answers again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from voicewire.reference.emitter import EventEmitter
from voicewire.reference.errors import APIConnectionError, APIConnectOptions, APIError
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.inference import LLM
from voicewire.reference.llm.stream import ChunkStream

__all__ = ["AvailabilityChangedEvent", "FallbackAdapter", "FallbackLLMStream"]

FallbackEvent = Literal["llm_availability_changed"]


@dataclass(frozen=True)
class AvailabilityChangedEvent:
    """``llm`` became unavailable (``available=False``) or recovered (``True``)."""

    llm: LLM
    available: bool


class FallbackAdapter(EventEmitter[FallbackEvent]):
    """Tries ``llms`` in order; see the module docstring.

    ``attempt_timeout``, ``max_retry_per_llm`` and ``retry_interval`` are the connect options
    each LLM gets; with ``retry_on_chunk_sent`` a failure after visible output also moves on
    (the consumer then sees the next LLM's answer after the partial one). ``stream_class`` is
    the stream :meth:`chat` returns: the one class a variant swaps to change how a completion
    walks the LLMs.
    """

    stream_class: type[FallbackLLMStream]

    def __init__(
        self,
        llms: Sequence[LLM],
        *,
        attempt_timeout: float = 5.0,
        max_retry_per_llm: int = 0,
        retry_interval: float = 0.5,
        retry_on_chunk_sent: bool = False,
    ) -> None:
        super().__init__()
        llms = list(llms)
        if not llms:
            raise ValueError("llms must hold at least one LLM")  # FALLBACK-5
        for index, llm in enumerate(llms):
            if not isinstance(llm, LLM):
                raise TypeError(f"llms[{index}] must be an LLM, got {type(llm).__name__}")
        self.llms = llms
        self.attempt_options = APIConnectOptions(
            max_retry=max_retry_per_llm, retry_interval=retry_interval, timeout=attempt_timeout
        )
        self.retry_on_chunk_sent = bool(retry_on_chunk_sent)
        self._available = [True] * len(llms)
        self._probes: dict[int, asyncio.Task[None]] = {}

    def is_available(self, llm: LLM) -> bool:
        """Whether ``llm`` is currently considered available."""
        return self._available[self.llms.index(llm)]

    def chat(
        self, *, chat_ctx: ChatContext, tools: Any = None, **options: Any
    ) -> FallbackLLMStream:
        """Start a completion on the first available LLM (options as for ``LLM.chat``)."""
        if "conn_options" in options:
            raise TypeError(
                "FallbackAdapter.chat takes no conn_options: each LLM gets attempt_timeout, "
                "max_retry_per_llm and retry_interval"
            )
        return self.stream_class(self, chat_ctx=chat_ctx, tools=tools, options=options)

    def _set_available(self, index: int, available: bool) -> None:
        if self._available[index] != available:
            self._available[index] = available
            self.emit(
                "llm_availability_changed",
                AvailabilityChangedEvent(llm=self.llms[index], available=available),
            )

    def mark_failed(self, index: int, chat_ctx: ChatContext, tools: Any, options: dict) -> None:
        """LLM ``index`` failed before visible output: mark it unavailable (with the
        ``llm_availability_changed`` event, FALLBACK-1) and probe it in the background until
        it answers again (FALLBACK-4)."""
        self._set_available(index, False)
        self._start_probe(index, chat_ctx, tools, options)

    def _start_probe(self, index: int, chat_ctx: ChatContext, tools: Any, options: dict) -> None:
        """Replay the request on an unavailable LLM in the background (FALLBACK-4)."""
        running = self._probes.get(index)
        if running is not None and not running.done():
            return

        async def probe() -> None:
            stream = self.llms[index].chat(
                chat_ctx=chat_ctx,
                tools=tools,
                conn_options=APIConnectOptions(max_retry=0, timeout=self.attempt_options.timeout),
                **options,
            )
            try:
                async with stream:
                    await stream.collect()
            except APIError:
                return
            self._set_available(index, True)

        self._probes[index] = asyncio.get_running_loop().create_task(probe())

    async def probes_settled(self) -> None:
        """Wait until every running recovery probe has finished."""
        await asyncio.gather(*self._probes.values(), return_exceptions=True)

    async def aclose(self) -> None:
        """Stop the recovery probes (the LLMs themselves are not closed)."""
        for task in self._probes.values():
            task.cancel()
        await self.probes_settled()
        self._probes.clear()


class FallbackLLMStream(ChunkStream):
    """The stream of a :class:`FallbackAdapter` completion: ChatChunks of whichever LLM served."""

    def __init__(
        self, adapter: FallbackAdapter, *, chat_ctx: ChatContext, tools: Any, options: dict
    ) -> None:
        self._adapter = adapter
        self._chat_ctx = chat_ctx
        self._tools = tools
        self._options = options
        self.served_by: LLM | None = None
        super().__init__()

    async def _produce(self) -> None:
        adapter = self._adapter
        failures: list[str] = []
        for index, llm in enumerate(adapter.llms):
            # An unavailable LLM is skipped, unless none is available at all.
            if not adapter._available[index] and any(adapter._available):
                adapter._start_probe(index, self._chat_ctx, self._tools, self._options)
                continue
            stream = llm.chat(
                chat_ctx=self._chat_ctx,
                tools=self._tools,
                conn_options=adapter.attempt_options,
                **self._options,
            )
            sent_output = False
            try:
                async with stream:
                    async for chunk in stream:
                        sent_output = sent_output or chunk.has_response
                        self._push(chunk)
                self.served_by = llm
                # It answered: whatever a probe would conclude, it is available again.
                adapter._set_available(index, True)
                return
            except APIError as error:
                failures.append(f"{llm.label}: {error}")
                adapter.mark_failed(index, self._chat_ctx, self._tools, self._options)
                if sent_output and not adapter.retry_on_chunk_sent:
                    raise  # FALLBACK-2
        raise APIConnectionError(  # FALLBACK-3
            "all LLMs failed: " + "; ".join(failures), retryable=False
        )


FallbackAdapter.stream_class = FallbackLLMStream
