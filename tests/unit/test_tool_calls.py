"""ToolCallAssembler: streamed fragments back into whole calls, however they are cut and mixed."""

from __future__ import annotations

import json
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st
from voicewire.reference.llm.chat_chunk import FunctionToolCall
from voicewire.reference.llm.tool_calls import ToolCallAssembler, ToolCallFragment

F = ToolCallFragment

# Argument strings as servers send them: JSON text, escapes kept as escapes.
JSON_ARGUMENTS = [
    "",
    "{}",
    '{"location": "Paris"}',
    '{"city": "Z\\u00fcrich", "note": "caf\\u00e9 \\ud83d\\ude00"}',
    '{"q": "line\\nbreak \\"quoted\\" back\\\\slash"}',
    '{"text": "日本語 😀 é"}',
]

names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_-]{0,20}", fullmatch=True)
arguments_text = st.one_of(st.sampled_from(JSON_ARGUMENTS), st.text(max_size=40))


@st.composite
def calls(draw: st.DrawFn) -> list[tuple[int, FunctionToolCall]]:
    """1-4 calls with distinct indices (not necessarily 0..n-1) and distinct ids."""
    count = draw(st.integers(1, 4), label="count")
    indices = draw(st.lists(st.integers(0, 9), min_size=count, max_size=count, unique=True))
    ids = draw(
        st.lists(
            st.text("abcdefXYZ0123_-", min_size=1, max_size=8).map("call_".__add__),
            min_size=count,
            max_size=count,
            unique=True,
        )
    )
    return [
        (index, FunctionToolCall(name=draw(names), arguments=draw(arguments_text), call_id=id_))
        for index, id_ in zip(indices, ids, strict=True)
    ]


def argument_pieces(draw: st.DrawFn, arguments: str) -> list[str]:
    """An arbitrary cut of ``arguments``: empty pieces, single characters, or the whole."""
    style = draw(st.sampled_from(["whole", "chars", "random"]), label="cut style")
    if style == "whole":
        return [arguments]
    if style == "chars":
        return list(arguments)
    points = sorted(draw(st.lists(st.integers(0, len(arguments)), max_size=8), label="cuts"))
    bounds = [0, *points, len(arguments)]
    return [arguments[a:b] for a, b in pairwise(bounds)]


def call_fragments(draw: st.DrawFn, index: int, call: FunctionToolCall) -> list[ToolCallFragment]:
    """The fragments of one call in wire order: a header, then argument-only continuations.

    The header may carry the first piece of the arguments. Continuations may repeat the id,
    send ``"id": ""`` or repeat the name, as real servers do; none of that may change the call.
    """
    pieces = argument_pieces(draw, call.arguments)
    header_carries_arguments = draw(st.booleans(), label="header carries arguments")
    first = (
        pieces.pop(0) if header_carries_arguments and pieces else draw(st.sampled_from(["", None]))
    )
    fragments = [F(index=index, id=call.call_id, name=call.name, arguments=first)]
    for piece in pieces:
        id_ = draw(st.sampled_from([None, None, "", call.call_id]), label="continuation id")
        name = draw(st.sampled_from([None, None, "", call.name]), label="continuation name")
        fragments.append(F(index=index, id=id_, name=name, arguments=piece))
    return fragments


@st.composite
def deliveries(
    draw: st.DrawFn,
) -> tuple[list[FunctionToolCall], list[list[ToolCallFragment]]]:
    """Calls, and the deltas that deliver them (each a list of fragments).

    Each call's fragments keep their order, but fragments of different calls interleave
    arbitrarily: sequential, all headers first, or random. Deltas then group consecutive
    fragments, from one fragment per delta to everything in a single delta.
    """
    indexed = draw(calls())
    queues = [call_fragments(draw, index, call) for index, call in indexed]
    schedule = draw(st.sampled_from(["sequential", "headers first", "random"]), label="schedule")
    stream: list[ToolCallFragment] = []
    if schedule == "sequential":
        for queue in queues:
            stream.extend(queue)
    elif schedule == "headers first":
        stream.extend(queue.pop(0) for queue in queues)
        while any(queues):
            for queue in queues:
                if queue:
                    stream.append(queue.pop(0))
    else:
        while any(queues):
            live = [queue for queue in queues if queue]
            stream.append(draw(st.sampled_from(live)).pop(0))
    cuts = sorted(set(draw(st.lists(st.integers(1, len(stream)), max_size=len(stream)))))
    bounds = [0, *cuts, len(stream)]
    deltas = [stream[a:b] for a, b in pairwise(bounds) if a < b]
    expected = [call for _, call in sorted(indexed, key=lambda pair: pair[0])]
    return expected, deltas


