"""Inworld TTS over HTTP, sans-IO (SPEC §5.1): the request as upstream sends it and as a
server judges it, the answer's lines and their reader, the voices list."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from voicewire.reference.inworld.wire.synthesis import (
    InworldAudioConfig,
    InworldSkippedLine,
    InworldSynthesisAudio,
    InworldSynthesisErrorLine,
    InworldSynthesisFailure,
    InworldSynthesisReader,
    InworldSynthesisReaderState,
    InworldSynthesisResultLine,
    InworldSynthesizeRequest,
    decode_synthesis_line,
    decode_synthesize_request,
    decode_voices_response,
    encode_synthesize_request,
    inworld_error_line,
    inworld_result_line,
    voices_problems,
)
from voicewire.reference.inworld.wire.timestamps import (
    InworldTimestampInfo,
    InworldWordAlignment,
)
from voicewire.reference.json_wire import MalformedMessage, RemoteProtocolError

UPSTREAM_BODY = {
    "text": "Hello from the Inworld HTTP endpoint.",
    "voiceId": "Ashley",
    "modelId": "inworld-tts-1.5-max",
    "audioConfig": {
        "audioEncoding": "PCM",
        "bitrate": 64000,
        "sampleRateHertz": 24000,
        "temperature": 1.0,
        "speakingRate": 1.0,
    },
    "timestampType": "WORD",
    "timestampTransportStrategy": "ASYNC",
}
"""The body of wire capture §5, keys in upstream's order."""

WORDS = InworldTimestampInfo(
    wordAlignment=InworldWordAlignment(
        words=("Hello",), wordStartTimeSeconds=(0.0,), wordEndTimeSeconds=(0.3,)
    )
)


# -- the request -------------------------------------------------------------------------------


def test_the_request_is_encoded_as_upstream_sends_it():
    request = InworldSynthesizeRequest(
        text=UPSTREAM_BODY["text"],
        voiceId="Ashley",
        modelId="inworld-tts-1.5-max",
        audioConfig=InworldAudioConfig(
            audioEncoding="PCM",
            bitrate=64000,
            sampleRateHertz=24000,
            temperature=1.0,
            speakingRate=1.0,
        ),
        timestampType="WORD",
        timestampTransportStrategy="ASYNC",
    )
    assert encode_synthesize_request(request) == json.dumps(UPSTREAM_BODY).encode()


def test_the_server_reads_upstreams_body_back():
    request = decode_synthesize_request(json.dumps(UPSTREAM_BODY).encode())
    assert request.to_wire() == UPSTREAM_BODY
    assert request.audioConfig is not None and request.audioConfig.temperature == 1.0


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"text": None}, "text"),
        ({"voiceId": 7}, "voiceId"),
        ({"voiceId": ""}, "voiceId"),
        ({"modelId": ""}, "modelId"),
        ({"timestampType": "SENTENCE"}, "timestampType"),
        ({"applyTextNormalization": True}, "applyTextNormalization"),
        ({"deliveryMode": "FAST"}, "deliveryMode"),
        ({"timestampTransportStrategy": 1}, "timestampTransportStrategy"),
        ({"audioConfig": []}, "audioConfig"),
        ({"audioConfig": {"sampleRateHertz": "24000"}}, "audioConfig.sampleRateHertz"),
        ({"audioConfig": {"sampleRateHertz": 4000}}, "audioConfig.sampleRateHertz"),
        ({"audioConfig": {"audioEncoding": "WAV"}}, "audioConfig.audioEncoding"),
        ({"audioConfig": {"speakingRate": 2}}, "audioConfig.speakingRate"),
        ({"audioConfig": {"temperature": 0}}, "audioConfig.temperature"),
        ({"audioConfig": {"bitrate": 64000.5}}, "audioConfig.bitrate"),
    ],
)
def test_a_bad_field_is_named(change, where):
    body = {**UPSTREAM_BODY, **change}
    body = {key: value for key, value in body.items() if value is not None}
    with pytest.raises(MalformedMessage) as caught:
        decode_synthesize_request(json.dumps(body).encode())
    assert caught.value.where == where


