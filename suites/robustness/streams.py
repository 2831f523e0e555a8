"""Hostile streams for LLM clients: hypothesis strategies whose examples are plain JSON data.

An example is what one response of a broken, hostile or newer server looks like, and what
SPEC §2.4a requires of a client that reads it::

    {
      "family": "wrong_type",                 # which strategy made it
      "what": "choices[0].delta.content is 1.5",
      "status": 200,
      "content_type": "text/event-stream",    # null: no Content-Type header
      "body": [{"text": "data: {...}\\n\\n"}, {"hex": "ff"}, {"sleep": 0.4}],
      "end": "close",                         # close: a clean end; reset: the connection drops
      "timeout": 5.0,                         # the client's timeout for this example
      "expect": {
        "outcome": "error",                   # error | complete | either
        "kind": "APIConnectionError",         # the error class, when one is required
        "status_code": null,
        "retryable": null,                    # null: per RETRY-2 (true until visible output)
        "text": "Hi"                          # the text of the well-formed events
      }
    }

``body`` is written piece by piece, exactly (a ``text`` piece as UTF-8, a ``hex`` piece as its
bytes, a ``sleep`` piece as a pause in seconds); the pieces are the hostile bytes cut at
arbitrary points, so every example also exercises the client's reassembly. :func:`raw_rule`
turns an example into the simulator rule that plays it.

The strategies:

- :func:`hostile_bodies`: malformed JSON, JSON of the wrong shape or types for every field the
  client reads, 2xx answers that are not ``text/event-stream``, bodies that are not SSE, JSON
  nested too deep, invalid UTF-8, numbers Python refuses, in-band error objects, truncated
  final events, connections reset mid-stream, and error statuses with hostile bodies;
- :func:`unknown_keys`: well-formed streams with unknown keys everywhere (LLM-ROB-2);
- :func:`slow_streams`: keep-alive floods that last longer than the timeout without ever
  leaving a gap as long as it, and stalls longer than it before or after output (LLM-ROB-3).

Every strategy's examples shrink towards short, readable bodies.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st
from voicewire.reference.errors import error_body
from voicewire.reference.llm.wire import DONE_EVENT, chat_chunk, encode_comment, encode_event
from voicewire.suites.robustness.json_values import NON_NULL_JSON_VALUES

__all__ = [
    "API_ERRORS",
    "ERROR_BODIES",
    "ERROR_STATUSES",
    "NOT_A_CHUNK",
    "NOT_JSON",
    "NOT_SSE",
    "NOT_UTF8",
    "SLOW_BOUNDARIES",
    "SLOW_TIMEOUT",
    "TYPED_FIELDS",
    "UNKNOWN_KEY_BOUNDARIES",
    "WRONG_CONTENT_TYPES",
    "error_status",
    "hostile_bodies",
    "hostile_body_boundaries",
    "in_band_error",
    "invalid_utf8",
    "keepalive_flood",
    "malformed_json",
    "not_sse",
    "raw_rule",
    "reset",
    "slow_streams",
    "stall",
    "stream_text",
    "too_big_for_the_parser",
    "truncated",
    "unknown_keys",
    "with_unknown_keys",
    "wrong_content_type",
    "wrong_type",
]

API_ERRORS = ("APIConnectionError", "APIStatusError", "APITimeoutError")
"""The APIError family (RETRY-1): the only error classes a stream may end with."""

_ID = "chatcmpl-hostile"
_CREATED = 1_700_000_000
_MODEL = "openai/gpt-4.1-mini"
_DEFAULT_TIMEOUT = 10.0
# A stall is this many times the client's timeout: a client that waited it out would see the
# rest of the stream and complete instead of timing out, which the check then catches.
_STALL_FACTOR = 8.0

_texts = st.text(alphabet=st.sampled_from('abcdefghij XYZ,.!?é中😀\n\\"'), min_size=1, max_size=12)


def _chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return chat_chunk(_ID, _CREATED, _MODEL, delta, finish_reason)


def _event(payload: Any) -> bytes:
    return encode_event(payload, ascii_only=False)


def _pieces(data: bytes, cuts: Sequence[int]) -> list[dict[str, Any]]:
    """``data`` cut at ``cuts`` into writes: ``text`` pieces where the bytes are UTF-8 (a cut
    may fall inside a character, so the piece on either side becomes ``hex``)."""
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(data)}), len(data)]
    pieces = []
    for start, stop in itertools.pairwise(bounds):
        part = data[start:stop]
        try:
            pieces.append({"text": part.decode("utf-8")})
        except UnicodeDecodeError:
            pieces.append({"hex": part.hex()})
    return pieces


_cuts = st.lists(st.integers(1, 1 << 20), max_size=6, unique=True)
"""Where a body is cut into writes (positions past its end are ignored)."""

_prefix_texts = st.lists(st.one_of(st.just(""), _texts), max_size=2)
"""The content chunks a hostile part may follow: some empty, which is not visible output."""


def _prefix(texts: Sequence[str]) -> tuple[bytes, str]:
    """Well-formed events: the role chunk, then one content chunk per text."""
    data = _event(_chunk({"role": "assistant", "content": ""}))
    for text in texts:
        data += _event(_chunk({"content": text}))
    return data, "".join(texts)


def _example(
    family: str,
    what: str,
    data: bytes,
    cuts: Sequence[int],
    *,
    outcome: str,
    text: str = "",
    kind: str | None = None,
    status: int = 200,
    content_type: str | None = "text/event-stream",
    status_code: int | None = None,
    retryable: bool | str = "per_output",
    end: str = "close",
    timeout: float = _DEFAULT_TIMEOUT,
    body: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An example; ``body`` (pieces with sleeps) replaces ``data`` cut at ``cuts``."""
    return {
        "family": family,
        "what": what,
        "status": status,
        "content_type": content_type,
        "body": _pieces(data, cuts) if body is None else body,
        "end": end,
        "timeout": timeout,
        "expect": {
            "outcome": outcome,
            "kind": kind,
            "status_code": status_code,
            "retryable": retryable,
            "text": text,
        },
    }


