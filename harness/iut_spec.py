"""``--iut`` values: which implementation a run tests.

- ``reference``: voicewire's reference implementation and, as the server, its own simulator;
  any other named implementation a protocol registers (``livekit``: upstream livekit-agents,
  with the ``livekit`` extra) the same way;
- ``python:pkg.module:factory``: ``factory()`` returns an object implementing the adapter
  protocol of :mod:`voicewire.harness.iut` (the module is imported from the current directory
  too, like ``python -m`` does);
- ``cmd:<command line>``: a subprocess speaking the JSON-lines protocol (``docs/iut-protocol.md``);
- ``url:<base_url>[#protocols=a,b]``: a server under test (credentials from
  ``VOICEWIRE_IUT_API_KEY`` / ``VOICEWIRE_IUT_API_SECRET``, else voicewire's development
  credentials).
"""

from __future__ import annotations

import importlib
import os
import shlex
import sys
from collections.abc import Mapping

from voicewire.harness.command_iut import CommandIUT
from voicewire.harness.iut import IUT, IUTSpecError, check_adapter
from voicewire.harness.protocols import TABLE
from voicewire.harness.reference_iut import ImplementationIUT, ReferenceIUT
from voicewire.harness.url_iut import URLIUT
from voicewire.simulators.core.credentials import DEFAULT_API_KEY, DEFAULT_API_SECRET

__all__ = ["parse_iut_spec"]


def _current_directory_first() -> None:
    """Put the current directory first on ``sys.path``, as ``python -m`` does.

    A console script's ``sys.path[0]`` is the script's own folder, so without this a user's
    ``myport.py`` (or ``tests.mutants...`` in a clone) beside them would not import.
    """
    cwd = os.getcwd()
    if sys.path[:1] != [cwd]:
        sys.path.insert(0, cwd)
        importlib.invalidate_caches()


def _load_python(target: str) -> IUT:
    module_name, sep, factory_name = target.partition(":")
    if not sep or not module_name or not factory_name:
        raise IUTSpecError(f"python: needs 'python:package.module:factory', got 'python:{target}'")
    _current_directory_first()
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise IUTSpecError(f"python:{target}: cannot import {module_name!r}: {exc}") from exc
    factory = getattr(module, factory_name, None)
    if not callable(factory):
        raise IUTSpecError(f"python:{target}: {module_name!r} has no callable {factory_name!r}")
    try:
        adapter = factory()
    except Exception as exc:
        raise IUTSpecError(
            f"python:{target}: {factory_name}() raised {type(exc).__name__}: {exc}"
        ) from exc
    return check_adapter(adapter, f"python:{target}", TABLE)


def parse_iut_spec(spec: str, *, env: Mapping[str, str] | None = None) -> IUT:
    """Build the adapter an ``--iut`` value names (not yet started).

    Raises :class:`IUTSpecError` with the reason when the spec is malformed, the module or
    factory cannot be found, the command is empty, or the adapter is incomplete.
    """
    env = os.environ if env is None else env
    if not isinstance(spec, str) or not spec.strip():
        raise IUTSpecError("--iut is empty; use reference, python:, cmd: or url:")
    spec = spec.strip()
    if spec == "reference":
        return ReferenceIUT()
    if spec in TABLE.implementation_names():
        return ImplementationIUT(spec)
    kind, sep, rest = spec.partition(":")
    if sep and kind == "python":
        return _load_python(rest)
    if sep and kind == "cmd":
        argv = shlex.split(rest)
        if not argv:
            raise IUTSpecError("cmd: needs a command line, e.g. 'cmd:node driver.js'")
        return CommandIUT(argv)
    if sep and kind == "url":
        from_env = [v for v in ("VOICEWIRE_IUT_API_KEY", "VOICEWIRE_IUT_API_SECRET") if v in env]
        return URLIUT(
            rest,
            api_key=env.get("VOICEWIRE_IUT_API_KEY", DEFAULT_API_KEY),
            api_secret=env.get("VOICEWIRE_IUT_API_SECRET", DEFAULT_API_SECRET),
            table=TABLE,
            credentials_from=" and ".join(from_env) if from_env else "voicewire's defaults",
        )
    raise IUTSpecError(
        f"unknown --iut {spec!r}: use {', '.join(map(repr, TABLE.implementation_names()))}, "
        "'python:pkg.module:factory', 'cmd:<command>' or 'url:<base_url>'"
    )
