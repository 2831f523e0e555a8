"""The SPEC rules upstream livekit-agents 1.8.9's STT client is known not to follow.

Each entry is a deviation ``voicewire run --iut livekit --suite stt`` reports, traced to
upstream's installed source (line numbers of the files under
``site-packages/livekit/agents/`` of the pinned release). ``harness/protocols.py`` registers
them with the ``livekit`` implementation of the STT protocol, so ``voicewire explain`` names
them beside the rule; ``tests/interop/test_livekit_iut.py`` runs upstream and checks that each
one is still reported, by these cases, with its outcome.

This is pure data: it imports without livekit installed.
"""

from __future__ import annotations

from voicewire.harness.llm_livekit import UPSTREAM_VERSION
from voicewire.harness.requirements import KnownDeviation

__all__ = ["STT_DEVIATIONS"]

_RELEASE = f"livekit-agents {UPSTREAM_VERSION}"

STT_DEVIATIONS: tuple[KnownDeviation, ...] = (
    KnownDeviation(
        rule="STT-END-1",
        release=_RELEASE,
        explanation=(
            "An error message becomes an APIError whose retryable flag says only whether the "
            "input had ended, whatever its code: once end_input() was called, a 408, 429 or "
            "503 is not retryable (and before it, a 400 would be). The code goes into the "
            "error's body, not its status."
        ),
        source="inference/stt.py:1240-1250 (retryable=not input_ended.is_set())",
        cases=tuple(f"test_error_message_is_an_api_error[{code}-True]" for code in (408, 429, 503)),
    ),
    KnownDeviation(
        rule="STT-RETRY-1",
        release=_RELEASE,
        explanation=(
            "After a reconnect, start_time moves on by the wall-clock time the failed "
            "connection lasted, not by the audio it carried: a connection that sent 0.5 s of "
            "audio in a tenth of a second puts the retry's transcripts about 0.1 s after the "
            "stream's start, on top of what was already transcribed."
        ),
        source="stt/stt.py:479-484 (_start_time_offset += time.time() - last_start_time)",
        cases=("test_start_time_stays_monotonic_across_a_reconnect", "test_reconnects"),
    ),
    KnownDeviation(
        rule="STT-C-2",
        release=_RELEASE,
        explanation=(
            "Stereo frames are never mixed down: push_frame passes a frame on with its "
            "channels (the resampler, when one is needed, is built for one channel), and the "
            "sender cuts the interleaved bytes into 50 ms frames as if they were mono, so a "
            "stereo push sends twice its samples, the two channels interleaved. Mono input, "
            "resampled or not, is framed exactly."
        ),
        source="stt/stt.py:560-583 (push_frame); inference/stt.py:1142-1154 (AudioByteStream "
        "with num_channels=1)",
        cases=("test_push_patterns",),
    ),
    KnownDeviation(
        rule="CLI-ROB-1",
        release=_RELEASE,
        explanation=(
            "Server messages are trusted: text that is not JSON ends the stream with "
            "JSONDecodeError, JSON that is not an object with AttributeError, mistyped "
            "transcript fields (start, duration, words, language) with TypeError or "
            "AttributeError, none of them an APIError; a binary frame or a message without a "
            "string type is logged and ignored, and missing or mistyped transcript fields are "
            "defaulted or passed into the SpeechEvent as they came."
        ),
        source="inference/stt.py:1204-1209 (receive loop), 1361-1383 and 1414 "
        "(_process_transcript); stt/stt.py:517-519 (re-raised as is)",
        cases=("test_hostile_stt_messages",),
    ),
)
