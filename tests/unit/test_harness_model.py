"""The harness's data model: the capability table, canonical events, IUT specs and requests,
verdicts."""

from __future__ import annotations

import json
import re
import sys
import textwrap

import pytest
from pydantic import ValidationError
from voicewire.harness.capabilities import Capability, CapabilityTable, Operation, ProtocolSpec
from voicewire.harness.events import ErrorInfo, dump_events, event_json_schema, load_events
from voicewire.harness.iut import IUTProtocolError, IUTSpecError
from voicewire.harness.iut_spec import parse_iut_spec
from voicewire.harness.llm import (
    ChatAnswer,
    ChatEndEvent,
    ChatRequest,
    ChunkEvent,
    ContextRequest,
    FallbackChatRequest,
    LLMTarget,
    ToolCall,
    UsageEvent,
    chat,
)
from voicewire.harness.protocols import TABLE
from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.harness.stt_reference import STTReference
from voicewire.harness.url_iut import URLIUT
from voicewire.harness.verdicts import (
    CaseResult,
    Outcome,
    SpecViolation,
    case_outcome,
    expect,
    requirement_results,
    run_exit_code,
)

TARGET = LLMTarget(base_url="http://127.0.0.1:1/v1", api_key="k", api_secret="s")


# -- events ------------------------------------------------------------------------------------


def test_events_round_trip_through_json():
    events = [
        ChunkEvent(
            t=0.1,
            id="c1",
            content="Hi",
            tool_calls=(ToolCall(name="f", arguments="{}", call_id="a"),),
        ),
        UsageEvent(
            t=0.2,
            id="c1",
            completion_tokens=1,
            prompt_tokens=2,
            prompt_cached_tokens=0,
            total_tokens=3,
        ),
        ChatEndEvent(
            t=0.3, error=ErrorInfo(kind="APIStatusError", status_code=503, retryable=True)
        ),
    ]
    text = json.dumps(dump_events(events))
    assert load_events(TABLE, text) == events
    assert [e["type"] for e in json.loads(text)] == ["llm.chunk", "llm.usage", "llm.end"]


def test_a_bad_event_is_refused_with_its_index_and_field():
    with pytest.raises(ValidationError) as info:
        load_events(TABLE, [{"type": "llm.end", "t": 0}, {"type": "llm.chunk", "t": -1, "id": "x"}])
    locations = [err["loc"] for err in info.value.errors()]
    assert (1, "llm.chunk", "t") in locations


def test_an_unknown_event_type_is_refused():
    with pytest.raises(ValidationError, match=r"llm\.chunk"):
        load_events(TABLE, [{"type": "llm.chonk", "t": 0}])


def test_visible_output_is_text_or_a_tool_call():
    assert not ChunkEvent(t=0, id="c").visible
    assert not ChunkEvent(t=0, id="c", content="").visible
    assert ChunkEvent(t=0, id="c", content=" ").visible


def test_event_schema_names_every_event_type():
    schema = event_json_schema(TABLE)
    text = json.dumps(schema)
    for kind in (
        "llm.chunk",
        "llm.usage",
        "llm.error",
        "llm.availability",
        "llm.end",
        "wire.frame",
    ):
        assert kind in text
    assert schema["$schema"].endswith("2020-12/schema")


def test_a_chat_answer_ends_with_an_llm_end_per_call():
    end = {"type": "llm.end", "t": 0.1}
    chunk = {"type": "llm.chunk", "t": 0.0, "id": "c", "content": "x"}
    assert ChatAnswer.model_validate({"events": [chunk, end]}).calls == 1
    assert ChatAnswer.model_validate({"events": [chunk, end, chunk, end]}).calls == 2
    for events in ([chunk], [end, chunk], []):
        with pytest.raises(ValidationError, match=r"must end with an llm\.end"):
            ChatAnswer.model_validate({"events": events})


class _Answering:
    """A driver whose IUT answers every chat with ``events``."""

    def __init__(self, events: list[dict]) -> None:
        self.events = events

    def perform(self, operation: str, request: object) -> ChatAnswer:
        return ChatAnswer.model_validate({"events": self.events})


