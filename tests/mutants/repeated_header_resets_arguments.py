"""Mutant: a fragment that repeats the call's ``name`` restarts its arguments.

The port author treated a fragment carrying ``function.name`` as "the call's header" and
(re)initialised the call from it: name set, arguments reset to the fragment's own. That is
right for the first fragment, and livekit-agents 1.8.9 does exactly this; but servers that
repeat ``id`` and ``name`` on later fragments (some Gemini and Mistral adapters) lose every
argument piece before the repeat, so the tool is called with a truncated JSON string.

Caught by: LLM-TC-1 (``arguments`` is exactly the concatenation of the fragments').
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.tool_calls import ToolCallAssembler, ToolCallFragment
from voicewire.reference.llm.wire import CallAssembler, CompletionReader

from tests.mutants.port import mutant

__all__ = ["ResettingAssembler", "factory"]


class ResettingAssembler(ToolCallAssembler):
    """The reference assembler whose port re-initialises a call on every named fragment."""

    def _apply(self, fragment: ToolCallFragment) -> None:
        super()._apply(fragment)
        index = fragment.index
        if index is None:
            index = self._calls[-1].index if self._calls else 0
        call = self._newest_by_index.get(index)
        if fragment.name and call is not None:
            # BUG: a repeated header throws away what was assembled so far
            call.name = fragment.name
            call.argument_parts = [fragment.arguments] if fragment.arguments else []


class ResettingReader(CompletionReader):
    """The reference reader with the port's assembler."""

    def new_assembler(self) -> CallAssembler:
        return ResettingAssembler()


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.repeated_header_resets_arguments:factory``
    loads."""
    return mutant("repeated_header_resets_arguments", reader_class=ResettingReader)
