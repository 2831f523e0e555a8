"""The simulator core without sockets: the executor walk (coalescing, lazy pulling), fault
placement, the journal's typed entries, the clock and deterministic ids, the protocol registry
(a toy protocol registered here), and the core's independence from every protocol module."""

from __future__ import annotations

import ast
import itertools
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, StrictStr
from voicewire.harness.protocols import TABLE
from voicewire.reference.auth import create_access_token
from voicewire.reference.llm.wire import encode_event
from voicewire.simulators import REGISTRY, SimulatedProtocol, create_app
from voicewire.simulators.core import faults as placement
from voicewire.simulators.core.actions import (
    BATCH_BYTES,
    FIRST_BATCH_BYTES,
    Action,
    Disconnect,
    Sleep,
    Write,
    walk,
)
from voicewire.simulators.core.clock import DEFAULT_EPOCH, SimulatorClock, WallClock
from voicewire.simulators.core.credentials import (
    DEFAULT_BASIC_KEY,
    Authentication,
    Credentials,
)
from voicewire.simulators.core.journal import Body, Journal, WireFrame, WireNote
from voicewire.simulators.core.limits import Limits
from voicewire.simulators.core.state import Exchange, Refusal, SimulatorState, derive_id
from voicewire.simulators.llm import (
    Fragmentation,
    LLMReply,
    read_request,
    stream_actions,
    stream_events,
)
from voicewire.simulators.scenario import (
    ENDPOINTS,
    EndpointSpec,
    ReorderFault,
    Scenario,
    ScenarioError,
    Timing,
    parse_scenario,
)

CORE = Path(__file__).resolve().parents[2] / "simulators" / "core"
REQUEST = read_request(
    json.dumps(
        {
            "model": "openai/gpt-4.1-mini",
            "messages": [{"role": "user", "content": "hi"}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    ).encode()
)


def exchange_of(scenario: Scenario | None = None) -> Exchange:
    scenario = scenario or Scenario.echo()
    state = SimulatorState(scenario, Credentials(), time_scale=None)
    return Exchange(state, state.journal.new_exchange(), scenario, "key")


def events(count: int, size: int = 40) -> list[bytes]:
    return [encode_event({"n": n, "pad": "x" * size}) for n in range(count)]


# -- the walk: coalescing ------------------------------------------------------------------------


def test_writes_due_together_go_out_in_few_batches_and_each_is_journaled():
    exchange = exchange_of()
    data = events(3000)  # about 180 KB
    steps = list(walk((Write(e, i) for i, e in enumerate(data)), journal=exchange, write_kind="k"))

    assert all(isinstance(s, bytes) for s in steps)
    assert b"".join(steps) == b"".join(data)  # type: ignore[arg-type]
    assert len(steps) <= 2 + len(b"".join(data)) // BATCH_BYTES
    assert len(steps[0]) <= FIRST_BATCH_BYTES  # the first byte leaves early
    assert all(len(s) <= BATCH_BYTES for s in steps)  # type: ignore[arg-type]
    # One journal entry per write, whatever batch it travelled in.
    written = [e for e in exchange.state.journal.entries() if e["kind"] == "k"]
    assert [e["event"] for e in written] == list(range(3000))
    assert [e["data"].encode() for e in written] == data


def test_batches_end_at_every_sleep_and_disconnect_and_never_cut_a_write():
    exchange = exchange_of()
    actions: list[Action] = [
        Write(b"a", 0),
        Write(b"b", 1),
        Sleep(0.5, "delay"),
        Write(b"c", 2),
        Sleep(0.0, "inter_chunk"),  # scaled to nothing: still the same instant
        Write(b"d", 3),
        Disconnect("reset"),
        Write(b"never", 4),
    ]
    steps = list(walk(actions, journal=exchange, write_kind="k"))
    assert steps == [b"ab", 0.5, b"cd", Disconnect("reset")]
    kinds = [(e["type"], e["kind"]) for e in exchange.state.journal.entries()]
    assert kinds == [
        ("wire.frame", "k"),
        ("wire.frame", "k"),
        ("wire.note", "sleep"),
        ("wire.frame", "k"),
        ("wire.note", "sleep"),
        ("wire.frame", "k"),
        ("wire.frame", "disconnect"),
    ]


def test_writes_marked_alone_are_never_merged():
    actions = [Write(b"ab", 0), Write(b"c", 0, alone=True), Write(b"d", 1, alone=True)]
    actions += [Write(b"ef", 2), Write(b"gh", 3)]
    assert list(walk(actions, journal=None, write_kind="k")) == [b"ab", b"c", b"d", b"efgh"]


def test_a_single_write_larger_than_a_batch_goes_out_whole():
    big = b"x" * (BATCH_BYTES + 10)
    steps = list(walk([Write(b"a"), Write(big), Write(b"b")], journal=None, write_kind="k"))
    assert steps == [b"a", big, b"b"]


def test_byte_split_pieces_go_out_exactly_as_scripted():
    scenario = parse_scenario({"rules": [{"faults": [{"kind": "byte_split", "sizes": [3, 1]}]}]})
    data = events(5)
    actions = stream_actions(data, faults=scenario.rules[0].faults, timing=Timing(), time_scale=1)
    steps = list(walk(actions, journal=None, write_kind="k"))
    sizes = [len(s) for s in steps]  # type: ignore[arg-type]
    assert sizes[:-1] == [(3, 1)[i % 2] for i in range(len(sizes) - 1)]
    assert b"".join(steps) == b"".join(data)  # type: ignore[arg-type]


# -- lazy production -----------------------------------------------------------------------------


class Counted:
    """An iterator that counts what was pulled from it."""

    def __init__(self, items: Iterator[bytes]) -> None:
        self.items = items
        self.pulled = 0

    def __iter__(self) -> Counted:
        return self

    def __next__(self) -> bytes:
        item = next(self.items)
        self.pulled += 1
        return item


def test_the_first_batch_of_a_200k_chunk_reply_leaves_before_the_plan_is_complete():
    reply = LLMReply(content="abcd" * 200_000, fragmentation=Fragmentation(size=4))
    planned = Counted(stream_events(reply, request=REQUEST, completion_id="c", created=0))
    steps = walk(
        stream_actions(planned, faults=[], timing=Timing(), time_scale=0.0),
        journal=None,
        write_kind="k",
    )
    first = next(steps)
    assert isinstance(first, bytes) and first.startswith(b"data: ")
    assert planned.pulled < 20  # out of 200,003 events
    steps.close()


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "reorder", "at_event": 150_000},
        {"kind": "byte_split", "sizes": [5]},
        {"kind": "delay", "at_event": 3, "seconds": 1},
        {"kind": "duplicate", "at_event": 0},
    ],
)
def test_faults_keep_production_lazy(fault):
    faults = parse_scenario({"rules": [{"faults": [fault]}]}).rules[0].faults
    planned = Counted(iter(events(200_000, size=1)))
    actions = stream_actions(planned, faults=faults, timing=Timing(), time_scale=0.0)
    next(walk(actions, journal=None, write_kind="k"))
    assert planned.pulled < 50


