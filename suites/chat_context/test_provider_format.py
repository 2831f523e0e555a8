"""A chat context in the openai provider format (SPEC §6.3): ``to_provider_format("openai")``.

- CTX-OAI-1: calls are grouped with the assistant message of their generation (the voice
  pipeline names the message ``X`` and its calls ``X/fnc_0``, ``X/fnc_1``...; a call's
  ``group_id``, when set, names the group) into one assistant message with ``tool_calls``,
  followed by one ``tool`` message per output;
- CTX-OAI-2: an unanswered call and an orphan output are not sent;
- CTX-OAI-3: text-only content is one string (parts joined with ``\\n``); with images, a list
  of the image parts first, then one text part.

The IUT's messages are compared field by field (role, content, tool_calls' id / type / name /
arguments, tool_call_id); keys the SPEC does not name are ignored. The grouping cases accept
text content as a string or as text parts, so that only CTX-OAI-3 judges its shape.
"""

from __future__ import annotations

from typing import Any

import pytest
from voicewire.harness.verdicts import expect
from voicewire.suites.builders import function_call as call
from voicewire.suites.builders import function_call_output as output

# -- wire-format items ------------------------------------------------------------------------


def msg(id: str, role: str, *content: Any, t: float) -> dict[str, Any]:
    """A ``message`` item with these content parts (strings or image parts)."""
    return {"type": "message", "id": id, "role": role, "content": list(content), "created_at": t}


def image(id: str, url: str) -> dict[str, Any]:
    """An image content part, as ``to_dict(exclude_image=False)`` writes it."""
    return {"type": "image_content", "id": id, "image": url, "inference_detail": "auto"}


# -- expected openai messages -----------------------------------------------------------------


def text(role: str, content: str) -> dict[str, Any]:
    """A text-only openai message."""
    return {"role": role, "content": content}


def assistant_calls(content: str | None, *call_ids: str) -> dict[str, Any]:
    """An assistant message with these (get_weather) calls, as :func:`call` builds them."""
    message: dict[str, Any] = {
        "role": "assistant",
        "tool_calls": [
            {
                "id": call_id,
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "arguments": f'{{"city": "Paris", "n": "{call_id}"}}',
                },
            }
            for call_id in call_ids
        ],
    }
    if content is not None:
        message["content"] = content
    return message


def tool(call_id: str) -> dict[str, Any]:
    """The tool message answering :func:`call` ``call_id`` with :func:`output`'s output."""
    return {"role": "tool", "tool_call_id": call_id, "content": f"result of {call_id}"}


def image_part(url: str) -> dict[str, Any]:
    """An openai image content part (``detail`` is not compared)."""
    return {"type": "image_url", "image_url": {"url": url}}


def text_part(content: str) -> dict[str, Any]:
    """An openai text content part."""
    return {"type": "text", "text": content}


def _part(part: Any) -> Any:
    if not isinstance(part, dict):
        return ("?", part)
    if part.get("type") == "text":
        return ("text", part.get("text"))
    if part.get("type") == "image_url":
        url = part.get("image_url")
        return ("image_url", url.get("url") if isinstance(url, dict) else url)
    return (part.get("type"), part)


def normalized(message: Any, *, text_parts_as_string: bool) -> Any:
    """The fields of one openai message the SPEC names, in a comparable form.

    An assistant message with tool calls and no text may omit ``content`` or send null or "".
    With ``text_parts_as_string``, content made only of text parts counts as their joined text
    (the grouping cases leave the content shape to CTX-OAI-3).
    """
    if not isinstance(message, dict):
        return ("not a message", message)
    content = message.get("content")
    if isinstance(content, list):
        parts = [_part(p) for p in content]
        if text_parts_as_string and all(p[0] == "text" for p in parts):
            content = "\n".join(str(p[1]) for p in parts)
        else:
            content = tuple(parts)
    calls = tuple(
        (
            c.get("id"),
            c.get("type"),
            (c.get("function") or {}).get("name"),
            (c.get("function") or {}).get("arguments"),
        )
        if isinstance(c, dict)
        else ("not a call", c)
        for c in message.get("tool_calls") or []
    )
    if calls and content in (None, "", ()):
        content = None
    return (message.get("role"), content, calls, message.get("tool_call_id"))


