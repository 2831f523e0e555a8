"""VCR.py interoperability: a voicewire cassette's HTTP exchanges as a VCR.py cassette, and a
VCR.py cassette as a voicewire cassette.

VCR.py's YAML format (version 1, what ``vcr.serialize`` loads)::

    interactions:
    - request: {body, headers: {name: [value]}, method, uri}
      response: {body: {string}, headers: {name: [value]}, status: {code, message}}
    version: 1

What cannot cross:

- WebSocket sessions: VCR.py records plain HTTP only. An export skips them (and any exchange
  the recording did not see end whole) and counts what it skipped.
- Timing: VCR.py keeps none. An import stamps every record ``t = 0``; a replay of an imported
  cassette answers as fast as it can.
- Framing: a VCR.py response body is one string. An import cuts it into records by the
  framing of the endpoint the request's path belongs to (``REGISTRY.recorded()``: SSE events,
  NDJSON lines, or one body); an export joins the records back, byte for byte.

Secrets: an export keeps what the cassette holds (redacted at record time); an import redacts
the VCR.py cassette's headers and query with the recorder's rules
(:mod:`voicewire.simulators.recording.redaction`), since VCR.py keeps whatever it was not told
to filter.
"""

from __future__ import annotations

import base64
import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from voicewire.harness.atomic_file import write_atomically
from voicewire.simulators.core.recorded import Framing, RecordedEndpoint, recorded_endpoint_for
from voicewire.simulators.core.registry import REGISTRY
from voicewire.simulators.recording.cassette import Cassette, CassetteWriter, RecordedExchange
from voicewire.simulators.recording.redaction import REDACTION_RULES, redact_headers, redact_query

__all__ = [
    "VCR_FORMAT_VERSION",
    "VCRCassetteError",
    "VCRExport",
    "export_vcr",
    "frame_body",
    "import_vcr",
    "write_vcr",
]

VCR_FORMAT_VERSION = 1
"""The VCR.py cassette format version written and read (VCR.py 1.0 and later)."""

BodyKind = Literal["sse", "ndjson", "body"]


class VCRCassetteError(ValueError):
    """A VCR.py cassette that cannot be imported: the file, the interaction (0-based; None:
    the file as a whole), the field and the problem."""

    def __init__(
        self, path: str | os.PathLike[str], interaction: int | None, where: str, problem: str
    ) -> None:
        self.path = str(path)
        self.interaction = interaction
        self.where = where
        self.problem = problem
        place = self.path if interaction is None else f"{self.path}, interaction {interaction}"
        field_part = f" {where}:" if where else ""
        super().__init__(f"{place}:{field_part} {problem}")


@dataclass
class VCRExport:
    """What :func:`export_vcr` made: the VCR.py document and what it left out."""

    document: dict[str, Any]
    exported: int = 0
    skipped_websocket: int = 0
    skipped_unfinished: int = 0
    skipped_endpoints: dict[str, int] = field(default_factory=dict)

    @property
    def skipped(self) -> int:
        """How many exchanges VCR.py could not hold."""
        return self.skipped_websocket + self.skipped_unfinished


# -- framing -----------------------------------------------------------------------------------


def _lines(data: bytes) -> Iterator[bytes]:
    # bytes.splitlines knows only \n, \r and \r\n: exactly the SSE line endings.
    return iter(data.splitlines(keepends=True))


def frame_body(framing: Framing, data: bytes) -> list[tuple[BodyKind, bytes]]:
    """Cut a whole response body into cassette body records as the recorder does: ``sse``
    events (each with the blank line ending it), ``ndjson`` lines (each with its newline),
    whatever follows the last whole frame as one ``body`` record; a ``json`` body is one
    ``body`` record. The pieces joined are ``data``, byte for byte."""
    if framing == "websocket":
        raise ValueError("a WebSocket session has no response body to frame")
    pieces: list[tuple[BodyKind, bytes]] = []
    if framing == "json":
        return [("body", data)] if data else []
    pending = b""
    for line in _lines(data):
        pending += line
        if framing == "ndjson":
            if line.endswith((b"\n", b"\r")):
                pieces.append(("ndjson", pending))
                pending = b""
        elif line in (b"\n", b"\r\n", b"\r"):
            pieces.append(("sse", pending))
            pending = b""
    if pending:
        pieces.append(("body", pending))
    return pieces


# -- export ------------------------------------------------------------------------------------


def _text_or_bytes(data: bytes) -> str | bytes:
    # VCR.py writes UTF-8 text as a string and anything else as !!binary (PyYAML's bytes).
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def _vcr_headers(headers: Mapping[str, str]) -> dict[str, list[str]]:
    return {name: [value] for name, value in headers.items()}


