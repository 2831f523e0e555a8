"""The segment tracker: server messages in, SpeechEvents out (SPEC §3.3), sans-IO.

:class:`SegmentTracker` is the ordering contract of a speech stream in one place. Whatever the
server sends, and in whatever order, the events it returns form segments
``START (INTERIM)* [USAGE] FINAL END`` (STT-ORD-1):

- the first non-empty interim, any final (even empty) and ``start_of_speech`` open a segment
  when none is open, and only then (STT-ORD-2);
- an empty interim emits nothing; an empty final emits FINAL (text ``""``) and END (STT-ORD-3);
- FINAL and INTERIM carry the server's texts, in order (STT-ORD-4);
- times are ``offset + start`` and ``offset + start + duration``; absent ``confidence`` is 1.0,
  absent ``language`` the configured one, else ``"en"``; ``request_id`` is the server's when it
  sent one (STT-ORD-5);
- RECOGNITION_USAGE, just before a FINAL, reports the audio sent since the previous usage
  event, counted in samples so that it is exact to the sample (STT-USG-1);
- one tracker serves every attempt of a stream: :meth:`SegmentTracker.reconnect` moves the
  offset forward so that ``start_time`` stays monotonic across attempts (STT-RETRY-1).

Every segment a FINAL closes is closed at once, so a stream never ends with a segment open
after its last final; a stream cut short may end inside a segment (``START INTERIM*``), which
only a final could close.

Each step is one small method, so that a variant with one deliberate bug (a mutant of the zoo)
subclasses the tracker and overrides exactly that step.
"""

from __future__ import annotations

import math

from voicewire.reference.stt.speech import (
    RecognitionUsage,
    SpeechData,
    SpeechEvent,
    SpeechEventType,
    TimedString,
)
from voicewire.reference.stt.wire.messages import (
    FinalTranscript,
    InterimTranscript,
    ServerMessage,
    StartOfSpeech,
    TranscriptWord,
)

__all__ = ["DEFAULT_LANGUAGE", "SegmentTracker"]

DEFAULT_LANGUAGE = "en"
"""The language of a transcript that names none when none is configured (STT-ORD-5)."""


