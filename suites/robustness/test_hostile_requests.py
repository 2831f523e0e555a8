"""Server direction: hostile requests (SPEC §7 SRV-1..7, §1.1 AUTH-4).

The server is ``voicewire_iut.server()``: voicewire's own embedded simulator for
``--iut reference``, or any gateway given with ``--iut url:<base_url>``. Each example of
:mod:`voicewire.suites.robustness.requests` opens raw sockets (on the harness loop) and sends
what no HTTP client library would: invalid bytes in a head, half a head, a body shorter than
its ``Content-Length``, a body that drips, a reset mid-stream. Its peers all start at once;
once each holds its connection the way it means to, the example's valid sessions (the plain
request every gateway answers, streamed) run beside them, and one more runs after them all.
Nothing depends on the content of a reply.

What every example is judged on:

- each hostile peer gets the answer its example allows (``expect.statuses``, else the rule
  it names: SRV-1 for a malformed request, SRV-4 for a limit, AUTH-4 for a token), never a
  5xx and never a hang (SRV-1); an error answer carries the JSON error body of LLM-SSE-5
  (SRV-5), a 401 the ``authentication_error`` one (AUTH-4); an answer to a head that
  announced a body comes without the body, and without ``100 Continue`` (SRV-6; SRV-4 for a
  body announced too large);
- a slow, partial or idle connection is closed by the server's head, body or idle deadline
  (SRV-4), waited for as :class:`~voicewire.suites.robustness.requests.ServerWaits` says;
- every valid session beside the peers streams to ``data: [DONE]`` (SRV-2) within
  ``LATENCY_FACTOR`` times its case's unloaded baseline plus ``LATENCY_SLACK`` (SRV-7), and
  the session after them still does (SRV-1: the server keeps serving).

How long to wait: the SPEC fixes no deadline. Against voicewire's embedded simulator the
waits follow its limits (:data:`voicewire.harness.embedded.EMBEDDED_LIMITS`: deadlines of a
few seconds); against any other server they are
:data:`~voicewire.suites.robustness.requests.DEFAULT_WAITS` (voicewire's default deadlines,
head 10 s, body 30 s, idle 75 s, plus margins). ``VOICEWIRE_SERVER_WAITS`` changes them:
``VOICEWIRE_SERVER_WAITS=5`` waits 5 s for every deadline (a quick run against a server with
short ones), ``VOICEWIRE_SERVER_WAITS=head=15,body=65,idle=80,answer=60`` each its own.
A connection still open when its wait runs out breaks SRV-4 (a SHOULD: NON-STRICT).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import ssl
import statistics
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from voicewire.harness.iut import Target
from voicewire.harness.replay import classify, property_family
from voicewire.harness.verdicts import expect
from voicewire.reference.llm.wire import strict_framing
from voicewire.suites.robustness.requests import (
    CLOCK_SKEW_BOUNDARIES,
    DEFAULT_WAITS,
    HOSTILE_HEAD_BOUNDARIES,
    MALFORMED_BOUNDARIES,
    SERVER_WAITS_ENV,
    SLOW_PEER_BOUNDARIES,
    ServerWaits,
    clock_skews,
    hostile_heads,
    malformed_requests,
    plain_request,
    render_request,
    server_waits,
    slow_peers,
    waits_for_limits,
)

LATENCY_FACTOR = 4.0
LATENCY_SLACK = 1.5
"""A valid session beside hostile peers may take up to ``LATENCY_FACTOR`` times the unloaded
baseline plus ``LATENCY_SLACK`` seconds, to its first byte and to its end. Starvation (a
server busy with one peer, or blocked on it) stalls the others for seconds; a loaded 2-core
CI machine adds scheduling noise of some hundred milliseconds (the peers, the harness and an
embedded simulator share its cores), and a remote gateway's time to first token varies by a
factor of a few from one identical request to the next. The bound sits between the two."""

BASELINE_SESSIONS = 3
"""Unloaded sessions, one after another, whose median is a case's baseline (after one more
that warms up connections, caches and the upstream model)."""

EMBEDDED_ANSWER_WAIT = 10.0
"""How long voicewire's embedded simulator may take to answer (it answers in milliseconds:
a longer wait only costs time when a check fails)."""

_READ_SIZE = 64 * 1024


# -- reading HTTP answers ----------------------------------------------------------------------


@dataclass
class HTTPAnswer:
    """What a server answered on one connection, as far as it came."""

    status: int
    """The final status (0: the bytes were no HTTP answer)."""
    headers: dict[str, str]
    """Lower-case names; a repeated field's values joined with ``", "``."""
    body: bytes
    """The body as far as it came (de-chunked)."""
    interim: list[int]
    """1xx statuses before the final one (``100`` Continue)."""
    complete: bool
    """The body reached the end its framing announces (or the connection closed)."""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def error(self) -> Any:
        """The ``error`` object of a JSON error body, or None."""
        try:
            document = json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None
        error = document.get("error") if isinstance(document, dict) else None
        return error if isinstance(error, dict) else None

    def streamed(self) -> bool:
        """A 200 ``text/event-stream`` whose last ``data:`` frame is ``[DONE]``."""
        if self.status != 200 or not self.content_type.startswith("text/event-stream"):
            return False
        payloads, _ = strict_framing(self.body)
        return payloads[-1:] == ["[DONE]"]

    def describe(self) -> str:
        """A short rendering for failure messages."""
        if self.status == 0:
            return f"bytes that are no HTTP answer: {self.body[:200]!r}"
        interim = f"{', '.join(map(str, self.interim))} then " if self.interim else ""
        cut = "" if self.complete else ", cut short"
        kind = self.content_type or "no content type"
        return f"HTTP {interim}{self.status} ({kind}{cut}): {self.body[:300]!r}"


