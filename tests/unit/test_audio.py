"""Unit tests of reference.audio: frames, exact re-chunking, resampling, generators."""

from __future__ import annotations

import base64
from fractions import Fraction
from itertools import pairwise
from math import ceil

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from voicewire.reference.audio import (
    AudioByteStream,
    AudioFrame,
    Resampler,
    noise,
    output_length,
    resample,
    silence,
    sine,
)

COMMON_RATES = [8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000]


# ---------------------------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------------------------


@st.composite
def pcm_bytes(draw, num_channels: int, max_frames: int = 2000) -> bytes:
    """s16le bytes holding a whole number of sample frames for ``num_channels``."""
    frames = draw(st.integers(0, max_frames))
    return draw(st.binary(min_size=2 * num_channels * frames, max_size=2 * num_channels * frames))


@st.composite
def split(draw, data: bytes) -> list[bytes]:
    """``data`` cut at arbitrary byte offsets, including inside samples and empty pieces."""
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=12)))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in pairwise(bounds)]


def int16_array(samples: int, channels: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(-32768, 32768, size=(samples, channels), dtype=np.int16)


def peak_frequency(frame: AudioFrame) -> float:
    x = frame.data.astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * frame.sample_rate / len(x))


# ---------------------------------------------------------------------------------------------
# AudioFrame
# ---------------------------------------------------------------------------------------------


@given(
    num_channels=st.integers(1, 4),
    sample_rate=st.sampled_from(COMMON_RATES),
    data=st.data(),
)
def test_frame_bytes_and_base64_round_trip(num_channels, sample_rate, data):
    raw = data.draw(pcm_bytes(num_channels, max_frames=500))
    frame = AudioFrame.from_bytes(raw, sample_rate=sample_rate, num_channels=num_channels)

    assert frame.to_bytes() == raw
    assert base64.b64decode(frame.to_base64()) == raw
    again = AudioFrame.from_base64(
        frame.to_base64(), sample_rate=sample_rate, num_channels=num_channels
    )
    assert again == frame
    assert frame.samples_per_channel == len(raw) // (2 * num_channels)
    assert frame.duration == frame.samples_per_channel / sample_rate
    assert frame.to_ndarray().shape == (frame.samples_per_channel, num_channels)
    rebuilt = AudioFrame(frame.to_ndarray(), sample_rate=sample_rate, num_channels=num_channels)
    assert rebuilt == frame


def test_frame_is_little_endian_and_interleaved():
    # L0=1, R0=-2, L1=256, R1=32767
    raw = b"\x01\x00\xfe\xff\x00\x01\xff\x7f"
    frame = AudioFrame(raw, sample_rate=8000, num_channels=2)

    assert frame.data.tolist() == [1, -2, 256, 32767]
    assert frame.to_ndarray().tolist() == [[1, -2], [256, 32767]]
    assert frame.samples_per_channel == 2
    assert frame.duration == 2 / 8000
    assert len(frame) == 2


def test_frame_accepts_2d_and_big_endian_arrays():
    stereo = np.array([[1, -2], [256, 32767]], dtype=np.int16)
    from_2d = AudioFrame(stereo, sample_rate=8000, num_channels=2)
    from_1d = AudioFrame(stereo.reshape(-1), sample_rate=8000, num_channels=2)
    from_fortran = AudioFrame(np.asfortranarray(stereo), sample_rate=8000, num_channels=2)
    from_big = AudioFrame(stereo.astype(">i2"), sample_rate=8000, num_channels=2)

    assert from_2d == from_1d == from_fortran == from_big
    assert from_big.to_bytes() == b"\x01\x00\xfe\xff\x00\x01\xff\x7f"


def test_frame_owns_its_samples():
    source = np.array([1, 2, 3], dtype=np.int16)
    buffer = bytearray(b"\x01\x00\x02\x00")
    from_array = AudioFrame(source, sample_rate=16000)
    from_buffer = AudioFrame(buffer, sample_rate=16000)
    source[0] = 99
    buffer[0] = 99

    assert from_array.data.tolist() == [1, 2, 3]
    assert from_buffer.data.tolist() == [1, 2]
    assert not from_array.data.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        from_array.data[0] = 5
    copy = from_array.to_ndarray()
    copy[0, 0] = 7
    assert from_array.data[0] == 1


