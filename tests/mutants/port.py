"""What the mutants share: the reference client as a port author would restructure it.

A mutant is the reference with one bug. The seams here are where ports usually differ:

- :class:`MutantIUT` lets the reference adapter build each LLM and then makes it an
  instance of :attr:`MutantIUT.llm_class`; it parses contexts with
  :attr:`MutantIUT.context_class` (everything else is the reference adapter);
- :class:`PortedLLM` builds the request body with :meth:`PortedLLM.request_body` and streams
  with :attr:`PortedLLM.stream_class`;
- :class:`PortedLLMStream` runs the reference stream loop with the tool-call assembler and the
  thinking filter from :meth:`PortedLLMStream.new_assembler` and
  :meth:`PortedLLMStream.new_thinking_filter`.

Without overrides each of these behaves exactly like the reference (so a mutant's diff is its
bug); a bug that lives inside a loop overrides the whole method with the port's own copy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from harness.iut import LLMTarget
from harness.reference_iut import ReferenceIUT
from reference.errors import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions
from reference.llm.chat_chunk import ChatChunk, CompletionUsage
from reference.llm.chat_context import ChatContext
from reference.llm.inference import LLM, LLMStream, build_request
from reference.llm.thinking import ThinkingFilter
from reference.llm.tool_calls import ToolCallAssembler, ToolCallFragment
from reference.llm.tools import ToolContext

__all__ = ["MutantIUT", "PortedLLM", "PortedLLMStream", "usage_of"]


def usage_of(raw: Any) -> CompletionUsage:
    """A server usage object (the SDK's ``CompletionUsage``) as a ChatChunk usage."""
    details = getattr(raw, "prompt_tokens_details", None)
    cached = (getattr(details, "cached_tokens", None) or 0) if details is not None else 0
    return CompletionUsage(
        completion_tokens=raw.completion_tokens or 0,
        prompt_tokens=raw.prompt_tokens or 0,
        prompt_cached_tokens=cached,
        total_tokens=raw.total_tokens or 0,
    )


class PortedLLM(LLM):
    """The reference ``LLM`` with the request body and the stream class as seams."""

    stream_class: type[LLMStream] = LLMStream

    def request_body(
        self,
        *,
        chat_ctx: ChatContext,
        tools: Sequence[Any] | ToolContext | None,
        parallel_tool_calls: bool | None,
        tool_choice: Any,
        response_format: Any,
        extra_kwargs: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """The JSON body of one chat completion request (the reference's by default)."""
        return build_request(
            model=self.model,
            chat_ctx=chat_ctx,
            tools=tools,
            parallel_tool_calls=parallel_tool_calls,
            tool_choice=tool_choice,
            response_format=response_format,
            constructor_kwargs=self.extra_kwargs,
            call_kwargs=dict(extra_kwargs or {}),
        )

    def chat(
        self,
        *,
        chat_ctx: ChatContext,
        tools: Sequence[Any] | ToolContext | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: bool | None = None,
        tool_choice: Any = None,
        response_format: Any = None,
        extra_kwargs: Mapping[str, Any] | None = None,
    ) -> LLMStream:
        """Start a streamed completion of :attr:`stream_class` with :meth:`request_body`."""
        if not isinstance(chat_ctx, ChatContext):
            raise TypeError(f"chat_ctx must be a ChatContext, got {type(chat_ctx).__name__}")
        if not isinstance(conn_options, APIConnectOptions):
            raise TypeError(
                f"conn_options must be APIConnectOptions, got {type(conn_options).__name__}"
            )
        body = self.request_body(
            chat_ctx=chat_ctx,
            tools=tools,
            parallel_tool_calls=parallel_tool_calls,
            tool_choice=tool_choice,
            response_format=response_format,
            extra_kwargs=extra_kwargs,
        )
        return self.stream_class(
            self, body=body, conn_options=conn_options, chat_ctx=chat_ctx, tools=tools
        )


class PortedLLMStream(LLMStream):
    """The reference stream loop with its two stateful helpers as seams."""

    def new_assembler(self) -> ToolCallAssembler:
        """The tool-call assembler of one attempt."""
        return ToolCallAssembler()

    def new_thinking_filter(self) -> ThinkingFilter:
        """The thinking filter of one attempt."""
        return ThinkingFilter()

    async def open_stream(self) -> Any:
        """Send the request of one attempt; the SDK's async chunk stream."""
        body = dict(self._body)
        known = {k: body.pop(k) for k in ("model", "messages", "stream")}
        return await self._llm._client.chat.completions.create(
            **known,
            extra_body=body,
            extra_headers=self._llm.headers(),
            timeout=httpx.Timeout(self._conn_options.timeout),
        )

    async def _stream_once(self) -> None:
        stream = await self.open_stream()
        assembler = self.new_assembler()
        thinking = self.new_thinking_filter()
        usages: list[CompletionUsage] = []
        chunk_id = ""
        try:
            async for chunk in stream:
                chunk_id = chunk.id
                self._request_id = chunk.id
                for choice in chunk.choices:
                    delta = choice.delta
                    if delta is None:
                        continue
                    text = thinking.feed(delta.content) if delta.content else ""
                    if delta.tool_calls:
                        assembler.feed(ToolCallFragment.from_openai(t) for t in delta.tool_calls)
                    calls: list[Any] = []
                    if choice.finish_reason is not None:
                        text += thinking.finish()
                        calls = assembler.finish()
                    self._emit(chunk_id, text, calls)
                if chunk.usage is not None:
                    usages.append(usage_of(chunk.usage))
        finally:
            await stream.close()
        self._emit(chunk_id, thinking.finish(), assembler.finish())
        for usage in usages:
            self._usage = usage
            self._push(ChatChunk(id=chunk_id, usage=usage))


class MutantIUT(ReferenceIUT):
    """The reference adapter building its LLMs and contexts from swappable classes."""

    name = "mutant"
    llm_class: type[LLM] = LLM
    context_class: type[ChatContext] = ChatContext

    def make_llm(self, target: LLMTarget) -> LLM:
        llm = super().make_llm(target)
        # The reference builds the LLM (credentials, shared connection pool, ...); a mutant's
        # bug lives in methods only, so the built object just takes the mutant's class.
        if not issubclass(self.llm_class, type(llm)):
            raise TypeError(
                f"llm_class must subclass {type(llm).__name__}, got {self.llm_class.__name__}"
            )
        llm.__class__ = self.llm_class
        return llm

    def make_context(self, data: dict[str, Any]) -> ChatContext:
        return self.context_class.from_dict(data)
