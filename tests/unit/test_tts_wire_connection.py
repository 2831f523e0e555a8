"""The TTS connection state machines: one session.create per connection, then syntheses of
input_transcript* and one session.flush answered by output_audio/output_alignment* and done
(TTS-C-1..3, TTS-S-1..2); the pool's view of a connection (idle since, reusable, TTS-C-3); the
failures of TTS-OUT-2; hostile frames giving protocol errors and nothing else (CLI-ROB-1,
SRV-1, SRV-3)."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from voicewire.reference.tts.wire import (
    TTS_MAX_IDLE,
    InputTranscript,
    LocalProtocolError,
    MalformedMessage,
    OutputAlignment,
    OutputAudio,
    RemoteProtocolError,
    SessionFlush,
    SynthesisDone,
    SynthesisFailure,
    SynthesizedAudio,
    TTSClientConnection,
    TTSConnectionState,
    TTSErrorMessage,
    TTSServerConnection,
    TTSSessionClosed,
    TTSSessionCreated,
    decode_tts_client_message,
    encode_tts_message,
    input_transcript,
    tts_session_create,
)


class Clock:
    """A hand-driven clock: the machines read time only through it."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def client(clock: Clock | None = None, **options: object) -> TTSClientConnection:
    return TTSClientConnection(tts_session_create(**options), clock=clock or Clock(), strict=True)


def audio_frame(pcm: bytes, session_id: str | None = "sess") -> str:
    return encode_tts_message(OutputAudio.from_pcm(pcm, session_id=session_id))


DONE = '{"type": "done", "session_id": "sess"}'


def synthesize(connection: TTSClientConnection, *sentences: str) -> list[str]:
    connection.start_synthesis()
    return [*(connection.push_text(s) for s in sentences), connection.flush()]


# -- the client connection (TTS-C-1..3) ------------------------------------------------------------


def test_tts_c_1_session_create_is_sent_once_per_connection_not_per_synthesis():
    connection = client(voice="v", model="cartesia/sonic-3")
    frame = connection.create()
    assert json.loads(frame)["type"] == "session.create"
    assert connection.sample_rate == 24000
    sent = []
    for _ in range(3):
        sent += synthesize(connection, "Hello.")
        connection.receive_frame(audio_frame(b"\x00\x00"))
        connection.receive_frame(DONE)
    assert [json.loads(f)["type"] for f in sent] == ["input_transcript", "session.flush"] * 3
    assert connection.syntheses == 3
    with pytest.raises(LocalProtocolError) as caught:
        connection.create()
    assert caught.value.rule == "TTS-C-1"


def test_tts_c_1_nothing_goes_before_session_create():
    connection = client()
    for act in (connection.start_synthesis, connection.flush, lambda: connection.push_text("a")):
        with pytest.raises(LocalProtocolError) as caught:
            act()
        assert caught.value.rule == "TTS-C-1"
    assert connection.state is TTSConnectionState.CONNECTING
    with pytest.raises(RemoteProtocolError):
        connection.receive_frame(DONE)


def test_tts_c_2_each_sentence_goes_with_its_trailing_space_and_the_options_in_force():
    connection = client()
    connection.create()
    connection.start_synthesis()
    frame = connection.push_text("Hi there.", voice="v2", language="en", extra={"speed": 1})
    message = decode_tts_client_message(frame)
    assert isinstance(message, InputTranscript)
    assert message.transcript == "Hi there. "
    assert message.generation_config.voice == "v2"
    assert message.extra == {"speed": 1}
    assert connection.send_transcript(input_transcript("Bye.")).startswith(
        '{"type": "input_transcript"'
    )


def test_tts_c_3_exactly_one_flush_and_no_input_after_it():
    connection = client()
    connection.create()
    connection.start_synthesis()
    assert connection.flush() == '{"type": "session.flush"}'
    assert connection.state is TTSConnectionState.FLUSHED
    for act in (connection.flush, lambda: connection.push_text("late")):
        with pytest.raises(LocalProtocolError) as caught:
            act()
        assert caught.value.rule == "TTS-C-3"
    with pytest.raises(LocalProtocolError) as caught:
        connection.start_synthesis()
    assert caught.value.rule == "TTS-C-3"
    assert connection.state is TTSConnectionState.FLUSHED


def test_tts_c_3_input_needs_a_synthesis_started():
    connection = client()
    connection.create()
    with pytest.raises(LocalProtocolError) as caught:
        connection.push_text("a")
    assert caught.value.rule == "TTS-C-3"


