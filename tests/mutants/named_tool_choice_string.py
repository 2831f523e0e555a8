"""Mutant: a named ``tool_choice`` is sent as the bare tool name.

The port author wrote the ``tool_choice`` conversion from the caller's side: the modes
``"auto"``, ``"required"`` and ``"none"`` are strings and pass through, and a named choice is
"just the name of the tool", so ``NamedToolChoice("end_call")`` goes out as
``"tool_choice": "end_call"``. The body looks tidy and the modes work, but the chat
completions API only knows the three modes as strings: a named choice must be
``{"type": "function", "function": {"name": "end_call"}}``, and the provider answers 400 (or
ignores the choice) otherwise.

Caught by: LLM-REQ-3 (a named choice becomes ``{"type":"function","function":{"name":N}}``).
"""

from __future__ import annotations

from typing import Any

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.inference import LLM
from voicewire.reference.llm.tools import NamedToolChoice

from tests.mutants.port import mutant

__all__ = ["BareNameChoiceLLM", "factory"]


class BareNameChoiceLLM(LLM):
    """The reference LLM whose port writes a named tool choice as the tool's name."""

    def request_body(self, **call: Any) -> dict[str, Any]:
        body = super().request_body(**call)
        if "tool_choice" in body and isinstance(call["tool_choice"], NamedToolChoice):
            body["tool_choice"] = call["tool_choice"].name  # BUG: not {"type": "function", ...}
        return body


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.named_tool_choice_string:factory`` loads."""
    return mutant("named_tool_choice_string", llm_class=BareNameChoiceLLM)
