"""Planning a scripted completion: reply → chunk payloads → SSE events → stream actions.

Everything here is pure, synchronous and lazy: :func:`plan_chunks` is a generator, so a reply
of 200,000 chunks is built only as fast as it is sent, and its first byte leaves before the
rest is planned. Chunks, deltas, usage, the non-streamed completion and SSE framing come from
the LLM wire module (:mod:`voicewire.reference.llm.wire`), the same builders the reference
client's tests read back.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator
from typing import Any

from voicewire.reference.errors import error_body
from voicewire.reference.llm.chat_chunk import FunctionToolCall
from voicewire.reference.llm.wire import (
    DONE_EVENT,
    chat_chunk,
    completion_object,
    content_delta,
    encode_event,
    role_delta,
    tool_call_arguments,
    tool_call_header,
    tool_calls_delta,
    usage_chunk,
    usage_object,
)
from voicewire.simulators.core.actions import Action
from voicewire.simulators.core.faults import place_faults
from voicewire.simulators.llm.request import ChatCompletionRequest, message_text
from voicewire.simulators.llm.script import Fragmentation, LLMReply, ToolCallScript
from voicewire.simulators.scenario import ErrorEventFault, MalformedFault, Timing

__all__ = [
    "MALFORMED_LINE",
    "completion_body",
    "cut_text",
    "plan_chunks",
    "reply_chunks",
    "stream_actions",
    "stream_events",
    "usage_payload",
]

MALFORMED_LINE = 'data: {"id": "chatcmpl-broken", "choices": [{'
"""What a ``malformed`` fault without a ``line`` sends: a data line of unparseable JSON."""


def cut_text(text: str, fragmentation: Fragmentation, rng: random.Random) -> Iterator[str]:
    """Cut ``text`` into the pieces the strategy prescribes (none for empty text), lazily;
    the ``random`` strategy draws its sizes from ``rng``."""
    if not text:
        return
    strategy = fragmentation.strategy
    if strategy == "whole":
        yield text
        return
    if strategy == "per_char":
        yield from text
        return
    size = fragmentation.size
    position = 0
    while position < len(text):
        step = size if strategy == "fixed" else rng.randint(1, size)
        yield text[position : position + step]
        position += step


def _tokens(text: str) -> int:
    # A stable stand-in for a tokenizer: about four characters per token.
    return math.ceil(len(text) / 4)


def usage_payload(reply: LLMReply, request: ChatCompletionRequest) -> dict[str, Any] | None:
    """The usage object for this reply (LLM-SSE-4), or None when the script forbids one."""
    if reply.usage is False:
        return None
    script = reply.usage
    prompt = script.prompt_tokens
    if prompt is None:
        prompt = sum(3 + _tokens(message_text(m)) for m in request.messages)
    completion = script.completion_tokens
    if completion is None:
        # The length of content + reasoning, without joining two long strings per request.
        generated = len(reply.content) + len(reply.reasoning or "")
        completion = math.ceil(generated / 4) + sum(
            _tokens(call.arguments_text) + 1 for call in reply.tool_calls
        )
    reasoning = script.reasoning_tokens
    if reasoning is None:
        reasoning = _tokens(reply.reasoning or "")
    return usage_object(
        prompt, completion, cached_tokens=script.cached_tokens or 0, reasoning_tokens=reasoning
    )


def _index(call: ToolCallScript, position: int) -> int:
    return call.index if call.index is not None else position


def _call_id(call: ToolCallScript, position: int) -> str:
    return call.id if call.id is not None else f"call_{position}"


def _header(call: ToolCallScript, position: int, arguments: str = "") -> dict[str, Any]:
    call_id = None if call.omit_id else _call_id(call, position)
    return tool_call_header(_index(call, position), call_id, call.name, arguments)


def _argument_pieces(
    calls: list[tuple[int, ToolCallScript]], fragmentation: Fragmentation, rng: random.Random
) -> list[Iterator[str]]:
    """One lazy cutter per call, each drawing the sizes it would draw if the calls were cut
    one after the other from ``rng`` (so interleaving does not change the pieces)."""
    cutters = []
    for _, call in calls:
        fork = random.Random()
        fork.setstate(rng.getstate())
        cutters.append(cut_text(call.arguments_text, fragmentation, fork))
        if fragmentation.strategy == "random":
            for _ in cut_text(call.arguments_text, fragmentation, rng):
                pass  # move the shared generator past this call's draws
    return cutters


def plan_chunks(
    reply: LLMReply,
    *,
    request: ChatCompletionRequest,
    completion_id: str,
    created: int,
) -> Iterator[dict[str, Any]]:
    """The chunk payloads of one streamed completion, in order (without ``[DONE]``), lazily:
    :func:`reply_chunks`, then the usage chunk when the request asks for one."""
    yield from reply_chunks(
        reply, model=request.model, completion_id=completion_id, created=created
    )
    usage = usage_payload(reply, request) if request.include_usage else None
    if usage is not None:
        yield usage_chunk(usage, completion_id=completion_id, created=created, model=request.model)


def reply_chunks(
    reply: LLMReply, *, model: str, completion_id: str, created: int
) -> Iterator[dict[str, Any]]:
    """The chunks of a reply up to its finish chunk (no usage chunk, which depends on the
    request's messages), lazily."""
    rng = random.Random(reply.fragmentation.seed)

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return chat_chunk(completion_id, created, model, delta, finish_reason)

    frag = reply.fragmentation
    yield chunk(role_delta())
    text = reply.content
    if reply.reasoning is not None:
        text = f"<think>{reply.reasoning}</think>{text}"
    for piece in cut_text(text, frag, rng):
        yield chunk(content_delta(piece))

    calls = list(enumerate(reply.tool_calls))
    finish_calls: list[dict[str, Any]] = []
    if frag.tool_calls == "sequential":
        for position, call in calls:
            yield chunk(tool_calls_delta([_header(call, position)]))
            index = _index(call, position)
            for piece in cut_text(call.arguments_text, frag, rng):
                yield chunk(tool_calls_delta([tool_call_arguments(index, piece)]))
    elif frag.tool_calls == "one_delta":
        if calls:
            whole = [_header(call, pos, call.arguments_text) for pos, call in calls]
            yield chunk(tool_calls_delta(whole))
    elif frag.tool_calls == "in_finish":
        finish_calls = [_header(call, pos, call.arguments_text) for pos, call in calls]
    else:  # interleaved: every header, then argument pieces round-robin across calls
        for position, call in calls:
            yield chunk(tool_calls_delta([_header(call, position)]))
        cutters = list(zip(calls, _argument_pieces(calls, frag, rng), strict=True))
        while cutters:
            remaining = []
            for (position, call), pieces in cutters:
                piece = next(pieces, None)
                if piece is None:
                    continue
                remaining.append(((position, call), pieces))
                fragment = tool_call_arguments(_index(call, position), piece)
                yield chunk(tool_calls_delta([fragment]))
            cutters = remaining

    if reply.finish:
        delta: dict[str, Any] = tool_calls_delta(finish_calls) if finish_calls else {}
        yield chunk(delta, reply.effective_finish_reason)
    elif finish_calls:
        yield chunk(tool_calls_delta(finish_calls))


def stream_events(
    reply: LLMReply,
    *,
    request: ChatCompletionRequest,
    completion_id: str,
    created: int,
) -> Iterator[bytes]:
    """The SSE events of one streamed completion, ``[DONE]`` included, encoded lazily."""
    for chunk in plan_chunks(reply, request=request, completion_id=completion_id, created=created):
        yield encode_event(chunk)
    yield DONE_EVENT


def completion_body(
    reply: LLMReply, *, request: ChatCompletionRequest, completion_id: str, created: int
) -> dict[str, Any]:
    """The non-streaming ``chat.completion`` object for the same reply."""
    content: str | None = reply.content or None
    if reply.reasoning is not None:
        content = f"<think>{reply.reasoning}</think>{reply.content}"
    calls = [
        FunctionToolCall(
            name=call.name, arguments=call.arguments_text, call_id=_call_id(call, position)
        )
        for position, call in enumerate(reply.tool_calls)
    ]
    return completion_object(
        completion_id,
        created,
        request.model,
        content=content,
        tool_calls=calls,
        finish_reason=reply.effective_finish_reason,
        usage=usage_payload(reply, request),
    )


def _malformed(fault: MalformedFault) -> bytes:
    return (fault.line if fault.line is not None else MALFORMED_LINE).encode() + b"\n\n"


def _error_event(fault: ErrorEventFault) -> bytes:
    return encode_event(error_body(fault.code, fault.message, "server_error"))


def stream_actions(
    events: Iterable[bytes],
    *,
    faults: Iterable[Any],
    timing: Timing,
    time_scale: float,
) -> Iterator[Action]:
    """The writes, waits and disconnect of one stream, lazily.

    ``events`` are encoded SSE events (the final ``[DONE]`` included) and may be produced
    lazily. Faults address events by their scripted index; all waits are multiplied by
    ``time_scale``.
    """
    return place_faults(
        events,
        faults=faults,
        timing=timing,
        time_scale=time_scale,
        malformed=_malformed,
        error_event=_error_event,
    )
