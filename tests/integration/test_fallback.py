"""``FallbackAdapter`` (SPEC §2.5) against one simulator serving a scenario per API key.

Each LLM of an adapter has its own API key, pinned to its own scenario, so the journal tells
the LLMs' requests apart (``scenario`` of each entry). Fault ``attempt`` numbers are chosen
deliberately: the simulator counts attempts per identical body, and a recovery probe replays
the failed request's body, so a probe is the next attempt of the same body.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from voicewire.reference.errors import APIConnectionError, APIError, APITimeoutError
from voicewire.reference.llm import ChatContext, function_tool
from voicewire.reference.llm.chat_chunk import ChatChunk
from voicewire.reference.llm.fallback import AvailabilityChangedEvent, FallbackAdapter
from voicewire.reference.llm.inference import LLM, LLMErrorEvent
from voicewire.simulators import Credentials, Scenario, parse_scenario, respx_llm
from voicewire.simulators.core.journal import Journal

SECRETS = {"key-a": "a" * 32, "key-b": "b" * 32, "key-c": "c" * 32}
CREDENTIALS = Credentials(
    keys=SECRETS, scenario_for_key={"key-a": "primary", "key-b": "secondary", "key-c": "tertiary"}
)
MODELS = {"key-a": "openai/gpt-4.1-mini", "key-b": "google/gemini-2.5-flash", "key-c": "x/y"}
SCENARIO_OF = dict(CREDENTIALS.scenario_for_key)


@function_tool
def get_weather(location: str) -> str:
    """Look up the weather.

    Args:
        location: the city
    """
    return "sunny"


def conversation() -> ChatContext:
    ctx = ChatContext()
    ctx.add_message(role="system", content="You are terse.")
    ctx.add_message(role="user", content="hi")
    ctx.add_message(role="assistant", content="Hello.")
    ctx.add_message(role="user", content="weather in Paris?")
    return ctx


def answering(name: str, content: str, *faults: dict[str, Any], **rule: Any) -> Scenario:
    """Scenario ``name``: one rule answering ``content`` (4-character chunks) with ``faults``."""
    reply = {"content": content, "fragmentation": {"strategy": "fixed", "size": 4}}
    return parse_scenario(
        {
            "name": name,
            "time_scale": 0.01,
            "rules": [{"reply": reply, "faults": list(faults), **rule}],
        }
    )


def failing(name: str, code: int = 500) -> Scenario:
    """Scenario ``name``: HTTP ``code`` on every attempt."""
    return answering(name, "never", {"kind": "status", "code": code})


def requests_to(journal: Journal, key: str) -> list[dict[str, Any]]:
    """The JSON bodies of the requests that reached ``key``'s scenario, oldest first."""
    return [
        e["data"]["body"]
        for e in journal.entries(scenario=SCENARIO_OF[key])
        if e["kind"] == "http_request"
    ]


def text_of(chunks: list[ChatChunk]) -> str:
    return "".join(c.delta.content or "" for c in chunks if c.delta is not None)


class Setup:
    """A simulator with one scenario per key, an LLM per key, an adapter and its events."""

    def __init__(self, journal: Journal, llms: dict[str, LLM]) -> None:
        self.journal = journal
        self.llms = llms
        self.events: list[tuple[str, bool]] = []
        self.adapters: list[FallbackAdapter] = []

    def adapter(self, *keys: str, **kwargs: Any) -> FallbackAdapter:
        adapter = FallbackAdapter([self.llms[k] for k in keys], **kwargs)
        adapter.on("llm_availability_changed", self._record)
        self.adapters.append(adapter)
        return adapter

    def _record(self, event: AvailabilityChangedEvent) -> None:
        key = next(k for k, llm in self.llms.items() if llm is event.llm)
        self.events.append((key, event.available))

    def requests(self, key: str) -> list[dict[str, Any]]:
        return requests_to(self.journal, key)


def make_llms(base_url: str) -> dict[str, LLM]:
    return {
        key: LLM(
            MODELS[key],
            base_url=base_url,
            api_key=key,
            api_secret=secret,
            time_scale=0.01,
            label=SCENARIO_OF[key],
        )
        for key, secret in SECRETS.items()
    }