def assemble(*deltas: list[ToolCallFragment]) -> list[FunctionToolCall]:
    assembler = ToolCallAssembler()
    for delta in deltas:
        assembler.feed(delta)
    return assembler.finish()


@pytest.mark.spec("LLM-TC-1", "LLM-TC-2", "LLM-TC-4")
@given(deliveries())
def test_every_call_is_emitted_once_whole_and_in_index_order(delivery):
    expected, deltas = delivery
    assembler = ToolCallAssembler()
    for delta in deltas:
        assembler.feed(delta)
    assert assembler.pending == len(expected)
    # The last delta may have carried finish_reason: finish() right after it loses nothing.
    assert assembler.finish() == expected
    assert assembler.finish() == []
    assert not assembler.has_pending


@pytest.mark.spec("LLM-TC-1", "LLM-TC-2")
@given(deliveries())
def test_fragments_parsed_from_the_wire_assemble_the_same(delivery):
    expected, deltas = delivery
    wire_deltas = [
        [
            ToolCallFragment.from_json(
                json.loads(
                    json.dumps(
                        {
                            "index": fragment.index,
                            **({"id": fragment.id, "type": "function"} if fragment.id else {}),
                            "function": {"name": fragment.name, "arguments": fragment.arguments},
                        }
                    )
                )
            )
            for fragment in delta
        ]
        for delta in deltas
    ]
    assert assemble(*wire_deltas) == expected


@pytest.mark.spec("LLM-TC-2")
def test_several_calls_in_one_delta():
    delta = [
        F(index=i, id=f"call_{i}", name=f"tool_{i}", arguments=f'{{"n": {i}}}') for i in range(4)
    ]
    assert assemble(delta) == [
        FunctionToolCall(name=f"tool_{i}", arguments=f'{{"n": {i}}}', call_id=f"call_{i}")
        for i in range(4)
    ]


@pytest.mark.spec("LLM-TC-2")
def test_fragment_ending_inside_a_json_escape():
    deltas = [
        [F(index=0, id="c", name="say", arguments="")],
        [F(index=0, arguments='{"w": "caf\\u00')],
        [F(index=0, arguments="e9 \\ud83d")],
        [F(index=0, arguments='\\ude00"}')],
    ]
    (call,) = assemble(*deltas)
    assert call.arguments == '{"w": "caf\\u00e9 \\ud83d\\ude00"}'
    assert json.loads(call.arguments) == {"w": "café 😀"}


@pytest.mark.spec("LLM-TC-1")
def test_surrogate_pair_split_between_fragments_is_rejoined():
    # A UTF-16 server can cut "😀" between its halves; JSON then carries each half alone.
    halves = [json.loads('"{\\"e\\": \\"\\ud83d"'), json.loads('"\\ude00\\"}"')]
    deltas = [[F(index=0, id="c", name="emoji", arguments=half)] for half in halves]
    (call,) = assemble(*deltas)
    assert call.arguments == '{"e": "😀"}'
    assert call.arguments.encode("utf-8")  # a lone surrogate could not be encoded


@pytest.mark.spec("LLM-TC-1")
def test_lone_surrogate_is_kept_as_is():
    (call,) = assemble([F(index=0, id="c", name="f", arguments="a\ud83db")])
    assert call.arguments == "a\ud83db"


@pytest.mark.spec("LLM-TC-4")
def test_interleaved_indices():
    deltas = [
        [F(index=0, id="a", name="first", arguments="")],
        [F(index=1, id="b", name="second", arguments="")],
        [F(index=0, arguments='{"x"')],
        [F(index=1, arguments='{"y"')],
        [F(index=1, arguments=": 2}")],
        [F(index=0, arguments=": 1}")],
    ]
    assert assemble(*deltas) == [
        FunctionToolCall(name="first", arguments='{"x": 1}', call_id="a"),
        FunctionToolCall(name="second", arguments='{"y": 2}', call_id="b"),
    ]


