"""An Inworld server under test: who may call it (§1.2 AUTH-6, §7 SRV-5, SRV-6), what TTS over
HTTP answers (§5.1 IW-HTTP-2, IW-HTTP-3, IW-VOICES-1), what the multi-context TTS WebSocket
answers (§5.2 IW-WS-3), what the STT WebSocket answers (§5.3 IW-STT-S-1), and what each makes
of bad, out-of-order and binary client messages (§7 SRV-1, SRV-2, SRV-3).

The server is ``voicewire_iut.server()``: voicewire's own simulator for ``--iut reference``
(reached with its own key as ``Basic <key>``), or a server given with ``--iut
url:<base_url>#protocols=inworld`` (its key from ``VOICEWIRE_IUT_API_KEY``). The cases speak
raw HTTP and WebSocket (:mod:`voicewire.suites.inworld.raw_inworld_sessions`, on the harness
loop) to the URLs voicewire's reference client would use for the target, and send what a
conforming client sends: upstream's request bodies and frames, tone-coded speech. Nothing
depends on what the audio sounds like: its length is judged against the same text's at another
rate, its timestamps against its length. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest
from voicewire.harness.iut import Target
from voicewire.harness.verdicts import expect, require
from voicewire.reference.auth import create_access_token, inworld_authorization
from voicewire.reference.inworld.wire.synthesis import voices_problems
from voicewire.simulators.scenario import build_scenario
from voicewire.suites.inworld.raw_inworld_sessions import (
    CLOSE_STREAM,
    TRANSCRIBE_CONFIG,
    InworldContextsSession,
    InworldHTTPAnswer,
    InworldTranscribeSession,
    awaiting,
    context_close,
    context_create,
    context_flush,
    context_lifecycle,
    context_text,
    inworld_head_only,
    inworld_http,
    inworld_server_urls,
    inworld_upgrade,
    play_contexts,
    play_transcribe,
    read_synthesis,
    synthesize_body,
    tone_speech,
    tone_speech_cut_short,
    transcribe_audio,
)

SHORT = "Hello there."
LONG = "This sentence is a good deal longer than the first one was."
RATE = 24000
RATE_AGREEMENT = 1.5
"""How far apart the same text's audio may last at two rates: a server that speaks one rate
whatever is asked is off by a factor of 3 between 16000 and 48000 Hz."""
SERVER_FAILURE_CODES = frozenset({2, 13, 14, 15})
"""gRPC codes that say the server failed (UNKNOWN, INTERNAL, UNAVAILABLE, DATA_LOSS), not that
the client's message was bad: an answer to a bad message must not carry one (SRV-1)."""


def _is_protocol_error_code(code: Any) -> bool:
    """Whether ``code`` says "your message was bad": a non-zero code that is neither a server
    failure of gRPC nor an HTTP 5xx."""
    return (
        isinstance(code, int)
        and not isinstance(code, bool)
        and code != 0
        and code not in SERVER_FAILURE_CODES
        and not 500 <= code <= 599
    )


def _error_codes(messages: list[dict[str, Any]]) -> list[Any]:
    """The codes of failing statuses (``result.status.code``) and top-level errors
    (``error.code``)."""
    codes = []
    for message in messages:
        result = message.get("result")
        if isinstance(result, dict) and isinstance(result.get("status"), dict):
            codes.append(result["status"].get("code"))
        elif isinstance(message.get("error"), dict):
            codes.append(message["error"].get("code"))
    return codes


def _embedded(voicewire_iut: Any, voicewire_simulator: Any) -> bool:
    """Whether the server under test is voicewire's own simulator (the reference server)."""
    return bool(voicewire_iut.server().base_url == voicewire_simulator.base_url)


# -- AUTH-6: a Basic key, compared verbatim, checked from the head -----------------------------

ENDPOINTS = ["voice:stream", "voices", "voice:streamBidirectional", "transcribe"]
REFUSED = ["missing", "unknown-key", "bearer-token", "basic-base64-of-the-key"]


def _refused_authorization(variant: str, target: Target) -> str | None:
    if variant == "missing":
        return None
    if variant == "unknown-key":
        return inworld_authorization(f"{target.api_key}-not-the-key")
    if variant == "bearer-token":
        # A valid LiveKit token of the same key: another scheme, refused all the same.
        return f"Bearer {create_access_token(target.api_key, target.api_secret)}"
    encoded = base64.b64encode(target.api_key.encode()).decode("ascii")
    return f"Basic {encoded}"


