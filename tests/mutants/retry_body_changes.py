"""Mutant: every attempt sends a fresh request id inside the body.

The port author wanted to trace each HTTP request in the provider's logs and added
``"metadata": {"request_id": <uuid4>}`` to the body of every attempt (the chat completions
API accepts ``metadata``). Each retry is therefore a different request: a server or gateway
that deduplicates retries by body (or caches a prompt prefix keyed on it) sees a new request
each time, and the "same request again" that a retry promises no longer holds.

Caught by: RETRY-7 (a new attempt sends an identical request body; a fresh token is allowed,
a fresh body is not).
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.inference import LLM, LLMStream

from tests.mutants.port import mutant

__all__ = ["TracedLLM", "factory"]


class TracedStream(LLMStream):
    """The reference stream whose port tags each attempt's body."""

    def open_stream(self) -> Any:
        body = dict(self._body)
        # BUG: the body differs on every attempt
        body["metadata"] = {"request_id": uuid.uuid4().hex}
        known = {k: body.pop(k) for k in ("model", "messages", "stream")}
        return self._llm._client.chat.completions.with_streaming_response.create(
            **known,
            extra_body=body,
            extra_headers=self._llm.headers(),
            timeout=httpx.Timeout(self._conn_options.timeout),
        )


class TracedLLM(LLM):
    """The reference LLM with the port's stream."""

    stream_class = TracedStream


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.retry_body_changes:factory`` loads."""
    return mutant("retry_body_changes", llm_class=TracedLLM)
