"""The Inworld TTS WebSocket wire module: the context messages and their codec
(``reference/inworld/wire/contexts.py``) and the two multiplexers
(``reference/inworld/wire/multiplexer.py``), without sockets.

The client's frames are compared with what upstream livekit-plugins-inworld 1.8.9 sent
(wire capture §7); the client and the server multiplexer are run against each other, with
hypothesis choosing interleavings of up to five contexts, splits of long texts and which
contexts fail.
"""

from __future__ import annotations

import base64
import json
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st
from voicewire.reference.errors import APIConnectionError, APIError, APITimeoutError
from voicewire.reference.inworld.wire.contexts import (
    CancelContext,
    CloseContext,
    ContextReply,
    CreateContext,
    FlushContext,
    SendText,
    SocketErrorReply,
    create_context_config,
    decode_context_client_message,
    decode_context_server_message,
    encode_context_message,
    supports_sentence_boundary,
)
from voicewire.reference.inworld.wire.multiplexer import (
    INWORLD_MAX_CONTEXTS,
    MAX_TEXT_PIECE,
    STATUS_ALREADY_EXISTS,
    STATUS_FAILED_PRECONDITION,
    STATUS_INVALID_ARGUMENT,
    STATUS_NOT_FOUND,
    STATUS_RESOURCE_EXHAUSTED,
    ContextAudio,
    ContextCreated,
    ContextDone,
    ContextFailed,
    ContextFailureKind,
    ContextFlushed,
    ContextRefused,
    InworldClientMultiplexer,
    InworldContextState,
    InworldServerMultiplexer,
    InworldSocketError,
)
from voicewire.reference.inworld.wire.timestamps import (
    InworldTimestampInfo,
    InworldWordAlignment,
)
from voicewire.reference.json_wire import (
    LocalProtocolError,
    MalformedMessage,
    RemoteProtocolError,
    UnknownMessageType,
)

# What upstream 1.8.9 sent for TTS(timestamp_type="WORD") (wire capture §7).
CAPTURED_CREATE = (
    '{"create": {"voiceId": "Ashley", "modelId": "inworld-tts-1.5-max", "audioConfig": '
    '{"audioEncoding": "PCM", "sampleRateHertz": 24000, "bitrate": 64000, "speakingRate": 1.0}, '
    '"temperature": 1.0, "maxBufferDelayMs": 3000, "timestampTransportStrategy": "ASYNC", '
    '"timestampType": "WORD", "autoMode": true, "bufferCharThreshold": 250}, '
    '"contextId": "6e85c420c431"}'
)
CONFIG = create_context_config(timestamp_type="WORD")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def client(**kwargs: object) -> InworldClientMultiplexer:
    return InworldClientMultiplexer(clock=Clock(), **kwargs)  # type: ignore[arg-type]


def words(*items: tuple[str, float, float]) -> InworldTimestampInfo:
    return InworldTimestampInfo(
        wordAlignment=InworldWordAlignment(
            words=tuple(w for w, _, _ in items),
            wordStartTimeSeconds=tuple(s for _, s, _ in items),
            wordEndTimeSeconds=tuple(e for _, _, e in items),
        )
    )


# -- messages and codec ------------------------------------------------------------------------


def test_client_frames_are_upstreams():
    mux = client()
    assert mux.create("6e85c420c431", CONFIG) == CAPTURED_CREATE
    assert mux.send_text("6e85c420c431", "Hello from the Inworld websocket.") == [
        '{"send_text": {"text": "Hello from the Inworld websocket."}, "contextId": "6e85c420c431"}'
    ]
    assert mux.flush("6e85c420c431") == '{"flush_context": {}, "contextId": "6e85c420c431"}'
    assert mux.close("6e85c420c431") == '{"close_context": {}, "contextId": "6e85c420c431"}'


def test_tts_2_create_sends_the_strategy_and_no_threshold():
    config = create_context_config(model="inworld-tts-2", auto_mode_strategy="SENTENCE_BOUNDARY")
    create = json.loads(encode_context_message(CreateContext(create=config, contextId="c")))
    assert create["create"]["autoModeStrategy"] == "SENTENCE_BOUNDARY"
    assert "bufferCharThreshold" not in create["create"]
    assert list(create["create"])[-2:] == ["autoMode", "autoModeStrategy"]
    assert supports_sentence_boundary("inworld-tts-2") and not supports_sentence_boundary(
        "inworld-tts-1.5-max"
    )
    given = create_context_config(buffer_char_threshold=80, language="fr-FR")
    assert given.bufferCharThreshold == 80 and given.language == "fr-FR"


