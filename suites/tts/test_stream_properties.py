"""Property families for the TTS client (SPEC §4): generated texts, pooled syntheses, faults.

``tts-texts``: a generated text (:func:`~.strategies.tts_text_examples`: short sentences the
client merges, long ones, commas, numbers, an abbreviation, non-ASCII words, newlines) pushed
in pieces cut anywhere, with or without a flush after each, at 8 to 24 kHz, the simulator
answering in chunks of any size with or without alignment. Every ``input_transcript`` ends
with its space and, whitespace normalised, the transcripts concatenated are the text (a flush
may end a transcript inside a word: there one space may come in) (TTS-C-2); one
``session.flush``, after the last transcript (TTS-C-3); the emitted audio is the server's,
byte for byte, in mono frames at the session rate, the last one alone final, every frame's
segment id the server's ``session_id`` (TTS-OUT-1).

``tts-pool``: one to four syntheses of short scripts on one TTS
(:func:`~.strategies.tts_pool_examples`): one connection with one ``session.create``
(TTS-C-1), a ``session.flush`` per synthesis after its own transcripts (TTS-C-2, TTS-C-3), and
each synthesis's audio the server's for it, exactly, with one final (TTS-OUT-1).

``tts-faults``: connections failing by an ``error`` message, a close with a code or a reset,
before any ``output_audio`` or after some, under ``max_retry`` 0..2
(:func:`~.strategies.tts_fault_examples`). While no audio was emitted, a failure is retried
on a new connection that replays the whole input, as long as attempts remain; once audio was
emitted, nothing is retried (TTS-RETRY-1). What the synthesis emits is the last connection's
audio: all of it when it succeeded, a byte-exact prefix of what that connection sent before
its fault when it raised (the client may drop a frame it held back, never repeat one), and it
raises an error of the ``APIError`` family, as TTS-OUT-2 maps it (TTS-OUT-1, TTS-OUT-2).

Examples are plain JSON, so a failing one replays with ``--voicewire-replay``.
"""

from __future__ import annotations

from typing import Any

import pytest
from voicewire.harness.driver import IUTDriver
from voicewire.harness.iut import ConnOptions
from voicewire.harness.replay import property_family
from voicewire.harness.runtime import CaseSimulator
from voicewire.harness.tts import SynthesisOutcome
from voicewire.harness.verdicts import expect, require
from voicewire.reference.tone_code import encode_tone
from voicewire.simulators.scenario import build_scenario
from voicewire.simulators.tts.script import TTSReply
from voicewire.suites.tts.strategies import (
    FAULT_RATE,
    tts_fault_examples,
    tts_pool_examples,
    tts_text_examples,
)
from voicewire.suites.tts.wire_log import (
    MODEL,
    ONE_ATTEMPT,
    RATE,
    audio_problem,
    client_messages,
    replying,
    server_messages,
)

API_ERRORS = {"APIError", "APIStatusError", "APIConnectionError", "APITimeoutError"}
END_INPUT = {"op": "end_input"}


