"""``voicewire journal``: read a running simulator's journal, one line per entry.

It reads ``GET /__voicewire/journal`` of the simulator's control API: page after page behind
the ``next`` cursor, or with ``--follow`` the endpoint's NDJSON stream (``?follow=1``), which
sends each entry as the simulator records it, so nothing is polled and nothing is late.

A line holds the entry's time (seconds since the simulator started), its scenario and exchange
(``default#3``: the third request or session), its direction (``in``: client → simulator,
``out``, ``note``: something the simulator decided), its kind (``sse_event[2]``: scripted
event 2) and a one-line summary of its data (request headers and token claims folded away:
``--json`` prints every entry whole, one JSON document a line).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import socket
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import urlencode, urlsplit

from voicewire.harness.serve_cli import CONTROL_TOKEN_ENV
from voicewire.simulators.core.control import CONTROL_PREFIX, CONTROL_TOKEN_HEADER

__all__ = ["DEFAULT_URL", "add_journal_parser", "format_entry", "run_journal"]

DEFAULT_URL = "http://127.0.0.1:8080"
"""Where ``voicewire journal`` looks without ``--url``: the port the Docker image listens on
(``voicewire serve`` itself takes a free port unless ``--port``, and prints its URL)."""

EXIT_UNREADABLE = 3
"""The exit code when the journal cannot be read (no simulator there, a refused token ...)."""

# Seconds to wait for a connection or an answer (a follower waits for entries without bound).
_TIMEOUT = 30.0
# Entries asked for per page (the control API's default).
_PAGE = 1000
# Data keys a summary leaves out: the request head and the token's claims say little in one
# line and would push the body out of it.
_FOLDED = frozenset({"headers", "token", "body_length", "truncated"})
_CONTROL_CHARACTERS = {i: f"\\x{i:02x}" for i in range(32)} | {
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    0x7F: "\\x7f",
}


class _Unreadable(Exception):
    """The journal cannot be read: the message says why, in one line."""


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def add_journal_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``journal`` sub-command."""
    parser = subparsers.add_parser(
        "journal",
        help="print a running simulator's journal, one line per frame",
        description="Print the journal of a running simulator (voicewire serve, the Docker "
        "image, a SimulatorServer), one line per frame it received or sent, through its "
        "control API. voicewire serve prints this command with its URL and token.",
    )
    parser.add_argument(
        "--url",
        default=DEFAULT_URL,
        help=f"the simulator's URL (default {DEFAULT_URL}, the Docker image's port); the "
        "control API URL or the /v1 base URL serve prints are accepted too",
    )
    parser.add_argument("--scenario", metavar="NAME", help="only this scenario's entries")
    parser.add_argument(
        "--exchange", type=_non_negative, metavar="N", help="only this exchange's entries"
    )
    parser.add_argument(
        "--follow",
        "-f",
        action="store_true",
        help="keep printing entries as they arrive, until Ctrl-C",
    )
    parser.add_argument(
        "--token",
        default=None,
        help=f"the control token (default ${CONTROL_TOKEN_ENV}); voicewire serve prints it",
    )
    parser.add_argument(
        "--json", action="store_true", help="print each entry whole, one JSON document a line"
    )
    parser.add_argument(
        "--width",
        type=_non_negative,
        default=None,
        metavar="N",
        help="cut lines to N characters, 0: never (default: the terminal's width on a "
        "terminal, else never)",
    )


@dataclass(frozen=True)
class _Target:
    """Where the journal is: scheme, host, port and the path the control API is under."""

    url: str
    scheme: str
    host: str
    port: int
    prefix: str

    def connect(self, timeout: float | None) -> http.client.HTTPConnection:
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)