def stream_text(example: dict[str, Any]) -> bytes:
    """The bytes an example's body writes (sleeps left out)."""
    out = b""
    for piece in example["body"]:
        if "text" in piece:
            out += piece["text"].encode("utf-8")
        elif "hex" in piece:
            out += bytes.fromhex(piece["hex"])
    return out


def raw_rule(example: dict[str, Any]) -> dict[str, Any]:
    """The simulator rule that answers every chat completion with ``example``'s response."""
    headers = {} if example["content_type"] is None else {"Content-Type": example["content_type"]}
    return {
        "raw": {
            "status": example["status"],
            "headers": headers,
            "body": example["body"],
            "end": example["end"],
        }
    }


# -- hostile bodies (LLM-ROB-1, RETRY-1, RETRY-2, RETRY-3) -----------------------------------

# Values of every JSON type; each field draws those its type excludes. JSON null is never a
# wrong type here: every optional field the client reads may be null.
_VALUES = NON_NULL_JSON_VALUES

_TOOL_FRAGMENT = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f"}}

TYPED_FIELDS: dict[str, str] = {
    "choices": "list",
    "choices[0]": "object",
    "choices[0].index": "int",
    "choices[0].delta": "object",
    "choices[0].delta.content": "str",
    "choices[0].delta.role": "str",
    "choices[0].delta.tool_calls": "list",
    "choices[0].delta.tool_calls[0]": "object",
    "choices[0].delta.tool_calls[0].index": "int",
    "choices[0].delta.tool_calls[0].id": "str",
    "choices[0].delta.tool_calls[0].function": "object",
    "choices[0].delta.tool_calls[0].function.name": "str",
    "choices[0].delta.tool_calls[0].function.arguments": "str",
    "choices[0].finish_reason": "str",
    "usage": "object",
    "usage.prompt_tokens": "int",
    "usage.completion_tokens": "int",
    "id": "str",
}
"""Every chunk field a client reads, and its JSON type (besides null)."""


