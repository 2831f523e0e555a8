"""The ``cmd:`` IUT: an implementation in any language, driven over a subprocess's stdio.

The harness starts the command and speaks JSON lines with it: one request object per line on
the driver's stdin, one reply object per line on its stdout, strictly one request at a time.
Every operation travels in the same envelope, ``{"id", "op", "request"}`` answered by
``{"id", "answer"}`` or ``{"id", "error"}``; the operation's request and answer models come
from the capability table, so this adapter knows no protocol.
``docs/iut-protocol.md`` is the protocol's full description (written for driver authors);
``docs/examples/llm_driver.py`` is a complete driver.

Whatever the driver does wrong — a line on stdout that is not a JSON reply, a reply to the
wrong request, an exit in the middle of an operation, an unknown capability, silence where a
hello is due — raises :class:`~harness.driver.IUTProtocolError` saying what it did, with the
last lines the driver wrote to stderr (which is captured for exactly that). The case is then
``ERROR``: a broken driver is not evidence about the implementation behind it.

After anything that may leave the pipe out of step (a protocol error, a crash, an operation
cancelled by the harness's timeout) the driver process is killed, and the next operation starts
a fresh one (with a new hello), so one stuck case does not take every later case with it. A
driver that cannot even be restarted is remembered as broken: later operations fail at once
with the reason instead of waiting for another hello timeout each.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import os
import shlex
import signal
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from voicewire.harness.iut import IUTProtocolError, IUTSpecError, Target
from voicewire.harness.protocols import TABLE

__all__ = ["PROTOCOL_VERSION", "CommandIUT", "DriverError"]

PROTOCOL_VERSION = 2
"""The protocol version the harness sends in ``hello`` (``request.protocol``). Version 1 (an
``llm.chat`` op with a ``fallback`` field, ``params``/``result`` keys) is no longer spoken."""

# A reply carrying a long stream's events is one line: the reader must accept big lines.
_LINE_LIMIT = 64 * 1024 * 1024
_STDERR_KEPT_LINES = 200
_STDERR_LINE_CHARS = 1000
_STDERR_SHOWN_LINES = 20
_SHOWN_CHARS = 200


class DriverError(IUTProtocolError):
    """The driver answered a request with ``{"error": ...}``: it could not perform the
    operation. Not a verdict on the implementation (the case is ``ERROR``): a failure the
    implementation itself produced (a stream that raised, an op that raised) is an answer
    inside ``result``, never an ``error`` reply."""


def _shown(data: bytes | str) -> str:
    text = data if isinstance(data, str) else data.decode("utf-8", errors="backslashreplace")
    return repr(text[:_SHOWN_CHARS]) + (" ..." if len(text) > _SHOWN_CHARS else "")


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
    if not value > 0:  # also rejects NaN
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return float(value)


class _DriverProcess:
    """One running driver: the subprocess, its request ids and the tail of its stderr."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.ids = itertools.count()
        self.stderr_lines: collections.deque[str] = collections.deque(maxlen=_STDERR_KEPT_LINES)
        self._stderr_partial = b""
        assert process.stderr is not None
        self.stderr_task = asyncio.get_running_loop().create_task(self._drain(process.stderr))

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        # Read continuously: a driver blocked on a full stderr pipe would look like a hang.
        # Fixed-size reads, not readline(), so one enormous line cannot raise here.
        while True:
            data = await stream.read(65536)
            if not data:
                break
            *lines, self._stderr_partial = (self._stderr_partial + data).split(b"\n")
            for line in lines:
                self.stderr_lines.append(self._decode(line))
            if len(self._stderr_partial) > _STDERR_LINE_CHARS * 4:
                self.stderr_lines.append(self._decode(self._stderr_partial))
                self._stderr_partial = b""
        if self._stderr_partial:
            self.stderr_lines.append(self._decode(self._stderr_partial))
            self._stderr_partial = b""

    @staticmethod
    def _decode(line: bytes) -> str:
        text = line.rstrip(b"\r").decode("utf-8", errors="replace")
        return text if len(text) <= _STDERR_LINE_CHARS else text[:_STDERR_LINE_CHARS] + " ..."

    def stderr_tail(self, lines: int = _STDERR_SHOWN_LINES) -> list[str]:
        kept = list(self.stderr_lines)
        if self._stderr_partial:  # a last line without its newline yet
            kept.append(self._decode(self._stderr_partial))
        return kept[-lines:]

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    def kill(self) -> None:
        """Kill the driver and whatever it started (it leads its own process group)."""
        if not self.alive:
            return
        with contextlib.suppress(ProcessLookupError):
            if sys.platform != "win32":
                os.killpg(self.process.pid, signal.SIGKILL)
            else:  # pragma: no cover - no process groups to kill
                self.process.kill()

    async def reap(self, timeout: float = 2.0) -> None:
        """Wait for the process and its stderr reader to finish (killing it if need be)."""
        try:
            await asyncio.wait_for(self.process.wait(), timeout)
        except asyncio.TimeoutError:
            self.kill()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.process.wait(), timeout)
        try:
            # A grandchild may hold stderr open after the driver died: don't wait for it.
            await asyncio.wait_for(asyncio.shield(self.stderr_task), 0.5)
        except asyncio.TimeoutError:
            self.stderr_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.stderr_task


