"""The SPEC rules upstream livekit-plugins-inworld 1.8.9's Inworld clients are known not to
follow.

Each entry is a deviation ``voicewire run --iut livekit --suite inworld`` reports, traced to
upstream's installed source: ``plugins/inworld/`` and ``agents/`` are the packages under
``site-packages/livekit/`` of the pinned release (livekit-plugins-inworld and livekit-agents
1.8.9), with their line numbers. ``harness/protocols.py`` registers them with the ``livekit``
implementation of the Inworld protocols, so ``voicewire explain`` names them beside the rule;
``tests/interop/test_livekit_iut.py`` runs upstream and checks that each one is still
reported, by these cases, with its outcome.

This is pure data: it imports without livekit installed.
"""

from __future__ import annotations

from voicewire.harness.llm_livekit import UPSTREAM_VERSION
from voicewire.harness.requirements import KnownDeviation

__all__ = ["INWORLD_DEVIATIONS"]

_RELEASE = f"livekit-plugins-inworld {UPSTREAM_VERSION}"
"""The plugin's release (it runs on livekit-agents of the same version, which the ``livekit``
extra pins with it; some of the behaviour below is the agents package's)."""

_SILENT_MARKER = (
    "agents/tts/tts.py:1165-1183 (a segment's end with nothing held back sends a 10 ms "
    "silent marker as its final frame)"
)

