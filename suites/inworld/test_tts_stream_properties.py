"""Property families for Inworld TTS over WebSocket (SPEC §5.2): concurrent streams as
contexts, and the failures of some of them.

``inworld-contexts``: one to five concurrent streams, sometimes six
(:func:`~.contexts_strategies.interleaving_examples`), each a generated text pushed in pieces
cut anywhere, with or without a flush after each, their pushes interleaved at random on one
TTS, under either model, with word timestamps or none. Every stream completes; its frames'
segment id is the ``contextId`` it created, distinct from every other stream's, and its
audio is exactly its own context's audio, in order (IW-WS-5); with word timestamps, its timed
words are the words the server spoke for it, their times increasing throughout (across the
flushes after which the server restarts them) and within the audio (IW-WS-5); no socket ever
carries more than five open contexts (IW-WS-2).

``inworld-context-faults``: two to four streams, each heard before the next opens
(:func:`~.contexts_strategies.context_fault_examples`); some contexts get a failing status at
their first audio, and perhaps the socket then closes with the others open. Exactly the
failed contexts' streams fail, with an error of the APIError family (an
``APIConnectionError`` for a socket's close); the others complete with all their audio
(IW-WS-4, IW-WS-5).

Examples are plain JSON, so a failing one replays with ``--voicewire-replay``.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from voicewire.harness.driver import IUTDriver
from voicewire.harness.inworld import InworldTTSOutcome
from voicewire.harness.iut import ConnOptions
from voicewire.harness.replay import property_family
from voicewire.harness.runtime import CaseSimulator
from voicewire.harness.verdicts import expect, require
from voicewire.suites.inworld.contexts_log import (
    ONE_ATTEMPT,
    context_audio_problems,
    context_client_messages,
    contexts_scenario,
    open_contexts_peak,
    spoken_words,
)
from voicewire.suites.inworld.contexts_strategies import (
    context_fault_examples,
    interleaving_examples,
)
from voicewire.suites.tts.strategies import tone_samples

API_ERRORS = {"APIError", "APIStatusError", "APIConnectionError", "APITimeoutError"}
SHORT = ConnOptions(max_retry=0, retry_interval=0.0, timeout=1.5)


def _described(outcome: InworldTTSOutcome) -> str:
    return outcome.describe(60)


def _interleaved_script(example: dict[str, Any]) -> list[dict[str, Any]]:
    """The pushes in the example's order, a flush after a piece that asks for one, each
    stream's end of input after its last piece."""
    streams = example["streams"]
    taken = [0] * len(streams)
    script: list[dict[str, Any]] = []
    for stream in example["order"]:
        piece = streams[stream][taken[stream]]
        taken[stream] += 1
        script.append({"op": "push_text", "stream": stream, "text": piece["text"]})
        if piece["flush"]:
            script.append({"op": "flush", "stream": stream})
        if taken[stream] == len(streams[stream]):
            script.append({"op": "end_input", "stream": stream})
    return script


def timed_words_problems(outcome: InworldTTSOutcome, client: list[dict[str, Any]]) -> list[str]:
    """IW-WS-5 on each completed stream's timed words: the words its context was spoken
    with (:func:`~.contexts_log.spoken_words`), in order, start and end times increasing,
    none past the stream's audio."""
    problems = []
    for index, synthesis in enumerate(outcome.syntheses):
        if synthesis.error is not None or len(synthesis.segment_ids) != 1:
            continue
        words = synthesis.timed_texts
        want = spoken_words(client, synthesis.segment_ids[0])
        got = [w.text.strip() for w in words]
        if got != want:
            problems.append(f"stream {index}: timed words {got}, the server spoke {want}")
            continue
        for before, after in pairwise(words):
            if not (after.start_time > before.start_time and after.end_time > before.end_time):
                problems.append(
                    f"stream {index}: {after.text!r} at {after.start_time:.3f}-"
                    f"{after.end_time:.3f} s does not follow {before.text!r} at "
                    f"{before.start_time:.3f}-{before.end_time:.3f} s"
                )
                break
        late = [w.text for w in words if w.end_time > synthesis.duration + 1e-3]
        if late:
            problems.append(
                f"stream {index}: words timed past its audio ({synthesis.duration:.3f} s): {late}"
            )
    return problems


# -- inworld-contexts -------------------------------------------------------------------------

CONTEXT_BOUNDARIES = [
    # Six streams each open before any ends: a sixth context must not join the five.
    {
        "streams": [[{"text": f"Stream {n} is here.", "flush": True}] for n in range(6)],
        "order": [0, 1, 2, 3, 4, 5],
        "model": "inworld-tts-1.5-max",
        "timestamp_type": "WORD",
        "sample_rate": 8000,
        "reply": {"chunk_duration": 0.5, "gap": 0.0},
    },
    # inworld-tts-2: flushes inside a word and after a sentence; times restart per flush.
    {
        "streams": [
            [
                {"text": "Good morn", "flush": True},
                {"text": "ing to you. See", "flush": True},
                {"text": " you.", "flush": False},
            ],
            [{"text": "Hello there.", "flush": True}, {"text": " Bye now.", "flush": False}],
        ],
        "order": [0, 1, 0, 1, 0],
        "model": "inworld-tts-2",
        "timestamp_type": "WORD",
        "sample_rate": 16000,
        "reply": {"chunk_duration": 0.0137, "gap": 0.4},
    },
]
"""The shallow edges of the family, run every time before the generated ones."""