def _target(url: str) -> _Target:
    """The simulator ``url`` names; the paths serve prints (``/v1``, ``/__voicewire/``) are
    taken off, whatever comes before them is kept (a reverse proxy's prefix)."""
    expected = "expected http://HOST:PORT, as voicewire serve prints it"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _Unreadable(f"bad URL {url!r}: {exc}; {expected}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Unreadable(f"bad URL {url!r}: {expected}")
    if parts.query or parts.fragment:
        raise _Unreadable(f"bad URL {url!r}: no query or fragment, please; {expected}")
    path = parts.path.rstrip("/")
    for suffix in (f"{CONTROL_PREFIX}/journal", CONTROL_PREFIX, "/v1"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    default_port = 443 if parts.scheme == "https" else 80
    return _Target(url, parts.scheme, parts.hostname, port or default_port, path)


def _error_message(body: bytes) -> str:
    """The message of a JSON error body (``{"error": {"message": ...}}``), else ''."""
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        message = json.loads(body)["error"]["message"]
        if isinstance(message, str):
            return message
    return ""


def _open(
    target: _Target, query: Mapping[str, Any], token: str | None, *, follow: bool
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    """``GET /__voicewire/journal?query`` answered 200, or :class:`_Unreadable` saying why."""
    path = f"{target.prefix}{CONTROL_PREFIX}/journal"
    params = {k: v for k, v in query.items() if v is not None}
    if params:
        path += "?" + urlencode(params)
    headers = {"Accept": "application/json", "User-Agent": "voicewire-journal"}
    if token is not None:
        headers[CONTROL_TOKEN_HEADER] = token
    where = f"{target.scheme}://{target.host}:{target.port}{target.prefix}"
    connection = target.connect(_TIMEOUT)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
    except ConnectionRefusedError:
        connection.close()
        raise _Unreadable(
            f"cannot reach {where}: connection refused (is a simulator running there? "
            "voicewire serve prints the journal command with its URL)"
        ) from None
    except socket.gaierror as exc:
        connection.close()
        raise _Unreadable(f"cannot resolve {target.host!r}: {exc.strerror}") from None
    except TimeoutError:
        connection.close()
        raise _Unreadable(f"no answer from {where} within {_TIMEOUT:g} s") from None
    except (OSError, http.client.HTTPException) as exc:
        connection.close()
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise _Unreadable(f"cannot read the journal at {where}: {reason}") from None
    if response.status == 200:
        if follow and connection.sock is not None:
            connection.sock.settimeout(None)  # entries may be far apart: wait for them
        return connection, response
    message = _error_message(response.read())
    connection.close()
    if response.status == 401:
        if token is None:
            raise _Unreadable(
                f"the simulator at {where} wants its control token: pass --token TOKEN or "
                f"set {CONTROL_TOKEN_ENV} (voicewire serve prints the token)"
            )
        raise _Unreadable(
            f"the simulator at {where} refused the control token (401): give the one "
            "voicewire serve printed"
        )
    if response.status == 404:
        raise _Unreadable(
            f"{where} is not a voicewire simulator: {CONTROL_PREFIX}/journal is not there (404)"
        )
    detail = f": {message}" if message else ""
    raise _Unreadable(f"the simulator at {where} answered {response.status}{detail}")


def _not_a_journal(target: _Target) -> _Unreadable:
    return _Unreadable(
        f"{target.url} is not a voicewire simulator: its {CONTROL_PREFIX}/journal answer is not "
        "a journal"
    )


def _pages(target: _Target, query: dict[str, Any], token: str | None) -> Iterator[Any]:
    """Every entry, page after page behind the ``next`` cursor; notes dropped entries once."""
    after: int | None = None
    while True:
        connection, response = _open(
            target, {**query, "after": after, "limit": _PAGE}, token, follow=False
        )
        try:
            page = json.loads(response.read())
        except (ValueError, OSError, http.client.HTTPException):
            raise _not_a_journal(target) from None
        finally:
            connection.close()
        if not isinstance(page, dict) or not isinstance(page.get("entries"), list):
            raise _not_a_journal(target)
        if after is None and page.get("dropped"):
            yield _Dropped(page["dropped"])
        yield from page["entries"]
        after = page.get("next")
        if not isinstance(after, int):
            return


def _stream(target: _Target, query: dict[str, Any], token: str | None) -> Iterator[Any]:
    """Every entry, then each new one as the simulator records it, until it stops."""
    connection, response = _open(target, {**query, "follow": 1}, token, follow=True)
    try:
        for line in response:
            if line.strip():
                try:
                    yield json.loads(line)
                except ValueError:
                    raise _not_a_journal(target) from None
    except (OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise _Unreadable(f"lost the journal stream of {target.url}: {reason}") from None
    finally:
        connection.close()
    yield _Ended()


@dataclass(frozen=True)
class _Dropped:
    count: int


@dataclass(frozen=True)
class _Ended:
    pass


def _one_line(text: str) -> str:
    return text.translate(_CONTROL_CHARACTERS)


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return _one_line(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _summary(data: Any) -> str:
    """``data`` in one line: a request's method and path, a status, then the body, then the
    other fields as ``key=value``."""
    if data is None:
        return ""
    if not isinstance(data, Mapping):
        return _compact(data.strip() if isinstance(data, str) else data)
    parts: list[str] = []
    shown = {"status", "body"}
    if "method" in data and "path" in data:
        parts.append(f"{data['method']} {data['path']}")
        shown |= {"method", "path"}
    if "status" in data:
        parts.append(str(data["status"]))
    if "body" in data:
        parts.append(_compact(data["body"]))
        if data.get("truncated"):
            parts.append(f"(cut; {data.get('body_length', '?')} bytes)")
    for key, value in data.items():
        if key not in shown and key not in _FOLDED:
            parts.append(f"{key}={_compact(value)}")
    return " ".join(parts)


def format_entry(entry: Mapping[str, Any], width: int | None = None) -> str:
    """One journal entry as one line (cut to ``width`` characters when given)."""
    t = entry.get("t")
    time = f"{t:9.3f}" if isinstance(t, (int, float)) else f"{'?':>9}"
    where = f"{entry.get('scenario', '?')}#{entry.get('exchange', '?')}"
    direction = entry.get("direction") if entry.get("type") == "wire.frame" else "note"
    kind = str(entry.get("kind", "?"))
    if entry.get("event") is not None:
        kind += f"[{entry['event']}]"
    line = _one_line(
        f"{time}  {where:<10} {direction!s:<4} {kind:<14} {_summary(entry.get('data'))}"
    ).rstrip()
    if width and len(line) > width:
        line = line[: max(width - 1, 0)] + "…"
    return line


def _width(args: argparse.Namespace, out: TextIO) -> int | None:
    if args.width is not None:
        return args.width or None
    isatty = getattr(out, "isatty", None)
    if isatty is not None and isatty():
        return shutil.get_terminal_size().columns
    return None


def run_journal(
    args: argparse.Namespace, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    """Run ``voicewire journal``; returns the exit code (0; 3: the journal cannot be read;
    130: Ctrl-C)."""
    token = args.token if args.token is not None else os.environ.get(CONTROL_TOKEN_ENV) or None
    query: dict[str, Any] = {"scenario": args.scenario, "exchange": args.exchange}
    width = _width(args, out)
    try:
        target = _target(args.url)
        entries = _stream(target, query, token) if args.follow else _pages(target, query, token)
        for entry in entries:
            if isinstance(entry, _Dropped):
                err.write(
                    f"voicewire journal: note: the simulator dropped its {entry.count} oldest "
                    "entries (its journal is bounded: serve --journal-bytes)\n"
                )
            elif isinstance(entry, _Ended):
                err.write(f"voicewire journal: the simulator at {target.url} stopped\n")
            elif args.json:
                out.write(json.dumps(entry, separators=(",", ":")) + "\n")
            else:
                out.write(format_entry(entry, width) + "\n")
            if args.follow:
                out.flush()
        out.flush()
    except _Unreadable as exc:
        err.write(f"voicewire journal: {exc}\n")
        return EXIT_UNREADABLE
    except KeyboardInterrupt:
        with contextlib.suppress(OSError, ValueError):
            out.flush()
        return 130
    except BrokenPipeError:
        # The reader left (`| head`): stop quietly, and keep the interpreter's final flush of
        # stdout from complaining about the closed pipe.
        if out is sys.stdout:
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 0
