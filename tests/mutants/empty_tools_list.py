"""Mutant: ``"tools": []`` is sent when the request has no tools.

The port author modelled the request body as a dataclass whose ``tools`` field defaults to an
empty list and serialised it with "drop the ``None`` fields". ``tool_choice`` and
``parallel_tool_calls`` default to ``None`` and vanish as they should, but an empty list is not
``None``, so every tool-less request carries ``"tools": []``, which some providers reject with
a 400.

Caught by: LLM-REQ-2 (``tools`` omitted when there are no tools, never ``[]``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.inference import LLM
from voicewire.reference.llm.tools import ToolContext, to_fnc_ctx, to_openai_tool_choice

from tests.mutants.port import mutant

__all__ = ["CompletionRequest", "factory"]


@dataclass
class CompletionRequest:
    """The port's chat completion request body."""

    model: str
    messages: list[dict[str, Any]]
    stream: bool = True
    stream_options: dict[str, Any] = field(default_factory=lambda: {"include_usage": True})
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None

    def to_body(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """``options`` (temperature, ...) plus every field that is set."""
        fields = {key: value for key, value in asdict(self).items() if value is not None}
        return {**options, **fields}  # BUG: an empty tools list is "set"


class DataclassRequestLLM(LLM):
    """A ported LLM building its body from :class:`CompletionRequest`."""

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
        if response_format is not None:
            raise NotImplementedError("this port does not support response_format")
        fnc_ctx = to_fnc_ctx(tools or [], strict=True)
        request = CompletionRequest(
            model=self.model, messages=chat_ctx.to_provider_format("openai"), tools=fnc_ctx
        )
        if fnc_ctx:
            if tool_choice is not None:
                request.tool_choice = to_openai_tool_choice(tool_choice)
            request.parallel_tool_calls = parallel_tool_calls
        return request.to_body({**self.extra_kwargs, **dict(extra_kwargs or {})})


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.empty_tools_list:factory`` loads."""
    return mutant("empty_tools_list", llm_class=DataclassRequestLLM)
