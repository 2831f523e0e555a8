"""Property family for Inworld TTS over HTTP (SPEC §5.1 IW-HTTP-2, IW-HTTP-3).

``inworld-http-answers``: the simulator answers one ``synthesize(text)`` with a generated
NDJSON body (:func:`~.http_strategies.inworld_http_answer_examples`): audio lines of any
length, timestamp lines with or without audio (words or characters, non-ASCII ones too, as
UTF-8 or ``\\u`` escapes), blank, whitespace and unparseable lines, messages that are neither
``result`` nor ``error``, ``\\n`` or ``\\r\\n`` line ends, a last line with or without its
newline, all cut into writes at arbitrary bytes (inside a line, a base64 run, a line end or a
UTF-8 character). The synthesis finishes; the audio it emits is the server's audio lines
concatenated, byte for byte (IW-HTTP-2); its timed texts are the server's arrays, entry by
entry, line by line in order (IW-HTTP-3). What the server sent is read back from the journal.

Examples are plain JSON, so a failing one replays with ``--voicewire-replay``.
"""

from __future__ import annotations

from typing import Any

import pytest
from voicewire.harness.driver import IUTDriver
from voicewire.harness.replay import classify, property_family
from voicewire.harness.runtime import CaseSimulator
from voicewire.harness.verdicts import expect, require

from .http_log import (
    ONE_ATTEMPT,
    inworld_audio_problem,
    raw_synthesis_scenario,
    served_timed_texts,
    synthesis_answers,
    timed_texts_problem,
)
from .http_strategies import inworld_http_answer_examples, ndjson_answer_pieces

ANSWER_BOUNDARIES = [
    # One audio line, whole, in one write, no timestamps.
    {
        "sample_rate": 24000,
        "timestamp_type": "WORD",
        "lines": [{"kind": "result", "samples": 1, "seed": 0, "timestamps": None}],
        "ascii": True,
        "compact": True,
        "line_end": "\n",
        "final_newline": True,
        "cuts": [],
        "utf8_cuts": False,
    },
    # Non-ASCII characters as UTF-8, each cut inside, the last CR LF cut, a
    # timestamp-only line, lines to skip, an unknown message, no newline at the end.
    {
        "sample_rate": 16000,
        "timestamp_type": "CHARACTER",
        "lines": [
            {"kind": "skip", "text": ""},
            {
                "kind": "result",
                "samples": 333,
                "seed": 7,
                "timestamps": [["c", 0.0, 0.05], ["é", 0.05, 0.1]],
            },
            {"kind": "skip", "text": "{"},
            {"kind": "result", "samples": 0, "seed": 0, "timestamps": [["日", 0.1, 0.4]]},
            {"kind": "unknown", "text": '{"status": {"code": 0, "message": "ok"}}'},
            {"kind": "result", "samples": 801, "seed": 8, "timestamps": None},
        ],
        "ascii": False,
        "compact": False,
        "line_end": "\r\n",
        "final_newline": False,
        "cuts": [1, 2, 3, 4, 5, 6, 7, 8, 9999],
        "utf8_cuts": True,
    },
]
"""The shallow edges of the family, run every time before the generated ones."""


@pytest.mark.spec("IW-HTTP-2", "IW-HTTP-3")
@pytest.mark.capability("inworld.tts.http")
@property_family(
    "inworld-http-answers",
    inworld_http_answer_examples(),
    max_examples=15,
    boundaries=ANSWER_BOUNDARIES,
)
def test_inworld_http_answers(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, example: dict[str, Any]
) -> None:
    """Any NDJSON answer, cut anywhere: the synthesis finishes with the server's audio and
    timed texts exactly."""
    pieces = ndjson_answer_pieces(example)
    target = voicewire_simulator.session(raw_synthesis_scenario("iw-http-answers", pieces))
    outcome = voicewire_iut.inworld_synthesize(
        target=target,
        text="Hello there.",
        sample_rate=example["sample_rate"],
        timestamp_type=example["timestamp_type"],
        conn_options=ONE_ATTEMPT,
    )
    synthesis = outcome.only
    answers = synthesis_answers(voicewire_simulator, target)
    require(
        len(answers) == 1,
        "IW-HTTP-2",
        f"one synthesis makes one request; the server received {len(answers)}",
    )
    lines = answers[0].lines
    kinds = sorted({line.kind for line in lines})
    classify(f"{len(pieces)} writes, lines {'+'.join(kinds)}")
    require(
        not {"malformed", "error"} & set(kinds),
        "IW-HTTP-2",
        f"the example's answer is not the family's premise: lines {kinds}",
    )
    require(
        synthesis.error is None,
        "IW-HTTP-2",
        f"an answer of audio, timestamps and lines to skip must finish; the synthesis ended "
        f"with {synthesis.error}:\n{synthesis.describe()}",
    )
    problem = inworld_audio_problem(synthesis.audio, lines)
    expect(problem is None, "IW-HTTP-2", f"{problem}\n{synthesis.describe()}")
    problem = timed_texts_problem(synthesis.timed_texts, served_timed_texts(lines))
    expect(problem is None, "IW-HTTP-3", f"{problem}")
