"""Chat-context operations, example by example (SPEC §6.1, §6.2).

Every case sends a context in the wire format (``to_dict`` with timestamps) through
``voicewire_iut.context(op, ...)`` and judges the context the IUT answers itself: items are
compared by id, type and payload (role, interrupted, content; name, call_id, arguments;
output, is_error), never with the IUT's own ``is_equivalent``, which only CTX-EQ-1 checks.
Timestamps matter only as the key of insertion order.

- truncate: CTX-TRUNC-1..6 (6 is SHOULD: a negative ``max_items`` is a ``ValueError``, 0 keeps
  only the instructions);
- insert / add_message: CTX-INS-1; merge: CTX-MERGE-1; copy: CTX-COPY-1 (the source is
  untouched); to_dict → from_dict: CTX-DICT-1; is_equivalent: CTX-EQ-1.
"""

from __future__ import annotations

from typing import Any

import pytest
from voicewire.harness.llm import ContextResult
from voicewire.harness.verdicts import expect
from voicewire.suites.builders import function_call as call
from voicewire.suites.builders import function_call_output as output
from voicewire.suites.builders import item_payload, message

INSTRUCTION_ROLES = ("system", "developer")
TOOL_ITEM_TYPES = ("function_call", "function_call_output")

# -- wire-format items and how the harness compares them --------------------------------------


def msg(id: str, role: str, text: str | None = None, *, t: float) -> dict[str, Any]:
    """A one-text ``message`` item (the text defaults to the id)."""
    return message(role, text if text is not None else f"text of {id}", id=id, created_at=t)


def ids_of(ctx: dict[str, Any] | None) -> list[str] | None:
    """The item ids of a wire-format context (for failure messages)."""
    return None if ctx is None else [item.get("id") for item in ctx.get("items", [])]


def answered_items(result: ContextResult, rule: str, what: str) -> list[dict[str, Any]]:
    """The items of the context the IUT answered; a missing context or an error breaks
    ``rule``."""
    expect(
        result.error is None and result.ctx is not None,
        rule,
        f"{what}: expected a context, got error {result.error}",
    )
    assert result.ctx is not None
    return list(result.ctx.get("items", []))


def expect_items(
    got: list[dict[str, Any]], want: list[dict[str, Any]], rule: str, what: str
) -> None:
    """``got`` holds exactly ``want``'s items (ids, types, payloads), in order."""
    expect(
        [item_payload(i) for i in got] == [item_payload(i) for i in want],
        rule,
        f"{what}:\n  expected ids {[i['id'] for i in want]}\n  got ids      "
        f"{[i.get('id') for i in got]}\n  expected {[item_payload(i) for i in want]}\n"
        f"  got      {[item_payload(i) for i in got]}",
    )


def ctx_of(*items: dict[str, Any]) -> dict[str, Any]:
    """A wire-format context of these items."""
    return {"items": list(items)}


# A voice-agent conversation: instructions, two user turns, a tool round trip.
SYS = msg("sys", "system", "You are a helpful voice agent.", t=1.0)
U1 = msg("u1", "user", "What's the weather in Paris?", t=2.0)
A1 = msg("gen_1", "assistant", "Let me check.", t=3.0)
C1 = call("gen_1/fnc_0", "call_1", t=3.0)
O1 = output("out_1", "call_1", t=4.0)
A2 = msg("a2", "assistant", "It is sunny in Paris.", t=5.0)
U2 = msg("u2", "user", "Thanks!", t=6.0)
CONVERSATION = [SYS, U1, A1, C1, O1, A2, U2]


# -- truncate ---------------------------------------------------------------------------------