def test_frame_equality_and_hash():
    raw = b"\x01\x00\x02\x00\x03\x00\x04\x00"
    mono = AudioFrame(raw, sample_rate=16000)

    assert mono == AudioFrame(bytearray(raw), sample_rate=16000)
    assert hash(mono) == hash(AudioFrame(raw, sample_rate=16000))
    assert mono != AudioFrame(raw, sample_rate=8000)
    assert mono != AudioFrame(raw, sample_rate=16000, num_channels=2)
    assert mono != AudioFrame(raw[:-2] + b"\x05\x00", sample_rate=16000)
    assert mono != raw


def test_frame_repr_names_the_shape():
    text = repr(AudioFrame(np.zeros(3200, dtype=np.int16), sample_rate=16000, num_channels=2))
    assert text == (
        "AudioFrame(sample_rate=16000, num_channels=2, samples_per_channel=1600, "
        "duration=100.000ms)"
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sample_rate": 0}, ValueError, r"sample_rate must be > 0, got 0"),
        ({"sample_rate": -16000}, ValueError, r"sample_rate must be > 0"),
        ({"sample_rate": True}, TypeError, r"sample_rate must be an int"),
        ({"sample_rate": 16000.0}, TypeError, r"sample_rate must be an int"),
        ({"sample_rate": 16000, "num_channels": 0}, ValueError, r"num_channels must be > 0"),
        ({"sample_rate": 16000, "num_channels": True}, TypeError, r"num_channels must be an int"),
        (
            {"sample_rate": 16000, "samples_per_channel": 3},
            ValueError,
            r"samples_per_channel=3 but data holds 2",
        ),
        (
            {"sample_rate": 16000, "samples_per_channel": True},
            TypeError,
            r"samples_per_channel must be an int",
        ),
    ],
)
def test_frame_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        AudioFrame(b"\x00\x00\x00\x00", **kwargs)


@pytest.mark.parametrize(
    ("data", "num_channels", "error", "match"),
    [
        (b"\x00\x00\x00", 1, ValueError, r"data has 3 bytes, an odd count"),
        (b"\x00" * 6, 2, ValueError, r"data has 6 bytes .* num_channels=2"),
        (np.zeros(4, dtype=np.float32), 1, TypeError, r"data must have dtype int16.*32767"),
        (np.zeros(4, dtype=np.int32), 1, TypeError, r"data must have dtype int16.*astype"),
        (np.zeros((4, 3), dtype=np.int16), 2, ValueError, r"shape \(4, 3\).*num_channels=3"),
        (np.zeros((2, 2, 2), dtype=np.int16), 2, ValueError, r"data must be 1-D .* or 2-D"),
        (np.zeros(5, dtype=np.int16), 2, ValueError, r"data holds 5 samples.*num_channels=2"),
        ("\x00\x00", 1, TypeError, r"data must be bytes"),
        ([0, 0], 1, TypeError, r"data must be bytes"),
    ],
)
def test_frame_rejects_bad_data(data, num_channels, error, match):
    with pytest.raises(error, match=match):
        AudioFrame(data, sample_rate=16000, num_channels=num_channels)


@pytest.mark.parametrize(
    ("text", "num_channels", "match"),
    [
        ("AAA", 1, r"data is not valid base64"),
        ("AA*A", 1, r"data is not valid base64"),
        ("AAAé", 1, r"data is not valid base64"),
        (base64.b64encode(b"\x00" * 3).decode(), 1, r"data has 3 bytes, an odd count"),
        (base64.b64encode(b"\x00" * 6).decode(), 2, r"data has 6 bytes .*num_channels=2"),
    ],
)
def test_from_base64_rejects_bad_input(text, num_channels, match):
    with pytest.raises(ValueError, match=match):
        AudioFrame.from_base64(text, sample_rate=16000, num_channels=num_channels)


def test_from_bytes_and_from_base64_reject_wrong_types():
    with pytest.raises(TypeError, match=r"data must be bytes"):
        AudioFrame.from_bytes("abcd", sample_rate=16000)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"data must be a base64 str or bytes"):
        AudioFrame.from_base64(1234, sample_rate=16000)  # type: ignore[arg-type]


