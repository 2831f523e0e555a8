"""The mutant zoo: every deliberately broken port must be caught by the suites, by name.

Each mutant runs as ``voicewire run --iut python:tests.mutants.<module>:factory`` in its own
process (the CLI, exactly as a user runs it, with ``--json``) against the suite cases that
should catch it. The case asserts that the run fails, that each SPEC ID the mutant breaks is
reported (FAIL for a MUST rule, NON-STRICT for a SHOULD rule), that no case ended in ERROR (a
mutant must be caught by a verdict, not by crashing the harness), and that nothing else broke
beyond the IDs the bug can plausibly touch (so a suite that blames the wrong rule shows up
here). The terminal summary prints the kill rate (see ``conftest.py``).

Runs are restricted with ``-k`` to the cases written for the bug, for speed and so that timing
cases unrelated to the bug cannot make a run flaky under load, and use ``--no-shrink``: the zoo
needs the verdict, not a minimal example (a failing property family would otherwise spend
seconds shrinking its counterexample). ``VOICEWIRE_ZOO_FULL=1`` runs every mutant against its
whole suite instead, property families included and shrinking (minutes), which checks that no
case anywhere in the suite blames a rule the bug does not touch. The reference passing every
suite is checked elsewhere. Runs use ``--strict``, so a mutant caught only by a SHOULD rule also
exits 1. They go in parallel (one per core), all started when the first zoo case sets up.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest
from voicewire.harness.requirements import REQUIREMENTS, Level

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 900.0
FULL = os.environ.get("VOICEWIRE_ZOO_FULL", "").strip().lower() not in ("", "0", "false", "no")


@dataclass(frozen=True)
class Mutant:
    """One mutant: where it is run and which SPEC IDs must catch it.

    ``also`` lists IDs the bug may break as well (the same faulty behaviour seen through a
    neighbouring rule); any other broken ID fails the zoo case.
    """

    module: str
    suite: str
    keyword: str
    caught_by: tuple[str, ...]
    also: frozenset[str] = field(default_factory=frozenset)

    @property
    def iut(self) -> str:
        return f"python:tests.mutants.{self.module}:factory"


MUTANTS = [
    Mutant(
        "finish_length_drops_call",
        "llm",
        "pending_tool_calls_survive",
        ("LLM-TC-3",),
        also=frozenset({"LLM-TC-1"}),
    ),
    Mutant(
        "flush_on_new_index",
        "llm",
        "interleaved_fragments or emitted_in_index_order or new_index_without_id",
        ("LLM-TC-4", "LLM-TC-1"),
    ),
    Mutant(
        "retry_after_text",
        "retry",
        "no_retry_after",
        ("RETRY-6",),
        also=frozenset({"RETRY-2", "RETRY-5"}),
    ),
    Mutant(
        "retry_400",
        "retry",
        "client_error_is_not_retried",
        ("RETRY-3",),
        also=frozenset({"RETRY-5"}),
    ),
    Mutant("ignores_retry_interval", "retry", "waits_between_attempts", ("RETRY-4",)),
    Mutant(
        "truncate_duplicates_instructions",
        "chat_context",
        "truncate and not properties",
        ("CTX-TRUNC-3",),
        also=frozenset({"CTX-TRUNC-2", "CTX-TRUNC-5"}),
    ),
    Mutant(
        "truncate_keeps_leading_output",
        "chat_context",
        "truncate and not properties",
        ("CTX-TRUNC-4",),
        also=frozenset({"CTX-TRUNC-2", "CTX-TRUNC-5"}),
    ),
    Mutant("empty_tools_list", "llm", "test_request", ("LLM-REQ-2",)),
    Mutant("lost_provider_header", "llm", "test_request", ("LLM-REQ-5",)),
    Mutant("usage_first", "llm", "usage", ("LLM-USG-1",)),
    Mutant(
        "reserialised_arguments",
        "llm",
        "byte_exact or assemble_for_every_cut",
        ("LLM-TC-1", "LLM-TC-2"),
    ),
    Mutant(
        "split_think_marker",
        "llm",
        "thinking",
        ("LLM-TXT-2",),
        also=frozenset({"LLM-TXT-1"}),
    ),
    Mutant("unanswered_tool_call", "chat_context", "provider_format", ("CTX-OAI-2",)),
    Mutant(
        "fallback_keeps_failed_available",
        "retry",
        "fallback and not properties",
        ("FALLBACK-1",),
        also=frozenset({"FALLBACK-4"}),
    ),
    # -- the request (LLM-REQ-*) --
    Mutant("named_tool_choice_string", "llm", "tool_choice_is_sent_in_openai_form", ("LLM-REQ-3",)),
    Mutant(
        "tool_choice_without_tools", "llm", "tool_choice_is_omitted_without_tools", ("LLM-REQ-3",)
    ),
    Mutant(
        "no_stream_options",
        "llm",
        "streams_the_model_verbatim",
        ("LLM-REQ-1",),
        also=frozenset({"LLM-USG-1"}),  # no usage asked for, none streamed
    ),
    Mutant("model_prefix_stripped", "llm", "streams_the_model_verbatim", ("LLM-REQ-1",)),
    Mutant(
        "parallel_tool_calls_default", "llm", "options_are_sent_only_when_given", ("LLM-REQ-4",)
    ),
    Mutant("constructor_options_win", "llm", "per_call_options_override", ("LLM-REQ-6",)),
    Mutant("raw_tool_made_strict", "llm", "raw_tool_is_sent_verbatim", ("LLM-REQ-2",)),
    Mutant("provider_from_model_prefix", "llm", "provider_header", ("LLM-REQ-5",)),
    # -- the stream: text, tool calls, usage, ids (LLM-TXT-*, LLM-TC-*, LLM-USG-1, LLM-ORD-1) --
    Mutant(
        "text_before_think_dropped",
        "llm",
        "thinking_blocks_are_removed",
        ("LLM-TXT-2",),
        also=frozenset({"LLM-TXT-1"}),
    ),
    Mutant(
        "unclosed_think_released", "llm", "unclosed", ("LLM-TXT-2",), also=frozenset({"LLM-TXT-1"})
    ),
    Mutant(
        "text_or_tool_calls",
        "llm",
        "text_sharing_a_delta",
        ("LLM-TC-5",),
        also=frozenset({"LLM-TXT-1"}),
    ),
    Mutant("cached_tokens_ignored", "llm", "exactly_one_usage_chunk", ("LLM-USG-1",)),
    Mutant("total_tokens_recomputed", "llm", "null_usage_counts", ("LLM-USG-1",)),
    Mutant("usage_summary_chunk", "llm", "usage_chunk or usage_comes_after", ("LLM-USG-1",)),
    Mutant("local_chunk_ids", "llm", "carries_the_server_id", ("LLM-ORD-1",)),
    Mutant("empty_deltas_emitted", "llm", "empty_and_role_only", ("LLM-TXT-1",)),
    Mutant(
        "calls_in_arrival_order",
        "llm",
        "emitted_in_index_order",
        ("LLM-TC-1",),
        also=frozenset({"LLM-TC-2", "LLM-TC-4"}),
    ),
    Mutant("empty_id_starts_call", "llm", "empty_id", ("LLM-TC-1", "LLM-TC-4")),
    Mutant("repeated_header_resets_arguments", "llm", "repeated_call_header", ("LLM-TC-1",)),
    Mutant(
        "calls_keyed_by_index",
        "llm",
        "new_id_on_a_seen_index",
        ("LLM-TC-4",),
        also=frozenset({"LLM-TC-1", "LLM-TC-2"}),
    ),
    # -- retries (RETRY-*) --
    Mutant(
        "retryable_4xx_not_retried",
        "retry",
        "retryable_client_error_is_retried",
        ("RETRY-3",),
        also=frozenset({"RETRY-5"}),
    ),
    Mutant(
        "status_499_ends_stream",
        "retry",
        "retryable_client_error_is_retried",
        ("RETRY-3", "RETRY-5"),
        also=frozenset({"FALLBACK-1", "FALLBACK-3"}),  # a quiet 499 looks like a success
    ),
    Mutant(
        "status_500_not_retried",
        "retry",
        "server_error_is_retried",
        ("RETRY-2", "RETRY-4"),
        also=frozenset({"RETRY-5"}),
    ),
    Mutant(
        "one_attempt_short",
        "retry",
        "attempts_are_bounded",
        ("RETRY-4",),
        # max_retry=1 never retries (a 429 seems final) and max_retry=2 gives the RETRY-7
        # case only two bodies to compare.
        also=frozenset({"RETRY-3", "RETRY-5", "RETRY-7"}),
    ),
    Mutant("first_retry_waits_interval", "retry", "waits_between_attempts", ("RETRY-4",)),
    Mutant(
        "recoverable_is_retryable",
        "retry",
        "attempts_are_bounded or exhausted_attempts",
        ("RETRY-5",),
    ),
    Mutant("error_event_only_on_retry", "retry", "attempts_are_bounded", ("RETRY-5",)),
    Mutant("exhaustion_raises_last_error", "retry", "exhausted_attempts", ("RETRY-5",)),
    # Under VOICEWIRE_ZOO_FULL this one also shows RETRY-2..6 and FALLBACK-4: the simulator
    # counts attempts by identical bodies, so every retry meets attempt 1's fault again and
    # the cases go on judging after their (soft) RETRY-7 check. A suite finding, not an
    # ``also``: see the zoo's report.
    Mutant("retry_body_changes", "retry", "identical_body", ("RETRY-7",)),
    Mutant(
        "usage_clears_retryable",
        "retry",
        "metadata_chunks_keep_retryable",
        ("RETRY-2",),
        also=frozenset({"RETRY-4", "RETRY-5"}),  # the retry that does not happen
    ),
    Mutant(
        "tool_call_not_visible",
        "retry",
        "no_retry_after_tool_call",
        ("RETRY-6", "RETRY-2"),
        also=frozenset({"RETRY-5"}),
    ),
    Mutant(
        "timeout_as_connection_error",
        "retry",
        "silence_is_a_timeout",
        ("RETRY-1",),
        also=frozenset({"FALLBACK-2"}),  # the fallback raises the mis-typed timeout as is
    ),
    Mutant("status_body_dropped", "retry", "error_status_is_a_status_error", ("RETRY-1",)),
    # -- the fallback adapter (FALLBACK-*) --
    Mutant("fallback_drops_tools", "retry", "failure_before_output_moves_on", ("FALLBACK-1",)),
    Mutant(
        "fallback_ignores_chunk_sent",
        "retry",
        "retry_on_chunk_sent",
        ("FALLBACK-2",),
        also=frozenset({"FALLBACK-1"}),  # the property family expects the secondary's answer
    ),
    Mutant("fallback_after_output", "retry", "failure_after_output_is_raised", ("FALLBACK-2",)),
    Mutant("fallback_raises_last_error", "retry", "every_llm_failing", ("FALLBACK-3",)),
    Mutant("fallback_no_probe", "retry", "recovered_llm_is_marked_available", ("FALLBACK-4",)),
    # -- the chat context (CTX-*) --
    Mutant(
        "truncate_loses_instructions",
        "chat_context",
        "keeps_the_window",
        ("CTX-TRUNC-3", "CTX-TRUNC-2"),
        also=frozenset({"CTX-TRUNC-6"}),
    ),
    Mutant("truncate_zero_keeps_all", "chat_context", "truncate_zero", ("CTX-TRUNC-6",)),
    Mutant("insert_appends", "chat_context", "insert_places_by_created_at", ("CTX-INS-1",)),
    Mutant(
        "insert_before_equal_time",
        "chat_context",
        "places_by",
        ("CTX-INS-1",),
        also=frozenset({"CTX-MERGE-1"}),
    ),
    Mutant(
        "add_message_placed_by_now",
        "chat_context",
        "add_message_without_created_at",
        ("CTX-INS-1",),
    ),
    Mutant("merge_duplicates_ids", "chat_context", "merge", ("CTX-MERGE-1",)),
    Mutant("copy_mutates_source", "chat_context", "copy_filters", ("CTX-COPY-1",)),
    Mutant(
        "copy_empty_tools_keeps_calls", "chat_context", "copy_filters and tools", ("CTX-COPY-1",)
    ),
    Mutant(
        "to_dict_drops_interrupted",
        "chat_context",
        "round_trip",
        ("CTX-DICT-1",),
        # Every context the IUT answers is dumped with its own to_dict: under
        # VOICEWIRE_ZOO_FULL, generated interrupted messages show up in truncation results too.
        also=frozenset({"CTX-TRUNC-1", "CTX-TRUNC-2", "CTX-TRUNC-6"}),
    ),
    Mutant(
        "equivalence_compares_timestamps",
        "chat_context",
        "is_equivalent_ignores_timestamps",
        ("CTX-EQ-1",),
    ),
    Mutant(
        "equivalence_ignores_interrupted",
        "chat_context",
        "is_equivalent_compares_payloads",
        ("CTX-EQ-1",),
    ),
    Mutant(
        "one_message_per_call",
        "chat_context",
        "grouped_with_their_assistant_message",
        ("CTX-OAI-1",),
        also=frozenset({"CTX-OAI-2"}),
    ),
    Mutant(
        "group_id_ignored", "chat_context", "grouped_with_their_assistant_message", ("CTX-OAI-1",)
    ),
    Mutant("orphan_output_sent", "chat_context", "unpaired and orphan", ("CTX-OAI-2",)),
    Mutant("text_parts_joined_with_space", "chat_context", "content_shape", ("CTX-OAI-3",)),
    Mutant("images_after_text", "chat_context", "content_shape", ("CTX-OAI-3",)),
    # -- survivors of the first zoo run, caught since the suites were sharpened --
    Mutant("single_attempt_wrapped", "retry", "attempts_are_bounded", ("RETRY-5",)),
    Mutant("last_usage_only", "llm", "every_usage_object", ("LLM-USG-1",)),
    Mutant(
        "held_prefix_dropped",
        "llm",
        "releases_everything",
        ("LLM-TXT-1",),
        also=frozenset({"LLM-TXT-2"}),
    ),
    Mutant("copy_image_only_is_empty", "chat_context", "copy", ("CTX-COPY-1",)),
    # -- hostile streams (LLM-ROB-*) --
    Mutant(
        "trusting_chunk_parser",
        "robustness",
        "hostile_bodies or fails_over",
        ("LLM-ROB-1",),
        also=frozenset({"FALLBACK-1"}),
    ),
    Mutant("unknown_delta_keys_refused", "robustness", "unknown_keys", ("LLM-ROB-2",)),
    Mutant("empty_body_is_an_answer", "robustness", "hostile_bodies", ("LLM-ROB-1",)),
    Mutant(
        "read_timeout_dropped",
        "robustness",
        "slow_streams",
        ("LLM-ROB-3",),
        also=frozenset({"RETRY-1"}),
    ),
    # -- the token (AUTH-*) --
    Mutant("token_minted_once", "llm", "fresh_token or token_claims", ("AUTH-3",)),
    Mutant("token_without_subject", "llm", "fresh_token or token_claims", ("AUTH-2",)),
    Mutant("fallback_tries_unavailable", "retry", "skips_the_unavailable", ("FALLBACK-1",)),
    # -- LiveKit STT (SPEC §3): the STT reference with one wire class swapped --
    Mutant(
        "stt_sample_rate_int",
        "stt",
        "session_create_opens_the_session and named",
        ("STT-C-1",),
        # The refused session.create opens no session: no audio, finalize, clean end or retry.
        also=frozenset({"STT-C-2", "STT-C-3", "STT-END-1", "STT-RETRY-1"}),
    ),
    Mutant("stt_20ms_frames", "stt", "exact_50ms_frames and 16000", ("STT-C-2",)),
    Mutant("stt_frames_as_pushed", "stt", "exact_50ms_frames and 16000", ("STT-C-2",)),
    # Also sends session.finalize twice, which STT-C-3's case cannot see: the simulator
    # closes on the first finalize and reads nothing after it (a gap of the STT-C-3 case).
    Mutant("stt_flush_finalizes", "stt", "exact_50ms_frames and 16000", ("STT-C-2",)),
    Mutant(
        "stt_finalize_twice",
        "stt",
        "server_lingers",
        ("STT-C-3",),
        also=frozenset({"STT-C-4"}),  # the server answers the second one with an error
    ),
    Mutant("stt_start_while_open", "stt", "events_form_whole_segments", ("STT-ORD-1", "STT-ORD-2")),
    Mutant(
        "stt_empty_final_no_end",
        "stt",
        "empty_transcripts",
        ("STT-ORD-3",),
        also=frozenset({"STT-ORD-1", "STT-ORD-2"}),  # the next segment never opens
    ),
    Mutant(
        "stt_empty_interim_emitted",
        "stt",
        "empty_transcripts",
        ("STT-ORD-3",),
        also=frozenset({"STT-ORD-4"}),  # the INTERIM texts are no longer the non-empty ones
    ),
    Mutant("stt_missing_confidence_zero", "stt", "times_confidence_language", ("STT-ORD-5",)),
    Mutant("stt_usage_not_reset", "stt", "usage_is_the_audio_sent", ("STT-USG-1",)),
    Mutant(
        "stt_close_after_finalize_is_error",
        "stt",
        "close_after_finalize_ends",
        ("STT-END-1",),
        also=frozenset({"STT-RETRY-1"}),  # a retried stream cannot end cleanly either
    ),
    Mutant(
        "stt_error_always_retryable", "stt", "error_message_is_an_api_error and 400", ("STT-END-1",)
    ),
    Mutant("stt_start_time_restarts", "stt", "start_time_stays_monotonic", ("STT-RETRY-1",)),
    # -- LiveKit TTS (SPEC §4): the TTS reference with one class swapped --
    Mutant(
        "tts_sample_rate_int",
        "tts",
        "session_create_opens_each_connection and defaults",
        ("TTS-C-1",),
        # The refused session.create opens no session: no transcript is taken, no audio comes,
        # every synthesis fails with the server's error (and its retry meets the same).
        also=frozenset(
            {"TTS-C-2", "TTS-C-3", "TTS-OUT-1", "TTS-OUT-2", "TTS-RETRY-1", "CLI-ROB-1"}
        ),
    ),
    Mutant(
        "tts_socket_per_synthesis",
        "tts",
        "each_stream_ends_with_one_flush",
        ("TTS-C-3",),
        also=frozenset({"TTS-C-1"}),  # a session.create per synthesis, not per connection
    ),
    Mutant(
        "tts_no_trailing_space",
        "tts",
        "transcripts_carry_the_text and at_once",
        ("TTS-C-2",),
        # The run-together text is also what a synthesis's flush closes (TTS-C-3's case) and
        # what a retry replays (TTS-RETRY-1's).
        also=frozenset({"TTS-C-3", "TTS-RETRY-1"}),
    ),
    Mutant("tts_pushes_as_transcripts", "tts", "transcripts_carry_the_text and word", ("TTS-C-2",)),
    Mutant(
        "tts_segment_id_from_request",
        "tts",
        "emitted_audio_is_the_servers and default",
        ("TTS-OUT-1",),
    ),
    Mutant(
        "tts_frames_at_default_rate",
        "tts",
        "emitted_audio_is_the_servers and rate_",
        ("TTS-OUT-1",),
    ),
    Mutant(
        "tts_error_not_retryable",
        "tts",
        "error_message_is_a_retryable",
        ("TTS-OUT-2",),
        also=frozenset({"TTS-RETRY-1"}),  # the retry an error message deserves never comes
    ),
    Mutant("tts_timeout_as_connection_error", "tts", "silence_past_the_timeout", ("TTS-OUT-2",)),
    Mutant(
        "tts_retry_after_audio",
        "tts",
        "failure_after_audio_is_raised",
        ("TTS-RETRY-1",),
        also=frozenset({"TTS-OUT-1"}),  # the replayed audio follows what was emitted
    ),
    Mutant("tts_retry_forgets_input", "tts", "failure_before_audio_is_retried", ("TTS-RETRY-1",)),
    # -- Inworld (SPEC §5, AUTH-6) --
    Mutant(
        "iw_http_temperature_top_level", "inworld", "request_goes_to_the_host_root", ("IW-HTTP-1",)
    ),
    Mutant("iw_http_base_path_kept", "inworld", "request_goes_to_the_host_root", ("IW-HTTP-1",)),
    Mutant("iw_voices_absolute_path", "inworld", "voices_are_listed_under", ("IW-VOICES-1",)),
    Mutant(
        "iw_key_reencoded",
        "inworld",
        "request_goes_to_the_host_root or contexts_are_created",
        ("AUTH-6",),
        also=frozenset({"IW-HTTP-1", "IW-WS-1"}),  # refused requests carry nothing to judge
    ),
    Mutant("iw_long_text_pieces", "inworld", "long_text_goes_out", ("IW-WS-1",)),
    Mutant(
        "iw_sixth_context",
        "inworld",
        "sixth_concurrent",
        ("IW-WS-2",),
        also=frozenset({"IW-WS-5"}),  # the refused sixth context emits no audio
    ),
    Mutant(
        "iw_status_fails_all",
        "inworld",
        "failing_status_fails_only",
        ("IW-WS-4",),
        also=frozenset({"IW-WS-5"}),  # the contexts failed with it lose their audio
    ),
    Mutant("iw_timestamps_restart", "inworld", "word_times_keep_increasing", ("IW-WS-5",)),
    Mutant("iw_stt_rechunked", "inworld", "audio_goes_out_one_chunk_per_frame", ("IW-STT-C-1",)),
    Mutant("iw_stt_usage_at_end", "inworld", "usage_every_five_seconds", ("IW-STT-USG-1",)),
]

BROKEN_OUTCOMES = ("FAIL", "NON-STRICT")


def expected_outcome(rid: str) -> str:
    """The requirement result a broken ``rid`` must get: FAIL for MUST, else NON-STRICT."""
    return "FAIL" if REQUIREMENTS[rid].level is Level.MUST else "NON-STRICT"


@dataclass
class ZooRun:
    """One finished ``voicewire run`` of a mutant."""

    returncode: int
    output: str
    report: dict[str, Any] | None
    duration: float


# Each mutant's run is a fresh process forked from a server that imported voicewire (and
# openai, the bulk of the start-up) once: the run is as isolated as a new interpreter, without
# paying two seconds of imports eighty times.
_FORKS = multiprocessing.get_context("forkserver")
_FORKS.set_forkserver_preload(
    ["voicewire.harness.cli", "voicewire.harness.runner", "voicewire.harness.reference_iut"]
)


def _run_cli(args: list[str], results: Connection) -> None:
    """In the forked child: ``voicewire <args>``, sending back (exit status, output)."""
    from voicewire.harness.cli import main

    # A hundred runs import the same suite modules: let pytest keep their rewritten bytecode
    # even where PYTHONDONTWRITEBYTECODE is set, so only the first run pays for rewriting.
    sys.dont_write_bytecode = False
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        try:
            code = main(args)
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 2
        except BaseException:  # the run's own crash is what the zoo reports
            output.write(traceback.format_exc())
            code = -1
    results.send((code, output.getvalue()))
    results.close()


def run_mutant(mutant: Mutant, workdir: Path) -> ZooRun:
    """Run the mutant's suite through the ``voicewire`` CLI in a process of its own."""
    report_path = workdir / f"{mutant.module}.json"
    args = [
        "run",
        "--iut",
        mutant.iut,
        "--suite",
        mutant.suite,
        *([] if FULL else ["-k", mutant.keyword, "--no-shrink"]),
        "--strict",
        "--color",
        "never",
        "--json",
        str(report_path),
        "--repro-dir",
        str(workdir / f"{mutant.module}-repro"),
    ]
    started = time.monotonic()
    receiver, sender = _FORKS.Pipe(duplex=False)
    process = _FORKS.Process(target=_run_cli, args=(args, sender))
    process.start()
    sender.close()
    if receiver.poll(RUN_TIMEOUT):
        returncode, output = receiver.recv()
    else:
        process.kill()
        returncode, output = -1, f"no result within {RUN_TIMEOUT:g} s"
    process.join()
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    return ZooRun(
        returncode=returncode,
        output=output,
        report=report,
        duration=time.monotonic() - started,
    )