# -- fault placement against the eager definition ----------------------------------------------


def eager_order(count: int, reorders: list[int]) -> list[int]:
    """Sending order by the definition: each reorder, in list order, swaps its event with the
    one after it (by position), when there is an event after it."""
    order = list(range(count))
    for at in reorders:
        if at + 1 < count:
            k = order.index(at)
            if k + 1 < count:
                order[k], order[k + 1] = order[k + 1], order[k]
    return order


@given(st.integers(0, 30), st.lists(st.integers(0, 32), min_size=1, max_size=4))
def test_lazy_reorder_sends_what_the_definition_says(count, reorders):
    faults = [ReorderFault(kind="reorder", at_event=at) for at in reorders]
    data = [str(n).encode() for n in range(count)]
    sent = [index for index, _ in placement._reordered(iter(data), faults)]
    assert sent == eager_order(count, reorders)


def eager_split(runs: list[list[bytes]], sizes: list[int] | None, seed: int | None) -> list[int]:
    """Piece sizes by the definition: each run of writes re-cut, the size sequence going on
    across runs, a run's last piece short."""
    rng = random.Random(seed)
    cycle = itertools.cycle(sizes) if sizes is not None else None
    out = []
    for run in runs:
        data = b"".join(run)
        position = 0
        while position < len(data):
            size = next(cycle) if cycle is not None else rng.randint(1, 7)
            out.append(len(data[position : position + size]))
            position += size
    return out


