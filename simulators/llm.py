"""The LLM simulator: OpenAI-compatible ``/chat/completions`` over SSE (SPEC §2).

The protocol work is pure and synchronous: :func:`plan_chunks` turns a scripted
:class:`~simulators.scenario.LLMReply` into chunk payloads, :func:`stream_actions` turns
encoded events plus faults and timing into a list of :class:`Write` / :class:`Sleep` /
:class:`Disconnect` actions, and :func:`echo_reply` answers unscripted requests. The aiohttp
handler in :mod:`voicewire.simulators.server` only executes actions.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from aiohttp import web
from voicewire.simulators.scenario import (
    ByteSplitFault,
    DelayFault,
    DisconnectFault,
    DropFault,
    DuplicateFault,
    ErrorEventFault,
    Fragmentation,
    LLMReply,
    MalformedFault,
    ReorderFault,
    StallFault,
    Timing,
    ToolCallScript,
    UsageScript,
)

if TYPE_CHECKING:
    from voicewire.simulators.server import SimulatorState

__all__ = [
    "DONE_EVENT",
    "CompletionAnswer",
    "Disconnect",
    "ErrorAnswer",
    "RequestError",
    "Sleep",
    "StreamTemplates",
    "Write",
    "completion_body",
    "cut_text",
    "decide_chat",
    "decode_sse",
    "echo_reply",
    "encode_event",
    "error_body",
    "plan_chunks",
    "read_request",
    "stream_actions",
    "usage_chunk",
]

DONE_EVENT = b"data: [DONE]\n\n"


# -- request ------------------------------------------------------------------------------------


class RequestError(ValueError):
    """A chat completion request the simulator must refuse with HTTP 400 (SRV-1)."""


@dataclass(frozen=True)
class ChatRequest:
    """The parts of a chat completion request the simulator acts on."""

    model: str
    messages: list[dict[str, Any]]
    stream: bool
    include_usage: bool
    tools: list[dict[str, Any]]

    @property
    def last_user_text(self) -> str:
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


def read_request(body: bytes) -> ChatRequest:
    """Parse and check a request body; RequestError names the offending field."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RequestError(f"request body is not valid JSON: {exc}") from None
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
    return ChatRequest(
        model=model,
        messages=messages,
        stream=stream,
        include_usage=bool(options.get("include_usage", False)),
        tools=[t for t in tools if isinstance(t, dict)],
    )


# -- reply → chunk payloads --------------------------------------------------------------------


def cut_text(text: str, fragmentation: Fragmentation, rng: random.Random) -> list[str]:
    """Cut ``text`` into the pieces the strategy prescribes (none for empty text)."""
    if not text:
        return []
    strategy = fragmentation.strategy
    if strategy == "whole":
        return [text]
    if strategy == "per_char":
        return list(text)
    pieces = []
    position = 0
    while position < len(text):
        size = fragmentation.size if strategy == "fixed" else rng.randint(1, fragmentation.size)
        pieces.append(text[position : position + size])
        position += size
    return pieces


def _tokens(text: str) -> int:
    # A stable stand-in for a tokenizer: about four characters per token.
    return math.ceil(len(text) / 4)


def usage_payload(reply: LLMReply, request: ChatRequest) -> dict[str, Any] | None:
    """The usage object for this reply (LLM-SSE-4), or None when the script forbids one."""
    if reply.usage is False:
        return None
    script: UsageScript = reply.usage
    prompt = script.prompt_tokens
    if prompt is None:
        prompt = sum(3 + _tokens(message_text(m)) for m in request.messages)
    completion = script.completion_tokens
    if completion is None:
        generated = reply.content + (reply.reasoning or "")
        completion = _tokens(generated) + sum(
            _tokens(call.arguments_text) + 1 for call in reply.tool_calls
        )
    reasoning = script.reasoning_tokens
    if reasoning is None:
        reasoning = _tokens(reply.reasoning or "")
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": script.cached_tokens or 0},
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }


def _call_id(call: ToolCallScript, position: int) -> str:
    return call.id if call.id is not None else f"call_{position}"


