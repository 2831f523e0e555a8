"""The reference implementation's LLM part: voicewire's reference client behind the operations
``llm.chat``, ``llm.fallback`` and ``chat_context``.

:class:`~voicewire.harness.reference_iut.ReferenceIUT` holds one part per protocol. This part
is also the model for testing a variant of the reference: subclass :class:`LLMReference`,
swap one of its classes (``llm_class``, ``fallback_class``, ``context_class``) or override one
construction step (``make_llm``, ``make_fallback``, ``make_tool``, ``make_context``), and hand
it to ``ReferenceIUT(parts={"llm": MyPart()}, name="my-variant")``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import openai
from voicewire.harness.events import ErrorInfo
from voicewire.harness.llm import (
    AttemptErrorEvent,
    AvailabilityEvent,
    ChatAnswer,
    ChatEndEvent,
    ChatRequest,
    ChunkEvent,
    ContextRequest,
    ContextResult,
    FallbackChatRequest,
    FallbackSpec,
    LLMTarget,
    ToolCall,
    ToolSpec,
    UsageEvent,
)
from voicewire.reference.errors import APIConnectOptions
from voicewire.reference.llm.chat_chunk import ChatChunk
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.chat_items import ChatMessage, FunctionCall, FunctionCallOutput
from voicewire.reference.llm.fallback import AvailabilityChangedEvent, FallbackAdapter
from voicewire.reference.llm.inference import LLM, LLMErrorEvent
from voicewire.reference.llm.tools import (
    NamedToolChoice,
    RawFunctionTool,
    Tool,
    to_strict_json_schema,
)

__all__ = ["LLMReference", "chunk_events", "consume_calls", "dump_context"]

_ITEM_TYPES: dict[str, Any] = {
    "message": ChatMessage,
    "function_call": FunctionCall,
    "function_call_output": FunctionCallOutput,
}


def _unused_tool(**_: Any) -> None:
    """Tools are offered to the model, never run, in these cases."""


class LLMReference:
    """The reference client performing the LLM protocol's operations."""

    llm_class: type[LLM] = LLM
    """The LLM client class :meth:`make_llm` builds."""
    fallback_class: type[FallbackAdapter] = FallbackAdapter
    """The fallback adapter class :meth:`make_fallback` builds."""
    context_class: type[ChatContext] = ChatContext
    """The chat context class :meth:`make_context` parses into."""

    def __init__(self) -> None:
        self._http_client: Any = None

    async def aclose(self) -> None:
        if self._http_client is not None:
            await self._http_client.aclose()
            self._http_client = None

    @property
    def http_client(self) -> Any:
        """One connection pool for every LLM this part makes: a new client per case would
        spend most of a case building TLS contexts."""
        if self._http_client is None:
            self._http_client = openai.DefaultAsyncHttpxClient()
        return self._http_client

    # -- construction steps (override one to build a variant) -------------------------------

    def make_llm(self, target: LLMTarget) -> LLM:
        """One reference ``LLM`` for ``target``."""
        return self.llm_class(
            target.model,
            provider=target.provider,
            base_url=target.base_url,
            api_key=target.api_key,
            api_secret=target.api_secret,
            extra_kwargs=target.extra_kwargs,
            label=target.label,
            http_client=self.http_client,
        )

    def make_fallback(self, llms: list[LLM], spec: FallbackSpec) -> FallbackAdapter:
        """The reference ``FallbackAdapter`` over ``llms`` with the spec's options."""
        return self.fallback_class(
            llms,
            attempt_timeout=spec.attempt_timeout,
            max_retry_per_llm=spec.max_retry_per_llm,
            retry_interval=spec.retry_interval,
            retry_on_chunk_sent=spec.retry_on_chunk_sent,
        )

    def make_tool(self, spec: ToolSpec) -> Tool:
        """A reference tool offering ``spec`` to the model."""
        schema: dict[str, Any] = {
            "name": spec.name,
            "description": spec.description,
            "parameters": spec.parameters,
        }
        if not spec.raw:
            schema = {**schema, "parameters": to_strict_json_schema(spec.parameters)}
            schema["strict"] = True
        return RawFunctionTool(_unused_tool, schema)

    def make_context(self, data: dict[str, Any]) -> ChatContext:
        """Parse a context from the wire format."""
        return self.context_class.from_dict(data)

    # -- llm.chat / llm.fallback ------------------------------------------------------------

    async def llm_chat(self, request: ChatRequest) -> ChatAnswer:
        """Operation ``llm.chat``."""
        llm = self.make_llm(request.llm)
        conn = request.conn_options
        conn_options = APIConnectOptions(
            max_retry=conn.max_retry, retry_interval=conn.retry_interval, timeout=conn.timeout
        )
        options = self._call_options(request)
        return await self._consume(
            [llm],
            lambda: llm.chat(conn_options=conn_options, **options),
            adapter=None,
            again_after=request.again_after,
        )

    async def llm_fallback(self, request: FallbackChatRequest) -> ChatAnswer:
        """Operation ``llm.fallback``."""
        started = time.monotonic()
        llms = [self.make_llm(target) for target in request.fallback.llms]
        try:
            adapter = self.make_fallback(llms, request.fallback)
        except ValueError as exc:  # FALLBACK-5: refusing the adapter is the observation
            return ChatAnswer(
                events=[ChatEndEvent(t=time.monotonic() - started, error=ErrorInfo.of(exc))]
            )
        options = self._call_options(request)
        return await self._consume(
            llms,
            lambda: adapter.chat(**options),
            adapter=adapter,
            settle=request.fallback.settle,
            again_after=request.again_after,
        )

    def _call_options(self, request: ChatRequest | FallbackChatRequest) -> dict[str, Any]:
        options: dict[str, Any] = {
            "chat_ctx": self.make_context(request.chat_ctx),
            "tools": [self.make_tool(spec) for spec in request.tools] or None,
        }
        if request.tool_choice is not None:
            options["tool_choice"] = (
                NamedToolChoice(request.tool_choice["name"])
                if isinstance(request.tool_choice, dict)
                else request.tool_choice
            )
        if request.parallel_tool_calls is not None:
            options["parallel_tool_calls"] = request.parallel_tool_calls
        if request.extra_kwargs:
            options["extra_kwargs"] = request.extra_kwargs
        return options

    async def _consume(
        self,
        llms: list[LLM],
        start_stream: Callable[[], Any],
        *,
        adapter: FallbackAdapter | None,
        settle: bool = False,
        again_after: float | None = None,
    ) -> ChatAnswer:
        started = time.monotonic()
        events: list[Any] = []

        def now() -> float:
            return time.monotonic() - started

        def on_error(event: LLMErrorEvent) -> None:
            events.append(
                AttemptErrorEvent(
                    t=now(),
                    error=ErrorInfo.of(event.error),
                    recoverable=event.recoverable,
                    llm=event.label,
                )
            )

        def on_availability(event: AvailabilityChangedEvent) -> None:
            events.append(
                AvailabilityEvent(t=now(), llm=event.llm.label, available=event.available)
            )

        for llm in llms:
            llm.on("error", on_error)
        if adapter is not None:
            adapter.on("llm_availability_changed", on_availability)
        end = await consume_calls(
            start_stream, events, now=now, again_after=again_after, error_info=ErrorInfo.of
        )
        if adapter is not None:
            if settle:
                await adapter.probes_settled()
            await adapter.aclose()
        # Last, after the adapter's probes are over: their events belong before it.
        events.append(end)
        return ChatAnswer(events=events)

    # -- chat_context -----------------------------------------------------------------------

    async def chat_context(self, request: ContextRequest) -> ContextResult:
        """Operation ``chat_context``."""
        try:
            return self._context_op(request)
        except Exception as exc:  # an operation that raises is an answer (e.g. CTX-TRUNC-6)
            return ContextResult(error=ErrorInfo.of(exc))

    def _context_op(self, request: ContextRequest) -> ContextResult:
        ctx = self.make_context(request.ctx)
        args = request.args
        op = request.op
        if op == "truncate":
            ctx.truncate(max_items=args["max_items"])
        elif op == "merge":
            ctx.merge(
                self.make_context(args["other"]),
                exclude_function_call=args.get("exclude_function_call", False),
                exclude_instructions=args.get("exclude_instructions", False),
            )
        elif op == "copy":
            copied = ctx.copy(
                exclude_function_call=args.get("exclude_function_call", False),
                exclude_instructions=args.get("exclude_instructions", False),
                exclude_empty_message=args.get("exclude_empty_message", False),
                tools=args.get("tools"),
            )
            return ContextResult(ctx=dump_context(copied), source=dump_context(ctx))
        elif op == "insert":
            item = args["item"]
            ctx.insert(_ITEM_TYPES[item["type"]].model_validate(item))
        elif op == "add_message":
            ctx.add_message(
                role=args["role"],
                content=args["content"],
                id=args.get("id"),
                created_at=args.get("created_at"),
            )
        elif op == "to_dict":
            return ContextResult(value=ctx.to_dict(**args))
        elif op == "to_provider_format":
            return ContextResult(value=ctx.to_provider_format(args.get("format", "openai")))
        elif op == "is_equivalent":
            return ContextResult(value=ctx.is_equivalent(self.make_context(args["other"])))
        return ContextResult(ctx=dump_context(ctx))


