"""A TTS server under test: what a synthesis gets (SPEC §4 TTS-S-1, TTS-S-2), what it makes
of unparseable, out-of-order and binary client frames and of requests /tts cannot serve
(§7 SRV-1, SRV-3, SRV-5) and who may open a session (§1.1 AUTH-4).

The server is ``voicewire_iut.server()``: voicewire's own simulator for ``--iut reference``, or
a gateway given with ``--iut url:<base_url>#protocols=...,tts``. The cases speak raw WebSocket
(:mod:`voicewire.suites.tts.raw_sessions`: aiohttp, on the harness loop) to
``{ws_base}/tts?model=cartesia/sonic-3`` and send only what any real gateway answers:
``session.create`` as the client sends it, ``input_transcript`` sentences, ``session.flush``.
Nothing depends on what the audio sounds like: its length is judged against the text's and
against the same text's at another rate. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import jwt
import pytest
from voicewire.harness.iut import Target
from voicewire.harness.verdicts import expect, require
from voicewire.reference.auth import create_access_token
from voicewire.suites.tts.raw_sessions import (
    ANSWER,
    CREATE,
    ERROR,
    FLUSH,
    TTSSession,
    is_tts_protocol_error,
    play_tts,
    synthesis,
    transcript,
    tts_alignment_problem,
    tts_audio_seconds,
    tts_create,
    tts_upgrade,
)
from voicewire.suites.tts.wire_log import RATE, replying

SHORT = "Hello there."
LONG = "This sentence is a good deal longer than the first one was."
RATES = (16000, RATE, 48000)
RATE_AGREEMENT = 1.5
"""How far apart the same text's audio may last at two rates (a server's synthesis may vary
run to run): a server that sends one rate whatever the session's is off by a factor of 3 between
16000 and 48000 Hz."""


def _upgraded(seen: TTSSession, rule: str) -> None:
    require(
        seen.upgraded,
        rule,
        f"the WebSocket upgrade with a fresh token failed: {seen.failure}",
    )


def _closed_with_a_frame(seen: TTSSession, what: str) -> None:
    expect(
        seen.failure is None and seen.close_code is not None,
        "SRV-3",
        f"{what}: the session did not end with a close frame and code: {seen.describe()}",
    )


def _judge_synthesis(messages: list[dict[str, Any]], rate: int, what: str) -> float:
    """TTS-S-1 on one synthesis's messages (its audio, alignment and ``done``): the audio's
    seconds."""
    audio = [m for m in messages if m.get("type") == "output_audio"]
    expect(bool(audio), "TTS-S-1", f"{what}: no output_audio before done")
    without_id = [
        m.get("type")
        for m in messages
        if m.get("type") in ("output_audio", "done")
        and not (isinstance(m.get("session_id"), str) and m["session_id"])
    ]
    expect(
        not without_id,
        "TTS-S-1",
        f"{what}: session_id must be on every output_audio and on done; missing on "
        f"{len(without_id)} ({', '.join(sorted(set(without_id)))})",
    )
    seconds, problem = tts_audio_seconds(messages, rate)
    expect(problem is None, "TTS-S-1", f"{what}: {problem}")
    return seconds


# -- TTS-S-1: audio, session_id, done; the socket stays open -----------------------------------


@pytest.mark.spec("TTS-S-1", "SRV-3")
@pytest.mark.capability("tts.server")
def test_two_syntheses_on_one_socket_each_get_audio_then_done(voicewire_iut: Any) -> None:
    """Each synthesis gets output_audio (base64 PCM, whole samples, session_id on every one),
    then done with session_id; a second synthesis on the same socket needs no second
    session.create; the longer text's audio is the longer; the session ends with a close
    frame (SRV-3)."""
    target = voicewire_iut.server()
    seen = voicewire_iut.run(play_tts(target, [CREATE, *synthesis(SHORT), *synthesis(LONG)]))
    _upgraded(seen, "TTS-S-1")
    syntheses = seen.syntheses()
    require(
        len(syntheses) == 2,
        "TTS-S-1",
        f"expected a done for each of two syntheses on one socket: {seen.describe()}",
    )
    expect(not seen.errors(), "TTS-S-1", f"valid syntheses got an error: {seen.describe()}")
    short = _judge_synthesis(syntheses[0], RATE, "the first synthesis")
    long = _judge_synthesis(syntheses[1], RATE, "the second synthesis, on the same socket")
    expect(
        long > short,
        "TTS-S-1",
        f"{len(LONG)} characters got {long:.3f} s of audio, {len(SHORT)} got {short:.3f} s: "
        "the audio does not follow the text",
    )
    _closed_with_a_frame(seen, "after two syntheses the client closed")


@pytest.mark.spec("TTS-S-1")
@pytest.mark.capability("tts.server")
def test_audio_is_at_the_session_rate(voicewire_iut: Any) -> None:
    """The same text, synthesised at 16000, 24000 and 48000 Hz, lasts about as long at each
    rate, its samples counted at the session's rate (TTS-S-1: PCM at the session rate)."""
    target = voicewire_iut.server()

    async def at_every_rate() -> list[TTSSession]:
        return list(
            await asyncio.gather(
                *(play_tts(target, [tts_create(rate), *synthesis(LONG)]) for rate in RATES)
            )
        )

    sessions = voicewire_iut.run(at_every_rate())
    seconds = {}
    for rate, seen in zip(RATES, sessions, strict=True):
        _upgraded(seen, "TTS-S-1")
        syntheses = seen.syntheses()
        require(
            len(syntheses) == 1,
            "TTS-S-1",
            f"at {rate} Hz: no done after session.flush: {seen.describe()}",
        )
        seconds[rate] = _judge_synthesis(syntheses[0], rate, f"at {rate} Hz")
    shown = ", ".join(f"{s:.3f} s at {rate} Hz" for rate, s in seconds.items())
    expect(
        min(seconds.values()) > 0
        and max(seconds.values()) < RATE_AGREEMENT * min(seconds.values()),
        "TTS-S-1",
        f"the same text's audio, counted at each session's rate, lasts {shown}: the audio is "
        "not at the session's rate",
    )


