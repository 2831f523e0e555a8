"""Unit tests of reference.tone_code: the tone code of docs/tone-code.md, both ways.

Property tests check the round trip for any text at every rate, through any cut of the
stream, through resampling, with noise and scaling, across several utterances, and check the
energy-based detection of everything else. Example tests pin the specification: CRC, symbol
layout, the documented test vector, framing errors and the segment ordering rules.
"""

from __future__ import annotations

import math
from itertools import cycle

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from voicewire.reference.audio import AudioFrame, Resampler, noise, resample, sine
from voicewire.reference.tone_code import (
    MAX_TEXT_BYTES,
    SYMBOL_SECONDS,
    TONE_FREQUENCIES,
    DecodedSegment,
    SpeechDetector,
    SpeechSpan,
    TimedText,
    ToneDecoder,
    crc8,
    decode_tone,
    encode_tone,
    tone_alignment,
    tone_duration,
)
from voicewire.reference.tone_code import _symbols as tone_symbols
from voicewire.reference.tone_code import _synthesize as synthesize_symbols

RATES = (8000, 16000, 24000, 48000)
rates = st.sampled_from(RATES)
# Any code points but surrogates (hypothesis' default alphabet): every script, emoji,
# combining marks, controls, whitespace of all kinds, punctuation.
texts = st.text(max_size=12)
# The start of a decoded utterance lies on the 5 ms hop grid: within 2.5 ms of the truth,
# plus the slack of the preamble's plateau (measured at most 3.7 ms), plus one sample.
START_TOLERANCE = 0.004
# Under noise the best-scoring hop may be the clean one's neighbour's half: seen 4.1 ms at
# 20 dB SNR and 8 kHz (an empty utterance, seed 33). The bound there is one hop.
NOISY_START_TOLERANCE = 0.005
# Other speech is found on 10 ms frames: each edge may move by up to one frame.
FRAME_TOLERANCE = 0.0101


def fewer_examples(fraction: float) -> settings:
    """A share of the loaded profile's examples, for tests that synthesise seconds of audio:
    modest under ``ci`` and ``dev``, still deeper under ``deep``."""
    return settings(max_examples=max(5, round(settings.default.max_examples * fraction)))


def silence_samples(seconds: float, rate: int) -> np.ndarray:
    return np.zeros(round(seconds * rate), dtype=np.int16)


def tones(segments: list[DecodedSegment]) -> list[DecodedSegment]:
    return [s for s in segments if s.is_tone]


def to_int16(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), -32768, 32767).astype(np.int16)


def assert_is_utterance(
    segment: DecodedSegment, text: str, start: float, tolerance: float = START_TOLERANCE
) -> None:
    """``segment`` is ``text``'s utterance starting near ``start`` (within ``tolerance``),
    with its exact alignment."""
    assert segment.text == text
    assert abs(segment.start - start) <= tolerance, (segment.start, start)
    # Exact at rates that are multiples of 200; elsewhere both ends sit on whole samples.
    assert math.isclose(segment.duration, tone_duration(text), abs_tol=1e-4)
    expected = tone_alignment(text).shifted(segment.start)
    assert segment.words == expected.words
    assert segment.chars == expected.chars


def decode_in_pieces(samples: np.ndarray, rate: int, sizes: list[int]) -> list[DecodedSegment]:
    decoder = ToneDecoder(rate)
    out: list[DecodedSegment] = []
    position = 0
    # Empty pushes are allowed and included; something must still move the stream on.
    if not any(sizes):
        sizes = [*sizes, max(1, len(samples))]
    for size in cycle(sizes):
        if position >= len(samples):
            break
        piece = samples[position : position + size]
        position += size
        # Every accepted input form: arrays, s16le bytes, mono frames.
        if size % 3 == 1:
            out += decoder.push(piece.astype("<i2").tobytes())
        elif size % 3 == 2:
            out += decoder.push(AudioFrame(piece, sample_rate=rate))
        else:
            out += decoder.push(piece)
    out += decoder.flush()
    return out


# ---------------------------------------------------------------------------------------------
# the encoding: specification pinned
# ---------------------------------------------------------------------------------------------


def test_crc8_is_the_catalogue_crc8():
    assert crc8(b"123456789") == 0xF4
    assert crc8(b"") == 0
    assert crc8(b"hi") == 0x45