@pytest.mark.parametrize(
    ("frame", "kind"),
    [
        ('{"create": {}, "contextId": "a"}', CreateContext),
        ('{"send_text": {"text": "x"}, "contextId": "a"}', SendText),
        ('{"flush_context": {}, "contextId": "a"}', FlushContext),
        ('{"close_context": {}, "contextId": "a"}', CloseContext),
        ('{"cancel_context": {}, "contextId": "a", "extra": 1}', CancelContext),
    ],
)
def test_client_messages_decode_by_their_key(frame, kind):
    if kind is CreateContext:
        with pytest.raises(MalformedMessage) as info:
            decode_context_client_message(frame)
        assert info.value.where.startswith("create.")
        return
    assert isinstance(decode_context_client_message(frame), kind)


@pytest.mark.parametrize(
    ("frame", "where"),
    [
        ('{"send_text": {"text": 5}, "contextId": "a"}', "send_text.text"),
        ('{"send_text": {"text": "x"}}', "contextId"),
        ('{"send_text": {"text": "x"}, "contextId": ""}', "contextId"),
        ('{"flush_context": {}, "close_context": {}, "contextId": "a"}', ""),
        ("[1]", ""),
        (b"{}", ""),
    ],
)
def test_malformed_client_frames_name_where(frame, where):
    with pytest.raises(MalformedMessage) as info:
        decode_context_client_message(frame)
    assert info.value.where == where or info.value.where.startswith(where)
    assert not isinstance(info.value, UnknownMessageType)


def test_server_messages():
    reply = decode_context_server_message(
        '{"result": {"contextId": "a", "status": {"code": 0, "message": ""}, '
        '"audioChunk": {"audioContent": "AAEC", "timestampInfo": {"wordAlignment": '
        '{"words": ["hi"], "wordStartTimeSeconds": [0], "wordEndTimeSeconds": [0.5]}}}}}'
    )
    assert isinstance(reply, ContextReply)
    assert reply.result.kind == "audioChunk" and reply.result.audioChunk is not None
    assert reply.result.audioChunk.pcm == b"\x00\x01\x02"
    error = decode_context_server_message('{"error": {"code": 3, "message": "bad"}}')
    assert isinstance(error, SocketErrorReply) and error.error.code == 3
    with pytest.raises(UnknownMessageType):
        decode_context_server_message('{"ping": {}}')
    for bad, where in [
        ('{"result": {"contextId": "a", "audioChunk": {"audioContent": "%%"}}}', "result"),
        ('{"result": {"contextId": "a", "flushCompleted": {}, "contextClosed": {}}}', "result"),
        ('{"result": {"contextId": 7}}', "result.contextId"),
        ('{"result": {"status": {"code": "1"}}}', "result.status.code"),
    ]:
        with pytest.raises(MalformedMessage) as info:
            decode_context_server_message(bad)
        assert info.value.where.startswith(where), bad


# -- the client multiplexer --------------------------------------------------------------------


def test_a_sixth_context_is_refused_locally():
    mux = client()
    for n in range(INWORLD_MAX_CONTEXTS):
        mux.create(f"c{n}", CONFIG)
    assert not mux.can_open
    with pytest.raises(LocalProtocolError) as info:
        mux.create("c5", CONFIG)
    assert info.value.rule == "IW-WS-2"
    mux.receive_frame('{"result": {"contextId": "c0", "contextClosed": {}}}')
    assert mux.can_open
    mux.create("c5", CONFIG)


def test_text_goes_in_pieces_of_at_most_1000_characters():
    mux = client()
    mux.create("a", CONFIG)
    text = "x" * 2500
    pieces = [json.loads(f)["send_text"]["text"] for f in mux.send_text("a", text)]
    assert [len(p) for p in pieces] == [1000, 1000, 500] and "".join(pieces) == text
    assert mux.send_text("a", "") == []


