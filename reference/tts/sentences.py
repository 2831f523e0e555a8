"""The sentence splitting of the LiveKit inference TTS client (TTS-C-2), sans-IO.

Per sentence the client sends ``{"type": "input_transcript", "transcript": "<sentence> ", ...}``
(TTS-C-2). Which pieces of text become one transcript is upstream's choice, and the reference
must send what upstream livekit-agents 1.8.9 sends for the same pushes, so this module follows
its source (paths under ``livekit/agents/``):

- ``inference/tts.py:673-674``: the stream's tokenizer is
  ``sentence_tokenizer(provider, expressive=...)``, provider being the model's prefix
  (``"cartesia/sonic-3"`` → ``"cartesia"``); ``inference/tts.py:677-684``: every pushed text
  goes to ``push_text``, ``flush()`` to ``flush``, the end of input to ``end_input``;
  ``inference/tts.py:689-695``: every token becomes one transcript, ``token + " "``.
- ``tts/_provider_format.py:1104-1139``: a blingfire ``SentenceTokenizer`` with
  ``max_token_len`` the provider's cap (cartesia 400, inworld 900, xai 1000, otherwise none)
  and, expressive off, ``min_token_len=None`` and ``xml_aware=False``.
- ``tokenize/blingfire.py:68-130``: the defaults ``min_sentence_len=20``,
  ``stream_context_len=10``, ``retain_format=False``; the stream's ``min_token_len`` falls back
  to ``min_sentence_len``.
- ``tokenize/blingfire.py:19-55`` (:func:`split_sentences`): blingfire's sentence ends plus
  every danda (``।``, ``॥``) followed by whitespace; a sentence shorter than 20 characters is
  merged forward into the next; newlines inside a sentence become one space and it is
  stripped; the short tail left after the last kept sentence is only stripped.
- ``tokenize/token_stream.py:183-267`` (:class:`SentenceSplitter`): the buffering stream.

Blingfire is a compiled finite-state model (the ``livekit-blingfire`` wheel), not rules one can
read, and voicewire does not depend on it. :func:`sentence_ends` is written from its observed
behaviour (livekit-blingfire 1.2.0), and ``tests/unit/test_tts_sentences.py`` compares the two
on generated English prose when livekit is installed. Outside that prose blingfire may decide
differently, by the words around: a title opening a sentence (``"hello. Mr. Smith"`` is three
sentences to it, ``"the end. Mr. Smith"`` one), ``etc.`` inside a sentence, two-letter words
(``"an."`` goes on, ``"it."`` ends), a single capital (``"plan B."`` ends, ``"John F."`` goes
on), an opening bracket after a closer, non-ASCII capitals, CJK full stops. Markup
(``normalize_markup``/``convert_markup``, expressive mode) is not mirrored: for text without
``<`` both are the identity.
"""

from __future__ import annotations

import re

__all__ = [
    "MIN_CONTEXT_LEN",
    "MIN_SENTENCE_LEN",
    "PROVIDER_MAX_TRANSCRIPT_LEN",
    "SentenceSplitter",
    "sentence_ends",
    "split_sentences",
]

MIN_SENTENCE_LEN = 20
"""A sentence shorter than this (after stripping) is merged into the next one
(``tokenize/blingfire.py:72``, ``min_sentence_len``)."""

MIN_CONTEXT_LEN = 10
"""The stream looks for sentences only once this many characters are pending
(``tokenize/blingfire.py:73``, ``stream_context_len``)."""

PROVIDER_MAX_TRANSCRIPT_LEN: dict[str, int] = {"inworld": 900, "cartesia": 400, "xai": 1000}
"""Per provider (the model's prefix), the length past which sentences are not batched into one
transcript (``tts/_provider_format.py:1104-1112``); other providers have no cap."""

# A run of sentence punctuation and the closing quotes/brackets after it ("end?!", 'said."').
_TERMINATOR_RE = re.compile(r"(?P<run>[.!?]+)(?P<closers>[\"'”’»)\]]*)")
# Any whitespace between two sentences (spaces, newlines, tabs, no-break spaces).
_GAP_RE = re.compile(r"\s+")
# A sentence opens with a capital, possibly behind an opening quote or bracket.
_OPENING_RE = re.compile(r"[\"'“‘«(\[]?(?P<first>\w)")
# Words blingfire does not end a sentence after when a single period follows them.
_ABBREVIATIONS = frozenset(
    ["Mr", "Mrs", "Dr", "St", "Jr", "Inc", "Co", "No", "Jan", "vs", "etc", "approx"]
)
# upstream tokenize/blingfire.py:16: a danda, the closers it ends, then whitespace.
_DANDA_END_RE = re.compile(r"[।॥][\"'”’»)]*(?=\s)")
# upstream tokenize/blingfire.py:38: newlines inside a kept sentence become one space.
_NEWLINES_RE = re.compile(r"\s*\n+\s*")


