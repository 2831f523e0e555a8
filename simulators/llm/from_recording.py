"""A recorded chat completion as the ``llm`` scenario rule that answers it again (for
``voicewire scenario from-cassette``): its content, tool calls, finish reason and usage as
the reply, its first-chunk delay and mean gap between chunks as the timing, its
fragmentation as near as the vocabulary goes, an HTTP error as a ``status`` fault. The
recorded events are read with the reference wire modules, as a client reads them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import regex
from voicewire.reference.llm.wire import SSEDecoder
from voicewire.reference.llm.wire.chunks import decode_payload, parse_chunk
from voicewire.simulators.core.recorded import RecordedReply, recorded_status_fault
from voicewire.simulators.llm.request import RequestError, read_request

if TYPE_CHECKING:
    from voicewire.simulators.recording.cassette import RecordedExchange

__all__ = ["llm_reply_from_recording"]

_DONE = "[DONE]"


def _match(exchange: RecordedExchange) -> dict[str, str]:
    try:
        chat = read_request(exchange.request.body_bytes())
    except RequestError:
        return {}
    # The whole last user message, as it was: the n-th request finds the n-th answer.
    return {"text": rf"\A{regex.escape(chat.last_user_text)}\Z"}


def llm_reply_from_recording(exchange: RecordedExchange) -> RecordedReply:
    """The rule parts reproducing one recorded ``POST /chat/completions``."""
    match = _match(exchange)
    fault = recorded_status_fault(exchange)
    if fault is not None:
        return RecordedReply(match=match, faults=[fault], exact=["the HTTP error answer"])
    records = exchange.body_records()
    decoder = SSEDecoder()
    events = []
    times: list[float] = []
    for record in records:
        found = decoder.feed(record.data_bytes())
        events.extend(found)
        times.extend([record.t] * len(found))
    events.extend(decoder.end())
    content: list[str] = []
    calls: dict[int, dict[str, str]] = {}
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    for event in events:
        if event.data == _DONE:
            continue
        chunk = parse_chunk(decode_payload(event.data))
        if chunk.usage is not None:
            usage = {
                "prompt_tokens": chunk.usage.prompt_tokens,
                "completion_tokens": chunk.usage.completion_tokens,
                "cached_tokens": chunk.usage.prompt_cached_tokens,
            }
        for choice in chunk.choices:
            if choice.content:
                content.append(choice.content)
            for fragment in choice.tool_calls:
                call = calls.setdefault(fragment.index or 0, {"arguments": ""})
                if fragment.id:
                    call["id"] = fragment.id
                if fragment.name:
                    call["name"] = fragment.name
                call["arguments"] += fragment.arguments or ""
            if choice.finish_reason is not None:
                finish_reason = choice.finish_reason
    reply: dict[str, object] = {"content": "".join(content)}
    if calls:
        reply["tool_calls"] = [
            {"id": call["id"], "name": call["name"], "arguments": call["arguments"]}
            if "id" in call
            else {"name": call.get("name", ""), "arguments": call["arguments"]}
            for _, call in sorted(calls.items())
        ]
    if finish_reason is None:
        reply["finish"] = False
    else:
        reply["finish_reason"] = finish_reason
    if usage is not None:
        reply["usage"] = usage
    elif _asked_for_usage(exchange):
        reply["usage"] = False
    approximated = ["the completion id and created time (the simulator's own)"]
    fragmentation = _fragmentation(content)
    if fragmentation is None:
        fragmentation = {"strategy": "fixed", "size": max(len(piece) for piece in content)}
        approximated.append("the content's cut into chunks (uneven pieces as fixed ones)")
    reply["fragmentation"] = fragmentation
    if calls:
        approximated.append("the tool calls' chunk layout (the simulator's sequential one)")
    timing: dict[str, float] = {}
    start = exchange.response.t if exchange.response is not None else exchange.request.t
    if times:
        timing["ttft"] = round(max(0.0, times[0] - start), 6)
    if len(times) > 1:
        timing["inter_chunk"] = round((times[-1] - times[0]) / (len(times) - 1), 6)
    if timing:
        approximated.append("timing (first chunk as recorded, then the mean gap)")
    return RecordedReply(
        reply=reply,
        match=match,
        timing=timing,
        exact=["text", "tool calls", "finish reason", "usage"],
        approximated=approximated,
    )


def _asked_for_usage(exchange: RecordedExchange) -> bool:
    try:
        return read_request(exchange.request.body_bytes()).include_usage
    except RequestError:
        return False


def _fragmentation(pieces: list[str]) -> dict[str, object] | None:
    """The fragmentation that cuts the content into exactly these pieces, if one does."""
    if len(pieces) <= 1:
        return {"strategy": "whole"}
    size = len(pieces[0])
    if all(len(piece) == size for piece in pieces[:-1]) and 0 < len(pieces[-1]) <= size:
        return {"strategy": "per_char"} if size == 1 else {"strategy": "fixed", "size": size}
    return None
