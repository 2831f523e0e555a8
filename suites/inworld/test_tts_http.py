"""Inworld TTS over HTTP, client conformance (SPEC §5.1 IW-HTTP-1..3, AUTH-6, CLI-ROB-1).

Each case runs ``synthesize(text)`` on one Inworld TTS (``voicewire_iut.inworld_synthesize``)
against the embedded simulator's ``POST /tts/v1/voice:stream``, reached through a base URL
with a path (a session's ``.../v1``), and judges what the simulator journaled: the request
as it arrived (IW-HTTP-1, AUTH-6), and the audio, timed texts and errors the synthesis
emitted against the NDJSON lines the server really wrote (IW-HTTP-2, IW-HTTP-3), after drops,
duplicates, reorders, interleaved blank or unparseable lines and byte splits. The simulator
sends as fast as it can; every case makes one attempt (a retry would hide the first one).

The journal reader and the shared checks are :mod:`.http_log`'s.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from voicewire.harness.driver import IUTDriver
from voicewire.harness.inworld import InworldSynthesisOutcome, InworldTTSOutcome
from voicewire.harness.iut import ConnOptions, Target
from voicewire.harness.runtime import CaseSimulator
from voicewire.harness.verdicts import expect, require
from voicewire.simulators.scenario import Scenario

from .http_log import (
    API_ERRORS,
    ONE_ATTEMPT,
    SYNTHESIZE_ROUTE,
    JournaledHTTPRequest,
    SynthesisAnswer,
    basic_key_fingerprint,
    inworld_audio_problem,
    inworld_http_requests,
    inworld_prefix_problem,
    served_timed_texts,
    synthesis_answers,
    synthesis_scenario,
    timed_texts_problem,
)

TEXT = "Good morning."
TWO_TEXTS = ["Good morning.", "See you soon!"]
RATE = 24000

# A hostile line must end the synthesis as a FAIL in seconds, never as the harness's timeout.
ROBUST = ConnOptions(max_retry=0, retry_interval=0.0, timeout=2.0)
ROBUST_END = 5.0

AUDIO_CONFIG_KEYS = ("audioEncoding", "bitrate", "sampleRateHertz", "temperature", "speakingRate")
BODY_KEYS = frozenset(
    {
        "text",
        "voiceId",
        "modelId",
        "audioConfig",
        "timestampType",
        "applyTextNormalization",
        "language",
        "deliveryMode",
        "timestampTransportStrategy",
    }
)


# -- helpers -------------------------------------------------------------------------------------


def synthesize(
    iut: IUTDriver,
    simulator: CaseSimulator,
    scenario: Scenario | None,
    texts: list[str],
    **fields: Any,
) -> tuple[InworldTTSOutcome, Target]:
    """HTTP syntheses, one per text, on one TTS against a fresh session (the simulator's
    defaults when ``scenario`` is None)."""
    target = simulator.session(scenario)
    fields.setdefault("conn_options", ONE_ATTEMPT)
    return iut.inworld_synthesize(target=target, texts=texts, **fields), target


def only_answer(
    simulator: CaseSimulator, target: Target, outcome: InworldTTSOutcome
) -> SynthesisAnswer:
    """The one answer of a one-request session (the case stops when there is not one)."""
    answers = synthesis_answers(simulator, target)
    require(
        len(answers) == 1,
        "IW-HTTP-1",
        f"one synthesis with one attempt makes one POST {SYNTHESIZE_ROUTE}; the server "
        f"received {len(answers)}:\n{outcome.describe()}",
    )
    return answers[0]


def error_text(synthesis: InworldSynthesisOutcome) -> str:
    error = synthesis.error
    return "none" if error is None else f"{error.kind}: {error.message[:300]}"


def failed_cleanly(synthesis: InworldSynthesisOutcome, rule: str, what: str) -> None:
    """The synthesis ended with an error of the APIError family (CLI-ROB-1), not cleanly and
    not with another type or the harness's timeout."""
    error = synthesis.error
    require(
        error is not None,
        rule,
        f"{what}: the synthesis must end with an error, it ended cleanly:\n{synthesis.describe()}",
    )
    assert error is not None
    expect(
        error.kind in API_ERRORS,
        "CLI-ROB-1",
        f"{what}: the synthesis must end with an error of the APIError family within the "
        f"timeout, never hang or raise another type; it ended with {error_text(synthesis)}",
    )