def _interaction(exchange: RecordedExchange, base_url: str) -> dict[str, Any]:
    request = exchange.request
    response = exchange.response
    assert response is not None
    uri = base_url.rstrip("/") + request.path + (f"?{request.query}" if request.query else "")
    body = request.body_bytes()
    answer = b"".join(piece.data_bytes() for piece in exchange.body_records())
    return {
        "request": {
            "body": _text_or_bytes(body) if body else None,
            "headers": _vcr_headers(request.headers),
            "method": request.method,
            "uri": uri,
        },
        "response": {
            "body": {"string": _text_or_bytes(answer)},
            "headers": _vcr_headers(response.headers),
            "status": {"code": response.status, "message": response.reason},
        },
    }


def export_vcr(cassette: Cassette, base_url: str) -> VCRExport:
    """The VCR.py document of a cassette's HTTP exchanges, in order, each request's URI
    ``base_url`` + its path + its query. WebSocket sessions and exchanges the recording did
    not see end whole (no answer, a body cut short) are left out and counted."""
    result = VCRExport(document={})
    interactions: list[dict[str, Any]] = []
    for exchange in cassette.exchanges:
        name = exchange.request.endpoint or f"{exchange.request.method} {exchange.request.path}"
        if exchange.request.websocket:
            result.skipped_websocket += 1
        elif (
            exchange.response is None or exchange.end is None or exchange.end.outcome != "complete"
        ):
            result.skipped_unfinished += 1
        else:
            interactions.append(_interaction(exchange, base_url))
            result.exported += 1
            continue
        result.skipped_endpoints[name] = result.skipped_endpoints.get(name, 0) + 1
    result.document = {"interactions": interactions, "version": VCR_FORMAT_VERSION}
    return result


