"""LLM client conformance: the chat completion request (SPEC §2.1, client side of §1.1).

Every case drives one ``chat()`` against the embedded simulator and reads the request as it
arrived (``voicewire_simulator.requests``): the body the client sent and its headers. The
simulator journals the ``Authorization`` header redacted, and beside it the claims of the
token it verified and a fingerprint of the token (never the token): AUTH-1 is checked as far
as the verifier sees it (an HS256 bearer token signed with the session's secret), AUTH-2 on
the claims, AUTH-3 on two ``chat()`` calls of one LLM more than a second apart (tokens minted
within the same second may be identical byte for byte, so only a later second can tell a fresh
token from a reused one).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from voicewire.harness.driver import IUTDriver
from voicewire.harness.llm import ChatOutcome, ConnOptions, LLMTarget, ToolSpec
from voicewire.harness.runtime import CaseSimulator
from voicewire.harness.verdicts import expect, require
from voicewire.suites.builders import message, user_context

# One attempt, short timeout: a request case is about the first request; a retry would only
# add a second copy of it (and seconds of waiting when the IUT misbehaves).
ONE_ATTEMPT = ConnOptions(max_retry=0, retry_interval=0.0, timeout=5.0)

WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    parameters={
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "when": {
                "type": "object",
                "properties": {
                    "day": {"type": "string"},
                    "hours": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"from": {"type": "integer"}, "to": {"type": "integer"}},
                            "required": ["from"],
                        },
                    },
                },
                "required": ["day"],
            },
        },
        "required": ["city"],
    },
)
END_CALL = ToolSpec(name="end_call", description="Hang up.")


class RequestNotSeen(RuntimeError):
    """The simulator saw no request from the session, so the request cannot be checked."""


def sent_request(
    iut: IUTDriver, simulator: CaseSimulator, target: LLMTarget | None = None, **chat: Any
) -> tuple[dict[str, Any], ChatOutcome]:
    """Run one ``chat()`` against a fresh echo session and return the first request that
    reached the simulator (``{method, path, headers, body}``) and the outcome."""
    if target is None:
        target = simulator.session()
    chat.setdefault("chat_ctx", user_context("Hello"))
    chat.setdefault("conn_options", ONE_ATTEMPT)
    outcome = iut.chat(llm=target, **chat)
    requests = simulator.requests(target)
    if not requests:
        # Nothing to judge (a refused token lands outside the session's journal): the AUTH
        # case names that failure; here it is an ERROR, not a violation of the case's rule.
        raise RequestNotSeen(
            "the simulator recorded no request for this session; the client failed before "
            f"sending one or its token was refused:\n{outcome.describe()}"
        )
    return requests[0], outcome


def header(request: dict[str, Any], name: str) -> str | None:
    """A request header's value, looked up case-insensitively (HTTP header names are)."""
    wanted = name.lower()
    for key, value in request["headers"].items():
        if key.lower() == wanted:
            return value
    return None


