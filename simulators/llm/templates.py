"""Encoded scripted replies, kept so a reply streamed again is not planned and encoded again.

Planning and JSON-encoding a long reply costs several times more than writing it, and a
scripted reply streams the same chunks every time except for the completion ``id`` and
``created`` at the start of each chunk, and the usage chunk (its prompt tokens come from the
request). :class:`StreamTemplates` keeps the encoded chunks of a reply, up to its finish
chunk, without their head; a later request streams ``head + tail`` per chunk, its own usage
chunk and ``[DONE]``: byte for byte what :func:`~.plan.stream_events` gives.

Production stays lazy: the first request of a reply encodes as it streams and files the
template only once the whole reply has been produced. Templates are bounded in number and in
bytes; a reply larger than the byte bound is simply never kept.
"""

from __future__ import annotations

import functools
import json
from collections import OrderedDict
from collections.abc import Iterator

from voicewire.reference.llm.wire import DONE_EVENT, chat_chunk, encode_event, usage_chunk
from voicewire.simulators.llm.plan import reply_chunks, usage_payload
from voicewire.simulators.llm.request import ChatCompletionRequest
from voicewire.simulators.llm.script import LLMReply

__all__ = ["StreamTemplates"]


@functools.lru_cache(maxsize=256)
def _tail_length(model: str) -> int:
    """How many bytes at the end of every encoded chunk of ``model`` depend neither on the
    completion ``id`` nor on ``created``: found by encoding an empty chunk under two identities
    and measuring their common ending (the wire module alone knows the chunk's shape). The
    ending after ``created`` is the same for every identity, so it is measured once per model.
    """
    mine = encode_event(chat_chunk("chatcmpl-a", 1, model, {}))
    other = encode_event(chat_chunk("chatcmpl-a~", 2, model, {}))
    common = 0
    for a, b in zip(reversed(mine), reversed(other), strict=False):
        if a != b:
            break
        common += 1
    return common


# Stand-ins encoded in place of a completion's id and created, then replaced by the real ones:
# neither can occur elsewhere in an empty chunk.
_ID_STAND_IN = "voicewire-id-stand-in"
_CREATED_STAND_IN = 918273645546372819


@functools.lru_cache(maxsize=256)
def _head_parts(model: str) -> tuple[bytes, bytes, bytes]:
    """The head of every chunk of ``model`` around its id and created value: encoding a chunk
    per request only to cut its head off cost more than writing the first events."""
    sample = encode_event(chat_chunk(_ID_STAND_IN, _CREATED_STAND_IN, model, {}))
    head = sample[: len(sample) - _tail_length(model)]
    before_id, rest = head.split(json.dumps(_ID_STAND_IN).encode(), 1)
    between, after = rest.split(str(_CREATED_STAND_IN).encode(), 1)
    return before_id, between, after


def _chunk_head(completion_id: str, created: int, model: str) -> bytes:
    """The bytes every encoded chunk of this completion starts with, up to the last one that
    depends on its ``id`` and ``created``."""
    before_id, between, after = _head_parts(model)
    return before_id + json.dumps(completion_id).encode() + between + str(created).encode() + after


class StreamTemplates:
    """Encoded replies (without each chunk's head), the ``max_entries`` most recently used
    and at most ``max_bytes`` in all.

    Replies are keyed by identity (scenario models are immutable) and held while kept, so an
    identity cannot be reused meanwhile.
    """

    def __init__(self, max_entries: int = 64, max_bytes: int = 64 * 1024 * 1024) -> None:
        for name, value in (("max_entries", max_entries), ("max_bytes", max_bytes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._tails: OrderedDict[tuple[int, str], tuple[LLMReply, list[bytes], int]] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._tails)

    @property
    def bytes(self) -> int:
        """The bytes the kept templates hold."""
        return self._bytes

    def events(
        self, reply: LLMReply, *, request: ChatCompletionRequest, completion_id: str, created: int
    ) -> Iterator[bytes]:
        """The encoded events of one streamed completion, ``[DONE]`` included, lazily."""
        key = (id(reply), request.model)
        head = _chunk_head(completion_id, created, request.model)
        kept = self._tails.get(key)
        if kept is not None and kept[0] is reply:
            self._tails.move_to_end(key)
            for tail in kept[1]:
                yield head + tail
        else:
            yield from self._encode_and_keep(
                key, reply, request.model, head, completion_id, created
            )
        usage = usage_payload(reply, request) if request.include_usage else None
        if usage is not None:
            chunk = usage_chunk(
                usage, completion_id=completion_id, created=created, model=request.model
            )
            yield encode_event(chunk)
        yield DONE_EVENT

    def _encode_and_keep(
        self,
        key: tuple[int, str],
        reply: LLMReply,
        model: str,
        head: bytes,
        completion_id: str,
        created: int,
    ) -> Iterator[bytes]:
        tails: list[bytes] | None = []
        size = 0
        chunks = reply_chunks(reply, model=model, completion_id=completion_id, created=created)
        for chunk in chunks:
            event = encode_event(chunk)
            if tails is not None:
                size += len(event) - len(head)
                if event.startswith(head) and size <= self.max_bytes:
                    tails.append(event[len(head) :])
                else:
                    tails = None  # too large to keep, or not of the expected shape
            yield event
        if tails is not None:
            self._keep(key, reply, tails, size)

    def _keep(self, key: tuple[int, str], reply: LLMReply, tails: list[bytes], size: int) -> None:
        old = self._tails.pop(key, None)
        if old is not None:
            self._bytes -= old[2]
        self._tails[key] = (reply, tails, size)
        self._bytes += size
        while len(self._tails) > self.max_entries or self._bytes > self.max_bytes:
            _, (_, _, dropped) = self._tails.popitem(last=False)
            self._bytes -= dropped
