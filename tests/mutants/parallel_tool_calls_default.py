"""Mutant: ``parallel_tool_calls: false`` is sent with every request that has tools.

The port author read that voice agents handle one tool call per turn more reliably and made
``parallel_tool_calls`` default to ``False`` instead of ``None`` in the port's ``chat()``
signature. A caller who says nothing gets ``"parallel_tool_calls": false`` on the wire, which
changes the model's behaviour (and some providers reject the key outright); only a caller who
passes ``True`` explicitly gets parallel calls.

Caught by: LLM-REQ-4 (``parallel_tool_calls`` and other options are sent only when given).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.inference import LLM, build_request
from voicewire.reference.llm.tools import ToolContext

from tests.mutants.port import mutant

__all__ = ["SerialToolsLLM", "factory"]

# The port's default: "one call at a time is safer for voice".
_DEFAULT_PARALLEL_TOOL_CALLS = False


class SerialToolsLLM(LLM):
    """The reference LLM whose port fills in a default for ``parallel_tool_calls``."""

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
        if parallel_tool_calls is None:
            parallel_tool_calls = _DEFAULT_PARALLEL_TOOL_CALLS  # BUG: sent though nobody asked
        return build_request(
            model=self.model,
            chat_ctx=chat_ctx,
            tools=tools,
            parallel_tool_calls=parallel_tool_calls,
            tool_choice=tool_choice,
            response_format=response_format,
            constructor_kwargs=self.extra_kwargs,
            call_kwargs=dict(extra_kwargs or {}),
        )


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.parallel_tool_calls_default:factory`` loads."""
    return mutant("parallel_tool_calls_default", llm_class=SerialToolsLLM)