def test_timestamps_follow_the_cumulative_time_across_flushes():
    mux = client()
    mux.create("a", CONFIG)
    server = InworldServerMultiplexer()
    server.receive_frame(CAPTURED_CREATE.replace("6e85c420c431", "a"))
    mux.flush("a")
    first = mux.receive_frame(server.audio_chunk("a", b"\x01\x00", words(("one", 0.0, 0.4))))
    assert first == [ContextAudio("a", b"\x01\x00", first[0].timed)]
    assert [(t.text, t.start_time, t.end_time) for t in first[0].timed] == [("one", 0.0, 0.4)]
    assert mux.receive_frame(server.flush_completed("a")) == [ContextFlushed("a", 0.4)]
    mux.flush("a")
    second = mux.receive_frame(server.audio_chunk("a", b"", words(("two", 0.1, 0.3))))
    assert [(t.text, t.start_time, t.end_time) for t in second[0].timed] == [
        ("two", pytest.approx(0.5), pytest.approx(0.7))
    ]
    mux.receive_frame(server.flush_completed("a"))
    # A generation without timestamps leaves the offset where it was (upstream's "> 0").
    mux.flush("a")
    mux.receive_frame(server.audio_chunk("a", b"\x00\x00"))
    assert mux.receive_frame(server.flush_completed("a")) == [
        ContextFlushed("a", pytest.approx(0.7))
    ]


def test_a_failing_status_fails_only_its_context():
    mux = client()
    mux.create("a", CONFIG)
    mux.create("b", CONFIG)
    events = mux.receive_frame(
        '{"result": {"contextId": "a", "status": {"code": 13, "message": "boom"}}}'
    )
    assert events == [ContextFailed("a", ContextFailureKind.STATUS, "boom", 13)]
    error = events[0].to_exception()  # type: ignore[union-attr]
    assert type(error) is APIError and "Inworld error: boom" in str(error) and error.retryable
    assert mux.context("a") is None and mux.context("b") is not None
    # Replies for a context that is not open are ignored.
    assert mux.receive_frame('{"result": {"contextId": "a", "contextClosed": {}}}') == []
    assert mux.receive_frame('{"result": {"contextId": "zz", "audioChunk": {}}}') == []


def test_top_level_error_fails_nothing_and_the_deadline_ends_the_stream():
    clock = Clock()
    mux = InworldClientMultiplexer(clock=clock)
    mux.create("a", CONFIG)
    assert mux.reply_deadline("a", 5.0) is None  # nothing owed yet: the input is open
    clock.now = 110.0
    mux.close("a")
    assert mux.reply_deadline("a", 5.0) == 115.0
    assert mux.receive_frame('{"error": {"code": 5, "message": "Context not found"}}') == [
        InworldSocketError(5, "Context not found")
    ]
    assert mux.context("a") is not None and mux.socket_errors[0].code == 5
    clock.now = 112.0
    mux.receive_frame('{"result": {"contextId": "a", "audioChunk": {"audioContent": "AAA="}}}')
    assert mux.reply_deadline("a", 5.0) == 117.0
    assert json.loads(mux.cancel("a")) == {"cancel_context": {}, "contextId": "a"}
    assert mux.context("a") is None and mux.open_count == 0


def test_malformed_replies():
    mux = client()
    mux.create("a", CONFIG)
    mux.create("b", CONFIG)
    # Naming an open context: that context fails, the other goes on.
    events = mux.receive_frame('{"result": {"contextId": "a", "audioChunk": {"audioContent": 1}}}')
    assert [(e.context_id, e.kind) for e in events] == [("a", ContextFailureKind.MALFORMED)]  # type: ignore[union-attr]
    assert isinstance(events[0].to_exception(), APIConnectionError)  # type: ignore[union-attr]
    # Naming none: the socket cannot be trusted; the shell fails every context.
    for frame in ("not json", b"\x00", '{"result": 5}'):
        with pytest.raises(RemoteProtocolError) as info:
            mux.receive_frame(frame)
        assert info.value.rule == "CLI-ROB-1"
    assert mux.receive_frame('{"something": {}}') == []
    lost = mux.connection_lost("closed with 1011")
    assert [(e.context_id, e.kind) for e in lost] == [("b", ContextFailureKind.CONNECTION)]  # type: ignore[union-attr]
    assert isinstance(lost[0].to_exception(), APIConnectionError)  # type: ignore[union-attr]
    assert mux.lost and not mux.can_open
    with pytest.raises(LocalProtocolError):
        mux.create("c", CONFIG)


def test_client_refuses_out_of_order_sends():
    mux = client()
    with pytest.raises(LocalProtocolError):
        mux.send_text("a", "x")
    mux.create("a", CONFIG)
    with pytest.raises(LocalProtocolError):
        mux.create("a", CONFIG)
    mux.close("a")
    for action in (lambda: mux.send_text("a", "x"), lambda: mux.flush("a")):
        with pytest.raises(LocalProtocolError):
            action()
    mux.cancel("a")
    with pytest.raises(LocalProtocolError):
        mux.cancel("a")
    assert ContextFailed("a", ContextFailureKind.TIMEOUT, "t").to_exception().__class__ is (
        APITimeoutError
    )