@given(
    st.lists(st.lists(st.binary(max_size=12), max_size=4), min_size=1, max_size=4),
    st.lists(st.integers(1, 6), min_size=1, max_size=3) | st.none(),
    st.integers(0, 9),
)
def test_lazy_byte_split_cuts_what_the_definition_says(runs, sizes, seed):
    fault = {"kind": "byte_split", **({"sizes": sizes} if sizes else {"seed": seed})}
    [split] = parse_scenario({"rules": [{"faults": [fault]}]}).rules[0].faults
    actions: list[Action] = []
    for number, run in enumerate(runs):
        if number:
            actions.append(Sleep(1.0, "delay"))
        actions.extend(Write(data, n) for n, data in enumerate(run))
    pieces = [a for a in placement._split_writes(iter(actions), split) if isinstance(a, Write)]
    assert [len(p.data) for p in pieces] == eager_split(runs, sizes, None if sizes else seed)
    assert all(p.alone for p in pieces)
    assert b"".join(p.data for p in pieces) == b"".join(b"".join(run) for run in runs)


def test_a_piece_is_labelled_with_the_event_its_first_byte_belongs_to():
    [split] = (
        parse_scenario({"rules": [{"faults": [{"kind": "byte_split", "sizes": [2]}]}]})
        .rules[0]
        .faults
    )
    actions = [Write(b"abc", 0), Write(b"d", None), Write(b"ef", 2)]
    pieces = list(placement._split_writes(iter(actions), split))
    assert [(p.data, p.event) for p in pieces] == [(b"ab", 0), (b"cd", 0), (b"ef", 2)]


# -- the journal ---------------------------------------------------------------------------------


def test_journal_entries_are_typed_frames_and_notes_the_harness_event_model_accepts():
    journal = Journal()
    journal.record(scenario="s", exchange=1, direction="in", kind="http_request", data={"a": 1})
    journal.record(scenario="s", exchange=1, direction="note", kind="rule", data={"rule": 0})
    journal.writer("s", 1, "sse_event")(b"data: [DONE]\n\n", 3)

    frame, note, written = journal.records()
    assert isinstance(frame, WireFrame) and frame.direction == "in" and frame.event is None
    assert isinstance(note, WireNote) and note.kind == "rule"
    assert isinstance(written, WireFrame) and written.event == 3
    entries = journal.entries()
    assert entries == [r.model_dump(mode="json") for r in (frame, note, written)]
    assert "direction" not in entries[1]
    # The harness's canonical events include the journal's entry types.
    parsed = TABLE.event_adapter().validate_python(entries)
    assert [type(p) for p in parsed] == [WireFrame, WireNote, WireFrame]


def test_journal_refuses_a_direction_it_does_not_know():
    with pytest.raises(ValueError, match="direction"):
        Journal().record(scenario="s", exchange=1, direction="sideways", kind="x")  # type: ignore[arg-type]


def test_a_body_is_kept_as_bytes_cut_to_the_bound_and_decoded_only_when_read():
    journal = Journal(body_bytes=16)
    whole = journal.body(b'{"a": [1, 2]}')
    cut = journal.body(b'{"messages": ["a long message"]}')
    not_json = journal.body(b"\xff not json")
    for body in (whole, cut, not_json):
        journal.record(
            scenario="s", exchange=1, direction="in", kind="http_request", data={"body": body}
        )
    shown = [e["data"] for e in journal.entries()]
    assert shown[0] == {"body": {"a": [1, 2]}, "body_length": 13, "truncated": False}
    assert shown[1] == {"body": '{"messages": ["a', "body_length": 32, "truncated": True}
    assert shown[2]["body"] == "\\xff not json" and shown[2]["truncated"] is False
    assert isinstance(cut, Body) and cut.data == b'{"messages": ["a'


def test_a_body_deeper_than_the_journal_decodes_shows_as_text():
    journal = Journal(max_depth=3)
    journal.record(
        scenario="s", exchange=1, direction="in", kind="x", data={"body": journal.body(b"[[[[]]]]")}
    )
    assert journal.entries()[0]["data"]["body"] == "[[[[]]]]"


@pytest.mark.spec("SRV-4")
def test_the_journal_is_bounded_in_bytes_and_drops_the_oldest():
    journal = Journal(max_bytes=2000)
    write = journal.writer("s", 1, "sse_event")
    for n in range(50):
        write(b"x" * 100, n)
    assert journal.bytes <= 2000 and journal.dropped > 0
    kept = journal.entries()
    assert [e["event"] for e in kept] == list(range(50 - len(kept), 50))
    assert journal.dropped + len(kept) == 50
    # One entry larger than the whole bound still shows: the newest always stays.
    journal.record(scenario="s", exchange=2, direction="out", kind="big", data=b"y" * 5000)
    assert [e["kind"] for e in journal.entries()] == ["big"]
    journal.clear()
    assert journal.bytes == 0 and journal.dropped == 0