@pytest.mark.spec("CTX-TRUNC-1")
@pytest.mark.capability("chat_context")
@pytest.mark.parametrize("extra", [0, 1, 5])
def test_truncate_within_the_limit_changes_nothing(voicewire_iut: Any, extra: int) -> None:
    """truncate(max_items >= len) leaves every item in place (none added, none dropped)."""
    items = [U1, C1, O1, SYS, A2]  # instructions not first, a tool run inside: all kept
    max_items = len(items) + extra
    got = answered_items(
        voicewire_iut.context("truncate", ctx_of(*items), max_items=max_items),
        "CTX-TRUNC-1",
        f"truncate(max_items={max_items})",
    )
    expect_items(got, items, "CTX-TRUNC-1", f"truncate(max_items={max_items}) of {len(items)}")


TRUNCATIONS = [
    # (items, max_items, expected ids): W is the last max_items items minus leading tool items,
    # preceded by the first system/developer message when W lost it.
    pytest.param(CONVERSATION, 2, ["sys", "a2", "u2"], id="instructions-prepended"),
    pytest.param(CONVERSATION, 3, ["sys", "a2", "u2"], id="leading-output-dropped"),
    pytest.param(CONVERSATION, 4, ["sys", "a2", "u2"], id="leading-call-and-output-dropped"),
    pytest.param(CONVERSATION, 5, ["sys", "gen_1", "gen_1/fnc_0", "out_1", "a2", "u2"], id="max+1"),
    pytest.param(
        CONVERSATION,
        6,
        ["sys", "u1", "gen_1", "gen_1/fnc_0", "out_1", "a2", "u2"],
        id="full-window",
    ),
    pytest.param([U1, C1, O1, A2], 3, ["a2"], id="no-instructions"),
    pytest.param([U1, A1, C1, O1], 2, [], id="window-all-tools"),
    pytest.param(
        [U1, SYS, A1, U2], 3, ["sys", "gen_1", "u2"], id="instructions-inside-window-once"
    ),
    pytest.param(
        [msg("dev", "developer", t=1.0), U1, msg("sys2", "system", t=2.0), A2, U2],
        2,
        ["dev", "a2", "u2"],
        id="first-of-several-instructions",
    ),
    pytest.param(
        [msg("dev", "developer", t=1.0), U1, msg("sys2", "system", t=2.0), A2, U2],
        3,
        ["dev", "sys2", "a2", "u2"],
        id="second-instruction-stays-in-window",
    ),
]


def instructions_id(items: list[dict[str, Any]]) -> str | None:
    """The id of ``I``, the first system/developer message, if any."""
    return next(
        (i["id"] for i in items if i["type"] == "message" and i["role"] in INSTRUCTION_ROLES),
        None,
    )


@pytest.mark.spec("CTX-TRUNC-2", "CTX-TRUNC-3", "CTX-TRUNC-4")
@pytest.mark.capability("chat_context")
@pytest.mark.parametrize(("items", "max_items", "want_ids"), TRUNCATIONS)
def test_truncate_keeps_the_window_and_the_instructions(
    voicewire_iut: Any, items: list[dict[str, Any]], max_items: int, want_ids: list[str]
) -> None:
    """truncate(n) keeps the window W and the instructions exactly once.

    W is the last n items without leading tool items; the instructions go in front when W
    lost them."""
    what = f"truncate(max_items={max_items}) of {[i['id'] for i in items]}"
    got = answered_items(
        voicewire_iut.context("truncate", ctx_of(*items), max_items=max_items), "CTX-TRUNC-2", what
    )
    got_ids = [i.get("id") for i in got]
    instructions = instructions_id(items)
    if instructions is not None:
        expect(
            got_ids.count(instructions) == 1,
            "CTX-TRUNC-3",
            f"{what}: instructions {instructions!r} appear {got_ids.count(instructions)} "
            f"time(s), expected once: {got_ids}",
        )
    expect(len(set(got_ids)) == len(got_ids), "CTX-TRUNC-3", f"{what}: duplicates in {got_ids}")
    expect(len(got) <= max_items + 1, "CTX-TRUNC-3", f"{what}: {len(got)} items > max_items + 1")
    # W is what follows I when I was prepended, i.e. when I lies before the last n items.
    prepended = (
        instructions is not None
        and [i["id"] for i in items].index(instructions) < len(items) - max_items
    )
    window = got[1:] if prepended and got_ids[:1] == [instructions] else got
    expect(
        not window or window[0].get("type") not in TOOL_ITEM_TYPES,
        "CTX-TRUNC-4",
        f"{what}: the window starts with a {window[0].get('type') if window else None}: {got_ids}",
    )
    by_id = {i["id"]: i for i in items}
    expect_items(got, [by_id[i] for i in want_ids], "CTX-TRUNC-2", what)


