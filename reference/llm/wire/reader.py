"""Reading one streamed completion: SSE events in, ChatChunks out (SPEC §2.3), sans-IO.

:class:`CompletionReader` is the protocol half of the reference client's attempt loop. The
client decodes the body with :class:`~voicewire.reference.llm.wire.sse.SSEDecoder`, feeds
each event to :meth:`CompletionReader.feed`, calls :meth:`CompletionReader.finish` at the
end of the body, and pushes every ChatChunk these return, in order. What the reader
guarantees:

- text is the servers' content with thinking blocks removed (LLM-TXT-1, LLM-TXT-2);
- every tool call comes out once, whole, in ``index`` order, at the first ``finish_reason``
  or at the end of the stream, whichever is first, never lost (LLM-TC-1..4);
- usage comes out last, one ChatChunk per server usage object (LLM-USG-1);
- every ChatChunk carries the server's chunk ``id`` (LLM-ORD-1);
- a malformed or error event raises a ``ValueError`` (:class:`MalformedChunk`,
  :class:`StreamErrorEvent`) that the client maps to ``APIConnectionError`` (LLM-ROB-1).

Each step is one small method so that a variant (a "port" with one deliberate bug) subclasses
the reader and overrides exactly one of them: :meth:`~CompletionReader.new_assembler`,
:meth:`~CompletionReader.new_thinking_filter`, :meth:`~CompletionReader.on_content`,
:meth:`~CompletionReader.on_tool_calls`, :meth:`~CompletionReader.text_to_flush`,
:meth:`~CompletionReader.calls_to_flush`, :meth:`~CompletionReader.on_usage`,
:meth:`~CompletionReader.emit`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from voicewire.reference.llm.chat_chunk import (
    ChatChunk,
    ChoiceDelta,
    CompletionUsage,
    FunctionToolCall,
)
from voicewire.reference.llm.thinking import ThinkingFilter
from voicewire.reference.llm.tool_calls import ToolCallAssembler, ToolCallFragment
from voicewire.reference.llm.wire.chunks import (
    MalformedChunk,
    ParsedChunk,
    StreamErrorEvent,
    decode_payload,
    parse_chunk,
)
from voicewire.reference.llm.wire.sse import SSEEvent

__all__ = ["CallAssembler", "CompletionReader", "TextFilter"]


class CallAssembler(Protocol):
    """What the reader needs of a tool-call assembler (the reference one is
    :class:`~voicewire.reference.llm.tool_calls.ToolCallAssembler`)."""

    def feed(self, fragments: Iterable[ToolCallFragment]) -> list[FunctionToolCall]:
        """Take one delta's fragments; return the calls they completed (emitted at once)."""
        ...

    def finish(self) -> list[FunctionToolCall]:
        """Return every call still held, and reset."""
        ...


class TextFilter(Protocol):
    """What the reader needs of a content filter (the reference one is
    :class:`~voicewire.reference.llm.thinking.ThinkingFilter`)."""

    def feed(self, text: str) -> str:
        """Take one content delta; return the visible text that can be released now."""
        ...

    def finish(self) -> str:
        """Return the visible text still held, and reset."""
        ...