class CommandIUT:
    """An IUT behind a subprocess speaking the JSON-lines protocol of ``docs/iut-protocol.md``.

    ``argv`` is the command (``argv[0]`` is looked up on ``PATH``); it runs in the current
    directory with the current environment. ``hello_timeout``: seconds the driver has to
    answer ``hello`` after it starts. ``timeout``: seconds one operation may take (``None``:
    no limit of its own; the harness's per-operation timeout still applies); past it the
    operation raises :class:`IUTProtocolError` and the driver is restarted.
    ``capabilities`` and ``name`` come from the driver's hello (empty before :meth:`start`).
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        hello_timeout: float = 10.0,
        timeout: float | None = None,
        shutdown_timeout: float = 2.0,
    ) -> None:
        if isinstance(argv, str) or not isinstance(argv, Sequence):
            raise TypeError(f"argv must be a list of strings, got {type(argv).__name__}")
        if not all(isinstance(arg, str) for arg in argv):
            raise TypeError(f"argv must hold only strings, got {argv!r}")
        if not argv or not argv[0]:
            raise ValueError(f"argv must name a command, got {argv!r}")
        self.argv = list(argv)
        self.command = shlex.join(self.argv)
        self.hello_timeout = _seconds("hello_timeout", hello_timeout)
        self.timeout = None if timeout is None else _seconds("timeout", timeout)
        self.shutdown_timeout = _seconds("shutdown_timeout", shutdown_timeout)
        self.name = f"cmd:{self.command}"
        self.capabilities: frozenset[str] = frozenset()
        self._driver: _DriverProcess | None = None
        self._retired: list[_DriverProcess] = []
        self._last: _DriverProcess | None = None  # the latest process that is gone, for its stderr
        self._broken: IUTProtocolError | None = None
        self._hello_done = False
        # One request at a time (the protocol is sequential); also serialises restarts.
        self._lock = asyncio.Lock()

    # -- the IUT protocol -------------------------------------------------------------------

    async def start(self) -> None:
        """Start the driver and read its name and capabilities from its hello."""
        async with self._lock:
            if self._driver is None:
                await self._spawn()

    async def perform_operation(self, name: str, request: BaseModel) -> BaseModel:
        """Send operation ``name`` with ``request``; return the driver's answer, validated
        against the operation's answer model."""
        operation, capability = TABLE.operation(name)
        answer = await self._call(name, request.model_dump(mode="json"), capability.name)
        try:
            return operation.check_answer(answer)
        except ValidationError as exc:
            raise self._error(
                f"its {name} answer is not a valid {operation.answer.__name__}: {exc}"
            ) from None

    def server_target(self, embedded: Target) -> Target:
        """A ``cmd:`` IUT is a client: its server side is voicewire's own simulator."""
        return embedded

    async def aclose(self) -> None:
        """Ask the driver to shut down (``shutdown``, then end of stdin); kill it if it has
        not exited within ``shutdown_timeout`` seconds."""
        driver, self._driver = self._driver, None
        if driver is not None:
            self._last = driver
            if driver.alive:
                await self._shutdown(driver)
            else:
                await driver.reap()
        retired, self._retired = self._retired, []
        for old in retired:
            await old.reap()

    # -- helpers for reports and tests ------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The running driver's process id (None when none runs)."""
        driver = self._driver
        return driver.process.pid if driver is not None and driver.alive else None

    def stderr_tail(self, lines: int = _STDERR_SHOWN_LINES) -> list[str]:
        """The last ``lines`` lines the current (or last) driver process wrote to stderr."""
        driver = self._driver or self._last
        return [] if driver is None else driver.stderr_tail(lines)

    # -- the exchange -----------------------------------------------------------------------

    def _require(self, capability: str) -> None:
        if capability not in self.capabilities:
            raise IUTProtocolError(
                f"cmd:{self.command}: the driver does not declare the {capability!r} capability "
                f"(it declared {sorted(self.capabilities)}); cases needing it are UNSUPPORTED "
                "and must not call it"
            )

    def _error(self, problem: str, driver: _DriverProcess | None = None) -> IUTProtocolError:
        return IUTProtocolError(self._describe(problem, driver))

    def _describe(self, problem: str, driver: _DriverProcess | None = None) -> str:
        driver = driver or self._driver
        tail = driver.stderr_tail() if driver is not None else []
        if tail:
            shown = "\n".join(f"  | {line}" for line in tail)
            stderr = f"\nlast {len(tail)} line(s) the driver wrote to stderr:\n{shown}"
        else:
            stderr = "\n(the driver wrote nothing to stderr)"
        return f"cmd:{self.command}: {problem}{stderr}"

    async def _call(self, op: str, params: dict[str, Any], capability: str) -> dict[str, Any]:
        async with self._lock:
            if self._broken is not None:
                raise IUTProtocolError(
                    f"cmd:{self.command}: the driver could not be restarted after an earlier "
                    f"failure, so {op} was not sent. That failure:\n{self._broken}"
                )
            if self._hello_done:  # known capabilities: refuse before (re)starting anything
                self._require(capability)
            if self._driver is None or not self._driver.alive:
                if self._driver is not None:
                    self._retire(self._driver)
                try:
                    await self._spawn()
                except IUTProtocolError as exc:
                    if self._hello_done:  # it worked once: a restart that fails stays failed
                        self._broken = exc
                    raise
            self._require(capability)
            driver = self._driver
            assert driver is not None
            return await self._exchange(driver, op, params, timeout=self.timeout)

    async def _exchange(
        self, driver: _DriverProcess, op: str, params: dict[str, Any], *, timeout: float | None
    ) -> dict[str, Any]:
        """Send one request and read its reply. Anything that may leave the pipe out of step
        retires the driver before the error (or the cancellation) propagates."""
        request_id = next(driver.ids)
        try:
            if timeout is None:
                return await self._round_trip(driver, request_id, op, params)
            try:
                return await asyncio.wait_for(
                    self._round_trip(driver, request_id, op, params), timeout
                )
            except asyncio.TimeoutError:
                hint = (
                    " (does it flush stdout after each line, and log only to stderr?)"
                    if op == "hello"
                    else ""
                )
                raise self._error(
                    f"the driver did not answer {op} (request id {request_id}) within "
                    f"{timeout:g} s{hint}; it was stopped",
                    driver,
                ) from None
        except DriverError:
            raise  # a well-formed error reply: the pipe is still in step
        except BaseException:
            # Cancelled (the harness's timeout) or a protocol error: a late reply would be
            # read as the answer to the next request, so this process is done.
            driver.kill()
            self._retire(driver)
            raise

    async def _round_trip(
        self, driver: _DriverProcess, request_id: int, op: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        process = driver.process
        assert process.stdin is not None and process.stdout is not None
        line = json.dumps({"id": request_id, "op": op, "request": params}, separators=(",", ":"))
        what = f"{op} (request id {request_id})"
        try:
            process.stdin.write(line.encode("utf-8") + b"\n")
            await process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            raise await self._exited(driver, f"before reading {what}") from None
        while True:
            try:
                raw = await process.stdout.readline()
            except ValueError:  # over the StreamReader limit
                raise self._error(
                    f"while answering {what} the driver wrote a line longer than "
                    f"{_LINE_LIMIT} bytes to stdout",
                    driver,
                ) from None
            if not raw:
                raise await self._exited(driver, f"during {what}, without answering it")
            if raw.strip():
                break  # blank lines are tolerated: some writers add them
        return self._parse_reply(driver, raw, request_id, op, what)

    def _parse_reply(
        self, driver: _DriverProcess, raw: bytes, request_id: int, op: str, what: str
    ) -> dict[str, Any]:
        try:
            reply = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise self._error(
                f"while answering {what} the driver wrote a line to stdout that is not UTF-8: "
                f"{_shown(raw)}",
                driver,
            ) from None
        except json.JSONDecodeError:
            raise self._error(
                f"while answering {what} the driver wrote a line to stdout that is not JSON: "
                f"{_shown(raw.rstrip())} (stdout carries protocol replies only: log to stderr)",
                driver,
            ) from None
        if not isinstance(reply, dict):
            raise self._error(
                f"answered {what} with {_shown(raw.rstrip())}, not a JSON object", driver
            )
        reply_id = reply.get("id")
        if reply_id != request_id or isinstance(reply_id, bool):
            raise self._error(
                f"answered with id {reply_id!r} while request id {request_id} ({op}) was "
                f"outstanding (replies must echo the request's id; requests are sequential): "
                f"{_shown(raw.rstrip())}",
                driver,
            )
        has_answer, has_error = "answer" in reply, "error" in reply
        if has_answer == has_error:
            hint = (
                " (a 'result' key is protocol 1: this harness speaks protocol "
                f"{PROTOCOL_VERSION}, see docs/iut-protocol.md)"
                if "result" in reply
                else ""
            )
            raise self._error(
                f"answered {what} with neither or both of 'answer' and 'error'{hint}: "
                f"{_shown(raw.rstrip())}",
                driver,
            )
        if has_error:
            error = reply["error"]
            message = error.get("message") if isinstance(error, dict) else None
            if not isinstance(message, str):
                raise self._error(
                    f"answered {what} with an error that is not {{'message': <string>}}: "
                    f"{_shown(json.dumps(error))}",
                    driver,
                )
            raise DriverError(self._describe(f"the driver could not perform {op}: {message}"))
        answer = reply["answer"]
        if not isinstance(answer, dict):
            raise self._error(
                f"answered {what} with an answer that is not a JSON object: "
                f"{_shown(json.dumps(answer))}",
                driver,
            )
        return answer

    async def _exited(self, driver: _DriverProcess, when: str) -> IUTProtocolError:
        """The error for a driver whose stdout ended: how it exited, and its last words."""
        await driver.reap(timeout=1.0)
        code = driver.process.returncode
        if code is None:
            how = "closed its stdout"
        elif code < 0:
            how = f"was killed by signal {-code}"
        else:
            how = f"exited with code {code}"
        return self._error(f"the driver {how} {when}", driver)

    # -- process lifecycle ------------------------------------------------------------------

    async def _spawn(self) -> None:
        """Start a driver process and run the hello exchange (lock held)."""
        for old in self._retired:
            await old.reap()
        self._retired.clear()
        try:
            process = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                limit=_LINE_LIMIT,
                # Its own process group, so a kill reaches whatever it started too.
                start_new_session=sys.platform != "win32",
            )
        except OSError as exc:
            raise IUTSpecError(f"cmd:{self.command}: cannot start the command: {exc}") from exc
        driver = self._driver = _DriverProcess(process)
        try:
            result = await self._exchange(
                driver, "hello", {"protocol": PROTOCOL_VERSION}, timeout=self.hello_timeout
            )
            name, capabilities = self._check_hello(result)
            if self._hello_done and capabilities != self.capabilities:
                raise self._error(
                    f"the restarted driver declared capabilities {sorted(capabilities)}, but "
                    f"the first one declared {sorted(self.capabilities)}",
                    driver,
                )
        except BaseException:
            # Without a good hello the process is no use (even after a well-formed refusal).
            driver.kill()
            self._retire(driver)
            raise
        self.name = name
        self.capabilities = capabilities
        self._hello_done = True

    def _check_hello(self, answer: dict[str, Any]) -> tuple[str, frozenset[str]]:
        name = answer.get("name")
        if not isinstance(name, str) or not name.strip():
            raise self._error(f"its hello answer needs a non-empty 'name', got {name!r}")
        protocol = answer.get("protocol")
        if protocol != PROTOCOL_VERSION or isinstance(protocol, bool):
            raise self._error(
                f"its hello answer says protocol {protocol!r}; this harness speaks protocol "
                f"{PROTOCOL_VERSION} (docs/iut-protocol.md)"
            )
        declared = answer.get("capabilities")
        if not isinstance(declared, list) or not all(isinstance(c, str) for c in declared):
            raise self._error(
                f"its hello answer needs 'capabilities', a list of strings, got {declared!r}"
            )
        clients = TABLE.with_direction("client")
        for capability in declared:
            if capability in TABLE and capability not in clients:
                raise self._error(
                    f"it declares {capability!r}, a server capability, but a cmd: IUT is a "
                    "client; test a server with --iut url:<base_url>"
                )
            if capability not in clients:
                raise self._error(
                    f"it declares the unknown capability {capability!r} (known: {sorted(clients)})"
                )
        return name, frozenset(declared)

    def _retire(self, driver: _DriverProcess) -> None:
        """Forget ``driver`` as the current process; it is reaped at the next spawn or close."""
        if self._driver is driver:
            self._driver = None
        self._last = driver
        if driver not in self._retired:
            self._retired.append(driver)

    async def _shutdown(self, driver: _DriverProcess) -> None:
        process = driver.process
        assert process.stdin is not None
        with contextlib.suppress(Exception):
            request = {"id": next(driver.ids), "op": "shutdown", "request": {}}
            process.stdin.write(json.dumps(request).encode("utf-8") + b"\n")
            await asyncio.wait_for(process.stdin.drain(), self.shutdown_timeout)
        with contextlib.suppress(Exception):
            process.stdin.close()  # end of input: the driver's other reason to exit
        try:
            await asyncio.wait_for(process.wait(), self.shutdown_timeout)
        except asyncio.TimeoutError:
            driver.kill()
        await driver.reap()
