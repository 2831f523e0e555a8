"""The LLM endpoint's script vocabulary: what a rule's ``reply`` says (SPEC §2).

Registered as the reply model of the ``llm`` endpoint, so scenario documents are validated
with it (``rules[0].reply.tool_calls[1].name: Field required``).
"""

from __future__ import annotations

import functools
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

__all__ = ["Fragmentation", "LLMReply", "ToolCallScript", "UsageScript"]


class _Script(BaseModel):
    # Unknown keys are errors: a typo in a scenario must not silently script nothing.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fragmentation(_Script):
    """How the reply is cut into stream chunks.

    ``strategy`` cuts text and tool arguments: ``whole`` (one piece), ``per_char``, ``fixed``
    (``size`` characters) or ``random`` (1..``size`` characters, from ``seed``).
    ``tool_calls`` lays calls out: ``sequential`` (one call after another, header first),
    ``one_delta`` (every call, whole, in a single delta), ``in_finish`` (every call, whole, in
    the chunk that carries ``finish_reason``) or ``interleaved`` (all headers first, then the
    argument fragments of all calls round-robin).
    """

    strategy: Literal["whole", "per_char", "fixed", "random"] = "fixed"
    size: int = Field(default=8, ge=1)
    seed: int = 0
    tool_calls: Literal["sequential", "one_delta", "in_finish", "interleaved"] = "sequential"


class ToolCallScript(_Script):
    """One tool call of a reply. ``arguments`` as an object is sent as its JSON text; as a
    string it is sent verbatim (so invalid JSON can be scripted on purpose)."""

    name: StrictStr = Field(min_length=1)
    arguments: dict[str, Any] | StrictStr = Field(default_factory=dict)
    id: StrictStr | None = Field(default=None, description="default: call_<n>")
    omit_id: bool = Field(default=False, description="send the header without an id")
    index: int | None = Field(default=None, ge=0, description="default: position in the list")

    @functools.cached_property
    def arguments_text(self) -> str:
        """The argument string exactly as it goes on the wire (computed once: a scripted
        reply is planned again for every request)."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, ensure_ascii=False)


class UsageScript(_Script):
    """Token counts to report; omitted counts are computed from the request and reply."""

    prompt_tokens: int | None = Field(default=None, ge=0)
    completion_tokens: int | None = Field(default=None, ge=0)
    cached_tokens: int | None = Field(default=None, ge=0)
    reasoning_tokens: int | None = Field(default=None, ge=0)


class LLMReply(_Script):
    """A scripted chat completion."""

    content: StrictStr = ""
    reasoning: StrictStr | None = Field(
        default=None, description="thinking text, streamed inside <think>...</think> first"
    )
    tool_calls: list[ToolCallScript] = Field(default_factory=list)
    finish_reason: Literal["stop", "tool_calls", "length", "content_filter"] | None = Field(
        default=None, description="default: tool_calls when there are calls, else stop"
    )
    finish: bool = Field(default=True, description="false: the stream ends with no finish chunk")
    usage: UsageScript | Literal[False] = Field(
        default_factory=UsageScript, description="false: never send a usage chunk"
    )
    fragmentation: Fragmentation = Field(default_factory=Fragmentation)

    @property
    def effective_finish_reason(self) -> str:
        """The finish reason sent: the scripted one, else ``tool_calls`` or ``stop``."""
        if self.finish_reason is not None:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"
