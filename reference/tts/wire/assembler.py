"""The synthesis assembler: the server messages of one synthesis in, what the client emits
out (SPEC §4, TTS-OUT-1, TTS-OUT-2, TTS-RETRY-1), sans-IO.

:class:`SynthesisAssembler` turns ``output_audio``, ``output_alignment``, ``done`` and
``error`` into a list of :data:`SynthesisOutput` items:

- :class:`SynthesizedAudio`: frames of PCM s16le mono at the session's rate, cut to a fixed
  size whatever the server's chunking (even inside a sample); concatenated, they are exactly
  the server's audio bytes, in order. The segment id is the server's ``session_id``. The last
  frame of the synthesis is the one marked final, so the assembler holds one frame back until
  it knows whether another follows or ``done`` came; a synthesis without audio ends with one
  empty final frame, so that every synthesis has exactly one final (TTS-OUT-1).
- :class:`AlignedTranscript`: an ``output_alignment``'s words or characters as
  :class:`~voicewire.reference.stt.speech.TimedString` (TTS-S-2).
- :class:`SynthesisFailure`: the synthesis failed (an ``error`` message, a close before
  ``done``, a receive timeout), as data: :meth:`SynthesisFailure.to_exception` builds the
  ``APIError`` the client raises (TTS-OUT-2), retryable only if no audio was emitted yet
  (TTS-RETRY-1). Held-back audio is dropped on a failure: it was never emitted, so a retry
  that replays the input cannot duplicate it.

A server breaking TTS-S-1 (``output_audio`` or ``done`` without ``session_id`` when
``strict``, audio ending inside a sample, anything after ``done``) raises
:class:`~voicewire.reference.json_wire.RemoteProtocolError`; the client turns it into an
``APIConnectionError`` (CLI-ROB-1).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal, TypeAlias

from voicewire.reference.audio import AudioByteStream, AudioFrame
from voicewire.reference.errors import APIError, APIStatusError, APITimeoutError
from voicewire.reference.json_wire import RemoteProtocolError
from voicewire.reference.stt.speech import TimedString
from voicewire.reference.tts.wire.messages import (
    OutputAlignment,
    OutputAudio,
    SynthesisDone,
    TTSErrorMessage,
    TTSServerMessage,
    TTSSessionClosed,
    TTSSessionCreated,
)

__all__ = [
    "DEFAULT_TTS_FRAME_DURATION",
    "AlignedTranscript",
    "FailureKind",
    "SynthesisAssembler",
    "SynthesisFailure",
    "SynthesisOutput",
    "SynthesizedAudio",
]

DEFAULT_TTS_FRAME_DURATION = 0.1
"""Seconds of audio per emitted frame (the last one may be shorter): 100 ms, as the upstream
client's frames in the wire capture (9 frames for 0.92 s)."""


@dataclass(frozen=True)
class SynthesizedAudio:
    """One frame of synthesized audio, as upstream's ``SynthesizedAudio``: ``frame`` is mono
    PCM at the session's rate, ``segment_id`` the server's ``session_id`` (``""`` while
    unknown), ``request_id`` the stream's own id, ``is_final`` true on the last frame of the
    synthesis only (TTS-OUT-1)."""

    frame: AudioFrame
    request_id: str
    segment_id: str
    is_final: bool = False
    delta_text: str = ""


@dataclass(frozen=True)
class AlignedTranscript:
    """The timed text of one ``output_alignment`` (TTS-S-2): ``granularity`` says whether
    ``items`` are words or characters; times are seconds from the synthesis's start."""

    segment_id: str
    granularity: Literal["words", "chars"]
    items: tuple[TimedString, ...]

    @property
    def text(self) -> str:
        """The items joined, as the text they align."""
        return "".join(item.text for item in self.items)


class FailureKind(str, Enum):
    """Why a synthesis failed (TTS-OUT-2)."""

    SERVER_ERROR = "error"
    """The server sent an ``error`` message."""
    CLOSED = "closed"
    """The socket (or the session, by ``session.closed``) closed before ``done``."""
    TIMEOUT = "timeout"
    """No message arrived within the client's timeout."""


