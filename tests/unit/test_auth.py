"""Tests of reference.auth: the inference JWT both ways (AUTH-1..5) and Inworld Basic (AUTH-6)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import pickle
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from voicewire.reference.auth import (
    ACCESS_TOKEN_TTL,
    DEFAULT_INFERENCE_URL,
    TOKEN_REJECTION_REASONS,
    InferenceClaims,
    InferenceCredentials,
    TokenRejected,
    authentication_error_body,
    create_access_token,
    inworld_authorization,
    parse_bearer,
    verify_access_token,
    verify_inworld_authorization,
)

KEY = "APIdevkey7Qx"
# Long enough (64 bytes, HS512's digest) that pyjwt warns about no short HMAC key, even when
# the table below signs with HS384/HS512.
SECRET = "dev-secret-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQ"
OTHER_KEY = "APIotherkey9"
OTHER_SECRET = "other-secret-0123456789abcdefghijklmnopqrstuvw"
CREDENTIALS = {KEY: SECRET, OTHER_KEY: OTHER_SECRET}
NOW = 1_800_000_000

# Hypothesis draws short secrets on purpose; pyjwt's advice to use long ones is noise there.
ignore_short_key = pytest.mark.filterwarnings("ignore::jwt.InsecureKeyLengthWarning")

_DROP = object()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json_segment(obj: object) -> str:
    return _b64url(json.dumps(obj, separators=(",", ":")).encode("utf-8"))


def _claims(**overrides: object) -> dict[str, Any]:
    """The claims a conforming client sends at NOW, with some replaced or dropped."""
    claims: dict[str, Any] = {
        "iss": KEY,
        "sub": "agent",
        "nbf": NOW,
        "exp": NOW + ACCESS_TOKEN_TTL,
        "inference": {"perform": True},
    }
    for name, value in overrides.items():
        if value is _DROP:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def _hs256(claims: dict[str, Any], secret: str = SECRET) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def _crafted(header: object, claims: object, secret: str | None = SECRET) -> str:
    """A token built by hand, for what pyjwt refuses to encode. With a secret, the signature is
    a real HMAC-SHA256 of the signing input (whatever the header claims); without, junk."""
    signing_input = f"{_json_segment(header)}.{_json_segment(claims)}"
    if secret is None:
        signature = b"\x01" * 256
    else:
        signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


def _tampered_signature(token: str) -> str:
    head, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 0x01
    return f"{head}.{payload}.{_b64url(bytes(raw))}"


def _spliced_payload(token: str, claims: dict[str, Any]) -> str:
    """``token``'s header and signature around a different payload."""
    head, _, signature = token.split(".")
    return f"{head}.{_json_segment(claims)}.{signature}"


_HS = {"alg": "HS256", "typ": "JWT"}

