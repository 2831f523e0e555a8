"""The STT session state machines and the audio framer: what each role may send and receive in
which state (STT-C-1..5, STT-S-1..2, STT-END-1), exact 50 ms frames for any push pattern and
rate (STT-C-2), the close deadline on an injected clock (STT-C-4), reconnects (STT-RETRY-1), and
hostile frames giving protocol errors, never anything else (CLI-ROB-1, SRV-1, SRV-3)."""

from __future__ import annotations

import base64
import json
import pickle
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from voicewire.reference.audio import AudioFrame
from voicewire.reference.errors import APIStatusError
from voicewire.reference.stt.speech import SpeechEvent, SpeechEventType
from voicewire.reference.stt.wire import (
    FINAL_TRANSCRIPT_INACTIVITY_TIMEOUT,
    FINALIZATION_TIMEOUT,
    NORMAL_CLOSURE,
    AudioFramer,
    ClientSession,
    ErrorMessage,
    FinalTranscript,
    InterimTranscript,
    LocalProtocolError,
    MalformedMessage,
    RemoteProtocolError,
    SegmentTracker,
    ServerSession,
    SessionClosed,
    SessionCreated,
    SessionFinalized,
    SessionState,
    StartOfSpeech,
    decode_client_message,
    encode_message,
    frame_samples,
    is_retryable_error_code,
    session_create,
)

RATES = [8000, 11025, 16000, 22050, 24000, 44100, 48000]