class SegmentTracker:
    """Turns the server messages of one speech stream into SpeechEvents.

    ``sample_rate`` is the session's rate (for usage durations); ``language`` the configured
    language (``None``: unset); ``request_id`` the stream's own id, used for transcripts
    without a ``request_id``; ``offset`` where the first session's time zero lies on the
    stream's timeline. ``language`` and ``request_id`` are plain attributes: an option
    change (STT-C-5) sets ``language``, and it applies to the transcripts that follow.
    """

    def __init__(
        self,
        *,
        sample_rate: int,
        language: str | None = None,
        request_id: str = "",
        offset: float = 0.0,
    ) -> None:
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int):
            raise TypeError(f"sample_rate must be an int, got {type(sample_rate).__name__}")
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be > 0, got {sample_rate}")
        self._sample_rate = sample_rate
        self.language = language
        self.request_id = request_id
        self._offset = _offset("offset", offset)
        self._speaking = False
        self._samples_sent = 0
        self._unreported_samples = 0
        # The largest start_time emitted so far: a new attempt's offset never goes below it.
        self._latest_start_time = -math.inf

    # -- state ---------------------------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        """The session's sample rate in Hz."""
        return self._sample_rate

    @property
    def offset(self) -> float:
        """Seconds added to the server's times (STT-ORD-5)."""
        return self._offset

    @property
    def speaking(self) -> bool:
        """Whether a segment is open (START emitted, END not yet)."""
        return self._speaking

    @property
    def samples_sent(self) -> int:
        """Samples of audio sent over the whole stream, every attempt included."""
        return self._samples_sent

    @property
    def unreported_samples(self) -> int:
        """Samples sent since the previous RECOGNITION_USAGE (STT-USG-1)."""
        return self._unreported_samples

    @property
    def audio_position(self) -> float:
        """Seconds of audio sent over the whole stream: where the stream's timeline stands."""
        return self._samples_sent / self._sample_rate

    # -- driving it ----------------------------------------------------------------------------

    def audio_sent(self, samples: int) -> None:
        """``samples`` more samples of audio went to the server (STT-USG-1 counts them)."""
        if isinstance(samples, bool) or not isinstance(samples, int):
            raise TypeError(f"samples must be an int, got {type(samples).__name__}")
        if samples < 0:
            raise ValueError(f"samples must be >= 0, got {samples}")
        self._samples_sent += samples
        self._unreported_samples += samples

    def reconnect(self, offset: float | None = None) -> float:
        """A new attempt, with a new session, begins (STT-RETRY-1); returns its offset.

        ``offset`` is where the new session's time zero lies on the stream's timeline. By
        default it is :attr:`audio_position`: the new session hears audio from there on, so its
        times map exactly onto the stream's. Whatever is asked, the offset never goes back and
        never below a ``start_time`` already emitted, so ``start_time`` stays monotonic across
        attempts even after a server that reported times past the audio it had. The open
        segment, if any, stays open: the new session's transcripts continue it.
        """
        wanted = self.audio_position if offset is None else _offset("offset", offset)
        self._offset = max(wanted, self._offset, self._latest_start_time)
        return self._offset

    def receive(self, message: ServerMessage) -> list[SpeechEvent]:
        """Take one server message; return the SpeechEvents it makes, in order.

        Only ``start_of_speech`` and transcripts make events; every other message returns
        ``[]``. Never raises for a well-typed message, whatever came before it.
        """
        if isinstance(message, FinalTranscript):
            return self.on_final(message)
        if isinstance(message, InterimTranscript):
            return self.on_interim(message)
        if isinstance(message, StartOfSpeech):
            return self.open_segment()
        return []

    # -- the seams -----------------------------------------------------------------------------

    def open_segment(self) -> list[SpeechEvent]:
        """START_OF_SPEECH if no segment is open, else nothing (STT-ORD-1, STT-ORD-2)."""
        if self._speaking:
            return []
        self._speaking = True
        return [SpeechEvent(type=SpeechEventType.START_OF_SPEECH)]

    def close_segment(self) -> list[SpeechEvent]:
        """END_OF_SPEECH for the open segment, if one is open (STT-ORD-1)."""
        if not self._speaking:
            return []
        self._speaking = False
        return [SpeechEvent(type=SpeechEventType.END_OF_SPEECH)]

    def on_interim(self, message: InterimTranscript) -> list[SpeechEvent]:
        """An empty interim emits nothing (STT-ORD-3); a non-empty one opens a segment if
        needed and emits INTERIM (STT-ORD-2, STT-ORD-4)."""
        if not message.transcript:
            return []
        event = SpeechEvent(
            type=SpeechEventType.INTERIM_TRANSCRIPT,
            request_id=self.request_id_of(message),
            alternatives=(self.speech_data(message),),
        )
        return [*self.open_segment(), event]

    def on_final(self, message: FinalTranscript) -> list[SpeechEvent]:
        """Any final, even empty, opens a segment if needed (STT-ORD-2) and closes it:
        [USAGE] FINAL END (STT-ORD-1, STT-ORD-3, STT-USG-1)."""
        request_id = self.request_id_of(message)
        events = self.open_segment()
        events.extend(self.usage_events(request_id))
        events.append(
            SpeechEvent(
                type=SpeechEventType.FINAL_TRANSCRIPT,
                request_id=request_id,
                alternatives=(self.speech_data(message),),
            )
        )
        events.extend(self.close_segment())
        return events

    def usage_events(self, request_id: str) -> list[SpeechEvent]:
        """RECOGNITION_USAGE for the audio sent since the previous one, when there is any,
        and the count starts over (STT-USG-1)."""
        if self._unreported_samples <= 0:
            return []
        # One division of exact integers: the duration is the nearest float to samples/rate.
        duration = self._unreported_samples / self._sample_rate
        self._unreported_samples = 0
        return [
            SpeechEvent(
                type=SpeechEventType.RECOGNITION_USAGE,
                request_id=request_id,
                recognition_usage=RecognitionUsage(audio_duration=duration),
            )
        ]

    def request_id_of(self, message: InterimTranscript | FinalTranscript) -> str:
        """The server's ``request_id``, else the stream's own (STT-ORD-5)."""
        return message.request_id if message.request_id is not None else self.request_id

    def speech_data(self, message: InterimTranscript | FinalTranscript) -> SpeechData:
        """The SpeechData of a transcript on the stream's timeline (STT-ORD-5)."""
        offset = self._offset
        # Added in upstream's order, (offset + start) + duration, so the floats agree.
        start_time = offset + message.start
        self._latest_start_time = max(self._latest_start_time, start_time)
        if message.language is not None:
            language = message.language
        else:
            language = self.language or DEFAULT_LANGUAGE
        return SpeechData(
            language=language,
            text=message.transcript,
            start_time=start_time,
            end_time=start_time + message.duration,
            confidence=1.0 if message.confidence is None else message.confidence,
            speaker_id=message.speaker_id,
            words=tuple(self.timed_word(word, offset) for word in message.words or ()),
            # Only a non-empty object is metadata, as upstream has it.
            metadata=dict(message.extra) if message.extra else None,
        )

    def timed_word(self, word: TranscriptWord, offset: float) -> TimedString:
        """One word on the stream's timeline; an absent word confidence is 0.0, as upstream."""
        return TimedString(
            text=word.word,
            start_time=word.start + offset,
            end_time=word.end + offset,
            confidence=0.0 if word.confidence is None else word.confidence,
            start_time_offset=offset,
            speaker_id=word.speaker_id,
        )


def _offset(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)
