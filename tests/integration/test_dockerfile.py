"""The Dockerfile: what it asks of voicewire is checked on every run (its command parses, its
health check passes against a real serve, it runs as a user, the build context is lean); the
image itself is built and run when a Docker engine and the base image are at hand, and the test
says which one is missing when they are not."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from voicewire.harness.cli import _build_parser
from voicewire.harness.journal_cli import DEFAULT_URL
from voicewire.reference.auth import create_access_token
from voicewire.simulators import DEFAULT_API_KEY, DEFAULT_API_SECRET

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
BASE_IMAGE = "python:3.11-slim"
# Bounds on the slow steps (the build downloads pip's build requirements and voicewire's).
BUILD_TIMEOUT = 1200
START_TIMEOUT = 60.0


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def only(keyword: str) -> str:
    (value,) = [rest for kw, rest in instructions() if kw == keyword]
    return value


def image_command() -> list[str]:
    """ENTRYPOINT + CMD, both in exec (JSON) form."""
    return json.loads(only("ENTRYPOINT")) + json.loads(only("CMD"))


def health_command() -> list[str]:
    options, _, command = only("HEALTHCHECK").partition(" CMD ")
    assert "--interval" in options
    return json.loads(command)


def test_the_image_runs_serve_with_arguments_voicewire_accepts_on_the_exposed_port():
    assert only("FROM") == BASE_IMAGE
    argv = image_command()
    assert argv[0] == "voicewire"
    args = _build_parser().parse_args(argv[1:])
    assert (args.command, args.host, args.port) == ("serve", "0.0.0.0", 8080)
    assert only("EXPOSE") == "8080"
    # voicewire journal's default URL is the image's port, as the Dockerfile's usage says.
    assert urlsplit(DEFAULT_URL).port == 8080


def test_the_image_runs_as_a_user_and_the_build_context_is_lean():
    assert only("USER") not in ("root", "0")
    assert "useradd --create-home --uid 10001" in DOCKERFILE.read_text()
    ignored = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert {".git", ".venv", "tests"} <= set(ignored)
    sources = [
        source.rstrip("/")
        for keyword, rest in instructions()
        if keyword == "COPY"
        for source in rest.split()[:-1]
    ]
    # What the wheel is built from (as tests/integration/test_packaging.py builds it), each
    # present and none of them kept out of the context.
    assert set(sources) == {
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "reference",
        "simulators",
        "suites",
        "harness",
    }
    for source in sources:
        assert (REPO / source).exists(), source
        assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), source


def _serve_like_the_image() -> tuple[subprocess.Popen[str], int]:
    """serve with the image's arguments, on a loopback port instead of 0.0.0.0:8080."""
    argv = image_command()[1:]
    argv[argv.index("--host") + 1] = "127.0.0.1"
    argv[argv.index("--port") + 1] = "0"
    proc = subprocess.Popen(
        [sys.executable, "-m", "voicewire.harness.cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", first)
    assert match, first + (proc.stderr.read() if proc.stderr else "")
    return proc, int(match.group(1))


def test_the_health_check_passes_against_serve_and_fails_without_it():
    command = health_command()
    assert "http://127.0.0.1:8080/__voicewire/health" in command[-1]
    proc, port = _serve_like_the_image()
    try:
        here = [part.replace(":8080/", f":{port}/") for part in command]
        healthy = subprocess.run(here, capture_output=True, text=True, timeout=30)
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert healthy.returncode == 0, healthy.stderr
    gone = subprocess.run(here, capture_output=True, text=True, timeout=30)
    assert gone.returncode != 0


# -- the image, built and run --------------------------------------------------------------------


def _docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


def _first_line(done: subprocess.CompletedProcess[str]) -> str:
    text = (done.stderr or done.stdout).strip()
    return text.splitlines()[0] if text else f"exit {done.returncode}"


def _docker_or_skip() -> None:
    """Skip, naming what is missing, unless a Docker engine and the base image are here."""
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI on PATH")
    info = _docker("info", "--format", "{{.ServerVersion}}")
    if info.returncode != 0:
        pytest.skip(f"no Docker engine: `docker info` says: {_first_line(info)}")
    if _docker("image", "inspect", BASE_IMAGE).returncode == 0:
        return
    pulled = _docker("pull", BASE_IMAGE, timeout=600)
    if pulled.returncode != 0:
        pytest.skip(
            f"base image {BASE_IMAGE} is not available: not among the local images and "
            f"`docker pull` failed: {_first_line(pulled)}"
        )


def _get(url: str, **headers: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _wait_for(condition, what: str, timeout: float = START_TIMEOUT) -> None:
    """Poll ``condition`` (a cheap probe) until it holds, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except OSError:
            pass  # not listening yet
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:g} s")
        time.sleep(0.5)


def test_the_image_builds_serves_a_chat_and_its_journal_from_the_host():
    _docker_or_skip()
    tag = f"voicewire-test:{uuid.uuid4().hex[:12]}"
    built = _docker("build", "--tag", tag, str(REPO), timeout=BUILD_TIMEOUT)
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]
    container = None
    try:
        run = _docker(
            "run",
            "--detach",
            "--publish",
            "127.0.0.1::8080",
            "--env",
            "VOICEWIRE_CONTROL_TOKEN=docker-test",
            tag,
        )
        assert run.returncode == 0, run.stderr
        container = run.stdout.strip()
        mapped = _docker("port", container, "8080/tcp").stdout.split()[0]
        base = f"http://{mapped}"  # 127.0.0.1:<a free port>: a port forward, not 8080
        _wait_for(
            lambda: _get(f"{base}/__voicewire/health")[0] == 200, "no answer to the health check"
        )
        token = create_access_token(DEFAULT_API_KEY, DEFAULT_API_SECRET)
        chat = urllib.request.Request(
            f"{base}/v1/chat/completions",
            data=json.dumps(
                {"model": "m", "messages": [{"role": "user", "content": "from the host"}]}
            ).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(chat, timeout=10) as response:
            answer = json.loads(response.read())
        assert answer["choices"][0]["message"]["content"] == "You said: from the host"
        # The control API through the port forward: the journal, as the host reads it.
        journal = subprocess.run(
            [sys.executable, "-m", "voicewire.harness.cli", "journal", "--url", base],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "VOICEWIRE_CONTROL_TOKEN": "docker-test"},
        )
        assert journal.returncode == 0, journal.stderr
        assert '"content":"from the host"' in journal.stdout
        _wait_for(
            lambda: (
                _docker("inspect", "--format", "{{.State.Health.Status}}", container).stdout.strip()
                == "healthy"
            ),
            "the container is not reported healthy",
        )
        logs = _docker("logs", container)
        assert "0.0.0.0 is not a loopback address: the simulator faces the network" in logs.stderr
        assert "control token: docker-test" in logs.stdout
        user = _docker("exec", container, "id", "-u").stdout.strip()
        assert user == "10001"
    finally:
        if container:
            _docker("rm", "--force", container)
        _docker("rmi", "--force", tag)
