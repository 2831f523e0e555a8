"""The LLM simulator as a server: authentication, endpoints, echo mode, scenario selection, the
control API and the journal, probed over real sockets with raw aiohttp requests (and with the
reference client where the client is the natural probe)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import jwt
import pytest
from voicewire.reference.auth import create_access_token
from voicewire.reference.errors import APIConnectOptions, APIStatusError
from voicewire.reference.llm import ChatContext
from voicewire.reference.llm.chat_chunk import ChatChunk
from voicewire.reference.llm.inference import LLM, LLMStream
from voicewire.reference.llm.wire import decode_payload, strict_framing
from voicewire.simulators import Credentials, Scenario, SimulatorServer, parse_scenario
from voicewire.simulators.core.clock import DEFAULT_EPOCH
from voicewire.simulators.core.state import derive_id
from voicewire.simulators.llm import COMPLETION_ID_PREFIX, plan_chunks, read_request

MODEL = "openai/gpt-4.1-mini"
CHAT_BODY = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": True}
SECRET_B = "second-dev-secret-0123456789abcdef"


# -- helpers -----------------------------------------------------------------------------------


def user_ctx(text: str = "hello") -> ChatContext:
    ctx = ChatContext()
    ctx.add_message(role="user", content=text)
    return ctx


def scripted(name: str, content: str, **rule: Any) -> Scenario:
    return parse_scenario(
        {
            "name": name,
            "time_scale": 0.01,
            "rules": [
                {"reply": {"content": content, "fragmentation": {"strategy": "whole"}}, **rule}
            ],
        }
    )


def control_headers(sim: SimulatorServer) -> dict[str, str]:
    """The header that authenticates a request to the control API."""
    return {"X-Voicewire-Control-Token": sim.control_token}


def bearer(sim: SimulatorServer, key: str | None = None, secret: str | None = None) -> str:
    key = key or sim.api_key
    return f"Bearer {create_access_token(key, secret or sim.credentials.keys[key])}"


async def collect(stream: LLMStream) -> list[ChatChunk]:
    async with stream:
        return await stream.collect()


def text_of(chunks: list[ChatChunk]) -> str:
    return "".join(c.delta.content or "" for c in chunks if c.delta is not None)


def decode_sse(text: str) -> list[Any]:
    """A whole stream body, strictly framed (LLM-SSE-1), as its payloads: chunk dicts, and
    ``"[DONE]"``."""
    payloads, problems = strict_framing(text.encode())
    assert problems == [], problems
    return [p if p == "[DONE]" else decode_payload(p) for p in payloads]


def streamed_text(events: list[Any]) -> str:
    return "".join(
        choice["delta"].get("content") or ""
        for e in events
        if isinstance(e, dict)
        for choice in e["choices"]
    )


async def post_chat(
    session: aiohttp.ClientSession,
    url: str,
    *,
    authorization: str | None,
    body: Any = None,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str, str, dict[str, str]]:
    """POST a chat completion; returns status, content type, body text and headers."""
    sent = dict(headers or {})
    if authorization is not None:
        sent["Authorization"] = authorization
    if data is None:
        data = json.dumps(CHAT_BODY if body is None else body).encode()
        sent.setdefault("Content-Type", "application/json")
    async with session.post(url, data=data, headers=sent) as response:
        return response.status, response.content_type, await response.text(), dict(response.headers)


def assert_json_error(status: int, content_type: str, text: str, code: int, kind: str) -> str:
    """The openai error shape, exactly; returns the message."""
    assert status == code
    assert content_type == "application/json"
    body = json.loads(text)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "code"}
    assert body["error"]["type"] == kind
    assert body["error"]["code"] == code
    message = body["error"]["message"]
    assert isinstance(message, str) and message
    return message


# -- AUTH-4: every bad credential is a 401 before any stream -----------------------------------


def _claims(key: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": key, "sub": "agent", "nbf": now, "exp": now + 600}
    claims["inference"] = {"perform": True}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


BAD_AUTHORIZATION: dict[str, Callable[[str, str], str | None]] = {
    "missing": lambda key, secret: None,
    "empty": lambda key, secret: "",
    "basic-scheme": lambda key, secret: (
        "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()
    ),
    "bearer-without-token": lambda key, secret: "Bearer",
    "garbage": lambda key, secret: "Bearer not-a-jwt",
    "three-garbage-segments": lambda key, secret: "Bearer aaa.bbb.ccc",
    "bad-signature": lambda key, secret: "Bearer " + create_access_token(key, "x" * 40),
    "alg-none": lambda key, secret: "Bearer " + jwt.encode(_claims(key), None, algorithm="none"),
    "hs512": lambda key, secret: "Bearer " + jwt.encode(_claims(key), secret, algorithm="HS512"),
    "unknown-iss": lambda key, secret: "Bearer " + create_access_token("someone-else", secret),
    "no-iss": lambda key, secret: (
        "Bearer " + jwt.encode(_claims(key, iss=None), secret, algorithm="HS256")
    ),
    "expired-beyond-leeway": lambda key, secret: (
        "Bearer " + create_access_token(key, secret, now=time.time() - 630)
    ),
    "nbf-future-beyond-leeway": lambda key, secret: (
        "Bearer " + create_access_token(key, secret, now=time.time() + 60)
    ),
    "no-exp": lambda key, secret: (
        "Bearer " + jwt.encode(_claims(key, exp=None), secret, algorithm="HS256")
    ),
    "no-inference-grant": lambda key, secret: (
        "Bearer " + jwt.encode(_claims(key, inference=None), secret, algorithm="HS256")
    ),
    "perform-false": lambda key, secret: (
        "Bearer "
        + jwt.encode(_claims(key, inference={"perform": False}), secret, algorithm="HS256")
    ),
    "perform-string": lambda key, secret: (
        "Bearer "
        + jwt.encode(_claims(key, inference={"perform": "true"}), secret, algorithm="HS256")
    ),
    "other-grant-only": lambda key, secret: (
        "Bearer "
        + jwt.encode(
            _claims(key, inference=None, video={"roomJoin": True}), secret, algorithm="HS256"
        )
    ),
}


@pytest.mark.spec("AUTH-4", "LLM-SSE-5")
# The HS512 case signs with the dev secret, shorter than pyjwt recommends for SHA-512.
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/chat/completions", "/v1/models"])
async def test_bad_credentials_get_401_json_before_any_stream(start_simulator, path):
    sim = await start_simulator()
    async with aiohttp.ClientSession() as session:
        for case, make in BAD_AUTHORIZATION.items():
            authorization = make(sim.api_key, sim.api_secret)
            headers = {} if authorization is None else {"Authorization": authorization}
            if path.endswith("/models"):
                async with session.get(sim.base_url + path, headers=headers) as response:
                    result = (
                        response.status,
                        response.content_type,
                        await response.text(),
                    )
            else:
                result = (
                    await post_chat(session, sim.base_url + path, authorization=authorization)
                )[:3]
            try:
                assert_json_error(*result, code=401, kind="authentication_error")
            except AssertionError as exc:
                raise AssertionError(f"case {case!r}: {exc}") from exc
    kinds = {e["kind"] for e in sim.journal.entries()}
    assert "http_request" not in kinds and "sse_event" not in kinds and "http_response" not in kinds
    assert sim.state.usage == {}


@pytest.mark.spec("AUTH-4")
@pytest.mark.parametrize(
    "shift", [-605.0, 5.0], ids=["expired-within-leeway", "nbf-future-within-leeway"]
)
async def test_clock_skew_within_the_leeway_is_accepted(start_simulator, shift):
    sim = await start_simulator()
    token = create_access_token(sim.api_key, sim.api_secret, now=time.time() + shift)
    async with aiohttp.ClientSession() as session:
        status, content_type, text, _ = await post_chat(
            session, sim.base_url + "/v1/chat/completions", authorization=f"Bearer {token}"
        )
    assert status == 200
    assert content_type == "text/event-stream"
    assert streamed_text(decode_sse(text)) == "You said: hi"


@pytest.mark.spec("AUTH-4")
async def test_tokens_of_every_configured_key_are_accepted(start_simulator):
    credentials = Credentials(
        keys={"key-a": "first-dev-secret-0123456789abcdef", "key-b": SECRET_B}
    )
    sim = await start_simulator(credentials=credentials)
    async with aiohttp.ClientSession() as session:
        for key in ("key-a", "key-b"):
            status, *_ = await post_chat(
                session, sim.base_url + "/v1/chat/completions", authorization=bearer(sim, key)
            )
            assert status == 200
        # A valid token of key-a signed with key-b's secret is still a bad signature.
        status, content_type, text, _ = await post_chat(
            session,
            sim.base_url + "/v1/chat/completions",
            authorization=f"Bearer {create_access_token('key-a', SECRET_B)}",
        )
    assert_json_error(status, content_type, text, code=401, kind="authentication_error")


# -- endpoints ---------------------------------------------------------------------------------


@pytest.mark.spec("LLM-SSE-1")
@pytest.mark.parametrize("prefix", ["", "/v1"])
async def test_models_listed_under_both_prefixes(start_simulator, make_llm, prefix):
    sim = await start_simulator()
    url = f"{sim.base_url}{prefix}/models"
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers={"Authorization": bearer(sim)}) as response,
    ):
        assert response.status == 200
        body = await response.json()
    assert body["object"] == "list"
    assert body["data"] and all(m["object"] == "model" for m in body["data"])
    assert MODEL in {m["id"] for m in body["data"]}
    # The client's prewarm uses the same endpoint.
    await make_llm(sim).prewarm()


@pytest.mark.spec("LLM-SSE-1", "LLM-SSE-2", "LLM-SSE-4")
@pytest.mark.parametrize("prefix", ["", "/v1"])
async def test_raw_stream_framing(start_simulator, prefix):
    sim = await start_simulator()
    body = {**CHAT_BODY, "stream_options": {"include_usage": True}}
    async with aiohttp.ClientSession() as session:
        status, content_type, text, _ = await post_chat(
            session,
            f"{sim.base_url}{prefix}/chat/completions",
            authorization=bearer(sim),
            body=body,
        )
    assert status == 200
    assert content_type == "text/event-stream"
    events = decode_sse(text)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert len({c["id"] for c in chunks}) == 1
    for chunk in chunks:
        assert set(chunk) == {"id", "object", "created", "model", "choices", "usage"}
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["model"] == MODEL
    finish = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert [c["choices"][0]["finish_reason"] for c in finish] == ["stop"]
    usage = chunks[-1]
    assert usage["choices"] == []
    assert set(usage["usage"]) >= {"prompt_tokens", "completion_tokens", "total_tokens"}
    assert chunks.index(finish[0]) < len(chunks) - 1
    assert streamed_text(events) == "You said: hi"


@pytest.mark.spec("LLM-SSE-4")
async def test_no_usage_chunk_unless_asked_for(start_simulator):
    sim = await start_simulator()
    async with aiohttp.ClientSession() as session:
        _, _, text, _ = await post_chat(
            session, sim.base_url + "/v1/chat/completions", authorization=bearer(sim)
        )
    assert all(e["usage"] is None for e in decode_sse(text)[:-1])


async def test_non_streaming_completion(start_simulator):
    reply = {
        "content": "Here you go.",
        "tool_calls": [{"name": "get_weather", "arguments": {"location": "Paris"}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4},
    }
    sim = await start_simulator(parse_scenario({"name": "plain", "rules": [{"reply": reply}]}))
    async with aiohttp.ClientSession() as session:
        status, content_type, text, _ = await post_chat(
            session,
            sim.base_url + "/v1/chat/completions",
            authorization=bearer(sim),
            body={**CHAT_BODY, "stream": False},
        )
    assert status == 200
    assert content_type == "application/json"
    body = json.loads(text)
    assert body["object"] == "chat.completion"
    assert body["model"] == MODEL
    [choice] = body["choices"]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"] == {
        "role": "assistant",
        "content": "Here you go.",
        "tool_calls": [
            {
                "id": "call_0",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'},
            }
        ],
    }
    assert body["usage"]["prompt_tokens"] == 3
    assert body["usage"]["completion_tokens"] == 4
    assert body["usage"]["total_tokens"] == 7


@pytest.mark.spec("LLM-TXT-1")
@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([{"role": "user", "content": "hello there"}], "You said: hello there"),
        (
            [
                {"role": "user", "content": "first"},
                {"role": "assistant", "content": "ok"},
                {"role": "user", "content": [{"type": "text", "text": "second"}]},
            ],
            "You said: second",
        ),
        ([{"role": "system", "content": "Be brief."}], "Hello from the voicewire simulator."),
    ],
    ids=["one-user", "last-user-parts", "no-user"],
)
async def test_echo_answers_the_last_user_message(start_simulator, messages, expected):
    sim = await start_simulator()
    async with aiohttp.ClientSession() as session:
        _, _, text, _ = await post_chat(
            session,
            sim.base_url + "/v1/chat/completions",
            authorization=bearer(sim),
            body={"model": MODEL, "messages": messages, "stream": True},
        )
    assert streamed_text(decode_sse(text)) == expected


# -- SRV-1 / SRV-2: bad requests get 400s, other sessions are untouched ------------------------

BAD_BODIES: list[tuple[str, bytes, str]] = [
    ("not-json", b"{not json", "request body is not valid JSON"),
    ("not-utf8", b"\xff\xfe\x00", "request body is not"),
    ("array", b"[]", "request body must be a JSON object"),
    ("no-model", json.dumps({"messages": []}).encode(), "model: missing"),
    ("empty-model", json.dumps({"model": "", "messages": []}).encode(), "model: expected"),
    ("model-not-str", json.dumps({"model": 3, "messages": []}).encode(), "model: expected"),
    ("no-messages", json.dumps({"model": MODEL}).encode(), "messages: missing"),
    ("messages-not-list", json.dumps({"model": MODEL, "messages": {}}).encode(), "messages:"),
    ("message-not-object", json.dumps({"model": MODEL, "messages": [1]}).encode(), "messages[0]:"),
    (
        "unknown-role",
        json.dumps({"model": MODEL, "messages": [{"role": "robot"}]}).encode(),
        "messages[0].role: expected one of",
    ),
    (
        "stream-not-bool",
        json.dumps({"model": MODEL, "messages": [], "stream": "yes"}).encode(),
        "stream: expected a boolean",
    ),
    (
        "stream-options-not-object",
        json.dumps({"model": MODEL, "messages": [], "stream_options": []}).encode(),
        "stream_options: expected an object",
    ),
    (
        "stream-options-false",
        json.dumps({"model": MODEL, "messages": [], "stream_options": False}).encode(),
        "stream_options: expected an object",
    ),
    (
        "tools-not-list",
        json.dumps({"model": MODEL, "messages": [], "tools": {}}).encode(),
        "tools: expected a list",
    ),
]


@pytest.mark.spec("SRV-1", "SRV-2", "LLM-SSE-5")
async def test_bad_requests_get_400_while_a_concurrent_stream_is_unaffected(
    start_simulator, make_llm
):
    good = parse_scenario(
        {
            "name": "slow",
            "time_scale": 0.01,
            "rules": [
                {
                    "reply": {"content": "still streaming fine", "fragmentation": {"size": 5}},
                    # 30 s scaled: the good stream pauses 0.3 s after its first text piece.
                    "faults": [{"kind": "delay", "at_event": 2, "seconds": 30.0}],
                }
            ],
        }
    )
    sim = await start_simulator(good)
    llm = make_llm(sim)
    stream = llm.chat(chat_ctx=user_ctx(), conn_options=APIConnectOptions(max_retry=0))
    async with stream:
        first = await stream.__anext__()
        assert first.delta is not None and first.delta.content == "still"
        async with aiohttp.ClientSession() as session:
            results = await asyncio.gather(
                *(
                    post_chat(
                        session,
                        sim.base_url + "/v1/chat/completions",
                        authorization=bearer(sim),
                        data=data,
                        headers={"Content-Type": "application/json"},
                    )
                    for _, data, _ in BAD_BODIES
                )
            )
        rest = await stream.collect()

    for (case, _, fragment), (status, content_type, text, _) in zip(
        BAD_BODIES, results, strict=True
    ):
        message = assert_json_error(
            status, content_type, text, code=400, kind="invalid_request_error"
        )
        assert fragment in message, (case, message)
    assert first.delta.content + text_of(rest) == "still streaming fine"
    assert rest[-1].usage is not None

    entries = sim.journal.entries()
    good_writes = [e["seq"] for e in entries if e["exchange"] == 1 and e["kind"] == "sse_event"]
    bad_errors = [e for e in entries if e["exchange"] != 1 and e["kind"] == "http_error"]
    assert len(bad_errors) == len(BAD_BODIES)
    assert all(e["data"]["status"] == 400 for e in bad_errors)
    # The bad requests were handled while the good stream was mid-way (inside its pause).
    assert all(good_writes[1] < e["seq"] < good_writes[2] for e in bad_errors)


# -- scenario selection ------------------------------------------------------------------------


@pytest.mark.spec("LLM-SSE-5")
async def test_unmatched_request_gets_404_naming_the_scenario(start_simulator, make_llm):
    strict = parse_scenario(
        {
            "name": "strict-weather",
            "on_unmatched": "error",
            "rules": [{"match": {"text": "weather"}, "reply": {"content": "sunny"}}],
        }
    )
    sim = await start_simulator(strict)
    llm = make_llm(sim)
    assert text_of(await collect(llm.chat(chat_ctx=user_ctx("the weather?")))) == "sunny"

    with pytest.raises(APIStatusError) as caught:
        await collect(llm.chat(chat_ctx=user_ctx("something else")))
    assert caught.value.status_code == 404
    assert caught.value.retryable is False
    assert len([e for e in sim.journal.entries() if e["kind"] == "http_request"]) == 2

    async with aiohttp.ClientSession() as session:
        result = await post_chat(
            session, sim.base_url + "/v1/chat/completions", authorization=bearer(sim)
        )
    message = assert_json_error(*result[:3], code=404, kind="scenario_unmatched")
    assert "'strict-weather'" in message


async def test_scenario_selected_by_header(start_simulator):
    sim = await start_simulator()
    sim.load(scripted("alpha", "from alpha"))
    sim.load(scripted("beta", "from beta"))
    url = sim.base_url + "/v1/chat/completions"
    async with aiohttp.ClientSession() as session:
        texts = {}
        for name in ("alpha", "beta"):
            _, _, text, _ = await post_chat(
                session, url, authorization=bearer(sim), headers={"X-Voicewire-Scenario": name}
            )
            texts[name] = streamed_text(decode_sse(text))
        _, _, default_text, _ = await post_chat(session, url, authorization=bearer(sim))
        missing = await post_chat(
            session, url, authorization=bearer(sim), headers={"X-Voicewire-Scenario": "nope"}
        )
    assert texts == {"alpha": "from alpha", "beta": "from beta"}
    assert streamed_text(decode_sse(default_text)) == "You said: hi"
    message = assert_json_error(*missing[:3], code=404, kind="invalid_request_error")
    assert "'nope'" in message
    scenarios = [e["scenario"] for e in sim.journal.entries() if e["kind"] == "http_request"]
    assert scenarios == ["alpha", "beta", "default"]


async def test_scenario_selected_by_api_key(start_simulator, make_llm):
    credentials = Credentials(
        keys={"key-a": "first-dev-secret-0123456789abcdef", "key-b": SECRET_B},
        scenario_for_key={"key-b": "bee"},
    )
    sim = await start_simulator(credentials=credentials)
    sim.load(scripted("bee", "buzz"))
    a = make_llm(sim)  # the first key
    b = LLM(MODEL, base_url=sim.base_url + "/v1", api_key="key-b", api_secret=SECRET_B)
    try:
        assert text_of(await collect(a.chat(chat_ctx=user_ctx("hi")))) == "You said: hi"
        assert text_of(await collect(b.chat(chat_ctx=user_ctx("hi")))) == "buzz"
    finally:
        await b.aclose()
    # The header still wins over the key's scenario.
    async with aiohttp.ClientSession() as session:
        _, _, text, _ = await post_chat(
            session,
            sim.base_url + "/v1/chat/completions",
            authorization=bearer(sim, "key-b"),
            headers={"X-Voicewire-Scenario": "default"},
        )
    assert streamed_text(decode_sse(text)) == "You said: hi"


# -- control API -------------------------------------------------------------------------------


async def test_control_api_loads_validates_and_unloads_scenarios(start_simulator):
    sim = await start_simulator()
    control = sim.base_url + "/__voicewire"
    chat = sim.base_url + "/v1/chat/completions"
    async with aiohttp.ClientSession(headers=control_headers(sim)) as session:
        async with session.get(control + "/health") as response:
            assert await response.json() == {"ok": True}

        valid = {"rules": [{"reply": {"content": "loaded over HTTP"}}]}
        async with session.put(control + "/scenarios/remote", json=valid) as response:
            assert response.status == 200
            assert await response.json() == {"loaded": "remote"}
        async with session.get(control + "/scenarios") as response:
            assert await response.json() == {
                "scenarios": ["default", "remote"],
                "default": "default",
            }
        _, _, text, _ = await post_chat(
            session, chat, authorization=bearer(sim), headers={"X-Voicewire-Scenario": "remote"}
        )
        assert streamed_text(decode_sse(text)) == "loaded over HTTP"

        invalid = {
            "rules": [
                {
                    "reply": {"tool_calls": [{"name": ""}], "fragmentation": {"strategy": "nope"}},
                    "faults": [{"kind": "stall", "at_event": -1, "seconds": 1}],
                }
            ]
        }
        async with session.put(control + "/scenarios/broken", json=invalid) as response:
            assert response.status == 400
            error = (await response.json())["error"]
        assert error["type"] == "invalid_scenario"
        assert error["code"] == 400
        paths = {p["path"] for p in error["problems"]}
        assert paths == {
            "rules[0].reply.tool_calls[0].name",
            "rules[0].reply.fragmentation.strategy",
            "rules[0].faults[0].at_event",
        }
        assert all(isinstance(p["message"], str) and p["message"] for p in error["problems"])

        async with session.put(
            control + "/scenarios/x", data=b"{nope", headers={"Content-Type": "application/json"}
        ) as response:
            assert response.status == 400
        async with session.put(control + "/scenarios/x", json={"name": "y"}) as response:
            assert response.status == 400
            assert "'y'" in (await response.json())["error"]["message"]

        async with session.delete(control + "/scenarios/remote") as response:
            assert await response.json() == {"unloaded": "remote"}
        missing = await post_chat(
            session, chat, authorization=bearer(sim), headers={"X-Voicewire-Scenario": "remote"}
        )
        assert_json_error(*missing[:3], code=404, kind="invalid_request_error")
        async with session.delete(control + "/scenarios/remote") as response:
            assert response.status == 404
        async with session.delete(control + "/scenarios/default") as response:
            assert response.status == 409
    assert set(sim.state.scenarios) == {"default"}


async def test_reset_clears_journal_attempts_and_usage(start_simulator):
    flaky = scripted("flaky", "ok", faults=[{"kind": "status", "code": 500, "attempt": 1}])
    sim = await start_simulator(flaky)
    control = sim.base_url + "/__voicewire"
    chat = sim.base_url + "/v1/chat/completions"
    async with aiohttp.ClientSession(headers=control_headers(sim)) as session:
        statuses = [(await post_chat(session, chat, authorization=bearer(sim)))[0] for _ in "ab"]
        assert statuses == [500, 200]  # same body: attempt 1 fails, attempt 2 passes
        assert sim.journal.entries()
        async with session.post(control + "/reset") as response:
            assert await response.json() == {"reset": "all"}
        assert sim.journal.entries() == []
        async with session.get(control + "/usage") as response:
            assert await response.json() == {}
        # Attempt counting starts over: the same body is attempt 1 again.
        status, *_ = await post_chat(session, chat, authorization=bearer(sim))
        assert status == 500
    assert [e["data"]["attempt"] for e in sim.journal.entries() if e["kind"] == "rule"] == [1]


async def test_reset_of_one_scenario_keeps_the_others(start_simulator):
    sim = await start_simulator()
    sim.load(scripted("other", "x"))
    chat = sim.base_url + "/v1/chat/completions"
    async with aiohttp.ClientSession(headers=control_headers(sim)) as session:
        await post_chat(session, chat, authorization=bearer(sim))
        await post_chat(
            session, chat, authorization=bearer(sim), headers={"X-Voicewire-Scenario": "other"}
        )
        async with session.post(sim.base_url + "/__voicewire/reset?scenario=other") as response:
            assert await response.json() == {"reset": "other"}
    remaining = {e["scenario"] for e in sim.journal.entries()}
    assert remaining == {"default"}


async def test_journal_endpoint_filters_by_scenario_and_exchange(start_simulator):
    sim = await start_simulator()
    sim.load(scripted("other", "x"))
    chat = sim.base_url + "/v1/chat/completions"
    control = sim.base_url + "/__voicewire/journal"
    async with aiohttp.ClientSession(headers=control_headers(sim)) as session:
        await post_chat(session, chat, authorization=bearer(sim))
        await post_chat(
            session, chat, authorization=bearer(sim), headers={"X-Voicewire-Scenario": "other"}
        )
        async with session.get(control) as response:
            everything = await response.json()
        async with session.get(control, params={"scenario": "other"}) as response:
            other = (await response.json())["entries"]
        async with session.get(control, params={"exchange": "1"}) as response:
            first = (await response.json())["entries"]
        async with session.get(control, params={"scenario": "other", "exchange": "1"}) as response:
            none = (await response.json())["entries"]
        async with session.get(control, params={"exchange": "one"}) as response:
            assert response.status == 400
    assert everything["dropped"] == 0
    assert everything["entries"] == sim.journal.entries()
    assert other and all(e["scenario"] == "other" and e["exchange"] == 2 for e in other)
    assert first and all(e["exchange"] == 1 and e["scenario"] == "default" for e in first)
    assert none == []
    assert len(other) + len(first) == len(everything["entries"])


async def test_usage_counts_requests_and_tokens_per_key(start_simulator, make_llm):
    credentials = Credentials(
        keys={"key-a": "first-dev-secret-0123456789abcdef", "key-b": SECRET_B}
    )
    sim = await start_simulator(credentials=credentials)
    a = make_llm(sim)
    b = LLM(MODEL, base_url=sim.base_url + "/v1", api_key="key-b", api_secret=SECRET_B)
    try:
        usages = {"key-a": [], "key-b": []}
        for llm, key, count in ((a, "key-a", 2), (b, "key-b", 1)):
            for n in range(count):
                chunks = await collect(llm.chat(chat_ctx=user_ctx(f"message number {n}")))
                usages[key].append(chunks[-1].usage)
    finally:
        await b.aclose()
    async with (
        aiohttp.ClientSession(headers=control_headers(sim)) as session,
        session.get(sim.base_url + "/__voicewire/usage") as response,
    ):
        reported = await response.json()
    assert set(reported) == {"key-a", "key-b"}
    for key, seen in usages.items():
        assert reported[key] == {
            "requests": len(seen),
            "prompt_tokens": sum(u.prompt_tokens for u in seen),
            "completion_tokens": sum(u.completion_tokens for u in seen),
        }


# -- the journal -------------------------------------------------------------------------------


async def test_journal_records_exactly_the_planned_stream(start_simulator, make_llm):
    reply = {
        "content": "Journal me, please.",
        "reasoning": "brief",
        "tool_calls": [{"name": "get_weather", "arguments": {"location": "Lyon"}}],
        "fragmentation": {"strategy": "random", "size": 4, "seed": 5, "tool_calls": "interleaved"},
    }
    scenario = parse_scenario(
        {"name": "journaled", "time_scale": 0.01, "rules": [{"reply": reply}]}
    )
    sim = await start_simulator(scenario)
    llm = make_llm(sim)
    chunks = await collect(llm.chat(chat_ctx=user_ctx()))
    assert text_of(chunks) == "Journal me, please."

    entries = sim.journal.entries()
    assert [e["seq"] for e in entries] == list(range(len(entries)))
    times = [e["t"] for e in entries]
    assert times == sorted(times)
    assert {(e["scenario"], e["exchange"]) for e in entries} == {("journaled", 1)}
    kinds = [e["kind"] for e in entries]
    assert kinds[:3] == ["http_request", "rule", "http_response"]
    assert set(kinds[3:]) == {"sse_event"}

    request = entries[0]["data"]
    writes = entries[3:]
    events = decode_sse("".join(w["data"] for w in writes))
    assert [w["event"] for w in writes] == list(range(len(events)))
    assert events[-1] == "[DONE]"
    # Deterministic: the id comes from the seed (0), the scenario and the completion counter,
    # ``created`` is the default clock's fixed epoch.
    planned = plan_chunks(
        scenario.rules[0].reply,
        request=read_request(json.dumps(request["body"]).encode()),
        completion_id=COMPLETION_ID_PREFIX + derive_id(0, "journaled", "completion", 1),
        created=DEFAULT_EPOCH,
    )
    assert events[:-1] == list(planned)
    # Each write is one whole event, exactly as encoded.
    assert all(w["data"].startswith("data: ") and w["data"].endswith("\n\n") for w in writes)


@pytest.mark.spec("SRV-1", "SRV-2")
async def test_a_client_hanging_up_mid_body_is_journaled_and_others_are_served(
    start_simulator, make_llm
):
    sim = await start_simulator()
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    # Authenticated: the simulator admits a request from its head before reading the body
    # (SRV-6), so only an admitted request gets as far as the body.
    writer.write(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
        + f"Authorization: {bearer(sim)}\r\n".encode()
        + b'Content-Type: application/json\r\n\r\n{"mod'
    )
    await writer.drain()
    writer.write_eof()  # the body ends 95 bytes early
    answer = await reader.read()  # the simulator has given up on this request
    writer.close()
    assert answer == b"" or answer.startswith(b"HTTP/1.1 400")
    ctx = ChatContext()
    ctx.add_message(role="user", content="still there?")
    async with make_llm(sim).chat(chat_ctx=ctx) as stream:
        text = "".join([t async for t in stream.to_str_iterable()])
    assert text == "You said: still there?"
    kinds = [entry["kind"] for entry in sim.journal.entries()]
    assert "client_gone" in kinds
