"""Hostile STT servers for STT clients: hypothesis strategies whose examples are plain JSON data.

An example is what one session of a broken, hostile or newer LiveKit STT server sends (SPEC §3.2)
and what SPEC §6a CLI-ROB-1 (with §3.3 STT-END-1) requires of a client that reads it::

    {
      "family": "wrong_type",                   # which builder made it
      "what": "final_transcript.start is \\"x\\"",
      "slots": ["{\\"type\\": \\"session.created\\"}", "...", "{\\"type\\": ...}"],
      "faults": [{"kind": "ws_close", "at_event": 1, "code": 1011}],
      "wait_for_error": false,                  # end the input only once the attempt failed
      "timeout": 5.0,                           # the client's conn_options.timeout
      "expect": {
        "outcome": "error",                     # error | complete | either
        "kind": "APIConnectionError",           # the error class, when one is required
        "rule": "CLI-ROB-1",                    # the rule the outcome and class come from
        "finals": ["hello"]                     # the well-formed finals' texts, in order
      }
    }

``slots`` are the exact text frames the server sends, one per place of the session: the
simulator plays a script of ``len(slots) - 2`` back-to-back segments of 0.1 s (no interims), so
its session sends ``session.created``, one final per segment as the audio reaches its end, and
``session.finalized`` after ``session.finalize``, then closes with 1000; a ``malformed`` fault
replaces each of those messages with its slot's text (:func:`stt_scenario`). ``faults`` adds
the rest of the simulator's fault vocabulary (``binary_frame`` before a slot, ``ws_close`` or
``disconnect`` after one, ``drop``, ``stall``). The client pushes :func:`audio_seconds` of audio
(every segment's end) and ends its input; with ``wait_for_error`` it ends its input only once
the attempt failed, so a close before the last slot is a close before ``session.finalize``
(STT-END-1: an error), never a race with it.

The strategies:

- :func:`hostile_messages`: messages that are not JSON, not objects, without a usable
  ``type``, of the wrong types or shape for every field a client reads (transcripts, words,
  errors), binary frames, closes with any code at any point (before and after
  ``session.created``, mid-segment, after the finalize), TCP resets;
- :func:`unknown_messages`: well-formed sessions with unknown keys in every message and
  word, and messages of unknown types anywhere (ignored: the stream completes with every
  final);
- :func:`silences`: silence longer than the client's timeout before any slot (the server is
  allowed to be quiet: the stream ends, never hangs).

Every strategy's examples shrink towards short sessions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st
from voicewire.suites.robustness.json_values import NON_NULL_JSON_VALUES

__all__ = [
    "API_ERRORS",
    "CLOSE_CODES",
    "HOSTILE_MESSAGE_BOUNDARIES",
    "NOT_AN_OBJECT",
    "NOT_JSON",
    "SEGMENT_SECONDS",
    "SILENCE_BOUNDARIES",
    "SILENCE_TIMEOUT",
    "TRANSCRIPT_FIELDS",
    "UNKNOWN_MESSAGE_BOUNDARIES",
    "UNKNOWN_TYPES",
    "audio_seconds",
    "bad_type",
    "binary_frame_before",
    "closed",
    "final",
    "hostile_messages",
    "interim",
    "message_not_an_object",
    "message_wrong_type",
    "missing_field",
    "not_json",
    "reset_after",
    "silence_before",
    "silences",
    "stt_scenario",
    "unknown_messages",
    "with_unknown",
]

API_ERRORS = ("APIError", "APIConnectionError", "APIStatusError", "APITimeoutError")
"""The APIError family: the only error classes a stream may end with (CLI-ROB-1)."""

SEGMENT_SECONDS = 0.1
"""The audio each slot's segment lasts: slot k's message is due when the audio reaches
``k * SEGMENT_SECONDS``."""

_DEFAULT_TIMEOUT = 5.0

_texts = st.text(alphabet=st.sampled_from("abcdefghij XYZ,.!?é中😀"), min_size=1, max_size=10)


# -- well-formed messages ----------------------------------------------------------------------


def _dump(message: Any) -> str:
    # Not ASCII-only: a server may send UTF-8 as it is.
    return json.dumps(message, ensure_ascii=False)


def _transcript(kind: str, text: str, at: int) -> dict[str, Any]:
    start = round(at * SEGMENT_SECONDS, 3)
    return {
        "type": kind,
        "transcript": text,
        "start": start,
        "duration": SEGMENT_SECONDS,
        "language": "en",
        "confidence": 0.9,
        "request_id": "stt_req_hostile",
        "speaker_id": "S1",
        "extra": {"provider": "hostile"},
        "words": [
            {
                "word": text.split()[0] if text.split() else "",
                "start": start,
                "end": round(start + SEGMENT_SECONDS, 3),
                "confidence": 0.9,
                "speaker_id": "S1",
            }
        ],
    }


def final(text: str, at: int = 0) -> dict[str, Any]:
    """A well-formed ``final_transcript`` with every field a client reads (at slot ``at``)."""
    return _transcript("final_transcript", text, at)


def interim(text: str, at: int = 0) -> dict[str, Any]:
    """A well-formed ``interim_transcript`` with every field a client reads."""
    return _transcript("interim_transcript", text, at)


_CREATED = {"type": "session.created", "session_id": "stt_sess_hostile"}
_FINALIZED = {"type": "session.finalized"}
_START = {"type": "start_of_speech"}


def _prefix_message(kind: str, text: str, at: int) -> dict[str, Any]:
    if kind == "session.created":
        return dict(_CREATED)
    if kind == "start_of_speech":
        return dict(_START)
    if kind == "interim":
        return interim(text, at)
    if kind == "empty final":
        return final("", at)
    return final(text, at)


_PREFIX_KINDS = ["session.created", "start_of_speech", "interim", "final", "empty final"]
_prefixes = st.lists(st.tuples(st.sampled_from(_PREFIX_KINDS), _texts), max_size=3)
"""Well-formed messages a hostile one may follow: (kind, text) pairs."""


def _well_formed(prefix: Sequence[Sequence[str]]) -> list[dict[str, Any]]:
    return [_prefix_message(kind, text, at) for at, (kind, text) in enumerate(prefix)]


def _finals(messages: Sequence[Any]) -> list[str]:
    """The texts of the well-formed finals among ``messages`` (dicts), in order."""
    return [
        m["transcript"]
        for m in messages
        if isinstance(m, dict) and m.get("type") == "final_transcript"
    ]


def audio_seconds(example: dict[str, Any]) -> float:
    """The audio the client pushes: up to the last segment's end, and half a frame more."""
    return round((len(example["slots"]) - 2) * SEGMENT_SECONDS + 0.025, 3)


