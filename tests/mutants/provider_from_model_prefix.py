"""Mutant: without a provider, the provider header is derived from the model's prefix.

The port author wanted "sensible routing by default": when the caller sets no ``provider``,
the port fills ``X-LiveKit-Inference-Provider`` with the model's prefix (``openai`` for
``openai/gpt-4.1-mini``). The header is meant to pin a specific provider of a model when the
caller asks for one; sending it always overrides the gateway's own choice (its fallbacks and
load balancing across providers), and a prefix such as ``google`` is not even a provider
name the gateway knows.

Caught by: LLM-REQ-5 (the header is sent when a provider is set, and only then).
"""

from __future__ import annotations

from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.inference import LLM, PROVIDER_HEADER

from tests.mutants.port import mutant

__all__ = ["PrefixProviderLLM", "factory"]


class PrefixProviderLLM(LLM):
    """The reference LLM whose port always sends a provider header."""

    def headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.access_token()}"}
        # BUG: a provider nobody asked for
        headers[PROVIDER_HEADER] = self.provider or self.model.split("/", 1)[0]
        return headers


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.provider_from_model_prefix:factory`` loads."""
    return mutant("provider_from_model_prefix", llm_class=PrefixProviderLLM)