# -- TTS-S-2: alignment, when the server sends it ----------------------------------------------

ALIGNED = ("Hello there, friend.", "How are you today?")


@pytest.mark.spec("TTS-S-2")
@pytest.mark.capability("tts.server")
def test_alignment_when_sent_is_well_formed(voicewire_iut: Any, voicewire_simulator: Any) -> None:
    """output_alignment, if the server sends any (a MAY: a server that sends none passes), is
    well-formed: words or chars, start <= end, never going back, within the audio, the text
    sent.

    voicewire's own simulator sends alignment only when a scenario asks: against it, the case
    asks for words on one session and chars on another, so both are judged."""
    target = voicewire_iut.server()
    if target.base_url == voicewire_simulator.base_url:
        targets = {
            granularity: voicewire_simulator.session(
                replying(f"tts-server-alignment-{granularity}", {"alignment": granularity})
            )
            for granularity in ("words", "chars")
        }
    else:
        targets = {"whatever the server sends": target}

    async def every_session() -> list[TTSSession]:
        steps = [CREATE, *synthesis(*ALIGNED)]
        return list(await asyncio.gather(*(play_tts(t, steps) for t in targets.values())))

    for name, seen in zip(targets, voicewire_iut.run(every_session()), strict=True):
        _upgraded(seen, "TTS-S-2")
        syntheses = seen.syntheses()
        require(len(syntheses) == 1, "TTS-S-2", f"{name}: no done: {seen.describe()}")
        seconds, _ = tts_audio_seconds(syntheses[0], RATE)
        problem = tts_alignment_problem(syntheses[0], [s + " " for s in ALIGNED], seconds)
        expect(problem is None, "TTS-S-2", f"{name}: {problem}: {seen.describe()}")


# -- SRV-1 (what TTS-C-1..3 forbid gets an error) and SRV-3 ------------------------------------

UNPARSEABLE = [
    pytest.param("not json at all", id="not-json"),
    pytest.param('{"transcript": "Hi. "}', id="no-type"),
    pytest.param('{"type": "no.such.type"}', id="unknown-type"),
    pytest.param(
        '{"type": "session.create", "sample_rate": 24000, "encoding": "pcm_s16le", "extra": {}}',
        id="sample-rate-a-number",
    ),
    pytest.param(
        '{"type": "input_transcript", "transcript": 7, "generation_config": {}, "extra": {}}',
        id="transcript-a-number",
    ),
]