def stt_scenario(example: dict[str, Any], name: str = "hostile-stt-stream") -> dict[str, Any]:
    """The scenario (a dict) whose one rule plays ``example`` on every STT session."""
    slots = example["slots"]
    segments = [
        {"text": f"segment {index}", "start": round(index * SEGMENT_SECONDS, 3)}
        | {"duration": SEGMENT_SECONDS}
        for index in range(len(slots) - 2)
    ]
    replaced = [
        {"kind": "malformed", "at_event": index, "line": line} for index, line in enumerate(slots)
    ]
    return {
        "name": name,
        # time_scale 1: a stall is real seconds, measured against the client's timeout.
        "time_scale": 1.0,
        "rules": [
            {
                "match": {"endpoint": "stt"},
                "reply": {"interim_interval": None, "segments": segments},
                "faults": [*replaced, *example["faults"]],
            }
        ],
    }


def _example(
    family: str,
    what: str,
    slots: Sequence[Any],
    *,
    outcome: str,
    finals: Sequence[str],
    kind: str | None = None,
    rule: str = "CLI-ROB-1",
    faults: Sequence[dict[str, Any]] = (),
    wait_for_error: bool = False,
    timeout: float = _DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """An example; a slot that is no string is sent as its JSON."""
    return {
        "family": family,
        "what": what,
        "slots": [slot if isinstance(slot, str) else _dump(slot) for slot in slots],
        "faults": list(faults),
        "wait_for_error": wait_for_error,
        "timeout": timeout,
        "expect": {"outcome": outcome, "kind": kind, "rule": rule, "finals": list(finals)},
    }


def _hostile(
    family: str, what: str, message: Any, prefix: Sequence[Sequence[str]], **fields: Any
) -> dict[str, Any]:
    """``message`` after ``prefix``'s well-formed messages, then a final and
    ``session.finalized`` a client that read past it would take: an ``APIConnectionError``
    by default (malformed data, LLM-ROB-1 through CLI-ROB-1)."""
    before = _well_formed(prefix)
    at = len(before)
    slots = [*before, message, final("after", at + 1), _FINALIZED]
    fields.setdefault("kind", "APIConnectionError")
    return _example(family, what, slots, outcome="error", finals=_finals(before), **fields)


# -- hostile messages (CLI-ROB-1, STT-END-1) ---------------------------------------------------

NOT_JSON = [
    '{"type": "final_transcript", "transcript": ',
    "",
    " ",
    "{'type': 'final_transcript'}",
    "undefined",
    '{"type": "final_transcript"}}',
    '{"type": "final_transcript", "transcript": "a", "start": NaN, "duration": 0.1}',
    '{"type": "final_transcript", "transcript": "a", "start": Infinity, "duration": 0.1}',
    "<html><body>502 Bad Gateway</body></html>",
]
"""Text frames that are not JSON (``NaN`` and ``Infinity`` are no JSON either)."""


def not_json(line: str, prefix: Sequence[Sequence[str]] = ()) -> dict[str, Any]:
    """A text frame that is not JSON."""
    return _hostile("not_json", f"a text frame that is not JSON: {line[:40]!r}", line, prefix)


NOT_AN_OBJECT = ["[1, 2]", "null", '"final_transcript"', "42", "true", "[]"]
"""JSON that is no object."""


def message_not_an_object(line: str, prefix: Sequence[Sequence[str]] = ()) -> dict[str, Any]:
    """JSON that is not an object."""
    return _hostile("not_an_object", f"a message that is no object: {line}", line, prefix)


_BAD_TYPES: list[Any] = ["missing", 7, None, ["final_transcript"], {"a": 1}, True]


def bad_type(value: Any, prefix: Sequence[Sequence[str]] = ()) -> dict[str, Any]:
    """A transcript whose ``type`` is missing (``"missing"``) or not a string."""
    message = final("bad")
    if value == "missing":
        del message["type"]
        what = "a transcript without a type"
    else:
        message["type"] = value
        what = f"a transcript whose type is {json.dumps(value)}"
    return _hostile("bad_type", what, message, prefix)


# Values of every JSON type; each field draws those its type excludes. JSON null is never a
# wrong type here: every optional field may be null, and a required one is covered by
# missing_field.
_VALUES = NON_NULL_JSON_VALUES
_WRONG: dict[str, list[str]] = {
    "str": ["int", "float", "bool", "list", "object"],
    "number": ["bool", "str", "list", "object"],
    "int": ["float", "bool", "str", "list", "object"],
    "object": ["int", "float", "bool", "str", "list"],
    "list": ["int", "float", "bool", "str", "object"],
}

TRANSCRIPT_FIELDS: dict[str, str] = {
    "transcript": "str",
    "start": "number",
    "duration": "number",
    "language": "str",
    "confidence": "number",
    "request_id": "str",
    "speaker_id": "str",
    "extra": "object",
    "words": "list",
    "words[0]": "object",
    "words[0].word": "str",
    "words[0].start": "number",
    "words[0].end": "number",
    "words[0].confidence": "number",
    "words[0].speaker_id": "str",
}
"""Every field of a transcript a client reads (SPEC §3.2), and its JSON type besides null."""

ERROR_FIELDS: dict[str, str] = {"message": "str", "code": "int"}
"""The fields of an ``error`` message."""


def _set(message: dict[str, Any], path: str, value: Any) -> None:
    steps = path.replace("]", "").replace("[", ".").split(".")
    node: Any = message
    for step in steps[:-1]:
        node = node[int(step)] if step.isdigit() else node[step]
    node[int(steps[-1]) if steps[-1].isdigit() else steps[-1]] = value


def message_wrong_type(
    message_type: str, path: str, type_name: str, prefix: Sequence[Sequence[str]] = ()
) -> dict[str, Any]:
    """A message of ``message_type`` (``final_transcript``, ``interim_transcript`` or
    ``error``) whose ``path`` holds a value of the JSON type ``type_name``, a wrong one. A
    mistyped transcript is malformed data (``APIConnectionError``); a mistyped error is an
    error either way (any class of the family)."""
    fields = ERROR_FIELDS if message_type == "error" else TRANSCRIPT_FIELDS
    if type_name not in _WRONG[fields[path]]:
        raise ValueError(f"{type_name} is not a wrong type for {message_type}.{path}")
    if message_type == "error":
        message: dict[str, Any] = {"type": "error", "message": "hostile", "code": 500}
    else:
        message = _transcript(message_type, "bad", len(prefix))
    _set(message, path, _VALUES[type_name])
    what = f"{message_type}.{path} is {json.dumps(_VALUES[type_name])}"
    kind = None if message_type == "error" else "APIConnectionError"
    return _hostile("wrong_type", what, message, prefix, kind=kind)


REQUIRED_TRANSCRIPT_FIELDS = ["transcript", "start", "duration"]
"""The transcript fields SPEC §3.2 does not make optional and STT-ORD-5 gives no default."""


def missing_field(
    message_type: str, field: str, prefix: Sequence[Sequence[str]] = ()
) -> dict[str, Any]:
    """A transcript without one of :data:`REQUIRED_TRANSCRIPT_FIELDS`: the wrong shape."""
    message = _transcript(message_type, "bad", len(prefix))
    del message[field]
    return _hostile("missing_field", f"a {message_type} without {field}", message, prefix)


def binary_frame_before(data: str, prefix: Sequence[Sequence[str]] = ()) -> dict[str, Any]:
    """A binary frame holding ``data`` (hex) where the next message belongs: it is sent before
    a well-formed final, which a client that took the frame for nothing would read."""
    before = _well_formed(prefix)
    at = len(before)
    slots = [*before, final("after", at), final("tail", at + 1), _FINALIZED]
    return _example(
        "binary_frame",
        f"a binary frame of {len(data) // 2} bytes after {at} messages",
        slots,
        outcome="error",
        kind="APIConnectionError",
        finals=_finals(before),
        faults=[{"kind": "binary_frame", "at_event": at, "hex": data}],
    )


CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 3000, 4000, 4999]
"""Close codes a server may send (every code a close frame may carry, sampled)."""