def test_tts_c_3_an_idle_connection_is_reusable_for_300_seconds_since_it_became_idle():
    clock = Clock(100.0)
    connection = client(clock)
    assert not connection.reusable
    assert connection.idle_since is None
    connection.create()
    assert connection.idle_since == 100.0
    assert connection.reusable
    clock.now = 150.0
    synthesize(connection, "Hello.")
    assert connection.in_synthesis
    assert not connection.reusable
    assert connection.idle_since is None
    clock.now = 160.0
    outputs = connection.receive_frame(audio_frame(b"\x01\x00"))
    outputs += connection.receive_frame(DONE)
    assert [o.is_final for o in outputs if isinstance(o, SynthesizedAudio)] == [True]
    assert not connection.in_synthesis
    assert connection.idle_since == 160.0
    clock.now = 160.0 + TTS_MAX_IDLE
    assert connection.reusable
    clock.now = 160.0 + TTS_MAX_IDLE + 0.001
    assert not connection.reusable


def test_tts_s_1_the_client_refuses_output_outside_a_synthesis_and_done_before_flush():
    connection = client()
    connection.create()
    for frame in (audio_frame(b"\x00\x00"), DONE):
        with pytest.raises(RemoteProtocolError) as caught:
            connection.receive_frame(frame)
        assert caught.value.rule == "TTS-S-1"
        assert caught.value.state is TTSConnectionState.IDLE
    connection.start_synthesis()
    connection.push_text("a")
    assert connection.receive_frame(audio_frame(b"\x00\x00")) == []  # streaming: before flush
    with pytest.raises(RemoteProtocolError) as caught:
        connection.receive_frame(DONE)
    assert caught.value.rule == "TTS-S-1"
    assert "before session.flush" in str(caught.value)
    with pytest.raises(RemoteProtocolError) as caught:
        connection.receive_frame(audio_frame(b"\x00\x00", session_id=None))
    assert caught.value.rule == "TTS-S-1"
    assert caught.value.state is TTSConnectionState.SYNTHESIZING


def test_session_created_and_unknown_types_are_taken_quietly():
    connection = client()
    connection.create()
    assert connection.receive_frame('{"type": "session.created", "session_id": "s0"}') == []
    assert connection.server_session_id == "s0"
    assert connection.receive_frame('{"type": "output_visemes", "x": 1}') == []
    assert connection.state is TTSConnectionState.IDLE


@pytest.mark.parametrize(
    "frame",
    [b"\x00", "not json", "[]", '{"type": "output_audio", "audio": 5, "session_id": "s"}'],
)
def test_cli_rob_1_a_malformed_frame_is_a_remote_protocol_error_with_its_cause(frame):
    connection = client()
    connection.create()
    synthesize(connection)
    with pytest.raises(RemoteProtocolError) as caught:
        connection.receive_frame(frame)
    assert caught.value.rule == "CLI-ROB-1"
    assert isinstance(caught.value.__cause__, MalformedMessage)
    assert connection.state is TTSConnectionState.FLUSHED
    connection.abandon()
    assert connection.state is TTSConnectionState.FAILED
    assert not connection.reusable


def test_tts_out_2_an_error_fails_the_synthesis_and_the_connection():
    connection = client()
    connection.create()
    synthesize(connection, "a")
    [failure] = connection.receive_frame('{"type": "error", "message": "overloaded"}')
    assert isinstance(failure, SynthesisFailure)
    assert failure.to_exception().retryable
    assert connection.state is TTSConnectionState.FAILED
    assert not connection.reusable
    with pytest.raises(LocalProtocolError) as caught:
        connection.start_synthesis()
    assert caught.value.rule == "TTS-OUT-2"


def test_tts_out_2_a_close_or_timeout_mid_synthesis_is_a_failure_and_idle_it_is_not():
    connection = client()
    connection.create()
    synthesize(connection, "a")
    [failure] = connection.receive_close(1006)
    assert failure.to_exception().status_code == 1006
    assert connection.state is TTSConnectionState.CLOSED
    with pytest.raises(RemoteProtocolError):
        connection.receive_frame(DONE)
    idle = client()
    idle.create()
    assert idle.timed_out(10.0) == []
    assert idle.receive_close(1000) == []
    timing_out = client()
    timing_out.create()
    synthesize(timing_out)
    [failure] = timing_out.timed_out(10.0)
    assert failure.kind.value == "timeout"
    assert timing_out.state is TTSConnectionState.FAILED


def test_between_syntheses_session_closed_ends_and_error_spoils_the_connection():
    closed = client()
    closed.create()
    assert closed.receive(TTSSessionClosed()) == []
    assert closed.state is TTSConnectionState.CLOSED
    spoiled = client()
    spoiled.create()
    assert spoiled.receive(TTSErrorMessage(message="bye")) == []
    assert spoiled.state is TTSConnectionState.FAILED
    assert not spoiled.reusable


