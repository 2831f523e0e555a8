"""Upstream livekit-agents 1.8.9's TTS part: ``voicewire run --iut livekit`` for ``tts.stream``
and ``tts.synthesize``.

:class:`LivekitTTS` runs each operation's syntheses on one upstream
``livekit.agents.inference.TTS`` (its own ``SynthesizeStream`` and ``synthesize()``, its own
pool), exactly as :class:`~voicewire.harness.tts_reference.TTSReference` does for the
reference: the script is played into upstream's stream, every ``SynthesizedAudio`` it emits is
recorded with its PCM, every ``error`` event and the exception the synthesis ended with are
translated into the canonical events. It reports what upstream does and never repairs it: a
synthesis upstream ends with a ``RuntimeError`` (an ``output_audio`` before any message with a
``session_id``, wire-capture §9.1) ends with that ``RuntimeError``, and one upstream never ends
is closed at the request's ``end_timeout`` and reported as a ``TimeoutError``. Upstream's
aiohttp session is built here, without the proxy variables of the environment (a proxy would
take the loopback traffic meant for the embedded simulator), and closed with the operation,
after upstream's TTS (and with it its pooled sockets).

livekit is optional (the ``livekit`` extra): this module imports without it, and building the
part raises :class:`~voicewire.harness.capabilities.ImplementationUnavailable` when it is
missing or is not the pinned release.
"""

from __future__ import annotations

from typing import Any

from voicewire.harness.events import ErrorInfo
from voicewire.harness.llm_livekit import require_upstream, upstream_error_info
from voicewire.harness.tts import TTSAnswer, TTSStreamRequest, TTSSynthesizeRequest
from voicewire.harness.tts_reference import TTSReference

__all__ = ["LivekitTTS"]


class LivekitTTS(TTSReference):
    """Upstream livekit-agents 1.8.9 performing ``tts.stream`` and ``tts.synthesize``."""

    lacks: frozenset[str] = frozenset()
    """Upstream has every client capability of the TTS protocol."""

    def __init__(self) -> None:
        require_upstream()
        from livekit.agents import APIConnectOptions, inference

        self._tts_class = inference.TTS
        self._options_class = APIConnectOptions
        self._http: Any = None

    async def tts_stream(self, request: TTSStreamRequest) -> TTSAnswer:
        """Operation ``tts.stream`` on upstream, with an aiohttp session of its own."""
        return await self._with_session(super().tts_stream, request)

    async def tts_synthesize(self, request: TTSSynthesizeRequest) -> TTSAnswer:
        """Operation ``tts.synthesize`` on upstream, with an aiohttp session of its own."""
        return await self._with_session(super().tts_synthesize, request)

    async def _with_session(self, operation: Any, request: Any) -> TTSAnswer:
        import aiohttp

        # trust_env=False: the environment's proxies must not carry loopback traffic away.
        self._http = aiohttp.ClientSession(trust_env=False)
        try:
            # The reference part closes the TTS (its pool's sockets) before it returns.
            return await operation(request)
        finally:
            await self._http.close()
            self._http = None

    def make_tts(self, request: TTSStreamRequest | TTSSynthesizeRequest) -> Any:
        """One upstream ``inference.TTS`` for the request's target and options; what the
        request leaves out is left out (upstream's NOT_GIVEN), not passed as None."""
        target = request.target
        options: dict[str, Any] = {
            "base_url": target.base_url,
            "api_key": target.api_key,
            "api_secret": target.api_secret,
            "sample_rate": request.sample_rate,
            "http_session": self._http,
        }
        if request.voice is not None:
            options["voice"] = request.voice
        if request.language is not None:
            options["language"] = request.language
        if request.extra_kwargs:
            options["extra_kwargs"] = dict(request.extra_kwargs)
        return self._tts_class(request.model, **options)

    def connect_options(self, **options: Any) -> Any:
        return self._options_class(**options)

    def error_info(self, error: BaseException) -> ErrorInfo:
        return upstream_error_info(error)

    def frame_pcm(self, audio: Any) -> tuple[bytes, int, int]:
        """Upstream's frame is an ``rtc.AudioFrame``: its ``data`` a memoryview of int16."""
        frame = audio.frame
        return frame.data.tobytes(), frame.sample_rate, frame.num_channels