# Each case: id -> (token builder, expected reason). Builders run in the test, not at import.
REJECTIONS: dict[str, tuple[Callable[[], str | None], str]] = {
    # missing
    "no-token": (lambda: None, "missing_token"),
    "empty-token": (lambda: "", "missing_token"),
    "blank-token": (lambda: "   ", "missing_token"),
    # malformed
    "not-a-jwt": (lambda: "not-a-jwt", "malformed"),
    "two-segments": (lambda: ".".join(_hs256(_claims()).split(".")[:2]), "malformed"),
    "garbage-segments": (lambda: "%%%.&&&.***", "malformed"),
    "header-not-json": (lambda: f"{_b64url(b'{oops')}.{_json_segment(_claims())}.sig", "malformed"),
    "header-not-object": (lambda: _crafted(["HS256"], _claims()), "malformed"),
    "payload-not-object": (lambda: _crafted(_HS, ["iss", KEY]), "malformed"),
    "iss-not-string": (lambda: _crafted(_HS, _claims(iss=123)), "malformed"),
    "exp-not-number": (lambda: _hs256(_claims(exp="soon")), "malformed"),
    "nbf-bool": (lambda: _hs256(_claims(nbf=True)), "malformed"),
    "sub-not-string": (lambda: _hs256(_claims(sub=7)), "malformed"),
    # algorithm
    "alg-none": (lambda: jwt.encode(_claims(), None, algorithm="none"), "alg_not_allowed"),
    "alg-none-hs256-mac": (lambda: _crafted({"alg": "none"}, _claims()), "alg_not_allowed"),
    "alg-HS384": (lambda: jwt.encode(_claims(), SECRET, algorithm="HS384"), "alg_not_allowed"),
    "alg-HS512": (lambda: jwt.encode(_claims(), SECRET, algorithm="HS512"), "alg_not_allowed"),
    "alg-RS256": (
        lambda: _crafted({"alg": "RS256", "typ": "JWT"}, _claims(), None),
        "alg_not_allowed",
    ),
    # The classic confusion: an RS256 header over a MAC made with the shared secret.
    "alg-RS256-hmac": (
        lambda: _crafted({"alg": "RS256", "typ": "JWT"}, _claims()),
        "alg_not_allowed",
    ),
    "alg-lowercase": (
        lambda: _crafted({"alg": "hs256", "typ": "JWT"}, _claims()),
        "alg_not_allowed",
    ),
    "alg-absent": (lambda: _crafted({"typ": "JWT"}, _claims()), "alg_not_allowed"),
    # issuer
    "iss-missing": (lambda: _hs256(_claims(iss=_DROP)), "missing_claim"),
    "iss-unknown": (lambda: _hs256(_claims(iss="APIstranger")), "unknown_issuer"),
    # signature
    "signed-with-other-secret": (lambda: _hs256(_claims(), "not-" + SECRET), "bad_signature"),
    # A real key's token re-labelled as another known key: the secrets must not be interchangeable.
    "iss-other-known-key": (lambda: _hs256(_claims(iss=OTHER_KEY), SECRET), "bad_signature"),
    "signature-bit-flip": (lambda: _tampered_signature(_hs256(_claims())), "bad_signature"),
    "payload-swapped": (
        lambda: _spliced_payload(_hs256(_claims()), _claims(exp=NOW + 10**6)),
        "bad_signature",
    ),
    "signature-empty": (lambda: _hs256(_claims()).rsplit(".", 1)[0] + ".", "bad_signature"),
    # time
    "exp-missing": (lambda: _hs256(_claims(exp=_DROP)), "missing_claim"),
    "nbf-missing": (lambda: _hs256(_claims(nbf=_DROP)), "missing_claim"),
    "exp-past": (lambda: _hs256(_claims(nbf=NOW - 700, exp=NOW - 100)), "expired"),
    "nbf-future": (lambda: _hs256(_claims(nbf=NOW + 100, exp=NOW + 700)), "not_yet_valid"),
    # inference grant
    "inference-missing": (lambda: _hs256(_claims(inference=_DROP)), "missing_inference_grant"),
    "inference-empty": (lambda: _hs256(_claims(inference={})), "missing_inference_grant"),
    "perform-false": (
        lambda: _hs256(_claims(inference={"perform": False})),
        "missing_inference_grant",
    ),
    "perform-string": (
        lambda: _hs256(_claims(inference={"perform": "true"})),
        "missing_inference_grant",
    ),
    "perform-one": (lambda: _hs256(_claims(inference={"perform": 1})), "missing_inference_grant"),
    "inference-true": (lambda: _hs256(_claims(inference=True)), "missing_inference_grant"),
    "inference-list": (
        lambda: _hs256(_claims(inference=[{"perform": True}])),
        "missing_inference_grant",
    ),
    "video-grant-only": (
        lambda: _hs256(_claims(inference=_DROP, video={"roomJoin": True})),
        "missing_inference_grant",
    ),
}


@pytest.mark.spec("AUTH-1", "AUTH-2")
def test_token_header_and_claims_are_exactly_the_specified_ones():
    token = create_access_token(KEY, SECRET, now=NOW)

    # The raw segment, not pyjwt's view of it: no kid, no extra header field of any kind.
    header_segment = token.split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(header_segment + "=" * (-len(header_segment) % 4)))
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert jwt.decode(token, options={"verify_signature": False}) == {
        "iss": KEY,
        "sub": "agent",
        "nbf": NOW,
        "exp": NOW + 600,
        "inference": {"perform": True},
    }
    # Signed with the secret, by HS256: a plain verification with pyjwt accepts it.
    verified = jwt.decode(
        token, SECRET, algorithms=["HS256"], options={"verify_exp": False, "verify_nbf": False}
    )
    assert verified["iss"] == KEY


