"""Mutant: tool calls are kept in a dict keyed by ``index``, so a reused index merges calls.

The port author assembled calls in ``calls[index]``, the most common implementation: the
header creates the entry, later fragments append. A second header with a new ``id`` on an
index already used (as some vLLM and sglang servers send for consecutive calls) is taken for
a repeated header of the same call, so the two calls come out as one: the first call's id
and name with both calls' arguments run together.

Caught by: LLM-TC-4 (SHOULD: a new ``id`` on an already-seen ``index`` starts a new call;
NON-STRICT, caught under ``--strict``).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.tool_calls import ToolCallAssembler, ToolCallFragment, _PartialCall
from voicewire.reference.llm.wire import CallAssembler, CompletionReader

from tests.mutants.port import mutant

__all__ = ["IndexKeyedAssembler", "factory"]


class IndexKeyedAssembler(ToolCallAssembler):
    """The reference assembler whose port keys calls by ``index`` alone."""

    def _apply(self, fragment: ToolCallFragment) -> None:
        call_id = fragment.id or None
        name = fragment.name or None
        arguments = fragment.arguments or None
        if call_id is None and name is None and arguments is None:
            return
        index = fragment.index
        if index is None:
            index = self._calls[-1].index if self._calls else 0
        call = self._newest_by_index.get(index)
        if call is None:  # BUG: a new id at this index is not a new call
            call = _PartialCall(index=index, call_id=call_id or "", name="", argument_parts=[])
            self._calls.append(call)
            self._newest_by_index[index] = call
        if name is not None and not call.name:
            call.name = name
        if arguments is not None:
            call.argument_parts.append(arguments)


class IndexKeyedReader(CompletionReader):
    """The reference reader with the port's assembler."""

    def new_assembler(self) -> CallAssembler:
        return IndexKeyedAssembler()


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.calls_keyed_by_index:factory`` loads."""
    return mutant("calls_keyed_by_index", reader_class=IndexKeyedReader)
