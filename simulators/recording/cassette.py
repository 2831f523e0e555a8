"""The cassette: a recorded set of sessions, one append-only JSON-lines file.

Line 1 is the :class:`CassetteHeader`; every later line is one record of one *exchange* (one
HTTP request and its answer, or one WebSocket session), numbered ``x`` in the order they
began, timed ``t`` (seconds since the recording started, one monotonic clock), in the order
they happened on the wire:

- :class:`RequestRecord` (``request``): the client's request head (headers redacted) and
  its body; a WebSocket upgrade has ``websocket: true`` and no body.
- :class:`ResponseRecord` (``response``): the server's status and headers (``101`` for an
  accepted upgrade).
- :class:`BodyRecord`: one piece of the server's body as the endpoint frames it: ``sse``
  (one event, its exact text with the blank line ending it), ``ndjson`` (one line with its
  newline), ``body`` (the body of an unframed answer, or whatever a framed one held after its
  last whole frame).
- :class:`MessageRecord` (``ws``): one WebSocket message either way (``from``), its exact
  text or bytes (base64), or where they are in the audio sidecar. The causal link: a server
  message holds ``after`` (how many client messages the server had received when it sent
  it) and ``audio`` (the seconds of client audio those carried); a client message holds its
  own index in ``after`` and the audio seconds up to and including it in ``audio``.
- :class:`CloseRecord` (``close``): a WebSocket close frame, from either side.
- :class:`EndRecord` (``end``): the exchange is over, and how (``complete``, or what broke).

Kill-safety: the writer makes each record one ``write`` of one whole line on a file opened
for appending, audio sidecar bytes before the line that points at them, so a recorder killed
at any instant (``kill -9``) leaves every record it finished; only a line it was writing can
be cut. :func:`load_cassette` drops such a last line without its newline (``cut_tail``
names it) and loads the rest; exchanges the recorder never ended have no ``end``
(:attr:`RecordedExchange.complete` is False). Anything else wrong is a :class:`CassetteError`
naming the line and the problem: a line that is not JSON, a record of the wrong shape, an
exchange's record before its request, sidecar bytes that are missing or differ, a format
version newer than this voicewire reads.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from voicewire.simulators.recording.json_lines import JSONLinesError, check_format, json_object

__all__ = [
    "CASSETTE_FORMAT",
    "CASSETTE_VERSION",
    "BodyRecord",
    "Cassette",
    "CassetteError",
    "CassetteHeader",
    "CassetteRecord",
    "CassetteWriter",
    "CloseRecord",
    "EndRecord",
    "MessageRecord",
    "RecordedExchange",
    "RequestRecord",
    "ResponseRecord",
    "SidecarRef",
    "cassette_schema",
    "load_cassette",
    "sidecar_path",
    "write_cassette_schema",
]

CASSETTE_VERSION = 1
"""The newest cassette format version this voicewire writes and reads."""

CASSETTE_FORMAT = f"voicewire-cassette/{CASSETTE_VERSION}"
"""The header's ``format``."""

_FORMAT_PREFIX = "voicewire-cassette/"

Side = Literal["client", "server"]
Outcome = Literal["complete", "client_gone", "upstream_gone", "upstream_refused"]
"""How an exchange ended: whole, or which side went away (or refused) first."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CassetteHeader(_Record):
    """Line 1 of every cassette."""

    type: Literal["cassette"] = "cassette"
    format: str = Field(CASSETTE_FORMAT, description="voicewire-cassette/<version>")
    voicewire: str = Field(description="the voicewire version that recorded it")
    created: str = Field(description="when the recording started (ISO 8601, UTC)")
    protocols: list[str] = Field(description="the protocols whose endpoints it can hold")
    upstream: str | None = Field(None, description="the server the recording proxy forwarded to")
    redaction: list[str] = Field(
        default_factory=list, description="what was redacted at record time, one rule a line"
    )
    audio_sidecar: str | None = Field(
        None, description="file name (beside the cassette) holding message bytes kept apart"
    )


class _Exchange(_Record):
    x: int = Field(ge=0, description="the exchange: 0, 1, 2 ... in the order they began")
    t: float = Field(ge=0, description="seconds since the recording started")


class RequestRecord(_Exchange):
    """The client's request head and body; ``websocket``: an upgrade (no body)."""

    type: Literal["request"] = "request"
    # Absent from the line for a path no protocol owns (None is not written).
    protocol: str | None = Field(
        None, description="the protocol owning the endpoint (absent: no protocol owns the path)"
    )
    endpoint: str | None = Field(
        None, description="the endpoint's scenario name (absent: no protocol owns the path)"
    )
    method: str
    path: str
    query: str = ""
    headers: dict[str, str] = Field(default_factory=dict, description="redacted")
    websocket: bool = False
    body: str | None = Field(None, description="the body as text (UTF-8)")
    body_b64: str | None = Field(None, description="the body as base64 when it is not UTF-8")
    token: dict[str, Any] | None = Field(
        None, description="the bearer token's claims and fingerprint (the token is redacted)"
    )

    def body_bytes(self) -> bytes:
        """The request body's exact bytes (empty when it had none)."""
        if self.body_b64 is not None:
            return base64.b64decode(self.body_b64)
        return (self.body or "").encode("utf-8")


