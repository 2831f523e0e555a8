"""Inworld TTS over HTTP (SPEC §5.1): the request body, the NDJSON lines of the answer and
their reader, and the voices list. Sans-IO.

**Request** (IW-HTTP-1): :class:`InworldSynthesizeRequest` holds the wire's keys in upstream's
order, ``text, voiceId, modelId, audioConfig, language?, timestampType?,
applyTextNormalization?, deliveryMode?, timestampTransportStrategy``; ``temperature`` is
inside :class:`InworldAudioConfig` here (top-level in the WebSocket ``create``).
:func:`encode_synthesize_request` writes it as the client sends it (``json.dumps`` defaults,
unset optionals left out). :func:`decode_synthesize_request` is the server's: it trusts
nothing and raises :class:`~voicewire.reference.json_wire.MalformedMessage` naming the field
(``audioConfig.sampleRateHertz``), which a server answers with 400 (SRV-1).

**Answer** (IW-HTTP-2): one JSON object per line, ``{"result": {"audioContent",
"timestampInfo"?}}`` or ``{"error": {"code", "message"}}``. :class:`InworldSynthesisReader`
is the client's: bytes in, events out: :class:`InworldSynthesisAudio` (the decoded PCM and
its timed strings), :class:`InworldSkippedLine` (blank, not UTF-8, not JSON, or an object that
is neither ``result`` nor ``error``: upstream skips these), :class:`InworldSynthesisFailure`
(an ``error`` line, after which the reader reads nothing more). A line that is JSON but of the
wrong shape (not an object, a ``result`` with a wrongly typed field, audio that is not
base64) raises :class:`~voicewire.reference.json_wire.RemoteProtocolError`, which a client
turns into an ``APIConnectionError`` (CLI-ROB-1). :func:`inworld_result_line` and
:func:`inworld_error_line` are the server's builders.

**Voices** (IW-VOICES-1): ``{"voices": [...]}``, the voices kept verbatim;
:func:`decode_voices_response` for the client, :func:`voices_problems` for a server's answer.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cached_property
from typing import Annotated, Any, Literal, TypeAlias, TypeVar, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError
from voicewire.reference.inworld.wire.ndjson import (
    DEFAULT_MAX_LINE_BYTES,
    NDJSONDecoder,
    NDJSONLine,
    encode_ndjson_line,
)
from voicewire.reference.inworld.wire.timestamps import (
    InworldTimestampInfo,
    alignment_problems,
    timed_strings,
)
from voicewire.reference.json_wire import (
    MalformedMessage,
    RemoteProtocolError,
    UnknownMessageType,
    as_tuple,
    check_base64,
    decode_keyed_message,
    describe_json_value,
    load_json_object,
)
from voicewire.reference.stt.speech import TimedString

__all__ = [
    "INWORLD_DELIVERY_MODES",
    "INWORLD_ENCODINGS",
    "INWORLD_TEXT_NORMALIZATIONS",
    "INWORLD_TIMESTAMP_TRANSPORT_STRATEGIES",
    "INWORLD_TIMESTAMP_TYPES",
    "SYNTHESIS_LINE_KINDS",
    "InworldAudioConfig",
    "InworldDeliveryMode",
    "InworldEncoding",
    "InworldErrorBody",
    "InworldSkippedLine",
    "InworldSynthesisAudio",
    "InworldSynthesisErrorLine",
    "InworldSynthesisEvent",
    "InworldSynthesisFailure",
    "InworldSynthesisLine",
    "InworldSynthesisReader",
    "InworldSynthesisReaderState",
    "InworldSynthesisResult",
    "InworldSynthesisResultLine",
    "InworldSynthesizeRequest",
    "InworldTextNormalization",
    "InworldTimestampTransportStrategy",
    "InworldTimestampType",
    "InworldVoicesResponse",
    "decode_synthesis_line",
    "decode_synthesize_request",
    "decode_voices_response",
    "encode_synthesize_request",
    "inworld_error_line",
    "inworld_result_line",
    "synthesize_request_problems",
    "voices_problems",
]

InworldEncoding: TypeAlias = Literal["LINEAR16", "PCM", "MP3", "OGG_OPUS", "FLAC"]
InworldTimestampType: TypeAlias = Literal["TIMESTAMP_TYPE_UNSPECIFIED", "WORD", "CHARACTER"]
InworldTextNormalization: TypeAlias = Literal["APPLY_TEXT_NORMALIZATION_UNSPECIFIED", "ON", "OFF"]
InworldTimestampTransportStrategy: TypeAlias = Literal[
    "TIMESTAMP_TRANSPORT_STRATEGY_UNSPECIFIED", "SYNC", "ASYNC"
]
InworldDeliveryMode: TypeAlias = Literal[
    "DELIVERY_MODE_UNSPECIFIED", "STABLE", "BALANCED", "CREATIVE"
]

INWORLD_ENCODINGS: tuple[str, ...] = get_args(InworldEncoding)
"""The ``audioEncoding`` values upstream accepts."""
INWORLD_TIMESTAMP_TYPES: tuple[str, ...] = get_args(InworldTimestampType)
"""The ``timestampType`` values upstream accepts."""
INWORLD_TEXT_NORMALIZATIONS: tuple[str, ...] = get_args(InworldTextNormalization)
"""The ``applyTextNormalization`` values upstream sends (a ``bool`` option becomes ON/OFF)."""
INWORLD_TIMESTAMP_TRANSPORT_STRATEGIES: tuple[str, ...] = get_args(
    InworldTimestampTransportStrategy
)
"""The ``timestampTransportStrategy`` values upstream accepts."""
INWORLD_DELIVERY_MODES: tuple[str, ...] = get_args(InworldDeliveryMode)
"""The ``deliveryMode`` values upstream accepts."""

Base64Audio = Annotated[str, AfterValidator(check_base64)]
M = TypeVar("M", bound=BaseModel)


class _Wire(BaseModel):
    # strict: no coercion ("24000" is not 24000); unknown keys ignored (CLI-ROB-1); no NaN.
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore", allow_inf_nan=False)


# -- the request -------------------------------------------------------------------------------


class InworldAudioConfig(_Wire):
    """``audioConfig`` of the HTTP request, keys in upstream's order. Upstream always sends
    all five; the model admits their absence (proto3 JSON), the server then applies its
    defaults."""

    audioEncoding: InworldEncoding | None = None
    bitrate: int | None = None
    sampleRateHertz: int | None = None
    temperature: float | None = None
    speakingRate: float | None = None


class InworldSynthesizeRequest(_Wire):
    """The body of ``POST /tts/v1/voice:stream`` (IW-HTTP-1)."""

    text: str
    voiceId: str
    modelId: str
    audioConfig: InworldAudioConfig | None = None
    language: str | None = None
    timestampType: InworldTimestampType | None = None
    applyTextNormalization: InworldTextNormalization | None = None
    deliveryMode: InworldDeliveryMode | None = None
    timestampTransportStrategy: InworldTimestampTransportStrategy | None = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object as upstream sends it: unset optionals left out."""
        return self.model_dump(exclude_none=True)


