"""Hostile Inworld servers for Inworld clients: hypothesis strategies whose examples are plain
JSON data, one family per client operation (SPEC §5, §6a CLI-ROB-1).

**HTTP synthesis** (:func:`hostile_inworld_ndjson`, operation ``inworld.tts.http``): the exact
answer a broken, hostile or newer server writes to ``POST /tts/v1/voice:stream``, played by a
``raw`` rule (:func:`inworld_ndjson_scenario`)::

    {
      "family": "ndjson_wrong_shape",
      "what": "a line {\\"result\\": 7} after 1 audio line",
      "status": 200,
      "body": [{"text": "{\\"result\\": {\\"audioContent\\": \\"AAEC\\"}}\\n"}, {"hex": "ff0a"}],
      "end": "close",                  # close: the body ends cleanly; reset: TCP reset
      "timeout": 2.0,                  # the client's conn_options.timeout
      "expect": {"outcome": "error", "kind": "APIConnectionError", "rule": "CLI-ROB-1",
                 "audio": ["AAEC"]}    # the well-formed audio before the hostile place
    }

IW-HTTP-2 decides: blank and unparseable lines are skipped (the synthesis completes with every
``result``'s audio, in order, bytes exact), an ``error`` line or a non-2xx answer is an
``APIStatusError``; CLI-ROB-1 the rest: JSON of the wrong shape or types is an error of the
APIError family (malformed data: ``APIConnectionError``), unknown keys and lines that are
neither ``result`` nor ``error`` are ignored, a body reset mid-line is an error, and no answer
for ``timeout`` never hangs the synthesis. A last line without a newline is still a line.

**Contexts** (:func:`hostile_inworld_contexts`, operation ``inworld.tts.stream``): as the
LiveKit TTS family's examples, ``slots`` are the exact text frames of each reply of one
context, in order (``contextCreated``, ``places`` audio chunks, ``flushCompleted``,
``contextClosed``), where ``{contextId}`` stands for the context the client created; the
simulator's ``inworld.contexts`` endpoint cuts one letter's tone code into ``places`` chunks and
a ``malformed`` fault replaces each reply with its slot (:func:`inworld_contexts_scenario`).
``faults`` adds the rest of the vocabulary (``binary_frame``, ``ws_close`` with any code,
``disconnect`` resets, ``stall``), ``reply`` fields of the endpoint (a failing ``status`` of any
code for one context while another is open). ``expect`` has one entry per stream. IW-WS-4
decides: ``contextClosed`` completes a stream, a failing status fails only its context, a
socket close before ``contextClosed`` fails the open contexts with an ``APIConnectionError``;
CLI-ROB-1 the rest (replies about an unknown ``contextId`` and unknown keys are ignored).

**STT** (:func:`hostile_inworld_transcripts`, operation ``inworld.stt.stream``): ``slots`` are the
exact text frames of a stream of ``len(slots) // 2`` utterances (``speechStarted``, then the
final), placed on the audio clock by :func:`inworld_transcribe_scenario`; ``expect.finals`` the
well-formed finals' texts. An error frame is an ``APIStatusError``; a close before
``closeStream`` a retryable error (IW-STT-END-1, SHOULD); the rest as CLI-ROB-1 says.

Every strategy's examples shrink towards short answers.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st
from voicewire.reference.tone_code import encode_tone
from voicewire.suites.robustness.stt_streams import API_ERRORS, CLOSE_CODES

__all__ = [
    "API_ERRORS",
    "CLOSE_CODES",
    "CONTEXT_RATE",
    "HOSTILE_INWORLD_CONTEXT_BOUNDARIES",
    "HOSTILE_INWORLD_NDJSON_BOUNDARIES",
    "HOSTILE_INWORLD_TRANSCRIPT_BOUNDARIES",
    "INWORLD_ERROR_CODES",
    "INWORLD_NOT_JSON",
    "INWORLD_WRONG_SHAPES",
    "context_closed",
    "context_hostile_reply",
    "context_silence",
    "context_status_beside",
    "context_unknown",
    "hostile_inworld_contexts",
    "hostile_inworld_ndjson",
    "hostile_inworld_transcripts",
    "inworld_contexts_scenario",
    "inworld_example_audio",
    "inworld_ndjson_scenario",
    "inworld_transcribe_audio_seconds",
    "inworld_transcribe_scenario",
    "ndjson_error_line",
    "ndjson_framing",
    "ndjson_huge_line",
    "ndjson_silence",
    "ndjson_skipped_line",
    "ndjson_status",
    "ndjson_unknown",
    "ndjson_wrong_shape",
    "transcript_closed",
    "transcript_hostile",
    "transcript_unknown",
]

_TIMEOUT = 2.0
_SILENCE_TIMEOUT = 0.25
# A silence lasts four timeouts: a late timer still meets silence.
_SILENCE_FACTOR = 4.0
AUDIO_SIZES = [2, 480, 4800]


def _dump(value: Any) -> str:
    # Not ASCII-only: a server may send UTF-8 as it is.
    return json.dumps(value, ensure_ascii=False)


def _pcm(size: int, seed: int) -> bytes:
    """``size`` bytes of PCM, different for each ``seed``, so lost or reordered audio shows."""
    return bytes((seed * 37 + index * 7) % 256 for index in range(size))


def _b64(pcm: bytes) -> str:
    return base64.b64encode(pcm).decode("ascii")


def inworld_example_audio(pieces: Sequence[str]) -> bytes:
    """The audio an expectation's base64 ``pieces`` stand for."""
    return b"".join(base64.b64decode(p) for p in pieces)