def _with(path: str, value: Any) -> dict[str, Any]:
    """A chunk whose ``path`` holds ``value`` (the rest well-formed)."""
    chunk = _chunk({"content": "", "tool_calls": [json.loads(json.dumps(_TOOL_FRAGMENT))]})
    chunk["usage"] = {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    steps = path.replace("]", "").replace("[", ".").split(".")
    node: Any = chunk
    for step in steps[:-1]:
        node = node[int(step)] if step.isdigit() else node[step]
    node[int(steps[-1]) if steps[-1].isdigit() else steps[-1]] = value
    return chunk


def wrong_type(
    path: str, type_name: str, prefix: Sequence[str] = (), cuts: Sequence[int] = ()
) -> dict[str, Any]:
    """After ``prefix``'s content chunks, a chunk whose ``path`` (a key of
    :data:`TYPED_FIELDS`) holds a value of the JSON type ``type_name`` (a wrong one)."""
    if TYPED_FIELDS[path] == type_name:
        raise ValueError(f"{type_name} is the right type for {path}")
    data, text = _prefix(prefix)
    data += _event(_with(path, _VALUES[type_name])) + DONE_EVENT
    what = f"{path} is {json.dumps(_VALUES[type_name])}"
    return _example(
        "wrong_type", what, data, cuts, outcome="error", kind="APIConnectionError", text=text
    )


NOT_JSON = [
    b'{"id": "x", "choices": [{',
    b"{'single': 'quotes'}",
    b"undefined",
    b"NaNx",
    b'{"a": 1}}',
]
NOT_A_CHUNK = [b"[1,2]", b"null", b'"text"', b"42", b"true", b'{"error": 5}', b'{"error": "x"}']
"""JSON, but no chunk: an ``error`` key that holds no error object is neither."""


def malformed_json(
    payload: bytes, prefix: Sequence[str] = (), cuts: Sequence[int] = ()
) -> dict[str, Any]:
    """After ``prefix``'s content chunks, ``data: <payload>`` with a payload that is no chunk."""
    data, text = _prefix(prefix)
    data += b"data: " + payload + b"\n\n" + DONE_EVENT
    what = f"a data line holds {payload.decode()!r}"
    return _example(
        "malformed_json", what, data, cuts, outcome="error", kind="APIConnectionError", text=text
    )


def too_big_for_the_parser(
    which: str, size: int, prefix: Sequence[str] = (), cuts: Sequence[int] = ()
) -> dict[str, Any]:
    """JSON nested ``size`` deep where the choices belong (``which="nesting"``; whatever a
    parser allows, the innermost choices are no objects: an error), or a token count of
    ``size`` digits (``which="digits"``: valid JSON some parsers refuse; the stream completes
    or ends in an ``APIConnectionError``, never in another exception)."""
    data, text = _prefix(prefix)
    if which == "nesting":
        payload = b'{"choices": ' + b"[" * size + b"]" * size + b"}"
        what = f"JSON nested {size} deep"
        outcome, kind = "error", "APIConnectionError"
    else:
        payload = b'{"choices": [], "usage": {"prompt_tokens": ' + b"9" * size + b"}}"
        what = f"a token count of {size} digits"
        outcome, kind = "either", "APIConnectionError"
    data += b"data: " + payload + b"\n\n" + DONE_EVENT
    return _example(
        "too_big_for_the_parser", what, data, cuts, outcome=outcome, kind=kind, text=text
    )


NOT_UTF8 = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"]


def invalid_utf8(
    bad: bytes, prefix: Sequence[str] = (), cuts: Sequence[int] = ()
) -> dict[str, Any]:
    """A content string holding ``bad`` (bytes that are not UTF-8)."""
    data, text = _prefix(prefix)
    data += b'data: {"id": "x", "choices": [{"delta": {"content": "' + bad
    data += b'"}}]}\n\n' + DONE_EVENT
    what = f"a data line holds the bytes {bad.hex()} (not UTF-8)"
    return _example(
        "invalid_utf8", what, data, cuts, outcome="error", kind="APIConnectionError", text=text
    )


NOT_SSE = [
    b"",
    b"<html><body>502 Bad Gateway</body></html>",
    b"hello, this is not server-sent events\n",
    b": keep-alive\n\n: keep-alive\n\n",
    b"event: ping\n\n",
    b'{"choices": [{"delta": {"content": "Hi"}}]}',
    b"id: 1\nretry: 100\n\n",
]


def not_sse(body: bytes, cuts: Sequence[int] = ()) -> dict[str, Any]:
    """A 200 ``text/event-stream`` answer whose body has no data event."""
    what = f"a 200 text/event-stream body with no data event: {body[:40]!r}"
    return _example("not_sse", what, body, cuts, outcome="error", kind="APIConnectionError")


WRONG_CONTENT_TYPES = [None, "text/html", "application/json", "text/plain", "application/x-ndjson"]


def wrong_content_type(
    status: int, content_type: str | None, body: bytes, cuts: Sequence[int] = ()
) -> dict[str, Any]:
    """A 2xx answer that is not ``text/event-stream`` (None: no Content-Type header)."""
    if status == 204:
        body, content_type = b"", None
    what = f"a {status} answer with content type {content_type!r}"
    return _example(
        "wrong_content_type",
        what,
        body,
        cuts,
        outcome="error",
        kind="APIConnectionError",
        status=status,
        content_type=content_type,
    )


def in_band_error(
    code: int, prefix: Sequence[str] = (), cuts: Sequence[int] = ()
) -> dict[str, Any]:
    """An error object in the stream (LLM-SSE-5's body) where a chunk belongs: any error of the
    family, retryable or not (SPEC leaves the class to the client)."""
    data, text = _prefix(prefix)
    data += _event(error_body(code, "simulated in-band error", "server_error")) + DONE_EVENT
    what = f"an in-band error object with code {code}"
    return _example("in_band_error", what, data, cuts, outcome="error", text=text, retryable="any")


def truncated(
    cut: int, end: str, prefix: Sequence[str] = (), cuts: Sequence[int] = ()
) -> dict[str, Any]:
    """The final event cut after ``cut`` bytes, then the connection ends (``close``) or drops
    (``reset``). A cut event is no event, so at most the text before it reaches the consumer;
    a clean close may end the stream normally or in an error, a reset is an error."""
    data, text = _prefix(prefix)
    last = _event(_chunk({"content": "tail"}))
    cut = max(1, min(cut, len(last) - 1))
    what = f"the final event cut after {cut} of {len(last)} bytes, then {end}"
    return _example(
        "truncated",
        what,
        data + last[:cut],
        cuts,
        outcome="error" if end == "reset" else "either",
        kind="APIConnectionError" if end == "reset" else None,
        text=text,
        end=end,
    )


def reset(prefix: Sequence[str] = (), cuts: Sequence[int] = ()) -> dict[str, Any]:
    """The connection drops after ``prefix``'s events."""
    data, text = _prefix(prefix)
    what = "the connection drops mid-stream"
    return _example(
        "reset",
        what,
        data,
        cuts,
        outcome="error",
        kind="APIConnectionError",
        text=text,
        end="reset",
    )


ERROR_STATUSES = [400, 401, 403, 404, 408, 409, 413, 422, 429, 499, 500, 502, 503]
ERROR_BODIES = [
    b"",
    b"<html><body>Internal Server Error</body></html>",
    b"\xff\xfe not UTF-8",
    b'{"error": {"message": "overloaded", "type": "server_error", "code": 503}}',
    b'{"error": null}',
    b"[1, 2, 3]",
    b"x" * 70_000,
]


def error_status(
    status: int, content_type: str | None, body: bytes, cuts: Sequence[int] = ()
) -> dict[str, Any]:
    """A non-2xx answer with a hostile body: an ``APIStatusError`` with that status, retryable
    per RETRY-3."""
    retryable = not (400 <= status < 500) or status in (408, 429, 499)
    what = f"HTTP {status} ({content_type}) with a {len(body)}-byte body"
    return _example(
        "error_status",
        what,
        body,
        cuts,
        outcome="error",
        kind="APIStatusError",
        status=status,
        content_type=content_type,
        status_code=status,
        retryable=retryable,
    )


def hostile_bodies() -> st.SearchStrategy[dict[str, Any]]:
    """Responses whose bytes are broken or hostile (LLM-ROB-1; the error class per RETRY-1,
    ``retryable`` per RETRY-2 and RETRY-3), each cut into writes at arbitrary points."""
    fields = st.sampled_from(sorted(TYPED_FIELDS)).flatmap(
        lambda path: st.tuples(
            st.just(path), st.sampled_from([t for t in _VALUES if t != TYPED_FIELDS[path]])
        )
    )
    sse_body = _event(_chunk({"content": "Hi"})) + DONE_EVENT
    return st.one_of(
        st.builds(malformed_json, st.sampled_from(NOT_JSON + NOT_A_CHUNK), _prefix_texts, _cuts),
        fields.flatmap(
            lambda f: st.builds(wrong_type, st.just(f[0]), st.just(f[1]), _prefix_texts, _cuts)
        ),
        st.builds(not_sse, st.sampled_from(NOT_SSE), _cuts),
        st.builds(
            wrong_content_type,
            st.sampled_from([200, 201, 204]),
            st.sampled_from(WRONG_CONTENT_TYPES),
            st.sampled_from([sse_body, b"<html>ok</html>", b""]),
            _cuts,
        ),
        st.builds(invalid_utf8, st.sampled_from(NOT_UTF8), _prefix_texts, _cuts),
        st.builds(
            too_big_for_the_parser,
            st.sampled_from(["nesting", "digits"]),
            st.sampled_from([2_000, 100_000]),
            _prefix_texts,
            _cuts,
        ),
        st.builds(in_band_error, st.sampled_from([400, 429, 500, 503]), _prefix_texts, _cuts),
        st.builds(
            truncated,
            st.integers(1, 200),
            st.sampled_from(["close", "reset"]),
            _prefix_texts,
            _cuts,
        ),
        st.builds(reset, _prefix_texts, _cuts),
        st.builds(
            error_status,
            st.sampled_from(ERROR_STATUSES),
            st.sampled_from(["application/json", "text/html", None]),
            st.sampled_from(ERROR_BODIES),
            _cuts,
        ),
    )


def hostile_body_boundaries() -> list[dict[str, Any]]:
    """The shallow edges of :func:`hostile_bodies`, one or two per kind, in one write each."""
    return [
        not_sse(b""),
        wrong_content_type(204, None, b""),
        wrong_content_type(200, "text/html", b"<html>ok</html>"),
        malformed_json(b"[1,2]"),
        malformed_json(b'{"id": "x", "choices": [{', prefix=["Hi"]),
        wrong_type("choices[0].delta.content", "float"),
        wrong_type("usage", "int", prefix=["Hi"]),
        wrong_type("choices[0].delta.tool_calls[0].function.arguments", "object"),
        too_big_for_the_parser("nesting", 100_000),
        invalid_utf8(b"\xff"),
        truncated(10, "close", prefix=["Hi"]),
        reset(prefix=["Hi"]),
        reset(),
        error_status(500, "text/html", ERROR_BODIES[1]),
        error_status(429, None, b""),
        error_status(404, "application/json", b'{"error": null}'),
    ]


# -- unknown keys (LLM-ROB-2) ----------------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
_KNOWN = {
    "id", "object", "created", "model", "choices", "usage", "index", "delta", "finish_reason",
    "logprobs", "content", "role", "tool_calls", "type", "function", "name", "arguments",
    "prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details", "error",
    "cached_tokens",
}  # fmt: skip
_unknown_names = st.sampled_from(
    ["refusal", "reasoning_content", "service_tier", "system_fingerprint", "x_vendor", "audio"]
) | st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8).filter(
    lambda name: name not in _KNOWN
)
_extras = st.dictionaries(_unknown_names, _json_values, min_size=1, max_size=2)


