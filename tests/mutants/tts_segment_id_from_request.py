"""Mutant (TTS): the frames' segment id is the client's request id.

The port author stamped every frame with the id it has at hand, the stream's own
``request_id`` (``tts_…``), as both ids, and never read the server's ``session_id``. A caller
that matches audio to the gateway's logs, or an agent that keys playback by segment, gets an
id the server never heard of.

Caught by: TTS-OUT-1 (the segment id is the server's ``session_id``).
"""

from __future__ import annotations

import dataclasses

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.tts.wire import (
    SynthesisOutput,
    SynthesizedAudio,
    TTSClientConnection,
    TTSServerMessage,
)

from tests.mutants.port import tts_mutant

__all__ = ["factory"]


class RequestSegmentConnection(TTSClientConnection):
    """The reference connection, whose frames carry the request id as their segment id."""

    def receive(self, message: TTSServerMessage) -> list[SynthesisOutput]:
        return [
            # BUG: the segment id is the server's session_id, not the client's request id.
            dataclasses.replace(output, segment_id=output.request_id)
            if isinstance(output, SynthesizedAudio)
            else output
            for output in super().receive(message)
        ]


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.tts_segment_id_from_request:factory`` loads."""
    return tts_mutant("tts_segment_id_from_request", connection_class=RequestSegmentConnection)