async def _ask(target: Target, endpoint: str, authorization: str | None) -> InworldHTTPAnswer:
    urls = inworld_server_urls(target)
    if endpoint == "voice:stream":
        body = synthesize_body(SHORT)
        return await inworld_http(
            target, "POST", urls.synthesize, authorization=authorization, body=body
        )
    if endpoint == "voices":
        return await inworld_http(target, "GET", urls.voices(), authorization=authorization)
    url = urls.stream_upgrade if endpoint == "voice:streamBidirectional" else urls.stt_upgrade
    return await inworld_upgrade(url, authorization)


@pytest.mark.spec("AUTH-6", "SRV-5")
@pytest.mark.capability("inworld.server")
@pytest.mark.parametrize("variant", REFUSED)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_request_without_the_basic_key_is_refused_with_401(
    voicewire_iut: Any, endpoint: str, variant: str
) -> None:
    """No ``Authorization``, an unknown key, a Bearer token (a valid LiveKit token of the same
    key), or ``Basic`` + the base64 of the key (the key is compared verbatim, never decoded):
    HTTP 401, no stream and no upgrade (AUTH-6), with a JSON error body (SRV-5)."""
    target = voicewire_iut.server()
    answer = voicewire_iut.run(_ask(target, endpoint, _refused_authorization(variant, target)))
    expect(
        answer.status == 401,
        "AUTH-6",
        f"{endpoint}, {variant}: expected HTTP 401, got {answer.shown()}",
    )
    expect(
        answer.status != 401 or answer.error_message() is not None,
        "SRV-5",
        f"{endpoint}, {variant}: the 401 must carry a JSON error body with a message, got "
        f"{answer.shown()}",
    )


@pytest.mark.spec("AUTH-6", "SRV-6")
@pytest.mark.capability("inworld.server")
def test_an_unknown_key_is_refused_from_the_head_before_the_body(voicewire_iut: Any) -> None:
    """A ``POST /tts/v1/voice:stream`` head with an unknown key, announcing 1 MiB of body that
    never comes: the 401 comes from the head (SRV-6), so an unauthenticated peer cannot make
    the server wait for (or buffer) a body."""
    target = voicewire_iut.server()
    bad = inworld_authorization(f"{target.api_key}-not-the-key")
    answer = voicewire_iut.run(inworld_head_only(inworld_server_urls(target).synthesize, bad))
    expect(
        answer.status != 0,
        "SRV-6",
        f"the head alone got no answer: authentication waits for the body: {answer.shown()}",
    )
    expect(
        answer.status in (0, 401),
        "AUTH-6",
        f"an unknown key must get HTTP 401, got {answer.shown()}",
    )


# -- IW-HTTP-2 / IW-HTTP-3: a synthesis over HTTP ----------------------------------------------


def _synthesize(target: Target, body: bytes) -> Any:
    return inworld_http(target, "POST", inworld_server_urls(target).synthesize, body=body)


@pytest.mark.spec("IW-HTTP-2", "IW-HTTP-3")
@pytest.mark.capability("inworld.server")
@pytest.mark.parametrize("timestamp_type", [None, "WORD", "CHARACTER"])
def test_a_synthesis_is_ndjson_result_lines_of_pcm_with_well_formed_timestamps(
    voicewire_iut: Any, timestamp_type: str | None
) -> None:
    """A valid request gets 200 and NDJSON: every line one JSON object, ``result`` with base64
    PCM of whole samples (no ``error`` line for a valid request), some audio in all (IW-HTTP-2);
    every ``timestampInfo`` sent has parallel arrays of equal length and times within the
    audio (IW-HTTP-3)."""
    target = voicewire_iut.server()
    body = synthesize_body(LONG, sample_rate=RATE, timestamp_type=timestamp_type)
    answer = voicewire_iut.run(_synthesize(target, body))
    require(answer.status == 200, "IW-HTTP-2", f"a valid request got {answer.shown()}")
    read = read_synthesis(answer.body, RATE)
    expect(
        not read.problems,
        "IW-HTTP-2",
        f"lines that are not one result or error object: {read.problems[:5]}",
    )
    expect(not read.errors, "IW-HTTP-2", f"a valid request got error lines: {read.errors[:3]}")
    expect(
        read.results > 0 and read.pcm,
        "IW-HTTP-2",
        f"no audio in {read.lines} lines: {answer.shown()}",
    )
    expect(
        not read.timestamp_problems,
        "IW-HTTP-3",
        f"timestamps ({timestamp_type}) a server must not send: {read.timestamp_problems[:5]}",
    )
    if timestamp_type is None:
        return
    key = "wordAlignment" if timestamp_type == "WORD" else "characterAlignment"
    other = [info for info in read.timestamps if getattr(info, key) is None]
    expect(
        not other,
        "IW-HTTP-3",
        f"timestampType {timestamp_type} asked, but {len(other)} timestampInfo hold no {key}",
    )


