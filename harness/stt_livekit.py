"""Upstream livekit-agents 1.8.9's STT part: ``voicewire run --iut livekit`` for ``stt.stream``.

:class:`LivekitSTT` plays the script into upstream's own ``livekit.agents.inference.STT``
stream (``rtc.AudioFrame`` pushes, ``flush``, ``end_input``, ``update_options``) exactly as
:class:`~voicewire.harness.stt_reference.STTReference` does for the reference, and translates
upstream's SpeechEvents, ``error`` events and exceptions into the canonical events. It reports
what upstream does and never repairs it. Upstream's aiohttp session is built here, without the
proxy variables of the environment (a proxy would take the loopback traffic meant for the
embedded simulator), and closed with the operation.

livekit is optional (the ``livekit`` extra): this module imports without it, and building the
part raises :class:`~voicewire.harness.capabilities.ImplementationUnavailable` when it is
missing or is not the pinned release.
"""

from __future__ import annotations

from typing import Any

from voicewire.harness.events import ErrorInfo
from voicewire.harness.llm_livekit import require_upstream, upstream_error_info
from voicewire.harness.stt import (
    STT_TIME_SCALE,
    SpeechEventRecord,
    STTAlternative,
    STTStreamAnswer,
    STTStreamRequest,
    STTWord,
    UpdateOptionsStep,
)
from voicewire.harness.stt_reference import STTReference

__all__ = ["LivekitSTT"]


def _given(value: Any, default: Any) -> Any:
    """Upstream's NOT_GIVEN (and None) as ``default``."""
    try:
        from livekit.agents.utils import is_given
    except ImportError:  # pragma: no cover - the part is never built without livekit
        return default if value is None else value
    return value if value is not None and is_given(value) else default


class LivekitSTT(STTReference):
    """Upstream livekit-agents 1.8.9 performing ``stt.stream``."""

    lacks = frozenset({STT_TIME_SCALE})
    """Upstream's STT-C-4 timers are module constants (``FINALIZATION_TIMEOUT``,
    ``FINAL_TRANSCRIPT_INACTIVITY_TIMEOUT``, inference/stt.py:46-47): it cannot follow a
    request's ``time_scale``."""

    def __init__(self) -> None:
        require_upstream()
        from livekit import rtc
        from livekit.agents import APIConnectOptions, inference

        self._stt_class = inference.STT
        self._frame_class = rtc.AudioFrame
        self._options_class = APIConnectOptions
        self._http: Any = None

    async def stt_stream(self, request: STTStreamRequest) -> STTStreamAnswer:
        """Operation ``stt.stream`` on upstream, with an aiohttp session of its own."""
        import aiohttp

        # trust_env=False: the environment's proxies must not carry loopback traffic away.
        self._http = aiohttp.ClientSession(trust_env=False)
        try:
            return await super().stt_stream(request)
        finally:
            await self._http.close()
            self._http = None

    def make_stt(self, request: STTStreamRequest) -> Any:
        """One upstream ``inference.STT`` for the request's target and options."""
        target = request.target
        options: dict[str, Any] = {
            "base_url": target.base_url,
            "api_key": target.api_key,
            "api_secret": target.api_secret,
            "sample_rate": request.sample_rate,
            "http_session": self._http,
        }
        if request.language is not None:
            options["language"] = request.language
        if request.extra_kwargs:
            options["extra_kwargs"] = dict(request.extra_kwargs)
        return self._stt_class(request.model, **options)

    def connect_options(self, **options: Any) -> Any:
        return self._options_class(**options)

    def make_frame(self, data: bytes, sample_rate: int, num_channels: int) -> Any:
        return self._frame_class(
            data,
            sample_rate=sample_rate,
            num_channels=num_channels,
            samples_per_channel=len(data) // (2 * num_channels),
        )

    def error_info(self, error: BaseException) -> ErrorInfo:
        return upstream_error_info(error)

    def update_options(self, stream: Any, step: UpdateOptionsStep) -> None:
        """Upstream's ``update_options`` names the extra ``extra`` and takes NOT_GIVEN (left
        out) for what does not change, never None."""
        options: dict[str, Any] = {}
        if step.model is not None:
            options["model"] = step.model
        if step.language is not None:
            options["language"] = step.language
        if step.extra_kwargs is not None:
            options["extra"] = dict(step.extra_kwargs)
        stream.update_options(**options)

    def record(self, event: Any, t: float) -> SpeechEventRecord:
        """Upstream's SpeechEvent (dataclasses, ``TimedString`` words, NOT_GIVEN fields)."""
        usage = event.recognition_usage
        return SpeechEventRecord(
            t=t,
            speech_type=event.type.value,
            request_id=event.request_id or "",
            alternatives=tuple(
                STTAlternative(
                    text=alt.text,
                    start_time=alt.start_time,
                    end_time=alt.end_time,
                    confidence=alt.confidence,
                    language=str(alt.language or ""),
                    speaker_id=alt.speaker_id,
                    words=tuple(
                        STTWord(
                            text=str(word),
                            start_time=_given(getattr(word, "start_time", None), 0.0),
                            end_time=_given(getattr(word, "end_time", None), 0.0),
                            confidence=_given(getattr(word, "confidence", None), 0.0),
                            speaker_id=getattr(word, "speaker_id", None),
                        )
                        for word in alt.words or ()
                    ),
                )
                for alt in event.alternatives
            ),
            audio_duration=None if usage is None else usage.audio_duration,
        )