@pytest.mark.spec("AUTH-2")
@ignore_short_key
@given(now=st.floats(min_value=0, max_value=4e9, allow_nan=False, allow_infinity=False))
def test_nbf_is_now_in_whole_seconds_and_exp_600_later(now: float):
    claims = jwt.decode(
        create_access_token(KEY, SECRET, now=now), options={"verify_signature": False}
    )

    assert claims["nbf"] == int(now)
    assert isinstance(claims["nbf"], int)
    assert isinstance(claims["exp"], int)
    assert claims["exp"] - claims["nbf"] == 600


@pytest.mark.spec("AUTH-1", "AUTH-2", "AUTH-4")
@ignore_short_key
@given(
    api_key=st.text(min_size=1),
    api_secret=st.text(min_size=1),
    now=st.integers(min_value=0, max_value=2**33),
    ttl=st.integers(min_value=1, max_value=10**6),
)
def test_created_tokens_verify_for_any_key_and_secret(
    api_key: str, api_secret: str, now: int, ttl: int
):
    token = create_access_token(api_key, api_secret, ttl=ttl, now=now)

    claims = verify_access_token(token, {api_key: api_secret}, now=now)

    assert claims == InferenceClaims(
        api_key=api_key, subject="agent", not_before=now, expires_at=now + ttl, perform=True
    )


@pytest.mark.spec("AUTH-4")
@ignore_short_key
@given(api_key=st.text(min_size=1), secret=st.text(min_size=1), wrong=st.text(min_size=1))
def test_a_token_signed_with_another_secret_is_rejected(api_key: str, secret: str, wrong: str):
    # HMAC pads short keys with zero bytes, so "k" and "k\0" are the same key: not a forgery.
    assume(secret.encode().rstrip(b"\0") != wrong.encode().rstrip(b"\0"))
    token = create_access_token(api_key, wrong, now=NOW)

    with pytest.raises(TokenRejected) as caught:
        verify_access_token(token, {api_key: secret}, now=NOW)

    assert caught.value.reason == "bad_signature"


@pytest.mark.spec("AUTH-4")
@pytest.mark.parametrize("case", list(REJECTIONS))
def test_each_bad_token_is_rejected_with_its_reason(case: str):
    build, reason = REJECTIONS[case]
    token = build()

    with pytest.raises(TokenRejected) as caught:
        verify_access_token(token, CREDENTIALS, now=NOW)

    assert caught.value.reason == reason
    assert caught.value.reason in TOKEN_REJECTION_REASONS
    assert str(caught.value)  # a human message the 401 body can carry
    assert str(caught.value) != reason


@pytest.mark.spec("AUTH-4")
def test_the_control_token_of_the_rejection_table_is_accepted():
    # Guards the table above: its tokens differ from this one only in what each case breaks.
    claims = verify_access_token(_hs256(_claims()), CREDENTIALS, now=NOW)

    assert claims.api_key == KEY
    assert claims.perform is True


@pytest.mark.spec("AUTH-4")
def test_a_server_accepts_each_of_several_keys_with_its_own_secret():
    for key, secret in CREDENTIALS.items():
        token = create_access_token(key, secret, now=NOW)
        assert verify_access_token(token, CREDENTIALS, now=NOW).api_key == key


@pytest.mark.spec("AUTH-4")
def test_claims_beyond_the_inference_grant_are_not_required_nor_refused():
    token = _hs256(_claims(sub=_DROP, iat=NOW, aud="someone", video={"roomJoin": True}))

    claims = verify_access_token(token, CREDENTIALS, now=NOW)

    assert claims.subject is None
    assert claims.api_key == KEY


@pytest.mark.spec("AUTH-4")
@pytest.mark.parametrize(
    ("exp_offset", "accepted"),
    [(1, True), (0, True), (-9, True), (-10, False), (-11, False), (-600, False)],
)
def test_exp_is_allowed_10_seconds_of_leeway(exp_offset: int, accepted: bool):
    token = _hs256(_claims(nbf=NOW - 700, exp=NOW + exp_offset))

    if accepted:
        assert verify_access_token(token, CREDENTIALS, now=NOW).expires_at == NOW + exp_offset
    else:
        with pytest.raises(TokenRejected) as caught:
            verify_access_token(token, CREDENTIALS, now=NOW)
        assert caught.value.reason == "expired"