@pytest.mark.parametrize(
    ("body", "what"),
    [(b"\xff{}", "not UTF-8"), (b"[1]", "expected a JSON object"), (b"{", "not valid JSON")],
)
def test_a_body_that_is_no_json_object_is_refused(body, what):
    with pytest.raises(MalformedMessage, match=what):
        decode_synthesize_request(body)


def test_unknown_keys_and_absent_optionals_are_fine_for_the_server():
    request = decode_synthesize_request(
        b'{"text":"hi","voiceId":"Ashley","modelId":"m","future":{"x":1}}'
    )
    assert request.audioConfig is None and request.timestampTransportStrategy is None


# -- the lines ---------------------------------------------------------------------------------


def test_the_server_builders_write_what_the_decoder_reads():
    line = inworld_result_line(b"\x01\x02", WORDS)
    message = decode_synthesis_line(line.rstrip(b"\n"))
    assert isinstance(message, InworldSynthesisResultLine)
    assert message.result.audio == b"\x01\x02"
    assert message.result.timestampInfo == WORDS
    error = decode_synthesis_line(inworld_error_line(13, "internal").decode())
    assert isinstance(error, InworldSynthesisErrorLine)
    assert (error.error.code, error.error.message) == (13, "internal")


def test_the_builder_refuses_timestamps_a_server_must_not_send():
    bad = InworldTimestampInfo(
        wordAlignment=InworldWordAlignment(words=("a", "b"), wordStartTimeSeconds=(0.0,))
    )
    with pytest.raises(ValueError, match="unequal length"):
        inworld_result_line(b"", bad)


def test_a_line_holding_both_keys_is_malformed():
    with pytest.raises(MalformedMessage, match="holds result and error"):
        decode_synthesis_line('{"result":{},"error":{"code":1}}')


# -- the reader --------------------------------------------------------------------------------


def test_the_reader_turns_lines_into_events():
    reader = InworldSynthesisReader()
    body = (
        b"\n"
        + inworld_result_line(b"\x01\x00", WORDS)
        + b"not json\n"
        + b'{"other":{}}\n'
        + b"\xff\xfe\n"
        + b"  \r\n"
        + inworld_result_line(b"\x02\x00")
        + inworld_error_line(3, "bad voice")
        + inworld_result_line(b"\x03\x00")
    )
    events = reader.feed(body)
    assert [type(e) for e in events] == [
        InworldSkippedLine,
        InworldSynthesisAudio,
        InworldSkippedLine,
        InworldSkippedLine,
        InworldSkippedLine,
        InworldSkippedLine,
        InworldSynthesisAudio,
        InworldSynthesisFailure,
    ]
    assert [e.reason for e in events if isinstance(e, InworldSkippedLine)] == [
        "blank",
        "not JSON: Expecting value: line 1 column 1 (char 0)",
        "neither result nor error (object with keys other)",
        "not UTF-8 (byte 0)",
        "blank",
    ]
    audio = events[1]
    assert isinstance(audio, InworldSynthesisAudio)
    assert audio.line == 2 and audio.audio == b"\x01\x00"
    assert [t.text for t in audio.timed_strings] == ["Hello"]
    assert events[-1] == InworldSynthesisFailure(8, 3, "bad voice")
    # what follows an error line is not read
    assert reader.state is InworldSynthesisReaderState.FAILED
    assert reader.feed(inworld_result_line(b"\x04\x00")) == []
    assert reader.end() == []


def test_an_error_line_without_a_code_fails_with_none():
    (failure,) = InworldSynthesisReader().feed(b'{"error":{"message":"x"}}\n')
    assert failure == InworldSynthesisFailure(1, None, "x")


