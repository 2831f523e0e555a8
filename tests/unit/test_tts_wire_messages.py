"""The TTS wire module's messages and codec: frames exactly as the upstream client writes them
(TTS-C-1..3), every message round-trips, and hostile frames raise MalformedMessage naming
where, and nothing else (CLI-ROB-1, SRV-1)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from voicewire.reference.tts.wire import (
    TTS_CLIENT_MESSAGE_TYPES,
    TTS_SERVER_MESSAGE_TYPES,
    AlignedChar,
    AlignedWord,
    ConnectionSettings,
    GenerationConfig,
    InputTranscript,
    MalformedMessage,
    OutputAlignment,
    OutputAudio,
    SessionFlush,
    SynthesisDone,
    TTSErrorMessage,
    TTSFallbackModel,
    TTSFallbackSettings,
    TTSSessionClosed,
    TTSSessionCreate,
    TTSSessionCreated,
    UnknownMessageType,
    decode_tts_client_message,
    decode_tts_server_message,
    encode_tts_message,
    input_transcript,
    tts_session_create,
)

# The session.create of wire-capture.md §4, byte for byte (cartesia/sonic-3 with a voice).
CAPTURED_CREATE = (
    '{"type": "session.create", "sample_rate": "24000", "encoding": "pcm_s16le", "extra": {}, '
    '"voice": "a167e0f3-df7e-4d52-a9c3-f949145efdab", "model": "cartesia/sonic-3", '
    '"connection": {"timeout": 10.0, "retries": 3}}'
)
CAPTURED_TRANSCRIPT = (
    '{"type": "input_transcript", "transcript": "Hello there! This is a streaming speech test. ", '
    '"generation_config": {"voice": "a167e0f3-df7e-4d52-a9c3-f949145efdab", '
    '"model": "cartesia/sonic-3"}, "extra": {}}'
)

# -- strategies ----------------------------------------------------------------------------------

texts = st.text(max_size=12)
times = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
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
pcm = st.binary(max_size=64)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def ordered(start: float, length: float) -> tuple[float, float]:
    return start, start + length


def aligned(cls: type, key: str) -> st.SearchStrategy[Any]:
    return st.builds(
        lambda text, span: cls(**{key: text, "start": span[0], "end": span[1]}),
        texts,
        st.builds(ordered, times, times),
    )


client_messages = st.one_of(
    st.builds(
        tts_session_create,
        sample_rate=st.integers(1, 999_999),
        voice=optional(texts),
        model=optional(texts),
        language=optional(texts),
        extra=optional(json_objects),
        connection=optional(
            st.builds(ConnectionSettings, timeout=times, retries=st.integers(0, 10))
        ),
        fallback=st.lists(
            st.builds(
                TTSFallbackModel, model=texts, voice=optional(texts), extra=optional(json_objects)
            ),
            max_size=2,
        ),
    ),
    st.builds(
        input_transcript,
        texts,
        voice=optional(texts),
        model=optional(texts),
        language=optional(texts),
        extra=optional(json_objects),
    ),
    st.just(SessionFlush()),
)
session_ids = optional(texts)
server_messages = st.one_of(
    st.builds(TTSSessionCreated, session_id=session_ids),
    st.builds(OutputAudio.from_pcm, pcm, session_id=session_ids),
    st.builds(
        OutputAlignment,
        words=st.lists(aligned(AlignedWord, "word"), max_size=3).map(tuple),
        session_id=session_ids,
    ),
    st.builds(
        OutputAlignment,
        chars=st.lists(aligned(AlignedChar, "char"), max_size=3).map(tuple),
        session_id=session_ids,
    ),
    st.builds(SynthesisDone, session_id=session_ids),
    st.builds(TTSErrorMessage, message=texts, code=optional(st.integers(-1000, 1000))),
    st.just(TTSSessionClosed()),
)


# -- the client's frames (TTS-C-1..3) ------------------------------------------------------------


def test_tts_c_1_session_create_is_written_as_captured():
    create = tts_session_create(
        voice="a167e0f3-df7e-4d52-a9c3-f949145efdab",
        model="cartesia/sonic-3",
        connection=ConnectionSettings(timeout=10.0, retries=3),
    )
    assert encode_tts_message(create) == CAPTURED_CREATE
    assert decode_tts_client_message(CAPTURED_CREATE) == create
    assert create.sample_rate_hz == 24000


def test_tts_c_1_optionals_are_left_out_and_keep_upstreams_order():
    create = tts_session_create(
        sample_rate=16000,
        voice="",
        language="fr",
        extra={"speed": 1.2},
        fallback=[TTSFallbackModel(model="elevenlabs/eleven_flash_v2_5", voice="x")],
        connection=ConnectionSettings(timeout=5.0, retries=0),
    )
    payload = json.loads(encode_tts_message(create))
    assert list(payload) == [
        "type",
        "sample_rate",
        "encoding",
        "extra",
        "language",
        "fallback",
        "connection",
    ]
    assert payload["sample_rate"] == "16000"
    # voice and extra of a fallback model are always written, as upstream writes them.
    assert payload["fallback"] == {
        "models": [{"model": "elevenlabs/eleven_flash_v2_5", "voice": "x", "extra": {}}]
    }
    bare = json.loads(encode_tts_message(tts_session_create()))
    assert bare == {
        "type": "session.create",
        "sample_rate": "24000",
        "encoding": "pcm_s16le",
        "extra": {},
    }


@pytest.mark.parametrize("sample_rate", [0, -1, 1_000_000, True, 24000.0, "24000"])
def test_tts_c_1_the_builder_refuses_a_bad_sample_rate(sample_rate):
    with pytest.raises((TypeError, ValueError)):
        tts_session_create(sample_rate=sample_rate)


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"sample_rate": 24000, "encoding": "pcm_s16le", "extra": {}}, "sample_rate"),
        ({"sample_rate": "024000", "encoding": "pcm_s16le", "extra": {}}, "sample_rate"),
        ({"sample_rate": "1" * 5000, "encoding": "pcm_s16le", "extra": {}}, "sample_rate"),
        ({"sample_rate": "24000", "encoding": "mp3", "extra": {}}, "encoding"),
        ({"sample_rate": "24000", "encoding": "pcm_s16le"}, "extra"),
        ({"sample_rate": "24000", "encoding": "pcm_s16le", "extra": []}, "extra"),
        ({"sample_rate": "24000", "encoding": "pcm_s16le", "extra": {}, "voice": 3}, "voice"),
        (
            {
                "sample_rate": "24000",
                "encoding": "pcm_s16le",
                "extra": {},
                "fallback": {"models": [{"voice": "v"}]},
            },
            "fallback.models[0].model",
        ),
        (
            {
                "sample_rate": "24000",
                "encoding": "pcm_s16le",
                "extra": {},
                "connection": {"timeout": -1, "retries": 3},
            },
            "connection.timeout",
        ),
    ],
)
def test_tts_c_1_a_malformed_session_create_names_the_field(fields, where):
    with pytest.raises(MalformedMessage) as caught:
        decode_tts_client_message(json.dumps({"type": "session.create", **fields}))
    assert caught.value.where == where
    assert caught.value.message_type == "session.create"
    assert len(str(caught.value)) < 300


def test_tts_c_2_input_transcript_is_written_as_captured():
    message = input_transcript(
        "Hello there! This is a streaming speech test.",
        voice="a167e0f3-df7e-4d52-a9c3-f949145efdab",
        model="cartesia/sonic-3",
    )
    assert encode_tts_message(message) == CAPTURED_TRANSCRIPT
    assert message.transcript.endswith(" ")
    with_language = input_transcript("Hi.", language="de", extra={"speed": 2})
    assert json.loads(encode_tts_message(with_language)) == {
        "type": "input_transcript",
        "transcript": "Hi. ",
        "generation_config": {"language": "de"},
        "extra": {"speed": 2},
    }


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"generation_config": {}, "extra": {}}, "transcript"),
        ({"transcript": 1, "generation_config": {}, "extra": {}}, "transcript"),
        ({"transcript": "a ", "extra": {}}, "generation_config"),
        (
            {"transcript": "a ", "generation_config": {"voice": 1}, "extra": {}},
            "generation_config.voice",
        ),
        ({"transcript": "a ", "generation_config": {}}, "extra"),
    ],
)
def test_tts_c_2_a_malformed_input_transcript_names_the_field(fields, where):
    with pytest.raises(MalformedMessage) as caught:
        decode_tts_client_message(json.dumps({"type": "input_transcript", **fields}))
    assert caught.value.where == where


def test_tts_c_3_session_flush_is_the_type_alone():
    assert encode_tts_message(SessionFlush()) == '{"type": "session.flush"}'
    assert decode_tts_client_message('{"type": "session.flush", "x": 1}') == SessionFlush()


# -- the server's frames (TTS-S-1..2) -------------------------------------------------------------


def test_tts_s_1_output_audio_carries_base64_pcm_and_the_session_id():
    message = OutputAudio.from_pcm(b"\x01\x00\xff\x7f", session_id="sess-1")
    assert json.loads(encode_tts_message(message)) == {
        "type": "output_audio",
        "audio": base64.b64encode(b"\x01\x00\xff\x7f").decode(),
        "session_id": "sess-1",
    }
    assert decode_tts_server_message(encode_tts_message(message)).pcm == b"\x01\x00\xff\x7f"
    # The model admits a missing session_id so that the state machines can name TTS-S-1.
    assert decode_tts_server_message('{"type": "output_audio", "audio": ""}').session_id is None
    done = decode_tts_server_message('{"type": "done", "session_id": "sess-1"}')
    assert done == SynthesisDone(session_id="sess-1")


@pytest.mark.parametrize(
    ("frame", "where"),
    [
        ({"type": "output_audio"}, "audio"),
        ({"type": "output_audio", "audio": "not base64!"}, "audio"),
        ({"type": "output_audio", "audio": "AAA", "session_id": "s"}, "audio"),
        ({"type": "output_audio", "audio": "AAAA", "session_id": 7}, "session_id"),
        ({"type": "done", "session_id": ["s"]}, "session_id"),
        ({"type": "error"}, "message"),
        ({"type": "error", "message": "x", "code": "500"}, "code"),
        ({"type": "output_alignment"}, "$"),
        ({"type": "output_alignment", "words": [], "chars": []}, "$"),
        ({"type": "output_alignment", "words": {}}, "words"),
        ({"type": "output_alignment", "words": [{"word": "a", "start": 0}]}, "words[0].end"),
        ({"type": "output_alignment", "words": [{"word": "a", "start": 2, "end": 1}]}, "words[0]"),
        (
            {"type": "output_alignment", "chars": [{"char": "a", "start": -1, "end": 1}]},
            "chars[0].start",
        ),
    ],
)
def test_a_malformed_server_message_names_the_field(frame, where):
    with pytest.raises(MalformedMessage) as caught:
        decode_tts_server_message(json.dumps(frame))
    assert caught.value.where == where
    assert caught.value.message_type == frame["type"]


def test_tts_s_2_alignment_holds_words_or_chars():
    words = decode_tts_server_message(
        '{"type": "output_alignment", "words": [{"word": "Hi", "start": 0, "end": 0.25}], '
        '"session_id": "s"}'
    )
    assert isinstance(words, OutputAlignment)
    assert words.words == (AlignedWord(word="Hi", start=0.0, end=0.25),)
    assert words.chars is None
    chars = decode_tts_server_message(
        '{"type": "output_alignment", "chars": [{"char": "H", "start": 0.5, "end": 0.5}]}'
    )
    assert isinstance(chars, OutputAlignment)
    assert chars.chars == (AlignedChar(char="H", start=0.5, end=0.5),)


def test_unknown_types_are_distinct_and_unknown_keys_are_ignored():
    with pytest.raises(UnknownMessageType) as caught:
        decode_tts_server_message('{"type": "output_visemes", "session_id": "s"}')
    assert caught.value.unknown_type == "output_visemes"
    # The client's own types are unknown to the server's direction, and the other way round.
    with pytest.raises(UnknownMessageType):
        decode_tts_server_message('{"type": "session.flush"}')
    with pytest.raises(UnknownMessageType):
        decode_tts_client_message('{"type": "done"}')
    created = decode_tts_server_message('{"type": "session.created", "region": "eu", "x": {}}')
    assert created == TTSSessionCreated()


@pytest.mark.parametrize(
    "frame",
    [
        b'{"type": "done"}',
        "",
        "[]",
        '"done"',
        "{",
        '{"type": "output_audio", "audio": "", "session_id": NaN}',
        '{"type": 3}',
        '{"session_id": "s"}',
        "[" * 100_000,
        '{"type": "error", "message": "m", "code": ' + "9" * 5000 + "}",
    ],
)
def test_hostile_frames_raise_malformed_message(frame):
    with pytest.raises(MalformedMessage) as caught:
        decode_tts_server_message(frame)
    assert len(str(caught.value)) < 400


def test_messages_are_immutable_and_encode_refuses_foreign_objects():
    flush = SessionFlush()
    with pytest.raises(ValueError):
        flush.type = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        encode_tts_message({"type": "session.flush"})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        decode_tts_server_message(42)  # type: ignore[arg-type]
    assert TTSFallbackSettings(models=[TTSFallbackModel(model="m")]).models[0].extra == {}
    assert GenerationConfig() == GenerationConfig(voice=None)


def test_the_type_tables_name_each_class_by_its_wire_type():
    for table in (TTS_CLIENT_MESSAGE_TYPES, TTS_SERVER_MESSAGE_TYPES):
        for name, cls in table.items():
            assert cls.model_fields["type"].default == name
    assert TTSSessionCreate.model_fields["type"].default == "session.create"
    assert InputTranscript.model_fields["type"].default == "input_transcript"


# -- properties ------------------------------------------------------------------------------------


@given(client_messages)
def test_every_client_message_round_trips(message):
    frame = encode_tts_message(message)
    assert decode_tts_client_message(frame) == message
    assert encode_tts_message(decode_tts_client_message(frame)) == frame
    assert next(iter(json.loads(frame))) == "type"


@given(server_messages)
def test_every_server_message_round_trips(message):
    frame = encode_tts_message(message)
    assert decode_tts_server_message(frame) == message
    assert encode_tts_message(decode_tts_server_message(frame)) == frame


def only_malformed(frame: str | bytes) -> None:
    """CLI-ROB-1 / SRV-1: whatever the frame, decoding gives a message or MalformedMessage."""
    for decode in (decode_tts_client_message, decode_tts_server_message):
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
    st.sampled_from(sorted({*TTS_CLIENT_MESSAGE_TYPES, *TTS_SERVER_MESSAGE_TYPES})),
    st.dictionaries(
        st.sampled_from(
            [
                "sample_rate",
                "encoding",
                "extra",
                "voice",
                "model",
                "language",
                "fallback",
                "connection",
                "transcript",
                "generation_config",
                "audio",
                "session_id",
                "words",
                "chars",
                "message",
                "code",
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
    payload = json.loads(encode_tts_message(message))
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
        decode_tts_client_message
        if payload["type"] in TTS_CLIENT_MESSAGE_TYPES
        else decode_tts_server_message
    )
    try:
        decode(json.dumps(payload))
    except MalformedMessage as error:
        assert error.message_type == payload["type"]
        assert error.where