def test_journal_pages_follow_a_cursor_and_filters():
    journal = Journal()
    for n in range(7):
        journal.record(scenario="a" if n % 2 else "b", exchange=n, direction="note", kind="k")
    first = journal.page(limit=3)
    assert [e["seq"] for e in first] == [0, 1, 2] and first.next == 2 and first.last == 2
    second = journal.page(after=first.next, limit=3)
    assert [e["seq"] for e in second] == [3, 4, 5] and second.next == 5
    third = journal.page(after=second.next, limit=3)
    assert [e["seq"] for e in third] == [6] and third.next is None and third.last == 6
    assert [e["seq"] for e in journal.page(scenario="a", after=1, limit=10)] == [3, 5]
    assert journal.page(after=6).last is None
    with pytest.raises(ValueError, match="limit"):
        journal.page(limit=0)


def test_journal_listeners_hear_of_every_new_entry_until_they_leave():
    journal = Journal()
    heard: list[int] = []
    leave = journal.subscribe(lambda: heard.append(len(journal)))
    journal.record(scenario="s", exchange=1, direction="note", kind="k")
    journal.writer("s", 1, "sse_event")(b"data: x\n\n", 0)
    assert heard == [1, 2] and journal.followers == 1
    leave()
    journal.record(scenario="s", exchange=1, direction="note", kind="k")
    assert heard == [1, 2] and journal.followers == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_body_bytes", 0),
        ("max_json_depth", True),
        ("max_sessions_per_key", 0),
        ("head_timeout", 0),
        ("body_timeout", float("inf")),
        ("idle_timeout", -1),
        ("match_timeout", "fast"),
        ("journal_bytes", 1.5),
    ],
)
def test_limits_refuse_what_cannot_be_a_limit(field, value):
    with pytest.raises(ValueError, match=field):
        Limits(**{field: value})


# -- admission: sessions per key and the token in the journal -----------------------------------


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.spec("SRV-4", "LLM-SSE-6")
def test_a_key_has_at_most_its_sessions_open_and_closing_one_frees_a_slot():
    credentials = Credentials()
    key, secret = next(iter(credentials.keys.items()))
    state = SimulatorState(
        Scenario.echo(), credentials, time_scale=None, limits=Limits(max_sessions_per_key=2)
    )
    token = create_access_token(key, secret)
    first, second = state.admit(_headers(token)), state.admit(_headers(token))
    with pytest.raises(Refusal) as caught:
        state.admit(_headers(token))
    assert caught.value.status == 429 and caught.value.headers == {"Retry-After": "1"}
    assert caught.value.body["error"]["type"] == "rate_limit_error"
    first.close()
    first.close()  # closing twice releases one slot only
    third = state.admit(_headers(token))
    assert state.open_sessions == {key: 2}
    for exchange in (second, third):
        exchange.close()
    assert state.open_sessions == {} and third.closed


@pytest.mark.spec("AUTH-4")
@pytest.mark.parametrize("credential", ["\udcff\udcfe", "é.é.é", "a.b"])
def test_a_token_that_is_not_ascii_or_not_a_jwt_is_a_401(credential):
    state = SimulatorState(Scenario.echo(), Credentials(), time_scale=None)
    with pytest.raises(Refusal) as caught:
        state.admit(_headers(credential))
    assert caught.value.status == 401
    assert caught.value.body["error"]["type"] == "authentication_error"


@pytest.mark.spec("AUTH-6")
def test_a_basic_key_route_admits_a_known_key_verbatim_and_journals_only_its_fingerprint():
    state = SimulatorState(Scenario.echo(), Credentials(), time_scale=None)
    exchange = state.admit(
        {"Authorization": f"Basic {DEFAULT_BASIC_KEY}"}, Authentication.BASIC_KEY
    )
    assert exchange.api_key == DEFAULT_BASIC_KEY
    assert exchange.token is not None and exchange.token["scheme"] == "basic"
    assert DEFAULT_BASIC_KEY not in json.dumps(exchange.token)
    exchange.close()


