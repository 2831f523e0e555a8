"""The keyed-message codec the Inworld wire modules share (voicewire.reference.json_wire)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict
from voicewire.reference.json_wire import (
    MalformedMessage,
    UnknownMessageType,
    decode_keyed_message,
    load_json_object,
)


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True)
    text: str


class _SendText(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)
    send_text: _Body
    contextId: str


class _Flush(BaseModel):
    model_config = ConfigDict(frozen=True)
    flush_context: dict[str, object]
    contextId: str


KINDS = {"send_text": _SendText, "flush_context": _Flush}


def test_the_one_key_names_the_message() -> None:
    message = decode_keyed_message('{"send_text": {"text": "hi"}, "contextId": "c1"}', KINDS)
    assert isinstance(message, _SendText)
    assert message.send_text.text == "hi"
    assert message.contextId == "c1"


def test_an_already_decoded_object_is_accepted() -> None:
    message = decode_keyed_message({"flush_context": {}, "contextId": "c1"}, KINDS)
    assert isinstance(message, _Flush)


def test_no_known_key_is_an_unknown_message_named_by_its_keys() -> None:
    with pytest.raises(UnknownMessageType) as caught:
        decode_keyed_message('{"speak": {}, "contextId": "c1"}', KINDS)
    assert "contextId, speak" in str(caught.value)


def test_two_known_keys_are_malformed() -> None:
    frame = '{"send_text": {"text": "x"}, "flush_context": {}, "contextId": "c"}'
    with pytest.raises(MalformedMessage) as caught:
        decode_keyed_message(frame, KINDS)
    assert not isinstance(caught.value, UnknownMessageType)
    assert "send_text and flush_context" in str(caught.value)


def test_a_wrong_field_is_named_with_its_path_and_kind() -> None:
    with pytest.raises(MalformedMessage) as caught:
        decode_keyed_message('{"send_text": {"text": 3}, "contextId": "c"}', KINDS)
    assert caught.value.where == "send_text.text"
    assert caught.value.message_type == "send_text"


@pytest.mark.parametrize(
    ("frame", "what"),
    [
        (b"{}", "binary frame"),
        ("[1]", "expected a JSON object, got an array"),
        ('{"a": NaN}', "NaN is not JSON"),
        ("{", "not valid JSON"),
        ("[" * 100_000, "nested too deeply"),
    ],
)
def test_what_is_not_an_object_is_malformed(frame: str | bytes, what: str) -> None:
    with pytest.raises(MalformedMessage) as caught:
        load_json_object(frame)
    assert what in str(caught.value)