@pytest.mark.spec("IW-HTTP-2")
@pytest.mark.capability("inworld.server")
def test_a_synthesis_is_pcm_at_the_requested_rate(voicewire_iut: Any) -> None:
    """The same text at 16000 and 48000 Hz lasts about as long, its samples counted at the
    requested ``sampleRateHertz``: the PCM is at the rate asked for."""
    target = voicewire_iut.server()
    rates = (16000, 48000)

    async def both() -> list[InworldHTTPAnswer]:
        return list(
            await asyncio.gather(
                *(_synthesize(target, synthesize_body(LONG, sample_rate=r)) for r in rates)
            )
        )

    seconds = {}
    for rate, answer in zip(rates, voicewire_iut.run(both()), strict=True):
        require(answer.status == 200, "IW-HTTP-2", f"at {rate} Hz: {answer.shown()}")
        seconds[rate] = read_synthesis(answer.body, rate).seconds(rate)
    shown = ", ".join(f"{s:.3f} s at {rate} Hz" for rate, s in seconds.items())
    expect(
        min(seconds.values()) > 0
        and max(seconds.values()) < RATE_AGREEMENT * min(seconds.values()),
        "IW-HTTP-2",
        f"the same text's audio, counted at the requested rate, lasts {shown}: the audio is "
        "not at the rate asked for",
    )


def _valid_request() -> dict[str, Any]:
    return dict(json.loads(synthesize_body(SHORT)))


def _bad_body(kind: str) -> tuple[bytes, str | None]:
    """A body a server must refuse with 400, and the field its error should name."""
    if kind == "not-json":
        return b'{"text": "Hello there.", "voiceId": ', None
    if kind == "not-an-object":
        return b'["Hello there."]', None
    request = _valid_request()
    field = {
        "no-text": "text",
        "text-a-number": "text",
        "audio-config-an-array": "audioConfig",
        "sample-rate-a-word": "sampleRateHertz",
        "unknown-encoding": "audioEncoding",
        "unknown-timestamp-type": "timestampType",
    }[kind]
    if kind == "no-text":
        del request["text"]
    elif kind == "text-a-number":
        request["text"] = 7
    elif kind == "audio-config-an-array":
        request["audioConfig"] = [24000]
    elif kind == "sample-rate-a-word":
        request["audioConfig"]["sampleRateHertz"] = "fast"
    elif kind == "unknown-encoding":
        request["audioConfig"]["audioEncoding"] = "NO_SUCH_ENCODING"
    else:
        request["timestampType"] = "NO_SUCH_TIMESTAMP_TYPE"
    return json.dumps(request).encode(), field


BAD_BODIES = [
    "not-json",
    "not-an-object",
    "no-text",
    "text-a-number",
    "audio-config-an-array",
    "sample-rate-a-word",
    "unknown-encoding",
    "unknown-timestamp-type",
]


@pytest.mark.spec("SRV-1", "SRV-5")
@pytest.mark.capability("inworld.server")
@pytest.mark.parametrize("kind", BAD_BODIES)
def test_a_bad_synthesis_request_gets_400_naming_the_field(voicewire_iut: Any, kind: str) -> None:
    """A body that is not JSON, not an object, without ``text``, of the wrong types or with
    an enum value Inworld has not: HTTP 400, never a stream or a 5xx (SRV-1), with a JSON error
    body whose message names the field (SRV-5)."""
    target = voicewire_iut.server()
    body, field = _bad_body(kind)
    answer = voicewire_iut.run(_synthesize(target, body))
    expect(answer.status == 400, "SRV-1", f"{kind}: expected HTTP 400, got {answer.shown()}")
    message = answer.error_message()
    expect(
        message is not None,
        "SRV-5",
        f"{kind}: the 400 must carry a JSON error body with a message, got {answer.shown()}",
    )
    if field is not None and message is not None:
        expect(
            field.lower() in message.lower(),
            "SRV-5",
            f"{kind}: the error should name the field {field!r}: {message!r}",
        )


# -- IW-VOICES-1 ---------------------------------------------------------------------------

VOICES = [
    {"voiceId": "Ashley", "languages": ["en"]},
    {"voiceId": "Lucia", "languages": ["es"]},
    {"voiceId": "Mathieu", "languages": ["fr-FR"]},
    {"voiceId": "Pat", "languages": ["en-US", "es"]},
]


