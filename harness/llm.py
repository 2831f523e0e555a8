"""The LLM protocol in the harness (SPEC §2 and §6): capabilities, operations, events, outcomes.

Capabilities this module registers (see :mod:`voicewire.harness.capabilities`):

=================== ========= ===========================================================
``llm.chat``        client    an LLM client: operation ``llm.chat`` (:class:`ChatRequest`)
``llm.fallback``    client    a fallback adapter: operation ``llm.fallback``
                              (:class:`FallbackChatRequest`)
``chat_context``    client    chat-context operations: operation ``chat_context``
                              (:class:`ContextRequest` → :class:`ContextResult`)
``llm.server``      server    an LLM server: the suites connect to the IUT's server target
=================== ========= ===========================================================

The event types of a chat (``llm.chunk``, ``llm.usage``, ``llm.error``, ``llm.availability``,
``llm.end``) are what the consumer of a stream observed; :class:`ChatOutcome` is the view the
suites assert on. ``voicewire_iut.chat(...)`` and ``voicewire_iut.context(...)`` are the
driver conveniences this module contributes.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from voicewire.harness.capabilities import Capability, Operation, ProtocolSpec
from voicewire.harness.events import BaseEvent, ErrorInfo, describe_events
from voicewire.harness.iut import ConnOptions, IUTProtocolError, Performer, Target
from voicewire.harness.stream_diff import Aspect, Normaliser, collapse_runs, error_essentials

__all__ = [
    "CHAT_CONTEXT",
    "CONTEXT_OPS",
    "LLM_CHAT",
    "LLM_FALLBACK",
    "LLM_SERVER",
    "PROTOCOL",
    "STREAM_NORMALISERS",
    "AttemptErrorEvent",
    "AvailabilityEvent",
    "ChatAnswer",
    "ChatEndEvent",
    "ChatOutcome",
    "ChatRequest",
    "ChunkEvent",
    "ConnOptions",
    "ContextRequest",
    "ContextResult",
    "FallbackChatRequest",
    "FallbackSpec",
    "LLMEvent",
    "LLMTarget",
    "ToolCall",
    "ToolSpec",
    "UsageEvent",
]

LLM_CHAT = "llm.chat"
LLM_FALLBACK = "llm.fallback"
CHAT_CONTEXT = "chat_context"
LLM_SERVER = "llm.server"

CONTEXT_OPS: frozenset[str] = frozenset(
    {
        "roundtrip",
        "truncate",
        "merge",
        "copy",
        "insert",
        "add_message",
        "to_dict",
        "to_provider_format",
        "is_equivalent",
    }
)
"""The chat-context operations of :class:`ContextRequest` (see its docstring)."""


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- requests ------------------------------------------------------------------------------------


class LLMTarget(Target):
    """Where an LLM client connects and as whom: one ``inference.LLM`` construction.

    ``extra_kwargs`` are constructor options (e.g. ``temperature``), sent on every request;
    ``label`` names this LLM in fallback events.
    """

    model: str = "openai/gpt-4.1-mini"
    provider: str | None = None
    label: str | None = None
    extra_kwargs: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_target(cls, data: Any) -> Any:
        # A plain target (a simulator session) is an LLM target with the default LLM fields.
        if isinstance(data, Target) and not isinstance(data, LLMTarget):
            return data.model_dump()
        return data

    @classmethod
    def at(cls, target: Target, **fields: Any) -> LLMTarget:
        """An LLM target at ``target``'s URL and credentials (a simulator session or a
        server), with LLM fields set."""
        if isinstance(target, LLMTarget) and not fields:
            return target
        return cls(
            base_url=target.base_url,
            api_key=target.api_key,
            api_secret=target.api_secret,
            **fields,
        )


class ToolSpec(_Request):
    """A function tool offered to the model.

    ``raw: false``: the client derives the strict schema from ``parameters`` (LLM-REQ-2:
    ``additionalProperties: false`` everywhere, every property required, ``strict: true``).
    ``raw: true``: ``{"type": "function", "function": {name, description, parameters}}`` is sent
    as given.
    """

    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str = ""
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}, "required": []}
    )
    raw: bool = False


class FallbackSpec(_Request):
    """A ``FallbackAdapter`` over ``llms`` (SPEC §2.5).

    An empty ``llms`` is sent on purpose by FALLBACK-5: constructing the adapter must fail
    with ``ValueError``, reported as the ``llm.end`` error.
    ``settle``: after the stream ends, wait (up to ``attempt_timeout`` per LLM) for background
    availability probes to finish, so their ``llm.availability`` events are reported.
    """

    llms: list[LLMTarget] = Field(
        description="the LLMs in order; an empty list must be refused (FALLBACK-5)"
    )
    attempt_timeout: float = Field(default=5.0, ge=0)
    max_retry_per_llm: int = Field(default=0, ge=0)
    retry_interval: float = Field(default=0.5, ge=0)
    retry_on_chunk_sent: bool = False
    settle: bool = False


class _ChatCall(_Request):
    """One ``chat()`` call and the full consumption of its stream.

    ``chat_ctx`` is in the ``to_dict`` format (``{"items": [...]}``, timestamps included).
    ``tool_choice``: ``"auto" | "required" | "none"`` or ``{"name": N}``; null: not given.
    ``parallel_tool_calls`` null: not given. ``extra_kwargs``: per-call options.
    ``again_after``: call ``chat()`` a second time, the same way, on the same LLM (or
    adapter), this many seconds after the first call's stream ended (null: one call); the
    answer then holds both calls' events, each call ending with its ``llm.end`` (AUTH-3: every
    ``chat()`` call mints a fresh token).
    """

    chat_ctx: dict[str, Any] = Field(default_factory=lambda: {"items": []})
    tools: list[ToolSpec] = Field(default_factory=list)
    tool_choice: Literal["auto", "required", "none"] | dict[str, str] | None = None
    parallel_tool_calls: bool | None = None
    extra_kwargs: dict[str, Any] = Field(default_factory=dict)
    again_after: float | None = Field(default=None, ge=0, le=10)

    @property
    def calls(self) -> int:
        """How many ``chat()`` calls the request asks for."""
        return 1 if self.again_after is None else 2

    @model_validator(mode="after")
    def _named_choice(self) -> _ChatCall:
        if isinstance(self.tool_choice, dict) and set(self.tool_choice) != {"name"}:
            raise ValueError("a named tool_choice is {'name': <tool name>}")
        return self


class ChatRequest(_ChatCall):
    """Operation ``llm.chat``: one LLM (``llm``) with ``conn_options``."""

    llm: LLMTarget
    conn_options: ConnOptions = Field(default_factory=ConnOptions)


class FallbackChatRequest(_ChatCall):
    """Operation ``llm.fallback``: a fallback adapter (``fallback``) over several LLMs."""

    fallback: FallbackSpec


class ContextRequest(_Request):
    """Operation ``chat_context``: one chat-context operation on ``ctx`` (``to_dict`` format,
    timestamps included).

    The IUT parses ``ctx`` (its ``from_dict``), applies ``op`` and answers with the context
    after the operation serialised by its ``to_dict(exclude_timestamp=False,
    exclude_image=False)`` in :attr:`ContextResult.ctx`. Ops and ``args``:

    - ``roundtrip``: nothing (from_dict then to_dict);
    - ``truncate``: ``max_items``;
    - ``merge``: ``other`` (a context), ``exclude_function_call``, ``exclude_instructions``;
    - ``copy``: ``exclude_function_call``, ``exclude_instructions``, ``exclude_empty_message``,
      ``tools`` (names or null); ``ctx`` is the copy, ``source`` the original afterwards;
    - ``insert``: ``item`` (an item dict);
    - ``add_message``: ``role``, ``content`` (str or list), optional ``id``, ``created_at``;
    - ``to_dict``: the to_dict flags; ``value`` is the dict;
    - ``to_provider_format``: ``format`` (``"openai"``); ``value`` is the message list;
    - ``is_equivalent``: ``other``; ``value`` is the bool.

    An operation that raises answers with ``error`` (e.g. ``truncate`` with ``max_items < 0``).
    """

    op: str
    ctx: dict[str, Any]
    args: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_op(self) -> ContextRequest:
        if self.op not in CONTEXT_OPS:
            raise ValueError(f"unknown chat-context op {self.op!r} (known: {sorted(CONTEXT_OPS)})")
        return self


class ContextResult(BaseModel):
    """The answer to a :class:`ContextRequest`."""

    model_config = ConfigDict(extra="forbid")

    ctx: dict[str, Any] | None = None
    value: Any = None
    source: dict[str, Any] | None = None
    error: ErrorInfo | None = None


# -- events --------------------------------------------------------------------------------------


class ToolCall(BaseModel):
    """One whole tool call as the client emitted it (LLM-TC-1): ``arguments`` is the raw
    JSON text, byte for byte as assembled, never re-serialised."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    arguments: str
    call_id: str