def closed(code: int, after: int, prefix: Sequence[Sequence[str]] = ()) -> dict[str, Any]:
    """The server closes with ``code`` after ``after`` of the session's messages (capped at
    all of them): the prefix's, then a final, then ``session.finalized``. Before
    ``session.finalized`` the client has not ended its input (``wait_for_error``): the close
    is a retryable ``APIStatusError`` (STT-END-1). After it, the input had ended: the stream
    ends cleanly with every final."""
    before = _well_formed(prefix)
    slots = [*before, final("tail", len(before)), _FINALIZED]
    after = min(after, len(slots))
    if after == len(slots):
        return _example(
            "closed",
            f"close {code} after session.finalized",
            slots,
            outcome="complete",
            rule="STT-END-1",
            finals=_finals(slots),
            faults=[{"kind": "ws_close", "at_event": len(slots) - 1, "code": code}],
        )
    if after == 0:
        # Nothing sent before the close: the first message is dropped, the close follows.
        faults = [
            {"kind": "drop", "at_event": 0},
            {"kind": "ws_close", "at_event": 0, "code": code},
        ]
        where = "before session.created"
    else:
        faults = [{"kind": "ws_close", "at_event": after - 1, "code": code}]
        where = f"after {after} messages, before session.finalize"
    return _example(
        "closed",
        f"close {code} {where}",
        slots,
        outcome="error",
        kind="APIStatusError",
        rule="STT-END-1",
        finals=_finals(slots[:after]),
        faults=faults,
        wait_for_error=True,
    )