def _speaks(voice: Any, language: str) -> bool:
    languages = voice.get("languages") if isinstance(voice, dict) else None
    return isinstance(languages, list) and any(
        isinstance(code, str) and code.split("-", 1)[0].lower() == language for code in languages
    )


@pytest.mark.spec("IW-VOICES-1")
@pytest.mark.capability("inworld.server")
def test_voices_are_listed_and_filtered_by_language(
    voicewire_iut: Any, voicewire_simulator: Any
) -> None:
    """``GET tts/v1/voices`` answers ``{"voices": [...]}``, each voice an object with a
    ``voiceId``; with ``filter=language=en`` (and ``es``) only voices speaking that language,
    all of them among the unfiltered list.

    Against voicewire's own simulator the case asks for voices of several languages (its
    defaults all speak English, which no filter could tell apart)."""
    target = voicewire_iut.server()
    if _embedded(voicewire_iut, voicewire_simulator):
        scenario = build_scenario(
            "inworld-server-voices",
            {"match": {"endpoint": "inworld.voices"}, "reply": {"voices": VOICES}},
        )
        target = voicewire_simulator.session(scenario)
    urls = inworld_server_urls(target)
    languages = ("en", "es")

    async def every_list() -> list[InworldHTTPAnswer]:
        asked = [urls.voices(), *(urls.voices(language) for language in languages)]
        return list(await asyncio.gather(*(inworld_http(target, "GET", url) for url in asked)))

    everything, *filtered = voicewire_iut.run(every_list())
    require(everything.status == 200, "IW-VOICES-1", f"the voices list: {everything.shown()}")
    problems = voices_problems(everything.json())
    require(not problems, "IW-VOICES-1", f"the voices list: {problems[:5]}: {everything.shown()}")
    known = {voice["voiceId"] for voice in everything.json()["voices"]}
    for language, answer in zip(languages, filtered, strict=True):
        require(
            answer.status == 200,
            "IW-VOICES-1",
            f"filter=language={language}: {answer.shown()}",
        )
        problems = voices_problems(answer.json())
        require(not problems, "IW-VOICES-1", f"filter=language={language}: {problems[:5]}")
        voices = answer.json()["voices"]
        others = [v.get("voiceId") for v in voices if not _speaks(v, language)]
        expect(
            not others,
            "IW-VOICES-1",
            f"filter=language={language} listed voices of other languages: {others}",
        )
        unknown = [v["voiceId"] for v in voices if v["voiceId"] not in known]
        expect(
            not unknown,
            "IW-VOICES-1",
            f"filter=language={language} listed voices the unfiltered list has not: {unknown}",
        )


# -- IW-WS-3: contexts on one socket -----------------------------------------------------------


def _upgraded(seen: InworldContextsSession | InworldTranscribeSession, rule: str) -> None:
    require(seen.upgraded, rule, f"the WebSocket upgrade with the Basic key failed: {seen.failure}")


def _judge_context(
    seen: InworldContextsSession, cid: str, generations: int, rate: int = RATE
) -> None:
    """One context that was created, given ``generations`` flushed texts and closed: its
    replies in IW-WS-3's order, its audio and timestamps well-formed."""
    kinds = seen.kinds(cid)
    shown = f"context {cid!r} got {kinds}"
    expect("status" not in kinds, "IW-WS-3", f"{shown}: a failing status: {seen.describe()}")
    expect(
        kinds[:1] == ["contextCreated"],
        "IW-WS-3",
        f"{shown}: contextCreated must answer create first",
    )
    expect(
        kinds.count("flushCompleted") >= generations,
        "IW-WS-3",
        f"{shown}: expected a flushCompleted for each of {generations} flush_context",
    )
    expect(
        kinds.count("contextClosed") == 1 and kinds[-1] == "contextClosed",
        "IW-WS-3",
        f"{shown}: one contextClosed must end the context, after close_context",
    )
    audio = seen.generations(cid)
    empty = [n for n, chunks in enumerate(audio[:generations]) if not any(c.pcm for c in chunks)]
    expect(not empty, "IW-WS-3", f"{shown}: generations {empty} got no audio before their flush")
    problems = seen.generation_problems(cid, rate)
    expect(not problems, ["IW-WS-3", "IW-HTTP-3"], f"context {cid!r}: {problems[:5]}")


def _closed_with_a_frame(seen: InworldContextsSession, what: str) -> None:
    expect(
        seen.failure is None and seen.close_code is not None and not seen.closed_by_server,
        "SRV-3",
        f"{what}: the socket must stay open until the client closes it, then end with a close "
        f"frame and code: {seen.describe()}",
    )


