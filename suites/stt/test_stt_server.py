"""An STT server under test: how a session ends (SPEC §3.2 STT-S-2, §7 SRV-3), what it makes
of early, unparseable and binary client frames (STT-S-1, SRV-1, SRV-3) and who may open one
(§1.1 AUTH-4).

The server is ``voicewire_iut.server()``: voicewire's own simulator for ``--iut reference``, or
a gateway given with ``--iut url:<base_url>#protocols=...,stt``. The cases speak raw WebSocket
(:mod:`voicewire.suites.stt.raw_sessions`: aiohttp, on the harness loop) to
``{ws_base}/stt?model=deepgram/nova-3`` and send only what any real gateway answers:
``session.create`` as the client sends it, 50 ms ``input_audio`` frames of tone-coded speech or
silence, ``session.finalize``. Nothing depends on the text of a transcript; every wait is
bounded.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from voicewire.harness.iut import Target
from voicewire.harness.verdicts import expect, require
from voicewire.suites.stt.raw_sessions import (
    CREATE,
    FINALIZE,
    FRAME_SAMPLES,
    TRANSCRIPTS,
    Session,
    ends_cleanly,
    input_audio_frames,
    is_400_error,
    play,
    silent_pcm,
    speech,
    upgrade,
)


def _upgraded(seen: Session, rule: str) -> None:
    require(
        seen.upgraded,
        rule,
        f"the WebSocket upgrade with a fresh token failed: {seen.failure}",
    )


# -- STT-S-2 / SRV-3: how a session ends ------------------------------------------------------


@pytest.mark.spec("STT-S-2", "SRV-3")
@pytest.mark.capability("stt.server")
@pytest.mark.parametrize("audio", ["speech", "silence"])
def test_finalize_ends_with_finalized_then_close_1000(voicewire_iut: Any, audio: str) -> None:
    """After session.finalize: any pending final, session.finalized, a close with 1000.

    Only session.closed may come after session.finalized, and the session ends with a close
    frame and code (SRV-3)."""
    target = voicewire_iut.server()
    pcm = speech() if audio == "speech" else silent_pcm()
    seen = voicewire_iut.run(play(target, [CREATE, *input_audio_frames(pcm), FINALIZE]))
    _upgraded(seen, "STT-S-2")
    types = seen.types()
    require("session.finalized" in types, "STT-S-2", f"no session.finalized: {seen.describe()}")
    after = types[types.index("session.finalized") + 1 :]
    expect(
        after in ([], ["session.closed"]),
        "STT-S-2",
        f"after session.finalized only session.closed may come: {seen.describe()}",
    )
    expect(
        seen.failure is None and seen.close_code is not None,
        "SRV-3",
        f"the session did not end with a close frame and code: {seen.describe()}",
    )
    expect(seen.close_code == 1000, "STT-S-2", f"expected close 1000: {seen.describe()}")


# -- STT-S-1 / SRV-1: early and unparseable client messages -----------------------------------


@pytest.mark.spec("STT-S-1")
@pytest.mark.capability("stt.server")
def test_audio_before_session_create_gets_an_error_not_a_transcript(voicewire_iut: Any) -> None:
    """Speech sent before session.create is out of order: an error (400), never a transcript.

    Every message before session.created is such an error; afterwards the socket is still
    usable: session.create and session.finalize end the session cleanly."""
    target = voicewire_iut.server()
    seen = voicewire_iut.run(play(target, [*input_audio_frames(speech()), CREATE, FINALIZE]))
    _upgraded(seen, "STT-S-1")
    types = seen.types()
    # What answered the early audio: every message up to the first that is not an error.
    first = next((n for n, t in enumerate(types) if t != "error"), len(types))
    early = seen.messages[:first]
    expect(
        not TRANSCRIPTS.intersection(types[first : first + 1])
        and all(is_400_error(m) for m in early),
        "STT-S-1",
        f"before session.created only 400 errors may come, never a transcript: {seen.describe()}",
    )
    expect(
        bool(early),
        "STT-S-1",
        f"audio before session.create got no error with code 400: {seen.describe()}",
    )
    expect(
        ends_cleanly(seen),
        "STT-S-1",
        f"after the errors, session.create and session.finalize must end cleanly: "
        f"{seen.describe()}",
    )


UNPARSEABLE = [
    pytest.param("not json at all", id="not-json"),
    pytest.param('{"audio": "AAAA"}', id="no-type"),
    pytest.param('{"type": "no.such.type"}', id="unknown-type"),
]


@pytest.mark.spec("STT-S-1", "SRV-1")
@pytest.mark.capability("stt.server")
@pytest.mark.parametrize("bad", UNPARSEABLE)
def test_unparseable_message_gets_a_400_error_and_the_socket_stays_usable(
    voicewire_iut: Any, bad: str
) -> None:
    """An unparseable message gets {"type": "error", "message", "code": 400}; then a
    session.finalize still ends the session with session.finalized and close 1000."""
    target = voicewire_iut.server()
    seen = voicewire_iut.run(play(target, [CREATE, bad, FINALIZE]))
    _upgraded(seen, "STT-S-1")
    errors = [m for m in seen.messages if isinstance(m, dict) and m.get("type") == "error"]
    expect(
        errors or seen.close_code in (1003, 1008),
        "SRV-1",
        f"{bad!r}: neither an error message nor a close 1003/1008: {seen.describe()}",
    )
    expect(
        len(errors) == 1 and is_400_error(errors[0]),
        "STT-S-1",
        f'{bad!r}: expected one {{"type": "error", "message", "code": 400}}: {seen.describe()}',
    )
    expect(
        ends_cleanly(seen),
        "STT-S-1",
        f"{bad!r}: after the error, session.finalize must end the session cleanly: "
        f"{seen.describe()}",
    )


# -- SRV-3: a binary frame ---------------------------------------------------------------------


@pytest.mark.spec("SRV-3")
@pytest.mark.capability("stt.server")
def test_binary_frame_is_closed_with_1003(voicewire_iut: Any) -> None:
    """A binary frame where text is expected closes the session with 1003."""
    target = voicewire_iut.server()
    pcm = bytes(2 * FRAME_SAMPLES)
    seen = voicewire_iut.run(play(target, [CREATE, pcm, FINALIZE]))
    _upgraded(seen, "SRV-3")
    expect(seen.close_code == 1003, "SRV-3", f"expected close 1003: {seen.describe()}")


# -- AUTH-4 at the upgrade ---------------------------------------------------------------------


def _bad_authorization(variant: str, target: Target) -> str | None:
    now = int(time.time())
    claims = {
        "iss": target.api_key,
        "sub": "agent",
        "nbf": now,
        "exp": now + 600,
        "inference": {"perform": True},
    }
    if variant == "missing-token":
        return None
    if variant == "bad-signature":
        key = target.api_secret + "-not-the-secret"
    else:  # expired, well past any leeway
        key = target.api_secret
        claims.update(nbf=now - 1200, exp=now - 600)
    return "Bearer " + jwt.encode(claims, key, algorithm="HS256", headers={"typ": "JWT"})


@pytest.mark.spec("AUTH-4")
@pytest.mark.capability("stt.server")
@pytest.mark.parametrize("variant", ["missing-token", "bad-signature", "expired"])
def test_bad_token_is_refused_with_401_before_the_upgrade(voicewire_iut: Any, variant: str) -> None:
    """No token, a bad signature or an expired token: HTTP 401 with the authentication_error
    JSON body, and no upgrade."""
    target = voicewire_iut.server()
    status, body, shown = voicewire_iut.run(upgrade(target, _bad_authorization(variant, target)))
    expect(status == 401, "AUTH-4", f"{variant}: expected HTTP 401, got {shown}")
    error = body.get("error") if isinstance(body, dict) else None
    expect(
        isinstance(error, dict)
        and error.get("type") == "authentication_error"
        and error.get("code") == 401
        and isinstance(error.get("message"), str),
        "AUTH-4",
        f'{variant}: expected {{"error": {{"message", "type": "authentication_error", '
        f'"code": 401}}}}, got {shown}',
    )
