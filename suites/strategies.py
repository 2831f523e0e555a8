"""Public hypothesis strategies for voicewire's protocols.

Import them in your own property tests::

    from hypothesis import given
    from suites.strategies import chat_contexts

    @given(chat_contexts())
    def test_my_truncate(ctx): ...

Every strategy builds real ``reference`` objects and shrinks towards small, plain cases.

Chat contexts
    :func:`chat_contexts` draws conversations shaped like a voice agent's: an optional
    system/developer instruction (usually first, sometimes later), user and assistant turns,
    and tool calls grouped with the assistant message of their generation (``X`` and
    ``X/fnc_0``...). Some calls are left unanswered and some outputs are orphans, because those
    are exactly the cases that break provider formats and truncation. Timestamps never go
    backwards and often tie, which exercises insertion order.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

from reference.llm.chat_context import (
    ChatContext,
    ChatItem,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
)

__all__ = ["chat_contexts", "chat_texts", "tool_arguments"]

_TOOL_NAMES = ("get_weather", "lookup_order", "transfer_call", "end_call")


def chat_texts(*, max_size: int = 24) -> st.SearchStrategy[str]:
    """Message text: mostly printable, sometimes empty, sometimes any unicode (incl. newlines)."""
    return st.one_of(
        st.text(
            alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=max_size
        ),
        st.sampled_from(["", "hello", "What's the weather in Paris?", "ok\nthanks"]),
    )


def tool_arguments() -> st.SearchStrategy[str]:
    """Raw JSON argument strings as a model streams them (always valid JSON here)."""
    values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
        ),
        max_leaves=6,
    )
    return st.dictionaries(st.text(min_size=1, max_size=8), values, max_size=3).map(
        lambda obj: json.dumps(obj, ensure_ascii=False)
    )


@st.composite
def _turns(draw: st.DrawFn, max_turns: int) -> list[ChatItem]:
    items: list[ChatItem] = []
    counter = 0

    def next_id(prefix: str = "item") -> str:
        nonlocal counter
        counter += 1
        return f"{prefix}_{counter:04d}"

    for _ in range(draw(st.integers(0, max_turns))):
        kind = draw(
            st.sampled_from(["user", "assistant", "assistant_tools", "instruction", "orphan"])
        )
        if kind == "user":
            items.append(ChatMessage(id=next_id(), role="user", content=[draw(chat_texts())]))
        elif kind == "assistant":
            items.append(
                ChatMessage(
                    id=next_id(),
                    role="assistant",
                    content=[draw(chat_texts())],
                    interrupted=draw(st.booleans()),
                )
            )
        elif kind == "instruction":
            role = draw(st.sampled_from(["system", "developer"]))
            items.append(ChatMessage(id=next_id(), role=role, content=[draw(chat_texts())]))
        elif kind == "orphan":
            # An output whose call is not in the context (e.g. truncated away earlier).
            items.append(
                FunctionCallOutput(
                    id=next_id(),
                    call_id=next_id("call_orphan"),
                    name=draw(st.sampled_from(_TOOL_NAMES)),
                    output=draw(chat_texts()),
                )
            )
        else:
            generation = next_id("gen")
            if draw(st.booleans()):
                items.append(
                    ChatMessage(id=generation, role="assistant", content=[draw(chat_texts())])
                )
            n_calls = draw(st.integers(1, 3))
            calls = [
                FunctionCall(
                    id=f"{generation}/fnc_{i}",
                    call_id=next_id("call"),
                    name=draw(st.sampled_from(_TOOL_NAMES)),
                    arguments=draw(tool_arguments()),
                )
                for i in range(n_calls)
            ]
            items.extend(calls)
            for call in calls:
                if draw(st.integers(0, 4)) > 0:  # mostly answered, sometimes still running
                    items.append(
                        FunctionCallOutput(
                            id=next_id(),
                            call_id=call.call_id,
                            name=call.name,
                            output=draw(chat_texts()),
                            is_error=draw(st.booleans()),
                        )
                    )
    return items


@st.composite
def chat_contexts(
    draw: st.DrawFn, *, max_turns: int = 12, instructions: bool | None = None
) -> ChatContext:
    """A :class:`ChatContext` of up to ``max_turns`` turns (a tool turn adds several items).

    ``instructions``: ``True`` always starts with a system/developer message, ``False`` never
    adds one up front, ``None`` (default) lets hypothesis choose.
    """
    items = draw(_turns(max_turns))
    lead = draw(st.booleans()) if instructions is None else instructions
    if lead:
        role = draw(st.sampled_from(["system", "developer"]))
        items.insert(
            0, ChatMessage(id="item_instructions", role=role, content=[draw(chat_texts())])
        )
    # Non-decreasing timestamps with frequent ties (several items of one generation share one).
    t = 1_700_000_000.0
    for item in items:
        t += draw(st.sampled_from([0.0, 0.0, 0.5, 1.0, 2.25]))
        item.created_at = t
    return ChatContext(items)
