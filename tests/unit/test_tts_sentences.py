"""The sentence splitting of the LiveKit inference TTS client (TTS-C-2):
:class:`voicewire.reference.tts.sentences.SentenceSplitter` against the text pushed, the wire
capture, and upstream livekit-agents 1.8.9's own tokenizer when it is installed."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st
from voicewire.reference.tts.sentences import (
    PROVIDER_MAX_TRANSCRIPT_LEN,
    SentenceSplitter,
    sentence_ends,
    split_sentences,
)

# A push of text, or None for a flush().
Step = str | None


def run(steps: list[Step], splitter: SentenceSplitter | None = None) -> list[str]:
    """The transcripts a stream sends for ``steps`` then the end of input."""
    splitter = splitter if splitter is not None else SentenceSplitter.for_model("cartesia/x")
    transcripts: list[str] = []
    for step in steps:
        transcripts += splitter.flush() if step is None else splitter.push(step)
    return transcripts + splitter.end_input()


def normalised(text: str) -> str:
    return " ".join(text.split())


def cut(text: str, positions: list[int]) -> list[str]:
    """``text`` cut at ``positions`` (taken modulo its length, duplicates allowed)."""
    bounds = sorted({0, len(text), *(p % (len(text) + 1) for p in positions)})
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


# Text where the splitting rules have work to do: terminators, closers, gaps of every kind,
# capitals, dandas, quotes; and any text at all.
busy_texts = st.text(alphabet=st.sampled_from(list("abXY .!?\n\t\"'”)।")), max_size=120)
texts = busy_texts | st.text(max_size=120)
cuts = st.lists(st.integers(min_value=0, max_value=200), max_size=8)

# English prose as blingfire sees it: the generated texts the upstream comparison runs on.
# Blingfire is a trained model, and some texts are left out because it decides them by the
# words around (see the module's docstring): a title opening a sentence ("hello. Mr. Smith" is
# three sentences to it, "the end. Mr. Smith" one), "etc." inside a sentence, two-letter words
# before a period ("an." goes on, "it." ends), a single capital before a period ("plan B."
# ends, "John F." goes on), an opening bracket or quote after a closer ('hello.) (Paren' goes
# on, but the same text cut after '(P' ends there).
LOWER = ["hello", "there", "speech", "test", "streaming", "world", "apples", "value", "quick"]
FIRST = ["This", "Hello", "Another", "Yes", "Then", "hello", "42", "(Paren", "“Curly", "«Guill"]
PLAIN_FIRST = [w for w in FIRST if w[0].isalnum()]
MIDDLE = [*LOWER, "3.14", "$3.50", "42", "Mr. Smith", "Dr. Jones", "e.g. this", "the U.S. team"]
TERMINATORS = [".", "!", "?", "?!", "...", "!!", "??", '."', ".)", ".”", "!’", ".]", ".»"]
GAPS = [" ", "  ", "\n", " \n", "\n\n", "\t", "\xa0"]


@st.composite
def prose(draw: st.DrawFn) -> str:
    """Sentences of English words, with decimals and abbreviations inside them."""
    text = draw(st.sampled_from(["", " ", "\n"]))
    terminator = "."
    for _ in range(draw(st.integers(1, 6))):
        after_closer = terminator[-1] not in ".!?"
        first = draw(st.sampled_from(PLAIN_FIRST if after_closer else FIRST))
        middle = draw(st.lists(st.sampled_from(MIDDLE), max_size=6))
        last = draw(st.sampled_from(LOWER))
        terminator = draw(st.sampled_from(TERMINATORS))
        sentence = " ".join([first, *middle, last]) + terminator
        text += (draw(st.sampled_from(GAPS)) if text.strip() else "") + sentence
    return text + draw(st.sampled_from(["", " ", "\n"]))


# ---- the captured example and what upstream does to short sentences -----------------------


def test_the_captured_short_sentences_go_out_as_one_transcript():
    # wire-capture.md §4: "Hello there!" and the next sentence went out as one message.
    text = "Hello there! This is a streaming speech test."
    assert run([text]) == ["Hello there! This is a streaming speech test. "]
    assert run(list(text)) == ["Hello there! This is a streaming speech test. "]
    assert run(["Hello there! ", "This is a streaming speech test.", None]) == [
        "Hello there! This is a streaming speech test. "
    ]


def test_a_sentence_goes_out_once_the_next_one_begins():
    splitter = SentenceSplitter()
    assert splitter.push("This sentence is long enough.") == []
    assert splitter.push(" Then") == ["This sentence is long enough. "]
    assert splitter.push(" more words here.") == []
    assert splitter.end_input() == ["Then more words here. "]


def test_short_sentences_merge_forward_until_twenty_characters():
    assert run(["Yes. No. Maybe so. Well then, that is all. Fine."]) == [
        "Yes. No. Maybe so. Well then, that is all. ",
        "Fine. ",
    ]
    assert run(["Tiny. Small."]) == ["Tiny. Small. "]


def test_abbreviations_decimals_and_punctuation_runs_are_split_as_upstream_does():
    assert run(["I met Mr. Smith at the U.S. embassy, e.g. today. He said hello to us all."]) == [
        "I met Mr. Smith at the U.S. embassy, e.g. today. ",
        "He said hello to us all. ",
    ]
    assert run(["The price went up by 3.14 percent today. That is a lot of money."]) == [
        "The price went up by 3.14 percent today. ",
        "That is a lot of money. ",
    ]
    assert run(["Are you really sure of that?! Yes, I am sure... Really sure, no doubt."]) == [
        "Are you really sure of that?! ",
        "Yes, I am sure... Really sure, no doubt. ",
    ]
    # No capital after the period, no sentence end: "ok. then" and "ok. 5 apples" go on.
    assert run(["It is all ok. then we go on. 5 apples are here. Done now."]) == [
        "It is all ok. then we go on. 5 apples are here. ",
        "Done now. ",
    ]


PROBED = {
    # text: blingfire's sentences (livekit-blingfire 1.2.0)
    "the end. Mr Smith": ["the end.", "Mr Smith"],
    "I met Mr. Smith at the U.S. embassy, e.g. today. He said hello.": [
        "I met Mr. Smith at the U.S. embassy, e.g. today.",
        "He said hello.",
    ],
    'end." next one. 42 apples. Three': ['end."', "next one. 42 apples.", "Three"],
    "This hello.\tThis hello.\n\nThis hello. \xa0Yes.": [
        "This hello.",
        "This hello.",
        "This hello.",
        "Yes.",
    ],
    "So it goes.) (Then so. (Then": ["So it goes.) (Then so.", "(Then"],
    "John F. Kennedy was here.": ["John F. Kennedy was here."],
    "Wait... what?! Really?? Yes.": ["Wait... what?!", "Really??", "Yes."],
    "It costs $3.50. Okay.": ["It costs $3.50.", "Okay."],
    "We said “yes.” Then «Ok».": ["We said “yes.”", "Then «Ok»."],
}


def pieces(text: str) -> list[str]:
    ends = sentence_ends(text)
    return [text[a:b].strip() for a, b in itertools.pairwise([0, *ends])]


@pytest.mark.parametrize("text", PROBED)
def test_the_boundaries_blingfire_draws_on_probed_texts(text):
    assert pieces(text) == PROBED[text]


@pytest.mark.parametrize("text", PROBED)
def test_the_probed_texts_against_blingfire(text):
    blingfire = pytest.importorskip("livekit.blingfire")
    _, offsets = blingfire.text_to_sentences_with_offsets(text)
    assert [text[a:b].strip() for a, b in offsets] == PROBED[text]


def test_upstream_adds_a_sentence_end_after_a_danda():
    # tokenize/blingfire.py:27-31: blingfire itself goes on past "।".
    assert pieces("यह है। अगला") == ["यह है।", "अगला"]
    assert pieces("यह है।अगला") == ["यह है।अगला"]
    assert sentence_ends("   \n ") == []


def test_a_kept_sentence_loses_its_newlines_the_short_tail_keeps_them():
    assert split_sentences("A sentence that is\nlong enough. Tail.\nEnd") == [
        ("A sentence that is long enough.", 0, 31),
        ("Tail.\nEnd", 31, 41),
    ]


# ---- flush and the end of input ------------------------------------------------------------


def test_flush_in_the_middle_of_text_sends_what_is_pending():
    splitter = SentenceSplitter()
    assert splitter.push("This is a long first sentence. And then") == [
        "This is a long first sentence. "
    ]
    assert splitter.flush() == ["And then "]
    assert splitter.flush() == []
    assert splitter.push(" it goes on") == []
    assert splitter.end_input() == ["it goes on "]
    assert splitter.ended
    with pytest.raises(RuntimeError, match="ended"):
        splitter.push("more")


def test_blank_input_sends_nothing():
    assert run(["", "   ", "\n", None, "\t"]) == []


def test_batching_up_to_the_cap_when_a_minimum_is_asked():
    # Expressive mode's batching (tts/_provider_format.py:1133-1136): sentences are joined
    # until the minimum, and never past the cap.
    splitter = SentenceSplitter(min_transcript_len=60, max_transcript_len=70)
    text = "The first sentence is here. The second one is here. The third one is here."
    assert run([text], splitter) == [
        "The first sentence is here. The second one is here. ",
        "The third one is here. ",
    ]


def test_the_providers_caps():
    assert PROVIDER_MAX_TRANSCRIPT_LEN == {"inworld": 900, "cartesia": 400, "xai": 1000}
    assert SentenceSplitter.for_model("cartesia/sonic-3").max_transcript_len == 400
    assert SentenceSplitter.for_model("inworld/inworld-tts-1").max_transcript_len == 900
    assert SentenceSplitter.for_model("deepgram/aura-2").max_transcript_len is None
    # A sentence longer than the cap still goes out whole: the cap only stops batching.
    long = "This sentence is long, " + "very " * 100 + "long."
    assert run([long], SentenceSplitter.for_model("cartesia/sonic-3")) == [long + " "]


def test_bad_arguments_are_clear_errors():
    with pytest.raises(TypeError, match="text must be a str"):
        SentenceSplitter().push(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_transcript_len must be >= 0"):
        SentenceSplitter(max_transcript_len=-1)
    with pytest.raises(TypeError, match="min_sentence_len must be an int"):
        SentenceSplitter(min_sentence_len=2.5)  # type: ignore[arg-type]


# ---- properties ------------------------------------------------------------------------------


@given(text=texts, positions=cuts)
def test_the_transcripts_are_the_text_pushed(text, positions):
    transcripts = run(cut(text, positions))
    assert normalised("".join(transcripts)) == normalised(text)
    for transcript in transcripts:
        assert transcript.strip(), "a blank transcript"
        assert transcript.endswith(" ")
        assert not transcript[:-1][-1:].isspace(), f"more than one trailing space: {transcript!r}"
        assert not transcript[:1].isspace()


@given(text=texts, positions=cuts, flushes=st.lists(st.integers(0, 10), min_size=1, max_size=3))
def test_flushes_anywhere_lose_no_text(text, positions, flushes):
    # A flush inside a word ends the transcript there, so the word comes out in two (as
    # upstream's, which the comparison below runs with flushes at any cut): no text is lost.
    steps: list[Step] = list(cut(text, positions))
    for at in flushes:
        steps.insert(at % (len(steps) + 1), None)
    transcripts = run(steps)
    assert "".join("".join(transcripts).split()) == "".join(text.split())
    assert all(t.strip() and t.endswith(" ") and not t[:-1][-1:].isspace() for t in transcripts)


@given(text=texts | prose(), positions=cuts)
def test_how_the_text_was_cut_into_pushes_does_not_matter(text, positions):
    # Every boundary rule looks at the text up to the first character of the next sentence,
    # and a push sends a sentence only once that character is pending.
    assert run(cut(text, positions)) == run([text])


# ---- against upstream livekit-agents 1.8.9 -----------------------------------------------------


def upstream_run(steps: list[Step], **tokenizer_options: int) -> list[str]:
    """The transcripts upstream's inference TTS stream sends for ``steps``: its tokenizer, fed
    as ``inference/tts.py:677-684`` feeds it, each token plus one space (line 695)."""
    blingfire = pytest.importorskip("livekit.agents.tokenize.blingfire")
    provider_format = pytest.importorskip("livekit.agents.tts._provider_format")

    async def main() -> list[str]:
        if tokenizer_options:
            tokenizer = blingfire.SentenceTokenizer(**tokenizer_options)
        else:
            tokenizer = provider_format.sentence_tokenizer("cartesia", expressive=False)
        stream = tokenizer.stream()
        for step in steps:
            stream.flush() if step is None else stream.push_text(step)
        stream.end_input()
        return [event.token + " " async for event in stream]

    return asyncio.run(main())


@given(text=prose(), positions=cuts, flushes=st.lists(st.integers(0, 10), max_size=2))
def test_the_same_transcripts_as_upstream(text, positions, flushes):
    steps: list[Step] = list(cut(text, positions))
    for at in flushes:
        steps.insert(at % (len(steps) + 1), None)
    assert run(steps) == upstream_run(steps)


@given(text=prose(), positions=cuts)
def test_the_same_batches_as_upstream_under_a_minimum_and_a_cap(text, positions):
    steps: list[Step] = list(cut(text, positions))
    ours = SentenceSplitter(min_transcript_len=50, max_transcript_len=80)
    assert run(steps, ours) == upstream_run(steps, min_token_len=50, max_token_len=80)


def test_the_captured_example_against_upstream():
    steps: list[Step] = ["Hello there! ", "This is a streaming speech test.", None]
    assert upstream_run(steps) == run(steps) == ["Hello there! This is a streaming speech test. "]