@pytest.mark.spec("SRV-1")
@pytest.mark.capability("tts.server")
@pytest.mark.parametrize("bad", UNPARSEABLE)
def test_a_bad_message_gets_an_error_and_the_socket_stays_usable(
    voicewire_iut: Any, bad: str
) -> None:
    """An unparseable or mistyped message gets an error (or the session a close 1003/1008,
    SRV-1), never a 5xx code; the socket stays usable: a synthesis still ends with done."""
    target = voicewire_iut.server()
    seen = voicewire_iut.run(play_tts(target, [CREATE, bad, ERROR, *synthesis(SHORT)]))
    _upgraded(seen, "SRV-1")
    errors = seen.errors()
    expect(
        errors or seen.close_code in (1003, 1008),
        "SRV-1",
        f"{bad!r}: neither an error message nor a close 1003/1008: {seen.describe()}",
    )
    expect(
        all(is_tts_protocol_error(e) for e in errors),
        "SRV-1",
        f"{bad!r}: an error must carry a message and no 5xx code: {seen.describe()}",
    )
    if seen.closed_by_server:
        return  # closed with 1003/1008: SRV-1 lets it
    expect(
        len(errors) == 1 and len(seen.syntheses()) == 1,
        "SRV-1",
        f"{bad!r}: after one error the socket must stay usable: the synthesis that follows "
        f"must end with done: {seen.describe()}",
    )


OUT_OF_ORDER = [
    pytest.param([transcript(SHORT), ERROR, CREATE, *synthesis(SHORT)], id="input-before-create"),
    pytest.param([FLUSH, ERROR, CREATE, *synthesis(SHORT)], id="flush-before-create"),
    pytest.param([CREATE, tts_create(16000), ERROR, *synthesis(SHORT)], id="second-create"),
]


@pytest.mark.spec("SRV-1", "TTS-S-1")
@pytest.mark.capability("tts.server")
@pytest.mark.parametrize("steps", OUT_OF_ORDER)
def test_an_out_of_order_message_gets_an_error_not_audio(
    voicewire_iut: Any, steps: list[Any]
) -> None:
    """input_transcript or session.flush before session.create, and a second session.create,
    get an error (SRV-1; TTS-C-1: one session.create, first), never audio; the socket stays
    usable: a synthesis then gets its audio and done (TTS-S-1)."""
    target = voicewire_iut.server()
    seen = voicewire_iut.run(play_tts(target, steps))
    _upgraded(seen, "SRV-1")
    types = seen.types()
    first_error = types.index("error") if "error" in types else len(types)
    expect(
        "output_audio" not in types[:first_error] and "done" not in types[:first_error],
        "SRV-1",
        f"the out-of-order message got audio or done instead of an error: {seen.describe()}",
    )
    errors = seen.errors()
    expect(
        (errors and all(is_tts_protocol_error(e) for e in errors))
        or seen.close_code in (1003, 1008),
        "SRV-1",
        f"expected an error (no 5xx code) or a close 1003/1008: {seen.describe()}",
    )
    if seen.closed_by_server:
        return
    syntheses = seen.syntheses()
    expect(
        len(syntheses) == 1,
        "SRV-1",
        f"after the error the socket must stay usable: the synthesis that follows must end "
        f"with done: {seen.describe()}",
    )
    if syntheses:
        _judge_synthesis(syntheses[0], RATE, "the synthesis after the error")


@pytest.mark.spec("TTS-S-1", "SRV-1")
@pytest.mark.capability("tts.server")
def test_a_flush_with_nothing_pending_ends_at_once(voicewire_iut: Any) -> None:
    """session.flush with no input gets done (an empty synthesis) or an error, never a hang;
    a synthesis after it still works."""
    target = voicewire_iut.server()
    seen = voicewire_iut.run(play_tts(target, [CREATE, FLUSH, ANSWER, *synthesis(SHORT)]))
    _upgraded(seen, "TTS-S-1")
    require(
        seen.failure is None,
        "TTS-S-1",
        f"a flush with nothing pending, then a synthesis: {seen.describe()}",
    )
    expect(
        all(is_tts_protocol_error(e) for e in seen.errors()),
        "SRV-1",
        f"an error must carry a message and no 5xx code: {seen.describe()}",
    )
    syntheses = seen.syntheses()
    expect(
        bool(syntheses) and any(m.get("type") == "output_audio" for m in syntheses[-1]),
        "TTS-S-1",
        f"the synthesis after the empty flush got no audio: {seen.describe()}",
    )