@pytest.fixture
async def fallback(start_simulator) -> AsyncIterator[Callable[..., Any]]:
    """``await fallback(primary=..., secondary=..., tertiary=...)`` → a :class:`Setup` over a
    socket simulator; unnamed scenarios echo. Adapters and LLMs are closed after the test."""
    setups: list[Setup] = []

    async def start(**scenarios: Scenario) -> Setup:
        loaded = {name: Scenario.echo(name) for name in SCENARIO_OF.values()}
        loaded.update(scenarios)
        sim = await start_simulator(loaded.pop("primary"), credentials=CREDENTIALS)
        for scenario in loaded.values():
            sim.load(scenario)
        setup = Setup(sim.journal, make_llms(sim.base_url + "/v1"))
        setups.append(setup)
        return setup

    yield start
    for setup in setups:
        for adapter in setup.adapters:
            await adapter.aclose()
        for llm in setup.llms.values():
            await llm.aclose()


async def consume(stream: Any) -> tuple[list[ChatChunk], BaseException | None]:
    chunks: list[ChatChunk] = []
    try:
        async with stream:
            async for chunk in stream:
                chunks.append(chunk)
    except APIError as exc:
        return chunks, exc
    return chunks, None


# -- FALLBACK-1 --------------------------------------------------------------------------------


@pytest.mark.spec("FALLBACK-1")
async def test_failure_before_output_moves_on_with_the_same_context_and_tools(fallback):
    setup = await fallback(
        primary=failing("primary"), secondary=answering("secondary", "from secondary")
    )
    adapter = setup.adapter("key-a", "key-b")

    stream = adapter.chat(chat_ctx=conversation(), tools=[get_weather], tool_choice="auto")
    chunks, error = await consume(stream)

    assert error is None
    assert text_of(chunks) == "from secondary"
    assert stream.served_by is setup.llms["key-b"]
    assert setup.events == [("key-a", False)]
    assert not adapter.is_available(setup.llms["key-a"])
    assert adapter.is_available(setup.llms["key-b"])
    # The secondary got exactly the primary's request, its own model aside.
    first, served = setup.requests("key-a")[0], setup.requests("key-b")[0]
    assert first["model"] == MODELS["key-a"] and served["model"] == MODELS["key-b"]
    assert {**first, "model": None} == {**served, "model": None}
    assert [t["function"]["name"] for t in served["tools"]] == ["get_weather"]
    assert [m["role"] for m in served["messages"]] == ["system", "user", "assistant", "user"]


@pytest.mark.spec("FALLBACK-1")
async def test_unavailable_llm_is_skipped_and_the_event_is_not_repeated(fallback):
    setup = await fallback(
        primary=failing("primary"), secondary=answering("secondary", "from secondary")
    )
    adapter = setup.adapter("key-a", "key-b")

    for _ in range(3):
        chunks, error = await consume(adapter.chat(chat_ctx=conversation()))
        assert error is None and text_of(chunks) == "from secondary"
        await adapter.probes_settled()

    assert setup.events == [("key-a", False)]  # once, though the primary failed every time
    # The primary saw one real request, then only probes: one after it failed, one per later
    # chat that skipped it. The secondary served all three chats.
    assert len(setup.requests("key-a")) == 1 + 1 + 2
    assert len(setup.requests("key-b")) == 3


@pytest.mark.spec("FALLBACK-1", "RETRY-1")
async def test_a_timeout_is_a_failure_before_output(fallback):
    # Primary: silent for 30 s x 0.01 = 0.3 s before its first event; attempt_timeout 0.1 s.
    setup = await fallback(
        primary=answering("primary", "late", {"kind": "stall", "at_event": 0, "seconds": 30}),
        secondary=answering("secondary", "on time"),
    )
    adapter = setup.adapter("key-a", "key-b", attempt_timeout=0.1)
    errors: list[LLMErrorEvent] = []
    setup.llms["key-a"].on("error", errors.append)

    chunks, error = await consume(adapter.chat(chat_ctx=conversation()))

    assert error is None and text_of(chunks) == "on time"
    assert isinstance(errors[0].error, APITimeoutError)
    assert setup.events == [("key-a", False)]


@pytest.mark.spec("FALLBACK-1", "RETRY-4")
async def test_retries_within_one_llm_come_before_falling_back(fallback):
    # 503 on attempt 1 only: with one retry per LLM, the primary answers itself.
    setup = await fallback(
        primary=answering("primary", "retried", {"kind": "status", "attempt": 1, "code": 503}),
        secondary=answering("secondary", "unused"),
    )
    adapter = setup.adapter("key-a", "key-b", max_retry_per_llm=1, retry_interval=0.01)

    chunks, error = await consume(adapter.chat(chat_ctx=conversation()))

    assert error is None and text_of(chunks) == "retried"
    assert setup.events == []
    assert len(setup.requests("key-a")) == 2
    assert setup.requests("key-b") == []


# -- FALLBACK-2 --------------------------------------------------------------------------------

