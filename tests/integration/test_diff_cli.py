"""``voicewire diff`` on event logs: the matrix in text and JSON, exit 0 when every input
agrees, 1 on a difference, 2 on bad input (one line naming the file, line and problem)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from voicewire.harness.cli import main
from voicewire.harness.event_log import EventLogSession, write_event_log
from voicewire.harness.llm import ChatEndEvent, ChunkEvent
from voicewire.harness.stt import SpeechEventRecord, STTAlternative, STTEndEvent
from voicewire.harness.tts import TTSAudioEvent, TTSEndEvent
from voicewire.simulators.recording.cassette import CassetteWriter


def chat(*pieces: str) -> tuple[object, ...]:
    return (*(ChunkEvent(t=0.0, id="c", content=piece) for piece in pieces), ChatEndEvent(t=0.1))


def speech(end: float) -> tuple[object, ...]:
    return (
        SpeechEventRecord(
            t=0.5,
            speech_type="final_transcript",
            alternatives=(STTAlternative(text="hi", start_time=0.2, end_time=end, language="en"),),
        ),
        SpeechEventRecord(t=0.6, speech_type="end_of_speech"),
        STTEndEvent(t=0.7),
    )


def audio(pcm: bytes, *cuts: int) -> tuple[object, ...]:
    bounds = [0, *cuts, len(pcm)]
    return (
        *(
            TTSAudioEvent.of(0.0, 0, pcm[a:b], sample_rate=16000)
            for a, b in itertools.pairwise(bounds)
        ),
        TTSEndEvent(t=0.2, synthesis=0),
    )


def log(tmp_path, name, *sessions):
    return str(
        write_event_log(
            tmp_path / f"{name}.jsonl",
            [
                EventLogSession(number, capability, number, events)
                for number, (capability, events) in enumerate(sessions)
            ],
            source=name,
        )
    )


@pytest.fixture
def three(tmp_path):
    """ref and iut agree (other chunking, framing, a final 0.02 s later); old differs."""
    pcm = bytes(range(200))
    ref = log(
        tmp_path,
        "ref",
        ("llm.chat", chat("Hello")),
        ("stt.stream", speech(1.20)),
        ("tts.stream", audio(pcm, 100)),
    )
    iut = log(
        tmp_path,
        "iut",
        ("llm.chat", chat("Hel", "lo")),
        ("stt.stream", speech(1.22)),
        ("tts.stream", audio(pcm, 20, 60)),
    )
    old = log(
        tmp_path,
        "old",
        ("llm.chat", chat("Help")),
        ("stt.stream", speech(1.45)),
        ("tts.stream", audio(pcm, 100)),
    )
    return ref, iut, old


def test_agreeing_inputs_exit_0(three, capsys):
    ref, iut, _ = three
    assert main(["diff", ref, iut]) == 0
    out = capsys.readouterr().out
    assert f"A = {ref} (source ref, 3 session(s))" in out
    assert "session 1 (stt.stream): all agree" in out
    assert "every input agrees on every session" in out


def test_a_difference_exits_1_with_the_matrix(three, capsys):
    assert main(["diff", *three]) == 1
    out = capsys.readouterr().out
    assert "session 0 (llm.chat): DIFFER" in out
    assert '  A~C  text: "Hello" vs "Help"' in out
    assert "  B~C  finals[0].end: 1.220 vs 1.450 (tolerance 0.050)" in out
    assert "session 2 (tts.stream): all agree" in out
    rows = {line.split()[0]: line.split()[1:4] for line in out.splitlines() if line}
    assert rows["finals"] == ["same", "DIFF", "DIFF"]
    assert "2 of 3 sessions differ" in out


def test_tolerance_and_only(three, capsys):
    ref, _, old = three
    assert main(["diff", ref, old, "--tolerance", "0.3", "--only", "finals"]) == 0
    assert main(["diff", ref, old, "--tolerance", "0.3", "--only", "finals", "text"]) == 1


def test_json_output(three, capsys):
    assert main(["diff", *three, "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["agree"] is False
    assert [i["name"] for i in data["inputs"]] == ["A", "B", "C"]
    stt = data["sessions"][1]
    assert stt["capabilities"] == ["stt.stream"] * 3
    pairs = {(p["a"], p["b"]): p for p in stt["pairs"]}
    assert pairs[("A", "B")]["agree"] is True
    assert pairs[("A", "C")]["aspects"]["finals"] == {
        "agree": False,
        "difference": "finals[0].end: 1.200 vs 1.450 (tolerance 0.050)",
    }


def test_a_different_capability_or_a_missing_session_is_a_difference(tmp_path, capsys):
    a = log(tmp_path, "a", ("llm.chat", chat("x")), ("llm.chat", chat("y")))
    b = log(tmp_path, "b", ("stt.stream", speech(1.0)))
    assert main(["diff", a, b]) == 1
    out = capsys.readouterr().out
    assert "  A~B  llm.chat vs stt.stream" in out
    assert "  A~B  llm.chat vs (no session)" in out


def test_bad_input_exits_2_naming_file_and_line(three, tmp_path, capsys):
    ref, iut, _ = three
    broken = tmp_path / "broken.jsonl"
    text = Path(iut).read_text().splitlines()
    broken.write_text("\n".join([text[0], text[1][:30], *text[2:]]) + "\n")
    assert main(["diff", ref, str(broken)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"voicewire diff: {broken}, line 2: not JSON")

    newer = tmp_path / "newer.jsonl"
    newer.write_text('{"type": "events", "format": "voicewire-events/2"}\n')
    assert main(["diff", ref, str(newer)]) == 2
    assert "voicewire-events/2 is newer" in capsys.readouterr().err

    assert main(["diff", ref, str(tmp_path / "absent.jsonl")]) == 2
    assert "absent.jsonl: cannot read" in capsys.readouterr().err

    assert main(["diff", ref]) == 2
    assert "at least two inputs" in capsys.readouterr().err

    assert main(["diff", ref, iut, "--only", "nope"]) == 2
    assert "--only: no session has the aspect(s) nope" in capsys.readouterr().err

    with pytest.raises(SystemExit) as raised:
        main(["diff", ref, iut, "--tolerance", "-1"])
    assert raised.value.code == 2


def test_a_capability_without_normalisation_is_bad_input(tmp_path, capsys):
    a = log(tmp_path, "a", ("chat_context", ()))
    assert main(["diff", a, a]) == 2
    assert "session 0: no stream normalisation for capability 'chat_context'" in (
        capsys.readouterr().err
    )


def llm_cassette(path: Path, *pieces: str) -> str:
    """A cassette of one chat whose server streamed ``pieces``."""
    writer = CassetteWriter(path, protocols=["llm"])
    body = {
        "model": "openai/gpt-4.1-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    x = writer.open_exchange(
        {
            "protocol": "llm",
            "endpoint": "llm",
            "method": "POST",
            "path": "/chat/completions",
            "headers": {"content-type": "application/json"},
            "body": json.dumps(body),
        }
    )
    writer.response(x, 200, "OK", {"content-type": "text/event-stream"})
    for piece in pieces:
        delta = {"role": "assistant", "content": piece}
        chunk = {
            "id": "c",
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta}],
        }
        writer.body(x, "sse", f"data: {json.dumps(chunk)}\n\n".encode())
    writer.body(x, "sse", b"data: [DONE]\n\n")
    writer.end(x)
    writer.close()
    return str(path)


def test_a_cassette_is_compared_as_the_reference_plays_it(tmp_path, capsys):
    cassette = llm_cassette(tmp_path / "chat.cassette.jsonl", "Hel", "lo")
    hello = log(tmp_path, "hello", ("llm.chat", chat("Hello")))
    help_ = log(tmp_path, "help", ("llm.chat", chat("Help")))
    assert main(["diff", cassette, hello]) == 0
    assert f"A = {cassette} (source reference played against" in capsys.readouterr().out
    assert main(["diff", cassette, help_]) == 1
    assert '  A~B  text: "Hello" vs "Help"' in capsys.readouterr().out

    cut = tmp_path / "cut.cassette.jsonl"
    first, second, *_ = Path(cassette).read_text().splitlines()
    cut.write_text(f"{first}\n{second[:40]}\n{second}\n")
    assert main(["diff", str(cut), hello]) == 2
    assert capsys.readouterr().err.startswith(f"voicewire diff: {cut}, line 2: ")