def _script(pieces: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps of one synthesis: each piece pushed, then flushed if it says so; the end of
    input."""
    steps: list[dict[str, Any]] = []
    for piece in pieces:
        steps.append({"op": "push_text", "text": piece["text"]})
        if piece["flush"]:
            steps.append({"op": "flush"})
    return [*steps, END_INPUT]


def _normalised(text: str) -> str:
    return " ".join(text.split())


def transcripts_problem(transcripts: list[str], pieces: list[dict[str, Any]]) -> str | None:
    """TTS-C-2 for one synthesis: why ``transcripts`` (the ``input_transcript`` texts in
    order) are not the text of ``pieces``, or None.

    Each transcript ends with the space the client adds and is not blank; concatenated, with
    whitespace runs made one space and the ends stripped, they are the pushed text. A flush
    ends a transcript where it comes, so where it fell inside a word one space may stand
    between the word's two halves (upstream's splitter does that too)."""
    for index, transcript in enumerate(transcripts):
        if not transcript.endswith(" ") or not transcript.strip():
            return f"input_transcript #{index} is {transcript!r}: a sentence and one space"
    # The pushed text, whitespace normalised, with the places a flush fell inside a word.
    text, optional = "", set()
    for piece in pieces:
        text += piece["text"]
        if piece["flush"]:
            text += "\0"
    words = _normalised(text).split(" ")
    pushed = ""
    for word in words:
        halves = [half for half in word.split("\0") if half]
        if pushed and halves:
            pushed += " "
        for number, half in enumerate(halves):
            if number:
                optional.add(len(pushed))
            pushed += half
    sent = _normalised("".join(transcripts))
    at = 0
    for position, char in enumerate(pushed):
        if position in optional and sent[at : at + 1] == " ":
            at += 1
        if sent[at : at + 1] != char:
            return (
                f"the transcripts, spaces normalised, must be the text pushed:\n"
                f"pushed {pushed!r}\nsent   {sent!r}\n(they differ at character {at} sent)"
            )
        at += 1
    if at != len(sent):
        return (
            f"the transcripts carry more than the text pushed:\npushed {pushed!r}\nsent   {sent!r}"
        )
    return None


def _by_synthesis(messages: list[dict[str, Any]], closing: str) -> list[list[dict[str, Any]]]:
    """``messages`` cut after each one of type ``closing`` (``session.flush`` for the client's,
    ``done`` for the server's): one list per synthesis, and what follows the last."""
    groups: list[list[dict[str, Any]]] = [[]]
    for message in messages:
        groups[-1].append(message)
        if message.get("type") == closing:
            groups.append([])
    return groups


def _of_type(messages: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in messages if m.get("type") == kind]


def _output_problems(
    synthesis: SynthesisOutcome, chunks: list[dict[str, Any]], session_id: str | None, rate: int
) -> list[str]:
    """TTS-OUT-1 for one synthesis that ended cleanly: its audio is the server's ``chunks``
    exactly, in mono frames at ``rate``, the last frame final and no other, every frame's
    segment id ``session_id``."""
    problems = []
    problem = audio_problem(synthesis.audio, chunks)
    if problem is not None:
        problems.append(problem)
    frames = synthesis.frames
    formats = {(f.sample_rate, f.num_channels) for f in frames}
    if formats - {(rate, 1)}:
        problems.append(f"frames must be mono at the session rate {rate} Hz, got {formats}")
    finals = [i for i, f in enumerate(frames) if f.is_final]
    if finals != [len(frames) - 1]:
        problems.append(
            f"exactly one frame, the last, must be final: {len(frames)} frames, finals at {finals}"
        )
    if synthesis.segment_ids != [session_id]:
        problems.append(
            f"every frame's segment id must be the server's session_id {session_id!r}, got "
            f"{synthesis.segment_ids}"
        )
    return problems


def _session_id(server: list[dict[str, Any]]) -> str | None:
    """The session id the server gave the connection (on its first message that has one)."""
    return next((m["session_id"] for m in server if m.get("session_id")), None)


# -- tts-texts ------------------------------------------------------------------------------

TEXT_BOUNDARIES = [
    # One short sentence in one push, no flush: one transcript at the end of input.
    {
        "pieces": [{"text": "Hello.", "flush": False}],
        "reply": {"chunk_duration": 0.1, "alignment": "none", "gap": 0.4},
        "sample_rate": 24000,
    },
    # Flushes inside words and after a space, a newline between sentences, a short sentence
    # the next one absorbs, chunks that do not divide the client's frames, 8 kHz.
    {
        "pieces": [
            {"text": "Hi. Good morn", "flush": True},
            {"text": "ing voice wire,\nthe speech is 3.50 ", "flush": True},
            {"text": "Dr. Wire? Café über", "flush": False},
            {"text": " alles!", "flush": True},
        ],
        "reply": {"chunk_duration": 0.0137, "alignment": "chars", "gap": 0.0},
        "sample_rate": 8000,
    },
]
"""The shallow edges of the text family, run every time before the generated ones."""


@pytest.mark.spec("TTS-C-2", "TTS-C-3", "TTS-OUT-1")
@pytest.mark.capability("tts.stream")
@property_family("tts-texts", tts_text_examples(), max_examples=15, boundaries=TEXT_BOUNDARIES)
def test_tts_texts(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, example: dict[str, Any]
) -> None:
    """Any text pushed in any pieces, with flushes anywhere, goes out as transcripts that add
    up to it, one session.flush after them, and comes back as the server's audio exactly."""
    rate = example["sample_rate"]
    target = voicewire_simulator.session(replying("tts-texts", example["reply"]))
    outcome = voicewire_iut.speak(
        target=target,
        model=MODEL,
        sample_rate=rate,
        conn_options=ONE_ATTEMPT,
        script=_script(example["pieces"]),
    )
    synthesis = outcome.only
    require(
        synthesis.error is None,
        "TTS-OUT-1",
        f"the synthesis must end cleanly:\n{synthesis.describe()}",
    )
    sent = client_messages(voicewire_simulator, target)
    types = [m.get("type") for m in sent]
    transcripts = [m.get("transcript", "") for m in _of_type(sent, "input_transcript")]
    problem = transcripts_problem(transcripts, example["pieces"])
    expect(problem is None, "TTS-C-2", f"{problem}\ntranscripts: {transcripts}")
    last_transcript = max((i for i, t in enumerate(types) if t == "input_transcript"), default=-1)
    expect(
        types.count("session.flush") == 1 and types[-1] == "session.flush",
        "TTS-C-3",
        f"one session.flush must end the synthesis, after its last input_transcript (at "
        f"{last_transcript}); the client sent {types}",
    )
    server = server_messages(voicewire_simulator, target)
    problems = _output_problems(
        synthesis, _of_type(server, "output_audio"), _session_id(server), rate
    )
    expect(not problems, "TTS-OUT-1", "\n".join(problems) + f"\n{synthesis.describe()}")


# -- tts-pool -------------------------------------------------------------------------------


@pytest.mark.spec("TTS-C-1", "TTS-C-2", "TTS-C-3", "TTS-OUT-1")
@pytest.mark.capability("tts.stream")
@property_family("tts-pool", tts_pool_examples(), max_examples=8)
def test_tts_pool(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, example: dict[str, Any]
) -> None:
    """Syntheses one after another on one TTS share one connection and one session.create;
    each sends its own transcripts and session.flush and emits its own audio exactly."""
    streams = example["streams"]
    target = voicewire_simulator.session(replying("tts-pool", example["reply"]))
    outcome = voicewire_iut.speak(
        target=target,
        model=MODEL,
        conn_options=ONE_ATTEMPT,
        streams=[_script(pieces) for pieces in streams],
    )
    syntheses = outcome.syntheses
    failed = [i for i, s in enumerate(syntheses) if s.error is not None]
    require(not failed, "TTS-OUT-1", f"every synthesis must end cleanly:\n{outcome.describe()}")
    sent = client_messages(voicewire_simulator, target)
    types = [m.get("type") for m in sent]
    exchanges = list(dict.fromkeys(m["_exchange"] for m in sent))
    expect(
        len(exchanges) == 1 and types.count("session.create") == 1 and types[0] == "session.create",
        "TTS-C-1",
        f"{len(streams)} syntheses one after another must share one connection opened by one "
        f"session.create: {len(exchanges)} connection(s), client messages {types}",
    )
    expect(
        types.count("session.flush") == len(streams) and types[-1] == "session.flush",
        "TTS-C-3",
        f"each of the {len(streams)} syntheses must end with one session.flush after its "
        f"transcripts: the client sent {types}",
    )
    by_client = _by_synthesis(sent, "session.flush")
    problems = []
    for index, pieces in enumerate(streams):
        if index >= len(by_client):
            break
        transcripts = [m["transcript"] for m in _of_type(by_client[index], "input_transcript")]
        problem = transcripts_problem(transcripts, pieces)
        if problem is not None:
            problems.append(f"synthesis {index}: {problem}")
    expect(not problems, "TTS-C-2", "\n".join(problems))
    server = server_messages(voicewire_simulator, target)
    by_server = _by_synthesis(server, "done")
    problems = []
    for index, synthesis in enumerate(syntheses):
        # What the server sent for this synthesis, and the session id it sent it under.
        answer = by_server[index] if index < len(by_server) else []
        problems += [
            f"synthesis {index}: {p}"
            for p in _output_problems(
                synthesis, _of_type(answer, "output_audio"), _session_id(answer), RATE
            )
        ]
    expect(not problems, "TTS-OUT-1", "\n".join(problems) + f"\n{outcome.describe()}")


# -- tts-faults -----------------------------------------------------------------------------


def _fault_scenario(example: dict[str, Any]) -> Any:
    """The scenario of a fault example: the reply, and each failing connection's fault on
    that connection only."""
    faults = []
    for attempt, failure in enumerate(example["failures"], start=1):
        at, how = failure["at_event"], failure["how"]
        if how == "error":
            fault = {"kind": "error_event", "code": failure["code"]}
        elif how == "ws_close":
            fault = {"kind": "ws_close", "code": failure["code"]}
        else:
            fault = {"kind": "disconnect", "mode": "reset"}
        faults.append({**fault, "at_event": at, "attempt": attempt})
    reply = {"chunk_duration": example["chunk_duration"], "alignment": example["alignment"]}
    return build_scenario(
        "tts-faults", {"match": {"endpoint": "tts"}, "reply": reply, "faults": faults}
    )


def _before_fault(server: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``output_audio`` one connection sent before its fault: before its ``error``, or
    all of it (a close or a reset ends the connection)."""
    chunks = []
    for message in server:
        if message.get("type") == "error":
            break
        if message.get("type") == "output_audio":
            chunks.append(message)
    return chunks


def _spoken(transcripts: list[str], rate: int, gap: float = TTSReply().gap) -> bytes:
    """The audio the simulator speaks for one synthesis's ``transcripts`` at ``rate``, as
    ``docs/scenarios.md`` has it: the tone code of each transcript's stripped text (a blank
    one speaks nothing), ``gap`` seconds of silence before every utterance but the first."""
    pcm = b""
    for transcript in transcripts:
        text = transcript.strip()
        if not text:
            continue
        if pcm:
            pcm += bytes(2 * round(gap * rate))
        pcm += encode_tone(text, sample_rate=rate).to_bytes()
    return pcm


FAULT_BOUNDARIES = [
    # max_retry 0, an error before any audio: one connection, the synthesis raises.
    {
        "sentence": "Good morning.",
        "chunk_duration": 0.1,
        "alignment": "none",
        "max_retry": 0,
        "failures": [{"how": "error", "at_event": 1, "when": "before_audio", "code": 500}],
    },
    # A close right after session.created, then a reset after half a second of audio with
    # retries left: the retry replays the sentence; after its audio nothing is retried.
    {
        "sentence": "Hello voice wire world.",
        "chunk_duration": 0.05,
        "alignment": "words",
        "max_retry": 2,
        "failures": [
            {"how": "ws_close", "at_event": 0, "when": "before_audio", "code": 1011},
            {"how": "reset", "at_event": 11, "when": "after_audio"},
        ],
    },
]
"""The shallow edges of the fault family, run every time before the generated ones."""


@pytest.mark.spec("TTS-RETRY-1", "TTS-OUT-2", "TTS-OUT-1")
@pytest.mark.capability("tts.stream")
@property_family("tts-faults", tts_fault_examples(), max_examples=12, boundaries=FAULT_BOUNDARIES)
def test_tts_faults(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, example: dict[str, Any]
) -> None:
    """Failures are retried with the whole input while no audio was emitted and attempts
    remain, never after audio; the audio emitted is one connection's, never repeated."""
    failures, max_retry = example["failures"], example["max_retry"]
    sentence = example["sentence"]
    target = voicewire_simulator.session(_fault_scenario(example))
    outcome = voicewire_iut.speak(
        target=target,
        model=MODEL,
        sample_rate=FAULT_RATE,
        conn_options=ConnOptions(max_retry=max_retry, retry_interval=0.0, timeout=5.0),
        script=[{"op": "push_text", "text": sentence}, END_INPUT],
    )
    synthesis = outcome.only
    sent = client_messages(voicewire_simulator, target)
    server = server_messages(voicewire_simulator, target)
    exchanges = list(dict.fromkeys(m["_exchange"] for m in sent))
    connections = len(exchanges)
    emitted = synthesis.audio
    # How many connections SPEC §4 allows: one per failure plus the one that succeeds, at
    # most max_retry + 1 attempts.
    most = min(len(failures) + 1, max_retry + 1)
    expect(
        1 <= connections <= most,
        "TTS-RETRY-1",
        f"{len(failures)} failing connection(s) with max_retry {max_retry}: at most {most} "
        f"connection(s), got {connections}:\n{synthesis.describe()}",
    )
    creates = [
        sum(1 for m in sent if m["_exchange"] == e and m.get("type") == "session.create")
        for e in exchanges
    ]
    expect(
        all(count == 1 for count in creates),
        "TTS-C-1",
        f"every connection opens with one session.create, got {creates} per connection",
    )
    # The retry condition: a connection that failed with no audio emitted is followed by
    # another while attempts remain. The synthesis emitted only the last connection's audio
    # (checked below), so when it stopped early it must have emitted some.
    stopped_early = connections < most
    expect(
        not (stopped_early and not emitted),
        "TTS-RETRY-1",
        f"connection {connections} failed before any audio was emitted and "
        f"{most - connections} more attempt(s) remained: the synthesis must be retried:\n"
        f"{synthesis.describe()}",
    )
    for exchange, failure in zip(exchanges, failures, strict=False):
        client_side = [m for m in sent if m["_exchange"] == exchange]
        if any("_refused" in m for m in client_side) or not _of_type(
            client_side, "input_transcript"
        ):
            # The client never let the server reach the fault (a refused session.create):
            # the rules above judge that, not the example.
            continue
        # The example's own premise, from the journal: its fault came where it says.
        audio = _before_fault([m for m in server if m["_exchange"] == exchange])
        assert bool(audio) == (failure["when"] == "after_audio"), (
            f"the example placed {failure} wrongly: {len(audio)} output_audio before it"
        )
    last = exchanges[-1] if exchanges else None
    last_server = [m for m in server if m["_exchange"] == last]
    last_client = [m for m in sent if m["_exchange"] == last]
    transcripts = [m["transcript"] for m in _of_type(last_client, "input_transcript")]
    succeeded = connections == len(failures) + 1
    if succeeded:
        # The connection without a fault: the whole input replayed, all its audio emitted.
        require(
            synthesis.error is None,
            "TTS-RETRY-1",
            f"connection {connections} had no fault: the synthesis must succeed on it:\n"
            f"{synthesis.describe()}",
        )
        # The text, whatever its transcripts' form (TTS-C-2 is the text family's).
        replayed = _normalised("".join(transcripts))
        expect(
            replayed == _normalised(sentence) and _of_type(last_client, "session.flush"),
            "TTS-RETRY-1",
            f"a retry replays all the input text, {sentence!r}, and ends it: it sent "
            f"{replayed!r}, messages {[m.get('type') for m in last_client]}",
        )
        audio = _of_type(last_server, "output_audio")
        size = sum(2 * chunk["samples"] for chunk in audio)
        expect(
            len(emitted) <= size,
            "TTS-RETRY-1",
            f"the synthesis emitted {len(emitted)} bytes, more than the {size} its last "
            f"connection sent: audio of a failed attempt was emitted, then the synthesis "
            f"retried:\n{synthesis.describe()}",
        )
        if len(emitted) <= size:
            problems = _output_problems(synthesis, audio, _session_id(last_server), FAULT_RATE)
            expect(not problems, "TTS-OUT-1", "\n".join(problems) + f"\n{synthesis.describe()}")
        return
    error = synthesis.error
    require(
        error is not None,
        "TTS-OUT-2",
        f"connection {connections} failed and no attempt followed: the synthesis must "
        f"raise:\n{synthesis.describe()}",
    )
    assert error is not None
    expect(
        error.kind in API_ERRORS,
        "TTS-OUT-2",
        f"a failed synthesis raises an APIError, got {error.kind}: {error.message}",
    )
    failure = failures[connections - 1]
    if max_retry == 0 or emitted:
        # Nothing was retried or could be: the connection's own error, mapped by TTS-OUT-2
        # (a reset has no close frame: a close without a code, or a connection error).
        kinds = {
            "error": {"APIError"},
            "ws_close": {"APIStatusError"},
            "reset": {"APIStatusError", "APIConnectionError"},
        }[failure["how"]]
        expect(
            error.kind in kinds,
            "TTS-OUT-2",
            f"a {failure['how']} fault must raise {sorted(kinds)}, got {error.kind}: "
            f"{error.message}",
        )
    # What the synthesis emitted: a byte-exact prefix of the audio its last connection sent
    # before the fault (checked against the journal's CRCs, then byte for byte).
    chunks = _before_fault(last_server)
    size = sum(2 * chunk["samples"] for chunk in chunks)
    spoken = _spoken(transcripts, FAULT_RATE)[:size]
    assert audio_problem(spoken, chunks) is None, "the simulator did not speak its transcripts"
    expect(
        len(emitted) <= size and emitted == spoken[: len(emitted)],
        "TTS-RETRY-1",
        f"the synthesis emitted {len(emitted)} bytes: they must be a prefix of the "
        f"{size} bytes connection {connections} sent before its fault, never audio repeated "
        f"or from an earlier connection"
        + ("" if emitted == spoken[: len(emitted)] else " (the bytes differ)")
        + f":\n{synthesis.describe()}",
    )