@pytest.mark.spec("AUTH-4")
@pytest.mark.parametrize(
    ("nbf_offset", "accepted"),
    [(-1, True), (0, True), (9, True), (10, True), (11, False), (600, False)],
)
def test_nbf_is_allowed_10_seconds_of_leeway(nbf_offset: int, accepted: bool):
    token = _hs256(_claims(nbf=NOW + nbf_offset, exp=NOW + 1000))

    if accepted:
        assert verify_access_token(token, CREDENTIALS, now=NOW).not_before == NOW + nbf_offset
    else:
        with pytest.raises(TokenRejected) as caught:
            verify_access_token(token, CREDENTIALS, now=NOW)
        assert caught.value.reason == "not_yet_valid"


@pytest.mark.spec("AUTH-4")
def test_a_token_is_valid_for_its_ttl_plus_the_leeway_and_no_longer():
    token = create_access_token(KEY, SECRET, now=NOW)

    assert verify_access_token(token, CREDENTIALS, now=NOW + 609).api_key == KEY
    with pytest.raises(TokenRejected) as caught:
        verify_access_token(token, CREDENTIALS, now=NOW + 611)
    assert caught.value.reason == "expired"


def test_leeway_is_configurable():
    token = _hs256(_claims(nbf=NOW - 700, exp=NOW - 30))

    assert verify_access_token(token, CREDENTIALS, now=NOW, leeway=31).api_key == KEY
    with pytest.raises(TokenRejected):
        verify_access_token(token, CREDENTIALS, now=NOW, leeway=0)


def test_verify_uses_the_wall_clock_by_default():
    # A token minted now (by the default clock) is valid now.
    assert verify_access_token(create_access_token(KEY, SECRET), CREDENTIALS).api_key == KEY


def test_an_unknown_issuer_is_rejected_before_any_secret_is_tried():
    with pytest.raises(TokenRejected) as caught:
        verify_access_token(create_access_token(KEY, SECRET, now=NOW), {}, now=NOW)

    assert caught.value.reason == "unknown_issuer"
    assert KEY in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "error", "names"),
    [
        ({"api_key": ""}, ValueError, "api_key"),
        ({"api_secret": ""}, ValueError, "api_secret"),
        ({"api_key": None}, TypeError, "api_key"),
        ({"api_secret": b"bytes"}, TypeError, "api_secret"),
        ({"ttl": 0}, ValueError, "ttl"),
        ({"ttl": -600}, ValueError, "ttl"),
        ({"ttl": 0.5}, ValueError, "ttl"),
        ({"ttl": float("nan")}, ValueError, "ttl"),
        ({"ttl": True}, TypeError, "ttl"),
        ({"ttl": "600"}, TypeError, "ttl"),
        ({"now": -1}, ValueError, "now"),
        ({"now": float("inf")}, ValueError, "now"),
        ({"now": "now"}, TypeError, "now"),
    ],
)
def test_create_access_token_rejects_bad_arguments(
    kwargs: dict[str, Any], error: type[Exception], names: str
):
    arguments: dict[str, Any] = {"api_key": KEY, "api_secret": SECRET, "now": NOW, **kwargs}

    with pytest.raises(error, match=names):
        create_access_token(**arguments)


def test_a_secret_that_looks_like_a_public_key_is_refused_by_name():
    pem = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYI\n-----END PUBLIC KEY-----\n"

    with pytest.raises(ValueError, match="api_secret"):
        create_access_token(KEY, pem, now=NOW)
    with pytest.raises(ValueError, match=KEY):
        verify_access_token(_crafted(_HS, _claims(), pem), {KEY: pem}, now=NOW)


@pytest.mark.parametrize(
    ("call", "error", "names"),
    [
        (lambda: verify_access_token(b"token", CREDENTIALS), TypeError, "token"),  # type: ignore[arg-type]
        (lambda: verify_access_token("t", [(KEY, SECRET)]), TypeError, "credentials"),  # type: ignore[arg-type]
        (lambda: verify_access_token("t", CREDENTIALS, leeway=-1), ValueError, "leeway"),
        (lambda: verify_access_token("t", CREDENTIALS, leeway=False), TypeError, "leeway"),
        (lambda: verify_access_token("t", CREDENTIALS, now=float("nan")), ValueError, "now"),
        (
            lambda: verify_access_token(_hs256(_claims()), {KEY: ""}, now=NOW),
            ValueError,
            "credentials",
        ),
    ],
)
def test_verify_access_token_rejects_bad_arguments(
    call: Callable[[], object], error: type[Exception], names: str
):
    with pytest.raises(error, match=names):
        call()


