"""Upstream livekit-agents 1.8.9's LLM part: ``voicewire run --iut livekit``.

:class:`LivekitLLM` performs the LLM protocol's operations (``llm.chat``, ``llm.fallback``,
``chat_context``) with upstream's own objects — ``livekit.agents.inference.LLM``,
``llm.FallbackAdapter``, ``llm.ChatContext``, raw function tools, ``APIConnectOptions`` — and
translates what they emit into voicewire's canonical events exactly as
:class:`~voicewire.harness.llm_reference.LLMReference` does for the reference: every
ChatChunk, every ``error`` and ``llm_availability_changed`` event, and what the stream raised.

It reports what upstream does and never repairs it: a tool call upstream drops stays dropped,
an option upstream overrides stays overridden. The only things the adapter adds are the ones a
test rig needs: upstream's HTTP client is built without the proxy environment variables (a
proxy would take the loopback traffic meant for the embedded simulator), and background
recovery probes still running when an operation ends are cancelled, so they outlive neither
the operation nor the harness loop.

livekit is optional (the ``livekit`` extra): this module imports without it, and building the
part (:class:`LivekitLLM`) raises
:class:`~voicewire.harness.capabilities.ImplementationUnavailable` when it is missing or is not
the pinned 1.8.9.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from voicewire.harness.capabilities import ImplementationUnavailable
from voicewire.harness.events import ErrorInfo
from voicewire.harness.llm import (
    AttemptErrorEvent,
    AvailabilityEvent,
    ChatAnswer,
    ChatEndEvent,
    ChatRequest,
    ContextRequest,
    ContextResult,
    FallbackChatRequest,
    FallbackSpec,
    LLMTarget,
    ToolSpec,
)
from voicewire.harness.llm_reference import consume_calls, dump_context

if TYPE_CHECKING:
    from livekit.agents import inference
    from livekit.agents import llm as lk_llm

__all__ = ["UPSTREAM_VERSION", "LivekitLLM", "require_upstream", "upstream_error_info"]

UPSTREAM_VERSION = "1.8.9"
"""The livekit-agents release this part drives (the ``livekit`` extra pins it)."""

_INSTALL = "pip install 'voicewire[livekit]' (livekit-agents==1.8.9)"

_PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)

_SPEC_ERRORS = ("APIStatusError", "APITimeoutError", "APIConnectionError", "APIError")
"""Upstream's error classes whose names are the SPEC's, most specific first."""


@dataclass(frozen=True)
class _Upstream:
    """The upstream objects this part drives, imported once the part is built."""

    llm_class: Any
    fallback_class: Any
    context_class: Any
    item_adapter: Any
    function_tool: Callable[..., Any]
    connect_options: Any
    not_given: Any
    strict_schema: Callable[[dict[str, Any]], dict[str, Any]]


def require_upstream() -> None:
    """Check that the pinned livekit-agents is importable, or raise
    :class:`ImplementationUnavailable` saying what to install: every upstream part (LLM,
    STT, TTS) calls it before importing what it drives."""
    try:
        from livekit import agents
    except ImportError as exc:
        raise ImplementationUnavailable(
            f"upstream livekit-agents is not installed: {_INSTALL}"
        ) from exc
    installed = getattr(agents, "__version__", "unknown")
    if installed != UPSTREAM_VERSION:
        raise ImplementationUnavailable(
            f"upstream livekit-agents {installed} is installed, but --iut livekit drives "
            f"livekit-agents=={UPSTREAM_VERSION}: {_INSTALL}"
        )


def _import_upstream() -> _Upstream:
    """Import livekit-agents, or say what to install."""
    require_upstream()
    from livekit.agents import APIConnectOptions, inference
    from livekit.agents import llm as lk_llm
    from livekit.agents.llm import _strict
    from livekit.agents.types import NOT_GIVEN
    from pydantic import TypeAdapter

    def strict_schema(parameters: dict[str, Any]) -> dict[str, Any]:
        # What upstream's build_strict_openai_schema does to a FunctionTool's schema; that
        # helper needs a Python signature, so its strict transform is applied to the JSON
        # schema directly (it mutates, hence the copy).
        schema = copy.deepcopy(parameters)
        return _strict._ensure_strict_json_schema(
            schema, path=(), root=schema, null_sentinel_for_defaults=True
        )

    return _Upstream(
        llm_class=inference.LLM,
        fallback_class=lk_llm.FallbackAdapter,
        context_class=lk_llm.ChatContext,
        item_adapter=TypeAdapter(lk_llm.ChatItem),
        function_tool=lk_llm.function_tool,
        connect_options=APIConnectOptions,
        not_given=NOT_GIVEN,
        strict_schema=strict_schema,
    )


@contextlib.contextmanager
def _without_proxy_environment() -> Iterator[None]:
    """Hide the proxy variables while upstream builds its HTTP client.

    Upstream's httpx client trusts the environment and reads the proxies once, when it is
    built: a proxy would then carry 127.0.0.1 traffic away from the simulator. Nothing awaits
    inside this block, so no other coroutine sees the environment without them (and the
    harness's own thread is waiting for the operation meanwhile).
    """
    saved = {name: os.environ.pop(name) for name in _PROXY_VARIABLES if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def _unused_tool(**_: Any) -> None:
    """Tools are offered to the model, never run, in these cases."""


class LivekitLLM:
    """Upstream livekit-agents 1.8.9 performing the LLM protocol's operations.

    Building it imports livekit (the factory ``--iut livekit`` calls); every operation builds
    its own upstream objects and closes them before answering.
    """

    def __init__(self) -> None:
        self._upstream = _import_upstream()

    # -- construction steps ------------------------------------------------------------------

    def make_llm(self, target: LLMTarget) -> inference.LLM:
        """One upstream ``inference.LLM`` for ``target`` (its own HTTP client, as upstream
        builds one per LLM)."""
        with _without_proxy_environment():
            return self._upstream.llm_class(
                target.model,
                provider=target.provider,
                base_url=target.base_url,
                api_key=target.api_key,
                api_secret=target.api_secret,
                extra_kwargs=dict(target.extra_kwargs),
            )

    def make_tool(self, spec: ToolSpec) -> lk_llm.RawFunctionTool:
        """An upstream raw function tool offering ``spec`` to the model: the raw schema as
        given, or the strict schema upstream derives for a function tool (``strict: true``)."""
        schema: dict[str, Any] = {
            "name": spec.name,
            "description": spec.description,
            "parameters": spec.parameters,
        }
        if not spec.raw:
            schema = {**schema, "parameters": self._upstream.strict_schema(spec.parameters)}
            schema["strict"] = True
        return self._upstream.function_tool(_unused_tool, raw_schema=schema)

    def make_context(self, data: dict[str, Any]) -> lk_llm.ChatContext:
        """Parse a context from the wire format with upstream's ``from_dict``."""
        return self._upstream.context_class.from_dict(data)

    # -- llm.chat / llm.fallback -------------------------------------------------------------

    async def llm_chat(self, request: ChatRequest) -> ChatAnswer:
        """Operation ``llm.chat``."""
        started = time.monotonic()
        try:
            llm = self.make_llm(request.llm)
        except Exception as exc:  # upstream refusing the construction is the observation
            return _refused(started, exc)
        conn = request.conn_options
        try:
            conn_options = self._upstream.connect_options(
                max_retry=conn.max_retry, retry_interval=conn.retry_interval, timeout=conn.timeout
            )
            options = self._call_options(request)
            return await self._consume(
                started,
                [(llm, request.llm.label or llm.label)],
                lambda: llm.chat(conn_options=conn_options, **options),
                again_after=request.again_after,
            )
        finally:
            await llm.aclose()

    async def llm_fallback(self, request: FallbackChatRequest) -> ChatAnswer:
        """Operation ``llm.fallback``."""
        started = time.monotonic()
        spec = request.fallback
        llms: list[tuple[Any, str]] = []
        try:
            try:
                for target in spec.llms:
                    llm = self.make_llm(target)
                    llms.append((llm, target.label or llm.label))
                adapter = self._upstream.fallback_class(
                    [llm for llm, _ in llms],
                    attempt_timeout=spec.attempt_timeout,
                    max_retry_per_llm=spec.max_retry_per_llm,
                    retry_interval=spec.retry_interval,
                    retry_on_chunk_sent=spec.retry_on_chunk_sent,
                )
            except Exception as exc:  # FALLBACK-5: refusing the adapter is the observation
                return _refused(started, exc)
            options = self._call_options(request)
            return await self._consume(
                started,
                llms,
                lambda: adapter.chat(**options),
                adapter=adapter,
                settle=_settle_time(spec) if spec.settle else None,
                again_after=request.again_after,
            )
        finally:
            for llm, _ in llms:
                await llm.aclose()

    def _call_options(self, request: ChatRequest | FallbackChatRequest) -> dict[str, Any]:
        options: dict[str, Any] = {
            "chat_ctx": self.make_context(request.chat_ctx),
            "tools": [self.make_tool(spec) for spec in request.tools] or None,
        }
        if request.tool_choice is not None:
            # upstream's NamedToolChoice is the openai shape itself
            options["tool_choice"] = (
                {"type": "function", "function": {"name": request.tool_choice["name"]}}
                if isinstance(request.tool_choice, dict)
                else request.tool_choice
            )
        if request.parallel_tool_calls is not None:
            options["parallel_tool_calls"] = request.parallel_tool_calls
        if request.extra_kwargs:
            options["extra_kwargs"] = dict(request.extra_kwargs)
        return options

    async def _consume(
        self,
        started: float,
        llms: list[tuple[Any, str]],
        start_stream: Callable[[], Any],
        *,
        adapter: Any = None,
        settle: float | None = None,
        again_after: float | None = None,
    ) -> ChatAnswer:
        events: list[Any] = []
        labels = {id(llm): label for llm, label in llms}

        def now() -> float:
            return time.monotonic() - started

        def error_listener(label: str) -> Callable[[Any], None]:
            # upstream labels every inference.LLM alike (its class path): the target's label
            # tells a fallback's LLMs apart
            def on_error(event: Any) -> None:
                events.append(
                    AttemptErrorEvent(
                        t=now(),
                        error=upstream_error_info(event.error),
                        recoverable=event.recoverable,
                        llm=label,
                    )
                )

            return on_error

        def on_availability(event: Any) -> None:
            events.append(
                AvailabilityEvent(
                    t=now(),
                    llm=labels.get(id(event.llm), event.llm.label),
                    available=event.available,
                )
            )

        listeners: list[tuple[Any, str, Callable[[Any], None]]] = [
            (llm, "error", error_listener(label)) for llm, label in llms
        ]
        if adapter is not None:
            # the adapter is an upstream LLM too: its own stream reports its final error
            listeners.append((adapter, "error", error_listener(adapter.label)))
            listeners.append((adapter, "llm_availability_changed", on_availability))
        for emitter, name, listener in listeners:
            emitter.on(name, listener)
        end = await consume_calls(
            start_stream,
            events,
            now=now,
            again_after=again_after,
            error_info=upstream_error_info,
        )
        if adapter is not None:
            await _stop_probes(adapter, settle)
            await adapter.aclose()
        for emitter, name, listener in listeners:
            emitter.off(name, listener)
        # Last, after the adapter's probes are over: their events belong before it.
        events.append(end)
        return ChatAnswer(events=events)

    # -- chat_context ------------------------------------------------------------------------

    async def chat_context(self, request: ContextRequest) -> ContextResult:
        """Operation ``chat_context``."""
        try:
            return self._context_op(request)
        except Exception as exc:  # an operation that raises is an answer (e.g. CTX-TRUNC-6)
            return ContextResult(error=upstream_error_info(exc))

    def _context_op(self, request: ContextRequest) -> ContextResult:
        not_given = self._upstream.not_given
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
            tools = args.get("tools")
            copied = ctx.copy(
                exclude_function_call=args.get("exclude_function_call", False),
                exclude_instructions=args.get("exclude_instructions", False),
                exclude_empty_message=args.get("exclude_empty_message", False),
                # upstream filters on any given value, None included: "no filter" is NOT_GIVEN
                tools=not_given if tools is None else tools,
            )
            return ContextResult(ctx=dump_context(copied), source=dump_context(ctx))
        elif op == "insert":
            ctx.insert(self._upstream.item_adapter.validate_python(args["item"]))
        elif op == "add_message":
            ctx.add_message(
                role=args["role"],
                content=args["content"],
                id=args["id"] if args.get("id") is not None else not_given,
                created_at=(
                    args["created_at"] if args.get("created_at") is not None else not_given
                ),
            )
        elif op == "to_dict":
            return ContextResult(value=ctx.to_dict(**args))
        elif op == "to_provider_format":
            # 1.8.9 answers (messages, format data); the operation's value is the messages
            messages, _ = ctx.to_provider_format(args.get("format", "openai"))
            return ContextResult(value=messages)
        elif op == "is_equivalent":
            return ContextResult(value=ctx.is_equivalent(self.make_context(args["other"])))
        return ContextResult(ctx=dump_context(ctx))


def _refused(started: float, error: BaseException) -> ChatAnswer:
    """The answer when upstream refuses to build what the request describes."""
    return ChatAnswer(
        events=[ChatEndEvent(t=time.monotonic() - started, error=upstream_error_info(error))]
    )


def _settle_time(spec: FallbackSpec) -> float:
    """How long background probes may take: ``attempt_timeout`` per LLM (FallbackSpec's
    contract), plus a little for the loop to run their completion."""
    return spec.attempt_timeout * max(1, len(spec.llms)) + 0.5


async def _stop_probes(adapter: Any, settle: float | None) -> None:
    """Wait up to ``settle`` seconds for the adapter's recovery probes, then cancel the rest.

    Upstream keeps them as ``_status[i].recovering_task`` and never stops them (its
    ``aclose`` only detaches metrics listeners); left running they would outlive the
    operation, the LLMs it closes and, at the end of a run, the loop.
    """
    tasks = [
        status.recovering_task
        for status in adapter._status
        if status.recovering_task is not None and not status.recovering_task.done()
    ]
    if not tasks:
        return
    if settle is not None:
        await asyncio.wait(tasks, timeout=settle)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def upstream_error_info(error: BaseException) -> ErrorInfo:
    """An exception raised or reported by upstream, in the event model.

    Upstream's ``APIStatusError`` / ``APITimeoutError`` / ``APIConnectionError`` carry the
    SPEC's names; a subclass of one is reported under the name of the nearest. ``message`` is
    upstream's own ``message`` (not ``str()``, which appends the cause chain). Anything else
    is reported by its own class name, as for the reference.
    """
    try:
        from livekit.agents import APIError, APIStatusError
    except ImportError:  # without upstream nothing can be one of its errors
        return ErrorInfo.of(error)
    if not isinstance(error, APIError):
        return ErrorInfo.of(error)
    kind = next(
        (cls.__name__ for cls in type(error).__mro__ if cls.__name__ in _SPEC_ERRORS),
        type(error).__name__,
    )
    status = isinstance(error, APIStatusError)
    # Some upstream errors carry the server's message as it came: None when it had none.
    message = error.message
    return ErrorInfo(
        kind=kind,
        message=message if isinstance(message, str) else "" if message is None else repr(message),
        status_code=error.status_code if status else None,
        retryable=error.retryable,
        body=error.body if status else None,
    )
