"""TTS client conformance: syntheses against the embedded TTS simulator, one operation per case.

Each case plays scripts of text into ``tts.stream`` (``voicewire_iut.speak``) or texts into
``tts.synthesize`` (``voicewire_iut.synthesize``), its syntheses one after another on one TTS
object so that the pool's one socket serves them all, and judges what the simulator journaled
of the client's messages (TTS-C-1..3) or the audio and errors the syntheses emitted against
what the server really sent (TTS-OUT-1..2, TTS-RETRY-1, CLI-ROB-1). The simulator sends as
fast as it can (no pacing): a case that must know the client sent a sentence before the input
ended waits for that sentence's audio (``wait_event``), and only the cases about time script a
stall, in fractions of a second.

The judged messages are read from the journal (:mod:`.wire_log`): the emitted audio is
compared with the server's ``output_audio`` chunks by CRC-32, cut at the server's chunks, so
bytes lost, added, altered or reordered all show.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest
from voicewire.harness.driver import IUTDriver
from voicewire.harness.iut import ConnOptions, Target
from voicewire.harness.runtime import CaseSimulator
from voicewire.harness.tts import SynthesisOutcome, TTSOutcome
from voicewire.harness.verdicts import expect, require
from voicewire.simulators.scenario import Scenario

from .wire_log import (
    MODEL,
    ONE_ATTEMPT,
    ONE_RETRY,
    RATE,
    audio_problem,
    client_messages,
    replying,
    server_messages,
)

VOICE = "a167e0f3-df7e-4d52-a9c3-f949145efdab"

API_ERRORS = {"APIError", "APIStatusError", "APIConnectionError", "APITimeoutError"}

# Sentences of 20 characters or more, so no client has a reason to merge them; a short one
# ("Is it not?") that upstream merges into the next; every sentence ends with a terminator,
# so every transcript does.
TEXT = (
    "Hello there! This is a streaming speech test. The quick brown fox jumps over the "
    "lazy dog. Is it not? Then it sleeps for a while."
)
FIRST = "Good morning to you all, and welcome."
SECOND = "The weather is sunny again today."

END_INPUT = {"op": "end_input"}
FLUSH = {"op": "flush"}

# Robustness cases: a hang must end as a FAIL in seconds, never as the harness's timeout.
ROBUST = ConnOptions(max_retry=0, retry_interval=0.0, timeout=2.0)
ROBUST_END = 5.0


# -- helpers --------------------------------------------------------------------------------


def push(text: str) -> dict[str, Any]:
    return {"op": "push_text", "text": text}


def wait(event: str, count: int = 1, timeout: float = 3.0) -> dict[str, Any]:
    """Wait for ``count`` events of ``event``; a client that never emits them costs the case
    ``timeout`` seconds, then the script goes on and the checks say what was missing."""
    return {"op": "wait_event", "event": event, "count": count, "timeout": timeout}


def play(
    iut: IUTDriver,
    simulator: CaseSimulator,
    script_scenario: Scenario | None,
    streams: list[list[dict[str, Any]]],
    **fields: Any,
) -> tuple[TTSOutcome, Target]:
    """Streaming syntheses, one per script, on one TTS against a fresh session (echo mode
    when ``script_scenario`` is None)."""
    target = simulator.session(script_scenario)
    fields.setdefault("conn_options", ONE_ATTEMPT)
    fields.setdefault("model", MODEL)
    return iut.speak(target=target, streams=streams, **fields), target


def play_texts(
    iut: IUTDriver,
    simulator: CaseSimulator,
    script_scenario: Scenario | None,
    texts: list[str],
    **fields: Any,
) -> tuple[TTSOutcome, Target]:
    """One-shot syntheses, one per text, on one TTS against a fresh session."""
    target = simulator.session(script_scenario)
    fields.setdefault("conn_options", ONE_ATTEMPT)
    fields.setdefault("model", MODEL)
    return iut.synthesize(target=target, texts=texts, **fields), target


def normalised(text: str) -> str:
    """``text`` with every run of whitespace one space, none at the ends."""
    return " ".join(text.split())


def of_type(messages: Sequence[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in messages if m.get("type") == kind]


def exchanges(messages: Sequence[dict[str, Any]]) -> list[Any]:
    """The connections the messages went over, in order of their first message."""
    return list(dict.fromkeys(m["_exchange"] for m in messages))


def on(messages: Sequence[dict[str, Any]], exchange: Any) -> list[dict[str, Any]]:
    return [m for m in messages if m["_exchange"] == exchange]


def transcripts(messages: Sequence[dict[str, Any]]) -> list[str]:
    return [m.get("transcript", "") for m in of_type(messages, "input_transcript")]


def server_syntheses(messages: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The server's ``output_audio`` chunks per synthesis: a ``done`` ends one, and so does
    the end of its connection."""
    found: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] | None = None
    exchange = object()
    for message in messages:
        if message["_exchange"] != exchange:
            if current:
                found.append(current)
            current, exchange = None, message["_exchange"]
        if message.get("type") == "output_audio":
            current = (current or []) + [message]
        elif message.get("type") == "done":
            found.append(current or [])
            current = None
    if current:
        found.append(current)
    return found


