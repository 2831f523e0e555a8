"""LLM client conformance: consuming the SSE stream (SPEC §2.2 client side, §2.3).

Each case plays one scripted completion from the embedded simulator and judges the ChatChunks
the client emitted (canonical ``llm.chunk`` / ``llm.usage`` events): framing it must accept
(LLM-SSE-1), text (LLM-TXT-1/2), tool-call reassembly (LLM-TC-1..5), usage (LLM-USG-1) and the
chunk id (LLM-ORD-1). The generated counterpart of the tool-call cases is the
``tool-call-reassembly`` property family in ``test_tool_call_properties.py``.

Most streams are scripted replies. Where the reply vocabulary cannot say it (comment lines,
text and tool-call fragments in one delta, null usage counts, a repeated call header), the
case scripts the exact SSE frames: every event of a reply is replaced by a raw line with the
``malformed`` fault, whose ``line`` may be any text, so the stream is exactly those frames.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from voicewire.harness.driver import IUTDriver
from voicewire.harness.llm import ChatOutcome, ConnOptions, LLMTarget
from voicewire.harness.runtime import CaseSimulator
from voicewire.harness.verdicts import expect
from voicewire.reference.llm.wire import (
    DONE_EVENT,
    SSEDecoder,
    chat_chunk,
    encode_event,
    tool_call_arguments,
    tool_call_header,
    usage_chunk,
)
from voicewire.simulators.scenario import Scenario
from voicewire.simulators.scenario import build_scenario as scenario
from voicewire.suites.builders import user_context

# One attempt: a retry would hide what the first stream did (and wait seconds for nothing).
ONE_ATTEMPT = ConnOptions(max_retry=0, retry_interval=0.0, timeout=5.0)

RAW_ID = "chatcmpl-voicewire-raw"
DONE = DONE_EVENT.decode().rstrip("\n")
MODEL = "openai/gpt-4.1-mini"

Call = tuple[str, str, str]
"""A tool call as ``(call_id, name, arguments)``."""


# -- helpers --------------------------------------------------------------------------------


def play(
    iut: IUTDriver, simulator: CaseSimulator, script: Scenario, **chat: Any
) -> tuple[ChatOutcome, LLMTarget]:
    """Run one ``chat()`` against ``script`` in a fresh session."""
    target = simulator.session(script)
    chat.setdefault("chat_ctx", user_context("Hello"))
    chat.setdefault("conn_options", ONE_ATTEMPT)
    return iut.chat(llm=target, **chat), target


def replying(
    name: str, reply: dict[str, Any], *, faults: list[dict[str, Any]] | None = None
) -> Scenario:
    """A scenario answering every request with ``reply`` (an ``LLMReply`` dict)."""
    return scenario(name, {"reply": reply, "faults": faults or []})


def _data_line(payload: dict[str, Any], *, ascii_only: bool = True) -> str:
    """A payload as one SSE ``data:`` line (the raw-frame scenario adds the blank line)."""
    return encode_event(payload, ascii_only=ascii_only).decode().rstrip("\n")


def chunk_frame(
    delta: dict[str, Any],
    finish_reason: str | None = None,
    *,
    chunk_id: str = RAW_ID,
    ascii_only: bool = True,
) -> str:
    """One ``chat.completion.chunk`` SSE data line with a single choice (``ascii_only=False``:
    non-ASCII characters as raw UTF-8 rather than escapes)."""
    chunk = chat_chunk(chunk_id, 1_700_000_000, MODEL, delta, finish_reason)
    return _data_line(chunk, ascii_only=ascii_only)


def usage_frame(usage: dict[str, Any], *, chunk_id: str = RAW_ID) -> str:
    """The usage chunk's SSE data line: no choices, ``usage`` set (LLM-SSE-4)."""
    return _data_line(
        usage_chunk(usage, completion_id=chunk_id, created=1_700_000_000, model=MODEL)
    )


def raw_stream(
    name: str, frames: list[str], *, extra_faults: Sequence[dict[str, Any]] = ()
) -> Scenario:
    """A scenario whose stream is exactly ``frames``, each written as ``frame + "\\n\\n"``
    (``extra_faults``: more faults, e.g. a ``byte_split``).

    A reply of ``n`` one-character pieces without usage has ``n + 3`` events (role chunk,
    ``n`` pieces, finish chunk, ``[DONE]``); the first ``n`` are replaced by the frames (the
    ``malformed`` fault writes its ``line`` verbatim) and the other three dropped.
    """
    n = len(frames)
    faults: list[dict[str, Any]] = [
        {"kind": "malformed", "at_event": i, "line": frame} for i, frame in enumerate(frames)
    ]
    faults += [{"kind": "drop", "at_event": i} for i in range(n, n + 3)]
    faults += list(extra_faults)
    reply = {"content": "x" * n, "fragmentation": {"strategy": "per_char"}, "usage": False}
    return replying(name, reply, faults=faults)


def calls_of(outcome: ChatOutcome) -> list[Call]:
    """The emitted tool calls, in emission order."""
    return [(c.call_id, c.name, c.arguments) for c in outcome.tool_calls]


