"""Mutant: the fallback LLM is asked without the tools.

The port author's adapter starts the first LLM with the caller's request as given, and on
failure "retries on the next LLM" through a small helper that rebuilds the call from the chat
context and the options, the tools left behind. The next LLM answers, so the fallback seems to
work, but it answers a request without tools: it cannot call any, and tells the user it has
no way to look up the weather.

Caught by: FALLBACK-1 (the next LLM is tried with the same chat context and tools).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.errors import APIConnectionError, APIError
from voicewire.reference.llm.fallback import FallbackAdapter, FallbackLLMStream

from tests.mutants.port import mutant

__all__ = ["ToollessFallbackAdapter", "factory"]


class ToollessFallbackStream(FallbackLLMStream):
    """The reference fallback stream whose port forgets the tools after the first LLM."""

    async def _produce(self) -> None:
        adapter = self._adapter
        failures: list[str] = []
        for index, llm in enumerate(adapter.llms):
            if not adapter._available[index] and any(adapter._available):
                adapter._start_probe(index, self._chat_ctx, self._tools, self._options)
                continue
            # BUG: only the first LLM gets the tools; the fallbacks get the context only.
            tools = self._tools if not failures else None
            stream = llm.chat(
                chat_ctx=self._chat_ctx,
                tools=tools,
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
                adapter._set_available(index, True)
                return
            except APIError as error:
                failures.append(f"{llm.label}: {error}")
                adapter.mark_failed(index, self._chat_ctx, self._tools, self._options)
                if sent_output and not adapter.retry_on_chunk_sent:
                    raise
        raise APIConnectionError("all LLMs failed: " + "; ".join(failures), retryable=False)


class ToollessFallbackAdapter(FallbackAdapter):
    """The reference adapter, streaming through the port's fallback stream."""

    stream_class = ToollessFallbackStream


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.fallback_drops_tools:factory`` loads."""
    return mutant("fallback_drops_tools", fallback_class=ToollessFallbackAdapter)