@pytest.mark.spec("IW-WS-3", "IW-HTTP-3", "SRV-3")
@pytest.mark.capability("inworld.server")
def test_two_contexts_on_one_socket_each_get_created_audio_flushed_closed(
    voicewire_iut: Any,
) -> None:
    """Two contexts interleaved on one socket: each reply is ``{"result": {"contextId", ...,
    one of contextCreated | audioChunk | flushCompleted | contextClosed}}``; each context gets
    contextCreated, audio then flushCompleted for each flush, and contextClosed last, after
    close_context; word timestamps well-formed and within each generation's audio (times
    restart with each generation); the socket stays open until the client closes it
    (SRV-3)."""
    target = voicewire_iut.server()
    first, second = "ctx0first001", "ctx0second02"
    steps = [
        context_create(first),
        context_create(second),
        context_text(first, SHORT),
        context_text(second, LONG),
        context_flush(first),
        context_flush(second),
        awaiting(first, "flushCompleted"),
        awaiting(second, "flushCompleted"),
        context_text(first, LONG),
        context_flush(first),
        awaiting(first, "flushCompleted"),
        context_close(second),
        context_close(first),
        awaiting(second, "contextClosed"),
        awaiting(first, "contextClosed"),
    ]
    seen = voicewire_iut.run(play_contexts(target, steps))
    _upgraded(seen, "IW-WS-3")
    problems = seen.shape_problems()
    expect(not problems, "IW-WS-3", f"replies of the wrong shape: {problems[:5]}")
    expect(
        not seen.failing(None),
        "IW-WS-3",
        f"valid contexts got an error naming no context: {seen.describe()}",
    )
    _judge_context(seen, first, 2)
    _judge_context(seen, second, 1)
    _closed_with_a_frame(seen, "two contexts served")


@pytest.mark.spec("IW-WS-3")
@pytest.mark.capability("inworld.server")
def test_each_context_is_spoken_at_its_own_rate(voicewire_iut: Any) -> None:
    """Two contexts on one socket ask for 16000 and 48000 Hz: the same text lasts about as
    long in each, its samples counted at the context's own ``sampleRateHertz``."""
    target = voicewire_iut.server()
    rates = {"ctx0at16000h": 16000, "ctx0at48000h": 48000}
    steps = [
        *(context_create(cid, sample_rate=rate) for cid, rate in rates.items()),
        *(context_text(cid, LONG) for cid in rates),
        *(context_close(cid) for cid in rates),
        *(awaiting(cid, "contextClosed") for cid in rates),
    ]
    seen = voicewire_iut.run(play_contexts(target, steps))
    _upgraded(seen, "IW-WS-3")
    seconds = {cid: seen.audio_seconds(cid, rate) for cid, rate in rates.items()}
    shown = ", ".join(f"{s:.3f} s at {rates[cid]} Hz" for cid, s in seconds.items())
    expect(
        min(seconds.values()) > 0
        and max(seconds.values()) < RATE_AGREEMENT * min(seconds.values()),
        "IW-WS-3",
        f"the same text's audio, counted at each context's rate, lasts {shown}: a context "
        f"is not spoken at its own rate: {seen.describe()}",
    )


@pytest.mark.spec("IW-WS-3")
@pytest.mark.capability("inworld.server")
def test_a_sixth_concurrent_context_is_refused_for_that_context_only(
    voicewire_iut: Any,
) -> None:
    """Five contexts open on one socket: a sixth ``create`` gets a status with ``code != 0``
    for that context only, and nothing else; the five still get their audio and
    contextClosed; once one of them has closed, a new context is served (the limit counts
    open contexts, not contexts ever made)."""
    target = voicewire_iut.server()
    five = [f"ctx0open{n:04d}" for n in range(5)]
    sixth, later = "ctx0sixth006", "ctx0later007"
    steps = [
        *(context_create(cid) for cid in five),
        context_create(sixth),
        awaiting(sixth, "status"),
        *(step for cid in five for step in (context_text(cid, SHORT), context_close(cid))),
        *(awaiting(cid, "contextClosed") for cid in five),
        *context_lifecycle(later, SHORT),
    ]
    seen = voicewire_iut.run(play_contexts(target, steps))
    _upgraded(seen, "IW-WS-3")
    refused = seen.failing(sixth)
    require(
        refused and seen.kinds(sixth) == ["status"],
        "IW-WS-3",
        f"the sixth concurrent context must get a failing status, and only that: "
        f"{seen.kinds(sixth)}: {seen.describe()}",
    )
    problems = seen.shape_problems()
    expect(not problems, "IW-WS-3", f"replies of the wrong shape: {problems[:5]}")
    for cid in five:
        _judge_context(seen, cid, 0)
        expect(
            any(c.pcm for chunks in seen.generations(cid) for c in chunks),
            "IW-WS-3",
            f"context {cid!r}, one of the five, got no audio: {seen.describe()}",
        )
    _judge_context(seen, later, 1)
    _closed_with_a_frame(seen, "after the refused sixth context")


