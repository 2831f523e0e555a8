"""Mutant: the adapter moves on to the next LLM even after visible output.

The port author wrote the failover as "any ``APIError`` from this LLM: try the next one",
without looking at whether the failed stream had already emitted text (``retry_on_chunk_sent``
is only consulted for logging). A connection that drops mid-answer is followed by the next
LLM's whole answer, so the user hears the beginning of one answer and then a different one,
and the caller never learns that the first stream failed.

Caught by: FALLBACK-2 (after visible output a failure is raised as is unless
``retry_on_chunk_sent``).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.errors import APIConnectionError, APIError
from voicewire.reference.llm.fallback import FallbackAdapter, FallbackLLMStream

from tests.mutants.port import mutant

__all__ = ["EagerFallbackAdapter", "factory"]


class EagerFallbackStream(FallbackLLMStream):
    """The reference fallback stream whose port fails over after output too."""

    async def _produce(self) -> None:
        adapter = self._adapter
        failures: list[str] = []
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
            try:
                async with stream:
                    async for chunk in stream:
                        self._push(chunk)
                self.served_by = llm
                adapter._set_available(index, True)
                return
            except APIError as error:
                failures.append(f"{llm.label}: {error}")
                adapter.mark_failed(index, self._chat_ctx, self._tools, self._options)
                # BUG: no "output was already sent" check: always on to the next LLM
        raise APIConnectionError("all LLMs failed: " + "; ".join(failures), retryable=False)


class EagerFallbackAdapter(FallbackAdapter):
    """The reference adapter, streaming through the port's fallback stream."""

    stream_class = EagerFallbackStream


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.fallback_after_output:factory`` loads."""
    return mutant("fallback_after_output", fallback_class=EagerFallbackAdapter)