class ResponseRecord(_Exchange):
    """The server's answer head (``101`` for an accepted WebSocket upgrade)."""

    type: Literal["response"] = "response"
    status: int = Field(ge=100, le=599)
    reason: str = ""
    headers: dict[str, str] = Field(default_factory=dict)


class BodyRecord(_Exchange):
    """One piece of the server's body: an SSE event, an NDJSON line, or a plain body."""

    type: Literal["sse", "ndjson", "body"]
    data: str | None = Field(None, description="the exact text")
    data_b64: str | None = Field(None, description="the exact bytes when they are not UTF-8")

    def data_bytes(self) -> bytes:
        """The piece's exact bytes."""
        if self.data_b64 is not None:
            return base64.b64decode(self.data_b64)
        return (self.data or "").encode("utf-8")


class SidecarRef(_Record):
    """Where a message's bytes are in the audio sidecar."""

    offset: int = Field(ge=0)
    length: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    text: bool = Field(description="a text message (its bytes are UTF-8) or a binary one")


class MessageRecord(_Exchange):
    """One WebSocket message; exactly one of ``text``, ``binary`` (base64), ``sidecar``."""

    type: Literal["ws"] = "ws"
    from_: Side = Field(alias="from")
    text: str | None = None
    binary: str | None = Field(None, description="base64 of a binary message")
    sidecar: SidecarRef | None = None
    after: int = Field(
        ge=0,
        description="server: client messages received before it; client: its own index",
    )
    audio: float = Field(
        0.0, ge=0, description="seconds of client audio sent before it (client: including it)"
    )

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CloseRecord(_Exchange):
    """A WebSocket close from either side."""

    type: Literal["close"] = "close"
    from_: Side = Field(alias="from")
    code: int | None = None
    reason: str = ""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EndRecord(_Exchange):
    """The exchange is over: ``complete``, or what broke it (``detail`` says more)."""

    type: Literal["end"] = "end"
    outcome: Outcome
    detail: str | None = None


CassetteRecord = Annotated[
    RequestRecord | ResponseRecord | BodyRecord | MessageRecord | CloseRecord | EndRecord,
    Field(discriminator="type"),
]
_RECORD = TypeAdapter(CassetteRecord)
ExchangeItem = BodyRecord | MessageRecord | CloseRecord


class CassetteError(JSONLinesError):
    """A cassette that cannot be loaded: ``path``, ``line`` (1-based; None: the file as a
    whole) and the ``problem``."""


@dataclass
class RecordedExchange:
    """One exchange of a loaded cassette: its request, the response head, the body pieces,
    messages and closes in wire order, and how it ended (None: the recording stopped first)."""

    request: RequestRecord
    response: ResponseRecord | None = None
    items: list[ExchangeItem] = field(default_factory=list)
    end: EndRecord | None = None
    sidecar: bytes | None = field(default=None, repr=False)
    line: int | None = None
    """The cassette line of its request (None: not loaded from a file)."""

    @property
    def x(self) -> int:
        """The exchange's number."""
        return self.request.x

    @property
    def complete(self) -> bool:
        """Whether the recording saw the exchange end."""
        return self.end is not None

    def payload(self, message: MessageRecord) -> str | bytes:
        """A message's exact payload: ``str`` for a text message, ``bytes`` for binary."""
        if message.text is not None:
            return message.text
        if message.binary is not None:
            return base64.b64decode(message.binary)
        ref = message.sidecar
        assert ref is not None and self.sidecar is not None  # checked when loaded
        data = self.sidecar[ref.offset : ref.offset + ref.length]
        return data.decode("utf-8") if ref.text else data

    def messages(self, side: Side | None = None) -> list[MessageRecord]:
        """The WebSocket messages, of one side or both."""
        return [
            item
            for item in self.items
            if isinstance(item, MessageRecord) and (side is None or item.from_ == side)
        ]

    def body_records(self) -> list[BodyRecord]:
        """The pieces of the server's body, in order."""
        return [item for item in self.items if isinstance(item, BodyRecord)]


