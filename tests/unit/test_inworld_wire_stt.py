"""The Inworld STT wire module (SPEC §5.3): the messages and their codec, the client and server
sessions, and the InworldSegmentTracker. Whatever the server sends, the events form segments
START (INTERIM)* [FINAL] END (IW-STT-ORD-1); whatever the frame sizes, the audio goes out one
message per frame, bytes exact (IW-STT-C-1), and usage sums to the audio pushed
(IW-STT-USG-1)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from voicewire.reference.errors import APIConnectionError, APIStatusError, APITimeoutError
from voicewire.reference.inworld.wire.stt_messages import (
    CloseStream,
    EndTurn,
    SpeechStartedMessage,
    TranscribeAudioChunk,
    TranscribeConfigMessage,
    TranscribeErrorMessage,
    TranscriptionMessage,
    decode_transcribe_client_message,
    decode_transcribe_server_message,
    encode_transcribe_message,
    transcribe_config,
)
from voicewire.reference.inworld.wire.stt_session import (
    InworldSegmentTracker,
    TranscribeClientSession,
    TranscribeServerSession,
    TranscribeState,
    is_retryable_transcribe_error,
)
from voicewire.reference.json_wire import (
    LocalProtocolError,
    MalformedMessage,
    RemoteProtocolError,
    UnknownMessageType,
)
from voicewire.reference.stt.speech import SpeechEvent, SpeechEventType

START = SpeechEventType.START_OF_SPEECH
INTERIM = SpeechEventType.INTERIM_TRANSCRIPT
USAGE = SpeechEventType.RECOGNITION_USAGE
FINAL = SpeechEventType.FINAL_TRANSCRIPT
END = SpeechEventType.END_OF_SPEECH
RATE = 16000

# The transcribeConfig upstream sent in the capture (research/wire-capture.md §8), byte for byte.
CAPTURED_CONFIG = (
    '{"transcribeConfig": {"modelId": "inworld/inworld-stt-1", "audioEncoding": "LINEAR16", '
    '"sampleRateHertz": 16000, "numberOfChannels": 1, "language": "en-US", '
    '"voiceProfileConfig": {"enableVoiceProfile": true, "topN": 1}, '
    '"endOfTurnConfidenceThreshold": 0.3, '
    '"inworldSttV1Config": {"minEndOfTurnSilenceWhenConfident": 200}}}'
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def kinds(events: list[SpeechEvent] | tuple[SpeechEvent, ...]) -> list[SpeechEventType]:
    return [event.type for event in events]


def transcription(text: str, final: bool, profile: dict[str, Any] | None = None) -> str:
    return encode_transcribe_message(
        TranscriptionMessage.of(text, is_final=final, voice_profile=profile)
    )


def client(**kwargs: Any) -> tuple[TranscribeClientSession, Clock]:
    clock = Clock()
    session = TranscribeClientSession(
        transcribe_config(), clock=clock, request_id="req_1", **kwargs
    )
    session.start()
    return session, clock


# -- messages ----------------------------------------------------------------------------------


def test_the_config_is_the_captured_frame_byte_for_byte():
    assert encode_transcribe_message(transcribe_config()) == CAPTURED_CONFIG
    assert decode_transcribe_client_message(CAPTURED_CONFIG) == transcribe_config()


def test_optional_parts_of_the_config_are_sent_only_when_set():
    body = json.loads(
        encode_transcribe_message(
            transcribe_config(enable_voice_profile=False, vad_threshold=0.5, language="fr-FR")
        )
    )["transcribeConfig"]
    assert "voiceProfileConfig" not in body
    assert body["inworldSttV1Config"] == {
        "minEndOfTurnSilenceWhenConfident": 200,
        "vadThreshold": 0.5,
    }
    assert body["language"] == "fr-FR"
    with pytest.raises(ValueError, match="transcribeConfig cannot carry"):
        transcribe_config(sample_rate=0)


def test_client_frames_as_upstream_writes_them():
    assert encode_transcribe_message(EndTurn()) == '{"endTurn": {}}'
    assert encode_transcribe_message(CloseStream()) == '{"closeStream": {}}'
    chunk = TranscribeAudioChunk.from_pcm(b"\x01\x02\x03\x04")
    assert encode_transcribe_message(chunk) == '{"audioChunk": {"content": "AQIDBA=="}}'
    assert decode_transcribe_client_message('{"audioChunk": {"content": "AQIDBA=="}}').pcm == (
        b"\x01\x02\x03\x04"
    )


def test_server_messages_decode_with_upstreams_defaults():
    assert decode_transcribe_server_message('{"result": {"speechStarted": {}}}') == (
        SpeechStartedMessage()
    )
    message = decode_transcribe_server_message('{"result": {"transcription": {}}}')
    assert isinstance(message, TranscriptionMessage)
    assert (message.transcription.transcript, message.transcription.isFinal) == ("", False)
    message = decode_transcribe_server_message(
        '{"result": {"transcription": {"transcript": "hi", "isFinal": true, '
        '"voiceProfile": {"age": "adult"}}, "extra": 1}}'
    )
    assert isinstance(message, TranscriptionMessage)
    assert message.transcription.voiceProfile == {"age": "adult"}
    error = decode_transcribe_server_message('{"error": {"code": 3, "message": "bad config"}}')
    assert isinstance(error, TranscribeErrorMessage)
    assert (error.error.code, error.error.message) == (3, "bad config")


@pytest.mark.parametrize(
    ("frame", "where"),
    [
        ('{"result": {"transcription": {"isFinal": 1}}}', "result.transcription.isFinal"),
        ('{"result": {"transcription": {"transcript": 7}}}', "result.transcription.transcript"),
        (
            '{"result": {"transcription": {"voiceProfile": []}}}',
            "result.transcription.voiceProfile",
        ),
        ('{"result": {"speechStarted": 5}}', "result.speechStarted"),
        ('{"result": []}', "result"),
        ('{"result": {"speechStarted": {}, "transcription": {}}}', "result"),
        ('{"error": {"message": "no code"}}', "error.code"),
        ('{"result": {}, "error": {"code": 1}}', ""),
        ("[1]", ""),
        ("{not json", ""),
    ],
)
def test_a_malformed_server_frame_names_where(frame: str, where: str):
    with pytest.raises(MalformedMessage) as caught:
        decode_transcribe_server_message(frame)
    assert not isinstance(caught.value, UnknownMessageType)
    assert caught.value.where == where


@pytest.mark.parametrize("frame", ['{"status": 1}', '{"result": {"speechStopped": {}}}'])
def test_an_unknown_server_message_is_unknown(frame: str):
    with pytest.raises(UnknownMessageType):
        decode_transcribe_server_message(frame)


# -- the tracker (IW-STT-ORD-1) ----------------------------------------------------------------


def feed(tracker: InworldSegmentTracker, frames: list[str]) -> list[SpeechEvent]:
    events: list[SpeechEvent] = []
    for frame in frames:
        events.extend(tracker.receive(decode_transcribe_server_message(frame)))
    return events


def tracker() -> InworldSegmentTracker:
    return InworldSegmentTracker(sample_rate=RATE, language="en-US", request_id="req_1")


def test_the_captured_transcript_makes_start_interim_final_end():
    started = encode_transcribe_message(SpeechStartedMessage())
    events = feed(
        tracker(),
        [started, transcription("hello", False), transcription("hello world", True, {"a": 1})],
    )
    assert kinds(events) == [START, INTERIM, FINAL, END]
    assert {event.request_id for event in events} == {"req_1"}
    final = events[2].alternatives[0]
    assert (final.text, final.language, final.metadata) == (
        "hello world",
        "en-US",
        {"voice_profile": {"a": 1}},
    )
    assert events[1].alternatives[0].metadata is None


def test_interims_and_finals_open_a_segment_and_speech_started_only_once():
    started = encode_transcribe_message(SpeechStartedMessage())
    events = feed(
        tracker(),
        [transcription("a", False), started, transcription("", False), transcription("ab", True)],
    )
    assert kinds(events) == [START, INTERIM, FINAL, END]
    assert kinds(feed(tracker(), [transcription("solo", True)])) == [START, FINAL, END]


def test_an_empty_final_closes_the_segment_without_a_final():
    started = encode_transcribe_message(SpeechStartedMessage())
    events = feed(tracker(), [started, transcription("", True), started, transcription("x", True)])
    assert kinds(events) == [START, END, START, FINAL, END]
    assert feed(tracker(), [transcription("", True)]) == []


class ServerScript:
    """What a server may send: speech starts, interims and finals, empty or not."""

    messages = st.lists(
        st.one_of(
            st.just(encode_transcribe_message(SpeechStartedMessage())),
            st.builds(transcription, st.sampled_from(["", "a", "a b"]), st.booleans()),
            st.just('{"result": {"speechStopped": {}}}'),
        ),
        max_size=30,
    )


@settings(max_examples=150)
@given(ServerScript.messages)
def test_any_server_script_keeps_the_segment_grammar(frames: list[str]):
    session, _ = client()
    events = [e for frame in frames for e in session.receive_frame(frame)]
    open_ = False
    finals = []
    previous = None
    for event in events:
        if event.type is START:
            assert not open_
            open_ = True
        elif event.type is INTERIM:
            assert open_ and event.alternatives[0].text
        elif event.type is FINAL:
            assert open_ and event.alternatives[0].text
            finals.append(event.alternatives[0].text)
        elif event.type is END:
            assert open_
            open_ = False
        previous = event.type
    # A segment is left open only if the script ended inside one (no final after its start).
    if open_:
        assert previous in (START, INTERIM)
    server_finals = [
        json.loads(f)["result"]["transcription"]["transcript"]
        for f in frames
        if '"isFinal": true' in f
    ]
    assert finals == [text for text in server_finals if text]


# -- the client session (IW-STT-C-1, IW-STT-USG-1, IW-STT-END-1) ------------------------------


def test_config_first_then_one_chunk_per_frame_then_end_turn_and_close_stream():
    clock = Clock()
    session = TranscribeClientSession(transcribe_config(), clock=clock)
    with pytest.raises(LocalProtocolError, match="transcribeConfig must be sent first"):
        session.push_audio(b"\x00\x00")
    assert session.start() == CAPTURED_CONFIG
    with pytest.raises(LocalProtocolError, match="already sent"):
        session.start()
    out = session.push_audio(b"\x01\x00" * 160)
    assert [json.loads(f) for f in out.frames] == [
        {"audioChunk": {"content": base64.b64encode(b"\x01\x00" * 160).decode()}}
    ]
    assert session.push_audio(b"").frames == ()
    with pytest.raises(LocalProtocolError, match="not whole LINEAR16"):
        session.push_audio(b"\x00")
    turn = session.end_turn()
    assert turn.frames == ('{"endTurn": {}}',)
    assert kinds(turn.events) == [USAGE]
    assert turn.events[0].recognition_usage.audio_duration == 0.01
    end = session.close_stream()
    assert end.frames == ('{"closeStream": {}}',)
    assert end.events == ()  # nothing pushed since the endTurn's usage
    for action in (lambda: session.push_audio(b"\x00\x00"), session.end_turn, session.close_stream):
        with pytest.raises(LocalProtocolError, match="IW-STT-C-1"):
            action()


def test_usage_every_5_s_of_audio_then_at_end_turn_and_at_end():
    session, _ = client()
    ten_ms = b"\x00\x00" * (RATE // 100)
    usage = []
    for _ in range(1201):  # 12.01 s
        usage.extend(session.push_audio(ten_ms).events)
    usage.extend(session.end_turn().events)
    usage.extend(session.push_audio(ten_ms).events)
    usage.extend(session.close_stream().events)
    assert kinds(usage) == [USAGE] * 4
    assert [round(e.recognition_usage.audio_duration * RATE) for e in usage] == [
        80000,
        80000,
        32160,
        160,
    ]
    assert {e.request_id for e in usage} == {"req_1"}


@settings(max_examples=100)
@given(
    st.lists(
        st.one_of(st.integers(0, 2400).map(lambda n: ("push", n)), st.just(("turn", 0))),
        max_size=40,
    )
)
def test_any_frame_sizes_go_out_bytes_exact_and_usage_sums_to_the_audio(actions):
    # A small interval makes the periodic reports happen within a short script.
    session = TranscribeClientSession(
        transcribe_config(),
        clock=Clock(),
        tracker=InworldSegmentTracker(sample_rate=RATE, language="en-US", usage_interval=0.1),
    )
    session.start()
    pushed = b""
    sent: list[bytes] = []
    usage: list[SpeechEvent] = []
    for index, (action, samples) in enumerate(actions):
        if action == "push":
            pcm = bytes([index % 251, 7]) * samples
            pushed += pcm
            out = session.push_audio(pcm)
            assert len(out.frames) == (1 if samples else 0)
        else:
            out = session.end_turn()
        usage.extend(out.events)
        for frame in out.frames:
            body = json.loads(frame)
            if "audioChunk" in body:
                sent.append(base64.b64decode(body["audioChunk"]["content"]))
    usage.extend(session.close_stream().events)
    assert b"".join(sent) == pushed
    assert [len(chunk) for chunk in sent] == [
        2 * n for action, n in actions if action == "push" and n
    ]
    assert sum(round(e.recognition_usage.audio_duration * RATE) for e in usage) == len(pushed) // 2
    assert all(e.recognition_usage.audio_duration > 0 for e in usage)


def test_a_close_before_close_stream_is_a_retryable_connection_error():
    session, _ = client()
    with pytest.raises(APIConnectionError, match="before closeStream") as caught:
        session.receive_close(1000)
    assert caught.value.retryable is True
    assert session.state is TranscribeState.CLOSED


def test_after_close_stream_1000_ends_cleanly_and_anything_else_is_an_error():
    session, _ = client()
    session.close_stream()
    # Pending finals still arrive after closeStream.
    assert kinds(session.receive_frame(transcription("late", True))) == [START, FINAL, END]
    session.receive_close(1000)
    assert session.state is TranscribeState.CLOSED
    with pytest.raises(RemoteProtocolError, match="after the connection closed"):
        session.receive_frame(transcription("later", True))
    other, _ = client()
    other.close_stream()
    with pytest.raises(APIConnectionError, match="not 1000") as caught:
        other.receive_close(1011)
    assert caught.value.retryable is False


def test_the_close_deadline_after_close_stream_is_pushed_back_by_messages():
    session, clock = client(close_timeout=2.0)
    assert session.close_deadline is None
    clock.now = 10.0
    session.close_stream()
    assert session.close_deadline == 12.0
    clock.now = 11.0
    session.receive_frame(transcription("x", False))
    assert session.close_deadline == 13.0
    clock.now = 12.5
    session.check_close_deadline()
    clock.now = 13.0
    with pytest.raises(APITimeoutError, match="did not close") as caught:
        session.check_close_deadline()
    assert caught.value.retryable is False


def test_an_error_frame_is_a_status_error_retryable_by_its_code():
    session, _ = client()
    with pytest.raises(APIStatusError) as caught:
        session.receive_frame('{"error": {"code": 3, "message": "unsupported encoding"}}')
    assert (caught.value.status_code, caught.value.retryable) == (3, False)
    assert "unsupported encoding" in caught.value.message
    with pytest.raises(APIStatusError) as caught:
        session.receive_frame('{"error": {"code": 14, "message": "unavailable"}}')
    assert caught.value.retryable is True
    assert [is_retryable_transcribe_error(c) for c in (8, 13, 16, 400, 429, 503)] == [
        True,
        True,
        False,
        False,
        True,
        True,
    ]


def test_malformed_frames_are_remote_errors_and_unknown_ones_are_ignored():
    session, _ = client()
    assert session.receive_frame('{"result": {"speechStopped": {}}}') == []
    assert session.receive_frame('{"usage": {"seconds": 1}}') == []
    with pytest.raises(RemoteProtocolError, match="CLI-ROB-1") as caught:
        session.receive_frame('{"result": {"transcription": {"isFinal": "yes"}}}')
    assert isinstance(caught.value.__cause__, MalformedMessage)
    with pytest.raises(RemoteProtocolError, match="CLI-ROB-1"):
        session.receive_frame(b"\x00")
    before = TranscribeClientSession(transcribe_config(), clock=Clock())
    with pytest.raises(RemoteProtocolError, match="IW-STT-S-1"):
        before.receive_frame(transcription("early", True))


def test_a_reconnect_keeps_the_tracker_and_config():
    session, _ = client()
    session.receive_frame(encode_transcribe_message(SpeechStartedMessage()))
    session.push_audio(b"\x00\x00" * 10)
    following = session.reconnect()
    assert following.state is TranscribeState.CONNECTING
    assert following.tracker is session.tracker and following.tracker.speaking
    assert following.start() == CAPTURED_CONFIG
    assert kinds(following.close_stream().events) == [USAGE]


# -- the server session (IW-STT-C-1 as a server sees it, SRV-1, SRV-3) ------------------------


def chunk(pcm: bytes) -> str:
    return encode_transcribe_message(TranscribeAudioChunk.from_pcm(pcm))


def test_the_server_session_follows_a_well_behaved_client():
    server = TranscribeServerSession()
    message = server.receive_frame(CAPTURED_CONFIG)
    assert isinstance(message, TranscribeConfigMessage)
    assert (server.state, server.sample_rate) == (TranscribeState.OPEN, RATE)
    server.receive_frame(chunk(b"\x00\x00" * 160))
    server.receive_frame('{"endTurn": {}}')
    assert server.samples_received == 160
    assert server.close_code is None
    server.receive_frame('{"closeStream": {}}')
    assert (server.state, server.close_code) == (TranscribeState.CLOSING, 1000)
    # The pending finals still go out after closeStream.
    assert server.send(TranscriptionMessage.of("x", is_final=True)).startswith('{"result"')
    server.connection_closed()
    with pytest.raises(LocalProtocolError):
        server.send(SpeechStartedMessage())


@pytest.mark.parametrize(
    ("frames", "rule", "match"),
    [
        ([chunk(b"\x00\x00")], "IW-STT-C-1", "audioChunk before transcribeConfig"),
        (['{"closeStream": {}}'], "IW-STT-C-1", "closeStream before transcribeConfig"),
        ([CAPTURED_CONFIG, CAPTURED_CONFIG], "IW-STT-C-1", "a second transcribeConfig"),
        ([CAPTURED_CONFIG, '{"closeStream": {}}', chunk(b"\x00\x00")], "IW-STT-C-1", "after"),
        ([CAPTURED_CONFIG, '{"closeStream": {}}', '{"endTurn": {}}'], "IW-STT-C-1", "after"),
        ([CAPTURED_CONFIG, chunk(b"\x00")], "IW-STT-C-1", "not whole LINEAR16"),
        ([CAPTURED_CONFIG.replace("LINEAR16", "MULAW")], "IW-STT-C-1", "audioEncoding"),
        (
            [CAPTURED_CONFIG.replace('"numberOfChannels": 1', '"numberOfChannels": 2')],
            "IW-STT-C-1",
            "mono",
        ),
        ([CAPTURED_CONFIG.replace("16000", '"16000"')], "IW-STT-C-1", "sampleRateHertz"),
        (["{nope"], "SRV-1", "not valid JSON"),
        (['{"hello": {}}'], "SRV-1", "unknown"),
        ([b"\x00\x01"], "SRV-3", "binary"),
    ],
)
def test_the_server_session_refuses_what_the_protocol_forbids(frames, rule, match):
    server = TranscribeServerSession()
    for frame in frames[:-1]:
        server.receive_frame(frame)
    state = server.state
    with pytest.raises(RemoteProtocolError, match=match) as caught:
        server.receive_frame(frames[-1])
    assert caught.value.rule == rule
    assert server.state is state
    answer = json.loads(server.reject(caught.value))
    assert answer["error"]["code"] == 3
    assert rule in answer["error"]["message"]


def test_the_server_sends_no_result_before_the_config():
    server = TranscribeServerSession()
    with pytest.raises(LocalProtocolError, match="IW-STT-S-1"):
        server.send(SpeechStartedMessage())