def test_again_after_asks_for_two_calls_and_the_outcome_splits_them():
    end = {"type": "llm.end", "t": 0.1}
    failed = {"type": "llm.end", "t": 0.3, "error": {"kind": "APITimeoutError"}}
    chunk = {"type": "llm.chunk", "t": 0.0, "id": "c", "content": "x"}
    target = LLMTarget(base_url="http://127.0.0.1:1/v1", api_key="k", api_secret="s")
    outcome = chat(_Answering([chunk, end, failed]), llm=target, again_after=1.0)
    first, second = outcome.calls
    assert first.text == "x" and first.error is None
    assert second.text == "" and second.error is not None and outcome.error == second.error
    # An IUT that made another number of calls broke the protocol: the case is an ERROR.
    with pytest.raises(IUTProtocolError, match="asked for 2 chat"):
        chat(_Answering([chunk, end]), llm=target, again_after=1.0)
    with pytest.raises(IUTProtocolError, match="asked for 1 chat"):
        chat(_Answering([chunk, end, end]), llm=target)


# -- the capability table ----------------------------------------------------------------------


def test_the_table_knows_each_capability_its_protocol_direction_and_operations():
    assert TABLE.names == {
        "llm.chat",
        "llm.fallback",
        "chat_context",
        "llm.server",
        "stt.stream",
        "stt.time_scale",
        "stt.server",
        "tts.stream",
        "tts.synthesize",
        "tts.server",
        "inworld.tts.http",
        "inworld.tts.stream",
        "inworld.voices",
        "inworld.stt.stream",
        "inworld.server",
    }
    assert TABLE.direction_of("llm.server") == "server"
    assert TABLE.direction_of("chat_context") == "client"
    assert TABLE.direction_of(None) == "client"
    assert TABLE.with_direction("server") == {
        "llm.server",
        "stt.server",
        "tts.server",
        "inworld.server",
    }
    operation, capability = TABLE.operation("llm.fallback")
    assert (operation.method, operation.request, capability.name) == (
        "llm_fallback",
        FallbackChatRequest,
        "llm.fallback",
    )
    assert [op.name for op in TABLE.operations_of(["llm.chat", "chat_context"])] == [
        "llm.chat",
        "chat_context",
    ]
    assert TABLE.server_capabilities() == {"llm.server"}
    with pytest.raises(KeyError, match="unknown protocol"):
        TABLE.server_capabilities(["sip"])


def test_a_protocol_registers_capabilities_and_event_types_without_clashes():
    from typing import Literal

    from pydantic import BaseModel
    from voicewire.harness.events import BaseEvent

    class Ping(BaseEvent):
        type: Literal["toy.ping"] = "toy.ping"

    class Request(BaseModel):
        text: str

    class Answer(BaseModel):
        events: list[Ping]

    toy = ProtocolSpec(
        name="toy",
        capabilities=(
            Capability(
                "toy.echo", "toy", "client", (Operation("toy.echo", Request, Answer, "echo"),), ""
            ),
        ),
        event_types=(Ping,),
    )
    table = CapabilityTable(TABLE.protocols)
    table.register(toy)
    assert "toy.ping" in table.event_type_names()
    assert load_events(table, [{"type": "toy.ping", "t": 0}]) == [Ping(t=0)]
    assert table.operation("toy.echo")[0].check_answer({"events": [{"t": 1}]}).events == [Ping(t=1)]
    with pytest.raises(ValueError, match="reuses registered names"):
        table.register(ProtocolSpec(name="toy2", capabilities=(), event_types=(Ping,)))
    with pytest.raises(ValueError, match="is registered by 'other'"):
        ProtocolSpec(name="other", capabilities=toy.capabilities)
    with pytest.raises(ValueError, match="a server capability has no operations"):
        Capability("toy.server", "toy", "server", toy.capabilities[0].operations, "")
    table.unregister("toy")
    assert "toy.echo" not in table and "toy.ping" not in table.event_type_names()


# -- IUT specs and requests --------------------------------------------------------------------


def test_reference_spec_builds_the_reference_adapter():
    iut = parse_iut_spec("reference")
    assert isinstance(iut, ReferenceIUT)
    assert {"llm.chat", "llm.fallback", "chat_context", "llm.server"} <= iut.capabilities
    assert {"stt.stream", "stt.time_scale"} <= iut.capabilities