def write_vcr(document: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write a VCR.py document as YAML VCR.py's safe loader reads (atomically)."""
    text = yaml.safe_dump(dict(document), allow_unicode=True, sort_keys=True)
    return write_atomically(path, text)


# -- import ------------------------------------------------------------------------------------


def _load_vcr(path: Path) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise VCRCassetteError(path, None, "", f"cannot read it: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise VCRCassetteError(path, None, "", f"not UTF-8 text ({error})") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise VCRCassetteError(path, None, "", f"{where}not YAML ({problem})") from None
    if not isinstance(document, dict) or "interactions" not in document:
        raise VCRCassetteError(
            path,
            None,
            "",
            "not a VCR.py cassette: expected a mapping with 'interactions' and 'version'",
        )
    version = document.get("version")
    if version != VCR_FORMAT_VERSION:
        raise VCRCassetteError(
            path, None, "version", f"{version!r}: this voicewire reads VCR.py format version 1"
        )
    interactions = document["interactions"]
    if not isinstance(interactions, list):
        raise VCRCassetteError(path, None, "interactions", "must be a list")
    return interactions


def _mapping(path: Path, index: int, where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise VCRCassetteError(path, index, where, f"must be a mapping, not {type(value).__name__}")
    return value


def _required(path: Path, index: int, where: str, holder: dict[str, Any], name: str) -> Any:
    if name not in holder:
        raise VCRCassetteError(path, index, f"{where}.{name}", "missing")
    return holder[name]


def _body(path: Path, index: int, where: str, value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise VCRCassetteError(
        path, index, where, f"must be a string or binary, not {type(value).__name__}"
    )


def _header_pairs(path: Path, index: int, where: str, value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    pairs: list[tuple[str, str]] = []
    for name, values in _mapping(path, index, where, value).items():
        listed = values if isinstance(values, list) else [values]
        for item in listed:
            if not isinstance(item, (str, int, float)):
                raise VCRCassetteError(
                    path, index, f"{where}.{name}", f"a header value is text, not {item!r}"
                )
            pairs.append((str(name), str(item)))
    return pairs


@dataclass
class _Interaction:
    method: str
    uri: str
    path: str
    query: str
    request_headers: list[tuple[str, str]]
    request_body: bytes
    status: int
    reason: str
    response_headers: list[tuple[str, str]]
    response_body: bytes
    protocol: str | None
    endpoint: RecordedEndpoint | None


def _read_interaction(
    path: Path, index: int, value: Any, endpoints: list[tuple[str, RecordedEndpoint]]
) -> _Interaction:
    item = _mapping(path, index, "", value)
    request = _mapping(path, index, "request", _required(path, index, "", item, "request"))
    response = _mapping(path, index, "response", _required(path, index, "", item, "response"))
    method = _required(path, index, "request", request, "method")
    if not isinstance(method, str) or not method:
        raise VCRCassetteError(path, index, "request.method", f"{method!r} is not an HTTP method")
    uri = _required(path, index, "request", request, "uri")
    if not isinstance(uri, str):
        raise VCRCassetteError(path, index, "request.uri", f"{uri!r} is not a URL")
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise VCRCassetteError(path, index, "request.uri", f"{uri!r} is not an http(s) URL")
    status = _mapping(
        path, index, "response.status", _required(path, index, "response", response, "status")
    )
    code = _required(path, index, "response.status", status, "code")
    if not isinstance(code, int) or isinstance(code, bool) or not 100 <= code <= 599:
        raise VCRCassetteError(
            path, index, "response.status.code", f"{code!r} is not an HTTP status"
        )
    message = status.get("message") or ""
    if not isinstance(message, str):
        raise VCRCassetteError(path, index, "response.status.message", f"{message!r} is not text")
    answer = _mapping(
        path, index, "response.body", _required(path, index, "response", response, "body")
    )
    route = parts.path or "/"
    found = recorded_endpoint_for([e for _, e in endpoints], method, route)
    protocol = next((name for name, e in endpoints if e is found), None)
    if found is not None and found.websocket:
        raise VCRCassetteError(
            path,
            index,
            "request.uri",
            f"{method.upper()} {route} is the {found.endpoint} WebSocket endpoint; a VCR.py "
            "interaction cannot hold a WebSocket session",
        )
    return _Interaction(
        method=method.upper(),
        uri=uri,
        path=route,
        query=parts.query,
        request_headers=_header_pairs(path, index, "request.headers", request.get("headers")),
        request_body=_body(path, index, "request.body", request.get("body")),
        status=code,
        reason=message,
        response_headers=_header_pairs(path, index, "response.headers", response.get("headers")),
        response_body=_body(path, index, "response.body.string", answer.get("string")),
        protocol=protocol,
        endpoint=found,
    )


def _upstream(interactions: list[_Interaction]) -> str | None:
    origins = {f"{urlsplit(i.uri).scheme}://{urlsplit(i.uri).netloc}" for i in interactions}
    return origins.pop() if len(origins) == 1 else None


def import_vcr(
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    endpoints: list[tuple[str, RecordedEndpoint]] | None = None,
) -> int:
    """Write the voicewire cassette of a VCR.py cassette to ``out``; returns the number of
    exchanges. Each interaction is one complete exchange, its endpoint found by its path
    (``endpoints``: protocol name and endpoint pairs, default every registered one), its
    answer cut by that endpoint's framing (an unknown path: one body record), headers and
    query redacted, every record at ``t = 0`` (VCR.py keeps no timing). Raises
    :class:`VCRCassetteError` naming the interaction and the field; nothing is written then
    (the cassette is built under a temporary name and renamed into place)."""
    path = Path(source)
    known = REGISTRY.recorded() if endpoints is None else endpoints
    read = [
        _read_interaction(path, index, value, known) for index, value in enumerate(_load_vcr(path))
    ]
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        writer = CassetteWriter(
            temporary,
            protocols=sorted({i.protocol for i in read if i.protocol is not None}),
            upstream=_upstream(read),
            redaction=REDACTION_RULES,
            clock=lambda: 0.0,
        )
        try:
            for interaction in read:
                _write_exchange(writer, interaction)
        finally:
            writer.close()
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return len(read)


def _write_exchange(writer: CassetteWriter, interaction: _Interaction) -> None:
    headers, token = redact_headers(interaction.request_headers)
    request: dict[str, Any] = {
        "protocol": interaction.protocol,
        "endpoint": interaction.endpoint.endpoint if interaction.endpoint else None,
        "method": interaction.method,
        "path": interaction.path,
        "query": redact_query(interaction.query),
        "headers": headers,
        "token": token,
    }
    if interaction.request_body:
        try:
            request["body"] = interaction.request_body.decode("utf-8")
        except UnicodeDecodeError:
            request["body_b64"] = base64.b64encode(interaction.request_body).decode("ascii")
    x = writer.open_exchange(request)
    answer_headers, _ = redact_headers(interaction.response_headers)
    writer.response(x, interaction.status, interaction.reason, answer_headers)
    framing: Framing = interaction.endpoint.framing if interaction.endpoint else "json"
    for kind, data in frame_body(framing, interaction.response_body):
        writer.body(x, kind, data)
    writer.end(x, "complete")
