"""Mutant: ``tool_choice`` is sent even when the request carries no tools.

The port author built the body field by field, "every option the caller gave goes out":
``tools`` is left out when the list is empty (as LLM-REQ-2 demands), but ``tool_choice`` is
written whenever the caller passed one. An agent that sets ``tool_choice="required"`` once and
then runs a turn with its tools disabled sends ``tool_choice`` without ``tools``, and the
provider rejects the request with a 400 ("tool_choice is only allowed when tools are
specified").

Caught by: LLM-REQ-3 (``tool_choice`` is omitted entirely when no tools are sent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.inference import LLM, build_request
from voicewire.reference.llm.tools import ToolContext, to_openai_tool_choice

from tests.mutants.port import mutant

__all__ = ["StickyToolChoiceLLM", "factory"]


class StickyToolChoiceLLM(LLM):
    """The reference LLM whose port writes ``tool_choice`` whether or not tools are sent."""

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
        body = build_request(
            model=self.model,
            chat_ctx=chat_ctx,
            tools=tools,
            parallel_tool_calls=parallel_tool_calls,
            tool_choice=None,
            response_format=response_format,
            constructor_kwargs=self.extra_kwargs,
            call_kwargs=dict(extra_kwargs or {}),
        )
        if tool_choice is not None:
            body["tool_choice"] = to_openai_tool_choice(tool_choice)  # BUG: also without tools
        return body


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.tool_choice_without_tools:factory`` loads."""
    return mutant("tool_choice_without_tools", llm_class=StickyToolChoiceLLM)
