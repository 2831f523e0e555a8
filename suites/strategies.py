"""Public hypothesis strategies for voicewire's protocols.

Import them in your own property tests::

    from hypothesis import given
    from voicewire.suites.strategies import chat_contexts

    @given(chat_contexts())
    def test_my_truncate(ctx): ...

Every strategy shrinks towards small, plain cases. Those that feed the simulator or an IUT
draw JSON-ready dicts (scenario documents, wire-format contexts), so a failing example can be
written to a file and replayed.

Chat contexts
    :func:`chat_contexts` draws conversations shaped like a voice agent's: an optional
    system/developer instruction (usually first, sometimes later), user and assistant turns,
    and tool calls grouped with the assistant message of their generation (``X`` and
    ``X/fnc_0``...). Some calls are left unanswered and some outputs are orphans, because those
    are exactly the cases that break provider formats and truncation. Timestamps never go
    backwards and often tie, which exercises insertion order. :func:`chat_context_dicts` is the
    same in the IUT wire format (``to_dict`` with timestamps).

Tool-call streams
    :func:`fragmentations` (every fragmentation strategy and tool-call layout: sequential,
    several calls in one delta, calls in the finish chunk, interleaved), :func:`tool_call_scripts`,
    :func:`llm_replies` and :func:`llm_scenarios` draw scenario documents whose streams cut tool
    arguments (:func:`tool_arguments`, multibyte text included) and text in every way SPEC
    LLM-TC-2 names, with or without a finish chunk.

Fault schedules
    :func:`fault_schedules` draws per-attempt faults (statuses, resets before or after visible
    output, malformed events, success); :func:`retry_examples` and :func:`fallback_examples`
    pair them with connect options or fallback lists, for the retry semantics of SPEC §2.4-2.5.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st
from voicewire.reference.llm.chat_context import ChatContext
from voicewire.reference.llm.chat_items import (
    ChatItem,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
)

__all__ = [
    "FALLBACK_BEHAVIOURS",
    "FALLBACK_LLMS",
    "RETRY_REPLIES",
    "RETRY_STATUS_CODES",
    "chat_context_dicts",
    "chat_contexts",
    "chat_texts",
    "fallback_examples",
    "fault_schedules",
    "fragmentations",
    "llm_replies",
    "llm_scenarios",
    "reply_event_count",
    "retry_examples",
    "tool_arguments",
    "tool_call_scripts",
]

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


# -- chat contexts in the IUT wire format -------------------------------------------------------


def chat_context_dicts(
    *, max_turns: int = 12, instructions: bool | None = None
) -> st.SearchStrategy[dict[str, object]]:
    """:func:`chat_contexts` in the wire format of the IUT protocol: JSON-ready
    ``{"items": [...]}`` as ``to_dict(exclude_timestamp=False, exclude_image=False)`` writes it
    (every item with its ``id``, ``type`` and ``created_at``; ids unique; timestamps
    non-decreasing). Use it to feed ``voicewire_iut.context(op, ctx)`` or a property family
    example, which must survive a JSON round trip.
    """
    return chat_contexts(max_turns=max_turns, instructions=instructions).map(
        lambda ctx: ctx.to_dict(exclude_timestamp=False, exclude_image=False, exclude_audio=False)
    )


# -- fault schedules (retry) ----------------------------------------------------------------
#
# Retry and fallback examples are plain JSON-ready dicts in the scenario vocabulary
# (simulators/scenario.py), so a failing example replays from its file. A retry is told apart
# by the simulator's ``attempt`` (the Nth request with an identical body), which is why a fault
# schedule is a list whose i-th fault carries ``attempt: i + 1``.

RETRY_STATUS_CODES: tuple[int, ...] = (400, 401, 403, 404, 408, 422, 429, 499, 500, 502, 503, 504)
"""The error statuses fault schedules draw: every 4xx SPEC RETRY-3 singles out, some common
non-retryable 4xx, and common 5xx."""

RETRY_REPLIES: tuple[str, ...] = ("", "Hi!", "Hello world, how are you?", "Ça marche, à demain 👋")
"""Scripted reply texts; ``""`` makes a stream whose only chunks are role-only, finish and
usage chunks (no visible output at all)."""


def reply_event_count(content: str, size: int) -> int:
    """The events a scripted text reply streams before ``[DONE]`` when cut in pieces of
    ``size`` characters: the role-only chunk, one chunk per piece, the finish chunk and the
    usage chunk (so event 1 is the first visible text, if any)."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be an int >= 1, got {size!r}")
    return 3 + -(-len(content) // size)


def fault_schedules(
    *, events: int, max_attempts: int = 4
) -> st.SearchStrategy[list[dict[str, object]]]:
    """Per-attempt faults for a scripted stream of ``events`` events (before ``[DONE]``).

    The i-th fault (``attempt: i + 1``) is a ``status`` drawn from :data:`RETRY_STATUS_CODES`,
    a ``disconnect`` (mode ``reset``) right after event ``k``, or a ``malformed`` event ``k``
    (``0 <= k < events``). Attempts past the end of the list are served normally; the list
    shrinks towards no fault at all. A clean ``close`` is never drawn (an SSE stream that just
    ends is no error in SPEC §2.2), nor anything at ``[DONE]``, whose reset races the client's
    end of stream.
    """
    if isinstance(events, bool) or not isinstance(events, int) or events < 1:
        raise ValueError(f"events must be an int >= 1, got {events!r}")
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 0:
        raise ValueError(f"max_attempts must be an int >= 0, got {max_attempts!r}")
    at_event = st.integers(0, events - 1)
    fault = st.one_of(
        st.builds(
            lambda code: {"kind": "status", "code": code}, st.sampled_from(RETRY_STATUS_CODES)
        ),
        st.builds(lambda k: {"kind": "disconnect", "mode": "reset", "at_event": k}, at_event),
        st.builds(lambda k: {"kind": "malformed", "at_event": k}, at_event),
    )
    return st.lists(fault, max_size=max_attempts).map(
        lambda faults: [{**f, "attempt": i + 1} for i, f in enumerate(faults)]
    )


@st.composite
def retry_examples(draw: st.DrawFn, *, max_retry: int = 3) -> dict[str, object]:
    """One example of the ``retry-semantics`` property family (SPEC §2.4)::

        {"scenario": {...one rule: a text reply cut in fixed pieces + a fault schedule...},
         "conn_options": {"max_retry": 0..max_retry, "retry_interval": tiny, "timeout": 5.0}}

    The schedule may be longer than the attempts allowed (then every attempt fails). Waits are
    tiny so examples stay cheap; the exact waits of RETRY-4 are checked by example cases.
    """
    if isinstance(max_retry, bool) or not isinstance(max_retry, int) or max_retry < 0:
        raise ValueError(f"max_retry must be an int >= 0, got {max_retry!r}")
    content = draw(st.sampled_from(RETRY_REPLIES))
    size = draw(st.integers(3, 8))
    retries = draw(st.integers(0, max_retry))
    events = reply_event_count(content, size)
    faults = draw(fault_schedules(events=events, max_attempts=retries + 1))
    return {
        "scenario": {
            "name": "retry-semantics",
            "time_scale": 0.01,
            "rules": [
                {
                    "reply": {
                        "content": content,
                        "fragmentation": {"strategy": "fixed", "size": size},
                    },
                    "faults": faults,
                }
            ],
        },
        "conn_options": {
            "max_retry": retries,
            "retry_interval": draw(st.sampled_from([0.0, 0.01, 0.02])),
            "timeout": 5.0,
        },
    }


FALLBACK_LLMS: tuple[tuple[str, str], ...] = (
    ("primary", "openai/gpt-4.1-mini"),
    ("secondary", "openai/gpt-4o-mini"),
    ("tertiary", "google/gemini-2.5-flash"),
)
"""``(label, model)`` of the LLMs a fallback example lists, in order; the model selects the
LLM's rule in the example's scenario."""

FALLBACK_BEHAVIOURS: tuple[str, ...] = (
    "ok",
    "status",
    "reset_before_output",
    "malformed_before_output",
    "reset_after_output",
)
"""What one LLM of a fallback example does: answer, answer an error status, or break its
stream before or after its first visible text."""


@st.composite
def fallback_examples(draw: st.DrawFn, *, max_llms: int = 3) -> dict[str, object]:
    """One example of the ``fallback`` property family (SPEC §2.5)::

        {"scenario": {...one rule per LLM, selected by its model...},
         "llms": [{"label": "primary", "model": "openai/gpt-4.1-mini"}, ...],
         "retry_on_chunk_sent": bool}

    Each LLM does one of :data:`FALLBACK_BEHAVIOURS` on every request it gets (background
    probes included) and answers ``"<label> answers: all good."`` cut in pieces of 8
    characters, so a failure after output leaves exactly its first piece visible.
    """
    if isinstance(max_llms, bool) or not isinstance(max_llms, int):
        raise ValueError(f"max_llms must be an int, got {max_llms!r}")
    if not 1 <= max_llms <= len(FALLBACK_LLMS):
        raise ValueError(f"max_llms must be in 1..{len(FALLBACK_LLMS)}, got {max_llms}")
    count = draw(st.integers(1, max_llms))
    rules = []
    for label, model in FALLBACK_LLMS[:count]:
        behaviour = draw(st.sampled_from(FALLBACK_BEHAVIOURS))
        faults: list[dict[str, object]] = []
        if behaviour == "status":
            faults.append({"kind": "status", "code": draw(st.sampled_from(RETRY_STATUS_CODES))})
        elif behaviour == "reset_before_output":
            faults.append({"kind": "disconnect", "mode": "reset", "at_event": 0})
        elif behaviour == "malformed_before_output":
            faults.append({"kind": "malformed", "at_event": 1})
        elif behaviour == "reset_after_output":
            faults.append({"kind": "disconnect", "mode": "reset", "at_event": 1})
        rules.append(
            {
                "match": {"model": model.replace(".", r"\.")},
                "reply": {
                    "content": f"{label} answers: all good.",
                    "fragmentation": {"strategy": "fixed", "size": 8},
                },
                "faults": faults,
            }
        )
    return {
        "scenario": {"name": "fallback", "time_scale": 0.01, "rules": rules},
        "llms": [{"label": label, "model": model} for label, model in FALLBACK_LLMS[:count]],
        "retry_on_chunk_sent": draw(st.booleans()),
    }


# -- tool-call fragmentations -------------------------------------------------------------------
#
# Simulated completions in the scenario vocabulary of ``simulators.llm``, as JSON-ready
# dicts: a property example holding one survives the replay file's JSON round trip and the
# check rebuilds it with ``parse_scenario``. Every strategy shrinks towards the plainest stream
# (whole pieces, calls one after another, a normal finish), so a minimal failing example names
# the simplest way the client broke.

_FRAGMENTATION_STRATEGIES = ("whole", "per_char", "fixed", "random")
_TOOL_CALL_LAYOUTS = ("sequential", "one_delta", "in_finish", "interleaved")
# None first: the reply's default (tool_calls with calls, else stop) is the simplest ending.
_FINISH_REASONS = (None, "stop", "tool_calls", "length", "content_filter")
_CALL_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _check_count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def fragmentations(
    *, layouts: tuple[str, ...] = _TOOL_CALL_LAYOUTS, max_size: int = 12
) -> st.SearchStrategy[dict[str, object]]:
    """How a simulated reply is cut into stream chunks: a ``fragmentation`` dict
    (:class:`voicewire.simulators.llm.Fragmentation`).

    ``strategy`` is ``whole``, ``per_char``, ``fixed`` (with ``size``) or ``random`` (with
    ``size`` and a ``seed``, so the cut replays exactly); ``tool_calls`` is one of ``layouts``
    (``sequential``, ``one_delta``: several calls in one delta, ``in_finish``: the calls in
    the chunk carrying ``finish_reason``, ``interleaved``: all headers, then argument pieces
    round-robin). ``max_size`` bounds the piece size of ``fixed`` and ``random``.
    """
    if isinstance(layouts, str) or not isinstance(layouts, (tuple, list)):
        raise TypeError(f"layouts must be a tuple of layout names, got {type(layouts).__name__}")
    unknown = [layout for layout in layouts if layout not in _TOOL_CALL_LAYOUTS]
    if not layouts or unknown:
        raise ValueError(
            f"layouts must be a non-empty selection of {_TOOL_CALL_LAYOUTS}, got {layouts!r}"
        )
    if _check_count(max_size, "max_size") < 1:
        raise ValueError(f"max_size must be >= 1, got {max_size}")
    chosen = tuple(layouts)

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, object]:
        strategy = draw(st.sampled_from(_FRAGMENTATION_STRATEGIES))
        fragmentation: dict[str, object] = {
            "strategy": strategy,
            "tool_calls": draw(st.sampled_from(chosen)),
        }
        if strategy in ("fixed", "random"):
            fragmentation["size"] = draw(st.integers(1, max_size))
        if strategy == "random":
            fragmentation["seed"] = draw(st.integers(0, 2**32 - 1))
        return fragmentation

    return build()


