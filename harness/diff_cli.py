"""``voicewire diff A B [C ...]``: which recorded runs emitted equivalent streams.

Each input is an event log (:mod:`voicewire.harness.event_log`) or a cassette (the reference
client is played against it, :func:`voicewire.harness.cassette_run.cassette_event_log`).
Sessions are paired across inputs by their number; each session's events are normalised
(:data:`voicewire.harness.protocols.NORMALISERS`) and compared pairwise, aspect by aspect
(:func:`voicewire.harness.stream_diff.compare`). Exit status: 0 every pair agrees on every
aspect, 1 some pair differs, 2 bad input (one line naming the file, line and problem).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from voicewire.harness.event_log import EventLog, EventLogError, load_event_log
from voicewire.harness.stream_diff import DiffMatrix, NormalisedStream, compare, input_names

__all__ = ["DiffInputError", "add_diff_parser", "run_diff"]

DEFAULT_TOLERANCE = 0.05


class DiffInputError(Exception):
    """An input ``voicewire diff`` cannot compare; the message names the file and what is
    wrong."""


def add_diff_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``diff`` to a parser's subparsers; returns its parser."""
    parser = subparsers.add_parser(
        "diff",
        help="which recorded event logs or cassettes emitted equivalent streams",
        description=(
            "Compare recorded runs N ways: event logs (voicewire-events) or cassettes (the "
            "reference client is played against each). Sessions are paired by number; each "
            "pair of inputs is compared per aspect (text, tool calls, finals with times, "
            "audio bytes and durations, event order, errors...), times within --tolerance. "
            "Exit status: 0 all agree, 1 a difference, 2 bad input."
        ),
    )
    parser.add_argument("inputs", nargs="+", metavar="FILE", help="event logs or cassettes (2+)")
    parser.add_argument(
        "--tolerance",
        type=_seconds,
        default=DEFAULT_TOLERANCE,
        metavar="SECONDS",
        help=f"how far apart times may be and still agree (default {DEFAULT_TOLERANCE})",
    )
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="ASPECT",
        help="compare only these aspects (text, tool_calls, finals, audio, order, errors...)",
    )
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def run_diff(args: argparse.Namespace) -> int:
    """Carry out ``voicewire diff``; returns the exit status."""
    try:
        if len(args.inputs) < 2:
            raise DiffInputError("give at least two inputs to compare")
        logs = [load_diff_input(path) for path in args.inputs]
        sessions = _normalised(logs)
        only = _checked_only(args.only, sessions)
    except (DiffInputError, EventLogError) as error:
        print(f"voicewire diff: {error}", file=sys.stderr)
        return 2
    names = input_names(len(logs))
    matrices = [
        compare(streams, tolerance=args.tolerance, names=names, only=only) for streams in sessions
    ]
    agree = all(matrix.agree for matrix in matrices)
    if args.json:
        print(json.dumps(_as_json(logs, names, matrices, args.tolerance, agree), indent=2))
    else:
        print(_as_text(logs, names, matrices, args.tolerance, agree))
    return 0 if agree else 1


def load_diff_input(path: str | os.PathLike[str]) -> EventLog:
    """An input of ``voicewire diff`` as an event log: the file itself, or, for a cassette
    (its first line is a cassette header), the reference client's events played against it.
    Raises :class:`DiffInputError` or :class:`~voicewire.harness.event_log.EventLogError`
    naming the file."""
    try:
        with open(path, "rb") as handle:
            first = handle.readline()
    except OSError as error:
        raise DiffInputError(f"{path}: cannot read: {error.strerror or error}") from None
    try:
        head = json.loads(first)
    except (ValueError, UnicodeDecodeError):
        head = None
    if isinstance(head, dict) and head.get("type") == "cassette":
        return _cassette_log(path)
    return load_event_log(path)


def _cassette_log(path: str | os.PathLike[str]) -> EventLog:
    from voicewire.simulators.recording.cassette import CassetteError

    try:
        from voicewire.harness.cassette_run import cassette_event_log
    except ImportError:
        raise DiffInputError(
            f"{path}: a cassette, and this voicewire cannot play cassettes yet; compare "
            "event logs instead"
        ) from None
    try:
        log: EventLog = cassette_event_log(path)
    except CassetteError as error:
        raise DiffInputError(str(error)) from None
    return replace(log, path=str(path))


def _normalised(logs: list[EventLog]) -> list[list[NormalisedStream]]:
    from voicewire.harness.protocols import NORMALISERS

    count = max(len(log.sessions) for log in logs)
    sessions: list[list[NormalisedStream]] = []
    for number in range(count):
        streams = []
        for log in logs:
            if number >= len(log.sessions):
                streams.append(NormalisedStream(None))
                continue
            session = log.sessions[number]
            try:
                streams.append(
                    NORMALISERS.normalise(session.capability, session.events, session.answer)
                )
            except KeyError as error:
                raise DiffInputError(f"{log.path}: session {number}: {error.args[0]}") from None
        sessions.append(streams)
    return sessions


def _checked_only(
    only: list[str] | None, sessions: list[list[NormalisedStream]]
) -> list[str] | None:
    if only is None:
        return None
    known = {name for streams in sessions for stream in streams for name in stream.aspects}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise DiffInputError(
            f"--only: no session has the aspect(s) {', '.join(unknown)} "
            f"(these have: {', '.join(sorted(known)) or 'none'})"
        )
    return only


def _session_title(number: int, matrix: DiffMatrix) -> str:
    capabilities = sorted({c or "(no session)" for c in matrix.capabilities})
    verdict = "all agree" if matrix.agree else "DIFFER"
    return f"session {number} ({', '.join(capabilities)}): {verdict}"


def _as_text(
    logs: list[EventLog],
    names: list[str],
    matrices: list[DiffMatrix],
    tolerance: float,
    agree: bool,
) -> str:
    lines = [
        f"{name} = {log.path} ({_origin(log)}, {len(log.sessions)} session(s))"
        for name, log in zip(names, logs, strict=True)
    ]
    lines.append(f"times agree within {tolerance:g} s")
    for number, matrix in enumerate(matrices):
        lines += ["", _session_title(number, matrix), matrix.render_text()]
    agreeing = sum(matrix.agree for matrix in matrices)
    lines += [
        "",
        "every input agrees on every session"
        if agree
        else f"{len(matrices) - agreeing} of {len(matrices)} sessions differ",
    ]
    return "\n".join(lines)


def _origin(log: EventLog) -> str:
    return f"source {log.source}" if log.source else "no source named"


def _as_json(
    logs: list[EventLog],
    names: list[str],
    matrices: list[DiffMatrix],
    tolerance: float,
    agree: bool,
) -> dict[str, Any]:
    return {
        "agree": agree,
        "tolerance": tolerance,
        "inputs": [
            {
                "name": name,
                "path": str(Path(log.path)) if log.path else None,
                "source": log.source,
                "sessions": len(log.sessions),
            }
            for name, log in zip(names, logs, strict=True)
        ],
        "sessions": [
            {"session": number, **matrix.to_json()} for number, matrix in enumerate(matrices)
        ],
    }
