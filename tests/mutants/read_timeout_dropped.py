"""Mutant: the streaming request goes out without the read timeout.

The port author passed ``conn_options.timeout`` to the connect step only: once the response
head is in, the client waits for the next byte as long as the server likes. A gateway that
stalls mid-stream hangs the agent's turn instead of raising ``APITimeoutError`` and retrying.

Caught by: LLM-ROB-3 (the client never waits longer than ``timeout`` for the next byte).
"""

from __future__ import annotations

from typing import Any

import httpx
from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.inference import LLM, LLMStream

from tests.mutants.port import mutant

__all__ = ["NoReadTimeoutStream", "factory"]


class NoReadTimeoutStream(LLMStream):
    """The reference stream whose request bounds the connect step only."""

    def open_stream(self) -> Any:
        body = dict(self._body)
        known = {k: body.pop(k) for k in ("model", "messages", "stream")}
        return self._llm._client.chat.completions.with_streaming_response.create(
            **known,
            extra_body=body,
            extra_headers=self._llm.headers(),
            # BUG: read (and write, pool) unbounded
            timeout=httpx.Timeout(None, connect=self._conn_options.timeout),
        )


class NoReadTimeoutLLM(LLM):
    stream_class = NoReadTimeoutStream


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.read_timeout_dropped:factory`` loads."""
    return mutant("read_timeout_dropped", llm_class=NoReadTimeoutLLM)
