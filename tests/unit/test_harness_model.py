"""The harness's data model: canonical events, IUT specs and requests, verdicts."""

from __future__ import annotations

import json
import re
import sys
import textwrap

import pytest
from pydantic import ValidationError
from voicewire.harness.events import (
    ChunkEvent,
    EndEvent,
    ErrorInfo,
    ToolCall,
    UsageEvent,
    dump_events,
    event_json_schema,
    load_events,
)
from voicewire.harness.iut import (
    URLIUT,
    ChatRequest,
    ContextRequest,
    IUTSpecError,
    LLMTarget,
    parse_iut_spec,
)
from voicewire.harness.reference_iut import ReferenceIUT
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
        EndEvent(t=0.3, error=ErrorInfo(kind="APIStatusError", status_code=503, retryable=True)),
    ]
    text = json.dumps(dump_events(events))
    assert load_events(text) == events
    assert [e["type"] for e in json.loads(text)] == ["llm.chunk", "llm.usage", "llm.end"]


def test_a_bad_event_is_refused_with_its_index_and_field():
    with pytest.raises(ValidationError) as info:
        load_events([{"type": "llm.end", "t": 0}, {"type": "llm.chunk", "t": -1, "id": "x"}])
    locations = [err["loc"] for err in info.value.errors()]
    assert (1, "llm.chunk", "t") in locations


def test_an_unknown_event_type_is_refused():
    with pytest.raises(ValidationError, match=r"llm\.chunk"):
        load_events([{"type": "llm.chonk", "t": 0}])


def test_visible_output_is_text_or_a_tool_call():
    assert not ChunkEvent(t=0, id="c").visible
    assert not ChunkEvent(t=0, id="c", content="").visible
    assert ChunkEvent(t=0, id="c", content=" ").visible


def test_event_schema_names_every_event_type():
    schema = event_json_schema()
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


# -- IUT specs and requests --------------------------------------------------------------------


def test_reference_spec_builds_the_reference_adapter():
    iut = parse_iut_spec("reference")
    assert isinstance(iut, ReferenceIUT)
    assert {"llm.chat", "llm.fallback", "chat_context", "llm.server"} <= iut.capabilities


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


def test_chat_request_needs_exactly_one_llm():
    with pytest.raises(ValidationError, match="exactly one of 'llm' and 'fallback'"):
        ChatRequest()
    with pytest.raises(ValidationError, match="exactly one of 'llm' and 'fallback'"):
        ChatRequest(llm=TARGET, fallback={"llms": [TARGET]})
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
