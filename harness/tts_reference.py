"""The reference implementation's TTS part: voicewire's reference client
(:mod:`voicewire.reference.tts`) behind the operations ``tts.stream`` and ``tts.synthesize``.

:class:`TTSReference` builds one ``TTS`` per operation and runs its syntheses one after
another on it (so the pool's one socket serves them all, TTS-C-3): a consumer task records
every frame while the script is played, then the synthesis is awaited to its end. A variant
swaps ``tts_class`` or overrides :meth:`TTSReference.make_tts` and hands the part to
``ReferenceIUT(parts={"tts": MyTTS()}, name="my-variant")``; another implementation's part
(upstream's) overrides the translation steps too: :meth:`TTSReference.connect_options`,
:meth:`TTSReference.error_info` and :meth:`TTSReference.record`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from voicewire.harness.event_tally import EventTally
from voicewire.harness.events import ErrorInfo
from voicewire.harness.tts import (
    PushTextStep,
    TTSAnswer,
    TTSAttemptErrorEvent,
    TTSAudioEvent,
    TTSEndEvent,
    TTSEndInputStep,
    TTSFlushStep,
    TTSStep,
    TTSStreamRequest,
    TTSSynthesizeRequest,
    TTSWaitEventStep,
)
from voicewire.reference.errors import APIConnectOptions
from voicewire.reference.tts import TTS, TTSErrorEvent

__all__ = ["TTSReference"]


class _Synthesis:
    """The synthesis running now: its index, the tally of what it emitted (for the script's
    waits) and the operation's events, where its own go."""

    def __init__(self, events: list[Any], now: Callable[[], float]) -> None:
        self.index = -1
        self.events = events
        self.now = now
        self.tally = EventTally()

    def begin(self) -> None:
        self.index += 1
        self.tally.reset()

    def add(self, event: Any, *kinds: str) -> None:
        self.events.append(event)
        self.tally.add(*kinds)