INWORLD_DEVIATIONS: tuple[KnownDeviation, ...] = (
    KnownDeviation(
        rule="IW-HTTP-2",
        release=_RELEASE,
        explanation=(
            "synthesize() ends every synthesis with 10 ms of silence the server never sent "
            "(its emitter is flushed after each audio line, so the end of the segment finds "
            "nothing held back and emits a silent final frame). An error line raises "
            "APIStatusError with the line's code inside the request's own `except Exception`, "
            "which re-raises it as an APIConnectionError without a status: the code is lost. "
            "Blank and unparseable lines are skipped and the audio before the marker is the "
            "server's, in order."
        ),
        source="plugins/inworld/tts.py:1004-1006 (flush after every audio line), 1007-1013 "
        "(the error line's APIStatusError), 1020-1021 (re-raised as APIConnectionError); "
        + _SILENT_MARKER,
        cases=(
            "test_audio_is_the_server_s_in_order[default]",
            "test_an_error_line_fails_the_synthesis_with_its_code[before_any_audio]",
            "test_an_error_line_fails_the_synthesis_with_its_code[mid_stream]",
            "test_hostile_inworld_ndjson",
        ),
    ),
    KnownDeviation(
        rule="IW-WS-1",
        release=_RELEASE,
        explanation=(
            "A stream carries one segment: text pushed after flush() is dropped with a logged "
            "deprecation warning ('handling multiple segments in a single instance is "
            "deprecated') and never sent, so the send_text pieces stop at the first flush. "
            "create, the pieces of at most 1000 characters, flush_context and close_context "
            "are as SPEC says."
        ),
        source="agents/tts/tts.py:775-782 (push_text returns once a segment was flushed)",
        cases=(
            "test_contexts_are_created_fed_and_closed[tts-1.5-configured]",
            "test_contexts_are_created_fed_and_closed[tts-2-defaults]",
        ),
    ),
    KnownDeviation(
        rule="IW-WS-2",
        release=_RELEASE,
        explanation=(
            "One TTS object has one socket and no limit of contexts on it: a sixth concurrent "
            "stream's create goes on the socket that holds five, the server refuses it, and "
            "that stream fails with APIError. max_connections is deprecated and ignored (a "
            "warning is logged); a second socket is opened only after the first one closed."
        ),
        source="plugins/inworld/tts.py:757-764 (_get_connection: one shared connection), "
        "259-272 (create_context registers a context without a limit), 676-677 "
        "(max_connections ignored)",
        cases=("test_a_sixth_concurrent_stream_never_shares_a_socket_with_five",),
    ),
    KnownDeviation(
        rule="IW-WS-4",
        release=_RELEASE,
        explanation=(
            "A stream whose contextClosed never comes waits conn_options.timeout + 60 s for "
            "it (a flushCompleted does not end it), so within the harness's end timeout it "
            "has not ended: the harness closes it (upstream then sends cancel_context) and "
            "reports a TimeoutError, not an error of the APIError family. contextClosed "
            "completes a stream, a failing status fails only its context and a socket close "
            "fails the open contexts with APIConnectionError, as SPEC says."
        ),
        source="plugins/inworld/tts.py:1085-1089 (wait_for(waiter, timeout + 60)), 515-520 "
        "(only contextClosed resolves the waiter)",
        cases=("test_context_closed_completes_and_a_withheld_one_ends_in_an_error",),
    ),
    KnownDeviation(
        rule="IW-WS-5",
        release=_RELEASE,
        explanation=(
            "Each stream's audio ends with 10 ms of silence the server never sent: with PCM "
            "every audioChunk is pushed and flushed, so at contextClosed the end of the "
            "segment finds nothing held back and emits a silent final frame. Before it the "
            "audio is the context's, in order, under the contextId as segment id, and word "
            "times keep increasing across flushes."
        ),
        source="plugins/inworld/tts.py:270 (flush_after_push for PCM), 493-496 (the flush "
        "after every audioChunk); " + _SILENT_MARKER,
        cases=(
            "test_interleaved_contexts_each_emit_their_own_audio",
            "test_word_times_keep_increasing_across_flushes",
        ),
    ),
    KnownDeviation(
        rule="IW-STT-ORD-1",
        release=_RELEASE,
        explanation=(
            "START_OF_SPEECH is emitted on speechStarted only, and END_OF_SPEECH only after a "
            "START: transcripts a server sends without a speechStarted before them come out "
            "as INTERIM and FINAL events outside any segment, with no START and no END. With "
            "speechStarted, segments, texts, empty finals and voice profiles are as SPEC says."
        ),
        source="plugins/inworld/stt.py:409-417 (START on speechStarted), 458-465 (END only "
        "while speaking)",
        cases=("test_transcript_scripts",),
    ),
    KnownDeviation(
        rule="IW-STT-USG-1",
        release=_RELEASE,
        explanation=(
            "Usage is collected over wall-clock time, not audio: a usage event goes out at a "
            "push once 5 s of wall time passed since the last one, and at endTurn and at the "
            "end. Audio pushed faster than real time (12 s in a fraction of a second) is "
            "reported in one piece at endTurn or the end, covering more than 5 s. The sum "
            "equals the audio pushed."
        ),
        source="plugins/inworld/_utils.py:24-36 (PeriodicCollector: a report once time.monotonic() "
        "moved 5 s), plugins/inworld/stt.py:233-236 (duration=5.0)",
        cases=("test_usage_every_five_seconds_on_end_turn_and_at_the_end", "test_push_patterns"),
    ),
    KnownDeviation(
        rule="IW-STT-END-1",
        release=_RELEASE,
        explanation=(
            "A server close before closeStream ends the stream silently, whatever its code: "
            "the receive task returns on the close, the send task stops at its next write, "
            "and _run leaves its loop without an error, an error event or a reconnect "
            "(wire-capture §8; upstream-source §8)."
        ),
        source="plugins/inworld/stt.py:378-404 (a close returns from the receive task), "
        "287-311 (_run leaves its loop once the tasks end), 338-366 (send errors logged, "
        "not raised)",
        cases=(
            "test_close_before_close_stream_is_retried[1000]",
            "test_close_before_close_stream_is_retried[1011]",
            "test_close_mid_stream[close_1000]",
            "test_close_mid_stream[close_1011]",
            "test_close_mid_stream[tcp_reset]",
        ),
    ),
    KnownDeviation(
        rule="CLI-ROB-1",
        release=_RELEASE,
        explanation=(
            "Server messages are trusted and silences waited out. STT: text that is not JSON "
            "and binary frames are skipped, transcription fields are not type-checked (an "
            'isFinal of "x" is a final, a transcript of 5 goes into the SpeechEvent as it '
            "came), and a server that never closes after closeStream is waited on forever "
            "(only the simulator's idle limit ends it). TTS WebSocket: a binary frame is "
            "skipped and the stream ends cleanly. HTTP: only the connect has a timeout, so an "
            "answer silent for longer than conn_options.timeout is waited out and ends "
            "cleanly. Voices: the answer is read with resp.json() and .get(): a body that is "
            "not JSON ends list_voices with JSONDecodeError, a JSON array with "
            "AttributeError, none an APIError; a voices value that is not an array of "
            "objects is returned as it came. Other malformed NDJSON lines and WebSocket "
            "replies end in an APIConnectionError, as SPEC asks."
        ),
        source="plugins/inworld/stt.py:378-404 (only TEXT frames read; JSONDecodeError "
        "skipped; no receive timeout), 406-465 (_process_stream_event); "
        "plugins/inworld/tts.py:394-395 (binary frames skipped), 969 (ClientTimeout with "
        "sock_connect only), 914-925 (list_voices)",
        cases=(
            "test_hostile_server_messages[not_json]",
            "test_hostile_server_messages[binary_frame]",
            "test_hostile_server_messages[transcript_not_a_string]",
            "test_server_that_never_closes",
            "test_hostile_replies_end_the_stream_with_an_api_error[binary_frame]",
            "test_a_silent_answer_fails_within_the_timeout[before_any_line]",
            "test_a_silent_answer_fails_within_the_timeout[mid_stream]",
            "test_a_failed_voices_answer_raises[not_json]",
            "test_a_failed_voices_answer_raises[voices_not_an_array]",
            "test_hostile_inworld_contexts",
            "test_hostile_inworld_transcripts",
        ),
    ),
)
