"""What an LLM stream yields: ChatChunks (SPEC §2.3).

``ChatChunk {id, delta?: {role, content?, tool_calls: [FunctionToolCall]}, usage?}`` where a
``FunctionToolCall`` is one whole call (``arguments`` is the raw JSON string, never re-parsed).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

__all__ = ["ChatChunk", "ChoiceDelta", "CompletionUsage", "FunctionToolCall"]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FunctionToolCall(_Wire):
    """One complete tool call as the client emits it (LLM-TC-1)."""

    type: Literal["function"] = "function"
    name: StrictStr
    arguments: StrictStr
    call_id: StrictStr


class ChoiceDelta(_Wire):
    """The visible part of a chunk: text and/or whole tool calls."""

    role: Literal["assistant"] = "assistant"
    content: StrictStr | None = None
    tool_calls: tuple[FunctionToolCall, ...] = ()


class CompletionUsage(_Wire):
    """Token counts of one completion (LLM-USG-1); null counts from the server become 0."""

    completion_tokens: int = Field(ge=0)
    prompt_tokens: int = Field(ge=0)
    prompt_cached_tokens: int = Field(default=0, ge=0)
    total_tokens: int = Field(ge=0)


class ChatChunk(_Wire):
    """One emitted event of an LLM stream; ``id`` is the server's completion id (LLM-ORD-1)."""

    id: StrictStr
    delta: ChoiceDelta | None = None
    usage: CompletionUsage | None = None

    @property
    def has_response(self) -> bool:
        """Whether this chunk is visible output (non-empty text or a tool call): RETRY-2."""
        return self.delta is not None and bool(self.delta.content or self.delta.tool_calls)