def test_symbols_of_hi_are_the_documented_example():
    assert tone_symbols(b"hi") == [16, 17, 16, 6, 8, 6, 9, 4, 5, 17]
    assert tuple(range(500, 3051, 150)) == TONE_FREQUENCIES
    assert [TONE_FREQUENCIES[s] for s in tone_symbols(b"hi")] == [
        2900,
        3050,
        2900,
        1400,
        1700,
        1400,
        1850,
        1100,
        1250,
        3050,
    ]


def test_hi_at_8k_matches_the_documented_samples():
    utterance = encode_tone("hi", sample_rate=8000)
    assert len(utterance.samples) == 2800
    first = [0, 77, -396, 467, 483, -2217, 3009, -1044, -3327, 6889, -5792, -743]
    # The spec allows another libm's sin to differ by one.
    assert np.abs(utterance.samples[:12].astype(int) - first).max() <= 1
    assert int(np.abs(utterance.samples).max()) == 16384
    # Every symbol starts at zero amplitude and ramps back down to (nearly) zero.
    assert utterance.samples[0] == 0
    assert abs(int(utterance.samples[-1])) < 0.01 * 16384


def test_hello_world_alignment_is_the_documented_one():
    utterance = encode_tone("hello world", sample_rate=16000)
    assert len(utterance.samples) == 15680
    assert utterance.duration == 0.98
    assert utterance.words == (TimedText("hello", 0.105, 0.35), TimedText("world", 0.525, 0.35))
    assert [c.text for c in utterance.chars] == list("hello world")
    assert utterance.chars[5] == TimedText(" ", 0.455, 0.07)
    assert utterance.frame().duration == pytest.approx(0.98)
    assert utterance.to_bytes() == utterance.samples.astype("<i2").tobytes()


def test_empty_text_is_a_short_valid_utterance():
    utterance = encode_tone("", sample_rate=16000)
    assert utterance.duration == pytest.approx(0.21)
    assert utterance.words == () and utterance.chars == ()
    audio = np.concatenate([silence_samples(0.1, 16000), utterance.samples])
    [segment] = decode_tone(audio, sample_rate=16000)
    assert_is_utterance(segment, "", 0.1)


def test_text_that_cannot_be_coded_is_refused():
    with pytest.raises(ValueError, match="UTF-8"):
        encode_tone("lone \ud800 surrogate")
    with pytest.raises(ValueError, match="at most"):
        tone_duration("x" * (MAX_TEXT_BYTES + 1))
    assert tone_duration("x" * MAX_TEXT_BYTES) == pytest.approx((2 * MAX_TEXT_BYTES + 6) * 0.035)
    with pytest.raises(TypeError):
        encode_tone(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="8000"):
        encode_tone("hi", sample_rate=4000)
    with pytest.raises(ValueError, match="8000"):
        ToneDecoder(7999)
    with pytest.raises(TypeError):
        ToneDecoder(16000.0)  # type: ignore[arg-type]


def test_decoder_refuses_audio_it_cannot_take():
    decoder = ToneDecoder(16000)
    with pytest.raises(ValueError, match="mono audio at 16000"):
        decoder.push(AudioFrame(np.zeros(160, np.int16), sample_rate=8000))
    with pytest.raises(TypeError, match="int16"):
        decoder.push(np.zeros(160, np.float32))
    with pytest.raises(ValueError, match="1-D"):
        decoder.push(np.zeros((160, 2), np.int16))
    with pytest.raises(ValueError, match="odd"):
        decoder.push(b"\x00\x00\x00")


# ---------------------------------------------------------------------------------------------
# duration and alignment follow the text
# ---------------------------------------------------------------------------------------------


@given(text=texts, extra=st.characters(exclude_categories=["Cs"]), rate=rates)
def test_duration_follows_the_text(text: str, extra: str, rate: int):
    size = len(text.encode("utf-8"))
    duration = tone_duration(text)
    # The documented formula: 70 ms per UTF-8 byte plus 210 ms of framing.
    assert duration == pytest.approx((2 * size + 6) * SYMBOL_SECONDS, abs=1e-12)
    # Monotone: one more character adds exactly its bytes' time.
    longer = tone_duration(text + extra)
    assert longer - duration == pytest.approx(0.07 * len(extra.encode("utf-8")), abs=1e-9)
    # The samples last exactly that long (rounded up to a whole sample).
    utterance = encode_tone(text, sample_rate=rate)
    assert len(utterance.samples) == math.ceil(round(duration * rate, 6))
    assert utterance.duration == duration