def expect_messages(
    voicewire_iut: Any,
    items: list[dict[str, Any]],
    want: list[dict[str, Any]],
    rule: str,
    *,
    text_parts_as_string: bool = True,
) -> None:
    """``to_provider_format("openai")`` of ``items`` is ``want`` (per :func:`normalized`)."""
    result = voicewire_iut.context("to_provider_format", {"items": items}, format="openai")
    expect(
        result.error is None and isinstance(result.value, list),
        rule,
        f"to_provider_format answered {result.value!r:.300} (error {result.error})",
    )
    got = [normalized(m, text_parts_as_string=text_parts_as_string) for m in result.value]
    expected = [normalized(m, text_parts_as_string=text_parts_as_string) for m in want]
    expect(
        got == expected,
        rule,
        f"openai messages of {[i['id'] for i in items]}:\n  expected {want}\n"
        f"  got      {result.value}",
    )


SYS = msg("sys", "system", "You are a helpful voice agent.", t=1.0)
U1 = msg("u1", "user", "Weather in Paris and Rome?", t=2.0)
U2 = msg("u2", "user", "Thanks!", t=9.0)


# -- CTX-OAI-1 --------------------------------------------------------------------------------

GROUPINGS = [
    pytest.param(
        [
            SYS,
            U1,
            msg("gen_1", "assistant", "Let me check.", t=3.0),
            call("gen_1/fnc_0", "call_a", t=3.0),
            call("gen_1/fnc_1", "call_b", t=3.0),
            output("out_a", "call_a", t=4.0),
            output("out_b", "call_b", t=4.0),
            msg("a2", "assistant", "Sunny in both.", t=5.0),
            U2,
        ],
        [
            text("system", "You are a helpful voice agent."),
            text("user", "Weather in Paris and Rome?"),
            assistant_calls("Let me check.", "call_a", "call_b"),
            tool("call_a"),
            tool("call_b"),
            text("assistant", "Sunny in both."),
            text("user", "Thanks!"),
        ],
        id="message-and-calls-by-generation-id",
    ),
    pytest.param(
        [
            U1,
            call("gen_2/fnc_0", "call_c", t=3.0),
            output("out_c", "call_c", t=4.0),
            msg("a2", "assistant", "Done.", t=5.0),
        ],
        [
            text("user", "Weather in Paris and Rome?"),
            assistant_calls(None, "call_c"),
            tool("call_c"),
            text("assistant", "Done."),
        ],
        id="calls-without-a-message",
    ),
    pytest.param(
        [
            U1,
            msg("reply_7", "assistant", "One moment.", t=3.0),
            call("item_x1", "call_d", t=3.0, group_id="reply_7"),
            output("out_d", "call_d", t=4.0),
        ],
        [
            text("user", "Weather in Paris and Rome?"),
            assistant_calls("One moment.", "call_d"),
            tool("call_d"),
        ],
        id="group-id",
    ),
    pytest.param(
        [
            U1,
            msg("gen_3", "assistant", "First.", t=3.0),
            call("gen_3/fnc_0", "call_e", t=3.0),
            output("out_e", "call_e", t=4.0),
            msg("gen_4", "assistant", "Second.", t=5.0),
            call("gen_4/fnc_0", "call_f", t=5.0),
            output("out_f", "call_f", t=6.0),
        ],
        [
            text("user", "Weather in Paris and Rome?"),
            assistant_calls("First.", "call_e"),
            tool("call_e"),
            assistant_calls("Second.", "call_f"),
            tool("call_f"),
        ],
        id="two-generations",
    ),
]


