"""Hostile TTS client sessions for TTS servers: hypothesis strategies whose examples are plain
JSON data.

An example is what one hostile peer of a TTS server (SPEC §4) does, and what SPEC §7 and §1.1
AUTH-4 require of the server. §4 has no server rule for a bad client message (TTS-S-1 and
TTS-S-2 say what a synthesis gets): the generic SRV-* rules judge it. Two kinds:

A **hostile session** (:func:`hostile_tts_sessions`) upgrades with a fresh token, plays
``frames`` in order and closes the socket with 1000::

    {
      "family": "bad_message",
      "what": "'not json at all' after session.create",
      "frames": ["CREATE", {"text": "not json at all"}, {"await": "error"},
                 {"say": "Still here."}, "FLUSH", {"await": "done"}],
      "hostile": 1,        # frames that each deserve a protocol error (SRV-1)
      "tolerated": 0,      # frames that may get one, or not (a flush with nothing pending)
      "expect": {"close": null, "rule": "SRV-1"}
    }

A frame is ``"CREATE"`` (``session.create`` as a client sends it), ``"FLUSH"``,
``{"say": sentence}`` (its ``input_transcript``), ``{"await": "done" | "error" | "answer"}``
(wait for the server's next ``done``, ``error``, or either), ``{"text": ...}`` (a text frame,
sent as it is), ``{"repeat": n, "text": ...}`` (n copies), ``{"binary": hex}`` (a binary
frame) or ``{"oversized": bytes}`` (an ``input_transcript`` text frame that many bytes longer
than the server's message limit). Every session ends with a valid synthesis, which must still
get its audio and ``done`` (the socket stays usable) unless the server closed the session.
``expect.close``: the close codes the session must end with (a binary frame: 1003, SRV-3; an
oversized message: 1009, SRV-4); null: each hostile frame gets an ``error`` with no 5xx code,
or the server closes the session with 1003 or 1008 (SRV-1).

A **peer** (:func:`tts_session_peers`) misbehaves around the session itself::

    {"family": "bad_token", "what": "token alg none", "peer": {"kind": "bad_token", "token": {...}}}
    {"family": "half_upgrade", "what": "...", "peer": {"kind": "half_upgrade", "cut": 40}}
    {"family": "reset", "what": "...", "peer": {"kind": "reset", "frames": ["CREATE", ...]}}
    {"family": "idle", "what": "...", "peer": {"kind": "idle", "frames": ["CREATE"]}}

a bad token at the upgrade (401 with the ``authentication_error`` body before any upgrade,
AUTH-4); half an upgrade request (closed by the server's head deadline, SRV-4); a TCP reset in
the middle of a synthesis (nothing to judge on the peer: the server keeps serving, SRV-1,
SRV-2); a session that goes quiet (closed with a code by the idle deadline, SRV-3, SRV-4).

Every example runs beside valid sessions and before another (SRV-2, SRV-1: the server keeps
serving whatever a peer did). Examples shrink towards one short session.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st
from voicewire.suites.robustness.json_values import JSON_VALUES
from voicewire.suites.robustness.requests import TOKEN_VARIANTS
from voicewire.suites.robustness.stt_sessions import NOT_A_MESSAGE, half_upgrade, upgrade_bad_token

__all__ = [
    "HOSTILE_TTS_SESSION_BOUNDARIES",
    "PROBE",
    "TRANSCRIPT_FIELDS",
    "TTS_CREATE_FIELDS",
    "TTS_OUT_OF_ORDER",
    "TTS_SESSION_PEER_BOUNDARIES",
    "bad_tts_message",
    "binary_tts_frame",
    "hostile_tts_sessions",
    "idle_tts_session",
    "mistyped_tts_field",
    "oversized_tts_message",
    "reset_mid_synthesis",
    "tts_flood",
    "tts_out_of_order",
    "tts_session_peers",
]

SENTENCE = "Hello there."
PROBE: list[Any] = [{"say": "Still here."}, "FLUSH", {"await": "done"}]
"""The valid synthesis that ends every hostile session: it must still get audio and ``done``."""
_ERROR = {"await": "error"}


def _session(
    family: str,
    what: str,
    frames: Sequence[Any],
    *,
    hostile: int,
    tolerated: int = 0,
    close: Sequence[int] | None = None,
    rule: str = "SRV-1",
) -> dict[str, Any]:
    return {
        "family": family,
        "what": what,
        "frames": [*frames, *PROBE],
        "hostile": hostile,
        "tolerated": tolerated,
        "expect": {"close": None if close is None else list(close), "rule": rule},
    }


def _around(frame: Any, before_create: bool, answer: Any = _ERROR) -> list[Any]:
    """``frame`` before ``session.create`` or after it, followed by a wait for its answer."""
    if before_create:
        return [frame, answer, "CREATE"]
    return ["CREATE", frame, answer]


def _where(before_create: bool) -> str:
    return "before session.create" if before_create else "after session.create"


# -- bad messages (SRV-1) ----------------------------------------------------------------------


def bad_tts_message(line: str, before_create: bool = False) -> dict[str, Any]:
    """A text frame that is no client message (one of STT's
    :data:`~voicewire.suites.robustness.stt_sessions.NOT_A_MESSAGE`: the JSON-frame protocols
    share them), before ``session.create`` or after it."""
    return _session(
        "bad_message",
        f"{line[:40]!r} {_where(before_create)}",
        _around({"text": line}, before_create),
        hostile=1,
    )


_WRONG: dict[str, list[str]] = {
    "str": ["int", "float", "bool", "list", "object", "null"],
    "object": ["int", "float", "bool", "str", "list", "null"],
}

TTS_CREATE_FIELDS: dict[str, str] = {
    "sample_rate": "str",
    "encoding": "str",
    "extra": "object",
    "voice": "str",
    "model": "str",
    "language": "str",
}
"""The ``session.create`` fields a server reads, and their JSON type (TTS-C-1: the rate is a
string; ``voice``, ``model`` and ``language`` may be absent, never of another type)."""

TRANSCRIPT_FIELDS: dict[str, str] = {
    "transcript": "str",
    "generation_config": "object",
    "generation_config.voice": "str",
    "extra": "object",
}
"""The ``input_transcript`` fields a server reads, and their JSON type (TTS-C-2)."""

_WRONG_VALUES: dict[str, list[Any]] = {
    "sample_rate": ["24k", "", "0", "-24000", "24000.0", "1000000", " 24000"],
    "encoding": ["pcm_f32le", "opus", ""],
}
"""Values of the right JSON type that are still wrong: a rate that is no positive integer of at
most six digits, an encoding other than ``pcm_s16le``."""

_OPTIONAL = {"voice", "model", "language", "generation_config.voice"}
"""Fields that may be null (or absent)."""


def _wrong_values(path: str, fields: dict[str, str]) -> list[Any]:
    """The wrong values of a field: every JSON type but its own (null only where the field is
    required), then the wrong values of its own type."""
    wrong = [
        JSON_VALUES[t] for t in _WRONG[fields[path]] if not (t == "null" and path in _OPTIONAL)
    ]
    return wrong + _WRONG_VALUES.get(path, [])


def _message(message_type: str) -> dict[str, Any]:
    if message_type == "session.create":
        return {
            "type": "session.create",
            "sample_rate": "24000",
            "encoding": "pcm_s16le",
            "extra": {},
            "model": "cartesia/sonic-3",
        }
    return {
        "type": "input_transcript",
        "transcript": f"{SENTENCE} ",
        "generation_config": {"model": "cartesia/sonic-3"},
        "extra": {},
    }


def mistyped_tts_field(message_type: str, path: str, value: Any) -> dict[str, Any]:
    """``session.create`` (sent instead of the valid one, which follows it) or
    ``input_transcript`` (sent after ``session.create``) whose ``path`` holds ``value``, a
    wrong one."""
    message = _message(message_type)
    *parents, last = path.split(".")
    node = message
    for step in parents:
        node = node[step]
    node[last] = value
    return _session(
        "mistyped",
        f"{message_type}.{path} is {json.dumps(value)[:40]}",
        _around({"text": json.dumps(message)}, message_type == "session.create"),
        hostile=1,
    )


TTS_OUT_OF_ORDER: dict[str, tuple[list[Any], int, int]] = {
    "input_transcript before session.create": ([{"say": SENTENCE}, _ERROR, "CREATE"], 1, 0),
    "session.flush before session.create": (["FLUSH", _ERROR, "CREATE"], 1, 0),
    "session.create twice": (["CREATE", "CREATE", _ERROR], 1, 0),
    "session.create again in a synthesis": (
        ["CREATE", {"say": SENTENCE}, "CREATE", _ERROR, "FLUSH", {"await": "done"}],
        1,
        0,
    ),
    # Empty input: an empty synthesis (done) or an error; both leave the socket usable.
    "session.flush with nothing pending": (["CREATE", "FLUSH", {"await": "answer"}], 0, 1),
}
"""Client messages out of order (TTS-C-1, TTS-C-3), each with the frames, how many of them
deserve an error and how many may get one."""


def tts_out_of_order(kind: str) -> dict[str, Any]:
    """A session whose messages come out of order (a key of :data:`TTS_OUT_OF_ORDER`)."""
    frames, hostile, tolerated = TTS_OUT_OF_ORDER[kind]
    return _session("out_of_order", kind, frames, hostile=hostile, tolerated=tolerated)


def binary_tts_frame(data: str, before_create: bool = False) -> dict[str, Any]:
    """A binary frame (``data``, hex) where text is expected: closed with 1003 (SRV-3)."""
    return _session(
        "binary_frame",
        f"a binary frame of {len(data) // 2} bytes {_where(before_create)}",
        _around({"binary": data}, before_create),
        hostile=1,
        close=[1003],
        rule="SRV-3",
    )


def oversized_tts_message(over: int) -> dict[str, Any]:
    """An ``input_transcript`` message ``over`` bytes longer than the server's message limit:
    closed with 1009 (SRV-4; a server of unknown limit may answer it with an error instead)."""
    return _session(
        "oversized",
        f"a message {over} bytes over the size limit",
        ["CREATE", {"oversized": over}, _ERROR],
        hostile=1,
        close=[1009],
        rule="SRV-4",
    )


def tts_flood(count: int, invalid: bool) -> dict[str, Any]:
    """``count`` frames as fast as the socket takes them: invalid ones (each gets an error, or
    the server closes with 1008), or ``count`` sentences of one synthesis (which it must
    speak)."""
    if invalid:
        frames: list[Any] = ["CREATE", {"repeat": count, "text": "not json"}]
        what = f"{count} frames that are not JSON"
    else:
        frames = ["CREATE", {"repeat": count, "say": "Hi."}]
        what = f"{count} sentences at once"
    return _session("flood", what, frames, hostile=count if invalid else 0)


def hostile_tts_sessions() -> st.SearchStrategy[dict[str, Any]]:
    """Sessions with bad, mistyped, out-of-order, binary, oversized or flooding frames
    (SRV-1, SRV-3, SRV-4)."""

    def field_of(message_type: str, fields: dict[str, str]) -> st.SearchStrategy[Any]:
        return st.sampled_from(sorted(fields)).flatmap(
            lambda path: st.builds(
                mistyped_tts_field,
                st.just(message_type),
                st.just(path),
                st.sampled_from(_wrong_values(path, fields)),
            )
        )

    return st.one_of(
        st.builds(bad_tts_message, st.sampled_from(NOT_A_MESSAGE), st.booleans()),
        field_of("session.create", TTS_CREATE_FIELDS),
        field_of("input_transcript", TRANSCRIPT_FIELDS),
        st.builds(tts_out_of_order, st.sampled_from(sorted(TTS_OUT_OF_ORDER))),
        st.builds(
            binary_tts_frame, st.sampled_from(["", "00", "7b7d", "ff" * 1600]), st.booleans()
        ),
        st.builds(oversized_tts_message, st.sampled_from([1, 1024])),
        st.builds(tts_flood, st.integers(2, 100), st.just(True)),
        # Each sentence is half a second of audio or so: a dozen keeps an example light.
        st.builds(tts_flood, st.integers(2, 12), st.just(False)),
    )


HOSTILE_TTS_SESSION_BOUNDARIES = [
    bad_tts_message("not json at all"),
    bad_tts_message('{"type": "no.such.type"}', before_create=True),
    mistyped_tts_field("session.create", "sample_rate", 24000),
    mistyped_tts_field("input_transcript", "transcript", 7),
    tts_out_of_order("input_transcript before session.create"),
    tts_out_of_order("session.create twice"),
    tts_out_of_order("session.flush with nothing pending"),
    binary_tts_frame("00"),
    oversized_tts_message(1),
    tts_flood(100, invalid=True),
]
"""One of each kind at its shallow edge: the rate as a number, a limit exceeded by one byte."""


# -- peers around the session (AUTH-4, SRV-1, SRV-2, SRV-3, SRV-4) -----------------------------


def reset_mid_synthesis(sentences: int) -> dict[str, Any]:
    """A session that drops its TCP connection (no close frame) in the middle of a synthesis:
    after ``session.create``, ``sentences`` sentences and ``session.flush``, while its audio
    is on its way."""
    frames: list[Any] = ["CREATE", *([{"say": SENTENCE}] * sentences), "FLUSH"]
    return {
        "family": "reset",
        "what": f"a TCP reset after {sentences} sentence(s) and session.flush",
        "peer": {"kind": "reset", "frames": frames},
    }


def idle_tts_session(after_create: bool) -> dict[str, Any]:
    """A session that goes quiet (after ``session.create``, or right after the upgrade): the
    server closes it with a code by its idle deadline (SRV-3, SRV-4)."""
    where = "after session.create" if after_create else "right after the upgrade"
    return {
        "family": "idle",
        "what": f"a session quiet {where}",
        "peer": {"kind": "idle", "frames": ["CREATE"] if after_create else []},
    }


def tts_session_peers() -> st.SearchStrategy[dict[str, Any]]:
    """Bad tokens at the upgrade, half upgrades, resets mid-synthesis and quiet sessions."""
    return st.one_of(
        st.builds(upgrade_bad_token, st.sampled_from(sorted(TOKEN_VARIANTS))),
        st.builds(reset_mid_synthesis, st.integers(0, 3)),
        st.builds(half_upgrade, st.integers(1, 120)),
        st.builds(idle_tts_session, st.booleans()),
    )


TTS_SESSION_PEER_BOUNDARIES = [
    upgrade_bad_token("missing"),
    upgrade_bad_token("alg none"),
    reset_mid_synthesis(1),
    half_upgrade(30),
    idle_tts_session(after_create=True),
]
"""No token, the ``none`` algorithm, a reset mid-synthesis, half a request line, a quiet
session."""