def dump_context(ctx: Any) -> dict[str, Any]:
    """A context in the wire format of the IUT protocol (timestamps and images kept): the
    reference's or upstream's, which share ``to_dict``."""
    return ctx.to_dict(exclude_timestamp=False, exclude_image=False, exclude_audio=False)


async def consume_calls(
    start_stream: Callable[[], Any],
    events: list[Any],
    *,
    now: Callable[[], float],
    again_after: float | None,
    error_info: Callable[[BaseException], ErrorInfo],
) -> ChatEndEvent:
    """Consume one ``chat()`` stream (two, ``again_after`` seconds apart, when it is set),
    appending each chunk's events to ``events`` and each call's ``llm.end`` but the last, which
    is returned: the caller appends it once its adapter's background work is over. A stream's
    error is what ``error_info`` makes of it, never raised (the reference's and upstream's
    exceptions are read by different functions)."""
    end: ChatEndEvent | None = None
    for _ in range(1 if again_after is None else 2):
        if end is not None:
            events.append(end)
            await asyncio.sleep(again_after or 0.0)
        failure: BaseException | None = None
        try:
            async with start_stream() as stream:
                async for chunk in stream:
                    events.extend(chunk_events(chunk, now()))
        except Exception as exc:  # the stream's error is an observation, not a failure
            failure = exc
        end = ChatEndEvent(t=now(), error=None if failure is None else error_info(failure))
    assert end is not None
    return end


def chunk_events(chunk: ChatChunk | Any, t: float) -> list[Any]:
    """The canonical events of one ChatChunk, the reference's or upstream's (they share their
    field names): its delta, then its usage."""
    events: list[Any] = []
    if chunk.delta is not None:
        events.append(
            ChunkEvent(
                t=t,
                id=chunk.id,
                content=chunk.delta.content,
                tool_calls=tuple(
                    ToolCall(name=call.name, arguments=call.arguments, call_id=call.call_id)
                    for call in chunk.delta.tool_calls
                ),
            )
        )
    if chunk.usage is not None:
        usage = chunk.usage
        events.append(
            UsageEvent(
                t=t,
                id=chunk.id,
                completion_tokens=usage.completion_tokens,
                prompt_tokens=usage.prompt_tokens,
                prompt_cached_tokens=usage.prompt_cached_tokens,
                total_tokens=usage.total_tokens,
            )
        )
    return events