# An in-band error event before event 3: events 1 and 2 ("part", "ial ") are visible output.
AFTER_OUTPUT = {"kind": "error_event", "at_event": 3, "message": "upstream broke"}


@pytest.mark.spec("FALLBACK-2")
async def test_failure_after_output_is_raised_as_is(fallback):
    setup = await fallback(
        primary=answering("primary", "partial answer", AFTER_OUTPUT),
        secondary=answering("secondary", "from secondary"),
    )
    adapter = setup.adapter("key-a", "key-b")
    errors: list[LLMErrorEvent] = []
    setup.llms["key-a"].on("error", errors.append)

    chunks, error = await consume(adapter.chat(chat_ctx=conversation()))

    assert text_of(chunks) == "partial "
    assert isinstance(error, APIConnectionError)
    assert error is errors[-1].error  # the primary's own error, not an "all failed" summary
    assert error.retryable is False
    assert setup.requests("key-b") == []


@pytest.mark.spec("FALLBACK-2")
async def test_retry_on_chunk_sent_continues_with_the_next_llm(fallback):
    setup = await fallback(
        primary=answering("primary", "partial answer", AFTER_OUTPUT),
        secondary=answering("secondary", "from secondary"),
    )
    adapter = setup.adapter("key-a", "key-b", retry_on_chunk_sent=True)

    stream = adapter.chat(chat_ctx=conversation())
    chunks, error = await consume(stream)

    assert error is None
    assert text_of(chunks) == "partial from secondary"
    assert stream.served_by is setup.llms["key-b"]
    assert setup.events == [("key-a", False)]
    assert len(setup.requests("key-b")) == 1


# -- FALLBACK-3 --------------------------------------------------------------------------------


@pytest.mark.spec("FALLBACK-3")
async def test_all_failing_raises_api_connection_error(fallback):
    setup = await fallback(
        primary=failing("primary", 500),
        secondary=failing("secondary", 503),
        tertiary=failing("tertiary", 429),
    )
    adapter = setup.adapter("key-a", "key-b", "key-c")

    chunks, error = await consume(adapter.chat(chat_ctx=conversation()))
    await adapter.probes_settled()

    assert chunks == []
    assert isinstance(error, APIConnectionError)
    assert "all LLMs failed" in str(error)
    assert all(label in str(error) for label in SCENARIO_OF.values())
    assert setup.events == [("key-a", False), ("key-b", False), ("key-c", False)]
    assert [len(setup.requests(k)) for k in SECRETS] == [2, 2, 2]  # the chat, then a probe


@pytest.mark.spec("FALLBACK-3", "FALLBACK-4")
async def test_when_all_are_unavailable_the_first_is_still_tried(fallback):
    # Primary: 500 on attempts 1 (the chat) and 2 (its probe), answers from attempt 3 on.
    setup = await fallback(
        primary=answering(
            "primary",
            "back again",
            {"kind": "status", "attempt": 1, "code": 500},
            {"kind": "status", "attempt": 2, "code": 500},
        ),
        secondary=failing("secondary"),
    )
    adapter = setup.adapter("key-a", "key-b")

    _, error = await consume(adapter.chat(chat_ctx=conversation()))
    assert isinstance(error, APIConnectionError)
    await adapter.probes_settled()  # both probes failed: nothing is available
    assert not any(adapter.is_available(llm) for llm in adapter.llms)

    stream = adapter.chat(chat_ctx=conversation())
    chunks, error = await consume(stream)

    assert error is None and text_of(chunks) == "back again"
    assert stream.served_by is setup.llms["key-a"]
    # Having answered, the primary is available again without waiting for a probe.
    assert adapter.is_available(setup.llms["key-a"])
    assert len(setup.requests("key-a")) == 3  # chat, probe, chat
    assert len(setup.requests("key-b")) == 2  # chat, probe: the second chat never got there


# -- FALLBACK-4 --------------------------------------------------------------------------------


@pytest.mark.spec("FALLBACK-4")
async def test_recovery_probe_makes_the_primary_available_again(fallback):
    # Primary: 500 on attempt 1 only; the probe replays the same body, so it is attempt 2.
    setup = await fallback(
        primary=answering("primary", "from primary", {"kind": "status", "attempt": 1, "code": 500}),
        secondary=answering("secondary", "from secondary"),
    )
    adapter = setup.adapter("key-a", "key-b")

    chunks, _ = await consume(adapter.chat(chat_ctx=conversation(), tools=[get_weather]))
    assert text_of(chunks) == "from secondary"
    await adapter.probes_settled()

    assert setup.events == [("key-a", False), ("key-a", True)]
    assert adapter.is_available(setup.llms["key-a"])
    failed, probe = setup.requests("key-a")
    assert probe == failed  # the probe replays the failed request (same context and tools)

    stream = adapter.chat(chat_ctx=conversation(), tools=[get_weather])
    chunks, error = await consume(stream)
    assert error is None and text_of(chunks) == "from primary"
    assert stream.served_by is setup.llms["key-a"]
    assert len(setup.requests("key-b")) == 1


