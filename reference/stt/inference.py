"""The reference LiveKit inference STT client (SPEC §3): ``STT`` and ``SpeechStream``.

The ``websockets`` library only moves frames and time (the simulator is aiohttp, so the two
stacks check each other). Every protocol decision is the sans-IO wire module's
(:mod:`voicewire.reference.stt.wire`): a
:class:`~voicewire.reference.stt.wire.ClientSession` per connection builds every frame the
client sends (``session.create`` first, exact 50 ms ``input_audio`` frames, ``session.finalize``
once, ``session.update``, ``session.close``), judges every frame and close the server sends,
and holds the STT-C-4 close deadline on the clock this module gives it; its
:class:`~voicewire.reference.stt.wire.SegmentTracker` and
:class:`~voicewire.reference.stt.wire.AudioFramer` outlive the connection, so segments, usage
and held audio carry over a reconnect. The IO shell is the skeleton every WebSocket STT client
shares (:class:`~voicewire.reference.stt.socket_stream.SocketSpeechStream`: resampling what is
pushed, the input queue, the retry loop, error mapping); this module adds the gateway's
upgrade, the frames each input makes and the STT-C-4 close timers.

Names and semantics mirror ``livekit.agents.inference.STT``. Where this client decides
differently from upstream 1.8.9, it follows SPEC.md:

- a stereo frame is mixed down to mono (upstream would send interleaved stereo as mono);
- a binary or malformed frame ends the attempt with an ``APIConnectionError`` (CLI-ROB-1;
  upstream logs a binary frame and crashes on invalid JSON with a ``JSONDecodeError``);
- an ``error`` message is an ``APIStatusError`` retryable unless its code is a 4xx other than
  408/429, before and after input ended alike (STT-END-1);
- a stream makes at most ``max_retry + 1`` connections (STT-RETRY-1 follows §2.4's limits;
  upstream resets its count at every final, so a stream can reconnect forever);
- a second :meth:`SpeechStream.end_input` is a no-op (upstream raises ``RuntimeError``); the
  ``session.finalize`` still goes out once (STT-C-3);
- the upgrade, every send and the closing handshake are bounded by ``conn_options.timeout``
  (upstream bounds only the upgrade), so a server that stops reading cannot hang a stream.

Like upstream, and unlike the wire module's default, the sessions are not strict about
STT-S-2's order: the real gateway may acknowledge ``session.finalize`` with
``session.finalized`` before its trailing transcripts, and upstream (which ignores the
acknowledgement) takes them. ``STT(strict=True)`` holds a server to the order.

Events, on the ``STT`` object (``stt.on("error", fn)``): ``error``, an :class:`STTErrorEvent`
``{error, recoverable, label}`` for every failed attempt (``recoverable``: another follows).
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from voicewire.reference.auth import InferenceCredentials, create_access_token
from voicewire.reference.errors import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions
from voicewire.reference.gateway_socket import gateway_url, open_gateway_socket, send_within
from voicewire.reference.stt.socket_stream import (
    SocketSpeechStream,
    SocketSTT,
    STTErrorEvent,
    check_conn_options,
    check_time_scale,
)
from voicewire.reference.stt.wire import (
    ENCODING,
    NORMAL_CLOSURE,
    AudioFramer,
    ClientSession,
    ConnectionSettings,
    FallbackModel,
    SegmentTracker,
    SessionCreate,
    SessionState,
    session_create,
)
from websockets.asyncio.client import ClientConnection

__all__ = ["STT", "STTErrorEvent", "SpeechStream", "stt_url"]

_SERVICE = "LiveKit Inference STT"
"""How errors name the service."""

MAX_MESSAGE_SIZE = 1 << 20
"""The largest server message read (bytes). A transcript is a few kilobytes; a bigger frame
fails the connection (close 1009), which the stream reports as an ``APIConnectionError``."""

FallbackModelLike: TypeAlias = str | FallbackModel | Mapping[str, Any]
"""A fallback model: its name, a :class:`FallbackModel`, or ``{"model", "extra_kwargs"?}``
(upstream's ``FallbackModel`` dict; ``"extra"`` is accepted too)."""


def stt_url(base_url: str, model: str) -> str:
    """The WebSocket URL of a stream (SPEC §3): ``/stt`` under ``base_url`` made a WebSocket
    URL, ``?model=<model>`` (see :func:`~voicewire.reference.gateway_socket.gateway_url`)."""
    return gateway_url(base_url, "stt", model)


def _fallback_model(entry: object) -> FallbackModel:
    if isinstance(entry, FallbackModel):
        return entry
    if isinstance(entry, str) and entry:
        return FallbackModel(model=entry)
    if isinstance(entry, Mapping) and isinstance(entry.get("model"), str):
        extra = entry.get("extra_kwargs", entry.get("extra"))
        return FallbackModel(model=entry["model"], extra=dict(extra) if extra else None)
    raise TypeError(
        "a fallback model is a model name, a FallbackModel or a mapping with a 'model' "
        f"string, got {entry!r}"
    )


class STT(SocketSTT["SpeechStream"]):
    """A LiveKit inference speech-to-text model, streamed over a WebSocket (SPEC §3).

    Credentials and base URL follow AUTH-5 (arguments, then environment; a missing key or
    secret raises ``ValueError``). ``model`` ``"auto"`` lets the gateway choose: the query
    says ``model=auto`` and ``session.create`` leaves ``model`` out (STT-C-1). ``sample_rate``
    is the rate audio is sent at (pushed audio is resampled to it); ``encoding`` can only be
    ``"pcm_s16le"``. ``extra_kwargs`` goes to ``settings.extra`` as given (upstream 1.8.9
    adds ``"keyterm": []`` for deepgram models; pass it to reproduce that frame exactly).
    ``fallback`` lists models the gateway may switch to. ``conn_options`` is sent to the
    gateway as ``connection {timeout, retries}``, as upstream sends its constructor's options;
    a stream's own retry loop follows :meth:`stream`'s ``conn_options``.

    Beyond upstream's arguments:

    - ``time_scale`` multiplies every wait of the client: the waits between attempts
      (§2.4) and the STT-C-4 close timers (3 s after the last final, 30 s without one), so
      tests and the harness run them quickly; it must be a finite number > 0.
    - ``strict``: hold the server to STT-S-2's order (no ``session.finalized`` before
      ``session.finalize``, no transcript after ``session.finalized``) and end the attempt
      with an ``APIConnectionError`` when it breaks it. Off by default, as upstream and the
      real gateway need: upstream ignores ``session.finalized`` (an optional acknowledgement)
      and keeps taking transcripts until the close.
    - ``label`` names the model in error events.
    """

    stream_class: type[SpeechStream]
    """The stream :meth:`stream` returns (set below, once SpeechStream exists); a subclass
    may swap it for a variant."""

    def __init__(
        self,
        model: str = "auto",
        *,
        language: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        api_secret: str | None = None,
        sample_rate: int = 16000,
        encoding: str = ENCODING,
        extra_kwargs: Mapping[str, Any] | None = None,
        fallback: FallbackModelLike | Sequence[FallbackModelLike] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        time_scale: float = 1.0,
        strict: bool = False,
        label: str | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(model, str) or not model:
            raise ValueError(f"model must be a non-empty string, got {model!r}")
        if language is not None and not isinstance(language, str):
            raise TypeError(f"language must be a str or None, got {type(language).__name__}")
        if encoding != ENCODING:
            raise ValueError(f"encoding must be {ENCODING!r}, got {encoding!r}")
        if extra_kwargs is not None and not isinstance(extra_kwargs, Mapping):
            raise TypeError(f"extra_kwargs must be a mapping, got {type(extra_kwargs).__name__}")
        check_conn_options(conn_options)
        scale = check_time_scale(time_scale)
        if fallback is None:
            entries: Sequence[FallbackModelLike] = ()
        elif isinstance(fallback, (str, FallbackModel, Mapping)):
            entries = (fallback,)
        else:
            entries = fallback
        self._credentials = InferenceCredentials.resolve(api_key, api_secret, base_url)
        self.model = model
        self.language = language or None
        self.extra_kwargs: dict[str, Any] = dict(extra_kwargs or {})
        self.fallback: tuple[FallbackModel, ...] = tuple(_fallback_model(e) for e in entries)
        self.conn_options = conn_options
        self.time_scale = scale
        self.strict = strict
        self.label = label or f"inference.STT({model})"
        # Checks sample_rate (an int in 1..999999) once, here, rather than at the first stream.
        self._sample_rate = session_create(sample_rate=sample_rate).sample_rate

    @property
    def base_url(self) -> str:
        """The resolved base URL (AUTH-5)."""
        return self._credentials.base_url

    @property
    def url(self) -> str:
        """The WebSocket URL of every stream (see :func:`stt_url`)."""
        return stt_url(self.base_url, self.model)

    def access_token(self) -> str:
        """A fresh inference token, minted per connect (AUTH-1..3)."""
        return create_access_token(self._credentials.api_key, self._credentials.api_secret)

    def session_create(self, *, language: str | None = None) -> SessionCreate:
        """The ``session.create`` a new stream opens with (STT-C-1): these options, with
        ``language`` overriding the model's."""
        return session_create(
            sample_rate=self._sample_rate,
            model=self.model,
            language=language or self.language,
            extra=self.extra_kwargs,
            connection=ConnectionSettings(
                timeout=self.conn_options.timeout, retries=self.conn_options.max_retry
            ),
            fallback=self.fallback,
        )

    def _check_language(self, language: str | None) -> None:
        if language is not None and not isinstance(language, str):
            raise TypeError(f"language must be a str or None, got {type(language).__name__}")

    def _new_stream(self, language: str | None, conn_options: APIConnectOptions) -> SpeechStream:
        return self.stream_class(
            self, create=self.session_create(language=language), conn_options=conn_options
        )

    def update_options(
        self,
        *,
        model: str | None = None,
        language: str | None = None,
        extra_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        """Change options for the streams to come and for every live stream (STT-C-5, see
        :meth:`SpeechStream.update_options`); ``extra_kwargs`` is merged into the current."""
        if model is not None:
            if not isinstance(model, str) or not model:
                raise ValueError(f"model must be a non-empty string, got {model!r}")
            self.model = model
        if language is not None:
            self.language = language
        if extra_kwargs is not None:
            self.extra_kwargs = {**self.extra_kwargs, **extra_kwargs}
        for stream in list(self._streams):
            stream.update_options(model=model, language=language, extra_kwargs=extra_kwargs)


@dataclass(frozen=True)
class _Update:
    """An input item of :meth:`SpeechStream.update_options`: what a ``session.update``
    changes."""

    model: str | None
    language: str | None
    extra: Mapping[str, Any] | None


class SpeechStream(SocketSpeechStream[ClientSession]):
    """One streaming transcription: push audio in, iterate SpeechEvents out (SPEC §3).

    ``push_frame`` takes audio at any rate and channel count (mixed down to mono and
    resampled to the model's ``sample_rate``); ``flush`` sends the held remainder as one
    shorter frame; ``end_input`` ends the input (``session.finalize``, STT-C-3);
    ``update_options`` changes options mid-stream (``session.update``, STT-C-5); ``aclose``
    stops everything. Iteration ends when the server closes after the finalize (STT-END-1)
    and raises the stream's error, an ``APIError``, otherwise (CLI-ROB-1). Use it as an async
    context manager, or call :meth:`aclose`.

    The input is one queue for the whole stream: audio pushed while a connection is down goes
    to the next one; what was sent to a failed connection is not sent again (as upstream).
    After the finalize, the client closes the socket itself when the server lingers
    (STT-C-4's timers).
    """

    service = "LiveKit Inference STT"

    # The wire objects a stream is made of; a variant (a mutant of the zoo) swaps one.
    session_class: type[ClientSession] = ClientSession
    """The wire session of every connection (a reconnect's session is the previous one's
    :meth:`~voicewire.reference.stt.wire.ClientSession.reconnect`, of the same class)."""
    tracker_class: type[SegmentTracker] = SegmentTracker
    """The segment tracker the stream's sessions share."""
    framer_class: type[AudioFramer] = AudioFramer
    """The audio framer the stream's sessions share."""

    _stt: STT

    def __init__(self, stt: STT, *, create: SessionCreate, conn_options: APIConnectOptions) -> None:
        loop = asyncio.get_running_loop()
        request_id = f"stt_request_{uuid.uuid4().hex[:12]}"
        # The sessions' clock runs time_scale times faster than the loop's, so the STT-C-4
        # timers (3 s, 30 s on that clock) last time_scale times as long in real time.
        scale = stt.time_scale

        def clock() -> float:
            return loop.time() / scale

        session = self.session_class(
            create,
            clock=clock,
            tracker=self.tracker_class(
                sample_rate=create.sample_rate,
                language=create.settings.language,
                request_id=request_id,
            ),
            framer=self.framer_class(create.sample_rate),
            strict=stt.strict,
        )
        super().__init__(
            stt,
            session=session,
            conn_options=conn_options,
            request_id=request_id,
            sample_rate=create.sample_rate,
            clock=clock,
        )

    @property
    def start_time_offset(self) -> float:
        """Seconds added to the server's times: where the current session's time zero lies
        on the stream's timeline (it moves forward at every reconnect, STT-RETRY-1)."""
        return self._session.tracker.offset

    def update_options(
        self,
        *,
        model: str | None = None,
        language: str | None = None,
        extra_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        """Change options mid-stream (STT-C-5): a ``session.update`` with what changes goes
        out after the audio already pushed, and every later connection opens with the new
        options. A new ``language`` is also the default of the transcripts that follow
        (STT-ORD-5). Nothing given, or a closed stream: nothing happens."""
        # Checked here: a wrong type must fail the caller, not the stream's sender later.
        for name, value in (("model", model), ("language", language)):
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"{name} must be a non-empty string or None, got {value!r}")
        if extra_kwargs is not None and not isinstance(extra_kwargs, Mapping):
            raise TypeError(f"extra_kwargs must be a mapping, got {type(extra_kwargs).__name__}")
        if (model is None and language is None and extra_kwargs is None) or self._closed:
            return
        self._put(
            _Update(model, language, dict(extra_kwargs) if extra_kwargs is not None else None)
        )

    # -- the protocol's steps ------------------------------------------------------------------

    async def _connect(self) -> ClientConnection:
        """The upgrade, with a fresh token (AUTH-3), within ``timeout`` (RETRY-1's mapping)."""
        return await open_gateway_socket(
            self._stt.url,
            self._stt.access_token(),
            service=_SERVICE,
            timeout=self._conn_options.timeout,
            max_size=MAX_MESSAGE_SIZE,
        )

    async def _send(self, ws: ClientConnection, frame: str) -> None:
        """Send one frame within ``timeout`` (CLI-ROB-1)."""
        await send_within(ws, frame, self._conn_options.timeout, service=_SERVICE)

    def _opening_frame(self, session: ClientSession) -> str:
        return session.create()

    def _can_send(self, session: ClientSession, item: object) -> bool:
        # An update is the session's to judge (it sends nothing once the session is over).
        return isinstance(item, _Update) or session.state is SessionState.OPEN

    def _frames_for(self, session: ClientSession, item: object) -> Sequence[str]:
        if isinstance(item, _Update):
            frame = session.update(model=item.model, language=item.language, extra=item.extra)
            return [frame] if frame is not None else []
        return super()._frames_for(session, item)

    def _audio_frames(self, session: ClientSession, pcm: bytes) -> Sequence[str]:
        return session.push_audio(pcm)

    def _flush_frames(self, session: ClientSession) -> Sequence[str]:
        return session.flush()

    def _end_frames(self, session: ClientSession) -> Sequence[str]:
        return session.end_input()

    async def _idle_timeout(self, ws: ClientConnection, session: ClientSession) -> float | None:
        """Before the finalize: until new input. After it: until STT-C-4's close deadline,
        and at the deadline (the server lingered) ``session.close``, then close 1000."""
        if not session.input_ended:
            return math.inf
        deadline = session.close_deadline
        if deadline is None:
            return None  # closing or closed: nothing more to send
        closing = session.tick()
        if closing:
            await self._send_all(ws, closing)
            await ws.close(NORMAL_CLOSURE)
            return None
        return (deadline - self._clock()) * self._time_scale

    def _session_over(self, session: ClientSession) -> bool:
        # session.closed after the input ended: the stream is over.
        return session.state is SessionState.CLOSED


STT.stream_class = SpeechStream
