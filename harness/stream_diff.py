"""Stream equivalence: what two runs of one operation must share, and where they differ.

Two implementations (or two recordings) of one client operation never emit identical events:
chunk boundaries, frame sizes and clocks differ. What must agree is what the SPEC's rules
say about the stream. A **normaliser** turns one operation's events into a
:class:`NormalisedStream` of named **aspects** (``text``, ``tool_calls``, ``finals``,
``audio``, ``order``, ``errors`` ...), each holding a JSON-ready value and citing the SPEC
rule IDs it evidences; :func:`compare` then says, for every pair of streams and every
aspect, whether they agree and, when not, the first difference
(``finals[1].end: 1.200 vs 1.450 (tolerance 0.050)``). Values under the keys an aspect names
as times are seconds, compared within a tolerance.

This module names no protocol: each protocol's module defines its normalisers (a mapping of
capability name to normaliser), and :mod:`voicewire.harness.protocols` registers them in one
:class:`StreamNormalisers`. Normalisers ignore event types they do not know.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from voicewire.harness.capabilities import CapabilityTable

__all__ = [
    "Aspect",
    "AspectDiff",
    "DiffMatrix",
    "NormalisedStream",
    "Normaliser",
    "PcmDigest",
    "StreamNormalisers",
    "collapse_runs",
    "compare",
    "error_essentials",
    "input_names",
]


@dataclass(frozen=True)
class Aspect:
    """One thing two runs of an operation must agree on.

    ``value`` is JSON-ready (str, numbers, lists, dicts); ``rules`` the SPEC rule IDs it
    evidences; ``times`` the dict keys (at any depth of ``value``) whose numbers are seconds,
    compared within the tolerance instead of exactly.
    """

    value: Any
    rules: tuple[str, ...] = ()
    times: frozenset[str] = frozenset()


@dataclass(frozen=True)
class NormalisedStream:
    """One operation's stream as its aspects, by name. ``capability`` is the operation's
    capability (``llm.chat``); None stands for "no such session" (one input has fewer
    sessions than another)."""

    capability: str | None
    aspects: Mapping[str, Aspect] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The stream as JSON-ready data: the capability and each aspect's value and rules."""
        return {
            "capability": self.capability,
            "aspects": {
                name: {"value": aspect.value, "rules": list(aspect.rules)}
                for name, aspect in self.aspects.items()
            },
        }


Normaliser = Callable[[Sequence[Any], "Mapping[str, Any] | None"], "dict[str, Aspect]"]
"""A protocol's normaliser for one capability: from the operation's events (parsed event
models; events of unknown types may be raw dicts, to be ignored) and, for an operation whose
answer is not a list of events (a voice list), that answer as JSON-ready data (else None),
the stream's aspects by name (the same names for every stream of the capability)."""


class StreamNormalisers:
    """The registered normalisers, by capability name (each must be a capability of
    ``table``)."""

    def __init__(self, table: CapabilityTable, normalisers: Mapping[str, Normaliser]) -> None:
        unknown = sorted(set(normalisers) - table.names)
        if unknown:
            raise ValueError(f"normalisers for unknown capabilities: {unknown}")
        self._normalisers = dict(normalisers)

    @property
    def capabilities(self) -> frozenset[str]:
        """The capabilities that have a normaliser."""
        return frozenset(self._normalisers)

    def normalise(
        self,
        capability: str,
        events: Sequence[Any],
        answer: Mapping[str, Any] | None = None,
    ) -> NormalisedStream:
        """``events`` (and ``answer``, see :data:`Normaliser`) of one ``capability``
        operation, normalised; ``KeyError`` names the capabilities that have a normaliser.
        An aspect that evidences no rule (an id the client picks afresh every run) is left
        out: two clients need not agree on it, in a diff or a replay."""
        try:
            normaliser = self._normalisers[capability]
        except KeyError:
            raise KeyError(
                f"no stream normalisation for capability {capability!r} "
                f"(known: {', '.join(sorted(self._normalisers))})"
            ) from None
        aspects = normaliser(events, answer)
        return NormalisedStream(
            capability, {name: aspect for name, aspect in aspects.items() if aspect.rules}
        )


# -- helpers for normalisers -------------------------------------------------------------------


def collapse_runs(labels: Iterable[str]) -> list[str]:
    """``labels`` with each run of equal labels collapsed to one (``chunk, chunk, end`` →
    ``chunk, end``): the event order without the counts that chunking decides."""
    collapsed: list[str] = []
    for label in labels:
        if not collapsed or collapsed[-1] != label:
            collapsed.append(label)
    return collapsed


