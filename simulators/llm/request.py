"""Reading a chat completion request: the parts the LLM simulator acts on (SPEC §2.1, SRV-1)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ChatCompletionRequest",
    "RequestError",
    "decode_body",
    "message_text",
    "read_request",
    "request_from_json",
]


class RequestError(ValueError):
    """A chat completion request the simulator must refuse with HTTP 400 (SRV-1)."""


@dataclass(frozen=True)
class ChatCompletionRequest:
    """The parts of a chat completion request the simulator acts on."""

    model: str
    messages: list[dict[str, Any]]
    stream: bool
    include_usage: bool
    tools: list[dict[str, Any]]

    @property
    def last_user_text(self) -> str:
        """The text of the last user message (``""`` without one): what ``match.text``
        searches."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return message_text(message)
        return ""


def message_text(message: dict[str, Any]) -> str:
    """The text of an openai message whose content is a string or a list of parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part.get("text", "")
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def decode_body(body: bytes) -> Any:
    """A request body as JSON; RequestError when it is not JSON."""
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RequestError(f"request body is not valid JSON: {exc}") from None


def read_request(body: bytes) -> ChatCompletionRequest:
    """Parse and check a request body; RequestError names the offending field."""
    return request_from_json(decode_body(body))


def request_from_json(data: Any) -> ChatCompletionRequest:
    """Check a decoded request body; RequestError names the offending field."""
    if not isinstance(data, dict):
        raise RequestError("request body must be a JSON object")
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise RequestError("'model' must be a non-empty string")
    messages = data.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise RequestError("'messages' must be a list of objects")
    for index, message in enumerate(messages):
        if message.get("role") not in ("system", "developer", "user", "assistant", "tool"):
            raise RequestError(f"'messages[{index}].role' is missing or unknown")
    stream = data.get("stream", False)
    if not isinstance(stream, bool):
        raise RequestError("'stream' must be a boolean")
    # Only an absent or null stream_options means "none"; `or {}` let [], 0, "" and false pass.
    options = data.get("stream_options")
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise RequestError("'stream_options' must be an object")
    tools = data.get("tools", [])
    if not isinstance(tools, list):
        raise RequestError("'tools' must be a list")
    return ChatCompletionRequest(
        model=model,
        messages=messages,
        stream=stream,
        include_usage=bool(options.get("include_usage", False)),
        tools=[t for t in tools if isinstance(t, dict)],
    )
