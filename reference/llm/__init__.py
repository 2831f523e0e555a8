"""Reference LLM pieces: chat context, provider format and function tools."""

from reference.llm.chat_context import (
    AudioContent,
    ChatContent,
    ChatContext,
    ChatContextValidationError,
    ChatItem,
    ChatMessage,
    ChatRole,
    FunctionCall,
    FunctionCallOutput,
    ImageContent,
    ReadOnlyChatContext,
    ReadOnlyChatContextError,
)
from reference.llm.provider_format import to_openai_messages
from reference.llm.thinking import ThinkingFilter
from reference.llm.tool_calls import ToolCallAssembler, ToolCallFragment
from reference.llm.tools import (
    TOOL_NAME_PATTERN,
    FunctionTool,
    NamedToolChoice,
    RawFunctionTool,
    Tool,
    ToolChoice,
    ToolContext,
    function_tool,
    to_fnc_ctx,
    to_openai_tool_choice,
    to_strict_json_schema,
)

__all__ = [
    "TOOL_NAME_PATTERN",
    "AudioContent",
    "ChatContent",
    "ChatContext",
    "ChatContextValidationError",
    "ChatItem",
    "ChatMessage",
    "ChatRole",
    "FunctionCall",
    "FunctionCallOutput",
    "FunctionTool",
    "ImageContent",
    "NamedToolChoice",
    "RawFunctionTool",
    "ReadOnlyChatContext",
    "ReadOnlyChatContextError",
    "ThinkingFilter",
    "Tool",
    "ToolCallAssembler",
    "ToolCallFragment",
    "ToolChoice",
    "ToolContext",
    "function_tool",
    "to_fnc_ctx",
    "to_openai_messages",
    "to_openai_tool_choice",
    "to_strict_json_schema",
]