def _ends_sentence(text: str, match: re.Match[str]) -> bool:
    """Whether blingfire ends a sentence after this terminator run (see :func:`sentence_ends`)."""
    end = match.end()
    gap = _GAP_RE.match(text, end)
    if gap is None or gap.end() == len(text):
        return False  # "3.14", "word.Word", or nothing seen after it yet
    if '"' in match["closers"]:
        return True  # 'he said." next', 'he said." 42': a straight quote ends it anyway
    opening = _OPENING_RE.match(text, gap.end())
    if opening is None or not opening["first"].isupper():
        return False  # "ok. then", "ok. 5 apples", 'ok. "then'
    if match["closers"] and opening.start("first") > gap.end():
        return False  # "(so it goes.) (Then": after a closer, an opener goes on
    if match["run"] == ".":
        start = match.start()
        while start > 0 and not text[start - 1].isspace():
            start -= 1
        word = text[start : match.start()].lstrip("\"'“‘«([")
        dotted = "." in word and not any(c.isdigit() for c in word)  # "U.S.", not "$3.50."
        if dotted or word in _ABBREVIATIONS or (len(word) == 1 and word.isupper()):
            return False  # "U.S.", "e.g.", "Dr.", "F." of "John F. Kennedy"
    return True


def sentence_ends(text: str) -> list[int]:
    """The offsets where sentences of ``text`` end, ascending; the last is ``len(text)``.

    Mirrors ``blingfire.text_to_sentences_with_offsets`` as upstream uses it
    (``tokenize/blingfire.py:25-31``): a sentence ends after a run of ``.``, ``!`` or ``?``
    and the closing quotes or brackets after it, when whitespace follows and then a capital
    letter (behind an opening quote or bracket, maybe), or anything at all after a straight
    closing double quote, but not an opening quote or bracket after a closer. It does not end
    after a single period that follows an abbreviation (``Dr.``, ``etc.``), a word with a period
    in it but no digit (``U.S.``, ``e.g.``; ``$3.50.`` ends a sentence) or a single capital
    (``John F. Kennedy``). Upstream adds an end after every danda that whitespace follows. The
    last sentence runs to the end of the text, its trailing whitespace included (where blingfire
    leaves that out, :func:`split_sentences` strips it). Blank text has no sentences.
    """
    if not text.strip():
        return []
    ends = {m.end() for m in _TERMINATOR_RE.finditer(text) if _ends_sentence(text, m)}
    ends |= {m.end() for m in _DANDA_END_RE.finditer(text)}
    ends.add(len(text))
    return sorted(ends)


def split_sentences(
    text: str, min_sentence_len: int = MIN_SENTENCE_LEN
) -> list[tuple[str, int, int]]:
    """``text`` cut into ``(sentence, start, end)``, as upstream's ``_split_sentences``
    (``tokenize/blingfire.py:19-55``, ``retain_format=False``).

    A sentence shorter than ``min_sentence_len`` once stripped is merged forward into the next
    one. A kept sentence has its newlines (and the whitespace around them) turned into one
    space and is stripped; the short tail after the last kept sentence is only stripped. No
    sentence is blank, and none starts or ends with whitespace.
    """
    sentences: list[tuple[str, int, int]] = []
    start = 0
    for end in sentence_ends(text):
        sentence = _NEWLINES_RE.sub(" ", text[start:end]).strip()
        if not sentence or len(sentence) < min_sentence_len:
            continue
        sentences.append((sentence, start, end))
        start = end
    if start < len(text) and (tail := text[start:].strip()):
        sentences.append((tail, start, len(text)))
    return sentences