def test_a_part_leaves_out_the_capabilities_it_lacks():
    """A part naming a capability in ``lacks`` (upstream's STT: timers it cannot scale) does
    not declare it; the rest of its protocol's capabilities it does."""

    class FixedTimers(STTReference):
        lacks = frozenset({"stt.time_scale"})

    iut = ReferenceIUT(parts={"stt": FixedTimers()}, name="fixed-timers")
    assert "stt.stream" in iut.capabilities and "stt.server" in iut.capabilities
    assert "stt.time_scale" not in iut.capabilities
    assert "llm.chat" in iut.capabilities


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "--iut is empty"),
        ("referense", "unknown --iut 'referense'"),
        ("python:nomodule", "python: needs 'python:package.module:factory'"),
        ("python:no_such_module_xyz:factory", "cannot import 'no_such_module_xyz'"),
        ("python:json:no_such_factory", "'json' has no callable 'no_such_factory'"),
        ("python:json:dumps", "dumps() raised TypeError"),
        ("python:json:JSONDecoder", "lacks name, capabilities, start"),
        ("cmd:   ", "cmd: needs a command line"),
        ("url:ftp://x", "url: needs an http:// or https:// base URL"),
        ("url:http://x/v1#protocols=sip", "unknown protocol(s) ['sip']"),
        ("url:http://x/v1#served=llm", "the fragment names the protocols served"),
    ],
)
def test_bad_iut_specs_say_what_is_wrong(spec, message):
    with pytest.raises(IUTSpecError, match=re.escape(message)):
        parse_iut_spec(spec)