@st.composite
def _argument_texts(draw: st.DrawFn) -> str:
    text = draw(tool_arguments())
    form = draw(st.sampled_from(["as_is", "ascii_escaped", "truncated", "empty"]))
    if form == "ascii_escaped":
        # The same JSON with every non-ASCII character as a \uXXXX escape: cutting the text
        # per character then ends fragments inside an escape, which a client must not decode.
        return json.dumps(json.loads(text))
    if form == "truncated":
        # Cut short, as a completion stopped by finish_reason "length" leaves it: not JSON.
        return text[: draw(st.integers(0, max(len(text) - 1, 0)))]
    return "" if form == "empty" else text


def tool_call_scripts(
    *, min_calls: int = 1, max_calls: int = 3
) -> st.SearchStrategy[list[dict[str, object]]]:
    """The tool calls of one reply: a list of ``ToolCallScript`` dicts
    (:class:`~voicewire.simulators.llm.ToolCallScript`) with distinct ``id`` values, names
    from a small set (names may repeat) and ``arguments`` as raw text that goes on the wire
    verbatim: JSON with any unicode (see :func:`tool_arguments`), sometimes ``\\u``-escaped,
    sometimes truncated mid-way (not JSON at all) or empty. Calls take their list position as
    ``index``.
    """
    _check_count(min_calls, "min_calls")
    _check_count(max_calls, "max_calls")
    if min_calls > max_calls:
        raise ValueError(f"min_calls must be <= max_calls, got {min_calls} > {max_calls}")
    call_ids = st.text(alphabet=_CALL_ID_ALPHABET, min_size=1, max_size=10).map("call_".__add__)
    call = st.fixed_dictionaries(
        {"id": call_ids, "name": st.sampled_from(_TOOL_NAMES), "arguments": _argument_texts()}
    )
    return st.lists(call, min_size=min_calls, max_size=max_calls, unique_by=lambda c: c["id"])


