"""The limits a simulator enforces on its peers (SRV-4, SRV-7), in one value.

Every limit is reported when it is hit, never silently applied: a body too large is a 413, a
document too deep a 400, a head too large a 431, a body too slow a 408, one key with too many
open sessions a 429 with ``Retry-After``; a connection that sends no complete head in time, or
stays idle too long between requests, is closed. The defaults are far from anything a test
or a CI run does by accident, and every one can be set per simulator
(``SimulatorServer(limits=Limits(...))``, ``create_app(limits=...)``, ``voicewire serve`` flags).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from voicewire.simulators.scenario import DEFAULT_MATCH_TIMEOUT

__all__ = ["Limits"]


def _positive_int(name: str, value: object) -> None:
    # bool is an int subclass, but True as a size is always a caller's mistake.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _positive_seconds(name: str, value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a positive finite number of seconds, got {value!r}")


@dataclass(frozen=True)
class Limits:
    """What one simulator accepts from its peers.

    Sizes are bytes, deadlines seconds on the wall clock (never scaled by a scenario's
    ``time_scale``: a deadline guards the server, not the script; tests set them small).

    - ``max_body_bytes``: a request body larger than this is refused with 413, from its
      ``Content-Length`` before anything is read, or as soon as a chunked body outgrows it;
    - ``max_json_depth``: a JSON body nested deeper (arrays and objects) is refused with 400
      before it is decoded;
    - ``max_header_bytes``: a request target (the URL) or one header value longer than this
      is refused with 431, as is a head of more than ``max_headers`` fields;
    - ``head_timeout``: a connection whose request head is not complete this long after its
      first byte arrived is closed;
    - ``body_timeout``: a body not complete this long after its head is answered 408, and
      the connection closed;
    - ``idle_timeout``: a connection that sends nothing for this long between requests (or
      after it opened) is closed;
    - ``max_sessions_per_key``: requests (or sessions) one API key may have open at once;
      one more is answered 429 with ``Retry-After: 1`` (None: no limit). A slot is released
      when its request ends or its connection is lost;
    - ``match_timeout``: the time a request may spend evaluating scenario regexes (``match.text``,
      ``match.model``), over all rules; a pattern that runs out of it counts as no match and
      is journaled;
    - ``journal_body_bytes``: the journal keeps at most this much of each body (the rest is
      cut, the entry says ``truncated`` and the original length);
    - ``journal_bytes``: the journal holds at most about this much in all (oldest entries go
      first, ``dropped`` counts them).
    """

    max_body_bytes: int = 8 * 1024 * 1024
    max_json_depth: int = 128
    max_header_bytes: int = 8190
    max_headers: int = 128
    head_timeout: float = 10.0
    body_timeout: float = 30.0
    idle_timeout: float = 75.0
    max_sessions_per_key: int | None = 512
    match_timeout: float = DEFAULT_MATCH_TIMEOUT
    journal_body_bytes: int = 64 * 1024
    journal_bytes: int = 64 * 1024 * 1024

    def __post_init__(self) -> None:
        for name in (
            "max_body_bytes",
            "max_json_depth",
            "max_header_bytes",
            "max_headers",
            "journal_body_bytes",
            "journal_bytes",
        ):
            _positive_int(name, getattr(self, name))
        if self.max_sessions_per_key is not None:
            _positive_int("max_sessions_per_key", self.max_sessions_per_key)
        for name in ("head_timeout", "body_timeout", "idle_timeout", "match_timeout"):
            _positive_seconds(name, getattr(self, name))