@dataclass(frozen=True)
class SynthesisFailure:
    """A failed synthesis, as data. ``audio_emitted`` says whether any audio frame had been
    emitted before it (TTS-RETRY-1); ``status_code`` is the close code of a close (``-1``
    without one); ``body`` the ``error`` message's JSON."""

    kind: FailureKind
    message: str
    audio_emitted: bool
    status_code: int = -1
    body: object | None = None

    @property
    def retryable(self) -> bool:
        """Whether a retry may replay the input: every failure of TTS-OUT-2 is retryable, but
        only while no audio was emitted (TTS-RETRY-1)."""
        return not self.audio_emitted

    def to_exception(self, *, request_id: str | None = None) -> APIError:
        """The error the client raises (TTS-OUT-2): ``APIError`` for an ``error`` message,
        ``APIStatusError`` for a close, ``APITimeoutError`` for a timeout; retryable as
        :attr:`retryable` says."""
        if self.kind is FailureKind.SERVER_ERROR:
            return APIError(
                f"LiveKit Inference TTS returned error: {self.message}",
                body=self.body,
                retryable=self.retryable,
            )
        if self.kind is FailureKind.CLOSED:
            return APIStatusError(
                f"Gateway connection closed unexpectedly: {self.message}",
                status_code=self.status_code,
                request_id=request_id,
                retryable=self.retryable,
            )
        return APITimeoutError(
            f"LiveKit Inference TTS timed out: {self.message}", retryable=self.retryable
        )


SynthesisOutput: TypeAlias = SynthesizedAudio | AlignedTranscript | SynthesisFailure
"""What a synthesis yields: audio frames, timed transcripts, and at most one failure, last."""