def _reply_texts() -> st.SearchStrategy[str]:
    # Thinking markers would be removed by the client (LLM-TXT-2): generated text has none, so
    # the expected output is the content itself.
    return chat_texts().filter(lambda text: "<think>" not in text and "</think>" not in text)


def llm_replies(
    *,
    min_calls: int = 0,
    max_calls: int = 3,
    layouts: tuple[str, ...] = _TOOL_CALL_LAYOUTS,
) -> st.SearchStrategy[dict[str, object]]:
    """A scripted completion: an ``LLMReply`` dict
    (:class:`~voicewire.simulators.llm.LLMReply`).

    Text ``content`` (often empty; never a thinking marker), ``min_calls``..``max_calls``
    calls from :func:`tool_call_scripts`, a ``fragmentation`` from :func:`fragmentations`
    over ``layouts``, and an ending: a finish chunk with the default reason or ``stop``,
    ``tool_calls``, ``length``, ``content_filter``, or no finish chunk at all
    (``finish: false``); sometimes no usage chunk (``usage: false``).
    """
    calls = tool_call_scripts(min_calls=min_calls, max_calls=max_calls)
    fragmentation = fragmentations(layouts=layouts)

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, object]:
        reply: dict[str, object] = {
            "content": draw(st.one_of(st.just(""), _reply_texts())),
            "tool_calls": draw(calls),
            "fragmentation": draw(fragmentation),
        }
        if draw(st.sampled_from([True, False])):
            reason = draw(st.sampled_from(_FINISH_REASONS))
            if reason is not None:
                reply["finish_reason"] = reason
        else:
            reply["finish"] = False
        if not draw(st.sampled_from([True, False])):
            reply["usage"] = False
        return reply

    return build()


def llm_scenarios(
    replies: st.SearchStrategy[dict[str, object]] | None = None,
) -> st.SearchStrategy[dict[str, object]]:
    """A scenario dict (:class:`~voicewire.simulators.scenario.Scenario`) whose one rule answers
    every LLM request with a reply drawn from ``replies`` (default :func:`llm_replies`). Load it
    with ``voicewire_simulator.session(parse_scenario(d))``; the session renames it."""
    return (llm_replies() if replies is None else replies).map(
        lambda reply: {"name": "generated", "rules": [{"reply": reply}]}
    )