def reset_after(after: int, prefix: Sequence[Sequence[str]] = ()) -> dict[str, Any]:
    """The TCP connection drops (no close frame) after ``after`` messages: before
    ``session.finalized`` (the input not ended) an error of the family; after it, either a
    clean end or an error."""
    before = _well_formed(prefix)
    slots = [*before, final("tail", len(before)), _FINALIZED]
    after = max(1, min(after, len(slots)))
    fault = {"kind": "disconnect", "at_event": after - 1, "mode": "reset"}
    ended = after == len(slots)
    return _example(
        "reset",
        f"a TCP reset after {after} messages" + (" (after session.finalized)" if ended else ""),
        slots,
        outcome="either" if ended else "error",
        finals=_finals(slots[:after]),
        faults=[fault],
        wait_for_error=not ended,
    )


def hostile_messages() -> st.SearchStrategy[dict[str, Any]]:
    """Sessions that break the protocol at some point (CLI-ROB-1; closes per STT-END-1)."""
    transcript_fields = st.sampled_from(sorted(TRANSCRIPT_FIELDS)).flatmap(
        lambda path: st.tuples(
            st.sampled_from(["final_transcript", "interim_transcript"]),
            st.just(path),
            st.sampled_from(_WRONG[TRANSCRIPT_FIELDS[path]]),
        )
    )
    error_fields = st.sampled_from(sorted(ERROR_FIELDS)).flatmap(
        lambda path: st.tuples(
            st.just("error"), st.just(path), st.sampled_from(_WRONG[ERROR_FIELDS[path]])
        )
    )
    return st.one_of(
        st.builds(not_json, st.sampled_from(NOT_JSON), _prefixes),
        st.builds(message_not_an_object, st.sampled_from(NOT_AN_OBJECT), _prefixes),
        st.builds(bad_type, st.sampled_from(_BAD_TYPES), _prefixes),
        st.one_of(transcript_fields, error_fields).flatmap(
            lambda f: st.builds(
                message_wrong_type, st.just(f[0]), st.just(f[1]), st.just(f[2]), _prefixes
            )
        ),
        st.builds(
            missing_field,
            st.sampled_from(["final_transcript", "interim_transcript"]),
            st.sampled_from(REQUIRED_TRANSCRIPT_FIELDS),
            _prefixes,
        ),
        st.builds(binary_frame_before, st.sampled_from(["", "00", "7b7d", "ff" * 64]), _prefixes),
        st.builds(closed, st.sampled_from(CLOSE_CODES), st.integers(0, 6), _prefixes),
        st.builds(reset_after, st.integers(1, 6), _prefixes),
    )