@pytest.mark.spec("IW-WS-2", "IW-WS-5")
@pytest.mark.capability("inworld.tts.stream")
@property_family(
    "inworld-contexts", interleaving_examples(), max_examples=8, boundaries=CONTEXT_BOUNDARIES
)
def test_inworld_contexts(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, example: dict[str, Any]
) -> None:
    """Concurrent streams with interleaved pushes and flushes each emit exactly their own
    context's audio and timed words under their own contextId; at most five contexts are
    open on a socket."""
    target = voicewire_simulator.session(contexts_scenario("inworld-contexts", example["reply"]))
    fields: dict[str, Any] = {"model": example["model"], "sample_rate": example["sample_rate"]}
    if example["timestamp_type"] is not None:
        fields["timestamp_type"] = example["timestamp_type"]
    outcome = voicewire_iut.inworld_speak(
        target=target,
        script=_interleaved_script(example),
        conn_options=ONE_ATTEMPT,
        end_timeout=8.0,
        **fields,
    )
    failed = [i for i, s in enumerate(outcome.syntheses) if s.error is not None]
    require(not failed, "IW-WS-5", f"every stream must complete:\n{_described(outcome)}")
    peaks = open_contexts_peak(voicewire_simulator, target)
    expect(
        all(peak <= 5 for peak in peaks.values()),
        "IW-WS-2",
        f"a socket carries at most 5 open contexts: the most open at once per socket were {peaks}",
    )
    problems = context_audio_problems(outcome, voicewire_simulator, target)
    if example["timestamp_type"] == "WORD":
        client = context_client_messages(voicewire_simulator, target)
        problems += timed_words_problems(outcome, client)
    expect(not problems, "IW-WS-5", "\n".join(problems) + f"\n{_described(outcome)}")


# -- inworld-context-faults -------------------------------------------------------------------

_CHUNK = 0.5
_RATE = 8000


def _fault_scenario(example: dict[str, Any]) -> Any:
    """The failing statuses, and the close: right after the last stream's audio (or failing
    status) was sent, when every context was created and none has ended."""
    reply = {"chunk_duration": _CHUNK, "failed_contexts": example["failed"]}
    faults = []
    if example["close"]:
        # Events, as the streams open in turn: each context's contextCreated, then its audio
        # chunks, or the failing status sent instead of them.
        events = 0
        for index, text in enumerate(example["texts"]):
            events += 1
            if index in example["failed"]:
                events += 1
            else:
                events += -(-tone_samples(text, _RATE) // round(_CHUNK * _RATE))
        # A close comes after the event it is placed at.
        faults.append({"kind": "ws_close", "code": 1011, "at_event": events - 1, "attempt": 1})
    return contexts_scenario("inworld-context-faults", reply, faults)


@pytest.mark.spec("IW-WS-4", "IW-WS-5")
@pytest.mark.capability("inworld.tts.stream")
@property_family("inworld-context-faults", context_fault_examples(), max_examples=6)
def test_inworld_context_faults(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, example: dict[str, Any]
) -> None:
    """Contexts that get a failing status fail their streams only; a socket's close fails
    every stream still open with an ``APIConnectionError``; the others complete with all
    their audio."""
    texts, failed, close = example["texts"], set(example["failed"]), example["close"]
    script: list[dict[str, Any]] = []
    for index, text in enumerate(texts):
        # Each stream is heard (audio, or its end) before the next opens: the contexts are
        # numbered in stream order.
        event = "end" if index in failed else "audio"
        script += [
            {"op": "push_text", "stream": index, "text": text},
            {"op": "flush", "stream": index},
            {"op": "wait_event", "stream": index, "event": event, "timeout": 3.0},
        ]
    script += [{"op": "end_input", "stream": index} for index in range(len(texts))]
    target = voicewire_simulator.session(_fault_scenario(example))
    outcome = voicewire_iut.inworld_speak(
        target=target,
        script=script,
        sample_rate=_RATE,
        conn_options=SHORT,
        end_timeout=5.0,
    )
    problems = []
    for index, synthesis in enumerate(outcome.syntheses):
        error = synthesis.error
        if index in failed:
            if error is None or error.kind not in API_ERRORS:
                problems.append(
                    f"stream {index}'s context got a failing status: it must fail with an "
                    f"APIError, it ended with {error.kind if error else 'no error'}"
                )
        elif close:
            if error is None or error.kind != "APIConnectionError":
                problems.append(
                    f"stream {index} was open when the socket closed: it must fail with "
                    f"APIConnectionError, it ended with {error.kind if error else 'no error'}"
                )
        elif error is not None:
            problems.append(
                f"stream {index}'s context did not fail: it must complete, it ended with "
                f"{error.kind}: {error.message}"
            )
    expect(not problems, "IW-WS-4", "\n".join(problems) + f"\n{_described(outcome)}")
    if not close:
        fine = [i for i in range(len(texts)) if i not in failed]
        audio = context_audio_problems(outcome, voicewire_simulator, target, fine)
        expect(not audio, "IW-WS-5", "\n".join(audio) + f"\n{_described(outcome)}")
