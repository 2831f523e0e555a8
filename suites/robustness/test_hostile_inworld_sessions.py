"""Server direction, Inworld: hostile client traffic (SPEC §7 SRV-1..5, §1.2 AUTH-6, §5).

The server is ``voicewire_iut.server()``: voicewire's own embedded simulator for
``--iut reference``, or a gateway given with ``--iut url:<base_url>#protocols=...,inworld``.
Each example of :mod:`voicewire.suites.robustness.inworld_sessions` is played with the raw
probes of :mod:`voicewire.suites.inworld.raw_inworld_sessions` (the reference client's URLs,
``Authorization: Basic <key>``), while one valid session of the same endpoint runs beside it;
another valid one follows.

What every example is judged on:

- a hostile **request** to ``voice:stream`` gets what its example says: a 4xx (SRV-1; 400 for
  nesting beyond the limit, SRV-4) with a JSON error body (SRV-5), 401 for a key that is not
  ``Basic <key>`` (AUTH-6), a synthesis (200, NDJSON audio, IW-HTTP-2) for a long text within
  the limit, never a 5xx;
- a hostile **contexts session** gets one failing status (for the context the frame names) or
  top-level error per bad frame, with a code that says the message was bad, never audio for it
  nor a close 1011 (SRV-1; a close 1003/1008 is allowed instead); a binary frame closes the
  socket with 1003 (SRV-3); otherwise the socket stays usable: the probe context after the
  bad frames is created, spoken, flushed and closed, and the session ends with a close frame;
- a hostile **STT session** gets one error frame per bad message, never a close 1011 (SRV-1),
  a binary frame a close 1003 (SRV-3); otherwise the speech after the bad messages is still
  transcribed and ``closeStream`` ends the stream with 1000 (IW-STT-S-1);
- the valid session beside it (SRV-2) and the one after it (SRV-1) are served whole.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass
from typing import Any

import pytest
from voicewire.harness.iut import Target
from voicewire.harness.replay import classify, property_family
from voicewire.harness.verdicts import expect, require
from voicewire.reference.auth import create_access_token, inworld_authorization
from voicewire.reference.inworld.wire.contexts import RESULT_KINDS
from voicewire.suites.inworld.raw_inworld_sessions import (
    CLOSE_STREAM,
    TRANSCRIBE_CONFIG,
    InworldContextsSession,
    InworldHTTPAnswer,
    InworldTranscribeSession,
    awaiting,
    context_lifecycle,
    inworld_http,
    inworld_server_urls,
    play_contexts,
    play_transcribe,
    read_synthesis,
    synthesize_body,
    tone_speech,
    transcribe_audio,
)
from voicewire.suites.robustness.inworld_sessions import (
    BAD_CONTEXT_ID,
    HOSTILE_INWORLD_CONTEXT_SESSION_BOUNDARIES,
    HOSTILE_INWORLD_REQUEST_BOUNDARIES,
    HOSTILE_INWORLD_TRANSCRIBE_SESSION_BOUNDARIES,
    hostile_inworld_context_sessions,
    hostile_inworld_requests,
    hostile_inworld_transcribe_sessions,
)
from voicewire.suites.robustness.raw_peers import ServerUnderTest, check_hostile_example

RATE = 24000
PROBE = "ctx-probe"
BESIDE = "ctx-beside"
SERVER_FAILURE_CODES = frozenset({2, 13, 14, 15})
"""gRPC codes that say the server failed (UNKNOWN, INTERNAL, UNAVAILABLE, DATA_LOSS), not that
the client's message was bad."""


def _says_bad_message(code: Any) -> bool:
    """Whether an error's ``code`` says the client's message was bad."""
    return (
        isinstance(code, int)
        and not isinstance(code, bool)
        and code != 0
        and code not in SERVER_FAILURE_CODES
        and not 500 <= code <= 599
    )


def _codes(messages: list[Any]) -> list[Any]:
    codes = []
    for message in messages:
        result = message.get("result") if isinstance(message, dict) else None
        if isinstance(result, dict) and isinstance(result.get("status"), dict):
            codes.append(result["status"].get("code"))
        elif isinstance(message, dict) and isinstance(message.get("error"), dict):
            codes.append(message["error"].get("code"))
    return codes