class ChunkEvent(BaseEvent):
    """A ChatChunk carrying a delta. ``id`` is the server's completion id (LLM-ORD-1)."""

    type: Literal["llm.chunk"] = "llm.chunk"
    id: str
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()

    @property
    def visible(self) -> bool:
        """Non-empty text or a tool call: the 'visible output' of RETRY-2."""
        return bool(self.content) or bool(self.tool_calls)


class UsageEvent(BaseEvent):
    """A ChatChunk carrying usage (LLM-USG-1); counts are never null."""

    type: Literal["llm.usage"] = "llm.usage"
    id: str
    completion_tokens: int = Field(ge=0)
    prompt_tokens: int = Field(ge=0)
    prompt_cached_tokens: int = Field(ge=0)
    total_tokens: int = Field(ge=0)


class AttemptErrorEvent(BaseEvent):
    """One failed attempt (RETRY-5): ``recoverable`` says whether another attempt follows."""

    type: Literal["llm.error"] = "llm.error"
    error: ErrorInfo
    recoverable: bool
    llm: str | None = Field(default=None, description="label of the LLM that failed (fallback)")


class AvailabilityEvent(BaseEvent):
    """A fallback adapter marked one of its LLMs (by label) unavailable or available again."""

    type: Literal["llm.availability"] = "llm.availability"
    llm: str
    available: bool