class SignallingJournal(Journal):
    """A journal that also sets ``seen`` when an entry of one ``kind`` is recorded, so a test
    can await the simulator reaching a point instead of sleeping."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.seen = asyncio.Event()

    def record(self, **fields: Any) -> None:
        super().record(**fields)
        if fields["kind"] == self.kind:
            self.seen.set()


@pytest.mark.spec("FALLBACK-4")
async def test_aclose_cancels_running_probes():
    # In-process, so the probe's stalled body lives in the probe task itself: cancelling the
    # task ends the request at once, and the journal shows the client going away.
    # Primary: 500 on attempt 1, so its probe is attempt 2, which stalls 1000 s x 0.01 = 10 s.
    primary = answering(
        "primary",
        "slow",
        {"kind": "status", "attempt": 1, "code": 500},
        {"kind": "stall", "attempt": 2, "at_event": 1, "seconds": 1000},
    )
    async with respx_llm(primary, credentials=CREDENTIALS) as sim:
        sim.load(answering("secondary", "from secondary"))
        sim.load(Scenario.echo("tertiary"))
        journal = sim.state.journal = SignallingJournal("sleep")
        setup = Setup(journal, make_llms(sim.base_url))
        adapter = setup.adapter("key-a", "key-b")
        try:
            chunks, _ = await consume(adapter.chat(chat_ctx=conversation()))
            assert text_of(chunks) == "from secondary"
            # The generous bound only turns a hang into a failure; the stall starts at once.
            await asyncio.wait_for(journal.seen.wait(), timeout=5)
            await adapter.aclose()
        finally:
            for llm in setup.llms.values():
                await llm.aclose()

    [stall] = [e for e in journal.entries() if e["kind"] == "sleep"]
    assert stall["scenario"] == "primary" and stall["data"]["reason"] == "stall"
    probe = journal.entries(exchange=stall["exchange"])
    assert next(e for e in probe if e["kind"] == "rule")["data"]["attempt"] == 2
    assert (probe[-1]["kind"], probe[-1]["data"]) == ("client_gone", "closed by the client")
    assert setup.events == [("key-a", False)]  # the cancelled probe never reported recovery
    assert not adapter.is_available(setup.llms["key-a"])


# -- FALLBACK-5 and construction ---------------------------------------------------------------


@pytest.mark.spec("FALLBACK-5")
def test_an_empty_list_is_refused():
    with pytest.raises(ValueError, match="llms"):
        FallbackAdapter([])


async def test_bad_arguments_are_named():
    llm = LLM("openai/gpt-4.1-mini", base_url="http://127.0.0.1:9/v1", api_key="k", api_secret="s")
    try:
        with pytest.raises(TypeError, match=r"llms\[1\]"):
            FallbackAdapter([llm, "gpt"])  # type: ignore[list-item]
        with pytest.raises(ValueError, match="timeout"):
            FallbackAdapter([llm], attempt_timeout=-1)
        with pytest.raises(TypeError, match="conn_options"):
            FallbackAdapter([llm]).chat(chat_ctx=conversation(), conn_options=None)
    finally:
        await llm.aclose()


async def test_socket_and_in_process_fallback_agree(fallback):
    # The same adapter story over the socket simulator and in-process: same chunks, events.
    scenarios = {
        "primary": answering("primary", "p", {"kind": "status", "attempt": 1, "code": 500}),
        "secondary": answering("secondary", "from secondary"),
    }
    setup = await fallback(**scenarios)
    over_socket, _ = await consume(setup.adapter("key-a", "key-b").chat(chat_ctx=conversation()))
    async with respx_llm(scenarios["primary"], credentials=CREDENTIALS) as sim:
        sim.load(scenarios["secondary"])
        sim.load(Scenario.echo("tertiary"))
        local = Setup(sim.journal, make_llms(sim.base_url))
        try:
            in_process, _ = await consume(
                local.adapter("key-a", "key-b").chat(chat_ctx=conversation())
            )
            await local.adapters[0].probes_settled()
        finally:
            for llm in local.llms.values():
                await llm.aclose()
    await setup.adapters[0].probes_settled()
    assert [c.delta for c in in_process] == [c.delta for c in over_socket]
    assert local.events == setup.events == [("key-a", False), ("key-a", True)]