@given(num_channels=st.integers(1, 3), data=st.data())
def test_concat_joins_in_order(num_channels, data):
    pieces = data.draw(st.lists(pcm_bytes(num_channels, max_frames=50), min_size=1, max_size=6))
    frames = [AudioFrame(p, sample_rate=24000, num_channels=num_channels) for p in pieces]
    joined = AudioFrame.concat(frames)

    assert joined.to_bytes() == b"".join(pieces)
    assert joined.samples_per_channel == sum(f.samples_per_channel for f in frames)
    assert (joined.sample_rate, joined.num_channels) == (24000, num_channels)


def test_concat_rejects_mismatched_or_empty_input():
    a = AudioFrame(b"\x00\x00" * 4, sample_rate=16000)
    with pytest.raises(ValueError, match=r"frames\[1\] has sample_rate=8000"):
        AudioFrame.concat([a, AudioFrame(b"\x00\x00", sample_rate=8000)])
    with pytest.raises(ValueError, match=r"frames\[2\] has .*num_channels=2"):
        AudioFrame.concat([a, a, AudioFrame(b"\x00\x00" * 2, sample_rate=16000, num_channels=2)])
    with pytest.raises(ValueError, match=r"frames must contain at least one"):
        AudioFrame.concat([])
    with pytest.raises(TypeError, match=r"frames\[1\] must be an AudioFrame"):
        AudioFrame.concat([a, b"\x00\x00"])  # type: ignore[list-item]


# ---------------------------------------------------------------------------------------------
# AudioByteStream
# ---------------------------------------------------------------------------------------------


@pytest.mark.spec("STT-C-2")
@given(
    sample_rate=st.sampled_from([8000, 16000, 24000, 48000]),
    num_channels=st.integers(1, 2),
    samples_per_channel=st.one_of(st.none(), st.integers(1, 400)),
    data=st.data(),
)
def test_byte_stream_preserves_every_byte_in_exact_frames(
    sample_rate, num_channels, samples_per_channel, data
):
    raw = data.draw(pcm_bytes(num_channels, max_frames=3000), label="raw")
    pieces = data.draw(split(raw), label="pieces")
    stream = AudioByteStream(sample_rate, num_channels, samples_per_channel)
    size = samples_per_channel if samples_per_channel is not None else sample_rate // 10

    pushed: list[AudioFrame] = []
    for piece in pieces:
        pushed += stream.push(piece)
    flushed = stream.flush()

    assert b"".join(f.to_bytes() for f in pushed + flushed) == raw
    assert all(f.samples_per_channel == size for f in pushed)
    assert len(flushed) <= 1
    assert all(0 < f.samples_per_channel < size for f in flushed)
    assert all(
        (f.sample_rate, f.num_channels) == (sample_rate, num_channels) for f in pushed + flushed
    )
    assert stream.pending_bytes == 0


@pytest.mark.spec("STT-C-2")
def test_byte_stream_cuts_50ms_frames_for_the_stt_client():
    stream = AudioByteStream(16000, samples_per_channel=16000 // 20)
    audio = noise(0.23, sample_rate=16000)
    frames = stream.push(audio) + stream.flush()

    assert [len(f.to_bytes()) for f in frames] == [1600, 1600, 1600, 1600, 960]
    assert [f.duration for f in frames[:4]] == [0.05] * 4
    assert AudioFrame.concat(frames) == audio


@given(data=st.data())
def test_byte_stream_mixes_frames_and_bytes(data):
    chunks = data.draw(st.lists(pcm_bytes(2, max_frames=100), max_size=8))
    as_frame = data.draw(st.lists(st.booleans(), min_size=len(chunks), max_size=len(chunks)))
    stream = AudioByteStream(16000, num_channels=2, samples_per_channel=37)

    out: list[AudioFrame] = []
    for chunk, wrap in zip(chunks, as_frame, strict=True):
        out += stream.push(AudioFrame(chunk, sample_rate=16000, num_channels=2) if wrap else chunk)
    out += stream.flush()

    assert b"".join(f.to_bytes() for f in out) == b"".join(chunks)


def test_byte_stream_default_frame_size_is_100ms():
    assert AudioByteStream(16000).samples_per_channel == 1600
    assert AudioByteStream(44100).samples_per_channel == 4410
    assert AudioByteStream(5).samples_per_channel == 1


def test_byte_stream_flush_refuses_a_partial_sample_and_keeps_it():
    stream = AudioByteStream(16000, num_channels=2, samples_per_channel=10)
    assert stream.push(b"\x01\x00\x02") == []
    with pytest.raises(ValueError, match=r"cannot flush 3 buffered bytes.*num_channels=2"):
        stream.flush()
    assert stream.pending_bytes == 3
    assert stream.push(b"\x00") == []
    assert stream.flush() == [AudioFrame(b"\x01\x00\x02\x00", sample_rate=16000, num_channels=2)]
    assert stream.flush() == []


def test_byte_stream_rejects_mismatched_frames_and_bad_arguments():
    stream = AudioByteStream(16000)
    with pytest.raises(ValueError, match=r"data has sample_rate=8000.*sample_rate=16000"):
        stream.push(AudioFrame(b"\x00\x00", sample_rate=8000))
    with pytest.raises(ValueError, match=r"num_channels=2 but the stream has"):
        stream.push(AudioFrame(b"\x00\x00" * 2, sample_rate=16000, num_channels=2))
    with pytest.raises(TypeError, match=r"data must be bytes"):
        stream.push("\x00\x00")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"sample_rate must be > 0"):
        AudioByteStream(0)
    with pytest.raises(ValueError, match=r"samples_per_channel must be > 0"):
        AudioByteStream(16000, samples_per_channel=0)
    with pytest.raises(TypeError, match=r"num_channels must be an int"):
        AudioByteStream(16000, num_channels=True)