class ChatEndEvent(BaseEvent):
    """The chat ended: ``error`` null when the stream finished, else what it raised."""

    type: Literal["llm.end"] = "llm.end"
    error: ErrorInfo | None = None


LLMEvent = Annotated[
    ChunkEvent | UsageEvent | AttemptErrorEvent | AvailabilityEvent | ChatEndEvent,
    Field(discriminator="type"),
]
"""Any event of a chat (a discriminated union on ``type``)."""


class ChatAnswer(BaseModel):
    """The answer to ``llm.chat`` and ``llm.fallback``: what the stream's consumer observed,
    in order, each ``chat()`` call ending with its ``llm.end`` (one call, unless the request
    set ``again_after``). An error a stream raised is reported in its ``llm.end``, never as a
    failure of the operation."""

    model_config = ConfigDict(extra="forbid")

    events: list[LLMEvent]

    @model_validator(mode="after")
    def _ends_last(self) -> ChatAnswer:
        if not self.events or not isinstance(self.events[-1], ChatEndEvent):
            raise ValueError(
                f"the events must end with an llm.end event (got {len(self.events)} events, "
                "the last of another type)"
            )
        return self

    @property
    def calls(self) -> int:
        """How many ``chat()`` calls the events report (one ``llm.end`` each)."""
        return sum(isinstance(event, ChatEndEvent) for event in self.events)


# -- the outcome suites assert on ---------------------------------------------------------------


@dataclass(frozen=True)
class ChatOutcome:
    """Everything one ``chat()`` produced, in order, ending with one ``llm.end``; for a
    request with ``again_after``, both calls' events (:attr:`calls` splits them; the other
    properties read all of them, and :attr:`end` is the last call's)."""

    events: tuple[Any, ...]

    @property
    def calls(self) -> list[ChatOutcome]:
        """One outcome per ``chat()`` call, in order."""
        calls: list[ChatOutcome] = []
        start = 0
        for index, event in enumerate(self.events):
            if isinstance(event, ChatEndEvent):
                calls.append(ChatOutcome(self.events[start : index + 1]))
                start = index + 1
        return calls

    @property
    def chunks(self) -> list[ChunkEvent]:
        return [e for e in self.events if isinstance(e, ChunkEvent)]

    @property
    def text(self) -> str:
        """All emitted content, concatenated (LLM-TXT-1)."""
        return "".join(c.content or "" for c in self.chunks)

    @property
    def tool_calls(self) -> list[ToolCall]:
        """All emitted tool calls, in emission order."""
        return [call for c in self.chunks for call in c.tool_calls]

    @property
    def usages(self) -> list[UsageEvent]:
        return [e for e in self.events if isinstance(e, UsageEvent)]

    @property
    def errors(self) -> list[AttemptErrorEvent]:
        """The ``error`` events of failed attempts (RETRY-5)."""
        return [e for e in self.events if isinstance(e, AttemptErrorEvent)]

    @property
    def availability(self) -> list[AvailabilityEvent]:
        return [e for e in self.events if isinstance(e, AvailabilityEvent)]

    @property
    def end(self) -> ChatEndEvent:
        end = self.events[-1]
        assert isinstance(end, ChatEndEvent)
        return end

    @property
    def error(self) -> ErrorInfo | None:
        """What the stream raised, or None when it finished."""
        return self.end.error

    @property
    def ids(self) -> set[str]:
        """The chunk ids of every chunk and usage event (LLM-ORD-1)."""
        return {e.id for e in self.events if isinstance(e, (ChunkEvent, UsageEvent))}

    def describe(self, limit: int = 30) -> str:
        """A compact, one-event-per-line rendering for failure messages."""
        return describe_events(self.events, limit)


