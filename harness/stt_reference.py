"""The reference implementation's STT part: voicewire's reference client
(:mod:`voicewire.reference.stt`) behind the operation ``stt.stream``.

:class:`STTReference` opens one ``SpeechStream``, plays the request's script into it while a
consumer task records every SpeechEvent, then waits for the stream's end. A variant swaps
``stt_class`` or overrides :meth:`STTReference.make_stt` and hands the part to
``ReferenceIUT(parts={"stt": MySTT()}, name="my-variant")``; another implementation's part
(upstream's) overrides the translation steps too: :meth:`STTReference.make_frame`,
:meth:`STTReference.error_info`, :meth:`STTReference.record` and
:meth:`STTReference.update_options`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from typing import Any

from pydantic import ValidationError
from voicewire.harness.event_tally import EventTally
from voicewire.harness.events import ErrorInfo
from voicewire.harness.stt import (
    EndInputStep,
    FlushStep,
    PushAudioStep,
    PushToneStep,
    SpeechEventRecord,
    STTAlternative,
    STTAttemptErrorEvent,
    STTEndEvent,
    STTStreamAnswer,
    STTStreamRequest,
    STTWord,
    UpdateOptionsStep,
    WaitEventStep,
)
from voicewire.reference.audio import AudioFrame
from voicewire.reference.errors import APIConnectOptions
from voicewire.reference.stt import STT, SpeechEvent, SpeechStream, STTErrorEvent

__all__ = ["MalformedSpeechEvent", "STTReference", "audio_frames", "frame_bytes", "speech_record"]


class MalformedSpeechEvent(Exception):
    """The implementation emitted a SpeechEvent whose fields have the wrong types (a text
    that is not a string, a time that is not a number): what a client that passes a
    server's mistyped message through emits. Recorded as the stream's error, so the case
    blames the implementation (CLI-ROB-1), not the harness."""

    @classmethod
    def of(cls, event: Any, error: ValidationError) -> MalformedSpeechEvent:
        """The error naming the first wrong field of ``event`` and the value it held."""
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        kind = getattr(getattr(event, "type", None), "value", None) or type(event).__name__
        return cls(
            f"the implementation emitted a {kind} event whose {where} is "
            f"{first.get('input')!r}: {first['msg']}"
        )


class STTReference:
    """The reference client performing the STT protocol's operation."""

    stt_class: type[STT] = STT
    """The STT class :meth:`make_stt` builds."""

    def make_stt(self, request: STTStreamRequest) -> STT:
        """One reference ``STT`` for the request's target and options."""
        target = request.target
        return self.stt_class(
            request.model,
            language=request.language,
            base_url=target.base_url,
            api_key=target.api_key,
            api_secret=target.api_secret,
            sample_rate=request.sample_rate,
            extra_kwargs=request.extra_kwargs,
            time_scale=request.time_scale,
        )

    async def stt_stream(self, request: STTStreamRequest) -> STTStreamAnswer:
        """Operation ``stt.stream``."""
        started = time.monotonic()
        events: list[Any] = []
        tally = EventTally()

        def now() -> float:
            return time.monotonic() - started

        def on_error(event: STTErrorEvent) -> None:
            events.append(
                STTAttemptErrorEvent(
                    t=now(), error=self.error_info(event.error), recoverable=event.recoverable
                )
            )
            tally.add("error")

        try:
            stt = self.make_stt(request)
        except Exception as exc:  # a refused construction is the observation
            return STTStreamAnswer(events=[STTEndEvent(t=now(), error=self.error_info(exc))])
        stt.on("error", on_error)
        conn = request.conn_options
        stream = stt.stream(
            conn_options=self.connect_options(
                max_retry=conn.max_retry, retry_interval=conn.retry_interval, timeout=conn.timeout
            )
        )
        failure: list[BaseException] = []

        async def consume() -> None:
            try:
                async for event in stream:
                    try:
                        record = self.record(event, now())
                    except ValidationError as exc:
                        raise MalformedSpeechEvent.of(event, exc) from None
                    events.append(record)
                    tally.add(record.speech_type)
            except Exception as exc:  # the stream's error is an observation
                failure.append(exc)
            finally:
                tally.add()

        consumer = asyncio.get_running_loop().create_task(consume())
        try:
            script_error = await self._play(request, stream, consumer, tally)
            done, _ = await asyncio.wait({consumer}, timeout=request.end_timeout)
            if not done and script_error is None:
                script_error = TimeoutError(
                    f"the stream did not end within {request.end_timeout} s of the script's end"
                )
        finally:
            await stream.aclose()
            consumer.cancel()
            with contextlib.suppress(BaseException):
                await consumer
            await stt.aclose()
        error = failure[0] if failure else script_error
        events.append(STTEndEvent(t=now(), error=None if error is None else self.error_info(error)))
        return STTStreamAnswer(events=events)

    # -- translation steps (another implementation's part overrides them) ------------------

    def connect_options(self, **options: Any) -> Any:
        """The implementation's ``APIConnectOptions``."""
        return APIConnectOptions(**options)

    def make_frame(self, data: bytes, sample_rate: int, num_channels: int) -> Any:
        """One audio frame of the implementation."""
        return AudioFrame(data, sample_rate=sample_rate, num_channels=num_channels)

    def error_info(self, error: BaseException) -> ErrorInfo:
        """An error the implementation raised or reported, in the event model."""
        return ErrorInfo.of(error)

    def record(self, event: Any, t: float) -> SpeechEventRecord:
        """The canonical event of one of the implementation's SpeechEvents."""
        return speech_record(event, t)

    def update_options(self, stream: Any, step: UpdateOptionsStep) -> None:
        """``update_options`` on the implementation's stream with what the step sets."""
        stream.update_options(
            model=step.model, language=step.language, extra_kwargs=step.extra_kwargs
        )

    async def _play(
        self,
        request: STTStreamRequest,
        stream: SpeechStream,
        consumer: asyncio.Task[None],
        tally: EventTally,
    ) -> Exception | None:
        """Play the script; a step the stream refuses (``push_frame`` after the stream failed)
        ends the script, and is the stream's end unless the stream raised first."""
        try:
            for step in request.script:
                if isinstance(step, PushToneStep):
                    step = step.as_audio()
                if isinstance(step, PushAudioStep):
                    for data in frame_bytes(step):
                        stream.push_frame(
                            self.make_frame(data, step.sample_rate, step.num_channels)
                        )
                elif isinstance(step, FlushStep):
                    stream.flush()
                elif isinstance(step, EndInputStep):
                    stream.end_input()
                elif isinstance(step, UpdateOptionsStep):
                    self.update_options(stream, step)
                elif isinstance(step, WaitEventStep):
                    await tally.wait(step.event, step.count, step.timeout, consumer)
        except Exception as exc:
            return exc
        return None


