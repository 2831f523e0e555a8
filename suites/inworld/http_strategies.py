"""Hypothesis strategies for Inworld TTS over HTTP (SPEC §5.1): NDJSON answers and the byte
splits they are delivered in.

Every strategy draws plain JSON data, so a failing example is written to the report as a
replay file and played again with ``voicewire run --replay``. Examples shrink towards one
short audio line in one write.

An answer example::

    {
      "sample_rate": 24000,                 # the synthesis's sampleRateHertz
      "timestamp_type": "WORD",             # WORD or CHARACTER: what the request asks for
      "lines": [
        {"kind": "result", "samples": 240, "seed": 3,       # 240 samples of seeded noise
         "timestamps": [["Hello", 0.0, 0.25]]},             # or null: no timestampInfo
        {"kind": "result", "samples": 0, "seed": 0,         # a timestamp-only line
         "timestamps": [["café", 0.25, 0.5]]},
        {"kind": "skip", "text": "{"},      # blank, whitespace or not JSON: a client skips it
        {"kind": "unknown", "text": "{\\"status\\": {}}"}   # neither result nor error
      ],
      "ascii": false,                       # JSON with non-ASCII as \\u escapes, or as UTF-8
      "compact": true,                      # JSON separators without spaces
      "line_end": "\\n",                     # or "\\r\\n"
      "final_newline": true,                # false: the last line ends with the body
      "cuts": [17, 5120],                   # the body cut at these 1/10000ths of its bytes
      "utf8_cuts": true                     # and inside every non-ASCII character
    }

:func:`ndjson_answer_pieces` renders an example as the writes of the body: the cuts fall
anywhere, inside a line, a base64 run, a ``\\r\\n`` or a UTF-8 character, so every example
exercises the client's reassembly of lines from bytes.
"""

from __future__ import annotations

import base64
import json
import random
from itertools import pairwise
from typing import Any

from hypothesis import strategies as st

__all__ = [
    "CUT_SCALE",
    "MAX_ANSWER_LINES",
    "NOT_JSON_LINES",
    "inworld_http_answer_examples",
    "ndjson_answer_lines",
    "ndjson_answer_pieces",
    "seeded_pcm",
]

MAX_ANSWER_LINES = 10
"""The most lines of one generated answer."""
CUT_SCALE = 10_000
"""Cuts are drawn in 1/``CUT_SCALE``\\ ths of the body's length."""
NOT_JSON_LINES = ("", " ", "\t", "x", "{", '{"result": {"audioContent": ', "data: {}", "nul")
"""Lines a client skips: blank, whitespace, or not JSON."""

_UNKNOWN_LINES = (
    '{"status": {"code": 0, "message": "ok"}}',
    '{"result": {}}',
    '{"usage": {"characters": 12}, "trace": [1, 2]}',
)
_WORDS = ("Hello", "there,", "voice", "wire.", "café", "über", "naïve", "日本", "42", "3.50")
_RATES = (24000, 16000, 8000, 22050)


def seeded_pcm(samples: int, seed: int) -> bytes:
    """``samples`` of deterministic noise, PCM s16le: every line's audio differs, so a lost,
    repeated or swapped line changes the bytes."""
    return random.Random(seed).randbytes(2 * samples)


@st.composite
def _timestamps(draw: st.DrawFn, kind: str, start: float) -> list[list[Any]]:
    """Timed entries from ``start`` on: words, or single characters of them."""
    texts = draw(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4))
    if kind == "CHARACTER":
        texts = [char for word in texts for char in word][:8]
    entries, at = [], start
    for text in texts:
        length = draw(st.sampled_from([0.05, 0.125, 0.3]))
        entries.append([text, round(at, 6), round(at + length, 6)])
        at += length + draw(st.sampled_from([0.0, 0.02]))
    return entries


@st.composite
def _result_line(draw: st.DrawFn, kind: str, start: float, *, audio: bool) -> dict[str, Any]:
    timed = draw(st.booleans()) or not audio
    return {
        "kind": "result",
        "samples": draw(st.integers(1, 1200)) if audio else 0,
        "seed": draw(st.integers(0, 2**16)),
        "timestamps": draw(_timestamps(kind, start)) if timed else None,
    }


