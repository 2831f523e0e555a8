"""The STT wire module's messages and codec: frames exactly as the upstream client writes them
(STT-C-1..5), every message round-trips, and hostile frames raise MalformedMessage naming
where, and nothing else (CLI-ROB-1, STT-S-1)."""

from __future__ import annotations

import base64
import json
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from voicewire.reference.stt.wire.messages import (
    CLIENT_MESSAGE_TYPES,
    SERVER_MESSAGE_TYPES,
    ConnectionSettings,
    CreateSettings,
    ErrorMessage,
    FallbackModel,
    FinalTranscript,
    InputAudio,
    InterimTranscript,
    MalformedMessage,
    SessionClose,
    SessionClosed,
    SessionCreate,
    SessionCreated,
    SessionFinalize,
    SessionFinalized,
    SessionUpdate,
    StartOfSpeech,
    TranscriptWord,
    UnknownMessageType,
    UpdateSettings,
    decode_client_message,
    decode_server_message,
    encode_message,
    session_create,
)

# The session.create of wire-capture.md §3, byte for byte (deepgram/nova-3, language "en").
CAPTURED_CREATE = (
    '{"settings": {"sample_rate": "16000", "encoding": "pcm_s16le", "extra": {"keyterm": []}, '
    '"language": "en"}, "model": "deepgram/nova-3", "connection": {"timeout": 10.0, '
    '"retries": 3}, "type": "session.create"}'
)

# -- strategies ----------------------------------------------------------------------------------

texts = st.text(max_size=12)
times = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
probabilities = st.floats(min_value=0, max_value=1, allow_nan=False)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(texts, json_values, max_size=3)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


words = st.builds(
    TranscriptWord,
    word=texts,
    start=times,
    end=times,
    confidence=optional(probabilities),
    speaker_id=optional(texts),
)


def transcripts(cls: type[InterimTranscript] | type[FinalTranscript]) -> st.SearchStrategy[Any]:
    return st.builds(
        cls,
        transcript=texts,
        start=times,
        duration=times,
        language=optional(texts),
        confidence=optional(probabilities),
        request_id=optional(texts),
        words=optional(st.lists(words, max_size=3).map(tuple)),
        speaker_id=optional(texts),
        extra=optional(json_objects),
    )


client_messages = st.one_of(
    st.builds(
        session_create,
        sample_rate=st.integers(1, 999_999),
        model=optional(texts),
        language=optional(texts),
        extra=optional(json_objects),
        connection=optional(
            st.builds(ConnectionSettings, timeout=times, retries=st.integers(0, 100))
        ),
        fallback=st.lists(
            st.builds(FallbackModel, model=texts, extra=optional(json_objects)), max_size=2
        ),
    ),
    st.binary(max_size=64).map(InputAudio.from_pcm),
    st.builds(
        SessionUpdate,
        settings=st.builds(
            UpdateSettings,
            model=optional(texts),
            language=optional(texts),
            extra=optional(json_objects),
        ),
    ),
    st.just(SessionFinalize()),
    st.just(SessionClose()),
)
server_messages = st.one_of(
    st.builds(SessionCreated, session_id=optional(texts)),
    st.just(StartOfSpeech()),
    transcripts(InterimTranscript),
    transcripts(FinalTranscript),
    st.just(SessionFinalized()),
    st.just(SessionClosed()),
    st.builds(ErrorMessage, message=texts, code=st.integers(-(10**6), 10**6)),
)


def malformed(frame: str | bytes, decode: Any = decode_server_message) -> MalformedMessage:
    with pytest.raises(MalformedMessage) as caught:
        decode(frame)
    return caught.value


# -- STT-C-1: session.create -------------------------------------------------------------------


def test_stt_c_1_session_create_is_the_captured_frame_byte_for_byte():
    create = session_create(
        sample_rate=16000,
        model="deepgram/nova-3",
        language="en",
        extra={"keyterm": []},
        connection=ConnectionSettings(timeout=10.0, retries=3),
    )
    assert encode_message(create) == CAPTURED_CREATE
    assert decode_client_message(CAPTURED_CREATE) == create
    assert create.sample_rate == 16000


