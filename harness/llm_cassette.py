"""A recorded chat completion as the ``llm.chat`` operation that makes the same request.

The request body (LLM-REQ-1..4) is read back into a :class:`~voicewire.harness.llm.ChatRequest`:
``messages`` (the openai format of SPEC §6.3) into a chat context, ``tools`` into tool specs,
``tool_choice`` and ``parallel_tool_calls`` as they are, the model and the provider header
(LLM-REQ-5) into the target, every other key (``temperature``...) into the call's
``extra_kwargs``. The reading is checked by writing it out again with the reference's own
sans-IO pieces (the context's openai format, the strict schema of a tool): a body the request
model cannot say (a ``response_format``, an assistant message with empty text beside its tool
calls, a tool without a description) is :class:`~voicewire.harness.cassette_run.NotReplayable`
naming the field, rather than a request that would differ on the wire.

One exchange is one attempt: the request asks for no retry (``max_retry`` 0), so a client that
would retry a failed attempt does not ask the replay for an exchange it does not serve.
"""

from __future__ import annotations

import json
from typing import Any

from voicewire.harness.cassette_operation import CassetteOperation, NotReplayable
from voicewire.harness.iut import ConnOptions, Target
from voicewire.harness.llm import LLM_CHAT, ChatRequest, LLMTarget, ToolSpec
from voicewire.reference.llm.chat_context import ChatContext, ChatContextValidationError
from voicewire.reference.llm.tools import to_strict_json_schema
from voicewire.simulators.recording.cassette import RecordedExchange

__all__ = ["LLM_CASSETTE", "chat_request_of"]

PROVIDER_HEADER = "x-livekit-inference-provider"

# Keys the reference client writes itself on every request (LLM-REQ-1); any other key of the
# body is an option of the call.
_FIXED = {"model", "messages", "stream", "stream_options", "tools", "tool_choice"}
_FIXED_VALUES = {"stream": True, "stream_options": {"include_usage": True}}


def _where(exchange: RecordedExchange, field: str) -> str:
    return f"exchange {exchange.x} (POST {exchange.request.path}), body {field}"


