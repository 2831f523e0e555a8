"""Hostile requests for LLM servers: hypothesis strategies whose examples are plain JSON data.

An example is what one or more broken, hostile or slow clients send a server at once, how many
well-behaved sessions run beside them, and what SPEC §7 (SRV-1, SRV-2, SRV-4..7) and §1.1
(AUTH-4) require back from the server::

    {
      "family": "mistyped",                   # which builder made it
      "what": "messages[0].role is 7",
      "beside": 1,                            # valid streaming sessions run beside the peers
      "peers": [{                             # the hostile clients, all at once
        "kind": "mistyped",                   # the builder that made the peer
        "what": "messages[0].role is 7",
        "copies": 1,                          # this many connections behave the same way
        "request": {                          # null: the peer connects and sends nothing
          "method": "POST",
          "endpoint": "/chat/completions",    # appended to the server's base path
          "token": {"kind": "fresh"},         # see below
          "content_length": "exact",          # exact | null (no header) | any value, as sent
          "keep_alive": false,                # false: the head says Connection: close
          "headers": [[{"text": "X-A: "}, {"hex": "ff"}]],   # more head lines, as pieces
          "body": [{"text": "{...}"}, {"text": "[", "repeat": 100000}]
        },
        "send": [{"write": "all"}],           # how the request's bytes go out
        "then": "answer",                     # answer | silence | idle | reset
        "reset_after": 0,                     # with "reset": answer bytes read before it
        "expect": {
          "statuses": [400],                  # the answers the SPEC allows (200: a stream)
          "rule": "SRV-1",                    # the rule another answer breaks
          "deadline": null,                   # head | body | idle: the server must close
          "before_body": null                 # SRV-6 / SRV-4: the rule broken when the answer
        }                                     # waits for a body only announced
      }]
    }

A request is rendered at send time (:func:`render_request`), because its head depends on the
server under test: the request line (the base URL's path and ``endpoint``), ``Host``,
``Connection: close`` unless ``keep_alive``, ``Authorization`` from ``token``,
``Content-Type: application/json``, ``Content-Length`` from ``content_length``, then the extra
``headers`` lines, byte for byte. Pieces are ``{"text": str}`` (UTF-8), ``{"hex": str}`` (raw
bytes) or ``{"gzip": [pieces]}`` (those pieces gzip-compressed), each with an optional
``"repeat": n``, so a 9 MiB body or a document nested 100,000 deep stays a short example.

``token`` is one of:

- ``{"kind": "fresh"}``: a valid token minted now (AUTH-1/2); ``{"kind": "none"}``: no header;
- ``{"kind": "shifted", "claim": "nbf" | "exp", "seconds": n}``: a valid token whose ``nbf``
  lies ``n`` seconds in the future, or whose ``exp`` lies ``n`` seconds in the past;
- ``{"kind": "forged", "alg": ..., "key": "secret" | "wrong", "claims": {...}}``: the
  standard claims with ``claims`` changed (``null`` removes one), signed with ``alg``
  (``none``: unsigned; ``RS256-label``: an HS256 MAC under an RS256 header);
- ``{"kind": "tampered", "segment": 0 | 1 | 2}``: a fresh token with one character of its
  header, payload or signature changed;
- ``{"kind": "spliced", "at": i, "insert": [pieces]}``: a fresh token with bytes inserted at
  offset ``i``; ``{"kind": "raw", "value": [pieces]}``: the header value as given.

``send`` steps, in order: ``{"write": "head" | "all", "drop": n}`` writes up to the end of the
head or of the whole request, less its last ``n`` bytes; ``{"trickle": s, "upto": ...,
"drop": n}`` does the same one byte every ``s`` seconds; ``{"drip": s, "text": c}`` writes
``c`` every ``s`` seconds until the server closes the connection (a head or body that never
ends); ``{"pause": s}`` waits. After them, ``then``: ``answer`` reads the answer;
``silence`` sends nothing more and waits for the server to close the connection; ``idle``
reads the answer, then waits for the server to close the kept-alive connection; ``reset``
reads ``reset_after`` bytes of the answer and resets the connection.

``expect``: every answer other than ``statuses`` breaks ``rule`` (a 5xx always breaks SRV-1,
an error answer without the JSON body of LLM-SSE-5 SRV-5, a 401 without the
``authentication_error`` body AUTH-4); ``deadline`` names the server deadline by which it
must close the connection (SRV-4); ``before_body``: the request announced a body and sent
only its head, so the answer must come without it, and without inviting it with
``100 Continue``; the value is the rule an answer that waits for the body breaks (SRV-6 for
authentication, SRV-4 for a size limit).

A peer's ``kind`` is the first part of the outcome class its example is counted under
(``mistyped → 400 json``).

The strategies:

- :func:`malformed_requests`: a wrong type for every field of the chat request a server
  reads, wrong values, malformed JSON, JSON that is not an object, invalid UTF-8, documents
  nested far too deep, numbers no parser converts, and bodies too large: announced, sent,
  or compressed (SRV-1, SRV-4);
- :func:`hostile_heads`: every kind of bad token of AUTH-4 (with the body, or announcing a
  large body and sending only the head: SRV-6), invalid bytes in the ``Authorization`` and
  other header values, invalid header names, oversized heads and too many header fields,
  contradictory framing, unknown expectations;
- :func:`clock_skews`: tokens whose ``nbf`` or ``exp`` is off by less than the AUTH-4 leeway
  (accepted) or by far more (refused), with margins no clock drift between two processes
  flips;
- :func:`slow_peers`: several slow, partial and vanishing clients at once: heads sent in
  part or a byte at a time, bodies cut short, shorter than their ``Content-Length`` or
  dripping, idle connections, resets mid-request and mid-stream, unauthenticated heads
  announcing a large body (SRV-2, SRV-4, SRV-6, SRV-7).

How long a check waits for a server is :class:`ServerWaits`, which :func:`server_waits`
reads from ``VOICEWIRE_SERVER_WAITS``.
"""

from __future__ import annotations

import base64
import copy
import functools
import gzip
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hypothesis import strategies as st
from jwt.algorithms import HMACAlgorithm
from jwt.warnings import InsecureKeyLengthWarning
from voicewire.harness.iut import Target
from voicewire.reference.auth import ACCESS_TOKEN_TTL, VERIFY_LEEWAY, create_access_token
from voicewire.simulators.core.limits import Limits
from voicewire.suites.robustness.json_values import JSON_VALUES

