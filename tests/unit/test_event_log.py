"""The event-log format: written and read back unchanged; a bad line is named with its
problem; a newer format version is refused naming both versions."""

from __future__ import annotations

import json

import pytest
from voicewire.harness.event_log import (
    EVENTS_FORMAT,
    EventLogError,
    EventLogSession,
    load_event_log,
    write_event_log,
)
from voicewire.harness.events import ErrorInfo
from voicewire.harness.inworld import InworldVoicesAnswer
from voicewire.harness.llm import ChatAnswer, ChatEndEvent, ChunkEvent, ToolCall
from voicewire.harness.tts import TTSAudioEvent, TTSEndEvent

CHAT = (
    ChunkEvent(t=0.0, id="c1", content="Hi"),
    ChunkEvent(t=0.1, id="c1", tool_calls=(ToolCall(name="f", arguments='{"a": 1}', call_id="x"),)),
    ChatEndEvent(t=0.2, error=ErrorInfo(kind="APIStatusError", status_code=500, retryable=True)),
)
SYNTHESIS = (
    TTSAudioEvent.of(0.0, 0, b"\x01\x02" * 8, sample_rate=24000, segment_id="s", is_final=True),
    TTSEndEvent(t=0.3, synthesis=0),
)


def write(tmp_path, sessions):
    return write_event_log(
        tmp_path / "run.events.jsonl", sessions, source="reference", created="2026-01-01T00:00Z"
    )


def lines(path):
    return path.read_text().splitlines()


def test_round_trip(tmp_path):
    voices = InworldVoicesAnswer(voices=[{"voiceId": "Ashley"}])
    sessions = [
        EventLogSession(0, "llm.chat", 0, CHAT),
        EventLogSession(1, "tts.stream", None, SYNTHESIS),
        EventLogSession.of_answer(2, "inworld.voices", voices, exchange=4),
        EventLogSession.of_answer(3, "llm.chat", ChatAnswer(events=list(CHAT)), exchange=5),
    ]
    path = write(tmp_path, sessions)
    header = json.loads(lines(path)[0])
    assert header == {
        "type": "events",
        "format": EVENTS_FORMAT,
        "source": "reference",
        "created": "2026-01-01T00:00Z",
    }
    log = load_event_log(path)
    assert (log.source, log.created, log.format) == (
        "reference",
        "2026-01-01T00:00Z",
        EVENTS_FORMAT,
    )
    assert log.sessions == sessions
    assert log.sessions[2].answer == {"voices": [{"voiceId": "Ashley"}], "error": None}
    assert log.sessions[3].events == CHAT


def test_unknown_event_types_are_kept_as_they_are(tmp_path):
    future = {"type": "llm.reasoning", "t": 0.05, "text": "hmm"}
    path = write(tmp_path, [EventLogSession(0, "llm.chat", 0, (CHAT[0], future, CHAT[2]))])
    assert load_event_log(path).sessions[0].events == (CHAT[0], future, CHAT[2])


def edit(path, number, change):
    text = lines(path)
    text[number - 1] = change(text[number - 1])
    path.write_text("\n".join(text) + "\n")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda line: line[:40], "line 3: not JSON"),
        (
            lambda line: line.replace('"content": "Hi"', '"content": 5'),
            "line 2: events[0] (llm.chunk): content: Input should be a valid string",
        ),
        (
            lambda line: line.replace('"capability": "llm.chat"', '"capability": "llm.chatt"'),
            'line 2: capability: "llm.chatt" is not a known capability',
        ),
        (
            lambda line: line.replace('"session": 0', '"session": 2'),
            "line 2: session 2 where 0 was expected",
        ),
        (
            lambda line: line.replace('"type": "llm.end"', '"kind": "llm.end"'),
            "line 2: events[2]: an event is an object with a string 'type'",
        ),
    ],
)
def test_a_bad_line_is_named_with_its_problem(tmp_path, change, problem):
    path = write(
        tmp_path, [EventLogSession(0, "llm.chat", 0, CHAT), EventLogSession(1, "tts.stream", 1)]
    )
    number = 3 if problem.startswith("line 3") else 2
    edit(path, number, change)
    with pytest.raises(EventLogError) as raised:
        load_event_log(path)
    assert str(raised.value).startswith(f"{path}, {problem}")
    assert raised.value.line == number


def test_a_newer_version_is_refused_naming_both_versions(tmp_path):
    path = write(tmp_path, [EventLogSession(0, "llm.chat", 0, CHAT)])
    edit(path, 1, lambda line: line.replace(EVENTS_FORMAT, "voicewire-events/7"))
    with pytest.raises(EventLogError) as raised:
        load_event_log(path)
    assert raised.value.line == 1
    assert "voicewire-events/7" in str(raised.value)
    assert EVENTS_FORMAT in str(raised.value)


def test_not_an_event_log(tmp_path):
    path = tmp_path / "other.jsonl"
    path.write_text('{"type": "cassette", "format": "voicewire-cassette/1"}\n')
    with pytest.raises(EventLogError, match="line 1: not a voicewire event log"):
        load_event_log(path)


def test_sessions_are_written_in_order():
    with pytest.raises(ValueError, match="session 1 where 0 was expected"):
        write_event_log("/nonexistent/never.jsonl", [EventLogSession(1, "llm.chat", 0)], source="x")
