"""Mutant: a raw tool gets ``"strict": true`` added to its hand-written schema.

The port author read LLM-REQ-2's "each tool is ``{..., "strict": true}``" and applied it to
every tool alike, raw ones included: a raw schema without a ``strict`` key goes out with
``"strict": true``. A raw schema is usually raw precisely because it is not strict (optional
properties, open objects), and OpenAI rejects such a schema in strict mode with a 400, so the
one tool the author wrote by hand breaks the whole request.

Caught by: LLM-REQ-2 (a raw tool is sent as ``{"type":"function","function": <its raw
schema>}``).
"""

from __future__ import annotations

from typing import Any

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.inference import LLM

from tests.mutants.port import mutant

__all__ = ["AllStrictLLM", "factory"]


class AllStrictLLM(LLM):
    """The reference LLM whose port marks every tool strict."""

    def request_body(self, **call: Any) -> dict[str, Any]:
        body = super().request_body(**call)
        for tool in body.get("tools", []):
            tool["function"].setdefault("strict", True)  # BUG: raw schemas too
        return body


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.raw_tool_made_strict:factory`` loads."""
    return mutant("raw_tool_made_strict", llm_class=AllStrictLLM)
