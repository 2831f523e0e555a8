"""Reassembling streamed tool-call fragments into whole calls (SPEC LLM-SSE-3, LLM-TC-1..4).

A chat-completions stream delivers each tool call in pieces: ``delta.tool_calls`` holds
fragments ``{"index", "id"?, "type"?, "function": {"name"?, "arguments"?}}``. The first fragment
of a call names it; later ones append to its ``arguments``. :class:`ToolCallAssembler` turns
those fragments back into :class:`~reference.llm.chat_chunk.FunctionToolCall` objects.

It is sans-IO: the caller feeds it each delta's fragments and calls
:meth:`ToolCallAssembler.finish` once the completion is over, which is at the first
``finish_reason`` (of any value: ``stop``, ``tool_calls``, ``length``, ``content_filter``) or at
the end of the stream, whichever comes first.

Why every call is held until the finish: fragments of different calls may interleave
(``0-header, 1-header, 0-args, 1-args``; LLM-TC-4), so seeing the header of call 1 does not
mean call 0 is complete. Only the end of the completion proves that. Emitting at the finish
also makes ``index`` order (LLM-TC-1) possible, and it means a call is never lost to an
unusual ``finish_reason`` or a missing finish chunk (LLM-TC-3).

The assembly rules, in the order they are applied to each fragment:

1. A fragment that carries nothing (no ``id``, no ``name`` and no ``arguments``, where an empty
   string counts as absent) is ignored. It cannot start a call and adds nothing to one.
2. A fragment without ``index`` breaks the protocol, but some servers send them. It is given
   the ``index`` of the most recently started call, or 0 if no call has started yet. It then
   attaches to that call, unless rule 4 applies.
3. A fragment whose ``index`` was never seen starts a new call, even without an ``id``.
   Such a call keeps ``call_id = ""`` (LLM-TC-4 allows an empty id or a generated one; an empty
   id keeps the assembler deterministic, and the consumer can tell it was missing).
4. A fragment whose ``id`` differs from the ``id`` of the newest call at its ``index`` starts a
   new call at that ``index``. Some vLLM and sglang servers reuse an index this way. A call
   that started without an ``id`` counts as having a different one, so an ``id`` arriving
   later also starts a new call. Later fragments without an ``id`` go to the newest call at
   that ``index``.
5. Otherwise the fragment belongs to the newest call at its ``index``. Its ``arguments`` are
   appended unchanged: the JSON is never parsed or re-serialised. A repeated ``name`` is
   ignored and does **not** reset the arguments, which is upstream's bug.

A call's ``call_id`` comes from its first fragment. Its ``name`` comes from its first
fragment that has a non-empty ``name``, which is normally the first fragment. A call whose
name never arrived is still emitted, with ``name = ""``. Dropping it would be silent data
loss (LLM-TC-3). Emitting it lets the tool executor report "no such function" back to the
model, which can then recover.

One repair is applied to the arguments: a JS or Python server can split a non-BMP character
between the two UTF-16 halves of its surrogate pair. Each half then arrives as a lone
surrogate in its own fragment. The halves are rejoined into the one character they encode.
The text is otherwise exactly the concatenation of the fragments.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

from voicewire.reference.llm.chat_chunk import FunctionToolCall

__all__ = ["ToolCallAssembler", "ToolCallFragment"]

_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_optional_str(value: object, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{what} must be a str or None, got {type(value).__name__}")
    return value


def _check_optional_index(value: object, what: str) -> int | None:
    if value is None:
        return None
    # bool is an int subclass; ``True`` as an index is a server bug, not index 1.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int or None, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{what} must be >= 0, got {value}")
    return value


@dataclasses.dataclass(frozen=True)
class ToolCallFragment:
    """One entry of a delta's ``tool_calls`` list (LLM-SSE-3), with only the fields that matter.

    ``index`` is ``None`` only when a non-conformant server leaves it out. ``type`` is not kept
    because only ``"function"`` exists (and :meth:`from_json` rejects anything else).
    """

    index: int | None
    id: str | None = None
    name: str | None = None
    arguments: str | None = None

    def __post_init__(self) -> None:
        _check_optional_index(self.index, "index")
        _check_optional_str(self.id, "id")
        _check_optional_str(self.name, "name")
        _check_optional_str(self.arguments, "arguments")

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ToolCallFragment:
        """Build a fragment from its decoded wire form.

        ``d`` is ``{"index", "id"?, "type"?, "function": {"name"?, "arguments"?}}``. A missing or
        ``null`` value is ``None``, and so is a missing or ``null`` ``function``. Unknown keys,
        such as a provider's ``extra_content``, are ignored. A value of the wrong type raises
        :class:`TypeError`, and a ``type`` other than ``"function"`` or a negative ``index``
        raises :class:`ValueError`. Each message names the offending key.
        """
        if not isinstance(d, Mapping):
            raise TypeError(f"d must be a dict, got {type(d).__name__}")
        index = _check_optional_index(d.get("index"), "index")
        call_id = _check_optional_str(d.get("id"), "id")
        call_type = _check_optional_str(d.get("type"), "type")
        if call_type is not None and call_type != "function":
            raise ValueError(f"type must be 'function', got {call_type!r}")
        function = d.get("function")
        if function is None:
            return cls(index=index, id=call_id)
        if not isinstance(function, Mapping):
            raise TypeError(f"function must be a dict or None, got {type(function).__name__}")
        return cls(
            index=index,
            id=call_id,
            name=_check_optional_str(function.get("name"), "function.name"),
            arguments=_check_optional_str(function.get("arguments"), "function.arguments"),
        )


@dataclasses.dataclass
class _PartialCall:
    index: int
    call_id: str
    name: str
    argument_parts: list[str]

    def to_function_tool_call(self) -> FunctionToolCall:
        arguments = "".join(self.argument_parts)
        if _SURROGATE.search(arguments):
            # Decoding through UTF-16 joins each valid high+low pair into its character.
            # "surrogatepass" keeps a genuinely lone half as it was, so nothing is lost.
            arguments = arguments.encode("utf-16-le", "surrogatepass").decode(
                "utf-16-le", "surrogatepass"
            )
        return FunctionToolCall(name=self.name, arguments=arguments, call_id=self.call_id)


class ToolCallAssembler:
    """Turns the tool-call fragments of one completion into whole calls (LLM-TC-1..4).

    Feed each delta's fragments with :meth:`feed`, then call :meth:`finish` once, at the
    first ``finish_reason`` or at the end of the stream. The module docstring gives the
    assembly rules and explains why calls are held until the finish.
    """

    def __init__(self) -> None:
        self._calls: list[_PartialCall] = []
        # The newest call per index; an older call at a reused index stays in ``_calls`` only.
        self._newest_by_index: dict[int, _PartialCall] = {}

    @property
    def pending(self) -> int:
        """How many calls have started and not yet been returned by :meth:`finish`."""
        return len(self._calls)

    @property
    def has_pending(self) -> bool:
        """Whether :meth:`finish` would return at least one call."""
        return bool(self._calls)

    def feed(self, fragments: Iterable[ToolCallFragment]) -> list[FunctionToolCall]:
        """Apply one delta's ``tool_calls`` fragments, in list order; return the calls they
        completed.

        The list may hold several calls, several fragments of one call, and indices in any
        order. It is checked in full before any state changes, so a bad element leaves the
        assembler as it was. This assembler always returns ``[]``: a call is complete only at
        the finish (see the module docstring). The return value is the seam through which an
        assembler that hands calls over earlier plugs into the same stream loop.
        """
        if isinstance(fragments, ToolCallFragment):
            raise TypeError("fragments must be an iterable of ToolCallFragment, got one fragment")
        batch = tuple(fragments)
        for position, fragment in enumerate(batch):
            if not isinstance(fragment, ToolCallFragment):
                raise TypeError(
                    f"fragments[{position}] must be a ToolCallFragment, "
                    f"got {type(fragment).__name__}"
                )
        for fragment in batch:
            self._apply(fragment)
        return []

    def finish(self) -> list[FunctionToolCall]:
        """End the completion: return every started call once, then reset.

        Calls come in ``index`` order. Calls that share a reused ``index`` come in the order
        they started. A second call returns ``[]``, and fragments fed afterwards start a new
        completion.
        """
        # sorted() is stable, so calls with the same index keep their arrival order.
        ordered = sorted(self._calls, key=lambda call: call.index)
        self._calls = []
        self._newest_by_index = {}
        return [call.to_function_tool_call() for call in ordered]

    def _apply(self, fragment: ToolCallFragment) -> None:
        # Servers send "" where they mean "absent" (e.g. ``"id": ""`` on continuations).
        # Treating it as a real id would split one call in two.
        call_id = fragment.id or None
        name = fragment.name or None
        arguments = fragment.arguments or None
        if call_id is None and name is None and arguments is None:
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
