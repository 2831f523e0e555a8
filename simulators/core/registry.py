"""The protocol registry: how a protocol plugs into the simulator core.

A protocol module describes itself with one :class:`SimulatedProtocol`: its name, a function
that mounts its routes on an aiohttp router under a prefix, and its scenario endpoints (each an
:class:`~voicewire.simulators.scenario.EndpointSpec`: name, reply model, WebSocket or not,
default or not). ``simulators/protocols.py`` registers every built-in protocol with
:data:`REGISTRY`, one line each; a test or a user can register a protocol of its own the same
way. :func:`~voicewire.simulators.core.app.create_app` mounts the routes of every protocol
registered when it is called, under ``/`` and ``/v1/``; scenarios validate a rule's reply with
the model of the endpoint it names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from aiohttp import web
from voicewire.simulators.core.recorded import RecordedEndpoint
from voicewire.simulators.scenario import ENDPOINTS, EndpointSpec

__all__ = ["REGISTRY", "AddRoutes", "EndpointSpec", "ProtocolRegistry", "SimulatedProtocol"]

AddRoutes = Callable[[web.UrlDispatcher, str], None]
"""Mounts a protocol's handlers on a router under a prefix (``""`` or ``"/v1"``)."""


@dataclass(frozen=True)
class SimulatedProtocol:
    """One protocol the simulators speak: ``add_routes(router, prefix)`` mounts its handlers
    (which find the simulator's state with
    :func:`~voicewire.simulators.core.app.state_of`), ``endpoints`` are what its scenario rules
    can address, ``recorded`` how the recording proxy and the cassette replayer cut and
    replay each of its endpoints (:mod:`~voicewire.simulators.core.recorded`)."""

    name: str
    add_routes: AddRoutes
    endpoints: tuple[EndpointSpec, ...] = ()
    recorded: tuple[RecordedEndpoint, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"protocol name must be a non-empty string, got {self.name!r}")
        if not callable(self.add_routes):
            raise TypeError(f"protocol {self.name!r}: add_routes must be callable")
        for spec in self.endpoints:
            if not isinstance(spec, EndpointSpec):
                raise TypeError(f"protocol {self.name!r}: endpoints must be EndpointSpec objects")
        for recorded in self.recorded:
            if not isinstance(recorded, RecordedEndpoint):
                raise TypeError(
                    f"protocol {self.name!r}: recorded must be RecordedEndpoint objects"
                )


class ProtocolRegistry:
    """The registered protocols, in registration order, and their endpoints."""

    def __init__(self) -> None:
        self._protocols: dict[str, SimulatedProtocol] = {}

    def register(self, protocol: SimulatedProtocol) -> SimulatedProtocol:
        """Add a protocol and make its endpoints addressable by scenarios. A protocol name,
        an endpoint name and the default endpoint are each taken once; on a conflict nothing
        is registered."""
        if not isinstance(protocol, SimulatedProtocol):
            raise TypeError(f"expected a SimulatedProtocol, got {type(protocol).__name__}")
        if protocol.name in self._protocols:
            raise ValueError(f"protocol {protocol.name!r} is already registered")
        added: list[str] = []
        try:
            for spec in protocol.endpoints:
                ENDPOINTS.add(spec)
                added.append(spec.name)
        except ValueError:
            for name in added:
                ENDPOINTS.remove(name)
            raise
        self._protocols[protocol.name] = protocol
        return protocol

    def unregister(self, name: str) -> None:
        """Remove a protocol and its endpoints (apps already created keep their routes)."""
        protocol = self._protocols.pop(name, None)
        if protocol is not None:
            for spec in protocol.endpoints:
                ENDPOINTS.remove(spec.name)

    def get(self, name: str) -> SimulatedProtocol | None:
        """The protocol called ``name``, if registered."""
        return self._protocols.get(name)

    def __iter__(self) -> Iterator[SimulatedProtocol]:
        return iter(list(self._protocols.values()))

    def __len__(self) -> int:
        return len(self._protocols)

    def recorded(self) -> list[tuple[str, RecordedEndpoint]]:
        """Every registered protocol's recorded endpoints, each with its protocol's name."""
        return [(protocol.name, recorded) for protocol in self for recorded in protocol.recorded]

    def add_routes(self, router: web.UrlDispatcher, prefix: str) -> None:
        """Mount every registered protocol's routes under ``prefix``."""
        for protocol in self:
            protocol.add_routes(router, prefix)


REGISTRY = ProtocolRegistry()
"""The protocols every simulator app serves."""
