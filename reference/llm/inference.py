"""The reference LiveKit inference LLM client (SPEC §2): ``LLM`` and ``LLMStream``.

``openai.AsyncClient`` only moves bytes: it sends the request and hands back the raw body (its
own retries are off: retries are ours, RETRY-4). The protocol work happens in the sans-IO wire
module :mod:`voicewire.reference.llm.wire`: the SSE decoder, the
:class:`~voicewire.reference.llm.wire.CompletionReader` (SSE events in, ChatChunks out) and the
:class:`~voicewire.reference.llm.wire.RetryPolicy` (which errors retry, and when).

Events, on the ``LLM`` object (``llm.on("error", fn)``):

- ``error``: :class:`LLMErrorEvent` ``{error, recoverable}`` for every failed attempt (RETRY-5);
- ``metrics_collected``: :class:`LLMMetrics` once per stream that completed.
"""

from __future__ import annotations

import asyncio
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
    APIConnectOptions,
    APIError,
)
from voicewire.reference.llm.chat_chunk import ChatChunk, CompletionUsage
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.stream import ChunkStream
from voicewire.reference.llm.tools import ToolContext, to_fnc_ctx, to_openai_tool_choice
from voicewire.reference.llm.wire import CompletionReader, RetryPolicy, SSEDecoder

try:  # openai >= 3 moves bytes with httpx2, a fork of httpx with its own exception classes.
    import httpx2
except ImportError:  # pragma: no cover - older openai releases: httpx only
    _TIMEOUTS: tuple[type[BaseException], ...] = (openai.APITimeoutError, httpx.TimeoutException)
    _TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (openai.APIError, httpx.HTTPError)
else:
    _TIMEOUTS = (openai.APITimeoutError, httpx.TimeoutException, httpx2.TimeoutException)
    _TRANSPORT_ERRORS = (openai.APIError, httpx.HTTPError, httpx2.HTTPError)

__all__ = [
    "LLM",
    "LLMErrorEvent",
    "LLMMetrics",
    "LLMStream",
    "build_request",
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
    RETRY-1..7. Use it as an async context manager, or call :meth:`aclose`.

    Each attempt reads its body with a fresh :attr:`reader_class` and the loop follows a
    :attr:`retry_policy_class`: the two wire objects a variant swaps to change one behaviour.
    """

    reader_class: type[CompletionReader] = CompletionReader
    """Reads one attempt's SSE events into ChatChunks."""
    retry_policy_class: type[RetryPolicy] = RetryPolicy
    """Builds each attempt's error and decides whether another attempt follows."""

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
        policy = self.retry_policy_class(self._conn_options, time_scale=self._llm.time_scale)
        for attempt in range(policy.max_attempts):
            try:
                await self._run_attempt(policy)
                break
            except APIError as error:
                decision = policy.decide(attempt, error)
                self._llm._emit_error(error, recoverable=decision.retry)
                if not decision.retry:
                    final = policy.final_error(attempt, error)
                    if final is error:
                        raise
                    raise final from error
                await asyncio.sleep(decision.wait)
            except Exception as error:
                self._llm._emit_error(error, recoverable=False)
                raise
        self._emit_metrics()

    async def _run_attempt(self, policy: RetryPolicy) -> None:
        """One request; whatever fails becomes the policy's APIError (RETRY-1, LLM-ROB-1)."""
        self._attempts += 1
        reader = self.reader_class()
        try:
            async with self.open_stream() as response:
                content_type = response.headers.get("content-type", "")
                if not content_type.startswith("text/event-stream"):
                    raise ValueError(f"expected a text/event-stream body, got {content_type!r}")
                decoder = SSEDecoder()
                async for data in response.iter_bytes():
                    for event in decoder.feed(data):
                        self._push_chunks(reader.feed(event))
                    if reader.done:
                        break  # nothing after [DONE] matters: stop reading, close at once
                decoder.end()
            if not reader.done and not reader.chunks_read:
                # An empty 200, a body of comments only, text that is no SSE at all: a
                # server that answered nothing must not pass for an empty answer (LLM-ROB-1).
                raise ValueError("the stream ended before any chunk or [DONE]")
            self._push_chunks(reader.finish())
        except APIError:
            raise
        except openai.APIStatusError as exc:
            raise policy.status_error(
                exc.status_code,
                exc.message,
                body=exc.body,
                request_id=exc.request_id,
                visible_output=reader.visible_output,
            ) from exc
        except _TIMEOUTS as exc:
            raise policy.timeout_error(visible_output=reader.visible_output) from exc
        except (*_TRANSPORT_ERRORS, ValueError) as exc:
            # Reset connections, refused connects, a body that is not SSE or not a chunk
            # stream (SSEDecodeError, MalformedChunk), in-band error events (StreamErrorEvent).
            raise policy.connection_error(
                f"{type(exc).__name__}: {exc}", visible_output=reader.visible_output
            ) from exc
        finally:
            self._request_id = reader.completion_id or self._request_id
            self._usage = reader.usage or self._usage

    def open_stream(self) -> Any:
        """Send the request of one attempt: a fresh token (AUTH-3), the same body (RETRY-7);
        an async context manager giving the SDK's raw streaming response."""
        body = dict(self._body)
        known = {k: body.pop(k) for k in ("model", "messages", "stream")}
        return self._llm._client.chat.completions.with_streaming_response.create(
            **known,
            extra_body=body,
            extra_headers=self._llm.headers(),
            timeout=httpx.Timeout(self._conn_options.timeout),
        )

    def _push_chunks(self, chunks: Sequence[ChatChunk]) -> None:
        for chunk in chunks:
            if chunk.has_response and self._ttft < 0:
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