def _dechunk(data: bytes) -> tuple[bytes, bool]:
    """A chunked body as far as it came, and whether its last chunk came."""
    out = bytearray()
    at = 0
    while True:
        eol = data.find(b"\r\n", at)
        if eol < 0:
            return bytes(out), False
        try:
            size = int(data[at:eol].split(b";")[0].strip(), 16)
        except ValueError:
            return bytes(out), False
        if size == 0:
            return bytes(out), True
        start = eol + 2
        out += data[start : start + size]
        if len(data) < start + size + 2:
            return bytes(out), False
        at = start + size + 2


def parse_answer(data: bytes, *, closed: bool) -> HTTPAnswer | None:
    """The answer in ``data`` (what a connection received), or None before a whole head."""
    rest = data
    interim: list[int] = []
    while True:
        end = rest.find(b"\r\n\r\n")
        if end < 0:
            if rest and not rest.startswith(b"HTTP/"[: len(rest)]):
                return HTTPAnswer(0, {}, data, interim, True)
            return None
        head, rest = rest[:end].decode("latin-1"), rest[end + 4 :]
        status_line, *fields = head.split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            return HTTPAnswer(0, {}, data, interim, True)
        status = int(parts[1])
        if 100 <= status < 200 and status != 101:
            interim.append(status)
            continue
        break
    headers: dict[str, str] = {}
    for line in fields:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        headers[name] = f"{headers[name]}, {value.strip()}" if name in headers else value.strip()
    if status in (204, 304):
        return HTTPAnswer(status, headers, b"", interim, True)
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body, complete = _dechunk(rest)
        return HTTPAnswer(status, headers, body, interim, complete or closed)
    length = headers.get("content-length")
    if length is not None and length.isdigit():
        size = int(length)
        return HTTPAnswer(status, headers, rest[:size], interim, len(rest) >= size or closed)
    return HTTPAnswer(status, headers, rest, interim, closed)