@pytest.mark.parametrize("model", [None, "", "auto"])
def test_stt_c_1_model_is_left_out_when_unset_or_auto_and_language_when_unset(model):
    frame = json.loads(encode_message(session_create(sample_rate=24000, model=model)))
    assert frame == {
        "settings": {"sample_rate": "24000", "encoding": "pcm_s16le", "extra": {}},
        "type": "session.create",
    }


def test_stt_c_1_fallback_models_keep_a_null_extra_as_upstream_sends_it():
    create = session_create(fallback=[FallbackModel(model="a"), FallbackModel(model="b", extra={})])
    assert json.loads(encode_message(create))["fallback"] == {
        "models": [{"model": "a", "extra": None}, {"model": "b", "extra": {}}]
    }


@pytest.mark.parametrize(
    ("sample_rate", "problem"),
    [
        (16000, "Input should be a valid string"),  # the integer of a broken client
        ("16000.0", "should match pattern"),
        ("016000", "should match pattern"),
        ("", "should match pattern"),
        ("1" * 5000, "should match pattern"),
        (None, "Input should be a valid string"),
    ],
)
def test_stt_c_1_sample_rate_must_be_a_string_of_digits(sample_rate, problem):
    frame = json.dumps(
        {
            "type": "session.create",
            "settings": {"sample_rate": sample_rate, "encoding": "pcm_s16le", "extra": {}},
        }
    )
    error = malformed(frame, decode_client_message)
    assert error.where == "settings.sample_rate"
    assert error.message_type == "session.create"
    assert problem in error.what


@pytest.mark.parametrize(
    ("settings_", "where"),
    [
        ({"sample_rate": "16000", "extra": {}}, "settings.encoding"),
        ({"sample_rate": "16000", "encoding": "opus", "extra": {}}, "settings.encoding"),
        ({"sample_rate": "16000", "encoding": "pcm_s16le"}, "settings.extra"),
        ({"sample_rate": "16000", "encoding": "pcm_s16le", "extra": []}, "settings.extra"),
        (
            {"sample_rate": "16000", "encoding": "pcm_s16le", "extra": {}, "language": 1},
            "settings.language",
        ),
    ],
)
def test_stt_c_1_settings_have_their_exact_keys_and_types(settings_, where):
    frame = json.dumps({"type": "session.create", "settings": settings_})
    assert malformed(frame, decode_client_message).where == where