def _errors(errors: list[Any]) -> str:
    return "an error" if len(errors) == 1 else "no error" if not errors else "errors"


@dataclass
class _Played:
    hostile: Any
    beside: Any
    after: Any


# -- HTTP ----------------------------------------------------------------------------------------


def _authorization(variant: str, target: Target) -> str | None:
    key = target.api_key
    return {
        "key": inworld_authorization(key),
        "missing": None,
        "unknown": inworld_authorization(f"{key}-not-the-key"),
        "bearer": f"Bearer {create_access_token(key, target.api_secret)}",
        "base64": "Basic " + base64.b64encode(key.encode()).decode("ascii"),
        "empty": "Basic ",
        "trailing": f"{inworld_authorization(key)} {key}",
    }[variant]


def _body(spec: dict[str, Any]) -> bytes:
    if "json" in spec:
        return json.dumps(spec["json"]).encode()
    if "hex" in spec:
        return bytes.fromhex(spec["hex"])
    return str(spec["text"]).encode()


async def _valid_synthesis(target: Target) -> InworldHTTPAnswer:
    urls = inworld_server_urls(target)
    return await inworld_http(target, "POST", urls.synthesize, body=synthesize_body("Hi."))


async def _play_request(server: ServerUnderTest, example: dict[str, Any]) -> _Played:
    target = server.target
    hostile = inworld_http(
        target,
        "POST",
        inworld_server_urls(target).synthesize,
        authorization=_authorization(example["authorization"], target),
        body=_body(example["body"]),
    )
    played, beside = await asyncio.gather(hostile, _valid_synthesis(target))
    return _Played(played, beside, await _valid_synthesis(target))


def _synthesis_problem(answer: InworldHTTPAnswer) -> str | None:
    """What keeps ``answer`` from being a synthesis with audio (None: it is one)."""
    if answer.status != 200:
        return answer.shown()
    read = read_synthesis(answer.body, RATE)
    if read.problems or read.errors or not read.pcm:
        return f"{read.problems[:3]} {read.errors[:3]}, {len(read.pcm)} bytes of audio"
    return None


def judge_request(example: dict[str, Any], played: _Played, server: ServerUnderTest) -> None:
    """Every expectation of one request example (see the module docstring)."""
    what = f"{example['family']}: {example['what']}"
    want, answer = example["expect"], played.hostile
    status = answer.status
    classify(f"{example['family']} → HTTP {status or 'none'}")
    expect(
        status != 0 and not 500 <= status <= 599,
        "SRV-1",
        f"{what}: never a 5xx nor no answer: {answer.shown()}",
    )
    if want["status"] == "bad":
        expect(
            400 <= status <= 499 and status != 401,
            want["rule"],
            f"{what}: expected a 4xx protocol error: {answer.shown()}",
        )
    elif want["status"] == "auth":
        expect(status == 401, "AUTH-6", f"{what}: expected 401: {answer.shown()}")
    elif want["status"] == "ok":
        problem = _synthesis_problem(answer)
        expect(
            problem is None,
            "IW-HTTP-2",
            f"{what}: a text within the limit must be synthesised: {problem}",
        )
    if 400 <= status <= 499:
        expect(
            answer.error_message() is not None,
            "SRV-5",
            f"{what}: the {status} must carry a JSON error body: {answer.shown()}",
        )
    for label, valid, rule in (
        ("beside it", played.beside, "SRV-2"),
        ("after it", played.after, "SRV-1"),
    ):
        problem = _synthesis_problem(valid)
        expect(problem is None, rule, f"{what}: the valid synthesis {label} failed: {problem}")


# -- TTS contexts ------------------------------------------------------------------------------


def _steps(frames: list[Any]) -> list[Any]:
    steps: list[Any] = []
    for frame in frames:
        if isinstance(frame, str):
            steps.append(frame)
        elif "binary" in frame:
            steps.append(bytes.fromhex(frame["binary"]))
        else:
            steps.append(awaiting(frame["await"], *RESULT_KINDS))
    return steps


async def _play_contexts(server: ServerUnderTest, example: dict[str, Any]) -> _Played:
    target = server.target
    steps = [*_steps(example["frames"]), *context_lifecycle(PROBE, "Hi.")]
    hostile, beside = await asyncio.gather(
        play_contexts(target, steps), play_contexts(target, context_lifecycle(BESIDE, "Hello."))
    )
    after = await play_contexts(target, context_lifecycle(BESIDE, "Hello."))
    return _Played(hostile, beside, after)