@pytest.mark.spec("LLM-TC-1")
def test_calls_come_in_index_order_not_arrival_order():
    deltas = [[F(index=3, id="late", name="c", arguments="3")], [F(index=1, id="early", name="a")]]
    assert [call.call_id for call in assemble(*deltas)] == ["early", "late"]


@pytest.mark.spec("LLM-TC-4")
def test_new_index_without_id_is_a_new_call_with_empty_call_id():
    deltas = [
        [F(index=0, id="a", name="first", arguments="{}")],
        [F(index=1, name="second", arguments='{"k"')],
        [F(index=1, arguments=": 1}")],
    ]
    assert assemble(*deltas) == [
        FunctionToolCall(name="first", arguments="{}", call_id="a"),
        FunctionToolCall(name="second", arguments='{"k": 1}', call_id=""),
    ]


@pytest.mark.spec("LLM-TC-4")
def test_new_id_on_a_seen_index_starts_a_new_call():
    deltas = [
        [F(index=0, id="a", name="first", arguments='{"n"')],
        [F(index=0, arguments=": 1}")],
        [F(index=0, id="b", name="second", arguments='{"n"')],
        # Argument-only fragments now go to the newest call at index 0.
        [F(index=0, arguments=": 2}")],
        [F(index=1, id="c", name="third", arguments="{}")],
    ]
    assert assemble(*deltas) == [
        FunctionToolCall(name="first", arguments='{"n": 1}', call_id="a"),
        FunctionToolCall(name="second", arguments='{"n": 2}', call_id="b"),
        FunctionToolCall(name="third", arguments="{}", call_id="c"),
    ]


@pytest.mark.spec("LLM-TC-4")
def test_id_arriving_after_an_id_less_start_is_a_new_call():
    deltas = [[F(index=0, name="f", arguments="1")], [F(index=0, id="x", name="g", arguments="2")]]
    assert assemble(*deltas) == [
        FunctionToolCall(name="f", arguments="1", call_id=""),
        FunctionToolCall(name="g", arguments="2", call_id="x"),
    ]


@pytest.mark.spec("LLM-TC-1")
def test_repeated_name_does_not_reset_arguments():
    deltas = [
        [F(index=0, id="a", name="lookup", arguments='{"q": ')],
        [F(index=0, id="a", name="lookup", arguments='"x"}')],
        [F(index=0, name="other_name")],
    ]
    assert assemble(*deltas) == [
        FunctionToolCall(name="lookup", arguments='{"q": "x"}', call_id="a")
    ]


@pytest.mark.spec("LLM-TC-1")
def test_empty_string_id_on_continuations_does_not_split_the_call():
    deltas = [[F(index=0, id="a", name="f", arguments="{")], [F(index=0, id="", arguments="}")]]
    assert assemble(*deltas) == [FunctionToolCall(name="f", arguments="{}", call_id="a")]


@pytest.mark.spec("LLM-TC-3")
def test_call_whose_name_never_arrived_is_still_emitted():
    assert assemble([F(index=0, id="a", arguments="{}")]) == [
        FunctionToolCall(name="", arguments="{}", call_id="a")
    ]


def test_name_arriving_after_a_nameless_start_fills_it_in():
    deltas = [[F(index=0, id="a", arguments="{")], [F(index=0, name="late", arguments="}")]]
    assert assemble(*deltas) == [FunctionToolCall(name="late", arguments="{}", call_id="a")]


def test_fragments_without_index_attach_to_the_latest_call():
    deltas = [
        [F(index=None, id="a", name="f", arguments="{")],
        [F(index=None, arguments="}")],
        [F(index=None, id="b", name="g", arguments="[]")],
        [F(index=None, arguments=" ")],
    ]
    assert assemble(*deltas) == [
        FunctionToolCall(name="f", arguments="{}", call_id="a"),
        FunctionToolCall(name="g", arguments="[] ", call_id="b"),
    ]


def test_fragment_without_index_uses_the_latest_started_call_index():
    deltas = [[F(index=5, id="a", name="f", arguments="1")], [F(index=None, arguments="2")]]
    assert assemble(*deltas) == [FunctionToolCall(name="f", arguments="12", call_id="a")]