# ---------------------------------------------------------------------------------------------
# Resampling
# ---------------------------------------------------------------------------------------------

rates = st.one_of(st.sampled_from(COMMON_RATES), st.integers(1000, 96000))


@given(n=st.integers(0, 600), from_rate=rates, to_rate=rates)
def test_resample_length_is_ceil_of_n_times_ratio(n, from_rate, to_rate):
    expected = ceil(Fraction(n * to_rate, from_rate))
    out = resample(np.zeros(n, dtype=np.int16), from_rate, to_rate)

    assert output_length(n, from_rate, to_rate) == expected
    assert out.shape == (expected,)
    assert out.dtype == np.int16


@given(
    from_rate=st.sampled_from(COMMON_RATES),
    to_rate=st.sampled_from(COMMON_RATES),
    num_channels=st.integers(1, 2),
    n=st.integers(0, 1500),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_streaming_resampler_matches_one_shot_for_any_push_pattern(
    from_rate, to_rate, num_channels, n, seed, data
):
    samples = int16_array(n, num_channels, seed)
    whole = AudioFrame(samples, sample_rate=from_rate, num_channels=num_channels)
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=10), label="cuts"))
    bounds = [0, *cuts, n]
    resampler = Resampler(from_rate, to_rate, num_channels)

    out: list[AudioFrame] = []
    for a, b in pairwise(bounds):
        piece = AudioFrame(samples[a:b], sample_rate=from_rate, num_channels=num_channels)
        out += resampler.push(piece)
    out += resampler.flush()

    one_shot = resample(whole, from_rate, to_rate)
    assert sum(f.samples_per_channel for f in out) == output_length(n, from_rate, to_rate)
    assert one_shot.samples_per_channel == output_length(n, from_rate, to_rate)
    if out:
        assert AudioFrame.concat(out) == one_shot
    # flush resets the resampler: a second stream through it gives the same result again.
    second = [*resampler.push(whole), *resampler.flush()]
    assert b"".join(f.to_bytes() for f in second) == one_shot.to_bytes()


def test_same_rate_is_an_identical_copy():
    frame = noise(0.05, sample_rate=16000, num_channels=2, seed=3)
    assert resample(frame, 16000, 16000) == frame
    assert resample(frame, None, 16000) == frame

    array = frame.to_ndarray()
    out = resample(array, 16000, 16000)
    assert np.array_equal(out, array)
    assert not np.shares_memory(out, array)

    streaming = Resampler(16000, 16000, num_channels=2)
    assert streaming.push(frame) == [frame]
    assert streaming.flush() == []


