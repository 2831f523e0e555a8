"""The cassette replayer's decisions without sockets: which recorded exchange answers a live
request, how a difference is described, when a recorded server message of a WebSocket session
is due (causal: control messages and audio; scaled recorded delays)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from voicewire.simulators.core.recorded import RecordedEndpoint
from voicewire.simulators.recording.cassette import (
    CassetteWriter,
    RecordedExchange,
    load_cassette,
)
from voicewire.simulators.recording.replay_match import (
    CausalSchedule,
    ReplayMatcher,
    endpoint_difference,
    json_difference,
    ordinal,
    paced_body,
    payload_difference,
)
from voicewire.simulators.stt.recording import STT_RECORDED, stt_significant


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class _ByteMeter:
    """A binary message carries one second of audio per 1000 bytes; text carries none."""

    def client_message(self, data: str | bytes) -> float:
        return len(data) / 1000 if isinstance(data, bytes) else 0.0


CHAT = RecordedEndpoint("chat", "POST", "/chat", "sse", client_ids=frozenset({"nonce"}))
VOICES = RecordedEndpoint("voices", "GET", "/voices", "json")
LISTEN = RecordedEndpoint("listen", "GET", "/listen", "websocket", audio_meter=_ByteMeter)
SPEAK = RecordedEndpoint("speak", "GET", "/speak", "websocket", client_ids=frozenset({"ctx"}))
ENDPOINTS = [CHAT, VOICES, LISTEN, SPEAK]


def _chat(writer: CassetteWriter, clock: _Clock, content: str, answer: str) -> int:
    body = json.dumps({"messages": [{"role": "user", "content": content}], "nonce": content})
    x = writer.open_exchange(
        {
            "protocol": "p",
            "endpoint": "chat",
            "method": "POST",
            "path": "/v1/chat",
            "headers": {"authorization": "Bearer <redacted>"},
            "body": body,
        }
    )
    writer.response(x, 200, "OK", {"content-type": "text/event-stream"})
    clock.now += 0.25
    writer.body(x, "sse", f"data: {answer}\n\n".encode())
    writer.body(x, "sse", b"data: [DONE]\n\n")
    writer.end(x)
    return x


@pytest.fixture
def chats(tmp_path: Path):
    clock = _Clock()
    writer = CassetteWriter(tmp_path / "c.jsonl", protocols=["p"], clock=clock)
    _chat(writer, clock, "Hello", "one")
    _chat(writer, clock, "Bye", "two")
    writer.close()
    return load_cassette(tmp_path / "c.jsonl")


def _request(content: str, nonce: str = "fresh") -> bytes:
    return json.dumps({"messages": [{"role": "user", "content": content}], "nonce": nonce}).encode()


def test_ordinals() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 102, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "102nd", "111th"
    ]  # fmt: skip


def test_json_difference_names_the_path_and_both_values() -> None:
    assert json_difference({"a": [1, {"b": "Hi"}]}, {"a": [1, {"b": "Hello"}]}) == (
        'body.a[1].b is "Hi" here, "Hello" in the cassette'
    )
    assert (
        json_difference({"a": 1}, {"a": 1, "b": 2}) == "body.b is missing here, 2 in the cassette"
    )
    assert (
        json_difference({"a": 1, "c": 3}, {"a": 1}) == "body.c is 3 here, missing in the cassette"
    )
    assert json_difference([1, 2], [1]) == "body has 2 items here, 1 in the cassette"
    assert json_difference(True, 1) == "body is true here, 1 in the cassette"
    assert json_difference(1, 1.0) is None
    assert (
        json_difference({"id": "x", "k": 1}, {"id": "y", "k": 1}, ignore=frozenset({"id"})) is None
    )


def test_payload_difference_falls_back_to_bytes() -> None:
    assert payload_difference(b'{"a": 1}', b'{"a":1}') is None  # JSON-equal, bytes differ
    assert payload_difference(b"abc", b"abd") == (
        "body differs from byte 2: 3 bytes here (b'c'...), 3 in the cassette (b'd'...)"
    )
    assert payload_difference(b"abc", b"{}") == "body is not JSON here and is JSON in the cassette"
    assert payload_difference("x", b"x", where="message") == (
        "message is a text message here, a binary one in the cassette"
    )


def test_requests_take_the_first_unused_matching_exchange(chats) -> None:
    matcher = ReplayMatcher(chats, ENDPOINTS)
    # The second recorded request arrives first (concurrent clients): it still matches its own.
    second = matcher.match_http("POST", "/v1/chat", "", _request("Bye"))
    first = matcher.match_http("POST", "/v1/chat", "", _request("Hello"))
    assert (second.exchange.x, first.exchange.x) == (1, 0)
    beyond = matcher.match_http("POST", "/v1/chat", "", _request("Hello"))
    assert beyond.exchange is None and beyond.status == 400
    assert beyond.error == "the cassette holds 2 chat exchanges; this is a 3rd"


def test_a_differing_body_is_described_against_the_next_unused_exchange(chats) -> None:
    matcher = ReplayMatcher(chats, ENDPOINTS)
    assert matcher.match_http("POST", "/v1/chat", "", _request("Hello")).exchange is not None
    miss = matcher.match_http("POST", "/v1/chat", "", _request("Hi"))
    assert miss.status == 400
    assert miss.error == (
        "request 2 to /v1/chat differs from the cassette's exchange 1 (line 7): "
        'body.messages[0].content is "Hi" here, "Bye" in the cassette'
    )


def test_query_authorization_and_unknown_paths(chats) -> None:
    matcher = ReplayMatcher(chats, ENDPOINTS)
    query = matcher.match_http("POST", "/v1/chat", "stream=1", _request("Hello"))
    assert query.error.endswith('the query is "stream=1" here, "" in the cassette')
    unauthorized = matcher.match_http(
        "POST", "/v1/chat", "", _request("Hello"), authorization=False
    )
    assert unauthorized.status == 401 and "no Authorization header" in unauthorized.error
    unknown = matcher.match_http("GET", "/voices", "", b"")
    assert unknown.error == (
        "no recorded exchange answers GET /voices: the cassette holds chat (2 exchanges)"
    )


def test_paced_body_scales_and_joins_pieces_due_together(chats) -> None:
    exchange = chats.exchanges[0]
    assert paced_body(exchange, 1.0) == [(0.25, b"data: one\n\ndata: [DONE]\n\n")]
    assert paced_body(exchange, 2.0) == [(0.5, b"data: one\n\ndata: [DONE]\n\n")]
    assert paced_body(exchange, 0.0) == [(0.0, b"data: one\n\ndata: [DONE]\n\n")]


def _listen_session(tmp_path: Path):
    clock = _Clock()
    writer = CassetteWriter(tmp_path / "l.jsonl", protocols=["p"], clock=clock)
    x = writer.open_exchange(
        {
            "protocol": "p",
            "endpoint": "listen",
            "method": "GET",
            "path": "/listen",
            "websocket": True,
        }
    )
    writer.response(x, 101, "Switching Protocols")
    writer.message(x, "client", '{"type":"start"}')
    for _ in range(6):  # 0.1 s of audio every 0.1 s
        clock.now += 0.1
        writer.message(x, "client", bytes(100), 0.1)
    clock.now += 0.05
    writer.message(x, "server", '{"text":"hello"}')  # after 0.6 s of audio, 0.05 s later
    clock.now += 0.1
    writer.message(x, "client", '{"type":"flush"}')
    clock.now += 0.2
    writer.message(x, "server", '{"text":"done"}')
    writer.close_frame(x, "server", 1000, "bye")
    writer.end(x)
    writer.close()
    return load_cassette(tmp_path / "l.jsonl").exchanges[0]


def test_a_server_message_waits_for_the_audio_it_followed(tmp_path: Path) -> None:
    schedule = CausalSchedule(_listen_session(tmp_path), LISTEN, time_scale=1.0, start=100.0)
    assert [len(c.text or "") for c in schedule.recorded_controls] == [16, 16]
    assert schedule.client_message('{"type":"start"}', 100.0) is None
    for second in range(5):
        schedule.client_message(bytes(100), 100.1 + second / 10)
        assert schedule.due() is None  # 0.5 s of audio sent: not yet
    # Audio comes in other pieces than recorded: the amount counts, not the messages.
    schedule.client_message(bytes(50), 101.0)
    assert schedule.due() is None
    schedule.client_message(bytes(50), 101.2)
    assert schedule.due() == pytest.approx(101.25)  # 0.6 s reached at 101.2, + 0.05 recorded
    schedule.done(101.25)
    # The second answer waits for the flush (a control message), then its recorded delay.
    assert schedule.due() is None
    assert schedule.client_message('{"type":"flush"}', 102.0) is None
    assert schedule.due() == pytest.approx(102.2)
    assert schedule.outgoing(schedule.head) == '{"text":"done"}'
    schedule.done(102.2)
    assert schedule.head.kind == "close" and schedule.due() == pytest.approx(102.2)


def test_time_scale_multiplies_the_recorded_delays(tmp_path: Path) -> None:
    exchange = _listen_session(tmp_path)
    for scale, expected in ((0.0, 100.6), (2.0, 100.7)):
        schedule = CausalSchedule(exchange, LISTEN, time_scale=scale, start=100.0)
        schedule.client_message('{"type":"start"}', 100.0)
        schedule.client_message(bytes(600), 100.6)
        assert schedule.due() == pytest.approx(expected)


def test_a_differing_control_message_is_described(tmp_path: Path) -> None:
    schedule = CausalSchedule(_listen_session(tmp_path), LISTEN, time_scale=0.0, start=0.0)
    difference = schedule.client_message('{"type":"begin"}', 0.0)
    assert difference == (
        'client control message 1 (recorded at t=0): message.type is "begin" here, "start" '
        "in the cassette"
    )


def test_client_ids_are_ignored_then_answered_with_the_live_values(tmp_path: Path) -> None:
    writer = CassetteWriter(tmp_path / "s.jsonl", protocols=["p"], clock=_Clock())
    x = writer.open_exchange(
        {"protocol": "p", "endpoint": "speak", "method": "GET", "path": "/speak", "websocket": True}
    )
    writer.response(x, 101)
    writer.message(x, "client", '{"create":{"voice":"A"},"ctx":"rec-1"}')
    writer.message(x, "server", '{"result":{"ctx":"rec-1","audio":"rec-1 stays in text"}}')
    writer.end(x)
    writer.close()
    exchange = load_cassette(tmp_path / "s.jsonl").exchanges[0]
    matcher = ReplayMatcher(load_cassette(tmp_path / "s.jsonl"), ENDPOINTS)
    assert matcher.pick_session(SPEAK, "/speak", "").wait
    live = '{"ctx":"live-9","create":{"voice":"A"}}'
    assert matcher.pick_by_first_message(SPEAK, "/speak", "", live).exchange is not None
    schedule = CausalSchedule(exchange, SPEAK, time_scale=0.0, start=0.0)
    assert schedule.client_message(live, 0.0) is None
    assert schedule.outgoing(schedule.head) == (
        '{"result":{"ctx":"live-9","audio":"rec-1 stays in text"}}'
    )
    other = CausalSchedule(exchange, SPEAK, time_scale=0.0, start=0.0)
    assert other.client_message('{"ctx":"z","create":{"voice":"B"}}', 0.0) == (
        'client control message 1 (recorded at t=0): message.create.voice is "B" here, "A" in '
        "the cassette"
    )
    again = matcher.pick_session(SPEAK, "/speak", "")
    assert again.error == "the cassette holds 1 speak session; this is a 2nd"


def test_an_endpoint_compares_client_messages_on_what_is_significant() -> None:
    def unordered_tags(message: object) -> object:
        if isinstance(message, dict) and isinstance(message.get("tags"), list):
            return {**message, "tags": sorted(message["tags"])}
        return message

    tagged = RecordedEndpoint("tagged", "POST", "/tagged", "json", significant=unordered_tags)
    recorded = '{"tags":["a","b"],"n":1}'
    assert endpoint_difference(tagged, '{"tags":["b","a"],"n":1}', recorded, where="body") is None
    assert endpoint_difference(tagged, '{"tags":["b","c"],"n":1}', recorded, where="body") == (
        'body.tags[0] is "b" here, "a" in the cassette'  # as compared: sorted
    )
    # Not JSON on one side: byte for byte, as without the projection.
    assert endpoint_difference(tagged, "tags", recorded, where="body") == (
        "body is not JSON here and is JSON in the cassette"
    )


def test_stt_takes_an_empty_provider_option_as_unset() -> None:
    (stt,) = STT_RECORDED
    recorded = json.dumps(
        {"type": "session.create", "settings": {"sample_rate": "16000", "extra": {}}}
    )
    upstream = json.dumps(
        {"type": "session.create", "settings": {"sample_rate": "16000", "extra": {"keyterm": []}}}
    )
    assert endpoint_difference(stt, upstream, recorded, where="message") is None
    keyterms = upstream.replace("[]", '["Paris"]')
    assert endpoint_difference(stt, keyterms, recorded, where="message") == (
        'message.settings.extra.keyterm is ["Paris"] here, missing in the cassette'
    )
    assert stt_significant(
        {"type": "session.update", "settings": {"extra": {"a": None, "b": 0}}}
    ) == ({"type": "session.update", "settings": {"extra": {"b": 0}}})
    assert stt_significant({"type": "session.finalize"}) == {"type": "session.finalize"}
    assert stt_significant([1]) == [1]


def test_rewind_plays_an_endpoint_again_from_its_start(tmp_path: Path, chats) -> None:
    clock = _Clock()
    writer = CassetteWriter(tmp_path / "retried.jsonl", protocols=["p"], clock=clock)
    _chat(writer, clock, "Hello", "busy")  # answered, then retried alike: recorded twice
    _chat(writer, clock, "Hello", "one")
    writer.close()
    retried = load_cassette(tmp_path / "retried.jsonl")
    matcher = ReplayMatcher(retried, ENDPOINTS, rewind=True)
    runs = [
        [matcher.match_http("POST", "/v1/chat", "", _request("Hello")).exchange.x for _ in "ab"]
        for _ in range(3)
    ]
    assert runs == [[0, 1], [0, 1], [0, 1]]  # each run gets the recording in order, retry kept
    # A run cut short: the next starts over once no unused exchange fits.
    cut = ReplayMatcher(chats, ENDPOINTS, rewind=True)
    picked = [
        cut.match_http("POST", "/v1/chat", "", _request(c)) for c in ("Hello", "Hello", "Bye")
    ]
    assert [p.exchange.x for p in picked] == [0, 0, 1]
    assert cut.match_http("POST", "/v1/chat", "", _request("Hi")).error == (
        "request 4 to /v1/chat differs from the cassette's exchange 0 (line 2): "
        'body.messages[0].content is "Hi" here, "Hello" in the cassette'
    )
    once = ReplayMatcher(chats, ENDPOINTS)
    assert once.match_http("POST", "/v1/chat", "", _request("Hello")).exchange.x == 0
    assert once.match_http("POST", "/v1/chat", "", _request("Hello")).error.startswith(
        "request 2 to /v1/chat differs from the cassette's exchange 1 (line 7)"
    )


def test_rewind_replays_a_websocket_session_again(tmp_path: Path) -> None:
    _listen_session(tmp_path)
    cassette = load_cassette(tmp_path / "l.jsonl")
    rewinding = ReplayMatcher(cassette, ENDPOINTS, rewind=True)
    for _ in range(2):
        assert rewinding.pick_session(LISTEN, "/listen", "").wait
        opened = rewinding.pick_by_first_message(LISTEN, "/listen", "", '{"type":"start"}')
        assert opened.exchange is not None and opened.exchange.x == 0
    once = ReplayMatcher(cassette, ENDPOINTS)
    assert once.pick_session(LISTEN, "/listen", "").wait
    assert once.pick_by_first_message(LISTEN, "/listen", "", '{"type":"start"}').exchange
    assert once.pick_session(LISTEN, "/listen", "").error == (
        "the cassette holds 1 listen session; this is a 2nd"
    )


def test_a_request_no_protocol_owns_is_answered_as_recorded(tmp_path: Path) -> None:
    clock = _Clock()
    writer = CassetteWriter(tmp_path / "u.jsonl", protocols=["p"], clock=clock)
    x = writer.open_exchange({"method": "GET", "path": "/v1/models", "query": "page=1"})
    writer.response(x, 200, "OK", {"content-type": "application/json"})
    writer.body(x, "body", b'{"data":[]}')
    writer.end(x)
    _chat(writer, clock, "Hello", "one")
    writer.close()
    matcher = ReplayMatcher(load_cassette(tmp_path / "u.jsonl"), ENDPOINTS)
    assert matcher.holdings() == "GET /v1/models (1 exchange), chat (1 exchange)"
    assert matcher.match_http("GET", "/v1/models", "page=2", b"").error == (
        "request 1 to /v1/models differs from the cassette's exchange 0 (line 2): the query is "
        '"page=2" here, "page=1" in the cassette'
    )
    assert matcher.match_http("GET", "/v1/models", "page=1", b"").exchange.x == 0
    assert matcher.match_http("GET", "/v2/models", "", b"").error.startswith(
        "no recorded exchange answers GET /v2/models"
    )
    assert matcher.match_http("POST", "/v1/chat", "", _request("Hello")).exchange.x == 1


def _flush_session(tmp_path: Path, *, flushed: bool) -> RecordedExchange:
    """A session whose client ends with ``closeStream``, after an ``endTurn`` if ``flushed``;
    the server answers the close."""
    clock = _Clock()
    writer = CassetteWriter(tmp_path / f"f{flushed}.jsonl", protocols=["p"], clock=clock)
    x = writer.open_exchange(
        {"protocol": "p", "endpoint": "hear", "method": "GET", "path": "/hear", "websocket": True}
    )
    writer.response(x, 101)
    writer.message(x, "client", '{"start":{}}')
    writer.message(x, "client", bytes(500), 0.5)
    if flushed:
        writer.message(x, "client", '{"endTurn":{}}')
    writer.message(x, "client", '{"closeStream":{}}')
    clock.now += 0.1
    writer.message(x, "server", '{"final":"hello"}')
    writer.end(x)
    writer.close()
    return load_cassette(tmp_path / f"f{flushed}.jsonl").exchanges[0]


def test_an_optional_control_message_may_be_missing_on_either_side(tmp_path: Path) -> None:
    def end_turn(message: object) -> bool:
        return isinstance(message, dict) and set(message) == {"endTurn"}

    hear = RecordedEndpoint(
        "hear", "GET", "/hear", "websocket", audio_meter=_ByteMeter, optional=end_turn
    )
    live_flushes = ['{"start":{}}', bytes(500), '{"endTurn":{}}', '{"closeStream":{}}']
    live_closes = [m for m in live_flushes if m != '{"endTurn":{}}']
    for recorded, live in ((False, live_flushes), (True, live_closes), (True, live_flushes)):
        schedule = CausalSchedule(
            _flush_session(tmp_path, flushed=recorded), hear, time_scale=1.0, start=0.0
        )
        for message in live:
            assert schedule.client_message(message, 1.0) is None, (recorded, message)
        assert schedule.due() == pytest.approx(1.1)  # the answer to the close, as recorded
    # Optional is not anything: another message in its place still differs.
    other = CausalSchedule(_flush_session(tmp_path, flushed=True), hear, time_scale=0, start=0)
    other.client_message('{"start":{}}', 0.0)
    assert other.client_message('{"flush":{}}', 0.0) == (
        "client control message 2 (recorded at t=0): message.endTurn is missing here, {} in the "
        "cassette"
    )
    # Without the declaration, the flush the recording lacks is a difference.
    strict = RecordedEndpoint("hear", "GET", "/hear", "websocket", audio_meter=_ByteMeter)
    plain = CausalSchedule(_flush_session(tmp_path, flushed=False), strict, time_scale=0, start=0)
    plain.client_message('{"start":{}}', 0.0)
    assert plain.client_message('{"endTurn":{}}', 0.0).startswith("client control message 2")