# -- driver conveniences -------------------------------------------------------------------------


def chat(
    driver: Performer,
    request: ChatRequest | FallbackChatRequest | None = None,
    /,
    **fields: Any,
) -> ChatOutcome:
    """``voicewire_iut.chat(...)``: run one completion to its end.

    Pass a request, or its fields as keywords: ``llm=`` (an :class:`LLMTarget`, or any target
    such as a simulator session) makes it ``llm.chat``, ``fallback=`` (a :class:`FallbackSpec`)
    ``llm.fallback``.
    """
    if request is None:
        if "fallback" in fields:
            request = FallbackChatRequest(**fields)
        else:
            llm = fields.pop("llm", None)
            if not isinstance(llm, Target):
                raise TypeError("chat() needs llm=<target> or fallback=<FallbackSpec>")
            request = ChatRequest(llm=LLMTarget.at(llm), **fields)
    elif fields:
        request = request.model_copy(update=fields)
    operation = LLM_FALLBACK if isinstance(request, FallbackChatRequest) else LLM_CHAT
    answer = driver.perform(operation, request)
    if answer.calls != request.calls:
        raise IUTProtocolError(
            f"{operation}: asked for {request.calls} chat() call(s), the answer reports "
            f"{answer.calls} (one llm.end per call)"
        )
    return ChatOutcome(tuple(answer.events))


def context(driver: Performer, op: str, ctx: dict[str, Any], /, **args: Any) -> ContextResult:
    """``voicewire_iut.context(op, ctx, **args)``: apply one chat-context operation."""
    return driver.perform(CHAT_CONTEXT, ContextRequest(op=op, ctx=ctx, args=args))


def _chat_operation(name: str, request: type[BaseModel], summary: str) -> Operation:
    return Operation(name=name, request=request, answer=ChatAnswer, summary=summary)


async def probe_credentials(target: Target) -> str | None:
    """What an LLM server under test answered when it refused voicewire's credentials: one
    short authenticated chat request, read no further than its status (None: accepted, or
    no answer to tell from; the cases judge those)."""
    import aiohttp
    from voicewire.reference.auth import create_access_token

    with warnings.catch_warnings():
        # A short secret is the user's choice; the cases show what the server makes of it.
        warnings.simplefilter("ignore")
        token = create_access_token(target.api_key, target.api_secret)
    url = f"{target.base_url}/chat/completions"
    body = {
        "model": "openai/gpt-4.1-mini",
        "messages": [{"role": "user", "content": "ping"}],
        "stream": True,
    }
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session,
            session.post(url, json=body, headers={"Authorization": f"Bearer {token}"}) as resp,
        ):
            if resp.status not in (401, 403):
                return None
            head = (await resp.content.read(300)).decode("utf-8", "replace")
            return f"POST {url} with a fresh token answered HTTP {resp.status}: {head}"
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return None


