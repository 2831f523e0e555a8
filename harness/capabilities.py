"""The protocol seam: what an implementation under test can be asked to do.

A **capability** is one thing an IUT may declare (``llm.chat``: "I am an LLM client"). It
belongs to a **protocol** (``llm``), has a **direction** (``client``: the IUT is the client and
voicewire plays the server; ``server``: the IUT is the server and voicewire's reference client
and raw probes drive it) and lists the **operations** the harness may call for it. An operation
has a request model and an answer model (pydantic), so the same operation travels in-process
(``python:``), as JSON lines (``cmd:``) or not at all (a server capability has none: the
suites connect to the server instead).

Each protocol describes itself once, in a :class:`ProtocolSpec` (its capabilities, its event
types, the reference implementation's part, the driver's conveniences); the specs are
registered in :mod:`voicewire.harness.protocols`. Everything else in the harness — adapters,
the driver, the runner, reports — reads the :class:`CapabilityTable` and never names a
protocol.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter
from voicewire.harness.requirements import KnownDeviation

__all__ = [
    "Capability",
    "CapabilityTable",
    "Direction",
    "ImplementationUnavailable",
    "Operation",
    "ProtocolSpec",
]

Direction = Literal["client", "server"]


class ImplementationUnavailable(RuntimeError):
    """A named implementation's part cannot be built here (an optional dependency is missing);
    the message says what to install."""


_NAME = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*$")


@dataclass(frozen=True)
class Operation:
    """One call the harness makes on an IUT.

    ``name`` is how the ``cmd:`` protocol names it and how ``python:`` adapters implement it:
    a coroutine method called :attr:`method` (dots become underscores: ``llm.chat`` →
    ``llm_chat``) taking the request model and returning the answer model (or a dict of it).
    """

    name: str
    request: type[BaseModel]
    answer: type[BaseModel]
    summary: str

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"operation name must look like 'llm.chat', got {self.name!r}")

    @property
    def method(self) -> str:
        """The adapter method that performs this operation."""
        return self.name.replace(".", "_")

    def check_answer(self, answer: Any) -> BaseModel:
        """``answer`` as the answer model; raises ``pydantic.ValidationError`` when it is not
        one (whatever the adapter returned: a model, a dict, JSON-decoded data)."""
        if isinstance(answer, self.answer):
            return answer
        if isinstance(answer, BaseModel):
            answer = answer.model_dump(mode="json")
        return self.answer.model_validate(answer)


@dataclass(frozen=True)
class Capability:
    """One declarable capability: its protocol, direction and operations."""

    name: str
    protocol: str
    direction: Direction
    operations: tuple[Operation, ...]
    description: str

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"capability name must look like 'llm.chat', got {self.name!r}")
        if self.direction == "server" and self.operations:
            raise ValueError(
                f"{self.name}: a server capability has no operations (the suites drive the "
                "server themselves)"
            )


@dataclass(frozen=True)
class ProtocolSpec:
    """Everything the harness knows about one protocol, registered once.

    - ``capabilities``: the rows this protocol adds to the table;
    - ``event_types``: the canonical event classes its operations report (each with a
      ``type`` literal, e.g. ``llm.chunk``), joined into the union of every event;
    - ``implementations``: named implementations of the protocol that ``--iut <name>`` can
      test (``reference``: voicewire's own; ``livekit``: upstream livekit-agents), each a
      factory of the *part* that performs this protocol's operations (one coroutine method per
      operation, see :attr:`Operation.method`); a factory raises
      :class:`ImplementationUnavailable` when the implementation cannot be had here;
    - ``deviations``: per implementation name, the SPEC rules that implementation is known
      not to follow (``voicewire explain`` prints them beside the rule);
    - ``driver_methods``: conveniences suites and users call on ``voicewire_iut``
      (``voicewire_iut.chat(...)``), each a function of the driver and its arguments;
    - ``served_by_default``: whether a ``url:`` IUT that names no protocols serves this one;
    - ``sans_io``: the modules of voicewire's own sans-IO core for this protocol (codec,
      validators, state machines), which ``voicewire bench mutation`` mutates;
    - ``credentials_probe``: for a server under test (``url:``), a coroutine that sends one
      authenticated request to the target and returns what the server answered when it
      refused voicewire's credentials (None when it accepted them, or could not tell), so a
      wrong key is one clear error before the run instead of a FAIL per case.
    """

    name: str
    capabilities: tuple[Capability, ...]
    event_types: tuple[type[BaseModel], ...] = ()
    implementations: Mapping[str, Callable[[], Any]] = field(default_factory=dict)
    deviations: Mapping[str, tuple[KnownDeviation, ...]] = field(default_factory=dict)
    driver_methods: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    served_by_default: bool = False
    sans_io: tuple[str, ...] = ()
    credentials_probe: Callable[[Any], Awaitable[str | None]] | None = None

    def with_implementation(
        self, name: str, part: Callable[[], Any], deviations: Iterable[KnownDeviation] = ()
    ) -> ProtocolSpec:
        """This spec with one more named implementation's part factory, and the SPEC rules
        that implementation is known not to follow (one deviation per rule)."""
        known = tuple(deviations)
        rules = [deviation.rule for deviation in known]
        if len(set(rules)) != len(rules):
            raise ValueError(f"implementation {name!r} lists a rule's deviation twice: {rules}")
        return replace(
            self,
            implementations={**self.implementations, name: part},
            deviations={**self.deviations, name: known} if known else self.deviations,
        )

    def __post_init__(self) -> None:
        for capability in self.capabilities:
            if capability.protocol != self.name:
                raise ValueError(
                    f"capability {capability.name!r} says protocol {capability.protocol!r}, "
                    f"but is registered by {self.name!r}"
                )


class CapabilityTable:
    """The registered protocols, and every lookup the generic harness needs from them."""

    def __init__(self, protocols: Iterable[ProtocolSpec] = ()) -> None:
        self._protocols: dict[str, ProtocolSpec] = {}
        self._capabilities: dict[str, Capability] = {}
        self._operations: dict[str, tuple[Operation, Capability]] = {}
        self._event_adapter: TypeAdapter[Any] | None = None
        for spec in protocols:
            self.register(spec)

    def register(self, spec: ProtocolSpec) -> None:
        """Add a protocol; every capability, operation and event type name must be new."""
        if spec.name in self._protocols:
            raise ValueError(f"protocol {spec.name!r} is already registered")
        event_names = {_event_type_name(cls) for cls in spec.event_types}
        clashes = event_names & set(self.event_type_names())
        for capability in spec.capabilities:
            if capability.name in self._capabilities:
                clashes.add(capability.name)
            for operation in capability.operations:
                known = self._operations.get(operation.name)
                if known is not None and known[0] is not operation:
                    clashes.add(operation.name)
        if clashes:
            raise ValueError(f"protocol {spec.name!r} reuses registered names: {sorted(clashes)}")
        self._protocols[spec.name] = spec
        for capability in spec.capabilities:
            self._capabilities[capability.name] = capability
            for operation in capability.operations:
                self._operations[operation.name] = (operation, capability)
        self._event_adapter = None

    def unregister(self, name: str) -> None:
        """Remove a protocol (for tests that register a toy one)."""
        spec = self._protocols.pop(name)
        for capability in spec.capabilities:
            del self._capabilities[capability.name]
            for operation in capability.operations:
                self._operations.pop(operation.name, None)
        self._event_adapter = None

    # -- lookups --------------------------------------------------------------------------------

    @property
    def protocols(self) -> tuple[ProtocolSpec, ...]:
        """The registered protocols, in registration order."""
        return tuple(self._protocols.values())

    def protocol(self, name: str) -> ProtocolSpec:
        """One protocol by name (``KeyError`` names the known ones)."""
        try:
            return self._protocols[name]
        except KeyError:
            raise KeyError(
                f"unknown protocol {name!r} (known: {sorted(self._protocols)})"
            ) from None

    def __iter__(self) -> Iterator[Capability]:
        return iter(self._capabilities.values())

    def __contains__(self, name: object) -> bool:
        return name in self._capabilities

    @property
    def names(self) -> frozenset[str]:
        """Every capability name."""
        return frozenset(self._capabilities)

    def capability(self, name: str) -> Capability:
        """One capability by name (``KeyError`` names the known ones)."""
        try:
            return self._capabilities[name]
        except KeyError:
            raise KeyError(
                f"unknown capability {name!r} (known: {sorted(self._capabilities)})"
            ) from None

    def direction_of(self, capability: str | None) -> Direction:
        """The direction of a case needing ``capability`` (``client`` when it needs none or
        an unknown one: the case then runs against a client-side library)."""
        known = self._capabilities.get(capability) if capability is not None else None
        return known.direction if known is not None else "client"

    def with_direction(self, direction: Direction) -> frozenset[str]:
        """The capabilities of one direction."""
        return frozenset(c.name for c in self if c.direction == direction)

    def server_capabilities(self, protocols: Iterable[str] | None = None) -> frozenset[str]:
        """The server capabilities of ``protocols`` (default: those served by default)."""
        wanted = (
            {p.name for p in self.protocols if p.served_by_default}
            if protocols is None
            else set(protocols)
        )
        unknown = wanted - set(self._protocols)
        if unknown:
            raise KeyError(
                f"unknown protocol(s) {sorted(unknown)} (known: {sorted(self._protocols)})"
            )
        return frozenset(c.name for c in self if c.direction == "server" and c.protocol in wanted)

    def operation(self, name: str) -> tuple[Operation, Capability]:
        """An operation and the capability that needs it."""
        try:
            return self._operations[name]
        except KeyError:
            raise KeyError(
                f"unknown operation {name!r} (known: {sorted(self._operations)})"
            ) from None

    def implementation_names(self) -> list[str]:
        """Every named implementation some protocol registers (``reference`` first)."""
        names = {name for spec in self.protocols for name in spec.implementations}
        return sorted(names, key=lambda name: (name != "reference", name))

    def operations_of(self, capabilities: Iterable[str]) -> list[Operation]:
        """The operations an IUT declaring ``capabilities`` must implement."""
        seen: dict[str, Operation] = {}
        for name in capabilities:
            for operation in self.capability(name).operations:
                seen.setdefault(operation.name, operation)
        return list(seen.values())

    # -- events ---------------------------------------------------------------------------------

    def event_types(self) -> tuple[type[BaseModel], ...]:
        """Every registered event class."""
        return tuple(cls for spec in self.protocols for cls in spec.event_types)

    def event_type_names(self) -> list[str]:
        """Every registered event ``type`` value."""
        return [_event_type_name(cls) for cls in self.event_types()]

    def event_adapter(self) -> TypeAdapter[Any]:
        """A pydantic adapter for the union of every registered event (discriminated on
        ``type``), rebuilt when the registrations change."""
        if self._event_adapter is None:
            from typing import Annotated, Union

            from pydantic import Field

            types = self.event_types()
            if not types:
                raise RuntimeError("no event types are registered")
            union: Any = types[0] if len(types) == 1 else Union[types]  # noqa: UP007
            self._event_adapter = TypeAdapter(
                list[Annotated[union, Field(discriminator="type")]]
                if len(types) > 1
                else list[union]
            )
        return self._event_adapter


def _event_type_name(cls: type[BaseModel]) -> str:
    field_info = cls.model_fields.get("type")
    if field_info is None or not isinstance(field_info.default, str):
        raise ValueError(f"event class {cls.__name__} needs a 'type' field with a default")
    return field_info.default
