"""Mutant (Inworld WebSocket): ``send_text`` pieces of up to 2000 characters.

The port author took the HTTP endpoint's text limit for the WebSocket's and cut text into
2000-character pieces. Sentences rarely reach that, so it shows only on long unpunctuated text
(a pasted document, a URL list): Inworld refuses the oversized ``send_text``.

Caught by: IW-WS-1 (``send_text`` pieces of at most 1000 characters).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.inworld.wire.multiplexer import InworldClientMultiplexer

from tests.mutants.port import inworld_mutant

__all__ = ["factory"]


class LongPiecesMultiplexer(InworldClientMultiplexer):
    """The reference multiplexer, cutting text into 2000-character pieces."""

    def _pieces(self, text: str) -> list[str]:
        return [text[i : i + 2000] for i in range(0, len(text), 2000)]  # BUG: the HTTP limit


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.iw_long_text_pieces:factory`` loads."""
    return inworld_mutant("iw_long_text_pieces", multiplexer_class=LongPiecesMultiplexer)
