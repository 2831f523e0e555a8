"""The SPEC rules upstream livekit-agents 1.8.9's LLM client is known not to follow.

Each entry is a deviation a full ``voicewire run --iut livekit`` reports, traced to upstream's
installed source (line numbers of the files under ``site-packages/livekit/agents/`` of the
pinned release). ``harness/protocols.py`` registers them with the ``livekit`` implementation,
so ``voicewire explain`` names them beside the rule; ``tests/interop/test_livekit_iut.py``
runs upstream and checks that each one is still reported, by these cases, with its outcome.
``docs/upstream-livekit-1.8.9.md`` is the human report of the same run.

This is pure data: it imports without livekit installed.
"""

from __future__ import annotations

from voicewire.harness.llm_livekit import UPSTREAM_VERSION
from voicewire.harness.requirements import KnownDeviation

__all__ = ["DEVIATIONS"]

_RELEASE = f"livekit-agents {UPSTREAM_VERSION}"

_UNUSUAL_ENDS = tuple(
    f"test_pending_tool_calls_survive_an_unusual_end[{end}]"
    for end in (
        "finish_reason_length",
        "finish_reason_content_filter",
        "finish_reason_null",
        "no_finish_chunk",
    )
)

DEVIATIONS: tuple[KnownDeviation, ...] = (
    KnownDeviation(
        rule="LLM-TC-3",
        release=_RELEASE,
        explanation=(
            "A tool call whose header and arguments arrived is dropped, silently, when the "
            "stream ends with finish_reason length, content_filter or null, or without a "
            "finish chunk: the text and the usage still arrive, and no error is raised or "
            "emitted. The pending call is emitted only when finish_reason is tool_calls or "
            "stop, and nothing flushes it after the chunk loop."
        ),
        source="inference/llm.py:684 (emit only on tool_calls/stop); 578-608 (the chunk loop)",
        cases=_UNUSUAL_ENDS,
    ),
    KnownDeviation(
        rule="LLM-TC-1",
        release=_RELEASE,
        explanation=(
            "Upstream keeps one pending call per stream. Calls are emitted in the order that "
            "state is flushed, not by index (fragments of indices 2, 0, 1 come out as calls 2, "
            "0, 1), and a later fragment repeating a call's id and name resets its arguments: "
            '{"city" + : "Oslo" + } comes out as : "Oslo"}. The calls LLM-TC-3 drops are '
            "missing too."
        ),
        source=(
            "inference/llm.py:662-671 (flush on a header at another index), 684-694 (flush at "
            "the finish chunk), 674-678 (every fragment with a function.name overwrites the "
            "pending state, arguments included)"
        ),
        cases=(
            "test_tool_calls_are_emitted_in_index_order",
            "test_repeated_call_header_does_not_reset_arguments",
        ),
    ),
    KnownDeviation(
        rule="LLM-TC-4",
        release=_RELEASE,
        explanation=(
            "Interleaved fragments (headers 0, 1, 2, then argument pieces round-robin) come "
            "out as calls 0 and 1 with empty arguments and call 2 with every call's argument "
            "characters mixed together. A new id on an index already seen loses the first "
            "call; a new index without an id loses both calls (nothing is emitted)."
        ),
        source=(
            "inference/llm.py:662 (flush only on a fragment with an id and another index), "
            "674-680 (one pending call, overwritten; an id-less header sets _tool_call_id = "
            "None), 681-682 (arguments appended to whatever call is pending), 684 (emit only "
            "when _tool_call_id is set)"
        ),
        cases=(
            "test_interleaved_fragments_assemble_by_index",
            "test_new_id_on_a_seen_index_starts_a_new_call",
            "test_new_index_without_id_is_still_a_new_call",
        ),
    ),
    KnownDeviation(
        rule="LLM-REQ-6",
        release=_RELEASE,
        explanation=(
            "With temperature 0.9 given to the constructor and 0.1 to chat(), the request "
            "carries 0.9: the constructor's options are applied after the per-call ones. "
            "(Options given only to the constructor are sent, so LLM-REQ-4 holds.)"
        ),
        source="inference/llm.py:462 (extra.update(self._opts.extra_kwargs) after the call's)",
        cases=("test_per_call_options_override_constructor_options",),
    ),
    KnownDeviation(
        rule="RETRY-3",
        release=_RELEASE,
        explanation=(
            "An HTTP 499 ends the stream at once as if it had succeeded: one request, no "
            "retry, no text, no error raised. Upstream's own error class calls 499 retryable, "
            "but the retry loop returns on it before deciding. (408 and 429 are retried, and "
            "every other 4xx is final, as the rule says.)"
        ),
        source=(
            "llm/llm.py:351-352 (if isinstance(e, APIStatusError) and e.status_code == 499: "
            "return); _exceptions.py:79 (499 classed retryable)"
        ),
        cases=("test_retryable_client_error_is_retried[499]",),
    ),
    KnownDeviation(
        rule="RETRY-5",
        release=_RELEASE,
        explanation=(
            "The attempt that failed with a 499 emits no error event: the retry loop returns "
            "before it emits one (the cause of the RETRY-3 deviation)."
        ),
        source="llm/llm.py:352 (the return) comes before _emit_error at 359-369",
        cases=("test_retryable_client_error_is_retried[499]",),
    ),
    KnownDeviation(
        rule="FALLBACK-1",
        release=_RELEASE,
        explanation=(
            "An LLM that answered 499 is not marked unavailable and no "
            "llm_availability_changed is emitted: its stream returns normally on a 499 (see "
            "RETRY-3), so the fallback adapter counts the attempt as served and never reaches "
            "its failure branch."
        ),
        source=(
            "llm/llm.py:352; llm/fallback_adapter.py:340-375 (the attempt, served at the "
            "return on 375), 376-383 (the failure branch not reached)"
        ),
        cases=("test_fallback_semantics",),
    ),
    KnownDeviation(
        rule="FALLBACK-3",
        release=_RELEASE,
        explanation=(
            "When the only LLM answers 499, no LLM answered, yet the adapter's stream ends "
            "without an error instead of raising APIConnectionError: the 499 attempt looks "
            "served (see RETRY-3), and the adapter raises only after every LLM raised."
        ),
        source="llm/fallback_adapter.py:402 (raise APIConnectionError, reached only then)",
        cases=("test_fallback_semantics",),
    ),
    KnownDeviation(
        rule="LLM-TXT-1",
        release=_RELEASE,
        explanation=(
            "A stream whose text ends in what could start a <think> marker (Almost a tag "
            "<thi, Ends on <) and that ends without a finish chunk loses that tail: the "
            "consumer gets Almost a tag and Ends on. Only a finish_reason releases the held "
            "tail; with a finish chunk it is released."
        ),
        source=(
            "inference/llm.py:649-650 (strip_thinking_tokens(..., final=choice.finish_reason "
            "is not None)); llm/utils.py:876 (the held tail); nothing calls it with final=True "
            "after the chunk loop"
        ),
        cases=(
            "test_a_stream_without_a_finish_chunk_releases_everything[partial_marker]",
            "test_a_stream_without_a_finish_chunk_releases_everything[lone_bracket]",
        ),
    ),
    KnownDeviation(
        rule="LLM-ROB-1",
        release=_RELEASE,
        explanation=(
            "A 204 with no body and no content type completes as an empty answer instead of "
            "ending in an error, and a chunk whose delta.content is 1.5 is dropped with a "
            "logged warning while the stream completes, so a fallback adapter has nothing to "
            "fail over from. (Malformed JSON, bodies that are not SSE, wrong content types "
            "with a body, invalid UTF-8, deep nesting and resets do end in an APIError.)"
        ),
        source=(
            "the openai SDK builds stream chunk models without validation and "
            "inference/llm.py:578-608 reads them as they come; llm/utils.py "
            "_flatten_delta_content turns a content of another type into None with a warning"
        ),
        cases=(
            "test_hostile_bodies",
            "test_the_fallback_adapter_fails_over_on_a_hostile_stream[content-a-float]",
        ),
    ),
)
"""Every known deviation of livekit-agents 1.8.9, in the order of the human report."""
