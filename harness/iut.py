"""Implementations under test (IUTs): the adapter protocol and the ``--iut`` specs.

An IUT is anything the suites can drive. It declares **capabilities**; a case that needs a
capability the IUT lacks is reported ``UNSUPPORTED`` (never silently skipped):

=================== ==========================================================================
``llm.chat``        an LLM client: stream one completion (``llm_chat``)
``llm.fallback``    an LLM client with a fallback adapter (``llm_chat`` with ``fallback``)
``chat_context``    chat-context operations (``chat_context``)
``llm.server``      an LLM server: the suites connect to :meth:`IUT.server_target`
=================== ==========================================================================

Operations take JSON-shaped requests (pydantic models below) and answer with canonical events
(:mod:`voicewire.harness.events`) or a :class:`ContextResult`, so the same protocol works in-process
(``python:``), over a subprocess's stdio (``cmd:``, see ``docs/iut-protocol.md``) or not at all
(``url:``, a server under test, driven by voicewire's reference client and raw probes).

``--iut`` specs (:func:`parse_iut_spec`):

- ``reference``: voicewire's reference client and, as the server, its own simulator;
- ``python:pkg.module:factory``: ``factory()`` returns an object implementing :class:`IUT`;
- ``cmd:<command line>``: a subprocess speaking the JSON-lines protocol;
- ``url:<base_url>``: an LLM server (credentials from ``VOICEWIRE_IUT_API_KEY`` /
  ``VOICEWIRE_IUT_API_SECRET``, else voicewire's development credentials).
"""

from __future__ import annotations

import asyncio
import importlib
import os
import shlex
from collections.abc import Sequence
from typing import Any, Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator
from voicewire.harness.events import ErrorInfo, Event

__all__ = [
    "CAPABILITIES",
    "CHAT_CONTEXT",
    "CONTEXT_OPS",
    "IUT",
    "LLM_CHAT",
    "LLM_FALLBACK",
    "LLM_SERVER",
    "URLIUT",
    "ChatRequest",
    "ConnOptions",
    "ContextRequest",
    "ContextResult",
    "FallbackRequest",
    "IUTSpecError",
    "LLMTarget",
    "ServerTarget",
    "ToolSpec",
    "direction_of",
    "parse_iut_spec",
]

LLM_CHAT = "llm.chat"
LLM_FALLBACK = "llm.fallback"
CHAT_CONTEXT = "chat_context"
LLM_SERVER = "llm.server"
CAPABILITIES: frozenset[str] = frozenset({LLM_CHAT, LLM_FALLBACK, CHAT_CONTEXT, LLM_SERVER})
"""Every capability a suite case may require."""

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


def direction_of(capability: str | None) -> str:
    """The direction of a case needing ``capability``: ``server`` when the IUT is the server
    (``llm.server``), else ``client`` (the IUT is a client or a client-side library)."""
    return "server" if capability == LLM_SERVER else "client"


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LLMTarget(_Request):
    """Where an LLM client connects and as whom: one ``inference.LLM`` construction.

    ``extra_kwargs`` are constructor options (e.g. ``temperature``), sent on every request;
    ``label`` names this LLM in fallback events.
    """

    base_url: str
    api_key: str
    api_secret: str
    model: str = "openai/gpt-4.1-mini"
    provider: str | None = None
    label: str | None = None
    extra_kwargs: dict[str, Any] = Field(default_factory=dict)


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


class ConnOptions(_Request):
    """``APIConnectOptions`` (SPEC §2.4)."""

    max_retry: int = Field(default=3, ge=0)
    retry_interval: float = Field(default=2.0, ge=0)
    timeout: float = Field(default=10.0, ge=0)


class FallbackRequest(_Request):
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


class ChatRequest(_Request):
    """One ``chat()`` call and the full consumption of its stream.

    Exactly one of ``llm`` (a single LLM with ``conn_options``) and ``fallback``.
    ``chat_ctx`` is in the ``to_dict`` format (``{"items": [...]}``, timestamps included).
    ``tool_choice``: ``"auto" | "required" | "none"`` or ``{"name": N}``; null: not given.
    ``parallel_tool_calls`` null: not given. ``extra_kwargs``: per-call options.
    """

    llm: LLMTarget | None = None
    fallback: FallbackRequest | None = None
    chat_ctx: dict[str, Any] = Field(default_factory=lambda: {"items": []})
    tools: list[ToolSpec] = Field(default_factory=list)
    tool_choice: Literal["auto", "required", "none"] | dict[str, str] | None = None
    parallel_tool_calls: bool | None = None
    extra_kwargs: dict[str, Any] = Field(default_factory=dict)
    conn_options: ConnOptions = Field(default_factory=ConnOptions)

    @model_validator(mode="after")
    def _one_llm(self) -> ChatRequest:
        if (self.llm is None) == (self.fallback is None):
            raise ValueError("exactly one of 'llm' and 'fallback' must be given")
        if isinstance(self.tool_choice, dict) and set(self.tool_choice) != {"name"}:
            raise ValueError("a named tool_choice is {'name': <tool name>}")
        return self


