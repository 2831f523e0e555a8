"""The reference LiveKit inference LLM client (SPEC §2): ``LLM`` and ``LLMStream``.

``openai.AsyncClient`` only moves bytes (its own retries are off: retries are ours, RETRY-4);
the protocol work happens in the sans-IO :class:`~reference.llm.tool_calls.ToolCallAssembler`
and :class:`~reference.llm.thinking.ThinkingFilter`.

Events, on the ``LLM`` object (``llm.on("error", fn)``):

- ``error``: :class:`LLMErrorEvent` ``{error, recoverable}`` for every failed attempt (RETRY-5);
- ``metrics_collected``: :class:`LLMMetrics` once per stream that completed.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import openai
from voicewire.reference.auth import InferenceCredentials, create_access_token
from voicewire.reference.emitter import EventEmitter
from voicewire.reference.errors import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectionError,
    APIConnectOptions,
    APIError,
    APIStatusError,
    APITimeoutError,
)
from voicewire.reference.llm.chat_chunk import ChatChunk, ChoiceDelta, CompletionUsage
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.stream import ChunkStream
from voicewire.reference.llm.thinking import ThinkingFilter
from voicewire.reference.llm.tool_calls import ToolCallAssembler, ToolCallFragment
from voicewire.reference.llm.tools import ToolContext, to_fnc_ctx, to_openai_tool_choice

__all__ = [
    "LLM",
    "LLMErrorEvent",
    "LLMMetrics",
    "LLMStream",
    "build_request",
    "usage_from_openai",
]

PROVIDER_HEADER = "X-LiveKit-Inference-Provider"

LLMEvent = Literal["error", "metrics_collected"]


@dataclass(frozen=True)
class LLMErrorEvent:
    """One failed attempt. ``recoverable``: another attempt follows (RETRY-5)."""

    error: APIError | Exception
    recoverable: bool
    label: str


@dataclass(frozen=True)
class LLMMetrics:
    """Per-stream measurements; ``ttft`` spans retries and is -1 when nothing visible came."""

    request_id: str
    ttft: float
    duration: float
    completion_tokens: int
    prompt_tokens: int
    prompt_cached_tokens: int
    total_tokens: int
    attempts: int
    label: str


def build_request(
    *,
    model: str,
    chat_ctx: ChatContext,
    tools: Sequence[Any] | ToolContext | None,
    parallel_tool_calls: bool | None,
    tool_choice: Any,
    response_format: Any,
    constructor_kwargs: Mapping[str, Any],
    call_kwargs: Mapping[str, Any],
) -> dict[str, Any]:
    """The JSON body of one chat completion request (LLM-REQ-1..4).

    Per-call options win over constructor options (LLM-REQ-4's SHOULD; upstream lets the
    constructor win). ``tools``, ``tool_choice`` and ``parallel_tool_calls`` are omitted when
    there are no tools: a provider answers 400 to a ``tool_choice`` without tools.
    """
    body: dict[str, Any] = {**constructor_kwargs, **call_kwargs}
    body.update(
        {
            "model": model,
            "messages": chat_ctx.to_provider_format("openai"),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    )
    fnc_ctx = to_fnc_ctx(tools or [], strict=True)
    if fnc_ctx:
        body["tools"] = fnc_ctx
        if tool_choice is not None:
            body["tool_choice"] = to_openai_tool_choice(tool_choice)
        if parallel_tool_calls is not None:
            body["parallel_tool_calls"] = parallel_tool_calls
    else:
        for key in ("tools", "tool_choice", "parallel_tool_calls"):
            body.pop(key, None)
    if response_format is not None:
        body["response_format"] = _response_format(response_format)
    return body


def _response_format(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    schema_of = getattr(value, "model_json_schema", None)
    if callable(schema_of):
        from voicewire.reference.llm.tools import to_strict_json_schema

        return {
            "type": "json_schema",
            "json_schema": {
                "name": value.__name__,
                "schema": to_strict_json_schema(schema_of()),
                "strict": True,
            },
        }
    raise TypeError(
        f"response_format must be a dict or a pydantic model class, got {type(value).__name__}"
    )


class LLM(EventEmitter[LLMEvent]):
    """An inference-gateway LLM.

    Credentials and base URL follow AUTH-5 (arguments, then environment). ``time_scale``
    multiplies the waits between retries, so retry behaviour can be tested quickly.
    ``http_client`` (an async HTTP client the openai SDK accepts, e.g.
    ``openai.DefaultAsyncHttpxClient()``) shares one connection pool between many LLMs; its
    owner closes it.
    """

    stream_class: type[LLMStream]
    """The stream ``chat()`` returns (set below, once LLMStream exists); a subclass may swap
    it for a variant."""

    def __init__(
        self,
        model: str,
        *,
        provider: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        api_secret: str | None = None,
        extra_kwargs: Mapping[str, Any] | None = None,
        time_scale: float = 1.0,
        label: str | None = None,
        http_client: Any = None,
    ) -> None:
        super().__init__()
        if not isinstance(model, str) or not model:
            raise ValueError(f"model must be a non-empty string, got {model!r}")
        if provider is not None and (not isinstance(provider, str) or not provider):
            raise ValueError(f"provider must be a non-empty string or None, got {provider!r}")
        if extra_kwargs is not None and not isinstance(extra_kwargs, Mapping):
            raise TypeError(f"extra_kwargs must be a mapping, got {type(extra_kwargs).__name__}")
        if isinstance(time_scale, bool) or not isinstance(time_scale, (int, float)):
            raise TypeError(f"time_scale must be a number, got {type(time_scale).__name__}")
        if not time_scale >= 0:
            raise ValueError(f"time_scale must be >= 0, got {time_scale!r}")
        self._credentials = InferenceCredentials.resolve(api_key, api_secret, base_url)
        self.model = model
        self.provider = provider
        self.extra_kwargs = dict(extra_kwargs or {})
        self.time_scale = float(time_scale)
        self.label = label or f"inference.LLM({model})"
        # The SDK's api_key is never sent: every request carries its own fresh token.
        # A shared http_client belongs to the caller: aclose() then leaves it open.
        self._owns_http_client = http_client is None
        self._client = openai.AsyncClient(
            api_key="unused",
            base_url=self._credentials.base_url,
            max_retries=0,
            http_client=http_client,
        )

    @property
    def base_url(self) -> str:
        return self._credentials.base_url

    def access_token(self) -> str:
        """A fresh inference token (AUTH-1..3)."""
        return create_access_token(self._credentials.api_key, self._credentials.api_secret)

    def headers(self) -> dict[str, str]:
        """Headers of one attempt: a fresh bearer token and the provider header (LLM-REQ-5)."""
        headers = {"Authorization": f"Bearer {self.access_token()}"}
        if self.provider is not None:
            headers[PROVIDER_HEADER] = self.provider
        return headers

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
        """Start a streamed completion; iterate the returned stream for ChatChunks."""
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
        """The JSON body every attempt of one ``chat()`` sends (LLM-REQ-1..4)."""
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

    async def prewarm(self) -> None:
        """Open a connection early with ``GET {base_url}/models``."""
        await self._client.models.list(extra_headers=self.headers())

    async def aclose(self) -> None:
        """Close the HTTP client (unless it was passed in as ``http_client``)."""
        if self._owns_http_client:
            await self._client.close()

    def _emit_error(self, error: Exception, *, recoverable: bool) -> None:
        self.emit("error", LLMErrorEvent(error=error, recoverable=recoverable, label=self.label))


class LLMStream(ChunkStream):
    """One streamed completion: an async iterator of :class:`ChatChunk` with the retry loop of
    RETRY-1..7. Use it as an async context manager, or call :meth:`aclose`."""

    def __init__(
        self,
        llm: LLM,
        *,
        body: dict[str, Any],
        conn_options: APIConnectOptions,
        chat_ctx: ChatContext,
        tools: Any,
    ) -> None:
        self._llm = llm
        self._body = body
        self._conn_options = conn_options
        self.chat_ctx = chat_ctx
        self.tools = tools
        self._visible_output = False
        self._started = time.perf_counter()
        self._ttft = -1.0
        self._attempts = 0
        self._usage: CompletionUsage | None = None
        self._request_id = ""
        super().__init__()

    @property
    def request_body(self) -> dict[str, Any]:
        """The exact JSON body every attempt sends (RETRY-7)."""
        return self._body

    @property
    def attempts(self) -> int:
        """How many requests this stream has made so far."""
        return self._attempts

    # -- the retry loop (RETRY-4, RETRY-5) -----------------------------------------------------

    async def _produce(self) -> None:
        options = self._conn_options
        for attempt in range(options.max_retry + 1):
            try:
                await self._run_attempt()
                break
            except APIError as error:
                if not error.retryable or options.max_retry == 0:
                    self._llm._emit_error(error, recoverable=False)
                    raise
                if attempt == options.max_retry:
                    self._llm._emit_error(error, recoverable=False)
                    raise APIConnectionError(
                        f"failed to generate LLM completion after {attempt + 1} attempts",
                        retryable=False,
                    ) from error
                self._llm._emit_error(error, recoverable=True)
                await asyncio.sleep(
                    options.interval_for_retry(attempt, time_scale=self._llm.time_scale)
                )
            except Exception as error:
                self._llm._emit_error(error, recoverable=False)
                raise
        self._emit_metrics()

    async def _run_attempt(self) -> None:
        self._attempts += 1
        try:
            await self._stream_once()
        except APIError:
            raise
        except openai.APIStatusError as exc:
            raise APIStatusError(
                exc.message,
                status_code=exc.status_code,
                request_id=exc.request_id,
                body=exc.body,
                retryable=not self._visible_output,
            ) from exc
        except (openai.APITimeoutError, httpx.TimeoutException) as exc:
            raise APITimeoutError(retryable=not self._visible_output) from exc
        except (openai.APIError, httpx.HTTPError, json.JSONDecodeError, ValueError) as exc:
            # Reset connections, malformed SSE, in-band error events, refused connects.
            raise APIConnectionError(
                f"{type(exc).__name__}: {exc}", retryable=not self._visible_output
            ) from exc

    def new_assembler(self) -> ToolCallAssembler:
        """The tool-call assembler of one attempt."""
        return ToolCallAssembler()

    def new_thinking_filter(self) -> ThinkingFilter:
        """The thinking filter of one attempt."""
        return ThinkingFilter()

    async def open_stream(self) -> Any:
        """Send the request of one attempt: a fresh token (AUTH-3), the same body (RETRY-7);
        returns the SDK's async chunk stream."""
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
                    usages.append(usage_from_openai(chunk.usage))
        finally:
            await stream.close()
        # End of stream: nothing pending is ever dropped (LLM-TC-3, LLM-TXT-2).
        self._emit(chunk_id, thinking.finish(), assembler.finish())
        for usage in usages:  # after all content and calls (LLM-USG-1)
            self._usage = usage
            self._push(ChatChunk(id=chunk_id, usage=usage))

    def _emit(self, chunk_id: str, text: str, calls: list[Any]) -> None:
        if not text and not calls:
            return
        chunk = ChatChunk(id=chunk_id, delta=ChoiceDelta(content=text or None, tool_calls=calls))
        if not self._visible_output:
            self._visible_output = True  # from here on nothing is retried (RETRY-2, RETRY-6)
            self._ttft = time.perf_counter() - self._started
        self._push(chunk)

    def _emit_metrics(self) -> None:
        usage = self._usage or CompletionUsage(completion_tokens=0, prompt_tokens=0, total_tokens=0)
        self._llm.emit(
            "metrics_collected",
            LLMMetrics(
                request_id=self._request_id,
                ttft=self._ttft,
                duration=time.perf_counter() - self._started,
                completion_tokens=usage.completion_tokens,
                prompt_tokens=usage.prompt_tokens,
                prompt_cached_tokens=usage.prompt_cached_tokens,
                total_tokens=usage.total_tokens,
                attempts=self._attempts,
                label=self._llm.label,
            ),
        )


LLM.stream_class = LLMStream


def usage_from_openai(raw: Any) -> CompletionUsage:
    """A server usage object (the SDK's ``CompletionUsage``) as ChatChunk usage: null counts
    become 0, cached prompt tokens come from ``prompt_tokens_details`` (LLM-USG-1)."""
    prompt = raw.prompt_tokens or 0
    completion = raw.completion_tokens or 0
    details = getattr(raw, "prompt_tokens_details", None)
    cached = (getattr(details, "cached_tokens", None) or 0) if details is not None else 0
    return CompletionUsage(
        completion_tokens=completion,
        prompt_tokens=prompt,
        prompt_cached_tokens=cached,
        total_tokens=raw.total_tokens or 0,
    )
