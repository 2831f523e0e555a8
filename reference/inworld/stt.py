"""The reference Inworld STT client (SPEC §5.3): :class:`InworldSTT` and
:class:`InworldSpeechStream`.

The ``websockets`` library only moves frames and time (the simulator is aiohttp, so the two
stacks check each other). Every protocol decision is the sans-IO wire module's
(:mod:`voicewire.reference.inworld.wire.stt_session`): a
:class:`~voicewire.reference.inworld.wire.stt_session.TranscribeClientSession` per connection
builds every frame the client sends (``transcribeConfig`` first; one ``audioChunk`` per pushed
frame, bytes exact; ``endTurn`` on :meth:`InworldSpeechStream.flush`; ``closeStream`` at end of
input), counts usage (IW-STT-USG-1) and judges every frame and close the server sends; its
:class:`~voicewire.reference.inworld.wire.stt_session.InworldSegmentTracker` outlives the
connection. The IO shell is the skeleton every WebSocket STT client shares
(:class:`~voicewire.reference.stt.socket_stream.SocketSpeechStream`: resampling what is
pushed, the input queue, the retry loop, error mapping); this module adds Inworld's upgrade,
the frames each input makes, and the wait for the close after ``closeStream``.

Names, arguments and defaults mirror ``livekit.plugins.inworld.STT`` 1.8.9 (named
``InworldSTT`` here: ``STT`` is the LiveKit inference client's name). Where this client
decides differently from upstream, it follows SPEC.md:

- a server close before ``closeStream`` is a retryable ``APIConnectionError`` and the stream
  reconnects (IW-STT-END-1; upstream ends the stream silently);
- a binary or malformed frame ends the attempt with an ``APIConnectionError`` (CLI-ROB-1;
  upstream skips invalid JSON and reads wrong types with defaults);
- Inworld's error frame ``{"error": {"code", "message"}}`` is an ``APIStatusError`` whose
  status is its gRPC code, retryable unless the code says the request itself is wrong
  (:func:`~voicewire.reference.inworld.wire.stt_session.is_retryable_transcribe_error`;
  upstream ignores the frame);
- after ``closeStream`` the client waits at most ``conn_options.timeout`` seconds of silence
  for the close, then fails with a non-retryable ``APITimeoutError`` (upstream waits forever);
  a close after ``closeStream`` with a code other than 1000 is a non-retryable
  ``APIConnectionError``;
- usage is reported every 5 s of *audio* sent (upstream: of wall time, checked on push), on
  ``endTurn`` and at end of input, exact to the sample;
- a stereo frame is mixed down to mono; ``num_channels`` other than 1 is refused;
- a stream makes at most ``max_retry + 1`` connections, waiting as §2.4 says between them;
  the upgrade and every send are bounded by ``conn_options.timeout``.

``http_session`` is accepted for upstream's signature; the socket is ``websockets``', so it is
not used.

Events, on the ``InworldSTT`` object (``stt.on("error", fn)``): ``error``, an
:class:`~voicewire.reference.stt.socket_stream.STTErrorEvent` for every failed attempt.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import uuid
from collections.abc import Sequence
from typing import Any

from voicewire.reference.auth import inworld_authorization
from voicewire.reference.errors import (
    APIConnectionError,
    APIConnectOptions,
    APIStatusError,
    APITimeoutError,
)
from voicewire.reference.inworld.wire.stt_messages import (
    TranscribeConfigMessage,
    transcribe_config,
)
from voicewire.reference.inworld.wire.stt_session import (
    InworldSegmentTracker,
    TranscribeClientSession,
    TranscribeOutput,
    TranscribeState,
)
from voicewire.reference.inworld.wire.urls import DEFAULT_INWORLD_BASE_URL, inworld_stt_url
from voicewire.reference.stt.socket_stream import (
    SocketSpeechStream,
    SocketSTT,
    check_time_scale,
)
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, InvalidURI, WebSocketException

__all__ = [
    "DEFAULT_INWORLD_STT_LANGUAGE",
    "DEFAULT_INWORLD_STT_MODEL",
    "InworldSTT",
    "InworldSpeechStream",
]

DEFAULT_INWORLD_STT_MODEL = "inworld/inworld-stt-1"
"""Upstream's default model (any model string is passed through)."""
DEFAULT_INWORLD_STT_LANGUAGE = "en-US"
"""Upstream's default language."""
API_KEY_ENV = "INWORLD_API_KEY"
"""Where the API key comes from when no ``api_key`` is given (AUTH-6)."""
MAX_MESSAGE_SIZE = 1 << 20
"""The largest server message read (bytes); a bigger frame fails the connection (close 1009),
which the stream reports as an ``APIConnectionError``."""


