"""Secrets never reach a cassette: what the recorder redacts, before a record is written.

A bearer token is replaced by ``<redacted>`` and its claims are kept beside the request (as
the journal keeps them: ``iss``, ``sub``, ``nbf``, ``exp``, ``inference`` and a fingerprint,
the first 16 hex digits of the token's SHA-256), read without checking the signature (the
recorder does not know the secret). A Basic key, an API key header, a cookie and a secret in
the query string are replaced by ``<redacted>``. :data:`REDACTION_RULES` says all this in the
cassette's header.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

import jwt

__all__ = ["REDACTED", "REDACTION_RULES", "redact_headers", "redact_query"]

REDACTED = "<redacted>"

_SECRET_HEADERS = frozenset(
    {"x-api-key", "api-key", "cookie", "set-cookie", "proxy-authorization", "x-goog-api-key"}
)
_SECRET_QUERY = frozenset({"key", "api_key", "apikey", "token", "access_token", "secret"})
# Headers that describe one hop of one connection: kept out of a cassette since a replay
# makes its own (and websockets' per-connection key means nothing later).
_HOP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "upgrade",
        "transfer-encoding",
        "sec-websocket-key",
        "sec-websocket-accept",
        "sec-websocket-extensions",
        "sec-websocket-version",
        "content-length",
        "host",
        "date",
    }
)

REDACTION_RULES = [
    "Authorization: Bearer <token> -> Bearer <redacted>; the token's claims and a fingerprint "
    "(sha256, 16 hex digits) are kept in the request's 'token'",
    "Authorization: Basic <key> (and any other scheme) -> <scheme> <redacted>",
    "headers " + ", ".join(sorted(_SECRET_HEADERS)) + " -> <redacted>",
    "query parameters " + ", ".join(sorted(_SECRET_QUERY)) + " -> <redacted>",
    "hop-by-hop headers (" + ", ".join(sorted(_HOP_HEADERS)) + ") are not recorded",
]
"""The rules, as the cassette header lists them."""


def _token_summary(token: str) -> dict[str, Any]:
    summary: dict[str, Any] = {"fingerprint": hashlib.sha256(token.encode()).hexdigest()[:16]}
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        summary["unreadable"] = str(error)
        return summary
    summary["claims"] = {
        name: claims[name] for name in ("iss", "sub", "nbf", "exp", "inference") if name in claims
    }
    return summary


def redact_headers(
    headers: Iterable[tuple[str, str]],
) -> tuple[dict[str, str], dict[str, Any] | None]:
    """The headers as a cassette keeps them (names lower-cased; repeated ones joined with
    ``", "``) and the bearer token's summary, if one was sent."""
    kept: dict[str, str] = {}
    token: dict[str, Any] | None = None
    for name, value in headers:
        lower = name.lower()
        if lower in _HOP_HEADERS:
            continue
        if lower == "authorization":
            scheme, _, credentials = value.partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                token = _token_summary(credentials.strip())
            value = f"{scheme} {REDACTED}" if credentials else REDACTED
        elif lower in _SECRET_HEADERS:
            value = REDACTED
        kept[lower] = f"{kept[lower]}, {value}" if lower in kept else value
    return kept, token


def redact_query(query: str) -> str:
    """A query string with its secret parameters' values replaced (order kept)."""
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(name.lower() in _SECRET_QUERY for name, _ in pairs):
        return query
    return urlencode(
        [(name, REDACTED if name.lower() in _SECRET_QUERY else value) for name, value in pairs]
    )
