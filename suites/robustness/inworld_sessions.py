"""Hostile Inworld clients for Inworld servers: hypothesis strategies whose examples are plain
JSON data (SPEC §5, §1.2 AUTH-6, §7 SRV-1..4).

Three kinds, each played while a valid session of the same endpoint runs beside it (SRV-2)
and followed by another (SRV-1: the server keeps serving):

A **request** to ``POST /tts/v1/voice:stream`` (:func:`hostile_inworld_requests`)::

    {
      "family": "request_mistyped",
      "what": "audioConfig.sampleRateHertz is \\"x\\"",
      "body": {"json": {...}} | {"text": "..."} | {"hex": "..."},
      "authorization": "key",   # key | missing | unknown | bearer | base64 | empty
      "expect": {"status": "bad", "rule": "SRV-1"}
    }

``expect.status``: ``bad`` (a 4xx with a JSON error body, SRV-1: 400 for a body no request
can be, SRV-4 for nesting), ``auth`` (401, AUTH-6), ``ok`` (200 with NDJSON audio: a long text
within the limits), ``not_5xx`` (a server of its own limits may take it or refuse it with a
4xx, never fail).

A **contexts session** on the TTS WebSocket (:func:`hostile_inworld_context_sessions`): the
``frames`` (text, ``{"binary": hex}``, ``{"await": context_id | null}`` for the answer about a
context or about none) after which a probe context (``create``, a sentence, ``flush``,
``close``) must still be served; ``hostile``: how many frames deserve an answer each (a failing
status for the context they name, or a top-level error); ``expect.close``: the close codes the
session must end with instead (a binary frame: 1003, SRV-3).

An **STT session** (:func:`hostile_inworld_transcribe_sessions`): the ``frames`` sent before a
valid stream (``transcribeConfig`` unless the example sends its own, speech, ``closeStream``);
each of ``hostile`` frames deserves Inworld's error frame, the speech after them must still be
transcribed and ``closeStream`` end the stream with 1000 (IW-STT-S-1), unless
``expect.close`` names the codes it must end with instead.

Examples shrink towards one hostile frame.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st
from voicewire.suites.inworld.raw_inworld_sessions import (
    TRANSCRIBE_CONFIG,
    context_close,
    context_create,
    context_flush,
    context_text,
    synthesize_body,
)
from voicewire.suites.robustness.json_values import JSON_VALUES
from voicewire.suites.robustness.stt_sessions import NOT_A_MESSAGE

__all__ = [
    "BAD_CONTEXT_ID",
    "HOSTILE_INWORLD_CONTEXT_SESSION_BOUNDARIES",
    "HOSTILE_INWORLD_REQUEST_BOUNDARIES",
    "HOSTILE_INWORLD_TRANSCRIBE_SESSION_BOUNDARIES",
    "INWORLD_AUTHORIZATIONS",
    "INWORLD_REQUEST_FIELDS",
    "context_out_of_order",
    "context_session_binary",
    "context_session_flood",
    "context_session_mistyped",
    "hostile_inworld_context_sessions",
    "hostile_inworld_requests",
    "hostile_inworld_transcribe_sessions",
    "request_authorization",
    "request_long_text",
    "request_mistyped",
    "request_nested",
    "request_not_a_request",
    "transcribe_session_bad",
    "transcribe_session_binary",
    "transcribe_session_flood",
]

# -- HTTP requests -------------------------------------------------------------------------------


def _base_request() -> dict[str, Any]:
    """A valid synthesis request as upstream sends it, for ``a``."""
    return json.loads(synthesize_body("a"))


def _request(
    family: str,
    what: str,
    body: dict[str, Any],
    status: str,
    *,
    rule: str = "SRV-1",
    authorization: str = "key",
) -> dict[str, Any]:
    return {
        "family": family,
        "what": what,
        "body": body,
        "authorization": authorization,
        "expect": {"status": status, "rule": rule},
    }


def request_not_a_request(line: str) -> dict[str, Any]:
    """A body that is no request (not JSON, no object, no ``text``): a 4xx JSON error."""
    return _request("request_not_a_request", f"a body {line[:40]!r}", {"text": line}, "bad")


_WRONG: dict[str, list[str]] = {
    "str": ["int", "float", "bool", "list", "object", "null"],
    "number": ["bool", "str", "list", "object"],
    "int": ["float", "bool", "str", "list", "object"],
    "object": ["int", "float", "bool", "str", "list"],
}

INWORLD_REQUEST_FIELDS: dict[str, str] = {
    "text": "str",
    "voiceId": "str",
    "modelId": "str",
    "audioConfig": "object",
    "audioConfig.audioEncoding": "str",
    "audioConfig.sampleRateHertz": "int",
    "audioConfig.bitrate": "int",
    "audioConfig.temperature": "number",
    "audioConfig.speakingRate": "number",
    "timestampTransportStrategy": "str",
}
"""The fields of a synthesis request a server reads (IW-HTTP-1), and their JSON type."""

_WRONG_VALUES: dict[str, list[Any]] = {
    "audioConfig.sampleRateHertz": [0, -24000, 10**12],
    "timestampTransportStrategy": ["SOMETIMES", ""],
}
"""Values of the right type that are still wrong."""


_OPTIONAL = {"audioConfig.audioEncoding", "timestampTransportStrategy"}
"""Fields a request may leave null (the server's default applies)."""


def _wrong_values(path: str) -> list[Any]:
    """Every JSON type but the field's own (null only where it is required), then the wrong
    values of its own type."""
    wrong = [
        JSON_VALUES[t]
        for t in _WRONG[INWORLD_REQUEST_FIELDS[path]]
        if not (t == "null" and path in _OPTIONAL)
    ]
    return wrong + _WRONG_VALUES.get(path, [])


def request_mistyped(path: str, value: Any) -> dict[str, Any]:
    """A request whose ``path`` holds ``value``, a wrong one: 400 naming it (SRV-1)."""
    body = _base_request()
    *parents, last = path.split(".")
    node = body
    for step in parents:
        node = node[step]
    node[last] = value
    return _request(
        "request_mistyped", f"{path} is {json.dumps(value)[:40]}", {"json": body}, "bad"
    )


def request_nested(depth: int, where: str) -> dict[str, Any]:
    """A body nested ``depth`` arrays deep, at the top or in ``audioConfig``: 400 (SRV-4)."""
    deep = "[" * depth + "]" * depth
    inside = json.dumps(_base_request())[:-1] + f', "x_extra": {deep}}}'
    text = deep if where == "top" else inside
    return _request(
        "request_nested", f"{depth} arrays deep ({where})", {"text": text}, "bad", rule="SRV-4"
    )


def request_long_text(length: int) -> dict[str, Any]:
    """A ``text`` of ``length`` characters, all spaces but one letter: within the limit (2000
    characters) a synthesis (200, NDJSON audio); over it, taken or refused with a 4xx, never
    a 5xx."""
    body = _base_request()
    body["text"] = " " * (length - 1) + "a"
    status = "ok" if length <= 2000 else "not_5xx"
    return _request("request_long_text", f"a text of {length} characters", {"json": body}, status)


INWORLD_AUTHORIZATIONS = ["missing", "unknown", "bearer", "base64", "empty", "trailing"]
"""``Authorization`` values that are not ``Basic <key>``: none, another key, another scheme,
the key encoded, nothing after the scheme, the key with a suffix."""


def request_authorization(variant: str) -> dict[str, Any]:
    """A valid request with an ``Authorization`` of ``variant``: 401 (AUTH-6)."""
    return _request(
        "request_authorization",
        f"Authorization {variant}",
        {"json": _base_request()},
        "auth",
        rule="AUTH-6",
        authorization=variant,
    )


_NOT_A_REQUEST = [
    "",
    "not json",
    "[]",
    "null",
    '"a"',
    "{}",
    '{"text": "a"',
    '{"voiceId": "Ashley"}',
]


def hostile_inworld_requests() -> st.SearchStrategy[dict[str, Any]]:
    """Synthesis requests that no server may take as they are, or that test its limits."""
    return st.one_of(
        st.builds(request_not_a_request, st.sampled_from(_NOT_A_REQUEST)),
        st.sampled_from(sorted(INWORLD_REQUEST_FIELDS)).flatmap(
            lambda path: st.builds(
                request_mistyped, st.just(path), st.sampled_from(_wrong_values(path))
            )
        ),
        st.builds(request_nested, st.sampled_from([200, 2000]), st.sampled_from(["top", "in"])),
        st.builds(request_long_text, st.sampled_from([1000, 2000, 2001, 5000])),
        st.builds(request_authorization, st.sampled_from(INWORLD_AUTHORIZATIONS)),
    )


HOSTILE_INWORLD_REQUEST_BOUNDARIES = [
    request_not_a_request("not json"),
    request_not_a_request("{}"),
    request_mistyped("audioConfig.sampleRateHertz", "24000"),
    request_mistyped("text", None),
    request_nested(2000, "top"),
    request_nested(200, "in"),
    request_long_text(2000),
    request_long_text(2001),
    request_authorization("missing"),
    request_authorization("base64"),
]
"""Not JSON, an empty object, the rate as a string, no text, nesting far too deep (at the top,
and inside a key no server reads), a text
exactly at the limit and one over it, no key, the key encoded."""


# -- TTS contexts -------------------------------------------------------------------------------

BAD_CONTEXT_ID = "ctx-hostile"
"""The context the hostile frames of a contexts session name."""


def _context_session(
    family: str,
    what: str,
    frames: list[Any],
    hostile: int,
    *,
    close: list[int] | None = None,
    rule: str = "SRV-1",
) -> dict[str, Any]:
    return {
        "family": family,
        "what": what,
        "frames": frames,
        "hostile": hostile,
        "expect": {"close": close, "rule": rule},
    }


def _named(message: dict[str, Any]) -> Any:
    """The context a frame names, as the answer about it is awaited (None: it names none)."""
    cid = message.get("contextId")
    return cid if isinstance(cid, str) else None


_CREATE = json.loads(context_create(BAD_CONTEXT_ID))

_MISTYPED_CONTEXT_FRAMES: dict[str, dict[str, Any]] = {
    "create not an object": {"create": 7, "contextId": BAD_CONTEXT_ID},
    "create.voiceId a number": {
        "create": {**_CREATE["create"], "voiceId": 7},
        "contextId": BAD_CONTEXT_ID,
    },
    "create.audioConfig a list": {
        "create": {**_CREATE["create"], "audioConfig": [1]},
        "contextId": BAD_CONTEXT_ID,
    },
    "create.audioConfig.sampleRateHertz a string": {
        "create": {
            **_CREATE["create"],
            "audioConfig": {**_CREATE["create"]["audioConfig"], "sampleRateHertz": "24000"},
        },
        "contextId": BAD_CONTEXT_ID,
    },
    "send_text.text a number": {"send_text": {"text": 7}, "contextId": BAD_CONTEXT_ID},
    "send_text not an object": {"send_text": "hi", "contextId": BAD_CONTEXT_ID},
    "contextId a number": {"flush_context": {}, "contextId": 7},
    "no contextId": {"close_context": {}},
    "no operation": {"contextId": BAD_CONTEXT_ID},
    "an unknown operation": {"rewind_context": {}, "contextId": BAD_CONTEXT_ID},
    "two operations": {"flush_context": {}, "close_context": {}, "contextId": BAD_CONTEXT_ID},
    "send_text over 1000 characters": {
        "send_text": {"text": "a" * 1001},
        "contextId": BAD_CONTEXT_ID,
    },
}
"""Frames of the wrong shape or types; each deserves a failing status for the context it
names, or a top-level error when it names none (SRV-1)."""


def context_session_mistyped(kind: str, after_create: bool) -> dict[str, Any]:
    """A frame of :data:`_MISTYPED_CONTEXT_FRAMES` (after a valid ``create`` of the context it
    names, or on a fresh socket), then the probe."""
    message = _MISTYPED_CONTEXT_FRAMES[kind]
    frames: list[Any] = []
    cid = _named(message)
    if after_create and cid is not None and "create" not in message:
        frames += [context_create(cid), {"await": cid}]
    frames += [json.dumps(message), {"await": cid}]
    where = " after its create" if len(frames) > 2 else ""
    return _context_session("context_mistyped", f"{kind}{where}", frames, 1)


def context_session_not_a_message(line: str) -> dict[str, Any]:
    """A text frame that is no client message: a top-level error or a failing status naming no
    context (SRV-1)."""
    return _context_session("context_not_a_message", repr(line[:40]), [line, {"await": None}], 1)


_C = BAD_CONTEXT_ID
_OUT_OF_ORDER: dict[str, tuple[list[Any], int]] = {
    "send_text before create": ([context_text(_C, "Hi."), {"await": _C}], 1),
    "flush before create": ([context_flush(_C), {"await": _C}], 1),
    "close before create": ([context_close(_C), {"await": _C}], 1),
    "create twice": (
        [context_create(_C), {"await": _C}, context_create(_C), {"await": _C}],
        1,
    ),
    "send_text after close": (
        [
            *(context_create(_C), context_close(_C), {"await": _C}, {"await": _C}),
            *(context_text(_C, "Hi."), {"await": _C}),
        ],
        1,
    ),
}
"""Messages out of order, each with its frames and how many deserve a failing status."""


def context_out_of_order(kind: str) -> dict[str, Any]:
    """A session whose messages come out of order (a key of :data:`_OUT_OF_ORDER`)."""
    frames, hostile = _OUT_OF_ORDER[kind]
    return _context_session("context_out_of_order", kind, list(frames), hostile)


def context_session_binary(data: str, after_create: bool) -> dict[str, Any]:
    """A binary frame (``data``, hex): the socket is closed with 1003 (SRV-3)."""
    frames: list[Any] = [context_create(_C), {"await": _C}] if after_create else []
    return _context_session(
        "context_binary",
        f"a binary frame of {len(data) // 2} bytes" + (" after a create" if after_create else ""),
        [*frames, {"binary": data}],
        0,
        close=[1003],
        rule="SRV-3",
    )


def context_session_flood(count: int, kind: str) -> dict[str, Any]:
    """``count`` hostile frames at once (``not_json``, or ``send_text`` to a context never
    created), then their answers: each gets one (SRV-1)."""
    if kind == "not_json":
        frame, await_ = "not json", {"await": None}
    else:
        frame, await_ = context_text(_C, "Hi."), {"await": _C}
    return _context_session(
        "context_flood",
        f"{count} frames of {kind} at once",
        [*([frame] * count), *([await_] * count)],
        count,
    )


def hostile_inworld_context_sessions() -> st.SearchStrategy[dict[str, Any]]:
    """Contexts sessions with bad, mistyped, out-of-order, binary or flooding frames."""
    return st.one_of(
        st.builds(context_session_not_a_message, st.sampled_from(NOT_A_MESSAGE)),
        st.builds(
            context_session_mistyped,
            st.sampled_from(sorted(_MISTYPED_CONTEXT_FRAMES)),
            st.booleans(),
        ),
        st.builds(context_out_of_order, st.sampled_from(sorted(_OUT_OF_ORDER))),
        st.builds(
            context_session_binary, st.sampled_from(["", "00", "7b7d", "ff" * 1600]), st.booleans()
        ),
        st.builds(context_session_flood, st.integers(2, 50), st.sampled_from(["not_json", "text"])),
    )


HOSTILE_INWORLD_CONTEXT_SESSION_BOUNDARIES = [
    context_session_not_a_message("not json at all"),
    context_session_mistyped("send_text.text a number", True),
    context_session_mistyped("no contextId", False),
    context_session_mistyped("send_text over 1000 characters", True),
    context_out_of_order("send_text before create"),
    context_out_of_order("send_text after close"),
    context_session_binary("00", True),
    context_session_flood(50, "not_json"),
]
"""One of each kind at its shallow edge: a piece one character too long, text after close, a
flood of fifty."""


# -- STT ----------------------------------------------------------------------------------------


def _transcribe_session(
    family: str,
    what: str,
    frames: list[Any],
    hostile: int,
    *,
    configured: bool = False,
    close: list[int] | None = None,
    rule: str = "SRV-1",
) -> dict[str, Any]:
    return {
        "family": family,
        "what": what,
        "frames": frames,
        "configured": configured,
        "hostile": hostile,
        "expect": {"close": close, "rule": rule},
    }


_CONFIG = json.loads(TRANSCRIBE_CONFIG)


def _config_with(path: str, value: Any) -> str:
    config = copy.deepcopy(_CONFIG)
    node = config["transcribeConfig"]
    *parents, last = path.split(".")
    for step in parents:
        node = node[step]
    node[last] = value
    return json.dumps(config)


_BAD_TRANSCRIBE: dict[str, tuple[list[str], bool]] = {
    # (frames, whether they configure the stream first)
    "audio before transcribeConfig": (['{"audioChunk": {"content": "AAAA"}}'], False),
    "endTurn before transcribeConfig": (['{"endTurn": {}}'], False),
    "transcribeConfig twice": ([TRANSCRIBE_CONFIG, TRANSCRIBE_CONFIG], True),
    "audioChunk.content a number": ([TRANSCRIBE_CONFIG, '{"audioChunk": {"content": 7}}'], True),
    "audioChunk not an object": ([TRANSCRIBE_CONFIG, '{"audioChunk": "AAAA"}'], True),
    "audio not base64": ([TRANSCRIBE_CONFIG, '{"audioChunk": {"content": "%%%"}}'], True),
    "audio not whole samples": ([TRANSCRIBE_CONFIG, '{"audioChunk": {"content": "AA=="}}'], True),
    "sampleRateHertz a string": ([_config_with("sampleRateHertz", "16000")], False),
    "transcribeConfig not an object": (['{"transcribeConfig": 7}'], False),
    "two channels": ([_config_with("numberOfChannels", 2)], False),
    "an unknown message": ([TRANSCRIBE_CONFIG, '{"rewind": {}}'], True),
}
"""Messages that are wrong in shape, type or order; each deserves an error frame."""


def transcribe_session_bad(kind: str) -> dict[str, Any]:
    """A message of :data:`_BAD_TRANSCRIBE`, then a valid stream."""
    frames, configured = _BAD_TRANSCRIBE[kind]
    return _transcribe_session("transcribe_bad", kind, list(frames), 1, configured=configured)


def transcribe_session_not_a_message(line: str, configured: bool) -> dict[str, Any]:
    """A text frame that is no client message, before or after ``transcribeConfig``."""
    frames = [TRANSCRIBE_CONFIG, line] if configured else [line]
    return _transcribe_session(
        "transcribe_not_a_message",
        f"{line[:40]!r} {'after' if configured else 'before'} transcribeConfig",
        frames,
        1,
        configured=configured,
    )


def transcribe_session_binary(data: str) -> dict[str, Any]:
    """A binary frame after ``transcribeConfig``: the socket is closed with 1003 (SRV-3)."""
    return _transcribe_session(
        "transcribe_binary",
        f"a binary frame of {len(data) // 2} bytes",
        [TRANSCRIBE_CONFIG, {"binary": data}],
        0,
        configured=True,
        close=[1003],
        rule="SRV-3",
    )


def transcribe_session_flood(count: int) -> dict[str, Any]:
    """``count`` frames that are not JSON at once, after ``transcribeConfig``: an error frame
    each (SRV-1)."""
    return _transcribe_session(
        "transcribe_flood",
        f"{count} frames that are not JSON",
        [TRANSCRIBE_CONFIG, *(["not json"] * count)],
        count,
        configured=True,
    )


def hostile_inworld_transcribe_sessions() -> st.SearchStrategy[dict[str, Any]]:
    """STT sessions with bad, mistyped, out-of-order, binary or flooding frames."""
    return st.one_of(
        st.builds(transcribe_session_not_a_message, st.sampled_from(NOT_A_MESSAGE), st.booleans()),
        st.builds(transcribe_session_bad, st.sampled_from(sorted(_BAD_TRANSCRIBE))),
        st.builds(transcribe_session_binary, st.sampled_from(["", "00", "7b7d", "ff" * 1600])),
        st.builds(transcribe_session_flood, st.integers(2, 50)),
    )


HOSTILE_INWORLD_TRANSCRIBE_SESSION_BOUNDARIES = [
    transcribe_session_not_a_message("not json at all", True),
    transcribe_session_bad("audio before transcribeConfig"),
    transcribe_session_bad("transcribeConfig twice"),
    transcribe_session_bad("audio not whole samples"),
    transcribe_session_binary("00"),
    transcribe_session_flood(50),
]
"""Not JSON, audio before the config, a second config, half a sample, a binary frame, a flood
of fifty."""
