"""Mutant: the request streams without ``stream_options: {"include_usage": true}``.

The port author passed ``stream=True`` to the openai SDK and took streaming to be done: the
SDK does not add ``stream_options`` by itself, and the port's own simulator sent usage anyway,
so nothing looked missing. Against the OpenAI API (and providers that copy it) a stream
without ``include_usage`` carries no usage chunk, so the agent's token metrics stay at zero.

Caught by: LLM-REQ-1 (``stream: true`` with ``stream_options: {"include_usage": true}``).
"""

from __future__ import annotations

from typing import Any

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.inference import LLM

from tests.mutants.port import mutant

__all__ = ["NoUsageOptionLLM", "factory"]


class NoUsageOptionLLM(LLM):
    """The reference LLM whose port leaves ``stream_options`` to the SDK."""

    def request_body(self, **call: Any) -> dict[str, Any]:
        body = super().request_body(**call)
        body.pop("stream_options")  # BUG: stream=True alone does not ask for usage
        return body


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.no_stream_options:factory`` loads."""
    return mutant("no_stream_options", llm_class=NoUsageOptionLLM)