@pytest.mark.parametrize(
    ("from_rate", "to_rate"),
    [
        (16000, 8000),
        (16000, 22050),
        (16000, 44100),
        (16000, 48000),
        (48000, 16000),
        (44100, 16000),
        (24000, 16000),
        (8000, 24000),
    ],
)
def test_resampled_sine_keeps_frequency_and_level(from_rate, to_rate):
    tone = sine(440.0, 0.5, sample_rate=from_rate, amplitude=0.5)
    out = resample(tone, from_rate, to_rate)
    resolution = to_rate / out.samples_per_channel  # FFT bin width, 2 Hz here

    assert out.sample_rate == to_rate
    assert abs(peak_frequency(out) - 440.0) <= resolution
    # Away from the zero-padded ends the level is unchanged.
    inner = out.data[to_rate // 50 : -to_rate // 50].astype(np.float64)
    assert np.sqrt(np.mean(inner**2)) == pytest.approx(0.5 * 32767 / np.sqrt(2), rel=0.01)


def test_downsampling_removes_content_above_the_new_nyquist():
    # 12 kHz cannot exist at 16 kHz; plain decimation would fold it to 4 kHz.
    tone = sine(12000.0, 0.25, sample_rate=48000, amplitude=0.9)
    out = resample(tone, 48000, 16000)
    # The abrupt start and end of the tone are broadband; judge the steady part.
    steady = out.data[50:-50].astype(np.int32)
    assert np.abs(steady).max() <= 0.01 * 0.9 * 32767


def test_integer_upsampling_reproduces_the_input_at_shared_instants():
    frame = noise(0.1, sample_rate=16000, amplitude=0.5, seed=11)
    up = resample(frame, 16000, 48000)
    assert np.array_equal(up.data[::3], frame.data)


def test_constant_signal_stays_constant_inside():
    dc = AudioFrame(np.full(4410, 1000, dtype=np.int16), sample_rate=44100)
    out = resample(dc, 44100, 16000)
    assert set(out.data[100:-100].tolist()) == {1000}


def test_overshoot_is_clipped_not_wrapped():
    # A full-scale square wave rings past the int16 range when upsampled.
    square = np.repeat(np.tile(np.array([32767, -32768], dtype=np.int16), 10), 200)
    out = resample(AudioFrame(square, sample_rate=8000), 8000, 44100).data
    # The second positive half period, input [400, 600), is output [2205, 3307).
    plateau = out[2205 + 100 : 3307 - 100]

    assert out.max() == 32767
    assert out.min() == -32768
    assert plateau.min() > 0


def test_channels_are_resampled_independently():
    left = sine(300.0, 0.1, sample_rate=22050).data
    right = noise(0.1, sample_rate=22050, seed=5).data
    stereo = np.stack([left, right], axis=1)

    out = resample(stereo, 22050, 16000)
    assert out.shape == (output_length(len(left), 22050, 16000), 2)
    assert np.array_equal(out[:, 0], resample(left, 22050, 16000))
    assert np.array_equal(out[:, 1], resample(right, 22050, 16000))


def test_resample_rejects_bad_input():
    frame = silence(0.01, sample_rate=16000)
    with pytest.raises(ValueError, match=r"from_rate=8000 but the frame's sample_rate is 16000"):
        resample(frame, 8000, 24000)
    with pytest.raises(ValueError, match=r"to_rate must be > 0"):
        resample(frame, None, 0)
    with pytest.raises(ValueError, match=r"from_rate is required"):
        resample(np.zeros(4, dtype=np.int16), None, 8000)
    with pytest.raises(TypeError, match=r"audio must have dtype int16"):
        resample(np.zeros(4, dtype=np.float64), 16000, 8000)
    with pytest.raises(ValueError, match=r"audio must be 1-D"):
        resample(np.zeros((2, 2, 2), dtype=np.int16), 16000, 8000)
    with pytest.raises(TypeError, match=r"audio must be an AudioFrame or numpy array"):
        resample(b"\x00\x00", 16000, 8000)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"from_rate must be an int"):
        Resampler(16000.0, 8000)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"n must be >= 0"):
        output_length(-1, 16000, 8000)

    resampler = Resampler(16000, 8000)
    with pytest.raises(ValueError, match=r"frame has sample_rate=8000.*sample_rate=16000"):
        resampler.push(silence(0.01, sample_rate=8000))
    with pytest.raises(ValueError, match=r"num_channels=2"):
        resampler.push(silence(0.01, sample_rate=16000, num_channels=2))


def test_resampler_accepts_bytes():
    frame = noise(0.02, sample_rate=24000, seed=2)
    resampler = Resampler(24000, 16000)
    out = resampler.push(frame.to_bytes()) + resampler.flush()
    assert AudioFrame.concat(out) == resample(frame, 24000, 16000)


