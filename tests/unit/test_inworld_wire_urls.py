"""The three URL-join rules of Inworld (SPEC §5, wire capture §6): absolute for synthesis and
the TTS WebSocket, relative for the voices list, appended for STT."""

from __future__ import annotations

import pytest
from voicewire.reference.inworld.wire.urls import (
    DEFAULT_INWORLD_BASE_URL,
    DEFAULT_INWORLD_WS_URL,
    inworld_stt_url,
    stream_url,
    synthesize_url,
    voices_url,
)


def test_the_defaults_are_upstreams():
    assert synthesize_url(DEFAULT_INWORLD_BASE_URL) == "https://api.inworld.ai/tts/v1/voice:stream"
    assert stream_url(DEFAULT_INWORLD_WS_URL) == (
        "wss://api.inworld.ai/tts/v1/voice:streamBidirectional"
    )
    assert voices_url(DEFAULT_INWORLD_BASE_URL) == "https://api.inworld.ai/tts/v1/voices"
    assert inworld_stt_url(DEFAULT_INWORLD_BASE_URL) == (
        "wss://api.inworld.ai/stt/v1/transcribe:streamBidirectional"
    )


@pytest.mark.parametrize(
    "base", ["http://127.0.0.1:8080", "http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1/x/"]
)
def test_synthesis_drops_the_base_path(base):
    assert synthesize_url(base) == "http://127.0.0.1:8080/tts/v1/voice:stream"


@pytest.mark.parametrize("ws", ["ws://h:9", "ws://h:9/", "ws://h:9/some/path/"])
def test_the_tts_websocket_drops_the_base_path(ws):
    assert stream_url(ws) == "ws://h:9/tts/v1/voice:streamBidirectional"


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("http://h:9/", "http://h:9/tts/v1/voices"),
        ("http://h:9/v1/", "http://h:9/v1/tts/v1/voices"),
        # no trailing slash: the last segment is replaced, as urljoin does
        ("http://h:9/v1", "http://h:9/tts/v1/voices"),
        ("http://h:9/a/b/", "http://h:9/a/b/tts/v1/voices"),
    ],
)
def test_voices_join_relative_to_the_base(base, url):
    assert voices_url(base) == url


def test_the_language_filter_is_form_encoded_as_upstream_sends_it():
    assert voices_url("http://h:9/", "en") == "http://h:9/tts/v1/voices?filter=language%3Den"
    assert voices_url("http://h:9/", "pt-BR").endswith("?filter=language%3Dpt-BR")
    # an empty language is no filter (upstream tests ``if language``)
    assert voices_url("http://h:9/", "") == "http://h:9/tts/v1/voices"


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("https://h/", "wss://h/stt/v1/transcribe:streamBidirectional"),
        ("http://h:9", "ws://h:9/stt/v1/transcribe:streamBidirectional"),
        ("http://h:9/v1/", "ws://h:9/v1/stt/v1/transcribe:streamBidirectional"),
        ("http://h:9/v1//", "ws://h:9/v1/stt/v1/transcribe:streamBidirectional"),
        ("ws://h:9/p", "ws://h:9/p/stt/v1/transcribe:streamBidirectional"),
    ],
)
def test_stt_appends_to_the_base(base, url):
    assert inworld_stt_url(base) == url


@pytest.mark.parametrize(
    "function", [synthesize_url, voices_url, stream_url, inworld_stt_url], ids=lambda f: f.__name__
)
@pytest.mark.parametrize("url", ["127.0.0.1:8080", "api.inworld.ai/", "", "/tts/"])
def test_a_url_without_a_scheme_is_named(function, url):
    with pytest.raises(ValueError, match="not a URL with a scheme") as caught:
        function(url)
    assert repr(url) in str(caught.value)


def test_an_http_base_url_must_be_http():
    with pytest.raises(ValueError, match="base_url 'ws://h/'"):
        synthesize_url("ws://h/")