__all__ = [
    "BAD_FRAMINGS",
    "BAD_HEADER_BYTES",
    "BAD_HEADER_NAMES",
    "BODIES_NOT_AN_OBJECT",
    "BODIES_NOT_JSON",
    "CLOCK_SKEW_BOUNDARIES",
    "DEFAULT_WAITS",
    "DRIP_SECONDS",
    "HOSTILE_HEAD_BOUNDARIES",
    "MALFORMED_BOUNDARIES",
    "MODEL",
    "NOT_UTF8",
    "REQUEST_FIELDS",
    "SERVER_WAITS_ENV",
    "SKEW_INSIDE",
    "SKEW_OUTSIDE",
    "SLOW_PEER_BOUNDARIES",
    "TOKEN_VARIANTS",
    "ServerWaits",
    "authorization_value",
    "bad_framing",
    "bad_header_bytes",
    "bad_header_name",
    "bad_token",
    "clock_skews",
    "full_chat_request",
    "hostile_example",
    "hostile_heads",
    "huge_number",
    "idle_connection",
    "malformed_body",
    "malformed_requests",
    "many_headers",
    "mistyped",
    "nested_too_deep",
    "non_utf8_body",
    "not_an_object",
    "oversized_body",
    "oversized_header",
    "partial_body",
    "partial_head",
    "piece_bytes",
    "plain_chat_body",
    "plain_request",
    "render_request",
    "reset_mid_request",
    "reset_mid_stream",
    "server_waits",
    "skewed_token",
    "slow_body",
    "slow_peer_example",
    "slow_peers",
    "trickled_head",
    "unknown_expectation",
    "waits_for_limits",
    "wrong_value",
]

MODEL = "openai/gpt-4.1-mini"
ENDPOINT = "/chat/completions"

DRIP_SECONDS = 0.05
"""The gap between the bytes of a trickled head or a dripping body: far below any deadline,
so only a deadline on the whole head or body, not one between bytes, ends such a peer."""


# -- pieces and requests ---------------------------------------------------------------------


def piece_bytes(pieces: Sequence[Mapping[str, Any]]) -> bytes:
    """The bytes of ``pieces``: ``text`` as UTF-8, ``hex`` as its bytes, ``gzip`` as its own
    pieces gzip-compressed; each repeated ``repeat`` times (default once)."""
    out = bytearray()
    for piece in pieces:
        if "text" in piece:
            data = piece["text"].encode("utf-8")
        elif "hex" in piece:
            data = bytes.fromhex(piece["hex"])
        elif "gzip" in piece:
            data = _gzipped(json.dumps(piece["gzip"], sort_keys=True))
        else:
            raise ValueError(f"a piece is text, hex or gzip, got {piece!r}")
        out += data * piece.get("repeat", 1)
    return bytes(out)


@functools.lru_cache(maxsize=8)
def _gzipped(pieces: str) -> bytes:
    # A compression bomb costs far more to make than to send: made once per process. mtime 0:
    # the same pieces always compress to the same bytes.
    return gzip.compress(piece_bytes(json.loads(pieces)), compresslevel=6, mtime=0)


def _text(data: str, repeat: int = 1) -> dict[str, Any]:
    return {"text": data} if repeat == 1 else {"text": data, "repeat": repeat}


def _pieces(data: bytes) -> list[dict[str, Any]]:
    """``data`` as one piece: text when it is UTF-8, else hex."""
    try:
        return [{"text": data.decode("utf-8")}]
    except UnicodeDecodeError:
        return [{"hex": data.hex()}]


def plain_chat_body() -> dict[str, Any]:
    """A request every gateway answers: one short user message, streamed, with usage
    (LLM-REQ-1). Valid sessions send it, and so do hostile peers whose hostility is
    elsewhere (the token, the head, the timing)."""
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Say hello in one short sentence."}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def full_chat_request() -> dict[str, Any]:
    """A well-formed request with every field :data:`REQUEST_FIELDS` names: system, user
    (text parts), assistant (a tool call) and tool messages, a strict tool, a named tool
    choice, streaming options and sampling options. Mistyped examples change one of its
    values."""
    return {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "The weather in a city.",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                        "additionalProperties": False,
                    },
                    "strict": True,
                },
            }
        ],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": False,
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.2,
        "top_p": 1.0,
        "max_tokens": 64,
        "n": 1,
        "seed": 7,
        "stop": ["<|end|>"],
        "response_format": {"type": "text"},
        "user": "voicewire",
    }


def _json(document: Any) -> list[dict[str, Any]]:
    return [{"text": json.dumps(document, ensure_ascii=False)}]


def _request(
    *,
    token: dict[str, Any] | None = None,
    body: list[dict[str, Any]] | None = None,
    content_length: int | str | None = "exact",
    headers: Sequence[Sequence[dict[str, Any]]] = (),
    keep_alive: bool = False,
) -> dict[str, Any]:
    return {
        "method": "POST",
        "endpoint": ENDPOINT,
        "token": token if token is not None else {"kind": "fresh"},
        "content_length": content_length,
        "keep_alive": keep_alive,
        "headers": [list(line) for line in headers],
        "body": body if body is not None else _json(plain_chat_body()),
    }


def plain_request(*, keep_alive: bool = False) -> dict[str, Any]:
    """The request of a valid session: :func:`plain_chat_body` with a fresh token."""
    return _request(keep_alive=keep_alive)


def _expect(
    statuses: Sequence[int],
    rule: str,
    *,
    deadline: str | None = None,
    before_body: str | None = None,
) -> dict[str, Any]:
    return {
        "statuses": list(statuses),
        "rule": rule,
        "deadline": deadline,
        "before_body": before_body,
    }


def _peer(
    kind: str,
    what: str,
    request: dict[str, Any] | None,
    expect: dict[str, Any],
    *,
    send: Sequence[dict[str, Any]] = ({"write": "all"},),
    then: str = "answer",
    reset_after: int = 0,
    copies: int = 1,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "what": what,
        "copies": copies,
        "request": request,
        "send": [dict(step) for step in send],
        "then": then,
        "reset_after": reset_after,
        "expect": expect,
    }


def hostile_example(
    family: str, peers: Sequence[dict[str, Any]], *, beside: int = 1, what: str | None = None
) -> dict[str, Any]:
    """An example: ``peers`` (from the builders below) all at once, with ``beside`` valid
    streaming sessions running beside them."""
    if not peers:
        raise ValueError("an example needs at least one peer")
    return {
        "family": family,
        "what": what if what is not None else "; ".join(peer["what"] for peer in peers),
        "beside": beside,
        "peers": [copy.deepcopy(peer) for peer in peers],
    }


