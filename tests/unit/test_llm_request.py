"""The reference client's request body and construction (LLM-REQ-1..4, AUTH-5)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel
from voicewire.reference.llm import ChatContext, NamedToolChoice, function_tool
from voicewire.reference.llm.inference import LLM, build_request


@function_tool
def get_weather(location: str) -> str:
    """Get the weather.

    Args:
        location: The city.
    """
    return "sunny"


def _ctx() -> ChatContext:
    ctx = ChatContext()
    ctx.add_message(role="user", content="hi")
    return ctx


def _build(**kwargs):
    options = {
        "model": "openai/gpt-4.1-mini",
        "chat_ctx": _ctx(),
        "tools": None,
        "parallel_tool_calls": None,
        "tool_choice": None,
        "response_format": None,
        "constructor_kwargs": {},
        "call_kwargs": {},
    }
    options.update(kwargs)
    return build_request(**options)


@pytest.mark.spec("LLM-REQ-1", "LLM-REQ-2", "LLM-REQ-3")
def test_without_tools_the_body_is_exactly_the_four_keys():
    body = _build(tool_choice="required", parallel_tool_calls=True)
    assert body == {
        "model": "openai/gpt-4.1-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


@pytest.mark.spec("LLM-REQ-2", "LLM-REQ-3", "LLM-REQ-4")
def test_tools_choice_and_parallel_calls_when_given():
    body = _build(
        tools=[get_weather], tool_choice=NamedToolChoice("get_weather"), parallel_tool_calls=False
    )
    assert body["tools"][0]["function"]["strict"] is True
    assert body["tools"][0]["function"]["parameters"]["additionalProperties"] is False
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert body["parallel_tool_calls"] is False
    assert "tool_choice" not in _build(tools=[get_weather])


@pytest.mark.spec("LLM-REQ-4")
def test_per_call_options_win_over_constructor_options():
    body = _build(
        constructor_kwargs={"temperature": 0.1, "seed": 7}, call_kwargs={"temperature": 0.9}
    )
    assert body["temperature"] == 0.9 and body["seed"] == 7
    # The protocol's own keys cannot be overridden by option dictionaries.
    assert _build(call_kwargs={"stream": False, "model": "x"})["stream"] is True


def test_response_format_from_a_pydantic_model():
    class Answer(BaseModel):
        text: str
        score: int | None = None

    body = _build(response_format=Answer)
    schema = body["response_format"]["json_schema"]
    assert body["response_format"]["type"] == "json_schema" and schema["strict"] is True
    assert schema["schema"]["required"] == ["text", "score"]
    with pytest.raises(TypeError, match="response_format must be"):
        _build(response_format=42)


@pytest.mark.spec("AUTH-5")
def test_credentials_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("LIVEKIT_INFERENCE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("LIVEKIT_API_KEY", "key")
    monkeypatch.setenv("LIVEKIT_API_SECRET", "s" * 32)
    llm = LLM("openai/gpt-4.1-mini")
    assert llm.base_url == "http://127.0.0.1:9/v1"
    assert llm.headers()["Authorization"].startswith("Bearer ey")
    monkeypatch.delenv("LIVEKIT_API_SECRET")
    with pytest.raises(ValueError, match="LIVEKIT_API_SECRET"):
        LLM("openai/gpt-4.1-mini")


@pytest.mark.spec("LLM-REQ-5")
def test_provider_header_only_when_set():
    plain = LLM("m", base_url="http://127.0.0.1:9", api_key="k", api_secret="s" * 32)
    assert "X-LiveKit-Inference-Provider" not in plain.headers()
    routed = LLM(
        "m", provider="openai", base_url="http://127.0.0.1:9", api_key="k", api_secret="s" * 32
    )
    assert routed.headers()["X-LiveKit-Inference-Provider"] == "openai"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"model": ""}, ValueError, "model must be a non-empty string"),
        ({"provider": ""}, ValueError, "provider must be"),
        ({"extra_kwargs": [1]}, TypeError, "extra_kwargs must be a mapping"),
        ({"time_scale": -1}, ValueError, "time_scale must be >= 0"),
        ({"time_scale": "fast"}, TypeError, "time_scale must be a number"),
    ],
)
def test_bad_constructor_arguments(kwargs, error, message):
    options = {
        "model": "m",
        "base_url": "http://127.0.0.1:9",
        "api_key": "k",
        "api_secret": "s" * 32,
    }
    options.update(kwargs)
    with pytest.raises(error, match=message):
        LLM(**options)


async def test_chat_checks_its_arguments():
    llm = LLM("m", base_url="http://127.0.0.1:9", api_key="k", api_secret="s" * 32)
    with pytest.raises(TypeError, match="chat_ctx must be a ChatContext"):
        llm.chat(chat_ctx=[])
    with pytest.raises(TypeError, match="conn_options must be APIConnectOptions"):
        llm.chat(chat_ctx=_ctx(), conn_options={"max_retry": 1})
    await llm.aclose()