class ZooPool:
    """The mutants' runs on a pool of one worker per core (at least two: a run spends part of
    its time waiting on sockets and scripted delays); each mutant runs at most once."""

    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self._executor = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1))
        self._runs: dict[str, Future[ZooRun]] = {}

    def start(self, mutant: Mutant) -> Future[ZooRun]:
        """The mutant's run, started now unless it already was."""
        if mutant.module not in self._runs:
            self._runs[mutant.module] = self._executor.submit(run_mutant, mutant, self._workdir)
        return self._runs[mutant.module]

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="session")
def zoo_pool(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ZooPool]:
    """The session's pool, with every selected mutant's run already started, so they run in
    parallel while the cases wait for them in turn. (Under pytest-xdist each worker only
    starts the mutants of the cases it is given.)"""
    pool = ZooPool(tmp_path_factory.mktemp("mutant-zoo"))
    if not hasattr(request.config, "workerinput"):
        for item in request.session.items:
            mutant = getattr(item, "callspec", None) and item.callspec.params.get("mutant")
            if isinstance(mutant, Mutant):
                pool.start(mutant)
    yield pool
    pool.close()


def test_catalogue_names_known_requirements() -> None:
    """Every ID the zoo relies on exists in SPEC.md, and every mutant module is listed once."""
    named = {rid for m in MUTANTS for rid in (*m.caught_by, *m.also)}
    assert named <= set(REQUIREMENTS), f"unknown SPEC IDs: {sorted(named - set(REQUIREMENTS))}"
    modules = [m.module for m in MUTANTS]
    on_disk = sorted(
        p.stem
        for p in Path(__file__).parent.glob("*.py")
        if p.stem not in ("__init__", "conftest", "port") and not p.stem.startswith("test_")
    )
    assert sorted(modules) == on_disk, "every mutant module needs exactly one zoo entry"
    assert len(MUTANTS) >= 40