@pytest.mark.parametrize(
    "line",
    [
        b"[1, 2]",
        b'"text"',
        b"null",
        b'{"result":{"audioContent":"not base64!"}}',
        b'{"result":{"audioContent":42}}',
        b'{"result":{"timestampInfo":{"wordAlignment":{"words":"Hello"}}}}',
        b'{"result":null}',
        b'{"error":{"code":"INVALID"}}',
    ],
)
def test_json_of_the_wrong_shape_is_a_protocol_error(line):
    with pytest.raises(RemoteProtocolError) as caught:
        InworldSynthesisReader().feed(line + b"\n")
    assert caught.value.rule == "IW-HTTP-2"


def test_a_line_too_long_is_a_protocol_error():
    with pytest.raises(RemoteProtocolError, match="line 1: longer than 16 bytes"):
        InworldSynthesisReader(max_line_bytes=16).feed(b"x" * 40)


def test_the_last_line_without_newline_is_read_at_the_end():
    reader = InworldSynthesisReader()
    assert reader.feed(inworld_result_line(b"\x01\x00").rstrip(b"\n")) == []
    (audio,) = reader.end()
    assert isinstance(audio, InworldSynthesisAudio) and audio.audio == b"\x01\x00"
    assert reader.state is InworldSynthesisReaderState.ENDED


chunks = st.lists(st.binary(min_size=0, max_size=40), max_size=8)
junk = st.sampled_from([b"", b"  ", b"\r", b"garbage", b"{not json", b"\xc3\x28", b'{"x":1}'])


@given(
    chunks,
    st.lists(st.tuples(st.integers(min_value=0, max_value=8), junk), max_size=6),
    st.lists(st.integers(min_value=0, max_value=5000), max_size=12),
)
def test_audio_comes_out_exact_and_in_order_whatever_the_split_and_junk(pieces, junk_at, cuts):
    lines = [inworld_result_line(piece) for piece in pieces]
    for position, line in sorted(junk_at, key=lambda pair: -pair[0]):
        lines.insert(min(position, len(lines)), line + b"\n")
    body = b"".join(lines)
    reader = InworldSynthesisReader()
    events = []
    start = 0
    for cut in [*sorted({c % (len(body) + 1) for c in cuts}), len(body)]:
        events += reader.feed(body[start:cut])
        start = cut
    events += reader.end()
    audio = [e.audio for e in events if isinstance(e, InworldSynthesisAudio)]
    assert audio == pieces
    assert len(events) == len(lines)
    assert not any(isinstance(e, InworldSynthesisFailure) for e in events)


def test_audio_content_is_base64_of_the_bytes():
    line = json.loads(inworld_result_line(b"\x00\xff\x10"))
    assert base64.b64decode(line["result"]["audioContent"]) == b"\x00\xff\x10"
    assert "timestampInfo" not in line["result"]


# -- voices ------------------------------------------------------------------------------------


def test_voices_are_kept_verbatim():
    body = b'{"voices":[{"voiceId":"Ashley","languages":["en"],"extra":{"a":[1]}}],"next":""}'
    assert decode_voices_response(body) == [
        {"voiceId": "Ashley", "languages": ["en"], "extra": {"a": [1]}}
    ]
    assert decode_voices_response("{}") == []


@pytest.mark.parametrize(
    ("body", "where"),
    [(b'{"voices":{}}', "voices"), (b'{"voices":[1]}', "voices[0]"), (b"[]", "")],
)
def test_malformed_voices_are_named(body, where):
    with pytest.raises(MalformedMessage) as caught:
        decode_voices_response(body)
    assert caught.value.where == where


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ([], "expected a JSON object"),
        ({}, "voices: missing"),
        ({"voices": "x"}, "voices: expected an array"),
        ({"voices": [{"voiceId": "a"}, 3]}, "voices[1]: expected an object"),
        ({"voices": [{"name": "a"}]}, "voices[0].voiceId"),
    ],
)
def test_voices_problems_name_what_a_server_must_not_send(payload, problem):
    (found,) = voices_problems(payload)
    assert found.startswith(problem)


def test_a_conforming_voices_answer_has_no_problem():
    assert voices_problems({"voices": [{"voiceId": "Ashley", "languages": ["en"]}]}) == []
