"""Mutant: tool-call arguments are normalised with ``json.dumps(json.loads(...))``.

The port author "cleaned up" each assembled call's arguments before handing it to the tool
executor: valid JSON is parsed and dumped again (invalid JSON is passed through as received).
The call is the same to a JSON reader, but the text is not the one the model produced:
non-ASCII characters become ``\\uXXXX`` escapes, spacing changes (``{"a":1}`` becomes
``{"a": 1}``), number spellings change (``1.0e3`` becomes ``1000.0``) and duplicate keys
collapse.

Caught by: LLM-TC-1 (``arguments`` is exactly the concatenation of the fragments, byte for
byte; the client does not parse or re-serialize), and LLM-TC-2 where a case checks it for
every way of cutting the arguments.
"""

from __future__ import annotations

import json

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_chunk import FunctionToolCall
from voicewire.reference.llm.tool_calls import ToolCallAssembler
from voicewire.reference.llm.wire import CompletionReader

from tests.mutants.port import mutant

__all__ = ["NormalisingAssembler", "factory"]


def _normalised(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments))  # BUG: re-serialises the model's text
    except ValueError:
        return arguments


class NormalisingAssembler(ToolCallAssembler):
    """The reference assembler, with every finished call's arguments re-serialised."""

    def finish(self) -> list[FunctionToolCall]:
        return [
            call.model_copy(update={"arguments": _normalised(call.arguments)})
            for call in super().finish()
        ]


class NormalisingReader(CompletionReader):
    def new_assembler(self) -> ToolCallAssembler:
        return NormalisingAssembler()


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.reserialised_arguments:factory`` loads."""
    return mutant("reserialised_arguments", reader_class=NormalisingReader)