def _context_served(seen: InworldContextsSession, cid: str) -> str | None:
    """What keeps context ``cid`` from having been served whole (None: it was)."""
    kinds = seen.kinds(cid)
    missing = [k for k in RESULT_KINDS if k not in kinds]
    if seen.failure is not None or seen.closed_by_server or missing or "status" in kinds:
        return f"context {cid!r} got {kinds}: {seen.describe()}"
    return None


def judge_context_session(
    example: dict[str, Any], played: _Played, server: ServerUnderTest
) -> None:
    """Every expectation of one contexts example (see the module docstring)."""
    what = f"{example['family']}: {example['what']}"
    want, seen = example["expect"], played.hostile
    require(seen.upgraded, "SRV-1", f"{what}: the upgrade failed: {seen.failure}")
    if want["close"] is not None:
        classify(f"{example['family']} → closed {seen.close_code}")
        expect(
            seen.closed_by_server and seen.close_code in want["close"],
            want["rule"],
            f"{what}: expected the server's close with "
            f"{' or '.join(map(str, want['close']))}: {seen.describe()}",
        )
    else:
        errors = seen.failing(BAD_CONTEXT_ID) + seen.failing(None)
        closed = seen.closed_by_server and seen.close_code in (1003, 1008)
        classify(
            f"{example['family']} → "
            + (f"closed {seen.close_code}" if closed else f"{_errors(errors)}, then served")
        )
        expect(seen.close_code != 1011, "SRV-1", f"{what}: closed with 1011: {seen.describe()}")
        expect(
            all(_says_bad_message(code) for code in _codes(errors)),
            "SRV-1",
            f"{what}: an error's code must say the message was bad, not that the server "
            f"failed: {_codes(errors)}",
        )
        expect(
            "audioChunk" not in seen.kinds(BAD_CONTEXT_ID),
            "SRV-1",
            f"{what}: a refused message got audio: {seen.describe()}",
        )
        if not closed:
            expect(
                len(errors) == example["hostile"],
                "SRV-1",
                f"{what}: {example['hostile']} bad frame(s) must each get a failing status or "
                f"an error (or the session a close 1003/1008); {len(errors)} came: "
                f"{seen.describe()}",
            )
            problem = _context_served(seen, PROBE)
            expect(
                problem is None,
                ["SRV-1", "SRV-3"],
                f"{what}: the socket must stay usable and end with a close frame: the probe "
                f"{problem}",
            )
    for label, valid, rule in (
        ("beside it", played.beside, "SRV-2"),
        ("after it", played.after, "SRV-1"),
    ):
        problem = _context_served(valid, BESIDE)
        expect(problem is None, rule, f"{what}: the valid session {label}: {problem}")


# -- STT ------------------------------------------------------------------------------------------


def _valid_stream() -> list[str]:
    return [*transcribe_audio(tone_speech("hi")), CLOSE_STREAM]


async def _play_transcribe(server: ServerUnderTest, example: dict[str, Any]) -> _Played:
    target = server.target
    frames: list[str | bytes] = [
        bytes.fromhex(f["binary"]) if isinstance(f, dict) else f for f in example["frames"]
    ]
    if not example["configured"]:
        frames.append(TRANSCRIBE_CONFIG)
    frames += _valid_stream()
    valid = [TRANSCRIBE_CONFIG, *_valid_stream()]
    hostile, beside = await asyncio.gather(
        play_transcribe(target, frames), play_transcribe(target, valid)
    )
    return _Played(hostile, beside, await play_transcribe(target, valid))


def _stream_served(seen: InworldTranscribeSession) -> str | None:
    """What keeps a stream from having been transcribed and closed with 1000 (None: it was)."""
    if seen.failure is not None or seen.close_code != 1000 or not seen.finals():
        return seen.describe()
    return None


