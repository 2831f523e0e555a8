"""``voicewire cassette check / export / import`` through the command line: the summary, and
every bad input as one line and exit 2 (naming the line, or the interaction and the field),
with nothing half-written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from voicewire.harness.cli import main
from voicewire.simulators.recording.cassette import CassetteWriter, load_cassette

SSE = [b'data: {"id":"c1","choices":[]}\n\n', b"data: [DONE]\n\n"]


def write_cassette(path: Path, *, upstream: str | None = "http://provider.test") -> Path:
    writer = CassetteWriter(path, protocols=["llm", "tts"], upstream=upstream)
    x = writer.open_exchange(
        {
            "protocol": "llm",
            "endpoint": "llm",
            "method": "POST",
            "path": "/v1/chat/completions",
            "query": "a=1",
            "headers": {"authorization": "Bearer <redacted>", "content-type": "application/json"},
            "body": '{"stream":true}',
        }
    )
    writer.response(x, 200, "OK", {"content-type": "text/event-stream"})
    for event in SSE:
        writer.body(x, "sse", event)
    writer.end(x)
    x = writer.open_exchange(
        {"protocol": "tts", "endpoint": "tts", "method": "GET", "path": "/tts", "websocket": True}
    )
    writer.response(x, 101)
    writer.message(x, "client", '{"type":"session.create"}')
    writer.close()
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_check_summarises_a_cassette(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_cassette(tmp_path / "c.jsonl")
    with path.open("ab") as handle:
        handle.write(b'{"type":"ws","x":1')  # a recorder killed mid-line
    code, out, _ = run(["cassette", "check", str(path)], capsys)
    assert code == 0
    assert "voicewire-cassette/1" in out
    assert "Protocols: llm, tts." in out
    assert "2 exchange(s): llm 1, tts 1." in out
    assert "Not complete: the recording stopped before exchange(s) 1 ended." in out
    assert "Cut tail: line 10" in out
    assert "from http://provider.test" in out


def test_check_refuses_a_hand_edited_cassette(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_cassette(tmp_path / "c.jsonl")
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace('"status":200', '"status":"two hundred"')
    path.write_text("".join(lines))
    code, out, err = run(["cassette", "check", str(path)], capsys)
    assert (code, out) == (2, "")
    assert err.startswith(f"voicewire cassette check: {path}, line 3: response.status")
    assert err.count("\n") == 1


def test_export_needs_a_base_url_without_an_upstream(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_cassette(tmp_path / "c.jsonl", upstream=None)
    out_file = tmp_path / "vcr.yaml"
    code, _, err = run(["cassette", "export", "--vcr", str(out_file), str(path)], capsys)
    assert code == 2 and "--base-url" in err and not out_file.exists()


def test_export_then_import_keeps_the_http_exchanges(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_cassette(tmp_path / "c.jsonl")
    vcr_file = tmp_path / "vcr.yaml"
    code, out, err = run(["cassette", "export", "--vcr", str(vcr_file), str(path)], capsys)
    assert code == 0
    assert "1 interaction(s) at http://provider.test" in out
    assert "skipped 1 exchange(s)" in err and "1 WebSocket session(s)" in err
    document = yaml.safe_load(vcr_file.read_text())
    (interaction,) = document["interactions"]
    assert document["version"] == 1
    assert interaction["request"]["uri"] == "http://provider.test/v1/chat/completions?a=1"
    assert interaction["request"]["headers"]["authorization"] == ["Bearer <redacted>"]
    assert interaction["response"]["body"]["string"] == b"".join(SSE).decode()
    assert interaction["response"]["status"] == {"code": 200, "message": "OK"}

    back = tmp_path / "back.jsonl"
    code, out, _ = run(["cassette", "import", str(vcr_file), "--out", str(back)], capsys)
    assert code == 0 and "1 exchange(s)" in out
    (exchange,) = load_cassette(back).exchanges
    assert exchange.request.endpoint == "llm" and exchange.request.query == "a=1"
    assert [r.data_bytes() for r in exchange.body_records()] == SSE


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("interactions: [\n  - {", "line 2: not YAML"),
        ("- request: {}\n", "not a VCR.py cassette"),
        ("interactions: []\nversion: 2\n", "version: 2: this voicewire reads VCR.py format"),
        (
            "interactions:\n- request: {method: GET, uri: 'http://h/v1/models'}\n"
            "  response: {status: {code: 200}, body: {string: ''}}\n"
            "- request: {method: POST, uri: 'http://h/chat/completions'}\n"
            "  response: {status: {code: 'ok'}, body: {string: ''}}\nversion: 1\n",
            "interaction 1: response.status.code: 'ok' is not an HTTP status",
        ),
        (
            "interactions:\n- request: {method: GET, uri: 'http://h/v1/models'}\n"
            "  response: {status: {code: 200}}\nversion: 1\n",
            "interaction 0: response.body: missing",
        ),
        (
            "interactions:\n- request: {method: GET, uri: 'http://h/tts'}\n"
            "  response: {status: {code: 101}, body: {string: ''}}\nversion: 1\n",
            "interaction 0: request.uri: GET /tts is the tts WebSocket endpoint",
        ),
    ],
)
def test_a_bad_vcr_cassette_is_named_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    source = tmp_path / "bad.yaml"
    source.write_text(text)
    out_file = tmp_path / "out.jsonl"
    code, _, err = run(["cassette", "import", str(source), "--out", str(out_file)], capsys)
    assert code == 2
    assert message in err, err
    assert err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]