@dataclass
class Cassette:
    """A loaded cassette: its header and exchanges (by ``x``, in order). ``cut_tail`` is the
    number of a last line dropped because the recording was stopped while writing it."""

    path: Path
    header: CassetteHeader
    exchanges: list[RecordedExchange]
    cut_tail: int | None = None

    def of_endpoint(self, endpoint: str) -> list[RecordedExchange]:
        """The exchanges of one endpoint, in order."""
        return [e for e in self.exchanges if e.request.endpoint == endpoint]


def sidecar_path(cassette: str | os.PathLike[str]) -> Path:
    """The audio sidecar's path for a cassette: the cassette's name plus ``.audio``."""
    path = Path(cassette)
    return path.with_name(path.name + ".audio")


def _now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _voicewire_version() -> str:
    try:
        return metadata.version("voicewire")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


class CassetteWriter:
    """Appends records to a new cassette, each one whole line in one ``write`` (kill-safe:
    see the module docstring). ``clock`` gives seconds on a monotonic scale (``t`` counts
    from the writer's creation). With ``audio_sidecar``, every message of at least
    ``sidecar_min_bytes`` goes to the sidecar file beside the cassette, its record pointing at
    it; the rest stay inline.

    The writer numbers exchanges (:meth:`open_exchange`) and tracks each WebSocket session's
    causal counters (:meth:`message`), so callers only say what crossed the wire.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        protocols: Iterable[str],
        upstream: str | None = None,
        redaction: Iterable[str] = (),
        audio_sidecar: bool = False,
        sidecar_min_bytes: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self._start = clock()
        self._next_x = 0
        self._sessions: dict[int, _SessionCount] = {}
        self._sidecar_min = sidecar_min_bytes
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND
        self._fd: int | None = os.open(self.path, flags, 0o644)
        self._sidecar_fd: int | None = None
        self._sidecar_size = 0
        sidecar_name = None
        if audio_sidecar:
            sidecar_name = sidecar_path(self.path).name
            self._sidecar_fd = os.open(sidecar_path(self.path), flags, 0o644)
        self.header = CassetteHeader(
            voicewire=_voicewire_version(),
            created=_now_iso(),
            protocols=sorted(set(protocols)),
            upstream=upstream,
            redaction=list(redaction),
            audio_sidecar=sidecar_name,
        )
        self._write_line(self.header)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._fd is None

    def now(self) -> float:
        """Seconds since the recording started (to the microsecond)."""
        return round(max(0.0, self._clock() - self._start), 6)

    def open_exchange(self, request: dict[str, Any]) -> int:
        """Record a request (the fields of :class:`RequestRecord` but ``x``, ``t``, ``type``)
        and return its exchange number."""
        x = self._next_x
        self._next_x += 1
        self._write_line(RequestRecord(x=x, t=self.now(), **request))
        if request.get("websocket"):
            self._sessions[x] = _SessionCount()
        return x

    def response(
        self, x: int, status: int, reason: str = "", headers: dict[str, str] | None = None
    ) -> None:
        """Record the answer head of exchange ``x``."""
        self._write_line(
            ResponseRecord(x=x, t=self.now(), status=status, reason=reason, headers=headers or {})
        )

    def body(self, x: int, kind: Literal["sse", "ndjson", "body"], data: bytes) -> None:
        """Record one piece of exchange ``x``'s body (its exact bytes)."""
        try:
            record = BodyRecord(x=x, t=self.now(), type=kind, data=data.decode("utf-8"))
        except UnicodeDecodeError:
            record = BodyRecord(
                x=x, t=self.now(), type=kind, data_b64=base64.b64encode(data).decode("ascii")
            )
        self._write_line(record)

    def message(self, x: int, side: Side, payload: str | bytes, audio_seconds: float = 0.0) -> None:
        """Record one WebSocket message of session ``x``; ``audio_seconds`` is the audio a
        client message carries (its endpoint's :class:`AudioMeter` says)."""
        count = self._sessions.setdefault(x, _SessionCount())
        if side == "client":
            count.audio += audio_seconds
            after = count.messages
            count.messages += 1
        else:
            after = count.messages
        fields: dict[str, Any] = {}
        raw = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
        if self._sidecar_fd is not None and len(raw) >= self._sidecar_min:
            fields["sidecar"] = self._to_sidecar(raw, text=isinstance(payload, str))
        elif isinstance(payload, str):
            fields["text"] = payload
        else:
            fields["binary"] = base64.b64encode(raw).decode("ascii")
        self._write_line(
            MessageRecord(
                x=x,
                t=self.now(),
                **{"from": side},
                after=after,
                audio=round(count.audio, 9),
                **fields,
            )
        )

    def close_frame(self, x: int, side: Side, code: int | None, reason: str = "") -> None:
        """Record a WebSocket close frame of session ``x``."""
        self._write_line(CloseRecord(x=x, t=self.now(), **{"from": side}, code=code, reason=reason))

    def end(
        self,
        x: int,
        outcome: Literal[
            "complete", "client_gone", "upstream_gone", "upstream_refused"
        ] = "complete",
        detail: str | None = None,
    ) -> None:
        """Record that exchange ``x`` is over."""
        self._sessions.pop(x, None)
        self._write_line(EndRecord(x=x, t=self.now(), outcome=outcome, detail=detail))

    def close(self) -> None:
        """Close the files (records already written stay; closing twice is harmless)."""
        for fd in (self._fd, self._sidecar_fd):
            if fd is not None:
                os.close(fd)
        self._fd = self._sidecar_fd = None

    def _to_sidecar(self, raw: bytes, *, text: bool) -> SidecarRef:
        assert self._sidecar_fd is not None
        ref = SidecarRef(
            offset=self._sidecar_size,
            length=len(raw),
            sha256=hashlib.sha256(raw).hexdigest(),
            text=text,
        )
        _write_all(self._sidecar_fd, raw)
        self._sidecar_size += len(raw)
        return ref

    def _write_line(self, record: _Record) -> None:
        if self._fd is None:
            raise ValueError(f"cassette {self.path} is closed")
        fields = record.model_dump(mode="json", by_alias=True, exclude_none=True)
        # ``type`` first, so a reader (or grep) sees what a line is at its start.
        ordered = {"type": fields.pop("type"), **fields}
        line = json.dumps(ordered, ensure_ascii=False, separators=(",", ":")) + "\n"
        _write_all(self._fd, line.encode("utf-8"))