class _Inbox:
    """Everything one connection receives, read in the background, with waits that end at a
    condition, at the connection's close, or at a deadline (never a blind sleep)."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self.data = bytearray()
        self.closed = False
        self.closed_at: float | None = None
        self._changed = asyncio.Event()

    async def pump(self) -> None:
        try:
            while True:
                chunk = await self._reader.read(_READ_SIZE)
                if not chunk:
                    break
                self.data += chunk
                self._changed.set()
        except (ConnectionError, OSError):
            pass  # a reset is a close like any other, for what is judged here
        finally:
            self.closed = True
            self.closed_at = time.monotonic()
            self._changed.set()

    def answer(self) -> HTTPAnswer | None:
        return parse_answer(bytes(self.data), closed=self.closed)

    def answered(self) -> bool:
        answer = self.answer()
        return answer is not None and answer.complete

    def body_started(self) -> bool:
        answer = self.answer()
        return answer is not None and (bool(answer.body) or answer.complete)

    async def until(self, condition: Callable[[], bool], deadline: float) -> bool:
        """Wait until ``condition()`` holds (True), or the connection closes or the monotonic
        ``deadline`` passes (what ``condition()`` says then)."""
        while True:
            self._changed.clear()
            if condition():
                return True
            remaining = deadline - time.monotonic()
            if self.closed or remaining <= 0:
                return condition()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def pause(self, seconds: float) -> None:
        """Let ``seconds`` pass, or less if the connection closes meanwhile."""
        await self.until(lambda: self.closed, time.monotonic() + seconds)


async def _connect(target: Target, timeout: float) -> tuple[asyncio.StreamReader, Any]:
    url = urlsplit(target.base_url)
    secure = url.scheme == "https"
    port = url.port or (443 if secure else 80)
    context = ssl.create_default_context() if secure else None
    return await asyncio.wait_for(asyncio.open_connection(url.hostname, port, ssl=context), timeout)


async def _write(writer: asyncio.StreamWriter, data: bytes, timeout: float) -> bool:
    """Write ``data``; False when the connection is gone or the server stopped reading."""
    if not data:
        return True
    try:
        writer.write(data)
        await asyncio.wait_for(writer.drain(), timeout)
    except (ConnectionError, OSError, asyncio.TimeoutError):
        return False
    return True


# -- playing an example ------------------------------------------------------------------------


@dataclass
class PeerOutcome:
    """What one copy of a hostile peer met."""

    peer: dict[str, Any]
    copy: int
    failure: str | None = None
    """Why the peer could not connect."""
    answer: HTTPAnswer | None = None
    closed: bool = False
    """The server closed (or reset) the connection."""
    closed_after: float | None = None
    """Seconds from the start of the deadline's clock to the close."""
    reset: bool = False
    """The peer reset the connection itself."""


@dataclass
class SessionOutcome:
    """One valid session: its answer and its timing."""

    answer: HTTPAnswer | None
    ttfb: float | None = None
    """Seconds from the request's last byte to the answer's first body byte."""
    total: float | None = None
    """Seconds from the request's last byte to the answer's end."""
    failure: str | None = None

    def describe(self) -> str:
        if self.failure is not None:
            return self.failure
        if self.answer is None:
            return "no answer"
        return self.answer.describe()


@dataclass
class Played:
    """Everything one example met."""

    peers: list[PeerOutcome]
    beside: list[SessionOutcome]
    after: SessionOutcome


async def _play_peer(
    target: Target,
    peer: dict[str, Any],
    out: PeerOutcome,
    waits: ServerWaits,
    holding: asyncio.Event,
    inbox: _Inbox,
    writer: asyncio.StreamWriter,
) -> None:
    request = peer["request"]
    head, body = render_request(request, target, time.time()) if request else (b"", b"")
    data = head + body
    marks = {"head": len(head), "all": len(data)}
    deadline_name = peer["expect"]["deadline"]
    sent = 0
    connected = time.monotonic()
    head_started: float | None = None
    head_done: float | None = None

    def give_up() -> float:
        # A trickling or dripping peer goes on until the server closes the connection, or
        # until the wait for the deadline that should have closed it runs out.
        start = head_done if deadline_name == "body" else head_started
        return (start or time.monotonic()) + waits.deadline(deadline_name or "head")

    async def send_upto(upto: int, gap: float | None) -> bool:
        nonlocal sent, head_started, head_done
        while sent < upto and not inbox.closed:
            if gap is not None and head_started is not None and time.monotonic() > give_up():
                return False
            step = upto if gap is None else sent + 1
            if head_started is None:
                head_started = time.monotonic()
            if not await _write(writer, data[sent:step], waits.answer):
                return False
            sent = step
            if head_done is None and sent >= len(head):
                head_done = time.monotonic()
            if gap is not None:
                await inbox.pause(gap)
        return True

    going = True
    for step in peer["send"]:
        if not going or inbox.closed:
            break
        if "write" in step or "trickle" in step:
            mark = step["write"] if "write" in step else step["upto"]
            if "trickle" in step:
                holding.set()  # a trickling peer holds its connection from its first byte
            going = await send_upto(marks[mark] - step.get("drop", 0), step.get("trickle"))
        elif "drip" in step:
            holding.set()
            filler = step["text"].encode()
            stop = give_up()
            while going and not inbox.closed and time.monotonic() < stop:
                going = await _write(writer, filler, waits.answer)
                await inbox.pause(step["drip"])
        elif "pause" in step:
            await inbox.pause(step["pause"])

    then = peer["then"]
    if then == "reset":
        if peer["reset_after"] > 0:
            await inbox.until(
                lambda: len(inbox.data) >= peer["reset_after"] or inbox.answered(),
                time.monotonic() + waits.answer,
            )
        writer.transport.abort()
        out.reset = True
        holding.set()
        return
    if then == "answer":
        holding.set()
        sent_at = time.monotonic()
        await inbox.until(inbox.answered, sent_at + waits.answer)
        out.answer = inbox.answer()
        out.closed = inbox.closed
        return
    if then == "idle":
        started = connected
        if request is not None:
            await inbox.until(inbox.answered, time.monotonic() + waits.answer)
            out.answer = inbox.answer()
            started = time.monotonic()
        holding.set()
        wait = waits.idle
    else:  # silence: the deadline's clock started with the head's first byte, or its end
        holding.set()
        started = (head_done if deadline_name == "body" else head_started) or connected
        wait = waits.deadline(deadline_name)
    await inbox.until(lambda: inbox.closed, started + wait)
    if out.answer is None:
        out.answer = inbox.answer()
    out.closed = inbox.closed
    if inbox.closed_at is not None:
        out.closed_after = inbox.closed_at - started