def expect_calls(
    outcome: ChatOutcome, expected: list[Call], ids: str | list[str], rule: str
) -> None:
    """The emitted calls are exactly ``expected``, in that order."""
    got = calls_of(outcome)
    expect(
        got == expected,
        ids,
        f"{rule}:\nexpected calls {expected}\ngot            {got}\n{outcome.describe()}",
    )


def expect_text(outcome: ChatOutcome, expected: str, ids: str | list[str], rule: str) -> None:
    """The emitted text is exactly ``expected``."""
    expect(
        outcome.text == expected,
        ids,
        f"{rule}:\nexpected text {expected!r}\ngot           {outcome.text!r}\n"
        f"{outcome.describe()}",
    )


def server_ids(simulator: CaseSimulator, target: LLMTarget) -> set[str]:
    """The chunk ids the simulator wrote in the session's stream(s)."""
    written = "".join(
        e["data"] for e in simulator.journal(target) if e["kind"] == "sse_event" and e["data"]
    )
    ids = set()
    for event in SSEDecoder().feed(written.encode()):
        try:
            ids.add(json.loads(event.data)["id"])
        except (ValueError, KeyError, TypeError):
            continue  # [DONE], a scripted malformed line
    return ids


WEATHER_ARGS = '{"city": "Zürich", "days": [1, 2]}'
ORDER_ARGS = '{"order_id": "A-17", "note": "naïve café 🎧"}'
# Arguments that parsing and re-serialising leaves unchanged (ASCII, json.dumps spacing): the
# LLM-TC-4 cases use them so only mis-assembly, not re-serialisation (LLM-TC-1), fails them.
PLAIN_WEATHER_ARGS = '{"city": "Paris", "days": [1, 2]}'
PLAIN_ORDER_ARGS = '{"order_id": "A-17", "rush": true}'


# -- LLM-SSE-1 (client accepts) -------------------------------------------------------------


def observed(outcome: ChatOutcome) -> dict[str, Any]:
    """What a consumer sees of a stream: text, calls, usage counts and how it ended."""
    return {
        "text": outcome.text,
        "calls": calls_of(outcome),
        "usages": [
            (u.completion_tokens, u.prompt_tokens, u.prompt_cached_tokens, u.total_tokens)
            for u in outcome.usages
        ],
        "error": None if outcome.error is None else outcome.error.kind,
    }


def expect_same_as_plain(plain: ChatOutcome, framed: ChatOutcome, framing: str) -> None:
    """The stream with ``framing`` gives what the same stream gives without it.

    Judging against the client's own plain run (not against the script) keeps this case
    about framing: a client that mis-assembles tool calls in both runs breaks LLM-TC-*, not
    LLM-SSE-1.
    """
    expect(
        plain.error is None or framed.error is not None,
        "LLM-SSE-1",
        f"the stream with {framing} raised, the same stream without it did not:\n"
        f"{framed.describe()}",
    )
    expect(
        observed(framed) == observed(plain),
        "LLM-SSE-1",
        f"{framing} must not change the output:\nwithout: {observed(plain)}\n"
        f"with:    {observed(framed)}\n{framed.describe()}",
    )