def encode_synthesize_request(request: InworldSynthesizeRequest) -> bytes:
    """The request body as upstream's aiohttp ``json=`` writes it (``json.dumps`` defaults)."""
    return json.dumps(request.to_wire()).encode("utf-8")


# The ranges Inworld documents (upstream's docstrings); a server refuses a value outside them.
_RANGES: Mapping[str, tuple[float, float, bool]] = {
    # name: (low, high, low is exclusive)
    "bitrate": (1, 10_000_000, False),
    "sampleRateHertz": (8000, 48000, False),
    "temperature": (0, 2, True),
    "speakingRate": (0.5, 1.5, False),
}


def synthesize_request_problems(request: InworldSynthesizeRequest) -> list[MalformedMessage]:
    """What a server refuses in a well-typed request: an ``audioConfig`` value outside
    Inworld's range, an empty ``voiceId`` or ``modelId``. Each names its field."""
    problems: list[MalformedMessage] = []
    for name in ("voiceId", "modelId"):
        if not getattr(request, name):
            problems.append(MalformedMessage("must not be empty", where=name))
    if request.audioConfig is not None:
        for name, (low, high, exclusive) in _RANGES.items():
            value = getattr(request.audioConfig, name)
            if value is None:
                continue
            below = value <= low if exclusive else value < low
            if below or value > high:
                bracket = "(" if exclusive else "["
                problems.append(
                    MalformedMessage(
                        f"{value} is outside {bracket}{low}, {high}]",
                        where=f"audioConfig.{name}",
                    )
                )
    return problems


def decode_synthesize_request(body: bytes | bytearray | memoryview) -> InworldSynthesizeRequest:
    """The request in ``body``, or :class:`MalformedMessage` naming what is wrong and where:
    not UTF-8, not a JSON object, a missing or wrongly typed field, a value out of range."""
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedMessage(f"the body is not UTF-8 (byte {exc.start})") from None
    request = _validated(InworldSynthesizeRequest, load_json_object(text))
    problems = synthesize_request_problems(request)
    if problems:
        raise problems[0]
    return request


# -- the answer's lines ------------------------------------------------------------------------


class InworldSynthesisResult(_Wire):
    """``result``: a chunk of audio (base64; raw PCM s16le mono with ``PCM``), its
    ``timestampInfo``, or both. With ``ASYNC`` timestamps may come in a later line than
    their audio."""

    audioContent: Base64Audio | None = None
    timestampInfo: InworldTimestampInfo | None = None

    @cached_property
    def audio(self) -> bytes:
        """The decoded audio (empty when there is none)."""
        return base64.b64decode(self.audioContent) if self.audioContent else b""


