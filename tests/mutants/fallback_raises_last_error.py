"""Mutant: when every LLM failed, the adapter raises the last LLM's error.

The port author wanted the caller to see a real cause rather than a summary, and re-raised the
last LLM's own error once the list was exhausted. The caller now gets, for instance, the last
LLM's ``APIStatusError(400)``, which reads as "this request is malformed, do not retry", when
in fact every provider failed (the first with a 503): the agent's handling of "all LLMs are
down" (``APIConnectionError``) never runs.

Caught by: FALLBACK-3 (when every LLM fails, ``APIConnectionError`` is raised).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.errors import APIConnectionError, APIError
from voicewire.reference.llm.fallback import FallbackAdapter, FallbackLLMStream

from tests.mutants.port import mutant

__all__ = ["LastErrorFallbackAdapter", "factory"]


class LastErrorFallbackStream(FallbackLLMStream):
    """The reference fallback stream whose port re-raises the last failure."""

    async def _produce(self) -> None:
        adapter = self._adapter
        last_error: APIError | None = None
        for index, llm in enumerate(adapter.llms):
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
                adapter._set_available(index, True)
                return
            except APIError as error:
                last_error = error
                adapter.mark_failed(index, self._chat_ctx, self._tools, self._options)
                if sent_output and not adapter.retry_on_chunk_sent:
                    raise
        if last_error is not None:
            raise last_error  # BUG: not an APIConnectionError
        raise APIConnectionError("all LLMs failed", retryable=False)


class LastErrorFallbackAdapter(FallbackAdapter):
    """The reference adapter, streaming through the port's fallback stream."""

    stream_class = LastErrorFallbackStream


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.fallback_raises_last_error:factory`` loads."""
    return mutant("fallback_raises_last_error", fallback_class=LastErrorFallbackAdapter)
