"""Hostile TTS servers for TTS clients: hypothesis strategies whose examples are plain JSON data.

An example is what one connection of a broken, hostile or newer LiveKit TTS server sends
(SPEC §4) and what SPEC §6a CLI-ROB-1 (with §4 TTS-OUT-1 and TTS-OUT-2) requires of a
client that reads it::

    {
      "family": "wrong_type",                    # which builder made it
      "what": "output_audio.session_id is 7",
      "slots": ["{\\"type\\": \\"session.created\\", ...}", "...", "{\\"type\\": \\"done\\", ...}"],
      "faults": [{"kind": "ws_close", "at_event": 1, "code": 1011}],
      "places": 3,                               # output_audio places per synthesis
      "streams": [[{"op": "push_text", "text": "a"}, {"op": "end_input"}]],
      "timeout": 5.0,                            # the client's conn_options.timeout
      "end_timeout": 10.0,                       # seconds a synthesis may take to end
      "expect": [                                # one per synthesis (per script of streams)
        {
          "outcome": "error",                    # error | complete | either
          "kind": "APIConnectionError",          # the error class, when one is required
          "rule": "CLI-ROB-1",                   # the rule the outcome and class come from
          "audio": ["AAEC..."],                  # the well-formed audio: base64 pieces, or
                                                 #   an int: that many zero bytes; null: any
          "segment_id": "tts_sess_hostile"       # every frame's segment id; null: any
        }
      ]
    }

``slots`` are the exact text frames the server sends, one per place of the connection (a
slot ``{"huge": ..., "bytes": n}`` stands for a frame of ``n`` bytes, over every client's
message size limit, built by :func:`tts_scenario`). Every synthesis speaks one letter (a
sentence no client splits: one ``input_transcript``), whose tone-coded audio the simulator
sends in ``places`` chunks, so the connection's places are ``session.created`` (for
``session.create``), then per synthesis ``places`` ``output_audio`` messages (for the
``input_transcript``) and ``done`` (for ``session.flush``); a ``malformed`` fault replaces each
place's message with its slot's text, in order, so the example decides what the client reads
whatever its sentence splitting or flushing. ``faults`` adds the rest of the fault vocabulary
(``binary_frame`` before a slot, ``ws_close`` or ``disconnect`` after one, ``drop``,
``stall``). A client ends its input at once, so it has sent ``session.flush`` before any reply
arrives; a script that holds its input back (``flush``, then a ``wait_event`` before
``end_input``) places replies before the flush.

The strategies:

- :func:`hostile_tts_messages`: messages that are not JSON, not objects, without a usable
  ``type``, of the wrong types or shape for every field a client reads (audio, session ids,
  alignments, errors), audio that is not base64, binary frames, frames over the client's
  message size, ``error`` messages with odd fields, closes with any code at any point, TCP
  resets;
- :func:`unknown_tts_messages`: well-formed syntheses with unknown keys in every message and
  alignment item, and messages of unknown types anywhere (ignored: the synthesis completes
  with all its audio);
- :func:`synthesis_ends`: where ``done`` comes and what breaks the audio's framing: ``done``
  before any audio, ``done`` for a synthesis whose ``session.flush`` was never sent, messages
  after ``done`` (read by the next synthesis on the pooled socket), ``output_audio`` or
  ``done`` without ``session_id`` (the two upstream crash variants, wire capture §9.1), audio
  cut inside a sample, empty audio;
- :func:`tts_silences`: silence longer than the client's timeout at any place of a synthesis
  (TTS-OUT-2: an ``APITimeoutError``).

Every strategy's examples shrink towards short syntheses.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from voicewire.reference.tone_code import encode_tone
from voicewire.suites.robustness.json_values import NON_NULL_JSON_VALUES
from voicewire.suites.robustness.stt_streams import API_ERRORS, CLOSE_CODES
from voicewire.suites.tts.wire_log import RATE

__all__ = [
    "API_ERRORS",
    "AUDIO_SIZES",
    "CLOSE_CODES",
    "ERROR_VARIANTS",
    "HOSTILE_SYNTHESIZE_BOUNDARIES",
    "HOSTILE_TTS_MESSAGE_BOUNDARIES",
    "HUGE_FRAME_BYTES",
    "MISSING_FIELDS",
    "SESSION_ID",
    "SYNTHESIS_END_BOUNDARIES",
    "TTS_MESSAGE_FIELDS",
    "TTS_NOT_AN_OBJECT",
    "TTS_NOT_JSON",
    "TTS_SILENCE_BOUNDARIES",
    "TTS_SILENCE_TIMEOUT",
    "TTS_UNKNOWN_TYPES",
    "UNKNOWN_TTS_MESSAGE_BOUNDARIES",
    "after_done",
    "audio_not_base64",
    "audio_split",
    "expected_audio",
    "hostile_tts_messages",
    "huge_frame",
    "missing_session_id",
    "never_flushed",
    "session_id_on_created_only",
    "synthesis_ends",
    "tts_bad_type",
    "tts_binary_frame_before",
    "tts_closed",
    "tts_error_message",
    "tts_message_not_an_object",
    "tts_message_wrong_type",
    "tts_missing_field",
    "tts_not_json",
    "tts_reset_after",
    "tts_scenario",
    "tts_silence_before",
    "tts_silences",
    "tts_with_unknown",
    "unknown_tts_messages",
]

SESSION_ID = "tts_sess_hostile"
"""The ``session_id`` on every well-formed message of an example: the segment id of every
frame the client emits (TTS-OUT-1)."""

AUDIO_SIZES = [2, 480, 4800, 7202]
"""Bytes of PCM in a well-formed ``output_audio``: one sample, under a 100 ms frame at 24 kHz,
exactly one, and one and a half."""

_DEFAULT_TIMEOUT = 5.0
_END_TIMEOUT = 10.0
# How long a script holding its input back waits for the synthesis to fail or end: a client
# that ignores what it was sent then ends its input.
_HOLD = 1.0
# The most output_audio places a synthesis has: a letter's 6720 samples (24 kHz) are cut into
# up to 28 chunks of equal size but the last.
_MAX_PLACES = 28


# -- well-formed messages ----------------------------------------------------------------------


def _dump(message: Any) -> str:
    # Not ASCII-only: a server may send UTF-8 as it is.
    return json.dumps(message, ensure_ascii=False)


def _pcm(size: int, seed: int) -> bytes:
    """``size`` bytes of PCM, different for each ``seed`` (a place), so audio lost, repeated
    or reordered shows."""
    return bytes((seed * 37 + index * 7) % 256 for index in range(size))


def _b64(pcm: bytes) -> str:
    return base64.b64encode(pcm).decode("ascii")


_ABSENT = object()


def _audio(pcm: bytes, session_id: Any = SESSION_ID) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "output_audio", "audio": _b64(pcm)}
    if session_id is not _ABSENT:
        message["session_id"] = session_id
    return message


def _done(session_id: Any = SESSION_ID) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "done"}
    if session_id is not _ABSENT:
        message["session_id"] = session_id
    return message


def _created(session_id: Any = SESSION_ID) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "session.created"}
    if session_id is not _ABSENT:
        message["session_id"] = session_id
    return message


def _alignment(granularity: str = "words") -> dict[str, Any]:
    if granularity == "chars":
        items = [{"char": "h", "start": 0.0, "end": 0.05}, {"char": "i", "start": 0.05, "end": 0.1}]
    else:
        items = [{"word": "hi", "start": 0.0, "end": 0.1}]
    return {"type": "output_alignment", granularity: items, "session_id": SESSION_ID}


@dataclass(frozen=True)
class _Placed:
    """A well-formed message and the audio it carries."""

    message: dict[str, Any]
    pcm: bytes = b""


_PREFIX_KINDS = ["audio", "alignment"]


def _prefix_message(kind: str, size: int, at: int) -> _Placed:
    if kind == "created":
        return _Placed(_created())
    if kind == "alignment":
        return _Placed(_alignment("chars" if size % 3 else "words"))
    pcm = _pcm(size, at)
    return _Placed(_audio(pcm), pcm)


_prefixes = st.builds(
    lambda created, rest: [("created", 0), *rest] if created else rest,
    st.booleans(),
    st.lists(st.tuples(st.sampled_from(_PREFIX_KINDS), st.sampled_from(AUDIO_SIZES)), max_size=3),
)
"""Well-formed messages a hostile one may follow: (kind, audio bytes) pairs, a
``session.created`` only first."""
_some_prefix = _prefixes.filter(bool)


def _well_formed(prefix: Sequence[Sequence[Any]]) -> list[_Placed]:
    return [_prefix_message(kind, size, at) for at, (kind, size) in enumerate(prefix)]


def _tail(at: int) -> list[_Placed]:
    """Two chunks of audio and ``done`` after ``at`` messages: the rest of a synthesis."""
    first, second = _pcm(480, at), _pcm(4800, at + 1)
    return [_Placed(_audio(first), first), _Placed(_audio(second), second), _Placed(_done())]


def _pieces(placed: Sequence[_Placed]) -> list[Any]:
    """The expected audio of well-formed messages: their base64 pieces."""
    return [_b64(p.pcm) for p in placed if p.pcm]


def expected_audio(pieces: Sequence[Any]) -> bytes:
    """The audio an expectation's ``audio`` pieces stand for: base64 strings, and ints for
    that many zero bytes (a huge frame's)."""
    return b"".join(bytes(p) if isinstance(p, int) else base64.b64decode(p) for p in pieces)


def _script(letter: int = 0, *, hold: bool = False) -> list[dict[str, Any]]:
    """One synthesis of one letter (``a`` for 0), then the input's end; ``hold``: the letter
    is flushed and the end comes only once the synthesis failed or ended, or after
    :data:`_HOLD` seconds."""
    steps: list[dict[str, Any]] = [{"op": "push_text", "text": chr(ord("a") + letter % 26)}]
    if hold:
        steps += [{"op": "flush"}, {"op": "wait_event", "event": "error", "timeout": _HOLD}]
    steps.append({"op": "end_input"})
    return steps


def _expect(
    outcome: str,
    *,
    audio: Sequence[Any] | None,
    kind: str | None = None,
    rule: str = "CLI-ROB-1",
    segment_id: str | None = SESSION_ID,
) -> dict[str, Any]:
    return {
        "outcome": outcome,
        "kind": kind,
        "rule": rule,
        "audio": None if audio is None else list(audio),
        "segment_id": segment_id,
    }


@dataclass(frozen=True)
class _Huge:
    """A frame of ``size`` bytes: a well-formed ``output_audio`` of zeros (``audio``) or the
    start of one, never ended (``not_json``)."""

    kind: str
    size: int


def _example(
    family: str,
    what: str,
    slots: Sequence[Any],
    expect: Sequence[dict[str, Any]],
    *,
    streams: Sequence[Sequence[dict[str, Any]]] | None = None,
    places: int | None = None,
    faults: Sequence[dict[str, Any]] = (),
    timeout: float = _DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """An example; a slot that is a dict is sent as its JSON. Without ``streams``, one
    synthesis; without ``places``, the slots are one synthesis's: all but the first
    (``session.created``'s) and the last (``done``'s) are audio places."""
    if streams is None:
        streams = [_script()]
    if places is None:
        places = len(slots) - 2
    if not 1 <= places <= _MAX_PLACES:
        raise ValueError(f"a synthesis has 1..{_MAX_PLACES} audio places, not {places}")
    if len(expect) != len(streams):
        raise ValueError(f"{len(expect)} expectations for {len(streams)} syntheses")
    return {
        "family": family,
        "what": what,
        "slots": [
            {"huge": slot.kind, "bytes": slot.size}
            if isinstance(slot, _Huge)
            else slot
            if isinstance(slot, str)
            else _dump(slot)
            for slot in slots
        ],
        "faults": list(faults),
        "places": places,
        "streams": [list(script) for script in streams],
        "timeout": timeout,
        "end_timeout": _END_TIMEOUT,
        "expect": list(expect),
    }


def tts_scenario(example: dict[str, Any], name: str = "hostile-tts-stream") -> dict[str, Any]:
    """The scenario (a dict) whose one rule plays ``example`` on every TTS connection."""
    replaced = [
        {"kind": "malformed", "at_event": index, "line": _slot_text(slot)}
        for index, slot in enumerate(example["slots"])
    ]
    return {
        "name": name,
        # time_scale 1: a stall is real seconds, measured against the client's timeout.
        "time_scale": 1.0,
        "rules": [
            {
                "match": {"endpoint": "tts"},
                "reply": {"chunk_duration": _chunk_duration(example["places"])},
                "faults": [*replaced, *example["faults"]],
            }
        ],
    }


@functools.cache
def _letter_samples() -> int:
    """Samples of one letter's tone-coded audio at :data:`RATE` (every ASCII letter lasts
    the same, ``docs/tone-code.md``)."""
    return len(encode_tone("a", sample_rate=RATE).to_bytes()) // 2


def _chunk_duration(places: int) -> float:
    """The simulator's ``chunk_duration`` that cuts a letter's audio into exactly ``places``
    ``output_audio`` messages."""
    samples = _letter_samples()
    step = -(-samples // places)
    if -(-samples // step) != places:
        raise ValueError(f"no chunk size cuts {samples} samples into {places} chunks")
    return step / RATE


_HUGE_AUDIO_HEAD = f'{{"type": "output_audio", "session_id": "{SESSION_ID}", "audio": "'
_HUGE_NOT_JSON_HEAD = '{"type": "output_audio", "audio": "'


def _huge_base64_length(size: int) -> int:
    """Base64 characters (a multiple of 8: 6 bytes, whole samples) making a huge audio
    frame at least ``size`` bytes long."""
    return -(-(size - len(_HUGE_AUDIO_HEAD) - 2) // 8) * 8


def _slot_text(slot: Any) -> str:
    if isinstance(slot, str):
        return slot
    length = _huge_base64_length(slot["bytes"])
    if slot["huge"] == "audio":
        return _HUGE_AUDIO_HEAD + "A" * length + '"}'
    return _HUGE_NOT_JSON_HEAD + "A" * length


def _hostile(
    family: str,
    what: str,
    message: Any,
    prefix: Sequence[Sequence[Any]],
    *,
    kind: str | None = "APIConnectionError",
    rule: str = "CLI-ROB-1",
) -> dict[str, Any]:
    """``message`` after ``prefix``'s well-formed messages, then audio and ``done`` a client
    that read past it would take: an ``APIConnectionError`` by default (malformed data,
    LLM-ROB-1 through CLI-ROB-1), with the audio of the prefix at most."""
    before = _well_formed(prefix)
    at = len(before)
    slots = [*(p.message for p in before), message, _audio(_pcm(480, at + 1)), _done()]
    return _example(
        family, what, slots, [_expect("error", audio=_pieces(before), kind=kind, rule=rule)]
    )


# -- hostile messages (CLI-ROB-1, TTS-OUT-2) ---------------------------------------------------

TTS_NOT_JSON = [
    '{"type": "output_audio", "audio": ',
    "",
    " ",
    "{'type': 'done'}",
    "undefined",
    '{"type": "done", "session_id": "tts_sess_hostile"}}',
    '{"type": "output_alignment", "words": [{"word": "a", "start": NaN, "end": 0.1}]}',
    '{"type": "output_audio", "audio": "", "session_id": Infinity}',
    "<html><body>502 Bad Gateway</body></html>",
]
"""Text frames that are not JSON (``NaN`` and ``Infinity`` are no JSON either)."""


def tts_not_json(line: str, prefix: Sequence[Sequence[Any]] = ()) -> dict[str, Any]:
    """A text frame that is not JSON."""
    return _hostile("not_json", f"a text frame that is not JSON: {line[:40]!r}", line, prefix)


TTS_NOT_AN_OBJECT = ["[1, 2]", "null", '"output_audio"', "42", "true", "[]"]
"""JSON that is no object."""


def tts_message_not_an_object(line: str, prefix: Sequence[Sequence[Any]] = ()) -> dict[str, Any]:
    """JSON that is not an object."""
    return _hostile("not_an_object", f"a message that is no object: {line}", line, prefix)


_BAD_TYPES: list[Any] = ["missing", 7, None, ["output_audio"], {"a": 1}, True]


def tts_bad_type(value: Any, prefix: Sequence[Sequence[Any]] = ()) -> dict[str, Any]:
    """An ``output_audio`` whose ``type`` is missing (``"missing"``) or not a string."""
    message = _audio(_pcm(480, 99))
    if value == "missing":
        del message["type"]
        what = "an output_audio without a type"
    else:
        message["type"] = value
        what = f"an output_audio whose type is {json.dumps(value)}"
    return _hostile("bad_type", what, message, prefix)


# Values of every JSON type; each field draws those its type excludes. JSON null is never a
# wrong type here: every optional field may be null, and a required one is covered by
# tts_missing_field.
_VALUES = NON_NULL_JSON_VALUES
_WRONG: dict[str, list[str]] = {
    "str": ["int", "float", "bool", "list", "object"],
    "number": ["bool", "str", "list", "object"],
    "int": ["float", "bool", "str", "list", "object"],
    "object": ["int", "float", "bool", "str", "list"],
    "list": ["int", "float", "bool", "str", "object"],
}

TTS_MESSAGE_FIELDS: dict[str, dict[str, str]] = {
    "output_audio": {"audio": "str", "session_id": "str"},
    "done": {"session_id": "str"},
    "session.created": {"session_id": "str"},
    "output_alignment": {
        "words": "list",
        "words[0]": "object",
        "words[0].word": "str",
        "words[0].start": "number",
        "words[0].end": "number",
        "chars": "list",
        "chars[0].char": "str",
        "chars[0].start": "number",
        "chars[0].end": "number",
        "session_id": "str",
    },
    "error": {"message": "str", "code": "int"},
}
"""Every field of each server message a client reads (SPEC §4), and its JSON type besides
null."""


def _sample(message_type: str, path: str = "") -> dict[str, Any]:
    """A well-formed message of ``message_type`` holding ``path``."""
    if message_type == "output_audio":
        return _audio(_pcm(480, 99))
    if message_type == "done":
        return _done()
    if message_type == "session.created":
        return _created()
    if message_type == "output_alignment":
        return _alignment("chars" if path.startswith("chars") else "words")
    return {"type": "error", "message": "hostile", "code": 500}


def _steps(path: str) -> list[str | int]:
    return [
        int(s) if s.isdigit() else s for s in path.replace("]", "").replace("[", ".").split(".")
    ]


def _set(message: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = _steps(path)
    node: Any = message
    for step in parents:
        node = node[step]
    node[last] = value


def _unset(message: dict[str, Any], path: str) -> None:
    *parents, last = _steps(path)
    node: Any = message
    for step in parents:
        node = node[step]
    del node[last]


def tts_message_wrong_type(
    message_type: str, path: str, type_name: str, prefix: Sequence[Sequence[Any]] = ()
) -> dict[str, Any]:
    """A message of ``message_type`` whose ``path`` holds a value of the JSON type
    ``type_name``, a wrong one: malformed data (an ``APIConnectionError``); a mistyped
    ``error`` is an error either way (any class of the family)."""
    fields = TTS_MESSAGE_FIELDS[message_type]
    if type_name not in _WRONG[fields[path]]:
        raise ValueError(f"{type_name} is not a wrong type for {message_type}.{path}")
    message = _sample(message_type, path)
    _set(message, path, _VALUES[type_name])
    what = f"{message_type}.{path} is {json.dumps(_VALUES[type_name])}"
    kind = None if message_type == "error" else "APIConnectionError"
    return _hostile("wrong_type", what, message, prefix, kind=kind)


MISSING_FIELDS = [
    ("output_audio", "audio"),
    ("output_alignment", "words"),
    ("output_alignment", "words[0].word"),
    ("output_alignment", "words[0].start"),
    ("output_alignment", "words[0].end"),
    ("output_alignment", "chars[0].char"),
    ("error", "message"),
]
"""The fields SPEC §4 requires of a message (``output_alignment`` without ``words`` has
neither ``words`` nor ``chars``); ``session_id`` is :func:`missing_session_id`'s."""


def tts_missing_field(
    message_type: str, field: str, prefix: Sequence[Sequence[Any]] = ()
) -> dict[str, Any]:
    """A message without one of its required fields: the wrong shape (an ``error`` without
    ``message`` is an error either way)."""
    message = _sample(message_type, field)
    _unset(message, field)
    kind = None if message_type == "error" else "APIConnectionError"
    return _hostile("missing_field", f"{message_type} without {field}", message, prefix, kind=kind)


_NOT_BASE64 = ["%%%%", "not base64!", "AAA", "AA=A", "😀😀😀😀", "QUJD\n", "AAAA AAAA"]


def audio_not_base64(value: str, prefix: Sequence[Sequence[Any]] = ()) -> dict[str, Any]:
    """An ``output_audio`` whose ``audio`` is a string but no base64 (RFC 4648, padded)."""
    message = {"type": "output_audio", "audio": value, "session_id": SESSION_ID}
    return _hostile("bad_audio", f"output_audio.audio is {value!r}", message, prefix)


def tts_binary_frame_before(data: str, prefix: Sequence[Sequence[Any]] = ()) -> dict[str, Any]:
    """A binary frame holding ``data`` (hex) where the next message belongs: it is sent
    before well-formed audio, which a client that took the frame for nothing would emit."""
    before = _well_formed(prefix)
    at = len(before)
    slots = [
        *(p.message for p in before),
        _audio(_pcm(480, at)),
        _audio(_pcm(480, at + 1)),
        _done(),
    ]
    return _example(
        "binary_frame",
        f"a binary frame of {len(data) // 2} bytes after {at} messages",
        slots,
        [_expect("error", audio=_pieces(before), kind="APIConnectionError")],
        faults=[{"kind": "binary_frame", "at_event": at, "hex": data}],
    )


ERROR_VARIANTS: dict[str, dict[str, Any]] = {
    "plain": {"type": "error", "message": "hostile", "code": 500},
    "no code": {"type": "error", "message": "hostile"},
    "code null": {"type": "error", "message": "hostile", "code": None},
    "code 400": {"type": "error", "message": "bad voice", "code": 400},
    "empty message": {"type": "error", "message": "", "code": 500},
    "unknown keys": {
        "type": "error",
        "message": "hostile",
        "code": 500,
        "param": {"voice": ["x"]},
        "session_id": SESSION_ID,
    },
    "long message": {"type": "error", "message": "x" * 10_000, "code": 503},
    "non-ASCII message": {"type": "error", "message": "ошибка 😀 \u0000", "code": 500},
}
"""Well-formed ``error`` messages with odd fields (each is an error, TTS-OUT-2)."""


def tts_error_message(variant: str, prefix: Sequence[Sequence[Any]] = ()) -> dict[str, Any]:
    """An ``error`` in the synthesis: an error of the family (TTS-OUT-2 says ``APIError``,
    which every class of the family is), whatever its odd fields."""
    message = dict(ERROR_VARIANTS[variant])
    return _hostile(
        "error", f"an error message ({variant})", message, prefix, kind=None, rule="TTS-OUT-2"
    )


HUGE_FRAME_BYTES = (1 << 22) + (1 << 16)
"""A frame over 4 MiB, the message size limit of the reference client and of upstream's
aiohttp WebSocket."""


def huge_frame(kind: str, prefix: Sequence[Sequence[Any]] = ()) -> dict[str, Any]:
    """A frame of :data:`HUGE_FRAME_BYTES`: a well-formed ``output_audio`` (``audio``: a client
    may refuse it for its size, an error of the family, or take it, and then emits all the
    audio) or one that never ends (``not_json``: an error either way; of any class, since a
    client that refuses the size never sees the frame is no JSON)."""
    before = _well_formed(prefix)
    at = len(before)
    after = _pcm(480, at + 1)
    slots = [*(p.message for p in before), _Huge(kind, HUGE_FRAME_BYTES), _audio(after), _done()]
    if kind == "audio":
        zeros = _huge_base64_length(HUGE_FRAME_BYTES) // 4 * 3
        audio = [*_pieces(before), zeros, _b64(after)]
        expect = _expect("either", audio=audio)
    else:
        expect = _expect("error", audio=_pieces(before))
    return _example("huge_frame", f"a {kind} frame of {HUGE_FRAME_BYTES} bytes", slots, [expect])


def tts_closed(code: int, after: int, prefix: Sequence[Sequence[Any]] = ()) -> dict[str, Any]:
    """The server closes with ``code`` after ``after`` of the connection's messages (capped
    at all of them): the prefix's, then audio, then ``done``. Before ``done`` it is a close
    mid-synthesis, a retryable ``APIStatusError`` (TTS-OUT-2); after it the synthesis has
    completed with all its audio."""
    placed = [*_well_formed(prefix), *_tail(len(prefix))]
    slots = [p.message for p in placed]
    after = min(after, len(slots))
    if after == len(slots):
        return _example(
            "closed",
            f"close {code} after done",
            slots,
            [_expect("complete", audio=_pieces(placed), rule="TTS-OUT-2")],
            faults=[{"kind": "ws_close", "at_event": len(slots) - 1, "code": code}],
        )
    if after == 0:
        # Nothing sent before the close: the first message is dropped, the close follows.
        faults = [
            {"kind": "drop", "at_event": 0},
            {"kind": "ws_close", "at_event": 0, "code": code},
        ]
        where = "before any message"
    else:
        faults = [{"kind": "ws_close", "at_event": after - 1, "code": code}]
        where = f"after {after} messages, before done"
    return _example(
        "closed",
        f"close {code} {where}",
        slots,
        [_expect("error", audio=_pieces(placed[:after]), kind="APIStatusError", rule="TTS-OUT-2")],
        faults=faults,
    )


def tts_reset_after(after: int, prefix: Sequence[Sequence[Any]] = ()) -> dict[str, Any]:
    """The TCP connection drops (no close frame) after ``after`` messages: before ``done`` an
    error of the family; after it, either the completed synthesis or an error (a reset may
    discard what the client had not read yet)."""
    placed = [*_well_formed(prefix), *_tail(len(prefix))]
    after = max(1, min(after, len(placed)))
    ended = after == len(placed)
    return _example(
        "reset",
        f"a TCP reset after {after} messages" + (" (after done)" if ended else ""),
        [p.message for p in placed],
        [
            _expect("either", audio=_pieces(placed))
            if ended
            else _expect("error", audio=_pieces(placed[:after]), rule="TTS-OUT-2")
        ],
        faults=[{"kind": "disconnect", "at_event": after - 1, "mode": "reset"}],
    )


def _field_types(message_types: Sequence[str]) -> st.SearchStrategy[tuple[str, str, str]]:
    """(message type, field path, a wrong JSON type for it)."""
    return st.sampled_from(
        [(t, path) for t in message_types for path in sorted(TTS_MESSAGE_FIELDS[t])]
    ).flatmap(
        lambda f: st.tuples(
            st.just(f[0]), st.just(f[1]), st.sampled_from(_WRONG[TTS_MESSAGE_FIELDS[f[0]][f[1]]])
        )
    )


def hostile_tts_messages() -> st.SearchStrategy[dict[str, Any]]:
    """Syntheses that break the protocol at some place (CLI-ROB-1; errors and closes per
    TTS-OUT-2)."""

    return st.one_of(
        st.builds(tts_not_json, st.sampled_from(TTS_NOT_JSON), _prefixes),
        st.builds(tts_message_not_an_object, st.sampled_from(TTS_NOT_AN_OBJECT), _prefixes),
        st.builds(tts_bad_type, st.sampled_from(_BAD_TYPES), _prefixes),
        _field_types(sorted(TTS_MESSAGE_FIELDS)).flatmap(
            lambda f: st.builds(
                tts_message_wrong_type, st.just(f[0]), st.just(f[1]), st.just(f[2]), _prefixes
            )
        ),
        st.sampled_from(MISSING_FIELDS).flatmap(
            lambda f: st.builds(tts_missing_field, st.just(f[0]), st.just(f[1]), _prefixes)
        ),
        st.builds(audio_not_base64, st.sampled_from(_NOT_BASE64), _prefixes),
        st.builds(
            tts_binary_frame_before, st.sampled_from(["", "00", "7b7d", "ff" * 64]), _prefixes
        ),
        st.builds(tts_error_message, st.sampled_from(sorted(ERROR_VARIANTS)), _prefixes),
        st.builds(huge_frame, st.sampled_from(["audio", "not_json"]), _prefixes),
        st.builds(tts_closed, st.sampled_from(CLOSE_CODES), st.integers(0, 6), _prefixes),
        st.builds(tts_reset_after, st.integers(1, 6), _prefixes),
    )


HOSTILE_TTS_MESSAGE_BOUNDARIES = [
    tts_not_json(TTS_NOT_JSON[0]),
    tts_not_json("", prefix=[("created", 0), ("audio", 4800)]),
    tts_message_not_an_object("[1, 2]", prefix=[("created", 0)]),
    tts_bad_type("missing"),
    tts_message_wrong_type("output_audio", "session_id", "int", prefix=[("created", 0)]),
    tts_message_wrong_type("output_audio", "audio", "list", prefix=[("audio", 7202)]),
    tts_message_wrong_type("done", "session_id", "int", prefix=[("audio", 480)]),
    tts_message_wrong_type("output_alignment", "words[0].start", "str"),
    tts_message_wrong_type("error", "code", "str"),
    tts_missing_field("output_audio", "audio"),
    audio_not_base64("not base64!", prefix=[("audio", 2)]),
    tts_binary_frame_before("00", prefix=[("created", 0)]),
    tts_error_message("plain"),
    tts_error_message("unknown keys", prefix=[("created", 0), ("audio", 7202)]),
    huge_frame("audio", prefix=[("created", 0)]),
    huge_frame("not_json"),
    tts_closed(1011, 0),
    tts_closed(1000, 1, prefix=[("created", 0)]),
    tts_closed(4000, 2, prefix=[("audio", 7202)]),
    tts_closed(1011, 9, prefix=[("audio", 480)]),
    tts_reset_after(1, prefix=[("created", 0)]),
]
"""One or two of each kind: first and after audio, a close before any message and after
``done``."""

HOSTILE_SYNTHESIZE_BOUNDARIES = [
    tts_not_json(TTS_NOT_JSON[0]),
    tts_message_wrong_type("output_audio", "session_id", "int", prefix=[("created", 0)]),
    tts_error_message("plain", prefix=[("audio", 7202)]),
    tts_closed(1011, 1),
    tts_closed(1000, 9),
]
"""For ``tts.synthesize``: malformed data, an error, a close mid-synthesis and after
``done``."""


# -- unknown keys and message types (CLI-ROB-1) -------------------------------------------------

TTS_UNKNOWN_TYPES = [
    "output_audio.delta",
    "session.updated",
    "usage",
    "x_vendor_event",
    "OUTPUT_AUDIO",
    "output_audio ",
    "",
]
"""Message types the protocol does not define (a client ignores them). Each carries audio: a
client that took one for ``output_audio`` would emit it."""

_KNOWN_KEYS = {
    "type", "audio", "session_id", "words", "chars", "word", "char", "start", "end",
    "message", "code",
}  # fmt: skip
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
_unknown_names = st.sampled_from(
    ["sample_rate", "encoding", "is_final", "alignment", "x_vendor", "request_id"]
) | st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8).filter(
    lambda name: name not in _KNOWN_KEYS
)
_extras = st.dictionaries(_unknown_names, _json_values, min_size=1, max_size=2)


def tts_with_unknown(
    kinds: Sequence[Sequence[Any]], extras: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """A well-formed synthesis: one message per ``(kind, size)`` (a prefix kind, or
    ``unknown:<type>`` for a message of a type the protocol does not define, carrying audio),
    then audio and ``done``; ``extras[i]`` is merged into the ``i``-th object of the walk over
    every message and alignment item (unknown keys). The synthesis completes with all the
    well-formed audio."""
    placed: list[_Placed] = []
    for at, (kind, size) in enumerate(kinds):
        if kind.startswith("unknown:"):
            stray = {"type": kind.removeprefix("unknown:"), "audio": _b64(_pcm(size, 200 + at))}
            placed.append(_Placed(stray | {"session_id": SESSION_ID}))
        else:
            placed.append(_prefix_message(kind, size, at))
    tail = _pcm(480, len(placed))
    placed += [_Placed(_audio(tail), tail), _Placed(_done())]
    objects: list[dict[str, Any]] = []
    for p in placed:
        objects.append(p.message)
        if p.message["type"] == "output_alignment":
            objects += p.message.get("words", p.message.get("chars", []))
    for obj, extra in zip(objects, extras, strict=False):
        obj.update(extra)
    unknown = sum(kind.startswith("unknown:") for kind, _ in kinds)
    return _example(
        "unknown",
        f"a well-formed synthesis with unknown keys in {sum(map(bool, extras))} objects and "
        f"{unknown} messages of unknown types",
        [p.message for p in placed],
        [_expect("complete", audio=_pieces(placed))],
    )


def unknown_tts_messages() -> st.SearchStrategy[dict[str, Any]]:
    """Well-formed syntheses with unknown keys in messages and alignment items and messages
    of unknown types anywhere (CLI-ROB-1: ignored, never an error)."""
    kinds = st.one_of(
        st.sampled_from([*_PREFIX_KINDS, "created"]),
        st.sampled_from([f"unknown:{t}" for t in TTS_UNKNOWN_TYPES]),
    )
    return st.builds(
        tts_with_unknown,
        st.lists(st.tuples(kinds, st.sampled_from(AUDIO_SIZES)), min_size=1, max_size=4).map(
            # session.created only first, where a server sends it.
            lambda pairs: [p for i, p in enumerate(pairs) if p[0] != "created" or i == 0]
        ),
        st.lists(st.one_of(st.just({}), _extras), min_size=1, max_size=8),
    )


UNKNOWN_TTS_MESSAGE_BOUNDARIES = [
    tts_with_unknown(
        [("created", 0), ("unknown:session.updated", 480), ("alignment", 2), ("audio", 4800)],
        [{"x_vendor": {"a": [1]}}] * 10,
    ),
    tts_with_unknown([("unknown:x_vendor_event", 480)], [{}]),
    tts_with_unknown([("audio", 7202), ("unknown:", 2)], [{"is_final": True}]),
]
"""Unknown keys everywhere at once; an unknown type first, in place of ``session.created``;
one between audio."""


# -- where done comes, session ids, framing (TTS-OUT-1, CLI-ROB-1) -----------------------------


_AFTER_DONE = ["audio", "done", "error", "not_json", "unknown", "created", "close", "reset"]


def after_done(what: str, prefix: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """``done`` after ``prefix`` (``done`` before any audio when it has none), then ``what``
    after it (a message, a close or a TCP reset), then a second synthesis on the same
    client. Nothing after ``done`` belongs to the first synthesis: it completed with the
    prefix's audio (TTS-OUT-1), or, with no audio at all, a client may call that an error of
    the family. The pooled socket carries ``what`` into the second synthesis, which no client
    can tell from its own: it ends, with an error of the family or its audio (CLI-ROB-1)."""
    if not prefix:
        raise ValueError("after_done needs a prefix: done takes the last audio place")
    before = _well_formed(prefix)
    at = len(before)
    stray_pcm = _pcm(480, at + 1)
    strays: dict[str, Any] = {
        "audio": _audio(stray_pcm),
        "error": {"type": "error", "message": "late", "code": 500},
        "not_json": TTS_NOT_JSON[0],
        "unknown": {"type": "x_vendor_event", "audio": _b64(stray_pcm)},
        "created": _created("tts_sess_other"),
    }
    slots = [*(p.message for p in before), _done(), strays.get(what, _done())]
    faults: list[dict[str, Any]] = []
    if what == "close":
        faults = [{"kind": "ws_close", "at_event": at, "code": 1000}]
    elif what == "reset":
        faults = [{"kind": "disconnect", "at_event": at, "mode": "reset"}]
    audio = _pieces(before)
    # A reset may discard the done the client had not read yet.
    first = "either" if what == "reset" or not audio else "complete"
    return _example(
        "after_done",
        f"{what} after done" + ("" if audio else " (done before any audio)"),
        slots,
        [
            _expect(first, audio=audio, rule="TTS-OUT-1"),
            _expect("either", audio=None, segment_id=None),
        ],
        streams=[_script(0), _script(1)],
        faults=faults,
    )


def never_flushed(prefix: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """``done`` after ``prefix``, before the client sent ``session.flush`` (its script
    flushes its letter and holds the input's end back), then ``done`` again for the flush.
    TTS-S-1 says ``done`` ends the synthesis, and out of order it is no message a client need
    accept: the synthesis ends with an error of the family or completes with the prefix's
    audio."""
    if not prefix:
        raise ValueError("never_flushed needs a prefix: done takes the last audio place")
    before = _well_formed(prefix)
    slots = [*(p.message for p in before), _done(), _done()]
    return _example(
        "never_flushed",
        f"done before session.flush after {len(before)} messages",
        slots,
        [_expect("either", audio=_pieces(before))],
        streams=[_script(hold=True)],
    )


_SESSION_ID_GAPS = ["output_audio", "done", "output_audio null", "done null", "none"]


def missing_session_id(where: str, prefix: Sequence[Sequence[Any]] = ()) -> dict[str, Any]:
    """A message without ``session_id`` (``where``: ``output_audio`` or ``done``; with
    ``null``: an explicit ``null``; ``none``: on no message at all), the two crash variants
    upstream 1.8.9 reports as a ``RuntimeError`` (wire capture §9.1). TTS-S-1 binds the
    server; a client ends with an error of the family or completes with all the audio."""
    before = _well_formed(prefix)
    at = len(before)
    missing: Any = None if where.endswith(" null") else _ABSENT
    pcm = _pcm(480, at)
    tail = _pcm(2, at + 1)
    audio_sid = missing if where.startswith("output_audio") or where == "none" else SESSION_ID
    done_sid = missing if where.startswith("done") or where == "none" else SESSION_ID
    messages = [p.message for p in before]
    if where == "none":
        messages = [{k: v for k, v in m.items() if k != "session_id"} for m in messages]
    slots = [
        *messages,
        _audio(pcm, audio_sid),
        _audio(tail, SESSION_ID if where != "none" else _ABSENT),
        _done(done_sid),
    ]
    return _example(
        "missing_session_id",
        f"{where.split()[0] if where != 'none' else 'every message'} without session_id"
        + (" (null)" if missing is None else ""),
        slots,
        [_expect("either", audio=[*_pieces(before), _b64(pcm), _b64(tail)], segment_id=None)],
    )


def session_id_on_created_only(prefix: Sequence[Sequence[Any]] = ()) -> dict[str, Any]:
    """``session_id`` only on ``session.created`` and two syntheses on the pooled socket: the
    second has no message with an id at all (upstream's first synthesis worked, the second
    crashed, wire capture §4). Each ends with an error of the family or its audio; the
    second's audio is unchecked (after a failed first it is another connection's)."""
    before = [p for p in _well_formed(prefix) if p.message["type"] != "session.created"]
    plain = [{k: v for k, v in p.message.items() if k != "session_id"} for p in before]
    first = _pcm(480, 50)
    # The second synthesis has as many audio places as the first.
    second = [_audio(_pcm(480, 51 + index), _ABSENT) for index in range(len(plain) + 1)]
    slots = [_created(), *plain, _audio(first, _ABSENT), _done(_ABSENT), *second, _done(_ABSENT)]
    return _example(
        "missing_session_id",
        "session_id only on session.created, two syntheses",
        slots,
        [
            _expect("either", audio=[*_pieces(before), _b64(first)], segment_id=None),
            _expect("either", audio=None, segment_id=None),
        ],
        streams=[_script(0), _script(1)],
        places=len(plain) + 1,
    )


def audio_split(sizes: Sequence[int], prefix: Sequence[Sequence[Any]] = ()) -> dict[str, Any]:
    """``output_audio`` chunks of ``sizes`` bytes (odd, even or zero) after ``prefix``. Empty
    and whole-sample chunks are plain audio: the synthesis completes with exactly the
    server's bytes (TTS-OUT-1). A chunk that cuts a sample is no whole PCM s16le, which SPEC
    neither allows nor forbids: a client may refuse it (an error of the family) or join the
    pieces, and then emits exactly the server's bytes. Audio that ends inside a sample no
    client can emit exactly: malformed audio, an ``APIConnectionError`` (CLI-ROB-1)."""
    before = _well_formed(prefix)
    at = len(before)
    chunks = [_pcm(size, at + index) for index, size in enumerate(sizes)]
    slots = [*(p.message for p in before), *(_audio(c) for c in chunks), _done()]
    audio = [*_pieces(before), *(_b64(c) for c in chunks if c)]
    total = sum(len(p.pcm) for p in before) + sum(sizes)
    if total % 2:
        expect = _expect("error", audio=audio, kind="APIConnectionError")
        what = f"audio in chunks of {list(sizes)} bytes ending inside a sample"
    elif any(size % 2 for size in sizes):
        expect = _expect("either", audio=audio, rule="TTS-OUT-1")
        what = f"audio in chunks of {list(sizes)} bytes, samples cut across chunks"
    else:
        expect = _expect("complete", audio=audio, rule="TTS-OUT-1")
        what = f"audio in chunks of {list(sizes)} bytes"
    return _example("audio_split", what, slots, [expect])


def synthesis_ends() -> st.SearchStrategy[dict[str, Any]]:
    """Where ``done`` comes (before any audio, before the flush, with messages after it),
    messages without ``session_id``, and audio chunked inside samples or empty (TTS-OUT-1,
    CLI-ROB-1)."""
    return st.one_of(
        st.builds(after_done, st.sampled_from(_AFTER_DONE), _some_prefix),
        st.builds(never_flushed, _some_prefix),
        st.builds(missing_session_id, st.sampled_from(_SESSION_ID_GAPS), _prefixes),
        st.builds(session_id_on_created_only, _prefixes),
        st.builds(
            audio_split,
            st.lists(st.sampled_from([0, 1, 3, 480, 4801]), min_size=2, max_size=3),
            _prefixes,
        ),
    )


SYNTHESIS_END_BOUNDARIES = [
    after_done("audio", [("created", 0)]),
    after_done("done", [("audio", 4800)]),
    after_done("error", [("created", 0), ("audio", 7202)]),
    after_done("close", [("audio", 480)]),
    never_flushed([("created", 0)]),
    never_flushed([("audio", 7202)]),
    missing_session_id("output_audio", [("created", 0)]),
    missing_session_id("done"),
    missing_session_id("none", [("created", 0)]),
    session_id_on_created_only(),
    audio_split([1, 3]),
    audio_split([0, 480]),
    audio_split([480, 0, 2]),
    audio_split([4801], [("audio", 480)]),
]
"""``done`` before any audio and after it with each kind of stray message, before the flush;
each session-id gap and upstream's pooled variant; samples cut across chunks, an empty chunk,
audio ending inside a sample."""


# -- silences (TTS-OUT-2: an APITimeoutError, never a hang) -------------------------------------

TTS_SILENCE_TIMEOUT = 0.25
"""The client's timeout in silence examples: short, so examples stay quick."""
# The silence lasts four timeouts: a client whose timer fires late under load still meets
# silence, and a client that closes the socket waits for the silent server only its own close
# timeout, so the length costs nothing.
_SILENCE_FACTOR = 4.0


def tts_silence_before(
    before: int, prefix: Sequence[Sequence[Any]] = (), timeout: float = TTS_SILENCE_TIMEOUT
) -> dict[str, Any]:
    """No message for ``_SILENCE_FACTOR`` times ``timeout`` before the ``before``-th message
    (capped: before ``done``): no message for ``timeout`` in a synthesis is an
    ``APITimeoutError`` (TTS-OUT-2), with at most the audio sent before the silence."""
    placed = [*_well_formed(prefix), *_tail(len(prefix))]
    before = min(before, len(placed) - 1)
    seconds = round(timeout * _SILENCE_FACTOR, 3)
    return _example(
        "silence",
        f"no message for {seconds} s before message {before} (timeout {timeout} s)",
        [p.message for p in placed],
        [
            _expect(
                "error", audio=_pieces(placed[:before]), kind="APITimeoutError", rule="TTS-OUT-2"
            )
        ],
        faults=[{"kind": "stall", "at_event": before, "seconds": seconds}],
        timeout=timeout,
    )


def tts_silences() -> st.SearchStrategy[dict[str, Any]]:
    """Silence longer than the client's timeout at any place of a synthesis."""
    return st.builds(tts_silence_before, st.integers(0, 4), _prefixes)


TTS_SILENCE_BOUNDARIES = [
    tts_silence_before(0),
    tts_silence_before(9, prefix=[("audio", 4800)]),
]
"""Silence before the first message and before ``done``."""
