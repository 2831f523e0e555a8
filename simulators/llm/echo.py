"""Echo mode: the deterministic answer to a request no rule scripts."""

from __future__ import annotations

from typing import Any

from voicewire.simulators.llm.request import ChatCompletionRequest, message_text
from voicewire.simulators.llm.script import LLMReply, ToolCallScript

__all__ = ["echo_reply"]


def _placeholder(schema: dict[str, Any]) -> Any:
    """A deterministic value that satisfies a (strict) JSON schema well enough for echo."""
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return _placeholder(schema[key][0])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties") or {}
        required = schema.get("required", list(properties))
        return {name: _placeholder(properties[name]) for name in required if name in properties}
    return {
        "string": "echo",
        "integer": 0,
        "number": 0,
        "boolean": False,
        "array": [],
        "null": None,
    }.get(kind, "echo")


def echo_reply(request: ChatCompletionRequest) -> LLMReply:
    """The deterministic answer of echo mode.

    After a tool result it reports the result; when the last user message names one of the
    request's tools, it calls that tool (arguments filled from its schema); otherwise it
    answers ``You said: <last user message>``.
    """
    last = request.messages[-1] if request.messages else {}
    if last.get("role") == "tool":
        return LLMReply(content=f"The tool returned: {message_text(last)}")
    text = request.last_user_text
    for tool in request.tools:
        function = tool.get("function") or {}
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
