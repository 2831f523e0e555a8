"""Mutant: constructor options override the per-call ones (upstream's order).

The port author merged the two option dicts the way livekit-agents 1.8.9 does: the per-call
``extra_kwargs`` first, then ``extra.update(self._opts.extra_kwargs)``. An LLM built with
``temperature=0.9`` keeps sending 0.9 even for the one call that asks for 0.1; the options
nobody overrode are sent as they should be, so nothing looks broken until someone wonders why
a per-call setting has no effect.

Caught by: LLM-REQ-6 (SHOULD: per-call options override constructor options; NON-STRICT,
caught under ``--strict``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.inference import LLM, build_request
from voicewire.reference.llm.tools import ToolContext

from tests.mutants.port import mutant

__all__ = ["ConstructorFirstLLM", "factory"]


class ConstructorFirstLLM(LLM):
    """The reference LLM whose port applies the constructor's options last."""

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
        extra = dict(extra_kwargs or {})
        extra.update(self.extra_kwargs)  # BUG: the constructor's options win
        return build_request(
            model=self.model,
            chat_ctx=chat_ctx,
            tools=tools,
            parallel_tool_calls=parallel_tool_calls,
            tool_choice=tool_choice,
            response_format=response_format,
            constructor_kwargs={},
            call_kwargs=extra,
        )


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.constructor_options_win:factory`` loads."""
    return mutant("constructor_options_win", llm_class=ConstructorFirstLLM)
