"""What the mutants share: the reference with one part's class swapped.

A mutant is the reference with one bug. :func:`mutant` builds the reference IUT whose LLM part
builds its LLMs, fallback adapters and chat contexts from the classes given. The reference's
own seams carry the rest: ``LLM`` builds its body with ``request_body`` and streams with
``stream_class``; ``LLMStream`` reads each attempt with a ``reader_class``
(:class:`~voicewire.reference.llm.wire.CompletionReader`) and decides retries with a
``retry_policy_class`` (:class:`~voicewire.reference.llm.wire.RetryPolicy`). A mutant overrides
one method of one of those, so its diff is its bug.
"""

from __future__ import annotations

from typing import Any

from voicewire.harness.llm_reference import LLMReference
from voicewire.harness.reference_iut import ReferenceIUT

__all__ = ["mutant"]


def mutant(name: str, **classes: Any) -> ReferenceIUT:
    """The reference IUT named ``mutant:<name>`` whose LLM part uses ``classes``
    (``llm_class``, ``fallback_class``, ``context_class``)."""
    unknown = set(classes) - {"llm_class", "fallback_class", "context_class"}
    if unknown:
        raise TypeError(f"unknown part classes: {sorted(unknown)}")
    part = type(f"Mutant{name.title().replace('_', '')}Part", (LLMReference,), dict(classes))
    return ReferenceIUT(parts={"llm": part()}, name=f"mutant:{name}")