@pytest.mark.spec("CTX-TRUNC-5")
@pytest.mark.capability("chat_context")
@pytest.mark.parametrize("max_items", [1, 2, 3, 4, 5])
def test_truncate_is_idempotent(voicewire_iut: Any, max_items: int) -> None:
    """truncate(n) of a truncated context changes nothing (even with its n + 1 items)."""
    what = f"truncate(max_items={max_items})"
    once = answered_items(
        voicewire_iut.context("truncate", ctx_of(*CONVERSATION), max_items=max_items),
        "CTX-TRUNC-5",
        what,
    )
    twice = answered_items(
        voicewire_iut.context("truncate", ctx_of(*once), max_items=max_items),
        "CTX-TRUNC-5",
        f"{what} again",
    )
    expect_items(twice, once, "CTX-TRUNC-5", f"{what} twice vs once")


@pytest.mark.spec("CTX-TRUNC-6")
@pytest.mark.capability("chat_context")
@pytest.mark.parametrize("max_items", [-1, -3])
def test_truncate_negative_is_a_value_error(voicewire_iut: Any, max_items: int) -> None:
    """truncate(max_items < 0) raises ValueError (rather than trimming from the front)."""
    result = voicewire_iut.context("truncate", ctx_of(*CONVERSATION), max_items=max_items)
    expect(
        result.error is not None and "ValueError" in result.error.kind,
        "CTX-TRUNC-6",
        f"truncate(max_items={max_items}): expected a ValueError, got error {result.error} "
        f"and context ids {ids_of(result.ctx)}",
    )


@pytest.mark.spec("CTX-TRUNC-6")
@pytest.mark.capability("chat_context")
@pytest.mark.parametrize(
    ("items", "want"),
    [
        pytest.param(CONVERSATION, [SYS], id="instructions"),
        pytest.param([U1, A1, C1, O1, A2, U2], [], id="no-instructions"),
    ],
)
def test_truncate_zero_keeps_only_the_instructions(
    voicewire_iut: Any, items: list[dict[str, Any]], want: list[dict[str, Any]]
) -> None:
    """truncate(max_items=0) keeps only the instructions (upstream keeps everything)."""
    got = answered_items(
        voicewire_iut.context("truncate", ctx_of(*items), max_items=0),
        "CTX-TRUNC-6",
        "truncate(max_items=0)",
    )
    expect_items(got, want, "CTX-TRUNC-6", "truncate(max_items=0)")


# -- insert / add_message ---------------------------------------------------------------------


def insertion_index(items: list[dict[str, Any]], created_at: float) -> int:
    """CTX-INS-1: after the last item with ``created_at <= t``, else first."""
    for index in range(len(items) - 1, -1, -1):
        if items[index]["created_at"] <= created_at:
            return index + 1
    return 0


BASE = [SYS, U1, A2, U2]  # created at 1, 2, 5, 6


