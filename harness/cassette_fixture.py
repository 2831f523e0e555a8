"""The ``voicewire_cassette`` fixture's machinery: record a test's traffic on its first run,
replay it after (VCR.py's record modes, for every protocol voicewire speaks).

A test points its clients at :attr:`CassetteSession.base_url`. What is behind it depends on
the mode and on whether the cassette file exists:

- ``once`` (the default): no cassette yet → a recording proxy forwards to the upstream and
  writes it; a cassette → a replayer answers from it;
- ``none``: always replay; a missing cassette is an error (CI runs that must never reach a
  provider);
- ``all``: always record, replacing the cassette.

The upstream is the marker's ``upstream=``, else ``--voicewire-upstream``, else
``VOICEWIRE_UPSTREAM``, else voicewire's own embedded simulator (its default scenario, or the
marker's ``scenario=`` file): recording against the simulator needs no network or keys. A
recording is written beside its final name and moved into place when the test ends, so an
interrupted run never leaves a half cassette where a later run would replay it. A replay
whose requests differ from the recording fails the test at teardown with every mismatch (the
replayer has answered each with an error naming the difference).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from voicewire.simulators.recording.cassette import load_cassette
from voicewire.simulators.recording.proxy import RecordingProxy
from voicewire.simulators.recording.replay import CassetteReplayServer

__all__ = [
    "RECORD_MODES",
    "UPSTREAM_ENV",
    "CassetteFixtureError",
    "CassetteSession",
    "close_cassette_session",
    "default_cassette_path",
    "open_cassette_session",
]

RecordMode = Literal["once", "none", "all"]
RECORD_MODES: tuple[RecordMode, ...] = ("once", "none", "all")
UPSTREAM_ENV = "VOICEWIRE_UPSTREAM"
"""The environment variable naming the upstream a recording forwards to."""

_REPLAY_KEY = "voicewire-replay"
_REPLAY_SECRET = "voicewire-replay-secret-of-32-bytes!"


class CassetteFixtureError(Exception):
    """A ``voicewire_cassette`` that cannot be set up or whose replay went wrong."""


@dataclass
class CassetteSession:
    """What a test using ``voicewire_cassette`` gets.

    ``base_url`` (``http://127.0.0.1:PORT``, no path: add ``/v1`` or what the client needs),
    ``mode`` (``record`` or ``replay``), ``path`` (the cassette), ``api_key`` / ``api_secret``
    (credentials that work in both modes when the upstream is voicewire's simulator; None
    when recording against another upstream: use its own), ``basic_key`` (likewise, the key
    an Inworld client sends as its Basic credential), ``upstream`` (what a recording forwards
    to; None in replay)."""

    base_url: str
    mode: Literal["record", "replay"]
    path: Path
    api_key: str | None
    api_secret: str | None
    basic_key: str | None
    upstream: str | None
    _server: Any = field(repr=False, default=None)
    _partial: Path | None = field(repr=False, default=None)

    @property
    def mismatches(self) -> list[str]:
        """Every request of this replay that differed from the recording (empty when
        recording)."""
        if isinstance(self._server, CassetteReplayServer):
            return list(self._server.mismatches)
        return []


def default_cassette_path(test_file: Path, test_name: str) -> Path:
    """``<test file's folder>/cassettes/<module>/<test name>.jsonl`` (a parametrised test's
    id made file-safe)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name).strip("_") or "test"
    return test_file.parent / "cassettes" / test_file.stem / f"{safe}.jsonl"


def _partial_path(path: Path) -> Path:
    return path.with_name(path.name + ".recording")


async def open_cassette_session(
    path: Path,
    mode: RecordMode,
    *,
    upstream: str | None,
    simulator: Any | None,
    time_scale: float = 0.0,
) -> CassetteSession:
    """Start the proxy or the replayer for ``path`` under ``mode``. ``simulator`` is a
    target (``base_url``, ``api_key``, ``api_secret``) of voicewire's embedded simulator, used
    when ``upstream`` is None; ``time_scale`` scales a replay's recorded timing (0: as fast
    as the client reads)."""
    if mode not in RECORD_MODES:
        raise CassetteFixtureError(f"record mode {mode!r}: use one of {', '.join(RECORD_MODES)}")
    exists = path.is_file()
    if mode == "none" and not exists:
        raise CassetteFixtureError(
            f"{path}: no cassette to replay (record mode 'none' never records; run once with "
            "--voicewire-record-mode once or all to record it)"
        )
    if (mode == "once" and exists) or mode == "none":
        try:
            cassette = load_cassette(path)
        except ValueError as error:  # CassetteError: file, line and problem
            raise CassetteFixtureError(str(error)) from None
        server = await CassetteReplayServer(cassette, time_scale=time_scale).start()
        return CassetteSession(
            base_url=server.base_url,
            mode="replay",
            path=path,
            api_key=_REPLAY_KEY,
            api_secret=_REPLAY_SECRET,
            basic_key=_REPLAY_KEY,
            upstream=None,
            _server=server,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = _partial_path(path)
    key = secret = None
    if upstream is None:
        if simulator is None:
            raise CassetteFixtureError("no upstream to record from and no simulator")
        upstream = simulator.base_url.removesuffix("/v1")
        key, secret = simulator.api_key, simulator.api_secret
    proxy = await RecordingProxy(upstream, partial).start()
    return CassetteSession(
        base_url=proxy.base_url,
        mode="record",
        path=path,
        api_key=key,
        api_secret=secret,
        basic_key=key,
        upstream=upstream,
        _server=proxy,
        _partial=partial,
    )


async def close_cassette_session(session: CassetteSession) -> None:
    """Stop the proxy or replayer; a recording is moved to its final name. Raises
    :class:`CassetteFixtureError` listing a replay's mismatches."""
    await session._server.stop()
    if session._partial is not None:
        os.replace(session._partial, session.path)
        return
    if session.mismatches:
        listed = "\n".join(f"  - {line}" for line in session.mismatches)
        raise CassetteFixtureError(
            f"{session.path}: the test's requests differ from the recording "
            f"({len(session.mismatches)} mismatch(es); re-record with "
            f"--voicewire-record-mode all if the change is intended):\n{listed}"
        )