class InworldSTT(SocketSTT["InworldSpeechStream"]):
    """Inworld speech-to-text, streamed over a WebSocket (SPEC §5.3).

    ``api_key`` comes from the argument, else ``INWORLD_API_KEY``; a missing one raises
    ``ValueError`` (AUTH-6: it is sent as ``Authorization: Basic <key>``, verbatim). The other
    arguments are upstream's, with its defaults; ``base_url``'s path is kept (the STT path is
    appended to it). Beyond upstream's arguments: ``time_scale`` multiplies the waits between
    attempts (a finite number > 0), ``label`` names the model in error events.
    """

    stream_class: type[InworldSpeechStream]
    """The stream :meth:`stream` returns (set below); a variant may swap it."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        model: str = DEFAULT_INWORLD_STT_MODEL,
        language: str = DEFAULT_INWORLD_STT_LANGUAGE,
        sample_rate: int = 16000,
        num_channels: int = 1,
        enable_voice_profile: bool = True,
        voice_profile_top_n: int = 1,
        vad_threshold: float | None = None,
        min_end_of_turn_silence_when_confident: int = 200,
        end_of_turn_confidence_threshold: float = 0.3,
        base_url: str = DEFAULT_INWORLD_BASE_URL,
        http_session: Any = None,
        time_scale: float = 1.0,
        label: str | None = None,
    ) -> None:
        super().__init__()
        key = api_key if api_key is not None else os.environ.get(API_KEY_ENV, "")
        if not isinstance(key, str) or not key:
            raise ValueError(f"Inworld API key required: set {API_KEY_ENV} or pass api_key")
        for name, value in (("model", model), ("language", language)):
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} must be a non-empty string, got {value!r}")
        if num_channels != 1:
            raise ValueError(
                f"the reference client sends mono audio: num_channels 1, got {num_channels!r}"
            )
        scale = check_time_scale(time_scale)
        self._authorization = inworld_authorization(key)
        self.model = model
        self.language = language
        self.enable_voice_profile = enable_voice_profile
        self.voice_profile_top_n = voice_profile_top_n
        self.vad_threshold = vad_threshold
        self.min_end_of_turn_silence_when_confident = min_end_of_turn_silence_when_confident
        self.end_of_turn_confidence_threshold = end_of_turn_confidence_threshold
        self.base_url = base_url
        self.http_session = http_session
        self.time_scale = scale
        self.label = label or f"inworld.STT({model})"
        self._sample_rate = sample_rate
        # Checks the options the wire carries (and the URL) once, here.
        self._sample_rate = self.transcribe_config().sample_rate
        self.url = inworld_stt_url(base_url)

    @property
    def provider(self) -> str:
        """``"Inworld"``, as upstream."""
        return "Inworld"

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header value of every connect (AUTH-6)."""
        return self._authorization

    def transcribe_config(self, *, language: str | None = None) -> TranscribeConfigMessage:
        """The ``transcribeConfig`` a stream opens with (IW-STT-C-1), ``language`` overriding
        the model's."""
        return transcribe_config(
            model=self.model,
            language=language or self.language,
            sample_rate=self._sample_rate,
            enable_voice_profile=self.enable_voice_profile,
            voice_profile_top_n=self.voice_profile_top_n,
            end_of_turn_confidence_threshold=self.end_of_turn_confidence_threshold,
            min_end_of_turn_silence_when_confident=self.min_end_of_turn_silence_when_confident,
            vad_threshold=self.vad_threshold,
        )

    def _check_language(self, language: str | None) -> None:
        if language is not None and (not isinstance(language, str) or not language):
            raise ValueError(f"language must be a non-empty string or None, got {language!r}")

    def _new_stream(
        self, language: str | None, conn_options: APIConnectOptions
    ) -> InworldSpeechStream:
        return self.stream_class(
            self, config=self.transcribe_config(language=language), conn_options=conn_options
        )

    def update_options(
        self,
        *,
        model: str | None = None,
        language: str | None = None,
        enable_voice_profile: bool | None = None,
        voice_profile_top_n: int | None = None,
        vad_threshold: float | None = None,
        min_end_of_turn_silence_when_confident: int | None = None,
        end_of_turn_confidence_threshold: float | None = None,
    ) -> None:
        """Change options for the streams to come (as upstream: a live stream keeps its
        ``transcribeConfig``). ``None`` leaves an option as it is; an option the wire cannot
        carry raises ``ValueError`` and changes nothing."""
        changes = {
            name: value
            for name, value in (
                ("model", model),
                ("language", language),
                ("enable_voice_profile", enable_voice_profile),
                ("voice_profile_top_n", voice_profile_top_n),
                ("vad_threshold", vad_threshold),
                ("min_end_of_turn_silence_when_confident", min_end_of_turn_silence_when_confident),
                ("end_of_turn_confidence_threshold", end_of_turn_confidence_threshold),
            )
            if value is not None
        }
        for name in ("model", "language"):
            if name in changes and (not isinstance(changes[name], str) or not changes[name]):
                raise ValueError(f"{name} must be a non-empty string, got {changes[name]!r}")
        before = {name: getattr(self, name) for name in changes}
        for name, value in changes.items():
            setattr(self, name, value)
        try:
            self.transcribe_config()
        except ValueError:
            for name, value in before.items():
                setattr(self, name, value)
            raise