@given(text=texts)
def test_alignment_tiles_the_text(text: str):
    alignment = tone_alignment(text)
    assert "".join(c.text for c in alignment.chars) == text
    # Characters follow each other without gaps from the end of the preamble to the CRC.
    position = 3 * SYMBOL_SECONDS
    for char in alignment.chars:
        assert char.start == pytest.approx(position, abs=1e-9)
        assert char.duration == pytest.approx(0.07 * len(char.text.encode("utf-8")), abs=1e-12)
        position = char.end
    assert alignment.duration == pytest.approx(position + 3 * SYMBOL_SECONDS, abs=1e-9)
    # Words are the whitespace-separated runs, spanning their characters.
    assert [w.text for w in alignment.words] == text.split()
    for word in alignment.words:
        inside = [c for c in alignment.chars if word.start - 1e-9 <= c.start < word.end - 1e-9]
        assert "".join(c.text for c in inside) == word.text
    shifted = alignment.shifted(1.5)
    assert shifted.start == 1.5 and shifted.end == pytest.approx(1.5 + alignment.duration)
    assert [w.start - 1.5 for w in shifted.words] == pytest.approx(
        [w.start for w in alignment.words]
    )


@given(text=texts, rate=rates)
@fewer_examples(0.25)
def test_encoding_is_deterministic(text: str, rate: int):
    first, second = encode_tone(text, sample_rate=rate), encode_tone(text, sample_rate=rate)
    assert np.array_equal(first.samples, second.samples)
    assert not first.samples.flags.writeable
    assert first.alignment == second.alignment
    audio = np.concatenate([first.samples, silence_samples(0.05, rate)])
    assert decode_tone(audio, sample_rate=rate) == decode_tone(audio, sample_rate=rate)


# ---------------------------------------------------------------------------------------------
# the round trip
# ---------------------------------------------------------------------------------------------


@given(text=texts, rate=rates, lead=st.floats(0.0, 0.2), tail=st.floats(0.0, 0.5))
@fewer_examples(0.5)
def test_any_text_round_trips_at_each_rate(text: str, rate: int, lead: float, tail: float):
    utterance = encode_tone(text, sample_rate=rate)
    audio = np.concatenate(
        [silence_samples(lead, rate), utterance.samples, silence_samples(tail, rate)]
    )
    [segment] = decode_tone(audio, sample_rate=rate)
    assert_is_utterance(segment, text, round(lead * rate) / rate)


