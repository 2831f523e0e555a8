"""Authentication of the provider protocols (SPEC §1): both sides of it.

LiveKit inference (LLM, STT, TTS) sends ``Authorization: Bearer <jwt>`` on every request and
every WebSocket upgrade:

- the client side mints the token (:func:`create_access_token`, AUTH-1/AUTH-2) from credentials
  resolved by :meth:`InferenceCredentials.resolve` (AUTH-5);
- the server side (simulators, or a self-hosted gateway under test) extracts it with
  :func:`parse_bearer`, checks it with :func:`verify_access_token` (AUTH-4) and answers a
  rejection with 401 and :func:`authentication_error_body`.

Inworld sends ``Authorization: Basic <key>`` with the key verbatim (AUTH-6):
:func:`inworld_authorization` and :func:`verify_inworld_authorization`.

Everything here is pure: the clock is a ``now`` argument (defaulting to :func:`time.time`) and
the environment an ``environ`` mapping (defaulting to :data:`os.environ`).
"""

from __future__ import annotations

import functools
import math
import os
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from jwt.algorithms import HMACAlgorithm
from voicewire.reference.errors import error_body

__all__ = [
    "ACCESS_TOKEN_TTL",
    "DEFAULT_INFERENCE_URL",
    "TOKEN_REJECTION_REASONS",
    "VERIFY_LEEWAY",
    "InferenceClaims",
    "InferenceCredentials",
    "TokenRejected",
    "authentication_error_body",
    "create_access_token",
    "inworld_authorization",
    "parse_bearer",
    "verify_access_token",
    "verify_inworld_authorization",
]

DEFAULT_INFERENCE_URL = "https://agent-gateway.livekit.cloud/v1"
"""The LiveKit inference gateway, used when neither an argument nor ``LIVEKIT_INFERENCE_URL``
names a base URL (AUTH-5)."""

ACCESS_TOKEN_TTL = 600
"""Seconds between a token's ``nbf`` and its ``exp`` (AUTH-2)."""

VERIFY_LEEWAY = 10.0
"""Clock skew, in seconds, a server tolerates on ``exp`` and ``nbf`` (AUTH-4)."""

_ALGORITHM = "HS256"
_SUBJECT = "agent"

# Environment variables, in the order they are consulted (AUTH-5).
_API_KEY_ENV = ("LIVEKIT_INFERENCE_API_KEY", "LIVEKIT_API_KEY")
_API_SECRET_ENV = ("LIVEKIT_INFERENCE_API_SECRET", "LIVEKIT_API_SECRET")
_BASE_URL_ENV = "LIVEKIT_INFERENCE_URL"

TOKEN_REJECTION_REASONS: frozenset[str] = frozenset(
    {
        "missing_token",  # no Authorization header, or no credentials in it
        "malformed",  # not a JWT / Basic value, or a claim of the wrong JSON type
        "alg_not_allowed",  # any alg but HS256, including "none"
        "missing_claim",  # iss, exp or nbf absent
        "unknown_issuer",  # iss names no known API key
        "bad_signature",  # not signed with the issuer's secret
        "expired",  # exp in the past beyond the leeway
        "not_yet_valid",  # nbf in the future beyond the leeway
        "missing_inference_grant",  # inference.perform is not JSON true
        "unknown_key",  # Inworld: the Basic key is not a known one
    }
)
"""The stable machine codes :class:`TokenRejected` carries in ``reason``."""


class TokenRejected(Exception):
    """A server refuses the request's credentials; it answers 401 (AUTH-4, AUTH-6).

    ``reason`` is one of :data:`TOKEN_REJECTION_REASONS`, stable for machines (journals,
    suites); the exception's message says what was wrong for humans.
    """

    reason: str
    message: str

    def __init__(self, reason: str, message: str) -> None:
        if reason not in TOKEN_REJECTION_REASONS:
            raise ValueError(
                f"reason must be one of {sorted(TOKEN_REJECTION_REASONS)}, got {reason!r}"
            )
        # Both in args, so the exception pickles and copies as itself.
        super().__init__(reason, message)
        self.reason = reason
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"TokenRejected(reason={self.reason!r}, message={self.message!r})"


