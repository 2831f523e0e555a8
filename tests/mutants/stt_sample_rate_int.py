"""Mutant (STT): ``session.create`` carries ``settings.sample_rate`` as a JSON number.

The port author built the ``session.create`` object by hand and put the stream's rate in as
the integer it is (``"sample_rate": 16000``), as most STT APIs take it; LiveKit's takes it as a
string of digits (``"16000"``, as the wire capture shows). A server that holds the client to
its schema (voicewire's simulator does) refuses the message, so the session never opens.

Caught by: STT-C-1 (``settings.sample_rate`` is the rate as a string).
"""

from __future__ import annotations

import json

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.stt.wire import ClientSession

from tests.mutants.port import stt_mutant

__all__ = ["factory"]


class NumericRateSession(ClientSession):
    """The reference session, whose ``session.create`` sends the rate as a number."""

    def create(self) -> str:
        message = json.loads(super().create())
        message["settings"]["sample_rate"] = self.sample_rate  # BUG: an int, not "16000"
        return json.dumps(message)


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.stt_sample_rate_int:factory`` loads."""
    return stt_mutant("stt_sample_rate_int", session_class=NumericRateSession)
