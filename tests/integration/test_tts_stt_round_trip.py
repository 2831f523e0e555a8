"""The TTS → STT round trip (issue 12 point 4): audio the ``/tts`` simulator synthesises, as
the reference TTS client emits it, pushed into ``/stt`` through the reference STT client,
comes back as the original text. Both simulators run in one real server on loopback; the
audio crosses two WebSockets each way, is cut into the TTS client's 100 ms frames and the STT
client's 50 ms frames, and is resampled when the rates differ."""

from __future__ import annotations

import asyncio

import pytest
from voicewire.reference.audio import AudioFrame
from voicewire.reference.errors import APIConnectOptions
from voicewire.reference.stt import STT
from voicewire.reference.tts import TTS
from voicewire.simulators import SimulatorServer

ONE_ATTEMPT = APIConnectOptions(max_retry=0, retry_interval=0.0, timeout=5.0)


async def _round_trip(text: str, tts_rate: int, stt_rate: int) -> list[str]:
    async with SimulatorServer() as sim:
        keys = {"base_url": sim.base_url, "api_key": sim.api_key, "api_secret": sim.api_secret}
        tts = TTS("cartesia/sonic-3", sample_rate=tts_rate, **keys)
        try:
            frames = [audio.frame async for audio in tts.synthesize(text, conn_options=ONE_ATTEMPT)]
        finally:
            await tts.aclose()
        assert frames and {f.sample_rate for f in frames} == {tts_rate}
        stt = STT("deepgram/nova-3", sample_rate=stt_rate, **keys)
        stream = stt.stream(conn_options=ONE_ATTEMPT)
        try:
            for frame in frames:
                stream.push_frame(frame)
            # The tone decoder ends a segment after 0.3 s of quiet: end it with silence.
            stream.push_frame(AudioFrame(bytes(2 * tts_rate // 2), sample_rate=tts_rate))
            stream.end_input()
            return [
                event.alternatives[0].text
                async for event in stream
                if event.type.value == "final_transcript"
            ]
        finally:
            await stream.aclose()
            await stt.aclose()


@pytest.mark.parametrize(
    ("text", "tts_rate", "stt_rate"),
    [
        ("good morning", 16000, 16000),
        ("The quick brown fox jumps over the lazy dog.", 24000, 16000),
        ("Ünïcode, digits 0123 & punctuation?!", 48000, 8000),
    ],
)
def test_what_tts_synthesises_stt_transcribes_back(text: str, tts_rate: int, stt_rate: int) -> None:
    assert asyncio.run(_round_trip(text, tts_rate, stt_rate)) == [text]


def test_each_sentence_of_a_synthesis_comes_back_as_its_own_final() -> None:
    # The TTS client sends each sentence as a transcript; the simulator puts its gap between
    # utterances, which the decoder hears as the end of a segment.
    text = "Hello there, how are you today? I am fine, thank you very much."
    finals = asyncio.run(_round_trip(text, 24000, 16000))
    assert " ".join(finals) == text and len(finals) == 2
