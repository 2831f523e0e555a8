"""Raw answers: a scripted status, headers and exact body bytes, for any HTTP endpoint.

A rule's :class:`~voicewire.simulators.scenario.RawReply` is what a broken or hostile server
sends (a wrong content type, bytes that are not UTF-8, a body cut anywhere, a reset): the
protocol is not consulted, so the same vocabulary serves every protocol and both shells.
:func:`raw_answer` journals the answer and turns its body into the core's actions (each piece
its own transport write, pauses time-scaled), which the shells execute with
:func:`~voicewire.simulators.core.actions.walk`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from voicewire.simulators.core.actions import Action, Disconnect, Sleep, Write
from voicewire.simulators.core.state import Exchange
from voicewire.simulators.scenario import RawReply

__all__ = ["RAW_WRITE_KIND", "RawAnswer", "raw_answer"]

RAW_WRITE_KIND = "raw"
"""The journal ``kind`` of each raw body write."""


@dataclass(frozen=True)
class RawAnswer:
    """Answer with ``status`` and exactly ``headers``, then perform ``actions`` (a lazy
    iterator, pulled once; it ends with a :class:`Disconnect`)."""

    status: int
    headers: dict[str, str]
    actions: Iterator[Action] = field(default_factory=lambda: iter(()))


def _actions(raw: RawReply, time_scale: float) -> Iterator[Action]:
    for number, piece in enumerate(raw.body):
        data = piece.data()
        if data is None:
            yield Sleep((piece.sleep or 0.0) * time_scale, f"raw body piece {number}")
        elif data:
            yield Write(data, event=number, alone=True)
    yield Disconnect(raw.end)


def raw_answer(exchange: Exchange, raw: RawReply) -> RawAnswer:
    """The answer ``raw`` scripts for one admitted request, journaled as its response."""
    exchange.frame(
        "out",
        "http_response",
        {"status": raw.status, "headers": dict(raw.headers), "raw": True, "end": raw.end},
    )
    return RawAnswer(raw.status, dict(raw.headers), _actions(raw, exchange.time_scale))