def _body(exchange: RecordedExchange) -> dict[str, Any]:
    try:
        body = json.loads(exchange.request.body_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotReplayable(f"{_where(exchange, '')}: not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise NotReplayable(f"{_where(exchange, '')}: not a JSON object")
    return body


def _content_parts(exchange: RecordedExchange, index: int, content: Any) -> list[Any]:
    """A message's ``content`` as chat-context parts: a string is one text part; a list has
    its images (``image_url``) and text parts."""
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        raise NotReplayable(
            f"{_where(exchange, f'messages[{index}].content')}: neither text nor a list of parts"
        )
    parts: list[Any] = []
    for number, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            parts.append(part["text"])
        elif kind == "image_url" and isinstance(part.get("image_url"), dict):
            image = part["image_url"]
            parts.append(
                {
                    "type": "image_content",
                    "image": image.get("url"),
                    "inference_detail": image.get("detail", "auto"),
                }
            )
        else:
            raise NotReplayable(
                f"{_where(exchange, f'messages[{index}].content[{number}]')}: a part the chat "
                f"context has no item for ({kind!r})"
            )
    return parts


def _items(exchange: RecordedExchange, messages: list[Any]) -> list[dict[str, Any]]:
    """The chat-context items (``to_dict`` format) whose openai format is ``messages``."""
    items: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise NotReplayable(f"{_where(exchange, f'messages[{index}]')}: not an object")
        role = message.get("role")
        item_id = f"item_{index}"
        if role == "tool":
            items.append(
                {
                    "type": "function_call_output",
                    "id": item_id,
                    "call_id": message.get("tool_call_id"),
                    "output": message.get("content"),
                }
            )
            continue
        calls = message.get("tool_calls") or []
        if "content" in message or not calls:
            items.append(
                {
                    "type": "message",
                    "id": item_id,
                    "role": role,
                    "content": _content_parts(exchange, index, message.get("content", "")),
                }
            )
        for number, call in enumerate(calls):
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(function, dict):
                raise NotReplayable(
                    f"{_where(exchange, f'messages[{index}].tool_calls[{number}]')}: no function"
                )
            # The reference groups an assistant message and its calls by this id (CTX-OAI-1).
            items.append(
                {
                    "type": "function_call",
                    "id": f"{item_id}/fnc_{number}",
                    "group_id": item_id,
                    "call_id": call.get("id"),
                    "name": function.get("name"),
                    "arguments": function.get("arguments"),
                }
            )
    return items


def _tool_spec(exchange: RecordedExchange, index: int, tool: Any) -> ToolSpec:
    """The tool spec the reference writes as ``tool`` (LLM-REQ-2): a strict one (its schema
    already strict, ``strict: true``) or a raw one, sent as given."""
    where = _where(exchange, f"tools[{index}]")
    function = tool.get("function") if isinstance(tool, dict) else None
    if not isinstance(function, dict) or tool.get("type") != "function" or len(tool) != 2:
        raise NotReplayable(f"{where}: not a {{type: function, function: {{...}}}} tool")
    keys = set(function)
    try:
        if keys == {"name", "description", "parameters", "strict"} and function["strict"] is True:
            spec = ToolSpec(
                name=function["name"],
                description=function["description"],
                parameters=function["parameters"],
            )
            if to_strict_json_schema(spec.parameters) == function["parameters"]:
                return spec
        elif keys == {"name", "description", "parameters"}:
            return ToolSpec(
                name=function["name"],
                description=function["description"],
                parameters=function["parameters"],
                raw=True,
            )
    except (ValueError, TypeError) as exc:
        raise NotReplayable(f"{where}: not a tool the request model holds: {exc}") from None
    raise NotReplayable(
        f"{where}: the request model's tools have exactly name, description and parameters "
        f"(and strict: true over an already strict schema); this one has {sorted(keys)}"
    )


def _tool_choice(exchange: RecordedExchange, value: Any) -> str | dict[str, str]:
    if value in ("auto", "required", "none"):
        return str(value)
    function = value.get("function") if isinstance(value, dict) else None
    if (
        isinstance(value, dict)
        and set(value) == {"type", "function"}
        and value["type"] == "function"
        and isinstance(function, dict)
        and set(function) == {"name"}
    ):
        return {"name": function["name"]}
    raise NotReplayable(f"{_where(exchange, 'tool_choice')}: {value!r} is no tool choice")


def chat_request_of(exchange: RecordedExchange, target: Target) -> ChatRequest:
    """The ``llm.chat`` request whose client sends the exchange's body to ``target``."""
    body = _body(exchange)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise NotReplayable(f"{_where(exchange, 'model')}: missing")
    if "response_format" in body:
        raise NotReplayable(
            f"{_where(exchange, 'response_format')}: the chat request model has no response format"
        )
    for key, value in _FIXED_VALUES.items():
        if body.get(key) != value:
            raise NotReplayable(
                f"{_where(exchange, key)}: {body.get(key)!r}, where every request of the "
                f"request model sends {value!r}"
            )
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise NotReplayable(f"{_where(exchange, 'messages')}: not a list")
    chat_ctx = {"items": _items(exchange, messages)}
    try:
        written = ChatContext.from_dict(chat_ctx).to_provider_format("openai")
    except ChatContextValidationError as exc:
        raise NotReplayable(f"{_where(exchange, 'messages')}: {exc}") from None
    if written != messages:
        first = next(
            (i for i, (a, b) in enumerate(zip(written, messages, strict=False)) if a != b),
            min(len(written), len(messages)),
        )
        raise NotReplayable(
            f"{_where(exchange, f'messages[{first}]')}: the chat context cannot say this "
            f"message as recorded ({(messages[first : first + 1] or ['nothing'])[0]!r:.200})"
        )
    raw_tools = body.get("tools") or []
    if not isinstance(raw_tools, list):
        raise NotReplayable(f"{_where(exchange, 'tools')}: not a list")
    tools = [_tool_spec(exchange, index, tool) for index, tool in enumerate(raw_tools)]
    if not tools and ("tool_choice" in body or "parallel_tool_calls" in body):
        raise NotReplayable(
            f"{_where(exchange, 'tool_choice')}: sent without tools, which the request model "
            "leaves out"
        )
    extra = {k: v for k, v in body.items() if k not in _FIXED and k != "parallel_tool_calls"}
    provider = next(
        (v for k, v in exchange.request.headers.items() if k.lower() == PROVIDER_HEADER), None
    )
    return ChatRequest(
        llm=LLMTarget.at(target, model=model, provider=provider),
        chat_ctx=chat_ctx,
        tools=tools,
        tool_choice=None
        if "tool_choice" not in body
        else _tool_choice(exchange, body["tool_choice"]),
        parallel_tool_calls=body.get("parallel_tool_calls"),
        extra_kwargs=extra,
        conn_options=ConnOptions(max_retry=0),
    )


LLM_CASSETTE = (
    CassetteOperation(
        endpoint="llm",
        capability=LLM_CHAT,
        operation=LLM_CHAT,
        traffic_ids=("LLM-REQ-1",),
        request=chat_request_of,
    ),
)
"""The LLM endpoint's recorded exchanges as ``llm.chat`` operations."""