# -- the server multiplexer --------------------------------------------------------------------


def create_frame(cid: str) -> str:
    return encode_context_message(CreateContext(create=CONFIG, contextId=cid))


def refusal(server: InworldServerMultiplexer, frame: str | bytes) -> ContextRefused:
    with pytest.raises(ContextRefused) as info:
        server.receive_frame(frame)
    return info.value


def test_server_checks_each_contexts_order():
    server = InworldServerMultiplexer()
    assert refusal(server, '{"send_text": {"text": "x"}, "contextId": "a"}').code == (
        STATUS_NOT_FOUND
    )
    server.receive_frame(create_frame("a"))
    assert refusal(server, create_frame("a")).code == STATUS_ALREADY_EXISTS
    too_long = encode_context_message(
        SendText.model_validate({"send_text": {"text": "y" * 1001}, "contextId": "a"})
    )
    assert refusal(server, too_long).code == STATUS_INVALID_ARGUMENT
    server.receive_frame('{"close_context": {}, "contextId": "a"}')
    after = refusal(server, '{"flush_context": {}, "contextId": "a"}')
    assert after.code == STATUS_FAILED_PRECONDITION and after.context_id == "a"
    server.context_closed("a")
    assert server.state("a") is InworldContextState.CLOSED
    closed = refusal(server, '{"send_text": {"text": "x"}, "contextId": "a"}')
    assert closed.code == STATUS_FAILED_PRECONDITION
    reply = json.loads(server.reject(closed))
    assert reply["result"]["contextId"] == "a" and reply["result"]["status"]["code"] == 9
    anonymous = refusal(server, "{nope")
    assert anonymous.context_id is None
    assert json.loads(server.reject(anonymous))["error"]["code"] == STATUS_INVALID_ARGUMENT
    assert refusal(server, b"{}").rule == "SRV-3"
    malformed = refusal(server, '{"send_text": {"text": 1}, "contextId": "q"}')
    assert malformed.context_id == "q" and malformed.rule == "IW-WS-1"
    copy = pickle.loads(pickle.dumps(malformed))
    assert (copy.context_id, copy.code, str(copy)) == ("q", 3, str(malformed))


def test_server_refuses_a_sixth_context_for_that_context_only():
    server = InworldServerMultiplexer()
    for n in range(5):
        server.receive_frame(create_frame(f"c{n}"))
    sixth = refusal(server, create_frame("c5"))
    assert (sixth.rule, sixth.context_id) == ("IW-WS-2", "c5")
    assert sixth.code == STATUS_RESOURCE_EXHAUSTED
    assert server.open_count == 5 and server.state("c5") is None
    # A cancelled context no longer counts; contextClosed may still answer it.
    server.receive_frame('{"cancel_context": {}, "contextId": "c0"}')
    server.receive_frame(create_frame("c5"))
    server.context_closed("c0")
    with pytest.raises(LocalProtocolError):
        server.context_closed("c0")
    with pytest.raises(LocalProtocolError):
        server.audio_chunk("nope", b"")


# -- both sides together -----------------------------------------------------------------------

Operation = tuple[int, str, object]


@st.composite
def interleavings(draw: st.DrawFn) -> tuple[int, list[str], list[Operation], set[int]]:
    """Up to five contexts, each with texts (some over 1000 characters) and flushes, their
    operations interleaved on one socket; which contexts the server fails."""
    count = draw(st.integers(1, INWORLD_MAX_CONTEXTS))
    texts = [
        draw(st.text(st.sampled_from("ab é\n"), min_size=0, max_size=2300)) for _ in range(count)
    ]
    ops: list[list[Operation]] = []
    for n, text in enumerate(texts):
        cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=4)))
        pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
        mine: list[Operation] = [(n, "create", None)]
        for piece in pieces:
            mine.append((n, "text", piece))
            if draw(st.booleans()):
                mine.append((n, "flush", None))
        mine.append((n, "close", None))
        ops.append(mine)
    merged: list[Operation] = []
    while any(ops):
        live = [o for o in ops if o]
        merged.append(draw(st.sampled_from(live)).pop(0))
    failing = draw(st.sets(st.integers(0, count - 1), max_size=count))
    return count, texts, merged, failing