def test_session_create_builder_refuses_what_cannot_be_a_rate():
    with pytest.raises(TypeError):
        session_create(sample_rate=True)
    with pytest.raises(TypeError):
        session_create(sample_rate=16000.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        session_create(sample_rate=0)


# -- STT-C-2..5: the other client messages -----------------------------------------------------


def test_stt_c_2_input_audio_is_base64_of_the_pcm():
    pcm = bytes(range(256)) * 6 + b"\x00" * 64  # 1600 bytes: 50 ms at 16 kHz
    message = InputAudio.from_pcm(pcm)
    frame = encode_message(message)
    assert frame == '{"type": "input_audio", "audio": "' + base64.b64encode(pcm).decode() + '"}'
    assert len(json.loads(frame)["audio"]) == 2136  # as captured
    assert decode_client_message(frame).pcm == pcm


@pytest.mark.parametrize("audio", ["abc", "YW=J", "YWJj\nZA==", "****", 12, None])
def test_stt_c_2_input_audio_must_be_strict_base64(audio):
    error = malformed(json.dumps({"type": "input_audio", "audio": audio}), decode_client_message)
    assert (error.message_type, error.where) == ("input_audio", "audio")


def test_stt_c_3_c_4_c_5_finalize_close_and_update_frames():
    assert encode_message(SessionFinalize()) == '{"type": "session.finalize"}'
    assert encode_message(SessionClose()) == '{"type": "session.close"}'
    update = SessionUpdate(settings=UpdateSettings(model="deepgram/nova-3", language="fr"))
    # model inside settings here, unlike session.create (STT-C-5).
    assert json.loads(encode_message(update)) == {
        "type": "session.update",
        "settings": {"model": "deepgram/nova-3", "language": "fr"},
    }
    assert decode_client_message(encode_message(update)) == update


# -- server messages -----------------------------------------------------------------------------


def test_a_captured_final_decodes_with_every_field_and_unknown_keys_ignored():
    frame = json.dumps(
        {
            "type": "final_transcript",
            "transcript": "hello world",
            "language": "en",
            "start": 0,
            "duration": 0.8,
            "confidence": 0.97,
            "request_id": "stt_req_1",
            "words": [
                {"word": "hello", "start": 0, "end": 0.35, "confidence": 0.9},
                {"word": "world", "start": 0.4, "end": 0.8, "speaker_id": "s1", "new": 1},
            ],
            "speaker_id": "s1",
            "extra": {"provider": {"x": 1}},
            "a_future_key": [1, 2],
        }
    )
    message = decode_server_message(frame)
    assert isinstance(message, FinalTranscript)
    assert message.transcript == "hello world"
    assert (message.start, message.duration, message.end) == (0.0, 0.8, 0.8)
    assert [w.word for w in message.words or ()] == ["hello", "world"]
    assert message.words is not None and message.words[1].speaker_id == "s1"
    assert message.extra == {"provider": {"x": 1}}


def test_optional_transcript_fields_are_absent_when_not_sent():
    message = decode_server_message(
        '{"type":"interim_transcript","transcript":"","start":1,"duration":0}'
    )
    assert isinstance(message, InterimTranscript)
    assert (message.language, message.confidence, message.request_id, message.words) == (
        None,
        None,
        None,
        None,
    )
    assert encode_message(message) == (
        '{"type": "interim_transcript", "transcript": "", "start": 1.0, "duration": 0.0}'
    )


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        ({"transcript": 1, "start": 0, "duration": 0}, "transcript"),
        ({"start": 0, "duration": 0}, "transcript"),
        ({"transcript": "a", "duration": 0}, "start"),
        ({"transcript": "a", "start": "0", "duration": 0}, "start"),
        ({"transcript": "a", "start": True, "duration": 0}, "start"),
        ({"transcript": "a", "start": -1, "duration": 0}, "start"),
        ({"transcript": "a", "start": 10**400, "duration": 0}, "start"),
        ({"transcript": "a", "start": 0, "duration": -0.5}, "duration"),
        ({"transcript": "a", "start": 0, "duration": 0, "confidence": 1.5}, "confidence"),
        ({"transcript": "a", "start": 0, "duration": 0, "language": None, "extra": []}, "extra"),
        ({"transcript": "a", "start": 0, "duration": 0, "words": {}}, "words"),
        ({"transcript": "a", "start": 0, "duration": 0, "words": [1]}, "words[0]"),
        (
            {"transcript": "a", "start": 0, "duration": 0, "words": [{"word": "a", "start": 0}]},
            "words[0].end",
        ),
        ({"transcript": "a", "start": 0, "duration": 0, "speaker_id": 3}, "speaker_id"),
    ],
)
def test_transcript_fields_of_the_wrong_type_or_range_are_named(payload, where):
    error = malformed(json.dumps({"type": "final_transcript", **payload}))
    assert (error.message_type, error.where) == ("final_transcript", where)
    assert str(error).startswith(f"final_transcript: {where}: ")


def test_an_error_needs_its_message_and_integer_code():
    assert decode_server_message('{"type":"error","message":"bad","code":400}') == ErrorMessage(
        message="bad", code=400
    )
    assert malformed('{"type":"error","message":"bad"}').where == "code"
    assert malformed('{"type":"error","message":"bad","code":"400"}').where == "code"


# -- hostile frames ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "what"),
    [
        (b'{"type":"session.created"}', "a binary frame"),
        ("", "not valid JSON"),
        ("{", "not valid JSON"),
        ('{"type":"error","message":"m","code":NaN}', "NaN is not JSON"),
        ('{"type":"final_transcript","transcript":"","start":Infinity,"duration":0}', "Infinity"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"start": ' + "1" * 5000 + "}", "not valid JSON"),
        ("[]", "expected a JSON object, got an array"),
        ('"session.created"', "expected a JSON object"),
        ("null", "expected a JSON object, got null"),
    ],
)
def test_frames_that_are_no_json_object_are_malformed(frame, what):
    error = malformed(frame)
    assert what in error.what
    assert error.message_type is None


def test_a_missing_or_non_string_type_is_named():
    assert (malformed("{}").where, malformed("{}").what) == ("type", "missing")
    assert malformed('{"type": 3}').where == "type"