# -- the server connection (TTS-C-1..3 as the server sees them, TTS-S-1) ---------------------------


def server_after_create() -> TTSServerConnection:
    server = TTSServerConnection(session_id="sess")
    server.receive_frame(encode_tts_message(tts_session_create(sample_rate=16000)))
    return server


def test_the_server_follows_a_connection_of_two_syntheses():
    server = server_after_create()
    assert server.sample_rate == 16000
    assert json.loads(server.created()) == {"type": "session.created", "session_id": "sess"}
    for sentences in (["One. ", "Two. "], []):
        for sentence in sentences:
            server.receive(
                InputTranscript.model_validate(
                    {"transcript": sentence, "generation_config": {}, "extra": {}}
                )
            )
        server.receive(SessionFlush())
        assert server.input_ended
        assert server.transcripts == tuple(sentences)
        frame = json.loads(server.output_audio(b"\x00\x00"))
        assert frame["session_id"] == "sess"
        server.send(OutputAlignment(chars=()))
        assert json.loads(server.done()) == {"type": "done", "session_id": "sess"}
        assert server.state is TTSConnectionState.IDLE
    assert server.syntheses == 2


@pytest.mark.parametrize(
    ("frames", "rule"),
    [
        (['{"type": "session.flush"}'], "TTS-C-1"),
        (
            [
                '{"type": "input_transcript", "transcript": "a ", "generation_config": {}, '
                '"extra": {}}'
            ],
            "TTS-C-1",
        ),
        (["CREATE", "CREATE"], "TTS-C-1"),
        (["CREATE", '{"type": "session.flush"}', '{"type": "session.flush"}'], "TTS-C-3"),
        (
            [
                "CREATE",
                '{"type": "session.flush"}',
                '{"type": "input_transcript", "transcript": "a ", "generation_config": {}, '
                '"extra": {}}',
            ],
            "TTS-C-3",
        ),
        (["CREATE", '{"type": "input_transcript", "transcript": 3}'], "TTS-C-2"),
        (['{"type": "session.create", "sample_rate": 24000}'], "TTS-C-1"),
        (["CREATE", '{"type": "done"}'], "SRV-1"),
        (["CREATE", "{oops"], "SRV-1"),
        (["CREATE", b"binary"], "SRV-3"),
    ],
)
def test_the_server_refuses_out_of_order_and_malformed_client_messages_by_rule(frames, rule):
    server = TTSServerConnection(session_id="sess")
    create = encode_tts_message(tts_session_create())
    *ok, bad = [create if frame == "CREATE" else frame for frame in frames]
    for frame in ok:
        server.receive_frame(frame)
    state = server.state
    with pytest.raises(RemoteProtocolError) as caught:
        server.receive_frame(bad)
    assert caught.value.rule == rule
    assert server.state is state
    answer = json.loads(server.reject(caught.value))
    assert answer["type"] == "error"
    assert answer["code"] == 400
    assert answer["message"].startswith(rule)
    assert server.state is state


@pytest.mark.parametrize(
    ("setup", "message", "detail"),
    [
        ([], OutputAudio.from_pcm(b"\x00\x00", session_id="sess"), "no synthesis"),
        (["create"], OutputAudio.from_pcm(b"\x00\x00", session_id="sess"), "no synthesis"),
        (["create"], SynthesisDone(session_id="sess"), "none is in progress"),
        (["create", "text"], SynthesisDone(session_id="sess"), "session.flush"),
        (["create", "text"], OutputAudio.from_pcm(b"\x00\x00", session_id=None), "session_id"),
        (["create", "flush"], SynthesisDone(session_id=None), "session_id"),
        (["create", "flush", "done"], SynthesisDone(session_id="sess"), "none is in progress"),
        (["create", "closed"], OutputAudio.from_pcm(b"", session_id="sess"), "closed"),
        ([], TTSSessionCreated(session_id="sess"), "session.created"),
        (["create", "created"], TTSSessionCreated(session_id="sess"), "once"),
    ],
)
def test_tts_s_1_the_server_refuses_to_build_what_breaks_the_protocol(setup, message, detail):
    server = TTSServerConnection(session_id="sess")
    steps = {
        "create": lambda: server.receive(tts_session_create()),
        "text": lambda: server.receive(input_transcript("a")),
        "flush": lambda: server.receive(SessionFlush()),
        "done": server.done,
        "closed": lambda: server.send(TTSSessionClosed()),
        "created": server.created,
    }
    for step in setup:
        steps[step]()
    state = server.state
    with pytest.raises(LocalProtocolError) as caught:
        server.send(message)
    assert caught.value.rule in ("TTS-S-1", "TTS-C-1")
    assert detail in str(caught.value)
    assert server.state is state


