"""Mutant: the fallback adapter moves on after a failure but never marks the LLM unavailable.

The port author's ``FallbackAdapter`` tries the next LLM when one fails before any output, as
it should, but only records the failure for the final error message: the failed LLM stays
"available", no ``llm_availability_changed {available: false}`` event is emitted and no
background probe is started. The caller (and its metrics) never learn that a provider is down,
and every later request waits for the broken LLM to fail again first.

Caught by: FALLBACK-1 (the failed LLM is marked unavailable and the event is emitted).
"""

from __future__ import annotations

from typing import Any

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.errors import APIConnectionError, APIError
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.fallback import FallbackAdapter, FallbackLLMStream

from tests.mutants.port import mutant

__all__ = ["ForgetfulFallbackAdapter", "factory"]


class ForgetfulFallbackStream(FallbackLLMStream):
    """The reference fallback loop, without the availability bookkeeping."""

    async def _produce(self) -> None:
        adapter = self._adapter
        failures: list[str] = []
        for index, llm in enumerate(adapter.llms):
            if not adapter._available[index] and any(adapter._available):
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
                return
            except APIError as error:
                failures.append(f"{llm.label}: {error}")  # BUG: llm stays available
                if sent_output and not adapter.retry_on_chunk_sent:
                    raise
        raise APIConnectionError("all LLMs failed: " + "; ".join(failures), retryable=False)


class ForgetfulFallbackAdapter(FallbackAdapter):
    """The reference adapter streaming with :class:`ForgetfulFallbackStream`."""

    def chat(
        self, *, chat_ctx: ChatContext, tools: Any = None, **options: Any
    ) -> FallbackLLMStream:
        if "conn_options" in options:
            raise TypeError("FallbackAdapter.chat takes no conn_options")
        return ForgetfulFallbackStream(self, chat_ctx=chat_ctx, tools=tools, options=options)


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.fallback_keeps_failed_available:factory``
    loads."""
    return mutant("fallback_keeps_failed_available", fallback_class=ForgetfulFallbackAdapter)
