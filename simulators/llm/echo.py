"""Echo mode: the deterministic answer to a request no rule scripts."""

from __future__ import annotations

from typing import Any

from voicewire.simulators.llm.request import ChatCompletionRequest, message_text
from voicewire.simulators.llm.script import LLMReply, ToolCallScript

__all__ = ["ECHO_TOOLS", "echo_reply"]


ECHO_TOOLS = 64
"""Echo looks for the names of at most this many tools (the first ones) in the message: each
costs a search through the message, which a request makes as long as it likes."""

# Schemas nest (objects of objects ...): deeper than this, echo fills in a plain string.
_MAX_SCHEMA_DEPTH = 16

_PLACEHOLDERS: dict[str, Any] = {
    "string": "echo",
    "integer": 0,
    "number": 0,
    "boolean": False,
    "array": [],
    "null": None,
}


def _placeholder(schema: Any, depth: int = 0) -> Any:
    """A deterministic value that satisfies a (strict) JSON schema well enough for echo.

    The schema comes from the request, so nothing about it is trusted: any part of an
    unexpected type is ignored, and nesting is followed only so deep."""
    if not isinstance(schema, dict) or depth >= _MAX_SCHEMA_DEPTH:
        return "echo"
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return _placeholder(options[0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            return {}
        required = schema.get("required", list(properties))
        if not isinstance(required, list):
            required = list(properties)
        return {
            name: _placeholder(properties[name], depth + 1)
            for name in required
            if isinstance(name, str) and name in properties
        }
    return _PLACEHOLDERS.get(kind, "echo") if isinstance(kind, str) else "echo"


def echo_reply(request: ChatCompletionRequest) -> LLMReply:
    """The deterministic answer of echo mode.

    After a tool result it reports the result; when the last user message names one of the
    request's tools (of the first :data:`ECHO_TOOLS`), it calls that tool (arguments filled
    from its schema); otherwise it answers ``You said: <last user message>``.
    """
    last = request.messages[-1] if request.messages else {}
    if last.get("role") == "tool":
        return LLMReply(content=f"The tool returned: {message_text(last)}")
    text = request.last_user_text
    for tool in request.tools[:ECHO_TOOLS]:
        function = tool.get("function")
        if not isinstance(function, dict):
            continue
        name = function.get("name")
        if isinstance(name, str) and name and name in text:
            arguments = _placeholder(function.get("parameters") or {"type": "object"})
            return LLMReply(
                tool_calls=[
                    ToolCallScript(
                        name=name, arguments=arguments if isinstance(arguments, dict) else {}
                    )
                ]
            )
    return LLMReply(content=f"You said: {text}" if text else "Hello from the voicewire simulator.")
