"""Mutant: the adapter marks a failed LLM unavailable but still tries it first next time.

The port author emits ``llm_availability_changed {available: false}`` and starts the recovery
probe, as the SPEC says, but the request loop walks the LLMs in order without looking at
their availability. Every request after a provider outage first waits for the dead primary
to fail again (up to ``attempt_timeout`` per request, seconds of silence per user turn) before
the secondary answers.

Caught by: FALLBACK-1 (on a failure the *next available* LLM is tried; an
unavailable LLM is skipped while another is available).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.errors import APIConnectionError, APIError
from voicewire.reference.llm.fallback import FallbackAdapter, FallbackLLMStream

from tests.mutants.port import mutant

__all__ = ["InOrderFallbackAdapter", "factory"]


class InOrderFallbackStream(FallbackLLMStream):
    """The reference fallback stream whose port never skips an unavailable LLM."""

    async def _produce(self) -> None:
        adapter = self._adapter
        failures: list[str] = []
        for index, llm in enumerate(adapter.llms):  # BUG: availability is not consulted
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
                failures.append(f"{llm.label}: {error}")
                adapter.mark_failed(index, self._chat_ctx, self._tools, self._options)
                if sent_output and not adapter.retry_on_chunk_sent:
                    raise
        raise APIConnectionError("all LLMs failed: " + "; ".join(failures), retryable=False)


class InOrderFallbackAdapter(FallbackAdapter):
    """The reference adapter, streaming through the port's fallback stream."""

    stream_class = InOrderFallbackStream


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.fallback_tries_unavailable:factory`` loads."""
    return mutant("fallback_tries_unavailable", fallback_class=InOrderFallbackAdapter)