@dataclass(frozen=True)
class InferenceClaims:
    """What a verified inference token grants (AUTH-4).

    ``api_key`` is the token's ``iss``, ``subject`` its ``sub`` (``None`` when absent: servers do
    not require one), ``not_before``/``expires_at`` its ``nbf``/``exp`` in Unix seconds, and
    ``perform`` its ``inference.perform`` (always ``True`` once verified).
    """

    api_key: str
    subject: str | None
    not_before: float
    expires_at: float
    perform: bool


def create_access_token(
    api_key: str, api_secret: str, *, ttl: float = ACCESS_TOKEN_TTL, now: float | None = None
) -> str:
    """Mint the inference JWT a client sends as ``Authorization: Bearer <jwt>`` (AUTH-1, AUTH-2).

    Header ``{"alg": "HS256", "typ": "JWT"}``, signed with ``api_secret``; claims exactly
    ``iss`` = ``api_key``, ``sub`` = ``"agent"``, ``nbf`` = ``int(now)``,
    ``exp`` = ``nbf + int(ttl)`` and ``inference`` = ``{"perform": true}``.

    ``now`` is Unix seconds (default: :func:`time.time`). ``ttl`` is truncated to whole seconds
    and must be at least 1, since a shorter one would give a token that expires as it starts.
    Clients mint a fresh token per LLM ``chat()`` call and per WebSocket connect (AUTH-3).

    pyjwt emits ``jwt.InsecureKeyLengthWarning`` for secrets shorter than 32 bytes; it is left
    visible on purpose, since production secrets should be long.
    """
    _require_non_empty_str("api_key", api_key)
    _require_non_empty_str("api_secret", api_secret)
    ttl_value = _require_finite_number("ttl", ttl)
    if ttl_value < 1:
        raise ValueError(f"ttl must be >= 1 second, got {ttl_value}")
    issued = _now_seconds(now)
    not_before = int(issued)
    claims: dict[str, Any] = {
        "iss": api_key,
        "sub": _SUBJECT,
        "nbf": not_before,
        "exp": not_before + int(ttl_value),
        "inference": {"perform": True},
    }
    try:
        return jwt.encode(claims, api_secret, algorithm=_ALGORITHM, headers={"typ": "JWT"})
    except jwt.InvalidKeyError as exc:
        # pyjwt refuses secrets that look like PEM/SSH public keys (algorithm-confusion guard).
        raise ValueError(f"api_secret cannot be used as an HMAC secret: {exc}") from exc


