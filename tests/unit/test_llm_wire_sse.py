"""The LLM wire module's SSE codec: decoding under any byte split, limits, strict framing."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from voicewire.reference.llm.wire.sse import (
    DONE_EVENT,
    SSEDecodeError,
    SSEDecoder,
    SSEEvent,
    encode_comment,
    encode_event,
    strict_framing,
)

LINE_ENDS = ("\n", "\r\n", "\r")
# Any code point UTF-8 can carry (lone surrogates cannot be encoded).
UNICODE = st.characters(codec="utf-8")
# Field values that fit on one line: no line break of any kind.
ONE_LINE = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)


def normalised(data: str) -> str:
    """What SSE can carry of ``data``: every line end arrives as ``\\n``."""
    return re.sub("\r\n|\r|\n", "\n", data)


def decode_all(pieces: list[bytes], decoder: SSEDecoder | None = None) -> list[SSEEvent]:
    decoder = decoder or SSEDecoder()
    events = [event for piece in pieces for event in decoder.feed(piece)]
    return events + decoder.end()


def cut(data: st.DataObject, body: bytes) -> list[bytes]:
    """An arbitrary split of ``body`` into reads, including empty ones."""
    points = sorted(data.draw(st.lists(st.integers(0, len(body)), max_size=12), label="cuts"))
    return [body[a:b] for a, b in pairwise([0, *points, len(body)])]


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[SSEEvent]]:
    """A body of encoded events (written by hand here, not by the codec under test) with
    comments and blank keep-alives between them, each line ended by any of the three line
    ends, maybe behind a BOM; and the events a decoder must yield from it."""
    lines: list[str] = []
    expected: list[SSEEvent] = []
    for _ in range(draw(st.integers(0, 5), label="events")):
        for _ in range(draw(st.integers(0, 2), label="comments")):
            lines.append(":" + draw(ONE_LINE))
        for _ in range(draw(st.integers(0, 1), label="keep-alives")):
            lines.append("")
        data = draw(st.text(UNICODE, max_size=30), label="data")
        event = draw(st.none() | ONE_LINE.filter(bool), label="event")
        event_id = draw(st.none() | ONE_LINE.filter(lambda s: "\x00" not in s), label="id")
        fields = [f"data: {line}" for line in re.split("\r\n|\r|\n", data)]
        # event and id may stand anywhere in the block; the data lines keep their order.
        for extra in (
            f"event: {event}" if event is not None else None,
            f"id: {event_id}" if event_id is not None else None,
        ):
            if extra is not None:
                fields.insert(draw(st.integers(0, len(fields)), label="at"), extra)
        lines.extend([*fields, ""])
        expected.append(SSEEvent(data=normalised(data), event=event, id=event_id))
    text = []
    previous_end = ""
    for line in lines:
        # "\r" then an empty line ended by "\n" reads as one "\r\n": choose another end.
        allowed = [e for e in LINE_ENDS if not (previous_end == "\r" and not line and e == "\n")]
        previous_end = draw(st.sampled_from(allowed), label="line end")
        text.append(line + previous_end)
    bom = "\ufeff" if draw(st.booleans(), label="bom") else ""
    return (bom + "".join(text)).encode("utf-8"), expected


# -- decoding -------------------------------------------------------------------------------------


@settings(max_examples=300)
@given(stream=streams(), data=st.data())
def test_any_split_of_any_stream_yields_exactly_its_events(stream, data):
    body, expected = stream
    assert decode_all(cut(data, body)) == expected


@settings(max_examples=100)
@given(stream=streams())
def test_byte_by_byte_yields_exactly_the_events(stream):
    body, expected = stream
    assert decode_all([body[i : i + 1] for i in range(len(body))]) == expected


@settings(max_examples=100)
@given(stream=streams(), tail=st.text(UNICODE, max_size=20), data=st.data())
def test_end_discards_an_unterminated_event(stream, tail, data):
    body, expected = stream
    # A data line, with or without its line end, and no blank line after it.
    unterminated = f"data: {tail.replace(chr(13), '').replace(chr(10), '')}"
    unterminated += data.draw(st.sampled_from(["", "\n", "\r\n"]), label="end")
    decoder = SSEDecoder()
    events = [e for piece in cut(data, body + unterminated.encode()) for e in decoder.feed(piece)]
    assert events == expected
    assert decoder.end() == []


@settings(max_examples=100)
@given(
    events=st.lists(
        st.builds(
            SSEEvent,
            data=st.text(UNICODE, max_size=20).map(normalised),
            event=st.none() | ONE_LINE.filter(bool),
            id=st.none() | ONE_LINE.filter(lambda s: "\x00" not in s),
            retry=st.none() | st.integers(0, 10**6),
        ),
        max_size=5,
    ),
    newline=st.sampled_from(LINE_ENDS),
    data=st.data(),
)
def test_event_encode_round_trips(events, newline, data):
    body = b"".join(event.encode(newline) for event in events)
    assert decode_all(cut(data, body)) == events


def test_a_character_split_between_reads_is_rejoined():
    body = "data: é😀\r\n\r\n".encode()
    for position in range(len(body) + 1):
        assert decode_all([body[:position], body[position:]]) == [SSEEvent("é😀")]


def test_cr_lf_split_between_reads_is_one_line_end():
    assert decode_all([b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]) == [SSEEvent("a\nb")]
    # A lone "\r" is a line end too, and "\r\r" ends the event.
    assert decode_all([b"data: a\r", b"\r"]) == [SSEEvent("a")]


def test_whatwg_field_parsing():
    body = (
        b"\xef\xbb\xbf: a comment\n"
        b"data\n"  # no colon: the whole line is the field name, the value is empty
        b"data:x\n"  # no space to strip
        b"data:  two spaces\n"  # only one space is stripped
        b"unknown: ignored\n"
        b"event: update\n"
        b"id: 7\n"
        b"retry: 1500\n"
        b"\n"
        b"event: lonely\n"  # a block without data dispatches nothing ...
        b"\n"
        b"data: next\n"  # ... and its event name does not leak into the next block
        b"id: bad\x00id\n"  # an id with NUL is ignored
        b"retry: 12a\n"  # not all digits: ignored
        b"\n"
    )
    decoder = SSEDecoder()
    assert decoder.feed(body) == [
        SSEEvent("\nx\n two spaces", event="update", id="7", retry=1500),
        SSEEvent("next"),
    ]
    assert decoder.last_event_id == "7"


def test_bom_only_at_the_start_of_the_stream():
    assert decode_all([b"\xef", b"\xbb", b"\xbfdata: a\n\n"]) == [SSEEvent("a")]
    # Later, a BOM is part of the line: here it makes an unknown field name.
    assert decode_all([b"data: a\n\n\xef\xbb\xbfdata: b\n\n"]) == [SSEEvent("a")]


def test_empty_data_line_still_dispatches():
    assert decode_all([b"data:\n\n", b"data: \n\n"]) == [SSEEvent(""), SSEEvent("")]


def test_end_resets_the_decoder():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: lost\n") == []
    assert decoder.end() == []
    assert decoder.feed(b"data: new\n\n") == [SSEEvent("new")]


# -- limits and invalid input -------------------------------------------------------------------


def test_a_complete_line_over_the_limit_raises():
    decoder = SSEDecoder(max_line_bytes=10)
    assert decoder.feed(b"data: 1234\n\n") == [SSEEvent("1234")]  # exactly 10 bytes
    with pytest.raises(SSEDecodeError, match=r"max_line_bytes \(10\)"):
        decoder.feed(b"data: 12345\n")


def test_an_unterminated_line_over_the_limit_raises_before_its_end():
    decoder = SSEDecoder(max_line_bytes=10)
    for piece in (b"data", b": 12", b"34"):
        assert decoder.feed(piece) == []
    with pytest.raises(SSEDecodeError, match="max_line_bytes"):
        decoder.feed(b"5")


def test_event_data_over_the_limit_raises():
    decoder = SSEDecoder(max_event_bytes=20)
    assert decoder.feed(b"data: 1234\ndata: 1234\n\n") == [SSEEvent("1234\n1234")]
    with pytest.raises(SSEDecodeError, match=r"max_event_bytes \(20\)"):
        decoder.feed(b"data: 1234\ndata: 1234\ndata: 1234\n")


@pytest.mark.parametrize(
    "pieces",
    [
        [b"data: \xff\n\n"],
        [b"data: \xc3", b"(\n\n"],  # a lead byte followed by a non-continuation byte
        [b": comment \xed\xa0\x80\n"],  # an encoded surrogate is not UTF-8 either
        [b"data: ok\n\n", b"data: \xe2\x82\n\n"],  # a truncated character
    ],
)
def test_invalid_utf8_raises(pieces):
    decoder = SSEDecoder()
    with pytest.raises(SSEDecodeError, match="not UTF-8"):
        for piece in pieces:
            decoder.feed(piece)


def test_decode_error_is_a_value_error():
    assert issubclass(SSEDecodeError, ValueError)


@pytest.mark.parametrize("bad", [0, -1])
def test_limits_must_be_positive(bad):
    with pytest.raises(ValueError, match="max_line_bytes"):
        SSEDecoder(max_line_bytes=bad)
    with pytest.raises(ValueError, match="max_event_bytes"):
        SSEDecoder(max_event_bytes=bad)


def test_feed_takes_bytes_only():
    with pytest.raises(TypeError):
        SSEDecoder().feed("data: x\n\n")  # type: ignore[arg-type]


# -- encoding -----------------------------------------------------------------------------------


def test_encode_event_is_compact_ascii_json():
    payload = {"id": "c", "choices": [{"delta": {"content": "é😀\n"}}], "usage": None}
    assert encode_event(payload) == (
        b'data: {"id":"c","choices":[{"delta":{"content":"\\u00e9\\ud83d\\ude00\\n"}}],'
        b'"usage":null}\n\n'
    )


def test_encode_event_sends_a_string_as_is():
    assert encode_event("[DONE]") == DONE_EVENT == b"data: [DONE]\n\n"
    assert encode_event("a\nb\r\nc") == b"data: a\ndata: b\ndata: c\n\n"
    assert encode_event("é") == "data: é\n\n".encode()
    assert decode_all([encode_event(" x\ny")]) == [SSEEvent(" x\ny")]


def test_encode_comment():
    assert encode_comment("ping") == b": ping\n\n"
    assert encode_comment() == b":\n\n"
    assert encode_comment("a\nb") == b": a\n: b\n\n"
    assert decode_all([encode_comment("x"), encode_event("y"), encode_comment("z")]) == [
        SSEEvent("y")
    ]


@pytest.mark.parametrize(
    "event",
    [SSEEvent("x", event="a\nb"), SSEEvent("x", id="a\rb"), SSEEvent("x", id="a\x00b")],
)
def test_event_encode_refuses_what_sse_cannot_carry(event):
    with pytest.raises(ValueError):
        event.encode()


# -- strict framing (the server-side LLM-SSE-1 check) -------------------------------------------


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(UNICODE, max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)


@settings(max_examples=150)
@given(
    # Chunks are objects (a str payload would be sent as text, not as JSON).
    payloads=st.lists(st.dictionaries(st.text(UNICODE, max_size=4), json_values), max_size=6),
    extras=st.lists(st.sampled_from([b": keep-alive\n\n", b":\n\n", b"\n\n"]), max_size=6),
    data=st.data(),
)
def test_strict_framing_accepts_what_the_server_encodes(payloads, extras, data):
    events = [encode_event(p) for p in payloads]
    for extra in extras:
        events.insert(data.draw(st.integers(0, len(events)), label="at"), extra)
    body = b"".join([*events, DONE_EVENT])
    payload_texts, problems = strict_framing(body)
    assert problems == []
    assert payload_texts == [
        e[len(b"data: ") : -2].decode() for e in map(encode_event, payloads)
    ] + ["[DONE]"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"data: {}\n\ndata: [DONE]\n\n\xff", "the stream is not UTF-8"),
        (b"data: {}\n\ndata: [DONE]\n", "the stream does not end with a blank line"),
        (b"data: {}\ndata: {}\n\ndata: [DONE]\n\n", "frame 0 is not one 'data: ' line"),
        (b"data:{}\n\ndata: [DONE]\n\n", "frame 0 is not one 'data: ' line"),
        (b"event: x\ndata: {}\n\ndata: [DONE]\n\n", "frame 0 is not one 'data: ' line"),
        (b"data: {}\n\n", "the last data frame is '{}', not [DONE]"),
        (b"", "the last data frame is None, not [DONE]"),
        (b"data: [DONE]\n\ndata: {}\n\n", "the last data frame is '{}', not [DONE]"),
        (b"data: [DONE]\n\ndata: [DONE]\n\n", "[DONE] appears 2 times"),
    ],
)
def test_strict_framing_flags_each_problem(body, problem):
    _, problems = strict_framing(body)
    assert len([p for p in problems if p.startswith(problem)]) == 1, problems


def test_strict_framing_ignores_comments_and_keep_alives():
    body = b": hello\n\ndata: {}\n: mid\n\n\n\ndata: [DONE]\n\n"
    assert strict_framing(body) == (["{}", "[DONE]"], [])
