"""The NDJSON codec of Inworld's HTTP synthesis (IW-HTTP-2): lines survive any byte split
(inside a UTF-8 sequence, between ``\\r`` and ``\\n``), a line too long is named, a last line
without a newline comes out at the end."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from voicewire.reference.inworld.wire.ndjson import NDJSONDecoder, NDJSONLine, encode_ndjson_line
from voicewire.reference.json_wire import LocalProtocolError, MalformedMessage


def feed_in_pieces(decoder: NDJSONDecoder, data: bytes, cuts: list[int]) -> list[NDJSONLine]:
    lines: list[NDJSONLine] = []
    start = 0
    for cut in [*sorted({c % (len(data) + 1) for c in cuts}), len(data)]:
        lines += decoder.feed(data[start:cut])
        start = cut
    return lines + decoder.end()


def test_lines_are_numbered_and_lose_their_terminator():
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{"a":1}\r\n\n{"b"') == [
        NDJSONLine(1, b'{"a":1}'),
        NDJSONLine(2, b""),
    ]
    assert decoder.buffered == 4
    assert decoder.feed(b":2}\n") == [NDJSONLine(3, b'{"b":2}')]
    assert decoder.end() == []
    assert decoder.lines_seen == 3


def test_a_last_line_without_newline_comes_out_at_the_end():
    decoder = NDJSONDecoder()
    assert decoder.feed(b"x\ny") == [NDJSONLine(1, b"x")]
    assert decoder.end() == [NDJSONLine(2, b"y")]


def test_a_lone_carriage_return_is_not_a_terminator():
    decoder = NDJSONDecoder()
    assert decoder.feed(b"a\rb\n") == [NDJSONLine(1, b"a\rb")]


def test_a_line_too_long_is_named_before_it_is_buffered_whole():
    decoder = NDJSONDecoder(max_line_bytes=8)
    assert decoder.feed(b"12345678\n") == [NDJSONLine(1, b"12345678")]
    decoder.feed(b"12345678\r")  # the \r may still be a terminator's
    with pytest.raises(MalformedMessage) as caught:
        decoder.feed(b"9")
    assert caught.value.where == "line 2"
    assert "longer than 8 bytes" in str(caught.value)


def test_a_complete_line_too_long_is_named():
    with pytest.raises(MalformedMessage, match="line 2"):
        NDJSONDecoder(max_line_bytes=3).feed(b"ok\ntoo long\n")


def test_nothing_may_be_fed_after_the_end():
    decoder = NDJSONDecoder()
    decoder.end()
    with pytest.raises(LocalProtocolError):
        decoder.feed(b"x")


def test_the_bound_must_be_positive():
    with pytest.raises(ValueError, match="max_line_bytes"):
        NDJSONDecoder(max_line_bytes=0)


def test_encode_writes_one_compact_utf8_line():
    assert encode_ndjson_line({"a": [1, "é"]}) == '{"a":[1,"é"]}\n'.encode()
    with pytest.raises(ValueError):
        encode_ndjson_line({"x": float("nan")})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


@given(
    st.lists(st.dictionaries(st.text(max_size=4), json_values, max_size=3), max_size=6),
    st.lists(st.booleans(), max_size=6),
    st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
)
def test_any_split_yields_the_same_objects(objects, crlf, cuts):
    data = b""
    for index, obj in enumerate(objects):
        line = encode_ndjson_line(obj)
        if index < len(crlf) and crlf[index]:
            line = line[:-1] + b"\r\n"
        data += line
    lines = feed_in_pieces(NDJSONDecoder(), data, cuts)
    assert [json.loads(line.data) for line in lines] == objects
    assert [line.number for line in lines] == list(range(1, len(objects) + 1))


@given(st.binary(max_size=200), st.lists(st.integers(min_value=0, max_value=300), max_size=10))
def test_any_bytes_split_anywhere_give_the_lines_of_the_whole(data, cuts):
    whole = NDJSONDecoder().feed(data)
    split = feed_in_pieces(NDJSONDecoder(), data, cuts)
    tail = data.rsplit(b"\n", 1)[-1] if b"\n" in data else data
    expected = whole + ([NDJSONLine(len(whole) + 1, tail.removesuffix(b"\r"))] if tail else [])
    assert split == expected
