"""Named implementations as IUTs: ``--iut reference`` (voicewire's own) and ``--iut livekit``
(upstream livekit-agents).

Each protocol registers the *parts* of its named implementations
(``ProtocolSpec.implementations``): objects with one coroutine method per operation. An
:class:`ImplementationIUT` declares every capability of the protocols its implementation
covers (but those a part names in its ``lacks`` attribute) and hands each operation to the
part of its protocol. Its server side is voicewire's own simulator (the embedded one the
harness starts), so ``voicewire run --iut reference`` checks both directions of the contract
against the executable spec.

To test a variant of the reference, replace one part::

    class MyLLM(LLMReference):
        llm_class = MyPortedLLM

    def factory():
        return ReferenceIUT(parts={"llm": MyLLM()}, name="my-port")
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from voicewire.harness.capabilities import ImplementationUnavailable
from voicewire.harness.iut import IUTSpecError, Target
from voicewire.harness.protocols import TABLE

__all__ = ["ImplementationIUT", "ReferenceIUT"]


class ImplementationIUT:
    """The named ``implementation`` behind the IUT protocol, one part per protocol it covers
    (``parts`` replaces some of them)."""

    def __init__(
        self,
        implementation: str,
        parts: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
    ) -> None:
        overrides = dict(parts or {})
        unknown = set(overrides) - {spec.name for spec in TABLE.protocols}
        if unknown:
            raise ValueError(f"parts name unknown protocols: {sorted(unknown)}")
        self.name = name or implementation
        self.parts: dict[str, Any] = {}
        for spec in TABLE.protocols:
            factory = spec.implementations.get(implementation)
            if spec.name in overrides:
                self.parts[spec.name] = overrides[spec.name]
            elif factory is not None:
                try:
                    self.parts[spec.name] = factory()
                except ImplementationUnavailable as exc:
                    raise IUTSpecError(f"--iut {implementation}: {exc}") from None
        if not self.parts:
            raise IUTSpecError(f"no protocol has an implementation called {implementation!r}")
        # A part declares its protocol's capabilities but those it names in ``lacks`` (upstream
        # cannot scale its STT timers: no stt.time_scale).
        self.capabilities = frozenset(
            capability.name
            for capability in TABLE
            if capability.protocol in self.parts
            and capability.name not in getattr(self.parts[capability.protocol], "lacks", ())
        )

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        for part in self.parts.values():
            close = getattr(part, "aclose", None)
            if close is not None:
                await close()

    def server_target(self, embedded: Target) -> Target:
        return embedded

    async def perform_operation(self, name: str, request: BaseModel) -> Any:
        """Hand operation ``name`` to the part of its protocol."""
        operation, capability = TABLE.operation(name)
        return await getattr(self.parts[capability.protocol], operation.method)(request)


class ReferenceIUT(ImplementationIUT):
    """voicewire's reference implementation behind the IUT protocol."""

    def __init__(self, parts: Mapping[str, Any] | None = None, *, name: str = "reference") -> None:
        super().__init__("reference", parts, name=name)