HOSTILE_MESSAGE_BOUNDARIES = [
    not_json(NOT_JSON[0]),
    not_json("", prefix=[("final", "hello")]),
    message_not_an_object("[1, 2]", prefix=[("session.created", "x")]),
    bad_type("missing"),
    message_wrong_type("final_transcript", "transcript", "int"),
    message_wrong_type("final_transcript", "start", "str", prefix=[("final", "hello")]),
    message_wrong_type("interim_transcript", "words", "object"),
    message_wrong_type("final_transcript", "words[0]", "str"),
    missing_field("final_transcript", "transcript"),
    binary_frame_before("00", prefix=[("session.created", "x")]),
    closed(1011, 0),
    closed(1000, 1, prefix=[("session.created", "x")]),
    closed(1011, 2, prefix=[("interim", "mid segment")]),
    closed(1011, 9, prefix=[("final", "hello")]),
    reset_after(1, prefix=[("session.created", "x")]),
]
"""One or two of each kind: before and after ``session.created``, mid-segment, after the
finalize."""


# -- unknown keys and message types (CLI-ROB-1) -------------------------------------------------

UNKNOWN_TYPES = [
    "session.warning",
    "speech_started",
    "transcript.delta",
    "x_vendor_event",
    "usage",
    "SESSION.CREATED",
    "",
]
"""Message types the protocol does not define (a client ignores them)."""

_KNOWN_KEYS = {
    "type", "transcript", "start", "duration", "language", "confidence", "request_id",
    "speaker_id", "extra", "words", "word", "end", "session_id", "message", "code",
}  # fmt: skip
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
_unknown_names = st.sampled_from(
    ["is_final", "channel", "alternatives", "metadata", "x_vendor", "speech_final"]
) | st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8).filter(
    lambda name: name not in _KNOWN_KEYS
)
_extras = st.dictionaries(_unknown_names, _json_values, min_size=1, max_size=2)