async def run_peer(
    target: Target, peer: dict[str, Any], copy: int, waits: ServerWaits, holding: asyncio.Event
) -> PeerOutcome:
    """One copy of ``peer`` against ``target``; ``holding`` is set once it holds its
    connection the way it means to (or is done)."""
    out = PeerOutcome(peer=peer, copy=copy)
    try:
        reader, writer = await _connect(target, waits.answer)
    except (OSError, asyncio.TimeoutError) as exc:
        out.failure = f"could not connect: {type(exc).__name__}: {exc}"
        holding.set()
        return out
    inbox = _Inbox(reader)
    pump = asyncio.create_task(inbox.pump())
    try:
        await _play_peer(target, peer, out, waits, holding, inbox, writer)
    finally:
        holding.set()
        writer.transport.abort()
        pump.cancel()
        await asyncio.gather(pump, return_exceptions=True)
    return out


async def valid_session(target: Target, waits: ServerWaits) -> SessionOutcome:
    """The plain streamed request on a fresh connection, read to its end, timed."""
    head, body = render_request(plain_request(), target, time.time())
    try:
        reader, writer = await _connect(target, waits.answer)
    except (OSError, asyncio.TimeoutError) as exc:
        return SessionOutcome(None, failure=f"could not connect: {type(exc).__name__}: {exc}")
    inbox = _Inbox(reader)
    pump = asyncio.create_task(inbox.pump())
    try:
        if not await _write(writer, head + body, waits.answer):
            return SessionOutcome(inbox.answer(), failure="the server did not take the request")
        sent = time.monotonic()
        deadline = sent + waits.answer
        ttfb = total = None
        if await inbox.until(inbox.body_started, deadline):
            ttfb = time.monotonic() - sent
        if await inbox.until(inbox.answered, deadline):
            total = time.monotonic() - sent
        return SessionOutcome(inbox.answer(), ttfb, total)
    finally:
        writer.transport.abort()
        pump.cancel()
        await asyncio.gather(pump, return_exceptions=True)


async def play(target: Target, example: dict[str, Any], waits: ServerWaits) -> Played:
    """Start every peer of ``example``; once all hold their connections, run its valid
    sessions beside them; when the peers are done, one more session."""
    holdings: list[asyncio.Event] = []
    tasks: list[asyncio.Task[PeerOutcome]] = []
    for peer in example["peers"]:
        for copy in range(peer["copies"]):
            holding = asyncio.Event()
            holdings.append(holding)
            tasks.append(asyncio.create_task(run_peer(target, peer, copy, waits, holding)))
    try:
        # A peer that never gets to hold its connection (the server keeps it waiting for an
        # answer) must not keep the sessions from running beside the others.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(holding.wait() for holding in holdings)), waits.answer
            )
        beside = await asyncio.gather(
            *(valid_session(target, waits) for _ in range(example["beside"]))
        )
        peers = await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    after = await valid_session(target, waits)
    return Played(peers=list(peers), beside=list(beside), after=after)


# -- the case's setting: waits and baseline ----------------------------------------------------


