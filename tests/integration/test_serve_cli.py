"""``voicewire serve`` as a user runs it: a real process, a real port, SIGTERM to stop."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import signal
import sys
from typing import Any

import aiohttp
import pytest
from voicewire.reference.auth import create_access_token
from voicewire.simulators import DEFAULT_API_KEY, DEFAULT_API_SECRET
from voicewire.simulators.core.credentials import DEFAULT_BASIC_KEY

SERVE = [sys.executable, "-m", "voicewire.harness.cli", "serve"]


async def _start(
    *args: str,
    host: str = "127.0.0.1",
    env: dict[str, str] | None = None,
    **options: Any,
) -> tuple[asyncio.subprocess.Process, str]:
    if env is None:  # no control token of the user's
        env = {k: v for k, v in os.environ.items() if k != "VOICEWIRE_CONTROL_TOKEN"}
    proc = await asyncio.create_subprocess_exec(
        *SERVE,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        **options,
    )
    assert proc.stdout is not None
    first = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    pattern = rf"voicewire simulator listening on (http://{re.escape(host)}:\d+)$"
    match = re.match(pattern, first.strip())
    assert match, first
    return proc, match.group(1)


async def test_serve_answers_in_echo_mode_and_stops_on_sigterm():
    proc, base = await _start("--time-scale", "0")
    try:
        token = create_access_token(DEFAULT_API_KEY, DEFAULT_API_SECRET)
        async with aiohttp.ClientSession() as session:
            response = await session.post(
                f"{base}/v1/chat/completions",
                json={"model": "m", "messages": [{"role": "user", "content": "ping"}]},
                headers={"Authorization": f"Bearer {token}"},
            )
            body = await response.json()
        assert response.status == 200
        assert body["choices"][0]["message"]["content"] == "You said: ping"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert out.decode().rstrip().endswith("voicewire simulator stopped")


async def test_serve_prints_the_credentials_and_the_scenario(tmp_path, interruptible):
    path = tmp_path / "hello.yaml"
    path.write_text("name: hello\nrules:\n  - reply: {content: hi}\n")
    proc, base = await _start(
        "--scenario", str(path), "--api-key", "k1", "--api-secret", "s" * 32, **interruptible
    )
    proc.send_signal(signal.SIGINT)
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    text = out.decode()
    assert "API key:      k1" in text and "API secret:   " + "s" * 32 in text
    assert f"scenario:     hello (from {path}, 1 rule(s))" in text
    assert f"LIVEKIT_INFERENCE_URL={base}/v1" in text
    assert proc.returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "missing.yaml"], "invalid scenario missing.yaml:\n  <file>: No such file"),
        (["--max-body-bytes", "0"], "argument --max-body-bytes: must be >= 1, got 0"),
        (["--head-timeout", "0"], "argument --head-timeout: must be > 0, got 0"),
        (["--max-json-depth", "deep"], "argument --max-json-depth: not a whole number: 'deep'"),
        (["--control-token", "é"], "control_token must be a non-empty ASCII string"),
        (["--time-scale", "fast"], "argument --time-scale: not a number: 'fast'"),
        (["--port", "70000"], "port must be an int in 0..65535"),
        (["--inworld-key", " k"], "argument --inworld-key: must be a non-empty key without"),
    ],
)
async def test_bad_arguments_never_start_a_server(tmp_path, args, message):
    proc = await asyncio.create_subprocess_exec(
        *SERVE, *args, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert message in err.decode()
    assert b"listening" not in out


async def test_a_bad_scenario_file_is_reported_with_its_path_inside(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("rules:\n  - reply: {tool_calls: [{arguments: {}}]}\n")
    proc = await asyncio.create_subprocess_exec(
        *SERVE,
        "--scenario",
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert (
        f"invalid scenario {path}:\n  rules[0].reply.tool_calls[0].name: Field required"
        in err.decode()
    )


async def test_serve_prints_the_control_token_and_the_control_api_wants_it():
    proc, base = await _start("--control-token", "let-me-in", "--max-body-bytes", "1000")
    try:
        async with aiohttp.ClientSession() as session:
            without = await session.get(f"{base}/__voicewire/scenarios")
            with_token = await session.get(
                f"{base}/__voicewire/scenarios", headers={"Authorization": "Bearer let-me-in"}
            )
            token = create_access_token(DEFAULT_API_KEY, DEFAULT_API_SECRET)
            too_large = await session.post(
                f"{base}/v1/chat/completions",
                data=b"x" * 1001,
                headers={"Authorization": f"Bearer {token}"},
            )
            assert without.status == 401
            assert "X-Voicewire-Control-Token" in (await without.json())["error"]["message"]
            assert with_token.status == 200
            assert (await with_token.json())["default"] == "default"
            assert too_large.status == 413
            assert (await too_large.json())["error"]["code"] == 413
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    text = out.decode()
    assert "control token: let-me-in" in text
    assert "limits:       body 1000 bytes" in text


async def test_a_random_control_token_is_printed_when_none_is_given():
    proc, _base = await _start()
    proc.send_signal(signal.SIGTERM)
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    [token] = re.findall(r"control token: (\S+)", out.decode())
    assert len(token) >= 32


async def test_a_host_beyond_loopback_is_allowed_with_a_warning():
    proc, base = await _start("--host", "0.0.0.0", host="0.0.0.0")
    proc.send_signal(signal.SIGTERM)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    # The journal command names the wildcard's loopback: an address to connect to.
    port = base.rsplit(":", 1)[1]
    assert f"voicewire journal --url http://127.0.0.1:{port} --token " in out.decode()
    warning = err.decode()
    assert "0.0.0.0 is not a loopback address: the simulator faces the network" in warning
    assert "control token" in warning


async def _banner_lines(proc: asyncio.subprocess.Process) -> list[str]:
    """The rest of serve's banner, up to its last line."""
    assert proc.stdout is not None
    lines = []
    while not lines or lines[-1] != "Press Ctrl-C to stop.":
        lines.append((await asyncio.wait_for(proc.stdout.readline(), 30)).decode().rstrip())
    return lines


