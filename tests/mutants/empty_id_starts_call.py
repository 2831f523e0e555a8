"""Mutant: a continuation fragment with ``"id": ""`` is taken for the header of a new call.

The port author implemented "a new ``id`` on a seen index starts a new call" (LLM-TC-4) with
``if fragment.id is not None and fragment.id != call.call_id``. Servers that repeat
``"id": ""`` (and ``"type": "function"``) on every continuation fragment, as several
OpenAI-compatible servers do, now split one call in two: the header, with no arguments, and
a nameless call with an empty id holding all the arguments.

Caught by: LLM-TC-1 (each call emitted once, whole) and LLM-TC-4 (fragments assembled by
index: an empty id is not a new id).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.tool_calls import ToolCallAssembler, ToolCallFragment, _PartialCall
from voicewire.reference.llm.wire import CallAssembler, CompletionReader

from tests.mutants.port import mutant

__all__ = ["EmptyIdAssembler", "factory"]


class EmptyIdAssembler(ToolCallAssembler):
    """The reference assembler whose port compares ids with ``is not None``."""

    def _apply(self, fragment: ToolCallFragment) -> None:
        call_id = fragment.id  # BUG: "" is kept as an id
        name = fragment.name or None
        arguments = fragment.arguments or None
        if not call_id and name is None and arguments is None:
            return
        index = fragment.index
        if index is None:
            index = self._calls[-1].index if self._calls else 0
        call = self._newest_by_index.get(index)
        if call is None or (call_id is not None and call_id != call.call_id):
            call = _PartialCall(index=index, call_id=call_id or "", name="", argument_parts=[])
            self._calls.append(call)
            self._newest_by_index[index] = call
        if name is not None and not call.name:
            call.name = name
        if arguments is not None:
            call.argument_parts.append(arguments)


class EmptyIdReader(CompletionReader):
    """The reference reader with the port's assembler."""

    def new_assembler(self) -> CallAssembler:
        return EmptyIdAssembler()


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.empty_id_starts_call:factory`` loads."""
    return mutant("empty_id_starts_call", reader_class=EmptyIdReader)
