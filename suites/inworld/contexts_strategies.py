"""Hypothesis strategies for Inworld TTS over WebSocket (SPEC §5.2): concurrent streams as
contexts of one TTS object's sockets.

Every strategy draws plain JSON data, so a failing example is written to the report as a
replay file and played again with ``voicewire run --replay``. They shrink towards one stream
of one short sentence pushed at once, no flush, the first choice of each list.

Interleavings
    :func:`interleaving_examples` draws one to five concurrent streams (sometimes six, so that
    a client must open a second socket or wait for a slot: IW-WS-2), each a text of the TTS
    suite's generated sentences (:func:`~voicewire.suites.tts.strategies.tts_texts`) cut into
    pieces anywhere, each piece followed by a ``flush`` or not, and the order the pieces of
    all streams are pushed in (a stream's input ends after its last piece); the model (the
    client cuts sentences, or the server does: ``inworld-tts-2``), word timestamps or none,
    the rate, and the simulator's chunk size and gap.

Fault schedules
    :func:`context_fault_examples` draws two to four concurrent streams and which of their
    contexts fail: by a failing ``status`` at their first audio (numbered in the order the
    connection creates them), or all of those still open by a socket close once every stream
    has been heard.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from hypothesis import strategies as st
from voicewire.suites.tts.strategies import tts_texts

__all__ = [
    "CONTEXT_RATES",
    "MAX_STREAMS",
    "context_fault_examples",
    "interleaving_examples",
    "stream_pieces",
]

CONTEXT_RATES = (8000, 16000)
"""The rates the families synthesise at (low: the audio is all the work)."""
MAX_STREAMS = 6
"""The most concurrent streams of an example: one more than a socket may carry."""


@st.composite
def stream_pieces(draw: st.DrawFn, *, max_cuts: int = 2) -> list[dict[str, Any]]:
    """One stream's text (one or two short sentences) cut at up to ``max_cuts`` offsets
    (inside a word too), each piece ``{"text", "flush"}``."""
    text = draw(tts_texts(max_sentences=2, max_words=4))
    cuts = sorted(
        draw(st.lists(st.integers(1, max(1, len(text) - 1)), max_size=max_cuts, unique=True))
    )
    bounds = [0, *[c for c in cuts if 0 < c < len(text)], len(text)]
    return [
        {"text": text[start:end], "flush": draw(st.booleans())} for start, end in pairwise(bounds)
    ]


@st.composite
def _order(draw: st.DrawFn, streams: list[list[dict[str, Any]]]) -> list[int]:
    """An interleaving of the streams' pieces: a list of stream numbers, each as many times
    as it has pieces; streams open in number order (each first appears after the one before
    it)."""
    remaining = [len(pieces) for pieces in streams]
    order: list[int] = []
    opened = 0
    while any(remaining):
        choices = [i for i in range(min(opened + 1, len(streams))) if remaining[i]]
        pick = draw(st.sampled_from(choices))
        opened = max(opened, pick + 1)
        remaining[pick] -= 1
        order.append(pick)
    return order


@st.composite
def interleaving_examples(draw: st.DrawFn) -> dict[str, Any]:
    """One interleaving example: ``streams`` (pieces each), ``order`` (the stream of each
    push), ``model``, ``timestamp_type`` (``WORD`` or None), ``sample_rate`` and ``reply``
    (an ``InworldContextsReply`` dict)."""
    count = draw(st.one_of(st.integers(1, 5), st.just(MAX_STREAMS)))
    streams = [draw(stream_pieces()) for _ in range(count)]
    return {
        "streams": streams,
        "order": draw(_order(streams)),
        "model": draw(st.sampled_from(["inworld-tts-1.5-max", "inworld-tts-2"])),
        "timestamp_type": draw(st.sampled_from(["WORD", None])),
        "sample_rate": draw(st.sampled_from(CONTEXT_RATES)),
        "reply": draw(
            st.fixed_dictionaries(
                {
                    "chunk_duration": st.sampled_from([0.1, 0.0137, 0.5]),
                    "gap": st.sampled_from([0.4, 0.0]),
                }
            )
        ),
    }


@st.composite
def context_fault_examples(draw: st.DrawFn) -> dict[str, Any]:
    """One fault example: ``texts`` (one sentence per stream, two to four streams opened in
    turn, each heard before the next opens), ``failed`` (the contexts, numbered from 0, that
    get a failing status at their first audio) and ``close`` (whether the socket then closes
    with every context still open, before any input ends)."""
    count = draw(st.integers(2, 4))
    texts = [draw(tts_texts(max_sentences=1, max_words=4)) for _ in range(count)]
    failed = draw(st.lists(st.integers(0, count - 1), unique=True, max_size=count - 1))
    return {"texts": texts, "failed": sorted(failed), "close": draw(st.booleans())}
