"""Inworld voices list, client conformance (SPEC §5.1 IW-VOICES-1, AUTH-6, CLI-ROB-1).

Each case calls ``list_voices(language)`` once (``voicewire_iut.inworld_voices``) against the
embedded simulator's ``GET tts/v1/voices``, reached through a base URL with a path (a
session's ``.../v1``): the voices route is joined RELATIVE to it, so the request arrives under
that path, unlike a synthesis's. The case judges the request as the simulator journaled it
and the voices the client returned against the answer the server really sent.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from voicewire.harness.driver import IUTDriver
from voicewire.harness.inworld import InworldVoicesAnswer
from voicewire.harness.iut import Target
from voicewire.harness.runtime import CaseSimulator
from voicewire.harness.verdicts import expect, require
from voicewire.simulators.inworld.synthesis import filter_voices

from .http_log import (
    API_ERRORS,
    ONE_ATTEMPT,
    VOICES_ROUTE,
    basic_key_fingerprint,
    inworld_http_requests,
    served_voices,
    voices_scenario,
)

# Voices with what a client might be tempted to normalise: nested objects, numbers, null,
# non-ASCII text, region subtags, keys beyond Inworld's documented ones.
VOICES: list[dict[str, Any]] = [
    {
        "voiceId": "Ashley",
        "displayName": "Ashley",
        "description": "A warm, natural female voice",
        "languages": ["en"],
        "tags": ["warm", "calm"],
        "meta": {"age": 30, "ratio": 0.5, "nothing": None, "nested": {"deep": [1, "two"]}},
    },
    {"voiceId": "Diego", "languages": ["es-MX"], "description": "Un narrador cálido"},
    {"voiceId": "Hana", "displayName": "はな", "languages": ["ja", "en-US"], "isCustom": True},
    {"voiceId": "Mathieu", "languages": ["fr"], "displayName": "Mathieu"},
]


def _expected_path(target: Target) -> str:
    """Where ``tts/v1/voices`` lands joined relative to the client's base URL (the target's,
    with its trailing ``/``): under the base URL's path."""
    return urlsplit(target.base_url).path.rstrip("/") + "/" + VOICES_ROUTE


def _ask(
    iut: IUTDriver, simulator: CaseSimulator, scenario: Any, language: str | None
) -> tuple[InworldVoicesAnswer, Target]:
    target = simulator.session(scenario)
    answer = iut.inworld_voices(target=target, language=language, conn_options=ONE_ATTEMPT)
    return answer, target


