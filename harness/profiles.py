"""Hypothesis profiles shared by voicewire's own tests and by users' suites.

- ``ci``: derandomized (the same examples on every run) with modest example counts, no
  deadline (a loaded CI core must not turn slowness into failures), no example database
  so a CI run never depends on files left by an earlier one, and no explain phase.
- ``dev``: hypothesis' defaults with a larger budget; failures are remembered locally.
- ``deep``: fuzzing depth, for hunting rare protocol edge cases on purpose.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

PROFILE_NAMES = ("ci", "dev", "deep")

_registered = False


def register_profiles() -> None:
    """Register the ``ci``, ``dev`` and ``deep`` profiles with hypothesis (idempotent)."""
    global _registered
    if _registered:
        return
    settings.register_profile(
        "ci",
        derandomize=True,
        max_examples=40,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
        # The explain phase re-runs a shrunk failure many times to annotate it; over sockets
        # that costs more than the search itself, and the replay file already pins the case.
        phases=[p for p in Phase if p is not Phase.explain],
    )
    settings.register_profile("dev", max_examples=100, deadline=None, print_blob=True)
    settings.register_profile(
        "deep",
        max_examples=2000,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    _registered = True


def default_profile_name(environ: dict[str, str] | None = None) -> str:
    """The profile to use when none is named: ``ci`` under CI (``CI`` set), else ``dev``.

    ``VOICEWIRE_HYPOTHESIS_PROFILE`` overrides both.
    """
    env = os.environ if environ is None else environ
    explicit = env.get("VOICEWIRE_HYPOTHESIS_PROFILE")
    if explicit:
        if explicit not in PROFILE_NAMES:
            names = ", ".join(PROFILE_NAMES)
            raise ValueError(f"VOICEWIRE_HYPOTHESIS_PROFILE={explicit!r} is not one of {names}")
        return explicit
    ci = env.get("CI", "").strip().lower()
    return "ci" if ci not in ("", "0", "false", "no") else "dev"
