"""Property family ``chat-context-truncation`` (SPEC §6.1, and §6.3 CTX-OAI-2 after truncation).

Generated conversations (instructions first, later or absent; runs of function calls and
outputs, some unanswered, some orphaned; plain messages) are truncated by the IUT with
``max_items`` from 0 to ``len + 2``. The harness predicts the result with its own model of
§6.1 (:func:`expected_truncation`, written from the SPEC text, not from any implementation)
and checks it exactly, item by item (ids, types and payloads), after first checking the
invariants one by one so a failure names the rule it breaks:

- CTX-TRUNC-3: the instructions appear exactly once, no item is duplicated, order is kept,
  at most ``max_items + 1`` items;
- CTX-TRUNC-4: the window never starts with a function call or output;
- CTX-TRUNC-1 / CTX-TRUNC-2: the exact expected result;
- CTX-TRUNC-5: truncating the result again with the same ``max_items`` changes nothing;
- CTX-OAI-2: the truncated context in the openai format never holds an assistant
  ``tool_calls`` entry without its ``tool`` answer, nor a ``tool`` message without its call.

``max_items == 0`` is the SHOULD rule CTX-TRUNC-6 (keep only the instructions; upstream keeps
everything): there, a truncation that differs from the prediction breaks CTX-TRUNC-6 only.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import strategies as st
from voicewire.harness.replay import property_family
from voicewire.harness.verdicts import expect
from voicewire.suites.builders import (
    function_call,
    function_call_output,
    item_payload,
)
from voicewire.suites.builders import message as message_item
from voicewire.suites.strategies import chat_context_dicts

INSTRUCTION_ROLES = ("system", "developer")
TOOL_ITEM_TYPES = ("function_call", "function_call_output")


def expected_truncation(items: list[dict[str, Any]], max_items: int) -> list[dict[str, Any]]:
    """SPEC §6.1 as a pure function over wire-format items.

    ``I`` is the first system/developer message; ``W`` the last ``max_items`` items without
    their leading function calls/outputs; the result is ``W``, preceded by ``I`` when ``I``
    is not in ``W``. Nothing changes when ``len(items) <= max_items``.
    """
    if len(items) <= max_items:
        return list(items)
    instructions = next(
        (i for i in items if i["type"] == "message" and i["role"] in INSTRUCTION_ROLES), None
    )
    window = list(items[len(items) - max_items :]) if max_items > 0 else []
    while window and window[0]["type"] in TOOL_ITEM_TYPES:
        window.pop(0)
    if instructions is not None and all(i["id"] != instructions["id"] for i in window):
        window.insert(0, instructions)
    return window


def _describe(items: list[dict[str, Any]]) -> str:
    return "[" + ", ".join(f"{i.get('id')}:{i.get('role', i.get('type'))}" for i in items) + "]"


def tool_pairing_problems(messages: list[dict[str, Any]]) -> list[str]:
    """Why ``messages`` would be refused by the openai API for its tool pairing (CTX-OAI-2):
    every ``tool_calls`` id of an assistant message must be answered by the ``tool`` messages
    that immediately follow it, and every ``tool`` message must answer such a call."""
    problems: list[str] = []
    pending: list[str] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            problems.append(f"messages[{index}] is not an object: {message!r:.60}")
            continue
        role = message.get("role")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id in pending:
                pending.remove(call_id)
            else:
                problems.append(f"messages[{index}] answers no pending call ({call_id!r})")
            continue
        if pending:
            problems.append(f"calls {pending} are not answered before messages[{index}]")
        pending = [call.get("id") for call in message.get("tool_calls") or []]
    if pending:
        problems.append(f"calls {pending} are never answered")
    return problems


def _instructions_position(items: list[dict[str, Any]]) -> int | None:
    return next(
        (
            p
            for p, i in enumerate(items)
            if i["type"] == "message" and i["role"] in INSTRUCTION_ROLES
        ),
        None,
    )


@st.composite
def truncation_examples(draw: st.DrawFn) -> dict[str, Any]:
    """``{"ctx": <wire-format context>, "max_items": n}`` with ``0 <= n <= len + 2``.

    The instructions go anywhere (or nowhere); some outputs are removed so their calls are
    unanswered; ``n`` is any size or, two times out of three, a cut where the rules bite.
    """
    items = list(draw(chat_context_dicts(instructions=False))["items"])
    outputs = [i["id"] for i in items if i["type"] == "function_call_output"]
    if outputs:
        unanswered = draw(st.sets(st.sampled_from(outputs), max_size=2))
        items = [i for i in items if i["id"] not in unanswered]
    if draw(st.integers(0, 3)) > 0:  # mostly with instructions, anywhere
        position = draw(st.integers(0, len(items)))
        neighbour = items[position - 1] if position else items[0] if items else None
        items.insert(
            position,
            {
                "type": "message",
                "id": "item_instructions",
                "role": draw(st.sampled_from(INSTRUCTION_ROLES)),
                "content": ["You are a helpful voice agent."],
                "interrupted": False,
                # Timestamps stay non-decreasing, as in a real context.
                "created_at": 1_700_000_000.0 if neighbour is None else neighbour["created_at"],
            },
        )
    size = len(items)
    # Where the rules bite: the window starting just before, at or just after the
    # instructions, or at a function call or output.
    first = _instructions_position(items)
    around = [] if first is None else [size - first - 1, size - first, size - first + 1]
    at_tool = [size - p for p, item in enumerate(items) if item["type"] in TOOL_ITEM_TYPES]
    choices = {
        "any": [*range(1, size + 3), 0],
        "instructions": [*(n for n in around if n > 0), 0],
        "tool": at_tool,
    }
    kind = draw(st.sampled_from([k for k, cuts in choices.items() if cuts]))
    max_items = draw(st.sampled_from(choices[kind]))
    return {"ctx": {"items": items}, "max_items": max_items}


def _boundary(items: list[dict[str, Any]], max_items: int) -> dict[str, Any]:
    return {"ctx": {"items": items}, "max_items": max_items}


_SYSTEM = message_item(
    "system", "You are a helpful voice agent.", id="item_instructions", created_at=1.0
)
_USER = message_item("user", "Weather?", id="item_user", created_at=2.0)
_CALL = function_call("item_call", "call_a", t=3.0)
_OUTPUT = function_call_output("item_output", "call_a", t=4.0)
_REPLY = message_item("assistant", "Sunny.", id="item_reply", created_at=5.0)

TRUNCATION_BOUNDARIES = [
    _boundary([], 0),  # nothing to keep
    _boundary([_SYSTEM], 0),  # only the instructions survive a zero
    _boundary([_SYSTEM, _USER, _CALL, _OUTPUT, _REPLY], 5),  # exactly at the limit
    _boundary([_SYSTEM, _USER, _CALL, _OUTPUT, _REPLY], 3),  # the window starts on a call
    _boundary([_SYSTEM, _USER, _CALL, _OUTPUT, _REPLY], 2),  # ... on an output
    _boundary([_USER, _CALL, _OUTPUT, _REPLY, _SYSTEM], 1),  # instructions last, inside W
]
"""The shallow edges of the truncation family, run every time before the generated ones."""


def _truncated(iut: Any, ctx: dict[str, Any], max_items: int, rule: str) -> list[dict[str, Any]]:
    result = iut.context("truncate", ctx, max_items=max_items)
    expect(
        result.error is None and result.ctx is not None,
        rule,
        f"truncate(max_items={max_items}) of {_describe(ctx['items'])} answered no context "
        f"(error: {result.error})",
    )
    return list(result.ctx["items"])


@pytest.mark.spec(
    "CTX-TRUNC-1",
    "CTX-TRUNC-2",
    "CTX-TRUNC-3",
    "CTX-TRUNC-4",
    "CTX-TRUNC-5",
    "CTX-TRUNC-6",
    "CTX-OAI-2",
)
@pytest.mark.capability("chat_context")
@property_family("chat-context-truncation", truncation_examples(), boundaries=TRUNCATION_BOUNDARIES)
def test_truncation_matches_the_model(
    voicewire_iut: Any, voicewire_simulator: Any, example: dict[str, Any]
) -> None:
    """truncate(n) of generated contexts is exactly SPEC §6.1's prediction.

    It is also idempotent, and the openai format of its result keeps the tool pairing valid.
    """
    items: list[dict[str, Any]] = example["ctx"]["items"]
    max_items: int = example["max_items"]
    # At max_items == 0 the whole prediction is the SHOULD rule CTX-TRUNC-6.
    zero = max_items == 0

    def rule(must: str) -> str:
        return "CTX-TRUNC-6" if zero else must

    got = _truncated(voicewire_iut, example["ctx"], max_items, rule("CTX-TRUNC-2"))
    want = expected_truncation(items, max_items)
    shown = (
        f"truncate(max_items={max_items}) of {_describe(items)}\n"
        f"  expected {_describe(want)}\n  got      {_describe(got)}"
    )

    ids = [item.get("id") for item in got]
    original_ids = [item["id"] for item in items]
    instructions = next(
        (i for i in items if i["type"] == "message" and i["role"] in INSTRUCTION_ROLES), None
    )
    if instructions is not None:
        expect(
            ids.count(instructions["id"]) == 1,
            rule("CTX-TRUNC-3"),
            f"the instructions {instructions['id']} appear {ids.count(instructions['id'])} "
            f"times, not once: {shown}",
        )
    expect(len(set(ids)) == len(ids), rule("CTX-TRUNC-3"), f"an item is duplicated: {shown}")
    positions = [original_ids.index(i) if i in original_ids else -1 for i in ids]
    expect(
        -1 not in positions and positions == sorted(positions),
        rule("CTX-TRUNC-3"),
        f"items invented or reordered: {shown}",
    )
    if len(items) > max_items:
        expect(
            len(got) <= max_items + 1,
            rule("CTX-TRUNC-3"),
            f"{len(got)} items, more than max_items + 1: {shown}",
        )
        # I was prepended (not part of W) when it lies before the last max_items items.
        prepended = (
            instructions is not None
            and original_ids.index(instructions["id"]) < len(items) - max_items
        )
        window = got[1:] if prepended and ids[:1] == [instructions["id"]] else got
        expect(
            not window or window[0].get("type") not in TOOL_ITEM_TYPES,
            rule("CTX-TRUNC-4"),
            f"the window starts with a {window[0].get('type') if window else None}: {shown}",
        )
    expect(
        [item_payload(i) for i in got] == [item_payload(i) for i in want],
        rule("CTX-TRUNC-1" if len(items) <= max_items else "CTX-TRUNC-2"),
        f"not the expected result: {shown}",
    )

    again = _truncated(voicewire_iut, {"items": got}, max_items, rule("CTX-TRUNC-5"))
    expect(
        [item_payload(i) for i in again] == [item_payload(i) for i in got],
        rule("CTX-TRUNC-5"),
        f"truncate(max_items={max_items}) twice differs from once: once {_describe(got)}, "
        f"twice {_describe(again)}",
    )

    formatted = voicewire_iut.context("to_provider_format", {"items": got}, format="openai")
    expect(
        formatted.error is None and isinstance(formatted.value, list),
        "CTX-OAI-2",
        f"to_provider_format of the truncated context failed: {formatted.error}",
    )
    problems = tool_pairing_problems(formatted.value)
    expect(
        not problems,
        "CTX-OAI-2",
        f"openai messages of {_describe(got)} break the tool pairing: {problems}\n"
        f"  messages: {formatted.value}",
    )
