"""ThinkingFilter: reasoning blocks removed from streamed text, however the text is cut."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from voicewire.reference.llm.thinking import ThinkingFilter

THINK = ("<think>", "</think>")
GEMMA = ("<|channel>thought", "<channel|>")

# Text that looks like tags without being one: the cases a prefix-holding filter can get wrong.
LOOK_ALIKES = {
    THINK: ["<", "<t", "<thin", "<think", "think>", "</thi", "</think", "<<think", ">", "/", "\n"],
    GEMMA: ["<", "<|", "<|channel>", "<|channel>though", "<channel", "channel|>", "|", " "],
}


def visible_texts(tags: tuple[str, str]) -> st.SearchStrategy[str]:
    """Text built mostly from tag characters and look-alikes (may contain whole tags)."""
    alphabet = "".join(sorted(set("".join(tags)))) + "ab é😀"
    piece = st.one_of(st.sampled_from(LOOK_ALIKES[tags]), st.text(alphabet, max_size=4))
    return st.lists(piece, max_size=6).map("".join)


def cut(data: st.DataObject, text: str) -> list[str]:
    """An arbitrary split of ``text`` into feeds, including empty ones."""
    points = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=8), label="cuts"))
    bounds = [0, *points, len(text)]
    return [text[a:b] for a, b in pairwise(bounds)]


def run(feeds: list[str], tags: tuple[str, str] = THINK) -> str:
    thinking_filter = ThinkingFilter(*tags)
    out = [thinking_filter.feed(feed) for feed in feeds]
    out.append(thinking_filter.finish())
    return "".join(out)


def strip_blocks(text: str, open_tag: str, close_tag: str) -> str:
    """Whole-string oracle: remove blocks left to right, and an unclosed last block."""
    kept = []
    position = 0
    while True:
        start = text.find(open_tag, position)
        if start < 0:
            return "".join([*kept, text[position:]])
        kept.append(text[position:start])
        end = text.find(close_tag, start + len(open_tag))
        if end < 0:
            return "".join(kept)
        position = end + len(close_tag)


@pytest.mark.spec("LLM-TXT-1", "LLM-TXT-2")
@pytest.mark.parametrize("tags", [THINK, GEMMA], ids=["think", "gemma"])
@given(data=st.data())
def test_segments_split_anywhere_yield_exactly_the_visible_text(tags, data):
    open_tag, close_tag = tags
    texts = visible_texts(tags)
    segments = data.draw(
        st.lists(st.tuples(st.sampled_from(["text", "block"]), texts), max_size=6),
        label="segments",
    )
    trailing_unclosed = data.draw(st.one_of(st.none(), texts), label="unclosed")
    rendered = "".join(
        part if kind == "text" else open_tag + part + close_tag for kind, part in segments
    )
    expected = "".join(part for kind, part in segments if kind == "text")
    # Segments whose text contains a real tag would be read differently from how they were
    # meant; those are covered by the oracle test below.
    assume(open_tag not in expected)
    assume(all(close_tag not in part for kind, part in segments if kind == "block"))
    if trailing_unclosed is not None:
        assume(close_tag not in trailing_unclosed)
        rendered += open_tag + trailing_unclosed

    assert run(cut(data, rendered), tags) == expected


@pytest.mark.spec("LLM-TXT-1", "LLM-TXT-2")
@pytest.mark.parametrize("tags", [THINK, GEMMA], ids=["think", "gemma"])
@given(data=st.data())
def test_any_text_any_split_matches_the_whole_string_result(tags, data):
    text = data.draw(visible_texts(tags), label="text")
    assert run(cut(data, text), tags) == strip_blocks(text, *tags)
    assert run([text], tags) == strip_blocks(text, *tags)


@pytest.mark.spec("LLM-TXT-1")
@given(st.text())
def test_text_without_tag_characters_passes_through_per_feed(text):
    assume("<" not in text)
    thinking_filter = ThinkingFilter()
    # Nothing can start a tag, so nothing is held: each feed comes straight back.
    assert thinking_filter.feed(text) == text
    assert thinking_filter.finish() == ""


@pytest.mark.spec("LLM-TXT-2")
def test_text_before_a_block_in_the_same_feed_is_kept():
    thinking_filter = ThinkingFilter()
    assert thinking_filter.feed("Sure. <think>the user wants") == "Sure. "
    assert thinking_filter.in_thinking
    assert thinking_filter.feed(" a joke</think> Here it is.") == " Here it is."
    assert not thinking_filter.in_thinking


@pytest.mark.spec("LLM-TXT-2")
def test_several_blocks_in_one_feed():
    thinking_filter = ThinkingFilter()
    assert thinking_filter.feed("a<think>x</think>b<think>y</think>c<think>z") == "abc"
    assert thinking_filter.in_thinking
    assert thinking_filter.finish() == ""


@pytest.mark.spec("LLM-TXT-2")
def test_markers_split_one_character_per_feed():
    text = "hi <think>secret</think>there"
    thinking_filter = ThinkingFilter()
    out = [thinking_filter.feed(char) for char in text]
    assert "".join(out) + thinking_filter.finish() == "hi there"
    # Only the characters that could start "<think>" were ever held back.
    assert out[:3] == ["h", "i", " "]


@pytest.mark.spec("LLM-TXT-1")
def test_partial_open_tag_is_held_then_released_as_text():
    thinking_filter = ThinkingFilter()
    assert thinking_filter.feed("abc<thi") == "abc"
    assert thinking_filter.feed("s is not a tag") == "<this is not a tag"
    assert thinking_filter.feed("<") == ""
    assert thinking_filter.finish() == "<"


@pytest.mark.spec("LLM-TXT-1")
def test_partial_open_tag_at_end_of_stream_is_visible_text():
    thinking_filter = ThinkingFilter()
    assert thinking_filter.feed("2 <thin") == "2 "
    assert thinking_filter.finish() == "<thin"
    assert not thinking_filter.in_thinking


@pytest.mark.spec("LLM-TXT-2")
def test_unclosed_block_with_partial_close_tag_is_discarded():
    thinking_filter = ThinkingFilter()
    assert thinking_filter.feed("ok<think>still thinking</thi") == "ok"
    assert thinking_filter.finish() == ""


@pytest.mark.spec("LLM-TXT-2")
def test_partial_close_tag_inside_a_block_is_not_leaked():
    thinking_filter = ThinkingFilter()
    assert thinking_filter.feed("<think>a </thi") == ""
    assert thinking_filter.feed("s is inside") == ""
    assert thinking_filter.feed("</think>out") == "out"


@pytest.mark.spec("LLM-TXT-2")
def test_double_angle_bracket_before_open_tag():
    assert run(["<", "<think>x</think>y"]) == "<y"
    assert run(["<<think>x</think>y"]) == "<y"


@pytest.mark.spec("LLM-TXT-2")
def test_blocks_do_not_nest_and_stray_close_tags_are_text():
    assert run(["a<think>b<think>c</think>d</think>e"]) == "ad</think>e"


@pytest.mark.spec("LLM-TXT-2")
def test_gemma_tags():
    feeds = ["Hi<|chan", "nel>thought: plan", " it<chan", "nel|> there"]
    assert run(feeds, GEMMA) == "Hi there"


def test_finish_resets_for_a_new_stream():
    thinking_filter = ThinkingFilter()
    thinking_filter.feed("<think>never closed")
    assert thinking_filter.finish() == ""
    assert thinking_filter.feed("fresh") == "fresh"
    assert thinking_filter.finish() == ""


def test_tags_are_exposed():
    thinking_filter = ThinkingFilter(*GEMMA)
    assert (thinking_filter.open_tag, thinking_filter.close_tag) == GEMMA


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"open_tag": ""}, ValueError, "open_tag must not be empty"),
        ({"close_tag": ""}, ValueError, "close_tag must not be empty"),
        ({"open_tag": 1}, TypeError, "open_tag must be a str"),
        ({"close_tag": None}, TypeError, "close_tag must be a str"),
        ({"open_tag": "<t>", "close_tag": "<t>"}, ValueError, "must differ"),
    ],
)
def test_bad_tags_are_rejected(kwargs, error, message):
    with pytest.raises(error, match=message):
        ThinkingFilter(**kwargs)


def test_feed_rejects_non_text():
    with pytest.raises(TypeError, match="text must be a str, got bytes"):
        ThinkingFilter().feed(b"<think>")