# ---------------------------------------------------------------------------------------------
# Generators
# ---------------------------------------------------------------------------------------------


@given(
    duration=st.floats(0.0, 2.0, allow_nan=False),
    sample_rate=st.sampled_from(COMMON_RATES),
    num_channels=st.integers(1, 3),
)
def test_generators_have_exact_lengths(duration, sample_rate, num_channels):
    expected = round(duration * sample_rate)
    frames = [
        sine(100.0, duration, sample_rate=sample_rate, num_channels=num_channels),
        silence(duration, sample_rate=sample_rate, num_channels=num_channels),
        noise(duration, sample_rate=sample_rate, num_channels=num_channels),
    ]
    for frame in frames:
        assert frame.samples_per_channel == expected
        assert frame.data.size == expected * num_channels
        assert (frame.sample_rate, frame.num_channels) == (sample_rate, num_channels)


def test_sine_values_and_frequency():
    tone = sine(1000.0, 1.0, sample_rate=16000, amplitude=0.25)
    level = 0.25 * 32767
    peak = round(level)

    # 1 kHz at 16 kHz: the first quarter period is 4 samples, ending on the peak.
    assert tone.data[:5].tolist() == [round(level * np.sin(np.pi * i / 8)) for i in range(5)]
    assert tone.data[4] == peak
    assert np.abs(tone.data.astype(np.int32)).max() == peak
    # One sign change per half period: 2000 in a second, give or take the endpoints.
    signs = np.sign(tone.data[tone.data != 0])
    assert abs(int(np.count_nonzero(np.diff(signs))) - 2000) <= 1


def test_sine_is_the_same_on_every_channel():
    stereo = sine(440.0, 0.1, sample_rate=16000, num_channels=2).to_ndarray()
    assert np.array_equal(stereo[:, 0], stereo[:, 1])
    assert np.array_equal(stereo[:, 0], sine(440.0, 0.1, sample_rate=16000).data)


def test_silence_is_zero():
    frame = silence(0.1, sample_rate=8000, num_channels=2)
    assert frame.samples_per_channel == 800
    assert not frame.data.any()


@given(seed=st.integers(0, 2**63), amplitude=st.floats(0.0, 1.0))
def test_noise_is_deterministic_and_bounded(seed, amplitude):
    a = noise(0.05, sample_rate=16000, amplitude=amplitude, seed=seed)
    b = noise(0.05, sample_rate=16000, amplitude=amplitude, seed=seed)

    assert a == b
    assert np.abs(a.data.astype(np.int32)).max() <= round(amplitude * 32767)


def test_noise_depends_on_seed_and_fills_its_range():
    a = noise(1.0, amplitude=0.1, seed=1)
    assert a != noise(1.0, amplitude=0.1, seed=2)
    level = 0.1 * 32767
    rms = float(np.sqrt(np.mean(a.data.astype(np.float64) ** 2)))
    # Uniform on [-level, level]: rms is level / sqrt(3).
    assert rms == pytest.approx(level / np.sqrt(3), rel=0.03)
    assert abs(float(a.data.mean())) < 0.02 * level


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: sine(440.0, -1.0), ValueError, r"duration must be a finite number >= 0"),
        (lambda: sine(440.0, float("nan")), ValueError, r"duration must be a finite number"),
        (lambda: sine(440.0, True), TypeError, r"duration must be a real number"),
        (lambda: sine(9000.0, 1.0, sample_rate=16000), ValueError, r"frequency must be <= "),
        (lambda: sine(-1.0, 1.0), ValueError, r"frequency must be a finite number >= 0"),
        (lambda: sine(440.0, 1.0, amplitude=1.5), ValueError, r"amplitude must be in \[0, 1\]"),
        (lambda: silence(1.0, sample_rate=0), ValueError, r"sample_rate must be > 0"),
        (lambda: silence(1.0, num_channels=0), ValueError, r"num_channels must be > 0"),
        (lambda: noise(1.0, amplitude=-0.1), ValueError, r"amplitude must be a finite number"),
        (lambda: noise(1.0, seed=True), TypeError, r"seed must be an int"),
        (lambda: noise("1"), TypeError, r"duration must be a real number"),
    ],
)
def test_generators_reject_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()