@pytest.mark.spec("AUTH-6")
@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "no Authorization header"),
        ("Basic someone-else", "unknown"),
        # A bearer token is not a Basic key, even a valid one for the same simulator.
        (f"Bearer {create_access_token(*next(iter(Credentials().keys.items())))}", "not 'Basic"),
        # The key is compared as sent: Basic of the base64 of the key is another key.
        ("Basic ZG05cFkyVjNhWEpsTFdSbGRqcGlZWE5wWXkxelpXTnlaWFE9", "unknown"),
    ],
)
def test_a_basic_key_route_refuses_anything_but_a_known_key_with_a_json_401(authorization, reason):
    state = SimulatorState(Scenario.echo(), Credentials(), time_scale=None)
    headers = {} if authorization is None else {"Authorization": authorization}
    with pytest.raises(Refusal) as caught:
        state.admit(headers, Authentication.BASIC_KEY)
    assert caught.value.status == 401
    assert caught.value.body["error"]["type"] == "authentication_error"
    assert reason in caught.value.body["error"]["message"]


def test_a_bearer_route_refuses_a_basic_key():
    state = SimulatorState(Scenario.echo(), Credentials(), time_scale=None)
    with pytest.raises(Refusal) as caught:
        state.admit({"Authorization": f"Basic {DEFAULT_BASIC_KEY}"})
    assert caught.value.status == 401


def test_basic_keys_are_checked_and_may_pin_a_scenario():
    with pytest.raises(ValueError, match="basic_keys"):
        Credentials(basic_keys=frozenset({" padded "}))
    with pytest.raises(ValueError, match="not one string"):
        Credentials(basic_keys="abc")  # type: ignore[arg-type]
    pinned = Credentials(basic_keys=["k2"], scenario_for_key={"k2": "s"})  # type: ignore[arg-type]
    assert pinned.basic_keys == frozenset({"k2"})
    with pytest.raises(ValueError, match="unknown keys"):
        Credentials(basic_keys=frozenset({"k2"}), scenario_for_key={"k3": "s"})


# -- clock and ids -------------------------------------------------------------------------------


def test_the_default_clock_writes_a_fixed_created_and_the_wall_clock_the_time():
    assert SimulatorClock().created() == DEFAULT_EPOCH == 1767225600
    assert SimulatorClock(5).created() == 5
    assert abs(WallClock().created() - time.time()) <= 1
    with pytest.raises(ValueError, match="epoch"):
        SimulatorClock(-1)


def test_ids_follow_seed_scenario_label_and_counter_and_restart_on_reset():
    scenario = Scenario.echo("s")
    state = SimulatorState(scenario, Credentials(), time_scale=None, seed=3)
    first, second = state.next_id(scenario, "completion"), state.next_id(scenario, "completion")
    assert (first, second) == (
        derive_id(3, "s", "completion", 1),
        derive_id(3, "s", "completion", 2),
    )
    assert first != second and len(first) == 24
    assert derive_id(4, "s", "completion", 1) != first
    assert derive_id(3, "t", "completion", 1) != first
    state.reset("s")
    assert state.next_id(scenario, "completion") == first


# -- the registry: a toy protocol ----------------------------------------------------------------