# -- tokens ------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(target: Target, now: float, changes: Mapping[str, Any]) -> dict[str, Any]:
    issued = int(now)
    claims: dict[str, Any] = {
        "iss": target.api_key,
        "sub": "agent",
        "nbf": issued,
        "exp": issued + ACCESS_TOKEN_TTL,
        "inference": {"perform": True},
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def _forged(token: Mapping[str, Any], target: Target, now: float) -> str:
    claims = _claims(target, now, token.get("claims", {}))
    secret = target.api_secret if token.get("key", "secret") == "secret" else "not-the-secret"
    alg = token.get("alg", "HS256")
    # Built by hand, not with jwt.encode, which refuses claims of the wrong type (an iss that
    # is a number): such tokens are the point here.
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    header = {"alg": "RS256" if alg == "RS256-label" else alg, "typ": "JWT"}
    signing_input = f"{_b64(json.dumps(header, separators=(',', ':')).encode())}.{payload}"
    if alg == "none":
        return f"{signing_input}."
    # RS256-label: an HMAC under a header that claims RSA, the algorithm-confusion attack.
    digest = HMACAlgorithm.SHA512 if alg == "HS512" else HMACAlgorithm.SHA256
    mac = HMACAlgorithm(digest)
    with warnings.catch_warnings():
        # An HS512 key of HS256 length: pyjwt finds it short; that is the point.
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        signature = mac.sign(signing_input.encode(), mac.prepare_key(secret))
    return f"{signing_input}.{_b64(signature)}"


def _tampered(token: str, segment: int) -> str:
    parts = token.split(".")
    part = parts[segment]
    # A middle character carries six significant bits (the last one of a segment may carry
    # padding bits only, and changing those changes no byte).
    at = len(part) // 2
    parts[segment] = part[:at] + ("A" if part[at] != "A" else "B") + part[at + 1 :]
    return ".".join(parts)


def authorization_value(token: Mapping[str, Any], target: Target, now: float) -> bytes | None:
    """The ``Authorization`` header value of ``token`` (see the module docstring) for the
    target's credentials at Unix time ``now``; None: no header."""
    kind = token["kind"]
    if kind == "none":
        return None
    if kind == "raw":
        return piece_bytes(token["value"])
    if kind == "fresh":
        value = create_access_token(target.api_key, target.api_secret, now=now)
    elif kind == "shifted":
        seconds = token["seconds"]
        # A token whose exp lies n seconds back was minted n + TTL seconds ago.
        issued = now + seconds if token["claim"] == "nbf" else now - seconds - ACCESS_TOKEN_TTL
        value = create_access_token(target.api_key, target.api_secret, now=max(issued, 0.0))
    elif kind == "forged":
        value = _forged(token, target, now)
    elif kind == "tampered":
        value = _tampered(
            create_access_token(target.api_key, target.api_secret, now=now), token["segment"]
        )
    elif kind == "spliced":
        fresh = create_access_token(target.api_key, target.api_secret, now=now).encode()
        at = token["at"]
        return b"Bearer " + fresh[:at] + piece_bytes(token["insert"]) + fresh[at:]
    else:
        raise ValueError(f"unknown token kind {kind!r}")
    return f"Bearer {value}".encode()


def render_request(request: Mapping[str, Any], target: Target, now: float) -> tuple[bytes, bytes]:
    """The head and the body of ``request`` as sent to ``target`` at Unix time ``now``."""
    url = urlsplit(target.base_url)
    path = url.path.rstrip("/") + request["endpoint"]
    lines = [f"{request['method']} {path} HTTP/1.1".encode(), f"Host: {url.netloc}".encode()]
    if not request["keep_alive"]:
        lines.append(b"Connection: close")
    auth = authorization_value(request["token"], target, now)
    if auth is not None:
        lines.append(b"Authorization: " + auth)
    lines.append(b"Content-Type: application/json")
    body = piece_bytes(request["body"])
    length = request["content_length"]
    if length == "exact":
        lines.append(b"Content-Length: %d" % len(body))
    elif length is not None:
        lines.append(b"Content-Length: " + str(length).encode())
    lines.extend(piece_bytes(line) for line in request["headers"])
    return b"\r\n".join(lines) + b"\r\n\r\n", body


# -- how long to wait for a server -------------------------------------------------------------

SERVER_WAITS_ENV = "VOICEWIRE_SERVER_WAITS"
"""The environment variable that sets :class:`ServerWaits`: one number of seconds for the
three deadlines (``20``), or ``name=seconds`` pairs for some of ``head``, ``body``, ``idle``
and ``answer`` (``head=5,idle=90``); what it leaves out keeps its default."""


@dataclass(frozen=True)
class ServerWaits:
    """How long the hostile-request families wait for a server, in seconds.

    The SPEC fixes no deadline (SRV-4: a slow or idle connection is closed "within a
    deadline"), so a check can only say "not closed within this long". ``head``: from a
    request head's first byte until the server closes a connection whose head never
    completes; ``body``: from the end of a head until it closes one whose body never does;
    ``idle``: from the end of an answer (or the connect) until it closes a connection that
    sends nothing more; ``answer``: how long any answer may take (longer is a hang, SRV-1).
    """

    head: float
    body: float
    idle: float
    answer: float

    def deadline(self, name: str) -> float:
        """The wait for the deadline ``name`` (``head``, ``body`` or ``idle``)."""
        if name not in ("head", "body", "idle"):
            raise ValueError(f"unknown deadline {name!r}")
        return float(getattr(self, name))

    @property
    def longest(self) -> float:
        """The longest of the four."""
        return max(self.head, self.body, self.idle, self.answer)


def waits_for_limits(limits: Limits, *, answer: float) -> ServerWaits:
    """The waits for a server whose deadlines are ``limits``': each deadline plus a margin
    (half of it, at least 1 s and at most 5 s) for a loaded machine's timers."""

    def wait(deadline: float) -> float:
        return deadline + min(max(deadline / 2, 1.0), 5.0)

    return ServerWaits(
        head=wait(limits.head_timeout),
        body=wait(limits.body_timeout),
        idle=wait(limits.idle_timeout),
        answer=answer,
    )


DEFAULT_WAITS = waits_for_limits(Limits(), answer=30.0)
"""The waits for a server whose deadlines are unknown: those of voicewire's own default
limits (head 10 s, body 30 s, idle 75 s) with their margins, and 30 s for an answer. A server
with longer deadlines (nginx's are 60 s) needs :data:`SERVER_WAITS_ENV`; one with shorter
ones runs faster with it."""


def server_waits(environ: Mapping[str, str], default: ServerWaits) -> ServerWaits:
    """``default`` with what :data:`SERVER_WAITS_ENV` in ``environ`` sets; ``ValueError``
    for a value that is not seconds or ``name=seconds`` pairs."""
    text = environ.get(SERVER_WAITS_ENV, "").strip()
    if not text:
        return default

    def seconds(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or number <= 0:
            raise ValueError(f"{SERVER_WAITS_ENV}: {value!r} is not a positive number of seconds")
        return number

    values = {
        "head": default.head,
        "body": default.body,
        "idle": default.idle,
        "answer": default.answer,
    }
    if "=" not in text:
        every = seconds(text)
        values.update(head=every, body=every, idle=every)
    else:
        for pair in text.split(","):
            name, _, value = pair.partition("=")
            name = name.strip()
            if name not in values:
                raise ValueError(
                    f"{SERVER_WAITS_ENV}: unknown wait {name!r} (head, body, idle, answer)"
                )
            values[name] = seconds(value.strip())
    return ServerWaits(**values)


# -- malformed and mistyped requests (SRV-1, SRV-4, SRV-5) -----------------------------------

# A value of every JSON type; a field draws those its type excludes.
_VALUES = JSON_VALUES

REQUEST_FIELDS: dict[str, tuple[str, ...]] = {
    "model": ("str",),
    "messages": ("list",),
    "messages[0]": ("object",),
    "messages[0].role": ("str",),
    "messages[0].content": ("str", "list", "null"),
    "messages[1].content": ("str", "list", "null"),
    "messages[1].content[0]": ("object",),
    "messages[1].content[0].type": ("str",),
    "messages[1].content[0].text": ("str",),
    "messages[2].tool_calls": ("list", "null"),
    "messages[2].tool_calls[0]": ("object",),
    "messages[2].tool_calls[0].id": ("str",),
    "messages[2].tool_calls[0].type": ("str",),
    "messages[2].tool_calls[0].function": ("object",),
    "messages[2].tool_calls[0].function.name": ("str",),
    "messages[2].tool_calls[0].function.arguments": ("str",),
    "messages[3].tool_call_id": ("str", "null"),
    "tools": ("list", "null"),
    "tools[0]": ("object",),
    "tools[0].type": ("str",),
    "tools[0].function": ("object",),
    "tools[0].function.name": ("str",),
    "tools[0].function.description": ("str", "null"),
    "tools[0].function.parameters": ("object", "null"),
    "tools[0].function.strict": ("bool", "null"),
    "tool_choice": ("str", "object", "null"),
    "tool_choice.type": ("str",),
    "tool_choice.function": ("object",),
    "tool_choice.function.name": ("str",),
    "parallel_tool_calls": ("bool", "null"),
    "stream": ("bool", "null"),
    "stream_options": ("object", "null"),
    "stream_options.include_usage": ("bool", "null"),
    "temperature": ("int", "float", "null"),
    "top_p": ("int", "float", "null"),
    "max_tokens": ("int", "null"),
    "max_completion_tokens": ("int", "null"),
    "n": ("int", "null"),
    "seed": ("int", "null"),
    "stop": ("str", "list", "null"),
    "stop[0]": ("str",),
    "response_format": ("object", "null"),
    "user": ("str", "null"),
}
"""Every field of a chat request a server reads (a path into :func:`full_chat_request`) and
the JSON types it may hold; ``null`` where the field is optional (null counts as absent)."""


def _steps(path: str) -> list[str | int]:
    return [
        int(step) if step.isdigit() else step
        for step in path.replace("]", "").replace("[", ".").split(".")
    ]


def _with(path: str, value: Any) -> dict[str, Any]:
    document = full_chat_request()
    steps = _steps(path)
    node: Any = document
    for step in steps[:-1]:
        node = node[step]
    node[steps[-1]] = value
    return document


def mistyped(path: str, type_name: str, beside: int = 1) -> dict[str, Any]:
    """The full request with ``path`` (a key of :data:`REQUEST_FIELDS`) holding a value of
    the JSON type ``type_name``, a wrong one: 400 (SRV-1)."""
    if type_name in REQUEST_FIELDS[path]:
        raise ValueError(f"{type_name} is a right type for {path}")
    value = _VALUES[type_name]
    what = f"{path} is {json.dumps(value)}"
    peer = _peer(
        "mistyped", what, _request(body=_json(_with(path, value))), _expect([400], "SRV-1")
    )
    return hostile_example("mistyped", [peer], beside=beside)


_WRONG_VALUES: dict[str, Any] = {
    "model": "",
    "messages[0].role": "robot",
    "tool_choice": "maybe",
    "tools[0].type": "retrieval",
}


def wrong_value(path: str, beside: int = 1) -> dict[str, Any]:
    """The full request with ``path`` holding a value of the right type that no server
    accepts there (an empty model, an unknown role, tool choice or tool type): 400."""
    value = _WRONG_VALUES[path]
    what = f"{path} is {json.dumps(value)}"
    peer = _peer(
        "wrong_value", what, _request(body=_json(_with(path, value))), _expect([400], "SRV-1")
    )
    return hostile_example("wrong_value", [peer], beside=beside)


def _full_text() -> str:
    return json.dumps(full_chat_request())


BODIES_NOT_JSON: list[str] = [
    "",
    "   ",
    '{"model": "openai/gpt-4.1-mini", "messages": [',
    "{'model': 'openai/gpt-4.1-mini'}",
    '{"model": "openai/gpt-4.1-mini",}',
    '{model: "openai/gpt-4.1-mini"}',
    '{"model": "openai/gpt-4.1-mini"} trailing',
    '{"model": "m"}{"model": "m"}',
    '{"model": "m" /* a comment */}',
    '{"model": "unterminated}',
    '{"stream": tru}',
    "TEMPERATURE:NaN",
    "TEMPERATURE:Infinity",
    "TEMPERATURE:-Infinity",
]
"""Bodies that are not JSON. ``TEMPERATURE:<literal>`` stands for the full request whose
``temperature`` is that literal, which JSON (RFC 8259) does not have but some parsers take."""


def malformed_body(text: str, beside: int = 1) -> dict[str, Any]:
    """A body that is not JSON (one of :data:`BODIES_NOT_JSON`): 400."""
    if text.startswith("TEMPERATURE:"):
        literal = text.partition(":")[2]
        body = _full_text().replace('"temperature": 0.2', f'"temperature": {literal}')
        what = f"temperature is the literal {literal}"
    else:
        body = text
        what = f"the body is not JSON: {text[:40]!r}"
    peer = _peer("malformed_body", what, _request(body=[_text(body)]), _expect([400], "SRV-1"))
    return hostile_example("malformed_body", [peer], beside=beside)


BODIES_NOT_AN_OBJECT: list[str] = [
    "[]",
    '[{"model": "openai/gpt-4.1-mini"}]',
    '"Say hello"',
    "42",
    "null",
    "true",
]


def not_an_object(text: str, beside: int = 1) -> dict[str, Any]:
    """A body that is JSON but no object: 400."""
    what = f"the body is {text[:40]}, not an object"
    peer = _peer("not_an_object", what, _request(body=[_text(text)]), _expect([400], "SRV-1"))
    return hostile_example("not_an_object", [peer], beside=beside)


NOT_UTF8: list[str] = ["ff", "c328", "eda080", "c0af", "f888808080", "e282"]
"""Byte sequences that are not UTF-8 (hex): a stray byte, a bad continuation, an encoded
surrogate, an overlong form, a five-byte form, a character cut short."""


def non_utf8_body(bad: str, where: str, beside: int = 1) -> dict[str, Any]:
    """The plain request with the bytes ``bad`` (hex, one of :data:`NOT_UTF8`) inside the
    user message's text, the model name or a key (``where``): 400."""
    text = json.dumps(plain_chat_body())
    marks = {
        "content": "Say hello",
        "model": "gpt-4.1",
        "key": '"stream_options"',
    }
    at = text.index(marks[where]) + 1
    body = [_text(text[:at]), {"hex": bad}, _text(text[at:])]
    what = f"the bytes {bad} (not UTF-8) in the body's {where}"
    peer = _peer("non_utf8_body", what, _request(body=body), _expect([400], "SRV-1"))
    return hostile_example("non_utf8_body", [peer], beside=beside)


def nested_too_deep(depth: int, where: str, beside: int = 1) -> dict[str, Any]:
    """Arrays nested ``depth`` deep as the whole body, as ``messages`` or as an unknown
    field (``where``): 400 (SRV-4), and never a 5xx however the parser copes (SRV-1)."""
    nest = [_text("[", depth), _text("]", depth)]
    if where == "body":
        body = nest
    else:
        document = plain_chat_body()
        name = "messages" if where == "messages" else "metadata"
        document[name] = None
        text = json.dumps(document)
        at = text.index(f'"{name}": null') + len(f'"{name}": ')
        body = [_text(text[:at]), *nest, _text(text[at + len("null") :])]
    what = f"arrays nested {depth} deep as the {where}"
    peer = _peer("nested_too_deep", what, _request(body=body), _expect([400], "SRV-4"))
    return hostile_example("nested_too_deep", [peer], beside=beside)


_HUGE_NUMBERS = {
    "digits": "9" * 5000,
    "exponent": "1e400",
    "negative exponent": "-1e999",
    "long float": "1" + "0" * 400 + ".5",
}


def huge_number(field: str, form: str, beside: int = 1) -> dict[str, Any]:
    """The full request with ``field`` holding a number no double or machine integer holds
    (``form``: 5,000 digits, an exponent of 400 ...): 400."""
    literal = _HUGE_NUMBERS[form]
    text = json.dumps(_with(field, 12345))
    body = [_text(text.replace(f'"{field}": 12345', f'"{field}": {literal}'))]
    what = f"{field} is a {form} number ({len(literal)} characters)"
    peer = _peer("huge_number", what, _request(body=body), _expect([400], "SRV-1"))
    return hostile_example("huge_number", [peer], beside=beside)


_MIB = 1024 * 1024


def _large_invalid_document(size: int) -> list[dict[str, Any]]:
    """A request of about ``size`` bytes whose bulk is a user message and whose ``stream``
    is a string: wrongly typed however large the server lets a body be."""
    head = '{"model": "openai/gpt-4.1-mini", "stream": "yes", "messages": [{"role": "user", '
    head += '"content": "'
    return [_text(head), _text("x", size), _text('"}]}')]


def oversized_body(how: str, size_mib: int, beside: int = 1) -> dict[str, Any]:
    """A body over any sane size limit: ``announced`` by a ``Content-Length`` of
    ``size_mib`` MiB with only the head sent (413 from the head, SRV-4); ``sent`` whole
    (a wrongly typed request of that size: 413, or 400 from a server whose limit is larger);
    or ``compressed`` (gzip, ``Content-Encoding: gzip``: a few kilobytes inflating to that
    size: 413, 400, or 415 from a server that takes no compressed requests)."""
    size = size_mib * _MIB
    if how == "announced":
        request = _request(body=[], content_length=size)
        peer = _peer(
            "oversized_body",
            f"a Content-Length of {size_mib} MiB, only the head sent",
            request,
            _expect([413], "SRV-4", before_body="SRV-4"),
            send=[{"write": "head"}],
        )
    elif how == "sent":
        request = _request(body=_large_invalid_document(size))
        peer = _peer(
            "oversized_body", f"a {size_mib} MiB body, sent", request, _expect([400, 413], "SRV-1")
        )
    else:
        request = _request(
            body=[{"gzip": _large_invalid_document(size)}],
            headers=[[_text("Content-Encoding: gzip")]],
        )
        peer = _peer(
            "oversized_body",
            f"a gzip body inflating to {size_mib} MiB",
            request,
            _expect([400, 413, 415], "SRV-1"),
        )
    return hostile_example("oversized_body", [peer], beside=beside)


def malformed_requests() -> st.SearchStrategy[dict[str, Any]]:
    """Malformed, mistyped, too deep and too large chat requests with a fresh token: each is
    refused with a 4xx and a JSON error body, never a 5xx or a hang, and the server goes on
    serving (SRV-1, SRV-4, SRV-5)."""
    beside = st.integers(1, 2)
    fields = st.sampled_from(sorted(REQUEST_FIELDS)).flatmap(
        lambda path: st.tuples(
            st.just(path),
            st.sampled_from([t for t in _VALUES if t not in REQUEST_FIELDS[path]]),
        )
    )
    return st.one_of(
        fields.flatmap(lambda f: st.builds(mistyped, st.just(f[0]), st.just(f[1]), beside)),
        st.builds(wrong_value, st.sampled_from(sorted(_WRONG_VALUES)), beside),
        st.builds(malformed_body, st.sampled_from(BODIES_NOT_JSON), beside),
        st.builds(not_an_object, st.sampled_from(BODIES_NOT_AN_OBJECT), beside),
        st.builds(
            non_utf8_body,
            st.sampled_from(NOT_UTF8),
            st.sampled_from(["content", "model", "key"]),
            beside,
        ),
        st.builds(
            nested_too_deep,
            st.sampled_from([2_000, 10_000, 100_000]),
            st.sampled_from(["body", "messages", "metadata"]),
            beside,
        ),
        st.builds(
            huge_number,
            st.sampled_from(["max_tokens", "seed", "temperature", "top_p"]),
            st.sampled_from(sorted(_HUGE_NUMBERS)),
            beside,
        ),
        st.builds(oversized_body, st.just("announced"), st.sampled_from([9, 8192]), beside),
        st.builds(oversized_body, st.just("sent"), st.sampled_from([9, 16]), beside),
        st.builds(oversized_body, st.just("compressed"), st.sampled_from([16, 64]), beside),
    )


MALFORMED_BOUNDARIES = [
    malformed_body(""),
    malformed_body('{"model": "openai/gpt-4.1-mini", "messages": ['),
    malformed_body("TEMPERATURE:NaN"),
    not_an_object("[]"),
    not_an_object("null"),
    mistyped("model", "int"),
    mistyped("messages", "str"),
    mistyped("messages[1].content[0].text", "int"),
    mistyped("messages[2].tool_calls[0].function.arguments", "object"),
    mistyped("tools[0].function.parameters", "list"),
    mistyped("stream", "str"),
    mistyped("max_tokens", "float"),
    wrong_value("messages[0].role"),
    non_utf8_body("ff", "content"),
    nested_too_deep(100_000, "metadata"),
    huge_number("max_tokens", "digits"),
    oversized_body("announced", 8192),
    oversized_body("sent", 9),
    oversized_body("compressed", 16),
]
"""The shallow edges of :func:`malformed_requests`: an empty body, a cut document, NaN, no
object, one wrong type per level of the request, invalid UTF-8, 100,000 levels of nesting,
5,000 digits, and a body too large each way."""


# -- hostile heads (AUTH-4, SRV-1, SRV-5, SRV-6) ---------------------------------------------

TOKEN_VARIANTS: dict[str, dict[str, Any]] = {
    "missing": {"kind": "none"},
    "empty bearer": {"kind": "raw", "value": [_text("Bearer ")]},
    "another scheme": {"kind": "raw", "value": [_text("Basic dm9pY2V3aXJlOnNlY3JldA==")]},
    "not a JWT": {"kind": "raw", "value": [_text("Bearer not-a-jwt")]},
    "two segments": {"kind": "raw", "value": [_text("Bearer eyJhbGciOiJIUzI1NiJ9.e30")]},
    "bad base64": {"kind": "raw", "value": [_text("Bearer e!!.e!!.e!!")]},
    "tampered header": {"kind": "tampered", "segment": 0},
    "tampered payload": {"kind": "tampered", "segment": 1},
    "tampered signature": {"kind": "tampered", "segment": 2},
    "wrong secret": {"kind": "forged", "key": "wrong"},
    "alg none": {"kind": "forged", "alg": "none"},
    "alg HS512": {"kind": "forged", "alg": "HS512"},
    "alg RS256 over an HMAC": {"kind": "forged", "alg": "RS256-label"},
    "unknown iss": {"kind": "forged", "claims": {"iss": "voicewire-unknown-api-key"}},
    "iss a number": {"kind": "forged", "claims": {"iss": 42}},
    "no iss": {"kind": "forged", "claims": {"iss": None}},
    "no inference grant": {"kind": "forged", "claims": {"inference": None}},
    "perform false": {"kind": "forged", "claims": {"inference": {"perform": False}}},
    "perform a string": {"kind": "forged", "claims": {"inference": {"perform": "true"}}},
    "inference a list": {"kind": "forged", "claims": {"inference": [{"perform": True}]}},
    "expired long ago": {"kind": "shifted", "claim": "exp", "seconds": 3600},
    "not valid for an hour": {"kind": "shifted", "claim": "nbf", "seconds": 3600},
    "non-ASCII bytes": {"kind": "raw", "value": [_text("Bearer "), {"hex": "fffe80"}]},
    "obs-text inside": {"kind": "spliced", "at": 20, "insert": [{"hex": "ff"}]},
    "a control byte inside": {"kind": "spliced", "at": 20, "insert": [{"hex": "01"}]},
    "NUL inside": {"kind": "spliced", "at": 20, "insert": [{"hex": "00"}]},
}
"""Every kind of token AUTH-4 rejects, and tokens broken at the byte level."""

# Control bytes may be refused with the head (400) before the token is looked at.
_HEAD_LEVEL_TOKENS = {"a control byte inside", "NUL inside"}

_ANNOUNCED_BODY = _MIB
"""The body an unauthenticated head announces: large for a chat request, far below any
body limit, so only authentication can refuse it."""


def bad_token(
    variant: str, head_only: bool = False, expect_continue: bool = False, beside: int = 1
) -> dict[str, Any]:
    """The plain request with the token ``variant`` (a key of :data:`TOKEN_VARIANTS`): 401
    with the ``authentication_error`` body (AUTH-4). ``head_only``: the head announces a
    1 MiB body (``Expect: 100-continue`` too with ``expect_continue``) and only the head is
    sent: the 401 must come from it, without ``100 Continue`` (SRV-6)."""
    token = TOKEN_VARIANTS[variant]
    statuses = [400, 401] if variant in _HEAD_LEVEL_TOKENS else [401]
    if head_only:
        headers = [[_text("Expect: 100-continue")]] if expect_continue else []
        request = _request(token=token, body=[], content_length=_ANNOUNCED_BODY, headers=headers)
        peer = _peer(
            "bad_token",
            f"token {variant}, the head announcing 1 MiB"
            + (" with Expect: 100-continue" if expect_continue else ""),
            request,
            _expect(statuses, "AUTH-4", before_body="SRV-6"),
            send=[{"write": "head"}],
        )
    else:
        peer = _peer(
            "bad_token", f"token {variant}", _request(token=token), _expect(statuses, "AUTH-4")
        )
    return hostile_example("bad_token", [peer], beside=beside)


BAD_HEADER_BYTES: list[str] = ["fffe", "80", "01", "7f", "00", "0d", "1b5b33316d"]
"""Bytes no header value should hold (hex): obs-text, control bytes, NUL, a bare CR, an
escape sequence."""


def bad_header_bytes(bad: str, header: str, beside: int = 1) -> dict[str, Any]:
    """The plain request with ``bad`` (hex) in the value of ``header``: ``authorization``
    (inside the token: 401, or 400 for control bytes), ``content-type`` or an unknown
    ``x-voicewire-note`` (RFC 9110 lets a server refuse them with 400 or keep them and
    serve: either, never a 5xx)."""
    raw = bytes.fromhex(bad)
    obs_text = all(byte >= 0x80 for byte in raw)
    if header == "authorization":
        token = {"kind": "spliced", "at": 20, "insert": [{"hex": bad}]}
        request = _request(token=token)
        statuses = [401] if obs_text else [400, 401]
        rule = "AUTH-4"
    else:
        name = "Content-Type" if header == "content-type" else "X-Voicewire-Note"
        value = "application/json" if header == "content-type" else "a note"
        line = [_text(f"{name}: {value[:5]}"), {"hex": bad}, _text(value[5:])]
        request = _request(headers=[line])
        statuses, rule = [200, 400], "SRV-1"
    peer = _peer(
        "bad_header_bytes", f"the bytes {bad} in {header}", request, _expect(statuses, rule)
    )
    return hostile_example("bad_header_bytes", [peer], beside=beside)


BAD_HEADER_NAMES: list[str] = [
    "X-Voicewire-Note : a space before the colon",
    "X Voicewire Note: spaces in the name",
    "X-Voicewire-\xff: a byte that is no token character",
    ": an empty name",
    "X-Voicewire-No-Colon",
]


def bad_header_name(line: str, beside: int = 1) -> dict[str, Any]:
    """A head line that is no header field (a space before the colon, spaces or other bytes
    in the name, no name, no colon): 400 (RFC 9112 §5.1 wants it refused; SRV-1)."""
    data = line.encode("latin-1")
    peer = _peer(
        "bad_header_name",
        f"the head line {line!r}",
        _request(headers=[_pieces(data)]),
        _expect([400], "SRV-1"),
    )
    return hostile_example("bad_header_name", [peer], beside=beside)


def oversized_header(size_kib: int, beside: int = 1) -> dict[str, Any]:
    """One header value of ``size_kib`` KiB. The SPEC sets no size for a head, so a server
    may serve one it finds small enough; 4 MiB is more than any sane server holds (SRV-4:
    431 or 400)."""
    line = [_text("X-Voicewire-Pad: "), _text("p", size_kib * 1024)]
    huge = size_kib >= 4096
    expect = _expect([400, 431], "SRV-4") if huge else _expect([200, 400, 431], "SRV-1")
    peer = _peer(
        "oversized_header", f"a {size_kib} KiB header value", _request(headers=[line]), expect
    )
    return hostile_example("oversized_header", [peer], beside=beside)


def many_headers(count: int, beside: int = 1) -> dict[str, Any]:
    """``count`` small header fields: served, or refused with 431 or 400, never a 5xx."""
    # One line piece repeated: the fields need no names of their own, and the example stays
    # short however many there are.
    line = [_text("X-Voicewire-Many: v\r\n", count - 1), _text("X-Voicewire-Many: v")]
    peer = _peer(
        "many_headers",
        f"{count} header fields",
        _request(headers=[line]),
        _expect([200, 400, 431], "SRV-1"),
    )
    return hostile_example("many_headers", [peer], beside=beside)


BAD_FRAMINGS: list[str] = [
    "negative length",
    "length not a number",
    "length with an exponent",
    "two lengths",
    "length and chunked",
    "bad chunk size",
]


def bad_framing(kind: str, beside: int = 1) -> dict[str, Any]:
    """A body whose framing is invalid or contradictory (RFC 9112 §6: the server must answer
    400 and close): a negative or non-numeric ``Content-Length``, two different ones, one
    beside ``Transfer-Encoding: chunked`` over a body that is not chunked, a chunk size that
    is not hex."""
    body = _json(plain_chat_body())
    size = len(piece_bytes(body))
    request: dict[str, Any]
    if kind == "negative length":
        request = _request(content_length=-size)
    elif kind == "length not a number":
        request = _request(content_length="lots")
    elif kind == "length with an exponent":
        request = _request(content_length="1e3")
    elif kind == "two lengths":
        request = _request(headers=[[_text(f"Content-Length: {size + 5}")]])
    elif kind == "length and chunked":
        request = _request(headers=[[_text("Transfer-Encoding: chunked")]])
    elif kind == "bad chunk size":
        request = _request(
            content_length=None,
            headers=[[_text("Transfer-Encoding: chunked")]],
            body=[_text("zz\r\n"), *body, _text("\r\n0\r\n\r\n")],
        )
    else:
        raise ValueError(f"unknown framing {kind!r}")
    peer = _peer("bad_framing", f"framing: {kind}", request, _expect([400], "SRV-1"))
    return hostile_example("bad_framing", [peer], beside=beside)


def unknown_expectation(value: str, beside: int = 1) -> dict[str, Any]:
    """``Expect: <value>`` other than ``100-continue``: served, or 417 (RFC 9110 §10.1.1
    lets a server do either); a 417 is an error answer like any other (SRV-5)."""
    peer = _peer(
        "unknown_expectation",
        f"Expect: {value}",
        _request(headers=[[_text(f"Expect: {value}")]]),
        _expect([200, 417], "SRV-1"),
    )
    return hostile_example("unknown_expectation", [peer], beside=beside)


def hostile_heads() -> st.SearchStrategy[dict[str, Any]]:
    """Bad tokens (with the body, or only a head announcing one), invalid bytes in header
    values and names, oversized heads, many fields, invalid framing and unknown expectations
    (AUTH-4, SRV-1, SRV-4, SRV-5, SRV-6)."""
    beside = st.integers(1, 2)
    return st.one_of(
        st.builds(
            bad_token,
            st.sampled_from(sorted(TOKEN_VARIANTS)),
            st.booleans(),
            st.booleans(),
            beside,
        ),
        st.builds(
            bad_header_bytes,
            st.sampled_from(BAD_HEADER_BYTES),
            st.sampled_from(["authorization", "content-type", "x-voicewire-note"]),
            beside,
        ),
        st.builds(bad_header_name, st.sampled_from(BAD_HEADER_NAMES), beside),
        st.builds(oversized_header, st.sampled_from([16, 64, 512, 4096]), beside),
        st.builds(many_headers, st.sampled_from([150, 1_000, 10_000]), beside),
        st.builds(bad_framing, st.sampled_from(BAD_FRAMINGS), beside),
        st.builds(unknown_expectation, st.sampled_from(["200-ok", "100-continue-please"]), beside),
    )


HOSTILE_HEAD_BOUNDARIES = [
    bad_token("missing"),
    bad_token("alg none"),
    bad_token("tampered signature"),
    bad_token("no inference grant"),
    bad_token("iss a number"),
    bad_token("missing", head_only=True),
    bad_token("wrong secret", head_only=True, expect_continue=True),
    bad_header_bytes("fffe", "authorization"),
    bad_header_bytes("00", "x-voicewire-note"),
    bad_header_name("X-Voicewire-Note : a space before the colon"),
    oversized_header(4096),
    many_headers(10_000),
    bad_framing("two lengths"),
    bad_framing("bad chunk size"),
    unknown_expectation("200-ok"),
]
"""One of each kind: no token, an unsigned one, a forged signature, no grant, an issuer of
the wrong type; an unauthenticated head alone, with and without ``Expect``; obs-text in the
token, NUL in a header; an invalid name; 4 MiB of head; 10,000 fields; two lengths; a bad
chunk; an unknown expectation."""


# -- clock skew (AUTH-4) ---------------------------------------------------------------------

SKEW_INSIDE = 5
"""The largest skew the family calls inside the leeway: half of AUTH-4's 10 s, so clocks of
two processes (or machines) may drift by 4 s without turning an acceptance into a refusal
(``nbf``/``exp`` are whole seconds, which costs up to one more)."""
SKEW_OUTSIDE = 30
"""The smallest skew the family calls outside the leeway: 20 s of drift to spare."""

if SKEW_INSIDE >= VERIFY_LEEWAY or SKEW_OUTSIDE <= VERIFY_LEEWAY:
    raise AssertionError("the skew margins must straddle AUTH-4's leeway")


def skewed_token(claim: str, seconds: int, beside: int = 1) -> dict[str, Any]:
    """The plain request with a token whose ``nbf`` lies ``seconds`` in the future
    (``claim="nbf"``) or whose ``exp`` lies ``seconds`` in the past: inside the leeway
    (at most :data:`SKEW_INSIDE`) it is served with a stream, outside it (at least
    :data:`SKEW_OUTSIDE`) refused with 401 (AUTH-4)."""
    if SKEW_INSIDE < seconds < SKEW_OUTSIDE or seconds < 0:
        raise ValueError(f"a skew of {seconds} s is too close to the leeway to judge")
    inside = seconds <= SKEW_INSIDE
    where = "in the future" if claim == "nbf" else "in the past"
    token = {"kind": "shifted", "claim": claim, "seconds": seconds}
    peer = _peer(
        "skewed_token",
        f"{claim} {seconds} s {where} ({'inside' if inside else 'outside'} the leeway)",
        _request(token=token),
        _expect([200] if inside else [401], "AUTH-4"),
    )
    return hostile_example("skewed_token", [peer], beside=beside)


def clock_skews() -> st.SearchStrategy[dict[str, Any]]:
    """Tokens skewed inside AUTH-4's leeway (accepted) and outside it (refused)."""
    return st.builds(
        skewed_token,
        st.sampled_from(["nbf", "exp"]),
        st.integers(0, SKEW_INSIDE) | st.integers(SKEW_OUTSIDE, 30 * 24 * 3600),
        st.integers(1, 2),
    )


CLOCK_SKEW_BOUNDARIES = [
    skewed_token("nbf", SKEW_INSIDE),
    skewed_token("exp", SKEW_INSIDE),
    skewed_token("nbf", SKEW_OUTSIDE),
    skewed_token("exp", SKEW_OUTSIDE),
    skewed_token("exp", 0),
]
"""Both edges on both claims, and a token expiring this very second."""


# -- slow, partial and vanishing peers (SRV-2, SRV-4, SRV-6, SRV-7) --------------------------

# What a server may answer before it closes a slow connection: nothing, or a 4xx naming
# the problem (400 for a head it gave up on, 408 for a body too slow, 413 or 431 for one
# that grew too large waiting).
_CLOSING = [400, 408, 413, 431]


def partial_head(drop: int, copies: int = 1) -> dict[str, Any]:
    """The plain request's head less its last ``drop`` bytes, then nothing: closed by the
    server's head deadline (SRV-4)."""
    return _peer(
        "partial_head",
        f"a head less its last {drop} bytes, then silence",
        _request(),
        _expect(_CLOSING, "SRV-4", deadline="head"),
        send=[{"write": "head", "drop": drop}],
        then="silence",
        copies=copies,
    )


def trickled_head(gap: float, copies: int = 1) -> dict[str, Any]:
    """A head sent one byte every ``gap`` seconds whose last field never ends (it drips on
    forever): closed by the server's head deadline, however steadily bytes come (SRV-4)."""
    return _peer(
        "trickled_head",
        f"a head trickled a byte every {gap} s, never ending",
        _request(headers=[[_text("X-Voicewire-Slow: ")]]),
        _expect(_CLOSING, "SRV-4", deadline="head"),
        send=[
            {"trickle": gap, "upto": "head", "drop": len("\r\n\r\n")},
            {"drip": gap, "text": "s"},
        ],
        then="silence",
        copies=copies,
    )


def partial_body(drop: int, copies: int = 1) -> dict[str, Any]:
    """The whole head and the body less its last ``drop`` bytes, then nothing: closed by the
    server's body deadline (SRV-4), a 408 first if it likes."""
    return _peer(
        "partial_body",
        f"a body less its last {drop} bytes, then silence",
        _request(),
        _expect(_CLOSING, "SRV-4", deadline="body"),
        send=[{"write": "all", "drop": drop}],
        then="silence",
        copies=copies,
    )


def short_body(missing: int, copies: int = 1) -> dict[str, Any]:
    """A whole JSON body under a ``Content-Length`` ``missing`` bytes larger: the server
    waits for bytes that never come, until its body deadline (SRV-4)."""
    size = len(piece_bytes(_json(plain_chat_body())))
    return _peer(
        "short_body",
        f"a Content-Length {missing} bytes over the body sent, then silence",
        _request(content_length=size + missing),
        _expect(_CLOSING, "SRV-4", deadline="body"),
        then="silence",
        copies=copies,
    )


def slow_body(gap: float, copies: int = 1) -> dict[str, Any]:
    """A head announcing 1 MiB, then a body dripping one space every ``gap`` seconds: closed
    by the server's body deadline, however steadily bytes come (SRV-4)."""
    return _peer(
        "slow_body",
        f"a 1 MiB body dripping a byte every {gap} s",
        _request(body=[], content_length=_MIB),
        _expect(_CLOSING, "SRV-4", deadline="body"),
        send=[{"write": "head"}, {"drip": gap, "text": " "}],
        then="silence",
        copies=copies,
    )


def idle_connection(after_request: bool, copies: int = 1) -> dict[str, Any]:
    """A connection that sends nothing at all, or nothing after one kept-alive exchange (a
    plain request, served): closed by the server's idle deadline (SRV-4)."""
    if after_request:
        return _peer(
            "idle_connection",
            "a kept-alive connection, idle after one exchange",
            _request(keep_alive=True),
            _expect([200], "SRV-4", deadline="idle"),
            then="idle",
            copies=copies,
        )
    return _peer(
        "idle_connection",
        "a connection that never sends a byte",
        None,
        _expect([408], "SRV-4", deadline="idle"),
        send=[],
        then="idle",
        copies=copies,
    )


def reset_mid_stream(after_bytes: int, copies: int = 1) -> dict[str, Any]:
    """The plain request, then a reset once ``after_bytes`` bytes of the answer came (0:
    before any): the server must go on serving everybody else (SRV-2)."""
    return _peer(
        "reset_mid_stream",
        f"a reset after {after_bytes} bytes of the answer",
        _request(),
        _expect([], "SRV-2"),
        then="reset",
        reset_after=after_bytes,
        copies=copies,
    )


def reset_mid_request(upto: str, drop: int, copies: int = 1) -> dict[str, Any]:
    """The plain request up to the end of its head or body (``upto``) less ``drop`` bytes,
    then a reset: the server must go on serving everybody else (SRV-2)."""
    return _peer(
        "reset_mid_request",
        f"a reset {drop} bytes before the end of the {'head' if upto == 'head' else 'body'}",
        _request(),
        _expect([], "SRV-2"),
        send=[{"write": upto, "drop": drop}],
        then="reset",
        copies=copies,
    )


def slow_peer_example(peers: Sequence[dict[str, Any]], beside: int = 1) -> dict[str, Any]:
    """``peers`` at once, with ``beside`` valid sessions started once every peer holds its
    connection the way it means to (mid-head, mid-body, idle, reset)."""
    return hostile_example("slow_peers", peers, beside=beside)


def _unauthenticated_head(variant: str, expect_continue: bool, copies: int) -> dict[str, Any]:
    peer = bad_token(variant, head_only=True, expect_continue=expect_continue)["peers"][0]
    peer["copies"] = copies
    return peer


def slow_peers() -> st.SearchStrategy[dict[str, Any]]:
    """One to three slow, partial or vanishing peers at once (each in one to three copies)
    beside one to three valid sessions."""
    copies = st.integers(1, 3)
    gaps = st.sampled_from([DRIP_SECONDS, 2 * DRIP_SECONDS])
    peer = st.one_of(
        st.builds(partial_head, st.sampled_from([1, 2, 4, 30, 200]), copies),
        st.builds(trickled_head, gaps, copies),
        st.builds(partial_body, st.sampled_from([1, 10, 40]), copies),
        st.builds(short_body, st.sampled_from([1, 1000]), copies),
        st.builds(slow_body, gaps, copies),
        st.builds(idle_connection, st.booleans(), copies),
        st.builds(reset_mid_stream, st.sampled_from([0, 1, 100, 400]), copies),
        st.builds(
            reset_mid_request,
            st.sampled_from(["head", "all"]),
            st.sampled_from([1, 10, 40]),
            copies,
        ),
        st.builds(
            _unauthenticated_head,
            st.sampled_from(["missing", "wrong secret", "expired long ago"]),
            st.booleans(),
            copies,
        ),
    )
    return st.builds(slow_peer_example, st.lists(peer, min_size=1, max_size=3), st.integers(1, 3))


SLOW_PEER_BOUNDARIES = [
    slow_peer_example(
        [
            partial_head(1, copies=4),
            trickled_head(DRIP_SECONDS, copies=2),
            partial_body(1, copies=4),
            short_body(1, copies=2),
            slow_body(DRIP_SECONDS, copies=2),
            idle_connection(False, copies=8),
            idle_connection(True, copies=2),
            reset_mid_stream(0, copies=4),
            reset_mid_stream(100, copies=4),
            reset_mid_request("head", 10, copies=4),
            reset_mid_request("all", 10, copies=4),
            _unauthenticated_head("missing", False, copies=2),
            _unauthenticated_head("wrong secret", True, copies=2),
        ],
        beside=3,
    ),
]
"""Every kind at once, several of each, beside three valid sessions: a crowd a server must
hold off without its valid sessions noticing."""
