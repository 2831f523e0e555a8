"""``voicewire scenario from-cassette FILE [--out SCENARIO.yaml]``: a recording as an editable
scenario that the simulators play to reproduce it.

One rule per recorded exchange, in the recorded order, matched on the endpoint, the attempt
(the n-th byte-identical request, or the n-th connection to one URL) and what each protocol's
conversion adds (the request's text); each protocol says how an exchange becomes a rule's
reply, timing and faults (:attr:`RecordedEndpoint.to_reply
<voicewire.simulators.core.recorded.RecordedEndpoint.to_reply>`). The file's comments say
where it came from and, per rule, what it reproduces exactly and what only approximately; an
exchange no conversion covers is named in a comment and left out.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from voicewire.harness.atomic_file import write_atomically
from voicewire.simulators import parse_scenario
from voicewire.simulators.core.recorded import RecordedEndpoint
from voicewire.simulators.core.registry import REGISTRY
from voicewire.simulators.recording.cassette import (
    Cassette,
    CassetteError,
    RecordedExchange,
    load_cassette,
)

__all__ = ["add_scenario_parser", "run_scenario", "scenario_from_cassette"]

EXIT_BAD_INPUT = 2


def add_scenario_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``scenario`` sub-command and its actions."""
    parser = subparsers.add_parser(
        "scenario",
        help="turn a recorded cassette into an editable scenario file",
        description="Scenario files from recordings.",
    )
    actions = parser.add_subparsers(dest="scenario_action", metavar="ACTION", required=True)
    convert = actions.add_parser(
        "from-cassette",
        help="write the scenario that makes the simulators answer as a cassette recorded",
        description="Write the scenario (YAML, commented) whose rules make the simulators "
        "answer each recorded exchange as recorded, in order: text, tool calls, transcripts "
        "and voices exactly; a real provider's audio as the simulator's tone code of the same "
        "text (the comments say per rule what is approximated).",
    )
    convert.add_argument("file", metavar="FILE", help="the voicewire cassette")
    convert.add_argument(
        "--out", metavar="SCENARIO.yaml", help="where to write it (default: standard output)"
    )


def _attempt_key(exchange: RecordedExchange) -> tuple[str | None, bytes]:
    request = exchange.request
    if request.websocket or not request.body_bytes():
        target = request.path + (f"?{request.query}" if request.query else "")
        return request.endpoint, target.encode("utf-8")
    return request.endpoint, request.body_bytes()


def _comment(text: str) -> str:
    return "".join(f"  # {line}\n" if line else "  #\n" for line in text.splitlines())


def scenario_from_cassette(cassette: Cassette, *, name: str | None = None) -> str:
    """The scenario file (YAML text with comments) reproducing ``cassette``; it validates
    (:func:`~voicewire.simulators.parse_scenario`)."""
    endpoints: dict[str, RecordedEndpoint] = {e.endpoint: e for _, e in REGISTRY.recorded()}
    attempts: Counter[tuple[str | None, bytes]] = Counter()
    rules: list[dict[str, Any]] = []
    blocks: list[str] = []
    left_out: list[str] = []
    for exchange in cassette.exchanges:
        request = exchange.request
        where = f"exchange {exchange.x} ({request.endpoint or 'unknown endpoint'}, "
        where += f"{request.method} {request.path}, t={request.t:g} s)"
        key = _attempt_key(exchange)
        attempts[key] += 1
        spec = endpoints.get(request.endpoint or "")
        if spec is None or spec.to_reply is None:
            left_out.append(f"{where}: no conversion to a scenario rule for this endpoint")
            continue
        if exchange.response is None:
            left_out.append(f"{where}: the recording has no answer to it")
            continue
        try:
            parts = spec.to_reply(exchange)
        except ValueError as error:
            left_out.append(f"{where}: its recorded answer cannot be read ({error})")
            continue
        rule: dict[str, Any] = {
            "match": {"endpoint": spec.endpoint, "attempt": attempts[key], **parts.match}
        }
        if parts.reply:
            rule["reply"] = parts.reply
        if parts.timing:
            rule["timing"] = parts.timing
        if parts.faults:
            rule["faults"] = parts.faults
        note = [where]
        if parts.exact:
            note.append("exact: " + ", ".join(parts.exact))
        note.extend(f"approximated: {item}" for item in parts.approximated)
        if not exchange.complete:
            note.append("approximated: the recording stopped before this exchange ended")
        rules.append(rule)
        rule_text = yaml.safe_dump([rule], allow_unicode=True, sort_keys=False, width=100)
        blocks.append(
            _comment("\n".join(note)) + "".join(f"  {line}\n" for line in rule_text.splitlines())
        )
    scenario_name = name or "from-cassette"
    header = [
        f"Made by voicewire scenario from-cassette from {cassette.path}",
        f"({cassette.header.format}, recorded {cassette.header.created}"
        + (f" from {cassette.header.upstream}" if cassette.header.upstream else "")
        + ").",
        "One rule per recorded exchange, in order: the n-th request of an endpoint (its",
        "attempt, its text) gets the n-th recorded answer. Edit freely.",
    ]
    if left_out:
        header.append("Left out:")
        header.extend(f"- {item}" for item in left_out)
    top = {
        "name": scenario_name,
        "description": f"reproduces the recording {cassette.path.name}",
        "time_scale": 1.0,
        "on_unmatched": "error",
    }
    text = "".join(f"# {line}\n" for line in header)
    text += yaml.safe_dump(top, allow_unicode=True, sort_keys=False)
    text += "rules:\n" + "".join(blocks) if blocks else "rules: []\n"
    document = yaml.safe_load(text)
    assert document["rules"] == rules or not rules  # the comments never change the data
    parse_scenario(document)
    return text


def run_scenario(args: argparse.Namespace) -> int:
    """Run ``voicewire scenario ACTION``; returns the exit code."""
    prog = f"voicewire scenario {args.scenario_action}"
    try:
        text = scenario_from_cassette(load_cassette(args.file))
    except CassetteError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ValidationError as error:
        print(
            f"{prog}: {args.file}: the recording makes an invalid scenario: {error}",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    if args.out is None:
        sys.stdout.write(text)
        return 0
    try:
        write_atomically(Path(args.out), text)
    except OSError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{prog}: wrote {args.out}", file=sys.stderr)
    return 0