def test_an_unknown_type_is_its_own_malformed_message():
    error = malformed('{"type":"preflight_transcript","transcript":"hi"}')
    assert isinstance(error, UnknownMessageType)
    assert error.unknown_type == "preflight_transcript"
    # Each direction knows only its own types.
    with pytest.raises(UnknownMessageType):
        decode_server_message(encode_message(SessionFinalize()))
    with pytest.raises(UnknownMessageType):
        decode_client_message(encode_message(SessionFinalized()))


def test_malformed_messages_pickle_as_themselves():
    for error in (
        MalformedMessage("bad", where="a.b", message_type="error"),
        UnknownMessageType("x"),
    ):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert str(copy) == str(error)
        assert (copy.what, copy.where, copy.message_type) == (
            error.what,
            error.where,
            error.message_type,
        )


def test_encode_refuses_what_is_not_a_message():
    with pytest.raises(TypeError):
        encode_message({"type": "session.finalize"})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        decode_server_message(None)  # type: ignore[arg-type]


def test_the_type_tables_name_each_class_by_its_wire_type():
    for table in (CLIENT_MESSAGE_TYPES, SERVER_MESSAGE_TYPES):
        for name, cls in table.items():
            assert cls.model_fields["type"].default == name


@given(client_messages)
def test_every_client_message_round_trips(message):
    frame = encode_message(message)
    assert decode_client_message(frame) == message
    assert encode_message(decode_client_message(frame)) == frame


@given(server_messages)
def test_every_server_message_round_trips(message):
    frame = encode_message(message)
    assert decode_server_message(frame) == message
    assert encode_message(decode_server_message(frame)) == frame


def only_malformed(frame: str | bytes) -> None:
    """CLI-ROB-1 / STT-S-1: whatever the frame, decoding gives a message or MalformedMessage."""
    for decode in (decode_client_message, decode_server_message):
        try:
            decode(frame)
        except MalformedMessage as error:
            assert str(error)


@settings(max_examples=150)
@given(st.text(max_size=80) | st.binary(max_size=20))
def test_arbitrary_text_gives_a_message_or_malformed_message_and_nothing_else(frame):
    only_malformed(frame)


@settings(max_examples=150)
@given(json_values)
def test_arbitrary_json_gives_a_message_or_malformed_message_and_nothing_else(value):
    only_malformed(json.dumps(value))


@settings(max_examples=200)
@given(
    st.sampled_from(sorted({*CLIENT_MESSAGE_TYPES, *SERVER_MESSAGE_TYPES})),
    st.dictionaries(
        st.sampled_from(
            [
                "transcript",
                "start",
                "duration",
                "language",
                "confidence",
                "request_id",
                "words",
                "speaker_id",
                "extra",
                "message",
                "code",
                "audio",
                "settings",
                "model",
                "connection",
                "fallback",
                "session_id",
            ]
        ),
        json_values,
        max_size=6,
    ),
)
def test_known_types_with_arbitrary_fields_give_a_message_or_malformed_message(kind, fields):
    only_malformed(json.dumps({**fields, "type": kind}))


@settings(max_examples=150)
@given(st.data(), client_messages | server_messages)
def test_valid_messages_with_one_value_replaced_are_read_or_named(data, message):
    """Replace one value anywhere in a valid message's JSON by arbitrary JSON: the frame still
    decodes, or the error names a path into the message."""
    payload = json.loads(encode_message(message))
    paths: list[list[str | int]] = []

    def walk(node: object, path: list[str | int]) -> None:
        if path and path != ["type"]:
            paths.append(path)
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, [*path, key])
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, [*path, index])

    walk(payload, [])
    if not paths:
        return
    path = data.draw(st.sampled_from(paths), label="path")
    node: Any = payload
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = data.draw(json_values, label="value")
    decode = (
        decode_client_message if payload["type"] in CLIENT_MESSAGE_TYPES else decode_server_message
    )
    try:
        decode(json.dumps(payload))
    except MalformedMessage as error:
        assert error.message_type == payload["type"]
        assert error.where


def test_create_settings_and_messages_are_immutable():
    settings_ = CreateSettings(sample_rate="16000", encoding="pcm_s16le", extra={})
    with pytest.raises(ValueError):
        settings_.sample_rate = "8000"  # type: ignore[misc]
    create = SessionCreate(settings=settings_)
    assert create.type == "session.create"
    assert create.sample_rate == 16000
