"""The tone code: text as audible PCM whose duration follows the text, and back again.

The simulators need audio that *means* something: a TTS simulator synthesises it from the
request's text, and an STT simulator fed that audio (resampled, cut into frames, with some noise)
must transcribe the original text. The tone code is that audio. ``docs/tone-code.md`` is its
specification; this module is the reference implementation, used by every simulator.

In short: the text's UTF-8 bytes are sent as 4-bit symbols, each a 35 ms tone at one of 16
frequencies (500-2750 Hz, 150 Hz apart), between a three-symbol preamble and an end symbol
built from two more frequencies (2900 and 3050 Hz), with a CRC-8 before the end. Every byte
takes 70 ms, so the duration follows the text exactly and every word's and character's place
in the audio is known when it is encoded.

- :func:`encode_tone` synthesises an utterance (:class:`ToneUtterance`: samples and alignment);
  :func:`tone_alignment` and :func:`tone_duration` give its timing without synthesising it.
- :class:`ToneDecoder`: a sans-IO stream decoder. Push samples cut anywhere; it returns each
  segment (:class:`DecodedSegment`) once the audio up to its end has arrived: a tone-coded
  utterance with its text and word timings, or any other speech (by energy) with ``text=None``.
  :func:`decode_tone` decodes a whole buffer at once.
- :class:`SpeechDetector`: the energy-based speech detector on its own (:class:`SpeechSpan`).

Everything runs on the audio clock: times are seconds of samples received since the stream
began, never wall time.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, TypeAlias

import numpy as np
import numpy.typing as npt
from voicewire.reference.audio import AudioFrame

__all__ = [
    "DEFAULT_HANGOVER",
    "DEFAULT_MIN_SPEECH",
    "DEFAULT_THRESHOLD_DBFS",
    "MAX_TEXT_BYTES",
    "MIN_SAMPLE_RATE",
    "SYMBOL_SECONDS",
    "TONE_FREQUENCIES",
    "DecodedSegment",
    "SpeechDetector",
    "SpeechSpan",
    "TimedText",
    "ToneAlignment",
    "ToneDecoder",
    "ToneUtterance",
    "crc8",
    "decode_tone",
    "encode_tone",
    "tone_alignment",
    "tone_duration",
]

Samples: TypeAlias = "AudioFrame | npt.NDArray[np.int16] | bytes | bytearray | memoryview"

# ---------------------------------------------------------------------------------------------
# The code's constants (docs/tone-code.md, "Parameters")
# ---------------------------------------------------------------------------------------------

# Time is counted in 5 ms "hops": the decoder's analysis step. A symbol is 7 hops, so every
# boundary of the code falls on an exact multiple of 1/200 s and all timing is integer math.
_HOPS_PER_SECOND = 200
_HOPS_PER_SYMBOL = 7

SYMBOL_SECONDS = _HOPS_PER_SYMBOL / _HOPS_PER_SECOND
"""Length of one symbol (35 ms); a byte is two symbols, 70 ms."""

_RAMP_SECONDS = 0.0025
_AMPLITUDE = 0.5 * 32767

TONE_FREQUENCIES: tuple[int, ...] = tuple(500 + 150 * k for k in range(18))
"""The 18 tone frequencies in Hz: index 0-15 carry a nibble's value, 16 is SYNC, 17 is END."""

_SYNC = 16
_END = 17
_PREAMBLE = (_SYNC, _END, _SYNC)
# Symbols that are not text: the preamble, the CRC byte's two nibbles and END.
_OVERHEAD_SYMBOLS = len(_PREAMBLE) + 2 + 1

MIN_SAMPLE_RATE = 8000
"""Lowest rate the code is defined at: its highest tone (3050 Hz) must sit well below Nyquist."""

MAX_TEXT_BYTES = 16384
"""Longest text (in UTF-8 bytes) an utterance may carry: about 19 minutes of audio."""

DEFAULT_THRESHOLD_DBFS = -40.0
"""A 10 ms frame is loud when its RMS reaches this level relative to 32768 (full scale)."""

DEFAULT_HANGOVER = 0.3
"""Seconds of quiet frames that end a speech segment."""

DEFAULT_MIN_SPEECH = 0.05
"""Non-tone speech shorter than this (seconds) is not reported: clicks and ramp tails."""

# Decoder thresholds on a window's purity (the share of its energy at one tone frequency; 1.0
# for a clean tone). A tone with white noise at SNR s over the whole band has purity about
# s / (1 + s): 0.5 is 0 dB in theory, and decoding measurably holds down to about 3 dB. Speech,
# noise and off-grid tones stay far below.
_SYNC_PURITY = 0.6
_DATA_PURITY = 0.5
# A window covers hops 1..5 of a symbol's 7 (25 ms), so a start found to the nearest hop
# (+-2.5 ms) still keeps it inside the symbol's flat part, clear of both 2.5 ms ramps.
_WINDOW_HOPS = 5
# Purity rows kept from one push to the next: enough for the preamble's windows (19 hops back)
# and for the candidates a rescan after an invalid utterance may still read (25 hops back).
_RING = 32
# Purities are rounded before any comparison so that the floating-point noise of a batched
# matrix product (which varies with the batch, i.e. with how the stream was cut) cannot flip
# a decision: decoding is the same for every cut of the stream.
_PURITY_DECIMALS = 9