def frame_bytes(step: PushAudioStep) -> list[bytes]:
    """The step's PCM cut into ``frame_ms`` frames (the last one shorter)."""
    data = step.audio
    per_frame = max(1, math.floor(step.sample_rate * step.frame_ms / 1000)) * 2 * step.num_channels
    return [data[i : i + per_frame] for i in range(0, len(data), per_frame)]


def audio_frames(step: PushAudioStep) -> list[AudioFrame]:
    """The step's audio as reference frames of ``frame_ms`` (the last one shorter)."""
    return [
        AudioFrame(data, sample_rate=step.sample_rate, num_channels=step.num_channels)
        for data in frame_bytes(step)
    ]


def speech_record(event: SpeechEvent, t: float) -> SpeechEventRecord:
    """The canonical event of one SpeechEvent (the reference's field names, which upstream's
    share)."""
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
                language=alt.language or "",
                speaker_id=alt.speaker_id,
                words=tuple(
                    STTWord(
                        text=str(word),
                        start_time=word.start_time,
                        end_time=word.end_time,
                        confidence=word.confidence,
                        speaker_id=word.speaker_id,
                    )
                    for word in alt.words
                ),
                metadata=alt.metadata or None,
            )
            for alt in event.alternatives
        ),
        audio_duration=None if usage is None else usage.audio_duration,
    )
