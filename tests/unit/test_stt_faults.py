"""Message-level faults of the STT simulator, sans-IO: :class:`FaultPlan` over a session's
frames."""

from __future__ import annotations

import json
from typing import Any

import pytest
from voicewire.simulators import parse_scenario
from voicewire.simulators.stt.faults import (
    MALFORMED_FRAME,
    FaultPlan,
    FaultStep,
    Pause,
    SendFrame,
    Shut,
    unsupported_faults,
)

FRAMES = [f"f{i}" for i in range(5)]


def faults(*specs: dict[str, Any]) -> list[Any]:
    rule = {"match": {"endpoint": "stt"}, "faults": list(specs)}
    return parse_scenario({"rules": [rule]}).rules[0].faults


def run(*specs: dict[str, Any], scale: float = 1.0) -> list[FaultStep]:
    plan = FaultPlan(faults(*specs), time_scale=scale)
    steps: list[FaultStep] = []
    for frame in FRAMES:
        steps.extend(plan.send(frame))
    return steps + plan.flush()


def wire(steps: list[FaultStep]) -> list[str]:
    return [s.text for s in steps if isinstance(s, SendFrame)]


def test_no_fault_sends_every_frame_as_its_event() -> None:
    steps = run()
    assert steps == [SendFrame(f, i) for i, f in enumerate(FRAMES)]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"kind": "drop", "at_event": 1}, ["f0", "f2", "f3", "f4"]),
        ({"kind": "duplicate", "at_event": 2}, ["f0", "f1", "f2", "f2", "f3", "f4"]),
        ({"kind": "reorder", "at_event": 1}, ["f0", "f2", "f1", "f3", "f4"]),
        ({"kind": "reorder", "at_event": 4}, FRAMES),  # the last: nothing to swap with
        ({"kind": "malformed", "at_event": 0}, [MALFORMED_FRAME, *FRAMES[1:]]),
        ({"kind": "malformed", "at_event": 3, "line": "x"}, ["f0", "f1", "f2", "x", "f4"]),
        ({"kind": "drop", "at_event": 9}, FRAMES),  # never reached: nothing happens
    ],
)
def test_an_event_fault_changes_what_goes_on_the_wire(
    spec: dict[str, Any], expected: list[str]
) -> None:
    assert wire(run(spec)) == expected


def test_a_binary_frame_goes_before_its_event() -> None:
    steps = run({"kind": "binary_frame", "at_event": 1, "hex": "ff00"})
    assert steps[1] == SendFrame(b"\xff\x00", None, "binary_frame")
    assert steps[2] == SendFrame("f1", 1)


def test_an_error_event_and_pauses_come_before_their_event() -> None:
    steps = run(
        {"kind": "stall", "at_event": 2, "seconds": 10},
        {"kind": "error_event", "at_event": 2, "message": "overloaded", "code": 503},
        scale=0.01,
    )
    assert steps[2] == Pause(pytest.approx(0.1), "stall")
    error = steps[3]
    assert isinstance(error, SendFrame) and error.event is None
    assert json.loads(error.text) == {"type": "error", "message": "overloaded", "code": 503}
    assert steps[4] == SendFrame("f2", 2)


@pytest.mark.parametrize(
    ("spec", "shut"),
    [
        ({"kind": "ws_close", "at_event": 1, "code": 4001}, Shut(4001, "close", "ws_close")),
        ({"kind": "disconnect", "at_event": 1}, Shut(1000, "close", "disconnect")),
        ({"kind": "disconnect", "at_event": 1, "mode": "reset"}, Shut(1000, "reset", "disconnect")),
    ],
)
def test_a_close_ends_the_session_after_its_event(spec: dict[str, Any], shut: Shut) -> None:
    steps = run(spec)
    assert steps == [SendFrame("f0", 0), SendFrame("f1", 1), shut]


def test_a_held_event_goes_out_before_a_close() -> None:
    steps = run({"kind": "reorder", "at_event": 1}, {"kind": "ws_close", "at_event": 1})
    assert steps == [SendFrame("f0", 0), SendFrame("f1", 1), Shut(1011, "close", "ws_close")]


def test_byte_split_is_the_only_fault_a_session_cannot_act_on() -> None:
    specs = [
        {"kind": "byte_split", "sizes": [1]},
        {"kind": "status", "code": 500},
        {"kind": "drop", "at_event": 0},
    ]
    assert unsupported_faults(faults(*specs)) == ["byte_split"]