@pytest.mark.spec("SRV-3")
@pytest.mark.capability("tts.server")
def test_binary_frame_is_closed_with_1003(voicewire_iut: Any) -> None:
    """A binary frame where text is expected closes the session with 1003."""
    target = voicewire_iut.server()
    seen = voicewire_iut.run(play_tts(target, [CREATE, bytes(960), *synthesis(SHORT)]))
    _upgraded(seen, "SRV-3")
    expect(
        seen.closed_by_server and seen.close_code == 1003,
        "SRV-3",
        f"expected the server's close with 1003: {seen.describe()}",
    )


# -- requests /tts cannot serve (SRV-1, SRV-5) -------------------------------------------------


def _json_error(body: Any) -> bool:
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and isinstance(error.get("message"), str)


REFUSED = [
    pytest.param({"upgrade": False}, id="plain-get"),
    pytest.param({"path": "/tts/no-such-endpoint"}, id="unknown-path"),
]


@pytest.mark.spec("SRV-1", "SRV-5")
@pytest.mark.capability("tts.server")
@pytest.mark.parametrize("request_kind", REFUSED)
def test_a_request_tts_cannot_serve_gets_a_4xx_json_error(
    voicewire_iut: Any, request_kind: dict[str, Any]
) -> None:
    """A plain GET of /tts and an upgrade to an unknown path get a 4xx with a JSON error body
    (SRV-5), never an upgrade or a 5xx (SRV-1)."""
    target = voicewire_iut.server()
    token = create_access_token(target.api_key, target.api_secret)
    status, body, shown = voicewire_iut.run(tts_upgrade(target, f"Bearer {token}", **request_kind))
    expect(400 <= status <= 499, "SRV-1", f"expected a 4xx, got {shown}")
    expect(_json_error(body), "SRV-5", f'expected {{"error": {{"message", ...}}}}, got {shown}')


@pytest.mark.spec("SRV-1")
@pytest.mark.capability("tts.server")
def test_an_upgrade_without_a_model_is_served_or_refused_with_a_4xx(voicewire_iut: Any) -> None:
    """Without ``?model=`` (the model may come in session.create, TTS-C-1) the upgrade is
    either refused with a 4xx or served: a synthesis then ends with done; never a 5xx."""
    target = voicewire_iut.server()
    seen = voicewire_iut.run(play_tts(target, [CREATE, *synthesis(SHORT)], query=""))
    if not seen.upgraded:
        expect(
            "HTTP 4" in (seen.failure or ""),
            "SRV-1",
            f"an upgrade without ?model= must be served or refused with a 4xx: {seen.failure}",
        )
        return
    errors = seen.errors()
    expect(
        len(seen.syntheses()) == 1 or (errors and all(map(is_tts_protocol_error, errors))),
        "SRV-1",
        f"upgraded without ?model=, a synthesis must end with done or an error: {seen.describe()}",
    )


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
    if variant == "alg-none":
        return "Bearer " + jwt.encode(claims, None, algorithm="none")
    if variant == "bad-signature":
        key = target.api_secret + "-not-the-secret"
    else:  # expired, well past any leeway
        key = target.api_secret
        claims.update(nbf=now - 1200, exp=now - 600)
    return "Bearer " + jwt.encode(claims, key, algorithm="HS256", headers={"typ": "JWT"})


@pytest.mark.spec("AUTH-4")
@pytest.mark.capability("tts.server")
@pytest.mark.parametrize("variant", ["missing-token", "bad-signature", "expired", "alg-none"])
def test_bad_token_is_refused_with_401_before_the_upgrade(voicewire_iut: Any, variant: str) -> None:
    """No token, a bad signature, an expired token or alg none: HTTP 401 with the
    authentication_error JSON body, and no upgrade."""
    target = voicewire_iut.server()
    status, body, shown = voicewire_iut.run(
        tts_upgrade(target, _bad_authorization(variant, target))
    )
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