@pytest.mark.parametrize(
    "mutant",
    [pytest.param(m, id=m.module, marks=pytest.mark.spec(*m.caught_by)) for m in MUTANTS],
)
def test_mutant_is_caught(
    mutant: Mutant, zoo_pool: ZooPool, zoo_record: Callable[..., None]
) -> None:
    """The mutant's run fails, naming the SPEC IDs of its bug, with no ERROR case."""
    run = zoo_pool.start(mutant).result()
    report = run.report
    tail = run.output[-3000:]
    caught: tuple[str, ...] = ()
    if report is not None:
        caught = tuple(r["id"] for r in report["requirements"] if r["outcome"] in BROKEN_OUTCOMES)
    zoo_record(
        mutant=mutant.module,
        killed=run.returncode == 1 and bool(set(caught) & set(mutant.caught_by)),
        caught_by=caught,
        cases=len(report["cases"]) if report else 0,
        duration=run.duration,
    )
    assert report is not None, f"voicewire run wrote no report (exit {run.returncode}):\n{tail}"
    assert run.returncode == 1, f"expected exit 1 (not conformant), got {run.returncode}:\n{tail}"
    errors = [
        f"{c['nodeid']}: {c['message'][:300]}" for c in report["cases"] if c["outcome"] == "ERROR"
    ]
    assert not errors, "cases ended in ERROR instead of a verdict:\n" + "\n".join(errors)
    outcomes = {r["id"]: r["outcome"] for r in report["requirements"]}
    for rid in mutant.caught_by:
        assert outcomes.get(rid) == expected_outcome(rid), (
            f"{mutant.module} must be caught by {rid} ({expected_outcome(rid)}), but {rid} is "
            f"{outcomes.get(rid, 'not cited by any case that ran')}:\n{tail}"
        )
    stray = set(caught) - set(mutant.caught_by) - mutant.also
    assert not stray, (
        f"{mutant.module} also broke {sorted(stray)}, which its bug does not touch: a case "
        f"names the wrong rule, or the mutant has a second bug:\n{tail}"
    )
