"""Mutant: the ``X-LiveKit-Inference-Provider`` header is written into a throwaway dict.

The known upstream variant: the port builds the per-attempt headers, copies them to add the
optional ones, writes the provider header into the copy and then returns the original. Every
request goes out without the provider header, so the gateway routes the model to its default
provider instead of the one the caller chose.

Caught by: LLM-REQ-5 (the provider header is sent when a provider is set).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.inference import LLM, PROVIDER_HEADER

from tests.mutants.port import mutant

__all__ = ["factory"]


class LostHeaderLLM(LLM):
    def headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.access_token()}"}
        extra_headers = dict(headers)
        if self.provider is not None:
            extra_headers[PROVIDER_HEADER] = self.provider  # BUG: never sent
        return headers


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.lost_provider_header:factory`` loads."""
    return mutant("lost_provider_header", llm_class=LostHeaderLLM)
