"""Fixtures shared by voicewire's own tests: real simulators on loopback sockets.

The project's own hypothesis profile: voicewire's ``ci`` (derandomised: the same examples on
every run, on a CI machine and a fresh clone alike, so the test command is deterministic);
``VOICEWIRE_HYPOTHESIS_PROFILE=dev`` (or ``deep``) asks for more and random examples while
developing (the plugin reads it too).
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from voicewire.harness.profiles import load_profile
from voicewire.reference.llm.inference import LLM
from voicewire.simulators import Scenario, SimulatorServer


def _profile(environ: os._Environ[str]) -> str:
    return environ.get("VOICEWIRE_HYPOTHESIS_PROFILE") or "ci"


load_profile(_profile(os.environ))

StartSimulator = Callable[..., Awaitable[SimulatorServer]]


def _default_ctrl_c() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def interruptible() -> dict[str, Any]:
    """Keyword arguments for a child process the test will Ctrl-C (``subprocess.Popen`` or
    ``asyncio.create_subprocess_exec``): the child gets Ctrl-C's default action even when the
    test run itself was started with SIGINT ignored (a background job without job control
    passes SIG_IGN down, and Python then never raises KeyboardInterrupt)."""
    return {"preexec_fn": _default_ctrl_c}


@pytest.fixture
async def start_simulator() -> AsyncIterator[StartSimulator]:
    """``await start_simulator(scenario, **kwargs)`` starts a SimulatorServer on a free port;
    every server started is stopped after the test."""
    servers: list[SimulatorServer] = []

    async def start(scenario: Scenario | None = None, **kwargs: Any) -> SimulatorServer:
        server = await SimulatorServer(scenario, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


@pytest.fixture
async def make_llm() -> AsyncIterator[Callable[..., LLM]]:
    """``make_llm(sim, model=..., **kwargs)``: a reference LLM pointed at a simulator's ``/v1``
    (closed after the test). Retry waits default to a 0.01 time scale."""
    clients: list[LLM] = []

    def make(sim: SimulatorServer, model: str = "openai/gpt-4.1-mini", **kwargs: Any) -> LLM:
        kwargs.setdefault("time_scale", 0.01)
        llm = LLM(
            model,
            base_url=sim.base_url + "/v1",
            api_key=sim.api_key,
            api_secret=sim.api_secret,
            **kwargs,
        )
        clients.append(llm)
        return llm

    yield make
    for llm in clients:
        await llm.aclose()


def run_once_per_session(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    argv: list[str],
    **options: Any,
) -> dict[str, Any]:
    """Run ``argv`` (a subprocess, in its own folder) once per test session, however many
    xdist workers ask for it: the first to ask runs it under a file lock, the others wait for
    it and read its result. For the runs several tests judge (a full ``voicewire run``),
    which take a minute each. ``options`` go to ``subprocess.run``; a ``{folder}`` in an
    argument is the run's folder.

    Returns ``{"returncode", "stdout", "stderr", "out", "elapsed"}`` (``out``: the folder)."""
    import fcntl
    import json
    import subprocess
    import time

    # Under xdist every worker's basetemp sits in one folder of the session.
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    out = shared / name
    out.mkdir(exist_ok=True)
    result = out / "result.json"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result.exists():
            started = time.monotonic()
            done = subprocess.run(
                [str(arg).replace("{folder}", str(out)) for arg in argv],
                cwd=out,
                capture_output=True,
                text=True,
                **options,
            )
            result.write_text(
                json.dumps(
                    {
                        "returncode": done.returncode,
                        "stdout": done.stdout,
                        "stderr": done.stderr,
                        "elapsed": time.monotonic() - started,
                    }
                )
            )
    return {**json.loads(result.read_text()), "out": out}


@pytest.fixture(scope="session")
def once_per_session(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., dict[str, Any]]:
    """``once_per_session(name, argv, **options)``: :func:`run_once_per_session` for a test."""

    def run(name: str, argv: list[str], **options: Any) -> dict[str, Any]:
        return run_once_per_session(tmp_path_factory, name, argv, **options)

    return run


@pytest.fixture(scope="session")
def full_reference_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The README's main job, ``voicewire run -n auto`` against the reference (every suite,
    embedded simulators), with the JSON, JUnit and HTML reports written beside it, run once
    per test session (:func:`run_once_per_session`): test_conformance_run reads its reports,
    the README test its console output."""
    import sys
    from pathlib import Path

    return run_once_per_session(
        tmp_path_factory,
        "full-reference-run",
        [
            str(Path(sys.executable).parent / "voicewire"),
            "run",
            "-n",
            "auto",
            "--json",
            "{folder}/report.json",
            "--junit",
            "{folder}/report.xml",
            "--html",
            "{folder}/report.html",
        ],
        env={
            **{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
            "NO_COLOR": "1",
            "COLUMNS": "100",
        },
        timeout=600,
    )