class TTSReference:
    """The reference client performing the TTS protocol's operations."""

    tts_class: type[TTS] = TTS
    """The TTS class :meth:`make_tts` builds."""

    def make_tts(self, request: TTSStreamRequest | TTSSynthesizeRequest) -> Any:
        """One reference ``TTS`` for the request's target and options."""
        target = request.target
        return self.tts_class(
            request.model,
            voice=request.voice,
            language=request.language,
            base_url=target.base_url,
            api_key=target.api_key,
            api_secret=target.api_secret,
            sample_rate=request.sample_rate,
            extra_kwargs=request.extra_kwargs,
        )

    async def tts_stream(self, request: TTSStreamRequest) -> TTSAnswer:
        """Operation ``tts.stream``."""

        async def run(tts: Any, index: int, current: _Synthesis) -> BaseException | None:
            stream = tts.stream(conn_options=self._options(request))
            return await self._consume(
                stream, current, request.end_timeout, script=request.streams[index]
            )

        return await self._syntheses(request, run)

    async def tts_synthesize(self, request: TTSSynthesizeRequest) -> TTSAnswer:
        """Operation ``tts.synthesize``."""

        async def run(tts: Any, index: int, current: _Synthesis) -> BaseException | None:
            stream = tts.synthesize(request.texts[index], conn_options=self._options(request))
            return await self._consume(stream, current, request.end_timeout, script=None)

        return await self._syntheses(request, run)

    # -- translation steps (another implementation's part overrides them) ------------------

    def connect_options(self, **options: Any) -> Any:
        """The implementation's ``APIConnectOptions``."""
        return APIConnectOptions(**options)

    def error_info(self, error: BaseException) -> ErrorInfo:
        """An error the implementation raised or reported, in the event model."""
        return ErrorInfo.of(error)

    def frame_pcm(self, audio: Any) -> tuple[bytes, int, int]:
        """The PCM, sample rate and channel count of one of the implementation's
        ``SynthesizedAudio`` frames."""
        frame = audio.frame
        return frame.to_bytes(), frame.sample_rate, frame.num_channels

    def record(self, audio: Any, t: float, synthesis: int) -> TTSAudioEvent:
        """The canonical event of one of the implementation's ``SynthesizedAudio``."""
        pcm, sample_rate, num_channels = self.frame_pcm(audio)
        return TTSAudioEvent.of(
            t,
            synthesis,
            pcm,
            sample_rate=sample_rate,
            num_channels=num_channels,
            segment_id=audio.segment_id or "",
            request_id=audio.request_id or "",
            is_final=bool(audio.is_final),
        )

    # -- the shared run ----------------------------------------------------------------------

    def _options(self, request: TTSStreamRequest | TTSSynthesizeRequest) -> Any:
        conn = request.conn_options
        return self.connect_options(
            max_retry=conn.max_retry, retry_interval=conn.retry_interval, timeout=conn.timeout
        )

    async def _syntheses(
        self,
        request: TTSStreamRequest | TTSSynthesizeRequest,
        run: Callable[[Any, int, _Synthesis], Any],
    ) -> TTSAnswer:
        """Build the TTS, run each synthesis in turn, record its events and end."""
        started = time.monotonic()
        events: list[Any] = []
        current = _Synthesis(events, lambda: time.monotonic() - started)

        def on_error(event: TTSErrorEvent | Any) -> None:
            current.add(
                TTSAttemptErrorEvent(
                    t=current.now(),
                    synthesis=max(current.index, 0),
                    error=self.error_info(event.error),
                    recoverable=event.recoverable,
                ),
                "error",
            )

        try:
            tts = self.make_tts(request)
        except Exception as exc:  # a refused construction is the observation
            error = self.error_info(exc)
            return TTSAnswer(
                events=[
                    TTSEndEvent(t=current.now(), synthesis=index, error=error)
                    for index in range(request.syntheses)
                ]
            )
        tts.on("error", on_error)
        try:
            for index in range(request.syntheses):
                current.begin()
                error = await run(tts, index, current)
                events.append(
                    TTSEndEvent(
                        t=current.now(),
                        synthesis=index,
                        error=None if error is None else self.error_info(error),
                    )
                )
        finally:
            try:
                await tts.aclose()
            except Exception as exc:  # an observation too: the last synthesis's end says it
                last = events[-1] if events else None
                if isinstance(last, TTSEndEvent) and last.error is None:
                    events[-1] = last.model_copy(update={"error": self.error_info(exc)})
        return TTSAnswer(events=events)

    async def _consume(
        self,
        stream: Any,
        current: _Synthesis,
        end_timeout: float,
        *,
        script: list[TTSStep] | None,
    ) -> BaseException | None:
        """Consume ``stream`` while playing ``script`` into it (None: a chunked synthesis,
        whose input is given); the error it ended with, or None."""
        failure: list[BaseException] = []

        async def consume() -> None:
            try:
                async for audio in stream:
                    record = self.record(audio, current.now(), current.index)
                    current.add(record, "audio", *(("final",) if record.is_final else ()))
            except Exception as exc:  # the synthesis's error is an observation
                failure.append(exc)
            finally:
                current.tally.add()

        consumer = asyncio.get_running_loop().create_task(consume())
        script_error: BaseException | None = None
        try:
            if script is not None:
                script_error = await _play(script, stream, consumer, current)
            done, _ = await asyncio.wait({consumer}, timeout=end_timeout)
            if not done and script_error is None:
                script_error = TimeoutError(
                    f"the synthesis did not end within {end_timeout} s of its input's end"
                )
        finally:
            try:
                await stream.aclose()
            except Exception as exc:  # upstream's aclose re-raises what its task raised
                failure.append(exc)
            consumer.cancel()
            with contextlib.suppress(BaseException):
                await consumer
        return failure[0] if failure else script_error


async def _play(
    script: list[TTSStep], stream: Any, consumer: asyncio.Task[None], current: _Synthesis
) -> Exception | None:
    """Play the script, then end the input if the script did not; a step the stream refuses
    (``push_text`` after it failed) ends the script, and is the synthesis's end unless the
    stream raised first."""
    try:
        for step in script:
            if isinstance(step, PushTextStep):
                stream.push_text(step.text)
            elif isinstance(step, TTSFlushStep):
                stream.flush()
            elif isinstance(step, TTSEndInputStep):
                stream.end_input()
            elif isinstance(step, TTSWaitEventStep):
                await current.tally.wait(step.event, step.count, step.timeout, consumer)
        if not any(isinstance(step, TTSEndInputStep) for step in script):
            stream.end_input()
    except Exception as exc:
        return exc
    return None