PROTOCOL = ProtocolSpec(
    name="llm",
    capabilities=(
        Capability(
            LLM_CHAT,
            "llm",
            "client",
            (_chat_operation(LLM_CHAT, ChatRequest, "stream one chat completion"),),
            "an LLM client: stream one completion with retries (SPEC §1.1, §2.1-2.4)",
        ),
        Capability(
            LLM_FALLBACK,
            "llm",
            "client",
            (_chat_operation(LLM_FALLBACK, FallbackChatRequest, "chat through a fallback"),),
            "a fallback adapter over several LLMs (SPEC §2.5)",
        ),
        Capability(
            CHAT_CONTEXT,
            "llm",
            "client",
            (
                Operation(
                    CHAT_CONTEXT,
                    ContextRequest,
                    ContextResult,
                    "apply one chat-context operation",
                ),
            ),
            "chat-context operations and the openai format (SPEC §6)",
        ),
        Capability(
            LLM_SERVER,
            "llm",
            "server",
            (),
            "an LLM server: /chat/completions over SSE, /models (SPEC §1.1, §2.2, §7)",
        ),
    ),
    event_types=(ChunkEvent, UsageEvent, AttemptErrorEvent, AvailabilityEvent, ChatEndEvent),
    driver_methods={"chat": chat, "context": context},
    served_by_default=True,
    credentials_probe=probe_credentials,
    sans_io=(
        "voicewire.reference.llm.wire.sse",
        "voicewire.reference.llm.wire.chunks",
        "voicewire.reference.llm.wire.reader",
        "voicewire.reference.llm.wire.retry",
        "voicewire.reference.llm.tool_calls",
        "voicewire.reference.llm.thinking",
    ),
)
"""The LLM protocol's registration (see :mod:`voicewire.harness.protocols`, which adds the
reference implementation's part from :mod:`voicewire.harness.llm_reference`)."""


# -- stream normalisation (voicewire diff, run --cassette) ---------------------------------------


def _tool_arguments(arguments: str) -> Any:
    # Parsed, so two encodings of the same arguments agree; text that is not JSON is kept
    # as it came, so a difference in it still shows.
    try:
        return json.loads(arguments)
    except ValueError:
        return {"unparsed": arguments}


def _normalise_chat(events: Sequence[Any], answer: Mapping[str, Any] | None) -> dict[str, Aspect]:
    """A chat's stream, whatever its chunking: the text, the tool calls, usage, ids, the
    event order and the errors."""
    known = [
        event
        for event in events
        if isinstance(event, (ChunkEvent, UsageEvent, AttemptErrorEvent, ChatEndEvent))
    ]
    chunks = [event for event in known if isinstance(event, ChunkEvent)]
    errors: list[dict[str, Any]] = []
    for event in known:
        if isinstance(event, AttemptErrorEvent):
            errors.append(
                error_essentials(event.error, at="attempt", recoverable=event.recoverable)
            )
        elif isinstance(event, ChatEndEvent) and event.error is not None:
            errors.append(error_essentials(event.error, at="end"))
    aspects = {
        "text": Aspect(
            "".join(chunk.content or "" for chunk in chunks),
            ("LLM-TXT-1", "LLM-TXT-2", "LLM-TC-5"),
        ),
        "tool_calls": Aspect(
            [
                {
                    "name": call.name,
                    "arguments": _tool_arguments(call.arguments),
                    "call_id": call.call_id,
                }
                for chunk in chunks
                for call in chunk.tool_calls
            ],
            ("LLM-TC-1", "LLM-TC-2", "LLM-TC-3", "LLM-TC-4"),
        ),
        "usage": Aspect(
            [
                {
                    "completion_tokens": event.completion_tokens,
                    "prompt_tokens": event.prompt_tokens,
                    "prompt_cached_tokens": event.prompt_cached_tokens,
                    "total_tokens": event.total_tokens,
                }
                for event in known
                if isinstance(event, UsageEvent)
            ],
            ("LLM-USG-1",),
        ),
        "ids": Aspect(
            list(
                dict.fromkeys(
                    event.id for event in known if isinstance(event, (ChunkEvent, UsageEvent))
                )
            ),
            ("LLM-ORD-1",),
        ),
        "order": Aspect(
            collapse_runs(event.type for event in known), ("LLM-USG-1", "RETRY-5", "RETRY-6")
        ),
        "errors": Aspect(errors, ("RETRY-1", "RETRY-2", "RETRY-3", "RETRY-5")),
    }
    return aspects


def _normalise_fallback(
    events: Sequence[Any], answer: Mapping[str, Any] | None
) -> dict[str, Aspect]:
    """A fallback adapter's stream: a chat's aspects and the availability changes."""
    return {
        **_normalise_chat(events, answer),
        "availability": Aspect(
            [
                {"llm": event.llm, "available": event.available}
                for event in events
                if isinstance(event, AvailabilityEvent)
            ],
            ("FALLBACK-4",),
        ),
    }


STREAM_NORMALISERS: dict[str, Normaliser] = {
    LLM_CHAT: _normalise_chat,
    LLM_FALLBACK: _normalise_fallback,
}
"""How ``voicewire diff`` and ``voicewire run --cassette`` compare chats (registered in
:mod:`voicewire.harness.protocols`)."""
