"""Implementations under test (IUTs): the adapter protocol.

An IUT is anything the suites can drive. It declares **capabilities** (rows of the capability
table, :mod:`voicewire.harness.capabilities`); a case that needs a capability the IUT lacks is
reported ``UNSUPPORTED``, never silently skipped. Any subset of the table is a valid
declaration: an adapter that only speaks STT is as welcome as one that only chats.

For every operation of every client capability it declares, an adapter has a coroutine
method named after the operation (``llm.chat`` → ``llm_chat``) that takes the operation's
request model and returns its answer model (or the answer as a dict). An adapter that serves
any operation by name instead (the ``reference`` and ``cmd:`` adapters) has one coroutine
``perform_operation(name, request)``. An adapter that
declares a server capability names its server with :meth:`IUT.server_target`. The same
protocol works in-process (``python:``), over a subprocess's stdio (``cmd:``, see
``docs/iut-protocol.md``) or not at all (``url:``, a server under test, driven by voicewire's
reference client and raw probes). :mod:`voicewire.harness.iut_spec` turns ``--iut`` values
into adapters.
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Annotated, Any, Protocol, runtime_checkable

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from voicewire.harness.capabilities import CapabilityTable

__all__ = [
    "IUT",
    "ConnOptions",
    "IUTProtocolError",
    "IUTSpecError",
    "Performer",
    "PlainTarget",
    "Target",
    "check_adapter",
    "perform",
    "probe_upgrade_credentials",
]


class Target(BaseModel):
    """Where a client connects and as whom: a base URL (``http://host:port/v1`` style) and
    the API key and secret of its tokens. A simulator session and a server under test are
    both targets; protocols extend it with their own fields (``LLMTarget``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str
    api_key: str
    api_secret: str


def _plain(value: Any) -> Any:
    # A protocol's own target (an LLMTarget of a session) is the same place and keys.
    if isinstance(value, Target) and type(value) is not Target:
        return Target(base_url=value.base_url, api_key=value.api_key, api_secret=value.api_secret)
    return value


PlainTarget = Annotated[Target, BeforeValidator(_plain)]
"""A request's ``target`` field that takes any protocol's target (a simulator session's
``LLMTarget`` included) as the plain :class:`Target` it is."""


class ConnOptions(BaseModel):
    """``APIConnectOptions`` (SPEC §2.4) of a client operation: every client protocol's
    retry loop follows the same attempt limits and waits, so the model is shared here rather
    than owned by one protocol."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_retry: int = Field(default=3, ge=0)
    retry_interval: float = Field(default=2.0, ge=0)
    timeout: float = Field(default=10.0, ge=0)


@runtime_checkable
class IUT(Protocol):
    """What the harness drives. Every method runs on the harness's event loop.

    ``name`` appears in reports; ``capabilities`` is a subset of the capability table's names
    (empty when only known once started, as for a ``cmd:`` driver). Operation methods
    (``llm_chat`` ...) are looked up by name; one whose capability is not declared is never
    called.
    """

    name: str
    capabilities: frozenset[str]

    async def start(self) -> None:
        """Acquire resources (spawn a subprocess, open clients); called once, before any case."""
        ...

    def server_target(self, embedded: Target) -> Target:
        """The server under test; ``embedded`` is voicewire's own simulator (the reference
        server), which an IUT without a server of its own may name."""
        ...

    async def aclose(self) -> None:
        """Release everything; called once, after the last case."""
        ...


class Performer(Protocol):
    """What a protocol's driver convenience (``voicewire_iut.chat``, ``.transcribe``, ...)
    needs of the driver: running one operation of the capability table."""

    def perform(self, operation: str, request: BaseModel) -> Any:
        """Run ``operation`` with ``request`` on the IUT; its answer."""
        ...


class IUTSpecError(ValueError):
    """An ``--iut`` value that names no usable implementation; the message says why."""


class IUTProtocolError(RuntimeError):
    """The adapter (not the implementation) broke the IUT protocol: the case is ``ERROR``."""


def check_adapter(adapter: object, origin: str, table: CapabilityTable) -> IUT:
    """``adapter`` if it implements the protocol for what it declares, else
    :class:`IUTSpecError` naming what is missing."""
    missing = [
        attr for attr in ("name", "capabilities", "start", "aclose") if not hasattr(adapter, attr)
    ]
    if missing:
        raise IUTSpecError(f"{origin} returned {adapter!r}, which lacks {', '.join(missing)}")
    capabilities = adapter.capabilities  # type: ignore[attr-defined]
    if not isinstance(capabilities, (set, frozenset)) or not capabilities <= table.names:
        raise IUTSpecError(
            f"{origin}: capabilities must be a set drawn from {sorted(table.names)}, "
            f"got {capabilities!r}"
        )
    generic = callable(getattr(adapter, "perform_operation", None))
    methods = [] if generic else [op.method for op in table.operations_of(capabilities)]
    if capabilities & table.with_direction("server"):
        methods.append("server_target")
    absent = [method for method in methods if not callable(getattr(adapter, method, None))]
    if absent:
        raise IUTSpecError(
            f"{origin} declares {sorted(capabilities)} but has no {', '.join(absent)}()"
        )
    return adapter  # type: ignore[return-value]


async def perform(iut: IUT, table: CapabilityTable, operation: str, request: BaseModel) -> Any:
    """Call ``operation`` on ``iut`` and return its answer as the operation's answer model.

    Raises :class:`IUTProtocolError` when the IUT lacks the operation's capability or answers
    with something that is not the answer model.
    """
    from pydantic import ValidationError

    op, capability = table.operation(operation)
    if capability.name not in iut.capabilities:
        raise IUTProtocolError(
            f"{iut.name}: does not declare {capability.name!r}, so {operation} must not be "
            "called (the case should have been UNSUPPORTED)"
        )
    if not isinstance(request, op.request):
        raise TypeError(f"{operation} takes a {op.request.__name__}, got {type(request).__name__}")
    generic = getattr(iut, "perform_operation", None)
    if generic is not None:
        answer = await generic(op.name, request)
    else:
        answer = await getattr(iut, op.method)(request)
    try:
        return op.check_answer(answer)
    except ValidationError as exc:
        raise IUTProtocolError(
            f"{iut.name}: {op.method}() answered {answer!r:.200}, not a {op.answer.__name__}: {exc}"
        ) from None


async def probe_upgrade_credentials(target: Target, path: str) -> str | None:
    """What a WebSocket server under test answered when it refused voicewire's credentials:
    one authenticated upgrade to ``path`` (with its query) under the target, read no further
    than its status (None: accepted, or no answer to tell from; the cases judge those). Each
    WebSocket protocol's ``credentials_probe`` names its endpoint."""
    import aiohttp
    from voicewire.reference.auth import create_access_token

    with warnings.catch_warnings():
        # A short secret is the user's choice; the cases show what the server makes of it.
        warnings.simplefilter("ignore")
        token = create_access_token(target.api_key, target.api_secret)
    url = f"{target.base_url}{path}"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
            try:
                ws = await session.ws_connect(url, headers={"Authorization": f"Bearer {token}"})
            except aiohttp.WSServerHandshakeError as exc:
                if exc.status not in (401, 403):
                    return None
                return (
                    f"GET {url} (WebSocket upgrade) with a fresh token answered HTTP "
                    f"{exc.status}: {exc.message}"
                )
            await ws.close()
            return None
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return None
