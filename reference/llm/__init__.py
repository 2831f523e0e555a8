"""Reference LLM pieces: chat context, provider format and function tools."""

from voicewire.reference.llm.chat_context import (
    ChatContext,
    ChatContextValidationError,
    ReadOnlyChatContext,
    ReadOnlyChatContextError,
)
from voicewire.reference.llm.chat_items import (
    AudioContent,
    ChatContent,
    ChatItem,
    ChatMessage,
    ChatRole,
    FunctionCall,
    FunctionCallOutput,
    ImageContent,
)
from voicewire.reference.llm.provider_format import to_openai_messages
from voicewire.reference.llm.thinking import ThinkingFilter
from voicewire.reference.llm.tool_calls import ToolCallAssembler, ToolCallFragment
from voicewire.reference.llm.tools import (
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
