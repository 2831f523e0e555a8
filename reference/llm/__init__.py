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

__all__ = [
    "AudioContent",
    "ChatContent",
    "ChatContext",
    "ChatContextValidationError",
    "ChatItem",
    "ChatMessage",
    "ChatRole",
    "FunctionCall",
    "FunctionCallOutput",
    "ImageContent",
    "ReadOnlyChatContext",
    "ReadOnlyChatContextError",
    "to_openai_messages",
]