class ContextRequest(_Request):
    """One chat-context operation on ``ctx`` (``to_dict`` format, timestamps included).

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


class ServerTarget(_Request):
    """An LLM server the suites connect to: base URL (``.../v1`` style) and credentials."""

    base_url: str
    api_key: str
    api_secret: str


@runtime_checkable
class IUT(Protocol):
    """What the harness drives. Every method runs on the harness's event loop.

    ``name`` appears in reports; ``capabilities`` is a subset of :data:`CAPABILITIES`. A method
    whose capability is not declared is never called.
    """

    name: str
    capabilities: frozenset[str]

    async def start(self) -> None:
        """Acquire resources (spawn a subprocess, open clients); called once, before any case."""
        ...

    async def llm_chat(self, request: ChatRequest) -> list[Event]:
        """Run one chat completion to its end and return what was observed, ending with one
        ``llm.end`` event. An error the stream raises is reported in that event, not raised."""
        ...

    async def chat_context(self, request: ContextRequest) -> ContextResult:
        """Apply one chat-context operation."""
        ...

    def server_target(self, embedded: ServerTarget) -> ServerTarget:
        """The server under test; ``embedded`` is voicewire's own simulator (the reference
        server), which an IUT without a server of its own may name."""
        ...

    async def aclose(self) -> None:
        """Release everything; called once, after the last case."""
        ...


class IUTSpecError(ValueError):
    """An ``--iut`` value that names no usable implementation; the message says why."""


class URLIUT:
    """A server under test at ``base_url`` (capability ``llm.server`` only)."""

    capabilities = frozenset({LLM_SERVER})

    def __init__(self, base_url: str, *, api_key: str, api_secret: str) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise IUTSpecError(f"url: needs an http:// or https:// base URL, got {base_url!r}")
        self.name = f"url:{base_url}"
        self.target = ServerTarget(
            base_url=base_url.rstrip("/"), api_key=api_key, api_secret=api_secret
        )

    async def start(self) -> None:
        """Check that the server accepts connections, so an unreachable URL is one clear
        error instead of every server case failing."""
        parts = urlsplit(self.target.base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(parts.hostname, port), timeout=10
            )
        except (OSError, asyncio.TimeoutError) as exc:
            raise IUTSpecError(
                f"{self.name}: cannot connect to {parts.hostname}:{port}: "
                f"{exc or type(exc).__name__}"
            ) from None
        writer.close()

    async def llm_chat(self, request: ChatRequest) -> list[Event]:
        raise NotImplementedError("a url: IUT is a server; it has no LLM client")

    async def chat_context(self, request: ContextRequest) -> ContextResult:
        raise NotImplementedError("a url: IUT is a server; it has no chat context")

    def server_target(self, embedded: ServerTarget) -> ServerTarget:
        return self.target

    async def aclose(self) -> None:
        return None


def _check_adapter(adapter: object, origin: str) -> IUT:
    missing = [
        attr
        for attr in ("name", "capabilities", "start", "llm_chat", "chat_context", "aclose")
        if not hasattr(adapter, attr)
    ]
    if missing:
        raise IUTSpecError(f"{origin} returned {adapter!r}, which lacks {', '.join(missing)}")
    capabilities = adapter.capabilities  # type: ignore[attr-defined]
    if not isinstance(capabilities, (set, frozenset)) or not capabilities <= CAPABILITIES:
        raise IUTSpecError(
            f"{origin}: capabilities must be a set drawn from {sorted(CAPABILITIES)}, "
            f"got {capabilities!r}"
        )
    if LLM_SERVER in capabilities and not hasattr(adapter, "server_target"):
        raise IUTSpecError(f"{origin} declares {LLM_SERVER!r} but has no server_target()")
    return adapter  # type: ignore[return-value]


def _load_python(target: str) -> IUT:
    module_name, sep, factory_name = target.partition(":")
    if not sep or not module_name or not factory_name:
        raise IUTSpecError(f"python: needs 'python:package.module:factory', got 'python:{target}'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise IUTSpecError(f"python:{target}: cannot import {module_name!r}: {exc}") from exc
    factory = getattr(module, factory_name, None)
    if not callable(factory):
        raise IUTSpecError(f"python:{target}: {module_name!r} has no callable {factory_name!r}")
    try:
        adapter = factory()
    except Exception as exc:
        raise IUTSpecError(
            f"python:{target}: {factory_name}() raised {type(exc).__name__}: {exc}"
        ) from exc
    return _check_adapter(adapter, f"python:{target}")


def parse_iut_spec(spec: str, *, env: dict[str, str] | None = None) -> IUT:
    """Build the adapter an ``--iut`` value names (not yet started).

    Raises :class:`IUTSpecError` with the reason when the spec is malformed, the module or
    factory cannot be found, the command is empty, or the adapter is incomplete.
    """
    env = dict(os.environ if env is None else env)
    if not isinstance(spec, str) or not spec.strip():
        raise IUTSpecError("--iut is empty; use reference, python:, cmd: or url:")
    spec = spec.strip()
    if spec == "reference":
        from voicewire.harness.reference_iut import ReferenceIUT

        return ReferenceIUT()
    kind, sep, rest = spec.partition(":")
    if sep and kind == "python":
        return _load_python(rest)
    if sep and kind == "cmd":
        argv: Sequence[str] = shlex.split(rest)
        if not argv:
            raise IUTSpecError("cmd: needs a command line, e.g. 'cmd:node driver.js'")
        from voicewire.harness.command_iut import CommandIUT

        return CommandIUT(list(argv))
    if sep and kind == "url":
        from voicewire.simulators.server import DEFAULT_API_KEY, DEFAULT_API_SECRET

        return URLIUT(
            rest,
            api_key=env.get("VOICEWIRE_IUT_API_KEY", DEFAULT_API_KEY),
            api_secret=env.get("VOICEWIRE_IUT_API_SECRET", DEFAULT_API_SECRET),
        )
    raise IUTSpecError(
        f"unknown --iut {spec!r}: use 'reference', 'python:pkg.module:factory', "
        "'cmd:<command>' or 'url:<base_url>'"
    )
