"""What the mutants share: the reference with one class swapped.

A mutant is the reference with one bug, and its diff is that bug: it overrides one method of
one of the reference's seams and hands the class to :func:`mutant`, which builds the reference
IUT around it. The seams: the wire objects of each attempt
(:class:`~voicewire.reference.llm.wire.CompletionReader`, which turns SSE events into
ChatChunks, and :class:`~voicewire.reference.llm.wire.RetryPolicy`, which builds errors and
decides retries), the ``LLM`` client (``request_body``, ``headers``, ``access_token``), the
fallback adapter (its ``stream_class``, the stream that walks the LLMs) and the chat context.
"""

from __future__ import annotations

from typing import Any

from voicewire.harness.llm_reference import LLMReference
from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.fallback import FallbackAdapter
from voicewire.reference.llm.inference import LLM
from voicewire.reference.llm.wire import CompletionReader, RetryPolicy

__all__ = ["mutant"]


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
