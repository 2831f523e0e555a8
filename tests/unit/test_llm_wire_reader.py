"""CompletionReader: any scripted reply, built with the chunk builders, encoded, cut at any byte
and read back, gives exactly the text, the calls and the usage the server meant (LLM-TXT-1/2,
LLM-TC-1..5, LLM-USG-1, LLM-ORD-1); each seam changes exactly its own behaviour."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from voicewire.reference.llm.chat_chunk import (
    ChatChunk,
    ChoiceDelta,
    CompletionUsage,
    FunctionToolCall,
)
from voicewire.reference.llm.tool_calls import ToolCallAssembler, ToolCallFragment
from voicewire.reference.llm.wire import (
    DONE_EVENT,
    CompletionReader,
    MalformedChunk,
    SSEDecoder,
    SSEEvent,
    StreamErrorEvent,
    chat_chunk,
    content_delta,
    encode_comment,
    encode_event,
    role_delta,
    tool_call_arguments,
    tool_call_header,
    tool_calls_delta,
    usage_chunk,
    usage_object,
)

UNICODE = st.characters(codec="utf-8")
names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_-]{0,12}", fullmatch=True)
content_texts = st.lists(
    st.sampled_from(["<think>", "</think>", "<thi", "nk>", "</", "<", "a", "é", "😀", "\n"])
    | st.text(UNICODE, max_size=5),
    max_size=8,
).map("".join)
LAYOUTS = ("sequential", "one_delta", "in_finish", "interleaved")


def without_thinking(text: str) -> str:
    """LLM-TXT-2, independently of the ThinkingFilter: blocks from ``<think>`` to the first
    ``</think>`` (or the end) are removed, left to right, without nesting."""
    return re.sub(r"<think>.*?(?:</think>|\Z)", "", text, flags=re.DOTALL)


def cut_text(draw: st.DrawFn, text: str) -> list[str]:
    points = sorted(draw(st.lists(st.integers(0, len(text)), max_size=6), label="cuts"))
    return [text[a:b] for a, b in pairwise([0, *points, len(text)])]


def cut_arguments(draw: st.DrawFn, arguments: str) -> list[str]:
    """Any cut of a call's arguments, also between the two UTF-16 halves of a character (a JS
    server does that; each half then travels as a lone-surrogate JSON escape)."""
    style = draw(st.sampled_from(["whole", "chars", "random", "utf16"]), label="cut style")
    if style == "whole":
        return [arguments]
    if style == "chars":
        return list(arguments)
    if style == "random":
        return cut_text(draw, arguments)
    units = arguments.encode("utf-16-le")
    points = sorted(draw(st.lists(st.integers(0, len(units) // 2), max_size=6), label="units"))
    bounds = [2 * p for p in [0, *points, len(units) // 2]]
    return [units[a:b].decode("utf-16-le", "surrogatepass") for a, b in pairwise(bounds)]


@dataclass
class Script:
    """A reply as chunks, and what a reader must make of it."""

    completion_id: str
    chunks: list[dict[str, Any]]
    done: bool
    text: str
    calls: list[FunctionToolCall]
    usages: list[CompletionUsage]


@st.composite
def scripts(draw: st.DrawFn) -> Script:
    cid = draw(st.text(UNICODE, min_size=1, max_size=10), label="id")

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return chat_chunk(cid, 1700000000, "m", delta, finish)

    content = draw(content_texts, label="content")
    text_deltas = [content_delta(piece) for piece in cut_text(draw, content)]

    count = draw(st.integers(0, 3), label="calls")
    indices = draw(st.lists(st.integers(0, 9), min_size=count, max_size=count, unique=True))
    calls = []
    for position, index in enumerate(indices):
        omit_id = draw(st.booleans(), label="omit id")
        call = FunctionToolCall(
            name=draw(names),
            arguments=draw(st.text(UNICODE, max_size=20), label="arguments"),
            call_id="" if omit_id else f"call_{position}",
        )
        calls.append((index, call))

    def header(index: int, call: FunctionToolCall, arguments: str = "") -> dict[str, Any]:
        return tool_call_header(index, call.call_id or None, call.name, arguments)

    layout = draw(st.sampled_from(LAYOUTS), label="layout")
    finish = draw(
        st.none() | st.sampled_from(["stop", "tool_calls", "length", "content_filter", "weird"]),
        label="finish",
    )
    call_deltas: list[dict[str, Any]] = []
    finish_calls: list[dict[str, Any]] = []
    if layout in ("sequential", "interleaved"):
        queues = []
        for index, call in calls:
            pieces = cut_arguments(draw, call.arguments)
            first = pieces.pop(0) if pieces and draw(st.booleans(), label="args in header") else ""
            call_deltas.append(tool_calls_delta([header(index, call, first)]))
            queues.append([tool_calls_delta([tool_call_arguments(index, p)]) for p in pieces])
        if layout == "sequential":
            call_deltas = [
                d for head, queue in zip(call_deltas, queues, strict=True) for d in [head, *queue]
            ]
        else:  # every header, then the pieces round-robin
            while any(queues):
                call_deltas.extend(queue.pop(0) for queue in queues if queue)
    elif calls:
        whole = [header(index, call, call.arguments) for index, call in calls]
        if layout == "in_finish" and finish is not None:
            finish_calls = whole
        else:
            call_deltas.append(tool_calls_delta(whole))

    finish_delta = tool_calls_delta(finish_calls) if finish_calls else {}
    # LLM-TC-5: text may share a delta with tool-call fragments (the finish chunk's, too).
    sharing = call_deltas[0] if call_deltas else finish_delta if finish_calls else None
    if sharing is not None and text_deltas and draw(st.booleans(), label="share"):
        sharing["content"] = text_deltas.pop()["content"]
    chunks = [chunk(role_delta())] if draw(st.booleans(), label="role chunk") else []
    chunks.extend(chunk(delta) for delta in text_deltas)
    chunks.extend(chunk(delta) for delta in call_deltas)
    if finish is not None:
        chunks.append(chunk(finish_delta, finish))

    usages = []
    for _ in range(draw(st.integers(0, 2), label="usages")):
        prompt, completion, cached = (draw(st.integers(0, 10**6)) for _ in range(3))
        raw = usage_object(prompt, completion, cached_tokens=cached)
        at = draw(st.integers(0, len(chunks)), label="usage position")
        if draw(st.booleans(), label="usage rides a chunk") and at < len(chunks):
            if chunks[at]["usage"] is not None:
                continue
            chunks[at]["usage"] = raw
        else:
            chunks.insert(at, usage_chunk(raw, completion_id=cid, created=1, model="m"))
    # The usages in stream order, whatever position each was given.
    usages = [
        CompletionUsage(
            prompt_tokens=c["usage"]["prompt_tokens"],
            completion_tokens=c["usage"]["completion_tokens"],
            prompt_cached_tokens=c["usage"]["prompt_tokens_details"]["cached_tokens"],
            total_tokens=c["usage"]["total_tokens"],
        )
        for c in chunks
        if c["usage"] is not None
    ]
    return Script(
        completion_id=cid,
        chunks=chunks,
        done=draw(st.booleans(), label="done"),
        text=without_thinking(content),
        calls=[call for _, call in sorted(calls, key=lambda pair: pair[0])],
        usages=usages,
    )


def body_of(script: Script) -> bytes:
    events = [encode_event(c) for c in script.chunks]
    if script.done:
        # Whatever follows [DONE] is ignored.
        events += [DONE_EVENT, encode_event(chat_chunk("late", 1, "m", content_delta("LATE")))]
    return b"".join(events)


def read(pieces: Iterable[bytes], reader: CompletionReader | None = None) -> list[ChatChunk]:
    reader = reader if reader is not None else CompletionReader()
    decoder = SSEDecoder()
    out = []
    for piece in pieces:
        for event in decoder.feed(piece):
            out.extend(reader.feed(event))
    for event in decoder.end():
        out.extend(reader.feed(event))
    out.extend(reader.finish())
    return out


def cut_bytes(data: st.DataObject, body: bytes) -> list[bytes]:
    points = sorted(data.draw(st.lists(st.integers(0, len(body)), max_size=16), label="reads"))
    return [body[a:b] for a, b in pairwise([0, *points, len(body)])]


@settings(max_examples=400)
@given(script=scripts(), data=st.data())
def test_any_reply_cut_anywhere_reads_back_exactly(script, data):
    reader = CompletionReader()
    out = read(cut_bytes(data, body_of(script)), reader)

    text = "".join(c.delta.content or "" for c in out if c.delta is not None)
    calls = [call for c in out if c.delta is not None for call in c.delta.tool_calls]
    assert text == script.text  # LLM-TXT-1, LLM-TXT-2
    assert calls == script.calls  # LLM-TC-1..5: exactly once, index order, byte-exact
    # LLM-USG-1: one ChatChunk per usage object, after every text and call.
    kinds = "".join("u" if c.usage is not None else "d" for c in out)
    assert kinds == "d" * (len(out) - len(script.usages)) + "u" * len(script.usages)
    assert [c.usage for c in out if c.usage is not None] == script.usages
    assert all((c.delta is None) != (c.usage is None) for c in out)
    # An empty or role-only delta emits nothing.
    assert all(c.delta is None or c.delta.content or c.delta.tool_calls for c in out)
    assert {c.id for c in out} <= {script.completion_id}  # LLM-ORD-1
    assert reader.visible_output == bool(script.text or script.calls)
    assert reader.done == script.done
    assert reader.usage == (script.usages[-1] if script.usages else None)
    assert reader.completion_id == script.completion_id


# -- examples -----------------------------------------------------------------------------------

CALL = FunctionToolCall(name="f", arguments='{"x": "é"}', call_id="call_0")
USAGE = CompletionUsage(prompt_tokens=3, completion_tokens=4, total_tokens=7)


def chunk(delta: dict[str, Any] | None, finish: str | None = None, cid: str = "c") -> bytes:
    return encode_event(chat_chunk(cid, 1, "m", delta, finish))  # type: ignore[arg-type]


def usage_event(cid: str = "c") -> bytes:
    return encode_event(usage_chunk(usage_object(3, 4), completion_id=cid, created=1, model="m"))


def text_chunk(text: str | None, tool_calls: tuple[FunctionToolCall, ...] = ()) -> ChatChunk:
    return ChatChunk(id="c", delta=ChoiceDelta(content=text, tool_calls=tool_calls))


def events(*raw: bytes) -> list[SSEEvent]:
    decoder = SSEDecoder()
    return [event for piece in raw for event in decoder.feed(piece)]


def test_text_and_a_call_stream_as_expected():
    out = read(
        [
            chunk(role_delta()),
            chunk(content_delta("Hi <think>hidden</think>there")),
            chunk(tool_calls_delta([tool_call_header(0, "call_0", "f", '{"x": ')])),
            chunk(tool_calls_delta([tool_call_arguments(0, '"é"}')])),
            chunk({}, "tool_calls"),
            usage_event(),
            DONE_EVENT,
        ]
    )
    assert out == [
        text_chunk("Hi there"),
        text_chunk(None, (CALL,)),
        ChatChunk(id="c", usage=USAGE),
    ]


def test_role_only_and_empty_deltas_emit_nothing_and_usage_is_not_visible_output():
    reader = CompletionReader()
    out = []
    for event in events(chunk(role_delta()), chunk(content_delta("")), chunk({}), usage_event()):
        out.extend(reader.feed(event))
    assert out == []
    assert not reader.visible_output  # RETRY-2: usage alone does not count
    assert reader.finish() == [ChatChunk(id="c", usage=USAGE)]
    assert not reader.visible_output


def test_visible_output_is_set_by_the_first_visible_chunk():
    reader = CompletionReader()
    assert reader.feed(events(chunk(content_delta("<thi")))[0]) == []
    assert not reader.visible_output
    assert reader.feed(events(chunk(content_delta("s is text")))[0]) == [
        text_chunk("<this is text")
    ]
    assert reader.visible_output


def test_null_delta_with_a_finish_still_flushes():
    out = read(
        [
            chunk(content_delta("a<thi")),
            chunk(tool_calls_delta([tool_call_header(0, "call_0", "f", '{"x": "é"}')])),
            chunk(None, "length"),
        ]
    )
    assert out == [text_chunk("a"), text_chunk("<thi", (CALL,))]


def test_a_pending_call_is_flushed_at_the_end_of_the_stream():
    # LLM-TC-3: no finish chunk, no [DONE].
    out = read([chunk(tool_calls_delta([tool_call_header(0, "call_0", "f", '{"x": "é"}')]))])
    assert out == [text_chunk(None, (CALL,))]


def test_events_after_done_are_ignored():
    reader = CompletionReader()
    stream = events(
        chunk(content_delta("a")), DONE_EVENT, chunk(content_delta("b")), b"data: {\n\n"
    )
    out = [c for event in stream for c in reader.feed(event)]
    assert out == [text_chunk("a")]
    assert reader.done
    assert reader.finish() == []


def test_the_latest_non_empty_id_is_used():
    out = read(
        [
            chunk(content_delta("a"), cid="first"),
            encode_event({"choices": [{"delta": {"content": "b"}}]}),  # no id
            chunk(content_delta("c"), cid="second"),
            usage_event(cid=""),
        ]
    )
    assert [(c.id, c.delta.content if c.delta else None) for c in out] == [
        ("first", "a"),
        ("first", "b"),
        ("second", "c"),
        ("second", None),
    ]


def test_every_usage_object_gives_one_chunk_in_order_with_null_counts_as_zero():
    first = {"prompt_tokens": None, "completion_tokens": 2, "total_tokens": None}
    second = usage_object(5, 6, cached_tokens=4)
    out = read(
        [
            encode_event(usage_chunk(first, completion_id="c", created=1, model="m")),
            chunk(content_delta("x")),
            encode_event(usage_chunk(second, completion_id="c", created=1, model="m")),
        ]
    )
    assert out == [
        text_chunk("x"),
        ChatChunk(
            id="c", usage=CompletionUsage(prompt_tokens=0, completion_tokens=2, total_tokens=0)
        ),
        ChatChunk(
            id="c",
            usage=CompletionUsage(
                prompt_tokens=5, completion_tokens=6, prompt_cached_tokens=4, total_tokens=11
            ),
        ),
    ]


def test_comments_and_named_events_are_ignored():
    data = encode_event(chat_chunk("c", 1, "m", content_delta("a")))[len(b"data: ") : -2]
    out = read(
        [
            encode_comment("keep-alive"),
            SSEEvent('{"whatever": 1}', event="ping").encode(),
            SSEEvent(data.decode(), event="message").encode(),
        ]
    )
    assert out == [text_chunk("a")]


@pytest.mark.parametrize(
    ("raw", "message", "body"),
    [
        (
            encode_event({"error": {"message": "overloaded", "type": "server_error", "code": 503}}),
            "overloaded",
            {"message": "overloaded", "type": "server_error", "code": 503},
        ),
        (
            SSEEvent('{"error": {"message": "bad"}}', event="error").encode(),
            "bad",
            {"message": "bad"},
        ),
        (
            SSEEvent("not json", event="error").encode(),
            "the server sent an error event",
            "not json",
        ),
    ],
)
def test_in_band_errors_raise_stream_error_event(raw, message, body):
    reader = CompletionReader()
    assert reader.feed(events(chunk(content_delta("a")))[0]) == [text_chunk("a")]
    with pytest.raises(StreamErrorEvent) as caught:
        reader.feed(events(raw)[0])
    assert caught.value.message == message
    assert caught.value.body == body


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("[1,2]", "chunk: expected an object, got a list"),
        ('{"choices": [{"delta": {"content": 1.5}}]}', "choices[0].delta.content: expected"),
        ("{", "chunk: not valid JSON"),
        ("[" * 100_000, "chunk: JSON nested too deeply"),
    ],
)
def test_malformed_data_raises_malformed_chunk(data, message):
    with pytest.raises(MalformedChunk) as caught:
        CompletionReader().feed(SSEEvent(data))
    assert str(caught.value).startswith(message)


def test_finish_is_once_and_feed_after_it_is_a_bug():
    reader = CompletionReader()
    reader.feed(events(chunk(content_delta("a<th")))[0])
    assert reader.finish() == [text_chunk("<th")]
    assert reader.finish() == []
    with pytest.raises(RuntimeError):
        reader.feed(SSEEvent("{}"))


# -- the seams: overriding one method changes exactly that behaviour ----------------------------


class EagerUsageReader(CompletionReader):
    """A port that emits usage the moment it arrives."""

    def on_usage(self, usage: CompletionUsage) -> list[ChatChunk]:
        return [self.usage_chunk(usage)]


class ToolReasonsOnlyReader(CompletionReader):
    """A port that flushes calls only on the finish reasons that "mean" tool use."""

    def calls_to_flush(self, finish_reason: str | None) -> list[FunctionToolCall]:
        if finish_reason in ("tool_calls", "stop"):
            return super().calls_to_flush(finish_reason)
        return []


class EarlyAssembler(ToolCallAssembler):
    """An assembler that hands every call over as soon as a fragment of it arrives."""

    def feed(self, fragments: Iterable[ToolCallFragment]) -> list[FunctionToolCall]:
        super().feed(fragments)
        return self.finish()


class EarlyCallsReader(CompletionReader):
    def new_assembler(self) -> EarlyAssembler:
        return EarlyAssembler()


class PassThrough:
    def feed(self, text: str) -> str:
        return text

    def finish(self) -> str:
        return ""


class NoThinkingFilterReader(CompletionReader):
    def new_thinking_filter(self) -> PassThrough:
        return PassThrough()


WHOLE_CALL = chunk(tool_calls_delta([tool_call_header(0, "call_0", "f", '{"x": "é"}')]))


def test_on_usage_seam():
    stream = [chunk(content_delta("hi")), WHOLE_CALL, usage_event()]  # no finish chunk
    usage = ChatChunk(id="c", usage=USAGE)
    assert read(stream) == [text_chunk("hi"), text_chunk(None, (CALL,)), usage]
    assert read(stream, EagerUsageReader()) == [text_chunk("hi"), usage, text_chunk(None, (CALL,))]
    # With usage after the finish chunk, the eager port happens to be right.
    normal = [chunk(content_delta("hi")), WHOLE_CALL, chunk({}, "tool_calls"), usage_event()]
    assert read(normal, EagerUsageReader()) == read(normal)


@pytest.mark.parametrize("finish", ["length", "content_filter", None])
def test_calls_to_flush_seam_drops_calls_on_other_reasons(finish):
    stream = [WHOLE_CALL] + ([chunk({}, finish)] if finish else [])
    assert read(stream) == [text_chunk(None, (CALL,))]
    assert read(stream, ToolReasonsOnlyReader()) == []


@pytest.mark.parametrize("finish", ["tool_calls", "stop"])
def test_calls_to_flush_seam_agrees_on_tool_reasons(finish):
    stream = [chunk(content_delta("a")), WHOLE_CALL, chunk({}, finish)]
    assert (
        read(stream, ToolReasonsOnlyReader())
        == read(stream)
        == [
            text_chunk("a"),
            text_chunk(None, (CALL,)),
        ]
    )


def test_new_assembler_seam_emits_what_feed_returns_at_once():
    stream = [chunk(content_delta("a<thi")), WHOLE_CALL, chunk({}, "tool_calls")]
    assert read(stream) == [text_chunk("a"), text_chunk("<thi", (CALL,))]
    assert read(stream, EarlyCallsReader()) == [
        text_chunk("a"),
        text_chunk(None, (CALL,)),
        text_chunk("<thi"),
    ]


def test_new_thinking_filter_seam():
    stream = [chunk(content_delta("a<think>b</think>c"))]
    assert read(stream) == [text_chunk("ac")]
    assert read(stream, NoThinkingFilterReader()) == [text_chunk("a<think>b</think>c")]