class SentenceSplitter:
    """Pushed text in, the ``input_transcript`` transcripts of TTS-C-2 out, sans-IO.

    Mirrors upstream's ``BufferedTokenStream`` (``tokenize/token_stream.py:151-285``) behind the
    inference TTS stream. :meth:`push` takes text in pieces of any size and returns the
    transcripts it completes: a sentence goes out once the sentence after it has begun, so the
    last one waits. :meth:`flush` (the client's ``flush()``, and the end of input) returns what
    is pending, batched into one transcript up to ``max_transcript_len``. Each transcript is the
    sentence text plus the one space the client appends (``inference/tts.py:695``); none is
    blank. Whitespace aside, the transcripts concatenated are the text pushed (a flush inside a
    word ends a transcript there, so that word goes out in two, as upstream's does).

    Every rule of :func:`sentence_ends` looks no further than the first character of the next
    sentence, and a sentence goes out only once that character is pending, so how the text was
    cut into pushes does not change the transcripts. Upstream's blingfire sometimes looks
    further (``"hello.) (Paren"`` goes on as one sentence, ``"hello.) (P"`` ends after the
    bracket), so there a cut can change what upstream sends; this does not follow that.
    """

    def __init__(
        self,
        *,
        max_transcript_len: int | None = None,
        min_transcript_len: int | None = None,
        min_sentence_len: int = MIN_SENTENCE_LEN,
        min_context_len: int = MIN_CONTEXT_LEN,
    ) -> None:
        """``max_transcript_len``: the provider's cap (upstream's ``max_token_len``; see
        :meth:`for_model`); ``min_transcript_len``: sentences are batched until a transcript
        reaches it (``min_token_len``, default ``min_sentence_len``: one per sentence)."""
        for name, value in (
            ("min_sentence_len", min_sentence_len),
            ("min_context_len", min_context_len),
            ("min_transcript_len", min_transcript_len),
            ("max_transcript_len", max_transcript_len),
        ):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        self._max_len = max_transcript_len
        self._min_len = min_sentence_len if min_transcript_len is None else min_transcript_len
        self._min_sentence_len = min_sentence_len
        self._min_context_len = min_context_len
        self._pending = ""  # upstream's _in_buf: text not yet cut into sentences
        self._batch = ""  # upstream's _out_buf: sentences waiting to reach _min_len
        self._ended = False

    @classmethod
    def for_model(cls, model: str) -> SentenceSplitter:
        """The splitter of a stream synthesizing with ``model`` (``"cartesia/sonic-3"``): the
        cap of its provider, the part before the first ``/`` (``inference/tts.py:673``)."""
        provider = model.split("/")[0]
        return cls(max_transcript_len=PROVIDER_MAX_TRANSCRIPT_LEN.get(provider))

    @property
    def max_transcript_len(self) -> int | None:
        """The cap on batching sentences into one transcript; ``None`` for none."""
        return self._max_len

    @property
    def ended(self) -> bool:
        """Whether :meth:`end_input` was called."""
        return self._ended

    def push(self, text: str) -> list[str]:
        """Take ``text`` (any piece, even empty); return the transcripts it completes
        (``token_stream.py:183-232``)."""
        self._check_open()
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        transcripts: list[str] = []
        if not text:
            return transcripts
        self._pending += text
        if len(self._pending) < self._min_context_len:
            return transcripts
        while True:
            sentences = split_sentences(self._pending, self._min_sentence_len)
            if len(sentences) <= 1:
                break  # the last sentence may still grow
            sentence, _, end = sentences[0]
            transcripts += self._add(sentence)
            if len(self._batch) >= self._min_len:
                transcripts.append(self._transcript(self._batch))
                self._batch = ""
            self._pending = self._pending[end:]
        return transcripts

    def flush(self) -> list[str]:
        """Return everything pending: its sentences batched up to the cap, the last batch
        whatever its length (``token_stream.py:235-267``)."""
        self._check_open()
        return self._drain()

    def end_input(self) -> list[str]:
        """The end of input: :meth:`flush`, after which nothing more may be pushed
        (``token_stream.py:269-271``)."""
        self._check_open()
        self._ended = True
        return self._drain()

    def _drain(self) -> list[str]:
        transcripts: list[str] = []
        for sentence, _, _ in split_sentences(self._pending, self._min_sentence_len):
            transcripts += self._add(sentence)
        if self._batch:
            transcripts.append(self._transcript(self._batch))
        self._pending = ""
        self._batch = ""
        return transcripts

    def _add(self, sentence: str) -> list[str]:
        """Append ``sentence`` to the batch, sending the batch first if the sentence would take
        it past the cap (``token_stream.py:206-220``)."""
        sent: list[str] = []
        if self._max_len and self._batch and len(self._batch) + 1 + len(sentence) > self._max_len:
            sent.append(self._transcript(self._batch))
            self._batch = ""
        self._batch = f"{self._batch} {sentence}" if self._batch else sentence
        return sent

    @staticmethod
    def _transcript(token: str) -> str:
        # The client appends one space to every token (inference/tts.py:695).
        return token + " "

    def _check_open(self) -> None:
        if self._ended:
            raise RuntimeError("SentenceSplitter: input already ended")
