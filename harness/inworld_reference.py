"""The reference implementation's Inworld part: voicewire's reference clients
(:mod:`voicewire.reference.inworld`) behind the operations of :mod:`voicewire.harness.inworld`.

:class:`InworldReference` builds one ``InworldTTS`` (or ``InworldSTT``) per operation, at the
request's target: the key is the target's ``api_key`` (sent as ``Basic <key>``, AUTH-6), the
base URL the target's, with a trailing ``/`` as upstream recommends, the WebSocket URL the
same place in ``ws``/``wss``. A variant swaps ``tts_class`` / ``stt_class`` or overrides
:meth:`InworldReference.make_tts`; another implementation's part (upstream's) overrides the
translation steps too (:meth:`InworldReference.connect_options`,
:meth:`InworldReference.error_info`, :meth:`InworldReference.record`,
:meth:`InworldReference.timed_texts`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from voicewire.harness.event_tally import EventTally
from voicewire.harness.events import ErrorInfo
from voicewire.harness.inworld import (
    InworldEndInputStep,
    InworldFlushStep,
    InworldPushTextStep,
    InworldSTTStreamRequest,
    InworldTimedTextEvent,
    InworldTTSAnswer,
    InworldTTSHTTPRequest,
    InworldTTSStreamRequest,
    InworldVoicesAnswer,
    InworldVoicesRequest,
    InworldWaitEventStep,
)
from voicewire.harness.iut import Target
from voicewire.harness.stt import STTStreamAnswer
from voicewire.harness.stt_reference import STTReference
from voicewire.harness.tts import TTSAttemptErrorEvent, TTSAudioEvent, TTSEndEvent
from voicewire.reference.errors import APIConnectOptions
from voicewire.reference.inworld.stt import InworldSTT
from voicewire.reference.inworld.tts import InworldTTS

__all__ = ["InworldReference", "InworldSTTPart", "inworld_urls"]


def inworld_urls(target: Target) -> tuple[str, str]:
    """The ``base_url`` and ``ws_url`` an Inworld client is given for ``target``: its base URL
    with a trailing ``/`` (upstream's advice: the voices list joins relative to it), and the
    same in ``ws``/``wss``."""
    base = target.base_url.rstrip("/") + "/"
    if base.startswith("https://"):
        return base, "wss://" + base[len("https://") :]
    if base.startswith("http://"):
        return base, "ws://" + base[len("http://") :]
    return base, base


def _voice_list(returned: Any) -> list[dict[str, Any]]:
    """What ``list_voices`` returned, if it is a list of voice objects; anything else (what a
    client that passes a server's mistyped answer through returns) raises ``TypeError``
    naming it, so the case blames the implementation (CLI-ROB-1), not the harness."""
    if isinstance(returned, list) and all(isinstance(voice, dict) for voice in returned):
        return returned
    raise TypeError(f"list_voices returned {returned!r:.200}, not a list of voice objects")


class _Recorder:
    """The operation's events, in the order observed, and one tally per synthesis (what a
    script's waits count)."""

    def __init__(self) -> None:
        started = time.monotonic()
        self.now: Callable[[], float] = lambda: time.monotonic() - started
        self.events: list[Any] = []
        self.tallies: dict[int, EventTally] = {}

    def tally(self, synthesis: int) -> EventTally:
        return self.tallies.setdefault(synthesis, EventTally())

    def add(self, synthesis: int, event: Any, *kinds: str) -> None:
        self.events.append(event)
        self.tally(synthesis).add(*kinds)


class InworldSTTPart(STTReference):
    """The STT part's script player and recorder (``stt.stream``'s), building an Inworld
    STT: the scripts and events of the two STT protocols are the same."""

    stt_class: type[Any] = InworldSTT  # type: ignore[assignment]

    def make_stt(self, request: Any) -> Any:
        """One Inworld STT for the request's target and options."""
        base_url, _ = inworld_urls(request.target)
        options = {"model": request.model, "language": request.language}
        return self.stt_class(
            api_key=request.target.api_key,
            base_url=base_url,
            sample_rate=request.sample_rate,
            **{name: value for name, value in options.items() if value is not None},
            **request.extra_kwargs,
        )


class InworldReference:
    """The reference clients performing the Inworld protocols' operations."""

    tts_class: type[Any] = InworldTTS
    """The TTS class :meth:`make_tts` builds."""

    stt_part: STTReference = InworldSTTPart()
    """Plays ``inworld.stt.stream`` scripts (a variant swaps its ``stt_class``)."""

    def tts_arguments(self, request: Any) -> dict[str, Any]:
        """The keyword arguments of the TTS for the request: its target and the options it
        sets (an option left ``None`` is not given, so the client's default applies)."""
        base_url, ws_url = inworld_urls(request.target)
        options = {
            "model": request.model,
            "voice": request.voice,
            "sample_rate": request.sample_rate,
            "timestamp_type": request.timestamp_type,
            "temperature": request.temperature,
            "speaking_rate": request.speaking_rate,
            "language": request.language,
        }
        return {
            "api_key": request.target.api_key,
            "base_url": base_url,
            "ws_url": ws_url,
            **{name: value for name, value in options.items() if value is not None},
            **request.extra_kwargs,
        }

    def make_tts(self, request: Any) -> Any:
        """One TTS for the request's target and options."""
        return self.tts_class(**self.tts_arguments(request))

    async def inworld_tts_http(self, request: InworldTTSHTTPRequest) -> InworldTTSAnswer:
        """Operation ``inworld.tts.http``: each text synthesized in turn, to its end."""
        recorder = _Recorder()
        current = [0]
        try:
            tts = self.make_tts(request)
        except Exception as exc:  # a refused construction is the observation
            return self._refused(recorder, request.syntheses, exc)
        tts.on("error", lambda event: self._attempt_error(recorder, current[0], event))
        try:
            for index, text in enumerate(request.texts):
                current[0] = index
                stream = tts.synthesize(text, conn_options=self._options(request))
                consumer = self._start(stream, index, recorder)
                await self._finish(stream, index, consumer, recorder, request.end_timeout)
        finally:
            await self._close(tts, recorder)
        return InworldTTSAnswer(events=recorder.events)

    async def inworld_tts_stream(self, request: InworldTTSStreamRequest) -> InworldTTSAnswer:
        """Operation ``inworld.tts.stream``: the script's streams opened on one TTS as their
        first steps come, consumed concurrently, each ended after the script if the script
        did not end it, then each awaited to its end (``end_timeout`` for them all)."""
        recorder = _Recorder()
        streams: dict[int, Any] = {}
        consumers: dict[int, asyncio.Task[None]] = {}
        refused: dict[int, Exception] = {}
        try:
            tts = self.make_tts(request)
        except Exception as exc:  # a refused construction is the observation
            return self._refused(recorder, request.syntheses, exc)

        def on_error(event: Any) -> None:
            index = self._stream_of(event, streams, consumers)
            self._attempt_error(recorder, index, event)

        tts.on("error", on_error)
        try:
            for step in request.script:
                index = step.stream
                if index in refused:
                    continue
                try:
                    if index not in streams:
                        streams[index] = tts.stream(conn_options=self._options(request))
                        consumers[index] = self._start(streams[index], index, recorder)
                    await self._step(step, streams[index], consumers[index], recorder)
                except Exception as exc:  # a refused step ends that stream's script
                    refused[index] = exc
            for index, stream in streams.items():
                if index not in refused and not any(
                    isinstance(step, InworldEndInputStep) and step.stream == index
                    for step in request.script
                ):
                    with contextlib.suppress(Exception):  # a failed stream refuses it
                        stream.end_input()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + request.end_timeout
            for index in range(request.syntheses):
                if index not in streams:  # stream() itself refused
                    self._end(recorder, index, refused[index])
                    continue
                await self._finish(
                    streams[index],
                    index,
                    consumers[index],
                    recorder,
                    max(0.0, deadline - loop.time()),
                    refused.get(index),
                )
        finally:
            for consumer in consumers.values():
                consumer.cancel()
            await self._close(tts, recorder)
        return InworldTTSAnswer(events=recorder.events)

    async def inworld_voices(self, request: InworldVoicesRequest) -> InworldVoicesAnswer:
        """Operation ``inworld.voices``: one ``list_voices(language)``."""
        base_url, ws_url = inworld_urls(request.target)
        tts: Any = None
        try:
            tts = self.tts_class(api_key=request.target.api_key, base_url=base_url, ws_url=ws_url)
            voices = _voice_list(
                await asyncio.wait_for(
                    tts.list_voices(request.language), request.conn_options.timeout * 2
                )
            )
        except Exception as exc:  # the error is the observation
            answer = InworldVoicesAnswer(error=self.error_info(exc))
        else:
            answer = InworldVoicesAnswer(voices=voices)
        finally:
            if tts is not None:
                with contextlib.suppress(Exception):
                    await tts.aclose()
        return answer

    async def inworld_stt_stream(self, request: InworldSTTStreamRequest) -> STTStreamAnswer:
        """Operation ``inworld.stt.stream``: the script played into one speech stream."""
        return await self.stt_part.stt_stream(request)  # type: ignore[arg-type]

    # -- translation steps (another implementation's part overrides them) ------------------

    def connect_options(self, **options: Any) -> Any:
        """The implementation's ``APIConnectOptions``."""
        return APIConnectOptions(**options)

    def error_info(self, error: BaseException) -> ErrorInfo:
        """An error the implementation raised or reported, in the event model."""
        return ErrorInfo.of(error)

    def record(self, audio: Any, t: float, synthesis: int) -> TTSAudioEvent:
        """The canonical event of one of the implementation's ``SynthesizedAudio``."""
        frame = audio.frame
        return TTSAudioEvent.of(
            t,
            synthesis,
            frame.to_bytes(),
            sample_rate=frame.sample_rate,
            num_channels=frame.num_channels,
            segment_id=audio.segment_id or "",
            request_id=audio.request_id or "",
            is_final=bool(audio.is_final),
        )

    def timed_texts(self, stream: Any, audio: Any, seen: int) -> tuple[list[Any], int]:
        """The timed strings the stream produced since the first ``seen`` (when ``audio``
        was emitted; None after the last frame), and how many it produced in all: the
        reference streams keep them in ``timed_transcripts`` (WebSocket contexts) or
        ``aligned_transcripts`` (HTTP)."""
        timed = getattr(stream, "timed_transcripts", None)
        if timed is None:  # a chunked stream keeps them as the wire's aligned transcripts
            timed = [item for aligned in stream.aligned_transcripts for item in aligned.items]
        return list(timed[seen:]), len(timed)

    # -- the shared run ----------------------------------------------------------------------

    def _options(self, request: Any) -> Any:
        conn = request.conn_options
        return self.connect_options(
            max_retry=conn.max_retry, retry_interval=conn.retry_interval, timeout=conn.timeout
        )

    def _refused(self, recorder: _Recorder, syntheses: int, error: Exception) -> InworldTTSAnswer:
        info = self.error_info(error)
        return InworldTTSAnswer(
            events=[
                TTSEndEvent(t=recorder.now(), synthesis=index, error=info)
                for index in range(syntheses)
            ]
        )

    def _end(self, recorder: _Recorder, synthesis: int, error: BaseException | None) -> None:
        recorder.add(
            synthesis,
            TTSEndEvent(
                t=recorder.now(),
                synthesis=synthesis,
                error=None if error is None else self.error_info(error),
            ),
            "end",
        )

    @staticmethod
    def _timed_text(item: Any, t: float, synthesis: int) -> InworldTimedTextEvent:
        return InworldTimedTextEvent(
            t=t,
            synthesis=synthesis,
            text=str(item),
            start_time=item.start_time,
            end_time=item.end_time,
        )

    async def _close(self, tts: Any, recorder: _Recorder) -> None:
        try:
            await tts.aclose()
        except Exception as exc:  # an observation too: the last synthesis's end says it
            last = recorder.events[-1] if recorder.events else None
            if isinstance(last, TTSEndEvent) and last.error is None:
                recorder.events[-1] = last.model_copy(update={"error": self.error_info(exc)})

    def _attempt_error(self, recorder: _Recorder, synthesis: int, event: Any) -> None:
        recorder.add(
            synthesis,
            TTSAttemptErrorEvent(
                t=recorder.now(),
                synthesis=synthesis,
                error=self.error_info(event.error),
                recoverable=event.recoverable,
            ),
            "error",
        )

    @staticmethod
    def _stream_of(
        event: Any, streams: dict[int, Any], consumers: dict[int, asyncio.Task[None]]
    ) -> int:
        """The synthesis a failed attempt belongs to: its stream's when the event names one
        (the reference's does), else the first stream still running (an implementation that
        does not say cannot be told apart when several run)."""
        source = getattr(event, "stream", None)
        for index, stream in streams.items():
            if stream is source:
                return index
        running = [index for index, task in consumers.items() if not task.done()]
        return min(running, default=max(streams, default=0))

    def _start(self, stream: Any, synthesis: int, recorder: _Recorder) -> asyncio.Task[None]:
        """A task consuming ``stream``: its frames and timed texts recorded as they come,
        then its end (with the error it raised, if any) once it is over."""

        async def consume() -> None:
            seen = 0
            error: BaseException | None = None
            try:
                async for audio in stream:
                    t = recorder.now()
                    event = self.record(audio, t, synthesis)
                    recorder.add(synthesis, event, "audio", *(("final",) if event.is_final else ()))
                    texts, seen = self.timed_texts(stream, audio, seen)
                    for item in texts:
                        recorder.add(synthesis, self._timed_text(item, t, synthesis))
                # Timed text may come after the last audio (ASYNC transport).
                texts, seen = self.timed_texts(stream, None, seen)
                for item in texts:
                    recorder.add(synthesis, self._timed_text(item, recorder.now(), synthesis))
            except Exception as exc:  # the synthesis's error is an observation
                error = exc
            try:
                await stream.aclose()
            except Exception as exc:  # upstream's aclose re-raises what its task raised
                error = error or exc
            self._end(recorder, synthesis, error)

        return asyncio.get_running_loop().create_task(consume())

    async def _finish(
        self,
        stream: Any,
        synthesis: int,
        consumer: asyncio.Task[None],
        recorder: _Recorder,
        timeout: float,
        script_error: BaseException | None = None,
    ) -> None:
        """Wait up to ``timeout`` for ``consumer`` to end the synthesis; one still running
        then is closed and ended with ``script_error`` or a timeout."""
        done, _ = await asyncio.wait({consumer}, timeout=timeout)
        if done:
            return
        consumer.cancel()
        with contextlib.suppress(BaseException):
            await consumer
        with contextlib.suppress(Exception):
            await stream.aclose()
        self._end(
            recorder,
            synthesis,
            script_error or TimeoutError(f"the synthesis did not end within {timeout:.3g} s"),
        )

    async def _step(
        self, step: Any, stream: Any, consumer: asyncio.Task[None], recorder: _Recorder
    ) -> None:
        """One step of a streaming script on its stream."""
        if isinstance(step, InworldPushTextStep):
            stream.push_text(step.text)
        elif isinstance(step, InworldFlushStep):
            stream.flush()
        elif isinstance(step, InworldEndInputStep):
            stream.end_input()
        elif isinstance(step, InworldWaitEventStep):
            tally = recorder.tally(step.stream)
            await tally.wait(step.event, step.count, step.timeout, consumer)
