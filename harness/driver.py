"""The synchronous face of an IUT that suite cases (and users' own tests) hold.

``voicewire_iut`` is an :class:`IUTDriver`. :meth:`IUTDriver.perform` runs any operation of
the capability table on the harness loop and returns its validated answer; each protocol adds
conveniences (the LLM's ``voicewire_iut.chat(...)`` and ``voicewire_iut.context(...)``), found
through the table. Whatever the adapter answers is validated: an adapter that returns
something other than the operation's answer model is a broken adapter
(:class:`~voicewire.harness.iut.IUTProtocolError`, reported ``ERROR``), not a broken
implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from pydantic import BaseModel
from voicewire.harness.capabilities import CapabilityTable
from voicewire.harness.iut import IUT, Target, perform

__all__ = ["IUTDriver"]

T = TypeVar("T")


class IUTDriver:
    """A started IUT, driven synchronously: ``run`` executes a coroutine on the harness loop
    (with the harness's per-operation timeout); ``embedded`` is the embedded simulator's own
    server target, which an IUT without a server of its own names as its server."""

    def __init__(
        self,
        iut: IUT,
        table: CapabilityTable,
        *,
        run: Callable[..., Any],
        embedded: Callable[[], Target],
    ) -> None:
        self._iut = iut
        self._table = table
        self._run = run
        self._embedded = embedded

    @property
    def name(self) -> str:
        return self._iut.name

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset(self._iut.capabilities)

    @property
    def adapter(self) -> IUT:
        """The underlying adapter."""
        return self._iut

    def run(self, coro: Coroutine[Any, Any, T], *, timeout: float | None = None) -> T:
        """Run a coroutine on the harness loop (raw probes, servers a case starts)."""
        return self._run(coro, timeout=timeout)

    def perform(self, operation: str, request: BaseModel) -> Any:
        """Run one operation and return its answer model."""
        return self.run(perform(self._iut, self._table, operation, request))

    def server(self) -> Target:
        """The server under test (for an IUT without one: the embedded simulator)."""
        return self._iut.server_target(self._embedded())

    def __getattr__(self, name: str) -> Any:
        # The protocols' conveniences (chat, context, ...) bound to this driver.
        for spec in self._table.protocols:
            method = spec.driver_methods.get(name)
            if method is not None:
                return lambda *args, **kwargs: method(self, *args, **kwargs)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