@dataclass(frozen=True)
class Baseline:
    """Valid sessions alone: median seconds to the first body byte and to the end, and
    whether they stream to ``[DONE]`` (a server that does not breaks LLM-SSE-1, judged
    elsewhere; here its sessions are held to what it does alone)."""

    ttfb: float
    total: float
    completes: bool

    def ttfb_bound(self) -> float:
        return LATENCY_FACTOR * self.ttfb + LATENCY_SLACK

    def total_bound(self) -> float:
        return LATENCY_FACTOR * self.total + LATENCY_SLACK


@dataclass
class _Setting:
    target: Target
    waits: ServerWaits
    baseline: Baseline


# One setting per case: the case's simulator fixture object lives exactly as long as the case.
# A server that cannot even serve the plain request fails every example the same way: the
# error is kept too, so it is not measured again for each one.
_SETTINGS: weakref.WeakKeyDictionary[Any, _Setting | RuntimeError] = weakref.WeakKeyDictionary()


def _waits(voicewire_simulator: Any, target: Target) -> ServerWaits:
    if target.base_url == voicewire_simulator.base_url:
        default = waits_for_limits(voicewire_simulator.limits, answer=EMBEDDED_ANSWER_WAIT)
    else:
        default = DEFAULT_WAITS
    return server_waits(os.environ, default)


async def _alone(target: Target, waits: ServerWaits) -> list[SessionOutcome]:
    return [await valid_session(target, waits) for _ in range(BASELINE_SESSIONS + 1)][1:]


def setting(voicewire_iut: Any, voicewire_simulator: Any) -> _Setting:
    """The server under test, the waits and the unloaded baseline of the running case
    (measured at its first example)."""
    known = _SETTINGS.get(voicewire_simulator)
    if isinstance(known, RuntimeError):
        raise RuntimeError(str(known))
    if known is not None:
        return known
    target = voicewire_iut.server()
    waits = _waits(voicewire_simulator, target)
    alone = voicewire_iut.run(
        _alone(target, waits), timeout=(BASELINE_SESSIONS + 1) * waits.answer + 10
    )
    served = [s for s in alone if s.answer is not None and s.answer.status == 200]
    if len(served) < len(alone) or any(s.ttfb is None or s.total is None for s in served):
        failure = RuntimeError(
            "the server does not stream the plain request, so nothing beside a hostile one can "
            "be judged: " + "; ".join(s.describe() for s in alone)
        )
        _SETTINGS[voicewire_simulator] = failure
        raise failure
    baseline = Baseline(
        ttfb=statistics.median(s.ttfb for s in served if s.ttfb is not None),
        total=statistics.median(s.total for s in served if s.total is not None),
        completes=all(s.answer is not None and s.answer.streamed() for s in served),
    )
    known = _SETTINGS[voicewire_simulator] = _Setting(target, waits, baseline)
    return known


# -- judging -----------------------------------------------------------------------------------


def _outcome_class(outcome: PeerOutcome) -> str:
    if outcome.failure is not None:
        return "unreachable"
    if outcome.reset:
        return "reset by the client"
    answer = outcome.answer
    if answer is None:
        said = "no answer"
    elif answer.status == 0:
        said = "not HTTP"
    elif answer.status == 200:
        said = "200 stream" if answer.streamed() else "200 not a stream"
    else:
        said = f"{answer.status} {'json' if answer.error() is not None else 'not json'}"
    if outcome.peer["then"] in ("silence", "idle"):
        said += ", closed" if outcome.closed else ", left open"
    return said


def _judge_error_body(answer: HTTPAnswer, what: str, *, auth: bool) -> bool:
    error = answer.error()
    if auth and answer.status == 401:
        return expect(
            error is not None
            and error.get("type") == "authentication_error"
            and error.get("code") == 401
            and isinstance(error.get("message"), str),
            "AUTH-4",
            f'{what}: a 401 carries {{"error": {{"message", "type": "authentication_error", '
            f'"code": 401}}}}, got {answer.describe()}',
        )
    return expect(
        answer.content_type.startswith("application/json")
        and error is not None
        and isinstance(error.get("message"), str)
        and isinstance(error.get("type"), str)
        and "code" in error,
        "SRV-5",
        f'{what}: an error answer carries the JSON body {{"error": {{"message", "type", '
        f'"code"}}}}, got {answer.describe()}',
    )


