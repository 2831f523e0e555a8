"""Where each Inworld request goes (SPEC §5, wire capture §6 and §9.6).

Inworld's three endpoint families are joined to their base URL by three different rules,
each of which a port may get wrong:

* ``POST /tts/v1/voice:stream`` and the ``/tts/v1/voice:streamBidirectional`` WebSocket are
  joined with an ABSOLUTE path (``urljoin(base, "/tts/...")``): any path in the base URL is
  dropped, only scheme and host:port count (IW-HTTP-1, IW-WS-1).
* ``GET tts/v1/voices`` is joined with a RELATIVE path (``urljoin(base, "tts/v1/voices")``):
  it resolves under the base's last ``/`` (so ``http://h/v1/`` gives ``http://h/v1/tts/...``
  but ``http://h/v1`` gives ``http://h/tts/...``), with ``filter=language=<code>`` as its
  query, form-encoded (``filter=language%3Den``) (IW-VOICES-1).
* The STT WebSocket APPENDS its path to the base URL after turning ``https`` into ``wss`` and
  ``http`` into ``ws`` (SPEC §5.3).

Pure functions; a URL without a scheme and host raises :class:`ValueError` naming it.
"""

from __future__ import annotations

from urllib.parse import urlencode, urljoin, urlsplit

__all__ = [
    "DEFAULT_INWORLD_BASE_URL",
    "DEFAULT_INWORLD_WS_URL",
    "STREAM_PATH",
    "STT_PATH",
    "SYNTHESIZE_PATH",
    "VOICES_PATH",
    "inworld_stt_url",
    "stream_url",
    "synthesize_url",
    "voices_url",
]

DEFAULT_INWORLD_BASE_URL = "https://api.inworld.ai/"
"""Upstream's ``base_url`` default, for HTTP synthesis, the voices list and STT."""
DEFAULT_INWORLD_WS_URL = "wss://api.inworld.ai/"
"""Upstream's ``ws_url`` default, for TTS over WebSocket."""

SYNTHESIZE_PATH = "/tts/v1/voice:stream"
"""The HTTP synthesis route, absolute (the base path is dropped)."""
VOICES_PATH = "tts/v1/voices"
"""The voices route, relative to the base URL."""
STREAM_PATH = "/tts/v1/voice:streamBidirectional"
"""The TTS WebSocket route, absolute (the base path is dropped)."""
STT_PATH = "stt/v1/transcribe:streamBidirectional"
"""The STT WebSocket route, appended to the base URL."""

_HTTP_SCHEMES = frozenset({"http", "https"})
_WS_SCHEMES = frozenset({"ws", "wss", "http", "https"})


def _require_scheme(url: str, name: str, schemes: frozenset[str]) -> None:
    # urljoin on a URL without a scheme quietly yields a relative path that no HTTP client
    # can open, so the mistake is named here instead of at connect time.
    if not isinstance(url, str):
        raise ValueError(f"{name} must be a string URL, got {type(url).__name__}")
    parts = urlsplit(url)
    if parts.scheme.lower() not in schemes or not parts.netloc:
        allowed = "/".join(sorted(schemes))
        raise ValueError(f"{name} {url!r} is not a URL with a scheme ({allowed}) and a host")


def synthesize_url(base_url: str) -> str:
    """The ``POST`` URL of HTTP synthesis: :data:`SYNTHESIZE_PATH` joined as an absolute
    path, so ``http://h:1/v1/`` gives ``http://h:1/tts/v1/voice:stream`` (IW-HTTP-1)."""
    _require_scheme(base_url, "base_url", _HTTP_SCHEMES)
    return urljoin(base_url, SYNTHESIZE_PATH)


def voices_url(base_url: str, language: str | None = None) -> str:
    """The ``GET`` URL of the voices list: :data:`VOICES_PATH` joined relative to
    ``base_url``, with ``?filter=language%3D<language>`` when ``language`` is non-empty (an
    empty string sends no filter, as upstream's ``if language``) (IW-VOICES-1)."""
    _require_scheme(base_url, "base_url", _HTTP_SCHEMES)
    url = urljoin(base_url, VOICES_PATH)
    if language:
        url += "?" + urlencode({"filter": f"language={language}"})
    return url


def stream_url(ws_url: str) -> str:
    """The TTS WebSocket URL: :data:`STREAM_PATH` joined as an absolute path to ``ws_url``
    (IW-WS-1)."""
    _require_scheme(ws_url, "ws_url", _WS_SCHEMES)
    return urljoin(ws_url, STREAM_PATH)


def inworld_stt_url(base_url: str) -> str:
    """The STT WebSocket URL: ``base_url`` with ``https://`` → ``wss://`` and ``http://`` →
    ``ws://``, its trailing slashes stripped, then ``/`` + :data:`STT_PATH` appended: the base
    path is kept (SPEC §5.3)."""
    _require_scheme(base_url, "base_url", _WS_SCHEMES)
    scheme, sep, rest = base_url.partition("://")
    ws_scheme = {"https": "wss", "http": "ws"}.get(scheme.lower(), scheme)
    return ws_scheme + sep + rest.rstrip("/") + "/" + STT_PATH