@given(
    text=texts,
    rate=rates,
    lead=st.floats(0.0, 0.3),
    sound=st.sampled_from(["none", "sine", "noise", "faint"]),
    sizes=st.lists(st.integers(0, 700), min_size=1, max_size=8),
)
@fewer_examples(0.5)
def test_any_cut_of_the_stream_decodes_the_same(
    text: str, rate: int, lead: float, sound: str, sizes: list[int]
):
    pieces = [silence_samples(lead, rate)]
    if sound == "sine":
        pieces.append(sine(440, 0.2, sample_rate=rate).data)
    elif sound == "noise":
        pieces.append(noise(0.2, sample_rate=rate, amplitude=0.3).data)
    elif sound == "faint":
        # Around the -40 dBFS threshold: frames cut by a push must still be judged whole.
        pieces.append(sine(440, 0.5, sample_rate=rate, amplitude=0.015).data)
    pieces += [
        encode_tone(text, sample_rate=rate).samples,
        encode_tone("ok", sample_rate=rate).samples,
    ]
    pieces.append(silence_samples(0.4, rate))
    audio = np.concatenate(pieces)
    at_once = decode_tone(audio, sample_rate=rate)
    assert [s.text for s in tones(at_once)] == [text, "ok"]
    assert decode_in_pieces(audio, rate, sizes) == at_once
    # The speech detector on its own is as indifferent to the cut.
    whole = SpeechDetector(rate)
    expected = whole.push(audio) + whole.flush()
    detector = SpeechDetector(rate)
    spans: list[SpeechSpan] = []
    for piece in np.array_split(audio, max(1, len(audio) // max(1, sizes[0]))):
        spans += detector.push(piece)
    assert spans + detector.flush() == expected


@given(
    text=texts,
    chain=st.lists(rates, min_size=2, max_size=3, unique=True),
    lead=st.floats(0.0, 0.1),
    streamed=st.booleans(),
)
@fewer_examples(0.5)
def test_resampled_audio_decodes(text: str, chain: list[int], lead: float, streamed: bool):
    rate = chain[0]
    audio = np.concatenate(
        [
            silence_samples(lead, rate),
            encode_tone(text, sample_rate=rate).samples,
            silence_samples(0.1, rate),
        ]
    )
    start = round(lead * rate) / rate
    for to_rate in chain[1:-1]:
        audio = resample(audio, rate, to_rate)
        rate = to_rate
    if not streamed:
        segments = decode_tone(resample(audio, rate, chain[-1]), sample_rate=chain[-1])
    else:
        # The STT simulator's pipeline: 50 ms frames through a streaming Resampler, each
        # output frame pushed into the decoder as it comes.
        resampler = Resampler(rate, chain[-1])
        decoder = ToneDecoder(chain[-1])
        segments = []
        step = rate // 20
        for i in range(0, len(audio), step):
            frame = AudioFrame(audio[i : i + step], sample_rate=rate)
            for out in resampler.push(frame):
                segments += decoder.push(out)
        for out in resampler.flush():
            segments += decoder.push(out)
        segments += decoder.flush()
    [segment] = tones(segments)
    assert_is_utterance(segment, text, start)


@given(
    text=texts,
    rate=rates,
    scale=st.floats(0.02, 1.0),
    seed=st.integers(0, 2**32 - 1),
    lead=st.floats(0.05, 0.3),
)
@example(text="", rate=8000, scale=1.0, seed=33, lead=0.09581472871095895)
@fewer_examples(0.5)
def test_noise_at_20_db_and_any_scale_still_decode(
    text: str, rate: int, scale: float, seed: int, lead: float
):
    utterance = encode_tone(text, sample_rate=rate)
    clean = np.concatenate(
        [silence_samples(lead, rate), utterance.samples, silence_samples(0.4, rate)]
    )
    signal = clean.astype(np.float64) * scale
    # White noise over the whole stream, 20 dB below the utterance's power.
    power = np.mean((utterance.samples.astype(np.float64) * scale) ** 2)
    hiss = np.random.default_rng(seed).normal(0.0, math.sqrt(power / 100.0), len(clean))
    segments = decode_tone(to_int16(signal + hiss), sample_rate=rate)
    [segment] = tones(segments)
    assert_is_utterance(segment, text, round(lead * rate) / rate, NOISY_START_TOLERANCE)
    # Where the noise is loud enough to count as speech, it is reported around the utterance,
    # never over it, and in time order.
    for other in segments:
        if other is not segment:
            assert other.end <= segment.start or other.start >= segment.end
    assert [s.start for s in segments] == sorted(s.start for s in segments)


@given(
    items=st.lists(st.tuples(st.text(max_size=6), st.floats(0.0, 0.6)), min_size=1, max_size=4),
    rate=rates,
)
@fewer_examples(0.5)
def test_several_utterances_give_several_segments(items: list[tuple[str, float]], rate: int):
    # Gaps of silence before each utterance; a gap of 0 puts utterances back to back.
    pieces: list[np.ndarray] = []
    starts: list[float] = []
    position = 0
    for text, gap in items:
        pieces.append(silence_samples(gap, rate))
        position += len(pieces[-1])
        starts.append(position / rate)
        pieces.append(encode_tone(text, sample_rate=rate).samples)
        position += len(pieces[-1])
    pieces.append(silence_samples(0.1, rate))
    segments = decode_tone(np.concatenate(pieces), sample_rate=rate)
    assert len(segments) == len(items)
    for segment, (text, _), start in zip(segments, items, starts, strict=True):
        assert_is_utterance(segment, text, start)


# ---------------------------------------------------------------------------------------------
# everything else: speech by energy, silence
# ---------------------------------------------------------------------------------------------


@given(
    kind=st.sampled_from(["sine", "noise"]),
    frequency=st.sampled_from([440.0, 120.0, 1000.0, 2900.0, 3050.0, 3500.0]),
    duration=st.floats(0.08, 1.5),
    amplitude=st.floats(0.05, 0.9),
    lead=st.floats(0.0, 0.5),
    rate=rates,
)
@fewer_examples(0.5)
def test_other_sound_is_speech_without_text(
    kind: str, frequency: float, duration: float, amplitude: float, lead: float, rate: int
):
    # Sines on the code's own SYNC and END frequencies are included: one steady tone is not
    # a preamble.
    if kind == "sine":
        sound = sine(frequency, duration, sample_rate=rate, amplitude=amplitude).data
    else:
        sound = noise(duration, sample_rate=rate, amplitude=amplitude, seed=7).data
    audio = np.concatenate([silence_samples(lead, rate), sound, silence_samples(0.5, rate)])
    [segment] = decode_tone(audio, sample_rate=rate)
    assert segment.text is None and segment.words == () and not segment.is_tone
    start = round(lead * rate) / rate
    assert abs(segment.start - start) <= FRAME_TOLERANCE
    assert abs(segment.end - (start + len(sound) / rate)) <= FRAME_TOLERANCE
    # The speech detector on its own finds the same span.
    detector = SpeechDetector(rate)
    spans = detector.push(audio) + detector.flush()
    assert spans == [SpeechSpan(segment.start, segment.end)]


@given(
    rate=rates,
    duration=st.floats(0.0, 3.0),
    level=st.sampled_from([0.0, 0.001, 0.01]),
    seed=st.integers(0, 1000),
)
@fewer_examples(0.5)
def test_silence_and_faint_noise_give_nothing(rate: int, duration: float, level: float, seed: int):
    # Uniform noise of amplitude 0.01 has an RMS of -45 dBFS, under the -40 dBFS threshold.
    audio = noise(duration, sample_rate=rate, amplitude=level, seed=seed).data
    assert decode_tone(audio, sample_rate=rate) == []
    decoder = ToneDecoder(rate)
    assert decoder.push(audio) == [] and decoder.speech_start is None
    assert decoder.flush() == []
    assert decoder.time == len(audio) / rate


@given(
    bursts=st.lists(st.tuples(st.floats(0.06, 0.4), st.floats(0.0, 0.8)), min_size=1, max_size=4),
    sizes=st.lists(st.integers(1, 3000), min_size=1, max_size=5),
)
@fewer_examples(0.5)
def test_speech_detector_splits_on_the_hangover(
    bursts: list[tuple[float, float]], sizes: list[int]
):
    rate = 16000
    pieces = [silence_samples(0.1, rate)]
    edges: list[tuple[int, int]] = []
    position = len(pieces[0])
    for length, gap in bursts:
        pieces.append(sine(300, length, sample_rate=rate, amplitude=0.4).data)
        edges.append((position, position + len(pieces[-1])))
        position += len(pieces[-1])
        pieces.append(silence_samples(gap, rate))
        position += len(pieces[-1])
    audio = np.concatenate(pieces)
    detector = SpeechDetector(rate, hangover=0.3)
    spans: list[SpeechSpan] = []
    offset = 0
    for size in cycle(sizes):
        if offset >= len(audio):
            break
        spans += detector.push(audio[offset : offset + size])
        offset += size
    spans += detector.flush()
    # Bursts whose gap is clearly under the hangover merge; clearly over it they split.
    expected: list[list[int]] = []
    gaps_before = [1.0] + [gap for _, gap in bursts[:-1]]
    for (start, end), gap_before in zip(edges, gaps_before, strict=True):
        if expected and gap_before < 0.28:
            expected[-1][1] = end
        elif expected and gap_before < 0.32:
            return  # within a frame of the hangover: either way is right
        else:
            expected.append([start, end])
    assert len(spans) == len(expected)
    for span, (start, end) in zip(spans, expected, strict=True):
        assert abs(span.start - start / rate) <= FRAME_TOLERANCE
        assert abs(span.end - end / rate) <= FRAME_TOLERANCE


# ---------------------------------------------------------------------------------------------
# framing, ordering and the stream's state
# ---------------------------------------------------------------------------------------------


def test_a_corrupted_utterance_is_other_speech():
    rate = 16000
    symbols = tone_symbols(b"abc")
    symbols[-2] ^= 1  # a CRC nibble
    audio = np.concatenate(
        [silence_samples(0.1, rate), synthesize_symbols(symbols, rate), silence_samples(0.5, rate)]
    )
    [segment] = decode_tone(audio, sample_rate=rate)
    assert segment.text is None
    assert segment.start == pytest.approx(0.1, abs=FRAME_TOLERANCE)
    assert segment.end == pytest.approx(0.1 + len(symbols) * SYMBOL_SECONDS, abs=FRAME_TOLERANCE)


@pytest.mark.parametrize(
    "false_start",
    [
        # A preamble with SYNC where text should be: invalid at its second text symbol.
        [16, 17, 16, 3, 16, 2],
        # A bare preamble: the real utterance's own preamble is read as its text, so the
        # real start lies inside the false one and is found only by scanning again.
        [16, 17, 16],
    ],
)
def test_a_false_start_does_not_hide_the_utterance_after_it(false_start: list[int]):
    rate = 16000
    audio = np.concatenate(
        [
            silence_samples(0.1, rate),
            synthesize_symbols(false_start, rate),
            encode_tone("after", sample_rate=rate).samples,
            silence_samples(0.5, rate),
        ]
    )
    segments = decode_tone(audio, sample_rate=rate)
    assert [s.text for s in segments] == [None, "after"]
    assert_is_utterance(segments[1], "after", 0.1 + len(false_start) * SYMBOL_SECONDS)
    assert segments[0].start == pytest.approx(0.1)
    assert segments[0].end <= segments[1].start


def test_speech_then_utterance_then_speech_in_one_stretch():
    rate = 16000
    audio = np.concatenate(
        [
            silence_samples(0.1, rate),
            sine(300, 0.5, sample_rate=rate).data,
            encode_tone("middle", sample_rate=rate).samples,
            noise(0.5, sample_rate=rate, amplitude=0.3).data,
            silence_samples(0.5, rate),
        ]
    )
    before, middle, after = decode_tone(audio, sample_rate=rate)
    assert before.text is None and after.text is None
    assert before.start == pytest.approx(0.1) and before.end <= middle.start
    assert_is_utterance(middle, "middle", 0.6)
    assert after.start >= middle.end
    assert after.end == pytest.approx(0.6 + tone_duration("middle") + 0.5, abs=FRAME_TOLERANCE)


def test_progress_while_an_utterance_is_read():
    rate = 16000
    text = "progress report"
    audio = np.concatenate(
        [silence_samples(0.2, rate), encode_tone(text, sample_rate=rate).samples]
    )
    decoder = ToneDecoder(rate)
    assert decoder.partial_text is None and decoder.speech_start is None
    half = len(audio) // 2
    assert decoder.push(audio[:half]) == []
    assert decoder.speech_start == pytest.approx(0.2)
    partial = decoder.partial_text
    assert partial and text.startswith(partial) and partial != text
    # Returned only once the audio reaches the utterance's end, not a hop before.
    assert decoder.push(audio[half:-1]) == []
    [segment] = decoder.push(audio[-1:])
    assert_is_utterance(segment, text, 0.2)
    assert segment.end == pytest.approx(decoder.time)
    assert decoder.partial_text is None and decoder.speech_start is None


def test_flush_cuts_an_utterance_short_and_keeps_the_clock():
    rate = 16000
    audio = encode_tone("cut in the middle", sample_rate=rate).samples
    half = len(audio) // 2
    decoder = ToneDecoder(rate)
    assert decoder.push(audio[:half]) == []
    [first] = decoder.flush()
    assert first.text is None and first.start == 0.0
    assert first.end == pytest.approx(half / rate, abs=FRAME_TOLERANCE)
    decoder.push(audio[half:])
    later = decoder.push(silence_samples(0.5, rate)) + decoder.flush()
    assert [s.text for s in later] == [None]
    assert later[0].start >= first.end
    # The clock ran on through the flush: the next utterance is timed from the stream start.
    follow = encode_tone("next", sample_rate=rate).samples
    [segment] = decoder.push(follow) + decoder.flush()
    assert_is_utterance(segment, "next", (len(audio) + round(0.5 * rate)) / rate)


def test_an_utterance_under_the_speech_threshold_is_still_decoded():
    rate = 16000
    quiet = to_int16(encode_tone("whisper", sample_rate=rate).samples * 0.002)
    audio = np.concatenate([silence_samples(0.1, rate), quiet, silence_samples(0.1, rate)])
    assert SpeechDetector(rate).push(audio) == []
    [segment] = decode_tone(audio, sample_rate=rate)
    assert_is_utterance(segment, "whisper", 0.1)


@pytest.mark.parametrize("rate", [11025, 22050, 44100])
def test_rates_that_are_not_multiples_of_200(rate: int):
    text = "odd rates é"
    audio = np.concatenate(
        [silence_samples(0.0123, rate), encode_tone(text, sample_rate=rate).samples]
    )
    [segment] = decode_tone(audio, sample_rate=rate)
    assert_is_utterance(segment, text, round(0.0123 * rate) / rate)
    [segment] = tones(decode_tone(resample(audio, rate, 16000), sample_rate=16000))
    assert_is_utterance(segment, text, round(0.0123 * rate) / rate)