@pytest.mark.spec("IW-VOICES-1", "AUTH-6")
@pytest.mark.capability("inworld.voices")
@pytest.mark.parametrize("language", [None, "en", "es"])
def test_voices_are_listed_under_the_base_url_verbatim(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, language: str | None
) -> None:
    """``list_voices(language)`` is one ``GET {base_url}tts/v1/voices``, the base URL's path
    kept (a client that joins it as an absolute path fails), with
    ``Authorization: Basic <key>`` the key as configured, and the query
    ``filter=language=<code>`` exactly when a language is given (no query otherwise). It
    returns the ``voices`` of the answer verbatim: every voice, every key and value as sent,
    in order."""
    answer, target = _ask(
        voicewire_iut, voicewire_simulator, voices_scenario("iw-voices", VOICES), language
    )
    requests = inworld_http_requests(voicewire_simulator, target)
    require(
        requests,
        ("IW-VOICES-1", "AUTH-6"),
        "no request reached the session: a key that is not sent exactly as configured "
        f"(`Basic {target.api_key}`) is refused before it is admitted; the client returned "
        f"{answer.error or answer.voices}",
    )
    expect(
        len(requests) == 1,
        "IW-VOICES-1",
        f"list_voices is one request; the server received {[r.path for r in requests]}",
    )
    request = requests[0]
    expect(
        request.method == "GET" and request.route == _expected_path(target),
        "IW-VOICES-1",
        f"the voices list is GET {{base_url}}tts/v1/voices joined relative to the base URL "
        f"{target.base_url!r}: {_expected_path(target)}; the client sent {request.method} "
        f"{request.route}",
    )
    query = parse_qs(request.query, keep_blank_values=True)
    wanted = {} if language is None else {"filter": [f"language={language}"]}
    expect(
        query == wanted,
        "IW-VOICES-1",
        f"the query must be {wanted or 'absent'} for language {language!r}; the client sent "
        f"{request.query!r}",
    )
    token = request.token or {}
    expect(
        token.get("scheme") == "basic"
        and token.get("fingerprint") == basic_key_fingerprint(target.api_key),
        "AUTH-6",
        f"Authorization must be `Basic <key>` with the key as configured: the server saw "
        f"{request.header('Authorization')!r}, admitted as {token}",
    )
    served = served_voices(voicewire_simulator, target)
    require(served is not None, "IW-VOICES-1", "the simulator sent no voices (the premise)")
    require(
        served == filter_voices(VOICES, language),
        "IW-VOICES-1",
        f"the simulator did not send the scripted voices for {language!r} (the premise)",
    )
    require(
        answer.error is None,
        "IW-VOICES-1",
        f"list_voices must return the voices, it raised {answer.error}",
    )
    expect(
        answer.voices == served,
        "IW-VOICES-1",
        f"list_voices must return the answer's voices verbatim, in order:\n  returned "
        f"{answer.voices}\n  served   {served}",
    )


REFUSALS: dict[str, dict[str, Any]] = {
    "status_401": {"kind": "status", "code": 401},
    "status_403_inworld_body": {
        "kind": "status",
        "code": 403,
        "body": {"code": 7, "message": "permission denied"},
    },
    "status_500": {"kind": "status", "code": 500},
    "not_json": {"kind": "malformed", "at_event": 0, "line": "<html>oops</html>"},
    "voices_not_an_array": {"kind": "malformed", "at_event": 0, "line": '{"voices": 5}'},
    "a_voice_not_an_object": {"kind": "malformed", "at_event": 0, "line": '{"voices": [1]}'},
    "not_an_object": {"kind": "malformed", "at_event": 0, "line": "[]"},
}


@pytest.mark.spec("IW-VOICES-1", "CLI-ROB-1")
@pytest.mark.capability("inworld.voices")
@pytest.mark.parametrize("refusal", sorted(REFUSALS))
def test_a_failed_voices_answer_raises(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, refusal: str
) -> None:
    """A non-2xx answer raises an error (``APIStatusError`` with the status), never returns a
    list; so does a 2xx answer that is not a JSON object with a ``voices`` array of objects,
    as an error of the APIError family (CLI-ROB-1)."""
    fault = REFUSALS[refusal]
    scenario = voices_scenario(f"iw-voices-{refusal}", VOICES, [fault])
    answer, target = _ask(voicewire_iut, voicewire_simulator, scenario, "en")
    require(
        inworld_http_requests(voicewire_simulator, target, VOICES_ROUTE),
        "IW-VOICES-1",
        f"the client sent no voices request; it returned {answer.error or answer.voices}",
    )
    rule = "IW-VOICES-1" if fault["kind"] == "status" else "CLI-ROB-1"
    error = answer.error
    require(
        error is not None,
        rule,
        f"list_voices must raise on {refusal.replace('_', ' ')}; it returned {answer.voices}",
    )
    assert error is not None
    expect(
        error.kind in API_ERRORS,
        "CLI-ROB-1",
        f"the error is of the APIError family, never another type: {error.kind}: "
        f"{error.message[:200]}",
    )
    if fault["kind"] == "status":
        expect(
            error.kind == "APIStatusError" and error.status_code == fault["code"],
            "IW-VOICES-1",
            f"a non-2xx answer raises APIStatusError with its status {fault['code']}; got "
            f"{error.kind} (status {error.status_code})",
        )
