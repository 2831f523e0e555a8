"""Mutant: assembled tool calls are emitted in the order their headers arrived.

The port author kept the calls in a list in arrival order and, since "servers send index 0
first anyway", emitted that list as it was instead of sorting by ``index``. With OpenAI that
holds; a server that streams its calls out of order (parallel tool generation in vLLM and
some gateways) has them executed, and answered in the next request, in an order that does not
match their indices.

Caught by: LLM-TC-1 (calls are emitted in ``index`` order).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_chunk import FunctionToolCall
from voicewire.reference.llm.tool_calls import ToolCallAssembler
from voicewire.reference.llm.wire import CallAssembler, CompletionReader

from tests.mutants.port import mutant

__all__ = ["ArrivalOrderAssembler", "factory"]


class ArrivalOrderAssembler(ToolCallAssembler):
    """The reference assembler whose ``finish`` keeps arrival order."""

    def finish(self) -> list[FunctionToolCall]:
        calls = self._calls  # BUG: not sorted by index
        self._calls = []
        self._newest_by_index = {}
        return [call.to_function_tool_call() for call in calls]


class ArrivalOrderReader(CompletionReader):
    """The reference reader with the port's assembler."""

    def new_assembler(self) -> CallAssembler:
        return ArrivalOrderAssembler()


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.calls_in_arrival_order:factory`` loads."""
    return mutant("calls_in_arrival_order", reader_class=ArrivalOrderReader)
