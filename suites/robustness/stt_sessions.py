"""Hostile STT client sessions for STT servers: hypothesis strategies whose examples are plain
JSON data.

An example is what one hostile peer of an STT server (SPEC §3.1) does, and what SPEC §7 and
§1.1 AUTH-4 require of the server. Two kinds:

A **hostile session** (:func:`hostile_sessions`) upgrades with a fresh token and sends
``frames`` in order, then reads until the server closes::

    {
      "family": "bad_message",
      "what": "input_audio.audio is 7, after session.create",
      "frames": ["CREATE", {"audio": 0.1}, {"text": "{...}"}, {"audio": 0.1}, "FINALIZE"],
      "hostile": 1,                  # frames that each deserve a protocol error (SRV-1)
      "expect": {"close": null, "rule": "SRV-1"}
    }

A frame is ``"CREATE"`` (``session.create`` as a client sends it), ``"FINALIZE"``,
``{"audio": seconds}`` (that much silence in 50 ms ``input_audio`` frames), ``{"text": ...}``
(a text frame, sent as it is), ``{"repeat": n, "text": ...}`` (n copies), ``{"binary": hex}``
(a binary frame) or ``{"oversized": bytes}`` (an ``input_audio`` text frame that many bytes
longer than the server's message limit). ``expect.close``: the close codes the session must end
with (a binary frame: 1003, SRV-3; an oversized message: 1009, SRV-4); null: each hostile frame
gets an ``error`` 400 (STT-S-1) and the final ``session.finalize`` ends the session with
``session.finalized`` and 1000, unless the server closed it with 1003 or 1008 (SRV-1).

A **peer** (:func:`session_peers`) misbehaves around the session itself::

    {"family": "bad_token", "what": "token alg none", "peer": {"kind": "bad_token", "token": {...}}}
    {"family": "half_upgrade", "what": "...", "peer": {"kind": "half_upgrade", "cut": 40}}
    {"family": "reset", "what": "...", "peer": {"kind": "reset", "frames": ["CREATE", ...]}}
    {"family": "idle", "what": "...", "peer": {"kind": "idle", "frames": ["CREATE"]}}

a bad token at the upgrade (401 with the ``authentication_error`` body before any upgrade,
AUTH-4, for every token variant of :data:`voicewire.suites.robustness.requests.TOKEN_VARIANTS`);
half an upgrade request (closed by the server's head deadline, SRV-4); a TCP reset mid-session
(nothing to judge on the peer: the server keeps serving, SRV-1, SRV-2); a session that goes
quiet (closed with a code by the idle deadline, SRV-3, SRV-4).

Every example runs beside a valid session and before another (SRV-2, SRV-1: the server keeps
serving whatever a peer did). Examples shrink towards one short session.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st
from voicewire.suites.robustness.json_values import JSON_VALUES
from voicewire.suites.robustness.requests import TOKEN_VARIANTS

__all__ = [
    "AUDIO_FIELDS",
    "CREATE_FIELDS",
    "HOSTILE_SESSION_BOUNDARIES",
    "NOT_A_MESSAGE",
    "OUT_OF_ORDER",
    "SESSION_PEER_BOUNDARIES",
    "bad_message",
    "binary_client_frame",
    "flood",
    "half_upgrade",
    "hostile_sessions",
    "idle",
    "mistyped_field",
    "out_of_order",
    "oversized",
    "reset_mid_session",
    "session_peers",
    "upgrade_bad_token",
]

_AUDIO = {"audio": 0.1}
"""Two 50 ms frames of silence."""


def _session(
    family: str,
    what: str,
    frames: Sequence[Any],
    *,
    hostile: int,
    close: Sequence[int] | None = None,
    rule: str = "SRV-1",
) -> dict[str, Any]:
    return {
        "family": family,
        "what": what,
        "frames": list(frames),
        "hostile": hostile,
        "expect": {"close": None if close is None else list(close), "rule": rule},
    }


def _around(line: Any, before_create: bool) -> list[Any]:
    """A valid session with ``line`` (a frame) before ``session.create`` or in its audio."""
    if before_create:
        return [line, "CREATE", _AUDIO, "FINALIZE"]
    return ["CREATE", _AUDIO, line, _AUDIO, "FINALIZE"]


def _where(before_create: bool) -> str:
    return "before session.create" if before_create else "after session.create"


# -- bad messages (STT-S-1, SRV-1) -------------------------------------------------------------

NOT_A_MESSAGE = [
    "not json at all",
    "",
    '{"type": "input_audio", "audio": ',
    "{'type': 'session.finalize'}",
    '{"type": "input_audio", "audio": NaN}',
    "[1, 2]",
    "null",
    '"session.create"',
    "42",
    '{"audio": "AAAA"}',
    '{"type": 7}',
    '{"type": null}',
    '{"type": "no.such.type"}',
    '{"type": "SESSION.CREATE"}',
    '{"type": ["input_audio"]}',
]
"""Text frames that are no client message: not JSON, not an object, no usable ``type``."""


def bad_message(line: str, before_create: bool = False) -> dict[str, Any]:
    """A text frame that is no client message, before ``session.create`` or after it."""
    return _session(
        "bad_message",
        f"{line[:40]!r} {_where(before_create)}",
        _around({"text": line}, before_create),
        hostile=1,
    )


_VALUES = JSON_VALUES
_WRONG: dict[str, list[str]] = {
    "str": ["int", "float", "bool", "list", "object", "null"],
    "object": ["int", "float", "bool", "str", "list", "null"],
}

CREATE_FIELDS: dict[str, str] = {
    "settings": "object",
    "settings.sample_rate": "str",
    "settings.encoding": "str",
    "settings.extra": "object",
    "settings.language": "str",
    "model": "str",
}
"""The ``session.create`` fields a server reads, and their JSON type (STT-C-1; ``language``
and ``model`` may be absent, never of another type)."""

AUDIO_FIELDS: dict[str, str] = {"audio": "str"}
"""The ``input_audio`` field a server reads (STT-C-2)."""

_WRONG_VALUES: dict[str, list[Any]] = {
    "settings.sample_rate": ["16k", "", "0", "-16000", "16000.0", "1000000", " 16000"],
    "settings.encoding": ["pcm_f32le", "opus", ""],
    "audio": [
        "not base64!",
        "AAA",
        "A",
        "AQ==",
        "AAAA\nAAAA",
        base64.b64encode(bytes(2 * 801)).decode(),
        base64.b64encode(bytes(2 * 16001)).decode(),
    ],
}
"""Values of the right JSON type that are still wrong: a rate that is no positive integer of at
most six digits, an encoding other than ``pcm_s16le``, audio that is no padded base64, an odd
number of bytes (``AQ==``: one byte) or longer than a 50 ms frame (801 samples at 16 kHz)."""

_OPTIONAL = {"settings.language", "model"}
"""Fields that may be null (or absent)."""


def _wrong_values(path: str) -> list[Any]:
    """The wrong values of a ``session.create`` field: every JSON type but its own (null only
    where the field is required), then the wrong values of its own type."""
    types = _WRONG[CREATE_FIELDS[path]]
    wrong = [_VALUES[t] for t in types if not (t == "null" and path in _OPTIONAL)]
    return wrong + _WRONG_VALUES.get(path, [])


def _create() -> dict[str, Any]:
    return {
        "settings": {"sample_rate": "16000", "encoding": "pcm_s16le", "extra": {}},
        "model": "deepgram/nova-3",
        "type": "session.create",
    }


def _set(message: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = message
    for step in parents:
        node = node[step]
    node[last] = value


def mistyped_field(message_type: str, path: str, value: Any) -> dict[str, Any]:
    """``session.create`` (sent instead of the valid one, which follows it) or ``input_audio``
    (sent after ``session.create``) whose ``path`` holds ``value``, a wrong one."""
    if message_type == "session.create":
        message = _create()
        before_create = True
    else:
        message = {"type": "input_audio", "audio": ""}
        before_create = False
    _set(message, path, value)
    return _session(
        "mistyped",
        f"{message_type}.{path} is {json.dumps(value)[:40]}",
        _around({"text": json.dumps(message)}, before_create),
        hostile=1,
    )


OUT_OF_ORDER: dict[str, list[Any]] = {
    "audio before session.create": [_AUDIO, "CREATE", _AUDIO, "FINALIZE"],
    "session.finalize before session.create": ["FINALIZE", "CREATE", _AUDIO, "FINALIZE"],
    "session.update before session.create": [
        {"text": '{"type": "session.update", "settings": {"language": "fr"}}'},
        "CREATE",
        "FINALIZE",
    ],
    "session.create twice": ["CREATE", _AUDIO, "CREATE", _AUDIO, "FINALIZE"],
    "audio after session.finalize": ["CREATE", _AUDIO, "FINALIZE", _AUDIO],
    "session.finalize twice": ["CREATE", _AUDIO, "FINALIZE", "FINALIZE"],
}
"""Client messages out of order (STT-C-1, STT-C-3): each one before ``session.create`` or
after the finalize deserves an error. After the finalize the server closes at once, so what
comes after it may arrive too late for an answer: those examples count no hostile frame."""

_HOSTILE_IN_ORDER = {
    "audio before session.create": 2,
    "session.finalize before session.create": 1,
    "session.update before session.create": 1,
    "session.create twice": 1,
    "audio after session.finalize": 0,
    "session.finalize twice": 0,
}


def out_of_order(kind: str) -> dict[str, Any]:
    """A session whose messages come out of order (a key of :data:`OUT_OF_ORDER`)."""
    return _session("out_of_order", kind, OUT_OF_ORDER[kind], hostile=_HOSTILE_IN_ORDER[kind])


def binary_client_frame(data: str, before_create: bool = False) -> dict[str, Any]:
    """A binary frame (``data``, hex) where text is expected: closed with 1003 (SRV-3)."""
    return _session(
        "binary_frame",
        f"a binary frame of {len(data) // 2} bytes {_where(before_create)}",
        _around({"binary": data}, before_create),
        hostile=1,
        close=[1003],
        rule="SRV-3",
    )


def oversized(over: int) -> dict[str, Any]:
    """An ``input_audio`` message ``over`` bytes longer than the server's message limit:
    closed with 1009 (SRV-4; a server of unknown limit may answer the over-long frame with an
    error instead, STT-C-2)."""
    return _session(
        "oversized",
        f"a message {over} bytes over the size limit",
        ["CREATE", {"oversized": over}, "FINALIZE"],
        hostile=1,
        close=[1009],
        rule="SRV-4",
    )


def flood(count: int, invalid: bool) -> dict[str, Any]:
    """``count`` frames as fast as the socket takes them: invalid ones (each gets an error, or
    the server closes with 1008), or 50 ms audio frames (``count`` / 20 seconds of audio,
    which the session must take)."""
    if invalid:
        frames = ["CREATE", {"repeat": count, "text": "not json"}, "FINALIZE"]
        what = f"{count} frames that are not JSON"
    else:
        frames = ["CREATE", {"audio": round(count * 0.05, 3)}, "FINALIZE"]
        what = f"{count} audio frames at once"
    return _session("flood", what, frames, hostile=count if invalid else 0)


def hostile_sessions() -> st.SearchStrategy[dict[str, Any]]:
    """Sessions with bad, mistyped, out-of-order, binary, oversized or flooding frames
    (STT-S-1, SRV-1, SRV-3, SRV-4)."""
    create_fields = st.sampled_from(sorted(CREATE_FIELDS)).flatmap(
        lambda path: st.tuples(
            st.just("session.create"),
            st.just(path),
            st.sampled_from(_wrong_values(path)),
        )
    )
    audio_values = st.one_of(
        st.sampled_from([_VALUES[t] for t in _WRONG["str"]]),
        st.sampled_from(_WRONG_VALUES["audio"]),
    )
    return st.one_of(
        st.builds(bad_message, st.sampled_from(NOT_A_MESSAGE), st.booleans()),
        create_fields.flatmap(lambda f: st.just(mistyped_field(*f))),
        st.builds(mistyped_field, st.just("input_audio"), st.just("audio"), audio_values),
        st.builds(out_of_order, st.sampled_from(sorted(OUT_OF_ORDER))),
        st.builds(
            binary_client_frame, st.sampled_from(["", "00", "7b7d", "ff" * 1600]), st.booleans()
        ),
        st.builds(oversized, st.sampled_from([1, 1024])),
        st.builds(flood, st.integers(20, 300), st.booleans()),
    )


HOSTILE_SESSION_BOUNDARIES = [
    bad_message("not json at all"),
    bad_message('{"type": "no.such.type"}', before_create=True),
    mistyped_field("session.create", "settings.sample_rate", 16000),
    mistyped_field("input_audio", "audio", "AQ=="),
    out_of_order("audio before session.create"),
    out_of_order("session.create twice"),
    binary_client_frame("00"),
    oversized(1),
    flood(200, invalid=True),
]
"""One of each kind at its shallow edge: an odd byte count, a limit exceeded by one byte."""


# -- peers around the session (AUTH-4, SRV-1, SRV-2, SRV-3, SRV-4) -----------------------------


def _peer(family: str, what: str, **peer: Any) -> dict[str, Any]:
    return {"family": family, "what": what, "peer": {"kind": family, **peer}}


def upgrade_bad_token(variant: str) -> dict[str, Any]:
    """An upgrade with the token ``variant`` (a key of ``TOKEN_VARIANTS``): 401 with the
    ``authentication_error`` body, never an upgrade (AUTH-4)."""
    return _peer("bad_token", f"token {variant}", token=TOKEN_VARIANTS[variant], variant=variant)


def half_upgrade(cut: int) -> dict[str, Any]:
    """The first ``cut`` bytes of a valid upgrade request, then nothing: the server closes the
    connection by its head deadline (SRV-4), never upgrades it."""
    return _peer("half_upgrade", f"the first {cut} bytes of an upgrade request", cut=cut)


def reset_mid_session(audio: float) -> dict[str, Any]:
    """A valid session that drops its TCP connection (no close frame) after
    ``session.create`` and ``audio`` seconds of audio."""
    frames: list[Any] = ["CREATE", {"audio": audio}] if audio else ["CREATE"]
    return _peer("reset", f"a TCP reset after {audio} s of audio", frames=frames)


def idle(after_create: bool) -> dict[str, Any]:
    """A session that goes quiet (after ``session.create``, or right after the upgrade): the
    server closes it with a code by its idle deadline (SRV-3, SRV-4)."""
    frames = ["CREATE"] if after_create else []
    where = "after session.create" if after_create else "right after the upgrade"
    return _peer("idle", f"a session quiet {where}", frames=frames)


def session_peers() -> st.SearchStrategy[dict[str, Any]]:
    """Bad tokens at the upgrade, half upgrades, resets and quiet sessions."""
    return st.one_of(
        st.builds(upgrade_bad_token, st.sampled_from(sorted(TOKEN_VARIANTS))),
        st.builds(reset_mid_session, st.sampled_from([0.0, 0.05, 0.5])),
        st.builds(half_upgrade, st.integers(1, 120)),
        st.builds(idle, st.booleans()),
    )


SESSION_PEER_BOUNDARIES = [
    upgrade_bad_token("missing"),
    upgrade_bad_token("alg none"),
    reset_mid_session(0.05),
    half_upgrade(30),
    idle(after_create=True),
]
"""No token, the ``none`` algorithm, a reset mid-audio, half a request line, a quiet session."""