def _expect(
    outcome: str, audio: Sequence[str] | None, kind: str | None = None, rule: str = "CLI-ROB-1"
) -> dict[str, Any]:
    return {
        "outcome": outcome,
        "kind": kind,
        "rule": rule,
        "audio": None if audio is None else list(audio),
    }


# -- HTTP: NDJSON answers (IW-HTTP-2, CLI-ROB-1) ------------------------------------------------


def _result(pcm: bytes) -> str:
    return _dump({"result": {"audioContent": _b64(pcm)}}) + "\n"


def _lines(sizes: Sequence[int], seed: int = 0) -> tuple[list[str], list[str]]:
    """``result`` lines of ``sizes`` bytes of audio, and their base64 pieces."""
    pcms = [_pcm(size, seed + index) for index, size in enumerate(sizes)]
    return [_result(p) for p in pcms], [_b64(p) for p in pcms if p]


def _ndjson(
    family: str,
    what: str,
    body: Sequence[dict[str, Any] | str],
    expect: dict[str, Any],
    *,
    status: int = 200,
    end: str = "close",
    timeout: float = _TIMEOUT,
) -> dict[str, Any]:
    """An example; a body piece that is a string is written as its UTF-8 text."""
    return {
        "family": family,
        "what": what,
        "status": status,
        "body": [{"text": piece} if isinstance(piece, str) else dict(piece) for piece in body],
        "end": end,
        "timeout": timeout,
        "expect": expect,
    }


def inworld_ndjson_scenario(example: dict[str, Any], name: str = "hostile-inworld-http") -> dict:
    """The scenario (a dict) whose one rule answers every synthesis with ``example``."""
    headers = {"Content-Type": "application/x-ndjson"} if example["status"] < 300 else {}
    return {
        "name": name,
        # time_scale 1: a sleep is real seconds, measured against the client's timeout.
        "time_scale": 1.0,
        "rules": [
            {
                "match": {"endpoint": "inworld.synthesize"},
                "raw": {
                    "status": example["status"],
                    "headers": headers,
                    "body": example["body"],
                    "end": example["end"],
                },
            }
        ],
    }


INWORLD_NOT_JSON = [
    "",
    "   ",
    "not json",
    "{'result': {}}",
    '{"result": {"audioContent": "AAAA"}',
    '{"result": {"audioContent": "AAAA"}}}',
    '{"result": {"audioContent": NaN}}',
    "<html><body>502 Bad Gateway</body></html>",
    "data: {}",
]
"""Lines that are blank or not JSON: skipped (IW-HTTP-2)."""


def ndjson_skipped_line(line: str, before: Sequence[int] = (480,)) -> dict[str, Any]:
    """A blank or unparseable line (or bytes that are no UTF-8, ``line`` ``"hex:<hex>"``)
    between audio lines: skipped, the synthesis completes with all the audio (IW-HTTP-2)."""
    head, head_audio = _lines(before)
    tail, tail_audio = _lines([480], seed=50)
    piece: dict[str, Any] | str
    if line.startswith("hex:"):
        piece = {"hex": line.removeprefix("hex:") + "0a"}
        shown = f"bytes {line.removeprefix('hex:')} (no UTF-8)"
    else:
        piece, shown = line + "\n", repr(line[:40])
    return _ndjson(
        "ndjson_skipped",
        f"a line {shown} after {len(head)} audio line(s)",
        [*head, piece, *tail],
        _expect("complete", head_audio + tail_audio, rule="IW-HTTP-2"),
    )


INWORLD_WRONG_SHAPES = [
    "[1, 2]",
    "7",
    '"result"',
    "null",
    '{"result": 7}',
    '{"result": "AAAA"}',
    '{"result": []}',
    '{"result": {"audioContent": 12}}',
    '{"result": {"audioContent": ["AAAA"]}}',
    '{"result": {"audioContent": "not base64!"}}',
    '{"result": {"audioContent": "AAA"}}',
    '{"result": {"audioContent": "AAAA", "timestampInfo": 7}}',
    '{"result": {"audioContent": "AAAA", "timestampInfo": {"wordAlignment": {"words": ["a"],'
    ' "wordStartTimeSeconds": ["0"], "wordEndTimeSeconds": [0.1]}}}}',
    '{"result": {"audioContent": "AAAA", "timestampInfo": {"wordAlignment": {"words": "a",'
    ' "wordStartTimeSeconds": [0], "wordEndTimeSeconds": [0.1]}}}}',
    '{"error": "quota"}',
    '{"error": [500]}',
]
"""JSON of the wrong shape or types for a line a client reads."""


def ndjson_wrong_shape(line: str, before: Sequence[int] = ()) -> dict[str, Any]:
    """A line of the wrong shape after audio lines: an error of the family (malformed data is
    an ``APIConnectionError``; a malformed ``error`` line is an error either way), with at most
    the audio before it."""
    head, audio = _lines(before)
    tail, _ = _lines([480], seed=60)
    kind = None if line.startswith('{"error"') else "APIConnectionError"
    return _ndjson(
        "ndjson_wrong_shape",
        f"a line {line[:60]} after {len(head)} audio line(s)",
        [*head, line + "\n", *tail],
        _expect("error", audio, kind=kind),
    )