def verify_access_token(
    token: str | None,
    credentials: Mapping[str, str],
    *,
    leeway: float = VERIFY_LEEWAY,
    now: float | None = None,
) -> InferenceClaims:
    """Check an inference token the way a server must before any stream or upgrade (AUTH-4).

    ``credentials`` maps each accepted API key to its secret (a server may accept several).
    ``now`` is Unix seconds (default: :func:`time.time`); ``leeway`` the tolerated clock skew.

    Checks, in this order, each failure raising :class:`TokenRejected` with the ``reason``
    shown:

    1. a token is present (``missing_token``) and is three base64url JSON segments
       (``malformed``);
    2. the header's ``alg`` is exactly ``HS256`` (``alg_not_allowed``: ``none``, ``HS512``,
       ``RS256``, absent...);
    3. ``iss`` is present (``missing_claim``), a string (``malformed``) and a key of
       ``credentials`` (``unknown_issuer``): the secret to check the signature with depends on
       it, so it is read from the payload before the signature is checked;
    4. the signature is the HS256 MAC of that key's secret (``bad_signature``);
    5. ``exp`` and ``nbf`` are present (``missing_claim``) and numbers (``malformed``);
       ``exp`` is later than ``now - leeway`` (``expired``) and ``nbf`` no later than
       ``now + leeway`` (``not_yet_valid``);
    6. ``inference`` is an object whose ``perform`` is JSON ``true``
       (``missing_inference_grant``; ``1`` or ``"true"`` do not count).

    ``sub`` is not required, but must be a string when present (``malformed``). Other claims
    (``aud``, ``iat``, other grants) are ignored: no other grant is required (AUTH-2).
    A secret pyjwt refuses to use for HMAC is a server misconfiguration: ``ValueError``.
    """
    if token is not None and not isinstance(token, str):
        raise TypeError(f"token must be a str or None, got {type(token).__name__}")
    if not isinstance(credentials, Mapping):
        raise TypeError(f"credentials must be a mapping, got {type(credentials).__name__}")
    leeway_value = _require_finite_number("leeway", leeway)
    if leeway_value < 0:
        raise ValueError(f"leeway must be >= 0, got {leeway_value}")
    current = _now_seconds(now)

    if token is None or not token.strip():
        raise TokenRejected("missing_token", "no access token: expected 'Bearer <jwt>'")

    try:
        # One parse of the whole token: the header names the algorithm, the payload the secret,
        # and the same segments are then checked against it (a server pays this per request
        # and per connect).
        decoded = _parsed_token(token)
    except jwt.InvalidTokenError as exc:
        raise TokenRejected("malformed", f"access token is not a valid JWT: {exc}") from exc
    alg = decoded["header"].get("alg")
    if alg != _ALGORITHM:
        raise TokenRejected(
            "alg_not_allowed", f"access token alg {alg!r} is not allowed: only HS256 is"
        )

    unverified = decoded["payload"]
    issuer = unverified.get("iss")
    if issuer is None:
        raise TokenRejected("missing_claim", "access token has no 'iss' (API key) claim")
    if not isinstance(issuer, str):
        raise TokenRejected(
            "malformed", f"access token 'iss' must be a string, got {type(issuer).__name__}"
        )
    secret = credentials.get(issuer)
    if secret is None:
        raise TokenRejected("unknown_issuer", f"unknown API key {issuer!r} in access token 'iss'")
    # A bad secret is the server's misconfiguration, not the client's fault: no TokenRejected.
    if not isinstance(secret, str) or not secret:
        raise ValueError(f"credentials[{issuer!r}] must be a non-empty str secret")

    _check_signature(token, decoded["signature"], issuer, secret)
    claims = unverified

    expires_at = _numeric_date(claims, "exp")
    not_before = _numeric_date(claims, "nbf")
    if expires_at <= current - leeway_value:
        raise TokenRejected(
            "expired",
            f"access token expired: exp {expires_at} is {current - expires_at:.0f} s in the past",
        )
    if not_before > current + leeway_value:
        raise TokenRejected(
            "not_yet_valid",
            f"access token not yet valid: nbf {not_before} is "
            f"{not_before - current:.0f} s in the future",
        )

    subject = claims.get("sub")
    if subject is not None and not isinstance(subject, str):
        raise TokenRejected(
            "malformed", f"access token 'sub' must be a string, got {type(subject).__name__}"
        )

    grant = claims.get("inference")
    # `is True`: JSON true only, not 1 (which == True in Python) nor the string "true".
    if not isinstance(grant, dict) or grant.get("perform") is not True:
        raise TokenRejected(
            "missing_inference_grant",
            f"access token does not grant inference: 'inference' is {grant!r}, "
            'expected {"perform": true}',
        )

    return InferenceClaims(
        api_key=issuer,
        subject=subject,
        not_before=not_before,
        expires_at=expires_at,
        perform=True,
    )