def _header(call: ToolCallScript, position: int, arguments: str = "") -> dict[str, Any]:
    fragment: dict[str, Any] = {"index": call.index if call.index is not None else position}
    if not call.omit_id:
        fragment["id"] = _call_id(call, position)
    fragment["type"] = "function"
    fragment["function"] = {"name": call.name, "arguments": arguments}
    return fragment


def _args_fragment(call: ToolCallScript, position: int, piece: str) -> dict[str, Any]:
    index = call.index if call.index is not None else position
    return {"index": index, "function": {"arguments": piece}}


def plan_chunks(
    reply: LLMReply,
    *,
    request: ChatRequest,
    completion_id: str,
    created: int,
) -> list[dict[str, Any]]:
    """The chunk payloads of one streamed completion, in order (without ``[DONE]``)."""
    rng = random.Random(reply.fragmentation.seed)

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": request.model,
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
            "usage": None,
        }

    frag = reply.fragmentation
    chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
    text = reply.content
    if reply.reasoning is not None:
        text = f"<think>{reply.reasoning}</think>{text}"
    chunks.extend(chunk({"content": piece}) for piece in cut_text(text, frag, rng))

    calls = list(enumerate(reply.tool_calls))
    finish_calls: list[dict[str, Any]] = []
    if frag.tool_calls == "sequential":
        for position, call in calls:
            chunks.append(chunk({"tool_calls": [_header(call, position)]}))
            chunks.extend(
                chunk({"tool_calls": [_args_fragment(call, position, piece)]})
                for piece in cut_text(call.arguments_text, frag, rng)
            )
    elif frag.tool_calls == "one_delta":
        if calls:
            whole = [_header(call, pos, call.arguments_text) for pos, call in calls]
            chunks.append(chunk({"tool_calls": whole}))
    elif frag.tool_calls == "in_finish":
        finish_calls = [_header(call, pos, call.arguments_text) for pos, call in calls]
    else:  # interleaved: every header, then argument pieces round-robin across calls
        chunks.extend(chunk({"tool_calls": [_header(call, pos)]}) for pos, call in calls)
        queues = [
            [_args_fragment(call, pos, piece) for piece in cut_text(call.arguments_text, frag, rng)]
            for pos, call in calls
        ]
        while any(queues):
            for queue in queues:
                if queue:
                    chunks.append(chunk({"tool_calls": [queue.pop(0)]}))

    if reply.finish:
        delta: dict[str, Any] = {"tool_calls": finish_calls} if finish_calls else {}
        chunks.append(chunk(delta, reply.effective_finish_reason))
    elif finish_calls:
        chunks.append(chunk({"tool_calls": finish_calls}))
    usage = usage_payload(reply, request) if request.include_usage else None
    if usage is not None:
        chunks.append(
            usage_chunk(usage, model=request.model, completion_id=completion_id, created=created)
        )
    return chunks


