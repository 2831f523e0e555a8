"""Upstream livekit-plugins-inworld 1.8.9's Inworld part: ``voicewire run --iut livekit`` for
``inworld.tts.http``, ``inworld.tts.stream``, ``inworld.voices`` and ``inworld.stt.stream``.

:class:`LivekitInworld` performs the four operations with upstream's own objects,
``livekit.plugins.inworld.TTS`` (``synthesize()``, ``stream()`` contexts on its one shared
socket, ``list_voices()``) and ``livekit.plugins.inworld.STT`` (``stream()``), exactly as
:class:`~voicewire.harness.inworld_reference.InworldReference` does for the reference: the
same script player, the same recorder, only the construction and translation steps replaced.
It reports what upstream does and never repairs it:

- audio is upstream's ``SynthesizedAudio`` (an ``rtc.AudioFrame`` whose ``data`` is a
  memoryview of int16); its timed transcripts ride on the frames, in
  ``frame.userdata["lk.timed_transcripts"]`` (a list of ``TimedString``), so each is recorded
  with the frame that carried it, and none after the last frame;
- an exception upstream raises that is not an ``APIError`` (a ``KeyError`` from a message of
  the wrong shape, a ``ContentTypeError`` from a voices answer that is not JSON...) is the
  synthesis's or the stream's end, what the cases judge (CLI-ROB-1), never a harness error;
  a synthesis or stream upstream never ends (a context that never gets ``contextClosed``, an
  STT socket the server never closes) is closed at the request's ``end_timeout`` and reported
  as a ``TimeoutError``;
- upstream's ``error`` event names no stream (``TTSError`` has ``label`` and ``error`` only),
  so a failed attempt of concurrent streams is attributed to the first stream still running
  (:meth:`InworldReference._stream_of`'s fallback): with several contexts open, a ``tts.error``
  may be reported on a sibling of the stream that failed. Each stream's own ``tts.end`` (what
  it raised) is always its own.

Upstream's aiohttp session is built here for each operation, without the proxy variables of
the environment (a proxy would take the loopback traffic meant for the embedded simulator;
upstream's default session also needs a job context, wire-capture §10), and closed after
upstream's TTS or STT (and with it its sockets).

livekit is optional (the ``livekit`` extra): this module imports without it, and building the
part raises :class:`~voicewire.harness.capabilities.ImplementationUnavailable` when
livekit-agents or livekit-plugins-inworld is missing or is not the pinned release.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from voicewire.harness.capabilities import ImplementationUnavailable
from voicewire.harness.events import ErrorInfo
from voicewire.harness.inworld import (
    InworldSTTStreamRequest,
    InworldTTSAnswer,
    InworldTTSHTTPRequest,
    InworldTTSStreamRequest,
    InworldVoicesAnswer,
    InworldVoicesRequest,
)
from voicewire.harness.inworld_reference import InworldReference, InworldSTTPart, inworld_urls
from voicewire.harness.llm_livekit import UPSTREAM_VERSION, require_upstream, upstream_error_info
from voicewire.harness.stt import SpeechEventRecord, STTStreamAnswer
from voicewire.harness.stt_livekit import LivekitSTT
from voicewire.harness.tts import TTSAudioEvent

__all__ = ["LivekitInworld", "LivekitInworldSTT", "require_upstream_inworld"]

_INSTALL = f"pip install 'voicewire[livekit]' (livekit-plugins-inworld=={UPSTREAM_VERSION})"

_TIMED_TRANSCRIPTS = "lk.timed_transcripts"
"""Where upstream's audio emitter puts a frame's timed transcripts
(``livekit.agents.types.USERDATA_TIMED_TRANSCRIPT``)."""

_Answer = TypeVar("_Answer")

# The operation's aiohttp session: a context variable, so operations running concurrently on
# one part each build upstream's objects on their own session.
_session: contextvars.ContextVar[Any] = contextvars.ContextVar("inworld_livekit_session")


def require_upstream_inworld() -> None:
    """Check that the pinned livekit-agents and livekit-plugins-inworld are importable, or
    raise :class:`ImplementationUnavailable` saying what to install."""
    require_upstream()
    try:
        from livekit.plugins import inworld
    except ImportError as exc:
        raise ImplementationUnavailable(
            f"upstream livekit-plugins-inworld is not installed: {_INSTALL}"
        ) from exc
    installed = getattr(inworld, "__version__", "unknown")
    if installed != UPSTREAM_VERSION:
        raise ImplementationUnavailable(
            f"upstream livekit-plugins-inworld {installed} is installed, but --iut livekit "
            f"drives livekit-plugins-inworld=={UPSTREAM_VERSION}: {_INSTALL}"
        )


async def _with_session(operation: Callable[[], Awaitable[_Answer]]) -> _Answer:
    """Run ``operation`` with an aiohttp session of its own, closed once it is over (the
    operation closes upstream's TTS or STT, and their sockets, before it returns)."""
    import aiohttp

    # trust_env=False: the environment's proxies must not carry loopback traffic away.
    session = aiohttp.ClientSession(trust_env=False)
    token = _session.set(session)
    try:
        return await operation()
    finally:
        _session.reset(token)
        await session.close()


class LivekitInworldSTT(LivekitSTT, InworldSTTPart):
    """Upstream's ``inworld.STT`` behind ``inworld.stt.stream``: the STT script player of
    :class:`InworldSTTPart`, upstream's frames, options and errors as :class:`LivekitSTT`
    translates them, and the transcript's ``metadata`` (``voice_profile``) kept."""

    def __init__(self) -> None:
        require_upstream_inworld()
        super().__init__()
        from livekit.plugins import inworld

        self._stt_class = inworld.STT

    async def stt_stream(self, request: Any) -> STTStreamAnswer:
        """The script played into one upstream speech stream, on a session of its own."""
        return await _with_session(functools.partial(InworldSTTPart.stt_stream, self, request))

    def make_stt(self, request: Any) -> Any:
        """One upstream ``inworld.STT`` for the request's target and options; what the
        request leaves out is left out (upstream's NOT_GIVEN), not passed as None."""
        base_url, _ = inworld_urls(request.target)
        options = {"model": request.model, "language": request.language}
        return self._stt_class(
            api_key=request.target.api_key,
            base_url=base_url,
            sample_rate=request.sample_rate,
            http_session=_session.get(),
            **{name: value for name, value in options.items() if value is not None},
            **request.extra_kwargs,
        )

    def record(self, event: Any, t: float) -> SpeechEventRecord:
        """Upstream's SpeechEvent, with each alternative's ``metadata`` (upstream puts the
        final's ``voiceProfile`` there as ``{"voice_profile": ...}``)."""
        record = super().record(event, t)
        alternatives = tuple(
            alternative.model_copy(update={"metadata": getattr(source, "metadata", None) or None})
            for alternative, source in zip(record.alternatives, event.alternatives, strict=True)
        )
        return record.model_copy(update={"alternatives": alternatives})


class LivekitInworld(InworldReference):
    """Upstream livekit-plugins-inworld 1.8.9 performing the Inworld client operations."""

    lacks: frozenset[str] = frozenset()
    """Upstream has every client capability of the Inworld protocols."""

    def __init__(self) -> None:
        require_upstream_inworld()
        from livekit.agents import APIConnectOptions
        from livekit.plugins import inworld

        self._upstream_tts = inworld.TTS
        self._options_class = APIConnectOptions
        self.stt_part = LivekitInworldSTT()

    @property
    def tts_class(self) -> Callable[..., Any]:  # type: ignore[override]
        """Upstream's ``inworld.TTS`` on the operation's aiohttp session: what
        :meth:`InworldReference.make_tts` and the voices operation build."""
        return functools.partial(self._upstream_tts, http_session=_session.get())

    async def inworld_tts_http(self, request: InworldTTSHTTPRequest) -> InworldTTSAnswer:
        """Operation ``inworld.tts.http`` on upstream, with an aiohttp session of its own."""
        return await _with_session(functools.partial(super().inworld_tts_http, request))

    async def inworld_tts_stream(self, request: InworldTTSStreamRequest) -> InworldTTSAnswer:
        """Operation ``inworld.tts.stream`` on upstream, with an aiohttp session of its own."""
        return await _with_session(functools.partial(super().inworld_tts_stream, request))

    async def inworld_voices(self, request: InworldVoicesRequest) -> InworldVoicesAnswer:
        """Operation ``inworld.voices`` on upstream, with an aiohttp session of its own."""
        return await _with_session(functools.partial(super().inworld_voices, request))

    async def inworld_stt_stream(self, request: InworldSTTStreamRequest) -> STTStreamAnswer:
        """Operation ``inworld.stt.stream``: the script played into one upstream stream."""
        return await self.stt_part.stt_stream(request)

    # -- translation steps -------------------------------------------------------------------

    def connect_options(self, **options: Any) -> Any:
        return self._options_class(**options)

    def error_info(self, error: BaseException) -> ErrorInfo:
        return upstream_error_info(error)

    def record(self, audio: Any, t: float, synthesis: int) -> TTSAudioEvent:
        """Upstream's ``SynthesizedAudio``: its frame an ``rtc.AudioFrame``."""
        frame = audio.frame
        return TTSAudioEvent.of(
            t,
            synthesis,
            frame.data.tobytes(),
            sample_rate=frame.sample_rate,
            num_channels=frame.num_channels,
            segment_id=audio.segment_id or "",
            request_id=audio.request_id or "",
            is_final=bool(audio.is_final),
        )

    def timed_texts(self, stream: Any, audio: Any, seen: int) -> tuple[list[Any], int]:
        """The timed strings upstream attached to ``audio``'s frame (none once the stream
        is over: upstream attaches every one it emits to a frame)."""
        if audio is None:
            return [], seen
        timed = list(audio.frame.userdata.get(_TIMED_TRANSCRIPTS) or ())
        return timed, seen + len(timed)