def judge_transcribe_session(
    example: dict[str, Any], played: _Played, server: ServerUnderTest
) -> None:
    """Every expectation of one STT example (see the module docstring)."""
    what = f"{example['family']}: {example['what']}"
    want, seen = example["expect"], played.hostile
    require(seen.upgraded, "SRV-1", f"{what}: the upgrade failed: {seen.failure}")
    if want["close"] is not None:
        classify(f"{example['family']} → closed {seen.close_code}")
        expect(
            seen.close_code in want["close"],
            want["rule"],
            f"{what}: expected the server's close with "
            f"{' or '.join(map(str, want['close']))}: {seen.describe()}",
        )
    else:
        errors = seen.errors()
        closed = seen.close_code in (1003, 1008)
        classify(
            f"{example['family']} → "
            + (f"closed {seen.close_code}" if closed else f"{_errors(errors)}, then served")
        )
        expect(seen.close_code != 1011, "SRV-1", f"{what}: closed with 1011: {seen.describe()}")
        expect(
            all(_says_bad_message(code) for code in _codes(errors)),
            "SRV-1",
            f"{what}: an error's code must say the message was bad, not that the server "
            f"failed: {_codes(errors)}",
        )
        if not closed:
            expect(
                len(errors) == example["hostile"],
                "SRV-1",
                f"{what}: {example['hostile']} bad message(s) must each get an error frame (or "
                f"the session a close 1003/1008); {len(errors)} came: {seen.describe()}",
            )
            problem = _stream_served(seen)
            expect(
                problem is None,
                ["SRV-1", "IW-STT-S-1"],
                f"{what}: the stream must stay usable: the speech after the bad messages "
                f"transcribed and closeStream answered with a close 1000: {problem}",
            )
    for label, valid, rule in (
        ("beside it", played.beside, "SRV-2"),
        ("after it", played.after, "SRV-1"),
    ):
        problem = _stream_served(valid)
        expect(problem is None, rule, f"{what}: the valid stream {label}: {problem}")


# -- the families --------------------------------------------------------------------------------


@pytest.mark.spec("SRV-1", "SRV-2", "SRV-4", "SRV-5", "AUTH-6", "IW-HTTP-2")
@pytest.mark.capability("inworld.server")
@property_family(
    "hostile-inworld-requests",
    hostile_inworld_requests(),
    max_examples=15,
    boundaries=HOSTILE_INWORLD_REQUEST_BOUNDARIES,
)
def test_hostile_inworld_requests(
    voicewire_iut: Any, voicewire_simulator: Any, example: Any
) -> None:
    """Bodies that are no request, fields of the wrong type or value, nesting beyond the
    limit and keys that are not ``Basic <key>`` get a 4xx JSON error (401 for the key), a long
    text within the limit a synthesis, never a 5xx; the synthesis beside and after is
    served."""
    check_hostile_example(voicewire_iut, voicewire_simulator, example, _play_request, judge_request)


@pytest.mark.spec("SRV-1", "SRV-2", "SRV-3")
@pytest.mark.capability("inworld.server")
@property_family(
    "hostile-inworld-context-sessions",
    hostile_inworld_context_sessions(),
    max_examples=15,
    boundaries=HOSTILE_INWORLD_CONTEXT_SESSION_BOUNDARIES,
)
def test_hostile_inworld_context_sessions(
    voicewire_iut: Any, voicewire_simulator: Any, example: Any
) -> None:
    """Bad, mistyped, out-of-order and flooding frames on the TTS WebSocket each get a failing
    status or an error and the socket stays usable; a binary frame closes it with 1003; the
    sessions beside and after are served."""
    check_hostile_example(
        voicewire_iut, voicewire_simulator, example, _play_contexts, judge_context_session
    )


@pytest.mark.spec("SRV-1", "SRV-2", "SRV-3", "IW-STT-S-1")
@pytest.mark.capability("inworld.server")
@property_family(
    "hostile-inworld-transcribe-sessions",
    hostile_inworld_transcribe_sessions(),
    max_examples=15,
    boundaries=HOSTILE_INWORLD_TRANSCRIBE_SESSION_BOUNDARIES,
)
def test_hostile_inworld_transcribe_sessions(
    voicewire_iut: Any, voicewire_simulator: Any, example: Any
) -> None:
    """Bad, mistyped, out-of-order and flooding messages on the STT WebSocket each get an
    error frame and the stream still transcribes and ends with 1000; a binary frame closes it
    with 1003; the streams beside and after are served."""
    check_hostile_example(
        voicewire_iut, voicewire_simulator, example, _play_transcribe, judge_transcribe_session
    )
