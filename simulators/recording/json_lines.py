"""What voicewire's JSON-lines files share (cassettes, event logs): errors that name the file,
the line and the problem; a line that must be a JSON object; a header line whose ``format`` is
``<name>/<version>``, refused when newer than this voicewire reads."""

from __future__ import annotations

import json
import os
from typing import Any

__all__ = ["JSONLinesError", "check_format", "json_object"]


class JSONLinesError(ValueError):
    """A file that cannot be loaded: ``path``, ``line`` (1-based; None: the file as a whole)
    and the ``problem``."""

    def __init__(self, path: str | os.PathLike[str], line: int | None, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = self.path if line is None else f"{self.path}, line {line}"
        super().__init__(f"{where}: {problem}")


def json_object(
    error: type[JSONLinesError], path: str | os.PathLike[str], number: int, line: bytes
) -> dict[str, Any]:
    """Line ``number`` as a JSON object, else ``error`` naming it."""
    try:
        value = json.loads(line)
    except (ValueError, UnicodeDecodeError) as problem:
        raise error(path, number, f"not JSON ({problem})") from None
    if not isinstance(value, dict):
        raise error(path, number, f"a line is a JSON object, not {type(value).__name__}")
    return value


def check_format(
    error: type[JSONLinesError],
    path: str | os.PathLike[str],
    header: dict[str, Any],
    *,
    kind: str,
    name: str,
    newest: int,
    readable: str,
    what: str,
) -> int:
    """The version of a header line (line 1) that must be ``{"type": kind, "format":
    "<name>/<version>", ...}``, at most ``newest``; ``readable`` says what this voicewire reads
    (for the refusal of a newer one), ``what`` names the kind of file in messages."""
    if header.get("type") != kind:
        raise error(
            path,
            1,
            f'not a voicewire {what}: line 1 must be the header ({{"type": "{kind}", ...}})',
        )
    found = header.get("format")
    prefix = f"{name}/"
    if not isinstance(found, str) or not found.startswith(prefix):
        raise error(path, 1, f"format: {found!r} is not {prefix}<version>")
    version = found[len(prefix) :]
    if not version.isdigit():
        raise error(path, 1, f"format: {found!r} has no version number")
    if int(version) > newest:
        raise error(
            path,
            1,
            f"format {found} is newer than this voicewire reads: it reads {readable}; upgrade "
            f"voicewire to read this {what}",
        )
    return int(version)