def with_unknown_keys(
    texts: Sequence[str],
    arguments: str,
    extras: Sequence[dict[str, Any]],
    content_type: str = "text/event-stream",
    cuts: Sequence[int] = (),
) -> dict[str, Any]:
    """A well-formed stream (``texts``, then one ``lookup`` call with ``arguments``) whose
    objects get unknown keys: ``extras[i]`` is merged into the ``i``-th object of the walk
    over every chunk, choice, delta, tool-call fragment, function and usage (empty dicts
    leave an object as it is; extras beyond the walk are unused)."""
    chunks = [_chunk({"role": "assistant", "content": ""})]
    chunks += [_chunk({"content": text}) for text in texts]
    fragment = {"index": 0, "id": "call_1", "type": "function"}
    fragment["function"] = {"name": "lookup", "arguments": arguments}
    chunks.append(_chunk({"tool_calls": [fragment]}))
    chunks.append(_chunk({}, "tool_calls"))
    usage_chunk = {**_chunk({}), "choices": []}
    usage_chunk["usage"] = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    chunks.append(usage_chunk)
    objects: list[dict[str, Any]] = []
    for chunk in chunks:
        objects.append(chunk)
        for choice in chunk["choices"]:
            objects += [choice, choice["delta"]]
            for item in choice["delta"].get("tool_calls", ()):
                objects += [item, item["function"]]
        if chunk["usage"] is not None:
            objects.append(chunk["usage"])
    for obj, extra in zip(objects, extras, strict=False):
        obj.update(extra)
    data = b"".join(_event(chunk) for chunk in chunks) + DONE_EVENT
    example = _example(
        "unknown_keys",
        f"a well-formed stream with unknown keys in {sum(map(bool, extras))} objects",
        data,
        cuts,
        outcome="complete",
        text="".join(texts),
        content_type=content_type,
    )
    example["expect"]["tool_calls"] = [{"name": "lookup", "arguments": arguments}]
    return example