_VAD_FRAMES_PER_SECOND = 100
# Hops analysed per numpy batch (10 s): bounds the memory a single huge push can take.
_MAX_BATCH_HOPS = 2000
# Frame history a preamble's start may reach back into (commit latency + hangover margin).
_RECENT_FRAMES = 40


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimedText:
    """A piece of text (a word or one character) and where it sounds, in seconds."""

    text: str
    start: float
    duration: float

    @property
    def end(self) -> float:
        """``start + duration``."""
        return self.start + self.duration


@dataclass(frozen=True)
class ToneAlignment:
    """Where a text's words and characters sound in its tone-coded utterance.

    ``chars`` has one entry per code point of ``text`` (spaces included); ``words`` one per
    maximal run of non-whitespace code points. Times are seconds from the utterance's start
    (or from ``offset`` after :meth:`shifted`).
    """

    text: str
    duration: float
    words: tuple[TimedText, ...]
    chars: tuple[TimedText, ...]
    offset: float = 0.0

    @property
    def start(self) -> float:
        """When the utterance begins: ``offset``."""
        return self.offset

    @property
    def end(self) -> float:
        """When the utterance ends: ``offset + duration``."""
        return self.offset + self.duration

    def shifted(self, offset: float) -> ToneAlignment:
        """The same alignment with every time moved by ``offset`` seconds."""
        return ToneAlignment(
            text=self.text,
            duration=self.duration,
            words=tuple(TimedText(w.text, w.start + offset, w.duration) for w in self.words),
            chars=tuple(TimedText(c.text, c.start + offset, c.duration) for c in self.chars),
            offset=self.offset + offset,
        )


@dataclass(frozen=True, eq=False)
class ToneUtterance:
    """A tone-coded utterance: mono int16 ``samples`` at ``sample_rate`` and its alignment."""

    alignment: ToneAlignment
    sample_rate: int
    samples: npt.NDArray[np.int16]

    @property
    def text(self) -> str:
        """The text it carries."""
        return self.alignment.text

    @property
    def duration(self) -> float:
        """Its exact length in seconds (``tone_duration(text)``)."""
        return self.alignment.duration

    @property
    def words(self) -> tuple[TimedText, ...]:
        """Word timings, seconds from the first sample."""
        return self.alignment.words

    @property
    def chars(self) -> tuple[TimedText, ...]:
        """Character timings, seconds from the first sample."""
        return self.alignment.chars

    def frame(self) -> AudioFrame:
        """The samples as a mono :class:`~voicewire.reference.audio.AudioFrame`."""
        return AudioFrame(self.samples, sample_rate=self.sample_rate)

    def to_bytes(self) -> bytes:
        """The samples as s16le bytes (``pcm_s16le``)."""
        return self.samples.astype("<i2", copy=False).tobytes()