def parse_bearer(header_value: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, or ``None``.

    The scheme is matched case-insensitively (HTTP auth schemes are). ``None`` comes back for a
    missing or blank header, another scheme, or a ``Bearer`` without a token; pass the result to
    :func:`verify_access_token`, which reports ``None`` as ``missing_token``.
    """
    credentials = _credentials_for_scheme(header_value, "bearer")
    return credentials or None


def authentication_error_body(message: str) -> dict[str, Any]:
    """The JSON body of a 401 answer (AUTH-4):
    ``{"error": {"message": message, "type": "authentication_error", "code": 401}}``."""
    if not isinstance(message, str):
        raise TypeError(f"message must be a str, got {type(message).__name__}")
    return error_body(401, message, "authentication_error")


@dataclass(frozen=True)
class InferenceCredentials:
    """What a LiveKit inference client needs to authenticate: key, secret and base URL (AUTH-5).

    The secret is kept out of ``repr`` so credentials can be logged.
    """

    api_key: str
    api_secret: str = field(repr=False)
    base_url: str = DEFAULT_INFERENCE_URL

    def __post_init__(self) -> None:
        _require_non_empty_str("api_key", self.api_key)
        _require_non_empty_str("api_secret", self.api_secret)
        _require_non_empty_str("base_url", self.base_url)

    @classmethod
    def resolve(
        cls,
        api_key: str | None = None,
        api_secret: str | None = None,
        base_url: str | None = None,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> InferenceCredentials:
        """Resolve credentials as a client constructor must (AUTH-5).

        - key: ``api_key``, else ``LIVEKIT_INFERENCE_API_KEY``, else ``LIVEKIT_API_KEY``;
        - secret: ``api_secret``, else ``LIVEKIT_INFERENCE_API_SECRET``, else
          ``LIVEKIT_API_SECRET``;
        - base URL: ``base_url``, else ``LIVEKIT_INFERENCE_URL``, else
          :data:`DEFAULT_INFERENCE_URL`.

        ``None`` means "not given"; an empty environment variable counts as unset, but an
        explicitly passed empty string is an error. A missing key or secret raises
        ``ValueError`` naming what is missing and the variables consulted. ``environ`` defaults
        to :data:`os.environ`.
        """
        env: Mapping[str, str] = os.environ if environ is None else environ
        if not isinstance(env, Mapping):
            raise TypeError(f"environ must be a mapping, got {type(env).__name__}")
        for name, value in (("api_key", api_key), ("api_secret", api_secret)):
            if value is not None:
                _require_non_empty_str(name, value)
        if base_url is not None:
            _require_non_empty_str("base_url", base_url)

        key = api_key if api_key is not None else _first_env(env, _API_KEY_ENV)
        secret = api_secret if api_secret is not None else _first_env(env, _API_SECRET_ENV)
        missing = [
            f"{name} (pass {name}= or set {' or '.join(variables)})"
            for name, value, variables in (
                ("api_key", key, _API_KEY_ENV),
                ("api_secret", secret, _API_SECRET_ENV),
            )
            if value is None
        ]
        if key is None or secret is None:
            raise ValueError(f"LiveKit inference credentials missing: {'; '.join(missing)}")
        url = base_url
        if url is None:
            url = _first_env(env, (_BASE_URL_ENV,)) or DEFAULT_INFERENCE_URL
        return cls(api_key=key, api_secret=secret, base_url=url)

    def access_token(self, *, ttl: float = ACCESS_TOKEN_TTL, now: float | None = None) -> str:
        """A fresh token for these credentials: :func:`create_access_token` (AUTH-1..3)."""
        return create_access_token(self.api_key, self.api_secret, ttl=ttl, now=now)


def inworld_authorization(api_key: str) -> str:
    """The ``Authorization`` value of an Inworld request: ``"Basic " + api_key`` (AUTH-6).

    The key goes out exactly as configured: Inworld hands out keys that are already base64
    ``key:secret`` pairs, so encoding it again would break it.
    """
    _require_non_empty_str("api_key", api_key)
    return f"Basic {api_key}"


def verify_inworld_authorization(header_value: str | None, known_keys: Collection[str]) -> str:
    """The key of an Inworld ``Authorization: Basic <key>`` header if it is a known one (AUTH-6).

    Raises :class:`TokenRejected`: ``missing_token`` for a missing or blank header,
    ``malformed`` for another scheme or a ``Basic`` without a key, ``unknown_key`` for a key not
    in ``known_keys`` (compared verbatim, no decoding).
    """
    if header_value is not None and not isinstance(header_value, str):
        raise TypeError(f"header_value must be a str or None, got {type(header_value).__name__}")
    if isinstance(known_keys, str) or not isinstance(known_keys, Collection):
        raise TypeError(f"known_keys must be a collection of str, got {type(known_keys).__name__}")
    if header_value is None or not header_value.strip():
        raise TokenRejected("missing_token", "no Authorization header: expected 'Basic <key>'")
    key = _credentials_for_scheme(header_value, "basic")
    if not key:
        raise TokenRejected(
            "malformed", "Authorization header is not 'Basic <key>' as Inworld expects"
        )
    if key not in known_keys:
        raise TokenRejected("unknown_key", "unknown Inworld API key")
    return key


_HS256 = HMACAlgorithm(HMACAlgorithm.SHA256)


@functools.lru_cache(maxsize=4096)
def _parsed_token(token: str) -> dict[str, Any]:
    # pyjwt checks every character of every segment in Python, which dominates a server's
    # admission cost; a token is parsed once however often it is presented (its signature and
    # time claims are still checked every time). Callers never mutate what comes back.
    return jwt.api_jwt.decode_complete(token, options={"verify_signature": False})


@functools.lru_cache(maxsize=1024)
def _hmac_key(secret: str) -> bytes:
    # pyjwt's own guard refuses a secret that looks like a PEM or SSH public key; its regular
    # expressions cost more than the MAC itself, and a server checks the same few secrets.
    return _HS256.prepare_key(secret)


def _check_signature(token: str, signature: bytes, issuer: str, secret: str) -> None:
    """Raise :class:`TokenRejected` unless ``signature`` is the HS256 MAC of the token's
    signing input (its first two segments, as sent) under ``secret``."""
    try:
        key = _hmac_key(secret)
    except jwt.InvalidKeyError as exc:
        raise ValueError(
            f"the secret configured for API key {issuer!r} cannot be used for HS256: {exc}"
        ) from exc
    signing_input = token.rsplit(".", 1)[0].encode("utf-8")
    if not _HS256.verify(signing_input, key, signature):
        raise TokenRejected(
            "bad_signature", f"access token signature does not match API key {issuer!r}"
        )


def _numeric_date(claims: Mapping[str, Any], name: str) -> float:
    if name not in claims or claims[name] is None:
        raise TokenRejected("missing_claim", f"access token has no {name!r} claim")
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TokenRejected(
            "malformed", f"access token {name!r} must be a number of seconds, got {value!r}"
        )
    return value


def _credentials_for_scheme(header_value: str | None, scheme: str) -> str | None:
    """What follows ``scheme`` (matched case-insensitively) in an Authorization value, stripped;
    ``None`` for a missing value or another scheme, ``""`` for the scheme alone."""
    if header_value is None:
        return None
    if not isinstance(header_value, str):
        raise TypeError(f"header_value must be a str or None, got {type(header_value).__name__}")
    parts = header_value.strip().split(None, 1)
    if not parts or parts[0].lower() != scheme:
        return None
    return parts[1].strip() if len(parts) == 2 else ""


def _first_env(environ: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = environ.get(name)
        if value:
            return value
    return None


def _now_seconds(now: float | None) -> float:
    if now is None:
        return time.time()
    value = _require_finite_number("now", now)
    if value < 0:
        raise ValueError(f"now must be >= 0 (Unix seconds), got {value}")
    return value


def _require_non_empty_str(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if not value:
        raise ValueError(f"{name} must not be empty")
    return value


def _require_finite_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value