def unknown_keys() -> st.SearchStrategy[dict[str, Any]]:
    """Well-formed streams with unknown keys at the top level and in choices, deltas,
    tool-call fragments, functions and usage (LLM-ROB-2): the client reads them as if the
    keys were not there. Parameters on the content type are no reason to refuse either."""
    return st.builds(
        with_unknown_keys,
        st.lists(_texts, min_size=1, max_size=3),
        st.sampled_from(['{"q": 1}', "{}", '{"city": "Paris"}']),
        st.lists(st.one_of(st.just({}), _extras), min_size=1, max_size=16),
        st.sampled_from(["text/event-stream", "text/event-stream; charset=utf-8"]),
        _cuts,
    )


UNKNOWN_KEY_BOUNDARIES = [
    with_unknown_keys(["Hi"], "{}", [{"service_tier": "default"}] * 16),
    with_unknown_keys(
        ["a", "b"],
        '{"q": 1}',
        [{"refusal": None, "reasoning_content": "hmm", "logprobs": {"content": []}}] * 16,
        "text/event-stream; charset=utf-8",
    ),
]
"""Unknown keys in every object at once."""


# -- slow streams (LLM-ROB-3, RETRY-1, RETRY-2) -----------------------------------------------

SLOW_TIMEOUT = 0.5
"""The client's timeout in slow-stream examples: short, so examples stay quick; the waits
are fractions and multiples of it."""


