"""The ``reference`` IUT: voicewire's reference implementation of every registered protocol.

Each protocol contributes a *part* (its ``ProtocolSpec.reference_part``), an object with one
coroutine method per operation; this adapter declares every capability in the table and
hands each operation to the part of its protocol. Its server side is voicewire's own
simulator (the embedded one the harness starts), so ``voicewire run --iut reference`` checks
both directions of the contract against the executable spec.

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
from voicewire.harness.iut import Target
from voicewire.harness.protocols import TABLE

__all__ = ["ReferenceIUT"]


class ReferenceIUT:
    """voicewire's reference implementation behind the IUT protocol."""

    def __init__(self, parts: Mapping[str, Any] | None = None, *, name: str = "reference") -> None:
        self.name = name
        overrides = dict(parts or {})
        unknown = set(overrides) - {spec.name for spec in TABLE.protocols}
        if unknown:
            raise ValueError(f"parts name unknown protocols: {sorted(unknown)}")
        self.parts: dict[str, Any] = {}
        for spec in TABLE.protocols:
            if spec.name in overrides:
                self.parts[spec.name] = overrides[spec.name]
            elif spec.reference_part is not None:
                self.parts[spec.name] = spec.reference_part()
        self.capabilities = frozenset(
            capability.name for capability in TABLE if capability.protocol in self.parts
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