def test_fragments_carrying_nothing_are_ignored():
    assembler = ToolCallAssembler()
    assembler.feed([F(index=0), F(index=1, id="", name="", arguments=""), F(index=None)])
    assert not assembler.has_pending
    assert assembler.pending == 0
    assert assembler.finish() == []


@pytest.mark.spec("LLM-TC-3")
def test_finish_with_nothing_pending_returns_nothing():
    assembler = ToolCallAssembler()
    assert assembler.finish() == []
    assembler.feed([])
    assert assembler.finish() == []


@pytest.mark.spec("LLM-TC-3")
def test_unfinished_call_is_returned_at_finish_and_only_once():
    # E.g. finish_reason "length" cut the arguments short: the call is still emitted, as sent.
    assembler = ToolCallAssembler()
    assembler.feed([F(index=0, id="a", name="f", arguments='{"q": "trunc')])
    assert assembler.has_pending
    assert assembler.finish() == [FunctionToolCall(name="f", arguments='{"q": "trunc', call_id="a")]
    assert assembler.finish() == []


def test_feeding_after_finish_starts_a_new_completion():
    assembler = ToolCallAssembler()
    assembler.feed([F(index=0, id="a", name="f", arguments="1")])
    assembler.finish()
    # Index 0 is new again: continuation fragments must not reach the returned call.
    assembler.feed([F(index=0, arguments="2")])
    assert assembler.finish() == [FunctionToolCall(name="", arguments="2", call_id="")]


def test_feed_rejects_bad_input_without_changing_state():
    assembler = ToolCallAssembler()
    assembler.feed([F(index=0, id="a", name="f", arguments="1")])
    with pytest.raises(TypeError, match=r"fragments\[1\] must be a ToolCallFragment, got dict"):
        assembler.feed([F(index=0, arguments="2"), {"index": 0}])
    with pytest.raises(TypeError, match="got one fragment"):
        assembler.feed(F(index=0, arguments="2"))
    assert assembler.finish() == [FunctionToolCall(name="f", arguments="1", call_id="a")]


def test_from_json_reads_the_wire_form():
    assert ToolCallFragment.from_json(
        {
            "index": 2,
            "id": "call_1",
            "type": "function",
            "function": {"name": "f", "arguments": ""},
            "extra_content": {"google": {}},
        }
    ) == F(index=2, id="call_1", name="f", arguments="")
    assert ToolCallFragment.from_json({"index": 0, "function": {"arguments": "{"}}) == F(
        index=0, arguments="{"
    )
    assert ToolCallFragment.from_json({"index": 1}) == F(index=1)
    assert ToolCallFragment.from_json({"index": 1, "function": None}) == F(index=1)
    assert ToolCallFragment.from_json({"function": {"name": "f"}}) == F(index=None, name="f")


@pytest.mark.parametrize(
    ("wire", "error", "message"),
    [
        ({"index": "0"}, TypeError, "index must be an int or None, got str"),
        ({"index": True}, TypeError, "index must be an int or None, got bool"),
        ({"index": -1}, ValueError, "index must be >= 0, got -1"),
        ({"index": 0, "id": 7}, TypeError, "id must be a str or None, got int"),
        ({"index": 0, "type": "custom"}, ValueError, "type must be 'function', got 'custom'"),
        ({"index": 0, "function": "f"}, TypeError, "function must be a dict or None, got str"),
        ({"index": 0, "function": {"name": 1}}, TypeError, "function.name must be a str"),
        ({"index": 0, "function": {"arguments": {}}}, TypeError, "function.arguments must be"),
    ],
)
def test_from_json_names_the_bad_key(wire, error, message):
    with pytest.raises(error, match=message):
        ToolCallFragment.from_json(wire)


def test_from_json_rejects_a_non_dict():
    with pytest.raises(TypeError, match="d must be a dict, got list"):
        ToolCallFragment.from_json([])


def test_constructor_validates_fields():
    with pytest.raises(TypeError, match="arguments must be a str or None, got bytes"):
        ToolCallFragment(index=0, arguments=b"{}")
    with pytest.raises(TypeError, match="index must be an int or None, got float"):
        ToolCallFragment(index=0.0)