@pytest.mark.spec("CTX-INS-1")
@pytest.mark.capability("chat_context")
@pytest.mark.parametrize(
    "item",
    [
        pytest.param(msg("new", "user", t=4.0), id="between"),
        pytest.param(msg("new", "user", t=5.0), id="equal-time-goes-after"),
        pytest.param(msg("new", "user", t=1.0), id="equal-to-first"),
        pytest.param(msg("new", "assistant", t=0.5), id="before-all"),
        pytest.param(msg("new", "user", t=9.0), id="after-all"),
        pytest.param(call("new", "call_9", t=2.0), id="function-call"),
        pytest.param(output("new", "call_9", t=5.5), id="function-call-output"),
    ],
)
def test_insert_places_by_created_at(voicewire_iut: Any, item: dict[str, Any]) -> None:
    """insert(item) puts it after the last item created at or before it (stable for ties)."""
    want = list(BASE)
    want.insert(insertion_index(BASE, item["created_at"]), item)
    what = f"insert({item['type']} created_at={item['created_at']}) into {ids_of(ctx_of(*BASE))}"
    got = answered_items(
        voicewire_iut.context("insert", ctx_of(*BASE), item=item), "CTX-INS-1", what
    )
    expect_items(got, want, "CTX-INS-1", what)


@pytest.mark.spec("CTX-INS-1")
@pytest.mark.capability("chat_context")
@pytest.mark.parametrize("created_at", [0.5, 2.0, 5.5, 6.0, 7.0])
def test_add_message_with_created_at_places_by_time(voicewire_iut: Any, created_at: float) -> None:
    """add_message(created_at=t) places the new message like insert does."""
    added = msg("added", "user", "hi", t=created_at)
    want = list(BASE)
    want.insert(insertion_index(BASE, created_at), added)
    what = f"add_message(created_at={created_at}) to {ids_of(ctx_of(*BASE))}"
    result = voicewire_iut.context(
        "add_message", ctx_of(*BASE), role="user", content="hi", id="added", created_at=created_at
    )
    expect_items(answered_items(result, "CTX-INS-1", what), want, "CTX-INS-1", what)


@pytest.mark.spec("CTX-INS-1")
@pytest.mark.capability("chat_context")
def test_add_message_without_created_at_appends(voicewire_iut: Any) -> None:
    """add_message without created_at appends, even after items stamped in the future."""
    # Timestamps far in the future: placing the message by "now" would put it first.
    future = [dict(item, created_at=item["created_at"] + 4_000_000_000.0) for item in BASE]
    what = f"add_message() to {ids_of(ctx_of(*future))}"
    result = voicewire_iut.context(
        "add_message", ctx_of(*future), role="assistant", content=["hi", "there"], id="added"
    )
    added = message("assistant", "hi", id="added")
    added["content"] = ["hi", "there"]
    expect_items(answered_items(result, "CTX-INS-1", what), [*future, added], "CTX-INS-1", what)


# -- merge ------------------------------------------------------------------------------------


def expected_merge(
    items: list[dict[str, Any]],
    other: list[dict[str, Any]],
    *,
    exclude_function_call: bool,
    exclude_instructions: bool,
) -> list[dict[str, Any]]:
    """CTX-MERGE-1: each item of ``other`` whose id is absent, unless filtered out, goes to its
    insertion index, in ``other``'s order."""
    merged = list(items)
    for item in other:
        if any(i["id"] == item["id"] for i in merged):
            continue
        if exclude_function_call and item["type"] in TOOL_ITEM_TYPES:
            continue
        if exclude_instructions and item.get("role") in INSTRUCTION_ROLES:
            continue
        merged.insert(insertion_index(merged, item["created_at"]), item)
    return merged


MERGE_SELF = [SYS, U1, A2]  # created at 1, 2, 5
MERGE_OTHER = [
    msg("dev2", "developer", "Be brief.", t=0.5),
    msg("u1", "user", "a different text under a known id", t=2.0),
    A1,  # t=3
    C1,  # t=3
    O1,  # t=4
    msg("a2", "assistant", "another known id", t=5.0),
    U2,  # t=6
    msg("late", "user", "a tie with U2", t=6.0),
]