def judge_peer(outcome: PeerOutcome, waits: ServerWaits, baseline: Baseline) -> bool:
    """Every expectation on one copy of a peer; whether all held."""
    peer = outcome.peer
    want = peer["expect"]
    copies = f" (copy {outcome.copy + 1} of {peer['copies']})" if peer["copies"] > 1 else ""
    what = f"{peer['what']}{copies}"
    statuses = want["statuses"]
    held = True

    def check(condition: bool, rule: str, message: str) -> None:
        nonlocal held
        held = expect(condition, rule, f"{what}: {message}") and held

    if outcome.failure is not None:
        check(False, "SRV-1", f"{outcome.failure}: the server no longer accepts connections")
        return held
    if outcome.reset:
        return held  # what a vanishing peer does is judged on everybody else
    answer = outcome.answer
    then = peer["then"]
    failed = answer is not None and answer.status >= 500
    if failed:
        check(False, "SRV-1", f"a hostile request got a 5xx: {answer.describe()}")
    if then == "answer":
        before_body = want["before_body"]
        if answer is None or not answer.complete:
            shown = answer.describe() if answer is not None else "nothing"
            state = "closed it" if outcome.closed else "kept the connection open"
            if before_body is not None:
                check(
                    False,
                    before_body,
                    f"no answer to the head alone within {waits.answer:g} s (the server "
                    f"{state}, having sent {shown}): it waits for a body it must refuse "
                    f"without reading ({SERVER_WAITS_ENV}: answer=SECONDS waits longer)",
                )
            else:
                check(
                    False,
                    "SRV-1",
                    f"no whole answer within {waits.answer:g} s (the server {state}, having "
                    f"sent {shown}): a hostile request must get a protocol error, not a hang",
                )
        elif before_body is not None and 100 in answer.interim:
            check(
                False,
                before_body,
                f"the server answered 100 Continue before refusing: it asked for the body "
                f"it then refused, instead of refusing from the head ({answer.describe()})",
            )
        elif before_body is not None and answer.status == 408:
            check(
                False,
                before_body,
                f"the server waited for the body until its deadline ({answer.describe()}) "
                f"instead of refusing from the head",
            )
        elif not failed and answer.status not in statuses:
            check(False, want["rule"], f"expected HTTP {statuses}, got {answer.describe()}")
    else:  # silence, idle: the server must close the connection by its deadline
        deadline = want["deadline"]
        wait = waits.deadline(deadline)
        closed_in_time = outcome.closed and (outcome.closed_after or 0.0) <= wait
        check(
            closed_in_time,
            "SRV-4",
            f"not closed within {wait:g} s by the server's {deadline} deadline"
            + (
                f" (closed after {outcome.closed_after:.1f} s)"
                if outcome.closed and outcome.closed_after is not None
                else " (still open)"
            )
            + f"; {SERVER_WAITS_ENV}={deadline}=SECONDS waits longer",
        )
        if (
            then == "idle"
            and peer["request"] is not None
            and (answer is None or not answer.complete)
        ):
            shown = answer.describe() if answer is not None else "nothing"
            check(
                False,
                want["rule"],
                f"the exchange before the idle time got no whole answer within "
                f"{waits.answer:g} s, only {shown}",
            )
        elif answer is not None and not failed and answer.status not in statuses:
            check(
                False,
                want["rule"],
                f"expected nothing or HTTP {statuses} before the close, got {answer.describe()}",
            )
    if answer is not None and answer.status >= 400:
        held = _judge_error_body(answer, what, auth=401 in statuses) and held
    if (
        answer is not None
        and answer.status == 200
        and 200 in statuses
        and answer.complete
        and baseline.completes
    ):
        check(
            answer.streamed(),
            want["rule"],
            f"a 200 answer must be a stream ending with data: [DONE], got {answer.describe()}",
        )
    return held


def _beside_what(example: dict[str, Any]) -> str:
    """What the sessions ran beside: the peer, or for a crowd its size and kinds (each peer's
    own failures name it in full)."""
    peers = example["peers"]
    if len(peers) == 1 and peers[0]["copies"] == 1:
        return str(peers[0]["what"])
    kinds = sorted({peer["kind"] for peer in peers})
    return f"{sum(peer['copies'] for peer in peers)} hostile connections: {', '.join(kinds)}"