def completion_body(
    reply: LLMReply, *, request: ChatRequest, completion_id: str, created: int
) -> dict[str, Any]:
    """The non-streaming ``chat.completion`` object for the same reply."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.content or None}
    if reply.reasoning is not None:
        message["content"] = f"<think>{reply.reasoning}</think>{reply.content}"
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": _call_id(call, pos),
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_text},
            }
            for pos, call in enumerate(reply.tool_calls)
        ]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": request.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": reply.effective_finish_reason,
            }
        ],
        "usage": usage_payload(reply, request),
    }


_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))


def encode_event(payload: dict[str, Any]) -> bytes:
    """One SSE event: ``data: <compact json>\\n\\n`` (LLM-SSE-1)."""
    # The same output as json.dumps(payload, separators=(",", ":")), without building an
    # encoder per event.
    return b"data: " + _COMPACT_JSON.encode(payload).encode() + b"\n\n"


def usage_chunk(
    usage: dict[str, Any], *, model: str, completion_id: str, created: int
) -> dict[str, Any]:
    """The final usage chunk: no choices, the usage object (LLM-SSE-4)."""
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [],
        "usage": usage,
    }


def _chunk_head(completion_id: str, created: int) -> bytes:
    # How every encoded chunk starts; the rest of a chunk does not depend on these two values.
    return (
        b'data: {"id":'
        + _COMPACT_JSON.encode(completion_id).encode()
        + b',"object":"chat.completion.chunk","created":'
        + _COMPACT_JSON.encode(created).encode()
    )


_TEMPLATE_ID = "chatcmpl-template"


def _event_tails(reply: LLMReply, model: str) -> list[bytes] | None:
    """The reply's encoded chunks before usage, each without its head; None if some chunk does
    not start with the expected head (then callers encode per request)."""
    request = ChatRequest(model=model, messages=[], stream=True, include_usage=False, tools=[])
    head = _chunk_head(_TEMPLATE_ID, 0)
    tails = []
    for chunk in plan_chunks(reply, request=request, completion_id=_TEMPLATE_ID, created=0):
        event = encode_event(chunk)
        if not event.startswith(head):
            return None
        tails.append(event[len(head) :])
    return tails


class StreamTemplates:
    """Scripted replies' encoded events, planned and encoded once instead of per request.

    Planning and JSON-encoding a long reply costs several times more than writing it, and a
    scripted reply streams the same chunks every time except for the completion ``id`` and
    ``created`` at the start of each chunk and the usage chunk (its prompt tokens come from the
    request). So the chunks before usage are encoded once per (reply, model) and kept without
    their head; each request gets ``head + tail`` per chunk, its own usage chunk and
    ``[DONE]``: byte for byte what :func:`encode_event` over :func:`plan_chunks` gives.

    Replies are keyed by identity (scenario models are immutable) and held while cached, so an
    identity cannot be reused meanwhile; the ``max_entries`` most recently used are kept.
    """

    def __init__(self, max_entries: int = 64) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ValueError(f"max_entries must be a positive int, got {max_entries!r}")
        self.max_entries = max_entries
        self._tails: OrderedDict[tuple[int, str], tuple[LLMReply, list[bytes] | None]] = (
            OrderedDict()
        )

    def __len__(self) -> int:
        return len(self._tails)

    def events(
        self, reply: LLMReply, *, request: ChatRequest, completion_id: str, created: int
    ) -> list[bytes]:
        """The encoded events of one streamed completion, ``[DONE]`` included."""
        key = (id(reply), request.model)
        cached = self._tails.get(key)
        if cached is None or cached[0] is not reply:
            cached = (reply, _event_tails(reply, request.model))
            self._tails[key] = cached
            if len(self._tails) > self.max_entries:
                self._tails.popitem(last=False)
        else:
            self._tails.move_to_end(key)
        tails = cached[1]
        if tails is None:
            chunks = plan_chunks(
                reply, request=request, completion_id=completion_id, created=created
            )
            return [*map(encode_event, chunks), DONE_EVENT]
        head = _chunk_head(completion_id, created)
        events = [head + tail for tail in tails]
        usage = usage_payload(reply, request) if request.include_usage else None
        if usage is not None:
            chunk = usage_chunk(
                usage, model=request.model, completion_id=completion_id, created=created
            )
            events.append(encode_event(chunk))
        events.append(DONE_EVENT)
        return events


def decode_sse(text: str) -> list[Any]:
    """The inverse of :func:`encode_event` for a whole stream (e.g. the journal's writes
    concatenated): each ``data:`` payload as parsed JSON, and ``"[DONE]"`` as that string.

    Raises ValueError naming the frame that is not a ``data:`` line of JSON.
    """
    if not text:
        return []
    if not text.endswith("\n\n"):
        raise ValueError(f"SSE text does not end with a blank line: ...{text[-40:]!r}")
    events: list[Any] = []
    for number, frame in enumerate(text[:-2].split("\n\n")):
        if not frame.startswith("data: "):
            raise ValueError(f"SSE frame {number} is not a 'data: ' line: {frame[:60]!r}")
        payload = frame[len("data: ") :]
        if payload == "[DONE]":
            events.append(payload)
            continue
        try:
            events.append(json.loads(payload))
        except json.JSONDecodeError as exc:
            raise ValueError(f"SSE frame {number} is not JSON: {exc}") from None
    return events


# -- events + faults + timing → actions --------------------------------------------------------


@dataclass(frozen=True)
class Write:
    """Write these bytes; ``event`` is the scripted event index they belong to (None: injected)."""

    data: bytes
    event: int | None = None


@dataclass(frozen=True)
class Sleep:
    """Wait ``seconds`` (already time-scaled); ``reason`` is for the journal."""

    seconds: float
    reason: str


@dataclass(frozen=True)
class Disconnect:
    """End the connection: ``close`` cleanly or ``reset`` abruptly."""

    mode: Literal["close", "reset"]


Action = Write | Sleep | Disconnect


def _error_event(fault: ErrorEventFault) -> bytes:
    return encode_event(
        {"error": {"message": fault.message, "type": "server_error", "code": fault.code}}
    )


def stream_actions(
    events: Sequence[bytes],
    *,
    faults: Iterable[Any],
    timing: Timing,
    time_scale: float,
) -> list[Action]:
    """The exact sequence of writes, waits and disconnects for one stream.

    ``events`` are encoded SSE events (the final ``[DONE]`` included). Faults address events by
    their scripted index; all waits are multiplied by ``time_scale``.
    """
    faults = list(faults)
    by_event: dict[int, list[Any]] = {}
    for fault in faults:
        if hasattr(fault, "at_event"):
            by_event.setdefault(fault.at_event, []).append(fault)

    order = list(range(len(events)))
    for fault in faults:
        if isinstance(fault, ReorderFault) and fault.at_event + 1 < len(order):
            k = order.index(fault.at_event)
            order[k], order[k + 1] = order[k + 1], order[k]

    actions: list[Action] = []

    def wait(seconds: float, reason: str) -> None:
        if seconds > 0:
            actions.append(Sleep(seconds * time_scale, reason))

    for position, index in enumerate(order):
        wait(
            timing.ttft if position == 0 else timing.inter_chunk,
            "ttft" if position == 0 else "inter_chunk",
        )
        here = by_event.get(index)
        if here is None:
            actions.append(Write(events[index], index))
            continue
        for fault in here:
            if isinstance(fault, (StallFault, DelayFault)):
                wait(fault.seconds, fault.kind)
            elif isinstance(fault, ErrorEventFault):
                actions.append(Write(_error_event(fault)))
        malformed = next((f for f in here if isinstance(f, MalformedFault)), None)
        if malformed is not None:
            actions.append(Write(malformed.line.encode() + b"\n\n", index))
        elif not any(isinstance(f, DropFault) for f in here):
            copies = 2 if any(isinstance(f, DuplicateFault) for f in here) else 1
            actions.extend(Write(events[index], index) for _ in range(copies))
        disconnect = next((f for f in here if isinstance(f, DisconnectFault)), None)
        if disconnect is not None:
            actions.append(Disconnect(disconnect.mode))
            break

    split = next((f for f in faults if isinstance(f, ByteSplitFault)), None)
    return _split_writes(actions, split) if split is not None else actions


def _split_writes(actions: list[Action], fault: ByteSplitFault) -> list[Action]:
    """Re-cut each run of back-to-back writes into pieces of the fault's sizes, so SSE frames
    straddle network writes (piece boundaries ignore frame boundaries)."""
    rng = random.Random(fault.seed)
    cycle = 0

    def next_size() -> int:
        nonlocal cycle
        if fault.sizes is not None:
            size = fault.sizes[cycle % len(fault.sizes)]
            cycle += 1
            return size
        return rng.randint(1, fault.max_size)

    result: list[Action] = []
    run: list[Write] = []

    def flush_run() -> None:
        if not run:
            return
        data = b"".join(w.data for w in run)
        first_event = next((w.event for w in run if w.event is not None), None)
        position = 0
        while position < len(data):
            size = next_size()
            result.append(Write(data[position : position + size], first_event))
            position += size
        run.clear()

    for action in actions:
        if isinstance(action, Write):
            run.append(action)
        else:
            flush_run()
            result.append(action)
    flush_run()
    return result


# -- echo mode ---------------------------------------------------------------------------------


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


def echo_reply(request: ChatRequest) -> LLMReply:
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


# -- deciding the answer: shared by the socket shell below and simulators.in_process -----------


def _journal_text(data: bytes) -> str:
    return data.decode("utf-8", errors="backslashreplace")


def _redacted_headers(headers: Any) -> dict[str, str]:
    shown = {}
    for name, value in headers.items():
        if name.lower() == "authorization":
            scheme, _, credential = value.partition(" ")
            value = f"{scheme} {credential[:12]}..." if credential else value
        shown[name] = value
    return shown


def _match(rule: Any, request: ChatRequest, attempt: int) -> bool:
    match = rule.match
    if match.endpoint != "llm":
        return False
    if match.model is not None and re.fullmatch(match.model, request.model) is None:
        return False
    if match.text is not None and re.search(match.text, request.last_user_text) is None:
        return False
    return match.attempt is None or match.attempt == attempt


@dataclass(frozen=True)
class ErrorAnswer:
    """Answer HTTP ``status`` with a JSON ``body`` (and ``headers``) instead of a completion."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    exchange: int


