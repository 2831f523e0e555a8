"""What the STT simulator says, as a function of the audio it has received (sans-IO).

A :class:`Transcriber` is told the audio as it arrives (:meth:`Transcriber.hear`, with the
session's audio clock in samples) and returns the server messages that audio made due; on
``session.finalize`` it returns what is still pending (:meth:`Transcriber.finish`). It never
reads a clock: the session's position is the audio received, so a transcript comes out the
same however fast or slow the client streams (DESIGN: time transcripts by the audio received,
not wall time).

:class:`ScriptPlayer` plays a scenario's :class:`~.script.STTReply`. Its messages are planned
lazily, one segment at a time, so a long script costs nothing until the audio reaches it
(SRV-7).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from voicewire.reference.stt.wire import (
    FinalTranscript,
    InterimTranscript,
    ServerMessage,
    StartOfSpeech,
    TranscriptWord,
)
from voicewire.simulators.stt.script import SegmentScript, STTReply

__all__ = ["ScriptPlayer", "Transcriber", "position"]


def position(seconds: float, sample_rate: int) -> int:
    """The audio clock position (samples) of a time in seconds: the nearest sample."""
    return round(seconds * sample_rate)


class Transcriber(Protocol):
    """The voice of one STT session: audio in, the server messages it made due out."""

    notes: list[tuple[str, Any]]
    """What the journal should note about the session (``(kind, data)``), taken by the
    caller after each call."""

    def hear(self, pcm: bytes, samples_received: int) -> list[ServerMessage]:
        """``pcm`` (s16le mono) arrived; the session has now received ``samples_received``
        samples in all. The messages now due, in order."""
        ...

    def finish(self, samples_received: int) -> list[ServerMessage]:
        """Input has ended (``session.finalize``): every message still pending, in order."""
        ...


_Due = tuple[int, int, "ServerMessage | None"]
"""A planned message: its position (samples), its segment's index, the message (None: an
interim left out)."""


class ScriptPlayer:
    """Plays an :class:`~.script.STTReply` on the audio clock of a session at
    ``sample_rate``.

    A segment's messages: ``start_of_speech`` at its start (if the script asks), interims
    every ``interim_interval`` seconds after its start while before its end (their text the
    words that have ended by then, or, without word timings, the share of the text's words
    that the elapsed share of the segment stands for), its final at its end. ``request_id``
    goes into every transcript."""

    def __init__(self, reply: STTReply, *, sample_rate: int, request_id: str) -> None:
        self._reply = reply
        self._rate = sample_rate
        self._request_id = reply.request_id if reply.request_id is not None else request_id
        self._planned = self._plan()
        self._next: _Due | None = next(self._planned, None)
        self.notes: list[tuple[str, Any]] = []

    # -- the plan ------------------------------------------------------------------------------

    def _plan(self) -> Iterator[_Due]:
        for index, segment in enumerate(self._reply.segments):
            yield from self._segment(index, segment)

    def _segment(self, index: int, segment: SegmentScript) -> Iterator[_Due]:
        rate = self._rate
        start = position(segment.start, rate)
        end = position(segment.end, rate)
        if self._reply.start_of_speech:
            yield start, index, StartOfSpeech()
        interval = self._reply.interim_interval
        if interval is not None:
            step = 1
            while True:
                at = segment.start + step * interval
                where = position(at, rate)
                if where >= end:
                    break
                text = self._prefix(segment, at)
                if text or self._reply.empty_interims:
                    yield where, index, self._transcript(InterimTranscript, segment, text, at)
                else:
                    # A silent step still takes its place on the clock: the plan advances with
                    # the audio, never ahead of it, however long the run of empty prefixes.
                    yield where, index, None
                step += 1
        yield end, index, self._final(segment)

    @staticmethod
    def _prefix(segment: SegmentScript, at: float) -> str:
        """The interim text at ``at`` seconds: the words that have ended by then."""
        if segment.words:
            return " ".join(w.word for w in segment.words if w.end <= at + 1e-9)
        words = segment.text.split()
        if not words or segment.duration <= 0:
            return ""
        share = (at - segment.start) / segment.duration
        return " ".join(words[: int(len(words) * share + 1e-9)])

    def _common(self, segment: SegmentScript) -> dict[str, Any]:
        fields: dict[str, Any] = {"request_id": self._request_id}
        if segment.confidence is not None:
            fields["confidence"] = segment.confidence
        if segment.language is not None:
            fields["language"] = segment.language
        if segment.speaker is not None:
            fields["speaker_id"] = segment.speaker
        if segment.extra is not None:
            fields["extra"] = segment.extra
        return fields

    def _transcript(
        self, kind: type[InterimTranscript], segment: SegmentScript, text: str, at: float
    ) -> InterimTranscript:
        return kind(
            transcript=text,
            start=segment.start,
            duration=max(0.0, at - segment.start),
            **self._common(segment),
        )

    def _final(self, segment: SegmentScript) -> FinalTranscript:
        words = None
        if segment.words is not None:
            words = tuple(
                TranscriptWord(
                    word=w.word,
                    start=w.start,
                    end=w.end,
                    confidence=w.confidence,
                    speaker_id=w.speaker,
                )
                for w in segment.words
            )
        return FinalTranscript(
            transcript=segment.text,
            start=segment.start,
            duration=segment.duration,
            words=words,
            **self._common(segment),
        )

    # -- the session ---------------------------------------------------------------------------

    def hear(self, pcm: bytes, samples_received: int) -> list[ServerMessage]:
        """The messages whose position the audio has reached (the audio itself is not
        listened to: the script says what it contains)."""
        due: list[ServerMessage] = []
        while self._next is not None and self._next[0] <= samples_received:
            if self._next[2] is not None:
                due.append(self._next[2])
            self._next = next(self._planned, None)
        return due

    def finish(self, samples_received: int) -> list[ServerMessage]:
        """What is due, then the final of the segment in progress (if the audio reached its
        start); segments the audio never reached are noted, not sent."""
        messages = self.hear(b"", samples_received)
        if self._next is not None:
            index = self._next[1]
            segment = self._reply.segments[index]
            if position(segment.start, self._rate) <= samples_received:
                messages.append(self._final(segment))
                index += 1
            unreached = len(self._reply.segments) - index
            if unreached:
                self.notes.append(
                    (
                        "unreached_segments",
                        {
                            "first": index,
                            "count": unreached,
                            "audio_received": samples_received / self._rate,
                        },
                    )
                )
            self._next = None
        return messages