def error_essentials(error: Any, **context: Any) -> dict[str, Any]:
    """What two reports of one error must share: its ``kind``, ``retryable`` and
    ``status_code`` (an :class:`~voicewire.harness.events.ErrorInfo`), with ``context``
    (where it was reported); the message is each implementation's own wording."""
    return {
        **context,
        "kind": error.kind,
        "retryable": error.retryable,
        "status_code": error.status_code,
    }


@dataclass
class PcmDigest:
    """PCM audio summed up as it is fed, frame by frame: how a normaliser reports audio
    without keeping the bytes (the digest does not depend on how the audio was framed)."""

    sample_rate: int | None = None
    channels: int | None = None
    size: int = 0
    _hash: Any = field(default_factory=hashlib.sha256, repr=False)
    _formats: set[tuple[int, int]] = field(default_factory=set, repr=False)

    def feed(self, pcm: bytes, sample_rate: int, channels: int) -> None:
        """One frame of PCM s16le, interleaved ``channels``."""
        self._hash.update(pcm)
        self.size += len(pcm)
        self._formats.add((sample_rate, channels))
        if self.sample_rate is None:
            self.sample_rate, self.channels = sample_rate, channels

    @property
    def duration(self) -> float:
        """Seconds of audio fed (at the first frame's format)."""
        if not self.sample_rate or not self.channels:
            return 0.0
        return self.size / (2 * self.channels * self.sample_rate)

    def to_json(self) -> dict[str, Any]:
        """``bytes``, ``duration`` (seconds), ``sample_rate``, ``channels``, ``sha256`` and,
        when frames changed format midway, every format seen. In that order, so a difference
        names what a reader grasps first (how much audio) before the digest."""
        data: dict[str, Any] = {
            "bytes": self.size,
            "duration": round(self.duration, 6),
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "sha256": self._hash.hexdigest(),
        }
        if len(self._formats) > 1:
            data["formats"] = sorted(list(f) for f in self._formats)
        return data


# -- comparing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AspectDiff:
    """How two streams compare on one aspect: ``difference`` is None when they agree, else
    the first difference, readable."""

    difference: str | None

    @property
    def agree(self) -> bool:
        return self.difference is None


_MISSING = object()