@dataclass(frozen=True)
class CompletionAnswer:
    """Answer with a completion: streamed, execute ``actions``; else wait ``delay`` seconds
    (already time-scaled) and send ``payload``. ``scenario`` and ``exchange`` label the
    answer's journal entries."""

    scenario: str
    exchange: int
    stream: bool
    payload: dict[str, Any] | None
    delay: float
    actions: list[Action]


def error_body(status: int, message: str, kind: str) -> dict[str, Any]:
    """A JSON error in the openai shape ``{"error": {"message", "type", "code"}}`` (LLM-SSE-5)."""
    return {"error": {"message": message, "type": kind, "code": status}}


def decide_chat(
    state: SimulatorState,
    *,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
) -> ErrorAnswer | CompletionAnswer:
    """Decide the answer to one chat completion request, with no I/O.

    Opens an exchange in the journal; admits the request (AUTH-4 token, scenario selection:
    a refusal is a 401/404 answer); journals the request, the rule decision and any error
    answer; counts the attempt (attempt N is the Nth identical body under the scenario) and the
    key's usage. Every shell (socket or in-process) calls this, then executes the answer and
    journals what it sends. ``headers`` must look names up case-insensitively.
    """
    from voicewire.simulators.server import Refusal

    exchange = state.journal.new_exchange()
    try:
        api_key, scenario = state.admit(headers, exchange=exchange)
    except Refusal as refusal:
        return ErrorAnswer(refusal.status, refusal.body, {}, exchange)
    name = scenario.name

    def record(direction: str, kind: str, data: Any) -> None:
        state.journal.record(
            scenario=name, exchange=exchange, direction=direction, kind=kind, data=data
        )

    try:
        parsed_body: Any = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        parsed_body = _journal_text(body)
    record(
        "in",
        "http_request",
        {
            "method": method,
            "path": path,
            "headers": _redacted_headers(headers),
            "body": parsed_body,
        },
    )
    try:
        chat = read_request(body)
    except RequestError as exc:
        record("out", "http_error", {"status": 400, "message": str(exc)})
        return ErrorAnswer(400, error_body(400, str(exc), "invalid_request_error"), {}, exchange)

    attempt = state.next_attempt(scenario, body)
    rule = next((r for r in scenario.rules if _match(r, chat, attempt)), None)
    if rule is None and scenario.on_unmatched == "error":
        message = (
            f"no rule of scenario {name!r} matches this request "
            f"(model {chat.model!r}, attempt {attempt}, "
            f"last user message {chat.last_user_text[:80]!r})"
        )
        record("out", "http_error", {"status": 404, "message": message})
        return ErrorAnswer(404, error_body(404, message, "scenario_unmatched"), {}, exchange)
    reply = rule.reply if rule is not None else echo_reply(chat)
    faults = rule.faults_for(attempt) if rule is not None else []
    timing = rule.timing if rule is not None else Timing()
    record(
        "note",
        "rule",
        {"rule": None if rule is None else scenario.rules.index(rule), "attempt": attempt},
    )

    usage = state.usage[api_key]
    usage["requests"] += 1
    status = next((f for f in faults if f.kind == "status"), None)
    if status is not None:
        body_json = status.body or {
            "error": {
                "message": f"simulated HTTP {status.code}",
                "type": "server_error" if status.code >= 500 else "invalid_request_error",
                "code": status.code,
            }
        }
        error_headers = {}
        if status.retry_after is not None:
            error_headers["Retry-After"] = f"{status.retry_after:g}"
        record(
            "out",
            "http_error",
            {"status": status.code, "body": body_json, "headers": error_headers},
        )
        return ErrorAnswer(status.code, body_json, error_headers, exchange)

    completion_id = f"chatcmpl-vw{exchange:06d}"
    created = int(time.time())
    scale = state.time_scale(scenario)
    token_usage = usage_payload(reply, chat)
    if token_usage is not None:
        usage["prompt_tokens"] += token_usage["prompt_tokens"]
        usage["completion_tokens"] += token_usage["completion_tokens"]

    if not chat.stream:
        payload = completion_body(reply, request=chat, completion_id=completion_id, created=created)
        return CompletionAnswer(name, exchange, False, payload, timing.ttft * scale, [])

    if rule is not None:
        # Scripted replies stream again and again: plan and encode each once.
        events = state.stream_templates.events(
            reply, request=chat, completion_id=completion_id, created=created
        )
    else:
        events = [
            encode_event(c)
            for c in plan_chunks(reply, request=chat, completion_id=completion_id, created=created)
        ]
        events.append(DONE_EVENT)
    actions = stream_actions(events, faults=faults, timing=timing, time_scale=scale)
    return CompletionAnswer(name, exchange, True, None, 0.0, actions)


