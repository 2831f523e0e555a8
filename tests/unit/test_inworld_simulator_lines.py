"""The Inworld simulator's NDJSON journal (``simulators/inworld/synthesis.py``): every audio
line the simulator builds carries its journal summary, made from its PCM, so journaling a
line parses nothing back; the journal is exactly what reading the bytes that went out gives,
through interleaved lines and every line fault (a line a fault altered is read as it went
out)."""

from __future__ import annotations

import zlib
from typing import Any, Literal

import pytest
from voicewire.reference.tone_code import encode_tone
from voicewire.simulators import parse_scenario
from voicewire.simulators.core.actions import walk
from voicewire.simulators.core.journal import Journal
from voicewire.simulators.inworld.synthesis import (
    LINE_KIND,
    InworldSynthesisReply,
    _actions,
    _interleaved,
    _LineJournal,
    synthesis_lines,
)
from voicewire.simulators.scenario import Timing

RATE = 16000
TEXT = "Hello there world. Bye!"
AUDIO_LINE = '{"result":{"audioContent":"AAABAA=="}}'

REPLIES: dict[str, dict[str, Any]] = {
    "plain": {},
    "after-audio": {"timestamp_lines": "after_audio"},
    "unequal": {"unequal_timestamps": True},
    "blank-interleaved": {"interleave": ""},
    "audio-interleaved": {"interleave": AUDIO_LINE, "timestamp_lines": "after_audio"},
}
FAULTS: dict[str, list[dict[str, Any]]] = {
    "none": [],
    "drop-duplicate-reorder": [
        {"kind": "drop", "at_event": 1},
        {"kind": "duplicate", "at_event": 2},
        {"kind": "reorder", "at_event": 4},
    ],
    "malformed-audio-line": [{"kind": "malformed", "at_event": 1, "line": AUDIO_LINE}],
    "malformed-default-and-error": [
        {"kind": "malformed", "at_event": 0},
        {"kind": "error_event", "at_event": 2, "code": 3, "message": "x"},
    ],
    "byte-split": [{"kind": "byte_split", "sizes": [7, 700]}],
    "disconnect": [{"kind": "disconnect", "at_event": 3}],
}


class _Exchange:
    """Where :class:`_LineJournal` journals: a real journal, one exchange of it."""

    def __init__(self) -> None:
        self.journal = Journal()

    def writer(self, kind: str) -> Any:
        return self.journal.writer("s", 1, kind)

    def frame(self, direction: Literal["in", "out"], kind: str, data: object = None) -> None:
        self.journal.record(scenario="s", exchange=1, direction=direction, kind=kind, data=data)

    def note(self, kind: str, data: object = None) -> None:
        self.journal.record(scenario="s", exchange=1, direction="note", kind=kind, data=data)


class _CountingJournal(_LineJournal):
    """The line journal, counting the lines it had to read back."""

    parsed = 0

    def _summary(self, data: bytes) -> dict[str, Any] | None:
        self.parsed += 1
        return super()._summary(data)


def _journal(
    reply: dict[str, Any], faults: list[dict[str, Any]], *, as_sent: bool, granularity: str
) -> tuple[list[dict[str, Any]], int]:
    """The journal of one synthesis (its entries without sequence and time) and how many
    lines it read back; ``as_sent``: every line handed over as plain bytes, as they went out,
    so the journal reads each one back."""
    scenario = parse_scenario(
        {
            "name": "s",
            "rules": [
                {"match": {"endpoint": "inworld.synthesize"}, "reply": reply, "faults": faults}
            ],
        }
    )
    rule = scenario.rules[0]
    script = InworldSynthesisReply(**reply)
    spoken = encode_tone(TEXT, sample_rate=RATE)
    lines = synthesis_lines(
        spoken.to_bytes(),
        sample_rate=RATE,
        reply=script,
        alignment=spoken.alignment,
        granularity=granularity,
    )
    if script.interleave is not None:
        lines = _interleaved(lines, script.interleave)
    if as_sent:
        lines = (bytes(line) for line in lines)
    exchange = _Exchange()
    journal = _CountingJournal(exchange, RATE)  # type: ignore[arg-type]
    actions = _actions(lines, Timing(), rule.faults_for(1), 0.0)
    for _ in walk(actions, journal=journal, write_kind=LINE_KIND):
        pass
    entries = [
        {k: v for k, v in entry.items() if k not in ("seq", "t")}
        for entry in exchange.journal.entries()
    ]
    return entries, journal.parsed


@pytest.mark.parametrize("granularity", ["WORD", "CHARACTER"])
@pytest.mark.parametrize("faults", list(FAULTS))
@pytest.mark.parametrize("reply", list(REPLIES))
def test_the_journal_is_what_reading_the_lines_sent_gives(
    reply: str, faults: str, granularity: str
) -> None:
    carried, _ = _journal(REPLIES[reply], FAULTS[faults], as_sent=False, granularity=granularity)
    read, _ = _journal(REPLIES[reply], FAULTS[faults], as_sent=True, granularity=granularity)
    assert carried == read
    if faults != "byte-split":  # pieces of lines are journaled as pieces
        assert any("crc32" in entry["data"] for entry in carried if entry["kind"] == LINE_KIND)


def test_a_built_line_is_never_read_back() -> None:
    entries, parsed = _journal(
        {"interleave": "", "chunk_duration": 0.02}, [], as_sent=False, granularity="WORD"
    )
    assert parsed == 0
    pcm = encode_tone(TEXT, sample_rate=RATE).to_bytes()
    summaries = [e["data"] for e in entries if isinstance(e["data"], dict)]
    assert len(summaries) == -(-len(pcm) // (2 * round(0.02 * RATE)))
    assert sum(s["samples"] for s in summaries) * 2 == len(pcm)


def test_a_faults_audio_line_is_read_as_it_went_out() -> None:
    faults = [{"kind": "malformed", "at_event": 1, "line": AUDIO_LINE}]
    entries, parsed = _journal({}, faults, as_sent=False, granularity="WORD")
    assert parsed == 1
    lines = [e["data"] for e in entries if e["kind"] == LINE_KIND]
    assert lines[1] == {
        "line": "result",
        "samples": 2,
        "duration": round(2 / RATE, 6),
        "crc32": f"{zlib.crc32(bytes([0, 0, 1, 0])):08x}",  # AAABAA== decoded
        "event": 1,
    }