def _session_ok(session: SessionOutcome, baseline: Baseline) -> bool:
    answer = session.answer
    if answer is None or session.failure is not None or answer.status != 200:
        return False
    return answer.streamed() if baseline.completes else answer.complete


def judge(example: dict[str, Any], played: Played, waits: ServerWaits, baseline: Baseline) -> None:
    """Every expectation of one example (see the module docstring), and its outcome class."""
    failed: set[int] = set()
    for outcome in played.peers:
        # The copies of a peer fail alike: the first failing one speaks for them all.
        if id(outcome.peer) in failed:
            continue
        if not judge_peer(outcome, waits, baseline):
            failed.add(id(outcome.peer))
    what = _beside_what(example)
    for number, session in enumerate(played.beside, 1):
        ok = _session_ok(session, baseline)
        expect(
            ok,
            "SRV-2",
            f"valid session {number} of {len(played.beside)} beside [{what}] must stream to "
            f"[DONE] as sessions alone do; it got {session.describe()}",
        )
        if ok and session.ttfb is not None and session.total is not None:
            expect(
                session.ttfb <= baseline.ttfb_bound() and session.total <= baseline.total_bound(),
                "SRV-7",
                f"valid session {number} beside [{what}] took {session.ttfb:.2f} s to its "
                f"first byte and {session.total:.2f} s in all; alone, sessions take "
                f"{baseline.ttfb:.3f} s and {baseline.total:.3f} s (bounds "
                f"{baseline.ttfb_bound():.2f} s and {baseline.total_bound():.2f} s)",
            )
    expect(
        _session_ok(played.after, baseline),
        "SRV-1",
        f"after [{what}], a valid session got {played.after.describe()}: the server must go "
        f"on serving",
    )
    first = played.peers[0]
    classify(f"{first.peer['kind']} → {_outcome_class(first)}")


def check_example(voicewire_iut: Any, voicewire_simulator: Any, example: dict[str, Any]) -> None:
    """Play ``example`` against the server under test and judge it."""
    setting_ = setting(voicewire_iut, voicewire_simulator)
    waits = setting_.waits
    # Peers wait for deadlines and answers at once; the sessions after them for answers.
    limit = waits.longest + 4 * waits.answer + 30
    played = voicewire_iut.run(play(setting_.target, example, waits), timeout=limit)
    judge(example, played, waits, setting_.baseline)


# -- the families ------------------------------------------------------------------------------


@pytest.mark.spec("SRV-1", "SRV-2", "SRV-4", "SRV-5", "SRV-7")
@pytest.mark.capability("llm.server")
@property_family("malformed-requests", malformed_requests(), boundaries=MALFORMED_BOUNDARIES)
def test_malformed_requests(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """Malformed, mistyped, too deep and too large requests get a 4xx with a JSON error
    body, never a 5xx or a hang; sessions beside and after them are served."""
    check_example(voicewire_iut, voicewire_simulator, example)


@pytest.mark.spec("AUTH-4", "SRV-1", "SRV-2", "SRV-4", "SRV-5", "SRV-6", "SRV-7")
@pytest.mark.capability("llm.server")
@property_family("hostile-heads", hostile_heads(), boundaries=HOSTILE_HEAD_BOUNDARIES)
def test_hostile_heads(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """Bad tokens get 401 (from the head alone when it announces a body); invalid bytes,
    names, sizes and framing in a head get a 4xx or are served, never a 5xx."""
    check_example(voicewire_iut, voicewire_simulator, example)


@pytest.mark.spec("AUTH-4", "SRV-1", "SRV-2", "SRV-5", "SRV-7")
@pytest.mark.capability("llm.server")
@property_family("clock-skew", clock_skews(), boundaries=CLOCK_SKEW_BOUNDARIES)
def test_clock_skew(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """A token skewed inside the 10 s leeway is served; one skewed far outside it gets 401."""
    check_example(voicewire_iut, voicewire_simulator, example)


@pytest.mark.spec("AUTH-4", "SRV-1", "SRV-2", "SRV-4", "SRV-5", "SRV-6", "SRV-7")
@pytest.mark.capability("llm.server")
@property_family("slow-peers", slow_peers(), max_examples=4, boundaries=SLOW_PEER_BOUNDARIES)
def test_slow_peers(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """Slow, partial and idle connections are closed by the server's deadlines, resets
    change nothing, and valid sessions beside them keep their timing."""
    check_example(voicewire_iut, voicewire_simulator, example)