@given(interleavings())
def test_interleaved_contexts_on_one_socket(case):
    count, texts, operations, failing = case
    clock = Clock()
    mux = InworldClientMultiplexer(clock=clock)
    server = InworldServerMultiplexer()
    received: dict[str, list[str]] = {f"c{n}": [] for n in range(count)}
    events: dict[str, list[object]] = {f"c{n}": [] for n in range(count)}
    position: dict[str, float] = {}

    def deliver(frame: str) -> None:
        for event in mux.receive_frame(frame):
            events[event.context_id].append(event)  # type: ignore[union-attr]

    for n, op, arg in operations:
        cid = f"c{n}"
        if mux.context(cid) is None and op != "create":
            continue  # the context failed: its stream stops sending
        if op == "create":
            message = server.receive_frame(mux.create(cid, CONFIG))
            deliver(server.context_created(cid))
            if n in failing:
                deliver(server.status_error(cid, 13, f"{cid} failed"))
        elif op == "text":
            for frame in mux.send_text(cid, str(arg)):
                message = server.receive_frame(frame)
                assert isinstance(message, SendText)
                piece = message.send_text.text
                assert 0 < len(piece) <= MAX_TEXT_PIECE
                received[cid].append(piece)
                start = position.get(cid, 0.0)
                position[cid] = start + 0.01 * len(piece)
                deliver(
                    server.audio_chunk(
                        cid, piece.encode(), words((piece[:3], start, position[cid]))
                    )
                )
        elif op == "flush":
            server.receive_frame(mux.flush(cid))
            position[cid] = 0.0  # the next generation's times restart from 0
            deliver(server.flush_completed(cid))
        else:
            server.receive_frame(mux.close(cid))
            deliver(server.context_closed(cid))

    assert mux.open_count == 0 and server.open_count == 0
    for n in range(count):
        cid = f"c{n}"
        mine = events[cid]
        assert all(getattr(e, "context_id", cid) == cid for e in mine)
        assert mine[0] == ContextCreated(cid)
        if n in failing:
            assert mine[1:] == [ContextFailed(cid, ContextFailureKind.STATUS, f"{cid} failed", 13)]
            continue
        assert mine[-1] == ContextDone(cid)
        assert "".join(received[cid]) == texts[n]
        audio = b"".join(e.pcm for e in mine if isinstance(e, ContextAudio))
        assert audio == texts[n].encode()
        ends = [t.end_time for e in mine if isinstance(e, ContextAudio) for t in e.timed]
        assert ends == sorted(ends), "word times decrease within a context"


@given(st.text(max_size=3500), st.integers(1, 1000))
def test_pieces_rebuild_the_text(text, size):
    mux = InworldClientMultiplexer(clock=Clock(), max_text_piece=size)
    mux.create("a", CONFIG)
    pieces = [json.loads(f)["send_text"]["text"] for f in mux.send_text("a", text)]
    assert "".join(pieces) == text and all(0 < len(p) <= size for p in pieces)


def test_audio_chunk_round_trips_bytes():
    server = InworldServerMultiplexer()
    server.receive_frame(create_frame("a"))
    frame = json.loads(server.audio_chunk("a", b"\xff\x00\x10"))
    assert base64.b64decode(frame["result"]["audioChunk"]["audioContent"]) == b"\xff\x00\x10"
    assert "timestampInfo" not in frame["result"]["audioChunk"]


# -- the client's sentences (reference/inworld/tts_stream.py) ----------------------------------

PROSE = (
    "Hello from the Inworld websocket. This is the second sentence. Short one. "
    "And then a much longer third sentence follows here!\nA new line starts the fourth one? "
    "Yes."
)


def test_sentences_keep_their_leading_space_as_upstreams():
    from voicewire.reference.inworld.tts_stream import RetainedSentenceSplitter

    splitter = RetainedSentenceSplitter()
    tokens = splitter.push(PROSE) + splitter.flush()
    assert tokens[:2] == ["Hello from the Inworld websocket.", " This is the second sentence."]
    assert "".join(tokens) == PROSE
    blingfire = pytest.importorskip("livekit.agents.tokenize.blingfire")
    upstream = blingfire._split_sentences(PROSE, 20, retain_format=True)
    assert splitter.split(PROSE) == [(text, end) for text, _, end in upstream]


@given(st.lists(st.integers(1, 40), max_size=8))
def test_sentences_do_not_depend_on_how_the_text_was_pushed(cuts):
    from voicewire.reference.inworld.tts_stream import RetainedSentenceSplitter

    whole = RetainedSentenceSplitter()
    expected = whole.push(PROSE) + whole.flush()
    pieces, start = [], 0
    for size in cuts:
        pieces.append(PROSE[start : start + size])
        start += size
    pieces.append(PROSE[start:])
    split = RetainedSentenceSplitter()
    tokens = [t for piece in pieces for t in split.push(piece)] + split.flush()
    assert tokens == expected
