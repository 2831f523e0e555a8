"""Chat context: SPEC §6.1 and §6.2 (truncate, insert, merge, copy, dict round trip, equality)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st
from voicewire.reference.audio import AudioFrame, sine
from voicewire.reference.llm import (
    AudioContent,
    ChatContext,
    ChatContextValidationError,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
    ImageContent,
    ReadOnlyChatContextError,
)
from voicewire.suites.strategies import chat_contexts

PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def ids(ctx: ChatContext) -> list[str]:
    return [item.id for item in ctx.items]


def is_tool_item(item: object) -> bool:
    return getattr(item, "type", None) in ("function_call", "function_call_output")


def first_instructions(ctx: ChatContext) -> ChatMessage | None:
    return next(
        (
            item
            for item in ctx.items
            if item.type == "message" and item.role in ("system", "developer")
        ),
        None,
    )


# -- truncate ---------------------------------------------------------------------------------


@pytest.mark.spec("CTX-TRUNC-1")
@given(chat_contexts(), st.integers(0, 6))
def test_truncate_under_the_limit_changes_nothing(ctx, slack):
    before = ids(ctx)
    result = ctx.truncate(max_items=len(before) + slack)
    assert result is ctx
    assert ids(ctx) == before


@pytest.mark.spec("CTX-TRUNC-2", "CTX-TRUNC-3", "CTX-TRUNC-4")
@given(chat_contexts(max_turns=14), st.data())
def test_truncate_keeps_a_clean_suffix_and_the_instructions(ctx, data):
    by_id = {item.id: item for item in ctx.items}
    original = ids(ctx)
    max_items = data.draw(st.integers(0, max(len(original) - 1, 0)), label="max_items")
    instructions = first_instructions(ctx)
    ctx.truncate(max_items=max_items)
    result = ids(ctx)

    # No id twice, relative order preserved, at most one item over the limit.
    assert len(set(result)) == len(result)
    positions = [original.index(i) for i in result]
    assert positions == sorted(positions)
    assert len(result) <= max_items + 1

    tail = original[len(original) - max_items :] if max_items else []
    reinserted = instructions is not None and instructions.id not in tail
    if instructions is not None:
        assert result.count(instructions.id) == 1
    if reinserted:
        assert result[0] == instructions.id
    window = result[1:] if reinserted else result
    # The rest is a suffix of the last max_items items; only function calls/outputs were cut
    # from its front, and it does not start with one.
    assert window == tail[len(tail) - len(window) :]
    assert all(is_tool_item(by_id[i]) for i in tail[: len(tail) - len(window)])
    assert not window or not is_tool_item(by_id[window[0]])


@pytest.mark.spec("CTX-TRUNC-2", "CTX-TRUNC-4")
@given(chat_contexts(max_turns=14), st.data())
def test_truncate_matches_the_spec_formula(ctx, data):
    items = list(ctx.items)
    max_items = data.draw(st.integers(0, len(items) + 1), label="max_items")
    instructions = first_instructions(ctx)
    ctx.truncate(max_items=max_items)
    if len(items) <= max_items:
        assert ctx.items == items
        return
    window = items[len(items) - max_items :] if max_items else []
    while window and is_tool_item(window[0]):
        window.pop(0)
    if instructions is not None and instructions not in window:
        window.insert(0, instructions)
    assert [item.id for item in ctx.items] == [item.id for item in window]


@pytest.mark.spec("CTX-TRUNC-5")
@given(chat_contexts(max_turns=14), st.integers(0, 20))
def test_truncate_is_idempotent(ctx, max_items):
    once = ids(ctx.truncate(max_items=max_items))
    assert ids(ctx.truncate(max_items=max_items)) == once


@pytest.mark.spec("CTX-TRUNC-6")
@given(chat_contexts(max_turns=6))
def test_truncate_to_zero_keeps_only_the_instructions(ctx):
    instructions = first_instructions(ctx)
    had_items = len(ctx) > 0
    ctx.truncate(max_items=0)
    if instructions is not None:
        assert ids(ctx) == [instructions.id]
    else:
        assert ids(ctx) == [] or not had_items


@pytest.mark.spec("CTX-TRUNC-6")
@pytest.mark.parametrize("bad", [-1, -100])
def test_truncate_rejects_negative_limits(bad):
    ctx = ChatContext()
    ctx.add_message(role="user", content="hi")
    with pytest.raises(ValueError, match="max_items must be >= 0"):
        ctx.truncate(max_items=bad)


@pytest.mark.parametrize("bad", [1.5, "3", True, None])
def test_truncate_rejects_non_int_limits(bad):
    with pytest.raises(TypeError, match="max_items must be an int"):
        ChatContext().truncate(max_items=bad)


@pytest.mark.spec("CTX-TRUNC-2", "CTX-TRUNC-3")
def test_truncate_keeps_developer_instructions_and_never_duplicates_system():
    # Upstream 1.3.x dropped developer messages and duplicated the system message (#4843).
    ctx = ChatContext()
    dev = ctx.add_message(role="developer", content="be brief")
    for n in range(5):
        ctx.add_message(role="user", content=f"q{n}")
    ctx.truncate(max_items=2)
    assert ids(ctx) == [dev.id, *ids(ctx)[1:]] and len(ctx) == 3

    ctx = ChatContext()
    system = ctx.add_message(role="system", content="rules")
    ctx.add_message(role="user", content="q")
    ctx.add_message(role="assistant", content="a")
    ctx.truncate(max_items=3 - 1)
    assert [item.id for item in ctx.items].count(system.id) == 1


@pytest.mark.spec("CTX-TRUNC-4")
def test_truncate_drops_leading_calls_and_outputs():
    ctx = ChatContext()
    ctx.add_message(role="user", content="weather?")
    ctx.insert(FunctionCall(call_id="c1", name="get_weather", arguments="{}"))
    ctx.insert(FunctionCallOutput(call_id="c1", name="get_weather", output="sunny"))
    answer = ctx.add_message(role="assistant", content="It is sunny.")
    ctx.truncate(max_items=2)
    assert ids(ctx) == [answer.id]


# -- insert / add_message --------------------------------------------------------------------


@pytest.mark.spec("CTX-INS-1")
def test_equal_timestamps_keep_arrival_order():
    ctx = ChatContext()
    a = ctx.add_message(role="user", content="a", created_at=10.0)
    b = ctx.add_message(role="assistant", content="b", created_at=10.0)
    c = ctx.add_message(role="user", content="c", created_at=5.0)
    d = ctx.add_message(role="user", content="d", created_at=10.0)
    late = ctx.add_message(role="user", content="appended")  # no created_at: appended
    ctx.insert(ChatMessage(id="e", role="user", content="e", created_at=7.0))
    assert ids(ctx) == [c.id, "e", a.id, b.id, d.id, late.id]


@pytest.mark.spec("CTX-INS-1")
@given(chat_contexts(), st.lists(st.floats(1_699_999_990, 1_700_000_100), max_size=6))
def test_insert_keeps_timestamps_sorted_and_ties_stable(ctx, times):
    for n, t in enumerate(times):
        ctx.insert(ChatMessage(id=f"new_{n}", role="user", content="x", created_at=t))
    stamps = [item.created_at for item in ctx.items]
    assert stamps == sorted(stamps)
    new_ids = [i for i in ids(ctx) if i.startswith("new_")]
    # Among inserted items with the same time, the earlier insert comes first.
    for t in set(times):
        same = [f"new_{n}" for n, tt in enumerate(times) if tt == t]
        assert [i for i in new_ids if i in same] == same


def test_find_insertion_index():
    ctx = ChatContext(
        [ChatMessage(role="user", content=str(t), created_at=t) for t in (1, 2, 2, 3)]
    )
    assert ctx.find_insertion_index(created_at=0) == 0
    assert ctx.find_insertion_index(created_at=2) == 3
    assert ctx.find_insertion_index(created_at=2.5) == 3
    assert ctx.find_insertion_index(created_at=9) == 4


# -- merge -----------------------------------------------------------------------------------


@pytest.mark.spec("CTX-MERGE-1")
@given(chat_contexts(), chat_contexts(), st.data())
def test_merge_never_duplicates_ids(a, b, data):
    # Share some items, as when an agent merges an updated copy back.
    shared = (
        data.draw(st.lists(st.sampled_from(a.items), unique_by=id), label="shared")
        if a.items
        else []
    )
    other = ChatContext([*shared, *(i for i in b.items if a.get_by_id(i.id) is None)])
    before = set(ids(a))
    a.merge(other)
    merged = ids(a)
    assert len(merged) == len(set(merged))
    assert set(merged) == before | set(ids(other))
    stamps = [item.created_at for item in a.items]
    assert stamps == sorted(stamps)


@pytest.mark.spec("CTX-MERGE-1")
def test_merge_honours_exclusions():
    base = ChatContext()
    base.add_message(role="user", content="hi", created_at=1)
    other = ChatContext(
        [
            ChatMessage(role="system", content="rules", created_at=0.5),
            FunctionCall(call_id="c", name="f", arguments="{}", created_at=2),
            FunctionCallOutput(call_id="c", name="f", output="ok", created_at=3),
            ChatMessage(role="assistant", content="done", created_at=4),
        ]
    )
    base.merge(other, exclude_function_call=True, exclude_instructions=True)
    assert [item.type for item in base.items] == ["message", "message"]
    assert [item.text_content for item in base.items] == ["hi", "done"]
    with pytest.raises(TypeError, match="other must be a ChatContext"):
        base.merge([])


# -- copy ------------------------------------------------------------------------------------


@pytest.mark.spec("CTX-COPY-1")
@given(
    chat_contexts(),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.none() | st.lists(st.sampled_from(["get_weather", "end_call", "nope"])),
)
def test_copy_filters_and_never_mutates_the_source(ctx, no_calls, no_instr, no_empty, tools):
    before = ctx.to_dict(exclude_timestamp=False)
    copied = ctx.copy(
        exclude_function_call=no_calls,
        exclude_instructions=no_instr,
        exclude_empty_message=no_empty,
        tools=tools,
    )
    assert ctx.to_dict(exclude_timestamp=False) == before
    expected = []
    for item in ctx.items:
        if item.type != "message":
            if no_calls or (tools is not None and item.name not in tools):
                continue
        elif (no_instr and item.role in ("system", "developer")) or (no_empty and not item.content):
            continue
        expected.append(item.id)
    assert ids(copied) == expected
    copied.add_message(role="user", content="only in the copy")
    assert ctx.to_dict(exclude_timestamp=False) == before


def test_copy_accepts_tool_objects_and_rejects_nonsense():
    class Tool:
        name = "get_weather"

    ctx = ChatContext(
        [
            FunctionCall(call_id="a", name="get_weather", arguments="{}"),
            FunctionCall(call_id="b", name="end_call", arguments="{}"),
        ]
    )
    assert [i.call_id for i in ctx.copy(tools=[Tool()]).items] == ["a"]
    with pytest.raises(TypeError, match="tools must hold tool names"):
        ctx.copy(tools=[42])


# -- dict round trip, equivalence -------------------------------------------------------------


@pytest.mark.spec("CTX-DICT-1")
@given(chat_contexts(max_turns=14))
def test_dict_round_trip_is_equivalent(ctx):
    data = ctx.to_dict(exclude_timestamp=False, exclude_image=False)
    again = ChatContext.from_dict(data)
    assert again.is_equivalent(ctx)
    assert [i.created_at for i in again.items] == [i.created_at for i in ctx.items]


@pytest.mark.spec("CTX-DICT-1")
def test_dict_round_trip_keeps_images_and_audio_when_asked():
    frame = sine(440, 0.02, sample_rate=8000)
    ctx = ChatContext()
    ctx.add_message(
        role="user",
        content=[
            "look",
            ImageContent.from_bytes(PNG_1PX, mime_type="image/png", inference_detail="low"),
            ImageContent(image="https://example.com/cat.jpg"),
            AudioContent(frame=[frame], transcript="look"),
        ],
    )
    full = ChatContext.from_dict(
        ctx.to_dict(exclude_image=False, exclude_audio=False, exclude_timestamp=False)
    )
    assert full.is_equivalent(ctx)
    restored = full.items[0].content[3].frame[0]
    assert isinstance(restored, AudioFrame) and restored == frame

    default = ctx.to_dict()
    assert default["items"][0]["content"] == ["look"]
    assert "created_at" not in default["items"][0]


@pytest.mark.spec("CTX-EQ-1")
def test_equivalence_ignores_timestamps_but_not_payloads():
    a = ChatContext([ChatMessage(id="m", role="user", content="hi", created_at=1)])
    b = ChatContext([ChatMessage(id="m", role="user", content="hi", created_at=99)])
    assert a.is_equivalent(b)
    for changed in (
        ChatMessage(id="m", role="assistant", content="hi"),
        ChatMessage(id="m", role="user", content="hi", interrupted=True),
        ChatMessage(id="m", role="user", content="ho"),
        ChatMessage(id="other", role="user", content="hi"),
    ):
        assert not a.is_equivalent(ChatContext([changed]))
    call = FunctionCall(id="f", call_id="c", name="n", arguments="{}")
    out = FunctionCallOutput(id="o", call_id="c", name="n", output="x")
    base = ChatContext([call, out])
    assert base.is_equivalent(ChatContext([call.model_copy(update={"created_at": 5}), out]))
    assert not base.is_equivalent(ChatContext([call.model_copy(update={"arguments": "{ }"}), out]))
    assert not base.is_equivalent(ChatContext([call, out.model_copy(update={"is_error": True})]))
    assert not base.is_equivalent(ChatContext([call]))


@pytest.mark.parametrize(
    ("data", "path", "problem"),
    [
        ([], "<root>", "expected an object"),
        ({}, "items", "missing"),
        ({"items": {}}, "items", "must be a list"),
        (
            {"items": [{"type": "message", "role": "robot", "content": []}]},
            "items[0].role",
            "Input should be",
        ),
        ({"items": [{"type": "nope"}]}, "items[0]", "does not match any of the expected tags"),
        (
            {"items": [{"type": "message", "role": "user", "content": ["ok", 3]}]},
            "items[0].content[1]",
            "",
        ),
        (
            {"items": [{"type": "function_call", "call_id": "c", "name": "f"}]},
            "items[0].arguments",
            "Field required",
        ),
        (
            {
                "items": [
                    {"type": "message", "role": "user", "content": []},
                    {
                        "type": "message",
                        "role": "user",
                        "content": [
                            {"type": "image_content", "image": "data:image/bmp;base64,AA=="}
                        ],
                    },
                ]
            },
            "items[1].content[0].image",
            "mime type",
        ),
    ],
)
def test_from_dict_names_the_path_of_the_bad_field(data, path, problem):
    with pytest.raises(ChatContextValidationError) as info:
        ChatContext.from_dict(data)
    paths = [p for p, _ in info.value.errors]
    assert path in paths, paths
    assert any(problem in msg for p, msg in info.value.errors if p == path)
    assert path in str(info.value)


# -- construction, lookup, read-only view ------------------------------------------------------


def test_items_have_ids_and_timestamps():
    message = ChatMessage(role="user", content="hi")
    assert message.id.startswith("item_") and message.created_at > 0
    assert message.content == ["hi"] and message.text_content == "hi"
    assert ChatMessage(role="user", content=["a", "b"]).text_content == "a\nb"
    assert ChatMessage(role="user").text_content is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"role": "robot"}, "role"),
        ({"role": "user", "interrupted": "yes"}, "interrupted"),
        ({"role": "user", "content": [3]}, "content"),
        ({"role": "user", "id": 7}, "id"),
    ],
)
def test_bad_message_fields_are_value_errors_naming_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        ChatMessage(**kwargs)


def test_bad_images_are_rejected_at_construction():
    with pytest.raises(ValueError, match="not valid base64"):
        ImageContent(image="data:image/png;base64,@@@")
    with pytest.raises(ValueError, match="must be base64-encoded"):
        ImageContent(image="data:image/png,rawdata")
    with pytest.raises(ValueError, match="mime_type must be one of"):
        ImageContent.from_bytes(b"x", mime_type="image/tiff")
    with pytest.raises(ValueError, match="image"):
        ImageContent(image="")


def test_context_rejects_non_items():
    with pytest.raises(TypeError, match=r"items\[1\] must be a ChatMessage"):
        ChatContext([ChatMessage(role="user"), {"type": "message"}])


def test_lookup_by_id():
    ctx = ChatContext()
    a = ctx.add_message(role="user", content="a")
    b = ctx.add_message(role="assistant", content="b", id="fixed")
    assert ctx.get_by_id("fixed") is b and ctx.index_by_id(a.id) == 0
    assert ctx.get_by_id("missing") is None and ctx.index_by_id("missing") is None


def test_readonly_view_reflects_the_source_and_refuses_changes():
    ctx = ChatContext()
    ctx.add_message(role="user", content="a")
    view = ctx.readonly()
    ctx.add_message(role="assistant", content="b")
    assert len(view) == 2 and view.items[1].text_content == "b"
    for attempt in (
        lambda: view.add_message(role="user", content="x"),
        lambda: view.insert(ChatMessage(role="user")),
        lambda: view.truncate(max_items=1),
        lambda: view.merge(ChatContext()),
        lambda: view.items.append(ChatMessage(role="user")),
        lambda: view.items.pop(),
        lambda: view.items.__setitem__(0, ChatMessage(role="user")),
    ):
        with pytest.raises(ReadOnlyChatContextError, match="read-only"):
            attempt()
    writable = view.copy()
    writable.add_message(role="user", content="c")
    assert len(ctx) == 2 and len(writable) == 3
    assert view.to_provider_format() == ctx.to_provider_format()