class ToyReply(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    word: StrictStr


def _toy_routes(router: Any, prefix: str) -> None:
    async def handler(request: Any) -> Any:  # pragma: no cover - served in the integration test
        raise NotImplementedError

    router.add_get(f"{prefix}/toy", handler)


@pytest.fixture
def toy() -> Iterator[SimulatedProtocol]:
    protocol = SimulatedProtocol(
        name="toy",
        add_routes=_toy_routes,
        endpoints=(EndpointSpec("toy", ToyReply), EndpointSpec("toy.ws", ToyReply, websocket=True)),
    )
    REGISTRY.register(protocol)
    yield protocol
    REGISTRY.unregister("toy")


def test_a_registered_protocol_gets_its_routes_and_its_reply_model(toy):
    app = create_app()
    paths = {route.resource.canonical for route in app.router.routes() if route.resource}
    assert {"/toy", "/v1/toy", "/chat/completions", "/v1/chat/completions"} <= paths

    scenario = parse_scenario({"rules": [{"match": {"endpoint": "toy"}, "reply": {"word": "hi"}}]})
    assert scenario.rules[0].reply == ToyReply(word="hi")
    with pytest.raises(ScenarioError) as info:
        parse_scenario(
            {
                "rules": [
                    {"match": {"endpoint": "toy"}, "reply": {"word": 3}},
                    {"match": {"endpoint": "toy"}},
                    {"match": {"endpoint": "toy"}, "reply": {"content": "an LLM reply"}},
                    {"reply": {"word": "the default endpoint is the LLM's"}},
                ]
            }
        )
    problems = dict(info.value.problems)
    assert "string" in problems["rules[0].reply.word"]
    assert problems["rules[1].reply.word"] == "Field required"
    assert "Extra inputs" in problems["rules[2].reply.content"]
    assert "Extra inputs" in problems["rules[3].reply.word"]


@pytest.mark.parametrize(
    "close",
    [{"kind": "ws_close", "at_event": 0}, {"kind": "binary_frame", "at_event": 0, "hex": "ff"}],
)
def test_websocket_faults_are_valid_for_websocket_endpoints_only(toy, close):
    ws = parse_scenario({"rules": [{"match": {"endpoint": "toy.ws"}, "reply": {"word": "x"}}]})
    assert ws.rules[0].match.endpoint == "toy.ws"
    parse_scenario(
        {"rules": [{"match": {"endpoint": "toy.ws"}, "reply": {"word": "x"}, "faults": [close]}]}
    )
    with pytest.raises(ScenarioError, match="WebSocket"):
        parse_scenario(
            {"rules": [{"match": {"endpoint": "toy"}, "reply": {"word": "x"}, "faults": [close]}]}
        )


def test_unknown_endpoints_and_conflicting_registrations_are_refused(toy):
    with pytest.raises(ScenarioError) as info:
        parse_scenario({"rules": [{"match": {"endpoint": "no-such"}}]})
    [(path, message)] = info.value.problems
    assert path == "rules[0].match.endpoint" and "unknown endpoint 'no-such'" in message
    assert "llm" in message and "toy" in message

    with pytest.raises(ValueError, match="already registered"):
        REGISTRY.register(toy)
    clash = SimulatedProtocol(
        name="clash", add_routes=_toy_routes, endpoints=(EndpointSpec("other", ToyReply),)
    )
    with pytest.raises(ValueError, match="cannot be the default"):
        REGISTRY.register(
            SimulatedProtocol(
                name="clash",
                add_routes=_toy_routes,
                endpoints=(
                    EndpointSpec("other", ToyReply),
                    EndpointSpec("x", ToyReply, default=True),
                ),
            )
        )
    assert ENDPOINTS.get("other") is None  # nothing of a refused protocol stays registered
    REGISTRY.register(clash)
    REGISTRY.unregister("clash")
    assert REGISTRY.get("clash") is None and ENDPOINTS.get("other") is None


def test_after_unregistering_the_toy_is_gone(toy):
    REGISTRY.unregister("toy")
    with pytest.raises(ScenarioError, match="unknown endpoint"):
        parse_scenario({"rules": [{"match": {"endpoint": "toy"}, "reply": {"word": "x"}}]})
    REGISTRY.register(toy)  # for the fixture's own unregister


# -- the core names no protocol ------------------------------------------------------------------


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.add(node.module)
    return found


def test_the_core_imports_no_protocol_module_of_the_simulators():
    files = sorted(CORE.glob("*.py"))
    assert {f.stem for f in files} >= {"actions", "app", "clock", "journal", "registry", "state"}
    allowed = ("voicewire.simulators.core", "voicewire.simulators.scenario")
    for path in files:
        inside = {m for m in _imports(path) if m.startswith("voicewire.simulators")}
        stray = {m for m in inside if not m.startswith(allowed)}
        assert not stray, f"{path.name} imports {sorted(stray)}"
        assert not {
            m for m in _imports(path) if m.startswith(("voicewire.harness", "voicewire.suites"))
        }


def test_no_simulator_module_imports_the_harness_or_the_suites():
    for path in sorted(CORE.parent.rglob("*.py")):
        upward = {
            m for m in _imports(path) if m.startswith(("voicewire.harness", "voicewire.suites"))
        }
        assert not upward, f"{path} imports {sorted(upward)}"


def test_the_llm_protocol_is_registered_with_the_default_endpoint():
    assert REGISTRY.get("llm") is not None
    default = ENDPOINTS.default()
    assert default is not None and default.name == "llm" and default.reply_model is LLMReply