def keepalive_flood(
    divisor: int, after_prefix: bool, prefix: Sequence[str] = (), timeout: float = SLOW_TIMEOUT
) -> dict[str, Any]:
    """Keep-alive comments ``timeout / divisor`` apart, for twice ``timeout`` and a gap in
    all, before the first event or after ``prefix``'s, then the rest of the reply: the client
    never goes ``timeout`` without a byte, so it must wait the flood out and complete."""
    data, text = _prefix(prefix)
    rest = _event(_chunk({"content": "late"})) + DONE_EVENT
    gap = round(timeout / divisor, 4)
    count = 2 * divisor + 1
    flood: list[dict[str, Any]] = []
    for _ in range(count):
        flood += [{"sleep": gap}, {"text": encode_comment("ping").decode()}]
    if after_prefix:
        body = [*_pieces(data, ()), *flood, *_pieces(rest, ())]
    else:
        body = [*flood, *_pieces(data + rest, ())]
    where = "after the prefix" if after_prefix else "before the first event"
    return _example(
        "keepalive_flood",
        f"{count} keep-alive comments {gap} s apart {where} (timeout {timeout} s)",
        b"",
        (),
        outcome="complete",
        text=text + "late",
        timeout=timeout,
        body=body,
    )


def stall(
    after_prefix: bool, prefix: Sequence[str] = (), timeout: float = SLOW_TIMEOUT
) -> dict[str, Any]:
    """No byte for many times ``timeout`` before the first event or after ``prefix``'s, then
    the rest: the client must give up within ``timeout`` with an ``APITimeoutError``
    (retryable only without visible output); one that waited would complete instead."""
    data, text = _prefix(prefix)
    rest = _event(_chunk({"content": "late"})) + DONE_EVENT
    pause = {"sleep": round(timeout * _STALL_FACTOR, 3)}
    if after_prefix:
        body = [*_pieces(data, ()), pause, *_pieces(rest, ())]
    else:
        body = [pause, *_pieces(data + rest, ())]
    where = "after the prefix" if after_prefix else "before the first event"
    return _example(
        "stall",
        f"no byte for {pause['sleep']} s {where} (timeout {timeout} s)",
        b"",
        (),
        outcome="error",
        kind="APITimeoutError",
        text=text if after_prefix else "",
        timeout=timeout,
        body=body,
    )


def slow_streams() -> st.SearchStrategy[dict[str, Any]]:
    """Keep-alive floods the client must wait out, and stalls it must give up on (LLM-ROB-3,
    RETRY-1, RETRY-2)."""
    return st.one_of(
        st.builds(keepalive_flood, st.sampled_from([3, 4, 6]), st.booleans(), _prefix_texts),
        st.builds(stall, st.booleans(), _prefix_texts),
    )


SLOW_BOUNDARIES = [
    keepalive_flood(3, after_prefix=False),
    stall(after_prefix=False),
    stall(after_prefix=True, prefix=["Hi"]),
]
"""A flood before any event, and a stall before and after visible output."""
