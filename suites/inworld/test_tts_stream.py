"""Inworld TTS over WebSocket, client conformance (SPEC §5.2, AUTH-6, CLI-ROB-1): streaming
scripts against the embedded simulator's ``inworld.contexts``, one operation per case.

Each case plays a script whose steps name their stream (``voicewire_iut.inworld_speak``):
streams run concurrently as contexts of the TTS object's socket(s), ordered by waiting for a
stream's audio or end, never by sleeping. What the client sent (``create``, ``send_text``,
``flush_context``, ``close_context``, per context and per socket) and what the server really
sent (audio per context as sample counts and CRC-32, ``flushCompleted``, ``contextClosed``,
statuses) are read from the journal (:mod:`.contexts_log`); the emitted audio of each stream
is compared with its own context's chunks byte for byte, and its segment id with the
``contextId`` the client created (IW-WS-5).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import pytest
from voicewire.harness.driver import IUTDriver
from voicewire.harness.inworld import InworldSynthesisOutcome, InworldTTSOutcome
from voicewire.harness.iut import ConnOptions, Target
from voicewire.harness.runtime import CaseSimulator
from voicewire.harness.verdicts import expect, require
from voicewire.simulators.scenario import Scenario
from voicewire.suites.tts.strategies import tone_samples

from .contexts_log import (
    MODEL_2,
    MODEL_15,
    ONE_ATTEMPT,
    STREAM_PATH,
    context_audio_problems,
    context_client_messages,
    context_server_messages,
    contexts_scenario,
    created_contexts,
    of_context,
    open_contexts_peak,
    upgrades,
)

API_ERRORS = {"APIError", "APIStatusError", "APIConnectionError", "APITimeoutError"}
MAX_PIECE = 1000
"""The most characters of one ``send_text`` (IW-WS-1)."""

# Hostile and withheld replies must end a stream within the client's timeout, never as the
# harness's: and before the embedded simulator's idle limit (2.5 s without a client message)
# closes the socket, which would end a stream the client itself never would.
SHORT = ConnOptions(max_retry=0, retry_interval=0.0, timeout=0.8)
SHORT_END = 2.2


# -- helpers --------------------------------------------------------------------------------


def push(stream: int, text: str) -> dict[str, Any]:
    return {"op": "push_text", "stream": stream, "text": text}


def flush(stream: int) -> dict[str, Any]:
    return {"op": "flush", "stream": stream}


def end(stream: int) -> dict[str, Any]:
    return {"op": "end_input", "stream": stream}


def wait(stream: int, event: str, count: int = 1, timeout: float = 3.0) -> dict[str, Any]:
    """Wait for ``count`` events of ``event`` on ``stream``: a client that never emits them
    costs the case ``timeout`` seconds, then the checks say what was missing."""
    step = {"op": "wait_event", "stream": stream, "event": event}
    return {**step, "count": count, "timeout": timeout}


def play(
    iut: IUTDriver,
    simulator: CaseSimulator,
    scenario: Scenario | None,
    script: list[dict[str, Any]],
    **fields: Any,
) -> tuple[InworldTTSOutcome, Target]:
    """The script on one TTS against a fresh session (the defaults when ``scenario`` is None)."""
    target = simulator.session(scenario)
    fields.setdefault("conn_options", ONE_ATTEMPT)
    fields.setdefault("end_timeout", 8.0)
    return iut.inworld_speak(target=target, script=script, **fields), target


def normalised(text: str) -> str:
    return " ".join(text.split())


def error_of(synthesis: InworldSynthesisOutcome) -> str:
    error = synthesis.error
    return "none" if error is None else f"{error.kind}: {error.message}"


def judge_audio(
    outcome: InworldTTSOutcome,
    simulator: CaseSimulator,
    target: Target,
    streams: Sequence[int] | None = None,
    *,
    completes: str = "IW-WS-5",
    rule: str = "IW-WS-5",
) -> None:
    """On the streams that must have completed (all when ``streams`` is None): each ended
    cleanly (judged by ``completes``), and (judged by ``rule``, IW-WS-5's terms) its frames'
    segment id is one ``contextId`` the client created, no two streams share one, and its
    audio is that context's chunks exactly, in order."""
    syntheses = outcome.syntheses
    chosen = range(len(syntheses)) if streams is None else streams
    failed = [f"stream {i}: {error_of(syntheses[i])}" for i in chosen if syntheses[i].error]
    require(not failed, completes, "these streams must complete:\n" + "\n".join(failed))
    problems = context_audio_problems(outcome, simulator, target, streams)
    expect(not problems, rule, "\n".join(problems) + f"\n{outcome.describe()}")


def ends_with_api_error(synthesis: InworldSynthesisOutcome, rule: str, what: str) -> None:
    """``rule``: the stream ended (within the harness's end timeout) with an error of the
    APIError family, never cleanly, never a hang or another type."""
    error = synthesis.error
    expect(
        error is not None and error.kind in API_ERRORS,
        rule,
        f"{what}: the stream must end with an error of the APIError family within its "
        f"timeout, it ended with {error_of(synthesis)}\n{synthesis.describe()}",
    )


# -- IW-WS-1, AUTH-6 --------------------------------------------------------------------------

FIRST = "Good morning to you all, and welcome."
SECOND = "The weather is sunny again today."
THIRD = "See you later."

CREATE_OPTIONS: dict[str, dict[str, Any]] = {
    "tts-1.5-configured": {
        "model": MODEL_15,
        "voice": "Dennis",
        "sample_rate": 16000,
        "temperature": 0.7,
        "speaking_rate": 1.25,
        "language": "en",
        "timestamp_type": "WORD",
    },
    "tts-2-defaults": {"model": MODEL_2},
}


def _create_problems(create: Any, fields: dict[str, Any]) -> list[str]:
    """Where one ``create`` breaks IW-WS-1's shape for the options ``fields``."""
    if not isinstance(create, dict):
        return [f"create must be an object, got {create!r}"]
    problems = []
    want = {
        "voiceId": fields.get("voice", "Ashley"),
        "modelId": fields["model"],
        "temperature": fields.get("temperature", 1.0),
        "autoMode": True,
    }
    for key, value in want.items():
        got = create.get(key)
        if got != value or type(got) is not type(value):
            problems.append(f"create.{key} must be {value!r}, got {got!r}")
    audio = create.get("audioConfig")
    if not isinstance(audio, dict):
        return [*problems, f"create.audioConfig must be an object, got {audio!r}"]
    audio_want = {
        "audioEncoding": "PCM",
        "sampleRateHertz": fields.get("sample_rate", 24000),
        "bitrate": 64000,
        "speakingRate": fields.get("speaking_rate", 1.0),
    }
    for key, value in audio_want.items():
        got = audio.get(key)
        # Integers where the wire has them (the rate, the bitrate); any number for the rate of
        # speech; a string for the encoding.
        wrong_type = (
            isinstance(got, bool)
            or (isinstance(value, int) and not isinstance(got, int))
            or (isinstance(value, float) and not isinstance(got, (int, float)))
            or (isinstance(value, str) and not isinstance(got, str))
        )
        if got != value or wrong_type:
            problems.append(f"create.audioConfig.{key} must be {value!r}, got {got!r}")
    if "temperature" in audio:
        problems.append(
            f"temperature goes top-level in a WebSocket create, not in audioConfig (as over "
            f"HTTP): audioConfig is {audio}"
        )
    for key in ("maxBufferDelayMs",):
        if not isinstance(create.get(key), int) or isinstance(create.get(key), bool):
            problems.append(f"create.{key} must be an integer, got {create.get(key)!r}")
    if not isinstance(create.get("timestampTransportStrategy"), str):
        problems.append(
            f"create.timestampTransportStrategy must be a string, got "
            f"{create.get('timestampTransportStrategy')!r}"
        )
    for key, option in (("language", "language"), ("timestampType", "timestamp_type")):
        if option in fields and create.get(key) != fields[option]:
            problems.append(f"create.{key} must be {fields[option]!r}, got {create.get(key)!r}")
        if option not in fields and key in create:
            problems.append(f"create.{key} is sent only when set, got {create[key]!r}")
    threshold = create.get("bufferCharThreshold")
    if fields["model"].startswith("inworld-tts-2"):
        if create.get("autoModeStrategy") != "SENTENCE_BOUNDARY":
            problems.append(
                f"an inworld-tts-2 create asks autoModeStrategy 'SENTENCE_BOUNDARY', got "
                f"{create.get('autoModeStrategy')!r}"
            )
        if "bufferCharThreshold" in create:
            problems.append(
                f"an inworld-tts-2 create sends no bufferCharThreshold (the server's "
                f"default applies), got {threshold!r}"
            )
    else:
        if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold <= 0:
            problems.append(
                f"a {fields['model']} create sends bufferCharThreshold (a positive integer), "
                f"got {threshold!r}"
            )
        if create.get("autoModeStrategy") == "SENTENCE_BOUNDARY":
            problems.append(f"a {fields['model']} context is client-segmented: {create}")
    return problems


def _context_problems(
    sent: list[dict[str, Any]], text: str, *, flushes: int, tts2: bool
) -> list[str]:
    """IW-WS-1 on one context's messages: ``create`` first, ``send_text`` pieces of at most
    1000 characters adding up to ``text`` (whitespace normalised), then ``flush_context`` and
    ``close_context`` last; inworld-tts-2: one ``flush_context`` per flush and one at the end."""
    kinds = [next((k for k in m if not k.startswith("_") and k != "contextId"), "?") for m in sent]
    problems = []
    if not kinds or kinds[0] != "create" or kinds.count("create") != 1:
        problems.append(f"create must come first, once: the context sent {kinds}")
    if kinds[-2:] != ["flush_context", "close_context"]:
        problems.append(f"the end of input is flush_context then close_context: {kinds}")
    texts = [m["send_text"].get("text") for m in sent if isinstance(m.get("send_text"), dict)]
    if kinds.count("send_text") != len(texts) or not all(isinstance(t, str) for t in texts):
        problems.append(f"every send_text is {{'text': <string>}}: {sent}")
        texts = [t for t in texts if isinstance(t, str)]
    long = [len(t) for t in texts if len(t) > MAX_PIECE]
    if long:
        problems.append(f"send_text pieces of {long} characters: at most {MAX_PIECE}")
    if normalised("".join(texts)) != normalised(text):
        problems.append(
            f"the send_text pieces, concatenated, must be the text pushed:\n"
            f"  sent:   {normalised(''.join(texts))!r}\n  pushed: {normalised(text)!r}"
        )
    if tts2 and kinds.count("flush_context") != flushes + 1:
        problems.append(
            f"an inworld-tts-2 context sends a flush_context per flush ({flushes}) and one at "
            f"the end of input: it sent {kinds.count('flush_context')} ({kinds})"
        )
    return problems


@pytest.mark.spec("IW-WS-1", "AUTH-6")
@pytest.mark.capability("inworld.tts.stream")
@pytest.mark.parametrize("options", sorted(CREATE_OPTIONS))
def test_contexts_are_created_fed_and_closed(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, options: str
) -> None:
    """Two concurrent streams: the upgrade goes to ``/tts/v1/voice:streamBidirectional`` at
    the host's root though the base URL has a path (an absolute join), with ``Authorization:
    Basic <key>``, the key as configured (AUTH-6); each context opens with one ``create``
    (voice, model, ``audioConfig`` PCM at the rate with bitrate and speaking rate,
    ``temperature`` top-level and not in ``audioConfig``, ``autoMode`` true; for 1.5-max a
    ``bufferCharThreshold``, for inworld-tts-2 ``autoModeStrategy`` ``SENTENCE_BOUNDARY`` and
    no threshold; ``language`` and ``timestampType`` only when set), then its text in
    ``send_text`` pieces, then ``flush_context`` and ``close_context``; inworld-tts-2 sends
    one ``flush_context`` per flush. Every message names its context."""
    fields = CREATE_OPTIONS[options]
    script = [
        push(0, FIRST + " "),
        push(1, SECOND),
        flush(0),
        wait(0, "audio"),
        push(0, THIRD),
        end(1),
        end(0),
    ]
    outcome, target = play(voicewire_iut, voicewire_simulator, None, script, **fields)
    seen = upgrades(voicewire_simulator, target)
    require(seen, "IW-WS-1", f"the client opened no WebSocket:\n{outcome.describe()}")
    key = target.api_key
    for upgrade in seen:
        expect(
            upgrade.path == STREAM_PATH,
            "IW-WS-1",
            f"the upgrade goes to {STREAM_PATH} at the host's root (an absolute join: the "
            f"base URL's path {target.base_url!r} is dropped), it went to {upgrade.path!r}",
        )
        shown = upgrade.headers.get("authorization")
        expect(
            shown == f"Basic {key[:12]}..." and upgrade.status == 101,
            "AUTH-6",
            f"the upgrade carries Authorization: Basic <key>, the key verbatim: the server "
            f"saw {shown!r} (the journal keeps 12 characters) and answered "
            f"{upgrade.status}",
        )
    client = context_client_messages(voicewire_simulator, target)
    # (a refused message is journaled by its head only: the server's status says why)
    nameless = [
        m for m in client if "_refused" not in m and not isinstance(m.get("contextId"), str)
    ]
    expect(not nameless, "IW-WS-1", f"every message names its contextId: {nameless[:3]}")
    created = created_contexts(client)
    refusals = [
        f"{m.get('contextId')}: {m['status'].get('code')} {m['status'].get('message')}"
        for m in context_server_messages(voicewire_simulator, target)
        if isinstance(m.get("status"), dict) and m["status"].get("code", 0) != 0
    ]
    require(
        len(created) == 2,
        "IW-WS-1",
        f"two streams open two contexts, the server accepted the creates of {created}; it "
        f"refused: {refusals[:4]}\n{outcome.describe()}",
    )
    problems = []
    tts2 = fields["model"].startswith("inworld-tts-2")
    texts = {0: f"{FIRST} {THIRD}", 1: SECOND}
    # The streams' contexts: by segment id when the audio says, else in order of creation.
    ids = [s.segment_ids[0] if s.segment_ids else None for s in outcome.syntheses]
    for index, cid in enumerate(ids if set(ids) == set(created) else created):
        sent = of_context(client, cid)
        creates = [m.get("create") for m in sent if "create" in m]
        for create in creates[:1]:
            problems += [f"stream {index}: {p}" for p in _create_problems(create, fields)]
        flushes = 1 if index == 0 else 0
        problems += [
            f"stream {index} (context {cid}): {p}"
            for p in _context_problems(sent, texts[index], flushes=flushes, tts2=tts2)
        ]
    expect(not problems, "IW-WS-1", "\n".join(problems))


# A long text with no sentence end: one token, which only the 1000-character cut divides.
LONG_TEXT = " ".join(f"word{n % 10}" for n in range(400))


@pytest.mark.spec("IW-WS-1")
@pytest.mark.capability("inworld.tts.stream")
def test_a_long_text_goes_out_in_pieces_of_at_most_1000_characters(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """A text of 2400 characters without a sentence end, pushed at once: its ``send_text``
    pieces are at most 1000 characters each and, concatenated, exactly the text."""
    scenario = contexts_scenario("inworld-long-text", {"chunk_duration": 10.0})
    outcome, target = play(
        voicewire_iut,
        voicewire_simulator,
        scenario,
        [push(0, LONG_TEXT), end(0)],
        sample_rate=8000,
    )
    client = context_client_messages(voicewire_simulator, target)
    texts = [m["send_text"].get("text", "") for m in client if isinstance(m.get("send_text"), dict)]
    require(texts, "IW-WS-1", f"the client sent no send_text:\n{outcome.describe()}")
    long = [len(t) for t in texts if len(t) > MAX_PIECE]
    expect(
        not long,
        "IW-WS-1",
        f"send_text pieces are at most {MAX_PIECE} characters: the client sent pieces of "
        f"{[len(t) for t in texts]}",
    )
    expect(
        "".join(texts) == LONG_TEXT,
        "IW-WS-1",
        f"the pieces, concatenated, must be the text pushed ({len(LONG_TEXT)} characters); "
        f"they are {len(''.join(texts))} characters: {''.join(texts)[:120]!r}...",
    )


# -- IW-WS-2 ---------------------------------------------------------------------------------


@pytest.mark.spec("IW-WS-2", "IW-WS-5")
@pytest.mark.capability("inworld.tts.stream")
def test_a_sixth_concurrent_stream_never_shares_a_socket_with_five(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """Six streams open at once (each has spoken a sentence before any ends): no socket ever
    carries more than five open contexts (the sixth goes to a second socket, or waits for a
    slot); all six complete with their own audio. Two streams opened after all six ended
    reuse a socket already open (no new upgrade)."""
    script: list[dict[str, Any]] = []
    for index in range(6):
        script += [push(index, f"Stream {index} says hello."), flush(index)]
    script += [end(index) for index in range(6)]
    script += [wait(index, "end") for index in range(6)]
    for index in (6, 7):
        script += [push(index, f"Stream {index} reuses."), end(index), wait(index, "end")]
    scenario = contexts_scenario("inworld-six", {"chunk_duration": 0.5})
    outcome, target = play(voicewire_iut, voicewire_simulator, scenario, script, sample_rate=8000)
    peaks = open_contexts_peak(voicewire_simulator, target)
    expect(
        all(peak <= 5 for peak in peaks.values()),
        "IW-WS-2",
        f"a socket carries at most 5 open contexts: the most open at once per socket were {peaks}",
    )
    server = context_server_messages(voicewire_simulator, target)
    refused = [m for m in server if (m.get("status") or {}).get("code", 0) != 0]
    expect(not refused, "IW-WS-2", f"the server refused contexts: {refused}")
    judge_audio(outcome, voicewire_simulator, target)
    client = context_client_messages(voicewire_simulator, target)
    creates = [m for m in client if "create" in m]
    require(len(creates) == 8, "IW-WS-2", f"8 streams, {len(creates)} creates")
    early = {m["_exchange"] for m in creates[:6]}
    late = [m["_exchange"] for m in creates[6:]]
    expect(
        all(exchange in early for exchange in late)
        and len(upgrades(voicewire_simulator, target)) == len(early),
        "IW-WS-2",
        f"streams opened after the others closed reuse an open socket: the first six used "
        f"sockets {sorted(early)}, the last two {late}, "
        f"{len(upgrades(voicewire_simulator, target))} upgrades in all",
    )


# -- IW-WS-4 ---------------------------------------------------------------------------------


@pytest.mark.spec("IW-WS-4", "IW-WS-5", "IW-WS-1", "CLI-ROB-1")
@pytest.mark.capability("inworld.tts.stream")
def test_context_closed_completes_and_a_withheld_one_ends_in_an_error(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """``contextClosed`` completes a stream; the server withholds it for the second context:
    that stream ends with an error of the APIError family within its timeout (never a hang,
    never a clean end on ``flushCompleted``) and sends ``cancel_context`` for it (IW-WS-1: on
    a timeout); the first completes with all its audio."""
    scenario = contexts_scenario("inworld-unclosed", {"unclosed_contexts": [1]})
    script = [
        push(0, FIRST),
        flush(0),
        wait(0, "audio"),
        push(1, SECOND),
        end(1),
        end(0),
    ]
    outcome, target = play(
        voicewire_iut,
        voicewire_simulator,
        scenario,
        script,
        conn_options=SHORT,
        end_timeout=SHORT_END,
    )
    judge_audio(outcome, voicewire_simulator, target, [0], completes="IW-WS-4")
    ends_with_api_error(
        outcome.syntheses[1], "IW-WS-4", "the server never sent the context's contextClosed"
    )
    client = context_client_messages(voicewire_simulator, target)
    created = created_contexts(client)
    require(len(created) == 2, "IW-WS-4", f"two streams, two contexts: {created}")
    kinds = [
        next(iter(k for k in m if not k.startswith("_") and k != "contextId"), "?")
        for m in of_context(client, created[1])
    ]
    expect(
        "cancel_context" in kinds,
        "IW-WS-1",
        f"a stream given up on a timeout sends cancel_context for its context: context "
        f"{created[1]} sent {kinds}",
    )


@pytest.mark.spec("IW-WS-4", "IW-WS-5")
@pytest.mark.capability("inworld.tts.stream")
def test_a_failing_status_fails_only_its_context(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """Three streams on one socket; the second context gets a failing ``status`` instead of
    its first audio: that stream ends with an error of the APIError family, the other two
    complete with all their audio."""
    scenario = contexts_scenario(
        "inworld-failed", {"failed_contexts": [1], "status_message": "voice not found"}
    )
    script = [
        push(0, FIRST),
        flush(0),
        wait(0, "audio"),
        push(1, SECOND),
        flush(1),
        wait(1, "end"),
        push(2, THIRD),
        end(2),
        end(0),
    ]
    outcome, target = play(voicewire_iut, voicewire_simulator, scenario, script)
    ends_with_api_error(outcome.syntheses[1], "IW-WS-4", "its context got status 13")
    judge_audio(outcome, voicewire_simulator, target, [0, 2], completes="IW-WS-4")


@pytest.mark.spec("IW-WS-4", "IW-WS-5", "CLI-ROB-1")
@pytest.mark.capability("inworld.tts.stream")
def test_a_socket_close_fails_its_open_contexts_and_the_next_stream_reconnects(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """Two contexts open on the socket (the first has all its audio, the second was just
    created); the server closes the socket (1011) after the second's first audio chunk: both
    streams end with
    an ``APIConnectionError`` then and there (though their input has not ended); a stream
    opened after opens a new socket (a second upgrade) and completes."""
    rate, chunk = 8000, 0.25
    samples = tone_samples(FIRST, rate)
    first_chunks = -(-samples // round(chunk * rate))
    # Events: 0 contextCreated, 1..n the first context's audio, n+1 the second's
    # contextCreated, n+2 its first audio (a close comes after the event it is placed at).
    fault = {"kind": "ws_close", "code": 1011, "at_event": first_chunks + 2, "attempt": 1}
    scenario = contexts_scenario("inworld-close", {"chunk_duration": chunk}, [fault])
    script = [
        push(0, FIRST),
        flush(0),
        wait(0, "audio"),
        push(1, SECOND),
        flush(1),
        wait(1, "end"),
        wait(0, "end"),
        push(2, THIRD),
        end(2),
        # The script, so the input of streams 0 and 1, ends only after stream 2 ended.
        wait(2, "end"),
    ]
    outcome, target = play(
        voicewire_iut,
        voicewire_simulator,
        scenario,
        script,
        sample_rate=rate,
        conn_options=SHORT,
        end_timeout=SHORT_END,
    )
    for index in (0, 1):
        synthesis = outcome.syntheses[index]
        expect(
            synthesis.error is not None and synthesis.error.kind == "APIConnectionError",
            "IW-WS-4",
            f"stream {index} was open when the socket closed: it must fail with "
            f"APIConnectionError, it ended with {error_of(synthesis)}\n{synthesis.describe()}",
        )
    # The close alone ends them: before the next stream's end, after which the script ends
    # their input (a client that fails them only when it next sends is too late).
    types = [(e.type, e.synthesis) for e in outcome.events]
    later = types.index(("tts.end", 2)) if ("tts.end", 2) in types else len(types)
    late = [i for i in (0, 1) if ("tts.end", i) in types and types.index(("tts.end", i)) > later]
    expect(
        not late,
        "IW-WS-4",
        f"the socket's close must fail its open streams when it comes: streams {late} ended "
        f"only after the next stream did (when their input ended)\n{outcome.describe()}",
    )
    seen = upgrades(voicewire_simulator, target)
    expect(
        len(seen) == 2,
        "IW-WS-4",
        f"the stream after the close opens a new socket: {len(seen)} upgrades",
    )
    judge_audio(outcome, voicewire_simulator, target, [2], completes="IW-WS-4")


# -- IW-WS-5 ---------------------------------------------------------------------------------


@pytest.mark.spec("IW-WS-5")
@pytest.mark.capability("inworld.tts.stream")
def test_interleaved_contexts_each_emit_their_own_audio(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """Three streams whose sentences interleave on the socket: each emits exactly its own
    context's audio, in order, under its own ``contextId`` as segment id."""
    script = [
        push(0, "Alpha one is here. "),
        flush(0),
        push(1, "Bravo one is here. "),
        flush(1),
        wait(1, "audio"),
        push(0, "Alpha two follows."),
        push(2, "Charlie speaks once."),
        flush(2),
        push(1, "Bravo two follows."),
        end(1),
        end(2),
        end(0),
    ]
    scenario = contexts_scenario("inworld-interleaved", {"chunk_duration": 0.0137})
    outcome, target = play(voicewire_iut, voicewire_simulator, scenario, script, sample_rate=8000)
    judge_audio(outcome, voicewire_simulator, target)


@pytest.mark.spec("IW-WS-5")
@pytest.mark.capability("inworld.tts.stream")
def test_word_times_keep_increasing_across_flushes(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """inworld-tts-2, word timestamps: push, flush, push, flush, end. The server's times
    restart at 0 after each ``flushCompleted``; the client offsets them, so the stream's
    timed words are its words in order, with start and end times increasing throughout and
    none past the audio's end."""
    texts = ["Good morning to you.", "See you later.", "Bye now."]
    script = [
        push(0, texts[0]),
        flush(0),
        push(0, " " + texts[1]),
        flush(0),
        push(0, " " + texts[2]),
        end(0),
    ]
    outcome, target = play(
        voicewire_iut,
        voicewire_simulator,
        None,
        script,
        model=MODEL_2,
        timestamp_type="WORD",
        sample_rate=8000,
    )
    judge_audio(outcome, voicewire_simulator, target)
    synthesis = outcome.only
    words = synthesis.timed_texts
    expected = " ".join(texts).split()
    expect(
        [w.text.strip() for w in words] == expected,
        "IW-WS-5",
        f"the timed words must be the text's words in order: {expected}, got "
        f"{[w.text for w in words]}",
    )
    problems = []
    for before, after in pairwise(words):
        if not (after.start_time > before.start_time and after.end_time > before.end_time):
            problems.append(
                f"{after.text!r} at {after.start_time:.3f}-{after.end_time:.3f} s after "
                f"{before.text!r} at {before.start_time:.3f}-{before.end_time:.3f} s"
            )
    expect(
        not problems,
        "IW-WS-5",
        "word times must keep increasing across flushes (the server restarts them at 0 after "
        "each flushCompleted: the client adds the time before):\n" + "\n".join(problems),
    )
    late = [w.text for w in words if w.end_time > synthesis.duration + 1e-3]
    expect(
        not late,
        "IW-WS-5",
        f"words timed past the audio's end ({synthesis.duration:.3f} s): {late}",
    )


# -- CLI-ROB-1 -------------------------------------------------------------------------------

HOSTILE: dict[str, dict[str, Any]] = {
    # A reply of the wrong type naming the live context, instead of its first audio.
    "wrong_type_for_the_context": {
        "fault": {
            "kind": "malformed",
            "at_event": 1,
            "line": '{"result": {"contextId": "{contextId}", "audioChunk": {"audioContent": 7}}}',
        },
        "fails": True,
    },
    "not_json": {"fault": {"kind": "malformed", "at_event": 1}, "fails": True},
    "binary_frame": {
        "fault": {"kind": "binary_frame", "at_event": 1, "hex": "00ff"},
        "fails": True,
    },
    "close_1011": {"fault": {"kind": "ws_close", "at_event": 2, "code": 1011}, "fails": True},
    # A top-level error names no context: the stream completes, or fails with an APIError.
    "top_level_error": {
        "fault": {"kind": "error_event", "at_event": 1, "code": 3, "message": "about nothing"},
        "fails": None,
    },
    # Unknown keys and an unknown reply type are ignored: the stream completes.
    "unknown_keys": {
        "fault": {
            "kind": "malformed",
            "at_event": 0,
            "line": '{"result": {"contextId": "{contextId}", "status": {"code": 0, "message": '
            '"", "details": []}, "contextCreated": {"voiceId": "Ashley"}, "traceId": "t1"}, '
            '"usage": {"characters": 3}}',
        },
        "fails": False,
    },
    "unknown_reply_type": {
        "fault": {
            "kind": "malformed",
            "at_event": 0,
            "line": '{"result": {"contextId": "{contextId}", "contextUpdated": {"x": 1}}}',
        },
        "fails": False,
    },
}


@pytest.mark.spec("CLI-ROB-1", "IW-WS-5")
@pytest.mark.capability("inworld.tts.stream")
@pytest.mark.parametrize("hostile", sorted(HOSTILE))
def test_hostile_replies_end_the_stream_with_an_api_error(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, hostile: str
) -> None:
    """A reply of the wrong type naming the context, a frame that is not JSON, a binary
    frame, a close with 1011: the stream ends with an error of the APIError family within
    its timeout, never a hang or another type. A top-level ``error`` naming no context: the
    stream completes or ends with such an error. Unknown keys, and a reply of an unknown
    type, are ignored: the stream completes with all its audio."""
    case = HOSTILE[hostile]
    scenario = contexts_scenario(f"inworld-{hostile}", {"chunk_duration": 0.25}, [case["fault"]])
    outcome, target = play(
        voicewire_iut,
        voicewire_simulator,
        scenario,
        [push(0, FIRST), end(0)],
        sample_rate=8000,
        conn_options=SHORT,
        end_timeout=SHORT_END,
    )
    synthesis = outcome.only
    if case["fails"] is False:
        expect(
            synthesis.error is None,
            "CLI-ROB-1",
            f"unknown keys and reply types are ignored: the stream must complete, it ended "
            f"with {error_of(synthesis)}",
        )
        if synthesis.error is None:
            # Ignored: the stream is as it would be without them (its audio exactly).
            judge_audio(outcome, voicewire_simulator, target)
        return
    if case["fails"] is None and synthesis.error is None:
        return
    ends_with_api_error(synthesis, "CLI-ROB-1", hostile.replace("_", " "))