@pytest.mark.spec("LLM-SSE-1")
@pytest.mark.capability("llm.chat")
def test_comments_and_keep_alives_are_ignored(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """Comment lines (``: ...``) and blank keep-alives before, between and after events are
    ignored: text, tool call and usage come out as from the same stream without them."""
    events = [
        chunk_frame({"role": "assistant", "content": ""}),
        chunk_frame({"content": "Hel"}),
        chunk_frame({"content": "lo"}),
        chunk_frame({"tool_calls": [tool_call_header(0, "call_1", "get_weather")]}),
        chunk_frame({"tool_calls": [tool_call_arguments(0, WEATHER_ARGS)]}),
        chunk_frame({}, "tool_calls"),
        usage_frame({"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14}),
        DONE,
    ]
    noise = [": connected", "", ": keep-alive", ": ping\n: pong", "", ": keep-alive", "", ""]
    framed = [frame for pair in zip(noise, events, strict=True) for frame in pair] + [": bye"]
    plain, _ = play(voicewire_iut, voicewire_simulator, raw_stream("sse-plain", events))
    noisy, _ = play(voicewire_iut, voicewire_simulator, raw_stream("sse-comments", framed))
    expect_same_as_plain(plain, noisy, "comment lines and blank keep-alives")


@pytest.mark.spec("LLM-SSE-1")
@pytest.mark.capability("llm.chat")
@pytest.mark.parametrize("split", ["one_byte", "seeded_random"])
def test_frames_split_across_network_writes(
    voicewire_iut: IUTDriver,
    voicewire_simulator: CaseSimulator,
    request: pytest.FixtureRequest,
    split: str,
) -> None:
    """SSE frames that straddle network writes (down to one byte per write, splitting UTF-8
    sequences) come out as from the same stream written frame by frame."""
    if split == "one_byte":
        fault: dict[str, Any] = {"kind": "byte_split", "sizes": [1]}
    else:
        fault = {"kind": "byte_split", "seed": request.config.getoption("voicewire_seed")}
    reply = {
        "content": "Grüße aus Zürich 🎧, 你好!",
        "tool_calls": [{"name": "lookup_order", "id": "call_o1", "arguments": ORDER_ARGS}],
        "fragmentation": {"strategy": "fixed", "size": 5},
    }
    plain, _ = play(voicewire_iut, voicewire_simulator, replying("sse-whole-writes", reply))
    split_outcome, _ = play(
        voicewire_iut, voicewire_simulator, replying(f"sse-split-{split}", reply, faults=[fault])
    )
    expect_same_as_plain(plain, split_outcome, f"frames split across writes ({split})")


# -- LLM-TXT-1 / LLM-TXT-2 ------------------------------------------------------------------


@pytest.mark.spec("LLM-TXT-1")
@pytest.mark.capability("llm.chat")
@pytest.mark.parametrize("strategy", ["whole", "per_char", "fixed", "random"])
def test_text_survives_every_fragmentation(
    voicewire_iut: IUTDriver,
    voicewire_simulator: CaseSimulator,
    request: pytest.FixtureRequest,
    strategy: str,
) -> None:
    """The emitted text is the server's text, whatever the cut: nothing lost, repeated or
    reordered (multi-byte characters, emoji and newlines included)."""
    text = 'Bonjour! Grüße, 你好 🎧🎧 — line one\nline two\t(tab) "quoted" \\ done.'
    fragmentation: dict[str, Any] = {"strategy": strategy, "size": 3}
    if strategy == "random":
        fragmentation["seed"] = request.config.getoption("voicewire_seed")
    reply = {"content": text, "fragmentation": fragmentation}
    outcome, _ = play(voicewire_iut, voicewire_simulator, replying(f"text-{strategy}", reply))
    expect_text(outcome, text, "LLM-TXT-1", f"text cut {strategy!r} must be emitted unchanged")


@pytest.mark.spec("LLM-TXT-1")
@pytest.mark.capability("llm.chat")
def test_raw_utf8_split_inside_characters(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """A server that writes non-ASCII characters as raw UTF-8 (not escaped), its bytes cut one
    at a time, so every multi-byte character straddles network writes: the text is intact."""
    pieces = ["Grüße ", "aus Zürich, ", "你好 ", "🎧🎧"]
    frames = [
        chunk_frame({"role": "assistant", "content": ""}),
        *(chunk_frame({"content": piece}, ascii_only=False) for piece in pieces),
        chunk_frame({}, "stop"),
        DONE,
    ]
    split = [{"kind": "byte_split", "sizes": [1]}]
    script = raw_stream("txt-raw-utf8", frames, extra_faults=split)
    outcome, _ = play(voicewire_iut, voicewire_simulator, script)
    expect_text(
        outcome, "".join(pieces), "LLM-TXT-1", "raw UTF-8 cut inside characters must decode"
    )


@pytest.mark.spec("LLM-TXT-1", "LLM-TXT-2", "LLM-ORD-1")
@pytest.mark.capability("llm.chat")
@pytest.mark.parametrize(
    ("content", "expected", "finish"),
    [
        ("Plain words, no finish.", "Plain words, no finish.", False),
        ("Hi <think>plan", "Hi ", False),
        ("Almost a tag <thi", "Almost a tag <thi", False),
        ("Almost a tag <thi", "Almost a tag <thi", True),
        ("Ends on <", "Ends on <", False),
        ("Ends on <", "Ends on <", True),
    ],
    ids=[
        "text",
        "unclosed_think",
        "partial_marker",
        "partial_marker_finished",
        "lone_bracket",
        "lone_bracket_finished",
    ],
)
def test_a_stream_without_a_finish_chunk_releases_everything(
    voicewire_iut: IUTDriver,
    voicewire_simulator: CaseSimulator,
    content: str,
    expected: str,
    finish: bool,
) -> None:
    """A stream that ends (with or without a finish chunk) still releases all held text (a
    partial marker prefix at the very end included) and drops only an unclosed thinking
    block; every chunk carries the server's id."""
    reply = {
        "content": content,
        "finish": finish,
        "fragmentation": {"strategy": "fixed", "size": 5},
    }
    target = voicewire_simulator.session(replying("no-finish", reply))
    outcome = voicewire_iut.chat(llm=target, chat_ctx=user_context(), conn_options=ONE_ATTEMPT)
    rule = "LLM-TXT-2" if "<think>" in content else "LLM-TXT-1"
    expect_text(outcome, expected, rule, "a stream without a finish chunk loses no text")
    ids = server_ids(voicewire_simulator, target)
    expect(
        outcome.ids == ids,
        "LLM-ORD-1",
        f"every ChatChunk must carry the server's chunk id {ids}, got {outcome.ids}",
    )


@pytest.mark.spec("LLM-TXT-1")
@pytest.mark.capability("llm.chat")
def test_empty_and_role_only_deltas_emit_nothing(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """Role-only, empty-content, null-content and empty deltas produce no ChatChunk; every
    emitted chunk carries text or a tool call."""
    frames = [
        chunk_frame({"role": "assistant"}),
        chunk_frame({"role": "assistant", "content": ""}),
        chunk_frame({"content": None}),
        chunk_frame({}),
        chunk_frame({"content": "Hi"}),
        chunk_frame({"content": ""}),
        chunk_frame({"content": " there"}),
        chunk_frame({}, "stop"),
        DONE,
    ]
    outcome, _ = play(voicewire_iut, voicewire_simulator, raw_stream("txt-empty", frames))
    expect_text(outcome, "Hi there", "LLM-TXT-1", "empty deltas add nothing")
    empty = [c for c in outcome.chunks if not c.visible]
    expect(
        not empty,
        "LLM-TXT-1",
        f"an empty or role-only delta must emit nothing; {len(empty)} chunk(s) without text "
        f"or tool call were emitted:\n{outcome.describe()}",
    )


@pytest.mark.spec("LLM-TXT-2")
@pytest.mark.capability("llm.chat")
@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            {
                "reasoning": "the user wants a greeting",
                "content": "Here you go.",
                "fragmentation": {"strategy": "per_char"},
            },
            "Here you go.",
        ),
        (
            {
                "content": "Hi <think>hmm</think>there",
                "fragmentation": {"strategy": "fixed", "size": 3},
            },
            "Hi there",
        ),
        (
            {
                "content": "A<think>x</think>B<think>y</think>C",
                "fragmentation": {"strategy": "whole"},
            },
            "ABC",
        ),
        (
            {"content": "before <think>plan</think> after", "fragmentation": {"strategy": "whole"}},
            "before  after",
        ),
        (
            {"content": "Hello <think>never closed", "fragmentation": {"strategy": "per_char"}},
            "Hello ",
        ),
    ],
    ids=[
        "reasoning_streamed_per_char",
        "markers_split_across_deltas",
        "several_blocks_in_one_delta",
        "text_before_think_kept",
        "unclosed_block_at_end_discarded",
    ],
)
def test_thinking_blocks_are_removed(
    voicewire_iut: IUTDriver,
    voicewire_simulator: CaseSimulator,
    reply: dict[str, Any],
    expected: str,
) -> None:
    """``<think>...</think>`` blocks are removed from the text, also when a marker is split
    across deltas or several blocks share a delta; text before a block is kept and an
    unclosed block at the end is discarded."""
    outcome, _ = play(voicewire_iut, voicewire_simulator, replying("think", reply))
    expect_text(outcome, expected, "LLM-TXT-2", "thinking blocks must be removed")


# -- LLM-TC-1 -------------------------------------------------------------------------------


@pytest.mark.spec("LLM-TC-1", "LLM-TC-4")
@pytest.mark.capability("llm.chat")
def test_continuations_with_an_empty_id_extend_the_call(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """Some servers repeat ``"id": ""`` (and ``type``) on every continuation fragment; an empty
    id is not a new id, so the fragments still extend the call their index names."""
    continuation = {"index": 0, "id": "", "type": "function", "function": {"arguments": ""}}
    pieces = ['{"city": ', '"Oslo", ', '"days": 2}']
    frames = [
        chunk_frame({"role": "assistant", "content": ""}),
        chunk_frame({"tool_calls": [tool_call_header(0, "call_e", "get_weather")]}),
        *(
            chunk_frame(
                {"tool_calls": [{**continuation, "function": {"name": "", "arguments": piece}}]}
            )
            for piece in pieces
        ),
        chunk_frame({}, "tool_calls"),
        DONE,
    ]
    outcome, _ = play(voicewire_iut, voicewire_simulator, raw_stream("tc-empty-id", frames))
    expect_calls(
        outcome,
        [("call_e", "get_weather", "".join(pieces))],
        ["LLM-TC-1", "LLM-TC-4"],
        "continuations with an empty id must extend call 0",
    )


@pytest.mark.spec("LLM-TC-1")
@pytest.mark.capability("llm.chat")
def test_tool_call_is_emitted_once_whole_and_byte_exact(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """One call streamed in pieces is emitted exactly once, whole, its ``arguments`` byte for
    byte as sent (odd spacing, a literal ``\\u`` escape and raw UTF-8 kept: never re-serialised)."""
    arguments = '{"city" : "Z\\u00fcrich",  "days":[1, 2.50], "note": "café 🎧"}'
    reply = {
        "content": "Checking.",
        "tool_calls": [{"name": "get_weather", "id": "call_w1", "arguments": arguments}],
        "fragmentation": {"strategy": "fixed", "size": 4},
    }
    outcome, _ = play(voicewire_iut, voicewire_simulator, replying("tc1-exact", reply))
    expect_calls(
        outcome,
        [("call_w1", "get_weather", arguments)],
        "LLM-TC-1",
        "the call must be emitted once with its exact arguments",
    )


@pytest.mark.spec("LLM-TC-1")
@pytest.mark.capability("llm.chat")
def test_tool_calls_are_emitted_in_index_order(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """Calls whose fragments arrive in the order index 2, 0, 1 are emitted in index order."""
    reply = {
        "tool_calls": [
            {"name": "end_call", "id": "call_c", "arguments": "{}", "index": 2},
            {"name": "get_weather", "id": "call_a", "arguments": WEATHER_ARGS, "index": 0},
            {"name": "lookup_order", "id": "call_b", "arguments": ORDER_ARGS, "index": 1},
        ],
        "fragmentation": {"strategy": "fixed", "size": 6},
    }
    outcome, _ = play(voicewire_iut, voicewire_simulator, replying("tc1-order", reply))
    expect_calls(
        outcome,
        [
            ("call_a", "get_weather", WEATHER_ARGS),
            ("call_b", "lookup_order", ORDER_ARGS),
            ("call_c", "end_call", "{}"),
        ],
        "LLM-TC-1",
        "calls must be emitted in index order",
    )


@pytest.mark.spec("LLM-TC-1")
@pytest.mark.capability("llm.chat")
def test_repeated_call_header_does_not_reset_arguments(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """A later fragment that repeats the call's ``id`` and ``name`` (as some servers send)
    still appends: ``arguments`` is the concatenation of every fragment's ``arguments``."""
    frames = [
        chunk_frame({"role": "assistant", "content": ""}),
        chunk_frame({"tool_calls": [tool_call_header(0, "call_r", "get_weather", '{"city"')]}),
        chunk_frame({"tool_calls": [tool_call_header(0, "call_r", "get_weather", ': "Oslo"')]}),
        chunk_frame({"tool_calls": [tool_call_arguments(0, "}")]}),
        chunk_frame({}, "tool_calls"),
        DONE,
    ]
    outcome, _ = play(voicewire_iut, voicewire_simulator, raw_stream("tc1-repeat", frames))
    expect_calls(
        outcome,
        [("call_r", "get_weather", '{"city": "Oslo"}')],
        "LLM-TC-1",
        "arguments are the concatenation of all fragments of the call",
    )


# -- LLM-TC-2 -------------------------------------------------------------------------------

_ESCAPED_ARGS = '{"city": "Z\\u00fcrich \\ud83c\\udfa7", "q": "\\"quoted\\""}'

_TC2_CASES: dict[str, tuple[list[dict[str, Any]], dict[str, Any]]] = {
    "one_char_fragments": (
        [
            {"name": "get_weather", "id": "call_1", "arguments": WEATHER_ARGS},
            {"name": "lookup_order", "id": "call_2", "arguments": ORDER_ARGS},
        ],
        {"strategy": "per_char"},
    ),
    "cut_inside_json_escapes": (
        [{"name": "get_weather", "id": "call_1", "arguments": _ESCAPED_ARGS}],
        {"strategy": "per_char"},
    ),
    "whole_call_in_one_fragment": (
        [{"name": "get_weather", "id": "call_1", "arguments": WEATHER_ARGS}],
        {"strategy": "whole", "tool_calls": "one_delta"},
    ),
    "three_calls_in_one_delta": (
        [
            {"name": "get_weather", "id": "call_1", "arguments": WEATHER_ARGS},
            {"name": "lookup_order", "id": "call_2", "arguments": ORDER_ARGS},
            {"name": "end_call", "id": "call_3", "arguments": "{}"},
        ],
        {"strategy": "whole", "tool_calls": "one_delta"},
    ),
    "calls_in_the_finish_chunk": (
        [
            {"name": "get_weather", "id": "call_1", "arguments": WEATHER_ARGS},
            {"name": "end_call", "id": "call_2", "arguments": "{}"},
        ],
        {"strategy": "whole", "tool_calls": "in_finish"},
    ),
}


@pytest.mark.spec("LLM-TC-2")
@pytest.mark.capability("llm.chat")
@pytest.mark.parametrize("case", sorted(_TC2_CASES))
def test_tool_calls_assemble_for_every_cut(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, case: str
) -> None:
    """Calls assemble exactly for one-character fragments, fragments ending inside a JSON
    ``\\u`` escape, a whole call in one fragment, several calls in one delta and calls that
    share the chunk carrying ``finish_reason``."""
    calls, fragmentation = _TC2_CASES[case]
    reply = {"content": "One moment.", "tool_calls": calls, "fragmentation": fragmentation}
    outcome, _ = play(voicewire_iut, voicewire_simulator, replying(f"tc2-{case}", reply))
    expect_calls(
        outcome,
        [(c["id"], c["name"], c["arguments"]) for c in calls],
        "LLM-TC-2",
        f"calls cut as {case!r} must each be emitted once, whole and exact",
    )


@pytest.mark.spec("LLM-TC-2")
@pytest.mark.capability("llm.chat")
def test_empty_fragments_change_nothing(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """Fragments with empty ``arguments`` (or no ``function`` at all) between the real ones
    leave the assembled call unchanged."""
    frames = [
        chunk_frame({"role": "assistant", "content": ""}),
        chunk_frame({"tool_calls": [tool_call_header(0, "call_e", "get_weather")]}),
        chunk_frame({"tool_calls": [tool_call_arguments(0, "")]}),
        chunk_frame({"tool_calls": [tool_call_arguments(0, '{"city": ')]}),
        chunk_frame({"tool_calls": [tool_call_arguments(0, "")]}),
        chunk_frame({"tool_calls": [{"index": 0}]}),
        chunk_frame({"tool_calls": [tool_call_arguments(0, '"Lima"}')]}),
        chunk_frame({"tool_calls": [tool_call_arguments(0, "")]}),
        chunk_frame({}, "tool_calls"),
        DONE,
    ]
    outcome, _ = play(voicewire_iut, voicewire_simulator, raw_stream("tc2-empty", frames))
    expect_calls(
        outcome,
        [("call_e", "get_weather", '{"city": "Lima"}')],
        "LLM-TC-2",
        "empty fragments must not change or split the call",
    )


# -- LLM-TC-3 -------------------------------------------------------------------------------

_PENDING_CALLS = [
    {"name": "get_weather", "id": "call_p1", "arguments": WEATHER_ARGS},
    {"name": "lookup_order", "id": "call_p2", "arguments": '{"order_id": "A-1'},
]


def _abnormal_end(ending: str) -> Scenario:
    if ending == "finish_reason_null":
        frames = [
            chunk_frame({"role": "assistant", "content": ""}),
            chunk_frame({"tool_calls": [tool_call_header(0, "call_p1", "get_weather")]}),
            chunk_frame({"tool_calls": [tool_call_arguments(0, WEATHER_ARGS)]}),
            chunk_frame({"tool_calls": [tool_call_header(1, "call_p2", "lookup_order")]}),
            chunk_frame({"tool_calls": [tool_call_arguments(1, '{"order_id": "A-1')]}),
            chunk_frame({}, None),
            usage_frame({"prompt_tokens": 12, "completion_tokens": 30, "total_tokens": 42}),
            DONE,
        ]
        return raw_stream("tc3-null", frames)
    reply: dict[str, Any] = {
        "tool_calls": _PENDING_CALLS,
        "fragmentation": {"strategy": "fixed", "size": 5},
    }
    if ending == "no_finish_chunk":
        reply["finish"] = False
    else:
        reply["finish_reason"] = ending.removeprefix("finish_reason_")
    return replying(f"tc3-{ending}", reply)


@pytest.mark.spec("LLM-TC-3", "LLM-TC-1")
@pytest.mark.capability("llm.chat")
@pytest.mark.parametrize(
    "ending",
    [
        "finish_reason_length",
        "finish_reason_content_filter",
        "finish_reason_null",
        "no_finish_chunk",
    ],
)
def test_pending_tool_calls_survive_an_unusual_end(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, ending: str
) -> None:
    """When the stream ends with ``finish_reason`` ``length``, ``content_filter``, null, or
    without a finish chunk, every call whose header arrived is still emitted (the last one
    with its arguments as far as they came)."""
    outcome, _ = play(voicewire_iut, voicewire_simulator, _abnormal_end(ending))
    expected = [(c["id"], c["name"], c["arguments"]) for c in _PENDING_CALLS]
    emitted = {call_id for call_id, _, _ in calls_of(outcome)}
    dropped = [call for call in expected if call[0] not in emitted]
    expect(
        not dropped,
        "LLM-TC-3",
        f"a stream ending by {ending} dropped pending call(s) {dropped}:\n{outcome.describe()}",
    )
    expect_calls(outcome, expected, "LLM-TC-1", "each call once, whole and exact, in order")


# -- LLM-TC-4 (SHOULD) ----------------------------------------------------------------------


@pytest.mark.spec("LLM-TC-4")
@pytest.mark.capability("llm.chat")
def test_interleaved_fragments_assemble_by_index(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """Fragments of different calls interleaved (headers 0, 1, 2, then argument pieces
    round-robin) are assembled by ``index``."""
    calls = [
        {"name": "get_weather", "id": "call_i0", "arguments": PLAIN_WEATHER_ARGS},
        {"name": "lookup_order", "id": "call_i1", "arguments": PLAIN_ORDER_ARGS},
        {"name": "end_call", "id": "call_i2", "arguments": '{"reason": "done"}'},
    ]
    reply = {
        "tool_calls": calls,
        "fragmentation": {"strategy": "fixed", "size": 3, "tool_calls": "interleaved"},
    }
    outcome, _ = play(voicewire_iut, voicewire_simulator, replying("tc4-interleaved", reply))
    expect_calls(
        outcome,
        [(c["id"], c["name"], c["arguments"]) for c in calls],
        "LLM-TC-4",
        "interleaved fragments must be assembled by index",
    )


@pytest.mark.spec("LLM-TC-4")
@pytest.mark.capability("llm.chat")
def test_new_id_on_a_seen_index_starts_a_new_call(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """A header with a new ``id`` on an index already used (as some vLLM/sglang servers send)
    starts a second call instead of overwriting the first."""
    reply = {
        "tool_calls": [
            {"name": "get_weather", "id": "call_s1", "arguments": PLAIN_WEATHER_ARGS, "index": 0},
            {"name": "lookup_order", "id": "call_s2", "arguments": PLAIN_ORDER_ARGS, "index": 0},
        ],
        "fragmentation": {"strategy": "fixed", "size": 7},
    }
    outcome, _ = play(voicewire_iut, voicewire_simulator, replying("tc4-reused-index", reply))
    expect_calls(
        outcome,
        [
            ("call_s1", "get_weather", PLAIN_WEATHER_ARGS),
            ("call_s2", "lookup_order", PLAIN_ORDER_ARGS),
        ],
        "LLM-TC-4",
        "a new id on a seen index must start a new call",
    )


@pytest.mark.spec("LLM-TC-4")
@pytest.mark.capability("llm.chat")
def test_new_index_without_id_is_still_a_new_call(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """A call on a new index whose header has no ``id`` is still its own call (with an empty
    or generated ``call_id``), and the call before it is kept."""
    reply = {
        "tool_calls": [
            {"name": "get_weather", "id": "call_n0", "arguments": PLAIN_WEATHER_ARGS},
            {"name": "end_call", "arguments": '{"reason": "bye"}', "omit_id": True},
        ],
        "fragmentation": {"strategy": "fixed", "size": 6},
    }
    outcome, _ = play(voicewire_iut, voicewire_simulator, replying("tc4-no-id", reply))
    got = calls_of(outcome)
    expect(
        [(name, arguments) for _, name, arguments in got]
        == [("get_weather", PLAIN_WEATHER_ARGS), ("end_call", '{"reason": "bye"}')]
        and got[0][0] == "call_n0"
        and got[1][0] != "call_n0",
        "LLM-TC-4",
        "expected call_n0 get_weather, then end_call with an empty or generated call_id; "
        f"got {got}\n{outcome.describe()}",
    )


# -- LLM-TC-5 -------------------------------------------------------------------------------


@pytest.mark.spec("LLM-TC-5", "LLM-TC-1")
@pytest.mark.capability("llm.chat")
def test_text_sharing_a_delta_with_tool_calls_is_emitted(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """Text that arrives in the same delta as a call's header, its arguments, or the finish
    is emitted, in order, and the calls are still whole."""
    frames = [
        chunk_frame({"role": "assistant", "content": ""}),
        chunk_frame(
            {"content": "Let me ", "tool_calls": [tool_call_header(0, "call_t0", "get_weather")]}
        ),
        chunk_frame({"content": "check ", "tool_calls": [tool_call_arguments(0, WEATHER_ARGS)]}),
        chunk_frame(
            {"content": "that.", "tool_calls": [tool_call_header(1, "call_t1", "end_call", "{}")]}
        ),
        chunk_frame({"content": " Done."}, "tool_calls"),
        DONE,
    ]
    outcome, _ = play(voicewire_iut, voicewire_simulator, raw_stream("tc5-shared", frames))
    expect_text(
        outcome,
        "Let me check that. Done.",
        "LLM-TC-5",
        "text sharing a delta with tool-call fragments must be emitted",
    )
    expect_calls(
        outcome,
        [("call_t0", "get_weather", WEATHER_ARGS), ("call_t1", "end_call", "{}")],
        "LLM-TC-1",
        "the calls must be whole",
    )


# -- LLM-USG-1 ------------------------------------------------------------------------------


def _usage_tuple(outcome: ChatOutcome) -> list[tuple[int, int, int, int]]:
    return [
        (u.completion_tokens, u.prompt_tokens, u.prompt_cached_tokens, u.total_tokens)
        for u in outcome.usages
    ]


@pytest.mark.spec("LLM-USG-1")
@pytest.mark.capability("llm.chat")
def test_server_usage_yields_exactly_one_usage_chunk(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """The server's usage object becomes exactly one usage ChatChunk with its counts and
    ``prompt_cached_tokens`` from ``prompt_tokens_details.cached_tokens``."""
    reply = {
        "content": "Fine, thanks.",
        "usage": {"prompt_tokens": 17, "completion_tokens": 9, "cached_tokens": 5},
    }
    outcome, _ = play(voicewire_iut, voicewire_simulator, replying("usg-one", reply))
    got = _usage_tuple(outcome)
    expect(
        got == [(9, 17, 5, 26)],
        "LLM-USG-1",
        "expected one usage chunk (completion 9, prompt 17, cached 5, total 26), got "
        f"{got}:\n{outcome.describe()}",
    )


@pytest.mark.spec("LLM-USG-1")
@pytest.mark.capability("llm.chat")
def test_every_usage_object_yields_its_own_usage_chunk(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """A server that sends usage twice (in the finish chunk, then in a usage chunk) gets two
    usage ChatChunks, in its order, after the text: none merged, none dropped."""
    finish = json.loads(chunk_frame({}, "stop").removeprefix("data: "))
    finish["usage"] = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    frames = [
        chunk_frame({"role": "assistant", "content": ""}),
        chunk_frame({"content": "Two usages."}),
        _data_line(finish),
        usage_frame({"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}),
        DONE,
    ]
    outcome, _ = play(voicewire_iut, voicewire_simulator, raw_stream("usg-twice", frames))
    expect(
        _usage_tuple(outcome) == [(2, 5, 0, 7), (3, 5, 0, 8)],
        "LLM-USG-1",
        f"each of the two usage objects must give its own usage chunk, in order, got "
        f"{_usage_tuple(outcome)}:\n{outcome.describe()}",
    )
    kinds = [e.type for e in outcome.events if e.type in ("llm.chunk", "llm.usage")]
    expect(
        kinds[-2:] == ["llm.usage", "llm.usage"] and "llm.usage" not in kinds[:-2],
        "LLM-USG-1",
        f"usage comes after the content: {kinds}",
    )


@pytest.mark.spec("LLM-USG-1")
@pytest.mark.capability("llm.chat")
@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (
            {"prompt_tokens": None, "completion_tokens": 4, "total_tokens": None},
            (4, 0, 0, 0),
        ),
        (
            {
                "prompt_tokens": 8,
                "completion_tokens": None,
                "total_tokens": 8,
                "prompt_tokens_details": {"cached_tokens": None},
            },
            (0, 8, 0, 8),
        ),
    ],
    ids=["null_counts_no_details", "null_cached_tokens"],
)
def test_null_usage_counts_become_zero(
    voicewire_iut: IUTDriver,
    voicewire_simulator: CaseSimulator,
    usage: dict[str, Any],
    expected: tuple[int, int, int, int],
) -> None:
    """Null or missing usage counts (and a null or missing ``cached_tokens``) become 0."""
    frames = [
        chunk_frame({"role": "assistant", "content": ""}),
        chunk_frame({"content": "Ok."}),
        chunk_frame({}, "stop"),
        usage_frame(usage),
        DONE,
    ]
    outcome, _ = play(voicewire_iut, voicewire_simulator, raw_stream("usg-null", frames))
    got = _usage_tuple(outcome)
    expect(
        got == [expected],
        "LLM-USG-1",
        f"usage {usage} must give one usage chunk (completion, prompt, cached, total) = "
        f"{expected}, got {got}:\n{outcome.describe()}",
    )


@pytest.mark.spec("LLM-USG-1")
@pytest.mark.capability("llm.chat")
def test_no_usage_chunk_without_a_server_usage(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """A stream without a usage object produces no usage ChatChunk."""
    reply = {"content": "No usage today.", "usage": False}
    outcome, _ = play(voicewire_iut, voicewire_simulator, replying("usg-none", reply))
    expect(
        not outcome.usages,
        "LLM-USG-1",
        f"the server sent no usage, yet usage chunks were emitted:\n{outcome.describe()}",
    )


@pytest.mark.spec("LLM-USG-1")
@pytest.mark.capability("llm.chat")
@pytest.mark.parametrize("ending", ["finish_then_usage", "usage_without_finish_chunk"])
def test_usage_comes_after_content_and_tool_calls(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, ending: str
) -> None:
    """The usage ChatChunk is emitted after every text and tool-call chunk, also when the
    usage arrives while a call is still pending (a stream without a finish chunk)."""
    reply: dict[str, Any] = {
        "content": "Let me look that up.",
        "tool_calls": [{"name": "lookup_order", "id": "call_u1", "arguments": ORDER_ARGS}],
        "fragmentation": {"strategy": "fixed", "size": 6},
    }
    if ending == "usage_without_finish_chunk":
        reply["finish"] = False
    outcome, _ = play(voicewire_iut, voicewire_simulator, replying(f"usg-{ending}", reply))
    kinds = [e.type for e in outcome.events if e.type in ("llm.chunk", "llm.usage")]
    expect(
        kinds.count("llm.usage") == 1 and kinds[-1] == "llm.usage" and "llm.chunk" in kinds,
        "LLM-USG-1",
        f"expected text and tool-call chunks, then one usage chunk; got {kinds}:\n"
        f"{outcome.describe()}",
    )


# -- LLM-ORD-1 ------------------------------------------------------------------------------


@pytest.mark.spec("LLM-ORD-1")
@pytest.mark.capability("llm.chat")
def test_every_chunk_carries_the_server_id(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """Every text, tool-call and usage ChatChunk carries the completion id the server sent."""
    reply = {
        "content": "Two things.",
        "tool_calls": [
            {"name": "get_weather", "id": "call_d1", "arguments": WEATHER_ARGS},
            {"name": "end_call", "id": "call_d2", "arguments": "{}"},
        ],
        "fragmentation": {"strategy": "fixed", "size": 4},
    }
    outcome, target = play(voicewire_iut, voicewire_simulator, replying("ord-id", reply))
    sent = server_ids(voicewire_simulator, target)
    expect(
        outcome.chunks and outcome.ids == sent,
        "LLM-ORD-1",
        f"every chunk must carry the server's id {sorted(sent)}, got ids "
        f"{sorted(outcome.ids)}:\n{outcome.describe()}",
    )
