"""The Inworld robustness families' examples (suites/robustness/inworld_streams.py and
inworld_sessions.py): plain JSON a replay file can hold, scenarios the simulator takes, and
each builder's expectation what the sans-IO wire module makes of the bytes it sends."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from voicewire.reference.inworld.wire.contexts import (
    decode_context_client_message,
    decode_context_server_message,
)
from voicewire.reference.inworld.wire.stt_messages import (
    decode_transcribe_client_message,
    decode_transcribe_server_message,
)
from voicewire.reference.inworld.wire.synthesis import (
    InworldSynthesisAudio,
    InworldSynthesisFailure,
    InworldSynthesisReader,
    decode_synthesize_request,
)
from voicewire.reference.json_wire import MalformedMessage, RemoteProtocolError
from voicewire.simulators.scenario import parse_scenario
from voicewire.suites.robustness import inworld_sessions as sessions
from voicewire.suites.robustness import inworld_streams as streams

_OUTCOMES = {"error", "complete", "either"}
_STREAM_STRATEGIES = (
    streams.hostile_inworld_ndjson()
    | streams.hostile_inworld_contexts()
    | streams.hostile_inworld_transcripts()
)
_SESSION_STRATEGIES = (
    sessions.hostile_inworld_requests()
    | sessions.hostile_inworld_context_sessions()
    | sessions.hostile_inworld_transcribe_sessions()
)


def _expectations(example: dict[str, Any]) -> list[dict[str, Any]]:
    want = example["expect"]
    return want if isinstance(want, list) else [want]


def _stream_example_is_playable(example: dict[str, Any]) -> None:
    assert json.loads(json.dumps(example)) == example
    for want in _expectations(example):
        assert want["outcome"] in _OUTCOMES
        assert want["kind"] is None or want["kind"] in streams.API_ERRORS
    if "body" in example:
        parse_scenario(streams.inworld_ndjson_scenario(example))
    elif "script" in example:
        parse_scenario(streams.inworld_contexts_scenario(example))
        opened = {step["stream"] for step in example["script"]}
        assert len(example["expect"]) == len(opened)
    else:
        parse_scenario(streams.inworld_transcribe_scenario(example))
        assert len(example["slots"]) % 2 == 0


@settings(max_examples=60)
@given(example=_STREAM_STRATEGIES)
def test_generated_stream_examples_are_playable_json(example):
    _stream_example_is_playable(example)


_STREAM_BOUNDARIES = (
    streams.HOSTILE_INWORLD_NDJSON_BOUNDARIES
    + streams.HOSTILE_INWORLD_CONTEXT_BOUNDARIES
    + streams.HOSTILE_INWORLD_TRANSCRIPT_BOUNDARIES
)


@pytest.mark.parametrize("example", _STREAM_BOUNDARIES, ids=lambda e: e["what"][:60])
def test_stream_boundaries_are_playable_json(example):
    _stream_example_is_playable(example)


# -- NDJSON: what the reader makes of the body ---------------------------------------------------


def _read(example: dict[str, Any]) -> tuple[bytes, str | None]:
    """The audio the sans-IO reader decodes from the example's body, piece by piece up to a
    silence, and how it ended: None (the body ended), ``failure`` (an error line) or
    ``malformed``."""
    reader = InworldSynthesisReader()
    audio = bytearray()
    reads = []
    for piece in example["body"]:
        if "sleep" in piece:
            break  # what comes after the silence comes too late
        reads.append(bytes.fromhex(piece["hex"]) if "hex" in piece else piece["text"].encode())
    try:
        for read in [*reads, None]:
            for event in reader.end() if read is None else reader.feed(read):
                if isinstance(event, InworldSynthesisFailure):
                    return bytes(audio), "failure"
                if isinstance(event, InworldSynthesisAudio):
                    audio += event.audio
    except RemoteProtocolError:
        return bytes(audio), "malformed"
    return bytes(audio), None


def _ndjson_examples() -> list[dict[str, Any]]:
    return [e for e in _STREAM_BOUNDARIES if "body" in e] + [
        streams.ndjson_skipped_line(line) for line in streams.INWORLD_NOT_JSON
    ]


@pytest.mark.parametrize("example", _ndjson_examples(), ids=lambda e: e["what"][:60])
def test_an_ndjson_body_reads_as_its_expectation_says(example):
    want = example["expect"]
    audio, ended = _read(example)
    expected = streams.inworld_example_audio(want["audio"])
    if example["status"] >= 300:
        assert want["kind"] == "APIStatusError"
    elif example["end"] == "reset" or any("sleep" in piece for piece in example["body"]):
        # The transport fails it, whatever the bytes read so far.
        assert want["outcome"] in ("error", "either")
        assert expected.startswith(audio) or audio == expected
    elif want["outcome"] == "complete":
        assert (audio, ended) == (expected, None)
    elif want["kind"] == "APIConnectionError":
        assert ended == "malformed" and audio == expected
    else:
        assert ended in ("failure", "malformed") and audio == expected


@pytest.mark.parametrize("line", streams.INWORLD_WRONG_SHAPES)
def test_every_wrong_shape_is_malformed_for_the_reader(line):
    example = streams.ndjson_wrong_shape(line, before=[480])
    audio, ended = _read(example)
    assert ended == "malformed"
    assert audio == streams.inworld_example_audio(example["expect"]["audio"])


@pytest.mark.parametrize("code", streams.INWORLD_ERROR_CODES)
def test_an_error_line_fails_the_reader(code):
    _, ended = _read(streams.ndjson_error_line(code, before=[2]))
    assert ended in ("failure", "malformed")


# -- contexts and STT: the slots ------------------------------------------------------------------


def _slot(slot: str) -> str:
    return slot.replace("{contextId}", "ctx-1")


def test_a_well_formed_context_s_slots_decode_and_carry_its_audio():
    example = streams.context_unknown("unknown keys", [480, 2])
    audio = b""
    for slot in example["slots"]:
        message = decode_context_server_message(_slot(slot))
        chunk = message.result.audioChunk
        if chunk is not None:
            audio += chunk.pcm
    want = example["expect"][0]
    assert want["outcome"] == "complete"
    assert audio == streams.inworld_example_audio(want["audio"])


@pytest.mark.parametrize("kind", sorted(streams._HOSTILE_REPLIES))
def test_every_hostile_reply_is_malformed_for_the_wire_module(kind):
    example = streams.context_hostile_reply(kind, 2)
    with pytest.raises(MalformedMessage):
        decode_context_server_message(_slot(example["slots"][2]))
    # The replies before it are well formed, and their audio is what may come through.
    audio = b""
    for slot in example["slots"][:2]:
        chunk = decode_context_server_message(_slot(slot)).result.audioChunk
        audio += chunk.pcm if chunk is not None else b""
    assert audio == streams.inworld_example_audio(example["expect"][0]["audio"])


def test_a_failing_status_beside_a_live_context_fails_only_the_second():
    example = streams.context_status_beside(13)
    assert [w["outcome"] for w in example["expect"]] == ["complete", "error"]
    assert example["reply"]["failed_contexts"] == [1]
    first = base64.b64decode(example["expect"][0]["audio"][0])
    assert len(first) % 2 == 0 and first


@pytest.mark.parametrize("kind", sorted(streams._HOSTILE_TRANSCRIPTS))
def test_every_hostile_transcript_is_malformed_for_the_wire_module(kind):
    example = streams.transcript_hostile(kind, 1, ["hello", "again"])
    with pytest.raises(MalformedMessage):
        decode_transcribe_server_message(example["slots"][1])
    for slot in example["slots"][2:]:
        decode_transcribe_server_message(slot)
    assert example["expect"]["finals"] == []


def test_a_close_before_close_stream_expects_a_retryable_error_after_the_finals_before():
    example = streams.transcript_closed(1011, 3, ["hello", "again"])
    assert example["wait_for_error"] is True
    assert example["expect"] == {
        "outcome": "error",
        "kind": None,
        "rule": "IW-STT-END-1",
        "finals": ["hello"],
    }


# -- server direction --------------------------------------------------------------------------


def _session_example_is_playable(example: dict[str, Any]) -> None:
    assert json.loads(json.dumps(example)) == example
    want = example["expect"]
    if "body" in example:
        assert want["status"] in ("bad", "auth", "ok", "not_5xx")
        assert example["authorization"] in ("key", *sessions.INWORLD_AUTHORIZATIONS)
        return
    assert want["close"] is None or want["close"] == [1003]
    assert want["rule"] in ("SRV-1", "SRV-3")
    for frame in example["frames"]:
        assert isinstance(frame, str) or set(frame) in ({"await"}, {"binary"})


@settings(max_examples=60)
@given(example=_SESSION_STRATEGIES)
def test_generated_session_examples_are_playable_json(example):
    _session_example_is_playable(example)


@pytest.mark.parametrize(
    "example",
    sessions.HOSTILE_INWORLD_REQUEST_BOUNDARIES
    + sessions.HOSTILE_INWORLD_CONTEXT_SESSION_BOUNDARIES
    + sessions.HOSTILE_INWORLD_TRANSCRIBE_SESSION_BOUNDARIES,
    ids=lambda e: e["what"][:60],
)
def test_session_boundaries_are_playable_json(example):
    _session_example_is_playable(example)


@pytest.mark.parametrize("path", sorted(sessions.INWORLD_REQUEST_FIELDS))
def test_every_mistyped_request_is_refused_by_the_wire_module(path):
    # Each is one the family expects a 4xx for: the decoder the simulator uses refuses it.
    for value in sessions._wrong_values(path):
        body = json.dumps(sessions.request_mistyped(path, value)["body"]["json"]).encode()
        with pytest.raises(MalformedMessage):
            decode_synthesize_request(body)


def test_a_long_text_within_the_limit_is_a_valid_request():
    body = sessions.request_long_text(2000)["body"]["json"]
    assert decode_synthesize_request(json.dumps(body).encode()).text.strip() == "a"


@pytest.mark.parametrize("kind", sorted(sessions._MISTYPED_CONTEXT_FRAMES))
def test_every_mistyped_context_frame_is_refused_by_the_wire_module(kind):
    example = sessions.context_session_mistyped(kind, after_create=False)
    frame = next(f for f in example["frames"] if isinstance(f, str))
    try:
        decode_context_client_message(frame)
    except MalformedMessage:
        return
    # What decodes must be refused by the server's rules: a piece over 1000 characters.
    assert kind == "send_text over 1000 characters"


@pytest.mark.parametrize("kind", sorted(sessions._BAD_TRANSCRIBE))
def test_a_bad_transcribe_session_sends_one_bad_message(kind):
    example = sessions.transcribe_session_bad(kind)
    assert example["hostile"] == 1
    bad = example["frames"][-1]
    try:
        decode_transcribe_client_message(bad)
    except MalformedMessage:
        return
    # Well formed alone: wrong by its order or its value (the server's rules refuse it).
    assert kind in (
        "audio before transcribeConfig",
        "endTurn before transcribeConfig",
        "transcribeConfig twice",
        "audio not whole samples",
        "two channels",
    )