def test_token_rejected_carries_reason_and_message():
    rejected = TokenRejected("expired", "access token expired")

    assert (rejected.reason, rejected.message, str(rejected)) == (
        "expired",
        "access token expired",
        "access token expired",
    )
    assert pickle.loads(pickle.dumps(rejected)).reason == "expired"
    with pytest.raises(ValueError, match="reason"):
        TokenRejected("nope", "not a stable code")


@pytest.mark.spec("AUTH-4")
def test_authentication_error_body_is_exactly_the_specified_json():
    body = authentication_error_body("unknown API key 'x'")

    assert body == {
        "error": {"message": "unknown API key 'x'", "type": "authentication_error", "code": 401}
    }
    assert json.loads(json.dumps(body)) == body
    with pytest.raises(TypeError, match="message"):
        authentication_error_body(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc.def.ghi", "abc.def.ghi"),
        ("BEARER   abc.def.ghi  ", "abc.def.ghi"),
        ("  Bearer\tabc.def.ghi", "abc.def.ghi"),
        (None, None),
        ("", None),
        ("   ", None),
        ("Bearer", None),
        ("Bearer    ", None),
        ("Basic abc.def.ghi", None),
        ("Bearerabc.def.ghi", None),
        ("abc.def.ghi", None),
    ],
)
def test_parse_bearer(header: str | None, token: str | None):
    assert parse_bearer(header) == token


@pytest.mark.spec("AUTH-4")
@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic dXNlcjpwYXNz", "Token xyz"])
def test_an_authorization_header_without_a_bearer_token_is_a_missing_token(header: str | None):
    with pytest.raises(TokenRejected) as caught:
        verify_access_token(parse_bearer(header), CREDENTIALS, now=NOW)

    assert caught.value.reason == "missing_token"


@pytest.mark.spec("AUTH-4")
def test_a_bearer_header_carries_a_verifiable_token():
    header = f"Bearer {create_access_token(OTHER_KEY, OTHER_SECRET, now=NOW)}"

    assert verify_access_token(parse_bearer(header), CREDENTIALS, now=NOW).api_key == OTHER_KEY


def test_parse_bearer_rejects_a_non_string_header():
    with pytest.raises(TypeError, match="header_value"):
        parse_bearer(b"Bearer x")  # type: ignore[arg-type]


# --- AUTH-5: credential resolution -------------------------------------------------------------


@pytest.mark.spec("AUTH-5")
def test_arguments_win_over_the_environment():
    environ = {
        "LIVEKIT_INFERENCE_API_KEY": "env-inference-key",
        "LIVEKIT_API_KEY": "env-key",
        "LIVEKIT_INFERENCE_API_SECRET": "env-inference-secret",
        "LIVEKIT_API_SECRET": "env-secret",
        "LIVEKIT_INFERENCE_URL": "http://env.example/v1",
    }

    resolved = InferenceCredentials.resolve(
        "arg-key", "arg-secret", "http://arg.example/v1", environ=environ
    )

    assert resolved == InferenceCredentials("arg-key", "arg-secret", "http://arg.example/v1")


@pytest.mark.spec("AUTH-5")
def test_inference_variables_win_over_the_generic_ones():
    environ = {
        "LIVEKIT_INFERENCE_API_KEY": "inference-key",
        "LIVEKIT_API_KEY": "generic-key",
        "LIVEKIT_INFERENCE_API_SECRET": "inference-secret",
        "LIVEKIT_API_SECRET": "generic-secret",
    }

    resolved = InferenceCredentials.resolve(environ=environ)

    assert (resolved.api_key, resolved.api_secret) == ("inference-key", "inference-secret")


@pytest.mark.spec("AUTH-5")
def test_generic_variables_are_the_fallback_each_on_its_own():
    environ = {"LIVEKIT_INFERENCE_API_KEY": "inference-key", "LIVEKIT_API_SECRET": "generic-secret"}

    resolved = InferenceCredentials.resolve(environ=environ)

    assert (resolved.api_key, resolved.api_secret) == ("inference-key", "generic-secret")


