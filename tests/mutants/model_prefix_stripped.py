"""Mutant: the provider prefix is stripped from the model name.

The port author came from the plain OpenAI API, where models are called ``gpt-4.1-mini``,
and "normalised" the model name by dropping everything up to the last ``/`` (so that the
user may write ``openai/gpt-4.1-mini`` as in the LiveKit docs). The inference gateway routes
on that prefix: ``google/gemini-2.5-flash`` arrives as ``gemini-2.5-flash`` and is refused or
sent to the wrong provider.

Caught by: LLM-REQ-1 (``model`` verbatim, provider prefix kept).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.inference import LLM, build_request
from voicewire.reference.llm.tools import ToolContext

from tests.mutants.port import mutant

__all__ = ["BareModelLLM", "factory"]


class BareModelLLM(LLM):
    """The reference LLM whose port sends the model name without its provider prefix."""

    def request_body(
        self,
        *,
        chat_ctx: ChatContext,
        tools: Sequence[Any] | ToolContext | None,
        parallel_tool_calls: bool | None,
        tool_choice: Any,
        response_format: Any,
        extra_kwargs: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        return build_request(
            model=self.model.rsplit("/", 1)[-1],  # BUG: the gateway routes on the prefix
            chat_ctx=chat_ctx,
            tools=tools,
            parallel_tool_calls=parallel_tool_calls,
            tool_choice=tool_choice,
            response_format=response_format,
            constructor_kwargs=self.extra_kwargs,
            call_kwargs=dict(extra_kwargs or {}),
        )


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.model_prefix_stripped:factory`` loads."""
    return mutant("model_prefix_stripped", llm_class=BareModelLLM)