# -- the aiohttp shell -------------------------------------------------------------------------

MODELS = ("openai/gpt-4.1-mini", "openai/gpt-4o-mini", "google/gemini-2.5-flash")


async def _chat_completions(request: web.Request) -> web.StreamResponse:
    from voicewire.simulators.server import SCENARIO_HEADER, STATE_KEY

    state = request.app[STATE_KEY]
    try:
        body = await request.read()
    except ConnectionResetError:
        # The client hung up before its body was complete: nobody is left to answer, and
        # aiohttp would log the unhandled error as a server fault.
        state.journal.record(
            scenario=request.headers.get(SCENARIO_HEADER, state.default_scenario),
            exchange=state.journal.new_exchange(),
            direction="note",
            kind="client_gone",
            data="connection lost while reading the request body",
        )
        return web.Response(status=400)
    answer = decide_chat(
        state,
        method=request.method,
        path=request.path,
        headers=request.headers,
        body=body,
    )
    if isinstance(answer, ErrorAnswer):
        return web.json_response(answer.body, status=answer.status, headers=answer.headers or None)
    exchange = answer.exchange
    record = state.journal.recorder(scenario=answer.scenario, exchange=exchange)

    if not answer.stream:
        if answer.delay:
            await asyncio.sleep(answer.delay)
        record("out", "http_response", {"status": 200, "body": answer.payload})
        return web.json_response(answer.payload)

    response = web.StreamResponse(
        status=200,
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"},
    )
    await response.prepare(request)
    record("out", "http_response", {"status": 200, "content_type": "text/event-stream"})
    record_write = state.journal.record_write  # once per event: the journal's cheap path
    try:
        for action in answer.actions:
            if isinstance(action, Write):
                await response.write(action.data)
                record_write(answer.scenario, exchange, action.data, action.event)
            elif isinstance(action, Sleep):
                record("note", "sleep", {"seconds": action.seconds, "reason": action.reason})
                await asyncio.sleep(action.seconds)
            else:
                record("out", "disconnect", {"mode": action.mode})
                if action.mode == "reset":
                    if request.transport is not None:
                        request.transport.abort()
                    return response
                break
        await response.write_eof()
    except (ConnectionResetError, ConnectionError) as exc:
        record("note", "client_gone", str(exc) or type(exc).__name__)
    return response


async def _models(request: web.Request) -> web.Response:
    from voicewire.simulators.server import STATE_KEY, Refusal

    state = request.app[STATE_KEY]
    try:
        state.api_key_of(request.headers)
    except Refusal as refusal:
        return web.json_response(refusal.body, status=refusal.status)
    return web.json_response(
        {
            "object": "list",
            "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "voicewire"} for m in MODELS
            ],
        }
    )


def add_routes(app: web.Application, prefix: str) -> None:
    """Mount the LLM endpoints under ``prefix`` (``""`` or ``"/v1"``)."""
    app.router.add_post(f"{prefix}/chat/completions", _chat_completions)
    app.router.add_get(f"{prefix}/models", _models)