@pytest.mark.spec("AUTH-5")
def test_an_empty_variable_counts_as_unset():
    environ = {
        "LIVEKIT_INFERENCE_API_KEY": "",
        "LIVEKIT_API_KEY": "generic-key",
        "LIVEKIT_INFERENCE_API_SECRET": "",
        "LIVEKIT_API_SECRET": "generic-secret",
        "LIVEKIT_INFERENCE_URL": "",
    }

    resolved = InferenceCredentials.resolve(environ=environ)

    assert resolved == InferenceCredentials("generic-key", "generic-secret", DEFAULT_INFERENCE_URL)


@pytest.mark.spec("AUTH-5")
@pytest.mark.parametrize(
    ("argument", "environ", "expected"),
    [
        (
            "http://arg.example/v1",
            {"LIVEKIT_INFERENCE_URL": "http://env.example/v1"},
            "http://arg.example/v1",
        ),
        (None, {"LIVEKIT_INFERENCE_URL": "http://env.example/v1"}, "http://env.example/v1"),
        (None, {}, "https://agent-gateway.livekit.cloud/v1"),
    ],
)
def test_base_url_resolution_order(argument: str | None, environ: dict[str, str], expected: str):
    resolved = InferenceCredentials.resolve("k", "s", argument, environ=environ)

    assert resolved.base_url == expected
    assert DEFAULT_INFERENCE_URL == "https://agent-gateway.livekit.cloud/v1"


@pytest.mark.spec("AUTH-5")
@pytest.mark.parametrize(
    ("environ", "missing", "present"),
    [
        (
            {"LIVEKIT_API_SECRET": "s"},
            ["api_key", "LIVEKIT_INFERENCE_API_KEY", "LIVEKIT_API_KEY"],
            "api_secret",
        ),
        (
            {"LIVEKIT_API_KEY": "k"},
            ["api_secret", "LIVEKIT_INFERENCE_API_SECRET", "LIVEKIT_API_SECRET"],
            "api_key",
        ),
    ],
)
def test_a_missing_key_or_secret_raises_naming_it(
    environ: dict[str, str], missing: list[str], present: str
):
    with pytest.raises(ValueError) as caught:
        InferenceCredentials.resolve(environ=environ)

    for name in missing:
        assert name in str(caught.value)
    assert f"{present} (" not in str(caught.value)


@pytest.mark.spec("AUTH-5")
def test_missing_key_and_secret_are_both_named():
    with pytest.raises(ValueError, match=r"api_key .*api_secret"):
        InferenceCredentials.resolve(environ={})


_ENV_VALUE = st.one_of(st.none(), st.just(""), st.sampled_from(["a", "b", "c"]))


@pytest.mark.spec("AUTH-5")
@given(
    arg_key=st.one_of(st.none(), st.just("arg-key")),
    arg_secret=st.one_of(st.none(), st.just("arg-secret")),
    variables=st.fixed_dictionaries(
        {
            name: _ENV_VALUE
            for name in (
                "LIVEKIT_INFERENCE_API_KEY",
                "LIVEKIT_API_KEY",
                "LIVEKIT_INFERENCE_API_SECRET",
                "LIVEKIT_API_SECRET",
            )
        }
    ),
)
def test_resolution_order_for_every_combination(
    arg_key: str | None, arg_secret: str | None, variables: dict[str, str | None]
):
    environ = {name: value for name, value in variables.items() if value is not None}
    # The rule, stated as plainly as possible: argument, then the first non-empty variable.
    expected_key = (
        arg_key or environ.get("LIVEKIT_INFERENCE_API_KEY") or environ.get("LIVEKIT_API_KEY")
    )
    expected_secret = (
        arg_secret
        or environ.get("LIVEKIT_INFERENCE_API_SECRET")
        or environ.get("LIVEKIT_API_SECRET")
    )

    if expected_key and expected_secret:
        resolved = InferenceCredentials.resolve(arg_key, arg_secret, environ=environ)
        assert (resolved.api_key, resolved.api_secret) == (expected_key, expected_secret)
    else:
        with pytest.raises(ValueError, match="api_key" if not expected_key else "api_secret"):
            InferenceCredentials.resolve(arg_key, arg_secret, environ=environ)