OUT_OF_ORDER = {
    "text-before-create": lambda bad: [context_text(bad, SHORT)],
    "flush-before-create": lambda bad: [context_flush(bad)],
    "second-create-of-an-open-id": lambda bad: [
        context_create(bad),
        awaiting(bad, "contextCreated"),
        context_create(bad),
    ],
    "text-after-close": lambda bad: [*context_lifecycle(bad, SHORT), context_text(bad, SHORT)],
}


@pytest.mark.spec("IW-WS-3", "SRV-1")
@pytest.mark.capability("inworld.server")
@pytest.mark.parametrize("order", list(OUT_OF_ORDER))
def test_an_out_of_order_message_gets_a_status_for_its_context_only(
    voicewire_iut: Any, order: str
) -> None:
    """``send_text`` or ``flush_context`` of a context never created, a second ``create`` of
    an open id, text to a closed context: an error, never a crash or audio (SRV-1), given as
    a failing status for that context while the socket keeps serving the context open beside
    it (IW-WS-3: a failure is a context's, not the socket's)."""
    target = voicewire_iut.server()
    good, bad = "ctx0good0001", "ctx0bad00002"
    steps = [
        context_create(good),
        *OUT_OF_ORDER[order](bad),
        awaiting(bad, "status"),
        context_text(good, SHORT),
        context_flush(good),
        awaiting(good, "flushCompleted"),
        context_close(good),
        awaiting(good, "contextClosed"),
    ]
    seen = voicewire_iut.run(play_contexts(target, steps))
    _upgraded(seen, "SRV-1")
    refused = seen.failing(bad) or seen.failing(None)
    expect(
        refused or seen.close_code in (1003, 1008),
        "SRV-1",
        f"{order}: neither an error nor a close 1003/1008: {seen.describe()}",
    )
    codes = _error_codes(refused)
    expect(
        all(_is_protocol_error_code(code) for code in codes),
        "SRV-1",
        f"{order}: the error's code must say the message was bad, not the server failed: {codes}",
    )
    expect(
        bool(seen.failing(bad)),
        "IW-WS-3",
        f"{order}: expected a failing status naming context {bad!r}: {seen.describe()}",
    )
    kinds = seen.kinds(bad)
    # What came about the bad context once it was over (text-after-close) or at all.
    refused_part = kinds[kinds.index("contextClosed") + 1 :] if "contextClosed" in kinds else kinds
    expect(
        "audioChunk" not in refused_part,
        "SRV-1",
        f"{order}: the refused message got audio: {kinds}: {seen.describe()}",
    )
    problems = seen.shape_problems()
    expect(not problems, "IW-WS-3", f"{order}: replies of the wrong shape: {problems[:5]}")
    expect(
        not seen.closed_by_server,
        "IW-WS-3",
        f"{order}: the socket was closed: a bad message fails its context, not the others "
        f"on the socket: {seen.describe()}",
    )
    if not seen.closed_by_server:
        _judge_context(seen, good, 1)


BAD_FRAMES = {
    "not-json": "not json at all",
    "no-operation": '{"contextId": "ctx0bad00002"}',
    "create-of-wrong-types": json.dumps(
        {"create": {"voiceId": 7, "modelId": ["inworld-tts-1.5-max"]}, "contextId": "ctx0bad00002"}
    ),
    "send-text-a-number": '{"send_text": {"text": 7}, "contextId": "ctx0bad00002"}',
    "two-operations": json.dumps(
        {"flush_context": {}, "close_context": {}, "contextId": "ctx0bad00002"}
    ),
}