@pytest.mark.spec("CTX-OAI-1")
@pytest.mark.capability("chat_context")
@pytest.mark.parametrize(("items", "want"), GROUPINGS)
def test_calls_are_grouped_with_their_assistant_message(
    voicewire_iut: Any, items: list[dict[str, Any]], want: list[dict[str, Any]]
) -> None:
    """A generation's message and calls become one assistant message with tool_calls.

    One tool message per output follows it."""
    expect_messages(voicewire_iut, items, want, "CTX-OAI-1")


# -- CTX-OAI-2 --------------------------------------------------------------------------------

UNPAIRED = [
    pytest.param(
        [
            U1,
            msg("gen_1", "assistant", "Let me check.", t=3.0),
            call("gen_1/fnc_0", "call_a", t=3.0),
            call("gen_1/fnc_1", "call_running", t=3.0),
            output("out_a", "call_a", t=4.0),
            U2,
        ],
        [
            text("user", "Weather in Paris and Rome?"),
            assistant_calls("Let me check.", "call_a"),
            tool("call_a"),
            text("user", "Thanks!"),
        ],
        id="one-call-unanswered",
    ),
    pytest.param(
        [U1, call("gen_2/fnc_0", "call_running", t=3.0), U2],
        [text("user", "Weather in Paris and Rome?"), text("user", "Thanks!")],
        id="only-call-unanswered",
    ),
    pytest.param(
        [
            U1,
            msg("gen_3", "assistant", "Checking.", t=3.0),
            call("gen_3/fnc_0", "call_running", t=3.0),
        ],
        [text("user", "Weather in Paris and Rome?"), text("assistant", "Checking.")],
        id="message-keeps-its-text",
    ),
    pytest.param(
        [U1, output("orphan", "call_truncated_away", t=3.0), U2],
        [text("user", "Weather in Paris and Rome?"), text("user", "Thanks!")],
        id="orphan-output",
    ),
]


@pytest.mark.spec("CTX-OAI-2")
@pytest.mark.capability("chat_context")
@pytest.mark.parametrize(("items", "want"), UNPAIRED)
def test_unpaired_calls_and_outputs_are_not_sent(
    voicewire_iut: Any, items: list[dict[str, Any]], want: list[dict[str, Any]]
) -> None:
    """A call without its output and an output without its call are left out."""
    expect_messages(voicewire_iut, items, want, "CTX-OAI-2")


# -- CTX-OAI-3 --------------------------------------------------------------------------------

# A 1x1 PNG: data URLs must carry a real image of an accepted type.
PIXEL = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGA"
    "WjR9awAAAABJRU5ErkJggg=="
)
CAT = "https://example.com/cat.jpg"


@pytest.mark.spec("CTX-OAI-3")
@pytest.mark.capability("chat_context")
@pytest.mark.parametrize(
    ("content", "want"),
    [
        pytest.param(["Hello"], "Hello", id="one-part"),
        pytest.param(["Hello", "world"], "Hello\nworld", id="parts-joined"),
        pytest.param(["a", "", "b\nc"], "a\n\nb\nc", id="empty-and-multiline-parts"),
        pytest.param(
            ["What is this?", image("img_1", CAT)],
            [image_part(CAT), text_part("What is this?")],
            id="image-first",
        ),
        pytest.param(
            ["Compare", image("img_1", CAT), "with", image("img_2", PIXEL)],
            [image_part(CAT), image_part(PIXEL), text_part("Compare\nwith")],
            id="images-first-then-one-text",
        ),
    ],
)
def test_content_shape(voicewire_iut: Any, content: list[Any], want: Any) -> None:
    """Text-only content is one "\\n"-joined string; with images: images first, then text.

    The text after the images is one text part."""
    items = [msg("u1", "user", *content, t=1.0)]
    expect_messages(
        voicewire_iut,
        items,
        [{"role": "user", "content": want}],
        "CTX-OAI-3",
        text_parts_as_string=False,
    )
