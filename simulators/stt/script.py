"""The scenario reply vocabulary of the STT endpoint: a transcript script on the audio clock.

A rule of endpoint ``stt`` replies with an :class:`STTReply`: segments of speech, each with
its text and its place in the audio (``start``, ``duration``, seconds of audio from the
session's start). The simulator sends a segment's messages when the audio it has *received*
reaches their position, never by wall time: ``start_of_speech`` (if asked for) at ``start``,
interims as growing prefixes of the text every ``interim_interval`` seconds of audio, the
final at ``start + duration``. Example (YAML)::

    rules:
      - match: {endpoint: stt}
        reply:
          interim_interval: 0.3
          segments:
            - text: hello world
              start: 0.0
              duration: 0.8
              confidence: 0.97
              words:
                - {word: hello, start: 0.0, end: 0.35}
                - {word: world, start: 0.4, end: 0.8}

A script that cannot be honoured (segments that overlap or are out of order, words outside
their segment or out of order, ...) is refused when the scenario is loaded, with the path of
the problem.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

__all__ = [
    "MAX_SCRIPT_SECONDS",
    "MIN_INTERIM_INTERVAL",
    "STTReply",
    "SegmentScript",
    "WordScript",
]

MAX_SCRIPT_SECONDS = 24 * 3600.0
"""The latest time a script may name (a day of audio): positions are counted in samples, and
a bound keeps every count small and every plan finite."""

MIN_INTERIM_INTERVAL = 0.01
"""The shortest ``interim_interval`` (10 ms of audio): a 50 ms frame then makes at most five
interims, so the work one frame causes stays bounded (SRV-7)."""

# Times closer than this are equal: scripts are written in decimal seconds, which binary
# floats hold only approximately (0.1 + 0.7 != 0.8).
_EPSILON = 1e-9


class _Script(BaseModel):
    # Unknown keys are errors: a typo in a scenario must not silently script nothing.
    model_config = ConfigDict(extra="forbid", frozen=True)


class WordScript(_Script):
    """One word of a final transcript, at absolute times on the audio clock."""

    word: StrictStr = Field(description="The word.")
    start: float = Field(
        ge=0, le=MAX_SCRIPT_SECONDS, allow_inf_nan=False, description="Seconds of audio."
    )
    end: float = Field(
        ge=0, le=MAX_SCRIPT_SECONDS, allow_inf_nan=False, description="Seconds of audio."
    )
    confidence: float | None = Field(
        default=None, ge=0, le=1, description="The word's confidence (absent: not sent)."
    )
    speaker: StrictStr | None = Field(
        default=None, description="The word's `speaker_id` (absent: not sent)."
    )

    @model_validator(mode="after")
    def _ordered(self) -> WordScript:
        if self.end + _EPSILON < self.start:
            raise ValueError(f"word {self.word!r} ends ({self.end:g} s) before it starts")
        return self


class SegmentScript(_Script):
    """One segment of speech: its final transcript and where it sounds in the audio."""

    text: StrictStr = Field(
        default="", description='The final transcript ("" scripts an empty final).'
    )
    start: float = Field(
        ge=0,
        le=MAX_SCRIPT_SECONDS,
        allow_inf_nan=False,
        description="Seconds of audio at which the segment begins.",
    )
    duration: float = Field(
        ge=0,
        le=MAX_SCRIPT_SECONDS,
        allow_inf_nan=False,
        description="Seconds of audio the segment lasts; its final is sent when the audio "
        "received reaches `start + duration`.",
    )
    words: list[WordScript] | None = Field(
        default=None,
        description="Word timings sent with the final (absolute seconds, inside the segment, "
        "in order); absent: no `words`.",
    )
    confidence: float | None = Field(
        default=None, ge=0, le=1, description="The transcripts' confidence (absent: not sent)."
    )
    language: StrictStr | None = Field(
        default=None, description="The transcripts' language (absent: not sent)."
    )
    speaker: StrictStr | None = Field(
        default=None, description="The transcripts' `speaker_id` (absent: not sent)."
    )
    extra: dict[str, Any] | None = Field(
        default=None, description="The transcripts' `extra` object (absent: not sent)."
    )

    @property
    def end(self) -> float:
        """``start + duration``."""
        return self.start + self.duration

    @model_validator(mode="after")
    def _words_fit(self) -> SegmentScript:
        if self.end > MAX_SCRIPT_SECONDS:
            raise ValueError(f"the segment ends after {MAX_SCRIPT_SECONDS:g} s of audio")
        previous_end = -math.inf
        for index, word in enumerate(self.words or ()):
            if word.start + _EPSILON < self.start or word.end > self.end + _EPSILON:
                raise ValueError(
                    f"words[{index}] ({word.word!r}, {word.start:g}-{word.end:g} s) lies outside "
                    f"its segment ({self.start:g}-{self.end:g} s)"
                )
            if word.start + _EPSILON < previous_end:
                raise ValueError(
                    f"words[{index}] ({word.word!r}) starts at {word.start:g} s, before the "
                    f"previous word ends ({previous_end:g} s)"
                )
            previous_end = word.end
        return self


class STTReply(_Script):
    """What the STT simulator says on one session: its transcript script, on the audio clock.

    Messages are due when the audio received reaches their position. On ``session.finalize``
    the final of every segment that has begun (its ``start`` reached) and not yet ended is
    sent at once, then ``session.finalized``, then the socket closes with 1000; a segment the
    audio never reached is not sent (the journal notes it)."""

    segments: list[SegmentScript] = Field(
        default_factory=list,
        description="The segments, in order, not overlapping (one may start where the "
        "previous ends).",
    )
    interim_interval: float | None = Field(
        default=0.1,
        ge=MIN_INTERIM_INTERVAL,
        le=MAX_SCRIPT_SECONDS,
        allow_inf_nan=False,
        description="Seconds of audio between two interims of a segment (the first one that "
        "much after its start; at least 0.01); null: no interims.",
    )
    empty_interims: bool = Field(
        default=False,
        description="Send interims whose prefix is still empty (no word has ended yet) as "
        "empty interim transcripts; false: leave them out.",
    )
    start_of_speech: bool = Field(
        default=False,
        description="Send `start_of_speech` when the audio reaches each segment's start.",
    )
    session_created: bool = Field(
        default=True, description="Answer `session.create` with `session.created`."
    )
    request_id: StrictStr | None = Field(
        default=None,
        description="The transcripts' `request_id` (absent: a deterministic one per session).",
    )
    after_finalize: Literal["close", "session_closed", "stay_open"] = Field(
        default="close",
        description="How the session ends after `session.finalized`: `close` closes with 1000; "
        "`session_closed` sends `session.closed` first; `stay_open` leaves the socket open "
        "until the client closes it (a server that breaks STT-S-2, to test a client's "
        "STT-C-4 timers).",
    )

    @model_validator(mode="after")
    def _segments_in_order(self) -> STTReply:
        for index in range(1, len(self.segments)):
            before, segment = self.segments[index - 1], self.segments[index]
            if segment.start + _EPSILON < before.end:
                raise ValueError(
                    f"segments[{index}] starts at {segment.start:g} s, before segments"
                    f"[{index - 1}] ends at {before.end:g} s: segments are in order and do "
                    "not overlap"
                )
        return self