async def test_the_printed_control_api_url_answers_with_its_index_without_the_token():
    proc, base = await _start()
    try:
        banner = "\n".join(await _banner_lines(proc))
        [url] = re.findall(r"control API:  (\S+)", banner)
        assert url == f"{base}/__voicewire/"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.status == 200
            index = await response.json()
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), 30)
    assert {"GET", "PUT", "DELETE", "POST"} == {e["method"] for e in index["endpoints"]}


async def test_the_printed_journal_command_reads_the_journal_and_the_token_may_come_from_env():
    env = {**os.environ, "VOICEWIRE_CONTROL_TOKEN": "from the environment"}
    proc, base = await _start("--time-scale", "0", env=env)
    try:
        banner = "\n".join(await _banner_lines(proc))
        assert "control token: from the environment" in banner
        [command] = re.findall(r"journal:      (voicewire journal .*?)  \(add --follow", banner)
        assert command == f"voicewire journal --url {base} --token 'from the environment'"
        token = create_access_token(DEFAULT_API_KEY, DEFAULT_API_SECRET)
        async with aiohttp.ClientSession() as session:
            response = await session.post(
                f"{base}/v1/chat/completions",
                json={"model": "m", "messages": [{"role": "user", "content": "journal me"}]},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status == 200
        # The command exactly as printed (voicewire is this interpreter's module).
        argv = shlex.split(command)
        assert argv[0] == "voicewire"
        journal = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "voicewire.harness.cli",
            *argv[1:],
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(journal.communicate(), 30)
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), 30)
    assert journal.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert "POST /v1/chat/completions" in lines[0] and '"content":"journal me"' in lines[0]
    assert "http_response  200" in lines[-1]


async def test_the_printed_stt_and_tts_urls_upgrade_to_sessions():
    proc, base = await _start()
    ws_base = "ws" + base[len("http") :]
    opening = {
        "STT": (
            "deepgram/nova-3",
            '{"settings": {"sample_rate": "16000", "encoding": "pcm_s16le", "extra": {}}, '
            '"type": "session.create"}',
        ),
        "TTS": (
            "cartesia/sonic-3",
            '{"type": "session.create", "sample_rate": "24000", "encoding": "pcm_s16le", '
            '"extra": {}}',
        ),
    }
    try:
        banner = "\n".join(await _banner_lines(proc))
        for name, (model, create) in opening.items():
            pattern = rf"{name} URL:      (\S+)  \(also served under (\S+)\)"
            [url, also] = re.findall(pattern, banner)[0]
            path = name.lower()
            assert url == f"{ws_base}/v1/{path}?model=<model>"
            assert also == f"{ws_base}/{path}"
            token = create_access_token(DEFAULT_API_KEY, DEFAULT_API_SECRET)
            async with (
                aiohttp.ClientSession() as session,
                session.ws_connect(
                    url.replace("<model>", model), headers={"Authorization": f"Bearer {token}"}
                ) as ws,
            ):
                await ws.send_str(create)
                message = await ws.receive(timeout=30)
                assert message.json()["type"] == "session.created", name
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), 30)


async def test_the_printed_inworld_urls_and_key_reach_the_inworld_endpoints():
    proc, base = await _start("--inworld-key", "k-inworld", "--time-scale", "0")
    try:
        banner = "\n".join(await _banner_lines(proc))
        [base_url, ws_url] = re.findall(r"Inworld:      base_url (\S+)  ws_url (\S+)", banner)[0]
        assert (base_url, ws_url) == (f"{base}/", "ws" + base[len("http") :] + "/")
        assert "Inworld key:  k-inworld" in banner
        assert "export INWORLD_API_KEY=k-inworld" in banner
        body = {"text": "Hi.", "voiceId": "Ashley", "modelId": "inworld-tts-1.5-max"}
        async with aiohttp.ClientSession() as session:
            for key, status in (("k-inworld", 200), (DEFAULT_BASIC_KEY, 401)):
                response = await session.post(
                    f"{base_url}tts/v1/voice:stream",
                    json=body,
                    headers={"Authorization": f"Basic {key}"},
                )
                lines = (await response.read()).splitlines()
                assert response.status == status, lines[:2]
                if status == 200:
                    assert lines and all(json.loads(line)["result"] for line in lines)
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), 30)
