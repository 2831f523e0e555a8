"""Hypothesis strategies for the LiveKit inference TTS protocol (SPEC §4).

Every strategy draws plain JSON data (texts cut into pushes, simulator replies, fault
schedules), so a failing example is written to the report as a replay file and played again
with ``voicewire run --replay``. They shrink towards small scripts: one short sentence, one
push, no flush, the first choice of each list.

Texts
    :func:`tts_texts` draws what a synthesis is asked to speak: sentences of one to a dozen
    words (short ones, which the client merges into the next, and long ones), with commas,
    numbers (``42``, ``3.50``), an abbreviation (``Dr.``), a non-ASCII word, closing ``.``,
    ``!``, ``?``, ``...`` or nothing, separated by spaces or newlines. Everything is text the
    tone code speaks (any UTF-8, ``docs/tone-code.md``) and far under the simulator's 1024
    bytes per transcript.

Pushes
    :func:`tts_text_examples` cuts a text into pieces at any offsets (mid-word too), each
    followed by a ``flush`` or not, under a generated ``TTSReply`` (chunk size, alignment, gap)
    and session rate. :func:`tts_pool_examples` draws one to :data:`MAX_POOLED` such scripts of
    short texts, run one after another on one TTS.

Faults
    :func:`tts_fault_examples` draws one sentence, ``max_retry`` (0..2) and the connections
    that fail: each fails once, by an ``error`` message, a close with a code or a TCP reset,
    at an event of the connection placed ``before_audio`` (no ``output_audio`` sent yet) or
    ``after_audio`` (after 1 to all of the sentence's chunks). Only the last failing
    connection may fail after audio: the connection after an earlier one would be a retry of
    a synthesis that may have emitted audio.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from hypothesis import strategies as st

__all__ = [
    "FAULT_RATE",
    "MAX_POOLED",
    "TTS_SESSION_RATES",
    "first_audio_event",
    "tone_samples",
    "tts_fault_examples",
    "tts_pool_examples",
    "tts_text_examples",
    "tts_texts",
]

# Words of the generated sentences: the first is capitalised, so a sentence end is one.
_WORDS = ("hello", "world", "good", "morning", "voice", "wire", "speech", "is", "a", "the")
# Tokens a sentence may also hold: numbers (a decimal point is no sentence end), a comma after
# a word, an abbreviation (its period is no sentence end either) and non-ASCII words.
_EXTRAS = ("42", "3.50", "Dr.", "café", "über")
_ENDINGS = (".", "!", "?", "...", "")
_SEPARATORS = (" ", "\n", "  ", " \n ")

TTS_SESSION_RATES = (24000, 8000, 16000, 22050)
"""The session rates the text family synthesises at (24 kHz is the protocol's default)."""
FAULT_RATE = 24000
"""The session rate of the fault family: the strategy places faults by chunk, so it knows it."""
MAX_POOLED = 4
"""The most syntheses the pool family runs on one TTS."""


def tone_samples(text: str, sample_rate: int) -> int:
    """The samples of the tone code of ``text`` at ``sample_rate``: ``(2n + 6)`` symbols of
    7/200 s for ``n`` UTF-8 bytes, rounded up (``docs/tone-code.md``, Waveform)."""
    symbols = 2 * len(text.encode("utf-8")) + 6
    return -(-symbols * 7 * sample_rate // 200)


def first_audio_event(alignment: str) -> int:
    """The event of a connection's first ``output_audio`` when its first synthesis speaks one
    transcript: ``session.created`` is event 0, then the ``output_alignment`` if the reply
    sends one."""
    return 1 if alignment == "none" else 2


@st.composite
def _sentence(draw: st.DrawFn, *, max_words: int) -> str:
    words = draw(
        st.lists(
            st.one_of(st.sampled_from(_WORDS), st.sampled_from(_EXTRAS)),
            min_size=1,
            max_size=max_words,
        )
    )
    words[0] = words[0][:1].upper() + words[0][1:]
    if len(words) > 2 and draw(st.booleans()):
        comma = draw(st.integers(0, len(words) - 2))
        words[comma] += ","
    return " ".join(words) + draw(st.sampled_from(_ENDINGS))


@st.composite
def tts_texts(draw: st.DrawFn, *, max_sentences: int = 3, max_words: int = 9) -> str:
    """A text of one to ``max_sentences`` sentences of up to ``max_words`` words each, joined by
    spaces or newlines, maybe with a trailing space."""
    sentences = draw(st.lists(_sentence(max_words=max_words), min_size=1, max_size=max_sentences))
    text = sentences[0]
    for sentence in sentences[1:]:
        text += draw(st.sampled_from(_SEPARATORS)) + sentence
    return text + draw(st.sampled_from(["", " "]))


@st.composite
def _pieces(draw: st.DrawFn, text: str, *, max_cuts: int) -> list[dict[str, Any]]:
    """``text`` cut at up to ``max_cuts`` offsets (anywhere: inside a word too), each piece
    followed by a flush or not."""
    cuts = sorted(
        draw(st.lists(st.integers(1, max(1, len(text) - 1)), max_size=max_cuts, unique=True))
    )
    bounds = [0, *[c for c in cuts if 0 < c < len(text)], len(text)]
    return [
        {"text": text[start:end], "flush": draw(st.booleans())} for start, end in pairwise(bounds)
    ]


def _replies() -> st.SearchStrategy[dict[str, Any]]:
    """A ``TTSReply`` dict: chunks of 100 ms down to 13.7 ms (no divisor of the client's
    frames) or up to 1 s, with or without alignment, and the gap between utterances."""
    return st.fixed_dictionaries(
        {
            "chunk_duration": st.sampled_from([0.1, 0.05, 0.0137, 0.25, 1.0]),
            "alignment": st.sampled_from(["none", "words", "chars"]),
            "gap": st.sampled_from([0.4, 0.0, 0.05]),
        }
    )


@st.composite
def tts_text_examples(draw: st.DrawFn) -> dict[str, Any]:
    """One text example: ``pieces`` (``{text, flush}`` each, concatenated: the text) pushed
    into one synthesis, the simulator's ``reply`` and the session's ``sample_rate``."""
    text = draw(tts_texts())
    return {
        "pieces": draw(_pieces(text, max_cuts=4)),
        "reply": draw(_replies()),
        "sample_rate": draw(st.sampled_from(TTS_SESSION_RATES)),
    }


@st.composite
def tts_pool_examples(draw: st.DrawFn) -> dict[str, Any]:
    """One pool example: ``streams``, one to :data:`MAX_POOLED` scripts of short texts
    (``pieces`` each, as :func:`tts_text_examples`), run one after another on one TTS, and the
    simulator's ``reply``."""
    count = draw(st.integers(1, MAX_POOLED))
    streams = [
        draw(_pieces(draw(tts_texts(max_sentences=2, max_words=4)), max_cuts=2))
        for _ in range(count)
    ]
    return {"streams": streams, "reply": draw(_replies())}


@st.composite
def _failure(
    draw: st.DrawFn, *, when: str, first_audio: int, chunks: int, done: int
) -> dict[str, Any]:
    """One connection's fault, at the event that puts it ``when`` asked. An ``error`` goes out
    before its event, a close or a reset after it."""
    how = draw(st.sampled_from(["error", "ws_close", "reset"]))
    if when == "before_audio":
        # error before event 0 .. before the first audio; a close after event 0 .. after the
        # last event before the first audio.
        at_event = draw(st.integers(0, first_audio if how == "error" else first_audio - 1))
    else:
        # After m >= 1 chunks: an error before event first_audio + m (m = chunks: before
        # done), a close after event first_audio + m - 1 (its m-th chunk).
        sent = draw(st.integers(1, chunks))
        at_event = first_audio + sent if how == "error" else first_audio + sent - 1
        assert at_event <= done
    failure: dict[str, Any] = {"how": how, "at_event": at_event, "when": when}
    if how == "ws_close":
        failure["code"] = draw(st.sampled_from([1011, 1000, 1001, 4000]))
    elif how == "error":
        failure["code"] = draw(st.sampled_from([500, 503, 429, 400]))
    return failure


@st.composite
def tts_fault_examples(draw: st.DrawFn, *, max_failures: int = 2) -> dict[str, Any]:
    """One fault example: one ``sentence`` (one transcript), the reply's ``chunk_duration``
    and ``alignment``, ``max_retry`` (0..2) and ``failures``, one per failing connection in
    order (``how``: ``error`` with a ``code``, ``ws_close`` with a ``code``, or ``reset``;
    ``at_event``; ``when``: ``before_audio`` or ``after_audio``, the last one only)."""
    words = draw(st.lists(st.sampled_from(_WORDS), min_size=2, max_size=5))
    sentence = " ".join([words[0].capitalize(), *words[1:]]) + "."
    chunk_duration = draw(st.sampled_from([0.1, 0.05, 0.03]))
    alignment = draw(st.sampled_from(["none", "words"]))
    step = round(chunk_duration * FAULT_RATE)
    chunks = -(-tone_samples(sentence, FAULT_RATE) // step)
    first_audio = first_audio_event(alignment)
    done = first_audio + chunks
    count = draw(st.integers(1, max_failures))
    whens = ["before_audio"] * (count - 1)
    whens.append(draw(st.sampled_from(["before_audio", "after_audio"])))
    failures = [
        draw(_failure(when=when, first_audio=first_audio, chunks=chunks, done=done))
        for when in whens
    ]
    return {
        "sentence": sentence,
        "chunk_duration": chunk_duration,
        "alignment": alignment,
        # One retry first: it shrinks towards a synthesis that may retry once.
        "max_retry": draw(st.sampled_from([1, 0, 2])),
        "failures": failures,
    }