@pytest.mark.spec("CTX-MERGE-1")
@pytest.mark.capability("chat_context")
@pytest.mark.parametrize(
    ("exclude_function_call", "exclude_instructions"),
    [(False, False), (True, False), (False, True), (True, True)],
)
def test_merge_adds_absent_ids_in_time_order(
    voicewire_iut: Any, exclude_function_call: bool, exclude_instructions: bool
) -> None:
    """merge(other) adds other's absent ids at their insertion index, honouring the filters.

    An id both contexts hold is never duplicated and keeps this context's payload."""
    want = expected_merge(
        MERGE_SELF,
        MERGE_OTHER,
        exclude_function_call=exclude_function_call,
        exclude_instructions=exclude_instructions,
    )
    what = (
        f"merge(exclude_function_call={exclude_function_call}, "
        f"exclude_instructions={exclude_instructions})"
    )
    result = voicewire_iut.context(
        "merge",
        ctx_of(*MERGE_SELF),
        other=ctx_of(*MERGE_OTHER),
        exclude_function_call=exclude_function_call,
        exclude_instructions=exclude_instructions,
    )
    got = answered_items(result, "CTX-MERGE-1", what)
    got_ids = [i.get("id") for i in got]
    expect(len(set(got_ids)) == len(got_ids), "CTX-MERGE-1", f"{what}: duplicate ids {got_ids}")
    expect_items(got, want, "CTX-MERGE-1", what)


# -- copy -------------------------------------------------------------------------------------

EMPTY = {**msg("empty", "assistant", t=3.5), "content": []}
# No text, yet not empty: exclude_empty_message keeps it.
PICTURE_ONLY = {
    **msg("picture", "user", t=3.6),
    "content": [
        {
            "type": "image_content",
            "id": "img_copy",
            "image": "https://example.com/receipt.png",
            "inference_detail": "auto",
        }
    ],
}
LOOKUP_CALL = call("gen_2/fnc_0", "call_2", name="lookup_order", t=4.5)
LOOKUP_OUTPUT = output("out_2", "call_2", name="lookup_order", t=4.6)
COPY_SOURCE = [SYS, U1, A1, C1, O1, EMPTY, PICTURE_ONLY, LOOKUP_CALL, LOOKUP_OUTPUT, A2, U2]


def expected_copy(items: list[dict[str, Any]], **flags: Any) -> list[dict[str, Any]]:
    """CTX-COPY-1's filters."""
    tools = flags.get("tools")

    def kept(item: dict[str, Any]) -> bool:
        if item["type"] in TOOL_ITEM_TYPES:
            return not flags.get("exclude_function_call") and (
                tools is None or item["name"] in tools
            )
        if flags.get("exclude_instructions") and item["role"] in INSTRUCTION_ROLES:
            return False
        return not (flags.get("exclude_empty_message") and not item["content"])

    return [item for item in items if kept(item)]


@pytest.mark.spec("CTX-COPY-1")
@pytest.mark.capability("chat_context")
@pytest.mark.parametrize(
    "flags",
    [
        pytest.param({}, id="all"),
        pytest.param({"exclude_function_call": True}, id="exclude_function_call"),
        pytest.param({"exclude_instructions": True}, id="exclude_instructions"),
        pytest.param({"exclude_empty_message": True}, id="exclude_empty_message"),
        pytest.param({"tools": ["get_weather"]}, id="tools-one"),
        pytest.param({"tools": []}, id="tools-none"),
        pytest.param(
            {
                "exclude_instructions": True,
                "exclude_empty_message": True,
                "tools": ["lookup_order"],
            },
            id="combined",
        ),
    ],
)
def test_copy_filters_and_leaves_the_source_alone(
    voicewire_iut: Any, flags: dict[str, Any]
) -> None:
    """copy(...) keeps exactly the items its flags let through; the source is unchanged."""
    what = f"copy({flags})"
    result = voicewire_iut.context("copy", ctx_of(*COPY_SOURCE), **flags)
    got = answered_items(result, "CTX-COPY-1", what)
    expect_items(got, expected_copy(COPY_SOURCE, **flags), "CTX-COPY-1", what)
    expect(result.source is not None, "CTX-COPY-1", f"{what}: the IUT reported no source")
    assert result.source is not None
    source = result.source.get("items", [])
    expect_items(source, COPY_SOURCE, "CTX-COPY-1", f"{what}: the source afterwards")
    expect(
        [i.get("created_at") for i in source] == [i["created_at"] for i in COPY_SOURCE],
        "CTX-COPY-1",
        f"{what}: the source's timestamps changed: {[i.get('created_at') for i in source]}",
    )