class InworldSpeechStream(SocketSpeechStream[TranscribeClientSession]):
    """One streaming transcription: push audio in, iterate SpeechEvents out (SPEC §5.3).

    ``push_frame`` takes audio at any rate and channel count (mixed down to mono, resampled to
    the model's rate); each pushed frame goes out as one ``audioChunk``, exactly its samples
    when it comes at the model's rate. ``flush`` sends ``endTurn``; ``end_input`` sends
    ``closeStream`` (each with the usage not yet reported); ``aclose`` stops everything.
    Iteration ends when the server closes with 1000 after ``closeStream``, and raises the
    stream's error, an ``APIError``, otherwise (CLI-ROB-1).

    The input is one queue for the whole stream: audio pushed while a connection is down goes
    to the next one; what was sent to a failed connection is not sent again.
    """

    service = "Inworld STT"

    session_class: type[TranscribeClientSession] = TranscribeClientSession
    """The wire session of every connection (a reconnect's is the previous one's
    :meth:`~TranscribeClientSession.reconnect`, of the same class)."""
    tracker_class: type[InworldSegmentTracker] = InworldSegmentTracker
    """The segment tracker the stream's sessions share."""

    _stt: InworldSTT

    def __init__(
        self,
        stt: InworldSTT,
        *,
        config: TranscribeConfigMessage,
        conn_options: APIConnectOptions,
    ) -> None:
        clock = asyncio.get_running_loop().time
        # A client-generated id on every event, as upstream's shortuuid (Inworld sends none).
        request_id = uuid.uuid4().hex[:12]
        body = config.transcribeConfig
        session = self.session_class(
            config,
            clock=clock,
            tracker=self.tracker_class(
                sample_rate=body.sampleRateHertz,
                language=body.language,
                request_id=request_id,
            ),
            close_timeout=conn_options.timeout,
        )
        super().__init__(
            stt,
            session=session,
            conn_options=conn_options,
            request_id=request_id,
            sample_rate=config.sample_rate,
            clock=clock,
        )

    # -- the protocol's steps ------------------------------------------------------------------

    async def _connect(self) -> ClientConnection:
        """The upgrade with ``Authorization: Basic <key>`` only (AUTH-6), within ``timeout``:
        a refused upgrade is an ``APIStatusError`` with its status and body, a timeout an
        ``APITimeoutError``, a bad URL a non-retryable ``APIConnectionError``, anything else a
        retryable one."""
        timeout = self._conn_options.timeout
        try:
            return await connect(
                self._stt.url,
                additional_headers={"Authorization": self._stt.authorization},
                compression=None,
                ping_interval=None,
                proxy=None,
                open_timeout=timeout,
                close_timeout=timeout,
                max_size=MAX_MESSAGE_SIZE,
            )
        except InvalidStatus as exc:
            response = exc.response
            raise APIStatusError(
                f"Inworld STT refused the connection: HTTP {response.status_code}",
                status_code=response.status_code,
                body=_response_body(response.body),
            ) from exc
        except (TimeoutError, asyncio.TimeoutError) as exc:
            raise APITimeoutError(f"connecting to Inworld STT timed out after {timeout} s") from exc
        except InvalidURI as exc:
            raise APIConnectionError(
                f"invalid Inworld STT URL {self._stt.url!r}: {exc}", retryable=False
            ) from exc
        except (OSError, EOFError, WebSocketException) as exc:
            raise APIConnectionError(
                f"failed to connect to Inworld STT: {type(exc).__name__}: {exc}"
            ) from exc

    async def _send(self, ws: ClientConnection, frame: str) -> None:
        """Send one frame within ``timeout`` (CLI-ROB-1: a server that stops reading must not
        hang the stream). Raises ``ConnectionClosed`` as websockets does."""
        # asyncio.wait, not wait_for: before Python 3.12 wait_for swallows a cancellation that
        # arrives as the send completes, and aclose() must always stop the sender.
        send = self._loop.create_task(ws.send(frame))
        send.add_done_callback(lambda task: task.cancelled() or task.exception())
        try:
            done, _ = await asyncio.wait({send}, timeout=self._conn_options.timeout)
        finally:
            if not send.done():
                send.cancel()
        if not done:
            raise APITimeoutError(
                f"sending to Inworld STT timed out after {self._conn_options.timeout} s"
            )
        send.result()

    def _opening_frame(self, session: TranscribeClientSession) -> str:
        return session.start()

    def _can_send(self, session: TranscribeClientSession, item: object) -> bool:
        return session.state is TranscribeState.OPEN

    def _audio_frames(self, session: TranscribeClientSession, pcm: bytes) -> Sequence[str]:
        return self._emitted(session.push_audio(pcm))

    def _flush_frames(self, session: TranscribeClientSession) -> Sequence[str]:
        return self._emitted(session.end_turn())

    def _end_frames(self, session: TranscribeClientSession) -> Sequence[str]:
        return self._emitted(session.close_stream())

    def _emitted(self, out: TranscribeOutput) -> Sequence[str]:
        # The usage an action reports is emitted before its frames go out (IW-STT-USG-1).
        for event in out.events:
            self._push(event)
        return out.frames

    async def _idle_timeout(
        self, ws: ClientConnection, session: TranscribeClientSession
    ) -> float | None:
        """While the stream is open: until new input. After ``closeStream``: until the
        session's close deadline, when it fails the attempt with a non-retryable
        ``APITimeoutError``."""
        if session.state is TranscribeState.CLOSING:
            session.check_close_deadline()  # raises APITimeoutError once it passed
            deadline = session.close_deadline
            assert deadline is not None
            return deadline - self._clock()
        if session.state is not TranscribeState.OPEN:
            return None
        return math.inf


InworldSTT.stream_class = InworldSpeechStream


def _response_body(body: bytes | None) -> object | None:
    """A refused upgrade's body: its JSON when it is JSON, else its text (cut short)."""
    if not body:
        return None
    text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text[:4000]