def with_unknown(
    kinds: Sequence[Sequence[str]], extras: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """A well-formed session: one message per ``(kind, text)`` (a kind of the prefix, or
    ``unknown:<type>`` for a message of a type the protocol does not define), then a final and
    ``session.finalized``; ``extras[i]`` is merged into the ``i``-th object of the walk over
    every message and word (unknown keys). The stream completes with every final."""
    messages: list[dict[str, Any]] = []
    for at, (kind, text) in enumerate(kinds):
        if kind.startswith("unknown:"):
            messages.append({"type": kind.removeprefix("unknown:"), "transcript": text})
        else:
            messages.append(_prefix_message(kind, text, at))
    messages += [final("tail", len(messages)), dict(_FINALIZED)]
    objects: list[dict[str, Any]] = []
    for message in messages:
        objects.append(message)
        objects += [w for w in message.get("words", ()) if message["type"].endswith("transcript")]
    for obj, extra in zip(objects, extras, strict=False):
        obj.update(extra)
    unknown = sum(kind.startswith("unknown:") for kind, _ in kinds)
    return _example(
        "unknown",
        f"a well-formed session with unknown keys in {sum(map(bool, extras))} objects and "
        f"{unknown} messages of unknown types",
        messages,
        outcome="complete",
        finals=_finals(messages),
    )


def unknown_messages() -> st.SearchStrategy[dict[str, Any]]:
    """Well-formed sessions with unknown keys in messages and words and messages of unknown
    types anywhere (CLI-ROB-1: ignored, never an error)."""
    kinds = st.one_of(
        st.sampled_from(_PREFIX_KINDS), st.sampled_from([f"unknown:{t}" for t in UNKNOWN_TYPES])
    )
    return st.builds(
        with_unknown,
        st.lists(st.tuples(kinds, _texts), max_size=4),
        st.lists(st.one_of(st.just({}), _extras), min_size=1, max_size=10),
    )


UNKNOWN_MESSAGE_BOUNDARIES = [
    with_unknown(
        [("session.created", ""), ("unknown:session.warning", "x"), ("final", "hello")],
        [{"x_vendor": {"a": [1]}}] * 10,
    ),
    with_unknown([("unknown:x_vendor_event", "x")], [{}]),
    with_unknown([("interim", "hel"), ("unknown:", "?"), ("final", "hello")], [{"is_final": 1}]),
]
"""Unknown keys everywhere at once; an unknown type first, in place of ``session.created``;
one mid-segment."""


# -- silences (CLI-ROB-1: never a hang) ---------------------------------------------------------

SILENCE_TIMEOUT = 0.25
"""The client's timeout in silence examples: short, so examples stay quick."""
_SILENCE_FACTOR = 2.0


def silence_before(
    before: int, prefix: Sequence[Sequence[str]] = (), timeout: float = SILENCE_TIMEOUT
) -> dict[str, Any]:
    """No message for ``_SILENCE_FACTOR`` times ``timeout`` before the ``before``-th message
    (capped: before ``session.finalized``). An STT server is quiet while nothing is said, so
    the client may wait or give up with an error of the family; either way the stream ends
    (never a hang) and its finals are a prefix of those sent."""
    messages = [*_well_formed(prefix), final("late", len(prefix)), dict(_FINALIZED)]
    before = min(before, len(messages) - 1)
    seconds = round(timeout * _SILENCE_FACTOR, 3)
    return _example(
        "silence",
        f"no message for {seconds} s before message {before} (timeout {timeout} s)",
        messages,
        outcome="either",
        finals=_finals(messages),
        faults=[{"kind": "stall", "at_event": before, "seconds": seconds}],
        timeout=timeout,
    )


def silences() -> st.SearchStrategy[dict[str, Any]]:
    """Silence longer than the client's timeout at any point of a session."""
    return st.builds(silence_before, st.integers(0, 4), _prefixes)


SILENCE_BOUNDARIES = [silence_before(0), silence_before(9, prefix=[("final", "hello")])]
"""Silence before ``session.created`` and after the finalize."""