@st.composite
def inworld_http_answer_examples(draw: st.DrawFn) -> dict[str, Any]:
    """One answer example (see the module's docstring): up to :data:`MAX_ANSWER_LINES`
    lines, at least one with audio, and up to 8 cuts of its body."""
    kind = draw(st.sampled_from(["WORD", "CHARACTER"]))
    count = draw(st.integers(1, MAX_ANSWER_LINES))
    lines: list[dict[str, Any]] = []
    start = 0.0
    for number in range(count):
        choice = draw(st.sampled_from(["audio", "audio", "timestamps", "skip", "unknown"]))
        if choice in ("audio", "timestamps") or number == 0:
            line = draw(_result_line(kind, start, audio=choice != "timestamps" or number == 0))
            if line["timestamps"]:
                start = line["timestamps"][-1][2]
        elif choice == "skip":
            line = {"kind": "skip", "text": draw(st.sampled_from(NOT_JSON_LINES))}
        else:
            line = {"kind": "unknown", "text": draw(st.sampled_from(_UNKNOWN_LINES))}
        lines.append(line)
    return {
        "sample_rate": draw(st.sampled_from(_RATES)),
        "timestamp_type": kind,
        "lines": lines,
        "ascii": draw(st.booleans()),
        "compact": draw(st.booleans()),
        "line_end": draw(st.sampled_from(["\n", "\r\n"])),
        "final_newline": draw(st.booleans()),
        "cuts": sorted(draw(st.lists(st.integers(1, CUT_SCALE - 1), max_size=8, unique=True))),
        "utf8_cuts": draw(st.booleans()),
    }


def ndjson_answer_lines(example: dict[str, Any]) -> list[bytes]:
    """The example's lines as UTF-8, without their line ends."""
    separators = (",", ":") if example["compact"] else (", ", ": ")
    names = (
        ("wordAlignment", "words", "wordStartTimeSeconds", "wordEndTimeSeconds")
        if example["timestamp_type"] == "WORD"
        else (
            "characterAlignment",
            "characters",
            "characterStartTimeSeconds",
            "characterEndTimeSeconds",
        )
    )
    rendered = []
    for line in example["lines"]:
        if line["kind"] != "result":
            rendered.append(line["text"].encode("utf-8"))
            continue
        result: dict[str, Any] = {}
        if line["samples"]:
            pcm = seeded_pcm(line["samples"], line["seed"])
            result["audioContent"] = base64.b64encode(pcm).decode("ascii")
        if line["timestamps"]:
            texts, starts, ends = (list(column) for column in zip(*line["timestamps"], strict=True))
            key, *arrays = names
            result["timestampInfo"] = {key: dict(zip(arrays, (texts, starts, ends), strict=True))}
        text = json.dumps({"result": result}, separators=separators, ensure_ascii=example["ascii"])
        rendered.append(text.encode("utf-8"))
    return rendered


def ndjson_answer_pieces(example: dict[str, Any]) -> list[bytes]:
    """The example's body as its writes: the lines joined by ``line_end`` (and one after the
    last when ``final_newline``), cut at ``cuts`` (in 1/:data:`CUT_SCALE`\\ ths of its
    length; a cut may fall anywhere) and, with ``utf8_cuts``, after the first byte of every
    character written as more than one byte."""
    end = example["line_end"].encode("ascii")
    body = end.join(ndjson_answer_lines(example)) + (end if example["final_newline"] else b"")
    cuts = {len(body) * cut // CUT_SCALE for cut in example["cuts"]}
    if example.get("utf8_cuts"):
        # A UTF-8 lead byte is 0b11xxxxxx: the character goes on after it.
        cuts |= {at + 1 for at, byte in enumerate(body) if byte >= 0xC0}
    offsets = sorted(cuts - {0, len(body)})
    bounds = [0, *offsets, len(body)]
    return [body[a:b] for a, b in pairwise(bounds) if b > a]
