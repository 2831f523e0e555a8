"""The openai provider format of a chat context: SPEC §6.3 (CTX-OAI-1..3)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st
from voicewire.reference.audio import sine
from voicewire.reference.llm import (
    AudioContent,
    ChatContext,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
    ImageContent,
)
from voicewire.suites.strategies import chat_contexts

JPEG_BYTES = b"\xff\xd8\xff\xe0fake-jpeg-payload"


def assert_every_call_is_answered(messages: list[dict]) -> None:
    """An assistant tool_calls entry is always followed by its tool messages, and a tool
    message always answers a call of the assistant message just before it."""
    i = 0
    while i < len(messages):
        message = messages[i]
        assert message["role"] != "tool", f"tool message without a call at {i}: {message}"
        calls = message.get("tool_calls")
        if calls:
            assert message["role"] == "assistant"
            replies = messages[i + 1 : i + 1 + len(calls)]
            assert [r["role"] for r in replies] == ["tool"] * len(calls), messages
            assert [r["tool_call_id"] for r in replies] == [c["id"] for c in calls]
            i += len(calls)
        i += 1


@pytest.mark.spec("CTX-OAI-1")
def test_calls_are_grouped_with_their_assistant_message():
    ctx = ChatContext(
        [
            ChatMessage(role="system", content="Be helpful."),
            ChatMessage(role="user", content="Weather in Paris and Tokyo?"),
            ChatMessage(id="gen_1", role="assistant", content="Let me check."),
            FunctionCall(id="gen_1/fnc_0", call_id="A", name="get_weather", arguments='{"c":"P"}'),
            FunctionCall(id="gen_1/fnc_1", call_id="B", name="get_weather", arguments='{"c":"T"}'),
            FunctionCallOutput(call_id="A", name="get_weather", output="sunny"),
            FunctionCallOutput(call_id="B", name="get_weather", output="rain"),
            ChatMessage(role="assistant", content="Sunny in Paris, rain in Tokyo."),
        ]
    )
    assert ctx.to_provider_format() == [
        {"role": "system", "content": "Be helpful."},
        {"role": "user", "content": "Weather in Paris and Tokyo?"},
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                {
                    "id": "A",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"c":"P"}'},
                },
                {
                    "id": "B",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"c":"T"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "A", "content": "sunny"},
        {"role": "tool", "tool_call_id": "B", "content": "rain"},
        {"role": "assistant", "content": "Sunny in Paris, rain in Tokyo."},
    ]


@pytest.mark.spec("CTX-OAI-1")
def test_calls_without_a_message_become_an_assistant_message_and_group_id_wins():
    ctx = ChatContext(
        [
            FunctionCall(id="x", group_id="turn", call_id="A", name="f", arguments="{}"),
            FunctionCall(id="y", group_id="turn", call_id="B", name="g", arguments="{}"),
            FunctionCallOutput(call_id="B", name="g", output="2"),
            FunctionCallOutput(call_id="A", name="f", output="1"),
        ]
    )
    messages = ctx.to_provider_format()
    assert messages[0] == {
        "role": "assistant",
        "tool_calls": [
            {"id": "A", "type": "function", "function": {"name": "f", "arguments": "{}"}},
            {"id": "B", "type": "function", "function": {"name": "g", "arguments": "{}"}},
        ],
    }
    assert [m["tool_call_id"] for m in messages[1:]] == ["A", "B"]


@pytest.mark.spec("CTX-OAI-2")
def test_unanswered_calls_and_orphan_outputs_are_not_sent():
    ctx = ChatContext(
        [
            ChatMessage(role="user", content="go"),
            ChatMessage(id="g", role="assistant", content="working"),
            FunctionCall(id="g/fnc_0", call_id="done", name="f", arguments="{}"),
            FunctionCall(id="g/fnc_1", call_id="running", name="f", arguments="{}"),
            FunctionCallOutput(call_id="done", name="f", output="ok"),
            FunctionCallOutput(call_id="done", name="f", output="second answer, ignored"),
            FunctionCallOutput(call_id="ghost", name="f", output="orphan"),
            FunctionCall(id="h/fnc_0", call_id="lonely", name="f", arguments="{}"),
        ]
    )
    assert ctx.to_provider_format() == [
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": "working",
            "tool_calls": [
                {"id": "done", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "done", "content": "ok"},
    ]


@pytest.mark.spec("CTX-OAI-2")
@given(chat_contexts(max_turns=14))
def test_no_assistant_tool_call_is_ever_sent_without_its_tool_message(ctx):
    assert_every_call_is_answered(ctx.to_provider_format())


@pytest.mark.spec("CTX-OAI-2", "CTX-TRUNC-4")
@given(chat_contexts(max_turns=14), st.integers(0, 12))
def test_truncated_contexts_still_format_cleanly(ctx, max_items):
    assert_every_call_is_answered(ctx.truncate(max_items=max_items).to_provider_format())


@pytest.mark.spec("CTX-OAI-3")
def test_text_only_content_is_one_string_joined_by_newlines():
    ctx = ChatContext([ChatMessage(role="user", content=["line one", "line two"])])
    assert ctx.to_provider_format() == [{"role": "user", "content": "line one\nline two"}]


@pytest.mark.spec("CTX-OAI-3")
def test_images_come_first_then_one_text_part_and_audio_is_dropped():
    data_image = ImageContent.from_bytes(
        JPEG_BYTES, mime_type="image/jpeg", inference_detail="high"
    )
    ctx = ChatContext(
        [
            ChatMessage(
                role="user",
                content=[
                    "what is",
                    data_image,
                    "in these pictures?",
                    ImageContent(image="https://example.com/a.png"),
                    AudioContent(frame=[sine(300, 0.01, sample_rate=8000)], transcript="hm"),
                ],
            )
        ]
    )
    encoded = base64.b64encode(JPEG_BYTES).decode()
    assert ctx.to_provider_format() == [
        {
            "role": "user",
            "content": [
                {
                    "type": "image_url",
                    "image_url": {"url": f"data:image/jpeg;base64,{encoded}", "detail": "high"},
                },
                {
                    "type": "image_url",
                    "image_url": {"url": "https://example.com/a.png", "detail": "auto"},
                },
                {"type": "text", "text": "what is\nin these pictures?"},
            ],
        }
    ]


@pytest.mark.spec("CTX-OAI-3")
def test_image_only_message_has_no_empty_text_part():
    ctx = ChatContext(
        [ChatMessage(role="user", content=[ImageContent(image="https://x.test/i.gif")])]
    )
    assert ctx.to_provider_format()[0]["content"] == [
        {"type": "image_url", "image_url": {"url": "https://x.test/i.gif", "detail": "auto"}}
    ]


def test_unknown_provider_format_is_rejected():
    with pytest.raises(ValueError, match="format must be 'openai'"):
        ChatContext().to_provider_format("anthropic")
