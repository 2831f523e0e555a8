"""What the mutants share: the reference with one class swapped.

A mutant is the reference with one bug, and its diff is that bug: it overrides one method of
one of the reference's seams and hands the class to :func:`mutant`, which builds the reference
IUT around it. The seams: the wire objects of each attempt
(:class:`~voicewire.reference.llm.wire.CompletionReader`, which turns SSE events into
ChatChunks, and :class:`~voicewire.reference.llm.wire.RetryPolicy`, which builds errors and
decides retries), the ``LLM`` client (``request_body``, ``headers``, ``access_token``), the
fallback adapter (its ``stream_class``, the stream that walks the LLMs) and the chat context.

An STT mutant goes through :func:`stt_mutant` instead, which swaps the wire objects of the
reference ``SpeechStream`` (:class:`~voicewire.reference.stt.wire.ClientSession`, which builds
every frame and judges every message and close of one connection;
:class:`~voicewire.reference.stt.wire.SegmentTracker`, server messages to SpeechEvents;
:class:`~voicewire.reference.stt.wire.AudioFramer`, the 50 ms frames).

A TTS mutant goes through :func:`tts_mutant`, which swaps the classes the reference ``TTS`` is
made of: the ``TTS`` itself (``session_create``, ``input_transcript``), its
:class:`~voicewire.reference.tts.wire.TTSClientConnection` (what each pooled socket sends and
how it judges what the server sends), its ``SynthesizeStream`` (the retry loop's attempts) and
the stream's :class:`~voicewire.reference.tts.sentences.SentenceSplitter` (the transcripts).

An Inworld mutant goes through :func:`inworld_mutant`, which swaps the classes the reference
Inworld clients are made of: the ``InworldTTS`` itself (its request body, endpoints and
headers), the client multiplexer of its WebSocket contexts
(:class:`~voicewire.reference.inworld.wire.multiplexer.InworldClientMultiplexer`), and the STT
stream's wire session and segment tracker.
"""

from __future__ import annotations

from typing import Any

from voicewire.harness.inworld_reference import InworldReference, InworldSTTPart
from voicewire.harness.llm_reference import LLMReference
from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.harness.stt_reference import STTReference
from voicewire.harness.tts_reference import TTSReference
from voicewire.reference.inworld import InworldSTT, InworldTTS
from voicewire.reference.inworld.wire.multiplexer import InworldClientMultiplexer
from voicewire.reference.inworld.wire.stt_session import (
    InworldSegmentTracker,
    TranscribeClientSession,
)
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.fallback import FallbackAdapter
from voicewire.reference.llm.inference import LLM
from voicewire.reference.llm.wire import CompletionReader, RetryPolicy
from voicewire.reference.stt import STT
from voicewire.reference.stt.wire import AudioFramer, ClientSession, SegmentTracker
from voicewire.reference.tts import TTS, SynthesizeStream
from voicewire.reference.tts.sentences import SentenceSplitter
from voicewire.reference.tts.wire import TTSClientConnection

__all__ = ["inworld_mutant", "mutant", "stt_mutant", "tts_mutant"]


def mutant(
    name: str,
    *,
    reader_class: type[CompletionReader] | None = None,
    retry_policy_class: type[RetryPolicy] | None = None,
    llm_class: type[LLM] = LLM,
    fallback_class: type[FallbackAdapter] = FallbackAdapter,
    context_class: type[ChatContext] = ChatContext,
) -> ReferenceIUT:
    """The reference IUT named ``mutant:<name>`` with the given classes in place of the
    reference's own (a reader or retry policy goes into the LLM's stream class)."""
    stream_class: dict[str, Any] = {}
    if reader_class is not None:
        stream_class["reader_class"] = reader_class
    if retry_policy_class is not None:
        stream_class["retry_policy_class"] = retry_policy_class
    if stream_class:
        stream = type(f"{llm_class.stream_class.__name__}", (llm_class.stream_class,), stream_class)
        llm_class = type(llm_class.__name__, (llm_class,), {"stream_class": stream})
    part = type(
        "MutantLLMReference",
        (LLMReference,),
        {"llm_class": llm_class, "fallback_class": fallback_class, "context_class": context_class},
    )
    return ReferenceIUT(parts={"llm": part()}, name=f"mutant:{name}")