class Clock:
    """A hand-driven clock: the machines read time only through it."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def client(rate: int = 16000, *, strict: bool = True, **options: object) -> ClientSession:
    return ClientSession(session_create(sample_rate=rate, **options), clock=Clock(), strict=strict)


def opened(rate: int = 16000, **kw: object) -> ClientSession:
    session = client(rate, **kw)
    session.create()
    return session


def frame_of(message: object) -> str:
    return encode_message(message)  # type: ignore[arg-type]


def final(text: str = "x", start: float = 0.0, duration: float = 0.0) -> FinalTranscript:
    return FinalTranscript(transcript=text, start=start, duration=duration)


def interim(text: str = "x") -> InterimTranscript:
    return InterimTranscript(transcript=text, start=0.0, duration=0.0)


def pcm_of(frames: list[str]) -> bytes:
    """The audio of a list of client frames, checking each is an input_audio."""
    audio = b""
    for frame in frames:
        message = decode_client_message(frame)
        assert message.type == "input_audio"
        audio += message.pcm  # type: ignore[union-attr]
    return audio


SEGMENTS = re.compile(r"(SI*U?FE)*(SI*)?")
LETTERS = {
    SpeechEventType.START_OF_SPEECH: "S",
    SpeechEventType.INTERIM_TRANSCRIPT: "I",
    SpeechEventType.RECOGNITION_USAGE: "U",
    SpeechEventType.FINAL_TRANSCRIPT: "F",
    SpeechEventType.END_OF_SPEECH: "E",
}


def assert_segments(events: list[SpeechEvent]) -> None:
    """STT-ORD-1: START (INTERIM)* [USAGE] FINAL END, repeated, maybe one unfinished."""
    letters = "".join(LETTERS[event.type] for event in events)
    assert SEGMENTS.fullmatch(letters), letters


# -- ProtocolError ---------------------------------------------------------------------------------


def test_protocol_errors_name_the_rule_and_the_state_and_pickle():
    error = LocalProtocolError("STT-C-3", "session.finalize was already sent", SessionState.OPEN)
    assert str(error) == "STT-C-3: session.finalize was already sent (state open)"
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.rule, copy.detail, copy.state) == (
        LocalProtocolError,
        "STT-C-3",
        error.detail,
        SessionState.OPEN,
    )


# -- ClientSession: STT-C-1 ------------------------------------------------------------------------


def test_stt_c_1_session_create_is_the_first_frame_and_is_sent_once():
    session = client(model="deepgram/nova-3", language="en")
    for action in (session.flush, session.end_input, session.close):
        with pytest.raises(LocalProtocolError) as caught:
            action()
        assert caught.value.rule == "STT-C-1"
    with pytest.raises(LocalProtocolError, match="STT-C-1"):
        session.push_audio(b"\x00\x00")
    frame = session.create()
    assert json.loads(frame)["settings"]["sample_rate"] == "16000"
    assert session.state is SessionState.OPEN
    with pytest.raises(LocalProtocolError) as caught:
        session.create()
    assert (caught.value.rule, caught.value.state) == ("STT-C-1", SessionState.OPEN)


def test_the_parts_must_run_at_the_session_s_rate():
    with pytest.raises(ValueError):
        ClientSession(session_create(sample_rate=16000), clock=Clock(), framer=AudioFramer(8000))
    with pytest.raises(ValueError):
        ClientSession(
            session_create(sample_rate=16000),
            clock=Clock(),
            tracker=SegmentTracker(sample_rate=24000),
        )


# -- STT-C-2: framing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "samples"), [(8000, 400), (16000, 800), (22050, 1102), (48000, 2400)]
)
def test_stt_c_2_a_frame_is_sample_rate_over_20_samples(rate, samples):
    assert frame_samples(rate) == samples
    assert AudioFramer(rate).frame_bytes == 2 * samples


def test_stt_c_2_one_second_in_10_ms_pushes_gives_20_frames_of_1600_bytes():
    # As captured: 1 s at 16 kHz pushed in 10 ms frames, 20 input_audio of 2136 base64 chars.
    session = opened()
    audio = bytes(range(256)) * 125
    frames = [f for i in range(0, len(audio), 320) for f in session.push_audio(audio[i : i + 320])]
    assert len(frames) == 20
    assert {len(json.loads(f)["audio"]) for f in frames} == {2136}
    assert pcm_of(frames) == audio
    assert session.end_input() == ['{"type": "session.finalize"}']


@settings(max_examples=120)
@given(
    st.sampled_from(RATES) | st.integers(20, 96000),
    st.lists(st.tuples(st.integers(0, 5000), st.booleans()), max_size=12),
    st.booleans(),
)
def test_stt_c_2_frames_are_exact_and_bytes_preserved_for_any_push_pattern(rate, pushes, whole):
    """Every pushed byte comes out once, in order; every frame is exactly rate//20 samples
    except one right before a flush or the finalize, which is shorter."""
    session = opened(rate)
    size = frame_samples(rate) * 2
    sent: list[str] = []
    pushed = b""
    for number, (length, then_flush) in enumerate(pushes):
        piece = bytes((number * 7 + i) % 251 for i in range(length))
        pushed += piece
        frames = session.push_audio(piece)
        assert all(len(base64.b64decode(json.loads(f)["audio"])) == size for f in frames)
        sent += frames
        if then_flush and len(pushed) % 2 == 0:
            flushed = session.flush()
            assert len(flushed) <= 1
            assert all(0 < len(pcm_of([f])) < size for f in flushed)
            sent += flushed
    if whole and len(pushed) % 2:
        pushed += b"\x00"
        sent += session.push_audio(b"\x00")
    if len(pushed) % 2:
        # Half a sample cannot be sent (STT-C-2): refused, and nothing is lost.
        with pytest.raises(LocalProtocolError, match="STT-C-2"):
            session.end_input()
        assert session.state is SessionState.OPEN
        pushed += b"\x01"
        sent += session.push_audio(b"\x01")
    *last, finalize = session.end_input()
    assert finalize == '{"type": "session.finalize"}'
    assert all(0 < len(pcm_of([f])) < size for f in last)
    sent += last
    assert pcm_of(sent) == pushed
    assert session.tracker.samples_sent == len(pushed) // 2
    assert session.framer.pending_bytes == 0


@settings(max_examples=60)
@given(st.sampled_from(RATES), st.lists(st.integers(0, 3000), max_size=8))
def test_the_framer_alone_keeps_every_byte_for_audio_frames_too(rate, lengths):
    framer = AudioFramer(rate)
    pushed, out = b"", []
    for length in lengths:
        frame = AudioFrame(bytes(length * 2), sample_rate=rate)
        pushed += frame.to_bytes()
        out += framer.push(frame)
    assert all(len(f) == framer.frame_bytes for f in out)
    rest = framer.flush()
    assert framer.flush() is None
    assert b"".join(out) + (rest or b"") == pushed


def test_stt_c_2_audio_frames_at_another_rate_are_refused():
    with pytest.raises(ValueError):
        opened(16000).push_audio(AudioFrame(bytes(320), sample_rate=48000))


# -- STT-C-3: finalize -----------------------------------------------------------------------------


def test_stt_c_3_finalize_is_sent_once_after_the_remainder_and_ends_audio():
    session = opened()
    assert session.push_audio(bytes(1000)) == []
    *remainder, finalize = session.end_input()
    assert pcm_of(remainder) == bytes(1000)
    assert finalize == '{"type": "session.finalize"}'
    assert session.state is SessionState.FINALIZING and session.input_ended
    for action in (session.end_input, session.flush):
        with pytest.raises(LocalProtocolError) as caught:
            action()
        assert caught.value.rule == "STT-C-3"
    with pytest.raises(LocalProtocolError, match="STT-C-3"):
        session.push_audio(bytes(2))


# -- STT-C-4: the close deadline -------------------------------------------------------------------


def test_stt_c_4_30_s_after_input_ended_when_no_final_was_seen():
    clock = Clock(5.0)
    session = ClientSession(session_create(), clock=clock)
    session.create()
    assert session.close_deadline is None
    session.end_input()
    assert session.close_deadline == 5.0 + FINALIZATION_TIMEOUT
    clock.now = 20.0
    session.receive(interim("still thinking"))  # a transcript pushes it back
    assert session.close_deadline == 20.0 + FINALIZATION_TIMEOUT
    clock.now = 49.9
    assert session.tick() == []
    clock.now = 50.0
    assert session.tick() == ['{"type": "session.close"}']
    assert session.state is SessionState.CLOSING
    assert session.close_deadline is None
    with pytest.raises(LocalProtocolError, match="STT-C-4"):
        session.close()
    session.receive_close(NORMAL_CLOSURE)  # the client's own close: clean
    assert session.state is SessionState.CLOSED


def test_stt_c_4_3_s_after_the_last_final_or_input_end_whichever_is_later():
    # As captured: a final at 0.83 s, input ends at 1.0 s, session.close at 4.0 s.
    clock = Clock()
    session = ClientSession(session_create(), clock=clock)
    session.create()
    clock.now = 0.83
    session.receive(final("hello world"))
    clock.now = 1.0
    session.end_input()
    assert session.close_deadline == 1.0 + FINAL_TRANSCRIPT_INACTIVITY_TIMEOUT
    clock.now = 2.0
    session.receive(SessionFinalized())  # the acknowledgement does not move it
    assert session.state is SessionState.FINALIZED
    assert session.close_deadline == 4.0
    session.receive(SessionCreated())
    clock.now = 3.0
    assert session.tick() == []
    clock.now = 4.0
    assert session.tick() == ['{"type": "session.close"}']


def test_stt_c_4_a_final_after_input_ended_shortens_the_wait_to_3_s():
    clock = Clock()
    session = ClientSession(session_create(), clock=clock, strict=False)
    session.create()
    session.end_input()
    clock.now = 7.0
    session.receive(final())
    assert session.close_deadline == 10.0


def test_no_deadline_once_the_session_is_over():
    session = opened()
    session.end_input()
    session.receive(SessionClosed())
    assert session.close_deadline is None
    assert session.tick() == []


# -- STT-C-5: update -------------------------------------------------------------------------------


def test_stt_c_5_update_sends_session_update_and_remembers_it_for_a_reconnect():
    session = opened(model="deepgram/nova-3", language="en", extra={"a": 1})
    frame = session.update(model="deepgram/nova-2", extra={"b": 2})
    assert json.loads(frame or "") == {
        "type": "session.update",
        "settings": {"model": "deepgram/nova-2", "extra": {"b": 2}},
    }
    assert session.update(language="fr") == (
        '{"type": "session.update", "settings": {"language": "fr"}}'
    )
    create = session.create_message
    assert (create.model, create.settings.language, create.settings.extra) == (
        "deepgram/nova-2",
        "fr",
        {"a": 1, "b": 2},
    )
    # The new language is the default of transcripts that name none (STT-ORD-5).
    (_, event, *_) = session.receive(final())
    assert event.alternatives[0].language == "fr"
    with pytest.raises(ValueError):
        session.update()


def test_stt_c_5_without_a_live_session_update_only_changes_the_next_create():
    session = client(model="deepgram/nova-3")
    assert session.update(model="auto", language="de") is None
    assert json.loads(session.create()) == {
        "settings": {
            "sample_rate": "16000",
            "encoding": "pcm_s16le",
            "extra": {},
            "language": "de",
        },
        "type": "session.create",
    }
    session.end_input()
    assert session.update(language="it") is not None  # still live after the finalize
    session.receive(SessionClosed())
    assert session.update(language="es") is None
    assert session.create_message.settings.language == "es"


# -- STT-END-1: how a stream ends ------------------------------------------------------------------


@pytest.mark.parametrize("state", ["connecting", "open"])
def test_stt_end_1_a_close_before_input_ended_is_a_retryable_status_error(state):
    session = client() if state == "connecting" else opened()
    with pytest.raises(APIStatusError) as caught:
        session.receive_close(1011)
    assert (caught.value.status_code, caught.value.retryable) == (1011, True)
    assert session.state is SessionState.CLOSED
    with pytest.raises(APIStatusError) as caught:
        opened().receive_close(None)
    assert caught.value.status_code == -1


def test_stt_end_1_a_close_after_input_ended_ends_the_stream_cleanly():
    session = opened()
    session.end_input()
    session.receive_close(NORMAL_CLOSURE)
    assert session.state is SessionState.CLOSED
    with pytest.raises(RemoteProtocolError, match="STT-END-1"):
        session.receive_frame(frame_of(final()))


def test_stt_end_1_session_closed_ends_cleanly_after_input_ended_only():
    session = opened()
    session.end_input()
    assert session.receive_frame(frame_of(SessionClosed())) == []
    assert session.state is SessionState.CLOSED
    session.receive_close(NORMAL_CLOSURE)  # the socket's close that follows
    with pytest.raises(APIStatusError) as caught:
        opened().receive(SessionClosed())
    assert (caught.value.status_code, caught.value.retryable) == (-1, True)


@pytest.mark.parametrize(
    ("code", "retryable"),
    [(400, False), (401, False), (404, False), (499, False), (408, True), (429, True),
     (500, True), (503, True), (-1, True), (0, True)],
)  # fmt: skip
def test_stt_end_1_an_error_message_is_an_api_status_error(code, retryable):
    session = opened()
    with pytest.raises(APIStatusError) as caught:
        session.receive_frame(frame_of(ErrorMessage(message="boom", code=code)))
    assert (caught.value.status_code, caught.value.retryable) == (code, retryable)
    assert is_retryable_error_code(code) is retryable
    assert caught.value.body == {"type": "error", "message": "boom", "code": code}
    assert "boom" in caught.value.message


# -- what the client accepts from the server -------------------------------------------------------


def test_stt_s_1_speech_before_session_create_was_sent_is_a_protocol_error():
    for message in (interim(), final(), StartOfSpeech()):
        session = client()
        with pytest.raises(RemoteProtocolError) as caught:
            session.receive(message)
        assert (caught.value.rule, caught.value.state) == ("STT-S-1", SessionState.CONNECTING)
    session = client()
    assert session.receive(SessionCreated(session_id="s")) == []  # harmless, and noted
    assert session.server_created


def test_stt_s_2_strict_order_of_the_acknowledgement():
    session = opened()
    with pytest.raises(RemoteProtocolError, match="STT-S-2"):
        session.receive(SessionFinalized())
    session.end_input()
    session.receive(final("pending"))
    session.receive(SessionFinalized())
    with pytest.raises(RemoteProtocolError) as caught:
        session.receive(final("late"))
    assert (caught.value.rule, caught.value.state) == ("STT-S-2", SessionState.FINALIZED)


def test_not_strict_accepts_an_early_acknowledgement_and_trailing_transcripts_as_upstream():
    session = opened(strict=False)
    assert session.receive(SessionFinalized()) == []
    assert session.state is SessionState.OPEN
    session.end_input()
    session.receive(SessionFinalized())
    events = session.receive(final("trailing"))
    assert [e.type for e in events][-2:] == [
        SpeechEventType.FINAL_TRANSCRIPT,
        SpeechEventType.END_OF_SPEECH,
    ]


def test_nothing_may_follow_session_closed():
    session = opened()
    session.end_input()
    session.receive(SessionClosed())
    with pytest.raises(RemoteProtocolError, match="STT-S-2"):
        session.receive(final())


def test_cli_rob_1_unknown_types_are_ignored_and_malformed_frames_are_protocol_errors():
    session = opened()
    assert session.receive_frame('{"type": "preflight_transcript", "transcript": "hi"}') == []
    for frame in (b"\x00", "nope", '{"type": "final_transcript", "transcript": 1}'):
        with pytest.raises(RemoteProtocolError) as caught:
            session.receive_frame(frame)
        assert caught.value.rule == "CLI-ROB-1"
        assert isinstance(caught.value.__cause__, MalformedMessage)
    assert session.state is SessionState.OPEN


def test_stt_usg_1_the_session_counts_the_audio_it_frames():
    session = opened()
    session.push_audio(bytes(3200 + 100))
    session.flush()
    events = session.receive(final())
    usage = events[1].recognition_usage
    assert usage is not None and usage.audio_duration == 1650 / 16000


# -- STT-RETRY-1 -----------------------------------------------------------------------------------


def test_stt_retry_1_reconnect_opens_a_new_session_that_continues_the_stream():
    first = opened(model="deepgram/nova-3")
    first.push_audio(bytes(16000 * 2 + 10))  # 1 s sent, 10 bytes held
    first.receive(interim("hel"))
    first.update(language="fr")
    with pytest.raises(APIStatusError):
        first.receive_close(1006)
    second = first.reconnect()
    assert second.state is SessionState.CONNECTING
    assert second.tracker is first.tracker and second.framer is first.framer
    assert second.tracker.offset == 1.0
    assert json.loads(second.create())["settings"]["language"] == "fr"
    # The held 10 bytes go out with the next frame; the open segment goes on.
    assert len(pcm_of(second.push_audio(bytes(1590)))) == 1600
    events = second.receive(final("hello", start=0.25))
    assert [e.type for e in events][1:] == [
        SpeechEventType.FINAL_TRANSCRIPT,
        SpeechEventType.END_OF_SPEECH,
    ]
    assert events[1].alternatives[0].start_time == 1.25


# -- ServerSession ---------------------------------------------------------------------------------


def server_open(rate: int = 16000) -> ServerSession:
    server = ServerSession()
    server.receive_frame(frame_of(session_create(sample_rate=rate, language="en")))
    return server


def test_stt_c_1_the_server_wants_session_create_first_and_once():
    server = ServerSession()
    with pytest.raises(RemoteProtocolError) as caught:
        server.receive_frame('{"type": "input_audio", "audio": ""}')
    assert (caught.value.rule, caught.value.state) == ("STT-C-1", SessionState.CONNECTING)
    with pytest.raises(RemoteProtocolError, match="STT-C-1"):
        server.receive_frame('{"type": "session.create", "settings": {"sample_rate": 16000}}')
    assert server.state is SessionState.CONNECTING  # still usable (STT-S-1)
    message = server.receive_frame(frame_of(session_create(sample_rate=24000)))
    assert message.type == "session.create"
    assert (server.state, server.sample_rate) == (SessionState.OPEN, 24000)
    with pytest.raises(RemoteProtocolError, match=r"a second session\.create"):
        server.receive_frame(frame_of(session_create()))


def test_stt_c_2_the_server_counts_audio_and_refuses_frames_no_client_may_send():
    server = server_open()
    server.receive_frame(frame_of(decode_client_message(opened().push_audio(bytes(1600))[0])))
    server.receive_frame('{"type": "input_audio", "audio": "' + "A" * 400 + '"}')  # short
    assert server.samples_received == 800 + 150
    assert server.audio_received == 950 / 16000
    for pcm, problem in ((bytes(1602), "longer than 50 ms"), (bytes(3), "not whole")):
        audio = base64.b64encode(pcm).decode()
        with pytest.raises(RemoteProtocolError, match=problem) as caught:
            server.receive_frame(json.dumps({"type": "input_audio", "audio": audio}))
        assert caught.value.rule == "STT-C-2"
    with pytest.raises(RemoteProtocolError, match="STT-C-2"):
        server.receive_frame('{"type": "input_audio", "audio": "!"}')
    assert server.samples_received == 950


def test_stt_c_3_the_server_refuses_audio_after_finalize_and_a_second_finalize():
    server = server_open()
    server.receive_frame('{"type": "session.finalize"}')
    assert server.state is SessionState.FINALIZING
    for frame in ('{"type": "input_audio", "audio": ""}', '{"type": "session.finalize"}'):
        with pytest.raises(RemoteProtocolError) as caught:
            server.receive_frame(frame)
        assert caught.value.rule == "STT-C-3"
    server.receive_frame('{"type": "session.update", "settings": {"language": "fr"}}')


def test_stt_c_4_after_session_close_the_server_closes_and_wants_nothing_more():
    server = server_open()
    assert server.close_code is None
    server.receive_frame('{"type": "session.close"}')
    assert server.close_code == NORMAL_CLOSURE
    with pytest.raises(RemoteProtocolError, match="STT-C-4"):
        server.receive_frame('{"type": "session.update", "settings": {}}')
    server.send(SessionClosed())  # allowed: the server's last word before the close
    server.connection_closed()
    assert server.state is SessionState.CLOSED


def test_stt_c_5_the_server_applies_updates():
    server = server_open()
    server.receive_frame(
        '{"type": "session.update", "settings": {"model": "m2", "extra": {"k": [1]}}}'
    )
    create = server.create_message
    assert create is not None
    assert (create.model, create.settings.language, create.settings.extra) == (
        "m2",
        "en",
        {"k": [1]},
    )


def test_stt_s_1_no_speech_before_session_create_and_bad_messages_answered_with_400():
    server = ServerSession()
    for message in (final(), interim(), StartOfSpeech()):
        with pytest.raises(LocalProtocolError) as caught:
            server.send(message)
        assert caught.value.rule == "STT-S-1"
    with pytest.raises(RemoteProtocolError) as caught:
        server.receive_frame("{not json")
    answer = json.loads(server.reject(caught.value))
    assert answer == {"type": "error", "message": str(caught.value), "code": 400}
    assert caught.value.rule == "STT-S-1"
    with pytest.raises(RemoteProtocolError) as caught:
        server.receive_frame('{"type": "session.keepalive"}')
    assert caught.value.rule == "STT-S-1"


def test_srv_3_a_binary_frame_is_its_own_rule():
    with pytest.raises(RemoteProtocolError) as caught:
        server_open().receive_frame(b"\x00\x01")
    assert caught.value.rule == "SRV-3"


def test_stt_s_2_after_finalize_pending_finals_then_finalized_then_close():
    server = server_open()
    with pytest.raises(LocalProtocolError, match="STT-S-2"):
        server.send(SessionFinalized())  # before session.finalize
    server.send(interim("a"))
    server.receive_frame('{"type": "session.finalize"}')
    server.send(final("a"))  # the pending final
    assert server.close_code is None
    assert server.send(SessionFinalized()) == '{"type": "session.finalized"}'
    assert server.close_code == NORMAL_CLOSURE
    for message in (final("late"), StartOfSpeech(), SessionFinalized()):
        with pytest.raises(LocalProtocolError) as caught:
            server.send(message)
        assert (caught.value.rule, caught.value.state) == ("STT-S-2", SessionState.FINALIZED)
    server.send(SessionClosed())  # allowed as well, as captured
    with pytest.raises(LocalProtocolError, match="STT-S-2"):
        server.send(ErrorMessage(message="x", code=500))
    # A client message in flight after session.closed is no fault of the client.
    server.receive_frame('{"type": "session.close"}')
    server.connection_closed()
    with pytest.raises(LocalProtocolError):
        server.send(SessionClosed())
    with pytest.raises(RemoteProtocolError):
        server.receive_frame('{"type": "session.close"}')


@settings(max_examples=150)
@given(
    st.lists(
        st.sampled_from(
            [
                '{"type": "session.finalize"}',
                '{"type": "session.close"}',
                '{"type": "input_audio", "audio": "AAAA"}',
                '{"type": "session.update", "settings": {"language": "x"}}',
                frame_of(session_create()),
            ]
        )
        | st.text(max_size=30)
        | st.binary(max_size=4),
        max_size=12,
    )
)
def test_any_client_frames_give_the_server_messages_or_remote_protocol_errors(frames):
    """SRV-1: whatever the client sends, the server machine raises only RemoteProtocolError,
    and an error leaves the state as it was (the socket stays usable, STT-S-1)."""
    server = ServerSession()
    for frame in frames:
        before = server.state
        try:
            server.receive_frame(frame)
        except RemoteProtocolError as error:
            assert error.rule in {
                "STT-C-1",
                "STT-C-2",
                "STT-C-3",
                "STT-C-4",
                "STT-C-5",
                "STT-S-1",
                "SRV-3",
            }
            assert server.state is before
            try:
                answer = server.reject(error)
            except LocalProtocolError:
                # Only once the server said its last word may it not answer.
                assert before in (SessionState.CLOSING, SessionState.CLOSED)
            else:
                assert json.loads(answer)["code"] == 400


# -- both machines together, and hostile scripts ---------------------------------------------------

server_messages = st.one_of(
    st.builds(
        InterimTranscript,
        transcript=st.sampled_from(["", "a", "ab"]),
        start=st.floats(0, 10),
        duration=st.floats(0, 2),
    ),
    st.builds(
        FinalTranscript,
        transcript=st.sampled_from(["", "a", "ab"]),
        start=st.floats(0, 10),
        duration=st.floats(0, 2),
    ),
    st.sampled_from([StartOfSpeech(), SessionCreated(), SessionFinalized(), SessionClosed()]),
    st.builds(ErrorMessage, message=st.just("e"), code=st.sampled_from([400, 429, 500])),
)
client_actions = st.sampled_from(
    ["create", "audio", "flush", "update", "end_input", "close", "tick", "close_socket"]
)
hostile_frames = (
    st.text(max_size=20)
    | st.binary(max_size=3)
    | st.sampled_from(
        ['{"type": "final_transcript"}', '{"type": "x"}', '{"type": "error", "code": "1"}', "[]"]
    )
)


@settings(max_examples=200)
@given(
    st.lists(
        st.one_of(server_messages.map(frame_of), client_actions, hostile_frames, st.floats(0, 40)),
        max_size=25,
    ),
    st.booleans(),
)
def test_any_script_gives_well_formed_events_or_the_documented_errors(script, strict):
    """Whatever the server sends and the client does, in any order: the client machine raises
    only RemoteProtocolError (the server broke the protocol), APIStatusError (STT-END-1) or
    LocalProtocolError (the client asked for something its state forbids), and every event it
    emits, across the whole script, forms well-formed segments (STT-ORD-1)."""
    clock = Clock()
    session = ClientSession(session_create(), clock=clock, strict=strict)
    events: list[SpeechEvent] = []
    for step in script:
        try:
            if isinstance(step, float):
                clock.now += step
            elif step == "create":
                session.create()
            elif step == "audio":
                session.push_audio(bytes(1000))
            elif step == "flush":
                session.flush()
            elif step == "update":
                session.update(language="fr")
            elif step == "end_input":
                session.end_input()
            elif step == "close":
                session.close()
            elif step == "tick":
                session.tick()
            elif step == "close_socket":
                session.receive_close(NORMAL_CLOSURE)
            else:
                events += session.receive_frame(step)
        except (RemoteProtocolError, LocalProtocolError) as error:
            assert re.fullmatch(r"(STT-(C|S|END)-\d|CLI-ROB-1)", error.rule)
        except APIStatusError:
            pass
    assert_segments(events)


speech = server_messages.filter(lambda m: isinstance(m, (InterimTranscript, FinalTranscript)))


@settings(max_examples=100)
@given(
    st.sampled_from(RATES),
    st.lists(
        st.one_of(
            st.integers(0, 4000),
            server_messages.filter(
                lambda m: not isinstance(m, (SessionClosed, ErrorMessage, SessionFinalized))
            ),
            st.just("update"),
            st.just("flush"),
        ),
        max_size=20,
    ),
    st.lists(speech, max_size=3),
)
def test_a_conforming_client_and_server_understand_each_other(rate, script, pending):
    """Every frame a ClientSession builds is accepted by a ServerSession, whose audio clock
    counts exactly the samples pushed; every frame the server may send reaches the client as
    well-formed segments; after the finalize come the pending finals, session.finalized and a
    clean close (STT-C-1..3, STT-C-5, STT-S-1..2, STT-END-1)."""
    clock = Clock()
    session = ClientSession(session_create(sample_rate=rate), clock=clock)
    server = ServerSession()
    events: list[SpeechEvent] = []

    def deliver(frames: list[str]) -> None:
        for frame in frames:
            assert server.receive_frame(frame) == decode_client_message(frame)

    def answer(message: InterimTranscript | FinalTranscript | StartOfSpeech) -> None:
        events.extend(session.receive_frame(server.send(message)))

    deliver([session.create()])
    pushed = 0
    for step in script:
        if isinstance(step, int):
            pushed += step * 2
            deliver(session.push_audio(bytes(step * 2)))
        elif step == "update":
            deliver([session.update(extra={"n": 1}) or ""])
        elif step == "flush":
            deliver(session.flush())
        else:
            answer(step)
    deliver(session.end_input())
    assert server.state is SessionState.FINALIZING
    for message in pending:
        answer(message)
    events += session.receive_frame(server.send(SessionFinalized()))
    assert server.samples_received * 2 == pushed
    assert session.tracker.samples_sent * 2 == pushed
    assert server.create_message is not None
    assert server.create_message.settings.extra == session.create_message.settings.extra
    assert server.close_code == NORMAL_CLOSURE
    session.receive_close(server.close_code)  # clean: no error
    server.connection_closed()
    assert_segments(events)
    finals = [e for e in events if e.type is SpeechEventType.FINAL_TRANSCRIPT]
    assert len(finals) == sum(isinstance(s, FinalTranscript) for s in [*script, *pending])