class SynthesisAssembler:
    """Turns the server messages of one synthesis into :data:`SynthesisOutput` items.

    ``sample_rate`` is the session's rate; ``request_id`` the stream's own id, stamped on every
    frame; ``frame_duration`` the length of the emitted frames in seconds (at least one
    sample); ``strict`` holds the server to TTS-S-1's ``session_id`` on every ``output_audio``
    and on ``done`` (upstream crashes without it; with ``strict=False`` the segment id is the
    first ``session_id`` seen, ``""`` until then). ``space_after_words`` appends a space to each
    aligned word, as upstream does for Cartesia's alignments.

    The assembler is finished once it returned the final frame or a failure: :attr:`finished`.
    """

    def __init__(
        self,
        *,
        sample_rate: int,
        request_id: str = "",
        frame_duration: float = DEFAULT_TTS_FRAME_DURATION,
        strict: bool = True,
        space_after_words: bool = False,
    ) -> None:
        if not isinstance(request_id, str):
            raise TypeError(f"request_id must be a str, got {type(request_id).__name__}")
        if not frame_duration > 0:
            raise ValueError(f"frame_duration must be > 0 seconds, got {frame_duration!r}")
        self._bytes = AudioByteStream(sample_rate, 1, max(1, round(sample_rate * frame_duration)))
        self._sample_rate = sample_rate
        self._request_id = request_id
        self._strict = strict
        self._space_after_words = space_after_words
        self._segment_id: str | None = None
        self._held: AudioFrame | None = None
        self._frames_emitted = 0
        self._bytes_received = 0
        self._finished = False
        self._failure: SynthesisFailure | None = None

    # -- state ---------------------------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        """The session's sample rate in Hz."""
        return self._sample_rate

    @property
    def request_id(self) -> str:
        """The stream's id, stamped on every frame."""
        return self._request_id

    @property
    def segment_id(self) -> str:
        """The server's ``session_id`` for this synthesis (``""`` until one arrived)."""
        return self._segment_id or ""

    @property
    def audio_emitted(self) -> bool:
        """Whether an audio frame with samples was returned (TTS-RETRY-1: after that a failure
        is no longer retryable)."""
        return self._frames_emitted > 0

    @property
    def bytes_received(self) -> int:
        """Audio bytes received from the server so far."""
        return self._bytes_received

    @property
    def finished(self) -> bool:
        """Whether the synthesis ended: the final frame or a failure was returned."""
        return self._finished

    @property
    def failure(self) -> SynthesisFailure | None:
        """The failure that ended the synthesis, if one did."""
        return self._failure

    # -- input ---------------------------------------------------------------------------------

    def receive(self, message: TTSServerMessage) -> list[SynthesisOutput]:
        """One server message of this synthesis in, what it makes out.

        ``session.created`` makes nothing; ``session.closed`` before ``done`` is a failure like
        a close. Raises :class:`RemoteProtocolError` for a message after the synthesis ended
        and for TTS-S-1's breaches (see the module's docstring).
        """
        if self._finished:
            raise RemoteProtocolError("TTS-S-1", f"{message.type} after the synthesis ended")
        if isinstance(message, OutputAudio):
            self._take_session_id(message.session_id, message.type)
            return self._push(message.pcm)
        if isinstance(message, OutputAlignment):
            self._take_session_id(message.session_id, message.type, required=False)
            return [self._aligned(message)]
        if isinstance(message, SynthesisDone):
            self._take_session_id(message.session_id, message.type)
            return self._finish()
        if isinstance(message, TTSErrorMessage):
            return self._fail(
                FailureKind.SERVER_ERROR,
                message.message,
                body=message.model_dump(mode="json", exclude_none=True),
            )
        if isinstance(message, TTSSessionClosed):
            return self._fail(FailureKind.CLOSED, "session.closed before done")
        if isinstance(message, TTSSessionCreated):
            return []
        raise TypeError(f"not a TTS server message: {type(message).__name__}")

    def connection_closed(self, code: int | None = None) -> list[SynthesisOutput]:
        """The socket closed with ``code`` (``None``: no close frame) before ``done``: a
        retryable ``APIStatusError`` whose status is the code, or -1 (TTS-OUT-2). Nothing once
        the synthesis ended."""
        if self._finished:
            return []
        status = code if isinstance(code, int) and not isinstance(code, bool) else -1
        return self._fail(FailureKind.CLOSED, f"close code {status}", status_code=status)

    def timed_out(self, timeout: float) -> list[SynthesisOutput]:
        """No message arrived for ``timeout`` seconds: an ``APITimeoutError`` (TTS-OUT-2).
        Nothing once the synthesis ended."""
        if self._finished:
            return []
        return self._fail(FailureKind.TIMEOUT, f"no message for {timeout} s")

    # -- steps ---------------------------------------------------------------------------------

    def _take_session_id(
        self, session_id: str | None, message_type: str, *, required: bool = True
    ) -> None:
        if session_id is None:
            if required and self._strict:
                raise RemoteProtocolError("TTS-S-1", f"{message_type} without session_id")
            return
        if self._segment_id is None:
            # The first session_id of the synthesis names its segment, as upstream's
            # start_segment(segment_id=session_id).
            self._segment_id = session_id

    def _push(self, pcm: bytes) -> list[SynthesisOutput]:
        self._bytes_received += len(pcm)
        outputs: list[SynthesisOutput] = []
        for frame in self._bytes.push(pcm):
            # A frame is emitted once the next one exists: only then is it known not final.
            if self._held is not None:
                outputs.append(self._emit(self._held, is_final=False))
            self._held = frame
        return outputs

    def _finish(self) -> list[SynthesisOutput]:
        try:
            rest = self._bytes.flush()
        except ValueError as exc:
            raise RemoteProtocolError("TTS-S-1", f"the audio ends inside a sample: {exc}") from exc
        frames = [*([self._held] if self._held is not None else []), *rest]
        if not frames:
            # Every synthesis has exactly one final, even one without audio.
            frames = [AudioFrame(b"", sample_rate=self._sample_rate)]
        self._held = None
        self._finished = True
        last = len(frames) - 1
        return [self._emit(frame, is_final=i == last) for i, frame in enumerate(frames)]

    def _emit(self, frame: AudioFrame, *, is_final: bool) -> SynthesizedAudio:
        if frame.samples_per_channel:
            self._frames_emitted += 1
        return SynthesizedAudio(
            frame=frame,
            request_id=self._request_id,
            segment_id=self.segment_id,
            is_final=is_final,
        )

    def _aligned(self, message: OutputAlignment) -> AlignedTranscript:
        if message.words is not None:
            suffix = " " if self._space_after_words else ""
            items = tuple(
                TimedString(text=w.word + suffix, start_time=w.start, end_time=w.end)
                for w in message.words
            )
            return AlignedTranscript(self.segment_id, "words", items)
        chars = message.chars or ()
        items = tuple(TimedString(text=c.char, start_time=c.start, end_time=c.end) for c in chars)
        return AlignedTranscript(self.segment_id, "chars", items)

    def _fail(
        self,
        kind: FailureKind,
        message: str,
        *,
        status_code: int = -1,
        body: object | None = None,
    ) -> list[SynthesisOutput]:
        self._held = None
        self._finished = True
        self._failure = SynthesisFailure(
            kind=kind,
            message=message,
            audio_emitted=self.audio_emitted,
            status_code=status_code,
            body=body,
        )
        return [self._failure]
