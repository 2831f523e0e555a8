"""PCM audio on numpy: frames, exact re-chunking, resampling and test-signal generators.

Everything here speaks signed 16-bit little-endian PCM (``pcm_s16le``), the only encoding the
LiveKit inference gateway and Inworld's ``LINEAR16`` use. Multichannel audio is interleaved
(``L R L R ...``), as on the wire.

- :class:`AudioFrame`: an immutable block of samples with its rate and channel count.
- :class:`AudioByteStream`: cuts arbitrarily split bytes into frames of an exact size (the STT
  client uses it for the 50 ms ``input_audio`` frames of STT-C-2).
- :func:`resample` / :class:`Resampler`: windowed-sinc sample-rate conversion, one-shot or
  streaming, with the same output whatever the push pattern.
- :func:`sine`, :func:`silence`, :func:`noise`: deterministic test signals.

All of it is sans-IO: plain synchronous objects whose whole state is in their attributes.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Iterable
from numbers import Real
from typing import TypeAlias, overload

import numpy as np
import numpy.typing as npt

__all__ = [
    "AudioByteStream",
    "AudioFrame",
    "Resampler",
    "noise",
    "output_length",
    "resample",
    "silence",
    "sine",
]

BytesLike: TypeAlias = bytes | bytearray | memoryview

# Full-scale value for ``amplitude=1.0`` in the generators; symmetric so that a sine never
# needs clipping (``-32768`` is reachable only by clipping elsewhere).
_FULL_SCALE = 32767

_INT16_MIN = -32768
_INT16_MAX = 32767


# ---------------------------------------------------------------------------------------------
# argument checks
# ---------------------------------------------------------------------------------------------


def _positive_int(name: str, value: object) -> int:
    # bool is an int subclass; True as a sample rate is always a bug.
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return int(value)


def _non_negative_real(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (Real, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    as_float = float(value)
    if not math.isfinite(as_float) or as_float < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return as_float


def _amplitude(value: object) -> float:
    amplitude = _non_negative_real("amplitude", value)
    if amplitude > 1.0:
        raise ValueError(f"amplitude must be in [0, 1] (a fraction of full scale), got {value!r}")
    return amplitude


def _int16_from_bytes(name: str, data: BytesLike, num_channels: int) -> npt.NDArray[np.int16]:
    # bytes are immutable so frombuffer may alias them; anything mutable is copied first so
    # later writes to the caller's buffer cannot change the frame.
    raw = data if isinstance(data, bytes) else memoryview(data).tobytes()
    if len(raw) % 2:
        raise ValueError(
            f"{name} has {len(raw)} bytes, an odd count: s16le samples are 2 bytes each"
        )
    if len(raw) % (2 * num_channels):
        raise ValueError(
            f"{name} has {len(raw)} bytes ({len(raw) // 2} samples), not a whole number of "
            f"frames of num_channels={num_channels} (a multiple of {2 * num_channels} bytes)"
        )
    return np.frombuffer(raw, dtype="<i2").astype(np.int16, copy=False)


def _int16_from_array(name: str, data: np.ndarray, num_channels: int) -> npt.NDArray[np.int16]:
    dtype = data.dtype
    if dtype.kind == "f":
        raise TypeError(
            f"{name} must have dtype int16, got {dtype}; convert float samples in [-1, 1] with "
            f"np.clip(np.rint(x * 32767), -32768, 32767).astype(np.int16)"
        )
    # Accept either byte order: '>i2' is still 16-bit PCM, just stored differently.
    if dtype.kind != "i" or dtype.itemsize != 2:
        raise TypeError(
            f"{name} must have dtype int16, got {dtype}; convert it with .astype(np.int16) "
            f"after checking the values fit in [-32768, 32767]"
        )
    if data.ndim == 2:
        if data.shape[1] != num_channels:
            raise ValueError(
                f"{name} has shape {data.shape} (samples, channels) but "
                f"num_channels={num_channels}; pass num_channels={data.shape[1]}"
            )
    elif data.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (interleaved) or 2-D (samples, channels), got shape {data.shape}"
        )
    # A C-ordered native copy: never alias the caller's (possibly writable) array.
    flat = np.array(data, dtype=np.int16, order="C", copy=True).reshape(-1)
    if flat.size % num_channels:
        raise ValueError(
            f"{name} holds {flat.size} samples, not a multiple of num_channels={num_channels}"
        )
    return flat


# ---------------------------------------------------------------------------------------------
# AudioFrame
# ---------------------------------------------------------------------------------------------


class AudioFrame:
    """An immutable block of int16 PCM audio.

    Args:
        data: the samples, either as s16le bytes (``bytes``/``bytearray``/``memoryview``,
            channels interleaved) or as a numpy int16 array, 1-D interleaved or 2-D shaped
            ``(samples, channels)``. The frame keeps its own copy.
        sample_rate: samples per second per channel, > 0.
        num_channels: channel count, > 0.
        samples_per_channel: optional; if given it must match the length of ``data``.

    Raises:
        TypeError: ``data`` is not bytes-like or int16 (float arrays must be converted first),
            or a count is not an ``int``.
        ValueError: a count is not positive, or the length of ``data`` does not fit.
    """

    __slots__ = ("_data", "_num_channels", "_sample_rate", "_samples_per_channel")

    def __init__(
        self,
        data: BytesLike | npt.NDArray[np.integer],
        *,
        sample_rate: int,
        num_channels: int = 1,
        samples_per_channel: int | None = None,
    ) -> None:
        self._sample_rate = _positive_int("sample_rate", sample_rate)
        self._num_channels = _positive_int("num_channels", num_channels)
        if isinstance(data, (bytes, bytearray, memoryview)):
            samples = _int16_from_bytes("data", data, self._num_channels)
        elif isinstance(data, np.ndarray):
            samples = _int16_from_array("data", data, self._num_channels)
        else:
            raise TypeError(
                f"data must be bytes, bytearray, memoryview or a numpy int16 array, "
                f"got {type(data).__name__}"
            )
        actual = samples.size // self._num_channels
        if samples_per_channel is not None:
            # 0 is a legitimate length (an empty frame), so only negatives are rejected.
            if isinstance(samples_per_channel, bool) or not isinstance(
                samples_per_channel, (int, np.integer)
            ):
                raise TypeError(
                    f"samples_per_channel must be an int or None, "
                    f"got {type(samples_per_channel).__name__} {samples_per_channel!r}"
                )
            if samples_per_channel != actual:
                raise ValueError(
                    f"samples_per_channel={samples_per_channel} but data holds {actual} "
                    f"samples per channel ({samples.size} samples, "
                    f"num_channels={self._num_channels})"
                )
        samples.flags.writeable = False
        self._data: npt.NDArray[np.int16] = samples
        self._samples_per_channel = actual

    # -- properties ---------------------------------------------------------------------------

    @property
    def data(self) -> npt.NDArray[np.int16]:
        """The samples: a read-only 1-D int16 array, channels interleaved."""
        return self._data

    @property
    def sample_rate(self) -> int:
        """Samples per second per channel."""
        return self._sample_rate

    @property
    def num_channels(self) -> int:
        """Number of interleaved channels."""
        return self._num_channels

    @property
    def samples_per_channel(self) -> int:
        """Number of samples in each channel."""
        return self._samples_per_channel

    @property
    def duration(self) -> float:
        """Length in seconds: ``samples_per_channel / sample_rate``."""
        return self._samples_per_channel / self._sample_rate

    # -- conversions --------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The samples as s16le bytes, channels interleaved."""
        return self._data.astype("<i2", copy=False).tobytes()

    def to_base64(self) -> str:
        """The s16le bytes, standard base64 (the encoding of ``input_audio``/``output_audio``)."""
        return base64.b64encode(self.to_bytes()).decode("ascii")

    def to_ndarray(self) -> npt.NDArray[np.int16]:
        """A writable copy of the samples shaped ``(samples_per_channel, num_channels)``."""
        return self._data.reshape(self._samples_per_channel, self._num_channels).copy()

    @classmethod
    def from_bytes(cls, data: BytesLike, *, sample_rate: int, num_channels: int = 1) -> AudioFrame:
        """Build a frame from s16le bytes (channels interleaved)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"data must be bytes, bytearray or memoryview, got {type(data).__name__}"
            )
        return cls(data, sample_rate=sample_rate, num_channels=num_channels)

    @classmethod
    def from_base64(
        cls, data: str | bytes, *, sample_rate: int, num_channels: int = 1
    ) -> AudioFrame:
        """Build a frame from base64 of s16le bytes.

        Raises:
            ValueError: ``data`` is not valid (padded, standard-alphabet) base64, or decodes to a
                byte count that is not a whole number of samples for ``num_channels``.
        """
        if not isinstance(data, (str, bytes)):
            raise TypeError(f"data must be a base64 str or bytes, got {type(data).__name__}")
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            # ValueError covers non-ASCII str input, which b64decode rejects before decoding.
            raise ValueError(f"data is not valid base64: {exc}") from None
        return cls(raw, sample_rate=sample_rate, num_channels=num_channels)

    @classmethod
    def concat(cls, frames: Iterable[AudioFrame]) -> AudioFrame:
        """Join frames end to end; all must share ``sample_rate`` and ``num_channels``.

        Raises:
            ValueError: ``frames`` is empty (the result's rate would be unknown) or the frames
                disagree on rate or channel count.
        """
        items = list(frames)
        if not items:
            raise ValueError("frames must contain at least one AudioFrame")
        for i, frame in enumerate(items):
            if not isinstance(frame, AudioFrame):
                raise TypeError(f"frames[{i}] must be an AudioFrame, got {type(frame).__name__}")
        first = items[0]
        for i, frame in enumerate(items[1:], start=1):
            if (frame.sample_rate, frame.num_channels) != (first.sample_rate, first.num_channels):
                raise ValueError(
                    f"frames[{i}] has sample_rate={frame.sample_rate}, "
                    f"num_channels={frame.num_channels} but frames[0] has "
                    f"sample_rate={first.sample_rate}, num_channels={first.num_channels}"
                )
        return cls(
            np.concatenate([f.data for f in items]),
            sample_rate=first.sample_rate,
            num_channels=first.num_channels,
        )

    # -- dunder -------------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AudioFrame):
            return NotImplemented
        return (
            self._sample_rate == other._sample_rate
            and self._num_channels == other._num_channels
            and np.array_equal(self._data, other._data)
        )

    def __hash__(self) -> int:
        return hash((self._sample_rate, self._num_channels, self._data.tobytes()))

    def __len__(self) -> int:
        """``samples_per_channel``."""
        return self._samples_per_channel

    def __repr__(self) -> str:
        return (
            f"AudioFrame(sample_rate={self._sample_rate}, num_channels={self._num_channels}, "
            f"samples_per_channel={self._samples_per_channel}, "
            f"duration={self.duration * 1000:.3f}ms)"
        )


# ---------------------------------------------------------------------------------------------
# AudioByteStream
# ---------------------------------------------------------------------------------------------


class AudioByteStream:
    """Re-chunks a byte stream of s16le PCM into frames of exactly ``samples_per_channel``.

    Bytes may arrive split anywhere, even inside a sample; every byte pushed comes out once, in
    order. ``push`` returns each frame as soon as it is complete; ``flush`` returns what is left
    as one shorter frame.

    Args:
        sample_rate: rate stamped on the emitted frames (and required of pushed frames).
        num_channels: interleaved channel count of the stream.
        samples_per_channel: frame size. Defaults to ``sample_rate // 10`` (100 ms frames, at
            least 1 sample). The LiveKit STT client passes ``sample_rate // 20`` (50 ms, STT-C-2).
    """

    def __init__(
        self, sample_rate: int, num_channels: int = 1, samples_per_channel: int | None = None
    ) -> None:
        self._sample_rate = _positive_int("sample_rate", sample_rate)
        self._num_channels = _positive_int("num_channels", num_channels)
        if samples_per_channel is None:
            self._samples_per_channel = max(1, self._sample_rate // 10)
        else:
            self._samples_per_channel = _positive_int("samples_per_channel", samples_per_channel)
        self._frame_bytes = 2 * self._num_channels * self._samples_per_channel
        self._buf = bytearray()

    @property
    def sample_rate(self) -> int:
        """Rate of the emitted frames."""
        return self._sample_rate

    @property
    def num_channels(self) -> int:
        """Channel count of the emitted frames."""
        return self._num_channels

    @property
    def samples_per_channel(self) -> int:
        """Size of every frame ``push`` returns."""
        return self._samples_per_channel

    @property
    def pending_bytes(self) -> int:
        """Bytes buffered towards the next frame."""
        return len(self._buf)

    def push(self, data: BytesLike | AudioFrame) -> list[AudioFrame]:
        """Append ``data`` and return every frame that is now complete (possibly none).

        Raises:
            ValueError: ``data`` is an :class:`AudioFrame` whose rate or channel count differs
                from the stream's.
        """
        if isinstance(data, AudioFrame):
            if data.sample_rate != self._sample_rate or data.num_channels != self._num_channels:
                raise ValueError(
                    f"data has sample_rate={data.sample_rate}, num_channels={data.num_channels} "
                    f"but the stream has sample_rate={self._sample_rate}, "
                    f"num_channels={self._num_channels}; resample or remix it first"
                )
            self._buf += data.to_bytes()
        elif isinstance(data, (bytes, bytearray, memoryview)):
            self._buf += data
        else:
            raise TypeError(
                f"data must be bytes, bytearray, memoryview or AudioFrame, "
                f"got {type(data).__name__}"
            )
        complete = len(self._buf) // self._frame_bytes
        if not complete:
            return []
        consumed = complete * self._frame_bytes
        # One conversion for the whole run of complete frames; each frame copies its slice.
        samples = np.frombuffer(bytes(self._buf[:consumed]), dtype="<i2")
        del self._buf[:consumed]
        step = self._samples_per_channel * self._num_channels
        frames = [
            AudioFrame(
                samples[i * step : (i + 1) * step],
                sample_rate=self._sample_rate,
                num_channels=self._num_channels,
            )
            for i in range(complete)
        ]
        return frames

    def flush(self) -> list[AudioFrame]:
        """Return the buffered remainder as one frame (an empty list if nothing is buffered).

        Raises:
            ValueError: the buffer ends inside a sample (or inside a multichannel frame); the
                buffer is left untouched, so pushing the missing bytes and flushing again works.
        """
        if not self._buf:
            return []
        stride = 2 * self._num_channels
        if len(self._buf) % stride:
            raise ValueError(
                f"cannot flush {len(self._buf)} buffered bytes: not a whole number of "
                f"{stride}-byte sample frames (num_channels={self._num_channels}); "
                f"{len(self._buf) % stride} trailing bytes are incomplete"
            )
        frame = AudioFrame(
            bytes(self._buf), sample_rate=self._sample_rate, num_channels=self._num_channels
        )
        self._buf.clear()
        return [frame]


# ---------------------------------------------------------------------------------------------
# Resampling
# ---------------------------------------------------------------------------------------------

# Each side of the low-pass kernel spans this many zero crossings of its sinc. With a Kaiser
# window of beta 8, 48 kHz -> 16 kHz attenuates a 10 kHz tone by about 88 dB (the int16 noise
# floor) and a 7 kHz one by under 1 dB, at a cost of ~2 * 16 / cutoff taps per output.
_ZERO_CROSSINGS = 16
_KAISER_BETA = 8.0
# When downsampling, the cutoff sits a little below the new Nyquist so the transition band
# does not fold back into the pass band.
_DOWNSAMPLE_ROLLOFF = 0.95
# Bound on the (outputs x taps x channels) temporary of one vectorised block, in elements
# (8 MB of float64): strong downsampling has thousands of taps per output.
_BLOCK_ELEMENTS = 1 << 20


def output_length(n: int, from_rate: int, to_rate: int) -> int:
    """Samples per channel that resampling ``n`` samples gives: ``ceil(n * to_rate / from_rate)``.

    Output sample ``k`` sits at input time ``k * from_rate / to_rate`` (in input samples), and
    there is one for every such time strictly before ``n``.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an int, got {type(n).__name__} {n!r}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    from_rate = _positive_int("from_rate", from_rate)
    to_rate = _positive_int("to_rate", to_rate)
    return -((-int(n) * to_rate) // from_rate)


class Resampler:
    """Streaming windowed-sinc sample-rate converter for int16 PCM.

    Output sample ``k`` is the band-limited value of the input at time ``k * from_rate /
    to_rate`` input samples (Kaiser-windowed sinc; cutoff at the lower of the two Nyquist
    frequencies, 5% below it when downsampling), with the input taken as zero before its first
    and after its last sample. Results are rounded to the nearest integer and clipped to int16.

    Length rule: over one stream (every ``push`` up to and including ``flush``) of ``n``
    samples per channel the outputs total exactly ``ceil(n * to_rate / from_rate)`` samples per
    channel. Positions are exact integer arithmetic, so the output is bit-identical whatever the
    push pattern, and identical to :func:`resample` of the whole input at once. Because each
    output needs input up to about 16 (input or output) periods ahead, ``push`` holds back
    that much latency until ``flush``.

    With ``from_rate == to_rate`` every push is passed through unchanged.

    After ``flush`` the resampler is reset and can take a new stream.
    """

    def __init__(self, from_rate: int, to_rate: int, num_channels: int = 1) -> None:
        self._from_rate = _positive_int("from_rate", from_rate)
        self._to_rate = _positive_int("to_rate", to_rate)
        self._num_channels = _positive_int("num_channels", num_channels)
        g = math.gcd(self._from_rate, self._to_rate)
        # Output k sits at input time k * _step / _phases: _phases distinct sub-sample offsets.
        self._step = self._from_rate // g
        self._phases = self._to_rate // g
        ratio = self._to_rate / self._from_rate
        # Upsampling keeps the full input band: cutoff 1 makes outputs that coincide with an
        # input sample reproduce it exactly.
        self._cutoff = 1.0 if ratio >= 1 else ratio * _DOWNSAMPLE_ROLLOFF
        self._half_width = _ZERO_CROSSINGS / self._cutoff
        self._taps_each_side = math.ceil(self._half_width)
        self._offsets = np.arange(-self._taps_each_side, self._taps_each_side + 1, dtype=np.int64)
        self._reset()

    def _reset(self) -> None:
        k = self._taps_each_side
        # Input history as float64 (samples, channels), covering input indices
        # [_buf_start, _buf_start + len); starts with the zeros that precede the signal.
        self._buf = np.zeros((k, self._num_channels), dtype=np.float64)
        self._buf_start = -k
        self._received = 0
        self._next_output = 0

    @property
    def from_rate(self) -> int:
        """Rate of the input."""
        return self._from_rate

    @property
    def to_rate(self) -> int:
        """Rate of the output."""
        return self._to_rate

    @property
    def num_channels(self) -> int:
        """Channel count of input and output."""
        return self._num_channels

    def push(self, frame: AudioFrame | BytesLike) -> list[AudioFrame]:
        """Feed input; return the output that is now final (one frame, or none yet).

        ``frame`` is an :class:`AudioFrame` at ``from_rate`` with ``num_channels`` channels, or
        s16le bytes of whole samples understood that way.

        Raises:
            ValueError: the frame's rate or channel count differs from the resampler's.
        """
        if isinstance(frame, (bytes, bytearray, memoryview)):
            frame = AudioFrame(frame, sample_rate=self._from_rate, num_channels=self._num_channels)
        elif not isinstance(frame, AudioFrame):
            raise TypeError(
                f"frame must be an AudioFrame or bytes-like, got {type(frame).__name__}"
            )
        if frame.sample_rate != self._from_rate or frame.num_channels != self._num_channels:
            raise ValueError(
                f"frame has sample_rate={frame.sample_rate}, num_channels={frame.num_channels} "
                f"but the resampler expects sample_rate={self._from_rate}, "
                f"num_channels={self._num_channels}"
            )
        if frame.samples_per_channel == 0:
            return []
        if self._from_rate == self._to_rate:
            return [frame]
        samples = frame.data.reshape(-1, self._num_channels).astype(np.float64)
        self._buf = np.concatenate([self._buf, samples])
        self._received += frame.samples_per_channel
        # Output k needs inputs up to floor(k * step / phases) + taps_each_side, so the outputs
        # ready now are those with k * step < (received - taps_each_side) * phases.
        ready_input = self._received - self._taps_each_side
        end = max(self._next_output, -((-ready_input * self._phases) // self._step))
        return self._emit(end)

    def flush(self) -> list[AudioFrame]:
        """End the stream: return the held-back output (one frame, or none) and reset."""
        if self._from_rate == self._to_rate:
            return []
        total = -((-self._received * self._phases) // self._step)
        # The signal is zero after its end; the last output reaches taps_each_side past it.
        tail = np.zeros((self._taps_each_side, self._num_channels), dtype=np.float64)
        self._buf = np.concatenate([self._buf, tail])
        frames = self._emit(total)
        self._reset()
        return frames

    def _emit(self, end: int) -> list[AudioFrame]:
        start = self._next_output
        if end <= start:
            return []
        out = np.empty((end - start, self._num_channels), dtype=np.int16)
        block_size = max(1, _BLOCK_ELEMENTS // (len(self._offsets) * self._num_channels))
        for block in range(start, end, block_size):
            block_end = min(block + block_size, end)
            out[block - start : block_end - start] = self._compute(block, block_end)
        self._next_output = end
        # Keep only the history future outputs can still reach.
        first_needed = (end * self._step) // self._phases - self._taps_each_side
        drop = first_needed - self._buf_start
        if drop > 0:
            self._buf = self._buf[drop:]
            self._buf_start = first_needed
        return [AudioFrame(out, sample_rate=self._to_rate, num_channels=self._num_channels)]

    def _compute(self, start: int, end: int) -> npt.NDArray[np.int16]:
        ks = np.arange(start, end, dtype=np.int64)
        position = ks * self._step
        base = position // self._phases
        phase = position % self._phases
        unique_phases, which = np.unique(phase, return_inverse=True)
        weights = self._weights(unique_phases)[which.reshape(-1)]
        index = base[:, None] + self._offsets[None, :] - self._buf_start
        values = np.einsum("nt,ntc->nc", weights, self._buf[index])
        return np.clip(np.rint(values), _INT16_MIN, _INT16_MAX).astype(np.int16)

    def _weights(self, phases: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        # Distance (in input samples) from each output position to each tap's input sample.
        distance = (phases / self._phases)[:, None] - self._offsets[None, :]
        u = distance / self._half_width
        inside = np.abs(u) < 1.0
        window = np.where(
            inside,
            np.i0(_KAISER_BETA * np.sqrt(np.clip(1.0 - u * u, 0.0, None))) / np.i0(_KAISER_BETA),
            0.0,
        )
        kernel = np.sinc(self._cutoff * distance) * window
        # Unit DC gain per phase: a constant signal stays constant, with no phase-dependent
        # ripple from the truncated kernel.
        return kernel / kernel.sum(axis=1, keepdims=True)


@overload
def resample(audio: AudioFrame, from_rate: int | None, to_rate: int) -> AudioFrame: ...


@overload
def resample(
    audio: npt.NDArray[np.int16], from_rate: int | None, to_rate: int
) -> npt.NDArray[np.int16]: ...


def resample(
    audio: AudioFrame | npt.NDArray[np.int16], from_rate: int | None, to_rate: int
) -> AudioFrame | npt.NDArray[np.int16]:
    """Resample int16 audio from ``from_rate`` to ``to_rate`` in one shot.

    ``audio`` is an :class:`AudioFrame` (``from_rate`` may be ``None``, meaning the frame's own
    rate; otherwise it must equal it) or an int16 array, 1-D for mono or 2-D
    ``(samples, channels)``. The result has the same form: a frame at ``to_rate`` or an array
    of the same dimensionality. Channels are resampled independently.

    Length rule: ``n`` input samples per channel give exactly ``ceil(n * to_rate / from_rate)``
    output samples per channel (see :func:`output_length`). Same rate returns an identical copy.
    The algorithm and values are those of :class:`Resampler`.
    """
    to_rate = _positive_int("to_rate", to_rate)
    if isinstance(audio, AudioFrame):
        if from_rate is None:
            from_rate = audio.sample_rate
        elif _positive_int("from_rate", from_rate) != audio.sample_rate:
            raise ValueError(
                f"from_rate={from_rate} but the frame's sample_rate is {audio.sample_rate}"
            )
        frame = audio
    elif isinstance(audio, np.ndarray):
        if from_rate is None:
            raise ValueError("from_rate is required when audio is an array")
        from_rate = _positive_int("from_rate", from_rate)
        if audio.ndim not in (1, 2):
            raise ValueError(
                f"audio must be 1-D (mono) or 2-D (samples, channels), got shape {audio.shape}"
            )
        channels = 1 if audio.ndim == 1 else audio.shape[1]
        if channels == 0:
            raise ValueError(f"audio has shape {audio.shape}: no channels")
        frame = AudioFrame(
            _int16_from_array("audio", audio, channels),
            sample_rate=from_rate,
            num_channels=channels,
        )
    else:
        raise TypeError(f"audio must be an AudioFrame or numpy array, got {type(audio).__name__}")

    resampler = Resampler(frame.sample_rate, to_rate, frame.num_channels)
    pieces = [*resampler.push(frame), *resampler.flush()]
    result = (
        AudioFrame.concat(pieces)
        if pieces
        else AudioFrame(b"", sample_rate=to_rate, num_channels=frame.num_channels)
    )
    if isinstance(audio, AudioFrame):
        return result
    return result.data.copy() if audio.ndim == 1 else result.to_ndarray()


# ---------------------------------------------------------------------------------------------
# Generators
# ---------------------------------------------------------------------------------------------


def _sample_count(duration: object, sample_rate: int) -> int:
    # Python's round() (half to even); 0.1 s * 16000 is 1600.0000000000002 in floating point,
    # which is why this rounds rather than truncates.
    return round(_non_negative_real("duration", duration) * sample_rate)


def _channels_frame(mono: npt.NDArray[np.int16], sample_rate: int, num_channels: int) -> AudioFrame:
    # The same signal on every channel.
    return AudioFrame(
        np.repeat(mono[:, None], num_channels, axis=1),
        sample_rate=sample_rate,
        num_channels=num_channels,
    )


def sine(
    frequency: float,
    duration: float,
    *,
    sample_rate: int = 16000,
    amplitude: float = 0.5,
    num_channels: int = 1,
) -> AudioFrame:
    """A sine tone starting at phase 0, the same on every channel.

    Sample ``i`` is ``round(amplitude * 32767 * sin(2 pi frequency i / sample_rate))``, for
    ``round(duration * sample_rate)`` samples per channel. ``frequency`` must lie in
    ``[0, sample_rate / 2]``; ``amplitude`` is a fraction of full scale in ``[0, 1]``.
    """
    sample_rate = _positive_int("sample_rate", sample_rate)
    num_channels = _positive_int("num_channels", num_channels)
    freq = _non_negative_real("frequency", frequency)
    if freq > sample_rate / 2:
        raise ValueError(
            f"frequency must be <= sample_rate / 2 = {sample_rate / 2} (Nyquist), got {frequency}"
        )
    level = _amplitude(amplitude) * _FULL_SCALE
    n = _sample_count(duration, sample_rate)
    t = np.arange(n, dtype=np.float64) / sample_rate
    mono = np.rint(level * np.sin(2.0 * np.pi * freq * t)).astype(np.int16)
    return _channels_frame(mono, sample_rate, num_channels)


def silence(duration: float, *, sample_rate: int = 16000, num_channels: int = 1) -> AudioFrame:
    """All-zero audio of ``round(duration * sample_rate)`` samples per channel."""
    sample_rate = _positive_int("sample_rate", sample_rate)
    num_channels = _positive_int("num_channels", num_channels)
    n = _sample_count(duration, sample_rate)
    return AudioFrame(
        np.zeros(n * num_channels, dtype=np.int16),
        sample_rate=sample_rate,
        num_channels=num_channels,
    )


def noise(
    duration: float,
    *,
    sample_rate: int = 16000,
    amplitude: float = 0.1,
    seed: int = 0,
    num_channels: int = 1,
) -> AudioFrame:
    """White noise, uniform in ``[-amplitude, amplitude]`` of full scale, determined by ``seed``.

    ``round(duration * sample_rate)`` samples per channel, drawn from
    ``numpy.random.default_rng(seed)``; every channel gets its own independent samples.
    """
    sample_rate = _positive_int("sample_rate", sample_rate)
    num_channels = _positive_int("num_channels", num_channels)
    level = _amplitude(amplitude) * _FULL_SCALE
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__} {seed!r}")
    n = _sample_count(duration, sample_rate)
    rng = np.random.default_rng(int(seed))
    values = rng.uniform(-level, level, size=n * num_channels)
    return AudioFrame(
        np.rint(values).astype(np.int16), sample_rate=sample_rate, num_channels=num_channels
    )
