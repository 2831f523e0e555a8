"""Mutant: the port validates deltas against the keys it knows and refuses the rest.

The port author made the chunk parser strict: a delta may hold ``role``, ``content`` and
``tool_calls``, anything else is a protocol error. The first provider that adds a field
(``refusal``, ``reasoning_content``, ...) breaks every conversation with an
``APIConnectionError``.

Caught by: LLM-ROB-2 (unknown keys are ignored, never an error).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_chunk import ChatChunk
from voicewire.reference.llm.wire import CompletionReader, SSEEvent
from voicewire.reference.llm.wire.chunks import MalformedChunk, decode_payload

from tests.mutants.port import mutant

__all__ = ["StrictDeltaReader", "factory"]

_DELTA_KEYS = {"role", "content", "tool_calls"}


class StrictDeltaReader(CompletionReader):
    """The reference reader that refuses a delta with a key it does not know."""

    def feed(self, event: SSEEvent) -> list[ChatChunk]:
        if not event.data.startswith("[DONE]"):
            payload = decode_payload(event.data)
            for choice in payload.get("choices") or [] if isinstance(payload, dict) else []:
                delta = choice.get("delta") if isinstance(choice, dict) else None
                if isinstance(delta, dict) and set(delta) - _DELTA_KEYS:  # BUG
                    raise MalformedChunk(f"delta: unknown keys {sorted(set(delta) - _DELTA_KEYS)}")
        return super().feed(event)


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.unknown_delta_keys_refused:factory`` loads."""
    return mutant("unknown_delta_keys_refused", reader_class=StrictDeltaReader)
