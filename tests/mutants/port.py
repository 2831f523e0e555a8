"""What the mutants share: the reference adapter with swappable classes.

A mutant is the reference with one bug. :class:`MutantIUT` lets the reference adapter build
each LLM and then makes it an instance of :attr:`MutantIUT.llm_class`, and parses contexts
with :attr:`MutantIUT.context_class`. The reference's own seams carry the rest: ``LLM``
builds its body with ``request_body`` and streams with ``stream_class``; ``LLMStream`` takes
its tool-call assembler, thinking filter and SDK stream from ``new_assembler``,
``new_thinking_filter`` and ``open_stream``. Without overrides each behaves exactly like the
reference (so a mutant's diff is its bug); a bug that lives inside a loop overrides the whole
method with the port's own copy.
"""

from __future__ import annotations

from typing import Any

from voicewire.harness.iut import LLMTarget
from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.inference import LLM

__all__ = ["MutantIUT"]


class MutantIUT(ReferenceIUT):
    """The reference adapter building its LLMs and contexts from swappable classes."""

    name = "mutant"
    llm_class: type[LLM] = LLM
    context_class: type[ChatContext] = ChatContext

    def make_llm(self, target: LLMTarget) -> LLM:
        llm = super().make_llm(target)
        # The reference builds the LLM (credentials, shared connection pool, ...); a mutant's
        # bug lives in methods only, so the built object just takes the mutant's class.
        if not issubclass(self.llm_class, type(llm)):
            raise TypeError(
                f"llm_class must subclass {type(llm).__name__}, got {self.llm_class.__name__}"
            )
        llm.__class__ = self.llm_class
        return llm

    def make_context(self, data: dict[str, Any]) -> ChatContext:
        return self.context_class.from_dict(data)
