"""``voicewire bench llm``: the result's structure, the CLI and the JSON file, never the numbers.

Also the simulator's fast paths the benchmark led to (``StreamTemplates``,
``Journal.writer``): each must give exactly what the plain path gives.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from voicewire.harness.bench import (
    MAX_CHUNKS,
    TARGETS,
    aimock_fixture,
    bench_llm,
    bench_request_body,
    bench_scenario,
    format_bench_report,
)
from voicewire.harness.cli import main
from voicewire.reference.llm.wire import DONE_EVENT, encode_event
from voicewire.simulators.core.journal import Journal
from voicewire.simulators.llm import (
    ChatCompletionRequest,
    Fragmentation,
    LLMReply,
    StreamTemplates,
    ToolCallScript,
    UsageScript,
    plan_chunks,
    read_request,
)


def expected_events(chunks: int) -> int:
    """How many SSE events the simulator plans for the benchmark reply, [DONE] included."""
    reply = bench_scenario(chunks).rules[0].reply
    request = read_request(bench_request_body())
    return len(list(plan_chunks(reply, request=request, completion_id="x", created=0))) + 1


# -- the benchmark -------------------------------------------------------------------------------


async def test_the_simulator_and_the_bare_handler_stream_the_same_reply():
    result = await bench_llm(chunks=50, rounds=1, aimock=None)

    assert sorted(run.server for run in result.runs) == ["bare", "simulator"]
    assert result.aimock_skipped == "not requested" and result.ratio_aimock is None
    for run in result.runs:
        assert run.round == 1
        assert run.events == expected_events(50)
        assert run.bytes == result.stream_bytes
        assert run.seconds >= run.first_byte > 0
        assert run.server_cpu_seconds is None or run.server_cpu_seconds >= 0
    simulator, bare = result.figures_of("simulator"), result.figures_of("bare")
    assert result.ratio_bare == pytest.approx(simulator.events_per_second / bare.events_per_second)
    assert result.ttfb_ratio == pytest.approx(simulator.first_byte_ms / bare.first_byte_ms)
    assert result.verdicts["aimock"] is None
    assert result.meets_targets == (
        result.ratio_bare >= TARGETS["bare"] and result.ttfb_ratio <= TARGETS["ttfb"]
    )


async def test_an_aimock_that_cannot_be_had_is_skipped_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no node, no npm
    result = await bench_llm(chunks=20, rounds=1, aimock=tmp_path / "aimock")
    assert result.ratio_aimock is None
    assert result.aimock_skipped == "node is not installed"
    assert "not measured: node is not installed" in format_bench_report(result)


def test_the_aimock_fixture_is_the_simulators_reply():
    fixture = aimock_fixture(40)["fixtures"][0]
    reply = bench_scenario(40).rules[0].reply
    assert fixture["response"]["content"] == reply.content and fixture["chunkSize"] == 4
    assert [(c["name"], c["arguments"]) for c in fixture["response"]["toolCalls"]] == [
        (call.name, call.arguments_text) for call in reply.tool_calls
    ]
    assert (
        fixture["match"]["userMessage"]
        == json.loads(bench_request_body())["messages"][0]["content"]
    )


def test_voicewire_bench_llm_prints_a_table_and_replaces_the_json_file(tmp_path, capsys):
    path = tmp_path / "bench.json"
    path.write_text("an older result\n")
    argv = ["--chunks", "30", "--rounds", "2", "--aimock", "off", "--json", str(path)]

    code = main(["bench", "llm", *argv])

    data = json.loads(path.read_text())  # strict JSON: no NaN, no partial file
    assert code == (0 if all(v is not False for v in data["verdicts"].values()) else 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.json"]  # no temporary left
    assert (data["chunks"], data["rounds"]) == (30, 2)
    assert [(run["round"], run["server"]) for run in data["runs"]] == [
        (1, "simulator"),
        (1, "bare"),
        (2, "bare"),
        (2, "simulator"),
    ]
    assert {run["events"] for run in data["runs"]} == {expected_events(30)}
    assert data["ratio_bare"] > 0 and data["environment"]["python"]
    out = capsys.readouterr().out
    assert f"simulator/bare events/s   = {data['ratio_bare']:.2f}x" in out
    assert "median" in out and f"results written to {path}" in out


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"rounds": 0}, ValueError, "rounds must be >= 1, got 0"),
        ({"chunks": True}, TypeError, "chunks must be an int, got bool"),
        ({"chunks": 2.5}, TypeError, "chunks must be an int, got float"),
        ({"chunks": MAX_CHUNKS + 1}, ValueError, f"chunks must be <= {MAX_CHUNKS}"),
    ],
)
async def test_bench_llm_refuses_bad_sizes_before_starting_anything(kwargs, error, message):
    with pytest.raises(error, match=message):
        await bench_llm(**kwargs)


# -- the fast paths must not change a byte ------------------------------------------------------

words = st.text(max_size=24)
replies = st.builds(
    LLMReply,
    content=words,
    reasoning=st.none() | words,
    tool_calls=st.lists(
        st.builds(
            ToolCallScript,
            name=st.text(min_size=1, max_size=8),
            arguments=st.dictionaries(st.text(max_size=4), st.integers() | words, max_size=3)
            | words,
            id=st.none() | st.text(min_size=1, max_size=6),
            omit_id=st.booleans(),
            index=st.none() | st.integers(0, 4),
        ),
        max_size=3,
    ),
    finish_reason=st.none() | st.sampled_from(["stop", "tool_calls", "length"]),
    finish=st.booleans(),
    usage=st.just(False)
    | st.builds(UsageScript, prompt_tokens=st.none() | st.integers(0, 99))
    | st.just(UsageScript()),
    fragmentation=st.builds(
        Fragmentation,
        strategy=st.sampled_from(["whole", "per_char", "fixed", "random"]),
        size=st.integers(1, 6),
        seed=st.integers(0, 9),
        tool_calls=st.sampled_from(["sequential", "one_delta", "in_finish", "interleaved"]),
    ),
)
requests = st.builds(
    ChatCompletionRequest,
    model=st.sampled_from(
        ["openai/gpt-4.1-mini", "google/gemini-2.5-flash", "caf\u00e9/m\u00f6del"]
    ),
    messages=st.lists(st.fixed_dictionaries({"role": st.just("user"), "content": words})),
    stream=st.just(True),
    include_usage=st.booleans(),
    tools=st.just([]),
)
identities = st.tuples(st.text(min_size=1, max_size=12), st.integers(0, 2**33))


@given(replies, st.lists(st.tuples(requests, identities), min_size=1, max_size=3))
def test_stream_templates_give_exactly_the_planned_and_encoded_events(reply, streams):
    templates = StreamTemplates()
    for request, (completion_id, created) in streams:  # later ones hit the cache
        planned = plan_chunks(reply, request=request, completion_id=completion_id, created=created)
        assert list(
            templates.events(reply, request=request, completion_id=completion_id, created=created)
        ) == [*map(encode_event, planned), DONE_EVENT]


@given(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5) | st.none()))
def test_encode_event_is_compact_json_in_one_sse_event(payload):
    expected = json.dumps(payload, separators=(",", ":"))
    assert encode_event(payload) == b"data: " + expected.encode() + b"\n\n"


def test_stream_templates_keep_only_the_most_recently_used_replies():
    templates = StreamTemplates(max_entries=2)
    request = read_request(bench_request_body())
    replies_ = [LLMReply(content=f"reply {n}") for n in range(3)]
    for reply in (*replies_, replies_[2]):
        list(templates.events(reply, request=request, completion_id="c", created=1))
    assert len(templates) == 2


@pytest.mark.parametrize("bad", [0, -1, True, 1.5])
def test_stream_templates_refuse_a_bad_size(bad):
    with pytest.raises(ValueError, match="max_entries must be a positive int"):
        StreamTemplates(max_entries=bad)


def test_stream_templates_keep_no_reply_larger_than_their_byte_bound():
    templates = StreamTemplates(max_bytes=600)
    request = read_request(bench_request_body())
    small, large = LLMReply(content="short"), LLMReply(content="x" * 5000)
    for reply in (small, large, large):
        events = list(templates.events(reply, request=request, completion_id="c", created=1))
        planned = plan_chunks(reply, request=request, completion_id="c", created=1)
        assert events == [*map(encode_event, planned), DONE_EVENT]
    assert len(templates) == 1 and 0 < templates.bytes <= 600


def test_stream_templates_keep_nothing_of_a_stream_left_unfinished():
    templates = StreamTemplates()
    request = read_request(bench_request_body())
    events = templates.events(
        LLMReply(content="abc"), request=request, completion_id="c", created=1
    )
    next(events)
    events.close()
    assert len(templates) == 0


@pytest.mark.parametrize("bad", [0, -1, True, 1.5])
def test_stream_templates_refuse_a_bad_byte_bound(bad):
    with pytest.raises(ValueError, match="max_bytes must be a positive int"):
        StreamTemplates(max_bytes=bad)


@pytest.mark.parametrize("data", [b'data: {"a":"\xc3\xa9"}\n\n', b"data: \xff\xfe broken\n\n"])
def test_the_writer_makes_the_entry_record_makes(data):
    journal = Journal()
    journal.writer("s", 4, "sse_event")(data, 7)
    text = data.decode("utf-8", errors="backslashreplace")
    journal.record(scenario="s", exchange=4, direction="out", kind="sse_event", data=text, event=7)
    written, recorded = journal.entries()
    assert (written["seq"], recorded["seq"]) == (0, 1)
    assert {k: v for k, v in written.items() if k not in ("seq", "t")} == {
        k: v for k, v in recorded.items() if k not in ("seq", "t")
    }
    assert list(written) == list(recorded)
    assert written["data"] == text and written["event"] == 7
    assert written["type"] == "wire.frame" and written["direction"] == "out"


def test_journal_entries_keep_their_order_filters_and_bound():
    ticks = iter(range(100))
    journal = Journal(max_entries=3, clock=lambda: float(next(ticks)))
    journal.record(scenario="a", exchange=1, direction="in", kind="http_request", data={"x": 1})
    write = journal.writer("a", 1, "sse_event")
    write(b"data: 1\n\n", 0)
    journal.record(scenario="b", exchange=2, direction="note", kind="rule", data={"rule": 3})
    (returned,) = journal.entries(scenario="b")
    write(b"data: [DONE]\n\n", 1)

    assert returned == {
        "type": "wire.note",
        "seq": 2,
        "t": 3.0,
        "scenario": "b",
        "exchange": 2,
        "kind": "rule",
        "data": {"rule": 3},
    }
    assert journal.dropped == 1
    assert [e["seq"] for e in journal.entries()] == [1, 2, 3]
    assert [e["data"] for e in journal.entries(scenario="a", exchange=1)] == [
        "data: 1\n\n",
        "data: [DONE]\n\n",
    ]
    journal.clear(scenario="a")
    assert [e["kind"] for e in journal.entries()] == ["rule"]
