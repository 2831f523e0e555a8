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

    strategy: Literal["whole", "per_char", "fixed", "random"] = Field(
        default="fixed",
        description="How text and tool arguments are cut: `whole` (one piece), `per_char`, "
        "`fixed` (`size` characters) or `random` (1..`size` characters, from `seed`).",
    )
    size: int = Field(
        default=8,
        ge=1,
        description="Piece length in characters (`fixed`), or the largest piece (`random`).",
    )
    seed: int = Field(default=0, description="Seed of the `random` strategy's piece sizes.")
    tool_calls: Literal["sequential", "one_delta", "in_finish", "interleaved"] = Field(
        default="sequential",
        description="How tool calls are laid out: `sequential` (each call's header, then its "
        "argument pieces), `one_delta` (all calls whole in one delta), `in_finish` (all calls "
        "whole in the finish chunk) or `interleaved` (all headers, then argument pieces "
        "round-robin).",
    )


class ToolCallScript(_Script):
    """One tool call of a reply. ``arguments`` as an object is sent as its JSON text; as a
    string it is sent verbatim (so invalid JSON can be scripted on purpose)."""

    name: StrictStr = Field(min_length=1, description="The function name.")
    arguments: dict[str, Any] | StrictStr = Field(
        default_factory=dict,
        description="A mapping, sent as its JSON text, or a string, sent verbatim (so invalid "
        "JSON can be scripted on purpose).",
    )
    id: StrictStr | None = Field(
        default=None, description="The call id; default: `call_<n>`, n its position in the list."
    )
    omit_id: bool = Field(default=False, description="Send the call's header without an id.")
    index: int | None = Field(
        default=None,
        ge=0,
        description="The call's `index` on the wire; default: its position in the list.",
    )

    @functools.cached_property
    def arguments_text(self) -> str:
        """The argument string exactly as it goes on the wire (computed once: a scripted
        reply is planned again for every request)."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, ensure_ascii=False)


class UsageScript(_Script):
    """Token counts to report; omitted counts are computed from the request and reply."""

    prompt_tokens: int | None = Field(
        default=None, ge=0, description="Default: counted from the request's messages."
    )
    completion_tokens: int | None = Field(
        default=None, ge=0, description="Default: counted from the reply."
    )
    cached_tokens: int | None = Field(
        default=None, ge=0, description="`prompt_tokens_details.cached_tokens`; default 0."
    )
    reasoning_tokens: int | None = Field(
        default=None,
        ge=0,
        description="`completion_tokens_details.reasoning_tokens`; default: counted from "
        "`reasoning`.",
    )


class LLMReply(_Script):
    """A scripted chat completion."""

    content: StrictStr = Field(default="", description="The reply's text.")
    reasoning: StrictStr | None = Field(
        default=None,
        description="Thinking text, sent first, inside `<think>...</think>` in the content.",
    )
    tool_calls: list[ToolCallScript] = Field(
        default_factory=list, description="Tool calls, sent after the content."
    )
    finish_reason: Literal["stop", "tool_calls", "length", "content_filter"] | None = Field(
        default=None, description="Default: `tool_calls` when there are calls, else `stop`."
    )
    finish: bool = Field(
        default=True, description="`false`: the stream ends without a finish chunk."
    )
    usage: UsageScript | Literal[False] = Field(
        default_factory=UsageScript,
        description="Token counts (omitted ones are computed); `false`: never send usage.",
    )
    fragmentation: Fragmentation = Field(
        default_factory=Fragmentation, description="How the reply is cut into chunks."
    )

    @property
    def effective_finish_reason(self) -> str:
        """The finish reason sent: the scripted one, else ``tool_calls`` or ``stop``."""
        if self.finish_reason is not None:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"