# -- to_dict / from_dict ----------------------------------------------------------------------

DICT_CONTEXTS = [
    pytest.param(CONVERSATION, id="conversation"),
    pytest.param(
        [
            msg("dev", "developer", "Speak French.", t=10.0),
            {**msg("multi", "user", t=11.0), "content": ["first part", "", "ünïcødé ✓ \n 🎙"]},
            {**msg("cut", "assistant", "I was interr", t=12.0), "interrupted": True},
            {**call("gen_7/fnc_0", "call_7", name="lookup_order", t=13.0), "arguments": "{}"},
            {**output("out_7", "call_7", name="lookup_order", t=13.0), "is_error": True},
            output("orphan", "call_gone", t=14.0),
            call("gen_8/fnc_0", "call_8", t=15.0),
            EMPTY,
        ],
        id="flags-unicode-orphans",
    ),
    pytest.param([], id="empty"),
]


@pytest.mark.spec("CTX-DICT-1")
@pytest.mark.capability("chat_context")
@pytest.mark.parametrize("items", DICT_CONTEXTS)
def test_to_dict_from_dict_round_trip(voicewire_iut: Any, items: list[dict[str, Any]]) -> None:
    """from_dict(to_dict(ctx)) holds ctx's items: same ids, types and payloads.

    to_dict is asked for timestamps and images (exclude_timestamp=False, exclude_image=False).
    """
    dumped = voicewire_iut.context(
        "to_dict", ctx_of(*items), exclude_timestamp=False, exclude_image=False
    )
    expect(
        dumped.error is None and isinstance(dumped.value, dict),
        "CTX-DICT-1",
        f"to_dict answered {dumped.value!r:.200} (error {dumped.error})",
    )
    assert isinstance(dumped.value, dict)
    expect_items(dumped.value.get("items", []), items, "CTX-DICT-1", "to_dict(ctx)")
    loaded = answered_items(
        voicewire_iut.context("roundtrip", dumped.value), "CTX-DICT-1", "from_dict(to_dict(ctx))"
    )
    expect_items(loaded, items, "CTX-DICT-1", "from_dict(to_dict(ctx))")


# -- is_equivalent ----------------------------------------------------------------------------


def changed(items: list[dict[str, Any]], index: int, **fields: Any) -> list[dict[str, Any]]:
    """``items`` with ``fields`` replaced in the item at ``index``."""
    return [dict(item, **fields) if i == index else item for i, item in enumerate(items)]


EQ_ITEMS = [SYS, U1, A1, C1, O1, A2, U2]


_IMAGE = {
    "type": "image_content",
    "id": "img_1",
    "image": "https://example.com/paris.png",
    "inference_detail": "auto",
}


