"""The synchronous face of an IUT that suite cases (and users' own tests) hold.

``voicewire_iut`` is an :class:`IUTDriver`: ``chat(...)`` runs one completion on the harness
loop and returns a :class:`ChatOutcome` (the canonical events plus the views cases assert
on); ``context(op, ctx, **args)`` applies one chat-context operation; ``server()`` names the
server under test. Whatever the adapter answers is validated here: an adapter that returns
something other than canonical events, or no ``llm.end``, is a broken adapter
(:class:`IUTProtocolError`, reported ``ERROR``), not a broken implementation.
"""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError
from voicewire.harness.events import (
    AvailabilityEvent,
    ChunkEvent,
    EndEvent,
    ErrorInfo,
    Event,
    LLMErrorEvent,
    ToolCall,
    UsageEvent,
    load_events,
)
from voicewire.harness.iut import (
    IUT,
    ChatRequest,
    ContextRequest,
    ContextResult,
    ServerTarget,
)

if TYPE_CHECKING:
    from voicewire.harness.pytest_plugin import CaseRecord, VoicewireRuntime

__all__ = ["ChatOutcome", "IUTDriver", "IUTProtocolError"]

T = TypeVar("T")


class IUTProtocolError(RuntimeError):
    """The adapter (not the implementation) broke the IUT protocol."""


@dataclass(frozen=True)
class ChatOutcome:
    """Everything one ``chat()`` produced, in order, ending with one ``llm.end``."""

    events: tuple[Event, ...]

    @property
    def chunks(self) -> list[ChunkEvent]:
        return [e for e in self.events if isinstance(e, ChunkEvent)]

    @property
    def text(self) -> str:
        """All emitted content, concatenated (LLM-TXT-1)."""
        return "".join(c.content or "" for c in self.chunks)

    @property
    def tool_calls(self) -> list[ToolCall]:
        """All emitted tool calls, in emission order."""
        return [call for c in self.chunks for call in c.tool_calls]

    @property
    def usages(self) -> list[UsageEvent]:
        return [e for e in self.events if isinstance(e, UsageEvent)]

    @property
    def errors(self) -> list[LLMErrorEvent]:
        """The ``error`` events of failed attempts (RETRY-5)."""
        return [e for e in self.events if isinstance(e, LLMErrorEvent)]

    @property
    def availability(self) -> list[AvailabilityEvent]:
        return [e for e in self.events if isinstance(e, AvailabilityEvent)]

    @property
    def end(self) -> EndEvent:
        end = self.events[-1]
        assert isinstance(end, EndEvent)
        return end

    @property
    def error(self) -> ErrorInfo | None:
        """What the stream raised, or None when it finished."""
        return self.end.error

    @property
    def ids(self) -> set[str]:
        """The chunk ids of every chunk and usage event (LLM-ORD-1)."""
        return {e.id for e in self.events if isinstance(e, (ChunkEvent, UsageEvent))}

    def describe(self, limit: int = 30) -> str:
        """A compact, one-event-per-line rendering for failure messages."""
        lines = [
            f"  {e.t:7.3f} {e.type} "
            + str(e.model_dump(mode="json", exclude={"t", "type"}, exclude_defaults=True))
            for e in self.events[:limit]
        ]
        if len(self.events) > limit:
            lines.append(f"  ... {len(self.events) - limit} more events")
        return "\n".join(lines)


class IUTDriver:
    """A started IUT, driven synchronously on the harness loop."""

    def __init__(self, iut: IUT, runtime: VoicewireRuntime, record: CaseRecord) -> None:
        self._iut = iut
        self._runtime = runtime
        self._record = record

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
        return self._runtime.loop.run(coro, timeout=timeout or self._runtime.timeout)

    def chat(self, request: ChatRequest | None = None, /, **fields: Any) -> ChatOutcome:
        """Run one completion: pass a :class:`ChatRequest`, or its fields as keywords."""
        if request is None:
            request = ChatRequest(**fields)
        elif fields:
            request = request.model_copy(update=fields)
        answer = self.run(self._iut.llm_chat(request))
        return ChatOutcome(tuple(_checked_events(answer, self._iut.name)))

    def context(self, op: str, ctx: dict[str, Any], /, **args: Any) -> ContextResult:
        """Apply one chat-context operation (see :class:`voicewire.harness.iut.ContextRequest`)."""
        answer = self.run(self._iut.chat_context(ContextRequest(op=op, ctx=ctx, args=args)))
        if isinstance(answer, ContextResult):
            return answer
        try:
            return ContextResult.model_validate(answer)
        except ValidationError as exc:
            raise IUTProtocolError(
                f"{self._iut.name}: chat_context answered {answer!r:.200}, not a ContextResult: "
                f"{exc}"
            ) from None

    def server(self) -> ServerTarget:
        """The server under test (for an IUT without one: the embedded simulator)."""
        return self._iut.server_target(self._runtime.simulator.server_target())


def _checked_events(answer: Any, name: str) -> list[Event]:
    if not isinstance(answer, Sequence) or isinstance(answer, (str, bytes)):
        raise IUTProtocolError(f"{name}: llm_chat returned {type(answer).__name__}, not events")
    try:
        events = load_events([e.model_dump() if hasattr(e, "model_dump") else e for e in answer])
    except ValidationError as exc:
        raise IUTProtocolError(f"{name}: llm_chat returned invalid events: {exc}") from None
    ends = [i for i, e in enumerate(events) if isinstance(e, EndEvent)]
    if ends != [len(events) - 1]:
        raise IUTProtocolError(
            f"{name}: llm_chat must end with exactly one llm.end event (got them at {ends} "
            f"of {len(events)})"
        )
    return events