def test_python_adapter_with_unknown_capabilities_is_refused(tmp_path, monkeypatch):
    (tmp_path / "odd_iut.py").write_text(
        textwrap.dedent(
            """
            class Odd:
                name = "odd"
                capabilities = frozenset({"llm.chat", "telepathy"})
                async def start(self): ...
                async def llm_chat(self, request): ...
                async def chat_context(self, request): ...
                async def aclose(self): ...

            def factory():
                return Odd()
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(IUTSpecError, match="capabilities must be a set drawn from"):
        parse_iut_spec("python:odd_iut:factory")
    sys.modules.pop("odd_iut", None)


def _adapter_module(tmp_path, monkeypatch, name, body):
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)


def test_an_adapter_declaring_any_subset_of_capabilities_is_valid(tmp_path, monkeypatch):
    _adapter_module(
        tmp_path,
        monkeypatch,
        "context_only_iut",
        """
        class ContextOnly:
            name = "context-only"
            capabilities = frozenset({"chat_context"})
            async def start(self): ...
            async def chat_context(self, request): ...
            async def aclose(self): ...

        def factory():
            return ContextOnly()
        """,
    )
    assert parse_iut_spec("python:context_only_iut:factory").capabilities == {"chat_context"}


def test_an_adapter_missing_an_operation_method_is_refused(tmp_path, monkeypatch):
    _adapter_module(
        tmp_path,
        monkeypatch,
        "half_iut",
        """
        class Half:
            name = "half"
            capabilities = frozenset({"llm.chat", "llm.fallback"})
            async def start(self): ...
            async def llm_chat(self, request): ...
            async def aclose(self): ...

        def factory():
            return Half()
        """,
    )
    with pytest.raises(
        IUTSpecError, match=r"declares \['llm.chat', 'llm.fallback'\] but has no llm_fallback\(\)"
    ):
        parse_iut_spec("python:half_iut:factory")


def test_url_spec_names_the_protocols_it_serves():
    iut = parse_iut_spec("url:http://127.0.0.1:9/v1#protocols=llm")
    assert iut.capabilities == {"llm.server"}
    assert iut.server_target(iut.target).base_url == "http://127.0.0.1:9/v1"


def test_url_spec_takes_credentials_from_the_environment():
    iut = parse_iut_spec(
        "url:http://127.0.0.1:9/v1/",
        env={"VOICEWIRE_IUT_API_KEY": "key", "VOICEWIRE_IUT_API_SECRET": "secret"},
    )
    assert isinstance(iut, URLIUT)
    assert iut.capabilities == {"llm.server"}
    target = iut.server_target(iut.target)
    assert (target.base_url, target.api_key, target.api_secret) == (
        "http://127.0.0.1:9/v1",
        "key",
        "secret",
    )


def test_chat_requests_take_their_llm_or_fallback():
    with pytest.raises(ValidationError, match="llm"):
        ChatRequest()
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        ChatRequest(llm=TARGET, fallback={"llms": [TARGET]})
    assert FallbackChatRequest(fallback={"llms": [TARGET]}).fallback.llms == [TARGET]
    with pytest.raises(ValidationError, match="named tool_choice"):
        ChatRequest(llm=TARGET, tool_choice={"function": "f"})
    assert ChatRequest(llm=TARGET, tool_choice={"name": "f"}).conn_options.max_retry == 3


def test_context_request_refuses_unknown_operations():
    with pytest.raises(ValidationError, match="unknown chat-context op 'shuffle'"):
        ContextRequest(op="shuffle", ctx={"items": []})


# -- verdicts ----------------------------------------------------------------------------------


def _case(nodeid, ids, outcome, broken=()):
    return CaseResult(
        nodeid=nodeid,
        name=nodeid,
        suite="llm",
        direction="client",
        spec_ids=list(ids),
        outcome=outcome,
        broken_ids=list(broken),
    )


def test_spec_violation_needs_known_ids():
    with pytest.raises(ValueError, match="known SPEC IDs"):
        SpecViolation(["LLM-TC-99"], "nope")
    with pytest.raises(SpecViolation, match=r"\[LLM-TC-4\] interleaved"):
        expect(False, "LLM-TC-4", "interleaved")
    expect(True, "LLM-TC-4", "never raised")


def test_breaking_a_must_fails_and_breaking_only_shoulds_is_non_strict():
    assert case_outcome(["LLM-TC-1", "LLM-TC-4"]) is Outcome.FAIL
    assert case_outcome(["LLM-TC-4"]) is Outcome.NON_STRICT


def test_requirement_results_take_the_worst_case_and_spare_unbroken_ids():
    cases = [
        _case("a", ["LLM-TC-1", "LLM-TC-4"], Outcome.NON_STRICT, broken=["LLM-TC-4"]),
        _case("b", ["LLM-TC-1"], Outcome.PASS),
        _case("c", ["CTX-TRUNC-1"], Outcome.UNSUPPORTED),
        _case("d", ["LLM-TXT-1"], Outcome.ERROR),
        _case("e", ["LLM-TXT-1"], Outcome.FAIL, broken=["LLM-TXT-1"]),
    ]
    results = {r.id: r for r in requirement_results(cases)}
    assert results["LLM-TC-1"].outcome is Outcome.PASS
    assert results["LLM-TC-1"].counts == {"PASS": 2}
    assert results["LLM-TC-4"].outcome is Outcome.NON_STRICT
    assert results["CTX-TRUNC-1"].outcome is Outcome.UNSUPPORTED
    assert results["LLM-TXT-1"].outcome is Outcome.FAIL
    assert results["LLM-TXT-1"].cases == ["d", "e"]


def test_exit_codes():
    passed = _case("a", ["LLM-TC-1"], Outcome.PASS)
    lenient = _case("b", ["LLM-TC-4"], Outcome.NON_STRICT, broken=["LLM-TC-4"])
    assert run_exit_code([passed, lenient], strict=False) == 0
    assert run_exit_code([passed, lenient], strict=True) == 1
    assert run_exit_code([passed, _case("c", ["LLM-TC-1"], Outcome.ERROR)], strict=False) == 1
    assert run_exit_code([], strict=False) == 5
    assert run_exit_code([_case("d", ["LLM-TC-1"], Outcome.UNSUPPORTED)], strict=False) == 5


def test_outcomes_describe_their_events_one_per_line_up_to_a_limit():
    from voicewire.harness.events import describe_events
    from voicewire.harness.llm import ChatEndEvent, ChunkEvent

    events = [ChunkEvent(t=0.5 * n, id="c1", content=f"part {n}") for n in range(3)]
    events.append(ChatEndEvent(t=2.0))
    text = describe_events(events, 2)
    assert text.splitlines() == [
        "    0.000 llm.chunk {'id': 'c1', 'content': 'part 0'}",
        "    0.500 llm.chunk {'id': 'c1', 'content': 'part 1'}",
        "  ... 2 more events",
    ]
    assert describe_events(events, 10).splitlines()[-1] == "    2.000 llm.end {}"