def stt_mutant(
    name: str,
    *,
    session_class: type[ClientSession] | None = None,
    tracker_class: type[SegmentTracker] | None = None,
    framer_class: type[AudioFramer] | None = None,
) -> ReferenceIUT:
    """The reference IUT named ``mutant:<name>`` performing STT only, whose speech streams are
    built with the given wire classes in place of the reference's own."""
    swapped: dict[str, Any] = {}
    if session_class is not None:
        swapped["session_class"] = session_class
    if tracker_class is not None:
        swapped["tracker_class"] = tracker_class
    if framer_class is not None:
        swapped["framer_class"] = framer_class
    if not swapped:
        raise ValueError("an STT mutant swaps at least one wire class")
    stream = type(STT.stream_class.__name__, (STT.stream_class,), swapped)
    stt_class = type(STT.__name__, (STT,), {"stream_class": stream})
    part = type("MutantSTTReference", (STTReference,), {"stt_class": stt_class})
    return ReferenceIUT(parts={"stt": part()}, name=f"mutant:{name}")


def tts_mutant(
    name: str,
    *,
    tts_class: type[TTS] = TTS,
    connection_class: type[TTSClientConnection] | None = None,
    stream_class: type[SynthesizeStream] | None = None,
    splitter_class: type[SentenceSplitter] | None = None,
) -> ReferenceIUT:
    """The reference IUT named ``mutant:<name>`` performing TTS only, whose ``TTS`` is
    ``tts_class`` with the given classes in place of the reference's own (a splitter goes into
    the stream class)."""
    if splitter_class is not None:
        base = stream_class or tts_class.stream_class
        stream_class = type(base.__name__, (base,), {"splitter_class": splitter_class})
    swapped: dict[str, Any] = {}
    if connection_class is not None:
        swapped["connection_class"] = connection_class
    if stream_class is not None:
        swapped["stream_class"] = stream_class
    if swapped:
        tts_class = type(tts_class.__name__, (tts_class,), swapped)
    if tts_class is TTS:
        raise ValueError("a TTS mutant swaps at least one class")
    part = type("MutantTTSReference", (TTSReference,), {"tts_class": tts_class})
    return ReferenceIUT(parts={"tts": part()}, name=f"mutant:{name}")


def inworld_mutant(
    name: str,
    *,
    tts_class: type[InworldTTS] = InworldTTS,
    multiplexer_class: type[InworldClientMultiplexer] | None = None,
    session_class: type[TranscribeClientSession] | None = None,
    tracker_class: type[InworldSegmentTracker] | None = None,
) -> ReferenceIUT:
    """The reference IUT named ``mutant:<name>`` performing Inworld only, whose clients are
    the reference's with the given classes in place of their own (a multiplexer goes into the
    TTS's stream pool, a session or tracker into the STT's stream)."""
    if multiplexer_class is not None:
        pool = tts_class.stream_pool_class
        pool = type(pool.__name__, (pool,), {"multiplexer_class": multiplexer_class})
        tts_class = type(tts_class.__name__, (tts_class,), {"stream_pool_class": pool})
    stt_class: type[InworldSTT] = InworldSTT
    swapped: dict[str, Any] = {}
    if session_class is not None:
        swapped["session_class"] = session_class
    if tracker_class is not None:
        swapped["tracker_class"] = tracker_class
    if swapped:
        stream = type(stt_class.stream_class.__name__, (stt_class.stream_class,), swapped)
        stt_class = type(stt_class.__name__, (stt_class,), {"stream_class": stream})
    if tts_class is InworldTTS and stt_class is InworldSTT:
        raise ValueError("an Inworld mutant swaps at least one class")
    stt_part = type("MutantInworldSTTPart", (InworldSTTPart,), {"stt_class": stt_class})()
    part = type(
        "MutantInworldReference",
        (InworldReference,),
        {"tts_class": tts_class, "stt_part": stt_part},
    )
    return ReferenceIUT(parts={"inworld": part()}, name=f"mutant:{name}")
