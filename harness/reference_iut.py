"""The ``reference`` IUT: voicewire's reference client, driven through the adapter protocol.

Its server side is voicewire's own simulator (the embedded one the harness starts), so
``voicewire run --iut reference`` checks both directions of the contract against the
executable spec. It is also the model for ``python:`` adapters: subclass it and override one
construction step to test a variant.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import openai
from voicewire.harness.events import (
    AvailabilityEvent,
    ChunkEvent,
    EndEvent,
    ErrorInfo,
    Event,
    LLMErrorEvent,
    ToolCall,
    UsageEvent,
)
from voicewire.harness.iut import (
    CHAT_CONTEXT,
    LLM_CHAT,
    LLM_FALLBACK,
    LLM_SERVER,
    ChatRequest,
    ContextRequest,
    ContextResult,
    FallbackRequest,
    LLMTarget,
    ServerTarget,
    ToolSpec,
)
from voicewire.reference.errors import APIConnectOptions, APIError, APIStatusError
from voicewire.reference.llm.chat_chunk import ChatChunk
from voicewire.reference.llm.chat_context import (
    ChatContext,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
)
from voicewire.reference.llm.fallback import AvailabilityChangedEvent, FallbackAdapter
from voicewire.reference.llm.inference import LLM
from voicewire.reference.llm.inference import LLMErrorEvent as ReferenceErrorEvent
from voicewire.reference.llm.tools import (
    NamedToolChoice,
    RawFunctionTool,
    Tool,
    to_strict_json_schema,
)

__all__ = ["ReferenceIUT", "error_info"]

_ITEM_TYPES: dict[str, Any] = {
    "message": ChatMessage,
    "function_call": FunctionCall,
    "function_call_output": FunctionCallOutput,
}


def error_info(error: BaseException) -> ErrorInfo:
    """An exception as the event model reports it."""
    if isinstance(error, APIError):
        return ErrorInfo(
            kind=type(error).__name__,
            message=error.message,
            status_code=error.status_code if isinstance(error, APIStatusError) else None,
            retryable=error.retryable,
            body=error.body if isinstance(error, APIStatusError) else None,
        )
    return ErrorInfo(kind=type(error).__name__, message=str(error))


def _unused_tool(**_: Any) -> None:
    """Tools are offered to the model, never run, in these cases."""


class ReferenceIUT:
    """voicewire's reference implementation behind the IUT protocol."""

    name = "reference"
    capabilities = frozenset({LLM_CHAT, LLM_FALLBACK, CHAT_CONTEXT, LLM_SERVER})

    def __init__(self) -> None:
        self._http_client: Any = None

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        if self._http_client is not None:
            await self._http_client.aclose()
            self._http_client = None

    @property
    def http_client(self) -> Any:
        """One connection pool for every LLM this adapter makes: a new client per case would
        spend most of a case building TLS contexts."""
        if self._http_client is None:
            self._http_client = openai.DefaultAsyncHttpxClient()
        return self._http_client

    def server_target(self, embedded: ServerTarget) -> ServerTarget:
        return embedded

    # -- construction steps (override one to build a variant) -------------------------------

    def make_llm(self, target: LLMTarget) -> LLM:
        """One reference ``LLM`` for ``target``."""
        llm = LLM(
            target.model,
            provider=target.provider,
            base_url=target.base_url,
            api_key=target.api_key,
            api_secret=target.api_secret,
            extra_kwargs=target.extra_kwargs,
            label=target.label,
            http_client=self.http_client,
        )
        return llm

    def make_fallback(self, llms: list[LLM], request: FallbackRequest) -> FallbackAdapter:
        """The reference ``FallbackAdapter`` over ``llms`` with the request's options."""
        return FallbackAdapter(
            llms,
            attempt_timeout=request.attempt_timeout,
            max_retry_per_llm=request.max_retry_per_llm,
            retry_interval=request.retry_interval,
            retry_on_chunk_sent=request.retry_on_chunk_sent,
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
        return ChatContext.from_dict(data)

    # -- llm.chat / llm.fallback ------------------------------------------------------------

    async def llm_chat(self, request: ChatRequest) -> list[Event]:
        started = time.monotonic()
        events: list[Event] = []

        def now() -> float:
            return time.monotonic() - started

        def on_error(event: ReferenceErrorEvent) -> None:
            events.append(
                LLMErrorEvent(
                    t=now(),
                    error=error_info(event.error),
                    recoverable=event.recoverable,
                    llm=event.label,
                )
            )

        def on_availability(event: AvailabilityChangedEvent) -> None:
            events.append(
                AvailabilityEvent(t=now(), llm=event.llm.label, available=event.available)
            )

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

        adapter: FallbackAdapter | None = None
        if request.fallback is not None:
            llms = [self.make_llm(target) for target in request.fallback.llms]
            try:
                adapter = self.make_fallback(llms, request.fallback)
            except ValueError as exc:  # FALLBACK-5: refusing the adapter is the observation
                return [EndEvent(t=now(), error=error_info(exc))]
            adapter.on("llm_availability_changed", on_availability)
            start_stream: Callable[[], Any] = lambda: adapter.chat(**options)  # noqa: E731
        else:
            assert request.llm is not None  # the request model guarantees one of the two
            llms = [self.make_llm(request.llm)]
            conn = request.conn_options
            conn_options = APIConnectOptions(
                max_retry=conn.max_retry, retry_interval=conn.retry_interval, timeout=conn.timeout
            )
            start_stream = lambda: llms[0].chat(conn_options=conn_options, **options)  # noqa: E731
        for llm in llms:
            llm.on("error", on_error)

        failure: BaseException | None = None
        try:
            async with start_stream() as stream:
                async for chunk in stream:
                    events.extend(chunk_events(chunk, now()))
        except Exception as exc:  # the stream's error is an observation, not a harness failure
            failure = exc
        end = EndEvent(t=now(), error=None if failure is None else error_info(failure))
        if adapter is not None:
            if request.fallback is not None and request.fallback.settle:
                await adapter.probes_settled()
            await adapter.aclose()
        events.append(end)
        return events

    # -- chat_context -----------------------------------------------------------------------

    async def chat_context(self, request: ContextRequest) -> ContextResult:
        try:
            return self._context_op(request)
        except Exception as exc:  # an operation that raises is an answer (e.g. CTX-TRUNC-6)
            return ContextResult(error=error_info(exc))

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


def dump_context(ctx: ChatContext) -> dict[str, Any]:
    """A context in the wire format of the IUT protocol (timestamps and images kept)."""
    return ctx.to_dict(exclude_timestamp=False, exclude_image=False, exclude_audio=False)


def chunk_events(chunk: ChatChunk, t: float) -> list[Event]:
    """The canonical events of one reference ChatChunk: its delta, then its usage."""
    events: list[Event] = []
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