def tools_of(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The request's tools by function name."""
    return {tool.get("function", {}).get("name"): tool for tool in body.get("tools") or []}


def not_strict_objects(schema: Any, path: str = "parameters") -> list[str]:
    """Paths of the object schemas in ``schema`` that break OpenAI strict mode: without
    ``additionalProperties: false``, or with a property missing from ``required``."""
    problems: list[str] = []
    if isinstance(schema, dict):
        is_object = schema.get("type") == "object" or (
            isinstance(schema.get("type"), list) and "object" in schema["type"]
        )
        if is_object or "properties" in schema:
            if schema.get("additionalProperties") is not False:
                problems.append(
                    f"{path}: additionalProperties is "
                    f"{schema.get('additionalProperties', '<absent>')!r}, not false"
                )
            properties = schema.get("properties") or {}
            missing = [name for name in properties if name not in (schema.get("required") or [])]
            if missing:
                problems.append(f"{path}: properties {missing} are not in required")
        for key, value in schema.items():
            if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
                for name, sub in value.items():
                    problems.extend(not_strict_objects(sub, f"{path}.{key}.{name}"))
            elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
                problems.extend(not_strict_objects(value, f"{path}.{key}"))
            elif key in ("anyOf", "oneOf", "allOf", "prefixItems") and isinstance(value, list):
                for i, sub in enumerate(value):
                    problems.extend(not_strict_objects(sub, f"{path}.{key}[{i}]"))
    return problems


# -- §1.1: the bearer token -----------------------------------------------------------------


@pytest.mark.spec("AUTH-1")
@pytest.mark.capability("llm.chat")
def test_request_carries_a_bearer_token_the_server_accepts(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """The request carries ``Authorization: Bearer <jwt>``, an HS256 token the simulator
    verifies with the session's API secret."""
    target = voicewire_simulator.session()
    outcome = voicewire_iut.chat(
        llm=target, chat_ctx=user_context("Hello"), conn_options=ONE_ATTEMPT
    )
    requests = voicewire_simulator.requests(target)
    expect(
        requests and outcome.error is None,
        "AUTH-1",
        "the simulator refused the request (its verifier needs an HS256 JWT signed with the "
        f"session's API secret, iss = the API key):\n{outcome.describe()}",
    )
    value = header(requests[0], "Authorization") or ""
    scheme, _, token = value.partition(" ")
    expect(
        scheme == "Bearer" and token.startswith("eyJ"),
        "AUTH-1",
        f"expected 'Authorization: Bearer <jwt>', got {value!r} (shown redacted)",
    )


TOKEN_TTL = 600
# The client's clock and the harness's are the same machine's, but a token is minted a little
# before the request is sent: nbf may trail the call's start by a second of rounding.
NBF_SLACK = 1


@pytest.mark.spec("AUTH-2")
@pytest.mark.capability("llm.chat")
def test_token_claims_are_the_inference_grant(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """The token's claims: ``iss`` = the API key, ``sub`` = ``"agent"``, ``nbf`` = now in
    integer seconds, ``exp`` = ``nbf + 600`` and ``inference`` = ``{"perform": true}``."""
    target = voicewire_simulator.session()
    before = time.time()
    outcome = voicewire_iut.chat(
        llm=target, chat_ctx=user_context("Hello"), conn_options=ONE_ATTEMPT
    )
    after = time.time()
    requests = voicewire_simulator.requests(target)
    require(
        requests and "token" in requests[0],
        "AUTH-2",
        f"the simulator verified no token of this client (AUTH-1 says why):\n{outcome.describe()}",
    )
    claims = requests[0]["token"]["claims"]
    expect(
        claims["iss"] == target.api_key,
        "AUTH-2",
        f"iss must be the API key {target.api_key!r}, got {claims['iss']!r}",
    )
    expect(claims["sub"] == "agent", "AUTH-2", f"sub must be 'agent', got {claims['sub']!r}")
    nbf, exp = claims["nbf"], claims["exp"]
    expect(
        isinstance(nbf, int) and int(before) - NBF_SLACK <= nbf <= after + NBF_SLACK,
        "AUTH-2",
        f"nbf must be now in integer seconds ({int(before)}..{int(after)}), got {nbf!r}",
    )
    expect(exp == nbf + TOKEN_TTL, "AUTH-2", f"exp must be nbf + {TOKEN_TTL}, got {exp!r}")
    expect(
        claims["inference"] == {"perform": True},
        "AUTH-2",
        f"inference must be {{'perform': true}}, got {claims['inference']!r}",
    )


# More than a second: the second call's token is minted in a later wall-clock second.
AGAIN_AFTER = 1.1


@pytest.mark.spec("AUTH-3")
@pytest.mark.capability("llm.chat")
def test_every_chat_call_mints_a_fresh_token(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """Two ``chat()`` calls of one LLM, more than a second apart, send two tokens: the second
    with a later ``nbf`` (a token minted once and reused would repeat the first)."""
    target = voicewire_simulator.session()
    outcome = voicewire_iut.chat(
        llm=target,
        chat_ctx=user_context("Hello"),
        conn_options=ONE_ATTEMPT,
        again_after=AGAIN_AFTER,
    )
    requests = voicewire_simulator.requests(target)
    require(
        len(requests) == 2 and all("token" in request for request in requests),
        "AUTH-3",
        f"expected two requests with verified tokens, got {len(requests)}:\n{outcome.describe()}",
    )
    first, second = (request["token"] for request in requests)
    expect(
        first["fingerprint"] != second["fingerprint"]
        and second["claims"]["nbf"] > first["claims"]["nbf"],
        "AUTH-3",
        f"the second chat() call, {AGAIN_AFTER} s later, reused the first call's token "
        f"(fingerprints {first['fingerprint']} and {second['fingerprint']}, nbf "
        f"{first['claims']['nbf']} and {second['claims']['nbf']})",
    )


# -- LLM-REQ-1 ------------------------------------------------------------------------------


@pytest.mark.spec("LLM-REQ-1")
@pytest.mark.capability("llm.chat")
@pytest.mark.parametrize("model", ["openai/gpt-4.1-mini", "google/gemini-2.5-flash"])
def test_request_streams_the_model_verbatim_with_usage(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, model: str
) -> None:
    """``model`` is sent verbatim (provider prefix kept) with ``stream: true`` and
    ``stream_options: {"include_usage": true}`` to ``POST .../chat/completions``."""
    target = LLMTarget.at(voicewire_simulator.session(), model=model)
    request, _ = sent_request(voicewire_iut, voicewire_simulator, target)
    body = request["body"]
    expect(
        request["method"] == "POST" and request["path"].endswith("/chat/completions"),
        "LLM-REQ-1",
        f"expected POST .../chat/completions, got {request['method']} {request['path']}",
    )
    expect(
        isinstance(body, dict) and body.get("model") == model,
        "LLM-REQ-1",
        f"model must be sent verbatim as {model!r}, got {body.get('model')!r}",
    )
    expect(body.get("stream") is True, "LLM-REQ-1", f"stream must be true, got {body}")
    options = body.get("stream_options")
    expect(
        isinstance(options, dict) and options.get("include_usage") is True,
        "LLM-REQ-1",
        f'stream_options must be {{"include_usage": true}}, got {options!r}',
    )


def _openai_view(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The §6.3 fields of each message (providers' extra keys are not judged here)."""
    view = []
    for m in messages:
        kept = {k: m[k] for k in ("role", "content", "tool_call_id") if k in m}
        if "tool_calls" in m:
            kept["tool_calls"] = [
                {
                    "id": call.get("id"),
                    "type": call.get("type"),
                    "function": {
                        "name": call.get("function", {}).get("name"),
                        "arguments": call.get("function", {}).get("arguments"),
                    },
                }
                for call in m["tool_calls"]
            ]
        view.append(kept)
    return view


@pytest.mark.spec("LLM-REQ-1")
@pytest.mark.capability("llm.chat")
def test_request_messages_are_in_openai_format(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """``messages`` is the chat context in the openai format: plain-string content, an
    answered tool call grouped into its assistant message, then its ``tool`` message."""
    arguments = '{"city": "Paris"}'
    ctx = {
        "items": [
            message("system", "Be brief.", id="instructions", created_at=1.0),
            message("user", "Weather in Paris?", id="user-1", created_at=2.0),
            message("assistant", "Let me check.", id="gen-1", created_at=3.0),
            {
                "type": "function_call",
                "id": "gen-1/fnc_0",
                "call_id": "call_w1",
                "name": "get_weather",
                "arguments": arguments,
                "created_at": 3.0,
            },
            {
                "type": "function_call_output",
                "id": "out-1",
                "call_id": "call_w1",
                "name": "get_weather",
                "output": "sunny, 21 C",
                "is_error": False,
                "created_at": 4.0,
            },
            message("user", "Thanks!", id="user-2", created_at=5.0),
        ]
    }
    request, _ = sent_request(voicewire_iut, voicewire_simulator, chat_ctx=ctx, tools=[WEATHER])
    messages = request["body"].get("messages")
    expected = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                {
                    "id": "call_w1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_w1", "content": "sunny, 21 C"},
        {"role": "user", "content": "Thanks!"},
    ]
    expect(
        isinstance(messages, list) and _openai_view(messages) == expected,
        "LLM-REQ-1",
        f"messages must be the openai format of the context:\nexpected {expected}\n"
        f"got      {messages}",
    )


# -- LLM-REQ-2 ------------------------------------------------------------------------------


@pytest.mark.spec("LLM-REQ-2")
@pytest.mark.capability("llm.chat")
def test_tools_key_is_omitted_when_there_are_no_tools(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """Without tools the request has no ``tools`` key at all (never ``tools: []``)."""
    request, _ = sent_request(voicewire_iut, voicewire_simulator)
    body = request["body"]
    expect(
        "tools" not in body,
        "LLM-REQ-2",
        f"'tools' must be omitted when there are no tools, got tools={body.get('tools')!r}",
    )


@pytest.mark.spec("LLM-REQ-2")
@pytest.mark.capability("llm.chat")
def test_tools_are_sent_as_strict_function_schemas(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """Each tool is ``{"type": "function", "function": {name, description, parameters,
    strict: true}}`` whose schema has ``additionalProperties: false`` on every object
    (nested ones and array items too) and every property in ``required``."""
    request, _ = sent_request(voicewire_iut, voicewire_simulator, tools=[WEATHER, END_CALL])
    tools = tools_of(request["body"])
    expect(
        set(tools) == {"get_weather", "end_call"},
        "LLM-REQ-2",
        f"expected tools get_weather and end_call, got {request['body'].get('tools')!r}",
    )
    for spec in (WEATHER, END_CALL):
        tool = tools[spec.name]
        function = tool.get("function") or {}
        expect(
            tool.get("type") == "function",
            "LLM-REQ-2",
            f"tool {spec.name}: type must be 'function', got {tool.get('type')!r}",
        )
        expect(
            function.get("strict") is True,
            "LLM-REQ-2",
            f"tool {spec.name}: function.strict must be true, got {function.get('strict')!r}",
        )
        expect(
            function.get("description") == spec.description,
            "LLM-REQ-2",
            f"tool {spec.name}: description must be {spec.description!r}, "
            f"got {function.get('description')!r}",
        )
        parameters = function.get("parameters")
        expect(
            isinstance(parameters, dict) and parameters.get("type") == "object",
            "LLM-REQ-2",
            f"tool {spec.name}: parameters must be an object schema, got {parameters!r}",
        )
        problems = not_strict_objects(parameters)
        expect(
            not problems,
            "LLM-REQ-2",
            f"tool {spec.name}: the schema is not strict:\n  "
            + "\n  ".join(problems)
            + f"\nsent: {parameters}",
        )
    properties = tools["get_weather"]["function"]["parameters"].get("properties", {})
    expect(
        set(properties) == {"city", "unit", "when"},
        "LLM-REQ-2",
        f"the strict schema must keep every property, got {sorted(properties)}",
    )


@pytest.mark.spec("LLM-REQ-2")
@pytest.mark.capability("llm.chat")
def test_raw_tool_is_sent_verbatim(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """A raw tool goes out as ``{"type": "function", "function": <its raw schema>}``,
    unchanged: no ``strict`` added, its non-strict schema left as written."""
    parameters = {
        "type": "object",
        "properties": {"order_id": {"type": "string"}, "verbose": {"type": "boolean"}},
        "required": ["order_id"],
    }
    raw = ToolSpec(
        name="lookup_order", description="Find an order.", parameters=parameters, raw=True
    )
    request, _ = sent_request(voicewire_iut, voicewire_simulator, tools=[raw])
    sent = tools_of(request["body"]).get("lookup_order")
    expected = {
        "type": "function",
        "function": {
            "name": "lookup_order",
            "description": "Find an order.",
            "parameters": parameters,
        },
    }
    expect(
        sent == expected,
        "LLM-REQ-2",
        f"a raw tool must be sent verbatim:\nexpected {expected}\ngot      {sent}",
    )


# -- LLM-REQ-3 ------------------------------------------------------------------------------


@pytest.mark.spec("LLM-REQ-3")
@pytest.mark.capability("llm.chat")
@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"name": "end_call"}, {"type": "function", "function": {"name": "end_call"}}),
        ("auto", "auto"),
        ("required", "required"),
        ("none", "none"),
    ],
    ids=["named", "auto", "required", "none"],
)
def test_tool_choice_is_sent_in_openai_form(
    voicewire_iut: IUTDriver,
    voicewire_simulator: CaseSimulator,
    choice: str | dict[str, str],
    expected: str | dict[str, Any],
) -> None:
    """A named ``tool_choice`` becomes ``{"type": "function", "function": {"name": N}}``;
    ``auto``, ``required`` and ``none`` pass through unchanged."""
    request, _ = sent_request(
        voicewire_iut, voicewire_simulator, tools=[WEATHER, END_CALL], tool_choice=choice
    )
    sent = request["body"].get("tool_choice", "<absent>")
    expect(
        sent == expected,
        "LLM-REQ-3",
        f"tool_choice {choice!r} must be sent as {expected!r}, got {sent!r}",
    )


@pytest.mark.spec("LLM-REQ-3")
@pytest.mark.capability("llm.chat")
@pytest.mark.parametrize("choice", [{"name": "end_call"}, "required"], ids=["named", "required"])
def test_tool_choice_is_omitted_without_tools(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator, choice: str | dict[str, str]
) -> None:
    """Without tools, a given ``tool_choice`` is left out of the request (a provider answers
    400 to a tool choice without tools)."""
    request, _ = sent_request(voicewire_iut, voicewire_simulator, tool_choice=choice)
    body = request["body"]
    expect(
        "tool_choice" not in body,
        "LLM-REQ-3",
        f"tool_choice must be omitted when no tools are sent, got {body.get('tool_choice')!r}",
    )


# -- LLM-REQ-4, LLM-REQ-6 -----------------------------------------------------------------


@pytest.mark.spec("LLM-REQ-4")
@pytest.mark.capability("llm.chat")
def test_options_are_sent_only_when_given(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """``parallel_tool_calls`` and ``temperature`` are absent unless given, and sent as given
    when they are."""
    plain, _ = sent_request(voicewire_iut, voicewire_simulator, tools=[WEATHER])
    unasked = sorted({"parallel_tool_calls", "temperature"} & set(plain["body"]))
    expect(
        not unasked,
        "LLM-REQ-4",
        f"options nobody gave must not be sent, got {unasked} in {plain['body']}",
    )
    given, _ = sent_request(
        voicewire_iut,
        voicewire_simulator,
        tools=[WEATHER],
        parallel_tool_calls=False,
        extra_kwargs={"temperature": 0.3},
    )
    body = given["body"]
    expect(
        body.get("parallel_tool_calls", "<absent>") is False
        and body.get("temperature", "<absent>") == 0.3,
        "LLM-REQ-4",
        "given options must be sent: expected parallel_tool_calls=false, temperature=0.3, got "
        f"parallel_tool_calls={body.get('parallel_tool_calls', '<absent>')!r}, "
        f"temperature={body.get('temperature', '<absent>')!r}",
    )


@pytest.mark.spec("LLM-REQ-4", "LLM-REQ-6")
@pytest.mark.capability("llm.chat")
def test_per_call_options_override_constructor_options(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """A per-call option wins over the same option given at construction; constructor
    options nobody overrode are still sent."""
    target = LLMTarget.at(
        voicewire_simulator.session(), extra_kwargs={"temperature": 0.9, "max_tokens": 64}
    )
    request, _ = sent_request(
        voicewire_iut, voicewire_simulator, target, extra_kwargs={"temperature": 0.1}
    )
    body = request["body"]
    expect(
        body.get("max_tokens", "<absent>") == 64,
        "LLM-REQ-4",
        "constructor option max_tokens=64 must be sent, got "
        f"{body.get('max_tokens', '<absent>')!r}",
    )
    expect(
        body.get("temperature", "<absent>") == 0.1,
        "LLM-REQ-6",
        "per-call temperature=0.1 must override the constructor's 0.9, got "
        f"{body.get('temperature', '<absent>')!r}",
    )


# -- LLM-REQ-5 ------------------------------------------------------------------------------


@pytest.mark.spec("LLM-REQ-5")
@pytest.mark.capability("llm.chat")
def test_provider_header_is_sent_when_a_provider_is_set(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """With ``provider`` set, the request carries ``X-LiveKit-Inference-Provider: <provider>``."""
    target = LLMTarget.at(voicewire_simulator.session(), provider="baseten")
    request, _ = sent_request(voicewire_iut, voicewire_simulator, target)
    value = header(request, "X-LiveKit-Inference-Provider")
    expect(
        value == "baseten",
        "LLM-REQ-5",
        f"expected X-LiveKit-Inference-Provider: baseten, got {value!r} "
        f"(headers: {sorted(request['headers'])})",
    )


@pytest.mark.spec("LLM-REQ-5")
@pytest.mark.capability("llm.chat")
def test_provider_header_is_absent_without_a_provider(
    voicewire_iut: IUTDriver, voicewire_simulator: CaseSimulator
) -> None:
    """Without ``provider`` no ``X-LiveKit-Inference-Provider`` header is sent."""
    request, _ = sent_request(voicewire_iut, voicewire_simulator)
    value = header(request, "X-LiveKit-Inference-Provider")
    expect(
        value is None,
        "LLM-REQ-5",
        f"no provider was set, yet X-LiveKit-Inference-Provider: {value!r} was sent",
    )