@dataclass
class _SessionCount:
    messages: int = 0
    audio: float = 0.0


def _write_all(fd: int, data: bytes) -> None:
    # One write for a whole line on an O_APPEND file: a kill leaves it whole or absent. A
    # short write (a full disk) is finished rather than left as a cut line mid-file.
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    problem = first["msg"]
    return f"{where}: {problem}" if where else problem


def load_cassette(path: str | os.PathLike[str]) -> Cassette:
    """Load and check a cassette (see the module docstring); raises :class:`CassetteError`
    naming the line and the problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise CassetteError(path, None, f"cannot read the cassette: {error.strerror}") from None
    if not raw:
        raise CassetteError(path, None, "the file is empty: a cassette starts with its header line")
    lines = raw.split(b"\n")
    cut_tail: int | None = None
    if lines[-1] == b"":
        lines.pop()
    else:
        # The last line has no newline: the recording stopped while writing it.
        cut_tail = len(lines)
        lines.pop()
    if not lines:
        raise CassetteError(path, 1, "the header line is cut: the recording stopped at its start")
    header = _load_header(path, lines[0])
    sidecar: bytes | None = None
    if header.audio_sidecar is not None:
        side_path = path.with_name(header.audio_sidecar)
        try:
            sidecar = side_path.read_bytes()
        except OSError as error:
            raise CassetteError(
                path, 1, f"the audio sidecar {side_path.name} cannot be read: {error.strerror}"
            ) from None
    exchanges: dict[int, RecordedExchange] = {}
    for number, line in enumerate(lines[1:], start=2):
        record = _load_record(path, number, line)
        if isinstance(record, RequestRecord):
            if record.x in exchanges:
                raise CassetteError(path, number, f"exchange {record.x} has a second request")
            exchanges[record.x] = RecordedExchange(request=record, sidecar=sidecar, line=number)
            continue
        exchange = exchanges.get(record.x)
        if exchange is None:
            raise CassetteError(
                path, number, f"a {record.type} record of exchange {record.x}, before its request"
            )
        if exchange.end is not None:
            raise CassetteError(
                path, number, f"a {record.type} record of exchange {record.x}, after its end"
            )
        if isinstance(record, ResponseRecord):
            if exchange.response is not None:
                raise CassetteError(path, number, f"exchange {record.x} has a second response")
            exchange.response = record
        elif isinstance(record, EndRecord):
            exchange.end = record
        else:
            if isinstance(record, MessageRecord):
                _check_message(path, number, record, sidecar)
            exchange.items.append(record)
    return Cassette(
        path=path,
        header=header,
        exchanges=[exchanges[x] for x in sorted(exchanges)],
        cut_tail=cut_tail,
    )


def _load_header(path: Path, line: bytes) -> CassetteHeader:
    value = json_object(CassetteError, path, 1, line)
    check_format(
        CassetteError,
        path,
        value,
        kind="cassette",
        name="voicewire-cassette",
        newest=CASSETTE_VERSION,
        what="cassette",
        readable=_readable_formats(),
    )
    try:
        return CassetteHeader.model_validate(value)
    except ValidationError as error:
        raise CassetteError(path, 1, _describe(error)) from None


def _readable_formats() -> str:
    if CASSETTE_VERSION == 1:
        return CASSETTE_FORMAT
    return f"{_FORMAT_PREFIX}1 to {CASSETTE_FORMAT}"


def _load_record(path: Path, number: int, line: bytes) -> Any:
    value = json_object(CassetteError, path, number, line)
    try:
        return _RECORD.validate_python(value)
    except ValidationError as error:
        raise CassetteError(path, number, _describe(error)) from None


def _check_message(path: Path, number: int, record: MessageRecord, sidecar: bytes | None) -> None:
    held = [name for name in ("text", "binary", "sidecar") if getattr(record, name) is not None]
    if len(held) != 1:
        raise CassetteError(
            path,
            number,
            "a ws record holds exactly one of text, binary, sidecar; this one holds "
            + (", ".join(held) or "none"),
        )
    if record.binary is not None:
        try:
            base64.b64decode(record.binary, validate=True)
        except ValueError:
            raise CassetteError(path, number, "binary: not base64") from None
    ref = record.sidecar
    if ref is None:
        return
    if sidecar is None:
        raise CassetteError(path, number, "sidecar: the header names no audio sidecar")
    if ref.offset + ref.length > len(sidecar):
        raise CassetteError(
            path,
            number,
            f"sidecar: bytes {ref.offset}..{ref.offset + ref.length} are past the sidecar's end "
            f"({len(sidecar)} bytes)",
        )
    data = sidecar[ref.offset : ref.offset + ref.length]
    if hashlib.sha256(data).hexdigest() != ref.sha256:
        raise CassetteError(
            path,
            number,
            f"sidecar: bytes {ref.offset}..{ref.offset + ref.length} differ from "
            "what was recorded (sha256)",
        )
    if ref.text:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise CassetteError(
                path, number, "sidecar: a text message's bytes are not UTF-8"
            ) from None


def cassette_schema() -> dict[str, Any]:
    """The JSON schema of one cassette line (the header, or any record)."""
    adapter = TypeAdapter(
        Annotated[
            CassetteHeader
            | RequestRecord
            | ResponseRecord
            | BodyRecord
            | MessageRecord
            | CloseRecord
            | EndRecord,
            Field(discriminator="type"),
        ]
    )
    schema = adapter.json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"voicewire cassette line ({CASSETTE_FORMAT})"
    schema["description"] = (
        "One line of a voicewire cassette (JSON lines): line 1 is the header "
        '(type "cassette"), every later line one record of an exchange. See docs/cassettes.md.'
    )
    return schema


def write_cassette_schema(folder: str | os.PathLike[str]) -> Path:
    """Write ``cassette.schema.json`` into ``folder``; returns its path."""
    target = Path(folder) / "cassette.schema.json"
    text = json.dumps(cassette_schema(), indent=2, sort_keys=True) + "\n"
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    return target
