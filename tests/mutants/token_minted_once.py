"""Mutant: the LLM mints its token once and sends it on every request.

The port author saw that minting a JWT costs a signature per request and cached the first
token on the LLM object. It stays valid for ten minutes, so short tests pass; an agent that
talks for longer sends an expired token and every turn after that is refused.

Caught by: AUTH-3 (a fresh token for every ``chat()`` call).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.inference import LLM

from tests.mutants.port import mutant

__all__ = ["CachedTokenLLM", "factory"]


class CachedTokenLLM(LLM):
    """The reference LLM that keeps its first token."""

    _cached_token: str | None = None

    def access_token(self) -> str:
        if self._cached_token is None:  # BUG: never refreshed
            self._cached_token = super().access_token()
        return self._cached_token


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.token_minted_once:factory`` loads."""
    return mutant("token_minted_once", llm_class=CachedTokenLLM)
