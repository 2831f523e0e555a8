"""The SPEC rules upstream livekit-agents 1.8.9's TTS client is known not to follow.

Each entry is a deviation ``voicewire run --iut livekit --suite tts`` (and the TTS families of
``--suite robustness``) reports, traced to upstream's installed source (line numbers of the
files under ``site-packages/livekit/agents/`` of the pinned release). ``harness/protocols.py``
registers them with the ``livekit`` implementation of the TTS protocol, so ``voicewire
explain`` names them beside the rule; ``tests/interop/test_livekit_iut.py`` runs upstream and
checks that each one is still reported, by these cases, with its outcome.

This is pure data: it imports without livekit installed.
"""

from __future__ import annotations

from voicewire.harness.llm_livekit import UPSTREAM_VERSION
from voicewire.harness.requirements import KnownDeviation

__all__ = ["TTS_DEVIATIONS"]

_RELEASE = f"livekit-agents {UPSTREAM_VERSION}"

TTS_DEVIATIONS: tuple[KnownDeviation, ...] = (
    KnownDeviation(
        rule="TTS-C-2",
        release=_RELEASE,
        explanation=(
            "A stream carries one segment: once flush() was called, text pushed afterwards is "
            "dropped with a logged deprecation warning ('handling multiple segments in a "
            "single instance is deprecated') and never sent, so the transcripts stop at the "
            "flush. Text pushed before the first flush goes out by sentences as SPEC says."
        ),
        source="tts/tts.py:775-782 (push_text returns once a segment was flushed)",
        cases=(
            "test_flush_sends_the_pending_text",
            "test_each_stream_ends_with_one_flush_on_the_pooled_socket",
            "test_tts_texts",
            "test_tts_pool",
        ),
    ),
    KnownDeviation(
        rule="TTS-C-3",
        release=_RELEASE,
        explanation=(
            "For the same reason, a stream whose script flushes in the middle of its text "
            "ends with its one session.flush after only the text pushed before that flush: "
            "what the synthesis sends before its session.flush is not its text."
        ),
        source="tts/tts.py:775-782 (push_text returns once a segment was flushed)",
        cases=("test_each_stream_ends_with_one_flush_on_the_pooled_socket",),
    ),
    KnownDeviation(
        rule="TTS-OUT-1",
        release=_RELEASE,
        explanation=(
            "synthesize() re-frames the stream's audio with an emitter of its own, whose one "
            "segment has the id '' instead of the server's session_id, and which is flushed "
            "after the stream: the held-back 10 ms tail goes out as an ordinary frame, and "
            "the end of the segment then emits 10 ms of silence the server never sent as the "
            "final frame. Streaming syntheses emit the server's audio exactly."
        ),
        source="tts/tts.py:530-548 (_ChunkedStreamFromStream._run: stream=False, flush()), "
        "939 (segment ''), 1165-1183 (the silent final marker)",
        cases=("test_synthesized_audio_is_the_servers",),
    ),
    KnownDeviation(
        rule="TTS-OUT-2",
        release=_RELEASE,
        explanation=(
            "An output_audio before any message with a session_id (none at all, or only on "
            "the session.created a pooled socket's second stream never sees) ends the "
            "synthesis with a plain RuntimeError ('start_segment() must be called before "
            "pushing audio data') raised in the audio emitter's task: no APIError, no error "
            "event, no retry (wire-capture §9.1)."
        ),
        source="inference/tts.py:738-747 (start_segment only on the first message with a "
        "session_id); tts/tts.py:1290-1295 (the RuntimeError), 619-622 (re-raised by join, "
        "outside the APIError handling)",
        cases=(
            "test_audio_without_any_session_id_fails_cleanly",
            "test_session_id_only_on_session_created_fails_cleanly",
        ),
    ),
    KnownDeviation(
        rule="CLI-ROB-1",
        release=_RELEASE,
        explanation=(
            "Audio without a session_id crashes the synthesis with a RuntimeError (see "
            "TTS-OUT-2); a binary frame is logged and ignored, and mistyped fields the "
            "receive loop does not compute with are passed on as they came (a session_id of "
            '7 becomes the segment id, an alignment start of "x" a TimedString\'s start), so '
            "those syntheses end cleanly instead of with an APIConnectionError; a frame over "
            "aiohttp's 4 MiB limit is reported as a close (APIStatusError). Text that is not "
            "JSON, JSON that is not an object and an output_audio without usable audio fail "
            "inside the receive task and are wrapped into an APIConnectionError, as SPEC asks."
        ),
        source="inference/tts.py:723-735 (closes and binary or error frames), 738-741 (any "
        "session_id taken as the segment id), 748-763 (alignment fields unchecked), 817-818 "
        "(other errors wrapped); tts/tts.py:1290-1295 (the session_id crash)",
        cases=(
            "test_audio_without_any_session_id_fails_cleanly",
            "test_session_id_only_on_session_created_fails_cleanly",
            "test_broken_frame_fails_the_synthesis_cleanly[binary_frame]",
            "test_hostile_tts_messages",
            "test_hostile_tts_synthesize",
            "test_tts_synthesis_ends",
        ),
    ),
)
