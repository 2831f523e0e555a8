"""The cassette format: what the writer writes, what the loader accepts, and how it names
what is wrong (line and problem)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st
from voicewire.reference.auth import ACCESS_TOKEN_TTL, create_access_token
from voicewire.simulators.recording.cassette import (
    CASSETTE_FORMAT,
    CassetteError,
    CassetteWriter,
    cassette_schema,
    load_cassette,
    sidecar_path,
)
from voicewire.simulators.recording.redaction import REDACTION_RULES, redact_headers, redact_query

DOCS = Path(__file__).resolve().parents[2] / "docs"


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 0.25
        return self.now


def _write_session(path: Path, *, sidecar: bool = False) -> None:
    """An SSE exchange and a WebSocket session with audio, as a recorder writes them."""
    writer = CassetteWriter(
        path,
        protocols=["llm", "stt"],
        upstream="http://127.0.0.1:9",
        redaction=REDACTION_RULES,
        audio_sidecar=sidecar,
        sidecar_min_bytes=64,
        clock=_Clock(),
    )
    x = writer.open_exchange(
        {
            "protocol": "llm",
            "endpoint": "llm",
            "method": "POST",
            "path": "/v1/chat/completions",
            "body": '{"messages": []}',
        }
    )
    writer.response(x, 200, "OK", {"content-type": "text/event-stream"})
    writer.body(x, "sse", b'data: {"id": 1}\n\n')
    writer.body(x, "sse", b"data: [DONE]\n\n")
    writer.end(x)
    y = writer.open_exchange(
        {"protocol": "stt", "endpoint": "stt", "method": "GET", "path": "/stt", "websocket": True}
    )
    writer.response(y, 101)
    writer.message(y, "client", '{"type": "session.create"}')
    writer.message(y, "client", bytes(range(256)) * 2, audio_seconds=0.016)
    writer.message(y, "client", bytes(40), audio_seconds=0.003)
    writer.message(y, "server", '{"type": "final_transcript"}')
    writer.close_frame(y, "server", 1000, "bye")
    writer.end(y)
    writer.close()


def test_a_written_cassette_loads_with_every_record_in_wire_order(tmp_path):
    path = tmp_path / "c.jsonl"
    _write_session(path)
    cassette = load_cassette(path)
    assert cassette.header.format == CASSETTE_FORMAT
    assert cassette.header.protocols == ["llm", "stt"]
    assert cassette.cut_tail is None
    sse, ws = cassette.exchanges
    assert sse.complete and ws.complete
    assert [r.data_bytes() for r in sse.body_records()] == [
        b'data: {"id": 1}\n\n',
        b"data: [DONE]\n\n",
    ]
    assert sse.response is not None and sse.response.status == 200
    client = ws.messages("client")
    assert ws.payload(client[1]) == bytes(range(256)) * 2
    server = ws.messages("server")[0]
    # The causal link: the transcript followed three client messages and 19 ms of audio.
    assert (server.after, server.audio) == (3, pytest.approx(0.019))
    assert [m.after for m in client] == [0, 1, 2]
    times = [json.loads(line)["t"] for line in path.read_text().splitlines()[1:]]
    assert times == sorted(times)


def test_every_line_is_valid_against_the_committed_schema(tmp_path):
    committed = json.loads((DOCS / "cassette.schema.json").read_text())
    assert committed == json.loads(json.dumps(cassette_schema(), sort_keys=True))
    path = tmp_path / "c.jsonl"
    _write_session(path, sidecar=True)
    for line in path.read_text().splitlines():
        jsonschema.validate(json.loads(line), committed)


def test_the_audio_sidecar_keeps_large_messages_bytes_exact(tmp_path):
    path = tmp_path / "c.jsonl"
    _write_session(path, sidecar=True)
    cassette = load_cassette(path)
    ws = cassette.exchanges[1]
    big, small = ws.messages("client")[1:3]
    assert big.sidecar is not None and big.binary is None
    assert small.sidecar is None and small.binary is not None
    assert ws.payload(big) == bytes(range(256)) * 2
    assert sidecar_path(path).read_bytes() == bytes(range(256)) * 2


def test_sidecar_bytes_that_differ_are_named(tmp_path):
    path = tmp_path / "c.jsonl"
    _write_session(path, sidecar=True)
    side = sidecar_path(path)
    side.write_bytes(b"\xff" + side.read_bytes()[1:])
    with pytest.raises(CassetteError, match=r"line 10: sidecar: bytes 0\.\.512 differ"):
        load_cassette(path)
    side.write_bytes(b"")
    with pytest.raises(CassetteError, match=r"past the sidecar's end \(0 bytes\)"):
        load_cassette(path)


@given(cut=st.integers(min_value=1, max_value=10_000))
def test_a_cassette_cut_anywhere_loads_losing_at_most_the_line_in_flight(tmp_path_factory, cut):
    """What a kill -9 leaves: every whole line loads; a cut last line is dropped and named."""
    path = tmp_path_factory.mktemp("cut") / "c.jsonl"
    _write_session(path)
    data = path.read_bytes()
    cut = min(cut, len(data))
    path.write_bytes(data[:cut])
    whole_lines = data[:cut].count(b"\n")
    if whole_lines == 0:
        with pytest.raises(CassetteError, match="line 1: the header line is cut"):
            load_cassette(path)
        return
    cassette = load_cassette(path)
    records = sum(
        (e.response is not None) + len(e.items) + (e.end is not None) + 1
        for e in cassette.exchanges
    )
    assert records == whole_lines - 1
    assert (cassette.cut_tail is None) == data[:cut].endswith(b"\n")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda lines: lines.insert(3, "not json"), r"line 4: not JSON"),
        (lambda lines: lines.insert(3, "[1, 2]"), r"line 4: a line is a JSON object, not list"),
        (
            lambda lines: lines.__setitem__(3, lines[3].replace('"sse"', '"sse2"')),
            r"line 4: .*sse2",
        ),
        (
            lambda lines: lines.__setitem__(3, lines[3].replace('"x":0', '"x":7')),
            r"line 4: a sse record of exchange 7, before its request",
        ),
        (
            lambda lines: lines.__setitem__(3, lines[3].replace('"x":0', '"x":-1')),
            r"line 4: sse\.x: Input should be greater than or equal to 0",
        ),
        (
            lambda lines: lines.append(lines[5]),
            r"line 15: a end record of exchange 0, after its end",
        ),
        (
            lambda lines: lines.__setitem__(0, '{"type": "request"}'),
            r"line 1: not a voicewire cassette",
        ),
        (
            lambda lines: lines.__setitem__(0, lines[0].replace("cassette/1", "cassette/x")),
            r"line 1: format: 'voicewire-cassette/x' has no version number",
        ),
        (
            lambda lines: lines.__setitem__(10, lines[10].replace('"binary":"', '"binary":"!!')),
            r"line 11: binary: not base64",
        ),
    ],
)
def test_a_hand_edited_cassette_is_refused_naming_the_line_and_the_problem(
    tmp_path, edit, expected
):
    path = tmp_path / "c.jsonl"
    _write_session(path)
    lines = path.read_text().splitlines()
    edit(lines)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CassetteError, match=expected) as caught:
        load_cassette(path)
    assert str(path) in str(caught.value)


def test_a_newer_format_is_refused_with_both_versions_named(tmp_path):
    path = tmp_path / "c.jsonl"
    _write_session(path)
    text = path.read_text().replace("voicewire-cassette/1", "voicewire-cassette/2", 1)
    path.write_text(text)
    with pytest.raises(CassetteError) as caught:
        load_cassette(path)
    message = str(caught.value)
    assert "line 1" in message
    assert "voicewire-cassette/2 is newer" in message
    assert "it reads voicewire-cassette/1" in message


def test_an_empty_or_missing_file_is_named(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    with pytest.raises(CassetteError, match="the file is empty"):
        load_cassette(empty)
    with pytest.raises(CassetteError, match="cannot read the cassette"):
        load_cassette(tmp_path / "absent.jsonl")


def test_secrets_are_redacted_and_token_claims_kept():
    token = create_access_token("devkey", "a-secret-of-more-than-thirty-two-bytes!!", now=1000)
    headers, summary = redact_headers(
        [
            ("Authorization", f"Bearer {token}"),
            ("X-Api-Key", "k-123"),
            ("Content-Type", "application/json"),
            ("Host", "example"),
            ("Sec-WebSocket-Key", "abc"),
        ]
    )
    assert headers == {
        "authorization": "Bearer <redacted>",
        "x-api-key": "<redacted>",
        "content-type": "application/json",
    }
    assert summary is not None
    assert summary["claims"] == {
        "iss": "devkey",
        "sub": "agent",
        "nbf": 1000,
        "exp": 1000 + int(ACCESS_TOKEN_TTL),
        "inference": {"perform": True},
    }
    assert token not in json.dumps(summary)
    basic, none = redact_headers([("authorization", "Basic a2V5OnNlY3JldA==")])
    assert basic == {"authorization": "Basic <redacted>"} and none is None
    assert redact_query("model=deepgram/nova-3") == "model=deepgram/nova-3"
    assert redact_query("model=x&key=s3cret") == "model=x&key=%3Credacted%3E"


def test_a_request_to_a_path_no_protocol_owns_loads(tmp_path):
    # The proxy forwards and records any path; the writer leaves the unknown owner out.
    writer = CassetteWriter(tmp_path / "c.jsonl", protocols=["llm"])
    x = writer.open_exchange(
        {"protocol": None, "endpoint": None, "method": "GET", "path": "/v1/models"}
    )
    writer.response(x, 404, "Not Found")
    writer.end(x)
    writer.close()
    line = json.loads((tmp_path / "c.jsonl").read_text().splitlines()[1])
    assert "protocol" not in line and "endpoint" not in line
    (exchange,) = load_cassette(tmp_path / "c.jsonl").exchanges
    assert (exchange.request.protocol, exchange.request.endpoint) == (None, None)
    assert exchange.request.path == "/v1/models" and exchange.response.status == 404