@pytest.mark.spec("SRV-1", "IW-WS-3")
@pytest.mark.capability("inworld.server")
@pytest.mark.parametrize("bad", list(BAD_FRAMES))
def test_a_bad_context_frame_gets_an_error_and_the_socket_stays_usable(
    voicewire_iut: Any, bad: str
) -> None:
    """A frame that is not JSON, names no operation, has fields of the wrong type, or holds
    two operations: a failing status (for the context it names) or a top-level error, never a
    5xx-like code or a close 1011 (or a close 1003/1008: SRV-1); when the socket stays open,
    the context open beside it completes."""
    target = voicewire_iut.server()
    good = "ctx0good0001"
    steps = [
        context_create(good),
        awaiting(good, "contextCreated"),
        BAD_FRAMES[bad],
        awaiting(None, "status", "error"),
        context_text(good, SHORT),
        context_flush(good),
        context_close(good),
        awaiting(good, "contextClosed"),
    ]
    seen = voicewire_iut.run(play_contexts(target, steps))
    _upgraded(seen, "SRV-1")
    errors = seen.failing("ctx0bad00002") + seen.failing(None)
    expect(
        errors or seen.close_code in (1003, 1008),
        "SRV-1",
        f"{bad}: neither an error nor a close 1003/1008: {seen.describe()}",
    )
    codes = _error_codes(errors)
    expect(
        all(_is_protocol_error_code(code) for code in codes),
        "SRV-1",
        f"{bad}: the error's code must say the message was bad, not the server failed: {codes}",
    )
    expect(seen.close_code != 1011, "SRV-1", f"{bad}: closed with 1011: {seen.describe()}")
    if seen.closed_by_server:
        return  # closed with 1003/1008: SRV-1 lets it
    expect(
        not seen.failing(good),
        "IW-WS-3",
        f"{bad}: the bad frame failed the context open beside it: {seen.describe()}",
    )
    _judge_context(seen, good, 1)


# -- SRV-3 / SRV-2 on both WebSockets: a binary frame ------------------------------------------


@pytest.mark.spec("SRV-3", "SRV-2")
@pytest.mark.capability("inworld.server")
def test_a_binary_frame_closes_the_tts_socket_with_1003_and_others_go_on(
    voicewire_iut: Any,
) -> None:
    """A binary frame on the TTS WebSocket closes that socket with 1003 (SRV-3); a session on
    another socket at the same time still completes its context (SRV-2)."""
    target = voicewire_iut.server()
    hostile = [
        context_create("ctx0binary01"),
        bytes(960),
        context_text("ctx0binary01", SHORT),
        # Read on until the server's close (a contextClosed never comes: nothing closed it).
        awaiting("ctx0binary01", "contextClosed"),
    ]
    good = context_lifecycle("ctx0beside01", LONG)

    async def together() -> list[InworldContextsSession]:
        return list(
            await asyncio.gather(play_contexts(target, hostile), play_contexts(target, good))
        )

    binary, beside = voicewire_iut.run(together())
    _upgraded(binary, "SRV-3")
    expect(
        binary.closed_by_server and binary.close_code == 1003,
        "SRV-3",
        f"expected the server's close with 1003: {binary.describe()}",
    )
    _upgraded(beside, "SRV-2")
    _judge_context(beside, "ctx0beside01", 1)


def _unstarted_transcriptions(kinds: list[str]) -> list[int]:
    """The transcriptions that no ``speechStarted`` opened: each utterance is
    ``speechStarted``, interims, its final; the next one needs its own ``speechStarted``."""
    started, unstarted = False, []
    for index, kind in enumerate(kinds):
        if kind == "speechStarted":
            started = True
        elif kind in ("interim", "final"):
            if not started:
                unstarted.append(index)
            if kind == "final":
                started = False
    return unstarted


def _transcribed(seen: InworldTranscribeSession, what: str) -> None:
    """IW-STT-S-1 on a stream of speech ended by ``closeStream``."""
    problems = seen.shape_problems()
    expect(not problems, "IW-STT-S-1", f"{what}: messages of the wrong shape: {problems[:5]}")
    kinds = seen.kinds()
    expect("error" not in kinds, "IW-STT-S-1", f"{what}: an error: {seen.describe()}")
    transcripts = [n for n, k in enumerate(kinds) if k in ("interim", "final")]
    require(
        "final" in kinds and any(seen.finals()),
        "IW-STT-S-1",
        f"{what}: no final transcript with text: {seen.describe()}",
    )
    unstarted = _unstarted_transcriptions(kinds)
    expect(
        not unstarted,
        "IW-STT-S-1",
        f"{what}: every utterance's transcriptions must follow a speechStarted; messages "
        f"{unstarted} came without one: {kinds}",
    )
    expect(
        kinds[transcripts[-1]] == "final",
        "IW-STT-S-1",
        f"{what}: after closeStream the pending final must come; the last transcription is an "
        f"interim: {kinds}",
    )
    expect(
        seen.failure is None and seen.close_code == 1000,
        "IW-STT-S-1",
        f"{what}: after closeStream the server must close with 1000: {seen.describe()}",
    )