def before_failure(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The server's messages up to its first ``error`` (after which a client that failed the
    synthesis reads no more)."""
    kinds = [m.get("type") for m in messages]
    return list(messages[: kinds.index("error")] if "error" in kinds else messages)


def prefix_problem(emitted: bytes, chunks: list[dict[str, Any]]) -> str | None:
    """Where the audio a failed synthesis emitted is not the start of the server's ``chunks``
    (a client may hold back the tail it had not emitted when the failure came): longer than
    them, or a whole chunk it covers differs. A chunk it covers only in part has no CRC to
    compare; its length is all that is judged."""
    total = sum(2 * chunk["samples"] for chunk in chunks)
    if len(emitted) > total:
        return f"the client emitted {len(emitted)} bytes, the server sent {total}"
    covered = offset = 0
    for chunk in chunks:
        if offset + 2 * chunk["samples"] > len(emitted):
            break
        offset += 2 * chunk["samples"]
        covered += 1
    return audio_problem(emitted[:offset], chunks[:covered])


def error_of(synthesis: SynthesisOutcome) -> str:
    error = synthesis.error
    return "none" if error is None else f"{error.kind}: {error.message}"


def frames_problems(synthesis: SynthesisOutcome, rate: int, segment_id: str | None) -> list[str]:
    """Where a finished synthesis's frames break TTS-OUT-1's form: the session rate, mono,
    exactly one final and it last, every frame's segment id the server's session id
    (``segment_id``; None: the server's audio carried none, or several)."""
    frames = synthesis.frames
    if not frames:
        return ["no audio frame was emitted"]
    problems = []
    rates = sorted({f.sample_rate for f in frames})
    if rates != [rate]:
        problems.append(f"frames at {rates} Hz, the session's rate is {rate}")
    channels = sorted({f.num_channels for f in frames})
    if channels != [1]:
        problems.append(f"frames of {channels} channels, the audio is mono")
    finals = [i for i, f in enumerate(frames) if f.is_final]
    if finals != [len(frames) - 1]:
        problems.append(
            f"frames {finals} of {len(frames)} are marked final: exactly the last one must be"
        )
    wrong = sorted({f.segment_id for f in frames if f.segment_id != segment_id})
    if segment_id is None:
        problems.append("the server's audio carried no one session_id to judge segment ids by")
    elif wrong:
        problems.append(f"segment ids {wrong}, the server's session_id is {segment_id!r}")
    return problems


def rob_check(synthesis: SynthesisOutcome, *, must_fail: bool, what: str) -> None:
    """CLI-ROB-1 and TTS-OUT-2 on one synthesis: it ended (the harness closes one still
    running after ``end_timeout``, reported as a ``TimeoutError``) with an error of the
    APIError family, or cleanly when ``must_fail`` is false."""
    error = synthesis.error
    expect(
        error is not None or not must_fail,
        "CLI-ROB-1",
        f"{what}: the synthesis must end with an error of the APIError family, it ended "
        f"cleanly:\n{synthesis.describe()}",
    )
    if error is None:
        return
    expect(
        error.kind in API_ERRORS,
        "CLI-ROB-1",
        f"{what}: the synthesis must end with an error of the APIError family within the "
        f"timeout, never hang or raise another type; it ended with {error.kind}: "
        f"{error.message}\n{synthesis.describe()}",
    )
    expect(
        error.kind in API_ERRORS,
        "TTS-OUT-2",
        f"{what}: a failed synthesis raises an APIError, got {error.kind}",
    )


# -- TTS-C-1 --------------------------------------------------------------------------------

SESSION_OPTIONS: dict[str, dict[str, Any]] = {
    "configured": {
        "voice": VOICE,
        "language": "en",
        "sample_rate": 16000,
        "extra_kwargs": {"speed": "normal", "emotion": ["positivity:high"]},
    },
    "defaults": {},
}


@pytest.mark.spec("TTS-C-1", "TTS-C-2")
@pytest.mark.capability("tts.stream")
@pytest.mark.parametrize("options", sorted(SESSION_OPTIONS))
def test_session_create_opens_each_connection(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, options: str
) -> None:
    """The first message of the connection is ``session.create``, sent once though two
    syntheses use the connection: ``sample_rate`` as a string ("24000" by default, "16000"
    when asked), ``encoding`` ``pcm_s16le``, ``extra`` the object of ``extra_kwargs``
    ({} by default), ``model`` as configured, ``voice`` and ``language`` as configured and
    left out when not (wire capture §4: upstream sends them only when set). Each
    ``input_transcript``'s ``generation_config`` carries them the same way."""
    fields = SESSION_OPTIONS[options]
    outcome, target = play(
        voicewire_iut,
        voicewire_simulator,
        None,
        [[push(FIRST), END_INPUT], [push(SECOND), END_INPUT]],
        **fields,
    )
    messages = client_messages(voicewire_simulator, target)
    require(messages, "TTS-C-1", f"the client sent nothing:\n{outcome.describe()}")
    for exchange in exchanges(messages):
        sent = on(messages, exchange)
        expect(
            sent[0].get("type") == "session.create",
            "TTS-C-1",
            f"a connection's first message must be session.create, it was {sent[0]}",
        )
        creates = of_type(sent, "session.create")
        expect(
            len(creates) == 1,
            "TTS-C-1",
            f"session.create must be sent once per connection, it was sent {len(creates)} "
            f"times on one connection",
        )
    create = of_type(messages, "session.create")
    require(create, "TTS-C-1", "the client never sent session.create")
    create = create[0]
    rate = str(fields.get("sample_rate", RATE))
    expect(
        create.get("sample_rate") == rate,
        "TTS-C-1",
        f"sample_rate must be the string {rate!r}, got {create.get('sample_rate')!r}",
    )
    expect(
        create.get("encoding") == "pcm_s16le",
        "TTS-C-1",
        f"encoding must be 'pcm_s16le', got {create.get('encoding')!r}",
    )
    extra = fields.get("extra_kwargs", {})
    expect(
        isinstance(create.get("extra"), dict) and create.get("extra") == extra,
        "TTS-C-1",
        f"extra must be the object {extra}, got {create.get('extra')!r}",
    )
    want = {"model": MODEL, "voice": fields.get("voice"), "language": fields.get("language")}
    for key, value in want.items():
        got = create.get(key)
        expect(
            got == value if value is not None else key not in create,
            "TTS-C-1",
            f"session.create's {key} must be {value!r}, got {got!r}"
            if value is not None
            else f"session.create must leave out {key} when it is not set, it sent {got!r}",
        )
    for message in of_type(messages, "input_transcript"):
        config = message.get("generation_config")
        require(
            isinstance(config, dict),
            "TTS-C-2",
            f"input_transcript needs a generation_config object: {message}",
        )
        assert isinstance(config, dict)
        for key, value in want.items():
            expect(
                config.get(key) == value if value is not None else key not in config,
                "TTS-C-2",
                f"generation_config's {key} must be {value!r}, got {config.get(key)!r}"
                if value is not None
                else f"generation_config must leave out {key} when it is not set: {config}",
            )
    require(
        [s.error for s in outcome.syntheses] == [None, None],
        "TTS-OUT-1",
        f"both syntheses must finish:\n{outcome.describe()}",
    )


# -- TTS-C-2 --------------------------------------------------------------------------------


def _pieces(text: str, size: int) -> list[dict[str, Any]]:
    return [push(text[i : i + size]) for i in range(0, len(text), size)]


PUSHES: dict[str, list[dict[str, Any]]] = {
    "at_once": [push(TEXT), END_INPUT],
    "word_by_word": [push(word) for word in re.findall(r"\S+\s*", TEXT)] + [END_INPUT],
    "mid_word_pieces": [*_pieces(TEXT, 3), END_INPUT],
    "ragged_whitespace": [push(TEXT.replace(". ", ".\n  ").replace("! ", "!\t")), END_INPUT],
}

# A transcript ends a sentence: a terminator, then closing quotes or brackets.
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*$")


def _transcripts_problems(sent: list[str], text: str) -> list[str]:
    problems = []
    if normalised("".join(sent)) != normalised(text):
        problems.append(
            f"the transcripts concatenated, spaces normalised, must be the input text:\n"
            f"  sent:  {normalised(''.join(sent))!r}\n  input: {normalised(text)!r}"
        )
    blank = [t for t in sent if not t.strip()]
    if blank:
        problems.append(f"{len(blank)} transcripts are blank")
    bare = [t for t in sent if t.strip() and not t.endswith(" ")]
    if bare:
        problems.append(f"a transcript ends with a space the client appends, these do not: {bare}")
    return problems


@pytest.mark.spec("TTS-C-2")
@pytest.mark.capability("tts.stream")
@pytest.mark.parametrize("pushes", sorted(PUSHES))
def test_transcripts_carry_the_text_by_sentences(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, pushes: str
) -> None:
    """However the text is pushed (at once, word by word, in 3-character pieces that split
    words, with newlines and tabs between sentences), the ``input_transcript``\\s concatenated,
    spaces normalised, are the input text; each ends with the space the client appends, and
    each ends a sentence (short sentences may be merged into the next, and several sentences
    sent at the end of input may share one transcript, as upstream does, but no transcript
    cuts a sentence). Each carries ``generation_config`` with the voice, model and language,
    and ``extra`` the ``extra_kwargs``."""
    extra = {"speed": "normal"}
    script = PUSHES[pushes]
    text = "".join(step["text"] for step in script if step["op"] == "push_text")
    outcome, target = play(
        voicewire_iut,
        voicewire_simulator,
        None,
        [script],
        voice=VOICE,
        language="en",
        extra_kwargs=extra,
    )
    messages = of_type(client_messages(voicewire_simulator, target), "input_transcript")
    sent = [m.get("transcript", "") for m in messages]
    require(sent, "TTS-C-2", f"the client sent no input_transcript:\n{outcome.describe()}")
    problems = _transcripts_problems(sent, text)
    cut = [t for t in sent if t.strip() and not _SENTENCE_END.search(t.strip())]
    if cut:
        problems.append(f"transcripts that cut a sentence: {cut}")
    expect(not problems, "TTS-C-2", "\n".join(problems) + f"\nsent: {sent}")
    want = {"voice": VOICE, "model": MODEL, "language": "en"}
    wrong = [
        m
        for m in messages
        if not isinstance(m.get("generation_config"), dict)
        or any(m["generation_config"].get(k) != v for k, v in want.items())
        or m.get("extra") != extra
    ]
    expect(
        not wrong,
        "TTS-C-2",
        f"every input_transcript carries generation_config {want} and extra {extra}: {wrong[:2]}",
    )
    require(
        outcome.only.error is None,
        "TTS-OUT-1",
        f"the synthesis must finish:\n{outcome.describe()}",
    )


@pytest.mark.spec("TTS-C-2")
@pytest.mark.capability("tts.stream")
def test_a_sentence_goes_out_once_the_next_begins(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """A whole sentence (long enough not to be merged) followed by the start of the next is
    sent as its own transcript while the input goes on: the case waits for its audio before
    it pushes the rest. (A client that holds the text until the input ends sends both
    sentences as one.)"""
    first = "The first sentence is long enough."
    script = [push(f"{first} The sec"), wait("audio"), push("ond one ends the text."), END_INPUT]
    outcome, target = play(voicewire_iut, voicewire_simulator, None, [script])
    sent = transcripts(client_messages(voicewire_simulator, target))
    require(sent, "TTS-C-2", f"the client sent no input_transcript:\n{outcome.describe()}")
    expect(
        normalised(sent[0]) == first,
        "TTS-C-2",
        f"the first sentence must go out on its own once the next began, the first "
        f"transcript was {sent[0]!r} (all: {sent})",
    )
    problems = _transcripts_problems(sent, f"{first} The second one ends the text.")
    expect(not problems, "TTS-C-2", "\n".join(problems))


@pytest.mark.spec("TTS-C-2")
@pytest.mark.capability("tts.stream")
def test_flush_sends_the_pending_text(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """``flush()`` in the middle of a sentence sends the text pushed so far: the transcripts
    sent until its audio came (which the case waits for) are exactly the text before the
    flush, and the rest follows after it."""
    before = "Good morning to you all and welcome back to the"
    after = " show. Today the weather is sunny everywhere."
    script = [push(before), FLUSH, wait("audio"), push(after), END_INPUT]
    outcome, target = play(voicewire_iut, voicewire_simulator, None, [script])
    sent = transcripts(client_messages(voicewire_simulator, target))
    require(sent, "TTS-C-2", f"the client sent no input_transcript:\n{outcome.describe()}")
    prefixes = [normalised("".join(sent[:k])) for k in range(1, len(sent) + 1)]
    expect(
        normalised(before) in prefixes,
        "TTS-C-2",
        f"flush() must send the pending text {before!r} as it stands: no run of the first "
        f"transcripts is it (sent: {sent})",
    )
    problems = _transcripts_problems(sent, before + after)
    expect(not problems, "TTS-C-2", "\n".join(problems))
    require(
        outcome.only.error is None,
        "TTS-OUT-1",
        f"the synthesis must finish:\n{outcome.describe()}",
    )


# -- TTS-C-3 --------------------------------------------------------------------------------


def _syntheses_on_one_socket(
    messages: list[dict[str, Any]], texts: list[str], outcome: TTSOutcome
) -> None:
    """TTS-C-3 on the client's messages of operations whose syntheses all finished: one
    connection, one ``session.create``, then per synthesis its transcripts and exactly one
    ``session.flush`` after the last of them; nothing else (no close message)."""
    require(
        all(s.error is None for s in outcome.syntheses),
        "TTS-OUT-1",
        f"every synthesis must finish:\n{outcome.describe()}",
    )
    connections = exchanges(messages)
    expect(
        len(connections) == 1,
        "TTS-C-3",
        f"{len(texts)} syntheses one after another must reuse the pooled socket: they used "
        f"{len(connections)} connections",
    )
    creates = len(of_type(messages, "session.create"))
    expect(
        creates == len(connections),
        "TTS-C-1",
        f"session.create must be sent once per connection: {creates} on {len(connections)} "
        f"connections",
    )
    others = sorted(
        {m.get("type") for m in messages} - {"session.create", "input_transcript", "session.flush"}
    )
    expect(
        not others,
        "TTS-C-3",
        f"the client sends no message but session.create, input_transcript and "
        f"session.flush (no close message); it sent {others}",
    )
    body = [m for m in messages if m.get("type") in ("input_transcript", "session.flush")]
    groups: list[list[dict[str, Any]]] = [[]]
    for message in body:
        groups[-1].append(message)
        if message.get("type") == "session.flush":
            groups.append([])
    trailing = groups.pop()
    flushes = len(of_type(messages, "session.flush"))
    expect(
        flushes == len(texts) and not trailing,
        "TTS-C-3",
        f"each of the {len(texts)} syntheses must end with exactly one session.flush after its "
        f"last transcript: {flushes} flushes, {len(trailing)} transcripts after the last one "
        f"({[m.get('type') for m in body]})",
    )
    for index, (group, text) in enumerate(zip(groups, texts, strict=False)):
        said = normalised("".join(m.get("transcript", "") for m in group))
        expect(
            said == normalised(text),
            ("TTS-C-3", "TTS-C-2"),
            f"synthesis {index}: session.flush comes after the input ended, so the "
            f"transcripts before it are the synthesis's whole text {text!r}; they were "
            f"{said!r}",
        )


@pytest.mark.spec("TTS-C-3", "TTS-C-1", "TTS-C-2")
@pytest.mark.capability("tts.stream")
def test_each_stream_ends_with_one_flush_on_the_pooled_socket(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """Two streaming syntheses, one after another on one TTS: one connection (the pool hands
    the socket back), one ``session.create``, then each synthesis's transcripts and exactly
    one ``session.flush`` (also when the script calls ``flush()`` before ``end_input()``,
    as wire capture §4 recorded); no close message."""
    streams = [
        [push(FIRST + " The"), FLUSH, push(" end is near."), FLUSH, END_INPUT],
        [push(SECOND), END_INPUT],
    ]
    texts = [FIRST + " The end is near.", SECOND]
    outcome, target = play(voicewire_iut, voicewire_simulator, None, streams)
    _syntheses_on_one_socket(client_messages(voicewire_simulator, target), texts, outcome)


@pytest.mark.spec("TTS-C-3", "TTS-C-1", "TTS-C-2")
@pytest.mark.capability("tts.synthesize")
def test_each_synthesize_ends_with_one_flush_on_the_pooled_socket(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """``synthesize(text)`` twice on one TTS: as two streams, one connection, one
    ``session.create``, each text's transcripts then one ``session.flush``."""
    texts = [FIRST, f"{SECOND} It stays warm all week long."]
    outcome, target = play_texts(voicewire_iut, voicewire_simulator, None, texts)
    _syntheses_on_one_socket(client_messages(voicewire_simulator, target), texts, outcome)


# -- TTS-OUT-1 ------------------------------------------------------------------------------

DELIVERIES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "default": ({}, {}),
    "odd_small_chunks": ({"chunk_duration": 0.013}, {}),
    "large_chunks": ({"chunk_duration": 0.35}, {}),
    "rate_16000": ({"chunk_duration": 0.05}, {"sample_rate": 16000}),
    "rate_48000": ({}, {"sample_rate": 48000}),
    "word_alignment": ({"alignment": "words"}, {}),
    "char_alignment": ({"alignment": "chars", "chunk_duration": 0.02}, {}),
}


def _audio_is_the_servers(
    outcome: TTSOutcome, simulator: CaseSimulator, target: Target, rate: int
) -> None:
    """TTS-OUT-1 on operations whose syntheses all finished on one connection."""
    require(
        all(s.error is None for s in outcome.syntheses),
        "TTS-OUT-1",
        f"every synthesis must finish:\n{outcome.describe()}",
    )
    server = server_messages(simulator, target)
    chunks = server_syntheses(server)
    require(
        len(chunks) == len(outcome.syntheses),
        "TTS-OUT-1",
        f"the server answered {len(chunks)} syntheses, the client ran {len(outcome.syntheses)}",
    )
    for index, (synthesis, sent) in enumerate(zip(outcome.syntheses, chunks, strict=True)):
        problem = audio_problem(synthesis.audio, sent)
        expect(problem is None, "TTS-OUT-1", f"synthesis {index}: {problem}")
        # The simulator puts the connection's session_id on every output_audio (TTS-S-1).
        ids = {chunk["session_id"] for chunk in sent}
        for problem in frames_problems(synthesis, rate, ids.pop() if len(ids) == 1 else None):
            expect(False, "TTS-OUT-1", f"synthesis {index}: {problem}")


@pytest.mark.spec("TTS-OUT-1")
@pytest.mark.capability("tts.stream")
@pytest.mark.parametrize("delivery", sorted(DELIVERIES))
def test_emitted_audio_is_the_servers(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, delivery: str
) -> None:
    """Two streaming syntheses of two sentences each on the pooled socket, the server's audio
    in chunks of many sizes (odd ones too), at non-default rates, with word or character
    alignment before each utterance: each synthesis emits exactly the server's bytes, in
    order, at the session rate, mono; exactly one frame is final and it is the last; every
    frame's segment id is the server's ``session_id`` (the second synthesis too, which no
    ``session.created`` precedes)."""
    reply, fields = DELIVERIES[delivery]
    streams = [
        [push(FIRST + " "), FLUSH, push(SECOND), END_INPUT],
        [push("Short and sweet, this second one.")],
    ]
    script_scenario = replying(f"tts-out-{delivery}", reply)
    outcome, target = play(voicewire_iut, voicewire_simulator, script_scenario, streams, **fields)
    _audio_is_the_servers(outcome, voicewire_simulator, target, fields.get("sample_rate", RATE))


@pytest.mark.spec("TTS-OUT-1")
@pytest.mark.capability("tts.synthesize")
def test_synthesized_audio_is_the_servers(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """``synthesize(text)`` twice: each emits exactly the server's audio at the session rate,
    mono, one final frame last, the segment id the server's ``session_id``."""
    texts = [f"{FIRST} {SECOND}", "Short and sweet, this second one."]
    outcome, target = play_texts(
        voicewire_iut,
        voicewire_simulator,
        replying("tts-out-synthesize", {"chunk_duration": 0.03}),
        texts,
    )
    _audio_is_the_servers(outcome, voicewire_simulator, target, RATE)


# -- TTS-OUT-2 ------------------------------------------------------------------------------


def _failed(outcome: TTSOutcome, rule: str, what: str) -> Any:
    """The error the one synthesis ended with, and its one attempt error event."""
    synthesis = outcome.only
    error = synthesis.error
    require(error is not None, rule, f"{what} must fail the synthesis:\n{outcome.describe()}")
    assert error is not None
    events = synthesis.errors
    expect(
        len(events) == 1 and not events[0].recoverable and events[0].error.kind == error.kind,
        rule,
        f"{what}: one attempt, so one error event, not recoverable, of the synthesis's "
        f"error ({error.kind}):\n{synthesis.describe()}",
    )
    return error


@pytest.mark.spec("TTS-OUT-2")
@pytest.mark.capability("tts.stream")
def test_error_message_is_a_retryable_api_error(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """An ``error`` message before the first audio ends the synthesis (one attempt) with a
    retryable error of the APIError family, reported by one error event."""
    faults = [{"kind": "error_event", "at_event": 1, "message": "voice unavailable", "code": 500}]
    outcome, _ = play(
        voicewire_iut,
        voicewire_simulator,
        replying("tts-out2-error", {}, faults),
        [[push(FIRST), END_INPUT]],
    )
    error = _failed(outcome, "TTS-OUT-2", "an error message")
    expect(
        error.kind in API_ERRORS and error.retryable is True,
        "TTS-OUT-2",
        f"an error message must be a retryable APIError, got {error.kind} "
        f"(retryable={error.retryable}): {error.message}",
    )


CLOSES: dict[str, dict[str, Any]] = {
    "1011_before_audio": {"kind": "ws_close", "at_event": 0, "code": 1011},
    "1011_after_audio": {"kind": "ws_close", "at_event": 2, "code": 1011},
    "1000_after_audio": {"kind": "ws_close", "at_event": 2, "code": 1000},
}


@pytest.mark.spec("TTS-OUT-2")
@pytest.mark.capability("tts.stream")
@pytest.mark.parametrize("close", sorted(CLOSES))
def test_close_mid_synthesis_is_a_status_error(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, close: str
) -> None:
    """The server closes the socket (1011, or even 1000) while a synthesis runs, before or
    after its first audio: the synthesis ends (one attempt) with an ``APIStatusError``,
    reported by one error event; retryable when no audio was emitted yet (after audio, the
    error is raised, not retried: TTS-RETRY-1, so whether it says retryable is left to that
    rule's reading)."""
    outcome, _ = play(
        voicewire_iut,
        voicewire_simulator,
        replying(f"tts-out2-close-{close}", {}, [CLOSES[close]]),
        [[push(f"{FIRST} {SECOND}"), END_INPUT]],
    )
    error = _failed(outcome, "TTS-OUT-2", "a close mid-synthesis")
    expect(
        error.kind == "APIStatusError",
        "TTS-OUT-2",
        f"a close mid-synthesis must be an APIStatusError, got {error.kind}: {error.message}",
    )
    if close.endswith("before_audio"):
        expect(
            error.retryable is True,
            "TTS-OUT-2",
            f"a close before any audio must be retryable, got retryable={error.retryable}: "
            f"{error.message}",
        )


@pytest.mark.spec("TTS-OUT-2")
@pytest.mark.capability("tts.stream")
def test_silence_past_the_timeout_is_an_api_timeout_error(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """The server goes silent after ``session.created`` for longer than
    ``conn_options.timeout`` (0.3 s; the stall is 1 s): the synthesis ends with an
    ``APITimeoutError``, reported by one error event."""
    faults = [{"kind": "stall", "at_event": 1, "seconds": 1.0}]
    outcome, _ = play(
        voicewire_iut,
        voicewire_simulator,
        replying("tts-out2-timeout", {}, faults),
        [[push(FIRST), END_INPUT]],
        conn_options=ConnOptions(max_retry=0, retry_interval=0.0, timeout=0.3),
    )
    error = _failed(outcome, "TTS-OUT-2", "silence past the timeout")
    expect(
        error.kind == "APITimeoutError",
        "TTS-OUT-2",
        f"no message for timeout seconds must be an APITimeoutError, got {error.kind}: "
        f"{error.message}",
    )


# -- TTS-RETRY-1 ----------------------------------------------------------------------------

EARLY_FAILURES: dict[str, dict[str, Any]] = {
    "error_message": {"kind": "error_event", "at_event": 1, "attempt": 1},
    "close": {"kind": "ws_close", "at_event": 0, "code": 1011, "attempt": 1},
}


@pytest.mark.spec("TTS-RETRY-1", "TTS-C-1", "TTS-OUT-1")
@pytest.mark.capability("tts.stream")
@pytest.mark.parametrize("failure", sorted(EARLY_FAILURES))
def test_failure_before_audio_is_retried_replaying_all_text(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, failure: str
) -> None:
    """The first connection fails (an ``error`` message, or a close 1011) after a sentence
    went out and before any audio; the script pushes the rest of the text only once the
    failure was reported. The client retries once on a new connection, which opens with its
    own ``session.create`` and whose transcripts replay all the input text; the synthesis
    then finishes with exactly the second connection's audio (nothing of the first)."""
    first = "The first sentence is long enough."
    rest = " The rest of the text follows here."
    script = [push(f"{first} The"), wait("error"), push(rest[4:]), END_INPUT]
    outcome, target = play(
        voicewire_iut,
        voicewire_simulator,
        replying(f"tts-retry-early-{failure}", {}, [EARLY_FAILURES[failure]]),
        [script],
        conn_options=ONE_RETRY,
    )
    synthesis = outcome.only
    messages = client_messages(voicewire_simulator, target)
    connections = exchanges(messages)
    expect(
        len(connections) == 2,
        "TTS-RETRY-1",
        f"a failure before any audio must be retried once on a new connection: the client "
        f"used {len(connections)} connections:\n{synthesis.describe()}",
    )
    expect(
        [e.recoverable for e in synthesis.errors] == [True],
        "TTS-RETRY-1",
        f"the failed attempt is one recoverable error event:\n{synthesis.describe()}",
    )
    for exchange in connections:
        sent = on(messages, exchange)
        expect(
            sent[0].get("type") == "session.create" and len(of_type(sent, "session.create")) == 1,
            "TTS-C-1",
            f"every connection opens with one session.create: {[m.get('type') for m in sent]}",
        )
    require(len(connections) == 2, "TTS-RETRY-1", "no retry connection to judge")
    replayed = normalised("".join(transcripts(on(messages, connections[1]))))
    expect(
        replayed == normalised(first + rest),
        "TTS-RETRY-1",
        f"the retry must replay all the input text, its transcripts said {replayed!r}",
    )
    expect(
        synthesis.error is None,
        "TTS-RETRY-1",
        f"the retry must carry the synthesis to its end:\n{synthesis.describe()}",
    )
    server = server_messages(voicewire_simulator, target)
    retry_audio = of_type(on(server, connections[1]), "output_audio")
    problem = audio_problem(synthesis.audio, retry_audio)
    expect(
        problem is None,
        "TTS-OUT-1",
        f"the emitted audio must be exactly the retry connection's: {problem}",
    )


LATE_FAILURES: dict[str, dict[str, Any]] = {
    "error_message": {"kind": "error_event", "at_event": 6, "attempt": 1},
    "close": {"kind": "ws_close", "at_event": 5, "code": 1011, "attempt": 1},
}


@pytest.mark.spec("TTS-RETRY-1", "TTS-OUT-1")
@pytest.mark.capability("tts.stream")
@pytest.mark.parametrize("failure", sorted(LATE_FAILURES))
def test_failure_after_audio_is_raised_not_retried(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, failure: str
) -> None:
    """The connection fails (an ``error`` message, or a close 1011) after five 100 ms audio
    chunks, with a retry allowed: audio was emitted, so the client does not retry (one
    connection), the synthesis raises an error of the APIError family, and the audio it
    emitted is the server's from its start, in order, never more than it sent before the
    failure, never twice. (A client holds back the end of what came, to mark the last frame
    final; both the reference and upstream drop that held tail when the synthesis fails, so
    the emitted audio may stop short of what was sent.)"""
    outcome, target = play(
        voicewire_iut,
        voicewire_simulator,
        replying(f"tts-retry-late-{failure}", {}, [LATE_FAILURES[failure]]),
        [[push(f"{FIRST} {SECOND}"), END_INPUT]],
        conn_options=ONE_RETRY,
    )
    synthesis = outcome.only
    first_error = next(
        (i for i, e in enumerate(synthesis.events) if getattr(e, "type", "") == "tts.error"),
        len(synthesis.events),
    )
    before = [e for e in synthesis.events[:first_error] if getattr(e, "type", "") == "tts.audio"]
    require(
        before,
        "TTS-RETRY-1",
        f"the case needs audio emitted before the failure (half a second of it had come), "
        f"the client emitted none:\n{synthesis.describe()}",
    )
    connections = exchanges(client_messages(voicewire_simulator, target))
    expect(
        len(connections) == 1,
        "TTS-RETRY-1",
        f"after audio was emitted the failure must not be retried: the client used "
        f"{len(connections)} connections",
    )
    error = synthesis.error
    expect(
        error is not None and error.kind in API_ERRORS,
        "TTS-RETRY-1",
        f"after audio the synthesis must raise an APIError, it ended with "
        f"{error_of(synthesis)}:\n{synthesis.describe()}",
    )
    expect(
        [e.recoverable for e in synthesis.errors] == [False],
        "TTS-RETRY-1",
        f"one error event, not recoverable:\n{synthesis.describe()}",
    )
    server = server_messages(voicewire_simulator, target)
    sent = of_type(before_failure(on(server, exchanges(server)[0])), "output_audio")
    sent_bytes = sum(2 * chunk["samples"] for chunk in sent)
    expect(
        len(synthesis.audio) <= sent_bytes,
        "TTS-RETRY-1",
        f"the client emitted {len(synthesis.audio)} bytes of audio, the server sent "
        f"{sent_bytes} before the failure: audio duplicated or invented",
    )
    problem = prefix_problem(synthesis.audio, sent)
    expect(
        problem is None,
        "TTS-OUT-1",
        f"the emitted audio must be the server's, from its start, in order: {problem}",
    )


# -- CLI-ROB-1 ------------------------------------------------------------------------------


@pytest.mark.spec("CLI-ROB-1", "TTS-OUT-2")
@pytest.mark.capability("tts.stream")
def test_audio_without_any_session_id_fails_cleanly(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """No message carries a ``session_id`` (wire capture §4, ``tts_no_session_id``; upstream
    1.8.9 crashes with a plain RuntimeError): the audio messages break TTS-S-1's shape, so
    the synthesis ends with an error of the APIError family within the timeout, never hangs
    or raises another type."""
    outcome, _ = play(
        voicewire_iut,
        voicewire_simulator,
        replying("tts-rob-no-session-id", {"session_id": "none"}),
        [[push(FIRST), END_INPUT]],
        conn_options=ROBUST,
        end_timeout=ROBUST_END,
    )
    rob_check(outcome.only, must_fail=True, what="audio without a session_id")


@pytest.mark.spec("CLI-ROB-1", "TTS-OUT-2")
@pytest.mark.capability("tts.stream")
def test_session_id_only_on_session_created_fails_cleanly(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """Only ``session.created`` carries the ``session_id`` (wire capture §4,
    ``tts_sid_created_only``): the second synthesis on the pooled socket sees no message with
    it (upstream 1.8.9 crashes there with a plain RuntimeError). Each synthesis ends either
    cleanly (a client may keep the connection's id) or with an error of the APIError family
    within the timeout; never a hang or another type."""
    outcome, _ = play(
        voicewire_iut,
        voicewire_simulator,
        replying("tts-rob-created-only", {"session_id": "created_only"}),
        [[push(FIRST), END_INPUT], [push(SECOND), END_INPUT]],
        conn_options=ROBUST,
        end_timeout=ROBUST_END,
    )
    for index, synthesis in enumerate(outcome.syntheses):
        rob_check(
            synthesis,
            must_fail=False,
            what=f"synthesis {index} with the session_id on session.created only",
        )


BROKEN_FRAMES: dict[str, dict[str, Any]] = {
    "not_json": {"kind": "malformed", "at_event": 1},
    "wrong_types": {
        "kind": "malformed",
        "at_event": 1,
        "line": '{"type": "output_audio", "audio": 12, "session_id": ["x"]}',
    },
    "binary_frame": {"kind": "binary_frame", "at_event": 1, "hex": "00010203"},
}


@pytest.mark.spec("CLI-ROB-1", "TTS-OUT-2")
@pytest.mark.capability("tts.stream")
@pytest.mark.parametrize("frame", sorted(BROKEN_FRAMES))
def test_broken_frame_fails_the_synthesis_cleanly(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, frame: str
) -> None:
    """A frame that is not JSON, an ``output_audio`` of the wrong types, or a binary frame
    where text is expected, in place of (or before) the first audio: the synthesis ends with
    an error of the APIError family within the timeout; never a hang, another type, or a
    clean end as if nothing happened."""
    outcome, _ = play(
        voicewire_iut,
        voicewire_simulator,
        replying(f"tts-rob-{frame}", {}, [BROKEN_FRAMES[frame]]),
        [[push(FIRST), END_INPUT]],
        conn_options=ROBUST,
        end_timeout=ROBUST_END,
    )
    rob_check(outcome.only, must_fail=True, what=frame.replace("_", " "))


@pytest.mark.spec("CLI-ROB-1", "TTS-OUT-1")
@pytest.mark.capability("tts.stream")
def test_unknown_messages_and_keys_are_ignored(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """``session.created`` replaced by a message of an unknown type with unknown keys: the
    client ignores it, and the synthesis finishes with exactly the server's audio."""
    unknown = '{"type": "session.updated", "session_id": "tts_sess_x", "future": {"a": [1]}}'
    outcome, target = play(
        voicewire_iut,
        voicewire_simulator,
        replying("tts-rob-unknown", {}, [{"kind": "malformed", "at_event": 0, "line": unknown}]),
        [[push(FIRST), END_INPUT]],
        conn_options=ROBUST,
        end_timeout=ROBUST_END,
    )
    synthesis = outcome.only
    expect(
        synthesis.error is None,
        "CLI-ROB-1",
        f"an unknown message type must be ignored, the synthesis ended with "
        f"{error_of(synthesis)}:\n{synthesis.describe()}",
    )
    chunks = of_type(server_messages(voicewire_simulator, target), "output_audio")
    problem = audio_problem(synthesis.audio, chunks)
    expect(problem is None, "TTS-OUT-1", f"{problem}")