INWORLD_ERROR_CODES: list[Any] = [3, 5, 8, 13, 14, 400, 429, 500, 0, -1, 2**31, "absent", None]
"""Codes of an ``error`` line: gRPC, HTTP, zero, negative, huge, missing, null."""


def ndjson_error_line(code: Any, before: Sequence[int] = (), extra: bool = False) -> dict[str, Any]:
    """An ``error`` line with ``code`` (and unknown keys when ``extra``) after audio lines: the
    synthesis fails (IW-HTTP-2: an ``APIStatusError`` with its code; a code that is no integer
    may be taken as malformed data, any error of the family)."""
    head, audio = _lines(before)
    tail, _ = _lines([480], seed=70)
    error: dict[str, Any] = {"message": "hostile"}
    if code != "absent":
        error["code"] = code
    if extra:
        error |= {"details": [{"reason": "x"}], "status": "UNAVAILABLE"}
    well_typed = isinstance(code, int) and -(2**63) <= code < 2**63
    return _ndjson(
        "ndjson_error",
        f"an error line with code {code}{' and unknown keys' if extra else ''} "
        f"after {len(head)} audio line(s)",
        [*head, _dump({"error": error}) + "\n", *tail],
        _expect(
            "error",
            audio,
            kind="APIStatusError" if well_typed else None,
            rule="IW-HTTP-2" if well_typed else "CLI-ROB-1",
        ),
    )


_UNKNOWN_LINES = [
    '{"status": {"code": 0}}',
    '{"usage": {"characters": 3}, "traceId": "t"}',
    "{}",
]


def ndjson_unknown(where: str, before: Sequence[int] = (480,)) -> dict[str, Any]:
    """Unknown keys (``where``: ``top``, ``result``, ``timestampInfo``) on every audio line, or
    (``line:<n>``) a line that is neither ``result`` nor ``error``: ignored, the synthesis
    completes with all the audio (CLI-ROB-1)."""
    pcms = [_pcm(size, 80 + index) for index, size in enumerate([*before, 480])]
    body: list[str] = []
    for pcm in pcms:
        result: dict[str, Any] = {"audioContent": _b64(pcm)}
        line: dict[str, Any] = {"result": result}
        if where == "top":
            line["traceId"] = "t-1"
        elif where == "result":
            result["usage"] = {"characters": 1}
        elif where == "timestampInfo":
            result["timestampInfo"] = {"phonemes": [], "wordAlignment": None}
        body.append(_dump(line) + "\n")
    what = f"unknown keys in {where} on every line"
    if where.startswith("line:"):
        stray = _UNKNOWN_LINES[int(where.removeprefix("line:")) % len(_UNKNOWN_LINES)]
        body.insert(len(before), stray + "\n")
        what = f"a line {stray} between audio lines"
    return _ndjson("ndjson_unknown", what, body, _expect("complete", [_b64(p) for p in pcms if p]))


_FRAMINGS = ["no_newline", "crlf", "split", "cut_clean", "cut_reset", "reset_after"]


