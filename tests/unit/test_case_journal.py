"""The journal excerpt a case's report carries: its sessions' entries in recording order,
bounded by keeping the head (the requests) and the tail (how it ended)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from voicewire.harness.runtime import (
    JOURNAL_EXCERPT_ENTRIES,
    JOURNAL_EXCERPT_HEAD,
    VoicewireRuntime,
)


@pytest.fixture
def runtime() -> Iterator[VoicewireRuntime]:
    runtime = VoicewireRuntime(iut_spec="reference", seed=0, timeout=10.0, replay=None)
    try:
        yield runtime
    finally:
        runtime.close()


def _record(runtime: VoicewireRuntime, entries: list[tuple[str, str, str]]) -> None:
    journal = runtime.simulator.server.journal

    async def record() -> None:
        for scenario, direction, kind in entries:
            journal.record(scenario=scenario, exchange=1, direction=direction, kind=kind)

    runtime.loop.run(record())


def test_a_short_journal_is_whole_and_in_recording_order_across_sessions(runtime):
    simulator = runtime.simulator
    first, second = (simulator.scenario_name(simulator.session()) for _ in range(2))
    _record(
        runtime,
        [(first, "in", "http_request"), (second, "in", "http_request"), (first, "out", "a")],
    )
    excerpt = runtime.journal_excerpt([first, second])
    assert [(e["scenario"], e["kind"]) for e in excerpt] == [
        (first, "http_request"),
        (second, "http_request"),
        (first, "a"),
    ]


def test_a_long_journal_keeps_its_head_and_its_tail_and_says_what_it_left_out(runtime):
    simulator = runtime.simulator
    name = simulator.scenario_name(simulator.session())
    total = JOURNAL_EXCERPT_ENTRIES + 50
    _record(runtime, [(name, "in", "http_request")] + [(name, "out", "sse_event")] * (total - 1))
    excerpt = runtime.journal_excerpt([name])
    assert len(excerpt) == JOURNAL_EXCERPT_ENTRIES + 1
    # The request that started the exchange stays, however long the stream.
    assert excerpt[0]["kind"] == "http_request"
    gap = excerpt[JOURNAL_EXCERPT_HEAD]
    assert gap["kind"] == "entries_left_out" and gap["data"] == {"entries": 50}
    kept = [e["seq"] for e in excerpt if e is not gap]
    assert kept == sorted(kept) and kept[-1] - kept[0] == total - 1