@pytest.mark.spec("AUTH-5")
def test_resolve_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch):
    for name in (
        "LIVEKIT_INFERENCE_API_KEY",
        "LIVEKIT_INFERENCE_API_SECRET",
        "LIVEKIT_INFERENCE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LIVEKIT_API_KEY", "process-key")
    monkeypatch.setenv("LIVEKIT_API_SECRET", "process-secret")

    resolved = InferenceCredentials.resolve()

    assert (resolved.api_key, resolved.api_secret) == ("process-key", "process-secret")
    assert os.environ["LIVEKIT_API_KEY"] == "process-key"


@pytest.mark.parametrize(
    ("kwargs", "error", "names"),
    [
        ({"api_key": ""}, ValueError, "api_key"),
        ({"api_secret": ""}, ValueError, "api_secret"),
        ({"base_url": ""}, ValueError, "base_url"),
        ({"api_key": 5}, TypeError, "api_key"),
        ({"environ": [("LIVEKIT_API_KEY", "k")]}, TypeError, "environ"),
    ],
)
def test_resolve_rejects_bad_arguments(kwargs: dict[str, Any], error: type[Exception], names: str):
    arguments: dict[str, Any] = {"environ": {"LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET": "s"}}
    arguments.update(kwargs)

    with pytest.raises(error, match=names):
        InferenceCredentials.resolve(**arguments)


def test_credentials_keep_the_secret_out_of_repr():
    credentials = InferenceCredentials(KEY, SECRET)

    assert SECRET not in repr(credentials)
    assert KEY in repr(credentials)
    assert credentials.base_url == DEFAULT_INFERENCE_URL


@pytest.mark.spec("AUTH-1", "AUTH-2")
def test_credentials_mint_tokens_that_verify():
    credentials = InferenceCredentials(KEY, SECRET, "http://127.0.0.1:1/v1")

    token = credentials.access_token(now=NOW)

    assert token == create_access_token(KEY, SECRET, now=NOW)
    assert verify_access_token(token, CREDENTIALS, now=NOW).api_key == KEY


# --- AUTH-6: Inworld ---------------------------------------------------------------------------


@pytest.mark.spec("AUTH-6")
@pytest.mark.parametrize("key", ["abc", "dXNlcjpwYXNz", "user:pass", "a b=="])
def test_inworld_sends_the_key_verbatim(key: str):
    # No base64 of its own: "user:pass" would otherwise go out as "dXNlcjpwYXNz".
    assert inworld_authorization(key) == "Basic " + key


@pytest.mark.spec("AUTH-6")
@given(
    key=st.text(alphabet=st.characters(blacklist_categories=("Z", "C")), min_size=1).filter(
        lambda k: k == k.strip()
    )
)
def test_inworld_header_round_trips(key: str):
    assert verify_inworld_authorization(inworld_authorization(key), {key}) == key


@pytest.mark.spec("AUTH-6")
@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing_token"),
        ("", "missing_token"),
        ("  ", "missing_token"),
        ("Basic", "malformed"),
        ("Bearer known-key", "malformed"),
        ("known-key", "malformed"),
        ("Basic other-key", "unknown_key"),
        ("Basic known-ke", "unknown_key"),
        # Compared verbatim: the server does not decode a base64 form of the key.
        (f"Basic {base64.b64encode(b'known-key').decode()}", "unknown_key"),
    ],
)
def test_inworld_rejects_a_missing_or_unknown_key(header: str | None, reason: str):
    with pytest.raises(TokenRejected) as caught:
        verify_inworld_authorization(header, {"known-key"})

    assert caught.value.reason == reason


@pytest.mark.spec("AUTH-6")
def test_inworld_scheme_is_case_insensitive_and_keys_may_be_a_list():
    assert verify_inworld_authorization("basic known-key", ["a", "known-key"]) == "known-key"


@pytest.mark.parametrize(
    ("call", "error", "names"),
    [
        (lambda: inworld_authorization(""), ValueError, "api_key"),
        (lambda: inworld_authorization(None), TypeError, "api_key"),  # type: ignore[arg-type]
        (lambda: verify_inworld_authorization("Basic k", "k"), TypeError, "known_keys"),
        (lambda: verify_inworld_authorization(b"Basic k", {"k"}), TypeError, "header_value"),  # type: ignore[arg-type]
    ],
)
def test_inworld_helpers_reject_bad_arguments(
    call: Callable[[], object], error: type[Exception], names: str
):
    with pytest.raises(error, match=names):
        call()
