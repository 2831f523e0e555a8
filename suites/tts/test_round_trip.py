"""The TTS → STT round trip: what a TTS client emits, an STT client transcribes back.

The TTS simulator speaks each transcript as tone-coded audio (``docs/tone-code.md``) and the
STT simulator, in echo mode, transcribes tone-coded audio back to its text, one final per
utterance: so the text a TTS client was given must come back from an STT client fed the
audio the TTS client emitted, whatever either does to the audio in between, provided that
each link of the chain keeps what its rule promises. The case judges each link from the
journals (the transcripts the TTS client sent, its audio against the server's, the audio the
STT client sent against what was pushed, its finals against the server's), then the whole.
"""

from __future__ import annotations

import pytest
from voicewire.harness.driver import IUTDriver
from voicewire.harness.runtime import CaseSimulator
from voicewire.harness.stt import EndInputStep, PushAudioStep
from voicewire.harness.verdicts import expect, require

from .wire_log import MODEL, ONE_ATTEMPT, audio_problem, client_messages, server_messages

RATE = 16000
"""Both sessions' rate: the STT client then sends the TTS client's audio as it came."""

SENTENCES = ("Good morning, and welcome to the show.", "The weather is sunny again today.")

QUIET = 0.5
"""Seconds of silence pushed after the speech, as a player goes quiet after it: the tone
decoder ends an utterance once it hears 0.3 s of quiet."""


@pytest.mark.spec("TTS-OUT-1", "STT-ORD-4", "TTS-C-2", "STT-C-2")
@pytest.mark.capability("stt.stream")
@pytest.mark.capability("tts.stream")
def test_what_tts_says_stt_hears(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """Two sentences synthesised at 16 kHz (each its own utterance when the client sends them
    apart, one when it merges them); the audio the synthesis emitted, and half a second of
    quiet, is pushed into an STT stream in 10 ms frames. The final transcripts, joined, are
    the original text."""
    text = " ".join(SENTENCES)
    tts_target = voicewire_simulator.session()
    speech = voicewire_iut.speak(
        target=tts_target,
        script=[{"op": "push_text", "text": text}, {"op": "end_input"}],
        model=MODEL,
        sample_rate=RATE,
        conn_options=ONE_ATTEMPT,
    )
    synthesis = speech.only
    require(
        synthesis.error is None and synthesis.frames,
        "TTS-OUT-1",
        f"the synthesis must finish with audio:\n{speech.describe()}",
    )
    said = [
        m.get("transcript", "")
        for m in client_messages(voicewire_simulator, tts_target)
        if m.get("type") == "input_transcript"
    ]
    expect(
        " ".join("".join(said).split()) == text,
        "TTS-C-2",
        f"the TTS client's transcripts must carry the text {text!r}: {said}",
    )
    rates = sorted({frame.sample_rate for frame in synthesis.frames})
    expect(rates == [RATE], "TTS-OUT-1", f"the audio must come at {RATE} Hz, it came at {rates}")
    chunks = [
        m
        for m in server_messages(voicewire_simulator, tts_target)
        if m.get("type") == "output_audio"
    ]
    problem = audio_problem(synthesis.audio, chunks)
    expect(problem is None, "TTS-OUT-1", f"the TTS client's audio: {problem}")

    pcm = synthesis.audio + bytes(2 * round(QUIET * RATE))
    stt_target = voicewire_simulator.session()
    heard = voicewire_iut.transcribe(
        target=stt_target,
        script=[PushAudioStep.of(pcm, RATE), EndInputStep()],
        sample_rate=RATE,
        conn_options=ONE_ATTEMPT,
    )
    require(
        heard.error is None,
        "STT-ORD-4",
        f"the speech stream must end cleanly:\n{heard.describe()}",
    )
    sent_audio = [
        m
        for m in client_messages(voicewire_simulator, stt_target)
        if m.get("type") == "input_audio"
    ]
    problem = audio_problem(pcm, sent_audio)
    expect(problem is None, "STT-C-2", f"the STT client's audio against what was pushed: {problem}")
    server_finals = [
        m.get("transcript")
        for m in server_messages(voicewire_simulator, stt_target)
        if m.get("type") == "final_transcript"
    ]
    finals = [event.text for event in heard.finals]
    expect(
        finals == server_finals,
        "STT-ORD-4",
        f"FINAL texts must be the server's finals {server_finals}, got {finals}",
    )
    expect(
        " ".join(" ".join(finals).split()) == text,
        ("TTS-OUT-1", "STT-ORD-4"),
        f"the finals must give back the text {text!r}, they were {finals} (the tone code the "
        f"TTS simulator sent decodes to the text it was sent, so the audio the TTS client "
        f"emitted or the finals the STT client emitted are not the servers')",
    )