def test_an_error_ends_the_servers_synthesis_and_reject_does_not():
    server = server_after_create()
    server.receive(input_transcript("a"))
    server.reject(MalformedMessage("bad"))
    assert server.in_synthesis
    server.send(TTSErrorMessage(message="upstream failed", code=500))
    assert server.state is TTSConnectionState.IDLE
    server.send(TTSSessionClosed())
    server.receive(SessionFlush())  # in flight after session.closed: ignored
    assert server.state is TTSConnectionState.CLOSING
    server.connection_closed()
    with pytest.raises(RemoteProtocolError):
        server.receive(SessionFlush())


def test_a_server_needs_a_session_id():
    with pytest.raises(ValueError):
        TTSServerConnection(session_id="")


# -- properties ------------------------------------------------------------------------------------

# Client messages c(reate), t(ranscript), f(lush) and the server's d(one): every well-formed
# connection so far spells a word of this prefix-closed language.
WELL_FORMED = re.compile(r"c(t*fd)*t*f?")
CLIENT_FRAMES = {
    "c": encode_tts_message(tts_session_create()),
    "t": encode_tts_message(input_transcript("Hello.")),
    "f": encode_tts_message(SessionFlush()),
}


@settings(max_examples=400)
@given(st.lists(st.sampled_from("ctfd"), max_size=14))
def test_the_server_accepts_exactly_the_well_formed_sequences(letters):
    """A refused message changes nothing, so the messages taken so far must always spell a
    word of ``c(t*fd)*t*f?``, and each refusal must be a message that would break it: client
    messages by the rule of TTS-C-1/TTS-C-3, the server's own ``done`` by TTS-S-1."""
    server = TTSServerConnection(session_id="sess")
    accepted = ""
    for letter in letters:
        try:
            if letter == "d":
                server.done()
            else:
                server.receive_frame(CLIENT_FRAMES[letter])
        except LocalProtocolError as error:
            assert letter == "d"
            assert error.rule == "TTS-S-1"
            assert not WELL_FORMED.fullmatch(accepted + letter)
            continue
        except RemoteProtocolError as error:
            assert letter != "d"
            assert error.rule in ("TTS-C-1", "TTS-C-3")
            assert not WELL_FORMED.fullmatch(accepted + letter)
            continue
        accepted += letter
        assert WELL_FORMED.fullmatch(accepted)
        # A synthesis is in progress from its first input to its done.
        assert server.in_synthesis == accepted.endswith(("t", "f"))


@settings(max_examples=100)
@given(
    st.lists(
        st.lists(st.binary(max_size=40).map(lambda b: b[: len(b) // 2 * 2]), max_size=4),
        min_size=1,
        max_size=3,
    ),
)
def test_client_and_server_connections_agree_over_many_syntheses(syntheses):
    """Frames the client connection builds are what the server connection accepts, and the
    server's audio comes out of the client exactly, one final per synthesis."""
    clock = Clock()
    connection = TTSClientConnection(tts_session_create(sample_rate=8000), clock=clock)
    server = TTSServerConnection(session_id="sess")
    server.receive_frame(connection.create())
    for chunks in syntheses:
        connection.start_synthesis(frame_duration=0.001)
        server.receive_frame(connection.push_text("Hello."))
        server.receive_frame(connection.flush())
        outputs = []
        for chunk in chunks:
            outputs += connection.receive_frame(server.output_audio(chunk))
        outputs += connection.receive_frame(server.done())
        frames = [o for o in outputs if isinstance(o, SynthesizedAudio)]
        assert b"".join(f.frame.to_bytes() for f in frames) == b"".join(chunks)
        assert [f.is_final for f in frames].count(True) == 1
        assert frames[-1].is_final
        assert connection.reusable
        assert server.state is TTSConnectionState.IDLE


@settings(max_examples=200)
@given(st.text(max_size=60) | st.binary(max_size=10), st.sampled_from(["idle", "synth", "flushed"]))
def test_cli_rob_1_any_frame_gives_outputs_or_a_remote_protocol_error(frame, where):
    connection = client()
    connection.create()
    if where != "idle":
        connection.start_synthesis()
    if where == "flushed":
        connection.flush()
    try:
        connection.receive_frame(frame)
    except RemoteProtocolError as error:
        assert str(error)