def ndjson_framing(kind: str, before: Sequence[int] = (480,)) -> dict[str, Any]:
    """How the body's bytes are framed: the last line without a newline (still a line), CRLF
    endings, every line split across writes (IW-HTTP-2: complete, audio exact); the body cut
    mid-line and ended cleanly (the cut line is unparseable: skipped, IW-HTTP-2) or reset (an
    error of the family); a reset after the last line (either)."""
    sizes = [*before, 480]
    lines, audio = _lines(sizes, seed=90)
    expect = _expect("complete", audio, rule="IW-HTTP-2")
    body: list[dict[str, Any] | str] = list(lines)
    end = "close"
    if kind == "no_newline":
        body[-1] = lines[-1].rstrip("\n")
    elif kind == "crlf":
        body = [line.replace("\n", "\r\n") for line in lines]
    elif kind == "split":
        body = [piece for line in lines for piece in (line[:7], line[7:-3], line[-3:])]
    elif kind in ("cut_clean", "cut_reset"):
        body[-1] = lines[-1][: len(lines[-1]) // 2]
        if kind == "cut_clean":
            expect = _expect("complete", audio[:-1], rule="IW-HTTP-2")
            if not audio[:-1]:
                # No audio at all: a client may call it an error (upstream does).
                expect["outcome"] = "either"
        else:
            end = "reset"
            expect = _expect("error", audio[:-1])
    elif kind == "reset_after":
        end = "reset"
        expect = _expect("either", audio)
    else:
        raise ValueError(f"no framing {kind!r}")
    return _ndjson(
        "ndjson_framing", f"{kind} after {len(before)} audio line(s)", body, expect, end=end
    )


def ndjson_huge_line(kind: str, size: int = 1 << 20) -> dict[str, Any]:
    """A line of about ``size`` bytes: audio (``audio``: a client takes it whole) or no JSON
    (``not_json``: skipped); an audio line follows."""
    tail, tail_audio = _lines([480], seed=95)
    if kind == "audio":
        pcm = bytes(size // 4 * 3)
        line, audio = _result(pcm), [_b64(pcm), *tail_audio]
    else:
        line, audio = "x" * size + "\n", tail_audio
    return _ndjson(
        "ndjson_huge",
        f"a {kind} line of {len(line)} bytes",
        [line, *tail],
        _expect("complete", audio, rule="IW-HTTP-2"),
    )


_STATUS_BODIES = {
    "json": '{"code": 3, "message": "bad request"}',
    "html": "<html>boom</html>",
    "empty": "",
    "ndjson": '{"result": {"audioContent": "AAAA"}}\n',
}


def ndjson_status(status: int, body: str) -> dict[str, Any]:
    """A non-2xx answer with a body of ``body``'s kind: an ``APIStatusError`` (IW-HTTP-2), no
    audio even where the body looks like some."""
    return _ndjson(
        "ndjson_status",
        f"HTTP {status} with a {body} body",
        [_STATUS_BODIES[body]] if _STATUS_BODIES[body] else [],
        _expect("error", [], kind="APIStatusError", rule="IW-HTTP-2"),
        status=status,
    )


def ndjson_silence(before: Sequence[int] = ()) -> dict[str, Any]:
    """No byte for four timeouts after ``before`` audio lines: the synthesis ends with an error
    of the family within its timeout, never a hang (LLM-ROB-3 through CLI-ROB-1)."""
    head, audio = _lines(before)
    tail, _ = _lines([480], seed=99)
    seconds = round(_SILENCE_TIMEOUT * _SILENCE_FACTOR, 3)
    return _ndjson(
        "ndjson_silence",
        f"no byte for {seconds} s after {len(head)} audio line(s) (timeout {_SILENCE_TIMEOUT} s)",
        [*head, {"sleep": seconds}, *tail],
        _expect("error", audio),
        timeout=_SILENCE_TIMEOUT,
    )


_befores = st.lists(st.sampled_from(AUDIO_SIZES), max_size=2)


def hostile_inworld_ndjson() -> st.SearchStrategy[dict[str, Any]]:
    """Answers to an HTTP synthesis that break IW-HTTP-2 or test what it lets pass."""
    return st.one_of(
        st.builds(
            ndjson_skipped_line,
            st.sampled_from([*INWORLD_NOT_JSON, "hex:ff", "hex:c328"]),
            _befores,
        ),
        st.builds(ndjson_wrong_shape, st.sampled_from(INWORLD_WRONG_SHAPES), _befores),
        st.builds(ndjson_error_line, st.sampled_from(INWORLD_ERROR_CODES), _befores, st.booleans()),
        st.builds(
            ndjson_unknown,
            st.sampled_from(["top", "result", "timestampInfo", "line:0", "line:1", "line:2"]),
            _befores,
        ),
        st.builds(ndjson_framing, st.sampled_from(_FRAMINGS), _befores),
        st.builds(
            ndjson_status,
            st.sampled_from([400, 401, 404, 429, 500, 502, 503, 599]),
            st.sampled_from(sorted(_STATUS_BODIES)),
        ),
    )


HOSTILE_INWORLD_NDJSON_BOUNDARIES = [
    ndjson_skipped_line("", before=()),
    ndjson_skipped_line("hex:ff"),
    ndjson_wrong_shape('{"result": 7}'),
    ndjson_wrong_shape('{"result": {"audioContent": "not base64!"}}', before=[480]),
    ndjson_error_line(14, before=[4800]),
    ndjson_error_line(None),
    ndjson_unknown("result"),
    ndjson_unknown("line:0", before=()),
    ndjson_framing("no_newline"),
    ndjson_framing("cut_clean"),
    ndjson_framing("cut_reset"),
    ndjson_huge_line("audio"),
    ndjson_huge_line("not_json"),
    ndjson_status(503, "json"),
    ndjson_silence(before=[480]),
]
"""One of each kind at its shallow edge: a blank line first, a bad byte, a result that is no
object, an error line with a gRPC code and with none, a body cut mid-line both ways, a line of
a mebibyte, a 503, silence after audio."""


# -- contexts over one WebSocket (IW-WS-4, CLI-ROB-1) ------------------------------------------

CONTEXT_RATE = 24000
"""The client's sample rate in contexts examples."""
_LETTER_MAX_PLACES = 6
_UNKNOWN_CONTEXT = "ctx-not-yours"


@functools.cache
def _letter_samples(rate: int = CONTEXT_RATE) -> int:
    """Samples of one letter's tone code at ``rate`` (every ASCII letter lasts the same)."""
    return len(encode_tone("a", sample_rate=rate).to_bytes()) // 2


def _chunk_duration(places: int) -> float:
    """The ``chunk_duration`` that cuts a letter into exactly ``places`` audio chunks."""
    samples = _letter_samples()
    step = -(-samples // places)
    if -(-samples // step) != places:
        raise ValueError(f"no chunk size cuts {samples} samples into {places} chunks")
    return step / CONTEXT_RATE


def _reply(body: dict[str, Any], cid: str = "{contextId}") -> dict[str, Any]:
    return {"result": {"contextId": cid, **body}}


_OK = {"code": 0, "message": ""}


def _chunk(pcm: bytes, cid: str = "{contextId}") -> dict[str, Any]:
    return _reply({"audioChunk": {"audioContent": _b64(pcm)}}, cid)


def _context_slots(sizes: Sequence[int]) -> tuple[list[Any], list[str]]:
    """The replies of one well-formed context whose audio comes in chunks of ``sizes`` bytes,
    and their base64 pieces."""
    pcms = [_pcm(size, 10 + index) for index, size in enumerate(sizes)]
    slots = [
        _reply({"status": _OK, "contextCreated": {}}),
        *(_chunk(p) for p in pcms),
        _reply({"flushCompleted": {}}),
        _reply({"status": _OK, "contextClosed": {}}),
    ]
    return slots, [_b64(p) for p in pcms if p]


def _slot_audio(slots: Sequence[dict[str, Any]]) -> list[str]:
    """The base64 audio of the well-formed chunks among ``slots``."""
    return [
        s["result"]["audioChunk"]["audioContent"]
        for s in slots
        if "audioChunk" in s["result"] and s["result"]["audioChunk"]["audioContent"]
    ]


def _script(letters: str = "a", hold: bool = False) -> list[dict[str, Any]]:
    """One stream speaking ``letters`` then ending its input; ``hold``: the input's end waits
    for the stream's failure (so a close lands before ``close_context``'s answer)."""
    steps: list[dict[str, Any]] = [{"op": "push_text", "stream": 0, "text": letters}]
    if hold:
        steps += [
            {"op": "flush", "stream": 0},
            {"op": "wait_event", "stream": 0, "event": "end", "timeout": 1.0},
        ]
    return [*steps, {"op": "end_input", "stream": 0}]


def _contexts(
    family: str,
    what: str,
    slots: Sequence[Any],
    expect: Sequence[dict[str, Any]],
    *,
    script: Sequence[dict[str, Any]] | None = None,
    faults: Sequence[dict[str, Any]] = (),
    reply: dict[str, Any] | None = None,
    places: int | None = None,
    timeout: float = _TIMEOUT,
) -> dict[str, Any]:
    """An example; a slot that is a dict is sent as its JSON."""
    if places is None:
        places = len(slots) - 3
    if slots and not 1 <= places <= _LETTER_MAX_PLACES:
        raise ValueError(f"a context has 1..{_LETTER_MAX_PLACES} audio places, not {places}")
    return {
        "family": family,
        "what": what,
        "slots": [slot if isinstance(slot, str) else _dump(slot) for slot in slots],
        "places": places,
        "faults": list(faults),
        "reply": dict(reply or {}),
        "script": list(script if script is not None else _script()),
        "timeout": timeout,
        "expect": list(expect),
    }


def inworld_contexts_scenario(
    example: dict[str, Any], name: str = "hostile-inworld-contexts"
) -> dict[str, Any]:
    """The scenario (a dict) whose one rule plays ``example`` on every contexts socket."""
    replaced = [
        {"kind": "malformed", "at_event": index, "line": slot}
        for index, slot in enumerate(example["slots"])
    ]
    reply = {"chunk_duration": _chunk_duration(example["places"]), **example["reply"]}
    return {
        "name": name,
        "time_scale": 1.0,
        "rules": [
            {
                "match": {"endpoint": "inworld.contexts"},
                "reply": reply,
                "faults": [*replaced, *example["faults"]],
            }
        ],
    }


_HOSTILE_REPLIES: dict[str, Any] = {
    "not JSON": '{"result": {"contextId": ',
    "blank": "",
    "not an object": "[1, 2]",
    "result not an object": '{"result": 7}',
    "contextId not a string": {"result": {"contextId": 7, "audioChunk": {"audioContent": ""}}},
    "audioChunk not an object": _reply({"audioChunk": "AAAA"}),
    "audioContent not a string": _reply({"audioChunk": {"audioContent": 12}}),
    "audioContent not base64": _reply({"audioChunk": {"audioContent": "not base64!"}}),
    "status not an object": _reply({"status": "OK", "contextClosed": {}}),
    "status code not an integer": _reply({"status": {"code": "13"}, "audioChunk": {}}),
    "timestampInfo not an object": _reply(
        {"audioChunk": {"audioContent": "AAAA", "timestampInfo": [1]}}
    ),
}
"""Replies a client cannot read, naming the live context where they name one."""

_STATUS_CODES = [1, 3, 5, 8, 13, 14, 16, 400, 500, -1, 2**31 - 1]


def context_hostile_reply(kind: str, at: int, sizes: Sequence[int] = (480, 4800)) -> dict[str, Any]:
    """The ``at``-th reply of a context (capped: before ``contextClosed``) replaced: with a
    reply it cannot read (a key of :data:`_HOSTILE_REPLIES`), a failing ``status:<code>`` for
    its context, a ``binary`` frame before it, or a ``close:<code>`` / ``reset`` after the
    replies before it. The stream ends with an error of the family (IW-WS-4: a failing status
    is an ``APIError``, a close an ``APIConnectionError``), with at most the audio before."""
    slots, _ = _context_slots(sizes)
    at = max(0, min(at, len(slots) - 1))
    audio = _slot_audio(slots[:at])
    faults: list[dict[str, Any]] = []
    kind_of_error: str | None = None
    rule = "CLI-ROB-1"
    script = None
    if kind in _HOSTILE_REPLIES:
        slots[at] = _HOSTILE_REPLIES[kind]
        what = f"{kind} as reply {at}"
    elif kind.startswith("status:"):
        code = int(kind.removeprefix("status:"))
        slots[at] = _reply({"status": {"code": code, "message": "hostile"}})
        what, rule = f"a failing status {code} as reply {at}", "IW-WS-4"
    elif kind == "binary":
        faults = [{"kind": "binary_frame", "at_event": at, "hex": "00ff"}]
        what = f"a binary frame before reply {at}"
    elif kind.startswith("close:") or kind == "reset":
        script = _script(hold=True)
        if at == 0:
            faults = [{"kind": "drop", "at_event": 0}]
            where = "before any reply"
        else:
            where = f"after {at} replies"
        if kind == "reset":
            faults.append({"kind": "disconnect", "at_event": at - 1 if at else 0, "mode": "reset"})
            what = f"a TCP reset {where}"
        else:
            code = int(kind.removeprefix("close:"))
            faults.append({"kind": "ws_close", "at_event": at - 1 if at else 0, "code": code})
            what, rule, kind_of_error = f"close {code} {where}", "IW-WS-4", "APIConnectionError"
    else:
        raise ValueError(f"no hostile reply {kind!r}")
    if kind in ("not JSON", "binary"):
        kind_of_error = None
    return _contexts(
        "context_hostile",
        what,
        slots,
        [_expect("error", audio, kind=kind_of_error, rule=rule)],
        faults=faults,
        script=script,
    )


_UNKNOWN_REPLIES = [
    "audio of another context",
    "failing status of another context",
    "contextClosed of another context",
    "unknown reply type",
    "unknown keys",
    "status 0 with a message",
]


def context_unknown(kind: str, sizes: Sequence[int] = (480, 4800)) -> dict[str, Any]:
    """A well-formed context with, inserted in place of its ``contextCreated`` extras or as an
    extra key, something the client must ignore (a key of :data:`_UNKNOWN_REPLIES`): replies
    about a context it never created, a reply of a type it does not know, unknown keys, a
    status 0 that carries a message. The stream completes with all its audio (CLI-ROB-1)."""
    slots, audio = _context_slots(sizes)
    chunk_at = 1
    other = {
        "audio of another context": _chunk(_pcm(480, 99), _UNKNOWN_CONTEXT),
        "failing status of another context": _reply(
            {"status": {"code": 13, "message": "x"}}, _UNKNOWN_CONTEXT
        ),
        "contextClosed of another context": _reply(
            {"status": _OK, "contextClosed": {}}, _UNKNOWN_CONTEXT
        ),
        "unknown reply type": _reply({"contextUpdated": {"x": 1}}),
    }
    if kind in other:
        # It takes the place of the first audio chunk, which then goes in the next place.
        first = slots[chunk_at]
        slots[chunk_at] = other[kind]
        slots.insert(chunk_at + 1, first)
    elif kind == "unknown keys":
        for slot in slots:
            slot["usage"] = {"characters": 1}
            slot["result"]["traceId"] = "t-1"
            for value in slot["result"].values():
                if isinstance(value, dict):
                    value["x_vendor"] = [1]
    elif kind == "status 0 with a message":
        for slot in slots[1:-2]:
            slot["result"]["status"] = {"code": 0, "message": "fine", "details": []}
    else:
        raise ValueError(f"no unknown reply {kind!r}")
    return _contexts(
        "context_unknown",
        f"{kind} among a context's replies",
        slots,
        [_expect("complete", audio)],
        places=len(sizes) + (1 if kind in other else 0),
    )


def context_closed(code: int) -> dict[str, Any]:
    """The server closes with ``code`` right after ``contextClosed``: the stream completed
    with all its audio (IW-WS-4)."""
    slots, audio = _context_slots([480, 4800])
    return _contexts(
        "context_closed",
        f"close {code} after contextClosed",
        slots,
        [_expect("complete", audio, rule="IW-WS-4")],
        faults=[{"kind": "ws_close", "at_event": len(slots) - 1, "code": code}],
    )


@functools.cache
def _letter_audio(letter: str) -> str:
    return _b64(encode_tone(letter, sample_rate=CONTEXT_RATE).to_bytes())


def context_status_beside(code: int, message: str = "hostile") -> dict[str, Any]:
    """Two streams on one socket: the second context is answered with a failing status of
    ``code`` while the first is open. Only the second fails (IW-WS-4: ``APIError``); the first
    completes with its letter's audio exactly."""
    script = [
        {"op": "push_text", "stream": 0, "text": "a"},
        {"op": "flush", "stream": 0},
        {"op": "wait_event", "stream": 0, "event": "audio", "timeout": 2.0},
        {"op": "push_text", "stream": 1, "text": "b"},
        {"op": "end_input", "stream": 1},
        {"op": "wait_event", "stream": 1, "event": "end", "timeout": 2.0},
        {"op": "end_input", "stream": 0},
    ]
    return _contexts(
        "context_status",
        f"a failing status {code} ({message!r}) for the second of two open contexts",
        [],
        [
            _expect("complete", [_letter_audio("a")], rule="IW-WS-4"),
            _expect("error", [], rule="IW-WS-4"),
        ],
        script=script,
        reply={"failed_contexts": [1], "status_code": code, "status_message": message},
        places=1,
    )


def context_silence(at: int) -> dict[str, Any]:
    """No reply for four timeouts before the ``at``-th: the stream ends with an error of the
    family within its timeout (CLI-ROB-1), never a hang."""
    slots, _ = _context_slots([480, 4800])
    at = max(0, min(at, len(slots) - 1))
    audio = _slot_audio(slots[:at])
    seconds = round(_SILENCE_TIMEOUT * _SILENCE_FACTOR, 3)
    return _contexts(
        "context_silence",
        f"no reply for {seconds} s before reply {at} (timeout {_SILENCE_TIMEOUT} s)",
        slots,
        [_expect("error", audio)],
        faults=[{"kind": "stall", "at_event": at, "seconds": seconds}],
        timeout=_SILENCE_TIMEOUT,
    )


_sizes = st.lists(st.sampled_from(AUDIO_SIZES), min_size=1, max_size=3)


def hostile_inworld_contexts() -> st.SearchStrategy[dict[str, Any]]:
    """Contexts whose replies break IW-WS-3 or CLI-ROB-1's shapes, fail, close or go quiet, or
    carry what a client ignores."""
    hostile_kinds = st.one_of(
        st.sampled_from(sorted(_HOSTILE_REPLIES)),
        st.sampled_from([f"status:{c}" for c in _STATUS_CODES]),
        st.just("binary"),
        st.sampled_from([f"close:{c}" for c in CLOSE_CODES]),
        st.just("reset"),
    )
    return st.one_of(
        st.builds(context_hostile_reply, hostile_kinds, st.integers(0, 5), _sizes),
        st.builds(context_unknown, st.sampled_from(_UNKNOWN_REPLIES), _sizes),
        st.builds(context_closed, st.sampled_from(CLOSE_CODES)),
        st.builds(
            context_status_beside,
            st.sampled_from(_STATUS_CODES),
            st.sampled_from(["hostile", "", "ошибка 😀"]),
        ),
    )


HOSTILE_INWORLD_CONTEXT_BOUNDARIES = [
    context_hostile_reply("not JSON", 1),
    context_hostile_reply("audioContent not a string", 2),
    context_hostile_reply("status:13", 1),
    context_hostile_reply("binary", 0),
    context_hostile_reply("close:1011", 2),
    context_hostile_reply("close:1000", 0),
    context_unknown("audio of another context"),
    context_unknown("unknown keys"),
    context_closed(1011),
    context_status_beside(13),
    context_silence(1),
]
"""Malformed audio, a failing status, a binary frame first, a close mid-context and before any
reply, another context's audio, unknown keys, a close after ``contextClosed``, a failing
status beside a live context, silence."""


# -- STT (IW-STT-END-1, CLI-ROB-1) -------------------------------------------------------------

_UTTERANCE = 0.1
_PERIOD = 0.2


def _started() -> dict[str, Any]:
    return {"result": {"speechStarted": {}}}


def _final(text: str) -> dict[str, Any]:
    return {"result": {"transcription": {"transcript": text, "isFinal": True}}}


def _transcript_slots(texts: Sequence[str]) -> list[Any]:
    return [m for text in texts for m in (_started(), _final(text))]


def inworld_transcribe_audio_seconds(example: dict[str, Any]) -> float:
    """The audio the client pushes: every utterance's end, and a little more."""
    return round(len(example["slots"]) // 2 * _PERIOD + 0.05, 3)


def inworld_transcribe_scenario(
    example: dict[str, Any], name: str = "hostile-inworld-stt"
) -> dict[str, Any]:
    """The scenario (a dict) whose one rule plays ``example`` on every STT stream: utterance
    ``k`` starts at ``0.05 + 0.2 k`` s and lasts 0.1 s, so its ``speechStarted`` and final
    are messages ``2k`` and ``2k + 1``."""
    segments = [
        {"text": f"segment {k}", "start": round(0.05 + k * _PERIOD, 3), "duration": _UTTERANCE}
        for k in range(len(example["slots"]) // 2)
    ]
    replaced = [
        {"kind": "malformed", "at_event": index, "line": slot}
        for index, slot in enumerate(example["slots"])
    ]
    return {
        "name": name,
        "time_scale": 1.0,
        "rules": [
            {
                "match": {"endpoint": "inworld.transcribe"},
                "reply": {"interim_interval": None, "segments": segments},
                "faults": [*replaced, *example["faults"]],
            }
        ],
    }


def _transcripts(
    family: str,
    what: str,
    slots: Sequence[Any],
    expect: dict[str, Any],
    *,
    faults: Sequence[dict[str, Any]] = (),
    wait_for_error: bool = False,
    timeout: float = _TIMEOUT,
) -> dict[str, Any]:
    if len(slots) % 2:
        raise ValueError("a stream's slots come in pairs: speechStarted, then the final")
    return {
        "family": family,
        "what": what,
        "slots": [slot if isinstance(slot, str) else _dump(slot) for slot in slots],
        "faults": list(faults),
        "wait_for_error": wait_for_error,
        "timeout": timeout,
        "expect": expect,
    }


def _stt_expect(
    outcome: str, finals: Sequence[str], kind: str | None = None, rule: str = "CLI-ROB-1"
):
    return {"outcome": outcome, "kind": kind, "rule": rule, "finals": list(finals)}


_HOSTILE_TRANSCRIPTS: dict[str, Any] = {
    "not JSON": '{"result": {"transcription": ',
    "not an object": "[1, 2]",
    "result not an object": '{"result": 7}',
    "transcription not an object": {"result": {"transcription": "hello"}},
    "transcript not a string": {"result": {"transcription": {"transcript": 5, "isFinal": True}}},
    "isFinal not a boolean": {"result": {"transcription": {"transcript": "x", "isFinal": "yes"}}},
    "voiceProfile not an object": {
        "result": {"transcription": {"transcript": "x", "isFinal": True, "voiceProfile": [1]}}
    },
    "speechStarted not an object": {"result": {"speechStarted": 1}},
    "error not an object": {"error": "bad"},
}


def transcript_hostile(
    kind: str, at: int, texts: Sequence[str] = ("hello", "again")
) -> dict[str, Any]:
    """Message ``at`` of a stream (capped at the last) replaced with one a client cannot read,
    an ``error:<code>`` frame, or preceded by a ``binary`` frame: the stream ends with an error
    of the family (an error frame: ``APIStatusError``), with at most the finals before it."""
    slots = _transcript_slots(texts)
    at = max(0, min(at, len(slots) - 1))
    finals = list(texts[: at // 2])
    faults: list[dict[str, Any]] = []
    error_kind: str | None = None
    if kind in _HOSTILE_TRANSCRIPTS:
        slots[at] = _HOSTILE_TRANSCRIPTS[kind]
        what = f"{kind} as message {at}"
    elif kind.startswith("error:"):
        code = int(kind.removeprefix("error:"))
        slots[at] = {"error": {"code": code, "message": "hostile"}}
        what, error_kind = f"an error frame with code {code} as message {at}", "APIStatusError"
    elif kind == "binary":
        faults = [{"kind": "binary_frame", "at_event": at, "hex": "7b7d"}]
        what = f"a binary frame before message {at}"
    else:
        raise ValueError(f"no hostile message {kind!r}")
    return _transcripts(
        "transcript_hostile",
        what,
        slots,
        _stt_expect("error", finals, kind=error_kind),
        faults=faults,
    )


def transcript_closed(
    code: int | None, after: int, texts: Sequence[str] = ("hello", "again")
) -> dict[str, Any]:
    """The server closes with ``code`` (None: a TCP reset) after ``after`` messages, before
    ``closeStream``: the stream ends in time with the finals before (CLI-ROB-1), and with a
    retryable error (IW-STT-END-1, SHOULD: upstream ends silently)."""
    slots = _transcript_slots(texts)
    after = max(1, min(after, len(slots)))
    if code is None:
        fault = {"kind": "disconnect", "at_event": after - 1, "mode": "reset"}
        what = f"a TCP reset after {after} messages"
    else:
        fault = {"kind": "ws_close", "at_event": after - 1, "code": code}
        what = f"close {code} after {after} messages, before closeStream"
    finals = list(texts[: after // 2])
    return _transcripts(
        "transcript_closed",
        what,
        slots,
        _stt_expect("error", finals, rule="IW-STT-END-1"),
        faults=[fault],
        wait_for_error=True,
    )


_UNKNOWN_TRANSCRIPTS = ["unknown keys", "unknown result", "unknown message", "interim"]


def transcript_unknown(kind: str, texts: Sequence[str] = ("hello", "again")) -> dict[str, Any]:
    """A stream whose messages carry unknown keys, or whose first ``speechStarted`` is
    replaced by a message the client does not know (a result of an unknown kind, a message of
    neither ``result`` nor ``error``, an interim): ignored, the stream completes with every
    final (CLI-ROB-1)."""
    slots = _transcript_slots(texts)
    if kind == "unknown keys":
        for slot in slots:
            slot["usage"] = {"seconds": 1}
            for value in slot["result"].values():
                value["x_vendor"] = {"a": [1]}
    elif kind == "unknown result":
        slots[2] = {"result": {"speechEnded": {}, "offsetMs": 3}}
    elif kind == "unknown message":
        slots[2] = {"usage": {"seconds": 1}}
    elif kind == "interim":
        slots[2] = {"result": {"transcription": {"transcript": "ag", "isFinal": False}}}
    else:
        raise ValueError(f"no unknown message {kind!r}")
    return _transcripts("transcript_unknown", kind, slots, _stt_expect("complete", texts))


_stt_texts = st.lists(
    st.text(alphabet=st.sampled_from("abcdefghij XYZé中😀"), min_size=1, max_size=8).filter(
        lambda t: t.strip() == t and t != ""
    ),
    min_size=2,
    max_size=3,
)


def hostile_inworld_transcripts() -> st.SearchStrategy[dict[str, Any]]:
    """STT streams whose messages break CLI-ROB-1's shapes, end in an error frame or a close,
    or carry what a client ignores."""
    kinds = st.one_of(
        st.sampled_from(sorted(_HOSTILE_TRANSCRIPTS)),
        st.sampled_from([f"error:{c}" for c in (3, 5, 13, 14, 400, 500, 0)]),
        st.just("binary"),
    )
    return st.one_of(
        st.builds(transcript_hostile, kinds, st.integers(0, 5), _stt_texts),
        st.builds(
            transcript_closed, st.sampled_from([*CLOSE_CODES, None]), st.integers(1, 5), _stt_texts
        ),
        st.builds(transcript_unknown, st.sampled_from(_UNKNOWN_TRANSCRIPTS), _stt_texts),
    )


HOSTILE_INWORLD_TRANSCRIPT_BOUNDARIES = [
    transcript_hostile("not JSON", 0),
    transcript_hostile("transcript not a string", 3),
    transcript_hostile("error:14", 2),
    transcript_hostile("binary", 1),
    transcript_closed(1011, 2),
    transcript_closed(None, 1),
    transcript_unknown("unknown keys"),
    transcript_unknown("unknown result"),
]
"""Unreadable first and after a final, an error frame, a binary frame, a close and a reset
mid-stream, unknown keys and kinds."""
