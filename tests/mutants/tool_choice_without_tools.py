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

from typing import Any

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.inference import LLM
from voicewire.reference.llm.tools import to_openai_tool_choice

from tests.mutants.port import mutant

__all__ = ["StickyToolChoiceLLM", "factory"]


class StickyToolChoiceLLM(LLM):
    """The reference LLM whose port writes ``tool_choice`` whether or not tools are sent."""

    def request_body(self, **call: Any) -> dict[str, Any]:
        body = super().request_body(**call)
        if call["tool_choice"] is not None:
            body["tool_choice"] = to_openai_tool_choice(call["tool_choice"])  # BUG: no tools too
        return body


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.tool_choice_without_tools:factory`` loads."""
    return mutant("tool_choice_without_tools", llm_class=StickyToolChoiceLLM)