@pytest.mark.spec("CTX-EQ-1")
@pytest.mark.capability("chat_context")
@pytest.mark.parametrize(
    ("mine", "theirs", "equivalent"),
    [
        pytest.param(_IMAGE, dict(_IMAGE), True, id="same-image"),
        pytest.param(_IMAGE, {**_IMAGE, "image": "https://example.com/rome.png"}, False, id="url"),
        pytest.param(_IMAGE, {**_IMAGE, "id": "img_2"}, False, id="image-id"),
    ],
)
def test_is_equivalent_compares_image_parts(
    voicewire_iut: Any, mine: dict[str, Any], theirs: dict[str, Any], equivalent: bool
) -> None:
    """Image parts are content too: the same image is equivalent, another is not."""
    ours = changed(EQ_ITEMS, 1, content=["Where is this?", mine])
    other = changed(EQ_ITEMS, 1, content=["Where is this?", theirs])
    result = voicewire_iut.context("is_equivalent", ctx_of(*ours), other=ctx_of(*other))
    expect(
        result.error is None and result.value is equivalent,
        "CTX-EQ-1",
        f"is_equivalent with image parts {mine} and {theirs}: expected {equivalent}, got "
        f"{result.value!r} (error {result.error})",
    )


@pytest.mark.spec("CTX-EQ-1")
@pytest.mark.capability("chat_context")
def test_is_equivalent_ignores_timestamps(voicewire_iut: Any) -> None:
    """Contexts differing only in created_at are equivalent."""
    shifted = [dict(item, created_at=item["created_at"] * 7 + 1000.0) for item in EQ_ITEMS]
    result = voicewire_iut.context("is_equivalent", ctx_of(*EQ_ITEMS), other=ctx_of(*shifted))
    expect(
        result.error is None and result.value is True,
        "CTX-EQ-1",
        f"is_equivalent with shifted timestamps: expected True, got {result.value!r} "
        f"(error {result.error})",
    )


@pytest.mark.spec("CTX-EQ-1")
@pytest.mark.capability("chat_context")
@pytest.mark.parametrize(
    "other",
    [
        pytest.param(changed(EQ_ITEMS, 1, id="u1-bis"), id="message-id"),
        pytest.param(changed(EQ_ITEMS, 1, role="assistant"), id="message-role"),
        pytest.param(changed(EQ_ITEMS, 5, interrupted=True), id="message-interrupted"),
        pytest.param(changed(EQ_ITEMS, 1, content=["What's the weather in Rome?"]), id="content"),
        pytest.param(changed(EQ_ITEMS, 1, content=["What's the weather", "in Paris?"]), id="parts"),
        pytest.param(changed(EQ_ITEMS, 3, name="lookup_order"), id="call-name"),
        pytest.param(changed(EQ_ITEMS, 3, call_id="call_x"), id="call-call_id"),
        pytest.param(changed(EQ_ITEMS, 3, arguments='{"city":"Paris"}'), id="call-arguments"),
        pytest.param(changed(EQ_ITEMS, 4, name="lookup_order"), id="output-name"),
        pytest.param(changed(EQ_ITEMS, 4, call_id="call_x"), id="output-call_id"),
        pytest.param(changed(EQ_ITEMS, 4, output="rainy"), id="output-output"),
        pytest.param(changed(EQ_ITEMS, 4, is_error=True), id="output-is_error"),
        pytest.param(EQ_ITEMS[:-1], id="one-item-fewer"),
        pytest.param(changed(EQ_ITEMS, 1, content=[*U1["content"], _IMAGE]), id="image-added"),
        pytest.param([msg("u1", "user", t=2.0)], id="different-length"),
    ],
)
def test_is_equivalent_compares_payloads(voicewire_iut: Any, other: list[dict[str, Any]]) -> None:
    """Contexts differing in an id, a payload field or their length are not equivalent.

    Payload fields: message role, interrupted, content; call name, call_id, arguments; output
    name, call_id, output, is_error."""
    result = voicewire_iut.context("is_equivalent", ctx_of(*EQ_ITEMS), other=ctx_of(*other))
    expect(
        result.error is None and result.value is False,
        "CTX-EQ-1",
        f"is_equivalent with {[item_payload(i) for i in other]}: expected False, got "
        f"{result.value!r} (error {result.error})",
    )
