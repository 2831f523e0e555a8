"""``timestampInfo``: the word or character times that come with Inworld audio (IW-HTTP-3),
over HTTP (``result.timestampInfo``) and over WebSocket (``audioChunk.timestampInfo``) alike.

``wordAlignment`` holds three parallel arrays, ``words``, ``wordStartTimeSeconds`` and
``wordEndTimeSeconds``; ``characterAlignment`` the same for ``characters``. Times are seconds
from the start of the generation. The arrays follow proto3 JSON: an empty array may be left
out, so an absent key reads as ``()``, as upstream's ``.get(key, [])``.

The server side checks what it is about to send with :func:`alignment_problems` (the arrays
MUST have equal lengths). The client side maps them to
:class:`~voicewire.reference.stt.speech.TimedString`\\ s with :func:`timed_strings`, as
upstream's ``_parse_timestamp_info``: words without a trailing space, word times first, then
character times, each shifted by ``offset``. Arrays of unequal length are paired up to the
shortest, as upstream does: a client never crashes on them (CLI-ROB-1) and the server's
breach is the server suite's to report, through :func:`alignment_problems`.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from voicewire.reference.json_wire import as_tuple
from voicewire.reference.stt.speech import TimedString

__all__ = [
    "InworldCharacterAlignment",
    "InworldTimestampInfo",
    "InworldWordAlignment",
    "alignment_problems",
    "timed_strings",
]

Strings = Annotated[tuple[str, ...], BeforeValidator(as_tuple)]
Seconds = Annotated[tuple[float, ...], BeforeValidator(as_tuple)]


class _Wire(BaseModel):
    # strict: "0.5" is not 0.5; unknown keys ignored (CLI-ROB-1); no NaN or Infinity.
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore", allow_inf_nan=False)


class InworldWordAlignment(_Wire):
    """``wordAlignment``: word ``i`` is spoken from ``wordStartTimeSeconds[i]`` to
    ``wordEndTimeSeconds[i]``."""

    words: Strings = Field(default=())
    wordStartTimeSeconds: Seconds = Field(default=())
    wordEndTimeSeconds: Seconds = Field(default=())


class InworldCharacterAlignment(_Wire):
    """``characterAlignment``: character ``i`` is spoken from
    ``characterStartTimeSeconds[i]`` to ``characterEndTimeSeconds[i]``."""

    characters: Strings = Field(default=())
    characterStartTimeSeconds: Seconds = Field(default=())
    characterEndTimeSeconds: Seconds = Field(default=())


class InworldTimestampInfo(_Wire):
    """``timestampInfo``: word alignment (``timestampType: WORD``), character alignment
    (``CHARACTER``), or neither. Optional keys are left out when encoded
    (``model_dump(exclude_none=True)``)."""

    wordAlignment: InworldWordAlignment | None = None
    characterAlignment: InworldCharacterAlignment | None = None

    def to_wire(self) -> dict[str, object]:
        """The JSON object as a server sends it (absent alignments left out, arrays as
        lists)."""
        return _as_lists(self.model_dump(exclude_none=True))


def _as_lists(value: object) -> object:
    if isinstance(value, dict):
        return {key: _as_lists(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [_as_lists(item) for item in value]
    return value


def alignment_problems(info: InworldTimestampInfo) -> list[str]:
    """What makes ``info`` one a server must not send (IW-HTTP-3): parallel arrays of unequal
    length, each named with its path and lengths. Empty when ``info`` conforms."""
    problems: list[str] = []
    if info.wordAlignment is not None:
        problems += _unequal(
            "wordAlignment",
            words=info.wordAlignment.words,
            wordStartTimeSeconds=info.wordAlignment.wordStartTimeSeconds,
            wordEndTimeSeconds=info.wordAlignment.wordEndTimeSeconds,
        )
    if info.characterAlignment is not None:
        problems += _unequal(
            "characterAlignment",
            characters=info.characterAlignment.characters,
            characterStartTimeSeconds=info.characterAlignment.characterStartTimeSeconds,
            characterEndTimeSeconds=info.characterAlignment.characterEndTimeSeconds,
        )
    return problems


def _unequal(where: str, **arrays: tuple[object, ...]) -> list[str]:
    lengths = {name: len(values) for name, values in arrays.items()}
    if len(set(lengths.values())) <= 1:
        return []
    listed = ", ".join(f"{name} has {length}" for name, length in lengths.items())
    return [f"{where}: parallel arrays of unequal length ({listed})"]


def timed_strings(info: InworldTimestampInfo, *, offset: float = 0.0) -> tuple[TimedString, ...]:
    """``info`` as timed strings on the stream's timeline: every word (no trailing space),
    then every character, with ``offset`` added to both times. Unequal arrays are paired up
    to the shortest (upstream's ``zip``); ``offset`` must be finite."""
    if not math.isfinite(offset):
        raise ValueError(f"offset must be a finite number of seconds, got {offset!r}")
    items: list[TimedString] = []
    if info.wordAlignment is not None:
        words = info.wordAlignment
        items += _pair(words.words, words.wordStartTimeSeconds, words.wordEndTimeSeconds, offset)
    if info.characterAlignment is not None:
        chars = info.characterAlignment
        items += _pair(
            chars.characters,
            chars.characterStartTimeSeconds,
            chars.characterEndTimeSeconds,
            offset,
        )
    return tuple(items)


def _pair(
    texts: tuple[str, ...], starts: tuple[float, ...], ends: tuple[float, ...], offset: float
) -> list[TimedString]:
    return [
        TimedString(text=text, start_time=offset + start, end_time=offset + end)
        for text, start, end in zip(texts, starts, ends, strict=False)
    ]