def audio_before_failure(
    synthesis: InworldSynthesisOutcome, answer: SynthesisAnswer, what: str
) -> None:
    """IW-HTTP-2 on a failed synthesis: what it emitted is a byte-exact prefix of the audio
    the server wrote before the failing line, none after it."""
    problem = inworld_prefix_problem(synthesis.audio, answer.before_failure())
    expect(
        problem is None,
        "IW-HTTP-2",
        f"{what}: the audio emitted must be the server's, in order, up to the failing line and "
        f"none after it: {problem}\n{synthesis.describe()}",
    )


# -- IW-HTTP-1, AUTH-6 ----------------------------------------------------------------------------

OPTIONS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "configured": {
        "voice": "Dennis",
        "model": "inworld-tts-1.5-mini",
        "sample_rate": 16000,
        "temperature": 0.7,
        "speaking_rate": 1.25,
        "language": "en",
        "timestamp_type": "CHARACTER",
        "extra_kwargs": {
            "bit_rate": 128000,
            "text_normalization": "OFF",
            "delivery_mode": "STABLE",
            "timestamp_transport_strategy": "SYNC",
        },
    },
}


def _wanted_body(text: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The body SPEC §5.1 (and upstream) sends for ``text`` under the case's options."""
    extra = fields.get("extra_kwargs", {})
    body: dict[str, Any] = {
        "text": text,
        "voiceId": fields.get("voice", "Ashley"),
        "modelId": fields.get("model", "inworld-tts-1.5-max"),
        "audioConfig": {
            "audioEncoding": "PCM",
            "bitrate": extra.get("bit_rate", 64000),
            "sampleRateHertz": fields.get("sample_rate", 24000),
            "temperature": fields.get("temperature", 1.0),
            "speakingRate": fields.get("speaking_rate", 1.0),
        },
        "timestampTransportStrategy": extra.get("timestamp_transport_strategy", "ASYNC"),
    }
    optional = {
        "language": fields.get("language"),
        "timestampType": fields.get("timestamp_type"),
        "applyTextNormalization": extra.get("text_normalization"),
        "deliveryMode": extra.get("delivery_mode"),
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    return body


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _body_problems(body: Any, wanted: dict[str, Any]) -> list[str]:
    """Where a request body breaks IW-HTTP-1: its keys, their JSON types and values."""
    if not isinstance(body, dict):
        return [f"the body must be a JSON object, it was {str(body)[:200]!r}"]
    problems = []
    unknown = sorted(set(body) - BODY_KEYS)
    if "temperature" in body:
        problems.append(
            "temperature must sit inside audioConfig in the HTTP body, not at the top level "
            f"(top-level keys: {sorted(body)})"
        )
    elif unknown:
        problems.append(f"keys SPEC §5.1 does not name: {unknown}")
    for key in ("text", "voiceId", "modelId", "timestampTransportStrategy"):
        if body.get(key) != wanted[key] or not isinstance(body.get(key), str):
            problems.append(f"{key} must be the string {wanted[key]!r}, got {body.get(key)!r}")
    config = body.get("audioConfig")
    if not isinstance(config, dict):
        return [*problems, f"audioConfig must be an object, got {config!r}"]
    if sorted(config) != sorted(AUDIO_CONFIG_KEYS):
        problems.append(
            f"audioConfig must hold exactly {list(AUDIO_CONFIG_KEYS)}, it holds {sorted(config)}"
        )
    types = {
        "audioEncoding": lambda v: isinstance(v, str),
        "bitrate": _is_int,
        "sampleRateHertz": _is_int,
        "temperature": _is_number,
        "speakingRate": _is_number,
    }
    for key, is_type in types.items():
        value, want = config.get(key), wanted["audioConfig"][key]
        if key in config and (not is_type(value) or value != want):
            problems.append(f"audioConfig.{key} must be {want!r}, got {value!r}")
    for key in ("language", "timestampType", "applyTextNormalization", "deliveryMode"):
        if key in wanted and body.get(key) != wanted[key]:
            problems.append(f"{key} must be {wanted[key]!r} as configured, got {body.get(key)!r}")
        elif key not in wanted and key in body:
            problems.append(f"{key} is sent only when set; it was not, the body has {body[key]!r}")
    return problems


def _request_id_problem(value: str | None) -> str | None:
    if not value:
        return "no X-Request-Id header"
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return f"X-Request-Id {value!r} is not a UUID"
    if parsed.version != 4 or parsed.variant != uuid.RFC_4122:
        return f"X-Request-Id {value!r} is not a version-4 UUID"
    return None


@pytest.mark.spec("IW-HTTP-1", "AUTH-6")
@pytest.mark.capability("inworld.tts.http")
@pytest.mark.parametrize("options", sorted(OPTIONS))
def test_request_goes_to_the_host_root_with_the_key_and_the_options(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, options: str
) -> None:
    """Two syntheses on one TTS, whose base URL has a path: each is one ``POST`` to
    ``/tts/v1/voice:stream`` at the host's root (the base path dropped), with
    ``Authorization: Basic <key>`` the key exactly as configured, ``X-User-Agent``, and an
    ``X-Request-Id`` that is a uuid4, fresh for each request. The body holds the text,
    ``voiceId``, ``modelId``, ``audioConfig`` with exactly its five keys (``temperature``
    inside it, not at the top level), ``timestampTransportStrategy``; the defaults (Ashley,
    inworld-tts-1.5-max, PCM, 24000 Hz, 64000 bps, rate and temperature 1.0, ASYNC) or what
    was configured; ``language``, ``timestampType``, ``applyTextNormalization`` and
    ``deliveryMode`` only when set, and then as set."""
    fields = OPTIONS[options]
    outcome, target = synthesize(voicewire_iut, voicewire_simulator, None, TWO_TEXTS, **fields)
    requests = inworld_http_requests(voicewire_simulator, target)
    require(
        requests,
        ("IW-HTTP-1", "AUTH-6"),
        "no request reached the session: a key that is not sent exactly as configured "
        f"(`Basic {target.api_key}`) is refused before it is admitted:\n{outcome.describe()}",
    )
    for request in requests:
        expect(
            request.method == "POST" and request.path == SYNTHESIZE_ROUTE,
            "IW-HTTP-1",
            f"a synthesis is POST {SYNTHESIZE_ROUTE} at the host's root (the base URL "
            f"{target.base_url!r} keeps its path only for the voices list); the client sent "
            f"{request.method} {request.path}",
        )
        _judge_headers(request, target)
    synthesized = [r for r in requests if r.route.endswith(SYNTHESIZE_ROUTE)]
    require(
        len(synthesized) == len(TWO_TEXTS),
        "IW-HTTP-1",
        f"each of the {len(TWO_TEXTS)} syntheses is one request; the server received "
        f"{len(synthesized)}:\n{outcome.describe()}",
    )
    ids = [r.header("X-Request-Id") for r in synthesized]
    expect(
        len(set(ids)) == len(ids),
        "IW-HTTP-1",
        f"X-Request-Id must be fresh for every request: {ids}",
    )
    well_formed = True
    for text, request in zip(TWO_TEXTS, synthesized, strict=True):
        problems = _body_problems(request.body, _wanted_body(text, fields))
        well_formed &= expect(
            not problems,
            "IW-HTTP-1",
            f"the body of the synthesis of {text!r}:\n  "
            + "\n  ".join(problems)
            + f"\nbody: {request.body}",
        )
    # A request the server refused fails its synthesis rightly: only a well-formed one's
    # failure is the client's reading.
    expect(
        not well_formed or all(s.error is None for s in outcome.syntheses),
        "IW-HTTP-2",
        f"both syntheses were asked for rightly and must finish:\n{outcome.describe()}",
    )


def _judge_headers(request: JournaledHTTPRequest, target: Target) -> None:
    token = request.token or {}
    authorization = request.header("Authorization") or ""
    expect(
        authorization.startswith("Basic ")
        and token.get("scheme") == "basic"
        and token.get("fingerprint") == basic_key_fingerprint(target.api_key),
        "AUTH-6",
        f"Authorization must be `Basic <key>` with the key exactly as configured "
        f"({target.api_key!r}, not encoded again): the server saw {authorization!r}, "
        f"admitted as {token}",
    )
    expect(
        bool((request.header("X-User-Agent") or "").strip()),
        "IW-HTTP-1",
        f"every request carries X-User-Agent; headers were {sorted(request.headers)}",
    )
    problem = _request_id_problem(request.header("X-Request-Id"))
    expect(problem is None, "IW-HTTP-1", f"X-Request-Id must be a uuid4: {problem}")


# -- IW-HTTP-2 ----------------------------------------------------------------------------------

DELIVERIES: dict[str, tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]] = {
    # name: (reply, faults, synthesis options)
    "default": ({}, [], {}),
    "odd_small_lines": ({"chunk_duration": 0.013}, [], {}),
    "large_lines": ({"chunk_duration": 0.35}, [], {}),
    "rate_16000": ({"chunk_duration": 0.05}, [], {"sample_rate": 16000}),
    "blank_lines_between": ({"interleave": ""}, [], {}),
    "whitespace_lines_between": ({"interleave": " \t "}, [], {}),
    "unparseable_lines_between": ({"interleave": '{"result": {"audioContent": '}, [], {}),
    "a_line_dropped": ({}, [{"kind": "drop", "at_event": 2}], {}),
    "a_line_duplicated": ({}, [{"kind": "duplicate", "at_event": 1}], {}),
    "lines_reordered": ({}, [{"kind": "reorder", "at_event": 0}], {}),
    "body_cut_anywhere": (
        {"chunk_duration": 0.05, "interleave": ""},
        [{"kind": "byte_split", "sizes": [3, 1500, 17, 400]}],
        {},
    ),
}


@pytest.mark.spec("IW-HTTP-2")
@pytest.mark.capability("inworld.tts.http")
@pytest.mark.parametrize("delivery", sorted(DELIVERIES))
def test_audio_is_the_server_s_in_order(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, delivery: str
) -> None:
    """The synthesis emits exactly the audio of the ``result`` lines the server wrote, in the
    order written: with lines of any length, at another rate, with blank, whitespace or
    unparseable lines between them (skipped), with a line dropped, duplicated or two swapped
    (the client emits what was sent, as sent), and with the body cut into writes anywhere."""
    reply, faults, fields = DELIVERIES[delivery]
    scenario = synthesis_scenario(f"iw-http-{delivery}", reply, faults)
    outcome, target = synthesize(voicewire_iut, voicewire_simulator, scenario, [TEXT], **fields)
    synthesis = outcome.only
    answer = only_answer(voicewire_simulator, target, outcome)
    require(
        answer.status == 200 and answer.audio_lines(),
        "IW-HTTP-2",
        f"the simulator answered {answer.status} with {len(answer.audio_lines())} audio lines",
    )
    require(
        synthesis.error is None,
        "IW-HTTP-2",
        f"the answer holds only audio lines and lines to skip: the synthesis must finish, it "
        f"ended with {error_text(synthesis)}:\n{synthesis.describe()}",
    )
    problem = inworld_audio_problem(synthesis.audio, answer.lines)
    expect(problem is None, "IW-HTTP-2", f"{problem}\n{synthesis.describe()}")


ERROR_LINES: dict[str, dict[str, Any]] = {
    "before_any_audio": {"at_event": 0, "code": 3, "message": "invalid voice"},
    "mid_stream": {"at_event": 4, "code": 8, "message": "quota spent"},
    "mid_stream_http_code": {"at_event": 2, "code": 503, "message": "overloaded"},
}


@pytest.mark.spec("IW-HTTP-2", "CLI-ROB-1")
@pytest.mark.capability("inworld.tts.http")
@pytest.mark.parametrize("where", sorted(ERROR_LINES))
def test_an_error_line_fails_the_synthesis_with_its_code(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, where: str
) -> None:
    """An ``{"error": {"code", "message"}}`` line, before any audio or in the middle of it,
    ends the synthesis with ``APIStatusError`` whose status code is the line's code. The
    server goes on writing audio after it: the client emits none of it, only (a prefix of) the
    audio before the error line, in order."""
    error = ERROR_LINES[where]
    fault = {"kind": "error_event", **error}
    scenario = synthesis_scenario(f"iw-http-error-{where}", {"chunk_duration": 0.05}, [fault])
    outcome, target = synthesize(voicewire_iut, voicewire_simulator, scenario, [TEXT])
    synthesis = outcome.only
    answer = only_answer(voicewire_simulator, target, outcome)
    line = answer.error_line
    require(line is not None, "IW-HTTP-2", "the simulator wrote no error line")
    assert line is not None
    require(
        answer.audio_lines(answer.lines[answer.lines.index(line) :]),
        "IW-HTTP-2",
        "the simulator wrote no audio after its error line (the case's premise)",
    )
    failed_cleanly(synthesis, "IW-HTTP-2", f"an error line of code {line.code}")
    got = synthesis.error
    if got is not None:
        expect(
            got.kind == "APIStatusError" and got.status_code == line.code,
            "IW-HTTP-2",
            f"an error line raises APIStatusError with the line's code {line.code}; the "
            f"synthesis raised {got.kind} (status {got.status_code}): {got.message[:200]}",
        )
    audio_before_failure(synthesis, answer, "an error line")


STATUSES: dict[str, dict[str, Any]] = {
    "400_inworld_body": {"code": 400, "body": {"code": 3, "message": "text: too long"}},
    "429": {"code": 429, "retry_after": 0},
    "503": {"code": 503},
}


@pytest.mark.spec("IW-HTTP-2", "CLI-ROB-1")
@pytest.mark.capability("inworld.tts.http")
@pytest.mark.parametrize("status", sorted(STATUSES))
def test_a_non_2xx_answer_fails_with_its_status(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, status: str
) -> None:
    """A non-2xx answer ends the synthesis with ``APIStatusError`` carrying the HTTP status,
    and no audio."""
    fault = {"kind": "status", **STATUSES[status]}
    scenario = synthesis_scenario(f"iw-http-status-{status}", {}, [fault])
    outcome, target = synthesize(voicewire_iut, voicewire_simulator, scenario, [TEXT])
    synthesis = outcome.only
    answer = only_answer(voicewire_simulator, target, outcome)
    require(answer.status == fault["code"], "IW-HTTP-2", f"the simulator answered {answer.status}")
    failed_cleanly(synthesis, "IW-HTTP-2", f"an HTTP {fault['code']} answer")
    got = synthesis.error
    if got is not None:
        expect(
            got.kind == "APIStatusError" and got.status_code == fault["code"],
            "IW-HTTP-2",
            f"a non-2xx answer raises APIStatusError with its status {fault['code']}; the "
            f"synthesis raised {got.kind} (status {got.status_code}): {got.message[:200]}",
        )
    expect(
        not synthesis.audio,
        "IW-HTTP-2",
        f"an error answer carries no audio; the synthesis emitted {len(synthesis.audio)} bytes",
    )


# -- IW-HTTP-3 ----------------------------------------------------------------------------------

TIMESTAMPS: dict[str, tuple[str, dict[str, Any], list[dict[str, Any]], str]] = {
    # name: (timestamp_type, reply, faults, text)
    "words": ("WORD", {"chunk_duration": 0.1}, [], "Hello there, voice wire."),
    "characters": ("CHARACTER", {"chunk_duration": 0.05}, [], "Hello there, voice wire."),
    "words_in_lines_of_their_own": (
        "WORD",
        {"timestamp_lines": "after_audio"},
        [],
        "Hello there, voice wire.",
    ),
    "non_ascii_characters_cut_anywhere": (
        "CHARACTER",
        {"chunk_duration": 0.013, "timestamp_lines": "after_audio", "interleave": ""},
        [{"kind": "byte_split", "sizes": [5, 700, 11]}],
        "Café über, 日本.",
    ),
}


@pytest.mark.spec("IW-HTTP-3", "IW-HTTP-2")
@pytest.mark.capability("inworld.tts.http")
@pytest.mark.parametrize("timestamps", sorted(TIMESTAMPS))
def test_timed_texts_are_the_server_s(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, timestamps: str
) -> None:
    """With ``timestamp_type`` ``WORD`` or ``CHARACTER``, the timed texts the synthesis emits
    are the server's parallel arrays, entry by entry and line by line in order: each word
    exactly as sent (no space added), each start and end time as sent; also when timestamps
    come in lines of their own after their audio, and when the body is cut anywhere (inside
    a UTF-8 character too). The audio stays the server's, exactly."""
    kind, reply, faults, text = TIMESTAMPS[timestamps]
    scenario = synthesis_scenario(f"iw-http-ts-{timestamps}", reply, faults)
    outcome, target = synthesize(
        voicewire_iut, voicewire_simulator, scenario, [text], timestamp_type=kind
    )
    synthesis = outcome.only
    answer = only_answer(voicewire_simulator, target, outcome)
    served = served_timed_texts(answer.lines)
    require(
        served,
        "IW-HTTP-3",
        f"the server sent no timestampInfo: the request must ask for timestampType {kind}",
    )
    require(
        synthesis.error is None,
        "IW-HTTP-2",
        f"the synthesis must finish, it ended with {error_text(synthesis)}:\n"
        f"{synthesis.describe()}",
    )
    problem = timed_texts_problem(synthesis.timed_texts, served)
    expect(problem is None, "IW-HTTP-3", f"{kind} timestamps: {problem}")
    problem = inworld_audio_problem(synthesis.audio, answer.lines)
    expect(problem is None, "IW-HTTP-2", f"{problem}\n{synthesis.describe()}")


@pytest.mark.spec("IW-HTTP-3", "CLI-ROB-1")
@pytest.mark.capability("inworld.tts.http")
@pytest.mark.parametrize("kind", ["WORD", "CHARACTER"])
def test_unequal_timestamp_arrays_do_not_crash_the_client(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, kind: str
) -> None:
    """A server that breaks IW-HTTP-3 (every end-time array one entry short) does not crash
    the client: the synthesis either finishes, with the server's audio exactly and timed
    texts that are the arrays paired up to the shortest (some may be left out, none
    invented or misplaced), or ends with an error of the APIError family, having emitted a
    prefix of the audio."""
    scenario = synthesis_scenario(
        f"iw-http-unequal-{kind}", {"chunk_duration": 0.5, "unequal_timestamps": True}
    )
    outcome, target = synthesize(
        voicewire_iut,
        voicewire_simulator,
        scenario,
        ["Hello there, voice wire."],
        timestamp_type=kind,
        conn_options=ROBUST,
        end_timeout=ROBUST_END,
    )
    synthesis = outcome.only
    answer = only_answer(voicewire_simulator, target, outcome)
    paired = served_timed_texts(answer.lines, pairing="shortest")
    require(
        paired and len(paired) < len(served_timed_texts(answer.lines)),
        "IW-HTTP-3",
        "the simulator sent no unequal arrays (the case's premise)",
    )
    if synthesis.error is not None:
        failed_cleanly(synthesis, "CLI-ROB-1", "unequal timestamp arrays")
        problem = inworld_prefix_problem(synthesis.audio, answer.lines)
        expect(problem is None, "IW-HTTP-2", f"unequal timestamp arrays: {problem}")
        return
    problem = inworld_audio_problem(synthesis.audio, answer.lines)
    expect(problem is None, "IW-HTTP-2", f"unequal timestamp arrays: {problem}")
    emitted = [(e.text, e.start_time, e.end_time) for e in synthesis.timed_texts]
    remaining = iter(paired)
    invented = [item for item in emitted if not any(_same(item, p) for p in remaining)]
    expect(
        not invented,
        ("IW-HTTP-3", "CLI-ROB-1"),
        f"with unequal arrays the timed texts are the entries paired up to the shortest "
        f"array, in order; these were not: {invented[:5]} (paired: {paired[:8]})",
    )


def _same(a: tuple[str, float, float], b: tuple[str, float, float]) -> bool:
    return a[0] == b[0] and abs(a[1] - b[1]) <= 1e-6 and abs(a[2] - b[2]) <= 1e-6


# -- CLI-ROB-1 over HTTP --------------------------------------------------------------------------

WRONG_SHAPES: dict[str, str] = {
    "not_an_object": "[1, 2, 3]",
    "result_not_an_object": '{"result": "AAAA"}',
    "audio_not_a_string": '{"result": {"audioContent": 12}}',
    "audio_not_base64": '{"result": {"audioContent": "not base64!"}}',
    "error_not_an_object": '{"error": "quota spent"}',
    "timestamp_info_not_an_object": '{"result": {"audioContent": "AAAA", "timestampInfo": 7}}',
    "word_times_not_numbers": (
        '{"result": {"audioContent": "AAAA", "timestampInfo": {"wordAlignment": '
        '{"words": ["Hi"], "wordStartTimeSeconds": ["0.1"], "wordEndTimeSeconds": [0.2]}}}}'
    ),
}


@pytest.mark.spec("CLI-ROB-1", "IW-HTTP-2")
@pytest.mark.capability("inworld.tts.http")
@pytest.mark.parametrize("shape", sorted(WRONG_SHAPES))
def test_a_line_of_the_wrong_shape_fails_with_an_api_error(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, shape: str
) -> None:
    """A line that is JSON of the wrong shape or types (not an object, ``result`` or
    ``error`` not an object, audio that is not a base64 string, ``timestampInfo`` of the
    wrong types) ends the synthesis with an error of the APIError family within the timeout,
    never another exception type or a hang; the audio before it was emitted in order and
    none after it."""
    fault = {"kind": "malformed", "at_event": 2, "line": WRONG_SHAPES[shape]}
    scenario = synthesis_scenario(f"iw-http-shape-{shape}", {"chunk_duration": 0.05}, [fault])
    outcome, target = synthesize(
        voicewire_iut,
        voicewire_simulator,
        scenario,
        [TEXT],
        timestamp_type="WORD",
        conn_options=ROBUST,
        end_timeout=ROBUST_END,
    )
    synthesis = outcome.only
    answer = only_answer(voicewire_simulator, target, outcome)
    require(answer.malformed is not None, "CLI-ROB-1", "the simulator wrote no malformed line")
    failed_cleanly(synthesis, "CLI-ROB-1", f"a line {WRONG_SHAPES[shape]!r}")
    audio_before_failure(synthesis, answer, f"a line {WRONG_SHAPES[shape]!r}")


IGNORED_LINES: dict[str, str] = {
    "unknown_keys_everywhere": (
        '{"result": {"audioContent": "AAABAAIAAwA=", "usage": {"chars": 4}, '
        '"timestampInfo": {"wordAlignment": {"words": [], "extra": 1}, "phonemes": []}}, '
        '"trace": "abc"}'
    ),
    "an_unknown_message": '{"status": {"code": 0, "message": "ok"}}',
    "an_empty_result": '{"result": {}}',
}


@pytest.mark.spec("CLI-ROB-1", "IW-HTTP-2")
@pytest.mark.capability("inworld.tts.http")
@pytest.mark.parametrize("line", sorted(IGNORED_LINES))
def test_unknown_keys_and_messages_are_ignored(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, line: str
) -> None:
    """Unknown keys (top level, in ``result``, in ``timestampInfo``), a message that is
    neither ``result`` nor ``error``, and an empty ``result`` are no error: the synthesis
    finishes with the audio of every ``result`` line, in order."""
    fault = {"kind": "malformed", "at_event": 1, "line": IGNORED_LINES[line]}
    scenario = synthesis_scenario(f"iw-http-ignored-{line}", {"chunk_duration": 0.05}, [fault])
    outcome, target = synthesize(
        voicewire_iut,
        voicewire_simulator,
        scenario,
        [TEXT],
        conn_options=ROBUST,
        end_timeout=ROBUST_END,
    )
    synthesis = outcome.only
    answer = only_answer(voicewire_simulator, target, outcome)
    require(
        answer.malformed is None and answer.error_line is None,
        "CLI-ROB-1",
        f"the simulator's answer is not the case's premise: {[x.kind for x in answer.lines]}",
    )
    require(
        synthesis.error is None,
        "CLI-ROB-1",
        f"unknown keys and messages are ignored, never an error; the synthesis ended with "
        f"{error_text(synthesis)}:\n{synthesis.describe()}",
    )
    problem = inworld_audio_problem(synthesis.audio, answer.lines)
    expect(problem is None, "IW-HTTP-2", f"{problem}\n{synthesis.describe()}")


SILENCES: dict[str, int] = {"before_any_line": 0, "mid_stream": 3}
SILENT_TIMEOUT = ConnOptions(max_retry=0, retry_interval=0.0, timeout=0.5)


@pytest.mark.spec("CLI-ROB-1", "IW-HTTP-2")
@pytest.mark.capability("inworld.tts.http")
@pytest.mark.parametrize("where", sorted(SILENCES))
def test_a_silent_answer_fails_within_the_timeout(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, where: str
) -> None:
    """An answer that goes silent for longer than ``conn_options.timeout`` (half a second
    here; the server stalls 1.5 s) ends the synthesis with an error of the APIError
    family, never a wait for the rest: before its first line or in the middle of the audio.
    What was emitted is a prefix of the audio sent before the silence."""
    fault = {"kind": "stall", "at_event": SILENCES[where], "seconds": 1.5}
    scenario = synthesis_scenario(f"iw-http-silent-{where}", {"chunk_duration": 0.05}, [fault])
    outcome, target = synthesize(
        voicewire_iut,
        voicewire_simulator,
        scenario,
        [TEXT],
        conn_options=SILENT_TIMEOUT,
        end_timeout=ROBUST_END,
    )
    synthesis = outcome.only
    answer = only_answer(voicewire_simulator, target, outcome)
    failed_cleanly(
        synthesis, "CLI-ROB-1", f"a 1.5 s silence {where.replace('_', ' ')} with a 0.5 s timeout"
    )
    sent = answer.lines[: SILENCES[where]]
    problem = inworld_prefix_problem(synthesis.audio, sent)
    expect(
        problem is None,
        "IW-HTTP-2",
        f"the audio emitted must be a prefix of the {len(sent)} lines sent before the silence: "
        f"{problem}",
    )
