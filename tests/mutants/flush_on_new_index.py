"""Mutant: one tool call in flight at a time, flushed when the next call's header arrives.

The port author kept a single "pending call" (index, id, name, arguments) per stream, as
livekit-agents 1.8.9 does: a fragment carrying an ``id`` at another ``index`` is taken to mean
the pending call is complete, so it is emitted at once and the new call becomes the pending
one; any later argument fragment is appended to whatever call is pending. That is right for
the usual layout (one call after another), but when fragments of different calls interleave
(``0-header, 1-header, 0-args, 1-args``) call 0 is emitted with no arguments and call 1
receives the arguments of both.

The same single-call state also glues a header without ``id`` at a new index onto the call
before it, and emits calls in the order they were flushed rather than in ``index`` order.

Caught by: LLM-TC-4 (SHOULD: interleaved fragments are assembled by ``index``; a new index
without ``id`` is a new call) and LLM-TC-1 (calls are emitted in ``index`` order).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_chunk import FunctionToolCall
from voicewire.reference.llm.tool_calls import ToolCallFragment
from voicewire.reference.llm.wire import CompletionReader

from tests.mutants.port import mutant

__all__ = ["PendingCallAssembler", "factory"]


@dataclass
class _Pending:
    index: int
    call_id: str
    name: str
    arguments: list[str] = field(default_factory=list)

    def to_call(self) -> FunctionToolCall:
        return FunctionToolCall(
            name=self.name, arguments="".join(self.arguments), call_id=self.call_id
        )


class PendingCallAssembler:
    """The port's assembler: :meth:`feed` returns the calls it considers complete."""

    def __init__(self) -> None:
        self._pending: _Pending | None = None

    def feed(self, fragments: Iterable[ToolCallFragment]) -> list[FunctionToolCall]:
        ready: list[FunctionToolCall] = []
        for fragment in fragments:
            if not (fragment.id or fragment.name or fragment.arguments):
                continue
            index = fragment.index if fragment.index is not None else 0
            pending = self._pending
            # BUG: a header at another index is taken to end the pending call.
            if pending is not None and fragment.id and index != pending.index:
                ready.append(pending.to_call())
                pending = self._pending = None
            if pending is None:
                pending = self._pending = _Pending(
                    index=index, call_id=fragment.id or "", name=fragment.name or ""
                )
            if fragment.name and not pending.name:
                pending.name = fragment.name
            if fragment.arguments:
                pending.arguments.append(fragment.arguments)
        return ready

    def finish(self) -> list[FunctionToolCall]:
        pending, self._pending = self._pending, None
        return [] if pending is None else [pending.to_call()]


class PendingCallReader(CompletionReader):
    """The reference reader, emitting calls as soon as the port's assembler hands them over."""

    def new_assembler(self) -> PendingCallAssembler:
        return PendingCallAssembler()


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.flush_on_new_index:factory`` loads."""
    return mutant("flush_on_new_index", reader_class=PendingCallReader)