class CompletionReader:
    """Turns the SSE events of one attempt into ChatChunks. Use one instance per attempt.

    :meth:`feed` each event, then call :meth:`finish` once at the end of the body (whether or
    not ``[DONE]`` came: a stream cut short still releases everything it holds, LLM-TC-3).
    Events after ``[DONE]`` are ignored. Only events without an ``event`` field (or with
    ``event: message``) carry chunks; ``event: error`` raises :class:`StreamErrorEvent`;
    other named events are ignored (LLM-ROB-2).
    """

    def __init__(self) -> None:
        self.assembler: CallAssembler = self.new_assembler()
        self.thinking: TextFilter = self.new_thinking_filter()
        self._held_usage: list[CompletionUsage] = []
        self._usage: CompletionUsage | None = None
        self._completion_id = ""
        self._visible_output = False
        self._chunks_read = 0
        self._done = False
        self._finished = False

    # -- state ---------------------------------------------------------------------------------

    @property
    def visible_output(self) -> bool:
        """Whether a ChatChunk with non-empty text or a tool call was emitted: from then on
        the attempt must not be retried (RETRY-2)."""
        return self._visible_output

    @property
    def done(self) -> bool:
        """Whether ``data: [DONE]`` was received."""
        return self._done

    @property
    def chunks_read(self) -> int:
        """How many chunk events were read (``[DONE]``, comments and ignored events aside)."""
        return self._chunks_read

    @property
    def completion_id(self) -> str:
        """The ``id`` of the latest chunk that carried a non-empty one (``""`` before any)."""
        return self._completion_id

    @property
    def usage(self) -> CompletionUsage | None:
        """The latest usage object received from the server, if any."""
        return self._usage

    # -- driving it ----------------------------------------------------------------------------

    def feed(self, event: SSEEvent) -> list[ChatChunk]:
        """Take one SSE event; return the ChatChunks it releases, in order.

        Raises :class:`MalformedChunk` for data that is not a well-typed chunk and
        :class:`StreamErrorEvent` for an in-band error (both ``ValueError``).
        """
        if self._finished:
            raise RuntimeError("feed() after finish(): use a new CompletionReader per attempt")
        if self._done:
            return []
        if event.event is not None and event.event != "message":
            if event.event == "error":
                raise _error_event(event.data)
            return []
        # The openai SDK stops at any data starting with [DONE]; so does the reference.
        if event.data.startswith("[DONE]"):
            self._done = True
            return []
        chunk = parse_chunk(decode_payload(event.data))
        self._chunks_read += 1
        return self.on_chunk(chunk)

    def finish(self) -> list[ChatChunk]:
        """The body is over: release held text, every pending call (LLM-TC-3, LLM-TXT-2), then
        the held usage (LLM-USG-1). A second call returns ``[]``."""
        if self._finished:
            return []
        self._finished = True
        out = list(self.emit(self.text_to_flush(None), self.calls_to_flush(None)))
        out.extend(self.usage_chunk(usage) for usage in self._held_usage)
        self._held_usage = []
        return out

    # -- the seams -----------------------------------------------------------------------------

    def new_assembler(self) -> CallAssembler:
        """The tool-call assembler of this attempt (called once, by ``__init__``)."""
        return ToolCallAssembler()

    def new_thinking_filter(self) -> TextFilter:
        """The content filter of this attempt (called once, by ``__init__``)."""
        return ThinkingFilter()

    def on_chunk(self, chunk: ParsedChunk) -> list[ChatChunk]:
        """Handle one parsed chunk: each choice's content, tool calls and finish, then usage."""
        if chunk.id:
            self._completion_id = chunk.id
        out: list[ChatChunk] = []
        for choice in chunk.choices:
            text = self.on_content(choice.content) if choice.content else ""
            calls = list(self.on_tool_calls(choice.tool_calls)) if choice.tool_calls else []
            if choice.finish_reason is not None:
                text += self.text_to_flush(choice.finish_reason)
                calls.extend(self.calls_to_flush(choice.finish_reason))
            out.extend(self.emit(text, calls))
        if chunk.usage is not None:
            self._usage = chunk.usage
            out.extend(self.on_usage(chunk.usage))
        return out

    def on_content(self, text: str) -> str:
        """One non-empty content delta in, the visible text to emit now out."""
        return self.thinking.feed(text)

    def on_tool_calls(self, fragments: Sequence[ToolCallFragment]) -> list[FunctionToolCall]:
        """One delta's tool-call fragments in, the calls to emit now out (the reference
        assembler returns none: calls complete only at the finish)."""
        return self.assembler.feed(fragments)

    def text_to_flush(self, finish_reason: str | None) -> str:
        """The held visible text to release at a ``finish_reason`` (``None``: end of stream)."""
        return self.thinking.finish()

    def calls_to_flush(self, finish_reason: str | None) -> list[FunctionToolCall]:
        """The calls to release at a ``finish_reason`` (``None``: end of stream). The
        reference releases every call it holds, whatever the reason (LLM-TC-3)."""
        return self.assembler.finish()

    def on_usage(self, usage: CompletionUsage) -> list[ChatChunk]:
        """A server usage object arrived. The reference holds it until :meth:`finish`, so it
        follows every text and call (LLM-USG-1); it returns the ChatChunks to emit now."""
        self._held_usage.append(usage)
        return []

    def usage_chunk(self, usage: CompletionUsage) -> ChatChunk:
        """The ChatChunk that carries one usage object."""
        return ChatChunk(id=self._completion_id, usage=usage)

    def emit(self, text: str, calls: Sequence[FunctionToolCall]) -> list[ChatChunk]:
        """The ChatChunk for released ``text`` and ``calls``; none when both are empty (an
        empty or role-only delta emits nothing, LLM-TXT-1)."""
        if not text and not calls:
            return []
        self._visible_output = True
        delta = ChoiceDelta(content=text or None, tool_calls=tuple(calls))
        return [ChatChunk(id=self._completion_id, delta=delta)]


def _error_event(data: str) -> StreamErrorEvent:
    """The error of an ``event: error`` event, whatever its data holds."""
    try:
        payload = decode_payload(data)
    except MalformedChunk:
        return StreamErrorEvent("the server sent an error event", data)
    error = payload.get("error") if isinstance(payload, dict) else None
    body = error if isinstance(error, dict) else payload
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message:
        message = "the server sent an error event"
    return StreamErrorEvent(message, body)