class InworldSynthesisResultLine(_Wire):
    """``{"result": {...}}``."""

    result: InworldSynthesisResult


class InworldErrorBody(_Wire):
    """``error`` of an NDJSON line: ``code`` (a gRPC or HTTP status) and ``message``."""

    code: int | None = None
    message: str = ""


class InworldSynthesisErrorLine(_Wire):
    """``{"error": {"code", "message"}}``: the synthesis failed (IW-HTTP-2)."""

    error: InworldErrorBody


InworldSynthesisLine: TypeAlias = InworldSynthesisResultLine | InworldSynthesisErrorLine
"""Any line of the answer."""

SYNTHESIS_LINE_KINDS: Mapping[str, type[InworldSynthesisLine]] = {
    "result": InworldSynthesisResultLine,
    "error": InworldSynthesisErrorLine,
}
"""The line class of each key."""


def decode_synthesis_line(line: str | bytes | Mapping[str, Any]) -> InworldSynthesisLine:
    """One line (text, UTF-8 bytes, or an object decoded already) as its message, or
    :class:`MalformedMessage` (:class:`UnknownMessageType` for an object that is neither)."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedMessage(f"not UTF-8 (byte {exc.start})") from None
    return decode_keyed_message(line, SYNTHESIS_LINE_KINDS)


def inworld_result_line(
    audio: bytes | None, timestamp_info: InworldTimestampInfo | None = None
) -> bytes:
    """A ``result`` line carrying ``audio`` (left out when ``None``) and ``timestamp_info``.
    Raises :class:`ValueError` for timestamps a server must not send (IW-HTTP-3): a fault
    that wants them writes its own line."""
    result: dict[str, Any] = {}
    if audio is not None:
        result["audioContent"] = base64.b64encode(audio).decode("ascii")
    if timestamp_info is not None:
        problems = alignment_problems(timestamp_info)
        if problems:
            raise ValueError("; ".join(problems))
        result["timestampInfo"] = timestamp_info.to_wire()
    return encode_ndjson_line({"result": result})


def inworld_error_line(code: int, message: str) -> bytes:
    """An ``error`` line."""
    return encode_ndjson_line({"error": {"code": code, "message": message}})


# -- the client's reader -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InworldSynthesisAudio:
    """A ``result`` line: its decoded ``audio`` (possibly empty), the timed strings of its
    ``timestampInfo`` (possibly none; words, then characters) and that ``timestampInfo``."""

    line: int
    audio: bytes
    timed_strings: tuple[TimedString, ...] = ()
    timestamp_info: InworldTimestampInfo | None = None


@dataclass(frozen=True, slots=True)
class InworldSkippedLine:
    """A line upstream skips, and why (``"blank"``, ``"not UTF-8 ..."``, ``"not JSON ..."``,
    ``"neither result nor error ..."``)."""

    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class InworldSynthesisFailure:
    """An ``error`` line: the synthesis failed with ``code`` (``None`` when the server gave
    none) and ``message``."""

    line: int
    code: int | None
    message: str


InworldSynthesisEvent: TypeAlias = (
    InworldSynthesisAudio | InworldSkippedLine | InworldSynthesisFailure
)
"""What :class:`InworldSynthesisReader` returns."""


class InworldSynthesisReaderState(Enum):
    """Where a reader is."""

    READING = "reading"
    """Lines are read as they come."""
    FAILED = "failed"
    """An ``error`` line was read; the rest of the body is ignored."""
    ENDED = "ended"
    """The body ended (:meth:`InworldSynthesisReader.end`)."""


class InworldSynthesisReader:
    """The client side of an answer's NDJSON body: bytes in, events out (see the module's
    docstring). Each judgement a port might get wrong is one method."""

    def __init__(self, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self._lines = NDJSONDecoder(max_line_bytes=max_line_bytes)
        self.state = InworldSynthesisReaderState.READING

    def feed(self, data: bytes | bytearray | memoryview) -> list[InworldSynthesisEvent]:
        """The events of the lines ``data`` completes. Raises
        :class:`RemoteProtocolError` for a line of the wrong shape or one too long."""
        if self.state is not InworldSynthesisReaderState.READING:
            return []
        return self._read(self._guard(lambda: self._lines.feed(data)))

    def end(self) -> list[InworldSynthesisEvent]:
        """The events of a last line without a newline; the reader is done."""
        if self.state is not InworldSynthesisReaderState.READING:
            return []
        lines = self._guard(self._lines.end)
        events = self._read(lines)
        if self.state is InworldSynthesisReaderState.READING:
            self.state = InworldSynthesisReaderState.ENDED
        return events

    def _guard(self, read: Any) -> list[NDJSONLine]:
        try:
            return read()
        except MalformedMessage as exc:
            raise RemoteProtocolError("IW-HTTP-2", str(exc)) from None

    def _read(self, lines: Sequence[NDJSONLine]) -> list[InworldSynthesisEvent]:
        events: list[InworldSynthesisEvent] = []
        for line in lines:
            event = self._event(line)
            events.append(event)
            if isinstance(event, InworldSynthesisFailure):
                self.state = InworldSynthesisReaderState.FAILED
                break
        return events

    def _event(self, line: NDJSONLine) -> InworldSynthesisEvent:
        text = line.data.strip()
        if not text:
            return InworldSkippedLine(line.number, "blank")
        try:
            payload = self._parse(text)
        except ValueError as exc:
            return InworldSkippedLine(line.number, str(exc))
        try:
            message = decode_synthesis_line(payload)
        except UnknownMessageType as exc:
            return InworldSkippedLine(line.number, f"neither result nor error ({exc.unknown_type})")
        except MalformedMessage as exc:
            raise RemoteProtocolError("IW-HTTP-2", f"line {line.number}: {exc}") from None
        if isinstance(message, InworldSynthesisErrorLine):
            return self._failure(line.number, message.error)
        return self._audio(line.number, message.result)

    def _parse(self, text: bytes) -> dict[str, Any]:
        """The line's JSON object; :class:`ValueError` (a skip) for a line that is not UTF-8
        or not JSON; :class:`RemoteProtocolError` for JSON that is not an object."""
        try:
            decoded = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"not UTF-8 (byte {exc.start})") from None
        try:
            value = json.loads(decoded, parse_constant=_refuse_constant)
        except RecursionError:
            raise ValueError("not JSON: nested too deeply") from None
        except ValueError as exc:
            raise ValueError(f"not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise RemoteProtocolError(
                "IW-HTTP-2", f"expected a JSON object, got {describe_json_value(value)}"
            )
        return value

    def _audio(self, number: int, result: InworldSynthesisResult) -> InworldSynthesisAudio:
        info = result.timestampInfo
        strings = timed_strings(info) if info is not None else ()
        return InworldSynthesisAudio(number, result.audio, strings, info)

    def _failure(self, number: int, error: InworldErrorBody) -> InworldSynthesisFailure:
        return InworldSynthesisFailure(number, error.code, error.message)


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


# -- voices ------------------------------------------------------------------------------------

Voices = Annotated[tuple[dict[str, Any], ...], BeforeValidator(as_tuple)]


class InworldVoicesResponse(_Wire):
    """The answer of ``GET tts/v1/voices``: ``voices``, each kept verbatim (absent: none)."""

    voices: Voices = ()


def decode_voices_response(body: str | bytes | bytearray | memoryview) -> list[dict[str, Any]]:
    """The voices of a ``GET tts/v1/voices`` answer, verbatim; :class:`MalformedMessage`
    for a body that is not a JSON object or whose ``voices`` is not an array of objects."""
    if not isinstance(body, str):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedMessage(f"the body is not UTF-8 (byte {exc.start})") from None
    response = _validated(InworldVoicesResponse, load_json_object(body))
    return [dict(voice) for voice in response.voices]


def voices_problems(payload: object) -> list[str]:
    """What makes ``payload`` (a decoded answer) one a server must not send (IW-VOICES-1):
    not an object, ``voices`` missing or not an array, a voice that is not an object or has
    no string ``voiceId``. Empty when it conforms."""
    if not isinstance(payload, dict):
        return [f"expected a JSON object, got {describe_json_value(payload)}"]
    if "voices" not in payload:
        return ["voices: missing"]
    voices = payload["voices"]
    if not isinstance(voices, list):
        return [f"voices: expected an array, got {describe_json_value(voices)}"]
    problems = []
    for index, voice in enumerate(voices):
        if not isinstance(voice, dict):
            problems.append(
                f"voices[{index}]: expected an object, got {describe_json_value(voice)}"
            )
        elif not isinstance(voice.get("voiceId"), str) or not voice["voiceId"]:
            problems.append(f"voices[{index}].voiceId: expected a non-empty string")
    return problems


# -- validation --------------------------------------------------------------------------------


def _validated(model: type[M], payload: Mapping[str, Any]) -> M:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        what = errors[0]["msg"]
        if len(errors) > 1:
            what += f" (and {len(errors) - 1} more)"
        raise MalformedMessage(what, where=_where(errors[0]["loc"]) or "$") from None
    except RecursionError:
        raise MalformedMessage("nested too deeply") from None


def _where(loc: Sequence[int | str]) -> str:
    """A pydantic error location as a JSON path: ``audioConfig.sampleRateHertz``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path