def _show(value: Any, limit: int = 120) -> str:
    if value is _MISSING:
        return "(none)"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_difference(
    path: str, a: Any, b: Any, times: frozenset[str], tolerance: float, timed: bool = False
) -> str | None:
    """The first place ``a`` and ``b`` differ, as ``path: a vs b``; None when equal."""
    if timed and _is_number(a) and _is_number(b):
        if abs(a - b) <= tolerance + 1e-9:
            return None
        return f"{path}: {a:.3f} vs {b:.3f} (tolerance {tolerance:.3f})"
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            found = _first_difference(
                f"{path}.{key}",
                a.get(key, _MISSING),
                b.get(key, _MISSING),
                times,
                tolerance,
                key in times,
            )
            if found is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        for index in range(max(len(a), len(b))):
            found = _first_difference(
                f"{path}[{index}]",
                a[index] if index < len(a) else _MISSING,
                b[index] if index < len(b) else _MISSING,
                times,
                tolerance,
                timed,
            )
            if found is not None:
                if len(a) != len(b):
                    found += f" ({len(a)} vs {len(b)} items)"
                return found
        return None
    if isinstance(a, str) and isinstance(b, str):
        if a == b:
            return None
        if max(len(a), len(b)) <= 40:
            return f"{path}: {_show(a)} vs {_show(b)}"
        at = next(
            (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
        )
        start = max(0, at - 10)
        return (
            f"{path}: first difference at character {at}: "
            f"{_show(a[start : at + 20])} vs {_show(b[start : at + 20])} "
            f"({len(a)} vs {len(b)} characters)"
        )
    if a == b and type(a) is type(b):
        return None
    return f"{path}: {_show(a)} vs {_show(b)}"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class DiffMatrix:
    """Which of N streams agree on what: for every pair ``(i, j)`` (``i < j``) and every
    aspect, an :class:`AspectDiff`."""

    names: tuple[str, ...]
    capabilities: tuple[str | None, ...]
    aspects: tuple[str, ...]
    rules: Mapping[str, tuple[str, ...]]
    cells: Mapping[tuple[int, int], Mapping[str, AspectDiff]]
    tolerance: float

    @property
    def pairs(self) -> list[tuple[int, int]]:
        """Every pair of inputs, in order."""
        return list(self.cells)

    @property
    def agree(self) -> bool:
        """Whether every pair agrees on every aspect."""
        return all(diff.agree for cell in self.cells.values() for diff in cell.values())

    def differences(self) -> list[tuple[str, str, str]]:
        """``(pair, aspect, difference)`` for every disagreement (``pair`` like ``A~B``)."""
        return [
            (self._pair_name(pair), aspect, diff.difference)
            for pair, cell in self.cells.items()
            for aspect, diff in cell.items()
            if diff.difference is not None
        ]

    def _pair_name(self, pair: tuple[int, int]) -> str:
        return f"{self.names[pair[0]]}~{self.names[pair[1]]}"

    def render_text(self) -> str:
        """A matrix, one row per aspect and one column per pair (``same`` or ``DIFF``), the
        rules each aspect evidences, then each difference in full."""
        pairs = self.pairs
        headers = ["aspect", *(self._pair_name(pair) for pair in pairs), "rules"]
        rows = [
            [
                aspect,
                *(
                    "-"
                    if aspect not in self.cells[pair]
                    else "same"
                    if self.cells[pair][aspect].agree
                    else "DIFF"
                    for pair in pairs
                ),
                ", ".join(self.rules.get(aspect, ())),
            ]
            for aspect in self.aspects
        ]
        widths = [max(len(row[c]) for row in [headers, *rows]) for c in range(len(headers) - 1)]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True))
            + "  "
            + row[-1]
            for row in [headers, *rows]
        ]
        lines = [line.rstrip() for line in lines]
        # Each difference starts with its path, which starts with the aspect's name.
        for pair_name, _aspect, difference in self.differences():
            lines.append(f"  {pair_name}  {difference}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """The matrix as JSON-ready data: inputs, aspects with their rules, and per pair each
        aspect's agreement and difference."""
        return {
            "inputs": list(self.names),
            "capabilities": list(self.capabilities),
            "tolerance": self.tolerance,
            "agree": self.agree,
            "aspects": {aspect: list(self.rules.get(aspect, ())) for aspect in self.aspects},
            "pairs": [
                {
                    "a": self.names[pair[0]],
                    "b": self.names[pair[1]],
                    "agree": all(diff.agree for diff in cell.values()),
                    "aspects": {
                        aspect: {"agree": diff.agree, "difference": diff.difference}
                        for aspect, diff in cell.items()
                    },
                }
                for pair, cell in self.cells.items()
            ],
        }


def compare(
    streams: Sequence[NormalisedStream],
    *,
    tolerance: float,
    names: Sequence[str] | None = None,
    only: Iterable[str] | None = None,
) -> DiffMatrix:
    """Compare every pair of ``streams`` on every aspect (or the aspects in ``only``).

    ``names`` label the streams (default ``A``, ``B``, ``C`` ...). Times (the keys each
    aspect names) agree within ``tolerance`` seconds. Streams of different capabilities
    differ on the pseudo-aspect ``capability``; an aspect one stream has and the other lacks
    differs.
    """
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    if names is None:
        names = input_names(len(streams))
    if len(names) != len(streams):
        raise ValueError(f"{len(names)} names for {len(streams)} streams")
    wanted = None if only is None else set(only)
    aspects: dict[str, tuple[str, ...]] = {}
    for stream in streams:
        for name, aspect in stream.aspects.items():
            if wanted is None or name in wanted:
                aspects.setdefault(name, aspect.rules)
    mixed = len({stream.capability for stream in streams}) > 1
    if mixed:
        aspects = {"capability": (), **aspects}
    cells: dict[tuple[int, int], dict[str, AspectDiff]] = {}
    for i, j in combinations(range(len(streams)), 2):
        a, b = streams[i], streams[j]
        cell: dict[str, AspectDiff] = {}
        if mixed:
            cell["capability"] = AspectDiff(
                None
                if a.capability == b.capability
                else f"{a.capability or '(no session)'} vs {b.capability or '(no session)'}"
            )
        for name in aspects:
            if name == "capability" and mixed:
                continue
            left, right = a.aspects.get(name), b.aspects.get(name)
            if left is None and right is None:
                continue
            if left is None or right is None:
                cell[name] = AspectDiff(
                    f"{name}: only {names[i] if right is None else names[j]} has it"
                )
                continue
            times = left.times | right.times
            cell[name] = AspectDiff(
                _first_difference(name, left.value, right.value, times, tolerance)
            )
        cells[(i, j)] = cell
    return DiffMatrix(
        names=tuple(names),
        capabilities=tuple(stream.capability for stream in streams),
        aspects=tuple(aspects),
        rules=aspects,
        cells=cells,
        tolerance=tolerance,
    )


def input_names(count: int) -> list[str]:
    """How ``count`` compared inputs are labelled: ``A``, ``B`` ... ``Z``, ``AA`` ..."""
    names = []
    for index in range(count):
        letters = ""
        index += 1
        while index:
            index, rest = divmod(index - 1, 26)
            letters = chr(ord("A") + rest) + letters
        names.append(letters)
    return names
