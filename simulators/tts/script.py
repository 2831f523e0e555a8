"""The scenario reply vocabulary of the TTS endpoint: how the simulator speaks what it is sent.

A rule of endpoint ``tts`` replies with a :class:`TTSReply`. The audio is always the tone code
of the text the client sends (``docs/tone-code.md``): each ``input_transcript`` becomes one
utterance of its text (surrounding whitespace left out), so the audio's duration follows the
text and decodes back to it. The reply says how that audio is delivered: in chunks of
``chunk_duration`` seconds, the first ``ttfb`` seconds after the synthesis's first input, then
paced at ``real_time_factor`` (both times the scenario's time scale), with or without
``output_alignment`` (words or chars), and which server bugs to play (``session_id`` left off,
audio at a wrong sample rate). Example (YAML)::

    rules:
      - match: {endpoint: tts, model: cartesia/sonic-3}
        reply:
          chunk_duration: 0.05
          ttfb: 0.2
          real_time_factor: 0.5
          alignment: words
          expect_voice: a167e0f3-df7e-4d52-a9c3-f949145efdab

A script that cannot be honoured (a ``session_id`` only on a ``session.created`` the script
does not send, a sample rate the tone code cannot synthesise, ...) is refused when the
scenario is loaded, with the path of the problem.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator
from voicewire.reference.tone_code import MIN_SAMPLE_RATE

__all__ = [
    "MAX_CHUNK_SECONDS",
    "MAX_SAMPLE_RATE",
    "MAX_TTS_SECONDS",
    "MIN_CHUNK_SECONDS",
    "TTSReply",
]

MIN_CHUNK_SECONDS = 0.005
"""The shortest ``chunk_duration`` (5 ms): a long text then makes a bounded number of
messages per second of audio (SRV-7)."""
MAX_CHUNK_SECONDS = 10.0
"""The longest ``chunk_duration``."""
MAX_TTS_SECONDS = 3600.0
"""The longest ``ttfb`` or ``gap`` a script may name."""
MAX_SAMPLE_RATE = 192000
"""The highest ``sample_rate`` a script may force."""


class _Script(BaseModel):
    # Unknown keys are errors: a typo in a scenario must not silently script nothing.
    model_config = ConfigDict(extra="forbid", frozen=True)


class TTSReply(_Script):
    """How the TTS simulator answers on one connection: the delivery of the tone-coded audio
    of every ``input_transcript``, and the server bugs to play.

    One ``session.create`` gets one ``session.created``; each synthesis gets its audio (and
    alignment) as its input arrives, then ``done`` after its ``session.flush``; the socket
    stays open for the next synthesis."""

    chunk_duration: float = Field(
        default=0.1,
        ge=MIN_CHUNK_SECONDS,
        le=MAX_CHUNK_SECONDS,
        allow_inf_nan=False,
        description="Seconds of audio per `output_audio` message (the last of an utterance may "
        "be shorter; at least 0.005).",
    )
    ttfb: float = Field(
        default=0.0,
        ge=0,
        le=MAX_TTS_SECONDS,
        allow_inf_nan=False,
        description="Seconds between a synthesis's first `input_transcript` and its first "
        "audio (times the time scale).",
    )
    real_time_factor: float = Field(
        default=0.0,
        ge=0,
        le=100,
        allow_inf_nan=False,
        description="Wall seconds per second of audio between two chunks (times the time "
        "scale): 1 paces the audio in real time, 0 sends it as fast as it can.",
    )
    gap: float = Field(
        default=0.4,
        ge=0,
        le=MAX_TTS_SECONDS,
        allow_inf_nan=False,
        description="Seconds of silence between two utterances of one synthesis (over the tone "
        "decoder's 0.3 s hangover, each decodes as its own segment).",
    )
    alignment: Literal["none", "words", "chars"] = Field(
        default="none",
        description="Send an `output_alignment` before each utterance's audio, with `words` or "
        "`chars` timed in seconds from the synthesis's first sample; `none`: no alignment.",
    )
    session_created: bool = Field(
        default=True, description="Answer `session.create` with `session.created`."
    )
    session_id: Literal["every", "created_only", "none"] = Field(
        default="every",
        description="Where the session id goes: `every` message (TTS-S-1); `created_only`: on "
        "`session.created` only (upstream's second stream on a pooled socket crashes); "
        "`none`: on no message (upstream's first stream crashes).",
    )
    sample_rate: int | None = Field(
        default=None,
        ge=MIN_SAMPLE_RATE,
        le=MAX_SAMPLE_RATE,
        strict=True,
        description="Synthesise at this rate instead of the session's (a server that breaks "
        "TTS-S-1's 'at the session rate'); absent: the session's rate.",
    )
    expect_voice: StrictStr | None = Field(
        default=None,
        description="The voice every synthesis must ask for (`generation_config.voice`, else "
        "`session.create`'s): another gets an `error` 400 naming both.",
    )
    expect_model: StrictStr | None = Field(
        default=None,
        description="The model every synthesis must ask for (`generation_config.model`, else "
        "`session.create`'s): another gets an `error` 400 naming both.",
    )

    @model_validator(mode="after")
    def _session_id_has_a_carrier(self) -> TTSReply:
        if self.session_id == "created_only" and not self.session_created:
            raise ValueError(
                "session_id 'created_only' puts the id on session.created, but "
                "session_created is false: no message would carry it (use 'none')"
            )
        return self