@dataclass(frozen=True)
class SpeechSpan:
    """A stretch of speech found by energy: ``start`` and ``end`` in seconds of audio."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        """``end - start``."""
        return self.end - self.start


@dataclass(frozen=True)
class DecodedSegment:
    """One segment of speech heard by a :class:`ToneDecoder`.

    ``start`` and ``end`` are seconds on the decoder's audio clock (samples received / rate).
    ``text`` is the decoded text of a tone-coded utterance (possibly ``""``), or ``None`` for
    any other speech; ``words`` and ``chars`` are the utterance's timings on the same clock
    (empty for other speech).
    """

    start: float
    end: float
    text: str | None
    words: tuple[TimedText, ...] = ()
    chars: tuple[TimedText, ...] = ()

    @property
    def duration(self) -> float:
        """``end - start``."""
        return self.end - self.start

    @property
    def is_tone(self) -> bool:
        """True for a decoded tone-coded utterance, False for other speech."""
        return self.text is not None


# ---------------------------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------------------------


def _sample_rate(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"sample_rate must be an int, got {type(value).__name__} {value!r}")
    if value < MIN_SAMPLE_RATE:
        raise ValueError(
            f"sample_rate must be >= {MIN_SAMPLE_RATE} (the tone code reaches 3050 Hz), got {value}"
        )
    return int(value)


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
    as_float = float(value)
    if not math.isfinite(as_float) or as_float < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return as_float


def _text_bytes(text: object) -> bytes:
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        # Lone surrogates have no UTF-8 form, so they cannot round-trip.
        raise ValueError(f"text is not encodable as UTF-8: {exc}") from None
    if len(data) > MAX_TEXT_BYTES:
        raise ValueError(
            f"text is {len(data)} UTF-8 bytes; one utterance carries at most {MAX_TEXT_BYTES}: "
            f"split it into several utterances"
        )
    return data


def _mono_samples(samples: object, sample_rate: int) -> npt.NDArray[np.int16]:
    if isinstance(samples, AudioFrame):
        if samples.sample_rate != sample_rate or samples.num_channels != 1:
            raise ValueError(
                f"the frame has sample_rate={samples.sample_rate}, "
                f"num_channels={samples.num_channels}; this takes mono audio at "
                f"{sample_rate} Hz: resample or remix it first"
            )
        return samples.data
    if isinstance(samples, (bytes, bytearray, memoryview)):
        return AudioFrame(samples, sample_rate=sample_rate).data
    if isinstance(samples, np.ndarray):
        if samples.ndim != 1:
            raise ValueError(f"samples must be a 1-D (mono) array, got shape {samples.shape}")
        if samples.dtype.kind != "i" or samples.dtype.itemsize != 2:
            raise TypeError(f"samples must have dtype int16, got {samples.dtype}")
        return samples.astype(np.int16, copy=False)
    raise TypeError(
        f"samples must be an AudioFrame, an int16 numpy array or s16le bytes, "
        f"got {type(samples).__name__}"
    )


# ---------------------------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------------------------


def crc8(data: bytes) -> int:
    """CRC-8 of ``data``: polynomial 0x07, initial value 0, no reflection, no final XOR.

    (The "CRC-8" of the CRC catalogue, also called CRC-8/SMBUS; ``crc8(b"123456789") == 0xF4``.)
    """
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _symbols(data: bytes) -> list[int]:
    # Each byte is two nibbles, high first; the CRC byte follows the text, then END.
    symbols = list(_PREAMBLE)
    for byte in (*data, crc8(data)):
        symbols += (byte >> 4, byte & 0x0F)
    symbols.append(_END)
    return symbols


def _symbol_time(index: int) -> float:
    # Exact to the float: index * 7 / 200, never an accumulated sum of 0.035s.
    return index * _HOPS_PER_SYMBOL / _HOPS_PER_SECOND


def tone_duration(text: str) -> float:
    """Seconds of audio :func:`encode_tone` makes for ``text``, without synthesising it.

    ``(2 * len(text.encode("utf-8")) + 6) * 0.035``: 70 ms per UTF-8 byte (so 70 ms per ASCII
    character, 140-280 ms for other scripts and emoji) plus 210 ms of framing.
    """
    return _symbol_time(2 * len(_text_bytes(text)) + _OVERHEAD_SYMBOLS)


def tone_alignment(text: str) -> ToneAlignment:
    """The timing of ``text``'s utterance: its duration, and when each word and character sounds.

    A character starts with the first symbol of its first UTF-8 byte and lasts two symbols per
    byte; a word (a maximal run of non-whitespace characters, ``str.isspace``) spans its
    characters. Times are seconds from the utterance's first sample.
    """
    data = _text_bytes(text)
    # Times come from symbol counts (symbol * 7 / 200), never from sums or differences of
    # float seconds, so a 1-byte character lasts exactly 0.07 and no error accumulates.
    spans: list[tuple[str, int, int]] = []  # (char, first symbol, symbol count)
    offset = 0
    for char in text:
        size = len(char.encode("utf-8"))
        spans.append((char, len(_PREAMBLE) + 2 * offset, 2 * size))
        offset += size
    chars = tuple(
        TimedText(char, _symbol_time(first), _symbol_time(count)) for char, first, count in spans
    )
    words: list[TimedText] = []
    run: list[tuple[str, int, int]] = []
    for span in [*spans, None]:
        if span is not None and not span[0].isspace():
            run.append(span)
            continue
        if run:
            first = run[0][1]
            symbols = run[-1][1] + run[-1][2] - first
            words.append(
                TimedText("".join(c for c, _, _ in run), _symbol_time(first), _symbol_time(symbols))
            )
            run = []
    return ToneAlignment(
        text=text,
        duration=_symbol_time(2 * len(data) + _OVERHEAD_SYMBOLS),
        words=tuple(words),
        chars=chars,
    )


def _synthesize(symbols: Sequence[int], sample_rate: int) -> npt.NDArray[np.int16]:
    count = len(symbols)
    # Sample n sounds at time n / rate; symbol i covers [i * T, (i + 1) * T) with T = 7/200 s.
    total = -(-(count * _HOPS_PER_SYMBOL * sample_rate) // _HOPS_PER_SECOND)
    n = np.arange(total, dtype=np.int64)
    index = (_HOPS_PER_SECOND * n) // (_HOPS_PER_SYMBOL * sample_rate)
    # Time since the symbol began, from integers so it is exact at every rate.
    tau = (_HOPS_PER_SECOND * n - _HOPS_PER_SYMBOL * sample_rate * index) / (
        _HOPS_PER_SECOND * sample_rate
    )
    freqs = np.asarray(TONE_FREQUENCIES, dtype=np.float64)[np.asarray(symbols)[index]]
    envelope = np.ones(total, dtype=np.float64)
    rising = tau < _RAMP_SECONDS
    envelope[rising] = 0.5 * (1.0 - np.cos(np.pi * tau[rising] / _RAMP_SECONDS))
    falling = tau > SYMBOL_SECONDS - _RAMP_SECONDS
    envelope[falling] = 0.5 * (
        1.0 - np.cos(np.pi * (SYMBOL_SECONDS - tau[falling]) / _RAMP_SECONDS)
    )
    values = _AMPLITUDE * envelope * np.sin(2.0 * np.pi * freqs * tau)
    return np.rint(values).astype(np.int16)


def encode_tone(text: str, *, sample_rate: int = 16000) -> ToneUtterance:
    """Synthesise ``text`` as a tone-coded utterance at ``sample_rate`` (>= 8000 Hz).

    Deterministic: the same text and rate give the same samples. The result lasts exactly
    ``tone_duration(text)`` seconds (``ceil(duration * sample_rate)`` samples) and starts and
    ends at zero amplitude; put silence around it as needed. ``""`` is a valid, 210 ms
    utterance that decodes to ``""``.

    Raises:
        TypeError: ``text`` is not a str or ``sample_rate`` not an int.
        ValueError: the text has lone surrogates or exceeds :data:`MAX_TEXT_BYTES`, or the rate
            is below :data:`MIN_SAMPLE_RATE`.
    """
    rate = _sample_rate(sample_rate)
    alignment = tone_alignment(text)
    samples = _synthesize(_symbols(text.encode("utf-8")), rate)
    samples.flags.writeable = False
    return ToneUtterance(alignment=alignment, sample_rate=rate, samples=samples)


# ---------------------------------------------------------------------------------------------
# Energy-based speech detection
# ---------------------------------------------------------------------------------------------


class _Span(NamedTuple):
    start: int  # sample index
    end: int


class _Cut(NamedTuple):
    # What SpeechDetector._cut changed, so that _restore can undo it.
    before: _Span | None
    start: int | None
    clip: int
    last_loud_end: int


class SpeechDetector:
    """Energy-based speech detection over a stream of mono int16 PCM (sans-IO).

    The stream is cut into 10 ms frames (frame ``k`` is samples ``floor(k * rate / 100)`` up
    to ``floor((k + 1) * rate / 100)``). A frame is *loud* when its RMS, relative to 32768,
    reaches ``threshold_dbfs``. Speech starts at the first loud frame and ends after
    ``hangover`` seconds of frames that are not loud; the span reported runs from the start of
    the first loud frame to the end of the last one. Spans shorter than ``min_speech`` are
    dropped. Results depend only on the samples, never on how they were cut into pushes.

    Args:
        sample_rate: samples per second (>= 8000).
        threshold_dbfs: loudness threshold; -40 dBFS is an RMS of about 328.
        hangover: seconds of quiet that end a span (rounded to whole 10 ms frames, >= 1).
        min_speech: shortest span reported, in seconds.
    """

    def __init__(
        self,
        sample_rate: int,
        *,
        threshold_dbfs: float = DEFAULT_THRESHOLD_DBFS,
        hangover: float = DEFAULT_HANGOVER,
        min_speech: float = DEFAULT_MIN_SPEECH,
    ) -> None:
        self._rate = _sample_rate(sample_rate)
        if isinstance(threshold_dbfs, bool) or not isinstance(
            threshold_dbfs, (int, float, np.integer, np.floating)
        ):
            raise TypeError(f"threshold_dbfs must be a number, got {type(threshold_dbfs).__name__}")
        if not math.isfinite(float(threshold_dbfs)) or threshold_dbfs > 0:
            raise ValueError(f"threshold_dbfs must be a finite number <= 0, got {threshold_dbfs}")
        self._threshold_dbfs = float(threshold_dbfs)
        # Mean square of a loud frame, so a frame test is one multiplication.
        self._mean_square = (32768.0 * 10.0 ** (self._threshold_dbfs / 20.0)) ** 2
        self._hangover_frames = max(1, round(_seconds("hangover", hangover) * 100))
        self._min_speech = round(_seconds("min_speech", min_speech) * self._rate)
        # Own framing (push); the ToneDecoder feeds _frame directly instead.
        self._pending = np.empty(0, dtype=np.int16)
        self._frame_index = 0
        self._received = 0
        self._clip = 0
        self._reset_region()
        self._recent: deque[tuple[int, bool]] = deque(maxlen=self._hangover_frames + _RECENT_FRAMES)

    def _reset_region(self) -> None:
        self._in_speech = False
        # Start of the speech not yet explained (by a tone utterance) or None.
        self._start: int | None = None
        self._last_loud_end = 0
        self._quiet_frames = 0

    # -- public -------------------------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        """Rate of the audio pushed."""
        return self._rate

    @property
    def time(self) -> float:
        """Seconds of audio received (the audio clock)."""
        return self._received / self._rate

    @property
    def speech_start(self) -> float | None:
        """Start of the speech heard now (a span not yet reported), or None."""
        return None if self._start is None else self._start / self._rate

    def push(self, samples: Samples) -> list[SpeechSpan]:
        """Feed mono samples (int16 array, s16le bytes or a mono AudioFrame at this rate).

        Returns the spans that ended with this audio (usually none).
        """
        data = _mono_samples(samples, self._rate)
        self._received += len(data)
        buffer = np.concatenate([self._pending, data]) if len(self._pending) else data
        base = self._frame_bound(self._frame_index)
        end = base + len(buffer)
        # The largest k with frame_bound(k) <= end: frames before it are complete.
        last = ((end + 1) * _VAD_FRAMES_PER_SECOND - 1) // self._rate
        spans: list[SpeechSpan] = []
        if last > self._frame_index:
            bounds = (
                np.arange(self._frame_index, last + 1, dtype=np.int64)
                * self._rate
                // _VAD_FRAMES_PER_SECOND
            )
            squares = buffer[: bounds[-1] - base].astype(np.int64) ** 2
            energies = np.add.reduceat(squares, bounds[:-1] - base)
            edges = bounds.tolist()
            for i, energy in enumerate(energies.tolist()):
                span = self._frame(edges[i], edges[i + 1], energy)
                if span is not None:
                    spans.append(self._public(span))
            self._frame_index = last
        self._pending = buffer[self._frame_bound(self._frame_index) - base :].copy()
        return spans

    def flush(self) -> list[SpeechSpan]:
        """End the speech heard so far: return its span (if any) and start afresh.

        The partial frame at the end counts. The clock keeps running: later pushes continue the
        same stream, and speech found after this starts no earlier than now.
        """
        span = None
        if len(self._pending):
            start = self._frame_bound(self._frame_index)
            frame = self._pending.astype(np.int64)
            # The partial frame may be the one whose quiet ends the span.
            span = self._frame(start, start + len(frame), int(np.dot(frame, frame)))
        if span is None:
            span = self._close()
        self._explain(self._received)
        return [] if span is None else [self._public(span)]

    # -- internals shared with ToneDecoder ----------------------------------------------------

    def _frame_bound(self, k: int) -> int:
        return k * self._rate // _VAD_FRAMES_PER_SECOND

    def _public(self, span: _Span) -> SpeechSpan:
        return SpeechSpan(span.start / self._rate, span.end / self._rate)

    def _frame(self, start: int, end: int, energy: int) -> _Span | None:
        """One frame of ``end - start`` samples with sum of squares ``energy``."""
        loud = energy >= self._mean_square * (end - start)
        counted = loud and start >= self._clip
        self._recent.append((end, counted))
        if loud:
            self._in_speech = True
            self._quiet_frames = 0
            if counted:
                if self._start is None:
                    self._start = start
                self._last_loud_end = end
            return None
        if not self._in_speech:
            return None
        self._quiet_frames += 1
        return self._close() if self._quiet_frames >= self._hangover_frames else None

    def _close(self) -> _Span | None:
        span = None
        if self._start is not None and self._last_loud_end - self._start >= self._min_speech:
            span = _Span(self._start, self._last_loud_end)
        self._reset_region()
        return span

    def _explain(self, until: int) -> None:
        # Audio before `until` is accounted for (a tone utterance, or already reported): only
        # loud frames starting at or after it may start the next span.
        self._clip = max(self._clip, until)
        if self._start is not None and self._start < until:
            self._start = None

    def _cut(self, at: int) -> _Cut:
        # A tone utterance may start at `at`: split the open speech there. The part before is
        # returned (to be reported if the utterance proves valid); _restore undoes the split.
        saved = _Cut(None, self._start, self._clip, self._last_loud_end)
        before = None
        if self._start is not None and self._start < at:
            # The last loud frame wholly before `at` ends the part before.
            end = next((e for e, counted in reversed(self._recent) if counted and e <= at), None)
            if end is not None and end > self._start:
                before = _Span(self._start, end)
        self._start = None
        self._clip = max(self._clip, at)
        return saved._replace(before=before)

    def _restore(self, saved: _Cut) -> None:
        self._clip = saved.clip
        if not self._in_speech or saved.start is None:
            return
        if self._start is None:
            self._last_loud_end = max(self._last_loud_end, saved.last_loud_end)
            self._start = saved.start
        else:
            self._start = min(self._start, saved.start)

    def _speech_start_sample(self) -> int | None:
        return self._start


# ---------------------------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------------------------


@dataclass
class _Decoding:
    # An utterance being read: its start hop, nibbles so far, and where its next window ends.
    start_hop: int
    next_window_end: int
    cut: _Cut
    nibbles: list[int]


@dataclass
class _Validated:
    # A valid utterance, returned once the audio reaches its end.
    segment: DecodedSegment
    start: int
    end: int
    end_hop: int


class ToneDecoder:
    """Sans-IO decoder of the tone code over a stream of mono int16 PCM.

    Push samples cut anywhere; each call returns the segments completed by the audio so far,
    in time order, as :class:`DecodedSegment`:

    - a tone-coded utterance (found by its preamble, whatever its level, and checked by its
      CRC) with its text and the timings of its words and characters, returned once the audio
      up to its end has been received;
    - any other speech, found by a :class:`SpeechDetector` with the given settings and with
      the utterances' time taken out, as ``text=None``, returned when the hangover ends it.

    Times are seconds of audio received (samples / ``sample_rate``). The output depends only on
    the samples, never on how they were cut into pushes. The decoder holds at most one 5 ms hop
    of samples plus a fixed amount of analysis state, whatever the length of the stream.

    Args:
        sample_rate: rate of the audio pushed, >= 8000 Hz (any rate: the code survives
            resampling between rates).
        threshold_dbfs, hangover, min_speech: the speech detector's settings (see
            :class:`SpeechDetector`).
    """

    def __init__(
        self,
        sample_rate: int,
        *,
        threshold_dbfs: float = DEFAULT_THRESHOLD_DBFS,
        hangover: float = DEFAULT_HANGOVER,
        min_speech: float = DEFAULT_MIN_SPEECH,
    ) -> None:
        self._rate = _sample_rate(sample_rate)
        self._detector = SpeechDetector(
            self._rate, threshold_dbfs=threshold_dbfs, hangover=hangover, min_speech=min_speech
        )
        # Per-hop DFT at the 18 frequencies, relative to the hop's first sample: columns are
        # cos then sin. Hops are floor(rate/200) or one sample longer; shorter ones pad with 0.
        longest = -(-self._rate // _HOPS_PER_SECOND)
        freqs = np.asarray(TONE_FREQUENCIES, dtype=np.int64)
        m = np.arange(longest, dtype=np.int64)[:, None]
        # (f * m) mod rate keeps every angle exact however long the stream runs.
        angle = 2.0 * np.pi * ((freqs[None, :] * m) % self._rate) / self._rate
        self._table = np.concatenate([np.cos(angle), np.sin(angle)], axis=1)
        # Hop h starts at sample floor(h * rate / 200); hop h + 200 starts exactly `rate`
        # samples later, so the rotation to absolute phase depends on h mod 200 only.
        starts = np.arange(_HOPS_PER_SECOND, dtype=np.int64) * self._rate // _HOPS_PER_SECOND
        turn = (freqs[None, :] * starts[:, None]) % self._rate
        self._rotation = np.exp(-2j * np.pi * turn / self._rate)
        self._longest = longest
        # At the usual rates (multiples of 200) every hop has the same length: a reshape.
        self._uniform = self._rate % _HOPS_PER_SECOND == 0
        self._pending = np.empty(0, dtype=np.int16)
        self._hop = 0
        # The last four hops' spectra and energies and lengths (a window is five hops), then
        # the purity of the windows ending at the last _RING hops.
        keep = _WINDOW_HOPS - 1
        self._history_z = np.zeros((keep, len(TONE_FREQUENCIES)), dtype=np.complex128)
        self._history_energy = np.zeros(keep, dtype=np.float64)
        self._history_length = np.zeros(keep, dtype=np.float64)
        self._tail = np.zeros((0, len(TONE_FREQUENCIES)), dtype=np.float64)
        # Set while a batch of hops is analysed: purity rows and preamble scores.
        self._rows = self._tail
        self._rows_first = 0
        self._scores: list[float] = []
        self._first_half_energy = 0
        # Tone state: the next preamble candidate (a hop where an utterance might start), the
        # best candidate of the current run, the utterance being read and the one validated.
        self._next_candidate = 0
        self._best: tuple[int, float] | None = None
        self._decoding: _Decoding | None = None
        self._validated: _Validated | None = None
        # Speech spans ended while an utterance was undecided: reported once it is decided.
        self._held: list[_Span] = []

    # -- public -------------------------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        """Rate of the audio pushed."""
        return self._rate

    @property
    def time(self) -> float:
        """Seconds of audio received: the decoder's audio clock."""
        return self._detector._received / self._rate

    @property
    def speech_start(self) -> float | None:
        """Start of speech heard but not yet returned as a segment, or None.

        A simulator can send start-of-speech as soon as this becomes a number.
        """
        starts = [span.start for span in self._held]
        if self._decoding is not None:
            starts.append(self._hop_bound(self._decoding.start_hop))
        if self._validated is not None:
            starts.append(self._validated.start)
        own = self._detector._speech_start_sample()
        if own is not None:
            starts.append(own)
        return min(starts) / self._rate if starts else None

    @property
    def partial_text(self) -> str | None:
        """The text of the utterance being read, as far as decoded (unchecked), or None.

        Its last decoded byte is left out: it may be the CRC. Useful for interim transcripts.
        """
        if self._decoding is None:
            return None
        nibbles = self._decoding.nibbles
        data = bytes(16 * nibbles[i] + nibbles[i + 1] for i in range(0, len(nibbles) - 1, 2))
        return data[:-1].decode("utf-8", errors="ignore")

    def push(self, samples: Samples) -> list[DecodedSegment]:
        """Feed mono samples (int16 array, s16le bytes or a mono AudioFrame at this rate).

        Returns the segments completed by this audio, in time order (usually none).
        """
        data = _mono_samples(samples, self._rate)
        self._detector._received += len(data)
        buffer = np.concatenate([self._pending, data]) if len(self._pending) else data
        base = self._hop_bound(self._hop)
        end = base + len(buffer)
        # The largest h with hop_bound(h) <= end: hops before it are complete.
        last = ((end + 1) * _HOPS_PER_SECOND - 1) // self._rate
        out: list[DecodedSegment] = []
        while self._hop < last:
            # Bounded batches: a long push must not allocate its whole analysis at once.
            upto = min(last, self._hop + _MAX_BATCH_HOPS)
            start = self._hop_bound(self._hop)
            self._analyse(buffer[start - base :], start, self._hop, upto, out)
            self._hop = upto
        self._pending = buffer[self._hop_bound(self._hop) - base :].copy()
        return out

    def flush(self) -> list[DecodedSegment]:
        """End what is open now: return its segments and start afresh on the same clock.

        An utterance still being read is cut short, so its audio is reported as other speech;
        open speech ends at its last loud frame (the partial 5 ms hop at the end counts). Later
        pushes continue the stream; nothing found after this starts before now.
        """
        out: list[DecodedSegment] = []
        if len(self._pending) and self._hop % 2 == 1:
            # The trailing partial frame: the completed first hop and the partial second one.
            tail = self._pending.astype(np.int64)
            self._on_span(
                self._detector._frame(
                    self._hop_bound(self._hop - 1),
                    self._hop_bound(self._hop) + len(tail),
                    self._first_half_energy + int(np.dot(tail, tail)),
                ),
                out,
            )
        elif len(self._pending):
            tail = self._pending.astype(np.int64)
            start = self._hop_bound(self._hop)
            self._on_span(
                self._detector._frame(start, start + len(tail), int(np.dot(tail, tail))), out
            )
        if self._validated is not None:
            self._emit_validated(out)
        if self._decoding is not None:
            self._abort(out)
        span = self._detector._close()
        if span is not None:
            out.append(self._other_speech(span))
        now = self._detector._received
        self._detector._explain(now)
        # Candidates must start at or after now: ceil(now * 200 / rate).
        self._next_candidate = max(self._next_candidate, -(-(now * _HOPS_PER_SECOND) // self._rate))
        self._best = None
        return out

    # -- analysis -----------------------------------------------------------------------------

    def _hop_bound(self, hop: int) -> int:
        return hop * self._rate // _HOPS_PER_SECOND

    def _analyse(
        self,
        buffer: npt.NDArray[np.int16],
        base: int,
        first: int,
        last: int,
        out: list[DecodedSegment],
    ) -> None:
        # Few, whole-batch numpy operations: a simulator runs hundreds of these per core.
        count = last - first
        k = len(TONE_FREQUENCIES)
        if self._uniform:
            length = self._longest
            block = buffer[: count * length].reshape(count, length).astype(np.float64)
            lengths = np.full(count, float(length))
        else:
            bounds = np.arange(first, last + 1, dtype=np.int64) * self._rate // _HOPS_PER_SECOND
            hop_lengths = np.diff(bounds)
            offsets = np.arange(self._longest, dtype=np.int64)
            inside = offsets[None, :] < hop_lengths[:, None]
            index = np.where(inside, bounds[:-1, None] - base + offsets[None, :], 0)
            block = np.where(inside, buffer[index], 0).astype(np.float64)
            lengths = hop_lengths.astype(np.float64)
        # Sums of squares of int16 stay exact in float64 (below 2**53) in any order.
        energies = np.einsum("ij,ij->i", block, block)
        sums = block @ self._table
        rotation = self._rotation[np.arange(first, last) % _HOPS_PER_SECOND]
        z = (sums[:, :k] - 1j * sums[:, k:]) * rotation
        all_z = np.concatenate([self._history_z, z])
        all_energy = np.concatenate([self._history_energy, energies])
        all_length = np.concatenate([self._history_length, lengths])
        windows = all_z[4:] + all_z[3:-1] + all_z[2:-2] + all_z[1:-3] + all_z[:-4]
        window_energy = (
            all_energy[4:]
            + all_energy[3:-1]
            + all_energy[2:-2]
            + all_energy[1:-3]
            + all_energy[:-4]
        )
        window_length = (
            all_length[4:]
            + all_length[3:-1]
            + all_length[2:-2]
            + all_length[1:-3]
            + all_length[:-4]
        )
        # Purity: |DFT|^2 over what a pure tone carrying all the window's energy would give
        # (energy * length / 2). Below 1 LSB RMS there is nothing to measure.
        scale = np.maximum(window_energy, window_length) * window_length / 2.0
        purity = (windows.real**2 + windows.imag**2) / scale[:, None]
        purity[window_energy < window_length] = 0.0
        purity = np.round(purity, _PURITY_DECIMALS)
        keep = _WINDOW_HOPS - 1
        self._history_z = all_z[-keep:]
        self._history_energy = all_energy[-keep:]
        self._history_length = all_length[-keep:]
        rows = np.concatenate([self._tail, purity])
        self._rows = rows
        self._rows_first = first - len(self._tail)
        # Preamble score of the candidate start rows_first + i: the least purity of SYNC, END,
        # SYNC in the windows ending 5, 12 and 19 hops after it.
        reach = 2 * _HOPS_PER_SYMBOL + _WINDOW_HOPS
        n = len(rows) - reach
        first_window, second_window = _WINDOW_HOPS, _WINDOW_HOPS + _HOPS_PER_SYMBOL
        self._scores = (
            np.minimum(
                np.minimum(
                    rows[first_window : first_window + n, _SYNC],
                    rows[second_window : second_window + n, _END],
                ),
                rows[reach : reach + n, _SYNC],
            ).tolist()
            if n > 0
            else []
        )
        hop_energy = energies.tolist()
        for i in range(count):
            hop = first + i
            # Speech detection on 10 ms frames (two hops), then the tone code.
            if hop % 2 == 0:
                self._first_half_energy = int(hop_energy[i])
            else:
                span = self._detector._frame(
                    self._hop_bound(hop - 1),
                    self._hop_bound(hop + 1),
                    self._first_half_energy + int(hop_energy[i]),
                )
                if span is not None:
                    self._on_span(span, out)
            self._tone_step(hop, out)
        self._tail = rows[-_RING:]

    def _on_span(self, span: _Span | None, out: list[DecodedSegment]) -> None:
        if span is None:
            return
        if self._decoding is not None or self._validated is not None:
            self._held.append(span)
        else:
            out.append(self._other_speech(span))

    def _other_speech(self, span: _Span) -> DecodedSegment:
        return DecodedSegment(span.start / self._rate, span.end / self._rate, None)

    def _tone_step(self, hop: int, out: list[DecodedSegment]) -> None:
        if self._validated is not None:
            if hop + 1 >= self._validated.end_hop:
                self._emit_validated(out)
            return
        if self._decoding is not None:
            self._read_symbol(hop, out)
            return
        self._scan(hop)

    def _scan(self, hop: int) -> None:
        # Candidate c: an utterance starting at hop c has its preamble windows ending at hops
        # c+5, c+12 and c+19. Among consecutive qualifying candidates the best one wins.
        reach = 2 * _HOPS_PER_SYMBOL + _WINDOW_HOPS
        while self._next_candidate + reach <= hop:
            c = self._next_candidate
            if c + len(_PREAMBLE) * _HOPS_PER_SYMBOL + _WINDOW_HOPS <= hop:
                # Too old to read: its first text symbol has gone by (this happens only when
                # rescanning after a failed utterance). Decided on hop numbers alone, so the
                # result does not depend on how the stream was cut into pushes.
                self._next_candidate += 1
                self._best = None
                continue
            i = c - self._rows_first
            score = self._scores[i]
            if self._best is not None:
                best_hop, best_score = self._best
                if c == best_hop + 1 and score > best_score:
                    self._best = (c, score)
                    self._next_candidate += 1
                    continue
                self._best = None
                self._commit(best_hop)
                return
            if score >= _SYNC_PURITY:
                self._best = (c, score)
            self._next_candidate += 1

    def _commit(self, start_hop: int) -> None:
        cut = self._detector._cut(self._hop_bound(start_hop))
        if cut.before is not None:
            self._held.append(cut.before)
        self._decoding = _Decoding(
            start_hop=start_hop,
            next_window_end=start_hop + len(_PREAMBLE) * _HOPS_PER_SYMBOL + _WINDOW_HOPS,
            cut=cut,
            nibbles=[],
        )

    def _read_symbol(self, hop: int, out: list[DecodedSegment]) -> None:
        decoding = self._decoding
        assert decoding is not None
        if hop != decoding.next_window_end:
            return
        purity = self._rows[hop - self._rows_first]
        tone = int(np.argmax(purity))
        if purity[tone] < _DATA_PURITY or tone == _SYNC:
            self._abort(out)
            return
        if tone != _END:
            decoding.nibbles.append(tone)
            decoding.next_window_end += _HOPS_PER_SYMBOL
            if len(decoding.nibbles) > 2 * (MAX_TEXT_BYTES + 1):
                self._abort(out)
            return
        text = _checked_text(decoding.nibbles)
        if text is None:
            self._abort(out)
            return
        symbols = len(_PREAMBLE) + len(decoding.nibbles) + 1
        end_hop = decoding.start_hop + symbols * _HOPS_PER_SYMBOL
        start = self._hop_bound(decoding.start_hop)
        offset = start / self._rate
        alignment = tone_alignment(text).shifted(offset)
        segment = DecodedSegment(
            start=offset,
            end=self._hop_bound(end_hop) / self._rate,
            text=text,
            words=alignment.words,
            chars=alignment.chars,
        )
        # Returned with the hop that ends where the utterance ends (the next hop), so the
        # audio received covers the whole segment when it comes out.
        self._validated = _Validated(segment, start, self._hop_bound(end_hop), end_hop)
        self._decoding = None

    def _emit_validated(self, out: list[DecodedSegment]) -> None:
        validated = self._validated
        assert validated is not None
        self._validated = None
        # One hop of guard after the end: frames there still hold the last ramp.
        explained_until = validated.end + self._hop_bound(1)
        after: list[_Span] = []
        for span in self._held:
            if span.start < validated.start:
                self._report(_Span(span.start, min(span.end, validated.start)), out)
            if span.end > explained_until:
                after.append(_Span(max(span.start, explained_until), span.end))
        self._held = []
        out.append(validated.segment)
        for span in after:
            self._report(span, out)
        self._detector._explain(explained_until)
        # The next utterance can start no earlier than this one's end.
        self._next_candidate = max(self._next_candidate, validated.end_hop)
        self._best = None

    def _report(self, span: _Span, out: list[DecodedSegment]) -> None:
        if span.end - span.start >= self._detector._min_speech:
            out.append(self._other_speech(span))

    def _abort(self, out: list[DecodedSegment]) -> None:
        # Not an utterance after all: its audio is other speech, and the split made at its
        # start is undone. Scanning resumes just after its (false) start.
        decoding = self._decoding
        assert decoding is not None
        self._decoding = None
        before = decoding.cut.before
        if self._detector._in_speech:
            self._detector._restore(decoding.cut)
            if before is not None and before in self._held:
                self._held.remove(before)
        else:
            self._detector._clip = decoding.cut.clip
        for span in self._held:
            self._report(span, out)
        self._held = []
        # Candidates within half a symbol of the failed start are the same (failed) alignment.
        self._next_candidate = decoding.start_hop + _HOPS_PER_SYMBOL // 2 + 1
        self._best = None


def _checked_text(nibbles: Sequence[int]) -> str | None:
    if len(nibbles) < 2 or len(nibbles) % 2:
        return None
    data = bytes(16 * nibbles[i] + nibbles[i + 1] for i in range(0, len(nibbles), 2))
    payload, check = data[:-1], data[-1]
    if crc8(payload) != check:
        return None
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return None


def decode_tone(
    samples: Samples | Iterable[Samples],
    *,
    sample_rate: int,
    threshold_dbfs: float = DEFAULT_THRESHOLD_DBFS,
    hangover: float = DEFAULT_HANGOVER,
    min_speech: float = DEFAULT_MIN_SPEECH,
) -> list[DecodedSegment]:
    """Decode a whole recording (or an iterable of chunks) at once: push everything, flush.

    The keyword arguments are those of :class:`ToneDecoder`.
    """
    decoder = ToneDecoder(
        sample_rate, threshold_dbfs=threshold_dbfs, hangover=hangover, min_speech=min_speech
    )
    chunks: Iterable[Samples]
    if isinstance(samples, (AudioFrame, np.ndarray, bytes, bytearray, memoryview)):
        chunks = [samples]
    else:
        chunks = samples
    out: list[DecodedSegment] = []
    for chunk in chunks:
        out += decoder.push(chunk)
    out += decoder.flush()
    return out