@pytest.mark.spec("SRV-3", "SRV-2", "IW-STT-S-1")
@pytest.mark.capability("inworld.server")
def test_a_binary_frame_closes_the_stt_socket_with_1003_and_others_go_on(
    voicewire_iut: Any,
) -> None:
    """A binary frame on the STT WebSocket closes that socket with 1003 (SRV-3); a stream on
    another socket at the same time is still transcribed and closed with 1000 (SRV-2)."""
    target = voicewire_iut.server()
    speech = transcribe_audio(tone_speech_cut_short())
    hostile = [TRANSCRIBE_CONFIG, speech[0], bytes(1600), *speech[1:], CLOSE_STREAM]
    good = [TRANSCRIBE_CONFIG, *speech, CLOSE_STREAM]

    async def together() -> list[InworldTranscribeSession]:
        return list(
            await asyncio.gather(play_transcribe(target, hostile), play_transcribe(target, good))
        )

    binary, beside = voicewire_iut.run(together())
    _upgraded(binary, "SRV-3")
    expect(binary.close_code == 1003, "SRV-3", f"expected close 1003: {binary.describe()}")
    _upgraded(beside, "SRV-2")
    _transcribed(beside, "the stream beside the binary frame")


# -- IW-STT-S-1: a transcription stream --------------------------------------------------------


@pytest.mark.spec("IW-STT-S-1", "SRV-3")
@pytest.mark.capability("inworld.server")
def test_speech_gets_speech_started_transcripts_then_the_final_and_close_1000(
    voicewire_iut: Any,
) -> None:
    """``transcribeConfig``, 50 ms ``audioChunk``\\ s of tone-coded speech (an utterance, a
    pause, a second utterance cut short by the end of the audio), ``closeStream``: each
    utterance opened by ``{"result": {"speechStarted": {}}}``, then ``{"result":
    {"transcription": {"transcript", "isFinal"}}}`` messages; after closeStream the pending
    final of the second (the last transcription is final), then a close with 1000
    (IW-STT-S-1; a close frame, SRV-3)."""
    target = voicewire_iut.server()
    frames = [TRANSCRIBE_CONFIG, *transcribe_audio(tone_speech_cut_short()), CLOSE_STREAM]
    seen = voicewire_iut.run(play_transcribe(target, frames))
    _upgraded(seen, "IW-STT-S-1")
    _transcribed(seen, "a stream of speech")


STT_BAD = {
    "audio-before-config": lambda: [*transcribe_audio(tone_speech())[:3], TRANSCRIBE_CONFIG],
    "second-config": lambda: [TRANSCRIBE_CONFIG, TRANSCRIBE_CONFIG],
    "not-json": lambda: [TRANSCRIBE_CONFIG, "not json at all"],
    "unknown-message": lambda: [TRANSCRIBE_CONFIG, '{"hello": {}}'],
    "audio-content-a-number": lambda: [TRANSCRIBE_CONFIG, '{"audioChunk": {"content": 7}}'],
    "audio-not-base64": lambda: [TRANSCRIBE_CONFIG, '{"audioChunk": {"content": "%%%"}}'],
}


@pytest.mark.spec("SRV-1", "IW-STT-S-1")
@pytest.mark.capability("inworld.server")
@pytest.mark.parametrize("bad", list(STT_BAD))
def test_a_bad_stt_message_gets_an_error_and_the_stream_goes_on(
    voicewire_iut: Any, bad: str
) -> None:
    """Audio before ``transcribeConfig``, a second config, a frame that is not JSON, names no
    message, has fields of the wrong type or audio that is not base64: Inworld's error frame
    ``{"error": {"code", "message"}}`` with a code saying the message was bad (or a close
    1003/1008), never a close 1011 (SRV-1); when the socket stays open, ``closeStream`` still
    ends it with 1000 (IW-STT-S-1)."""
    target = voicewire_iut.server()
    seen = voicewire_iut.run(play_transcribe(target, [*STT_BAD[bad](), CLOSE_STREAM]))
    _upgraded(seen, "SRV-1")
    errors = seen.errors()
    expect(
        errors or seen.close_code in (1003, 1008),
        "SRV-1",
        f"{bad}: neither an error frame nor a close 1003/1008: {seen.describe()}",
    )
    codes = [e["error"].get("code") for e in errors]
    expect(
        all(_is_protocol_error_code(code) for code in codes),
        "SRV-1",
        f"{bad}: the error's code must say the message was bad, not the server failed: {codes}",
    )
    expect(seen.close_code != 1011, "SRV-1", f"{bad}: closed with 1011: {seen.describe()}")
    if seen.close_code in (1003, 1008):
        return
    expect(
        seen.failure is None and seen.close_code == 1000,
        "IW-STT-S-1",
        f"{bad}: after the error, closeStream must still end the stream with 1000: "
        f"{seen.describe()}",
    )
